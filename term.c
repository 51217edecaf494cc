/* term.c - the terminal: raw mode, its width, and safe display of text from the network. */
#define _XOPEN_SOURCE 700 /* wcwidth(3) is an XSI function */
#include "term.h"

#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include "utf8.h"


/* ------------------------------------------------------------------ raw mode */

/* The settings before term_raw_enable, and the fd they belong to (-1: nothing to restore). */
static struct termios saved_termios;
static int saved_fd = -1;

int term_raw_enable(int fd)
{
	struct termios raw;

	/* Save only the first time: a second call must not save raw settings as the "old" ones. */
	if (saved_fd < 0) {
		if (tcgetattr(fd, &saved_termios) < 0)
			return -1;
	}
	raw = saved_termios;
	/*
	 * Input: no CR-to-NL (Enter arrives as CR, which the editor handles),
	 * no Ctrl-S/Ctrl-Q flow control, no 8th-bit stripping (UTF-8 needs it),
	 * no break or parity signals.
	 */
	raw.c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
	/* Local: no echo, byte at a time, Ctrl-C/Ctrl-Z/Ctrl-V reach the editor as bytes. */
	raw.c_lflag &= ~(tcflag_t)(ECHO | ICANON | ISIG | IEXTEN);
	raw.c_cflag |= CS8;
	/* OPOST stays on, so "\n" in printed chat lines still moves to the start of the next row. */
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(fd, TCSAFLUSH, &raw) < 0)
		return -1;
	saved_fd = fd;
	return 0;
}

void term_raw_restore(void)
{
	/* tcsetattr is async-signal-safe, so this may run after a signal as well as from atexit. */
	if (saved_fd < 0)
		return;
	tcsetattr(saved_fd, TCSAFLUSH, &saved_termios);
	saved_fd = -1;
}

int term_columns(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return TERM_DEFAULT_COLUMNS;
}

int term_lines(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
		return ws.ws_row;
	return TERM_DEFAULT_LINES;
}

/* ------------------------------------------------------------------ width */

/* 1 while the LC_CTYPE locale is UTF-8, so that wcwidth knows every code point. */
static int term_utf8_locale;

static int codeset_is_utf8(void)
{
	const char *set = nl_langinfo(CODESET);

	return set != NULL && (strcmp(set, "UTF-8") == 0 || strcmp(set, "utf8") == 0);
}

int term_locale_init(void)
{
	if (setlocale(LC_CTYPE, "") == NULL || !codeset_is_utf8())
		setlocale(LC_CTYPE, "C.UTF-8");
	term_utf8_locale = codeset_is_utf8();
	return term_utf8_locale;
}

int term_char_width(uint32_t cp)
{
	int w;

	if (!term_utf8_locale)
		return 1;
	/* glibc's wchar_t is UCS-4 (__STDC_ISO_10646__): a code point is a wchar_t. */
	w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w;
}

/*
 * Measures the piece at s[0] (n > 0 bytes available): one character, or
 * one whole SGR sequence of ours. Returns its length in bytes; its columns
 * go to *cols.
 */
static size_t piece(const char *s, size_t n, size_t *cols)
{
	uint32_t cp;
	int len;
	size_t i;

	if (s[0] == '\033' && n > 1 && s[1] == '[') {
		for (i = 2; i < n && !(s[i] >= 0x40 && s[i] <= 0x7e); i++)
			;
		*cols = 0;
		return i < n ? i + 1 : n;
	}
	len = utf8_decode((const unsigned char *)s, n, &cp);
	if (len <= 0) {
		*cols = 1;
		return 1;
	}
	*cols = (size_t)term_char_width(cp);
	return (size_t)len;
}

size_t term_width(const char *s, size_t n)
{
	size_t off = 0, total = 0, cols;

	while (off < n) {
		off += piece(s + off, n - off, &cols);
		total += cols;
	}
	return total;
}

size_t term_fit(const char *s, size_t n, size_t max_cols, size_t *cols)
{
	size_t off = 0, total = 0, len, w;

	while (off < n) {
		len = piece(s + off, n - off, &w);
		if (total + w > max_cols)
			break;
		total += w;
		off += len;
	}
	if (cols != NULL)
		*cols = total;
	return off;
}

int term_rows_for(size_t width, int columns)
{
	if (columns <= 0)
		columns = TERM_DEFAULT_COLUMNS;
	if (width == 0)
		return 1;
	return (int)((width + (size_t)columns - 1) / (size_t)columns);
}

/* ------------------------------------------------------------------ sanitize */

/*
 * Returns 1 for the Unicode characters that move or break the text around
 * them without showing: the bidirectional controls (U+061C, U+200E/F,
 * U+202A..E, U+2066..9), with which a peer could make a line read other
 * than it is ("Trojan Source", CVE-2021-42574), and the line and paragraph
 * separators U+2028/9, which some terminals take as a new line. Joiners
 * and other zero-width characters stay: emoji sequences need them, and
 * they hide nothing.
 */
static int sanitize_reorders(uint32_t cp)
{
	return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Writes into tok the safe form of the character at s[0] (n bytes
 * available) and its length into *tok_len. Returns the input bytes used.
 */
static size_t sanitize_char(const unsigned char *s, size_t n, char tok[8], size_t *tok_len)
{
	uint32_t cp;
	int len = utf8_decode(s, n, &cp);

	if (len <= 0) {
		/* Invalid, or cut short by the end of the text: this one byte becomes "?". */
		tok[0] = '?';
		*tok_len = 1;
		return 1;
	}
	if (cp < 0x20 || cp == 0x7f) {
		/* Caret notation: ^@ for NUL, ^[ for ESC, ^I for Tab, ^? for DEL. */
		tok[0] = '^';
		tok[1] = (char)(cp ^ 0x40);
		*tok_len = 2;
	} else if ((cp >= 0x80 && cp <= 0x9f) || sanitize_reorders(cp)) {
		/* C1 controls (CSI U+009B among them) have no caret form; all are under U+10000. */
		snprintf(tok, 8, "\\u%04X", (unsigned)(cp & 0xffff));
		*tok_len = 6;
	} else {
		memcpy(tok, s, (size_t)len);
		*tok_len = (size_t)len;
	}
	return (size_t)len;
}

size_t term_sanitize(const char *text, size_t len, char *out, size_t cap)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t in = 0, used = 0, used_in, tok_len;
	char tok[8];

	if (cap == 0)
		return 0;
	while (in < len) {
		used_in = sanitize_char(s + in, len - in, tok, &tok_len);
		if (tok_len >= cap - used)
			break; /* no room for it and the NUL: cut here, between characters */
		memcpy(out + used, tok, tok_len);
		used += tok_len;
		in += used_in;
	}
	out[used] = '\0';
	return used;
}
