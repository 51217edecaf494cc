/* server_auth.c - p2pchatd's side of protocol version 2: opening requests, sealing answers, the names' keys, and the abuse rules on endpoints and moves. */
#include <string.h>

#include "ct.h"
#include "log.h"
#include "net.h"
#include "server.h"
#include "server_impl.h"
#include "siphash.h"

/* The entry keeps a request window of 32 bits (table.h). */
_Static_assert(AUTH_REQUEST_WINDOW <= 32, "the replay window fits table_entry.window_bits");

/* An answer's sealed body starts after its header and counter (protocol.h). */
#define ANSWER_BODY_OFF (PROTO_HEADER_LEN + PROTO_COUNTER_LEN)

int server_encode(struct server_tx *tx, const struct proto_addr *to, int proven,
		  const struct proto_msg *m)
{
	int n = proto_encode(m, tx->buf, sizeof(tx->buf));

	if (n < 0) {
		/* Only a bug gets here: every field was checked on the way in. */
		log_error("cannot encode %s: %s", proto_type_name(m->type), proto_strerror(n));
		return 0;
	}
	tx->to = *to;
	tx->proven = proven;
	tx->len = (size_t)n;
	return 1;
}

int server_seal(struct server *s, struct server_tx *tx, const struct proto_addr *to, int proven,
		struct proto_msg *m, const uint8_t k[AUTH_KEY_LEN])
{
	/* One counter for every answer: never twice the same nonce under any K (auth.h). */
	m->counter = ++s->counter;
	if (server_encode(tx, to, proven, m) == 0)
		return 0;
	tx->len = auth_seal_answer(tx->buf, tx->len, sizeof(tx->buf), ANSWER_BODY_OFF, k);
	return tx->len > 0;
}

int server_register_key(struct server *s, const struct table_entry *e, const uint8_t pub[PROTO_KEY_LEN],
			uint8_t k[AUTH_KEY_LEN])
{
	/* The name's own key again: its K is known, no public-key operation. */
	if (e != NULL && memcmp(e->key, pub, PROTO_KEY_LEN) == 0) {
		memcpy(k, e->k, AUTH_KEY_LEN);
		return 0;
	}
	s->stats.key_agreements++;
	return auth_derive(k, s->secret, pub, pub, s->pub);
}

int server_open(struct server *s, const uint8_t *buf, size_t len, size_t body_off,
		const uint8_t k[AUTH_KEY_LEN], const struct proto_addr *from, struct proto_msg *m)
{
	uint8_t open[PROTO_MAX_DATAGRAM];
	long n;
	int r;

	/* Longer than any datagram of ours: it cannot open (and would not fit). */
	n = len > sizeof(open) ? -1 : auth_open_request(open, buf, len, body_off, k);
	if (n < 0) {
		s->stats.dropped[SERVER_DROP_UNAUTHENTICATED]++;
		if (log_enabled(LOG_DEBUG)) {
			char addr[NET_ADDRSTRLEN];

			log_debug("dropped %zu bytes from %s: does not open", len,
				  server_addr_log(s, from, addr));
		}
		return 0;
	}
	r = proto_decode(open, (size_t)n, m);
	if (r < 0) {
		/* It opened, so its sender holds K: a client's bug, not an attack. */
		if (-r < PROTO_NRESULTS)
			s->stats.malformed[-r]++;
		s->stats.dropped[SERVER_DROP_MALFORMED]++;
		log_debug("dropped a sealed %s: %s", proto_type_name(m->type), proto_strerror(r));
		return 0;
	}
	return 1;
}

int server_window_take(struct table_entry *e, uint64_t counter)
{
	/* The entry keeps the window's AUTH_REQUEST_WINDOW (32) bits in 32: table.h. */
	struct auth_window w = { .top = e->window_top, .bits = e->window_bits };

	if (!auth_window_check(&w, AUTH_REQUEST_WINDOW, counter))
		return 0;
	auth_window_accept(&w, AUTH_REQUEST_WINDOW, counter);
	e->window_top = w.top;
	e->window_bits = (uint32_t)w.bits;
	return 1;
}

int server_fresh(struct server *s, struct table_entry *e, uint64_t counter)
{
	if (!server_window_take(e, counter)) {
		s->stats.dropped[SERVER_DROP_REPLAYED]++;
		log_debug("dropped a request: counter %llu seen before", (unsigned long long)counter);
		return 0;
	}
	return 1;
}

uint32_t server_addr_tag(const struct server *s, const struct proto_addr *a)
{
	uint8_t b[3 + sizeof(a->ip)];
	uint32_t tag;

	b[0] = a->family;
	b[1] = (uint8_t)(a->port >> 8);
	b[2] = (uint8_t)a->port;
	memcpy(b + 3, a->ip, sizeof(a->ip));
	tag = (uint32_t)siphash24(s->names.key, b, sizeof(b));
	return tag != 0 ? tag : 1;
}

/*
 * 1 for the ranges a host's own interfaces may have and the Internet
 * does not route: RFC 1918's 10/8, 172.16/12, 192.168/16; link-local
 * 169.254/16 (RFC 3927) and fe80::/10 (RFC 4291 2.5.6); loopback 127/8
 * and ::1; RFC 4193's unique local fc00::/7.
 */
static int private_range(const struct proto_addr *a)
{
	const uint8_t *ip = a->ip;

	if (net_is_loopback(a))
		return 1;
	if (a->family == PROTO_AF_INET)
		return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
		       (ip[0] == 192 && ip[1] == 168) || (ip[0] == 169 && ip[1] == 254);
	if (a->family == PROTO_AF_INET6)
		return (ip[0] & 0xfe) == 0xfc || (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80);
	return 0;
}

/* 1 when a and b are one IP address (any port). */
static int same_ip(const struct proto_addr *a, const struct proto_addr *b)
{
	struct proto_addr x = *a, y = *b;

	x.port = y.port = 0;
	return proto_addr_equal(&x, &y);
}

uint8_t server_keep_private(struct server *s, const struct proto_msg *m,
			    const struct proto_addr *from, struct proto_addr out[PROTO_MAX_PRIVATE])
{
	uint8_t n = 0;

	/*
	 * Peers probe these: one naming a third party's public address would
	 * make them reflect probes at it (issue 12, attack 6). A private
	 * address reaches only the peer's own network; the source is the
	 * client itself.
	 */
	for (uint8_t i = 0; i < m->nprivate && i < PROTO_MAX_PRIVATE; i++) {
		if (private_range(&m->private_ep[i]) || same_ip(&m->private_ep[i], from))
			out[n++] = m->private_ep[i];
		else
			s->stats.private_refused++;
	}
	for (uint8_t i = n; i < PROTO_MAX_PRIVATE; i++)
		memset(&out[i], 0, sizeof(out[i]));
	return n;
}

/*
 * The guard counts an IPv4 source by its address and an IPv6 one by its
 * /64 (guard.h): two endpoints in one such source share a count.
 */
static int same_source(const struct proto_addr *a, const struct proto_addr *b)
{
	if (a->family != b->family)
		return 0;
	return memcmp(a->ip, b->ip, a->family == PROTO_AF_INET ? 4 : 8) == 0;
}

int server_move(struct server *s, struct table_entry *e, const struct proto_addr *to, int64_t now)
{
	if (proto_addr_equal(&e->public_ep, to))
		return 1;
	if (same_source(&e->public_ep, to)) {
		guard_name_move(&s->guard, &e->public_ep, to, now);
	} else {
		/* A move to another source counts there as a new name would (issue 12, attack 7). */
		if (!guard_name_add(&s->guard, to, now)) {
			s->stats.moves_refused++;
			return 0;
		}
		guard_name_remove(&s->guard, &e->public_ep);
	}
	e->public_ep = *to;
	return 1;
}
