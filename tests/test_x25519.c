/* test_x25519.c - unit tests for x25519.c: RFC 7748, low-order points, decoding u, vector files. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "harness.h"
#include "vectors.h"
#include "x25519.h"

/* hex (64 digits) into out, or the test fails. */
static void hex32(uint8_t out[X25519_LEN], const char *hex)
{
	ck_assert_msg(vectors_hex(hex, out, X25519_LEN) == X25519_LEN, "bad hex %s", hex);
}

/* x25519(scalar, u) must return 0 and give want; all three in hex. */
static void check_x25519(const char *scalar, const char *u, const char *want)
{
	uint8_t k[X25519_LEN], p[X25519_LEN], w[X25519_LEN], out[X25519_LEN];

	hex32(k, scalar);
	hex32(p, u);
	hex32(w, want);
	ck_assert_int_eq(x25519(out, k, p), 0);
	ck_assert_mem_eq(out, w, X25519_LEN);
}

static void random32(struct rng64 *r, uint8_t out[X25519_LEN])
{
	for (int i = 0; i < X25519_LEN; i += 8)
		ct_put64le(out + i, rng64star_next(r));
}

/* RFC 7748 section 5.2, the two single-call vectors. */
START_TEST(rfc7748_5_2_vectors)
{
	check_x25519("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	/* This u has its top bit set: the RFC's vector also checks that it is masked. */
	check_x25519("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}
END_TEST

/*
 * Section 5.2's iterated test: k = u = 9; each round sets k to X25519(k, u)
 * and u to the old k. Checks k after each count in want[] (ascending).
 */
static void iterate(const unsigned long *counts, const char *const *want, int n)
{
	uint8_t k[X25519_LEN] = { 9 }, u[X25519_LEN] = { 9 }, r[X25519_LEN], w[X25519_LEN];
	unsigned long i = 0;

	for (int c = 0; c < n; c++) {
		for (; i < counts[c]; i++) {
			ck_assert_int_eq(x25519(r, k, u), 0);
			memcpy(u, k, X25519_LEN);
			memcpy(k, r, X25519_LEN);
		}
		hex32(w, want[c]);
		ck_assert_msg(memcmp(k, w, X25519_LEN) == 0, "after %lu iterations", counts[c]);
	}
}

static const char ITER_1[] = "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079";
static const char ITER_1000[] = "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51";
static const char ITER_1000000[] =
	"7c3911e0ab2586fd864497297e575e6f3bc601c0883c30df5f4dd2d24f665424";

START_TEST(rfc7748_5_2_iterated_1000)
{
	const unsigned long counts[] = { 1, 1000 };
	const char *const want[] = { ITER_1, ITER_1000 };

	iterate(counts, want, 2);
}
END_TEST

/* The million-round test takes minutes, so only `make crypto-slow` runs it. */
START_TEST(rfc7748_5_2_iterated_1000000)
{
	const unsigned long counts[] = { 1, 1000, 1000000 };
	const char *const want[] = { ITER_1, ITER_1000, ITER_1000000 };
	const char *slow = getenv("X25519_SLOW");

	if (slow == NULL || strcmp(slow, "1") != 0) {
		printf("rfc7748_5_2_iterated_1000000: skipped: set X25519_SLOW=1\n");
		return;
	}
	iterate(counts, want, 3);
	printf("rfc7748_5_2_iterated_1000000: passed\n");
}
END_TEST

/* Section 6.1: Alice's and Bob's keys, and the secret they share, both ways. */
START_TEST(rfc7748_6_1_diffie_hellman)
{
	uint8_t a[X25519_LEN], b[X25519_LEN], a_pub[X25519_LEN], b_pub[X25519_LEN];
	uint8_t want[X25519_LEN], out[X25519_LEN];

	hex32(a, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	hex32(b, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");

	hex32(want, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	x25519_public(a_pub, a);
	ck_assert_mem_eq(a_pub, want, X25519_LEN);
	hex32(want, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	x25519_public(b_pub, b);
	ck_assert_mem_eq(b_pub, want, X25519_LEN);

	hex32(want, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	ck_assert_int_eq(x25519(out, a, b_pub), 0);
	ck_assert_mem_eq(out, want, X25519_LEN);
	memset(out, 0, sizeof(out));
	ck_assert_int_eq(x25519(out, b, a_pub), 0);
	ck_assert_mem_eq(out, want, X25519_LEN);
}
END_TEST

/* Random key pairs agree both ways: X25519(a, X25519(b, 9)) = X25519(b, X25519(a, 9)). */
START_TEST(random_pairs_agree)
{
	struct rng64 r = { UINT64_C(0x7748) };

	for (int i = 0; i < 64; i++) {
		uint8_t a[X25519_LEN], b[X25519_LEN], a_pub[X25519_LEN], b_pub[X25519_LEN];
		uint8_t ab[X25519_LEN], ba[X25519_LEN];

		random32(&r, a);
		random32(&r, b);
		x25519_public(a_pub, a);
		x25519_public(b_pub, b);
		ck_assert_int_eq(x25519(ab, a, b_pub), 0);
		ck_assert_int_eq(x25519(ba, b, a_pub), 0);
		ck_assert_mem_eq(ab, ba, X25519_LEN);
		ck_assert_mem_ne(a_pub, b_pub, X25519_LEN);
	}
}
END_TEST

/*
 * The u-coordinates whose point has small order on the curve or its twist,
 * as published with Curve25519 (cr.yp.to/ecdh.html): a clamped scalar is a
 * multiple of 8, so each gives the all-zero result section 6.1 rejects.
 */
static const char *const low_order[] = {
	/* 0: (0, 0), of order 2 */
	"0000000000000000000000000000000000000000000000000000000000000000",
	/* 1: order 4 (doubling u = 1 or -1 gives u = 0) */
	"0100000000000000000000000000000000000000000000000000000000000000",
	/* the two points of order 8 */
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
	/* p - 1 = -1: order 4, on the twist */
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	/* p and p + 1: 0 and 1 again, not reduced */
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

START_TEST(low_order_points_rejected)
{
	struct rng64 r = { UINT64_C(0x61) };
	const size_t n = sizeof(low_order) / sizeof(low_order[0]);

	for (size_t i = 0; i < n; i++) {
		uint8_t u[X25519_LEN];

		hex32(u, low_order[i]);
		/* Each as published, then with bit 255 set, which decoding masks. */
		for (int top = 0; top < 2; top++) {
			u[31] = (uint8_t)(top ? u[31] | 0x80 : u[31] & 0x7f);
			for (int j = 0; j < 8; j++) {
				uint8_t k[X25519_LEN], out[X25519_LEN];

				random32(&r, k);
				memset(out, 0xa5, sizeof(out));
				ck_assert_msg(x25519(out, k, u) == -1, "point %zu top %d key %d", i,
					      top, j);
				ck_assert_msg(ct_is_zero(out, X25519_LEN), "point %zu: out not zero",
					      i);
			}
		}
	}
}
END_TEST

/* Section 5: "implementations of X25519 ... MUST mask the most significant bit". */
START_TEST(top_bit_of_u_ignored)
{
	struct rng64 r = { UINT64_C(0x255) };

	for (int i = 0; i < 64; i++) {
		uint8_t k[X25519_LEN], u[X25519_LEN], plain[X25519_LEN], top[X25519_LEN];

		random32(&r, k);
		random32(&r, u);
		u[31] &= 0x7f;
		ck_assert_int_eq(x25519(plain, k, u), 0);
		u[31] |= 0x80;
		ck_assert_int_eq(x25519(top, k, u), 0);
		ck_assert_mem_eq(plain, top, X25519_LEN);
	}
}
END_TEST

/*
 * Section 5: non-canonical u in p..2^255-1 are accepted and act as u - p.
 * Only p + d for d = 0..18 fit in 255 bits; d = 0 and 1 are of small order.
 */
START_TEST(non_canonical_u)
{
	struct rng64 r = { UINT64_C(0x19) };

	for (unsigned d = 0; d < 19; d++) {
		uint8_t big[X25519_LEN], small[X25519_LEN] = { (uint8_t)d };

		/* p + d = 2^255 - 19 + d: low byte 0xed + d, then 0xff..., top byte 0x7f. */
		memset(big, 0xff, sizeof(big));
		big[0] = (uint8_t)(0xed + d);
		big[31] = 0x7f;
		for (int j = 0; j < 4; j++) {
			uint8_t k[X25519_LEN], a[X25519_LEN], b[X25519_LEN];
			int ra, rb;

			random32(&r, k);
			ra = x25519(a, k, big);
			rb = x25519(b, k, small);
			ck_assert_int_eq(ra, rb);
			ck_assert_int_eq(ra, d < 2 ? -1 : 0);
			ck_assert_mem_eq(a, b, X25519_LEN);
		}
	}
}
END_TEST

/*
 * python3-cryptography-vectors' asymmetric/X25519/rfc7748.txt: records of
 * COUNT, INPUT_SCALAR, INPUT_U and OUTPUT_U (section 5.2's vectors and k = u = 9).
 */
START_TEST(cryptography_vectors_rfc7748)
{
	struct vectors_file v;
	int passed = 0;

	ck_assert_int_eq(vectors_open(&v, "asymmetric/X25519/rfc7748.txt"), 0);
	while (vectors_next(&v)) {
		const char *count = vectors_get(&v, "COUNT"), *k = vectors_get(&v, "INPUT_SCALAR");
		const char *u = vectors_get(&v, "INPUT_U"), *want = vectors_get(&v, "OUTPUT_U");

		ck_assert_msg(count != NULL && k != NULL && u != NULL && want != NULL,
			      "record without all four fields");
		check_x25519(k, u, want);
		passed++;
	}
	vectors_close(&v);
	ck_assert_int_gt(passed, 0);
	printf("rfc7748.txt: %d vectors passed\n", passed);
}
END_TEST

/*
 * Reads a DER file of the package whole; checks that it is prefix followed by
 * exactly 32 bytes of key, and returns those in key.
 */
static void der_key(const char *relpath, const uint8_t *prefix, size_t prefix_len,
		    uint8_t key[X25519_LEN])
{
	char path[512];
	uint8_t buf[128];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, relpath);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s (run tests/deps.sh)", path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ck_assert_msg(n == prefix_len + X25519_LEN, "%s: %zu bytes", relpath, n);
	ck_assert_mem_eq(buf, prefix, prefix_len);
	memcpy(key, buf + prefix_len, X25519_LEN);
}

/*
 * The package's X25519 key pair (x25519-pkcs8.der and x25519-pub.der, RFC
 * 8410 encodings): the public key must be X25519(private, 9).
 */
START_TEST(cryptography_vectors_key_pair)
{
	/* PrivateKeyInfo { version 0, id-X25519 (1.3.101.110), OCTET STRING { OCTET STRING (32) } } */
	static const uint8_t pkcs8[] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
					 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20 };
	/* SubjectPublicKeyInfo { id-X25519, BIT STRING (32 bytes, no unused bits) } */
	static const uint8_t spki[] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00 };
	uint8_t priv[X25519_LEN], pub[X25519_LEN], out[X25519_LEN];

	der_key("asymmetric/X25519/x25519-pkcs8.der", pkcs8, sizeof(pkcs8), priv);
	der_key("asymmetric/X25519/x25519-pub.der", spki, sizeof(spki), pub);
	x25519_public(out, priv);
	ck_assert_mem_eq(out, pub, X25519_LEN);
	printf("x25519-pkcs8.der, x25519-pub.der: 1 key pair passed\n");
}
END_TEST

static Suite *x25519_suite(void)
{
	Suite *s = suite_create("x25519");
	TCase *tc = tcase_create("core");
	TCase *slow = tcase_create("slow");

	tcase_add_test(tc, rfc7748_5_2_vectors);
	tcase_add_test(tc, rfc7748_5_2_iterated_1000);
	tcase_add_test(tc, rfc7748_6_1_diffie_hellman);
	tcase_add_test(tc, random_pairs_agree);
	tcase_add_test(tc, low_order_points_rejected);
	tcase_add_test(tc, top_bit_of_u_ignored);
	tcase_add_test(tc, non_canonical_u);
	tcase_add_test(tc, cryptography_vectors_rfc7748);
	tcase_add_test(tc, cryptography_vectors_key_pair);
	suite_add_tcase(s, tc);
	/* A million ladders take a minute or two plainly, far longer under the sanitizers. */
	tcase_set_timeout(slow, 3600);
	tcase_add_test(slow, rfc7748_5_2_iterated_1000000);
	suite_add_tcase(s, slow);
	return s;
}

int main(void)
{
	return harness_run(x25519_suite());
}
