/* cc.c - RTT estimation, loss detection (count, time, PTO), NewReno that tells random loss from congestion, and pacing for one peer path. */
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
	cc->ca_acked = 0;
	cc->have_limited = 0;
	cc->episode_lost = 0;
	cc->rate_cap = 0;
	cc->loss_avg = 0;
	cc->path_pkts = 0;
	cc->cut_young = 0;
	/* RFC 9002 7.2: min(10 * mds, max(14720, 2 * mds)) */
	iw = 2 * (uint64_t)mds > CC_INITIAL_WINDOW_MIN_BYTES ? 2 * (uint64_t)mds : CC_INITIAL_WINDOW_MIN_BYTES;
	if (iw > (uint64_t)CC_INITIAL_WINDOW_PKTS * mds)
		iw = (uint64_t)CC_INITIAL_WINDOW_PKTS * mds;
	cc->cwnd = iw;
	cc->ssthresh = UINT64_MAX;
	cc->recovery_start_ms = -1;
	cc->tokens_mb = (int64_t)CC_PACING_BURST_PKTS * mds * 1000;
	cc->tokens_ms = now;
}

void cc_init(struct cc *cc, uint32_t mds, int64_t max_ack_delay_ms, int64_t now)
{
	memset(cc, 0, sizeof(*cc));
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
	return cc->bytes_in_flight >= cc->cwnd ? 0 : cc->cwnd - cc->bytes_in_flight;
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

uint64_t cc_pacing_rate(const struct cc *cc)
{
	uint64_t rtt = (uint64_t)max64(srtt(cc), 1);
	/* RFC 9002 7.7: N = 1.25; twice in slow start, as Linux paces, so the pacer never slows the doubling */
	uint64_t gain_quarters = cc->cwnd < cc->ssthresh ? 8 : 5;
	uint64_t rate = cc->cwnd * 1000 * gain_quarters / 4 / rtt;

	return cc->rate_cap && rate > cc->rate_cap ? cc->rate_cap : rate;
}

/* The most tokens the bucket holds: a few packets, or 2 ms of sending at high rates. */
static int64_t bucket_mb(const struct cc *cc)
{
	int64_t pkts = (int64_t)CC_PACING_BURST_PKTS * cc->mds * 1000;
	int64_t two_ms = (int64_t)cc_pacing_rate(cc) * 2;

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
	cc->count++;
	cc->largest_sent = pn;
	cc->have_sent = 1;
	cc->bytes_in_flight += bytes;
	cc->last_ack_eliciting_ms = now;
	/*
	 * RFC 9002 7.8: the window grows only while it limits the sender: in
	 * slow start once half of it is used (as Linux judges it), else when
	 * it is full to within three packets. Every packet up to this one
	 * belongs to a flight that filled the window.
	 */
	if (cc->cwnd < cc->ssthresh ? cc->bytes_in_flight * 2 >= cc->cwnd
				    : cc->bytes_in_flight + 3 * (uint64_t)cc->mds >= cc->cwnd) {
		cc->limited_pn = pn;
		cc->have_limited = 1;
	}
	refill(cc, now);
	cc->tokens_mb -= (int64_t)bytes * 1000;
	if (cc->tokens_mb < -bucket_mb(cc))
		cc->tokens_mb = -bucket_mb(cc); /* probes may overdraw; not without bound */
	if (cc->probes > 0)
		cc->probes--;
	return (int)slot;
}

void cc_on_sent_ack_only(struct cc *cc, uint64_t pn)
{
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

/* One more packet's fate (lost 1, acked 0) in the moving average of the loss rate. */
static void loss_sample(struct cc *cc, int lost)
{
	cc->loss_avg += (((int64_t)lost << 16) - cc->loss_avg) / (1 << CC_LOSS_AVG_SHIFT);
	cc->path_pkts++;
}

/*
 * Returns 1 when a loss now looks random rather than congestive (cc.h
 * says why this differs from NewReno): the path is known, its RTT shows
 * no queue, and few of the recent packets were lost.
 */
static int loss_is_random(const struct cc *cc)
{
	int64_t queue_ms = max64(CC_QUEUE_MIN_MS, cc->min_rtt_ms / 8);

	if (!cc->have_rtt || cc->path_pkts < CC_RANDOM_LOSS_MIN_PKTS)
		return 0;
	if (cc->loss_avg > (1 << 16) / CC_RANDOM_LOSS_MAX_INV)
		return 0;
	return cc->smoothed_rtt_ms <= cc->min_rtt_ms + queue_ms;
}

/* Takes the ACK of one packet: out of flight, and the window grows (RFC 9002 7.3.1, 7.3.3). */
static void on_packet_acked(struct cc *cc, const struct cc_sent *s)
{
	cc->bytes_in_flight -= s->bytes;
	loss_sample(cc, 0);
	if (in_recovery(cc, s->sent_ms) || !cc->have_limited || s->pn > cc->limited_pn)
		return;
	if (cc->cwnd < cc->ssthresh) {
		cc->cwnd += s->bytes; /* slow start: one byte per byte acknowledged */
		return;
	}
	/* congestion avoidance: one datagram per window acknowledged */
	cc->ca_acked += s->bytes;
	if (cc->ca_acked >= cc->cwnd) {
		cc->ca_acked -= cc->cwnd;
		cc->cwnd += cc->mds;
	}
}

/* A packet sent at sent_ms was lost: start a recovery period unless one covers it (RFC 9002 7.3.2). */
static void congestion_event(struct cc *cc, int64_t sent_ms, int64_t now)
{
	if (in_recovery(cc, sent_ms))
		return;
	if (loss_is_random(cc)) {
		cc->n_random++;
		if (cc->cut_young && cc->ssthresh != UINT64_MAX) {
			/* the young path's cut was a guess; the loss rate says random now */
			cc->cut_young = 0;
			cc->ssthresh = UINT64_MAX;
			cc->n_resumed++;
		}
		return;
	}
	cc->cut_young = !cc->have_rtt || cc->path_pkts < CC_RANDOM_LOSS_MIN_PKTS;
	cc->recovery_start_ms = now;
	cc->episode++;
	cc->episode_lost = 0;
	cc->undo_cwnd = cc->cwnd;
	cc->undo_ssthresh = cc->ssthresh;
	cc->n_recoveries++;
	/* kLossReductionFactor = 0.5 */
	cc->ssthresh = cc->cwnd / 2;
	if (cc->ssthresh < min_window(cc))
		cc->ssthresh = min_window(cc);
	cc->cwnd = cc->ssthresh;
	cc->ca_acked = 0;
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
		    cc->cwnd < cc->undo_cwnd) {
			cc->cwnd = cc->undo_cwnd;
			cc->ssthresh = cc->undo_ssthresh;
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
			nlost++;
			loss_sample(cc, 1);
			if (cc->have_rtt && s->sent_ms > cc->first_rtt_sample_ms) {
				if (pc_first < 0)
					pc_first = i;
				pc_last = i;
			}
			ev->lost(ev->ctx, (cc->head + i) % CC_SENT_MAX, s->pn);
			congestion_event(cc, s->sent_ms, now);
			remember_lost(cc, s->pn);
			cc->episode_lost++;
		} else {
			cc->loss_time_ms = min64(cc->loss_time_ms, s->sent_ms + delay);
		}
	}
	if (nlost > 0 && pc_first >= 0 && pc_last > pc_first &&
	    persistent(cc, (uint32_t)pc_first, (uint32_t)pc_last)) {
		/* RFC 9002 7.6.2: back to the minimum window, and a fresh min_rtt (5.2) */
		cc->n_persistent++;
		cc->cwnd = min_window(cc);
		cc->ca_acked = 0;
		cc->recovery_start_ms = -1;
		cc->episode_lost = 0; /* a collapse is not undone */
		cc->min_rtt_ms = cc->latest_rtt_ms;
	}
	trim(cc);
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
	size_t r;
	int newly = 0;

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
			on_packet_acked(cc, s);
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
	/* RFC 9002 5.1: a sample only when the largest acknowledged is newly acknowledged (and on this path) */
	if (largest_newly && now >= largest_sent_ms && largest_sent_ms >= cc->path_start_ms)
		rtt_sample(cc, now - largest_sent_ms, ack_delay_ms, now);
	if (newly > 0) {
		cc->pto_count = 0; /* RFC 9002 6.2.1: an ACK resets the backoff */
		cc->probes = 0;
	}
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
