/* tests/fuzz/fuzz_server.c - libFuzzer harness for server_handle: conversations of datagrams from four sources. */
#include <string.h>

#include "auth.h"
#include "fuzz.h"
#include "guard.h"
#include "server.h"
#include "stun.h"

/*
 * Each input is a fresh server (so a crash replays from its input alone)
 * fed a series of records (fuzz.h), with time moving on between them and
 * server_tick run as main() would. A small table and a short TTL let the
 * fuzzer reach "table full" and expiry within one input.
 *
 * The input's first byte, before the records, picks the configuration
 * (FUZZ_CFG_ below): small per-source budgets let a few records reach
 * every limit, and two source slots make the four sources share them.
 *
 * A REGISTER or REFRESH needs the cookie of its source address (guard.h),
 * which no fuzzer can guess. So the harness puts it in when the datagram
 * asks: the first byte of the datagram's cookie says what goes there
 * (enum fuzz_cookie). tests/fuzz/mkseeds.c writes seeds both ways.
 *
 * Nor can a fuzzer seal (auth.h). A record that is the open form of a
 * request (proto_decode accepts it) is sealed here as one of FUZZ_OWNERS
 * clients would: the owner is the low bits of the key's first byte
 * (REGISTER, REFRESH: the key is then the owner's) or of the counter
 * (the others), and the counter stays the record's, so the fuzzer
 * chooses replays. Any other record goes as it is: a datagram that is
 * not a request, or garbage a server must refuse unopened.
 */
#define FUZZ_OWNERS 4
#define FUZZ_MAX_NAMES 3
#define FUZZ_TTL_S 2
/*
 * The largest STUN answer: a 420 listing stun.c's 8 unknown attributes
 * with a FINGERPRINT is 56 bytes; a success with an IPv6 address, 52.
 */
#define FUZZ_STUN_ANSWER_MAX 64
/* The clock starts here: two cookie periods back is still a time after boot. */
#define FUZZ_START_MS (10 * GUARD_COOKIE_PERIOD_MS)

#define FUZZ_CFG_LIMITS 0x01    /* the budgets of limits() below; else no limits */
#define FUZZ_CFG_WHO 0x02       /* --allow-who */
#define FUZZ_CFG_NO_RELAY 0x04  /* --no-relay */
#define FUZZ_CFG_FEW_SLOTS 0x08 /* 2 source slots for 4 sources, else 64 */

/* What the harness does with a REGISTER's or REFRESH's cookie, by its first byte. */
enum fuzz_cookie {
	FUZZ_COOKIE_AS_IS = 0,       /* and every value not below: sent as it is */
	FUZZ_COOKIE_RIGHT = 1,       /* the source's cookie now */
	FUZZ_COOKIE_LAST_PERIOD = 2, /* the source's cookie of the period before: still good */
	FUZZ_COOKIE_TOO_OLD = 3,     /* the source's cookie of two periods before: refused */
	FUZZ_COOKIE_OTHER = 4,       /* the next source's cookie now: refused */
};

/* The four sources a record can pick (fuzz.h); loopback is where the operator's STATS come from. */
static void sources(struct proto_addr from[4])
{
	fuzz_addr4(&from[FUZZ_HOST1], 192, 0, 2, 1, 40000);
	fuzz_addr4(&from[FUZZ_HOST2], 198, 51, 100, 2, 50000);
	fuzz_addr6(&from[FUZZ_HOST6], 3, 60000);
	fuzz_addr4(&from[FUZZ_LOOPBACK], 127, 0, 0, 1, 40001);
}

/* The configuration that flags (the input's first byte) pick. */
static void configure(uint8_t flags, struct server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ttl_s = FUZZ_TTL_S;
	cfg->max_names = FUZZ_MAX_NAMES;
	cfg->allow_who = (flags & FUZZ_CFG_WHO) != 0;
	cfg->no_relay = (flags & FUZZ_CFG_NO_RELAY) != 0;
	cfg->guard.slots = flags & FUZZ_CFG_FEW_SLOTS ? 2 : 64;
	if (flags & FUZZ_CFG_LIMITS) {
		/* A few requests empty a bucket; a record's time step (up to 6.3 s) refills it. */
		cfg->guard.rate[GUARD_REGISTER] = (struct guard_rate){ 1, 3 };
		cfg->guard.rate[GUARD_LOOKUP] = (struct guard_rate){ 2, 4 };
		cfg->guard.rate[GUARD_RELAY] = (struct guard_rate){ 600, 2 * PROTO_MAX_DATAGRAM };
		cfg->relay_rate = 1000; /* each name's, checked first: 4 large RELAYs reach both */
		cfg->guard.rate[GUARD_STUN] = (struct guard_rate){ 1, 2 };
		cfg->guard.names_per_source = 2;
	}
}

/*
 * Puts into m->cookie what its first byte asks for (enum fuzz_cookie), for
 * source number src at time now. Returns 1 when the cookie is now the one
 * the server must accept from that source, else 0.
 */
static int put_cookie(const struct server *s, struct proto_msg *m,
		      const struct proto_addr from[4], unsigned src, int64_t now)
{
	const struct guard *g = &s->guard;

	switch (m->cookie[0]) {
	case FUZZ_COOKIE_RIGHT:
		guard_cookie(g, &from[src], now, m->cookie);
		return 1;
	case FUZZ_COOKIE_LAST_PERIOD:
		guard_cookie(g, &from[src], now - GUARD_COOKIE_PERIOD_MS, m->cookie);
		return 1;
	case FUZZ_COOKIE_TOO_OLD:
		guard_cookie(g, &from[src], now - 2 * GUARD_COOKIE_PERIOD_MS, m->cookie);
		return 0;
	case FUZZ_COOKIE_OTHER:
		guard_cookie(g, &from[(src + 1) % 4], now, m->cookie);
		return 0;
	default:
		/* Bytes the fuzzer wrote: wrong, but for a 1 in 2^64 guess. */
		return guard_cookie_ok(g, &from[src], m->cookie, now);
	}
}

/* Returns the number of the source that a is, or -1 when it is none of them. */
static int source_of(const struct proto_addr *a, const struct proto_addr from[4])
{
	int k;

	for (k = 0; k < 4; k++)
		if (proto_addr_equal(a, &from[k]))
			return k;
	return -1;
}

/* The clients' keys, their K with the server (made once), and the server's key. */
#define FUZZ_SERVER_SECRET 0x5e
static uint8_t owner_pub[FUZZ_OWNERS][X25519_LEN], owner_k[FUZZ_OWNERS][AUTH_KEY_LEN];

static void owners_setup(void)
{
	static int done;
	uint8_t secret[X25519_LEN], server_pub[X25519_LEN];

	if (done)
		return;
	memset(secret, FUZZ_SERVER_SECRET, sizeof(secret));
	x25519_public(server_pub, secret);
	for (int i = 0; i < FUZZ_OWNERS; i++) {
		memset(secret, 0x10 + i, sizeof(secret));
		x25519_public(owner_pub[i], secret);
		FUZZ_CHECK(auth_derive(owner_k[i], secret, server_pub, owner_pub[i], server_pub) == 0);
	}
	done = 1;
}

/*
 * Seals m, a request's open form, as its owner would into out. Returns
 * the sealed length.
 */
static size_t seal(struct proto_msg *m, uint8_t *out, size_t cap)
{
	int registering = m->type == PROTO_REGISTER || m->type == PROTO_REFRESH;
	unsigned owner = (registering ? m->key[0] : (unsigned)m->counter) % FUZZ_OWNERS;
	size_t off, len;
	int n;

	if (registering)
		memcpy(m->key, owner_pub[owner], X25519_LEN);
	n = proto_encode_open(m, out, cap, &off);
	FUZZ_CHECK(n > 0 && off > 0);
	len = auth_seal_request(out, (size_t)n, cap, off, owner_k[owner]);
	FUZZ_CHECK(len > 0);
	return len;
}

/*
 * Decodes tx, an answer of the server: a sealed one opened under the K of
 * the owner it is for (FUZZ_CHECK: one opens), a version refusal as
 * version 1's ERROR. Returns 0, or -1 when the bytes are none of these.
 */
static int decode_answer(const struct server_tx *tx, struct proto_msg *m)
{
	uint8_t open[PROTO_MAX_DATAGRAM], version;
	int off;

	if (proto_version_refusal(tx->buf, tx->len, &version)) {
		memset(m, 0, sizeof(*m));
		m->type = PROTO_ERROR;
		m->code = PROTO_E_VERSION;
		return version == PROTO_VERSION ? 0 : -1;
	}
	off = proto_decode_prefix(tx->buf, tx->len, m);
	if (off < 0)
		return -1;
	if (off == 0)
		return proto_decode(tx->buf, tx->len, m);
	for (int i = 0; i < FUZZ_OWNERS; i++) {
		long n = auth_open_answer(open, tx->buf, tx->len, (size_t)off, owner_k[i]);

		if (n >= 0)
			return proto_decode(open, (size_t)n, m);
	}
	return -1;
}

/* What one datagram was, for the checks of what the server made of it. */
struct request {
	unsigned src;  /* its source's number */
	size_t len;    /* its length */
	unsigned proven; /* bit k: source k has sent a REGISTER or REFRESH with its right cookie */
	int64_t now;
};

/* Checks what the server wants sent in answer to one datagram. */
static void check_answers(const struct server *s, const struct server_tx *tx, int n,
			  const struct proto_addr from[4], const struct request *q)
{
	struct proto_msg m;
	int i, to;

	FUZZ_CHECK(n >= 0 && n <= SERVER_MAX_TX);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(tx[i].len > 0 && tx[i].len <= PROTO_MAX_DATAGRAM);
		/*
		 * Answers go to the four sources only: never to an address
		 * read from a datagram (a private endpoint, say).
		 */
		to = source_of(&tx[i].to, from);
		FUZZ_CHECK(to >= 0);
		/* To an address nobody proved, only the sender gets an answer. */
		if (!tx[i].proven)
			FUZZ_CHECK((unsigned)to == q->src);
		if (stun_is_stun(tx[i].buf, tx[i].len)) {
			/*
			 * STUN is answered to its sender only, and alone. It is
			 * the one answer that may be larger than its request (RFC
			 * 8489 wants the address in it): stun.c keeps it within
			 * FUZZ_STUN_ANSWER_MAX, and GUARD_STUN limits how many.
			 */
			FUZZ_CHECK(n == 1 && !tx[i].proven && tx[i].len <= FUZZ_STUN_ANSWER_MAX);
			continue;
		}
		/*
		 * No amplification: to an address nobody proved, never more
		 * bytes than it sent. (server_handle would drop such an answer;
		 * this catches the handler that made it.) A proven address is
		 * one whose own datagram carried its right cookie, or loopback
		 * for STATS.
		 */
		if (!tx[i].proven)
			FUZZ_CHECK(tx[i].len <= q->len);
		/*
		 * The server only sends what its own decoder accepts, sealed for
		 * the client it goes to, and only server->client types.
		 */
		FUZZ_CHECK(decode_answer(&tx[i], &m) == 0);
		FUZZ_CHECK(m.type == PROTO_REGISTERED || m.type == PROTO_PEER ||
			   m.type == PROTO_ERROR || m.type == PROTO_STATS_REPLY ||
			   m.type == PROTO_WHO_REPLY || m.type == PROTO_RELAYED ||
			   m.type == PROTO_COOKIE || m.type == PROTO_NOTICE);
		if (tx[i].proven)
			FUZZ_CHECK((q->proven & (1u << to)) != 0 ||
				   (m.type == PROTO_STATS_REPLY && to == FUZZ_LOOPBACK));
		/* The counters, longer than the question, go to loopback only. */
		FUZZ_CHECK(m.type != PROTO_STATS_REPLY || from[q->src].ip[0] == 127);
		/* REGISTERED hands out the cookie for the address it goes to. */
		if (m.type == PROTO_REGISTERED)
			FUZZ_CHECK(guard_cookie_ok(&s->guard, &tx[i].to, m.cookie, q->now));
		/*
		 * More answers than one: an introduction (one PEER to each side),
		 * or a REGISTER's REGISTERED, then the introductions of those who
		 * waited for the name, or one ERROR to the instance it replaced
		 * (at each of its families), or the counters' pages (loopback only).
		 */
		FUZZ_CHECK(n == 1 || m.type == PROTO_PEER || (i == 0 && m.type == PROTO_REGISTERED) ||
			   (i > 0 && m.type == PROTO_ERROR && m.code == PROTO_E_REPLACED) ||
			   (m.type == PROTO_STATS_REPLY && n == SERVER_STATS_PAGES));
	}
	/* The counter of answers the last check before sending dropped: a bug counter, always 0. */
	FUZZ_CHECK(s->stats.dropped[SERVER_DROP_AMPLIFYING] == 0);
}

/*
 * A REGISTER or REFRESH whose cookie is not its source's gets exactly one
 * COOKIE, with that source's cookie, and changes nothing. One whose cookie
 * is right never gets a COOKIE.
 */
static void check_cookie_answer(const struct server *s, const struct server_tx *tx, int n,
				int cookie_ok, const struct server_stats *before,
				uint32_t names_before, const struct proto_addr from[4],
				const struct request *q)
{
	struct proto_msg m;
	int i;

	if (cookie_ok) {
		FUZZ_CHECK(s->stats.cookies_sent == before->cookies_sent);
		for (i = 0; i < n; i++)
			FUZZ_CHECK(stun_is_stun(tx[i].buf, tx[i].len) ||
				   (decode_answer(&tx[i], &m) == 0 && m.type != PROTO_COOKIE));
		return;
	}
	FUZZ_CHECK(n == 1);
	FUZZ_CHECK(decode_answer(&tx[0], &m) == 0 && m.type == PROTO_COOKIE);
	FUZZ_CHECK(proto_addr_equal(&tx[0].to, &from[q->src]));
	FUZZ_CHECK(guard_cookie_ok(&s->guard, &from[q->src], m.cookie, q->now));
	FUZZ_CHECK(s->stats.cookies_sent == before->cookies_sent + 1);
	FUZZ_CHECK(s->stats.registrations == before->registrations);
	FUZZ_CHECK(s->stats.refreshes == before->refreshes);
	FUZZ_CHECK(s->names.count == names_before);
}

/*
 * Every name is counted against exactly one source slot (guard.h): the
 * slots' counts add up to the table's, however names came, moved and went.
 */
static void check_name_counts(const struct server *s)
{
	uint64_t sum = 0;
	uint32_t i;

	for (i = 0; i < s->guard.cfg.slots; i++)
		sum += s->guard.slots[i].names;
	FUZZ_CHECK(sum == s->names.count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[SERVER_SEED_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	static uint8_t patched[PROTO_MAX_DATAGRAM + PROTO_TAG_LEN]; /* an open form of 1200 bytes, sealed */
	struct server_config cfg;
	struct server_tx tx[SERVER_MAX_TX];
	struct proto_addr from[4];
	struct fuzz_record r;
	struct request q = { 0, 0, 0, FUZZ_START_MS };
	struct server s;
	uint64_t handled = 0;
	size_t off = 1;
	int n;

	if (size == 0)
		return 0;
	owners_setup();
	sources(from);
	configure(data[0], &cfg);
	memset(cfg.secret, FUZZ_SERVER_SECRET, sizeof(cfg.secret));
	cfg.counter_start = 1;
	cfg.alt_port = 7778;
	FUZZ_CHECK(server_init(&s, &cfg, seed) == 0);
	server_tick(&s, q.now);
	while (fuzz_next_record(data, size, &off, &r)) {
		const uint8_t *dgram = r.buf;
		struct server_stats before;
		struct proto_msg m;
		uint32_t names;
		int is_register = 0, cookie_ok = -1; /* -1: not a REGISTER or REFRESH */
		int alt = 0; /* a MAPPING, sealed: to the alternate port (server_handle_alt) */

		q.now += r.step_ms;
		q.src = r.source;
		q.len = r.len;
		FUZZ_CHECK(server_tick(&s, q.now) > q.now);
		q.len = r.len;
		if (proto_decode(r.buf, r.len, &m) == 0 && proto_is_sealed(m.type) &&
		    (m.type == PROTO_REGISTER || m.type == PROTO_REFRESH || m.type == PROTO_LOOKUP ||
		     m.type == PROTO_WHO || m.type == PROTO_REPORT || m.type == PROTO_RELAY ||
		     m.type == PROTO_MAPPING)) {
			alt = m.type == PROTO_MAPPING;
			if (m.type == PROTO_REGISTER || m.type == PROTO_REFRESH) {
				is_register = m.type == PROTO_REGISTER;
				cookie_ok = put_cookie(&s, &m, from, r.source, q.now);
				if (cookie_ok)
					q.proven |= 1u << r.source;
			}
			q.len = seal(&m, patched, sizeof(patched));
			dgram = patched;
		} else if (proto_decode_prefix(r.buf, r.len, &m) > 0 &&
			   (m.type == PROTO_REGISTER || m.type == PROTO_REFRESH)) {
			/* Not a request the harness can seal, but its clear part reads: the cookie decides. */
			cookie_ok = guard_cookie_ok(&s.guard, &from[r.source], m.cookie, q.now);
		}
		before = s.stats;
		names = s.names.count;
		n = alt ? server_handle_alt(&s, dgram, q.len, &from[r.source], q.now, tx) :
			  server_handle(&s, dgram, q.len, &from[r.source], q.now, tx);
		check_answers(&s, tx, n, from, &q);
		if (cookie_ok >= 0)
			check_cookie_answer(&s, tx, n, cookie_ok, &before, names, from, &q);
		else
			FUZZ_CHECK(s.stats.cookies_sent == before.cookies_sent);
		/* Only a well-formed REGISTER with its right cookie adds a name. */
		if (!is_register || !cookie_ok)
			FUZZ_CHECK(s.stats.registrations == before.registrations &&
				   s.names.count <= names);
		check_name_counts(&s);
		handled++;
		FUZZ_CHECK(s.names.count <= FUZZ_MAX_NAMES);
		FUZZ_CHECK(s.stats.received == handled);
	}
	server_free(&s);
	return 0;
}
