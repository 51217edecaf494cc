/* tests/fuzz/fuzz_server.c - libFuzzer harness for server_handle: conversations of datagrams from four sources. */
#include <string.h>

#include "fuzz.h"
#include "server.h"
#include "stun.h"

/*
 * Each input is a fresh server (so a crash replays from its input alone)
 * fed a series of records (fuzz.h), with time moving on between them and
 * server_tick run as main() would. A small table and a short TTL let the
 * fuzzer reach "table full" and expiry within one input.
 */
#define FUZZ_MAX_NAMES 3
#define FUZZ_TTL_S 2

/* The four sources a record can pick (fuzz.h); loopback is where the operator's STATS come from. */
static void sources(struct proto_addr from[4])
{
	fuzz_addr4(&from[FUZZ_HOST1], 192, 0, 2, 1, 40000);
	fuzz_addr4(&from[FUZZ_HOST2], 198, 51, 100, 2, 50000);
	fuzz_addr6(&from[FUZZ_HOST6], 3, 60000);
	fuzz_addr4(&from[FUZZ_LOOPBACK], 127, 0, 0, 1, 40001);
}

/* Checks what the server wants sent in answer to one datagram. */
static void check_answers(const struct server_tx *tx, int n, const struct proto_addr *from)
{
	struct proto_msg m;
	int i;

	FUZZ_CHECK(n >= 0 && n <= SERVER_MAX_TX);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(tx[i].len > 0 && tx[i].len <= PROTO_MAX_DATAGRAM);
		FUZZ_CHECK(tx[i].to.family == PROTO_AF_INET || tx[i].to.family == PROTO_AF_INET6);
		if (stun_is_stun(tx[i].buf, tx[i].len)) {
			/* STUN is answered to its sender only, and alone. */
			FUZZ_CHECK(n == 1 && proto_addr_equal(&tx[i].to, from));
			continue;
		}
		/* The server only sends what its own decoder accepts, and only server->client types. */
		FUZZ_CHECK(proto_decode(tx[i].buf, tx[i].len, &m) == 0);
		FUZZ_CHECK(m.type == PROTO_REGISTERED || m.type == PROTO_PEER ||
			   m.type == PROTO_ERROR || m.type == PROTO_STATS_REPLY ||
			   m.type == PROTO_WHO_REPLY || m.type == PROTO_RELAYED);
		/* The counters, longer than the question, go to loopback only. */
		FUZZ_CHECK(m.type != PROTO_STATS_REPLY || from->ip[0] == 127);
		/* Two answers are an introduction: one PEER to each side. */
		FUZZ_CHECK(n == 1 || m.type == PROTO_PEER);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	const struct server_config cfg = { .ttl_s = FUZZ_TTL_S, .max_names = FUZZ_MAX_NAMES };
	struct server_tx tx[SERVER_MAX_TX];
	struct proto_addr from[4];
	struct fuzz_record r;
	struct server s;
	uint64_t handled = 0;
	int64_t now = 1000;
	size_t off = 0;
	int n;

	sources(from);
	FUZZ_CHECK(server_init(&s, &cfg, seed) == 0);
	server_tick(&s, now);
	while (fuzz_next_record(data, size, &off, &r)) {
		struct proto_msg m;
		uint64_t registrations;
		uint32_t names;
		int is_register;

		now += r.step_ms;
		FUZZ_CHECK(server_tick(&s, now) > now);
		is_register = proto_decode(r.buf, r.len, &m) == 0 && m.type == PROTO_REGISTER;
		registrations = s.stats.registrations;
		names = s.names.count;
		n = server_handle(&s, r.buf, r.len, &from[r.source], now, tx);
		check_answers(tx, n, &from[r.source]);
		/* Only a well-formed REGISTER adds a name. */
		if (!is_register)
			FUZZ_CHECK(s.stats.registrations == registrations && s.names.count <= names);
		handled++;
		FUZZ_CHECK(s.names.count <= FUZZ_MAX_NAMES);
		FUZZ_CHECK(s.stats.received == handled);
	}
	server_free(&s);
	return 0;
}
