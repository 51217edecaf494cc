/* test_guard.c - unit tests for guard.c: cookies, token buckets, the source table; fake time. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "harness.h"

static const uint8_t test_key[SIPHASH_KEY_LEN] = "p2pchat-guardkey";

/* The period of a cookie, shorter to write. */
#define P ((int64_t)GUARD_COOKIE_PERIOD_MS)

/* A config where only `kind` is limited, with no cap on names. */
static struct guard_config only(enum guard_kind kind, uint32_t per_s, uint32_t burst,
				uint32_t slots)
{
	struct guard_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.rate[kind].per_s = per_s;
	cfg.rate[kind].burst = burst;
	cfg.slots = slots;
	return cfg;
}

static void setup(struct guard *g, const struct guard_config *cfg)
{
	ck_assert_int_eq(guard_init(g, cfg, test_key), 0);
}

/* Calls guard_allow n times at now; returns how many were allowed. */
static int allow_n(struct guard *g, const struct proto_addr *src, enum guard_kind kind,
		   uint32_t cost, int64_t now, int n)
{
	int i, allowed = 0;

	for (i = 0; i < n; i++)
		allowed += guard_allow(g, src, kind, cost, now);
	return allowed;
}

START_TEST(cookie_round_trip)
{
	const struct proto_addr a = harness_addr4(192, 0, 2, 1, 40000);
	const struct proto_addr b = harness_addr6(1, 1, 40000);
	const int64_t times[] = { 0, 1, P - 1, P, 123456789, INT64_C(1000000000000) };
	uint8_t ca[GUARD_COOKIE_LEN], cb[GUARD_COOKIE_LEN];
	struct guard g;
	size_t i;

	setup(&g, &(struct guard_config){ .slots = 1 });
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		guard_cookie(&g, &a, times[i], ca);
		guard_cookie(&g, &b, times[i], cb);
		ck_assert_msg(guard_cookie_ok(&g, &a, ca, times[i]), "v4 at %lld",
			      (long long)times[i]);
		ck_assert_msg(guard_cookie_ok(&g, &b, cb, times[i]), "v6 at %lld",
			      (long long)times[i]);
		ck_assert(memcmp(ca, cb, GUARD_COOKIE_LEN) != 0);
	}
	/* The same address and period give the same bytes: the server keeps nothing. */
	guard_cookie(&g, &a, 5 * P, ca);
	guard_cookie(&g, &a, 6 * P - 1, cb);
	ck_assert_mem_eq(ca, cb, GUARD_COOKIE_LEN);
	guard_free(&g);
}
END_TEST

START_TEST(cookie_bound_to_address)
{
	const struct proto_addr a = harness_addr4(192, 0, 2, 1, 40000);
	const struct proto_addr v6 = harness_addr6(1, 1, 40000);
	struct proto_addr other;
	uint8_t c[GUARD_COOKIE_LEN], c6[GUARD_COOKIE_LEN];
	const int64_t now = 1000;
	struct guard g, g2;
	uint8_t key2[SIPHASH_KEY_LEN];
	int bit;

	setup(&g, &(struct guard_config){ .slots = 1 });
	guard_cookie(&g, &a, now, c);
	guard_cookie(&g, &v6, now, c6);

	other = harness_addr4(192, 0, 2, 2, 40000); /* another IP */
	ck_assert(!guard_cookie_ok(&g, &other, c, now));
	other = harness_addr4(192, 0, 2, 1, 40001); /* another port: a cookie is for one endpoint */
	ck_assert(!guard_cookie_ok(&g, &other, c, now));
	other = a; /* the same first bytes, as IPv6 */
	other.family = PROTO_AF_INET6;
	ck_assert(!guard_cookie_ok(&g, &other, c, now));
	other = harness_addr6(1, 2, 40000); /* same /64: a cookie is still for one address */
	ck_assert(!guard_cookie_ok(&g, &other, c6, now));
	other = harness_addr6(1, 1, 40001);
	ck_assert(!guard_cookie_ok(&g, &other, c6, now));
	ck_assert(!guard_cookie_ok(&g, &v6, c, now)); /* a's cookie is not v6's */

	/* Every single flipped bit is refused. */
	for (bit = 0; bit < 8 * GUARD_COOKIE_LEN; bit++) {
		uint8_t bad[GUARD_COOKIE_LEN];

		memcpy(bad, c, sizeof(bad));
		bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_msg(!guard_cookie_ok(&g, &a, bad, now), "bit %d", bit);
	}
	/* A server with another key (a restart) refuses the old cookies. */
	memcpy(key2, test_key, sizeof(key2));
	key2[0] ^= 1;
	ck_assert_int_eq(guard_init(&g2, &(struct guard_config){ .slots = 1 }, key2), 0);
	ck_assert(!guard_cookie_ok(&g2, &a, c, now));
	guard_free(&g2);
	guard_free(&g);
}
END_TEST

START_TEST(cookie_periods)
{
	const struct proto_addr a = harness_addr4(198, 51, 100, 7, 7777);
	uint8_t early[GUARD_COOKIE_LEN], late[GUARD_COOKIE_LEN], next[GUARD_COOKIE_LEN];
	struct guard g;

	setup(&g, &(struct guard_config){ .slots = 1 });
	guard_cookie(&g, &a, 5 * P, early);    /* the first ms of period 5 */
	guard_cookie(&g, &a, 6 * P - 1, late); /* its last ms: the same cookie */
	guard_cookie(&g, &a, 6 * P, next);     /* period 6 */
	ck_assert_mem_eq(early, late, GUARD_COOKIE_LEN);
	ck_assert(memcmp(early, next, GUARD_COOKIE_LEN) != 0);

	ck_assert(guard_cookie_ok(&g, &a, early, 5 * P));
	ck_assert(guard_cookie_ok(&g, &a, early, 6 * P - 1));
	ck_assert(guard_cookie_ok(&g, &a, early, 6 * P));     /* the next period */
	ck_assert(guard_cookie_ok(&g, &a, early, 7 * P - 1)); /* its last ms */
	ck_assert(!guard_cookie_ok(&g, &a, early, 7 * P));    /* two periods on */
	ck_assert(!guard_cookie_ok(&g, &a, early, 100 * P));
	/* A cookie of a later period is not one this address got yet. */
	ck_assert(!guard_cookie_ok(&g, &a, next, 6 * P - 1));
	ck_assert(guard_cookie_ok(&g, &a, next, 8 * P - 1));
	guard_free(&g);
}
END_TEST

START_TEST(bucket_burst_then_refill)
{
	/* 3 tokens a second is 3 thousandths a ms: one token every 333.3 ms. */
	struct guard_config cfg = only(GUARD_REGISTER, 3, 5, 16);
	const struct proto_addr a = harness_addr4(203, 0, 113, 1, 1);
	struct guard g;

	setup(&g, &cfg);
	ck_assert_int_eq(allow_n(&g, &a, GUARD_REGISTER, 1, 1000, 6), 5); /* the burst */
	ck_assert_uint_eq(g.limited[GUARD_REGISTER], 1);
	ck_assert(!guard_allow(&g, &a, GUARD_REGISTER, 1, 1333)); /* 999 thousandths */
	ck_assert(guard_allow(&g, &a, GUARD_REGISTER, 1, 1334));  /* 1002: 2 left over */
	ck_assert(!guard_allow(&g, &a, GUARD_REGISTER, 1, 1334));
	ck_assert(!guard_allow(&g, &a, GUARD_REGISTER, 1, 1666)); /* 2 + 996 */
	ck_assert(guard_allow(&g, &a, GUARD_REGISTER, 1, 1667));  /* 2 + 999: leftovers count */
	ck_assert_uint_eq(g.limited[GUARD_REGISTER], 4);
	/* A long rest fills the bucket to its burst, no more. */
	ck_assert_int_eq(allow_n(&g, &a, GUARD_REGISTER, 1, 60000, 8), 5);
	ck_assert_uint_eq(g.limited[GUARD_REGISTER], 7);
	/* Other kinds are unlimited here, and counted apart. */
	ck_assert_int_eq(allow_n(&g, &a, GUARD_LOOKUP, 1, 60000, 100), 100);
	ck_assert_uint_eq(g.limited[GUARD_LOOKUP], 0);
	guard_free(&g);
}
END_TEST

START_TEST(kinds_are_separate)
{
	struct guard_config cfg;
	const struct proto_addr a = harness_addr4(203, 0, 113, 2, 1);
	struct guard g;

	guard_defaults(&cfg);
	setup(&g, &cfg);
	/* A flood of LOOKUPs drains LOOKUP only: the source can still refresh its name. */
	ck_assert_int_eq(allow_n(&g, &a, GUARD_LOOKUP, 1, 0, 1000),
			 (int)cfg.rate[GUARD_LOOKUP].burst);
	ck_assert(guard_allow(&g, &a, GUARD_REGISTER, 1, 0));
	ck_assert(guard_allow(&g, &a, GUARD_STUN, 1, 0));
	ck_assert_uint_eq(g.limited[GUARD_LOOKUP], 1000 - cfg.rate[GUARD_LOOKUP].burst);
	ck_assert_uint_eq(g.limited[GUARD_REGISTER], 0);
	ck_assert_uint_eq(g.limited[GUARD_STUN], 0);
	guard_free(&g);
}
END_TEST

START_TEST(unlimited_kind)
{
	struct guard_config cfg = only(GUARD_REGISTER, 0, 0, 16);
	struct guard g;
	uint32_t i;

	setup(&g, &cfg);
	for (i = 0; i < 100000; i++) {
		struct proto_addr a = harness_addr4(10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i,
						    1);

		ck_assert(guard_allow(&g, &a, (enum guard_kind)(i % GUARD_NKINDS), UINT32_MAX,
				      i));
	}
	for (i = 0; i < GUARD_NKINDS; i++)
		ck_assert_uint_eq(g.limited[i], 0);
	/* Nothing to count, so no slot was taken. */
	for (i = 0; i < cfg.slots; i++)
		ck_assert_uint_eq(g.slots[i].family, 0);
	guard_free(&g);
}
END_TEST

START_TEST(cost_in_bytes)
{
	/* 1000 bytes a second is one byte a ms. */
	struct guard_config cfg = only(GUARD_RELAY, 1000, 1500, 16);
	const struct proto_addr a = harness_addr6(7, 1, 9);
	struct guard g;

	setup(&g, &cfg);
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, 1200, 0));
	ck_assert(!guard_allow(&g, &a, GUARD_RELAY, 1200, 0)); /* 300 left */
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, 300, 0));
	ck_assert(!guard_allow(&g, &a, GUARD_RELAY, 1, 0));
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, 0, 0)); /* nothing costs nothing */
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, 1, 1));
	ck_assert(!guard_allow(&g, &a, GUARD_RELAY, 2, 2));
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, 2, 3));
	/* More than the burst never fits, however long the rest. */
	ck_assert(!guard_allow(&g, &a, GUARD_RELAY, 1501, 1000000));
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, 1500, 1000000));
	ck_assert_uint_eq(g.limited[GUARD_RELAY], 4);
	guard_free(&g);
}
END_TEST

START_TEST(long_idle_no_overflow)
{
	const int64_t day = INT64_C(86400000);
	/*
	 * Each rest is over ~49.7 days: long enough to fill even a bucket earning
	 * 1 token a second. The second is 18446744073709552 ms: times 1000 that is
	 * 2^64 + 384, so an unclamped refill would wrap to 384 thousandths.
	 */
	const int64_t idle[] = { 50 * day, 50 * day + INT64_C(18446744073709552), INT64_MAX / 2 };
	const uint32_t rates[] = { 1, 1000, UINT32_MAX };
	const struct proto_addr a = harness_addr4(192, 0, 2, 9, 1);
	size_t r, i;

	for (r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
		struct guard_config cfg = only(GUARD_RELAY, rates[r], GUARD_BURST_MAX, 16);
		struct guard g;

		setup(&g, &cfg);
		ck_assert(guard_allow(&g, &a, GUARD_RELAY, GUARD_BURST_MAX, 0));
		ck_assert(!guard_allow(&g, &a, GUARD_RELAY, 1, 0));
		for (i = 0; i < sizeof(idle) / sizeof(idle[0]); i++) {
			/* After the rest: exactly the burst, not a wrapped remainder. */
			ck_assert_msg(guard_allow(&g, &a, GUARD_RELAY, GUARD_BURST_MAX, idle[i]),
				      "rate %u, idle %zu", rates[r], i);
			ck_assert_msg(!guard_allow(&g, &a, GUARD_RELAY, 1, idle[i]),
				      "rate %u, idle %zu", rates[r], i);
		}
		guard_free(&g);
	}
}
END_TEST

START_TEST(slow_refill_is_exact)
{
	/* 1 token a second for 30 days: 2592000 tokens, short of the burst, to the token. */
	struct guard_config cfg = only(GUARD_RELAY, 1, GUARD_BURST_MAX, 16);
	const int64_t month = INT64_C(30) * 86400000;
	const struct proto_addr a = harness_addr4(192, 0, 2, 11, 1);
	struct guard g;

	setup(&g, &cfg);
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, GUARD_BURST_MAX, 0));
	ck_assert(!guard_allow(&g, &a, GUARD_RELAY, 2592001, month));
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, 2592000, month));
	ck_assert(!guard_allow(&g, &a, GUARD_RELAY, 1, month + 999));
	ck_assert(guard_allow(&g, &a, GUARD_RELAY, 1, month + 1000));
	guard_free(&g);
}
END_TEST

START_TEST(clock_going_back)
{
	struct guard_config cfg = only(GUARD_STUN, 1, 2, 16);
	const struct proto_addr a = harness_addr4(192, 0, 2, 10, 1);
	struct guard g;

	setup(&g, &cfg);
	ck_assert_int_eq(allow_n(&g, &a, GUARD_STUN, 1, 10000, 3), 2);
	/* Earlier times earn nothing, and do not move the refill's start back. */
	ck_assert(!guard_allow(&g, &a, GUARD_STUN, 1, 5000));
	ck_assert(!guard_allow(&g, &a, GUARD_STUN, 1, 10999));
	ck_assert(guard_allow(&g, &a, GUARD_STUN, 1, 11000));
	guard_free(&g);
}
END_TEST

START_TEST(sources_are_independent)
{
	const struct proto_addr flooder = harness_addr4(10, 0, 0, 1, 5555);
	struct guard_config cfg;
	struct guard g;
	uint64_t refused;
	int i;

	guard_defaults(&cfg);
	setup(&g, &cfg);
	ck_assert_int_eq(allow_n(&g, &flooder, GUARD_LOOKUP, 1, 0, 10000),
			 (int)cfg.rate[GUARD_LOOKUP].burst);
	refused = 10000 - cfg.rate[GUARD_LOOKUP].burst;
	ck_assert_uint_eq(g.limited[GUARD_LOOKUP], refused);

	/*
	 * Meanwhile 1000 other sources (two of IPv6 for every one of IPv4) are
	 * all served. None shares the flooder's slot under this key (the odds
	 * are about 1000 in 65536); quiet ones sharing a slot with each other
	 * do not notice, as 3 LOOKUPs each stay far under the burst.
	 */
	for (i = 0; i < 1000; i++) {
		struct proto_addr a = i % 3 == 0 ? harness_addr4(10, 1, (uint8_t)(i >> 8), (uint8_t)i, 1)
						 : harness_addr6((uint16_t)i, 1, 1);

		ck_assert_msg(allow_n(&g, &a, GUARD_LOOKUP, 1, i, 3) == 3, "source %d", i);
	}
	ck_assert_uint_eq(g.limited[GUARD_LOOKUP], refused);
	/* Collisions happen, but few: about 1000^2 / (2 * 65536). */
	ck_assert_uint_lt(g.shared, 100);

	/* And the flooder is still held to its rate: 20/s is one token per 50 ms. */
	ck_assert(!guard_allow(&g, &flooder, GUARD_LOOKUP, 1, 49));
	ck_assert(guard_allow(&g, &flooder, GUARD_LOOKUP, 1, 50));
	ck_assert(!guard_allow(&g, &flooder, GUARD_LOOKUP, 1, 50));
	ck_assert_uint_eq(g.limited[GUARD_LOOKUP], refused + 2);
	guard_free(&g);
}
END_TEST

START_TEST(names_per_source)
{
	struct guard_config cfg = only(GUARD_REGISTER, 0, 0, 65536);
	const struct proto_addr a = harness_addr4(192, 0, 2, 20, 1000);
	const struct proto_addr a_port = harness_addr4(192, 0, 2, 20, 2000); /* same host, another port */
	const struct proto_addr b = harness_addr4(192, 0, 2, 21, 1000);
	struct guard g;
	int i;

	cfg.names_per_source = 3;
	setup(&g, &cfg);
	ck_assert(guard_name_add(&g, &a, 0));
	ck_assert(guard_name_add(&g, &a_port, 0));
	ck_assert(guard_name_add(&g, &a, 0));
	ck_assert(!guard_name_add(&g, &a, 0));
	ck_assert(!guard_name_add(&g, &a_port, 0));
	ck_assert(guard_name_add(&g, &b, 0)); /* another address has its own count */

	guard_name_remove(&g, &a);
	ck_assert(guard_name_add(&g, &a, 1));
	ck_assert(!guard_name_add(&g, &a, 1));

	/* More removes than adds: the count stops at 0 and does not wrap. */
	for (i = 0; i < 10; i++)
		guard_name_remove(&g, &a);
	for (i = 0; i < 3; i++)
		ck_assert(guard_name_add(&g, &a, 2));
	ck_assert(!guard_name_add(&g, &a, 2));
	/* A source never seen: nothing to remove, nothing goes wrong. */
	guard_name_remove(&g, &(struct proto_addr){ .family = PROTO_AF_INET, .ip = { 9, 9, 9 } });
	guard_free(&g);

	/* names_per_source 0: no cap. */
	cfg.names_per_source = 0;
	setup(&g, &cfg);
	for (i = 0; i < 1000; i++)
		ck_assert(guard_name_add(&g, &a, 0));
	guard_free(&g);
}
END_TEST

/* A name's count follows it to a new address, past the cap there if need be. */
START_TEST(names_move)
{
	struct guard_config cfg = only(GUARD_REGISTER, 0, 0, 65536);
	const struct proto_addr a = harness_addr4(192, 0, 2, 20, 1000);
	const struct proto_addr a_port = harness_addr4(192, 0, 2, 20, 2000);
	const struct proto_addr b = harness_addr4(192, 0, 2, 21, 1000);
	struct guard g;

	cfg.names_per_source = 2;
	setup(&g, &cfg);
	ck_assert(guard_name_add(&g, &a, 0));
	ck_assert(guard_name_add(&g, &a, 0));
	ck_assert(guard_name_add(&g, &b, 0));
	ck_assert(guard_name_add(&g, &b, 0));
	/* A new port of the same address is the same source: nothing changes. */
	guard_name_move(&g, &a, &a_port, 1);
	ck_assert(!guard_name_add(&g, &a, 1));
	/* a -> b: a has room for one, b holds 3 (over its cap of 2) until two go. */
	guard_name_move(&g, &a, &b, 1);
	ck_assert(guard_name_add(&g, &a, 1));
	ck_assert(!guard_name_add(&g, &a, 1));
	guard_name_remove(&g, &b);
	ck_assert(!guard_name_add(&g, &b, 1));
	guard_name_remove(&g, &b);
	ck_assert(guard_name_add(&g, &b, 1));
	ck_assert(!guard_name_add(&g, &b, 1));
	guard_free(&g);
}
END_TEST

START_TEST(slot_rules)
{
	/* One slot: every source lands on it, so every rule can be watched. */
	struct guard_config cfg = only(GUARD_REGISTER, 1, 2, 1);
	const struct proto_addr a = harness_addr4(192, 0, 2, 30, 1);
	const struct proto_addr b = harness_addr6(30, 1, 1);
	struct proto_addr v6_like_a;
	const struct guard_slot *s;
	struct guard g;

	setup(&g, &cfg);
	s = &g.slots[0];
	ck_assert_uint_eq(s->family, 0); /* free */

	ck_assert(guard_allow(&g, &a, GUARD_REGISTER, 1, 0)); /* a takes the free slot */
	ck_assert_uint_eq(s->family, PROTO_AF_INET);
	ck_assert_mem_eq(s->ip, a.ip, 4);

	/* a is busy (it spent a token): b is charged to a's budget, never more. */
	ck_assert(guard_allow(&g, &b, GUARD_REGISTER, 1, 0));
	ck_assert_uint_eq(g.shared, 1);
	ck_assert(!guard_allow(&g, &a, GUARD_REGISTER, 1, 0));
	ck_assert(!guard_allow(&g, &b, GUARD_REGISTER, 1, 0));
	ck_assert_uint_eq(g.shared, 2);
	ck_assert_uint_eq(s->family, PROTO_AF_INET); /* still a's */

	/* Two seconds on, a's bucket is full and it holds no names: idle, b takes over. */
	ck_assert(guard_allow(&g, &b, GUARD_REGISTER, 1, 2000));
	ck_assert_uint_eq(g.shared, 2);
	ck_assert_uint_eq(s->family, PROTO_AF_INET6);
	/* The slot holds b's /64, not b's whole address. */
	ck_assert_mem_eq(s->ip, b.ip, 8);
	ck_assert_mem_eq(s->ip + 8, "\0\0\0\0\0\0\0\0", 8);
	ck_assert(guard_name_add(&g, &b, 2000));

	/* Long after, b's bucket is full, but b holds a name: never taken over. */
	ck_assert(guard_allow(&g, &a, GUARD_REGISTER, 1, 100000));
	ck_assert_uint_eq(g.shared, 3);
	ck_assert_uint_eq(s->family, PROTO_AF_INET6);
	ck_assert(guard_name_add(&g, &a, 100000)); /* counted in the shared slot */
	ck_assert_uint_eq(s->names, 2);

	/* Each remove reaches the slot its add did, whoever owns it; 0 is the floor. */
	guard_name_remove(&g, &b);
	ck_assert_uint_eq(s->names, 1);
	guard_name_remove(&g, &a);
	ck_assert_uint_eq(s->names, 0);
	guard_name_remove(&g, &a);
	ck_assert_uint_eq(s->names, 0);

	/* No names, full bucket: a takes over again. */
	ck_assert(guard_allow(&g, &a, GUARD_REGISTER, 1, 200000));
	ck_assert_uint_eq(s->family, PROTO_AF_INET);
	ck_assert_uint_eq(g.shared, 4); /* the add at 100000 was charged to b's slot too */

	/* The /64 whose first bytes spell a's IPv4 address is another source, sharing. */
	v6_like_a = a;
	v6_like_a.family = PROTO_AF_INET6;
	ck_assert(guard_allow(&g, &v6_like_a, GUARD_REGISTER, 1, 200000));
	ck_assert_uint_eq(g.shared, 5);
	ck_assert_uint_eq(s->family, PROTO_AF_INET);
	guard_free(&g);
}
END_TEST

/* One REGISTER from src at time 0. */
static int allow_at(struct guard *g, struct proto_addr src)
{
	return guard_allow(g, &src, GUARD_REGISTER, 1, 0);
}

START_TEST(ipv4_and_ipv6_sources)
{
	struct guard_config cfg = only(GUARD_REGISTER, 1, 1, 65536);
	const struct proto_addr v4 = harness_addr4(1, 2, 3, 4, 1);
	struct proto_addr v6_same_bytes = v4;
	struct proto_addr mapped_a, mapped_b;
	struct guard g;

	v6_same_bytes.family = PROTO_AF_INET6; /* 0102:0304::/64 */
	memset(&mapped_a, 0, sizeof(mapped_a));
	mapped_a.family = PROTO_AF_INET6; /* ::ffff:1.2.3.5 */
	mapped_a.ip[10] = 0xff;
	mapped_a.ip[11] = 0xff;
	mapped_a.ip[12] = 1;
	mapped_a.ip[13] = 2;
	mapped_a.ip[14] = 3;
	mapped_a.ip[15] = 5;
	mapped_b = mapped_a; /* ::ffff:1.2.3.6 */
	mapped_b.ip[15] = 6;

	setup(&g, &cfg);
	ck_assert(guard_allow(&g, &v4, GUARD_REGISTER, 1, 0));
	ck_assert(!allow_at(&g, harness_addr4(1, 2, 3, 4, 2))); /* the same host from another port */
	ck_assert(guard_allow(&g, &v6_same_bytes, GUARD_REGISTER, 1, 0));

	/* IPv6: one /64 is one source; the next /64 is another. */
	ck_assert(allow_at(&g, harness_addr6(5, 1, 1)));
	ck_assert(!allow_at(&g, harness_addr6(5, 2, 1)));
	ck_assert(!allow_at(&g, harness_addr6(5, 0xffff, 9)));
	ck_assert(allow_at(&g, harness_addr6(6, 1, 1)));

	/* IPv4-mapped addresses count whole, or all of IPv4 would be one /64. */
	ck_assert(guard_allow(&g, &mapped_a, GUARD_REGISTER, 1, 0));
	ck_assert(guard_allow(&g, &mapped_b, GUARD_REGISTER, 1, 0));
	ck_assert(!guard_allow(&g, &mapped_a, GUARD_REGISTER, 1, 0));
	ck_assert_uint_eq(g.limited[GUARD_REGISTER], 4);
	ck_assert_uint_eq(g.shared, 0);
	guard_free(&g);
}
END_TEST

START_TEST(init_checks_config)
{
	struct guard_config cfg = only(GUARD_RELAY, 10, 10, 1024);
	struct guard g;

	cfg.slots = 0;
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), -1);
	guard_free(&g); /* safe after a failed init */
	cfg.slots = 3;
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), -1);
	cfg.slots = 65535;
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), -1);
	cfg.slots = 1;
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), 0);
	guard_free(&g);

	cfg.rate[GUARD_RELAY].burst = 0; /* limited, but a bucket of nothing */
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), -1);
	cfg.rate[GUARD_RELAY].burst = GUARD_BURST_MAX + 1; /* would wrap in thousandths */
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), -1);
	cfg.rate[GUARD_RELAY].burst = GUARD_BURST_MAX;
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), 0);
	guard_free(&g);
	cfg.rate[GUARD_RELAY].per_s = 0; /* unlimited: the burst does not matter */
	cfg.rate[GUARD_RELAY].burst = 0;
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), 0);
	guard_free(&g);
	cfg.rate[GUARD_RELAY].burst = UINT32_MAX;
	ck_assert_int_eq(guard_init(&g, &cfg, test_key), 0);
	ck_assert(guard_allow(&g, &(struct proto_addr){ .family = PROTO_AF_INET }, GUARD_RELAY,
			      UINT32_MAX, 0));
	guard_free(&g);
}
END_TEST

START_TEST(defaults_are_usable)
{
	const struct proto_addr a = harness_addr4(192, 0, 2, 40, 1);
	struct guard_config cfg;
	struct guard g;
	int64_t t;
	int k;

	/* The kinds' names are --limit's. */
	ck_assert_str_eq(guard_kind_name(GUARD_REGISTER), "register");
	ck_assert_str_eq(guard_kind_name(GUARD_STUN), "stun");
	ck_assert_str_eq(guard_kind_name(GUARD_NKINDS), "unknown");
	guard_defaults(&cfg);
	setup(&g, &cfg);
	ck_assert_uint_eq(cfg.slots, GUARD_SLOTS_DEFAULT);
	for (k = 0; k < GUARD_NKINDS; k++)
		ck_assert_msg(cfg.rate[k].per_s > 0, "kind %d is limited by default", k);
	ck_assert_uint_gt(cfg.names_per_source, 0);
	/* The largest datagram must fit in the relay's bucket, or it could never be relayed. */
	ck_assert_uint_ge(cfg.rate[GUARD_RELAY].burst, PROTO_MAX_DATAGRAM);
	/*
	 * Ten clients behind one address start at once (REGISTER twice, for the
	 * cookie), then refresh every 20 s for an hour: never refused.
	 */
	ck_assert_int_eq(allow_n(&g, &a, GUARD_REGISTER, 1, 0, 20), 20);
	for (t = 20000; t <= 3600000; t += 20000)
		ck_assert_msg(allow_n(&g, &a, GUARD_REGISTER, 1, t, 10) == 10, "at %lld ms",
			      (long long)t);
	ck_assert_uint_eq(g.limited[GUARD_REGISTER], 0);
	guard_free(&g);
}
END_TEST

static Suite *guard_suite(void)
{
	Suite *s = suite_create("guard");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, cookie_round_trip);
	tcase_add_test(tc, cookie_bound_to_address);
	tcase_add_test(tc, cookie_periods);
	tcase_add_test(tc, bucket_burst_then_refill);
	tcase_add_test(tc, kinds_are_separate);
	tcase_add_test(tc, unlimited_kind);
	tcase_add_test(tc, cost_in_bytes);
	tcase_add_test(tc, long_idle_no_overflow);
	tcase_add_test(tc, slow_refill_is_exact);
	tcase_add_test(tc, clock_going_back);
	tcase_add_test(tc, sources_are_independent);
	tcase_add_test(tc, names_per_source);
	tcase_add_test(tc, names_move);
	tcase_add_test(tc, slot_rules);
	tcase_add_test(tc, ipv4_and_ipv6_sources);
	tcase_add_test(tc, init_checks_config);
	tcase_add_test(tc, defaults_are_usable);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(guard_suite());
}
