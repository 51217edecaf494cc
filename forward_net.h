/* forward_net.h - the sockets of port forwarding: listeners, non-blocking TCP, the poll slots, and forward.c's table tied to the peers' streams (peer_stream.h). */
#ifndef P2PCHAT_FORWARD_NET_H
#define P2PCHAT_FORWARD_NET_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "forward.h"

struct client;

#define FWD_NET_PEERS 16        /* peers the forwards of one client name (the links below) */
#define FWD_NET_SLOTS (FWD_FORWARDS_MAX + FWD_CONNS_MAX) /* poll slots it may ask for */
#define FWD_NET_BACKLOG 64      /* listen(2)'s backlog: a browser opens six at once */
#define FWD_NET_WANT_MS 2000    /* a lookup of an absent peer at most this often, however many connections wait */

/* One peer the table speaks of: forward.c's link is a pointer to one of these. */
struct fwd_net_peer {
	char name[PROTO_NAME_MAX + 1];
	uint8_t up;             /* connected when last looked at: its connections are open */
	int64_t next_want_ms;   /* the next lookup want_peer may start */
};

/* Everything port forwarding holds in one client. */
struct fwd_net {
	struct fwd f;
	struct client *c;
	int lfd[FWD_FORWARDS_MAX];
	struct fwd_net_peer peers[FWD_NET_PEERS];
	void (*report)(void *ctx, const char *line);
	void *report_ctx;
	/* what the last fwd_net_pollfds asked for: a listener (-1 - its index) or a connection, per slot */
	int who[FWD_NET_SLOTS];
	int fd[FWD_NET_SLOTS];
	size_t nslots;
};

/*
 * Sets up n for client c: listens on every spec (127.0.0.1:LPORT or its
 * ADDR, non-blocking), takes the peers' forward streams (serving what
 * serves names, refusing the rest), and reports through report. Returns
 * 0, or -1 with err filled (a port in use, say) and nothing left open.
 */
int fwd_net_start(struct fwd_net *n, struct client *c, const struct fwd_spec *specs,
		  uint32_t nspecs, const struct fwd_serve *serves, uint32_t nserves,
		  void (*report)(void *ctx, const char *line), void *report_ctx, char *err,
		  size_t cap);

/*
 * Fills fds (cap slots at most) with what the loop should poll: each
 * listener while the table has room, each connection that may read
 * (POLLIN: its stream has room) or wants to write (POLLOUT). A socket with
 * nothing to wait for is left out, so that its POLLHUP cannot spin the
 * loop. Returns the number of slots filled.
 */
size_t fwd_net_pollfds(struct fwd_net *n, struct pollfd *fds, size_t cap);

/* Handles what poll said of the slots fwd_net_pollfds filled (fds as poll left them) at now. */
void fwd_net_dispatch(struct fwd_net *n, const struct pollfd *fds, size_t nfds, int64_t now);

/*
 * Notices peers that dropped (their connections are reset) and runs
 * forward.c's timers. Returns the next time (ms) it wants to be called,
 * or INT64_MAX.
 */
int64_t fwd_net_tick(struct fwd_net *n, int64_t now);

/* Closes every listener and connection (connections with a reset). */
void fwd_net_stop(struct fwd_net *n);

#endif
