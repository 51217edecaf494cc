/* cc.c - RTT estimation, loss detection (count, time, PTO), a BBR-like model of the path (delivery rate, bandwidth and min RTT filters), and pacing for one peer path. */
#include "cc.h"

#include <string.h>

/* Returns the i-th remembered packet, counting from the oldest. */
static struct cc_sent *at(struct cc *cc, uint32_t i)
{
	return &cc->sent[(cc->head + i) % CC_SENT_MAX];
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The window floor, kMinimumWindow (RFC 9002 7.2). */
static uint64_t min_window(const struct cc *cc)
{
	return (uint64_t)CC_MINIMUM_WINDOW_PKTS * cc->mds;
}

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
}

/* Sets the RTT, window, recovery, reordering and pacing state of a fresh path. */
static void path_fresh(struct cc *cc, uint32_t mds, int64_t now)
{
	uint64_t iw;

	cc->mds = mds;
	cc->latest_rtt_ms = cc->min_rtt_ms = cc->smoothed_rtt_ms = cc->rttvar_ms = 0;
	cc->have_rtt = 0;
	cc->first_rtt_sample_ms = -1;
	cc->pto_count = 0;
	cc->probes = 0;
	cc->reordering_seen = 0;
	cc->reo_mult = 1;
	cc->reo_persist = 0;
	cc->episode_lost = 0;
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
	iw = 2 * (uint64_t)mds > CC_INITIAL_WINDOW_MIN_BYTES ? 2 * (uint64_t)mds : CC_INITIAL_WINDOW_MIN_BYTES;
	if (iw > (uint64_t)CC_INITIAL_WINDOW_PKTS * mds)
		iw = (uint64_t)CC_INITIAL_WINDOW_PKTS * mds;
	cc->cwnd = iw;
	cc->recovery_start_ms = -1;
	cc->tokens_mb = (int64_t)iw * 1000; /* the initial window leaves at once (bucket_mb) */
	cc->tokens_ms = now;
}

void cc_init(struct cc *cc, uint32_t mds, int64_t max_ack_delay_ms, int64_t now)
{
	memset(cc, 0, sizeof(*cc));
	for (uint32_t i = 0; i < CC_ACK_ONLY_TIMES; i++) {
		cc->ack_only[i].pn = UINT64_MAX;
		cc->ack_only[i].sent_ms = -1;
	}
	cc->max_ack_delay_ms = max_ack_delay_ms;
	cc->loss_time_ms = INT64_MAX;
	cc->last_ack_eliciting_ms = -1;
	cc->path_start_ms = -1;
	path_fresh(cc, mds, now);
}

void cc_new_path(struct cc *cc, uint32_t mds, int64_t now)
{
	path_fresh(cc, mds, now);
	cc->path_start_ms = now;
	/* what was sent before now is the old path's: a recovery period covers it (RFC 9002 7.3.2) */
	cc->recovery_start_ms = now;
}

void cc_set_rate_cap(struct cc *cc, uint64_t bytes_per_s)
{
	cc->rate_cap = bytes_per_s;
}

void cc_set_mds(struct cc *cc, uint32_t mds)
{
	cc->mds = mds;
	if (cc->cwnd < min_window(cc))
		cc->cwnd = min_window(cc);
}

uint64_t cc_room(const struct cc *cc)
{
	uint64_t w = cc->cwnd;

	/* BBR 4.3.4: PROBE_RTT holds a few packets in flight; the window itself is kept for after */
	if (cc->mode == CC_PROBE_RTT && w > min_pipe(cc))
		w = min_pipe(cc);
	return cc->bytes_in_flight >= w ? 0 : w - cc->bytes_in_flight;
}

/* The RTT the timers use: smoothed, or kInitialRtt before any sample (RFC 9002 6.2.2). */
static int64_t srtt(const struct cc *cc)
{
	return cc->have_rtt ? cc->smoothed_rtt_ms : CC_INITIAL_RTT_MS;
}

int64_t cc_pto_ms(const struct cc *cc)
{
	int64_t var = cc->have_rtt ? cc->rttvar_ms : CC_INITIAL_RTT_MS / 2;

	/* RFC 9002 6.2.1 */
	return srtt(cc) + max64(4 * var, CC_GRANULARITY_MS) + cc->max_ack_delay_ms;
}

int64_t cc_loss_delay_ms(const struct cc *cc)
{
	int64_t rtt = max64(cc->latest_rtt_ms, srtt(cc));

	/*
	 * RFC 9002 6.1.2: kTimeThreshold * max(smoothed_rtt, latest_rtt), that
	 * is rtt + rtt/8; the rtt/8 is RACK's reordering window (RFC 8985 6.2),
	 * which a spurious loss widens to rtt * reo_mult / 8.
	 */
	return max64(rtt + rtt * (CC_TIME_THRESHOLD_EIGHTHS - 8) * cc->reo_mult / 8,
		     CC_GRANULARITY_MS);
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
	uint64_t rate;

	if (cc->bw > 0) {
		rate = cc->bw * pacing_gain_pct(cc) / 100 * CC_PACING_MARGIN_PCT / 100;
	} else {
		/* no rate measured yet: the window over the RTT, at STARTUP's gain */
		uint64_t rtt = (uint64_t)max64(srtt(cc), 1);

		rate = cc->cwnd * 1000 * CC_STARTUP_GAIN_PCT / 100 / rtt;
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
		pkts = max64(pkts, (int64_t)cc->cwnd * 1000);
	return max64(pkts, two_ms);
}

/* Fills the bucket for the time since it was last filled. */
static void refill(struct cc *cc, int64_t now)
{
	int64_t cap = bucket_mb(cc);

	if (now <= cc->tokens_ms)
		return;
	/* bytes per second times ms is thousandths of a byte; cap the span so it cannot overflow */
	cc->tokens_mb += (int64_t)cc_pacing_rate(cc) * min64(now - cc->tokens_ms, 1000);
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

int cc_on_sent(struct cc *cc, uint64_t pn, uint32_t bytes, int64_t now)
{
	struct cc_sent *s;
	uint32_t slot;

	if (cc->count == CC_SENT_MAX)
		return -1;
	slot = (cc->head + cc->count) % CC_SENT_MAX;
	s = &cc->sent[slot];
	s->pn = pn;
	s->sent_ms = now;
	s->bytes = bytes;
	s->state = CC_IN_FLIGHT;
	/* draft-cheng-iccrg-delivery-rate-estimation 3.2: a flight starts when nothing is in flight */
	if (cc->bytes_in_flight == 0)
		cc->first_sent_ms = cc->delivered_ms = now;
	s->delivered = cc->delivered;
	s->delivered_ms = cc->delivered_ms;
	s->first_sent_ms = cc->first_sent_ms;
	s->app_limited = cc->app_limited_until != 0;
	s->lost = cc->lost_pkts;
	cc->count++;
	cc->largest_sent = pn;
	cc->have_sent = 1;
	cc->bytes_in_flight += bytes;
	s->inflight = cc->bytes_in_flight;
	cc->last_ack_eliciting_ms = now;
	refill(cc, now);
	cc->tokens_mb -= (int64_t)bytes * 1000;
	if (cc->tokens_mb < -bucket_mb(cc))
		cc->tokens_mb = -bucket_mb(cc); /* probes may overdraw; not without bound */
	if (cc->probes > 0)
		cc->probes--;
	return (int)slot;
}

void cc_on_sent_ack_only(struct cc *cc, uint64_t pn, int64_t now)
{
	cc->ack_only[pn % CC_ACK_ONLY_TIMES].pn = pn;
	cc->ack_only[pn % CC_ACK_ONLY_TIMES].sent_ms = now;
	cc->largest_sent = pn;
	cc->have_sent = 1;
}

/* Returns the position in the ring of the oldest packet numbered pn or more (cc->count if none). */
static uint32_t lower_bound(struct cc *cc, uint64_t pn)
{
	uint32_t lo = 0, hi = cc->count;

	/* the ring is in the order sent, so packet numbers rise along it */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (at(cc, mid)->pn < pn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Drops the acked and lost packets at the head of the ring. */
static void trim(struct cc *cc)
{
	while (cc->count > 0 && at(cc, 0)->state != CC_IN_FLIGHT) {
		cc->head = (cc->head + 1) % CC_SENT_MAX;
		cc->count--;
	}
}

/* Folds one RTT sample in (RFC 9002 5.3). */
static void rtt_sample(struct cc *cc, int64_t latest, int64_t ack_delay, int64_t now)
{
	int64_t adjusted = latest;

	cc->latest_rtt_ms = latest;
	if (!cc->have_rtt) {
		cc->have_rtt = 1;
		cc->first_rtt_sample_ms = now;
		cc->min_rtt_ms = latest;
		cc->smoothed_rtt_ms = latest;
		cc->rttvar_ms = latest / 2;
		return;
	}
	cc->min_rtt_ms = min64(cc->min_rtt_ms, latest);
	/* the peer's reported delay, never more than it promised, never below min_rtt */
	ack_delay = min64(ack_delay, cc->max_ack_delay_ms);
	if (latest >= cc->min_rtt_ms + ack_delay)
		adjusted = latest - ack_delay;
	cc->rttvar_ms = (3 * cc->rttvar_ms + (cc->smoothed_rtt_ms > adjusted ? cc->smoothed_rtt_ms - adjusted
									: adjusted - cc->smoothed_rtt_ms)) / 4;
	cc->smoothed_rtt_ms = (7 * cc->smoothed_rtt_ms + adjusted) / 8;
}

/* Returns 1 when a packet sent at sent_ms belongs to the current recovery period (RFC 9002 7.3.2). */
static int in_recovery(const struct cc *cc, int64_t sent_ms)
{
	return cc->recovery_start_ms >= 0 && sent_ms <= cc->recovery_start_ms;
}

/* Returns the bandwidth-delay product times gain_pct / 100, in bytes; 0 before the model has both. */
static uint64_t bdp(const struct cc *cc, uint64_t gain_pct)
{
	if (cc->bw == 0 || cc->bbr_min_rtt_ms < 0)
		return 0;
	return cc->bw * (uint64_t)max64(cc->bbr_min_rtt_ms, 1) / 1000 * gain_pct / 100;
}

/* Takes the ACK of one packet: out of flight, and its bytes delivered (rate estimation 3.3). */
static void on_packet_acked(struct cc *cc, const struct cc_sent *s, int64_t now)
{
	cc->bytes_in_flight -= s->bytes;
	cc->n_acked++;
	cc->delivered += s->bytes;
	cc->delivered_ms = now;
	if (cc->app_limited_until != 0 && cc->delivered > cc->app_limited_until)
		cc->app_limited_until = 0;
}

/*
 * A packet sent at sent_ms, while s_inflight bytes were in flight and
 * s_lost packets lost before, is lost now. Returns 1 when the losses
 * since say too much was in flight (cc.h: BBRv2's bound), not random.
 */
static int inflight_too_high(const struct cc *cc, uint64_t s_inflight, uint64_t s_lost)
{
	uint64_t lost = cc->lost_pkts - s_lost;

	return lost >= CC_LOSS_MIN_PKTS &&
	       lost * cc->mds * CC_LOSS_THRESH_INV > s_inflight;
}

/*
 * A packet (sent at sent_ms with s_inflight bytes in flight) was lost:
 * when the losses since it left say the path is overfull, and no
 * recovery period covers it, start one (RFC 9002 7.3.2) and bound
 * cwnd by inflight_hi (cc.h). Random loss changes nothing.
 */
static void congestion_event(struct cc *cc, int64_t sent_ms, uint64_t s_inflight, uint64_t s_lost,
			     int64_t now)
{
	uint64_t hi;

	if (in_recovery(cc, sent_ms))
		return;
	if (!inflight_too_high(cc, s_inflight, s_lost)) {
		cc->n_random++;
		return;
	}
	cc->recovery_start_ms = now;
	cc->episode++;
	cc->episode_lost = 0;
	cc->undo_cwnd = cc->cwnd;
	cc->undo_inflight_hi = cc->inflight_hi;
	cc->n_recoveries++;
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
	/* RFC 8985 6.2: a widened reordering window steps back after enough recoveries */
	if (cc->reo_mult > 1 && --cc->reo_persist == 0) {
		cc->reo_mult--;
		cc->reo_persist = CC_REO_WND_PERSIST;
	}
}

/* Remembers pn as declared lost in this recovery period. */
static void remember_lost(struct cc *cc, uint64_t pn)
{
	struct cc_lost *l = &cc->lost_hist[cc->lost_next];

	cc->lost_next = (cc->lost_next + 1) % CC_LOST_HISTORY;
	l->pn = pn;
	l->episode = cc->episode;
	l->used = 1;
}

/*
 * An ACK named pn, which is no longer in flight: if it was declared lost,
 * the loss was spurious (reordering or a late ACK). Widen the reordering
 * window, and undo the window cut if the period had no real loss left.
 */
static void check_spurious(struct cc *cc, uint64_t pn, const struct cc_events *ev)
{
	uint32_t i;

	for (i = 0; i < CC_LOST_HISTORY; i++) {
		struct cc_lost *l = &cc->lost_hist[i];

		if (!l->used || l->pn != pn)
			continue;
		l->used = 0;
		cc->n_spurious++;
		cc->reordering_seen = 1;
		if (cc->reo_mult < CC_REO_MULT_MAX)
			cc->reo_mult++;
		cc->reo_persist = CC_REO_WND_PERSIST;
		if (l->episode == cc->episode && cc->episode_lost > 0 && --cc->episode_lost == 0 &&
		    cc->inflight_hi < cc->undo_inflight_hi) {
			cc->cwnd = cc->cwnd > cc->undo_cwnd ? cc->cwnd : cc->undo_cwnd;
			cc->inflight_hi = cc->undo_inflight_hi;
			cc->n_undone++;
		}
		if (ev->spurious)
			ev->spurious(ev->ctx, pn);
		return;
	}
}

/* Returns the persistent congestion duration (RFC 9002 7.6.1). */
static int64_t pc_duration(const struct cc *cc)
{
	return cc_pto_ms(cc) * CC_PERSISTENT_CONGESTION_THRESHOLD;
}

/*
 * RFC 9002 7.6.2: persistent congestion when two ack-eliciting packets
 * sent at least pc_duration apart, both after the first RTT sample, are
 * lost with every packet sent between them. Positions first..last in the
 * ring are the earliest and latest such packets declared lost just now.
 */
static int persistent(struct cc *cc, uint32_t first, uint32_t last)
{
	uint32_t i;

	if (at(cc, last)->sent_ms - at(cc, first)->sent_ms < pc_duration(cc))
		return 0;
	for (i = first; i <= last; i++)
		if (at(cc, i)->state != CC_LOST)
			return 0;
	return 1;
}

/*
 * RFC 9002 6.1 DetectAndRemoveLostPackets: every packet in flight below
 * the largest acknowledged that the count or the time rule condemns is
 * lost; the earliest time another one could be is kept in loss_time.
 */
static void detect_lost(struct cc *cc, int64_t now, const struct cc_events *ev)
{
	int64_t delay = cc_loss_delay_ms(cc);
	int64_t lost_before = now - delay;
	int64_t pc_first = -1, pc_last = -1;
	uint32_t i, nlost = 0;

	cc->loss_time_ms = INT64_MAX;
	if (!cc->have_acked)
		return;
	for (i = 0; i < cc->count; i++) {
		struct cc_sent *s = at(cc, i);

		if (s->pn > cc->largest_acked)
			break;
		if (s->state != CC_IN_FLIGHT)
			continue;
		if (s->sent_ms <= lost_before ||
		    (!cc->reordering_seen && cc->largest_acked - s->pn >= CC_PACKET_THRESHOLD)) {
			s->state = CC_LOST;
			cc->bytes_in_flight -= s->bytes;
			cc->n_lost++;
			cc->lost_pkts++;
			nlost++;
			if (cc->have_rtt && s->sent_ms > cc->first_rtt_sample_ms) {
				if (pc_first < 0)
					pc_first = i;
				pc_last = i;
			}
			ev->lost(ev->ctx, (cc->head + i) % CC_SENT_MAX, s->pn);
			congestion_event(cc, s->sent_ms, s->inflight, s->lost, now);
			remember_lost(cc, s->pn);
			cc->episode_lost++;
		} else {
			cc->loss_time_ms = min64(cc->loss_time_ms, s->sent_ms + delay);
		}
	}
	if (nlost > 0 && pc_first >= 0 && pc_last > pc_first &&
	    persistent(cc, (uint32_t)pc_first, (uint32_t)pc_last)) {
		/* RFC 9002 7.6.2: back to the minimum window, and a fresh min_rtt (5.2); the model anew */
		cc->n_persistent++;
		cc->cwnd = min_window(cc);
		cc->recovery_start_ms = -1;
		cc->episode_lost = 0; /* a collapse is not undone */
		cc->min_rtt_ms = cc->latest_rtt_ms;
		cc->bbr_min_rtt_ms = cc->latest_rtt_ms;
		cc->bbr_min_rtt_at_ms = now;
		model_fresh(cc);
	}
	trim(cc);
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
	int64_t interval = max64(p->sent_ms - p->first_sent_ms, now - p->delivered_ms);

	cc->first_sent_ms = p->sent_ms;
	if (interval < max64(cc->bbr_min_rtt_ms, 1) || cc->delivered <= p->delivered)
		return 0;
	return (cc->delivered - p->delivered) * 1000 / (uint64_t)interval;
}

/* Takes a rate sample into the max filter of the last CC_BW_ROUNDS rounds. */
static void bw_update(struct cc *cc, uint64_t rate, int app_limited)
{
	uint64_t *slot = &cc->bw_round[cc->round % CC_BW_ROUNDS];
	uint32_t i;

	/* an app-limited rate says the path carries at least that much, never less */
	if (rate > 0 && (!app_limited || rate >= cc->bw) && rate > *slot)
		*slot = rate;
	cc->bw = 0;
	for (i = 0; i < CC_BW_ROUNDS; i++)
		if (cc->bw_round[i] > cc->bw)
			cc->bw = cc->bw_round[i];
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
	int64_t phase_ms = max64(cc->bbr_min_rtt_ms, 1);

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

/*
 * Updates the model after an ACK: p is the newest packet it acked (a
 * copy), acked the bytes it newly acknowledged, sampled whether it gave
 * an RTT sample (latest_rtt_ms).
 */
static void model_update(struct cc *cc, const struct cc_sent *p, uint64_t acked, int sampled,
			 int64_t now)
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
	if (rate > 0)
		cc->rate_sample = rate;
	bw_update(cc, rate, p->app_limited);
	mode_update(cc, round_start, p->app_limited, expired, now);
	cwnd_update(cc, acked);
}

/* Returns 1 when some range names a number above the largest ever sent. */
static int names_unsent(const struct cc *cc, const struct cc_range *ranges, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ranges[i].lo > ranges[i].hi || !cc->have_sent || ranges[i].hi > cc->largest_sent)
			return 1;
	return 0;
}

int cc_on_ack(struct cc *cc, const struct cc_range *ranges, size_t n, int64_t ack_delay_ms,
	      int64_t now, const struct cc_events *ev)
{
	uint64_t largest = 0, prev_largest = cc->largest_acked;
	int had_acked = cc->have_acked, largest_newly = 0;
	int64_t largest_sent_ms = -1;
	struct cc_sent newest = { 0 };
	uint64_t delivered_before = cc->delivered;
	size_t r;
	int newly = 0, have_newest = 0, sampled = 0;

	if (n == 0 || names_unsent(cc, ranges, n))
		return -1;
	for (r = 0; r < n; r++)
		if (ranges[r].hi > largest)
			largest = ranges[r].hi;

	for (r = 0; r < n; r++) {
		uint32_t pos;

		/* walk the ring from the range's low end; numbers not in it (ack-only) are skipped */
		for (pos = lower_bound(cc, ranges[r].lo); pos < cc->count; pos++) {
			struct cc_sent *s = at(cc, pos);
			uint64_t pn = s->pn;

			if (pn > ranges[r].hi)
				break;
			if (s->state != CC_IN_FLIGHT)
				continue; /* acked before, or lost: the loop below sees to those */
			s->state = CC_ACKED;
			newly++;
			/* RFC 8985 6.2: a packet acknowledged after a later one was overtaken */
			if (had_acked && pn < prev_largest)
				cc->reordering_seen = 1;
			if (pn == largest) {
				largest_newly = 1;
				largest_sent_ms = s->sent_ms;
			}
			on_packet_acked(cc, s, now);
			/* the rate is the newest flight's: the packet sent last (rate estimation 3.3) */
			if (!have_newest || s->delivered >= newest.delivered) {
				newest = *s;
				have_newest = 1;
			}
			ev->acked(ev->ctx, (cc->head + pos) % CC_SENT_MAX, pn);
		}
	}
	/* packets declared lost, in the ring or dropped from it already */
	for (r = 0; r < n; r++) {
		uint32_t i;

		for (i = 0; i < CC_LOST_HISTORY; i++) {
			const struct cc_lost *l = &cc->lost_hist[i];

			if (l->used && l->pn >= ranges[r].lo && l->pn <= ranges[r].hi)
				check_spurious(cc, l->pn, ev);
		}
	}

	if (!cc->have_acked || largest > cc->largest_acked)
		cc->largest_acked = largest;
	cc->have_acked = 1;
	/*
	 * RFC 9002 5.1: a sample only when the largest acknowledged is newly
	 * acknowledged (and on this path), and something ack-eliciting is. An
	 * ack-only largest is new when it is above the largest before.
	 */
	if (!largest_newly && newly > 0 && (!had_acked || largest > prev_largest) &&
	    cc->ack_only[largest % CC_ACK_ONLY_TIMES].pn == largest &&
	    cc->ack_only[largest % CC_ACK_ONLY_TIMES].sent_ms >= 0) {
		largest_newly = 1;
		largest_sent_ms = cc->ack_only[largest % CC_ACK_ONLY_TIMES].sent_ms;
	}
	if (largest_newly && now >= largest_sent_ms && largest_sent_ms >= cc->path_start_ms) {
		rtt_sample(cc, now - largest_sent_ms, ack_delay_ms, now);
		sampled = 1;
	}
	if (newly > 0) {
		cc->pto_count = 0; /* RFC 9002 6.2.1: an ACK resets the backoff */
		cc->probes = 0;
	}
	/* the model first, so that a collapse below (RFC 9002 7.6.2) has the last word */
	if (have_newest && newest.sent_ms >= cc->path_start_ms)
		model_update(cc, &newest, cc->delivered - delivered_before, sampled, now);
	detect_lost(cc, now, ev);
	trim(cc);
	return newly;
}

int64_t cc_deadline(const struct cc *cc)
{
	int64_t pto;
	uint32_t shift;

	if (cc->loss_time_ms != INT64_MAX)
		return cc->loss_time_ms;
	if (cc->bytes_in_flight == 0 || cc->last_ack_eliciting_ms < 0)
		return INT64_MAX;
	shift = cc->pto_count < CC_PTO_BACKOFF_MAX ? cc->pto_count : CC_PTO_BACKOFF_MAX;
	pto = cc_pto_ms(cc) << shift;
	/* cc.h: backed off, never more than CC_PTO_MAX_MS (unless one PTO is longer) */
	if (shift > 0 && pto > max64(CC_PTO_MAX_MS, cc_pto_ms(cc)))
		pto = max64(CC_PTO_MAX_MS, cc_pto_ms(cc));
	return cc->last_ack_eliciting_ms + pto;
}

int64_t cc_tick(struct cc *cc, int64_t now, const struct cc_events *ev)
{
	int64_t when = cc_deadline(cc);

	if (when > now)
		return when;
	if (cc->loss_time_ms != INT64_MAX) {
		/* RFC 9002 6.1.2: the loss timer went off: the time rule condemns someone */
		detect_lost(cc, now, ev);
	} else {
		/* RFC 9002 6.2.4: two probes, so that one lost probe is not another PTO */
		cc->pto_count++;
		cc->n_pto++;
		cc->probes = 2;
		/* the next PTO counts from now, whether or not a probe can leave */
		cc->last_ack_eliciting_ms = now;
	}
	return cc_deadline(cc);
}
