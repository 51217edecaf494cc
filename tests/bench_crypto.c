/* tests/bench_crypto.c - make bench's crypto table: X25519, ChaCha20-Poly1305 and SHA-256, ours beside libsodium's, on this machine. */

/*
 * Usage: bench_crypto   (make bench-crypto, and so make bench, runs it)
 *   BENCH_QUICK=1   3 rounds of 0.05 s a row instead of 7 of 0.2 s
 *
 * Each row runs ours and libsodium's in turn, round after round, so both
 * see the same machine; a round is a batch sized to last the round's time,
 * timed with CLOCK_MONOTONIC, and each side's figure is its best round (the
 * one least disturbed by the other processes on this machine). It prints
 * the figures, the ratio and issue 11's goal beside it; it asserts nothing.
 *
 * libsodium chooses its code when it starts, by what the CPU has: on
 * x86-64 with AVX2 its ChaCha20 is vectorised (eight blocks at once), and
 * its X25519 is hand-written assembly (sandy2x) where AVX is present and
 * the build included it (libsodium does not say which it took). Ours is
 * portable C11; the table prints which of libsodium's paths ran, since that
 * is most of any gap. Its SHA-256 is portable C. Ours runs on the x86 SHA
 * extensions where the CPU has them (sha256_x86.c), as the programs do; the
 * rows marked "portable C" force our portable compression function, which
 * other CPUs run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "chachapoly.h"
#include "sha256.h"
#include "x25519.h"

#define MIB (1024 * 1024)

static uint8_t in[MIB], out[MIB + CHACHAPOLY_TAG_LEN];
static uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN];
static uint8_t scalar[X25519_LEN], point[X25519_LEN];
static uint8_t digest[SHA256_LEN];
static long refused; /* X25519 or open calls that failed: none should, and the table says so */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The work of one row, n times over messages of len bytes. X25519 feeds each
 * result back in as the next point, so no call can be skipped or overlapped.
 */
static void ours_x25519(long n, size_t len)
{
	(void)len;
	for (long i = 0; i < n; i++) {
		refused += x25519(out, scalar, point) != 0;
		memcpy(point, out, X25519_LEN);
	}
}

static void theirs_x25519(long n, size_t len)
{
	(void)len;
	for (long i = 0; i < n; i++) {
		refused += crypto_scalarmult_curve25519(out, scalar, point) != 0;
		memcpy(point, out, X25519_LEN);
	}
}

static void ours_seal(long n, size_t len)
{
	for (long i = 0; i < n; i++)
		chachapoly_seal(out, in, len, NULL, 0, key, nonce);
}

static void theirs_seal(long n, size_t len)
{
	unsigned long long out_len;

	for (long i = 0; i < n; i++)
		crypto_aead_chacha20poly1305_ietf_encrypt(out, &out_len, in, len, NULL, 0, NULL, nonce,
							  key);
}

/* Opening: in holds a sealed message of len bytes (plus the tag), sealed by setup_open. */
static void ours_open(long n, size_t len)
{
	for (long i = 0; i < n; i++)
		refused += chachapoly_open(out, in, len + CHACHAPOLY_TAG_LEN, NULL, 0, key, nonce) < 0;
}

static void theirs_open(long n, size_t len)
{
	unsigned long long out_len;

	for (long i = 0; i < n; i++)
		refused += crypto_aead_chacha20poly1305_ietf_decrypt(
				   out, &out_len, NULL, in, len + CHACHAPOLY_TAG_LEN, NULL, 0, nonce,
				   key) != 0;
}

static void ours_sha256(long n, size_t len)
{
	for (long i = 0; i < n; i++)
		sha256_hash(digest, in, len);
}

/* Ours again, on the portable compression function whatever the CPU has. */
static void ours_sha256_portable(long n, size_t len)
{
	sha256_use_portable(1);
	ours_sha256(n, len);
	sha256_use_portable(0);
}

static void theirs_sha256(long n, size_t len)
{
	for (long i = 0; i < n; i++)
		crypto_hash_sha256(digest, in, len);
}

/* One line of the table: what is measured, for which size, and the goal of ours/libsodium. */
struct row {
	const char *what;
	size_t len;  /* message bytes; 0 for X25519, whose figure is operations per second */
	double goal; /* issue 11: 0.5 for X25519 and the AEAD, 0.7 for SHA-256; 0 for none */
	void (*ours)(long n, size_t len);
	void (*theirs)(long n, size_t len);
};

static const struct row rows[] = {
	{ "X25519 (operations/s)", 0, 0.5, ours_x25519, theirs_x25519 },
	{ "ChaCha20-Poly1305 seal 64 B (MB/s)", 64, 0.5, ours_seal, theirs_seal },
	{ "ChaCha20-Poly1305 seal 1200 B (MB/s)", 1200, 0.5, ours_seal, theirs_seal },
	{ "ChaCha20-Poly1305 open 1200 B (MB/s)", 1200, 0, ours_open, theirs_open },
	{ "SHA-256 64 B (MB/s)", 64, 0.7, ours_sha256, theirs_sha256 },
	{ "SHA-256 1 MiB (MB/s)", MIB, 0.7, ours_sha256, theirs_sha256 },
	{ "SHA-256 64 B, portable C (MB/s)", 64, 0.7, ours_sha256_portable, theirs_sha256 },
	{ "SHA-256 1 MiB, portable C (MB/s)", MIB, 0.7, ours_sha256_portable, theirs_sha256 },
};

/* How many calls of f last about `seconds`: doubled from 1 until a batch takes a tenth of it. */
static long calibrate(void (*f)(long, size_t), size_t len, double seconds)
{
	long n = 1;
	double t;

	for (;;) {
		t = now_s();
		f(n, len);
		t = now_s() - t;
		if (t >= seconds / 10 || n > (1L << 40))
			break;
		n *= 2;
	}
	return (long)((double)n * seconds / (t > 0 ? t : 1e-9)) + 1;
}

/* The figure of a batch of n calls that took t seconds: operations, or megabytes, per second. */
static double figure(const struct row *r, long n, double t)
{
	return r->len == 0 ? (double)n / t : (double)n * (double)r->len / t / 1e6;
}

int main(void)
{
	const char *quick = getenv("BENCH_QUICK");
	int rounds = 7;
	double seconds = 0.2;

	if (quick != NULL && strcmp(quick, "1") == 0) {
		rounds = 3;
		seconds = 0.05;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "bench_crypto: sodium_init failed\n");
		return 1;
	}
	randombytes_buf(in, sizeof(in));
	randombytes_buf(key, sizeof(key));
	randombytes_buf(nonce, sizeof(nonce));
	randombytes_buf(scalar, sizeof(scalar));
	crypto_scalarmult_curve25519_base(point, scalar);

	printf("\ncrypto: ours beside libsodium %s, best of %d rounds of %.2f s each, interleaved\n",
	       sodium_version_string(), rounds, seconds);
	printf("libsodium's paths here: ChaCha20 %s, X25519 %s (ours: portable C11)\n",
	       sodium_runtime_has_avx2() ? "AVX2 (8 blocks at once)"
	       : sodium_runtime_has_ssse3() ? "SSSE3" : "portable C",
	       sodium_runtime_has_avx() ? "sandy2x (AVX assembly) when built in, else ref10 C"
					: "ref10 (portable C)");
	printf("our SHA-256 here: %s\n", sha256_accelerated() ? "the x86 SHA extensions (and the portable C rows)"
							     : "portable C (this CPU has no SHA extensions)");
	printf("%-38s %12s %12s %9s %8s\n", "", "ours", "libsodium", "ratio", "goal");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		double best_ours = 0, best_theirs = 0, t, ratio;
		long n_ours, n_theirs;

		if (r->ours == ours_open) {
			/* A real sealed message, so that open does its full work and succeeds. */
			unsigned long long sealed_len;

			crypto_aead_chacha20poly1305_ietf_encrypt(in, &sealed_len, in, r->len, NULL, 0,
								  NULL, nonce, key);
		}
		n_ours = calibrate(r->ours, r->len, seconds);
		n_theirs = calibrate(r->theirs, r->len, seconds);
		for (int k = 0; k < rounds; k++) {
			t = now_s();
			r->ours(n_ours, r->len);
			t = now_s() - t;
			if (figure(r, n_ours, t) > best_ours)
				best_ours = figure(r, n_ours, t);
			t = now_s();
			r->theirs(n_theirs, r->len);
			t = now_s() - t;
			if (figure(r, n_theirs, t) > best_theirs)
				best_theirs = figure(r, n_theirs, t);
		}
		ratio = best_ours / best_theirs;
		printf("%-38s %12.1f %12.1f %8.2fx", r->what, best_ours, best_theirs, ratio);
		if (r->goal > 0)
			printf("  >= %.1fx %s\n", r->goal, ratio >= r->goal ? "met" : "BELOW");
		else
			printf("  (none)\n");
		fflush(stdout);
	}
	if (refused)
		printf("crypto: %ld X25519 or open calls failed, so their rows mean little\n", refused);
	return 0;
}
