/* stream.c - streams over one peer connection: credit, the scheduler, packets, ACKs, resending (the wire is stream_frame.c). */
#include "stream_impl.h"

#include <stdlib.h>
#include <string.h>

/* reset_state and stop_state */
enum {
	HALF_NONE = 0,
	HALF_PENDING = 1,   /* the frame is to be sent (again) */
	HALF_IN_FLIGHT = 2,
	HALF_ACKED = 3,
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Returns 1 for a STREAM frame type, with or without FIN. */
static int is_stream_type(uint8_t type)
{
	return type == STREAM_F_STREAM || type == STREAM_F_STREAM_FIN;
}

/* ---- streams ---- */

static int is_local(const struct stream_conn *c, uint64_t id)
{
	return (id & 1) == c->cfg.role;
}

static struct stream *find(struct stream_conn *c, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < c->nslots; i++)
		if (c->streams[i].used && c->streams[i].id == id)
			return &c->streams[i];
	return NULL;
}

static uint32_t count_open(const struct stream_conn *c, int local)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->nslots; i++)
		if (c->streams[i].used && is_local(c, c->streams[i].id) == local)
			n++;
	return n;
}

/* Takes a free slot for stream id and its buffers. Returns it, or NULL when out of memory. */
static struct stream *stream_new(struct stream_conn *c, uint64_t id, uint8_t urgency)
{
	uint32_t i;
	struct stream *s;
	uint8_t *mem;

	for (i = 0; i < c->nslots && c->streams[i].used; i++)
		;
	if (i == c->nslots)
		return NULL;
	mem = malloc(2 * (size_t)c->cfg.stream_buf);
	if (mem == NULL)
		return NULL;
	s = &c->streams[i];
	memset(s, 0, sizeof(*s));
	s->used = 1;
	s->id = id;
	s->urgency = urgency;
	s->sbuf = mem;
	s->rbuf = mem + c->cfg.stream_buf;
	s->snd_max = STREAM_INITIAL_WINDOW;
	/* the whole buffer is ours to offer at once; the peer knows only the initial window until told */
	s->rcv_max = c->cfg.stream_buf;
	s->max_sd_pending = c->cfg.stream_buf > STREAM_INITIAL_WINDOW;
	return s;
}

/* Drops the lost pieces of stream id. */
static void drop_lost(struct stream_conn *c, uint64_t id)
{
	uint32_t i;

	for (i = 0; i < c->lost_top; i++) {
		if (c->lost[i].used && c->lost[i].id == id) {
			c->lost[i].used = 0;
			c->nlost--;
		}
	}
}

static void event(struct stream_conn *c, uint64_t id, int ev, uint64_t code)
{
	if (c->io.event)
		c->io.event(c->io.ctx, id, ev, code);
}

void stream_config_default(struct stream_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_streams = 16;
	cfg->stream_buf = 1 << 20;
	cfg->conn_window = 2 << 20;
	cfg->pkt_max = STREAM_PKT_MAX;
}

int stream_conn_init(struct stream_conn *c, const struct stream_config *cfg,
		     const struct stream_io *io, int64_t now)
{
	memset(c, 0, sizeof(*c));
	if (cfg->role > 1 || cfg->max_streams < STREAM_INITIAL_MAX_STREAMS ||
	    cfg->max_streams > 1024 || cfg->stream_buf < STREAM_INITIAL_WINDOW ||
	    cfg->stream_buf > (1u << 30) || cfg->conn_window < STREAM_INITIAL_MAX_DATA ||
	    cfg->conn_window > STREAM_VARINT_MAX / 2 || cfg->pkt_max < STREAM_PKT_MIN ||
	    cfg->pkt_max > STREAM_PKT_MAX || io->send == NULL || io->recv == NULL)
		return STREAM_EINVAL;
	c->cfg = *cfg;
	c->io = *io;
	c->nslots = 2 * cfg->max_streams;
	c->streams = calloc(c->nslots, sizeof(*c->streams));
	c->recs = calloc(CC_SENT_MAX, sizeof(*c->recs));
	c->lost = calloc(STREAM_LOST_MAX, sizeof(*c->lost));
	if (c->streams == NULL || c->recs == NULL || c->lost == NULL) {
		stream_conn_free(c);
		return STREAM_ENOMEM;
	}
	c->pkt_max = cfg->pkt_max;
	cc_init(&c->cc, cfg->pkt_max, STREAM_MAX_ACK_DELAY_MS, now);
	c->local_max_streams = STREAM_INITIAL_MAX_STREAMS;
	c->peer_max_streams = cfg->max_streams;
	c->max_streams_pending = cfg->max_streams > STREAM_INITIAL_MAX_STREAMS;
	c->snd_max_data = STREAM_INITIAL_MAX_DATA;
	c->rcv_max_data = cfg->conn_window;
	c->max_data_pending = cfg->conn_window > STREAM_INITIAL_MAX_DATA;
	c->ack_deadline_ms = INT64_MAX;
	c->largest_rcvd_ms = now;
	return 0;
}

void stream_conn_free(struct stream_conn *c)
{
	uint32_t i;

	if (c->streams != NULL)
		for (i = 0; i < c->nslots; i++)
			if (c->streams[i].used)
				free(c->streams[i].sbuf);
	free(c->streams);
	free(c->recs);
	free(c->lost);
	c->streams = NULL;
	c->recs = NULL;
	c->lost = NULL;
	c->nslots = 0;
}

int64_t stream_open(struct stream_conn *c, uint8_t urgency)
{
	struct stream *s;
	uint64_t id;

	if (c->error)
		return STREAM_ECLOSED;
	if (urgency >= STREAM_URGENCY_LEVELS)
		return STREAM_EINVAL;
	if (c->next_local >= c->local_max_streams)
		return STREAM_EBLOCKED;
	/* our streams take at most half the table; the peer's credit keeps its own half */
	if (count_open(c, 1) >= c->cfg.max_streams)
		return STREAM_EBLOCKED;
	id = 2 * c->next_local + c->cfg.role;
	s = stream_new(c, id, urgency);
	if (s == NULL)
		return STREAM_ENOMEM;
	c->next_local++;
	return (int64_t)id;
}

/* Finds stream id for an application call (*out), the connection being alive. Returns 0 or a negative result. */
static int app_stream(const struct stream_conn *c, uint64_t id, struct stream **out)
{
	if (c->error)
		return STREAM_ECLOSED;
	*out = find((struct stream_conn *)c, id);
	return *out ? 0 : STREAM_ENOSTREAM;
}

int64_t stream_room(const struct stream_conn *c, uint64_t id)
{
	struct stream *s;
	int rc = app_stream(c, id, &s);

	if (rc < 0)
		return rc;
	if (s->fin_queued || s->reset_state)
		return STREAM_ESTATE;
	return (int64_t)(s->snd_una + c->cfg.stream_buf - s->snd_end);
}

int64_t stream_write(struct stream_conn *c, uint64_t id, const uint8_t *data, size_t len)
{
	int64_t room = stream_room(c, id);
	struct stream *s;
	size_t n, done = 0;

	if (room < 0)
		return room;
	s = find(c, id);
	n = (size_t)min_u64(len, (uint64_t)room);
	while (done < n) {
		size_t pos = (size_t)(s->snd_end % c->cfg.stream_buf);
		size_t k = n - done < c->cfg.stream_buf - pos ? n - done : c->cfg.stream_buf - pos;

		memcpy(s->sbuf + pos, data + done, k);
		done += k;
		s->snd_end += k;
	}
	if (n < len)
		s->want_writable = 1;
	return (int64_t)n;
}

int64_t stream_acked(const struct stream_conn *c, uint64_t id)
{
	struct stream *s;
	int rc = app_stream(c, id, &s);

	return rc < 0 ? rc : (int64_t)s->snd_una;
}

int stream_finish(struct stream_conn *c, uint64_t id)
{
	int64_t room = stream_room(c, id);

	if (room < 0)
		return (int)room;
	find(c, id)->fin_queued = 1;
	return 0;
}

/* Abandons our half of s with code (RFC 9000 3.1): the final size is what was sent. */
static void do_reset(struct stream_conn *c, struct stream *s, uint64_t code)
{
	s->reset_state = HALF_PENDING;
	s->reset_code = code;
	s->reset_final = s->snd_nxt;
	s->want_writable = 0;
	drop_lost(c, s->id);
	s->nlost = 0;
}

int stream_reset(struct stream_conn *c, uint64_t id, uint64_t code)
{
	struct stream *s;
	int rc = app_stream(c, id, &s);

	if (rc < 0)
		return rc;
	if (s->reset_state || s->send_done || code > STREAM_VARINT_MAX)
		return STREAM_ESTATE;
	do_reset(c, s, code);
	return 0;
}

static void deliver(struct stream_conn *c, struct stream *s);

int stream_stop(struct stream_conn *c, uint64_t id, uint64_t code)
{
	struct stream *s;
	int rc = app_stream(c, id, &s);

	if (rc < 0)
		return rc;
	if (s->stop_state || s->recv_done || code > STREAM_VARINT_MAX)
		return STREAM_ESTATE;
	s->stop_state = HALF_PENDING;
	s->stop_code = code;
	s->rcv_blocked = 0;
	deliver(c, s); /* what is buffered is thrown away, and its credit returns */
	return 0;
}

int stream_resume(struct stream_conn *c, uint64_t id)
{
	struct stream *s;
	int rc = app_stream(c, id, &s);

	if (rc < 0)
		return rc;
	s->rcv_blocked = 0;
	deliver(c, s);
	return 0;
}

int stream_set_urgency(struct stream_conn *c, uint64_t id, uint8_t urgency)
{
	struct stream *s;
	int rc = app_stream(c, id, &s);

	if (rc < 0)
		return rc;
	if (urgency >= STREAM_URGENCY_LEVELS)
		return STREAM_EINVAL;
	s->urgency = urgency;
	return 0;
}

int stream_set_pkt_max(struct stream_conn *c, uint32_t pkt_max)
{
	if (pkt_max < STREAM_PKT_MIN || pkt_max > STREAM_PKT_MAX)
		return STREAM_EINVAL;
	c->pkt_max = pkt_max;
	cc_set_mds(&c->cc, pkt_max);
	return 0;
}

void stream_ping(struct stream_conn *c)
{
	c->ping_pending = 1;
}

int stream_new_path(struct stream_conn *c, uint32_t pkt_max, uint64_t rate_cap, int64_t now)
{
	if (pkt_max < STREAM_PKT_MIN || pkt_max > STREAM_PKT_MAX)
		return STREAM_EINVAL;
	c->pkt_max = pkt_max;
	cc_new_path(&c->cc, pkt_max, now);
	cc_set_rate_cap(&c->cc, rate_cap);
	return 0;
}

/* ---- receiving ---- */

/* Raises the connection's credit once half of it is used up (RFC 9000 4.2). */
static void conn_credit(struct stream_conn *c)
{
	if (c->rcv_max_data - c->rcv_consumed < c->cfg.conn_window / 2) {
		c->rcv_max_data = c->rcv_consumed + c->cfg.conn_window;
		c->max_data_pending = 1;
	}
}

/*
 * Hands the in-order bytes of s to the application (or throws them away
 * after our STOP_SENDING), reports the FIN, and gives credit back.
 */
static void deliver(struct stream_conn *c, struct stream *s)
{
	uint32_t B = c->cfg.stream_buf;

	if (s->in_deliver)
		return; /* io.recv called stream_stop or stream_resume: the loop below goes on */
	s->in_deliver = 1;
	while (!s->rcv_blocked && !s->rcv_reset) {
		uint64_t end = stream_rset_run(&s->rcv_have, s->rcv_read);
		size_t pos = (size_t)(s->rcv_read % B), n, took;

		if (end <= s->rcv_read)
			break;
		n = (size_t)min_u64(end - s->rcv_read, B - pos);
		took = s->stop_state ? n : c->io.recv(c->io.ctx, s->id, s->rbuf + pos, n);
		if (took > n)
			took = n;
		s->rcv_read += took;
		c->rcv_consumed += took;
		if (took < n && !s->stop_state)
			s->rcv_blocked = 1;
	}
	s->in_deliver = 0;
	stream_rset_trim(&s->rcv_have, s->rcv_read);
	if (s->rcv_fin_known && s->rcv_read == s->rcv_final && !s->recv_done) {
		s->recv_done = 1;
		s->max_sd_pending = 0;
		if (!s->stop_state && !s->rcv_reset)
			event(c, s->id, STREAM_EV_FIN, 0);
	}
	if (!s->rcv_fin_known && s->rcv_max - s->rcv_read < B / 2) {
		s->rcv_max = s->rcv_read + B;
		s->max_sd_pending = 1;
	}
	conn_credit(c);
}

/*
 * Finds the stream a frame names, opening the peer's streams up to it
 * (RFC 9000 3.2: a stream comes into being with its first frame, and the
 * lower-numbered ones with it). *out is NULL for a stream already closed.
 * Returns 0, or a connection error.
 */
static int frame_stream(struct stream_conn *c, uint64_t id, struct stream **out)
{
	uint64_t n = id >> 1;

	*out = NULL;
	if (is_local(c, id)) {
		if (n >= c->next_local)
			return STREAM_EPROTO; /* a stream of ours we never opened */
		*out = find(c, id);
		return 0;
	}
	if (n >= c->peer_max_streams)
		return STREAM_ELIMIT;
	while (c->next_peer <= n) {
		uint64_t nid = 2 * c->next_peer + (1u - c->cfg.role);
		struct stream *s = stream_new(c, nid, STREAM_URGENCY_DEFAULT);

		if (s == NULL)
			return STREAM_ENOMEM; /* only malloc can fail: the credit keeps a slot free */
		c->next_peer++;
		event(c, nid, STREAM_EV_OPENED, 0);
	}
	*out = find(c, id);
	return 0;
}

/* Counts bytes up to end as received against the connection's credit. */
static int conn_receive(struct stream_conn *c, struct stream *s, uint64_t end)
{
	if (end > s->rcv_high) {
		if (end - s->rcv_high > c->rcv_max_data - c->rcv_total)
			return STREAM_EFLOW;
		c->rcv_total += end - s->rcv_high;
		s->rcv_high = end;
	}
	return 0;
}

/* Copies [lo, end) of f's data into the receive ring. */
static void store(struct stream_conn *c, struct stream *s, const struct stream_frame *f, uint64_t lo,
		  uint64_t end)
{
	uint32_t B = c->cfg.stream_buf;

	while (lo < end) {
		size_t pos = (size_t)(lo % B);
		size_t k = (size_t)min_u64(end - lo, B - pos);

		memcpy(s->rbuf + pos, f->data + (lo - f->offset), k);
		lo += k;
	}
}

static int on_stream(struct stream_conn *c, const struct stream_frame *f)
{
	struct stream *s;
	uint64_t end = f->offset + f->len, lo;
	int fin = f->type == STREAM_F_STREAM_FIN;
	int rc = frame_stream(c, f->id, &s);

	if (rc < 0 || s == NULL)
		return rc;
	if (s->rcv_reset || s->recv_done)
		return 0;
	/* RFC 9000 4.1 and 4.5: never past the credit, and the final size never moves */
	if (end > s->rcv_max)
		return STREAM_EFLOW;
	if (s->rcv_fin_known && (end > s->rcv_final || (fin && end != s->rcv_final)))
		return STREAM_EFINAL;
	if (fin && s->rcv_high > end)
		return STREAM_EFINAL;
	rc = conn_receive(c, s, end);
	if (rc < 0)
		return rc;
	if (fin) {
		s->rcv_fin_known = 1;
		s->rcv_final = end;
	}
	lo = s->rcv_read > f->offset ? s->rcv_read : f->offset;
	if (lo < end) {
		store(c, s, f, lo, end);
		if (stream_rset_add(&s->rcv_have, lo, end) < 0)
			return STREAM_EPROTO; /* cannot happen: room was checked before */
	}
	deliver(c, s);
	return 0;
}

static int on_reset(struct stream_conn *c, const struct stream_frame *f)
{
	struct stream *s;
	int rc = frame_stream(c, f->id, &s);

	if (rc < 0 || s == NULL)
		return rc;
	if ((s->rcv_fin_known && f->final_size != s->rcv_final) || f->final_size < s->rcv_high)
		return STREAM_EFINAL;
	if (s->rcv_reset || s->recv_done)
		return 0;
	rc = conn_receive(c, s, f->final_size);
	if (rc < 0)
		return rc;
	/* RFC 9000 4.5: bytes up to the final size count as read, so the connection's credit returns */
	c->rcv_consumed += f->final_size - s->rcv_read;
	s->rcv_read = s->rcv_final = f->final_size;
	s->rcv_fin_known = 1;
	s->rcv_reset = 1;
	s->rcv_have.n = 0;
	s->recv_done = 1;
	s->max_sd_pending = 0;
	event(c, s->id, STREAM_EV_RESET, f->code);
	conn_credit(c);
	return 0;
}

static int on_stop(struct stream_conn *c, const struct stream_frame *f)
{
	struct stream *s;
	int rc = frame_stream(c, f->id, &s);

	if (rc < 0 || s == NULL)
		return rc;
	if (s->reset_state || s->send_done)
		return 0;
	/* RFC 9000 3.5: answer STOP_SENDING with RESET_STREAM, passing its code on */
	do_reset(c, s, f->code);
	event(c, s->id, STREAM_EV_STOPPED, f->code);
	return 0;
}

static int on_max_stream_data(struct stream_conn *c, const struct stream_frame *f)
{
	struct stream *s;
	int rc = frame_stream(c, f->id, &s);

	if (rc < 0 || s == NULL)
		return rc;
	if (f->max > s->snd_max)
		s->snd_max = f->max;
	return 0;
}

static void cb_acked(void *ctx, uint32_t slot, uint64_t pn);
static void cb_lost(void *ctx, uint32_t slot, uint64_t pn);
static void cb_spurious(void *ctx, uint64_t pn);

static struct cc_events cc_events(struct stream_conn *c)
{
	struct cc_events ev = { c, cb_acked, cb_lost, cb_spurious };

	return ev;
}

static int on_ack(struct stream_conn *c, const struct stream_frame *f, int64_t now)
{
	struct cc_events ev = cc_events(c);

	if (cc_on_ack(&c->cc, f->ranges, f->nranges, (int64_t)min_u64(f->ack_delay_ms, INT32_MAX), now,
		      &ev) < 0)
		return STREAM_EPROTO;
	return 0;
}

/* Applies one frame. Returns 0 or a connection error. */
static int apply(struct stream_conn *c, const struct stream_frame *f, int64_t now)
{
	switch (f->type) {
	case STREAM_F_ACK:
		return on_ack(c, f, now);
	case STREAM_F_RESET:
		return on_reset(c, f);
	case STREAM_F_STOP:
		return on_stop(c, f);
	case STREAM_F_STREAM:
	case STREAM_F_STREAM_FIN:
		return on_stream(c, f);
	case STREAM_F_MAX_DATA:
		if (f->max > c->snd_max_data)
			c->snd_max_data = f->max;
		return 0;
	case STREAM_F_MAX_STREAM_DATA:
		return on_max_stream_data(c, f);
	case STREAM_F_MAX_STREAMS:
		if (f->max > c->local_max_streams)
			c->local_max_streams = f->max;
		return 0;
	default:
		return 0; /* PING: only asks for an ACK */
	}
}

/* Returns 1 when packet pn was received before (or is too old to tell). */
static int pn_seen(const struct stream_conn *c, uint64_t pn)
{
	uint32_t i;

	if (pn < c->rcvd_floor)
		return 1;
	for (i = 0; i < c->nrcvd; i++)
		if (pn >= c->rcvd[i].lo && pn <= c->rcvd[i].hi)
			return 1;
	return c->nrcvd == STREAM_ACK_RANGES_MAX && pn < c->rcvd[c->nrcvd - 1].lo;
}

/* Adds pn to the received ranges (descending); the oldest range goes when they are too many. */
static void pn_record(struct stream_conn *c, uint64_t pn)
{
	uint32_t i;

	for (i = 0; i < c->nrcvd && c->rcvd[i].lo > pn; i++)
		;
	/* rcvd[i] is the first range at or below pn; rcvd[i - 1] is above it */
	if (i > 0 && c->rcvd[i - 1].lo == pn + 1) {
		c->rcvd[i - 1].lo = pn;
		if (i < c->nrcvd && c->rcvd[i].hi + 1 == pn) {
			c->rcvd[i - 1].lo = c->rcvd[i].lo;
			memmove(&c->rcvd[i], &c->rcvd[i + 1], (c->nrcvd - i - 1) * sizeof(c->rcvd[0]));
			c->nrcvd--;
		}
		return;
	}
	if (i < c->nrcvd && c->rcvd[i].hi + 1 == pn) {
		c->rcvd[i].hi = pn;
		return;
	}
	if (c->nrcvd == STREAM_ACK_RANGES_MAX) {
		if (i == c->nrcvd)
			return;
		c->nrcvd--;
	}
	memmove(&c->rcvd[i + 1], &c->rcvd[i], (c->nrcvd - i) * sizeof(c->rcvd[0]));
	c->rcvd[i].lo = c->rcvd[i].hi = pn;
	c->nrcvd++;
}

/*
 * Returns 1 when every STREAM frame of the packet can be kept. A packet is
 * acknowledged whole or not at all, so one whose data would need more
 * out-of-order ranges than a stream has left is refused before anything
 * of it is taken; the sender will send it again. Data that touches what
 * is held, or starts at the read point, is always taken (the last slot is
 * kept for the read point): the hole that blocks the reader is always
 * filled, so refusals can never stall a stream.
 */
static int room_for(struct stream_conn *c, const uint8_t *pkt, size_t len)
{
	struct stream_frame f, g;
	size_t off = 0;

	while (stream_packet_frame(pkt, len, &off, &f) > 0) {
		struct stream *s;
		uint32_t need = 0;
		size_t off2 = 0;

		if (!is_stream_type(f.type))
			continue;
		s = find(c, f.id);
		if (s == NULL)
			continue;
		/* the new ranges this packet's frames of that stream may take */
		while (stream_packet_frame(pkt, len, &off2, &g) > 0) {
			uint64_t end = g.offset + g.len;

			if (!is_stream_type(g.type) || g.id != f.id)
				continue;
			if (end > s->rcv_read && g.offset > s->rcv_read &&
			    !stream_rset_touches(&s->rcv_have, g.offset, end))
				need++;
		}
		if (s->rcv_have.n + need > STREAM_RANGES_MAX - 1)
			return 0;
	}
	return 1;
}

static void sweep(struct stream_conn *c);

int stream_on_packet(struct stream_conn *c, const uint8_t *pkt, size_t len, int64_t now)
{
	struct stream_frame f;
	uint64_t pn;
	size_t off = 0;
	int eliciting = 0, rc, in_order;

	if (c->error)
		return STREAM_ECLOSED;
	rc = stream_packet_check(pkt, len, &pn);
	if (rc < 0) {
		c->stats.pkts_malformed++;
		return rc;
	}
	if (pn_seen(c, pn)) {
		c->stats.pkts_dup++;
		return 0;
	}
	if (!room_for(c, pkt, len)) {
		c->stats.pkts_refused++;
		return 0;
	}
	c->stats.pkts_recv++;
	in_order = c->nrcvd == 0 || pn == c->rcvd[0].hi + 1;
	if (c->nrcvd == 0 || pn > c->rcvd[0].hi)
		c->largest_rcvd_ms = now;
	pn_record(c, pn);

	while (stream_packet_frame(pkt, len, &off, &f) > 0) {
		if (f.type != STREAM_F_ACK)
			eliciting = 1;
		rc = apply(c, &f, now);
		if (rc < 0) {
			c->error = rc;
			return rc;
		}
	}
	/* RFC 9000 13.2: at once for every second packet or one out of order, else within max_ack_delay */
	if (eliciting) {
		c->unacked_eliciting++;
		if (!in_order || c->unacked_eliciting >= STREAM_ACK_EVERY)
			c->ack_deadline_ms = now;
		else if (c->ack_deadline_ms > now + STREAM_MAX_ACK_DELAY_MS)
			c->ack_deadline_ms = now + STREAM_MAX_ACK_DELAY_MS;
	}
	sweep(c);
	return 0;
}

/* ---- what cc says of our packets ---- */

/* Queues [off, end) of stream id (and its FIN) to be sent again. */
static void add_lost(struct stream_conn *c, uint64_t id, uint64_t off, uint64_t end, int fin,
		     uint64_t pn)
{
	struct stream *s = find(c, id);
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
	struct stream *s = find(c, l->id);

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
		struct stream *s = find(c, fr->id);

		if (is_stream_type(fr->type)) {
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
		struct stream *s = find(c, fr->id);

		if (is_stream_type(fr->type)) {
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
		s = find(c, l->id);
		if (s == NULL || mark_acked(s, l->orig_off, l->end, l->fin) == 0)
			free_lost(c, l);
	}
}

/* ---- sending ---- */

/* Returns the new bytes s may send now: written, within its credit and the connection's. */
static uint64_t new_allowed(const struct stream_conn *c, const struct stream *s)
{
	uint64_t n = s->snd_end - s->snd_nxt;

	n = min_u64(n, s->snd_max > s->snd_nxt ? s->snd_max - s->snd_nxt : 0);
	return min_u64(n, c->snd_max_data > c->snd_total ? c->snd_max_data - c->snd_total : 0);
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
	size_t pos = (size_t)(off % B), first = (size_t)min_u64(n, B - pos);
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
		n = (size_t)min_u64(e - a, data_room(b, s->id, a));
		if (n == 0)
			return 0;
		put_data(c, b, s, a, n, l->fin && a + n == l->end);
		c->stats.bytes_resent += n;
		l->off = a + n;
		if (l->off >= l->end)
			free_lost(c, l);
		return 1;
	}
	n = (size_t)min_u64(new_allowed(c, s), data_room(b, s->id, s->snd_nxt));
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
	int slot;

	memset(&b, 0, sizeof(b));
	b.w.p = buf;
	b.w.cap = c->pkt_max;
	stream_wr_varint(&b.w, c->next_pn);
	if (ack)
		put_ack(c, &b, now);
	if (elicit) {
		put_control(c, &b);
		put_streams(c, &b);
		if ((probe || c->ping_pending) && !b.eliciting) {
			struct stream_frame ping = { .type = STREAM_F_PING };

			put(&b, &ping);
		}
	}
	if (b.w.err || b.w.off <= stream_varint_len(c->next_pn))
		return 0;
	if (b.eliciting) {
		c->ping_pending = 0;
		slot = cc_on_sent(&c->cc, c->next_pn, (uint32_t)b.w.off, now);
		/* the caller checked the ring has room */
		if (slot >= 0)
			c->recs[slot] = b.rec;
		if (probe)
			c->stats.probes++;
	} else {
		cc_on_sent_ack_only(&c->cc, c->next_pn);
		c->stats.acks_only++;
	}
	c->next_pn++;
	c->stats.pkts_sent++;
	c->io.send(c->io.ctx, buf, b.w.off);
	return 1;
}

/* Frees the streams both of whose halves are done; tells of sent data and room. */
static void sweep(struct stream_conn *c)
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
			event(c, id, STREAM_EV_WRITABLE, 0);
		}
		if (!s->send_done && !s->reset_state && s->fin_acked && s->snd_una == s->snd_end) {
			s->send_done = 1;
			event(c, id, STREAM_EV_SENT, 0);
		}
		if (s->reset_state == HALF_ACKED)
			s->send_done = 1;
		if (!s->send_done || !s->recv_done)
			continue;
		drop_lost(c, id);
		free(s->sbuf);
		memset(s, 0, sizeof(*s));
		if (!is_local(c, id)) {
			/* RFC 9000 4.6: a closed stream of the peer's makes room for another */
			c->peer_closed++;
			c->peer_max_streams = c->peer_closed + c->cfg.max_streams;
			c->max_streams_pending = 1;
		}
		event(c, id, STREAM_EV_CLOSED, 0);
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

		if (ring && probe)
			can = 1;
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
	sweep(c);
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
