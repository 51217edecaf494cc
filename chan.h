/* chan.h - the reliable peer channel: ordered, exactly-once chat lines over lossy UDP. */
#ifndef P2PCHAT_CHAN_H
#define P2PCHAT_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

/*
 * A line is cut into DATA fragments of at most PROTO_FRAG_MAX bytes with
 * consecutive sequence numbers; the last one carries PROTO_DATA_END. The
 * receiver acknowledges every DATA with an ACK (cumulative + 32-bit
 * selective bitmap), buffers what arrives out of order within the window,
 * drops duplicates, and hands over whole lines in order. The sender keeps a
 * retransmission timer per fragment (RFC 6298: SRTT, RTTVAR, Karn's rule,
 * exponential backoff) and resends a fragment at once when later ones are
 * acknowledged past it (fast retransmit, CHAN_DUP_THRESH).
 */

#define CHAN_WINDOW 32          /* fragments in flight; also the receiver's reorder window and the SACK width */
#define CHAN_QUEUE 128          /* fragments held by the sender, in flight or waiting; a full queue refuses lines */
#define CHAN_RTO_INIT_MS 500    /* before any RTT sample; RFC 6298 says 1 s, but we punched the path a moment ago */
#define CHAN_RTO_MIN_MS 100     /* RFC 6298 asks 1 s for TCP; chat lines are tiny and NATs are near */
#define CHAN_RTO_MAX_MS 4000    /* backoff ceiling */
/*
 * A fragment sent once is sent again at once, without waiting for its
 * timer, when this many fragments sent after it are acknowledged: it was
 * lost, not late (fast retransmit, RFC 5681 3.2, with RFC 6675's count of
 * SACKed segments; 3, as there, so that a little reordering is not taken
 * for a loss).
 */
#define CHAN_DUP_THRESH 3

/* One fragment held by the sender. */
struct chan_seg {
	uint32_t seq;
	uint32_t msg_id;        /* the line it belongs to */
	uint8_t flags;          /* PROTO_DATA_END, PROTO_DATA_ACTION */
	uint16_t len;
	char text[PROTO_FRAG_MAX];
	int64_t first_sent_ms;  /* -1 until first sent */
	int64_t next_send_ms;   /* when to (re)transmit */
	int64_t rto_ms;         /* current timeout for this fragment (doubles on each retransmission) */
	uint32_t tries;         /* transmissions so far */
	int64_t queued_ms;      /* when its line was queued (chan_queue_at), -1 when not said */
	uint8_t acked;          /* selectively acknowledged; freed when the cumulative ack passes it */
};

/* One fragment held by the receiver, waiting for the ones before it. */
struct chan_rseg {
	uint8_t present;
	uint8_t flags;
	uint16_t len;
	char text[PROTO_FRAG_MAX];
};

struct chan {
	/* sender */
	struct chan_seg seg[CHAN_QUEUE]; /* ring: seg[(head + i) % CHAN_QUEUE], i < count */
	uint32_t head, count;
	uint32_t next_seq;               /* sequence number for the next new fragment */
	uint32_t next_msg_id;            /* ids handed out by chan_queue, from 1 */
	int64_t srtt_ms, rttvar_ms;      /* -1 until the first sample */
	int64_t rto_ms;                  /* timeout for new fragments */

	/* receiver */
	uint32_t rcv_next;               /* next sequence number expected in order */
	struct chan_rseg rbuf[CHAN_WINDOW]; /* rcv_next + i at rbuf[(rcv_next + i) % CHAN_WINDOW] */
	char line[PROTO_LINE_MAX];       /* the line being reassembled */
	size_t line_len;
	uint8_t line_overflow;           /* the line grew past PROTO_LINE_MAX: deliver it cut */
};

/* What the channel asks of its owner. Every callback gets ctx. */
struct chan_io {
	void *ctx;
	/* send one DATA on the current path */
	void (*send_data)(void *ctx, uint32_t seq, uint8_t flags, const char *text, size_t len);
	/* send one ACK on the current path */
	void (*send_ack)(void *ctx, uint32_t next_expected, uint32_t sack);
	/* a whole line arrived, in order, exactly once (text is not NUL-terminated) */
	void (*deliver)(void *ctx, uint8_t flags, const char *text, size_t len);
	/* every fragment of line msg_id is acknowledged; may be NULL */
	void (*delivered)(void *ctx, uint32_t msg_id);
	/* line msg_id will never be delivered (chan_fail_all); may be NULL */
	void (*failed)(void *ctx, uint32_t msg_id, uint8_t flags, const char *text, size_t len);
};

/* Sets up an empty channel: sequence numbers start at 0 both ways. */
void chan_init(struct chan *c);

/*
 * Queues one line of len bytes (1..PROTO_LINE_MAX) with flags
 * (PROTO_DATA_ACTION or 0). Nothing is sent until chan_tick.
 * Returns the line's id (> 0), or 0 when the line is empty, too long, or
 * the queue has no room for all of its fragments.
 */
uint32_t chan_queue(struct chan *c, uint8_t flags, const char *text, size_t len);

/*
 * chan_queue with the line's id chosen by the owner (id > 0; 0: the
 * channel's own counter, as chan_queue) and the time it was queued, now
 * (monotonic ms; -1: not said), which chan_oldest_queued_ms reports, so
 * that the owner can give a line a deadline. Returns the id, or 0 as
 * chan_queue does.
 */
uint32_t chan_queue_at(struct chan *c, uint32_t id, uint8_t flags, const char *text, size_t len,
		       int64_t now);

/*
 * Returns when the oldest line held was queued (chan_queue_at's now), or -1
 * when no line is held or its time was not said.
 */
int64_t chan_oldest_queued_ms(const struct chan *c);

/* Returns how many more fragments the queue can take. */
uint32_t chan_room(const struct chan *c);

/* Returns the number of lines queued and not yet fully acknowledged. */
uint32_t chan_pending(const struct chan *c);

/*
 * Sends what is due at now: new fragments while fewer than CHAN_WINDOW are
 * in flight, and retransmissions whose timer ran out. Call it only while
 * the peer has a working path. Returns the next time it wants to be
 * called (monotonic ms), or INT64_MAX when nothing waits.
 */
int64_t chan_tick(struct chan *c, int64_t now, const struct chan_io *io);

/*
 * Takes an ACK: frees every fragment below next_expected and marks those
 * the bitmap names; updates the RTT estimate from fragments sent once
 * (Karn). Calls io->delivered for each line now wholly acknowledged.
 * A fragment sent once with CHAN_DUP_THRESH later ones acknowledged is
 * made due at now: the next chan_tick sends it again. Ignores
 * acknowledgements of sequence numbers never sent.
 */
void chan_on_ack(struct chan *c, uint32_t next_expected, uint32_t sack, int64_t now,
		 const struct chan_io *io);

/*
 * Takes one DATA fragment: answers it with io->send_ack (always, even for
 * a duplicate, since the earlier ACK may have been lost), buffers it if it
 * is ahead within the window, drops it if it is a duplicate or too far
 * ahead, and calls io->deliver for every line completed in order.
 */
void chan_on_data(struct chan *c, uint32_t seq, uint8_t flags, const char *text, size_t len,
		  const struct chan_io *io);

/*
 * Returns the time the oldest unacknowledged fragment was first sent, or -1
 * when none is in flight: the owner declares the path dead when this is
 * too long ago.
 */
int64_t chan_oldest_unacked_ms(const struct chan *c);

/*
 * Starts a new send epoch (the owner picked a new epoch number): every
 * unacknowledged fragment is renumbered from 0, in the same order, and
 * will be sent again as if never sent; the RTT estimate is kept.
 */
void chan_restart_send(struct chan *c);

/*
 * The peer started a new send epoch: forget the receive side (buffered
 * fragments, a half-assembled line); the next sequence expected is 0.
 */
void chan_restart_recv(struct chan *c);

/*
 * The path came back after a silence (the owner noticed it dead and found
 * it again): every fragment sent and not yet acknowledged is due at `now`
 * (ms), its backed-off timeout back at the channel's RTO, rather than
 * waiting out a backoff of up to CHAN_RTO_MAX_MS that counted the dead
 * path's losses.
 */
void chan_resend_now(struct chan *c, int64_t now);

/*
 * Drops every queued line, calling io->failed once per line (with its
 * first fragment's text, up to PROTO_FRAG_MAX bytes), oldest first. A
 * half-acknowledged line counts as failed. The owner starts a new send
 * epoch (chan_restart_send) before it sends again.
 */
void chan_fail_all(struct chan *c, const struct chan_io *io);

#endif
