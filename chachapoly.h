/* chachapoly.h - the ChaCha20-Poly1305 AEAD of RFC 8439 (96-bit nonce, 32-bit block counter) and its two parts. */
#ifndef P2PCHAT_CHACHAPOLY_H
#define P2PCHAT_CHACHAPOLY_H

#include <stddef.h>
#include <stdint.h>

#define CHACHAPOLY_KEY_LEN 32    /* RFC 8439 section 2.8: a 256-bit key */
#define CHACHAPOLY_NONCE_LEN 12  /* section 2.8: a 96-bit nonce, never reused under one key */
#define CHACHAPOLY_TAG_LEN 16    /* section 2.5: a 128-bit Poly1305 tag */
#define CHACHAPOLY_BLOCK_LEN 64  /* section 2.3: one ChaCha20 block */

/*
 * ChaCha20 (RFC 8439 section 2.4): out = in XOR the key stream that starts at
 * block `counter`. in and out may be the same buffer. len may be 0.
 */
void chachapoly_chacha20(uint8_t *out, const uint8_t *in, size_t len,
			 const uint8_t key[CHACHAPOLY_KEY_LEN], uint32_t counter,
			 const uint8_t nonce[CHACHAPOLY_NONCE_LEN]);

/* Poly1305 (RFC 8439 section 2.5): the 16-byte tag of msg under a one-time 32-byte key. */
void chachapoly_poly1305(uint8_t tag[CHACHAPOLY_TAG_LEN], const uint8_t *msg, size_t len,
			 const uint8_t key[32]);

/*
 * AEAD_CHACHA20_POLY1305 encryption (RFC 8439 section 2.8): writes the
 * ciphertext (pt_len bytes) and then the tag (CHACHAPOLY_TAG_LEN bytes) to out,
 * which holds pt_len + CHACHAPOLY_TAG_LEN bytes. out may equal pt.
 * Returns the bytes written.
 */
size_t chachapoly_seal(uint8_t *out, const uint8_t *pt, size_t pt_len,
		       const uint8_t *ad, size_t ad_len,
		       const uint8_t key[CHACHAPOLY_KEY_LEN],
		       const uint8_t nonce[CHACHAPOLY_NONCE_LEN]);

/*
 * AEAD_CHACHA20_POLY1305 decryption: in is ciphertext then tag (in_len bytes).
 * The tag is checked, in constant time, before any plaintext is written.
 * Returns the plaintext length (in_len - CHACHAPOLY_TAG_LEN) written to out,
 * or -1 when in is shorter than a tag or the tag does not match; then the
 * in_len - CHACHAPOLY_TAG_LEN bytes of out (when in_len > tag) are zeroed,
 * so nothing there can be mistaken for plaintext. out may equal in.
 */
long chachapoly_open(uint8_t *out, const uint8_t *in, size_t in_len,
		     const uint8_t *ad, size_t ad_len,
		     const uint8_t key[CHACHAPOLY_KEY_LEN],
		     const uint8_t nonce[CHACHAPOLY_NONCE_LEN]);

#endif
