/* tests/amplify.c - measures p2pchatd's largest answer/request ratio to an address never proven. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "net.h"
#include "bytes.h"
#include "protocol.h"
#include "server.h"
#include "stun.h"
#include "rng.h"
#include "sealer.h"

/*
 * Usage: amplify PORT
 *
 * Whoever forges a victim's source address has the server's answers sent
 * to the victim: a server that answers more bytes than it was sent is a
 * free amplifier. This program makes that attack on the p2pchatd at
 * 127.0.0.1:PORT, which runs with the default limits and --allow-who (so
 * that WHO gets as far as the address check). Its sockets, all loopback:
 *
 *   A   127.0.0.1  the attacker's own client: it registers "a" and a
 *                  32-byte name with the cookie round trip, so it holds
 *                  their tokens and a cookie that is good for A.
 *   B   127.0.0.1  registers "b": a live peer to look up and relay to.
 *   V   127.0.0.1  the victim. No cookie ever came back from it, so to
 *                  the server it is what a forged source is: an address
 *                  nobody proved. On loopback V reads the answers that
 *                  forged requests would bring to the real owner; it never
 *                  echoes a cookie it was sent, as an attacker cannot.
 *   V2  127.0.0.1  another port, which fetches one more cookie that is
 *                  not V's: a cookie binds the port too.
 *
 * V sends every request type in its smallest and larger sizes, with no
 * cookie, a wrong one, A's, V2's, and with A's names and tokens; then bad
 * versions of every length, unknown and wrong-direction types, truncated,
 * padded, flipped and random datagrams. After each, V sends a STATS as a
 * fence: one socket, one server thread, so every datagram that reaches V
 * before the STATS_REPLYs (SERVER_STATS_PAGES of them) answers that
 * request, and no deadline guesses
 * when the answers are over. STATS itself is answered (loopback is exempt
 * by design: only this machine can ask), so it is reported apart.
 *
 * Then STUN, the one answer the RFC makes larger than its request: its
 * sizes and attributes, and the per-source limit: a burst from 127.0.0.3,
 * and a request from 127.0.0.2 right after, which must still be answered.
 * Last, from A and B: the names V tried to register are not online, and
 * A's names are still at A's address.
 *
 * Prints a table, then "key value" lines that tests/amplify.sh judges.
 * Exits 1 when the test could not be run (the server stopped answering).
 */

#define AMP_WAIT_MS 2000   /* for an answer that must come, even from a server under ASan */
#define AMP_QUIET_MS 200   /* at the end, V must get nothing more for this long */
#define AMP_ROWS_MAX 48    /* rows of the table */
#define AMP_STUN_BURST 200 /* Binding requests in the burst: ten times the default burst */
#define AMP_SEED 42

struct sock {
	int fd;
	struct proto_addr addr; /* as bound: the source address the server sees */
};

/* One row of the table: every probe of one kind. */
struct row {
	const char *kind;
	int stun;               /* a STUN row: the RFC's exception, out of the p2pchat ratio */
	unsigned probes;        /* requests sent */
	unsigned answered;      /* requests that got at least one datagram back */
	size_t req_min, req_max; /* request bytes */
	size_t out_max;         /* the most answer bytes one request got */
	size_t worst_out, worst_in; /* the largest ratio: answer bytes, request bytes */
};

static struct proto_addr server;
static struct sock a, b, v, v2;
static struct row rows[AMP_ROWS_MAX];
static int nrows;
static unsigned unexpected; /* answers to V other than ERROR, COOKIE (and STUN to STUN) */
static char unexpected_types[256];
static struct rng64 rng = { AMP_SEED };
static char results[3][256]; /* "key value" lines, printed after the tables */
static int nresults;

/* Says what went wrong (and err's text, when err is not 0) and exits 1: the test could not run. */
static void die(const char *what, int err)
{
	fprintf(stderr, "amplify: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
	exit(1);
}

/* xorshift64: reproducible junk. Not for secrets. */
static uint8_t rnd_byte(void)
{
	return (uint8_t)(rng64_next(&rng) >> 24);
}

static void open_sock(struct sock *s, const char *ip)
{
	struct proto_addr bind_to;

	/* Loopback only: a test never sends anywhere else. */
	if (net_parse_ip(ip, 0, &bind_to) < 0 || !net_is_loopback(&bind_to))
		die("not a loopback address", 0);
	s->fd = net_udp_socket(&bind_to, 0, 1);
	if (s->fd < 0 || net_local_addr(s->fd, &s->addr) < 0)
		die(ip, errno);
}

/* Sends buf[0..len) from s to the server; waits for room in a full socket buffer. */
static void send_raw(const struct sock *s, const uint8_t *buf, size_t len)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLOUT };

	while (net_send(s->fd, 0, &server, buf, len) < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			die("send", errno);
		poll(&pfd, 1, 10);
	}
}

/* The clients this program plays (version 2: each a key), and the server's key once learned. */
static struct sealer sl;

/*
 * Encodes m into buf[0..cap), or exits: every message here is valid; a
 * request is sealed as the owner of the seed msg_init left in m->key.
 * Returns its length.
 */
static size_t encode(const struct proto_msg *m, uint8_t *buf, size_t cap)
{
	struct proto_msg c = *m;
	uint8_t seed[SEALER_SEED_LEN];
	int n;

	memcpy(seed, m->key, SEALER_SEED_LEN);
	n = sealer_seal(&sl, &c, seed, buf, cap);

	if (n < 0) {
		fprintf(stderr, "amplify: cannot encode %s: %s\n", proto_type_name(m->type),
			proto_strerror(n));
		exit(1);
	}
	return (size_t)n;
}

static void send_msg(const struct sock *s, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];

	send_raw(s, buf, encode(m, buf, sizeof(buf)));
}

/* Receives one datagram on s before `deadline` (ms). Returns its length, or -1 at the deadline. */
static long recv_until(const struct sock *s, uint8_t *buf, size_t cap, int64_t deadline)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
	struct proto_addr from;
	ssize_t n;

	for (;;) {
		n = net_recv(s->fd, buf, cap, &from);
		if (n >= 0)
			return (long)n;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			die("recv", errno);
		if (net_now_ms() >= deadline)
			return -1;
		poll(&pfd, 1, (int)(deadline - net_now_ms()));
	}
}

/* The next p2pchat message that reaches s within AMP_WAIT_MS. Returns 0, or -1 when none came. */
static int next_msg(const struct sock *s, struct proto_msg *out)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int64_t deadline = net_now_ms() + AMP_WAIT_MS;
	long n;

	while ((n = recv_until(s, buf, sizeof(buf), deadline)) >= 0)
		if (sealer_open(&sl, buf, (size_t)n, out) != -1)
			return 0;
	return -1;
}

/* Reads and drops whatever waits on s. */
static void drain(const struct sock *s)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_addr from;

	while (net_recv(s->fd, buf, sizeof(buf), &from) >= 0)
		;
}

/* m of type from name; token: the 8 seed bytes of its owner's key (sealer.h), kept in m->key until encode. */
static void msg_init(struct proto_msg *m, uint8_t type, const char *name, const uint8_t *token)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	snprintf(m->name, sizeof(m->name), "%s", name);
	if (token != NULL)
		memcpy(m->key, token, SEALER_SEED_LEN);
}

/*
 * A peer datagram as the relay carries it: a SEALED of the fewest bytes, or
 * (longest) of a sealed DATA with 1 KiB of text. The bytes are no
 * session's: the server reads only the header.
 */
static void sealed_init(struct proto_msg *m, int longest)
{
	memset(m, 0, sizeof(*m));
	m->type = PROTO_SEALED;
	m->payload_len = longest ? PROTO_SEALED_MIN + 15 + PROTO_FRAG_MAX : PROTO_SEALED_MIN;
	memset(m->payload, 0x5a, m->payload_len);
}

/*
 * Registers name with token from s: the REGISTER, the COOKIE, the REGISTER
 * again with it, the REGISTERED. Leaves s's latest cookie in cookie.
 */
static void register_name(const struct sock *s, const char *name, const uint8_t *token,
			  uint8_t cookie[PROTO_COOKIE_LEN])
{
	struct proto_msg m, r;
	int tries;

	for (tries = 0; tries < 4; tries++) {
		msg_init(&m, PROTO_REGISTER, name, token);
		memcpy(m.cookie, cookie, PROTO_COOKIE_LEN);
		send_msg(s, &m);
		if (next_msg(s, &r) < 0)
			continue;
		if (r.type == PROTO_COOKIE || r.type == PROTO_REGISTERED)
			memcpy(cookie, r.cookie, PROTO_COOKIE_LEN);
		if (r.type == PROTO_REGISTERED)
			return;
	}
	fprintf(stderr, "amplify: cannot register %s\n", name);
	exit(1);
}

/* The value of key in a STATS_REPLY's "key value" lines, or -1. */
static long long stat_value(const struct proto_msg *m, const char *key)
{
	size_t klen = strlen(key);
	const char *p = m->text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ')
			return strtoll(p + klen + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

static struct row *row_for(const char *kind, int stun)
{
	int i;

	for (i = 0; i < nrows; i++)
		if (strcmp(rows[i].kind, kind) == 0)
			return &rows[i];
	if (nrows == AMP_ROWS_MAX)
		die("too many rows", 0);
	rows[nrows].kind = kind;
	rows[nrows].stun = stun;
	rows[nrows].req_min = (size_t)-1;
	return &rows[nrows++];
}

/*
 * Returns 1 when out1/in1 > out2/in2, without dividing: an empty request
 * (in = 0) with an answer is infinitely worse than any other; with no
 * answer, any request's ratio is 0.
 */
static int ratio_above(size_t out1, size_t in1, size_t out2, size_t in2)
{
	if (out1 == 0)
		return 0;
	if (out2 == 0)
		return 1;
	return (unsigned long long)out1 * in2 > (unsigned long long)out2 * in1;
}

/* What came back before a fence. */
struct answers {
	unsigned count;        /* datagrams */
	size_t bytes;          /* their bytes */
	unsigned stun;         /* of them, STUN messages */
	unsigned refusals;     /* of them, p2pchat ERROR, NOTICE or COOKIE: all V may get */
	const char *other;     /* the kind of the last other one, or NULL */
	size_t first_len;      /* the first one, whole */
	uint8_t first[PROTO_MAX_DATAGRAM];
	struct proto_msg reply; /* the fence's first STATS_REPLY: the server's counters, page 0 */
	size_t stats_bytes;     /* the fence's STATS_REPLYs, every page */
};

/*
 * Sends a STATS from s and reads what comes back until its last
 * STATS_REPLY page: one socket and one server thread keep the order, so
 * everything before them answers what s sent before. Exits when they do
 * not all come.
 */
static void fence(const struct sock *s, struct answers *ans)
{
	static const uint8_t stats[PROTO_HEADER_LEN] = {
		PROTO_MAGIC, PROTO_VERSION, PROTO_STATS, 0
	};
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg m;
	int64_t deadline;
	int pages = 0;
	long n;

	memset(ans, 0, sizeof(*ans));
	send_raw(s, stats, sizeof(stats));
	deadline = net_now_ms() + AMP_WAIT_MS;
	for (;;) {
		n = recv_until(s, buf, sizeof(buf), deadline);
		if (n < 0)
			die("no STATS_REPLY to the fence: is p2pchatd still up?", 0);
		if (proto_decode(buf, (size_t)n, &m) == 0 && m.type == PROTO_STATS_REPLY) {
			if (pages++ == 0)
				ans->reply = m;
			ans->stats_bytes += (size_t)n;
			if (pages == SERVER_STATS_PAGES)
				return;
			continue;
		}
		/* By the header: a sealed ERROR is V's to read only with a key V holds. */
		if (n >= PROTO_HEADER_LEN && buf[0] == PROTO_MAGIC &&
		    (buf[2] == PROTO_ERROR || buf[2] == PROTO_NOTICE || buf[2] == PROTO_COOKIE)) {
			ans->refusals++;
		} else if (n >= PROTO_HEADER_LEN && buf[0] == PROTO_MAGIC) {
			ans->other = proto_type_name(buf[2]);
		} else if (stun_is_stun(buf, (size_t)n)) {
			ans->stun++;
		} else {
			ans->other = "junk";
		}
		if (ans->count++ == 0) {
			memcpy(ans->first, buf, (size_t)n);
			ans->first_len = (size_t)n;
		}
		ans->bytes += (size_t)n;
	}
}

/*
 * Sends req[0..len) from `from` and adds it and what came back (see
 * fence) to the row `kind`. An answer other than ERROR or COOKIE (STUN on
 * a STUN row) is counted as unexpected. Leaves the answers in *ans.
 */
static void probe_from(const struct sock *from, const char *kind, int stun, const uint8_t *req,
		       size_t len, struct answers *ans)
{
	struct row *r = row_for(kind, stun);
	size_t out;

	send_raw(from, req, len);
	fence(from, ans);
	out = ans->bytes;
	if ((stun ? ans->stun : ans->refusals) != ans->count) {
		unexpected += ans->count - (stun ? ans->stun : ans->refusals);
		if (strlen(unexpected_types) + 24 < sizeof(unexpected_types))
			snprintf(unexpected_types + strlen(unexpected_types), 24, " %s",
				 ans->other != NULL ? ans->other : "STUN");
	}
	r->probes++;
	r->answered += out > 0;
	if (len < r->req_min)
		r->req_min = len;
	if (len > r->req_max)
		r->req_max = len;
	if (out > r->out_max)
		r->out_max = out;
	if (r->probes == 1 || ratio_above(out, len, r->worst_out, r->worst_in)) {
		r->worst_out = out;
		r->worst_in = len;
	}
}

/* A probe from V, the victim. A valid STATS is left out: it is the fence, measured apart. */
static void probe(const char *kind, const uint8_t *req, size_t len)
{
	static struct answers ans;
	struct proto_msg m;

	if (proto_decode(req, len, &m) == 0 && m.type == PROTO_STATS)
		return;
	probe_from(&v, kind, 0, req, len, &ans);
}

static void probe_msg(const char *kind, const struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];

	probe(kind, buf, encode(m, buf, sizeof(buf)));
}

/* What A, B and V2 hold, which V's requests borrow. */
static const char long_name[] = "a1234567890123456789012345678901"; /* 32 bytes: the longest */
static const uint8_t token_a[PROTO_TOKEN_LEN] = { 'a', 't', 'o', 'k', 'e', 'n', 0, 1 };
static const uint8_t token_long[PROTO_TOKEN_LEN] = { 'l', 't', 'o', 'k', 'e', 'n', 0, 2 };
static const uint8_t token_b[PROTO_TOKEN_LEN] = { 'b', 't', 'o', 'k', 'e', 'n', 0, 3 };
static const uint8_t token_v[PROTO_TOKEN_LEN] = { 'v', 't', 'o', 'k', 'e', 'n', 0, 4 };
static uint8_t cookie_a[PROTO_COOKIE_LEN], cookie_b[PROTO_COOKIE_LEN], cookie_v2[PROTO_COOKIE_LEN];

/* The names V tries to register for itself; none may come to be. */
static const char *const v_names[] = { "v", "v1234567890123456789012345678901" };

/* One template of every request, for truncating, padding and flipping: see templates(). */
enum { T_REGISTER, T_REFRESH, T_LOOKUP, T_REPORT, T_RELAY, T_WHO, AMP_TEMPLATES };
static uint8_t tmpl[AMP_TEMPLATES][PROTO_MAX_DATAGRAM];
static size_t tmpl_len[AMP_TEMPLATES];
static int ntmpl;

/* Endpoints for a REGISTER: 0, 2 IPv4 or 4 IPv6 ones (the largest). */
static void add_endpoints(struct proto_msg *m, int n, uint8_t family)
{
	int i;

	m->nprivate = (uint8_t)n;
	for (i = 0; i < n; i++) {
		m->private_ep[i].family = family;
		m->private_ep[i].port = (uint16_t)(40000 + i);
		memset(m->private_ep[i].ip, 0x0a + i, sizeof(m->private_ep[i].ip));
	}
}

/* REGISTER and REFRESH with each kind of cookie V can lay hands on, none of them V's own. */
static void probe_register(void)
{
	static const char *const reg_rows[4] = {
		"REGISTER, no cookie", "REGISTER, wrong cookie", "REGISTER, A's cookie",
		"REGISTER, V2's cookie",
	};
	static const char *const ref_rows[4] = {
		"REFRESH, no cookie", "REFRESH, wrong cookie", "REFRESH, A's cookie",
		"REFRESH, V2's cookie",
	};
	static const uint8_t wrong[PROTO_COOKIE_LEN] = { 0xa5, 0xa5, 0xa5, 0xa5, 1, 2, 3, 4 };
	const uint8_t *cookies[4] = { NULL, wrong, cookie_a, cookie_v2 };
	/* V's own new names with a token of its own, then A's names with A's tokens. */
	const char *names[4] = { v_names[0], v_names[1], "a", long_name };
	const uint8_t *tokens[4] = { token_v, token_v, token_a, token_long };
	struct proto_msg m;
	int c, i, shape;

	for (c = 0; c < 4; c++) {
		for (i = 0; i < 4; i++) {
			for (shape = 0; shape < 3; shape++) {
				msg_init(&m, PROTO_REGISTER, names[i], tokens[i]);
				if (cookies[c] != NULL)
					memcpy(m.cookie, cookies[c], PROTO_COOKIE_LEN);
				add_endpoints(&m, shape * 2,
					      shape == 2 ? PROTO_AF_INET6 : PROTO_AF_INET);
				probe_msg(reg_rows[c], &m);
			}
			m.type = PROTO_REFRESH;
			probe_msg(ref_rows[c], &m);
		}
	}
}

/* LOOKUP, WHO, REPORT and RELAY: with A's names and tokens (the attack), and with a wrong token. */
static void probe_requests(void)
{
	static const char *const row_names[2][4] = {
		{ "LOOKUP, A's name and token", "WHO, A's name and token",
		  "REPORT, A's name and token", "RELAY, A's name and token" },
		{ "LOOKUP, wrong token", "WHO, wrong token", "REPORT, wrong token",
		  "RELAY, wrong token" },
	};
	static const uint8_t wrong[PROTO_TOKEN_LEN] = { 9, 9, 9, 9, 9, 9, 9, 9 };
	const char *names[2] = { "a", long_name };
	const uint8_t *tokens[2] = { token_a, token_long };
	const char *targets[3] = { "b", "nobody", long_name };
	struct proto_msg m, peer;
	int bad, i, t, p;

	for (bad = 0; bad < 2; bad++) {
		for (i = 0; i < 2; i++) {
			const uint8_t *token = bad ? wrong : tokens[i];

			for (t = 0; t < 3; t++) {
				msg_init(&m, PROTO_LOOKUP, names[i], token);
				snprintf(m.target, sizeof(m.target), "%s", targets[t]);
				probe_msg(row_names[bad][0], &m);
				m.type = PROTO_REPORT;
				for (p = PROTO_PATH_PRIVATE; p <= PROTO_PATH_RELAY; p++) {
					m.path = (uint8_t)p;
					probe_msg(row_names[bad][2], &m);
				}
				/* RELAY: the shortest SEALED, the longest (a sealed DATA of 1 KiB). */
				m.type = PROTO_RELAY;
				for (p = 0; p < 2; p++) {
					sealed_init(&peer, p);
					m.payload_len = (uint16_t)encode(&peer, m.payload,
									 sizeof(m.payload));
					probe_msg(row_names[bad][3], &m);
				}
			}
			msg_init(&m, PROTO_WHO, names[i], token);
			for (m.cursor = 0; m.cursor < 3; m.cursor++)
				probe_msg(row_names[bad][1], &m);
		}
	}
}

/* Adds m to the templates. */
static void add_template(const struct proto_msg *m)
{
	if (ntmpl == AMP_TEMPLATES)
		die("too many templates", 0);
	tmpl_len[ntmpl] = encode(m, tmpl[ntmpl], sizeof(tmpl[ntmpl]));
	ntmpl++;
}

/* Fills tmpl[] with a valid request of each type with a body, in the order T_REGISTER .. T_WHO. */
static void templates(void)
{
	struct proto_msg m, peer;

	msg_init(&m, PROTO_REGISTER, long_name, token_long);
	add_endpoints(&m, PROTO_MAX_PRIVATE, PROTO_AF_INET6);
	add_template(&m);
	msg_init(&m, PROTO_REFRESH, "a", token_a);
	memcpy(m.cookie, cookie_a, PROTO_COOKIE_LEN);
	add_template(&m);
	msg_init(&m, PROTO_LOOKUP, "a", token_a);
	snprintf(m.target, sizeof(m.target), "b");
	add_template(&m);
	m.type = PROTO_REPORT;
	m.path = PROTO_PATH_PUBLIC;
	add_template(&m);
	m.type = PROTO_RELAY;
	sealed_init(&peer, 0);
	m.payload_len = (uint16_t)encode(&peer, m.payload, sizeof(m.payload));
	add_template(&m);
	msg_init(&m, PROTO_WHO, long_name, token_long);
	m.cursor = 7;
	add_template(&m);
}

/* Datagrams the server must drop: every one is checked to get no answer bigger than itself. */
static void probe_malformed(void)
{
	static const uint8_t versions[] = { 0, 1, PROTO_VERSION + 1, 255 };
	static const uint8_t bad_types[] = { 0, PROTO_DATA, 27, 64, 255 }; /* DATA: only inside a SEALED */
	static const uint8_t wrong_way[] = {
		PROTO_REGISTERED, PROTO_PEER, PROTO_ERROR, PROTO_STATS_REPLY, PROTO_WHO_REPLY,
		PROTO_RELAYED, PROTO_COOKIE, PROTO_NOTICE, PROTO_PROBE, PROTO_PROBE_ACK, PROTO_SEALED,
	};
	static const size_t random_lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 64, 512, 1200, 1400 };
	uint8_t buf[PROTO_MAX_DATAGRAM + 300];
	struct proto_msg m, sealed;
	size_t i, j, len;

	sealed_init(&sealed, 0);

	/* Another version: every length from 1 to 12, and the largest REGISTER with it. */
	for (i = 0; i < sizeof(versions); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = PROTO_MAGIC;
		buf[1] = versions[i];
		buf[2] = PROTO_REGISTER;
		for (len = 1; len <= 12; len++)
			probe("another version", buf, len);
		memcpy(buf, tmpl[T_REGISTER], tmpl_len[T_REGISTER]);
		buf[1] = versions[i];
		probe("another version", buf, tmpl_len[T_REGISTER]);
	}
	/* Types that do not exist, with no body and with bodies of some sizes. */
	for (i = 0; i < sizeof(bad_types); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = PROTO_MAGIC;
		buf[1] = PROTO_VERSION;
		buf[2] = bad_types[i];
		for (len = PROTO_HEADER_LEN; len <= 100; len += 24)
			probe("unknown type", buf, len);
	}
	/* Well-formed messages that only the server or a peer sends. */
	for (i = 0; i < sizeof(wrong_way); i++) {
		msg_init(&m, wrong_way[i], "a", NULL);
		snprintf(m.names[0], sizeof(m.names[0]), "a");
		m.nnames = 1;
		m.text_len = 1;
		m.text[0] = 'x';
		m.code = PROTO_E_UNKNOWN;
		m.public_ep = v.addr;
		if (wrong_way[i] == PROTO_PROBE || wrong_way[i] == PROTO_PROBE_ACK ||
		    wrong_way[i] == PROTO_SEALED) /* random bytes where a session's would be */
			m.payload_len = wrong_way[i] == PROTO_PROBE ? PROTO_INIT_LEN :
					wrong_way[i] == PROTO_PROBE_ACK ? PROTO_RESP_LEN : PROTO_SEALED_MIN;
		else
			m.payload_len = (uint16_t)encode(&sealed, m.payload, sizeof(m.payload));
		probe_msg(wrong_way[i] >= PROTO_PROBE ? "peer type" : "server->client type", &m);
	}
	/* Each request cut short at every length, one byte too long, a reserved bit, bad magic. */
	for (i = 0; i < AMP_TEMPLATES; i++) {
		for (len = 0; len < tmpl_len[i]; len++)
			probe("truncated request", tmpl[i], len);
		memcpy(buf, tmpl[i], tmpl_len[i]);
		buf[tmpl_len[i]] = 0;
		probe("request + 1 byte", buf, tmpl_len[i] + 1);
		buf[3] = 1;
		probe("reserved byte set", buf, tmpl_len[i]);
		buf[3] = 0;
		buf[0] = PROTO_MAGIC + 1;
		probe("bad magic", buf, tmpl_len[i]);
		/* Every byte flipped in turn: a flip may make another valid request; fine. */
		for (j = 0; j < tmpl_len[i]; j++) {
			memcpy(buf, tmpl[i], tmpl_len[i]);
			buf[j] ^= 0xff;
			if (j == 0 && stun_is_stun(buf, tmpl_len[i]))
				continue; /* not for 0x50 ^ 0xff; STUN has its own table */
			probe("one byte flipped", buf, tmpl_len[i]);
		}
	}
	/* Over the largest datagram: a valid start, then junk. */
	memcpy(buf, tmpl[T_RELAY], tmpl_len[T_RELAY]);
	for (len = PROTO_MAX_DATAGRAM + 1; len <= sizeof(buf); len += 99) {
		for (j = tmpl_len[T_RELAY]; j < len; j++)
			buf[j] = rnd_byte();
		probe("oversize", buf, len);
	}
	/* Random bytes; a first byte of 0..3 would be STUN, which has its own table. */
	for (i = 0; i < sizeof(random_lens) / sizeof(random_lens[0]); i++) {
		for (j = 0; j < 4; j++) {
			size_t k;

			for (k = 0; k < random_lens[i]; k++)
				buf[k] = rnd_byte();
			if (random_lens[i] > 0 && buf[0] < 4)
				buf[0] |= 4;
			if (j == 1 && random_lens[i] > 0)
				buf[0] = PROTO_MAGIC;
			probe("random bytes", buf, random_lens[i]);
		}
	}
}

/* STUN, RFC 8489: attribute types read or written here. */
#define AMP_ATTR_MAPPED 0x0001
#define AMP_ATTR_XOR_MAPPED 0x0020
#define AMP_ATTR_ERROR_CODE 0x0009
#define AMP_ATTR_UNKNOWN 0x000a
#define AMP_ATTR_FINGERPRINT 0x8028
#define AMP_STUN_BINDING 0x0001
#define AMP_STUN_BINDING_OK 0x0101

/* CRC-32 (ISO-HDLC), bit by bit: for a request's FINGERPRINT (RFC 8489, 14.7). */
static uint32_t crc32_of(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xffffffffu;
	int bit;

	while (n-- > 0) {
		crc ^= *p++;
		for (bit = 0; bit < 8; bit++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

/*
 * A STUN request into buf: method and class in `type`, the magic cookie
 * or not (RFC 3489), an unknown comprehension-required attribute or not,
 * a FINGERPRINT or not; transaction ID from id. Returns its length.
 */
static size_t stun_request(uint8_t *buf, uint32_t type, int cookie, int unknown, int fingerprint,
			   uint32_t id)
{
	size_t len = STUN_HEADER_LEN;

	memset(buf, 0, STUN_HEADER_LEN);
	bytes_put16(buf, type);
	bytes_put32(buf + 4, cookie ? STUN_MAGIC_COOKIE : 0x01020304u);
	bytes_put32(buf + 16, id);
	if (unknown) {
		/* Under 0x8000: the server must understand it, and cannot. */
		bytes_put16(buf + len, 0x7f01);
		bytes_put16(buf + len + 2, 0);
		len += 4;
	}
	if (fingerprint) {
		bytes_put16(buf + len, AMP_ATTR_FINGERPRINT);
		bytes_put16(buf + len + 2, 4);
		bytes_put16(buf + 2, (uint32_t)(len + 8 - STUN_HEADER_LEN));
		bytes_put32(buf + len + 4, crc32_of(buf, len) ^ 0x5354554eu);
		len += 8;
	}
	bytes_put16(buf + 2, (uint32_t)(len - STUN_HEADER_LEN));
	return len;
}

/* Writes the attribute types of the STUN message buf[0..len) into out, comma-separated. */
static void stun_attrs(const uint8_t *buf, size_t len, char *out, size_t cap)
{
	size_t off = STUN_HEADER_LEN;

	snprintf(out, cap, "-");
	while (len - off >= 4 && off <= len) {
		uint32_t type = bytes_get16(buf + off), alen = bytes_get16(buf + off + 2);
		const char *name = type == AMP_ATTR_XOR_MAPPED ? "XOR-MAPPED-ADDRESS" :
				   type == AMP_ATTR_MAPPED ? "MAPPED-ADDRESS" :
				   type == AMP_ATTR_FINGERPRINT ? "FINGERPRINT" :
				   type == AMP_ATTR_ERROR_CODE ? "ERROR-CODE" :
				   type == AMP_ATTR_UNKNOWN ? "UNKNOWN-ATTRIBUTES" : "other";
		size_t used = strcmp(out, "-") == 0 ? 0 : strlen(out);

		snprintf(out + used, cap - used, "%s%s", used ? "," : "", name);
		off += 4 + ((alen + 3) & ~3u);
	}
}

/* Returns 1 when the STUN answer's XOR-MAPPED-ADDRESS is s's IPv4 address and port. */
static int stun_maps_to(const uint8_t *ans, size_t len, const struct sock *s)
{
	const uint8_t *p = ans + STUN_HEADER_LEN + 4;
	int i;

	if (len < STUN_HEADER_LEN + 12 || bytes_get16(ans + STUN_HEADER_LEN) != AMP_ATTR_XOR_MAPPED ||
	    p[1] != 0x01 || (bytes_get16(p + 2) ^ (STUN_MAGIC_COOKIE >> 16)) != s->addr.port)
		return 0;
	for (i = 0; i < 4; i++)
		if ((p[4 + i] ^ ans[4 + i]) != s->addr.ip[i])
			return 0;
	return 1;
}

/* The STUN table: each kind of STUN request once from V, its answer's size and attributes. */
static void probe_stun(void)
{
	static const struct {
		const char *kind;
		uint32_t type;
		int cookie, unknown, fingerprint;
	} cases[] = {
		{ "STUN Binding", AMP_STUN_BINDING, 1, 0, 0 },
		{ "STUN Binding + FINGERPRINT", AMP_STUN_BINDING, 1, 0, 1 },
		{ "STUN Binding, RFC 3489", AMP_STUN_BINDING, 0, 0, 0 },
		{ "STUN Binding, unknown attr.", AMP_STUN_BINDING, 1, 1, 0 },
		{ "STUN indication", 0x0011, 1, 0, 0 },
		{ "STUN response", AMP_STUN_BINDING_OK, 1, 0, 0 },
		{ "STUN other method", 0x0003, 1, 0, 0 },
	};
	static struct answers ans;
	uint8_t req[64];
	char attrs[128];
	size_t i, len;
	int type_ok;

	printf("\n%-30s %7s %7s  %s\n", "STUN request (from V)", "bytes", "answer", "attributes");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		len = stun_request(req, cases[i].type, cases[i].cookie, cases[i].unknown,
				   cases[i].fingerprint, (uint32_t)(1000 + i));
		probe_from(&v, cases[i].kind, 1, req, len, &ans);
		if (ans.count > 0)
			stun_attrs(ans.first, ans.first_len, attrs, sizeof(attrs));
		else
			snprintf(attrs, sizeof(attrs), "(no answer)");
		printf("%-30s %7zu %7zu  %s\n", cases[i].kind, len, ans.bytes, attrs);
		if (i > 0)
			continue;
		/*
		 * The plain Binding request: tests/amplify.sh checks its answer to the
		 * byte. A success response, with the request's cookie and transaction ID.
		 */
		type_ok = ans.first_len >= STUN_HEADER_LEN &&
			  bytes_get16(ans.first) == AMP_STUN_BINDING_OK &&
			  memcmp(ans.first + 4, req + 4, 16) == 0;
		snprintf(results[nresults++], sizeof(results[0]),
			 "stun_request %zu\nstun_answer %zu\nstun_answers %u\nstun_attrs %s\n"
			 "stun_type_ok %d\nstun_mapped_ok %d", len, ans.bytes, ans.count, attrs,
			 type_ok, stun_maps_to(ans.first, ans.first_len, &v));
	}
}

/*
 * The per-source STUN limit: AMP_STUN_BURST Binding requests from
 * 127.0.0.3 as fast as they go, then a fence, then one request from
 * 127.0.0.2. The first source may get at most its burst plus what the
 * rate refilled while the server worked through them (the time from the
 * first send to the fence's answer bounds that from above); the second is
 * still answered. The limits are the defaults p2pchatd starts from.
 */
static void stun_burst(void)
{
	static struct answers before, after, other;
	struct guard_config g;
	struct sock s3, s2;
	uint8_t req[64];
	size_t len;
	int64_t start, ms;
	long long limited;
	uint64_t most;
	int i;

	guard_defaults(&g);
	open_sock(&s3, "127.0.0.3");
	open_sock(&s2, "127.0.0.2");
	fence(&s3, &before);
	start = net_now_ms();
	for (i = 0; i < AMP_STUN_BURST; i++) {
		len = stun_request(req, AMP_STUN_BINDING, 1, 0, 0, (uint32_t)(5000 + i));
		send_raw(&s3, req, len);
	}
	fence(&s3, &after);
	ms = net_now_ms() - start;
	limited = stat_value(&after.reply, "limited_stun") -
		  stat_value(&before.reply, "limited_stun");
	/* +1 ms: the clock reads whole milliseconds; a token is whole too, so round up. */
	most = g.rate[GUARD_STUN].burst +
	       ((uint64_t)g.rate[GUARD_STUN].per_s * (uint64_t)(ms + 1) + 999) / 1000;
	len = stun_request(req, AMP_STUN_BINDING, 1, 0, 0, 9999);
	probe_from(&s2, "STUN Binding, 127.0.0.2", 1, req, len, &other);

	printf("\nSTUN burst: %d Binding requests from 127.0.0.3 in %lld ms: %u answered, "
	       "%lld limited (default: %u/s, burst %u); 127.0.0.2 right after: %u answer(s)\n",
	       AMP_STUN_BURST, (long long)ms, after.stun, limited, g.rate[GUARD_STUN].per_s,
	       g.rate[GUARD_STUN].burst, other.stun);
	snprintf(results[nresults++], sizeof(results[0]),
		 "stun_burst_sent %d\nstun_burst_ms %lld\nstun_burst_answered %u\n"
		 "stun_burst_least %u\nstun_burst_most %llu\nstun_burst_limited %lld\n"
		 "stun_other_answered %u", AMP_STUN_BURST, (long long)ms, after.stun,
		 g.rate[GUARD_STUN].burst, (unsigned long long)most, limited, other.stun);
	close(s3.fd);
	close(s2.fd);
}

/* Prints the table of p2pchat requests; returns the row with the largest ratio. */
static const struct row *print_table(void)
{
	const struct row *worst = NULL;
	int i;

	printf("%-28s %6s %11s %8s %7s  %s\n", "request (from V)", "sent", "bytes", "answered",
	       "answer", "largest answer/request");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		if (r->stun)
			continue;
		printf("%-28s %6u %5zu..%-5zu %8u %7zu  %zu/%zu = %.3f\n", r->kind, r->probes,
		       r->req_min, r->req_max, r->answered, r->out_max, r->worst_out, r->worst_in,
		       r->worst_in > 0 ? (double)r->worst_out / (double)r->worst_in :
		       r->worst_out > 0 ? 1e9 : 0.0);
		if (worst == NULL || ratio_above(r->worst_out, r->worst_in, worst->worst_out,
						 worst->worst_in))
			worst = r;
	}
	return worst;
}

/* Returns 1 when a LOOKUP of target from s (name, token) brings s a PEER; *peer holds it. */
static int lookup(const struct sock *s, const char *name, const uint8_t *token,
		  const char *target, struct proto_msg *peer)
{
	struct proto_msg m;

	msg_init(&m, PROTO_LOOKUP, name, token);
	snprintf(m.target, sizeof(m.target), "%s", target);
	send_msg(s, &m);
	return next_msg(s, peer) == 0 && peer->type == PROTO_PEER;
}

/*
 * After the attack: V's names are not online (a LOOKUP from A says so),
 * and A's names are still at A's address: B's LOOKUP of each gets A's
 * address in its PEER (B asks, so nothing A-side moves them back), and A's
 * own LOOKUP, which the server takes only from a name's address, works.
 */
static void after_attack(void)
{
	const char *a_names[2] = { "a", long_name };
	struct proto_msg peer;
	unsigned spoofed = 0, moved = 0;
	int i, a_ok;

	drain(&a);
	drain(&b);
	for (i = 0; i < 2; i++) {
		struct proto_msg m;

		msg_init(&m, PROTO_LOOKUP, "a", token_a);
		snprintf(m.target, sizeof(m.target), "%s", v_names[i]);
		send_msg(&a, &m);
		if (next_msg(&a, &peer) < 0 || peer.type != PROTO_ERROR ||
		    peer.code != PROTO_E_NOT_ONLINE)
			spoofed++;
		if (!lookup(&b, "b", token_b, a_names[i], &peer) ||
		    !proto_addr_equal(&peer.public_ep, &a.addr))
			moved++;
		/* The other PEER of that introduction, which went to A's address, if it did. */
		else if (next_msg(&a, &peer) < 0 || peer.type != PROTO_PEER)
			moved++;
	}
	a_ok = lookup(&a, "a", token_a, "b", &peer) && strcmp(peer.name, "b") == 0;
	snprintf(results[nresults++], sizeof(results[0]),
		 "spoof_registered %u\na_moved %u\na_lookup_ok %d", spoofed, moved, a_ok);
}

int main(int argc, char **argv)
{
	static struct answers last, stats;
	const struct row *worst;
	struct proto_msg m;
	long n;
	int i;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	uint8_t no_cookie[PROTO_COOKIE_LEN] = { 0 };
	unsigned long port = 0;
	char *end = NULL;

	if (argc == 2)
		port = strtoul(argv[1], &end, 10);
	if (argc != 2 || argv[1][0] < '0' || argv[1][0] > '9' || *end != '\0' || port == 0 ||
	    port > 65535) {
		fputs("usage: amplify PORT\n", stderr);
		return 2;
	}
	net_parse_ip("127.0.0.1", (uint16_t)port, &server);
	open_sock(&a, "127.0.0.1");
	open_sock(&b, "127.0.0.1");
	open_sock(&v, "127.0.0.1");
	open_sock(&v2, "127.0.0.1");

	/*
	 * A and B register for real; V2 only fetches a cookie for its own
	 * address (a server that skipped the cookie would register it at once:
	 * its REGISTERED has one too).
	 */
	register_name(&a, "a", token_a, cookie_a);
	register_name(&a, long_name, token_long, cookie_a);
	register_name(&b, "b", token_b, cookie_b);
	msg_init(&m, PROTO_REGISTER, "v2", token_b);
	memcpy(m.cookie, no_cookie, PROTO_COOKIE_LEN);
	send_msg(&v2, &m);
	if (next_msg(&v2, &m) < 0 || (m.type != PROTO_COOKIE && m.type != PROTO_REGISTERED))
		die("V2 got no cookie", 0);
	memcpy(cookie_v2, m.cookie, PROTO_COOKIE_LEN);

	templates();
	probe_register();
	probe_requests();
	probe_malformed();
	worst = print_table();
	/* STATS: answered, and much larger (all its pages), but only ever to this machine. */
	fence(&v, &stats);
	printf("%-28s %6d %5d..%-5d %8d %7zu  exempt: answered to loopback only\n", "STATS", 1,
	       PROTO_HEADER_LEN, PROTO_HEADER_LEN, 1, stats.stats_bytes);

	probe_stun();
	stun_burst();
	/* Anything late for V would be an answer no fence saw: there must be none. */
	n = recv_until(&v, buf, sizeof(buf), net_now_ms() + AMP_QUIET_MS);
	after_attack();
	fence(&v, &last);

	for (i = 0; i < nresults; i++)
		printf("%s\n", results[i]);
	printf("max_ratio %.3f (%s: %zu bytes for %zu)\n",
	       worst->worst_in > 0 ? (double)worst->worst_out / (double)worst->worst_in : 0.0,
	       worst->kind, worst->worst_out, worst->worst_in);
	printf("max_ratio_milli %llu\n", worst->worst_in > 0 ?
	       (unsigned long long)worst->worst_out * 1000 / worst->worst_in :
	       worst->worst_out > 0 ? 1000000000ULL : 0ULL);
	printf("unexpected %u%s\n", unexpected, unexpected_types);
	printf("late %d\n", n >= 0);
	printf("dropped_amplifying %lld\n", stat_value(&last.reply, "dropped_amplifying"));
	printf("cookies_sent %lld\n", stat_value(&last.reply, "cookies_sent"));
	printf("done\n");
	return 0;
}
