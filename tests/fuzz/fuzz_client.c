/* tests/fuzz/fuzz_client.c - libFuzzer harness for client_handle and client_tick: a connected client under fire. */
#include <string.h>

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
	FUZZ_CHECK(proto_decode(buf, len, &m) == 0);
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

/* Sends the client one message from `from`, as if it came over the network. */
static void deliver(struct client *c, const struct proto_msg *m, const struct proto_addr *from,
		    int64_t now)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int n = proto_encode(m, buf, sizeof(buf));

	FUZZ_CHECK(n > 0);
	client_handle(c, buf, (size_t)n, from, now);
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
	if (m.type == PROTO_COOKIE)
		*hurry = memcmp(m.cookie, w->cookie, PROTO_COOKIE_LEN) != 0;
	else if (m.type != PROTO_REGISTERED || strcmp(m.name, "alice") != 0)
		return;
	memcpy(w->cookie, m.cookie, PROTO_COOKIE_LEN);
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
	memcpy(cfg.token, "token!!!", PROTO_TOKEN_LEN);
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
		client_handle(&c, r.buf, r.len, &src[r.source], now);
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
