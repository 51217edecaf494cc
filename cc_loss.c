/* cc_loss.c - RFC 9002 for one peer path: the packets in flight, RTT estimation, loss detection by count and by time (RFC 8985's reordering window), recovery periods, persistent congestion, and the probe timeout. */
#include "cc_impl.h"

#include <string.h>

/* Returns the i-th remembered packet, counting from the oldest. */
static struct cc_sent *at(struct cc *cc, uint32_t i)
{
	return &cc->sent[(cc->head + i) % CC_SENT_MAX];
}

/* Sets the RTT, loss detection and recovery state of a fresh path, then the model's (cc.c). */
static void path_fresh(struct cc *cc, uint32_t mds, int64_t now)
{
	cc->mds = mds;
	cc->latest_rtt_ms = cc->min_rtt_ms = cc->smoothed_rtt_ms = cc->rttvar_ms = 0;
	cc->have_rtt = 0;
	cc->initial_rtt_ms = CC_INITIAL_RTT_MS;
	cc->first_rtt_sample_ms = -1;
	cc->pto_count = 0;
	cc->probes = 0;
	cc->reordering_seen = 0;
	cc->reo_mult = 1;
	cc->reo_persist = 0;
	cc->episode_lost = 0;
	cc->recovery_start_ms = -1;
	cc_model_path(cc, now);
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

void cc_set_mds(struct cc *cc, uint32_t mds)
{
	cc->mds = mds;
	if (cc->cwnd < cc_min_window(cc))
		cc->cwnd = cc_min_window(cc);
}

int64_t cc_srtt(const struct cc *cc)
{
	return cc->have_rtt ? cc->smoothed_rtt_ms : cc->initial_rtt_ms;
}

int64_t cc_pto_ms(const struct cc *cc)
{
	int64_t var = cc->have_rtt ? cc->rttvar_ms : cc->initial_rtt_ms / 2;

	/* RFC 9002 6.2.1 */
	return cc_srtt(cc) + cc_max64(4 * var, CC_GRANULARITY_MS) + cc->max_ack_delay_ms;
}

int64_t cc_loss_delay_ms(const struct cc *cc)
{
	int64_t rtt = cc_max64(cc->latest_rtt_ms, cc_srtt(cc));

	/*
	 * RFC 9002 6.1.2: kTimeThreshold * max(smoothed_rtt, latest_rtt), that
	 * is rtt + rtt/8; the rtt/8 is RACK's reordering window (RFC 8985 6.2),
	 * which a spurious loss widens to rtt * reo_mult / 8.
	 */
	return cc_max64(rtt + rtt * (CC_TIME_THRESHOLD_EIGHTHS - 8) * cc->reo_mult / 8,
		     CC_GRANULARITY_MS);
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
	cc_model_sent(cc, s, now);
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

void cc_on_sent_probe(struct cc *cc, uint64_t pn, int64_t now)
{
	cc_on_sent_ack_only(cc, pn, now);
	if (cc->probes > 0)
		cc->probes--;
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
	cc->min_rtt_ms = cc_min64(cc->min_rtt_ms, latest);
	/* the peer's reported delay, never more than it promised, never below min_rtt */
	ack_delay = cc_min64(ack_delay, cc->max_ack_delay_ms);
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

/*
 * A packet (sent at sent_ms with s_inflight bytes in flight and s_lost
 * lost before) was lost: when the losses since it left say the path is
 * overfull, and no recovery period covers it, start one (RFC 9002 7.3.2)
 * and let the model bound its window (cc.h). Random loss changes nothing.
 */
static void congestion_event(struct cc *cc, int64_t sent_ms, uint64_t s_inflight, uint64_t s_lost,
			     int64_t now)
{
	if (in_recovery(cc, sent_ms))
		return;
	if (!cc_model_overfull(cc, s_inflight, s_lost)) {
		cc->n_random++;
		return;
	}
	cc->recovery_start_ms = now;
	cc->episode++;
	cc->episode_lost = 0;
	cc->n_recoveries++;
	cc_model_cut(cc, s_inflight);
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
		if (l->episode == cc->episode && cc->episode_lost > 0 && --cc->episode_lost == 0)
			cc_model_undo(cc);
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
			cc->loss_time_ms = cc_min64(cc->loss_time_ms, s->sent_ms + delay);
		}
	}
	if (nlost > 0 && pc_first >= 0 && pc_last > pc_first &&
	    persistent(cc, (uint32_t)pc_first, (uint32_t)pc_last)) {
		/* RFC 9002 7.6.2: a fresh min_rtt (5.2); the window and the model start over */
		cc->n_persistent++;
		cc->recovery_start_ms = -1;
		cc->episode_lost = 0; /* a collapse is not undone */
		cc->min_rtt_ms = cc->latest_rtt_ms;
		cc_model_collapse(cc, now);
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

/* What one ACK newly acknowledged (ack_ranges): counts, the newest packet, the largest's send time. */
struct ack_walk {
	int newly;            /* ack-eliciting packets newly acknowledged */
	int have_newest;
	struct cc_sent newest; /* a copy of the most recently sent of them (rate estimation 3.3) */
	int largest_newly;    /* the ACK's largest was among them (or an ack-only one, see ack_rtt) */
	int64_t largest_sent_ms;
};

/*
 * Marks every packet in flight that the ranges name as acknowledged and
 * tells ev->acked; the largest is the ACK's largest number, prev_largest
 * and had_acked what was acknowledged before it.
 */
static void ack_ranges(struct cc *cc, const struct cc_range *ranges, size_t n, uint64_t largest,
		       uint64_t prev_largest, int had_acked, int64_t now, const struct cc_events *ev,
		       struct ack_walk *w)
{
	for (size_t r = 0; r < n; r++) {
		/* walk the ring from the range's low end; numbers not in it (ack-only) are skipped */
		for (uint32_t pos = lower_bound(cc, ranges[r].lo); pos < cc->count; pos++) {
			struct cc_sent *s = at(cc, pos);
			uint64_t pn = s->pn;

			if (pn > ranges[r].hi)
				break;
			if (s->state != CC_IN_FLIGHT)
				continue; /* acked before, or lost: check_spurious sees to those */
			s->state = CC_ACKED;
			w->newly++;
			/* RFC 8985 6.2: a packet acknowledged after a later one was overtaken */
			if (had_acked && pn < prev_largest)
				cc->reordering_seen = 1;
			if (pn == largest) {
				w->largest_newly = 1;
				w->largest_sent_ms = s->sent_ms;
			}
			cc->bytes_in_flight -= s->bytes;
			cc->n_acked++;
			cc_model_delivered(cc, s, now);
			/* the rate is the newest flight's: the packet sent last (rate estimation 3.3) */
			if (!w->have_newest || s->delivered >= w->newest.delivered) {
				w->newest = *s;
				w->have_newest = 1;
			}
			ev->acked(ev->ctx, (cc->head + pos) % CC_SENT_MAX, pn);
		}
	}
}

/* Packets declared lost that the ranges name, in the ring or dropped from it already: spurious losses. */
static void ack_lost(struct cc *cc, const struct cc_range *ranges, size_t n, const struct cc_events *ev)
{
	for (size_t r = 0; r < n; r++)
		for (uint32_t i = 0; i < CC_LOST_HISTORY; i++) {
			const struct cc_lost *l = &cc->lost_hist[i];

			if (l->used && l->pn >= ranges[r].lo && l->pn <= ranges[r].hi)
				check_spurious(cc, l->pn, ev);
		}
}

/*
 * RFC 9002 5.1: a sample only when the largest acknowledged is newly
 * acknowledged (and on this path), and something ack-eliciting is. An
 * ack-only largest is new when it is above the largest before. Returns
 * 1 when a sample was taken.
 */
static int ack_rtt(struct cc *cc, const struct ack_walk *w, uint64_t largest, int new_largest,
		   int64_t ack_delay_ms, int64_t now)
{
	int64_t sent_ms = w->largest_newly ? w->largest_sent_ms : -1;

	if (!w->largest_newly && w->newly > 0 && new_largest &&
	    cc->ack_only[largest % CC_ACK_ONLY_TIMES].pn == largest)
		sent_ms = cc->ack_only[largest % CC_ACK_ONLY_TIMES].sent_ms;
	if (sent_ms < 0 || now < sent_ms || sent_ms < cc->path_start_ms)
		return 0;
	rtt_sample(cc, now - sent_ms, ack_delay_ms, now);
	return 1;
}

int cc_on_ack(struct cc *cc, const struct cc_range *ranges, size_t n, int64_t ack_delay_ms,
	      int64_t now, const struct cc_events *ev)
{
	uint64_t largest = 0, prev_largest = cc->largest_acked;
	uint64_t delivered_before = cc->delivered;
	int had_acked = cc->have_acked, sampled;
	struct ack_walk w = { 0 };

	if (n == 0 || names_unsent(cc, ranges, n))
		return -1;
	for (size_t r = 0; r < n; r++)
		if (ranges[r].hi > largest)
			largest = ranges[r].hi;
	ack_ranges(cc, ranges, n, largest, prev_largest, had_acked, now, ev, &w);
	ack_lost(cc, ranges, n, ev);
	if (!cc->have_acked || largest > cc->largest_acked)
		cc->largest_acked = largest;
	cc->have_acked = 1;
	sampled = ack_rtt(cc, &w, largest, !had_acked || largest > prev_largest, ack_delay_ms, now);
	if (w.newly > 0) {
		cc->pto_count = 0; /* RFC 9002 6.2.1: an ACK resets the backoff */
		cc->probes = 0;
	}
	/* the model first, so that a collapse below (RFC 9002 7.6.2) has the last word */
	if (w.have_newest && w.newest.sent_ms >= cc->path_start_ms)
		cc_model_update(cc, &w.newest, cc->delivered - delivered_before, sampled, now);
	detect_lost(cc, now, ev);
	trim(cc);
	return w.newly;
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
	if (shift > 0 && pto > cc_max64(CC_PTO_MAX_MS, cc_pto_ms(cc)))
		pto = cc_max64(CC_PTO_MAX_MS, cc_pto_ms(cc));
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

void cc_seed_rtt(struct cc *cc, int64_t rtt_ms)
{
	if (!cc->have_rtt && rtt_ms > 0)
		cc->initial_rtt_ms = rtt_ms;
}

void cc_path_revived(struct cc *cc)
{
	/* RFC 9000 9.4: a path that works again starts its loss recovery afresh */
	cc->pto_count = 0;
	if (cc->probes == 0)
		cc->probes = 1;
}
