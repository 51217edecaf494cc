/* peer_stream.c - each peer's stream connection: made on first use, fed the STREAM packets its session opens, ticked from client_tick, its streams handed to consumers by kind. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "client_impl.h"
#include "log.h"
#include "peer_stream.h"

/*
 * The packet budget: a SEALED body (PROTO_SEALED_MAX, which always fits a
 * RELAY, so one budget serves every path) holds the session's index,
 * counter and tag, the inner type and the two epochs around the packet.
 */
#define PKT_MAX (PROTO_SEALED_MAX - SESSION_SEALED_OVERHEAD - PROTO_STREAM_HEADER_LEN) /* 1063 */
_Static_assert(PKT_MAX <= STREAM_PKT_MAX && PKT_MAX >= STREAM_PKT_MIN,
	       "a stream packet fits a datagram on every path");

#define SLOTS 32 /* streams at once: both sides' (2 x stream_config_default's max_streams) */

/* One stream the consumers know of. */
struct slot {
	uint64_t id;
	uint8_t used;
	uint8_t known;  /* its kind is known and h is its handler */
	uint8_t kind;
	struct peer_stream_handler h;
};

/* A peer's stream connection (struct peer's streams). */
struct peer_streams {
	struct client *c;
	struct peer *p;
	struct stream_conn conn;
	int bound;                      /* my_epoch and peer_epoch hold the pair it belongs to */
	uint32_t my_epoch, peer_epoch;
	int on_path;                    /* path is the one stream_new_path was told of */
	struct route path;
	struct slot slots[SLOTS];
	int ack_now;                    /* a consumer asked for the ACK at once (peer_stream_ack_now) */
	uint64_t acked_seen;            /* conn.cc.n_acked when progress_ms was last set */
	int64_t progress_ms;            /* when it last had nothing in flight, or something was acknowledged */
};

/* ---- the table of streams ---- */

static struct slot *slot_find(struct peer_streams *ps, uint64_t id)
{
	for (int i = 0; i < SLOTS; i++)
		if (ps->slots[i].used && ps->slots[i].id == id)
			return &ps->slots[i];
	return NULL;
}

static struct slot *slot_new(struct peer_streams *ps, uint64_t id)
{
	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &ps->slots[i];

		if (!s->used) {
			memset(s, 0, sizeof(*s));
			s->used = 1;
			s->id = id;
			return s;
		}
	}
	return NULL;
}

/* ---- what the connection asks of us (stream_io) ---- */

static void io_send(void *ctx, const uint8_t *pkt, size_t len)
{
	struct peer_streams *ps = ctx;

	if (ps->p->state == PEER_CONNECTED && ps->bound)
		client_send_stream(ps->c, ps->p, ps->my_epoch, ps->peer_epoch, pkt, len);
}

/* The first byte of a stream the peer opened: its kind, and the handler that takes it. */
static size_t take_kind(struct peer_streams *ps, struct slot *s, const uint8_t *data, size_t len)
{
	const struct peer_stream_handler *h;
	uint8_t kind = data[0];

	h = kind > 0 && kind < PEER_STREAM_KINDS ? &ps->c->stream_kinds[kind] : NULL;
	if (h == NULL || h->event == NULL || h->recv == NULL) {
		log_info("%s: refused a stream of kind %u", ps->p->name, kind);
		(void)stream_stop(&ps->conn, s->id, PEER_STREAM_E_REFUSED);
		(void)stream_reset(&ps->conn, s->id, PEER_STREAM_E_REFUSED);
		s->used = 0;
		return len;
	}
	s->kind = kind;
	s->h = *h;
	s->known = 1;
	s->h.event(s->h.ctx, ps->c, ps->p->name, s->id, STREAM_EV_OPENED, 0);
	return 1;
}

static size_t io_recv(void *ctx, uint64_t id, const uint8_t *data, size_t len)
{
	struct peer_streams *ps = ctx;
	struct slot *s = slot_find(ps, id);
	size_t took = 0;

	if (s == NULL)
		return len; /* refused, or forgotten: thrown away */
	if (!s->known) {
		took = take_kind(ps, s, data, len);
		if (!s->used || !s->known)
			return took;
	}
	if (took == len)
		return took;
	return took + s->h.recv(s->h.ctx, ps->c, ps->p->name, id, data + took, len - took);
}

static void io_event(void *ctx, uint64_t id, int ev, uint64_t code)
{
	struct peer_streams *ps = ctx;
	struct slot *s = slot_find(ps, id);

	if (ev == STREAM_EV_OPENED) {
		if (s == NULL && slot_new(ps, id) == NULL) {
			(void)stream_stop(&ps->conn, id, PEER_STREAM_E_REFUSED);
			(void)stream_reset(&ps->conn, id, PEER_STREAM_E_REFUSED);
		}
		return; /* the consumer hears of it with its kind byte */
	}
	if (s == NULL)
		return;
	if (s->known)
		s->h.event(s->h.ctx, ps->c, ps->p->name, id, ev, code);
	if (ev == STREAM_EV_CLOSED)
		s->used = 0;
}

/* ---- the connection's life ---- */

/* p's connection, made now if it has none. Returns NULL when there is no memory. */
static struct peer_streams *get_streams(struct client *c, struct peer *p, int64_t now)
{
	struct peer_streams *ps = p->streams;
	struct stream_config cfg;
	struct stream_io io;

	if (ps != NULL)
		return ps;
	ps = calloc(1, sizeof(*ps));
	if (ps == NULL)
		return NULL;
	ps->c = c;
	ps->p = p;
	stream_config_default(&cfg);
	/* The ids' bit 0: the names differ, so the two sides take different roles. */
	cfg.role = strcmp(c->cfg.name, p->name) < 0 ? 0 : 1;
	cfg.pkt_max = PKT_MAX;
	if (c->cfg.stream_buf != 0)
		cfg.stream_buf = c->cfg.stream_buf;
	io = (struct stream_io){ .ctx = ps, .send = io_send, .recv = io_recv, .event = io_event };
	if (stream_conn_init(&ps->conn, &cfg, &io, now) < 0) {
		free(ps);
		return NULL;
	}
	if (p->rtt_ms > 0)
		cc_seed_rtt(&ps->conn.cc, p->rtt_ms); /* the session's round trip, for the first timers */
	ps->progress_ms = now;
	p->streams = ps;
	return ps;
}

/*
 * Ends p's connection: each stream a consumer knows hears
 * PEER_STREAM_EV_GONE (with tell), then everything is freed. The peer is
 * detached first, so a consumer may open a new stream from its callback.
 */
static void close_streams(struct peer *p, int tell)
{
	struct peer_streams *ps = p->streams;

	if (ps == NULL)
		return;
	p->streams = NULL;
	for (int i = 0; i < SLOTS && tell; i++) {
		struct slot *s = &ps->slots[i];

		if (s->used && s->known)
			s->h.event(s->h.ctx, ps->c, p->name, s->id, PEER_STREAM_EV_GONE, 0);
	}
	stream_conn_free(&ps->conn);
	free(ps);
}

/* Frees p's connection, telling nobody (the peer is being freed). */
void client_streams_free(struct peer *p)
{
	close_streams(p, 0);
}

/* p's pair of epochs changed (peer.c): a connection of the old pair ends, its streams GONE. */
void client_streams_epochs(struct peer *p)
{
	struct peer_streams *ps = p->streams;

	if (ps == NULL || !ps->bound)
		return;
	/* The peer's epoch learned at last is no new incarnation: it is the first one. */
	if (ps->my_epoch == p->my_epoch && (ps->peer_epoch == p->peer_epoch || ps->peer_epoch == 0)) {
		/*
		 * What went with 0 was dropped as stale: an ack-eliciting packet
		 * now, whose ACK shows those lost at once (RFC 9002 6.1.2), rather
		 * than a probe timeout later.
		 */
		if (ps->peer_epoch == 0 && p->peer_epoch != 0)
			stream_ping(&ps->conn);
		ps->peer_epoch = p->peer_epoch;
		return;
	}
	log_info("%s: a new incarnation of the channel: its streams end", p->name);
	close_streams(p, 1);
}

/*
 * The path to p answers again after a silence (a reconnection, or an
 * answer after tick_suspect gave it up): what waits goes now, not when
 * a probe timeout backed off by the silence's losses runs out (RFC 9000
 * 9.4: a path that works again starts its loss recovery afresh). A probe
 * goes at the next tick, whatever the window; its ACK shows what was
 * lost (RFC 9002 6.1.2), and that is sent again.
 */
void client_streams_wake(struct peer *p)
{
	struct peer_streams *ps = p->streams;

	if (ps == NULL)
		return;
	cc_path_revived(&ps->conn.cc);
	stream_ping(&ps->conn);
}

/*
 * Returns 1 when a stream with p is open: p is not evicted, and is pinged
 * when silent. The chat streams stay open while idle: their lines say
 * when they are busy (client_lines_pending).
 */
int client_streams_busy(const struct peer *p)
{
	const struct peer_streams *ps = p->streams;

	if (ps == NULL)
		return 0;
	for (int i = 0; i < SLOTS; i++)
		if (ps->slots[i].used && ps->slots[i].kind != PEER_STREAM_KIND_CHAT)
			return 1;
	return 0;
}

/*
 * Binds ps to the pair of epochs now current. The peer's may not be known
 * yet (0): its packets then go with 0, the peer answers the stale pair
 * with its epoch (client_epochs_current), and the first one learned is
 * taken (client_streams_epochs). Returns 1.
 */
static int bind_epochs(struct peer_streams *ps)
{
	if (ps->bound) {
		if (ps->peer_epoch == 0)
			ps->peer_epoch = ps->p->peer_epoch;
		return 1;
	}
	ps->my_epoch = ps->p->my_epoch;
	ps->peer_epoch = ps->p->peer_epoch;
	ps->bound = 1;
	return 1;
}

/* The path moved (or is first known): a new budget, the relay's cap, RTT and window anew (RFC 9000 9.4). */
static void follow_path(struct peer_streams *ps, int64_t now)
{
	const struct route *r = &ps->p->path;

	if (ps->on_path && client_route_equal(&ps->path, r))
		return;
	ps->on_path = 1;
	ps->path = *r;
	(void)stream_new_path(&ps->conn, PKT_MAX,
			      r->relay ? PEER_STREAM_RELAY_RATE : 0, now);
}

/*
 * Returns 1 when ps made no progress for PEER_STREAM_STALL_MS while
 * connected (peer_stream.h, Progress): data in flight, none acknowledged.
 */
static int stalled(struct peer_streams *ps, int64_t now)
{
	const struct cc *cc = &ps->conn.cc;

	if (cc->bytes_in_flight == 0 || cc->n_acked != ps->acked_seen) {
		ps->acked_seen = cc->n_acked;
		ps->progress_ms = now;
		return 0;
	}
	return now - ps->progress_ms >= PEER_STREAM_STALL_MS;
}

/* Connected: follows the path, sends what is due (stream_tick). Returns the next deadline (ms). */
int64_t client_tick_streams(struct client *c, struct peer *p, int64_t now)
{
	struct peer_streams *ps = p->streams;
	int64_t next;

	if (ps == NULL)
		return INT64_MAX;
	if (p->state != PEER_CONNECTED || !bind_epochs(ps)) {
		ps->progress_ms = now; /* away, the streams wait (Lifetime): no time counts */
		return INT64_MAX;
	}
	follow_path(ps, now);
	next = stream_tick(&ps->conn, now);
	if (stalled(ps, now)) {
		log_warn("%s: no stream packet acknowledged for %d s: its streams end", p->name,
			 PEER_STREAM_STALL_MS / 1000);
		client_say(c, "* streams with %s made no progress for %d s: they end", p->name,
			   PEER_STREAM_STALL_MS / 1000);
		close_streams(p, 1);
		client_resync(c, p, now); /* new epochs: the peer's connection ends too */
		return now;
	}
	return client_min64(next, ps->progress_ms + PEER_STREAM_STALL_MS);
}

/* An opened STREAM from p: body is its epochs and the packet (protocol.h). */
void client_on_stream(struct client *c, struct peer *p, const uint8_t *body, size_t len,
		      const struct route *from, int64_t now)
{
	struct peer_streams *ps;
	uint32_t epoch, peer_epoch;
	int rc;

	if (len <= 8) { /* two epochs, and a packet of at least its number */
		c->stats.malformed++;
		return;
	}
	epoch = bytes_get32(body);
	peer_epoch = bytes_get32(body + 4);
	if (!client_epochs_current(c, p, epoch, peer_epoch, from, now))
		return;
	ps = get_streams(c, p, now);
	if (ps == NULL)
		return; /* not acknowledged: the peer sends it again */
	(void)bind_epochs(ps);
	rc = stream_on_packet(&ps->conn, body + 8, len - 8, now);
	if (rc < 0 && ps->conn.error != 0) {
		log_warn("%s broke the stream protocol (%d): its streams end", p->name, rc);
		close_streams(p, 1);
		client_resync(c, p, now); /* new epochs: the peer's connection ends too */
	} else if (rc < 0) {
		c->stats.malformed++;
	}
	client_lines_acked(c, p); /* chat lines this packet acknowledged are delivered now */
	ps = p->streams; /* NULL when the packet ended the connection */
	if (ps != NULL && ps->ack_now) {
		/* Its ACK now, before anything else can happen (a BYE, say). */
		ps->ack_now = 0;
		stream_ack_now(&ps->conn, now);
		(void)client_tick_streams(c, p, now);
	}
	/* Answer soon: the ACK it may owe goes with the next client_tick. */
}

/* ---- the consumers' API ---- */

/* The connection with the peer called name, when there is one. */
static struct peer_streams *streams_of(struct client *c, const char *name)
{
	struct peer *p = client_peer_find(c, name);

	return p != NULL ? p->streams : NULL;
}

int peer_stream_listen(struct client *c, uint8_t kind, const struct peer_stream_handler *h)
{
	if (kind == 0 || kind >= PEER_STREAM_KINDS)
		return -1;
	if (h == NULL)
		memset(&c->stream_kinds[kind], 0, sizeof(c->stream_kinds[kind]));
	else
		c->stream_kinds[kind] = *h;
	return 0;
}

int64_t peer_stream_open(struct client *c, const char *peer, uint8_t kind, uint8_t urgency,
			 const struct peer_stream_handler *h)
{
	struct peer_streams *ps;
	struct slot *s;
	struct peer *p;
	int64_t id, n;

	if (kind == 0 || kind >= PEER_STREAM_KINDS || h == NULL || !proto_name_valid(peer) ||
	    strcmp(peer, c->cfg.name) == 0)
		return STREAM_EINVAL;
	p = client_peer_get(c, peer);
	if (p == NULL || (ps = get_streams(c, p, c->now_ms)) == NULL)
		return STREAM_ENOMEM;
	id = stream_open(&ps->conn, urgency);
	if (id < 0)
		return id;
	s = slot_new(ps, (uint64_t)id);
	n = stream_write(&ps->conn, (uint64_t)id, &kind, 1);
	if (s == NULL || n != 1) {
		(void)stream_reset(&ps->conn, (uint64_t)id, PEER_STREAM_E_REFUSED);
		if (s != NULL)
			s->used = 0;
		return STREAM_ENOMEM;
	}
	s->kind = kind;
	s->known = 1;
	s->h = *h;
	p->wanted = 1;
	if (p->state == PEER_OFFLINE)
		client_start_lookup(p, c->now_ms);
	return id;
}

int64_t peer_stream_write(struct client *c, const char *peer, uint64_t id, const uint8_t *data,
			  size_t len)
{
	struct peer_streams *ps = streams_of(c, peer);

	return ps != NULL ? stream_write(&ps->conn, id, data, len) : STREAM_ENOSTREAM;
}

int64_t peer_stream_room(struct client *c, const char *peer, uint64_t id)
{
	struct peer_streams *ps = streams_of(c, peer);

	return ps != NULL ? stream_room(&ps->conn, id) : STREAM_ENOSTREAM;
}

int64_t peer_stream_acked(struct client *c, const char *peer, uint64_t id)
{
	struct peer_streams *ps = streams_of(c, peer);

	return ps != NULL ? stream_acked(&ps->conn, id) : STREAM_ENOSTREAM;
}

int peer_stream_finish(struct client *c, const char *peer, uint64_t id)
{
	struct peer_streams *ps = streams_of(c, peer);

	return ps != NULL ? stream_finish(&ps->conn, id) : STREAM_ENOSTREAM;
}

int peer_stream_reset(struct client *c, const char *peer, uint64_t id, uint64_t code)
{
	struct peer_streams *ps = streams_of(c, peer);

	return ps != NULL ? stream_reset(&ps->conn, id, code) : STREAM_ENOSTREAM;
}

int peer_stream_stop(struct client *c, const char *peer, uint64_t id, uint64_t code)
{
	struct peer_streams *ps = streams_of(c, peer);

	return ps != NULL ? stream_stop(&ps->conn, id, code) : STREAM_ENOSTREAM;
}

int peer_stream_resume(struct client *c, const char *peer, uint64_t id)
{
	struct peer_streams *ps = streams_of(c, peer);

	return ps != NULL ? stream_resume(&ps->conn, id) : STREAM_ENOSTREAM;
}

void peer_stream_ack_now(struct client *c, const char *peer)
{
	struct peer_streams *ps = streams_of(c, peer);

	if (ps != NULL)
		ps->ack_now = 1;
}

int peer_stream_relayed(struct client *c, const char *peer)
{
	struct peer *p = client_peer_find(c, peer);

	return p != NULL && client_relayed(p);
}

int peer_stream_connected(struct client *c, const char *peer)
{
	struct peer *p = client_peer_find(c, peer);

	return p != NULL && p->state == PEER_CONNECTED;
}

int peer_stream_ready(struct client *c, const char *peer)
{
	struct peer *p = client_peer_find(c, peer);
	struct peer_streams *ps;

	if (p == NULL || p->state != PEER_CONNECTED)
		return 0;
	/* Its epoch not known yet: the connection binds to the first one learned. */
	if (p->peer_epoch == 0 || p->epoch_confirmed)
		return 1;
	/*
	 * A connection that was there was pinged on connecting
	 * (client_streams_wake); one made now is pinged here. The peer's
	 * answer is an ACK (client_epochs_current), or, from a new
	 * incarnation, a PING with its epoch (on_ping).
	 */
	if (p->streams == NULL && (ps = get_streams(c, p, c->now_ms)) != NULL)
		stream_ping(&ps->conn);
	return 0;
}

const struct stream_conn *peer_stream_conn(struct client *c, const char *peer)
{
	struct peer_streams *ps = streams_of(c, peer);

	return ps != NULL ? &ps->conn : NULL;
}
