/* tests/ctgrind.c - constant time, checked: each primitive runs under valgrind with its secret inputs marked undefined. */

/*
 * Usage: valgrind --error-exitcode=1 --track-origins=yes ctgrind CHECK
 * (tests/ctgrind.sh runs every CHECK; see `checks` below.)
 *
 * The ctgrind technique (Adam Langley, 2010): memcheck tracks, bit by bit,
 * which values are undefined, and reports a conditional jump or a memory
 * address that depends on one. Mark the secret inputs undefined with
 * VALGRIND_MAKE_MEM_UNDEFINED, run the primitive, and any branch or table
 * index that depends on a secret is reported, with the line and where the
 * secret came from. Arithmetic on secrets is allowed and reports nothing.
 * This sees the machine code, so it checks what the compiler made of the
 * C: the Makefile builds this test from the same objects, with the same
 * flags, as the programs.
 *
 * What is secret in each check:
 *   x25519         the scalar (the point is the peer's public key)
 *   x25519_public  the scalar
 *   seal           the key and the plaintext
 *   open           the key, the ciphertext and the tag; the verdict (the
 *                  return value) is then declassified before it is checked,
 *                  since acting on it is allowed: an attacker learns it anyway
 *   chacha20       the key and the input
 *   poly1305       the one-time key and the message
 *   sha256         the message bytes (its length is public), on the portable
 *                  C: valgrind 3.19 cannot run the x86 SHA extensions (SHA256RNDS2
 *                  is an illegal instruction to it, and its CPUID hides them),
 *                  so sha256_x86.c is not checked here; it has no branch and no
 *                  address that depends on the data, by reading
 *   hmac           the key and the message
 *   hkdf           salt, input key material and info; then the PRK
 * Lengths are public everywhere, as the wire shows them.
 *
 * Each check first computes its results on defined inputs, then again on
 * the same inputs marked undefined, then declassifies the outputs and
 * compares: a check proves the secret path really ran. A check outside
 * valgrind refuses to run, since it would prove nothing.
 *
 * The negative controls, leak_branch and leak_index, are deliberately
 * leaky (an early-exit tag compare, and an S-box read at a secret index);
 * memcheck must report them, or the method is proving nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/memcheck.h>

#include "chachapoly.h"
#include "rng.h"
#include "sha256.h"
#include "x25519.h"

#define MSG_MAX 1300 /* past one 1,200-byte datagram */

static struct rng64 gen = { UINT64_C(0x63746772696e6421) };

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng64star_next32(&gen);
}

/* From here on, memcheck treats the n bytes at p as unknown: any decision on them is reported. */
static void secret(void *p, size_t n)
{
	VALGRIND_MAKE_MEM_UNDEFINED(p, n);
}

/* The n bytes at p are public again (a result to check, a verdict to act on). */
static void declassify(void *p, size_t n)
{
	VALGRIND_MAKE_MEM_DEFINED(p, n);
}

static int failures;

/* Compares a result computed from secrets (declassified here) with the one from defined inputs. */
static void expect_same(const char *what, void *got, const void *want, size_t n)
{
	declassify(got, n);
	if (memcmp(got, want, n) != 0) {
		fprintf(stderr, "ctgrind: %s: the result on marked inputs differs\n", what);
		failures++;
	}
}

/* --- The checks ------------------------------------------------------------------------------ */

static void check_x25519(void)
{
	static const uint8_t small_order[X25519_LEN] = { 1 }; /* u = 1: the result is all zero */
	uint8_t scalar[X25519_LEN], point[X25519_LEN], want[X25519_LEN], got[X25519_LEN];
	int rc_want, rc_got;

	for (int i = 0; i < 3; i++) {
		fill(scalar, sizeof(scalar));
		if (i == 2)
			memcpy(point, small_order, sizeof(point));
		else
			fill(point, sizeof(point));
		rc_want = x25519(want, scalar, point);
		secret(scalar, sizeof(scalar));
		rc_got = x25519(got, scalar, point);
		declassify(&rc_got, sizeof(rc_got));
		if (rc_got != rc_want || rc_got != (i == 2 ? -1 : 0)) {
			fprintf(stderr, "ctgrind: x25519 returned %d, not %d\n", rc_got, rc_want);
			failures++;
		}
		expect_same("x25519", got, want, sizeof(got));
	}
}

static void check_x25519_public(void)
{
	uint8_t scalar[X25519_LEN], want[X25519_LEN], got[X25519_LEN];

	for (int i = 0; i < 2; i++) {
		fill(scalar, sizeof(scalar));
		x25519_public(want, scalar);
		secret(scalar, sizeof(scalar));
		x25519_public(got, scalar);
		expect_same("x25519_public", got, want, sizeof(got));
	}
}

/* Lengths for the AEAD and the hashes: empty, one byte, block edges, a datagram. */
static const size_t lengths[] = { 0, 1, 15, 16, 17, 55, 56, 63, 64, 65, 1200, 1201 };
#define N_LENGTHS (sizeof(lengths) / sizeof(lengths[0]))

static void check_seal(void)
{
	static uint8_t pt[MSG_MAX], want[MSG_MAX + CHACHAPOLY_TAG_LEN], got[MSG_MAX + CHACHAPOLY_TAG_LEN];
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN], ad[20];

	for (size_t i = 0; i < N_LENGTHS; i++) {
		size_t len = lengths[i], n;

		fill(key, sizeof(key));
		fill(nonce, sizeof(nonce));
		fill(ad, sizeof(ad));
		fill(pt, len);
		n = chachapoly_seal(want, pt, len, ad, i % 3 * 10, key, nonce);
		secret(key, sizeof(key));
		secret(pt, len);
		if (chachapoly_seal(got, pt, len, ad, i % 3 * 10, key, nonce) != n) {
			fprintf(stderr, "ctgrind: chachapoly_seal returned another length\n");
			failures++;
		}
		expect_same("chachapoly_seal", got, want, n);
	}
}

static void check_open(void)
{
	static uint8_t pt[MSG_MAX], ct[MSG_MAX + CHACHAPOLY_TAG_LEN], got[MSG_MAX];
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN], ad[20];

	/* Each length twice: the right tag, then a tag with one bit flipped. */
	for (size_t i = 0; i < 2 * N_LENGTHS; i++) {
		size_t len = lengths[i / 2], n;
		int tampered = i % 2;
		long r;

		fill(key, sizeof(key));
		fill(nonce, sizeof(nonce));
		fill(ad, sizeof(ad));
		fill(pt, len);
		n = chachapoly_seal(ct, pt, len, ad, sizeof(ad), key, nonce);
		if (tampered)
			ct[len + i % CHACHAPOLY_TAG_LEN] ^= 0x10;
		secret(key, sizeof(key));
		secret(ct, n);
		r = chachapoly_open(got, ct, n, ad, sizeof(ad), key, nonce);
		declassify(&r, sizeof(r));
		if (r != (tampered ? -1 : (long)len)) {
			fprintf(stderr, "ctgrind: chachapoly_open returned %ld on %zu bytes%s\n", r, len,
				tampered ? ", tampered" : "");
			failures++;
		} else if (!tampered) {
			expect_same("chachapoly_open", got, pt, len);
		}
	}
}

static void check_chacha20(void)
{
	static uint8_t in[MSG_MAX], want[MSG_MAX], got[MSG_MAX];
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN];

	for (size_t i = 0; i < N_LENGTHS; i++) {
		size_t len = lengths[i];

		fill(key, sizeof(key));
		fill(nonce, sizeof(nonce));
		fill(in, len);
		chachapoly_chacha20(want, in, len, key, (uint32_t)i, nonce);
		secret(key, sizeof(key));
		secret(in, len);
		chachapoly_chacha20(got, in, len, key, (uint32_t)i, nonce);
		expect_same("chachapoly_chacha20", got, want, len);
	}
}

static void check_poly1305(void)
{
	static uint8_t msg[MSG_MAX];
	uint8_t key[32], want[CHACHAPOLY_TAG_LEN], got[CHACHAPOLY_TAG_LEN];

	for (size_t i = 0; i < N_LENGTHS; i++) {
		size_t len = lengths[i];

		fill(key, sizeof(key));
		fill(msg, len);
		/* All ones now and then: the final carries and the reduction mod 2^130 - 5 at their edge. */
		if (i % 4 == 3)
			memset(msg, 0xff, len);
		chachapoly_poly1305(want, msg, len, key);
		secret(key, sizeof(key));
		secret(msg, len);
		chachapoly_poly1305(got, msg, len, key);
		expect_same("chachapoly_poly1305", got, want, sizeof(got));
	}
}

static void check_sha256(void)
{
	static uint8_t msg[MSG_MAX];
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	struct sha256_ctx ctx;

	for (size_t i = 0; i < N_LENGTHS; i++) {
		size_t len = lengths[i];

		fill(msg, len);
		sha256_hash(want, msg, len);
		secret(msg, len);
		sha256_hash(got, msg, len);
		expect_same("sha256_hash", got, want, sizeof(got));
		/* Streamed in two pieces, so a partial block waits in the context. */
		sha256_init(&ctx);
		sha256_update(&ctx, msg, len / 3);
		sha256_update(&ctx, msg + len / 3, len - len / 3);
		sha256_final(&ctx, got);
		expect_same("sha256_update", got, want, sizeof(got));
	}
}

static void check_hmac(void)
{
	static const size_t key_lengths[] = { 0, 16, 32, 64, 65, 200 };
	static uint8_t msg[MSG_MAX];
	uint8_t key[200], want[SHA256_LEN], got[SHA256_LEN];

	for (size_t i = 0; i < sizeof(key_lengths) / sizeof(key_lengths[0]); i++) {
		size_t key_len = key_lengths[i], len = lengths[(i * 5) % N_LENGTHS];

		fill(key, key_len);
		fill(msg, len);
		sha256_hmac(want, key, key_len, msg, len);
		secret(key, key_len);
		secret(msg, len);
		sha256_hmac(got, key, key_len, msg, len);
		expect_same("sha256_hmac", got, want, sizeof(got));
	}
}

static void check_hkdf(void)
{
	static uint8_t want[3 * SHA256_LEN + 5], got[sizeof(want)];
	uint8_t salt[32], ikm[40], info[24], prk[SHA256_LEN], prk_want[SHA256_LEN];

	for (int i = 0; i < 2; i++) {
		fill(salt, sizeof(salt));
		fill(ikm, sizeof(ikm));
		fill(info, sizeof(info));
		sha256_hkdf_extract(prk_want, salt, i * sizeof(salt), ikm, sizeof(ikm));
		if (sha256_hkdf_expand(want, sizeof(want), prk_want, info, sizeof(info)) != 0)
			failures++;
		secret(salt, sizeof(salt));
		secret(ikm, sizeof(ikm));
		secret(info, sizeof(info));
		sha256_hkdf_extract(prk, salt, i * sizeof(salt), ikm, sizeof(ikm));
		/* The PRK is as secret as what it came from; expand is checked from it undefined. */
		if (sha256_hkdf_expand(got, sizeof(got), prk, info, sizeof(info)) != 0)
			failures++;
		expect_same("sha256_hkdf_extract", prk, prk_want, sizeof(prk));
		expect_same("sha256_hkdf_expand", got, want, sizeof(got));
	}
}

/* --- The negative controls: leaky on purpose, so memcheck must report them ------------------- */

/*
 * A tag compared as memcmp() does, returning at the first difference: its
 * time tells an attacker how many leading bytes of a forged tag are right.
 * noinline, so the report names it.
 */
__attribute__((noinline)) static int leaky_compare(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

static void check_leak_branch(void)
{
	uint8_t tag[CHACHAPOLY_TAG_LEN], forged[CHACHAPOLY_TAG_LEN];
	int same;

	fill(tag, sizeof(tag));
	memcpy(forged, tag, sizeof(forged));
	forged[9] ^= 1;
	secret(tag, sizeof(tag));
	same = leaky_compare(tag, forged, sizeof(tag));
	declassify(&same, sizeof(same));
	printf("leak_branch: the forged tag %s\n", same ? "matched" : "was refused");
}

/* An S-box, as table-driven AES has: which cache line a read touches tells the secret index. */
static uint8_t sbox[256];

__attribute__((noinline)) static uint8_t leaky_lookup(const uint8_t *key, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc ^= sbox[key[i]];
	return acc;
}

static void check_leak_index(void)
{
	uint8_t key[16], v;

	for (int i = 0; i < 256; i++)
		sbox[i] = (uint8_t)(i * 167 + 13);
	fill(key, sizeof(key));
	secret(key, sizeof(key));
	v = leaky_lookup(key, sizeof(key));
	declassify(&v, sizeof(v));
	printf("leak_index: %u\n", v);
}

/* --- The run --------------------------------------------------------------------------------- */

static const struct {
	const char *name;
	void (*run)(void);
} checks[] = {
	{ "x25519", check_x25519 },
	{ "x25519_public", check_x25519_public },
	{ "seal", check_seal },
	{ "open", check_open },
	{ "chacha20", check_chacha20 },
	{ "poly1305", check_poly1305 },
	{ "sha256", check_sha256 },
	{ "hmac", check_hmac },
	{ "hkdf", check_hkdf },
	{ "leak_branch", check_leak_branch },
	{ "leak_index", check_leak_index },
};
#define N_CHECKS (sizeof(checks) / sizeof(checks[0]))

static void usage(void)
{
	fprintf(stderr, "usage: valgrind --error-exitcode=1 --track-origins=yes ctgrind CHECK\n"
			"CHECK:");
	for (size_t i = 0; i < N_CHECKS; i++)
		fprintf(stderr, " %s", checks[i].name);
	fprintf(stderr, " (leak_* are the negative controls, which must be reported)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		usage();
	/* Outside valgrind the marks do nothing, so a pass would prove nothing. */
	if (!RUNNING_ON_VALGRIND) {
		fprintf(stderr, "ctgrind: not running under valgrind; see tests/ctgrind.sh\n");
		return 2;
	}
	sha256_use_portable(1); /* what valgrind can run: see sha256 above */
	for (size_t i = 0; i < N_CHECKS; i++) {
		if (strcmp(argv[1], checks[i].name) == 0) {
			checks[i].run();
			return failures ? 1 : 0;
		}
	}
	usage();
	return 2;
}
