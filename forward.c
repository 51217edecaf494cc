/* forward.c - TCP port forwarding over peer streams: the specs' parser, and each connection's state between its TCP socket and its stream; pure, no sockets. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "forward.h"
#include "stream.h"

#define FWD_LOCALHOST "127.0.0.1"

/* ---- the specs ---- */

/* Reads a port 1..65535 from exactly len bytes of plain digits. Returns 0, or -1. */
static int parse_port(const char *s, size_t len, uint16_t *out)
{
	unsigned long v = 0;

	if (len == 0 || len > 5)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Reads an IPv4 literal, or an IPv6 one in brackets, from exactly len bytes into out. Returns 0, or -1. */
static int parse_host(const char *s, size_t len, char out[FWD_HOST_MAX])
{
	unsigned char bin[16];
	int family = AF_INET;

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		family = AF_INET6;
		s++;
		len -= 2;
	}
	if (len == 0 || len >= FWD_HOST_MAX)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return inet_pton(family, out, bin) == 1 ? 0 : -1;
}

/*
 * Splits text at its colons outside brackets into at most max fields.
 * Returns the number of fields, or -1 for more, or an unclosed bracket.
 */
static int split(const char *text, const char **start, size_t *len, int max)
{
	int n = 0, depth = 0;
	const char *p = text;

	start[0] = text;
	for (;; p++) {
		if (*p == '[')
			depth++;
		else if (*p == ']')
			depth--;
		if (depth < 0 || depth > 1)
			return -1;
		if ((*p == ':' && depth == 0) || *p == '\0') {
			len[n] = (size_t)(p - start[n]);
			n++;
			if (*p == '\0')
				break;
			if (n == max)
				return -1;
			start[n] = p + 1;
		}
	}
	return depth == 0 ? n : -1;
}

int fwd_parse_forward(const char *text, struct fwd_spec *out, const char **why)
{
	const char *f[4];
	size_t len[4];
	int n = split(text, f, len, 4), k = 0;

	memset(out, 0, sizeof(*out));
	if (n < 3) {
		*why = "not [ADDR:]LPORT:PEER:RPORT";
		return -1;
	}
	if (n == 4) {
		if (parse_host(f[0], len[0], out->addr) < 0) {
			*why = "ADDR is not an IPv4 address or an [IPv6] one";
			return -1;
		}
		k = 1;
	} else {
		strcpy(out->addr, FWD_LOCALHOST);
	}
	if (parse_port(f[k], len[k], &out->lport) < 0) {
		*why = "LPORT is not a port from 1 to 65535";
		return -1;
	}
	if (len[k + 1] > PROTO_NAME_MAX) {
		*why = "PEER is not a valid name";
		return -1;
	}
	memcpy(out->peer, f[k + 1], len[k + 1]);
	out->peer[len[k + 1]] = '\0';
	if (!proto_name_valid(out->peer)) {
		*why = "PEER is not a valid name";
		return -1;
	}
	if (parse_port(f[k + 2], len[k + 2], &out->rport) < 0) {
		*why = "RPORT is not a port from 1 to 65535";
		return -1;
	}
	return 0;
}

int fwd_parse_serve(const char *text, struct fwd_serve *out, const char **why)
{
	const char *f[2];
	size_t len[2];
	int n = split(text, f, len, 2);

	memset(out, 0, sizeof(*out));
	if (n < 1) {
		*why = "not [HOST:]PORT";
		return -1;
	}
	if (n == 2) {
		if (parse_host(f[0], len[0], out->host) < 0) {
			*why = "HOST is not an IPv4 address or an [IPv6] one";
			return -1;
		}
	} else {
		strcpy(out->host, FWD_LOCALHOST);
	}
	if (parse_port(f[n - 1], len[n - 1], &out->port) < 0) {
		*why = "PORT is not a port from 1 to 65535";
		return -1;
	}
	return 0;
}

/* ---- the table ---- */

void fwd_init(struct fwd *f, const struct fwd_io *io)
{
	memset(f, 0, sizeof(*f));
	f->io = *io;
	for (int i = 0; i < FWD_CONNS_MAX; i++)
		f->conns[i].fd = -1;
}

int fwd_add_forward(struct fwd *f, const struct fwd_spec *s)
{
	if (f->nspecs == FWD_FORWARDS_MAX)
		return -1;
	f->specs[f->nspecs] = *s;
	return (int)f->nspecs++;
}

int fwd_add_serve(struct fwd *f, const struct fwd_serve *s)
{
	if (f->nserves == FWD_SERVES_MAX)
		return -1;
	f->serves[f->nserves++] = *s;
	return 0;
}

uint32_t fwd_count(const struct fwd *f)
{
	uint32_t n = 0;

	for (int i = 0; i < FWD_CONNS_MAX; i++)
		n += f->conns[i].state != FWD_FREE;
	return n;
}

/* Reports one line, printf-style. */
static void __attribute__((format(printf, 2, 3))) report(struct fwd *f, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	f->io.report(f->io.ctx, line);
}

/* "forward ADDR:LPORT -> PEER:RPORT", the name of a forward in every line about it. */
static const char *spec_label(const struct fwd *f, int spec, char *buf, size_t cap)
{
	const struct fwd_spec *s = &f->specs[spec];
	int v6 = strchr(s->addr, ':') != NULL;

	snprintf(buf, cap, "forward %s%s%s:%u -> %s:%u", v6 ? "[" : "", s->addr, v6 ? "]" : "",
		 (unsigned)s->lport, s->peer, (unsigned)s->rport);
	return buf;
}

static int find_free(const struct fwd *f)
{
	for (int i = 0; i < FWD_CONNS_MAX; i++) {
		if (f->conns[i].state == FWD_FREE)
			return i;
	}
	return -1;
}

static int find_stream(const struct fwd *f, const void *link, uint64_t sid)
{
	for (int i = 0; i < FWD_CONNS_MAX; i++) {
		const struct fwd_conn *c = &f->conns[i];

		if (c->state != FWD_FREE && c->has_stream && c->link == link && c->sid == sid)
			return i;
	}
	return -1;
}

/* Forgets connection i, closing its socket (abort: with a reset). The stream, if any, is the caller's. */
static void conn_free(struct fwd *f, int i, int abort)
{
	struct fwd_conn *c = &f->conns[i];

	if (c->fd >= 0)
		f->io.tcp_close(f->io.ctx, c->fd, abort);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Connection i failed: its stream is abandoned both ways with code, its socket reset. */
static void conn_fail(struct fwd *f, int i, uint64_t code)
{
	struct fwd_conn *c = &f->conns[i];

	if (c->has_stream)
		f->io.abort(f->io.ctx, c->link, c->sid, code);
	f->stats.resets++;
	conn_free(f, i, 1);
}

/* Opens connection i's stream when its peer is up and allows one, and sends the request. Returns 0, or -1: not now. */
static int conn_start(struct fwd *f, int i)
{
	struct fwd_conn *c = &f->conns[i];
	uint8_t req[FWD_REQUEST_LEN] = { (uint8_t)(c->port >> 8), (uint8_t)c->port };
	void *link = f->io.link_of(f->io.ctx, c->peer);
	int64_t sid;

	if (link == NULL)
		return -1;
	sid = f->io.open(f->io.ctx, link);
	if (sid < 0)
		return -1;
	c->link = link;
	c->sid = (uint64_t)sid;
	c->has_stream = 1;
	c->state = FWD_OPEN;
	/* a new stream has STREAM_INITIAL_WINDOW of room: the request always fits */
	if (f->io.write(f->io.ctx, link, c->sid, req, sizeof(req)) != (int64_t)sizeof(req)) {
		conn_fail(f, i, FWD_CODE_BAD_REQUEST);
		return 0;
	}
	return 0;
}

static uint32_t waiting_count(const struct fwd *f)
{
	uint32_t n = 0;

	for (int i = 0; i < FWD_CONNS_MAX; i++)
		n += f->conns[i].state == FWD_WAITING;
	return n;
}

int fwd_accepted(struct fwd *f, int spec, int fd, int64_t now)
{
	char label[128];
	int i = find_free(f), away;
	struct fwd_conn *c;

	spec_label(f, spec, label, sizeof(label));
	if (i < 0) {
		f->stats.flooded++;
		f->io.tcp_close(f->io.ctx, fd, 1);
		report(f, "%s: too many connections (%d); one reset", label, FWD_CONNS_MAX);
		return -1;
	}
	c = &f->conns[i];
	c->fd = fd;
	c->spec = spec;
	c->port = f->specs[spec].rport;
	memcpy(c->peer, f->specs[spec].peer, sizeof(c->peer));
	f->stats.accepted++;
	if (conn_start(f, i) == 0)
		return f->conns[i].state == FWD_FREE ? -1 : i;
	/* waiting for a stream the peer will allow is bounded by the table; waiting for the peer, by FWD_WAITING_MAX */
	away = f->io.link_of(f->io.ctx, c->peer) == NULL;
	if (away && waiting_count(f) >= FWD_WAITING_MAX) {
		f->stats.flooded++;
		conn_free(f, i, 1);
		report(f, "%s: %d connections wait for %s already; one reset", label,
		       FWD_WAITING_MAX, f->specs[spec].peer);
		return -1;
	}
	if (away && waiting_count(f) == 0)
		report(f, "%s: waiting for %s (at most %d s)", label, c->peer, FWD_WAIT_MS / 1000);
	c->state = FWD_WAITING;
	c->wait_until_ms = now + FWD_WAIT_MS;
	return i;
}

int fwd_stream_opened(struct fwd *f, void *link, const char *peer, uint64_t sid)
{
	int i = find_free(f);
	struct fwd_conn *c;

	if (i < 0) {
		f->stats.flooded++;
		f->io.abort(f->io.ctx, link, sid, FWD_CODE_CONNECT);
		report(f, "serve: too many connections (%d); one from %s refused", FWD_CONNS_MAX, peer);
		return -1;
	}
	c = &f->conns[i];
	c->state = FWD_REQUEST;
	c->serving = 1;
	c->has_stream = 1;
	c->link = link;
	c->sid = sid;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	return i;
}

static const struct fwd_serve *served(const struct fwd *f, uint16_t port)
{
	for (uint32_t k = 0; k < f->nserves; k++) {
		if (f->serves[k].port == port)
			return &f->serves[k];
	}
	return NULL;
}

/* Takes the request's bytes from p; once whole, refuses it or starts the connect. Returns the bytes taken. */
static size_t take_request(struct fwd *f, int i, const uint8_t *p, size_t n)
{
	struct fwd_conn *c = &f->conns[i];
	size_t k = FWD_REQUEST_LEN - c->req_len;
	const struct fwd_serve *s;

	if (k > n)
		k = n;
	memcpy(c->req + c->req_len, p, k);
	c->req_len = (uint8_t)(c->req_len + k);
	if (c->req_len < FWD_REQUEST_LEN)
		return k;
	c->port = (uint16_t)(c->req[0] << 8 | c->req[1]);
	s = served(f, c->port);
	if (s == NULL) {
		f->stats.refused++;
		report(f, "serve: refused %s's forward to port %u: not served", c->peer,
		       (unsigned)c->port);
		conn_fail(f, i, FWD_CODE_NOT_SERVED);
		return n;
	}
	c->fd = f->io.tcp_connect(f->io.ctx, s->host, s->port);
	if (c->fd < 0) {
		report(f, "serve: %s's forward to port %u: could not connect", c->peer,
		       (unsigned)c->port);
		conn_fail(f, i, FWD_CODE_CONNECT);
		return n;
	}
	f->stats.served++;
	c->state = FWD_CONNECTING;
	return k;
}

size_t fwd_stream_recv(struct fwd *f, void *link, uint64_t sid, const uint8_t *p, size_t n)
{
	int i = find_stream(f, link, sid);
	struct fwd_conn *c;
	size_t taken = 0;
	int64_t s;

	if (i < 0)
		return n; /* a connection given up: its bytes go nowhere */
	c = &f->conns[i];
	if (c->state == FWD_REQUEST) {
		taken = take_request(f, i, p, n);
		if (c->state != FWD_OPEN)
			return taken;
	}
	if (c->state != FWD_OPEN || c->wr_blocked || taken == n)
		return taken;
	s = f->io.tcp_send(f->io.ctx, c->fd, p + taken, n - taken);
	if (s < 0) {
		conn_fail(f, i, FWD_CODE_TCP_RESET);
		return n;
	}
	if ((size_t)s < n - taken)
		c->wr_blocked = 1;
	f->stats.bytes_out += (uint64_t)s;
	return taken + (size_t)s;
}

/* Passes the stream's FIN on to connection i's TCP end (shutdown for writing) once it is open and every byte went. */
static void shut_when_done(struct fwd *f, int i)
{
	struct fwd_conn *c = &f->conns[i];

	if (c->state == FWD_OPEN && c->stream_fin && !c->wr_blocked && !c->tcp_shut) {
		c->tcp_shut = 1;
		f->io.tcp_shutdown(f->io.ctx, c->fd);
	}
}

/* The peer reset connection i's stream, or asked us to stop, with code: say why, then reset the TCP end. */
static void on_peer_abort(struct fwd *f, int i, uint64_t code)
{
	struct fwd_conn *c = &f->conns[i];
	char label[128];

	if (!c->serving && (code == FWD_CODE_NOT_SERVED || code == FWD_CODE_CONNECT)) {
		spec_label(f, c->spec, label, sizeof(label));
		if (code == FWD_CODE_NOT_SERVED)
			report(f, "%s: %s does not serve port %u; connection reset", label, c->peer,
			       (unsigned)c->port);
		else
			report(f, "%s: %s could not connect to port %u; connection reset", label,
			       c->peer, (unsigned)c->port);
	}
	conn_fail(f, i, code);
}

void fwd_stream_event(struct fwd *f, void *link, uint64_t sid, int ev, uint64_t code)
{
	int i = find_stream(f, link, sid);
	struct fwd_conn *c;

	if (i < 0)
		return;
	c = &f->conns[i];
	switch (ev) {
	case STREAM_EV_FIN:
		if (c->state == FWD_REQUEST) {
			conn_fail(f, i, FWD_CODE_BAD_REQUEST);
			return;
		}
		c->stream_fin = 1;
		shut_when_done(f, i);
		break;
	case STREAM_EV_RESET:
	case STREAM_EV_STOPPED:
		on_peer_abort(f, i, code);
		break;
	case STREAM_EV_SENT:
		c->sent = 1;
		break;
	case STREAM_EV_CLOSED:
		c->has_stream = 0;
		conn_free(f, i, 0); /* both ways ended in order */
		break;
	default:
		break;
	}
}

void fwd_link_down(struct fwd *f, void *link)
{
	uint32_t n = 0;
	char peer[PROTO_NAME_MAX + 1] = "";

	for (int i = 0; i < FWD_CONNS_MAX; i++) {
		struct fwd_conn *c = &f->conns[i];

		if (c->state == FWD_FREE || c->state == FWD_WAITING || c->link != link)
			continue;
		memcpy(peer, c->peer, sizeof(peer));
		n++;
		f->stats.resets++;
		conn_free(f, i, 1); /* the stream went with the session */
	}
	if (n > 0)
		report(f, "forward: %s dropped; %u connection%s reset", peer, n, n == 1 ? "" : "s");
}

size_t fwd_read_room(const struct fwd *f, int i)
{
	const struct fwd_conn *c = &f->conns[i];
	int64_t room;

	if (c->state != FWD_OPEN || c->tcp_eof || !c->has_stream)
		return 0;
	room = f->io.room(f->io.ctx, c->link, c->sid);
	if (room <= 0)
		return 0;
	return room < FWD_CHUNK ? (size_t)room : FWD_CHUNK;
}

int fwd_want_write(const struct fwd *f, int i)
{
	const struct fwd_conn *c = &f->conns[i];

	return c->state == FWD_CONNECTING || (c->state == FWD_OPEN && c->wr_blocked);
}

int fwd_tcp_input(struct fwd *f, int i, const uint8_t *p, int64_t n)
{
	struct fwd_conn *c = &f->conns[i];
	int64_t w;

	if (c->state != FWD_OPEN)
		return 0;
	if (n < 0) {
		conn_fail(f, i, FWD_CODE_TCP_RESET);
		return 0;
	}
	if (n == 0) {
		c->tcp_eof = 1;
		if (f->io.finish(f->io.ctx, c->link, c->sid) < 0)
			conn_fail(f, i, FWD_CODE_TCP_RESET);
		return 0;
	}
	w = f->io.write(f->io.ctx, c->link, c->sid, p, (size_t)n);
	if (w != n) /* more than fwd_read_room allowed, or the stream is gone */
		conn_fail(f, i, FWD_CODE_TCP_RESET);
	else
		f->stats.bytes_in += (uint64_t)n;
	return 0;
}

void fwd_tcp_writable(struct fwd *f, int i, int ok)
{
	struct fwd_conn *c = &f->conns[i];

	if (c->state == FWD_CONNECTING) {
		if (!ok) {
			report(f, "serve: %s's forward to port %u: could not connect", c->peer,
			       (unsigned)c->port);
			conn_fail(f, i, FWD_CODE_CONNECT);
			return;
		}
		c->state = FWD_OPEN;
	} else if (c->state != FWD_OPEN) {
		return;
	}
	c->wr_blocked = 0;
	f->io.resume(f->io.ctx, c->link, c->sid); /* may call fwd_stream_recv and the FIN's event */
	shut_when_done(f, i);
}

int64_t fwd_tick(struct fwd *f, int64_t now)
{
	int64_t next = INT64_MAX;
	char label[128];

	for (int i = 0; i < FWD_CONNS_MAX; i++) {
		struct fwd_conn *c = &f->conns[i];

		if (c->state != FWD_WAITING)
			continue;
		if (conn_start(f, i) == 0)
			continue;
		if (now >= c->wait_until_ms) {
			f->stats.waited_out++;
			report(f, "%s: %s did not come in %d s; connection reset",
			       spec_label(f, c->spec, label, sizeof(label)), c->peer,
			       FWD_WAIT_MS / 1000);
			conn_free(f, i, 1);
			continue;
		}
		if (c->wait_until_ms < next)
			next = c->wait_until_ms;
	}
	return next;
}
