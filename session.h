/* session.h - peer sessions: the Noise IK handshake, per-direction transport keys, seal/open with a replay window, rekey timers; pure. */
#ifndef P2PCHAT_SESSION_H
#define P2PCHAT_SESSION_H

#include <stddef.h>
#include <stdint.h>

/*
 * The handshake is Noise_IK_25519_ChaChaPoly_SHA256 (the Noise Protocol
 * Framework, revision 34, section 7.5 pattern IK), the pattern WireGuard
 * uses:
 *
 *     IK:
 *       <- s
 *       ...
 *       -> e, es, s, ss      message 1 (initiator -> responder)
 *       <- e, ee, se         message 2 (responder -> initiator)
 *
 * The initiator already knows the responder's static key (from the
 * rendezvous server, pinned); the responder learns the initiator's from
 * message 1 and the caller compares it with its pin before answering.
 * Both ephemeral keys go into the transport keys, so a static key stolen
 * later opens no past conversation (forward secrecy, Noise section 7.7).
 *
 * The module is pure: no allocation, no I/O, no clock, no randomness. The
 * caller passes ephemeral secrets, indices, wall-clock timestamps and
 * monotonic times (milliseconds) in.
 *
 * The bodies below travel after the caller's cleartext header (p2pchat's
 * four bytes: magic, version, type, 0). Integers are big-endian, as in
 * protocol.h; only the AEAD nonce inside ChaCha20-Poly1305 is little-endian
 * (Noise section 12.3). {x} means x encrypted, followed by a 16-byte tag.
 *
 * Prologue (Noise section 6): both sides hash SESSION_PROLOGUE,
 * "p2pchat session v2", before anything else. A peer speaking protocol
 * version 1 has no handshake at all, and any other Noise IK peer (another
 * prologue or version) fails at the first tag of message 1: it can never
 * complete a handshake with us.
 *
 * HANDSHAKE INIT (message 1), initiator -> responder: 112 bytes
 *   0               1               2               3
 *   0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
 *  +---------------+---------------+---------------+---------------+
 *  |                                                               |
 *  +            ephemeral public key e (32 bytes, clear)           +
 *  |                                                               |
 *  +---------------+---------------+---------------+---------------+
 *  |                                                               |
 *  +      {initiator static public key} (32 + 16 tag = 48 bytes)   +
 *  |                                                               |
 *  +---------------+---------------+---------------+---------------+
 *  |                                                               |
 *  +   {timestamp (12, TAI64N) | sender index (4)} (16 + 16 tag)   +
 *  |                                                               |
 *  +---------------+---------------+---------------+---------------+
 * The timestamp is WireGuard's (paper section 5.4.2): the responder keeps the
 * greatest one accepted per initiator key and refuses one that does not
 * grow, so a replayed message 1 changes nothing. The sender index is the
 * initiator's choice: the responder puts it in every datagram it sends back.
 * Both ride in the encrypted payload, so no byte of message 1 is
 * unauthenticated.
 *
 * HANDSHAKE RESP (message 2), responder -> initiator: 56 bytes
 *  +---------------+---------------+---------------+---------------+
 *  |       receiver index (4, the initiator's sender index)        |
 *  +---------------+---------------+---------------+---------------+
 *  |                                                               |
 *  +            ephemeral public key e (32 bytes, clear)           +
 *  |                                                               |
 *  +---------------+---------------+---------------+---------------+
 *  |          {sender index (4, the responder's)} (4 + 16 tag)     |
 *  +---------------+---------------+---------------+---------------+
 * The receiver index finds the pending handshake without trying each
 * (WireGuard section 5.4); a wrong one finds none, or one whose keys do
 * not open the payload.
 *
 * SEALED (every transport datagram): 28 bytes + the plaintext
 *  +---------------+---------------+---------------+---------------+
 *  |         receiver index (4, the index the receiver chose)      |
 *  +---------------+---------------+---------------+---------------+
 *  |                       counter (8 bytes)                       |
 *  +                                                               +
 *  |                                                               |
 *  +---------------+---------------+---------------+---------------+
 *  |          {plaintext} (n bytes + 16 tag), AD = caller header   |
 *  +---------------+---------------+---------------+---------------+
 * The ChaCha20-Poly1305 nonce is 4 zero bytes and the counter
 * little-endian (Noise section 12.3, WireGuard section 5.4.6); the counter
 * and index are thus bound by the nonce and the key, and the caller's
 * header by the associated data. A counter is never used twice under one
 * key; the receiver takes each at most once (a 2048-bit sliding window,
 * RFC 6479's ring of words, checked after the tag).
 *
 * Why indices (WireGuard section 5.4): a datagram names the session it
 * belongs to, so the receiver finds its keys in one lookup, without trial
 * decryption and without trusting the source address (which may move, or
 * be forged). During a rekey one peer has up to three sessions (previous,
 * current, next); a second instance of a name gets its own index and
 * never touches the first one's keys.
 *
 * Simultaneous initiation: when both sides send message 1 at once, each
 * receives the other's while its own is pending. The side whose static
 * public key is the greater (memcmp order) stays initiator and refuses the
 * other's message 1 (SESSION_E_TIE), also one that arrives just after its
 * own handshake completed (it crossed ours: tie_until_ms); the
 * smaller side drops its own pending handshake and answers as responder.
 * Both end with one session.
 */

#define SESSION_KEY_LEN 32          /* X25519 keys (RFC 7748) and ChaCha20-Poly1305 keys */
#define SESSION_HASH_LEN 32         /* Noise HASHLEN for SHA-256 */
#define SESSION_TAG_LEN 16          /* Poly1305 tag */
#define SESSION_TIMESTAMP_LEN 12    /* TAI64N: 8 bytes of seconds, 4 of nanoseconds, big-endian */
#define SESSION_INDEX_LEN 4
#define SESSION_COUNTER_LEN 8
#define SESSION_INIT_LEN (SESSION_KEY_LEN + SESSION_KEY_LEN + SESSION_TAG_LEN + \
			  SESSION_TIMESTAMP_LEN + SESSION_INDEX_LEN + SESSION_TAG_LEN)   /* 112 */
#define SESSION_RESP_LEN (SESSION_INDEX_LEN + SESSION_KEY_LEN + SESSION_INDEX_LEN + \
			  SESSION_TAG_LEN)                                               /* 56 */
#define SESSION_SEALED_HEADER_LEN (SESSION_INDEX_LEN + SESSION_COUNTER_LEN)     /* 12 */
#define SESSION_SEALED_OVERHEAD (SESSION_SEALED_HEADER_LEN + SESSION_TAG_LEN)   /* 28 */

/* Noise section 8: the protocol name, exactly HASHLEN (32) bytes, so h starts as the name. */
#define SESSION_PROTOCOL_NAME "Noise_IK_25519_ChaChaPoly_SHA256"
/* Noise section 6: the prologue both sides hash first; it carries p2pchat's protocol version. */
#define SESSION_PROLOGUE "p2pchat session v2"

/*
 * Timers and limits, WireGuard paper section 6 (6.1 to 6.4), in
 * milliseconds or messages.
 */
/* Rekey after 2^60 messages under one key: far below the 2^64 nonces. */
#define SESSION_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
/* Never use a counter at or past this: 2^64 - 2^13 - 1 leaves the replay window room below 2^64. */
#define SESSION_REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13))
/* The initiator of a session starts a new handshake after 2 minutes, so keys live briefly. */
#define SESSION_REKEY_AFTER_TIME_MS 120000
/* After 3 minutes a session neither sends nor receives: forward secrecy has a bound in time. */
#define SESSION_REJECT_AFTER_TIME_MS 180000
/* Give up a handshake that has not completed after 90 s of retries (then wait for new traffic). */
#define SESSION_REKEY_ATTEMPT_TIME_MS 90000
/* Send message 1 again (with a fresh ephemeral key) when no message 2 came within 5 s. */
#define SESSION_REKEY_TIMEOUT_MS 5000
/* A keepalive is due after 10 s without sending when something was received. */
#define SESSION_KEEPALIVE_TIMEOUT_MS 10000
/*
 * Either side rekeys at 165 s (REJECT - KEEPALIVE - REKEY_TIMEOUT), the
 * paper's rule for an initiator that only receives: a new session is up
 * before the old one stops at 180 s. If both start then, the tie-break
 * keeps one handshake.
 */
#define SESSION_REKEY_LAST_RESORT_MS \
	(SESSION_REJECT_AFTER_TIME_MS - SESSION_KEEPALIVE_TIMEOUT_MS - SESSION_REKEY_TIMEOUT_MS)

/*
 * The replay window (RFC 6479): 2048 bits in 32 words; a counter up to 1983
 * behind the greatest is still taken, once; 1984 behind is too old.
 */
#define SESSION_REPLAY_WORDS 32
#define SESSION_REPLAY_BITS (SESSION_REPLAY_WORDS * 64)
#define SESSION_REPLAY_WINDOW (SESSION_REPLAY_BITS - 64)

/* Errors, all negative. None of them changes any state. */
enum session_err {
	SESSION_E_LEN = -1,      /* the message is not of its length, or out cannot hold the result */
	SESSION_E_AUTH = -2,     /* a tag did not verify, or a DH gave the all-zero (low-order) result */
	SESSION_E_REPLAY = -3,   /* a counter already taken or too old, or a timestamp that did not grow */
	SESSION_E_STATE = -4,    /* no such pending handshake or session (wrong index), or not valid */
	SESSION_E_EXPIRED = -5,  /* the session is past REJECT_AFTER_TIME or REJECT_AFTER_MESSAGES */
	SESSION_E_TIE = -6,      /* simultaneous initiation and our key is greater: we stay initiator */
	SESSION_E_KEY = -7,      /* message 1 came from another static key than the peer's */
};

/*
 * The Noise core: the HandshakeState, with its SymmetricState and
 * CipherState inside (Noise sections 5.1 to 5.3), for pattern IK alone.
 * Exported so that the published vectors (any prologue, any payload) can
 * drive it; p2pchat itself uses the session_initiate/accept/... calls.
 */
struct session_hs {
	uint8_t ck[SESSION_HASH_LEN];  /* chaining key */
	uint8_t h[SESSION_HASH_LEN];   /* handshake hash */
	uint8_t k[SESSION_KEY_LEN];    /* CipherState key; always set in IK once used */
	uint64_t n;                    /* CipherState nonce */
	uint8_t s[SESSION_KEY_LEN];    /* our static private key */
	uint8_t s_pub[SESSION_KEY_LEN];
	uint8_t e[SESSION_KEY_LEN];    /* our ephemeral private key */
	uint8_t rs[SESSION_KEY_LEN];   /* their static public key */
	uint8_t re[SESSION_KEY_LEN];   /* their ephemeral public key */
	uint8_t initiator;             /* 1 on the side that writes message 1 */
	uint8_t step;                  /* messages done: 0, 1 or 2 */
};

/*
 * Initialize (Noise section 5.3): InitializeSymmetric(protocol name),
 * MixHash(prologue), and the pre-message "<- s": MixHash of the responder's
 * static public key. s is our static private key and s_pub its public key
 * (x25519_public, computed once by the caller); rs the responder's public
 * key for an initiator, NULL for a responder. Copies the keys in.
 */
void session_hs_init(struct session_hs *hs, int initiator, const void *prologue,
		     size_t prologue_len, const uint8_t s[SESSION_KEY_LEN],
		     const uint8_t s_pub[SESSION_KEY_LEN], const uint8_t rs[SESSION_KEY_LEN]);
/*
 * Initiator: message 1 (-> e, es, s, ss, payload) with the ephemeral private
 * key e, written to out (cap bytes). Returns its length, 80 + payload_len + 16,
 * or SESSION_E_LEN (small out), SESSION_E_STATE (wrong step or role),
 * SESSION_E_AUTH (a DH gave zero: rs is a low-order point).
 */
long session_hs_write1(struct session_hs *hs, const uint8_t e[SESSION_KEY_LEN],
		       const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap);
/*
 * Responder: reads message 1, writes its payload to payload (cap bytes),
 * learns rs (hs->rs). Returns the payload length or a negative error; on
 * error hs is as it was and nothing is left in payload.
 */
long session_hs_read1(struct session_hs *hs, const uint8_t *msg, size_t len,
		      uint8_t *payload, size_t cap);
/* Responder: message 2 (<- e, ee, se, payload). Returns 48 + payload_len, or an error. */
long session_hs_write2(struct session_hs *hs, const uint8_t e[SESSION_KEY_LEN],
		       const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap);
/* Initiator: reads message 2 as session_hs_read1 reads message 1. */
long session_hs_read2(struct session_hs *hs, const uint8_t *msg, size_t len,
		      uint8_t *payload, size_t cap);
/*
 * Split (Noise section 5.2) after message 2: the initiator-to-responder key
 * and the responder-to-initiator key, each 32 bytes; send and recv are this
 * side's. Wipes hs. Returns 0, or SESSION_E_STATE before message 2.
 */
int session_hs_split(struct session_hs *hs, uint8_t send[SESSION_KEY_LEN],
		     uint8_t recv[SESSION_KEY_LEN]);

/* Our long-term identity: the X25519 key pair of this name (issue 11's key file). */
struct session_identity {
	uint8_t priv[SESSION_KEY_LEN];
	uint8_t pub[SESSION_KEY_LEN];
};

/* Fills id from a private key (clamped by X25519 when used) and computes its public key. */
void session_identity_init(struct session_identity *id, const uint8_t priv[SESSION_KEY_LEN]);

/*
 * TAI64N (WireGuard section 5.4.2, after djb's libtai): 2^62 + 10 + the
 * Unix seconds, then the nanoseconds, both big-endian, so that byte order is
 * time order. unix_ms is the wall clock in milliseconds since 1970; the
 * caller keeps it growing for one identity (never twice the same value:
 * take the last one plus 1 ms when the clock has not moved or went back).
 */
void session_tai64n(uint8_t out[SESSION_TIMESTAMP_LEN], uint64_t unix_ms);

/* The replay window of one receiving key (RFC 6479). */
struct session_replay {
	uint64_t greatest;                     /* the greatest counter taken (0 before any) */
	uint64_t bits[SESSION_REPLAY_WORDS];   /* bit c % 2048 set: counter c taken */
};

/* One set of transport keys (WireGuard's "keypair"): one handshake's result. */
struct session {
	uint8_t send_key[SESSION_KEY_LEN];
	uint8_t recv_key[SESSION_KEY_LEN];
	uint64_t send_counter;       /* the next counter to send; never reused */
	struct session_replay replay;
	uint32_t local_index;        /* ours: the index the peer puts in datagrams to us */
	uint32_t remote_index;       /* theirs: the index we put in datagrams to them */
	int64_t created_ms;          /* monotonic time of the handshake's completion */
	uint8_t initiator;           /* 1 when we sent message 1 of this session's handshake */
	uint8_t valid;               /* 0: empty (wiped) */
};

/* session_timers' answer: a set of these bits. */
enum session_due {
	SESSION_DUE_REKEY = 1,   /* start a new handshake: the keys are old or much used */
	SESSION_DUE_REJECT = 2,  /* neither send nor receive with it any more; wipe it */
};

/*
 * What the timers say about s at now_ms (monotonic): SESSION_DUE_REJECT at
 * REJECT_AFTER_TIME after its creation or when its send counter reached
 * REJECT_AFTER_MESSAGES; SESSION_DUE_REKEY when its initiator reaches
 * REKEY_AFTER_TIME, when either side reaches SESSION_REKEY_LAST_RESORT_MS,
 * or when the send counter reached REKEY_AFTER_MESSAGES. An empty session
 * is due for both.
 */
unsigned session_timers(const struct session *s, int64_t now_ms);

/*
 * Seals pt (pt_len bytes) into a SEALED body at out (cap bytes), under the
 * next counter, with the caller's cleartext header (ad, ad_len) as the
 * associated data. pt may be out + SESSION_SEALED_HEADER_LEN (in place);
 * no other overlap. Returns the length written, pt_len + 28, or
 * SESSION_E_LEN, SESSION_E_STATE (empty session), SESSION_E_EXPIRED.
 */
long session_seal(struct session *s, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
		  size_t pt_len, int64_t now_ms, uint8_t *out, size_t cap);
/*
 * Opens a SEALED body (in, in_len) into out (cap bytes): checks the index,
 * the tag over the caller's header (ad), then the replay window, and only
 * then takes the counter. Returns the plaintext length, or SESSION_E_LEN,
 * SESSION_E_STATE (another index), SESSION_E_AUTH, SESSION_E_REPLAY,
 * SESSION_E_EXPIRED; on any error nothing is left in out and s is unchanged.
 * out may be in + SESSION_SEALED_HEADER_LEN.
 */
long session_open(struct session *s, const uint8_t *ad, size_t ad_len, const uint8_t *in,
		  size_t in_len, int64_t now_ms, uint8_t *out, size_t cap);
/* Wipes s: keys, counters and all, to zero (ct_wipe). */
void session_wipe(struct session *s);

/*
 * The receiver index of a HANDSHAKE RESP or SEALED body (its first four
 * bytes), to find the peer it belongs to. Returns 0, or SESSION_E_LEN when
 * len is under 4.
 */
int session_index(const uint8_t *msg, size_t len, uint32_t *index);

/*
 * Everything about one remote identity: its pinned key, the greatest
 * timestamp it sent, our pending handshake, and up to three sessions.
 * The responder of a handshake keeps the new session as `next` and keeps
 * sending under `current` until the first datagram opens under `next`
 * (the initiator's confirmation, WireGuard paper section 5.4): the initiator
 * should send one at once, an empty one if it has nothing to say.
 */
struct session_peer {
	uint8_t remote_static[SESSION_KEY_LEN];      /* the peer's pinned public key */
	uint8_t last_timestamp[SESSION_TIMESTAMP_LEN]; /* greatest accepted in a message 1 */
	uint8_t tie_timestamp[SESSION_TIMESTAMP_LEN];  /* greatest in a message 1 that lost a tie-break */
	struct session_hs hs;      /* our pending handshake as initiator, when pending */
	uint32_t hs_index;         /* its sender index */
	int64_t hs_sent_ms;        /* when its message 1 was made */
	int64_t hs_first_ms;       /* when the first attempt of this round was made */
	uint8_t hs_pending;
	int64_t tie_until_ms;      /* our handshake just completed: a crossing message 1 is tied until then */
	struct session current, previous, next;
};

/* An empty peer for the static public key remote_static (copied). */
void session_peer_init(struct session_peer *p, const uint8_t remote_static[SESSION_KEY_LEN]);
/* Wipes every key and handshake of p (the pin stays: it is no secret). */
void session_peer_wipe(struct session_peer *p);

/*
 * Starts (or restarts) a handshake with p as initiator: writes message 1
 * (SESSION_INIT_LEN bytes) to out. e is a fresh ephemeral private key
 * (from the caller's random source), timestamp a TAI64N that grows
 * (session_tai64n), local_index a fresh index unique among the caller's
 * sessions and handshakes. A pending handshake is replaced. Returns
 * SESSION_INIT_LEN or an error (SESSION_E_LEN, SESSION_E_AUTH for a
 * low-order pinned key).
 */
long session_initiate(struct session_peer *p, const struct session_identity *id,
		      const uint8_t e[SESSION_KEY_LEN],
		      const uint8_t timestamp[SESSION_TIMESTAMP_LEN], uint32_t local_index,
		      int64_t now_ms, uint8_t *out, size_t cap);

/* A message 1 read but not yet answered: whom it is from. Wiped by session_accept. */
struct session_init {
	struct session_hs hs;
	uint8_t remote_static[SESSION_KEY_LEN];     /* the initiator's static public key */
	uint8_t timestamp[SESSION_TIMESTAMP_LEN];
	uint32_t remote_index;                      /* the initiator's sender index */
};

/*
 * Responder, first half: opens message 1 with our identity. Touches no
 * peer: the caller finds the peer whose pin is in->remote_static (or
 * refuses an unknown key), then calls session_accept. Returns 0, or
 * SESSION_E_LEN, SESSION_E_AUTH (not for us, another prologue, forged).
 */
int session_read_init(const struct session_identity *id, const uint8_t *msg, size_t len,
		      struct session_init *in);
/*
 * Responder, second half: answers in with message 2 (SESSION_RESP_LEN bytes
 * at out) and keeps the new session as p->next (an unconfirmed next before
 * it is wiped). Refuses, with p unchanged: SESSION_E_KEY when
 * in is from another key than p's pin, SESSION_E_REPLAY when its timestamp
 * is not greater than the last accepted from p, SESSION_E_TIE when we have
 * a pending handshake with p, or completed one as initiator just now
 * (before p->tie_until_ms), and our public key is the greater (only its
 * timestamp is kept, in p->tie_timestamp: once the tie is over, that
 * message 1 is refused as SESSION_E_REPLAY, as its sender dropped it). When ours
 * is the smaller, the pending handshake is dropped and we answer. e is a
 * fresh ephemeral private key, local_index a fresh index. Wipes in
 * whatever the result. Returns SESSION_RESP_LEN or an error.
 */
long session_accept(struct session_peer *p, const struct session_identity *id,
		    struct session_init *in, const uint8_t e[SESSION_KEY_LEN],
		    uint32_t local_index, int64_t now_ms, uint8_t *out, size_t cap);
/*
 * Initiator: reads message 2 for p's pending handshake (session_index gave
 * the receiver index that found p). On success the new session becomes
 * p->current (the old current becomes p->previous) and the handshake is
 * wiped, and so is an unconfirmed p->next: the newest handshake wins.
 * Returns 0, or SESSION_E_LEN, SESSION_E_STATE (nothing pending
 * under that index), SESSION_E_AUTH; then p is unchanged.
 */
int session_read_resp(struct session_peer *p, const uint8_t *msg, size_t len, int64_t now_ms);

/*
 * Seals under p->current (see session_seal). SESSION_E_STATE when p has
 * no current session that may send (the caller starts a handshake).
 */
long session_peer_seal(struct session_peer *p, const uint8_t *ad, size_t ad_len,
		       const uint8_t *pt, size_t pt_len, int64_t now_ms, uint8_t *out, size_t cap);
/*
 * Opens under whichever of p's sessions the receiver index names (see
 * session_open). The first datagram that opens under p->next confirms it:
 * it becomes current, the old current previous.
 */
long session_peer_open(struct session_peer *p, const uint8_t *ad, size_t ad_len,
		       const uint8_t *in, size_t in_len, int64_t now_ms, uint8_t *out, size_t cap);

/* session_peer_tick's answer: a set of these bits. */
enum session_todo {
	SESSION_TODO_INITIATE = 1,  /* call session_initiate and send message 1 */
	SESSION_TODO_GAVE_UP = 2,   /* the pending handshake was dropped after REKEY_ATTEMPT_TIME */
};

/*
 * The timers of p at now_ms: wipes sessions past SESSION_DUE_REJECT, drops
 * a handshake pending for REKEY_ATTEMPT_TIME (SESSION_TODO_GAVE_UP), and
 * asks for a message 1 (SESSION_TODO_INITIATE) when the pending one is
 * REKEY_TIMEOUT old, or when p->current is due for a rekey and nothing is
 * pending. A peer with no session at all is not asked for: the caller
 * initiates when it has something to send. Writes to *next_ms the time of
 * p's next timer (INT64_MAX when none).
 */
unsigned session_peer_tick(struct session_peer *p, int64_t now_ms, int64_t *next_ms);

#endif
