/* tests/fuzz/fuzz_crypto.c - libFuzzer differential harness: our ChaCha20-Poly1305, X25519, SHA-256 and HMAC against libsodium's, byte for byte. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chachapoly.h"
#include "fuzz.h"
#include "sha256.h"
#include "x25519.h"

/*
 * Input: the first byte picks the primitive (its value mod 4); the rest is
 * read in order as that primitive's inputs, zeros past the end:
 *
 *   0 AEAD    key (32), nonce (12), ad length (1, mod 65), ad, a bit to
 *             flip (2), then the message, the rest of the input
 *   1 X25519  scalar (32), point (32)
 *   2 SHA-256 where to split the stream (2), then the message
 *   3 HMAC    key length (1), key, where to split (2), then the message
 *
 * Checked: the same bytes from both; for the AEAD each opens the other's,
 * the message itself opened as a ciphertext gets the same verdict from both
 * (and the same plaintext, or zeros from ours), and the sealed message with
 * one bit flipped is refused by both. Every buffer is exactly its size, on
 * the heap, so a write past it is an AddressSanitizer report.
 */

/* A cursor over the input; reads past the end give zeros. */
struct cursor {
	const uint8_t *p;
	size_t left;
};

static void take(struct cursor *c, uint8_t *out, size_t n)
{
	size_t k = n < c->left ? n : c->left;

	memcpy(out, c->p, k);
	memset(out + k, 0, n - k);
	c->p += k;
	c->left -= k;
}

static size_t take16(struct cursor *c)
{
	uint8_t b[2];

	take(c, b, 2);
	return (size_t)b[0] << 8 | b[1];
}

/* An exact-size heap copy of what is left (at least one byte allocated, so never NULL). */
static uint8_t *rest(struct cursor *c, size_t *len)
{
	uint8_t *m = malloc(c->left + 1);

	FUZZ_CHECK(m != NULL);
	*len = c->left;
	take(c, m, c->left);
	return m;
}

static void aead(struct cursor *c)
{
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN], ad[64], ad_len_byte;
	size_t ad_len, flip, len, n;
	unsigned long long theirs_len, back_len;
	uint8_t *msg, *ours, *theirs, *back;
	long got;
	int rc;

	take(c, key, sizeof(key));
	take(c, nonce, sizeof(nonce));
	take(c, &ad_len_byte, 1);
	ad_len = ad_len_byte % (sizeof(ad) + 1);
	take(c, ad, ad_len);
	flip = take16(c);
	msg = rest(c, &len);
	n = len + CHACHAPOLY_TAG_LEN;
	ours = malloc(n);
	theirs = malloc(n);
	back = malloc(n);
	FUZZ_CHECK(ours != NULL && theirs != NULL && back != NULL);

	FUZZ_CHECK(chachapoly_seal(ours, msg, len, ad, ad_len, key, nonce) == n);
	crypto_aead_chacha20poly1305_ietf_encrypt(theirs, &theirs_len, msg, len, ad, ad_len, NULL,
						  nonce, key);
	FUZZ_CHECK(theirs_len == n && memcmp(ours, theirs, n) == 0);
	FUZZ_CHECK(chachapoly_open(back, theirs, n, ad, ad_len, key, nonce) == (long)len);
	FUZZ_CHECK(memcmp(back, msg, len) == 0);
	rc = crypto_aead_chacha20poly1305_ietf_decrypt(back, &back_len, NULL, ours, n, ad, ad_len,
						       nonce, key);
	FUZZ_CHECK(rc == 0 && back_len == len && memcmp(back, msg, len) == 0);

	/* The message taken as a ciphertext and tag: almost always forged; the same verdict. */
	memset(back, 0xaa, n);
	got = chachapoly_open(back, msg, len, ad, ad_len, key, nonce);
	rc = crypto_aead_chacha20poly1305_ietf_decrypt(theirs, &theirs_len, NULL, msg, len, ad,
						       ad_len, nonce, key);
	FUZZ_CHECK((got >= 0) == (rc == 0));
	if (got >= 0)
		FUZZ_CHECK((size_t)got == theirs_len && memcmp(back, theirs, theirs_len) == 0);
	else if (len > CHACHAPOLY_TAG_LEN)
		FUZZ_CHECK(sodium_is_zero(back, len - CHACHAPOLY_TAG_LEN));

	/* One bit of the ciphertext or tag flipped: refused by both. */
	flip %= n * 8;
	ours[flip / 8] ^= (uint8_t)(1u << (flip % 8));
	FUZZ_CHECK(chachapoly_open(back, ours, n, ad, ad_len, key, nonce) == -1);
	FUZZ_CHECK(sodium_is_zero(back, len));
	FUZZ_CHECK(crypto_aead_chacha20poly1305_ietf_decrypt(back, &back_len, NULL, ours, n, ad,
							     ad_len, nonce, key) == -1);
	free(msg);
	free(ours);
	free(theirs);
	free(back);
}

static void dh(struct cursor *c)
{
	uint8_t scalar[X25519_LEN], point[X25519_LEN], ours[X25519_LEN], theirs[X25519_LEN];
	int rc;

	take(c, scalar, sizeof(scalar));
	take(c, point, sizeof(point));
	rc = x25519(ours, scalar, point);
	FUZZ_CHECK(rc == crypto_scalarmult_curve25519(theirs, scalar, point));
	FUZZ_CHECK(rc == 0 ? memcmp(ours, theirs, X25519_LEN) == 0 : sodium_is_zero(ours, X25519_LEN));
	x25519_public(ours, scalar);
	FUZZ_CHECK(crypto_scalarmult_curve25519_base(theirs, scalar) == 0);
	FUZZ_CHECK(memcmp(ours, theirs, X25519_LEN) == 0);
}

static void hash(struct cursor *c)
{
	uint8_t ours[SHA256_LEN], streamed[SHA256_LEN], theirs[SHA256_LEN];
	struct sha256_ctx ctx;
	size_t split = take16(c), len;
	uint8_t *msg = rest(c, &len);

	split %= len + 1;
	sha256_hash(ours, msg, len);
	sha256_init(&ctx);
	sha256_update(&ctx, msg, split);
	sha256_update(&ctx, msg + split, len - split);
	sha256_final(&ctx, streamed);
	crypto_hash_sha256(theirs, msg, len);
	FUZZ_CHECK(memcmp(ours, theirs, SHA256_LEN) == 0);
	FUZZ_CHECK(memcmp(streamed, theirs, SHA256_LEN) == 0);
	free(msg);
}

static void hmac(struct cursor *c)
{
	uint8_t key[255], key_len, ours[SHA256_LEN], theirs[SHA256_LEN];
	crypto_auth_hmacsha256_state st;
	size_t split, len;
	uint8_t *msg;

	take(c, &key_len, 1);
	take(c, key, key_len);
	split = take16(c);
	msg = rest(c, &len);
	split %= len + 1;
	sha256_hmac(ours, key, key_len, msg, len);
	crypto_auth_hmacsha256_init(&st, key, key_len);
	crypto_auth_hmacsha256_update(&st, msg, split);
	crypto_auth_hmacsha256_update(&st, msg + split, len - split);
	crypto_auth_hmacsha256_final(&st, theirs);
	FUZZ_CHECK(memcmp(ours, theirs, SHA256_LEN) == 0);
	free(msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	struct cursor c = { data, size };
	uint8_t op;

	if (!ready) {
		FUZZ_CHECK(sodium_init() >= 0);
		ready = 1;
	}
	take(&c, &op, 1);
	switch (op % 4) {
	case 0:
		aead(&c);
		break;
	case 1:
		dh(&c);
		break;
	case 2:
		hash(&c);
		break;
	default:
		hmac(&c);
		break;
	}
	return 0;
}
