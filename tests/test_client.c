/* test_client.c - the client's logic on a simulated network, with a real server and fake time. */
#define _XOPEN_SOURCE 700 /* nftw, for tmpdir.h */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "auth.h"
#include "client_impl.h"
#include "bytes.h"
#include "log.h"
#include "net.h"
#include "peer_stream.h"
#include "protocol.h"
#include "server.h"
#include "transfer.h"
#include "trust.h"
#include "x25519.h"
#include "harness.h"
#include "tmpdir.h"

/*
 * ---- the simulated internet ----
 *
 * One rendezvous server (the real server.c, driven through server_handle)
 * at 10.0.0.1:7777 (and, for the multi-server tests, perhaps a second at
 * 10.0.0.9:7777) and up to SIM_HOSTS clients (the real client.c). The
 * addresses are only labels inside this file; no socket is ever opened.
 *
 * Each host has a public address, where the server and every other host
 * see it (as behind a full-cone NAT, or no NAT at all), and may have a LAN
 * address, reachable only from other hosts that have one. A datagram sent
 * to a LAN address shows the sender's LAN address as its source; one sent
 * to a public address shows the sender's public address. A datagram to an
 * address no live host owns is lost, as on the real internet. A host can
 * vanish (its program stops: `live` cleared) or be cut off (it runs, but
 * its network is down: `cut` set). With `no_direct` set, no datagram goes
 * from one host to another: only through the server, as between two hosts
 * behind symmetric NATs, where only the relay works.
 *
 * Every datagram sent goes into `flight` with an arrival time: now plus the
 * link's latency plus a random jitter (so later datagrams can overtake
 * earlier ones). A seeded xorshift PRNG may also lose it or send it twice.
 * These faults hit the datagrams between clients, and the server's too
 * when faulty_server is set. The same seed gives the same run, so a
 * failure can be replayed.
 *
 * The driver (sim_run_until) does what main()'s poll loop does, with a fake clock:
 * every turn it calls client_tick on every host and server_tick on the
 * server, then jumps to whatever comes first -- the next arrival or the
 * earliest deadline -- and handles it. Every loop is bounded by
 * SIM_MAX_STEPS, so a bug can fail a test but never hang it.
 */

#define SIM_HOSTS 4               /* clients in one world at most */
#define SIM_SERVER SIM_HOSTS      /* the server's node number, after the hosts */
#define SIM_SERVER2 (SIM_HOSTS + 1) /* a second server's (the multi-server tests), when srv2_up */
#define SIM_FLIGHT 4096           /* datagrams in the air at once */
#define SIM_LINES 1024            /* output lines a host remembers */
#define SIM_TRACE 256             /* datagrams between a host and the server it remembers */
#define SIM_MAX_STEPS 3000000L    /* bound on one sim_run */
#define SIM_T0_MS 1000000         /* fake monotonic clock at the start: anything but 0 */

#define WAN_MS 20                 /* default one-way latency between public addresses */
#define LAN_MS 2                  /* default one-way latency on the LAN */
#define WAIT_MS 10000             /* the clients' -w */
#define KEEPALIVE_MS 15000        /* the clients' --keepalive */

/* A datagram in the air. */
struct dgram {
	int64_t at_ms;            /* arrival time */
	uint64_t order;           /* send order: breaks ties, and shows reordering */
	int src, dst;             /* node numbers (a host, or SIM_SERVER) */
	struct proto_addr from;   /* the source address the receiver sees */
	int alt;                  /* to the server's alternate port (sim.alt_port) */
	size_t len;
	uint8_t buf[PROTO_MAX_DATAGRAM];
};

/* One datagram between a host and the server, as the host's trace keeps it. */
struct srv_msg {
	int64_t at_ms;            /* when the host sent it, or when it reached the host */
	int sent;                 /* 1: the host sent it to the server; 0: the server's, received */
	uint8_t type;
	uint8_t code;             /* ERROR's */
	uint8_t cookie[PROTO_COOKIE_LEN]; /* REGISTER's, REFRESH's, REGISTERED's, COOKIE's */
};

/* A client, its addresses, and what it printed. */
struct sim_host {
	int id;
	int live;                 /* started and not vanished */
	int cut;                  /* network down: it runs, but nothing reaches or leaves it */
	int paused;               /* stopped (SIGSTOP): it does nothing; what comes in waits */
	int symmetric;            /* behind a symmetric NAT: the server's alternate port sees another port */
	int spares;               /* its client has spare sockets (client_io.spares): they open, carry nothing */
	int spares_open;          /* how many are open */
	uint32_t drop_sent;       /* bit t set: what it sends of type t is lost (one-way faults) */
	struct proto_addr opened[8]; /* public addresses it sent to (sim.restricted), oldest overwritten */
	int nopened;
	struct proto_addr pub;    /* its public address */
	struct proto_addr lan;    /* its LAN address; family 0 = not on the LAN */
	struct client_config cfg; /* set by host_new; a test may change it before host_start */
	struct client c;

	char *lines[SIM_LINES];   /* what it printed, in order */
	int64_t line_ms[SIM_LINES]; /* and when */
	int nlines;

	uint32_t sent[32];        /* datagrams sent, by type: the inner type for a SEALED one */
	struct rng32 rng;         /* its random bytes (client_io.random): keys, indices, challenges */
	struct srv_msg trace[SIM_TRACE]; /* its first SIM_TRACE datagrams to and from the server */
	int ntrace;
	struct proto_addr first_ack_from; /* source of the first PROBE_ACK that reached it */
	struct trust_store *trust; /* its known peers, when host_trust gave it some */
	char trust_dir[64];
	uint8_t first_init[SESSION_INIT_LEN]; /* the INIT of its last direct PROBE */
	int ninits;                /* direct PROBEs sent */
	uint32_t challenges_astray; /* direct PATH_CHALLENGEs to an address no host has (another port is fine) */
	int init_variants;         /* how often a direct PROBE's INIT differed from the one before */
};

static struct sim {
	int64_t now;

	struct server srv;
	int srv_up;
	uint32_t max_names;       /* the server's table size */
	struct proto_addr srv_addr;
	struct server srv2;       /* a second server, at second_addr(), only when a test starts it */
	int srv2_up;

	struct sim_host host[SIM_HOSTS];
	int nhosts;

	struct dgram flight[SIM_FLIGHT];
	int nflight;
	uint64_t next_order, max_order_delivered;

	/* the link model */
	int64_t wan_ms, lan_ms, jitter_ms;
	int64_t srv_ms;           /* latency to and from the server, when not 0 (else wan_ms) */
	unsigned loss_pct, dup_pct;
	int faulty_server;        /* loss, duplication and jitter also hit the server's datagrams */
	int no_direct;            /* hosts cannot reach each other, only the server */
	int restricted;           /* each host's NAT filters (RFC 4787, 5: address and port dependent):
				     from another host's public address only when it sent there */
	int no_relay;             /* the server starts with its relay off (--no-relay) */
	uint32_t names_per_source; /* the server's --limit names=N; 0: no limit */
	uint16_t alt_port;        /* the server's --alt-port, at its address; 0: none */
	struct rng32 rng;         /* xorshift32: the network's dice */

	/* what the network did, so a test can show its faults really happened */
	uint64_t lost, duplicated, reordered, unroutable, blocked;


	/* what host capture_from sends to capture_to (another host), kept for replays */
	int capture_from, capture_to;
	int ncaptured;
	struct { size_t len; uint8_t buf[PROTO_MAX_DATAGRAM]; } captured[256];

	/* an address no host owns (an attacker's): what the hosts send there, by wire type */
	struct proto_addr watch;
	uint32_t watched[32];
} sim;

/* Returns 1 when node n is a server (SIM_SERVER or SIM_SERVER2), 0 for a host. */
static int is_server(int n)
{
	return n >= SIM_SERVER;
}

static struct proto_addr second_addr(void);

/* A node's public address and LAN address (the servers have no LAN address). */
static const struct proto_addr *node_pub(int n)
{
	static struct proto_addr srv2;

	srv2 = second_addr();
	return n == SIM_SERVER ? &sim.srv_addr : n == SIM_SERVER2 ? &srv2 : &sim.host[n].pub;
}

static const struct proto_addr *node_lan(int n)
{
	static const struct proto_addr none;

	return is_server(n) ? &none : &sim.host[n].lan;
}

/* A node that runs: a server while up, a host while live and its program has not exited. */
static int node_alive(int n)
{
	if (n == SIM_SERVER)
		return sim.srv_up;
	if (n == SIM_SERVER2)
		return sim.srv2_up;
	/* fatal or /quit: main() would have returned. */
	return sim.host[n].live && !sim.host[n].c.fatal && !sim.host[n].c.quit;
}

/*
 * Finds the node that owns address `to` as seen from node src, and the
 * source address it will see. Returns the node, or -1 when nobody is there.
 * *lan says whether the datagram crosses the LAN (its latency differs).
 */
static int sim_route(int src, const struct proto_addr *to, struct proto_addr *from, int *lan)
{
	struct proto_addr alt = sim.srv_addr;

	alt.port = sim.alt_port;
	if (sim.alt_port != 0 && !is_server(src) && proto_addr_equal(to, &alt)) {
		/* A symmetric NAT gives this destination a mapping of its own. */
		*from = *node_pub(src);
		from->port = (uint16_t)(from->port + (sim.host[src].symmetric ? 1000 : 0));
		*lan = 0;
		return SIM_SERVER;
	}
	for (int n = 0; n < SIM_SERVER && src == SIM_SERVER && sim.alt_port != 0; n++) {
		struct proto_addr mapped = *node_pub(n);

		mapped.port = (uint16_t)(mapped.port + 1000);
		if (sim.host[n].live && sim.host[n].symmetric && proto_addr_equal(to, &mapped)) {
			*from = alt; /* the answer to a MAPPING, back through that mapping */
			*lan = 0;
			return n;
		}
	}
	for (int n = 0; n <= SIM_SERVER2; n++) {
		if (!is_server(n) && !sim.host[n].live)
			continue;
		if (proto_addr_equal(to, node_pub(n))) {
			*from = *node_pub(src);
			*lan = 0;
			return n;
		}
		if (node_lan(src)->family != 0 && node_lan(n)->family != 0 &&
		    proto_addr_equal(to, node_lan(n))) {
			*from = *node_lan(src);
			*lan = 1;
			return n;
		}
	}
	return -1;
}

/* Puts one copy of a datagram in the air. */
static void sim_launch(int src, int dst, const struct proto_addr *from, int64_t delay_ms,
		       const uint8_t *buf, size_t len)
{
	struct dgram *d;

	ck_assert_int_lt(sim.nflight, SIM_FLIGHT);
	ck_assert_uint_le(len, sizeof(d->buf));
	d = &sim.flight[sim.nflight++];
	d->at_ms = sim.now + delay_ms;
	d->order = sim.next_order++;
	d->src = src;
	d->dst = dst;
	d->from = *from;
	d->len = len;
	memcpy(d->buf, buf, len);
}

/* Returns 1 when node n's network is down. */
static int node_cut(int n)
{
	return !is_server(n) && sim.host[n].cut;
}

/* Returns 1 when h's NAT lets in what comes from addr: h sent there (sim.restricted). */
static int host_opened(const struct sim_host *h, const struct proto_addr *addr)
{
	int n = h->nopened < 8 ? h->nopened : 8;

	for (int i = 0; i < n; i++)
		if (proto_addr_equal(&h->opened[i], addr))
			return 1;
	return 0;
}

/* h sent to addr: its NAT lets in what comes back from there. */
static void host_open(struct sim_host *h, const struct proto_addr *addr)
{
	if (!host_opened(h, addr))
		h->opened[h->nopened++ % 8] = *addr;
}

/* Node src sends buf[0..len) to `to`: routed, then perhaps lost, duplicated or delayed. */
static void sim_send(int src, const struct proto_addr *to, const uint8_t *buf, size_t len)
{
	struct proto_addr from;
	int lan, dst = sim_route(src, to, &from, &lan);
	int faulty = sim.faulty_server || (!is_server(src) && !is_server(dst));
	int64_t base;
	int copies = 1;

	if (dst < 0) {
		sim.unroutable++;
		return;
	}
	base = lan ? sim.lan_ms : sim.wan_ms;
	if (sim.srv_ms != 0 && (is_server(src) || is_server(dst)))
		base = sim.srv_ms;
	if (node_cut(src) || node_cut(dst))
		return;
	if (sim.no_direct && !is_server(src) && !is_server(dst)) {
		sim.blocked++;
		return;
	}
	if (!is_server(src) && !is_server(dst) && !lan) {
		host_open(&sim.host[src], to); /* src's NAT lets in answers, whatever comes of this */
		if (sim.restricted && !host_opened(&sim.host[dst], &from)) {
			sim.blocked++;
			return;
		}
	}
	if (faulty && rng32_next(&sim.rng) % 100 < sim.loss_pct) {
		sim.lost++;
		return;
	}
	if (faulty && rng32_next(&sim.rng) % 100 < sim.dup_pct) {
		sim.duplicated++;
		copies = 2;
	}
	while (copies-- > 0) {
		int64_t jitter = faulty ? (int64_t)(rng32_next(&sim.rng) % (uint32_t)(sim.jitter_ms + 1)) : 0;

		sim_launch(src, dst, &from, base + jitter, buf, len);
		sim.flight[sim.nflight - 1].alt = dst == SIM_SERVER && sim.alt_port != 0 &&
						  to->port == sim.alt_port;
	}
}

/* The server's key in the sim: the same across its restarts, as server.key keeps it. */
#define SIM_SERVER_SECRET 0x5e

/* K between h (its key as configured) and the sim's server. */
static void host_k(const struct sim_host *h, uint8_t k[AUTH_KEY_LEN])
{
	ck_assert_int_eq(auth_derive(k, h->cfg.id.secret, sim.srv.pub, h->cfg.id.pub, sim.srv.pub),
			 0);
}

/*
 * Encodes m as h's client would (its key, sealed under its K with
 * counter) into buf. Returns the length.
 */
static size_t host_seal(const struct sim_host *h, struct proto_msg *m, uint64_t counter,
			uint8_t *buf, size_t cap)
{
	uint8_t k[AUTH_KEY_LEN];
	size_t off, len;
	int n;

	host_k(h, k);
	m->counter = counter;
	memcpy(m->key, h->cfg.id.pub, PROTO_KEY_LEN);
	n = proto_encode_open(m, buf, cap, &off);
	ck_assert_int_gt(n, 0);
	len = auth_seal_request(buf, (size_t)n, cap, off, k);
	ck_assert_uint_gt(len, 0);
	return len;
}

/*
 * Decodes a datagram between h and the server into *m: a sealed answer
 * opened under h's K; a request only as far as its clear part (its type,
 * and the cookie of REGISTER and REFRESH). Returns 0, or -1 when it is
 * none of ours.
 */
static int host_decode(const struct sim_host *h, int sent, const uint8_t *buf, size_t len,
		       struct proto_msg *m)
{
	uint8_t k[AUTH_KEY_LEN], open[PROTO_MAX_DATAGRAM];
	int off = proto_decode_prefix(buf, len, m);
	long n;

	if (off < 0)
		return -1;
	if (off == 0)
		return proto_decode(buf, len, m) < 0 ? -1 : 0;
	if (sent)
		return 0;
	host_k(h, k);
	n = auth_open_answer(open, buf, len, (size_t)off, k);
	if (n < 0 || proto_decode(open, (size_t)n, m) < 0)
		return -1;
	return 0;
}

/*
 * Appends a datagram between h and the server to h's trace (sent by h, or
 * received from the server), while there is room. Only valid datagrams
 * are kept: the client sends no other, and the server neither.
 */
static void trace_add(struct sim_host *h, int sent, const uint8_t *buf, size_t len)
{
	struct srv_msg *t;
	struct proto_msg m;

	if (h->ntrace == SIM_TRACE || host_decode(h, sent, buf, len, &m) < 0)
		return;
	t = &h->trace[h->ntrace++];
	t->at_ms = sim.now;
	t->sent = sent;
	t->type = m.type;
	t->code = m.code;
	memcpy(t->cookie, m.cookie, PROTO_COOKIE_LEN);
}

/* client_io.send: a host sends. */
static void host_send(void *ctx, const struct proto_addr *to, const uint8_t *buf, size_t len)
{
	struct sim_host *h = ctx;

	if (proto_addr_equal(to, &sim.srv_addr))
		trace_add(h, 1, buf, len);
	if (sim.watch.family != 0 && proto_addr_equal(to, &sim.watch) && len > PROTO_HEADER_LEN)
		sim.watched[buf[2] & 31]++;
	if (len > PROTO_HEADER_LEN) {
		/*
		 * Byte 2 is the type; a sealed one's inner type is what the
		 * client says it sealed (to the server: RELAY, whatever inside).
		 */
		int direct = !proto_addr_equal(to, &sim.srv_addr) && h->c.last_sent_type != 0;
		uint8_t type = (direct ? h->c.last_sent_type : buf[2]) & 31;

		if (buf[2] == PROTO_PROBE && len == PROTO_HEADER_LEN + SESSION_INIT_LEN &&
		    !proto_addr_equal(to, &sim.srv_addr)) {
			if (h->ninits++ > 0 &&
			    memcmp(h->first_init, buf + PROTO_HEADER_LEN, SESSION_INIT_LEN) != 0)
				h->init_variants++;
			memcpy(h->first_init, buf + PROTO_HEADER_LEN, SESSION_INIT_LEN);
		}
		if (h->id == sim.capture_from && proto_addr_equal(to, &sim.host[sim.capture_to].pub) &&
		    sim.ncaptured < (int)(sizeof(sim.captured) / sizeof(sim.captured[0]))) {
			sim.captured[sim.ncaptured].len = len;
			memcpy(sim.captured[sim.ncaptured++].buf, buf, len);
		}

		if (direct && type == PROTO_PATH_CHALLENGE) {
			int known = 0;

			for (int n = 0; n < sim.nhosts; n++)
				known |= memcmp(to->ip, sim.host[n].pub.ip, 4) == 0;
			h->challenges_astray += !known;
		}
		h->sent[type]++;
		if (h->drop_sent & (1u << type))
			return;
	}
	sim_send(h->id, to, buf, len);
}

/* client_io.print: a host shows a line; we keep it, with the time. */
static void host_print(void *ctx, const char *line)
{
	struct sim_host *h = ctx;

	ck_assert_int_lt(h->nlines, SIM_LINES);
	h->lines[h->nlines] = strdup(line);
	ck_assert_ptr_nonnull(h->lines[h->nlines]);
	h->line_ms[h->nlines] = sim.now;
	h->nlines++;
}

/* Hands a datagram to its receiver: server_handle (whose answers go out) or client_handle. */
static void sim_deliver(const struct dgram *d)
{
	struct server_tx tx[SERVER_MAX_TX];
	struct sim_host *h;

	/* Nothing reaches a dead or cut-off host, nor leaves it: not even what was in the air. */
	if (!node_alive(d->dst) || (!is_server(d->src) && !sim.host[d->src].live) ||
	    node_cut(d->src) || node_cut(d->dst))
		return;
	if (d->order < sim.max_order_delivered)
		sim.reordered++;
	else
		sim.max_order_delivered = d->order;
	if (is_server(d->dst)) {
		struct server *s = d->dst == SIM_SERVER ? &sim.srv : &sim.srv2;
		int n = d->alt ? server_handle_alt(s, d->buf, d->len, &d->from, sim.now, tx) :
				 server_handle(s, d->buf, d->len, &d->from, sim.now, tx);

		for (int i = 0; i < n; i++)
			sim_send(d->dst, &tx[i].to, tx[i].buf, tx[i].len);
		return;
	}
	h = &sim.host[d->dst];
	if (d->src == SIM_SERVER)
		trace_add(h, 0, d->buf, d->len);
	if (d->len > PROTO_HEADER_LEN && !is_server(d->src) &&
	    (d->buf[2] == PROTO_PROBE_ACK || d->buf[2] == PROTO_SEALED) &&
	    h->first_ack_from.family == 0)
		h->first_ack_from = d->from;
	client_handle(&h->c, d->buf, d->len, &d->from, sim.now);
}

/* Returns the index of the next datagram to arrive (earliest, then first sent), or -1. */
static int sim_next_arrival(void)
{
	int best = -1;

	for (int i = 0; i < sim.nflight; i++) {
		const struct dgram *d = &sim.flight[i], *b = &sim.flight[best < 0 ? i : best];

		/* A stopped program reads nothing: its datagrams wait in its socket. */
		if (!is_server(d->dst) && sim.host[d->dst].paused)
			continue;
		if (best < 0 || d->at_ms < b->at_ms ||
		    (d->at_ms == b->at_ms && d->order < b->order))
			best = i;
	}
	return best;
}

/* Returns the index of h's first line at or after `from` that starts with prefix, or -1. */
static int find_line(const struct sim_host *h, const char *prefix, int from)
{
	size_t n = strlen(prefix);

	for (int i = from; i < h->nlines; i++)
		if (strncmp(h->lines[i], prefix, n) == 0)
			return i;
	return -1;
}

/*
 * Runs the world until host h prints a line starting with prefix (h may be
 * NULL: no such stop), or until the clock reaches end_ms. Returns the
 * index of that line in h->lines, or -1 when end_ms came first (and then
 * sim.now == end_ms).
 */
static int sim_run_until(const struct sim_host *h, const char *prefix, int64_t end_ms)
{
	int first = h != NULL ? h->nlines : 0;

	for (long step = 0; step < SIM_MAX_STEPS; step++) {
		int64_t next = INT64_MAX;
		int k, found = h != NULL ? find_line(h, prefix, first) : -1;

		if (found >= 0)
			return found;
		/* What main()'s loop does each turn: everyone does what is due now. */
		for (int i = 0; i < sim.nhosts; i++) {
			if (node_alive(i) && !sim.host[i].paused) {
				int64_t t = client_tick(&sim.host[i].c, sim.now);

				/* A deadline in the past would make main() spin. */
				ck_assert_int_ge(t, sim.now);
				next = t < next ? t : next;
			}
		}
		if (sim.srv_up) {
			int64_t t = server_tick(&sim.srv, sim.now);

			next = t < next ? t : next;
		}
		if (sim.srv2_up) {
			int64_t t = server_tick(&sim.srv2, sim.now);

			next = t < next ? t : next;
		}
		k = sim_next_arrival();
		if (k >= 0 && sim.flight[k].at_ms <= next)
			next = sim.flight[k].at_ms;
		if (next > end_ms) {
			sim.now = end_ms;
			return -1;
		}
		if (next > sim.now)
			sim.now = next;
		if (k >= 0 && sim.flight[k].at_ms <= sim.now) {
			struct dgram d = sim.flight[k];

			sim.flight[k] = sim.flight[--sim.nflight];
			sim_deliver(&d);
		}
	}
	ck_abort_msg("the simulation took more than %ld steps", SIM_MAX_STEPS);
	return -1;
}

/* Runs the world for ms of fake time. */
static void sim_run_for(int64_t ms)
{
	sim_run_until(NULL, NULL, sim.now + ms);
}

/* Runs until h prints a line starting with prefix, within ms; fails the test otherwise. */
static int64_t expect_line_within(const struct sim_host *h, const char *prefix, int64_t ms)
{
	int i = sim_run_until(h, prefix, sim.now + ms);

	if (i < 0 && getenv("SIM_DUMP") != NULL)
		for (int j = 0; j < sim.nhosts; j++)
			for (int k = 0; k < sim.host[j].nlines; k++)
				fprintf(stderr, "%s @%lld: %s\n", sim.host[j].cfg.name,
					(long long)sim.host[j].line_ms[k], sim.host[j].lines[k]);
	ck_assert_msg(i >= 0, "client %s did not print '%s' within %lld ms", h->cfg.name, prefix,
		      (long long)ms);
	return h->line_ms[i];
}

/* Returns how many of h's lines are exactly `line`. */
static int count_exact(const struct sim_host *h, const char *line)
{
	int n = 0;

	for (int i = 0; i < h->nlines; i++)
		n += strcmp(h->lines[i], line) == 0;
	return n;
}

/* Returns how many of h's lines start with prefix. */
static int count_prefix(const struct sim_host *h, const char *prefix)
{
	int n = 0;

	for (int i = find_line(h, prefix, 0); i >= 0; i = find_line(h, prefix, i + 1))
		n++;
	return n;
}

/*
 * Asserts that the chat lines h shows from a peer (those starting with
 * `from`, e.g. "<alice> ") are exactly `word`0, `word`1, ... `word`n-1, in
 * that order: each line once. Event lines may come in between.
 */
static void assert_stream(const struct sim_host *h, const char *from, const char *word, int n)
{
	char want[64];
	int got = 0;

	for (int i = find_line(h, from, 0); i >= 0; i = find_line(h, from, i + 1)) {
		ck_assert_int_lt(got, n);
		snprintf(want, sizeof(want), "%s%s%d", from, word, got++);
		ck_assert_str_eq(h->lines[i], want);
	}
	ck_assert_int_eq(got, n);
}

/*
 * Starts (or restarts, with a new seed and an empty table) server s, whose
 * key's secret is 32 x `secret`; *up says it runs. A new seed is a new
 * cookie key: the cookies the old server gave are no good.
 */
static void server_start_as(struct server *s, int *up, uint8_t secret, uint8_t seed_base)
{
	struct server_config cfg = { .ttl_s = SERVER_DEFAULT_TTL_S, .max_names = sim.max_names,
				     .no_relay = sim.no_relay, .alt_port = sim.alt_port };
	uint8_t seed[SERVER_SEED_LEN];

	/* No rate limits: the sim's clients are well behaved, and test_server tests the limits. */
	cfg.guard.names_per_source = sim.names_per_source;
	memset(cfg.secret, secret, sizeof(cfg.secret));
	/* Its answers' counter starts at the clock (in us), so a restarted server's grow on. */
	cfg.counter_start = (uint64_t)sim.now * 1000;
	if (*up)
		server_free(s);
	for (int i = 0; i < SERVER_SEED_LEN; i++)
		seed[i] = (uint8_t)(seed_base + i);
	ck_assert_int_eq(server_init(s, &cfg, seed), 0);
	*up = 1;
}

/* Starts (or restarts) the sim's server. */
static void server_start(uint8_t seed_base)
{
	server_start_as(&sim.srv, &sim.srv_up, SIM_SERVER_SECRET, seed_base);
}

/*
 * A new host called name at public address 10.0.0.last:port, not started.
 * Its default configuration: the key whose secret is 32 x `token` (no
 * server key: it is pinned at first contact), one private endpoint equal
 * to its public address (a host with no NAT, like main() on loopback),
 * WAIT_MS and KEEPALIVE_MS. The test may change h->cfg, h->lan, then host_start.
 */
static struct sim_host *host_new(const char *name, uint8_t last, uint16_t port, uint8_t token)
{
	struct sim_host *h;

	ck_assert_int_lt(sim.nhosts, SIM_HOSTS);
	h = &sim.host[sim.nhosts];
	h->id = sim.nhosts++;
	h->pub = harness_addr4(10, 0, 0, last, port);
	snprintf(h->cfg.name, sizeof(h->cfg.name), "%s", name);
	{
		uint8_t secret[X25519_LEN];

		memset(secret, token, sizeof(secret));
		identity_from_secret(&h->cfg.id, secret);
	}
	h->cfg.counter_start = (uint64_t)sim.now * 1000;
	h->cfg.servers[0].addr = sim.srv_addr;
	h->cfg.nprivate = 1;
	h->cfg.private_ep[0] = h->pub;
	h->cfg.wait_ms = WAIT_MS;
	h->cfg.keepalive_ms = KEEPALIVE_MS;
	h->cfg.seed = 0x1000u + last * 7u + port;
	h->rng.s = h->cfg.seed * 2654435761u + 1;
	return h;
}

/* client_io.random: the host's own seeded generator, so that a run can be replayed. */
static void host_random(void *ctx, void *buf, size_t len)
{
	struct sim_host *h = ctx;
	uint8_t *b = buf;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(rng32_next(&h->rng) >> 11);
}

/* client_io.wall_ms: a wall clock that moves with the fake one (handshake timestamps). */
static int64_t host_wall_ms(void *ctx)
{
	(void)ctx;
	return INT64_C(1700000000000) + sim.now;
}

/* Gives h (not started) known peers of its own, in a fresh temporary directory. */
static void host_trust(struct sim_host *h)
{
	char err[512];

	tmpdir_make(h->trust_dir, sizeof(h->trust_dir), "test_client");
	h->trust = malloc(sizeof(*h->trust));
	ck_assert_ptr_nonnull(h->trust);
	ck_assert_msg(trust_open(h->trust, h->trust_dir, err, sizeof(err)) == 0, "%s", err);
	h->cfg.trust = h->trust;
}

/* client_io.spares for a host with h->spares: opens n, or closes all but keep (as p2pchat.c). */
static int host_spares(void *ctx, int n, int keep)
{
	struct sim_host *h = ctx;

	h->spares_open = n > 0 ? n : keep != 0;
	return n;
}

/* client_io.send_spare: a spare socket's datagram is lost (its NAT mapping admits no one here). */
static void host_send_spare(void *ctx, int sock, const struct proto_addr *to, const uint8_t *buf,
			    size_t len)
{
	(void)ctx, (void)sock, (void)to, (void)buf, (void)len;
}

/* Starts h's client now, with `peer` as its current peer (or NULL). */
static void host_start(struct sim_host *h, const char *peer)
{
	struct client_io io = { h, host_send, host_print, NULL, NULL, host_random, host_wall_ms, NULL, NULL, NULL };

	if (h->spares) {
		io.spares = host_spares;
		io.send_spare = host_send_spare;
	}

	ck_assert_int_eq(client_init(&h->c, &h->cfg, &io, peer, sim.now), 0);
	h->live = 1;
}

/* host_new and host_start with the defaults. */
static struct sim_host *host_up(const char *name, uint8_t last, const char *peer, uint8_t token)
{
	struct sim_host *h = host_new(name, last, 5000, token);

	host_start(h, peer);
	return h;
}

/*
 * h's program dies and starts again at once, with no peer: the same
 * address and token, but no memory and new epochs. Returns the new host.
 */
static struct sim_host *host_restart(struct sim_host *h)
{
	struct sim_host *n = host_new(h->cfg.name, h->pub.ip[3], h->pub.port, h->cfg.id.secret[0]);

	h->live = 0;
	n->cfg.seed = h->cfg.seed ^ 0xbeef;
	host_start(n, NULL);
	return n;
}

/* The user of h types line. */
static void type(struct sim_host *h, const char *line)
{
	client_input(&h->c, line, sim.now);
}

/*
 * Seals the inner message m as host `from` does for its peer called `to`
 * (its session's next counter): the whole SEALED datagram into buf.
 * Returns its length.
 */
static size_t seal_as(struct sim_host *from, const char *to, const struct proto_msg *m,
		      uint8_t buf[PROTO_PAYLOAD_MAX])
{
	static const uint8_t header[PROTO_HEADER_LEN] = { PROTO_MAGIC, PROTO_VERSION, PROTO_SEALED, 0 };
	struct peer *p = client_peer_find(&from->c, to);
	uint8_t pt[PROTO_MAX_DATAGRAM];
	int len;
	long n;

	ck_assert_ptr_nonnull(p);
	len = proto_inner_encode(m, pt, sizeof(pt));
	ck_assert_int_gt(len, 0);
	n = session_peer_seal(&p->sess, header, sizeof(header), pt, (size_t)len, sim.now,
			      buf + PROTO_HEADER_LEN, PROTO_PAYLOAD_MAX - PROTO_HEADER_LEN);
	ck_assert_int_gt(n, 0);
	memcpy(buf, header, sizeof(header));
	return (size_t)n + PROTO_HEADER_LEN;
}

/* Encodes m and hands it to h's client as if it came from `from`. */
static void inject(struct sim_host *h, const struct proto_msg *m, const struct proto_addr *from)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int n = proto_encode(m, buf, sizeof(buf));

	ck_assert_int_gt(n, 0);
	client_handle(&h->c, buf, (size_t)n, from, sim.now);
}

/* Sends h a message from the server's address, as the server would seal it but under key k. */
static void inject_sealed_under(struct sim_host *h, struct proto_msg *m, const uint8_t k[AUTH_KEY_LEN],
				uint64_t counter)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	size_t off, len;
	int n;

	m->counter = counter;
	n = proto_encode_open(m, buf, sizeof(buf), &off);
	ck_assert_int_gt(n, 0);
	len = auth_seal_answer(buf, (size_t)n, sizeof(buf), off, k);
	ck_assert_uint_gt(len, 0);
	client_handle(&h->c, buf, len, &sim.srv_addr, sim.now);
}

/*
 * Hands h a server's message m as the server would send it: sealed under
 * h's K with the server's next counter, from the server's address.
 */
static void inject_answer(struct sim_host *h, struct proto_msg *m)
{
	uint8_t k[AUTH_KEY_LEN];

	host_k(h, k);
	inject_sealed_under(h, m, k, ++sim.srv.counter);
}

/* A fresh world: the server up, no hosts, a perfect network with WAN_MS and LAN_MS latency. */
static void setup(void)
{
	memset(&sim, 0, sizeof(sim));
	sim.now = SIM_T0_MS;
	sim.srv_addr = harness_addr4(10, 0, 0, 1, 7777);
	sim.wan_ms = WAN_MS;
	sim.lan_ms = LAN_MS;
	sim.rng.s = 0x2545f491;
	sim.max_names = 64;
	sim.capture_from = -1;
	server_start(0x40);
}

static char xfer_dir[64]; /* a file test's directory: files to send in it, DIR/in receives */

static void teardown(void)
{
	for (int i = 0; i < sim.nhosts; i++) {
		client_free(&sim.host[i].c);
		for (int j = 0; j < sim.host[i].nlines; j++)
			free(sim.host[i].lines[j]);
		if (sim.host[i].trust != NULL) {
			trust_close(sim.host[i].trust);
			free(sim.host[i].trust);
			tmpdir_remove(sim.host[i].trust_dir);
		}
	}
	if (sim.srv_up)
		server_free(&sim.srv);
	if (sim.srv2_up)
		server_free(&sim.srv2);
	if (xfer_dir[0] != '\0')
		tmpdir_remove(xfer_dir);
	xfer_dir[0] = '\0';
}

/* Alice (with current peer bob) and bob, up and connected: alice's "hello" reached bob. */
static void alice_and_bob(struct sim_host **a, struct sim_host **b)
{
	*a = host_up("alice", 2, "bob", 0xa1);
	*b = host_up("bob", 3, NULL, 0xb0);
	type(*a, "hello");
	expect_line_within(*b, "<alice> hello", 3000);
	ck_assert_int_eq((*a)->c.peers[0]->state, PEER_CONNECTED);
}

/* ---- registration and names ---- */

START_TEST(registration_once)
{
	struct sim_host *a = host_up("alice", 2, NULL, 0xa1);

	/*
	 * REGISTER goes out on the first tick; REGISTERED comes back two round
	 * trips later: the first REGISTER has no cookie and gets COOKIE, the
	 * second carries it (the cookie round trip proves alice's address).
	 */
	ck_assert_int_eq(expect_line_within(a, "* registered as", 1000), SIM_T0_MS + 4 * WAN_MS);
	ck_assert_str_eq(a->lines[0], "* registered as alice (public 10.0.0.2:5000)");
	ck_assert_int_eq(a->c.registered, 1);
	ck_assert(proto_addr_equal(&a->c.public_ep, &a->pub));

	/* Three refreshes later, still said only once, and nothing else said. */
	sim_run_for(3 * CLIENT_REFRESH_MS + 1000);
	ck_assert_int_eq(a->nlines, 1);
	ck_assert_uint_eq(sim.srv.stats.registrations, 1);
	ck_assert_uint_eq(sim.srv.stats.refreshes, 3);
	ck_assert_uint_eq(a->sent[PROTO_REGISTER], 2);
	ck_assert_uint_eq(a->sent[PROTO_REFRESH], 3);
	/* Each REFRESH carried the cookie of the REGISTERED before it: no COOKIE after the 1st. */
	ck_assert_uint_eq(sim.srv.stats.cookies_sent, 1);
}
END_TEST

START_TEST(registration_retries_with_backoff)
{
	struct sim_host *a;

	sim.srv_up = 0; /* nobody at the server's address yet */
	server_free(&sim.srv);
	a = host_up("alice", 2, NULL, 0xa1);
	/*
	 * REGISTER at +0, +500, +1500, +3500 (CLIENT_RETRY_MS, doubling); a
	 * server from +2000. The one at +3500 gets COOKIE, and the REGISTER
	 * with the cookie goes at once: one more round trip for the cookie.
	 */
	sim_run_for(2000);
	ck_assert_int_eq(a->nlines, 0);
	ck_assert_uint_eq(a->sent[PROTO_REGISTER], 3);
	server_start(0x40);
	ck_assert_int_eq(expect_line_within(a, "* registered as alice (public 10.0.0.2:5000)",
					    5000), SIM_T0_MS + 3500 + 4 * WAN_MS);
	ck_assert_uint_eq(a->sent[PROTO_REGISTER], 5);
	/* Answered: the backoff is over; the next message is a REFRESH 20 s later. */
	sim_run_for(CLIENT_REFRESH_MS);
	ck_assert_uint_eq(a->sent[PROTO_REGISTER], 5);
	ck_assert_uint_eq(a->sent[PROTO_REFRESH], 1);
	ck_assert_int_eq(count_prefix(a, "* registered as"), 1);
}
END_TEST

START_TEST(name_taken_and_taken_over)
{
	struct sim_host *a1 = host_up("alice", 2, NULL, 0xa1), *a2, *a3, *b;
	int64_t t_start;

	expect_line_within(a1, "* registered as alice", 1000);
	/* Another user, another token: refused for good. */
	a2 = host_up("alice", 4, NULL, 0xee);
	expect_line_within(a2, "* name alice is taken", 1000);
	ck_assert_str_eq(a2->lines[0],
			 "* name alice is taken: another user holds it (try another name)");
	ck_assert_int_eq(a2->nlines, 1);
	ck_assert_int_eq(a2->c.fatal, 1);
	ck_assert_int_eq(a2->c.registered, 0);

	/* The owner restarts on another port: the same token takes the name back at once. */
	a1->live = 0;
	a3 = host_new("alice", 2, 5001, 0xa1);
	host_start(a3, NULL);
	t_start = sim.now;
	/* Two round trips: a new port is a new address, which needs its own cookie. */
	ck_assert_int_eq(expect_line_within(a3, "* registered as alice (public 10.0.0.2:5001)",
					    1000), t_start + 4 * WAN_MS);
	ck_assert_int_eq(a3->c.fatal, 0);
	/* And a peer looking alice up now reaches the new one. */
	b = host_up("bob", 3, NULL, 0xb0);
	type(b, "/msg alice hi");
	expect_line_within(a3, "<bob> hi", 2000);
}
END_TEST

START_TEST(server_full)
{
	struct sim_host *a, *b;

	sim.max_names = 1;
	server_start(0x40);
	a = host_up("alice", 2, NULL, 0xa1);
	expect_line_within(a, "* registered as alice", 1000);
	b = host_up("bob", 3, NULL, 0xb0);
	expect_line_within(b, "* the server is full", 1000);
	ck_assert_str_eq(b->lines[0], "* the server is full: it cannot register bob now");
	ck_assert_int_eq(b->c.fatal, 1);
	ck_assert_int_eq(a->c.fatal, 0);
}
END_TEST

START_TEST(too_many_names_from_one_address)
{
	struct sim_host *a, *a2, *b, *c;

	sim.names_per_source = 1; /* --limit names=1 */
	server_start(0x40);
	a = host_up("alice", 2, NULL, 0xa1);
	expect_line_within(a, "* registered as alice", 1000);
	/* bob runs on alice's host (the same IP address, another port): one name too many. */
	b = host_new("bob", 2, 5001, 0xb0);
	host_start(b, NULL);
	expect_line_within(b, "* the server holds as many names", 1000);
	ck_assert_str_eq(b->lines[0], "* the server holds as many names from this address as "
				      "it allows: it cannot register bob now");
	ck_assert_int_eq(b->nlines, 1);
	ck_assert_int_eq(b->c.fatal, 1);
	ck_assert_int_eq(b->c.registered, 0);
	/* Refused only once the cookie proved the address: a forged one could not spend it. */
	ck_assert_int_eq(b->ntrace, 4);
	ck_assert_uint_eq(b->trace[3].type, PROTO_ERROR);
	ck_assert_uint_eq(b->trace[3].code, PROTO_E_TOO_MANY_NAMES);
	ck_assert_uint_eq(b->sent[PROTO_REGISTER], 2);
	/* Another address has its own count; alice, restarted on another port, keeps her name. */
	c = host_up("carol", 5, NULL, 0xc0);
	expect_line_within(c, "* registered as carol", 1000);
	a->live = 0;
	a2 = host_new("alice", 2, 5002, 0xa1);
	host_start(a2, NULL);
	expect_line_within(a2, "* registered as alice (public 10.0.0.2:5002)", 1000);
	ck_assert_int_eq(a2->c.fatal + c->c.fatal, 0);
}
END_TEST

/* ---- cookies: the server believes an address once the client proved it receives there ---- */

enum { GOT = 0, SENT = 1 }; /* struct srv_msg's `sent` */

/*
 * Asserts that entry i of h's trace is a datagram of this type, sent by h
 * to the server (SENT) or received from it (GOT), at time at_ms. Returns it.
 */
static const struct srv_msg *trace_at(const struct sim_host *h, int i, int sent, int type,
				      int64_t at_ms)
{
	const struct srv_msg *t;

	ck_assert_msg(i < h->ntrace, "%s's trace has %d entries, not %d", h->cfg.name, h->ntrace,
		      i + 1);
	t = &h->trace[i];
	ck_assert_msg(t->sent == sent && t->type == type, "%s's trace %d: %s %s, not %s %s",
		      h->cfg.name, i, t->sent ? "sent" : "got", proto_type_name(t->type),
		      sent ? "sent" : "got", proto_type_name(type));
	ck_assert_int_eq(t->at_ms, at_ms);
	return t;
}

/*
 * Asserts that h's trace shows, from entry i on: a REFRESH sent at t with
 * the cookie `old`, which the server no longer takes; a COOKIE with
 * another one, a round trip later; the REFRESH again with it, at once.
 * Returns the COOKIE.
 */
static const struct srv_msg *refresh_needs_cookie(const struct sim_host *h, int i, int64_t t,
						  const uint8_t old[PROTO_COOKIE_LEN])
{
	const struct srv_msg *refresh, *cookie;

	refresh = trace_at(h, i, SENT, PROTO_REFRESH, t);
	ck_assert_mem_eq(refresh->cookie, old, PROTO_COOKIE_LEN);
	cookie = trace_at(h, i + 1, GOT, PROTO_COOKIE, t + 2 * WAN_MS);
	ck_assert_mem_ne(cookie->cookie, old, PROTO_COOKIE_LEN);
	refresh = trace_at(h, i + 2, SENT, PROTO_REFRESH, cookie->at_ms);
	ck_assert_mem_eq(refresh->cookie, cookie->cookie, PROTO_COOKIE_LEN);
	return cookie;
}

START_TEST(first_registration_cookie)
{
	static const uint8_t none[PROTO_COOKIE_LEN];
	struct sim_host *a = host_up("alice", 2, NULL, 0xa1);
	const struct srv_msg *reg, *cookie, *done, *refresh;
	uint8_t want[PROTO_COOKIE_LEN];

	expect_line_within(a, "* registered as alice", 1000);
	/* The first REGISTER has no cookie: the server answers COOKIE and registers nothing. */
	reg = trace_at(a, 0, SENT, PROTO_REGISTER, SIM_T0_MS);
	ck_assert_mem_eq(reg->cookie, none, PROTO_COOKIE_LEN);
	cookie = trace_at(a, 1, GOT, PROTO_COOKIE, SIM_T0_MS + 2 * WAN_MS);
	ck_assert_mem_ne(cookie->cookie, none, PROTO_COOKIE_LEN);
	/* It is the one for alice's address when the server had her REGISTER. */
	guard_cookie(&sim.srv.guard, &a->pub, SIM_T0_MS + WAN_MS, want);
	ck_assert_mem_eq(cookie->cookie, want, PROTO_COOKIE_LEN);
	/* The REGISTER again, with it, in the same millisecond: no CLIENT_RETRY_MS wait. */
	reg = trace_at(a, 2, SENT, PROTO_REGISTER, cookie->at_ms);
	ck_assert_mem_eq(reg->cookie, cookie->cookie, PROTO_COOKIE_LEN);
	done = trace_at(a, 3, GOT, PROTO_REGISTERED, SIM_T0_MS + 4 * WAN_MS);
	ck_assert_int_eq(a->ntrace, 4);
	ck_assert_uint_eq(sim.srv.stats.cookies_sent, 1);
	ck_assert_uint_eq(sim.srv.stats.registrations, 1);

	/*
	 * REGISTERED brings a fresh cookie, and each REFRESH carries the one of
	 * the REGISTERED before it. The second REFRESH comes in the next cookie
	 * period (GUARD_COOKIE_PERIOD_MS), so its cookie is another than the first.
	 */
	ck_assert_mem_eq(a->c.srv[0].cookie, done->cookie, PROTO_COOKIE_LEN);
	sim_run_for(2 * CLIENT_REFRESH_MS + 1000);
	refresh = trace_at(a, 4, SENT, PROTO_REFRESH, done->at_ms + CLIENT_REFRESH_MS);
	ck_assert_mem_eq(refresh->cookie, done->cookie, PROTO_COOKIE_LEN);
	done = trace_at(a, 5, GOT, PROTO_REGISTERED, refresh->at_ms + 2 * WAN_MS);
	ck_assert_mem_ne(done->cookie, cookie->cookie, PROTO_COOKIE_LEN);
	refresh = trace_at(a, 6, SENT, PROTO_REFRESH, done->at_ms + CLIENT_REFRESH_MS);
	ck_assert_mem_eq(refresh->cookie, done->cookie, PROTO_COOKIE_LEN);
	trace_at(a, 7, GOT, PROTO_REGISTERED, refresh->at_ms + 2 * WAN_MS);
	ck_assert_int_eq(a->ntrace, 8);
	ck_assert_uint_eq(sim.srv.stats.refreshes, 2);
	ck_assert_uint_eq(sim.srv.stats.cookies_sent, 1);
}
END_TEST

START_TEST(same_cookie_does_not_hurry)
{
	static const uint8_t none[PROTO_COOKIE_LEN];
	struct sim_host *a;
	const struct srv_msg *cookie;
	struct proto_msg m;
	int64_t next_reg;

	/*
	 * The server is far (300 ms each way): the REGISTER is sent again at
	 * +500 before the COOKIE for the first arrives at +600. The REGISTER
	 * with the cookie goes at once; the COOKIE answering the second cookie-
	 * less REGISTER (+1100) repeats the cookie alice holds, and sends nothing.
	 */
	sim.srv_ms = 300;
	a = host_up("alice", 2, NULL, 0xa1);
	ck_assert_int_eq(expect_line_within(a, "* registered as alice", 2000), SIM_T0_MS + 1200);
	trace_at(a, 0, SENT, PROTO_REGISTER, SIM_T0_MS);
	trace_at(a, 1, SENT, PROTO_REGISTER, SIM_T0_MS + CLIENT_RETRY_MS);
	ck_assert_mem_eq(a->trace[1].cookie, none, PROTO_COOKIE_LEN);
	cookie = trace_at(a, 2, GOT, PROTO_COOKIE, SIM_T0_MS + 600);
	trace_at(a, 3, SENT, PROTO_REGISTER, SIM_T0_MS + 600);
	ck_assert_mem_eq(a->trace[3].cookie, cookie->cookie, PROTO_COOKIE_LEN);
	trace_at(a, 4, GOT, PROTO_COOKIE, SIM_T0_MS + 1100);
	ck_assert_mem_eq(a->trace[4].cookie, cookie->cookie, PROTO_COOKIE_LEN);
	trace_at(a, 5, GOT, PROTO_REGISTERED, SIM_T0_MS + 1200);
	sim_run_for(5000);
	ck_assert_int_eq(a->ntrace, 6);
	ck_assert_uint_eq(a->sent[PROTO_REGISTER], 3);
	ck_assert_uint_eq(sim.srv.stats.registrations, 1);
	ck_assert_uint_eq(sim.srv.stats.cookies_sent, 2);

	/* Registered: a COOKIE with the cookie she holds leaves her next REFRESH where it was. */
	next_reg = a->c.srv[0].next_reg_ms;
	ck_assert_int_gt(next_reg, sim.now + 1000);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_COOKIE;
	memcpy(m.cookie, a->c.srv[0].cookie, PROTO_COOKIE_LEN);
	memcpy(m.key, sim.srv.pub, PROTO_KEY_LEN);
	inject(a, &m, &sim.srv_addr);
	ck_assert_int_eq(a->c.srv[0].next_reg_ms, next_reg);
	sim_run_for(1000);
	ck_assert_int_eq(a->ntrace, 6);
}
END_TEST

/* alice's LOOKUP for bob with counter, sealed as her client would, into buf. Returns its length. */
static size_t lookup_bob(struct sim_host *a, uint64_t counter, uint8_t *buf, size_t cap)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_LOOKUP;
	snprintf(m.name, sizeof(m.name), "alice");
	snprintf(m.target, sizeof(m.target), "bob");
	return host_seal(a, &m, counter, buf, cap);
}

/*
 * alice's NAT gives her a new mapping mid-chat. Her next REFRESH comes from
 * it with the old address's cookie: COOKIE, the REFRESH again at once, and
 * the server moves her name there. The old address can no longer speak
 * for her name; the new one can, and everyone finds her there.
 */
START_TEST(nat_rebinding_moves_the_name)
{
	struct proto_addr old_ep, new_ep = harness_addr4(10, 0, 0, 2, 6001);
	struct sim_host *a, *b, *c;
	const struct table_entry *e;
	uint8_t old_cookie[PROTO_COOKIE_LEN], buf[PROTO_MAX_DATAGRAM];
	struct server_tx tx[SERVER_MAX_TX];
	struct proto_msg m;
	uint64_t intro;
	int64_t t_ref;
	int i0, n;

	alice_and_bob(&a, &b);
	sim_run_for(CLIENT_PUNCH_MS + 1000); /* the punch is over and reported: quiet */
	old_ep = a->pub;
	a->pub = new_ep;
	i0 = a->ntrace;
	t_ref = a->c.srv[0].next_reg_ms;
	memcpy(old_cookie, a->c.srv[0].cookie, PROTO_COOKIE_LEN);
	ck_assert_int_eq(expect_line_within(a, "* registered as alice (public 10.0.0.2:6001)",
					    CLIENT_REFRESH_MS + 1000), t_ref + 4 * WAN_MS);
	refresh_needs_cookie(a, i0, t_ref, old_cookie);
	trace_at(a, i0 + 3, GOT, PROTO_REGISTERED, t_ref + 4 * WAN_MS);
	ck_assert(proto_addr_equal(&a->c.public_ep, &new_ep));
	e = table_get(&sim.srv.names, "alice", sim.now);
	ck_assert_ptr_nonnull(e);
	ck_assert(proto_addr_equal(&e->public_ep, &new_ep));

	/* A LOOKUP sealed with alice's key from her old address: refused, nobody introduced. */
	n = (int)lookup_bob(a, a->c.counter + 1000, buf, sizeof(buf));
	intro = sim.srv.stats.introductions;
	ck_assert_int_eq(server_handle(&sim.srv, buf, (size_t)n, &old_ep, sim.now, tx), 1);
	ck_assert(proto_addr_equal(&tx[0].to, &old_ep));
	ck_assert_int_eq(host_decode(a, 0, tx[0].buf, tx[0].len, &m), 0);
	ck_assert_uint_eq(m.type, PROTO_ERROR);
	ck_assert_uint_eq(m.code, PROTO_E_ADDRESS);
	ck_assert_uint_eq(m.request, PROTO_LOOKUP);
	ck_assert_uint_eq(sim.srv.stats.introductions, intro);
	/* From her new address (a new counter) it introduces her and bob (not sent: only counted). */
	n = (int)lookup_bob(a, a->c.counter + 1001, buf, sizeof(buf));
	ck_assert_int_eq(server_handle(&sim.srv, buf, (size_t)n, &new_ep, sim.now, tx), 2);
	ck_assert_uint_eq(sim.srv.stats.introductions, intro + 1);

	/* bob follows her there, and a newcomer finds her there through the server. */
	type(a, "moved");
	expect_line_within(b, "<alice> moved", 1000);
	c = host_up("carol", 5, "alice", 0xc0);
	type(c, "hi alice");
	expect_line_within(a, "<carol> hi alice", 3000);
	ck_assert_int_eq(count_exact(c, "* connected to alice via 10.0.0.2:6001 (public)"), 1);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
}
END_TEST

/*
 * alice's NAT gives her a new mapping and she asks for carol before her
 * next REFRESH: the server refuses the LOOKUP from an address that is not
 * her name's (PROTO_E_ADDRESS). She refreshes at once, proves the new
 * address with its cookie, and her next LOOKUP is answered.
 */
START_TEST(address_error_refreshes_at_once)
{
	struct sim_host *a = host_up("alice", 2, NULL, 0xa1);
	struct sim_host *c = host_up("carol", 5, NULL, 0xc0);
	const struct srv_msg *err;
	uint8_t old_cookie[PROTO_COOKIE_LEN];
	int64_t t;
	int i0;

	sim_run_for(1000);
	ck_assert_int_eq(a->c.registered + c->c.registered, 2);
	a->pub = harness_addr4(10, 0, 0, 2, 6001);
	i0 = a->ntrace;
	t = sim.now;
	memcpy(old_cookie, a->c.srv[0].cookie, PROTO_COOKIE_LEN);
	type(a, "/msg carol hi");
	expect_line_within(c, "<alice> hi", 3000);
	trace_at(a, i0, SENT, PROTO_LOOKUP, t);
	err = trace_at(a, i0 + 1, GOT, PROTO_ERROR, t + 2 * WAN_MS);
	ck_assert_uint_eq(err->code, PROTO_E_ADDRESS);
	/*
	 * No waiting for the refresh timer, 19 s away: the REFRESH goes in the
	 * same millisecond, with the old address's cookie, so a COOKIE comes first.
	 */
	refresh_needs_cookie(a, i0 + 2, t + 2 * WAN_MS, old_cookie);
	trace_at(a, i0 + 5, GOT, PROTO_REGISTERED, t + 6 * WAN_MS);
	/* The LOOKUP is asked again when its retry comes, and answered. */
	trace_at(a, i0 + 6, SENT, PROTO_LOOKUP, t + CLIENT_LOOKUP_RETRY_MS);
	trace_at(a, i0 + 7, GOT, PROTO_PEER, t + CLIENT_LOOKUP_RETRY_MS + 2 * WAN_MS);
	ck_assert_int_eq(count_exact(a, "* registered as alice (public 10.0.0.2:6001)"), 1);
	ck_assert_int_eq(count_exact(c, "* connected to alice via 10.0.0.2:6001 (public)"), 1);
	ck_assert_int_eq(a->c.fatal, 0);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
}
END_TEST

/*
 * The server restarts with a new key and an empty table. alice's REFRESH
 * carries a cookie of the old key: COOKIE; with the new cookie, the server
 * does not know her: UNKNOWN; she registers again at once, and that
 * cookie is still good, so REGISTERED follows. The chat never stops.
 */
START_TEST(server_new_key)
{
	struct sim_host *a, *b, *c;
	const struct srv_msg *cookie, *m;
	uint8_t old_cookie[PROTO_COOKIE_LEN];
	int64_t t_ref;
	int i0;

	alice_and_bob(&a, &b);
	sim_run_for(CLIENT_PUNCH_MS + 1000); /* the punch is over and reported: quiet */
	server_start(0x99);
	i0 = a->ntrace;
	t_ref = a->c.srv[0].next_reg_ms;
	memcpy(old_cookie, a->c.srv[0].cookie, PROTO_COOKIE_LEN);
	ck_assert_int_eq(expect_line_within(a, "* registered as alice (public 10.0.0.2:5000)",
					    CLIENT_REFRESH_MS + 1000), t_ref + 6 * WAN_MS);
	cookie = refresh_needs_cookie(a, i0, t_ref, old_cookie);
	m = trace_at(a, i0 + 3, GOT, PROTO_NOTICE, t_ref + 4 * WAN_MS);
	/* With the new cookie key's cookie, the server says what it could not before: it lost her. */
	ck_assert_uint_eq(m->code, PROTO_E_UNKNOWN);
	m = trace_at(a, i0 + 4, SENT, PROTO_REGISTER, t_ref + 4 * WAN_MS);
	ck_assert_mem_eq(m->cookie, cookie->cookie, PROTO_COOKIE_LEN);
	trace_at(a, i0 + 5, GOT, PROTO_REGISTERED, t_ref + 6 * WAN_MS);

	/* The chat went on all along, and a newcomer finds alice through the new server. */
	type(a, "after the restart");
	expect_line_within(b, "<alice> after the restart", 1000);
	c = host_up("carol", 5, "alice", 0xc0);
	type(c, "hi alice");
	expect_line_within(a, "<carol> hi alice", 3000);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
}
END_TEST

/* ---- connecting, and the choice of path ---- */

START_TEST(two_clients_chat)
{
	struct sim_host *a, *b;

	alice_and_bob(&a, &b);
	/* No NAT: each host reports its public address as private too, and that path is public. */
	ck_assert_int_eq(count_exact(a, "* connected to bob via 10.0.0.3:5000 (public)"), 1);
	ck_assert_int_eq(count_exact(b, "* connected to alice via 10.0.0.2:5000 (public)"), 1);
	ck_assert_int_eq(count_exact(b, "<alice> hello"), 1);

	/* And back. */
	type(b, "/msg alice hi there");
	expect_line_within(a, "<bob> hi there", 1000);
	sim_run_for(5000);
	ck_assert_int_eq(count_prefix(b, "<alice>"), 1);
	ck_assert_int_eq(count_prefix(a, "<bob>"), 1);
	ck_assert_uint_eq(a->c.stats.delivered_lines, 1);
	ck_assert_uint_eq(b->c.stats.delivered_lines, 1);
	ck_assert_uint_eq(client_pending(&a->c) + client_pending(&b->c), 0);
}
END_TEST

/* client_config.stream_buf: refused out of its range; in it, the peer's stream connection takes it. */
START_TEST(stream_buffer_size)
{
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1), *b;
	struct client_io io = { a, host_send, host_print, NULL, NULL, host_random, host_wall_ms, NULL, NULL, NULL };
	const struct stream_conn *conn;
	struct stream_config def;

	stream_config_default(&def);
	a->cfg.stream_buf = STREAM_INITIAL_WINDOW - 1;
	ck_assert_int_eq(client_init(&a->c, &a->cfg, &io, "bob", sim.now), -1);
	a->cfg.stream_buf = STREAM_INITIAL_WINDOW;
	host_start(a, "bob");
	b = host_up("bob", 3, NULL, 0xb0);
	type(a, "hello");
	expect_line_within(b, "<alice> hello", 3000);
	conn = peer_stream_conn(&a->c, "bob");
	ck_assert_ptr_nonnull(conn);
	ck_assert_uint_eq(conn->cfg.stream_buf, STREAM_INITIAL_WINDOW);
	conn = peer_stream_conn(&b->c, "alice");
	ck_assert_ptr_nonnull(conn);
	ck_assert_uint_eq(conn->cfg.stream_buf, def.stream_buf); /* 0: the default */
}
END_TEST

START_TEST(public_path_when_private_unreachable)
{
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1);
	struct sim_host *b = host_new("bob", 3, 5000, 0xb0);

	/* Each reports a LAN address nobody can reach (they are on different LANs). */
	a->cfg.private_ep[0] = harness_addr4(192, 168, 1, 2, 5000);
	b->cfg.private_ep[0] = harness_addr4(192, 168, 7, 3, 5000);
	host_start(a, "bob");
	host_start(b, NULL);
	type(a, "hello");
	expect_line_within(b, "<alice> hello", 3000);
	ck_assert_int_eq(count_exact(a, "* connected to bob via 10.0.0.3:5000 (public)"), 1);
	ck_assert_int_eq(count_exact(b, "* connected to alice via 10.0.0.2:5000 (public)"), 1);
	ck_assert_int_eq(a->c.peers[0]->path_kind, PATH_PUBLIC);
	ck_assert_uint_gt(sim.unroutable, 0); /* the probes to the private endpoints were lost */
}
END_TEST

START_TEST(private_path_preferred_over_faster_public)
{
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1);
	struct sim_host *b = host_new("bob", 3, 5000, 0xb0);
	int64_t t_conn, t_private;

	/* Both behind one NAT on the same LAN; the LAN is slower, so public answers come first. */
	sim.wan_ms = 5;
	sim.lan_ms = 30;
	a->lan = harness_addr4(192, 168, 1, 2, 5000);
	b->lan = harness_addr4(192, 168, 1, 3, 5000);
	a->cfg.private_ep[0] = a->lan;
	b->cfg.private_ep[0] = b->lan;
	host_start(a, "bob");
	host_start(b, NULL);
	type(a, "hello");
	/* The first answer, from bob's public address, connects at once: no wait for a private one. */
	t_conn = expect_line_within(a, "* connected to bob via 10.0.0.3:5000 (public)", 3000);
	ck_assert(proto_addr_equal(&a->first_ack_from, &b->pub));
	/* 9 legs: the side that answers the handshake hears its confirmation one leg after its RESP. */
	ck_assert_int_le(t_conn - SIM_T0_MS, 9 * sim.wan_ms);
	expect_line_within(b, "<alice> hello", 1000);
	/* Then the private path answers, and both move there. */
	t_private = expect_line_within(a, "* connected to bob via 192.168.1.3:5000 (private)",
				       CLIENT_PREFER_PRIVATE_MS);
	ck_assert_int_le(t_private - t_conn, 2 * sim.lan_ms + CLIENT_PROBE_INTERVAL_MS);
	sim_run_for(CLIENT_PREFER_PRIVATE_MS);
	ck_assert_int_eq(count_exact(b, "* connected to alice via 192.168.1.2:5000 (private)"), 1);
	ck_assert_int_eq(count_prefix(a, "* connected"), 2);
	ck_assert_int_eq(count_prefix(b, "* connected"), 2);
	ck_assert_int_eq(a->c.peers[0]->path_kind, PATH_PRIVATE);
	type(a, "on the LAN");
	expect_line_within(b, "<alice> on the LAN", 1000);
	/* One punch, reported once by each side. */
	ck_assert_uint_eq(sim.srv.stats.punches_direct, 2);
}
END_TEST

/* ---- a lossy network ---- */

START_TEST(many_lines_over_lossy_network)
{
	enum { LINES = 500 };
	struct sim_host *a, *b;
	char text[64];
	uint32_t dgrams;
	int fed = 0;

	/* Faults between the clients only (both_ways_over_lossy_network hits the server's too). */
	sim.loss_pct = 20;
	sim.dup_pct = 10;
	sim.jitter_ms = 30; /* with 20 ms latency: datagrams overtake each other */
	a = host_up("alice", 2, "bob", 0xa1);
	b = host_up("bob", 3, NULL, 0xb0);
	/* Lines go in as fast as the client takes them, as main() does with piped input. */
	while (fed < LINES || client_pending(&a->c) > 0) {
		while (fed < LINES && client_has_room(&a->c)) {
			snprintf(text, sizeof(text), "line %d", fed++);
			type(a, text);
		}
		sim_run_for(50);
		ck_assert_int_lt(sim.now, SIM_T0_MS + 300000);
	}
	sim_run_for(5000); /* late duplicates arrive and are dropped */

	/* Exactly once, in order, nothing else from alice. */
	assert_stream(b, "<alice> ", "line ", LINES);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	ck_assert_uint_eq(a->c.stats.sent_lines, LINES);
	ck_assert_uint_eq(a->c.stats.delivered_lines, LINES);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
	ck_assert_int_eq(count_prefix(a, "* not delivered to bob"), 0);
	/*
	 * The network really was that bad. The stream packs many lines in a
	 * datagram, so what counts is the datagrams the chat took: a tenth of
	 * them lost at least, and data sent again.
	 */
	dgrams = a->sent[PROTO_STREAM] + b->sent[PROTO_STREAM];
	ck_assert_uint_gt(sim.lost, dgrams / 10);
	ck_assert_uint_gt(sim.duplicated, dgrams / 20);
	ck_assert_uint_gt(sim.reordered, dgrams / 20);
	ck_assert_uint_gt(peer_stream_conn(&a->c, "bob")->stats.bytes_resent, 0);
}
END_TEST

START_TEST(both_ways_over_lossy_network)
{
	enum { LINES = 100 };
	struct sim_host *a, *b;
	char text[64];

	/* Faults on every datagram, the server's too: registration and introduction as well. */
	sim.loss_pct = 20;
	sim.dup_pct = 10;
	sim.jitter_ms = 30;
	sim.faulty_server = 1;
	/* Each wants the other: two lookups cross at the server. */
	a = host_up("alice", 2, "bob", 0xa1);
	b = host_up("bob", 3, "alice", 0xb0);
	/*
	 * A packet lost again and again backs its probe timeout off (cc.h): on a
	 * path this bad a line may wait more than WAIT_MS for its ACK, and -w
	 * would report it (peer.c, tick_line_deadline). A user there gives -w more.
	 */
	a->c.cfg.wait_ms = b->c.cfg.wait_ms = 6 * WAIT_MS;
	for (int i = 0; i < LINES; i++) {
		snprintf(text, sizeof(text), "a%d", i);
		type(a, text);
		snprintf(text, sizeof(text), "b%d", i);
		type(b, text);
	}
	while (client_pending(&a->c) + client_pending(&b->c) > 0) {
		sim_run_for(100);
		ck_assert_int_lt(sim.now, SIM_T0_MS + 120000);
	}
	sim_run_for(5000);
	assert_stream(b, "<alice> ", "a", LINES);
	assert_stream(a, "<bob> ", "b", LINES);
	ck_assert_uint_eq(a->c.stats.failed_lines + b->c.stats.failed_lines, 0);
}
END_TEST

/* ---- peers that are not there yet ---- */

START_TEST(peer_starts_later)
{
	struct sim_host *a = host_up("alice", 2, "bob", 0xa1), *b;

	type(a, "hello"); /* before alice is even registered */
	expect_line_within(a, "* waiting for bob to come online", 1000);
	sim_run_for(3000); /* the server keeps alice's LOOKUP: she need not ask again */
	ck_assert_uint_eq(a->sent[PROTO_LOOKUP], 1);
	b = host_up("bob", 3, NULL, 0xb0);
	expect_line_within(b, "<alice> hello", WAIT_MS - 4000);
	ck_assert_int_eq(count_exact(a, "* waiting for bob to come online"), 1);
	ck_assert_int_eq(count_exact(a, "* connected to bob via 10.0.0.3:5000 (public)"), 1);
	sim_run_for(WAIT_MS); /* past the wait: nothing is reported as failed */
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
	ck_assert_uint_eq(a->c.stats.delivered_lines, 1);
	ck_assert_int_eq(count_prefix(a, "* message to"), 0);
}
END_TEST

START_TEST(wait_expires)
{
	struct sim_host *a = host_up("alice", 2, "bob", 0xa1);
	uint32_t lookups;

	type(a, "hello");
	ck_assert_int_eq(expect_line_within(a, "* not delivered to bob:", 2 * WAIT_MS),
			 SIM_T0_MS + WAIT_MS);
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"hello\": bob is not online"), 1);
	ck_assert_int_eq(count_exact(a, "* waiting for bob to come online"), 1);
	ck_assert_uint_eq(a->c.stats.failed_lines, 1);
	ck_assert_uint_eq(a->c.stats.delivered_lines, 0);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	/* She still wants bob (her PEER): the server keeps her LOOKUP, renewed now and then. */
	lookups = a->sent[PROTO_LOOKUP];
	ck_assert_uint_le(lookups, 1 + WAIT_MS / CLIENT_WAIT_RENEW_MS);
	sim_run_for(CLIENT_WAIT_RENEW_MS);
	ck_assert_uint_eq(a->sent[PROTO_LOOKUP], lookups + 1);
}
END_TEST

START_TEST(full_queue_refuses_lines)
{
	struct sim_host *a = host_up("alice", 2, "bob", 0xa1);
	char text[32];
	int i;

	/* bob is not there: lines pile up until the queue (CLIENT_LINES_MAX lines) is full. */
	for (i = 0; i < CLIENT_LINES_MAX; i++) {
		snprintf(text, sizeof(text), "line %d", i);
		type(a, text);
	}
	ck_assert_uint_eq(client_pending(&a->c), CLIENT_LINES_MAX);
	ck_assert_int_eq(client_has_room(&a->c), 0);
	ck_assert_int_eq(a->nlines, 0);
	type(a, "one too many");
	ck_assert_str_eq(a->lines[0], "* not delivered to bob: \"one too many\": too many messages waiting");
	ck_assert_uint_eq(a->c.stats.sent_lines, CLIENT_LINES_MAX);
	ck_assert_uint_eq(a->c.stats.failed_lines, 1);
	/* The wait runs out: every queued line is reported, once, and the queue has room again. */
	sim_run_for(WAIT_MS);
	ck_assert_int_eq(count_prefix(a, "* not delivered to bob: \"line "), CLIENT_LINES_MAX);
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"line 0\": bob is not online"), 1);
	ck_assert_uint_eq(a->c.stats.failed_lines, CLIENT_LINES_MAX + 1);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	ck_assert_int_eq(client_has_room(&a->c), 1);
}
END_TEST

/* ---- the server restarts ---- */

START_TEST(server_restart_mid_chat)
{
	struct sim_host *a, *b, *c;
	int64_t t_restart, deadline;

	alice_and_bob(&a, &b);
	sim_run_for(7000);
	t_restart = sim.now;
	server_start(0x99); /* a new seed, an empty table */

	/* The chat does not need the server. */
	type(a, "after the restart");
	expect_line_within(b, "<alice> after the restart", 1000);

	/*
	 * The next REFRESH is refused as unknown; each registers again and says
	 * so. Three round trips: the old key's cookie gets COOKIE first, then
	 * UNKNOWN, then REGISTERED (server_new_key follows them one by one).
	 */
	deadline = t_restart + CLIENT_REFRESH_MS + CLIENT_RETRY_MS + 6 * WAN_MS;
	while ((count_prefix(a, "* registered as") < 2 || count_prefix(b, "* registered as") < 2) &&
	       sim.now < deadline)
		sim_run_for(100);
	ck_assert_int_eq(count_exact(a, "* registered as alice (public 10.0.0.2:5000)"), 2);
	ck_assert_int_eq(count_exact(b, "* registered as bob (public 10.0.0.3:5000)"), 2);

	/* The chat went on all along, and still does. */
	type(a, "still here");
	expect_line_within(b, "<alice> still here", 1000);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
	/* The new server knows alice: a newcomer finds her through it. */
	c = host_up("carol", 5, "alice", 0xc0);
	type(c, "hi alice");
	expect_line_within(a, "<carol> hi alice", 3000);
}
END_TEST

START_TEST(lookup_after_server_restart)
{
	struct sim_host *a, *b, *c;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	server_start(0x99);
	c = host_up("carol", 5, NULL, 0xc0);
	expect_line_within(c, "* registered as carol", 1000);
	/* The new server does not know alice: her LOOKUP is refused, she registers at once. */
	type(a, "/msg carol hi");
	expect_line_within(c, "<alice> hi", 2000);
	ck_assert_int_eq(count_exact(a, "* registered as alice (public 10.0.0.2:5000)"), 2);
	ck_assert_int_eq(count_prefix(a, "* waiting for carol"), 0);
}
END_TEST

/* ---- peers that go away, come back, or move ---- */

START_TEST(peer_vanishes)
{
	struct sim_host *a, *b;
	int64_t t_gone, t_off, t_queued;

	alice_and_bob(&a, &b);
	sim_run_for(2000);
	t_gone = sim.now;
	b->live = 0; /* gone without a word (killed, or unplugged): nothing reaches or leaves it */
	t_off = expect_line_within(a, "* bob is offline",
				   KEEPALIVE_MS + CLIENT_ANSWER_TIMEOUT_MS + 1000);
	ck_assert_int_ge(t_off - t_gone, CLIENT_ANSWER_TIMEOUT_MS);
	ck_assert_uint_gt(a->sent[PROTO_PING], 1); /* it asked before it gave up */
	ck_assert_int_eq(count_exact(a, "* bob is offline"), 1);

	/* A line for bob now waits WAIT_MS for him, then is reported. */
	sim_run_for(100);
	t_queued = sim.now;
	type(a, "are you there?");
	ck_assert_int_eq(expect_line_within(a, "* not delivered to bob:", 2 * WAIT_MS),
			 t_queued + WAIT_MS);
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"are you there?\": no answer from bob"), 1);
	ck_assert_uint_eq(a->c.stats.failed_lines, 1);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	ck_assert_int_eq(count_prefix(b, "<alice> are you there?"), 0);
}
END_TEST

START_TEST(peer_says_bye)
{
	struct sim_host *a, *b;
	int64_t t_bye;

	alice_and_bob(&a, &b);
	/* bob quits with a line for alice still queued (not even sent: no tick came) */
	type(b, "/msg alice unsent");
	t_bye = sim.now;
	type(b, "/quit"); /* main() stops ticking it; what it sent on the way out still travels */
	client_shutdown(&b->c, t_bye);
	ck_assert_str_eq(b->lines[b->nlines - 1],
			 "* not delivered to alice: \"unsent\": quit before it was delivered");
	ck_assert_uint_eq(b->c.stats.failed_lines, 1);
	ck_assert_uint_eq(b->sent[PROTO_BYE], 1);
	/* alice hears the BYE one latency later, not after a timeout. */
	ck_assert_int_eq(expect_line_within(a, "* bob is offline", 1000), t_bye + WAN_MS);
	ck_assert_int_eq(a->c.peers[0]->state, PEER_OFFLINE);
	ck_assert_int_eq(count_prefix(a, "<bob>"), 0);
}
END_TEST

START_TEST(outage_then_recovery)
{
	struct sim_host *a, *b;
	int64_t t_cut, t_got;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	t_cut = sim.now;
	b->cut = 1; /* bob's network goes down for 15 s; his program keeps running */
	sim_run_for(1000);
	type(a, "during the outage");
	/* Unacknowledged for CLIENT_ANSWER_TIMEOUT_MS: offline; then the line waits WAIT_MS. */
	ck_assert_int_eq(expect_line_within(a, "* bob is offline", CLIENT_ANSWER_TIMEOUT_MS + 1000),
			 t_cut + 1000 + CLIENT_ANSWER_TIMEOUT_MS);
	sim_run_until(NULL, NULL, t_cut + 15000);
	b->cut = 0; /* the network is back */
	/* alice asks the server again and punches anew: the line arrives within its wait. */
	t_got = expect_line_within(b, "<alice> during the outage", WAIT_MS);
	ck_assert_int_lt(t_got, t_cut + 1000 + CLIENT_ANSWER_TIMEOUT_MS + WAIT_MS);
	ck_assert_int_eq(count_exact(b, "<alice> during the outage"), 1);
	ck_assert_int_eq(count_prefix(a, "* not delivered to bob"), 0);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
	/* Both ways again. */
	type(b, "/msg alice back");
	expect_line_within(a, "<bob> back", 1000);
}
END_TEST

/*
 * Recovery (issue 15): alice's NAT gives her a new mapping mid-chat, and
 * bob's NAT (port-restricted) lets in nothing from it, nor hers anything
 * from bob to the new one: neither side's datagrams get through. A line
 * waits; CLIENT_SUSPECT_MS later alice refreshes at once, learns her new
 * endpoint, and looks bob up: the server introduces her anew to bob, who
 * punches to her there. The line arrives long before the answer timeout
 * would have called bob offline, and nobody is said to be offline.
 */
START_TEST(nat_remap_noticed_quickly)
{
	struct sim_host *a, *b;
	int64_t t;

	alice_and_bob(&a, &b);
	sim.restricted = 1;
	sim_run_for(1000);
	a->pub = harness_addr4(10, 0, 0, 2, 6001);
	a->nopened = 0; /* a new mapping: nothing was sent from it yet */
	t = sim.now;
	type(a, "after the remap");
	/* bob's line, later: alice's LOOKUP reaches him before his own suspicion would. */
	sim_run_for(500);
	type(b, "/msg alice mine too");
	ck_assert_int_le(expect_line_within(a, "* registered as alice (public 10.0.0.2:6001)",
					    CLIENT_ANSWER_TIMEOUT_MS), t + CLIENT_SUSPECT_MS + 10 * WAN_MS);
	ck_assert_int_le(expect_line_within(b, "<alice> after the remap", CLIENT_ANSWER_TIMEOUT_MS),
			 t + CLIENT_SUSPECT_MS + 1000);
	ck_assert_int_eq(count_exact(b, "* connected to alice via 10.0.0.2:6001 (public)"), 1);
	/* The new path takes his waiting line at once, not at its backed-off retransmission. */
	ck_assert_int_le(expect_line_within(a, "<bob> mine too", CLIENT_ANSWER_TIMEOUT_MS),
			 t + CLIENT_SUSPECT_MS + 500);
	type(b, "/msg alice seen");
	expect_line_within(a, "<bob> seen", 1000);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
	ck_assert_int_eq(count_prefix(b, "* alice is offline"), 0);
	ck_assert_uint_gt(sim.blocked, 0);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
}
END_TEST

START_TEST(peer_restarts)
{
	struct sim_host *a, *b, *b2;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	b2 = host_restart(b);
	expect_line_within(b2, "* registered as bob (public 10.0.0.3:5000)", 1000);
	/* The new bob speaks first: alice takes his new epoch. */
	type(b2, "/msg alice I am back");
	expect_line_within(a, "<bob> I am back", 3000);
	type(a, "welcome back");
	expect_line_within(b2, "<alice> welcome back", 3000);
	ck_assert_int_eq(count_prefix(a, "* not delivered to bob"), 0);
	ck_assert_int_eq(count_prefix(b, "<alice> welcome back"), 0);
}
END_TEST

START_TEST(peer_restarts_silently)
{
	struct sim_host *a, *b, *b2;
	int64_t t_typed;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	b2 = host_restart(b);
	sim_run_for(1000);
	/* alice thinks she is connected; her line reaches a bob who has never heard of her. */
	type(a, "anyone?");
	t_typed = sim.now;
	sim_run_for(1000);
	ck_assert_uint_gt(b2->c.stats.unopened, 0); /* sealed under a session b2 never had */
	/*
	 * No ACK for CLIENT_SUSPECT_MS: she asks the server (tick_suspect),
	 * which introduces her to the new bob; he punches to her, and the line
	 * arrives long before the answer timeout would call bob offline.
	 */
	expect_line_within(b2, "<alice> anyone?", CLIENT_ANSWER_TIMEOUT_MS + WAIT_MS);
	ck_assert_int_le(b2->line_ms[b2->nlines - 1] - t_typed, CLIENT_SUSPECT_MS + 1000);
	ck_assert_int_eq(count_exact(a, "* bob is offline"), 0);
	ck_assert_int_eq(count_prefix(a, "* not delivered to bob"), 0);
}
END_TEST

START_TEST(peer_moves_behind_its_nat)
{
	struct sim_host *a, *b;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	/* bob's NAT gives him a new public port: what alice sends to the old one is lost. */
	b->pub = harness_addr4(10, 0, 0, 3, 6001);
	type(b, "/msg alice new port");
	expect_line_within(a, "<bob> new port", 3000);
	/*
	 * The line opened under the session, but that proves no path: alice
	 * challenges the new address, and moves when bob answers from there.
	 */
	ck_assert_uint_eq(a->c.stats.path_moves, 0);
	sim_run_for(2 * WAN_MS + 10);
	ck_assert_uint_eq(a->c.stats.path_moves, 1);
	type(a, "/peers");
	ck_assert_int_eq(find_line(a, "* peer bob connected public 10.0.0.3:6001 rtt ", 0),
			 a->nlines - 1);
	type(a, "seen");
	expect_line_within(b, "<alice> seen", 1000);
	ck_assert_int_eq(count_exact(a, "* bob is offline"), 0);
}
END_TEST

START_TEST(idle_connection_kept_alive)
{
	enum { PERIODS = 10 };
	struct sim_host *a, *b;
	uint32_t pings;

	alice_and_bob(&a, &b);
	pings = a->sent[PROTO_PING] + b->sent[PROTO_PING];
	sim_run_for(PERIODS * KEEPALIVE_MS);
	/*
	 * A side pings after KEEPALIVE_MS of silence and the PONG keeps the
	 * other content: one or two pings a period, and nobody is lost.
	 */
	pings = a->sent[PROTO_PING] + b->sent[PROTO_PING] - pings;
	/* The rekey at 2 minutes (a handshake, its CONFIRM) is traffic too: one ping less. */
	ck_assert_uint_ge(pings, PERIODS - 2);
	ck_assert_uint_eq(a->c.stats.handshakes, 2);
	ck_assert_uint_eq(b->c.stats.handshakes, 2);
	ck_assert_uint_le(pings, 2 * PERIODS + 2);
	ck_assert_int_eq(a->c.peers[0]->state, PEER_CONNECTED);
	ck_assert_int_eq(b->c.peers[0]->state, PEER_CONNECTED);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
	ck_assert_int_eq(count_prefix(b, "* alice is offline"), 0);
	/* And the registrations were refreshed meanwhile. */
	ck_assert_uint_ge(a->sent[PROTO_REFRESH], PERIODS * KEEPALIVE_MS / CLIENT_REFRESH_MS - 1);
	type(a, "still there?");
	expect_line_within(b, "<alice> still there?", 1000);
}
END_TEST

/* ---- what the user types ---- */

START_TEST(commands)
{
	static const char no_peer[] =
		"* message not sent: no current peer (use /chat NAME or /msg NAME TEXT)";
	static const char peers_bob[] = "* peer bob connected public 10.0.0.3:5000 rtt ";
	struct sim_host *a = host_up("alice", 2, NULL, 0xa1);
	struct sim_host *b = host_up("bob", 3, NULL, 0xb0), *c;
	uint32_t data;
	int i, blines;

	sim_run_for(1000);
	/* No current peer: a plain line and /me are reported, not sent. */
	type(a, "hello");
	ck_assert_str_eq(a->lines[a->nlines - 1], no_peer);
	type(a, "/me waves");
	ck_assert_str_eq(a->lines[a->nlines - 1], no_peer);
	ck_assert_uint_eq(a->c.stats.failed_lines, 2);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	ck_assert_int_eq(a->c.npeers, 0);

	/* /msg needs no current peer; a client with none answers whoever connects. */
	type(a, "/msg bob hi");
	expect_line_within(b, "<alice> hi", 3000);
	ck_assert_str_eq(a->c.current, "bob");
	ck_assert_str_eq(b->c.current, "alice");
	type(a, "/msg bob");
	ck_assert_str_eq(a->lines[a->nlines - 1], "* usage: /msg NAME TEXT");
	type(a, "/msg alice hi");
	ck_assert_str_eq(a->lines[a->nlines - 1], "* not delivered to alice: \"hi\": that is you");
	type(a, "/msg b@d hi");
	ck_assert_str_eq(a->lines[a->nlines - 1],
			 "* not delivered to b@d: \"hi\": not a valid name");
	ck_assert_uint_eq(a->c.stats.failed_lines, 4);

	/* An unknown command is reported and goes nowhere. */
	sim_run_for(1000);
	data = a->sent[PROTO_STREAM];
	blines = b->nlines;
	ck_assert_uint_gt(data, 0);
	type(a, "/frobnicate");
	ck_assert_str_eq(a->lines[a->nlines - 1], "* unknown command /frobnicate (try /help)");
	sim_run_for(2000);
	ck_assert_uint_eq(a->sent[PROTO_STREAM], data);
	ck_assert_int_eq(b->nlines, blines);

	/* /peers: state, path, address, round-trip time (one WAN round trip here). */
	type(a, "/peers");
	i = find_line(a, peers_bob, 0);
	ck_assert_int_ge(i, 0);
	ck_assert_int_eq(i, a->nlines - 1);
	ck_assert_int_eq(atoi(a->lines[i] + strlen(peers_bob)), 2 * WAN_MS);
	ck_assert_ptr_nonnull(strstr(a->lines[i], " ms nat unknown/unknown key pinned")); /* no known_peers: taken */
	i = a->nlines;
	type(a, "/help");
	ck_assert_int_eq(a->nlines - i, 13);
	ck_assert_str_eq(a->lines[i], "* TEXT            send TEXT to the current peer");

	/* Plain lines, /me and //TEXT go to the current peer. */
	type(a, "plain");
	type(a, "/me waves");
	type(a, "//slash");
	expect_line_within(b, "<alice> /slash", 1000);
	ck_assert_str_eq(b->lines[b->nlines - 3], "<alice> plain");
	ck_assert_str_eq(b->lines[b->nlines - 2], "* alice waves");
	/* /chat switches: plain lines go to carol now. */
	c = host_up("carol", 5, NULL, 0xc0);
	type(a, "/chat carol");
	ck_assert_str_eq(a->c.current, "carol");
	type(a, "for carol");
	expect_line_within(c, "<alice> for carol", 3000);
	ck_assert_int_eq(count_prefix(b, "<alice> for carol"), 0);
	type(a, "/chat alice");
	ck_assert_str_eq(a->lines[a->nlines - 1],
			 "* cannot chat with 'alice': not a valid peer name");
	ck_assert_str_eq(a->c.current, "carol");
	type(a, "/quit");
	ck_assert_int_eq(a->c.quit, 1);
	ck_assert_uint_eq(a->c.stats.failed_lines, 4);
}
END_TEST

START_TEST(long_lines)
{
	static char text[PROTO_LINE_MAX + 2];
	static char want[PROTO_LINE_MAX + 16];
	struct sim_host *a, *b;

	alice_and_bob(&a, &b);
	/* The longest line travels as four fragments and arrives whole. */
	for (int i = 0; i < PROTO_LINE_MAX; i++)
		text[i] = (char)('a' + i % 26);
	text[PROTO_LINE_MAX] = '\0';
	snprintf(want, sizeof(want), "<alice> %s", text);
	type(a, text);
	expect_line_within(b, "<alice> abc", 1000);
	ck_assert_str_eq(b->lines[b->nlines - 1], want);
	/* One byte more is refused at once. */
	text[PROTO_LINE_MAX] = 'x';
	text[PROTO_LINE_MAX + 1] = '\0';
	type(a, text);
	ck_assert_str_eq(a->lines[a->nlines - 1],
			 "* not delivered to bob: \"abcdefghijklmnopqrstuvwx...\": longer than 4096 bytes");
	ck_assert_uint_eq(a->c.stats.failed_lines, 1);
	sim_run_for(2000);
	ck_assert_int_eq(count_prefix(b, "<alice> "), 2);
}
END_TEST

START_TEST(control_bytes_defused)
{
	struct sim_host *a, *b;

	alice_and_bob(&a, &b);
	/* ESC [2J would clear the screen; BEL, DEL, TAB, C1 CSI (U+009B): shown, not obeyed. */
	type(a, "x\x1b[2Jy\a\x7f\tz\xc2\x9b" "31m!");
	expect_line_within(b, "<alice> x", 1000);
	ck_assert_str_eq(b->lines[b->nlines - 1], "<alice> x^[[2Jy^G^?^Iz\\u009B31m!");
	type(a, "/me \x1b]0;owned\a");
	expect_line_within(b, "* alice ", 1000);
	ck_assert_str_eq(b->lines[b->nlines - 1], "* alice ^[]0;owned^G");
}
END_TEST

/* ---- what the network may throw at a client ---- */

/*
 * Chat record bytes rec[0..len) from host `from` to its peer called `to`,
 * right in every way but for epoch_xor (0: none) on from's epoch: sealed
 * under its session, a STREAM of its current pair of epochs, the packet
 * number its stream connection would send next, opening the chat stream
 * it would open next (the kind byte, then rec). Both are then taken from
 * from's connection, as if it had sent this and lost it, so that its own
 * packets and streams never reuse them. Writes the whole SEALED datagram
 * into buf; returns its length.
 */
static size_t record_from(struct sim_host *from, const char *to, const uint8_t *rec, size_t len,
			  uint32_t epoch_xor, uint8_t buf[PROTO_PAYLOAD_MAX])
{
	static const uint8_t header[PROTO_HEADER_LEN] = { PROTO_MAGIC, PROTO_VERSION, PROTO_SEALED, 0 };
	struct peer *p = client_peer_find(&from->c, to);
	const struct stream_conn *sc = peer_stream_conn(&from->c, to);
	uint8_t pt[PROTO_MAX_DATAGRAM], data[1 + 64];
	struct stream_frame f;
	size_t off;
	uint64_t pn = sc != NULL ? sc->next_pn : 0;
	int n;
	long sealed;

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_le(len, sizeof(data) - 1);
	ck_assert_uint_lt(pn, 1u << 30);
	pt[0] = PROTO_STREAM;
	bytes_put32(pt + 1, p->my_epoch ^ epoch_xor);
	bytes_put32(pt + 5, p->peer_epoch);
	off = PROTO_STREAM_HEADER_LEN;
	bytes_put32(pt + off, 0x80000000u | (uint32_t)pn); /* a 4-byte varint (RFC 9000 16) */
	off += 4;
	data[0] = PEER_STREAM_KIND_CHAT;
	memcpy(data + 1, rec, len);
	memset(&f, 0, sizeof(f));
	f.type = STREAM_F_STREAM;
	/* The next stream from opens: bit 0 its role, the name that sorts first takes 0. */
	f.id = 2 * (sc != NULL ? sc->next_local : 0) + (strcmp(from->c.cfg.name, to) < 0 ? 0 : 1);
	f.data = data;
	f.len = 1 + len;
	n = stream_frame_encode(pt + off, sizeof(pt) - off, &f);
	ck_assert_int_gt(n, 0);
	off += (size_t)n;
	sealed = session_peer_seal(&p->sess, header, sizeof(header), pt, off, sim.now,
				   buf + PROTO_HEADER_LEN, PROTO_PAYLOAD_MAX - PROTO_HEADER_LEN);
	ck_assert_int_gt(sealed, 0);
	memcpy(buf, header, sizeof(header));
	if (sc != NULL) {
		((struct stream_conn *)sc)->next_pn++;
		((struct stream_conn *)sc)->next_local++;
	}
	return (size_t)sealed + PROTO_HEADER_LEN;
}

/* A chat line `text` (one record: flags 0, 16-bit length, text) as record_from sends it. */
static size_t chat_from(struct sim_host *from, const char *to, const char *text,
			uint32_t epoch_xor, uint8_t buf[PROTO_PAYLOAD_MAX])
{
	uint8_t rec[3 + 60];
	size_t len = strlen(text);

	ck_assert_uint_le(len, sizeof(rec) - 3);
	rec[0] = 0;
	bytes_put16(rec + 1, (uint16_t)len);
	memcpy(rec + 3, text, len);
	return record_from(from, to, rec, 3 + len, epoch_xor, buf);
}

/*
 * Chat records out of bounds, authentic all the same (bob's session):
 * a length of 0, one past 4096, an unknown flag. Each is counted as
 * malformed, nothing is shown, and its stream ends (STOP_SENDING); the
 * chat goes on both ways.
 */
START_TEST(malformed_chat_records)
{
	static const uint8_t bad[][3] = {
		{ 0, 0x00, 0x00 },              /* length 0 */
		{ 0, 0x10, 0x01 },              /* 4097 bytes */
		{ 0x80, 0x00, 0x02 },           /* a flag nobody defined */
	};
	struct sim_host *a, *b;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	uint64_t malformed;
	int lines;
	size_t n;

	alice_and_bob(&a, &b);
	ck_assert_ptr_nonnull(peer_stream_conn(&b->c, "alice")); /* record_from takes its numbers */
	lines = a->nlines;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		malformed = a->c.stats.malformed;
		n = record_from(b, "alice", bad[i], sizeof(bad[i]), 0, buf);
		client_handle(&a->c, buf, n, &b->pub, sim.now);
		ck_assert_uint_eq(a->c.stats.malformed, malformed + 1);
		ck_assert_int_eq(a->nlines, lines);
		sim_run_for(500);
	}
	type(a, "still here");
	expect_line_within(b, "<alice> still here", 1000);
	type(b, "/msg alice me too");
	expect_line_within(a, "<bob> me too", 1000);
	ck_assert_uint_eq(a->c.stats.failed_lines + b->c.stats.failed_lines, 0);
}
END_TEST

/* stray_and_malformed: 200 datagrams of random bytes (never starting with the magic byte) to a, from `from`. */
static void random_datagrams(struct sim_host *a, const struct proto_addr *from)
{
	uint8_t buf[PROTO_MAX_DATAGRAM];

	for (int i = 0; i < 200; i++) {
		size_t len = rng32_next(&sim.rng) % sizeof(buf);

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rng32_next(&sim.rng);
		if (len > 0 && buf[0] == PROTO_MAGIC)
			buf[0] = 0;
		client_handle(&a->c, buf, len, from, sim.now);
	}
}

/* stray_and_malformed: a PROBE from `from` whose INIT comes from a key nobody introduced (mallory's). */
static void probe_from_unknown_key(struct sim_host *a, const struct proto_addr *from)
{
	struct session_identity mallory;
	struct session_peer to_alice;
	uint8_t secret[SESSION_KEY_LEN], e[SESSION_KEY_LEN], stamp[SESSION_TIMESTAMP_LEN];
	struct proto_msg probe;

	memset(secret, 0x4d, sizeof(secret));
	memset(e, 0x45, sizeof(e));
	session_identity_init(&mallory, secret);
	session_peer_init(&to_alice, a->cfg.id.pub);
	session_tai64n(stamp, 1800000000000);
	memset(&probe, 0, sizeof(probe));
	probe.type = PROTO_PROBE;
	probe.payload_len = SESSION_INIT_LEN;
	ck_assert_int_eq(session_initiate(&to_alice, &mallory, e, stamp, 77, sim.now,
					  probe.payload, sizeof(probe.payload)),
			 SESSION_INIT_LEN);
	inject(a, &probe, from);
}

/*
 * stray_and_malformed: the server's messages to a from `from`, which is
 * not the server: REGISTERED (another public address), ERROR (name
 * taken), PEER (mallory), COOKIE: four datagrams.
 */
static void server_messages_from(struct sim_host *a, const struct proto_addr *from)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTERED;
	m.ttl_s = 60;
	snprintf(m.name, sizeof(m.name), "alice");
	m.public_ep = harness_addr4(6, 6, 6, 6, 666);
	inject(a, &m, from);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_ERROR;
	m.code = PROTO_E_NAME_TAKEN;
	m.request = PROTO_REGISTER;
	snprintf(m.name, sizeof(m.name), "alice");
	inject(a, &m, from);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	memset(m.peer_key, 0x77, PROTO_KEY_LEN);
	snprintf(m.name, sizeof(m.name), "mallory");
	m.public_ep = *from;
	inject(a, &m, from);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_COOKIE;
	memset(m.cookie, 0x66, PROTO_COOKIE_LEN);
	inject(a, &m, from);
}

START_TEST(stray_and_malformed)
{
	struct sim_host *a, *b;
	struct proto_addr stranger = harness_addr4(10, 0, 0, 66, 7777), pub_before;
	struct client_stats st;
	uint8_t buf[PROTO_MAX_DATAGRAM], cookie_before[PROTO_COOKIE_LEN];
	const struct peer *p;
	int64_t next_reg;
	uint32_t acks;
	int n, lines;

	alice_and_bob(&a, &b);
	p = a->c.peers[0];
	pub_before = a->c.public_ep;
	lines = a->nlines;

	/* Random bytes: malformed. */
	st = a->c.stats;
	random_datagrams(a, &b->pub);
	ck_assert_uint_eq(a->c.stats.malformed, st.malformed + 200);

	/*
	 * A DATA from bob, right in every way, cut short at every length:
	 * malformed while too short to be a SEALED datagram, then it does
	 * not open (the tag is over all of it). Nothing shown either way.
	 */
	n = (int)chat_from(b, "alice", "whole", 0, buf);
	st = a->c.stats;
	for (int len = 0; len < n; len++)
		client_handle(&a->c, buf, (size_t)len, &b->pub, sim.now);
	ck_assert_uint_eq(a->c.stats.malformed, st.malformed + PROTO_HEADER_LEN + PROTO_SEALED_MIN);
	ck_assert_uint_eq(a->c.stats.unopened,
			  st.unopened + (uint64_t)n - PROTO_HEADER_LEN - PROTO_SEALED_MIN);
	ck_assert_int_eq(a->nlines, lines);

	/* A PROBE whose INIT comes from a key nobody introduced: refused, and not answered. */
	st = a->c.stats;
	acks = a->sent[PROTO_PROBE_ACK];
	probe_from_unknown_key(a, &stranger);
	ck_assert_uint_eq(a->c.stats.refused_inits, st.refused_inits + 1);
	ck_assert_uint_eq(a->sent[PROTO_PROBE_ACK], acks);

	/* Server messages from anyone but the server: stray, no effect. */
	memcpy(cookie_before, a->c.srv[0].cookie, PROTO_COOKIE_LEN);
	next_reg = a->c.srv[0].next_reg_ms;
	server_messages_from(a, &stranger);
	ck_assert_uint_eq(a->c.stats.stray, st.stray + 4);
	ck_assert(proto_addr_equal(&a->c.public_ep, &pub_before));
	ck_assert_mem_eq(a->c.srv[0].cookie, cookie_before, PROTO_COOKIE_LEN);
	ck_assert_int_eq(a->c.srv[0].next_reg_ms, next_reg);
	ck_assert_int_eq(a->c.fatal, 0);
	ck_assert_int_eq(a->c.npeers, 1);

	/* Nothing changed: alice said nothing, and the chat goes on. */
	ck_assert_int_eq(a->nlines, lines);
	ck_assert_int_eq(p->state, PEER_CONNECTED);
	type(a, "still fine");
	expect_line_within(b, "<alice> still fine", 1000);
	/* The uncut DATA was good all along: only the cuts made it malformed. */
	ck_assert_int_eq(count_prefix(a, "<bob>"), 0);
	client_handle(&a->c, buf, (size_t)n, &b->pub, sim.now);
	ck_assert_int_eq(count_exact(a, "<bob> whole"), 1);
}
END_TEST

START_TEST(stale_epoch_dropped)
{
	struct sim_host *a, *b;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	uint64_t stale;
	size_t n;

	alice_and_bob(&a, &b);
	/* A line from an earlier connection: the right nonce, an old epoch of bob's. */
	stale = a->c.stats.stale;
	n = chat_from(b, "alice", "old", 0x5a5a5a5au, buf);
	client_handle(&a->c, buf, n, &b->pub, sim.now);
	ck_assert_uint_eq(a->c.stats.stale, stale + 1);
	ck_assert_int_eq(count_prefix(a, "<bob>"), 0);
	/* The same with the current epochs is shown: only the epoch made the difference. */
	n = chat_from(b, "alice", "old", 0, buf);
	client_handle(&a->c, buf, n, &b->pub, sim.now);
	ck_assert_int_eq(count_exact(a, "<bob> old"), 1);
}
END_TEST

/* ---- the relay: where no direct path works ---- */

static const char relay_a[] = "* connected to bob via 10.0.0.1:7777 (relay)";
static const char relay_b[] = "* connected to alice via 10.0.0.1:7777 (relay)";
static const char direct_a[] = "* connected to bob via 10.0.0.3:5000 (public)";
static const char direct_b[] = "* connected to alice via 10.0.0.2:5000 (public)";

/* A direct path and the relay both work: the chat goes direct, and nothing says otherwise. */
START_TEST(direct_path_preferred_to_relay)
{
	struct sim_host *a, *b;

	alice_and_bob(&a, &b);
	sim_run_for(CLIENT_PUNCH_MS + 1000);
	ck_assert_int_eq(count_prefix(a, "* connected"), 1);
	ck_assert_int_eq(count_exact(a, direct_a), 1);
	ck_assert_int_eq(count_prefix(b, "* connected"), 1);
	/* Each side sent its first probe through the relay too, answered but not used. */
	ck_assert_uint_ge(a->sent[PROTO_RELAY], 1);
	ck_assert_uint_ge(sim.srv.stats.relayed, 2);
	ck_assert_uint_le(a->sent[PROTO_RELAY] + b->sent[PROTO_RELAY], 6);
	ck_assert_uint_eq(sim.srv.stats.punches_direct, 2);
	ck_assert_uint_eq(sim.srv.stats.punches_relayed, 0);
	type(a, "/peers");
	ck_assert_int_eq(find_line(a, "* peer bob connected public 10.0.0.3:5000 rtt ", 0),
			 a->nlines - 1);
}
END_TEST

/*
 * Hosts that cannot reach each other connect through the relay at once,
 * without waiting for the punch to fail, and chat as reliably as directly:
 * every line once, in order, over a lossy network.
 */
/* The birthday tests' start: no direct path, a server with an alternate port, alice asking for bob. */
static struct sim_host *birthday_alice(int symmetric)
{
	struct sim_host *a;

	sim.no_direct = 1;
	sim.alt_port = 7778;
	server_start(0x40);
	a = host_new("alice", 2, 5000, 0xa1);
	a->symmetric = symmetric;
	host_start(a, "bob");
	return a;
}

/*
 * Know your NAT, and the birthday method's easy side (birthday.h). The
 * server answers MAPPING at its alternate port; bob's NAT shows that port
 * another source (symmetric), alice's the same: each is told its kind once,
 * and /peers shows both. On the relay, alice (easy) probes bob's address at
 * BDAY_RATE_PER_S, at most BDAY_PROBES a try, then waits BDAY_BACKOFF_MS;
 * bob has no spare sockets here (client_io.spares NULL), so no probe lands
 * and he plays no part. No probe goes to an address other than bob's.
 */
START_TEST(birthday_easy_side)
{
	struct sim_host *a, *b;
	uint32_t at_start, in_try;

	a = birthday_alice(0);
	b = host_new("bob", 3, 5000, 0xb0);
	b->symmetric = 1;
	host_start(b, "alice");
	expect_line_within(a, "* your NAT keeps your port for every destination: direct paths likely",
			   2000);
	expect_line_within(b, "* your NAT is symmetric", 2000);
	ck_assert_uint_eq(sim.srv.stats.mappings, 2);
	/* The try starts as the relay takes the chat: both kinds are known by then. */
	expect_line_within(a, "* connected to bob via 10.0.0.1:7777 (relay)", 5000);
	ck_assert_int_eq(find_line(a, "* bob: one NAT is symmetric: trying many ports at once", 0),
			 a->nlines - 1);
	at_start = a->sent[PROTO_PATH_CHALLENGE];
	ck_assert_int_eq(a->c.peers[0]->bday.role, BDAY_EASY);
	/* Paced: about BDAY_RATE_PER_S in a second (and a few of the relayed chat's own). */
	sim_run_for(1000);
	ck_assert_uint_ge(a->sent[PROTO_PATH_CHALLENGE] - at_start, BDAY_RATE_PER_S - 5);
	ck_assert_uint_le(a->sent[PROTO_PATH_CHALLENGE] - at_start, BDAY_RATE_PER_S + 30);
	/* Capped: the try ends, BDAY_PROBES sent, none answered: the back-off. */
	sim_run_for(BDAY_TRY_MS);
	in_try = a->sent[PROTO_PATH_CHALLENGE] - at_start;
	ck_assert_uint_ge(in_try, BDAY_PROBES);
	ck_assert_uint_le(in_try, BDAY_PROBES + 200);
	ck_assert_int_eq(a->c.peers[0]->bday.running, 0);
	ck_assert_int_eq(a->c.peers[0]->bday.tries, 1);
	at_start = a->sent[PROTO_PATH_CHALLENGE];
	sim_run_for(BDAY_BACKOFF_MS - BDAY_TRY_MS - 1000);
	ck_assert_uint_lt(a->sent[PROTO_PATH_CHALLENGE] - at_start, 300); /* the upgrade bursts only */
	ck_assert_int_eq(a->c.peers[0]->bday.tries, 1);
	ck_assert_uint_eq(a->challenges_astray, 0);
	ck_assert_int_eq(find_line(b, "* alice: one NAT is symmetric", 0), -1);
	ck_assert_int_eq(count_prefix(a, "* your NAT"), 1);
	type(a, "/peers");
	ck_assert_int_ge(find_line(a, "* peer bob connected relay 10.0.0.1:7777 rtt ", 0), 0);
	ck_assert_ptr_nonnull(strstr(a->lines[a->nlines - 1], " ms nat keeps/symmetric key pinned"));
	/* Still on the relay, and the chat goes on there. */
	type(a, "still here");
	expect_line_within(b, "<alice> still here", 2000);
}
END_TEST

/* Both NATs symmetric: no birthday, and each side says why it stays on the relay. */
START_TEST(birthday_both_symmetric)
{
	struct sim_host *a, *b;

	a = birthday_alice(1);
	b = host_new("bob", 3, 5000, 0xb0);
	b->symmetric = 1;
	host_start(b, "alice");
	sim_run_for(8000);
	ck_assert_int_ge(find_line(b, "* alice and we are both behind symmetric NATs", 0), 0);
	ck_assert_int_eq(count_prefix(a, "* bob and we are both behind symmetric NATs"), 1);
	ck_assert_int_eq(find_line(a, "* bob: one NAT is symmetric", 0), -1);
	ck_assert_int_eq(a->c.peers[0]->bday.tries, 0);
}
END_TEST

/*
 * The hard side's spare sockets serve one peer's try at a time: bob
 * (symmetric, with spares) chats on the relay with alice and carol (both
 * keep their ports); one try holds the spares, the other peer's waits,
 * says so once, and starts when the first ends (nothing lands here: the
 * spares carry nothing). While it waits, bob's client does not spin: its
 * next deadline is ahead of now.
 */
START_TEST(birthday_spares_one_peer_at_a_time)
{
	struct sim_host *b, *c;
	struct peer *first, *second;
	char want[160];
	int64_t until;

	birthday_alice(0);
	c = host_new("carol", 4, 5000, 0xc0);
	host_start(c, "bob");
	b = host_new("bob", 3, 5000, 0xb0);
	b->symmetric = 1;
	b->spares = 1;
	host_start(b, "alice");
	type(b, "/chat carol");
	sim_run_for(6000);
	ck_assert_int_eq(count_exact(b, "* connected to alice via 10.0.0.1:7777 (relay)"), 1);
	ck_assert_int_eq(count_exact(b, "* connected to carol via 10.0.0.1:7777 (relay)"), 1);
	ck_assert_int_eq(b->spares_open, BDAY_SOCKETS);
	first = client_peer_find(&b->c, b->c.spare_owner);
	ck_assert_ptr_nonnull(first);
	second = client_peer_find(&b->c, strcmp(first->name, "alice") == 0 ? "carol" : "alice");
	ck_assert_ptr_nonnull(second);
	ck_assert_int_eq(first->bday.running, 1);
	ck_assert_int_eq(second->bday.running, 0);
	ck_assert_int_eq(second->bday.tries, 0);
	snprintf(want, sizeof(want), "* %s: the birthday method waits: %s's try holds the spare "
		 "sockets (one peer at a time)", second->name, first->name);
	ck_assert_int_eq(count_prefix(b, want), 1);
	ck_assert_int_gt(client_tick(&b->c, sim.now), sim.now);
	/* The first try ends (BDAY_TRY_MS, nothing landed): the spares close, the second starts. */
	until = first->bday.start_ms + BDAY_TRY_MS + 1000;
	sim_run_for(until - sim.now);
	ck_assert_int_eq(first->bday.running, 0);
	ck_assert_int_eq(first->bday.tries, 1);
	ck_assert_int_eq(second->bday.running, 1);
	ck_assert_str_eq(b->c.spare_owner, second->name);
	ck_assert_int_eq(b->spares_open, BDAY_SOCKETS);
}
END_TEST

START_TEST(relay_when_no_direct_path)
{
	enum { LINES = 200 };
	struct sim_host *a, *b;
	int64_t t0 = sim.now, t_conn;
	char text[64];
	uint64_t relayed;
	int fed = 0;

	sim.no_direct = 1;
	a = host_up("alice", 2, "bob", 0xa1);
	b = host_up("bob", 3, NULL, 0xb0);
	type(a, "first");
	t_conn = expect_line_within(a, "* connected to bob", 3000);
	ck_assert_str_eq(a->lines[find_line(a, "* connected", 0)], relay_a);
	/*
	 * Registration (two round trips: the cookie's, then REGISTERED), lookup,
	 * then the line waits until a direct answer is overdue: a probe interval
	 * and CLIENT_OVERDUE_RTTS of the relay's round trip (4 legs).
	 */
	ck_assert_int_le(t_conn - t0, 6 * WAN_MS + CLIENT_PROBE_INTERVAL_MS +
			 CLIENT_OVERDUE_RTTS * 4 * WAN_MS);
	expect_line_within(b, "<alice> first", 1000);
	ck_assert_int_eq(count_exact(b, relay_b), 1);
	ck_assert_int_eq(a->c.peers[0]->path_kind, PATH_RELAY);
	ck_assert_int_eq(count_prefix(a, "* no direct path"), 0);
	type(a, "/peers");
	ck_assert_int_eq(find_line(a, "* peer bob connected relay 10.0.0.1:7777 rtt ", 0),
			 a->nlines - 1);

	/* The punch window closes unanswered: each side reports a relayed punch, once. */
	sim_run_for(CLIENT_PUNCH_MS);
	ck_assert_uint_eq(sim.srv.stats.punches_relayed, 2);
	ck_assert_uint_eq(sim.srv.stats.punches_direct, 0);

	/* Every datagram between the hosts is lost, and so are a fifth of the server's. */
	sim.loss_pct = 20;
	sim.dup_pct = 10;
	sim.jitter_ms = 30;
	sim.faulty_server = 1;
	/* Lines go in as fast as the clients take them, as main() does with piped input. */
	while (fed < LINES || client_pending(&a->c) + client_pending(&b->c) > 0) {
		while (fed < LINES && client_has_room(&a->c) && client_has_room(&b->c)) {
			snprintf(text, sizeof(text), "a%d", fed);
			type(a, text);
			snprintf(text, sizeof(text), "b%d", fed++);
			type(b, text);
		}
		sim_run_for(50);
		ck_assert_int_lt(sim.now, t0 + 300000);
	}
	sim_run_for(5000);
	ck_assert_int_eq(count_exact(b, "<alice> first"), 1);
	/* Each line once, in order: "<alice> a0", "<alice> a1"... */
	assert_stream(b, "<alice> a", "", LINES);
	assert_stream(a, "<bob> b", "", LINES);
	ck_assert_uint_eq(a->c.stats.failed_lines + b->c.stats.failed_lines, 0);
	/* Loss by the datagram: the stream packs many lines in one. */
	ck_assert_uint_gt(sim.lost, (a->sent[PROTO_STREAM] + b->sent[PROTO_STREAM]) / 10);
	ck_assert_uint_gt(sim.blocked, 0);
	/* Every datagram of the chat went through the server (many lines to a datagram). */
	ck_assert_uint_ge(a->c.stats.relayed, a->sent[PROTO_STREAM]);
	ck_assert_uint_ge(b->c.stats.relayed, b->sent[PROTO_STREAM]);
	relayed = sim.srv.stats.relayed;
	ck_assert_uint_gt(relayed, (a->sent[PROTO_STREAM] + b->sent[PROTO_STREAM]) / 2);
	ck_assert_uint_eq(sim.srv.stats.relay_over_rate, 0);
	/* Still on the relay, still one connection each way. */
	ck_assert_int_eq(count_prefix(a, "* connected"), 1);
	ck_assert_int_eq(count_prefix(b, "* connected"), 1);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
}
END_TEST

/*
 * alice has only IPv4, bob only IPv6; the server, dual-stack, registers
 * both and relays between them. No family of address is common to the
 * two, so no direct path can exist: each side says so, and why, once;
 * a relayed pair of one family (relay_when_no_direct_path) says nothing.
 */
START_TEST(relay_across_families_says_why)
{
	struct sim_host *a, *b;

	sim.no_direct = 1;
	a = host_new("alice", 2, 5000, 0xa1);
	b = host_new("bob", 3, 5000, 0xb0);
	b->pub = harness_addr6(0xb1, 2, 5000);
	b->cfg.private_ep[0] = b->pub;
	host_start(a, "bob");
	host_start(b, NULL);
	type(a, "across");
	expect_line_within(b, "<alice> across", 3000);
	ck_assert_int_eq(count_exact(a, relay_a), 1);
	ck_assert_int_eq(count_exact(b, relay_b), 1);
	ck_assert_int_eq(count_exact(a, "* no direct path to bob: it has only IPv6 addresses, "
				     "this host only IPv4; the server relays"), 1);
	ck_assert_int_eq(count_exact(b, "* no direct path to alice: it has only IPv4 addresses, "
				     "this host only IPv6; the server relays"), 1);
	type(b, "/msg alice back");
	expect_line_within(a, "<bob> back", 3000);
}
END_TEST

/* Alice and bob, who cannot reach each other, chat through the relay: "one" reached bob. */
static void relayed_pair(struct sim_host **a, struct sim_host **b)
{
	sim.no_direct = 1;
	*a = host_up("alice", 2, "bob", 0xa1);
	*b = host_up("bob", 3, NULL, 0xb0);
	type(*a, "one");
	expect_line_within(*b, "<alice> one", 3000);
	ck_assert_int_eq(count_exact(*a, relay_a), 1);
	if (count_exact(*b, relay_b) == 0)
		expect_line_within(*b, relay_b, 1000);
	ck_assert_int_eq(count_prefix(*b, "* connected"), 1);
}

/* The direct path opens while the punch goes on: the chat moves off the relay at once. */
START_TEST(relay_then_direct_within_punch)
{
	struct sim_host *a, *b;
	int64_t t_open;

	relayed_pair(&a, &b);
	sim_run_for(1000);
	t_open = sim.now;
	sim.no_direct = 0;
	ck_assert_int_le(expect_line_within(a, direct_a, 1000) - t_open,
			 CLIENT_PROBE_INTERVAL_MS + 2 * WAN_MS);
	expect_line_within(b, direct_b, 1000);
	ck_assert_int_lt(find_line(a, relay_a, 0), find_line(a, direct_a, 0));
	type(a, "two");
	expect_line_within(b, "<alice> two", 1000);
	/* The relay only carried the first moments: the server counts two direct punches. */
	sim_run_for(CLIENT_PUNCH_MS);
	ck_assert_uint_eq(sim.srv.stats.punches_direct, 2);
	ck_assert_uint_eq(sim.srv.stats.punches_relayed, 0);
	ck_assert_int_eq(count_prefix(a, "* connected"), 2);
	ck_assert_int_eq(count_prefix(b, "* connected"), 2);
	ck_assert_int_eq(count_prefix(b, "<alice> "), 2);
}
END_TEST

/*
 * The direct path opens long after the punch gave up: a relayed chat
 * looks again every CLIENT_UPGRADE_EVERY_MS, finds it, and moves there;
 * from then on nothing goes through the relay.
 */
START_TEST(relay_upgrades_later)
{
	struct sim_host *a, *b;
	uint32_t relay_a_sent, relay_b_sent;
	int64_t t_conn, t_up;

	relayed_pair(&a, &b);
	t_conn = a->line_ms[find_line(a, relay_a, 0)];
	sim_run_for(2 * CLIENT_PUNCH_MS);
	ck_assert_uint_eq(sim.srv.stats.punches_relayed, 2);
	/* Between bursts, no direct probe goes out. */
	relay_a_sent = a->sent[PROTO_PROBE];
	sim_run_for(CLIENT_UPGRADE_EVERY_MS - 3 * CLIENT_PUNCH_MS);
	ck_assert_uint_eq(a->sent[PROTO_PROBE], relay_a_sent);
	sim.no_direct = 0;
	t_up = expect_line_within(a, direct_a, CLIENT_UPGRADE_EVERY_MS);
	expect_line_within(b, direct_b, 1000);
	ck_assert_int_ge(t_up - t_conn, CLIENT_UPGRADE_EVERY_MS);
	ck_assert_int_le(t_up - t_conn, CLIENT_UPGRADE_EVERY_MS + 1000);
	type(a, "/peers");
	ck_assert_int_eq(find_line(a, "* peer bob connected public 10.0.0.3:5000 rtt ", 0),
			 a->nlines - 1);
	/* Lines both ways, none of them through the relay. */
	sim_run_for(1000);
	relay_a_sent = a->sent[PROTO_RELAY];
	relay_b_sent = b->sent[PROTO_RELAY];
	type(a, "two");
	type(b, "/msg alice back");
	expect_line_within(b, "<alice> two", 1000);
	expect_line_within(a, "<bob> back", 1000);
	sim_run_for(CLIENT_UPGRADE_EVERY_MS + KEEPALIVE_MS);
	ck_assert_uint_eq(a->sent[PROTO_RELAY], relay_a_sent);
	ck_assert_uint_eq(b->sent[PROTO_RELAY], relay_b_sent);
	ck_assert_int_eq(count_prefix(a, "* connected"), 2);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
	ck_assert_uint_eq(sim.srv.stats.punches_direct, 2);
}
END_TEST

/* A server that does not relay: lines wait for a direct path, and fail when none comes. */
START_TEST(relay_off_direct_only)
{
	struct sim_host *a, *b;

	sim.no_relay = 1;
	server_start(0x40);
	sim.no_direct = 1;
	a = host_up("alice", 2, "bob", 0xa1);
	b = host_up("bob", 3, NULL, 0xb0);
	type(a, "hello");
	expect_line_within(a, "* the server does not relay: direct paths only", 1000);
	ck_assert_str_eq(a->lines[a->nlines - 1], "* the server does not relay: direct paths only");
	ck_assert_int_eq(expect_line_within(a, "* not delivered to bob", 2 * WAIT_MS),
			 SIM_T0_MS + WAIT_MS);
	ck_assert_str_eq(a->lines[a->nlines - 1],
			 "* not delivered to bob: \"hello\": no answer from bob");
	ck_assert_int_eq(count_prefix(b, "<alice>"), 0);
	ck_assert_int_eq(count_prefix(a, "* connected"), 0);
	/* One RELAY each, refused; none after that. */
	ck_assert_uint_eq(a->sent[PROTO_RELAY], 1);
	ck_assert_uint_eq(b->sent[PROTO_RELAY], 1);
	ck_assert_uint_eq(sim.srv.stats.relayed, 0);
	ck_assert_uint_eq(sim.srv.stats.relay_refused, 2);
	/* A direct path: the next line goes. */
	sim.no_direct = 0;
	type(a, "again");
	expect_line_within(b, "<alice> again", 3000);
	ck_assert_int_eq(count_exact(a, direct_a), 1);
	ck_assert_uint_eq(a->sent[PROTO_RELAY], 1);
}
END_TEST

/*
 * The server restarts without its relay while a chat goes through it:
 * both register again, hear that it does not relay, and punch; the direct
 * path now works, and not a line is lost.
 */
START_TEST(relay_turned_off_mid_chat)
{
	struct sim_host *a, *b;

	relayed_pair(&a, &b);
	sim_run_for(2 * CLIENT_PUNCH_MS);
	sim.no_relay = 1;
	server_start(0x99);
	sim.no_direct = 0;
	type(a, "two");
	type(b, "/msg alice back");
	expect_line_within(a, "* the server does not relay", 3000);
	expect_line_within(b, "<alice> two", 5000);
	/* Both lines arrive, in whichever order (bob's may come first). */
	if (count_exact(a, "<bob> back") == 0)
		expect_line_within(a, "<bob> back", 5000);
	ck_assert_int_eq(count_exact(a, direct_a), 1);
	ck_assert_int_eq(count_exact(b, direct_b), 1);
	ck_assert_int_eq(count_exact(a, "* registered as alice (public 10.0.0.2:5000)"), 2);
	sim_run_for(5000);
	ck_assert_int_eq(count_exact(b, "<alice> two"), 1);
	ck_assert_uint_eq(a->c.stats.failed_lines + b->c.stats.failed_lines, 0);
	ck_assert_uint_eq(sim.srv.stats.relayed, 0);
}
END_TEST

/* A RELAYED whose inside is not what that peer would send: dropped, nothing shown. */
START_TEST(relayed_checked)
{
	struct sim_host *a, *b;
	struct proto_msg m, data;
	uint64_t stray, malformed, unopened;
	int lines;

	relayed_pair(&a, &b);
	lines = a->nlines;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_RELAYED;
	snprintf(m.name, sizeof(m.name), "carol"); /* bob's session, under another name */
	m.payload_len = (uint16_t)chat_from(b, "alice", "real", 0, m.payload);
	stray = a->c.stats.stray;
	unopened = a->c.stats.unopened;
	inject_answer(a, &m);
	ck_assert_uint_eq(a->c.stats.unopened, unopened + 1);
	/* From anyone but the server: not a relay at all. */
	snprintf(m.name, sizeof(m.name), "bob");
	inject(a, &m, &b->pub);
	ck_assert_uint_eq(a->c.stats.stray, stray + 1);
	/* A server message inside, or bytes that are no datagram: malformed. */
	malformed = a->c.stats.malformed;
	memset(&data, 0, sizeof(data));
	data.type = PROTO_ERROR;
	data.code = PROTO_E_NAME_TAKEN;
	m.payload_len = (uint16_t)proto_encode(&data, m.payload, sizeof(m.payload));
	inject_answer(a, &m);
	memset(m.payload, 0x50, 8);
	m.payload_len = 8;
	inject_answer(a, &m);
	ck_assert_uint_eq(a->c.stats.malformed, malformed + 2);
	ck_assert_int_eq(a->c.fatal, 0);
	ck_assert_int_eq(a->nlines, lines);
	/* The right name, from the server: shown. */
	m.payload_len = (uint16_t)chat_from(b, "alice", "real", 0, m.payload);
	inject_answer(a, &m);
	ck_assert_int_eq(count_exact(a, "<bob> real"), 1);
}
END_TEST

/*
 * With nothing to send, a relay that answered waits CLIENT_RELAY_GRACE_MS
 * for the punch; when the punch cannot work, the relay is taken then.
 */
START_TEST(relay_taken_after_grace)
{
	struct sim_host *a, *b;
	int64_t t_relay, t_punch;

	sim.no_direct = 1;
	a = host_up("alice", 2, "bob", 0xa1);
	b = host_up("bob", 3, NULL, 0xb0);
	t_relay = expect_line_within(a, "* connected", 5000);
	ck_assert_str_eq(a->lines[a->nlines - 1], relay_a);
	t_punch = a->c.peers[0]->punch_start_ms;
	ck_assert_int_eq(t_relay, t_punch + CLIENT_RELAY_GRACE_MS);
	if (count_exact(b, relay_b) == 0)
		expect_line_within(b, relay_b, CLIENT_RELAY_GRACE_MS);
	type(b, "/msg alice hi");
	expect_line_within(a, "<bob> hi", 1000);
}
END_TEST

/*
 * The server is near and bob is far: the relay answers long before the
 * punch does. With nothing to send, alice waits for the punch and starts
 * direct; with a line waiting, it goes through the relay at once, and the
 * chat moves to the direct path when the punch answers.
 */
START_TEST(near_relay_far_peer)
{
	struct sim_host *a, *b, *c, *d;
	int64_t t_typed, t_got;
	int i, j;

	sim.srv_ms = 2;
	sim.wan_ms = 150;
	/* Nothing to send: one connection, direct, though the relay answered first. */
	a = host_up("alice", 2, "bob", 0xa1);
	b = host_up("bob", 3, NULL, 0xb0);
	expect_line_within(a, "* connected", 3000);
	sim_run_for(CLIENT_PUNCH_MS);
	ck_assert_int_eq(count_prefix(a, "* connected"), 1);
	ck_assert_int_eq(count_exact(a, direct_a), 1);
	ck_assert_int_eq(count_prefix(b, "* connected"), 1);
	ck_assert_int_eq(count_exact(b, direct_b), 1);
	ck_assert_uint_gt(a->c.stats.relayed, 0);
	ck_assert_uint_eq(sim.srv.stats.punches_relayed, 0);

	/* carol has a line for dave: it goes through the relay before a direct round trip could. */
	c = host_up("carol", 5, "dave", 0xc0);
	d = host_up("dave", 6, NULL, 0xd0);
	sim_run_for(100); /* both registered */
	type(c, "quick");
	t_typed = sim.now;
	t_got = expect_line_within(d, "<carol> quick", 3000);
	ck_assert_int_lt(t_got - t_typed, 2 * sim.wan_ms);
	/* Then the punch answers, and both move to the direct path. */
	expect_line_within(c, "* connected to dave via 10.0.0.6:5000 (public)", 1000);
	if (count_exact(d, "* connected to carol via 10.0.0.5:5000 (public)") == 0)
		expect_line_within(d, "* connected to carol via 10.0.0.5:5000 (public)", 1000);
	i = find_line(c, "* connected to dave via 10.0.0.1:7777 (relay)", 0);
	j = find_line(c, "* connected to dave via 10.0.0.6:5000 (public)", 0);
	ck_assert_int_ge(i, 0);
	ck_assert_int_lt(i, j);
	ck_assert_int_ge(find_line(d, "* connected to carol via 10.0.0.1:7777 (relay)", 0), 0);
	type(d, "/msg carol direct now");
	expect_line_within(c, "<dave> direct now", 1000);
}
END_TEST

/* ---- bugs found in client.c, fixed: kept as regression tests ---- */


START_TEST(second_wait_says_not_online_again)
{
	/*
	 * Regression: said_not_online is "printed for this wait" (client.h), but
	 * send_line starts a new wait without clearing it, so a second line to
	 * a peer that is still offline gets no "* bob is not online" at all.
	 */
	struct sim_host *a = host_up("alice", 2, "bob", 0xa1);

	type(a, "hello");
	expect_line_within(a, "* not delivered to bob: \"hello\": bob is not online", 2 * WAIT_MS);
	sim_run_for(60000);
	type(a, "hello again");
	expect_line_within(a, "* not delivered to bob: \"hello again\": bob is not online",
			   2 * WAIT_MS);
	/* She never stopped waiting for bob (her PEER): said once, each line's end said on its own. */
	ck_assert_int_eq(count_exact(a, "* waiting for bob to come online"), 1);
}
END_TEST

START_TEST(no_duplicate_after_reconnect)
{
	/*
	 * Regression: a line the peer showed, but whose ACKs were lost, is shown a
	 * second time after a reconnection. start_punch() picks a new epoch
	 * and restarts both directions of the channel; the unacknowledged line
	 * is renumbered from 0 and sent again, and the peer, seeing a new
	 * epoch, has forgotten (note_peer_epoch -> restart_channel) that it
	 * already delivered it.
	 */
	struct sim_host *a, *b;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	/* bob's ACKs are lost (alice never learns it arrived), and so is all else he sends her. */
	b->drop_sent = 1u << PROTO_STREAM | 1u << PROTO_PONG | 1u << PROTO_PING;
	type(a, "once");
	expect_line_within(b, "<alice> once", 1000);
	/* Nothing from bob for CLIENT_ANSWER_TIMEOUT_MS: alice reconnects, and the path heals. */
	expect_line_within(a, "* bob is offline", CLIENT_ANSWER_TIMEOUT_MS + 1000);
	b->drop_sent = 0;
	expect_line_within(a, "* connected to bob", WAIT_MS);
	sim_run_for(5000);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
	ck_assert_int_eq(count_exact(b, "<alice> once"), 1);
}
END_TEST

START_TEST(peer_back_from_pause)
{
	/*
	 * Regression (tests/faults.sh, a client paused past its TTL): bob gave
	 * up on alice while her program was stopped. When it runs again, she
	 * is still connected as far as she knows, and sends her lines; bob,
	 * offline to her, dropped them unacknowledged but answered her PINGs,
	 * so she never gave up either, and the lines waited for ever.
	 */
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1);
	struct sim_host *b = host_new("bob", 3, 5000, 0xb0);

	a->cfg.keepalive_ms = 1000;
	b->cfg.keepalive_ms = 1000;
	host_start(a, "bob");
	host_start(b, NULL);
	type(a, "before");
	expect_line_within(b, "<alice> before", 3000);
	sim_run_for(500);
	a->paused = 1; /* SIGSTOP */
	expect_line_within(b, "* alice is offline", 5000);
	sim_run_for(1000);
	type(a, "meanwhile"); /* typed meanwhile; read when she runs again */
	a->paused = 0; /* SIGCONT */
	expect_line_within(b, "<alice> meanwhile", 3000);
	/* Her line is shown at once; bob connects when her address answers his challenge. */
	sim_run_for(2 * WAN_MS + 10);
	ck_assert_int_eq(count_prefix(b, "* connected to alice"), 2);
	sim_run_for(3000);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
	ck_assert_int_eq(count_exact(b, "<alice> meanwhile"), 1);
}
END_TEST

START_TEST(line_after_wait_expired_while_punching)
{
	/*
	 * Regression: the wait runs out while alice is still punching (here the
	 * moment before bob's first answer).
	 * fail_pending() drops the line; with the old channel (chan.c) its
	 * next sequence number stayed past it, and the punch then succeeded
	 * without a new epoch: bob waited for the dropped sequence number
	 * forever, and every later line was held behind it and never shown.
	 * Now a failed line's chat stream is reset, and the next line opens
	 * a new one: it must arrive.
	 *
	 */
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1), *b;

	/* Unreachable private endpoints: the public path, after a pause. */
	a->cfg.private_ep[0] = harness_addr4(192, 168, 1, 2, 5000);
	a->cfg.wait_ms = 9500;
	host_start(a, "bob");
	type(a, "first");
	/*
	 * bob comes just in time: the server introduces both when he registers
	 * (+9460); alice probes from +9480, and her wait ends at +9500, before
	 * an answer can come back (+9520).
	 */
	sim_run_for(9400);
	b = host_new("bob", 3, 5000, 0xb0);
	b->cfg.private_ep[0] = harness_addr4(192, 168, 7, 3, 5000);
	host_start(b, NULL);
	ck_assert_int_eq(expect_line_within(a, "* not delivered to bob", 2000),
			 SIM_T0_MS + 9500);
	ck_assert_int_eq(a->c.peers[0]->state, PEER_PUNCH); /* the case this test is about */
	expect_line_within(a, "* connected to bob via 10.0.0.3:5000 (public)", 1000);
	type(a, "second");
	expect_line_within(b, "<alice> second", 3000);
}
END_TEST

/* ---- issue 13: every line ends delivered or failed; peers found when they arrive ---- */

/*
 * Bob's channel gets out of step with alice's: a PING of alice's session
 * and an epoch bob never heard (a stray second instance, a lost
 * incarnation) makes him start afresh, while alice goes on in the old
 * pair. Before: her DATA were dropped as stale at bob for ever, her PINGs
 * answered all along, and she was told nothing. Now bob tells her, she
 * starts a new epoch, and the line arrives.
 */
START_TEST(out_of_step_channel_resyncs)
{
	struct sim_host *a, *b;
	const struct peer *pa;
	struct proto_msg m;
	uint8_t buf[PROTO_MAX_DATAGRAM];
	int64_t t_typed;
	size_t n;

	alice_and_bob(&a, &b);
	pa = a->c.peers[0];
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PING; /* an epoch of alice's bob never saw: alice's, sealed, so authentic */
	m.epoch = pa->my_epoch ^ 0x5a5a5a5au;
	n = seal_as(a, "bob", &m, buf);
	client_handle(&b->c, buf, n, &a->pub, sim.now);
	type(a, "after the stray probe");
	t_typed = sim.now;
	expect_line_within(b, "<alice> after the stray probe", WAIT_MS);
	ck_assert_int_le(b->line_ms[b->nlines - 1] - t_typed, 1000);
	sim_run_for(1000);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
	ck_assert_int_eq(count_exact(b, "<alice> after the stray probe"), 1);
}
END_TEST

/*
 * Bob's ACKs are lost, his PONGs are not: alice hears from him all the
 * time but never that her line arrived. Before: the line stayed pending
 * for ever (a piped client never exited). Now it ends within -w.
 */
START_TEST(line_ends_within_wait_while_peer_answers)
{
	struct sim_host *a, *b;
	int64_t t_typed, t_fail;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	b->drop_sent = 1u << PROTO_STREAM; /* his acknowledgements ride in it */
	type(a, "lost in the void");
	t_typed = sim.now;
	t_fail = expect_line_within(a, "* not delivered to bob:", 3 * WAIT_MS);
	ck_assert_int_le(t_fail - t_typed, WAIT_MS);
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"lost in the void\": "
				     "no acknowledgement from bob"), 1);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
}
END_TEST

/* What a host's io.line saw, for the tests of the life of a line. */
static struct {
	int n;
	uint32_t id[64];
	int state[64];
	char text[64][64];
} lines_seen;

static void host_line(void *ctx, const struct client_line *l)
{
	(void)ctx;
	ck_assert_int_lt(lines_seen.n, 64);
	ck_assert_uint_ne(l->id, 0);
	lines_seen.id[lines_seen.n] = l->id;
	lines_seen.state[lines_seen.n] = (int)l->state;
	snprintf(lines_seen.text[lines_seen.n], sizeof(lines_seen.text[0]), "%s",
		 l->text != NULL ? l->text : "");
	lines_seen.n++;
}

/*
 * Several lines fail at once: each failure names its line by its first
 * words. Before: "* not delivered to bob: bob is not online", the
 * same words for every line.
 */
START_TEST(failures_name_their_lines)
{
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1);
	struct client_io io = { a, host_send, host_print, host_line, NULL, host_random, host_wall_ms, NULL, NULL, NULL };

	memset(&lines_seen, 0, sizeof(lines_seen));
	ck_assert_int_eq(client_init(&a->c, &a->cfg, &io, "bob", sim.now), 0);
	a->live = 1;
	type(a, "first");
	type(a, "a second line that is rather longer than a few words");
	type(a, "/me waves\033[2J");
	expect_line_within(a, "* not delivered to bob:", 2 * WAIT_MS);
	sim_run_for(100);
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"first\": bob is not online"), 1);
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"a second line that is...\": "
				     "bob is not online"), 1);
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"waves^[[2J\": bob is not online"), 1);
	/* io.line: SENT three times, then FAILED for each, by the same ids. */
	ck_assert_int_eq(lines_seen.n, 6);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(lines_seen.state[i], CLIENT_LINE_SENT);
		ck_assert_int_eq(lines_seen.state[3 + i], CLIENT_LINE_FAILED);
		ck_assert_uint_eq(lines_seen.id[i], lines_seen.id[3 + i]);
	}
	ck_assert_uint_ne(lines_seen.id[0], lines_seen.id[1]);
	ck_assert_str_eq(lines_seen.text[2], "waves\033[2J");
}
END_TEST

/*
 * A second instance of alice (her token, another port) starts while the
 * first chats with bob. The newer one holds the name: the server tells the
 * older one at once, which reports what it could not deliver and stops
 * (fatal: main exits 1). Before: the older one went on, its lines dropped
 * at bob as stale, and was told nothing.
 */
START_TEST(second_instance_takes_the_name)
{
	struct sim_host *a, *b, *a2;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	a->drop_sent = 1u << PROTO_STREAM; /* her next line is still on its way when a2 comes */
	type(a, "pending when replaced");
	a2 = host_new("alice", 2, 5001, 0xa1);
	host_start(a2, "bob");
	type(a2, "dup instance");
	expect_line_within(b, "<alice> dup instance", 3000);
	/* Told when a2 registered, before a2 even looked bob up. */
	ck_assert_int_eq(count_exact(a, "* another instance of alice took the name"), 1);
	ck_assert_int_eq(a->c.fatal, 1);
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"pending when replaced\": "
				     "another instance of alice took the name"), 1);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	/* The newer one chats on. */
	type(b, "/msg alice to the new one");
	expect_line_within(a2, "<bob> to the new one", 3000);
}
END_TEST

/*
 * kim wants lee, who is not online: the server keeps kim's LOOKUP, and
 * the moment lee registers it introduces both. kim types nothing. Before:
 * "* lee is not online", and then nothing, ever.
 */
START_TEST(late_peer_connects_by_itself)
{
	struct sim_host *k = host_up("kim", 2, "lee", 0xa1), *l;
	int64_t t_up, t_conn;
	uint32_t lookups;

	expect_line_within(k, "* waiting for lee to come online", 1000);
	sim_run_for(60000);
	lookups = k->sent[PROTO_LOOKUP];
	ck_assert_uint_le(lookups, 3); /* it waits at the server, not by asking again and again */
	l = host_up("lee", 3, NULL, 0xb0);
	t_up = sim.now;
	t_conn = expect_line_within(k, "* connected to lee via", 2000);
	ck_assert_int_le(t_conn - t_up, 4 * WAN_MS + 3 * WAN_MS + 100);
	if (find_line(l, "* connected to kim via", 0) < 0) /* lee may have been first */
		expect_line_within(l, "* connected to kim via", 1000);
	ck_assert_int_eq(count_prefix(k, "* waiting for lee"), 1);
	ck_assert_uint_eq(k->c.stats.failed_lines, 0);
	/* /chat with someone who is not online says so, and waits for them too. */
	type(k, "/chat nobody");
	ck_assert_str_eq(k->c.current, "nobody");
	expect_line_within(k, "* waiting for nobody to come online", 1000);
}
END_TEST

/*
 * The relay is near, the peer a little farther: the relay's answer comes
 * first, but a direct answer is not overdue yet (a probe interval and two
 * relay round trips), so the waiting line goes direct and nothing of the
 * chat takes the relay. Before: a waiting line took the relay at once, and
 * a one-shot script ended on "(relay)".
 */
START_TEST(waiting_line_goes_direct_when_not_overdue)
{
	struct sim_host *a, *b;

	sim.srv_ms = 2;
	a = host_up("alice", 2, "bob", 0xa1);
	b = host_up("bob", 3, NULL, 0xb0);
	type(a, "quick"); /* it waits all through the punch */
	expect_line_within(b, "<alice> quick", 1000);
	sim_run_for(CLIENT_PUNCH_MS);
	ck_assert_int_eq(count_prefix(a, "* connected"), 1);
	ck_assert_int_eq(count_exact(a, direct_a), 1);
	ck_assert_int_eq(count_prefix(b, "* connected"), 1);
	/* The relay carried probes only: at most two datagrams each way (issue 13's goal). */
	ck_assert_uint_le(a->sent[PROTO_RELAY], 2);
	ck_assert_uint_le(b->sent[PROTO_RELAY], 2);
	ck_assert_uint_eq(sim.srv.stats.punches_relayed, 0);
}
END_TEST

/* ---- version 2: the server's seal and key ---- */

/* client_io.pin_server in the sim: counts the calls and keeps the key. */
static int pins;
static uint8_t pinned[PROTO_KEY_LEN];

static int host_pin(void *ctx, const uint8_t key[PROTO_KEY_LEN], int server)
{
	(void)ctx;
	ck_assert_int_eq(server, 0);
	pins++;
	memcpy(pinned, key, PROTO_KEY_LEN);
	return 0;
}

/*
 * First contact: the client has no key for the server; its first REGISTER
 * draws the COOKIE that brings the key, which it pins (once) and seals
 * under from then on.
 */
START_TEST(server_key_pinned_at_first_contact)
{
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1);
	struct client_io io = { a, host_send, host_print, NULL, host_pin, host_random, host_wall_ms, NULL, NULL, NULL };

	pins = 0;
	ck_assert_int_eq(client_init(&a->c, &a->cfg, &io, NULL, sim.now), 0);
	a->live = 1;
	expect_line_within(a, "* registered as alice", 1000);
	ck_assert_int_eq(pins, 1);
	ck_assert_mem_eq(pinned, sim.srv.pub, PROTO_KEY_LEN);
	ck_assert_int_eq(a->c.cfg.servers[0].has_key, 1);
	ck_assert_mem_eq(a->c.cfg.servers[0].key, sim.srv.pub, PROTO_KEY_LEN);
	/* Its refreshes are sealed under K: the server opens them, and nothing more is pinned. */
	sim_run_for(3 * CLIENT_REFRESH_MS);
	ck_assert_uint_ge(sim.srv.stats.refreshes, 2);
	ck_assert_uint_eq(sim.srv.stats.dropped[SERVER_DROP_UNAUTHENTICATED], 0);
	ck_assert_int_eq(pins, 1);
	ck_assert_uint_eq(a->c.stats.unauthenticated, 0);
}
END_TEST

/*
 * A client that knows another key for the server (known_servers, or
 * --server-key): the server's COOKIE shows its real key, which is refused,
 * loudly, once; the client never registers, never exits, and keeps trying.
 */
START_TEST(changed_server_key_refused)
{
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1), *b;

	memset(a->cfg.servers[0].key, 0x42, PROTO_KEY_LEN);
	a->cfg.servers[0].key[31] = 0x12;
	a->cfg.servers[0].has_key = 1;
	a->cfg.servers[0].key_file = "/home/alice/.local/state/p2pchat/known_servers";
	host_start(a, "bob");
	b = host_up("bob", 3, NULL, 0xb0);
	type(a, "secret");
	sim_run_for(30000);
	ck_assert_int_eq(count_exact(a, "* WARNING: the server at 10.0.0.1:7777 has a new key (or "
				     "someone pretends to be it); nothing was sent. If the operator "
				     "changed it, remove its line from "
				     "/home/alice/.local/state/p2pchat/known_servers"), 1);
	ck_assert_int_eq(a->c.registered, 0);
	ck_assert_int_eq(a->c.fatal, 0);
	ck_assert_int_eq(find_line(b, "<alice>", 0), -1);
	ck_assert_uint_gt(a->c.stats.unauthenticated, 3);
	/*
	 * It took no cookie from a COOKIE with the other key, so its REGISTERs
	 * (sealed for the key it knows) only ever drew COOKIEs: nothing is
	 * registered in its name.
	 */
	ck_assert_ptr_null(table_get(&sim.srv.names, "alice", sim.now));
	ck_assert_uint_gt(sim.srv.stats.cookies_sent, 3);

	/* --server-key: the same refusal, worded for it. */
	a->live = 0;
	a = host_new("alice", 2, 5001, 0xa1);
	memset(a->cfg.servers[0].key, 0x42, PROTO_KEY_LEN);
	a->cfg.servers[0].has_key = 1;
	host_start(a, NULL);
	sim_run_for(3000);
	ck_assert_int_eq(count_prefix(a, "* WARNING: the server at 10.0.0.1:7777 has another key "
				      "than --server-key gave"), 1);
	ck_assert_int_eq(a->c.registered, 0);
}
END_TEST

/*
 * Forged answers from the server's address (issue 12, attack 3): a version
 * ERROR, a NAME_TAKEN, a PEER with the attacker's endpoint, sealed under
 * the wrong key or not at all, or a real one replayed, or with a bit
 * flipped: each is dropped and counted; nothing changes and the chat goes on.
 */
START_TEST(forged_answers_change_nothing)
{
	static const uint8_t v1_error[] = { PROTO_MAGIC, 1, PROTO_ERROR, 0, PROTO_E_VERSION,
					    PROTO_REGISTER, 1, 0 };
	struct sim_host *a, *b;
	struct proto_msg m;
	uint8_t wrong_k[AUTH_KEY_LEN], buf[PROTO_MAX_DATAGRAM];
	struct proto_addr evil = harness_addr4(10, 66, 6, 6, 666);
	uint64_t unauth;
	size_t len;
	int lines;

	alice_and_bob(&a, &b);
	lines = a->nlines;
	unauth = a->c.stats.unauthenticated;
	memset(wrong_k, 0x77, sizeof(wrong_k));

	/* A version-1 server's refusal: said (once) only while nothing sealed ever came; never fatal. */
	client_handle(&a->c, v1_error, sizeof(v1_error), &sim.srv_addr, sim.now);
	ck_assert_uint_eq(a->c.stats.version_refusals, 1);

	/* NAME_TAKEN and a version ERROR, unsealed (open form) and sealed under another key. */
	memset(&m, 0, sizeof(m));
	m.type = PROTO_ERROR;
	m.code = PROTO_E_NAME_TAKEN;
	m.request = PROTO_REGISTER;
	snprintf(m.name, sizeof(m.name), "alice");
	inject(a, &m, &sim.srv_addr);
	inject_sealed_under(a, &m, wrong_k, sim.srv.counter + 100);
	m.code = PROTO_E_VERSION;
	inject_sealed_under(a, &m, wrong_k, sim.srv.counter + 101);

	/* A PEER that would move bob to the attacker. */
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	snprintf(m.name, sizeof(m.name), "bob");
	memcpy(m.peer_key, b->cfg.id.pub, PROTO_KEY_LEN);
	m.public_ep = evil;
	inject_sealed_under(a, &m, wrong_k, sim.srv.counter + 102);
	ck_assert_uint_eq(a->c.stats.unauthenticated, unauth + 3);
	ck_assert_uint_ge(a->c.stats.malformed, 1); /* the open form fails to decode as sealed */

	/* A real answer, with one bit flipped anywhere: dropped. */
	inject_answer(a, &m); /* a real PEER (the server's key, a's K): a new introduction */
	len = 0;
	{
		uint8_t k[AUTH_KEY_LEN];
		size_t off;
		int n;

		host_k(a, k);
		m.counter = ++sim.srv.counter;
		n = proto_encode_open(&m, buf, sizeof(buf), &off);
		len = auth_seal_answer(buf, (size_t)n, sizeof(buf), off, k);
	}
	unauth = a->c.stats.unauthenticated;
	for (size_t bit = 0; bit < 8 * len; bit += 7) {
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		client_handle(&a->c, buf, len, &sim.srv_addr, sim.now);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* Replayed whole, twice: the first one is new to alice, the second is not. */
	client_handle(&a->c, buf, len, &sim.srv_addr, sim.now);
	client_handle(&a->c, buf, len, &sim.srv_addr, sim.now);
	ck_assert_uint_ge(a->c.stats.unauthenticated, unauth + 8 * len / 7 / 2);

	/* Nothing changed: not fatal, still registered, bob where he was, and the chat goes on. */
	ck_assert_int_eq(a->c.fatal, 0);
	ck_assert_int_eq(a->c.registered, 1);
	ck_assert_int_eq(count_prefix(a, "* name alice is taken"), 0);
	sim_run_for(2000);
	type(a, "still here");
	expect_line_within(b, "<alice> still here", 3000);
	type(b, "/msg alice me too");
	expect_line_within(a, "<bob> me too", 3000);
	ck_assert_int_eq(count_prefix(a, "* the server at"), 0); /* sealed answers came: not said */
	(void)lines;
}
END_TEST

/*
 * NOTICE ("register again"), not sealed: anyone can send it, so it only
 * makes the client register again (harmless, and its answer is sealed),
 * at most once a CLIENT_RETRY_MS however many come.
 */
START_TEST(forged_notice_only_reregisters)
{
	struct sim_host *a, *b;
	struct proto_msg m;
	uint64_t regs;

	alice_and_bob(&a, &b);
	regs = sim.srv.stats.registrations;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_NOTICE;
	m.code = PROTO_E_UNKNOWN;
	m.request = PROTO_REFRESH;
	snprintf(m.name, sizeof(m.name), "alice");
	for (int i = 0; i < 100; i++)
		inject(a, &m, &sim.srv_addr);
	sim_run_for(400);
	ck_assert_uint_eq(sim.srv.stats.registrations, regs + 1);
	ck_assert_int_eq(a->c.registered, 1);
	ck_assert_int_eq(a->c.fatal, 0);
	ck_assert_uint_ge(a->c.stats.unauthenticated, 99);
	/* About another name, or another code: nothing at all. */
	snprintf(m.name, sizeof(m.name), "bob");
	sim_run_for(1000);
	inject(a, &m, &sim.srv_addr);
	m.code = PROTO_E_NAME_TAKEN;
	snprintf(m.name, sizeof(m.name), "alice");
	inject(a, &m, &sim.srv_addr);
	ck_assert_int_eq(a->c.registered, 1);
	ck_assert_int_eq(a->c.fatal, 0);
	type(a, "fine");
	expect_line_within(b, "<alice> fine", 3000);
}
END_TEST

/* ---- protocol version 2: sessions, paths on proof, trust, abuse (issue 12) ---- */

/* Returns 1 when a's and b's current sessions are one: each one's index is the other's remote. */
static int one_session(const struct peer *pa, const struct peer *pb)
{
	return pa->sess.current.valid && pb->sess.current.valid &&
	       pa->sess.current.local_index == pb->sess.current.remote_index &&
	       pb->sess.current.local_index == pa->sess.current.remote_index &&
	       memcmp(pa->sess.current.send_key, pb->sess.current.recv_key, SESSION_KEY_LEN) == 0 &&
	       !pa->sess.next.valid && !pb->sess.next.valid;
}

/*
 * The handshake rides the punch: each side's probes all carry one INIT
 * (the same bytes to every endpoint, again and again), the first RESP
 * connects, and the chat is sealed from the first line: no PROBE ever
 * carries a line, and the two sides share one session.
 */
START_TEST(handshake_in_the_punch)
{
	struct sim_host *a, *b;

	alice_and_bob(&a, &b);
	ck_assert_uint_gt(a->ninits + b->ninits, 2);
	ck_assert_int_eq(a->init_variants, 0);
	ck_assert_int_eq(b->init_variants, 0);
	ck_assert_uint_eq(a->c.stats.handshakes, 1);
	ck_assert_uint_eq(b->c.stats.handshakes, 1);
	ck_assert(one_session(a->c.peers[0], b->c.peers[0]));
	ck_assert_uint_gt(a->sent[PROTO_STREAM], 0); /* sealed: counted by what was inside */
	/* (Only the RESPs to INITs repeated after the handshake are dropped, unopened.) */
	ck_assert_uint_eq(a->c.stats.malformed + b->c.stats.malformed, 0);
	/*
	 * Connecting took what punching did: registration, lookup, one round
	 * trip of probes; the side that answered the handshake one leg more
	 * (its RESP's confirmation).
	 */
	ck_assert_int_le(a->line_ms[find_line(a, "* connected to bob", 0)] - SIM_T0_MS,
			 4 * WAN_MS + 2 * WAN_MS + 3 * WAN_MS);
}
END_TEST

/* The same through the relay alone: INIT and RESP ride RELAY payloads, then the sealed chat. */
START_TEST(handshake_through_the_relay)
{
	struct sim_host *a, *b;

	relayed_pair(&a, &b);
	ck_assert_uint_eq(a->c.stats.handshakes, 1);
	ck_assert_uint_eq(b->c.stats.handshakes, 1);
	ck_assert(one_session(a->c.peers[0], b->c.peers[0]));
	ck_assert_uint_gt(a->c.stats.relayed + b->c.stats.relayed, 0);
	type(b, "and back");
	expect_line_within(a, "<bob> and back", 1000);
}
END_TEST

/* Both sides want each other at once: both probe with an INIT, and they end with one session. */
START_TEST(simultaneous_probing_one_session)
{
	struct sim_host *a = host_up("alice", 2, "bob", 0xa1);
	struct sim_host *b = host_up("bob", 3, "alice", 0xb0);

	type(a, "from alice");
	type(b, "from bob");
	expect_line_within(b, "<alice> from alice", 3000);
	if (count_exact(a, "<bob> from bob") == 0)
		expect_line_within(a, "<bob> from bob", 1000);
	ck_assert_uint_gt(a->ninits, 0);
	ck_assert_uint_gt(b->ninits, 0);
	sim_run_for(1000);
	ck_assert(one_session(a->c.peers[0], b->c.peers[0]));
	ck_assert_uint_eq(a->c.stats.handshakes + b->c.stats.handshakes, 2);
	ck_assert_int_eq(count_exact(a, "<bob> from bob"), 1);
	ck_assert_int_eq(count_exact(b, "<alice> from alice"), 1);
}
END_TEST

/* Everything a host's peer state can be seen by: for "nothing changed". */
struct peer_view {
	int nlines, state;
	struct route path;
	uint64_t rcv_total;     /* the chat streams' highest offsets received: a replay adds none */
	uint64_t path_moves;
};

/* The bytes h's stream connection with its first peer received, at their highest offsets. */
static uint64_t rcv_total_of(const struct sim_host *h)
{
	const struct stream_conn *sc = peer_stream_conn((struct client *)&h->c, h->c.peers[0]->name);

	return sc != NULL ? sc->rcv_total : 0;
}

static struct peer_view view_of(const struct sim_host *h)
{
	struct peer_view v;

	memset(&v, 0, sizeof(v));
	v.nlines = h->nlines;
	v.state = h->c.peers[0]->state;
	v.path = h->c.peers[0]->path;
	v.rcv_total = rcv_total_of(h);
	v.path_moves = h->c.stats.path_moves;
	return v;
}

static void assert_unchanged(const struct sim_host *h, const struct peer_view *v)
{
	ck_assert_int_eq(h->nlines, v->nlines);
	ck_assert_int_eq(h->c.peers[0]->state, v->state);
	ck_assert(client_route_equal(&h->c.peers[0]->path, &v->path));
	ck_assert_uint_eq(rcv_total_of(h), v->rcv_total);
	ck_assert_uint_eq(h->c.stats.path_moves, v->path_moves);
	ck_assert_int_eq(h->c.fatal, 0);
}

/*
 * Every datagram bob sent alice in a chat (INITs, RESPs, sealed lines,
 * ACKs, PINGs), handed to her again: as it was, from another address,
 * and with one bit flipped. Nothing is shown twice or at all, no path
 * moves, and the chat goes on both ways. (Issue 12's attack 4: one
 * sniffed datagram moved a path and showed an injected line.)
 */
START_TEST(replayed_flipped_or_moved_changes_nothing)
{
	struct proto_addr mallory = harness_addr4(10, 0, 0, 66, 6666);
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1), *b;
	struct peer_view v;
	int n;

	sim.capture_to = a->id;
	sim.capture_from = 1;
	host_start(a, "bob");
	b = host_up("bob", 3, NULL, 0xb0);
	type(a, "hello");
	expect_line_within(b, "<alice> hello", 3000);
	type(b, "secret words");
	expect_line_within(a, "<bob> secret words", 1000);
	sim_run_for(2000);
	n = sim.ncaptured;
	ck_assert_int_gt(n, 4);
	v = view_of(a);
	for (int i = 0; i < n; i++) {
		const uint8_t *d = sim.captured[i].buf;
		size_t len = sim.captured[i].len;
		uint8_t flipped[PROTO_MAX_DATAGRAM];

		client_handle(&a->c, d, len, &b->pub, sim.now);
		client_handle(&a->c, d, len, &mallory, sim.now);
		for (size_t bit = PROTO_HEADER_LEN * 8; bit < len * 8; bit += 37) {
			memcpy(flipped, d, len);
			flipped[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			client_handle(&a->c, flipped, len, &b->pub, sim.now);
		}
		assert_unchanged(a, &v);
	}
	ck_assert_uint_gt(a->c.stats.unopened, (uint64_t)n);
	/* What alice answered (a cached RESP, a challenge to mallory) moves nothing either. */
	sim_run_for(3000);
	ck_assert_int_eq(count_exact(a, "<bob> secret words"), 1);
	ck_assert(client_route_equal(&a->c.peers[0]->path, &v.path));
	type(a, "still us");
	expect_line_within(b, "<alice> still us", 1000);
	type(b, "yes");
	expect_line_within(a, "<bob> yes", 1000);
}
END_TEST

/*
 * A sniffed INIT, replayed from an attacker's address after the
 * handshake: the side that answered it sends its cached RESP to the
 * attacker never, only ever where its first RESP went (a lost RESP), and
 * nothing changes. (attack.sh check 4: the cached RESP went to whoever
 * sent the INIT again, so a replay drew an answer at the attacker's
 * address.) A challenge may go there: it proves nothing until answered.
 */
START_TEST(replayed_init_answered_only_where_its_resp_went)
{
	struct sim_host *a, *b, *h[2];
	int answered = 0;

	alice_and_bob(&a, &b);
	type(b, "back");
	expect_line_within(a, "<bob> back", 1000);
	sim_run_for(1000);
	sim.watch = harness_addr4(10, 0, 0, 66, 6666);
	h[0] = a;
	h[1] = b;
	for (int i = 0; i < 2; i++) {
		struct sim_host *from = h[i], *to = h[1 - i];
		struct peer *p = to->c.peers[0];
		uint8_t probe[PROTO_HEADER_LEN + SESSION_INIT_LEN] = { PROTO_MAGIC, PROTO_VERSION, PROTO_PROBE, 0 };
		struct peer_view v = view_of(to);
		uint32_t acks = to->sent[PROTO_PROBE_ACK];

		if (from->ninits == 0 || !p->resp_valid ||
		    memcmp(p->init_in, from->first_init, SESSION_INIT_LEN) != 0)
			continue;
		answered++;
		ck_assert(!p->resp_to.relay);
		memcpy(probe + PROTO_HEADER_LEN, from->first_init, SESSION_INIT_LEN);
		for (int k = 0; k < 3; k++)
			client_handle(&to->c, probe, sizeof(probe), &sim.watch, sim.now);
		assert_unchanged(to, &v);
		ck_assert_uint_eq(sim.watched[PROTO_PROBE_ACK], 0);
		ck_assert_uint_eq(to->sent[PROTO_PROBE_ACK], acks);
		/* From where the first RESP went, it is a lost RESP: the same one again. */
		client_handle(&to->c, probe, sizeof(probe), &p->resp_to.addr, sim.now);
		ck_assert_uint_eq(to->sent[PROTO_PROBE_ACK], acks + 1);
		assert_unchanged(to, &v);
	}
	ck_assert_int_ge(answered, 1); /* the handshake: a side answered an INIT */
	sim_run_for(2000);
	ck_assert_uint_eq(sim.watched[PROTO_PROBE_ACK], 0);
	ck_assert_uint_eq(sim.watched[PROTO_PROBE], 0);
	type(a, "still us");
	expect_line_within(b, "<alice> still us", 1000);
	type(b, "yes");
	expect_line_within(a, "<bob> yes", 1000);
	ck_assert_int_eq(count_exact(a, "<bob> back"), 1);
}
END_TEST

/*
 * bob's NAT gives him a new port: his line from there is shown (it opens),
 * but alice's path moves only when her challenge is answered from there.
 * While bob's PATH_RESPONSEs are lost, it never moves. (His LOOKUPs are
 * lost all along: the server's new introduction, tick_suspect's way back,
 * would prove the path by a handshake instead.)
 */
START_TEST(path_moves_only_on_proof)
{
	struct sim_host *a, *b;
	struct route before;

	alice_and_bob(&a, &b);
	sim_run_for(1000);
	before = a->c.peers[0]->path;
	b->pub = harness_addr4(10, 0, 0, 3, 6001);
	b->drop_sent = 1u << PROTO_PATH_RESPONSE | 1u << PROTO_LOOKUP;
	type(b, "/msg alice moved");
	expect_line_within(a, "<bob> moved", 3000);
	sim_run_for(3 * CLIENT_PATH_RETRY_MS);
	ck_assert(client_route_equal(&a->c.peers[0]->path, &before));
	ck_assert_uint_eq(a->c.stats.path_moves, 0);
	ck_assert_uint_gt(b->sent[PROTO_PATH_RESPONSE], 0); /* asked, answered, lost */
	b->drop_sent = 1u << PROTO_LOOKUP;
	type(b, "/msg alice again");
	expect_line_within(a, "<bob> again", 3000);
	sim_run_for(CLIENT_PATH_RETRY_MS + 2 * WAN_MS);
	ck_assert_uint_eq(a->c.stats.path_moves, 1);
	ck_assert(proto_addr_equal(&a->c.peers[0]->path.addr, &b->pub));
}
END_TEST

/*
 * bob comes back with another key (his own, or one the server made up):
 * alice refuses it loudly, and nothing goes to it, lines included, until
 * she accepts it with /trust bob.
 */
START_TEST(changed_key_refused_until_trust)
{
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1), *b, *b2;
	char want[TRUST_MSG_MAX], number[TRUST_SAFETY_SIZE];
	uint32_t probes, sealed;
	int i;

	host_trust(a);
	host_start(a, "bob");
	b = host_up("bob", 3, NULL, 0xb0);
	type(a, "hello");
	expect_line_within(b, "<alice> hello", 3000);
	trust_msg_pinned(want, sizeof(want), "bob", b->cfg.id.pub);
	ck_assert_int_eq(count_exact(a, want), 1);
	ck_assert_int_eq(trust_check(a->trust, "bob", b->cfg.id.pub), TRUST_PINNED);

	/*
	 * bob's program and key are gone; once the server has let his name
	 * go (a live name stays its key's), a bob with a new key takes it.
	 */
	b->live = 0;
	sim_run_for(SERVER_DEFAULT_TTL_S * 1000 + 1000);
	b2 = host_new("bob", 3, 5000, 0xb0);
	b2->cfg.id.secret[0] ^= 0x40;
	x25519_public(b2->cfg.id.pub, b2->cfg.id.secret);
	host_start(b2, NULL);
	type(b2, "/msg alice it is me");
	trust_msg_changed(want, sizeof(want), "bob", b->cfg.id.pub, b2->cfg.id.pub);
	expect_line_within(a, want, 5000);
	probes = a->sent[PROTO_PROBE] + a->sent[PROTO_PROBE_ACK];
	sealed = a->sent[PROTO_STREAM] + a->sent[PROTO_PING] + a->sent[PROTO_ACK];
	type(a, "are you bob?");
	ck_assert_str_eq(a->lines[a->nlines - 1],
			 "* not delivered to bob: \"are you bob?\": bob's key has changed");
	sim_run_for(3000);
	ck_assert_uint_eq(a->sent[PROTO_PROBE] + a->sent[PROTO_PROBE_ACK], probes);
	ck_assert_uint_eq(a->sent[PROTO_STREAM] + a->sent[PROTO_PING] + a->sent[PROTO_ACK], sealed);
	ck_assert_int_eq(count_prefix(a, "<bob> it is me"), 0);
	ck_assert_uint_gt(a->c.stats.refused_inits, 0); /* his INITs: refused, unanswered */
	type(a, "/peers");
	ck_assert_ptr_nonnull(strstr(a->lines[a->nlines - 1], " key changed"));
	/* /verify says to /trust first; /trust takes the new key, and the chat goes on. */
	type(a, "/verify bob");
	ck_assert_str_eq(a->lines[a->nlines - 1],
			 "* bob's key has changed: /trust bob first, then /verify bob");
	type(a, "/trust bob");
	trust_msg_accepted(want, sizeof(want), "bob", b2->cfg.id.pub);
	ck_assert_str_eq(a->lines[a->nlines - 1], want);
	ck_assert_int_eq(trust_check(a->trust, "bob", b2->cfg.id.pub), TRUST_PINNED);
	type(a, "welcome back");
	expect_line_within(b2, "<alice> welcome back", 5000);
	type(b2, "/msg alice thanks");
	expect_line_within(a, "<bob> thanks", 1000);
	/* The same safety number on both sides; "yes" marks him verified. */
	type(a, "/verify bob");
	i = a->nlines - 1;
	type(b2, "/verify alice");
	trust_msg_safety(want, sizeof(want), "bob", a->cfg.id.pub, b2->cfg.id.pub);
	ck_assert_str_eq(a->lines[i], want);
	ck_assert_int_eq(trust_safety_number(a->cfg.id.pub, b2->cfg.id.pub, number, sizeof(number)), 0);
	ck_assert_ptr_nonnull(strstr(a->lines[i], number));
	ck_assert_ptr_nonnull(strstr(b2->lines[b2->nlines - 1], number));
	type(a, "/verify bob yes");
	trust_msg_verified(want, sizeof(want), "bob", b2->cfg.id.pub);
	ck_assert_str_eq(a->lines[a->nlines - 1], want);
	ck_assert_int_eq(trust_check(a->trust, "bob", b2->cfg.id.pub), TRUST_VERIFIED);
}
END_TEST

/* An introduction from the server, of name at endpoint ep with a made-up key, injected. */
static void introduce(struct sim_host *h, const char *name, const struct proto_addr *ep)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.public_ep = *ep;
	m.nprivate = 1;
	m.private_ep[0] = *ep;
	m.private_ep[0].port++;
	memset(m.peer_key, name[1], sizeof(m.peer_key));
	inject_answer(h, &m);
}

/*
 * Issue 12's attacks 5 and 6: introductions nobody asked for, many of
 * them, to endpoints that never answer. The table stays bounded and makes
 * room for the peer alice wants; she punches for a few of them only, and
 * probes each dead endpoint a few times only.
 */
START_TEST(unsolicited_introductions_bounded)
{
	struct sim_host *a = host_up("alice", 2, NULL, 0xa1), *b;
	struct proto_addr nowhere = harness_addr4(10, 9, 9, 9, 9000);
	char name[16];
	uint64_t unroutable;

	sim_run_for(1000);
	unroutable = sim.unroutable;
	for (int i = 0; i < CLIENT_MAX_PEERS + 16; i++) {
		snprintf(name, sizeof(name), "m%02d", i);
		nowhere.port = (uint16_t)(9000 + 2 * i);
		introduce(a, name, &nowhere);
		ck_assert_int_le(a->c.npeers, CLIENT_MAX_PEERS);
	}
	ck_assert_uint_eq(a->c.stats.evicted, 16);
	ck_assert_uint_eq(a->c.stats.unsolicited_dropped,
			  CLIENT_MAX_PEERS + 16 - CLIENT_UNSOLICITED_BURST);
	sim_run_for(CLIENT_PUNCH_MS + 1000);
	/* Each punched-for dead endpoint (public, private) got at most a few probes. */
	ck_assert_uint_le(sim.unroutable - unroutable,
			  2 * CLIENT_UNSOLICITED_BURST * CLIENT_PROBES_UNANSWERED);
	ck_assert_uint_gt(sim.unroutable - unroutable, 0);
	/* The table was full of strangers: the peer she wants still gets in. */
	b = host_up("bob", 3, NULL, 0xb0);
	sim_run_for(1000);
	type(a, "/msg bob hi");
	expect_line_within(b, "<alice> hi", 3000);
	ck_assert_ptr_nonnull(client_peer_find(&a->c, "bob"));
}
END_TEST

/*
 * Issue 12's attack 6, with one third party named four times: a PEER
 * whose private endpoints all name one address that never answers (and
 * whose public one does not either). That address gets a few probes an
 * attempt, as any dead endpoint does, not four times as many.
 * (attack.sh check 6: the four slots were probed each on its own.)
 */
START_TEST(one_endpoint_named_many_times_probed_a_few_times)
{
	struct sim_host *a = host_up("alice", 2, NULL, 0xa1);
	struct proto_addr nowhere = harness_addr4(10, 9, 9, 9, 9000);
	struct proto_msg m;

	sim_run_for(1000);
	sim.watch = harness_addr4(10, 9, 9, 4, 4444);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	snprintf(m.name, sizeof(m.name), "mallory");
	m.public_ep = nowhere;
	m.nprivate = PROTO_MAX_PRIVATE;
	for (int i = 0; i < PROTO_MAX_PRIVATE; i++)
		m.private_ep[i] = sim.watch;
	memset(m.peer_key, 0x6d, sizeof(m.peer_key));
	inject_answer(a, &m);
	sim_run_for(CLIENT_PUNCH_MS + 1000);
	ck_assert_uint_gt(sim.watched[PROTO_PROBE], 0);
	ck_assert_uint_le(sim.watched[PROTO_PROBE], CLIENT_PROBES_UNANSWERED);
}
END_TEST

/*
 * A dual-stack peer: the PEER carries its endpoint in the other family
 * too, and both are probed from the first probe on, at once (neither
 * waits for the other to fail); the other family's, dead here, gets a few
 * probes an attempt, as any endpoint that does not answer.
 */
START_TEST(other_family_probed_at_once)
{
	struct sim_host *a = host_new("alice", 2, 5000, 0xa1);
	struct proto_addr nowhere = harness_addr4(10, 9, 9, 9, 9000);
	struct proto_msg m;

	a->cfg.ipv6 = 1; /* its socket reaches IPv6 */
	host_start(a, NULL);
	sim_run_for(1000);
	sim.watch = harness_addr6(9, 4, 4444);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	snprintf(m.name, sizeof(m.name), "bob");
	m.public_ep = nowhere;
	m.other_ep = sim.watch;
	memset(m.peer_key, 0x6d, sizeof(m.peer_key));
	inject_answer(a, &m);
	sim_run_for(1);
	ck_assert_uint_eq(sim.watched[PROTO_PROBE], 1); /* with the first probe to the public one */
	ck_assert(proto_addr_equal(&a->c.peers[0]->other_ep, &sim.watch));
	sim_run_for(CLIENT_PUNCH_MS + 1000);
	ck_assert_uint_le(sim.watched[PROTO_PROBE], CLIENT_PROBES_UNANSWERED);
}
END_TEST

/*
 * The family the server saw first is dead between the peers (here, an
 * address nobody has); the other one's endpoint, which the PEER carries
 * beside it, answers, and the chat goes direct there, as a public path.
 */
START_TEST(other_family_carries_the_chat)
{
	struct sim_host *a = host_up("alice", 2, NULL, 0xa1);
	struct sim_host *b = host_up("bob", 3, NULL, 0xb0);
	struct proto_msg m;
	char want[64 + NET_ADDRSTRLEN], addr[NET_ADDRSTRLEN];

	/* Each NAT lets in only where its host sent: bob's probes reach alice once hers went out. */
	sim.restricted = 1;
	sim_run_for(1000);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	snprintf(m.name, sizeof(m.name), "bob");
	m.public_ep = harness_addr4(10, 9, 9, 9, 9000); /* nobody: that family's path is blocked */
	m.other_ep = b->pub;
	memcpy(m.peer_key, b->cfg.id.pub, PROTO_KEY_LEN);
	inject_answer(a, &m);
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	snprintf(m.name, sizeof(m.name), "alice");
	m.public_ep = a->pub;
	memcpy(m.peer_key, a->cfg.id.pub, PROTO_KEY_LEN);
	inject_answer(b, &m);
	snprintf(want, sizeof(want), "* connected to bob via %s (public)", net_addr_str(&b->pub, addr));
	expect_line_within(a, want, 2000);
	ck_assert_int_eq(a->c.peers[0]->path_kind, PATH_PUBLIC);
	ck_assert(proto_addr_equal(&a->c.peers[0]->path.addr, &b->pub));
	type(a, "/chat bob");
	type(a, "over the other family");
	expect_line_within(b, "<alice> over the other family", 3000);
}
END_TEST

/* Keys go at BYE and at exit: nothing of a session is left in memory. */
START_TEST(keys_wiped)
{
	enum { KEPT = offsetof(struct session_peer, hs) }; /* the pin and the last timestamp: no secrets */
	static const uint8_t zero[sizeof(struct session_peer) - KEPT];
	struct sim_host *a, *b;
	const struct peer *pb;

	alice_and_bob(&a, &b);
	pb = b->c.peers[0];
	ck_assert(pb->sess.current.valid);
	client_shutdown(&a->c, sim.now);
	a->c.quit = 1; /* main() returns: no more ticks; its BYE is on its way */
	expect_line_within(b, "* alice is offline", 1000);
	/* Everything after the pin and the last timestamp is zero: handshake and sessions. */
	ck_assert_mem_eq((const uint8_t *)&pb->sess + KEPT, zero, sizeof(zero));
	ck_assert_mem_eq((const uint8_t *)&a->c.peers[0]->sess + KEPT, zero, sizeof(zero));
}
END_TEST

/* ---- several servers ---- */

/*
 * A second rendezvous server for the multi-server tests: an address and a
 * key. Unless a test starts it (server_start_as with sim.srv2), nothing
 * runs there, so what the client sends it is lost (a server that does not
 * answer) until the test hands the client an answer of its own
 * (second_answer).
 */
#define SECOND_SERVER_SECRET 0x6e
static uint64_t second_counter;

static struct proto_addr second_addr(void)
{
	return harness_addr4(10, 0, 0, 9, 7777);
}

/*
 * host_new and host_start for a client of both servers: the sim's first
 * and the second after it, or (second_first) the other way round.
 */
static struct sim_host *host_up_two_as(const char *name, uint8_t last, const char *peer,
				       uint8_t token, int second_first)
{
	struct sim_host *h = host_new(name, last, 5000, token);
	struct client_server_config *two = &h->cfg.servers[second_first ? 0 : 1];
	uint8_t secret[X25519_LEN];
	struct identity srv2;

	memset(secret, SECOND_SERVER_SECRET, sizeof(secret));
	identity_from_secret(&srv2, secret);
	h->cfg.nservers = 2;
	h->cfg.servers[1] = h->cfg.servers[0];
	two->addr = second_addr();
	memcpy(two->key, srv2.pub, PROTO_KEY_LEN);
	two->has_key = 1;
	identity_wipe(&srv2);
	host_start(h, peer);
	return h;
}

static struct sim_host *host_up_two(const char *name, uint8_t last, const char *peer, uint8_t token)
{
	return host_up_two_as(name, last, peer, token, 0);
}

/* Hands h the second server's message m: sealed under their K, from its address. */
static void second_answer(struct sim_host *h, struct proto_msg *m)
{
	uint8_t buf[PROTO_MAX_DATAGRAM], k[AUTH_KEY_LEN];
	size_t off, len;
	int n;

	ck_assert_int_eq(auth_derive(k, h->cfg.id.secret, h->cfg.servers[1].key, h->cfg.id.pub,
				     h->cfg.servers[1].key), 0);
	m->counter = ++second_counter + 1000;
	n = proto_encode_open(m, buf, sizeof(buf), &off);
	ck_assert_int_gt(n, 0);
	len = auth_seal_answer(buf, (size_t)n, sizeof(buf), off, k);
	ck_assert_uint_gt(len, 0);
	{
		struct proto_addr from = second_addr();

		client_handle(&h->c, buf, len, &from, sim.now);
	}
}

/* Hands h the second server's REGISTERED of h's name, seeing h at ep (TTL 60 s). */
static void second_registered(struct sim_host *h, const struct proto_addr *ep)
{
	struct proto_msg m;

	memset(&m, 0, sizeof(m));
	m.type = PROTO_REGISTERED;
	snprintf(m.name, sizeof(m.name), "%s", h->cfg.name);
	m.public_ep = *ep;
	m.ttl_s = 60;
	second_answer(h, &m);
}

/*
 * Know your NAT with two servers: the second sees alice at another port
 * than the first did in the same round: her NAT is symmetric, said once.
 * Seen apart long after the first server's word, it is no verdict but a
 * NAT that may have remapped: the first server is asked again at once,
 * and its answer (the old endpoint, here) makes the verdict.
 */
START_TEST(two_servers_see_a_symmetric_nat)
{
	struct sim_host *a = host_up_two("alice", 2, NULL, 0xa1);
	const char *said = "* your NAT is symmetric";
	struct proto_addr ep = a->pub;

	a->c.cfg.private_ep[0] = harness_addr4(192, 168, 1, 2, 5000); /* behind a NAT, then */
	ck_assert_int_ge(sim_run_until(a, "* registered as alice with 10.0.0.1:7777", sim.now + 1000), 0);
	second_registered(a, &ep);
	ck_assert_int_eq(a->c.nat, PROTO_NAT_UNKNOWN); /* one endpoint, and no alternate port */
	ck_assert_int_eq(count_prefix(a, said), 0);
	ep.port = (uint16_t)(a->pub.port + 1000);
	second_registered(a, &ep);
	ck_assert_int_eq(a->c.nat, PROTO_NAT_SYMMETRIC);
	ck_assert_int_eq(count_prefix(a, said), 1);

	/* A second opinion later: back to one endpoint, then apart again after 3 s. */
	second_registered(a, &a->pub);
	ck_assert_int_eq(a->c.nat, PROTO_NAT_UNKNOWN);
	sim_run_for(3000);
	ep.port = (uint16_t)(a->pub.port + 2000);
	second_registered(a, &ep);
	ck_assert_int_eq(a->c.nat, PROTO_NAT_UNKNOWN);
	ck_assert_int_eq(a->c.srv[0].next_reg_ms, sim.now);
	sim_run_for(1000);
	ck_assert_int_eq(a->c.nat, PROTO_NAT_SYMMETRIC);
	ck_assert_int_eq(count_prefix(a, said), 1);
}
END_TEST

/*
 * A server that never answers is said once, after CLIENT_RETRY_MAX_MS;
 * the other carries the name meanwhile; when it answers, that is said
 * once too. client_refresh_now then makes both refreshes due at once.
 */
START_TEST(second_server_down_and_back)
{
	struct sim_host *a = host_up_two("alice", 2, NULL, 0xa1);
	const char *down = "* server 10.0.0.9:7777 is not answering; going on with the others";

	ck_assert_int_ge(sim_run_until(a, "* registered as alice with 10.0.0.1:7777", sim.now + 1000), 0);
	ck_assert_int_eq(a->c.registered, 1);
	ck_assert_int_eq(a->c.srv[1].down, 0);
	sim_run_for(CLIENT_RETRY_MAX_MS - 100);
	ck_assert_int_eq(count_exact(a, down), 0);
	sim_run_for(60000);
	ck_assert_int_eq(count_exact(a, down), 1);
	ck_assert_int_eq(a->c.srv[1].down, 1);
	ck_assert_int_eq(a->c.registered, 1); /* the first server holds the name all along */
	ck_assert(proto_addr_equal(&a->c.public_ep, &a->pub));

	second_registered(a, &a->pub);
	ck_assert_int_eq(count_exact(a, "* server 10.0.0.9:7777 is answering again"), 1);
	ck_assert_int_eq(a->c.srv[1].down, 0);
	ck_assert_int_eq(a->c.srv[1].registered, 1);
	ck_assert_int_gt(a->c.srv[1].next_reg_ms, sim.now);
	ck_assert_int_gt(a->c.srv[0].next_reg_ms, sim.now);
	client_refresh_now(&a->c, sim.now);
	ck_assert_int_eq(a->c.srv[0].next_reg_ms, sim.now);
	ck_assert_int_eq(a->c.srv[1].next_reg_ms, sim.now);
}
END_TEST

/*
 * Hosts that cannot reach each other, each a client of a server that never
 * answers (listed first) and of the sim's: the introduction and the relay
 * come from the one that answers, and the chat flows through it; the dead
 * one is said once and changes nothing.
 */
START_TEST(relay_through_the_server_that_answers)
{
	struct sim_host *a, *b;

	sim.no_direct = 1;
	a = host_up_two_as("alice", 2, "bob", 0xa1, 1);
	b = host_up_two_as("bob", 3, NULL, 0xb0, 1);
	type(a, "first");
	expect_line_within(a, "* connected to bob via 10.0.0.1:7777 (relay)", 3000);
	expect_line_within(b, "<alice> first", 1000);
	ck_assert_int_eq(a->c.peers[0]->intro_srv, 1);
	sim_run_for(CLIENT_RETRY_MAX_MS + 1000);
	ck_assert_int_eq(count_exact(a, "* server 10.0.0.9:7777 is not answering; going on with the others"), 1);
	type(a, "second");
	expect_line_within(b, "<alice> second", 1000);
	ck_assert_int_eq(count_prefix(a, "* connected to bob"), 1);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
}
END_TEST

/*
 * Both hosts clients of two real servers, no direct path: the chat goes
 * through the relay of the server that introduced them. That server dies:
 * once each client has said so, a line goes through the other server's
 * relay, and the chat goes on there. (Idle meanwhile, each side finds the
 * other silent before the server is found dead, and says it is offline;
 * the line then looks it up again through the server left.)
 */
START_TEST(relay_moves_to_the_server_left)
{
	struct sim_host *a, *b;
	struct peer *p;
	int dead;

	server_start_as(&sim.srv2, &sim.srv2_up, SECOND_SERVER_SECRET, 0x50);
	sim.no_direct = 1;
	a = host_up_two("alice", 2, "bob", 0xa1);
	b = host_up_two("bob", 3, NULL, 0xb0);
	type(a, "before");
	expect_line_within(a, "* connected to bob via ", 3000);
	expect_line_within(b, "<alice> before", 1000);
	p = client_peer_find(&a->c, "bob");
	ck_assert_int_eq(p->path_kind, PATH_RELAY);
	dead = p->intro_srv;
	ck_assert_int_eq(client_peer_find(&b->c, "alice")->intro_srv, dead); /* one server introduced both */
	if (dead == 0)
		sim.srv_up = 0;
	else
		sim.srv2_up = 0;

	/* The refresh (every 20 s) goes unanswered for CLIENT_RETRY_MAX_MS: each says so once. */
	sim_run_for(CLIENT_REFRESH_MS + CLIENT_RETRY_MAX_MS + 1000);
	ck_assert_int_eq(count_prefix(a, "* server 10.0.0."), 1);
	ck_assert_int_eq(count_prefix(b, "* server 10.0.0."), 1);
	ck_assert_int_eq(a->c.srv[dead].down, 1);
	ck_assert_int_eq(a->c.registered, 1);
	ck_assert_int_eq(client_relay_server(&a->c, p), 1 - dead);
	type(a, "after");
	expect_line_within(b, "<alice> after", 5000);
	ck_assert_uint_eq(a->c.stats.failed_lines, 0);
}
END_TEST

/*
 * Two servers name different keys for bob: refused with a warning, like a
 * changed key (the chat stops, lines fail), said once. The same key from
 * the second server only confirms the first: the chat goes on untouched.
 */
START_TEST(servers_disagree_on_a_key)
{
	struct sim_host *a = host_up_two("alice", 2, "bob", 0xa1);
	struct sim_host *b = host_up("bob", 3, NULL, 0xb0);
	uint8_t secret[X25519_LEN];
	struct identity other;
	struct proto_msg m;
	struct peer *p;

	ck_assert_int_ge(sim_run_until(a, "* connected to bob", sim.now + 5000), 0);
	type(a, "hello");
	ck_assert_int_ge(sim_run_until(b, "<alice> hello", sim.now + 5000), 0);

	/* The second server agrees: nothing changes. */
	memset(&m, 0, sizeof(m));
	m.type = PROTO_PEER;
	snprintf(m.name, sizeof(m.name), "bob");
	memcpy(m.peer_key, b->cfg.id.pub, PROTO_KEY_LEN);
	m.public_ep = harness_addr4(10, 0, 0, 3, 6000); /* another port: another NAT mapping */
	second_answer(a, &m);
	p = client_peer_find(&a->c, "bob");
	ck_assert_int_eq(p->state, PEER_CONNECTED);
	ck_assert_int_eq(p->key_conflict, 0);
	sim_run_for(1000);
	ck_assert_int_eq(count_prefix(a, "* connected to bob"), 1);

	/* It names another key: refused, said once; lines fail, and fail at once after. */
	memset(secret, 0x77, sizeof(secret));
	identity_from_secret(&other, secret);
	memcpy(m.peer_key, other.pub, PROTO_KEY_LEN);
	identity_wipe(&other);
	second_answer(a, &m);
	second_answer(a, &m);
	ck_assert_int_eq(count_prefix(a, "* WARNING: the servers at 10.0.0.1:7777 and 10.0.0.9:7777 "
				      "give different keys for bob"), 1);
	ck_assert_int_eq(p->state, PEER_OFFLINE);
	ck_assert_int_eq(client_peer_key_ok(&a->c, p), 0);
	type(a, "are you still bob?");
	ck_assert_int_eq(count_exact(a, "* not delivered to bob: \"are you still bob?\": "
				     "the servers disagree on bob's key"), 1);
	sim_run_for(5000);
	ck_assert_int_eq(count_prefix(b, "<alice> are you"), 0);
	ck_assert_int_eq(count_prefix(a, "* connected to bob"), 1);

	/* The second server names bob's key again: the servers agree, the chat may start anew. */
	memcpy(m.peer_key, b->cfg.id.pub, PROTO_KEY_LEN);
	second_answer(a, &m);
	ck_assert_int_eq(p->key_conflict, 0);
	ck_assert_int_eq(client_peer_key_ok(&a->c, p), 1);
}
END_TEST

/* ---- streams to peers, over the sealed sessions (peer_stream.h) ---- */

#define SINK_MAX 400000 /* bytes a test stream carries at most */

/* What one side of a test stream saw. */
struct sink {
	uint8_t buf[SINK_MAX];
	size_t len;
	int opened, fin, sent, stopped, reset, gone;
	uint64_t code;
};

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 10));
}

static size_t sink_recv(void *ctx, struct client *c, const char *peer, uint64_t id,
			const uint8_t *data, size_t len)
{
	struct sink *s = ctx;
	size_t n = len < SINK_MAX - s->len ? len : SINK_MAX - s->len;

	(void)c;
	(void)peer;
	(void)id;
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return len;
}

static void sink_event(void *ctx, struct client *c, const char *peer, uint64_t id, int ev,
		       uint64_t code)
{
	struct sink *s = ctx;

	(void)c;
	(void)peer;
	(void)id;
	switch (ev) {
	case STREAM_EV_OPENED: s->opened++; break;
	case STREAM_EV_FIN: s->fin++; break;
	case STREAM_EV_SENT: s->sent++; break;
	case STREAM_EV_STOPPED: s->stopped++; s->code = code; break;
	case STREAM_EV_RESET: s->reset++; s->code = code; break;
	case PEER_STREAM_EV_GONE: s->gone++; break;
	default: break;
	}
}

/* Empties a test's two sinks (static: they are large). */
static void sinks_clear(struct sink *tx, struct sink *rx)
{
	memset(tx, 0, sizeof(*tx));
	memset(rx, 0, sizeof(*rx));
}

static struct peer_stream_handler sink_handler(struct sink *s)
{
	return (struct peer_stream_handler){ .ctx = s, .recv = sink_recv, .event = sink_event };
}

/* b takes FILE streams into rx; a opens one to bob, which tx hears about. Returns its id. */
static uint64_t file_stream_open(struct sim_host *a, struct sim_host *b, struct sink *tx, struct sink *rx)
{
	struct peer_stream_handler hr = sink_handler(rx), ht = sink_handler(tx);
	int64_t id;

	ck_assert_int_eq(peer_stream_listen(&b->c, PEER_STREAM_KIND_FILE, &hr), 0);
	id = peer_stream_open(&a->c, "bob", PEER_STREAM_KIND_FILE, 3, &ht);
	ck_assert_int_ge(id, 0);
	return (uint64_t)id;
}

/* rx received exactly the pattern's first total bytes. */
static void assert_pattern(const struct sink *rx, size_t total)
{
	ck_assert_uint_eq(rx->len, total);
	for (size_t i = 0; i < total; i++)
		if (rx->buf[i] != pattern(i))
			ck_abort_msg("byte %zu differs", i);
}

/* Writes what the stream takes of the pattern's bytes [*off, total), and FIN after the last. */
static void feed(struct sim_host *h, const char *peer, uint64_t id, size_t *off, size_t total)
{
	uint8_t chunk[4096];

	while (*off < total) {
		size_t n = total - *off < sizeof(chunk) ? total - *off : sizeof(chunk);
		int64_t w;

		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern(*off + i);
		w = peer_stream_write(&h->c, peer, id, chunk, n);
		ck_assert_int_ge(w, 0);
		if (w == 0)
			return;
		*off += (size_t)w;
		if (*off == total)
			ck_assert_int_eq(peer_stream_finish(&h->c, peer, id), 0);
	}
}

/*
 * Sends total bytes from a to b on a FILE stream, within limit_ms; checks
 * every byte and the events. Returns how long it took (fake ms).
 */
static int64_t stream_across(struct sim_host *a, struct sim_host *b, size_t total,
			     int64_t limit_ms, struct sink *tx, struct sink *rx)
{
	int64_t t0 = sim.now;
	uint64_t id = file_stream_open(a, b, tx, rx);
	size_t off = 0;

	while (!rx->fin) {
		feed(a, "bob", id, &off, total);
		sim_run_for(10);
		ck_assert_int_lt(sim.now - t0, limit_ms);
	}
	ck_assert_int_eq(rx->opened, 1);
	assert_pattern(rx, total);
	sim_run_for(1000);
	ck_assert_int_eq(tx->sent, 1);
	ck_assert_int_eq(tx->gone + rx->gone + tx->stopped + rx->reset, 0);
	return sim.now - 1000 - t0;
}

/* A stream carries a file-sized run of bytes exactly, and the chat goes on beside it. */
START_TEST(stream_carries_bytes)
{
	static struct sink tx, rx;
	struct sim_host *a, *b;

	sinks_clear(&tx, &rx);
	alice_and_bob(&a, &b);
	stream_across(a, b, 300000, 20000, &tx, &rx);
	type(a, "after the file");
	expect_line_within(b, "<alice> after the file", 1000);
	ck_assert_int_eq(count_prefix(a, "* not delivered"), 0);
	ck_assert_uint_gt(a->sent[PROTO_STREAM], 280);
	ck_assert_ptr_nonnull(peer_stream_conn(&a->c, "bob"));
	ck_assert_uint_eq(peer_stream_conn(&a->c, "bob")->stats.pkts_malformed, 0);
}
END_TEST

/* Loss, duplicates and reordering between the peers: every byte once, in order. */
START_TEST(stream_over_lossy_network)
{
	static struct sink tx, rx;
	struct sim_host *a, *b;

	sinks_clear(&tx, &rx);
	sim.loss_pct = 10;
	sim.dup_pct = 5;
	sim.jitter_ms = 30;
	alice_and_bob(&a, &b);
	stream_across(a, b, 200000, 120000, &tx, &rx);
	ck_assert_uint_gt(peer_stream_conn(&a->c, "bob")->stats.bytes_resent, 0);
	ck_assert_uint_gt(sim.lost, 20);
}
END_TEST

/* Over the relay, a stream keeps to the relay's rate: the server drops nothing of it. */
START_TEST(stream_over_relay_keeps_its_rate)
{
	static struct sink tx, rx;
	struct sim_host *a, *b;
	int64_t took;

	sinks_clear(&tx, &rx);
	relayed_pair(&a, &b);
	ck_assert(peer_stream_relayed(&a->c, "bob"));
	took = stream_across(a, b, 60000, 60000, &tx, &rx);
	/* 60000 bytes and their overhead at PEER_STREAM_RELAY_RATE: not faster (a few s of burst). */
	ck_assert_int_ge(took, 60000 * 1000 / PEER_STREAM_RELAY_RATE - 3000);
	ck_assert_uint_eq(sim.srv.stats.relay_over_rate, 0);
	type(a, "still here");
	expect_line_within(b, "<alice> still here", 3000);
}
END_TEST

/* Relayed, then a direct path opens: the stream moves to it and goes on, faster, nothing restarted. */
START_TEST(stream_moves_off_the_relay)
{
	static struct sink tx, rx;
	struct sim_host *a, *b;
	int64_t t_up;

	sinks_clear(&tx, &rx);
	relayed_pair(&a, &b);
	sim_run_for(2 * CLIENT_PUNCH_MS);
	sim.no_direct = 0; /* the next upgrade burst finds the direct path */
	/* 300 kB: 50 s at the relay's rate, so most of it goes direct. */
	stream_across(a, b, 300000, CLIENT_UPGRADE_EVERY_MS + 10000, &tx, &rx);
	t_up = a->line_ms[find_line(a, direct_a, 0)];
	ck_assert_int_gt(t_up, 0);
	ck_assert_int_eq(rx.opened, 1);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
}
END_TEST

/*
 * Issue 14 (a forward that hung in the NAT lab): a stream opened over the
 * relay, with loss, then the direct path proves itself. The stream must go
 * on, on the direct path, and finish: nothing of the relay's model (its
 * rate, its window, what it left in flight) may starve the sender there.
 */
START_TEST(stream_off_the_relay_with_loss_finishes)
{
	static struct sink tx, rx;
	struct sim_host *a, *b;
	size_t off = 0, total = 300000, at_move;
	int64_t t_move;
	uint64_t id;

	sinks_clear(&tx, &rx);
	sim.wan_ms = 50;
	relayed_pair(&a, &b);
	sim.loss_pct = 5;
	sim.faulty_server = 1;
	id = file_stream_open(a, b, &tx, &rx);
	/* relayed for a while: the model learns the relay's rate */
	for (int i = 0; i < 800; i++) {
		feed(a, "bob", id, &off, total);
		sim_run_for(10);
	}
	ck_assert(peer_stream_relayed(&a->c, "bob"));
	ck_assert_uint_gt(rx.len, 0);
	sim.no_direct = 0;
	t_move = expect_line_within(a, direct_a, CLIENT_UPGRADE_EVERY_MS + 1000);
	at_move = rx.len;
	while (!rx.fin) {
		feed(a, "bob", id, &off, total);
		sim_run_for(10);
		if (sim.now - t_move > 60000)
			ck_abort_msg("stalled after the move: %zu of %zu bytes (%zu at the move), "
				     "cwnd %llu in flight %llu pto_count %u", rx.len, total, at_move,
				     (unsigned long long)peer_stream_conn(&a->c, "bob")->cc.cwnd,
				     (unsigned long long)peer_stream_conn(&a->c, "bob")->cc.bytes_in_flight,
				     peer_stream_conn(&a->c, "bob")->cc.pto_count);
	}
	assert_pattern(&rx, total);
}
END_TEST

/*
 * Issue 14: a stream that cannot get through while the peer still answers
 * (its PINGs come and go, no stream packet does) is reported within
 * PEER_STREAM_STALL_MS, and ends; the chat starts afresh. Before: nothing
 * was ever said, and probes backed off to minutes apart.
 */
START_TEST(stream_without_progress_reported)
{
	static struct sink tx, rx;
	struct sim_host *a, *b;
	size_t off = 0;
	int64_t t_cut, t_said;
	uint64_t id, probes;

	sinks_clear(&tx, &rx);
	alice_and_bob(&a, &b);
	id = file_stream_open(a, b, &tx, &rx);
	feed(a, "bob", id, &off, SINK_MAX);
	sim_run_for(200);
	/* some arrived, and some is still on its way when the path fails */
	ck_assert_uint_gt(rx.len, 0);
	ck_assert_uint_lt(rx.len, SINK_MAX);
	a->drop_sent = 1u << PROTO_STREAM; /* alice's stream packets are lost; her PINGs are not */
	t_cut = sim.now;
	sim_run_for(PEER_STREAM_STALL_MS / 2);
	/* probes go on while it waits, at most CC_PTO_MAX_MS apart */
	probes = peer_stream_conn(&a->c, "bob")->cc.n_pto;
	sim_run_for(2 * CC_PTO_MAX_MS);
	ck_assert_uint_ge(peer_stream_conn(&a->c, "bob")->cc.n_pto, probes + 2);
	t_said = expect_line_within(a, "* streams with bob made no progress for ",
				    PEER_STREAM_STALL_MS + 2 * CC_PTO_MAX_MS);
	ck_assert_int_le(t_said - t_cut, PEER_STREAM_STALL_MS + 2 * CC_PTO_MAX_MS);
	ck_assert_int_eq(tx.gone, 1);
	ck_assert_int_eq(count_prefix(a, "* bob is offline"), 0);
	/* the channel starts afresh, and carries a line again */
	a->drop_sent = 0;
	sim_run_for(1000);
	type(a, "after the stall");
	expect_line_within(b, "<alice> after the stall", 5000);
	ck_assert_int_eq(rx.gone, 1);
}
END_TEST

/*
 * Issue 14: a stream whose packets are all lost for 45 s (the peer's
 * PINGs get through, so nothing wakes the stream): once they get through
 * again, the transfer goes on within one bounded PTO, and finishes.
 * Before, the PTO had backed off to 32 s and more (x256 at most): the
 * stream sat silent long after the path was back.
 */
START_TEST(stream_after_lost_start_finishes)
{
	static struct sink tx, rx;
	struct sim_host *a, *b;
	size_t off = 0, total = 300000;
	int64_t t_open;
	uint64_t id;

	sinks_clear(&tx, &rx);
	alice_and_bob(&a, &b);
	a->drop_sent = 1u << PROTO_STREAM;
	id = file_stream_open(a, b, &tx, &rx);
	feed(a, "bob", id, &off, total);
	sim_run_for(45000); /* under PEER_STREAM_STALL_MS: it waits, and is not given up */
	ck_assert_uint_eq(rx.len, 0);
	a->drop_sent = 0;
	t_open = sim.now;
	while (!rx.fin) {
		feed(a, "bob", id, &off, total);
		sim_run_for(10);
		/* the next probe within CC_PTO_MAX_MS, then 300 kB in a second or two (before: 19 s) */
		if (sim.now - t_open > CC_PTO_MAX_MS + 2000)
			ck_abort_msg("stalled: %zu of %zu bytes, pacing %llu B/s, bw %llu, cwnd %llu",
				     rx.len, total,
				     (unsigned long long)cc_pacing_rate(&peer_stream_conn(&a->c, "bob")->cc),
				     (unsigned long long)peer_stream_conn(&a->c, "bob")->cc.bw,
				     (unsigned long long)peer_stream_conn(&a->c, "bob")->cc.cwnd);
	}
	ck_assert_uint_eq(rx.len, total);
}
END_TEST

/* A kind nobody here takes is refused, and the opener hears so. */
START_TEST(stream_of_unknown_kind_refused)
{
	static struct sink tx;
	struct peer_stream_handler ht = sink_handler(&tx);
	struct sim_host *a, *b;
	int64_t id;

	memset(&tx, 0, sizeof(tx));
	alice_and_bob(&a, &b);
	id = peer_stream_open(&a->c, "bob", PEER_STREAM_KIND_FORWARD, 3, &ht);
	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(peer_stream_write(&a->c, "bob", (uint64_t)id, (const uint8_t *)"GET", 3), 3);
	sim_run_for(2000);
	ck_assert_int_eq(tx.stopped, 1);
	ck_assert_uint_eq(tx.code, PEER_STREAM_E_REFUSED);
	ck_assert_int_eq(peer_stream_open(&a->c, "bob", 0, 3, &ht), STREAM_EINVAL);
	ck_assert_int_eq(peer_stream_open(&a->c, "alice", PEER_STREAM_KIND_FILE, 3, &ht), STREAM_EINVAL);
}
END_TEST

/* alice_and_bob, and a FILE stream from alice (tx hears about it) that carried "abc" to bob (rx). */
static void pair_with_stream(struct sim_host **a, struct sim_host **b, struct sink *tx, struct sink *rx)
{
	uint64_t id;

	sinks_clear(tx, rx);
	alice_and_bob(a, b);
	id = file_stream_open(*a, *b, tx, rx);
	ck_assert_int_eq(peer_stream_write(&(*a)->c, "bob", id, (const uint8_t *)"abc", 3), 3);
	sim_run_for(1000);
	ck_assert_uint_eq(rx->len, 3);
}

/* The peer restarts: the streams of the old incarnation end (GONE), and the chat goes on. */
START_TEST(streams_end_when_peer_restarts)
{
	static struct sink tx, rx;
	struct sim_host *a, *b, *b2;

	pair_with_stream(&a, &b, &tx, &rx);
	b2 = host_restart(b);
	expect_line_within(b2, "* registered as bob", 1000);
	type(b2, "/msg alice I am back");
	expect_line_within(a, "<bob> I am back", 3000);
	ck_assert_int_eq(tx.gone, 1);
	/* The connection now is a new one, that b2's chat stream made: alice opened nothing on it. */
	ck_assert_ptr_nonnull(peer_stream_conn(&a->c, "bob"));
	ck_assert_uint_eq(peer_stream_conn(&a->c, "bob")->next_local, 0);
}
END_TEST

/*
 * natlab's "bob drops": bob is killed, alice says he is offline, and a
 * stream waits for him (a forwarded connection). The new bob connects;
 * alice still holds the old bob's epoch. A stream opened then would ride
 * the old pair of epochs and be reset (GONE) as soon as the new epoch is
 * learned: opened once peer_stream_ready says so, it reaches the new bob.
 */
START_TEST(stream_opened_on_reconnect_reaches_restarted_peer)
{
	static struct sink tx, rx, tx2, rx2;
	struct peer_stream_handler ht2 = sink_handler(&tx2), hr2 = sink_handler(&rx2);
	struct sim_host *a, *b, *b2;
	struct peer *p;
	uint32_t old_epoch;
	int64_t id, t0;

	sinks_clear(&tx2, &rx2);
	pair_with_stream(&a, &b, &tx, &rx);
	p = client_peer_find(&a->c, "bob");
	old_epoch = p->peer_epoch;
	b->live = 0; /* killed */
	expect_line_within(a, "* bob is offline", KEEPALIVE_MS + CLIENT_ANSWER_TIMEOUT_MS + 1000);
	ck_assert_int_eq(peer_stream_ready(&a->c, "bob"), 0);
	b2 = host_restart(b);
	peer_stream_listen(&b2->c, PEER_STREAM_KIND_FILE, &hr2);
	expect_line_within(b2, "* registered as bob", 1000);
	/* alice wants bob again, as forward_net's want_peer does. */
	p->wanted = 1;
	client_start_lookup(p, sim.now);
	expect_line_within(a, "* connected to bob", 5000);
	ck_assert_uint_eq(p->peer_epoch, old_epoch); /* the race: the new epoch is not known yet */
	t0 = sim.now;
	while (!peer_stream_ready(&a->c, "bob")) {
		sim_run_for(1);
		ck_assert_int_lt(sim.now - t0, 1000);
	}
	id = peer_stream_open(&a->c, "bob", PEER_STREAM_KIND_FILE, 3, &ht2);
	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(peer_stream_write(&a->c, "bob", (uint64_t)id, (const uint8_t *)"page", 4), 4);
	ck_assert_int_eq(peer_stream_finish(&a->c, "bob", (uint64_t)id), 0);
	sim_run_for(3000);
	ck_assert_uint_ne(p->peer_epoch, old_epoch);
	ck_assert_int_eq(tx.gone, 1); /* the old bob's stream ended with his connection */
	ck_assert_int_eq(tx2.gone + tx2.reset + tx2.stopped, 0);
	ck_assert_int_eq(rx2.opened, 1);
	ck_assert_int_eq(rx2.fin, 1);
	ck_assert_uint_eq(rx2.len, 4);
	ck_assert_mem_eq(rx2.buf, "page", 4);
}
END_TEST

/* ---- files (transfer.c) ---- */


/* Makes the test's directory and DIR/in; writes a file of len pattern bytes at DIR/name. */
static void xfer_setup(const char *name, size_t len, char *path, size_t cap)
{
	static uint8_t buf[SINK_MAX];
	char in[sizeof(xfer_dir) + 8];
	FILE *f;

	tmpdir_make(xfer_dir, sizeof(xfer_dir), "test_xfer");
	snprintf(in, sizeof(in), "%s/in", xfer_dir);
	ck_assert_int_eq(mkdir(in, 0700), 0);
	snprintf(path, cap, "%s/%s", xfer_dir, name);
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(i);
	f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Returns 1 when DIR/in/name holds exactly len pattern bytes. */
static int xfer_saved(const char *name, size_t len)
{
	static uint8_t buf[SINK_MAX + 1];
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/in/%s", xfer_dir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern(i))
			return 0;
	return 1;
}

/* The user of a types /send bob PATH. */
static void xfer_send(struct sim_host *a, const char *path)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "/send bob %s", path);
	type(a, cmd);
}

/* Alice, and bob saving into DIR/in (--accept-files), connected. */
static void xfer_pair(struct sim_host **a, struct sim_host **b)
{
	static char in[sizeof(xfer_dir) + 8];

	snprintf(in, sizeof(in), "%s/in", xfer_dir);
	*a = host_up("alice", 2, "bob", 0xa1);
	*b = host_new("bob", 3, 5000, 0xb0);
	(*b)->cfg.accept_dir = in;
	host_start(*b, NULL);
	type(*a, "hello");
	expect_line_within(*b, "<alice> hello", 3000);
}

/* /send: the offer, the file saved whole, the script lines of the issue; a second copy is "f (1).bin". */
START_TEST(file_sent_and_saved)
{
	struct sim_host *a, *b;
	char path[128], line[300];
	int i;

	xfer_setup("f.bin", 50000, path, sizeof(path));
	xfer_pair(&a, &b);
	xfer_send(a, path);
	expect_line_within(b, "* alice offers f.bin (50000 bytes, sha256 ", 1000);
	expect_line_within(b, "* received f.bin from alice: 50000 bytes, sha256 ", 5000);
	i = find_line(b, "* received f.bin from alice: 50000 bytes, sha256 ", 0);
	snprintf(line, sizeof(line), "saved as %s/in/f.bin", xfer_dir);
	ck_assert_ptr_nonnull(strstr(b->lines[i], line));
	expect_line_within(a, "* sent f.bin to bob: 50000 bytes in ", 1000);
	ck_assert(xfer_saved("f.bin", 50000));
	/* Again: never over the first. */
	xfer_send(a, path);
	expect_line_within(a, "* sent f.bin to bob", 5000);
	ck_assert(xfer_saved("f (1).bin", 50000));
	ck_assert(xfer_saved("f.bin", 50000));
	ck_assert_uint_eq(a->c.stats.sent_files, 2);
	ck_assert_uint_eq(a->c.stats.failed_files, 0);
	ck_assert_uint_eq(b->c.stats.received_files, 2);
	ck_assert_uint_eq(client_pending(&a->c) + client_pending(&b->c), 0);
	/* Not a file, not a peer: said at once, counted. */
	type(a, "/send bob /nonexistent/x");
	ck_assert_int_ge(find_line(a, "* cannot send /nonexistent/x: ", 0), 0);
	type(a, "/send bob /tmp");
	ck_assert_int_ge(find_line(a, "* cannot send /tmp: not a regular file", 0), 0);
	ck_assert_uint_eq(a->c.stats.failed_files, 2);
}
END_TEST

/* Through the relay: both sides are told it is relayed and slow; it arrives, at the relay's rate. */
START_TEST(file_over_the_relay)
{
	struct sim_host *a, *b;
	char path[128];

	xfer_setup("slow.bin", 30000, path, sizeof(path));
	sim.no_direct = 1;
	xfer_pair(&a, &b);
	ck_assert(peer_stream_relayed(&a->c, "bob"));
	xfer_send(a, path);
	expect_line_within(a, "* slow.bin to bob goes through the server's relay: slow (at most 6 kB/s)", 3000);
	expect_line_within(b, "* slow.bin from alice goes through the server's relay: slow", 3000);
	expect_line_within(a, "* sent slow.bin to bob: 30000 bytes in ", 30000);
	ck_assert(xfer_saved("slow.bin", 30000));
	ck_assert_uint_eq(sim.srv.stats.relay_over_rate, 0);
}
END_TEST

/* A script without --accept-files refuses, and the sender is told why. */
START_TEST(file_refused_by_a_script)
{
	struct sim_host *a, *b;
	char path[128];

	xfer_setup("f.bin", 1000, path, sizeof(path));
	alice_and_bob(&a, &b);
	xfer_send(a, path);
	expect_line_within(a, "* file f.bin to bob not delivered: the receiver runs in a script without --accept-files DIR", 3000);
	ck_assert_int_ge(find_line(b, "* refused f.bin from alice: a script takes files only with --accept-files DIR", 0), 0);
	ck_assert_uint_eq(a->c.stats.failed_files, 1);
	ck_assert_uint_eq(client_pending(&a->c), 0);
	type(a, "still chatting");
	expect_line_within(b, "<alice> still chatting", 1000);
}
END_TEST

/* An OFFER encoded for name, size and a hash, into buf; returns its length. */
static size_t forged_offer(uint8_t *buf, const char *name, uint64_t size, const uint8_t *sha)
{
	size_t n = strlen(name);

	buf[0] = TRANSFER_OFFER;
	buf[1] = 0;
	buf[2] = (uint8_t)(8 + SHA256_LEN + 1 + n);
	for (int i = 0; i < 8; i++)
		buf[3 + i] = (uint8_t)(size >> (56 - 8 * i));
	memcpy(buf + 11, sha, SHA256_LEN);
	buf[11 + SHA256_LEN] = (uint8_t)n;
	memcpy(buf + 12 + SHA256_LEN, name, n);
	return 12 + SHA256_LEN + n;
}

/*
 * A forged sender (the stream API itself): writes an OFFER of name, size
 * and sha, then, once accepted, START 0, data bytes of the pattern, FIN.
 * Returns what came back (the receiver's answers) in tx, cleared first.
 */
static void forged_send(struct sim_host *a, const char *name, uint64_t size, const uint8_t *sha,
			size_t data, struct sink *tx)
{
	static const uint8_t start[] = { 'S', 0, 8, 0, 0, 0, 0, 0, 0, 0, 0 };
	struct peer_stream_handler ht = sink_handler(tx);
	uint8_t offer[TRANSFER_MSG_MAX];
	size_t off = 0, offer_len = forged_offer(offer, name, size, sha);
	int64_t id;

	memset(tx, 0, sizeof(*tx));
	id = peer_stream_open(&a->c, "bob", PEER_STREAM_KIND_FILE, 3, &ht);
	ck_assert_int_ge(id, 0);
	ck_assert_int_eq(peer_stream_write(&a->c, "bob", (uint64_t)id, offer, offer_len),
			 (int64_t)offer_len);
	sim_run_for(500);
	if (tx->len == 0 || tx->buf[0] != TRANSFER_ACCEPT)
		return; /* refused */
	ck_assert_int_eq(peer_stream_write(&a->c, "bob", (uint64_t)id, start, sizeof(start)),
			 (int64_t)sizeof(start));
	while (off < data) {
		feed(a, "bob", (uint64_t)id, &off, data);
		sim_run_for(50);
	}
	sim_run_for(1000);
}

/* Returns 1 when the receiver's answers in tx hold text. */
static int answered(const struct sink *tx, const char *text)
{
	size_t n = strlen(text);

	for (size_t i = 0; i + n <= tx->len; i++)
		if (memcmp(tx->buf + i, text, n) == 0)
			return 1;
	return 0;
}

/* The issue's bad input: a path in the name, a size that does not match, a wrong hash, too many bytes. */
START_TEST(bad_offers_refused)
{
	static struct sink tx;
	uint8_t sha[SHA256_LEN], good[SHA256_LEN];
	struct sim_host *a, *b;
	static uint8_t data[1000];
	char path[128], part[256];
	struct stat st;

	xfer_setup("unused", 1, path, sizeof(path));
	xfer_pair(&a, &b);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = pattern(i);
	sha256_hash(good, data, sizeof(data));
	memset(sha, 0x55, sizeof(sha));

	/* A path in the name: refused before anything is written anywhere. */
	forged_send(a, "../escape", 1000, good, 0, &tx);
	ck_assert(answered(&tx, "the name is not allowed"));
	ck_assert_int_ge(find_line(b, "* ../escape from alice not received: its name is not allowed", 0), 0);
	snprintf(part, sizeof(part), "%s/escape", xfer_dir);
	ck_assert_int_lt(stat(part, &st), 0);

	/* Fewer bytes than offered: not whole, kept for resuming, never saved. */
	forged_send(a, "short.bin", 1000, good, 500, &tx);
	ck_assert(answered(&tx, "the size does not match"));
	ck_assert_int_ge(find_line(b, "* short.bin from alice not received: the size does not match (500 of 1000 bytes) (500 bytes kept for resuming)", 0), 0);
	ck_assert(!xfer_saved("short.bin", 500));

	/* More bytes than offered. */
	forged_send(a, "long.bin", 400, good, 1000, &tx);
	ck_assert(answered(&tx, "more bytes than offered"));
	ck_assert(!xfer_saved("long.bin", 400));

	/* Every byte, but not the hash offered: thrown away, never saved. */
	forged_send(a, "wrong.bin", 1000, sha, 1000, &tx);
	ck_assert(answered(&tx, "the SHA-256 does not match"));
	ck_assert_int_ge(find_line(b, "* wrong.bin from alice not received: its SHA-256 does not match the offer's", 0), 0);
	ck_assert(!xfer_saved("wrong.bin", 1000));

	/* The same file with the right hash, the right size: saved. */
	forged_send(a, "right.bin", 1000, good, 1000, &tx);
	ck_assert_uint_eq(tx.buf[tx.len - 3], TRANSFER_DONE);
	ck_assert(xfer_saved("right.bin", 1000));
	/* And the chat went on through all of it. */
	type(a, "after all that");
	expect_line_within(b, "<alice> after all that", 1000);
}
END_TEST

/* A full disk (a file size limit here): the receiver says so, the sender is told, the partial stays. */
START_TEST(full_disk_reported)
{
	struct sim_host *a, *b;
	char path[128];
	struct rlimit rl = { 20000, 20000 };

	signal(SIGXFSZ, SIG_IGN); /* write fails with EFBIG instead */
	xfer_setup("big.bin", 60000, path, sizeof(path));
	xfer_pair(&a, &b);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	xfer_send(a, path);
	expect_line_within(a, "* file big.bin to bob not delivered: the receiver cannot write the file", 5000);
	ck_assert_int_ge(find_line(b, "* big.bin from alice not received: cannot write: File too large (20.0 kB kept for resuming)", 0), 0);
	ck_assert_uint_eq(a->c.stats.failed_files, 1);
	type(a, "disk full, chat fine");
	expect_line_within(b, "<alice> disk full, chat fine", 1000);
}
END_TEST

/*
 * The sender dies mid-transfer: the receiver keeps what it verified; sent
 * again by the new sender, the file resumes from there and arrives whole.
 */
START_TEST(interrupted_file_resumes)
{
	enum { SIZE = 300000 };
	struct sim_host *a, *b, *a2;
	char path[128];
	const struct stream_conn *sc;

	xfer_setup("r.bin", SIZE, path, sizeof(path));
	xfer_pair(&a, &b);
	xfer_send(a, path);
	expect_line_within(b, "* r.bin from alice: 25%", 5000);
	a2 = host_restart(a);
	expect_line_within(a2, "* registered as alice", 1000);
	xfer_send(a2, path);
	expect_line_within(b, "* r.bin from alice not received: the connection ended (", 5000);
	expect_line_within(a2, "* sent r.bin to bob: 300000 bytes in ", 10000);
	ck_assert(xfer_saved("r.bin", SIZE));
	/* It resumed: the new alice sent less than the file. */
	sc = peer_stream_conn(&a2->c, "bob");
	ck_assert_ptr_nonnull(sc);
	ck_assert_uint_lt(sc->stats.bytes_sent, SIZE - SIZE / 4 + 1000);
}
END_TEST

/* The sender's network goes away for good: both sides give up within -w, and say so. */
START_TEST(vanished_peer_mid_transfer)
{
	struct sim_host *a, *b;
	char path[128];

	xfer_setup("v.bin", 300000, path, sizeof(path));
	xfer_pair(&a, &b);
	xfer_send(a, path);
	expect_line_within(b, "* v.bin from alice: 25%", 5000);
	a->cut = 1;
	/* Noticed within a second and the answer timeout (data waits for ACKs), then -w. */
	expect_line_within(b, "* v.bin from alice not received: the peer went away (",
			   CLIENT_PING_RETRY_MS + CLIENT_ANSWER_TIMEOUT_MS + WAIT_MS + 3000);
	if (find_line(a, "* file v.bin to bob not delivered: the peer is not reachable", 0) < 0)
		expect_line_within(a, "* file v.bin to bob not delivered: the peer is not reachable", 1000);
	ck_assert_uint_eq(a->c.stats.failed_files, 1);
	ck_assert_uint_eq(client_pending(&a->c) + client_pending(&b->c), 0);
	ck_assert(!xfer_saved("v.bin", 300000));
}
END_TEST

static Suite *client_suite(void)
{
	Suite *s = suite_create("client");
	TCase *tc = tcase_create("sim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, registration_once);
	tcase_add_test(tc, registration_retries_with_backoff);
	tcase_add_test(tc, name_taken_and_taken_over);
	tcase_add_test(tc, server_full);
	tcase_add_test(tc, too_many_names_from_one_address);
	tcase_add_test(tc, first_registration_cookie);
	tcase_add_test(tc, same_cookie_does_not_hurry);
	tcase_add_test(tc, nat_rebinding_moves_the_name);
	tcase_add_test(tc, address_error_refreshes_at_once);
	tcase_add_test(tc, server_new_key);
	tcase_add_test(tc, server_key_pinned_at_first_contact);
	tcase_add_test(tc, changed_server_key_refused);
	tcase_add_test(tc, forged_answers_change_nothing);
	tcase_add_test(tc, forged_notice_only_reregisters);
	tcase_add_test(tc, two_clients_chat);
	tcase_add_test(tc, stream_buffer_size);
	tcase_add_test(tc, public_path_when_private_unreachable);
	tcase_add_test(tc, private_path_preferred_over_faster_public);
	tcase_add_test(tc, many_lines_over_lossy_network);
	tcase_add_test(tc, both_ways_over_lossy_network);
	tcase_add_test(tc, peer_starts_later);
	tcase_add_test(tc, wait_expires);
	tcase_add_test(tc, full_queue_refuses_lines);
	tcase_add_test(tc, server_restart_mid_chat);
	tcase_add_test(tc, lookup_after_server_restart);
	tcase_add_test(tc, peer_vanishes);
	tcase_add_test(tc, peer_says_bye);
	tcase_add_test(tc, outage_then_recovery);
	tcase_add_test(tc, nat_remap_noticed_quickly);
	tcase_add_test(tc, peer_restarts);
	tcase_add_test(tc, peer_restarts_silently);
	tcase_add_test(tc, peer_moves_behind_its_nat);
	tcase_add_test(tc, idle_connection_kept_alive);
	tcase_add_test(tc, commands);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, control_bytes_defused);
	tcase_add_test(tc, stray_and_malformed);
	tcase_add_test(tc, stale_epoch_dropped);
	tcase_add_test(tc, malformed_chat_records);
	tcase_add_test(tc, direct_path_preferred_to_relay);
	tcase_add_test(tc, relay_when_no_direct_path);
	tcase_add_test(tc, relay_across_families_says_why);
	tcase_add_test(tc, birthday_easy_side);
	tcase_add_test(tc, birthday_both_symmetric);
	tcase_add_test(tc, birthday_spares_one_peer_at_a_time);
	tcase_add_test(tc, relay_then_direct_within_punch);
	tcase_add_test(tc, relay_upgrades_later);
	tcase_add_test(tc, relay_off_direct_only);
	tcase_add_test(tc, relay_turned_off_mid_chat);
	tcase_add_test(tc, relayed_checked);
	tcase_add_test(tc, relay_taken_after_grace);
	tcase_add_test(tc, near_relay_far_peer);
	tcase_set_timeout(tc, 60);

	/* Issue 14: streams to peers over the sealed sessions. */
	tcase_add_test(tc, stream_carries_bytes);
	tcase_add_test(tc, stream_over_lossy_network);
	tcase_add_test(tc, stream_over_relay_keeps_its_rate);
	tcase_add_test(tc, stream_moves_off_the_relay);
	tcase_add_test(tc, stream_of_unknown_kind_refused);
	tcase_add_test(tc, streams_end_when_peer_restarts);
	tcase_add_test(tc, stream_opened_on_reconnect_reaches_restarted_peer);
	tcase_add_test(tc, file_sent_and_saved);
	tcase_add_test(tc, file_refused_by_a_script);
	tcase_add_test(tc, file_over_the_relay);
	tcase_add_test(tc, bad_offers_refused);
	tcase_add_test(tc, full_disk_reported);
	tcase_add_test(tc, interrupted_file_resumes);
	tcase_add_test(tc, vanished_peer_mid_transfer);
	suite_add_tcase(s, tc);

	/* Bugs found in client.c and fixed: each test's comment says which. */
	tcase_add_test(tc, second_wait_says_not_online_again);
	tcase_add_test(tc, no_duplicate_after_reconnect);
	tcase_add_test(tc, line_after_wait_expired_while_punching);
	tcase_add_test(tc, peer_back_from_pause);

	/* Issue 13: each test failed before its fix. */
	tcase_add_test(tc, out_of_step_channel_resyncs);
	tcase_add_test(tc, line_ends_within_wait_while_peer_answers);
	tcase_add_test(tc, failures_name_their_lines);
	tcase_add_test(tc, second_instance_takes_the_name);
	tcase_add_test(tc, late_peer_connects_by_itself);
	tcase_add_test(tc, waiting_line_goes_direct_when_not_overdue);
	tcase_add_test(tc, handshake_in_the_punch);
	tcase_add_test(tc, handshake_through_the_relay);
	tcase_add_test(tc, simultaneous_probing_one_session);
	tcase_add_test(tc, replayed_flipped_or_moved_changes_nothing);
	tcase_add_test(tc, replayed_init_answered_only_where_its_resp_went);
	tcase_add_test(tc, path_moves_only_on_proof);
	tcase_add_test(tc, changed_key_refused_until_trust);
	tcase_add_test(tc, unsolicited_introductions_bounded);
	tcase_add_test(tc, one_endpoint_named_many_times_probed_a_few_times);
	tcase_add_test(tc, other_family_probed_at_once);
	tcase_add_test(tc, other_family_carries_the_chat);
	tcase_add_test(tc, keys_wiped);
	tcase_add_test(tc, second_server_down_and_back);
	tcase_add_test(tc, two_servers_see_a_symmetric_nat);
	tcase_add_test(tc, servers_disagree_on_a_key);
	tcase_add_test(tc, relay_through_the_server_that_answers);
	tcase_add_test(tc, relay_moves_to_the_server_left);

	/* Issue 14, a forward that hung in the NAT lab: each test failed before its fix. */
	tc = tcase_create("stall");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, stream_off_the_relay_with_loss_finishes);
	tcase_add_test(tc, stream_without_progress_reported);
	tcase_add_test(tc, stream_after_lost_start_finishes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* Quiet: the clients warn when the server does not answer, which some tests make happen. */
	log_init("test_client", LOG_ERROR);
	return harness_run(client_suite());
}
