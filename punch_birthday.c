/* punch_birthday.c - the birthday method on a relayed chat: when to try, the probes of each side, the spare sockets, the win (birthday.h). */
#include <stdio.h>
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"

/*
 * A try needs: a chat on the relay (a session to seal the probes under,
 * and a peer who is there), a peer we asked for (both sides play only for
 * a peer each asked for: neither side's part works alone), our NAT's kind
 * and the peer's, exactly one of them symmetric, and the back-off passed.
 * The probes are PATH_CHALLENGEs sealed under the chat's session, all
 * carrying the try's bytes: only the peer opens one, and its PATH_RESPONSE
 * from where the probe landed proves that path (RFC 9000, 8.2), so the
 * chat moves there (client_path_proven) while the relay carries it on.
 */

/* Returns 1 when p and we share an IP address family and p's public address is one (never another host). */
static int aimable(const struct client *c, const struct peer *p)
{
	return p->public_ep.family != 0 &&
	       (p->public_ep.family == PROTO_AF_INET || c->cfg.ipv6);
}

/* Sends one probe: the i-th of the try, from the easy side to a port, or from the hard side's socket. */
static void send_probe(struct client *c, struct peer *p, uint32_t i)
{
	struct bday *b = &p->bday;
	struct route r = client_direct_route(&p->public_ep);
	struct proto_msg m;

	/* Never to an address other than the one the server saw the peer at. */
	if (b->role == BDAY_EASY)
		r.addr.port = bday_port(b, i);
	else
		r.sock = 1 + (int)(i % b->total);
	client_msg_to_peer(p, PROTO_PATH_CHALLENGE, &m);
	memcpy(m.path_data, b->data, sizeof(m.path_data));
	client_send_route(c, p, &r, &m);
}

/* Closes the spare sockets p holds but the one its path uses (if it does). */
static void release_spares(struct client *c, const struct peer *p)
{
	int keep;

	if (strcmp(c->spare_owner, p->name) != 0 || c->io.spares == NULL)
		return;
	keep = p->state == PEER_CONNECTED && !p->path.relay ? p->path.sock : 0;
	c->io.spares(c->io.ctx, 0, keep);
	if (keep == 0)
		c->spare_owner[0] = '\0';
}

/* Ends p's try at now: won (the chat left the relay for a direct path) or not. */
static void end_try(struct client *c, struct peer *p, int64_t now)
{
	struct bday *b = &p->bday;
	int won = p->state == PEER_CONNECTED && !p->path.relay;

	if (won)
		client_say(c, "* direct path to %s found by the birthday method: %u probes, %lld ms",
			   p->name, b->sent, (long long)(now - b->start_ms));
	else
		log_info("%s: the birthday method found no path in %u probes; next try in %lld s",
			 p->name, b->sent, (long long)(b->next_try_ms - now) / 1000);
	bday_stop(b, won, now);
	release_spares(c, p);
}

/* Starts a try of role: the hard side opens its sockets first. Returns 1 when it started. */
static int start_try(struct client *c, struct peer *p, enum bday_role role, int64_t now)
{
	struct bday *b = &p->bday;
	uint32_t seed;
	int n = BDAY_SOCKETS;

	if (role == BDAY_HARD) {
		/*
		 * One peer's try (or won path) at a time holds the spare sockets; a
		 * peer gone holds none. Per peer they would need p2pchat.c's one set
		 * of sockets cut into ranges (client_io.spares opens a whole new set);
		 * the README says so. Meanwhile the relay carries this chat.
		 */
		if (c->spare_owner[0] != '\0' && strcmp(c->spare_owner, p->name) != 0 &&
		    client_peer_find(c, c->spare_owner) != NULL) {
			if (!p->said_spares_wait)
				client_say(c, "* %s: the birthday method waits: %s's try holds the spare "
					   "sockets (one peer at a time); the relay carries the chat",
					   p->name, c->spare_owner);
			p->said_spares_wait = 1;
			return 0;
		}
		n = c->io.spares(c->io.ctx, BDAY_SOCKETS, 0);
		if (n <= 0) {
			log_warn("cannot open sockets for the birthday method");
			b->running = 1; /* counts as a failed try: the back-off applies */
			bday_stop(b, 0, now);
			return 0;
		}
		snprintf(c->spare_owner, sizeof(c->spare_owner), "%s", p->name);
		p->said_spares_wait = 0; /* a later wait is said again */
	}
	client_random(c, &seed, sizeof(seed));
	bday_start(b, role, p->public_ep.port, p->nat_port, seed, now);
	if (role == BDAY_HARD)
		b->total = (uint32_t)n;
	client_random(c, b->data, sizeof(b->data));
	if (b->tries == 0)
		client_say(c, "* %s: one NAT is symmetric: trying %s for a direct path (the birthday "
			   "method); the relay carries the chat meanwhile", p->name,
			   role == BDAY_HARD ? "many sockets at once" : "many ports at once");
	log_info("%s: birthday try %d as the %s side", p->name, b->tries + 1,
		 role == BDAY_HARD ? "hard (symmetric)" : "easy");
	return 1;
}

int64_t client_tick_birthday(struct client *c, struct peer *p, int64_t now)
{
	struct bday *b = &p->bday;
	enum bday_role role;
	uint32_t due;

	if (b->running) {
		if (!client_relayed(p) || bday_over(b, now)) {
			end_try(c, p, now);
			return INT64_MAX;
		}
		for (due = bday_due(b, now); due > 0; due--, b->sent++)
			send_probe(c, p, b->sent);
		return bday_next_ms(b);
	}
	/* The chat left the spare socket it had won (a NAT change, the peer gone): close it. */
	if (c->spare_owner[0] != '\0' && (p->state != PEER_CONNECTED || p->path.sock == 0))
		release_spares(c, p);
	if (!client_relayed(p) || !p->wanted || !aimable(c, p))
		return INT64_MAX;
	role = bday_role(c->nat, p->nat);
	if (role == BDAY_BOTH_HARD && !p->said_both_hard) {
		p->said_both_hard = 1;
		client_say(c, "* %s and we are both behind symmetric NATs: each gives every "
			   "destination a new port, so neither side has a port to aim at; the relay "
			   "carries the chat", p->name);
	}
	if ((role != BDAY_HARD && role != BDAY_EASY) ||
	    (role == BDAY_HARD && (c->io.spares == NULL || c->io.send_spare == NULL)))
		return INT64_MAX;
	if (now < b->next_try_ms)
		return b->next_try_ms;
	/* Not started: the spares are another peer's (ask again later), or none opened (the back-off). */
	if (!start_try(c, p, role, now))
		return b->next_try_ms > now ? b->next_try_ms : now + CLIENT_PUNCH_MS;
	return now;
}

int client_birthday_answer(const struct peer *p, const struct proto_msg *in,
			   const struct route *from)
{
	const struct bday *b = &p->bday;

	return b->running && in->type == PROTO_PATH_RESPONSE && !from->relay &&
	       memcmp(in->path_data, b->data, sizeof(b->data)) == 0 &&
	       from->addr.family == p->public_ep.family &&
	       memcmp(from->addr.ip, p->public_ep.ip, sizeof(from->addr.ip)) == 0;
}

/*
 * We learnt our NAT's kind: the peers we asked for are introduced again,
 * so that each side hears the other's kind as the server knows it now
 * (whichever MAPPING came last, the later introduction carries both).
 */
void client_nat_learnt(struct client *c, int64_t now)
{
	for (int i = 0; i < c->npeers; i++) {
		struct peer *p = c->peers[i];

		if (p->wanted && p->introduced && c->registered &&
		    (p->state == PEER_PUNCH || p->state == PEER_CONNECTED))
			client_send_lookup(c, p, now);
	}
}
