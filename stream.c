/* stream.c - streams over one peer connection: the stream table, the application's calls, and the receiving side (frames applied, credit, delivery). */
#include "stream_impl.h"

#include <stdlib.h>
#include <string.h>

/* ---- streams ---- */

/* Returns 1 when stream id is one we opened (bit 0 of the id is the opener's role). */
int stream_is_local(const struct stream_conn *c, uint64_t id)
{
	return (id & 1) == c->cfg.role;
}

/* Returns the open stream id (owned by c's table), or NULL. */
struct stream *stream_find(struct stream_conn *c, uint64_t id)
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
		if (c->streams[i].used && stream_is_local(c, c->streams[i].id) == local)
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

/* Tells the application of ev (enum stream_event) on stream id, when it listens (io.event). */
void stream_notify(struct stream_conn *c, uint64_t id, int ev, uint64_t code)
{
	if (c->io.event)
		c->io.event(c->io.ctx, id, ev, code);
}

void stream_config_default(struct stream_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_streams = 16;
	/* 8 MiB each way (stream.h, Memory: what it allows at 100 ms and 5% loss) */
	cfg->stream_buf = 8 << 20;
	cfg->conn_window = 16 << 20;
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
	*out = stream_find((struct stream_conn *)c, id);
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
	s = stream_find(c, id);
	n = (size_t)stream_min_u64(len, (uint64_t)room);
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
	stream_find(c, id)->fin_queued = 1;
	return 0;
}

/* Abandons our half of s with code (RFC 9000 3.1): the final size is what was sent. */
static void do_reset(struct stream_conn *c, struct stream *s, uint64_t code)
{
	s->reset_state = HALF_PENDING;
	s->reset_code = code;
	s->reset_final = s->snd_nxt;
	s->want_writable = 0;
	stream_drop_lost(c, s->id);
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

void stream_ack_now(struct stream_conn *c, int64_t now)
{
	c->ack_deadline_ms = now;
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
		n = (size_t)stream_min_u64(end - s->rcv_read, B - pos);
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
			stream_notify(c, s->id, STREAM_EV_FIN, 0);
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
	if (stream_is_local(c, id)) {
		if (n >= c->next_local)
			return STREAM_EPROTO; /* a stream of ours we never opened */
		*out = stream_find(c, id);
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
		stream_notify(c, nid, STREAM_EV_OPENED, 0);
	}
	*out = stream_find(c, id);
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
		size_t k = (size_t)stream_min_u64(end - lo, B - pos);

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
	stream_notify(c, s->id, STREAM_EV_RESET, f->code);
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
	stream_notify(c, s->id, STREAM_EV_STOPPED, f->code);
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

/* Applies one frame. Returns 0 or a connection error. */
static int apply(struct stream_conn *c, const struct stream_frame *f, int64_t now)
{
	switch (f->type) {
	case STREAM_F_ACK:
		return stream_on_ack(c, f, now);
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

		if (!stream_is_data(f.type))
			continue;
		s = stream_find(c, f.id);
		if (s == NULL)
			continue;
		/* the new ranges this packet's frames of that stream may take */
		while (stream_packet_frame(pkt, len, &off2, &g) > 0) {
			uint64_t end = g.offset + g.len;

			if (!stream_is_data(g.type) || g.id != f.id)
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
	stream_sweep(c);
	return 0;
}
