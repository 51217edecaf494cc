/* x25519.h - the X25519 Diffie-Hellman function of RFC 7748, constant time. */
#ifndef P2PCHAT_X25519_H
#define P2PCHAT_X25519_H

#include <stdint.h>

#define X25519_LEN 32  /* RFC 7748 section 5: scalars, u-coordinates and shared secrets */

/*
 * X25519(scalar, point) (RFC 7748 section 5): clamps a copy of the scalar,
 * runs the Montgomery ladder over a fixed 255 steps with constant-time swaps,
 * and writes the u-coordinate to out. Returns 0, or -1 when the result is all
 * zero (a low-order point, section 6.1), which the caller must refuse; out
 * then holds the zeros. out may not overlap the inputs.
 */
int x25519(uint8_t out[X25519_LEN], const uint8_t scalar[X25519_LEN],
	   const uint8_t point[X25519_LEN]);

/* The public key of a secret scalar: X25519(scalar, 9), section 6.1. */
void x25519_public(uint8_t pub[X25519_LEN], const uint8_t secret[X25519_LEN]);

#endif
