/* sha256.h - SHA-256 (FIPS 180-4) and what is built on it: HMAC-SHA256 (RFC 2104) and HKDF (RFC 5869). */
#ifndef P2PCHAT_SHA256_H
#define P2PCHAT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32        /* bytes in a digest, an HMAC tag, an HKDF pseudorandom key */
#define SHA256_BLOCK_LEN 64  /* bytes in one block of the compression function */
#define SHA256_HKDF_MAX_LEN (255 * SHA256_LEN) /* RFC 5869 section 2.3: L <= 255 HashLen */

/* A hash under way: feed it with sha256_update, any number of times, in any sizes. */
struct sha256_ctx {
	uint32_t state[8];
	uint64_t bytes;                     /* message bytes so far */
	uint8_t block[SHA256_BLOCK_LEN];    /* the part of a block not hashed yet */
	size_t fill;                        /* bytes in block */
};

/* Starts a hash (FIPS 180-4 section 5.3.3). */
void sha256_init(struct sha256_ctx *ctx);
/* Adds len bytes of message. */
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
/* Pads, writes the 32-byte digest to out and wipes ctx. */
void sha256_final(struct sha256_ctx *ctx, uint8_t out[SHA256_LEN]);
/* The digest of len bytes at data, in one call. */
void sha256_hash(uint8_t out[SHA256_LEN], const void *data, size_t len);

/*
 * 1 when the hashes here run on the x86 SHA extensions (sha256_x86.c), 0 when on the
 * portable C. The choice is made once, from the CPU, at the first use.
 */
int sha256_accelerated(void);
/*
 * For the tests and the benchmark only: portable != 0 makes every later hash use the
 * portable C; 0 goes back to what the CPU allows. Not thread-safe; call it between hashes.
 */
void sha256_use_portable(int portable);

/* HMAC-SHA256 (RFC 2104) of msg under key; any key length (longer than a block is hashed). */
void sha256_hmac(uint8_t out[SHA256_LEN], const void *key, size_t key_len,
		 const void *msg, size_t msg_len);

/* HKDF-Extract (RFC 5869 section 2.2): prk = HMAC(salt, ikm); an empty salt means 32 zeros. */
void sha256_hkdf_extract(uint8_t prk[SHA256_LEN], const void *salt, size_t salt_len,
			 const void *ikm, size_t ikm_len);
/*
 * HKDF-Expand (RFC 5869 section 2.3): out_len bytes of key material from prk and info.
 * Returns 0, or -1 (out untouched) when out_len is over SHA256_HKDF_MAX_LEN.
 */
int sha256_hkdf_expand(uint8_t *out, size_t out_len, const uint8_t prk[SHA256_LEN],
		       const void *info, size_t info_len);

#endif
