/* cc_impl.h - what cc.c (the model of the path, the window, the pacer) and cc_loss.c (RFC 9002's RTT, loss and probe timeout) share. Not the module's API (cc.h). */
#ifndef P2PCHAT_CC_IMPL_H
#define P2PCHAT_CC_IMPL_H

#include <stdint.h>

#include "cc.h"

static inline int64_t cc_max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static inline int64_t cc_min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* The window floor, kMinimumWindow (RFC 9002 7.2), in bytes. */
static inline uint64_t cc_min_window(const struct cc *cc)
{
	return (uint64_t)CC_MINIMUM_WINDOW_PKTS * cc->mds;
}

/* cc_loss.c: the RTT the timers use: smoothed, or kInitialRtt before any sample (RFC 9002 6.2.2). */
int64_t cc_srtt(const struct cc *cc);

/* cc.c: the model, window and pacer of a fresh path at now (cc->mds set): STARTUP, the initial window. */
void cc_model_path(struct cc *cc, int64_t now);

/* cc.c: packet s of bytes leaves at now: its delivery-rate state is noted, the pacer's tokens spent. */
void cc_model_sent(struct cc *cc, struct cc_sent *s, int64_t now);

/* cc.c: packet s is acknowledged at now: its bytes are delivered (rate estimation 3.3). */
void cc_model_delivered(struct cc *cc, const struct cc_sent *s, int64_t now);

/*
 * cc.c: updates the model after an ACK: p is the newest packet it acked
 * (a copy), acked the bytes it newly acknowledged, sampled whether it
 * gave an RTT sample (latest_rtt_ms).
 */
void cc_model_update(struct cc *cc, const struct cc_sent *p, uint64_t acked, int sampled, int64_t now);

/* cc.c: returns 1 when the losses since a packet left (s_inflight in flight, s_lost lost before) say too much was in flight. */
int cc_model_overfull(const struct cc *cc, uint64_t s_inflight, uint64_t s_lost);

/* cc.c: a recovery period starts: cwnd is bounded by inflight_hi (7/10 of s_inflight), STARTUP ends; remembered for an undo. */
void cc_model_cut(struct cc *cc, uint64_t s_inflight);

/* cc.c: every loss of the period was spurious: the cut is undone. */
void cc_model_undo(struct cc *cc);

/* cc.c: persistent congestion (RFC 9002 7.6.2) at now: the minimum window, the model anew. */
void cc_model_collapse(struct cc *cc, int64_t now);

#endif
