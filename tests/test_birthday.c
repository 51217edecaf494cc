/* test_birthday.c - the birthday method's pure parts: roles, port order, pacing, back-off, and its odds. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "birthday.h"
#include "harness.h"
#include "protocol.h"

/* Each pair of NAT kinds gets its role; only one symmetric side makes a birthday. */
START_TEST(roles)
{
	static const struct { uint8_t ours, theirs; enum bday_role want; } rows[] = {
		{ PROTO_NAT_SYMMETRIC, PROTO_NAT_KEEPS, BDAY_HARD },
		{ PROTO_NAT_KEEPS, PROTO_NAT_SYMMETRIC, BDAY_EASY },
		{ PROTO_NAT_SYMMETRIC, PROTO_NAT_SYMMETRIC, BDAY_BOTH_HARD },
		{ PROTO_NAT_KEEPS, PROTO_NAT_KEEPS, BDAY_NONE },        /* plain punching works */
		{ PROTO_NAT_UNKNOWN, PROTO_NAT_SYMMETRIC, BDAY_NONE },  /* ours not known yet */
		{ PROTO_NAT_SYMMETRIC, PROTO_NAT_UNKNOWN, BDAY_NONE },  /* theirs not known */
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_int_eq(bday_role(rows[i].ours, rows[i].theirs), rows[i].want);
}
END_TEST

/* The easy side's ports: all in range, and no port twice in a whole round of BDAY_PORT_COUNT. */
START_TEST(ports_are_a_permutation)
{
	static uint8_t seen[65536];
	struct bday b;
	uint32_t seed = 0x9e3779b9u * (uint32_t)(_i + 1);

	bday_init(&b);
	bday_start(&b, BDAY_EASY, 40000, 51234, seed, 0); /* far apart: random, no prediction */
	ck_assert_uint_eq(b.predict_from, 0);
	memset(seen, 0, sizeof(seen));
	for (uint32_t i = 0; i < BDAY_PORT_COUNT; i++) {
		uint16_t p = bday_port(&b, i);

		ck_assert_uint_ge(p, BDAY_PORT_MIN);
		ck_assert_msg(!seen[p], "port %u twice (seed %u)", p, seed);
		seen[p] = 1;
	}
}
END_TEST

/* Two seeds give two orders (two tries do not probe alike). */
START_TEST(seeds_differ)
{
	struct bday a, b;
	int same = 0;

	bday_init(&a);
	bday_init(&b);
	bday_start(&a, BDAY_EASY, 1, 0, 12345, 0);
	bday_start(&b, BDAY_EASY, 1, 0, 67890, 0);
	for (uint32_t i = 0; i < 100; i++)
		same += bday_port(&a, i) == bday_port(&b, i);
	ck_assert_int_lt(same, 5);
}
END_TEST

/* Ports seen close together (a NAT counting up): the ones after the alternate port go first. */
START_TEST(sequential_prediction)
{
	struct bday b;

	bday_init(&b);
	bday_start(&b, BDAY_EASY, 30000, 30002, 7, 0);
	ck_assert_uint_eq(b.predict_from, 30003);
	for (uint32_t i = 0; i < BDAY_PREDICT; i++)
		ck_assert_uint_eq(bday_port(&b, i), 30003 + i);
	/* At the top of the range it wraps to BDAY_PORT_MIN. */
	bday_start(&b, BDAY_EASY, 65490, 65500, 7, 0);
	ck_assert_uint_eq(bday_port(&b, 34), 65535);
	ck_assert_uint_eq(bday_port(&b, 35), BDAY_PORT_MIN);
	/* One gap too wide, or no alternate port seen: no prediction. */
	bday_start(&b, BDAY_EASY, 30000, 30000 + BDAY_SEQ_GAP + 1, 7, 0);
	ck_assert_uint_eq(b.predict_from, 0);
	bday_start(&b, BDAY_EASY, 30000, 0, 7, 0);
	ck_assert_uint_eq(b.predict_from, 0);
	/* The hard side predicts nothing: it does not aim at ports. */
	bday_start(&b, BDAY_HARD, 30000, 30001, 7, 0);
	ck_assert_uint_eq(b.predict_from, 0);
}
END_TEST

/*
 * The alternate port's mapping is the later one (MAPPING goes after
 * REGISTERED), so the NAT counts from the main port toward it, whichever
 * way, and across the wrap from 65535 to BDAY_PORT_MIN (as Linux's range).
 */
START_TEST(prediction_follows_the_count)
{
	static const struct {
		uint16_t main_port, alt_port, want0, want1, want2;
	} rows[] = {
		{ 40000, 39999, 39998, 39997, 39996 },          /* counting down */
		{ 40000, 39990, 39989, 39988, 39987 },          /* down, other flows between */
		{ 65534, 65535, BDAY_PORT_MIN, BDAY_PORT_MIN + 1, BDAY_PORT_MIN + 2 }, /* up, at the top */
		{ 65535, BDAY_PORT_MIN, BDAY_PORT_MIN + 1, BDAY_PORT_MIN + 2, BDAY_PORT_MIN + 3 }, /* up, wrapped */
		{ 65530, BDAY_PORT_MIN + 2, BDAY_PORT_MIN + 3, BDAY_PORT_MIN + 4, BDAY_PORT_MIN + 5 },
		{ BDAY_PORT_MIN, 65535, 65534, 65533, 65532 },  /* down, wrapped */
		{ BDAY_PORT_MIN + 1, BDAY_PORT_MIN, 65535, 65534, 65533 }, /* down, at the bottom */
	};
	struct bday b;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bday_init(&b);
		bday_start(&b, BDAY_EASY, rows[i].main_port, rows[i].alt_port, 7, 0);
		ck_assert_msg(bday_port(&b, 0) == rows[i].want0 && bday_port(&b, 1) == rows[i].want1 &&
			      bday_port(&b, 2) == rows[i].want2,
			      "row %zu: %u %u %u", i, bday_port(&b, 0), bday_port(&b, 1), bday_port(&b, 2));
	}
	/* The predicted run goes BDAY_PREDICT ports, then the random order takes over. */
	bday_start(&b, BDAY_EASY, 40000, 39999, 7, 0);
	ck_assert_uint_eq(bday_port(&b, BDAY_PREDICT - 1), 39998 - (BDAY_PREDICT - 1));
	/* Ports below BDAY_PORT_MIN are outside the range probed: no prediction from them. */
	bday_start(&b, BDAY_EASY, 1000, 1001, 7, 0);
	ck_assert_uint_eq(b.predict_from, 0);
}
END_TEST

/* Sends what bday_due asks at every ms from 0 to until_ms; returns the count sent. */
static uint32_t drive(struct bday *b, int64_t until_ms, int64_t *last_ms)
{
	for (int64_t t = 0; t <= until_ms; t++) {
		uint32_t n = bday_due(b, t);

		ck_assert_uint_le(n, 1); /* at 150 a second, never two in one ms */
		if (n > 0)
			*last_ms = t;
		b->sent += n;
		if (b->sent < b->total)
			ck_assert_int_gt(bday_next_ms(b), t);
	}
	return b->sent;
}

/* Paced: BDAY_RATE_PER_S a second, the first at once, capped at the try's total. */
START_TEST(pacing)
{
	struct bday b;
	int64_t last = -1;

	bday_init(&b);
	ck_assert_uint_eq(bday_due(&b, 1000), 0); /* no try under way */
	ck_assert_int_eq(bday_next_ms(&b), INT64_MAX);
	bday_start(&b, BDAY_EASY, 1, 0, 1, 0);
	ck_assert_uint_eq(bday_due(&b, 0), 1);
	ck_assert_uint_eq(drive(&b, 999, &last), BDAY_RATE_PER_S);
	/* The rest: 2,048 in all, the last at 2047 / 150 s, then no more. */
	drive(&b, 20000, &last);
	ck_assert_uint_eq(b.sent, BDAY_PROBES);
	ck_assert_int_eq(last, ((int64_t)(BDAY_PROBES - 1) * 1000 + BDAY_RATE_PER_S - 1) /
				   BDAY_RATE_PER_S); /* 13,647 ms */
	ck_assert_int_eq(bday_next_ms(&b), BDAY_TRY_MS);
	ck_assert(!bday_over(&b, BDAY_TRY_MS - 1));
	ck_assert(bday_over(&b, BDAY_TRY_MS));

	/* The hard side: one probe a socket, and its sockets open as long as the easy side probes. */
	bday_start(&b, BDAY_HARD, 1, 0, 1, 0);
	drive(&b, 20000, &last);
	ck_assert_uint_eq(b.sent, BDAY_SOCKETS);
	ck_assert(!bday_over(&b, BDAY_TRY_MS - 1));
	ck_assert(bday_over(&b, BDAY_TRY_MS));
}
END_TEST

/* A failed try waits BDAY_BACKOFF_MS, then twice that, ... up to BDAY_BACKOFF_MAX_MS. */
START_TEST(backoff)
{
	struct bday b;
	int64_t want = BDAY_BACKOFF_MS;

	bday_init(&b);
	for (int i = 0; i < 10; i++) {
		bday_start(&b, BDAY_EASY, 1, 0, 1, 0);
		bday_stop(&b, 0, 1000);
		ck_assert_int_eq(b.next_try_ms, 1000 + want);
		ck_assert_int_eq(b.running, 0);
		want = want * 2 > BDAY_BACKOFF_MAX_MS ? BDAY_BACKOFF_MAX_MS : want * 2;
	}
	ck_assert_int_eq(b.tries, 10);
	bday_stop(&b, 0, 5000); /* no try under way: nothing changes */
	ck_assert_int_eq(b.tries, 10);
}
END_TEST

/*
 * The published odds: 256 mappings among 64,512 ports, 1,024 random probes
 * find one 98% of the time; 2,048 all but 0.03%. A simulation with a fixed
 * generator agrees with the formula (1 - k/N)^n within a point.
 */
START_TEST(odds)
{
	static uint8_t open[65536];
	uint32_t rng = 2463534242u, found1024 = 0, found2048 = 0, runs = 2000;

	ck_assert_double_eq_tol(1 - pow(1 - 256.0 / BDAY_PORT_COUNT, 1024), 0.983, 0.001);
	ck_assert_double_lt(pow(1 - 256.0 / BDAY_PORT_COUNT, BDAY_PROBES), 0.0004);
	for (uint32_t r = 0; r < runs; r++) {
		struct bday b;
		uint32_t hit = UINT32_MAX;

		memset(open, 0, sizeof(open));
		for (int k = 0; k < BDAY_SOCKETS; k++) {
			rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
			open[BDAY_PORT_MIN + rng % BDAY_PORT_COUNT] = 1;
		}
		rng ^= rng << 13, rng ^= rng >> 17, rng ^= rng << 5;
		bday_init(&b);
		bday_start(&b, BDAY_EASY, 1, 0, rng, 0);
		for (uint32_t i = 0; i < BDAY_PROBES && hit == UINT32_MAX; i++)
			if (open[bday_port(&b, i)])
				hit = i;
		found1024 += hit < 1024;
		found2048 += hit < 2048;
	}
	ck_assert_uint_ge(found1024, runs * 96 / 100);
	ck_assert_uint_ge(found2048, runs * 99 / 100);
}
END_TEST

static Suite *birthday_suite(void)
{
	Suite *s = suite_create("birthday");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, roles);
	tcase_add_loop_test(tc, ports_are_a_permutation, 0, 3);
	tcase_add_test(tc, seeds_differ);
	tcase_add_test(tc, sequential_prediction);
	tcase_add_test(tc, prediction_follows_the_count);
	tcase_add_test(tc, pacing);
	tcase_add_test(tc, backoff);
	tcase_add_test(tc, odds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(birthday_suite());
}
