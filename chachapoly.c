/* chachapoly.c - ChaCha20, Poly1305 and the AEAD_CHACHA20_POLY1305 of RFC 8439, in constant time, with no allocation and no I/O. */
#include <string.h>

#include "chachapoly.h"
#include "ct.h"

/* Poly1305 multiplies 64-bit limbs into 128-bit products (gcc and clang on 64-bit targets). */
__extension__ typedef unsigned __int128 chachapoly_u128;

/* RFC 8439 section 2.3: state words 0..3, "expand 32-byte k" read little-endian. */
#define CHACHA_CONST0 UINT32_C(0x61707865)
#define CHACHA_CONST1 UINT32_C(0x3320646e)
#define CHACHA_CONST2 UINT32_C(0x79622d32)
#define CHACHA_CONST3 UINT32_C(0x6b206574)
#define CHACHA_WORDS 16		/* section 2.3: a 4x4 matrix of 32-bit words */
#define CHACHA_DOUBLE_ROUNDS 10 /* section 2.3: 20 rounds, a column then a diagonal round */
#define CHACHA_COUNTER_WORD 12	/* section 2.3: word 12 is the counter, 13..15 the nonce */

/*
 * Blocks computed side by side: each step of the quarter round is done for
 * every lane in one loop of known length, which gcc -O2 turns into one SSE2
 * instruction on four words. Four lanes fill one 128-bit register per state word.
 */
#define CHACHA_LANES 4
#define CHACHA_CHUNK (CHACHA_LANES * CHACHAPOLY_BLOCK_LEN)

#define POLY1305_BLOCK_LEN 16 /* section 2.5: the message is read 16 bytes at a time */
#define POLY1305_KEY_LEN 32   /* section 2.5: r, then s, 16 bytes each */

typedef uint32_t chacha_lanes[CHACHA_LANES];

static inline uint32_t chacha_rotl(uint32_t v, int n)
{
	return (v << n) | (v >> (32 - n));
}

/*
 * RFC 8439 section 2.1: the quarter round on words a, b, c, d, for each lane.
 * Only adds, xors and constant rotations: no branch, no index on the data.
 */
static inline void chacha_quarter(chacha_lanes a, chacha_lanes b, chacha_lanes c, chacha_lanes d)
{
	for (int l = 0; l < CHACHA_LANES; l++) {
		a[l] += b[l];
		d[l] = chacha_rotl(d[l] ^ a[l], 16);
		c[l] += d[l];
		b[l] = chacha_rotl(b[l] ^ c[l], 12);
		a[l] += b[l];
		d[l] = chacha_rotl(d[l] ^ a[l], 8);
		c[l] += d[l];
		b[l] = chacha_rotl(b[l] ^ c[l], 7);
	}
}

/* Section 2.3: the initial state for key, counter and nonce (words 0..15). */
static void chacha_init(uint32_t state[CHACHA_WORDS], const uint8_t key[CHACHAPOLY_KEY_LEN],
			uint32_t counter, const uint8_t nonce[CHACHAPOLY_NONCE_LEN])
{
	state[0] = CHACHA_CONST0;
	state[1] = CHACHA_CONST1;
	state[2] = CHACHA_CONST2;
	state[3] = CHACHA_CONST3;
	for (int i = 0; i < 8; i++)
		state[4 + i] = ct_get32le(key + 4 * i);
	state[CHACHA_COUNTER_WORD] = counter;
	for (int i = 0; i < 3; i++)
		state[13 + i] = ct_get32le(nonce + 4 * i);
}

/*
 * Section 2.3: the ChaCha20 block function for CHACHA_LANES consecutive
 * blocks, counters state[12], state[12] + 1, ... (mod 2^32), serialized
 * (section 2.3.2) one after the other into out.
 */
static void chacha_blocks(uint8_t out[CHACHA_CHUNK], const uint32_t state[CHACHA_WORDS])
{
	chacha_lanes x[CHACHA_WORDS], start;

	for (int i = 0; i < CHACHA_WORDS; i++)
		for (int l = 0; l < CHACHA_LANES; l++)
			x[i][l] = state[i];
	for (int l = 0; l < CHACHA_LANES; l++)
		x[CHACHA_COUNTER_WORD][l] += (uint32_t)l;
	memcpy(start, x[CHACHA_COUNTER_WORD], sizeof(start));
	for (int r = 0; r < CHACHA_DOUBLE_ROUNDS; r++) {
		/* Section 2.3: a column round, then a diagonal round. */
		chacha_quarter(x[0], x[4], x[8], x[12]);
		chacha_quarter(x[1], x[5], x[9], x[13]);
		chacha_quarter(x[2], x[6], x[10], x[14]);
		chacha_quarter(x[3], x[7], x[11], x[15]);
		chacha_quarter(x[0], x[5], x[10], x[15]);
		chacha_quarter(x[1], x[6], x[11], x[12]);
		chacha_quarter(x[2], x[7], x[8], x[13]);
		chacha_quarter(x[3], x[4], x[9], x[14]);
	}
	/* Section 2.3: add the initial state back in, word by word. */
	for (int l = 0; l < CHACHA_LANES; l++) {
		uint8_t *block = out + l * CHACHAPOLY_BLOCK_LEN;

		for (int i = 0; i < CHACHA_WORDS; i++) {
			uint32_t init = i == CHACHA_COUNTER_WORD ? start[l] : state[i];

			ct_put32le(block + 4 * i, x[i][l] + init);
		}
	}
	ct_wipe(x, sizeof(x));
}

/* out = in XOR ks for len bytes, eight at a time; out may equal in. */
static void chacha_xor_bytes(uint8_t *out, const uint8_t *in, const uint8_t *ks, size_t len)
{
	size_t i = 0;

	for (; len - i >= 8; i += 8) {
		uint64_t a, b;

		memcpy(&a, in + i, 8);
		memcpy(&b, ks + i, 8);
		a ^= b;
		memcpy(out + i, &a, 8);
	}
	for (; i < len; i++)
		out[i] = in[i] ^ ks[i];
}

/*
 * Section 2.4: XORs len bytes of in with the key stream from block
 * state[12] on, into out, and advances state[12] past the blocks used.
 */
static void chacha_stream(uint8_t *out, const uint8_t *in, size_t len,
			  uint32_t state[CHACHA_WORDS])
{
	uint8_t ks[CHACHA_CHUNK];

	while (len > 0) {
		size_t n = len < CHACHA_CHUNK ? len : CHACHA_CHUNK;

		chacha_blocks(ks, state);
		chacha_xor_bytes(out, in, ks, n);
		state[CHACHA_COUNTER_WORD] += CHACHA_LANES;
		out += n;
		in += n;
		len -= n;
	}
	ct_wipe(ks, sizeof(ks));
}

void chachapoly_chacha20(uint8_t *out, const uint8_t *in, size_t len,
			 const uint8_t key[CHACHAPOLY_KEY_LEN], uint32_t counter,
			 const uint8_t nonce[CHACHAPOLY_NONCE_LEN])
{
	uint32_t state[CHACHA_WORDS];

	chacha_init(state, key, counter, nonce);
	chacha_stream(out, in, len, state);
	ct_wipe(state, sizeof(state));
}

/*
 * Poly1305 (section 2.5) in radix 2^64: the accumulator is h0 + h1 2^64 +
 * h2 2^128, kept below 2^130 + 2^64 between blocks (reduced only partly, so
 * the final reduction mod P = 2^130 - 5 needs one conditional subtraction).
 */
struct poly1305 {
	uint64_t r0, r1; /* r, clamped (section 2.5.1) */
	uint64_t r1_5_4; /* r1 + r1 / 4 = 5 (r1 / 4): the clamp makes r1 a multiple of 4 */
	uint64_t s0, s1; /* s, added at the end */
	uint64_t h0, h1, h2;
};

/* Section 2.5: r is the first half of the key with the clamp applied, s the second half. */
static void poly1305_init(struct poly1305 *st, const uint8_t key[POLY1305_KEY_LEN])
{
	/* Section 2.5: r &= 0x0ffffffc0ffffffc0ffffffc0fffffff (little-endian). */
	st->r0 = ct_get64le(key) & UINT64_C(0x0ffffffc0fffffff);
	st->r1 = ct_get64le(key + 8) & UINT64_C(0x0ffffffc0ffffffc);
	st->r1_5_4 = st->r1 + (st->r1 >> 2);
	st->s0 = ct_get64le(key + 16);
	st->s1 = ct_get64le(key + 24);
	st->h0 = st->h1 = st->h2 = 0;
}

/*
 * Section 2.5: for each of nblocks 16-byte blocks, h = (h + block + hibit
 * 2^128) * r mod P (partly reduced). hibit is 1 for a full block, whose
 * appended 0x01 byte is bit 128; 0 for the last short block, already padded.
 *
 * With r0, r1 < 2^60 and 2^130 = 5 mod P, the product folds into three words:
 *   d0 = h0 r0 + h1 (5 r1 / 4)
 *   d1 = h0 r1 + h1 r0 + h2 (5 r1 / 4)
 *   d2 = h2 r0
 * because h1 r1 2^128 = h1 (r1 / 4) 2^130 and h2 r1 2^192 = h2 (r1 / 4) 2^130 2^64.
 * h2 <= 6 before the product, so no sum below overflows its type.
 */
static void poly1305_blocks(struct poly1305 *st, const uint8_t *m, size_t nblocks, uint64_t hibit)
{
	const uint64_t r0 = st->r0, r1 = st->r1, r1_5_4 = st->r1_5_4;
	uint64_t h0 = st->h0, h1 = st->h1, h2 = st->h2;

	for (; nblocks > 0; nblocks--, m += POLY1305_BLOCK_LEN) {
		chachapoly_u128 t, d0, d1;
		uint64_t d2, c;

		t = (chachapoly_u128)h0 + ct_get64le(m);
		h0 = (uint64_t)t;
		t = (chachapoly_u128)h1 + ct_get64le(m + 8) + (uint64_t)(t >> 64);
		h1 = (uint64_t)t;
		h2 += (uint64_t)(t >> 64) + hibit;

		d0 = (chachapoly_u128)h0 * r0 + (chachapoly_u128)h1 * r1_5_4;
		d1 = (chachapoly_u128)h0 * r1 + (chachapoly_u128)h1 * r0 +
		     (chachapoly_u128)h2 * r1_5_4;
		d2 = h2 * r0;

		h0 = (uint64_t)d0;
		d1 += (uint64_t)(d0 >> 64);
		h1 = (uint64_t)d1;
		d2 += (uint64_t)(d1 >> 64);

		/* Bits 130 and up, times 5, go back to the bottom (2^130 = 5 mod P). */
		c = (d2 >> 2) * 5;
		h2 = d2 & 3;
		t = (chachapoly_u128)h0 + c;
		h0 = (uint64_t)t;
		t = (chachapoly_u128)h1 + (uint64_t)(t >> 64);
		h1 = (uint64_t)t;
		h2 += (uint64_t)(t >> 64);
	}
	st->h0 = h0;
	st->h1 = h1;
	st->h2 = h2;
}

/* Section 2.8: len bytes as whole blocks, the last one padded with zeros to 16 (pad16). */
static void poly1305_padded(struct poly1305 *st, const uint8_t *m, size_t len)
{
	size_t full = len / POLY1305_BLOCK_LEN, rest = len % POLY1305_BLOCK_LEN;

	poly1305_blocks(st, m, full, 1);
	if (rest > 0) {
		uint8_t block[POLY1305_BLOCK_LEN] = { 0 };

		memcpy(block, m + full * POLY1305_BLOCK_LEN, rest);
		poly1305_blocks(st, block, 1, 1);
		ct_wipe(block, sizeof(block));
	}
}

/*
 * Section 2.5: the tag is (h mod P) + s, mod 2^128. h < 2^130 + 2^64 < 2P,
 * so h mod P is h, or h - P when h + 5 reaches 2^130; the choice is made
 * with a mask, not a branch. Wipes the state.
 */
static void poly1305_finish(struct poly1305 *st, uint8_t tag[CHACHAPOLY_TAG_LEN])
{
	chachapoly_u128 t;
	uint64_t g0, g1, g2, mask, h0, h1;

	t = (chachapoly_u128)st->h0 + 5;
	g0 = (uint64_t)t;
	t = (chachapoly_u128)st->h1 + (uint64_t)(t >> 64);
	g1 = (uint64_t)t;
	g2 = st->h2 + (uint64_t)(t >> 64);
	/* g2 >> 2 is 1 when h + 5 >= 2^130, that is h >= P; then g mod 2^130 is h - P. */
	mask = 0 - (g2 >> 2);
	h0 = (st->h0 & ~mask) | (g0 & mask);
	h1 = (st->h1 & ~mask) | (g1 & mask);

	t = (chachapoly_u128)h0 + st->s0;
	h0 = (uint64_t)t;
	h1 += st->s1 + (uint64_t)(t >> 64);
	ct_put64le(tag, h0);
	ct_put64le(tag + 8, h1);
	ct_wipe(st, sizeof(*st));
}

void chachapoly_poly1305(uint8_t tag[CHACHAPOLY_TAG_LEN], const uint8_t *msg, size_t len,
			 const uint8_t key[32])
{
	struct poly1305 st;
	size_t full = len / POLY1305_BLOCK_LEN, rest = len % POLY1305_BLOCK_LEN;

	poly1305_init(&st, key);
	poly1305_blocks(&st, msg, full, 1);
	if (rest > 0) {
		/* Section 2.5: a short last block gets its 0x01 byte right after its end. */
		uint8_t block[POLY1305_BLOCK_LEN] = { 0 };

		memcpy(block, msg + full * POLY1305_BLOCK_LEN, rest);
		block[rest] = 1;
		poly1305_blocks(&st, block, 1, 0);
		ct_wipe(block, sizeof(block));
	}
	poly1305_finish(&st, tag);
}

/*
 * Section 2.8: the tag over ad, pad16, ct, pad16, then the two lengths as
 * 64-bit little-endian numbers, under the one-time key otk (section 2.6).
 */
static void aead_tag(uint8_t tag[CHACHAPOLY_TAG_LEN], const uint8_t otk[POLY1305_KEY_LEN],
		     const uint8_t *ad, size_t ad_len, const uint8_t *ct, size_t ct_len)
{
	struct poly1305 st;
	uint8_t lengths[POLY1305_BLOCK_LEN];

	ct_put64le(lengths, (uint64_t)ad_len);
	ct_put64le(lengths + 8, (uint64_t)ct_len);
	poly1305_init(&st, otk);
	poly1305_padded(&st, ad, ad_len);
	poly1305_padded(&st, ct, ct_len);
	poly1305_blocks(&st, lengths, 1, 1);
	poly1305_finish(&st, tag);
}

/*
 * The first CHACHA_LANES blocks, counter 0 on: block 0's first 32 bytes
 * are the Poly1305 key (section 2.6), blocks 1.. encrypt the start of the
 * text (section 2.8), and the rest of the text is XORed from block
 * CHACHA_LANES on. Computing block 0 with the first text blocks costs
 * nothing extra: they share one pass of the lanes.
 */
static void aead_start(uint8_t first[CHACHA_CHUNK], uint32_t state[CHACHA_WORDS],
		       const uint8_t key[CHACHAPOLY_KEY_LEN],
		       const uint8_t nonce[CHACHAPOLY_NONCE_LEN])
{
	chacha_init(state, key, 0, nonce);
	chacha_blocks(first, state);
	state[CHACHA_COUNTER_WORD] = CHACHA_LANES;
}

/* Section 2.8: XORs the text with the key stream from block 1 on, given aead_start's output. */
static void aead_crypt(uint8_t *out, const uint8_t *in, size_t len,
		       const uint8_t first[CHACHA_CHUNK], uint32_t state[CHACHA_WORDS])
{
	size_t head = CHACHA_CHUNK - CHACHAPOLY_BLOCK_LEN;

	if (len == 0)
		return; /* out and in may be NULL then */
	if (head > len)
		head = len;
	chacha_xor_bytes(out, in, first + CHACHAPOLY_BLOCK_LEN, head);
	chacha_stream(out + head, in + head, len - head, state);
}

size_t chachapoly_seal(uint8_t *out, const uint8_t *pt, size_t pt_len,
		       const uint8_t *ad, size_t ad_len,
		       const uint8_t key[CHACHAPOLY_KEY_LEN],
		       const uint8_t nonce[CHACHAPOLY_NONCE_LEN])
{
	uint8_t first[CHACHA_CHUNK];
	uint32_t state[CHACHA_WORDS];

	aead_start(first, state, key, nonce);
	aead_crypt(out, pt, pt_len, first, state);
	aead_tag(out + pt_len, first, ad, ad_len, out, pt_len);
	ct_wipe(first, sizeof(first));
	ct_wipe(state, sizeof(state));
	return pt_len + CHACHAPOLY_TAG_LEN;
}

long chachapoly_open(uint8_t *out, const uint8_t *in, size_t in_len,
		     const uint8_t *ad, size_t ad_len,
		     const uint8_t key[CHACHAPOLY_KEY_LEN],
		     const uint8_t nonce[CHACHAPOLY_NONCE_LEN])
{
	uint8_t first[CHACHA_CHUNK], tag[CHACHAPOLY_TAG_LEN];
	uint32_t state[CHACHA_WORDS];
	size_t ct_len;
	int ok;

	if (in_len < CHACHAPOLY_TAG_LEN)
		return -1;
	ct_len = in_len - CHACHAPOLY_TAG_LEN;
	aead_start(first, state, key, nonce);
	/* The tag is computed and compared before a byte of out is written. */
	aead_tag(tag, first, ad, ad_len, in, ct_len);
	ok = ct_equal(tag, in + ct_len, CHACHAPOLY_TAG_LEN);
	/* Only the verdict is public: whether an answer comes tells an attacker as much. */
	ct_declassify(&ok, sizeof(ok));
	if (ok)
		aead_crypt(out, in, ct_len, first, state);
	else if (ct_len > 0)
		memset(out, 0, ct_len);
	ct_wipe(first, sizeof(first));
	ct_wipe(state, sizeof(state));
	ct_wipe(tag, sizeof(tag));
	return ok ? (long)ct_len : -1;
}
