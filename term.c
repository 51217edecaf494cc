/* term.c - the terminal: raw mode, a one-line editor, and safe display of text from the network. */
#include "term.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define EDIT_COMPLETE_MAX 64 /* names one Tab press looks at */
#define DEFAULT_COLUMNS 80   /* the classic VT100 width, when the terminal will not say */

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
	return DEFAULT_COLUMNS;
}

/* ------------------------------------------------------------------ UTF-8 */

static int is_continuation(unsigned char b)
{
	return (b & 0xc0) == 0x80;
}

/*
 * Decodes the UTF-8 character at s[0], with n bytes available. Returns its
 * length (1..4) and stores the code point in *cp when it is whole and valid;
 * 0 when the bytes so far are a valid beginning but more are needed; -1 when
 * s[0] cannot begin a valid character here. Valid is what RFC 3629 allows
 * (the table in its section 4): the shortest form only, no surrogates
 * U+D800..U+DFFF, nothing above U+10FFFF. Those rules only ever narrow the
 * range of the second byte, which is why lo and hi are all we need.
 */
static int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;
	uint32_t c;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xc2) {
		return -1; /* a continuation byte, or C0/C1: overlong forms of ASCII */
	} else if (s[0] < 0xe0) {
		need = 2;
		c = s[0] & 0x1f;
	} else if (s[0] < 0xf0) {
		need = 3;
		c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0; /* below is an overlong form of U+0000..U+07FF */
		if (s[0] == 0xed)
			hi = 0x9f; /* above are the surrogates */
	} else if (s[0] < 0xf5) {
		need = 4;
		c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90; /* below is an overlong form of U+0000..U+FFFF */
		if (s[0] == 0xf4)
			hi = 0x8f; /* above is beyond U+10FFFF */
	} else {
		return -1; /* F5..FF: would be beyond U+10FFFF */
	}
	for (i = 1; i < need; i++) {
		if (i >= n)
			return 0;
		if (s[i] < lo || s[i] > hi)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*cp = c;
	return (int)need;
}

/* Returns nonzero when a code point may go to the terminal as it is: not C0, DEL or C1. */
static int char_printable(uint32_t cp)
{
	return cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f);
}

/* Returns the number of characters in s[0..n) of valid UTF-8: its bytes that start one. */
static size_t utf8_count(const char *s, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		if (!is_continuation((unsigned char)s[i]))
			count++;
	}
	return count;
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

/* ------------------------------------------------------------------ editor: buffer */

/* Editing actions; control bytes and escape sequences both map to these. */
enum edit_action {
	ACT_IGNORE,
	ACT_LINE,
	ACT_EOF_OR_DELETE,
	ACT_INTERRUPT,
	ACT_BACKSPACE,
	ACT_DELETE,
	ACT_KILL_START,
	ACT_KILL_END,
	ACT_KILL_WORD,
	ACT_HOME,
	ACT_END,
	ACT_LEFT,
	ACT_RIGHT,
	ACT_OLDER,
	ACT_NEWER,
	ACT_COMPLETE,
	ACT_REDRAW,
};

/* The buffer only ever holds valid UTF-8, so a character starts at any non-continuation byte. */
static size_t char_prev(const struct edit *e, size_t pos)
{
	if (pos > 0)
		pos--;
	while (pos > 0 && is_continuation((unsigned char)e->buf[pos]))
		pos--;
	return pos;
}

static size_t char_next(const struct edit *e, size_t pos)
{
	if (pos < e->len)
		pos++;
	while (pos < e->len && is_continuation((unsigned char)e->buf[pos]))
		pos++;
	return pos;
}

/* Inserts s[0..n) at the cursor. Returns 0, or -1 (inserting nothing) past PROTO_LINE_MAX. */
static int edit_insert(struct edit *e, const char *s, size_t n)
{
	if (n > PROTO_LINE_MAX - e->len)
		return -1;
	memmove(e->buf + e->cursor + n, e->buf + e->cursor, e->len - e->cursor + 1);
	memcpy(e->buf + e->cursor, s, n);
	e->len += n;
	e->cursor += n;
	e->dirty = 1;
	return 0;
}

/* Deletes buf[from..to) and leaves the cursor at from. */
static void edit_delete(struct edit *e, size_t from, size_t to)
{
	memmove(e->buf + from, e->buf + to, e->len - to + 1);
	e->len -= to - from;
	e->cursor = from;
	e->dirty = 1;
}

/* Replaces the whole line with s (cut to PROTO_LINE_MAX bytes) and puts the cursor at its end. */
static void edit_replace(struct edit *e, const char *s)
{
	size_t n = strlen(s);

	if (n > PROTO_LINE_MAX)
		n = PROTO_LINE_MAX;
	memcpy(e->buf, s, n);
	e->buf[n] = '\0';
	e->len = n;
	e->cursor = n;
	e->dirty = 1;
}

/* Deletes the word before the cursor: the spaces just before it, then the word itself. */
static void edit_kill_word(struct edit *e)
{
	size_t from = e->cursor;

	while (from > 0 && e->buf[from - 1] == ' ')
		from--;
	while (from > 0 && e->buf[from - 1] != ' ')
		from--;
	edit_delete(e, from, e->cursor);
}

/* ------------------------------------------------------------------ editor: history */

/*
 * Up: shows the next older line, keeping the fresh line in hist_saved on the
 * first step. Edits made to a recalled line are not written back to the
 * history: moving on discards them, as in a simple shell.
 */
static void history_older(struct edit *e)
{
	if (e->hist_pos + 1 >= e->hist_count)
		return;
	if (e->hist_pos < 0) {
		e->hist_saved = strdup(e->buf);
		if (!e->hist_saved)
			return; /* out of memory: better not to browse than to lose the line */
	}
	e->hist_pos++;
	edit_replace(e, e->hist[e->hist_pos]);
}

/* Down: shows the next newer line, and the fresh line again after the newest. */
static void history_newer(struct edit *e)
{
	if (e->hist_pos < 0)
		return;
	e->hist_pos--;
	if (e->hist_pos >= 0) {
		edit_replace(e, e->hist[e->hist_pos]);
		return;
	}
	edit_replace(e, e->hist_saved);
	free(e->hist_saved);
	e->hist_saved = NULL;
}

/* ------------------------------------------------------------------ editor: completion */

/* Returns nonzero when a name offered for completion is valid UTF-8 without control characters. */
static int name_printable(const char *name)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), off = 0;
	uint32_t cp;
	int len;

	while (off < n) {
		len = utf8_decode(s + off, n - off, &cp);
		if (len <= 0 || !char_printable(cp))
			return 0;
		off += (size_t)len;
	}
	return 1;
}

/*
 * Tab: completes the word before the cursor (what follows the last space
 * before it) from the names e->complete offers. One match completes it and
 * adds a space; several complete to the longest prefix they share.
 */
static void edit_complete(struct edit *e)
{
	const char *names[EDIT_COMPLETE_MAX];
	const char *match = NULL;
	size_t start = e->cursor, word_len, common = 0, i;
	int count, matches = 0, k;

	if (!e->complete)
		return;
	while (start > 0 && e->buf[start - 1] != ' ')
		start--;
	word_len = e->cursor - start;
	count = e->complete(e->complete_ctx, names, EDIT_COMPLETE_MAX);
	if (count > EDIT_COMPLETE_MAX)
		count = EDIT_COMPLETE_MAX;
	for (k = 0; k < count; k++) {
		/* Names come from the network: only printable ones may enter the line. */
		if (!names[k] || strncmp(names[k], e->buf + start, word_len) != 0 ||
		    !name_printable(names[k]))
			continue;
		if (!match) {
			match = names[k];
			common = strlen(match);
		} else {
			for (i = word_len; i < common && names[k][i] == match[i]; i++)
				;
			common = i;
		}
		matches++;
	}
	if (matches == 0)
		return;
	/* "é" and "è" share their first byte: never stop inside a character. */
	while (common > word_len && is_continuation((unsigned char)match[common]))
		common--;
	if (common - word_len + (matches == 1) > PROTO_LINE_MAX - e->len)
		return;
	edit_insert(e, match + word_len, common - word_len);
	if (matches == 1)
		edit_insert(e, " ", 1);
}

/* ------------------------------------------------------------------ editor: keys */

static enum edit_action control_action(unsigned char byte)
{
	switch (byte) {
	case '\r':
	case '\n':
		return ACT_LINE;
	case 0x01: return ACT_HOME;           /* Ctrl-A */
	case 0x02: return ACT_LEFT;           /* Ctrl-B */
	case 0x03: return ACT_INTERRUPT;      /* Ctrl-C */
	case 0x04: return ACT_EOF_OR_DELETE;  /* Ctrl-D */
	case 0x05: return ACT_END;            /* Ctrl-E */
	case 0x06: return ACT_RIGHT;          /* Ctrl-F */
	case 0x08: return ACT_BACKSPACE;      /* Ctrl-H */
	case 0x09: return ACT_COMPLETE;       /* Tab */
	case 0x0b: return ACT_KILL_END;       /* Ctrl-K */
	case 0x0c: return ACT_REDRAW;         /* Ctrl-L */
	case 0x0e: return ACT_NEWER;          /* Ctrl-N */
	case 0x10: return ACT_OLDER;          /* Ctrl-P */
	case 0x15: return ACT_KILL_START;     /* Ctrl-U */
	case 0x17: return ACT_KILL_WORD;      /* Ctrl-W */
	case 0x7f: return ACT_BACKSPACE;      /* what the Backspace key sends */
	default: return ACT_IGNORE;
	}
}

/* The escape sequences of VT100 and xterm keys, without the leading ESC. */
static const struct {
	const char *seq;
	enum edit_action action;
} escape_keys[] = {
	{ "[A", ACT_OLDER }, { "[B", ACT_NEWER }, { "[C", ACT_RIGHT }, { "[D", ACT_LEFT },
	/* the same arrows in "application cursor keys" mode */
	{ "OA", ACT_OLDER }, { "OB", ACT_NEWER }, { "OC", ACT_RIGHT }, { "OD", ACT_LEFT },
	/* Home and End: each terminal family has its own */
	{ "[H", ACT_HOME }, { "[F", ACT_END }, { "OH", ACT_HOME }, { "OF", ACT_END },
	{ "[1~", ACT_HOME }, { "[4~", ACT_END }, { "[7~", ACT_HOME }, { "[8~", ACT_END },
	{ "[3~", ACT_DELETE },
};

/* Returns the action of the whole escape sequence in e->esc, ACT_IGNORE when unknown. */
static enum edit_action escape_action(const struct edit *e)
{
	size_t i, n = e->esc_len - 1;

	for (i = 0; i < sizeof escape_keys / sizeof escape_keys[0]; i++) {
		if (strlen(escape_keys[i].seq) == n && memcmp(escape_keys[i].seq, e->esc + 1, n) == 0)
			return escape_keys[i].action;
	}
	return ACT_IGNORE;
}

static enum edit_result edit_act(struct edit *e, enum edit_action action)
{
	switch (action) {
	case ACT_LINE:
		return EDIT_LINE;
	case ACT_INTERRUPT:
		return EDIT_INTERRUPT;
	case ACT_EOF_OR_DELETE:
		if (e->len == 0)
			return EDIT_EOF;
		edit_delete(e, e->cursor, char_next(e, e->cursor));
		break;
	case ACT_DELETE:
		edit_delete(e, e->cursor, char_next(e, e->cursor));
		break;
	case ACT_BACKSPACE:
		edit_delete(e, char_prev(e, e->cursor), e->cursor);
		break;
	case ACT_KILL_START:
		edit_delete(e, 0, e->cursor);
		break;
	case ACT_KILL_END:
		edit_delete(e, e->cursor, e->len);
		break;
	case ACT_KILL_WORD:
		edit_kill_word(e);
		break;
	case ACT_HOME:
		e->cursor = 0;
		break;
	case ACT_END:
		e->cursor = e->len;
		break;
	case ACT_LEFT:
		e->cursor = char_prev(e, e->cursor);
		break;
	case ACT_RIGHT:
		e->cursor = char_next(e, e->cursor);
		break;
	case ACT_OLDER:
		history_older(e);
		break;
	case ACT_NEWER:
		history_newer(e);
		break;
	case ACT_COMPLETE:
		edit_complete(e);
		break;
	case ACT_REDRAW:
		break;
	case ACT_IGNORE:
		return EDIT_NONE;
	}
	e->dirty = 1;
	return EDIT_NONE;
}

/*
 * A byte after ESC. A sequence is ESC [ parameters final (a CSI, final byte
 * 0x40..0x7e), ESC O final (SS3), or ESC and one other byte (what Alt-key
 * sends). Unknown ones are swallowed whole. Only the first sizeof e->esc
 * bytes are kept: none of the keys we know is longer, so a longer sequence
 * is swallowed without being stored.
 */
static enum edit_result escape_byte(struct edit *e, unsigned char byte)
{
	enum edit_action action;
	int done;

	if (byte < 0x20 || byte > 0x7e) {
		/* Not part of any sequence (a stray ESC, then Ctrl-C): drop the sequence, keep the key. */
		e->esc_len = 0;
		return edit_key(e, byte);
	}
	if (e->esc_len < sizeof e->esc)
		e->esc[e->esc_len++] = (char)byte;
	if (e->esc_len == 2)
		done = byte != '[' && byte != 'O';
	else if (e->esc[1] == 'O')
		done = 1;
	else
		done = byte >= 0x40 && byte <= 0x7e;
	if (!done)
		return EDIT_NONE;
	action = escape_action(e);
	e->esc_len = 0;
	return edit_act(e, action);
}

/*
 * A byte after the lead byte of a UTF-8 character: inserts the character
 * when it is complete. An invalid sequence is dropped; the byte that broke
 * it is read again as a key unless it is a continuation byte.
 */
static enum edit_result utf8_byte(struct edit *e, unsigned char byte)
{
	uint32_t cp;
	int len;

	e->esc[e->esc_len++] = (char)byte;
	len = utf8_decode((const unsigned char *)e->esc, e->esc_len, &cp);
	if (len == 0)
		return EDIT_NONE;
	e->esc_len = 0;
	if (len < 0)
		return is_continuation(byte) ? EDIT_NONE : edit_key(e, byte);
	/* C1 controls would reach the terminal when the line is drawn: leave them out. */
	if (char_printable(cp))
		edit_insert(e, e->esc, (size_t)len);
	return EDIT_NONE;
}

/*
 * e->esc holds whatever key is half read: an escape sequence when it
 * starts with ESC, else the first bytes of a UTF-8 character. The two never
 * overlap, and a UTF-8 character (4 bytes at most) fits.
 */
enum edit_result edit_key(struct edit *e, unsigned char byte)
{
	uint32_t cp;

	if (e->esc_len > 0) {
		if (e->esc[0] == '\x1b')
			return escape_byte(e, byte);
		return utf8_byte(e, byte);
	}
	if (byte == 0x1b || (byte >= 0x80 && utf8_decode(&byte, 1, &cp) == 0)) {
		/* ESC, or a lead byte that wants more: remember it until the key is whole. */
		e->esc[0] = (char)byte;
		e->esc_len = 1;
		return EDIT_NONE;
	}
	if (byte >= 0x80)
		return EDIT_NONE; /* cannot start a character: dropped */
	if (byte >= 0x20 && byte != 0x7f) {
		edit_insert(e, (const char *)&byte, 1);
		return EDIT_NONE;
	}
	return edit_act(e, control_action(byte));
}

/* ------------------------------------------------------------------ editor: the rest */

void edit_init(struct edit *e, const char *prompt)
{
	memset(e, 0, sizeof *e);
	e->hist_pos = -1;
	edit_set_prompt(e, prompt);
}

void edit_free(struct edit *e)
{
	int i;

	for (i = 0; i < e->hist_count; i++) {
		free(e->hist[i]);
		e->hist[i] = NULL;
	}
	e->hist_count = 0;
	e->hist_pos = -1;
	free(e->hist_saved);
	e->hist_saved = NULL;
}

void edit_set_prompt(struct edit *e, const char *prompt)
{
	/* The prompt may hold a peer's name: sanitize it like any text bound for the screen. */
	term_sanitize(prompt, strlen(prompt), e->prompt, sizeof e->prompt);
	e->dirty = 1;
}

void edit_accept(struct edit *e)
{
	char *copy;

	if (e->len > 0 && (e->hist_count == 0 || strcmp(e->hist[0], e->buf) != 0)) {
		copy = strdup(e->buf);
		if (copy) {
			if (e->hist_count == EDIT_HISTORY)
				free(e->hist[--e->hist_count]);
			memmove(e->hist + 1, e->hist, (size_t)e->hist_count * sizeof e->hist[0]);
			e->hist[0] = copy;
			e->hist_count++;
		}
	}
	free(e->hist_saved);
	e->hist_saved = NULL;
	e->hist_pos = -1;
	e->esc_len = 0;
	edit_replace(e, "");
}

/* An output buffer that takes whole pieces or nothing, so no escape sequence is ever cut. */
struct sink {
	char *out;
	size_t cap;
	size_t len;
	int full;
};

static void sink_put(struct sink *o, const char *s, size_t n)
{
	if (o->full || n >= o->cap - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->out + o->len, s, n);
	o->len += n;
	o->out[o->len] = '\0';
}

/* Returns the byte offset in buf of character number index (or len, when there are fewer). */
static size_t char_offset(const struct edit *e, size_t index)
{
	size_t pos = 0;

	while (index-- > 0 && pos < e->len)
		pos = char_next(e, pos);
	return pos;
}

/*
 * Width is counted as one column per code point. That is wrong for CJK
 * (two columns) and combining marks (none), but it needs no wcwidth table
 * and no locale; at worst the line is drawn a little off.
 */
size_t edit_render(struct edit *e, int columns, char *out, size_t cap)
{
	struct sink o = { out, cap, 0, 0 };
	size_t prompt_width = utf8_count(e->prompt, strlen(e->prompt));
	size_t cursor_col = utf8_count(e->buf, e->cursor);
	size_t width, step, first = 0, from, to, shown = 0;
	char move[32];

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (columns <= 0)
		columns = DEFAULT_COLUMNS;
	/* Use columns - 1 at most: writing the last column makes some terminals wrap. */
	width = (size_t)columns - 1 > prompt_width ? (size_t)columns - 1 - prompt_width : 1;
	/*
	 * Scroll in steps of half the width: the first character shown is the
	 * smallest multiple of step that keeps the cursor inside the window.
	 * So the view stays put while the cursor moves within it, and needs no
	 * state of its own.
	 */
	if (cursor_col >= width) {
		step = width / 2 > 0 ? width / 2 : 1;
		first = (cursor_col - width + step) / step * step;
	}
	from = char_offset(e, first);
	to = from;
	while (to < e->len && shown < width) {
		to = char_next(e, to);
		shown++;
	}

	sink_put(&o, "\r", 1);
	sink_put(&o, e->prompt, strlen(e->prompt));
	sink_put(&o, e->buf + from, to - from);
	sink_put(&o, "\x1b[K\r", 4);
	if (prompt_width + cursor_col - first > 0) {
		snprintf(move, sizeof move, "\x1b[%zuC", prompt_width + cursor_col - first);
		sink_put(&o, move, strlen(move));
	}
	e->dirty = 0;
	return o.len;
}

size_t edit_hide(struct edit *e, char *out, size_t cap)
{
	struct sink o = { out, cap, 0, 0 };

	e->dirty = 1;
	if (cap == 0)
		return 0;
	out[0] = '\0';
	sink_put(&o, "\r\x1b[K", 4);
	return o.len;
}
