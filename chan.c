/* chan.c - the reliable peer channel: fragments, ACKs, retransmission timers, reassembly. */
#include "chan.h"

#include <string.h>

/*
 * Sender: the ring seg[] holds whole lines, oldest first, with consecutive
 * sequence numbers. A fragment stays in the ring until every fragment of
 * its line is acknowledged, even when it was acknowledged itself long ago:
 * after a new epoch (chan_restart_send) the peer has forgotten any half
 * line, so the whole line must go again, and chan_fail_all can still show
 * the line's first words.
 *
 * Fragments are sent in ring order, so the ones sent at least once are
 * always a prefix of the ring.
 *
 * Receiver: rbuf[] holds the fragments that arrived ahead of rcv_next;
 * line[] collects the line being put together, in order.
 */

#define CHAN_CLOCK_G_MS 1 /* RFC 6298 G: our clock counts whole milliseconds */

/* Returns 1 when sequence number a comes before b (RFC 1982 serial arithmetic). */
static int seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Returns the i-th fragment held, counting from the oldest. */
static struct chan_seg *seg_at(struct chan *c, uint32_t i)
{
	return &c->seg[(c->head + i) % CHAN_QUEUE];
}

static const struct chan_seg *seg_at_const(const struct chan *c, uint32_t i)
{
	return &c->seg[(c->head + i) % CHAN_QUEUE];
}

void chan_init(struct chan *c)
{
	memset(c, 0, sizeof(*c));
	c->next_msg_id = 1;
	c->srtt_ms = -1;
	c->rttvar_ms = -1;
	c->rto_ms = CHAN_RTO_INIT_MS;
}

uint32_t chan_room(const struct chan *c)
{
	return CHAN_QUEUE - c->count;
}

uint32_t chan_pending(const struct chan *c)
{
	uint32_t i, lines = 0;

	/* Every line held has exactly one END fragment, its last. */
	for (i = 0; i < c->count; i++)
		if (seg_at_const(c, i)->flags & PROTO_DATA_END)
			lines++;
	return lines;
}

uint32_t chan_queue(struct chan *c, uint8_t flags, const char *text, size_t len)
{
	return chan_queue_at(c, 0, flags, text, len, -1);
}

uint32_t chan_queue_at(struct chan *c, uint32_t id, uint8_t flags, const char *text, size_t len,
		       int64_t now)
{
	uint32_t nfrag, i;
	size_t off = 0;

	if (len == 0 || len > PROTO_LINE_MAX)
		return 0;
	nfrag = (uint32_t)((len + PROTO_FRAG_MAX - 1) / PROTO_FRAG_MAX);
	if (chan_room(c) < nfrag)
		return 0; /* all or nothing: half a line is worse than none */

	if (id == 0) {
		id = c->next_msg_id++;
		if (c->next_msg_id == 0)
			c->next_msg_id = 1; /* 0 means "refused" */
	}

	for (i = 0; i < nfrag; i++) {
		struct chan_seg *s = seg_at(c, c->count);
		size_t n = len - off < PROTO_FRAG_MAX ? len - off : PROTO_FRAG_MAX;

		s->seq = c->next_seq++;
		s->msg_id = id;
		s->flags = flags & PROTO_DATA_ACTION;
		if (i == nfrag - 1)
			s->flags |= PROTO_DATA_END;
		s->len = (uint16_t)n;
		memcpy(s->text, text + off, n);
		s->first_sent_ms = -1;
		s->next_send_ms = 0;
		s->rto_ms = c->rto_ms;
		s->tries = 0;
		s->acked = 0;
		s->queued_ms = now;
		off += n;
		c->count++;
	}
	return id;
}

/* Returns the position of the oldest fragment not acknowledged, or c->count. */
static uint32_t first_unacked(const struct chan *c)
{
	uint32_t i;

	for (i = 0; i < c->count; i++)
		if (!seg_at_const(c, i)->acked)
			break;
	return i;
}

/* Puts one fragment on the wire and arms its timer. */
static void transmit(struct chan_seg *s, int64_t now, const struct chan_io *io)
{
	if (s->tries == 0) {
		s->first_sent_ms = now;
	} else {
		/* RFC 6298 5.5: back off on every retransmission */
		s->rto_ms *= 2;
		if (s->rto_ms > CHAN_RTO_MAX_MS)
			s->rto_ms = CHAN_RTO_MAX_MS;
	}
	s->tries++;
	s->next_send_ms = now + s->rto_ms;
	io->send_data(io->ctx, s->seq, s->flags, s->text, s->len);
}

int64_t chan_tick(struct chan *c, int64_t now, const struct chan_io *io)
{
	int64_t next = INT64_MAX;
	uint32_t i, oldest;

	/*
	 * Only fragments less than CHAN_WINDOW past the oldest unacknowledged
	 * one may be in flight: the receiver buffers that far ahead and no
	 * further, and the ACK bitmap is that wide.
	 */
	oldest = first_unacked(c);
	for (i = oldest; i < c->count && i - oldest < CHAN_WINDOW; i++) {
		struct chan_seg *s = seg_at(c, i);

		if (s->acked)
			continue;
		if (s->tries == 0) {
			/* take the timeout from the estimate as it is now, not at queueing */
			s->rto_ms = c->rto_ms;
			transmit(s, now, io);
		} else if (s->next_send_ms <= now) {
			transmit(s, now, io);
		}
		if (s->next_send_ms < next)
			next = s->next_send_ms;
	}
	return next;
}

/* Folds one round-trip sample into SRTT and RTTVAR and sets the RTO (RFC 6298 section 2). */
static void rtt_sample(struct chan *c, int64_t r)
{
	int64_t var4;

	if (c->srtt_ms < 0) {
		c->srtt_ms = r;
		c->rttvar_ms = r / 2;
	} else {
		int64_t err = c->srtt_ms > r ? c->srtt_ms - r : r - c->srtt_ms;

		/* beta = 1/4 and alpha = 1/8; RTTVAR first, from the old SRTT */
		c->rttvar_ms = (3 * c->rttvar_ms + err) / 4;
		c->srtt_ms = (7 * c->srtt_ms + r) / 8;
	}
	var4 = 4 * c->rttvar_ms;
	c->rto_ms = c->srtt_ms + (var4 > CHAN_CLOCK_G_MS ? var4 : CHAN_CLOCK_G_MS);
	if (c->rto_ms < CHAN_RTO_MIN_MS)
		c->rto_ms = CHAN_RTO_MIN_MS;
	if (c->rto_ms > CHAN_RTO_MAX_MS)
		c->rto_ms = CHAN_RTO_MAX_MS;
}

/* Returns the sequence number of the oldest fragment never sent (next_seq if all were). */
static uint32_t send_end(const struct chan *c)
{
	uint32_t i;

	for (i = 0; i < c->count; i++)
		if (seg_at_const(c, i)->tries == 0)
			return seg_at_const(c, i)->seq;
	return c->next_seq;
}

/* Returns 1 when an ACK speaks of a sequence number we never sent: a stale or lying peer. */
static int ack_claims_unsent(const struct chan *c, uint32_t next_expected, uint32_t sack)
{
	uint32_t end = send_end(c);
	int top;

	if (seq_before(end, next_expected))
		return 1;
	for (top = 31; top >= 0; top--) {
		if (sack & ((uint32_t)1 << top))
			return !seq_before(next_expected + 1 + (uint32_t)top, end);
	}
	return 0;
}

/* Returns 1 when the ACK (next_expected, sack) says the peer holds seq. */
static int ack_covers(uint32_t seq, uint32_t next_expected, uint32_t sack)
{
	uint32_t d;

	if (seq_before(seq, next_expected))
		return 1;
	d = seq - next_expected;
	return d >= 1 && d <= 32 && (sack & ((uint32_t)1 << (d - 1)));
}

/* Frees the lines at the head of the ring whose fragments are all acknowledged. */
static void free_done_lines(struct chan *c, const struct chan_io *io)
{
	while (c->count > 0) {
		uint32_t i, n = 0;
		uint32_t id = seg_at(c, 0)->msg_id;

		for (i = 0; i < c->count; i++) {
			const struct chan_seg *s = seg_at(c, i);

			if (!s->acked)
				return;
			if (s->flags & PROTO_DATA_END) {
				n = i + 1;
				break;
			}
		}
		if (n == 0)
			return; /* cannot happen: lines are queued whole */
		c->head = (c->head + n) % CHAN_QUEUE;
		c->count -= n;
		if (io->delivered)
			io->delivered(io->ctx, id);
	}
}

/*
 * Fast retransmit: makes due at now every fragment sent once that has
 * CHAN_DUP_THRESH fragments acknowledged after it. Fragments go out in
 * ring order, so those after it in the ring were sent after it: their
 * ACKs came back and its did not. Only a first transmission is resent this
 * way; should the copy be lost too, its timer (backed off) takes over, so
 * a path that loses everything is not flooded.
 */
static void mark_lost(struct chan *c, int64_t now)
{
	uint32_t i, acked_after = 0;

	/* From the newest back: acked_after counts the acknowledged ones past i. */
	for (i = c->count; i-- > 0;) {
		struct chan_seg *s = seg_at(c, i);

		if (s->acked) {
			acked_after++;
		} else if (s->tries == 1 && acked_after >= CHAN_DUP_THRESH && s->next_send_ms > now) {
			s->next_send_ms = now;
		}
	}
}

void chan_on_ack(struct chan *c, uint32_t next_expected, uint32_t sack, int64_t now,
		 const struct chan_io *io)
{
	uint32_t i;
	int64_t sample_sent = -1;

	if (ack_claims_unsent(c, next_expected, sack))
		return;

	for (i = 0; i < c->count; i++) {
		struct chan_seg *s = seg_at(c, i);

		if (s->acked || !ack_covers(s->seq, next_expected, sack))
			continue;
		s->acked = 1;
		/*
		 * Karn's rule: an ACK for a fragment sent twice may answer either
		 * copy, so only fragments sent once give a sample. Of those, the
		 * one sent last is most likely the one this ACK answers.
		 */
		if (s->tries == 1 && s->first_sent_ms > sample_sent)
			sample_sent = s->first_sent_ms;
	}
	if (sample_sent >= 0 && now >= sample_sent)
		rtt_sample(c, now - sample_sent);
	mark_lost(c, now);
	free_done_lines(c, io);
}

/* Appends one in-order fragment to the line; hands the line over when it ends. */
static void take_fragment(struct chan *c, uint8_t flags, const char *text, size_t len,
			  const struct chan_io *io)
{
	size_t n = len;

	if (n > PROTO_LINE_MAX - c->line_len) {
		n = PROTO_LINE_MAX - c->line_len;
		c->line_overflow = 1; /* the peer broke the 4096-byte limit: keep what fits */
	}
	memcpy(c->line + c->line_len, text, n);
	c->line_len += n;

	if (flags & PROTO_DATA_END) {
		/* END belongs to the fragment; the line keeps its other flags */
		io->deliver(io->ctx, flags & (uint8_t)~PROTO_DATA_END, c->line, c->line_len);
		c->line_len = 0;
		c->line_overflow = 0;
	}
}

/* Returns the bitmap of fragments buffered past rcv_next: bit i is rcv_next + 1 + i. */
static uint32_t sack_bits(const struct chan *c)
{
	uint32_t i, sack = 0;

	/* the window ends at rcv_next + CHAN_WINDOW - 1, so the top bit stays 0 */
	for (i = 0; i + 1 < CHAN_WINDOW; i++)
		if (c->rbuf[(c->rcv_next + 1 + i) % CHAN_WINDOW].present)
			sack |= (uint32_t)1 << i;
	return sack;
}

void chan_on_data(struct chan *c, uint32_t seq, uint8_t flags, const char *text, size_t len,
		  const struct chan_io *io)
{
	/*
	 * Before rcv_next: a duplicate, already taken. At or past rcv_next +
	 * CHAN_WINDOW: no room to keep it; the sender will send it again.
	 * Either way the ACK below tells the sender where we are.
	 */
	if (!seq_before(seq, c->rcv_next) && seq - c->rcv_next < CHAN_WINDOW &&
	    len <= PROTO_FRAG_MAX) {
		struct chan_rseg *r = &c->rbuf[seq % CHAN_WINDOW];

		if (!r->present) {
			r->present = 1;
			r->flags = flags;
			r->len = (uint16_t)len;
			memcpy(r->text, text, len);
		}
	}

	for (;;) {
		struct chan_rseg *r = &c->rbuf[c->rcv_next % CHAN_WINDOW];

		if (!r->present)
			break;
		r->present = 0;
		c->rcv_next++;
		take_fragment(c, r->flags, r->text, r->len, io);
	}

	io->send_ack(io->ctx, c->rcv_next, sack_bits(c));
}

int64_t chan_oldest_queued_ms(const struct chan *c)
{
	/* Lines are held in the order they were queued: the first is the oldest. */
	return c->count > 0 ? seg_at_const(c, 0)->queued_ms : -1;
}

int64_t chan_oldest_unacked_ms(const struct chan *c)
{
	uint32_t i;

	for (i = 0; i < c->count; i++) {
		const struct chan_seg *s = seg_at_const(c, i);

		if (s->tries == 0)
			break;
		if (!s->acked)
			return s->first_sent_ms;
	}
	return -1;
}

void chan_restart_send(struct chan *c)
{
	uint32_t i;

	/*
	 * The peer forgets its receive side when it sees our new epoch, so
	 * even fragments it acknowledged must go again: their lines are not
	 * complete over there any more.
	 */
	for (i = 0; i < c->count; i++) {
		struct chan_seg *s = seg_at(c, i);

		s->seq = i;
		s->first_sent_ms = -1;
		s->next_send_ms = 0;
		s->rto_ms = c->rto_ms;
		s->tries = 0;
		s->acked = 0;
	}
	c->next_seq = c->count;
}

void chan_restart_recv(struct chan *c)
{
	uint32_t i;

	for (i = 0; i < CHAN_WINDOW; i++)
		c->rbuf[i].present = 0;
	c->rcv_next = 0;
	c->line_len = 0;
	c->line_overflow = 0;
}

void chan_resend_now(struct chan *c, int64_t now)
{
	uint32_t i;

	for (i = 0; i < c->count; i++) {
		struct chan_seg *s = seg_at(c, i);

		if (s->tries > 0 && !s->acked) {
			s->rto_ms = c->rto_ms;
			s->next_send_ms = now;
		}
	}
}

void chan_fail_all(struct chan *c, const struct chan_io *io)
{
	uint32_t i;

	for (i = 0; i < c->count; i++) {
		const struct chan_seg *s = seg_at(c, i);
		int starts_line = i == 0 || (seg_at(c, i - 1)->flags & PROTO_DATA_END);

		if (starts_line && io->failed)
			io->failed(io->ctx, s->msg_id, s->flags & (uint8_t)~PROTO_DATA_END,
				   s->text, s->len);
	}
	c->head = 0;
	c->count = 0;
}
