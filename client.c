/* client.c - p2pchat's logic: the entry points (client_handle, client_tick, client_init) and sending. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "ct.h"
#include "log.h"
#include "net.h"

/* ---- small helpers ---- */

/* Prints one formatted line on the client's output (stdout in main). */
void client_say(struct client *c, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->io.print(c->io.ctx, line);
}

/* Encodes m and sends it to `to`. An encoding failure is a bug: log it. */
void client_send_msg(struct client *c, const struct proto_addr *to, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int n;

	/* A request to a server goes sealed (registration.c), under that server's key. */
	if (proto_is_sealed(m->type)) {
		int si = client_server_index(c, to);

		client_send_request(c, si < 0 ? 0 : si, m);
		return;
	}
	n = proto_encode(m, buf, sizeof(buf));
	if (n < 0) {
		log_error("cannot encode %s: %s", proto_type_name(m->type), proto_strerror(n));
		return;
	}
	if (log_enabled(LOG_DEBUG)) {
		char a[NET_ADDRSTRLEN];

		log_debug("send %s to %s (%d bytes)", proto_type_name(m->type), net_addr_str(to, a), n);
	}
	if (c->last_sent_type == 0)
		c->last_sent_type = m->type;
	c->io.send(c->io.ctx, to, buf, (size_t)n);
	if (c->last_sent_type == m->type)
		c->last_sent_type = 0;
}

/* Fills m with a request to the server from us: type and our name (client_send_request seals it). */
void client_msg_to_server(const struct client *c, enum proto_type type, struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	snprintf(m->name, sizeof(m->name), "%s", c->cfg.name);
}

/* Returns a random non-zero epoch (xorshift32: epochs need to differ, not to be secret). */
uint32_t client_new_epoch(struct client *c)
{
	do {
		c->rng ^= c->rng << 13;
		c->rng ^= c->rng >> 17;
		c->rng ^= c->rng << 5;
	} while (c->rng == 0);
	return c->rng;
}

int64_t client_min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

void client_handle(struct client *c, const uint8_t *buf, size_t len,
		   const struct proto_addr *from, int64_t now)
{
	struct proto_msg m;
	int rc = proto_decode(buf, len, &m);
	char a[NET_ADDRSTRLEN];
	int si = client_server_index(c, from);

	if (si < 0)
		si = client_alt_index(c, from); /* a MAPPED, from a server's alternate port */
	c->now_ms = now;
	c->stats.received++;
	/* The servers' datagrams are opened first (registration.c): nobody else can refuse or introduce us. */
	if (si >= 0) {
		client_on_server(c, si, buf, len, now);
		return;
	}
	if (rc < 0) {
		c->stats.malformed++;
		log_debug("dropped datagram from %s: %s", net_addr_str(from, a), proto_strerror(rc));
		return;
	}
	log_debug("recv %s from %s", proto_type_name(m.type), net_addr_str(from, a));
	if (proto_is_peer_type(m.type)) {
		struct route direct = client_direct_route(from);

		client_on_peer_datagram(c, &m, &direct, NULL, now);
		return;
	}
	/* Anything else from elsewhere: only the server talks to us in its messages. */
	c->stats.stray++;
}

void client_handle_spare(struct client *c, int sock, const uint8_t *buf, size_t len,
			 const struct proto_addr *from, int64_t now)
{
	struct proto_msg m;
	struct route r = client_direct_route(from);

	c->now_ms = now;
	c->stats.received++;
	if (proto_decode(buf, len, &m) < 0) {
		c->stats.malformed++;
		return;
	}
	if (!proto_is_peer_type(m.type)) {
		c->stats.stray++; /* the server never talks to these sockets */
		return;
	}
	r.sock = sock;
	client_on_peer_datagram(c, &m, &r, NULL, now);
}

int64_t client_tick(struct client *c, int64_t now)
{
	int64_t next;

	c->now_ms = now;
	next = client_tick_registration(c, now);
	next = client_min64(next, client_tick_who(c, now));
	next = client_min64(next, client_tick_nat(c, now));
	next = client_min64(next, client_tick_transfers(c, now));
	for (int i = 0; i < c->npeers; i++) {
		next = client_min64(next, client_tick_peer(c, c->peers[i], now));
		next = client_min64(next, client_tick_session(c, c->peers[i], now));
		next = client_min64(next, client_tick_birthday(c, c->peers[i], now));
		next = client_min64(next, client_tick_streams(c, c->peers[i], now));
	}
	return next;
}

/* ---- setup and queries ---- */

int client_init(struct client *c, const struct client_config *cfg, const struct client_io *io,
		const char *peer, int64_t now)
{
	memset(c, 0, sizeof(*c));
	/* stream_conn_init's range: a connection it refused would leave the peer without streams */
	if (cfg->stream_buf != 0 && (cfg->stream_buf < STREAM_INITIAL_WINDOW || cfg->stream_buf > 1u << 30))
		return -1;
	c->cfg = *cfg;
	c->io = *io;
	c->rng = cfg->seed ? cfg->seed : 1;
	if (c->cfg.nservers < 1 || c->cfg.nservers > CLIENT_MAX_SERVERS)
		c->cfg.nservers = 1;
	for (int i = 0; i < c->cfg.nservers; i++) {
		c->srv[i].next_reg_ms = now;
		c->srv[i].reg_retry_ms = CLIENT_RETRY_MS;
		c->srv[i].reg_since_ms = -1;
		c->srv[i].nat_next_ms = -1;
	}
	c->who_until_ms = -1;
	c->now_ms = now;
	session_identity_init(&c->id, cfg->id.secret);
	client_random(c, &c->instance, sizeof(c->instance));
	client_transfers_init(c);
	client_lines_init(c);
	c->unsolicited_tokens_ms = now - (int64_t)CLIENT_UNSOLICITED_BURST * CLIENT_UNSOLICITED_EVERY_MS;
	if (peer != NULL) {
		if (!proto_name_valid(peer) || strcmp(peer, cfg->name) == 0)
			return -1;
		client_cmd_chat(c, peer, now);
	}
	return 0;
}

void client_free(struct client *c)
{
	client_transfers_free(c);
	for (int i = 0; i < c->npeers; i++)
		client_peer_free(c->peers[i]);
	c->npeers = 0;
	client_forget_keys(c);
	ct_wipe(&c->id, sizeof(c->id));
}

uint32_t client_pending(const struct client *c)
{
	uint32_t n = 0;

	for (int i = 0; i < c->npeers; i++)
		n += client_lines_pending(c->peers[i]);
	return n + client_transfers_pending(c);
}

int client_who_busy(const struct client *c)
{
	return c->who_until_ms >= 0;
}

int client_has_room(const struct client *c)
{
	for (int i = 0; i < c->npeers; i++)
		if (client_lines_room(c->peers[i]) == 0)
			return 0;
	return 1;
}

void client_shutdown(struct client *c, int64_t now)
{
	struct proto_msg m;

	c->now_ms = now;
	client_transfers_shutdown(c);
	for (int i = 0; i < c->npeers; i++) {
		struct peer *p = c->peers[i];

		if (p->state == PEER_CONNECTED) {
			client_msg_to_peer(p, PROTO_BYE, &m);
			client_send_route(c, p, &p->path, &m);
		}
		client_fail_pending(c, p, "quit before it was delivered");
		session_peer_wipe(&p->sess); /* nothing more goes out: the keys go */
		client_session_reset(p);
	}
}

int client_peer_names(const struct client *c, const char **out, int max)
{
	int n = 0;

	for (int i = 0; i < c->npeers && n < max; i++)
		out[n++] = c->peers[i]->name;
	return n;
}

