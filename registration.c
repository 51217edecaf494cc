/* registration.c - the client's side of p2pchatd: the seal (auth.h), REGISTER and REFRESH, the server's key, introductions, errors, /who. */
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

/* ---- the server's seal (auth.h) ---- */

/* K for the server's key, derived once. Returns 1 when c has it. */
static int client_k(struct client *c)
{
	if (c->has_k)
		return 1;
	if (!c->cfg.has_server_key)
		return 0;
	if (auth_derive(c->k, c->cfg.id.secret, c->cfg.server_key, c->cfg.id.pub,
			c->cfg.server_key) < 0) {
		/* A low-order "key" (only a bad --server-key or known_servers line): nothing opens. */
		log_error("the server's key is not a usable X25519 public key");
		return 0;
	}
	c->has_k = 1;
	return 1;
}

/*
 * Seals request m (a copy, with our key and the next counter) under K
 * and sends it to the server. Before we know the server's key (first
 * contact), the seal is under a zero key: no server opens it, and the
 * only answer it can draw is the COOKIE that brings the key.
 */
void client_send_request(struct client *c, const struct proto_msg *m)
{
	client_send_request_to(c, m, &c->cfg.server);
}

/* client_send_request, to another of the server's ports (nat_check.c: its alternate one). */
void client_send_request_to(struct client *c, const struct proto_msg *m, const struct proto_addr *to)
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
					    client_k(c) ? c->k : zero_k);
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

void client_forget_keys(struct client *c)
{
	identity_wipe(&c->cfg.id);
	ct_wipe(c->k, sizeof(c->k));
	c->has_k = 0;
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
static int client_open_answer(struct client *c, const uint8_t *buf, size_t len, size_t body_off,
			      struct proto_msg *m)
{
	uint8_t open[PROTO_MAX_DATAGRAM];
	long n;

	if (!client_k(c) || len > sizeof(open)) {
		client_unauthenticated(c, "sealed, and no key for the server yet");
		return 0;
	}
	n = auth_open_answer(open, buf, len, body_off, c->k);
	if (n < 0) {
		client_unauthenticated(c, "does not open");
		return 0;
	}
	if (!auth_window_check(&c->answers, AUTH_ANSWER_WINDOW, auth_counter(open, body_off))) {
		client_unauthenticated(c, "a replay");
		return 0;
	}
	if (proto_decode(open, (size_t)n, m) < 0) {
		c->stats.malformed++;
		return 0;
	}
	auth_window_accept(&c->answers, AUTH_ANSWER_WINDOW, m->counter);
	return 1;
}

/*
 * A version refusal from the server's address. Not sealed, so anyone
 * could have sent it: never fatal. Said once, and only while no sealed
 * answer ever came (then the server really may speak another version).
 */
static void client_on_version_refusal(struct client *c, uint8_t version)
{
	char a[NET_ADDRSTRLEN];

	c->stats.version_refusals++;
	/* Once, and only while no answer of the server's ever opened: a v2 server seals them. */
	if (c->said_version || c->answers.top != 0)
		return;
	c->said_version = 1;
	client_say(c, "* the server at %s speaks protocol version %u; this p2pchat needs version %u",
		   net_addr_str(&c->cfg.server, a), version, PROTO_VERSION);
}

/*
 * NOTICE, not sealed: "register again" (the server does not know us).
 * Registering again is harmless and idempotent, so we do it, but at most
 * once a CLIENT_RETRY_MS: a flood of forged NOTICEs costs us little.
 */
static void client_on_notice(struct client *c, const struct proto_msg *m, int64_t now)
{
	if (m->code != PROTO_E_UNKNOWN || strcmp(m->name, c->cfg.name) != 0 ||
	    now < c->notice_until_ms) {
		client_unauthenticated(c, "a NOTICE not about us, or too soon");
		return;
	}
	c->notice_until_ms = now + CLIENT_RETRY_MS;
	log_info("the server does not know us: registering again");
	c->registered = 0;
	c->ever_registered = 0; /* say so again when it is done (the answer is sealed) */
	c->next_reg_ms = now;
}

void client_on_server(struct client *c, const uint8_t *buf, size_t len, int64_t now)
{
	struct proto_msg m;
	uint8_t version;
	int off;

	if (proto_version_refusal(buf, len, &version)) {
		client_on_version_refusal(c, version);
		return;
	}
	off = proto_decode_prefix(buf, len, &m);
	if (off < 0) {
		c->stats.malformed++;
		return;
	}
	if (off > 0) {
		if (!client_open_answer(c, buf, len, (size_t)off, &m))
			return;
	} else if (proto_decode(buf, len, &m) < 0) {
		c->stats.malformed++;
		return;
	}
	log_debug("recv %s from the server", proto_type_name(m.type));
	switch (m.type) {
	case PROTO_REGISTERED: client_on_registered(c, &m, now); break;
	case PROTO_COOKIE: client_on_cookie(c, &m, now); break;
	case PROTO_PEER: client_on_peer_intro(c, &m, now); break;
	case PROTO_ERROR: client_on_error(c, &m, now); break;
	case PROTO_NOTICE: client_on_notice(c, &m, now); break;
	case PROTO_WHO_REPLY: client_on_who_reply(c, &m, now); break;
	case PROTO_RELAYED: client_on_relayed(c, &m, now); break;
	case PROTO_MAPPED: client_on_mapped(c, &m, now); break;
	default: c->stats.stray++; break; /* requests are for the server; peers are not there */
	}
}

/* ---- messages from the server ---- */

void client_on_registered(struct client *c, const struct proto_msg *m, int64_t now)
{
	char a[NET_ADDRSTRLEN];
	int moved = !c->ever_registered || !proto_addr_equal(&c->public_ep, &m->public_ep);

	if (strcmp(m->name, c->cfg.name) != 0)
		return;
	if (moved)
		client_say(c, "* registered as %s (public %s)", c->cfg.name, net_addr_str(&m->public_ep, a));
	/* A new registration (a restarted server, other options?): the relay may be on again. */
	if (!c->registered)
		c->relay_off = 0;
	c->registered = 1;
	c->ever_registered = 1;
	c->public_ep = m->public_ep;
	client_nat_registered(c, m, moved, now);
	memcpy(c->cookie, m->cookie, PROTO_COOKIE_LEN);
	c->reg_retry_ms = CLIENT_RETRY_MS;
	c->reg_since_ms = -1;
	c->warned_server = 0;
	c->notice_until_ms = 0;
	/* Three refreshes a TTL (of 1 s at least): one or two may be lost, the name lives on. */
	c->next_reg_ms = now + client_min64(CLIENT_REFRESH_MS, (m->ttl_s > 0 ? m->ttl_s : 1) * 1000 / 3);
}

/*
 * The key in a COOKIE (not sealed: anyone can send one). At first contact
 * (no key pinned or given) it is pinned, as ssh's accept-new does; else
 * it must be the key we have, and another one is refused, loudly, once:
 * nothing is sent under it. Returns 1 when the COOKIE may be used.
 */
static int client_server_key(struct client *c, const uint8_t key[PROTO_KEY_LEN])
{
	char a[NET_ADDRSTRLEN];

	if (!c->cfg.has_server_key) {
		memcpy(c->cfg.server_key, key, PROTO_KEY_LEN);
		c->cfg.has_server_key = 1;
		if (!client_k(c)) {
			c->cfg.has_server_key = 0;
			client_unauthenticated(c, "a COOKIE with a low-order key");
			return 0;
		}
		if (c->io.pin_server != NULL)
			c->io.pin_server(c->io.ctx, key);
		return 1;
	}
	if (memcmp(c->cfg.server_key, key, PROTO_KEY_LEN) == 0)
		return 1;
	client_unauthenticated(c, "a COOKIE with another key than the server's");
	if (c->said_key_changed)
		return 0;
	c->said_key_changed = 1;
	net_addr_str(&c->cfg.server, a);
	if (c->cfg.server_key_file != NULL)
		client_say(c, "* WARNING: the server at %s has a new key (or someone pretends to be it); "
			   "nothing was sent. If the operator changed it, remove its line from %s", a,
			   c->cfg.server_key_file);
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
void client_on_cookie(struct client *c, const struct proto_msg *m, int64_t now)
{
	if (!client_server_key(c, m->key))
		return;
	if (memcmp(c->cookie, m->cookie, PROTO_COOKIE_LEN) == 0)
		return;
	memcpy(c->cookie, m->cookie, PROTO_COOKIE_LEN);
	log_debug("the server sent a cookie: registering again with it");
	c->next_reg_ms = now;
}

/*
 * The server introduces a peer, with the key it registered with: the
 * handshake (peer_session.c) is made to that key, and checked against the
 * one pinned for the name there.
 */
void client_on_peer_intro(struct client *c, const struct proto_msg *m, int64_t now)
{
	struct peer *p = client_peer_get(c, m->name);
	int same_key, same;

	if (p == NULL) {
		log_warn("no room for peer %s (at most %d)", m->name, CLIENT_MAX_PEERS);
		return;
	}
	same_key = p->introduced && p->has_key && memcmp(p->key, m->peer_key, PROTO_KEY_LEN) == 0;
	same = same_key && proto_addr_equal(&p->public_ep, &m->public_ep);
	p->introduced = 1;
	memcpy(p->key, m->peer_key, PROTO_KEY_LEN);
	p->has_key = 1;
	p->public_ep = m->public_ep;
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
static void on_relay_off(struct client *c, int64_t now)
{
	if (c->relay_off)
		return;
	c->relay_off = 1;
	client_say(c, "* the server does not relay: direct paths only");
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
static void on_not_online(struct client *c, const struct proto_msg *m, int64_t now)
{
	struct peer *p = client_peer_find(c, m->name);
	int kept = m->detail == PROTO_DETAIL_WAITING;

	if (p == NULL || p->state != PEER_LOOKUP)
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
void client_on_error(struct client *c, const struct proto_msg *m, int64_t now)
{
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
		on_not_online(c, m, now);
		break;
	case PROTO_E_REPLACED:
		on_replaced(c, m);
		break;
	default:
		log_warn("server error %u: %s", m->code, proto_error_text(m->code));
	}
}

/* Asks the server for the /who page at c->who_cursor. */
static void send_who(struct client *c, int64_t now)
{
	struct proto_msg m;

	client_msg_to_server(c, PROTO_WHO, &m);
	m.cursor = c->who_cursor;
	client_send_msg(c, &c->cfg.server, &m);
	c->who_next_ms = now + CLIENT_WHO_RETRY_MS;
}

/* One page of /who: show its names on one line, then ask for the next page. */
void client_on_who_reply(struct client *c, const struct proto_msg *m, int64_t now)
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

/* ---- time ---- */

/* REGISTER until the server answers, then REFRESH every CLIENT_REFRESH_MS (or TTL / 3). */
int64_t client_tick_registration(struct client *c, int64_t now)
{
	struct proto_msg m;

	if (now < c->next_reg_ms)
		return c->next_reg_ms;
	client_msg_to_server(c, c->registered ? PROTO_REFRESH : PROTO_REGISTER, &m);
	memcpy(m.cookie, c->cookie, PROTO_COOKIE_LEN);
	if (m.type == PROTO_REGISTER) {
		m.nprivate = c->cfg.nprivate;
		memcpy(m.private_ep, c->cfg.private_ep, sizeof(m.private_ep));
	}
	client_send_msg(c, &c->cfg.server, &m);
	if (c->reg_since_ms < 0) {
		c->reg_since_ms = now;
	} else if (!c->warned_server && now - c->reg_since_ms >= CLIENT_RETRY_MAX_MS) {
		char a[NET_ADDRSTRLEN];

		log_warn("no answer from the server at %s yet", net_addr_str(&c->cfg.server, a));
		c->warned_server = 1;
	}
	/* Until an answer comes, try again sooner and sooner less often. */
	c->next_reg_ms = now + c->reg_retry_ms;
	c->reg_retry_ms = client_min64(c->reg_retry_ms * 2, CLIENT_RETRY_MAX_MS);
	return c->next_reg_ms;
}

/*
 * A path to a peer looks dead (peer.c, tick_suspect): our NAT may have
 * given us a new mapping. REFRESH now rather than at the next refresh:
 * the server proves the new address with a cookie and its REGISTERED
 * tells us our public endpoint, so that a LOOKUP can tell the peer.
 * Registering already: nothing changes.
 */
void client_refresh_now(struct client *c, int64_t now)
{
	if (c->registered && c->next_reg_ms > now)
		c->next_reg_ms = now;
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
