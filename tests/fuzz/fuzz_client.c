/* tests/fuzz/fuzz_client.c - libFuzzer harness for client_handle and client_tick: a connected client under fire. */
#include <string.h>

#include "auth.h"
#include "client_impl.h"
#include "fuzz.h"
#include "session.h"
#include "x25519.h"

/*
 * Each input is a fresh client (so a crash replays from its input alone),
 * registered (through the server's cookie) and connected to bob before
 * the input starts, with lines on their way to him, so the datagrams
 * reach every handler: the server's answers, probes, DATA, ACK, PING,
 * BYE. Then the input's records (fuzz.h) arrive from one of four
 * sources, with time moving on and client_tick run between them as main()
 * would. A record from the server that is the open form of a sealed
 * answer is sealed under alice's K here, as the server would. The
 * handshake is real: the harness plays bob's end of it with session.c, so
 * that a record from bob's addresses that is not a datagram (its first
 * byte is not the magic) is an inner message the harness seals as bob,
 * and it reaches the chat; a datagram goes in as it is (the decoders and
 * the refusals). The epochs are fuzz.h's.
 */

/* bob's end of things: his key pair and his session with alice. */
struct bob {
	struct session_identity id;
	struct session_peer sess;
};

/* What the harness knows the client must do with the server's cookies. */
struct watch {
	uint8_t cookie[PROTO_COOKIE_LEN]; /* the server's last for alice (COOKIE, REGISTERED) */
	unsigned registrations;           /* REGISTER and REFRESH sent */
	uint8_t init[PROTO_HEADER_LEN + SESSION_INIT_LEN]; /* alice's last PROBE */
	uint8_t sealed[PROTO_MAX_DATAGRAM];                 /* her last SEALED datagram */
	size_t sealed_len;
	uint32_t rng;                     /* client_io.random's state: the same for every input */
	int64_t wall_ms;                  /* client_io.wall_ms's clock */
};

/* client_io.random: xorshift32, so that an input replays the same keys. */
static void fuzz_random(void *ctx, void *buf, size_t len)
{
	struct watch *w = ctx;
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++) {
		w->rng ^= w->rng << 13;
		w->rng ^= w->rng >> 17;
		w->rng ^= w->rng << 5;
		b[i] = (uint8_t)w->rng;
	}
}

/* client_io.wall_ms: a wall clock that moves a second a call, for the handshake's timestamps. */
static int64_t fuzz_wall_ms(void *ctx)
{
	struct watch *w = ctx;

	return w->wall_ms += 1000;
}

/*
 * Every datagram the client sends fits the limit and decodes, and a
 * REGISTER or REFRESH echoes the last cookie the server gave: never one
 * from anyone else.
 */
static void on_send(void *ctx, const struct proto_addr *to, const uint8_t *buf, size_t len)
{
	struct watch *w = ctx;
	struct proto_msg m;

	FUZZ_CHECK(to->family == PROTO_AF_INET || to->family == PROTO_AF_INET6);
	FUZZ_CHECK(len <= PROTO_MAX_DATAGRAM);
	/* A request to the server is sealed: its clear part reads (the cookie is there). */
	FUZZ_CHECK(proto_decode_prefix(buf, len, &m) > 0 || proto_decode(buf, len, &m) == 0);
	if (m.type == PROTO_PROBE)
		memcpy(w->init, buf, sizeof(w->init));
	if (m.type == PROTO_SEALED) {
		memcpy(w->sealed, buf, len);
		w->sealed_len = len;
	}
	if (m.type == PROTO_REGISTER || m.type == PROTO_REFRESH) {
		FUZZ_CHECK(memcmp(m.cookie, w->cookie, PROTO_COOKIE_LEN) == 0);
		w->registrations++;
	}
}

/* Every line for the terminal is safe there: no control bytes, no escape sequences. */
static void on_print(void *ctx, const char *line)
{
	(void)ctx;
	FUZZ_CHECK(fuzz_text_safe(line, strlen(line)));
}

/* The server's key pair in the harness (version 2), and its K with alice; the answers' counter. */
#define FUZZ_SERVER_SECRET 0x5e
static uint8_t server_pub[X25519_LEN], alice_k[AUTH_KEY_LEN];
static uint64_t server_counter;

/*
 * Sends the client one message from `from`, as if it came over the
 * network: one the server seals, sealed under alice's K, as the server
 * would; a COOKIE with the server's key.
 */
static void deliver(struct client *c, struct proto_msg *m, const struct proto_addr *from,
		    int64_t now)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t off, len;
	int n;

	if (m->type == PROTO_COOKIE)
		memcpy(m->key, server_pub, X25519_LEN);
	m->counter = ++server_counter;
	n = proto_encode_open(m, buf, sizeof(buf), &off);
	FUZZ_CHECK(n > 0);
	len = off > 0 ? auth_seal_answer(buf, (size_t)n, sizeof(buf), off, alice_k) : (size_t)n;
	FUZZ_CHECK(len > 0);
	client_handle(c, buf, len, from, now);
}

/*
 * Registers the client (REGISTER, COOKIE, REGISTER with it, REGISTERED),
 * introduces bob, and makes the session: bob answers alice's INIT, and her
 * CONFIRM makes it his current one too. She is connected over his private
 * endpoint.
 */
static void prelude(struct client *c, struct watch *w, struct bob *b,
		    const struct proto_addr src[4], int64_t now)
{
	static const uint8_t header[PROTO_HEADER_LEN] = { PROTO_MAGIC, PROTO_VERSION, PROTO_SEALED, 0 };
	uint8_t e[SESSION_KEY_LEN], pt[PROTO_MAX_DATAGRAM];
	struct session_init in;
	struct proto_msg m;
	struct peer *bob;
	char line[3000];

	client_tick(c, now); /* REGISTER, no cookie yet */
	memset(&m, 0, sizeof(m));
	m.type = PROTO_COOKIE;
	memcpy(m.cookie, "cookie01", PROTO_COOKIE_LEN);
	memcpy(w->cookie, m.cookie, PROTO_COOKIE_LEN);
	deliver(c, &m, &src[FUZZ_SERVER], now);
	client_tick(c, now); /* REGISTER again at once, with the cookie */
	FUZZ_CHECK(w->registrations == 2);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTERED;
	m.ttl_s = 60;
	memcpy(m.cookie, "cookie02", PROTO_COOKIE_LEN);
	memcpy(w->cookie, m.cookie, PROTO_COOKIE_LEN);
	strcpy(m.name, "alice");
	fuzz_addr4(&m.public_ep, 203, 0, 113, 7, 40211);
	deliver(c, &m, &src[FUZZ_SERVER], now);
	client_tick(c, now); /* LOOKUP bob */

	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	strcpy(m.name, "bob");
	memcpy(m.peer_key, b->id.pub, PROTO_KEY_LEN);
	m.public_ep = src[FUZZ_BOB_PUBLIC];
	m.nprivate = 1;
	m.private_ep[0] = src[FUZZ_BOB_PRIVATE];
	deliver(c, &m, &src[FUZZ_SERVER], now);
	FUZZ_CHECK(c->npeers == 1);
	bob = c->peers[0];
	bob->my_epoch = FUZZ_MY_EPOCH;
	FUZZ_CHECK(bob->has_key && memcmp(bob->key, b->id.pub, PROTO_KEY_LEN) == 0);
	client_tick(c, now); /* her probes: the INIT */

	FUZZ_CHECK(session_read_init(&b->id, w->init + PROTO_HEADER_LEN, SESSION_INIT_LEN, &in) == 0);
	session_peer_init(&b->sess, in.remote_static);
	memset(e, 0x42, sizeof(e));
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PROBE_ACK;
	m.payload_len = SESSION_RESP_LEN;
	FUZZ_CHECK(session_accept(&b->sess, &b->id, &in, e, 0xb0b0b0b0u, now, m.payload,
				  sizeof(m.payload)) == SESSION_RESP_LEN);
	deliver(c, &m, &src[FUZZ_BOB_PRIVATE], now);
	FUZZ_CHECK(bob->state == PEER_CONNECTED);
	FUZZ_CHECK(w->sealed_len > PROTO_HEADER_LEN); /* her CONFIRM, and her first PING */
	FUZZ_CHECK(session_peer_open(&b->sess, header, sizeof(header), w->sealed + PROTO_HEADER_LEN,
				     w->sealed_len - PROTO_HEADER_LEN, now, pt, sizeof(pt)) >= 0);
	bob->peer_epoch = FUZZ_BOB_EPOCH;

	/* Lines in flight, one of them in three fragments, so ACKs have something to do. */
	client_input(c, "hello bob", now);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	client_input(c, line, now);
	client_tick(c, now);
}

/*
 * Seals the inner message pt[0..len) as bob (his session's next counter)
 * into out: the whole SEALED datagram. Returns its length, 0 when it does
 * not fit.
 */
static size_t seal_as_bob(struct bob *b, const uint8_t *pt, size_t len, int64_t now,
			  uint8_t *out, size_t cap)
{
	static const uint8_t header[PROTO_HEADER_LEN] = { PROTO_MAGIC, PROTO_VERSION, PROTO_SEALED, 0 };
	long n;

	if (len > PROTO_SEALED_MAX - SESSION_SEALED_OVERHEAD || cap < PROTO_HEADER_LEN)
		return 0;
	n = session_peer_seal(&b->sess, header, sizeof(header), pt, len, now,
			      out + PROTO_HEADER_LEN, cap - PROTO_HEADER_LEN);
	if (n < 0)
		return 0;
	memcpy(out, header, sizeof(header));
	return (size_t)n + PROTO_HEADER_LEN;
}

/*
 * What record r hands the client: as it is, or, when it is an inner
 * message from bob (straight, or in a RELAYED from the server), sealed as
 * bob first. Returns the length at buf (or at r->buf: *out then says so).
 */
static size_t as_sent(struct bob *b, const struct fuzz_record *r, int64_t now, uint8_t *buf,
		      size_t cap, const uint8_t **out)
{
	struct proto_msg m;
	size_t n;
	int len;

	*out = r->buf;
	if (r->len == 0)
		return 0;
	if (r->source != FUZZ_SERVER && r->buf[0] != PROTO_MAGIC) {
		n = seal_as_bob(b, r->buf, r->len, now, buf, cap);
		if (n > 0)
			*out = buf;
		return n > 0 ? n : r->len;
	}
	if (r->source != FUZZ_SERVER || proto_decode(r->buf, r->len, &m) != 0 ||
	    m.type != PROTO_RELAYED || m.payload_len == 0 || m.payload[0] == PROTO_MAGIC)
		return r->len;
	n = seal_as_bob(b, m.payload, m.payload_len, now, buf, cap);
	if (n == 0 || n > PROTO_PAYLOAD_MAX)
		return r->len;
	memcpy(m.payload, buf, n);
	m.payload_len = (uint16_t)n;
	len = proto_encode(&m, buf, cap);
	if (len <= 0)
		return r->len;
	*out = buf;
	return (size_t)len;
}

/*
 * If record r is the server handing alice a cookie (COOKIE, or REGISTERED
 * for her name: what client.c keeps), notes it in w; *hurry says whether a
 * COOKIE brought one she did not have. Datagrams from anyone else change
 * nothing: they cannot give her a cookie.
 */
static void note_cookie(struct watch *w, const struct fuzz_record *r, int *hurry)
{
	struct proto_msg m;

	*hurry = 0;
	if (r->source != FUZZ_SERVER || proto_decode(r->buf, r->len, &m) != 0)
		return;
	/* A COOKIE with another key than the server's is refused (never believed): no cookie. */
	if (m.type == PROTO_COOKIE && memcmp(m.key, server_pub, X25519_LEN) != 0)
		return;
	if (m.type == PROTO_COOKIE)
		*hurry = memcmp(m.cookie, w->cookie, PROTO_COOKIE_LEN) != 0;
	else if (m.type != PROTO_REGISTERED || strcmp(m.name, "alice") != 0)
		return;
	memcpy(w->cookie, m.cookie, PROTO_COOKIE_LEN);
}

/*
 * Hands the client buf[0..len) from source. A fuzzer cannot seal (auth.h):
 * bytes from the server that are the open form of a sealed answer are
 * sealed here under alice's K, with the next counter; anything else goes
 * as it is, and must be dropped if sealed.
 */
static void deliver_bytes(struct client *c, const uint8_t *in, size_t in_len, int source,
			  const struct proto_addr *from, int64_t now)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + PROTO_TAG_LEN];
	struct proto_msg m;
	size_t off, len;
	int n;

	if (source == FUZZ_SERVER && proto_decode(in, in_len, &m) == 0 && proto_is_sealed(m.type)) {
		/* Always fresh: note_cookie must be able to tell what alice takes (test_client tests replays). */
		m.counter = ++server_counter;
		n = proto_encode_open(&m, buf, sizeof(buf), &off);
		FUZZ_CHECK(n > 0 && off > 0);
		len = auth_seal_answer(buf, (size_t)n, sizeof(buf), off, alice_k);
		FUZZ_CHECK(len > 0);
		client_handle(c, buf, len, from, now);
		return;
	}
	client_handle(c, in, in_len, from, now);
}

/*
 * The fixed keys: alice's identity key (version 2: the name's key, no
 * token), the server's key pair and K, bob's key pair. Each is an X25519
 * operation, the bulk of an input's cost, and none depends on the input:
 * made on the first input, copied to every one.
 */
static void fixed_keys(struct identity *alice, struct session_identity *bob)
{
	static struct identity alice_id;
	static struct session_identity bob_id;
	static int ready;
	uint8_t secret[SESSION_KEY_LEN];

	if (!ready) {
		memset(secret, 0x21, sizeof(secret));
		identity_from_secret(&alice_id, secret);
		memset(secret, FUZZ_SERVER_SECRET, sizeof(secret));
		x25519_public(server_pub, secret);
		FUZZ_CHECK(auth_derive(alice_k, alice_id.secret, server_pub, alice_id.pub, server_pub) == 0);
		memset(secret, 0xb0, sizeof(secret));
		session_identity_init(&bob_id, secret);
		ready = 1;
	}
	*alice = alice_id;
	*bob = bob_id;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_addr src[4];
	struct client_config cfg;
	struct watch w;
	struct client_io io = { .ctx = &w, .send = on_send, .print = on_print,
				.random = fuzz_random, .wall_ms = fuzz_wall_ms };
	uint8_t sealed[PROTO_MAX_DATAGRAM];
	struct fuzz_record r;
	struct bob b;
	struct client c;
	int64_t now = 1000;
	size_t off = 0;

	fuzz_addr4(&src[FUZZ_SERVER], 192, 0, 2, 10, 7777);
	fuzz_addr4(&src[FUZZ_BOB_PUBLIC], 198, 51, 100, 4, 7000);
	fuzz_addr4(&src[FUZZ_BOB_PRIVATE], 10, 0, 0, 3, 5000);
	fuzz_addr6(&src[FUZZ_STRANGER], 9, 9999);

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.name, "alice");
	fixed_keys(&cfg.id, &b.id);
	server_counter = 0;
	cfg.servers[0].addr = src[FUZZ_SERVER];
	cfg.nprivate = 1;
	fuzz_addr4(&cfg.private_ep[0], 10, 0, 0, 2, 4000);
	cfg.ipv6 = 1;
	cfg.wait_ms = 10000;
	cfg.keepalive_ms = 15000;
	cfg.seed = 1;
	/* the smallest stream buffers: the default 4 MiB each way, malloc'd per stream, cost the
	   input more than what it tests */
	cfg.stream_buf = STREAM_INITIAL_WINDOW;
	memset(&w, 0, sizeof(w));
	w.rng = 0x2545f491u;
	w.wall_ms = 1700000000000;
	FUZZ_CHECK(client_init(&c, &cfg, &io, "bob", now) == 0);
	prelude(&c, &w, &b, src, now);

	while (fuzz_next_record(data, size, &off, &r)) {
		uint64_t received = c.stats.received;
		unsigned registrations = w.registrations;
		int hurry = 0;

		const uint8_t *in;
		size_t len;

		now += r.step_ms;
		note_cookie(&w, &r, &hurry);
		len = as_sent(&b, &r, now, sealed, sizeof(sealed), &in);
		deliver_bytes(&c, in, len, r.source, &src[r.source], now);
		FUZZ_CHECK(c.stats.received == received + 1);
		FUZZ_CHECK(client_tick(&c, now) >= now);
		/* A new cookie from the server: the request goes again at once, with it. */
		if (hurry)
			FUZZ_CHECK(w.registrations > registrations);
		FUZZ_CHECK(c.npeers <= CLIENT_MAX_PEERS);
	}
	client_shutdown(&c, now);
	client_free(&c);
	session_peer_wipe(&b.sess);
	return 0;
}
