/* test_auth.c - unit tests for auth.c: K's derivation, sealed requests and answers, the replay windows. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "auth.h"
#include "bytes.h"
#include "harness.h"
#include "vectors.h"

/* RFC 7748 section 6.1: Alice's and Bob's keys. Here Alice is the client, Bob the server. */
#define ALICE_SECRET "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ALICE_PUBLIC "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define BOB_SECRET "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
#define BOB_PUBLIC "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
/*
 * K for that pair, computed apart (Python's hmac and hashlib): HKDF-SHA256
 * of the section 6.1 shared secret with salt AUTH_LABEL and info Alice's
 * public key || Bob's.
 */
#define K_ALICE_BOB "43b259ba0acff0753001175f362982e41b33e3684a6bb6ef32a7d52e934f089c"

/*
 * A LOOKUP from alice for bob under K_ALICE_BOB, counter 0x0005f0a1b2c3d4e5,
 * sealed apart (Python's cryptography, ChaCha20Poly1305):
 *   50 02 04 00          header: magic, version 2, LOOKUP, reserved
 *   05 "alice"           the prefix: the requester's name
 *   0005f0a1b2c3d4e5     counter, big-endian
 *   03 "bob"             the body: the target (then its 16-byte tag)
 */
#define OPEN_LOOKUP "5002040005616c6963650005f0a1b2c3d4e503626f62"
#define BODY_OFF 18
#define SEALED_REQUEST "5002040005616c6963650005f0a1b2c3d4e52fcd5e9de80ea7a92e0d5e18ae74c62085719262"
/* The same bytes sealed as an answer: only the nonce's first word differs (00 00 00 01). */
#define SEALED_ANSWER "5002040005616c6963650005f0a1b2c3d4e5bee936e599cc76d5ca920e043187b9d767043b7f"

static size_t hex(const char *h, uint8_t *out, size_t cap)
{
	long n = vectors_hex(h, out, cap);

	ck_assert_int_ge(n, 0);
	return (size_t)n;
}

static void k_alice_bob(uint8_t k[AUTH_KEY_LEN])
{
	hex(K_ALICE_BOB, k, AUTH_KEY_LEN);
}

START_TEST(derive_matches_vector_on_both_sides)
{
	uint8_t as[32], ap[32], bs[32], bp[32], want[32], k1[32], k2[32];

	hex(ALICE_SECRET, as, 32);
	hex(ALICE_PUBLIC, ap, 32);
	hex(BOB_SECRET, bs, 32);
	hex(BOB_PUBLIC, bp, 32);
	k_alice_bob(want);
	ck_assert_int_eq(auth_derive(k1, as, bp, ap, bp), 0);
	ck_assert_int_eq(auth_derive(k2, bs, ap, ap, bp), 0);
	ck_assert_mem_eq(k1, want, 32);
	ck_assert_mem_eq(k2, want, 32);
	/* The publics' order is part of K: swapped, another key. */
	ck_assert_int_eq(auth_derive(k2, bs, ap, bp, ap), 0);
	ck_assert(memcmp(k2, want, 32) != 0);
}
END_TEST

START_TEST(derive_refuses_low_order_points)
{
	uint8_t as[32], ap[32], k[32], zero[32] = { 0 }, one[32] = { 1 };

	hex(ALICE_SECRET, as, 32);
	hex(ALICE_PUBLIC, ap, 32);
	memset(k, 0xee, sizeof(k));
	/* RFC 7748 section 6.1: 0 and 1 make the shared secret all zeros. */
	ck_assert_int_eq(auth_derive(k, as, zero, ap, zero), -1);
	ck_assert_mem_eq(k, zero, 32);
	memset(k, 0xee, sizeof(k));
	ck_assert_int_eq(auth_derive(k, as, one, ap, one), -1);
	ck_assert_mem_eq(k, zero, 32);
}
END_TEST

START_TEST(nonce_layout)
{
	uint8_t n[12];
	static const uint8_t want_req[12] = { 0, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1 };
	static const uint8_t want_ans[12] = { 0, 0, 0, 1, 8, 7, 6, 5, 4, 3, 2, 1 };

	auth_nonce(n, AUTH_REQUEST, 0x0102030405060708);
	ck_assert_mem_eq(n, want_req, 12);
	auth_nonce(n, AUTH_ANSWER, 0x0102030405060708);
	ck_assert_mem_eq(n, want_ans, 12);
}
END_TEST

START_TEST(seal_matches_vectors)
{
	uint8_t k[32], buf[128], want[128];
	size_t len = hex(OPEN_LOOKUP, buf, sizeof(buf)), wlen;

	k_alice_bob(k);
	ck_assert_uint_eq(auth_counter(buf, BODY_OFF), 0x0005f0a1b2c3d4e5);
	wlen = hex(SEALED_REQUEST, want, sizeof(want));
	ck_assert_uint_eq(auth_seal_request(buf, len, sizeof(buf), BODY_OFF, k), wlen);
	ck_assert_mem_eq(buf, want, wlen);

	len = hex(OPEN_LOOKUP, buf, sizeof(buf));
	wlen = hex(SEALED_ANSWER, want, sizeof(want));
	ck_assert_uint_eq(auth_seal_answer(buf, len, sizeof(buf), BODY_OFF, k), wlen);
	ck_assert_mem_eq(buf, want, wlen);
}
END_TEST

START_TEST(open_vectors_and_directions)
{
	uint8_t k[32], in[128], out[128], want[128];
	size_t len = hex(SEALED_REQUEST, in, sizeof(in));
	size_t wlen = hex(OPEN_LOOKUP, want, sizeof(want));

	k_alice_bob(k);
	ck_assert_int_eq(auth_open_request(out, in, len, BODY_OFF, k), (long)wlen);
	ck_assert_mem_eq(out, want, wlen);
	/* A request never opens as an answer: the two directions never share a nonce. */
	ck_assert_int_eq(auth_open_answer(out, in, len, BODY_OFF, k), -1);
	len = hex(SEALED_ANSWER, in, sizeof(in));
	ck_assert_int_eq(auth_open_request(out, in, len, BODY_OFF, k), -1);
	/* In place. */
	ck_assert_int_eq(auth_open_answer(in, in, len, BODY_OFF, k), (long)wlen);
	ck_assert_mem_eq(in, want, wlen);
}
END_TEST

START_TEST(every_bit_flip_refused)
{
	uint8_t k[32], in[128], out[128];
	size_t len = hex(SEALED_REQUEST, in, sizeof(in));

	k_alice_bob(k);
	for (size_t bit = 0; bit < 8 * len; bit++) {
		in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(auth_open_request(out, in, len, BODY_OFF, k) == -1,
			      "bit %zu flipped and it opened", bit);
		in[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* A wrong key, one bit off, too. */
	for (size_t bit = 0; bit < 8 * 32; bit++) {
		k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_eq(auth_open_request(out, in, len, BODY_OFF, k), -1);
		k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_int_ge(auth_open_request(out, in, len, BODY_OFF, k), 0);
}
END_TEST

START_TEST(truncations_refused)
{
	uint8_t k[32], in[128], out[128];
	size_t len = hex(SEALED_REQUEST, in, sizeof(in));

	k_alice_bob(k);
	for (size_t n = 0; n < len; n++)
		ck_assert_msg(auth_open_request(out, in, n, BODY_OFF, k) == -1, "%zu bytes opened", n);
	/* A body offset below the counter or past the end: refused, not read out of bounds. */
	ck_assert_int_eq(auth_open_request(out, in, len, 7, k), -1);
	ck_assert_int_eq(auth_open_request(out, in, len, len + 1, k), -1);
}
END_TEST

START_TEST(round_trip_empty_body_and_capacity)
{
	uint8_t k[32], buf[64], out[64];
	size_t len;

	k_alice_bob(k);
	memset(buf, 0x41, sizeof(buf));
	bytes_put64(buf + 12, 99);
	/* An empty body (REFRESH): the tag alone vouches for the prefix. */
	ck_assert_uint_eq(auth_seal_request(buf, 20, sizeof(buf), 20, k), 20 + AUTH_TAG_LEN);
	ck_assert_int_eq(auth_open_request(out, buf, 20 + AUTH_TAG_LEN, 20, k), 20);
	ck_assert_mem_eq(out, buf, 20);
	buf[0] ^= 1;
	ck_assert_int_eq(auth_open_request(out, buf, 20 + AUTH_TAG_LEN, 20, k), -1);
	/* No room for the tag: nothing written. */
	len = 64 - AUTH_TAG_LEN + 1;
	memset(buf, 0x42, sizeof(buf));
	ck_assert_uint_eq(auth_seal_answer(buf, len, sizeof(buf), 20, k), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		ck_assert_uint_eq(buf[i], 0x42);
	ck_assert_uint_eq(auth_seal_answer(buf, 10, sizeof(buf), 4, k), 0);
	ck_assert_uint_eq(auth_seal_answer(buf, 10, sizeof(buf), 11, k), 0);
	ck_assert_uint_eq(auth_seal_answer(buf, 48, 48 + AUTH_TAG_LEN, 20, k), 48 + AUTH_TAG_LEN);
}
END_TEST

START_TEST(window_edges)
{
	const unsigned width = (unsigned)_i;
	struct auth_window w = { 0, 0 };
	const uint64_t top = 1000000;

	/* Empty: any counter but 0. */
	ck_assert_int_eq(auth_window_check(&w, width, 0), 0);
	ck_assert_int_eq(auth_window_check(&w, width, 1), 1);
	auth_window_accept(&w, width, top);
	ck_assert_int_eq(auth_window_check(&w, width, top), 0);      /* the same again */
	ck_assert_int_eq(auth_window_check(&w, width, top + 1), 1);  /* the next */
	ck_assert_int_eq(auth_window_check(&w, width, UINT64_MAX), 1);
	/* The oldest counter the window holds, and the one just below it. */
	ck_assert_int_eq(auth_window_check(&w, width, top - (width - 1)), 1);
	ck_assert_int_eq(auth_window_check(&w, width, top - width), 0);
	auth_window_accept(&w, width, top - (width - 1));
	ck_assert_int_eq(auth_window_check(&w, width, top - (width - 1)), 0);
	ck_assert_int_eq(auth_window_check(&w, width, top - 1), 1);
	/* A step up by one keeps the old ones in; the oldest falls out. */
	auth_window_accept(&w, width, top + 1);
	ck_assert_int_eq(auth_window_check(&w, width, top), 0);
	ck_assert_int_eq(auth_window_check(&w, width, top - 1), 1);
	ck_assert_int_eq(auth_window_check(&w, width, top - (width - 1)), 0);
	ck_assert_int_eq(auth_window_check(&w, width, top + 1 - width), 0);
	/* A step up by the width or more forgets the bitmap: all below is out. */
	auth_window_accept(&w, width, top + 1 + width);
	ck_assert_uint_eq(w.bits, 1);
	ck_assert_int_eq(auth_window_check(&w, width, top + 2), 1);
	ck_assert_int_eq(auth_window_check(&w, width, top + 1), 0);
	/* Every counter within the window once, in any order: then none again. */
	for (uint64_t i = 1; i < width; i++)
		auth_window_accept(&w, width, w.top - i);
	for (uint64_t i = 0; i < width; i++)
		ck_assert_int_eq(auth_window_check(&w, width, w.top - i), 0);
	ck_assert_uint_eq(w.bits, width == 64 ? UINT64_MAX : (((uint64_t)1 << width) - 1));
}
END_TEST

static Suite *auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, derive_matches_vector_on_both_sides);
	tcase_add_test(tc, derive_refuses_low_order_points);
	tcase_add_test(tc, nonce_layout);
	tcase_add_test(tc, seal_matches_vectors);
	tcase_add_test(tc, open_vectors_and_directions);
	tcase_add_test(tc, every_bit_flip_refused);
	tcase_add_test(tc, truncations_refused);
	tcase_add_test(tc, round_trip_empty_body_and_capacity);
	tcase_add_loop_test(tc, window_edges, AUTH_REQUEST_WINDOW, AUTH_REQUEST_WINDOW + 1);
	tcase_add_loop_test(tc, window_edges, AUTH_ANSWER_WINDOW, AUTH_ANSWER_WINDOW + 1);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(auth_suite());
}
