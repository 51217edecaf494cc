/* peer_stream.h - reliable byte streams to a peer, over its encrypted session: the API for files, forwards and any other consumer. */
#ifndef P2PCHAT_PEER_STREAM_H
#define P2PCHAT_PEER_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/*
 * Each peer session carries one stream connection (stream.h: many
 * ordered, reliable streams, each with its own flow control, under one
 * congestion controller). Its packets travel as the inner message STREAM
 * of a SEALED datagram (protocol.h), so they are encrypted and
 * authenticated by the session (session.h) and never exceed 1200 bytes.
 *
 *   consumer (transfer.c, forward.c, ...)
 *        |  peer_stream_open / write / finish / reset / stop / resume
 *        v                                   ^ handler.recv, handler.event
 *   peer_stream.c: one struct stream_conn per peer, made on first use
 *        |  stream_tick from client_tick; stream_on_packet per STREAM
 *        v
 *   peer_session.c: sealed under the session, sent on the peer's path
 *   (direct, or through the server's relay)
 *
 * Kinds. The opener's first byte on a stream says what it is
 * (PEER_STREAM_KIND_*); peer_stream_open writes it. The other side
 * hands the stream to the handler registered for that kind
 * (peer_stream_listen) once the byte arrives; a kind nobody listens to is
 * refused: stop and reset with PEER_STREAM_E_REFUSED, which the opener
 * hears as STREAM_EV_STOPPED.
 *
 * Lifetime. The connection belongs to one incarnation of the peers'
 * channel: the pair of epochs (protocol.h, DATA). It survives the peer
 * going offline and coming back with the same epochs (the streams simply
 * wait, then go on: nothing restarts), and a move between the relay and
 * a direct path (stream_new_path: a new packet budget, the relay's rate
 * cap, RTT and window start over). It ends when the epochs change (either
 * side restarted, or the chat channel started afresh), when the peer
 * breaks the stream protocol, or when the client is freed: every open
 * stream then hears PEER_STREAM_EV_GONE, and is forgotten.
 *
 * Progress. A connection that has data in flight while the peer is
 * connected, and sees none of it acknowledged for PEER_STREAM_STALL_MS,
 * is stuck (the peer answers PINGs, yet no stream packet gets through):
 * the user is told, the connection ends as above (GONE), and the channel
 * starts afresh with new epochs, so both sides begin a new one. A
 * transfer then offers again or fails, a forward resets its connections:
 * never a silent hang. A peer that gives no credit (a reader that does not
 * read) holds nothing in flight, and is not taken for stuck.
 *
 * Paths. Over the relay the connection sends at most
 * PEER_STREAM_RELAY_RATE bytes a second (the server's default relay
 * limit, SERVER_DEFAULT_RELAY_RATE, less room for chat and keepalives:
 * the server does not tell its rate); peer_stream_relayed says so, so a
 * consumer can tell the user a transfer is relayed and slow.
 *
 * Memory: a peer's connection is allocated when a stream is first opened
 * to it or by it (about 1.6 MB), and each open stream 16 MiB, touched
 * only as data fills it (stream.h).
 *
 * Every function takes the peer by name. Ids are those of stream.h; an id
 * names a stream of that peer only. Callbacks run inside client_handle,
 * client_tick or the call that caused them; a handler may call the
 * functions here for the same stream (write from recv, finish from an
 * event), but must not free the client.
 */

/* Stream kinds: the first byte of a stream, written by its opener. */
enum peer_stream_kind {
	PEER_STREAM_KIND_CHAT = 1,      /* chat lines, one record each (peer_lines.c) */
	PEER_STREAM_KIND_FILE = 2,      /* one file transfer (transfer.h) */
	PEER_STREAM_KIND_FORWARD = 3,   /* one forwarded TCP connection */
};
#define PEER_STREAM_KINDS 4             /* kinds 1..PEER_STREAM_KINDS - 1 */

/* Application error codes (RESET_STREAM, STOP_SENDING) that this layer itself uses. */
#define PEER_STREAM_E_REFUSED 1         /* nobody here takes streams of that kind */
#define PEER_STREAM_E_APP 16            /* consumers' own codes start here */

/* An event beyond stream.h's: the connection ended; the stream is forgotten (code: 0). */
#define PEER_STREAM_EV_GONE 100

#define PEER_STREAM_RELAY_RATE 6144     /* bytes a second over the relay: 3/4 of the server's default 8192 */
#define PEER_STREAM_STALL_MS 60000      /* connected, data in flight, and nothing acknowledged this long: the connection ends, said (six probes at CC_PTO_MAX_MS) */

struct client;

/* What a consumer hears about its streams. Every callback gets ctx. */
struct peer_stream_handler {
	void *ctx;
	/*
	 * Bytes of stream id from peer arrived in order (the kind byte is
	 * not among them). Returns how many it took; bytes not taken stay
	 * buffered, hold back the peer's credit (backpressure), and are
	 * offered again after peer_stream_resume.
	 */
	size_t (*recv)(void *ctx, struct client *c, const char *peer, uint64_t id,
		       const uint8_t *data, size_t len);
	/*
	 * Something happened to stream id of peer: a stream.h enum
	 * stream_event (STREAM_EV_OPENED for a stream the peer opened, once
	 * its kind is known; STREAM_EV_FIN, RESET, STOPPED, SENT, WRITABLE,
	 * CLOSED), or PEER_STREAM_EV_GONE. code: RESET's and STOPPED's.
	 * After CLOSED or GONE the id is no longer this stream.
	 */
	void (*event)(void *ctx, struct client *c, const char *peer, uint64_t id, int ev,
		      uint64_t code);
};

/*
 * Registers h (copied) for streams of kind the peers open to us (NULL:
 * none, they are refused). Returns 0, or -1 for a kind out of range.
 */
int peer_stream_listen(struct client *c, uint8_t kind, const struct peer_stream_handler *h);

/*
 * Opens a stream to peer with urgency 0..7 (0 first: stream.h) and writes
 * its kind byte; h (copied) hears about it. Starts connecting to the peer
 * if it is not connected (the stream's bytes wait for the connection).
 * Returns the id (>= 0), or a negative enum stream_result: STREAM_EBLOCKED
 * when the peer allows no more streams yet, STREAM_ENOMEM, STREAM_EINVAL
 * for a bad name, kind or urgency.
 */
int64_t peer_stream_open(struct client *c, const char *peer, uint8_t kind, uint8_t urgency,
			 const struct peer_stream_handler *h);

/*
 * Queues up to len bytes on stream id of peer. Returns how many were
 * taken (0 when the buffer is full: STREAM_EV_WRITABLE follows when there
 * is room), or a negative enum stream_result.
 */
int64_t peer_stream_write(struct client *c, const char *peer, uint64_t id, const uint8_t *data,
			  size_t len);

/* Returns the bytes peer_stream_write would take now, or a negative result. */
int64_t peer_stream_room(struct client *c, const char *peer, uint64_t id);

/* Returns the bytes of our half the peer acknowledged (kind byte included), or a negative result. */
int64_t peer_stream_acked(struct client *c, const char *peer, uint64_t id);

/* Ends our half after what was written (FIN). Returns 0 or a negative result. */
int peer_stream_finish(struct client *c, const char *peer, uint64_t id);

/* Abandons our half with code (RESET_STREAM). Returns 0 or a negative result. */
int peer_stream_reset(struct client *c, const char *peer, uint64_t id, uint64_t code);

/* Asks the peer to stop sending on id, with code (STOP_SENDING). Returns 0 or a negative result. */
int peer_stream_stop(struct client *c, const char *peer, uint64_t id, uint64_t code);

/* Offers id's buffered bytes to handler.recv again. Returns 0 or a negative result. */
int peer_stream_resume(struct client *c, const char *peer, uint64_t id);

/*
 * Asks that the packet being taken be acknowledged at once, not after
 * the ACK delay (STREAM_MAX_ACK_DELAY_MS): for data whose sender waits on
 * that acknowledgement (a chat line is DELIVERED by it). Call it from
 * handler.recv.
 */
void peer_stream_ack_now(struct client *c, const char *peer);

/* Returns 1 when peer is connected through the server's relay (slow: PEER_STREAM_RELAY_RATE), else 0. */
int peer_stream_relayed(struct client *c, const char *peer);

/* Returns 1 when peer is connected (its streams move), else 0. */
int peer_stream_connected(struct client *c, const char *peer);

/*
 * Returns 1 when a stream opened now with peer belongs to the peer as it
 * is now, else 0. Connected again after an absence, the peer may be a new
 * incarnation (a restart) whose epoch we have not learned yet: a stream
 * opened then would ride the old pair of epochs and hear
 * PEER_STREAM_EV_GONE as soon as the new epoch is learned. Not ready, it
 * asks (an ack-eliciting packet): the answer, an ACK or the new epoch,
 * makes it ready within a round trip. A consumer that opens streams on
 * its own (a forwarded connection) waits for this; chat lines and files
 * need not, as they start again on GONE.
 */
int peer_stream_ready(struct client *c, const char *peer);

/*
 * Returns the stream connection with peer, or NULL when none is made yet:
 * for statistics (conn->stats, conn->cc) and tests; do not call stream.h
 * on it directly.
 */
const struct stream_conn *peer_stream_conn(struct client *c, const char *peer);

#endif
