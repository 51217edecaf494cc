/* auth.c - client <-> server authentication: K from X25519 and HKDF, sealed requests and answers, replay windows (see auth.h). */
#include <string.h>

#include "auth.h"
#include "bytes.h"
#include "ct.h"
#include "sha256.h"

/* RFC 7748 section 6.1 for dh, then RFC 5869 sections 2.2 and 2.3 for K. */
int auth_derive(uint8_t k[AUTH_KEY_LEN], const uint8_t my_secret[X25519_LEN],
		const uint8_t their_pub[X25519_LEN], const uint8_t client_pub[X25519_LEN],
		const uint8_t server_pub[X25519_LEN])
{
	uint8_t dh[X25519_LEN], prk[SHA256_LEN], info[2 * X25519_LEN];
	int r = x25519(dh, my_secret, their_pub);

	/* Whether a key is refused is public: the peer learns it from our silence. */
	ct_declassify(&r, sizeof(r));
	if (r < 0) {
		memset(k, 0, AUTH_KEY_LEN);
		ct_wipe(dh, sizeof(dh));
		return -1;
	}
	memcpy(info, client_pub, X25519_LEN);
	memcpy(info + X25519_LEN, server_pub, X25519_LEN);
	sha256_hkdf_extract(prk, AUTH_LABEL, sizeof(AUTH_LABEL) - 1, dh, sizeof(dh));
	sha256_hkdf_expand(k, AUTH_KEY_LEN, prk, info, sizeof(info));
	ct_wipe(dh, sizeof(dh));
	ct_wipe(prk, sizeof(prk));
	return 0;
}

/* RFC 8439 section 2.8 leaves the nonce's layout to the protocol: auth.h draws ours. */
void auth_nonce(uint8_t nonce[CHACHAPOLY_NONCE_LEN], enum auth_dir dir, uint64_t counter)
{
	ct_put32le(nonce, 0);
	nonce[3] = (uint8_t)dir;
	ct_put64le(nonce + 4, counter);
}

uint64_t auth_counter(const uint8_t *buf, size_t body_off)
{
	return bytes_get64(buf + body_off - AUTH_COUNTER_LEN);
}

/* AEAD_CHACHA20_POLY1305 encryption (RFC 8439 section 2.8) of the body, in place. */
static size_t seal(uint8_t *buf, size_t len, size_t cap, size_t body_off,
		   const uint8_t k[AUTH_KEY_LEN], enum auth_dir dir)
{
	uint8_t nonce[CHACHAPOLY_NONCE_LEN];

	if (body_off < AUTH_COUNTER_LEN || body_off > len || cap < AUTH_TAG_LEN ||
	    len > cap - AUTH_TAG_LEN)
		return 0;
	auth_nonce(nonce, dir, auth_counter(buf, body_off));
	return body_off + chachapoly_seal(buf + body_off, buf + body_off, len - body_off, buf,
					  body_off, k, nonce);
}

/* AEAD_CHACHA20_POLY1305 decryption (RFC 8439 section 2.8); the tag first. */
static long open_sealed(uint8_t *out, const uint8_t *in, size_t len, size_t body_off,
			const uint8_t k[AUTH_KEY_LEN], enum auth_dir dir)
{
	uint8_t nonce[CHACHAPOLY_NONCE_LEN];
	long n;

	if (body_off < AUTH_COUNTER_LEN || body_off > len || len - body_off < AUTH_TAG_LEN)
		return -1;
	auth_nonce(nonce, dir, auth_counter(in, body_off));
	if (out != in)
		memmove(out, in, body_off);
	n = chachapoly_open(out + body_off, in + body_off, len - body_off, out, body_off, k,
			    nonce);
	/* The verdict is public: whether we act on the datagram shows it anyway. */
	ct_declassify(&n, sizeof(n));
	return n < 0 ? -1 : (long)body_off + n;
}

size_t auth_seal_request(uint8_t *buf, size_t len, size_t cap, size_t body_off,
			 const uint8_t k[AUTH_KEY_LEN])
{
	return seal(buf, len, cap, body_off, k, AUTH_REQUEST);
}

size_t auth_seal_answer(uint8_t *buf, size_t len, size_t cap, size_t body_off,
			const uint8_t k[AUTH_KEY_LEN])
{
	return seal(buf, len, cap, body_off, k, AUTH_ANSWER);
}

long auth_open_request(uint8_t *out, const uint8_t *in, size_t len, size_t body_off,
		       const uint8_t k[AUTH_KEY_LEN])
{
	return open_sealed(out, in, len, body_off, k, AUTH_REQUEST);
}

long auth_open_answer(uint8_t *out, const uint8_t *in, size_t len, size_t body_off,
		      const uint8_t k[AUTH_KEY_LEN])
{
	return open_sealed(out, in, len, body_off, k, AUTH_ANSWER);
}

/* The low `width` bits set (width 1..64). */
static uint64_t window_mask(unsigned width)
{
	return width >= 64 ? UINT64_MAX : ((uint64_t)1 << width) - 1;
}

/* RFC 4303 section 3.4.3: above the window fresh, below it refused, within it once. */
int auth_window_check(const struct auth_window *w, unsigned width, uint64_t counter)
{
	uint64_t behind;

	if (counter == 0)
		return 0;
	if (counter > w->top)
		return 1;
	behind = w->top - counter;
	if (behind >= width)
		return 0;
	return !((w->bits >> behind) & 1);
}

void auth_window_accept(struct auth_window *w, unsigned width, uint64_t counter)
{
	uint64_t shift;

	if (counter > w->top) {
		shift = counter - w->top;
		w->bits = shift >= width ? 0 : w->bits << shift;
		w->bits = (w->bits | 1) & window_mask(width);
		w->top = counter;
		return;
	}
	shift = w->top - counter;
	if (shift < width)
		w->bits |= (uint64_t)1 << shift;
}
