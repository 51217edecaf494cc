/* forward.h - TCP port forwarding over peer streams (p2pchat --forward, --serve): the specs, and each connection's state; pure, no sockets. */
#ifndef P2PCHAT_FORWARD_H
#define P2PCHAT_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

/*
 * As ssh -L does: `--forward [ADDR:]LPORT:PEER:RPORT` listens on
 * ADDR:LPORT (127.0.0.1 by default); each connection accepted there
 * becomes one stream to PEER, which connects to the port it serves as
 * RPORT (`--serve [HOST:]RPORT`, HOST 127.0.0.1 by default) and carries
 * bytes both ways. A peer serves only the ports it names: a stream asking
 * for any other is reset, and both sides say so.
 *
 * The stream, after the owner's kind byte (forward), starts with the
 * request, the only bytes of this module's own on the wire:
 *  +--------------------+----------------------------------------+
 *  | RPORT (2, big-end.)| the TCP bytes, to the stream's FIN     |
 *  +--------------------+----------------------------------------+
 * Data follows at once (the forwarder does not wait for an answer): a
 * refusal resets the stream, and the bytes sent meanwhile are dropped.
 *
 * The two directions close apart, as TCP's do (half-close): the TCP end
 * reading EOF finishes the stream (FIN); the stream's FIN shuts the other
 * TCP end for writing (shutdown(SHUT_WR)). A TCP reset, or any failure,
 * resets the stream both ways with a code (enum fwd_code), and the other
 * TCP end is reset too (SO_LINGER 0), so an error is never taken for an
 * orderly end.
 *
 * Backpressure is credit all the way: a TCP socket is read only while its
 * stream has room (stream flow control then holds the sender back), and
 * stream bytes are taken only as far as the TCP send buffer takes them
 * (bytes not taken stay in the stream and hold back the peer's credit).
 */

#define FWD_FORWARDS_MAX 8      /* --forward options */
#define FWD_SERVES_MAX 16       /* --serve options */
#define FWD_CONNS_MAX 128       /* forwarded TCP connections at once, both roles */
#define FWD_WAITING_MAX 16      /* accepted connections waiting for their peer to come: a flood is refused, not queued */
#define FWD_WAIT_MS 30000       /* how long one waits for its peer: a browser gives up at about this */
#define FWD_CHUNK 65536         /* bytes read from a TCP socket at a time: one read a poll turn, and 16 KiB a 1 ms pacing turn held a forward near 130 Mbit/s */
#define FWD_HOST_MAX 46         /* INET6_ADDRSTRLEN: an address literal */
#define FWD_REQUEST_LEN 2

/* Why a forwarded connection failed: the code of RESET_STREAM and STOP_SENDING. */
enum fwd_code {
	FWD_CODE_DONE = 0,          /* the other side closed in order (a STOP after a FIN) */
	FWD_CODE_NOT_SERVED = 1,    /* the peer does not serve the port asked for */
	FWD_CODE_CONNECT = 2,       /* the peer could not connect to the port it serves */
	FWD_CODE_TCP_RESET = 3,     /* the TCP connection at the other end broke or was reset */
	FWD_CODE_BAD_REQUEST = 4,   /* the stream ended before its request */
};

/* One --forward. */
struct fwd_spec {
	char addr[FWD_HOST_MAX];    /* the listening address, a literal */
	uint16_t lport, rport;
	char peer[PROTO_NAME_MAX + 1];
};

/* One --serve. */
struct fwd_serve {
	char host[FWD_HOST_MAX];    /* where to connect, a literal */
	uint16_t port;
};

/*
 * Parses `[ADDR:]LPORT:PEER:RPORT` strictly: ADDR an IPv4 literal or an
 * IPv6 one in brackets (default 127.0.0.1), ports 1..65535 in plain
 * digits, PEER a valid name. Returns 0 with out filled, or -1 with *why
 * (a static string) saying what is wrong.
 */
int fwd_parse_forward(const char *text, struct fwd_spec *out, const char **why);

/* Parses `[HOST:]PORT` as fwd_parse_forward does (HOST default 127.0.0.1). Returns 0 or -1 with *why. */
int fwd_parse_serve(const char *text, struct fwd_serve *out, const char **why);

/*
 * What the table asks of its owner: the TCP sockets (non-blocking; fds are
 * the owner's), the peers' streams (a link is the owner's handle for one
 * peer's connection, sid a stream on it), and the status lines. Every
 * callback gets ctx.
 */
struct fwd_io {
	void *ctx;
	/* TCP: sends up to n bytes; returns how many were taken (0: it would block), or -1 when the connection is broken */
	int64_t (*tcp_send)(void *ctx, int fd, const uint8_t *p, size_t n);
	/* TCP: shuts fd for writing (our FIN) */
	void (*tcp_shutdown)(void *ctx, int fd);
	/* TCP: closes fd; with abort, as a reset (SO_LINGER 0) */
	void (*tcp_close)(void *ctx, int fd, int abort);
	/* TCP: starts a non-blocking connect to host:port; returns the fd (its POLLOUT says done), or -1 */
	int (*tcp_connect)(void *ctx, const char *host, uint16_t port);
	/* the link to peer when its session is up, else NULL */
	void *(*link_of)(void *ctx, const char *peer);
	/* opens a forward stream on link; returns its id, or a negative value: not now, try again */
	int64_t (*open)(void *ctx, void *link);
	int64_t (*write)(void *ctx, void *link, uint64_t sid, const uint8_t *p, size_t n);
	int64_t (*room)(void *ctx, void *link, uint64_t sid);
	int (*finish)(void *ctx, void *link, uint64_t sid);
	/* abandons both halves of sid with code (RESET_STREAM and STOP_SENDING) */
	void (*abort)(void *ctx, void *link, uint64_t sid, uint64_t code);
	int (*resume)(void *ctx, void *link, uint64_t sid);
	/* one status line for the user ("forward ...", no newline) */
	void (*report)(void *ctx, const char *line);
};

enum fwd_state {
	FWD_FREE = 0,
	FWD_WAITING,      /* accepted; its peer is not up yet (or allows no stream now) */
	FWD_REQUEST,      /* serving: the stream's request is not all here yet */
	FWD_CONNECTING,   /* serving: the connect to the served port is under way */
	FWD_OPEN,         /* bytes flow */
};

/* One forwarded TCP connection: a TCP socket and a stream. */
struct fwd_conn {
	uint8_t state;          /* enum fwd_state */
	uint8_t serving;        /* 1: the peer opened it (we connected); 0: accepted on our listener */
	uint8_t has_stream;
	uint8_t tcp_eof;        /* TCP said EOF: the stream is finished */
	uint8_t stream_fin;     /* the stream's FIN came: TCP is to be shut for writing */
	uint8_t tcp_shut;       /* and it was */
	uint8_t sent;           /* our FIN was acknowledged */
	uint8_t wr_blocked;     /* TCP took less than offered: waiting for POLLOUT */
	uint8_t req_len;
	uint8_t req[FWD_REQUEST_LEN];
	int fd;                 /* -1 when none */
	int spec;               /* forwarding: the --forward it came from */
	void *link;
	uint64_t sid;
	int64_t wait_until_ms;
	uint16_t port;          /* forwarding: RPORT; serving: the port asked for */
	char peer[PROTO_NAME_MAX + 1];
};

struct fwd_stats {
	uint64_t accepted, served, refused, waited_out, flooded, resets, bytes_in, bytes_out;
};

/* Every forward and every forwarded connection of one client. */
struct fwd {
	struct fwd_io io;
	struct fwd_spec specs[FWD_FORWARDS_MAX];
	uint32_t nspecs;
	struct fwd_serve serves[FWD_SERVES_MAX];
	uint32_t nserves;
	struct fwd_conn conns[FWD_CONNS_MAX];
	struct fwd_stats stats;
};

/* Sets up an empty table with the owner's io (copied). */
void fwd_init(struct fwd *f, const struct fwd_io *io);

/* Adds a --forward (copied). Returns its index, or -1 when FWD_FORWARDS_MAX are there. */
int fwd_add_forward(struct fwd *f, const struct fwd_spec *s);

/* Adds a --serve (copied). Returns 0, or -1 when FWD_SERVES_MAX are there. */
int fwd_add_serve(struct fwd *f, const struct fwd_serve *s);

/*
 * The owner accepted fd on the listener of forward spec at now. The table
 * owns fd from here. Opens its stream at once when the peer is up and
 * allows one, else it waits (FWD_WAIT_MS; while the peer is away, at most
 * FWD_WAITING_MAX at once: beyond that it is reset and reported). Returns the connection's index, or -1 (closed).
 */
int fwd_accepted(struct fwd *f, int spec, int fd, int64_t now);

/*
 * The peer opened stream sid on link, of the forward kind. Returns the
 * connection's index, or -1 when the table is full (the stream is reset).
 */
int fwd_stream_opened(struct fwd *f, void *link, const char *peer, uint64_t sid);

/* Bytes of sid on link arrived in order. Returns how many were taken; the rest waits for io.resume. */
size_t fwd_stream_recv(struct fwd *f, void *link, uint64_t sid, const uint8_t *p, size_t n);

/* Something happened to sid on link (enum stream_event, stream.h); code for resets and stops. */
void fwd_stream_event(struct fwd *f, void *link, uint64_t sid, int ev, uint64_t code);

/*
 * The session to link's peer is gone: each connection on it is reset
 * (its TCP end with RST) and reported once for all.
 */
void fwd_link_down(struct fwd *f, void *link);

/* Bytes the owner may read from connection i's socket now (0: do not poll it for input). */
size_t fwd_read_room(const struct fwd *f, int i);

/* 1 when the owner should poll connection i's socket for POLLOUT (a blocked send, or a connect). */
int fwd_want_write(const struct fwd *f, int i);

/*
 * What the owner read from connection i's socket: n > 0 bytes (at most
 * fwd_read_room), 0 for EOF, -1 for an error (a reset). Returns 0.
 */
int fwd_tcp_input(struct fwd *f, int i, const uint8_t *p, int64_t n);

/*
 * Connection i's socket is writable: a blocked send may go on, or a
 * connect finished (ok 1) or failed (ok 0).
 */
void fwd_tcp_writable(struct fwd *f, int i, int ok);

/*
 * Opens the streams of the connections whose peer came up, and gives up
 * on those that waited too long. Returns the next time (ms) it wants to
 * be called, or INT64_MAX.
 */
int64_t fwd_tick(struct fwd *f, int64_t now);

/* Returns the connections in use. */
uint32_t fwd_count(const struct fwd *f);

#endif
