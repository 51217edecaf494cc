/* test_cc.c - unit tests of cc.c: RTT, loss by count and by time, PTO, the BBR-like model (delivery rate, filters, loss bound), persistent congestion, pacing; fake time. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cc.h"
#include "harness.h"

#define MDS 1168
#define MAD 25 /* the peer's max_ack_delay, ms */

/* What the callbacks saw. */
struct seen {
	uint32_t nacked, nlost, nspurious;
	uint64_t last_lost, last_spurious;
	uint8_t lost[1024]; /* lost[pn] */
};

static void ev_acked(void *ctx, uint32_t slot, uint64_t pn)
{
	struct seen *s = ctx;

	(void)slot;
	(void)pn;
	s->nacked++;
}

static void ev_lost(void *ctx, uint32_t slot, uint64_t pn)
{
	struct seen *s = ctx;

	(void)slot;
	s->nlost++;
	s->last_lost = pn;
	if (pn < sizeof(s->lost))
		s->lost[pn] = 1;
}

static void ev_spurious(void *ctx, uint64_t pn)
{
	struct seen *s = ctx;

	s->nspurious++;
	s->last_spurious = pn;
}

static struct seen seen;
static const struct cc_events ev = { &seen, ev_acked, ev_lost, ev_spurious };

/* Sends packets first..last (full size) at now. */
static void send_range(struct cc *cc, uint64_t first, uint64_t last, int64_t now)
{
	uint64_t pn;

	for (pn = first; pn <= last; pn++)
		ck_assert_int_ge(cc_on_sent(cc, pn, MDS, now), 0);
}

/* Acknowledges lo..hi in one ACK with no delay. */
static int ack1(struct cc *cc, uint64_t lo, uint64_t hi, int64_t now)
{
	struct cc_range r = { lo, hi };

	return cc_on_ack(cc, &r, 1, 0, now, &ev);
}

static void setup(struct cc *cc)
{
	memset(&seen, 0, sizeof(seen));
	cc_init(cc, MDS, MAD, 0);
}

/* setup, then packets 0..n-1 sent at 0 and acknowledged at 100: one round, an RTT of 100 ms. */
static void setup_round(struct cc *cc, uint64_t n)
{
	setup(cc);
	send_range(cc, 0, n - 1, 0);
	ack1(cc, 0, n - 1, 100);
}

START_TEST(initial_window)
{
	struct cc cc;

	setup(&cc);
	/* RFC 9002 7.2: min(10 * 1168, max(14720, 2336)) = 11680 */
	ck_assert_uint_eq(cc.cwnd, 10 * MDS);
	cc_init(&cc, 1500, MAD, 0);
	ck_assert_uint_eq(cc.cwnd, 14720); /* 10 * 1500 = 15000 is capped */
	cc_init(&cc, 8000, MAD, 0);
	ck_assert_uint_eq(cc.cwnd, 16000); /* 2 * mds is the floor */
	ck_assert_uint_eq(cc_room(&cc), 16000);
	ck_assert_int_eq(cc_deadline(&cc), INT64_MAX);
}
END_TEST

START_TEST(rtt_estimates)
{
	struct cc cc;
	struct cc_range r;

	setup(&cc);
	send_range(&cc, 0, 0, 1000);
	ck_assert_int_eq(ack1(&cc, 0, 0, 1100), 1);
	/* RFC 9002 5.3: the first sample sets all three */
	ck_assert(cc.have_rtt);
	ck_assert_int_eq(cc.latest_rtt_ms, 100);
	ck_assert_int_eq(cc.min_rtt_ms, 100);
	ck_assert_int_eq(cc.smoothed_rtt_ms, 100);
	ck_assert_int_eq(cc.rttvar_ms, 50);

	/* 180 ms with 20 ms of reported delay: the sample taken is 160 */
	send_range(&cc, 1, 1, 2000);
	r = (struct cc_range){ 1, 1 };
	ck_assert_int_eq(cc_on_ack(&cc, &r, 1, 20, 2180, &ev), 1);
	ck_assert_int_eq(cc.latest_rtt_ms, 180);
	ck_assert_int_eq(cc.rttvar_ms, (3 * 50 + 60) / 4);
	ck_assert_int_eq(cc.smoothed_rtt_ms, (7 * 100 + 160) / 8);

	/* a reported delay over max_ack_delay counts as max_ack_delay (25): 200 - 25 */
	send_range(&cc, 2, 2, 3000);
	r = (struct cc_range){ 2, 2 };
	cc_on_ack(&cc, &r, 1, 500, 3200, &ev);
	ck_assert_int_eq(cc.latest_rtt_ms, 200);
	ck_assert_int_eq(cc.smoothed_rtt_ms, (7 * 107 + 175) / 8);

	/* a delay that would take the sample under min_rtt is not subtracted: 110 < 100 + 20 */
	send_range(&cc, 3, 3, 4000);
	r = (struct cc_range){ 3, 3 };
	cc_on_ack(&cc, &r, 1, 20, 4110, &ev);
	ck_assert_int_eq(cc.min_rtt_ms, 100);
	ck_assert_int_eq(cc.smoothed_rtt_ms, (7 * 115 + 110) / 8);

	/* no sample when the largest acknowledged is not newly acknowledged */
	send_range(&cc, 4, 5, 5000);
	ck_assert_int_eq(ack1(&cc, 5, 5, 5050), 1);
	ck_assert_int_eq(cc.latest_rtt_ms, 50);
	r = (struct cc_range){ 4, 5 };
	ck_assert_int_eq(cc_on_ack(&cc, &r, 1, 0, 5900, &ev), 1);
	ck_assert_int_eq(cc.latest_rtt_ms, 50);
}
END_TEST

START_TEST(sample_from_an_ack_only_largest)
{
	struct cc cc;
	struct cc_range r = { 0, 1 };

	/* a receiver: one credit update (ack-eliciting), then an ACK-only packet */
	setup(&cc);
	send_range(&cc, 0, 0, 1000);
	cc_on_sent_ack_only(&cc, 1, 1010);
	/* the peer acknowledges both: the largest is ack-only, yet it times the path (RFC 9002 5.1) */
	ck_assert_int_eq(cc_on_ack(&cc, &r, 1, 0, 1110, &ev), 1);
	ck_assert(cc.have_rtt);
	ck_assert_int_eq(cc.latest_rtt_ms, 100);
	/* but not when nothing ack-eliciting is newly acknowledged */
	cc_on_sent_ack_only(&cc, 2, 2000);
	r = (struct cc_range){ 0, 2 };
	ck_assert_int_eq(cc_on_ack(&cc, &r, 1, 0, 2050, &ev), 0);
	ck_assert_int_eq(cc.latest_rtt_ms, 100);
}
END_TEST

START_TEST(slow_start_doubles)
{
	struct cc cc;
	uint64_t w;
	int64_t t = 0;
	uint64_t pn = 0;
	int round;

	setup(&cc);
	for (round = 0; round < 4; round++) {
		uint64_t n;

		w = cc.cwnd;
		n = w / MDS;
		send_range(&cc, pn, pn + n - 1, t);
		ck_assert_uint_lt(cc_room(&cc), MDS);
		ck_assert_int_eq(ack1(&cc, pn, pn + n - 1, t + 50), (int)n);
		pn += n;
		t += 50;
		ck_assert_uint_eq(cc.cwnd, w + n * MDS); /* one byte per byte acknowledged */
		ck_assert_uint_eq(cc.bytes_in_flight, 0);
	}
	ck_assert_uint_eq(cc.cwnd, 160 * MDS);
	ck_assert_uint_eq(seen.nlost, 0);
}
END_TEST

START_TEST(no_growth_when_app_limited)
{
	struct cc cc;
	int i;

	setup(&cc);
	/* one packet at a time, acknowledged before the next: the sender says it has no more */
	for (i = 0; i < 100; i++) {
		cc_app_limited(&cc);
		send_range(&cc, (uint64_t)i, (uint64_t)i, i * 100);
		ack1(&cc, (uint64_t)i, (uint64_t)i, i * 100 + 50);
	}
	ck_assert_uint_eq(cc.cwnd, 10 * MDS);
	/* app-limited rounds never say the pipe is full: still STARTUP, ready to double */
	ck_assert_int_eq(cc.mode, CC_STARTUP);
	ck_assert_uint_eq(cc.bw, MDS * 1000 / 50);
}
END_TEST

START_TEST(random_loss_cuts_nothing)
{
	struct cc cc;
	struct cc_range r[6] = { { 0, 9 }, { 11, 29 }, { 31, 49 }, { 51, 69 }, { 71, 89 }, { 91, 99 } };
	uint64_t before;

	setup_round(&cc, 10);
	send_range(&cc, 10, 29, 100);
	ack1(&cc, 10, 29, 200);
	before = cc.cwnd;
	/* 100 in flight, 5 of them lost at random (110, 130, 150, 170, 190): 5% */
	send_range(&cc, 100, 199, 200);
	r[0] = (struct cc_range){ 100, 109 };
	for (int i = 1; i < 6; i++)
		r[i] = (struct cc_range){ 100 + 20 * (uint64_t)i - 9, 100 + 20 * (uint64_t)i + 9 };
	r[5].hi = 199;
	ck_assert_int_eq(cc_on_ack(&cc, r, 6, 0, 300, &ev), 95);
	ck_assert_uint_eq(seen.nlost, 5);
	ck_assert_uint_eq(cc.n_random, 5);
	ck_assert_uint_eq(cc.n_recoveries, 0);
	ck_assert_uint_eq(cc.inflight_hi, UINT64_MAX);
	ck_assert_uint_ge(cc.cwnd, before); /* NewReno would have halved it */
}
END_TEST

START_TEST(burst_of_losses_bounds_inflight)
{
	struct cc cc;
	uint64_t bdp1;

	setup_round(&cc, 10);
	bdp1 = cc.bw * 100 / 1000; /* 10 packets a round of 100 ms: one BDP */
	ck_assert_uint_eq(bdp1, 10 * MDS);
	/* 40 sent, the first 20 dropped (a queue overflowed): 1/2 of the flight */
	send_range(&cc, 10, 49, 1000);
	ack1(&cc, 30, 49, 1100);
	ck_assert_uint_eq(seen.nlost, 20);
	/* one cut for the whole flight, at its 8th loss (8 of 8 in flight then) */
	ck_assert_uint_eq(cc.n_recoveries, 1);
	ck_assert_uint_eq(cc.n_random, 7);
	/* 7/10 of that flight is under one BDP (20 packets arrived in the 100 ms): the bound is the BDP */
	ck_assert_uint_eq(cc.inflight_hi, 2 * bdp1);
	ck_assert_uint_le(cc.cwnd, cc.inflight_hi);
	ck_assert_int_ne(cc.mode, CC_STARTUP); /* the pipe is full */
	ck_assert(cc.filled_pipe);
	/* rounds without a cut let the bound grow back, then go */
	for (uint64_t pn = 50, i = 0; i < 12; i++, pn += 5) {
		send_range(&cc, pn, pn + 4, 1200 + (int64_t)i * 100);
		ack1(&cc, pn, pn + 4, 1300 + (int64_t)i * 100);
	}
	ck_assert_uint_eq(cc.inflight_hi, UINT64_MAX);
	ck_assert_uint_eq(cc.n_recoveries, 1);
}
END_TEST

START_TEST(delivery_rate)
{
	struct cc cc;

	setup(&cc);
	/* 10 packets acked 100 ms after the flight began: 116800 bytes a second */
	send_range(&cc, 0, 9, 0);
	ack1(&cc, 0, 9, 100);
	ck_assert_uint_eq(cc.rate_sample, 10 * MDS * 1000 / 100);
	ck_assert_uint_eq(cc.bw, cc.rate_sample);
	ck_assert_int_eq(cc.bbr_min_rtt_ms, 100);
	/* the next flight's ACKs bunched up: 5 packets 10 ms after the previous ACK is no rate */
	send_range(&cc, 10, 29, 100);
	ack1(&cc, 10, 14, 110);
	ck_assert_uint_eq(cc.rate_sample, 10 * MDS * 1000 / 100);
	/* ... the whole flight, over its 100 ms, is: 20 packets */
	ack1(&cc, 15, 29, 200);
	ck_assert_uint_eq(cc.rate_sample, 20 * MDS * 1000 / 100);
	ck_assert_uint_eq(cc.bw, 20 * MDS * 1000 / 100);
	/* an app-limited flight's lower rate does not lower the estimate */
	cc_app_limited(&cc);
	send_range(&cc, 30, 31, 300);
	ack1(&cc, 30, 31, 400);
	ck_assert_uint_eq(cc.rate_sample, 2 * MDS * 1000 / 100);
	ck_assert_uint_eq(cc.bw, 20 * MDS * 1000 / 100);
	/* pacing in STARTUP: 2.89 x the estimate (1% under) or x the window over the RTT, the larger */
	ck_assert_uint_eq(cc_pacing_rate(&cc),
			  cc.bw * 289 / 100 * 99 / 100 > cc.cwnd * 1000 * 289 / 100 / (uint64_t)cc.smoothed_rtt_ms
				  ? cc.bw * 289 / 100 * 99 / 100
				  : cc.cwnd * 1000 * 289 / 100 / (uint64_t)cc.smoothed_rtt_ms);
}
END_TEST

/*
 * Chat first: single packets 200 ms apart, each acked in 100 ms, the
 * sender app-limited: the estimate is a packet per RTT. A file then
 * starts: its first rounds are paced at the window's rate (BBR's pacing
 * only grows in STARTUP), not at 2.89 x the chat's (the NAT lab's first
 * file round went at 2 kB/s so).
 */
START_TEST(startup_pacing_not_held_by_chat)
{
	struct cc cc;
	uint64_t pn;

	setup(&cc);
	for (pn = 0; pn < 5; pn++) {
		cc_app_limited(&cc);
		send_range(&cc, pn, pn, (int64_t)pn * 200);
		ack1(&cc, pn, pn, (int64_t)pn * 200 + 100);
	}
	ck_assert_uint_eq(cc.bw, MDS * 1000 / 100);
	ck_assert_int_eq(cc.mode, CC_STARTUP);
	ck_assert_uint_eq(cc_pacing_rate(&cc), cc.cwnd * 1000 * CC_STARTUP_GAIN_PCT / 100 / 100);
	ck_assert_uint_gt(cc_pacing_rate(&cc), 3 * cc.bw * CC_STARTUP_GAIN_PCT / 100);
}
END_TEST

/*
 * STARTUP rounds of 10, 20, 40... packets, all sent at once and each
 * acknowledged alone rtt_ms later, the first two at 100 ms and the third
 * at last_ms: returns the model after the third.
 */
static void startup_rounds(struct cc *cc, int64_t last_ms)
{
	uint64_t pn = 0, n = 10;
	int64_t t = 0;

	setup(cc);
	for (int r = 0; r < 3; r++, n *= 2) {
		int64_t rtt = r < 2 ? 100 : last_ms;

		send_range(cc, pn, pn + n - 1, t);
		for (uint64_t i = pn; i < pn + n; i++)
			ack1(cc, i, i, t + rtt);
		pn += n;
		t += rtt;
	}
}

/*
 * RFC 9406's delay rule ends STARTUP: a round whose least RTT is above
 * the last one's by 1/8 of it (12 ms at 100; within 4..16 ms) says a
 * queue grows, while the bandwidth still seems to grow (the NAT lab's
 * receiver, busy, queued 120 ms before the bandwidth rule saw anything,
 * and chat lines waited behind it). 11 ms more is not enough.
 */
START_TEST(startup_ends_when_rtt_rises)
{
	struct cc cc;

	startup_rounds(&cc, 111);
	ck_assert_int_eq(cc.mode, CC_STARTUP);
	ck_assert_uint_eq(cc.n_delay_exits, 0);
	startup_rounds(&cc, 112);
	ck_assert_int_ne(cc.mode, CC_STARTUP);
	ck_assert(cc.filled_pipe);
	ck_assert_uint_eq(cc.n_delay_exits, 1);
}
END_TEST

/* A round trip measured elsewhere stands in for kInitialRtt until the first sample, not after. */
START_TEST(seeded_rtt_sets_the_first_pto)
{
	struct cc cc;

	setup(&cc);
	cc_seed_rtt(&cc, 100);
	send_range(&cc, 0, 0, 0);
	/* RFC 9002 6.2.1 with 100 ms: 100 + 4 * 50 + 25, not 333 + 4 * 166 + 25 */
	ck_assert_int_eq(cc_deadline(&cc), 325);
	ck_assert(!cc.have_rtt);
	ck_assert_int_eq(ack1(&cc, 0, 0, 40), 1); /* the first sample rules: 40 ms */
	cc_seed_rtt(&cc, 500);
	ck_assert_int_eq(cc_pto_ms(&cc), 40 + 4 * 20 + MAD);
	cc_new_path(&cc, MDS, 1000); /* another path: kInitialRtt again */
	ck_assert_int_eq(cc_pto_ms(&cc), 333 + 4 * 166 + MAD);
}
END_TEST

START_TEST(bandwidth_filter_forgets)
{
	struct cc cc;
	uint64_t pn = 0;
	int64_t t = 0;
	int i;

	setup(&cc);
	/* 20 packets a round, then 5: the max holds for CC_BW_ROUNDS rounds, then falls */
	for (i = 0; i < 3; i++, pn += 20, t += 100) {
		send_range(&cc, pn, pn + 19, t);
		ack1(&cc, pn, pn + 19, t + 100);
	}
	ck_assert_uint_eq(cc.bw, 20 * MDS * 10);
	for (i = 0; i < CC_BW_ROUNDS - 1; i++, pn += 5, t += 100) {
		send_range(&cc, pn, pn + 4, t);
		ack1(&cc, pn, pn + 4, t + 100);
		ck_assert_uint_eq(cc.bw, 20 * MDS * 10);
	}
	for (i = 0; i < 2; i++, pn += 5, t += 100) {
		send_range(&cc, pn, pn + 4, t);
		ack1(&cc, pn, pn + 4, t + 100);
	}
	ck_assert_uint_eq(cc.bw, 5 * MDS * 10);
	/* and the modes moved on: the rate stopped growing, the pipe is full */
	ck_assert(cc.filled_pipe);
	ck_assert_int_eq(cc.mode, CC_PROBE_BW);
}
END_TEST

/*
 * On loopback a whole window leaves in one GSO send and its ACKs come back
 * within the millisecond: no rate (an interval under one min RTT). Rounds
 * of those say nothing of the path, and the estimate must stand through
 * them: CC_BW_ROUNDS of them emptied the filter, PROBE_BW paced at
 * 1 byte a second, and two /sends in a row stopped for good.
 */
START_TEST(bandwidth_kept_through_rounds_without_a_rate)
{
	struct cc cc;
	uint64_t pn = 70, bw;
	int64_t t = 300;
	int i;

	startup_rounds(&cc, 112); /* STARTUP ended: the pipe is full, a rate was measured */
	ck_assert(cc.filled_pipe);
	bw = cc.bw;
	ck_assert_uint_gt(bw, 0);
	for (i = 0; i < 3 * CC_BW_ROUNDS; i++, pn += 10, t++) {
		send_range(&cc, pn, pn + 9, t);
		ack1(&cc, pn, pn + 9, t); /* acknowledged in the millisecond it left */
	}
	ck_assert_uint_ge(cc.round, 3 * CC_BW_ROUNDS);
	ck_assert_uint_eq(cc.bw, bw);
	ck_assert_int_eq(cc.mode, CC_PROBE_BW);
	/* the next packet leaves within a few packets' time at that rate, not in minutes */
	ck_assert_uint_ge(cc_pacing_rate(&cc), bw * 3 / 4 * CC_PACING_MARGIN_PCT / 100);
	ck_assert_int_le(cc_pacing_at(&cc, MDS, t), t + (int64_t)(4 * MDS * 1000 / (bw / 2)));
}
END_TEST

/*
 * STARTUP ended by a loss before any rate was measured (a loopback path,
 * ACKs within the millisecond): with no estimate the pacer goes at the
 * window over the RTT, at the mode's gain (RFC 9002 7.7), never at 0.
 */
START_TEST(pacing_without_an_estimate)
{
	struct cc cc;
	int64_t at;

	setup(&cc);
	send_range(&cc, 0, 19, 0);
	ack1(&cc, 19, 19, 0); /* 0..16 lost by count: 17 of 20, the path overfull */
	ck_assert_uint_eq(seen.nlost, 17);
	ck_assert(cc.filled_pipe);
	ck_assert_uint_eq(cc.bw, 0);
	ck_assert_int_eq(cc.mode, CC_DRAIN);
	ck_assert_int_eq(cc.smoothed_rtt_ms, 0); /* under the clock's tick: 1 ms */
	ck_assert_uint_eq(cc_pacing_rate(&cc), cc.cwnd * 1000 * CC_DRAIN_GAIN_PCT / 100);
	/* the bucket was overdrawn by the burst; it refills within a few ms, not in hours */
	at = cc_pacing_at(&cc, MDS, 1);
	ck_assert_int_le(at, 1 + 10);
}
END_TEST

START_TEST(min_rtt_filter_and_probe_rtt)
{
	struct cc cc;
	uint64_t pn = 0;
	int64_t t = 0;

	setup(&cc);
	send_range(&cc, pn, pn + 9, t);
	ack1(&cc, pn, pn + 9, t + 100);
	pn += 10;
	ck_assert_int_eq(cc.bbr_min_rtt_ms, 100);
	/* a queue builds: 150 ms samples for 10 s do not raise the floor ... */
	for (t = 200; t + 150 - 100 <= CC_MIN_RTT_WIN_MS; t += 200, pn += 10) {
		send_range(&cc, pn, pn + 9, t);
		ack1(&cc, pn, pn + 9, t + 150);
		ck_assert_int_eq(cc.bbr_min_rtt_ms, 100);
		ck_assert_int_ne(cc.mode, CC_PROBE_RTT);
	}
	/* ... until the window is over: PROBE_RTT, a few packets in flight */
	send_range(&cc, pn, pn + 9, t);
	ack1(&cc, pn, pn + 9, t + 150);
	pn += 10;
	ck_assert_int_eq(cc.mode, CC_PROBE_RTT);
	ck_assert_uint_eq(cc.n_probe_rtt, 1);
	ck_assert_uint_eq(cc_room(&cc), 4 * MDS);
	/* the queue drained: the path shows 120 ms, for 200 ms and a round */
	t += 200;
	send_range(&cc, pn, pn + 3, t);
	ack1(&cc, pn, pn + 3, t + 120);
	pn += 4;
	ck_assert_int_eq(cc.mode, CC_PROBE_RTT);
	ck_assert_int_eq(cc.bbr_min_rtt_ms, 120);
	t += 400;
	send_range(&cc, pn, pn + 3, t);
	ack1(&cc, pn, pn + 3, t + 120);
	ck_assert_int_ne(cc.mode, CC_PROBE_RTT);
	ck_assert_int_eq(cc.bbr_min_rtt_ms, 120);
	ck_assert_uint_gt(cc_room(&cc), 4 * MDS);
	/* RFC 9002's min_rtt, for the ACK delay rule, keeps the path's lowest */
	ck_assert_int_eq(cc.min_rtt_ms, 100);
}
END_TEST

START_TEST(time_rule_after_reordering)
{
	struct cc cc;
	int64_t lt;

	setup(&cc);
	send_range(&cc, 0, 1, 0);
	/* 1 overtook 0, then 0 came: reordering seen, the count rule is off */
	ack1(&cc, 1, 1, 100);
	ck_assert(!cc.reordering_seen);
	ack1(&cc, 0, 0, 101);
	ck_assert(cc.reordering_seen);

	send_range(&cc, 2, 20, 1000);
	ck_assert_int_eq(ack1(&cc, 3, 20, 1100), 18);
	ck_assert_uint_eq(seen.nlost, 0); /* 17 later packets acknowledged, yet not lost by count */
	lt = cc_deadline(&cc);
	/* the loss timer: sent at 1000, plus 9/8 of max(srtt, latest) */
	ck_assert_int_eq(lt, 1000 + cc_loss_delay_ms(&cc));
	ck_assert_int_eq(cc_loss_delay_ms(&cc), 100 + 100 / 8);
	ck_assert_int_eq(cc_tick(&cc, lt - 1, &ev), lt);
	ck_assert_uint_eq(seen.nlost, 0);
	cc_tick(&cc, lt, &ev);
	ck_assert_uint_eq(seen.nlost, 1);
	ck_assert_uint_eq(seen.last_lost, 2);
	ck_assert_int_eq(cc_deadline(&cc), INT64_MAX); /* nothing left in flight */
}
END_TEST

START_TEST(count_rule_on_fresh_path)
{
	struct cc cc;

	/* The same 17 later ACKs on a path never seen to reorder: lost at once. */
	setup_round(&cc, 1);
	send_range(&cc, 2, 20, 1000);
	ack1(&cc, 3, 20, 1100);
	ck_assert_uint_eq(seen.nlost, 1);
	ck_assert_uint_eq(seen.last_lost, 2);
}
END_TEST

/* Loses 1..10 of a flight 1..30 by count (a cut at the 8th), after a first round of 10. */
static void lose_ten(struct cc *cc)
{
	setup_round(cc, 10);
	send_range(cc, 10, 39, 1000);
	ack1(cc, 21, 39, 1100); /* 10..20 have 3 later packets acknowledged */
	ck_assert_uint_eq(seen.nlost, 11);
	ck_assert_uint_eq(cc->n_recoveries, 1);
	ck_assert_uint_ne(cc->inflight_hi, UINT64_MAX);
}

START_TEST(spurious_loss_is_undone)
{
	struct cc cc;

	lose_ten(&cc);
	ck_assert_uint_eq(cc.reo_mult, 1);
	/* ...and they arrive: the losses were reordering */
	ack1(&cc, 10, 20, 1101);
	ck_assert_uint_eq(seen.nspurious, 11);
	ck_assert(cc.reordering_seen);
	ck_assert_uint_ge(cc.reo_mult, 2); /* the window widens by RTT/8 a spurious loss */
	ck_assert_uint_eq(cc.inflight_hi, UINT64_MAX); /* the bound is undone */
	ck_assert_uint_eq(cc.n_undone, 1);
	/* a second ACK of them changes nothing more */
	ack1(&cc, 10, 20, 1102);
	ck_assert_uint_eq(seen.nspurious, 11);
}
END_TEST

START_TEST(spurious_loss_with_a_real_one_is_not_undone)
{
	struct cc cc;
	uint64_t hi;

	lose_ten(&cc);
	hi = cc.inflight_hi;
	ack1(&cc, 10, 19, 1101); /* 20 is still lost */
	ck_assert_uint_eq(seen.nspurious, 10);
	ck_assert_uint_eq(cc.inflight_hi, hi);
	ck_assert_uint_eq(cc.n_undone, 0);
}
END_TEST

START_TEST(pto_backs_off)
{
	struct cc cc;
	int64_t d, pto;

	setup_round(&cc, 1);
	send_range(&cc, 1, 1, 1000);
	pto = cc_pto_ms(&cc);
	/* RFC 9002 6.2.1: 100 + max(4 * 50, 1) + 25 */
	ck_assert_int_eq(pto, 325);
	d = cc_deadline(&cc);
	ck_assert_int_eq(d, 1000 + pto);
	ck_assert_int_eq(cc_tick(&cc, d - 1, &ev), d);
	ck_assert_uint_eq(cc.probes, 0);
	d = cc_tick(&cc, d, &ev);
	ck_assert_uint_eq(cc.pto_count, 1);
	ck_assert_uint_eq(cc.probes, 2);
	ck_assert_uint_eq(seen.nlost, 0); /* a PTO declares nothing lost */
	ck_assert_uint_eq(cc.cwnd, 10 * MDS); /* nor cuts the window */
	ck_assert_int_eq(d, 1000 + pto + 2 * pto);
	/* the probes go out (cc_on_sent counts them down) and restart the timer */
	send_range(&cc, 2, 3, 1400);
	ck_assert_uint_eq(cc.probes, 0);
	ck_assert_int_eq(cc_deadline(&cc), 1400 + 2 * pto);
	/* an ACK resets the backoff */
	ack1(&cc, 3, 3, 1500);
	ck_assert_uint_eq(cc.pto_count, 0);
}
END_TEST

START_TEST(persistent_congestion_collapses)
{
	struct cc cc;
	int64_t t, pcd;
	uint64_t pn;

	setup_round(&cc, 10);
	ck_assert_uint_eq(cc.cwnd, 20 * MDS);
	pcd = 3 * cc_pto_ms(&cc);
	/* one packet every 100 ms for longer than 3 PTOs, all lost, then one acknowledged */
	pn = 10;
	for (t = 1000; t <= 1000 + pcd + 100; t += 100)
		send_range(&cc, pn, pn, t), pn++;
	send_range(&cc, pn, pn + 2, t);
	ack1(&cc, pn, pn + 2, t + 100);
	ck_assert_uint_gt(seen.nlost, 3);
	ck_assert_uint_eq(cc.n_persistent, 1);
	ck_assert_uint_eq(cc.cwnd, 2 * MDS); /* kMinimumWindow */
}
END_TEST

START_TEST(short_loss_is_not_persistent)
{
	struct cc cc;

	setup_round(&cc, 10);
	/* the same number of losses, but within one PTO: too much in flight, not a dead path */
	send_range(&cc, 10, 20, 1000);
	ack1(&cc, 18, 20, 1100);
	ck_assert_uint_eq(seen.nlost, 8);
	ck_assert_uint_eq(cc.n_persistent, 0);
	ck_assert_uint_eq(cc.n_recoveries, 1);
	ck_assert_uint_eq(cc.cwnd, 10 * MDS); /* one BDP, the bound's floor */
}
END_TEST

START_TEST(no_persistent_congestion_before_a_sample)
{
	struct cc cc;
	uint64_t pn;

	setup(&cc);
	/* losses over a long time, but all sent before any RTT sample (RFC 9002 7.6.2) */
	for (pn = 0; pn < 20; pn++)
		send_range(&cc, pn, pn, (int64_t)pn * 500);
	ack1(&cc, 20 - 1, 20 - 1, 20 * 500);
	ck_assert_uint_gt(seen.nlost, 0);
	ck_assert_uint_eq(cc.n_persistent, 0);
}
END_TEST

START_TEST(ack_of_unsent_is_refused)
{
	struct cc cc;
	struct cc_range r[2] = { { 0, 1 }, { 5, 6 } };

	setup(&cc);
	ck_assert_int_eq(ack1(&cc, 0, 0, 10), -1); /* nothing sent at all */
	send_range(&cc, 0, 4, 0);
	ck_assert_int_eq(cc_on_ack(&cc, r, 2, 0, 10, &ev), -1);
	ck_assert_int_eq(ack1(&cc, 3, 2, 10), -1); /* lo above hi */
	ck_assert_uint_eq(seen.nacked, 0);
	ck_assert_uint_eq(cc.bytes_in_flight, 5 * MDS);
	/* an ack-only packet takes a number that may be acknowledged */
	cc_on_sent_ack_only(&cc, 5, 0);
	r[1] = (struct cc_range){ 5, 5 };
	ck_assert_int_eq(cc_on_ack(&cc, r, 2, 0, 10, &ev), 2);
	ck_assert_uint_eq(cc.largest_acked, 5);
}
END_TEST

START_TEST(ring_full_refuses)
{
	struct cc *cc = malloc(sizeof(*cc));
	uint64_t pn;

	ck_assert_ptr_nonnull(cc);
	setup(cc);
	for (pn = 0; pn < CC_SENT_MAX; pn++)
		ck_assert_int_ge(cc_on_sent(cc, pn, 100, 0), 0);
	ck_assert_int_eq(cc_on_sent(cc, pn, 100, 0), -1);
	ack1(cc, 0, 0, 10);
	ck_assert_int_ge(cc_on_sent(cc, pn, 100, 10), 0);
	free(cc);
}
END_TEST

START_TEST(pacing_spreads_a_window)
{
	struct cc cc;
	int64_t t = 1000, at;
	uint64_t rate;
	int sent = 0;

	setup_round(&cc, 1); /* srtt 100 ms */
	cc_pacing_at(&cc, MDS, t); /* fill the bucket */
	rate = cc_pacing_rate(&cc);
	/* STARTUP: 2.89 x the window (10 packets) over the RTT, not x the one packet measured */
	ck_assert_uint_eq(rate, (uint64_t)MDS * 10 * 1000 * CC_STARTUP_GAIN_PCT / 100 / 100);
	/* a window's worth is spread at that rate: only the burst leaves at once */
	while (sent < 10) {
		at = cc_pacing_at(&cc, MDS, t);
		if (at != 0) {
			ck_assert_int_gt(at, t);
			t = at;
			continue;
		}
		cc_on_sent(&cc, (uint64_t)sent + 1, MDS, t);
		sent++;
	}
	/* 10 packets, 4 of them the burst: 6 * 1168 bytes at `rate` */
	ck_assert_int_ge(t - 1000, (int64_t)(6 * MDS * 1000 / rate));
	ck_assert_int_le(t - 1000, (int64_t)(6 * MDS * 1000 / rate) + 6);
}
END_TEST

START_TEST(new_path_starts_over)
{
	struct cc cc;
	uint64_t rec;

	setup_round(&cc, 10);
	ck_assert_uint_eq(cc.cwnd, 20 * MDS);
	send_range(&cc, 10, 19, 200);
	/* to the relay: smaller packets, a fresh estimate, the initial window of them */
	cc_new_path(&cc, 1088, 250);
	ck_assert(!cc.have_rtt);
	ck_assert_uint_eq(cc.cwnd, 10 * 1088);
	ck_assert_uint_eq(cc.bytes_in_flight, 10 * MDS); /* the old path's packets are still out */
	ck_assert_int_eq(cc_pto_ms(&cc), CC_INITIAL_RTT_MS + 4 * (CC_INITIAL_RTT_MS / 2) + MAD);
	/* their ACKs count, but give no sample and no growth */
	ck_assert_int_eq(ack1(&cc, 10, 11, 300), 2);
	ck_assert(!cc.have_rtt);
	ck_assert_uint_eq(cc.cwnd, 10 * 1088);
	/* and their loss cuts nothing */
	rec = cc.n_recoveries;
	ack1(&cc, 16, 19, 301);
	ck_assert_uint_eq(seen.nlost, 4);
	ck_assert_uint_eq(cc.n_recoveries, rec);
	ck_assert_uint_eq(cc.cwnd, 10 * 1088);
	ck_assert_uint_eq(cc.bytes_in_flight, 0);
	/* the new path's own packets do */
	ck_assert_int_ge(cc_on_sent(&cc, 20, 1088, 400), 0);
	ack1(&cc, 20, 20, 450);
	ck_assert(cc.have_rtt);
	ck_assert_int_eq(cc.smoothed_rtt_ms, 50);
	/* a cap holds the pacer under the relay's limit */
	ck_assert_uint_gt(cc_pacing_rate(&cc), 1000);
	cc_set_rate_cap(&cc, 1000);
	ck_assert_uint_eq(cc_pacing_rate(&cc), 1000);
	cc_set_rate_cap(&cc, 0);
	ck_assert_uint_gt(cc_pacing_rate(&cc), 1000);
}
END_TEST

/*
 * Issue 14: PTOs with no ACK at all back off, but never leave more than
 * CC_PTO_MAX_MS between probes (before: x256, some 4 min at kInitialRtt).
 */
START_TEST(pto_backoff_bounded)
{
	struct cc cc;
	int64_t now = 0, d = 0;

	setup(&cc);
	send_range(&cc, 0, 0, 0);
	for (int i = 0; i < 12; i++) {
		d = cc_tick(&cc, cc_deadline(&cc), &ev);
		now = cc.last_ack_eliciting_ms;
		ck_assert_int_le(d - now, CC_PTO_MAX_MS);
		send_range(&cc, 1 + 2 * (uint64_t)i, 2 + 2 * (uint64_t)i, now); /* the two probes */
	}
	ck_assert_uint_eq(cc.pto_count, 12);
	ck_assert_int_eq(cc_deadline(&cc) - now, CC_PTO_MAX_MS);
	/* and an ACK starts the backoff over */
	ack1(&cc, 24, 24, now + 100);
	ck_assert_uint_eq(cc.pto_count, 0);
}
END_TEST

/*
 * Issue 14: from the relay (its rate cap, a model of 6 KB/s, more in flight
 * than the new initial window, never to be acknowledged) to a direct path:
 * nothing of the old model holds the sender back. The pacer runs at the
 * new path's rate at once, a PTO owes probes, and once a probe is
 * acknowledged the old packets are lost and the window is open.
 */
START_TEST(relay_state_left_behind_on_new_path)
{
	struct cc cc;
	uint64_t pn = 0;
	int64_t now = 0, d;

	setup(&cc);
	cc_set_rate_cap(&cc, 6144);
	/* a minute on the relay, paced at its cap: 6 packets a second, 300 ms RTT */
	for (int i = 0; i < 360; i++, pn++, now += 166) {
		ck_assert_int_ge(cc_on_sent(&cc, pn, MDS, now), 0);
		if (pn >= 2)
			ack1(&cc, pn - 2, pn - 2, now);
	}
	ck_assert_uint_gt(cc.bw, 0);
	ck_assert_uint_lt(cc.bw, 10000);
	ck_assert_uint_le(cc_pacing_rate(&cc), 6144);
	/* more in flight than a fresh window, all of it lost with the relay */
	send_range(&cc, pn, pn + 11, now);
	pn += 12;
	ck_assert_uint_gt(cc.bytes_in_flight, 10 * MDS);
	cc_new_path(&cc, MDS, now + 10);
	cc_set_rate_cap(&cc, 0);
	ck_assert_uint_eq(cc.bw, 0);
	ck_assert_uint_eq(cc.mode, CC_STARTUP);
	ck_assert_uint_gt(cc_pacing_rate(&cc), 100000); /* the window over kInitialRtt, at STARTUP's gain */
	ck_assert_int_eq(cc_pacing_at(&cc, MDS, now + 10), 0);
	ck_assert_uint_eq(cc_room(&cc), 0); /* the old packets fill the window ... */
	/* ... so a PTO, one unbacked kInitialRtt PTO after the last send, owes probes */
	d = cc_deadline(&cc);
	ck_assert_int_le(d - now, cc_pto_ms(&cc));
	cc_tick(&cc, d, &ev);
	ck_assert_uint_eq(cc.probes, 2);
	send_range(&cc, pn, pn + 1, d);
	ack1(&cc, pn, pn + 1, d + 50);
	ck_assert_uint_eq(cc.bytes_in_flight, 0); /* the relay's packets are lost now */
	ck_assert_uint_gt(cc_room(&cc), 0);
	ck_assert_int_eq(cc_pacing_at(&cc, MDS, d + 50), 0);
}
END_TEST

static Suite *cc_suite(void)
{
	Suite *s = suite_create("cc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, initial_window);
	tcase_add_test(tc, rtt_estimates);
	tcase_add_test(tc, sample_from_an_ack_only_largest);
	tcase_add_test(tc, slow_start_doubles);
	tcase_add_test(tc, no_growth_when_app_limited);
	tcase_add_test(tc, random_loss_cuts_nothing);
	tcase_add_test(tc, burst_of_losses_bounds_inflight);
	tcase_add_test(tc, delivery_rate);
	tcase_add_test(tc, startup_pacing_not_held_by_chat);
	tcase_add_test(tc, startup_ends_when_rtt_rises);
	tcase_add_test(tc, seeded_rtt_sets_the_first_pto);
	tcase_add_test(tc, bandwidth_filter_forgets);
	tcase_add_test(tc, bandwidth_kept_through_rounds_without_a_rate);
	tcase_add_test(tc, pacing_without_an_estimate);
	tcase_add_test(tc, min_rtt_filter_and_probe_rtt);
	tcase_add_test(tc, time_rule_after_reordering);
	tcase_add_test(tc, count_rule_on_fresh_path);
	tcase_add_test(tc, spurious_loss_is_undone);
	tcase_add_test(tc, spurious_loss_with_a_real_one_is_not_undone);
	tcase_add_test(tc, pto_backs_off);
	tcase_add_test(tc, pto_backoff_bounded);
	tcase_add_test(tc, relay_state_left_behind_on_new_path);
	tcase_add_test(tc, persistent_congestion_collapses);
	tcase_add_test(tc, short_loss_is_not_persistent);
	tcase_add_test(tc, no_persistent_congestion_before_a_sample);
	tcase_add_test(tc, ack_of_unsent_is_refused);
	tcase_add_test(tc, ring_full_refuses);
	tcase_add_test(tc, pacing_spreads_a_window);
	tcase_add_test(tc, new_path_starts_over);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(cc_suite());
}
