/* test_protocol.c - unit tests for protocol.c: byte vectors, round trips, every malformed case. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "harness.h"

#define CANARY 0xa5

/* Every message type, so loop tests can visit each one. */
static const int all_types[] = {
	PROTO_REGISTER, PROTO_REGISTERED, PROTO_REFRESH, PROTO_LOOKUP, PROTO_PEER,
	PROTO_ERROR, PROTO_STATS, PROTO_STATS_REPLY, PROTO_WHO, PROTO_WHO_REPLY,
	PROTO_REPORT, PROTO_RELAY, PROTO_RELAYED, PROTO_COOKIE, PROTO_NOTICE, PROTO_PROBE,
	PROTO_PROBE_ACK, PROTO_SEALED, PROTO_MAPPING, PROTO_MAPPED,
	/* the inner messages of a SEALED datagram: proto_inner_encode, no header */
	PROTO_DATA, PROTO_ACK, PROTO_PING, PROTO_PONG, PROTO_BYE, PROTO_PATH_CHALLENGE,
	PROTO_PATH_RESPONSE, PROTO_CONFIRM,
};
#define NTYPES ((int)(sizeof(all_types) / sizeof(all_types[0])))

/*
 * The encoded length of each type with every field at its largest: worked
 * out by hand from the diagrams in protocol.h (names 1 + 32, IPv6 endpoints
 * 1 + 2 + 16, text 2 + 1024, keys 32, counters and cookies 8), in
 * the order of all_types. For a sealed type this is its open form; on the
 * wire a 16-byte tag follows (test_max_size checks that it fits).
 */
static const int max_len[] = {
	4 + 8 + 32 + 33 + 8 + 8 + 1 + 4 * 19, /* REGISTER: cookie, key, name, counter | instance,
						 count, 4 endpoints */
	4 + 8 + 2 + 8 + 33 + 19 + 2,    /* REGISTERED: counter | ttl, cookie, name, public, alt port */
	4 + 8 + 32 + 33 + 8 + 8,        /* REFRESH: cookie, key, name, counter | instance */
	4 + 33 + 8 + 33,                /* LOOKUP: name, counter | target */
	4 + 8 + 33 + 32 + 19 + 3 + 1 + 4 * 19 + 19, /* PEER: counter | name, key, public, NAT kind
						   and port, count, 4 endpoints, other family */
	4 + 8 + 3 + 33,                 /* ERROR: counter | code, request, detail, name */
	4,                              /* STATS: the header alone */
	4 + 2 + 1194,                   /* STATS_REPLY: length, text: 1200 */
	4 + 33 + 8 + 4,                 /* WHO: name, counter | cursor */
	4 + 8 + 4 + 4 + 4 + 1 + 32 * 33, /* WHO_REPLY: counter | total, cursor, next, count, 32 names */
	4 + 33 + 8 + 33 + 1,            /* REPORT: name, counter | target, path */
	4 + 33 + 8 + 33 + 2 + 1104,     /* RELAY: name, counter | target, length, payload: 1184 */
	4 + 8 + 33 + 2 + 1104,          /* RELAYED: counter | name, length, payload */
	4 + 8 + 32,                     /* COOKIE: cookie, the server's key */
	4 + 3 + 33,                     /* NOTICE: code, request, detail, name */
	4 + 112,                        /* PROBE: the handshake's INIT */
	4 + 56,                         /* PROBE_ACK: its RESP */
	4 + 1100,                       /* SEALED: the most a RELAY carries, 1104 */
	4 + 33 + 8 + 20,                /* MAPPING: name, counter | 20 zero bytes */
	4 + 8 + 19,                     /* MAPPED: counter | the source seen */
	1 + 4 + 4 + 4 + 1 + 2 + 1024,   /* DATA: type, 2 epochs, seq, flags, length, text */
	1 + 4 + 4 + 4 + 4,              /* ACK: type, 2 epochs, ack, sack */
	1 + 4 + 4,                      /* PING: type, stamp, epoch */
	1 + 4,                          /* PONG: type, stamp */
	1 + 4,                          /* BYE: type, epoch */
	1 + 8,                          /* PATH_CHALLENGE: type, data */
	1 + 8,                          /* PATH_RESPONSE: the same */
	1,                              /* CONFIRM: the type alone */
};

/* 1 for the inner types (inside a SEALED datagram), coded by proto_inner_encode/decode. */
static int is_inner(int type)
{
	return (type >= PROTO_DATA && type <= PROTO_BYE) || type == PROTO_PATH_CHALLENGE ||
	       type == PROTO_PATH_RESPONSE || type == PROTO_CONFIRM;
}

/* proto_encode, or proto_inner_encode for an inner type. */
static int encode_any(const struct proto_msg *m, uint8_t *buf, size_t cap)
{
	return is_inner(m->type) ? proto_inner_encode(m, buf, cap) : proto_encode(m, buf, cap);
}

/* proto_decode, or proto_inner_decode when the first byte is an inner type (never the magic). */
static int decode_any(const uint8_t *buf, size_t len, struct proto_msg *out)
{
	if (len > 0 && is_inner(buf[0]))
		return proto_inner_decode(buf, len, out);
	return proto_decode(buf, len, out);
}

_Static_assert(sizeof(max_len) / sizeof(max_len[0]) == NTYPES, "one length per type");

/* Clears *m to a message of this type with no fields set, as the decoder leaves one. */
static void msg_init(struct proto_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->version = PROTO_VERSION;
	m->type = (uint8_t)type;
}

static void set_v4(struct proto_addr *a, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3,
		   uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = PROTO_AF_INET;
	a->port = port;
	a->ip[0] = b0;
	a->ip[1] = b1;
	a->ip[2] = b2;
	a->ip[3] = b3;
}

/* An IPv6 endpoint whose 16 address bytes are seed, seed + 1, ... */
static void set_v6(struct proto_addr *a, uint8_t seed, uint16_t port)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->family = PROTO_AF_INET6;
	a->port = port;
	for (i = 0; i < 16; i++)
		a->ip[i] = (uint8_t)(seed + i);
}

/*
 * Fills *m with a valid message of the given type: big = 1 puts every field
 * at its largest (32-byte names, 4 IPv6 endpoints, 1024 bytes of text using
 * all 256 byte values, all-ones integers), big = 0 at its smallest.
 * Only the type's own fields are set, as the decoder leaves them.
 */
static void fill(struct proto_msg *m, int type, int big)
{
	int i;

	msg_init(m, type);
	/* The client's or the server's key: REGISTER, REFRESH and COOKIE keep it, below. */
	for (i = 0; i < PROTO_KEY_LEN; i++)
		m->key[i] = big ? (uint8_t)(0xff - i) : 0;
	if (proto_is_sealed(type))
		m->counter = big ? UINT64_MAX : 0;
	if (type == PROTO_PEER)
		for (i = 0; i < PROTO_KEY_LEN; i++)
			m->peer_key[i] = big ? (uint8_t)(0xc0 + i) : 0;
	/* Only REGISTER, REFRESH, REGISTERED and COOKIE keep it: the others clear it below. */
	for (i = 0; i < PROTO_COOKIE_LEN; i++)
		m->cookie[i] = big ? (uint8_t)(0xd0 + i) : 0;
	if (big) {
		memset(m->name, 'N', PROTO_NAME_MAX);
		m->name[0] = 'a';
		m->name[PROTO_NAME_MAX - 1] = '-';
	} else {
		m->name[0] = '_';
	}

	if (type != PROTO_REGISTER && type != PROTO_REFRESH && type != PROTO_REGISTERED)
		memset(m->cookie, 0, sizeof(m->cookie)); /* COOKIE sets its own below */
	if (type != PROTO_REGISTER && type != PROTO_REFRESH && type != PROTO_COOKIE)
		memset(m->key, 0, sizeof(m->key));

	if (type == PROTO_REGISTER || type == PROTO_REFRESH)
		m->instance = big ? UINT64_MAX : 0;

	switch (type) {
	case PROTO_REGISTER:
	case PROTO_PEER:
		m->nprivate = big ? PROTO_MAX_PRIVATE : 0;
		for (i = 0; i < m->nprivate; i++)
			set_v6(&m->private_ep[i], (uint8_t)(0x10 * (i + 1)),
			       (uint16_t)(0xfff0 + i));
		if (type == PROTO_REGISTER)
			break;
		m->nat = big ? PROTO_NAT_LAST : PROTO_NAT_UNKNOWN;
		m->nat_port = big ? 0xfffc : 0;
		if (big)
			set_v6(&m->public_ep, 0xa0, 0xffff);
		else
			set_v4(&m->public_ep, 0, 0, 0, 0, 0);
		if (big)
			set_v6(&m->other_ep, 0xa1, 0xfffb); /* at its smallest, none */
		break;
	case PROTO_REGISTERED:
		m->ttl_s = big ? 0xffff : 0;
		m->alt_port = big ? 0xfffd : 0;
		if (big)
			set_v6(&m->public_ep, 0xb0, 0xfffe);
		else
			set_v4(&m->public_ep, 127, 0, 0, 1, 1);
		break;
	case PROTO_REFRESH:
	case PROTO_LOOKUP:
		if (type == PROTO_LOOKUP) {
			memset(m->target, big ? 'T' : 'z', big ? PROTO_NAME_MAX : 1);
			m->target[0] = '9';
		}
		break;
	case PROTO_ERROR:
	case PROTO_NOTICE:
		m->code = big ? 0xff : 0;
		m->request = big ? 0xff : 0;
		m->detail = big ? 0xff : 0;
		if (!big)
			m->name[0] = '\0'; /* ERROR alone may name nobody */
		break;
	case PROTO_STATS:
	case PROTO_STATS_REPLY:
		msg_init(m, type); /* no key, counter or name */
		if (type == PROTO_STATS)
			break;
		/* Every printable byte and newlines; the smallest is one byte. */
		m->text_len = big ? PROTO_STATS_TEXT_MAX : 1;
		for (i = 0; i < m->text_len; i++)
			m->text[i] = i % 40 == 39 ? '\n' : (char)(0x20 + (i * 7) % 95);
		break;
	case PROTO_WHO:
		m->cursor = big ? 0xffffffffu : 0;
		break;
	case PROTO_WHO_REPLY:
		msg_init(m, type);
		m->counter = big ? UINT64_MAX : 0;
		m->total = big ? 0xfffffffeu : 0;
		m->cursor = big ? 0xfffffffdu : 0;
		m->next = big ? 0xfffffffcu : 0;
		m->nnames = big ? PROTO_WHO_MAX : 0;
		for (i = 0; i < m->nnames; i++) {
			memset(m->names[i], 'a' + i % 26, PROTO_NAME_MAX);
			m->names[i][0] = (char)('0' + i % 10);
		}
		break;
	case PROTO_REPORT:
		memset(m->target, big ? 'R' : 'r', big ? PROTO_NAME_MAX : 1);
		m->path = big ? PROTO_PATH_RELAY : PROTO_PATH_PRIVATE;
		break;
	case PROTO_RELAY:
	case PROTO_RELAYED:
		/* The payload is opaque here: any bytes, 1..PROTO_PAYLOAD_MAX of them. */
		if (type == PROTO_RELAY)
			memset(m->target, big ? 'Q' : 'q', big ? PROTO_NAME_MAX : 1);
		m->payload_len = big ? PROTO_PAYLOAD_MAX : 1;
		for (i = 0; i < m->payload_len; i++)
			m->payload[i] = (uint8_t)(255 - i * 3);
		break;
	case PROTO_COOKIE:
		msg_init(m, type); /* the cookie and the server's key: no name */
		for (i = 0; i < PROTO_COOKIE_LEN; i++)
			m->cookie[i] = big ? (uint8_t)(0xff - i) : 0;
		for (i = 0; i < PROTO_KEY_LEN; i++)
			m->key[i] = big ? (uint8_t)(0x80 + i) : 0;
		break;
	case PROTO_MAPPING:
		break; /* the name and counter; the zero bytes are no field */
	case PROTO_MAPPED:
		memset(m->name, 0, sizeof(m->name));
		if (big)
			set_v6(&m->public_ep, 0xc0, 0xfffb);
		else
			set_v4(&m->public_ep, 10, 0, 0, 1, 1);
		break;
	case PROTO_PROBE:
	case PROTO_PROBE_ACK:
	case PROTO_SEALED: /* bytes only session.c reads: fixed lengths, or 29..1100 */
		msg_init(m, type);
		m->payload_len = type == PROTO_PROBE ? PROTO_INIT_LEN :
				 type == PROTO_PROBE_ACK ? PROTO_RESP_LEN :
				 big ? PROTO_SEALED_MAX : PROTO_SEALED_MIN;
		for (i = 0; i < m->payload_len; i++)
			m->payload[i] = (uint8_t)(big ? 255 - i : i * 5);
		break;
	default: /* the inner messages: no key, no name */
		memset(m->name, 0, sizeof(m->name));
		if (type == PROTO_DATA || type == PROTO_ACK || type == PROTO_BYE || type == PROTO_PING)
			m->epoch = big ? 0xffffffffu : 0;
		if (type == PROTO_DATA || type == PROTO_ACK)
			m->peer_epoch = big ? 0xfffffffbu : 0;
		if (type == PROTO_DATA) {
			m->seq = big ? 0xfffffffeu : 0;
			m->flags = big ? PROTO_DATA_END | PROTO_DATA_ACTION : 0;
			m->text_len = big ? PROTO_FRAG_MAX : 1;
			for (i = 0; i < m->text_len; i++)
				m->text[i] = (char)(uint8_t)(i * 7);
		}
		if (type == PROTO_ACK) {
			m->ack = big ? 0xfffffffdu : 0;
			m->sack = big ? 0xffffffffu : 0;
		}
		if (type == PROTO_PING || type == PROTO_PONG)
			m->stamp = big ? 0xfffffffcu : 0;
		if (type == PROTO_PATH_CHALLENGE || type == PROTO_PATH_RESPONSE)
			for (i = 0; i < PROTO_PATH_DATA_LEN; i++)
				m->path_data[i] = (uint8_t)(big ? 0xc0 + i : 0);
		break;
	}
}

static void addr_same(const struct proto_addr *a, const struct proto_addr *b)
{
	ck_assert_uint_eq(a->family, b->family);
	ck_assert_uint_eq(a->port, b->port);
	ck_assert_mem_eq(a->ip, b->ip, sizeof(a->ip));
}

/* Asserts every field of the two messages is the same. */
static void msg_same(const struct proto_msg *want, const struct proto_msg *got)
{
	int i;

	ck_assert_uint_eq(want->version, got->version);
	ck_assert_uint_eq(want->type, got->type);
	ck_assert_uint_eq(want->counter, got->counter);
	ck_assert_mem_eq(want->key, got->key, PROTO_KEY_LEN);
	ck_assert_mem_eq(want->peer_key, got->peer_key, PROTO_KEY_LEN);
	ck_assert_mem_eq(want->cookie, got->cookie, PROTO_COOKIE_LEN);
	ck_assert_mem_eq(want->name, got->name, sizeof(want->name));
	ck_assert_mem_eq(want->target, got->target, sizeof(want->target));
	ck_assert_uint_eq(want->ttl_s, got->ttl_s);
	addr_same(&want->public_ep, &got->public_ep);
	ck_assert_uint_eq(want->nprivate, got->nprivate);
	for (i = 0; i < PROTO_MAX_PRIVATE; i++)
		addr_same(&want->private_ep[i], &got->private_ep[i]);
	ck_assert_uint_eq(want->code, got->code);
	ck_assert_uint_eq(want->request, got->request);
	ck_assert_uint_eq(want->detail, got->detail);
	ck_assert_uint_eq(want->cursor, got->cursor);
	ck_assert_uint_eq(want->next, got->next);
	ck_assert_uint_eq(want->total, got->total);
	ck_assert_uint_eq(want->nnames, got->nnames);
	ck_assert_mem_eq(want->names, got->names, sizeof(want->names));
	ck_assert_uint_eq(want->path, got->path);
	ck_assert_uint_eq(want->epoch, got->epoch);
	ck_assert_uint_eq(want->peer_epoch, got->peer_epoch);
	ck_assert_uint_eq(want->seq, got->seq);
	ck_assert_uint_eq(want->flags, got->flags);
	ck_assert_uint_eq(want->text_len, got->text_len);
	ck_assert_mem_eq(want->text, got->text, sizeof(want->text));
	ck_assert_uint_eq(want->ack, got->ack);
	ck_assert_uint_eq(want->sack, got->sack);
	ck_assert_uint_eq(want->stamp, got->stamp);
	ck_assert_mem_eq(want->path_data, got->path_data, PROTO_PATH_DATA_LEN);
	ck_assert_uint_eq(want->payload_len, got->payload_len);
	ck_assert_mem_eq(want->payload, got->payload, sizeof(want->payload));
}

/*
 * Checks a hand-written vector both ways: *m encodes to exactly these bytes,
 * and these bytes decode to exactly *m (into a message full of junk first,
 * to see the decoder clear it).
 */
static void check_vector(const uint8_t *bytes, size_t len, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg got;

	ck_assert_int_eq(encode_any(m, buf, sizeof(buf)), (int)len);
	ck_assert_mem_eq(buf, bytes, len);
	memset(&got, 0x5a, sizeof(got));
	ck_assert_int_eq(decode_any(bytes, len, &got), 0);
	msg_same(m, &got);
}

/* Decodes an exactly-sized heap copy, so AddressSanitizer sees any read past len. */
static int decode_copy(const uint8_t *bytes, size_t len, struct proto_msg *out)
{
	uint8_t *copy = malloc(len > 0 ? len : 1);
	int r;

	ck_assert_ptr_nonnull(copy);
	if (len > 0)
		memcpy(copy, bytes, len);
	r = decode_any(copy, len, out);
	free(copy);
	return r;
}

/* A public key in the vectors: 0x20, 0x21, ... 0x3f. */
#define VEC_KEY \
	0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, \
	0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, \
	0x3e, 0x3f
/* A counter in the vectors, big-endian on the wire. */
#define VEC_COUNTER 0x00, 0x05, 0xf0, 0xa1, 0xb2, 0xc3, 0xd4, 0xe5
#define VEC_COUNTER_VALUE UINT64_C(0x0005f0a1b2c3d4e5)

static void vec_key(uint8_t key[PROTO_KEY_LEN])
{
	for (int i = 0; i < PROTO_KEY_LEN; i++)
		key[i] = (uint8_t)(0x20 + i);
}

/*
 * The vectors of sealed types are their open form (protocol.h): what
 * proto_encode writes and proto_decode reads; auth.c seals them (its own
 * tests have sealed vectors).
 */
static const uint8_t register_vec[] = {
	0x50, 0x02, 0x01, 0x00,                         /* magic, version 2, REGISTER, reserved */
	0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, /* cookie */
	VEC_KEY,                                        /* the client's public key */
	0x05, 'a', 'l', 'i', 'c', 'e',                  /* name "alice" */
	VEC_COUNTER,                                    /* counter; the sealed body follows */
	0x1e, 0x57, 0xa4, 0xce, 0x00, 0x00, 0x00, 0x07, /* instance */
	0x02,                                           /* two private endpoints */
	0x04, 0x1f, 0x90, 192, 168, 1, 10,              /* 192.168.1.10 port 8080 */
	0x06, 0x00, 0x35,                               /* IPv6 port 53 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,             /* 2001:db8:: */
	0, 0, 0, 0, 0, 0, 0, 0x01,                      /* ...::1 */
};

START_TEST(test_vector_register)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	size_t off;

	msg_init(&m, PROTO_REGISTER);
	memcpy(m.cookie, "\xc1\xc2\xc3\xc4\xc5\xc6\xc7\xc8", 8);
	vec_key(m.key);
	strcpy(m.name, "alice");
	m.counter = VEC_COUNTER_VALUE;
	m.instance = 0x1e57a4ce00000007;
	m.nprivate = 2;
	set_v4(&m.private_ep[0], 192, 168, 1, 10, 8080);
	m.private_ep[1].family = PROTO_AF_INET6;
	m.private_ep[1].port = 53;
	m.private_ep[1].ip[0] = 0x20;
	m.private_ep[1].ip[1] = 0x01;
	m.private_ep[1].ip[2] = 0x0d;
	m.private_ep[1].ip[3] = 0xb8;
	m.private_ep[1].ip[15] = 0x01;
	check_vector(register_vec, sizeof(register_vec), &m);
	/* The body starts after the counter: 4 + 8 + 32 + 6 + 8. */
	ck_assert_int_eq(proto_encode_open(&m, buf, sizeof(buf), &off), (int)sizeof(register_vec));
	ck_assert_uint_eq(off, 58);
}
END_TEST

static const uint8_t peer_vec[] = {
	0x50, 0x02, 0x05, 0x00,                         /* magic, version 2, PEER, reserved */
	VEC_COUNTER,                                    /* the server's counter; sealed from here */
	0x03, 'b', 'o', 'b',                            /* the other peer: "bob" */
	VEC_KEY,                                        /* bob's public key */
	0x04, 0xca, 0xfe, 203, 0, 113, 14,              /* public: 203.0.113.14 port 51966 */
	0x02, 0xca, 0xff,                               /* NAT: symmetric; port 51967 at the alt port */
	0x01,                                           /* one private endpoint */
	0x04, 0x00, 0x50, 10, 0, 0, 5,                  /* 10.0.0.5 port 80 */
	0x00,                                           /* no endpoint in the other family */
};

/* PEER about a dual-stack peer: its endpoint in the other family follows the private ones. */
static const uint8_t peer_other_vec[] = {
	0x50, 0x02, 0x05, 0x00,                         /* magic, version 2, PEER, reserved */
	VEC_COUNTER,                                    /* the server's counter; sealed from here */
	0x03, 'b', 'o', 'b',                            /* the other peer: "bob" */
	VEC_KEY,                                        /* bob's public key */
	0x04, 0xca, 0xfe, 203, 0, 113, 14,              /* public: 203.0.113.14 port 51966 */
	0x00, 0x00, 0x00,                               /* NAT: unknown; no port at the alt port */
	0x00,                                           /* no private endpoint */
	0x06, 0xca, 0xfe,                               /* other family: IPv6 port 51966 */
	0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, 0, 0x01,       /* 2001:db8:b:1: */
	0, 0, 0, 0, 0, 0, 0, 0x02,                      /* ...::2 */
};

START_TEST(test_vector_peer)
{
	struct proto_msg m;

	msg_init(&m, PROTO_PEER);
	m.counter = VEC_COUNTER_VALUE;
	strcpy(m.name, "bob");
	vec_key(m.peer_key);
	set_v4(&m.public_ep, 203, 0, 113, 14, 51966);
	m.nat = PROTO_NAT_SYMMETRIC;
	m.nat_port = 51967;
	m.nprivate = 1;
	set_v4(&m.private_ep[0], 10, 0, 0, 5, 80);
	check_vector(peer_vec, sizeof(peer_vec), &m);
}
END_TEST

START_TEST(test_vector_peer_other)
{
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, 0, 0x01,
					 0, 0, 0, 0, 0, 0, 0, 0x02 };
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	size_t n = sizeof(peer_other_vec);

	msg_init(&m, PROTO_PEER);
	m.counter = VEC_COUNTER_VALUE;
	strcpy(m.name, "bob");
	vec_key(m.peer_key);
	set_v4(&m.public_ep, 203, 0, 113, 14, 51966);
	m.other_ep.family = PROTO_AF_INET6;
	m.other_ep.port = 51966;
	memcpy(m.other_ep.ip, ip6, sizeof(ip6));
	check_vector(peer_other_vec, n, &m);
	/* The family byte is checked like any endpoint's: 5 is none of 0, 4, 6. */
	memcpy(buf, peer_other_vec, n);
	buf[n - 19] = 5;
	ck_assert_int_eq(proto_decode(buf, n, &m), PROTO_EFAMILY);
	/* "None" is the family byte alone: an address after it is trailing. */
	buf[n - 19] = 0;
	ck_assert_int_eq(proto_decode(buf, n, &m), PROTO_ETRAILING);
	/* An endpoint cut short is a truncation. */
	buf[n - 19] = PROTO_AF_INET6;
	ck_assert_int_eq(proto_decode(buf, n - 1, &m), PROTO_ESHORT);
}
END_TEST

/* DATA, an inner message: what a SEALED datagram carries once opened. */
static const uint8_t data_vec[] = {
	0x12,                                           /* DATA */
	0x01, 0x02, 0x03, 0x04,                         /* sender's epoch 0x01020304 */
	0xfe, 0xdc, 0xba, 0x98,                         /* receiver's epoch 0xfedcba98 */
	0x00, 0x00, 0x01, 0x07,                         /* sequence number 263 */
	0x03,                                           /* flags: END | ACTION */
	0x00, 0x05,                                     /* text length 5 */
	'h', 'i', 0x00, 0x1b, '!',                      /* text: NUL and ESC pass through */
};

START_TEST(test_vector_data)
{
	struct proto_msg m;

	msg_init(&m, PROTO_DATA);
	m.epoch = 0x01020304;
	m.peer_epoch = 0xfedcba98;
	m.seq = 263;
	m.flags = PROTO_DATA_END | PROTO_DATA_ACTION;
	m.text_len = 5;
	memcpy(m.text, "hi\0\x1b!", 5);
	check_vector(data_vec, sizeof(data_vec), &m);
}
END_TEST

static const uint8_t ack_vec[] = {
	0x13,                                           /* ACK (inner) */
	0xde, 0xad, 0xbe, 0xef,                         /* sender's epoch 0xdeadbeef */
	0x01, 0x02, 0x03, 0x04,                         /* receiver's epoch 0x01020304 */
	0x00, 0x00, 0x00, 0x2a,                         /* next expected: 42 */
	0x80, 0x00, 0x00, 0x05,                         /* selective: 43, 45 and 74 received */
};

START_TEST(test_vector_ack)
{
	struct proto_msg m;

	msg_init(&m, PROTO_ACK);
	m.epoch = 0xdeadbeef;
	m.peer_epoch = 0x01020304;
	m.ack = 42;
	m.sack = 0x80000005;
	check_vector(ack_vec, sizeof(ack_vec), &m);
}
END_TEST

static const uint8_t ping_vec[] = {
	0x14,                   /* PING (inner) */
	0x00, 0x00, 0x30, 0x39, /* stamp 12345 */
	0x00, 0x00, 0x00, 0x00, /* epoch 0: a keepalive */
};

static const uint8_t path_vec[] = {
	0x18,                                           /* PATH_CHALLENGE (inner) */
	0x70, 0x61, 0x74, 0x68, 0x21, 0x00, 0xff, 0x7f, /* data: any 8 bytes */
};

START_TEST(test_vector_inner_small)
{
	struct proto_msg m;

	msg_init(&m, PROTO_PING);
	m.stamp = 12345;
	check_vector(ping_vec, sizeof(ping_vec), &m);
	msg_init(&m, PROTO_PATH_CHALLENGE);
	memcpy(m.path_data, "path!\0\xff\x7f", 8);
	check_vector(path_vec, sizeof(path_vec), &m);
	msg_init(&m, PROTO_CONFIRM);
	check_vector((const uint8_t *)"\x1a", 1, &m);
}
END_TEST

/* The smallest SEALED: index, counter, one sealed byte (the inner type), the tag. */
static const uint8_t sealed_vec[] = {
	0x50, 0x02, 0x17, 0x00, /* magic, version 2, SEALED, reserved */
	0xde, 0xad, 0xbe, 0xef, /* receiver index */
	0, 0, 0, 0, 0, 0, 0, 7, /* counter 7 */
	0x99,                   /* the inner type, encrypted */
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, /* tag */
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

START_TEST(test_vector_sealed)
{
	struct proto_msg m;
	uint8_t buf[sizeof(sealed_vec) + 1];

	msg_init(&m, PROTO_SEALED);
	m.payload_len = sizeof(sealed_vec) - PROTO_HEADER_LEN;
	memcpy(m.payload, sealed_vec + PROTO_HEADER_LEN, m.payload_len);
	check_vector(sealed_vec, sizeof(sealed_vec), &m);
	/* One byte less is not a SEALED datagram; one more is a longer one. */
	ck_assert_int_eq(proto_decode(sealed_vec, sizeof(sealed_vec) - 1, &m), PROTO_ELENGTH);
	memcpy(buf, sealed_vec, sizeof(sealed_vec));
	buf[sizeof(sealed_vec)] = 0;
	ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), 0);
	ck_assert_uint_eq(m.payload_len, PROTO_SEALED_MIN + 1);
}
END_TEST

/* The inner types never travel as a datagram's type, and the datagram types never inside. */
START_TEST(test_inner_apart)
{
	uint8_t buf[64];
	struct proto_msg m;

	buf[0] = PROTO_MAGIC;
	buf[1] = PROTO_VERSION;
	buf[2] = PROTO_PING;
	buf[3] = 0;
	memcpy(buf + 4, ping_vec + 1, sizeof(ping_vec) - 1);
	ck_assert_int_eq(proto_decode(buf, 3 + sizeof(ping_vec), &m), PROTO_ETYPE);
	memcpy(buf, ping_vec, sizeof(ping_vec));
	buf[0] = PROTO_SEALED;
	ck_assert_int_eq(proto_inner_decode(buf, sizeof(ping_vec), &m), PROTO_ETYPE);
	buf[0] = PROTO_REGISTER;
	ck_assert_int_eq(proto_inner_decode(buf, sizeof(ping_vec), &m), PROTO_ETYPE);
	ck_assert_int_eq(proto_inner_decode(buf, 0, &m), PROTO_ESHORT);
	msg_init(&m, PROTO_PROBE);
	m.payload_len = PROTO_INIT_LEN;
	ck_assert_int_eq(proto_inner_encode(&m, buf, sizeof(buf)), PROTO_EINVAL);
	msg_init(&m, PROTO_BYE);
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), PROTO_EINVAL);
}
END_TEST

static const uint8_t error_vec[] = {
	0x50, 0x02, 0x06, 0x00, /* magic, version 2, ERROR, reserved */
	VEC_COUNTER,            /* the server's counter; sealed from here */
	0x02,                   /* code: PROTO_E_NAME_TAKEN */
	0x01,                   /* request type: REGISTER */
	0x00,                   /* detail */
	0x00,                   /* name: empty, allowed in ERROR and NOTICE only */
};

START_TEST(test_vector_error)
{
	struct proto_msg m;

	msg_init(&m, PROTO_ERROR);
	m.counter = VEC_COUNTER_VALUE;
	m.code = PROTO_E_NAME_TAKEN;
	m.request = PROTO_REGISTER;
	check_vector(error_vec, sizeof(error_vec), &m);
}
END_TEST

static const uint8_t notice_vec[] = {
	0x50, 0x02, 0x0f, 0x00, /* magic, version 2, NOTICE, reserved: not sealed */
	0x05,                   /* code: PROTO_E_UNKNOWN */
	0x04,                   /* request type: LOOKUP */
	0x00,                   /* detail */
	0x01, 'a',              /* name "a" */
};

/* The version refusal: version 1's ERROR, whatever version writes it. */
static const uint8_t version_refusal_vec[] = {
	0x50, 0x01, 0x06, 0x00, /* magic, version 1, ERROR, reserved */
	0x01,                   /* code: PROTO_E_VERSION */
	0x01,                   /* request type: REGISTER */
	0x02,                   /* detail: the server speaks version 2 */
	0x00,                   /* name: empty */
};

START_TEST(test_vector_notice_and_version_refusal)
{
	uint8_t buf[16], version = 0;
	struct proto_msg m;

	msg_init(&m, PROTO_NOTICE);
	m.code = PROTO_E_UNKNOWN;
	m.request = PROTO_LOOKUP;
	strcpy(m.name, "a");
	check_vector(notice_vec, sizeof(notice_vec), &m);

	ck_assert_int_eq(proto_encode_version_refusal(PROTO_REGISTER, buf, sizeof(buf)),
			 PROTO_VERSION_REFUSAL_LEN);
	ck_assert_mem_eq(buf, version_refusal_vec, sizeof(version_refusal_vec));
	ck_assert_int_eq(proto_encode_version_refusal(PROTO_REGISTER, buf, 7), PROTO_ENOSPACE);
	ck_assert_int_eq(proto_version_refusal(buf, PROTO_VERSION_REFUSAL_LEN, &version), 1);
	ck_assert_uint_eq(version, 2);
	/* A version 1 server's own (detail 1): the same bytes but the detail. */
	buf[6] = 1;
	ck_assert_int_eq(proto_version_refusal(buf, PROTO_VERSION_REFUSAL_LEN, &version), 1);
	ck_assert_uint_eq(version, 1);
	/* Not one: too short, our own version, another code, another type. */
	ck_assert_int_eq(proto_version_refusal(buf, PROTO_VERSION_REFUSAL_LEN - 1, &version), 0);
	buf[1] = PROTO_VERSION;
	ck_assert_int_eq(proto_version_refusal(buf, PROTO_VERSION_REFUSAL_LEN, &version), 0);
	buf[1] = 1;
	buf[4] = PROTO_E_UNKNOWN;
	ck_assert_int_eq(proto_version_refusal(buf, PROTO_VERSION_REFUSAL_LEN, &version), 0);
	buf[4] = PROTO_E_VERSION;
	buf[2] = PROTO_NOTICE;
	ck_assert_int_eq(proto_version_refusal(buf, PROTO_VERSION_REFUSAL_LEN, &version), 0);
	/* It is of another version: proto_decode says so, and what type it said it was. */
	ck_assert_int_eq(proto_decode(version_refusal_vec, sizeof(version_refusal_vec), &m),
			 PROTO_EVERSION);
	ck_assert_uint_eq(m.type, PROTO_ERROR);
}
END_TEST

static const uint8_t registered_vec[] = {
	0x50, 0x02, 0x02, 0x00,                         /* magic, version 2, REGISTERED, reserved */
	VEC_COUNTER,                                    /* the server's counter; sealed from here */
	0x00, 0x3c,                                     /* ttl 60 s */
	0x9a, 0x00, 0xff, 0x01, 0x80, 0x7f, 0x10, 0x02, /* cookie, for the next REFRESH */
	0x01, 'x',                                      /* name "x" */
	0x04, 0xff, 0xff, 1, 2, 3, 4,                   /* public: 1.2.3.4 port 65535 */
	0x1e, 0x62,                                     /* the alternate port: 7778 */
};

START_TEST(test_vector_registered)
{
	struct proto_msg m;

	msg_init(&m, PROTO_REGISTERED);
	m.counter = VEC_COUNTER_VALUE;
	m.ttl_s = 60;
	memcpy(m.cookie, "\x9a\x00\xff\x01\x80\x7f\x10\x02", 8);
	strcpy(m.name, "x");
	set_v4(&m.public_ep, 1, 2, 3, 4, 65535);
	m.alt_port = 7778;
	check_vector(registered_vec, sizeof(registered_vec), &m);
}
END_TEST

static const uint8_t refresh_vec[] = {
	0x50, 0x02, 0x03, 0x00,                         /* magic, version 2, REFRESH, reserved */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* cookie: none yet, zeros */
	VEC_KEY,                                        /* the client's public key */
	0x03, 'b', 'o', 'b',                            /* name "bob" */
	VEC_COUNTER,                                    /* counter; the sealed body follows */
	0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, /* instance */
};

START_TEST(test_vector_refresh)
{
	struct proto_msg m;

	msg_init(&m, PROTO_REFRESH);
	vec_key(m.key);
	strcpy(m.name, "bob");
	m.counter = VEC_COUNTER_VALUE;
	m.instance = 0xffeeddccbbaa9988;
	check_vector(refresh_vec, sizeof(refresh_vec), &m);
}
END_TEST

static const uint8_t cookie_vec[] = {
	0x50, 0x02, 0x0e, 0x00,                         /* magic, version 2, COOKIE, reserved */
	0xfe, 0xed, 0xfa, 0xce, 0x00, 0x01, 0x02, 0x03, /* cookie */
	VEC_KEY,                                        /* the server's public key */
};

START_TEST(test_vector_cookie)
{
	uint8_t buf[sizeof(cookie_vec) + 1];
	struct proto_msg m, got;
	size_t cut;

	msg_init(&m, PROTO_COOKIE);
	memcpy(m.cookie, "\xfe\xed\xfa\xce\x00\x01\x02\x03", 8);
	vec_key(m.key);
	check_vector(cookie_vec, sizeof(cookie_vec), &m);
	/* Every cut is short, one byte more is trailing. */
	for (cut = 0; cut < sizeof(cookie_vec); cut++)
		ck_assert_int_eq(decode_copy(cookie_vec, cut, &got), PROTO_ESHORT);
	memcpy(buf, cookie_vec, sizeof(cookie_vec));
	buf[sizeof(cookie_vec)] = 0;
	ck_assert_int_eq(decode_copy(buf, sizeof(buf), &got), PROTO_ETRAILING);
}
END_TEST

static const uint8_t stats_vec[] = {
	0x50, 0x02, 0x07, 0x00, /* magic, version 2, STATS, reserved: no body */
};

START_TEST(test_vector_stats)
{
	struct proto_msg m;

	msg_init(&m, PROTO_STATS);
	check_vector(stats_vec, sizeof(stats_vec), &m);
}
END_TEST

static const uint8_t stats_reply_vec[] = {
	0x50, 0x02, 0x08, 0x00,                         /* magic, version 2, STATS_REPLY, reserved */
	0x00, 0x11,                                     /* text length 17 */
	'n', 'a', 'm', 'e', 's', ' ', '3', '\n',        /* "names 3\n" */
	'l', 'o', 'o', 'k', 'u', 'p', 's', ' ', '9',    /* "lookups 9": the last newline may go */
};

START_TEST(test_vector_stats_reply)
{
	struct proto_msg m;

	msg_init(&m, PROTO_STATS_REPLY);
	m.text_len = 17;
	memcpy(m.text, "names 3\nlookups 9", 17);
	check_vector(stats_reply_vec, sizeof(stats_reply_vec), &m);
}
END_TEST

static const uint8_t who_vec[] = {
	0x50, 0x02, 0x09, 0x00,                         /* magic, version 2, WHO, reserved */
	0x03, 'b', 'o', 'b',                            /* name "bob" */
	VEC_COUNTER,                                    /* counter; sealed from here */
	0x00, 0x01, 0x00, 0x02,                         /* cursor 65538 */
};

START_TEST(test_vector_who)
{
	struct proto_msg m;

	msg_init(&m, PROTO_WHO);
	strcpy(m.name, "bob");
	m.counter = VEC_COUNTER_VALUE;
	m.cursor = 65538;
	check_vector(who_vec, sizeof(who_vec), &m);
}
END_TEST

static const uint8_t who_reply_vec[] = {
	0x50, 0x02, 0x0a, 0x00,                         /* magic, version 2, WHO_REPLY, reserved */
	VEC_COUNTER,                                    /* the server's counter; sealed from here */
	0x00, 0x00, 0x00, 0x05,                         /* 5 names in the table */
	0x00, 0x00, 0x00, 0x00,                         /* cursor 0: the first page */
	0x00, 0x00, 0x10, 0x00,                         /* next page at 4096 */
	0x02,                                           /* two names on this page */
	0x05, 'a', 'l', 'i', 'c', 'e',                  /* "alice" */
	0x01, 'z',                                      /* "z" */
};

START_TEST(test_vector_who_reply)
{
	struct proto_msg m;

	msg_init(&m, PROTO_WHO_REPLY);
	m.counter = VEC_COUNTER_VALUE;
	m.total = 5;
	m.cursor = 0;
	m.next = 4096;
	m.nnames = 2;
	strcpy(m.names[0], "alice");
	strcpy(m.names[1], "z");
	check_vector(who_reply_vec, sizeof(who_reply_vec), &m);
}
END_TEST

static const uint8_t report_vec[] = {
	0x50, 0x02, 0x0b, 0x00,                         /* magic, version 2, REPORT, reserved */
	0x05, 'a', 'l', 'i', 'c', 'e',                  /* name "alice" */
	VEC_COUNTER,                                    /* counter; sealed from here */
	0x03, 'b', 'o', 'b',                            /* target "bob" */
	0x02,                                           /* path: public */
};

START_TEST(test_vector_report)
{
	struct proto_msg m;

	msg_init(&m, PROTO_REPORT);
	strcpy(m.name, "alice");
	m.counter = VEC_COUNTER_VALUE;
	strcpy(m.target, "bob");
	m.path = PROTO_PATH_PUBLIC;
	check_vector(report_vec, sizeof(report_vec), &m);
}
END_TEST

static const uint8_t relay_vec[] = {
	0x50, 0x02, 0x0c, 0x00,                         /* magic, version 2, RELAY, reserved */
	0x05, 'a', 'l', 'i', 'c', 'e',                  /* name "alice" */
	VEC_COUNTER,                                    /* counter; sealed from here */
	0x03, 'b', 'o', 'b',                            /* target "bob" */
	0x00, 0x21,                                     /* payload length 33 */
	0x50, 0x02, 0x17, 0x00,                         /* payload: sealed_vec, as is */
	0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 7, 0x99,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

START_TEST(test_vector_relay)
{
	struct proto_msg m;

	/* The payload is a SEALED datagram as it would go straight to bob. */
	msg_init(&m, PROTO_RELAY);
	strcpy(m.name, "alice");
	m.counter = VEC_COUNTER_VALUE;
	strcpy(m.target, "bob");
	memcpy(m.payload, sealed_vec, sizeof(sealed_vec));
	m.payload_len = sizeof(sealed_vec);
	check_vector(relay_vec, sizeof(relay_vec), &m);
}
END_TEST

static const uint8_t relayed_vec[] = {
	0x50, 0x02, 0x0d, 0x00,                         /* magic, version 2, RELAYED, reserved */
	VEC_COUNTER,                                    /* the server's counter; sealed from here */
	0x05, 'a', 'l', 'i', 'c', 'e',                  /* from "alice" */
	0x00, 0x21,                                     /* payload length 33 */
	0x50, 0x02, 0x17, 0x00,                         /* payload: the SEALED of relay_vec */
	0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 7, 0x99,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
	0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

START_TEST(test_vector_relayed)
{
	struct proto_msg m, sealed;

	msg_init(&m, PROTO_RELAYED);
	m.counter = VEC_COUNTER_VALUE;
	strcpy(m.name, "alice");
	m.payload_len = sizeof(sealed_vec);
	memcpy(m.payload, relay_vec + sizeof(relay_vec) - sizeof(sealed_vec), sizeof(sealed_vec));
	check_vector(relayed_vec, sizeof(relayed_vec), &m);
	/* And what it carries decodes to the SEALED alice sent. */
	ck_assert_int_eq(proto_decode(m.payload, m.payload_len, &sealed), 0);
	ck_assert_uint_eq(sealed.type, PROTO_SEALED);
	ck_assert_uint_eq(sealed.payload_len, PROTO_SEALED_MIN);
}
END_TEST

/* LOOKUP's clear part: header, name, counter; 4 + 6 + 8 = 18 bytes. */
static const uint8_t lookup_prefix_vec[] = {
	0x50, 0x02, 0x04, 0x00,                         /* magic, version 2, LOOKUP, reserved */
	0x05, 'a', 'l', 'i', 'c', 'e',                  /* name "alice" */
	VEC_COUNTER,                                    /* counter */
};

/*
 * The clear part of a sealed datagram: where its body starts, and only
 * when a tag's room follows; 0 for a type that is not sealed.
 */
START_TEST(test_decode_prefix)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	size_t len = sizeof(lookup_prefix_vec);

	memcpy(buf, lookup_prefix_vec, len);
	memset(buf + len, 0xee, PROTO_TAG_LEN);
	ck_assert_int_eq(proto_decode_prefix(buf, len + PROTO_TAG_LEN, &m), (int)len);
	ck_assert_str_eq(m.name, "alice");
	ck_assert_uint_eq(m.counter, VEC_COUNTER_VALUE);
	ck_assert_uint_eq(m.type, PROTO_LOOKUP);
	/* The tag's room, or any of the prefix, cut: short. */
	for (size_t cut = 0; cut < len + PROTO_TAG_LEN; cut++)
		ck_assert_int_eq(proto_decode_prefix(buf, cut, &m), PROTO_ESHORT);
	/* The body is not read: anything may follow. */
	memset(buf + len, 0xff, 100);
	ck_assert_int_eq(proto_decode_prefix(buf, len + 100, &m), (int)len);
	/* Bad fields of the prefix are caught. */
	buf[5] = ' ';
	ck_assert_int_eq(proto_decode_prefix(buf, len + 100, &m), PROTO_ENAME);
	/* Not sealed: 0; another version: as proto_decode. */
	ck_assert_int_eq(proto_decode_prefix(cookie_vec, sizeof(cookie_vec), &m), 0);
	ck_assert_uint_eq(m.type, PROTO_COOKIE);
	ck_assert_int_eq(proto_decode_prefix(version_refusal_vec, sizeof(version_refusal_vec), &m),
			 PROTO_EVERSION);
	for (int i = 0; i < NTYPES; i++) {
		int t = all_types[i];
		int sealed = t != PROTO_STATS && t != PROTO_STATS_REPLY && t != PROTO_COOKIE &&
			     t != PROTO_NOTICE && !proto_is_peer_type(t) && !is_inner(t);

		ck_assert_int_eq(proto_is_sealed(t), sealed);
	}
}
END_TEST

/* Loop index: type all_types[i / 2], largest fields when i is odd. */
static void fill_loop(struct proto_msg *m, int i)
{
	fill(m, all_types[i / 2], i % 2);
}

START_TEST(test_round_trip)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m, got;
	int n;

	fill_loop(&m, _i);
	n = encode_any(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(decode_copy(buf, (size_t)n, &got), 0);
	msg_same(&m, &got);
}
END_TEST

/* The largest message of each type has the length the diagrams give, and fits a datagram. */
START_TEST(test_max_size)
{
	uint8_t buf[2 * PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	int n;

	fill(&m, all_types[_i], 1);
	n = encode_any(&m, buf, sizeof(buf));
	ck_assert_int_eq(n, max_len[_i]);
	ck_assert_int_le(n + (proto_is_sealed(m.type) ? PROTO_TAG_LEN : 0), PROTO_MAX_DATAGRAM);
}
END_TEST

START_TEST(test_truncated)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + 1];
	struct proto_msg m, got;
	int n, cut;

	fill_loop(&m, _i);
	n = encode_any(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	/* A SEALED body is the rest of the datagram: a cut is a shorter one, or too short. */
	if (m.type == PROTO_SEALED) {
		for (cut = 0; cut < n; cut++)
			ck_assert_int_eq(decode_copy(buf, (size_t)cut, &got),
					 cut < PROTO_HEADER_LEN ? PROTO_ESHORT :
					 cut < PROTO_HEADER_LEN + PROTO_SEALED_MIN ? PROTO_ELENGTH : 0);
		return;
	}
	/* Every field before a cut is valid, so every cut is a plain truncation. */
	for (cut = 0; cut < n; cut++)
		ck_assert_int_eq(decode_copy(buf, (size_t)cut, &got), PROTO_ESHORT);
	buf[n] = 0;
	ck_assert_int_eq(decode_copy(buf, (size_t)n + 1, &got), PROTO_ETRAILING);
}
END_TEST

START_TEST(test_encode_nospace)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + 16];
	struct proto_msg m;
	size_t cap, i;
	int n;

	size_t need;

	fill_loop(&m, _i);
	n = encode_any(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	/* A sealed type needs room for its tag as well (auth.c writes it in place). */
	need = (size_t)n + (proto_is_sealed(m.type) ? PROTO_TAG_LEN : 0);
	for (cap = 0; cap < need; cap++) {
		memset(buf, CANARY, sizeof(buf));
		ck_assert_int_eq(encode_any(&m, buf, cap), PROTO_ENOSPACE);
		for (i = cap; i < sizeof(buf); i++)
			ck_assert_uint_eq(buf[i], CANARY);
	}
	/* Exactly enough room is enough. */
	ck_assert_int_eq(encode_any(&m, buf, need), n);
}
END_TEST

/* The version byte is always PROTO_VERSION, whatever m->version says. */
START_TEST(test_encode_ignores_version)
{
	uint8_t buf[64];
	struct proto_msg m;

	fill(&m, PROTO_SEALED, 0);
	m.version = 9;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), PROTO_HEADER_LEN + PROTO_SEALED_MIN);
	ck_assert_uint_eq(buf[0], PROTO_MAGIC);
	ck_assert_uint_eq(buf[1], PROTO_VERSION);
	ck_assert_uint_eq(buf[2], PROTO_SEALED);
	ck_assert_uint_eq(buf[3], 0);
}
END_TEST

START_TEST(test_bad_header)
{
	static const uint8_t bad_magic[] = { 0x00, 0x01, 0x51, 0x80, 0xff };
	static const uint8_t bad_version[] = { 0x00, 0x01, 0x03, 0xff };
	/* 14 is COOKIE, 15 NOTICE; 18 is DATA, only ever inside a SEALED one */
	static const uint8_t bad_type[] = { 0, 18, 24, 29, 255 };
	uint8_t buf[sizeof(sealed_vec)];
	struct proto_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad_magic); i++) {
		memcpy(buf, sealed_vec, sizeof(buf));
		buf[0] = bad_magic[i];
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_EMAGIC);
	}
	for (i = 0; i < sizeof(bad_version); i++) {
		memcpy(buf, sealed_vec, sizeof(buf));
		buf[1] = bad_version[i];
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_EVERSION);
		ck_assert_uint_eq(m.version, bad_version[i]);
		ck_assert_uint_eq(m.type, PROTO_SEALED);
		/* A bare header of a future version still says who it is. */
		ck_assert_int_eq(proto_decode(buf, PROTO_HEADER_LEN, &m), PROTO_EVERSION);
		ck_assert_uint_eq(m.version, bad_version[i]);
	}
	for (i = 0; i < 8; i++) {
		memcpy(buf, sealed_vec, sizeof(buf));
		buf[3] = (uint8_t)(1u << i);
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_ERESERVED);
	}
	for (i = 0; i < sizeof(bad_type); i++) {
		memcpy(buf, sealed_vec, sizeof(buf));
		buf[2] = bad_type[i];
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_ETYPE);
	}
}
END_TEST

/*
 * Writes a REFRESH datagram whose name has the given length byte and bytes
 * (so a test can put anything there). Returns its length.
 */
static size_t make_refresh(uint8_t *buf, uint8_t name_len, const uint8_t *name, size_t n)
{
	static const uint8_t head[] = {
		0x50, 0x02, 0x03, 0x00,                         /* magic, version 2, REFRESH */
		0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, /* cookie */
		VEC_KEY,                                        /* key */
	};

	memcpy(buf, head, sizeof(head));
	buf[sizeof(head)] = name_len;
	memcpy(buf + sizeof(head) + 1, name, n);
	memset(buf + sizeof(head) + 1 + n, 0x77, 16); /* counter, instance */
	return sizeof(head) + 1 + n + 16;
}

START_TEST(test_bad_names)
{
	static const uint8_t bad_bytes[] = { ' ', '/', 0x00, 0x1b, 0xff, 0x7f, '@', ':', 0x80 };
	uint8_t name[PROTO_NAME_MAX + 1];
	uint8_t buf[128];
	struct proto_msg m;
	size_t i, n;

	memset(name, 'a', sizeof(name));
	/* 32 bytes is the longest name, 1 the shortest... */
	n = make_refresh(buf, PROTO_NAME_MAX, name, PROTO_NAME_MAX);
	ck_assert_int_eq(proto_decode(buf, n, &m), 0);
	ck_assert_uint_eq(strlen(m.name), PROTO_NAME_MAX);
	n = make_refresh(buf, 1, name, 1);
	ck_assert_int_eq(proto_decode(buf, n, &m), 0);
	ck_assert_str_eq(m.name, "a");
	/* ...so 33 bytes, present in full, and an empty name are refused. */
	n = make_refresh(buf, PROTO_NAME_MAX + 1, name, PROTO_NAME_MAX + 1);
	ck_assert_int_eq(proto_decode(buf, n, &m), PROTO_ENAME);
	n = make_refresh(buf, 0, name, 0);
	ck_assert_int_eq(proto_decode(buf, n, &m), PROTO_ENAME);

	/* A forbidden byte anywhere in the name. */
	for (i = 0; i < sizeof(bad_bytes); i++) {
		memcpy(name, "abc", 3);
		name[1] = bad_bytes[i];
		n = make_refresh(buf, 3, name, 3);
		ck_assert_int_eq(proto_decode(buf, n, &m), PROTO_ENAME);
		name[1] = 'b';
		name[2] = bad_bytes[i];
		n = make_refresh(buf, 3, name, 3);
		ck_assert_int_eq(proto_decode(buf, n, &m), PROTO_ENAME);
	}
}
END_TEST

/* LOOKUP's target and ERROR's name are checked like any other name. */
START_TEST(test_bad_target_and_subject)
{
	static const uint8_t lookup[] = {
		0x50, 0x02, 0x04, 0x00,                         /* magic, version 2, LOOKUP */
		0x01, 'a',                                      /* name "a" */
		VEC_COUNTER,                                    /* counter */
		0x02, 'b', '/',                                 /* target "b/": bad */
	};
	uint8_t buf[64];
	struct proto_msg m;

	ck_assert_int_eq(proto_decode(lookup, sizeof(lookup), &m), PROTO_ENAME);
	memcpy(buf, lookup, sizeof(lookup));
	buf[sizeof(lookup) - 1] = '_';
	ck_assert_int_eq(proto_decode(buf, sizeof(lookup), &m), 0);
	ck_assert_str_eq(m.target, "b_");
	buf[sizeof(lookup) - 3] = 0; /* target length 0 */
	ck_assert_int_eq(proto_decode(buf, sizeof(lookup) - 2, &m), PROTO_ENAME);

	memcpy(buf, error_vec, sizeof(error_vec));
	buf[sizeof(error_vec) - 1] = PROTO_NAME_MAX + 1; /* an ERROR name of 33 bytes */
	memset(buf + sizeof(error_vec), 'a', PROTO_NAME_MAX + 1);
	ck_assert_int_eq(proto_decode(buf, sizeof(error_vec) + PROTO_NAME_MAX + 1, &m),
			 PROTO_ENAME);
	buf[sizeof(error_vec) - 1] = 1; /* one byte, ESC */
	buf[sizeof(error_vec)] = 0x1b;
	ck_assert_int_eq(proto_decode(buf, sizeof(error_vec) + 1, &m), PROTO_ENAME);
}
END_TEST

START_TEST(test_bad_family)
{
	static const uint8_t bad[] = { 0, 1, 5, 10, 46, 255 };
	uint8_t buf[sizeof(peer_vec)];
	struct proto_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		memcpy(buf, peer_vec, sizeof(buf));
		buf[48] = bad[i]; /* the public endpoint's family */
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_EFAMILY);
		memcpy(buf, peer_vec, sizeof(buf));
		buf[59] = bad[i]; /* the private endpoint's family */
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_EFAMILY);
	}
	/* Family 6 with only 4 address bytes behind it is a truncation. */
	memcpy(buf, peer_vec, sizeof(buf));
	buf[59] = PROTO_AF_INET6;
	ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_ESHORT);
}
END_TEST

START_TEST(test_bad_count)
{
	static const uint8_t ep[] = { 0x04, 0x00, 0x50, 10, 0, 0, 5 }; /* 10.0.0.5 port 80 */
	uint8_t buf[128];
	struct proto_msg m;
	size_t n = 66; /* header, cookie, key, "alice", counter, instance: where REGISTER's count goes */
	int i;

	memcpy(buf, register_vec, n);
	buf[n++] = PROTO_MAX_PRIVATE + 1;
	for (i = 0; i < PROTO_MAX_PRIVATE + 1; i++) {
		memcpy(buf + n, ep, sizeof(ep));
		n += sizeof(ep);
	}
	ck_assert_int_eq(proto_decode(buf, n, &m), PROTO_ECOUNT);
	/* The same with a count of 4 and the fifth endpoint left off is fine. */
	buf[66] = PROTO_MAX_PRIVATE;
	ck_assert_int_eq(proto_decode(buf, n - sizeof(ep), &m), 0);
	ck_assert_uint_eq(m.nprivate, PROTO_MAX_PRIVATE);
	ck_assert_uint_eq(m.private_ep[3].port, 80);
	ck_assert_uint_eq(m.private_ep[3].ip[3], 5);
}
END_TEST

/* DATA with text_len given on the wire and that many bytes present. */
static size_t make_data(uint8_t *buf, uint16_t text_len)
{
	size_t head = sizeof(data_vec) - 7; /* up to the text length */

	memcpy(buf, data_vec, head);
	buf[head] = (uint8_t)(text_len >> 8);
	buf[head + 1] = (uint8_t)text_len;
	memset(buf + head + 2, 'x', text_len);
	return head + 2 + text_len;
}

START_TEST(test_bad_text)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + 8];
	struct proto_msg m;
	size_t n;

	n = make_data(buf, 0);
	ck_assert_int_eq(decode_any(buf, n, &m), PROTO_ELENGTH);
	n = make_data(buf, PROTO_FRAG_MAX + 1);
	ck_assert_int_eq(decode_any(buf, n, &m), PROTO_ELENGTH);
	/* Length 65535 with one byte behind it: judged too long before it is found short. */
	n = make_data(buf, 1);
	buf[n - 3] = 0xff;
	buf[n - 2] = 0xff;
	ck_assert_int_eq(decode_any(buf, n, &m), PROTO_ELENGTH);
	n = make_data(buf, PROTO_FRAG_MAX);
	memset(&m, 0x5a, sizeof(m));
	ck_assert_int_eq(decode_any(buf, n, &m), 0);
	ck_assert_uint_eq(m.text_len, PROTO_FRAG_MAX);
	ck_assert_uint_eq((uint8_t)m.text[PROTO_FRAG_MAX - 1], 'x');
	ck_assert_uint_eq((uint8_t)m.text[PROTO_FRAG_MAX], 0);
}
END_TEST

START_TEST(test_bad_flags)
{
	uint8_t buf[sizeof(data_vec)];
	struct proto_msg m;
	int bit;

	for (bit = 2; bit < 8; bit++) {
		memcpy(buf, data_vec, sizeof(buf));
		buf[13] |= (uint8_t)(1u << bit); /* the flags byte */
		ck_assert_int_eq(decode_any(buf, sizeof(buf), &m), PROTO_ERESERVED);
	}
	memcpy(buf, data_vec, sizeof(buf));
	buf[13] = 0; /* no flags: a middle fragment */
	ck_assert_int_eq(decode_any(buf, sizeof(buf), &m), 0);
	ck_assert_uint_eq(m.flags, 0);
}
END_TEST

/* A newer server may add ERROR codes: they decode, and read as "unknown error". */
START_TEST(test_unknown_error_code)
{
	uint8_t buf[sizeof(error_vec)];
	struct proto_msg m;

	memcpy(buf, error_vec, sizeof(buf));
	buf[12] = 200; /* after the header and the counter */
	ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), 0);
	ck_assert_uint_eq(m.code, 200);
	ck_assert_str_eq(proto_error_text(m.code), "unknown error");
}
END_TEST

START_TEST(test_bad_who_reply)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	size_t n = 24; /* header, counter, total, cursor, next: where the count goes */
	int i;

	/* 33 names: one more than a page holds, each present in full. */
	memcpy(buf, who_reply_vec, n);
	buf[n++] = PROTO_WHO_MAX + 1;
	for (i = 0; i < PROTO_WHO_MAX + 1; i++) {
		buf[n++] = 1;
		buf[n++] = 'a';
	}
	ck_assert_int_eq(proto_decode(buf, n, &m), PROTO_ECOUNT);
	/* 32 of them are fine. */
	buf[24] = PROTO_WHO_MAX;
	ck_assert_int_eq(proto_decode(buf, n - 2, &m), 0);
	ck_assert_uint_eq(m.nnames, PROTO_WHO_MAX);
	ck_assert_str_eq(m.names[PROTO_WHO_MAX - 1], "a");

	/* A name in the list is checked like any other: a space, then an empty one. */
	memcpy(buf, who_reply_vec, sizeof(who_reply_vec));
	buf[sizeof(who_reply_vec) - 1] = ' ';
	ck_assert_int_eq(proto_decode(buf, sizeof(who_reply_vec), &m), PROTO_ENAME);
	buf[sizeof(who_reply_vec) - 2] = 0;
	ck_assert_int_eq(proto_decode(buf, sizeof(who_reply_vec) - 1, &m), PROTO_ENAME);
}
END_TEST

/* MAPPING in its open form: name "a", counter 5, then 20 zero bytes. */
static const uint8_t mapping_vec[] = {
	0x50, 0x02, 0x1b, 0x00,                         /* header: MAPPING */
	0x01, 'a',                                      /* name */
	0, 0, 0, 0, 0, 0, 0, 5,                         /* counter */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* zeros */
};

/* MAPPING's zero bytes are checked, and the answer it may draw is never longer (no amplification). */
START_TEST(test_mapping)
{
	uint8_t buf[sizeof(mapping_vec)];
	struct proto_msg m;

	ck_assert_int_eq(proto_decode(mapping_vec, sizeof(mapping_vec), &m), 0);
	ck_assert_str_eq(m.name, "a");
	ck_assert_uint_eq(m.counter, 5);
	for (size_t i = 14; i < sizeof(buf); i++) {
		memcpy(buf, mapping_vec, sizeof(buf));
		buf[i] = 1;
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_ERESERVED);
	}
	/* The shortest MAPPING sealed (a tag more) against the longest MAPPED sealed (IPv6). */
	ck_assert_uint_ge(sizeof(mapping_vec) + PROTO_TAG_LEN, 4 + 8 + 19 + PROTO_TAG_LEN);
	ck_assert_int_eq(proto_is_sealed(PROTO_MAPPING), 1);
	ck_assert_int_eq(proto_is_sealed(PROTO_MAPPED), 1);
}
END_TEST

/* PEER's NAT kind is one of enum proto_nat, both ways. */
START_TEST(test_bad_nat)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m, out;
	int n;
	size_t at;

	msg_init(&m, PROTO_PEER);
	m.name[0] = 'p';
	set_v4(&m.public_ep, 192, 0, 2, 1, 4000);
	m.nat = PROTO_NAT_SYMMETRIC;
	m.nat_port = 4001;
	n = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(proto_decode(buf, (size_t)n, &out), 0);
	ck_assert_uint_eq(out.nat, PROTO_NAT_SYMMETRIC);
	ck_assert_uint_eq(out.nat_port, 4001);
	at = (size_t)n - 1 - 1 - 2 - 1; /* before the count and the other family: the port, then the kind */
	ck_assert_uint_eq(buf[at], PROTO_NAT_SYMMETRIC);
	buf[at] = PROTO_NAT_LAST + 1;
	ck_assert_int_eq(proto_decode(buf, (size_t)n, &out), PROTO_EVALUE);
	m.nat = PROTO_NAT_LAST + 1;
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), PROTO_EINVAL);
}
END_TEST

START_TEST(test_bad_path)
{
	static const uint8_t bad[] = { 0, PROTO_PATH_RELAY + 1, 0x80, 0xff };
	uint8_t buf[sizeof(report_vec)];
	struct proto_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		memcpy(buf, report_vec, sizeof(buf));
		buf[sizeof(buf) - 1] = bad[i];
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), PROTO_EVALUE);
	}
	for (i = PROTO_PATH_PRIVATE; i <= PROTO_PATH_RELAY; i++) {
		buf[sizeof(buf) - 1] = (uint8_t)i;
		ck_assert_int_eq(proto_decode(buf, sizeof(buf), &m), 0);
		ck_assert_uint_eq(m.path, i);
	}
}
END_TEST

/* STATS_REPLY text: nothing a terminal would obey, no empty text, no more than 1194 bytes. */
START_TEST(test_bad_lines)
{
	static const uint8_t bad[] = { 0x00, 0x07, '\t', '\r', 0x1b, 0x7f, 0x80, 0x9b, 0xff };
	uint8_t buf[PROTO_MAX_DATAGRAM + 8];
	struct proto_msg m;
	size_t i;

	for (i = 0; i < sizeof(bad); i++) {
		memcpy(buf, stats_reply_vec, sizeof(stats_reply_vec));
		buf[7] = bad[i];
		ck_assert_int_eq(proto_decode(buf, sizeof(stats_reply_vec), &m), PROTO_ETEXT);
		memcpy(buf, stats_reply_vec, sizeof(stats_reply_vec));
		buf[sizeof(stats_reply_vec) - 1] = bad[i];
		ck_assert_int_eq(proto_decode(buf, sizeof(stats_reply_vec), &m), PROTO_ETEXT);
	}
	/* Length 0, and 1195 bytes present in full. */
	memcpy(buf, stats_reply_vec, 4);
	buf[4] = 0;
	buf[5] = 0;
	ck_assert_int_eq(proto_decode(buf, 6, &m), PROTO_ELENGTH);
	buf[4] = (uint8_t)((PROTO_STATS_TEXT_MAX + 1) >> 8);
	buf[5] = (uint8_t)(PROTO_STATS_TEXT_MAX + 1);
	memset(buf + 6, 'x', PROTO_STATS_TEXT_MAX + 1);
	ck_assert_int_eq(proto_decode(buf, 6 + PROTO_STATS_TEXT_MAX + 1, &m), PROTO_ELENGTH);
}
END_TEST

/* A payload of 0 bytes, or one more than PROTO_PAYLOAD_MAX present in full, is refused. */
START_TEST(test_bad_payload)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + 8];
	struct proto_msg m;
	size_t head = sizeof(relay_vec) - 2 - sizeof(sealed_vec); /* up to the payload length */

	memcpy(buf, relay_vec, head);
	buf[head] = 0;
	buf[head + 1] = 0;
	ck_assert_int_eq(proto_decode(buf, head + 2, &m), PROTO_ELENGTH);
	buf[head] = (uint8_t)((PROTO_PAYLOAD_MAX + 1) >> 8);
	buf[head + 1] = (uint8_t)(PROTO_PAYLOAD_MAX + 1);
	memset(buf + head + 2, 0x50, PROTO_PAYLOAD_MAX + 1);
	ck_assert_int_eq(proto_decode(buf, head + 2 + PROTO_PAYLOAD_MAX + 1, &m), PROTO_ELENGTH);
	/* The same in RELAYED, whose payload length follows the counter and the name. */
	memcpy(buf, relayed_vec, 18);
	buf[18] = 0;
	buf[19] = 0;
	ck_assert_int_eq(proto_decode(buf, 20, &m), PROTO_ELENGTH);
	buf[18] = 0xff;
	buf[19] = 0xff;
	ck_assert_int_eq(proto_decode(buf, 20 + 16, &m), PROTO_ELENGTH);
}
END_TEST

/*
 * The largest DATA sealed (header, index, counter, tag: 32 bytes more),
 * between the longest names, fits a RELAY; the RELAYED is shorter still.
 */
START_TEST(test_relay_carries_largest_data)
{
	uint8_t buf[PROTO_MAX_DATAGRAM], pt[PROTO_MAX_DATAGRAM];
	struct proto_msg data, sealed, m, got, inner;
	int n, len;

	fill(&data, PROTO_DATA, 1);
	len = proto_inner_encode(&data, pt, sizeof(pt));
	ck_assert_int_eq(len, 1040);
	fill(&sealed, PROTO_SEALED, 0);
	sealed.payload_len = (uint16_t)(12 + len + 16);
	fill(&m, PROTO_RELAY, 1);
	n = proto_encode(&sealed, m.payload, sizeof(m.payload));
	ck_assert_int_eq(n, 1072);
	m.payload_len = (uint16_t)n;
	/* The open form; the tag makes it PROTO_RELAY_OVERHEAD + n on the wire. */
	ck_assert_int_eq(proto_encode(&m, buf, sizeof(buf)), PROTO_RELAY_OVERHEAD - PROTO_TAG_LEN + n);
	ck_assert_int_le(PROTO_RELAY_OVERHEAD + n, PROTO_MAX_DATAGRAM);
	ck_assert_int_eq(decode_copy(buf, (size_t)(PROTO_RELAY_OVERHEAD - PROTO_TAG_LEN + n), &got),
			 0);
	ck_assert_int_eq(proto_decode(got.payload, got.payload_len, &inner), 0);
	msg_same(&sealed, &inner);
}
END_TEST

/*
 * The server answers a REGISTER or REFRESH from an address not yet proven
 * with COOKIE: it must be smaller than the smallest of them (a 1-byte name,
 * no endpoints), so a forged source never gets more bytes than were sent
 * in its name (no amplification; protocol.h).
 */
START_TEST(test_cookie_smaller_than_requests)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	int cookie, reg, ref;

	fill(&m, PROTO_COOKIE, 1);
	cookie = proto_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(cookie, 44);
	/* The requests on the wire: their open form and the tag. */
	fill(&m, PROTO_REGISTER, 0);
	ck_assert_str_eq(m.name, "_");
	ck_assert_uint_eq(m.nprivate, 0);
	reg = proto_encode(&m, buf, sizeof(buf)) + PROTO_TAG_LEN;
	ck_assert_int_eq(reg, 79);
	fill(&m, PROTO_REFRESH, 0);
	ck_assert_str_eq(m.name, "_");
	ref = proto_encode(&m, buf, sizeof(buf)) + PROTO_TAG_LEN;
	ck_assert_int_eq(ref, 78);
	ck_assert_int_lt(cookie, reg);
	ck_assert_int_lt(cookie, ref);
}
END_TEST

/* Each broken message is PROTO_EINVAL, even into a buffer too small for it. */
static void expect_einval(const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];

	ck_assert_int_eq(encode_any(m, buf, sizeof(buf)), PROTO_EINVAL);
	memset(buf, CANARY, sizeof(buf));
	ck_assert_int_eq(encode_any(m, buf, 0), PROTO_EINVAL);
	ck_assert_int_eq(encode_any(m, buf, 5), PROTO_EINVAL);
	ck_assert_uint_eq(buf[5], CANARY);
}

START_TEST(test_encode_invalid)
{
	struct proto_msg m;

	fill(&m, PROTO_REGISTER, 1);
	m.name[0] = '\0'; /* empty name */
	expect_einval(&m);
	fill(&m, PROTO_REGISTER, 1);
	m.name[3] = ' '; /* a space in the name */
	expect_einval(&m);
	fill(&m, PROTO_REGISTER, 1);
	memset(m.name, 'a', sizeof(m.name)); /* 33 bytes, no NUL */
	expect_einval(&m);
	fill(&m, PROTO_REGISTER, 1);
	m.nprivate = PROTO_MAX_PRIVATE + 1;
	expect_einval(&m);
	fill(&m, PROTO_REGISTER, 1);
	m.private_ep[3].family = 5;
	expect_einval(&m);
	fill(&m, PROTO_REGISTER, 0);
	m.nprivate = 1; /* an endpoint of family 0: "none" cannot travel */
	expect_einval(&m);

	fill(&m, PROTO_LOOKUP, 1);
	m.target[0] = '\0';
	expect_einval(&m);
	fill(&m, PROTO_ERROR, 1);
	m.name[0] = '/';
	expect_einval(&m);
	fill(&m, PROTO_PEER, 1);
	m.public_ep.family = 0; /* PEER always carries a public endpoint */
	expect_einval(&m);
	fill(&m, PROTO_REGISTERED, 1);
	m.public_ep.family = 4 + 6;
	expect_einval(&m);

	fill(&m, PROTO_DATA, 1);
	m.text_len = 0;
	expect_einval(&m);
	fill(&m, PROTO_DATA, 1);
	m.text_len = PROTO_FRAG_MAX + 1;
	expect_einval(&m);
	fill(&m, PROTO_DATA, 1);
	m.flags = 0x04;
	expect_einval(&m);

	fill(&m, PROTO_STATS_REPLY, 1);
	m.text[5] = '\033'; /* an ESC in the counters */
	expect_einval(&m);
	fill(&m, PROTO_STATS_REPLY, 1);
	m.text_len = 0;
	expect_einval(&m);
	fill(&m, PROTO_WHO_REPLY, 1);
	m.nnames = PROTO_WHO_MAX + 1;
	expect_einval(&m);
	fill(&m, PROTO_WHO_REPLY, 1);
	m.names[7][0] = '\0'; /* an empty name in the list */
	expect_einval(&m);
	fill(&m, PROTO_REPORT, 1);
	m.path = 0;
	expect_einval(&m);
	m.path = PROTO_PATH_RELAY + 1;
	expect_einval(&m);

	fill(&m, PROTO_RELAY, 1);
	m.payload_len = 0;
	expect_einval(&m);
	m.payload_len = PROTO_PAYLOAD_MAX + 1;
	expect_einval(&m);
	fill(&m, PROTO_RELAY, 1);
	m.target[0] = '\0';
	expect_einval(&m);
	fill(&m, PROTO_RELAYED, 0);
	m.payload_len = PROTO_PAYLOAD_MAX + 1;
	expect_einval(&m);

	fill(&m, PROTO_PROBE, 0);
	m.payload_len = PROTO_INIT_LEN - 1;
	expect_einval(&m);
	fill(&m, PROTO_PROBE_ACK, 0);
	m.payload_len = PROTO_RESP_LEN + 1;
	expect_einval(&m);
	fill(&m, PROTO_SEALED, 0);
	m.payload_len = PROTO_SEALED_MIN - 1;
	expect_einval(&m);
	m.payload_len = PROTO_SEALED_MAX + 1;
	expect_einval(&m);

	fill(&m, PROTO_BYE, 0);
	m.type = 0;
	expect_einval(&m);
	m.type = 27;
	expect_einval(&m);
}
END_TEST

/* Fields of other types are not encoded: junk there neither fails nor travels. */
START_TEST(test_encode_ignores_other_fields)
{
	uint8_t a[64], b[64];
	struct proto_msg m;
	int n;

	fill(&m, PROTO_BYE, 1);
	n = encode_any(&m, a, sizeof(a));
	ck_assert_int_eq(n, 5);
	m.nprivate = 200;
	m.text_len = 0xffff;
	m.name[0] = ' ';
	m.public_ep.family = 99;
	m.payload_len = 0xffff;
	ck_assert_int_eq(encode_any(&m, b, sizeof(b)), n);
	ck_assert_mem_eq(a, b, (size_t)n);
}
END_TEST

START_TEST(test_name_valid)
{
	char name[PROTO_NAME_MAX + 2];

	ck_assert_int_eq(proto_name_valid("a"), 1);
	ck_assert_int_eq(proto_name_valid("Alice_2.0-beta"), 1);
	ck_assert_int_eq(proto_name_valid("..."), 1);
	ck_assert_int_eq(proto_name_valid(""), 0);
	ck_assert_int_eq(proto_name_valid("a b"), 0);
	ck_assert_int_eq(proto_name_valid("a/b"), 0);
	ck_assert_int_eq(proto_name_valid("a\x1b"), 0);
	ck_assert_int_eq(proto_name_valid("a\xff"), 0);
	ck_assert_int_eq(proto_name_valid("caf\xc3\xa9"), 0);
	ck_assert_int_eq(proto_name_valid("a\n"), 0);

	memset(name, 'z', PROTO_NAME_MAX);
	name[PROTO_NAME_MAX] = '\0';
	ck_assert_int_eq(proto_name_valid(name), 1);
	name[PROTO_NAME_MAX] = 'z';
	name[PROTO_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(proto_name_valid(name), 0);
}
END_TEST

START_TEST(test_addr_equal)
{
	struct proto_addr a, b;

	set_v4(&a, 10, 0, 0, 1, 4000);
	set_v4(&b, 10, 0, 0, 1, 4000);
	ck_assert_int_eq(proto_addr_equal(&a, &b), 1);
	b.ip[15] = 0x77; /* bytes past an IPv4 address do not count */
	ck_assert_int_eq(proto_addr_equal(&a, &b), 1);
	b.ip[3] = 2;
	ck_assert_int_eq(proto_addr_equal(&a, &b), 0);
	set_v4(&b, 10, 0, 0, 1, 4001);
	ck_assert_int_eq(proto_addr_equal(&a, &b), 0);

	set_v6(&a, 0x20, 4000);
	set_v6(&b, 0x20, 4000);
	ck_assert_int_eq(proto_addr_equal(&a, &b), 1);
	b.ip[15] ^= 1;
	ck_assert_int_eq(proto_addr_equal(&a, &b), 0);
	set_v6(&b, 0x20, 4000);
	b.family = PROTO_AF_INET; /* same first 4 bytes, other family */
	ck_assert_int_eq(proto_addr_equal(&a, &b), 0);
}
END_TEST

START_TEST(test_strings)
{
	const char *text[PROTO_NRESULTS];
	int i, j;

	for (i = 0; i < PROTO_NRESULTS; i++) {
		text[i] = proto_strerror(-i);
		ck_assert_ptr_nonnull(text[i]);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(text[i], text[j]);
	}
	ck_assert_str_eq(proto_strerror(0), "ok");
	ck_assert_ptr_nonnull(proto_strerror(-PROTO_NRESULTS));
	ck_assert_ptr_nonnull(proto_strerror(1));

	for (i = 0; i < NTYPES; i++) {
		ck_assert_str_ne(proto_type_name(all_types[i]), "unknown");
		for (j = 0; j < i; j++) {
			ck_assert_str_ne(proto_type_name(all_types[i]),
					 proto_type_name(all_types[j]));
		}
	}
	ck_assert_str_eq(proto_type_name(PROTO_REGISTER), "REGISTER");
	ck_assert_str_eq(proto_type_name(PROTO_PROBE_ACK), "PROBE_ACK");
	ck_assert_str_eq(proto_type_name(0), "unknown");
	ck_assert_str_eq(proto_type_name(PROTO_WHO_REPLY), "WHO_REPLY");
	ck_assert_str_eq(proto_type_name(PROTO_RELAYED), "RELAYED");
	ck_assert_str_eq(proto_type_name(14), "COOKIE");
	ck_assert_str_eq(proto_type_name(15), "NOTICE");
	ck_assert_str_eq(proto_type_name(23), "SEALED");
	ck_assert_str_eq(proto_type_name(PROTO_PATH_CHALLENGE), "PATH_CHALLENGE");
	ck_assert_str_eq(proto_type_name(27), "MAPPING");
	ck_assert_str_eq(proto_type_name(29), "unknown");
	ck_assert_str_eq(proto_type_name(256 + PROTO_DATA), "unknown");

	for (i = PROTO_E_VERSION; i <= PROTO_E_LAST; i++) {
		ck_assert_str_ne(proto_error_text(i), "unknown error");
		for (j = PROTO_E_VERSION; j < i; j++)
			ck_assert_str_ne(proto_error_text(i), proto_error_text(j));
	}
	ck_assert_str_eq(proto_error_text(PROTO_E_NAME_TAKEN), "name is taken");
	ck_assert_str_eq(proto_error_text(0), "unknown error");
	ck_assert_str_eq(proto_error_text(PROTO_E_TOO_MANY_NAMES),
			 "too many names from this address");
	ck_assert_str_eq(proto_error_text(PROTO_E_ADDRESS),
			 "name is registered at another address");
	ck_assert_str_eq(proto_error_text(PROTO_E_REPLACED),
			 "another instance registered this name");
	ck_assert_str_eq(proto_error_text(PROTO_E_LAST + 1), "unknown error");
}
END_TEST

/* The peer-to-peer types are exactly those a relay may carry. */
START_TEST(test_peer_types)
{
	int i, n = 0;

	for (i = -1; i < 300; i++)
		n += proto_is_peer_type(i);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(proto_is_peer_type(PROTO_PROBE), 1);
	ck_assert_int_eq(proto_is_peer_type(PROTO_PROBE_ACK), 1);
	ck_assert_int_eq(proto_is_peer_type(PROTO_SEALED), 1);
	ck_assert_int_eq(proto_is_peer_type(PROTO_DATA), 0); /* inner only: always sealed */
	ck_assert_int_eq(proto_is_peer_type(PROTO_RELAY), 0);
	ck_assert_int_eq(proto_is_peer_type(PROTO_RELAYED), 0);
	ck_assert_int_eq(proto_is_peer_type(PROTO_REGISTER), 0);
}
END_TEST

static Suite *protocol_suite(void)
{
	Suite *s = suite_create("protocol");
	TCase *vec = tcase_create("vectors");
	TCase *trip = tcase_create("round trips");
	TCase *bad = tcase_create("malformed");
	TCase *enc = tcase_create("encode");
	TCase *misc = tcase_create("helpers");

	tcase_add_test(vec, test_vector_register);
	tcase_add_test(vec, test_vector_peer);
	tcase_add_test(vec, test_vector_peer_other);
	tcase_add_test(vec, test_vector_data);
	tcase_add_test(vec, test_vector_ack);
	tcase_add_test(vec, test_vector_inner_small);
	tcase_add_test(vec, test_vector_sealed);
	tcase_add_test(vec, test_vector_error);
	tcase_add_test(vec, test_vector_notice_and_version_refusal);
	tcase_add_test(vec, test_decode_prefix);
	tcase_add_test(vec, test_vector_registered);
	tcase_add_test(vec, test_vector_refresh);
	tcase_add_test(vec, test_vector_cookie);
	tcase_add_test(vec, test_vector_stats);
	tcase_add_test(vec, test_vector_stats_reply);
	tcase_add_test(vec, test_vector_who);
	tcase_add_test(vec, test_vector_who_reply);
	tcase_add_test(vec, test_vector_report);
	tcase_add_test(vec, test_vector_relay);
	tcase_add_test(vec, test_vector_relayed);
	suite_add_tcase(s, vec);

	tcase_add_loop_test(trip, test_round_trip, 0, 2 * NTYPES);
	tcase_add_loop_test(trip, test_max_size, 0, NTYPES);
	suite_add_tcase(s, trip);

	tcase_add_loop_test(bad, test_truncated, 0, 2 * NTYPES);
	tcase_add_test(bad, test_bad_header);
	tcase_add_test(bad, test_inner_apart);
	tcase_add_test(bad, test_bad_names);
	tcase_add_test(bad, test_bad_target_and_subject);
	tcase_add_test(bad, test_bad_family);
	tcase_add_test(bad, test_bad_count);
	tcase_add_test(bad, test_bad_text);
	tcase_add_test(bad, test_bad_flags);
	tcase_add_test(bad, test_unknown_error_code);
	tcase_add_test(bad, test_bad_who_reply);
	tcase_add_test(bad, test_bad_path);
	tcase_add_test(bad, test_mapping);
	tcase_add_test(bad, test_bad_nat);
	tcase_add_test(bad, test_bad_lines);
	tcase_add_test(bad, test_bad_payload);
	suite_add_tcase(s, bad);

	tcase_add_loop_test(enc, test_encode_nospace, 0, 2 * NTYPES);
	tcase_add_test(enc, test_encode_ignores_version);
	tcase_add_test(enc, test_encode_invalid);
	tcase_add_test(enc, test_encode_ignores_other_fields);
	suite_add_tcase(s, enc);

	tcase_add_test(misc, test_name_valid);
	tcase_add_test(misc, test_addr_equal);
	tcase_add_test(misc, test_strings);
	tcase_add_test(misc, test_peer_types);
	tcase_add_test(misc, test_relay_carries_largest_data);
	tcase_add_test(misc, test_cookie_smaller_than_requests);
	suite_add_tcase(s, misc);
	return s;
}

int main(void)
{
	return harness_run(protocol_suite());
}
