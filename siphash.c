/* siphash.c - SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012). */
#include "siphash.h"

/* Reads 8 bytes as a little-endian word: SipHash is defined on little-endian words. */
static uint64_t sip_get64le(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t sip_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* The paper's SipRound: add-rotate-xor on the four state words. */
static void sip_round(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = sip_rotl(v[1], 13);
	v[1] ^= v[0];
	v[0] = sip_rotl(v[0], 32);
	v[2] += v[3];
	v[3] = sip_rotl(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = sip_rotl(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = sip_rotl(v[1], 17);
	v[1] ^= v[2];
	v[2] = sip_rotl(v[2], 32);
}

/* Mixes one message word into the state: "2" compression rounds of SipHash-2-4. */
static void sip_compress(uint64_t v[4], uint64_t m)
{
	v[3] ^= m;
	sip_round(v);
	sip_round(v);
	v[0] ^= m;
}

uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t k0 = sip_get64le(key);
	uint64_t k1 = sip_get64le(key + 8);
	uint64_t v[4];
	uint64_t last;
	size_t left = len;
	size_t i;

	/* The initial constants spell "somepseudorandomlygeneratedbytes". */
	v[0] = k0 ^ 0x736f6d6570736575ULL;
	v[1] = k1 ^ 0x646f72616e646f6dULL;
	v[2] = k0 ^ 0x6c7967656e657261ULL;
	v[3] = k1 ^ 0x7465646279746573ULL;

	for (; left >= 8; left -= 8, p += 8)
		sip_compress(v, sip_get64le(p));

	/* The last word: the 0..7 remaining bytes, and len mod 256 in the top byte. */
	last = (uint64_t)(len & 0xff) << 56;
	for (i = 0; i < left; i++)
		last |= (uint64_t)p[i] << (8 * i);
	sip_compress(v, last);

	/* Finalization: "4" rounds. */
	v[2] ^= 0xff;
	sip_round(v);
	sip_round(v);
	sip_round(v);
	sip_round(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}
