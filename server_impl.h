/* server_impl.h - what server.c and its helpers (server_*.c) share; not the server's API (server.h). */
#ifndef P2PCHAT_SERVER_IMPL_H
#define P2PCHAT_SERVER_IMPL_H

#include <stdint.h>

#include "server.h"

/* server_auth.c */

/*
 * Encodes m, not sealed, into tx for `to`; proven as in struct
 * server_tx. Returns 1 (one datagram to send), or 0 if m cannot be encoded.
 */
int server_encode(struct server_tx *tx, const struct proto_addr *to, int proven,
		  const struct proto_msg *m);

/*
 * Encodes m, a sealed answer, with the next answer counter (set in m)
 * and seals it under k (auth.h) into tx for `to`. Returns 1, or 0 when it
 * cannot be encoded (a bug, logged).
 */
int server_seal(struct server *s, struct server_tx *tx, const struct proto_addr *to, int proven,
		struct proto_msg *m, const uint8_t k[AUTH_KEY_LEN]);

/*
 * K for a REGISTER that brings key pub for name entry e (NULL: no live
 * entry): e's K when pub is e's key, else computed (one X25519, counted in
 * key_agreements). Returns 0 with k set, or -1 when pub is a low-order
 * point (k zeros). The caller wipes k.
 */
int server_register_key(struct server *s, const struct table_entry *e, const uint8_t pub[PROTO_KEY_LEN],
			uint8_t k[AUTH_KEY_LEN]);

/*
 * Opens the sealed request buf[0..len) (its body at body_off) under k
 * and decodes it into *m. Returns 1, or 0 when it does not open (counted
 * as dropped_unauthenticated) or its open form is malformed (counted as
 * such): drop it, with no answer.
 */
int server_open(struct server *s, const uint8_t *buf, size_t len, size_t body_off,
		const uint8_t k[AUTH_KEY_LEN], const struct proto_addr *from, struct proto_msg *m);

/*
 * Checks an opened request's counter against e's window and marks it
 * seen. Returns 1 when it was fresh; 0 when it was not (a replay, counted
 * as dropped_replayed): drop it, with no answer.
 */
int server_fresh(struct server *s, struct table_entry *e, uint64_t counter);

/*
 * Marks counter seen in e's window (auth.h, AUTH_REQUEST_WINDOW wide) if
 * it is fresh there. Returns 1 when it was fresh, else 0 (nothing changed).
 */
int server_window_take(struct table_entry *e, uint64_t counter);

/* A 32-bit tag of address a, never 0, keyed with the table's secret key (table_entry.replaced). */
uint32_t server_addr_tag(const struct server *s, const struct proto_addr *a);

/*
 * The private endpoints of REGISTER m from `from` the server keeps: those
 * in a private range (RFC 1918, RFC 4193, link-local, loopback) or at
 * from's IP address, into out; the others are counted (private_refused).
 * Returns how many were kept.
 */
uint8_t server_keep_private(struct server *s, const struct proto_msg *m,
			    const struct proto_addr *from, struct proto_addr out[PROTO_MAX_PRIVATE]);

/*
 * Moves e's name to `to` (a REGISTER or REFRESH with its cookie from
 * there), counting it against to's `names` limit as a new name would be
 * (only a port change within one source moves freely). Returns 1 when it
 * moved (or was there already), 0 when `to` holds as many names as it may
 * (counted in moves_refused; e unchanged).
 */
int server_move(struct server *s, struct table_entry *e, const struct proto_addr *to, int64_t now);

/* server.c */

/*
 * Introduces a and b to each other at now: one PEER each way, into tx[0] and
 * tx[1], sent at the same moment so both start punching together (Ford,
 * Srisuresh & Kegel, section 3.3); counted as an introduction. Returns 2
 * (fewer only when a PEER cannot be encoded, a bug).
 */
int server_introduce(struct server *s, const struct table_entry *a, const struct table_entry *b,
		     int64_t now, struct server_tx *tx);

/*
 * Charges one request of kind to `from`'s budget. Returns 1 when it is
 * within its rate; 0 when it is not, counted and to be dropped unanswered:
 * an ERROR for each would only add traffic where there is too much.
 */
int server_within_rate(struct server *s, const struct proto_addr *from,
		       enum guard_kind kind, uint32_t cost, int64_t now);

/*
 * Refuses a request from a proven address (a cookie came with it, or it
 * is its name's): one sealed ERROR about `name` (may be "") back to it.
 * Returns 1 (one datagram in tx), or 0 if it cannot be sealed.
 */
int server_refuse(struct server *s, struct server_tx *tx, const struct proto_addr *to,
		  const uint8_t k[AUTH_KEY_LEN], uint8_t code, uint8_t request, const char *name);

/* Marks e as alive: its life starts over at now. */
void server_keep_alive(const struct server *s, struct table_entry *e, int64_t now);


/* server_register.c */

/*
 * The first step of REGISTER and REFRESH: is `from` really the sender's
 * address, and is it within its rate? Returns 1 when both hold. Else
 * returns 0 with *ntx set: 1 after writing a COOKIE for `from` into tx
 * (the cookie is missing, old, or another address's: "send that again
 * with this one"), 0 when the source is over its rate (dropped unanswered).
 */
int server_proven(struct server *s, const struct proto_msg *m,
		  const struct proto_addr *from, int64_t now, struct server_tx *tx,
		  int *ntx);

/*
 * REGISTER: claim a name with a key, or update our own claim at once
 * (the same key). The cookie comes first (one hash), then K (one X25519
 * for a key the name does not hold), then the seal: a REGISTER that does
 * not open changes nothing and gets no answer. Returns the datagrams
 * written into tx (REGISTERED, or an ERROR or a COOKIE; then perhaps the
 * replaced instance's ERROR and the waiters' PEERs), or 0.
 */
int server_on_register(struct server *s, const uint8_t *buf, size_t len, size_t body_off,
		       const struct proto_msg *pm, const struct proto_addr *from, int64_t now,
		       struct server_tx *tx);

/*
 * REFRESH (opened, fresh): keep a live registration (and the client's NAT
 * mapping) alive. Returns the datagrams written into tx: 1 (REGISTERED or
 * an ERROR), or 0.
 */
int server_on_refresh(struct server *s, struct table_entry *e, const struct proto_msg *m,
		      const struct proto_addr *from, int64_t now, struct server_tx *tx);

/* server_other.c */

/* Allocates the other families' table, sized from s->cfg.max_names. Returns 0, or -1 when memory is short. */
int server_other_init(struct server *s);

/* Frees what server_other_init allocated. */
void server_other_free(struct server *s);

/*
 * Returns e's endpoint in its other family (the family its public_ep is
 * not), live at now, or NULL. The pointer stays valid until the next
 * server_other_set or server_other_forget.
 */
const struct proto_addr *server_other_get(const struct server *s, const struct table_entry *e,
					  int64_t now);

/*
 * Keeps ep (proven by a cookie) as e's other family's endpoint for a TTL
 * from now, in e's slot, a free one, or the one that ends first (its
 * name loses its second family).
 */
void server_other_set(struct server *s, const struct table_entry *e, const struct proto_addr *ep,
		      int64_t now);

/* Forgets e's other family's endpoint (e goes, or another instance took its name). */
void server_other_forget(struct server *s, const struct table_entry *e);

/* server_presence.c */

/* Allocates the waits' table, sized from s->cfg.max_names. Returns 0, or -1 when memory is short. */
int server_wait_init(struct server *s);

/*
 * A table of set-associative buckets, zeroed: `slots` (clamped to
 * min..max) rounded up to a power of two of buckets of `ways` elements of
 * `size` bytes each; *mask gets the number of buckets - 1. Returns it (the
 * caller frees it), or NULL when memory is short (*mask unchanged).
 */
void *server_buckets_alloc(uint32_t slots, uint32_t min, uint32_t max, uint32_t ways, size_t size,
			   uint32_t *mask);

/* Frees what server_wait_init allocated. */
void server_wait_free(struct server *s);

/*
 * Keeps req's LOOKUP of `target`, which is not online, for SERVER_WAIT_MS.
 * Returns 1 when it waits (a wait already there is renewed), 0 when req
 * placed its SERVER_WAIT_PER_NAME new waits of this period already.
 */
int server_wait_add(struct server *s, struct table_entry *req, const char *target, int64_t now);

/*
 * e has just registered: introduces it to everyone waiting for it
 * (server_introduce, into tx), and ends those waits. Returns the
 * datagrams written (at most 2 x SERVER_WAIT_WAYS).
 */
int server_wait_introduce(struct server *s, const struct table_entry *e, int64_t now,
			  struct server_tx *tx);

/*
 * The last check before anything is sent (server.c): drops from tx[0..n)
 * every answer larger than the request's len bytes to an address not
 * proven. Returns the datagrams left.
 */
int server_no_amplification(struct server *s, struct server_tx tx[SERVER_MAX_TX], int n,
			    size_t len);

#endif
