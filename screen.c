/* screen.c - the interactive client's screen: lines printed above the input line, your own lines until delivered, name colours. */
#include "screen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "term.h"
#include "utf8.h"

#define SGR_RESET "\033[0m"
#define SGR_DIM "\033[2m"
#define SGR_FAILED "\033[1;31m" /* bold red: a line that did not arrive must be seen */

#define MARK_PENDING " (pending)"
#define MARK_FAILED " (not delivered)"
#define SCREEN_MARK_ROOM 48 /* bytes kept after the text for the mark and its SGR sequences */

/*
 * Name colours, picked to be told apart. The basic set is the six colours
 * of SGR 31..36 and their bright forms 91..96 (white and black are the
 * text and the background). The 256-colour set comes from the 6x6x6 cube
 * (index 16 + 36r + 6g + b), levels 1..4 of 5 only, so that none is too
 * dark on black or too light on white, and around the hue circle in steps.
 */
static const uint8_t basic_colors[] = { 31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96 };
static const uint8_t cube_colors[] = {
	160, 166, 172, 178, 142, 106, 70,  34,  35,  36,  37,  38,
	32,  33,  62,  99,  135, 171, 170, 169, 168, 131, 137, 67,
};

void screen_init(struct screen *s, int color, int colors256)
{
	memset(s, 0, sizeof(*s));
	s->color = color;
	s->colors256 = colors256;
}

void screen_free(struct screen *s)
{
	for (size_t i = 0; i < s->nown; i++)
		free(s->own[i].line);
	s->nown = 0;
}

int screen_own_add(struct screen *s, uint32_t id, const char *stamp, const char *line)
{
	struct screen_own *o;

	if (s->nown == SCREEN_OWN_MAX)
		return -1;
	o = &s->own[s->nown];
	o->line = strdup(line);
	if (o->line == NULL)
		return -1;
	o->id = id;
	o->status = 0;
	snprintf(o->stamp, sizeof(o->stamp), "%s", stamp);
	s->nown++;
	return 0;
}

int screen_status(struct screen *s, uint32_t id, const char *line)
{
	struct screen_own old;

	if (screen_own_take(s, id, &old) == 0)
		free(old.line);
	if (line == NULL)
		return 0;
	if (screen_own_add(s, id, "", line) < 0)
		return -1;
	s->own[s->nown - 1].status = 1;
	return 0;
}

int screen_own_take(struct screen *s, uint32_t id, struct screen_own *out)
{
	for (size_t i = 0; i < s->nown; i++) {
		if (s->own[i].id != id)
			continue;
		*out = s->own[i];
		memmove(&s->own[i], &s->own[i + 1], (s->nown - i - 1) * sizeof(s->own[0]));
		s->nown--;
		return 0;
	}
	return -1;
}

int screen_name_color(const char *name, size_t len, int colors256)
{
	uint32_t h = 2166136261u; /* FNV-1a, 32 bits */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	/* FNV-1a's low bits follow the last byte closely: fold the high ones in. */
	h ^= h >> 16;
	if (colors256)
		return cube_colors[h % sizeof(cube_colors)];
	return basic_colors[h % sizeof(basic_colors)];
}

/* An output buffer that takes whole pieces or nothing, so no escape sequence is ever cut. */
struct out {
	char *buf;
	size_t cap, len;
	int full;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->cap == 0 || n >= o->cap - o->len) {
		o->full = 1;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Puts the SGR sequence that starts the colour of the name in line[1..end). */
static void put_name_color(struct out *o, const struct screen *s, const char *name, size_t len)
{
	char sgr[24];
	int c = screen_name_color(name, len, s->colors256);

	if (s->colors256)
		snprintf(sgr, sizeof(sgr), "\033[38;5;%dm", c);
	else
		snprintf(sgr, sizeof(sgr), "\033[%dm", c);
	puts_(o, sgr);
}

size_t screen_format(const struct screen *s, const char *stamp, const char *line,
		     enum screen_mark mark, char *out, size_t cap)
{
	struct out o = { out, cap, 0, 0 };
	const char *end = line[0] == '<' ? strchr(line, '>') : NULL;
	size_t len;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (s->color && stamp != NULL && stamp[0] != '\0') {
		puts_(&o, SGR_DIM "[");
		puts_(&o, stamp);
		puts_(&o, "]" SGR_RESET " ");
	}
	if (s->color && end != NULL && mark == SCREEN_PLAIN) {
		put_name_color(&o, s, line + 1, (size_t)(end - line - 1));
		put(&o, line, (size_t)(end - line + 1));
		puts_(&o, SGR_RESET);
		line = end + 1;
	} else if (s->color && (line[0] == '*' || mark == SCREEN_PENDING)) {
		puts_(&o, SGR_DIM);
	}
	/* The text: whole characters as long as they fit, with room for the mark after it. */
	len = strlen(line);
	if (!o.full && len + SCREEN_MARK_ROOM >= o.cap - o.len) {
		len = o.cap - o.len > SCREEN_MARK_ROOM ? o.cap - o.len - SCREEN_MARK_ROOM : 0;
		while (len > 0 && utf8_is_continuation((unsigned char)line[len]))
			len--;
	}
	put(&o, line, len);
	if (mark == SCREEN_PENDING)
		puts_(&o, MARK_PENDING);
	if (s->color)
		puts_(&o, SGR_RESET);
	if (mark == SCREEN_FAILED) {
		if (s->color)
			puts_(&o, SGR_FAILED MARK_FAILED SGR_RESET);
		else
			puts_(&o, MARK_FAILED);
	}
	return o.len;
}

size_t screen_hide(struct screen *s, int columns, char *out, size_t cap)
{
	struct out o = { out, cap, 0, 0 };
	char up[24];
	size_t rows = 0;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (s->drawn) {
		for (int i = 0; i < s->nrows; i++)
			rows += (size_t)term_rows_for(s->row_cols[i], columns);
		/* rows the input row spread over above the cursor */
		rows += s->input_cursor_x / (size_t)(columns > 0 ? columns : TERM_DEFAULT_COLUMNS);
	}
	puts_(&o, "\r");
	if (rows > 0) {
		snprintf(up, sizeof(up), "\033[%zuA", rows);
		puts_(&o, up);
	}
	puts_(&o, "\033[J");
	s->drawn = 0;
	return o.len;
}

/*
 * Puts one pending own line as one row of at most `avail` columns: the
 * "[stamp] " in colour mode, what fits of the line, "..." when it was cut,
 * then " (pending)". Returns its columns.
 */
static size_t put_pending_row(struct out *o, const struct screen *s, const struct screen_own *own,
			      size_t avail)
{
	char stamp[16] = "";
	size_t mark_w = own->status ? 0 : strlen(MARK_PENDING), stamp_w, n = strlen(own->line), len, cols;

	if (s->color && own->stamp[0] != '\0')
		snprintf(stamp, sizeof(stamp), "[%s] ", own->stamp);
	stamp_w = strlen(stamp);
	if (avail < mark_w + stamp_w + 8) {
		mark_w = 0; /* a very narrow screen: the line alone, dim in colour */
		stamp[0] = '\0';
		stamp_w = 0;
	}
	avail -= mark_w + stamp_w;
	len = term_fit(own->line, n, avail, &cols);
	if (len < n && avail > 3)
		len = term_fit(own->line, n, avail - 3, &cols); /* room for "..." */
	if (s->color)
		puts_(o, SGR_DIM);
	puts_(o, stamp);
	put(o, own->line, len);
	if (len < n) {
		puts_(o, "...");
		cols += 3;
	}
	if (mark_w > 0)
		puts_(o, MARK_PENDING);
	if (s->color)
		puts_(o, SGR_RESET);
	return stamp_w + cols + mark_w;
}

size_t screen_draw(struct screen *s, struct edit *e, int columns, int lines, char *out,
		   size_t cap)
{
	struct out o = { out, cap, 0, 0 };
	char more[64];
	int max_rows, shown, i;
	size_t avail, n;

	if (cap == 0)
		return 0;
	out[0] = '\0';
	if (columns <= 0)
		columns = TERM_DEFAULT_COLUMNS;
	avail = columns > 1 ? (size_t)columns - 1 : 1;
	max_rows = lines / 3 < SCREEN_PENDING_ROWS ? lines / 3 : SCREEN_PENDING_ROWS;
	shown = (int)s->nown <= max_rows ? (int)s->nown : max_rows - 1;
	s->nrows = 0;
	for (i = 0; i < shown; i++) {
		s->row_cols[s->nrows++] = put_pending_row(&o, s, &s->own[i], avail);
		puts_(&o, "\r\n");
	}
	if (shown < (int)s->nown && max_rows > 0) {
		n = (size_t)snprintf(more, sizeof(more), "* %zu more pending", s->nown - (size_t)shown);
		if (s->color)
			puts_(&o, SGR_DIM);
		put(&o, more, n < avail ? n : avail);
		if (s->color)
			puts_(&o, SGR_RESET);
		puts_(&o, "\r\n");
		s->row_cols[s->nrows++] = n < avail ? n : avail;
	}
	if (!o.full && o.cap - o.len > 1) {
		n = edit_render(e, columns, o.buf + o.len, o.cap - o.len);
		o.len += n;
	}
	s->input_cursor_x = e->cursor_x;
	s->drawn = 1;
	return o.len;
}
