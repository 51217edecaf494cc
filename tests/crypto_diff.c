/* tests/crypto_diff.c - our X25519, ChaCha20-Poly1305, SHA-256, HMAC and HKDF against libsodium's, byte for byte, on seeded random inputs. */

/*
 * Usage: crypto_diff [SEED [SCALE]]   (make crypto-diff runs it)
 *   SEED   the generator's seed, decimal or 0x hex (or CRYPTO_DIFF_SEED);
 *          by default a new one each run, printed first, so that a failure
 *          can be replayed exactly: crypto_diff SEED SCALE
 *   SCALE  multiplies every case count (or CRYPTO_DIFF_SCALE); by default 1,
 *          or SAN_SCALE under AddressSanitizer, which makes each case slower
 *
 * libsodium is the independent implementation here; it is linked into this
 * test, the fuzz target and the benchmark only, never into the programs.
 * Each kind of case draws from its own generator (the seed and the kind),
 * so scaling one kind does not move the inputs of the others.
 *
 * What is compared, for every case:
 *   x25519     x25519() and crypto_scalarmult_curve25519() on random scalars
 *              (every bit random: clamping is the function's job) and random
 *              points, with the top bit random, non-canonical u (2^255 - 19
 *              and up), the points of small order and real public keys mixed
 *              in: the same return code (libsodium returns -1 for an all-zero
 *              result as we do) and, when both succeed, the same 32 bytes;
 *              a refusal of ours leaves zeros (x25519.h)
 *   public     x25519_public() against crypto_scalarmult_curve25519_base()
 *   aead       chachapoly_seal() against crypto_aead_chacha20poly1305_ietf_
 *              encrypt(), ours opening theirs and theirs opening ours, now and
 *              then in place; then one tampering (a bit of the ciphertext, the
 *              tag, the associated data, the nonce or the key flipped, or the
 *              input cut short) that both must refuse, ours leaving zeros
 *   sha256     sha256_hash() and sha256_init/update/final with random splits
 *              against crypto_hash_sha256() and its init/update/final, each
 *              case on both compression functions (the x86 SHA extensions
 *              where the CPU has them, and the portable C)
 *   hmac       sha256_hmac() against crypto_auth_hmacsha256_init/update/final
 *              with keys of 0..200 bytes (longer than a block is hashed);
 *              hmac and hkdf cases alternate between the two functions
 *   hkdf       sha256_hkdf_extract/expand() against RFC 5869 section 2
 *              written here over libsodium's HMAC (1.0.18 has no HKDF), up to
 *              255 blocks, and one byte more refused with out untouched
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "chachapoly.h"
#include "sha256.h"
#include "rng.h"
#include "x25519.h"

/* AddressSanitizer (gcc defines the first, clang answers the second) makes a case ~5x slower. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_SAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_SAN 1
#endif
#endif
#ifdef UNDER_SAN
#define DEFAULT_SCALE 0.5
#else
#define DEFAULT_SCALE 1.0
#endif

/* Cases of each kind at scale 1: about 3 million in all, most of them small and cheap. */
#define X25519_CASES 40000
#define PUBLIC_CASES 10000
#define AEAD_CASES 600000
#define SHA256_CASES 1500000
#define HMAC_CASES 600000
#define HKDF_CASES 40000

#define MSG_MAX 4096 /* the longest message, plaintext or hashed */
#define AD_MAX 64    /* the longest associated data */
#define HMAC_KEY_MAX 200
#define HKDF_IN_MAX 80 /* salt, ikm and info */
#define SHOW_MAX 5     /* failures of one kind printed in full; the rest are counted */

/* One kind of case: its name, its count at scale 1, the function that runs one case. */
struct kind {
	const char *name;
	long cases;
	int (*run)(struct rng64 *r, long i);
	long passed, failed;
	double seconds;
};

static struct kind *current; /* the kind running, for fail() */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill(struct rng64 *r, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng64star_next32(r);
}

/* 0..n-1. */
static size_t below(struct rng64 *r, size_t n)
{
	return (size_t)(rng64star_next(r) % n);
}

/*
 * A message length in 0..MSG_MAX, weighted as traffic is: half of them
 * 0..64 (where the padding and the block edges are), then up to 256,
 * around 1,200 (a chat datagram), the edges of ChaCha20's and SHA-256's
 * 64-byte blocks anywhere, and the rest uniform up to 4096.
 */
static size_t pick_len(struct rng64 *r)
{
	size_t k = below(r, 100), n;

	if (k < 50)
		return below(r, 65);
	if (k < 65)
		return 65 + below(r, 192);
	if (k < 75)
		return 1200 - 20 + below(r, 41);
	if (k < 80)
		return 1200;
	if (k < 90) {
		n = 64 * (1 + below(r, MSG_MAX / 64)) + below(r, 3);
		return n - 1 > MSG_MAX ? MSG_MAX : n - 1;
	}
	return below(r, MSG_MAX + 1);
}

/*
 * A hashed message's length: more often than pick_len, the one- and
 * two-block messages where FIPS 180-4's padding (section 5.1.1) changes
 * shape, at 55 and 56 bytes and at every block's edge.
 */
static size_t pick_hash_len(struct rng64 *r)
{
	return below(r, 10) < 6 ? below(r, 2 * SHA256_BLOCK_LEN + 3) : pick_len(r);
}

/* Prints "NAME:" and len bytes in hex, at most 64 of them. */
static void show_hex(const char *name, const uint8_t *p, size_t len)
{
	fprintf(stderr, "    %s (%zu bytes):", name, len);
	for (size_t i = 0; i < len && i < 64; i++)
		fprintf(stderr, "%s%02x", i % 32 == 0 ? "\n      " : "", p[i]);
	fprintf(stderr, "%s\n", len > 64 ? " ..." : "");
}

/* Reports a mismatch of case i of the current kind; returns 0 so a case can `return fail(...)`. */
static int fail(long i, const char *what)
{
	if (current->failed < SHOW_MAX)
		fprintf(stderr, "FAIL %s case %ld: %s\n", current->name, i, what);
	return 0;
}

/* Prints the inputs of a failed case, as fail() does, only for the first few. */
static void show(const char *name, const uint8_t *p, size_t len)
{
	if (current->failed < SHOW_MAX)
		show_hex(name, p, len);
}

/* --- X25519 (RFC 7748) ----------------------------------------------------------------------- */

/*
 * The u-coordinates of small order (RFC 7748 section 6.1; the list that
 * libsodium and others refuse): 0, 1, the two points of order 8, and
 * p - 1, p and p + 1 (p = 2^255 - 19), which reduce to -1, 0 and 1.
 * Little-endian, the top bit clear; a case may set it.
 */
static const uint8_t small_order[][X25519_LEN] = {
	{ 0 },
	{ 1 },
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
	  0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b,
	  0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
};
#define N_SMALL_ORDER (sizeof(small_order) / sizeof(small_order[0]))

/* What the points of the x25519 cases were, for the summary. */
static long n_top_bit, n_noncanonical, n_small_order, n_public_key, n_refused;

/*
 * A point for X25519: random bytes (the top bit too) most of the time; else
 * a non-canonical u in [p, 2^255) with the top bit random, a point of small
 * order, or a real public key.
 */
static void pick_point(struct rng64 *r, uint8_t u[X25519_LEN])
{
	size_t k = below(r, 100);
	uint8_t s[X25519_LEN];

	fill(r, u, X25519_LEN);
	if (k < 10) {
		/* p + j, j = 0..18: 0xed + j, then 30 bytes of 0xff, then 0x7f. */
		memset(u, 0xff, X25519_LEN);
		u[0] = (uint8_t)(0xed + below(r, 19));
		u[31] = 0x7f;
		n_noncanonical++;
	} else if (k < 16) {
		memcpy(u, small_order[below(r, N_SMALL_ORDER)], X25519_LEN);
		n_small_order++;
	} else if (k < 24) {
		fill(r, s, sizeof(s));
		crypto_scalarmult_curve25519_base(u, s);
		n_public_key++;
		return;
	}
	/* RFC 7748 section 5: the top bit of u is ignored ("MUST mask"); half the points have it. */
	if (rng64star_next32(r) & 1) {
		u[31] |= 0x80;
		n_top_bit++;
	} else {
		u[31] &= 0x7f;
	}
}

static int x25519_case(struct rng64 *r, long i)
{
	uint8_t scalar[X25519_LEN], point[X25519_LEN], ours[X25519_LEN], theirs[X25519_LEN];
	int rc_ours, rc_theirs;

	fill(r, scalar, sizeof(scalar));
	pick_point(r, point);
	memset(ours, 0xaa, sizeof(ours));
	memset(theirs, 0x55, sizeof(theirs));
	rc_ours = x25519(ours, scalar, point);
	rc_theirs = crypto_scalarmult_curve25519(theirs, scalar, point);
	if (rc_ours == -1)
		n_refused++;
	if (rc_ours != rc_theirs || (rc_ours == 0 && memcmp(ours, theirs, X25519_LEN) != 0) ||
	    (rc_ours == -1 && !sodium_is_zero(ours, X25519_LEN))) {
		char what[96];

		snprintf(what, sizeof(what), "x25519 returned %d, libsodium %d", rc_ours, rc_theirs);
		fail(i, what);
		show("scalar", scalar, sizeof(scalar));
		show("point", point, sizeof(point));
		show("ours", ours, sizeof(ours));
		show("libsodium", theirs, sizeof(theirs));
		return 0;
	}
	return 1;
}

static int public_case(struct rng64 *r, long i)
{
	uint8_t secret[X25519_LEN], ours[X25519_LEN], theirs[X25519_LEN];

	fill(r, secret, sizeof(secret));
	x25519_public(ours, secret);
	if (crypto_scalarmult_curve25519_base(theirs, secret) != 0)
		return fail(i, "libsodium refused a base-point multiplication");
	if (memcmp(ours, theirs, X25519_LEN) != 0) {
		fail(i, "x25519_public differs from crypto_scalarmult_curve25519_base");
		show("secret", secret, sizeof(secret));
		show("ours", ours, sizeof(ours));
		show("libsodium", theirs, sizeof(theirs));
		return 0;
	}
	return 1;
}

/* --- ChaCha20-Poly1305 (RFC 8439 section 2.8) ------------------------------------------------ */

/* The tamperings of an aead case; each must be refused by both. */
enum tamper { T_CIPHERTEXT, T_TAG, T_AD, T_NONCE, T_KEY, T_TRUNCATE, T_COUNT };
static const char *const tamper_name[T_COUNT] = { "a ciphertext bit", "a tag bit", "an ad bit",
						  "a nonce bit", "a key bit", "cut short" };
static long n_tampered[T_COUNT], n_in_place;

static void flip_bit(struct rng64 *r, uint8_t *p, size_t len)
{
	size_t bit = below(r, len * 8);

	p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static int aead_case(struct rng64 *r, long i)
{
	static uint8_t pt[MSG_MAX], ours[MSG_MAX + CHACHAPOLY_TAG_LEN],
		theirs[MSG_MAX + CHACHAPOLY_TAG_LEN], back[MSG_MAX + CHACHAPOLY_TAG_LEN];
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN], ad[AD_MAX];
	size_t pt_len, ad_len, n, in_len;
	unsigned long long theirs_len, back_len;
	enum tamper t;
	long got;
	int in_place = below(r, 4) == 0;

	fill(r, key, sizeof(key));
	fill(r, nonce, sizeof(nonce));
	ad_len = below(r, AD_MAX + 1);
	fill(r, ad, ad_len);
	pt_len = pick_len(r);
	fill(r, pt, pt_len);

	/* Sealed by both: the same bytes. In place, ours seals the plaintext where it lies. */
	if (in_place) {
		memcpy(ours, pt, pt_len);
		n = chachapoly_seal(ours, ours, pt_len, ad, ad_len, key, nonce);
		n_in_place++;
	} else {
		n = chachapoly_seal(ours, pt, pt_len, ad, ad_len, key, nonce);
	}
	crypto_aead_chacha20poly1305_ietf_encrypt(theirs, &theirs_len, pt, pt_len, ad, ad_len, NULL,
						  nonce, key);
	if (n != pt_len + CHACHAPOLY_TAG_LEN || theirs_len != n || memcmp(ours, theirs, n) != 0) {
		fail(i, "chachapoly_seal differs from libsodium's encrypt");
		goto show_inputs;
	}

	/* Each opens the other's. */
	got = in_place ? chachapoly_open(theirs, theirs, n, ad, ad_len, key, nonce)
		       : chachapoly_open(back, theirs, n, ad, ad_len, key, nonce);
	if (got != (long)pt_len || memcmp(in_place ? theirs : back, pt, pt_len) != 0) {
		fail(i, "chachapoly_open did not open libsodium's ciphertext");
		goto show_inputs;
	}
	if (crypto_aead_chacha20poly1305_ietf_decrypt(back, &back_len, NULL, ours, n, ad, ad_len,
						      nonce, key) != 0 ||
	    back_len != pt_len || memcmp(back, pt, pt_len) != 0) {
		fail(i, "libsodium did not open chachapoly_seal's ciphertext");
		goto show_inputs;
	}

	/* One tampering, which both must refuse; ours leaves zeros where plaintext would be. */
	t = (enum tamper)below(r, T_COUNT);
	if (t == T_CIPHERTEXT && pt_len == 0)
		t = T_TAG;
	if (t == T_AD && ad_len == 0)
		t = T_NONCE;
	n_tampered[t]++;
	in_len = n;
	switch (t) {
	case T_CIPHERTEXT:
		flip_bit(r, ours, pt_len);
		break;
	case T_TAG:
		flip_bit(r, ours + pt_len, CHACHAPOLY_TAG_LEN);
		break;
	case T_AD:
		flip_bit(r, ad, ad_len);
		break;
	case T_NONCE:
		flip_bit(r, nonce, sizeof(nonce));
		break;
	case T_KEY:
		flip_bit(r, key, sizeof(key));
		break;
	default:
		in_len = below(r, n);
		break;
	}
	memset(back, 0xaa, sizeof(back));
	got = chachapoly_open(back, ours, in_len, ad, ad_len, key, nonce);
	if (got != -1 ||
	    (in_len > CHACHAPOLY_TAG_LEN && !sodium_is_zero(back, in_len - CHACHAPOLY_TAG_LEN))) {
		fail(i, got != -1 ? "chachapoly_open accepted a tampered input"
				  : "chachapoly_open refused but left bytes other than zeros");
		fprintf(stderr, "    tampering: %s, input %zu of %zu bytes\n", tamper_name[t], in_len,
			n);
		goto show_inputs;
	}
	if (crypto_aead_chacha20poly1305_ietf_decrypt(back, &back_len, NULL, ours, in_len, ad, ad_len,
						      nonce, key) != -1) {
		fail(i, "libsodium accepted a tampered input (so did we not?)");
		fprintf(stderr, "    tampering: %s\n", tamper_name[t]);
		goto show_inputs;
	}
	return 1;

show_inputs:
	show("key", key, sizeof(key));
	show("nonce", nonce, sizeof(nonce));
	show("ad", ad, ad_len);
	show("plaintext", pt, pt_len);
	return 0;
}

/* --- SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104), HKDF (RFC 5869) --------------------------- */

/* The length of the next piece of a streamed message: often 0 or 1, often a block's edge. */
static size_t pick_piece(struct rng64 *r, size_t left)
{
	size_t k = below(r, 8), n;

	if (k == 0)
		n = 0;
	else if (k < 3)
		n = 1 + below(r, 3);
	else if (k < 5)
		n = SHA256_BLOCK_LEN - 1 + below(r, 3);
	else
		n = below(r, left + 1);
	return n > left ? left : n;
}

static int sha256_case(struct rng64 *r, long i)
{
	static uint8_t msg[MSG_MAX];
	uint8_t ours[SHA256_LEN], streamed[SHA256_LEN], theirs[SHA256_LEN], theirs_streamed[SHA256_LEN];
	struct sha256_ctx ctx;
	crypto_hash_sha256_state st;
	size_t len = pick_hash_len(r), off, n;
	int portable;

	fill(r, msg, len);
	crypto_hash_sha256(theirs, msg, len);
	crypto_hash_sha256_init(&st);
	for (off = 0; off < len; off += n) {
		n = pick_piece(r, len - off);
		crypto_hash_sha256_update(&st, msg + off, n);
	}
	crypto_hash_sha256_final(&st, theirs_streamed);

	/* Ours twice: the x86 SHA extensions where the CPU has them, then the portable C. */
	for (portable = 0; portable < 2; portable++) {
		sha256_use_portable(portable);
		sha256_hash(ours, msg, len);
		sha256_init(&ctx);
		for (off = 0; off < len || below(r, 4) == 0; off += n) {
			n = pick_piece(r, len - off);
			sha256_update(&ctx, msg + off, n);
		}
		sha256_final(&ctx, streamed);
		if (memcmp(ours, theirs, SHA256_LEN) != 0 || memcmp(streamed, theirs, SHA256_LEN) != 0 ||
		    memcmp(theirs_streamed, theirs, SHA256_LEN) != 0) {
			fail(i, memcmp(ours, theirs, SHA256_LEN) != 0 ? "sha256_hash differs from libsodium's"
								      : "streamed SHA-256 differs");
			fprintf(stderr, "    the %s compression function\n",
				sha256_accelerated() ? "x86 SHA extensions'" : "portable");
			show("message", msg, len);
			show("sha256_hash", ours, SHA256_LEN);
			show("sha256_update in pieces", streamed, SHA256_LEN);
			show("libsodium", theirs, SHA256_LEN);
			return 0;
		}
	}
	return 1;
}

/* libsodium's HMAC-SHA256 of msg under a key of any length, fed in random pieces. */
static void their_hmac(struct rng64 *r, uint8_t out[SHA256_LEN], const uint8_t *key, size_t key_len,
		       const uint8_t *msg, size_t len)
{
	crypto_auth_hmacsha256_state st;
	size_t off, n;

	crypto_auth_hmacsha256_init(&st, key, key_len);
	for (off = 0; off < len; off += n) {
		n = r != NULL ? pick_piece(r, len - off) : len - off;
		crypto_auth_hmacsha256_update(&st, msg + off, n);
	}
	crypto_auth_hmacsha256_final(&st, out);
}

static int hmac_case(struct rng64 *r, long i)
{
	static uint8_t msg[MSG_MAX];
	uint8_t key[HMAC_KEY_MAX], ours[SHA256_LEN], theirs[SHA256_LEN];
	size_t key_len = below(r, HMAC_KEY_MAX + 1), len = pick_hash_len(r);

	fill(r, key, key_len);
	fill(r, msg, len);
	sha256_use_portable((int)(i & 1)); /* odd cases on the portable C */
	sha256_hmac(ours, key, key_len, msg, len);
	their_hmac(r, theirs, key, key_len, msg, len);
	if (memcmp(ours, theirs, SHA256_LEN) != 0) {
		fail(i, "sha256_hmac differs from libsodium's HMAC-SHA256");
		show("key", key, key_len);
		show("message", msg, len);
		show("ours", ours, SHA256_LEN);
		show("libsodium", theirs, SHA256_LEN);
		return 0;
	}
	return 1;
}

/*
 * HKDF as RFC 5869 section 2 writes it, over libsodium's HMAC:
 * PRK = HMAC(salt, IKM); T(0) = empty, T(n) = HMAC(PRK, T(n-1) | info | n),
 * OKM = the first L bytes of T(1) | T(2) | ... An empty salt is HashLen
 * zeros, which HMAC pads to the same key as no bytes at all.
 */
static void their_hkdf(uint8_t *okm, size_t len, const uint8_t *salt, size_t salt_len,
		       const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len)
{
	uint8_t prk[SHA256_LEN], t[SHA256_LEN], block[SHA256_LEN + HKDF_IN_MAX + 1];
	size_t done = 0, tlen = 0, n;
	uint8_t counter = 0;

	their_hmac(NULL, prk, salt, salt_len, ikm, ikm_len);
	while (done < len) {
		memcpy(block, t, tlen);
		memcpy(block + tlen, info, info_len);
		block[tlen + info_len] = ++counter;
		their_hmac(NULL, t, prk, SHA256_LEN, block, tlen + info_len + 1);
		tlen = SHA256_LEN;
		n = len - done < SHA256_LEN ? len - done : SHA256_LEN;
		memcpy(okm + done, t, n);
		done += n;
	}
}

static int hkdf_case(struct rng64 *r, long i)
{
	static uint8_t ours[SHA256_HKDF_MAX_LEN + 1], theirs[SHA256_HKDF_MAX_LEN];
	uint8_t salt[HKDF_IN_MAX], ikm[HKDF_IN_MAX], info[HKDF_IN_MAX], prk[SHA256_LEN];
	size_t salt_len = below(r, HKDF_IN_MAX + 1), ikm_len = below(r, HKDF_IN_MAX + 1);
	size_t info_len = below(r, HKDF_IN_MAX + 1), len, k = below(r, 100);
	int rc;

	/* Mostly a few keys' worth; now and then the most RFC 5869 allows, or one byte more. */
	if (k < 90)
		len = below(r, 4 * SHA256_LEN + 1);
	else if (k < 97)
		len = below(r, SHA256_HKDF_MAX_LEN + 1);
	else if (k < 99)
		len = SHA256_HKDF_MAX_LEN;
	else
		len = SHA256_HKDF_MAX_LEN + 1;
	fill(r, salt, salt_len);
	fill(r, ikm, ikm_len);
	fill(r, info, info_len);
	memset(ours, 0xaa, sizeof(ours));
	sha256_use_portable((int)(i & 1)); /* odd cases on the portable C */
	sha256_hkdf_extract(prk, salt, salt_len, ikm, ikm_len);
	rc = sha256_hkdf_expand(ours, len, prk, info, info_len);
	if (len > SHA256_HKDF_MAX_LEN) {
		for (size_t j = 0; j < len; j++)
			if (ours[j] != 0xaa)
				return fail(i, "sha256_hkdf_expand wrote out past 255 blocks");
		return rc == -1 ? 1 : fail(i, "sha256_hkdf_expand accepted 255 blocks and a byte");
	}
	their_hkdf(theirs, len, salt, salt_len, ikm, ikm_len, info, info_len);
	if (rc != 0 || memcmp(ours, theirs, len) != 0) {
		fail(i, "HKDF differs from RFC 5869 over libsodium's HMAC");
		fprintf(stderr, "    L = %zu, sha256_hkdf_expand returned %d\n", len, rc);
		show("salt", salt, salt_len);
		show("ikm", ikm, ikm_len);
		show("info", info, info_len);
		return 0;
	}
	return 1;
}

/* --- The run --------------------------------------------------------------------------------- */

static struct kind kinds[] = {
	{ "x25519", X25519_CASES, x25519_case, 0, 0, 0 },
	{ "public", PUBLIC_CASES, public_case, 0, 0, 0 },
	{ "aead", AEAD_CASES, aead_case, 0, 0, 0 },
	{ "sha256", SHA256_CASES, sha256_case, 0, 0, 0 },
	{ "hmac", HMAC_CASES, hmac_case, 0, 0, 0 },
	{ "hkdf", HKDF_CASES, hkdf_case, 0, 0, 0 },
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* What each kind's summary line adds after its count. */
static void describe(const struct kind *k)
{
	if (k->run == x25519_case)
		printf(" (points: %ld with the top bit set, %ld non-canonical u, %ld of small order,"
		       " %ld public keys; %ld refused as all-zero by both)",
		       n_top_bit, n_noncanonical, n_small_order, n_public_key, n_refused);
	if (k->run == aead_case) {
		printf(" (%ld in place; tampered, each to be refused by both:", n_in_place);
		for (int t = 0; t < T_COUNT; t++)
			printf("%s %ld %s", t ? "," : "", n_tampered[t], tamper_name[t]);
		printf(")");
	}
}

/* SEED or SCALE from argv[pos], else the environment variable, else NULL. */
static const char *setting(int argc, char **argv, int pos, const char *env)
{
	return argc > pos ? argv[pos] : getenv(env);
}

static void usage(void)
{
	fprintf(stderr, "usage: crypto_diff [SEED [SCALE]]  (or CRYPTO_DIFF_SEED, CRYPTO_DIFF_SCALE)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *seed_arg = setting(argc, argv, 1, "CRYPTO_DIFF_SEED");
	const char *scale_arg = setting(argc, argv, 2, "CRYPTO_DIFF_SCALE");
	uint64_t seed;
	double scale = DEFAULT_SCALE, start;
	long passed = 0, failed = 0;
	char *end;

	if (argc > 3)
		usage();
	if (seed_arg != NULL && *seed_arg != '\0') {
		errno = 0;
		seed = strtoull(seed_arg, &end, 0);
		if (errno != 0 || *end != '\0')
			usage();
	} else {
		/* A new seed each run explores new inputs; printed, it replays the run exactly. */
		seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid() << 32 ^ (uint64_t)clock();
	}
	if (scale_arg != NULL && *scale_arg != '\0') {
		scale = strtod(scale_arg, &end);
		if (*end != '\0' || !(scale > 0 && scale <= 1000))
			usage();
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "crypto_diff: sodium_init failed\n");
		return 1;
	}
	printf("crypto_diff: ours against libsodium %s, seed 0x%016" PRIx64 ", scale %g"
	       " (replay: crypto_diff 0x%016" PRIx64 " %g)\n",
	       sodium_version_string(), seed, scale, seed, scale);
	sha256_use_portable(0);
	printf("SHA-256 on %s\n", sha256_accelerated() ? "both the x86 SHA extensions and the portable C"
						       : "the portable C only (this CPU has no SHA extensions)");
	fflush(stdout);

	for (size_t k = 0; k < N_KINDS; k++) {
		struct kind *kd = &kinds[k];
		/* Each kind its own stream: seed and kind mixed, never 0 (xorshift's one forbidden state). */
		struct rng64 r = { (seed ^ (UINT64_C(0x9e3779b97f4a7c15) * (k + 1))) | 1 };
		long n = (long)((double)kd->cases * scale);

		if (n < 1)
			n = 1;
		current = kd;
		start = now_s();
		for (long i = 0; i < n; i++) {
			if (kd->run(&r, i))
				kd->passed++;
			else
				kd->failed++;
		}
		kd->seconds = now_s() - start;
		printf("%s %s: %ld cases, %ld failed, %.1f s", kd->failed ? "FAIL" : "ok  ", kd->name,
		       kd->passed + kd->failed, kd->failed, kd->seconds);
		describe(kd);
		printf("\n");
		fflush(stdout);
		passed += kd->passed;
		failed += kd->failed;
	}
	if (failed)
		printf("crypto_diff: replay with crypto_diff 0x%016" PRIx64 " %g\n", seed, scale);
	printf("crypto_diff: %ld passed, %ld failed\n", passed, failed);
	return failed ? 1 : 0;
}
