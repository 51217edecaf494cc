/* edit.h - the one-line editor: UTF-8 aware keys, history, Tab completion, redraw. */
#ifndef P2PCHAT_EDIT_H
#define P2PCHAT_EDIT_H

#include <stddef.h>

#include "protocol.h"

#define EDIT_HISTORY 64  /* lines kept for up/down */
#define EDIT_PROMPT_MAX 48
/*
 * A line that fills up (PROTO_LINE_MAX bytes, the most one message holds)
 * while text is added at its end is sent as it is and the typing goes on in
 * a new line; the split is made after the last space within this many bytes
 * of the end, so that a long paste is cut between words where it can.
 */
#define EDIT_SPLIT_BACK 64

/* What edit_key returns. */
enum edit_result {
	EDIT_NONE = 0,      /* keep reading; redraw if edit_dirty */
	EDIT_LINE = 1,      /* Enter: the line is in e->buf (NUL-terminated) */
	EDIT_EOF = 2,       /* Ctrl-D on an empty line */
	EDIT_INTERRUPT = 3, /* Ctrl-C */
	EDIT_SUSPEND = 4,   /* Ctrl-Z: the caller stops the program (SIGTSTP) */
	EDIT_REPAINT = 5,   /* Ctrl-L: the caller clears the screen and draws everything again */
	EDIT_FULL = 6,      /* the line is full and the key could not be added: say so */
};

/* Returns names for Tab completion: fills out[0..max) with pointers and returns how many. */
typedef int (*edit_complete_fn)(void *ctx, const char **out, int max);

/*
 * A one-line editor fed one byte at a time. It knows UTF-8 (a multi-byte
 * character is one cursor step), the keys of a VT100/xterm terminal (arrows,
 * Home, End, Delete as escape sequences), Emacs-style control keys, a
 * history, and Tab completion of the word under the cursor.
 */
struct edit {
	char buf[PROTO_LINE_MAX + 1]; /* the line, NUL-terminated */
	size_t len;                   /* bytes in buf */
	size_t cursor;                /* byte offset of the cursor, always on a character boundary */
	char prompt[EDIT_PROMPT_MAX + 1];
	int dirty;                    /* the screen no longer shows the line: call edit_render */

	/* a key half read: an escape sequence (esc[0] is ESC) or the start of a UTF-8 character */
	char esc[8];
	size_t esc_len;

	/* history: hist[0] is the newest */
	char *hist[EDIT_HISTORY];     /* malloc'd copies; freed by edit_free */
	int hist_count;
	int hist_pos;                 /* -1 while editing a fresh line */
	char *hist_saved;             /* the fresh line while browsing history */

	edit_complete_fn complete;    /* may be NULL */
	void *complete_ctx;

	/* a line that filled up: EDIT_LINE sent its first part; edit_accept starts the next with this */
	char carry[EDIT_SPLIT_BACK + 8];
	size_t carry_len;
	int split;                    /* the EDIT_LINE just returned is a full line split off */
	int refused;                  /* a key was refused since the line filled up (EDIT_FULL said so) */

	/* the row edit_render drew last: its columns in use and the cursor's column */
	size_t row_cols;
	size_t cursor_x;
};

/* Sets up an empty editor with a prompt (cut to EDIT_PROMPT_MAX bytes). */
void edit_init(struct edit *e, const char *prompt);

/* Frees the history. */
void edit_free(struct edit *e);

/* Changes the prompt and marks the editor dirty. */
void edit_set_prompt(struct edit *e, const char *prompt);

/*
 * Feeds one byte read from the terminal. Keys:
 *  printable and UTF-8   insert at the cursor (a line is at most PROTO_LINE_MAX bytes:
 *                        added at the end of a full line that is not a /command, a key
 *                        returns EDIT_LINE with e->split set, the line cut after its last
 *                        space near the end, and the rest goes on in the next line; else
 *                        the key is refused, EDIT_FULL for the first refused)
 *  Enter (CR or LF)      EDIT_LINE; the caller reads e->buf, then calls edit_accept
 *  Backspace, Ctrl-H     delete the character before the cursor
 *  Delete, ESC [ 3 ~     delete the character under the cursor
 *  Ctrl-D                EDIT_EOF on an empty line, else delete under the cursor
 *  Ctrl-C                EDIT_INTERRUPT
 *  Ctrl-U                delete from the start of the line to the cursor
 *  Ctrl-K                delete from the cursor to the end of the line
 *  Ctrl-W                delete the word before the cursor
 *  Ctrl-A, Home          start of line;  Ctrl-E, End   end of line
 *  Ctrl-B, Left          one character left;  Ctrl-F, Right  one character right
 *  Up, Ctrl-P / Down, Ctrl-N   older / newer history line
 *  Tab                   complete the word before the cursor from e->complete
 *  Ctrl-L                EDIT_REPAINT
 *  Ctrl-Z                EDIT_SUSPEND
 * A character followed by zero-width ones (combining marks, joiners) is one
 * cursor step. Other control bytes are ignored.
 */
enum edit_result edit_key(struct edit *e, unsigned char byte);

/*
 * After EDIT_LINE: adds the line to the history (unless empty or the same
 * as the newest) and empties the editor, or after a split starts the new
 * line with the rest of the old one.
 */
void edit_accept(struct edit *e);

/*
 * Writes into out[0..cap) the bytes that redraw the prompt and line on the
 * terminal's current row, in a window `columns` wide that scrolls sideways
 * to keep the cursor visible, and leave the cursor in place. Widths are
 * display columns (term_char_width: CJK two, combining marks none); the row
 * never reaches the last column, so the terminal never wraps it. A prompt
 * wider than half the row is cut. Clears dirty; sets row_cols and cursor_x.
 * Returns the number of bytes written (out is NUL-terminated).
 */
size_t edit_render(struct edit *e, int columns, char *out, size_t cap);

/*
 * Writes into out[0..cap) the bytes that erase the row the editor is on,
 * so that a message can be printed there; marks the editor dirty.
 * Returns the number of bytes written.
 */
size_t edit_hide(struct edit *e, char *out, size_t cap);

#endif
