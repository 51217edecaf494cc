/* utf8.c - UTF-8 as RFC 3629 defines it: decoding one character, counting characters. */
#include "utf8.h"

int utf8_is_continuation(unsigned char b)
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
int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
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
int utf8_printable(uint32_t cp)
{
	return cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f);
}

/* Returns the number of characters in s[0..n) of valid UTF-8: its bytes that start one. */
size_t utf8_count(const char *s, size_t n)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		if (!utf8_is_continuation((unsigned char)s[i]))
			count++;
	}
	return count;
}
