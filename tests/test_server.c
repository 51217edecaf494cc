/* test_server.c - unit tests for p2pchatd's logic: datagrams in and out, fake time, no sockets. */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "bytes.h"
#include "log.h"
#include "protocol.h"
#include "server.h"
#include "server_impl.h" /* server_other_get: what the side table holds */
#include "siphash.h"
#include "harness.h"

#define TTL_S 60
#define TTL_MS (TTL_S * 1000)

static struct server srv;
static struct server_tx tx[SERVER_MAX_TX];
static int64_t now;

/* Where alice, bob and carol send from in most tests: their NAT mappings. */
static struct proto_addr ep_a, ep_b, ep_c;

/* A fixed seed: bytes 0..15 key the table, 16..31 unused, 32..47 the cookies. */
static uint8_t seed[SERVER_SEED_LEN];

/* The server's key in these tests, and its answers' first counter. */
#define SERVER_SECRET_BYTE 0x5e
#define COUNTER_START 1000000

/*
 * A client's key here is made from one byte, its owner number (the
 * tokens of version 1): 32 copies of it as the secret. The test keeps
 * each owner's K with the server and its request counter.
 */
static uint8_t owner_pub[256][X25519_LEN];
static uint8_t owner_k[256][AUTH_KEY_LEN];
static int owner_ready[256], owner_k_ready[256];
static uint64_t owner_counter[256];
static uint8_t server_pub[X25519_LEN];

/* Starts the server with cfg (its ttl_s and max_names are set here). */
static void start_with(struct server_config *cfg, uint32_t max_names)
{
	int i;

	for (i = 0; i < SERVER_SEED_LEN; i++)
		seed[i] = (uint8_t)(0xa0 + i);
	cfg->ttl_s = TTL_S;
	cfg->max_names = max_names;
	memset(cfg->secret, SERVER_SECRET_BYTE, sizeof(cfg->secret));
	cfg->counter_start = COUNTER_START;
	ck_assert_int_eq(server_init(&srv, cfg, seed), 0);
	memcpy(server_pub, srv.pub, sizeof(server_pub));
	memset(owner_k_ready, 0, sizeof(owner_k_ready));
	now = 5000000; /* fake monotonic ms; anything but 0 */
	ep_a = harness_addr4(203, 0, 113, 7, 40001);
	ep_b = harness_addr4(198, 51, 100, 1, 1234);
	ep_c = harness_addr4(192, 0, 2, 33, 7000);
}

/* Starts the server as p2pchatd does by default. */
static void start(uint32_t max_names)
{
	struct server_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	start_with(&cfg, max_names);
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

/* Owner t's key, made on first use. */
static void owner_setup(uint8_t t)
{
	uint8_t secret[X25519_LEN];

	if (owner_ready[t])
		return;
	memset(secret, t, sizeof(secret));
	x25519_public(owner_pub[t], secret);
	owner_ready[t] = 1;
}

/* Owner t's K with the server now running, made on first use. */
static const uint8_t *owner_key(uint8_t t)
{
	uint8_t secret[X25519_LEN];

	owner_setup(t);
	/* The server's key is the same in every test: known before it starts. */
	if (!owner_k_ready[t]) {
		memset(secret, SERVER_SECRET_BYTE, sizeof(secret));
		x25519_public(server_pub, secret);
		memset(secret, t, sizeof(secret));
		ck_assert_int_eq(auth_derive(owner_k[t], secret, server_pub, owner_pub[t],
					     server_pub), 0);
		owner_k_ready[t] = 1;
	}
	return owner_k[t];
}

/* The owner whose key m carries (set_token put it there). */
static int owner_of(const struct proto_msg *m)
{
	for (int t = 0; t < 256; t++) {
		if (owner_ready[t] && memcmp(owner_pub[t], m->key, X25519_LEN) == 0)
			return t;
	}
	return -1;
}

/*
 * m goes as owner t's: its key (which REGISTER and REFRESH carry; the
 * tests find the owner of any request by it), sealed under t's K.
 */
static void set_token(struct proto_msg *m, uint8_t t)
{
	owner_setup(t);
	memcpy(m->key, owner_pub[t], X25519_LEN);
}

/*
 * Encodes m and seals it (a sealed type) as its owner does, with the
 * owner's next counter unless m has one. Returns the length in buf.
 */
static size_t seal_request(const struct proto_msg *m, uint8_t *buf, size_t cap)
{
	static const uint8_t zero_k[AUTH_KEY_LEN];
	struct proto_msg c = *m;
	size_t off, len;
	int n, t;

	n = proto_encode_open(&c, buf, cap, &off);
	ck_assert_int_gt(n, 0);
	if (off == 0)
		return (size_t)n;
	/* No owner: a server's own message sent to it, say; sealed under zeros. */
	t = owner_of(m);
	c.counter = m->counter != 0 ? m->counter :
		    t >= 0 ? ++owner_counter[t] + COUNTER_START : 1;
	proto_encode_open(&c, buf, cap, &off);
	len = auth_seal_request(buf, (size_t)n, cap, off, t >= 0 ? owner_key((uint8_t)t) : zero_k);
	ck_assert_uint_gt(len, 0);
	return len;
}

static struct proto_msg msg_register(uint8_t token, const char *name)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTER;
	set_token(&m, token);
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.instance = token; /* one program per owner, unless a test says otherwise */
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

/* Encodes m as it is and hands it to the server from `from`. Returns the tx count. */
static int handle_as_is(const struct proto_msg *m, const struct proto_addr *from)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t len = seal_request(m, buf, sizeof(buf));
	int n;

	memset(tx, 0x5a, sizeof(tx)); /* stale bytes must not pass for a reply */
	n = server_handle(&srv, buf, len, from, now, tx);
	ck_assert_int_ge(n, 0);
	ck_assert_int_le(n, SERVER_MAX_TX);
	/* Whatever the test, no answer was ever too large to send (server.h). */
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_AMPLIFYING], 0);
	return n;
}

static int cookie_is_zero(const struct proto_msg *m)
{
	static const uint8_t zero[PROTO_COOKIE_LEN];

	return memcmp(m->cookie, zero, PROTO_COOKIE_LEN) == 0;
}

/*
 * Hands m to the server from `from` as a client that proved its address
 * would: a REGISTER or REFRESH with no cookie gets the right one for
 * `from` now (the cookie round trip is tested on its own, with
 * handle_as_is). Returns the tx count.
 */
static int handle(const struct proto_msg *m, const struct proto_addr *from)
{
	struct proto_msg c = *m;

	if ((c.type == PROTO_REGISTER || c.type == PROTO_REFRESH) && cookie_is_zero(&c))
		guard_cookie(&srv.guard, from, now, c.cookie);
	return handle_as_is(&c, from);
}

/*
 * Opens tx[i], a sealed answer, with the K of whichever owner it is for
 * into *m. Returns the owner, or -1 when no owner's K opens it.
 */
static int open_reply(int i, struct proto_msg *m)
{
	uint8_t open[PROTO_MAX_DATAGRAM];
	int off = proto_decode_prefix(tx[i].buf, tx[i].len, m);

	ck_assert_int_gt(off, 0);
	for (int t = 0; t < 256; t++) {
		long n;

		if (!owner_ready[t])
			continue;
		n = auth_open_answer(open, tx[i].buf, tx[i].len, (size_t)off, owner_key((uint8_t)t));
		if (n >= 0) {
			ck_assert_int_eq(proto_decode(open, (size_t)n, m), 0);
			return t;
		}
	}
	return -1;
}

/* Decodes tx[i], which must be a valid datagram to `to`, sealed for its owner if a sealed type. */
static struct proto_msg reply(int i, const struct proto_addr *to)
{
	struct proto_msg m;
	int off;

	ck_assert_uint_le(tx[i].len, sizeof(tx[i].buf));
	off = proto_decode_prefix(tx[i].buf, tx[i].len, &m);
	ck_assert_int_ge(off, 0);
	if (off > 0)
		ck_assert_msg(open_reply(i, &m) >= 0, "reply %d opens under no owner's K", i);
	else
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
	/* Without a K for the name, the server can only say "register again", unsealed. */
	ck_assert_uint_eq(r.type, code == PROTO_E_UNKNOWN ? PROTO_NOTICE : PROTO_ERROR);
	ck_assert_msg(r.code == code, "ERROR code %u, wanted %u", r.code, code);
	ck_assert_uint_eq(r.request, m->type);
	/* NOT_ONLINE's detail says whether the LOOKUP waits: the presence tests look at it. */
	if (code != PROTO_E_NOT_ONLINE)
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
	struct proto_addr from = harness_addr4(203, 0, 113, 7, 40001);
	struct proto_msg m = msg_register(1, "alice");
	struct table_entry *e;
	struct proto_addr pv[PROTO_MAX_PRIVATE];

	start(100);
	m.nprivate = 2;
	m.private_ep[0] = harness_addr4(192, 168, 1, 20, 5000);
	m.private_ep[1] = harness_addr6(0, 20, 5000);
	m.private_ep[1].ip[0] = 0xfd; /* fd00::/8, RFC 4193's unique local addresses */
	m.private_ep[1].ip[1] = 0x00;
	accepted(&m, &from);
	ck_assert_uint_eq(srv.stats.registrations, 1);
	ck_assert_uint_eq(srv.stats.received, 1);
	ck_assert_uint_eq(srv.names.count, 1);

	e = table_get(&srv.names, "alice", now);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(table_get_private(e, pv), 2);
	ck_assert(proto_addr_equal(&pv[0], &m.private_ep[0]));
	ck_assert(proto_addr_equal(&pv[1], &m.private_ep[1]));
	ck_assert_int_eq(e->expires_ms, now + TTL_MS);

	/* An IPv6 client gets its IPv6 endpoint back. */
	from = harness_addr6(0, 9, 40002);
	do_register(2, "bob", &from);
}
END_TEST

START_TEST(refresh_keeps_name_alive)
{
	struct proto_addr a2 = harness_addr4(203, 0, 113, 7, 40999);
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

	/* A refresh with another key: "register again" (NOTICE), and nothing changes. */
	m = msg_refresh(2, "alice");
	refused(&m, &ep_b, PROTO_E_UNKNOWN, "alice");
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

	/* And the first owner has lost it: its refresh is "register again", its REGISTER taken. */
	m = msg_refresh(1, "alice");
	refused(&m, &ep_a, PROTO_E_UNKNOWN, "alice");
	m = msg_register(1, "alice");
	refused(&m, &ep_a, PROTO_E_NAME_TAKEN, "alice");
}
END_TEST

/*
 * The owner's token registers the name from another address while it
 * lives: a second instance. It holds the name from now on; the first is
 * told at once (ERROR, PROTO_E_REPLACED, to its proven address), and its
 * REFRESHes from there are refused the same way instead of moving the
 * name back.
 */
START_TEST(same_token_reregister_moves_at_once)
{
	struct proto_addr a2 = harness_addr4(203, 0, 113, 99, 51000);
	struct proto_msg m, peer, r;
	struct table_entry *e;
	struct proto_addr pv[PROTO_MAX_PRIVATE];

	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	now += 10000;
	m = msg_register(1, "alice");
	m.instance = 1001; /* a second program with the owner's key */
	m.nprivate = 1;
	m.private_ep[0] = harness_addr4(10, 0, 0, 5, 6000);
	ck_assert_int_eq(handle(&m, &a2), 2);
	r = reply(0, &a2);
	ck_assert_uint_eq(r.type, PROTO_REGISTERED);
	r = reply(1, &ep_a);
	ck_assert_uint_eq(r.type, PROTO_ERROR);
	ck_assert_uint_eq(r.code, PROTO_E_REPLACED);
	ck_assert_str_eq(r.name, "alice");
	ck_assert_int_eq(tx[1].proven, 1);
	ck_assert_uint_eq(srv.names.count, 2);
	e = table_get(&srv.names, "alice", now);
	ck_assert_int_eq(e->expires_ms, now + TTL_MS);
	ck_assert_uint_eq(table_get_private(e, pv), 1);

	/* The first instance refreshes from where it was: refused, the name stays. */
	m = msg_refresh(1, "alice");
	refused(&m, &ep_a, PROTO_E_REPLACED, "alice");
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &a2));
	/* ...and from anywhere else: the instance is not the name's. */
	refused(&m, &ep_c, PROTO_E_REPLACED, "alice");
	/* The second one's NAT moves it: a REFRESH from a third address still moves the name. */
	m.instance = 1001;
	accepted(&m, &ep_c);

	/* bob is told about the new mapping, and the PEER to alice goes there. */
	m = msg_lookup(2, "bob", "alice");
	ck_assert_int_eq(handle(&m, &ep_b), 2);
	peer = reply(0, &ep_b);
	ck_assert(proto_addr_equal(&peer.public_ep, &ep_c));
	ck_assert_uint_eq(peer.nprivate, 1);
	peer = reply(1, &ep_c);
	ck_assert_str_eq(peer.name, "bob");
}
END_TEST

/*
 * A dual-stack client registers with the server's two addresses: the
 * second REGISTER, from the other family and the same instance, proven by
 * its own cookie, adds that family's endpoint to the name (kept beside
 * it, server_other.c) and replaces nobody. PEER carries it; requests are
 * taken from it; a REFRESH from there keeps it, or moves it, and leaves
 * the name's own endpoint alone.
 */
START_TEST(dual_stack_second_family)
{
	struct proto_addr a6 = harness_addr6(1, 2, 40001), a6b = harness_addr6(1, 2, 40002);
	struct proto_msg m, r;
	const struct proto_addr *o;
	struct table_entry *e;

	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	m = msg_register(1, "alice");
	accepted(&m, &a6); /* one answer, REGISTERED with a6: no REPLACED anywhere */
	e = table_get(&srv.names, "alice", now);
	ck_assert(proto_addr_equal(&e->public_ep, &ep_a));
	o = server_other_get(&srv, e, now);
	ck_assert_ptr_nonnull(o);
	ck_assert(proto_addr_equal(o, &a6));
	ck_assert_uint_eq(srv.names.count, 2);

	/* bob's introduction to alice carries both her families; hers to bob, his one. */
	m = msg_lookup(2, "bob", "alice");
	ck_assert_int_eq(handle(&m, &ep_b), 2);
	r = reply(0, &ep_b);
	ck_assert(proto_addr_equal(&r.public_ep, &ep_a));
	ck_assert(proto_addr_equal(&r.other_ep, &a6));
	r = reply(1, &ep_a);
	ck_assert_uint_eq(r.other_ep.family, 0);

	/* alice asks from her IPv6 endpoint: taken; her PEER goes to her own endpoint. */
	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle(&m, &a6), 2);
	r = reply(0, &ep_a);
	ck_assert_str_eq(r.name, "bob");

	/* A REFRESH from there keeps it; from a new IPv6 port, moves it; the name stays at ep_a. */
	now += 1000;
	m = msg_refresh(1, "alice");
	accepted(&m, &a6);
	accepted(&m, &a6b);
	accepted(&m, &ep_a); /* the name lives by its own family's REFRESHes */
	e = table_get(&srv.names, "alice", now);
	ck_assert(proto_addr_equal(&e->public_ep, &ep_a));
	ck_assert(proto_addr_equal(server_other_get(&srv, e, now), &a6b));
	/* From the old IPv6 port, a LOOKUP is refused now: that address is proven no more. */
	m = msg_lookup(1, "alice", "bob");
	refused(&m, &a6, PROTO_E_ADDRESS, "");

	/* The IPv6 side falls silent: its endpoint ends a TTL after its last REFRESH. */
	m = msg_refresh(1, "alice");
	now += TTL_MS - 1;
	accepted(&m, &ep_a);
	ck_assert_ptr_nonnull(server_other_get(&srv, table_get(&srv.names, "alice", now), now));
	now += 1;
	ck_assert_ptr_null(server_other_get(&srv, table_get(&srv.names, "alice", now), now));
}
END_TEST

/*
 * Another program with the owner's key takes the name: the earlier one is
 * told at both its endpoints, its second family is forgotten, and it
 * cannot take the name back from there.
 */
START_TEST(dual_stack_replaced_at_both)
{
	struct proto_addr a6 = harness_addr6(1, 2, 40001);
	struct proto_msg m, r;
	struct table_entry *e;

	start(100);
	do_register(1, "alice", &ep_a);
	m = msg_register(1, "alice");
	accepted(&m, &a6);
	m.instance = 1001;
	ck_assert_int_eq(handle(&m, &ep_c), 3);
	ck_assert_uint_eq(reply(0, &ep_c).type, PROTO_REGISTERED);
	r = reply(1, &ep_a);
	ck_assert_uint_eq(r.code, PROTO_E_REPLACED);
	r = reply(2, &a6);
	ck_assert_uint_eq(r.code, PROTO_E_REPLACED);
	e = table_get(&srv.names, "alice", now);
	ck_assert(proto_addr_equal(&e->public_ep, &ep_c));
	ck_assert_ptr_null(server_other_get(&srv, e, now));
	/* The earlier program's REFRESH from its IPv6 endpoint: REPLACED, nothing kept. */
	m = msg_refresh(1, "alice");
	refused(&m, &a6, PROTO_E_REPLACED, "alice");
	ck_assert_ptr_null(server_other_get(&srv, e, now));
	/* The same program at a new address (its NAT moved it) is no second one: nobody is told. */
	m = msg_register(1, "alice");
	m.instance = 1001;
	accepted(&m, &ep_b);
	/* A name that goes takes its second family with it: the next name in its entry has none. */
	m = msg_register(1, "alice");
	m.instance = 1001;
	accepted(&m, &a6);
	ck_assert_ptr_nonnull(server_other_get(&srv, e, now));
	table_remove(&srv.names, "alice");
	do_register(3, "carol", &ep_a);
	e = table_get(&srv.names, "carol", now);
	ck_assert_ptr_null(server_other_get(&srv, e, now));
}
END_TEST

/* The side table is sized at start and bounded: more dual-stack names than slots lose the oldest. */
START_TEST(dual_stack_side_table_bounded)
{
	uint32_t slots, with = 0;
	char name[16];
	struct proto_msg m;

	start(1000);
	slots = (srv.other_mask + 1) * SERVER_OTHER_WAYS;
	ck_assert_uint_eq(slots, 128); /* an eighth of 1000, to a power of two */
	for (int i = 0; i < 300; i++) {
		struct proto_addr a6 = harness_addr6(1, (uint16_t)(i + 1), 40001);

		snprintf(name, sizeof(name), "n%d", i);
		do_register(1, name, &ep_a);
		m = msg_register(1, name);
		accepted(&m, &a6);
		now++;
	}
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		with += server_other_get(&srv, table_get(&srv.names, name, now), now) != NULL;
	}
	ck_assert_uint_le(with, slots);
	ck_assert_uint_ge(with, slots / 2);
}
END_TEST

/*
 * Presence: a LOOKUP for a name not online waits at the server (the
 * ERROR says so, in as many bytes as before), and the moment the name
 * registers both sides are introduced, once.
 */
START_TEST(lookup_waits_for_the_name)
{
	struct proto_msg m, r, peer;
	struct proto_addr ep_d = harness_addr4(192, 0, 2, 44, 7001);
	int n;

	start(100);
	do_register(1, "alice", &ep_a);
	do_register(3, "carol", &ep_c);
	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	r = reply(0, &ep_a);
	ck_assert_uint_eq(r.code, PROTO_E_NOT_ONLINE);
	ck_assert_uint_eq(r.detail, PROTO_DETAIL_WAITING);
	ck_assert_uint_le(tx[0].len, seal_request(&m, tx[1].buf, sizeof(tx[1].buf)));
	/* Asked again: the same wait, renewed; carol waits for bob too. */
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	m = msg_lookup(3, "carol", "bob");
	ck_assert_int_eq(handle(&m, &ep_c), 1);
	ck_assert_uint_eq(reply(0, &ep_c).detail, PROTO_DETAIL_WAITING);

	now += 60000;
	do_register(1, "alice", &ep_a); /* alive, as a client refreshes */
	do_register(3, "carol", &ep_c);
	m = msg_register(2, "bob");
	n = handle(&m, &ep_b);
	ck_assert_int_eq(n, 5); /* REGISTERED, then a PEER each way for each of the two */
	ck_assert_uint_eq(reply(0, &ep_b).type, PROTO_REGISTERED);
	for (int i = 1; i < n; i += 2) {
		const struct proto_addr *to = proto_addr_equal(&tx[i].to, &ep_a) ? &ep_a : &ep_c;

		peer = reply(i, to);
		ck_assert_uint_eq(peer.type, PROTO_PEER);
		ck_assert_str_eq(peer.name, "bob");
		ck_assert(proto_addr_equal(&peer.public_ep, &ep_b));
		peer = reply(i + 1, &ep_b);
		ck_assert_str_eq(peer.name, to == &ep_a ? "alice" : "carol");
		ck_assert_int_eq(tx[i].proven && tx[i + 1].proven, 1);
	}
	ck_assert_uint_eq(srv.stats.introductions, 2);
	/* Once: bob registering again (a refresh would too) introduces nobody. */
	accepted(&m, &ep_b);

	/* A wait ends after SERVER_WAIT_MS: dave comes too late for alice. */
	m = msg_lookup(1, "alice", "dave");
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	now += SERVER_WAIT_MS - 1;
	do_register(1, "alice", &ep_a);
	now += 1;
	do_register(4, "dave", &ep_d);
	/* Nor does one wait for itself. */
	m = msg_lookup(1, "alice", "alice");
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	ck_assert_uint_eq(reply(0, &ep_a).detail, 0);
}
END_TEST

/* The waits are bounded: SERVER_WAIT_PER_NAME new ones a name, SERVER_WAIT_WAYS a bucket. */
START_TEST(lookup_waits_are_bounded)
{
	struct proto_msg m;
	char target[16];
	int waiting = 0;

	start(100);
	do_register(1, "alice", &ep_a);
	for (int i = 0; i < 2 * SERVER_WAIT_PER_NAME; i++) {
		snprintf(target, sizeof(target), "ghost%d", i);
		m = msg_lookup(1, "alice", target);
		ck_assert_int_eq(handle(&m, &ep_a), 1);
		waiting += reply(0, &ep_a).detail == PROTO_DETAIL_WAITING;
	}
	ck_assert_int_eq(waiting, SERVER_WAIT_PER_NAME);
	/* A period later, she may place as many again. */
	now += SERVER_WAIT_MS;
	do_register(1, "alice", &ep_a);
	m = msg_lookup(1, "alice", "ghost99");
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	ck_assert_uint_eq(reply(0, &ep_a).detail, PROTO_DETAIL_WAITING);
	/* The table is sized at start and never grows: 64 slots at least, a power of two. */
	ck_assert_uint_eq((srv.wait_mask + 1) * SERVER_WAIT_WAYS, SERVER_WAIT_SLOTS_MIN * 2);
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

	/*
	 * Registered, but sealed under another key's K: it does not open, so
	 * it changes nothing and gets no answer at all (not even "unknown").
	 */
	do_register(1, "alice", &ep_a);
	m = msg_lookup(9, "alice", "bob");
	ck_assert_int_eq(handle(&m, &ep_b), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_UNAUTHENTICATED], 1);

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

START_TEST(lookup_introduces_both)
{
	struct proto_addr b = harness_addr6(0, 9, 40002);
	struct proto_msg m, to_a, to_b, again;

	verbose();
	start(100);
	m = msg_register(1, "alice");
	m.nprivate = 1;
	m.private_ep[0] = harness_addr4(192, 168, 1, 20, 5000);
	accepted(&m, &ep_a);
	m = msg_register(2, "bob");
	m.nprivate = 2;
	m.private_ep[0] = harness_addr4(10, 1, 2, 3, 6000);
	m.private_ep[1] = harness_addr6(0, 9, 6000); /* public, but bob's own address */
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
		struct proto_addr p0 = harness_addr4(10, 1, 2, 3, 6000), p1 = harness_addr6(0, 9, 6000);

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
		struct proto_addr p0 = harness_addr4(192, 168, 1, 20, 5000);

		ck_assert(proto_addr_equal(&to_b.private_ep[0], &p0));
	}
	/* Each PEER carries the other's key, the one it registered with; each is sealed for its receiver. */
	ck_assert_mem_eq(to_a.peer_key, owner_pub[2], X25519_LEN);
	ck_assert_mem_eq(to_b.peer_key, owner_pub[1], X25519_LEN);
	ck_assert_int_eq(open_reply(0, &again), 1);
	ck_assert_int_eq(open_reply(1, &again), 2);
	ck_assert_uint_eq(srv.stats.lookups, 1);
	ck_assert_uint_eq(srv.stats.introductions, 1);

	/* The other direction, crossing: the same keys, the roles swapped. */
	m = msg_lookup(2, "bob", "alice");
	ck_assert_int_eq(handle(&m, &b), 2);
	again = reply(0, &b);
	ck_assert_str_eq(again.name, "alice");
	ck_assert_mem_eq(again.peer_key, owner_pub[1], X25519_LEN);
	again = reply(1, &ep_a);
	ck_assert_str_eq(again.name, "bob");
	ck_assert_mem_eq(again.peer_key, owner_pub[2], X25519_LEN);
}
END_TEST

START_TEST(lookup_refreshes_requester)
{
	struct proto_msg m, peer;
	int64_t t0 = 0;

	start(100);
	t0 = now;
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	now = t0 + 50000;
	do_register(2, "bob", &ep_b);
	/* alice's LOOKUP counts as her refresh. */
	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle(&m, &ep_a), 2);
	reply(0, &ep_a);
	peer = reply(1, &ep_b);
	ck_assert(proto_addr_equal(&peer.public_ep, &ep_a));

	/* Past her first TTL, she is still there. */
	now = t0 + 70000;
	m = msg_lookup(2, "bob", "alice");
	ck_assert_int_eq(handle(&m, &ep_b), 2);
	peer = reply(0, &ep_b);
	ck_assert(proto_addr_equal(&peer.public_ep, &ep_a));
	reply(1, &ep_a);
}
END_TEST

START_TEST(unknown_version)
{
	/* A REGISTER header of version 1 (its token first), with a body we need not understand. */
	static const uint8_t v1[] = { PROTO_MAGIC, 1, PROTO_REGISTER, 0, 0xde, 0xad, 0xbe, 0xef };
	/* Version 3, a LOOKUP, header and 4 bytes: as long as the refusal that answers it. */
	static const uint8_t v3[] = { PROTO_MAGIC, 3, PROTO_LOOKUP, 0, 1, 2, 3, 4 };
	/* The refusal: version 1's ERROR, which every version reads (protocol.h). */
	static const uint8_t want[] = { PROTO_MAGIC, 1, PROTO_ERROR, 0, PROTO_E_VERSION,
					PROTO_REGISTER, PROTO_VERSION, 0 };
	uint8_t version = 0;
	int n;

	verbose();
	start(100);
	n = server_handle(&srv, v1, sizeof(v1), &ep_a, now, tx);
	ck_assert_int_eq(n, 1);
	ck_assert(proto_addr_equal(&tx[0].to, &ep_a));
	ck_assert_uint_eq(tx[0].len, sizeof(want));
	ck_assert_mem_eq(tx[0].buf, want, sizeof(want));
	ck_assert_int_eq(proto_version_refusal(tx[0].buf, tx[0].len, &version), 1);
	ck_assert_uint_eq(version, PROTO_VERSION);

	n = server_handle(&srv, v3, sizeof(v3), &ep_a, now, tx);
	ck_assert_int_eq(n, 1);
	ck_assert_uint_eq(tx[0].buf[5], PROTO_LOOKUP);
	ck_assert_uint_le(tx[0].len, sizeof(v3));
	ck_assert_uint_eq(srv.stats.refused, 2);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], 0);

	/* One byte shorter, the refusal would be larger than the question: no answer. */
	ck_assert_int_eq(server_handle(&srv, v3, sizeof(v3) - 1, &ep_a, now, tx), 0);
	ck_assert_int_eq(server_handle(&srv, v3, PROTO_HEADER_LEN, &ep_a, now, tx), 0);
	ck_assert_uint_eq(srv.stats.refused, 2);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], 2);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_AMPLIFYING], 0);
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
 * more drop, counted under the result proto_decode_prefix gives (the
 * clear part: a sealed body is read only after it opens).
 */
static void expect_malformed(const uint8_t *buf, size_t len, const struct proto_addr *from)
{
	struct proto_msg m;
	int r = proto_decode_prefix(buf, len, &m);
	uint64_t dropped = srv.stats.dropped[SERVER_DROP_MALFORMED];
	uint64_t by_result;

	ck_assert_int_lt(r, 0);
	ck_assert_int_ne(r, PROTO_EVERSION);
	by_result = srv.stats.malformed[-r];
	ck_assert_int_eq(server_handle(&srv, buf, len, from, now, tx), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], dropped + 1);
	ck_assert_uint_eq(srv.stats.malformed[-r], by_result + 1);
}

/*
 * Hands buf, a sealed request whose clear part is well formed, to the
 * server, which must drop it as not opening: no reply, one more
 * dropped_unauthenticated, nothing else changed.
 */
static void expect_unopened(const uint8_t *buf, size_t len, const struct proto_addr *from)
{
	struct proto_msg m;
	uint64_t dropped = srv.stats.dropped[SERVER_DROP_UNAUTHENTICATED];
	uint64_t malformed = srv.stats.dropped[SERVER_DROP_MALFORMED];

	ck_assert_int_gt(proto_decode_prefix(buf, len, &m), 0);
	ck_assert_int_eq(server_handle(&srv, buf, len, from, now, tx), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_UNAUTHENTICATED], dropped + 1);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], malformed);
}

/* Hands buf, of another version and too short to answer, to the server: dropped, no reply. */
static void expect_malformed_version(const uint8_t *buf, size_t len,
				     const struct proto_addr *from)
{
	uint64_t dropped = srv.stats.dropped[SERVER_DROP_MALFORMED];

	uint64_t by_result = srv.stats.malformed[-PROTO_EVERSION];

	ck_assert_int_eq(server_handle(&srv, buf, len, from, now, tx), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], dropped + 1);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_EVERSION], by_result + 1);
}

START_TEST(truncated_register_dropped)
{
	struct proto_msg m = msg_register(1, "alice");
	uint8_t buf[PROTO_MAX_DATAGRAM + 1];
	size_t len, i, unopened = 0;
	int off;

	start(100);
	m.nprivate = 2;
	m.private_ep[0] = harness_addr4(192, 168, 1, 20, 5000);
	m.private_ep[1] = harness_addr4(10, 0, 0, 20, 5000);
	guard_cookie(&srv.guard, &ep_a, now, m.cookie);
	len = seal_request(&m, buf, sizeof(buf));
	off = proto_decode_prefix(buf, len, &m);
	ck_assert_int_gt(off, 0);
	/*
	 * Every truncation, from nothing to one byte short: malformed while
	 * the clear part or the tag's room is cut, else it does not open.
	 */
	for (i = 0; i < len; i++) {
		if (i < (size_t)off + AUTH_TAG_LEN) {
			expect_malformed(buf, i, &ep_a);
		} else {
			expect_unopened(buf, i, &ep_a);
			unopened++;
		}
	}
	/* One byte too many, and an oversize datagram: they do not open either. */
	buf[len] = 0;
	expect_unopened(buf, len + 1, &ep_a);
	memset(buf + len, 0, sizeof(buf) - len);
	expect_unopened(buf, sizeof(buf), &ep_a);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED] + unopened + 2, len + 2);
	ck_assert_uint_eq(srv.stats.received, (uint64_t)len + 2);
	ck_assert_uint_eq(srv.names.count, 0);
	ck_assert_uint_eq(srv.stats.registrations, 0);
	ck_assert_uint_eq(srv.stats.refused, 0);

	/* The whole datagram still works. */
	ck_assert_int_eq(server_handle(&srv, buf, len, &ep_a, now, tx), 1);
	ck_assert_uint_eq(srv.names.count, 1);
}
END_TEST

START_TEST(bad_fields_dropped)
{
	/* REGISTER: cookie, key, name "al ce" (a space), counter, then a tag's room */
	uint8_t bad_name[4 + 8 + 32 + 6 + 8 + 16];
	/* STUN Binding request header (RFC 8489): first byte 0, so STUN's, answered by stun.c */
	static const uint8_t stun[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
					1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	/* type 99: none such */
	static const uint8_t bad_type[] = { PROTO_MAGIC, PROTO_VERSION, 99, 0 };
	/* reserved byte set */
	static const uint8_t reserved[] = { PROTO_MAGIC, PROTO_VERSION, PROTO_REFRESH, 1, 1, 1, 1,
					    1, 1, 1, 1, 1, 2, 'a', 'l' };
	/* STATS with a byte after it */
	static const uint8_t stats_long[] = { PROTO_MAGIC, PROTO_VERSION, PROTO_STATS, 0, 0 };
	struct proto_msg m = msg_register(1, "al");
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t len, off;
	int n;

	verbose();
	start(100);
	memset(bad_name, 2, sizeof(bad_name));
	memcpy(bad_name, (const uint8_t[]){ PROTO_MAGIC, PROTO_VERSION, PROTO_REGISTER, 0 }, 4);
	memcpy(bad_name + 4 + 8 + 32, (const uint8_t[]){ 5, 'a', 'l', ' ', 'c', 'e' }, 6);
	expect_malformed(bad_name, sizeof(bad_name), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_ENAME], 1);

	/* An endpoint of family 5 inside a body that opens: its sender holds K, and it is dropped. */
	guard_cookie(&srv.guard, &ep_a, now, m.cookie);
	m.nprivate = 1;
	m.private_ep[0] = harness_addr4(10, 0, 0, 1, 80);
	m.counter = COUNTER_START + 7;
	n = proto_encode_open(&m, buf, sizeof(buf), &off);
	ck_assert_int_gt(n, 0);
	buf[off + 8 + 1] = 5; /* the family byte of the first endpoint, after the instance and count */
	len = auth_seal_request(buf, (size_t)n, sizeof(buf), off, owner_key(1));
	ck_assert_int_eq(server_handle(&srv, buf, len, &ep_a, now, tx), 0);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_EFAMILY], 1);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_UNAUTHENTICATED], 0);

	ck_assert_int_eq(server_handle(&srv, stun, sizeof(stun), &ep_a, now, tx), 1);
	ck_assert_uint_eq(srv.stats.stun_answered, 1);
	expect_malformed(bad_type, sizeof(bad_type), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_ETYPE], 1);
	expect_malformed(reserved, sizeof(reserved), &ep_a);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_ERESERVED], 1);
	ck_assert_int_eq(server_handle(&srv, stats_long, sizeof(stats_long), &ep_a, now, tx), 0);
	ck_assert_uint_eq(srv.stats.malformed[-PROTO_ETRAILING], 1);
	ck_assert_uint_eq(srv.names.count, 0);
}
END_TEST

/* xorshift64* (Vigna): seeded, so every run sends the same garbage. */
static struct rng64 rng;

START_TEST(garbage_dropped)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int i, dropped = 0, version = 0, stun = 0, answered = 0, n;

	start(100);
	rng.s = UINT64_C(0xdeadbeefcafef00d);
	for (i = 0; i < 5000; i++) {
		size_t len = (size_t)(rng64star_next(&rng) % 120), j;
		struct proto_msg m;
		int r;

		for (j = 0; j < len; j++)
			buf[j] = (uint8_t)rng64star_next(&rng);
		/* Most get a good header, so the body parsers see the garbage too. */
		if (len >= 4 && i % 4 != 0) {
			buf[0] = PROTO_MAGIC;
			buf[1] = PROTO_VERSION;
			buf[2] = (uint8_t)(1 + rng64star_next(&rng) % 4); /* the requests and REGISTERED */
			buf[3] = 0;
		}
		/* A first byte 0..3 makes it STUN's (RFC 7983): dropped, but not as ours. */
		if (stun_is_stun(buf, len)) {
			ck_assert_int_eq(server_handle(&srv, buf, len, &ep_a, now, tx), 0);
			stun++;
			continue;
		}
		r = proto_decode_prefix(buf, len, &m);
		if (r == PROTO_EVERSION) {
			/* Answered when the refusal (8 bytes) is no larger; else dropped. */
			if (len < 8) {
				expect_malformed_version(buf, len, &ep_a);
				dropped++;
				continue;
			}
			ck_assert_int_eq(server_handle(&srv, buf, len, &ep_a, now, tx), 1);
			ck_assert_uint_le(tx[0].len, len);
			version++;
			continue;
		}
		if (r < 0) {
			expect_malformed(buf, len, &ep_a);
			dropped++;
			continue;
		}
		/*
		 * A clear part that reads well: a COOKIE (the cookie is wrong), a
		 * NOTICE (no such name), or nothing. Never larger, never elsewhere.
		 */
		n = server_handle(&srv, buf, len, &ep_a, now, tx);
		ck_assert_int_le(n, 1);
		if (n == 1) {
			ck_assert_uint_le(tx[0].len, len);
			ck_assert(proto_addr_equal(&tx[0].to, &ep_a));
			answered++;
		}
	}
	ck_assert_int_gt(dropped, 3000);
	ck_assert_int_gt(stun, 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_STUN], (uint64_t)stun);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_MALFORMED], (uint64_t)dropped);
	ck_assert_uint_eq(malformed_total(), (uint64_t)dropped);
	ck_assert_uint_eq(srv.stats.refused + srv.stats.cookies_sent, (uint64_t)(version + answered));
	ck_assert_uint_eq(srv.stats.registrations, 0);
	ck_assert_uint_eq(srv.names.count, 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_AMPLIFYING], 0);
}
END_TEST

START_TEST(wrong_direction_dropped)
{
	static const uint8_t types[] = { PROTO_REGISTERED, PROTO_PEER, PROTO_ERROR,
					 PROTO_STATS_REPLY, PROTO_WHO_REPLY, PROTO_RELAYED,
					 PROTO_PROBE, PROTO_PROBE_ACK, PROTO_SEALED };
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
		m.nnames = 1;
		snprintf(m.names[0], sizeof(m.names[0]), "bob");
		m.payload_len = types[i] == PROTO_PROBE ? PROTO_INIT_LEN :
				types[i] == PROTO_PROBE_ACK ? PROTO_RESP_LEN :
				types[i] == PROTO_SEALED ? PROTO_SEALED_MIN : 1;
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

/* A big table and a short TTL: the sweep still visits every entry once a TTL. */
START_TEST(tick_sweeps_big_table_within_ttl)
{
	struct proto_msg a = msg_register(1, "alice"), b = msg_register(2, "bob");
	struct server_config cfg;
	int64_t t0;

	memset(&cfg, 0, sizeof(cfg));
	start_with(&cfg, 100000);
	srv.cfg.ttl_s = 3; /* p2pchatd -t 3 -n 100000 */
	t0 = now;
	ck_assert_int_eq(handle(&a, &ep_a), 1);
	/* bob registers and refreshes every second; alice goes quiet. */
	b.type = PROTO_REGISTER;
	while (now < t0 + 2 * 3000) {
		ck_assert_int_eq(handle(&b, &ep_b), 1);
		ck_assert_uint_eq(reply(0, &ep_b).type, PROTO_REGISTERED);
		b.type = PROTO_REFRESH;
		now = server_tick(&srv, now);
	}
	ck_assert_uint_eq(srv.names.count, 1);
	ck_assert_ptr_nonnull(table_get(&srv.names, "bob", now));
}
END_TEST

/* ---- the operator's counters, /who and REPORT ---- */

static struct proto_msg msg_stats(void)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATS;
	return m;
}

/* Every counter set to a value of its own, so a line that shows the wrong one is caught. */
static void set_counters(uint64_t base)
{
	int i;

	srv.stats.received = base + 1;
	srv.stats.registrations = base + 2;
	srv.stats.refreshes = base + 3;
	srv.stats.lookups = base + 4;
	srv.stats.introductions = base + 5;
	srv.stats.punches_direct = base + 6;
	srv.stats.punches_relayed = base + 7;
	srv.stats.who_pages = base + 8;
	srv.stats.stats_answered = base + 9;
	srv.stats.stun_answered = base + 10;
	srv.stats.refused = base + 11;
	for (i = 0; i < SERVER_DROP_NREASONS; i++)
		srv.stats.dropped[i] = base + 12 + (uint64_t)i;
	srv.stats.relayed = base + 16;
	srv.stats.relayed_bytes = base + 17;
	srv.stats.relay_refused = base + 18;
	srv.stats.relay_over_rate = base + 19;
	srv.stats.cookies_sent = base + 20;
	/* dropped[4] and dropped[5] above: 16 and 17 */
	for (i = 0; i < GUARD_NKINDS; i++)
		srv.guard.limited[i] = base + 21 + (uint64_t)i;
	srv.guard.shared = base + 25;
	/* dropped[6] and dropped[7] above: 18 and 19 */
	srv.stats.key_agreements = base + 26;
	srv.stats.private_refused = base + 27;
	srv.stats.moves_refused = base + 28;
	srv.stats.mappings = base + 29;
}

/* Hands m to the server's alternate port from `from` (server_handle_alt). Returns the tx count. */
static int handle_alt(const struct proto_msg *m, const struct proto_addr *from, uint8_t *buf,
		      size_t *len)
{
	int n;

	*len = seal_request(m, buf, PROTO_MAX_DATAGRAM);
	memset(tx, 0x5a, sizeof(tx));
	n = server_handle_alt(&srv, buf, *len, from, now, tx);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_AMPLIFYING], 0);
	return n;
}

/*
 * Know your NAT (RFC 5780, 4.3): REGISTERED names the alternate port;
 * MAPPING there is answered to wherever it came from with that source,
 * never larger than it; the NAT's kind goes to the peer in PEER. Only the
 * alternate port answers MAPPING, and only a fresh, sealed one.
 */
START_TEST(alt_port_mapping)
{
	struct server_config cfg;
	struct proto_addr b_alt = ep_b;
	struct proto_msg m, r;
	char page[PROTO_STATS_TEXT_MAX + 1];
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t len;

	memset(&cfg, 0, sizeof(cfg));
	cfg.alt_port = 7778;
	start_with(&cfg, 100);
	b_alt = ep_b;
	b_alt.port = 61000; /* bob's NAT gave the alternate port a new mapping: symmetric */
	m = msg_register(1, "alice");
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	ck_assert_uint_eq(reply(0, &ep_a).alt_port, 7778);
	do_register(2, "bob", &ep_b);

	m = msg_register(1, "alice");
	m.type = PROTO_MAPPING;
	ck_assert_int_eq(handle_alt(&m, &ep_a, buf, &len), 1);
	r = reply(0, &ep_a);
	ck_assert_uint_eq(r.type, PROTO_MAPPED);
	ck_assert(proto_addr_equal(&r.public_ep, &ep_a));
	ck_assert_uint_le(tx[0].len, len);
	/* The same bytes again: a replay, dropped. */
	ck_assert_int_eq(server_handle_alt(&srv, buf, len, &ep_a, now, tx), 0);
	/* A bit flipped: it does not open. */
	buf[len - 1] ^= 1;
	ck_assert_int_eq(server_handle_alt(&srv, buf, len, &ep_a, now, tx), 0);

	m = msg_register(2, "bob");
	m.type = PROTO_MAPPING;
	ck_assert_int_eq(handle_alt(&m, &b_alt, buf, &len), 1);
	r = reply(0, &b_alt);
	ck_assert(proto_addr_equal(&r.public_ep, &b_alt));
	ck_assert_uint_eq(srv.stats.mappings, 2);
	/* The operator sees them (p2pchatd --stats): the replay and the flipped bit are not counted. */
	server_stats_format(&srv, 1, page, sizeof(page));
	ck_assert_str_eq(page, "mappings 2\n");
	/* The main port does not answer MAPPING, and the alternate one nothing else. */
	ck_assert_int_eq(handle(&m, &ep_b), 0);
	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle_alt(&m, &ep_a, buf, &len), 0);

	ck_assert_int_eq(handle(&m, &ep_a), 2);
	r = reply(0, &ep_a);
	ck_assert_str_eq(r.name, "bob");
	ck_assert_uint_eq(r.nat, PROTO_NAT_SYMMETRIC);
	ck_assert_uint_eq(r.nat_port, 61000);
	r = reply(1, &ep_b);
	ck_assert_uint_eq(r.nat, PROTO_NAT_KEEPS);
	ck_assert_uint_eq(r.nat_port, ep_a.port);

	/*
	 * alice is dual-stack: her MAPPING by IPv6 is answered, but her kind
	 * stays her IPv4 NAT's (another family's address is no new mapping).
	 */
	{
		struct proto_addr a6 = harness_addr6(1, 2, 40001);

		m = msg_register(1, "alice");
		accepted(&m, &a6);
		m.type = PROTO_MAPPING;
		ck_assert_int_eq(handle_alt(&m, &a6, buf, &len), 1);
		r = reply(0, &a6);
		ck_assert(proto_addr_equal(&r.public_ep, &a6));
		m = msg_lookup(2, "bob", "alice");
		ck_assert_int_eq(handle(&m, &ep_b), 2);
		r = reply(0, &ep_b);
		ck_assert_uint_eq(r.nat, PROTO_NAT_KEEPS);
		ck_assert_uint_eq(r.nat_port, ep_a.port);
	}
}
END_TEST

START_TEST(stats_format_lines)
{
	/* The keys are a contract with scripts: this list changes only by adding at the end. */
	static const char want[] =
		"names 2\n"
		"names_max 100\n"
		"received 1\n"
		"registrations 2\n"
		"refreshes 3\n"
		"lookups 4\n"
		"introductions 5\n"
		"punches_direct 6\n"
		"punches_relayed 7\n"
		"who_pages 8\n"
		"stats_answered 9\n"
		"stun_answered 10\n"
		"refused 11\n"
		"dropped_malformed 12\n"
		"dropped_wrong_direction 13\n"
		"dropped_stun 14\n"
		"dropped_not_loopback 15\n"
		"relayed 16\n"
		"relayed_bytes 17\n"
		"relay_refused 18\n"
		"relay_over_rate 19\n"
		"cookies_sent 20\n"
		"dropped_over_limit 16\n"
		"dropped_amplifying 17\n"
		"limited_register 21\n"
		"limited_lookup 22\n"
		"limited_relay 23\n"
		"limited_stun 24\n"
		"limit_shared 25\n"
		"dropped_unauthenticated 18\n"
		"dropped_replayed 19\n"
		"key_agreements 26\n"
		"private_refused 27\n"
		"moves_refused 28\n";
	/* Page 1: the rows added since page 0 was full. */
	static const char want1[] =
		"mappings 29\n";
	char buf[PROTO_STATS_TEXT_MAX + 1];

	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	set_counters(0);
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_uint_eq(server_stats_format(&srv, 0, buf, sizeof(buf)), strlen(want));
	ck_assert_str_eq(buf, want);
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_uint_eq(server_stats_format(&srv, 1, buf, sizeof(buf)), strlen(want1));
	ck_assert_str_eq(buf, want1);
	/* No page beyond: empty, still a string. */
	ck_assert_int_eq(SERVER_STATS_PAGES, 2);
	memset(buf, 0x5a, sizeof(buf));
	ck_assert_uint_eq(server_stats_format(&srv, 2, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(buf[0], '\0');
	ck_assert_uint_eq(server_stats_format(&srv, -1, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(stats_format_bounds)
{
	char buf[PROTO_STATS_TEXT_MAX + 1], big[2 * PROTO_STATS_TEXT_MAX], last[64];
	size_t n, cut;
	int page = _i;

	start(SERVER_DEFAULT_MAX_NAMES);
	/* Every counter at its largest still fits each page's STATS_REPLY, to its last line. */
	set_counters(UINT64_MAX - 100);
	srv.names.count = UINT32_MAX;
	n = server_stats_format(&srv, page, big, sizeof(big));
	ck_assert_uint_le(n, PROTO_STATS_TEXT_MAX);
	ck_assert_uint_eq(server_stats_format(&srv, page, buf, sizeof(buf)), n);
	ck_assert_str_eq(buf, big);
	if (page == 0)
		snprintf(last, sizeof(last), "\nmoves_refused %" PRIu64 "\n", UINT64_MAX - 100 + 28);
	else
		snprintf(last, sizeof(last), "mappings %" PRIu64 "\n", UINT64_MAX - 100 + 29);
	ck_assert_uint_ge(n, strlen(last));
	ck_assert_str_eq(buf + n - strlen(last), last);
	srv.names.count = 0;

	/* Too small a buffer: whole lines only, always NUL-terminated, never past cap. */
	n = server_stats_format(&srv, page, big, sizeof(big));
	for (cut = 0; cut <= n + 1; cut++) {
		size_t got;

		memset(buf, 0x5a, sizeof(buf));
		got = server_stats_format(&srv, page, buf, cut);
		ck_assert_uint_lt(got, cut > 0 ? cut : 1);
		if (cut > 0) {
			ck_assert_uint_eq(strlen(buf), got);
			ck_assert_mem_eq(buf, big, got);
			ck_assert(got == 0 || buf[got - 1] == '\n');
			/* Nothing more could have fit: the next line is longer than what was left. */
			ck_assert(got == n || strchr(big + got, '\n') - (big + got) + 1 >= (long)(cut - got));
		}
		if (cut < sizeof(buf))
			ck_assert_uint_eq((uint8_t)buf[cut], 0x5a);
	}
}
END_TEST

/* STATS is answered on loopback only; anything else is dropped and counted. */
START_TEST(stats_loopback_only)
{
	static const uint8_t ip6_loop[16] = { [15] = 1 };
	struct proto_addr lo4 = harness_addr4(127, 0, 0, 1, 50000), lo4b = harness_addr4(127, 9, 8, 7, 1);
	struct proto_addr lo6 = harness_addr6(0, 0, 50001), near6 = harness_addr6(0, 1, 50001);
	struct proto_addr lan = harness_addr4(10, 0, 0, 1, 50000);
	struct proto_addr near = harness_addr4(128, 0, 0, 1, 50000);
	struct proto_msg m = msg_stats(), r;
	char want[PROTO_FRAG_MAX + 1];

	verbose();
	start(100);
	memcpy(lo6.ip, ip6_loop, 16);
	memset(near6.ip, 0, 16);
	near6.ip[15] = 2; /* ::2 is not loopback */
	do_register(1, "alice", &ep_a);

	ck_assert_int_eq(handle(&m, &lo4), SERVER_STATS_PAGES);
	/* The replies are the formatted pages in order, this request counted in them. */
	for (int page = 0; page < SERVER_STATS_PAGES; page++) {
		r = reply(page, &lo4);
		ck_assert_uint_eq(r.type, PROTO_STATS_REPLY);
		server_stats_format(&srv, page, want, sizeof(want));
		ck_assert_uint_eq(r.text_len, strlen(want));
		ck_assert_str_eq(r.text, want);
		ck_assert_uint_eq(r.text[r.text_len - 1], '\n');
	}
	r = reply(0, &lo4);
	ck_assert_ptr_nonnull(strstr(r.text, "\nregistrations 1\n"));
	ck_assert_ptr_nonnull(strstr(r.text, "\nstats_answered 1\n"));
	r = reply(1, &lo4);
	ck_assert_str_eq(r.text, "mappings 0\n");

	ck_assert_int_eq(handle(&m, &lo4b), SERVER_STATS_PAGES);
	reply(0, &lo4b);
	ck_assert_int_eq(handle(&m, &lo6), SERVER_STATS_PAGES);
	reply(0, &lo6);
	ck_assert_uint_eq(srv.stats.stats_answered, 3);

	ck_assert_int_eq(handle(&m, &ep_a), 0);
	ck_assert_int_eq(handle(&m, &lan), 0);
	ck_assert_int_eq(handle(&m, &near), 0);
	ck_assert_int_eq(handle(&m, &near6), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_NOT_LOOPBACK], 4);
	ck_assert_uint_eq(srv.stats.stats_answered, 3);
	ck_assert_uint_eq(srv.stats.refused, 0);
}
END_TEST

static struct proto_msg msg_who(uint8_t token, const char *name, uint32_t cursor)
{
	struct proto_msg m = msg_register(token, name);

	m.type = PROTO_WHO;
	m.cursor = cursor;
	return m;
}

/* Without --allow-who, WHO is refused, even for a registered name. */
START_TEST(who_off_by_default)
{
	struct proto_msg m;

	start(100);
	do_register(1, "alice", &ep_a);
	m = msg_who(1, "alice", 0);
	refused(&m, &ep_a, PROTO_E_WHO_OFF, "");
	ck_assert_uint_eq(srv.stats.who_pages, 0);
}
END_TEST

static void start_who(uint32_t max_names)
{
	struct server_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.allow_who = 1;
	start_with(&cfg, max_names);
}

/*
 * Asks for every page as a client would, from alice at ep_a; marks each
 * name listed in seen[] (by its number in "userN"; alice is seen[nusers]).
 * Returns how many pages it took.
 */
static int who_all(int *seen, int nusers)
{
	uint32_t cursor = 0;
	int pages = 0;

	do {
		struct proto_msg m = msg_who(1, "alice", cursor), r;
		int i;

		ck_assert_int_eq(handle(&m, &ep_a), 1);
		r = reply(0, &ep_a);
		ck_assert_uint_eq(r.type, PROTO_WHO_REPLY);
		ck_assert_uint_eq(r.cursor, cursor);
		ck_assert_uint_le(r.nnames, PROTO_WHO_MAX);
		ck_assert_uint_eq(r.total, srv.names.count);
		for (i = 0; i < r.nnames; i++) {
			int k = strcmp(r.names[i], "alice") == 0 ? nusers : atoi(r.names[i] + 4);

			ck_assert_int_ge(k, 0);
			ck_assert_int_le(k, nusers);
			seen[k]++;
		}
		ck_assert(r.next == 0 || r.next > cursor);
		cursor = r.next;
		pages++;
	} while (cursor != 0 && pages < 1000);
	ck_assert_uint_eq(cursor, 0);
	return pages;
}

START_TEST(who_lists_every_name_once)
{
	enum { NUSERS = 99 };
	int seen[NUSERS + 1], i;
	char name[16];

	start_who(1000);
	do_register(1, "alice", &ep_a);
	for (i = 0; i < NUSERS; i++) {
		snprintf(name, sizeof(name), "user%d", i);
		do_register(2, name, &ep_b);
	}
	memset(seen, 0, sizeof(seen));
	/* 100 names, 32 a page: 4 pages. */
	ck_assert_int_eq(who_all(seen, NUSERS), 4);
	for (i = 0; i <= NUSERS; i++)
		ck_assert_msg(seen[i] == 1, "name %d listed %d times", i, seen[i]);
	ck_assert_uint_eq(srv.stats.who_pages, 4);

	/* A dead name is not listed, even before the sweep removes it. */
	now += TTL_MS - 1;
	do_register(1, "alice", &ep_a);
	do_register(2, "user7", &ep_b);
	now += 1;
	memset(seen, 0, sizeof(seen));
	ck_assert_int_eq(who_all(seen, NUSERS), 1);
	for (i = 0; i <= NUSERS; i++)
		ck_assert_int_eq(seen[i], i == 7 || i == NUSERS);
}
END_TEST

/*
 * /who lists only the names refreshed within a refresh interval (a third
 * of the TTL here) and a grace: one that left is gone from the list long
 * before its TTL ends.
 */
START_TEST(who_lists_only_fresh_names)
{
	int seen[2];

	start_who(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "user0", &ep_b);
	memset(seen, 0, sizeof(seen));
	who_all(seen, 1);
	ck_assert_int_eq(seen[0] + seen[1], 2);
	/* user0 stops refreshing; alice goes on. */
	now += TTL_MS / 3 + SERVER_WHO_GRACE_MS;
	do_register(1, "alice", &ep_a);
	memset(seen, 0, sizeof(seen));
	who_all(seen, 1);
	ck_assert_int_eq(seen[1], 1);
	ck_assert_int_eq(seen[0], 0);
	ck_assert_ptr_nonnull(table_get(&srv.names, "user0", now)); /* alive all the same */
}
END_TEST

/* One WHO looks at SERVER_WHO_SCAN entries at most, even in a big, empty table. */
START_TEST(who_scan_is_bounded)
{
	struct proto_msg m, r;
	uint32_t cap = 2 * SERVER_WHO_SCAN + 100;

	start_who(cap);
	do_register(1, "alice", &ep_a);
	m = msg_who(1, "alice", 0);
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	r = reply(0, &ep_a);
	ck_assert_uint_eq(r.nnames, 1);
	ck_assert_str_eq(r.names[0], "alice");
	ck_assert_uint_eq(r.next, SERVER_WHO_SCAN);
	m.cursor = r.next;
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	r = reply(0, &ep_a);
	ck_assert_uint_eq(r.nnames, 0);
	ck_assert_uint_eq(r.next, 2 * SERVER_WHO_SCAN);
	m.cursor = r.next;
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	r = reply(0, &ep_a);
	ck_assert_uint_eq(r.nnames, 0);
	ck_assert_uint_eq(r.next, 0);
	/* A cursor past the table: an empty last page. */
	m.cursor = UINT32_MAX;
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	r = reply(0, &ep_a);
	ck_assert_uint_eq(r.cursor, UINT32_MAX);
	ck_assert_uint_eq(r.nnames, 0);
	ck_assert_uint_eq(r.next, 0);
}
END_TEST

/* WHO and REPORT need a registered name and its token, like LOOKUP. */
START_TEST(who_and_report_need_registration)
{
	struct proto_msg m;

	start_who(100);
	do_register(2, "bob", &ep_b);
	m = msg_who(1, "alice", 0);
	refused(&m, &ep_a, PROTO_E_UNKNOWN, "alice");
	/* bob's name, not bob's key: it does not open, and gets nothing. */
	m = msg_who(1, "bob", 0);
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	m = msg_lookup(1, "bob", "alice");
	m.type = PROTO_REPORT;
	m.path = PROTO_PATH_PUBLIC;
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_UNAUTHENTICATED], 2);
	ck_assert_uint_eq(srv.stats.who_pages, 0);
	ck_assert_uint_eq(srv.stats.punches_direct, 0);
	ck_assert_uint_eq(srv.stats.refused, 1);
}
END_TEST

START_TEST(report_counts_paths)
{
	static const uint8_t paths[] = { PROTO_PATH_PRIVATE, PROTO_PATH_PUBLIC, PROTO_PATH_RELAY,
					 PROTO_PATH_PUBLIC };
	struct proto_msg m;
	size_t i;

	verbose();
	start(100);
	do_register(1, "alice", &ep_a);
	for (i = 0; i < sizeof(paths); i++) {
		m = msg_lookup(1, "alice", "bob");
		m.type = PROTO_REPORT;
		m.path = paths[i];
		ck_assert_int_eq(handle(&m, &ep_a), 0); /* counted, not answered */
	}
	ck_assert_uint_eq(srv.stats.punches_direct, 3);
	ck_assert_uint_eq(srv.stats.punches_relayed, 1);
	ck_assert_uint_eq(srv.stats.refused, 0);
}
END_TEST

/* ---- the relay ---- */

/*
 * A peer-to-peer datagram, as a client would send it straight to its peer:
 * PROBE and PROBE_ACK carry the handshake; any other type stands for a
 * SEALED one, the largest for DATA, the smallest for the rest. The server
 * reads none of it.
 */
static struct proto_msg msg_peer(uint8_t type)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type == PROTO_PROBE || type == PROTO_PROBE_ACK ? type : PROTO_SEALED;
	m.payload_len = type == PROTO_PROBE ? PROTO_INIT_LEN :
			type == PROTO_PROBE_ACK ? PROTO_RESP_LEN :
			type == PROTO_DATA ? PROTO_SEALED_MAX : PROTO_SEALED_MIN;
	memset(m.payload, 0x4e, m.payload_len);
	return m;
}

/* A RELAY from name (with token) to target, carrying `inner` encoded. */
static struct proto_msg msg_relay(uint8_t token, const char *name, const char *target,
				  const struct proto_msg *inner)
{
	struct proto_msg m = msg_lookup(token, name, target);
	int n = proto_encode(inner, m.payload, sizeof(m.payload));

	ck_assert_int_gt(n, 0);
	m.type = PROTO_RELAY;
	m.payload_len = (uint16_t)n;
	return m;
}

/* Returns the length m has on the wire. */
static size_t wire_len(const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];

	return seal_request(m, buf, sizeof(buf));
}

/*
 * Sends the RELAY m from `from`; it must be passed on: one RELAYED to `to`,
 * from m's sender, with m's payload unchanged.
 */
static void relayed(const struct proto_msg *m, const struct proto_addr *from,
		    const struct proto_addr *to)
{
	uint64_t n = srv.stats.relayed, bytes = srv.stats.relayed_bytes;
	struct proto_msg r;

	ck_assert_int_eq(handle(m, from), 1);
	r = reply(0, to);
	ck_assert_uint_eq(r.type, PROTO_RELAYED);
	ck_assert_str_eq(r.name, m->name);
	ck_assert_uint_eq(r.payload_len, m->payload_len);
	ck_assert_mem_eq(r.payload, m->payload, m->payload_len);
	ck_assert_uint_eq(srv.stats.relayed, n + 1);
	ck_assert_uint_eq(srv.stats.relayed_bytes, bytes + tx[0].len);
}

/* Every peer-to-peer type goes through, both ways, to where each peer is now. */
START_TEST(relay_passes_peer_datagrams)
{
	static const uint8_t types[] = { PROTO_PROBE, PROTO_PROBE_ACK, PROTO_DATA, PROTO_ACK,
					 PROTO_PING, PROTO_PONG, PROTO_BYE };
	struct proto_addr a2 = harness_addr4(203, 0, 113, 7, 41000);
	struct proto_msg inner, m;
	size_t i;

	verbose();
	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	for (i = 0; i < sizeof(types); i++) {
		inner = msg_peer(types[i]);
		m = msg_relay(1, "alice", "bob", &inner);
		relayed(&m, &ep_a, &ep_b);
		m = msg_relay(2, "bob", "alice", &inner);
		relayed(&m, &ep_b, &ep_a);
	}
	ck_assert_uint_eq(srv.stats.relayed, 2 * sizeof(types));
	ck_assert_uint_eq(srv.stats.relay_refused + srv.stats.relay_over_rate, 0);
	ck_assert_uint_eq(srv.stats.refused, 0);

	/* The largest payload, a DATA of 1024 bytes between the longest names, goes through. */
	inner = msg_peer(PROTO_DATA);
	inner.text_len = PROTO_FRAG_MAX;
	memset(inner.text, 'x', PROTO_FRAG_MAX);
	m = msg_relay(1, "alice", "bob", &inner);
	relayed(&m, &ep_a, &ep_b);
	ck_assert_uint_le(tx[0].len, PROTO_MAX_DATAGRAM);

	/* A RELAY is a sign of life: once a REFRESH moved alice to a new NAT mapping... */
	inner = msg_peer(PROTO_PING);
	m = msg_refresh(1, "alice");
	accepted(&m, &a2);
	m = msg_relay(1, "alice", "bob", &inner);
	now += TTL_MS - 1;
	relayed(&m, &a2, &ep_b);
	/* ...one from there keeps her registration alive... */
	now += TTL_MS - 1;
	m = msg_relay(2, "bob", "alice", &inner);
	refused(&m, &ep_b, PROTO_E_UNKNOWN, "bob"); /* bob's lapsed meanwhile */
	do_register(2, "bob", &ep_b);
	/* ...and what bob relays goes to her new endpoint. */
	relayed(&m, &ep_b, &a2);
}
END_TEST

/* Refused with an ERROR: relay off, a sender the server does not know, a target not online. */
START_TEST(relay_refusals)
{
	struct proto_msg inner = msg_peer(PROTO_PROBE), m;
	struct server_config cfg;

	verbose();
	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	/* No such sender: register again; a sender without its key: nothing at all. */
	m = msg_relay(3, "carol", "bob", &inner);
	refused(&m, &ep_c, PROTO_E_UNKNOWN, "carol");
	m = msg_relay(3, "alice", "bob", &inner);
	ck_assert_int_eq(handle(&m, &ep_c), 0);
	/* No such target, or oneself. */
	m = msg_relay(1, "alice", "dave", &inner);
	refused(&m, &ep_a, PROTO_E_NOT_ONLINE, "dave");
	m = msg_relay(1, "alice", "alice", &inner);
	refused(&m, &ep_a, PROTO_E_NOT_ONLINE, "alice");
	/* A target whose registration lapsed is not online either. */
	now += TTL_MS;
	do_register(1, "alice", &ep_a);
	m = msg_relay(1, "alice", "bob", &inner);
	refused(&m, &ep_a, PROTO_E_NOT_ONLINE, "bob");
	ck_assert_uint_eq(srv.stats.relay_refused, 3);
	ck_assert_uint_eq(srv.stats.refused, 4);
	ck_assert_uint_eq(srv.stats.relayed, 0);
	server_free(&srv);

	/* --no-relay: refused, registered or not, and nothing is passed on. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.no_relay = 1;
	start_with(&cfg, 100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	m = msg_relay(1, "alice", "bob", &inner);
	refused(&m, &ep_a, PROTO_E_RELAY_OFF, "bob");
	/* Not registered: the server has no K to say so with, only "register again". */
	m = msg_relay(3, "carol", "bob", &inner);
	refused(&m, &ep_c, PROTO_E_UNKNOWN, "carol");
	ck_assert_uint_eq(srv.stats.relay_refused, 1);
	ck_assert_uint_eq(srv.stats.relayed, 0);
}
END_TEST

/* Only peer-to-peer datagrams go through: nobody makes the server's messages come from a peer. */
START_TEST(relay_only_peer_types)
{
	static const uint8_t types[] = { PROTO_REGISTER, PROTO_REGISTERED, PROTO_PEER,
					 PROTO_ERROR, PROTO_STATS, PROTO_STATS_REPLY, PROTO_WHO,
					 PROTO_WHO_REPLY, PROTO_REPORT, PROTO_LOOKUP };
	struct proto_msg inner, m;
	size_t i;
	int n = 0;

	verbose();
	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	for (i = 0; i < sizeof(types); i++) {
		memset(&inner, 0, sizeof(inner));
		inner.type = types[i];
		set_token(&inner, 1);
		snprintf(inner.name, sizeof(inner.name), "alice");
		snprintf(inner.target, sizeof(inner.target), "bob");
		inner.public_ep = ep_c;
		inner.text_len = 1;
		inner.text[0] = 'x';
		inner.path = PROTO_PATH_PUBLIC;
		m = msg_relay(1, "alice", "bob", &inner);
		ck_assert_msg(handle(&m, &ep_a) == 0, "%s relayed", proto_type_name(types[i]));
		n++;
	}
	/* A RELAY in a RELAY, and a RELAYED in one. */
	inner = msg_relay(1, "alice", "bob", &m);
	m = msg_relay(1, "alice", "bob", &inner);
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	inner.type = PROTO_RELAYED;
	m = msg_relay(1, "alice", "bob", &inner);
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	n += 2;
	/*
	 * Bytes that are no datagram at all, and a PING of version 1: the
	 * server cannot read the peers' sealed datagrams, so it goes by the
	 * header alone.
	 */
	inner = msg_peer(PROTO_PING);
	m = msg_relay(1, "alice", "bob", &inner);
	m.payload[1] = 1;
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	memset(m.payload, 0xff, 10);
	m.payload_len = 10;
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	n += 2;
	ck_assert_uint_eq(srv.stats.relay_refused, (uint64_t)n);
	ck_assert_uint_eq(srv.stats.relayed, 0);
	ck_assert_uint_eq(srv.stats.refused, 0);
	ck_assert_uint_eq(srv.stats.registrations, 2); /* the REGISTER inside did nothing */
	/* The same RELAY with a PING inside goes through: only the payload was wrong. */
	inner = msg_peer(PROTO_PING);
	m = msg_relay(1, "alice", "bob", &inner);
	relayed(&m, &ep_a, &ep_b);
}
END_TEST

/*
 * Sends the RELAY m from `from` again and again (at most `most` times)
 * until one is dropped over the rate; each before it must have gone to
 * `to`. Returns how many went through.
 */
static int relay_until_dropped(const struct proto_msg *m, const struct proto_addr *from,
			       const struct proto_addr *to, int most)
{
	uint64_t over = srv.stats.relay_over_rate;
	int n;

	for (n = 0; n < most; n++) {
		int r = handle(m, from);

		if (r == 0)
			break;
		ck_assert_int_eq(r, 1);
		reply(0, to);
	}
	ck_assert_msg(n < most, "never over the rate");
	ck_assert_uint_eq(srv.stats.relay_over_rate, over + 1);
	return n;
}

/* Each sender has a token bucket: RATE bytes a second, SERVER_RELAY_BURST_S seconds' worth at once. */
START_TEST(relay_rate_limited)
{
	enum { RATE = 1000 };
	struct proto_msg inner = msg_peer(PROTO_DATA), m, b;
	struct server_config cfg;
	size_t len;
	int n;

	verbose();
	memset(&cfg, 0, sizeof(cfg));
	cfg.relay_rate = RATE;
	start_with(&cfg, 100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	inner.payload_len = 123; /* a sealed DATA of 100 bytes of text */
	m = msg_relay(1, "alice", "bob", &inner);
	len = wire_len(&m);
	ck_assert_uint_eq(len, 167); /* 40 bytes around a SEALED of 127: header, names, counter, length, tag */

	/* The burst: as many whole datagrams as 4 seconds of the rate hold; the next is dropped. */
	n = relay_until_dropped(&m, &ep_a, &ep_b, 1000);
	ck_assert_int_eq(n, RATE * SERVER_RELAY_BURST_S / (int)len);
	ck_assert_uint_eq(srv.stats.refused, 0); /* dropped unanswered */

	/* bob's bucket is his own: he is not limited by alice's traffic. */
	b = msg_relay(2, "bob", "alice", &inner);
	relayed(&b, &ep_b, &ep_a);

	/* A second later, one second of the rate more: what was left plus 1000 bytes. */
	now += 1000;
	n = relay_until_dropped(&m, &ep_a, &ep_b, 1000);
	ck_assert_int_eq(n, (int)((RATE * SERVER_RELAY_BURST_S % len + RATE) / len));
	/* Registering again refills nothing. */
	do_register(1, "alice", &ep_a);
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	/* A long silence fills the bucket, but no more than the burst. */
	now += 3600 * 1000;
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	n = relay_until_dropped(&m, &ep_a, &ep_b, 1000);
	ck_assert_int_eq(n, RATE * SERVER_RELAY_BURST_S / (int)len);
	ck_assert_uint_eq(srv.stats.relay_over_rate, 4);
	ck_assert_uint_eq(srv.stats.relay_refused, 0);
}
END_TEST

/* The default rate: SERVER_DEFAULT_RELAY_RATE, a burst of SERVER_RELAY_BURST_S seconds. */
START_TEST(relay_default_rate)
{
	struct proto_msg inner = msg_peer(PROTO_DATA), m;
	size_t len;
	int n;

	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	inner.text_len = PROTO_FRAG_MAX;
	memset(inner.text, 'z', PROTO_FRAG_MAX);
	m = msg_relay(1, "alice", "bob", &inner);
	len = wire_len(&m);
	n = relay_until_dropped(&m, &ep_a, &ep_b, 1000);
	ck_assert_int_eq(n, SERVER_DEFAULT_RELAY_RATE * SERVER_RELAY_BURST_S / (int)len);
	/* Half a second later: half a second of the rate, and what was left. */
	now += 500;
	n = relay_until_dropped(&m, &ep_a, &ep_b, 1000);
	ck_assert_int_eq(n, (int)((SERVER_DEFAULT_RELAY_RATE * SERVER_RELAY_BURST_S % len +
				    SERVER_DEFAULT_RELAY_RATE / 2) / len));
}
END_TEST

/*
 * Runs fn with stderr going to a temporary file, and returns what was
 * written there (static storage, NUL-terminated).
 */
static const char *logged(void (*fn)(void))
{
	static char text[4096];
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(saved, 0);
	fflush(stderr);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* Registers alice and has the table refuse carol, at debug level. */
static void log_some_events(void)
{
	struct proto_msg m = msg_register(3, "carol");

	log_init("p2pchatd", LOG_DEBUG);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	refused(&m, &ep_c, PROTO_E_TABLE_FULL, "carol");
	refused(&m, &ep_c, PROTO_E_TABLE_FULL, "carol");
	m = msg_lookup(1, "alice", "bob");
	handle(&m, &ep_a);
}

/* --no-log-addresses: the log tells what happened, with "-" for every address. */
START_TEST(log_without_addresses)
{
	struct server_config cfg;
	const char *text;

	memset(&cfg, 0, sizeof(cfg));
	cfg.hide_addresses = 1;
	start_with(&cfg, 2);
	unsetenv("JOURNAL_STREAM");
	text = logged(log_some_events);
	ck_assert_ptr_nonnull(strstr(text, "p2pchatd: registered alice at -\n"));
	ck_assert_ptr_nonnull(strstr(text, "introduced alice at - and bob at -\n"));
	ck_assert_ptr_null(strstr(text, "203.0.113.7"));
	ck_assert_ptr_null(strstr(text, "198.51.100.1"));
	ck_assert_ptr_null(strstr(text, "192.0.2.33"));
	/* The full table is told once, as a warning, not once per refusal. */
	ck_assert_ptr_nonnull(strstr(text, "p2pchatd: warning: the name table is full (2 names)"));
	ck_assert_ptr_null(strstr(strstr(text, "table is full") + 1, "table is full"));
	server_free(&srv);

	/* By default, the addresses are there. */
	start(2);
	text = logged(log_some_events);
	ck_assert_ptr_nonnull(strstr(text, "p2pchatd: registered alice at 203.0.113.7:40001\n"));
}
END_TEST

/* With stderr on the journal (JOURNAL_STREAM names it), lines carry syslog priorities. */
static void log_levels(void)
{
	struct stat st;
	char v[64];

	ck_assert_int_eq(fstat(STDERR_FILENO, &st), 0);
	snprintf(v, sizeof(v), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
	log_init("p2pchatd", LOG_DEBUG);
	log_error("e %d", 1);
	log_warn("w");
	log_info("i");
	log_debug("d");
	/* Another stream (an inherited variable, stderr redirected since): plain lines. */
	snprintf(v, sizeof(v), "%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino + 1);
	setenv("JOURNAL_STREAM", v, 1);
	log_init("p2pchatd", LOG_INFO);
	log_info("plain");
	setenv("JOURNAL_STREAM", "garbage", 1);
	log_init("p2pchatd", LOG_INFO);
	log_info("plain again");
	unsetenv("JOURNAL_STREAM");
}

START_TEST(log_to_journal)
{
	ck_assert_str_eq(logged(log_levels), "<3>error: e 1\n<4>warning: w\n<6>i\n<7>d\n"
					     "p2pchatd: plain\np2pchatd: plain again\n");
	log_init("test_server", LOG_ERROR);
}
END_TEST

/*
 * A request with a name's token from another address than the name's
 * (a NAT that gave the client a new mapping, or someone forging the
 * source to aim answers at a victim) is refused with PROTO_E_ADDRESS and
 * moves nothing; a REFRESH with the new address's cookie moves the name.
 */
START_TEST(requests_only_from_the_names_address)
{
	struct proto_addr a2 = harness_addr4(203, 0, 113, 7, 40555);
	struct proto_msg inner = msg_peer(PROTO_PING), m;
	uint64_t lookups;

	verbose();
	start_who(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	/* The refusal names nobody: to an address not proven it is no larger than the request. */
	m = msg_lookup(1, "alice", "bob");
	refused(&m, &a2, PROTO_E_ADDRESS, "");
	m = msg_who(1, "alice", 0);
	refused(&m, &a2, PROTO_E_ADDRESS, "");
	m = msg_relay(1, "alice", "bob", &inner);
	refused(&m, &a2, PROTO_E_ADDRESS, "");
	m = msg_lookup(1, "alice", "bob");
	m.type = PROTO_REPORT;
	m.path = PROTO_PATH_PUBLIC;
	refused(&m, &a2, PROTO_E_ADDRESS, "");
	ck_assert_uint_eq(srv.stats.relayed + srv.stats.introductions + srv.stats.who_pages, 0);
	ck_assert_uint_eq(srv.stats.punches_direct, 0);
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &ep_a));

	/* From her address, all is well; after a REFRESH from a2, from there only. */
	lookups = srv.stats.introductions;
	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle(&m, &ep_a), 2);
	m = msg_refresh(1, "alice");
	accepted(&m, &a2);
	m = msg_lookup(1, "alice", "bob");
	refused(&m, &ep_a, PROTO_E_ADDRESS, "");
	ck_assert_int_eq(handle(&m, &a2), 2);
	reply(0, &a2);
	ck_assert_uint_eq(srv.stats.introductions, lookups + 2);
}
END_TEST

/* ---- the guard: cookies, limits per source, no amplification ---- */

/* Sends m exactly as it is from `from`; it must get one COOKIE back, and change nothing. */
static struct proto_msg cookie_answer(const struct proto_msg *m, const struct proto_addr *from)
{
	uint32_t names = srv.names.count;
	uint64_t regs = srv.stats.registrations, refreshes = srv.stats.refreshes;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg r;

	ck_assert_int_eq(handle_as_is(m, from), 1);
	r = reply(0, from);
	ck_assert_uint_eq(r.type, PROTO_COOKIE);
	/* 44 bytes, the cookie and the server's key, never more than the request. */
	ck_assert_uint_eq(tx[0].len, PROTO_HEADER_LEN + PROTO_COOKIE_LEN + PROTO_KEY_LEN);
	ck_assert_mem_eq(r.key, srv.pub, PROTO_KEY_LEN);
	ck_assert_uint_gt(seal_request(m, buf, sizeof(buf)), tx[0].len);
	ck_assert_uint_eq(srv.names.count, names);
	ck_assert_uint_eq(srv.stats.registrations, regs);
	ck_assert_uint_eq(srv.stats.refreshes, refreshes);
	return r;
}

START_TEST(cookie_round_trip)
{
	struct proto_msg m = msg_register(1, "alice"), c, r;

	verbose();
	start(100);
	/* No cookie yet: the server sends one, and registers nothing. */
	c = cookie_answer(&m, &ep_a);
	ck_assert_uint_eq(srv.stats.cookies_sent, 1);
	/* The same REGISTER with it: registered; REGISTERED carries a cookie for the REFRESH. */
	memcpy(m.cookie, c.cookie, PROTO_COOKIE_LEN);
	ck_assert_int_eq(handle_as_is(&m, &ep_a), 1);
	r = reply(0, &ep_a);
	ck_assert_uint_eq(r.type, PROTO_REGISTERED);
	ck_assert_uint_eq(srv.names.count, 1);
	m = msg_refresh(1, "alice");
	memcpy(m.cookie, r.cookie, PROTO_COOKIE_LEN);
	now += GUARD_COOKIE_PERIOD_MS; /* still good in the next period */
	ck_assert_int_eq(handle_as_is(&m, &ep_a), 1);
	ck_assert_uint_eq(reply(0, &ep_a).type, PROTO_REGISTERED);
	ck_assert_uint_eq(srv.stats.refreshes, 1);

	/* Two periods on, it is stale: a new cookie first. */
	now += 2 * GUARD_COOKIE_PERIOD_MS;
	cookie_answer(&m, &ep_a);
	ck_assert_uint_eq(srv.stats.cookies_sent, 2);
}
END_TEST

/*
 * A forged source address never sees the cookie the server sends there,
 * so it can neither register a name nor move one; a cookie of another
 * address (or another port) is no good either.
 */
START_TEST(spoofed_source_cannot_register_or_refresh)
{
	struct proto_addr a_port;
	struct proto_msg m;

	start(100);
	a_port = ep_a;
	do_register(1, "alice", &ep_a);
	/* bob's source forged as ep_c, with alice's cookie, with zeros, with a guess. */
	m = msg_register(2, "bob");
	guard_cookie(&srv.guard, &ep_a, now, m.cookie);
	cookie_answer(&m, &ep_c);
	memset(m.cookie, 0, sizeof(m.cookie));
	cookie_answer(&m, &ep_c);
	memset(m.cookie, 0xa5, sizeof(m.cookie));
	cookie_answer(&m, &ep_c);
	ck_assert_ptr_null(table_get(&srv.names, "bob", now));

	/* alice's REFRESH, forged from ep_c or from another port of hers: she does not move. */
	m = msg_refresh(1, "alice");
	guard_cookie(&srv.guard, &ep_a, now, m.cookie);
	cookie_answer(&m, &ep_c);
	a_port.port++;
	cookie_answer(&m, &a_port);
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &ep_a));
	ck_assert_uint_eq(srv.stats.refreshes, 0);
}
END_TEST

/* Starts the server with a guard of no limits but kind's, which is per_s a second, burst. */
static void start_limited(int kind, uint32_t per_s, uint32_t burst)
{
	struct server_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.guard.rate[kind].per_s = per_s;
	cfg.guard.rate[kind].burst = burst;
	start_with(&cfg, 100);
}

START_TEST(register_rate_per_source)
{
	struct proto_addr a2;
	struct proto_msg m;
	int i;

	verbose();
	start_limited(GUARD_REGISTER, 1, 3);
	a2 = ep_a;
	a2.port++; /* another client behind alice's NAT: the same source address */
	for (i = 0; i < 3; i++)
		do_register(1, "alice", &ep_a);
	/* The bucket is empty: dropped, unanswered, counted; a2 shares it. */
	m = msg_register(2, "bob");
	ck_assert_int_eq(handle(&m, &a2), 0);
	ck_assert_uint_eq(srv.guard.limited[GUARD_REGISTER], 1);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_OVER_LIMIT], 1);
	ck_assert_ptr_null(table_get(&srv.names, "bob", now));
	/* Another address has its own budget. */
	do_register(2, "bob", &ep_b);
	/* Without a cookie nothing is charged: a forged source cannot spend its victim's. */
	m = msg_register(1, "alice");
	for (i = 0; i < 10; i++)
		cookie_answer(&m, &ep_a);
	ck_assert_uint_eq(srv.guard.limited[GUARD_REGISTER], 1);
	/* A second later, one more. */
	now += 1000;
	do_register(1, "alice", &ep_a);
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	ck_assert_uint_eq(srv.guard.limited[GUARD_REGISTER], 2);
}
END_TEST

START_TEST(lookup_rate_per_source)
{
	struct proto_msg m;
	int i;

	verbose();
	start_limited(GUARD_LOOKUP, 2, 5);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	m = msg_lookup(1, "alice", "bob");
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(handle(&m, &ep_a), 2);
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	ck_assert_uint_eq(srv.guard.limited[GUARD_LOOKUP], 1);
	ck_assert_uint_eq(srv.stats.introductions, 5);
	/* bob, at his own address, is served; alice again after 500 ms (2 a second). */
	m = msg_lookup(2, "bob", "alice");
	ck_assert_int_eq(handle(&m, &ep_b), 2);
	now += 500;
	m = msg_lookup(1, "alice", "bob");
	ck_assert_int_eq(handle(&m, &ep_a), 2);
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	ck_assert_uint_eq(srv.guard.limited[GUARD_LOOKUP], 2);
}
END_TEST

START_TEST(relay_bytes_per_source)
{
	struct proto_addr a2;
	struct proto_msg inner = msg_peer(PROTO_PING), m;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int len;

	verbose();
	m = msg_relay(1, "alice", "bob", &inner);
	len = (int)seal_request(&m, buf, sizeof(buf));
	/* Room for exactly three of these RELAYs at once, from one address. */
	start_limited(GUARD_RELAY, 10, 3 * (uint32_t)len);
	a2 = ep_a;
	a2.port++;
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	do_register(3, "carol", &a2); /* behind alice's NAT: her relay budget is shared */
	relayed(&m, &ep_a, &ep_b);
	relayed(&m, &ep_a, &ep_b);
	m = msg_relay(3, "carol", "bob", &inner);
	relayed(&m, &a2, &ep_b);
	ck_assert_int_eq(handle(&m, &a2), 0);
	ck_assert_uint_eq(srv.guard.limited[GUARD_RELAY], 1);
	/* bob's own address still relays. */
	m = msg_relay(2, "bob", "alice", &inner);
	relayed(&m, &ep_b, &ep_a);
}
END_TEST

START_TEST(stun_rate_per_source)
{
	/* A Binding request (RFC 8489): header only, transaction id 1..12. */
	static const uint8_t stun[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
					1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	int i;

	start_limited(GUARD_STUN, 1, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_int_eq(server_handle(&srv, stun, sizeof(stun), &ep_a, now, tx), 1);
		/* Larger than the request, as RFC 8489 makes it: the one exception, so limited. */
		ck_assert_uint_le(tx[0].len, sizeof(stun) + 12);
	}
	ck_assert_int_eq(server_handle(&srv, stun, sizeof(stun), &ep_a, now, tx), 0);
	ck_assert_uint_eq(srv.guard.limited[GUARD_STUN], 1);
	ck_assert_int_eq(server_handle(&srv, stun, sizeof(stun), &ep_b, now, tx), 1);
	ck_assert_uint_eq(srv.stats.stun_answered, 5);
}
END_TEST

START_TEST(names_per_source)
{
	struct proto_addr from;
	struct server_config cfg;
	struct proto_msg m;

	verbose();
	memset(&cfg, 0, sizeof(cfg));
	cfg.guard.names_per_source = 2;
	start_with(&cfg, 100);
	from = ep_a;
	do_register(1, "alice", &ep_a);
	from.port++;
	do_register(2, "bob", &from);
	/* A third name from the same address, from any port: refused, clearly. */
	from.port++;
	m = msg_register(3, "carol");
	refused(&m, &from, PROTO_E_TOO_MANY_NAMES, "carol");
	/* Re-registering a name it holds is no new name; another address is free. */
	do_register(1, "alice", &ep_a);
	do_register(3, "carol", &ep_c);
	ck_assert_uint_eq(srv.names.count, 3);

	/*
	 * A name that moves to another source counts there as a new name
	 * would (issue 12, attack 7): ep_b holds erin and frank, so alice's
	 * REFRESH from there is refused, and she stays where she was.
	 */
	do_register(5, "erin", &ep_b);
	do_register(6, "frank", &ep_b);
	m = msg_refresh(1, "alice");
	refused(&m, &ep_b, PROTO_E_TOO_MANY_NAMES, "alice");
	ck_assert_uint_eq(srv.stats.moves_refused, 1);
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &ep_a));
	/* So is a REGISTER that moves it (a second instance). */
	m = msg_register(1, "alice");
	refused(&m, &ep_b, PROTO_E_TOO_MANY_NAMES, "alice");
	ck_assert_uint_eq(srv.stats.moves_refused, 2);
	/* A move within one source (a NAT's new port) is free. */
	from = ep_a;
	from.port += 1000;
	m = msg_refresh(1, "alice");
	accepted(&m, &from);
	/* A name that expires frees its place: frank lapses, and alice may move to ep_b. */
	now += TTL_MS - 1;
	m = msg_refresh(5, "erin");
	accepted(&m, &ep_b);
	m = msg_refresh(1, "alice");
	accepted(&m, &from);
	now += 2;
	server_tick(&srv, now);
	ck_assert_ptr_null(table_get(&srv.names, "frank", now));
	m = msg_refresh(1, "alice");
	accepted(&m, &ep_b);
	/* ep_b holds alice and erin now: full, not over; ep_a has room again. */
	m = msg_register(9, "ivan");
	refused(&m, &ep_b, PROTO_E_TOO_MANY_NAMES, "ivan");
	do_register(9, "ivan", &ep_a);
}
END_TEST

/*
 * Every request the server knows, sent from an address no cookie proved
 * (ep_c: here, the forged source of someone holding alice's token): no
 * answer is larger than its request, and nothing goes anywhere else.
 */
START_TEST(no_amplification_from_unproven_sources)
{
	struct proto_msg inner = msg_peer(PROTO_DATA), m[12];
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t i;
	int k;

	verbose();
	start_who(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	inner.text_len = 200;
	memset(inner.text, 'x', inner.text_len);
	m[0] = msg_register(1, "alice");
	m[1] = msg_register(9, "a");
	m[2] = msg_refresh(1, "alice");
	m[3] = msg_refresh(9, "a");
	m[4] = msg_lookup(1, "alice", "bob");
	m[5] = msg_lookup(9, "a", "b");
	m[6] = msg_who(1, "alice", 0);
	m[7] = msg_who(9, "a", 0);
	m[8] = msg_relay(1, "alice", "bob", &inner);
	m[9] = msg_relay(9, "a", "bob", &inner);
	m[10] = msg_lookup(1, "alice", "bob");
	m[10].type = PROTO_REPORT;
	m[10].path = PROTO_PATH_PUBLIC;
	m[11] = msg_lookup(9, "alice", "bob");
	m[11].type = PROTO_REPORT;
	m[11].path = PROTO_PATH_RELAY;
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		size_t len;
		int n;

		/* With a zero cookie, and with alice's cookie (good for ep_a, not for ep_c). */
		for (k = 0; k < 2; k++) {
			if (k == 1)
				guard_cookie(&srv.guard, &ep_a, now, m[i].cookie);
			m[i].counter = ++owner_counter[1] + COUNTER_START; /* the same counter for both */
			len = seal_request(&m[i], buf, sizeof(buf));
			n = handle_as_is(&m[i], &ep_c);
			ck_assert_int_le(n, 1);
			if (n == 1) {
				ck_assert_msg(proto_addr_equal(&tx[0].to, &ep_c),
					      "%s: an answer to another address",
					      proto_type_name(m[i].type));
				ck_assert_msg(tx[0].len <= len, "%s: %zu bytes for %zu",
					      proto_type_name(m[i].type), tx[0].len, len);
			}
		}
	}
	ck_assert_uint_eq(srv.stats.introductions + srv.stats.relayed + srv.stats.who_pages, 0);
	ck_assert_uint_eq(srv.stats.registrations, 2);
	ck_assert_uint_eq(srv.names.count, 2);
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &ep_a));
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_AMPLIFYING], 0);
}
END_TEST

/* ---- version 2: the seal (auth.h) ---- */

/* Sends buf[0..len) as it is from `from`. Returns the tx count. */
static int handle_bytes(const uint8_t *buf, size_t len, const struct proto_addr *from)
{
	int n;

	memset(tx, 0x5a, sizeof(tx));
	n = server_handle(&srv, buf, len, from, now, tx);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_AMPLIFYING], 0);
	return n;
}

/*
 * A REGISTER with its cookie and a key, but a tag that is not the key's:
 * every bit of it flipped in turn. Nothing is registered, nothing is
 * answered, each is counted; the good one then registers.
 */
START_TEST(register_bad_tag_changes_nothing)
{
	struct proto_msg m = msg_register(1, "alice");
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t len, bit;

	start(100);
	guard_cookie(&srv.guard, &ep_a, now, m.cookie);
	len = seal_request(&m, buf, sizeof(buf));
	for (bit = 0; bit < 8 * AUTH_TAG_LEN; bit++) {
		buf[len - AUTH_TAG_LEN + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 0);
		buf[len - AUTH_TAG_LEN + bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_UNAUTHENTICATED], 8 * AUTH_TAG_LEN);
	ck_assert_uint_eq(srv.names.count, 0);
	ck_assert_uint_eq(srv.stats.registrations + srv.stats.refused, 0);
	ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 1);
	ck_assert_uint_eq(srv.names.count, 1);

	/* alice's name, alice's key in the prefix, another key's seal: nothing changes. */
	now += 1000;
	m = msg_register(2, "alice");
	guard_cookie(&srv.guard, &ep_b, now, m.cookie);
	len = seal_request(&m, buf, sizeof(buf));
	memcpy(buf + PROTO_HEADER_LEN + PROTO_COOKIE_LEN, owner_pub[1], X25519_LEN);
	ck_assert_int_eq(handle_bytes(buf, len, &ep_b), 0);
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &ep_a));
	ck_assert_uint_eq(srv.stats.registrations, 1);
}
END_TEST

/* The same sealed bytes twice: the second changes nothing and gets no answer. */
START_TEST(replayed_requests_refused)
{
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t len;

	verbose();
	start(100);
	do_register(1, "alice", &ep_a);
	do_register(2, "bob", &ep_b);
	m = msg_refresh(1, "alice");
	guard_cookie(&srv.guard, &ep_a, now, m.cookie);
	len = seal_request(&m, buf, sizeof(buf));
	ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 1);
	ck_assert_uint_eq(srv.stats.refreshes, 1);
	/*
	 * Replayed from where it came: nothing. From another address, its
	 * cookie is not that address's: a COOKIE, and nothing more.
	 */
	ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 0);
	ck_assert_int_eq(handle_bytes(buf, len, &ep_c), 1);
	ck_assert_uint_eq(reply(0, &ep_c).type, PROTO_COOKIE);
	ck_assert_uint_eq(srv.stats.refreshes, 1);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_REPLAYED], 1);
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &ep_a));

	/* A LOOKUP replayed: no second introduction. */
	m = msg_lookup(1, "alice", "bob");
	len = seal_request(&m, buf, sizeof(buf));
	ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 2);
	ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 0);
	ck_assert_uint_eq(srv.stats.introductions, 1);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_REPLAYED], 2);

	/* Within the window, late but unseen: taken once; below it: refused. */
	m.counter = owner_counter[1] + COUNTER_START - 1; /* the REFRESH's, seen */
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_REPLAYED], 3);
	owner_counter[1] += 40;
	m.counter = owner_counter[1] + COUNTER_START;
	ck_assert_int_eq(handle(&m, &ep_a), 2);
	m.counter = owner_counter[1] + COUNTER_START - 5;
	ck_assert_int_eq(handle(&m, &ep_a), 2);
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	m.counter = owner_counter[1] + COUNTER_START - AUTH_REQUEST_WINDOW + 1;
	ck_assert_int_eq(handle(&m, &ep_a), 2);
	m.counter = owner_counter[1] + COUNTER_START - AUTH_REQUEST_WINDOW;
	ck_assert_int_eq(handle(&m, &ep_a), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_REPLAYED], 5);
}
END_TEST

/*
 * A REGISTER with a counter its name's window saw: from elsewhere a replay,
 * dropped; from the name's own address (a client restarted with its clock
 * stepped back) it registers, and the window starts over there.
 */
START_TEST(register_counter_rules)
{
	struct proto_msg m = msg_register(1, "alice");
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t len;

	start(100);
	guard_cookie(&srv.guard, &ep_a, now, m.cookie);
	len = seal_request(&m, buf, sizeof(buf));
	ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 1);
	ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 1); /* the same address: harmless */
	guard_cookie(&srv.guard, &ep_c, now, m.cookie);
	len = seal_request(&m, buf, sizeof(buf)); /* a fresh one from ep_c moves it: */
	m.counter = COUNTER_START + 1;            /* but the first one's counter, replayed, does not */
	len = seal_request(&m, buf, sizeof(buf));
	ck_assert_int_eq(handle_bytes(buf, len, &ep_c), 0);
	ck_assert_uint_eq(srv.stats.dropped[SERVER_DROP_REPLAYED], 1);
	ck_assert(proto_addr_equal(&table_get(&srv.names, "alice", now)->public_ep, &ep_a));
	/* The clock stepped back: from alice's address, taken, and the window follows it. */
	m.counter = 5;
	guard_cookie(&srv.guard, &ep_a, now, m.cookie);
	ck_assert_int_eq(handle(&m, &ep_a), 1);
	m = msg_lookup(1, "alice", "alice");
	m.counter = 6;
	refused(&m, &ep_a, PROTO_E_NOT_ONLINE, "alice");
}
END_TEST

/*
 * The one public-key operation, X25519 at a REGISTER with a key the name
 * does not hold, comes after the cookie: a REGISTER without one costs
 * none. A key the name holds costs none either (its K is kept).
 */
START_TEST(cookie_before_key_agreement)
{
	struct proto_msg m = msg_register(1, "alice");
	int i;

	start(100);
	for (i = 0; i < 10; i++)
		ck_assert_uint_eq(reply((handle_as_is(&m, &ep_a), 0), &ep_a).type, PROTO_COOKIE);
	ck_assert_uint_eq(srv.stats.key_agreements, 0);
	ck_assert_uint_eq(srv.stats.cookies_sent, 10);
	do_register(1, "alice", &ep_a);
	ck_assert_uint_eq(srv.stats.key_agreements, 1);
	do_register(1, "alice", &ep_a);
	m = msg_refresh(1, "alice");
	accepted(&m, &ep_a);
	m = msg_lookup(1, "alice", "nobody");
	refused(&m, &ep_a, PROTO_E_NOT_ONLINE, "nobody");
	ck_assert_uint_eq(srv.stats.key_agreements, 1);
	/* Another key for a taken name: one X25519 (to answer it, sealed), and it is refused. */
	m = msg_register(2, "alice");
	refused(&m, &ep_b, PROTO_E_NAME_TAKEN, "alice");
	ck_assert_uint_eq(srv.stats.key_agreements, 2);
	/* A low-order "key": refused without an answer. */
	m = msg_register(3, "bob");
	memset(m.key, 0, sizeof(m.key));
	guard_cookie(&srv.guard, &ep_b, now, m.cookie);
	owner_setup(3);
	{
		uint8_t buf[PROTO_MAX_DATAGRAM];
		size_t off;
		int n;

		m.counter = COUNTER_START + 1;
		n = proto_encode_open(&m, buf, sizeof(buf), &off);
		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(handle_bytes(buf, auth_seal_request(buf, (size_t)n, sizeof(buf), off,
								     owner_key(3)), &ep_b), 0);
	}
	ck_assert_uint_eq(srv.names.count, 1);
}
END_TEST

/* What the server says when it has no K: NOTICE, not sealed, no larger than the request. */
START_TEST(notice_to_unknown_names)
{
	static const char *const long_name = "a-name-of-thirty-two-characters.";
	struct proto_msg m, r;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t len;

	start_who(100);
	m = msg_lookup(1, long_name, "b");
	len = seal_request(&m, buf, sizeof(buf));
	ck_assert_int_eq(handle_bytes(buf, len, &ep_a), 1);
	ck_assert_int_eq(tx[0].proven, 0);
	ck_assert_uint_le(tx[0].len, len);
	r = reply(0, &ep_a);
	ck_assert_uint_eq(r.type, PROTO_NOTICE);
	ck_assert_uint_eq(r.code, PROTO_E_UNKNOWN);
	ck_assert_uint_eq(r.request, PROTO_LOOKUP);
	ck_assert_str_eq(r.name, long_name);
	ck_assert_int_eq(proto_is_sealed(PROTO_NOTICE), 0);
	m = msg_who(1, "x", 0);
	refused(&m, &ep_a, PROTO_E_UNKNOWN, "x");
}
END_TEST

/*
 * Private endpoints: only a private-range address (RFC 1918, RFC 4193,
 * link-local, loopback) or the request's own address is kept, so that a
 * REGISTER cannot make its peers probe a third party (issue 12, attack 6).
 */
START_TEST(private_endpoint_rule)
{
	struct proto_msg m = msg_register(1, "alice");
	struct proto_addr ula = harness_addr6(0, 1, 1), ll = harness_addr6(0, 2, 2);
	struct proto_addr own, lo = harness_addr4(127, 0, 0, 1, 9), pv[PROTO_MAX_PRIVATE];
	struct table_entry *e;

	start(100);
	own = ep_a;
	ula.ip[0] = 0xfc;
	ll.ip[0] = 0xfe;
	ll.ip[1] = 0x80;
	own.port = 9999;
	m.nprivate = 4;
	m.private_ep[0] = harness_addr4(8, 8, 8, 8, 53);       /* a third party: dropped */
	m.private_ep[1] = ula;
	m.private_ep[2] = harness_addr4(172, 32, 0, 1, 5000);  /* just past 172.16/12: dropped */
	m.private_ep[3] = own;
	accepted(&m, &ep_a);
	e = table_get(&srv.names, "alice", now);
	ck_assert_uint_eq(table_get_private(e, pv), 2);
	ck_assert(proto_addr_equal(&pv[0], &ula));
	ck_assert(proto_addr_equal(&pv[1], &own));
	ck_assert_uint_eq(srv.stats.private_refused, 2);
	m.private_ep[0] = harness_addr4(172, 31, 255, 1, 1);
	m.private_ep[1] = harness_addr4(169, 254, 3, 3, 3);
	m.private_ep[2] = ll;
	m.private_ep[3] = lo;
	accepted(&m, &ep_a);
	ck_assert_uint_eq(table_get_private(e, pv), 4);
	ck_assert(proto_addr_equal(&pv[0], &m.private_ep[0]));
	ck_assert(proto_addr_equal(&pv[2], &ll));
	ck_assert(proto_addr_equal(&pv[3], &lo));
	m.private_ep[0] = harness_addr4(192, 169, 0, 1, 1);
	m.private_ep[1] = harness_addr4(11, 0, 0, 1, 1);
	m.private_ep[2] = harness_addr6(0, 3, 3);              /* 2001:db8::: public */
	m.nprivate = 3;
	accepted(&m, &ep_a);
	ck_assert_uint_eq(table_get_private(e, pv), 0);
	ck_assert_uint_eq(srv.stats.private_refused, 5);
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
	tcase_add_test(tc, dual_stack_second_family);
	tcase_add_test(tc, dual_stack_replaced_at_both);
	tcase_add_test(tc, dual_stack_side_table_bounded);
	tcase_add_test(tc, table_full);
	tcase_add_test(tc, lookup_not_online);
	tcase_add_test(tc, lookup_from_unknown_requester);
	tcase_add_test(tc, refresh_unknown);
	tcase_add_test(tc, lookup_introduces_both);
	tcase_add_test(tc, lookup_refreshes_requester);
	tcase_add_test(tc, requests_only_from_the_names_address);
	tcase_add_test(tc, cookie_round_trip);
	tcase_add_test(tc, spoofed_source_cannot_register_or_refresh);
	tcase_add_test(tc, register_rate_per_source);
	tcase_add_test(tc, lookup_rate_per_source);
	tcase_add_test(tc, relay_bytes_per_source);
	tcase_add_test(tc, stun_rate_per_source);
	tcase_add_test(tc, names_per_source);
	tcase_add_test(tc, no_amplification_from_unproven_sources);
	tcase_add_test(tc, unknown_version);
	tcase_add_test(tc, register_bad_tag_changes_nothing);
	tcase_add_test(tc, replayed_requests_refused);
	tcase_add_test(tc, register_counter_rules);
	tcase_add_test(tc, cookie_before_key_agreement);
	tcase_add_test(tc, notice_to_unknown_names);
	tcase_add_test(tc, private_endpoint_rule);
	tcase_add_test(tc, truncated_register_dropped);
	tcase_add_test(tc, bad_fields_dropped);
	tcase_add_test(tc, garbage_dropped);
	tcase_add_test(tc, wrong_direction_dropped);
	tcase_add_test(tc, tick_expires_names);
	tcase_add_test(tc, tick_sweeps_big_table_within_ttl);
	tcase_add_test(tc, stats_format_lines);
	tcase_add_test(tc, alt_port_mapping);
	tcase_add_loop_test(tc, stats_format_bounds, 0, SERVER_STATS_PAGES);
	tcase_add_test(tc, stats_loopback_only);
	tcase_add_test(tc, who_off_by_default);
	tcase_add_test(tc, who_lists_every_name_once);
	tcase_add_test(tc, who_scan_is_bounded);
	tcase_add_test(tc, who_lists_only_fresh_names);
	tcase_add_test(tc, lookup_waits_for_the_name);
	tcase_add_test(tc, lookup_waits_are_bounded);
	tcase_add_test(tc, who_and_report_need_registration);
	tcase_add_test(tc, report_counts_paths);
	tcase_add_test(tc, relay_passes_peer_datagrams);
	tcase_add_test(tc, relay_refusals);
	tcase_add_test(tc, relay_only_peer_types);
	tcase_add_test(tc, relay_rate_limited);
	tcase_add_test(tc, relay_default_rate);
	tcase_add_test(tc, log_without_addresses);
	tcase_add_test(tc, log_to_journal);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* Quiet: the server logs every registration, and a full table, on its own. */
	log_init("test_server", LOG_ERROR);
	return harness_run(server_suite());
}
