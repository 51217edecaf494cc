/* servers.c - the client's rendezvous servers: which hold our name and answer, which relays, whether they agree on a peer's key. */
#include <stdio.h>
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"

/*
 * Several servers (-s given more than once) share nothing: each is asked
 * the same things and believed alone, under its own key. One that stops
 * answering is reported once, and the others carry on; a server that was
 * the only one behaves as it always did.
 */
int client_several(const struct client *c)
{
	return c->cfg.nservers > 1;
}

/* HOST:PORT of server si, in a (NET_ADDRSTRLEN bytes). */
const char *client_server_str(const struct client *c, int si, char *a)
{
	return net_addr_str(&c->cfg.servers[si].addr, a);
}

/* Returns the index of the server at addr, or -1 when it is none of ours. */
int client_server_index(const struct client *c, const struct proto_addr *addr)
{
	for (int i = 0; i < c->cfg.nservers; i++)
		if (proto_addr_equal(addr, &c->cfg.servers[i].addr))
			return i;
	return -1;
}

/* Returns 1 when server si holds our name and answers: lookups and the relay may go there. */
int client_server_usable(const struct client *c, int si)
{
	const struct client_server *s = &c->srv[si];

	return s->registered && !s->down && !s->refused;
}

/*
 * The server whose relay carries p's datagrams: the one that introduced
 * us (both of us are registered there), else any other that answers and
 * relays (the peer registers with the same servers, most likely); with
 * none, the introducing one still. Returns an index.
 */
int client_relay_server(const struct client *c, const struct peer *p)
{
	int first = p != NULL && p->intro_srv < c->cfg.nservers ? p->intro_srv : 0;

	if (client_server_usable(c, first) && !c->srv[first].relay_off)
		return first;
	for (int i = 0; i < c->cfg.nservers; i++)
		if (client_server_usable(c, i) && !c->srv[i].relay_off)
			return i;
	return first;
}

/* c->registered and c->public_ep from the servers: some usable one, and the first's view. */
void client_servers_update(struct client *c)
{
	c->registered = 0;
	for (int i = 0; i < c->cfg.nservers; i++) {
		if (!client_server_usable(c, i))
			continue;
		if (!c->registered)
			c->public_ep = c->srv[i].public_ep;
		c->registered = 1;
	}
	client_nat_update(c, c->now_ms); /* a server that comes or goes may change what we know */
}

/*
 * A path to a peer looks dead (peer.c, tick_suspect): our NAT may have
 * given us a new mapping. A REFRESH to every server that holds our name,
 * at the next client_tick rather than at its time: the servers prove the
 * new address with a cookie and their REGISTEREDs tell us our public
 * endpoint, so that a LOOKUP can tell the peer. A server still being
 * registered with, or reported as not answering, keeps its back-off.
 */
void client_refresh_now(struct client *c, int64_t now)
{
	for (int i = 0; i < c->cfg.nservers; i++)
		if (client_server_usable(c, i) && c->srv[i].next_reg_ms > now)
			c->srv[i].next_reg_ms = now;
}


/* ---- the keys they give for peers ---- */

/*
 * Two servers named different keys for p: one of them (or someone on the
 * way to it) introduces an impostor, and we cannot tell which. Like a
 * changed key (peer_session.c), nothing more goes to p, and what waits
 * for it fails, until every server names one key again.
 */
static void refuse_two_keys(struct client *c, struct peer *p, int si, int sj)
{
	char a[NET_ADDRSTRLEN], b[NET_ADDRSTRLEN];

	if (!p->key_conflict)
		client_say(c, "* WARNING: the servers at %s and %s give different keys for %s "
			   "(one of them, or someone on the way, pretends); nothing is sent to %s",
			   client_server_str(c, sj, a), client_server_str(c, si, b), p->name, p->name);
	p->key_conflict = 1;
	if (p->state != PEER_OFFLINE) {
		p->state = PEER_OFFLINE;
		p->path_kind = PATH_NONE;
		/* A new pair of epochs: the stream connection ends (peer_session.c does the same
		   when a key changes). */
		p->peer_epoch = 0;
		p->my_epoch = client_new_epoch(c);
		client_streams_epochs(p);
	}
	session_peer_wipe(&p->sess); /* client_peer_key_ok makes them anew for the key agreed on */
	client_session_reset(p);
	p->key_checked = 0;
	p->wait_until_ms = -1;
	client_fail_pending(c, p, "the servers disagree on its key");
}

/*
 * Several servers: keeps server si's word on p's key and compares it with
 * the others'. Returns 1 when they agree (or si is the only one), 0 after
 * refuse_two_keys.
 */
int client_keys_agree(struct client *c, struct peer *p, int si, const uint8_t key[PROTO_KEY_LEN])
{
	memcpy(p->intro_key[si], key, PROTO_KEY_LEN);
	p->intro_mask |= 1u << si;
	for (int j = 0; j < c->cfg.nservers; j++) {
		if (j != si && (p->intro_mask & (1u << j)) &&
		    memcmp(p->intro_key[j], key, PROTO_KEY_LEN) != 0) {
			refuse_two_keys(c, p, si, j);
			return 0;
		}
	}
	p->key_conflict = 0;
	return 1;
}


/* ---- servers that cannot hold our name, or stop answering ---- */

/*
 * Several servers: server si cannot hold our name (it is full): say so,
 * and go on with the others, leaving it alone. Returns 1; 0 with one
 * server (then it is fatal, as it always was).
 */
int client_server_refused(struct client *c, int si, uint8_t code)
{
	char a[NET_ADDRSTRLEN];

	if (!client_several(c))
		return 0;
	client_say(c, "* the server at %s cannot register %s now (%s); going on with the others",
		   client_server_str(c, si, a), c->cfg.name, proto_error_text(code));
	c->srv[si].refused = 1;
	c->srv[si].registered = 0;
	client_servers_update(c);
	return 1;
}

/*
 * Several servers: server si answered nothing for CLIENT_RETRY_MAX_MS.
 * Said once; lookups and the relay go to the others meanwhile, its word
 * on keys is forgotten (it may come back with other names), and its
 * registration goes on with the back-off until it answers again
 * (client_on_registered says so).
 */
void client_server_down(struct client *c, int si)
{
	char a[NET_ADDRSTRLEN];

	c->srv[si].down = 1;
	c->srv[si].registered = 0; /* it may have restarted: REGISTER, not REFRESH */
	for (int i = 0; i < c->npeers; i++)
		c->peers[i]->intro_mask &= ~(1u << si);
	client_servers_update(c);
	client_say(c, "* server %s is not answering%s", client_server_str(c, si, a),
		   c->registered ? "; going on with the others" : "");
}
