/* edit.h - the one-line editor: UTF-8 aware keys, history, Tab completion, redraw. */
#ifndef P2PCHAT_EDIT_H
#define P2PCHAT_EDIT_H

#include <stddef.h>

#include "protocol.h"

#define EDIT_HISTORY 64  /* lines kept for up/down */
#define EDIT_PROMPT_MAX 48

/* What edit_key returns. */
enum edit_result {
	EDIT_NONE = 0,      /* keep reading; redraw if edit_dirty */
	EDIT_LINE = 1,      /* Enter: the line is in e->buf (NUL-terminated) */
	EDIT_EOF = 2,       /* Ctrl-D on an empty line */
	EDIT_INTERRUPT = 3, /* Ctrl-C */
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
};

/* Sets up an empty editor with a prompt (cut to EDIT_PROMPT_MAX bytes). */
void edit_init(struct edit *e, const char *prompt);

/* Frees the history. */
void edit_free(struct edit *e);

/* Changes the prompt and marks the editor dirty. */
void edit_set_prompt(struct edit *e, const char *prompt);

/*
 * Feeds one byte read from the terminal. Keys:
 *  printable and UTF-8   insert at the cursor (a line is at most PROTO_LINE_MAX bytes)
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
 *  Ctrl-L                redraw
 * Other control bytes are ignored.
 */
enum edit_result edit_key(struct edit *e, unsigned char byte);

/*
 * After EDIT_LINE: adds the line to the history (unless empty or the same
 * as the newest) and empties the editor.
 */
void edit_accept(struct edit *e);

/*
 * Writes into out[0..cap) the bytes that redraw the prompt and line on the
 * terminal's current row, in a window `columns` wide that scrolls sideways
 * to keep the cursor visible, and leave the cursor in place. Clears dirty.
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
