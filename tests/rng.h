/*
 * tests/rng.h - seeded generators for the tests and the test tools: reproducible, not for secrets.
 * Header-only, no libcheck: tests/harness.h includes it, and so do amplify, bench and flood.
 * Each test keeps the variant it was written with, since its expectations follow that sequence.
 */
#ifndef TESTS_RNG_H
#define TESTS_RNG_H

#include <stdint.h>

/* xorshift32 (Marsaglia 2003): small, and the same on every platform. s must not be 0. */
struct rng32 {
	uint32_t s;
};

static inline uint32_t rng32_next(struct rng32 *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 17;
	r->s ^= r->s << 5;
	return r->s;
}

/* 64-bit state for the two generators below. s must not be 0. */
struct rng64 {
	uint64_t s;
};

/* xorshift64 (Marsaglia 2003, shifts 13, 7, 17): returns the new state. */
static inline uint64_t rng64_next(struct rng64 *r)
{
	r->s ^= r->s << 13;
	r->s ^= r->s >> 7;
	r->s ^= r->s << 17;
	return r->s;
}

/* xorshift64* (Vigna): the state times a constant, all 64 bits. */
static inline uint64_t rng64star_next(struct rng64 *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * UINT64_C(0x2545F4914F6CDD1D);
}

/* xorshift64*'s high 32 bits, its better half. */
static inline uint32_t rng64star_next32(struct rng64 *r)
{
	return (uint32_t)(rng64star_next(r) >> 32);
}

#endif
