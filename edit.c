/* edit.c - the one-line editor: UTF-8 aware keys, history, Tab completion, redraw. */
#include "edit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "term.h"
#include "utf8.h"

#define EDIT_COMPLETE_MAX 64 /* names one Tab press looks at */

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
	ACT_REPAINT,
	ACT_SUSPEND,
};

/* Returns the columns of the character at buf[pos] (the buffer holds valid UTF-8 only). */
static int width_at(const struct edit *e, size_t pos)
{
	uint32_t cp;

	if (utf8_decode((const unsigned char *)e->buf + pos, e->len - pos, &cp) <= 0)
		return 1;
	return term_char_width(cp);
}

/* The start of the character before pos, a character starting at any non-continuation byte. */
static size_t code_prev(const struct edit *e, size_t pos)
{
	if (pos > 0)
		pos--;
	while (pos > 0 && utf8_is_continuation((unsigned char)e->buf[pos]))
		pos--;
	return pos;
}

static size_t code_next(const struct edit *e, size_t pos)
{
	if (pos < e->len)
		pos++;
	while (pos < e->len && utf8_is_continuation((unsigned char)e->buf[pos]))
		pos++;
	return pos;
}

/*
 * One cursor step: a character and the zero-width ones after it (combining
 * marks, joiners, variation selectors), which draw on it and have no
 * column of their own to put the cursor on.
 */
static size_t char_prev(const struct edit *e, size_t pos)
{
	pos = code_prev(e, pos);
	while (pos > 0 && width_at(e, pos) == 0)
		pos = code_prev(e, pos);
	return pos;
}

static size_t char_next(const struct edit *e, size_t pos)
{
	pos = code_next(e, pos);
	while (pos < e->len && width_at(e, pos) == 0)
		pos = code_next(e, pos);
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

/*
 * s[0..n) did not fit. At the end of a plain line (not a /command, whose
 * rest would go elsewhere), the line is split: EDIT_LINE returns what fits,
 * cut after the last space near the end, and the rest with s starts the
 * next line (edit_accept). Elsewhere the key is refused, with EDIT_FULL for
 * the first refused so the caller says it once: never cut in silence.
 */
static enum edit_result edit_overflow(struct edit *e, const char *s, size_t n)
{
	size_t cut = e->len, back = 0;

	if (e->cursor != e->len || e->buf[0] == '/' || n > sizeof e->carry - EDIT_SPLIT_BACK) {
		if (e->refused)
			return EDIT_NONE;
		e->refused = 1;
		return EDIT_FULL;
	}
	while (back < EDIT_SPLIT_BACK && back < e->len && e->buf[e->len - 1 - back] != ' ')
		back++;
	if (back < EDIT_SPLIT_BACK && back < e->len)
		cut = e->len - back; /* just after the space */
	memcpy(e->carry, e->buf + cut, e->len - cut);
	memcpy(e->carry + (e->len - cut), s, n);
	e->carry_len = e->len - cut + n;
	/* the spaces the line was split at end neither line */
	while (cut > 1 && e->buf[cut - 1] == ' ')
		cut--;
	e->buf[cut] = '\0';
	e->len = cut;
	e->cursor = cut;
	e->split = 1;
	e->dirty = 1;
	return EDIT_LINE;
}

/* Inserts s[0..n), a whole character, as typed; a full line is split or the key refused. */
static enum edit_result edit_type(struct edit *e, const char *s, size_t n)
{
	if (edit_insert(e, s, n) == 0) {
		e->refused = 0; /* room again: the next refusal is said again */
		return EDIT_NONE;
	}
	return edit_overflow(e, s, n);
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
		if (len <= 0 || !utf8_printable(cp))
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
	while (common > word_len && utf8_is_continuation((unsigned char)match[common]))
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
	case 0x0c: return ACT_REPAINT;        /* Ctrl-L */
	case 0x0e: return ACT_NEWER;          /* Ctrl-N */
	case 0x10: return ACT_OLDER;          /* Ctrl-P */
	case 0x15: return ACT_KILL_START;     /* Ctrl-U */
	case 0x17: return ACT_KILL_WORD;      /* Ctrl-W */
	case 0x1a: return ACT_SUSPEND;        /* Ctrl-Z */
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
	case ACT_REPAINT:
		e->dirty = 1;
		return EDIT_REPAINT;
	case ACT_SUSPEND:
		e->dirty = 1;
		return EDIT_SUSPEND;
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
		return utf8_is_continuation(byte) ? EDIT_NONE : edit_key(e, byte);
	/* C1 controls would reach the terminal when the line is drawn: leave them out. */
	if (utf8_printable(cp))
		return edit_type(e, e->esc, (size_t)len);
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
	if (byte >= 0x20 && byte != 0x7f)
		return edit_type(e, (const char *)&byte, 1);
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
	e->refused = 0;
	e->split = 0;
	edit_replace(e, "");
	if (e->carry_len > 0) {
		/* carry is at most EDIT_SPLIT_BACK + 4 bytes: it fits an empty line */
		edit_insert(e, e->carry, e->carry_len);
		e->carry_len = 0;
	}
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

/* Returns the columns of buf[from..to). */
static size_t cols_between(const struct edit *e, size_t from, size_t to)
{
	return term_width(e->buf + from, to - from);
}

size_t edit_render(struct edit *e, int columns, char *out, size_t cap)
{
	struct sink o = { out, cap, 0, 0 };
	size_t prompt_len, prompt_w, cursor_col, need, width, step, first = 0;
	size_t from = 0, from_col = 0, to, shown = 0, next, w, x;
	char move[32];

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (columns <= 0)
		columns = TERM_DEFAULT_COLUMNS;
	/* A prompt takes at most half the row (a long name on a narrow screen), the line the rest. */
	prompt_len = term_fit(e->prompt, strlen(e->prompt), (size_t)(columns - 1) / 2, &prompt_w);
	/* Use columns - 1 at most: writing the last column makes some terminals wrap. */
	width = (size_t)columns - 1 > prompt_w ? (size_t)columns - 1 - prompt_w : 1;
	cursor_col = cols_between(e, 0, e->cursor);
	/* The last column the character under the cursor needs (a wide one two). */
	need = cursor_col;
	if (e->cursor < e->len && (w = cols_between(e, e->cursor, char_next(e, e->cursor))) > 1)
		need += w - 1;
	/*
	 * Scroll in steps of half the width: the first column shown is the
	 * smallest multiple of step that keeps the cursor inside the window.
	 * So the view stays put while the cursor moves within it, and needs no
	 * state of its own.
	 */
	if (need >= width) {
		step = width / 2 > 0 ? width / 2 : 1;
		first = (need - width + step) / step * step;
		if (first > cursor_col)
			first = cursor_col;
	}
	/* The window starts at the first character that starts at or after column first. */
	while (from < e->len && from_col < first) {
		next = char_next(e, from);
		from_col += cols_between(e, from, next);
		from = next;
	}
	to = from;
	while (to < e->len) {
		next = char_next(e, to);
		w = cols_between(e, to, next);
		if (shown + w > width)
			break;
		shown += w;
		to = next;
	}

	sink_put(&o, "\r", 1);
	sink_put(&o, e->prompt, prompt_len);
	sink_put(&o, e->buf + from, to - from);
	sink_put(&o, "\x1b[K\r", 4);
	x = prompt_w + cursor_col - from_col;
	if (x > 0) {
		snprintf(move, sizeof move, "\x1b[%zuC", x);
		sink_put(&o, move, strlen(move));
	}
	e->row_cols = prompt_w + shown;
	e->cursor_x = x;
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
