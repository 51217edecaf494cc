/* tests/fuzz/fuzz_client.c - libFuzzer harness for client_handle and client_tick: a connected client under fire. */
#include <string.h>

#include "auth.h"
#include "client_impl.h"
#include "fuzz.h"

/*
 * Each input is a fresh client (so a crash replays from its input alone),
 * registered (through the server's cookie) and connected to bob before
 * the input starts, with lines on their way to him, so the datagrams
 * reach every handler: the server's answers, probes, DATA, ACK, PING,
 * BYE. Then the input's records (fuzz.h) arrive from one of four
 * sources, with time moving on and client_tick run between them as main()
 * would. The nonce and epochs are fuzz.h's, so seeds can reach the chat.
 */

/* What the harness knows the client must do with the server's cookies. */
struct watch {
	uint8_t cookie[PROTO_COOKIE_LEN]; /* the server's last for alice (COOKIE, REGISTERED) */
	unsigned registrations;           /* REGISTER and REFRESH sent */
};

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
 * introduces bob, connects over his private endpoint.
 */
static void prelude(struct client *c, struct watch *w, const struct proto_addr src[4],
		    int64_t now)
{
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
	memcpy(m.nonce, FUZZ_NONCE, PROTO_NONCE_LEN);
	strcpy(m.name, "bob");
	m.public_ep = src[FUZZ_BOB_PUBLIC];
	m.nprivate = 1;
	m.private_ep[0] = src[FUZZ_BOB_PRIVATE];
	deliver(c, &m, &src[FUZZ_SERVER], now);
	FUZZ_CHECK(c->npeers == 1);
	bob = c->peers[0];
	bob->my_epoch = FUZZ_MY_EPOCH;
	/* Version 2's PEER carries no nonce: the client makes one from the keys; the seeds use fuzz.h's. */
	memcpy(bob->nonce, FUZZ_NONCE, PROTO_NONCE_LEN);

	memset(&m, 0, sizeof(m));
	m.type = PROTO_PROBE_ACK;
	memcpy(m.nonce, FUZZ_NONCE, PROTO_NONCE_LEN);
	m.epoch = FUZZ_BOB_EPOCH;
	strcpy(m.name, "bob");
	deliver(c, &m, &src[FUZZ_BOB_PRIVATE], now);
	FUZZ_CHECK(bob->state == PEER_CONNECTED);

	/* Lines in flight, one of them in three fragments, so ACKs have something to do. */
	client_input(c, "hello bob", now);
	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	client_input(c, line, now);
	client_tick(c, now);
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
 * Hands the client record r. A fuzzer cannot seal (auth.h): a record from
 * the server that is the open form of a sealed answer is sealed here
 * under alice's K, with the next counter; anything else goes as it is,
 * and must be dropped if sealed.
 */
static void deliver_record(struct client *c, const struct fuzz_record *r,
			   const struct proto_addr *from, int64_t now)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + PROTO_TAG_LEN];
	struct proto_msg m;
	size_t off, len;
	int n;

	if (r->source == FUZZ_SERVER && proto_decode(r->buf, r->len, &m) == 0 &&
	    proto_is_sealed(m.type)) {
		/* Always fresh: note_cookie must be able to tell what alice takes (test_client tests replays). */
		m.counter = ++server_counter;
		n = proto_encode_open(&m, buf, sizeof(buf), &off);
		FUZZ_CHECK(n > 0 && off > 0);
		len = auth_seal_answer(buf, (size_t)n, sizeof(buf), off, alice_k);
		FUZZ_CHECK(len > 0);
		client_handle(c, buf, len, from, now);
		return;
	}
	client_handle(c, r->buf, r->len, from, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_addr src[4];
	struct client_config cfg;
	struct watch w;
	struct client_io io = { .ctx = &w, .send = on_send, .print = on_print };
	struct fuzz_record r;
	struct client c;
	int64_t now = 1000;
	size_t off = 0;

	fuzz_addr4(&src[FUZZ_SERVER], 192, 0, 2, 10, 7777);
	fuzz_addr4(&src[FUZZ_BOB_PUBLIC], 198, 51, 100, 4, 7000);
	fuzz_addr4(&src[FUZZ_BOB_PRIVATE], 10, 0, 0, 3, 5000);
	fuzz_addr6(&src[FUZZ_STRANGER], 9, 9999);

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.name, "alice");
	{
		/* A fixed identity key (version 2: the name's key, no token), and the server's. */
		uint8_t secret[X25519_LEN];

		memset(secret, 0x21, sizeof(secret));
		identity_from_secret(&cfg.id, secret);
		memset(secret, FUZZ_SERVER_SECRET, sizeof(secret));
		x25519_public(server_pub, secret);
		FUZZ_CHECK(auth_derive(alice_k, cfg.id.secret, server_pub, cfg.id.pub, server_pub) == 0);
		server_counter = 0;
	}
	cfg.server = src[FUZZ_SERVER];
	cfg.nprivate = 1;
	fuzz_addr4(&cfg.private_ep[0], 10, 0, 0, 2, 4000);
	cfg.ipv6 = 1;
	cfg.wait_ms = 10000;
	cfg.keepalive_ms = 15000;
	cfg.seed = 1;
	memset(&w, 0, sizeof(w));
	FUZZ_CHECK(client_init(&c, &cfg, &io, "bob", now) == 0);
	prelude(&c, &w, src, now);

	while (fuzz_next_record(data, size, &off, &r)) {
		uint64_t received = c.stats.received;
		unsigned registrations = w.registrations;
		int hurry = 0;

		now += r.step_ms;
		note_cookie(&w, &r, &hurry);
		deliver_record(&c, &r, &src[r.source], now);
		FUZZ_CHECK(c.stats.received == received + 1);
		FUZZ_CHECK(client_tick(&c, now) >= now);
		/* A new cookie from the server: the request goes again at once, with it. */
		if (hurry)
			FUZZ_CHECK(w.registrations > registrations);
		FUZZ_CHECK(c.npeers <= CLIENT_MAX_PEERS);
	}
	client_shutdown(&c, now);
	client_free(&c);
	return 0;
}
