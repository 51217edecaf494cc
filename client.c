/* client.c - p2pchat, the terminal chat client: register, look up, punch, chat. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "log.h"
#include "net.h"
#include "term.h"

/*
 * How a chat starts (Ford, Srisuresh & Kegel, section 3; RFC 5128, 3.3):
 *
 *   1. REGISTER tells the server our name and our private endpoints; the
 *      server answers with the public endpoint it saw (our NAT's mapping).
 *   2. LOOKUP asks for a peer. The server sends a PEER introduction to us
 *      and to the peer at once, with the same nonce.
 *   3. Both sides PROBE every endpoint of the other every 100 ms. Our
 *      outgoing probes open our NAT for the peer's; the first PROBE_ACK
 *      names a working path.
 *   4. DATA and ACK flow on that path through the reliable channel
 *      (chan.c); PING and PONG keep the NAT mappings open when idle.
 *
 * Where no direct path works (a NAT that maps each destination apart,
 * RFC 4787's "symmetric"), the server relays: a peer-to-peer datagram goes
 * to it wrapped in a RELAY and comes out as RELAYED (Ford, Srisuresh &
 * Kegel, section 2.1). A PROBE goes through the relay as soon as punching
 * starts, so the first line need not wait for the punch; a direct answer
 * then moves the chat off the relay, and a relayed chat looks for a direct
 * path again now and then. Only where datagrams go changes: the reliable
 * channel is the same on every path.
 */

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
static void send_msg(struct client *c, const struct proto_addr *to, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int n = proto_encode(m, buf, sizeof(buf));

	if (n < 0) {
		log_error("cannot encode %s: %s", proto_type_name(m->type), proto_strerror(n));
		return;
	}
	if (log_enabled(LOG_DEBUG)) {
		char a[NET_ADDRSTRLEN];

		log_debug("send %s to %s (%d bytes)", proto_type_name(m->type), net_addr_str(to, a), n);
	}
	c->io.send(c->io.ctx, to, buf, (size_t)n);
}

/* Fills m with a request to the server from us: type, our token and our name. */
static void server_msg(const struct client *c, enum proto_type type, struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	memcpy(m->token, c->cfg.token, PROTO_TOKEN_LEN);
	snprintf(m->name, sizeof(m->name), "%s", c->cfg.name);
}

/* Returns a random non-zero epoch (xorshift32: epochs need to differ, not to be secret). */
static uint32_t new_epoch(struct client *c)
{
	do {
		c->rng ^= c->rng << 13;
		c->rng ^= c->rng >> 17;
		c->rng ^= c->rng << 5;
	} while (c->rng == 0);
	return c->rng;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* ---- peers ---- */

static struct peer *peer_find(struct client *c, const char *name)
{
	for (int i = 0; i < c->npeers; i++)
		if (strcmp(c->peers[i]->name, name) == 0)
			return c->peers[i];
	return NULL;
}

/* Returns the introduced peer whose nonce this is, or NULL. */
static struct peer *peer_by_nonce(struct client *c, const uint8_t nonce[PROTO_NONCE_LEN])
{
	for (int i = 0; i < c->npeers; i++)
		if (c->peers[i]->introduced &&
		    memcmp(c->peers[i]->nonce, nonce, PROTO_NONCE_LEN) == 0)
			return c->peers[i];
	return NULL;
}

/* Returns the peer called name, created in PEER_OFFLINE if new; NULL when the table is full. */
static struct peer *peer_get(struct client *c, const char *name)
{
	struct peer *p = peer_find(c, name);

	if (p != NULL)
		return p;
	if (c->npeers == CLIENT_MAX_PEERS)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->chan = malloc(sizeof(*p->chan));
	if (p->chan == NULL) {
		free(p);
		return NULL;
	}
	chan_init(p->chan);
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->state = PEER_OFFLINE;
	p->my_epoch = new_epoch(c);
	p->next_lookup_ms = -1;
	p->punch_start_ms = -1;
	p->next_probe_ms = -1;
	p->last_heard_ms = -1;
	p->ping_out_ms = -1;
	p->next_ping_ms = -1;
	p->wait_until_ms = -1;
	p->rtt_ms = -1;
	c->peers[c->npeers++] = p;
	return p;
}

/* Fills m with the common fields of a peer-to-peer message. */
static void peer_msg(const struct peer *p, enum proto_type type, struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	memcpy(m->nonce, p->nonce, PROTO_NONCE_LEN);
	m->epoch = p->my_epoch;
	m->peer_epoch = p->peer_epoch;
}

/* The route straight to addr. */
static struct route direct_route(const struct proto_addr *addr)
{
	struct route r;

	memset(&r, 0, sizeof(r));
	r.addr = *addr;
	return r;
}

/* The route through the server's relay. */
static struct route relay_route(const struct client *c)
{
	struct route r = direct_route(&c->cfg.server);

	r.relay = 1;
	return r;
}

/*
 * Sends the peer-to-peer message m to p by route r: straight to its
 * address, or encoded whole into a RELAY that the server passes on to p.
 */
static void send_route(struct client *c, const struct peer *p, const struct route *r,
		       const struct proto_msg *m)
{
	struct proto_msg relay;
	int n;

	if (!r->relay) {
		send_msg(c, &r->addr, m);
		return;
	}
	server_msg(c, PROTO_RELAY, &relay);
	snprintf(relay.target, sizeof(relay.target), "%s", p->name);
	n = proto_encode(m, relay.payload, sizeof(relay.payload));
	if (n < 0) {
		log_error("cannot encode %s: %s", proto_type_name(m->type), proto_strerror(n));
		return;
	}
	relay.payload_len = (uint16_t)n;
	log_debug("relay %s to %s", proto_type_name(m->type), p->name);
	send_msg(c, &c->cfg.server, &relay);
}

/* Returns 1 when the server's relay may carry what direct paths cannot: registered, not refused. */
static int relay_usable(const struct client *c)
{
	return c->registered && !c->relay_off;
}

/* Returns 1 when p is connected through the server's relay. */
static int relayed(const struct peer *p)
{
	return p->state == PEER_CONNECTED && p->path.relay;
}

/* Returns 1 when p is connected through the relay and probes directly for a way off it. */
static int bursting(const struct peer *p, int64_t now)
{
	return relayed(p) && now < p->probe_until_ms;
}

/* Returns 1 when addr is one of the private endpoints the peer reported. */
static int is_private_ep(const struct peer *p, const struct proto_addr *addr)
{
	for (int i = 0; i < p->nprivate; i++)
		if (proto_addr_equal(&p->private_ep[i], addr))
			return 1;
	return 0;
}

static const char *path_name(enum path_kind k)
{
	switch (k) {
	case PATH_PRIVATE: return "private";
	case PATH_PUBLIC: return "public";
	case PATH_RELAY: return "relay";
	case PATH_NONE: break;
	}
	return "none";
}

static const char *state_name(enum peer_state s)
{
	switch (s) {
	case PEER_LOOKUP: return "looking up";
	case PEER_PUNCH: return "punching";
	case PEER_CONNECTED: return "connected";
	case PEER_OFFLINE: return "offline";
	}
	return "?";
}

/* ---- the reliable channel's callbacks ---- */

/* What the chan_io callbacks need to know: who, where to, when, and why lines fail. */
struct chan_ctx {
	struct client *c;
	struct peer *p;
	const struct route *to;
	const char *why; /* for failed lines */
};

static void cb_send_data(void *ctx, uint32_t seq, uint8_t flags, const char *text, size_t len)
{
	struct chan_ctx *x = ctx;
	struct proto_msg m;

	peer_msg(x->p, PROTO_DATA, &m);
	m.seq = seq;
	m.flags = flags;
	m.text_len = (uint16_t)len;
	memcpy(m.text, text, len);
	send_route(x->c, x->p, x->to, &m);
}

static void cb_send_ack(void *ctx, uint32_t next_expected, uint32_t sack)
{
	struct chan_ctx *x = ctx;
	struct proto_msg m;

	peer_msg(x->p, PROTO_ACK, &m);
	m.ack = next_expected;
	m.sack = sack;
	send_route(x->c, x->p, x->to, &m);
}

/* A whole line arrived: show it, made safe for the terminal. */
static void cb_deliver(void *ctx, uint8_t flags, const char *text, size_t len)
{
	struct chan_ctx *x = ctx;
	char safe[PROTO_LINE_MAX * 3 + 1];
	char line[sizeof(safe) + PROTO_NAME_MAX + 8];

	term_sanitize(text, len, safe, sizeof(safe));
	if (flags & PROTO_DATA_ACTION)
		snprintf(line, sizeof(line), "* %s %s", x->p->name, safe);
	else
		snprintf(line, sizeof(line), "<%s> %s", x->p->name, safe);
	x->c->io.print(x->c->io.ctx, line);
}

static void cb_delivered(void *ctx, uint32_t msg_id)
{
	struct chan_ctx *x = ctx;

	(void)msg_id;
	x->c->stats.delivered_lines++;
}

static void cb_failed(void *ctx, uint32_t msg_id, uint8_t flags, const char *text, size_t len)
{
	struct chan_ctx *x = ctx;

	(void)msg_id, (void)flags, (void)text, (void)len;
	x->c->stats.failed_lines++;
	client_say(x->c, "* message to %s not delivered: %s", x->p->name, x->why);
}

static struct chan_io chan_io_for(struct chan_ctx *x)
{
	struct chan_io io = {
		.ctx = x,
		.send_data = cb_send_data,
		.send_ack = cb_send_ack,
		.deliver = cb_deliver,
		.delivered = cb_delivered,
		.failed = cb_failed,
	};
	return io;
}

/* Reports every line queued for p as not delivered, for the reason `why`. */
static void fail_pending(struct client *c, struct peer *p, const char *why)
{
	struct chan_ctx x = { c, p, &p->path, why };
	struct chan_io io = chan_io_for(&x);

	/* The peer may be waiting for the sequence numbers dropped here: start afresh next time. */
	if (chan_pending(p->chan) > 0)
		p->renew_epoch = 1;
	chan_fail_all(p->chan, &io);
}

/* ---- connection state changes ---- */

/* The pair of epochs changed: both directions of the channel start again from 0. */
static void restart_channel(struct peer *p)
{
	chan_restart_send(p->chan);
	chan_restart_recv(p->chan);
}

/*
 * Starts a connection attempt: probes from now on. The epochs, and with
 * them the channel's sequence numbers, carry over from an earlier
 * connection, so that a line both sides already handled is not shown
 * twice; only when lines were dropped (a gap the peer would wait on
 * forever) does a new epoch of ours start both directions afresh.
 */
static void start_punch(struct client *c, struct peer *p, int64_t now)
{
	p->state = PEER_PUNCH;
	if (p->renew_epoch) {
		p->my_epoch = new_epoch(c);
		restart_channel(p);
		p->renew_epoch = 0;
	}
	p->punch_start_ms = now;
	p->next_lookup_ms = now + CLIENT_LOOKUP_RETRY_MS;
	p->next_probe_ms = now;
	p->probe_until_ms = now + CLIENT_PUNCH_MS;
	p->next_relay_probe_ms = now; /* at once: the first line may go before the punch works */
	p->relay_ok = 0;
	p->prefer_private_until_ms = -1;
	memset(&p->path, 0, sizeof(p->path));
	p->path_kind = PATH_NONE;
}

/*
 * Relayed: probe directly for CLIENT_UPGRADE_BURST_MS from now on (the
 * first probes go out on the next tick), and again CLIENT_UPGRADE_EVERY_MS
 * later.
 */
static void start_burst(struct peer *p, int64_t now)
{
	p->probe_until_ms = now + CLIENT_UPGRADE_BURST_MS;
	p->next_probe_ms = now;
	p->next_upgrade_ms = now + CLIENT_UPGRADE_EVERY_MS;
}

/* Asks the server about p from now on (at once if registered). */
static void start_lookup(struct peer *p, int64_t now)
{
	p->state = PEER_LOOKUP;
	p->next_lookup_ms = now;
}

/* Tells the server how we reached p: its operator counts direct and relayed punches. */
static void send_report(struct client *c, const struct peer *p)
{
	struct proto_msg m;

	server_msg(c, PROTO_REPORT, &m);
	snprintf(m.target, sizeof(m.target), "%s", p->name);
	m.path = p->path_kind == PATH_PRIVATE ? PROTO_PATH_PRIVATE :
		 p->path_kind == PATH_PUBLIC ? PROTO_PATH_PUBLIC : PROTO_PATH_RELAY;
	send_msg(c, &c->cfg.server, &m);
}

/*
 * A path answered: the chat can flow, on it. Connected already, on the
 * relay, this is the move to a direct path, and said the same way.
 */
static void connect_via(struct client *c, struct peer *p, const struct route *r, int64_t now)
{
	char a[NET_ADDRSTRLEN];
	struct proto_msg m;

	p->state = PEER_CONNECTED;
	p->path = *r;
	/* A host without a NAT reports its public address as private too: that is public. */
	if (r->relay)
		p->path_kind = PATH_RELAY;
	else if (is_private_ep(p, &r->addr) && !proto_addr_equal(&r->addr, &p->public_ep))
		p->path_kind = PATH_PRIVATE;
	else
		p->path_kind = PATH_PUBLIC;
	p->prefer_private_until_ms = -1;
	p->wait_until_ms = -1;
	p->said_not_online = 0;
	p->last_heard_ms = now;
	client_say(c, "* connected to %s via %s (%s)", p->name, net_addr_str(&r->addr, a),
	    path_name(p->path_kind));
	/* Nobody to talk to yet: whoever connects is who a plain line answers. */
	if (c->current[0] == '\0')
		snprintf(c->current, sizeof(c->current), "%s", p->name);
	/* A first PING at once gives /peers a round-trip time. */
	peer_msg(p, PROTO_PING, &m);
	m.stamp = (uint32_t)now;
	send_route(c, p, &p->path, &m);
	p->ping_out_ms = now;
	p->next_ping_ms = now + CLIENT_PING_RETRY_MS;
	if (r->relay) {
		/*
		 * Direct probing goes on to the end of the punch window, and a
		 * direct answer moves the chat off the relay. The REPORT waits
		 * for that end: a relay that only carried the first lines of
		 * a punch that then worked is no relayed connection.
		 */
		p->relay_reported = 0;
		p->next_upgrade_ms = now + CLIENT_UPGRADE_EVERY_MS;
		return;
	}
	p->probe_until_ms = -1;
	send_report(c, p);
}

/* Why lines to p could not go out, for "* message to NAME not delivered: WHY". */
static const char *why_unreachable(const struct client *c, const struct peer *p, char *buf,
				   size_t cap)
{
	if (!c->registered)
		snprintf(buf, cap, "the server is not answering");
	else if (p->said_not_online || !p->introduced)
		snprintf(buf, cap, "%s is not online", p->name);
	else
		snprintf(buf, cap, "no answer from %s", p->name);
	return buf;
}

/* The peer stopped answering or left: say so; try again for a while if lines wait. */
static void peer_lost(struct client *c, struct peer *p, int64_t now, const char *why)
{
	log_info("%s: %s", p->name, why);
	client_say(c, "* %s is offline", p->name);
	p->state = PEER_OFFLINE;
	p->path_kind = PATH_NONE;
	p->ping_out_ms = -1;
	if (chan_pending(p->chan) > 0) {
		/* Perhaps its NAT forgot us: ask for a new introduction while -w allows. */
		start_lookup(p, now);
		p->wait_until_ms = now + c->cfg.wait_ms;
	}
}

/* ---- messages from the server ---- */

static void on_registered(struct client *c, const struct proto_msg *m, int64_t now)
{
	char a[NET_ADDRSTRLEN];

	if (strcmp(m->name, c->cfg.name) != 0)
		return;
	if (!c->ever_registered || !proto_addr_equal(&c->public_ep, &m->public_ep))
		client_say(c, "* registered as %s (public %s)", c->cfg.name, net_addr_str(&m->public_ep, a));
	/* A new registration (a restarted server, other options?): the relay may be on again. */
	if (!c->registered)
		c->relay_off = 0;
	c->registered = 1;
	c->ever_registered = 1;
	c->public_ep = m->public_ep;
	memcpy(c->cookie, m->cookie, PROTO_COOKIE_LEN);
	c->reg_retry_ms = CLIENT_RETRY_MS;
	c->reg_since_ms = -1;
	c->warned_server = 0;
	/* Three refreshes a TTL (of 1 s at least): one or two may be lost, the name lives on. */
	c->next_reg_ms = now + min64(CLIENT_REFRESH_MS, (m->ttl_s > 0 ? m->ttl_s : 1) * 1000 / 3);
}

/*
 * COOKIE: the server wants proof that we receive at the address it sees
 * (a first REGISTER, a NAT that gave us a new mapping, a server that
 * restarted with a new key). Send the request again at once with the
 * cookie. A cookie we already sent does not hurry us: that answer was to
 * an older request, and the retry timer takes care of this one.
 */
static void on_cookie(struct client *c, const struct proto_msg *m, int64_t now)
{
	if (memcmp(c->cookie, m->cookie, PROTO_COOKIE_LEN) == 0)
		return;
	memcpy(c->cookie, m->cookie, PROTO_COOKIE_LEN);
	log_debug("the server sent a cookie: registering again with it");
	c->next_reg_ms = now;
}

static void on_peer_intro(struct client *c, const struct proto_msg *m, int64_t now)
{
	struct peer *p = peer_get(c, m->name);
	int same_nonce, same;

	if (p == NULL) {
		log_warn("no room for peer %s (at most %d)", m->name, CLIENT_MAX_PEERS);
		return;
	}
	same_nonce = p->introduced && memcmp(p->nonce, m->nonce, PROTO_NONCE_LEN) == 0;
	same = same_nonce && proto_addr_equal(&p->public_ep, &m->public_ep);
	p->introduced = 1;
	memcpy(p->nonce, m->nonce, PROTO_NONCE_LEN);
	p->public_ep = m->public_ep;
	p->nprivate = m->nprivate;
	memcpy(p->private_ep, m->private_ep, sizeof(p->private_ep));
	p->said_not_online = 0;
	/*
	 * On the relay, the peer asked again to look for a direct path
	 * (tick_upgrade): look with it, where the server sees it now.
	 */
	if (same_nonce && relayed(p)) {
		if (!bursting(p, now))
			start_burst(p, now);
		return;
	}
	/*
	 * Two lookups that cross give both sides two identical introductions:
	 * an attempt under way goes on. A new nonce or a new public endpoint
	 * (the peer restarted, or its NAT mapping changed) means a new attempt.
	 */
	if (same && (p->state == PEER_PUNCH || p->state == PEER_CONNECTED))
		return;
	start_punch(c, p, now);
}

/*
 * The server does not relay: connect directly or not at all. A chat on the
 * relay goes back to punching, its lines waiting for a direct path as long
 * as -w allows.
 */
static void on_relay_off(struct client *c, int64_t now)
{
	if (c->relay_off)
		return;
	c->relay_off = 1;
	client_say(c, "* the server does not relay: direct paths only");
	for (int i = 0; i < c->npeers; i++) {
		struct peer *p = c->peers[i];

		p->relay_ok = 0;
		if (!relayed(p))
			continue;
		start_punch(c, p, now);
		if (chan_pending(p->chan) > 0 && p->wait_until_ms < 0)
			p->wait_until_ms = now + c->cfg.wait_ms;
	}
}

static void on_error(struct client *c, const struct proto_msg *m, int64_t now)
{
	struct peer *p;

	switch (m->code) {
	case PROTO_E_NAME_TAKEN:
		client_say(c, "* name %s is taken: another user holds it (try another name)", c->cfg.name);
		c->fatal = 1;
		break;
	case PROTO_E_TABLE_FULL:
		client_say(c, "* the server is full: it cannot register %s now", c->cfg.name);
		c->fatal = 1;
		break;
	case PROTO_E_TOO_MANY_NAMES:
		client_say(c, "* the server holds as many names from this address as it allows: "
		       "it cannot register %s now", c->cfg.name);
		c->fatal = 1;
		break;
	case PROTO_E_ADDRESS:
		/* Our NAT gave us a new mapping: refresh from it now, then ask again. */
		log_info("the server knows us at another address: refreshing");
		c->next_reg_ms = now;
		break;
	case PROTO_E_VERSION:
		client_say(c, "* the server speaks protocol version %u, this client %u", m->detail,
		    PROTO_VERSION);
		c->fatal = 1;
		break;
	case PROTO_E_UNKNOWN:
		/* The server forgot us (it restarted, or our refreshes were lost): register now. */
		log_info("the server does not know us: registering again");
		c->registered = 0;
		c->ever_registered = 0; /* say so again when it is done */
		c->next_reg_ms = now;
		break;
	case PROTO_E_WHO_OFF:
		if (c->who_until_ms < 0)
			return;
		client_say(c, "* the server does not list names");
		c->who_until_ms = -1;
		break;
	case PROTO_E_RELAY_OFF:
		on_relay_off(c, now);
		break;
	case PROTO_E_NOT_ONLINE:
		p = peer_find(c, m->name);
		if (p == NULL || p->state != PEER_LOOKUP)
			return;
		if (!p->said_not_online)
			client_say(c, "* %s is not online", p->name);
		p->said_not_online = 1;
		p->introduced = 0;
		/* Lines waiting: ask again until -w runs out. Nothing waiting: stop here. */
		if (p->wait_until_ms < 0)
			p->state = PEER_OFFLINE;
		break;
	default:
		log_warn("server error %u: %s", m->code, proto_error_text(m->code));
	}
}

/* Asks the server for the /who page at c->who_cursor. */
static void send_who(struct client *c, int64_t now)
{
	struct proto_msg m;

	server_msg(c, PROTO_WHO, &m);
	m.cursor = c->who_cursor;
	send_msg(c, &c->cfg.server, &m);
	c->who_next_ms = now + CLIENT_WHO_RETRY_MS;
}

/* One page of /who: show its names on one line, then ask for the next page. */
static void on_who_reply(struct client *c, const struct proto_msg *m, int64_t now)
{
	char line[16 + PROTO_WHO_MAX * (PROTO_NAME_MAX + 1)];
	size_t off;

	/* Not the page we wait for: a late answer to a page asked for twice. */
	if (c->who_until_ms < 0 || m->cursor != c->who_cursor)
		return;
	if (m->nnames > 0) {
		off = (size_t)snprintf(line, sizeof(line), "* online:");
		for (int i = 0; i < m->nnames; i++)
			off += (size_t)snprintf(line + off, sizeof(line) - off, " %s", m->names[i]);
		c->io.print(c->io.ctx, line);
		c->who_listed += m->nnames;
	}
	/* The cursor only moves on, so a listing ends even if the server's answers are wrong. */
	if (m->next == 0 || m->next <= m->cursor) {
		if (c->who_listed == 0)
			client_say(c, "* online: nobody");
		c->who_until_ms = -1;
		return;
	}
	c->who_cursor = m->next;
	c->who_until_ms = now + CLIENT_WHO_TIMEOUT_MS;
	send_who(c, now);
}

/* ---- messages from peers ---- */

/* The peer's epoch in a probe: a new one means a new incarnation of the channel. */
static void note_peer_epoch(struct peer *p, uint32_t epoch)
{
	if (p->peer_epoch == epoch)
		return;
	if (p->peer_epoch != 0)
		log_info("%s started a new connection", p->name);
	p->peer_epoch = epoch;
	restart_channel(p);
}

static void on_probe(struct client *c, struct peer *p, const struct proto_msg *m,
		     const struct route *from, int64_t now)
{
	struct proto_msg ack;

	if (strcmp(m->name, p->name) != 0)
		return;
	if (p->state == PEER_OFFLINE || p->state == PEER_LOOKUP)
		start_punch(c, p, now); /* it wants to talk: so do we */
	note_peer_epoch(p, m->epoch);
	/*
	 * Answer where the probe came from, whatever address that is (its NAT
	 * may have picked a new port), or through the relay if it came so.
	 */
	peer_msg(p, PROTO_PROBE_ACK, &ack);
	snprintf(ack.name, sizeof(ack.name), "%s", c->cfg.name);
	send_route(c, p, from, &ack);
	/*
	 * Relayed, and the peer probes: its probes got through, or it punches
	 * anew. Probe with it: both NATs must have sent before either lets
	 * the other's probes in.
	 */
	if (relayed(p) && !bursting(p, now))
		start_burst(p, now);
	if ((p->state == PEER_PUNCH || relayed(p)) && !from->relay &&
	    !is_private_ep(p, &from->addr) && !proto_addr_equal(&from->addr, &p->public_ep))
		p->seen_ep = from->addr; /* probe it too: the path its packets take */
}

/*
 * Returns 1 when a datagram from p by `from` shows a path to connect by:
 * any that works while punching, except the relay when a direct endpoint
 * answered already (it is taken within CLIENT_PREFER_PRIVATE_MS); and, on
 * the relay, any direct one.
 */
static int path_better(const struct peer *p, const struct route *from)
{
	if (p->state == PEER_PUNCH)
		return !from->relay || p->prefer_private_until_ms < 0;
	return relayed(p) && !from->relay;
}

/*
 * Returns 1 when p, punching, should go on the relay now: the relay
 * answered, no direct endpoint did, and a line waits or the punch had
 * CLIENT_RELAY_GRACE_MS to work. Where the server is nearer than the peer,
 * the relay answers before the punch does; with nothing to send there is
 * no hurry, and the chat starts direct rather than moving there at once.
 */
static int relay_now(const struct peer *p, int64_t now)
{
	return p->relay_ok && p->prefer_private_until_ms < 0 &&
	       (chan_pending(p->chan) > 0 || now - p->punch_start_ms >= CLIENT_RELAY_GRACE_MS);
}

static void on_probe_ack(struct client *c, struct peer *p, const struct proto_msg *m,
			 const struct route *from, int64_t now)
{
	if (strcmp(m->name, p->name) != 0 || !path_better(p, from))
		return;
	note_peer_epoch(p, m->epoch);
	if (from->relay) {
		p->relay_ok = 1;
		if (relay_now(p, now))
			connect_via(c, p, from, now);
		return;
	}
	/* Prefer a private path: a public one that answers first waits a moment for it. */
	if (is_private_ep(p, &from->addr) || p->nprivate == 0) {
		connect_via(c, p, from, now);
	} else if (p->prefer_private_until_ms < 0) {
		p->direct_ep = from->addr;
		p->prefer_private_until_ms = now + CLIENT_PREFER_PRIVATE_MS;
	}
}

/* Returns 1 when a DATA or ACK belongs to the current pair of epochs. */
static int epochs_current(struct client *c, const struct peer *p, const struct proto_msg *m)
{
	if (m->epoch == p->peer_epoch && m->peer_epoch == p->my_epoch)
		return 1;
	c->stats.stale++;
	return 0;
}

static void on_data(struct client *c, struct peer *p, const struct proto_msg *m,
		    const struct route *from, int64_t now)
{
	struct chan_ctx x = { c, p, from, "" };
	struct chan_io io = chan_io_for(&x);

	if (!epochs_current(c, p, m))
		return;
	/*
	 * Our PROBE_ACK reached it and its data reached us: this path works
	 * both ways. And a peer we gave up on (it was silent: paused, or cut
	 * off) that sends the data of our connection is back: were its lines
	 * dropped unacknowledged, it would wait on us for ever, its PINGs
	 * answered all along.
	 */
	if (path_better(p, from) || p->state == PEER_OFFLINE || p->state == PEER_LOOKUP)
		connect_via(c, p, from, now);
	chan_on_data(p->chan, m->seq, m->flags, m->text, m->text_len, &io);
}

static void on_ack(struct client *c, struct peer *p, const struct proto_msg *m, int64_t now)
{
	struct chan_ctx x = { c, p, &p->path, "" };
	struct chan_io io = chan_io_for(&x);

	if (p->state != PEER_CONNECTED || !epochs_current(c, p, m))
		return;
	chan_on_ack(p->chan, m->ack, m->sack, now, &io);
}

static void on_ping(struct client *c, struct peer *p, const struct proto_msg *m,
		    const struct route *from)
{
	struct proto_msg pong;

	peer_msg(p, PROTO_PONG, &pong);
	pong.stamp = m->stamp;
	send_route(c, p, from, &pong);
}

static void on_pong(struct peer *p, const struct proto_msg *m, int64_t now)
{
	/* The stamp is our clock's low 32 bits when we pinged: unsigned subtraction wraps right. */
	p->rtt_ms = (uint32_t)now - m->stamp;
}

/* Dispatches a peer-to-peer message from p (NULL: from nobody we know) to its handler. */
static void on_peer_msg(struct client *c, struct peer *p, const struct proto_msg *m,
			const struct route *from, int64_t now)
{
	if (p == NULL) {
		/* A probe sent to a private address can land on an unrelated host: that is us now. */
		c->stats.stray++;
		log_debug("stray %s (unknown nonce)", proto_type_name(m->type));
		return;
	}
	p->last_heard_ms = now;
	p->ping_out_ms = -1; /* anything from it proves it is alive */
	/*
	 * It moved (its NAT gave it a new port): follow it, the nonce vouches
	 * for it. Its other known endpoints are not a move: each side may
	 * have picked a different one of two working paths.
	 */
	if (p->state == PEER_CONNECTED && (m->type == PROTO_DATA || m->type == PROTO_PING) &&
	    !p->path.relay && !from->relay && !proto_addr_equal(&from->addr, &p->path.addr) &&
	    !is_private_ep(p, &from->addr) && !proto_addr_equal(&from->addr, &p->public_ep)) {
		char a[NET_ADDRSTRLEN];

		log_info("%s now at %s", p->name, net_addr_str(&from->addr, a));
		p->path = *from;
		p->path_kind = PATH_PUBLIC;
	}
	switch (m->type) {
	case PROTO_PROBE: on_probe(c, p, m, from, now); break;
	case PROTO_PROBE_ACK: on_probe_ack(c, p, m, from, now); break;
	case PROTO_DATA: on_data(c, p, m, from, now); break;
	case PROTO_ACK: on_ack(c, p, m, now); break;
	case PROTO_PING: on_ping(c, p, m, from); break;
	case PROTO_PONG: on_pong(p, m, now); break;
	case PROTO_BYE:
		/* Only from the connection we have: a late BYE of an earlier one changes nothing. */
		if (p->state == PEER_CONNECTED && m->epoch == p->peer_epoch)
			peer_lost(c, p, now, "said goodbye");
		break;
	default: break;
	}
}

/*
 * RELAYED: a peer's datagram, passed on by the server. It is handled as if
 * it came from the peer, and answered through the relay. The server
 * vouches for the sender's name: the nonce inside must be the one we share
 * with that name.
 */
static void on_relayed(struct client *c, const struct proto_msg *m, int64_t now)
{
	struct route via = relay_route(c);
	struct proto_msg inner;
	struct peer *p;
	int rc = proto_decode(m->payload, m->payload_len, &inner);

	if (rc < 0 || !proto_is_peer_type(inner.type)) {
		c->stats.malformed++;
		log_debug("dropped a datagram relayed from %s: %s", m->name,
			  rc < 0 ? proto_strerror(rc) : "not for a peer");
		return;
	}
	c->stats.relayed++;
	log_debug("relayed %s from %s", proto_type_name(inner.type), m->name);
	p = peer_by_nonce(c, inner.nonce);
	if (p != NULL && strcmp(p->name, m->name) != 0)
		p = NULL;
	on_peer_msg(c, p, &inner, &via, now);
}

void client_handle(struct client *c, const uint8_t *buf, size_t len,
		   const struct proto_addr *from, int64_t now)
{
	struct proto_msg m;
	int rc = proto_decode(buf, len, &m);
	char a[NET_ADDRSTRLEN];

	c->stats.received++;
	if (rc < 0) {
		c->stats.malformed++;
		log_debug("dropped datagram from %s: %s", net_addr_str(from, a), proto_strerror(rc));
		return;
	}
	log_debug("recv %s from %s", proto_type_name(m.type), net_addr_str(from, a));
	if (proto_is_peer_type(m.type)) {
		struct route direct = direct_route(from);

		on_peer_msg(c, peer_by_nonce(c, m.nonce), &m, &direct, now);
		return;
	}
	/* Server messages count only from the server: nobody else can refuse or introduce us. */
	if (!proto_addr_equal(from, &c->cfg.server)) {
		c->stats.stray++;
		return;
	}
	switch (m.type) {
	case PROTO_REGISTERED: on_registered(c, &m, now); break;
	case PROTO_COOKIE: on_cookie(c, &m, now); break;
	case PROTO_PEER: on_peer_intro(c, &m, now); break;
	case PROTO_ERROR: on_error(c, &m, now); break;
	case PROTO_WHO_REPLY: on_who_reply(c, &m, now); break;
	case PROTO_RELAYED: on_relayed(c, &m, now); break;
	default: c->stats.stray++; break; /* requests are for the server */
	}
}

/* ---- what the user types ---- */

/* Queues one line for the peer called name; reports at once what cannot be sent. */
static void send_line(struct client *c, const char *name, uint8_t flags, const char *text,
		      int64_t now)
{
	struct peer *p;
	size_t len = strlen(text);

	if (!proto_name_valid(name)) {
		client_say(c, "* message to %s not delivered: not a valid name", name);
		c->stats.failed_lines++;
		return;
	}
	if (strcmp(name, c->cfg.name) == 0) {
		client_say(c, "* message to %s not delivered: that is you", name);
		c->stats.failed_lines++;
		return;
	}
	p = peer_get(c, name);
	if (p == NULL) {
		client_say(c, "* message to %s not delivered: too many peers", name);
		c->stats.failed_lines++;
		return;
	}
	if (len == 0)
		return;
	if (chan_queue(p->chan, flags, text, len) == 0) {
		client_say(c, "* message to %s not delivered: %s", name,
		    len > PROTO_LINE_MAX ? "longer than 4096 bytes" : "too many messages waiting");
		c->stats.failed_lines++;
		return;
	}
	c->stats.sent_lines++;
	p->wanted = 1;
	if (p->state != PEER_CONNECTED && p->wait_until_ms < 0) {
		p->wait_until_ms = now + c->cfg.wait_ms;
		p->said_not_online = 0; /* a new wait: say it again if so */
	}
	if (p->state == PEER_OFFLINE)
		start_lookup(p, now);
}

/* /chat NAME: plain lines go to NAME from now on; connect to it. */
static void cmd_chat(struct client *c, const char *name, int64_t now)
{
	struct peer *p;

	if (!proto_name_valid(name) || strcmp(name, c->cfg.name) == 0) {
		client_say(c, "* cannot chat with '%s': not a valid peer name", name);
		return;
	}
	p = peer_get(c, name);
	if (p == NULL) {
		client_say(c, "* cannot chat with %s: too many peers", name);
		return;
	}
	snprintf(c->current, sizeof(c->current), "%s", name);
	p->wanted = 1;
	p->said_not_online = 0;
	if (p->state == PEER_OFFLINE)
		start_lookup(p, now);
}

static void cmd_peers(struct client *c)
{
	char a[NET_ADDRSTRLEN];

	if (c->npeers == 0) {
		client_say(c, "* no peers");
		return;
	}
	for (int i = 0; i < c->npeers; i++) {
		struct peer *p = c->peers[i];
		int64_t rtt = p->chan->srtt_ms >= 0 ? p->chan->srtt_ms : p->rtt_ms;

		if (p->state == PEER_CONNECTED)
			client_say(c, "* peer %s %s %s %s rtt %lld ms", p->name, state_name(p->state),
			    path_name(p->path_kind), net_addr_str(&p->path.addr, a),
			    (long long)rtt);
		else
			client_say(c, "* peer %s %s", p->name, state_name(p->state));
	}
}

/* /who: the names online, a page at a time (the first goes out on the next tick). */
static void cmd_who(struct client *c, int64_t now)
{
	c->who_cursor = 0;
	c->who_listed = 0;
	c->who_until_ms = now + CLIENT_WHO_TIMEOUT_MS;
	c->who_next_ms = now;
}

static void cmd_help(struct client *c)
{
	client_say(c, "* TEXT            send TEXT to the current peer");
	client_say(c, "* /msg NAME TEXT  send TEXT to NAME");
	client_say(c, "* /chat NAME      make NAME the current peer");
	client_say(c, "* /me ACTION      send an action (\"* you ACTION\")");
	client_say(c, "* /peers          list peers: state, path, address, round-trip time");
	client_say(c, "* /who            list the names online, if the server allows it");
	client_say(c, "* /help, /quit    this list; leave (also Ctrl-D, Ctrl-C)");
	client_say(c, "* //TEXT          send TEXT starting with one /");
}

/* Splits "WORD REST" at the first space: returns REST ("" if none) and copies WORD. */
static const char *split_word(const char *s, char *word, size_t cap)
{
	size_t n = strcspn(s, " ");

	snprintf(word, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
	s += n;
	while (*s == ' ')
		s++;
	return s;
}

/* A plain line or /me: to the current peer, if there is one. */
static void send_current(struct client *c, uint8_t flags, const char *text, int64_t now)
{
	if (c->current[0] == '\0') {
		client_say(c, "* message not sent: no current peer (use /chat NAME or /msg NAME TEXT)");
		c->stats.failed_lines++;
		return;
	}
	send_line(c, c->current, flags, text, now);
}

void client_input(struct client *c, const char *line, int64_t now)
{
	char cmd[16], name[PROTO_NAME_MAX + 2];
	const char *rest;

	if (line[0] == '\0')
		return;
	if (line[0] != '/' || line[1] == '/') {
		send_current(c, 0, line[0] == '/' ? line + 1 : line, now);
		return;
	}
	rest = split_word(line, cmd, sizeof(cmd));
	if (strcmp(cmd, "/msg") == 0) {
		rest = split_word(rest, name, sizeof(name));
		if (name[0] == '\0' || rest[0] == '\0')
			client_say(c, "* usage: /msg NAME TEXT");
		else
			send_line(c, name, 0, rest, now);
	} else if (strcmp(cmd, "/chat") == 0) {
		split_word(rest, name, sizeof(name));
		if (name[0] == '\0')
			client_say(c, "* usage: /chat NAME");
		else
			cmd_chat(c, name, now);
	} else if (strcmp(cmd, "/me") == 0) {
		if (rest[0] == '\0')
			client_say(c, "* usage: /me ACTION");
		else
			send_current(c, PROTO_DATA_ACTION, rest, now);
	} else if (strcmp(cmd, "/peers") == 0) {
		cmd_peers(c);
	} else if (strcmp(cmd, "/who") == 0) {
		cmd_who(c, now);
	} else if (strcmp(cmd, "/help") == 0) {
		cmd_help(c);
	} else if (strcmp(cmd, "/quit") == 0) {
		c->quit = 1;
	} else {
		client_say(c, "* unknown command %s (try /help)", cmd);
	}
}

/* ---- time ---- */

/* REGISTER until the server answers, then REFRESH every CLIENT_REFRESH_MS (or TTL / 3). */
static int64_t tick_registration(struct client *c, int64_t now)
{
	struct proto_msg m;

	if (now < c->next_reg_ms)
		return c->next_reg_ms;
	server_msg(c, c->registered ? PROTO_REFRESH : PROTO_REGISTER, &m);
	memcpy(m.cookie, c->cookie, PROTO_COOKIE_LEN);
	if (m.type == PROTO_REGISTER) {
		m.nprivate = c->cfg.nprivate;
		memcpy(m.private_ep, c->cfg.private_ep, sizeof(m.private_ep));
	}
	send_msg(c, &c->cfg.server, &m);
	if (c->reg_since_ms < 0) {
		c->reg_since_ms = now;
	} else if (!c->warned_server && now - c->reg_since_ms >= CLIENT_RETRY_MAX_MS) {
		char a[NET_ADDRSTRLEN];

		log_warn("no answer from the server at %s yet", net_addr_str(&c->cfg.server, a));
		c->warned_server = 1;
	}
	/* Until an answer comes, try again sooner and sooner less often. */
	c->next_reg_ms = now + c->reg_retry_ms;
	c->reg_retry_ms = min64(c->reg_retry_ms * 2, CLIENT_RETRY_MAX_MS);
	return c->next_reg_ms;
}

/* Fills m with a PROBE from us to p. */
static void probe_msg(const struct client *c, const struct peer *p, struct proto_msg *m)
{
	peer_msg(p, PROTO_PROBE, m);
	snprintf(m->name, sizeof(m->name), "%s", c->cfg.name);
}

/* Sends a PROBE through the relay: it makes a relayed path, or invites the peer to probe. */
static void send_relay_probe(struct client *c, struct peer *p)
{
	struct route via = relay_route(c);
	struct proto_msg m;

	probe_msg(c, p, &m);
	send_route(c, p, &via, &m);
}

/* Sends a PROBE to every endpoint we know for p. */
static void send_probes(struct client *c, struct peer *p)
{
	struct proto_msg m;

	probe_msg(c, p, &m);
	for (int i = 0; i < p->nprivate; i++)
		if (c->cfg.ipv6 || p->private_ep[i].family == PROTO_AF_INET)
			send_msg(c, &p->private_ep[i], &m);
	if (c->cfg.ipv6 || p->public_ep.family == PROTO_AF_INET)
		send_msg(c, &p->public_ep, &m);
	if (p->seen_ep.family != 0)
		send_msg(c, &p->seen_ep, &m);
}

/* Asks the server to introduce us to p (again in CLIENT_LOOKUP_RETRY_MS if need be). */
static void send_lookup(struct client *c, struct peer *p, int64_t now)
{
	struct proto_msg m;

	server_msg(c, PROTO_LOOKUP, &m);
	snprintf(m.target, sizeof(m.target), "%s", p->name);
	send_msg(c, &c->cfg.server, &m);
	p->next_lookup_ms = now + CLIENT_LOOKUP_RETRY_MS;
}

static int64_t tick_lookup(struct client *c, struct peer *p, int64_t now)
{
	if (!c->registered)
		return INT64_MAX; /* on_registered's tick comes first */
	if (now >= p->next_lookup_ms)
		send_lookup(c, p, now);
	return p->next_lookup_ms;
}

/* A public endpoint answered, no private one did in time: take the public one. Returns 1 if so. */
static int take_public(struct client *c, struct peer *p, int64_t now)
{
	struct route r;

	if (p->prefer_private_until_ms < 0 || now < p->prefer_private_until_ms)
		return 0;
	r = direct_route(&p->direct_ep);
	connect_via(c, p, &r, now);
	return 1;
}

/* Returns the earlier of next and the end of the wait for a private answer, if one is armed. */
static int64_t prefer_private_deadline(const struct peer *p, int64_t next)
{
	return p->prefer_private_until_ms >= 0 ? min64(next, p->prefer_private_until_ms) : next;
}

static int64_t tick_punch(struct client *c, struct peer *p, int64_t now)
{
	int64_t next;

	if (take_public(c, p, now))
		return now;
	if (relay_now(p, now)) {
		struct route via = relay_route(c);

		connect_via(c, p, &via, now);
		return now;
	}
	if (now - p->punch_start_ms >= CLIENT_PUNCH_MS) {
		/* No answer. Lines waiting, or we asked for it: a fresh introduction restarts both sides. */
		if (p->wait_until_ms >= 0) {
			start_lookup(p, now);
		} else {
			if (p->wanted)
				client_say(c, "* no direct path to %s", p->name);
			p->state = PEER_OFFLINE;
		}
		return now;
	}
	if (now >= p->next_probe_ms) {
		send_probes(c, p);
		p->next_probe_ms = now + CLIENT_PROBE_INTERVAL_MS;
	}
	next = prefer_private_deadline(p, p->next_probe_ms);
	/* The relay, in parallel: the first line need not wait for the punch. */
	if (relay_usable(c)) {
		if (now >= p->next_relay_probe_ms) {
			send_relay_probe(c, p);
			p->next_relay_probe_ms = now + CLIENT_RELAY_PROBE_MS;
		}
		next = min64(next, p->next_relay_probe_ms);
	}
	if (p->relay_ok && now < p->punch_start_ms + CLIENT_RELAY_GRACE_MS)
		next = min64(next, p->punch_start_ms + CLIENT_RELAY_GRACE_MS);
	/*
	 * Not a word from the peer yet: its copy of the introduction may have
	 * been lost, so it is not punching. Asking again re-sends it to both.
	 */
	if (p->wanted && p->last_heard_ms < p->punch_start_ms && c->registered) {
		if (now >= p->next_lookup_ms)
			send_lookup(c, p, now);
		next = min64(next, p->next_lookup_ms);
	}
	return next;
}

/*
 * Relayed: look for a direct path. Direct probes go on to the end of the
 * punch window, then in a burst every CLIENT_UPGRADE_EVERY_MS. Each burst
 * starts with a LOOKUP: the server introduces both sides again, with
 * their endpoints as it sees them now (a NAT may have changed meanwhile),
 * and the introduction makes the peer probe at the same time (both NATs
 * must have sent before either lets the other's probes in). A direct
 * answer moves the chat off the relay (on_probe_ack).
 */
static int64_t tick_upgrade(struct client *c, struct peer *p, int64_t now)
{
	int64_t next;

	if (take_public(c, p, now))
		return now;
	/* The punch window closed and the relay still carries the chat: that is a relayed punch. */
	if (!p->relay_reported && now >= p->punch_start_ms + CLIENT_PUNCH_MS) {
		send_report(c, p);
		p->relay_reported = 1;
	}
	if (now >= p->next_upgrade_ms) {
		start_burst(p, now);
		if (c->registered)
			send_lookup(c, p, now);
	}
	next = p->next_upgrade_ms;
	if (!p->relay_reported)
		next = min64(next, p->punch_start_ms + CLIENT_PUNCH_MS);
	if (now < p->probe_until_ms) {
		if (now >= p->next_probe_ms) {
			send_probes(c, p);
			p->next_probe_ms = now + CLIENT_PROBE_INTERVAL_MS;
		}
		next = min64(next, p->next_probe_ms);
	}
	return prefer_private_deadline(p, next);
}

/* Keepalives when idle, and the verdict on a silent peer. */
static int64_t tick_connected(struct client *c, struct peer *p, int64_t now)
{
	struct chan_ctx x = { c, p, &p->path, "" };
	struct chan_io io = chan_io_for(&x);
	int64_t next, oldest, waiting, since;
	int64_t timeout = min64(2 * c->cfg.keepalive_ms, CLIENT_ANSWER_TIMEOUT_MS);
	struct proto_msg m;

	/* Waiting for an answer (to a PING, or for an ACK) and hearing nothing: gone. */
	oldest = chan_oldest_unacked_ms(p->chan);
	waiting = p->ping_out_ms;
	if (oldest >= 0 && (waiting < 0 || oldest < waiting))
		waiting = oldest;
	since = waiting > p->last_heard_ms ? waiting : p->last_heard_ms;
	if (waiting >= 0 && now - since >= timeout) {
		peer_lost(c, p, now, "stopped answering");
		return now;
	}
	next = chan_tick(p->chan, now, &io);
	if (waiting >= 0)
		next = min64(next, since + timeout);

	/*
	 * PING when idle for a keepalive interval, and also when lines wait
	 * for an ACK and nothing was heard for a second: on a lossy path the
	 * retransmissions back off, and the pings give the peer more chances
	 * to show it is alive before the timeout above.
	 */
	if (p->ping_out_ms < 0 && (now - p->last_heard_ms >= c->cfg.keepalive_ms ||
				   (oldest >= 0 && now - p->last_heard_ms >= CLIENT_PING_RETRY_MS))) {
		p->ping_out_ms = now;
		p->next_ping_ms = now;
	}
	if (p->ping_out_ms >= 0) {
		if (now >= p->next_ping_ms) {
			peer_msg(p, PROTO_PING, &m);
			m.stamp = (uint32_t)now;
			send_route(c, p, &p->path, &m);
			p->next_ping_ms = now + CLIENT_PING_RETRY_MS;
		}
		next = min64(next, p->next_ping_ms);
	} else {
		next = min64(next, p->last_heard_ms + c->cfg.keepalive_ms);
	}
	if (relayed(p))
		next = min64(next, tick_upgrade(c, p, now));
	return next;
}

static int64_t tick_peer(struct client *c, struct peer *p, int64_t now)
{
	int64_t next = INT64_MAX;
	char why[64 + PROTO_NAME_MAX];

	/* Lines have waited -w seconds for a connection: report them. */
	if (p->wait_until_ms >= 0 && p->state != PEER_CONNECTED) {
		if (now >= p->wait_until_ms) {
			fail_pending(c, p, why_unreachable(c, p, why, sizeof(why)));
			p->wait_until_ms = -1;
			if (p->state == PEER_LOOKUP)
				p->state = PEER_OFFLINE;
			else if (p->state == PEER_PUNCH)
				start_punch(c, p, now); /* punching goes on, in new epochs */
		} else {
			next = p->wait_until_ms;
		}
	}
	switch (p->state) {
	case PEER_LOOKUP: return min64(next, tick_lookup(c, p, now));
	case PEER_PUNCH: return min64(next, tick_punch(c, p, now));
	case PEER_CONNECTED: return min64(next, tick_connected(c, p, now));
	case PEER_OFFLINE: break;
	}
	return next;
}

/* A /who page unanswered: ask again (once registered), or give up. */
static int64_t tick_who(struct client *c, int64_t now)
{
	if (c->who_until_ms < 0)
		return INT64_MAX;
	if (now >= c->who_until_ms) {
		client_say(c, "* the server did not answer /who");
		c->who_until_ms = -1;
		return INT64_MAX;
	}
	if (!c->registered)
		return c->who_until_ms; /* on_registered's tick comes first */
	if (now >= c->who_next_ms)
		send_who(c, now);
	return min64(c->who_next_ms, c->who_until_ms);
}

int64_t client_tick(struct client *c, int64_t now)
{
	int64_t next = tick_registration(c, now);

	next = min64(next, tick_who(c, now));
	for (int i = 0; i < c->npeers; i++)
		next = min64(next, tick_peer(c, c->peers[i], now));
	return next;
}

/* ---- setup and queries ---- */

int client_init(struct client *c, const struct client_config *cfg, const struct client_io *io,
		const char *peer, int64_t now)
{
	memset(c, 0, sizeof(*c));
	c->cfg = *cfg;
	c->io = *io;
	c->rng = cfg->seed ? cfg->seed : 1;
	c->next_reg_ms = now;
	c->reg_retry_ms = CLIENT_RETRY_MS;
	c->reg_since_ms = -1;
	c->who_until_ms = -1;
	if (peer != NULL) {
		if (!proto_name_valid(peer) || strcmp(peer, cfg->name) == 0)
			return -1;
		cmd_chat(c, peer, now);
	}
	return 0;
}

void client_free(struct client *c)
{
	for (int i = 0; i < c->npeers; i++) {
		free(c->peers[i]->chan);
		free(c->peers[i]);
	}
	c->npeers = 0;
}

uint32_t client_pending(const struct client *c)
{
	uint32_t n = 0;

	for (int i = 0; i < c->npeers; i++)
		n += chan_pending(c->peers[i]->chan);
	return n;
}

int client_who_busy(const struct client *c)
{
	return c->who_until_ms >= 0;
}

int client_has_room(const struct client *c)
{
	for (int i = 0; i < c->npeers; i++)
		if (chan_room(c->peers[i]->chan) < PROTO_LINE_MAX / PROTO_FRAG_MAX)
			return 0;
	return 1;
}

void client_shutdown(struct client *c, int64_t now)
{
	struct proto_msg m;

	(void)now;
	for (int i = 0; i < c->npeers; i++) {
		struct peer *p = c->peers[i];

		if (p->state == PEER_CONNECTED) {
			peer_msg(p, PROTO_BYE, &m);
			send_route(c, p, &p->path, &m);
		}
		fail_pending(c, p, "quit before it was delivered");
	}
}

int client_peer_names(const struct client *c, const char **out, int max)
{
	int n = 0;

	for (int i = 0; i < c->npeers && n < max; i++)
		out[n++] = c->peers[i]->name;
	return n;
}
