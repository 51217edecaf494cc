/* nat_check.c - know your NAT: MAPPING to the server's alternate port, and what the answer says (RFC 5780, 4.3). */
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"

/*
 * A REGISTERED: the server's alternate port, and whether our public
 * endpoint is new (a new mapping may behave anew). A MAPPING is due when
 * the server has such a port and we have not asked from this endpoint.
 */
void client_nat_registered(struct client *c, const struct proto_msg *m, int endpoint_changed,
			   int64_t now)
{
	if (m->alt_port != c->alt_port || endpoint_changed) {
		c->alt_port = m->alt_port;
		c->nat = PROTO_NAT_UNKNOWN;
		c->nat_tries = 0;
		c->nat_next_ms = m->alt_port != 0 ? now : -1;
	}
}

/* Returns 1 when from is the server's alternate port (where MAPPED comes from). */
int client_from_alt(const struct client *c, const struct proto_addr *from)
{
	struct proto_addr alt = c->cfg.server;

	if (c->alt_port == 0)
		return 0;
	alt.port = c->alt_port;
	return proto_addr_equal(from, &alt);
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

/*
 * MAPPED (sealed, so the server said it): the source the alternate port
 * saw. The same endpoint as the main port saw: our NAT maps one socket to
 * one public endpoint whatever the destination (RFC 4787, 4.1, endpoint-
 * independent), so a peer's probes to that endpoint can come in once we
 * have sent to it. Another one: a new mapping per destination, and the
 * endpoint the server tells our peers is not where their probes would
 * land. Said once for each kind learnt.
 */
void client_on_mapped(struct client *c, const struct proto_msg *m, int64_t now)
{
	if (c->alt_port == 0 || c->public_ep.family == 0)
		return;
	c->nat = proto_addr_equal(&m->public_ep, &c->public_ep) ? PROTO_NAT_KEEPS :
								    PROTO_NAT_SYMMETRIC;
	c->nat_next_ms = -1;
	if (c->nat == c->nat_said)
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

/* Sends MAPPING to the alternate port until it is answered, CLIENT_NAT_TRIES times at most. */
int64_t client_tick_nat(struct client *c, int64_t now)
{
	struct proto_addr alt = c->cfg.server;
	struct proto_msg m;

	if (c->nat_next_ms < 0 || !c->registered)
		return INT64_MAX;
	if (now < c->nat_next_ms)
		return c->nat_next_ms;
	alt.port = c->alt_port;
	client_msg_to_server(c, PROTO_MAPPING, &m);
	client_send_request_to(c, &m, &alt);
	if (++c->nat_tries >= CLIENT_NAT_TRIES) {
		c->nat_next_ms = -1;
		log_debug("the server's alternate port does not answer");
		return INT64_MAX;
	}
	c->nat_next_ms = now + CLIENT_NAT_RETRY_MS;
	return c->nat_next_ms;
}
