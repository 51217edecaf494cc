/* stream.h - many ordered, reliable byte streams between two peers, with flow control (after RFC 9000); pure, fake time. */
#ifndef P2PCHAT_STREAM_H
#define P2PCHAT_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "cc.h"
#include "protocol.h"

/*
 * A connection carries many streams at once: chat is one, each file and
 * each forwarded TCP connection another. Each stream is an ordered,
 * reliable byte stream in each direction, with its own flow control, so a
 * stream whose reader is slow stalls alone, and a chat line never waits
 * behind a file. The layer knows nothing of the crypto: the session layer
 * seals each packet this layer hands it and opens each one it is given.
 *
 * What it borrows from QUIC (RFC 9000, RFC 9002):
 * - Packet numbers rise by one per packet and never repeat. Lost data is
 *   sent again in a new packet, cut to fit it, so an ACK names exactly one
 *   transmission and every RTT sample is unambiguous.
 * - ACK frames carry ranges (up to STREAM_ACK_RANGES_MAX), not a 32-bit
 *   bitmap, so a window of any size can be acknowledged.
 * - Flow control by credit (RFC 9000 4): the receiver says how far into
 *   each stream (MAX_STREAM_DATA) and into the whole connection (MAX_DATA)
 *   the sender may go, and how many streams it may open (MAX_STREAMS).
 *   Credit starts at the STREAM_INITIAL_* values that both sides know,
 *   and grows as the application reads.
 * - Stream ids: bit 0 is the opener's role (0 or 1, agreed by the owner,
 *   for instance by comparing the peers' names); a stream opened by the
 *   peer comes into being with its first frame.
 *
 * Sending (stream_tick): each packet takes, in this order, an ACK when
 * one is due, the control frames (credit, resets, stop requests), then
 * stream data picked by the scheduler, while the congestion window and
 * the pacer (cc.h) allow. The scheduler serves the streams of the lowest
 * urgency value first (0 most urgent, as RFC 9218 numbers them), round-
 * robin one frame at a time among streams of the same urgency, and within
 * a stream resends lost data before new data. Chat opens its stream at
 * urgency 0: a line is small and human-paced, so it costs a file nothing,
 * yet it leaves in the next packet; files and forwards share a lower one
 * fairly. Urgency is the sender's own business and does not travel.
 *
 * RFC 8085 3.1 asks every UDP application that sends more than a little
 * to control congestion; cc.h does, for every packet but ACK-only ones.
 *
 * Memory: stream_conn_init allocates the connection's tables once (the
 * stream table, the record of what each packet in flight held, the queue
 * of lost data); each stream allocates its two buffers (stream_buf bytes
 * each way) when it opens and frees them when it closes. Nothing is
 * allocated per packet. With the defaults, per connection: 270 kB in
 * struct stream_conn (cc's ring, 64 bytes a packet for the delivery
 * rate), 1.5 MB of tables (640 kB of records of up to CC_SENT_MAX packets
 * in flight, 384 kB of lost queue, 32 kB per stream slot), and 16 MiB per
 * open stream: 8 MiB each way, allocated at once but touched only as
 * data fills it (a chat stream touches a few pages). Credit comes back
 * when half is read, so 4 to 8 MiB are open at a time: 320 to 640 Mbit/s
 * at 100 ms without loss (1 MiB held the NAT lab's forward near 32
 * Mbit/s, 2 MiB near 125, where TCP makes 200). Loss needs the room:
 * a lost packet holds the window's left edge for two round trips or
 * more (its loss is seen after 9/8 RTT, its copy acknowledged an RTT
 * later, and at 5% a copy is lost too now and then), while the rest of
 * the window goes on; at 5% a link a 16 MiB /send made 45 to 54 Mbit/s
 * with 4 MiB, 64 to 71 with 8 (README, Performance).
 */

/*
 * The packet budget. A datagram is at most PROTO_MAX_DATAGRAM (1200)
 * bytes; the session layer will add its header (type, key index and a
 * 64-bit counter: 16 bytes) and the Poly1305 tag (16 bytes, RFC 8439),
 * so a stream packet is at most 1200 - 32 bytes. Over the relay a packet
 * also pays the RELAY header: the owner lowers the budget with
 * stream_set_pkt_max (to PROTO_PAYLOAD_MAX - STREAM_SEAL_OVERHEAD) and
 * lost data is simply cut smaller when it is sent again.
 */
#define STREAM_SEAL_OVERHEAD 32
#define STREAM_PKT_MAX (PROTO_MAX_DATAGRAM - STREAM_SEAL_OVERHEAD)
#define STREAM_PKT_MIN 256          /* smallest budget stream_set_pkt_max takes: room for an ACK and a frame */

#define STREAM_ACK_RANGES_MAX 32    /* ranges in one ACK frame, and packet ranges the receiver tracks */
#define STREAM_RANGES_MAX 1024      /* byte ranges a stream tracks out of order (received, or acknowledged): 5% random loss leaves some 400 holes in an 8 MiB window (128 in a 4 MiB one made the receiver refuse packets) */
#define STREAM_PKT_FRAMES 6         /* frames a packet carries that need resending when lost */
#define STREAM_FRAMES_MAX 64        /* frames a received packet may hold; more is malformed */
#define STREAM_LOST_MAX 8192        /* pieces of lost data waiting to be sent again, per connection */
#define STREAM_MAX_ACK_DELAY_MS 25  /* both sides acknowledge within this (RFC 9000 18.2's default) */
#define STREAM_ACK_EVERY 2          /* ack-eliciting packets before an ACK goes at once (RFC 9000 13.2.2) */
#define STREAM_URGENCY_LEVELS 8     /* 0 (most urgent) .. 7 */
#define STREAM_URGENCY_DEFAULT 3    /* RFC 9218 4.1's default */

/* Credit both sides know before any MAX_* frame (RFC 9000 uses transport parameters instead). */
#define STREAM_INITIAL_WINDOW 16384     /* bytes into a new stream */
#define STREAM_INITIAL_MAX_DATA 65536   /* bytes over the whole connection */
#define STREAM_INITIAL_MAX_STREAMS 4    /* streams each side may open */

/*
 * The wire. Every integer (v) is a QUIC variable-length integer (RFC 9000
 * section 16): the first byte's top two bits give its length, 1, 2, 4 or
 * 8 bytes, and the rest is the value, big-endian, up to 2^62 - 1.
 *
 * A packet (what the session layer seals):
 *  +--------------------+------------------------------------------+
 *  | packet number (v)  | frames, one after another, to the end    |
 *  +--------------------+------------------------------------------+
 * At least one frame; at most STREAM_FRAMES_MAX.
 *
 * PING (0x01): no fields. Asks for an ACK (a probe with nothing to say).
 *  +------+
 *  | 0x01 |
 *  +------+
 *
 * ACK (0x02), after RFC 9000 19.3, the delay in milliseconds:
 *  +------+-------------+-----------------+-----------------+
 *  | 0x02 | largest (v) | ack delay ms (v)| range count (v) |
 *  +------+-------------+-----------------+-----------------+
 *  | first range (v)    | gap (v), range (v), range count times  |
 *  +--------------------+-----------------------------------------+
 * The first range acknowledges largest - first range .. largest; each
 * further range starts gap + 2 below the smallest number of the one
 * before it and covers range + 1 numbers. range count < STREAM_ACK_RANGES_MAX.
 *
 * RESET_STREAM (0x04): the sender abandons its half of a stream.
 *  +------+---------------+-------------------+----------------+
 *  | 0x04 | stream id (v) | error code (v)    | final size (v) |
 *  +------+---------------+-------------------+----------------+
 *
 * STOP_SENDING (0x05): the receiver asks the sender to abandon its half.
 *  +------+---------------+-------------------+
 *  | 0x05 | stream id (v) | error code (v)    |
 *  +------+---------------+-------------------+
 *
 * STREAM (0x08, or 0x09 with FIN): after RFC 9000 19.8, offset and length
 * always present. FIN: the stream ends after these bytes.
 *  +-----------+---------------+------------+------------+---------+
 *  | 0x08|FIN  | stream id (v) | offset (v) | length (v) | data    |
 *  +-----------+---------------+------------+------------+---------+
 * offset + length < 2^62; length may be 0 only with FIN.
 *
 * MAX_DATA (0x10), MAX_STREAM_DATA (0x11), MAX_STREAMS (0x12): credit
 * (RFC 9000 19.9, 19.10, 19.11), each the new limit itself, never less
 * than before (a smaller one is stale and ignored).
 *  +------+---------+      +------+---------------+---------+      +------+---------+
 *  | 0x10 | max (v) |      | 0x11 | stream id (v) | max (v) |      | 0x12 | max (v) |
 *  +------+---------+      +------+---------------+---------+      +------+---------+
 */
enum stream_frame_type {
	STREAM_F_PING = 0x01,
	STREAM_F_ACK = 0x02,
	STREAM_F_RESET = 0x04,
	STREAM_F_STOP = 0x05,
	STREAM_F_STREAM = 0x08,
	STREAM_F_STREAM_FIN = 0x09,
	STREAM_F_MAX_DATA = 0x10,
	STREAM_F_MAX_STREAM_DATA = 0x11,
	STREAM_F_MAX_STREAMS = 0x12,
};

#define STREAM_VARINT_MAX ((UINT64_C(1) << 62) - 1)

/* One frame, decoded. Which fields mean something depends on type. */
struct stream_frame {
	uint8_t type;                 /* enum stream_frame_type */
	uint64_t id;                  /* RESET, STOP, STREAM, MAX_STREAM_DATA */
	uint64_t code;                /* RESET, STOP: the application's error code */
	uint64_t offset;              /* STREAM */
	uint64_t final_size;          /* RESET */
	uint64_t max;                 /* MAX_DATA, MAX_STREAM_DATA, MAX_STREAMS */
	const uint8_t *data;          /* STREAM: points into the decoded buffer */
	size_t len;                   /* STREAM */
	uint64_t ack_delay_ms;        /* ACK */
	uint32_t nranges;             /* ACK: ranges[0] holds the largest */
	struct cc_range ranges[STREAM_ACK_RANGES_MAX];
};

/* Results: 0 or a count on success, one of these on failure. */
enum stream_result {
	STREAM_ESHORT = -1,     /* the buffer ends inside a field (a truncation) */
	STREAM_ETYPE = -2,      /* a frame type this code does not know */
	STREAM_EVALUE = -3,     /* a field out of its range (ACK ranges below 0, offset + length past 2^62) */
	STREAM_ECOUNT = -4,     /* too many ACK ranges, or frames in a packet, or none */
	STREAM_ETRAILING = -5,  /* bytes left after the frame */
	STREAM_ENOSPACE = -6,   /* encode: the buffer is too small */
	STREAM_EINVAL = -7,     /* a call with arguments that make no sense */
	STREAM_ENOSTREAM = -8,  /* no open stream has that id */
	STREAM_EBLOCKED = -9,   /* stream_open: the peer allows no more streams now */
	STREAM_ENOMEM = -10,    /* no memory for a stream's buffers, or the stream table is full */
	STREAM_ESTATE = -11,    /* the stream's half is finished or reset */
	STREAM_EFLOW = -12,     /* the peer sent past the credit we gave (a connection error) */
	STREAM_EFINAL = -13,    /* the peer changed a stream's final size (a connection error) */
	STREAM_EPROTO = -14,    /* the peer named a packet or stream it could not (a connection error) */
	STREAM_ELIMIT = -15,    /* the peer opened more streams than allowed (a connection error) */
	STREAM_ECLOSED = -16,   /* the connection failed earlier; it does nothing more */
};

/* What the application hears about a stream (stream_io.event). */
enum stream_event {
	STREAM_EV_OPENED = 1,   /* the peer opened stream id */
	STREAM_EV_FIN = 2,      /* the peer's data ended; every byte was delivered */
	STREAM_EV_RESET = 3,    /* the peer abandoned its half with code; undelivered bytes are gone */
	STREAM_EV_STOPPED = 4,  /* the peer asked us to stop with code; our half is reset with it */
	STREAM_EV_SENT = 5,     /* every byte we wrote and our FIN were acknowledged */
	STREAM_EV_WRITABLE = 6, /* room in the send buffer again after a short stream_write */
	STREAM_EV_CLOSED = 7,   /* both halves are done: the id is forgotten, its buffers freed */
};

/* What the connection asks of its owner. Every callback gets ctx. */
struct stream_io {
	void *ctx;
	/* seal and send one packet of len bytes (<= the packet budget) on the current path */
	void (*send)(void *ctx, const uint8_t *pkt, size_t len);
	/*
	 * bytes of stream id arrived in order: take some or all and return how
	 * many were taken. Bytes not taken stay buffered (and hold back the
	 * peer's credit) until stream_resume offers them again.
	 */
	size_t (*recv)(void *ctx, uint64_t id, const uint8_t *data, size_t len);
	/* something happened to stream id (enum stream_event); code for RESET and STOPPED */
	void (*event)(void *ctx, uint64_t id, int ev, uint64_t code);
};

/* How a connection is sized. */
struct stream_config {
	uint8_t role;           /* 0 or 1, the other side has the other; bit 0 of the ids we open */
	uint32_t max_streams;   /* streams the peer may have open at once (>= STREAM_INITIAL_MAX_STREAMS); we may as many as it allows, up to the same table size */
	uint32_t stream_buf;    /* bytes buffered each way per stream (>= STREAM_INITIAL_WINDOW): the stream's window */
	uint64_t conn_window;   /* bytes the peer may have unread over the whole connection (>= STREAM_INITIAL_MAX_DATA) */
	uint32_t pkt_max;       /* packet budget (STREAM_PKT_MIN..STREAM_PKT_MAX) */
};

/* Byte ranges [lo, hi), sorted, apart. */
struct stream_rset {
	uint32_t n;
	struct {
		uint64_t lo, hi;
	} r[STREAM_RANGES_MAX];
};

/* One stream. */
struct stream {
	uint64_t id;
	uint8_t used;
	uint8_t urgency;
	uint8_t *sbuf, *rbuf;   /* stream_buf bytes each, one allocation: offset o lives at [o % stream_buf] */

	/* sending half */
	uint64_t snd_una;       /* every byte below is acknowledged */
	uint64_t snd_nxt;       /* new data starts here: the highest offset sent */
	uint64_t snd_end;       /* the application wrote up to here */
	uint64_t snd_max;       /* the peer's credit (MAX_STREAM_DATA) */
	struct stream_rset snd_acked; /* acknowledged ranges above snd_una */
	uint32_t nlost;         /* pieces in the lost queue */
	uint8_t fin_queued, fin_sent, fin_acked;
	uint8_t reset_state;    /* 0, or pending, in flight, acknowledged */
	uint64_t reset_code, reset_final;
	uint8_t want_writable, sent_told, send_done;

	/* receiving half */
	uint64_t rcv_read;      /* delivered to the application (or thrown away after STOP) */
	uint64_t rcv_max;       /* the credit we gave */
	uint64_t rcv_high;      /* the highest offset received */
	struct stream_rset rcv_have; /* received ranges at or above rcv_read */
	uint64_t rcv_final;
	uint8_t rcv_fin_known, rcv_reset, rcv_blocked, recv_done, in_deliver;
	uint8_t stop_state;     /* 0, or pending, in flight, acknowledged */
	uint64_t stop_code;
	uint8_t max_sd_pending; /* a MAX_STREAM_DATA is to be sent */
};

/* A piece of lost data to send again. */
struct stream_lost {
	uint64_t id;
	uint64_t orig_off;      /* where it began in the lost packet */
	uint64_t off, end;      /* what is left to send */
	uint64_t pn;            /* the packet it was lost in */
	uint8_t fin, used;
};

/* A frame a packet in flight carried, to resend if the packet is lost. */
struct stream_fref {
	uint64_t id;
	uint64_t off;
	uint16_t len;
	uint8_t type;           /* enum stream_frame_type */
	uint8_t fin;
};

/* What one packet in flight carried (indexed by cc's slot). */
struct stream_rec {
	uint8_t n;
	uint8_t max_data, max_streams;
	uint8_t has_ack;        /* it carried an ACK, down to ack_lo */
	uint64_t ack_lo;
	struct stream_fref f[STREAM_PKT_FRAMES];
};

struct stream_stats {
	uint64_t pkts_sent, pkts_recv, acks_only, probes;
	uint64_t pkts_malformed, pkts_dup, pkts_refused; /* refused: no room to keep its data; not acknowledged */
	uint64_t bytes_sent, bytes_resent;
};

struct stream_conn {
	struct stream_config cfg;
	struct stream_io io;
	struct cc cc;
	int error;                      /* 0, or the enum stream_result that ended it */

	struct stream *streams;         /* 2 * cfg.max_streams slots */
	uint32_t nslots;
	uint64_t next_local;            /* streams we opened so far */
	uint64_t next_peer;             /* streams the peer opened so far */
	uint64_t local_max_streams;     /* streams the peer lets us open (cumulative) */
	uint64_t peer_max_streams;      /* streams we let the peer open (cumulative) */
	uint64_t peer_closed;           /* peer streams done and forgotten */
	uint8_t max_streams_pending;
	uint32_t rr;                    /* the slot served last, for round robin */

	/* connection credit (RFC 9000 4.1) */
	uint64_t snd_total, snd_max_data;       /* new bytes sent on all streams; the peer's limit */
	uint64_t rcv_total, rcv_consumed, rcv_max_data; /* highest offsets received, bytes read, our limit */
	uint8_t max_data_pending;
	uint8_t ping_pending;           /* stream_ping: an ack-eliciting packet is due */

	/* packets */
	uint64_t next_pn;
	struct stream_rec *recs;        /* CC_SENT_MAX records, by cc slot */
	struct stream_lost *lost;       /* STREAM_LOST_MAX */
	uint32_t nlost, lost_top;       /* pieces queued; slots below lost_top may be used */
	uint32_t frames_in_flight;      /* STREAM frames in packets in flight: each may become a lost piece */

	/* receiving packets: numbers seen, for ACKs (descending, inclusive) */
	struct cc_range rcvd[STREAM_ACK_RANGES_MAX];
	uint32_t nrcvd;
	uint64_t rcvd_floor;            /* below it, the peer knows what we hold: not tracked, taken for duplicates */
	int64_t largest_rcvd_ms;        /* when the largest arrived */
	uint32_t unacked_eliciting;     /* ack-eliciting packets since our last ACK */
	int64_t ack_deadline_ms;        /* INT64_MAX when no ACK is owed */

	uint32_t pkt_max;
	struct stream_stats stats;
};

/* Fills cfg with the defaults: role 0, 16 streams, 1 MiB per stream each way, 2 MiB over all, STREAM_PKT_MAX. */
void stream_config_default(struct stream_config *cfg);

/*
 * Sets up a connection at now with cfg and the owner's io (copied).
 * Allocates the connection's tables. Returns 0, STREAM_EINVAL for a cfg
 * out of bounds, or STREAM_ENOMEM. Free it with stream_conn_free.
 */
int stream_conn_init(struct stream_conn *c, const struct stream_config *cfg,
		     const struct stream_io *io, int64_t now);

/* Frees everything the connection holds, streams included; no callbacks. Safe twice. */
void stream_conn_free(struct stream_conn *c);

/*
 * Opens a stream with urgency 0..7 (0 first). Returns its id (>= 0), or
 * STREAM_EBLOCKED when the peer allows no more streams yet, STREAM_ENOMEM,
 * STREAM_EINVAL or STREAM_ECLOSED. The peer learns of it with its first frame.
 */
int64_t stream_open(struct stream_conn *c, uint8_t urgency);

/*
 * Queues up to len bytes on stream id. Returns how many were taken (0 when
 * the send buffer is full: STREAM_EV_WRITABLE comes when there is room), or
 * a negative enum stream_result. Nothing is sent until stream_tick.
 */
int64_t stream_write(struct stream_conn *c, uint64_t id, const uint8_t *data, size_t len);

/* Returns the bytes stream_write would take now on stream id, or a negative result. */
int64_t stream_room(const struct stream_conn *c, uint64_t id);

/*
 * Returns how many bytes of stream id the peer has acknowledged, all of
 * them from the start (a chat line whose end is below is delivered), or a
 * negative result.
 */
int64_t stream_acked(const struct stream_conn *c, uint64_t id);

/* Ends our half of stream id after what was written (FIN). Returns 0 or a negative result. */
int stream_finish(struct stream_conn *c, uint64_t id);

/*
 * Abandons our half of stream id with an application error code
 * (RESET_STREAM): unsent and unacknowledged bytes are dropped. Returns 0 or
 * a negative result.
 */
int stream_reset(struct stream_conn *c, uint64_t id, uint64_t code);

/*
 * Asks the peer to stop sending on stream id (STOP_SENDING with code);
 * whatever still arrives is thrown away. Returns 0 or a negative result.
 */
int stream_stop(struct stream_conn *c, uint64_t id, uint64_t code);

/* Offers stream id's buffered bytes to io.recv again (after it took less than offered). Returns 0 or a negative result. */
int stream_resume(struct stream_conn *c, uint64_t id);

/* Sets stream id's urgency (0..7). Returns 0 or a negative result. */
int stream_set_urgency(struct stream_conn *c, uint64_t id, uint8_t urgency);

/* Changes the packet budget (STREAM_PKT_MIN..STREAM_PKT_MAX) for the packets sent from now. Returns 0 or STREAM_EINVAL. */
int stream_set_pkt_max(struct stream_conn *c, uint32_t pkt_max);

/*
 * Asks for an ack-eliciting packet at the next stream_tick (a PING if
 * nothing else goes): a keepalive, or a fresh RTT sample (c->cc) while
 * the path is otherwise quiet. The owner judges a path dead by
 * c->cc.pto_count, the probe timeouts in a row without an ACK.
 */
void stream_ping(struct stream_conn *c);

/*
 * Makes an ACK due at now: the next stream_tick sends one at once, not
 * within max_ack_delay (RFC 9000 13.2.1 lets a receiver acknowledge
 * sooner; a chat line's sender learns it arrived a moment earlier).
 */
void stream_ack_now(struct stream_conn *c, int64_t now);

/*
 * The owner moved the connection to another path at now (relay to
 * direct, or a new NAT mapping): a new packet budget, a cap on the
 * sending rate in bytes per second (the relay's limit; 0 for none), and
 * RTT and window start over there (RFC 9000 9.4). Nothing is resent and
 * no stream restarts: what was in flight is acknowledged or lost as
 * before. Returns 0 or STREAM_EINVAL.
 */
int stream_new_path(struct stream_conn *c, uint32_t pkt_max, uint64_t rate_cap, int64_t now);

/*
 * Takes one packet (opened by the session layer) received at now. Returns
 * 0; or a negative result when the packet is malformed (it changes nothing
 * and is counted), or when the peer broke the protocol (STREAM_EFLOW,
 * EFINAL, EPROTO, ELIMIT: c->error is set and the connection is dead; the
 * owner closes it). Calls io.recv and io.event as data and events arrive.
 * The owner calls stream_tick after it, to send what is due.
 */
int stream_on_packet(struct stream_conn *c, const uint8_t *pkt, size_t len, int64_t now);

/*
 * Sends what is due at now (ACKs, control frames, data the window and the
 * pacer allow, probes) and runs the timers. Returns the next time (ms) it
 * wants to be called, or INT64_MAX when nothing waits.
 */
int64_t stream_tick(struct stream_conn *c, int64_t now);

/*
 * Decodes exactly one frame from buf. Returns 0, or STREAM_ESHORT,
 * STREAM_ETYPE, STREAM_EVALUE, STREAM_ECOUNT, STREAM_ETRAILING (bytes after
 * it). out->data points into buf.
 */
int stream_frame_decode(const uint8_t *buf, size_t len, struct stream_frame *out);

/*
 * Encodes f into buf (cap bytes). Returns the length written, or
 * STREAM_ENOSPACE, or STREAM_EINVAL for a frame that may not be sent.
 */
int stream_frame_encode(uint8_t *buf, size_t cap, const struct stream_frame *f);

/*
 * Decodes the frame of packet pkt at *off (0: the first, after the packet
 * number) and moves *off past it. Returns 1 for a frame, 0 at the end, or
 * a negative result. For walking a packet stream_packet_check accepted.
 */
int stream_packet_frame(const uint8_t *pkt, size_t len, size_t *off, struct stream_frame *out);

/*
 * Checks a whole packet: its number (*pn) and every frame, to the last
 * byte. Returns the number of frames (>= 1), or a negative result.
 */
int stream_packet_check(const uint8_t *pkt, size_t len, uint64_t *pn);

#endif
