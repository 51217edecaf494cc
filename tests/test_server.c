/* test_server.c - unit tests for p2pchatd's logic: datagrams in and out, fake time, no sockets. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "protocol.h"
#include "server.h"
#include "siphash.h"

#define TTL_S 60
#define TTL_MS (TTL_S * 1000)

static struct server srv;
static struct server_tx tx[SERVER_MAX_TX];
static int64_t now;

/* Where alice, bob and carol send from in most tests: their NAT mappings. */
static struct proto_addr ep_a, ep_b, ep_c;

/* A fixed seed: bytes 0..15 key the table, 16..31 the nonces. */
static uint8_t seed[32];

static struct proto_addr addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
	struct proto_addr x;

	memset(&x, 0, sizeof(x));
	x.family = PROTO_AF_INET;
	x.port = port;
	x.ip[0] = a;
	x.ip[1] = b;
	x.ip[2] = c;
	x.ip[3] = d;
	return x;
}

static struct proto_addr addr6(uint8_t last, uint16_t port)
{
	struct proto_addr x;

	memset(&x, 0, sizeof(x));
	x.family = PROTO_AF_INET6;
	x.port = port;
	x.ip[0] = 0x20;
	x.ip[1] = 0x01;
	x.ip[2] = 0x0d;
	x.ip[3] = 0xb8;
	x.ip[15] = last;
	return x;
}

static void start(uint32_t max_names)
{
	struct server_config cfg;
	int i;

	for (i = 0; i < 32; i++)
		seed[i] = (uint8_t)(0xa0 + i);
	cfg.ttl_s = TTL_S;
	cfg.max_names = max_names;
	ck_assert_int_eq(server_init(&srv, &cfg, seed), 0);
	now = 5000000; /* fake monotonic ms; anything but 0 */
	ep_a = addr4(203, 0, 113, 7, 40001);
	ep_b = addr4(198, 51, 100, 1, 1234);
	ep_c = addr4(192, 0, 2, 33, 7000);
}

/* Logs everything in this test, so the debug paths run (under the sanitizers too). */
static void verbose(void)
{
	log_init("test_server", LOG_DEBUG);
}

static void teardown(void)
{
	server_free(&srv);
}

/* A token is 8 copies of one byte here: enough to tell owners apart. */
static void set_token(struct proto_msg *m, uint8_t t)
{
	memset(m->token, t, PROTO_TOKEN_LEN);
}

static struct proto_msg msg_register(uint8_t token, const char *name)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTER;
	set_token(&m, token);
	snprintf(m.name, sizeof(m.name), "%s", name);
	return m;
}

static struct proto_msg msg_refresh(uint8_t token, const char *name)
{
	struct proto_msg m = msg_register(token, name);

	m.type = PROTO_REFRESH;
	return m;
}

static struct proto_msg msg_lookup(uint8_t token, const char *name, const char *target)
{
	struct proto_msg m = msg_register(token, name);

	m.type = PROTO_LOOKUP;
	snprintf(m.target, sizeof(m.target), "%s", target);
	return m;
}

/* Encodes m as a client would and hands it to the server from `from`. Returns the tx count. */
static int handle(const struct proto_msg *m, const struct proto_addr *from)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int len = proto_encode(m, buf, sizeof(buf));
	int n;

	ck_assert_int_gt(len, 0);
	memset(tx, 0x5a, sizeof(tx)); /* stale bytes must not pass for a reply */
	n = server_handle(&srv, buf, (size_t)len, from, now, tx);
	ck_assert_int_ge(n, 0);
	ck_assert_int_le(n, SERVER_MAX_TX);
	return n;
}

/* Decodes tx[i], which must be a valid datagram to `to`. */
static struct proto_msg reply(int i, const struct proto_addr *to)
{
	struct proto_msg m;

	ck_assert_uint_le(tx[i].len, sizeof(tx[i].buf));
	ck_assert_int_eq(proto_decode(tx[i].buf, tx[i].len, &m), 0);
	ck_assert_msg(proto_addr_equal(&tx[i].to, to), "reply %d sent to the wrong endpoint", i);
	return m;
}

/*
 * Sends m (REGISTER or REFRESH) from `from`; it must be accepted: one
 * REGISTERED back to from, about m's name, with from as the public endpoint.
 */
static void accepted(const struct proto_msg *m, const struct proto_addr *from)
{
	struct proto_msg r;

	ck_assert_int_eq(handle(m, from), 1);
	r = reply(0, from);
	ck_assert_uint_eq(r.type, PROTO_REGISTERED);
	ck_assert_str_eq(r.name, m->name);
	ck_assert_uint_eq(r.ttl_s, TTL_S);
	ck_assert(proto_addr_equal(&r.public_ep, from));
}

/* Sends m from `from`; it must be refused: one ERROR back to from, with code, about name. */
static void refused(const struct proto_msg *m, const struct proto_addr *from, uint8_t code,
		    const char *name)
{
	struct proto_msg r;

	ck_assert_int_eq(handle(m, from), 1);
	r = reply(0, from);
	ck_assert_uint_eq(r.type, PROTO_ERROR);
	ck_assert_msg(r.code == code, "ERROR code %u, wanted %u", r.code, code);
	ck_assert_uint_eq(r.request, m->type);
	ck_assert_uint_eq(r.detail, 0);
	ck_assert_str_eq(r.name, name);
}

/* Registers name with token from `from` and checks it worked. */
static void do_register(uint8_t token, const char *name, const struct proto_addr *from)
{
	struct proto_msg m = msg_register(token, name);

	accepted(&m, from);
}

START_TEST(register_answers_with_public_endpoint)
{
	struct proto_addr from = addr4(203, 0, 113, 7, 40001);
	struct proto_msg m = msg_register(1, "alice");
	struct table_entry *e;

	start(100);
	m.nprivate = 2;
	m.private_ep[0] = addr4(192, 168, 1, 20, 5000);
	m.private_ep[1] = addr6(20, 5000);
	accepted(&m, &from);
	ck_assert_uint_eq(srv.stats.registrations, 1);
	ck_assert_uint_eq(srv.stats.received, 1);
	ck_assert_uint_eq(srv.names.count, 1);

	e = table_get(&srv.names, "alice", now);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->nprivate, 2);
	ck_assert(proto_addr_equal(&e->private_ep[0], &m.private_ep[0]));
	ck_assert(proto_addr_equal(&e->private_ep[1], &m.private_ep[1]));
	ck_assert_int_eq(e->expires_ms, now + TTL_MS);

	/* An IPv6 client gets its IPv6 endpoint back. */
	from = addr6(9, 40002);
	do_register(2, "bob", &from);
}
END_TEST

START_TEST(refresh_keeps_name_alive)
{
	struct proto_addr a2 = addr4(203, 0, 113, 7, 40999);
	struct proto_msg m;

	start(100);
	do_register(1, "alice", &ep_a);
	now += 50000;
	m = msg_refresh(1, "alice");
	accepted(&m, &ep_a);
	ck_assert_uint_eq(srv.stats.refreshes, 1);

	/* 100 s after registering, 50 s after the refresh: still alive. */
	now += 50000;
	m = msg_register(2, "alice");
	refused(&m, &ep_b, PROTO_E_NAME_TAKEN, "alice");

	/* A refresh from a new NAT mapping moves the public endpoint. */
	m = msg_refresh(1, "alice");
	accepted(&m, &a2);
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &a2));

	/* A refresh with another token is refused and changes nothing. */
	m = msg_refresh(2, "alice");
	refused(&m, &ep_b, PROTO_E_NAME_TAKEN, "alice");
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &a2));
	ck_assert_uint_eq(srv.stats.refreshes, 2);
}
END_TEST

START_TEST(name_taken_until_expiry)
{
	struct proto_msg m;
	int64_t t0;

	start(100);
	t0 = now;
	do_register(1, "alice", &ep_a);
	m = msg_register(2, "alice");
	refused(&m, &ep_b, PROTO_E_NAME_TAKEN, "alice");
	ck_assert_uint_eq(srv.stats.refused, 1);
	ck_assert_uint_eq(srv.stats.registrations, 1);

	now = t0 + TTL_MS - 1; /* the last millisecond of its life */
	refused(&m, &ep_b, PROTO_E_NAME_TAKEN, "alice");

	now = t0 + TTL_MS; /* dead now: the other token gets it */
	do_register(2, "alice", &ep_b);
	ck_assert_uint_eq(srv.names.count, 1);

	/* And the first owner has lost it. */
	m = msg_refresh(1, "alice");
	refused(&m, &ep_a, PROTO_E_NAME_TAKEN, "alice");
	m = msg_register(1, "alice");
	refused(&m, &ep_a, PROTO_E_NAME_TAKEN, "alice");
}
END_TEST

START_TEST(same_token_reregister_moves_at_once)
{
	struct proto_addr a2 = addr4(203, 0, 113, 99, 51000); /* the NAT gave a new mapping */
	struct proto_msg m, peer;
	struct table_entry *e;

	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	now += 10000;
	m = msg_register(1, "alice");
	m.nprivate = 1;
	m.private_ep[0] = addr4(10, 0, 0, 5, 6000);
	accepted(&m, &a2);
	ck_assert_uint_eq(srv.names.count, 2);
	e = table_get(&srv.names, "alice", now);
	ck_assert_int_eq(e->expires_ms, now + TTL_MS);
	ck_assert_uint_eq(e->nprivate, 1);

	/* bob is told about the new mapping, and the PEER to alice goes there. */
	m = msg_lookup(2, "bob", "alice");
	ck_assert_int_eq(handle(&m, &ep_b), 2);
	peer = reply(0, &ep_b);
	ck_assert(proto_addr_equal(&peer.public_ep, &a2));
	ck_assert_uint_eq(peer.nprivate, 1);
	peer = reply(1, &a2);
	ck_assert_str_eq(peer.name, "bob");
}
END_TEST

START_TEST(table_full)
{
	struct proto_msg m;
	int64_t t0;

	start(2);
	t0 = now;
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	m = msg_register(3, "carol");
	refused(&m, &ep_c, PROTO_E_TABLE_FULL, "carol");
	ck_assert_uint_eq(srv.names.count, 2);

	/* The names already there keep working. */
	m = msg_refresh(1, "alice");
	accepted(&m, &ep_a);
	do_register(2, "bob", &ep_b);
	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle(&m, &ep_a), 2);

	/* alice stays alive, bob does not: his entry frees after the TTL. */
	now = t0 + 30000;
	m = msg_refresh(1, "alice");
	accepted(&m, &ep_a);
	now = t0 + TTL_MS - 1;
	m = msg_register(3, "carol");
	refused(&m, &ep_c, PROTO_E_TABLE_FULL, "carol");
	now = t0 + TTL_MS;
	do_register(3, "carol", &ep_c);
	ck_assert_uint_eq(srv.names.count, 2);
	m = msg_lookup(3, "carol", "bob");
	refused(&m, &ep_c, PROTO_E_NOT_ONLINE, "bob");
	m = msg_lookup(3, "carol", "alice");
	ck_assert_int_eq(handle(&m, &ep_c), 2);
}
END_TEST

START_TEST(lookup_not_online)
{
	struct proto_msg m;

	start(100);
	do_register(1, "alice", &ep_a);
	m = msg_lookup(1, "alice", "nobody");
	refused(&m, &ep_a, PROTO_E_NOT_ONLINE, "nobody");
	/* Looking yourself up is answered the same way (see server_on_lookup). */
	m = msg_lookup(1, "alice", "alice");
	refused(&m, &ep_a, PROTO_E_NOT_ONLINE, "alice");
	ck_assert_uint_eq(srv.stats.lookups, 2);
	ck_assert_uint_eq(srv.stats.introductions, 0);
	ck_assert_uint_eq(srv.stats.refused, 2);
}
END_TEST

START_TEST(lookup_from_unknown_requester)
{
	struct proto_msg m;

	start(100);
	do_register(2, "bob", &ep_b);
	m = msg_lookup(1, "alice", "bob");
	refused(&m, &ep_a, PROTO_E_UNKNOWN, "alice");

	/* Registered, but with another token: the same answer, and no introduction. */
	do_register(1, "alice", &ep_a);
	m = msg_lookup(9, "alice", "bob");
	refused(&m, &ep_b, PROTO_E_UNKNOWN, "alice");

	/* Expired. */
	now += TTL_MS;
	do_register(2, "bob", &ep_b);
	m = msg_lookup(1, "alice", "bob");
	refused(&m, &ep_a, PROTO_E_UNKNOWN, "alice");
	ck_assert_uint_eq(srv.stats.introductions, 0);
}
END_TEST

START_TEST(refresh_unknown)
{
	struct proto_msg m;

	start(100);
	m = msg_refresh(1, "alice");
	refused(&m, &ep_a, PROTO_E_UNKNOWN, "alice");
	ck_assert_uint_eq(srv.names.count, 0);

	/* Expired: unknown again, and the client registers at once. */
	do_register(1, "alice", &ep_a);
	now += TTL_MS;
	refused(&m, &ep_a, PROTO_E_UNKNOWN, "alice");
	do_register(1, "alice", &ep_a);
	ck_assert_uint_eq(srv.stats.refreshes, 0);
}
END_TEST

/* The nonce as the server's contract defines it, computed here on its own. */
static void expected_nonce(const char *lo, uint8_t lo_token, const char *hi, uint8_t hi_token,
			   uint8_t out[PROTO_NONCE_LEN])
{
	uint8_t buf[100];
	size_t off = 0;
	uint64_t h;
	int i;

	memcpy(buf, lo, strlen(lo));
	off += strlen(lo);
	buf[off++] = 0;
	memcpy(buf + off, hi, strlen(hi));
	off += strlen(hi);
	memset(buf + off, lo_token, PROTO_TOKEN_LEN);
	off += PROTO_TOKEN_LEN;
	memset(buf + off, hi_token, PROTO_TOKEN_LEN);
	off += PROTO_TOKEN_LEN;
	h = siphash24(seed + 16, buf, off);
	for (i = 0; i < PROTO_NONCE_LEN; i++)
		out[i] = (uint8_t)(h >> (56 - 8 * i));
}

START_TEST(lookup_introduces_both)
{
	struct proto_addr b = addr6(9, 40002);
	struct proto_msg m, to_a, to_b, again;
	uint8_t want[PROTO_NONCE_LEN];

	verbose();
	start(100);
	m = msg_register(1, "alice");
	m.nprivate = 1;
	m.private_ep[0] = addr4(192, 168, 1, 20, 5000);
	accepted(&m, &ep_a);
	m = msg_register(2, "bob");
	m.nprivate = 2;
	m.private_ep[0] = addr4(10, 1, 2, 3, 6000);
	m.private_ep[1] = addr6(77, 6000);
	accepted(&m, &b);

	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle(&m, &ep_a), 2);
	/* To the requester: all about the target. */
	to_a = reply(0, &ep_a);
	ck_assert_uint_eq(to_a.type, PROTO_PEER);
	ck_assert_str_eq(to_a.name, "bob");
	ck_assert(proto_addr_equal(&to_a.public_ep, &b));
	ck_assert_uint_eq(to_a.nprivate, 2);
	{
		struct proto_addr p0 = addr4(10, 1, 2, 3, 6000), p1 = addr6(77, 6000);

		ck_assert(proto_addr_equal(&to_a.private_ep[0], &p0));
		ck_assert(proto_addr_equal(&to_a.private_ep[1], &p1));
	}
	/* To the target, at its public endpoint: all about the requester. */
	to_b = reply(1, &b);
	ck_assert_uint_eq(to_b.type, PROTO_PEER);
	ck_assert_str_eq(to_b.name, "alice");
	ck_assert(proto_addr_equal(&to_b.public_ep, &ep_a));
	ck_assert_uint_eq(to_b.nprivate, 1);
	{
		struct proto_addr p0 = addr4(192, 168, 1, 20, 5000);

		ck_assert(proto_addr_equal(&to_b.private_ep[0], &p0));
	}
	/* Both with the same nonce, the one the contract defines. */
	ck_assert_mem_eq(to_a.nonce, to_b.nonce, PROTO_NONCE_LEN);
	expected_nonce("alice", 1, "bob", 2, want);
	ck_assert_mem_eq(to_a.nonce, want, PROTO_NONCE_LEN);
	ck_assert_uint_eq(srv.stats.lookups, 1);
	ck_assert_uint_eq(srv.stats.introductions, 1);

	/* The other direction, crossing: the same nonce, the roles swapped. */
	m = msg_lookup(2, "bob", "alice");
	ck_assert_int_eq(handle(&m, &b), 2);
	again = reply(0, &b);
	ck_assert_str_eq(again.name, "alice");
	ck_assert_mem_eq(again.nonce, want, PROTO_NONCE_LEN);
	again = reply(1, &ep_a);
	ck_assert_str_eq(again.name, "bob");
	ck_assert_mem_eq(again.nonce, want, PROTO_NONCE_LEN);

	/* Another pair gets another nonce. */
	do_register(3, "carol", &ep_c);
	m = msg_lookup(3, "carol", "alice");
	ck_assert_int_eq(handle(&m, &ep_c), 2);
	again = reply(0, &ep_c);
	ck_assert(memcmp(again.nonce, want, PROTO_NONCE_LEN) != 0);
	expected_nonce("alice", 1, "carol", 3, want);
	ck_assert_mem_eq(again.nonce, want, PROTO_NONCE_LEN);
}
END_TEST

START_TEST(lookup_refreshes_requester)
{
	struct proto_addr a2 = addr4(203, 0, 113, 7, 40555);
	struct proto_msg m, peer;
	int64_t t0 = 0;

	start(100);
	t0 = now;
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	now = t0 + 50000;
	do_register(2, "bob", &ep_b);
	/* alice's LOOKUP, from a new mapping, counts as her refresh. */
	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle(&m, &a2), 2);
	reply(0, &a2);
	peer = reply(1, &ep_b);
	ck_assert(proto_addr_equal(&peer.public_ep, &a2));

	/* Past her first TTL, she is still there, at the new endpoint. */
	now = t0 + 70000;
	m = msg_lookup(2, "bob", "alice");
	ck_assert_int_eq(handle(&m, &ep_b), 2);
	peer = reply(0, &ep_b);
	ck_assert(proto_addr_equal(&peer.public_ep, &a2));
	reply(1, &a2);
}
END_TEST

START_TEST(unknown_version)
{
	/* A REGISTER header from a future version 2, with a body we need not understand. */
	static const uint8_t v2[] = { PROTO_MAGIC, 2, PROTO_REGISTER, 0, 0xde, 0xad };
	/* Version 0, a LOOKUP, header only. */
	static const uint8_t v0[] = { PROTO_MAGIC, 0, PROTO_LOOKUP, 0 };
	struct proto_msg m;
	int n;

	verbose();
	start(100);
	n = server_handle(&srv, v2, sizeof(v2), &ep_a, now, tx);
	ck_assert_int_eq(n, 1);
	m = reply(0, &ep_a);
	ck_assert_uint_eq(m.type, PROTO_ERROR);
	ck_assert_uint_eq(m.code, PROTO_E_VERSION);
	ck_assert_uint_eq(m.detail, PROTO_VERSION);
	ck_assert_uint_eq(m.request, PROTO_REGISTER);
	ck_assert_str_eq(m.name, "");

	n = server_handle(&srv, v0, sizeof(v0), &ep_a, now, tx);
	ck_assert_int_eq(n, 1);
	m = reply(0, &ep_a);
	ck_assert_uint_eq(m.code, PROTO_E_VERSION);
	ck_assert_uint_eq(m.request, PROTO_LOOKUP);
	ck_assert_uint_eq(srv.stats.refused, 2);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], 0);
	ck_assert_uint_eq(srv.names.count, 0);
}
END_TEST

/* Sum of the per-result malformed counters. */
static uint64_t malformed_total(void)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < PROTO_NRESULTS; i++)
		sum += srv.stats.malformed[i];
	return sum;
}

/*
 * Hands buf to the server, which must drop it as malformed: no reply, one
 * more drop, counted under the result proto_decode gives.
 */
static void expect_malformed(const uint8_t *buf, size_t len, const struct proto_addr *from)
{
	struct proto_msg m;
	int r = proto_decode(buf, len, &m);
	uint64_t dropped = srv.stats.dropped[SERVER_DROP_MALFORMED];
	uint64_t by_result;

	ck_assert_int_lt(r, 0);
	ck_assert_int_ne(r, PROTO_EVERSION);
	by_result = srv.stats.malformed[-r];
	ck_assert_int_eq(server_handle(&srv, buf, len, from, now, tx), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], dropped + 1);
	ck_assert_uint_eq(srv.stats.malformed[-r], by_result + 1);
}

START_TEST(truncated_register_dropped)
{
	struct proto_msg m = msg_register(1, "alice");
	uint8_t buf[PROTO_MAX_DATAGRAM + 1];
	int len, i;

	start(100);
	m.nprivate = 2;
	m.private_ep[0] = addr4(192, 168, 1, 20, 5000);
	m.private_ep[1] = addr6(20, 5000);
	len = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(len, 0);
	/* Every truncation, from nothing to one byte short. */
	for (i = 0; i < len; i++)
		expect_malformed(buf, (size_t)i, &ep_a);
	/* One byte too many, and an oversize datagram. */
	buf[len] = 0;
	expect_malformed(buf, (size_t)len + 1, &ep_a);
	memset(buf + len, 0, sizeof(buf) - (size_t)len);
	expect_malformed(buf, sizeof(buf), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_ETRAILING], 2);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], (uint64_t)len + 2);
	ck_assert_uint_eq(malformed_total(), (uint64_t)len + 2);
	ck_assert_uint_eq(srv.stats.received, (uint64_t)len + 2);
	ck_assert_uint_eq(srv.names.count, 0);
	ck_assert_uint_eq(srv.stats.registrations, 0);
	ck_assert_uint_eq(srv.stats.refused, 0);

	/* The whole datagram still works. */
	ck_assert_int_eq(server_handle(&srv, buf, (size_t)len, &ep_a, now, tx), 1);
	ck_assert_uint_eq(srv.names.count, 1);
}
END_TEST

START_TEST(bad_fields_dropped)
{
	/* REGISTER, token, name "al ce" (a space), no endpoints */
	static const uint8_t bad_name[] = { PROTO_MAGIC, 1, PROTO_REGISTER, 0, 1, 1, 1, 1, 1, 1, 1,
					    1, 5, 'a', 'l', ' ', 'c', 'e', 0 };
	/* REGISTER, token, name "al", one endpoint of family 5 */
	static const uint8_t bad_family[] = { PROTO_MAGIC, 1, PROTO_REGISTER, 0, 1, 1, 1, 1, 1, 1,
					      1, 1, 2, 'a', 'l', 1, 5, 0, 80, 1, 2, 3, 4 };
	/* STUN binding request header (RFC 5389): first byte 0, not served yet */
	static const uint8_t stun[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
					1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	/* type 9: none such */
	static const uint8_t bad_type[] = { PROTO_MAGIC, 1, 9, 0 };
	/* reserved byte set */
	static const uint8_t reserved[] = { PROTO_MAGIC, 1, PROTO_REFRESH, 1, 1, 1, 1, 1, 1, 1, 1,
					    1, 2, 'a', 'l' };

	verbose();
	start(100);
	expect_malformed(bad_name, sizeof(bad_name), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_ENAME], 1);
	expect_malformed(bad_family, sizeof(bad_family), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_EFAMILY], 1);
	expect_malformed(stun, sizeof(stun), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_EMAGIC], 1);
	expect_malformed(bad_type, sizeof(bad_type), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_ETYPE], 1);
	expect_malformed(reserved, sizeof(reserved), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_ERESERVED], 1);
	ck_assert_uint_eq(srv.names.count, 0);
}
END_TEST

/* xorshift64* (Vigna): seeded, so every run sends the same garbage. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

START_TEST(garbage_dropped)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int i, dropped = 0, version = 0;

	start(100);
	rng_state = UINT64_C(0xdeadbeefcafef00d);
	for (i = 0; i < 5000; i++) {
		size_t len = (size_t)(rng_next() % 120), j;
		struct proto_msg m;
		int r;

		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rng_next();
		/* Most get a good header, so the body parsers see the garbage too. */
		if (len >= 4 && i % 4 != 0) {
			buf[0] = PROTO_MAGIC;
			buf[1] = PROTO_VERSION;
			buf[2] = (uint8_t)(1 + rng_next() % 4); /* the requests and REGISTERED */
			buf[3] = 0;
		}
		r = proto_decode(buf, len, &m);
		if (r == 0)
			continue; /* garbage that is a valid datagram: not this test's business */
		if (r == PROTO_EVERSION) {
			ck_assert_int_eq(server_handle(&srv, buf, len, &ep_a, now, tx), 1);
			version++;
			continue;
		}
		expect_malformed(buf, len, &ep_a);
		dropped++;
	}
	ck_assert_int_gt(dropped, 4900);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], (uint64_t)dropped);
	ck_assert_uint_eq(malformed_total(), (uint64_t)dropped);
	ck_assert_uint_eq(srv.stats.refused, (uint64_t)version);
	ck_assert_uint_eq(srv.stats.registrations, 0);
	ck_assert_uint_eq(srv.names.count, 0);
}
END_TEST

START_TEST(wrong_direction_dropped)
{
	static const uint8_t types[] = { PROTO_REGISTERED, PROTO_PEER, PROTO_ERROR, PROTO_PROBE,
					 PROTO_PROBE_ACK, PROTO_DATA, PROTO_ACK, PROTO_PING,
					 PROTO_PONG, PROTO_BYE };
	size_t i;

	verbose();
	start(100);
	for (i = 0; i < sizeof(types); i++) {
		struct proto_msg m;

		memset(&m, 0, sizeof(m));
		m.type = types[i];
		snprintf(m.name, sizeof(m.name), "alice");
		m.public_ep = ep_a;
		m.code = PROTO_E_UNKNOWN;
		m.text_len = 2;
		memcpy(m.text, "hi", 3);
		ck_assert_msg(handle(&m, &ep_a) == 0, "%s answered", proto_type_name(types[i]));
	}
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_WRONG_DIRECTION], sizeof(types));
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], 0);
	ck_assert_uint_eq(srv.stats.refused, 0);
	ck_assert_uint_eq(srv.names.count, 0);
}
END_TEST

START_TEST(tick_expires_names)
{
	char name[16];
	int64_t next, t0;
	int i, ticks;

	start(5000);
	t0 = now;
	next = server_tick(&srv, now);
	ck_assert_int_gt(next, now);
	ck_assert_int_le(next, now + SERVER_TICK_MS);
	/* Before the deadline: nothing to do, the same deadline. */
	ck_assert_int_eq(server_tick(&srv, next - 1), next);

	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		ep_a.port = (uint16_t)(1000 + i);
		do_register(1, name, &ep_a);
	}
	ck_assert_uint_eq(srv.names.count, 3000);
	now = next;
	next = server_tick(&srv, now);
	ck_assert_int_gt(next, now);
	ck_assert_uint_eq(srv.names.count, 3000); /* all still alive */

	/* All dead: each tick sweeps a bounded share, the ticks together sweep all. */
	now = t0 + TTL_MS;
	for (ticks = 0; ticks < 20 && srv.names.count > 0; ticks++) {
		uint32_t before = srv.names.count;

		now = server_tick(&srv, now);
		ck_assert_uint_le(before - srv.names.count, SERVER_EXPIRE_BUDGET);
	}
	ck_assert_uint_eq(srv.names.count, 0);
	ck_assert_int_ge(ticks, (5000 + SERVER_EXPIRE_BUDGET - 1) / SERVER_EXPIRE_BUDGET - 1);
}
END_TEST

static Suite *server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, register_answers_with_public_endpoint);
	tcase_add_test(tc, refresh_keeps_name_alive);
	tcase_add_test(tc, name_taken_until_expiry);
	tcase_add_test(tc, same_token_reregister_moves_at_once);
	tcase_add_test(tc, table_full);
	tcase_add_test(tc, lookup_not_online);
	tcase_add_test(tc, lookup_from_unknown_requester);
	tcase_add_test(tc, refresh_unknown);
	tcase_add_test(tc, lookup_introduces_both);
	tcase_add_test(tc, lookup_refreshes_requester);
	tcase_add_test(tc, unknown_version);
	tcase_add_test(tc, truncated_register_dropped);
	tcase_add_test(tc, bad_fields_dropped);
	tcase_add_test(tc, garbage_dropped);
	tcase_add_test(tc, wrong_direction_dropped);
	tcase_add_test(tc, tick_expires_names);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(server_suite());
	int failed;

	/* Quiet: the server logs every registration at info level. */
	log_init("test_server", LOG_WARN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
