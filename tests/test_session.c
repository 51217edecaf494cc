/* test_session.c - unit tests for session.c: the cacophony vector, tests/noise_ref.py byte for byte, tampering, replay, timers, the tie-break; fake time. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "chachapoly.h"
#include "ct.h"
#include "harness.h"
#include "session.h"
#include "vectors.h"
#include "x25519.h"

#define T0 INT64_C(1000000)              /* a monotonic "now" far from 0, in ms */
#define UNIX_MS UINT64_C(1700000000123)  /* a wall clock, ms since 1970 */

static const uint8_t header[4] = { 0x50, 2, 18, 0 }; /* p2pchat's header of a DATA datagram */

/* 32 bytes seed, seed + 1, ... (keys that differ and are easy to write again in Python). */
static void fill32(uint8_t out[SESSION_KEY_LEN], unsigned seed)
{
	for (int i = 0; i < SESSION_KEY_LEN; i++)
		out[i] = (uint8_t)(seed + (unsigned)i);
}

static void hex_in(uint8_t *out, size_t len, const char *hex)
{
	ck_assert_msg(vectors_hex(hex, out, len) == (long)len, "bad hex %s", hex);
}

/* Alice (a) and Bob (b): identities, and each one's peer entry for the other. */
struct pair {
	struct session_identity a, b;
	struct session_peer pa; /* Alice's entry for Bob */
	struct session_peer pb; /* Bob's entry for Alice */
};

static void pair_init(struct pair *x, unsigned seed_a, unsigned seed_b)
{
	uint8_t k[SESSION_KEY_LEN];

	fill32(k, seed_a);
	session_identity_init(&x->a, k);
	fill32(k, seed_b);
	session_identity_init(&x->b, k);
	session_peer_init(&x->pa, x->b.pub);
	session_peer_init(&x->pb, x->a.pub);
}

/* p's side of a handshake: message 1 from `from` (identity id) to peer entry p. */
static long initiate(struct session_peer *p, const struct session_identity *id, unsigned eseed,
		     uint64_t unix_ms, uint32_t index, int64_t now, uint8_t msg[SESSION_INIT_LEN])
{
	uint8_t e[SESSION_KEY_LEN], ts[SESSION_TIMESTAMP_LEN];

	fill32(e, eseed);
	session_tai64n(ts, unix_ms);
	return session_initiate(p, id, e, ts, index, now, msg, SESSION_INIT_LEN);
}

/* The responder's two halves in one: read message 1 and answer it. */
static long respond(struct session_peer *p, const struct session_identity *id, const uint8_t *msg1,
		    unsigned eseed, uint32_t index, int64_t now, uint8_t msg2[SESSION_RESP_LEN])
{
	struct session_init in;
	uint8_t e[SESSION_KEY_LEN];
	int rc = session_read_init(id, msg1, SESSION_INIT_LEN, &in);

	if (rc < 0)
		return rc;
	fill32(e, eseed);
	return session_accept(p, id, &in, e, index, now, msg2, SESSION_RESP_LEN);
}

/* A whole handshake, Alice initiating (index 1), Bob answering (index 2), at now. */
static void handshake(struct pair *x, uint64_t unix_ms, int64_t now)
{
	uint8_t m1[SESSION_INIT_LEN], m2[SESSION_RESP_LEN];

	ck_assert_int_eq(initiate(&x->pa, &x->a, 100, unix_ms, 1, now, m1), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(&x->pb, &x->b, m1, 200, 2, now, m2), SESSION_RESP_LEN);
	ck_assert_int_eq(session_read_resp(&x->pa, m2, sizeof(m2), now), 0);
}

/* Seals text from p and opens it at q; checks that it arrives whole. */
static void deliver(struct session_peer *p, struct session_peer *q, const char *text, int64_t now)
{
	uint8_t dg[256], pt[256];
	size_t len = strlen(text);
	long n = session_peer_seal(p, header, sizeof(header), (const uint8_t *)text, len, now, dg,
				   sizeof(dg));

	ck_assert_int_eq(n, (long)(len + SESSION_SEALED_OVERHEAD));
	ck_assert_int_eq(session_peer_open(q, header, sizeof(header), dg, (size_t)n, now, pt,
					   sizeof(pt)), (long)len);
	ck_assert_mem_eq(pt, text, len);
}

/* The two sessions match: each side's send key is the other's receive key, and the indices agree. */
static void assert_matching(const struct session *s, const struct session *t)
{
	ck_assert(s->valid && t->valid);
	ck_assert_mem_eq(s->send_key, t->recv_key, SESSION_KEY_LEN);
	ck_assert_mem_eq(s->recv_key, t->send_key, SESSION_KEY_LEN);
	ck_assert(memcmp(s->send_key, s->recv_key, SESSION_KEY_LEN) != 0);
	ck_assert_uint_eq(s->remote_index, t->local_index);
	ck_assert_uint_eq(s->local_index, t->remote_index);
}

/*
 * The published vector: vectors/cacophony.txt (the Haskell cacophony
 * project, also in snow's tests/vectors), entry
 * Noise_IK_25519_ChaChaPoly_SHA256: prologue "John Galt", two handshake
 * messages with payloads, then four transport messages alternating
 * initiator, responder (empty associated data, counters 0, 0, 1, 1).
 */
START_TEST(cacophony_vector)
{
	static const char *const want[6] = {
		"ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944718da798efbcd915"
		"28520204f904b9bd6c7413dccdc214d951e15253e39987f18146e8cd0873654207148333479d4d16"
		"c289f0294b29960a72f48e0b7bba2e89083169825e59642148d492020664ccf7",
		"95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f1448088435361e70b2ed446e6"
		"c9ec387d1d6b3b840f194e373979d241b203c4acafccf5",
		"050e9f3c8fac16b68dbce8f8c4bfbf6617c897f9ada4aa29aa19c8",
		"344233a6cabb7141d80f3da2fedc311d9646bbb0f505afe403a667",
		"62cdeeb172ad7ade7aa7d9e069da5790f12331bfa00177787a1d0810c67dc3b2b4",
		"029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbeb2e8dfcead32d514024",
	};
	static const char *const payload[6] = {
		"Ludwig von Mises", "Murray Rothbard", "F. A. Hayek", "Carl Menger",
		"Jean-Baptiste Say", "Eugen B\xf6hm von Bawerk",
	};
	uint8_t is[32], ie[32], rs[32], re[32], is_pub[32], rs_pub[32], rs_want[32];
	uint8_t msg[256], w[256], pt[64];
	struct session_hs hi, hr;
	struct session si, sr, *from, *to;
	long n;
	int i;

	hex_in(is, 32, "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1");
	hex_in(ie, 32, "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a");
	hex_in(rs, 32, "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893");
	hex_in(re, 32, "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b");
	hex_in(rs_want, 32, "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62");
	x25519_public(is_pub, is);
	x25519_public(rs_pub, rs);
	ck_assert_mem_eq(rs_pub, rs_want, 32); /* the vector's init_remote_static */
	session_hs_init(&hi, 1, "John Galt", 9, is, is_pub, rs_pub);
	session_hs_init(&hr, 0, "John Galt", 9, rs, rs_pub, NULL);

	n = session_hs_write1(&hi, ie, (const uint8_t *)payload[0], 16, msg, sizeof(msg));
	ck_assert_int_eq(n, (long)vectors_hex(want[0], w, sizeof(w)));
	ck_assert_mem_eq(msg, w, (size_t)n);
	ck_assert_int_eq(session_hs_read1(&hr, msg, (size_t)n, pt, sizeof(pt)), 16);
	ck_assert_mem_eq(pt, payload[0], 16);
	ck_assert_mem_eq(hr.rs, is_pub, 32);

	n = session_hs_write2(&hr, re, (const uint8_t *)payload[1], 15, msg, sizeof(msg));
	ck_assert_int_eq(n, (long)vectors_hex(want[1], w, sizeof(w)));
	ck_assert_mem_eq(msg, w, (size_t)n);
	ck_assert_int_eq(session_hs_read2(&hi, msg, (size_t)n, pt, sizeof(pt)), 15);
	ck_assert_mem_eq(pt, payload[1], 15);
	ck_assert_mem_eq(hi.h, hr.h, SESSION_HASH_LEN); /* the handshake hashes agree */

	/* Transport through session_seal/open: the body after our 12-byte header is Noise's. */
	memset(&si, 0, sizeof(si));
	memset(&sr, 0, sizeof(sr));
	ck_assert_int_eq(session_hs_split(&hi, si.send_key, si.recv_key), 0);
	ck_assert_int_eq(session_hs_split(&hr, sr.send_key, sr.recv_key), 0);
	si.valid = sr.valid = 1;
	si.initiator = 1;
	for (i = 2; i < 6; i++) {
		size_t len = strlen(payload[i]);

		from = i % 2 == 0 ? &si : &sr;
		to = i % 2 == 0 ? &sr : &si;
		n = session_seal(from, NULL, 0, (const uint8_t *)payload[i], len, 0, msg, sizeof(msg));
		ck_assert_int_eq(n, (long)(len + SESSION_SEALED_OVERHEAD));
		ck_assert_int_eq(vectors_hex(want[i], w, sizeof(w)), (long)(len + SESSION_TAG_LEN));
		ck_assert_mem_eq(msg + SESSION_SEALED_HEADER_LEN, w, len + SESSION_TAG_LEN);
		ck_assert_uint_eq(bytes_get64(msg + 4), (uint64_t)(i - 2) / 2);
		ck_assert_int_eq(session_open(to, NULL, 0, msg, (size_t)n, 0, pt, sizeof(pt)),
				 (long)len);
		ck_assert_mem_eq(pt, payload[i], len);
	}
}
END_TEST

static void hex_line(char **p, const char *name, const uint8_t *b, size_t n)
{
	*p += sprintf(*p, "%s ", name);
	for (size_t i = 0; i < n; i++)
		*p += sprintf(*p, "%02x", b[i]);
	*p += sprintf(*p, "\n");
}

/*
 * tests/noise_ref.py, written apart from session.c on python3-cryptography,
 * plays the same handshake with the same fixed keys (1..32, 33..64 static;
 * 65..96, 97..128 ephemeral), timestamp, indices and header; its transcript
 * (handshake messages, first sealed datagrams, and the cacophony vector
 * again) must equal ours byte for byte.
 */
START_TEST(python_reference_agrees)
{
	static char ours[8192], theirs[8192];
	uint8_t k[SESSION_KEY_LEN], m1[SESSION_INIT_LEN], m2[SESSION_RESP_LEN], dg[64], pt[64];
	struct session_identity a, b;
	struct session_peer pa, pb;
	char *p = ours;
	size_t got;
	FILE *f;
	long n;

	fill32(k, 1);
	session_identity_init(&a, k);
	fill32(k, 33);
	session_identity_init(&b, k);
	session_peer_init(&pa, b.pub);
	session_peer_init(&pb, a.pub);
	ck_assert_int_eq(initiate(&pa, &a, 65, UNIX_MS, 0x11223344, T0, m1), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(&pb, &b, m1, 97, 0x55667788, T0, m2), SESSION_RESP_LEN);
	ck_assert_int_eq(session_read_resp(&pa, m2, sizeof(m2), T0), 0);
	hex_line(&p, "msg1", m1, sizeof(m1));
	hex_line(&p, "msg2", m2, sizeof(m2));
	n = session_peer_seal(&pa, header, 4, (const uint8_t *)"hello bob", 9, T0, dg, sizeof(dg));
	hex_line(&p, "i2r0", dg, (size_t)n);
	ck_assert_int_eq(session_peer_open(&pb, header, 4, dg, (size_t)n, T0, pt, sizeof(pt)), 9);
	n = session_peer_seal(&pb, header, 4, (const uint8_t *)"hello alice", 11, T0, dg,
			      sizeof(dg));
	hex_line(&p, "r2i0", dg, (size_t)n);
	n = session_peer_seal(&pa, header, 4, (const uint8_t *)"", 0, T0, dg, sizeof(dg));
	hex_line(&p, "i2r1", dg, (size_t)n);

	f = popen("/usr/bin/python3 tests/noise_ref.py", "r");
	ck_assert_msg(f != NULL, "cannot run /usr/bin/python3 tests/noise_ref.py");
	got = fread(theirs, 1, sizeof(theirs) - 1, f);
	ck_assert_int_eq(pclose(f), 0);
	theirs[got] = '\0';
	/* Python's first five lines are the p2pchat transcript; the rest, the cacophony vector. */
	ck_assert_msg(strncmp(ours, theirs, strlen(ours)) == 0, "ours:\n%s\npython:\n%s", ours,
		      theirs);
	ck_assert_msg(strstr(theirs, "cac5 029bead1b40992327044d409d9a1f3ad8f36c3c452775d557e18bbe"
				     "b2e8dfcead32d514024\n") != NULL,
		      "the reference misses the cacophony vector:\n%s", theirs);
}
END_TEST

/* A handshake, then lines both ways; Bob may not send before Alice confirmed the keys. */
START_TEST(round_trip_both_ways)
{
	struct pair x;
	uint8_t dg[64];
	char line[32];

	pair_init(&x, 1, 33);
	handshake(&x, UNIX_MS, T0);
	ck_assert(!x.pa.hs_pending);
	ck_assert(x.pa.current.valid && x.pb.next.valid && !x.pb.current.valid);
	assert_matching(&x.pa.current, &x.pb.next);
	/* Bob holds the session as next: he has no confirmation that Alice has it. */
	ck_assert_int_eq(session_peer_seal(&x.pb, header, 4, (const uint8_t *)"x", 1, T0, dg,
					   sizeof(dg)), SESSION_E_STATE);
	deliver(&x.pa, &x.pb, "hello bob", T0 + 1);
	ck_assert(x.pb.current.valid && !x.pb.next.valid);
	for (int i = 0; i < 100; i++) {
		snprintf(line, sizeof(line), "line %d", i);
		deliver(i % 3 ? &x.pa : &x.pb, i % 3 ? &x.pb : &x.pa, line, T0 + 2 + i);
	}
	ck_assert_uint_eq(x.pa.current.send_counter, 1 + 66);
	ck_assert_uint_eq(x.pb.current.send_counter, 34);
}
END_TEST

/*
 * Every bit of message 1 flipped, one at a time: refused (the payload,
 * static key and ephemeral are all bound), and the responder's peer entry
 * unchanged; then the true message 1 still goes through.
 */
START_TEST(message1_every_bit_flipped)
{
	struct pair x;
	struct session_peer before;
	struct session_init in;
	uint8_t m1[SESSION_INIT_LEN], bad[SESSION_INIT_LEN], m2[SESSION_RESP_LEN];

	pair_init(&x, 1, 33);
	ck_assert_int_eq(initiate(&x.pa, &x.a, 100, UNIX_MS, 1, T0, m1), SESSION_INIT_LEN);
	memcpy(&before, &x.pb, sizeof(before));
	for (size_t i = 0; i < sizeof(m1) * 8; i++) {
		memcpy(bad, m1, sizeof(m1));
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		ck_assert_msg(session_read_init(&x.b, bad, sizeof(bad), &in) == SESSION_E_AUTH,
			      "bit %zu", i);
		ck_assert(ct_is_zero(&in, sizeof(in))); /* nothing of it left behind */
		ck_assert_int_eq(respond(&x.pb, &x.b, bad, 200, 2, T0, m2), SESSION_E_AUTH);
	}
	ck_assert_mem_eq(&before, &x.pb, sizeof(before));
	ck_assert_int_eq(respond(&x.pb, &x.b, m1, 200, 2, T0, m2), SESSION_RESP_LEN);
	ck_assert_int_eq(session_read_resp(&x.pa, m2, sizeof(m2), T0), 0);
}
END_TEST

/* Every bit of message 2 flipped: refused, Alice's pending handshake intact; then the true one completes. */
START_TEST(message2_every_bit_flipped)
{
	struct pair x;
	struct session_peer before;
	uint8_t m1[SESSION_INIT_LEN], m2[SESSION_RESP_LEN], bad[SESSION_RESP_LEN];

	pair_init(&x, 1, 33);
	ck_assert_int_eq(initiate(&x.pa, &x.a, 100, UNIX_MS, 1, T0, m1), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(&x.pb, &x.b, m1, 200, 2, T0, m2), SESSION_RESP_LEN);
	memcpy(&before, &x.pa, sizeof(before));
	for (size_t i = 0; i < sizeof(m2) * 8; i++) {
		int rc;

		memcpy(bad, m2, sizeof(m2));
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		rc = session_read_resp(&x.pa, bad, sizeof(bad), T0);
		/* A flipped receiver index finds no handshake; any other flip fails a tag. */
		ck_assert_msg(rc == (i < 32 ? SESSION_E_STATE : SESSION_E_AUTH), "bit %zu: %d", i, rc);
		ck_assert_msg(memcmp(&before, &x.pa, sizeof(before)) == 0, "bit %zu", i);
	}
	ck_assert_int_eq(session_read_resp(&x.pa, m2, sizeof(m2), T0), 0);
	assert_matching(&x.pa.current, &x.pb.next);
	/* The same message 2 again: nothing is pending any more. */
	ck_assert_int_eq(session_read_resp(&x.pa, m2, sizeof(m2), T0), SESSION_E_STATE);
}
END_TEST

/* Every length but the right one, for each message; every truncation of a sealed datagram. */
START_TEST(wrong_lengths_refused)
{
	struct pair x;
	struct session_init in;
	uint8_t m1[SESSION_INIT_LEN + 1], m2[SESSION_RESP_LEN + 1], dg[64], pt[64];
	long n;

	pair_init(&x, 1, 33);
	ck_assert_int_eq(initiate(&x.pa, &x.a, 100, UNIX_MS, 1, T0, m1), SESSION_INIT_LEN);
	ck_assert_int_eq(session_initiate(&x.pa, &x.a, m1, m1, 1, T0, m2, SESSION_INIT_LEN - 1),
			 SESSION_E_LEN);
	m1[SESSION_INIT_LEN] = 0;
	for (size_t len = 0; len <= sizeof(m1); len++)
		if (len != SESSION_INIT_LEN)
			ck_assert_int_eq(session_read_init(&x.b, m1, len, &in), SESSION_E_LEN);
	ck_assert_int_eq(session_read_init(&x.b, m1, SESSION_INIT_LEN, &in), 0);
	ck_assert_int_eq(session_accept(&x.pb, &x.b, &in, m1, 2, T0, m2, SESSION_RESP_LEN - 1),
			 SESSION_E_LEN);
	ck_assert_int_eq(respond(&x.pb, &x.b, m1, 200, 2, T0, m2), SESSION_RESP_LEN);
	m2[SESSION_RESP_LEN] = 0;
	for (size_t len = 0; len <= sizeof(m2); len++)
		if (len != SESSION_RESP_LEN)
			ck_assert_int_eq(session_read_resp(&x.pa, m2, len, T0), SESSION_E_LEN);
	ck_assert_int_eq(session_read_resp(&x.pa, m2, SESSION_RESP_LEN, T0), 0);

	n = session_peer_seal(&x.pa, header, 4, (const uint8_t *)"abc", 3, T0, dg, sizeof(dg));
	ck_assert_int_eq(n, 31);
	ck_assert_int_eq(session_peer_seal(&x.pa, header, 4, (const uint8_t *)"abc", 3, T0, pt, 30),
			 SESSION_E_LEN);
	for (long len = 0; len < n; len++)
		ck_assert_int_eq(session_peer_open(&x.pb, header, 4, dg, (size_t)len, T0, pt,
						   sizeof(pt)), len < 4 ? SESSION_E_LEN :
				 len < SESSION_SEALED_OVERHEAD ? SESSION_E_LEN : SESSION_E_AUTH);
	ck_assert_int_eq(session_peer_open(&x.pb, header, 4, dg, (size_t)n, T0, pt, 2),
			 SESSION_E_LEN);
	ck_assert_int_eq(session_peer_open(&x.pb, header, 4, dg, (size_t)n, T0, pt, 3), 3);
}
END_TEST

/* A replayed message 1, one with the same timestamp and a new ephemeral, and an older one: refused. */
START_TEST(handshake_replay_refused)
{
	struct pair x;
	struct session_peer before;
	uint8_t m1[SESSION_INIT_LEN], m1b[SESSION_INIT_LEN], m2[SESSION_RESP_LEN];

	pair_init(&x, 1, 33);
	ck_assert_int_eq(initiate(&x.pa, &x.a, 100, UNIX_MS, 1, T0, m1), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(&x.pb, &x.b, m1, 200, 2, T0, m2), SESSION_RESP_LEN);
	ck_assert_int_eq(session_read_resp(&x.pa, m2, sizeof(m2), T0), 0);
	deliver(&x.pa, &x.pb, "confirmed", T0);
	memcpy(&before, &x.pb, sizeof(before));

	/* The very same bytes, later: they open (they are genuine) but change nothing. */
	ck_assert_int_eq(respond(&x.pb, &x.b, m1, 201, 3, T0 + 1000, m2), SESSION_E_REPLAY);
	ck_assert_mem_eq(&before, &x.pb, sizeof(before));
	/* A fresh message 1 with the same timestamp, and one a millisecond older. */
	ck_assert_int_eq(initiate(&x.pa, &x.a, 101, UNIX_MS, 5, T0, m1b), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(&x.pb, &x.b, m1b, 201, 3, T0, m2), SESSION_E_REPLAY);
	ck_assert_int_eq(initiate(&x.pa, &x.a, 102, UNIX_MS - 1, 6, T0, m1b), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(&x.pb, &x.b, m1b, 201, 3, T0, m2), SESSION_E_REPLAY);
	ck_assert_mem_eq(&before, &x.pb, sizeof(before));
	deliver(&x.pa, &x.pb, "still the same session", T0 + 1);
	/* One millisecond later grows: accepted, as a next session. */
	ck_assert_int_eq(initiate(&x.pa, &x.a, 103, UNIX_MS + 1, 7, T0, m1b), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(&x.pb, &x.b, m1b, 202, 4, T0, m2), SESSION_RESP_LEN);
	ck_assert(x.pb.next.valid);
	ck_assert_int_eq(session_read_resp(&x.pa, m2, sizeof(m2), T0), 0);
	assert_matching(&x.pa.current, &x.pb.next);
}
END_TEST

/*
 * The wrong static key: Alice pins a key that is not Bob's (Bob cannot open
 * message 1); Bob's entry pins another key than the sender's (SESSION_E_KEY);
 * another prologue (a foreign or older protocol) fails; a low-order pin is refused.
 */
START_TEST(wrong_keys_refused)
{
	struct pair x;
	struct session_peer wrong, before;
	struct session_init in;
	struct session_hs hs;
	uint8_t k[SESSION_KEY_LEN], e[SESSION_KEY_LEN], m1[SESSION_INIT_LEN], m2[SESSION_RESP_LEN];
	struct session_identity carol;
	uint8_t ts[SESSION_TIMESTAMP_LEN + SESSION_INDEX_LEN];

	pair_init(&x, 1, 33);
	fill32(k, 77);
	session_identity_init(&carol, k);
	session_peer_init(&wrong, carol.pub);
	ck_assert_int_eq(initiate(&wrong, &x.a, 100, UNIX_MS, 1, T0, m1), SESSION_INIT_LEN);
	ck_assert_int_eq(session_read_init(&x.b, m1, sizeof(m1), &in), SESSION_E_AUTH);
	ck_assert_int_eq(session_read_init(&carol, m1, sizeof(m1), &in), 0);
	ck_assert_mem_eq(in.remote_static, x.a.pub, SESSION_KEY_LEN); /* Carol learns it is Alice */
	ct_wipe(&in, sizeof(in));

	/* Bob's entry is for Carol; a message 1 from Alice is not from her. */
	ck_assert_int_eq(initiate(&x.pa, &x.a, 100, UNIX_MS, 1, T0, m1), SESSION_INIT_LEN);
	session_peer_init(&wrong, carol.pub);
	memcpy(&before, &wrong, sizeof(before));
	ck_assert_int_eq(respond(&wrong, &x.b, m1, 200, 2, T0, m2), SESSION_E_KEY);
	ck_assert_mem_eq(&before, &wrong, sizeof(before));

	/* A handshake under protocol version 1's label (or any other prologue). */
	fill32(e, 100);
	session_tai64n(ts, UNIX_MS);
	bytes_put32(ts + SESSION_TIMESTAMP_LEN, 1);
	session_hs_init(&hs, 1, "p2pchat session v1", 18, x.a.priv, x.a.pub, x.b.pub);
	ck_assert_int_eq(session_hs_write1(&hs, e, ts, sizeof(ts), m1, sizeof(m1)),
			 SESSION_INIT_LEN);
	ck_assert_int_eq(session_read_init(&x.b, m1, sizeof(m1), &in), SESSION_E_AUTH);

	/* A pinned key of all zeros (a low-order point): es is zero, refused before anything is sent. */
	memset(k, 0, sizeof(k));
	session_peer_init(&wrong, k);
	ck_assert_int_eq(initiate(&wrong, &x.a, 100, UNIX_MS, 1, T0, m1), SESSION_E_AUTH);
	ck_assert(!wrong.hs_pending);
}
END_TEST

/* Builds a datagram to s's peer with any counter (s's keys, its send counter set for the call). */
static long sealed_at(struct session *s, uint64_t counter, uint8_t *dg, size_t cap)
{
	uint64_t keep = s->send_counter;
	long n;

	s->send_counter = counter;
	n = session_seal(s, header, 4, (const uint8_t *)"m", 1, T0, dg, cap);
	s->send_counter = keep;
	return n;
}

/* Opens a datagram with counter c from a at b; returns session_open's answer. */
static long take(struct session *a, struct session *b, uint64_t c)
{
	uint8_t dg[64], pt[64];
	long n = sealed_at(a, c, dg, sizeof(dg));

	ck_assert_int_eq(n, 1 + SESSION_SEALED_OVERHEAD);
	return session_open(b, header, 4, dg, (size_t)n, T0, pt, sizeof(pt));
}

/* Two confirmed sessions, Alice's and Bob's, for the replay tests. */
static void established(struct pair *x)
{
	pair_init(x, 1, 33);
	handshake(x, UNIX_MS, T0);
	deliver(&x->pa, &x->pb, "confirm", T0);
	/* Bob's window has taken counter 0; start the tests from a fresh window. */
	memset(&x->pb.current.replay, 0, sizeof(x->pb.current.replay));
}

START_TEST(replay_window)
{
	struct pair x;
	struct session *a, *b;
	uint8_t dg[64], pt[64];
	long n;

	established(&x);
	a = &x.pa.current;
	b = &x.pb.current;
	/* A duplicate: the second copy is refused and leaves nothing in out. */
	n = sealed_at(a, 0, dg, sizeof(dg));
	ck_assert_int_eq(session_open(b, header, 4, dg, (size_t)n, T0, pt, sizeof(pt)), 1);
	memset(pt, 0x55, sizeof(pt));
	ck_assert_int_eq(session_open(b, header, 4, dg, (size_t)n, T0, pt, sizeof(pt)),
			 SESSION_E_REPLAY);
	ck_assert_uint_eq(pt[0], 0);
	/* Out of order inside the window: 100..1 backwards, each once. */
	for (uint64_t c = 100; c >= 1; c--)
		ck_assert_int_eq(take(a, b, c), 1);
	for (uint64_t c = 0; c <= 100; c++)
		ck_assert_int_eq(take(a, b, c), SESSION_E_REPLAY);
	/* The edge of the window: with 100 + 1984 the greatest, 101 is 1983 behind, 100 is 1984. */
	ck_assert_int_eq(take(a, b, 2084), 1);
	ck_assert_int_eq(take(a, b, 101), 1);
	ck_assert_int_eq(take(a, b, 102), 1);
	ck_assert_int_eq(take(a, b, 99), SESSION_E_REPLAY); /* too old, never seen */
	/* A jump of 2^40: the whole window is new; just below it is taken once, the old is too old. */
	ck_assert_int_eq(take(a, b, UINT64_C(1) << 40), 1);
	ck_assert_int_eq(take(a, b, (UINT64_C(1) << 40) - 1), 1);
	ck_assert_int_eq(take(a, b, (UINT64_C(1) << 40) - 1), SESSION_E_REPLAY);
	ck_assert_int_eq(take(a, b, (UINT64_C(1) << 40) - 2048), SESSION_E_REPLAY);
	ck_assert_int_eq(take(a, b, (UINT64_C(1) << 40) - 1984), SESSION_E_REPLAY); /* just out */
	ck_assert_int_eq(take(a, b, (UINT64_C(1) << 40) - 1983), 1);
	/* Jumps of one word to the next, and of 31 and 33 words, clear what they pass. */
	for (uint64_t base = UINT64_C(1) << 41, j = 0; j < 3; j++) {
		uint64_t c = base + j * 64 * 33;

		ck_assert_int_eq(take(a, b, c), 1);
		ck_assert_int_eq(take(a, b, c + 64), 1);
		ck_assert_int_eq(take(a, b, c + 64 * 32), 1);
		ck_assert_int_eq(take(a, b, c + 64 * 31), 1);
		ck_assert_int_eq(take(a, b, c + 64 * 32), SESSION_E_REPLAY);
	}
}
END_TEST

/* A forged datagram with a huge counter must not move the window; counters past REJECT are refused. */
START_TEST(replay_only_after_open)
{
	struct pair x;
	struct session *a, *b;
	struct session_replay keep;
	uint8_t dg[64], pt[64], nonce[CHACHAPOLY_NONCE_LEN];
	long n;

	established(&x);
	a = &x.pa.current;
	b = &x.pb.current;
	ck_assert_int_eq(take(a, b, 10), 1);
	n = sealed_at(a, 11, dg, sizeof(dg));
	bytes_put64(dg + 4, UINT64_C(1) << 50); /* the counter changed: the nonce no longer fits */
	memcpy(&keep, &b->replay, sizeof(keep));
	ck_assert_int_eq(session_open(b, header, 4, dg, (size_t)n, T0, pt, sizeof(pt)),
			 SESSION_E_AUTH);
	ck_assert_mem_eq(&keep, &b->replay, sizeof(keep));
	ck_assert_int_eq(take(a, b, 5), 1);
	/* A changed header byte (the associated data) fails too. */
	n = sealed_at(a, 12, dg, sizeof(dg));
	ck_assert_int_eq(session_open(b, (const uint8_t *)"\x50\x02\x13\x00", 4, dg, (size_t)n, T0,
				      pt, sizeof(pt)), SESSION_E_AUTH);
	ck_assert_int_eq(session_open(b, header, 4, dg, (size_t)n, T0, pt, sizeof(pt)), 1);
	/* A genuine datagram at REJECT_AFTER_MESSAGES (sealed by hand: session_seal will not). */
	bytes_put32(dg, b->local_index);
	bytes_put64(dg + 4, SESSION_REJECT_AFTER_MESSAGES);
	memset(nonce, 0, 4);
	ct_put64le(nonce + 4, SESSION_REJECT_AFTER_MESSAGES);
	chachapoly_seal(dg + 12, (const uint8_t *)"m", 1, header, 4, a->send_key, nonce);
	ck_assert_int_eq(session_open(b, header, 4, dg, 29, T0, pt, sizeof(pt)), SESSION_E_REPLAY);
	/* Another index: not this session's. */
	n = sealed_at(a, 13, dg, sizeof(dg));
	dg[3] ^= 1;
	ck_assert_int_eq(session_open(b, header, 4, dg, (size_t)n, T0, pt, sizeof(pt)),
			 SESSION_E_STATE);
}
END_TEST

/* The timers at their boundaries, with fake time, for each role; and by message count. */
START_TEST(timers_at_boundaries)
{
	struct pair x;
	struct session *a, *b;
	uint8_t dg[64], pt[64];
	long n;

	established(&x);
	a = &x.pa.current; /* the initiator's */
	b = &x.pb.current; /* the responder's */
	ck_assert_uint_eq(session_timers(a, T0), 0);
	ck_assert_uint_eq(session_timers(a, T0 + SESSION_REKEY_AFTER_TIME_MS - 1), 0);
	ck_assert_uint_eq(session_timers(a, T0 + SESSION_REKEY_AFTER_TIME_MS), SESSION_DUE_REKEY);
	/* The responder waits for the initiator, until the last resort at 165 s. */
	ck_assert_uint_eq(session_timers(b, T0 + SESSION_REKEY_AFTER_TIME_MS), 0);
	ck_assert_int_eq(SESSION_REKEY_LAST_RESORT_MS, 165000);
	ck_assert_uint_eq(session_timers(b, T0 + SESSION_REKEY_LAST_RESORT_MS - 1), 0);
	ck_assert_uint_eq(session_timers(b, T0 + SESSION_REKEY_LAST_RESORT_MS), SESSION_DUE_REKEY);
	ck_assert_uint_eq(session_timers(b, T0 + SESSION_REJECT_AFTER_TIME_MS - 1),
			  SESSION_DUE_REKEY);
	ck_assert_uint_eq(session_timers(b, T0 + SESSION_REJECT_AFTER_TIME_MS),
			  SESSION_DUE_REKEY | SESSION_DUE_REJECT);
	/* Seal and open work up to the last millisecond and stop at 180 s. */
	n = session_seal(a, header, 4, (const uint8_t *)"m", 1,
			 T0 + SESSION_REJECT_AFTER_TIME_MS - 1, dg, sizeof(dg));
	ck_assert_int_eq(n, 29);
	ck_assert_int_eq(session_open(b, header, 4, dg, (size_t)n, T0 + SESSION_REJECT_AFTER_TIME_MS,
				      pt, sizeof(pt)), SESSION_E_EXPIRED);
	ck_assert_int_eq(session_open(b, header, 4, dg, (size_t)n,
				      T0 + SESSION_REJECT_AFTER_TIME_MS - 1, pt, sizeof(pt)), 1);
	ck_assert_int_eq(session_seal(a, header, 4, (const uint8_t *)"m", 1,
				      T0 + SESSION_REJECT_AFTER_TIME_MS, dg, sizeof(dg)),
			 SESSION_E_EXPIRED);
	/* By count: 2^60 asks for a rekey, 2^64 - 2^13 - 1 stops sending. */
	a->send_counter = SESSION_REKEY_AFTER_MESSAGES - 1;
	ck_assert_uint_eq(session_timers(a, T0), 0);
	ck_assert_int_eq(session_seal(a, header, 4, (const uint8_t *)"m", 1, T0, dg, sizeof(dg)), 29);
	ck_assert_uint_eq(session_timers(a, T0), SESSION_DUE_REKEY);
	a->send_counter = SESSION_REJECT_AFTER_MESSAGES - 1;
	ck_assert_int_eq(session_seal(a, header, 4, (const uint8_t *)"m", 1, T0, dg, sizeof(dg)), 29);
	ck_assert_uint_eq(bytes_get64(dg + 4), SESSION_REJECT_AFTER_MESSAGES - 1);
	ck_assert_uint_eq(session_timers(a, T0), SESSION_DUE_REKEY | SESSION_DUE_REJECT);
	ck_assert_int_eq(session_seal(a, header, 4, (const uint8_t *)"m", 1, T0, dg, sizeof(dg)),
			 SESSION_E_EXPIRED);
	ck_assert_uint_eq(a->send_counter, SESSION_REJECT_AFTER_MESSAGES); /* never beyond */
	session_wipe(a);
	ck_assert_uint_eq(session_timers(a, T0), SESSION_DUE_REKEY | SESSION_DUE_REJECT);
	ck_assert_int_eq(session_seal(a, header, 4, (const uint8_t *)"m", 1, T0, dg, sizeof(dg)),
			 SESSION_E_STATE);
}
END_TEST

/* session_peer_tick: retries after REKEY_TIMEOUT, gives up after REKEY_ATTEMPT_TIME, rekeys, wipes. */
START_TEST(peer_tick)
{
	struct pair x;
	uint8_t m1[SESSION_INIT_LEN];
	int64_t next;
	unsigned todo;

	pair_init(&x, 1, 33);
	ck_assert_uint_eq(session_peer_tick(&x.pa, T0, &next), 0); /* nothing, nothing due */
	ck_assert(next == INT64_MAX);
	ck_assert_int_eq(initiate(&x.pa, &x.a, 100, UNIX_MS, 1, T0, m1), SESSION_INIT_LEN);
	ck_assert_uint_eq(session_peer_tick(&x.pa, T0 + SESSION_REKEY_TIMEOUT_MS - 1, &next), 0);
	ck_assert(next == T0 + SESSION_REKEY_TIMEOUT_MS);
	ck_assert_uint_eq(session_peer_tick(&x.pa, T0 + SESSION_REKEY_TIMEOUT_MS, &next),
			  SESSION_TODO_INITIATE);
	/* Retries every 5 s keep the round's start; at 90 s the round is given up. */
	for (int64_t t = T0 + 5000; t < T0 + SESSION_REKEY_ATTEMPT_TIME_MS; t += 5000)
		ck_assert_int_eq(initiate(&x.pa, &x.a, 100, UNIX_MS + (uint64_t)(t - T0), 1, t, m1),
				 SESSION_INIT_LEN);
	ck_assert(x.pa.hs_first_ms == T0);
	todo = session_peer_tick(&x.pa, T0 + SESSION_REKEY_ATTEMPT_TIME_MS, &next);
	ck_assert_uint_eq(todo, SESSION_TODO_GAVE_UP);
	ck_assert(!x.pa.hs_pending && ct_is_zero(&x.pa.hs, sizeof(x.pa.hs)));

	/* An established session: Alice (initiator) is asked to rekey at 120 s, Bob at 165 s. */
	pair_init(&x, 1, 33);
	handshake(&x, UNIX_MS, T0);
	deliver(&x.pa, &x.pb, "confirm", T0);
	ck_assert_uint_eq(session_peer_tick(&x.pa, T0 + 1, &next), 0);
	ck_assert(next == T0 + SESSION_REKEY_AFTER_TIME_MS);
	ck_assert_uint_eq(session_peer_tick(&x.pb, T0 + 1, &next), 0);
	ck_assert(next == T0 + SESSION_REKEY_LAST_RESORT_MS);
	ck_assert_uint_eq(session_peer_tick(&x.pa, T0 + SESSION_REKEY_AFTER_TIME_MS, &next),
			  SESSION_TODO_INITIATE);
	ck_assert_uint_eq(session_peer_tick(&x.pb, T0 + SESSION_REKEY_AFTER_TIME_MS, &next), 0);
	ck_assert_uint_eq(session_peer_tick(&x.pb, T0 + SESSION_REKEY_LAST_RESORT_MS, &next),
			  SESSION_TODO_INITIATE);
	/* At 180 s the session is wiped. */
	session_peer_tick(&x.pb, T0 + SESSION_REJECT_AFTER_TIME_MS, &next);
	ck_assert(ct_is_zero(&x.pb.current, sizeof(x.pb.current)));
	ck_assert(next == INT64_MAX);
}
END_TEST

/*
 * A rekey: Alice starts a new handshake at 120 s; Bob keeps sending under the
 * old keys until Alice's first datagram under the new ones; datagrams still
 * in flight under the old keys open as the previous session.
 */
START_TEST(rekey_hands_over)
{
	struct pair x;
	uint8_t m1[SESSION_INIT_LEN], m2[SESSION_RESP_LEN], old[64], pt[64];
	uint32_t old_b_index;
	long n;
	int64_t t = T0 + SESSION_REKEY_AFTER_TIME_MS;

	pair_init(&x, 1, 33);
	handshake(&x, UNIX_MS, T0);
	deliver(&x.pa, &x.pb, "confirm", T0);
	old_b_index = x.pb.current.local_index;
	n = session_peer_seal(&x.pa, header, 4, (const uint8_t *)"late", 4, t, old, sizeof(old));
	ck_assert_int_eq(initiate(&x.pa, &x.a, 101, UNIX_MS + 120000, 3, t, m1), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(&x.pb, &x.b, m1, 201, 4, t, m2), SESSION_RESP_LEN);
	deliver(&x.pb, &x.pa, "bob still on the old keys", t);
	ck_assert_uint_eq(x.pb.current.local_index, old_b_index);
	ck_assert_int_eq(session_read_resp(&x.pa, m2, sizeof(m2), t), 0);
	assert_matching(&x.pa.current, &x.pb.next);
	assert_matching(&x.pa.previous, &x.pb.current);
	deliver(&x.pa, &x.pb, "alice on the new keys", t + 1);
	assert_matching(&x.pa.current, &x.pb.current);
	assert_matching(&x.pa.previous, &x.pb.previous);
	ck_assert(!x.pb.next.valid);
	/* The datagram sealed before the rekey still opens, once, under the previous session. */
	ck_assert_int_eq(session_peer_open(&x.pb, header, 4, old, (size_t)n, t + 2, pt, sizeof(pt)), 4);
	ck_assert_int_eq(session_peer_open(&x.pb, header, 4, old, (size_t)n, t + 2, pt, sizeof(pt)),
			 SESSION_E_REPLAY);
	deliver(&x.pb, &x.pa, "both on the new keys", t + 3);
}
END_TEST

/*
 * Simultaneous initiation: both send message 1; each gets the other's while
 * its own is pending. g is the side with the greater public key.
 */
static void simultaneous(struct pair *x, int alice_greater)
{
	struct session_identity *gid, *sid;
	struct session_peer *g, *s, before;
	uint8_t mg[SESSION_INIT_LEN], ms[SESSION_INIT_LEN], m2[SESSION_RESP_LEN];
	uint32_t index;

	ck_assert_int_eq(memcmp(x->a.pub, x->b.pub, SESSION_KEY_LEN) > 0, alice_greater);
	gid = alice_greater ? &x->a : &x->b;
	sid = alice_greater ? &x->b : &x->a;
	g = alice_greater ? &x->pa : &x->pb;
	s = alice_greater ? &x->pb : &x->pa;
	ck_assert_int_eq(initiate(g, gid, 100, UNIX_MS, 10, T0, mg), SESSION_INIT_LEN);
	ck_assert_int_eq(initiate(s, sid, 200, UNIX_MS + 7, 20, T0, ms), SESSION_INIT_LEN);
	/* The greater side keeps its own handshake and refuses the other's message 1 (its timestamp kept). */
	memcpy(&before, g, sizeof(before));
	ck_assert_int_eq(respond(g, gid, ms, 101, 11, T0 + 1, m2), SESSION_E_TIE);
	session_tai64n(before.tie_timestamp, UNIX_MS + 7);
	ck_assert_mem_eq(&before, g, sizeof(before));
	/* The smaller side drops its own and answers. */
	ck_assert_int_eq(respond(s, sid, mg, 201, 21, T0 + 1, m2), SESSION_RESP_LEN);
	ck_assert(!s->hs_pending && ct_is_zero(&s->hs, sizeof(s->hs)));
	ck_assert_int_eq(session_index(m2, sizeof(m2), &index), 0);
	ck_assert_uint_eq(index, 10);
	ck_assert_int_eq(session_read_resp(g, m2, sizeof(m2), T0 + 2), 0);
	ck_assert(!g->hs_pending);
	deliver(g, s, "one session", T0 + 3);
	deliver(s, g, "yes, one", T0 + 3);
	assert_matching(&g->current, &s->current);
	ck_assert(!g->next.valid && !s->next.valid && !g->previous.valid && !s->previous.valid);
}

START_TEST(simultaneous_initiation)
{
	struct pair x;
	int alice_greater;

	/* Both orders of the keys, so either side may be the one that stays initiator. */
	pair_init(&x, 1, 33);
	alice_greater = memcmp(x.a.pub, x.b.pub, SESSION_KEY_LEN) > 0;
	simultaneous(&x, alice_greater);
	pair_init(&x, 33, 1);
	simultaneous(&x, !alice_greater);
}
END_TEST

/*
 * The message 1 that lost the tie-break, sniffed and replayed once the tie
 * is over (attack.sh's re-send from another address): its sender dropped
 * that handshake when it answered ours, so nobody could ever confirm an
 * answer to it. It is refused, and changes nothing, however much later it
 * comes. (Its timestamp was never taken: it drew a fresh RESP at the
 * replayer's address and left an unconfirmed next session.)
 */
START_TEST(tied_message1_replayed_later_refused)
{
	struct pair x;
	struct session_peer *g, *s, before;
	struct session_identity *gid, *sid;
	uint8_t mg[SESSION_INIT_LEN], ms[SESSION_INIT_LEN], m2[SESSION_RESP_LEN];
	int64_t later = T0 + 10 * SESSION_REKEY_TIMEOUT_MS;

	pair_init(&x, 1, 33);
	g = memcmp(x.a.pub, x.b.pub, SESSION_KEY_LEN) > 0 ? &x.pa : &x.pb;
	s = g == &x.pa ? &x.pb : &x.pa;
	gid = g == &x.pa ? &x.a : &x.b;
	sid = g == &x.pa ? &x.b : &x.a;
	ck_assert_int_eq(initiate(g, gid, 100, UNIX_MS, 10, T0, mg), SESSION_INIT_LEN);
	ck_assert_int_eq(initiate(s, sid, 200, UNIX_MS + 7, 20, T0, ms), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(g, gid, ms, 101, 11, T0 + 1, m2), SESSION_E_TIE);
	ck_assert_int_eq(respond(s, sid, mg, 201, 21, T0 + 1, m2), SESSION_RESP_LEN);
	ck_assert_int_eq(session_read_resp(g, m2, sizeof(m2), T0 + 2), 0);
	deliver(g, s, "one session", T0 + 3);
	deliver(s, g, "yes, one", T0 + 3);
	/* While tied, its repeats are tied still (the punch goes on sending it). */
	ck_assert_int_eq(respond(g, gid, ms, 102, 12, T0 + 3, m2), SESSION_E_TIE);
	memcpy(&before, g, sizeof(before));
	ck_assert_int_eq(respond(g, gid, ms, 103, 13, later, m2), SESSION_E_REPLAY);
	ck_assert_mem_eq(&before, g, sizeof(before));
	ck_assert(!g->next.valid);
	deliver(s, g, "still the one session", later);
	/* A newer message 1 of the smaller side is answered, as ever. */
	ck_assert_int_eq(initiate(s, sid, 202, UNIX_MS + 8, 22, later, ms), SESSION_INIT_LEN);
	ck_assert_int_eq(respond(g, gid, ms, 104, 14, later, m2), SESSION_RESP_LEN);
}
END_TEST

/* Keys wiped: session_wipe, session_peer_wipe (the pin and last timestamp stay), split, accept. */
START_TEST(keys_wiped)
{
	struct pair x;
	struct session_init in;
	struct session_hs hs;
	uint8_t m1[SESSION_INIT_LEN], m2[SESSION_RESP_LEN], k1[32], k2[32], ts[SESSION_TIMESTAMP_LEN];

	pair_init(&x, 1, 33);
	handshake(&x, UNIX_MS, T0);
	deliver(&x.pa, &x.pb, "confirm", T0);
	ck_assert(!ct_is_zero(&x.pa.current, sizeof(x.pa.current)));
	session_wipe(&x.pa.current);
	ck_assert(ct_is_zero(&x.pa.current, sizeof(x.pa.current)));
	ck_assert_int_eq(initiate(&x.pb, &x.b, 300, UNIX_MS, 9, T0, m1), SESSION_INIT_LEN);
	ck_assert(x.pb.hs_pending);
	session_peer_wipe(&x.pb);
	ck_assert(ct_is_zero(&x.pb.hs, sizeof(x.pb.hs)));
	ck_assert(ct_is_zero(&x.pb.current, sizeof(x.pb.current)));
	ck_assert(ct_is_zero(&x.pb.previous, sizeof(x.pb.previous)));
	ck_assert(ct_is_zero(&x.pb.next, sizeof(x.pb.next)));
	ck_assert(!x.pb.hs_pending);
	ck_assert_mem_eq(x.pb.remote_static, x.a.pub, SESSION_KEY_LEN);
	session_tai64n(ts, UNIX_MS);
	ck_assert_mem_eq(x.pb.last_timestamp, ts, SESSION_TIMESTAMP_LEN); /* a replay stays refused */

	/* A read message 1 is wiped by session_accept, answered or not. */
	ck_assert_int_eq(initiate(&x.pa, &x.a, 100, UNIX_MS + 1, 1, T0, m1), SESSION_INIT_LEN);
	ck_assert_int_eq(session_read_init(&x.b, m1, sizeof(m1), &in), 0);
	ck_assert(!ct_is_zero(&in, sizeof(in)));
	ck_assert_int_eq(session_accept(&x.pb, &x.b, &in, k1, 2, T0, m2, sizeof(m2)),
			 SESSION_RESP_LEN);
	ck_assert(ct_is_zero(&in, sizeof(in)));
	ck_assert_int_eq(session_read_init(&x.b, m1, sizeof(m1), &in), 0);
	ck_assert_int_eq(session_accept(&x.pb, &x.b, &in, k1, 2, T0, m2, sizeof(m2)),
			 SESSION_E_REPLAY);
	ck_assert(ct_is_zero(&in, sizeof(in)));
	/* Split wipes the handshake state; it refuses one that is not done. */
	ck_assert_int_eq(session_read_resp(&x.pa, m2, sizeof(m2), T0), 0);
	ck_assert(ct_is_zero(&x.pa.hs, sizeof(x.pa.hs)));
	session_hs_init(&hs, 1, "", 0, x.a.priv, x.a.pub, x.b.pub);
	ck_assert_int_eq(session_hs_split(&hs, k1, k2), SESSION_E_STATE);
}
END_TEST

/* TAI64N: WireGuard's label, big-endian, so later times compare greater byte by byte. */
START_TEST(tai64n_encoding)
{
	uint8_t a[SESSION_TIMESTAMP_LEN], b[SESSION_TIMESTAMP_LEN], w[SESSION_TIMESTAMP_LEN];

	session_tai64n(a, UNIX_MS);
	/* 0x400000000000000a + 1700000000 = 0x400000006553f10a; 123 ms = 123000000 ns = 0x0754d4c0. */
	hex_in(w, sizeof(w), "400000006553f10a0754d4c0");
	ck_assert_mem_eq(a, w, sizeof(w));
	for (uint64_t ms = 0; ms < 3000; ms += 7) {
		session_tai64n(a, UNIX_MS + ms);
		session_tai64n(b, UNIX_MS + ms + 1);
		ck_assert(memcmp(a, b, sizeof(a)) < 0);
	}
}
END_TEST

static Suite *session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cacophony_vector);
	tcase_add_test(tc, python_reference_agrees);
	tcase_add_test(tc, round_trip_both_ways);
	tcase_add_test(tc, message1_every_bit_flipped);
	tcase_add_test(tc, message2_every_bit_flipped);
	tcase_add_test(tc, wrong_lengths_refused);
	tcase_add_test(tc, handshake_replay_refused);
	tcase_add_test(tc, wrong_keys_refused);
	tcase_add_test(tc, replay_window);
	tcase_add_test(tc, replay_only_after_open);
	tcase_add_test(tc, timers_at_boundaries);
	tcase_add_test(tc, peer_tick);
	tcase_add_test(tc, rekey_hands_over);
	tcase_add_test(tc, simultaneous_initiation);
	tcase_add_test(tc, tied_message1_replayed_later_refused);
	tcase_add_test(tc, keys_wiped);
	tcase_add_test(tc, tai64n_encoding);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(session_suite());
}
