/* test_stun.c - unit tests for stun.c: RFC 5769's sample messages, every malformed case, sizes. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "stun.h"
#include "harness.h"

#define CANARY 0xa5

/* RFC 5769, section 2.1: a Binding request, an ICE connectivity check. */
static const uint8_t sample_request[] = {
	0x00, 0x01, 0x00, 0x58, /* Binding request, 88 bytes of attributes */
	0x21, 0x12, 0xa4, 0x42, /* magic cookie */
	0xb7, 0xe7, 0xa7, 0x01, /* transaction ID */
	0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae,
	0x80, 0x22, 0x00, 0x10, /* SOFTWARE, 16 bytes: "STUN test client" */
	0x53, 0x54, 0x55, 0x4e,
	0x20, 0x74, 0x65, 0x73,
	0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74,
	0x00, 0x24, 0x00, 0x04, /* PRIORITY (ICE, comprehension-required) */
	0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, /* ICE-CONTROLLED, a tie-breaker */
	0x93, 0x2f, 0xf9, 0xb1,
	0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, /* USERNAME, 9 bytes: "evtj:h6vY", padded with spaces */
	0x65, 0x76, 0x74, 0x6a,
	0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20,
	0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY, HMAC-SHA1 (we do not check it) */
	0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56,
	0x78, 0x1e, 0xf2, 0xb5,
	0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2,
	0x80, 0x28, 0x00, 0x04, /* FINGERPRINT */
	0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769, section 2.2: the success response for 192.0.2.1 port 32853. */
static const uint8_t sample_response4[] = {
	0x01, 0x01, 0x00, 0x3c, /* Binding success response, 60 bytes of attributes */
	0x21, 0x12, 0xa4, 0x42, /* magic cookie */
	0xb7, 0xe7, 0xa7, 0x01, /* transaction ID */
	0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae,
	0x80, 0x22, 0x00, 0x0b, /* SOFTWARE, 11 bytes: "test vector", padded with a space */
	0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, /* (byte 35: the padding space) */
	0x00, 0x20, 0x00, 0x08, /* XOR-MAPPED-ADDRESS (byte 36) */
	0x00, 0x01, 0xa1, 0x47, /* IPv4, port 32853 ^ 0x2112 */
	0xe1, 0x12, 0xa6, 0x43, /* 192.0.2.1 ^ cookie */
	0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY */
	0x2b, 0x91, 0xf5, 0x99,
	0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53,
	0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, /* FINGERPRINT */
	0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769, section 2.3: the same for 2001:db8:1234:5678:11:2233:4455:6677 port 32853. */
static const uint8_t sample_response6[] = {
	0x01, 0x01, 0x00, 0x48, /* Binding success response, 72 bytes of attributes */
	0x21, 0x12, 0xa4, 0x42, /* magic cookie */
	0xb7, 0xe7, 0xa7, 0x01, /* transaction ID */
	0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae,
	0x80, 0x22, 0x00, 0x0b, /* SOFTWARE, 11 bytes: "test vector", padded with a space */
	0x74, 0x65, 0x73, 0x74,
	0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, /* XOR-MAPPED-ADDRESS (byte 36) */
	0x00, 0x02, 0xa1, 0x47, /* IPv6, port 32853 ^ 0x2112 */
	0x01, 0x13, 0xa9, 0xfa, /* the address ^ (cookie, transaction ID) */
	0xa5, 0xd3, 0xf1, 0x79,
	0xbc, 0x25, 0xf4, 0xb5,
	0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, /* MESSAGE-INTEGRITY */
	0xa3, 0x82, 0x95, 0x4e,
	0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c,
	0x82, 0x92, 0xc2, 0x75,
	0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, /* FINGERPRINT */
	0xc8, 0xfb, 0x0b, 0x4c,
};

#define SAMPLE_XOR_ATTR 36 /* where XOR-MAPPED-ADDRESS starts in both sample responses */

/* The samples' transaction ID and mapped endpoints. */
static const uint8_t sample_txid[12] = { 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
					 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae };
static const struct proto_addr sample4 = { PROTO_AF_INET, 32853, { 192, 0, 2, 1 } };
static const struct proto_addr sample6 = {
	PROTO_AF_INET6, 32853,
	{ 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
	  0x77 }
};

static uint8_t out[512];

/* Answers req from `from` into out, which starts filled with CANARY. */
static int answer(const uint8_t *req, size_t len, const struct proto_addr *from)
{
	memset(out, CANARY, sizeof(out));
	return stun_answer(req, len, from, out, sizeof(out));
}

/*
 * A reference CRC-32 for building test requests, table-driven unlike
 * stun.c's; checked against the samples' FINGERPRINTs in test_reference_crc.
 */
static uint32_t ref_crc32(const uint8_t *buf, size_t len)
{
	static uint32_t table[256];
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;

	if (table[1] == 0) {
		uint32_t n, k, c;

		for (n = 0; n < 256; n++) {
			for (c = n, k = 0; k < 8; k++)
				c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[n] = c;
		}
	}
	for (i = 0; i < len; i++)
		crc = table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
	return crc ^ 0xFFFFFFFFu;
}

/* A STUN message under construction. */
struct msg {
	uint8_t b[256];
	size_t len;
};

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void set32(uint8_t *p, uint32_t v)
{
	set16(p, (uint16_t)(v >> 16));
	set16(p + 2, (uint16_t)v);
}

/* Starts a message: type, no attributes yet, cookie, the samples' transaction ID. */
static void msg_start(struct msg *m, uint16_t type, uint32_t cookie)
{
	memset(m, 0, sizeof(*m));
	set16(m->b, type);
	set32(m->b + 4, cookie);
	memcpy(m->b + 8, sample_txid, sizeof(sample_txid));
	m->len = STUN_HEADER_LEN;
}

/* Appends an attribute, zero-padded, and counts it in the header. */
static void msg_attr(struct msg *m, uint16_t type, const void *value, uint16_t len)
{
	size_t padded = ((size_t)len + 3) & ~(size_t)3;

	ck_assert_uint_le(m->len + 4 + padded, sizeof(m->b));
	set16(m->b + m->len, type);
	set16(m->b + m->len + 2, len);
	memcpy(m->b + m->len + 4, value, len);
	m->len += 4 + padded;
	set16(m->b + 2, (uint16_t)(m->len - STUN_HEADER_LEN));
}

/* Appends a correct FINGERPRINT. */
static void msg_fingerprint(struct msg *m)
{
	size_t at = m->len;

	set16(m->b + 2, (uint16_t)(at + 8 - STUN_HEADER_LEN));
	set16(m->b + at, 0x8028);
	set16(m->b + at + 2, 4);
	set32(m->b + at + 4, ref_crc32(m->b, at) ^ 0x5354554eu);
	m->len = at + 8;
}

/* Checks that out[0..n) is a Binding success response to the samples' transaction. */
static void check_success_header(int n, uint16_t body)
{
	static const uint8_t cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };

	ck_assert_int_eq(n, STUN_HEADER_LEN + body);
	ck_assert_uint_eq(bytes_get16(out), 0x0101);
	ck_assert_uint_eq(bytes_get16(out + 2), body);
	ck_assert_mem_eq(out + 4, cookie, 4);
	ck_assert_mem_eq(out + 8, sample_txid, 12);
	ck_assert_uint_eq(out[n], CANARY); /* nothing written past the answer */
}

/* Our answers must pass our own checks: as responses, they are valid but not answered. */
static void check_valid_response(int n)
{
	uint8_t copy[sizeof(out)];

	memcpy(copy, out, (size_t)n);
	ck_assert_int_eq(stun_answer(copy, (size_t)n, &sample4, out, sizeof(out)),
			 STUN_ENOTREQUEST);
}

START_TEST(test_reference_crc)
{
	/* The reference CRC reproduces the FINGERPRINT of all three samples. */
	ck_assert_uint_eq(ref_crc32(sample_request, sizeof(sample_request) - 8) ^ 0x5354554eu,
			  0xe57a3bcfu);
	ck_assert_uint_eq(ref_crc32(sample_response4, sizeof(sample_response4) - 8) ^ 0x5354554eu,
			  0xc07d4c96u);
	ck_assert_uint_eq(ref_crc32(sample_response6, sizeof(sample_response6) - 8) ^ 0x5354554eu,
			  0xc8fb0b4cu);
}
END_TEST

START_TEST(test_sample_request_ipv4)
{
	int n = answer(sample_request, sizeof(sample_request), &sample4);

	/* Its MESSAGE-INTEGRITY ignored, its FINGERPRINT checked and echoed. */
	check_success_header(n, 12 + 8);
	ck_assert_mem_eq(out + 20, sample_response4 + SAMPLE_XOR_ATTR, 12);
	ck_assert_uint_eq(bytes_get16(out + 32), 0x8028);
	ck_assert_uint_eq(bytes_get16(out + 34), 4);
	ck_assert_uint_eq(ref_crc32(out, 32) ^ 0x5354554eu,
			  (uint32_t)bytes_get16(out + 36) << 16 | bytes_get16(out + 38));
	check_valid_response(n);
}
END_TEST

START_TEST(test_sample_request_ipv6)
{
	int n = answer(sample_request, sizeof(sample_request), &sample6);

	check_success_header(n, 24 + 8);
	ck_assert_mem_eq(out + 20, sample_response6 + SAMPLE_XOR_ATTR, 24);
	ck_assert_uint_eq(bytes_get16(out + 44), 0x8028);
	ck_assert_uint_eq(ref_crc32(out, 44) ^ 0x5354554eu,
			  (uint32_t)bytes_get16(out + 48) << 16 | bytes_get16(out + 50));
	check_valid_response(n);
}
END_TEST

START_TEST(test_sample_responses)
{
	uint8_t copy[sizeof(sample_response4)];

	/*
	 * Both pass every check, FINGERPRINT included, and are not answered:
	 * stun.c computes their FINGERPRINT as given.
	 */
	ck_assert_int_eq(answer(sample_response4, sizeof(sample_response4), &sample4),
			 STUN_ENOTREQUEST);
	ck_assert_int_eq(answer(sample_response6, sizeof(sample_response6), &sample4),
			 STUN_ENOTREQUEST);
	ck_assert_uint_eq(out[0], CANARY);

	/* The padding space is covered by the CRC: zeroed, it breaks the FINGERPRINT. */
	memcpy(copy, sample_response4, sizeof(copy));
	ck_assert_uint_eq(copy[35], ' ');
	copy[35] = 0;
	ck_assert_int_eq(answer(copy, sizeof(copy), &sample4), STUN_EFINGERPRINT);
}
END_TEST

START_TEST(test_wrong_fingerprint)
{
	/*
	 * The sample's layout bytes, skipped: the lengths (another error) and
	 * FINGERPRINT's type (changed, it is no FINGERPRINT but an unknown
	 * comprehension-optional attribute, and the request is answered).
	 */
	static const size_t layout[] = { 2, 3, 22, 23, 42, 43, 50, 51, 62, 63, 78, 79, 100, 101,
					 102, 103 };
	uint8_t copy[sizeof(sample_request)];
	size_t i, j;

	/* Any other byte changed, before the FINGERPRINT value or in it: silence. */
	for (i = 0; i < sizeof(copy); i++) {
		for (j = 0; j < sizeof(layout) / sizeof(layout[0]) && layout[j] != i; j++)
			;
		if (j < sizeof(layout) / sizeof(layout[0]))
			continue;
		memcpy(copy, sample_request, sizeof(copy));
		copy[i] ^= 0x04;
		ck_assert_msg(answer(copy, sizeof(copy), &sample4) == STUN_EFINGERPRINT,
			      "byte %zu changed, still answered", i);
		ck_assert_uint_eq(out[0], CANARY);
	}
}
END_TEST

START_TEST(test_truncated)
{
	struct msg m;
	size_t i;

	/* Every truncation of the sample request, and of a bare one. */
	for (i = 0; i < sizeof(sample_request); i++)
		ck_assert_int_eq(answer(sample_request, i, &sample4), STUN_ESHORT);
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	for (i = 0; i < m.len; i++)
		ck_assert_int_eq(answer(m.b, i, &sample4), STUN_ESHORT);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), 32);
}
END_TEST

START_TEST(test_bad_header)
{
	struct msg m;
	uint8_t zero[4] = { 0 };
	int bits;

	/* The two leading bits must be 0. */
	for (bits = 1; bits < 4; bits++) {
		msg_start(&m, (uint16_t)(bits << 14 | 0x0001), STUN_MAGIC_COOKIE);
		ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_EHEADER);
	}
	/* A length that is not a multiple of 4, though the bytes are there. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x8123, zero, 4);
	set16(m.b + 2, 6);
	ck_assert_int_eq(answer(m.b, 26, &sample4), STUN_EHEADER);
	/* A length past the datagram. */
	set16(m.b + 2, 12);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_ESHORT);
	/* Bytes past the length: 4 of them, then a lone one. */
	set16(m.b + 2, 4);
	ck_assert_int_eq(answer(m.b, m.len + 4, &sample4), STUN_EHEADER);
	ck_assert_int_eq(answer(m.b, m.len + 1, &sample4), STUN_EHEADER);
	ck_assert_uint_eq(out[0], CANARY);
}
END_TEST

START_TEST(test_bad_attributes)
{
	static const uint8_t value[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct msg m;

	/* An attribute longer than what is left. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x8123, value, 8);
	set16(m.b + 22, 9);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_EATTR);
	/* Its padding missing: 5 bytes take 8. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x8123, value, 4);
	set16(m.b + 22, 5);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_EATTR);
	/* Something after a FINGERPRINT that is right for the length that counts it. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_fingerprint(&m);
	msg_attr(&m, 0x8123, value, 4);
	set32(m.b + 24, ref_crc32(m.b, 20) ^ 0x5354554eu);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_EATTR);
	/* A FINGERPRINT of the wrong size. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x8028, value, 8);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_EATTR);
	ck_assert_uint_eq(out[0], CANARY);
}
END_TEST

START_TEST(test_not_requests)
{
	/* Indication, success and error response: each class but request. */
	static const uint16_t types[] = { 0x0011, 0x0101, 0x0111 };
	/* Allocate (TURN), classic Shared Secret, and methods with high bits set. */
	static const uint16_t methods[] = { 0x0003, 0x0002, 0x0201, 0x2001, 0x0021 };
	struct msg m;
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		msg_start(&m, types[i], STUN_MAGIC_COOKIE);
		ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_ENOTREQUEST);
		msg_fingerprint(&m);
		ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_ENOTREQUEST);
		/* Without the cookie too. */
		msg_start(&m, types[i], 0x01020304);
		ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_ENOTREQUEST);
	}
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		msg_start(&m, methods[i], STUN_MAGIC_COOKIE);
		ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_EMETHOD);
		/* An indication of another method is still an indication. */
		msg_start(&m, (uint16_t)(methods[i] | 0x0010), STUN_MAGIC_COOKIE);
		ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_ENOTREQUEST);
	}
	ck_assert_uint_eq(out[0], CANARY);
}
END_TEST

/*
 * Checks out[0..n) is a 420 to the samples' transaction listing
 * want[0..nwant) (zero-padded), FINGERPRINT after it if fp.
 */
static void check_420(int n, const uint16_t *want, size_t nwant, int fp)
{
	size_t list = ((2 * nwant) + 3) & ~(size_t)3;
	size_t body = 8 + 4 + list + (fp ? 8 : 0);
	size_t i;

	ck_assert_int_eq(n, (int)(STUN_HEADER_LEN + body));
	ck_assert_uint_eq(bytes_get16(out), 0x0111);
	ck_assert_uint_eq(bytes_get16(out + 2), body);
	ck_assert_mem_eq(out + 8, sample_txid, 12);
	ck_assert_uint_eq(out[n], CANARY);
	/* ERROR-CODE: class 4, number 20, no reason phrase */
	ck_assert_uint_eq(bytes_get16(out + 20), 0x0009);
	ck_assert_uint_eq(bytes_get16(out + 22), 4);
	ck_assert_uint_eq(bytes_get16(out + 24), 0);
	ck_assert_uint_eq(out[26], 4);
	ck_assert_uint_eq(out[27], 20);
	/* UNKNOWN-ATTRIBUTES */
	ck_assert_uint_eq(bytes_get16(out + 28), 0x000a);
	ck_assert_uint_eq(bytes_get16(out + 30), 2 * nwant);
	for (i = 0; i < nwant; i++)
		ck_assert_uint_eq(bytes_get16(out + 32 + 2 * i), want[i]);
	for (i = 2 * nwant; i < list; i++)
		ck_assert_uint_eq(out[32 + i], 0);
	if (fp)
		ck_assert_uint_eq(bytes_get16(out + 32 + list), 0x8028);
	check_valid_response(n);
}

START_TEST(test_unknown_required)
{
	static const uint8_t value[8] = { 0, 1, 0x0d, 0x96, 10, 0, 0, 1 };
	static const uint16_t one[] = { 0x0002 };
	static const uint16_t two[] = { 0x0002, 0x7fff };
	static const uint16_t many[] = { 0x4000, 0x4001, 0x4002, 0x4003,
					 0x4004, 0x4005, 0x4006, 0x4007 };
	struct msg m;
	uint16_t t;

	/* RFC 3489's RESPONSE-ADDRESS: we do not send answers elsewhere. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x0002, value, 8);
	check_420(answer(m.b, m.len, &sample4), one, 1, 0);
	/* Two, one of them twice, and a FINGERPRINT to echo. */
	msg_attr(&m, 0x7fff, value, 1);
	msg_attr(&m, 0x0002, value, 8);
	msg_fingerprint(&m);
	check_420(answer(m.b, m.len, &sample4), two, 2, 1);
	/* The list is bounded: the first eight are enough to tell the client. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	for (t = 0x4000; t < 0x4010; t++)
		msg_attr(&m, t, value, 0);
	check_420(answer(m.b, m.len, &sample4), many, 8, 0);
	/* An unknown one after MESSAGE-INTEGRITY is ignored (RFC 8489, section 9). */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x0008, value, 8);
	msg_attr(&m, 0x0002, value, 8);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), 32);
	/* But a malformed one is still malformed. */
	set16(m.b + 34, 12);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), STUN_EATTR);
}
END_TEST

START_TEST(test_unknown_optional)
{
	static const uint8_t value[5] = { 'h', 'e', 'l', 'l', 'o' };
	struct msg m;
	int n;

	/* Unknown comprehension-optional attributes, of odd length too: ignored. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x8123, value, 5);
	msg_attr(&m, 0xffff, value, 0);
	msg_attr(&m, 0x8022, value, 3); /* SOFTWARE */
	n = answer(m.b, m.len, &sample4);
	check_success_header(n, 12);
	ck_assert_mem_eq(out + 20, sample_response4 + SAMPLE_XOR_ATTR, 12);
}
END_TEST

START_TEST(test_change_request)
{
	static const uint8_t none[4] = { 0, 0, 0, 0 };
	static const uint8_t ip[4] = { 0, 0, 0, 4 };
	static const uint8_t port[4] = { 0, 0, 0, 2 };
	static const uint16_t change[] = { 0x0003 };
	struct msg m;

	/* Asking for no change, as the classic `stun` client does: answered. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x0003, none, 4);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), 32);
	/* Another IP, another port, or a bad size: we cannot, so 420. */
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x0003, ip, 4);
	check_420(answer(m.b, m.len, &sample4), change, 1, 0);
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x0003, port, 4);
	check_420(answer(m.b, m.len, &sample4), change, 1, 0);
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x0003, none, 2);
	check_420(answer(m.b, m.len, &sample4), change, 1, 0);
}
END_TEST

START_TEST(test_classic)
{
	/* An RFC 3489 request, as the `stun` client sends it: no cookie, CHANGE-REQUEST 0. */
	static const uint8_t req[] = {
		0x00, 0x01, 0x00, 0x08, /* Binding request, 8 bytes of attributes */
		0x01, 0xc6, 0xaa, 0x04, /* transaction ID, 16 bytes */
		0xd4, 0xf1, 0x2b, 0x53,
		0xc2, 0x98, 0xd4, 0x6d,
		0xae, 0x7c, 0xec, 0x66,
		0x00, 0x03, 0x00, 0x04, /* CHANGE-REQUEST: change nothing */
		0x00, 0x00, 0x00, 0x00,
	};
	int n = answer(req, sizeof(req), &sample4);

	/* MAPPED-ADDRESS in the clear, and the whole 16-byte ID back. */
	ck_assert_int_eq(n, 32);
	ck_assert_uint_eq(bytes_get16(out), 0x0101);
	ck_assert_uint_eq(bytes_get16(out + 2), 12);
	ck_assert_mem_eq(out + 4, req + 4, 16);
	ck_assert_uint_eq(bytes_get16(out + 20), 0x0001);
	ck_assert_uint_eq(bytes_get16(out + 22), 8);
	ck_assert_uint_eq(bytes_get16(out + 24), 0x0001);
	ck_assert_uint_eq(bytes_get16(out + 26), 32853);
	ck_assert_mem_eq(out + 28, sample4.ip, 4);
	ck_assert_uint_eq(out[32], CANARY);

	n = answer(req, sizeof(req), &sample6);
	ck_assert_int_eq(n, 44);
	ck_assert_uint_eq(bytes_get16(out + 22), 20);
	ck_assert_uint_eq(bytes_get16(out + 24), 0x0002);
	ck_assert_uint_eq(bytes_get16(out + 26), 32853);
	ck_assert_mem_eq(out + 28, sample6.ip, 16);
}
END_TEST

START_TEST(test_classic_420)
{
	static const uint8_t change_ip[4] = { 0, 0, 0, 4 };
	static const uint8_t value[4] = { 0 };
	/* The classic form of the list: an even count, the last type repeated (RFC 3489). */
	static const uint8_t odd[] = { 0x00, 0x0a, 0x00, 0x04, 0x00, 0x03, 0x00, 0x03 };
	static const uint8_t even[] = { 0x00, 0x0a, 0x00, 0x04, 0x00, 0x03, 0x00, 0x02 };
	struct msg m;
	int n;

	/* What the `stun` client sends for its test II: CHANGE-REQUEST, change IP. */
	msg_start(&m, 0x0001, 0x01020304);
	msg_attr(&m, 0x0003, change_ip, 4);
	n = answer(m.b, m.len, &sample4);
	ck_assert_int_eq(n, 36);
	ck_assert_uint_eq(bytes_get16(out), 0x0111);
	ck_assert_uint_eq(bytes_get16(out + 2), 16);
	ck_assert_mem_eq(out + 4, m.b + 4, 16);
	ck_assert_uint_eq(bytes_get16(out + 20), 0x0009);
	ck_assert_mem_eq(out + 28, odd, sizeof(odd));
	msg_attr(&m, 0x0002, value, 4);
	n = answer(m.b, m.len, &sample4);
	ck_assert_int_eq(n, 36);
	ck_assert_mem_eq(out + 28, even, sizeof(even));
	ck_assert_uint_eq(out[n], CANARY);
}
END_TEST

START_TEST(test_sizes_and_nospace)
{
	struct msg plain, fp;
	const struct proto_addr *from = _i < 2 ? &sample4 : &sample6;
	const struct msg *m = _i % 2 ? &fp : &plain;
	int want = (_i < 2 ? 32 : 44) + (_i % 2 ? 8 : 0);
	size_t cap;

	msg_start(&plain, 0x0001, STUN_MAGIC_COOKIE);
	fp = plain;
	msg_fingerprint(&fp);
	/* No larger than it needs to be: header, XOR-MAPPED-ADDRESS, FINGERPRINT if asked. */
	ck_assert_int_eq(answer(m->b, m->len, from), want);
	check_valid_response(want);
	/* Every capacity one short or less: nothing written. */
	for (cap = 0; cap < (size_t)want; cap++) {
		memset(out, CANARY, sizeof(out));
		ck_assert_int_eq(stun_answer(m->b, m->len, from, out, cap), STUN_ENOSPACE);
		ck_assert_uint_eq(out[0], CANARY);
	}
	ck_assert_int_eq(stun_answer(m->b, m->len, from, out, (size_t)want), want);
}
END_TEST

START_TEST(test_420_nospace)
{
	static const uint8_t value[4] = { 0 };
	struct msg m;
	size_t cap;

	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	msg_attr(&m, 0x0002, value, 4);
	ck_assert_int_eq(answer(m.b, m.len, &sample4), 36);
	for (cap = 0; cap < 36; cap++)
		ck_assert_int_eq(stun_answer(m.b, m.len, &sample4, out, cap), STUN_ENOSPACE);
}
END_TEST

START_TEST(test_bad_family)
{
	struct proto_addr none = sample4;
	struct msg m;

	none.family = 0;
	msg_start(&m, 0x0001, STUN_MAGIC_COOKIE);
	ck_assert_int_eq(answer(m.b, m.len, &none), STUN_EFAMILY);
	ck_assert_uint_eq(out[0], CANARY);
}
END_TEST

START_TEST(test_is_stun)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x14, 0x50, 0x80, 0xff };
	size_t i;

	for (i = 0; i < sizeof(bytes); i++)
		ck_assert_int_eq(stun_is_stun(&bytes[i], 1), bytes[i] < 4);
	ck_assert_int_eq(stun_is_stun(bytes, 0), 0);
	ck_assert_int_eq(stun_is_stun(sample_request, sizeof(sample_request)), 1);
}
END_TEST

START_TEST(test_strings)
{
	int i, j;

	/* Every result has its own text; others get a fallback. */
	for (i = 0; i > -STUN_NRESULTS; i--) {
		ck_assert_str_ne(stun_strerror(i), "");
		ck_assert_str_ne(stun_strerror(i), stun_strerror(-STUN_NRESULTS));
		for (j = 0; j > i; j--)
			ck_assert_str_ne(stun_strerror(i), stun_strerror(j));
	}
	ck_assert_str_eq(stun_strerror(-STUN_NRESULTS), stun_strerror(1));
}
END_TEST

static Suite *stun_suite(void)
{
	Suite *s = suite_create("stun");
	TCase *rfc = tcase_create("rfc5769");
	TCase *bad = tcase_create("silence");
	TCase *ans = tcase_create("answers");

	tcase_add_test(rfc, test_reference_crc);
	tcase_add_test(rfc, test_sample_request_ipv4);
	tcase_add_test(rfc, test_sample_request_ipv6);
	tcase_add_test(rfc, test_sample_responses);
	suite_add_tcase(s, rfc);

	tcase_add_test(bad, test_wrong_fingerprint);
	tcase_add_test(bad, test_truncated);
	tcase_add_test(bad, test_bad_header);
	tcase_add_test(bad, test_bad_attributes);
	tcase_add_test(bad, test_not_requests);
	tcase_add_test(bad, test_bad_family);
	suite_add_tcase(s, bad);

	tcase_add_test(ans, test_unknown_required);
	tcase_add_test(ans, test_unknown_optional);
	tcase_add_test(ans, test_change_request);
	tcase_add_test(ans, test_classic);
	tcase_add_test(ans, test_classic_420);
	tcase_add_loop_test(ans, test_sizes_and_nospace, 0, 4);
	tcase_add_test(ans, test_420_nospace);
	tcase_add_test(ans, test_is_stun);
	tcase_add_test(ans, test_strings);
	suite_add_tcase(s, ans);
	return s;
}

int main(void)
{
	return harness_run(stun_suite());
}
