/* cc.c - the congestion controller of one peer path: a BBR-like model (delivery rate, bandwidth and min RTT filters, modes), the window it sets, loss as a bound on it, and the pacer (cc.h). */
#include "cc_impl.h"

#include <string.h>

/* The floor of the model's cwnd outside persistent congestion: BBR's MinPipeCwnd. */
static uint64_t min_pipe(const struct cc *cc)
{
	return (uint64_t)CC_PROBE_RTT_PKTS * cc->mds;
}

/* Forgets the model: no bandwidth, no rounds, STARTUP (a fresh path, or persistent congestion). */
static void model_fresh(struct cc *cc)
{
	memset(cc->bw_round, 0, sizeof(cc->bw_round));
	cc->bw = 0;
	cc->rate_sample = 0;
	cc->mode = CC_STARTUP;
	cc->full_bw = 0;
	cc->full_bw_count = 0;
	cc->filled_pipe = 0;
	cc->cycle = 0;
	cc->next_round_delivered = cc->delivered;
	cc->inflight_hi = UINT64_MAX;
	cc->app_limited_until = 0;
	cc->round_min_rtt_ms = cc->last_round_min_rtt_ms = INT64_MAX;
	cc->round_rtt_samples = 0;
}

void cc_model_path(struct cc *cc, int64_t now)
{
	uint64_t iw;

	cc->rate_cap = 0;
	cc->delivered = 0;
	cc->delivered_ms = cc->first_sent_ms = now;
	cc->lost_pkts = 0;
	cc->round = 0;
	cc->cut_round = 0;
	cc->bbr_min_rtt_ms = -1;
	cc->bbr_min_rtt_at_ms = now;
	cc->probe_rtt_done_ms = -1;
	model_fresh(cc);
	/* RFC 9002 7.2: min(10 * mds, max(14720, 2 * mds)) */
	iw = 2 * (uint64_t)cc->mds > CC_INITIAL_WINDOW_MIN_BYTES ? 2 * (uint64_t)cc->mds
								  : CC_INITIAL_WINDOW_MIN_BYTES;
	if (iw > (uint64_t)CC_INITIAL_WINDOW_PKTS * cc->mds)
		iw = (uint64_t)CC_INITIAL_WINDOW_PKTS * cc->mds;
	cc->cwnd = iw;
	cc->tokens_mb = (int64_t)iw * 1000; /* the initial window leaves at once (bucket_mb) */
	cc->tokens_ms = now;
}

void cc_set_rate_cap(struct cc *cc, uint64_t bytes_per_s)
{
	cc->rate_cap = bytes_per_s;
}

uint64_t cc_room(const struct cc *cc)
{
	uint64_t w = cc->cwnd;

	/* BBR 4.3.4: PROBE_RTT holds a few packets in flight; the window itself is kept for after */
	if (cc->mode == CC_PROBE_RTT && w > min_pipe(cc))
		w = min_pipe(cc);
	return cc->bytes_in_flight >= w ? 0 : w - cc->bytes_in_flight;
}

/* Returns the pacing gain of the mode and phase, in percent (cc.h above). */
static uint64_t pacing_gain_pct(const struct cc *cc)
{
	static const uint8_t cycle_pct[8] = { 125, 75, 100, 100, 100, 100, 100, 100 };

	switch (cc->mode) {
	case CC_STARTUP:
		return CC_STARTUP_GAIN_PCT;
	case CC_DRAIN:
		return CC_DRAIN_GAIN_PCT;
	case CC_PROBE_BW:
		return cycle_pct[cc->cycle % 8];
	default:
		return 100;
	}
}

uint64_t cc_pacing_rate(const struct cc *cc)
{
	uint64_t rate = 0;

	if (cc->bw > 0)
		rate = cc->bw * pacing_gain_pct(cc) / 100 * CC_PACING_MARGIN_PCT / 100;
	if (!cc->filled_pipe || cc->bw == 0) {
		/*
		 * Until the pipe is full, never slower than the window over the
		 * RTT at STARTUP's gain (BBR's pacing rate only grows in STARTUP,
		 * from that start): a bandwidth measured while only chat lines
		 * went (a few hundred bytes a second, app-limited) paced a file's
		 * first round at 2 kB/s, and its start took 2 or 3 rounds more.
		 * With no estimate at all (STARTUP ended by a loss or by the delay
		 * rule before a rate was measured), the window over the RTT at
		 * the mode's gain (RFC 9002 7.7): the rate is never 0, which
		 * paced at 1 byte a second and stalled a loopback /send for good.
		 */
		uint64_t rtt = (uint64_t)cc_max64(cc_srtt(cc), 1);
		uint64_t gain = cc->filled_pipe ? pacing_gain_pct(cc) : CC_STARTUP_GAIN_PCT;
		uint64_t w = cc->cwnd * 1000 * gain / 100 / rtt;

		if (w > rate)
			rate = w;
	}
	if (rate < 1)
		rate = 1;
	return cc->rate_cap && rate > cc->rate_cap ? cc->rate_cap : rate;
}

void cc_app_limited(struct cc *cc)
{
	/* draft-cheng-iccrg-delivery-rate-estimation 3.4: the bubble lasts until what is in flight is acked */
	cc->app_limited_until = cc->delivered + cc->bytes_in_flight;
	if (cc->app_limited_until == 0)
		cc->app_limited_until = 1;
}

/*
 * The most tokens the bucket holds: a few packets, or 2 ms of sending at
 * high rates; before the first RTT sample, the initial window, which
 * leaves at once as TCP's does (paced at kInitialRtt, 333 ms, it took a
 * third of a 100 ms path's first round trips to leave).
 */
static int64_t bucket_mb(const struct cc *cc)
{
	int64_t pkts = (int64_t)CC_PACING_BURST_PKTS * cc->mds * 1000;
	int64_t two_ms = (int64_t)cc_pacing_rate(cc) * 2;

	if (!cc->have_rtt)
		pkts = cc_max64(pkts, (int64_t)cc->cwnd * 1000);
	return cc_max64(pkts, two_ms);
}

/* Fills the bucket for the time since it was last filled. */
static void refill(struct cc *cc, int64_t now)
{
	int64_t cap = bucket_mb(cc);

	if (now <= cc->tokens_ms)
		return;
	/* bytes per second times ms is thousandths of a byte; cap the span so it cannot overflow */
	cc->tokens_mb += (int64_t)cc_pacing_rate(cc) * cc_min64(now - cc->tokens_ms, 1000);
	if (cc->tokens_mb > cap)
		cc->tokens_mb = cap;
	cc->tokens_ms = now;
}

int64_t cc_pacing_at(struct cc *cc, uint32_t bytes, int64_t now)
{
	int64_t need, rate;

	refill(cc, now);
	need = (int64_t)bytes * 1000 - cc->tokens_mb;
	if (need <= 0)
		return 0;
	rate = (int64_t)cc_pacing_rate(cc);
	if (rate < 1)
		rate = 1;
	return now + (need + rate - 1) / rate;
}

void cc_model_sent(struct cc *cc, struct cc_sent *s, int64_t now)
{
	/* draft-cheng-iccrg-delivery-rate-estimation 3.2: a flight starts when nothing is in flight */
	if (cc->bytes_in_flight == s->bytes)
		cc->first_sent_ms = cc->delivered_ms = now;
	s->delivered = cc->delivered;
	s->delivered_ms = cc->delivered_ms;
	s->first_sent_ms = cc->first_sent_ms;
	s->app_limited = cc->app_limited_until != 0;
	s->lost = cc->lost_pkts;
	s->inflight = cc->bytes_in_flight;
	refill(cc, now);
	cc->tokens_mb -= (int64_t)s->bytes * 1000;
	if (cc->tokens_mb < -bucket_mb(cc))
		cc->tokens_mb = -bucket_mb(cc); /* probes may overdraw; not without bound */
}

void cc_model_delivered(struct cc *cc, const struct cc_sent *s, int64_t now)
{
	cc->delivered += s->bytes;
	cc->delivered_ms = now;
	if (cc->app_limited_until != 0 && cc->delivered > cc->app_limited_until)
		cc->app_limited_until = 0;
}

/* Returns the bandwidth-delay product times gain_pct / 100, in bytes; 0 before the model has both. */
static uint64_t bdp(const struct cc *cc, uint64_t gain_pct)
{
	if (cc->bw == 0 || cc->bbr_min_rtt_ms < 0)
		return 0;
	return cc->bw * (uint64_t)cc_max64(cc->bbr_min_rtt_ms, 1) / 1000 * gain_pct / 100;
}

int cc_model_overfull(const struct cc *cc, uint64_t s_inflight, uint64_t s_lost)
{
	uint64_t lost = cc->lost_pkts - s_lost;

	return lost >= CC_LOSS_MIN_PKTS &&
	       lost * cc->mds * CC_LOSS_THRESH_INV > s_inflight;
}

void cc_model_cut(struct cc *cc, uint64_t s_inflight)
{
	uint64_t hi;

	cc->undo_cwnd = cc->cwnd;
	cc->undo_inflight_hi = cc->inflight_hi;
	cc->cut_round = cc->round;
	/* never under one BDP (a full pipe queues nothing) nor BBR's few packets */
	hi = s_inflight * CC_INFLIGHT_HI_PCT / 100;
	if (hi < bdp(cc, 100))
		hi = bdp(cc, 100);
	cc->inflight_hi = hi > min_pipe(cc) ? hi : min_pipe(cc);
	if (cc->cwnd > cc->inflight_hi)
		cc->cwnd = cc->inflight_hi;
	/* BBRv2: STARTUP ends when too much is lost; the queue it made drains */
	if (cc->mode == CC_STARTUP) {
		cc->filled_pipe = 1;
		cc->mode = CC_DRAIN;
	}
}

void cc_model_undo(struct cc *cc)
{
	if (cc->inflight_hi >= cc->undo_inflight_hi)
		return;
	cc->cwnd = cc->cwnd > cc->undo_cwnd ? cc->cwnd : cc->undo_cwnd;
	cc->inflight_hi = cc->undo_inflight_hi;
	cc->n_undone++;
}

void cc_model_collapse(struct cc *cc, int64_t now)
{
	/* RFC 9002 7.6.2: back to the minimum window, and a fresh min RTT (5.2); the model anew */
	cc->cwnd = cc_min_window(cc);
	cc->bbr_min_rtt_ms = cc->latest_rtt_ms;
	cc->bbr_min_rtt_at_ms = now;
	model_fresh(cc);
}

/* ---- the model (cc.h: BBR) ---- */

/*
 * Returns the delivery rate (bytes per second) of the flight that packet p
 * ended, acked at now, or 0 when its interval is under one min RTT
 * (draft-cheng-iccrg-delivery-rate-estimation 3.3; BBR drops those: ACKs
 * bunched up, not the path's rate). The next flight starts at p's send.
 */
static uint64_t rate_of(struct cc *cc, const struct cc_sent *p, int64_t now)
{
	int64_t interval = cc_max64(p->sent_ms - p->first_sent_ms, now - p->delivered_ms);

	cc->first_sent_ms = p->sent_ms;
	if (interval < cc_max64(cc->bbr_min_rtt_ms, 1) || cc->delivered <= p->delivered)
		return 0;
	return (cc->delivered - p->delivered) * 1000 / (uint64_t)interval;
}

/* Takes a rate sample into the max filter of the last CC_BW_ROUNDS rounds. */
static void bw_update(struct cc *cc, uint64_t rate, int app_limited)
{
	uint64_t *slot = &cc->bw_round[cc->round % CC_BW_ROUNDS];
	uint64_t max = 0;
	uint32_t i;

	/* an app-limited rate says the path carries at least that much, never less */
	if (rate > 0 && (!app_limited || rate >= cc->bw) && rate > *slot)
		*slot = rate;
	for (i = 0; i < CC_BW_ROUNDS; i++)
		if (cc->bw_round[i] > max)
			max = cc->bw_round[i];
	/*
	 * A sample forgets the estimate only by taking its place, as BBR's max
	 * filter, fed valid samples alone, keeps its max until a newer one
	 * replaces it. Rounds without a rate (every ACK within one min RTT of
	 * the last, rate_of's 0: on loopback, with whole windows leaving in
	 * one GSO send, most ACKs) say nothing of the path: CC_BW_ROUNDS of
	 * them emptied the filter, and PROBE_BW then paced at nothing.
	 */
	if (max > 0)
		cc->bw = max;
}

/* Enters PROBE_BW at its first phase of gain 1 (the probing phases come after a cruise). */
static void enter_probe_bw(struct cc *cc, int64_t now)
{
	cc->mode = CC_PROBE_BW;
	cc->cycle = 2;
	cc->cycle_ms = now;
}

/* Moves through the modes (cc.h above): STARTUP, DRAIN, PROBE_BW's phases, PROBE_RTT. */
static void mode_update(struct cc *cc, int round_start, int app_limited, int rtt_expired, int64_t now)
{
	int64_t phase_ms = cc_max64(cc->bbr_min_rtt_ms, 1);

	if (cc->mode == CC_STARTUP && round_start && !app_limited && cc->bw > 0) {
		if (cc->bw * 100 >= cc->full_bw * CC_FULL_BW_PCT) {
			cc->full_bw = cc->bw;
			cc->full_bw_count = 0;
		} else if (++cc->full_bw_count >= CC_FULL_BW_ROUNDS) {
			cc->filled_pipe = 1;
			cc->mode = CC_DRAIN;
		}
	}
	if (cc->mode == CC_DRAIN && cc->bytes_in_flight <= bdp(cc, 100))
		enter_probe_bw(cc, now);
	if (cc->mode == CC_PROBE_BW) {
		int64_t in_phase = now - cc->cycle_ms;
		/* 3/4 ends early once the queue 5/4 made is gone */
		int drained = cc->cycle == 1 && cc->bytes_in_flight <= bdp(cc, 100);

		if (in_phase > phase_ms || drained) {
			cc->cycle = (cc->cycle + 1) % 8;
			cc->cycle_ms = now;
		}
	}
	/* BBR 4.3.4: no lower RTT for CC_MIN_RTT_WIN_MS: drain to a few packets and look */
	if (cc->mode != CC_PROBE_RTT && rtt_expired) {
		cc->mode = CC_PROBE_RTT;
		cc->probe_rtt_done_ms = -1;
		cc->n_probe_rtt++;
	}
	if (cc->mode == CC_PROBE_RTT) {
		if (cc->probe_rtt_done_ms < 0 && cc->bytes_in_flight <= min_pipe(cc)) {
			cc->probe_rtt_done_ms = now + CC_PROBE_RTT_MS;
			cc->probe_rtt_round = cc->round + 1;
		} else if (cc->probe_rtt_done_ms >= 0 && now >= cc->probe_rtt_done_ms &&
			   cc->round >= cc->probe_rtt_round) {
			cc->bbr_min_rtt_at_ms = now; /* looked: what it saw stands for another window */
			if (cc->filled_pipe)
				enter_probe_bw(cc, now);
			else
				cc->mode = CC_STARTUP;
		}
	}
}

/*
 * Takes an RTT sample (latest_rtt_ms) into this round's least; in
 * STARTUP, when the round has CC_HS_N_RTT_SAMPLE samples and its least
 * is above the last round's by RFC 9406's RttThresh (1/8 of it, within
 * 4..16 ms), a queue is growing: the pipe is full, DRAIN (cc.h).
 */
static void startup_delay(struct cc *cc)
{
	int64_t last = cc->last_round_min_rtt_ms, thresh;

	cc->round_rtt_samples++;
	cc->round_min_rtt_ms = cc_min64(cc->round_min_rtt_ms, cc->latest_rtt_ms);
	if (cc->mode != CC_STARTUP || last == INT64_MAX || cc->round_rtt_samples < CC_HS_N_RTT_SAMPLE)
		return;
	thresh = cc_max64(CC_HS_MIN_RTT_THRESH_MS,
			  cc_min64(last / CC_HS_MIN_RTT_DIVISOR, CC_HS_MAX_RTT_THRESH_MS));
	if (cc->round_min_rtt_ms >= last + thresh) {
		cc->filled_pipe = 1;
		cc->mode = CC_DRAIN;
		cc->n_delay_exits++;
	}
}

/* Sets cwnd from the model: 2 BDP (2.89 in STARTUP) and a few packets, within inflight_hi. */
static void cwnd_update(struct cc *cc, uint64_t acked)
{
	uint64_t target = bdp(cc, cc->mode == CC_STARTUP ? CC_STARTUP_GAIN_PCT : CC_CWND_GAIN_PCT);

	if (target == 0) {
		cc->cwnd += acked; /* no model yet: grow as slow start does */
	} else {
		target += (uint64_t)CC_CWND_EXTRA_PKTS * cc->mds;
		if (cc->filled_pipe)
			cc->cwnd = cc->cwnd + acked < target ? cc->cwnd + acked : target;
		else if (cc->cwnd < target)
			cc->cwnd += acked;
	}
	if (cc->cwnd < min_pipe(cc))
		cc->cwnd = min_pipe(cc);
	if (cc->cwnd > cc->inflight_hi)
		cc->cwnd = cc->inflight_hi;
}

void cc_model_update(struct cc *cc, const struct cc_sent *p, uint64_t acked, int sampled, int64_t now)
{
	uint64_t rate = rate_of(cc, p, now);
	int round_start = 0;
	int expired = cc->bbr_min_rtt_ms >= 0 && now - cc->bbr_min_rtt_at_ms > CC_MIN_RTT_WIN_MS;

	/* BBR 4.3.4: a lower sample, or any once the window is over, is the new min RTT */
	if (sampled && (cc->bbr_min_rtt_ms < 0 || cc->latest_rtt_ms <= cc->bbr_min_rtt_ms || expired) &&
	    cc->mode != CC_PROBE_RTT) {
		cc->bbr_min_rtt_ms = cc->latest_rtt_ms;
		cc->bbr_min_rtt_at_ms = now;
	} else if (sampled && cc->latest_rtt_ms < cc->bbr_min_rtt_ms) {
		cc->bbr_min_rtt_ms = cc->latest_rtt_ms; /* PROBE_RTT lowered it */
	}
	/* a round trip ends when a packet sent after it began is acked */
	if (p->delivered >= cc->next_round_delivered) {
		cc->next_round_delivered = cc->delivered;
		cc->round++;
		round_start = 1;
		cc->bw_round[cc->round % CC_BW_ROUNDS] = 0;
		/* BBRv2: a round without a cut lets inflight_hi grow back by 1/4, till it binds no more */
		if (cc->inflight_hi != UINT64_MAX && cc->round > cc->cut_round + 1) {
			cc->inflight_hi += cc->inflight_hi / 4;
			if (bdp(cc, CC_CWND_GAIN_PCT) > 0 && cc->inflight_hi > 2 * bdp(cc, CC_CWND_GAIN_PCT))
				cc->inflight_hi = UINT64_MAX;
		}
	}
	if (round_start) {
		cc->last_round_min_rtt_ms = cc->round_min_rtt_ms;
		cc->round_min_rtt_ms = INT64_MAX;
		cc->round_rtt_samples = 0;
	}
	if (sampled)
		startup_delay(cc);
	if (rate > 0)
		cc->rate_sample = rate;
	bw_update(cc, rate, p->app_limited);
	mode_update(cc, round_start, p->app_limited, expired, now);
	cwnd_update(cc, acked);
}
