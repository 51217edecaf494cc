/* test_term.c - unit tests for term.c, edit.c and screen.c: safe network text, display widths, the line editor, the screen, raw mode on a pty. */
#define _XOPEN_SOURCE 700 /* posix_openpt, grantpt, unlockpt, ptsname */

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "edit.h"
#include "screen.h"
#include "term.h"
#include "harness.h"

/* Keys as a VT100/xterm terminal sends them. */
#define KEY_UP "\x1b[A"
#define KEY_DOWN "\x1b[B"
#define KEY_RIGHT "\x1b[C"
#define KEY_LEFT "\x1b[D"
#define KEY_HOME "\x1b[H"
#define KEY_END "\x1b[F"
#define KEY_DELETE "\x1b[3~"
#define KEY_CTRL(c) ((c) & 0x1f)

/* ------------------------------------------------------------------ helpers */

/* Feeds s to the editor one byte at a time; returns what the last byte returned. */
static enum edit_result feed(struct edit *e, const char *s)
{
	enum edit_result r = EDIT_NONE;

	while (*s)
		r = edit_key(e, (unsigned char)*s++);
	return r;
}

static enum edit_result key(struct edit *e, int byte)
{
	return edit_key(e, (unsigned char)byte);
}

/* Feeds s, then Enter, then accepts the line into the history. */
static void enter_line(struct edit *e, const char *s)
{
	feed(e, s);
	ck_assert_int_eq(key(e, '\r'), EDIT_LINE);
	edit_accept(e);
}

/*
 * Returns 1 when s[0..n) is valid UTF-8. Written apart from term.c's
 * decoder, by code point: shortest form, no surrogates, at most U+10FFFF.
 */
static int valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0, k, len;
	uint32_t cp, min;

	while (i < n) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			len = 2, cp = s[i] & 0x1f, min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			len = 3, cp = s[i] & 0x0f, min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			len = 4, cp = s[i] & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (n - i < len)
			return 0;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Returns 1 when s[0..n) holds no C0 control, DEL, or C1 control (encoded C2 80..C2 9F). */
static int no_controls(const unsigned char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

/* A small seeded PRNG (xorshift32), so every run tests the same strings. */
static uint32_t rng_state;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* ------------------------------------------------------------------ term_sanitize */

static const struct {
	const char *in;
	size_t len;
	const char *out;
} sanitize_vectors[] = {
	/* plain ASCII passes */
	{ "hello, world", 12, "hello, world" },
	/* empty text gives "" */
	{ "", 0, "" },
	/* é (U+00E9, 2 bytes) passes */
	{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },
	/* 日本 (3 bytes each) passes */
	{ "\xe6\x97\xa5\xe6\x9c\xac", 6, "\xe6\x97\xa5\xe6\x9c\xac" },
	/* an emoji, U+1F600 (4 bytes), passes */
	{ "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },
	/* ESC [ 2 J (clear screen) is shown, not obeyed */
	{ "\x1b[2J", 4, "^[[2J" },
	/* BEL */
	{ "a\ab", 3, "a^Gb" },
	/* NUL inside the text: len counts, not the NUL */
	{ "a\0b", 3, "a^@b" },
	/* DEL */
	{ "a\x7f", 2, "a^?" },
	/* CR could overwrite the start of the row */
	{ "x\ry", 3, "x^My" },
	/* LF */
	{ "x\ny", 3, "x^Jy" },
	/* Tab, as caret like every other C0 byte */
	{ "\tx", 2, "^Ix" },
	/* C1 CSI U+009B, encoded C2 9B: a one-byte ESC [ to some terminals */
	{ "\xc2\x9b" "2J", 4, "\\u009B2J" },
	/* C1 NEL U+0085 */
	{ "\xc2\x85", 2, "\\u0085" },
	/* U+009F, the last C1 */
	{ "\xc2\x9f", 2, "\\u009F" },
	/* RIGHT-TO-LEFT OVERRIDE U+202E (E2 80 AE) would show "txt.exe" as "exe.txt" */
	{ "a\xe2\x80\xae" "exe.txt", 11, "a\\u202Eexe.txt" },
	/* the isolates U+2066 (first) and U+2069 (last), and LRM U+200E */
	{ "\xe2\x81\xa6\xe2\x81\xa9\xe2\x80\x8e", 9, "\\u2066\\u2069\\u200E" },
	/* LINE SEPARATOR U+2028, a new line to some terminals; ARABIC LETTER MARK U+061C */
	{ "\xe2\x80\xa8\xd8\x9c", 5, "\\u2028\\u061C" },
	/* U+2027 and U+202F, either side of the separators and overrides, pass */
	{ "\xe2\x80\xa7\xe2\x80\xaf", 6, "\xe2\x80\xa7\xe2\x80\xaf" },
	/* ZERO WIDTH JOINER U+200D passes: emoji sequences need it */
	{ "\xe2\x80\x8d", 3, "\xe2\x80\x8d" },
	/* U+00A0, just past C1, passes */
	{ "\xc2\xa0", 2, "\xc2\xa0" },
	/* 0xFF never appears in UTF-8 */
	{ "a\xff" "b", 3, "a?b" },
	/* a lone continuation byte */
	{ "\x80", 1, "?" },
	/* a 3-byte sequence (日) cut short by the end of the text: one ? per byte */
	{ "a\xe6\x97", 3, "a??" },
	/* a 3-byte sequence cut short by ASCII */
	{ "\xe6\x97z", 3, "??z" },
	/* overlong C0 80 (an encoded NUL) */
	{ "\xc0\x80", 2, "??" },
	/* overlong 3-byte E0 80 AF ("/") */
	{ "\xe0\x80\xaf", 3, "???" },
	/* overlong 4-byte F0 80 80 80 */
	{ "\xf0\x80\x80\x80", 4, "????" },
	/* surrogate U+D800 (ED A0 80) */
	{ "\xed\xa0\x80", 3, "???" },
	/* U+D7FF, just below the surrogates, passes */
	{ "\xed\x9f\xbf", 3, "\xed\x9f\xbf" },
	/* U+110000 (F4 90 80 80) is past the last code point */
	{ "\xf4\x90\x80\x80", 4, "????" },
	/* U+10FFFF, the last code point, passes */
	{ "\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf" },
	/* F5 can never start a character */
	{ "\xf5\x80", 2, "??" },
};

START_TEST(test_sanitize_vectors)
{
	char out[64];
	size_t n;

	memset(out, 'X', sizeof out);
	n = term_sanitize(sanitize_vectors[_i].in, sanitize_vectors[_i].len, out, sizeof out);
	ck_assert_str_eq(out, sanitize_vectors[_i].out);
	ck_assert_uint_eq(n, strlen(sanitize_vectors[_i].out));
}
END_TEST

START_TEST(test_sanitize_small_cap)
{
	const char *nihon = "\xe6\x97\xa5\xe6\x9c\xac"; /* 日本 */
	char out[16];

	/* cap 1: room for the NUL only */
	ck_assert_uint_eq(term_sanitize("abc", 3, out, 1), 0);
	ck_assert_str_eq(out, "");
	/* cap 0: nothing may be written, not even the NUL */
	out[0] = 'X';
	ck_assert_uint_eq(term_sanitize("abc", 3, out, 0), 0);
	ck_assert_int_eq(out[0], 'X');
	/* cap 3: "ab" and the NUL */
	ck_assert_uint_eq(term_sanitize("abc", 3, out, 3), 2);
	ck_assert_str_eq(out, "ab");
	/* 日 takes 3 bytes: cap 3 leaves room for 2, so nothing */
	ck_assert_uint_eq(term_sanitize(nihon, 6, out, 3), 0);
	ck_assert_str_eq(out, "");
	/* cap 6 leaves room for 5 bytes: 日, and not half of 本 */
	ck_assert_uint_eq(term_sanitize(nihon, 6, out, 6), 3);
	ck_assert_str_eq(out, "\xe6\x97\xa5");
	/* cap 7 fits both */
	ck_assert_uint_eq(term_sanitize(nihon, 6, out, 7), 6);
	ck_assert_str_eq(out, nihon);
	/* "^[" is never cut to a bare "^" */
	ck_assert_uint_eq(term_sanitize("a\x1b", 2, out, 3), 1);
	ck_assert_str_eq(out, "a");
	/* "\u009B" is never cut either: it needs 6 bytes and the NUL */
	ck_assert_uint_eq(term_sanitize("\xc2\x9b", 2, out, 6), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(term_sanitize("\xc2\x9b", 2, out, 7), 6);
	ck_assert_str_eq(out, "\\u009B");
}
END_TEST

/* Bytes that test the decoder's edges; random strings draw half their bytes from here. */
static const unsigned char edge_bytes[] = {
	0x00, 0x07, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x20, '[', 'a', 0x7e, 0x7f,
	0x80, 0x85, 0x8f, 0x90, 0x9b, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf,
	0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
};

static unsigned char random_byte(void)
{
	uint32_t r = rng();

	if (r & 1)
		return edge_bytes[(r >> 1) % sizeof edge_bytes];
	return (unsigned char)(r >> 8);
}

/* Property: whatever arrives, the output is valid UTF-8 with no control character in it. */
START_TEST(test_sanitize_random)
{
	unsigned char in[64];
	char full[64 * 6 + 1], again[64 * 6 + 1], small[32];
	size_t len, n, n2, cap, i;
	int round;

	rng_state = 0x2545f491;
	for (round = 0; round < 5000; round++) {
		len = rng() % sizeof in;
		for (i = 0; i < len; i++)
			in[i] = random_byte();
		/* 6 output bytes per input byte at most ("\u0085" from 2), so full never cuts */
		n = term_sanitize((const char *)in, len, full, sizeof full);
		ck_assert_uint_eq(n, strlen(full));
		ck_assert(no_controls((const unsigned char *)full, n));
		ck_assert(valid_utf8((const unsigned char *)full, n));
		/* safe text passes unchanged */
		n2 = term_sanitize(full, n, again, sizeof again);
		ck_assert_uint_eq(n2, n);
		ck_assert_str_eq(again, full);
		/* a small cap gives a prefix of the full output, cut between characters */
		cap = 1 + rng() % sizeof small;
		n2 = term_sanitize((const char *)in, len, small, cap);
		ck_assert_uint_lt(n2, cap);
		ck_assert_uint_eq(n2, strlen(small));
		ck_assert(memcmp(small, full, n2) == 0);
		ck_assert(valid_utf8((const unsigned char *)small, n2));
		/* and cut only when the next piece (6 bytes at most) did not fit */
		ck_assert(n2 == n || n2 + 6 >= cap);
	}
}
END_TEST

/* ------------------------------------------------------------------ editor: typing and keys */

START_TEST(test_edit_type_enter)
{
	struct edit e;

	edit_init(&e, "> ");
	ck_assert_int_eq(feed(&e, "hello"), EDIT_NONE);
	ck_assert(e.dirty);
	ck_assert_int_eq(key(&e, '\r'), EDIT_LINE);
	ck_assert_str_eq(e.buf, "hello");
	ck_assert_uint_eq(e.len, 5);
	edit_accept(&e);
	ck_assert_str_eq(e.buf, "");
	ck_assert_uint_eq(e.len, 0);
	ck_assert_uint_eq(e.cursor, 0);
	/* LF works as Enter too */
	feed(&e, "x");
	ck_assert_int_eq(key(&e, '\n'), EDIT_LINE);
	ck_assert_str_eq(e.buf, "x");
	edit_free(&e);
}
END_TEST

/* Control keys as the bytes a terminal sends. */
#define BACKSPACE "\x7f"
#define CTRL_A "\x01"
#define CTRL_B "\x02"
#define CTRL_D "\x04"
#define CTRL_E "\x05"
#define CTRL_F "\x06"
#define CTRL_H "\x08"
#define CTRL_K "\x0b"
#define CTRL_U "\x15"
#define CTRL_W "\x17"

/* Keys fed one byte at a time to a fresh editor, and the line and cursor they leave. */
static const struct {
	const char *keys;
	const char *buf;
	size_t cursor;
} key_vectors[] = {
	/* typing */
	{ "hello", "hello", 5 },
	/* Backspace deletes the character before the cursor */
	{ "abc" BACKSPACE, "ab", 2 },
	/* so does Ctrl-H */
	{ "abc" CTRL_H, "ab", 2 },
	/* Backspace at the start deletes nothing */
	{ "ab" KEY_HOME BACKSPACE, "ab", 0 },
	/* Ctrl-U deletes from the start to the cursor */
	{ "hello world" KEY_LEFT KEY_LEFT CTRL_U, "ld", 0 },
	/* Ctrl-K deletes from the cursor to the end */
	{ "hello world" KEY_LEFT KEY_LEFT CTRL_K, "hello wor", 9 },
	/* Ctrl-W deletes the word before the cursor */
	{ "/msg bob hi" CTRL_W, "/msg bob ", 9 },
	/* ... and the spaces after that word along with it */
	{ "/msg bob   " CTRL_W, "/msg ", 5 },
	/* ... and only what is before the cursor */
	{ "/msg abc def" KEY_LEFT CTRL_W, "/msg abc f", 9 },
	/* Ctrl-W at the start deletes nothing */
	{ "ab" KEY_HOME CTRL_W, "ab", 0 },
	/* left arrow, then insert in the middle; right arrow */
	{ "ace" KEY_LEFT KEY_LEFT "b" KEY_RIGHT "d", "abcde", 4 },
	/* Home (ESC [ H) and End (ESC [ F) */
	{ "abc" KEY_HOME ">" KEY_END "<", ">abc<", 5 },
	/* right at the end and left at the start stay put */
	{ "ab" KEY_RIGHT KEY_HOME KEY_LEFT, "ab", 0 },
	/* Ctrl-A, Ctrl-E, Ctrl-B, Ctrl-F */
	{ "abc" CTRL_A "1" CTRL_E "2" CTRL_B CTRL_B "3" CTRL_F "4", "1ab3c42", 6 },
	/* Home and End as ESC O H / ESC O F (xterm application mode) */
	{ "abc" "\x1bOH" "1" "\x1bOF" "2", "1abc2", 5 },
	/* ... as ESC [ 1 ~ / ESC [ 4 ~ (Linux console, screen) */
	{ "abc" "\x1b[1~" "1" "\x1b[4~" "2", "1abc2", 5 },
	/* ... as ESC [ 7 ~ / ESC [ 8 ~ (rxvt) */
	{ "abc" "\x1b[7~" "1" "\x1b[8~" "2", "1abc2", 5 },
	/* arrows in application mode: ESC O D, ESC O C */
	{ "ac" "\x1bOD" "b" "\x1bOC", "abc", 3 },
	/* Delete (ESC [ 3 ~) deletes the character under the cursor */
	{ "abc" KEY_HOME KEY_DELETE, "bc", 0 },
	/* ... and nothing at the end */
	{ "abc" KEY_DELETE, "abc", 3 },
	/* Ctrl-D on a line that is not empty deletes under the cursor too */
	{ "ab" KEY_HOME CTRL_D, "b", 0 },
	/* héllo: é (2 bytes) is one step for the right arrow */
	{ "h\xc3\xa9llo" KEY_HOME KEY_RIGHT KEY_RIGHT, "h\xc3\xa9llo", 3 },
	/* ... and for the left arrow */
	{ "h\xc3\xa9llo" KEY_HOME KEY_RIGHT KEY_RIGHT KEY_LEFT, "h\xc3\xa9llo", 1 },
	/* Backspace removes both bytes of é */
	{ "h\xc3\xa9" BACKSPACE, "h", 1 },
	/* a 4-byte emoji goes in whole, in the middle */
	{ "hllo" KEY_HOME KEY_RIGHT "\xf0\x9f\x98\x80", "h\xf0\x9f\x98\x80llo", 5 },
	/* Delete removes all four of its bytes */
	{ "h\xf0\x9f\x98\x80llo" KEY_HOME KEY_RIGHT KEY_DELETE, "hllo", 1 },
	/* 0xFF and a lone continuation byte are dropped */
	{ "a\xff\x80" "b", "ab", 2 },
	/* a character cut short by ASCII: the partial bytes go, the ASCII stays */
	{ "a\xe6\x97" "c", "ac", 2 },
	/* overlong C0 80, surrogate ED A0 80, U+110000 F4 90 80 80: dropped */
	{ "a\xc0\x80\xed\xa0\x80\xf4\x90\x80\x80", "a", 1 },
	/* C1 CSI (C2 9B) would be a control when the line is drawn: dropped */
	{ "a\xc2\x9b" "b", "ab", 2 },
	/* U+00A0, just past C1, is kept */
	{ "\xc2\xa0", "\xc2\xa0", 2 },
	/* a partial character, then ESC: the escape sequence still works */
	{ "ab\xc3" KEY_LEFT, "ab", 1 },
	/* unknown escape sequences insert nothing: Ctrl-Right */
	{ "ab" "\x1b[1;5C", "ab", 2 },
	/* ... F1 */
	{ "ab" "\x1bOP", "ab", 2 },
	/* ... F5 */
	{ "ab" "\x1b[15~", "ab", 2 },
	/* ... Alt-x */
	{ "ab" "\x1bx", "ab", 2 },
	/* ... one longer than the escape buffer, and typing goes on after it */
	{ "a" "\x1b[1;2;3;4;5;6;7;8;9;10m" "b", "ab", 2 },
	/* other control bytes are ignored: BEL, Ctrl-_, Ctrl-L (redraw) */
	{ "a\x07\x1f\x0c" "b", "ab", 2 },
};

START_TEST(test_edit_keys)
{
	struct edit e;

	edit_init(&e, "> ");
	feed(&e, key_vectors[_i].keys);
	ck_assert_str_eq(e.buf, key_vectors[_i].buf);
	ck_assert_uint_eq(e.len, strlen(key_vectors[_i].buf));
	ck_assert_uint_eq(e.cursor, key_vectors[_i].cursor);
	ck_assert_uint_eq(e.esc_len, 0);
	edit_free(&e);
}
END_TEST

/* The keys that end reading a line, and the ones that do nothing. */
START_TEST(test_edit_ctrl_d_ctrl_c)
{
	struct edit e;

	edit_init(&e, "");
	ck_assert_int_eq(key(&e, KEY_CTRL('D')), EDIT_EOF);
	feed(&e, "ab" KEY_HOME);
	ck_assert_int_eq(key(&e, KEY_CTRL('D')), EDIT_NONE);
	ck_assert_str_eq(e.buf, "b");
	ck_assert_int_eq(key(&e, KEY_CTRL('C')), EDIT_INTERRUPT);
	/* Ctrl-C in the middle of an escape sequence still interrupts */
	ck_assert_int_eq(feed(&e, "\x1b["), EDIT_NONE);
	ck_assert_int_eq(key(&e, KEY_CTRL('C')), EDIT_INTERRUPT);
	/* other control bytes are ignored */
	e.dirty = 0;
	ck_assert_int_eq(key(&e, KEY_CTRL('G')), EDIT_NONE);
	ck_assert_int_eq(key(&e, 0), EDIT_NONE);
	ck_assert_str_eq(e.buf, "b");
	ck_assert(!e.dirty);
	/* Ctrl-L changes nothing but asks for a repaint; Ctrl-Z asks to stop */
	ck_assert_int_eq(key(&e, KEY_CTRL('L')), EDIT_REPAINT);
	ck_assert(e.dirty);
	ck_assert_str_eq(e.buf, "b");
	ck_assert_int_eq(key(&e, KEY_CTRL('Z')), EDIT_SUSPEND);
	ck_assert_str_eq(e.buf, "b");
	edit_free(&e);
}
END_TEST

START_TEST(test_edit_line_cap)
{
	struct edit e;
	int i;

	edit_init(&e, "");
	for (i = 0; i < PROTO_LINE_MAX - 1; i++)
		key(&e, 'x');
	/* in the middle of a full line: refused, and said once (EDIT_FULL), not cut in silence */
	key(&e, 'y');
	ck_assert_uint_eq(e.len, PROTO_LINE_MAX);
	feed(&e, KEY_HOME);
	ck_assert_int_eq(key(&e, 'z'), EDIT_FULL);
	ck_assert_int_eq(key(&e, 'z'), EDIT_NONE);
	ck_assert_int_eq(e.buf[0], 'x');
	ck_assert_uint_eq(e.len, PROTO_LINE_MAX);
	/* room again (a character deleted), then full again: said again */
	feed(&e, KEY_DELETE);
	ck_assert_int_eq(key(&e, 'z'), EDIT_NONE);
	ck_assert_int_eq(key(&e, 'z'), EDIT_FULL);
	ck_assert_int_eq(key(&e, '\r'), EDIT_LINE);
	ck_assert_uint_eq(strlen(e.buf), PROTO_LINE_MAX);
	ck_assert(!e.split);
	edit_accept(&e);
	ck_assert_uint_eq(e.len, 0);
	/* a /command is never split (its rest would go elsewhere): refused at the end too */
	key(&e, '/');
	for (i = 0; i < PROTO_LINE_MAX - 1; i++)
		key(&e, 'x');
	ck_assert_int_eq(key(&e, 'y'), EDIT_FULL);
	ck_assert_uint_eq(e.len, PROTO_LINE_MAX);
	edit_free(&e);
}
END_TEST

/*
 * A paste longer than a message: every character arrives, in lines of at
 * most PROTO_LINE_MAX bytes, cut after a space where there is one near the
 * end; a 2-byte character that does not fit whole goes to the next line.
 */
START_TEST(test_edit_paste_split)
{
	static char pasted[3 * PROTO_LINE_MAX], got[3 * PROTO_LINE_MAX];
	struct edit e;
	size_t n = 0, got_len = 0, lines = 0;
	int i;

	/* 4,200 bytes (the paste): words of 9 letters and a space; then one é */
	for (i = 0; n < 4200; i++)
		n += (size_t)snprintf(pasted + n, sizeof pasted - n, "w%08d ", i);
	memcpy(pasted + n, "\xc3\xa9", 3);
	n += 2;
	edit_init(&e, "");
	for (size_t k = 0; k < n; k++) {
		if (key(&e, (unsigned char)pasted[k]) != EDIT_LINE)
			continue;
		ck_assert(e.split);
		ck_assert_uint_le(e.len, PROTO_LINE_MAX);
		ck_assert_uint_ge(e.len, PROTO_LINE_MAX - EDIT_SPLIT_BACK);
		ck_assert_int_ne(e.buf[e.len - 1], ' '); /* cut at a space, which ends neither line */
		memcpy(got + got_len, e.buf, e.len);
		got_len += e.len;
		got[got_len++] = ' ';
		lines++;
		edit_accept(&e);
		ck_assert(!e.split);
	}
	memcpy(got + got_len, e.buf, e.len);
	got_len += e.len;
	ck_assert_uint_eq(lines, 1);
	ck_assert_uint_eq(got_len, n);
	ck_assert(memcmp(got, pasted, n) == 0);
	edit_accept(&e);

	/* no space near the end: cut where it is full, between characters */
	for (i = 0; i < PROTO_LINE_MAX - 1; i++)
		key(&e, 'x');
	ck_assert_int_eq(feed(&e, "\xc3\xa9"), EDIT_LINE);
	ck_assert_uint_eq(e.len, PROTO_LINE_MAX - 1);
	edit_accept(&e);
	ck_assert_str_eq(e.buf, "\xc3\xa9");
	edit_free(&e);
}
END_TEST

/* ------------------------------------------------------------------ editor: history */

START_TEST(test_edit_history)
{
	struct edit e;

	edit_init(&e, "");
	enter_line(&e, "one");
	enter_line(&e, "two");
	enter_line(&e, "three");
	ck_assert_int_eq(e.hist_count, 3);
	feed(&e, "fresh");
	feed(&e, KEY_UP);
	ck_assert_str_eq(e.buf, "three");
	ck_assert_uint_eq(e.cursor, 5);
	feed(&e, KEY_UP);
	ck_assert_str_eq(e.buf, "two");
	feed(&e, KEY_DOWN);
	ck_assert_str_eq(e.buf, "three");
	feed(&e, KEY_DOWN);
	ck_assert_str_eq(e.buf, "fresh"); /* the line being typed comes back */
	ck_assert_uint_eq(e.cursor, 5);
	ck_assert_int_eq(e.hist_pos, -1);
	feed(&e, KEY_DOWN); /* nothing newer */
	ck_assert_str_eq(e.buf, "fresh");
	feed(&e, KEY_UP KEY_UP KEY_UP KEY_UP KEY_UP);
	ck_assert_str_eq(e.buf, "one"); /* stops at the oldest */
	/* Ctrl-N and Ctrl-P browse as well */
	key(&e, KEY_CTRL('N'));
	ck_assert_str_eq(e.buf, "two");
	key(&e, KEY_CTRL('P'));
	ck_assert_str_eq(e.buf, "one");
	/* Enter on a history line sends it; it goes back to the top */
	ck_assert_int_eq(key(&e, '\r'), EDIT_LINE);
	ck_assert_str_eq(e.buf, "one");
	edit_accept(&e);
	ck_assert_int_eq(e.hist_count, 4);
	ck_assert_str_eq(e.hist[0], "one");
	ck_assert_ptr_null(e.hist_saved);
	feed(&e, KEY_UP);
	ck_assert_str_eq(e.buf, "one");
	edit_free(&e);
}
END_TEST

START_TEST(test_edit_history_skips)
{
	struct edit e;

	edit_init(&e, "");
	/* Up with an empty history does nothing */
	feed(&e, "x" KEY_UP);
	ck_assert_str_eq(e.buf, "x");
	ck_assert_int_eq(e.hist_pos, -1);
	key(&e, KEY_CTRL('U'));
	enter_line(&e, "");
	ck_assert_int_eq(e.hist_count, 0); /* empty lines are not kept */
	enter_line(&e, "a");
	enter_line(&e, "a");
	ck_assert_int_eq(e.hist_count, 1); /* nor a repeat of the newest */
	enter_line(&e, "b");
	enter_line(&e, "a");
	ck_assert_int_eq(e.hist_count, 3); /* an older repeat is */
	ck_assert_str_eq(e.hist[0], "a");
	ck_assert_str_eq(e.hist[1], "b");
	ck_assert_str_eq(e.hist[2], "a");
	edit_free(&e);
}
END_TEST

START_TEST(test_edit_history_cap)
{
	struct edit e;
	char line[32];
	int i;

	edit_init(&e, "");
	for (i = 0; i < EDIT_HISTORY + 5; i++) {
		snprintf(line, sizeof line, "line %d", i);
		enter_line(&e, line);
	}
	ck_assert_int_eq(e.hist_count, EDIT_HISTORY);
	snprintf(line, sizeof line, "line %d", EDIT_HISTORY + 4);
	ck_assert_str_eq(e.hist[0], line);
	/* the five oldest were dropped */
	snprintf(line, sizeof line, "line %d", 5);
	ck_assert_str_eq(e.hist[EDIT_HISTORY - 1], line);
	for (i = 0; i < EDIT_HISTORY + 3; i++)
		feed(&e, KEY_UP);
	ck_assert_str_eq(e.buf, line);
	edit_free(&e);
}
END_TEST

/* ------------------------------------------------------------------ editor: completion */

struct name_list {
	const char *const *names;
	int count;
};

static int complete_names(void *ctx, const char **out, int max)
{
	const struct name_list *list = ctx;
	int i;

	for (i = 0; i < list->count && i < max; i++)
		out[i] = list->names[i];
	return i;
}

static const char *const peers[] = { "alice", "bob", "bobby", "carol" };

static void edit_init_peers(struct edit *e, struct name_list *list)
{
	list->names = peers;
	list->count = 4;
	edit_init(e, "");
	e->complete = complete_names;
	e->complete_ctx = list;
}

START_TEST(test_complete_one)
{
	struct name_list list;
	struct edit e;

	edit_init_peers(&e, &list);
	feed(&e, "/msg al\t");
	ck_assert_str_eq(e.buf, "/msg alice ");
	ck_assert_uint_eq(e.cursor, e.len);
	/* the whole name typed already: Tab adds the space */
	key(&e, KEY_CTRL('U'));
	feed(&e, "carol\t");
	ck_assert_str_eq(e.buf, "carol ");
	/* the word before the cursor, with text after it */
	key(&e, KEY_CTRL('U'));
	feed(&e, "hi al, bye" KEY_LEFT KEY_LEFT KEY_LEFT KEY_LEFT KEY_LEFT "\t");
	ck_assert_str_eq(e.buf, "hi alice , bye");
	edit_free(&e);
}
END_TEST

START_TEST(test_complete_several)
{
	struct name_list list;
	struct edit e;

	edit_init_peers(&e, &list);
	feed(&e, "/chat b\t");
	ck_assert_str_eq(e.buf, "/chat bob"); /* bob and bobby share "bob"; no space yet */
	feed(&e, "\t");
	ck_assert_str_eq(e.buf, "/chat bob");
	feed(&e, "b\t");
	ck_assert_str_eq(e.buf, "/chat bobby ");
	edit_free(&e);
}
END_TEST

START_TEST(test_complete_none)
{
	static const char *const odd[] = { "\xc3\xa9mile", "\xc3\xa8ve", "ev\x1b[2Jil" };
	struct name_list list;
	struct edit e;

	edit_init_peers(&e, &list);
	feed(&e, "/msg dave\t");
	ck_assert_str_eq(e.buf, "/msg dave");
	/* émile and ève share the byte C3 only: no half character is inserted */
	list.names = odd;
	list.count = 3;
	key(&e, KEY_CTRL('U'));
	feed(&e, "\t");
	ck_assert_str_eq(e.buf, "");
	/* a name with an ESC in it is never offered */
	feed(&e, "ev\t");
	ck_assert_str_eq(e.buf, "ev");
	/* no completion function: Tab does nothing */
	e.complete = NULL;
	feed(&e, "\t");
	ck_assert_str_eq(e.buf, "ev");
	edit_free(&e);
}
END_TEST

/* ------------------------------------------------------------------ editor: random keys */

/* Bytes the random typist favours: control keys, ESC, escape-sequence bytes, UTF-8 pieces. */
static const unsigned char typist_bytes[] = {
	0x01, 0x02, 0x04, 0x05, 0x06, 0x08, 0x09, 0x0b, 0x0d, 0x0e, 0x10, 0x15, 0x17, 0x7f,
	0x1b, 0x1b, '[', '[', 'A', 'B', 'C', 'D', 'H', 'F', 'O', '3', '~', ' ', 'b', 'o',
	0xc2, 0x9b, 0xc3, 0xa9, 0xe6, 0x97, 0xa5, 0xf0, 0x9f, 0x98, 0x80, 0xff,
	0xcc, 0x81, 0x1a, 0x0c, /* U+0301 (a combining mark), Ctrl-Z, Ctrl-L */
};

/* Property: no key sequence breaks the editor's invariants or puts a control in the line. */
START_TEST(test_edit_random_keys)
{
	struct name_list list;
	struct edit e;
	char screen[PROTO_LINE_MAX + 128];
	enum edit_result r;
	size_t n;
	uint32_t x;
	int round, i;

	rng_state = 0x9e3779b9;
	term_locale_init();
	edit_init_peers(&e, &list);
	for (round = 0; round < 300; round++) {
		for (i = 0; i < 100; i++) {
			x = rng();
			r = key(&e, (x & 1) ? typist_bytes[(x >> 1) % sizeof typist_bytes]
					    : (int)((x >> 8) & 0xff));
			if (r == EDIT_LINE)
				edit_accept(&e);
			ck_assert_uint_le(e.len, PROTO_LINE_MAX);
			ck_assert_uint_eq(strlen(e.buf), e.len);
			ck_assert_uint_le(e.cursor, e.len);
			ck_assert(((unsigned char)e.buf[e.cursor] & 0xc0) != 0x80);
			ck_assert_uint_le(e.esc_len, sizeof e.esc);
			ck_assert(valid_utf8((const unsigned char *)e.buf, e.len));
			ck_assert(no_controls((const unsigned char *)e.buf, e.len));
			ck_assert_int_le(e.hist_count, EDIT_HISTORY);
		}
		n = edit_render(&e, 10 + round % 70, screen, sizeof screen);
		ck_assert_uint_eq(n, strlen(screen));
		ck_assert_int_eq(e.dirty, 0);
	}
	edit_free(&e);
}
END_TEST

/* ------------------------------------------------------------------ render and hide */

START_TEST(test_render_short)
{
	struct edit e;
	char out[128];
	size_t n;

	edit_init(&e, "> ");
	feed(&e, "hello" KEY_LEFT KEY_LEFT);
	ck_assert(e.dirty);
	n = edit_render(&e, 80, out, sizeof out);
	/* CR, prompt, line, erase to end of row, CR, 5 right: after "> hel" */
	ck_assert_str_eq(out, "\r> hello\x1b[K\r\x1b[5C");
	ck_assert_uint_eq(n, strlen(out));
	ck_assert(!e.dirty);
	/* columns count characters, not bytes: é is one */
	feed(&e, KEY_END);
	key(&e, KEY_CTRL('U'));
	feed(&e, "h\xc3\xa9llo" KEY_HOME KEY_RIGHT KEY_RIGHT);
	edit_render(&e, 80, out, sizeof out);
	ck_assert_str_eq(out, "\r> h\xc3\xa9llo\x1b[K\r\x1b[4C");
	/* the cursor in column 0: no move at all */
	edit_set_prompt(&e, "");
	key(&e, KEY_CTRL('A'));
	edit_render(&e, 80, out, sizeof out);
	ck_assert_str_eq(out, "\rh\xc3\xa9llo\x1b[K\r");
	/* an unknown width (0) is taken as 80 */
	edit_render(&e, 0, out, sizeof out);
	ck_assert_str_eq(out, "\rh\xc3\xa9llo\x1b[K\r");
	/* a buffer too small takes whole pieces only: no cut escape sequence */
	n = edit_render(&e, 80, out, 9);
	ck_assert_str_eq(out, "\rh\xc3\xa9llo");
	ck_assert_uint_eq(n, 7);
	edit_free(&e);
}
END_TEST

/* Returns the byte offset in s of the first character that starts at column col or after. */
static size_t offset_at_col(const char *s, size_t col)
{
	size_t off = 0, n = strlen(s), len;

	while (off < n && term_width(s, off) < col) {
		for (len = 1; off + len < n && ((unsigned char)s[off + len] & 0xc0) == 0x80; len++)
			;
		off += len;
	}
	return off;
}

/*
 * Checks one render of a line wider than the screen: the window shown is a
 * piece of the line cut between characters, fits in columns - 1 display
 * columns, and the cursor lands on the column of the character it is on.
 */
static void check_scrolled(struct edit *e, int columns)
{
	char out[PROTO_LINE_MAX + 128], shown[PROTO_LINE_MAX + 1];
	const char *p, *end;
	size_t prompt_w, shown_w, cursor_col, first, off;
	unsigned long col = 0;

	edit_render(e, columns, out, sizeof out);
	ck_assert(strncmp(out, "\r", 1) == 0);
	ck_assert(strncmp(out + 1, e->prompt, strlen(e->prompt)) == 0);
	p = out + 1 + strlen(e->prompt);
	end = strstr(p, "\x1b[K\r");
	ck_assert_ptr_nonnull(end);
	memcpy(shown, p, (size_t)(end - p));
	shown[end - p] = '\0';
	ck_assert(valid_utf8((const unsigned char *)shown, strlen(shown)));
	prompt_w = term_width(e->prompt, strlen(e->prompt));
	shown_w = term_width(shown, strlen(shown));
	ck_assert_uint_le(prompt_w + shown_w, (size_t)columns - 1);
	ck_assert_uint_eq(e->row_cols, prompt_w + shown_w);
	/* the cursor move, if any, ends the output */
	end += 4;
	if (*end) {
		ck_assert_int_eq(sscanf(end, "\x1b[%luC", &col), 1);
		ck_assert(strchr(end, 'C')[1] == '\0');
	}
	ck_assert_uint_eq(e->cursor_x, col);
	ck_assert_uint_ge(col, prompt_w);
	ck_assert_uint_le(col, (size_t)columns - 2);
	/* the window starts at column first of the line, and the cursor is inside it */
	cursor_col = term_width(e->buf, e->cursor);
	ck_assert_uint_ge(cursor_col, col - prompt_w);
	first = cursor_col - (col - prompt_w);
	off = offset_at_col(e->buf, first);
	ck_assert_uint_eq(term_width(e->buf, off), first);
	ck_assert(strncmp(e->buf + off, shown, strlen(shown)) == 0);
	if (e->cursor < e->len)
		ck_assert_uint_lt(cursor_col - first, shown_w); /* on a character shown */
	else
		ck_assert_uint_eq(cursor_col - first, shown_w); /* just after the last one */
}

START_TEST(test_render_scroll)
{
	struct edit e;
	char out[64];
	int i, columns;

	ck_assert_int_eq(term_locale_init(), 1);
	edit_init(&e, "> ");
	/* 90 characters, one in three a 2-byte é and one in five a 3-byte, 2-column 日 */
	for (i = 0; i < 90; i++) {
		if (i % 3 == 0)
			feed(&e, "\xc3\xa9");
		else if (i % 5 == 0)
			feed(&e, "\xe6\x97\xa5");
		else
			key(&e, 'a' + i % 26);
	}
	for (columns = 10; columns <= 40; columns += 15) {
		feed(&e, KEY_END);
		check_scrolled(&e, columns);
		feed(&e, KEY_HOME);
		for (i = 0; i < 90; i++) {
			check_scrolled(&e, columns);
			feed(&e, KEY_RIGHT);
		}
	}
	/* a prompt wider than half the screen is cut to half: the line has the rest */
	edit_set_prompt(&e, "0123456789> ");
	feed(&e, KEY_HOME);
	edit_render(&e, 9, out, sizeof out);
	ck_assert_str_eq(out, "\r0123\xc3\xa9" "bc\xc3\xa9\x1b[K\r\x1b[4C");
	ck_assert_uint_eq(e.row_cols, 8);
	edit_free(&e);
}
END_TEST

START_TEST(test_render_prompt)
{
	struct edit e;
	char out[256], longer[EDIT_PROMPT_MAX + 10];

	/* a prompt is sanitized: a peer's name in it cannot reach the terminal raw */
	edit_init(&e, "\x1b[31m> ");
	edit_render(&e, 80, out, sizeof out);
	ck_assert_str_eq(out, "\r^[[31m> \x1b[K\r\x1b[8C");
	/* and cut to EDIT_PROMPT_MAX bytes */
	memset(longer, 'p', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	e.dirty = 0;
	edit_set_prompt(&e, longer);
	ck_assert(e.dirty);
	ck_assert_uint_eq(strlen(e.prompt), EDIT_PROMPT_MAX);
	edit_free(&e);
}
END_TEST

START_TEST(test_hide)
{
	struct edit e;
	char out[16];

	edit_init(&e, "> ");
	feed(&e, "typing");
	edit_render(&e, 80, out, sizeof out);
	ck_assert(!e.dirty);
	ck_assert_uint_eq(edit_hide(&e, out, sizeof out), 4);
	ck_assert_str_eq(out, "\r\x1b[K");
	ck_assert(e.dirty);
	ck_assert_str_eq(e.buf, "typing");
	/* too small: nothing, never half a sequence */
	ck_assert_uint_eq(edit_hide(&e, out, 4), 0);
	ck_assert_str_eq(out, "");
	edit_free(&e);
}
END_TEST

/* ------------------------------------------------------------------ display width */

/* The line: 你好 and 😀 take two columns each, x one: 7 in all. */
#define WIDE_LINE "\xe4\xbd\xa0\xe5\xa5\xbd\xf0\x9f\x98\x80x"

START_TEST(test_width_chars)
{
	ck_assert_int_eq(term_locale_init(), 1); /* C.UTF-8 at least, which glibc always has */
	ck_assert_int_eq(term_char_width('a'), 1);
	ck_assert_int_eq(term_char_width(0x4e2d), 2);  /* 中 */
	ck_assert_int_eq(term_char_width(0x1f600), 2); /* 😀 */
	ck_assert_int_eq(term_char_width(0x0301), 0);  /* combining acute */
	ck_assert_int_eq(term_char_width(0x200d), 0);  /* zero width joiner */
	ck_assert_int_eq(term_char_width(0xe9), 1);    /* é */
	ck_assert_uint_eq(term_width(WIDE_LINE, strlen(WIDE_LINE)), 7);
	/* e and a combining acute: one column */
	ck_assert_uint_eq(term_width("e\xcc\x81", 3), 1);
	/* our own SGR sequences take none; an invalid byte one */
	ck_assert_uint_eq(term_width("\033[2m[14:05]\033[0m \033[38;5;37m<bob>", 31), 13);
	ck_assert_uint_eq(term_width("a\xff", 2), 2);
	ck_assert_int_eq(term_rows_for(0, 80), 1);
	ck_assert_int_eq(term_rows_for(80, 80), 1);
	ck_assert_int_eq(term_rows_for(81, 80), 2);
	ck_assert_int_eq(term_rows_for(319, 100), 4);
}
END_TEST

START_TEST(test_width_fit)
{
	size_t cols;

	term_locale_init();
	/* 你好 fits in 4 columns and in 5, not a half of 😀 */
	ck_assert_uint_eq(term_fit(WIDE_LINE, strlen(WIDE_LINE), 4, &cols), 6);
	ck_assert_uint_eq(cols, 4);
	ck_assert_uint_eq(term_fit(WIDE_LINE, strlen(WIDE_LINE), 5, &cols), 6);
	ck_assert_uint_eq(cols, 4);
	ck_assert_uint_eq(term_fit(WIDE_LINE, strlen(WIDE_LINE), 99, &cols), strlen(WIDE_LINE));
	ck_assert_uint_eq(cols, 7);
	/* a combining mark stays with the character before the cut */
	ck_assert_uint_eq(term_fit("ae\xcc\x81z", 5, 2, &cols), 4);
	ck_assert_uint_eq(cols, 2);
	/* an SGR sequence is never cut */
	ck_assert_uint_eq(term_fit("ab\033[2mcd", 8, 2, NULL), 6);
}
END_TEST

/* The cursor lands right after 你好😀x: column 5 + 7 = 12 after "bob> ", not 9. */
START_TEST(test_render_wide)
{
	struct edit e;
	char out[256];

	term_locale_init();
	edit_init(&e, "bob> ");
	feed(&e, WIDE_LINE);
	edit_render(&e, 100, out, sizeof out);
	ck_assert_str_eq(out, "\rbob> " WIDE_LINE "\x1b[K\r\x1b[12C");
	ck_assert_uint_eq(e.cursor_x, 12);
	ck_assert_uint_eq(e.row_cols, 12);
	/* Left steps over x, then over 😀 (two columns at once) */
	feed(&e, KEY_LEFT KEY_LEFT);
	edit_render(&e, 100, out, sizeof out);
	ck_assert_uint_eq(e.cursor_x, 9);
	/* e and a combining mark are one step, and one column */
	key(&e, KEY_CTRL('U'));
	feed(&e, KEY_END);
	key(&e, KEY_CTRL('U'));
	feed(&e, "e\xcc\x81t" KEY_LEFT KEY_LEFT);
	ck_assert_uint_eq(e.cursor, 0);
	edit_render(&e, 100, out, sizeof out);
	ck_assert_uint_eq(e.cursor_x, 5);
	feed(&e, KEY_RIGHT);
	ck_assert_uint_eq(e.cursor, 3);
	key(&e, 0x7f); /* Backspace takes the mark with its letter */
	ck_assert_str_eq(e.buf, "t");
	edit_free(&e);
}
END_TEST

/* 70 x 中 (140 columns) on 100: one row that never reaches the last column, cursor inside. */
START_TEST(test_render_wide_long)
{
	struct edit e;
	char out[1024];
	const char *shown;
	int i;

	term_locale_init();
	edit_init(&e, "bob> ");
	for (i = 0; i < 70; i++)
		feed(&e, "\xe4\xb8\xad");
	edit_render(&e, 100, out, sizeof out);
	shown = out + 1;
	ck_assert_uint_le(term_width(shown, (size_t)(strstr(shown, "\x1b[K") - shown)), 99);
	ck_assert_uint_le(e.row_cols, 99);
	ck_assert_uint_le(e.cursor_x, 98);
	ck_assert_uint_eq(e.cursor_x % 2, 1); /* after "bob> " (5) and whole 中s */
	for (i = 0; i < 70; i++) {
		check_scrolled(&e, 100);
		check_scrolled(&e, 11);
		feed(&e, KEY_LEFT);
	}
	edit_free(&e);
}
END_TEST

/* ------------------------------------------------------------------ the screen */

/* bob and carol had the same colour (the issue): no more, with 12 colours or 256. */
START_TEST(test_screen_colors)
{
	static const char *const names[] = { "alice", "bob", "carol", "dave", "eve", "fay",
					     "kim", "lee", "ann", "ben" };
	int seen[256] = { 0 }, distinct = 0, c, palette;

	for (palette = 0; palette <= 1; palette++) {
		ck_assert_int_ne(screen_name_color("bob", 3, palette),
				 screen_name_color("carol", 5, palette));
		ck_assert_int_ne(screen_name_color("alice", 5, palette),
				 screen_name_color("bob", 3, palette));
		/* the same every time */
		ck_assert_int_eq(screen_name_color("bob", 3, palette),
				 screen_name_color("bob", 3, palette));
	}
	/* ten names get at least eight colours of the 256 */
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		c = screen_name_color(names[i], strlen(names[i]), 1);
		ck_assert_int_ge(c, 16);
		ck_assert_int_le(c, 231);
		distinct += !seen[c];
		seen[c] = 1;
	}
	ck_assert_int_ge(distinct, 8);
	c = screen_name_color("carol", 5, 0);
	ck_assert((c >= 31 && c <= 36) || (c >= 91 && c <= 96));
}
END_TEST

START_TEST(test_screen_format)
{
	struct screen s;
	char out[256], sgr[32];

	screen_init(&s, 0, 0);
	/* plain: no time, no colour; the marks as words */
	screen_format(&s, "14:05", "<alice> hi", SCREEN_PLAIN, out, sizeof out);
	ck_assert_str_eq(out, "<alice> hi");
	screen_format(&s, "14:05", "<alice> hi", SCREEN_PENDING, out, sizeof out);
	ck_assert_str_eq(out, "<alice> hi (pending)");
	screen_format(&s, "14:05", "* alice waves", SCREEN_FAILED, out, sizeof out);
	ck_assert_str_eq(out, "* alice waves (not delivered)");
	/* colour: a dim time, the name in its colour, the text plain */
	s.color = 1;
	s.colors256 = 1;
	screen_format(&s, "14:05", "<bob> hi", SCREEN_PLAIN, out, sizeof out);
	snprintf(sgr, sizeof sgr, "\033[38;5;%dm", screen_name_color("bob", 3, 1));
	ck_assert(strncmp(out, "\033[2m[14:05]\033[0m ", 16) == 0);
	ck_assert(strncmp(out + 16, sgr, strlen(sgr)) == 0);
	ck_assert_str_eq(out + 16 + strlen(sgr), "<bob>\033[0m hi\033[0m");
	/* an event is dim; a failed line says so in bold red */
	screen_format(&s, NULL, "* bob is offline", SCREEN_PLAIN, out, sizeof out);
	ck_assert_str_eq(out, "\033[2m* bob is offline\033[0m");
	screen_format(&s, NULL, "<alice> hi", SCREEN_FAILED, out, sizeof out);
	ck_assert_str_eq(out, "<alice> hi\033[0m\033[1;31m (not delivered)\033[0m");
	/* too small: cut between characters, still a string */
	s.color = 0;
	screen_format(&s, NULL, "<alice> \xc3\xa9\xc3\xa9\xc3\xa9", SCREEN_PLAIN, out, 60);
	ck_assert(valid_utf8((const unsigned char *)out, strlen(out)));
	ck_assert_uint_lt(strlen(out), 60);
	screen_free(&s);
}
END_TEST

/* Own lines wait in the area, one row each, and leave it when taken. */
START_TEST(test_screen_area)
{
	struct screen s;
	struct screen_own own;
	struct edit e;
	char out[4096], longer[400];

	term_locale_init();
	screen_init(&s, 0, 0);
	edit_init(&e, "bob> ");
	feed(&e, "typing");
	ck_assert_int_eq(screen_own_add(&s, 7, "14:05", "<alice> first"), 0);
	memset(longer, 'w', sizeof longer - 1);
	memcpy(longer, "<alice> ", 8);
	longer[sizeof longer - 1] = '\0';
	ck_assert_int_eq(screen_own_add(&s, 8, "14:05", longer), 0);
	screen_draw(&s, &e, 60, 24, out, sizeof out);
	/* the long one is cut to the row with "..." and keeps its mark; then the input line */
	ck_assert(strncmp(out, "<alice> first (pending)\r\n<alice> www", 36) == 0);
	ck_assert_ptr_nonnull(strstr(out, "www... (pending)\r\n\rbob> typing\x1b[K\r\x1b[11C"));
	ck_assert_int_eq(s.nrows, 2);
	ck_assert_uint_eq(s.row_cols[0], 23);
	ck_assert_uint_eq(s.row_cols[1], 59);
	/* hiding goes up the two rows and erases down */
	screen_hide(&s, 60, out, sizeof out);
	ck_assert_str_eq(out, "\r\x1b[2A\x1b[J");
	/* not drawn: nothing to go up */
	screen_hide(&s, 60, out, sizeof out);
	ck_assert_str_eq(out, "\r\x1b[J");
	/* taken: out of the area, to the caller */
	ck_assert_int_eq(screen_own_take(&s, 7, &own), 0);
	ck_assert_str_eq(own.line, "<alice> first");
	ck_assert_str_eq(own.stamp, "14:05");
	free(own.line);
	ck_assert_int_eq(screen_own_take(&s, 7, &own), -1);
	screen_draw(&s, &e, 60, 24, out, sizeof out);
	ck_assert_int_eq(s.nrows, 1);
	screen_free(&s);
	edit_free(&e);
}
END_TEST

/*
 * The window shrank from 100 to 40 columns: a terminal that rewraps spread
 * the 59-column pending row over 2 rows and the input row, cursor at
 * column 95, over 3, the cursor on the last: hiding must go up 2 + 2.
 */
START_TEST(test_screen_hide_after_shrink)
{
	struct screen s;
	struct edit e;
	char out[8192];
	int i;

	term_locale_init();
	screen_init(&s, 0, 0);
	edit_init(&e, "bob> ");
	for (i = 0; i < 90; i++)
		key(&e, 'a' + i % 26);
	for (i = 0; i < 51; i++)
		key(&e, 'x');
	screen_own_add(&s, 1, "", "<alice> a line of fifty-nine columns, cut to the row............");
	screen_draw(&s, &e, 60, 24, out, sizeof out);
	ck_assert_uint_eq(s.row_cols[0], 59);
	ck_assert_uint_eq(s.input_cursor_x, e.cursor_x);
	/* the same width: one row up */
	screen_hide(&s, 60, out, sizeof out);
	ck_assert_str_eq(out, "\r\x1b[1A\x1b[J");
	/* drawn at 100 with the cursor at column 95 (as at the end of a long line) */
	screen_draw(&s, &e, 100, 24, out, sizeof out);
	s.row_cols[0] = 59;
	s.input_cursor_x = 95;
	screen_hide(&s, 40, out, sizeof out);
	ck_assert_str_eq(out, "\r\x1b[4A\x1b[J");
	screen_free(&s);
	edit_free(&e);
}
END_TEST

/* A short screen: a third of its rows at most, the rest counted on one row. */
START_TEST(test_screen_many_pending)
{
	struct screen s;
	struct edit e;
	char out[8192], line[32];
	uint32_t id;

	screen_init(&s, 0, 0);
	edit_init(&e, "> ");
	for (id = 1; id <= 12; id++) {
		snprintf(line, sizeof line, "<alice> line %u", (unsigned)id);
		ck_assert_int_eq(screen_own_add(&s, id, "", line), 0);
	}
	screen_draw(&s, &e, 80, 12, out, sizeof out); /* 12 rows: 4 for the area */
	ck_assert_int_eq(s.nrows, 4);
	ck_assert_ptr_nonnull(strstr(out, "<alice> line 3 (pending)\r\n* 9 more pending\r\n\r> "));
	ck_assert_ptr_null(strstr(out, "line 4"));
	screen_draw(&s, &e, 80, 100, out, sizeof out);
	ck_assert_int_eq(s.nrows, SCREEN_PENDING_ROWS);
	screen_draw(&s, &e, 80, 2, out, sizeof out); /* no room: the input line alone */
	ck_assert_int_eq(s.nrows, 0);
	ck_assert_str_eq(out, "\r> \x1b[K\r\x1b[2C");
	screen_free(&s);
	edit_free(&e);
}
END_TEST

/* ------------------------------------------------------------------ raw mode */

START_TEST(test_raw_not_a_tty)
{
	int fd = open("/dev/null", O_RDWR);

	ck_assert_int_ge(fd, 0);
	errno = 0;
	ck_assert_int_eq(term_raw_enable(fd), -1);
	ck_assert_int_eq(errno, ENOTTY);
	ck_assert_int_eq(term_columns(fd), 80);
	term_raw_restore(); /* nothing was saved: does nothing */
	close(fd);
}
END_TEST

/* A pseudo-terminal stands in for the user's: raw mode on, then off again. */
START_TEST(test_raw_pty)
{
	struct termios before, raw, after;
	struct winsize ws;
	int master, slave;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	ck_assert_int_ge(master, 0);
	ck_assert_int_eq(grantpt(master), 0);
	ck_assert_int_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	ck_assert_int_ge(slave, 0);

	ck_assert_int_eq(tcgetattr(slave, &before), 0);
	ck_assert(before.c_lflag & ECHO);
	ck_assert(before.c_lflag & ICANON);
	ck_assert_int_eq(term_raw_enable(slave), 0);
	ck_assert_int_eq(tcgetattr(slave, &raw), 0);
	ck_assert(!(raw.c_lflag & (ECHO | ICANON | ISIG | IEXTEN)));
	ck_assert(!(raw.c_iflag & (ICRNL | IXON)));
	ck_assert(raw.c_oflag & OPOST); /* "\n" still starts a new row */
	ck_assert_int_eq(raw.c_cc[VMIN], 1);
	ck_assert_int_eq(raw.c_cc[VTIME], 0);

	/* enabling twice must not save the raw settings as the old ones */
	ck_assert_int_eq(term_raw_enable(slave), 0);
	term_raw_restore();
	ck_assert_int_eq(tcgetattr(slave, &after), 0);
	ck_assert_uint_eq(after.c_lflag, before.c_lflag);
	ck_assert_uint_eq(after.c_iflag, before.c_iflag);
	term_raw_restore(); /* twice is harmless */
	ck_assert_int_eq(tcgetattr(slave, &after), 0);
	ck_assert_uint_eq(after.c_lflag, before.c_lflag);

	memset(&ws, 0, sizeof ws);
	ws.ws_row = 24;
	ws.ws_col = 123;
	ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &ws), 0);
	ck_assert_int_eq(term_columns(slave), 123);
	ws.ws_col = 0; /* a terminal that does not know its width */
	ck_assert_int_eq(ioctl(master, TIOCSWINSZ, &ws), 0);
	ck_assert_int_eq(term_columns(slave), 80);
	close(slave);
	close(master);
}
END_TEST

static Suite *term_suite(void)
{
	Suite *s = suite_create("term");
	TCase *tc;

	tc = tcase_create("sanitize");
	tcase_add_loop_test(tc, test_sanitize_vectors, 0,
			    (int)(sizeof sanitize_vectors / sizeof sanitize_vectors[0]));
	tcase_add_test(tc, test_sanitize_small_cap);
	tcase_add_test(tc, test_sanitize_random);
	suite_add_tcase(s, tc);

	tc = tcase_create("edit");
	tcase_add_test(tc, test_edit_type_enter);
	tcase_add_loop_test(tc, test_edit_keys, 0,
			    (int)(sizeof key_vectors / sizeof key_vectors[0]));
	tcase_add_test(tc, test_edit_ctrl_d_ctrl_c);
	tcase_add_test(tc, test_edit_line_cap);
	tcase_add_test(tc, test_edit_paste_split);
	tcase_add_test(tc, test_edit_history);
	tcase_add_test(tc, test_edit_history_skips);
	tcase_add_test(tc, test_edit_history_cap);
	tcase_add_test(tc, test_complete_one);
	tcase_add_test(tc, test_complete_several);
	tcase_add_test(tc, test_complete_none);
	tcase_add_test(tc, test_edit_random_keys);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, test_render_short);
	tcase_add_test(tc, test_render_scroll);
	tcase_add_test(tc, test_render_prompt);
	tcase_add_test(tc, test_hide);
	suite_add_tcase(s, tc);

	tc = tcase_create("width");
	tcase_add_test(tc, test_width_chars);
	tcase_add_test(tc, test_width_fit);
	tcase_add_test(tc, test_render_wide);
	tcase_add_test(tc, test_render_wide_long);
	suite_add_tcase(s, tc);

	tc = tcase_create("screen");
	tcase_add_test(tc, test_screen_colors);
	tcase_add_test(tc, test_screen_format);
	tcase_add_test(tc, test_screen_area);
	tcase_add_test(tc, test_screen_hide_after_shrink);
	tcase_add_test(tc, test_screen_many_pending);
	suite_add_tcase(s, tc);

	tc = tcase_create("raw");
	tcase_add_test(tc, test_raw_not_a_tty);
	tcase_add_test(tc, test_raw_pty);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(term_suite());
}
