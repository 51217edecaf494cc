/* peer.c - the client's peers: the table, routes, connection state, inner messages from peers, their timers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"

/* ---- peers ---- */

struct peer *client_peer_find(struct client *c, const char *name)
{
	for (int i = 0; i < c->npeers; i++)
		if (strcmp(c->peers[i]->name, name) == 0)
			return c->peers[i];
	return NULL;
}

/* Wipes p's keys and frees it. */
void client_peer_free(struct peer *p)
{
	session_peer_wipe(&p->sess);
	client_streams_free(p);
	client_lines_free(p);
	free(p);
}

/*
 * Makes room in a full table (issue 12, item 5): drops the peer that
 * matters least, never one we want (named, or with lines waiting) nor the
 * current one; of the others, one never heard first, else the one
 * silent longest. Returns 1 when a peer was dropped.
 */
static int evict_one(struct client *c)
{
	int best = -1;

	for (int i = 0; i < c->npeers; i++) {
		const struct peer *p = c->peers[i];

		if (p->wanted || client_lines_pending(p) > 0 || client_streams_busy(p) ||
		    strcmp(p->name, c->current) == 0)
			continue;
		if (best < 0 || p->last_heard_ms < c->peers[best]->last_heard_ms)
			best = i;
	}
	if (best < 0)
		return 0;
	log_info("%s: dropped to make room for a new peer", c->peers[best]->name);
	client_peer_free(c->peers[best]);
	c->peers[best] = c->peers[--c->npeers];
	c->stats.evicted++;
	return 1;
}

/*
 * Returns the peer called name, created in PEER_OFFLINE if new (a full
 * table makes room: evict_one); NULL when it cannot.
 */
struct peer *client_peer_get(struct client *c, const char *name)
{
	struct peer *p = client_peer_find(c, name);

	if (p != NULL)
		return p;
	if (c->npeers == CLIENT_MAX_PEERS && !evict_one(c))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->chat = client_lines_new();
	if (p->chat == NULL) {
		free(p);
		return NULL;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->state = PEER_OFFLINE;
	p->my_epoch = client_new_epoch(c);
	p->next_lookup_ms = -1;
	p->punch_start_ms = -1;
	p->next_probe_ms = -1;
	p->last_heard_ms = -1;
	p->ping_out_ms = -1;
	p->next_ping_ms = -1;
	p->wait_until_ms = -1;
	p->rtt_ms = -1;
	p->suspect_ms = -1;
	client_session_reset(p);
	c->peers[c->npeers++] = p;
	return p;
}

/* Fills m with the common fields of a peer-to-peer message. */
void client_msg_to_peer(const struct peer *p, enum proto_type type, struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	m->epoch = p->my_epoch;
	m->peer_epoch = p->peer_epoch;
}

/* The route straight to addr. */
struct route client_direct_route(const struct proto_addr *addr)
{
	struct route r;

	memset(&r, 0, sizeof(r));
	r.addr = *addr;
	return r;
}

/* The route to p through a server's relay: the one client_relay_server picks now. */
struct route client_relay_route(const struct client *c, const struct peer *p)
{
	struct route r = client_direct_route(&c->cfg.servers[client_relay_server(c, p)].addr);

	r.relay = 1;
	return r;
}

/* Returns 1 when the two routes are the same: both relayed, or both straight to one address from one socket. */
int client_route_equal(const struct route *a, const struct route *b)
{
	return a->relay == b->relay &&
	       (a->relay || (a->sock == b->sock && proto_addr_equal(&a->addr, &b->addr)));
}

/* Returns 1 when a server's relay may carry what direct paths cannot: registered, not refused. */
int client_relay_usable(const struct client *c)
{
	for (int i = 0; i < c->cfg.nservers; i++)
		if (client_server_usable(c, i) && !c->srv[i].relay_off)
			return 1;
	return 0;
}

/* Returns 1 when p is connected through the server's relay. */
int client_relayed(const struct peer *p)
{
	return p->state == PEER_CONNECTED && p->path.relay;
}

/* Returns 1 when p is connected through the relay and probes directly for a way off it. */
int client_bursting(const struct peer *p, int64_t now)
{
	return client_relayed(p) && now < p->probe_until_ms;
}

/* Returns 1 when addr is one of the private endpoints the peer reported. */
int client_is_private_ep(const struct peer *p, const struct proto_addr *addr)
{
	for (int i = 0; i < p->nprivate; i++)
		if (proto_addr_equal(&p->private_ep[i], addr))
			return 1;
	return 0;
}

/* The address family of a as a bit: 1 IPv4, 2 IPv6, 0 none. */
static unsigned family_bit(const struct proto_addr *a)
{
	return a->family == PROTO_AF_INET ? 1u : a->family == PROTO_AF_INET6 ? 2u : 0u;
}

/* The families of a public endpoint and n private ones, as family_bit's bits. */
static unsigned families(const struct proto_addr *pub, const struct proto_addr *priv, int n)
{
	unsigned f = family_bit(pub);

	for (int i = 0; i < n; i++)
		f |= family_bit(&priv[i]);
	return f;
}

/*
 * On the relay with p: when no family of address is both ours and p's
 * (an IPv4-only host and an IPv6-only one, both reaching a dual-stack
 * server), no direct path can exist, and the user is told why. Ours are
 * every server's view of us (several servers may be of two families).
 */
static void say_why_relayed(struct client *c, const struct peer *p)
{
	unsigned ours = families(&c->public_ep, c->cfg.private_ep, c->cfg.nprivate);
	unsigned theirs = families(&p->public_ep, p->private_ep, p->nprivate) | family_bit(&p->other_ep);

	for (int i = 0; i < c->cfg.nservers; i++)
		if (client_server_usable(c, i))
			ours |= family_bit(&c->srv[i].public_ep);
	if (ours == 0 || theirs == 0 || (ours & theirs) != 0)
		return;
	client_say(c, "* no direct path to %s: it has only %s addresses, this host only %s; "
		   "the server relays", p->name, theirs == 2 ? "IPv6" : "IPv4",
		   ours == 2 ? "IPv6" : "IPv4");
}

const char *client_path_name(enum path_kind k)
{
	switch (k) {
	case PATH_PRIVATE: return "private";
	case PATH_PUBLIC: return "public";
	case PATH_RELAY: return "relay";
	case PATH_NONE: break;
	}
	return "none";
}

const char *client_state_name(enum peer_state s)
{
	switch (s) {
	case PEER_LOOKUP: return "looking up";
	case PEER_PUNCH: return "punching";
	case PEER_CONNECTED: return "connected";
	case PEER_OFFLINE: return "offline";
	}
	return "?";
}

/* ---- connection state changes ---- */

/*
 * The pair of epochs changed: the stream connection belongs to the old
 * pair, and ends; lines it did not deliver go again on the next one
 * (peer_lines.c).
 */
static void restart_channel(struct peer *p)
{
	client_streams_epochs(p);
}

/* Sends p a PING by route r: it carries our epoch (version 1's PROBE did). */
static void send_epoch(struct client *c, struct peer *p, const struct route *r)
{
	struct proto_msg m;

	client_msg_to_peer(p, PROTO_PING, &m);
	m.stamp = (uint32_t)c->now_ms;
	client_send_route(c, p, r, &m);
}

/*
 * The channel with p is out of step (the peer does not know our epoch: it
 * restarted, a second instance took its place for a while, or lines were
 * given up): a new epoch of ours starts both directions afresh, what was
 * not acknowledged goes again, and a PROBE tells the peer at once.
 */
void client_resync(struct client *c, struct peer *p, int64_t now)
{
	(void)now;
	log_info("%s: the channel is out of step: starting it afresh", p->name);
	p->my_epoch = client_new_epoch(c);
	restart_channel(p);
	if (p->state == PEER_CONNECTED)
		send_epoch(c, p, &p->path);
}

/*
 * Starts a connection attempt: probes from now on. The epochs, and with
 * them the stream connection, carry over from an earlier connection, so
 * that a line both sides already handled is not shown twice (the streams
 * go on where they were); lines given up were reset on their stream
 * (peer_lines.c), so nothing waits for them.
 */
static void punch_begin(struct client *c, struct peer *p, int64_t now)
{
	(void)c;
	p->state = PEER_PUNCH;
	p->punch_start_ms = now;
	p->next_lookup_ms = now + CLIENT_LOOKUP_RETRY_MS;
	p->next_probe_ms = now;
	p->probe_until_ms = now + CLIENT_PUNCH_MS;
	p->next_relay_probe_ms = now; /* at once: the first line may go before the punch works */
	p->relay_ok = 0;
	p->relay_probe_ms = -1;
	p->relay_rtt_ms = -1;
	p->prefer_private_until_ms = -1;
	memset(&p->path, 0, sizeof(p->path));
	p->path_kind = PATH_NONE;
	memset(p->probes, 0, sizeof(p->probes));
}

/*
 * Takes one token of the bucket of introductions we did not ask for
 * (CLIENT_UNSOLICITED_BURST, one more every CLIENT_UNSOLICITED_EVERY_MS):
 * returns 1, or 0 when it is empty.
 */
static int unsolicited_ok(struct client *c, int64_t now)
{
	int64_t full = now - (int64_t)CLIENT_UNSOLICITED_BURST * CLIENT_UNSOLICITED_EVERY_MS;

	if (c->unsolicited_tokens_ms < full)
		c->unsolicited_tokens_ms = full;
	if (c->unsolicited_tokens_ms + CLIENT_UNSOLICITED_EVERY_MS > now)
		return 0;
	c->unsolicited_tokens_ms += CLIENT_UNSOLICITED_EVERY_MS;
	return 1;
}

/*
 * An introduction (registration.c), or a new attempt: punch, unless the
 * introduced key is not the one pinned for the name (warned: nothing is
 * sent to it), or it is one of too many introductions we did not ask for.
 */
void client_start_punch(struct client *c, struct peer *p, int64_t now)
{
	if (!client_peer_key_ok(c, p) && p->has_key) {
		p->state = PEER_OFFLINE; /* a changed key: check_trust said so */
		return;
	}
	if (!p->wanted && client_lines_pending(p) == 0 && p->state != PEER_CONNECTED &&
	    !unsolicited_ok(c, now)) {
		c->stats.unsolicited_dropped++;
		log_info("%s: too many introductions we did not ask for: not punching", p->name);
		return;
	}
	punch_begin(c, p, now);
}

/* The peer's authenticated INIT: it punches, so do we (no token needed: it proved its key). */
void client_on_peer_probing(struct client *c, struct peer *p, const struct route *from,
			    int64_t now)
{
	client_heard(p, now);
	if (p->state == PEER_OFFLINE || p->state == PEER_LOOKUP)
		punch_begin(c, p, now);
	/*
	 * Relayed, and the peer probes: its probes got through, or it punches
	 * anew. Probe with it: both NATs must have sent before either lets
	 * the other's probes in.
	 */
	if (client_relayed(p) && !client_bursting(p, now))
		client_start_burst(p, now);
	if ((p->state == PEER_PUNCH || client_relayed(p)) && !from->relay &&
	    !client_is_private_ep(p, &from->addr) && !proto_addr_equal(&from->addr, &p->public_ep) &&
	    !proto_addr_equal(&from->addr, &p->other_ep))
		p->seen_ep = from->addr; /* probe it too: the path its packets take */
}

/*
 * Relayed: probe directly for CLIENT_UPGRADE_BURST_MS from now on (the
 * first probes go out on the next tick), and again CLIENT_UPGRADE_EVERY_MS
 * later.
 */
void client_start_burst(struct peer *p, int64_t now)
{
	p->probe_until_ms = now + CLIENT_UPGRADE_BURST_MS;
	p->next_probe_ms = now;
	p->next_upgrade_ms = now + CLIENT_UPGRADE_EVERY_MS;
}

/* Asks the server about p from now on (at once if registered). */
void client_start_lookup(struct peer *p, int64_t now)
{
	p->state = PEER_LOOKUP;
	p->next_lookup_ms = now;
}

/* Tells the server how we reached p: its operator counts direct and client_relayed punches. */
void client_send_report(struct client *c, const struct peer *p)
{
	struct proto_msg m;

	client_msg_to_server(c, PROTO_REPORT, &m);
	snprintf(m.target, sizeof(m.target), "%s", p->name);
	m.path = p->path_kind == PATH_PRIVATE ? PROTO_PATH_PRIVATE :
		 p->path_kind == PATH_PUBLIC ? PROTO_PATH_PUBLIC : PROTO_PATH_RELAY;
	/* To the server that introduced us: its operator counts its punches. */
	client_send_to_server(c, p->intro_srv, &m);
}

/*
 * A path answered: the chat can flow, on it. Connected already, on the
 * relay, this is the move to a direct path, and said the same way.
 */
void client_connect_via(struct client *c, struct peer *p, const struct route *r, int64_t now)
{
	char a[NET_ADDRSTRLEN];
	struct proto_msg m;
	int was_direct = p->state == PEER_CONNECTED && !p->path.relay;

	/* Back after an absence: the peer may be a new incarnation, its epoch not yet learned. */
	if (p->state != PEER_CONNECTED)
		p->epoch_confirmed = 0;
	p->state = PEER_CONNECTED;
	p->path = *r;
	/* A host without a NAT reports its public address as private too: that is public. */
	if (r->relay)
		p->path_kind = PATH_RELAY;
	else if (client_is_private_ep(p, &r->addr) && !proto_addr_equal(&r->addr, &p->public_ep) &&
		 !proto_addr_equal(&r->addr, &p->other_ep))
		p->path_kind = PATH_PRIVATE;
	else
		p->path_kind = PATH_PUBLIC;
	p->prefer_private_until_ms = -1;
	p->wait_until_ms = -1;
	p->said_not_online = 0;
	p->last_heard_ms = now;
	p->answering_since_ms = now;
	client_streams_wake(p); /* what the old path did not deliver goes at once */
	client_say(c, "* connected to %s via %s (%s)", p->name, net_addr_str(&r->addr, a),
	    client_path_name(p->path_kind));
	/* Nobody to talk to yet: whoever connects is who a plain line answers. */
	if (c->current[0] == '\0')
		snprintf(c->current, sizeof(c->current), "%s", p->name);
	/* A first PING at once gives /peers a round-trip time. */
	client_msg_to_peer(p, PROTO_PING, &m);
	m.stamp = (uint32_t)now;
	client_send_route(c, p, &p->path, &m);
	p->ping_out_ms = now;
	p->next_ping_ms = now + CLIENT_PING_RETRY_MS;
	if (r->relay) {
		say_why_relayed(c, p);
		/*
		 * Direct probing goes on to the end of the punch window, and a
		 * direct answer moves the chat off the relay. The REPORT waits
		 * for that end: a relay that only carried the first lines of
		 * a punch that then worked is no client_relayed connection.
		 */
		p->relay_reported = 0;
		p->next_upgrade_ms = now + CLIENT_UPGRADE_EVERY_MS;
		return;
	}
	p->probe_until_ms = -1;
	if (!was_direct) /* public, then private: one punch, reported once */
		client_send_report(c, p);
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
	if (client_lines_pending(p) > 0) {
		/* Perhaps its NAT forgot us: ask for a new introduction while -w allows. */
		client_start_lookup(p, now);
		p->wait_until_ms = now + c->cfg.wait_ms;
	}
}

/* ---- messages from peers ---- */

/* The peer's epoch in a probe: a new one means a new incarnation of the channel. */
void client_note_peer_epoch(struct peer *p, uint32_t epoch)
{
	if (p->peer_epoch == epoch)
		return;
	if (p->peer_epoch != 0)
		log_info("%s started a new connection", p->name);
	p->peer_epoch = epoch;
	restart_channel(p);
}
/*
 * Returns 1 when a DATA, ACK or STREAM (its two epochs) belongs to the current pair of epochs.
 * Else it is counted as stale and answered (at most every
 * CLIENT_STALE_REPLY_MS), so that a sender out of step learns it and does
 * not send into the void: a PROBE when it does not know our epoch (it
 * takes it, and starts afresh); an ACK with epoch 0 and its epoch when we
 * do not know its (it starts a new one: client_resync). A line is never
 * dropped in silence.
 */
int client_epochs_current(struct client *c, struct peer *p, uint32_t epoch, uint32_t peer_epoch,
			  const struct route *from, int64_t now)
{
	struct proto_msg r;

	/* The first we hear of its epoch (its announcing PING may be lost): nothing to undo. */
	if (p->peer_epoch == 0 && epoch != 0)
		client_note_peer_epoch(p, epoch);
	if (epoch == p->peer_epoch && peer_epoch == p->my_epoch) {
		p->epoch_confirmed = 1;
		return 1;
	}
	c->stats.stale++;
	if (epoch == 0 || now < p->next_stale_reply_ms)
		return 0;
	p->next_stale_reply_ms = now + CLIENT_STALE_REPLY_MS;
	if (peer_epoch != p->my_epoch)
		send_epoch(c, p, from);
	if (epoch != p->peer_epoch) {
		client_msg_to_peer(p, PROTO_ACK, &r);
		r.epoch = 0;
		r.peer_epoch = epoch;
		client_send_route(c, p, from, &r);
	}
	return 0;
}

/*
 * Where an answer to a datagram from p by `from` goes: the path, while
 * connected (a datagram from elsewhere moves nothing before its address
 * answers a challenge: peer_session.c); else back where it came from.
 */
static const struct route *reply_route(const struct peer *p, const struct route *from)
{
	return p->state == PEER_CONNECTED ? &p->path : from;
}

/*
 * ACK: only its epoch 0 means something now, "I do not know your epoch"
 * (client_epochs_current); about our current one, we resync. The chat's
 * acknowledgements travel in the stream connection.
 */
static void on_ack(struct client *c, struct peer *p, const struct proto_msg *m, int64_t now)
{
	if (m->epoch == 0 && m->peer_epoch == p->my_epoch && p->state == PEER_CONNECTED)
		client_resync(c, p, now);
}

/* PING: answered with a PONG; its epoch, when not 0, names the peer's channel (version 1's PROBE). */
static void on_ping(struct client *c, struct peer *p, const struct proto_msg *m,
		    const struct route *from)
{
	struct proto_msg pong;

	if (m->epoch != 0) {
		client_note_peer_epoch(p, m->epoch);
		p->epoch_confirmed = 1; /* sealed under a session: its sender's epoch now */
	}
	client_msg_to_peer(p, PROTO_PONG, &pong);
	pong.stamp = m->stamp;
	client_send_route(c, p, reply_route(p, from), &pong);
}

static void on_pong(struct peer *p, const struct proto_msg *m, int64_t now)
{
	/* The stamp is our clock's low 32 bits when we pinged: unsigned subtraction wraps right. */
	p->rtt_ms = (uint32_t)now - m->stamp;
}

/* Anything authentic from p: it is alive. */
void client_heard(struct peer *p, int64_t now)
{
	if (p->last_heard_ms < 0 || now - p->last_heard_ms >= CLIENT_SILENT_MS)
		p->answering_since_ms = now;
	/* Heard again after tick_suspect gave the path up for dead: what waits goes now. */
	if (p->suspect_ms >= 0) {
		p->suspect_ms = -1;
		client_streams_wake(p);
	}
	p->last_heard_ms = now;
	p->ping_out_ms = -1; /* anything from it proves it is alive */
}

/* Dispatches an inner message from p, opened under its session (peer_session.c), to its handler. */
void client_on_inner(struct client *c, struct peer *p, const struct proto_msg *m,
		     const struct route *from, int64_t now)
{
	client_heard(p, now);
	switch (m->type) {
	case PROTO_ACK: on_ack(c, p, m, now); break;
	case PROTO_PING: on_ping(c, p, m, from); break;
	case PROTO_PONG: on_pong(p, m, now); break;
	case PROTO_BYE:
		/* Only from the connection we have: a late BYE of an earlier one changes nothing. */
		if (p->state == PEER_CONNECTED && m->epoch == p->peer_epoch) {
			peer_lost(c, p, now, "said goodbye");
			session_peer_wipe(&p->sess); /* its keys go with it */
			client_session_reset(p);
		}
		break;
	default: break;
	}
}

/*
 * Recovery (issue 15). Connected, a line or a PING has waited since
 * `since` with nothing heard: after CLIENT_SUSPECT_MS the path may be
 * dead, as when a NAT forgets or remaps a mapping mid-chat (ours or the
 * peer's). Long before the answer timeout gives up on p, ask the server:
 * a REFRESH at once shows us our public endpoint as it is now, and a
 * LOOKUP of p (at once, every CLIENT_LOOKUP_RETRY_MS, and at once again
 * when that endpoint changed: the first one, from a new mapping, is
 * refused with PROTO_E_ADDRESS) introduces both sides again where the
 * server sees them. The side whose endpoint changed is new to the other,
 * which punches to it (client_on_peer_intro); the chat moves to the path
 * that answers. Relayed, only the REFRESH: the server is the path.
 * Returns the next deadline.
 */
static int64_t tick_suspect(struct client *c, struct peer *p, int64_t since, int64_t now)
{
	if (since < 0 || now - since < CLIENT_SUSPECT_MS) {
		p->suspect_ms = -1;
		return since < 0 ? INT64_MAX : since + CLIENT_SUSPECT_MS;
	}
	if (p->suspect_ms < 0) {
		log_info("%s: no answer for %d ms: asking the server where we are now", p->name,
			 CLIENT_SUSPECT_MS);
		p->suspect_ms = now;
		p->suspect_ep = c->public_ep;
		p->next_lookup_ms = now;
		client_refresh_now(c, now);
	}
	if (client_relayed(p))
		return INT64_MAX;
	/* REGISTERED showed us a new public endpoint: the peer must hear of it now. */
	if (!proto_addr_equal(&p->suspect_ep, &c->public_ep)) {
		p->suspect_ep = c->public_ep;
		p->next_lookup_ms = now;
	}
	return client_tick_lookup(c, p, now);
}

/* Keepalives when idle, the verdict on a silent peer, and the suspicion before it. */
static int64_t tick_connected(struct client *c, struct peer *p, int64_t now)
{
	int64_t next, oldest, waiting, since;
	int64_t timeout = client_min64(2 * c->cfg.keepalive_ms, CLIENT_ANSWER_TIMEOUT_MS);
	struct proto_msg m;

	/* Waiting for an answer (to a PING, or for an ACK) and hearing nothing: gone. */
	oldest = client_lines_oldest(p);
	waiting = p->ping_out_ms;
	if (oldest >= 0 && (waiting < 0 || oldest < waiting))
		waiting = oldest;
	since = waiting > p->last_heard_ms ? waiting : p->last_heard_ms;
	if (waiting >= 0 && now - since >= timeout) {
		peer_lost(c, p, now, "stopped answering");
		return now;
	}
	next = client_tick_lines(c, p, now);
	if (waiting >= 0)
		next = client_min64(next, since + timeout);
	next = client_min64(next, tick_suspect(c, p, waiting >= 0 ? since : -1, now));

	/*
	 * PING when idle for a keepalive interval, and also when lines wait
	 * for an ACK, or streams are open (data may be on its way either
	 * way), and nothing was heard for a second: on a lossy path the
	 * retransmissions back off, and the pings give the peer more chances
	 * to show it is alive before the timeout above.
	 */
	if (p->ping_out_ms < 0 && (now - p->last_heard_ms >= c->cfg.keepalive_ms ||
				   ((oldest >= 0 || client_streams_busy(p)) &&
				    now - p->last_heard_ms >= CLIENT_PING_RETRY_MS))) {
		p->ping_out_ms = now;
		p->next_ping_ms = now;
	}
	if (p->ping_out_ms >= 0) {
		if (now >= p->next_ping_ms) {
			client_msg_to_peer(p, PROTO_PING, &m);
			m.stamp = (uint32_t)now;
			m.epoch = 0; /* a keepalive: it announces nothing */
			client_send_route(c, p, &p->path, &m);
			p->next_ping_ms = now + CLIENT_PING_RETRY_MS;
		}
		next = client_min64(next, p->next_ping_ms);
	} else {
		next = client_min64(next, p->last_heard_ms + c->cfg.keepalive_ms);
	}
	if (client_relayed(p))
		next = client_min64(next, client_tick_upgrade(c, p, now));
	else
		next = client_min64(next, client_tick_private(c, p, now));
	return next;
}

/*
 * Connected, every line ends within -w: one on the wire that long without
 * its ACK while the peer answers (PONGs, other ACKs: it is there, but
 * this line does not get through) fails. Lines queued behind it, as when a
 * script pipes many, wait for the window, not for the peer. A peer that
 * falls silent is another matter: tick_connected declares it offline and
 * its lines wait -w more for it to come back (peer_lost, wait_until_ms),
 * as lines for a peer not yet connected do. A line fails with every line
 * after it (the peer answers, or does not, for all of them alike), and
 * their stream is reset, so that the peer never shows what we gave up.
 * Returns the next deadline.
 */
static int64_t tick_line_deadline(struct client *c, struct peer *p, int64_t now)
{
	int64_t since = client_lines_oldest(p);
	char why[64 + PROTO_NAME_MAX];

	/* Not answering (yet, or any more): the answer timeout and peer_lost decide. */
	if (p->state != PEER_CONNECTED || since < 0 || p->last_heard_ms <= since ||
	    now - p->last_heard_ms >= CLIENT_SILENT_MS)
		return INT64_MAX;
	if (p->answering_since_ms > since)
		since = p->answering_since_ms;
	if (now - since < c->cfg.wait_ms)
		return since + c->cfg.wait_ms;
	snprintf(why, sizeof(why), "no acknowledgement from %s", p->name);
	client_fail_pending(c, p, why);
	return now;
}

int64_t client_tick_peer(struct client *c, struct peer *p, int64_t now)
{
	int64_t next = tick_line_deadline(c, p, now);
	char why[64 + PROTO_NAME_MAX];

	/* Lines have waited -w seconds for a connection: report them. */
	if (p->wait_until_ms >= 0 && p->state != PEER_CONNECTED) {
		if (now >= p->wait_until_ms) {
			client_fail_pending(c, p, why_unreachable(c, p, why, sizeof(why)));
			p->wait_until_ms = -1;
			/* A peer we want stays waited for (on_not_online): it may come yet. */
			if (p->state == PEER_LOOKUP && !p->wanted)
				p->state = PEER_OFFLINE;
			else if (p->state == PEER_PUNCH)
				client_start_punch(c, p, now); /* punching goes on, in new epochs */
		} else {
			next = p->wait_until_ms;
		}
	}
	switch (p->state) {
	case PEER_LOOKUP: return client_min64(next, client_tick_lookup(c, p, now));
	case PEER_PUNCH: return client_min64(next, client_tick_punch(c, p, now));
	case PEER_CONNECTED: return client_min64(next, tick_connected(c, p, now));
	case PEER_OFFLINE: break;
	}
	return next;
}

