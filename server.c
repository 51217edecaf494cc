/* server.c - p2pchatd, the rendezvous server: it registers names and introduces peers. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ct.h"
#include "log.h"
#include "net.h"
#include "server.h"
#include "server_impl.h"
#include "stun.h"

/*
 * Formats a client's address for the log into buf and returns it, or
 * returns "-" when the operator keeps addresses out of the log
 * (--no-log-addresses): the log then says what happened, not to whom.
 */
const char *server_addr_log(const struct server *s, const struct proto_addr *a,
			    char *buf)
{
	if (s->cfg.hide_addresses)
		return "-";
	return net_addr_str(a, buf);
}

/* Counts a datagram dropped for reason why; logs it at debug level. */
static void server_drop(struct server *s, enum server_drop why, const char *what,
			const struct proto_addr *from, size_t len)
{
	s->stats.dropped[why]++;
	if (log_enabled(LOG_DEBUG)) {
		char addr[NET_ADDRSTRLEN];

		log_debug("dropped %zu bytes from %s: %s", len, server_addr_log(s, from, addr),
			  what);
	}
}

int server_within_rate(struct server *s, const struct proto_addr *from,
		       enum guard_kind kind, uint32_t cost, int64_t now)
{
	if (guard_allow(&s->guard, from, kind, cost, now))
		return 1;
	s->stats.dropped[SERVER_DROP_OVER_LIMIT]++;
	if (log_enabled(LOG_DEBUG)) {
		char addr[NET_ADDRSTRLEN];

		log_debug("dropped a request from %s: over its address's %s limit",
			  server_addr_log(s, from, addr), guard_kind_name(kind));
	}
	return 0;
}

/*
 * One ERROR about `name` (may be "") with code and detail, to `to`,
 * sealed under k (the requester's K); proven as in struct server_tx. To
 * an address not proven it must be no larger than the request: callers
 * keep the name out then.
 */
static int server_error(struct server *s, struct server_tx *tx, const struct proto_addr *to,
			int proven, const uint8_t k[AUTH_KEY_LEN], uint8_t code, uint8_t request,
			uint8_t detail, const char *name)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_ERROR;
	m.code = code;
	m.request = request;
	m.detail = detail;
	snprintf(m.name, sizeof(m.name), "%s", name);
	s->stats.refused++;
	return server_seal(s, tx, to, proven, &m, k);
}

int server_refuse(struct server *s, struct server_tx *tx, const struct proto_addr *to,
		  const uint8_t k[AUTH_KEY_LEN], uint8_t code, uint8_t request, const char *name)
{
	return server_error(s, tx, to, 1, k, code, request, 0, name);
}

/*
 * "Register again" to a request the server has no K for (NOTICE, not
 * sealed: protocol.h). It holds the request's name, and the request held
 * that and a counter and a tag more: never larger than the request.
 */
static int server_notice_unknown(struct server *s, struct server_tx *tx,
				 const struct proto_addr *to, const struct proto_msg *m)
{
	struct proto_msg n;

	memset(&n, 0, sizeof(n));
	n.type = PROTO_NOTICE;
	n.code = PROTO_E_UNKNOWN;
	n.request = m->type;
	memcpy(n.name, m->name, sizeof(n.name));
	s->stats.refused++;
	return server_encode(tx, to, 0, &n);
}

void server_keep_alive(const struct server *s, struct table_entry *e, int64_t now)
{
	e->expires_ms = now + (int64_t)s->cfg.ttl_s * 1000;
}

/* The relay rate, bytes a second each client: --relay-rate, or the default. */
static uint64_t server_relay_rate(const struct server *s)
{
	return s->cfg.relay_rate != 0 ? s->cfg.relay_rate : SERVER_DEFAULT_RELAY_RATE;
}

/* The relay bucket's size: SERVER_RELAY_BURST_S seconds of the rate, and one datagram at least. */
static uint64_t server_relay_burst(const struct server *s)
{
	uint64_t burst = server_relay_rate(s) * SERVER_RELAY_BURST_S;

	return burst > PROTO_MAX_DATAGRAM ? burst : PROTO_MAX_DATAGRAM;
}

/*
 * Charges len bytes to e's relay token bucket (server_relay_burst bytes,
 * filled at the relay rate), kept as one time, the generic cell rate
 * algorithm's "theoretical arrival time" (ITU-T I.371): relay_tat_ns is
 * when the bucket will be full again, so at time t it holds (burst -
 * (tat - t) x rate) bytes. A new entry's 0 is a full bucket. Returns 1
 * when the bytes were there, and takes them; 0 when e is over its rate.
 */
static int server_relay_charge(const struct server *s, struct table_entry *e, size_t len,
			       int64_t now)
{
	const uint64_t ns_per_s = 1000000000;
	uint64_t rate = server_relay_rate(s);
	/* burst <= 4 x 10^9 bytes (SERVER_RELAY_RATE_MAX) and len <= 1200: no product wraps. */
	uint64_t full_ns = server_relay_burst(s) * ns_per_s / rate;
	uint64_t cost_ns = (uint64_t)len * ns_per_s / rate;
	uint64_t t = now > 0 ? (uint64_t)now * 1000000 : 0;
	uint64_t tat = e->relay_tat_ns > t ? e->relay_tat_ns : t;

	if (tat + cost_ns - t > full_ns)
		return 0;
	e->relay_tat_ns = tat + cost_ns;
	return 1;
}

/*
 * Returns 1 when e's request m (opened, fresh) comes from the name's
 * address, which a cookie proved, or from its address in its other family
 * (server_other.c), proven the same way. Else returns 0 after writing ERROR,
 * PROTO_E_ADDRESS (refresh from here first) into tx. Without that check
 * a client could send requests with a victim's source address and have
 * the answers, larger than the requests, sent to it. The refusal holds no
 * name: to an address not proven it must not be larger than the request.
 */
static int server_requester(struct server *s, const struct table_entry *e,
			    const struct proto_msg *m, const struct proto_addr *from, int64_t now,
			    struct server_tx *tx, int *ntx)
{
	const struct proto_addr *other = server_other_get(s, e, now);

	if (!proto_addr_equal(&e->public_ep, from) &&
	    (other == NULL || !proto_addr_equal(other, from))) {
		*ntx = server_error(s, tx, from, 0, e->k, PROTO_E_ADDRESS,
				    m->type, 0, "");
		return 0;
	}
	return 1;
}

/*
 * One PEER to `to`'s public endpoint, sealed under its K, telling it all
 * about `about`: its key (the peers' handshake is made with it), its
 * endpoints (its other family's too, when it registered in both). m is
 * the PEER being built, cleared once by the caller: every field a PEER
 * carries is written here, whole, so one m serves both ways.
 */
static int server_peer(struct server *s, struct server_tx *tx, struct proto_msg *m,
		       const struct table_entry *to, const struct table_entry *about, int64_t now)
{
	const struct proto_addr *other = server_other_get(s, about, now);

	memcpy(m->name, about->name, sizeof(m->name));
	memcpy(m->peer_key, about->key, PROTO_KEY_LEN);
	m->public_ep = about->public_ep;
	m->nat = about->nat;
	m->nat_port = about->nat_port;
	m->nprivate = table_get_private(about, m->private_ep);
	memset(&m->other_ep, 0, sizeof(m->other_ep));
	if (other != NULL)
		m->other_ep = *other;
	return server_seal(s, tx, &to->public_ep, 1, m, to->k);
}

int server_introduce(struct server *s, const struct table_entry *a, const struct table_entry *b,
		     int64_t now, struct server_tx *tx)
{
	struct proto_msg m;
	int n;

	/* Some 3.5 KB: cleared once for both PEERs, not once each. */
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	n = server_peer(s, &tx[0], &m, a, b, now);
	n += server_peer(s, &tx[n], &m, b, a, now);
	s->stats.introductions++;
	return n;
}

/*
 * LOOKUP: introduce the requester and the target to each other, with one
 * PEER each way sent at the same moment, so both start punching together
 * (Ford, Srisuresh & Kegel, section 3.3).
 */
static int server_on_lookup(struct server *s, struct table_entry *req, const struct proto_msg *m,
			    const struct proto_addr *from, int64_t now, struct server_tx *tx)
{
	const uint8_t *k = req->k;
	struct table_entry *tgt;
	int n = 0;

	s->stats.lookups++;
	if (!server_requester(s, req, m, from, now, tx, &n))
		return n;
	if (!server_within_rate(s, from, GUARD_LOOKUP, 1, now))
		return 0;
	server_keep_alive(s, req, now);

	/*
	 * A client looking itself up would be sent to its own NAT mapping and
	 * chat with itself. Nothing good comes of it, so to the server the
	 * peer it asks for is simply not online.
	 */
	if (strcmp(m->target, m->name) == 0)
		return server_refuse(s, tx, from, k, PROTO_E_NOT_ONLINE, m->type, m->target);
	/* This get may remove the dead target's entry; req's entry does not move. */
	tgt = table_get(&s->names, m->target, now);
	/* Not online: the LOOKUP waits here, and the ERROR says so in its detail byte. */
	if (tgt == NULL)
		return server_error(s, tx, from, 1, k, PROTO_E_NOT_ONLINE, m->type,
				    server_wait_add(s, req, m->target, now) ? PROTO_DETAIL_WAITING : 0,
				    m->target);

	n = server_introduce(s, req, tgt, now, tx);
	if (log_enabled(LOG_DEBUG)) {
		char a[NET_ADDRSTRLEN], b[NET_ADDRSTRLEN];

		log_debug("introduced %s at %s and %s at %s", req->name,
			  server_addr_log(s, &req->public_ep, a), tgt->name,
			  server_addr_log(s, &tgt->public_ep, b));
	}
	return n;
}

/* A datagram of a version we do not speak: say which one we do, in version 1's ERROR (protocol.h). */
static int server_on_bad_version(struct server *s, const struct proto_msg *m, size_t len,
				 const struct proto_addr *from, struct server_tx *tx)
{
	int n;

	/* The refusal has 8 bytes: a shorter datagram gets no answer, so none is larger. */
	if (len < PROTO_VERSION_REFUSAL_LEN) {
		s->stats.malformed[-PROTO_EVERSION]++;
		server_drop(s, SERVER_DROP_MALFORMED, "short, of another version", from, len);
		return 0;
	}
	if (log_enabled(LOG_DEBUG)) {
		char addr[NET_ADDRSTRLEN];

		log_debug("version %u from %s: answering with version %u", m->version,
			  server_addr_log(s, from, addr), PROTO_VERSION);
	}
	n = proto_encode_version_refusal(m->type, tx->buf, sizeof(tx->buf));
	if (n < 0)
		return 0;
	s->stats.refused++;
	tx->to = *from;
	tx->proven = 0;
	tx->len = (size_t)n;
	return 1;
}

/*
 * STATS: the counters, as text, but only to this machine. A loopback source
 * cannot be forged from outside: the kernel drops such packets arriving on
 * any other interface (RFC 1122, 3.2.1.3; RFC 4291, 2.5.3). So its answer
 * may be larger than it, and in SERVER_STATS_PAGES datagrams, in order.
 */
static int server_on_stats(struct server *s, const struct proto_addr *from, size_t len,
			   struct server_tx *tx)
{
	struct proto_msg m;
	int n = 0;

	_Static_assert(SERVER_STATS_PAGES <= SERVER_MAX_TX, "every page in one answer");
	if (!net_is_loopback(from)) {
		server_drop(s, SERVER_DROP_NOT_LOOPBACK, "STATS not from loopback", from, len);
		return 0;
	}
	s->stats.stats_answered++;
	for (int page = 0; page < SERVER_STATS_PAGES; page++) {
		memset(&m, 0, sizeof(m));
		m.type = PROTO_STATS_REPLY;
		m.text_len = (uint16_t)server_stats_format(s, page, m.text, sizeof(m.text));
		n += server_encode(&tx[n], from, 1, &m);
	}
	return n;
}

/* How often clients refresh: a third of the TTL, at most SERVER_WHO_REFRESH_MS (as client.h). */
static int64_t server_refresh_ms(const struct server *s)
{
	int64_t third = (int64_t)(s->cfg.ttl_s > 0 ? s->cfg.ttl_s : 1) * 1000 / 3;

	return third < SERVER_WHO_REFRESH_MS ? third : SERVER_WHO_REFRESH_MS;
}

/*
 * WHO: one page of the names online, from m->cursor on. The table keeps
 * no order, so the page walks its dense array of entries: the cursor is
 * an entry number. table.c hands out low entry numbers first, so the
 * names sit near the start and a listing takes few pages. The walk looks
 * at SERVER_WHO_SCAN entries at most, to bound the work of one datagram.
 */
static int server_on_who(struct server *s, struct table_entry *req, const struct proto_msg *m,
			 const struct proto_addr *from, int64_t now, struct server_tx *tx)
{
	const struct table *t = &s->names;
	struct proto_msg r;
	uint32_t i, end;
	int64_t fresh_after;
	int n = 0;

	if (!server_requester(s, req, m, from, now, tx, &n))
		return n;
	if (!s->cfg.allow_who)
		return server_refuse(s, tx, from, req->k, PROTO_E_WHO_OFF, m->type,
				     "");
	if (!server_within_rate(s, from, GUARD_LOOKUP, 1, now))
		return 0;
	/* A refresh moved expires_ms to then + TTL: refreshed after `then` means expires after this. */
	fresh_after = now - server_refresh_ms(s) - SERVER_WHO_GRACE_MS + (int64_t)s->cfg.ttl_s * 1000;
	memset(&r, 0, sizeof(r));
	r.type = PROTO_WHO_REPLY;
	r.total = t->count;
	r.cursor = m->cursor;
	i = m->cursor < t->capacity ? m->cursor : t->capacity;
	end = t->capacity - i > SERVER_WHO_SCAN ? i + SERVER_WHO_SCAN : t->capacity;
	for (; i < end && r.nnames < PROTO_WHO_MAX; i++) {
		const struct table_entry *e = &t->entries[i];

		/*
		 * An unused entry has an empty name (table.c); a dead one waits for
		 * the sweep; one not refreshed lately has left (SERVER_WHO_GRACE_MS).
		 */
		if (e->name[0] != '\0' && e->expires_ms > now && e->expires_ms > fresh_after)
			memcpy(r.names[r.nnames++], e->name, sizeof(e->name));
	}
	r.next = i < t->capacity ? i : 0;
	s->stats.who_pages++;
	return server_seal(s, tx, from, 1, &r, req->k);
}

/* Refuses a RELAY: one ERROR with code, about its target, counted as a relay refusal too. */
static int server_relay_refuse(struct server *s, struct server_tx *tx, const struct proto_addr *to,
			       const uint8_t k[AUTH_KEY_LEN], uint8_t code, const struct proto_msg *m)
{
	s->stats.relay_refused++;
	if (log_enabled(LOG_DEBUG))
		log_debug("refused to relay from %s to %s: %s", m->name, m->target,
			  proto_error_text(code));
	return server_refuse(s, tx, to, k, code, m->type, m->target);
}

/*
 * 1 when payload is a peer-to-peer datagram of our version by its header
 * (PROBE .. BYE): the server cannot read the rest (the peers seal it), and
 * it passes on nothing that could pass for its own messages.
 */
static int server_relayable(const struct proto_msg *m)
{
	return m->payload_len >= PROTO_HEADER_LEN && m->payload[0] == PROTO_MAGIC &&
	       m->payload[1] == PROTO_VERSION && proto_is_peer_type(m->payload[2]);
}

/*
 * RELAY: a client that cannot reach its peer directly (a NAT whose mapping
 * depends on the destination: Ford, Srisuresh & Kegel, section 2.1; RFC
 * 5128, 3.1) sends it a peer-to-peer datagram through us. It goes on as
 * RELAYED, sealed under the target's K, to the target's public endpoint
 * when the relay is on, the sender is at its name's address, the target
 * is live, the payload is a peer-to-peer datagram, and the sender is
 * within its rate. Over the rate, it is dropped without an answer: an
 * ERROR for each datagram would only add traffic where there is too much.
 */
static int server_on_relay(struct server *s, struct table_entry *src, const struct proto_msg *m,
			   size_t len, const struct proto_addr *from, int64_t now,
			   struct server_tx *tx)
{
	const uint8_t *k = src->k;
	struct table_entry *dst;
	struct proto_msg fwd;
	int n = 0;

	if (!server_requester(s, src, m, from, now, tx, &n)) {
		s->stats.relay_refused++;
		return n;
	}
	if (s->cfg.no_relay)
		return server_relay_refuse(s, tx, from, k, PROTO_E_RELAY_OFF, m);
	server_keep_alive(s, src, now);
	if (!server_relayable(m)) {
		s->stats.relay_refused++;
		log_debug("refused to relay from %s to %s: not a peer-to-peer datagram", m->name,
			  m->target);
		return 0;
	}
	/* This get may remove the dead target's entry; src's entry does not move. */
	dst = strcmp(m->target, m->name) != 0 ? table_get(&s->names, m->target, now) : NULL;
	if (dst == NULL)
		return server_relay_refuse(s, tx, from, k, PROTO_E_NOT_ONLINE, m);
	if (!server_relay_charge(s, src, len, now)) {
		s->stats.relay_over_rate++;
		log_debug("dropped a RELAY from %s to %s: over the rate", m->name, m->target);
		return 0;
	}
	/* The name's rate, then its address's: many names behind one address share it. */
	if (!server_within_rate(s, from, GUARD_RELAY, (uint32_t)len, now))
		return 0;
	memset(&fwd, 0, sizeof(fwd));
	fwd.type = PROTO_RELAYED;
	memcpy(fwd.name, src->name, sizeof(fwd.name));
	fwd.payload_len = m->payload_len;
	memcpy(fwd.payload, m->payload, m->payload_len);
	if (server_seal(s, tx, &dst->public_ep, 1, &fwd, dst->k) == 0)
		return 0;
	s->stats.relayed++;
	s->stats.relayed_bytes += tx->len;
	return 1;
}

/* REPORT: a client reached a peer; count how. Nothing is sent back. */
static int server_on_report(struct server *s, struct table_entry *e, const struct proto_msg *m,
			    const struct proto_addr *from, int64_t now, struct server_tx *tx)
{
	int n = 0;

	if (!server_requester(s, e, m, from, now, tx, &n))
		return n;
	if (m->path == PROTO_PATH_RELAY)
		s->stats.punches_relayed++;
	else
		s->stats.punches_direct++;
	log_debug("%s reached %s %s", m->name, m->target,
		  m->path == PROTO_PATH_RELAY ? "through a relay" : "directly");
	return 0;
}

/* The table's on_remove: a name is gone, so its address may hold another; its other family goes too. */
static void server_name_gone(void *ctx, const struct table_entry *e)
{
	struct server *s = ctx;

	server_other_forget(s, e);
	guard_name_remove(&s->guard, &e->public_ep); /* table.c wipes the entry, K with it */
}

int server_init(struct server *s, const struct server_config *cfg,
		const uint8_t seed[SERVER_SEED_LEN])
{
	struct guard_config g;

	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	g = cfg->guard;
	if (g.slots == 0)
		g.slots = GUARD_SLOTS_DEFAULT;
	if (guard_init(&s->guard, &g, seed + 2 * SIPHASH_KEY_LEN) < 0)
		return -1;
	ct_wipe(s->cfg.secret, sizeof(s->cfg.secret)); /* one copy of the secret: s->secret */
	if (table_init(&s->names, cfg->max_names, seed) < 0) {
		guard_free(&s->guard);
		return -1;
	}
	if (server_wait_init(s) < 0 || server_other_init(s) < 0) {
		server_wait_free(s);
		table_free(&s->names);
		guard_free(&s->guard);
		return -1;
	}
	memcpy(s->secret, cfg->secret, sizeof(s->secret));
	x25519_public(s->pub, s->secret);
	s->counter = cfg->counter_start;
	s->names.on_remove = server_name_gone;
	s->names.on_remove_ctx = s;
	s->next_sweep_ms = 0; /* the first tick sweeps */
	return 0;
}

void server_free(struct server *s)
{
	server_other_free(s);
	server_wait_free(s);
	table_free(&s->names);
	guard_free(&s->guard);
	ct_wipe(s->secret, sizeof(s->secret));
}

/*
 * A STUN Binding request: answer with the address we see (RFC 8489);
 * anything else, drop. The answer is the one larger than its request (32
 * or 44 bytes for 20 at least): the RFC wants it so, and no cookie can
 * come first. So it is as small as the RFC allows (stun.c) and limited
 * per source (GUARD_STUN).
 */
static int server_on_stun(struct server *s, const uint8_t *buf, size_t len,
			  const struct proto_addr *from, int64_t now,
			  struct server_tx tx[SERVER_MAX_TX])
{
	int r = stun_answer(buf, len, from, tx[0].buf, sizeof(tx[0].buf));

	if (r < 0) {
		s->stats.stun_dropped[-r]++;
		server_drop(s, SERVER_DROP_STUN, stun_strerror(r), from, len);
		return 0;
	}
	if (!server_within_rate(s, from, GUARD_STUN, 1, now))
		return 0;
	s->stats.stun_answered++;
	tx[0].to = *from;
	tx[0].proven = 0;
	tx[0].len = (size_t)r;
	return 1;
}

/*
 * The last check before anything is sent: to an address nobody proved,
 * no answer is larger than the request it answers (the hardening issue's
 * "no amplification"). The handlers are written so; this keeps a slip in
 * one of them from becoming a weapon. Returns the datagrams left in tx.
 */
int server_no_amplification(struct server *s, struct server_tx tx[SERVER_MAX_TX], int n,
				   size_t len)
{
	int i, kept = 0;

	for (i = 0; i < n; i++) {
		if (!tx[i].proven && tx[i].len > len) {
			s->stats.dropped[SERVER_DROP_AMPLIFYING]++;
			log_error("bug: a %zu-byte answer to a %zu-byte request from an address "
				  "not proven: not sent", tx[i].len, len);
			continue;
		}
		if (kept != i)
			tx[kept] = tx[i];
		kept++;
	}
	return kept;
}

/*
 * A sealed request other than REGISTER: REFRESH (its cookie first), then
 * the name's entry and K, the seal, the counter, and only then its
 * handler. A name the server does not hold (or a REFRESH with another
 * key) gets NOTICE, "register again"; anything that does not open, or
 * opens with a counter seen before, is dropped unanswered.
 */
static int server_on_sealed(struct server *s, const uint8_t *buf, size_t len, size_t body_off,
			    const struct proto_msg *pm, const struct proto_addr *from, int64_t now,
			    struct server_tx *tx)
{
	struct table_entry *e;
	struct proto_msg m;
	int n;

	if (pm->type == PROTO_REFRESH && !server_proven(s, pm, from, now, tx, &n))
		return n;
	e = table_get(&s->names, pm->name, now);
	if (e == NULL || (pm->type == PROTO_REFRESH &&
			  memcmp(e->key, pm->key, PROTO_KEY_LEN) != 0))
		return server_notice_unknown(s, tx, from, pm);
	if (!server_open(s, buf, len, body_off, e->k, from, &m))
		return 0;
	/*
	 * A RELAY's payload is the peers' own sealed datagram, with its own
	 * replay window at the receiver (session.h): the relay passes a
	 * duplicate on as the network would (only from the name's address, and
	 * no larger), and the receiver drops it. Dropping duplicates here would
	 * only make the relay lossier than a network (test_client's
	 * relay_when_no_direct_path). Every other request is refused once seen.
	 */
	if (m.type == PROTO_RELAY)
		server_window_take(e, m.counter);
	else if (!server_fresh(s, e, m.counter))
		return 0;
	switch (m.type) {
	case PROTO_REFRESH:
		return server_on_refresh(s, e, &m, from, now, tx);
	case PROTO_LOOKUP:
		return server_on_lookup(s, e, &m, from, now, tx);
	case PROTO_WHO:
		return server_on_who(s, e, &m, from, now, tx);
	case PROTO_REPORT:
		return server_on_report(s, e, &m, from, now, tx);
	default:
		return server_on_relay(s, e, &m, len, from, now, tx);
	}
}

/* Hands a p2pchat datagram to its handler. Returns the datagrams written into tx. */
static int server_dispatch(struct server *s, const uint8_t *buf, size_t len, int body_off,
			   const struct proto_msg *pm, const struct proto_addr *from, int64_t now,
			   struct server_tx tx[SERVER_MAX_TX])
{
	switch (pm->type) {
	case PROTO_REGISTER:
		return server_on_register(s, buf, len, (size_t)body_off, pm, from, now, tx);
	case PROTO_REFRESH:
	case PROTO_LOOKUP:
	case PROTO_WHO:
	case PROTO_REPORT:
	case PROTO_RELAY:
		return server_on_sealed(s, buf, len, (size_t)body_off, pm, from, now, tx);
	case PROTO_STATS:
		/* Not sealed: proto_decode_prefix read the header, and STATS has nothing more. */
		if (len != PROTO_HEADER_LEN) {
			s->stats.malformed[-PROTO_ETRAILING]++;
			server_drop(s, SERVER_DROP_MALFORMED, proto_strerror(PROTO_ETRAILING), from, len);
			return 0;
		}
		return server_on_stats(s, from, len, tx);
	default:
		/* The server's own answers (REGISTERED, PEER, ...) and the peer-to-peer types. */
		server_drop(s, SERVER_DROP_WRONG_DIRECTION, "not a request", from, len);
		return 0;
	}
}

int server_handle(struct server *s, const uint8_t *buf, size_t len,
		  const struct proto_addr *from, int64_t now, struct server_tx tx[SERVER_MAX_TX])
{
	struct proto_msg m;
	int r;

	s->stats.received++;
	/* Only a broken caller passes such a source; we could not answer it anyway. */
	if (from->family != PROTO_AF_INET && from->family != PROTO_AF_INET6) {
		s->stats.malformed[-PROTO_EFAMILY]++;
		server_drop(s, SERVER_DROP_MALFORMED, "source of no known family", from, len);
		return 0;
	}
	/* STUN shares our port: its first byte is 0..3, ours 0x50 (RFC 7983). */
	if (stun_is_stun(buf, len))
		return server_on_stun(s, buf, len, from, now, tx);
	/* The clear part only: a sealed body is read after it opens (server_open). */
	r = proto_decode_prefix(buf, len, &m);
	if (r == PROTO_EVERSION)
		return server_no_amplification(s, tx, server_on_bad_version(s, &m, len, from, tx),
					       len);
	if (r < 0) {
		if (-r < PROTO_NRESULTS)
			s->stats.malformed[-r]++;
		server_drop(s, SERVER_DROP_MALFORMED, proto_strerror(r), from, len);
		return 0;
	}
	if (log_enabled(LOG_DEBUG)) {
		char addr[NET_ADDRSTRLEN];

		log_debug("%s from %s (%zu bytes)", proto_type_name(m.type),
			  server_addr_log(s, from, addr), len);
	}
	return server_no_amplification(s, tx, server_dispatch(s, buf, len, r, &m, from, now, tx),
				       len);
}

/* Entries to sweep a tick: the whole table once a TTL, within the bounds of server.h. */
static uint32_t server_expire_budget(const struct server *s)
{
	uint64_t ttl_ms = (uint64_t)(s->cfg.ttl_s > 0 ? s->cfg.ttl_s : 1) * 1000;
	uint64_t n = ((uint64_t)s->names.capacity * SERVER_TICK_MS + ttl_ms - 1) / ttl_ms;

	if (n < SERVER_EXPIRE_BUDGET)
		return SERVER_EXPIRE_BUDGET;
	return n > SERVER_EXPIRE_BUDGET_MAX ? SERVER_EXPIRE_BUDGET_MAX : (uint32_t)n;
}

int64_t server_tick(struct server *s, int64_t now)
{
	if (now >= s->next_sweep_ms) {
		uint32_t n = table_expire(&s->names, now, server_expire_budget(s));

		if (n > 0)
			log_debug("expired %" PRIu32 " names, %" PRIu32 " left", n, s->names.count);
		s->next_sweep_ms = now + SERVER_TICK_MS;
	}
	return s->next_sweep_ms;
}

