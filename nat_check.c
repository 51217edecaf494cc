/* nat_check.c - know your NAT: MAPPING to each server's alternate port, and what the answers say (RFC 5780, 4.3). */
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"

/*
 * A REGISTERED from server si: its alternate port, and whether our public
 * endpoint there is new (a new mapping may behave anew). A MAPPING is due
 * when the server has such a port and we have not asked from this endpoint.
 */
void client_nat_registered(struct client *c, int si, const struct proto_msg *m,
			   int endpoint_changed, int64_t now)
{
	struct client_server *s = &c->srv[si];

	if (m->alt_port != s->alt_port || endpoint_changed) {
		s->alt_port = m->alt_port;
		s->nat = PROTO_NAT_UNKNOWN;
		s->nat_tries = 0;
		s->nat_next_ms = m->alt_port != 0 ? now : -1;
	}
}

/* Server si's alternate port, in *alt. Returns 0, or -1 when it has none. */
static int alt_addr(const struct client *c, int si, struct proto_addr *alt)
{
	if (c->srv[si].alt_port == 0)
		return -1;
	*alt = c->cfg.servers[si].addr;
	alt->port = c->srv[si].alt_port;
	return 0;
}

/* Returns the index of the server whose alternate port from is (where MAPPED comes from), or -1. */
int client_alt_index(const struct client *c, const struct proto_addr *from)
{
	struct proto_addr alt;

	for (int i = 0; i < c->cfg.nservers; i++)
		if (alt_addr(c, i, &alt) == 0 && proto_addr_equal(from, &alt))
			return i;
	return -1;
}

/* Returns the word /peers shows for a NAT's kind. */
const char *client_nat_word(uint8_t nat)
{
	switch (nat) {
	case PROTO_NAT_KEEPS: return "keeps";
	case PROTO_NAT_SYMMETRIC: return "symmetric";
	default: return "unknown";
	}
}

/* Returns 1 when server si sees us from beyond a NAT: not at one of our own addresses. */
static int beyond_nat(const struct client *c, int si)
{
	for (int i = 0; i < c->cfg.nprivate; i++)
		if (proto_addr_equal(&c->srv[si].public_ep, &c->cfg.private_ep[i]))
			return 0;
	return 1;
}

/*
 * Returns 1 when servers i and j, both beyond our NAT and of one address
 * family, saw us at two endpoints in one refresh round (CLIENT_NAT_SAME_MS).
 */
static int seen_apart(const struct client *c, int i, int j)
{
	const struct client_server *a = &c->srv[i], *b = &c->srv[j];
	int64_t gap = a->public_ms - b->public_ms;

	return a->public_ep.family == b->public_ep.family && (gap < 0 ? -gap : gap) <= CLIENT_NAT_SAME_MS &&
	       beyond_nat(c, i) && beyond_nat(c, j) && !proto_addr_equal(&a->public_ep, &b->public_ep);
}

/*
 * Our NAT's kind from every server that answers: symmetric when one
 * server's two ports saw two endpoints, or when two servers of one
 * address family, both beyond our NAT, saw us at two (RFC 5780, 4.3
 * compares destinations that differ in address and port: several
 * servers are such destinations for free); keeps when some server's two
 * ports agree and nothing says otherwise.
 */
static uint8_t nat_combine(const struct client *c)
{
	uint8_t nat = PROTO_NAT_UNKNOWN;

	for (int i = 0; i < c->cfg.nservers; i++) {
		const struct client_server *s = &c->srv[i];

		if (!client_server_usable(c, i))
			continue;
		if (s->nat == PROTO_NAT_SYMMETRIC)
			return PROTO_NAT_SYMMETRIC;
		for (int j = 0; j < i; j++)
			if (client_server_usable(c, j) && seen_apart(c, i, j))
				return PROTO_NAT_SYMMETRIC;
		if (s->nat == PROTO_NAT_KEEPS)
			nat = PROTO_NAT_KEEPS;
	}
	return nat;
}

/*
 * c->nat anew from the servers (nat_combine); a kind not said before is
 * said, once for each kind learnt, and the peers are told (client_nat_learnt).
 */
void client_nat_update(struct client *c, int64_t now)
{
	c->nat = nat_combine(c);
	if (c->nat == PROTO_NAT_UNKNOWN || c->nat == c->nat_said)
		return;
	c->nat_said = c->nat;
	client_nat_learnt(c, now);
	if (c->nat == PROTO_NAT_KEEPS)
		client_say(c, "* your NAT keeps your port for every destination: direct paths likely");
	else
		client_say(c, "* your NAT is symmetric: it gives every destination a new port, so "
			   "peers cannot aim at it; a peer behind a NAT that keeps its port may still be "
			   "reached by many tries at once (the birthday method), else the relay carries "
			   "the chat");
}

/*
 * MAPPED from server si (sealed, so the server said it): the source its
 * alternate port saw. The same endpoint as its main port saw: our NAT
 * maps one socket to one public endpoint whatever the destination (RFC
 * 4787, 4.1, endpoint-independent), so a peer's probes to that endpoint
 * can come in once we have sent to it. Another one: a new mapping per
 * destination, and the endpoint the server tells our peers is not where
 * their probes would land.
 */
void client_on_mapped(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	struct client_server *s = &c->srv[si];

	if (s->alt_port == 0 || s->public_ep.family == 0)
		return;
	s->nat = proto_addr_equal(&m->public_ep, &s->public_ep) ? PROTO_NAT_KEEPS :
								    PROTO_NAT_SYMMETRIC;
	s->nat_next_ms = -1;
	client_nat_update(c, now);
}

/*
 * Returns 1 when a server that holds our name still owes us its MAPPED
 * (the LOOKUP waits for it), with the next MAPPING's time in *due.
 */
int client_nat_waiting(const struct client *c, int64_t *due)
{
	int waiting = 0;

	*due = INT64_MAX;
	for (int i = 0; i < c->cfg.nservers; i++) {
		if (!client_server_usable(c, i) || c->srv[i].nat_next_ms < 0)
			continue;
		waiting = 1;
		*due = client_min64(*due, c->srv[i].nat_next_ms);
	}
	return waiting;
}

/* Server si: MAPPING to its alternate port until it is answered, CLIENT_NAT_TRIES times at most. */
static int64_t tick_nat_on(struct client *c, int si, int64_t now)
{
	struct client_server *s = &c->srv[si];
	struct proto_addr alt;
	struct proto_msg m;

	if (s->nat_next_ms < 0 || !client_server_usable(c, si) || alt_addr(c, si, &alt) < 0)
		return INT64_MAX;
	if (now < s->nat_next_ms)
		return s->nat_next_ms;
	client_msg_to_server(c, PROTO_MAPPING, &m);
	client_send_request_to(c, si, &m, &alt);
	if (++s->nat_tries >= CLIENT_NAT_TRIES) {
		s->nat_next_ms = -1;
		log_debug("the server's alternate port does not answer");
		return INT64_MAX;
	}
	s->nat_next_ms = now + CLIENT_NAT_RETRY_MS;
	return s->nat_next_ms;
}

/* Every server's MAPPING. Returns the next deadline. */
int64_t client_tick_nat(struct client *c, int64_t now)
{
	int64_t next = INT64_MAX;

	for (int i = 0; i < c->cfg.nservers; i++)
		next = client_min64(next, tick_nat_on(c, i, now));
	return next;
}
