/* registration.c - the client's side of p2pchatd: REGISTER and REFRESH, introductions, errors, /who. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"

/* ---- messages from the server ---- */

void client_on_registered(struct client *c, const struct proto_msg *m, int64_t now)
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
	c->next_reg_ms = now + client_min64(CLIENT_REFRESH_MS, (m->ttl_s > 0 ? m->ttl_s : 1) * 1000 / 3);
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
	if (memcmp(c->cookie, m->cookie, PROTO_COOKIE_LEN) == 0)
		return;
	memcpy(c->cookie, m->cookie, PROTO_COOKIE_LEN);
	log_debug("the server sent a cookie: registering again with it");
	c->next_reg_ms = now;
}

void client_on_peer_intro(struct client *c, const struct proto_msg *m, int64_t now)
{
	struct peer *p = client_peer_get(c, m->name);
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
	 * (client_tick_upgrade): look with it, where the server sees it now.
	 */
	if (same_nonce && client_relayed(p)) {
		if (!client_bursting(p, now))
			client_start_burst(p, now);
		return;
	}
	/*
	 * Two lookups that cross give both sides two identical introductions:
	 * an attempt under way goes on. A new nonce or a new public endpoint
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
		if (chan_pending(p->chan) > 0 && p->wait_until_ms < 0)
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
