/* tests/flood.c - floods p2pchatd on loopback with garbage, or as a proven client over its limits. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "net.h"
#include "protocol.h"
#include "stun.h"
#include "rng.h"
#include "sealer.h"

/*
 * Usage: flood [-p] [-b ADDR] [-n COUNT] [-r RATE] [-s SEED] [-u] PORT
 *
 * Sends COUNT datagrams (default 20000) to 127.0.0.1:PORT, RATE a second
 * (default 10000), from one socket bound to ADDR (a loopback address,
 * default 127.0.0.1), and never anywhere else. With -u it goes on after
 * COUNT until its standard input closes, so a test can keep the flood up
 * for exactly as long as its real clients talk; it stops after
 * FLOOD_MAX_MS whatever happens.
 *
 * Garbage (the default): every datagram is garbage of one kind (see enum
 * kind). A well-formed REGISTER or REFRESH among them carries a cookie
 * drawn at random, never the one the server gave this address, so it
 * gets a COOKIE and registers nothing. What the server should do with
 * each datagram is worked out here with the same decoders it uses (on the
 * same first 1201 bytes it reads).
 *
 * Proven (-p): a client that does everything right but far too often. It
 * registers flood0 and flood1 with the cookie round trip, then sends in
 * turn REGISTERs of new names (flood2, flood3, ...), LOOKUPs between its
 * names and RELAYs of a 1 KiB DATA between them, all with its cookie from
 * its own address, so only the per-source limits (guard.h) stop it. It
 * counts the answers to each kind.
 *
 * Either way it prints "key value" lines at the end for tests/flood.sh,
 * with the server's default limits (guard_defaults) for comparison.
 */

#define FLOOD_DEFAULT_COUNT 20000
#define FLOOD_DEFAULT_RATE 10000 /* a second: well under what p2pchatd handles, so the kernel drops none */
#define FLOOD_MAX_MS 120000      /* -u or not, the flood ends after two minutes */
#define FLOOD_BATCH_MAX 64       /* datagrams sent in one go before looking at answers again */
#define FLOOD_OVERSIZE_MAX 1500  /* the largest oversize datagram: an Ethernet MTU */
#define FLOOD_QUIET_MS 200       /* at the end, answers are counted until none came for this long */
#define FLOOD_WAIT_MS 2000       /* -p: for each answer while registering the first names */
#define FLOOD_RELAY_TEXT 1024    /* -p: the text in each relayed DATA: the largest fragment */
#define FLOOD_SENDERS_MAX 256    /* -p: names kept to relay from, round robin */
#define SERVER_READ_LEN (PROTO_MAX_DATAGRAM + 1) /* what p2pchatd's receive buffer holds */

/* The kinds of garbage, drawn in turn. */
enum kind {
	K_RANDOM,    /* random bytes, random length 0..1200 */
	K_TRUNCATED, /* a valid message cut short */
	K_FLIPPED,   /* a valid message with one byte changed */
	K_VERSION,   /* a valid message with another version */
	K_TYPE,      /* a valid message with a type that does not exist */
	K_BAD_NAME,  /* a request whose name has a space, an ESC, a NUL, a 0xff, or 33 bytes */
	K_OVERSIZE,  /* 1201..1500 bytes: a valid start, then junk */
	K_STUN,      /* first byte 0..3: STUN-looking junk, now and then a real Binding request */
	K_COUNT,
};

static const char *const kind_names[K_COUNT] = {
	"random", "truncated", "flipped", "version", "type", "bad_name", "oversize", "stun",
};

/* What the server should do with a datagram, worked out with its own decoders. */
enum fate {
	F_MALFORMED,       /* proto_decode_prefix fails, or another version in under 8 bytes: dropped */
	F_WRONG_DIRECTION, /* well formed, but not a request: dropped */
	F_VERSION,         /* another version, 8 bytes or more: answered with the version refusal */
	F_COOKIE,          /* a REGISTER or REFRESH, with a wrong cookie: answered with COOKIE */
	F_REFUSED,         /* a LOOKUP, WHO, REPORT or RELAY from no known name: NOTICE */
	F_STATS,           /* a STATS: answered, this is loopback */
	F_STUN_BINDING,    /* a STUN Binding request: answered, or dropped over the STUN rate */
	F_STUN_DROPPED,    /* other STUN-looking bytes: dropped */
	F_COUNT,
};

static const char *const fate_names[F_COUNT] = {
	"malformed", "wrong_direction", "version", "cookie", "refused", "stats", "stun_binding",
	"stun_dropped",
};

/* What -p sends, in turn. */
enum proven_kind {
	P_REGISTER, /* a REGISTER of a new name */
	P_LOOKUP,   /* a LOOKUP of one of its names by another */
	P_RELAY,    /* a RELAY of a 1 KiB DATA from one of its names to another */
	P_COUNT,
};

static const char *const proven_names[P_COUNT] = { "register", "lookup", "relay" };

/* The flood's socket, and what it sent and got back. */
struct flood {
	int fd, ipv6;
	struct proto_addr server, self;
	uint64_t sent, answers, send_errors;
	uint64_t by_kind[K_COUNT], by_fate[F_COUNT];  /* garbage */
	/* -p */
	uint8_t token[SEALER_SEED_LEN];               /* the seed of its names' one key (sealer.h) */
	struct sealer sl;
	uint8_t cookie[PROTO_COOKIE_LEN];             /* the latest, from COOKIE or REGISTERED */
	uint32_t next_name;                           /* the next new name: flood<next_name> */
	uint32_t senders[FLOOD_SENDERS_MAX];          /* names the server registered */
	uint32_t nsenders, turn;
	uint64_t registered;                          /* REGISTERED for a new name */
	uint64_t too_many;                            /* ERROR PROTO_E_TOO_MANY_NAMES */
	uint64_t cookies;                             /* COOKIE: the cookie's period ran out */
	uint64_t peers, relayed;
	uint64_t p_sent[P_COUNT];                     /* by kind */
	uint64_t p_errors[P_COUNT];                   /* ERRORs, by the request type they name */
	uint64_t other;                               /* answers of no kind above */
};

/* xorshift64*: reproducible garbage from -s SEED. Not for secrets. */
static struct rng64 rng;

static uint32_t rnd(void)
{
	return rng64star_next32(&rng);
}

/* Returns a number in 0..n-1 (n > 0). */
static uint32_t rnd_below(uint32_t n)
{
	return rnd() % n;
}

static void rnd_fill(uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
}

/* A valid message, to be spoilt: every type, with names no real client uses ("flood" and digits). */
static size_t valid_message(uint8_t *buf, size_t cap)
{
	static const uint8_t types[] = {
		PROTO_REGISTER, PROTO_REGISTERED, PROTO_REFRESH, PROTO_LOOKUP, PROTO_PEER,
		PROTO_ERROR, PROTO_STATS, PROTO_STATS_REPLY, PROTO_WHO, PROTO_WHO_REPLY,
		PROTO_REPORT, PROTO_RELAY, PROTO_RELAYED, PROTO_COOKIE, PROTO_NOTICE, PROTO_PROBE,
		PROTO_PROBE_ACK, PROTO_SEALED,
	};
	struct proto_msg m, sealed;
	size_t off;
	int n;

	memset(&m, 0, sizeof(m));
	m.type = types[rnd_below(sizeof(types))];
	snprintf(m.name, sizeof(m.name), "flood%04u", (unsigned)rnd_below(10000));
	snprintf(m.target, sizeof(m.target), "flood%04u", (unsigned)rnd_below(10000));
	rnd_fill(m.key, sizeof(m.key));
	rnd_fill((uint8_t *)&m.counter, sizeof(m.counter));
	rnd_fill(m.cookie, sizeof(m.cookie)); /* never the right one: 1 in 2^64 */
	m.public_ep.family = PROTO_AF_INET;
	m.public_ep.port = (uint16_t)rnd();
	rnd_fill(m.public_ep.ip, 4);
	m.nprivate = (uint8_t)rnd_below(PROTO_MAX_PRIVATE + 1);
	for (n = 0; n < m.nprivate; n++) {
		m.private_ep[n].family = rnd_below(2) ? PROTO_AF_INET : PROTO_AF_INET6;
		m.private_ep[n].port = (uint16_t)rnd();
		rnd_fill(m.private_ep[n].ip, 16);
	}
	m.code = (uint8_t)rnd_below(7);
	m.request = PROTO_LOOKUP;
	m.path = PROTO_PATH_PUBLIC;
	m.nnames = (uint8_t)rnd_below(4);
	for (n = 0; n < m.nnames; n++)
		snprintf(m.names[n], sizeof(m.names[n]), "flood%u", (unsigned)n);
	m.epoch = rnd();
	m.seq = rnd();
	m.flags = PROTO_DATA_END;
	m.text_len = (uint16_t)(1 + rnd_below(PROTO_FRAG_MAX));
	memset(m.text, 'x', m.text_len);
	m.ack = rnd();
	/* RELAY and RELAYED carry a peer-to-peer datagram: the shortest SEALED. */
	memset(&sealed, 0, sizeof(sealed));
	sealed.type = PROTO_SEALED;
	sealed.payload_len = PROTO_SEALED_MIN;
	rnd_fill(sealed.payload, sealed.payload_len);
	if (m.type == PROTO_SEALED || m.type == PROTO_PROBE || m.type == PROTO_PROBE_ACK) {
		/* A peer datagram itself: random bytes where the session's would be. */
		m.payload_len = m.type == PROTO_PROBE ? PROTO_INIT_LEN :
				m.type == PROTO_PROBE_ACK ? PROTO_RESP_LEN :
				(uint16_t)(PROTO_SEALED_MIN + rnd_below(PROTO_FRAG_MAX));
		rnd_fill(m.payload, m.payload_len);
	} else {
		m.payload_len = (uint16_t)proto_encode(&sealed, m.payload, sizeof(m.payload));
	}
	n = proto_encode_open(&m, buf, cap, &off);
	if (n < 0) {
		fprintf(stderr, "flood: cannot encode %s: %s\n", proto_type_name(m.type),
			proto_strerror(n));
		exit(1);
	}
	/* Sealed under no key anybody holds: a tag of random bytes (proto_encode left room). */
	if (off > 0) {
		rnd_fill(buf + n, PROTO_TAG_LEN);
		n += PROTO_TAG_LEN;
	}
	return (size_t)n;
}

/* A REGISTER whose name breaks a rule: a forbidden byte in it, or one byte too long. */
static size_t bad_name(uint8_t *buf, size_t cap)
{
	static const uint8_t bad_bytes[] = { ' ', 0x1b, 0x00, 0xff, '/', 0x7f };
	struct proto_msg m;
	/* The name's length byte. */
	size_t off = PROTO_HEADER_LEN + PROTO_COOKIE_LEN + PROTO_KEY_LEN;
	int n;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTER;
	rnd_fill(m.key, sizeof(m.key));
	rnd_fill(m.cookie, sizeof(m.cookie));
	memset(m.name, 'n', PROTO_NAME_MAX); /* 32 bytes: the longest valid name */
	n = proto_encode(&m, buf, cap);
	if (n < 0 || cap - (size_t)n < 1 + PROTO_TAG_LEN)
		exit(1);
	rnd_fill(buf + n, PROTO_TAG_LEN); /* the tag: the name is bad before anyone looks */
	n += PROTO_TAG_LEN;
	if (rnd_below(2)) {
		/* Length 33: one more name byte, before the endpoint count. */
		memmove(buf + off + 2 + PROTO_NAME_MAX, buf + off + 1 + PROTO_NAME_MAX,
			(size_t)n - off - 1 - PROTO_NAME_MAX);
		buf[off] = PROTO_NAME_MAX + 1;
		buf[off + 1 + PROTO_NAME_MAX] = 'n';
		return (size_t)n + 1;
	}
	buf[off + 1 + rnd_below(PROTO_NAME_MAX)] = bad_bytes[rnd_below(sizeof(bad_bytes))];
	return (size_t)n;
}

/* STUN-looking junk: a 20-byte header and random attributes; one in eight a real Binding request. */
static size_t stun_junk(uint8_t *buf)
{
	size_t body = 4 * rnd_below(16);

	rnd_fill(buf, STUN_HEADER_LEN + body);
	buf[0] &= 0x03;
	if (rnd_below(8) == 0) {
		buf[0] = 0x00;
		buf[1] = 0x01;
		buf[4] = 0x21, buf[5] = 0x12, buf[6] = 0xa4, buf[7] = 0x42;
		body = 0;
	}
	if (rnd_below(2)) {
		/* A length field that agrees with the datagram, so parsing goes on into the attributes. */
		buf[2] = 0;
		buf[3] = (uint8_t)body;
	}
	return STUN_HEADER_LEN + body;
}

/* Draws one datagram of kind k into buf (at least FLOOD_OVERSIZE_MAX bytes). Returns its length. */
static size_t make_garbage(enum kind k, uint8_t *buf)
{
	size_t len;

	switch (k) {
	case K_RANDOM:
		len = rnd_below(PROTO_MAX_DATAGRAM + 1);
		rnd_fill(buf, len);
		return len;
	case K_TRUNCATED:
		len = valid_message(buf, PROTO_MAX_DATAGRAM);
		return rnd_below((uint32_t)len);
	case K_FLIPPED:
		len = valid_message(buf, PROTO_MAX_DATAGRAM);
		buf[rnd_below((uint32_t)len)] ^= (uint8_t)(1 + rnd_below(255));
		return len;
	case K_VERSION:
		len = valid_message(buf, PROTO_MAX_DATAGRAM);
		do
			buf[1] = (uint8_t)rnd();
		while (buf[1] == PROTO_VERSION);
		return len;
	case K_TYPE:
		len = valid_message(buf, PROTO_MAX_DATAGRAM);
		do
			buf[2] = (uint8_t)rnd();
		while (strcmp(proto_type_name(buf[2]), "unknown") != 0);
		return len;
	case K_BAD_NAME:
		return bad_name(buf, PROTO_MAX_DATAGRAM);
	case K_OVERSIZE:
		len = valid_message(buf, PROTO_MAX_DATAGRAM);
		rnd_fill(buf + len, FLOOD_OVERSIZE_MAX - len);
		return PROTO_MAX_DATAGRAM + 1 + rnd_below(FLOOD_OVERSIZE_MAX - PROTO_MAX_DATAGRAM);
	case K_STUN:
		return stun_junk(buf);
	case K_COUNT:
		break;
	}
	return 0;
}

/*
 * What the server will do with buf[0..len), sent from `self`: the same
 * steps as server_handle, on the bytes its receive buffer keeps. No
 * garbage name is ever registered, so every LOOKUP, WHO, REPORT or RELAY
 * comes from a name the server does not know.
 */
static enum fate predict(const uint8_t *buf, size_t len, const struct proto_addr *self)
{
	uint8_t answer[PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	int r;

	if (len > SERVER_READ_LEN)
		len = SERVER_READ_LEN;
	if (stun_is_stun(buf, len))
		return stun_answer(buf, len, self, answer, sizeof(answer)) >= 0 ?
			       F_STUN_BINDING : F_STUN_DROPPED;
	/* The clear part only, as the server reads it: no key opens a garbage body. */
	r = proto_decode_prefix(buf, len, &m);
	/* The version refusal has 8 bytes: a shorter datagram gets none (no amplification). */
	if (r == PROTO_EVERSION)
		return len >= PROTO_VERSION_REFUSAL_LEN ? F_VERSION : F_MALFORMED;
	if (r < 0)
		return F_MALFORMED;
	if (r == 0)
		return m.type != PROTO_STATS ? F_WRONG_DIRECTION :
		       len == PROTO_HEADER_LEN ? F_STATS : F_MALFORMED;
	switch (m.type) {
	case PROTO_REGISTER:
	case PROTO_REFRESH:
		return F_COOKIE;
	case PROTO_LOOKUP:
	case PROTO_WHO:
	case PROTO_REPORT:
	case PROTO_RELAY:
		return F_REFUSED;
	default:
		return F_WRONG_DIRECTION;
	}
}

/* Garbage: draws the next datagram into buf and says its kind. Returns its length. */
static size_t garbage_next(const struct flood *f, int *kind, uint8_t *buf)
{
	*kind = (int)(f->sent % K_COUNT);
	return make_garbage((enum kind)*kind, buf);
}

/* -p: a request of `type` from the name flood<from>, with the flood's cookie (sealed with its key when sent). */
static void proven_msg(const struct flood *f, struct proto_msg *m, uint8_t type, uint32_t from)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	memcpy(m->cookie, f->cookie, PROTO_COOKIE_LEN);
	snprintf(m->name, sizeof(m->name), "flood%u", (unsigned)from);
}

/* -p: draws the next request into buf (PROTO_MAX_DATAGRAM bytes) and its kind. Returns its length. */
static size_t proven_next(struct flood *f, int *kind, uint8_t *buf)
{
	uint32_t from = f->senders[f->turn % f->nsenders];
	uint32_t to = f->senders[(f->turn + 1) % f->nsenders];
	struct proto_msg m, data;
	int n;

	*kind = (int)(f->sent % P_COUNT);
	f->turn++;
	if (*kind == P_REGISTER) {
		proven_msg(f, &m, PROTO_REGISTER, f->next_name++);
	} else {
		proven_msg(f, &m, *kind == P_LOOKUP ? PROTO_LOOKUP : PROTO_RELAY, from);
		snprintf(m.target, sizeof(m.target), "flood%u", (unsigned)to);
		/* The payload: a sealed DATA of 1 KiB of text, as a peer would send it (random
		 * bytes where the session's would be: the server only checks its shape). */
		memset(&data, 0, sizeof(data));
		data.type = PROTO_SEALED;
		data.payload_len = (uint16_t)(PROTO_SEALED_MIN + 15 + FLOOD_RELAY_TEXT);
		rnd_fill(data.payload, data.payload_len);
		m.payload_len = (uint16_t)proto_encode(&data, m.payload, sizeof(m.payload));
	}
	n = sealer_seal(&f->sl, &m, f->token, buf, PROTO_MAX_DATAGRAM);
	if (n < 0) {
		fprintf(stderr, "flood: cannot encode: %s\n", proto_strerror(n));
		exit(1);
	}
	return (size_t)n;
}

/* -p: a REGISTERED for flood<i>: a name to send from, counted once. */
static void proven_registered(struct flood *f, const char *name)
{
	unsigned long i;
	uint32_t k;
	char *end;

	if (strncmp(name, "flood", 5) != 0)
		return;
	i = strtoul(name + 5, &end, 10);
	for (k = 0; k < f->nsenders; k++)
		if (f->senders[k] == i)
			return; /* an answer to a REGISTER sent again while registering */
	f->registered++;
	if (f->nsenders < FLOOD_SENDERS_MAX)
		f->senders[f->nsenders++] = (uint32_t)i;
}

/* -p: counts one answer from the server by what it answers. */
static void proven_answer(struct flood *f, const uint8_t *buf, size_t len)
{
	struct proto_msg m;

	if (sealer_open(&f->sl, buf, len, &m) == -1) {
		f->other++;
		return;
	}
	switch (m.type) {
	case PROTO_REGISTERED:
		memcpy(f->cookie, m.cookie, PROTO_COOKIE_LEN);
		proven_registered(f, m.name);
		break;
	case PROTO_COOKIE:
		/* The cookie's period ran out: carry on with the new one. */
		memcpy(f->cookie, m.cookie, PROTO_COOKIE_LEN);
		f->cookies++;
		break;
	case PROTO_PEER:
		f->peers++;
		break;
	case PROTO_RELAYED:
		f->relayed++;
		break;
	case PROTO_ERROR:
		if (m.code == PROTO_E_TOO_MANY_NAMES)
			f->too_many++;
		if (m.request == PROTO_REGISTER)
			f->p_errors[P_REGISTER]++;
		else if (m.request == PROTO_LOOKUP)
			f->p_errors[P_LOOKUP]++;
		else if (m.request == PROTO_RELAY)
			f->p_errors[P_RELAY]++;
		else
			f->other++;
		break;
	default:
		f->other++;
	}
}

/* Reads and counts the server's answers waiting on f's socket. */
static void drain(struct flood *f, int proven)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_addr from;
	ssize_t n;

	while ((n = net_recv(f->fd, buf, sizeof(buf), &from)) >= 0) {
		f->answers++;
		if (proven)
			proven_answer(f, buf, (size_t)n);
	}
}

/*
 * -p: registers flood0 and flood1 as a client does: the first REGISTER
 * gets a COOKIE, the next one, with it, the name. Returns 0, or -1 when
 * the server did not register them.
 */
static int proven_setup(struct flood *f)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	int tries, n;

	if (net_random(f->token, sizeof(f->token)) < 0)
		return -1;
	for (tries = 0; tries < 8 && f->nsenders < 2; tries++) {
		struct pollfd pfd = { .fd = f->fd, .events = POLLIN };

		proven_msg(f, &m, PROTO_REGISTER, f->nsenders);
		n = sealer_seal(&f->sl, &m, f->token, buf, sizeof(buf));
		if (n < 0 || net_send(f->fd, f->ipv6, &f->server, buf, (size_t)n) < 0)
			return -1;
		if (poll(&pfd, 1, FLOOD_WAIT_MS) > 0)
			drain(f, 1);
	}
	/* What registering took is not part of the flood's figures. */
	f->answers = f->cookies = 0;
	f->next_name = 2;
	return f->nsenders >= 2 ? 0 : -1;
}

/* Parses a decimal argument in min..max, or exits with status 2. */
static unsigned long number(const char *text, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || errno != 0 || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "flood: bad number: %s (%lu..%lu)\n", text, min, max);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fputs("usage: flood [-p] [-b ADDR] [-n COUNT] [-r RATE] [-s SEED] [-u] PORT\n", stderr);
	exit(2);
}

/* The figures at the end, as "key value" lines. */
static void report(const struct flood *f, int proven, int64_t ms)
{
	static const char *const limit_names[GUARD_NKINDS] = {
		"register", "lookup", "relay", "stun"
	};
	struct guard_config g;
	uint64_t answered[P_COUNT];
	int i;

	printf("sent %llu\n", (unsigned long long)f->sent);
	if (!proven) {
		for (i = 0; i < K_COUNT; i++)
			printf("kind_%s %llu\n", kind_names[i], (unsigned long long)f->by_kind[i]);
		for (i = 0; i < F_COUNT; i++)
			printf("expect_%s %llu\n", fate_names[i], (unsigned long long)f->by_fate[i]);
	} else {
		/* Each answered LOOKUP brings two PEERs here: both names live at this socket. */
		answered[P_REGISTER] = f->registered - 2 + f->cookies + f->p_errors[P_REGISTER];
		answered[P_LOOKUP] = f->peers / 2 + f->p_errors[P_LOOKUP];
		answered[P_RELAY] = f->relayed + f->p_errors[P_RELAY];
		for (i = 0; i < P_COUNT; i++) {
			printf("sent_%s %llu\n", proven_names[i], (unsigned long long)f->p_sent[i]);
			printf("answered_%s %llu\n", proven_names[i],
			       (unsigned long long)answered[i]);
			printf("unanswered_%s %llu\n", proven_names[i],
			       (unsigned long long)(f->p_sent[i] - answered[i]));
		}
		printf("registered %llu\ntoo_many_names %llu\ncookies %llu\npeers %llu\n"
		       "relayed %llu\nother %llu\n", (unsigned long long)f->registered,
		       (unsigned long long)f->too_many, (unsigned long long)f->cookies,
		       (unsigned long long)f->peers, (unsigned long long)f->relayed,
		       (unsigned long long)f->other);
	}
	printf("answers %llu\n", (unsigned long long)f->answers);
	printf("send_errors %llu\n", (unsigned long long)f->send_errors);
	printf("ms %lld\n", (long long)ms);
	/* The limits p2pchatd starts from, for the test to compare with. */
	guard_defaults(&g);
	for (i = 0; i < GUARD_NKINDS; i++)
		printf("default_%s %u/%u\n", limit_names[i], g.rate[i].per_s, g.rate[i].burst);
	printf("default_names %u\n", g.names_per_source);
}

int main(int argc, char **argv)
{
	static struct flood f;
	uint64_t count = FLOOD_DEFAULT_COUNT, rate = FLOOD_DEFAULT_RATE, seed = 1;
	uint8_t buf[FLOOD_OVERSIZE_MAX];
	const char *bind_ip = "127.0.0.1";
	int until_eof = 0, proven = 0, stdin_open, c, i;
	int64_t start, now;

	while ((c = getopt(argc, argv, "b:n:pr:s:u")) != -1) {
		switch (c) {
		case 'b': bind_ip = optarg; break;
		case 'n': count = number(optarg, 1, 100000000); break;
		case 'p': proven = 1; break;
		case 'r': rate = number(optarg, 1, 1000000); break;
		case 's': seed = number(optarg, 1, 4294967295UL); break;
		case 'u': until_eof = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	/* Loopback only: this is a test tool, it must never aim at another host. */
	net_parse_ip("127.0.0.1", (uint16_t)number(argv[optind], 1, 65535), &f.server);
	if (net_parse_ip(bind_ip, 0, &f.self) < 0 || !net_is_loopback(&f.self)) {
		fprintf(stderr, "flood: -b %s: not a loopback address\n", bind_ip);
		return 2;
	}
	f.fd = net_udp_socket(&f.self, 0, 1);
	if (f.fd < 0 || net_local_addr(f.fd, &f.self) < 0) {
		fprintf(stderr, "flood: socket: %s\n", strerror(errno));
		return 1;
	}
	f.ipv6 = net_is_ipv6(f.fd);
	rng.s = seed * 0x9E3779B97F4A7C15ULL;
	stdin_open = until_eof;
	if (proven && proven_setup(&f) < 0) {
		fprintf(stderr, "flood: the server did not register flood0 and flood1\n");
		return 1;
	}

	printf("flooding 127.0.0.1:%u from %s with %llu %s datagrams at %llu/s\n",
	       (unsigned)f.server.port, bind_ip, (unsigned long long)count,
	       proven ? "proven" : "garbage", (unsigned long long)rate);
	fflush(stdout);
	start = net_now_ms();
	for (now = start; now - start < FLOOD_MAX_MS; now = net_now_ms()) {
		/* Paced by the clock: by now, rate * elapsed datagrams should have gone. */
		uint64_t due = (uint64_t)(now - start) * rate / 1000 + 1;
		struct pollfd pfd[2];

		if (f.sent >= count && !stdin_open)
			break;
		for (i = 0; i < FLOOD_BATCH_MAX && f.sent < due && (f.sent < count || stdin_open);
		     i++) {
			int kind;
			size_t len = proven ? proven_next(&f, &kind, buf) :
					      garbage_next(&f, &kind, buf);

			if (net_send(f.fd, f.ipv6, &f.server, buf, len) < 0) {
				/* A full socket buffer: try again next turn. Else the server is gone. */
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
					f.send_errors++;
				break;
			}
			if (proven) {
				f.p_sent[kind]++;
			} else {
				f.by_kind[kind]++;
				f.by_fate[predict(buf, len, &f.self)]++;
			}
			f.sent++;
		}
		drain(&f, proven);

		pfd[0].fd = f.fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = stdin_open ? 0 : -1;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, 1) > 0 && (pfd[1].revents & (POLLIN | POLLHUP))) {
			char junk[256];

			if (read(0, junk, sizeof(junk)) <= 0)
				stdin_open = 0;
		}
	}
	/* Answers still on their way: wait until none has come for FLOOD_QUIET_MS. */
	for (;;) {
		struct pollfd pfd = { .fd = f.fd, .events = POLLIN };

		if (poll(&pfd, 1, FLOOD_QUIET_MS) <= 0)
			break;
		drain(&f, proven);
	}
	close(f.fd);
	report(&f, proven, net_now_ms() - start);
	return f.sent >= count ? 0 : 1;
}
