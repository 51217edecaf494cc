/* cc.h - loss detection and congestion control for one peer path (RFC 9002, RFC 8985); pure, fake time. */
#ifndef P2PCHAT_CC_H
#define P2PCHAT_CC_H

#include <stddef.h>
#include <stdint.h>

/*
 * What this module does, after RFC 9002 (QUIC loss detection and
 * congestion control), for a sender whose packet numbers never repeat:
 *
 * - It remembers every ack-eliciting packet in flight (number, time sent,
 *   size) in a fixed ring, in the order sent. Packets that carry only ACKs
 *   are not remembered and not counted in flight (RFC 9002 section 3).
 * - RTT: latest, min, smoothed and variance, from the largest packet an
 *   ACK newly acknowledges, less the peer's reported ACK delay (5.3).
 *   Since a number is never sent twice, every sample is unambiguous: no
 *   Karn's rule is needed.
 * - Loss (6.1): a packet is lost when one sent after it was acknowledged
 *   and either CC_PACKET_THRESHOLD later packets were (the count rule), or
 *   it was sent longer ago than the loss delay (the time rule): 9/8 of
 *   max(smoothed, latest RTT), widened as RACK does (RFC 8985 6.2).
 *
 *   Reordering. A path that reorders as often as it drops makes the count
 *   rule declare losses that are not: packet 10 overtaken by 11, 12 and 13
 *   is "lost" by count although it arrives a millisecond later. The time
 *   rule waits instead until the packet is late by more than a fraction of
 *   an RTT, which reordering by jitter rarely is. So, as RACK does (RFC
 *   8985 6.2 step 4), the count rule is used only until reordering is seen
 *   (an ACK newly acknowledges a number below one already acknowledged);
 *   from then on the time rule alone decides. Losing the count rule costs
 *   at most 1/8 RTT of detection delay. When a loss turns out spurious
 *   anyway (a packet declared lost is acknowledged later), the reordering
 *   window grows by one step of RTT/8 (up to one whole RTT; the steps
 *   decay after CC_REO_WND_PERSIST recoveries without a spurious loss),
 *   and if every loss of the current recovery was spurious, the window
 *   cut it made is undone (as RFC 4015, Eifel response, does for TCP).
 * - Probe timeout (6.2): when no ACK comes for a PTO, the owner sends one
 *   or two probe packets regardless of the window; each expiry doubles the
 *   PTO. A PTO does not shrink the window; persistent congestion does.
 * - NewReno (7): slow start from 10 packets, halving on a loss at most
 *   once per recovery period, congestion avoidance by byte counting, the
 *   window collapsed to 2 packets on persistent congestion (7.6: every
 *   packet lost over 3 PTOs), no growth while the sender does not fill
 *   the window (7.8).
 * - Random loss is not congestion (a change to NewReno: RFC 9002 7 lets a
 *   sender use another controller). NewReno takes every loss for a full
 *   queue, so a path that drops packets at random (a lossy radio link,
 *   the NAT lab's 5%) holds it to the Mathis bound, MSS / (RTT sqrt(2p/3)):
 *   about 0.4 Mbit/s at 100 ms and 5%, a hundredth of what the path
 *   carries, while Linux's TCP (CUBIC's beta 0.7 or BBR) keeps going. So a
 *   loss starts a recovery (and halves the window) only when something
 *   says congestion: the path is young (fewer than CC_RANDOM_LOSS_MIN_PKTS
 *   packets: no loss rate to judge by), or the smoothed RTT stands above
 *   min_rtt by more than max(CC_QUEUE_MIN_MS, min_rtt / 8) (a queue is
 *   building: the reasoning of TCP Veno, Fu & Liew 2003, and of BBR), or
 *   more than 1/CC_RANDOM_LOSS_MAX_INV of the recent packets were lost (an
 *   average over about 2^CC_LOSS_AVG_SHIFT packets; BBRv2 draws its line at
 *   2% per round, ours is higher so that 5% random loss is not taken for
 *   congestion). A full drop-tail queue still shows as a higher RTT, a
 *   shallow one as a loss rate, and a dead path as persistent congestion.
 *   A cut made while the path was young is provisional: when a later loss
 *   is judged random, slow start resumes from the window as it is (the
 *   first loss of a lossy path would otherwise leave it in congestion
 *   avoidance at a few packets, growing one packet per RTT: the lab's 5%
 *   path stayed under 1.3 Mbit/s for 8 MB).
 *   The cost: at a shallow-buffered bottleneck shared with Reno flows,
 *   this sender backs off later than they do (at 1/8 loss, not at the
 *   first), and takes more than its share.
 * - Pacing (7.7): a token bucket filled at gain * cwnd / smoothed_rtt
 *   (gain 2 in slow start, so the pacer never holds back the doubling;
 *   5/4 after), so a window never leaves at line rate.
 *
 * Units: time in ms from the owner's monotonic clock, sizes in bytes.
 * RFC 9002 counts time in finer units; whole milliseconds are our clock's
 * granularity (kGranularity below), which is why min_rtt can be 0 on
 * loopback and every division by an RTT uses at least 1 ms.
 */

#define CC_SENT_MAX 4096                /* ack-eliciting packets in flight at most: 4.7 MB at 1168 bytes, the BDP of 190 Mbit/s at 200 ms */
#define CC_INITIAL_RTT_MS 333           /* kInitialRtt, RFC 9002 6.2.2: before any sample */
#define CC_GRANULARITY_MS 1             /* kGranularity, RFC 9002 6.1.2: our clock's tick */
#define CC_PACKET_THRESHOLD 3           /* kPacketThreshold, RFC 9002 6.1.1 (as TCP's three duplicate ACKs) */
#define CC_TIME_THRESHOLD_EIGHTHS 9     /* kTimeThreshold = 9/8, RFC 9002 6.1.2 */
#define CC_REO_MULT_MAX 8               /* reordering window at most 8/8 RTT, as RFC 8985 6.2 caps it at SRTT */
#define CC_REO_WND_PERSIST 16           /* RFC 8985 6.2: recoveries before a widened window steps back */
#define CC_PERSISTENT_CONGESTION_THRESHOLD 3 /* kPersistentCongestionThreshold, RFC 9002 7.6.1 */
#define CC_INITIAL_WINDOW_PKTS 10       /* RFC 9002 7.2: min(10 * mds, max(14720, 2 * mds)) */
#define CC_INITIAL_WINDOW_MIN_BYTES 14720
#define CC_MINIMUM_WINDOW_PKTS 2        /* kMinimumWindow, RFC 9002 7.2 */
#define CC_PTO_BACKOFF_MAX 8            /* PTO doubles at most 8 times (x256): the owner gives up on a dead path long before */
#define CC_PACING_BURST_PKTS 4          /* tokens the pacer saves up at most (or 2 ms of sending, whichever is more) */
#define CC_LOST_HISTORY 256             /* packets declared lost that are remembered, to notice late ACKs of them */
#define CC_LOSS_AVG_SHIFT 8             /* the loss rate is a moving average with gain 1/256: long enough that 5% random loss rarely strays past 1/8 (with 1/64 it did, and cut the window a few times in 16 MB) */
#define CC_RANDOM_LOSS_MIN_PKTS 16      /* packets a path carries (acked or lost) before a loss may be judged random: at 5% loss, 44% of paths lose one of their first 16 (1 - 0.95^16), 96% one of their first 64 */
#define CC_RANDOM_LOSS_MAX_INV 8        /* more than 1/8 of recent packets lost is congestion: 5% random loss stays below with margin (its average over 256 packets has sigma 1%) */
#define CC_QUEUE_MIN_MS 4               /* smoothed RTT this far (or min_rtt / 8) above min_rtt: a queue; above the clock's tick and ACK batching's noise */

/* A range of packet numbers, lo <= hi, both included. */
struct cc_range {
	uint64_t lo, hi;
};

enum cc_state {
	CC_IN_FLIGHT = 1,
	CC_ACKED = 2,
	CC_LOST = 3,
};

/* One ack-eliciting packet sent; stays in the ring until every older one is acked or lost. */
struct cc_sent {
	uint64_t pn;
	int64_t sent_ms;
	uint32_t bytes;
	uint8_t state;        /* enum cc_state */
};

/* A packet declared lost, remembered for a while in case its ACK comes after all. */
struct cc_lost {
	uint64_t pn;
	uint32_t episode; /* the recovery period that counted it */
	uint8_t used;
};

struct cc {
	/* the ring of packets in flight, in the order sent: sent[(head + i) % CC_SENT_MAX] */
	struct cc_sent sent[CC_SENT_MAX];
	uint32_t head, count;
	uint64_t largest_sent;        /* pn of the last packet given to cc_on_sent */
	int have_sent;
	uint64_t largest_acked;       /* of every packet, ack-only ones included */
	int have_acked;
	uint32_t mds;                 /* max_datagram_size: the owner's packet budget */
	int64_t max_ack_delay_ms;     /* the peer's promise: it acknowledges within this */

	/* RTT (RFC 9002 5) */
	int64_t latest_rtt_ms, min_rtt_ms, smoothed_rtt_ms, rttvar_ms;
	int have_rtt;
	int64_t first_rtt_sample_ms;  /* when the first sample came; persistent congestion counts only packets sent after */

	/* loss detection (RFC 9002 6) */
	int64_t loss_time_ms;         /* when the earliest packet not yet lost by time would be; INT64_MAX if none */
	int64_t last_ack_eliciting_ms;/* when the last ack-eliciting packet left, for the PTO */
	uint32_t pto_count;
	uint32_t probes;              /* probe packets owed after a PTO */
	int reordering_seen;          /* RFC 8985 6.2: from then on the count rule is off */
	uint32_t reo_mult;            /* reordering window in eighths of an RTT, 1..CC_REO_MULT_MAX */
	uint32_t reo_persist;         /* recoveries left before reo_mult steps back */
	struct cc_lost lost_hist[CC_LOST_HISTORY];
	uint32_t lost_next;

	/* congestion control (RFC 9002 7, NewReno) */
	uint64_t cwnd, ssthresh, bytes_in_flight;
	uint64_t ca_acked;            /* bytes acknowledged toward the next increase in congestion avoidance */
	uint64_t limited_pn;          /* the last packet sent while the window limited the sender */
	int have_limited;
	int64_t recovery_start_ms;    /* packets sent before it do not start another recovery; -1 when never */
	uint32_t episode;             /* counts recovery periods */
	uint32_t episode_lost;        /* losses of this period not yet shown spurious */
	uint64_t undo_cwnd, undo_ssthresh;

	int64_t path_start_ms;        /* packets sent before belong to an earlier path; -1 on the first */

	/* pacing (RFC 9002 7.7) */
	uint64_t rate_cap;            /* bytes per second, 0 for none */
	int64_t tokens_mb;            /* pacing tokens, in thousandths of a byte */
	int64_t tokens_ms;            /* when they were last filled */

	/* judging a loss random (cc.h above) */
	int64_t loss_avg;             /* recent packets lost, in 1/65536, a moving average */
	uint64_t path_pkts;           /* packets acked or lost on this path */
	int cut_young;                /* the last cut came before the path could judge a loss: provisional */

	/* counters */
	uint64_t n_lost, n_spurious, n_pto, n_persistent, n_recoveries, n_undone;
	uint64_t n_random;            /* losses taken for random: no recovery, no cut */
	uint64_t n_resumed;           /* provisional cuts after which slow start resumed */
};

/* What cc tells its owner about the packets it remembers. Every callback gets ctx. */
struct cc_events {
	void *ctx;
	/* packet pn, remembered in slot, is acknowledged; slot is free after the call */
	void (*acked)(void *ctx, uint32_t slot, uint64_t pn);
	/* packet pn, remembered in slot, is declared lost: resend what it held; slot is free after */
	void (*lost)(void *ctx, uint32_t slot, uint64_t pn);
	/* packet pn, declared lost before, was acknowledged after all; may be NULL */
	void (*spurious)(void *ctx, uint64_t pn);
};

/*
 * Sets up a path with nothing in flight, no RTT sample, the initial
 * window for datagrams of mds bytes (the largest packet the owner will
 * send), and max_ack_delay_ms, the peer's longest ACK delay.
 */
void cc_init(struct cc *cc, uint32_t mds, int64_t max_ack_delay_ms, int64_t now);

/* Changes the packet budget (a move to the relay); the window keeps its size in bytes. */
void cc_set_mds(struct cc *cc, uint32_t mds);

/*
 * Starts over on a new path at now (RFC 9000 9.4): no RTT sample, the
 * initial window for datagrams of mds bytes, no reordering seen, no cap.
 * Packets in flight stay remembered and may still be acknowledged or
 * lost, but they belong to the old path: their ACKs neither give RTT
 * samples nor grow the window, and their loss does not cut it.
 */
void cc_new_path(struct cc *cc, uint32_t mds, int64_t now);

/* Caps the pacing rate at bytes_per_s (0: no cap): a path with a known limit, such as the relay's. */
void cc_set_rate_cap(struct cc *cc, uint64_t bytes_per_s);

/* Returns the bytes the window allows in flight beyond what is in flight now (0 when full). */
uint64_t cc_room(const struct cc *cc);

/*
 * Returns 0 when a packet of bytes may leave at now as the pacer sees it,
 * else the time (ms, > now) when it may.
 */
int64_t cc_pacing_at(struct cc *cc, uint32_t bytes, int64_t now);

/*
 * Remembers an ack-eliciting packet of bytes sent at now with number pn
 * (larger than any before). Returns the slot that now holds it (it stays
 * valid until the acked or lost callback for it), or -1 when CC_SENT_MAX
 * packets are in flight already: the owner must not send it.
 */
int cc_on_sent(struct cc *cc, uint64_t pn, uint32_t bytes, int64_t now);

/*
 * Notes an ack-only packet numbered pn: it takes a number but is never
 * counted in flight (RFC 9002 3). Call it so that an ACK of pn is not
 * taken for an ACK of a number never sent.
 */
void cc_on_sent_ack_only(struct cc *cc, uint64_t pn);

/*
 * Takes one ACK: ranges (n of them, any order, none overlapping) of the
 * packet numbers the peer holds, and the delay it reports (ms) between
 * receiving the largest and sending the ACK. Calls ev->acked for each
 * packet newly acknowledged, then detects losses (ev->lost), updates the
 * RTT, the window and the timers. Returns the number of packets newly
 * acknowledged, or -1 when the ACK names a number never sent (a lying or
 * broken peer: nothing is changed).
 */
int cc_on_ack(struct cc *cc, const struct cc_range *ranges, size_t n, int64_t ack_delay_ms,
	      int64_t now, const struct cc_events *ev);

/*
 * Runs the timers at now: losses by time (ev->lost), and the PTO, which
 * adds probes owed (cc_probes). Returns the next time it wants to be
 * called (ms), or INT64_MAX when nothing is in flight.
 */
int64_t cc_tick(struct cc *cc, int64_t now, const struct cc_events *ev);

/* Returns the time (ms) of the next timer: the loss time or the PTO, or INT64_MAX. */
int64_t cc_deadline(const struct cc *cc);

/* Returns the PTO (ms) without backoff: smoothed + max(4 * rttvar, granularity) + max_ack_delay. */
int64_t cc_pto_ms(const struct cc *cc);

/* Returns the loss delay (ms): how late a packet may be before the time rule declares it lost. */
int64_t cc_loss_delay_ms(const struct cc *cc);

/* Returns the pacing rate in bytes per second. */
uint64_t cc_pacing_rate(const struct cc *cc);

#endif
