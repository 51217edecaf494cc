/* protocol.h - the p2pchat wire format: every datagram drawn, encoded and decoded. */
#ifndef P2PCHAT_PROTOCOL_H
#define P2PCHAT_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Every p2pchat datagram starts with the same four bytes:
 *
 *   0               1               2               3
 *   0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 *  +---------------+---------------+---------------+---------------+
 *  |  magic 0x50   |    version    |     type      |  reserved 0   |
 *  +---------------+---------------+---------------+---------------+
 *
 * The magic byte 0x50 ('P') lies in 80..127, a range RFC 7983 leaves free:
 * STUN starts with 0..3, ZRTP 16..19, DTLS 20..63, TURN channels 64..79 and
 * RTP 128..191. So one UDP port can carry p2pchat and STUN side by side, and
 * a p2pchat datagram is never mistaken for STUN.
 *
 * All integers are big-endian. Fields below are drawn after the header.
 *
 * A name is a length byte and 1..32 bytes of A-Z a-z 0-9 . _ -
 *
 *  +---------------+---------------+-- ... --+
 *  |   length N    |  N name bytes (no NUL)  |
 *  +---------------+---------------+-- ... --+
 *
 * An endpoint is an IP address and a UDP port:
 *
 *  +---------------+---------------+---------------+-- ... --+
 *  | family 4 or 6 |          port (16)            | address |
 *  +---------------+---------------+---------------+-- ... --+
 *                    address: 4 bytes for family 4, 16 for family 6
 */

#define PROTO_MAGIC 0x50        /* 'P'; see the RFC 7983 note above */
#define PROTO_VERSION 2        /* 2: authenticated server answers, sealed peer sessions (issue 12) */
#define PROTO_HEADER_LEN 4
#define PROTO_MAX_DATAGRAM 1200 /* fits the IPv6 minimum MTU of 1280 with room for IP and UDP headers */
#define PROTO_NAME_MAX 32
#define PROTO_TOKEN_LEN 8       /* version 1's owner token; only identity_token derives one now */
#define PROTO_KEY_LEN 32        /* an X25519 public key (RFC 7748): a name's, the server's */
#define PROTO_COUNTER_LEN 8     /* a sealed datagram's counter (auth.h) */
#define PROTO_TAG_LEN 16        /* a sealed datagram's Poly1305 tag (RFC 8439 section 2.5; auth.h) */
#define PROTO_COOKIE_LEN 8      /* address cookie: proof that a client receives at its address */
#define PROTO_MAX_PRIVATE 4     /* private endpoints a client may report */
#define PROTO_FRAG_MAX 1024     /* text bytes in one DATA datagram */
#define PROTO_LINE_MAX 4096     /* text bytes in one chat line: at most 4 DATA fragments */
#define PROTO_WHO_MAX 32        /* names in one WHO_REPLY: 32 of 33 bytes keep it (1097) under 1200 */
/* STATS_REPLY's text: all a datagram holds after the header and the length (1194 bytes). */
#define PROTO_STATS_TEXT_MAX (PROTO_MAX_DATAGRAM - PROTO_HEADER_LEN - 2)
/* RELAY's bytes around its payload: header, two names of up to 32 bytes, counter, payload length, tag. */
#define PROTO_RELAY_OVERHEAD \
	(PROTO_HEADER_LEN + 2 * (1 + PROTO_NAME_MAX) + PROTO_COUNTER_LEN + 2 + PROTO_TAG_LEN)
/* The longest datagram a RELAY or RELAYED carries: 1104 bytes, so the largest sealed DATA (1072) fits. */
#define PROTO_PAYLOAD_MAX (PROTO_MAX_DATAGRAM - PROTO_RELAY_OVERHEAD)
/* The version refusal (proto_encode_version_refusal): version 1's ERROR, 8 bytes. */
#define PROTO_VERSION_REFUSAL_LEN 8

/* Message types. 1..15 and 27.. travel between a client and the server, 16..26 between peers. */
enum proto_type {
	PROTO_REGISTER = 1,   /* client -> server: claim a name, report private endpoints */
	PROTO_REGISTERED = 2, /* server -> client: the name is yours; here is your public endpoint */
	PROTO_REFRESH = 3,    /* client -> server: keep my registration (and my NAT mapping) alive */
	PROTO_LOOKUP = 4,     /* client -> server: introduce me to this name */
	PROTO_PEER = 5,       /* server -> both clients: the introduction */
	PROTO_ERROR = 6,      /* server -> client: a request was refused */
	PROTO_STATS = 7,      /* operator -> server, from loopback only: send me your counters */
	PROTO_STATS_REPLY = 8, /* server -> operator: the counters, as "key value" lines */
	PROTO_WHO = 9,        /* client -> server: list the names online, one page from a cursor */
	PROTO_WHO_REPLY = 10, /* server -> client: one page of names */
	PROTO_REPORT = 11,    /* client -> server: I reached a peer, by this kind of path */
	PROTO_RELAY = 12,     /* client -> server: pass this peer-to-peer datagram on to a name */
	PROTO_RELAYED = 13,   /* server -> client: a peer-to-peer datagram passed on from a name */
	PROTO_COOKIE = 14,    /* server -> client: prove your address: send that again with this cookie */
	PROTO_NOTICE = 15,    /* server -> client, not sealed: I do not know your name, register again */
	PROTO_PROBE = 16,     /* peer -> peer: hole punching probe, carrying the handshake's INIT */
	PROTO_PROBE_ACK = 17, /* peer -> peer: answer to a probe (the handshake's RESP), sent back where it came from */
	/* Inner types: they travel only inside a SEALED datagram, never as a datagram's type. */
	PROTO_DATA = 18,      /* inner: one fragment of a chat line */
	PROTO_ACK = 19,       /* inner: cumulative and selective acknowledgement */
	PROTO_PING = 20,      /* inner: keepalive, asks for a PONG */
	PROTO_PONG = 21,      /* inner: answer to a PING, echoes its stamp */
	PROTO_BYE = 22,       /* inner: I am leaving */
	PROTO_SEALED = 23,    /* peer -> peer: one inner message, sealed under the session's keys */
	PROTO_PATH_CHALLENGE = 24, /* inner: prove you receive at the address this went to */
	PROTO_PATH_RESPONSE = 25,  /* inner: the challenge's bytes, from the address it reached */
	PROTO_CONFIRM = 26,   /* inner: nothing; the first datagram of a session, so its responder takes it */
	PROTO_MAPPING = 27,   /* client -> server's alternate port: what source do you see? (RFC 5780, 4.3) */
	PROTO_MAPPED = 28,    /* server -> client, from that port: this one */
	PROTO_STREAM = 29,    /* inner: the epochs, then one packet of the stream layer (stream.h) */
};
#define PROTO_MAPPING_PAD 20    /* MAPPING's zero bytes: it is never shorter than its answer */
#define PROTO_STREAM_HEADER_LEN 9 /* STREAM's inner type and two epochs, before the stream packet */
#define PROTO_PATH_DATA_LEN 8   /* PATH_CHALLENGE's random bytes (RFC 9000, 19.17) */
#define PROTO_INIT_LEN 112      /* PROBE's body: session.h's HANDSHAKE INIT */
#define PROTO_RESP_LEN 56       /* PROBE_ACK's body: session.h's HANDSHAKE RESP */
#define PROTO_SEALED_MIN 29     /* SEALED's body: index (4), counter (8), inner type (1), tag (16) */
#define PROTO_SEALED_MAX (PROTO_PAYLOAD_MAX - PROTO_HEADER_LEN) /* a SEALED always fits a RELAY */

/*
 * Version 2 seals every message between a client and the server that
 * either acts on (auth.h: the key K each name shares with the server,
 * ChaCha20-Poly1305, a counter and a replay window):
 *
 * A request, client -> server
 *  +--------+------------------+---------------+------------------+----------+
 *  | header | cleartext prefix | counter (64)  | body (encrypted) | tag (16) |
 *  +--------+------------------+---------------+------------------+----------+
 * An answer, server -> client
 *  +--------+---------------+------------------+----------+
 *  | header | counter (64)  | body (encrypted) | tag (16) |
 *  +--------+---------------+------------------+----------+
 * The tag covers everything before the body too (associated data). Below,
 * each message's prefix and body are drawn in its open form: the bytes
 * proto_encode writes and proto_decode reads, with the body in clear and
 * no tag. auth.c seals that form (encrypts the body, appends the tag) and
 * opens a sealed one back into it; proto_decode_prefix reads the clear part
 * of a sealed datagram, so the server knows whose K opens it. Nobody acts
 * on a field of the body before it opens.
 *
 * REGISTER, client -> server (sealed; prefix: cookie, key, name)
 *  +-------------------------------+-------------------------------+
 *  |                      cookie (8 bytes)                         |
 *  +-------------------------------+-------------------------------+
 *  |              client's public key (32 bytes) ...               |
 *  +---------------+---------------+-------------------------------+
 *  | name ...      |                counter (64) ...               |
 *  +---------------+===============================================+
 *  |                      instance (64) ...          (sealed body)  |
 *  +===============+===============================================+
 *  | count (0..4)  |  count x private endpoint ...
 *  +---------------+
 * The instance is a random number the client program draws when it
 * starts, the same in every request it sends to every server: it tells
 * the server one running program from another with the same key. A
 * dual-stack client registers with the server in both families (-s
 * given once for each); the second REGISTER, from another family and
 * the same instance, adds that family's endpoint to the name (proven by
 * its own cookie round trip, as the first) instead of replacing it; the
 * same key with another instance is another program, and replaces.
 * The key is the name's identity key (identity.h): a name belongs to the
 * key that registered it while it lives; nothing else proves it, and
 * nothing secret travels. The server checks the cookie first (one hash),
 * and only then, for a key it does not hold yet, computes K (one X25519):
 * a forged source never costs it a public-key operation. A REGISTER that
 * does not open is dropped unanswered. The cookie is the last one the
 * server sent this client (COOKIE or REGISTERED), or zeros at first;
 * before it has the server's key a client seals under a zero K, which
 * no server opens: the missing cookie is answered first. 79 bytes at least.
 *
 * COOKIE, server -> client (not sealed)
 *  +-------------------------------+-------------------------------+
 *  |                      cookie (8 bytes)                         |
 *  +-------------------------------+-------------------------------+
 *  |              server's public key (32 bytes) ...               |
 *  +-------------------------------+-------------------------------+
 * The answer to a REGISTER or REFRESH whose cookie is not the one for its
 * source address: "send that again with this cookie". The cookie is a
 * keyed hash of the source address and the time (guard.h), so only a
 * client that really receives at that address can echo it. The key is
 * the server's: a client takes it only at first contact, when it has none
 * pinned for this server (ssh's accept-new), and else it must be the one
 * pinned. COOKIE (44 bytes) is smaller than the smallest REGISTER (79) or
 * REFRESH (78), so a forged source gets fewer bytes than it sent.
 *
 * REGISTERED, server -> client (sealed)
 *  +-------------------------------+===============================+
 *  |        counter (64) ...       |  ttl (seconds) | cookie ...   |
 *  +===============+===============+===============================+
 *  |  ... cookie (8 bytes)         | name ...      | public endpoint ...
 *  +-------------------------------+---------------+---------------+
 *  +-------------------------------+
 *  |   alternate port (16; 0 none) |
 *  +-------------------------------+
 * The public endpoint is the source address the server saw: the client's
 * NAT mapping (Ford, Srisuresh & Kegel, section 3.3). The cookie is a
 * fresh one for that address, for the next REFRESH. The alternate port is
 * where the server also answers MAPPING (p2pchatd --alt-port), on the
 * same address.
 *
 * REFRESH, client -> server (sealed)
 *  +-------------------------------+-------------------------------+
 *  |                      cookie (8 bytes)                         |
 *  +-------------------------------+-------------------------------+
 *  |              client's public key (32 bytes) ...               |
 *  +---------------+---------------+-------------------------------+
 *  | name ...      |                counter (64) ...               |
 *  +---------------+===============+===============================+
 *  |                      instance (64)              (sealed body)  |
 *  +===============================================================+
 * It carries the key as REGISTER does, so it is never shorter than the
 * COOKIE it may draw (no amplification), and a REFRESH with a key other
 * than the name's is answered "register again" (NOTICE) without a try.
 * The instance is REGISTER's: a REFRESH from another instance than the
 * name's comes from a program a newer one replaced (PROTO_E_REPLACED);
 * one from the name's instance in the family of its other endpoint keeps
 * (or moves) that endpoint, not the name's.
 *
 * LOOKUP, WHO, REPORT and RELAY are answered only when they come from the
 * address the name was registered (or last refreshed) at; from anywhere
 * else they get ERROR, PROTO_E_ADDRESS, and change nothing. Their prefix
 * is the requester's name, then the counter; the rest is sealed:
 *
 * LOOKUP, client -> server
 *  +---------------+---------------+-------------------------------+
 *  | name ... (the requester)      |      counter (64) ...         |
 *  +===============+===============+===============================+
 *  | target ... (the peer wanted)  |   (sealed body)
 *  +---------------+---------------+
 *
 * PEER, server -> requester and server -> target, sent together (sealed)
 *  +-------------------------------+===============+===============+
 *  |        counter (64) ...       | name ... (the other peer)     |
 *  +===============================+===============+===============+
 *  |          the other peer's public key (32 bytes) ...           |
 *  +===============================+===============================+
 *  | public endpoint ...           |  NAT kind     | port at alt (16) ...
 *  +===============================+===============+===============+
 *  | ...           |  count (0..4) | count x private endpoint ...
 *  +===============+===============+===============+===============+
 *  | other family endpoint ...: family 0 alone when none
 *  +===============+===============+
 * other family endpoint: where the server also saw the peer, proven the
 * same way, in the family its public endpoint is not (the same instance
 * registered in both: REGISTER); a dual-stack pair probes both at once,
 * and the first to answer carries the chat.
 * NAT kind: enum proto_nat, what the server learnt from the peer's
 * MAPPING; port at alt: the public port it saw that MAPPING come from (0
 * when none came). A NAT that hands out ports in sequence shows two near
 * ports, and the next ones it gives are near them too.
 * The key is the one the other peer registered with: the peer-to-peer
 * handshake (session.h) is made with it, and the client pins it per name
 * (trust.h). The private endpoints are the ones the peer reported, kept
 * only where they cannot aim probes at a third party (server.c).
 *
 * ERROR, server -> client (sealed)
 *  +-------------------------------+===============+===============+
 *  |        counter (64) ...       |     code      | request type  |
 *  +===============+===============+===============+===============+
 *  |    detail     | name ... (length 0..32)
 *  +===============+===============+
 * detail: for PROTO_E_NOT_ONLINE, PROTO_DETAIL_WAITING when the server
 * keeps the LOOKUP and will introduce both sides when the name comes
 * online; else 0. name: the name the refusal is about (may be empty).
 *
 * NOTICE, server -> client (not sealed)
 *  +---------------+---------------+---------------+---------------+
 *  |     code      | request type  |    detail     | name ... (length 0..32)
 *  +---------------+---------------+---------------+---------------+
 * What the server says when it has no K to seal with: PROTO_E_UNKNOWN, a
 * request from a name it does not hold (it restarted; the name expired),
 * or from another key than the name's. Anyone can forge it, so a client
 * does only the harmless thing it asks: register again, with backoff.
 *
 * The version refusal: to a datagram of another version, the server sends
 * version 1's ERROR, 8 bytes that every version reads the same way:
 *  +---------------+---------------+---------------+---------------+
 *  |  magic 0x50   |       1       |   6 (ERROR)   |       0       |
 *  +---------------+---------------+---------------+---------------+
 *  | 1 (E_VERSION) | request type  | server's vers.|  0 (no name)  |
 *  +---------------+---------------+---------------+---------------+
 * A version-1 client reads it as its own ERROR and says which version the
 * server speaks; a version-2 client, which cannot trust it (not sealed),
 * says once that the server speaks another version and keeps trying.
 *
 * MAPPING, client -> the server's alternate port (sealed; prefix: name)
 *  +---------------+---------------+-------------------------------+
 *  | name ... (the requester)      |      counter (64) ...         |
 *  +===============+===============+===============================+
 *  |              20 zero bytes        (sealed body)               |
 *  +===============================================================+
 * MAPPED, server -> client, from the alternate port (sealed)
 *  +-------------------------------+===============================+
 *  |        counter (64) ...       |  the source seen ...          |
 *  +-------------------------------+===============================+
 * Know your NAT (RFC 5780, 4.3: "determining NAT mapping behavior"): the
 * client sends MAPPING from its one socket to a second port of the server
 * and compares the source the server saw there with the public endpoint
 * of its REGISTERED. The same: its NAT keeps one mapping for every
 * destination (endpoint-independent, RFC 4787 4.1), and a peer's probes
 * can reach it. Another port: a new mapping per destination ("symmetric").
 * The server keeps the verdict for PEER. MAPPING is answered wherever it
 * came from (that is the point), so it must come with the name's seal
 * and a fresh counter, and its zero bytes keep it longer than MAPPED
 * (at most 47 bytes): no amplification. Only the alternate port answers it.
 *
 * STATS, operator -> server: the header alone, no body.
 * The server answers only a STATS from a loopback address (127.0.0.0/8,
 * ::1): its counters are for the operator of the machine it runs on. So
 * the answer, longer than the question, never goes to another host.
 *
 * STATS_REPLY, server -> operator (not sealed: it never leaves the machine)
 *  +-------------------------------+---------------+-- ... --+
 *  |      text length (16)         |  text (1..1194 bytes)   |
 *  +-------------------------------+---------------+-- ... --+
 * text: lines of "key value\n", only printable ASCII (0x20..0x7e) and
 * newlines, so it can go to a terminal as it is.
 *
 * WHO, client -> server
 *  +---------------+---------------+-------------------------------+
 *  | name ...      |                counter (64) ...               |
 *  +===============+===============+===============================+
 *  |                cursor (32)                    |  (sealed body)
 *  +===============================================+
 * cursor: where the page starts, 0 for the first; then the `next` of the
 * reply before. The server answers only when its operator allows it (else
 * ERROR, PROTO_E_WHO_OFF).
 *
 * WHO_REPLY, server -> client (sealed)
 *  +-------------------------------+===============================+
 *  |        counter (64) ...       |      total names (32)         |
 *  +===============================+===============================+
 *  |                cursor (32, the request's)                     |
 *  +===============================================================+
 *  |                next cursor (32; 0 = the last page)            |
 *  +===============+===============+===============================+
 *  | count (0..32) |  count x name ...
 *  +===============+===============+
 * The cursor is a position in the server's table, not a count of names:
 * a page may hold no name at all and still not be the last. The table
 * changes between pages, so a name that registers or expires meanwhile may
 * be missed or listed twice; a listing is a glance, not a snapshot.
 *
 * REPORT, client -> server
 *  +---------------+---------------+-------------------------------+
 *  | name ... (the reporter)       |      counter (64) ...         |
 *  +===============+===============+===============================+
 *  | target ... (the peer reached) |  path kind    |  (sealed body)
 *  +===============+===============+===============+
 * path kind: enum proto_path. The server counts these (punches that went
 * direct, and those that needed a relay) and answers nothing.
 *
 * RELAY, client -> server
 *  +---------------+---------------+-------------------------------+
 *  | name ... (the sender)         |      counter (64) ...         |
 *  +===============+===============+===============================+
 *  | target ... (the peer)         |     payload length (16)       |
 *  +===============+===============+===============================+
 *  |  payload (1..1104 bytes) ...  |  (sealed body)
 *  +===============================+
 * payload: one whole peer-to-peer datagram (PROBE, PROBE_ACK, SEALED),
 * header and all, as it would have gone straight to the peer. Where punching cannot work (a NAT whose
 * mapping depends on the destination, RFC 4787's "symmetric"), the server
 * passes it on (relaying: Ford, Srisuresh & Kegel, section 2.1; RFC 5128,
 * section 3.1). It relays only from a registered name, only to a live
 * name, only peer-to-peer datagrams (by their header), and no faster than
 * its per-sender rate. ERROR answers a RELAY it refuses: PROTO_E_NOT_ONLINE
 * (no such target), PROTO_E_RELAY_OFF (the operator turned the relay off).
 * Over the rate, it drops it unanswered.
 *
 * RELAYED, server -> client (sealed)
 *  +-------------------------------+===============+===============+
 *  |        counter (64) ...       | name ... (who sent it)        |
 *  +===============================+===============+===============+
 *  |     payload length (16)       |  payload (1..1104 bytes) ...  |
 *  +===============================+===============================+
 * The name is the RELAY's sender, whose K opened it; the payload is the
 * RELAY's, unchanged. The receiver handles it as if it came from the
 * peer, and answers through the relay.
 *
 * PROBE, peer -> peer: the header and a HANDSHAKE INIT (session.h), 116 bytes
 *  +---------------+---------------+---------------+---------------+
 *  |  INIT (112 bytes): ephemeral key, {static key}, {timestamp, index}
 *  +---------------+---------------+---------------+---------------+
 * PROBE_ACK, peer -> peer: the header and a HANDSHAKE RESP, 60 bytes
 *  +---------------+---------------+---------------+---------------+
 *  |  RESP (56 bytes): receiver index, ephemeral key, {index}      |
 *  +---------------+---------------+---------------+---------------+
 * The punch carries the handshake (Noise IK, session.h), so connecting
 * takes no round trip more than punching did: one INIT per attempt goes
 * to every endpoint of the peer, again and again, and the first RESP that
 * comes back names a working path and the session's keys at once. A PROBE
 * is larger than its answer, so a forged source gets fewer bytes back.
 *
 * SEALED, peer -> peer: everything else between peers, 4 + 28 + 1 + body
 *  +---------------+---------------+---------------+---------------+
 *  |               receiver index (32, the receiver's)             |
 *  +---------------+---------------+---------------+---------------+
 *  |                         counter (64)                          |
 *  +---------------+---------------+---------------+---------------+
 *  |  {inner type (8) | inner body ...} + 16-byte tag              |
 *  +---------------+---------------+---------------+---------------+
 * session.h's SEALED: ChaCha20-Poly1305 under the direction's key, the
 * counter as the nonce, the 4-byte header as associated data. Nothing in
 * it is believed before it opens; a counter is taken once (the replay
 * window). The inner bodies, after their type byte:
 *
 * DATA (inner, 18): the old channel's fragment of a line (chan.c, gone).
 * This version sends none, and drops one it receives: chat lines ride a
 * stream (STREAM, peer_lines.c). The layout stays for now.
 *  +-------------------------------+-------------------------------+
 *  |                   sender's epoch (32)                         |
 *  +-------------------------------+-------------------------------+
 *  |                   receiver's epoch (32)                       |
 *  +-------------------------------+-------------------------------+
 *  |                    sequence number (32)                       |
 *  +---------------+---------------+---------------+---------------+
 *  |     flags     |       text length (16)        |  text ...     |
 *  +---------------+---------------+---------------+---------------+
 * The epoch is a random number a peer picks when it starts a connection
 * to this peer (and again whenever it starts the channel afresh). The two
 * epochs together name one incarnation of the channel (now the stream
 * connection, STREAM). A DATA, ACK or STREAM whose two epochs are not the
 * current pair is a leftover of an earlier incarnation and is dropped.
 * flags: PROTO_DATA_END on the last fragment of a line, PROTO_DATA_ACTION
 * for a /me line. A line of up to 4096 bytes travels as up to 4 fragments
 * with consecutive sequence numbers.
 *
 * ACK (inner, 19)
 *  +-------------------------------+-------------------------------+
 *  |                   sender's epoch (32)                         |
 *  +-------------------------------+-------------------------------+
 *  |                   receiver's epoch (32)                       |
 *  +-------------------------------+-------------------------------+
 *  |        next expected sequence number (cumulative, 32)         |
 *  +-------------------------------+-------------------------------+
 *  |  selective bitmap (32): bit i set = (next expected + 1 + i) received
 *  +-------------------------------+-------------------------------+
 *
 * PING (inner, 20)
 *  +-------------------------------+-------------------------------+
 *  |                 stamp (32, echoed by PONG)                    |
 *  +-------------------------------+-------------------------------+
 *  |            sender's epoch (32), or 0 in a keepalive           |
 *  +-------------------------------+-------------------------------+
 * A PING that carries an epoch announces the sender's incarnation of the
 * channel (on connecting, and when it starts afresh): a new one starts
 * both directions afresh at the receiver (version 1's PROBE did this).
 * A keepalive carries 0 and changes no epoch, so that a late PING from
 * before a restart cannot undo it.
 *
 * PONG (inner, 21)
 *  +-------------------------------+-------------------------------+
 *  |                 stamp (32, the PING's)                        |
 *  +-------------------------------+-------------------------------+
 *
 * BYE (inner, 22)
 *  +-------------------------------+-------------------------------+
 *  |                   sender's epoch (32)                         |
 *  +-------------------------------+-------------------------------+
 * The epoch keeps a late BYE of an earlier connection from ending this one.
 *
 * CONFIRM (inner, 26): no body. The initiator of a handshake sends it
 * at once after the RESP (WireGuard's empty keepalive, paper 5.4.7): the
 * responder takes the new session into use when a datagram opens under
 * it. It asks for no answer, so a relayed handshake costs the relay no
 * datagram more.
 *
 * STREAM (inner, 27)
 *  +-------------------------------+-------------------------------+
 *  |                   sender's epoch (32)                         |
 *  +-------------------------------+-------------------------------+
 *  |                   receiver's epoch (32)                       |
 *  +-------------------------------+-------------------------------+
 *  |  one stream packet (stream.h: packet number, frames), to the  |
 *  |  end of the sealed body                                       |
 *  +-------------------------------+-------------------------------+
 * The epochs are DATA's: a stream connection belongs to one incarnation
 * of the channel, and a packet of another is dropped. Its body has no
 * fields the layout table knows: peer_session.c hands it, opened, to
 * peer_stream.c, and proto_inner_decode does not take it.
 *
 * PATH_CHALLENGE and PATH_RESPONSE (inner, 24 and 25)
 *  +-------------------------------+-------------------------------+
 *  |                      data (8 random bytes)                    |
 *  +-------------------------------+-------------------------------+
 * A path moves only on proof (RFC 9000, section 8.2): a sealed datagram
 * from a new address is read, but what goes back still goes to the old
 * path, and a PATH_CHALLENGE goes to the new address; the move happens
 * when the PATH_RESPONSE with the same bytes comes back from it.
 */

#define PROTO_DATA_END 0x01
#define PROTO_DATA_ACTION 0x02

/* The path a REPORT says a connection took. */
enum proto_path {
	PROTO_PATH_PRIVATE = 1, /* to an address the peer reported for itself: one LAN */
	PROTO_PATH_PUBLIC = 2,  /* to the peer's NAT mapping: a punched hole */
	PROTO_PATH_RELAY = 3,   /* through a relay: punching failed */
};

/* What a NAT does with one socket's datagrams to two destinations (RFC 4787, 4.1; PEER). */
enum proto_nat {
	PROTO_NAT_UNKNOWN = 0,   /* no MAPPING seen (no alternate port, or not asked yet) */
	PROTO_NAT_KEEPS = 1,     /* one public endpoint for every destination (or no NAT) */
	PROTO_NAT_SYMMETRIC = 2, /* a new public endpoint per destination */
};
#define PROTO_NAT_LAST PROTO_NAT_SYMMETRIC

/* Refusal codes carried by ERROR. */
enum proto_error_code {
	PROTO_E_VERSION = 1,    /* the datagram's version is not one the server speaks */
	PROTO_E_NAME_TAKEN = 2, /* the name is live and registered with another key */
	PROTO_E_TABLE_FULL = 3, /* the server holds as many names as it was sized for */
	PROTO_E_NOT_ONLINE = 4, /* LOOKUP: no live registration for that name */
	PROTO_E_UNKNOWN = 5,    /* (NOTICE) a request from a name the server does not know, or with another key: register again */
	PROTO_E_WHO_OFF = 6,    /* WHO: this server's operator does not let clients list names */
	PROTO_E_RELAY_OFF = 7,  /* RELAY: this server's operator turned the relay off (--no-relay) */
	PROTO_E_TOO_MANY_NAMES = 8, /* REGISTER: this address holds as many names as the server allows one */
	PROTO_E_ADDRESS = 9,    /* LOOKUP, WHO, REPORT or RELAY from an address other than the name's: refresh from here */
	PROTO_E_REPLACED = 10,  /* to an earlier instance of a name: a newer one (same key) registered it elsewhere */
};
#define PROTO_E_LAST PROTO_E_REPLACED

/*
 * ERROR's detail for PROTO_E_NOT_ONLINE: the server keeps the LOOKUP and
 * introduces both sides the moment the name registers (for
 * SERVER_WAIT_MS). 0: it does not (an older server): ask again.
 */
#define PROTO_DETAIL_WAITING 1

/* Decoder and encoder results: 0 or a length on success, one of these on failure. */
enum proto_result {
	PROTO_ESHORT = -1,    /* the datagram ends before a field does (a truncation) */
	PROTO_EMAGIC = -2,    /* the first byte is not PROTO_MAGIC */
	PROTO_EVERSION = -3,  /* a version this code does not speak (out->version says which) */
	PROTO_ETYPE = -4,     /* an unknown message type */
	PROTO_ERESERVED = -5, /* a reserved byte is not zero */
	PROTO_ENAME = -6,     /* a name of bad length or with a forbidden byte */
	PROTO_EFAMILY = -7,   /* an endpoint family other than 4 or 6 */
	PROTO_ECOUNT = -8,    /* too many endpoints */
	PROTO_ELENGTH = -9,   /* a text or payload length over its maximum, or an empty one */
	PROTO_ETRAILING = -10, /* bytes left over after the last field */
	PROTO_ENOSPACE = -11, /* encode: the buffer is too small */
	PROTO_EINVAL = -12,   /* encode: the message itself is not valid */
	PROTO_ETEXT = -13,    /* STATS_REPLY text with a byte other than printable ASCII or newline */
	PROTO_EVALUE = -14,   /* a field with a value its type does not have (a REPORT path kind) */
};
#define PROTO_NRESULTS 15 /* number of results above, counting 0; sizes per-result counters */

#define PROTO_AF_INET 4
#define PROTO_AF_INET6 6

/* An IP endpoint, independent of any socket API. */
struct proto_addr {
	uint8_t family; /* PROTO_AF_INET or PROTO_AF_INET6; 0 means "none" */
	uint16_t port;  /* host byte order */
	uint8_t ip[16]; /* network byte order; the first 4 bytes for IPv4 */
};

/*
 * One decoded message. Only the fields of its type are meaningful; the
 * decoder clears the rest. Strings are always NUL-terminated.
 */
struct proto_msg {
	uint8_t version;
	uint8_t type; /* enum proto_type */

	uint64_t counter;                       /* every sealed message (auth.h) */
	uint8_t key[PROTO_KEY_LEN];             /* REGISTER, REFRESH: the client's public key; COOKIE: the server's */
	uint8_t peer_key[PROTO_KEY_LEN];        /* PEER: the other peer's public key */
	uint8_t cookie[PROTO_COOKIE_LEN];       /* REGISTER, REFRESH, REGISTERED, COOKIE */
	char name[PROTO_NAME_MAX + 1];          /* the sender, or the peer (PEER), or the subject (REGISTERED, ERROR) */
	char target[PROTO_NAME_MAX + 1];        /* LOOKUP, REPORT, RELAY */
	uint16_t ttl_s;                         /* REGISTERED */
	uint16_t alt_port;                      /* REGISTERED: the server's alternate port, 0 none */
	uint8_t nat;                            /* PEER: enum proto_nat, the peer's */
	uint16_t nat_port;                      /* PEER: the peer's public port as the alternate port saw it, 0 none */
	struct proto_addr public_ep;            /* REGISTERED, PEER; MAPPED: the source seen */
	struct proto_addr other_ep;             /* PEER: the peer's endpoint in the other family; family 0 none */
	uint64_t instance;                      /* REGISTER, REFRESH: the client program's random number */
	uint8_t nprivate;                       /* REGISTER, PEER */
	struct proto_addr private_ep[PROTO_MAX_PRIVATE];
	uint8_t code, request, detail;          /* ERROR, NOTICE */
	uint32_t cursor;                        /* WHO; WHO_REPLY (echoed) */
	uint32_t next;                          /* WHO_REPLY: the next page's cursor, 0 after the last */
	uint32_t total;                         /* WHO_REPLY: names the server holds */
	uint8_t nnames;                         /* WHO_REPLY */
	char names[PROTO_WHO_MAX][PROTO_NAME_MAX + 1];
	uint8_t path;                           /* REPORT: enum proto_path */

	uint32_t epoch;                         /* DATA, ACK, PING, PONG, BYE: the sender's */
	uint32_t peer_epoch;                    /* DATA, ACK: the receiver's, as the sender knows it */
	uint32_t seq;                           /* DATA */
	uint8_t flags;                          /* DATA */
	uint16_t text_len;                      /* DATA, STATS_REPLY */
	char text[PROTO_STATS_TEXT_MAX + 1];    /* DATA (up to PROTO_FRAG_MAX), STATS_REPLY */
	uint32_t ack, sack;                     /* ACK */
	uint32_t stamp;                         /* PING, PONG */
	uint8_t path_data[PROTO_PATH_DATA_LEN]; /* PATH_CHALLENGE, PATH_RESPONSE */

	uint16_t payload_len;                   /* RELAY, RELAYED; PROBE, PROBE_ACK, SEALED */
	uint8_t payload[PROTO_PAYLOAD_MAX];     /* RELAY, RELAYED: a whole peer-to-peer datagram;
						   PROBE: INIT; PROBE_ACK: RESP; SEALED: its body */
};

/*
 * Decodes the datagram buf[0..len) into *out, which is cleared first: for
 * a sealed type, its open form (auth.c opened it). Returns 0, or a negative enum proto_result. On PROTO_EVERSION, out->version
 * and out->type hold what the datagram said, so the receiver can answer.
 * The whole datagram must be consumed: trailing bytes are an error.
 */
int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *out);

/*
 * Encodes *m (m->type picks the layout; m->version is ignored and
 * PROTO_VERSION written) into buf[0..cap): for a sealed type, its open
 * form, and only when its tag fits too (PROTO_TAG_LEN bytes more), so that
 * auth.c can seal it in place.
 * Returns the number of bytes written, or PROTO_ENOSPACE / PROTO_EINVAL.
 */
int proto_encode(const struct proto_msg *m, uint8_t *buf, size_t cap);

/*
 * proto_encode, and for a sealed type the offset where its body starts
 * into *body_off (0 for a type that is not sealed): where auth.c seals.
 */
int proto_encode_open(const struct proto_msg *m, uint8_t *buf, size_t cap, size_t *body_off);

/*
 * Reads the clear part of a sealed datagram (header, prefix, counter) into
 * *out, which is cleared first. Returns the offset where its sealed body
 * starts (at least PROTO_TAG_LEN bytes follow it), 0 for a type that is not
 * sealed (out then holds only the version and type), or a negative enum
 * proto_result (as proto_decode).
 */
int proto_decode_prefix(const uint8_t *buf, size_t len, struct proto_msg *out);

/* Returns 1 for the sealed types (REGISTER .. RELAYED but COOKIE, NOTICE, STATS, STATS_REPLY), else 0. */
int proto_is_sealed(int type);

/*
 * Writes the version refusal (above: version 1's ERROR, code
 * PROTO_E_VERSION, detail PROTO_VERSION) answering a request of type
 * `request` into buf[0..cap). Returns PROTO_VERSION_REFUSAL_LEN, or
 * PROTO_ENOSPACE.
 */
int proto_encode_version_refusal(uint8_t request, uint8_t *buf, size_t cap);

/*
 * Returns 1 when buf[0..len) is a version refusal of a version other than
 * ours, with the version its sender speaks in *version; else 0.
 */
int proto_version_refusal(const uint8_t *buf, size_t len, uint8_t *version);

/* Returns 1 when name is 1..32 bytes of A-Z a-z 0-9 . _ -, else 0. */
int proto_name_valid(const char *name);

/* Returns 1 when the two endpoints are the same family, address and port. */
int proto_addr_equal(const struct proto_addr *a, const struct proto_addr *b);

/* Returns 1 for the datagram types that travel between peers (PROBE, PROBE_ACK, SEALED), directly or relayed; else 0. */
int proto_is_peer_type(int type);

/*
 * The inner messages of a SEALED datagram (DATA, ACK, PING, PONG, BYE,
 * PATH_CHALLENGE, PATH_RESPONSE): the type byte, then the body drawn
 * above. proto_inner_encode writes *m into buf[0..cap) and returns the
 * length, or PROTO_ENOSPACE / PROTO_EINVAL (not an inner type, bad field).
 * proto_inner_decode reads buf[0..len) (an opened plaintext) into *out,
 * cleared first, and returns 0 or a negative enum proto_result; the whole
 * plaintext must be consumed.
 */
int proto_inner_encode(const struct proto_msg *m, uint8_t *buf, size_t cap);
int proto_inner_decode(const uint8_t *buf, size_t len, struct proto_msg *out);

/* Returns a static English description of a proto_result (0 included). */
const char *proto_strerror(int result);

/* Returns the static name of a message type ("REGISTER"), or "unknown". */
const char *proto_type_name(int type);

/* Returns the static English text of an ERROR code ("name is taken"). */
const char *proto_error_text(int code);

#endif
