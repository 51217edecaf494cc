/* server_register.c - p2pchatd's REGISTER and REFRESH: the cookie first, then K, the seal, the name. */
#include <inttypes.h>
#include <string.h>

#include "ct.h"
#include "log.h"
#include "net.h"
#include "server.h"
#include "server_impl.h"

/*
 * Answers a REGISTER or REFRESH that was accepted from `at` (e's public
 * endpoint, or its other family's): REGISTERED, with `at` as the endpoint
 * seen and a fresh cookie for it. Sent at time now.
 */
static int server_registered(struct server *s, struct server_tx *tx,
			     const struct table_entry *e, const struct proto_addr *at, int64_t now)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTERED;
	/*
	 * The wire field has 16 bits and -t allows up to 86400 s. Telling the
	 * client less than the real TTL is safe: it only refreshes sooner.
	 */
	m.ttl_s = s->cfg.ttl_s > UINT16_MAX ? UINT16_MAX : (uint16_t)s->cfg.ttl_s;
	guard_cookie(&s->guard, at, now, m.cookie);
	memcpy(m.name, e->name, sizeof(m.name));
	m.public_ep = *at;
	m.alt_port = s->cfg.alt_port;
	return server_seal(s, tx, at, 1, &m, e->k);
}

/*
 * A REGISTER's or REFRESH's instance (protocol.h), folded to the 32 bits
 * an entry keeps of it; never 0. Two programs share a tag once in 2^32:
 * the later one is then taken for the earlier one in its other family.
 */
static uint32_t server_instance_tag(uint64_t instance)
{
	uint32_t t = (uint32_t)(instance ^ (instance >> 32));

	return t != 0 ? t : 1;
}

/* Returns 1 when `from` is of the family e's public endpoint is not: its second family. */
static int server_other_family(const struct table_entry *e, const struct proto_addr *from)
{
	return from->family != e->public_ep.family;
}

/*
 * A REGISTER or REFRESH with its cookie: the datagram's source, proven,
 * becomes e's public endpoint (a NAT may have given the client a new
 * mapping; its name then counts against its new address, and a move to an
 * address that holds as many names as it may is refused), and e lives on.
 * Only these two requests move a name; the others must come from where
 * it is (server_requester). Returns 1, or 0 when the move was refused.
 */
static int server_touch(struct server *s, struct table_entry *e, const struct proto_addr *from,
			int64_t now)
{
	if (!server_move(s, e, from, now))
		return 0;
	server_keep_alive(s, e, now);
	return 1;
}

int server_proven(struct server *s, const struct proto_msg *m,
		  const struct proto_addr *from, int64_t now, struct server_tx *tx,
		  int *ntx)
{
	struct proto_msg c;

	*ntx = 0;
	if (!guard_cookie_ok(&s->guard, from, m->cookie, now)) {
		memset(&c, 0, sizeof(c));
		c.type = PROTO_COOKIE;
		guard_cookie(&s->guard, from, now, c.cookie);
		memcpy(c.key, s->pub, PROTO_KEY_LEN);
		s->stats.cookies_sent++;
		/* 44 bytes for a request of 78 at least: nothing to gain by forging it. */
		*ntx = server_encode(tx, from, 0, &c);
		return 0;
	}
	/* Charged only now: a forged source cannot spend its victim's budget. */
	return server_within_rate(s, from, GUARD_REGISTER, 1, now);
}

/*
 * Makes a new entry for m->name, registered from `from` with key m->key
 * and K k, counted against that address's names. Returns it, or NULL
 * after writing the ERROR that says why not (too many names from there,
 * or the table is full) into tx.
 */
static struct table_entry *server_new_name(struct server *s, const struct proto_msg *m,
					   const uint8_t k[AUTH_KEY_LEN],
					   const struct proto_addr *from, int64_t now,
					   struct server_tx *tx, int *ntx)
{
	struct table_entry *e;
	char addr[NET_ADDRSTRLEN];

	if (!guard_name_add(&s->guard, from, now)) {
		if (log_enabled(LOG_DEBUG))
			log_debug("refused %s to %s: %s", m->name, server_addr_log(s, from, addr),
				  proto_error_text(PROTO_E_TOO_MANY_NAMES));
		*ntx = server_refuse(s, tx, from, k, PROTO_E_TOO_MANY_NAMES, m->type, m->name);
		return NULL;
	}
	e = table_put(&s->names, m->name, now);
	if (e == NULL) {
		guard_name_remove(&s->guard, from);
		/* Once when the table fills up, not once per refused datagram. */
		if (!s->said_full)
			log_warn("the name table is full (%" PRIu32 " names): refusing new names",
				 s->names.count);
		s->said_full = 1;
		*ntx = server_refuse(s, tx, from, k, PROTO_E_TABLE_FULL, m->type, m->name);
		return NULL;
	}
	/* table_put zeroed the rest: an empty window, a full relay bucket (server.c). */
	memcpy(e->k, k, AUTH_KEY_LEN);
	memcpy(e->key, m->key, PROTO_KEY_LEN);
	e->public_ep = *from; /* where guard_name_add counted it */
	s->said_full = 0;
	return e;
}

/*
 * The program that holds the name, from its other family: a dual-stack
 * client registers with both of the server's addresses. That endpoint is
 * kept beside the name's (server_other.c), proven as it was, by the
 * cookie; the name's own endpoint, life and private endpoints stay as they
 * are, and nobody is replaced. Returns the datagrams queued in tx.
 */
static int register_other_family(struct server *s, struct table_entry *e,
				 const struct proto_addr *from, int64_t now, struct server_tx *tx)
{
	char addr[NET_ADDRSTRLEN];

	server_other_set(s, e, from, now);
	s->stats.registrations++;
	if (log_enabled(LOG_DEBUG))
		log_debug("registered %s in its other family at %s", e->name,
			  server_addr_log(s, from, addr));
	return server_registered(s, tx, e, from, now);
}

/*
 * A REGISTER with the owner's key and another instance, from another
 * address while the name lives, is a second program (the same one, moved
 * by its NAT, carries the same instance). The newer one holds the name;
 * the older one, at an address a cookie proved (old), is told at once (at
 * its other family's endpoint too, when old_other has a family), and its
 * REFRESHes from there are refused the same way, so they do not move the
 * name back. No new name, so no waiters: two ERRORs fit tx. Returns the
 * datagrams queued in tx.
 */
static int tell_replaced(struct server *s, struct table_entry *e, const struct proto_addr *old,
			 const struct proto_addr *old_other, const uint8_t k[AUTH_KEY_LEN],
			 uint8_t request, const struct proto_addr *from, struct server_tx *tx)
{
	char addr[NET_ADDRSTRLEN];
	int n;

	e->replaced = server_addr_tag(s, old);
	n = server_refuse(s, tx, old, k, PROTO_E_REPLACED, request, e->name);
	if (old_other->family != 0)
		n += server_refuse(s, &tx[n], old_other, k, PROTO_E_REPLACED, request, e->name);
	log_info("%s registered again from %s: the earlier instance is told", e->name,
		 server_addr_log(s, from, addr));
	return n;
}

/*
 * A REGISTER's counter. A fresh one is taken. One its name's window has
 * seen, or one below it, is a replay or a client whose clock stepped back
 * (it restarted): taken only from the address the name is at (a replay
 * from there sends its answer to the name's own client), and then the
 * window starts over at it; from elsewhere it is dropped. Returns 1 when
 * the REGISTER goes on.
 */
static int server_register_counter(struct server *s, struct table_entry *e, uint64_t counter,
				   const struct proto_addr *from)
{
	if (server_window_take(e, counter))
		return 1;
	if (!proto_addr_equal(&e->public_ep, from)) {
		s->stats.dropped[SERVER_DROP_REPLAYED]++;
		log_debug("dropped a REGISTER of %s: counter seen before, from elsewhere", e->name);
		return 0;
	}
	e->window_top = counter;
	e->window_bits = 1;
	return 1;
}

int server_on_register(struct server *s, const uint8_t *buf, size_t len, size_t body_off,
		       const struct proto_msg *pm, const struct proto_addr *from, int64_t now,
		       struct server_tx *tx)
{
	struct table_entry *e;
	struct proto_msg m;
	struct proto_addr old, old_other, priv[PROTO_MAX_PRIVATE];
	const struct proto_addr *other;
	uint8_t k[AUTH_KEY_LEN];
	char addr[NET_ADDRSTRLEN];
	uint32_t tag;
	int is_new, replaced, n;

	if (!server_proven(s, pm, from, now, tx, &n))
		return n;
	e = table_get(&s->names, pm->name, now);
	n = 0;
	if (server_register_key(s, e, pm->key, k) < 0) {
		s->stats.dropped[SERVER_DROP_UNAUTHENTICATED]++;
		log_debug("dropped a REGISTER of %s: a low-order key", pm->name);
		goto out;
	}
	if (!server_open(s, buf, len, body_off, k, from, &m))
		goto out;
	is_new = e == NULL;
	/* Per datagram, so at debug level only: a refused client may ask again and again. */
	if (e != NULL && memcmp(e->key, m.key, PROTO_KEY_LEN) != 0) {
		if (log_enabled(LOG_DEBUG))
			log_debug("refused %s to %s: %s", m.name, server_addr_log(s, from, addr),
				  proto_error_text(PROTO_E_NAME_TAKEN));
		n = server_refuse(s, tx, from, k, PROTO_E_NAME_TAKEN, m.type, m.name);
		goto out;
	}
	if (e != NULL && !server_register_counter(s, e, m.counter, from))
		goto out;
	tag = server_instance_tag(m.instance);
	if (!is_new && tag == e->instance && server_other_family(e, from)) {
		n = register_other_family(s, e, from, now, tx);
		goto out;
	}
	if (e == NULL) {
		e = server_new_name(s, &m, k, from, now, tx, &n);
		if (e == NULL)
			goto out;
		server_window_take(e, m.counter);
	}
	/* The same program at a new address (its NAT moved it) is no second instance. */
	replaced = !is_new && tag != e->instance && !proto_addr_equal(&e->public_ep, from);
	old = e->public_ep;
	other = is_new ? NULL : server_other_get(s, e, now);
	memset(&old_other, 0, sizeof(old_other));
	if (other != NULL)
		old_other = *other;
	if (!server_touch(s, e, from, now)) {
		n = server_refuse(s, tx, from, k, PROTO_E_TOO_MANY_NAMES, m.type, m.name);
		goto out;
	}
	/* Another program's second family is not this one's: it proves its own. */
	if (!is_new && tag != e->instance)
		server_other_forget(s, e);
	e->instance = tag;
	table_set_private(e, priv, server_keep_private(s, &m, from, priv));
	s->stats.registrations++;
	if (is_new)
		log_info("registered %s at %s", e->name, server_addr_log(s, from, addr));
	else if (log_enabled(LOG_DEBUG))
		log_debug("re-registered %s at %s", e->name, server_addr_log(s, from, addr));
	n = server_registered(s, tx, e, &e->public_ep, now);
	if (replaced)
		n += tell_replaced(s, e, &old, &old_other, k, m.type, from, &tx[n]);
	if (is_new)
		n += server_wait_introduce(s, e, now, &tx[n]);
out:
	ct_wipe(k, sizeof(k));
	return n;
}

int server_on_refresh(struct server *s, struct table_entry *e, const struct proto_msg *m,
		      const struct proto_addr *from, int64_t now, struct server_tx *tx)
{
	const uint8_t *k = e->k;

	/*
	 * The instance a newer one replaced (server_on_register): it keeps the
	 * name no more. The entry keeps a 32-bit keyed tag of its address, not
	 * the address: another address of this name's owner matches it once
	 * in 2^32, and then only hears REPLACED, as the earlier instance would.
	 */
	if (e->replaced != 0 && e->replaced == server_addr_tag(s, from))
		return server_refuse(s, tx, from, k, PROTO_E_REPLACED, m->type, m->name);
	/*
	 * The instance is the program's: a REFRESH from another program than
	 * the one that holds the name comes from one a newer one replaced
	 * (from any address, its other family's too).
	 */
	if (server_instance_tag(m->instance) != e->instance)
		return server_refuse(s, tx, from, k, PROTO_E_REPLACED, m->type, m->name);
	/*
	 * From its other family: that endpoint lives on, or moves (its NAT gave
	 * it a new mapping there); the name's own is not touched.
	 */
	if (server_other_family(e, from)) {
		server_other_set(s, e, from, now);
		s->stats.refreshes++;
		return server_registered(s, tx, e, from, now);
	}
	/* With its cookie, a refresh may move the name: the client's NAT gave it a new mapping. */
	if (!server_touch(s, e, from, now))
		return server_refuse(s, tx, from, k, PROTO_E_TOO_MANY_NAMES, m->type, m->name);
	s->stats.refreshes++;
	return server_registered(s, tx, e, &e->public_ep, now);
}

