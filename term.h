/* term.h - the terminal: raw mode, its width, and safe display of text from the network. */
#ifndef P2PCHAT_TERM_H
#define P2PCHAT_TERM_H

#include <stddef.h>
#include <stdint.h>

#define TERM_DEFAULT_COLUMNS 80  /* the classic VT100 width, when the terminal will not say */

/*
 * Puts the terminal on fd into raw mode (no echo, no line buffering, no
 * signals from Ctrl-C: the editor reads those keys itself), saving the old
 * settings. Returns 0, or -1 with errno set (fd is not a terminal).
 */
int term_raw_enable(int fd);

/* Restores the settings term_raw_enable saved; safe to call more than once and from atexit. */
void term_raw_restore(void);

/* Returns the width of the terminal on fd in columns, or 80 when it cannot tell. */
int term_columns(int fd);

/*
 * Writes text[0..len) from the network into out[0..cap) so that it is safe
 * to print: valid UTF-8 passes through; control characters (C0, DEL, and
 * C1 U+0080..U+009F) become caret notation ("^[" for ESC, "^?" for DEL,
 * "^@" for NUL) or "\u0085"-style for C1; each byte of invalid UTF-8
 * becomes "?". Nothing written can move the cursor or change the terminal.
 * out is always NUL-terminated; the result is cut, never overflowed, at a
 * character boundary when cap is too small. Returns strlen(out).
 */
size_t term_sanitize(const char *text, size_t len, char *out, size_t cap);

#endif
