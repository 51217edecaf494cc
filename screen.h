/* screen.h - the interactive client's screen: lines printed above the input line, your own lines until delivered, name colours. */
#ifndef P2PCHAT_SCREEN_H
#define P2PCHAT_SCREEN_H

#include <stddef.h>
#include <stdint.h>

#include "edit.h"

/*
 * The screen of the interactive client, from the top of the area it owns:
 *
 *     [14:05] <bob> hi                       <- the scrollback: printed once, never touched
 *     [14:05] <alice> hello there (pending)  <- the area: your lines not yet acknowledged,
 *     [14:06] <alice> and you? (pending)        one row each, redrawn
 *     bob> half typed_                       <- the input line (edit.c), scrolls sideways
 *
 * A line is printed by hiding the area (the cursor goes to its first row
 * and everything below is erased), printing the line, which the terminal
 * wraps, and drawing the area again under it. An own line moves from the
 * area into the scrollback when it is delivered or has failed.
 */

#define SCREEN_PENDING_ROWS 5 /* your pending lines shown at most (fewer on a short screen) */
#define SCREEN_OWN_MAX 1024   /* pending own lines kept: more than the client's queues hold */

/* How a line is marked after its text. */
enum screen_mark {
	SCREEN_PLAIN = 0,   /* a chat or event line */
	SCREEN_PENDING = 1, /* your line, not yet acknowledged: dim, " (pending)" */
	SCREEN_FAILED = 2,  /* your line that was not delivered: " (not delivered)" */
};

/* One own line waiting for its peer's acknowledgement. */
struct screen_own {
	uint32_t id;        /* client_line.id */
	char stamp[8];      /* "HH:MM", when it was sent */
	char *line;         /* "<alice> text" or "* alice waves", safe to print; malloc'd */
	int status;         /* a status row (a transfer's progress): no " (pending)" mark */
};

struct screen {
	int color;          /* SGR colours, dim and times (a terminal, NO_COLOR unset) */
	int colors256;      /* the terminal has the 256-colour palette */
	struct screen_own own[SCREEN_OWN_MAX]; /* oldest first */
	size_t nown;

	/* the area as screen_draw left it, for screen_hide */
	int drawn;          /* the area is on the screen */
	size_t row_cols[SCREEN_PENDING_ROWS]; /* the columns of each row above the input line */
	int nrows;
	size_t input_cursor_x; /* the cursor's column on the input row */
};

/* Sets up an empty screen. */
void screen_init(struct screen *s, int color, int colors256);

/* Frees the own lines still held. */
void screen_free(struct screen *s);

/*
 * Keeps a copy of line (an own line, already safe to print) as pending,
 * stamped with stamp ("HH:MM", may be ""). Returns 0, or -1 when it cannot
 * be kept (full, or out of memory): then the caller prints it at once.
 */
int screen_own_add(struct screen *s, uint32_t id, const char *stamp, const char *line);

/*
 * Sets the status row id (a transfer's progress bar) to line, safe to
 * print, replacing the one before; NULL removes it. It is drawn in the
 * area as the pending lines are, without their mark. Returns 0, or -1 when
 * it cannot be kept.
 */
int screen_status(struct screen *s, uint32_t id, const char *line);

/*
 * Removes the pending line id and moves it to *out (the caller frees
 * out->line). Returns 0, or -1 when there is no such line.
 */
int screen_own_take(struct screen *s, uint32_t id, struct screen_own *out);

/*
 * Returns the colour of a name, the same every run: an SGR colour (31..36,
 * 91..96) or, with colors256, an index into the 256-colour palette, chosen
 * by a hash of the name from colours that are far apart.
 */
int screen_name_color(const char *name, size_t len, int colors256);

/*
 * Writes into out[0..cap) line (safe to print: "<NAME> TEXT", "* ...", or
 * anything) as the screen shows it: in colour mode a dim "[stamp]" (when
 * stamp is not NULL or ""), "<NAME>" in the name's colour, events dim; then
 * the mark. Always NUL-terminated, cut between characters when cap is too
 * small. Returns strlen(out).
 */
size_t screen_format(const struct screen *s, const char *stamp, const char *line,
		     enum screen_mark mark, char *out, size_t cap);

/*
 * Writes into out[0..cap) the bytes that take the cursor to the first row
 * of the area and erase it and everything below. columns is the width now:
 * when it is less than when the area was drawn, a terminal that rewraps
 * lines on resize (tmux, VTE, kitty...) has spread each row over more rows,
 * and the cursor moved down with them, so the way up is counted again.
 * Returns the number of bytes written.
 */
size_t screen_hide(struct screen *s, int columns, char *out, size_t cap);

/*
 * Writes into out[0..cap) the bytes that draw the area from the cursor's
 * row, which must be empty: the pending own lines (the oldest first, one
 * row each, cut to fit; a last row "* N more pending" when they are more
 * than a third of `lines` or SCREEN_PENDING_ROWS) and the input line of e.
 * Returns the number of bytes written (whole pieces only: a buffer too
 * small for all gets nothing past the first piece that does not fit).
 */
size_t screen_draw(struct screen *s, struct edit *e, int columns, int lines, char *out,
		   size_t cap);

#endif
