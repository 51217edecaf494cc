/* tests/sealer.h - a test client's side of protocol version 2: requests sealed with a key made from a few seed bytes, answers opened (auth.h). Header-only. */
#ifndef TESTS_SEALER_H
#define TESTS_SEALER_H

#include <stdint.h>
#include <string.h>

#include "auth.h"
#include "protocol.h"
#include "x25519.h"

#define SEALER_OWNERS 16
#define SEALER_SEED_LEN 8

/*
 * The clients one test program plays: each is a key made from 8 seed
 * bytes (the secret is them, 4 times), so a test can name its clients as
 * version 1 named them by their tokens. The server's key is learned from
 * its first COOKIE (first contact), or given.
 */
struct sealer {
	int has_server;
	uint8_t server_pub[X25519_LEN];
	uint64_t counter;  /* the last request's, for all owners: it only has to grow */
	int n;
	struct {
		uint8_t seed[SEALER_SEED_LEN];
		uint8_t secret[X25519_LEN], pub[X25519_LEN], k[AUTH_KEY_LEN];
		int has_k;
	} o[SEALER_OWNERS];
};

/* The server's key: the K of every owner follows it. */
static inline void sealer_server(struct sealer *s, const uint8_t pub[X25519_LEN])
{
	memcpy(s->server_pub, pub, X25519_LEN);
	s->has_server = 1;
	for (int i = 0; i < s->n; i++)
		s->o[i].has_k = 0;
}

/* The owner of seed (made on first use). Returns its index, or -1 when the table is full. */
static inline int sealer_owner(struct sealer *s, const uint8_t seed[SEALER_SEED_LEN])
{
	int i;

	for (i = 0; i < s->n; i++)
		if (memcmp(s->o[i].seed, seed, SEALER_SEED_LEN) == 0)
			return i;
	if (s->n == SEALER_OWNERS)
		return -1;
	memcpy(s->o[i].seed, seed, SEALER_SEED_LEN);
	for (int j = 0; j < X25519_LEN; j++)
		s->o[i].secret[j] = seed[j % SEALER_SEED_LEN];
	x25519_public(s->o[i].pub, s->o[i].secret);
	s->o[i].has_k = 0;
	s->n++;
	return i;
}

/* Owner i's K with the server (zeros before the server's key is known: nothing opens then). */
static inline const uint8_t *sealer_k(struct sealer *s, int i)
{
	if (!s->has_server) {
		memset(s->o[i].k, 0, AUTH_KEY_LEN);
		return s->o[i].k;
	}
	if (!s->o[i].has_k && auth_derive(s->o[i].k, s->o[i].secret, s->server_pub, s->o[i].pub,
					  s->server_pub) == 0)
		s->o[i].has_k = 1;
	return s->o[i].k;
}

/*
 * Encodes m into buf[0..cap): a type that is not sealed as it is; a
 * request as seed's owner sends it (its key in m->key, the next counter
 * unless m has one, sealed under its K). Returns the length, or a
 * negative proto_result.
 */
static inline int sealer_seal(struct sealer *s, struct proto_msg *m,
			      const uint8_t seed[SEALER_SEED_LEN], uint8_t *buf, size_t cap)
{
	size_t off;
	int i, n;

	if (!proto_is_sealed(m->type))
		return proto_encode(m, buf, cap);
	i = sealer_owner(s, seed != NULL ? seed : (const uint8_t[SEALER_SEED_LEN]){ 0 });
	if (i < 0)
		return PROTO_EINVAL;
	memcpy(m->key, s->o[i].pub, X25519_LEN);
	if (m->counter == 0)
		m->counter = ++s->counter;
	n = proto_encode_open(m, buf, cap, &off);
	if (n < 0)
		return n;
	return (int)auth_seal_request(buf, (size_t)n, cap, off, sealer_k(s, i));
}

/*
 * Decodes an answer from the server into *out: a sealed one opened under
 * the K of whichever owner it is for. A COOKIE's key is learned at first
 * contact. Returns the owner's index (sealed), -2 (not sealed), or -1
 * when it is none of ours.
 */
static inline int sealer_open(struct sealer *s, const uint8_t *buf, size_t len,
			      struct proto_msg *out)
{
	uint8_t open[PROTO_MAX_DATAGRAM];
	int off = proto_decode_prefix(buf, len, out);

	if (off < 0)
		return -1;
	if (off == 0) {
		if (proto_decode(buf, len, out) < 0)
			return -1;
		if (out->type == PROTO_COOKIE && !s->has_server)
			sealer_server(s, out->key);
		return -2;
	}
	if (len > sizeof(open))
		return -1;
	for (int i = 0; i < s->n; i++) {
		long n = auth_open_answer(open, buf, len, (size_t)off, sealer_k(s, i));

		if (n >= 0 && proto_decode(open, (size_t)n, out) == 0)
			return i;
	}
	return -1;
}

#endif
