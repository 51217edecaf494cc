/* tests/flood.c - sends p2pchatd thousands of garbage datagrams on loopback and says what the server should make of them. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net.h"
#include "protocol.h"
#include "stun.h"

/*
 * Usage: flood [-n COUNT] [-r RATE] [-s SEED] [-u] PORT
 *
 * Sends COUNT datagrams (default 20000) to 127.0.0.1:PORT, RATE a second
 * (default 10000), from one socket, and never anywhere else. With -u it
 * goes on after COUNT until its standard input closes, so a test can keep
 * the flood up for exactly as long as its real clients talk; it stops
 * after FLOOD_MAX_MS whatever happens.
 *
 * Every datagram is garbage of one kind (see enum kind), and none is a
 * well-formed REGISTER: a flipped byte can turn a REGISTER into another
 * valid one, which would rightly register a name, so such a datagram is
 * drawn again. What the server should do with each datagram is worked out
 * here with the same decoders it uses (on the same first 1201 bytes it
 * reads), and printed at the end as "key value" lines for tests/flood.sh.
 */

#define FLOOD_DEFAULT_COUNT 20000
#define FLOOD_DEFAULT_RATE 10000 /* a second: well under what p2pchatd handles, so the kernel drops none */
#define FLOOD_MAX_MS 120000      /* -u or not, the flood ends after two minutes */
#define FLOOD_BATCH_MAX 64       /* datagrams sent in one go before looking at answers again */
#define FLOOD_OVERSIZE_MAX 1500  /* the largest oversize datagram: an Ethernet MTU */
#define FLOOD_QUIET_MS 200       /* at the end, answers are counted until none came for this long */
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
	F_MALFORMED,       /* proto_decode fails: dropped, counted as malformed */
	F_WRONG_DIRECTION, /* well formed, but not a request: dropped */
	F_VERSION,         /* another version: answered with ERROR */
	F_REQUEST,         /* a well-formed request (never a REGISTER): answered */
	F_STUN_ANSWERED,   /* a STUN Binding request: answered */
	F_STUN_DROPPED,    /* other STUN-looking bytes: dropped */
	F_COUNT,
};

static const char *const fate_names[F_COUNT] = {
	"malformed", "wrong_direction", "version", "request", "stun_answered", "stun_dropped",
};

/* xorshift64*: reproducible garbage from -s SEED. Not for secrets. */
static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
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
		PROTO_REPORT, PROTO_RELAY, PROTO_RELAYED, PROTO_PROBE, PROTO_PROBE_ACK, PROTO_DATA, PROTO_ACK, PROTO_PING,
		PROTO_PONG, PROTO_BYE,
	};
	struct proto_msg m, bye;
	int n;

	memset(&m, 0, sizeof(m));
	m.type = types[rnd_below(sizeof(types))];
	snprintf(m.name, sizeof(m.name), "flood%04u", (unsigned)rnd_below(10000));
	snprintf(m.target, sizeof(m.target), "flood%04u", (unsigned)rnd_below(10000));
	rnd_fill(m.token, sizeof(m.token));
	rnd_fill(m.nonce, sizeof(m.nonce));
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
	/* RELAY and RELAYED carry a peer-to-peer datagram: a BYE is the shortest. */
	memset(&bye, 0, sizeof(bye));
	bye.type = PROTO_BYE;
	m.payload_len = (uint16_t)proto_encode(&bye, m.payload, sizeof(m.payload));
	n = proto_encode(&m, buf, cap);
	if (n < 0) {
		fprintf(stderr, "flood: cannot encode %s: %s\n", proto_type_name(m.type),
			proto_strerror(n));
		exit(1);
	}
	return (size_t)n;
}

/* A REGISTER whose name breaks a rule: a forbidden byte in it, or one byte too long. */
static size_t bad_name(uint8_t *buf, size_t cap)
{
	static const uint8_t bad_bytes[] = { ' ', 0x1b, 0x00, 0xff, '/', 0x7f };
	struct proto_msg m;
	size_t off = PROTO_HEADER_LEN + PROTO_TOKEN_LEN; /* the name's length byte */
	int n;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTER;
	rnd_fill(m.token, sizeof(m.token));
	memset(m.name, 'n', PROTO_NAME_MAX); /* 32 bytes: the longest valid name */
	n = proto_encode(&m, buf, cap);
	if (n < 0 || cap - (size_t)n < 1)
		exit(1);
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

/* What clients send the server (protocol.h): everything else well formed is not for it. */
static int is_request(uint8_t type)
{
	return type == PROTO_REGISTER || type == PROTO_REFRESH || type == PROTO_LOOKUP ||
	       type == PROTO_STATS || type == PROTO_WHO || type == PROTO_REPORT ||
	       type == PROTO_RELAY;
}

/*
 * What the server will do with buf[0..len), sent from `self`: the same
 * steps as server_handle, on the bytes its receive buffer keeps.
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
			       F_STUN_ANSWERED : F_STUN_DROPPED;
	r = proto_decode(buf, len, &m);
	if (r == PROTO_EVERSION)
		return F_VERSION;
	if (r < 0)
		return F_MALFORMED;
	return is_request(m.type) ? F_REQUEST : F_WRONG_DIRECTION;
}

static int is_register(const uint8_t *buf, size_t len)
{
	struct proto_msg m;

	return proto_decode(buf, len, &m) == 0 && m.type == PROTO_REGISTER;
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
	fputs("usage: flood [-n COUNT] [-r RATE] [-s SEED] [-u] PORT\n", stderr);
	exit(2);
}

/* Reads and counts the server's answers waiting on fd. */
static void drain(int fd, uint64_t *answers)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_addr from;

	while (net_recv(fd, buf, sizeof(buf), &from) >= 0)
		(*answers)++;
}

int main(int argc, char **argv)
{
	uint64_t count = FLOOD_DEFAULT_COUNT, rate = FLOOD_DEFAULT_RATE, seed = 1;
	uint64_t sent = 0, answers = 0, send_errors = 0;
	uint64_t by_kind[K_COUNT] = { 0 }, by_fate[F_COUNT] = { 0 };
	uint8_t buf[FLOOD_OVERSIZE_MAX];
	struct proto_addr server, self;
	int until_eof = 0, stdin_open, fd, c, i;
	int64_t start, now;

	while ((c = getopt(argc, argv, "n:r:s:u")) != -1) {
		switch (c) {
		case 'n': count = number(optarg, 1, 100000000); break;
		case 'r': rate = number(optarg, 1, 1000000); break;
		case 's': seed = number(optarg, 1, 4294967295UL); break;
		case 'u': until_eof = 1; break;
		default: usage();
		}
	}
	if (optind != argc - 1)
		usage();
	/* Loopback only: this is a test tool, it must never aim at another host. */
	net_parse_ip("127.0.0.1", (uint16_t)number(argv[optind], 1, 65535), &server);
	net_parse_ip("127.0.0.1", 0, &self);
	fd = net_udp_socket(&self, 0, 1);
	if (fd < 0 || net_local_addr(fd, &self) < 0) {
		fprintf(stderr, "flood: socket: %s\n", strerror(errno));
		return 1;
	}
	rng_state = seed * 0x9E3779B97F4A7C15ULL;
	stdin_open = until_eof;

	printf("flooding 127.0.0.1:%u with %llu datagrams at %llu/s\n", (unsigned)server.port,
	       (unsigned long long)count, (unsigned long long)rate);
	fflush(stdout);
	start = net_now_ms();
	for (now = start; now - start < FLOOD_MAX_MS; now = net_now_ms()) {
		/* Paced by the clock: by now, rate * elapsed datagrams should have gone. */
		uint64_t due = (uint64_t)(now - start) * rate / 1000 + 1;
		struct pollfd pfd[2];

		if (sent >= count && !stdin_open)
			break;
		for (i = 0; i < FLOOD_BATCH_MAX && sent < due && (sent < count || stdin_open); i++) {
			enum kind k = (enum kind)(sent % K_COUNT);
			size_t len;

			do
				len = make_garbage(k, buf);
			while (is_register(buf, len));
			if (net_send(fd, net_is_ipv6(fd), &server, buf, len) < 0) {
				/* A full socket buffer: try again next turn. Else the server is gone. */
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
					send_errors++;
				break;
			}
			by_kind[k]++;
			by_fate[predict(buf, len, &self)]++;
			sent++;
		}
		drain(fd, &answers);

		pfd[0].fd = fd;
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
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, FLOOD_QUIET_MS) <= 0)
			break;
		drain(fd, &answers);
	}
	close(fd);

	printf("sent %llu\n", (unsigned long long)sent);
	for (i = 0; i < K_COUNT; i++)
		printf("kind_%s %llu\n", kind_names[i], (unsigned long long)by_kind[i]);
	for (i = 0; i < F_COUNT; i++)
		printf("expect_%s %llu\n", fate_names[i], (unsigned long long)by_fate[i]);
	printf("answers %llu\n", (unsigned long long)answers);
	printf("send_errors %llu\n", (unsigned long long)send_errors);
	printf("ms %lld\n", (long long)(net_now_ms() - start));
	return sent >= count ? 0 : 1;
}
