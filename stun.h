/* stun.h - answers RFC 8489 STUN Binding requests, so any STUN client can learn its public address from p2pchatd. */
#ifndef P2PCHAT_STUN_H
#define P2PCHAT_STUN_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

#define STUN_HEADER_LEN 20
#define STUN_MAGIC_COOKIE 0x2112A442u /* RFC 8489, section 5 */

/* Results of stun_answer below zero: why a message got no answer. */
enum stun_result {
	STUN_ESHORT = -1,     /* shorter than a header, or than its length field says */
	STUN_EHEADER = -2,    /* bad first bits; length not a multiple of 4 or not the datagram's */
	STUN_EATTR = -3,      /* an attribute runs past the end, or FINGERPRINT is not last */
	STUN_EFINGERPRINT = -4, /* FINGERPRINT present and wrong */
	STUN_ENOTREQUEST = -5, /* an indication or a response: never answered (RFC 8489, 6.3) */
	STUN_EMETHOD = -6,    /* a request for a method other than Binding */
	STUN_ENOSPACE = -7,   /* out is too small for the answer */
	STUN_EFAMILY = -8,    /* `from` is neither PROTO_AF_INET nor PROTO_AF_INET6 */
};
#define STUN_NRESULTS 9 /* counting 0 */

/*
 * Returns 1 when the datagram is STUN by its first byte (0..3, RFC 7983,
 * section 7), so p2pchat datagrams (first byte 0x50) and STUN share a port.
 */
int stun_is_stun(const uint8_t *buf, size_t len);

/*
 * Answers one STUN message req[0..len) that came from `from`: writes the
 * response (a Binding success response with XOR-MAPPED-ADDRESS, and
 * FINGERPRINT when the request had one; or a 420 error response listing
 * unknown comprehension-required attributes) into out[0..cap) and returns
 * its length. Returns a negative enum stun_result when the RFC asks for
 * silence; the caller counts it and drops the message. A request without
 * the magic cookie comes from an RFC 3489 client: it gets MAPPED-ADDRESS
 * instead, and its 16-byte transaction ID back (RFC 8489, section 12.2).
 */
int stun_answer(const uint8_t *req, size_t len, const struct proto_addr *from, uint8_t *out,
		size_t cap);

/* Returns a static English description of a stun_result (0 included). */
const char *stun_strerror(int result);

#endif
