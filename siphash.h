/* siphash.h - SipHash-2-4, a keyed hash that an attacker cannot steer into collisions. */
#ifndef P2PCHAT_SIPHASH_H
#define P2PCHAT_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_LEN 16

/*
 * Returns SipHash-2-4 (Aumasson & Bernstein, 2012) of data[0..len) under
 * the 16-byte key. Used for the name table, so that names chosen by an
 * attacker do not all land in one bucket, and for introduction nonces.
 */
uint64_t siphash24(const uint8_t key[SIPHASH_KEY_LEN], const void *data, size_t len);

#endif
