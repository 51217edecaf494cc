/* tests/fuzz/fuzz_stun.c - libFuzzer harness for stun_answer: silence or a small, well-formed answer. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "bytes.h"
#include "stun.h"

/*
 * The longest answer stun_answer can give: a 420 listing 8 unknown
 * attributes with FINGERPRINT (20 + 8 + 4 + 16 + 8 = 56 bytes). Anything
 * sent to an unverified source must stay small, or a spoofed request aims
 * it at a victim (an amplification attack).
 */
#define STUN_ANSWER_BOUND 64

#define ATTR_MAPPED_ADDRESS 0x0001
#define ATTR_XOR_MAPPED_ADDRESS 0x0020

/*
 * Finds the mapped address in a success response and checks it is `from`:
 * XOR-MAPPED-ADDRESS (RFC 8489, section 14.2) when the request had the
 * magic cookie, else plain MAPPED-ADDRESS (RFC 3489).
 */
static void check_mapped(const uint8_t *req, const uint8_t *out, size_t len,
			 const struct proto_addr *from)
{
	int classic = memcmp(req + 4, "\x21\x12\xa4\x42", 4) != 0;
	uint16_t want = classic ? ATTR_MAPPED_ADDRESS : ATTR_XOR_MAPPED_ADDRESS;
	size_t off = STUN_HEADER_LEN, alen = from->family == PROTO_AF_INET6 ? 16 : 4, i;
	uint16_t port;

	while (len - off >= 4 && bytes_get16(out + off) != want) {
		size_t step = 4 + ((bytes_get16(out + off + 2) + 3u) & ~3u);

		FUZZ_CHECK(step <= len - off); /* every attribute inside the answer */
		off += step;
	}
	FUZZ_CHECK(len - off >= 8 + alen && bytes_get16(out + off + 2) == 4 + alen);
	off += 4;
	FUZZ_CHECK(out[off] == 0 && out[off + 1] == (alen == 16 ? 2 : 1));
	port = bytes_get16(out + off + 2);
	if (!classic)
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	FUZZ_CHECK(port == from->port);
	for (i = 0; i < alen; i++)
		FUZZ_CHECK((out[off + 4 + i] ^ (classic ? 0 : req[4 + i])) == from->ip[i]);
}

/* Answers the request from `from` and checks the answer, or the silence. */
static void check_answer(const uint8_t *req, size_t len, const struct proto_addr *from)
{
	uint8_t out[PROTO_MAX_DATAGRAM];
	uint8_t *tight;
	uint16_t type;
	int r;

	r = stun_answer(req, len, from, out, sizeof(out));
	if (r < 0) {
		FUZZ_CHECK(r > -STUN_NRESULTS && r != STUN_ENOSPACE);
		FUZZ_CHECK(strcmp(stun_strerror(r), "unknown STUN result") != 0);
		return;
	}
	FUZZ_CHECK(r >= STUN_HEADER_LEN && r <= STUN_ANSWER_BOUND && r % 4 == 0);
	/* Only a Binding request is answered. */
	FUZZ_CHECK(len >= STUN_HEADER_LEN && (req[0] & 0xC0) == 0);
	type = bytes_get16(req);
	FUZZ_CHECK((type & 0x0110) == 0 && (type & 0x3EEF) == 0x0001);
	/* A Binding success (0x0101) or error (0x0111) response, with the request's ID. */
	type = bytes_get16(out);
	FUZZ_CHECK(type == 0x0101 || type == 0x0111);
	FUZZ_CHECK(bytes_get16(out + 2) == (size_t)r - STUN_HEADER_LEN);
	FUZZ_CHECK(memcmp(out + 4, req + 4, 16) == 0);
	if (type == 0x0101)
		check_mapped(req, out, (size_t)r, from);
	/*
	 * Fed back in, the answer is well formed STUN, its FINGERPRINT (if
	 * any) right: it gets as far as "a response, not answered".
	 */
	FUZZ_CHECK(stun_answer(out, (size_t)r, from, NULL, 0) == STUN_ENOTREQUEST);

	/* One byte less room than it needs: refused, and nothing written past it. */
	tight = malloc((size_t)r - 1);
	FUZZ_CHECK(tight != NULL);
	FUZZ_CHECK(stun_answer(req, len, from, tight, (size_t)r - 1) == STUN_ENOSPACE);
	free(tight);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_addr v4, v6, none;

	/* STUN by its first byte, RFC 7983: 0..3; p2pchat's 0x50 never is. */
	FUZZ_CHECK(stun_is_stun(data, size) == (size > 0 && data[0] < 4));

	fuzz_addr4(&v4, 203, 0, 113, 9, 54321);
	fuzz_addr6(&v6, 0x42, 3478);
	check_answer(data, size, &v4);
	check_answer(data, size, &v6);
	/* A source of no family gets no answer. */
	memset(&none, 0, sizeof(none));
	FUZZ_CHECK(stun_answer(data, size, &none, NULL, 0) < 0);
	return 0;
}
