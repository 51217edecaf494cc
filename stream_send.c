/* stream_send.c - the stream layer's sending side: what cc says of our packets (acknowledged, lost), the scheduler, packets put together, the tick. */
#include "stream_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- what cc says of our packets ---- */

/* Drops the lost pieces of stream id. */
void stream_drop_lost(struct stream_conn *c, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < c->lost_top; i++) {
		if (c->lost[i].used && c->lost[i].id == id) {
			c->lost[i].used = 0;
			c->nlost--;
		}
	}
}

/* Queues [off, end) of stream id (and its FIN) to be sent again. */
static void add_lost(struct stream_conn *c, uint64_t id, uint64_t off, uint64_t end, int fin,
		     uint64_t pn)
{
	struct stream *s = stream_find(c, id);
	struct stream_lost *l;
	uint32_t i;

	if (s == NULL || s->reset_state)
		return;
	/* room is certain: frames in flight plus pieces queued never pass STREAM_LOST_MAX */
	for (i = 0; i < STREAM_LOST_MAX && c->lost[i].used; i++)
		;
	if (i == STREAM_LOST_MAX)
		return;
	l = &c->lost[i];
	l->used = 1;
	l->id = id;
	l->orig_off = l->off = off;
	l->end = end;
	l->fin = (uint8_t)fin;
	l->pn = pn;
	if (i >= c->lost_top)
		c->lost_top = i + 1;
	c->nlost++;
	s->nlost++;
}

static void free_lost(struct stream_conn *c, struct stream_lost *l)
{
	struct stream *s = stream_find(c, l->id);

	l->used = 0;
	c->nlost--;
	if (s != NULL)
		s->nlost--;
	while (c->lost_top > 0 && !c->lost[c->lost_top - 1].used)
		c->lost_top--;
}

/* The peer holds [lo, hi) of s (and the FIN with it). Returns -1 when the range could not be noted. */
static int mark_acked(struct stream *s, uint64_t lo, uint64_t hi, int fin)
{
	if (hi > s->snd_una &&
	    stream_rset_add(&s->snd_acked, lo > s->snd_una ? lo : s->snd_una, hi) < 0)
		return -1;
	if (fin)
		s->fin_acked = 1;
	s->snd_una = stream_rset_run(&s->snd_acked, s->snd_una);
	stream_rset_trim(&s->snd_acked, s->snd_una);
	return 0;
}

/*
 * The peer has our ACK that went down to lo: it knows what we hold below,
 * so we stop repeating it (RFC 9000 13.2.4), and what comes from below it
 * now is old news, taken for a duplicate.
 */
static void ack_acked(struct stream_conn *c, uint64_t lo)
{
	if (lo <= c->rcvd_floor)
		return;
	c->rcvd_floor = lo;
	while (c->nrcvd > 1 && c->rcvd[c->nrcvd - 1].hi < lo)
		c->nrcvd--;
	if (c->rcvd[c->nrcvd - 1].lo < lo && c->rcvd[c->nrcvd - 1].hi >= lo)
		c->rcvd[c->nrcvd - 1].lo = lo;
}

static void cb_acked(void *ctx, uint32_t slot, uint64_t pn)
{
	struct stream_conn *c = ctx;
	struct stream_rec *rec = &c->recs[slot];
	uint32_t i;

	for (i = 0; i < rec->n; i++) {
		const struct stream_fref *fr = &rec->f[i];
		struct stream *s = stream_find(c, fr->id);

		if (stream_is_data(fr->type)) {
			c->frames_in_flight--;
			/* too scattered to note: send it again rather than forget it */
			if (s != NULL && !s->reset_state &&
			    mark_acked(s, fr->off, fr->off + fr->len, fr->type == STREAM_F_STREAM_FIN) < 0)
				add_lost(c, fr->id, fr->off, fr->off + fr->len, 0, pn);
		} else if (s != NULL && fr->type == STREAM_F_RESET && s->reset_state == HALF_IN_FLIGHT) {
			s->reset_state = HALF_ACKED;
		} else if (s != NULL && fr->type == STREAM_F_STOP && s->stop_state == HALF_IN_FLIGHT) {
			s->stop_state = HALF_ACKED;
		}
	}
	rec->n = 0;
	if (rec->has_ack)
		ack_acked(c, rec->ack_lo);
}

static void cb_lost(void *ctx, uint32_t slot, uint64_t pn)
{
	struct stream_conn *c = ctx;
	struct stream_rec *rec = &c->recs[slot];
	uint32_t i;

	/* RFC 9000 13.3: what a lost packet carried is sent again, in new packets, as it is now */
	for (i = 0; i < rec->n; i++) {
		const struct stream_fref *fr = &rec->f[i];
		struct stream *s = stream_find(c, fr->id);

		if (stream_is_data(fr->type)) {
			c->frames_in_flight--;
			add_lost(c, fr->id, fr->off, fr->off + fr->len, fr->type == STREAM_F_STREAM_FIN, pn);
		} else if (s == NULL) {
			continue;
		} else if (fr->type == STREAM_F_RESET && s->reset_state == HALF_IN_FLIGHT) {
			s->reset_state = HALF_PENDING;
		} else if (fr->type == STREAM_F_STOP && s->stop_state == HALF_IN_FLIGHT) {
			s->stop_state = HALF_PENDING;
		} else if (fr->type == STREAM_F_MAX_STREAM_DATA && !s->rcv_fin_known) {
			s->max_sd_pending = 1;
		}
	}
	if (rec->max_data)
		c->max_data_pending = 1;
	if (rec->max_streams)
		c->max_streams_pending = 1;
	rec->n = 0;
	rec->max_data = rec->max_streams = rec->has_ack = 0;
}

static void cb_spurious(void *ctx, uint64_t pn)
{
	struct stream_conn *c = ctx;
	uint32_t i;

	/* the packet arrived after all: what is still queued from it need not go again */
	for (i = 0; i < c->lost_top; i++) {
		struct stream_lost *l = &c->lost[i];
		struct stream *s;

		if (!l->used || l->pn != pn)
			continue;
		s = stream_find(c, l->id);
		if (s == NULL || mark_acked(s, l->orig_off, l->end, l->fin) == 0)
			free_lost(c, l);
	}
}

static struct cc_events cc_events(struct stream_conn *c)
{
	struct cc_events ev = { c, cb_acked, cb_lost, cb_spurious };

	return ev;
}

/* Hands an ACK frame to cc, which calls back per packet acked or lost. Returns 0 or STREAM_EPROTO. */
int stream_on_ack(struct stream_conn *c, const struct stream_frame *f, int64_t now)
{
	struct cc_events ev = cc_events(c);

	if (cc_on_ack(&c->cc, f->ranges, f->nranges,
		      (int64_t)stream_min_u64(f->ack_delay_ms, INT32_MAX), now, &ev) < 0)
		return STREAM_EPROTO;
	return 0;
}

/* ---- sending ---- */

/* Returns the new bytes s may send now: written, within its credit and the connection's. */
static uint64_t new_allowed(const struct stream_conn *c, const struct stream *s)
{
	uint64_t n = s->snd_end - s->snd_nxt;

	n = stream_min_u64(n, s->snd_max > s->snd_nxt ? s->snd_max - s->snd_nxt : 0);
	return stream_min_u64(n, c->snd_max_data > c->snd_total ? c->snd_max_data - c->snd_total : 0);
}

static int fin_due(const struct stream *s)
{
	return s->fin_queued && !s->fin_sent && s->snd_nxt == s->snd_end;
}

/* Returns 1 when s has stream data (or a FIN) to send. */
static int sendable(const struct stream_conn *c, const struct stream *s)
{
	if (!s->used || s->reset_state)
		return 0;
	return s->nlost > 0 || new_allowed(c, s) > 0 || fin_due(s);
}

static int control_due(const struct stream *s)
{
	return s->used && (s->reset_state == HALF_PENDING || s->stop_state == HALF_PENDING ||
			   s->max_sd_pending);
}

/* Returns 1 when anything ack-eliciting waits to be sent. */
static int has_work(const struct stream_conn *c)
{
	uint32_t i;

	if (c->max_data_pending || c->max_streams_pending || c->ping_pending)
		return 1;
	for (i = 0; i < c->nslots; i++)
		if (control_due(&c->streams[i]) || sendable(c, &c->streams[i]))
			return 1;
	return 0;
}

/*
 * The scheduler: the sendable stream of the lowest urgency value, and
 * among those the first after the one served last (round robin).
 */
static struct stream *pick(struct stream_conn *c)
{
	struct stream *best = NULL;
	uint32_t k, besti = 0;

	for (k = 1; k <= c->nslots; k++) {
		uint32_t i = (c->rr + k) % c->nslots;
		struct stream *s = &c->streams[i];

		if (sendable(c, s) && (best == NULL || s->urgency < best->urgency)) {
			best = s;
			besti = i;
		}
	}
	if (best != NULL)
		c->rr = besti;
	return best;
}

/* A packet being put together. */
struct build {
	struct stream_wr w;
	struct stream_rec rec;
	int eliciting;
};

/* Notes a frame that needs resending if the packet is lost. Returns 0, or -1 when the record is full. */
static int note(struct build *b, uint8_t type, uint64_t id, uint64_t off, uint16_t len)
{
	struct stream_fref *fr;

	if (b->rec.n == STREAM_PKT_FRAMES)
		return -1;
	fr = &b->rec.f[b->rec.n++];
	fr->type = type;
	fr->id = id;
	fr->off = off;
	fr->len = len;
	fr->fin = type == STREAM_F_STREAM_FIN;
	return 0;
}

/* Appends frame f if it fits. Returns 1 when it was written. */
static int put(struct build *b, const struct stream_frame *f)
{
	struct stream_wr save = b->w;

	stream_encode_frame(&b->w, f);
	if (b->w.err) {
		b->w = save;
		return 0;
	}
	if (f->type != STREAM_F_ACK)
		b->eliciting = 1;
	return 1;
}

/* Appends the ACK of what we received, with as many ranges as fit. */
static void put_ack(struct stream_conn *c, struct build *b, int64_t now)
{
	struct stream_frame f;
	uint32_t n;

	if (c->nrcvd == 0)
		return;
	memset(&f, 0, sizeof(f));
	f.type = STREAM_F_ACK;
	f.ack_delay_ms = (uint64_t)(now > c->largest_rcvd_ms ? now - c->largest_rcvd_ms : 0);
	memcpy(f.ranges, c->rcvd, c->nrcvd * sizeof(c->rcvd[0]));
	for (n = c->nrcvd; n > 0; n--) {
		f.nranges = n;
		if (put(b, &f)) {
			c->unacked_eliciting = 0;
			c->ack_deadline_ms = INT64_MAX;
			b->rec.has_ack = 1;
			b->rec.ack_lo = f.ranges[n - 1].lo;
			return;
		}
	}
}

/* Appends the control frames due, while they fit. */
static void put_control(struct stream_conn *c, struct build *b)
{
	struct stream_frame f;
	uint32_t i;

	memset(&f, 0, sizeof(f));
	if (c->max_data_pending) {
		f.type = STREAM_F_MAX_DATA;
		f.max = c->rcv_max_data;
		if (put(b, &f)) {
			c->max_data_pending = 0;
			b->rec.max_data = 1;
		}
	}
	if (c->max_streams_pending) {
		f.type = STREAM_F_MAX_STREAMS;
		f.max = c->peer_max_streams;
		if (put(b, &f)) {
			c->max_streams_pending = 0;
			b->rec.max_streams = 1;
		}
	}
	for (i = 0; i < c->nslots && b->rec.n < STREAM_PKT_FRAMES; i++) {
		struct stream *s = &c->streams[i];

		if (!control_due(s))
			continue;
		f.id = s->id;
		if (s->reset_state == HALF_PENDING && b->rec.n < STREAM_PKT_FRAMES) {
			f.type = STREAM_F_RESET;
			f.code = s->reset_code;
			f.final_size = s->reset_final;
			if (put(b, &f)) {
				note(b, f.type, s->id, 0, 0);
				s->reset_state = HALF_IN_FLIGHT;
			}
		}
		if (s->stop_state == HALF_PENDING && b->rec.n < STREAM_PKT_FRAMES) {
			f.type = STREAM_F_STOP;
			f.code = s->stop_code;
			if (put(b, &f)) {
				note(b, f.type, s->id, 0, 0);
				s->stop_state = HALF_IN_FLIGHT;
			}
		}
		if (s->max_sd_pending && b->rec.n < STREAM_PKT_FRAMES) {
			f.type = STREAM_F_MAX_STREAM_DATA;
			f.max = s->rcv_max;
			if (put(b, &f)) {
				note(b, f.type, s->id, 0, 0);
				s->max_sd_pending = 0;
			}
		}
	}
}

/* Returns the bytes of data a STREAM frame for (id, off) can carry in what is left of the packet. */
static size_t data_room(const struct build *b, uint64_t id, uint64_t off)
{
	size_t left = b->w.cap - b->w.off;
	/* type, id, offset, and a 2-byte length (a packet is under 16384 bytes) */
	size_t hdr = 1 + stream_varint_len(id) + stream_varint_len(off) + 2;

	return left > hdr ? left - hdr : 0;
}

/* Appends a STREAM frame of s: [off, off + n) from the send ring, with fin. */
static void put_data(struct stream_conn *c, struct build *b, struct stream *s, uint64_t off, size_t n,
		     int fin)
{
	uint32_t B = c->cfg.stream_buf;
	size_t pos = (size_t)(off % B), first = (size_t)stream_min_u64(n, B - pos);
	uint8_t type = fin ? STREAM_F_STREAM_FIN : STREAM_F_STREAM;

	/* the data may wrap around the ring: two copies, no staging buffer */
	stream_wr_u8(&b->w, type);
	stream_wr_varint(&b->w, s->id);
	stream_wr_varint(&b->w, off);
	stream_wr_varint(&b->w, n);
	stream_wr_bytes(&b->w, s->sbuf + pos, first);
	stream_wr_bytes(&b->w, s->sbuf, n - first);
	note(b, type, s->id, off, (uint16_t)n);
	b->eliciting = 1;
	c->frames_in_flight++;
	c->stats.bytes_sent += n;
}

/* Returns the lost piece of s with the lowest offset, or NULL. */
static struct stream_lost *first_lost(struct stream_conn *c, const struct stream *s)
{
	struct stream_lost *best = NULL;
	uint32_t i;

	for (i = 0; i < c->lost_top; i++) {
		struct stream_lost *l = &c->lost[i];

		if (l->used && l->id == s->id && (best == NULL || l->off < best->off))
			best = l;
	}
	return best;
}

/*
 * Appends one frame of s: lost data first (minus what was acknowledged
 * since), else new data within credit, else a lone FIN. Returns 1 when a
 * frame was written or a lost piece turned out needless, 0 when nothing fit.
 */
static int put_stream(struct stream_conn *c, struct build *b, struct stream *s)
{
	struct stream_lost *l = s->nlost > 0 ? first_lost(c, s) : NULL;
	uint64_t a, e;
	size_t n;

	if (b->rec.n == STREAM_PKT_FRAMES)
		return 0;
	if (l != NULL) {
		uint64_t from = l->off > s->snd_una ? l->off : s->snd_una;

		if (!stream_rset_first_gap(&s->snd_acked, from, l->end, &a, &e)) {
			/* all of it acknowledged since; only a FIN may be left to send */
			if (l->fin && !s->fin_acked) {
				if (data_room(b, s->id, l->end) == 0)
					return 0;
				put_data(c, b, s, l->end, 0, 1);
			}
			free_lost(c, l);
			return 1;
		}
		n = (size_t)stream_min_u64(e - a, data_room(b, s->id, a));
		if (n == 0)
			return 0;
		put_data(c, b, s, a, n, l->fin && a + n == l->end);
		c->stats.bytes_resent += n;
		l->off = a + n;
		if (l->off >= l->end)
			free_lost(c, l);
		return 1;
	}
	n = (size_t)stream_min_u64(new_allowed(c, s), data_room(b, s->id, s->snd_nxt));
	if (n == 0 && !fin_due(s))
		return 0;
	if (n == 0 && data_room(b, s->id, s->snd_nxt) == 0)
		return 0;
	put_data(c, b, s, s->snd_nxt, n, s->fin_queued && s->snd_nxt + n == s->snd_end);
	if (s->fin_queued && s->snd_nxt + n == s->snd_end)
		s->fin_sent = 1;
	s->snd_nxt += n;
	c->snd_total += n;
	return 1;
}

/* Fills the rest of the packet with stream data, as the scheduler orders it. */
static void put_streams(struct stream_conn *c, struct build *b)
{
	int idle = 0;

	/* every frame may become a lost piece: keep the queue's room certain */
	while (c->nlost + c->frames_in_flight < STREAM_LOST_MAX && idle < 2) {
		struct stream *s = pick(c);

		if (s == NULL)
			return;
		if (put_stream(c, b, s))
			idle = 0;
		else
			idle++; /* that stream's frame did not fit; another may, but not forever */
		if (b->rec.n == STREAM_PKT_FRAMES || b->w.cap - b->w.off < 24)
			return;
	}
}

/* Sends one packet: an ACK if ack, ack-eliciting frames if elicit. Returns 1 when one was sent. */
static int send_packet(struct stream_conn *c, int64_t now, int ack, int elicit, int probe)
{
	uint8_t buf[STREAM_PKT_MAX];
	struct build b;
	int slot, full = c->cc.count >= CC_SENT_MAX;

	memset(&b, 0, sizeof(b));
	b.w.p = buf;
	b.w.cap = c->pkt_max;
	stream_wr_varint(&b.w, c->next_pn);
	if (ack)
		put_ack(c, &b, now);
	if (elicit) {
		/* frames resent when lost need cc's record of the packet: none while cc holds CC_SENT_MAX */
		if (!full) {
			put_control(c, &b);
			put_streams(c, &b);
		}
		if ((probe || c->ping_pending) && !b.eliciting) {
			struct stream_frame ping = { .type = STREAM_F_PING };

			put(&b, &ping);
		}
	}
	if (b.w.err || b.w.off <= stream_varint_len(c->next_pn))
		return 0;
	if (b.eliciting && full) {
		/*
		 * A probe with CC_SENT_MAX packets in flight: a PING cc cannot
		 * remember, but its ACK, above every packet cc holds, lets the
		 * rules declare the lost ones lost (RFC 9002 6.1), and room
		 * returns. Held back, nothing left and nothing came back: PTO
		 * after PTO went by and the connection was silent for good.
		 */
		c->ping_pending = 0;
		cc_on_sent_probe(&c->cc, c->next_pn, now);
		c->stats.probes++;
	} else if (b.eliciting) {
		c->ping_pending = 0;
		slot = cc_on_sent(&c->cc, c->next_pn, (uint32_t)b.w.off, now);
		/* the caller checked the ring has room */
		if (slot >= 0)
			c->recs[slot] = b.rec;
		if (probe)
			c->stats.probes++;
	} else {
		cc_on_sent_ack_only(&c->cc, c->next_pn, now);
		c->stats.acks_only++;
	}
	c->next_pn++;
	c->stats.pkts_sent++;
	c->io.send(c->io.ctx, buf, b.w.off);
	return 1;
}

/* Frees the streams both of whose halves are done; tells of sent data and room. */
void stream_sweep(struct stream_conn *c)
{
	uint32_t i;

	for (i = 0; i < c->nslots; i++) {
		struct stream *s = &c->streams[i];
		uint64_t id = s->id;

		if (!s->used)
			continue;
		if (s->want_writable && !s->reset_state &&
		    s->snd_una + c->cfg.stream_buf > s->snd_end) {
			s->want_writable = 0;
			stream_notify(c, id, STREAM_EV_WRITABLE, 0);
		}
		if (!s->send_done && !s->reset_state && s->fin_acked && s->snd_una == s->snd_end) {
			s->send_done = 1;
			stream_notify(c, id, STREAM_EV_SENT, 0);
		}
		if (s->reset_state == HALF_ACKED)
			s->send_done = 1;
		if (!s->send_done || !s->recv_done)
			continue;
		stream_drop_lost(c, id);
		free(s->sbuf);
		memset(s, 0, sizeof(*s));
		if (!stream_is_local(c, id)) {
			/* RFC 9000 4.6: a closed stream of the peer's makes room for another */
			c->peer_closed++;
			c->peer_max_streams = c->peer_closed + c->cfg.max_streams;
			c->max_streams_pending = 1;
		}
		stream_notify(c, id, STREAM_EV_CLOSED, 0);
	}
}

int64_t stream_tick(struct stream_conn *c, int64_t now)
{
	struct cc_events ev = cc_events(c);
	int64_t next, pace = 0;
	int guard;

	if (c->error)
		return INT64_MAX;
	cc_tick(&c->cc, now, &ev);
	for (guard = 0; guard < 100000; guard++) {
		int ack_due = c->ack_deadline_ms <= now;
		int probe = c->cc.probes > 0;
		int work = has_work(c);
		int ring = c->cc.count < CC_SENT_MAX;
		int can = 0;

		if (probe)
			can = 1; /* a PING alone when cc holds CC_SENT_MAX (send_packet) */
		else if (ring && work && cc_room(&c->cc) > 0) {
			pace = cc_pacing_at(&c->cc, c->pkt_max, now);
			can = pace == 0;
		}
		if (!can && !ack_due)
			break;
		/* an ACK owed rides along with data even before it is due */
		if (!send_packet(c, now, ack_due || c->unacked_eliciting > 0, can, probe))
			break;
	}
	/* nothing left to send though the window had room: the rates measured now are the app's */
	if (!has_work(c) && cc_room(&c->cc) > 0)
		cc_app_limited(&c->cc);
	stream_sweep(c);
	next = c->ack_deadline_ms;
	if (cc_deadline(&c->cc) < next)
		next = cc_deadline(&c->cc);
	if (has_work(c) && cc_room(&c->cc) > 0) {
		pace = cc_pacing_at(&c->cc, c->pkt_max, now);
		if (pace == 0)
			pace = now + 1; /* something fit nowhere this turn; look again in a tick */
		if (pace < next)
			next = pace;
	}
	return next;
}
