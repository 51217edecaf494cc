/* registration.c - the client's exchange with p2pchatd: the seal (auth.h), REGISTER and REFRESH, the servers' keys, introductions, errors, /who. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "client_impl.h"
#include "ct.h"
#include "log.h"
#include "net.h"

/* ---- the servers' seal (auth.h) ---- */

/* K for server si's key, derived once. Returns 1 when c has it. */
static int client_k(struct client *c, int si)
{
	struct client_server *s = &c->srv[si];
	const struct client_server_config *sc = &c->cfg.servers[si];

	if (s->has_k)
		return 1;
	if (!sc->has_key)
		return 0;
	if (auth_derive(s->k, c->cfg.id.secret, sc->key, c->cfg.id.pub, sc->key) < 0) {
		/* A low-order "key" (only a bad --server-key or known_servers line): nothing opens. */
		log_error("the server's key is not a usable X25519 public key");
		return 0;
	}
	s->has_k = 1;
	return 1;
}

/*
 * Seals request m (a copy, with our key and the next counter) under
 * server si's K and sends it there. Before we know the server's key
 * (first contact), the seal is under a zero key: no server opens it, and
 * the only answer it can draw is the COOKIE that brings the key. One
 * counter serves every server: it grows for each of them all the same.
 */
void client_send_request(struct client *c, int si, const struct proto_msg *m)
{
	client_send_request_to(c, si, m, &c->cfg.servers[si].addr);
}

/* client_send_request, to another of server si's ports (nat_check.c: its alternate one). */
void client_send_request_to(struct client *c, int si, const struct proto_msg *m,
			    const struct proto_addr *to)
{
	static const uint8_t zero_k[AUTH_KEY_LEN];
	struct proto_msg r = *m;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t off, len;
	int n;

	/* Counters start at the wall clock: they grow across restarts (auth.h). */
	if (c->counter < c->cfg.counter_start)
		c->counter = c->cfg.counter_start;
	r.counter = ++c->counter;
	memcpy(r.key, c->cfg.id.pub, PROTO_KEY_LEN);
	n = proto_encode_open(&r, buf, sizeof(buf), &off);
	len = n < 0 ? 0 : auth_seal_request(buf, (size_t)n, sizeof(buf), off,
					    client_k(c, si) ? c->srv[si].k : zero_k);
	if (len == 0) {
		log_error("cannot encode %s: %s", proto_type_name(m->type), proto_strerror(n));
		return;
	}
	if (log_enabled(LOG_DEBUG)) {
		char a[NET_ADDRSTRLEN];

		log_debug("send %s to %s (%zu bytes)", proto_type_name(m->type),
			  net_addr_str(to, a), len);
	}
	c->io.send(c->io.ctx, to, buf, len);
}

/* Sends request m to server si (client_send_msg, which seals it). */
void client_send_to_server(struct client *c, int si, const struct proto_msg *m)
{
	client_send_msg(c, &c->cfg.servers[si].addr, m);
}

void client_forget_keys(struct client *c)
{
	identity_wipe(&c->cfg.id);
	for (int i = 0; i < CLIENT_MAX_SERVERS; i++) {
		ct_wipe(c->srv[i].k, sizeof(c->srv[i].k));
		c->srv[i].has_k = 0;
	}
}

/* Counts and drops a datagram from the server's address that we do not believe. */
static void client_unauthenticated(struct client *c, const char *why)
{
	c->stats.unauthenticated++;
	log_debug("dropped a datagram from the server's address: %s", why);
}

/*
 * Opens a sealed answer buf[0..len) (its body at body_off) into *m: it
 * must open under K and its counter be fresh in our window. Returns 1, or
 * 0 (counted, dropped: never believed, never fatal).
 */
static int client_open_answer(struct client *c, int si, const uint8_t *buf, size_t len,
			      size_t body_off, struct proto_msg *m)
{
	struct client_server *s = &c->srv[si];
	uint8_t open[PROTO_MAX_DATAGRAM];
	long n;

	if (!client_k(c, si) || len > sizeof(open)) {
		client_unauthenticated(c, "sealed, and no key for the server yet");
		return 0;
	}
	n = auth_open_answer(open, buf, len, body_off, s->k);
	if (n < 0) {
		client_unauthenticated(c, "does not open");
		return 0;
	}
	if (!auth_window_check(&s->answers, AUTH_ANSWER_WINDOW, auth_counter(open, body_off))) {
		client_unauthenticated(c, "a replay");
		return 0;
	}
	if (proto_decode(open, (size_t)n, m) < 0) {
		c->stats.malformed++;
		return 0;
	}
	auth_window_accept(&s->answers, AUTH_ANSWER_WINDOW, m->counter);
	return 1;
}

/*
 * A version refusal from the server's address. Not sealed, so anyone
 * could have sent it: never fatal. Said once, and only while no sealed
 * answer ever came (then the server really may speak another version).
 */
static void client_on_version_refusal(struct client *c, int si, uint8_t version)
{
	struct client_server *s = &c->srv[si];
	char a[NET_ADDRSTRLEN];

	c->stats.version_refusals++;
	/* Once, and only while no answer of the server's ever opened: a v2 server seals them. */
	if (s->said_version || s->answers.top != 0)
		return;
	s->said_version = 1;
	client_say(c, "* the server at %s speaks protocol version %u; this p2pchat needs version %u",
		   client_server_str(c, si, a), version, PROTO_VERSION);
}

/*
 * NOTICE, not sealed: "register again" (the server does not know us).
 * Registering again is harmless and idempotent, so we do it, but at most
 * once a CLIENT_RETRY_MS: a flood of forged NOTICEs costs us little.
 */
static void client_on_notice(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	struct client_server *s = &c->srv[si];

	if (m->code != PROTO_E_UNKNOWN || strcmp(m->name, c->cfg.name) != 0 ||
	    now < s->notice_until_ms) {
		client_unauthenticated(c, "a NOTICE not about us, or too soon");
		return;
	}
	s->notice_until_ms = now + CLIENT_RETRY_MS;
	log_info("the server does not know us: registering again");
	s->registered = 0;
	s->ever_registered = 0; /* say so again when it is done (the answer is sealed) */
	s->next_reg_ms = now;
	client_servers_update(c);
}

/* A datagram from server si's address: opened (or believed, for the few unsealed kinds), then handled. */
void client_on_server(struct client *c, int si, const uint8_t *buf, size_t len, int64_t now)
{
	struct proto_msg m;
	uint8_t version;
	int off;

	if (proto_version_refusal(buf, len, &version)) {
		client_on_version_refusal(c, si, version);
		return;
	}
	off = proto_decode_prefix(buf, len, &m);
	if (off < 0) {
		c->stats.malformed++;
		return;
	}
	if (off > 0) {
		if (!client_open_answer(c, si, buf, len, (size_t)off, &m))
			return;
	} else if (proto_decode(buf, len, &m) < 0) {
		c->stats.malformed++;
		return;
	}
	log_debug("recv %s from the server", proto_type_name(m.type));
	switch (m.type) {
	case PROTO_REGISTERED: client_on_registered(c, si, &m, now); break;
	case PROTO_COOKIE: client_on_cookie(c, si, &m, now); break;
	case PROTO_PEER: client_on_peer_intro(c, si, &m, now); break;
	case PROTO_ERROR: client_on_error(c, si, &m, now); break;
	case PROTO_NOTICE: client_on_notice(c, si, &m, now); break;
	case PROTO_WHO_REPLY: client_on_who_reply(c, si, &m, now); break;
	case PROTO_RELAYED: client_on_relayed(c, si, &m, now); break;
	case PROTO_MAPPED: client_on_mapped(c, si, &m, now); break;
	default: c->stats.stray++; break; /* requests are for the server; peers are not there */
	}
}

/* ---- messages from the server ---- */

/* Sends a LOOKUP for p to server si alone. */
static void lookup_on(struct client *c, int si, const struct peer *p)
{
	struct proto_msg m;

	client_msg_to_server(c, PROTO_LOOKUP, &m);
	snprintf(m.target, sizeof(m.target), "%s", p->name);
	client_send_to_server(c, si, &m);
}

/*
 * Several servers: server si holds our name (again) while the others
 * already did. The peers we talk to are asked for there too, so that
 * every server's word on their keys is compared (client_on_peer_intro);
 * a peer still to be looked up is asked everywhere by its own timer.
 */
static void lookup_all_on(struct client *c, int si, int64_t now)
{
	for (int i = 0; i < c->npeers; i++) {
		const struct peer *p = c->peers[i];

		if (p->state == PEER_LOOKUP ? now >= p->next_lookup_ms :
		    p->state == PEER_OFFLINE && !p->wanted)
			continue;
		lookup_on(c, si, p);
	}
}

void client_on_registered(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	struct client_server *s = &c->srv[si];
	char a[NET_ADDRSTRLEN], b[NET_ADDRSTRLEN];
	int was = s->registered, was_ever = s->ever_registered;
	int moved = !s->ever_registered || !proto_addr_equal(&s->public_ep, &m->public_ep);

	if (strcmp(m->name, c->cfg.name) != 0)
		return;
	if (s->down) {
		client_say(c, "* server %s is answering again", client_server_str(c, si, b));
	} else if (moved) {
		if (client_several(c))
			client_say(c, "* registered as %s with %s (public %s)", c->cfg.name,
				   client_server_str(c, si, b), net_addr_str(&m->public_ep, a));
		else
			client_say(c, "* registered as %s (public %s)", c->cfg.name,
				   net_addr_str(&m->public_ep, a));
	}
	/* A new registration (a restarted server, other options?): the relay may be on again. */
	if (!s->registered)
		s->relay_off = 0;
	s->registered = 1;
	s->ever_registered = 1;
	s->down = 0;
	s->public_ep = m->public_ep;
	s->public_ms = now;
	client_nat_registered(c, si, m, moved, now);
	/*
	 * Several servers: one sees us at a new endpoint (our NAT remapped):
	 * the others' view is old; ask them now, so that their word and ours
	 * agree (client_servers_update, nat_check.c) within a round trip.
	 */
	if (client_several(c) && moved && was_ever)
		client_refresh_now(c, now);
	memcpy(s->cookie, m->cookie, PROTO_COOKIE_LEN);
	s->reg_retry_ms = CLIENT_RETRY_MS;
	s->reg_since_ms = -1;
	s->warned = 0;
	s->notice_until_ms = 0;
	/* Three refreshes a TTL (of 1 s at least): one or two may be lost, the name lives on. */
	s->next_reg_ms = now + client_min64(CLIENT_REFRESH_MS, (m->ttl_s > 0 ? m->ttl_s : 1) * 1000 / 3);
	if (client_several(c) && !was && c->registered)
		lookup_all_on(c, si, now);
	client_servers_update(c);
}

/*
 * The key in a COOKIE (not sealed: anyone can send one). At first contact
 * (no key pinned or given) it is pinned, as ssh's accept-new does; else
 * it must be the key we have, and another one is refused, loudly, once:
 * nothing is sent under it. Returns 1 when the COOKIE may be used.
 */
static int client_server_key(struct client *c, int si, const uint8_t key[PROTO_KEY_LEN])
{
	struct client_server_config *sc = &c->cfg.servers[si];
	char a[NET_ADDRSTRLEN];

	if (!sc->has_key) {
		memcpy(sc->key, key, PROTO_KEY_LEN);
		sc->has_key = 1;
		if (!client_k(c, si)) {
			sc->has_key = 0;
			client_unauthenticated(c, "a COOKIE with a low-order key");
			return 0;
		}
		if (c->io.pin_server != NULL)
			c->io.pin_server(c->io.ctx, key, si);
		return 1;
	}
	if (memcmp(sc->key, key, PROTO_KEY_LEN) == 0)
		return 1;
	client_unauthenticated(c, "a COOKIE with another key than the server's");
	if (c->srv[si].said_key_changed)
		return 0;
	c->srv[si].said_key_changed = 1;
	client_server_str(c, si, a);
	if (sc->key_file != NULL)
		client_say(c, "* WARNING: the server at %s has a new key (or someone pretends to be it); "
			   "nothing was sent. If the operator changed it, remove its line from %s", a,
			   sc->key_file);
	else
		client_say(c, "* WARNING: the server at %s has another key than --server-key gave "
			   "(or someone pretends to be it); nothing was sent", a);
	return 0;
}

/*
 * COOKIE: the server wants proof that we receive at the address it sees
 * (a first REGISTER, a NAT that gave us a new mapping, a server that
 * restarted with a new key). Send the request again at once with the
 * cookie. A cookie we already sent does not hurry us: that answer was to
 * an older request, and the retry timer takes care of this one.
 */
void client_on_cookie(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	struct client_server *s = &c->srv[si];

	if (!client_server_key(c, si, m->key))
		return;
	if (memcmp(s->cookie, m->cookie, PROTO_COOKIE_LEN) == 0)
		return;
	memcpy(s->cookie, m->cookie, PROTO_COOKIE_LEN);
	log_debug("the server sent a cookie: registering again with it");
	s->next_reg_ms = now;
}

/*
 * A server introduces a peer, with the key it registered with: the
 * handshake (peer_session.c) is made to that key, and checked against the
 * one pinned for the name there. With several servers, every server's
 * key for the name must be the same (keys_agree), and the introduction
 * of a server other than the one whose introduction started the attempt
 * under way only confirms the key: it does not start the punch again
 * (through a NAT that maps each destination apart, each server sees the
 * peer at another port).
 */
void client_on_peer_intro(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	struct peer *p = client_peer_get(c, m->name);
	int same_key, same;

	if (p == NULL) {
		log_warn("no room for peer %s (at most %d)", m->name, CLIENT_MAX_PEERS);
		return;
	}
	if (client_several(c) && !client_keys_agree(c, p, si, m->peer_key))
		return;
	same_key = p->introduced && p->has_key && memcmp(p->key, m->peer_key, PROTO_KEY_LEN) == 0;
	if (same_key && si != p->intro_srv && client_server_usable(c, p->intro_srv) &&
	    (p->state == PEER_PUNCH || p->state == PEER_CONNECTED))
		return;
	p->intro_srv = si;
	same = same_key && proto_addr_equal(&p->public_ep, &m->public_ep);
	p->introduced = 1;
	memcpy(p->key, m->peer_key, PROTO_KEY_LEN);
	p->has_key = 1;
	p->public_ep = m->public_ep;
	p->other_ep = m->other_ep;
	p->nat = m->nat;
	p->nat_port = m->nat_port;
	p->nprivate = m->nprivate;
	memcpy(p->private_ep, m->private_ep, sizeof(p->private_ep));
	p->said_not_online = 0;
	/*
	 * On the relay, the peer asked again to look for a direct path
	 * (client_tick_upgrade): look with it, where the server sees it now.
	 */
	if (same_key && client_relayed(p)) {
		if (!client_bursting(p, now))
			client_start_burst(p, now);
		return;
	}
	/*
	 * Two lookups that cross give both sides two identical introductions:
	 * an attempt under way goes on. A new key or a new public endpoint
	 * (the peer restarted, or its NAT mapping changed) means a new attempt.
	 */
	if (same && (p->state == PEER_PUNCH || p->state == PEER_CONNECTED))
		return;
	client_start_punch(c, p, now);
}

/*
 * The server does not relay: connect directly or not at all. A chat on the
 * relay goes back to punching, its lines waiting for a direct path as long
 * as -w allows.
 */
static void on_relay_off(struct client *c, int si, int64_t now)
{
	char a[NET_ADDRSTRLEN];

	if (c->srv[si].relay_off)
		return;
	c->srv[si].relay_off = 1;
	if (client_several(c))
		client_say(c, "* the server at %s does not relay", client_server_str(c, si, a));
	else
		client_say(c, "* the server does not relay: direct paths only");
	/* Another server's relay carries on (client_relay_server). */
	if (client_relay_usable(c))
		return;
	for (int i = 0; i < c->npeers; i++) {
		struct peer *p = c->peers[i];

		p->relay_ok = 0;
		if (!client_relayed(p))
			continue;
		client_start_punch(c, p, now);
		if (client_lines_pending(p) > 0 && p->wait_until_ms < 0)
			p->wait_until_ms = now + c->cfg.wait_ms;
	}
}

/*
 * The peer we asked for is not online. One we want (named on the command
 * line, in /chat, or with lines for it) is waited for: the server keeps
 * our LOOKUP (PROTO_DETAIL_WAITING) and introduces us when it registers,
 * so we only renew it now and then; an older server does not, and we ask
 * again (every second while lines wait). Lines still fail after -w.
 */
static void on_not_online(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	struct peer *p = client_peer_find(c, m->name);
	int kept = m->detail == PROTO_DETAIL_WAITING;

	if (p == NULL || p->state != PEER_LOOKUP)
		return;
	/* Several servers: not online only when no server that answers knows it. */
	p->not_online_mask |= 1u << si;
	for (int i = 0; i < c->cfg.nservers; i++)
		if (client_server_usable(c, i) && !(p->not_online_mask & (1u << i)))
			return;
	p->introduced = 0;
	if (!p->wanted && p->wait_until_ms < 0) {
		p->state = PEER_OFFLINE;
		return;
	}
	if (!p->said_not_online)
		client_say(c, "* waiting for %s to come online", p->name);
	p->said_not_online = 1;
	p->next_lookup_ms = now + (kept ? CLIENT_WAIT_RENEW_MS :
				   p->wait_until_ms >= 0 ? CLIENT_LOOKUP_RETRY_MS : CLIENT_WAIT_POLL_MS);
}

/*
 * Another instance of our name (our token, another address) registered:
 * it holds the name now. Report what we could not deliver and stop
 * (main exits 1).
 */
static void on_replaced(struct client *c, const struct proto_msg *m)
{
	char why[64 + PROTO_NAME_MAX];

	if (strcmp(m->name, c->cfg.name) != 0 || c->fatal)
		return;
	snprintf(why, sizeof(why), "another instance of %s took the name", c->cfg.name);
	client_say(c, "* %s", why);
	for (int i = 0; i < c->npeers; i++)
		client_fail_pending(c, c->peers[i], why);
	c->fatal = 1;
}

/* A sealed ERROR: the server really said it, so it may stop us (NAME_TAKEN, ...). */
void client_on_error(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	switch (m->code) {
	case PROTO_E_NAME_TAKEN:
		client_say(c, "* name %s is taken: another user holds it (try another name)", c->cfg.name);
		c->fatal = 1;
		break;
	case PROTO_E_TABLE_FULL:
		if (client_server_refused(c, si, m->code))
			break;
		client_say(c, "* the server is full: it cannot register %s now", c->cfg.name);
		c->fatal = 1;
		break;
	case PROTO_E_TOO_MANY_NAMES:
		if (client_server_refused(c, si, m->code))
			break;
		client_say(c, "* the server holds as many names from this address as it allows: "
		       "it cannot register %s now", c->cfg.name);
		c->fatal = 1;
		break;
	case PROTO_E_ADDRESS:
		/* Our NAT gave us a new mapping: refresh from it now, then ask again. */
		log_info("the server knows us at another address: refreshing");
		c->srv[si].next_reg_ms = now;
		break;
	case PROTO_E_WHO_OFF:
		if (c->who_until_ms < 0)
			return;
		client_say(c, "* the server does not list names");
		c->who_until_ms = -1;
		break;
	case PROTO_E_RELAY_OFF:
		on_relay_off(c, si, now);
		break;
	case PROTO_E_NOT_ONLINE:
		on_not_online(c, si, m, now);
		break;
	case PROTO_E_REPLACED:
		on_replaced(c, m);
		break;
	default:
		log_warn("server error %u: %s", m->code, proto_error_text(m->code));
	}
}

/*
 * Asks for the /who page at c->who_cursor: of the first server that
 * answers (a listing is one server's; pages of two would not join up).
 */
static void send_who(struct client *c, int64_t now)
{
	struct proto_msg m;

	for (c->who_srv = 0; c->who_srv < c->cfg.nservers - 1; c->who_srv++)
		if (client_server_usable(c, c->who_srv))
			break;
	client_msg_to_server(c, PROTO_WHO, &m);
	m.cursor = c->who_cursor;
	client_send_to_server(c, c->who_srv, &m);
	c->who_next_ms = now + CLIENT_WHO_RETRY_MS;
}

/* One page of /who: show its names on one line, then ask for the next page. */
void client_on_who_reply(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	char line[16 + PROTO_WHO_MAX * (PROTO_NAME_MAX + 1)];
	size_t off;

	/* Not the page we wait for: a late answer to a page asked for twice, or another server's. */
	if (c->who_until_ms < 0 || m->cursor != c->who_cursor || si != c->who_srv)
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

/* ---- time ---- */

/* Server si: REGISTER until it answers, then REFRESH every CLIENT_REFRESH_MS (or TTL / 3). */
static int64_t tick_server(struct client *c, int si, int64_t now)
{
	struct client_server *s = &c->srv[si];
	struct proto_msg m;
	int64_t down_at = INT64_MAX;

	if (s->refused)
		return INT64_MAX;
	if (client_several(c) && !s->down && s->reg_since_ms >= 0) {
		down_at = s->reg_since_ms + CLIENT_RETRY_MAX_MS;
		if (now >= down_at) {
			client_server_down(c, si);
			down_at = INT64_MAX;
		}
	}
	if (now < s->next_reg_ms)
		return client_min64(s->next_reg_ms, down_at);
	client_msg_to_server(c, s->registered ? PROTO_REFRESH : PROTO_REGISTER, &m);
	memcpy(m.cookie, s->cookie, PROTO_COOKIE_LEN);
	/*
	 * The same in both families: a server given once by each address
	 * (-s 192.0.2.1 -s [2001:db8::1]) keeps the second as our other
	 * family's endpoint, instead of taking it for a second program.
	 */
	m.instance = c->instance;
	if (m.type == PROTO_REGISTER) {
		m.nprivate = c->cfg.nprivate;
		memcpy(m.private_ep, c->cfg.private_ep, sizeof(m.private_ep));
	}
	client_send_to_server(c, si, &m);
	if (s->reg_since_ms < 0) {
		s->reg_since_ms = now;
		if (client_several(c) && !s->down)
			down_at = now + CLIENT_RETRY_MAX_MS;
	} else if (!s->warned && now - s->reg_since_ms >= CLIENT_RETRY_MAX_MS) {
		char a[NET_ADDRSTRLEN];

		log_warn("no answer from the server at %s yet", client_server_str(c, si, a));
		s->warned = 1;
	}
	/* Until an answer comes, try again sooner and sooner less often. */
	s->next_reg_ms = now + s->reg_retry_ms;
	s->reg_retry_ms = client_min64(s->reg_retry_ms * 2, CLIENT_RETRY_MAX_MS);
	return client_min64(s->next_reg_ms, down_at);
}

/* Every server's registration. Returns the next deadline. */
int64_t client_tick_registration(struct client *c, int64_t now)
{
	int64_t next = INT64_MAX;

	for (int i = 0; i < c->cfg.nservers; i++)
		next = client_min64(next, tick_server(c, i, now));
	return next;
}

/* A /who page unanswered: ask again (once registered), or give up. */
int64_t client_tick_who(struct client *c, int64_t now)
{
	if (c->who_until_ms < 0)
		return INT64_MAX;
	if (now >= c->who_until_ms) {
		client_say(c, "* the server did not answer /who");
		c->who_until_ms = -1;
		return INT64_MAX;
	}
	if (!c->registered)
		return c->who_until_ms; /* client_on_registered's tick comes first */
	if (now >= c->who_next_ms)
		send_who(c, now);
	return client_min64(c->who_next_ms, c->who_until_ms);
}
