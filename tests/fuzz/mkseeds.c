/* tests/fuzz/mkseeds.c - writes the fuzzers' seed corpus: one valid input of every kind, and a few classics of abuse. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "protocol.h"
#include "session_setup.h"

/*
 * Usage: mkseeds DIR   (make fuzz-seeds runs it on tests/fuzz/corpus)
 * Writes DIR/proto, DIR/stun, DIR/server, DIR/client, DIR/term, DIR/crypto and DIR/session. The
 * files are committed; run this again when the wire format changes.
 *
 * The server and client seeds are series of records (fuzz.h): a control
 * byte (source, time step), a 16-bit length, a datagram. The client seeds
 * carry the epochs that fuzz_client.c sets up (fuzz.h), and bob's lines
 * are plaintexts that it seals under the session it made with the client,
 * so they reach the chat itself.
 *
 * A server seed starts with fuzz_server.c's configuration byte, and the
 * first byte of a REGISTER's or REFRESH's cookie tells that harness which
 * cookie to put in (its FUZZ_CFG_ flags and enum fuzz_cookie; the values
 * are repeated here).
 */
#define SEED_MAX 8192

#define CFG_PLAIN 0x00     /* no limits, WHO refused, relay on */
#define CFG_LIMITS 0x01    /* small per-source budgets */
#define CFG_WHO 0x02       /* --allow-who */
#define CFG_NO_RELAY 0x04  /* --no-relay */
#define CFG_FEW_SLOTS 0x08 /* the four sources share 2 slots */

#define COOKIE_NONE 0        /* zeros, sent as they are: a client's first REGISTER */
#define COOKIE_RIGHT 1       /* the harness puts the source's cookie in */
#define COOKIE_LAST_PERIOD 2 /* the source's cookie of the period before: still good */
#define COOKIE_TOO_OLD 3     /* two periods old: refused */
#define COOKIE_OTHER 4       /* another source's: refused */

static const char *out_dir;

/* One seed file being built. */
struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
};

static void die(const char *what)
{
	fprintf(stderr, "mkseeds: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void write_seed(const char *target, const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, target, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

/*
 * Encodes m into s (which is cleared first): a datagram, or for an inner
 * type (DATA, ACK, PING, PONG, BYE, PATH_*, CONFIRM) the plaintext of a
 * SEALED one, which fuzz_client.c seals as bob before the client sees it.
 * Exits on an invalid message: a bug here.
 */
static void encode(const struct proto_msg *m, struct seed *s)
{
	int inner = proto_encode(m, s->buf, 0) == PROTO_EINVAL; /* not a datagram's type */
	int n = inner ? proto_inner_encode(m, s->buf, sizeof(s->buf)) :
			proto_encode(m, s->buf, sizeof(s->buf));

	if (n < 0) {
		fprintf(stderr, "mkseeds: cannot encode %s: %s\n", proto_type_name(m->type),
			proto_strerror(n));
		exit(1);
	}
	s->len = (size_t)n;
}

/* Appends one record: datagram buf[0..len) from source `src`, `steps` x FUZZ_STEP_MS later. */
static void add_raw(struct seed *s, unsigned src, unsigned steps, const uint8_t *buf, size_t len)
{
	if (sizeof(s->buf) - s->len < FUZZ_RECORD_HEADER + len) {
		fprintf(stderr, "mkseeds: seed too long\n");
		exit(1);
	}
	s->buf[s->len++] = (uint8_t)(steps << 2 | src);
	s->buf[s->len++] = (uint8_t)(len >> 8);
	s->buf[s->len++] = (uint8_t)len;
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
}

static void add_msg(struct seed *s, unsigned src, unsigned steps, const struct proto_msg *m)
{
	struct seed one;

	encode(m, &one);
	add_raw(s, src, steps, one.buf, one.len);
}

/* A message of `type` with `name` (may be NULL), everything else zero. */
static struct proto_msg msg(uint8_t type, const char *name)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	if (name != NULL)
		snprintf(m.name, sizeof(m.name), "%s", name);
	return m;
}

/*
 * The client a request comes from, for fuzz_server.c, which seals it:
 * "tokenAAA" is owner 0, "tokenBBB" 1, "tokenCCC" 2, any other 3 (the
 * names of version 1's tokens). REGISTER and REFRESH carry it in their
 * key's first byte, every request in its counter's low bits; the
 * counters grow, so that no seed is a replay by accident.
 */
static void owner(struct proto_msg *m, const char *token)
{
	static uint64_t seq;
	uint8_t o = token[5] >= 'A' && token[5] <= 'C' ? (uint8_t)(token[5] - 'A') : 3;

	m->key[0] = o;
	m->counter = (++seq << 8) | o;
}

/* A message from a client to the server: name, its owner and (LOOKUP, REPORT) target. */
static struct proto_msg request(uint8_t type, const char *name, const char *token,
				const char *target)
{
	struct proto_msg m = msg(type, name);

	owner(&m, token);
	if (target != NULL)
		snprintf(m.target, sizeof(m.target), "%s", target);
	return m;
}

/* A REGISTER or REFRESH to fuzz_server.c with the cookie mode `cookie` (COOKIE_ above). */
static struct proto_msg claim(uint8_t type, const char *name, const char *token, uint8_t cookie)
{
	struct proto_msg m = request(type, name, token, NULL);

	m.cookie[0] = cookie;
	return m;
}

/* Appends claim(type, name, token, cookie) as add_msg does. */
static void add_claim(struct seed *s, unsigned src, unsigned steps, uint8_t type,
		      const char *name, const char *token, uint8_t cookie)
{
	struct proto_msg m = claim(type, name, token, cookie);

	add_msg(s, src, steps, &m);
}

/* An ERROR from the server: code, the request it answers, the name it is about. */
static struct proto_msg refusal(uint8_t code, uint8_t req, const char *name)
{
	struct proto_msg m = msg(PROTO_ERROR, name);

	m.code = code;
	m.request = req;
	return m;
}

/* Starts a server seed: the configuration byte of fuzz_server.c (CFG_ above). */
static void server_start(struct seed *s, uint8_t cfg)
{
	s->buf[0] = cfg;
	s->len = 1;
}

/*
 * A peer-to-peer message to the fuzzed client, from bob, with the epochs
 * it knows: an inner message to be sealed, or a PROBE or PROBE_ACK whose
 * handshake bytes are made up (they do not open: the decoders' refusals).
 */
static struct proto_msg from_bob(uint8_t type)
{
	struct proto_msg m = msg(type, NULL);

	m.epoch = FUZZ_BOB_EPOCH;
	m.peer_epoch = FUZZ_MY_EPOCH;
	if (type == PROTO_PROBE || type == PROTO_PROBE_ACK) {
		m.payload_len = type == PROTO_PROBE ? PROTO_INIT_LEN : PROTO_RESP_LEN;
		for (int i = 0; i < m.payload_len; i++)
			m.payload[i] = (uint8_t)(i * 13 + 1);
	}
	return m;
}

static struct proto_msg data(uint32_t seq, uint8_t flags, const char *text)
{
	struct proto_msg m = from_bob(PROTO_DATA);

	m.seq = seq;
	m.flags = flags;
	m.text_len = (uint16_t)strlen(text);
	memcpy(m.text, text, m.text_len);
	return m;
}

/* A RELAY (or RELAYED) of `name` carrying the peer-to-peer message inner as its payload. */
static struct proto_msg relay(uint8_t type, const char *name, const char *token,
			      const char *target, const struct proto_msg *inner)
{
	struct proto_msg m = msg(type, name);
	struct seed one;

	if (token != NULL)
		owner(&m, token);
	if (target != NULL)
		snprintf(m.target, sizeof(m.target), "%s", target);
	encode(inner, &one);
	memcpy(m.payload, one.buf, one.len);
	m.payload_len = (uint16_t)one.len;
	return m;
}

/* One valid datagram of every message type, and a few near misses. */
static void proto_seeds(void)
{
	struct proto_msg m;
	struct seed s;

	/* A first REGISTER has no cookie yet: zeros. */
	m = request(PROTO_REGISTER, "alice", "tokenAAA", NULL);
	m.nprivate = 2;
	fuzz_addr4(&m.private_ep[0], 10, 0, 0, 2, 4000);
	fuzz_addr6(&m.private_ep[1], 2, 4000);
	encode(&m, &s);
	write_seed("proto", "register", s.buf, s.len);
	/* The same, a byte short: a truncation. */
	write_seed("proto", "register-short", s.buf, s.len - 1);
	/* Sent again with the server's cookie. */
	memcpy(m.cookie, "cookie01", PROTO_COOKIE_LEN);
	encode(&m, &s);
	write_seed("proto", "register-cookie", s.buf, s.len);

	m = msg(PROTO_COOKIE, NULL);
	memcpy(m.cookie, "cookie01", PROTO_COOKIE_LEN);
	encode(&m, &s);
	write_seed("proto", "cookie", s.buf, s.len);

	m = msg(PROTO_REGISTERED, "alice");
	m.ttl_s = 60;
	memcpy(m.cookie, "cookie02", PROTO_COOKIE_LEN);
	fuzz_addr4(&m.public_ep, 203, 0, 113, 7, 40211);
	encode(&m, &s);
	write_seed("proto", "registered", s.buf, s.len);

	m = request(PROTO_REFRESH, "alice", "tokenAAA", NULL);
	memcpy(m.cookie, "cookie02", PROTO_COOKIE_LEN);
	encode(&m, &s);
	write_seed("proto", "refresh", s.buf, s.len);

	m = request(PROTO_LOOKUP, "alice", "tokenAAA", "bob");
	encode(&m, &s);
	write_seed("proto", "lookup", s.buf, s.len);

	m = msg(PROTO_PEER, "bob");
	fuzz_addr6(&m.public_ep, 4, 7000);
	m.nat = PROTO_NAT_SYMMETRIC;
	m.nat_port = 7001;
	m.nprivate = PROTO_MAX_PRIVATE;
	fuzz_addr4(&m.private_ep[0], 10, 0, 0, 3, 5000);
	fuzz_addr4(&m.private_ep[1], 192, 168, 1, 3, 5000);
	fuzz_addr6(&m.private_ep[2], 3, 5000);
	fuzz_addr4(&m.private_ep[3], 172, 16, 0, 3, 5000);
	encode(&m, &s);
	write_seed("proto", "peer", s.buf, s.len);

	m = msg(PROTO_ERROR, "");
	m.code = PROTO_E_VERSION;
	m.request = PROTO_REGISTER;
	m.detail = PROTO_VERSION;
	encode(&m, &s);
	write_seed("proto", "error", s.buf, s.len);
	/* The version byte the server refuses with that ERROR. */
	s.buf[1] = PROTO_VERSION + 1;
	write_seed("proto", "version2", s.buf, s.len);
	m = refusal(PROTO_E_TOO_MANY_NAMES, PROTO_REGISTER, "alice");
	encode(&m, &s);
	write_seed("proto", "error-too-many-names", s.buf, s.len);
	m = refusal(PROTO_E_ADDRESS, PROTO_LOOKUP, "alice");
	encode(&m, &s);
	write_seed("proto", "error-address", s.buf, s.len);

	m = msg(PROTO_STATS, NULL);
	encode(&m, &s);
	write_seed("proto", "stats", s.buf, s.len);

	m = msg(PROTO_STATS_REPLY, NULL);
	strcpy(m.text, "received 12\nnames 2\n");
	m.text_len = (uint16_t)strlen(m.text);
	encode(&m, &s);
	write_seed("proto", "stats-reply", s.buf, s.len);

	m = request(PROTO_WHO, "alice", "tokenAAA", NULL);
	m.cursor = 7;
	encode(&m, &s);
	write_seed("proto", "who", s.buf, s.len);

	m = msg(PROTO_WHO_REPLY, NULL);
	m.total = 3;
	m.cursor = 7;
	m.next = 9;
	m.nnames = 2;
	strcpy(m.names[0], "bob");
	strcpy(m.names[1], "carol");
	encode(&m, &s);
	write_seed("proto", "who-reply", s.buf, s.len);

	m = request(PROTO_REPORT, "alice", "tokenAAA", "bob");
	m.path = PROTO_PATH_PUBLIC;
	encode(&m, &s);
	write_seed("proto", "report", s.buf, s.len);

	m = request(PROTO_MAPPING, "alice", "tokenAAA", NULL);
	encode(&m, &s);
	write_seed("proto", "mapping", s.buf, s.len);
	m = msg(PROTO_MAPPED, NULL);
	fuzz_addr4(&m.public_ep, 198, 51, 100, 7, 40002);
	encode(&m, &s);
	write_seed("proto", "mapped", s.buf, s.len);

	m = from_bob(PROTO_PROBE);
	encode(&m, &s);
	write_seed("proto", "probe", s.buf, s.len);
	m = from_bob(PROTO_PROBE_ACK);
	encode(&m, &s);
	write_seed("proto", "probe-ack", s.buf, s.len);
	m = msg(PROTO_SEALED, NULL);
	m.payload_len = PROTO_SEALED_MIN + 5;
	memset(m.payload, 0x5e, m.payload_len);
	encode(&m, &s);
	write_seed("proto", "sealed", s.buf, s.len);
	m = from_bob(PROTO_PATH_CHALLENGE);
	memcpy(m.path_data, "chllnge!", PROTO_PATH_DATA_LEN);
	encode(&m, &s);
	write_seed("proto", "path-challenge", s.buf, s.len);

	m = data(0, PROTO_DATA_END, "hello, alice");
	encode(&m, &s);
	write_seed("proto", "data", s.buf, s.len);

	m = from_bob(PROTO_ACK);
	m.ack = 3;
	m.sack = 0x5;
	encode(&m, &s);
	write_seed("proto", "ack", s.buf, s.len);

	m = from_bob(PROTO_PING);
	m.stamp = 123456;
	encode(&m, &s);
	write_seed("proto", "ping", s.buf, s.len);
	m.type = PROTO_PONG;
	encode(&m, &s);
	write_seed("proto", "pong", s.buf, s.len);

	m = from_bob(PROTO_BYE);
	encode(&m, &s);
	write_seed("proto", "bye", s.buf, s.len);

	m = relay(PROTO_RELAY, "alice", "tokenAAA", "bob", &m);
	encode(&m, &s);
	write_seed("proto", "relay", s.buf, s.len);
	m = data(0, PROTO_DATA_END, "relayed hello");
	m = relay(PROTO_RELAYED, "bob", NULL, NULL, &m);
	encode(&m, &s);
	write_seed("proto", "relayed", s.buf, s.len);
}

/* Binding requests: RFC 5769's sample, the bare minimum, RFC 3489's form, and what gets no answer or a 420. */
static void stun_seeds(void)
{
	/* RFC 5769, section 2.1: an ICE check with USERNAME, MESSAGE-INTEGRITY and FINGERPRINT. */
	static const uint8_t rfc5769[] = {
		0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
		0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
		0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
		0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
		0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
		0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
		0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
		0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
		0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
	};
	/* Header only: type Binding request, length 0, cookie, transaction ID. */
	static const uint8_t bare[] = {
		0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
		't', 'r', 'a', 'n', 's', 'a', 'c', 't', 'i', 'o', 'n', '1',
	};
	/* RFC 3489 form: no cookie, a 16-byte ID, CHANGE-REQUEST asking no change. */
	static const uint8_t classic[] = {
		0x00, 0x01, 0x00, 0x08, 'c', 'l', 'a', 's', 's', 'i', 'c', '-',
		's', 't', 'u', 'n', '-', 'i', 'd', '!', 0x00, 0x03, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x00,
	};
	/* CHANGE-REQUEST "change IP and port", and an unknown required attribute 0x7777: a 420. */
	static const uint8_t unknown[] = {
		0x00, 0x01, 0x00, 0x10, 0x21, 0x12, 0xa4, 0x42,
		't', 'r', 'a', 'n', 's', 'a', 'c', 't', 'i', 'o', 'n', '2',
		0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x00, 0x06,
		0x77, 0x77, 0x00, 0x02, 0xab, 0xcd, 0x00, 0x00,
	};
	/* A Binding indication: never answered. */
	static const uint8_t indication[] = {
		0x00, 0x11, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
		't', 'r', 'a', 'n', 's', 'a', 'c', 't', 'i', 'o', 'n', '3',
	};

	write_seed("stun", "rfc5769-request", rfc5769, sizeof(rfc5769));
	write_seed("stun", "bare", bare, sizeof(bare));
	write_seed("stun", "classic", classic, sizeof(classic));
	write_seed("stun", "unknown-attribute", unknown, sizeof(unknown));
	write_seed("stun", "indication", indication, sizeof(indication));
}

/* Conversations with the server: sources as in fuzz_server.c (FUZZ_LOOPBACK is 127.0.0.1). */
static void server_seeds(void)
{
	static const uint8_t bare_stun[] = {
		0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42,
		't', 'r', 'a', 'n', 's', 'a', 'c', 't', 'i', 'o', 'n', '4',
	};
	struct proto_msg m;
	struct seed s, one;
	int k;

	/* Register two, introduce them, refresh, list, report, and the operator's STATS. */
	server_start(&s, CFG_WHO);
	m = claim(PROTO_REGISTER, "alice", "tokenAAA", COOKIE_RIGHT);
	m.nprivate = 1;
	fuzz_addr4(&m.private_ep[0], 10, 0, 0, 2, 4000);
	add_msg(&s, FUZZ_HOST1, 0, &m);
	add_claim(&s, FUZZ_HOST6, 1, PROTO_REGISTER, "bob", "tokenBBB", COOKIE_RIGHT);
	m = request(PROTO_LOOKUP, "alice", "tokenAAA", "bob");
	add_msg(&s, FUZZ_HOST1, 1, &m);
	m = request(PROTO_LOOKUP, "alice", "tokenAAA", "nobody");
	add_msg(&s, FUZZ_HOST1, 0, &m);
	add_claim(&s, FUZZ_HOST6, 5, PROTO_REFRESH, "bob", "tokenBBB", COOKIE_RIGHT);
	m = request(PROTO_WHO, "alice", "tokenAAA", NULL);
	add_msg(&s, FUZZ_HOST1, 0, &m);
	m = request(PROTO_REPORT, "alice", "tokenAAA", "bob");
	m.path = PROTO_PATH_PUBLIC;
	add_msg(&s, FUZZ_HOST1, 0, &m);
	m = msg(PROTO_STATS, NULL);
	add_msg(&s, FUZZ_LOOPBACK, 0, &m);
	add_msg(&s, FUZZ_HOST2, 0, &m);
	write_seed("server", "introduce", s.buf, s.len);

	/* A name taken, the table filled (fuzz_server.c holds 3), then expiry (TTL 2 s). */
	server_start(&s, CFG_PLAIN);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REGISTER, "alice", "tokenAAA", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST2, 0, PROTO_REGISTER, "alice", "tokenXXX", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST2, 0, PROTO_REGISTER, "bob", "tokenBBB", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST6, 0, PROTO_REGISTER, "carol", "tokenCCC", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST6, 0, PROTO_REGISTER, "dave", "tokenDDD", COOKIE_RIGHT);
	m = request(PROTO_LOOKUP, "alice", "tokenAAA", "carol");
	add_msg(&s, FUZZ_HOST1, 30, &m);
	add_claim(&s, FUZZ_HOST2, 0, PROTO_REFRESH, "bob", "tokenBBB", COOKIE_RIGHT);
	write_seed("server", "full-and-expiry", s.buf, s.len);

	/*
	 * What is not a request: a STUN Binding request, another version (a
	 * REFRESH, answered; 7 bytes of it, not: the ERROR would be larger), a
	 * peer message.
	 */
	server_start(&s, CFG_PLAIN);
	add_raw(&s, FUZZ_HOST6, 0, bare_stun, sizeof(bare_stun));
	m = claim(PROTO_REFRESH, "alice", "tokenAAA", COOKIE_NONE);
	encode(&m, &one);
	one.buf[1] = PROTO_VERSION + 1;
	add_raw(&s, FUZZ_HOST1, 0, one.buf, one.len);
	add_raw(&s, FUZZ_HOST1, 0, one.buf, PROTO_HEADER_LEN + 3);
	m = from_bob(PROTO_PING);
	add_msg(&s, FUZZ_HOST2, 0, &m);
	write_seed("server", "not-requests", s.buf, s.len);

	/* Punching failed: alice and bob talk through the server's relay. */
	server_start(&s, CFG_PLAIN);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REGISTER, "alice", "tokenAAA", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST2, 0, PROTO_REGISTER, "bob", "tokenBBB", COOKIE_RIGHT);
	{
		struct proto_msg inner = from_bob(PROTO_PROBE);

		m = relay(PROTO_RELAY, "bob", "tokenBBB", "alice", &inner);
		add_msg(&s, FUZZ_HOST2, 1, &m);
		inner = data(0, PROTO_DATA_END, "through the relay");
		m = relay(PROTO_RELAY, "alice", "tokenAAA", "bob", &inner);
		add_msg(&s, FUZZ_HOST1, 0, &m);
		add_msg(&s, FUZZ_HOST1, 0, &m);
		m = request(PROTO_REPORT, "alice", "tokenAAA", "bob");
		m.path = PROTO_PATH_RELAY;
		add_msg(&s, FUZZ_HOST1, 0, &m);
	}
	write_seed("server", "relay", s.buf, s.len);

	/*
	 * The cookie round trip: no cookie, then the right one; last period's,
	 * still good; one too old, another source's; requests from an address
	 * other than the name's (PROTO_E_ADDRESS) until a REFRESH moves it there.
	 */
	server_start(&s, CFG_PLAIN);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REGISTER, "alice", "tokenAAA", COOKIE_NONE);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REGISTER, "alice", "tokenAAA", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST1, 5, PROTO_REFRESH, "alice", "tokenAAA", COOKIE_LAST_PERIOD);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REFRESH, "alice", "tokenAAA", COOKIE_TOO_OLD);
	add_claim(&s, FUZZ_HOST2, 0, PROTO_REGISTER, "bob", "tokenBBB", COOKIE_OTHER);
	add_claim(&s, FUZZ_HOST2, 0, PROTO_REGISTER, "bob", "tokenBBB", COOKIE_RIGHT);
	m = request(PROTO_LOOKUP, "alice", "tokenAAA", "bob");
	add_msg(&s, FUZZ_HOST6, 0, &m);
	add_claim(&s, FUZZ_HOST6, 0, PROTO_REFRESH, "alice", "tokenAAA", COOKIE_RIGHT);
	m = request(PROTO_LOOKUP, "alice", "tokenAAA", "bob");
	add_msg(&s, FUZZ_HOST1, 0, &m);
	add_msg(&s, FUZZ_HOST6, 0, &m);
	write_seed("server", "cookies", s.buf, s.len);

	/* Small budgets: too many names from one address, then each kind of request too fast. */
	server_start(&s, CFG_LIMITS | CFG_WHO);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REGISTER, "alice", "tokenAAA", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REGISTER, "amy", "tokenAAA", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REGISTER, "anna", "tokenAAA", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST2, 0, PROTO_REGISTER, "bob", "tokenBBB", COOKIE_RIGHT);
	for (k = 0; k < 4; k++)
		add_claim(&s, FUZZ_HOST1, 0, PROTO_REFRESH, "alice", "tokenAAA", COOKIE_RIGHT);
	for (k = 0; k < 6; k++) {
		m = request(PROTO_LOOKUP, "bob", "tokenBBB", "alice");
		add_msg(&s, FUZZ_HOST2, 0, &m);
		m = request(PROTO_WHO, "bob", "tokenBBB", NULL);
		add_msg(&s, FUZZ_HOST2, 0, &m);
	}
	for (k = 0; k < 3; k++)
		add_raw(&s, FUZZ_HOST6, 0, bare_stun, sizeof(bare_stun));
	{
		struct proto_msg inner = data(0, PROTO_DATA_END, "");

		inner.text_len = PROTO_FRAG_MAX;
		memset(inner.text, 'x', inner.text_len);
		m = relay(PROTO_RELAY, "alice", "tokenAAA", "bob", &inner);
		/* Two pass; the third is over the address's rate, the fourth over the name's. */
		for (k = 0; k < 4; k++)
			add_msg(&s, FUZZ_HOST1, 0, &m);
		/* 1.5 s on (before the 2 s TTL), both buckets hold a datagram again. */
		add_msg(&s, FUZZ_HOST1, 15, &m);
	}
	write_seed("server", "limits", s.buf, s.len);

	/* The four sources on two slots: some share their budgets and their count of names. */
	server_start(&s, CFG_LIMITS | CFG_FEW_SLOTS);
	add_claim(&s, FUZZ_HOST1, 0, PROTO_REGISTER, "alice", "tokenAAA", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST2, 0, PROTO_REGISTER, "bob", "tokenBBB", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST6, 0, PROTO_REGISTER, "carol", "tokenCCC", COOKIE_RIGHT);
	add_claim(&s, FUZZ_LOOPBACK, 0, PROTO_REGISTER, "dave", "tokenDDD", COOKIE_RIGHT);
	add_claim(&s, FUZZ_HOST2, 10, PROTO_REFRESH, "alice", "tokenAAA", COOKIE_RIGHT);
	write_seed("server", "shared-slots", s.buf, s.len);

	/* An operator who turned the relay off. */
	server_start(&s, CFG_NO_RELAY);
	add_claim(&s, FUZZ_HOST6, 0, PROTO_REGISTER, "alice", "tokenAAA", COOKIE_RIGHT);
	{
		struct proto_msg inner = from_bob(PROTO_PROBE);

		m = relay(PROTO_RELAY, "alice", "tokenAAA", "bob", &inner);
		add_msg(&s, FUZZ_HOST6, 0, &m);
	}
	write_seed("server", "no-relay", s.buf, s.len);
}

/* Datagrams for the connected client of fuzz_client.c (fuzz.h's sources). */
static void client_seeds(void)
{
	struct proto_msg m;
	struct seed s;

	/* bob chats: a line, an ACK of ours, PING and PONG, then BYE. */
	s.len = 0;
	m = data(0, PROTO_DATA_END, "hi alice");
	add_msg(&s, FUZZ_BOB_PRIVATE, 0, &m);
	m = from_bob(PROTO_ACK);
	m.ack = 2;
	m.sack = 0x2;
	add_msg(&s, FUZZ_BOB_PRIVATE, 1, &m);
	m = from_bob(PROTO_PING);
	m.stamp = 1000;
	add_msg(&s, FUZZ_BOB_PRIVATE, 0, &m);
	m.type = PROTO_PONG;
	add_msg(&s, FUZZ_BOB_PRIVATE, 2, &m);
	m = from_bob(PROTO_BYE);
	add_msg(&s, FUZZ_BOB_PRIVATE, 0, &m);
	write_seed("client", "chat", s.buf, s.len);

	/* A line in three fragments, out of order, one twice, as an action. */
	s.len = 0;
	m = data(1, 0, " world, ");
	add_msg(&s, FUZZ_BOB_PRIVATE, 0, &m);
	m = data(0, 0, "hello");
	add_msg(&s, FUZZ_BOB_PRIVATE, 0, &m);
	add_msg(&s, FUZZ_BOB_PRIVATE, 0, &m);
	m = data(2, PROTO_DATA_END | PROTO_DATA_ACTION, "in pieces");
	add_msg(&s, FUZZ_BOB_PRIVATE, 0, &m);
	write_seed("client", "fragments", s.buf, s.len);

	/* Text that would command the terminal: ESC, BEL, CSI, C1 CSI, invalid UTF-8. */
	s.len = 0;
	m = data(0, PROTO_DATA_END, "\x1b[2J\x1b]0;owned\x07 \xc2\x9b" "31m \xff\xfe \xed\xa0\x80 ok");
	add_msg(&s, FUZZ_BOB_PUBLIC, 0, &m);
	write_seed("client", "escapes", s.buf, s.len);

	/* bob reconnects: a PING with a new epoch, from a new port (his NAT moved), a challenge. */
	s.len = 0;
	m = from_bob(PROTO_PING);
	m.epoch = 0x0c0c0c0c;
	add_msg(&s, FUZZ_STRANGER, 0, &m);
	m = from_bob(PROTO_PATH_CHALLENGE);
	memcpy(m.path_data, "chllnge!", PROTO_PATH_DATA_LEN);
	add_msg(&s, FUZZ_STRANGER, 0, &m);
	m = from_bob(PROTO_PATH_RESPONSE);
	add_msg(&s, FUZZ_BOB_PUBLIC, 0, &m);
	m = from_bob(PROTO_CONFIRM);
	add_msg(&s, FUZZ_BOB_PUBLIC, 0, &m);
	m = from_bob(PROTO_PROBE);
	add_msg(&s, FUZZ_BOB_PUBLIC, 0, &m);
	m = from_bob(PROTO_PROBE_ACK);
	add_msg(&s, FUZZ_BOB_PUBLIC, 0, &m);
	m = data(0, PROTO_DATA_END, "stale");
	add_msg(&s, FUZZ_BOB_PUBLIC, 0, &m);
	write_seed("client", "reconnect", s.buf, s.len);

	/* The server: a refresh answered, forgotten, a new introduction, refusals, a long silence. */
	s.len = 0;
	m = msg(PROTO_REGISTERED, "alice");
	m.ttl_s = 60;
	fuzz_addr4(&m.public_ep, 203, 0, 113, 7, 40212);
	add_msg(&s, FUZZ_SERVER, 0, &m);
	m = msg(PROTO_ERROR, "alice");
	m.code = PROTO_E_UNKNOWN;
	m.request = PROTO_REFRESH;
	add_msg(&s, FUZZ_SERVER, 0, &m);
	m = msg(PROTO_PEER, "carol");
	fuzz_addr6(&m.public_ep, 5, 6000);
	add_msg(&s, FUZZ_SERVER, 1, &m);
	m = msg(PROTO_ERROR, "bob");
	m.code = PROTO_E_NOT_ONLINE;
	m.request = PROTO_LOOKUP;
	add_msg(&s, FUZZ_SERVER, 0, &m);
	m = msg(PROTO_ERROR, "");
	m.code = 200;
	add_msg(&s, FUZZ_SERVER, 63, &m);
	m = msg(PROTO_ERROR, "alice");
	m.code = PROTO_E_NAME_TAKEN;
	m.request = PROTO_REGISTER;
	add_msg(&s, FUZZ_SERVER, 63, &m);
	write_seed("client", "server", s.buf, s.len);

	/* Someone who is not the server nor bob: a false introduction, a line (sealed as bob's). */
	s.len = 0;
	m = msg(PROTO_PEER, "mallory");
	fuzz_addr4(&m.public_ep, 198, 51, 100, 66, 666);
	add_msg(&s, FUZZ_STRANGER, 0, &m);
	m = data(0, PROTO_DATA_END, "trust me");
	add_msg(&s, FUZZ_STRANGER, 0, &m);
	write_seed("client", "stranger", s.buf, s.len);

	/* bob through the server's relay: a probe, a line, an ACK of ours. */
	s.len = 0;
	{
		struct proto_msg inner = from_bob(PROTO_PROBE);

		m = relay(PROTO_RELAYED, "bob", NULL, NULL, &inner);
		add_msg(&s, FUZZ_SERVER, 0, &m);
		inner = data(0, PROTO_DATA_END, "via the server");
		m = relay(PROTO_RELAYED, "bob", NULL, NULL, &inner);
		add_msg(&s, FUZZ_SERVER, 0, &m);
		inner = from_bob(PROTO_ACK);
		inner.ack = 4;
		m = relay(PROTO_RELAYED, "bob", NULL, NULL, &inner);
		add_msg(&s, FUZZ_SERVER, 1, &m);
	}
	write_seed("client", "relayed", s.buf, s.len);

	/*
	 * The server's cookies: a new one (alice sends her REFRESH again at
	 * once), the same again, one from a stranger (ignored), a REGISTERED
	 * with a fresh one; then "refresh from here first" and "too many names".
	 */
	s.len = 0;
	m = msg(PROTO_COOKIE, NULL);
	memcpy(m.cookie, "cookie03", PROTO_COOKIE_LEN);
	add_msg(&s, FUZZ_SERVER, 0, &m);
	add_msg(&s, FUZZ_SERVER, 1, &m);
	memcpy(m.cookie, "mallory!", PROTO_COOKIE_LEN);
	add_msg(&s, FUZZ_STRANGER, 0, &m);
	m = msg(PROTO_REGISTERED, "alice");
	m.ttl_s = 60;
	memcpy(m.cookie, "cookie04", PROTO_COOKIE_LEN);
	fuzz_addr4(&m.public_ep, 203, 0, 113, 7, 40213);
	add_msg(&s, FUZZ_SERVER, 0, &m);
	m = refusal(PROTO_E_ADDRESS, PROTO_LOOKUP, "alice");
	add_msg(&s, FUZZ_SERVER, 0, &m);
	m = refusal(PROTO_E_TOO_MANY_NAMES, PROTO_REGISTER, "alice");
	add_msg(&s, FUZZ_SERVER, 2, &m);
	write_seed("client", "cookies", s.buf, s.len);
}

/*
 * fuzz_session.c's inputs: a selector byte, then a message of the fixed
 * handshake (session_setup.h): bob's INIT, alice's RESP, a sealed line,
 * and the smallest sealed body (an empty plaintext).
 */
static void session_seeds(void)
{
	struct fz_session z;
	struct session_peer alice;
	struct seed s;
	long n;

	if (fz_session_setup(&z) != 0) {
		fprintf(stderr, "mkseeds: the fixed handshake failed\n");
		exit(1);
	}
	s.buf[0] = 0;
	memcpy(s.buf + 1, z.init, sizeof(z.init));
	write_seed("session", "init", s.buf, 1 + sizeof(z.init));
	s.buf[0] = 1;
	memcpy(s.buf + 1, z.resp, sizeof(z.resp));
	write_seed("session", "resp", s.buf, 1 + sizeof(z.resp));
	alice = z.alice_peer;
	if (session_read_resp(&alice, z.resp, sizeof(z.resp), 0) != 0) {
		fprintf(stderr, "mkseeds: alice cannot read bob's RESP\n");
		exit(1);
	}
	s.buf[0] = 2;
	n = session_peer_seal(&alice, fz_sealed_header, sizeof(fz_sealed_header),
			      (const uint8_t *)"\x12hello", 6, 0, s.buf + 1, sizeof(s.buf) - 1);
	write_seed("session", "sealed", s.buf, 1 + (size_t)n);
	n = session_peer_seal(&alice, fz_sealed_header, sizeof(fz_sealed_header), (const uint8_t *)"", 0, 0,
			      s.buf + 1, sizeof(s.buf) - 1);
	write_seed("session", "sealed-empty", s.buf, 1 + (size_t)n);
}

/* term_sanitize inputs: a capacity byte, then text as it would arrive from a peer. */
static void term_seeds(void)
{
	static const struct {
		const char *name;
		const char *text; /* starts with the capacity byte */
	} seeds[] = {
		{ "plain", "\xff" "hello, world" },
		{ "escapes", "\x10" "\x1b[2J\x1b]0;title\x07 bell\x7f" },
		{ "c1", "\x08" "\xc2\x85\xc2\x9b" "1m" },
		{ "utf8", "\x0c" "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80" },
		{ "invalid", "\x40" "\xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x82 \xff" },
	};
	size_t i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		write_seed("term", seeds[i].name, (const uint8_t *)seeds[i].text,
			   strlen(seeds[i].text));
}

/* Appends n bytes to a seed. */
static void put(struct seed *s, const void *p, size_t n)
{
	if (sizeof(s->buf) - s->len < n) {
		fprintf(stderr, "mkseeds: seed too long\n");
		exit(1);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

/* Appends the bytes a string of hex digits spells. */
static void put_hex(struct seed *s, const char *hex)
{
	unsigned v;

	for (; hex[0] != '\0' && hex[1] != '\0'; hex += 2) {
		uint8_t b;

		sscanf(hex, "%2x", &v);
		b = (uint8_t)v;
		put(s, &b, 1);
	}
}

/*
 * fuzz_crypto.c's inputs, in its layout (a primitive byte, then its fields),
 * each built on a published vector so the fuzzer starts from a real case.
 */
static void crypto_seeds(void)
{
	static const char sunscreen[] = "Ladies and Gentlemen of the class of '99: If I could offer "
					"you only one tip for the future, sunscreen would be it.";
	struct seed s;
	size_t i;

	/* AEAD: RFC 8439 section 2.8.2's key, nonce, associated data and plaintext; flip bit 0. */
	s.len = 0;
	put_hex(&s, "00" "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
		    "070000004041424344454647" "0c" "50515253c0c1c2c3c4c5c6c7" "0000");
	put(&s, sunscreen, strlen(sunscreen));
	write_seed("crypto", "aead-rfc8439", s.buf, s.len);
	/* AEAD: a chat datagram's size, 1,200 bytes, no associated data. */
	s.len = 0;
	put_hex(&s, "00" "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
		    "000000000000000000000001" "00" "0123");
	for (i = 0; i < 1200; i++)
		put(&s, &(uint8_t){ (uint8_t)i }, 1);
	write_seed("crypto", "aead-datagram", s.buf, s.len);
	/* X25519: RFC 7748 section 5.2's first vector. */
	s.len = 0;
	put_hex(&s, "01" "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"
		    "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
	write_seed("crypto", "x25519-rfc7748", s.buf, s.len);
	/* X25519: a point of order 8 (section 6.1's all-zero result), which both must refuse. */
	s.len = 0;
	put_hex(&s, "01" "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
		    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
	write_seed("crypto", "x25519-small-order", s.buf, s.len);
	/* SHA-256: FIPS 180-4's "abc", split after one byte. */
	s.len = 0;
	put_hex(&s, "02" "0001" "616263");
	write_seed("crypto", "sha256-abc", s.buf, s.len);
	/* HMAC: RFC 4231 test case 1 (twenty 0x0b, "Hi There"), split after four bytes. */
	s.len = 0;
	put_hex(&s, "03" "14" "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b" "0004" "4869205468657265");
	write_seed("crypto", "hmac-rfc4231", s.buf, s.len);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs("usage: mkseeds DIR\n", stderr);
		return 2;
	}
	out_dir = argv[1];
	if (mkdir(out_dir, 0755) < 0 && errno != EEXIST)
		die(out_dir);
	proto_seeds();
	stun_seeds();
	server_seeds();
	client_seeds();
	term_seeds();
	crypto_seeds();
	session_seeds();
	return 0;
}
