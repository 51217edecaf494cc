/* stun.c - answers STUN Binding requests (RFC 8489, and RFC 3489's form): pure, no sockets. */
#include <string.h>

#include "bytes.h"
#include "stun.h"

/*
 * The header of every STUN message (RFC 8489, section 5), 20 bytes, big-endian:
 *
 *   byte 0      2        4              8                            20
 *        +------+--------+--------------+----------------------------+
 *        | type | length | magic cookie |  transaction ID, 12 bytes  |
 *        +------+--------+--------------+----------------------------+
 *
 * length counts the attributes after the header, so it is a multiple of 4.
 * The 14 bits of type interleave a 12-bit method (M) and a 2-bit class (C):
 *
 *   bit 15                              bit 0
 *        0 0 M M M M M C M M M C M M M M
 *
 * The two leading zero bits and the cookie tell STUN apart from other
 * protocols. An RFC 3489 client ("classic STUN") sends no cookie: its
 * transaction ID is the 16 bytes from byte 4.
 *
 * Attributes follow, each a TLV padded to a multiple of 4 bytes:
 *
 *        +------+--------+-------------------------------+---------+
 *        | type | length | value, `length` bytes         | padding |
 *        +------+--------+-------------------------------+---------+
 */

#define METHOD_BINDING 0x001

#define CLASS_MASK 0x0110       /* the two C bits */
#define CLASS_REQUEST 0x0000
#define CLASS_SUCCESS 0x0100
#define CLASS_ERROR 0x0110

/* Attribute types we know (RFC 8489, section 18.3, unless said otherwise). */
enum {
	ATTR_MAPPED_ADDRESS = 0x0001,
	ATTR_CHANGE_REQUEST = 0x0003, /* RFC 5780, section 7.2; RFC 3489 before it */
	ATTR_USERNAME = 0x0006,
	ATTR_MESSAGE_INTEGRITY = 0x0008,
	ATTR_ERROR_CODE = 0x0009,
	ATTR_UNKNOWN_ATTRIBUTES = 0x000A,
	ATTR_REALM = 0x0014,
	ATTR_NONCE = 0x0015,
	ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	ATTR_PASSWORD_ALGORITHM = 0x001D,
	ATTR_USERHASH = 0x001E,
	ATTR_XOR_MAPPED_ADDRESS = 0x0020,
	ATTR_PRIORITY = 0x0024,       /* ICE, RFC 8445, section 16.1 */
	ATTR_USE_CANDIDATE = 0x0025,  /* ICE, RFC 8445, section 16.1 */
	ATTR_FINGERPRINT = 0x8028,
};

/* Types from 0x8000 up are comprehension-optional: whoever does not know one ignores it. */
#define ATTR_OPTIONAL_MIN 0x8000

/* CHANGE-REQUEST's flags: answer from the other IP, from the other port. */
#define CHANGE_IP 0x4u
#define CHANGE_PORT 0x2u

/* FINGERPRINT is the CRC-32 of what precedes it, XORed with "STUN" (RFC 8489, section 14.7). */
#define FINGERPRINT_XOR 0x5354554eu

#define ERROR_UNKNOWN_ATTRIBUTE 420

/* Address families in MAPPED-ADDRESS and XOR-MAPPED-ADDRESS (RFC 8489, section 14.1). */
#define FAMILY_IPV4 0x01
#define FAMILY_IPV6 0x02

/*
 * How many unknown attribute types a 420 lists at most. A request carries
 * a handful; a bound keeps the answer small whatever the request holds.
 */
#define STUN_MAX_UNKNOWN 8

/* What parse() learnt about a request it accepted. */
struct request {
	uint16_t type;
	int classic;     /* no magic cookie: an RFC 3489 client */
	int fingerprint; /* it ended with a correct FINGERPRINT */
	size_t nunknown; /* comprehension-required attributes we do not understand */
	uint16_t unknown[STUN_MAX_UNKNOWN];
};

/* The method bits of a message type, squeezed together (see the diagram above). */
static uint16_t type_method(uint16_t type)
{
	return (uint16_t)((type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2);
}

/*
 * CRC-32 as in ISO 3309, Ethernet and zlib (RFC 8489 cites ITU-T V.42):
 * the reflected polynomial 0xEDB88320, started at all ones and inverted at
 * the end. One bit at a time: slow, but it runs on at most one datagram
 * per request and needs no table.
 */
static uint32_t crc32(const uint8_t *buf, size_t len)
{
	uint32_t crc = 0xFFFFFFFFu;
	size_t i;
	int bit;

	for (i = 0; i < len; i++) {
		crc ^= buf[i];
		for (bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* Rounds an attribute's value length up to its padded length on the wire. */
static size_t padded(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/*
 * Returns 1 when we can process a request carrying this comprehension-
 * required attribute. USERNAME, the integrity attributes and their kin
 * are known and ignored: each usage of STUN says whether it authenticates,
 * and a public server for ICE does not (RFC 8489, section 9), so we have
 * nothing to check them against and answer as we would without them.
 * Attributes only responses carry are known-but-unexpected, which section
 * 6.3 says to ignore too.
 */
static int understood(uint16_t type, const uint8_t *value, uint16_t len)
{
	switch (type) {
	case ATTR_CHANGE_REQUEST:
		/*
		 * A request to answer from another address or port (RFC 5780,
		 * section 7.2; RFC 3489): we have only the one, so we do not
		 * understand it (420). Asking for no change, it asks nothing we
		 * cannot do; the classic `stun` client always asks so.
		 */
		return len == 4 && (bytes_get32(value) & (CHANGE_IP | CHANGE_PORT)) == 0;
	case ATTR_MAPPED_ADDRESS:
	case ATTR_USERNAME:
	case ATTR_MESSAGE_INTEGRITY:
	case ATTR_ERROR_CODE:
	case ATTR_UNKNOWN_ATTRIBUTES:
	case ATTR_REALM:
	case ATTR_NONCE:
	case ATTR_MESSAGE_INTEGRITY_SHA256:
	case ATTR_PASSWORD_ALGORITHM:
	case ATTR_USERHASH:
	case ATTR_XOR_MAPPED_ADDRESS:
		return 1;
	case ATTR_PRIORITY:
	case ATTR_USE_CANDIDATE:
		/*
		 * An ICE connectivity check (RFC 8445, section 7.1.1) carries
		 * these; they mean nothing to a server, but the address we see
		 * is still the answer (RFC 5769's sample request is such a check).
		 */
		return 1;
	default:
		/*
		 * Not known, so not honoured: RFC 3489's RESPONSE-ADDRESS and
		 * RFC 5780's RESPONSE-PORT would have us send the answer to an
		 * address or port of the sender's choosing, which is how
		 * reflection attacks work; they get a 420 (RFC 8489, section 12).
		 */
		return type >= ATTR_OPTIONAL_MIN;
	}
}

/* Adds type to r's unknown list, once, if there is room; a 420 need not list them all. */
static void note_unknown(struct request *r, uint16_t type)
{
	size_t i;

	for (i = 0; i < r->nunknown; i++) {
		if (r->unknown[i] == type)
			return;
	}
	if (r->nunknown < STUN_MAX_UNKNOWN)
		r->unknown[r->nunknown++] = type;
}

/*
 * Checks one message msg[0..len) (RFC 8489, sections 5, 6.3 and 14) and
 * fills r. Returns 0, or a negative enum stun_result: the message is to be
 * silently discarded.
 */
static int parse(const uint8_t *msg, size_t len, struct request *r)
{
	size_t body, off;
	int integrity = 0;

	memset(r, 0, sizeof(*r));
	if (len < STUN_HEADER_LEN)
		return STUN_ESHORT;
	if ((msg[0] & 0xC0) != 0)
		return STUN_EHEADER;
	body = bytes_get16(msg + 2);
	if (body % 4 != 0)
		return STUN_EHEADER;
	if (len - STUN_HEADER_LEN < body)
		return STUN_ESHORT;
	/* One message per datagram: bytes past the length are not STUN's. */
	if (len - STUN_HEADER_LEN > body)
		return STUN_EHEADER;
	r->type = bytes_get16(msg);
	/* No cookie: RFC 3489's form, still answered (RFC 8489, section 12.2). */
	r->classic = bytes_get32(msg + 4) != STUN_MAGIC_COOKIE;

	off = STUN_HEADER_LEN;
	while (len - off > 0) {
		uint16_t type, alen;

		if (r->fingerprint)
			return STUN_EATTR; /* FINGERPRINT must be last (section 14.7) */
		if (len - off < 4)
			return STUN_EATTR;
		type = bytes_get16(msg + off);
		alen = bytes_get16(msg + off + 2);
		if (len - off - 4 < padded(alen))
			return STUN_EATTR;
		if (type == ATTR_FINGERPRINT) {
			/* The length field already counts FINGERPRINT, as the CRC wants. */
			if (alen != 4)
				return STUN_EATTR;
			if (bytes_get32(msg + off + 4) != (crc32(msg, off) ^ FINGERPRINT_XOR))
				return STUN_EFINGERPRINT;
			r->fingerprint = 1;
		} else if (integrity) {
			/* After an integrity check, all but FINGERPRINT is ignored (section 9) */
		} else {
			if (type == ATTR_MESSAGE_INTEGRITY || type == ATTR_MESSAGE_INTEGRITY_SHA256)
				integrity = 1;
			if (!understood(type, msg + off + 4, alen))
				note_unknown(r, type);
		}
		off += 4 + padded(alen);
	}
	return 0;
}

/*
 * Writes the response header into out: the request's class turned into
 * class_bits, the body length, then the cookie and transaction ID copied
 * (all 16 bytes, so a classic client gets its own ID back).
 */
static void put_header(uint8_t *out, const uint8_t *req, uint16_t class_bits, size_t body)
{
	bytes_put16(out, (uint16_t)(class_bits | METHOD_BINDING));
	bytes_put16(out + 2, (uint16_t)body);
	memcpy(out + 4, req + 4, 16);
}

/* Writes an attribute's type and length at p; returns where its value goes. */
static uint8_t *put_attr(uint8_t *p, uint16_t type, size_t len)
{
	bytes_put16(p, type);
	bytes_put16(p + 2, (uint16_t)len);
	return p + 4;
}

/* Appends FINGERPRINT at out[off], over out[0..off), whose header already counts it. */
static void put_fingerprint(uint8_t *out, size_t off)
{
	uint8_t *v = put_attr(out + off, ATTR_FINGERPRINT, 4);

	bytes_put32(v, crc32(out, off) ^ FINGERPRINT_XOR);
}

/*
 * The Binding success response: the source address, XORed with the cookie
 * and transaction ID in XOR-MAPPED-ADDRESS (RFC 8489, section 14.2), or
 * plain in MAPPED-ADDRESS for a classic client, which knows no other
 * (section 12.2). Nothing else: no SOFTWARE, since every byte we add to an
 * answer sent to an unverified source is a byte an attacker can aim at a
 * victim by spoofing its address.
 *
 *   +------+--------+-------------------+-------------------------+
 *   | 0x00 | family | port ^ cookie>>16 | address, 4 or 16 bytes  |
 *   +------+--------+-------------------+-------------------------+
 *
 * (the address XORed byte by byte with the cookie, then the transaction ID)
 */
static int answer_success(const uint8_t *req, const struct request *r,
			  const struct proto_addr *from, uint8_t *out, size_t cap)
{
	size_t alen = from->family == PROTO_AF_INET6 ? 16 : 4;
	size_t body = 4 + 4 + alen + (r->fingerprint ? 8 : 0);
	uint16_t port = from->port;
	uint8_t *v;
	size_t i;

	if (cap < STUN_HEADER_LEN + body)
		return STUN_ENOSPACE;
	put_header(out, req, CLASS_SUCCESS, body);
	if (r->classic) {
		v = put_attr(out + STUN_HEADER_LEN, ATTR_MAPPED_ADDRESS, 4 + alen);
		memcpy(v + 4, from->ip, alen);
	} else {
		v = put_attr(out + STUN_HEADER_LEN, ATTR_XOR_MAPPED_ADDRESS, 4 + alen);
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
		/* req[4..20) is the cookie, then the transaction ID. */
		for (i = 0; i < alen; i++)
			v[4 + i] = from->ip[i] ^ req[4 + i];
	}
	v[0] = 0;
	v[1] = alen == 16 ? FAMILY_IPV6 : FAMILY_IPV4;
	bytes_put16(v + 2, port);
	if (r->fingerprint)
		put_fingerprint(out, STUN_HEADER_LEN + 8 + alen);
	return (int)(STUN_HEADER_LEN + body);
}

/*
 * The 420 error response (RFC 8489, section 6.3.1.1): ERROR-CODE (section
 * 14.8) with no reason phrase -- it is for diagnostics only, the code says
 * it all, and the answer stays small -- and UNKNOWN-ATTRIBUTES (section
 * 14.9) listing the types we did not understand. RFC 8489 pads an odd list
 * with zeros; RFC 3489 (section 11.2.10) repeated a type instead, and its
 * clients reject anything else, so a classic client gets that.
 */
static int answer_unknown(const uint8_t *req, const struct request *r, uint8_t *out,
			  size_t cap)
{
	size_t n = r->nunknown;
	size_t nlisted = r->classic ? (n + 1) & ~(size_t)1 : n;
	size_t list = 2 * nlisted;
	size_t body = 8 + 4 + padded(list) + (r->fingerprint ? 8 : 0);
	uint8_t *v;
	size_t i;

	if (cap < STUN_HEADER_LEN + body)
		return STUN_ENOSPACE;
	put_header(out, req, CLASS_ERROR, body);
	v = put_attr(out + STUN_HEADER_LEN, ATTR_ERROR_CODE, 4);
	v[0] = 0;
	v[1] = 0;
	v[2] = ERROR_UNKNOWN_ATTRIBUTE / 100; /* the class, the hundreds */
	v[3] = ERROR_UNKNOWN_ATTRIBUTE % 100; /* the number */
	v = put_attr(v + 4, ATTR_UNKNOWN_ATTRIBUTES, list);
	memset(v, 0, padded(list));
	for (i = 0; i < nlisted; i++)
		bytes_put16(v + 2 * i, r->unknown[i < n ? i : n - 1]);
	if (r->fingerprint)
		put_fingerprint(out, STUN_HEADER_LEN + 12 + padded(list));
	return (int)(STUN_HEADER_LEN + body);
}

int stun_is_stun(const uint8_t *buf, size_t len)
{
	return len > 0 && buf[0] < 4;
}

int stun_answer(const uint8_t *req, size_t len, const struct proto_addr *from, uint8_t *out,
		size_t cap)
{
	struct request r;
	int e = parse(req, len, &r);

	if (e < 0)
		return e;
	/* Indications and responses are never answered (section 6.3). */
	if ((r.type & CLASS_MASK) != CLASS_REQUEST)
		return STUN_ENOTREQUEST;
	/*
	 * A method we do not support fails the basic checks of section 6.3,
	 * which ask for silence rather than an error response.
	 */
	if (type_method(r.type) != METHOD_BINDING)
		return STUN_EMETHOD;
	if (from->family != PROTO_AF_INET && from->family != PROTO_AF_INET6)
		return STUN_EFAMILY;
	if (r.nunknown > 0)
		return answer_unknown(req, &r, out, cap);
	return answer_success(req, &r, from, out, cap);
}

const char *stun_strerror(int result)
{
	switch (result) {
	case 0:
		return "ok";
	case STUN_ESHORT:
		return "STUN message shorter than its header or length";
	case STUN_EHEADER:
		return "bad STUN header";
	case STUN_EATTR:
		return "bad STUN attribute layout";
	case STUN_EFINGERPRINT:
		return "wrong STUN FINGERPRINT";
	case STUN_ENOTREQUEST:
		return "STUN indication or response";
	case STUN_EMETHOD:
		return "STUN request for a method other than Binding";
	case STUN_ENOSPACE:
		return "no room for the STUN answer";
	case STUN_EFAMILY:
		return "STUN source of no known family";
	default:
		return "unknown STUN result";
	}
}
