/* punch.c - hole punching (RFC 5128, 3.3): where probes go, what their answers decide, the punch and upgrade timers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"

/*
 * Returns 1 when a datagram from p by `from` shows a path to connect by:
 * any that works while punching; on the relay, any direct one; on a
 * public endpoint, one of the peer's private endpoints (a shared LAN).
 */
int client_path_better(const struct peer *p, const struct route *from)
{
	if (p->state == PEER_PUNCH)
		return 1;
	if (p->state != PEER_CONNECTED || from->relay)
		return 0;
	if (p->path.relay)
		return 1;
	return p->path_kind == PATH_PUBLIC && client_is_private_ep(p, &from->addr) &&
	       !proto_addr_equal(&from->addr, &p->public_ep) &&
	       !proto_addr_equal(&from->addr, &p->other_ep) &&
	       !proto_addr_equal(&from->addr, &p->path.addr);
}

/*
 * Returns when p, punching, may go on the relay if no direct endpoint has
 * answered: with a line waiting, once a direct answer is overdue (a probe
 * interval, for both NATs to have sent, and CLIENT_OVERDUE_RTTS of the
 * relay's round trip); with none, after CLIENT_RELAY_GRACE_MS (where the
 * server is nearer than the peer the relay answers first, and there is no
 * hurry). INT64_MAX while the relay has not answered.
 */
static int64_t relay_due(const struct peer *p)
{
	if (!p->relay_ok)
		return INT64_MAX;
	if (client_lines_pending(p) == 0)
		return p->punch_start_ms + CLIENT_RELAY_GRACE_MS;
	return p->punch_start_ms + CLIENT_PROBE_INTERVAL_MS + CLIENT_OVERDUE_RTTS * p->relay_rtt_ms;
}

/*
 * A route proved to reach p (peer_session.c: a RESP, a confirmation, a
 * PATH_RESPONSE) while punching, or a better one while connected.
 */
void client_on_punch_answer(struct client *c, struct peer *p, const struct route *from,
			    int64_t now)
{
	if (!client_path_better(p, from))
		return;
	if (from->relay) {
		if (!p->relay_ok && p->relay_probe_ms >= 0)
			p->relay_rtt_ms = now - p->relay_probe_ms;
		p->relay_ok = 1;
		if (now >= relay_due(p))
			client_connect_via(c, p, from, now);
		return;
	}
	/*
	 * The first direct answer connects at once. A public one leaves the
	 * private endpoints probed a while longer: peers on one LAN move
	 * there when one answers (client_path_better).
	 */
	client_connect_via(c, p, from, now);
	if (p->path_kind == PATH_PUBLIC && p->nprivate > 0 && !client_is_private_ep(p, &from->addr)) {
		p->prefer_private_until_ms = now + CLIENT_PREFER_PRIVATE_MS;
		p->next_probe_ms = now + CLIENT_PROBE_INTERVAL_MS;
	}
}

/* Sends a probe through the relay: it makes a relayed path, or invites the peer to probe. */
static void send_relay_probe(struct client *c, struct peer *p, int64_t now)
{
	struct route via = client_relay_route(c, p);

	if (client_send_probe(c, p, &via, now) && p->relay_probe_ms < 0)
		p->relay_probe_ms = now;
}

/*
 * Sends a probe to addr, slot i of p->probes: at most CLIENT_PROBES_UNANSWERED
 * in one attempt while the peer was never heard in it (an endpoint that
 * does not answer may not be the peer's at all).
 */
static void probe_endpoint(struct client *c, struct peer *p, int i, const struct proto_addr *addr,
			   int64_t now)
{
	struct route r = client_direct_route(addr);

	if (addr->family == PROTO_AF_INET6 && !c->cfg.ipv6)
		return;
	if (p->last_heard_ms < p->punch_start_ms || p->punch_start_ms < 0) {
		if (p->probes[i] >= CLIENT_PROBES_UNANSWERED)
			return;
		p->probes[i]++;
	}
	client_send_probe(c, p, &r, now);
}

/* Returns 1 when addr is one of p's first n private endpoints. */
static int private_before(const struct peer *p, int n, const struct proto_addr *addr)
{
	for (int i = 0; i < n && i < p->nprivate; i++)
		if (proto_addr_equal(&p->private_ep[i], addr))
			return 1;
	return 0;
}

/*
 * Sends a probe to every endpoint we know for p, each address once however
 * often the introduction names it (four private endpoints naming one third
 * party must not get four times the probes: issue 12, attack 6); only to
 * the private ones if private_only.
 */
static void send_probes(struct client *c, struct peer *p, int private_only, int64_t now)
{
	for (int i = 0; i < p->nprivate; i++)
		if (!private_before(p, i, &p->private_ep[i]))
			probe_endpoint(c, p, 2 + i, &p->private_ep[i], now);
	if (private_only)
		return;
	if (!private_before(p, p->nprivate, &p->public_ep))
		probe_endpoint(c, p, 0, &p->public_ep, now);
	if (p->seen_ep.family != 0 && !private_before(p, p->nprivate, &p->seen_ep) &&
	    !proto_addr_equal(&p->seen_ep, &p->public_ep))
		probe_endpoint(c, p, 1, &p->seen_ep, now);
	/*
	 * A dual-stack peer's other family, at the same moment: the first
	 * PROBE_ACK, whichever family it comes by, carries the chat (RFC 8305's
	 * race, without its head start for IPv6: here both go at once).
	 */
	if (p->other_ep.family != 0 && !private_before(p, p->nprivate, &p->other_ep) &&
	    !proto_addr_equal(&p->other_ep, &p->seen_ep))
		probe_endpoint(c, p, PROTO_MAX_PRIVATE + 2, &p->other_ep, now);
}

/*
 * Asks every server that holds our name to introduce us to p (again in
 * CLIENT_LOOKUP_RETRY_MS if need be). The first introduction starts the
 * punch; the others confirm the key (registration.c).
 */
void client_send_lookup(struct client *c, struct peer *p, int64_t now)
{
	struct proto_msg m;

	client_msg_to_server(c, PROTO_LOOKUP, &m);
	snprintf(m.target, sizeof(m.target), "%s", p->name);
	p->not_online_mask = 0;
	for (int i = 0; i < c->cfg.nservers; i++)
		if (client_server_usable(c, i))
			client_send_to_server(c, i, &m);
	p->next_lookup_ms = now + CLIENT_LOOKUP_RETRY_MS;
}

int64_t client_tick_lookup(struct client *c, struct peer *p, int64_t now)
{
	int64_t due;

	if (!c->registered)
		return INT64_MAX; /* client_on_registered's tick comes first */
	/* Our NAT's kind first (a round trip, nat_check.c): the introduction carries it to the peer. */
	if (client_nat_waiting(c, &due))
		return due;
	if (now >= p->next_lookup_ms)
		client_send_lookup(c, p, now);
	return p->next_lookup_ms;
}

/*
 * Connected on a public endpoint: its private ones are probed for
 * CLIENT_PREFER_PRIVATE_MS (an answer moves the chat there). Returns the
 * next deadline.
 */
int64_t client_tick_private(struct client *c, struct peer *p, int64_t now)
{
	if (p->prefer_private_until_ms < 0 || client_relayed(p))
		return INT64_MAX;
	if (now >= p->prefer_private_until_ms || p->path_kind != PATH_PUBLIC) {
		p->prefer_private_until_ms = -1;
		return INT64_MAX;
	}
	if (now >= p->next_probe_ms) {
		send_probes(c, p, 1, now);
		p->next_probe_ms = now + CLIENT_PROBE_INTERVAL_MS;
	}
	return client_min64(p->next_probe_ms, p->prefer_private_until_ms);
}

int64_t client_tick_punch(struct client *c, struct peer *p, int64_t now)
{
	int64_t next;

	if (now >= relay_due(p)) {
		struct route via = client_relay_route(c, p);

		client_connect_via(c, p, &via, now);
		return now;
	}
	if (now - p->punch_start_ms >= CLIENT_PUNCH_MS) {
		/* No answer. Lines waiting, or we asked for it: a fresh introduction restarts both sides. */
		if (p->wait_until_ms >= 0) {
			client_start_lookup(p, now);
		} else {
			if (p->wanted)
				client_say(c, "* no direct path to %s", p->name);
			p->state = PEER_OFFLINE;
		}
		return now;
	}
	if (now >= p->next_probe_ms) {
		send_probes(c, p, 0, now);
		p->next_probe_ms = now + CLIENT_PROBE_INTERVAL_MS;
	}
	next = client_min64(p->next_probe_ms, relay_due(p));
	/* The relay, in parallel: the first line need not wait for the punch. */
	if (client_relay_usable(c)) {
		if (now >= p->next_relay_probe_ms) {
			send_relay_probe(c, p, now);
			p->next_relay_probe_ms = now + CLIENT_RELAY_PROBE_MS;
		}
		next = client_min64(next, p->next_relay_probe_ms);
	}
	/*
	 * Not a word from the peer yet: its copy of the introduction may have
	 * been lost, so it is not punching. Asking again re-sends it to both.
	 */
	if (p->wanted && p->last_heard_ms < p->punch_start_ms && c->registered) {
		if (now >= p->next_lookup_ms)
			client_send_lookup(c, p, now);
		next = client_min64(next, p->next_lookup_ms);
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
 * answer moves the chat off the relay (client_on_punch_answer).
 */
int64_t client_tick_upgrade(struct client *c, struct peer *p, int64_t now)
{
	int64_t next;

	/* The punch window closed and the relay still carries the chat: that is a client_relayed punch. */
	if (!p->relay_reported && now >= p->punch_start_ms + CLIENT_PUNCH_MS) {
		client_send_report(c, p);
		p->relay_reported = 1;
	}
	if (now >= p->next_upgrade_ms) {
		client_start_burst(p, now);
		if (c->registered)
			client_send_lookup(c, p, now);
	}
	next = p->next_upgrade_ms;
	if (!p->relay_reported)
		next = client_min64(next, p->punch_start_ms + CLIENT_PUNCH_MS);
	if (now < p->probe_until_ms) {
		if (now >= p->next_probe_ms) {
			send_probes(c, p, 0, now);
			p->next_probe_ms = now + CLIENT_PROBE_INTERVAL_MS;
		}
		next = client_min64(next, p->next_probe_ms);
	}
	return next;
}

