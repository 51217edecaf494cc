/* tests/fuzz/fuzz.c - what the libFuzzer harnesses share: checks, a record reader, a strict logger. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
	abort();
}

/* The length of the UTF-8 character at s[0] (n bytes left) when it is valid, else 0. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	size_t need, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 2;
		cp = s[0] & 0x1fu;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 3;
		cp = s[0] & 0x0fu;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 4;
		cp = s[0] & 0x07u;
	} else {
		return 0;
	}
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	/*
	 * Written apart from term.c's decoder on purpose, the plain way: decode,
	 * then refuse overlong forms, surrogates and what lies past U+10FFFF.
	 */
	if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000))
		return 0;
	if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return need;
}

int fuzz_text_safe(const char *text, size_t len)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, n;

	while (i < len) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
		n = utf8_valid_len(s + i, len - i);
		if (n == 0)
			return 0;
		/* U+0080..U+009F, the C1 controls, are C2 80..C2 9F. */
		if (n == 2 && s[i] == 0xc2 && s[i + 1] <= 0x9f)
			return 0;
		i += n;
	}
	return 1;
}

int fuzz_next_record(const uint8_t *data, size_t size, size_t *off, struct fuzz_record *r)
{
	size_t len;

	if (size - *off < FUZZ_RECORD_HEADER)
		return 0;
	r->source = data[*off] & 3u;
	r->step_ms = (int64_t)(data[*off] >> 2) * FUZZ_STEP_MS;
	len = ((size_t)data[*off + 1] << 8) | data[*off + 2];
	*off += FUZZ_RECORD_HEADER;
	if (len > size - *off)
		len = size - *off;
	r->buf = data + *off;
	r->len = len;
	*off += len;
	return 1;
}

void fuzz_addr4(struct proto_addr *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3,
		uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = PROTO_AF_INET;
	a->port = port;
	a->ip[0] = a0;
	a->ip[1] = a1;
	a->ip[2] = a2;
	a->ip[3] = a3;
}

void fuzz_addr6(struct proto_addr *a, uint8_t last, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = PROTO_AF_INET6;
	a->port = port;
	a->ip[0] = 0x20;
	a->ip[1] = 0x01;
	a->ip[2] = 0x0d;
	a->ip[3] = 0xb8;
	a->ip[15] = last;
}

/* ---- the logger, in place of log.c ---- */

void log_init(const char *program, enum log_level level)
{
	(void)program, (void)level;
}

int log_enabled(enum log_level level)
{
	(void)level;
	return 1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (level == LOG_ERROR) {
		fprintf(stderr, "log_error: %s\n", line);
		fuzz_fail(__FILE__, __LINE__, "no LOG_ERROR while handling input");
	}
}
