/* server_impl.h - what server.c and server_presence.c share; not the server's API (server.h). */
#ifndef P2PCHAT_SERVER_IMPL_H
#define P2PCHAT_SERVER_IMPL_H

#include <stdint.h>

#include "server.h"

/* server.c */

/*
 * Introduces a and b to each other: one PEER each way, into tx[0] and
 * tx[1], sent at the same moment so both start punching together (Ford,
 * Srisuresh & Kegel, section 3.3); counted as an introduction. Returns 2
 * (fewer only when a PEER cannot be encoded, a bug).
 */
int server_introduce(struct server *s, const struct table_entry *a, const struct table_entry *b,
		     struct server_tx *tx);

/* server_presence.c */

/* Allocates the waits' table, sized from s->cfg.max_names. Returns 0, or -1 when memory is short. */
int server_wait_init(struct server *s);

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

#endif
