/* term.h - the terminal: raw mode, its width, and safe display of text from the network. */
#ifndef P2PCHAT_TERM_H
#define P2PCHAT_TERM_H

#include <stddef.h>
#include <stdint.h>

#define TERM_DEFAULT_COLUMNS 80  /* the classic VT100 width, when the terminal will not say */
#define TERM_DEFAULT_LINES 24    /* and its height */

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

/* Returns the height of the terminal on fd in rows, or 24 when it cannot tell. */
int term_lines(int fd);

/*
 * Sets the character-type locale that wcwidth(3) needs: the user's (LC_ALL,
 * LC_CTYPE, LANG), or C.UTF-8 when that is not a UTF-8 locale, since the
 * chat is UTF-8 whatever the user's locale says. Only LC_CTYPE changes:
 * numbers and messages stay as they were. Returns 1 when a UTF-8 locale is
 * in force, 0 when none could be had (then every character counts as one
 * column).
 */
int term_locale_init(void);

/*
 * Returns the columns code point cp takes on a terminal: 0 for combining
 * marks and other zero-width characters, 2 for wide ones (CJK, most
 * emoji), else 1. From libc's wcwidth(3) in the locale term_locale_init
 * chose; a character wcwidth does not know counts as 1, as most terminals
 * draw a replacement for it.
 */
int term_char_width(uint32_t cp);

/*
 * Returns the columns s[0..n) takes when printed. s is UTF-8 as
 * term_sanitize leaves it, possibly with our own SGR sequences
 * (ESC [ ... m), which take no columns; an invalid byte counts as one.
 */
size_t term_width(const char *s, size_t n);

/*
 * Returns how many bytes of s[0..n) fit in max_cols columns, cut between
 * characters (and never inside an SGR sequence); the columns they take go
 * to *cols when cols is not NULL.
 */
size_t term_fit(const char *s, size_t n, size_t max_cols, size_t *cols);

/*
 * Returns the rows a text `width` columns wide takes on a terminal
 * `columns` wide that wraps it (at least 1: an empty line is a row).
 */
int term_rows_for(size_t width, int columns);

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
