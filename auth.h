/* auth.h - client <-> server authentication (protocol version 2): the key K, sealed requests and answers, the replay windows. Pure. */
#ifndef P2PCHAT_AUTH_H
#define P2PCHAT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "chachapoly.h"
#include "x25519.h"

/*
 * A client and the server share one key, K, per name: both compute it from
 * their own secret and the other's public key, nothing secret travels.
 *
 *   dh  = X25519(client secret, server public) = X25519(server secret, client public)
 *   prk = HKDF-Extract(salt = AUTH_LABEL, ikm = dh)                  RFC 5869, 2.2
 *   K   = HKDF-Expand(prk, info = client public || server public, 32) RFC 5869, 2.3
 *
 * The two public keys in info bind K to this client and this server (a
 * low-order key that makes dh a known value is refused outright, RFC 7748
 * section 6.1). The server computes dh once per key, at the REGISTER that
 * brings it, after the address cookie (protocol.h): a forged source costs
 * it one hash, never a public-key operation.
 *
 * A sealed datagram (protocol.h draws each):
 *
 *  +--------+-------------------+---------------+------------------+----------+
 *  | header | cleartext prefix  | counter (64)  | body (encrypted) | tag (16) |
 *  +--------+-------------------+---------------+------------------+----------+
 *  |<------------- associated data ------------>|
 *
 * sealed with AEAD_CHACHA20_POLY1305 (RFC 8439 section 2.8) under K, with
 * the 96-bit nonce
 *
 *   requests (client -> server): 00 00 00 00 || counter, 64 bits little-endian
 *   answers  (server -> client): 00 00 00 01 || counter, 64 bits little-endian
 *
 * (RFC 8439 section 2.8 lets the protocol pick the nonce's layout; a fixed
 * first word per direction keeps the two directions from ever sharing a
 * nonce under one K, as WireGuard's two keys do.) The counter is on the
 * wire big-endian, like every integer of protocol.h. The client's request
 * counter starts at the wall clock in microseconds (it grows across
 * restarts, as WireGuard's TAI64N timestamp does) and the server's answer
 * counter too, at its start; each grows by one per datagram.
 */
#define AUTH_KEY_LEN CHACHAPOLY_KEY_LEN  /* K */
#define AUTH_TAG_LEN CHACHAPOLY_TAG_LEN  /* bytes a seal adds at the end */
#define AUTH_COUNTER_LEN 8               /* the counter, just before the body */
#define AUTH_LABEL "p2pchat v2 client-server"

/* Which way a datagram goes: the first 32 bits of its nonce. */
enum auth_dir {
	AUTH_REQUEST = 0, /* client -> server */
	AUTH_ANSWER = 1,  /* server -> client */
};

/*
 * The replay windows (RFC 4303 section 3.4.3, the anti-replay window of
 * IPsec, in its bitmap form): the highest counter accepted and a bitmap of
 * the `width` counters at and below it (bit i: top - i was accepted). A
 * counter above top is fresh; one within the window is fresh once; one
 * below it is refused, as is 0 (never sent: counters start at the clock).
 * The server keeps one per name, AUTH_REQUEST_WINDOW wide (a client has
 * few requests in flight); the client one per server, AUTH_ANSWER_WINDOW
 * wide (the server's counter is global, so the answers to one client skip
 * many: a wider window lets reordered answers through).
 */
#define AUTH_REQUEST_WINDOW 32
#define AUTH_ANSWER_WINDOW 64
struct auth_window {
	uint64_t top;  /* 0: nothing accepted yet */
	uint64_t bits; /* only the low `width` bits are used */
};

/*
 * Derives K (above) into k from my_secret and their_pub; client_pub and
 * server_pub are the two public keys, in that order whichever side calls.
 * Returns 0, or -1 when their_pub is a low-order point (k is then zeros and
 * must not be used). The shared secret is wiped.
 */
int auth_derive(uint8_t k[AUTH_KEY_LEN], const uint8_t my_secret[X25519_LEN],
		const uint8_t their_pub[X25519_LEN], const uint8_t client_pub[X25519_LEN],
		const uint8_t server_pub[X25519_LEN]);

/* The 96-bit nonce of a datagram going `dir` with this counter (above). */
void auth_nonce(uint8_t nonce[CHACHAPOLY_NONCE_LEN], enum auth_dir dir, uint64_t counter);

/*
 * Seals, in place, the open form of a datagram (protocol.h, proto_encode):
 * buf[0..len) with its body in clear from body_off on; the counter is the 8
 * bytes before body_off. Encrypts the body and writes the tag after it.
 * Returns len + AUTH_TAG_LEN, or 0 (buf untouched) when body_off is under
 * AUTH_COUNTER_LEN or past len, or cap is under len + AUTH_TAG_LEN.
 */
size_t auth_seal_request(uint8_t *buf, size_t len, size_t cap, size_t body_off,
			 const uint8_t k[AUTH_KEY_LEN]);
size_t auth_seal_answer(uint8_t *buf, size_t len, size_t cap, size_t body_off,
			const uint8_t k[AUTH_KEY_LEN]);

/*
 * Opens a sealed datagram in[0..len) whose body starts at body_off
 * (proto_sealed_prefix says where) into out, its open form: len -
 * AUTH_TAG_LEN bytes (out may equal in; it holds len bytes). The tag is
 * checked in constant time before anything is written. Returns len -
 * AUTH_TAG_LEN, or -1 when the datagram does not open (a wrong key, a bit
 * changed anywhere, too short): then out holds nothing of the body.
 */
long auth_open_request(uint8_t *out, const uint8_t *in, size_t len, size_t body_off,
		       const uint8_t k[AUTH_KEY_LEN]);
long auth_open_answer(uint8_t *out, const uint8_t *in, size_t len, size_t body_off,
		      const uint8_t k[AUTH_KEY_LEN]);

/* The counter of a datagram: the 8 bytes before body_off, big-endian (body_off >= 8). */
uint64_t auth_counter(const uint8_t *buf, size_t body_off);

/* Returns 1 when counter is fresh for w (width bits wide, at most 64), else 0. Changes nothing. */
int auth_window_check(const struct auth_window *w, unsigned width, uint64_t counter);

/* Marks counter, which auth_window_check found fresh, as seen: the window slides up to it. */
void auth_window_accept(struct auth_window *w, unsigned width, uint64_t counter);

#endif
