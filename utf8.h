/* utf8.h - UTF-8 as RFC 3629 defines it: decoding one character, counting characters. */
#ifndef P2PCHAT_UTF8_H
#define P2PCHAT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when b is a continuation byte (10xxxxxx), which never starts a character. */
int utf8_is_continuation(unsigned char b);

/*
 * Decodes the character at s[0], with n bytes available. Returns its length
 * (1..4) with the code point in *cp when it is whole and valid (RFC 3629
 * section 4: shortest form, no surrogates, at most U+10FFFF); 0 when more
 * bytes are needed; -1 when s[0] cannot begin a valid character here.
 */
int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);

/* Nonzero when a code point may go to the terminal as it is: not C0, DEL or C1. */
int utf8_printable(uint32_t cp);

/* The number of characters in s[0..n) of valid UTF-8: its bytes that start one. */
size_t utf8_count(const char *s, size_t n);

#endif
