/* sha256.c - SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104) and HKDF (RFC 5869); no allocation, no I/O. */
#include <string.h>

#include "bytes.h"
#include "ct.h"
#include "sha256.h"
#include "sha256_impl.h"

/*
 * FIPS 180-4 section 4.2.2: the constants K{256}_0..K{256}_63, the first
 * 32 bits of the fractional parts of the cube roots of the first 64 primes.
 */
const uint32_t sha256_K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/*
 * FIPS 180-4 section 5.3.3: the initial hash value H(0), the first 32 bits
 * of the fractional parts of the square roots of the first 8 primes.
 */
static const uint32_t H0_256[8] = {
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

/* FIPS 180-4 section 5.1.1: the message length at the end of the padding is 64 bits. */
#define SHA256_LENGTH_LEN 8

/* FIPS 180-4 section 3.2: ROTR^n(x), a right rotation of a 32-bit word (0 < n < 32). */
static inline uint32_t rotr(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

/* FIPS 180-4 section 4.1.2, (4.2) and (4.3): Ch chooses f or g by e's bits; Maj is the majority. */
static inline uint32_t ch(uint32_t x, uint32_t y, uint32_t z)
{
	return z ^ (x & (y ^ z)); /* the same bits as (x & y) ^ (~x & z), one operation fewer */
}

static inline uint32_t maj(uint32_t x, uint32_t y, uint32_t z)
{
	return (x & y) | (z & (x | y)); /* the same bits as (x & y) ^ (x & z) ^ (y & z) */
}

/* FIPS 180-4 section 4.1.2, (4.4) to (4.7): the Sigma{256} and sigma{256} functions. */
static inline uint32_t big_sigma0(uint32_t x)
{
	return rotr(x, 2) ^ rotr(x, 13) ^ rotr(x, 22);
}

static inline uint32_t big_sigma1(uint32_t x)
{
	return rotr(x, 6) ^ rotr(x, 11) ^ rotr(x, 25);
}

static inline uint32_t small_sigma0(uint32_t x)
{
	return rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3);
}

static inline uint32_t small_sigma1(uint32_t x)
{
	return rotr(x, 17) ^ rotr(x, 19) ^ (x >> 10);
}

/*
 * One step t of FIPS 180-4 section 6.2.2, step 3. Instead of moving every
 * working variable down one name (h = g, g = f, ...), the caller rotates the
 * names it passes, so a step changes only d and h: d + T1 is the new e, and
 * T1 + T2 the new a. w is W_t.
 */
#define SHA256_STEP(a, b, c, d, e, f, g, h, t, w)                                       \
	do {                                                                             \
		uint32_t T1 = (h) + big_sigma1(e) + ch(e, f, g) + sha256_K[t] + (w);     \
		uint32_t T2 = big_sigma0(a) + maj(a, b, c);                              \
		(d) += T1;                                                               \
		(h) = T1 + T2;                                                           \
	} while (0)

/*
 * Section 6.2.2 step 1 for t >= 16, on a ring of the last 16 words: slot
 * t mod 16 holds W_{t-16} and becomes W_t.
 */
#define SHA256_SCHEDULE(W, j)                                                           \
	((W)[j] += small_sigma1((W)[((j) + 14) & 15]) + (W)[((j) + 9) & 15] +           \
		   small_sigma0((W)[((j) + 1) & 15]))

/* Eight steps with the names rotated back to where they started; W_t is in W[j + k]. */
#define SHA256_EIGHT(t, j, w_of)                                                        \
	do {                                                                             \
		SHA256_STEP(a, b, c, d, e, f, g, h, (t) + 0, w_of((j) + 0));             \
		SHA256_STEP(h, a, b, c, d, e, f, g, (t) + 1, w_of((j) + 1));             \
		SHA256_STEP(g, h, a, b, c, d, e, f, (t) + 2, w_of((j) + 2));             \
		SHA256_STEP(f, g, h, a, b, c, d, e, (t) + 3, w_of((j) + 3));             \
		SHA256_STEP(e, f, g, h, a, b, c, d, (t) + 4, w_of((j) + 4));             \
		SHA256_STEP(d, e, f, g, h, a, b, c, (t) + 5, w_of((j) + 5));             \
		SHA256_STEP(c, d, e, f, g, h, a, b, (t) + 6, w_of((j) + 6));             \
		SHA256_STEP(b, c, d, e, f, g, h, a, (t) + 7, w_of((j) + 7));             \
	} while (0)

/* How SHA256_EIGHT finds W_t: as loaded (t < 16), or scheduled in place first. */
#define SHA256_W_LOADED(j) (W[j])
#define SHA256_W_NEXT(j) (SHA256_SCHEDULE(W, j))

/*
 * FIPS 180-4 section 6.2.2: folds n 64-byte blocks at p into state. The
 * message words are read big-endian (section 3.1). Every branch and every
 * index depends on the step number only, never on the data. The schedule
 * words are wiped at the end since HMAC feeds key bytes through here; the
 * working variables live in registers, which C cannot wipe.
 */
static void sha256_portable_blocks(uint32_t state[8], const uint8_t *p, size_t n)
{
	uint32_t W[16];

	for (; n > 0; n--, p += SHA256_BLOCK_LEN) {
		uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
		uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
		int j, t;

		for (j = 0; j < 16; j++)
			W[j] = bytes_get32(p + 4 * j);
		SHA256_EIGHT(0, 0, SHA256_W_LOADED);
		SHA256_EIGHT(8, 8, SHA256_W_LOADED);
		for (t = 16; t < 64; t += 16) {
			SHA256_EIGHT(t, 0, SHA256_W_NEXT);
			SHA256_EIGHT(t + 8, 8, SHA256_W_NEXT);
		}
		/* Step 4: the intermediate hash value H(i). */
		state[0] += a;
		state[1] += b;
		state[2] += c;
		state[3] += d;
		state[4] += e;
		state[5] += f;
		state[6] += g;
		state[7] += h;
	}
	ct_wipe(W, sizeof(W));
}

/*
 * Which compression function runs: -1 not chosen yet, 0 the portable one above, 1 the x86
 * SHA extensions (sha256_x86.c). Chosen once, at the first block, from what the CPU says;
 * both compute the same function (tests/test_sha256.c and tests/crypto_diff.c run both).
 */
static int use_x86 = -1;

void sha256_use_portable(int portable)
{
	use_x86 = portable ? 0 : sha256_x86_supported();
}

int sha256_accelerated(void)
{
	if (use_x86 < 0)
		use_x86 = sha256_x86_supported();
	return use_x86;
}

/* Section 6.2.2 on n blocks, by the compression function chosen for this CPU. */
static void sha256_blocks(uint32_t state[8], const uint8_t *p, size_t n)
{
	if (sha256_accelerated())
		sha256_x86_blocks(state, p, n);
	else
		sha256_portable_blocks(state, p, n);
}

/* FIPS 180-4 section 5.3.3: H(0). */
void sha256_init(struct sha256_ctx *ctx)
{
	memcpy(ctx->state, H0_256, sizeof(ctx->state));
	ctx->bytes = 0;
	ctx->fill = 0;
}

/* FIPS 180-4 section 5.2.1: the message is taken in 512-bit blocks; a partial one waits in ctx. */
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n;

	if (len == 0)
		return; /* data may then be NULL, which memcpy may not see even for 0 bytes */
	ctx->bytes += len;
	if (ctx->fill > 0) {
		n = SHA256_BLOCK_LEN - ctx->fill;
		if (n > len)
			n = len;
		memcpy(ctx->block + ctx->fill, p, n);
		ctx->fill += n;
		p += n;
		len -= n;
		if (ctx->fill < SHA256_BLOCK_LEN)
			return;
		sha256_blocks(ctx->state, ctx->block, 1);
		ctx->fill = 0;
	}
	n = len / SHA256_BLOCK_LEN;
	if (n > 0)
		sha256_blocks(ctx->state, p, n);
	p += n * SHA256_BLOCK_LEN;
	len -= n * SHA256_BLOCK_LEN;
	if (len > 0)
		memcpy(ctx->block, p, len);
	ctx->fill = len;
}

/*
 * FIPS 180-4 section 5.1.1: the bit "1", then zeros up to 448 bits mod 512,
 * then the message length in bits as a 64-bit big-endian number; section
 * 6.2.2: the digest is H(N) written big-endian.
 */
void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_LEN])
{
	uint64_t bits = ctx->bytes * 8;
	size_t fill = ctx->fill;
	int i;

	ctx->block[fill++] = 0x80;
	if (fill > SHA256_BLOCK_LEN - SHA256_LENGTH_LEN) {
		memset(ctx->block + fill, 0, SHA256_BLOCK_LEN - fill);
		sha256_blocks(ctx->state, ctx->block, 1);
		fill = 0;
	}
	memset(ctx->block + fill, 0, SHA256_BLOCK_LEN - SHA256_LENGTH_LEN - fill);
	bytes_put64(ctx->block + SHA256_BLOCK_LEN - SHA256_LENGTH_LEN, bits);
	sha256_blocks(ctx->state, ctx->block, 1);
	for (i = 0; i < 8; i++)
		bytes_put32(out + 4 * i, ctx->state[i]);
	ct_wipe(ctx, sizeof(*ctx));
}

void sha256_hash(uint8_t out[SHA256_LEN], const void *data, size_t len)
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, data, len);
	sha256_final(&ctx, out);
}

/* HMAC under way: the inner hash, and the outer one with K0 ^ opad already absorbed. */
struct hmac_ctx {
	struct sha256_ctx inner;
	struct sha256_ctx outer;
};

/* RFC 2104 section 2: the inner and outer pad bytes. */
#define HMAC_IPAD 0x36
#define HMAC_OPAD 0x5c

/*
 * RFC 2104 section 2, steps (1) to (3) for the inner hash and the first half
 * of (6) for the outer: a key longer than B = 64 bytes is hashed first (L = 32
 * bytes), then padded with zeros to B and XORed with ipad and opad. The padded
 * keys are wiped here; hmac_final wipes the rest.
 */
static void hmac_init(struct hmac_ctx *hc, const uint8_t *key, size_t key_len)
{
	uint8_t k0[SHA256_BLOCK_LEN], pad[SHA256_BLOCK_LEN];
	size_t i;

	memset(k0, 0, sizeof(k0));
	if (key_len > SHA256_BLOCK_LEN)
		sha256_hash(k0, key, key_len);
	else if (key_len > 0)
		memcpy(k0, key, key_len);
	for (i = 0; i < SHA256_BLOCK_LEN; i++)
		pad[i] = k0[i] ^ HMAC_IPAD;
	sha256_init(&hc->inner);
	sha256_update(&hc->inner, pad, sizeof(pad));
	for (i = 0; i < SHA256_BLOCK_LEN; i++)
		pad[i] = k0[i] ^ HMAC_OPAD;
	sha256_init(&hc->outer);
	sha256_update(&hc->outer, pad, sizeof(pad));
	ct_wipe(k0, sizeof(k0));
	ct_wipe(pad, sizeof(pad));
}

/* RFC 2104 section 2, steps (4) to (7): H(K ^ opad, H(K ^ ipad, text)); wipes hc. */
static void hmac_final(struct hmac_ctx *hc, uint8_t out[SHA256_LEN])
{
	uint8_t inner[SHA256_LEN];

	sha256_final(&hc->inner, inner);
	sha256_update(&hc->outer, inner, sizeof(inner));
	sha256_final(&hc->outer, out);
	ct_wipe(inner, sizeof(inner));
}

void sha256_hmac(uint8_t out[SHA256_LEN], const void *key, size_t key_len,
		 const void *msg, size_t msg_len)
{
	struct hmac_ctx hc;

	hmac_init(&hc, key, key_len);
	sha256_update(&hc.inner, msg, msg_len);
	hmac_final(&hc, out);
}

/*
 * RFC 5869 section 2.2: PRK = HMAC-Hash(salt, IKM), where a salt that is not
 * provided is HashLen zeros.
 */
void sha256_hkdf_extract(uint8_t prk[SHA256_LEN], const void *salt, size_t salt_len,
			 const void *ikm, size_t ikm_len)
{
	static const uint8_t zeros[SHA256_LEN];

	if (salt_len == 0)
		sha256_hmac(prk, zeros, sizeof(zeros), ikm, ikm_len);
	else
		sha256_hmac(prk, salt, salt_len, ikm, ikm_len);
}

/*
 * RFC 5869 section 2.3: T(0) is empty, T(i) = HMAC-Hash(PRK, T(i-1) | info |
 * i) with i one octet from 1, and OKM is the first L octets of T(1) | T(2) |
 * .... The key is padded once and its two states copied for each T(i); prk
 * is read before out is written, so the two may overlap.
 */
int sha256_hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[SHA256_LEN],
		       const void *info, size_t info_len)
{
	struct hmac_ctx keyed, hc;
	uint8_t t[SHA256_LEN];
	size_t done = 0, n;
	uint8_t i;

	if (out_len > SHA256_HKDF_MAX_LEN)
		return -1;
	hmac_init(&keyed, prk, SHA256_LEN);
	for (i = 1; done < out_len; i++) {
		hc = keyed;
		if (i > 1)
			sha256_update(&hc.inner, t, sizeof(t));
		sha256_update(&hc.inner, info, info_len);
		sha256_update(&hc.inner, &i, 1);
		hmac_final(&hc, t);
		n = out_len - done < SHA256_LEN ? out_len - done : SHA256_LEN;
		memcpy(out + done, t, n);
		done += n;
	}
	ct_wipe(&keyed, sizeof(keyed));
	ct_wipe(t, sizeof(t));
	return 0;
}
