/* ct.h - what the crypto files share: little-endian loads and stores, a constant-time compare, and wiping secrets. Header-only. */
#ifndef P2PCHAT_CT_H
#define P2PCHAT_CT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * ChaCha20, Poly1305 and X25519 read and write their words little-endian
 * (RFC 8439 section 2.1, RFC 7748 section 5). Built byte by byte, like
 * bytes.h, so alignment and the machine's order never matter.
 */
static inline uint32_t ct_get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t ct_get64le(const uint8_t *p)
{
	return (uint64_t)ct_get32le(p) | (uint64_t)ct_get32le(p + 4) << 32;
}

static inline void ct_put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void ct_put64le(uint8_t *p, uint64_t v)
{
	ct_put32le(p, (uint32_t)v);
	ct_put32le(p + 4, (uint32_t)(v >> 32));
}

/*
 * 1 when the n bytes at a and b are equal, else 0, in a time that depends on
 * n only: every byte is read, the differences are OR-ed together, and the
 * one decision is made on the total. For tags and keys; never memcmp().
 */
static inline int ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint32_t diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= (uint32_t)(x[i] ^ y[i]);
	/* (diff - 1) >> 8 has its low bit set only when diff was 0. */
	return (int)(((diff - 1) >> 8) & 1);
}

/* 1 when the n bytes at a are all zero, else 0; constant time as ct_equal. */
static inline int ct_is_zero(const void *a, size_t n)
{
	const volatile uint8_t *x = a;
	uint32_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= x[i];
	return (int)(((acc - 1) >> 8) & 1);
}

/*
 * Marks n bytes derived from secrets as public from here on: a verdict that
 * the caller acts on anyway, like a tag check's result, which an attacker
 * learns from whether an answer comes. A no-op in the programs; in the
 * constant-time test (tests/ctgrind.c, built with -DCT_VALGRIND) it tells
 * valgrind's memcheck that a branch on these bytes leaks nothing, so the
 * test needs no exception for them (BoringSSL's declassify, the same idea).
 */
#ifdef CT_VALGRIND
#include <valgrind/memcheck.h>
#define ct_declassify(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED((p), (n)))
#else
#define ct_declassify(p, n) ((void)(p), (void)(n))
#endif

/*
 * Wipes n bytes of a secret so that the compiler cannot drop the write as
 * dead (explicit_bzero, glibc 2.25 and the BSDs; _DEFAULT_SOURCE).
 */
static inline void ct_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

#endif
