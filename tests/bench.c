/* tests/bench.c - make bench's tools: a UDP load generator, an echo server, a chat timer. */

/*
 * One program, several modes (tests/bench.sh runs them; see usage() below):
 *
 *   bench echo   a minimal blocking recvfrom/sendto loop: the ceiling for a
 *                single-threaded blocking UDP server on this machine
 *   bench grid   STUN, LOOKUP and REGISTER load against p2pchatd, the echo
 *                server and coturn, cell by cell with the servers interleaved
 *   bench table  lookups with 1 thousand .. 1 million names registered, and
 *                the server's resident memory per name
 *   bench guard  the cost of p2pchatd's per-source limits: the lookups again,
 *                from thousands of source addresses, without limits and with
 *                the defaults
 *   bench chat   round trips and messages per second between two p2pchat
 *                clients, against raw UDP relays through the same pipes
 *   bench port   prints a free UDP port on 127.0.0.1 (for coturn, which
 *                cannot be told "any port")
 *
 * The load generator: N client sockets, each keeping K requests in flight,
 * epoll over them, answers matched to requests and validated one by one,
 * latency per request from CLOCK_MONOTONIC. recvmmsg/sendmmsg batch the
 * generator's own system calls so that, on a 2-core machine, it spends less
 * per request than the server it measures. Linux only, like /proc, which it
 * reads for the server's CPU time, memory and socket drops.
 *
 * The grid and the table measure throughput from one source address, so
 * tests/bench.sh starts their p2pchatd with every per-source limit off
 * (--limit register=0 --limit lookup=0 --limit stun=0 --limit relay=0
 * --limit names=0): the defaults would hold 127.0.0.1 to a few requests a
 * second. bench guard measures what the defaults cost. Every REGISTER makes
 * the cookie round trip a client makes (on_cookie).
 *
 * Everything is on loopback: 127.0.0.1, and for bench guard other
 * addresses in 127.0.0.0/8, all of them this machine's. Every loop is
 * bounded in count and in time.
 */
#define _GNU_SOURCE /* recvmmsg, sendmmsg, pipe2: Linux, like the rest of this file */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bytes.h"
#include "protocol.h"
#include "stun.h"
#include "rng.h"
#include "sealer.h"

#define BENCH_TIMEOUT_MS 1000     /* unanswered this long: lost (loopback answers in us) */
#define BENCH_WARMUP_MS 300       /* load before each measuring window, not counted */
#define BENCH_WINDOW_MS 2000      /* default measuring window per cell; -t changes it */
#define BENCH_SCAN_MS 10          /* how often slots are checked for time-outs */
#define BENCH_MAX_SOCKS 1024
#define BENCH_MAX_INFLIGHT 64
#define BENCH_BATCH 32            /* datagrams per recvmmsg or sendmmsg */
#define BENCH_SINKS 16            /* sockets that hold the lookup targets and get their PEERs */
#define BENCH_GRID_TARGETS 1024   /* names the grid's lookups pick from */
#define BENCH_FILL_MAX_MS 600000  /* a registration fill that takes longer gives up */
#define BENCH_RCVBUF (4 << 20)    /* our sockets': a loss must be the server's, not ours */
#define BENCH_REQ_MAX 128         /* bytes of the largest request we build (REGISTER, 1 endpoint: 109, sealed) */
#define BENCH_TOKEN "bench-tk"    /* the seed of every bench name's key (tests/sealer.h): any run may re-register it */
#define BENCH_MSG_LEN 64          /* bytes of a chat-section message */
#define BENCH_CHAT_WINDOW 32      /* chat messages in flight when measuring messages per second */
#define BENCH_CHAT_WAIT_MS 3000   /* a chat message not through by then: that measurement stops */
#define BENCH_CONNECT_MS 15000    /* two clients must have punched through by then */
#define BENCH_BUSY_PCT 20         /* others used more % of a core than this: a row is suspect */

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S INT64_C(1000000000)

static void usage(void);

/* ---- small helpers -------------------------------------------------------- */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/*
 * Latency histogram: 64 buckets per power of two of nanoseconds, so a
 * percentile is within 1/64 (1.6 %) of the true value, in 20 KB.
 */
#define HIST_SUB 64
#define HIST_BUCKETS (40 * HIST_SUB)

struct hist {
	uint64_t n;
	uint64_t count[HIST_BUCKETS];
};

static unsigned hist_bucket(uint64_t v)
{
	unsigned msb = 6, b;

	if (v < HIST_SUB)
		return (unsigned)v;
	while (msb < 63 && (v >> (msb + 1)) != 0)
		msb++;
	b = (msb - 5) * HIST_SUB + (unsigned)(v >> (msb - 6)) - HIST_SUB;
	return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

static void hist_add(struct hist *h, int64_t ns)
{
	h->count[hist_bucket(ns > 0 ? (uint64_t)ns : 0)]++;
	h->n++;
}

/* Returns the value below which a fraction p of the samples lie, in microseconds (0 if none). */
static double hist_us(const struct hist *h, double p)
{
	uint64_t want = (uint64_t)(p * (double)h->n + 0.999999), seen = 0;
	unsigned b;

	if (h->n == 0)
		return 0;
	for (b = 0; b < HIST_BUCKETS; b++) {
		seen += h->count[b];
		if (seen >= want)
			break;
	}
	if (b < HIST_SUB)
		return b / 1000.0;
	return (double)((uint64_t)(b % HIST_SUB + HIST_SUB) << (b / HIST_SUB - 1)) / 1000.0;
}

/* ---- what /proc says about a process and about UDP sockets ---------------- */

/* Reads a whole small file into buf (NUL-terminated). Returns its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/*
 * CPU time of process pid, every thread, in ns: the first field of each
 * /proc/PID/task/TID/schedstat (ns on a CPU). Falls back to utime + stime of
 * /proc/PID/stat (clock ticks). Returns -1 when the process is gone.
 */
static int64_t proc_cpu_ns(pid_t pid)
{
	char path[64], buf[512];
	struct dirent *de;
	int64_t sum = 0;
	int found = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (d != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%d/task/%.16s/schedstat", (int)pid,
				 de->d_name);
			if (read_small(path, buf, sizeof(buf)) > 0) {
				sum += strtoll(buf, NULL, 10);
				found = 1;
			}
		}
		closedir(d);
	}
	if (!found) {
		/* Fields 14 and 15 (utime, stime) follow the ")" that ends field 2. */
		char *p;
		unsigned long ut, st;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		if (read_small(path, buf, sizeof(buf)) < 0 || (p = strrchr(buf, ')')) == NULL ||
		    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			   &st) != 2)
			return -1;
		return (int64_t)(ut + st) * (NS_PER_S / sysconf(_SC_CLK_TCK));
	}
	return sum;
}

/* Returns a line's number after "Key:" in /proc/PID/status (VmRSS in kB, Threads), or -1. */
static long proc_status(pid_t pid, const char *key)
{
	char path[64], buf[4096], *p;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return -1;
	for (p = buf; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':')
			return strtol(p + klen + 1, NULL, 10);
	}
	return -1;
}

/*
 * CPU time the whole machine spent busy (every CPU; user, nice, system,
 * irq, softirq, steal) from the first line of /proc/stat, in ns. Returns -1
 * when it cannot be read.
 */
static int64_t machine_busy_ns(void)
{
	unsigned long long v[8];
	char buf[512];

	if (read_small("/proc/stat", buf, sizeof(buf)) < 0 ||
	    sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]) != 8)
		return -1;
	/* v[3] and v[4] are idle and iowait. */
	return (int64_t)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) *
	       (NS_PER_S / sysconf(_SC_CLK_TCK));
}

/* A set of local UDP ports, 1 bit each. */
struct portset {
	uint8_t bit[65536 / 8];
};

static void portset_add(struct portset *s, uint16_t port)
{
	s->bit[port / 8] |= (uint8_t)(1u << (port % 8));
}

/*
 * Datagrams dropped by the kernel (receive buffer full) on the IPv4 and
 * IPv6 UDP sockets whose local port is in s: the last column of
 * /proc/net/udp and /proc/net/udp6.
 */
static uint64_t udp_drops(const struct portset *s)
{
	static const char *files[] = { "/proc/net/udp", "/proc/net/udp6" };
	uint64_t sum = 0;
	char line[512];

	for (size_t f = 0; f < 2; f++) {
		FILE *fp = fopen(files[f], "re");

		if (fp == NULL)
			continue;
		while (fgets(line, sizeof(line), fp) != NULL) {
			char *tok, *save, *local = NULL, *last = NULL;
			unsigned port;
			int i = 0;

			for (tok = strtok_r(line, " \n", &save); tok != NULL;
			     tok = strtok_r(NULL, " \n", &save), i++) {
				if (i == 1)
					local = tok;
				last = tok;
			}
			if (i != 13 || local == NULL || strchr(local, ':') == NULL ||
			    sscanf(strchr(local, ':') + 1, "%x", &port) != 1 || port > 65535)
				continue; /* the header line */
			if (s->bit[port / 8] & (1u << (port % 8)))
				sum += strtoull(last, NULL, 10);
		}
		fclose(fp);
	}
	return sum;
}

/* ---- sockets -------------------------------------------------------------- */

/* ip:port, ip in host order; every address in 127.0.0.0/8 is this machine's loopback. */
static struct sockaddr_in loopback_at(uint32_t ip, uint16_t port)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(ip);
	return sa;
}

/* 127.0.0.1:port. */
static struct sockaddr_in loopback(uint16_t port)
{
	return loopback_at(INADDR_LOOPBACK, port);
}

/*
 * Sets the receive buffer to `bytes` (0: leave the system default). As root
 * SO_RCVBUFFORCE passes net.core.rmem_max; else SO_RCVBUF is capped by it.
 */
static void set_rcvbuf(int fd, int bytes)
{
	if (bytes > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

/*
 * Opens a non-blocking UDP socket on loopback address ip (host order; a
 * port the kernel picks), connected to 127.0.0.1:peer_port unless that is
 * 0. Fills *self with its address. Returns the descriptor, or -1 with errno.
 */
static int udp_open_at(uint32_t ip, uint16_t peer_port, int rcvbuf, struct proto_addr *self)
{
	struct sockaddr_in sa = loopback_at(ip, 0);
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	set_rcvbuf(fd, rcvbuf);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		goto fail;
	if (peer_port != 0) {
		struct sockaddr_in to = loopback(peer_port);

		if (connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
			goto fail;
	}
	memset(self, 0, sizeof(*self));
	self->family = PROTO_AF_INET;
	self->port = ntohs(sa.sin_port);
	memcpy(self->ip, &sa.sin_addr, 4);
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * The k-th of a series of loopback addresses from `first` (host order):
 * 250 to a /24, so the last byte never reaches .255 (first 127.1.0.1:
 * 127.1.0.1 .. 127.1.0.250, 127.1.1.1, ...). The server tells sources
 * apart by address, not port: each of these is a client of its own.
 */
static uint32_t source_ip(uint32_t first, uint32_t k)
{
	return first + (k / 250) * 256 + k % 250;
}

/* udp_open_at on 127.0.0.1. */
static int udp_open(uint16_t peer_port, int rcvbuf, struct proto_addr *self)
{
	return udp_open_at(INADDR_LOOPBACK, peer_port, rcvbuf, self);
}

/* ---- the load generator --------------------------------------------------- */

enum kind {
	KIND_STUN,     /* STUN Binding request -> Binding success with XOR-MAPPED-ADDRESS */
	KIND_LOOKUP,   /* LOOKUP of a registered target -> PEER to us and PEER to the target */
	KIND_MISS,     /* LOOKUP of a name nobody holds -> ERROR not online */
	KIND_REGISTER, /* REGISTER of our own live name again -> REGISTERED (or COOKIE) */
	KIND_FILL,     /* REGISTER of new names, each once (sent again when lost or when
			  a COOKIE answers it) -> REGISTERED */
	KIND_COUNT,
};

static const char *const kind_title[KIND_COUNT] = {
	[KIND_STUN] = "STUN Binding request -> Binding success, XOR-MAPPED-ADDRESS checked",
	[KIND_LOOKUP] = "LOOKUP hit -> PEER to the requester and to the target (2 datagrams out)",
	[KIND_MISS] = "LOOKUP miss -> ERROR not online (1 datagram out)",
	[KIND_REGISTER] = "REGISTER of a live name by its owner -> REGISTERED",
	[KIND_FILL] = "REGISTER of new names",
};

/* One request in flight, or room for one. */
struct slot {
	int64_t sent_ns;                  /* when it was sent; 0: nothing in flight */
	uint32_t seq;                     /* STUN: sequence number in the transaction id */
	uint32_t name;                    /* LOOKUP: target number; FILL: name number */
	uint8_t retry;                    /* FILL: send name again (it was lost, or not sent) */
	uint8_t len;
	uint8_t req[BENCH_REQ_MAX];       /* the request: an echo answer must repeat it */
	char expect[PROTO_NAME_MAX + 1];  /* REGISTER, LOOKUP: the name the answer carries */
};

/* One client socket and its requests. */
struct sock {
	int fd;
	struct proto_addr addr;           /* its address, as the server must see it */
	uint32_t next_name;               /* FILL: the next name number it registers */
	uint8_t cookie[PROTO_COOKIE_LEN]; /* the server's last for this address; zeros at first */
	struct slot *slot;                /* run.inflight of them */
};

/* What one run measured. */
struct result {
	double seconds;                   /* of the measuring window (FILL: of the whole fill) */
	uint64_t answered;                /* answers received in the window */
	uint64_t sent;                    /* requests sent in the window */
	uint64_t lost;                    /* unanswered after BENCH_TIMEOUT_MS, warm-up included */
	uint64_t bad;                     /* answers that failed a check or matched no request */
	uint64_t hits;                    /* LOOKUP answers, whole run */
	uint64_t sink_peers;              /* PEERs the targets got, whole run */
	uint64_t retries;                 /* FILL: names sent again */
	uint64_t cookies;                 /* COOKIE answers: the request went again with it */
	uint64_t srv_drops, gen_drops;    /* kernel drops at the server's / our sockets */
	int64_t srv_cpu_ns, gen_cpu_ns;   /* in the window */
	int64_t other_cpu_ns;             /* in the window: the machine's but server's and ours */
	struct hist lat;                  /* requests sent in the window */
};

/* One run: a load, a server, and what it measured. */
struct run {
	enum kind kind;
	int echo;                         /* the server echoes: an answer must equal its request */
	uint16_t port;                    /* the server's */
	pid_t pid;                        /* the server's, for its CPU time (0: unknown) */
	struct sock *socks;
	uint32_t nsocks, inflight;
	struct sock *sinks;               /* LOOKUP: target n lives at sinks[n % nsinks] */
	uint32_t nsinks, ntargets;
	char prefix;                      /* FILL: names are <prefix><number> */
	uint32_t fill_first, fill_end;    /* FILL: numbers fill_first .. fill_end-1 */
	struct rng64 rng; /* xorshift64*: a fixed sequence, so two runs ask for the same names */
	int64_t t0, t1;                   /* the measuring window, monotonic ns */
	struct result res;
};

/* The bench's one client key, and the server's, learned from its first COOKIE (protocol version 2). */
static struct sealer bench_sl;

/*
 * The next request's counter: the monotonic clock in ns, and always
 * above the last one. A name is one slot's (requester), whose requests
 * go one at a time, so each name's counters grow as they arrive.
 */
static uint64_t bench_counter(void)
{
	static uint64_t last;
	uint64_t c = (uint64_t)now_ns();

	last = c > last ? c : last + 1;
	return last;
}

static void bench_name(char out[PROTO_NAME_MAX + 1], char prefix, uint32_t n)
{
	snprintf(out, PROTO_NAME_MAX + 1, "%c%" PRIu32, prefix, n);
}

/* Slot j of socket i is named c<j * nsocks + i>: name n lives at socket n % nsocks. */
static uint32_t requester(const struct run *r, uint32_t i, uint32_t j)
{
	return j * r->nsocks + i;
}

/* A STUN Binding request (RFC 8489, 6.1): the 12-byte transaction id is seq, socket, slot. */
static void stun_request(uint8_t *b, uint32_t seq, uint32_t i, uint32_t j)
{
	bytes_put16(b, 0x0001);
	bytes_put16(b + 2, 0);
	bytes_put32(b + 4, STUN_MAGIC_COOKIE);
	bytes_put32(b + 8, seq);
	bytes_put32(b + 12, i);
	bytes_put32(b + 16, j);
}

/*
 * Checks a STUN Binding success response: header, length, and an
 * XOR-MAPPED-ADDRESS (RFC 8489, 14.2) that names `self`. Other attributes
 * (coturn adds several) are skipped. Returns 0 when right, -1 otherwise.
 */
static int stun_check(const uint8_t *b, size_t len, const struct proto_addr *self)
{
	size_t off = STUN_HEADER_LEN;

	if (len < STUN_HEADER_LEN || bytes_get16(b) != 0x0101 || bytes_get16(b + 2) != len - STUN_HEADER_LEN ||
	    bytes_get32(b + 4) != STUN_MAGIC_COOKIE)
		return -1;
	while (len - off >= 4) {
		uint16_t type = bytes_get16(b + off), alen = bytes_get16(b + off + 2);
		size_t padded = (alen + 3u) & ~(size_t)3;

		off += 4;
		if (len - off < padded)
			return -1;
		if (type == 0x0020) {
			if (alen != 8 || b[off + 1] != 0x01)
				return -1;
			return (bytes_get16(b + off + 2) ^ (STUN_MAGIC_COOKIE >> 16)) == self->port &&
			       (bytes_get32(b + off + 4) ^ STUN_MAGIC_COOKIE) == bytes_get32(self->ip) ? 0 : -1;
		}
		off += padded;
	}
	return -1;
}

/*
 * Builds the next request of slot j of socket i into sl->req. Returns 1, or
 * 0 when there is nothing left to send (FILL: every name was handed out).
 */
static int build(struct run *r, uint32_t i, uint32_t j, struct slot *sl)
{
	struct sock *s = &r->socks[i];
	struct proto_msg m;
	int n;

	if (r->kind == KIND_STUN) {
		stun_request(sl->req, ++sl->seq, i, j);
		sl->len = STUN_HEADER_LEN;
		return 1;
	}
	memset(&m, 0, sizeof(m));
	switch (r->kind) {
	case KIND_FILL:
	case KIND_REGISTER:
		if (r->kind == KIND_REGISTER) {
			bench_name(m.name, 'c', requester(r, i, j));
		} else {
			/* A lost name is sent again; else the socket's next one, if any is left. */
			if (!sl->retry) {
				if (s->next_name >= r->fill_end)
					return 0;
				sl->name = s->next_name;
				s->next_name += r->nsocks;
			}
			sl->retry = 0;
			bench_name(m.name, r->prefix, sl->name);
		}
		m.type = PROTO_REGISTER;
		memcpy(m.cookie, s->cookie, PROTO_COOKIE_LEN);
		m.nprivate = 1; /* a real client reports its interface addresses */
		m.private_ep[0] = s->addr;
		memcpy(sl->expect, m.name, sizeof(sl->expect));
		break;
	case KIND_LOOKUP:
	case KIND_MISS:
		m.type = PROTO_LOOKUP;
		bench_name(m.name, 'c', requester(r, i, j));
		sl->name = rng64star_next32(&r->rng);
		if (r->kind == KIND_LOOKUP)
			sl->name %= r->ntargets;
		bench_name(m.target, r->kind == KIND_LOOKUP ? 't' : 'x', sl->name);
		memcpy(sl->expect, m.target, sizeof(sl->expect));
		break;
	default:
		return 0;
	}
	m.counter = bench_counter();
	n = sealer_seal(&bench_sl, &m, (const uint8_t *)BENCH_TOKEN, sl->req, sizeof(sl->req));
	if (n < 0) {
		/* Only a bug in this file gets here; the slot stays idle, the figures show it. */
		fprintf(stderr, "bench: cannot encode a request: %s\n", proto_strerror(n));
		return 0;
	}
	sl->len = (uint8_t)n;
	return 1;
}

/* Is m the right answer for slot sl of socket s? Its name was already matched. */
static int answer_ok(const struct run *r, const struct sock *s, const struct slot *sl,
		     const struct proto_msg *m)
{
	switch (r->kind) {
	case KIND_REGISTER:
	case KIND_FILL:
		return m->type == PROTO_REGISTERED && m->ttl_s > 0 &&
		       proto_addr_equal(&m->public_ep, &s->addr);
	case KIND_LOOKUP: {
		const struct proto_addr *at = &r->sinks[sl->name % r->nsinks].addr;

		return m->type == PROTO_PEER && proto_addr_equal(&m->public_ep, at) &&
		       m->nprivate == 1 && proto_addr_equal(&m->private_ep[0], at);
	}
	case KIND_MISS:
		return m->type == PROTO_ERROR && m->code == PROTO_E_NOT_ONLINE &&
		       m->request == PROTO_LOOKUP;
	default:
		return 0;
	}
}

/*
 * Finds the slot of socket i that buf[0..len) answers, and checks the
 * answer. Returns the slot number, or -1 (a bad answer, or a late one whose
 * request was already counted lost).
 */
static int match(struct run *r, uint32_t i, const uint8_t *buf, size_t len)
{
	struct sock *s = &r->socks[i];
	struct proto_msg m;
	int best = -1;
	uint32_t j;

	if (r->kind == KIND_STUN) {
		/* The transaction id names the slot (and which request of it). */
		if (len < STUN_HEADER_LEN || bytes_get32(buf + 12) != i || bytes_get32(buf + 16) >= r->inflight)
			return -1;
		j = bytes_get32(buf + 16);
		if (s->slot[j].sent_ns == 0 || s->slot[j].seq != bytes_get32(buf + 8))
			return -1;
		if (r->echo ? len != s->slot[j].len || memcmp(buf, s->slot[j].req, len) != 0
			    : stun_check(buf, len, &s->addr) < 0)
			return -1;
		return (int)j;
	}
	if (!r->echo && sealer_open(&bench_sl, buf, len, &m) == -1)
		return -1;
	/* Several slots may wait for the same name: the oldest one is answered first. */
	for (j = 0; j < r->inflight; j++) {
		const struct slot *sl = &s->slot[j];

		if (sl->sent_ns == 0 || (best >= 0 && sl->sent_ns >= s->slot[best].sent_ns))
			continue;
		if (r->echo ? len == sl->len && memcmp(buf, sl->req, len) == 0
			    : strcmp(m.name, sl->expect) == 0)
			best = (int)j;
	}
	if (best >= 0 && !r->echo && !answer_ok(r, s, &s->slot[best], &m))
		return -1;
	/* REGISTERED brings a fresh cookie, for the next REGISTER (as a client's REFRESH). */
	if (best >= 0 && !r->echo && m.type == PROTO_REGISTERED)
		memcpy(s->cookie, m.cookie, PROTO_COOKIE_LEN);
	return best;
}

/*
 * A COOKIE for socket i: the server wants proof of our address before it
 * takes a REGISTER (a new socket's first ones, or a cookie grown too old).
 * Keeps the cookie and frees the oldest REGISTER in flight, which the
 * COOKIE answered: the next refill sends it again, with the cookie.
 * Returns 0, or -1 when buf is no COOKIE or nothing waited for one.
 */
static int on_cookie(struct run *r, uint32_t i, const uint8_t *buf, size_t len)
{
	struct sock *s = &r->socks[i];
	struct slot *oldest = NULL;
	struct proto_msg m;

	if (r->kind != KIND_REGISTER && r->kind != KIND_FILL)
		return -1;
	if (sealer_open(&bench_sl, buf, len, &m) == -1 || m.type != PROTO_COOKIE)
		return -1;
	for (uint32_t j = 0; j < r->inflight; j++) {
		struct slot *sl = &s->slot[j];

		if (sl->sent_ns != 0 && (oldest == NULL || sl->sent_ns < oldest->sent_ns))
			oldest = sl;
	}
	if (oldest == NULL)
		return -1;
	memcpy(s->cookie, m.cookie, PROTO_COOKIE_LEN);
	oldest->sent_ns = 0;
	oldest->retry = r->kind == KIND_FILL;
	r->res.cookies++;
	return 0;
}

static void on_answer(struct run *r, uint32_t i, const uint8_t *buf, size_t len, int64_t now)
{
	struct slot *sl;
	int j;

	/* Byte 2 is the type (protocol.h): a cheap look before decoding it twice. */
	if (!r->echo && len > 2 && buf[0] == PROTO_MAGIC && buf[2] == PROTO_COOKIE) {
		if (on_cookie(r, i, buf, len) < 0)
			r->res.bad++;
		return;
	}
	j = match(r, i, buf, len);
	if (j < 0) {
		r->res.bad++;
		return;
	}
	sl = &r->socks[i].slot[j];
	if (now >= r->t0 && now < r->t1)
		r->res.answered++;
	if (sl->sent_ns >= r->t0 && sl->sent_ns < r->t1)
		hist_add(&r->res.lat, now - sl->sent_ns);
	if (r->kind == KIND_LOOKUP && !r->echo)
		r->res.hits++;
	sl->sent_ns = 0;
}

/* Sends a request on every idle slot of socket i, in one sendmmsg. */
static void refill(struct run *r, uint32_t i, int64_t now)
{
	struct sock *s = &r->socks[i];
	struct mmsghdr msgs[BENCH_MAX_INFLIGHT];
	struct iovec iov[BENCH_MAX_INFLIGHT];
	struct slot *which[BENCH_MAX_INFLIGHT];
	int n = 0, sent, k;

	for (uint32_t j = 0; j < r->inflight; j++) {
		struct slot *sl = &s->slot[j];

		if (sl->sent_ns != 0 || !build(r, i, j, sl))
			continue;
		iov[n].iov_base = sl->req;
		iov[n].iov_len = sl->len;
		memset(&msgs[n], 0, sizeof(msgs[n]));
		msgs[n].msg_hdr.msg_iov = &iov[n];
		msgs[n].msg_hdr.msg_iovlen = 1;
		which[n++] = sl;
	}
	if (n == 0)
		return;
	sent = sendmmsg(s->fd, msgs, (unsigned)n, 0);
	if (sent < 0)
		sent = 0;
	for (k = 0; k < n; k++) {
		if (k >= sent) {
			/* FILL: keep the name for the next scan; else the slot just stays idle. */
			which[k]->retry = r->kind == KIND_FILL;
			continue;
		}
		which[k]->sent_ns = now;
		if (now >= r->t0 && now < r->t1)
			r->res.sent++;
	}
}

/* Receives what waits on fd, in batches: on_answer for socket i, or counts PEERs (i < 0). */
static void drain(struct run *r, int fd, int64_t i)
{
	static uint8_t bufs[BENCH_BATCH][PROTO_MAX_DATAGRAM + 1];
	struct mmsghdr msgs[BENCH_BATCH];
	struct iovec iov[BENCH_BATCH];
	int rounds, n, k;

	for (k = 0; k < BENCH_BATCH; k++) {
		iov[k].iov_base = bufs[k];
		iov[k].iov_len = sizeof(bufs[k]);
		memset(&msgs[k], 0, sizeof(msgs[k]));
		msgs[k].msg_hdr.msg_iov = &iov[k];
		msgs[k].msg_hdr.msg_iovlen = 1;
	}
	/* Bounded, so one busy socket cannot starve the others (or the clock). */
	for (rounds = 0; rounds < 16; rounds++) {
		int64_t now;

		n = recvmmsg(fd, msgs, BENCH_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		now = now_ns();
		for (k = 0; k < n; k++) {
			if (i >= 0)
				on_answer(r, (uint32_t)i, bufs[k], msgs[k].msg_len, now);
			else if (msgs[k].msg_len > 4 && bufs[k][0] == PROTO_MAGIC &&
				 bufs[k][2] == PROTO_PEER)
				r->res.sink_peers++;
			else
				r->res.bad++;
		}
		if (n < BENCH_BATCH)
			return;
	}
}

/* Counts requests unanswered for BENCH_TIMEOUT_MS as lost, frees their slots; may refill. */
static int scan(struct run *r, int64_t now, int sending)
{
	int busy = 0;

	for (uint32_t i = 0; i < r->nsocks; i++) {
		for (uint32_t j = 0; j < r->inflight; j++) {
			struct slot *sl = &r->socks[i].slot[j];

			if (sl->sent_ns == 0 || now - sl->sent_ns < BENCH_TIMEOUT_MS * NS_PER_MS)
				continue;
			/* The warm-up's first burst is where a small buffer drops: count it. */
			r->res.lost++;
			if (r->kind == KIND_FILL) {
				sl->retry = 1;
				r->res.retries++;
			}
			sl->sent_ns = 0; /* a late answer to it will count as bad */
		}
		if (sending)
			refill(r, i, now);
		for (uint32_t j = 0; j < r->inflight; j++)
			busy += r->socks[i].slot[j].sent_ns != 0 || r->socks[i].slot[j].retry;
	}
	return busy;
}

/* The drops on the server's port, and on ours. */
static void sample_drops(const struct run *r, uint64_t *srv, uint64_t *gen)
{
	static struct portset ps;

	memset(&ps, 0, sizeof(ps));
	portset_add(&ps, r->port);
	*srv = udp_drops(&ps);
	memset(&ps, 0, sizeof(ps));
	for (uint32_t i = 0; i < r->nsocks; i++)
		portset_add(&ps, r->socks[i].addr.port);
	for (uint32_t i = 0; i < r->nsinks; i++)
		portset_add(&ps, r->sinks[i].addr.port);
	*gen = udp_drops(&ps);
}

static int64_t self_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/*
 * Runs the load: warm_ms of it, then a window of window_ms that is measured,
 * then no new requests until every one is answered or lost. KIND_FILL has
 * no window: it runs until every name is registered (or BENCH_FILL_MAX_MS).
 * Results go to r->res. Returns 0, or -1 when epoll fails.
 */
static int run_load(struct run *r, int64_t warm_ms, int64_t window_ms)
{
	struct epoll_event ev[64];
	int64_t start = now_ns(), last_scan, stop, srv_cpu0 = 0, gen_cpu0 = 0, all_cpu0 = 0;
	uint64_t srv_drops0, gen_drops0;
	int ep = epoll_create1(EPOLL_CLOEXEC), in_window = 0, fill = r->kind == KIND_FILL;

	if (ep < 0)
		return -1;
	for (uint32_t k = 0; k < r->nsocks + r->nsinks; k++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = k };
		int fd = k < r->nsocks ? r->socks[k].fd : r->sinks[k - r->nsocks].fd;

		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			close(ep);
			return -1;
		}
	}
	memset(&r->res, 0, sizeof(r->res));
	/* Whatever a previous run left unread (a late PEER, say) is not an answer to this one. */
	for (uint32_t k = 0; k < r->nsocks + r->nsinks; k++) {
		int fd = k < r->nsocks ? r->socks[k].fd : r->sinks[k - r->nsocks].fd;
		uint8_t junk[PROTO_MAX_DATAGRAM + 1];

		while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) >= 0)
			continue;
	}
	sample_drops(r, &srv_drops0, &gen_drops0);
	r->t0 = fill ? start : start + warm_ms * NS_PER_MS;
	r->t1 = fill ? start + BENCH_FILL_MAX_MS * NS_PER_MS : r->t0 + window_ms * NS_PER_MS;
	stop = r->t1 + (BENCH_TIMEOUT_MS + 100) * NS_PER_MS;
	if (fill) {
		srv_cpu0 = proc_cpu_ns(r->pid);
		gen_cpu0 = self_cpu_ns();
		all_cpu0 = machine_busy_ns();
		in_window = 1;
	}
	last_scan = start;
	scan(r, start, 1);
	for (;;) {
		int64_t now = now_ns();
		int sending = now < r->t1, n, wait_ms;

		if (!in_window && now >= r->t0 && now < r->t1) {
			srv_cpu0 = proc_cpu_ns(r->pid);
			gen_cpu0 = self_cpu_ns();
			all_cpu0 = machine_busy_ns();
			in_window = 1;
		}
		if (in_window == 1 && now >= r->t1) {
			r->res.srv_cpu_ns = proc_cpu_ns(r->pid) - srv_cpu0;
			r->res.gen_cpu_ns = self_cpu_ns() - gen_cpu0;
			r->res.other_cpu_ns = machine_busy_ns() - all_cpu0;
			in_window = 2;
		}
		if (now - last_scan >= BENCH_SCAN_MS * NS_PER_MS) {
			last_scan = now;
			if (scan(r, now, sending) == 0 && (!sending || fill))
				break; /* all answered (FILL: all registered) */
			if (now >= stop)
				break;
		}
		wait_ms = sending && r->t1 - now < BENCH_SCAN_MS * NS_PER_MS ? 1 : BENCH_SCAN_MS;
		n = epoll_wait(ep, ev, 64, wait_ms);
		for (int k = 0; k < n; k++) {
			uint32_t id = ev[k].data.u32;

			if (id >= r->nsocks) {
				drain(r, r->sinks[id - r->nsocks].fd, -1);
				continue;
			}
			drain(r, r->socks[id].fd, id);
			now = now_ns();
			if (now < r->t1)
				refill(r, id, now);
		}
		if (fill && r->res.answered >= r->fill_end - r->fill_first)
			break;
	}
	/* The target's PEER leaves the server just after the requester's: wait 50 ms for the last. */
	for (int64_t end = now_ns() + 50 * NS_PER_MS;
	     r->nsinks > 0 && r->res.sink_peers < r->res.hits && now_ns() < end;) {
		int n = epoll_wait(ep, ev, 64, 5);

		for (int k = 0; k < n; k++)
			if (ev[k].data.u32 >= r->nsocks)
				drain(r, r->sinks[ev[k].data.u32 - r->nsocks].fd, -1);
	}
	if (fill) {
		r->t1 = now_ns();
		r->res.srv_cpu_ns = proc_cpu_ns(r->pid) - srv_cpu0;
		r->res.gen_cpu_ns = self_cpu_ns() - gen_cpu0;
		r->res.other_cpu_ns = machine_busy_ns() - all_cpu0;
	}
	/* What is left of the machine's busy time: other processes (and clock tick rounding). */
	r->res.other_cpu_ns -= r->res.srv_cpu_ns + r->res.gen_cpu_ns;
	if (r->res.other_cpu_ns < 0)
		r->res.other_cpu_ns = 0;
	r->res.seconds = (double)(r->t1 - r->t0) / NS_PER_S;
	sample_drops(r, &r->res.srv_drops, &r->res.gen_drops);
	r->res.srv_drops -= srv_drops0;
	r->res.gen_drops -= gen_drops0;
	close(ep);
	return 0;
}

/*
 * Opens n client sockets with `inflight` slots each, connected to port:
 * on 127.0.0.1 when first_ip is 0, else socket i on an address of its own,
 * source_ip(first_ip, i). Returns 0, or -1.
 */
static int socks_open(struct sock *s, uint32_t n, uint32_t inflight, uint16_t port,
		      uint32_t first_ip)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t ip = first_ip == 0 ? INADDR_LOOPBACK : source_ip(first_ip, i);

		s[i].fd = udp_open_at(ip, port, BENCH_RCVBUF, &s[i].addr);
		s[i].slot = calloc(inflight, sizeof(*s[i].slot));
		if (s[i].fd < 0 || s[i].slot == NULL) {
			perror("bench: client socket");
			return -1;
		}
		s[i].next_name = 0;
		memset(s[i].cookie, 0, sizeof(s[i].cookie));
	}
	return 0;
}

static void socks_close(struct sock *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		close(s[i].fd);
		free(s[i].slot);
		s[i].slot = NULL;
	}
}

/*
 * Registers names <prefix>first .. <prefix>(end-1) with p2pchatd on port,
 * name n from socks[n % n socks], `inflight` at a time per socket; a lost
 * one is sent again. Returns 0 when every name was registered, else -1.
 */
static int fill(struct sock *socks, uint32_t nsocks, uint32_t inflight, char prefix,
		uint32_t first, uint32_t end, uint16_t port, pid_t pid, struct result *out)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	r.kind = KIND_FILL;
	r.port = port;
	r.pid = pid;
	r.socks = socks;
	r.nsocks = nsocks;
	r.inflight = inflight;
	r.prefix = prefix;
	r.fill_first = first;
	r.fill_end = end;
	for (uint32_t i = 0; i < nsocks; i++) {
		/* The first n >= first with n % nsocks == i. */
		socks[i].next_name = first + (i + nsocks - first % nsocks) % nsocks;
		memset(socks[i].slot, 0, inflight * sizeof(*socks[i].slot));
	}
	if (run_load(&r, 0, 0) < 0)
		return -1;
	if (out != NULL)
		*out = r.res;
	/*
	 * A bad answer here is a late REGISTERED to a REGISTER sent again after
	 * it was counted lost: a new name's REGISTER costs the server an X25519
	 * (protocol version 2), and a burst of them can take longer than the
	 * bench waits. Every name registered is what matters.
	 */
	if (r.res.answered != (uint64_t)(end - first)) {
		fprintf(stderr, "bench: registering %c%" PRIu32 "..%c%" PRIu32 ": %" PRIu64
			" registered, %" PRIu64 " bad answers\n", prefix, first, prefix, end - 1,
			r.res.answered, r.res.bad);
		return -1;
	}
	return 0;
}

/* ---- reporting ------------------------------------------------------------ */

static double rate(const struct result *x)
{
	return x->seconds > 0 ? (double)x->answered / x->seconds : 0;
}

static void print_row_header(const char *first)
{
	printf("%-7s %-8s %9s %6s %7s %7s %8s %6s %4s %6s %7s %5s %5s %5s\n", first, "server",
	       "req/s", "ratio", "p50 us", "p99 us", "p99.9 us", "lost", "bad", "sdrops",
	       "us/req", "srv%", "gen%", "oth%");
}

/* A CPU time over a window, as % of one core. */
static double pct(int64_t ns, double seconds)
{
	return seconds > 0 ? 100.0 * (double)ns / (seconds * NS_PER_S) : 0;
}

/*
 * One row: rate, ratio to `ref` (another server's rate in the same cell; 0:
 * none), latency, losses, the server's CPU per answered request, and how
 * busy the server and the generator were (% of one core).
 */
static void print_row(const char *first, const char *server, const struct result *x, double ref)
{
	char ratio[16] = "";
	double per = x->answered ? (double)x->srv_cpu_ns / (double)x->answered / 1000 : 0;

	if (ref > 0)
		snprintf(ratio, sizeof(ratio), "%.2f", rate(x) / ref);
	printf("%-7s %-8s %9.0f %6s %7.1f %7.1f %8.1f %6" PRIu64 " %4" PRIu64 " %6" PRIu64
	       " %7.2f %5.0f %5.0f %5.0f\n", first, server, rate(x), ratio, hist_us(&x->lat, 0.5),
	       hist_us(&x->lat, 0.99), hist_us(&x->lat, 0.999), x->lost, x->bad, x->srv_drops,
	       per, pct(x->srv_cpu_ns, x->seconds), pct(x->gen_cpu_ns, x->seconds),
	       pct(x->other_cpu_ns, x->seconds));
	if (pct(x->other_cpu_ns, x->seconds) > BENCH_BUSY_PCT)
		printf("%-7s (other processes were busy: this row is suspect)\n", "");
	if (x->gen_drops > 0)
		printf("%-7s (our own sockets dropped %" PRIu64 ": this row is suspect)\n", "",
		       x->gen_drops);
	if (x->hits > 0 && x->sink_peers != x->hits)
		printf("%-7s (targets got %" PRIu64 " PEERs for %" PRIu64 " lookups)\n", "",
		       x->sink_peers, x->hits);
	if (x->cookies > 0)
		printf("%-7s (%" PRIu64 " COOKIE answers: those REGISTERs went again with it)\n",
		       "", x->cookies);
	fflush(stdout);
}

/* Prints one target line: "target: WHAT ... MET (FIGURE)". */
static void print_target(const char *what, int met, const char *figure)
{
	printf("target: %-58s %s (%s)\n", what, met ? "MET" : "NOT MET", figure);
}

/* ---- bench echo ----------------------------------------------------------- */

static volatile sig_atomic_t echo_stop;

static void echo_on_signal(int sig)
{
	(void)sig;
	echo_stop = 1;
}

/* The echo server's loop: blocking recvfrom, sendto back, one datagram at a time. */
static void echo_loop(int fd)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + 1];

	while (!echo_stop) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("bench echo: recvfrom");
			return;
		}
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

/* bench echo [-p PORT] [-r RCVBUF]: serves until SIGTERM or SIGINT. */
static int echo_main(int argc, char **argv)
{
	struct sockaddr_in sa;
	struct sigaction act;
	socklen_t sl = sizeof(sa);
	int port = 0, rcvbuf = 0, c, fd, got;

	while ((c = getopt(argc, argv, "p:r:")) != -1) {
		if (c == 'p')
			port = atoi(optarg);
		else if (c == 'r')
			rcvbuf = atoi(optarg);
		else
			return 2;
	}
	sa = loopback((uint16_t)port);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		set_rcvbuf(fd, rcvbuf);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("bench echo");
		return 1;
	}
	/* No SA_RESTART: the signal must interrupt recvfrom. */
	memset(&act, 0, sizeof(act));
	act.sa_handler = echo_on_signal;
	sigemptyset(&act.sa_mask);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	sl = sizeof(got);
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &sl);
	fprintf(stderr, "bench echo: SO_RCVBUF %d bytes\n", got);
	/* The same line p2pchatd prints: tests/lib.sh reads the port from it. */
	fprintf(stderr, "bench echo: listening on 127.0.0.1:%u\n", (unsigned)ntohs(sa.sin_port));
	echo_loop(fd);
	close(fd);
	return 0;
}

/* ---- bench grid ----------------------------------------------------------- */

struct server_ref {
	const char *name; /* "p2pchatd", "echo", "coturn" */
	uint16_t port;
	pid_t pid;
};

/* Parses NAME=PORT:PID. Returns 0, or -1. */
static int parse_server(char *arg, struct server_ref *s)
{
	char *eq = strchr(arg, '=');
	unsigned port, pid;

	if (eq == NULL || sscanf(eq + 1, "%u:%u", &port, &pid) != 2 || port == 0 || port > 65535)
		return -1;
	*eq = '\0';
	s->name = arg;
	s->port = (uint16_t)port;
	s->pid = (pid_t)pid;
	return 0;
}

static const struct { uint32_t clients, inflight; } grid_loads[] = {
	{ 1, 1 }, { 1, 8 }, { 16, 1 }, { 16, 8 }, { 256, 1 }, { 256, 8 },
};
#define GRID_LOADS (sizeof(grid_loads) / sizeof(grid_loads[0]))
#define GRID_SERVERS 4 /* p2pchatd, echo, coturn, and p2pchatd from another commit */

/*
 * One grid cell: `clients` sockets x `inflight` requests of `kind` against
 * server sv. Against p2pchatd the names are registered first (not
 * measured). Returns 0, or -1.
 */
static int grid_cell(enum kind kind, uint32_t clients, uint32_t inflight,
		     const struct server_ref *sv, struct sock *sinks, int64_t window_ms,
		     struct result *out)
{
	static struct sock socks[BENCH_MAX_SOCKS];
	/* Every server but the echo server and coturn is a p2pchatd (of this commit, or another). */
	int is_p2pchatd = strcmp(sv->name, "echo") != 0 && strcmp(sv->name, "coturn") != 0;
	struct run r;
	int rc = -1;

	memset(&r, 0, sizeof(r));
	if (socks_open(socks, clients, inflight, sv->port, 0) < 0)
		goto done;
	if (is_p2pchatd && kind != KIND_STUN) {
		/* Our names c0..; the targets t0.. again (they expire after the server's TTL). */
		if (fill(socks, clients, inflight, 'c', 0, clients * inflight, sv->port, sv->pid,
			 NULL) < 0)
			goto done;
		if (kind == KIND_LOOKUP &&
		    fill(sinks, BENCH_SINKS, 8, 't', 0, BENCH_GRID_TARGETS, sv->port, sv->pid,
			 NULL) < 0)
			goto done;
	}
	r.kind = kind;
	r.echo = strcmp(sv->name, "echo") == 0;
	r.port = sv->port;
	r.pid = sv->pid;
	r.socks = socks;
	r.nsocks = clients;
	r.inflight = inflight;
	if (kind == KIND_LOOKUP && is_p2pchatd) {
		r.sinks = sinks;
		r.nsinks = BENCH_SINKS;
	}
	r.ntargets = BENCH_GRID_TARGETS;
	r.rng.s = UINT64_C(0x9E3779B97F4A7C15) ^ clients ^ (uint64_t)inflight << 20;
	if (run_load(&r, BENCH_WARMUP_MS, window_ms) < 0)
		goto done;
	*out = r.res;
	rc = 0;
done:
	socks_close(socks, clients);
	return rc;
}

/* The best rate of one server over the loads of one kind. */
static double peak(struct result (*res)[GRID_SERVERS], int server)
{
	double best = 0;

	for (size_t l = 0; l < GRID_LOADS; l++)
		if (rate(&res[l][server]) > best)
			best = rate(&res[l][server]);
	return best;
}

/*
 * bench grid [-t SECONDS] p2pchatd=PORT:PID echo=PORT:PID [coturn=PORT:PID] [NAME=PORT:PID]
 * Runs every kind x load cell against each server in turn (interleaved, so a
 * drift of the machine affects all alike), prints a table per kind and the
 * targets that compare the servers. NAME: p2pchatd built from another commit
 * (tests/bench.sh's BENCH_BASE), to compare the two in one run.
 */
static int grid_main(int argc, char **argv)
{
	static struct result res[KIND_COUNT][GRID_LOADS][GRID_SERVERS];
	static const enum kind kinds[] = { KIND_STUN, KIND_LOOKUP, KIND_MISS, KIND_REGISTER };
	static struct sock sinks[GRID_SERVERS][BENCH_SINKS]; /* each p2pchatd's targets */
	static const char *const kind_word[KIND_COUNT] = {
		[KIND_STUN] = "stun", [KIND_LOOKUP] = "lookup", [KIND_MISS] = "miss",
		[KIND_REGISTER] = "register", [KIND_FILL] = "fill",
	};
	struct server_ref sv[GRID_SERVERS];
	int64_t window_ms = BENCH_WINDOW_MS;
	const char *only_kind = NULL, *only_load = NULL;
	int nsv = 0, c, coturn = -1, base = -1;
	uint64_t lost256 = 0;
	char fig[64];

	while ((c = getopt(argc, argv, "t:k:c:")) != -1) {
		if (c == 't')
			window_ms = (int64_t)(atof(optarg) * 1000);
		else if (c == 'k')
			only_kind = optarg; /* for profiling: stun, lookup, miss, register */
		else if (c == 'c')
			only_load = optarg; /* one load, for profiling: 16x8 */
		else
			return 2;
	}
	for (; optind < argc && nsv < GRID_SERVERS; optind++) {
		if (parse_server(argv[optind], &sv[nsv]) < 0) {
			fprintf(stderr, "bench grid: bad server %s\n", argv[optind]);
			return 2;
		}
		if (strcmp(sv[nsv].name, "coturn") == 0)
			coturn = nsv;
		else if (nsv >= 2)
			base = nsv;
		nsv++;
	}
	if (nsv < 2 || strcmp(sv[0].name, "p2pchatd") != 0 || strcmp(sv[1].name, "echo") != 0) {
		usage();
		return 2;
	}
	/* The sinks' sockets are connected: each p2pchatd has its own. */
	for (int s = 0; s < nsv; s++)
		if (s != 1 && s != coturn && socks_open(sinks[s], BENCH_SINKS, 8, sv[s].port, 0) < 0)
			return 1;

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		enum kind kind = kinds[k];

		if (only_kind != NULL && strcmp(only_kind, kind_word[kind]) != 0)
			continue;
		printf("\n%s\n", kind_title[kind]);
		print_row_header("clients");
		for (size_t l = 0; l < GRID_LOADS; l++) {
			char load[16];

			snprintf(load, sizeof(load), "%ux%u", grid_loads[l].clients,
				 grid_loads[l].inflight);
			if (only_load != NULL && strcmp(only_load, load) != 0)
				continue;
			for (int s = 0; s < nsv; s++) {
				struct result *x = &res[kind][l][s];

				if (s == coturn && kind != KIND_STUN)
					continue;
				if (grid_cell(kind, grid_loads[l].clients, grid_loads[l].inflight,
					      &sv[s], sinks[s], window_ms, x) < 0) {
					fprintf(stderr, "bench grid: %s %s failed\n", load,
						sv[s].name);
					return 1;
				}
				print_row(s == 0 ? load : "", sv[s].name, x,
					  s == 1 ? 0 : rate(&res[kind][l][1]));
			}
			if (grid_loads[l].clients == 256 && grid_loads[l].inflight == 8)
				lost256 += res[kind][l][0].lost;
		}
	}
	for (int s = 0; s < nsv; s++)
		if (s != 1 && s != coturn)
			socks_close(sinks[s], BENCH_SINKS);

	printf("\nratio: req/s over the echo server's in the same cell. p50..p99.9: latency of the"
	       " requests sent\nin the window. lost: requests unanswered after 1 s, warm-up (and its"
	       " first burst) included.\nsdrops: datagrams the kernel dropped at the server's socket"
	       " (receive buffer full). us/req:\nthe server's CPU time per answered request."
	       " srv%%, gen%%, oth%%: CPU used by the server, by\nthis generator and by everything"
	       " else on the machine in the window, %% of one core.\n\n");
	printf("peak rates (best cell):");
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		printf(" %s %.0f/%.0f", kind_word[kinds[k]], peak(res[kinds[k]], 0),
		       peak(res[kinds[k]], 1));
	printf("  (p2pchatd/echo)\n");

	if (base >= 0) {
		printf("%s / %s (peak rates):", sv[0].name, sv[base].name);
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (peak(res[kinds[k]], base) > 0)
				printf(" %s %.2f", kind_word[kinds[k]],
				       peak(res[kinds[k]], 0) / peak(res[kinds[k]], base));
		printf("\n");
	}
	/* The targets compare whole grids: a run of one kind or one load only reports. */
	if (only_kind != NULL || only_load != NULL)
		return 0;
	snprintf(fig, sizeof(fig), "%.2f", peak(res[KIND_STUN], 0) / peak(res[KIND_STUN], 1));
	print_target("STUN >= 0.95 x echo (peak rates)",
		     peak(res[KIND_STUN], 0) >= 0.95 * peak(res[KIND_STUN], 1), fig);
	snprintf(fig, sizeof(fig), "%.2f", peak(res[KIND_LOOKUP], 0) / peak(res[KIND_LOOKUP], 1));
	/* Issue 12's aim for a hit, which sends 2 datagrams to echo's 1 (the miss: 0.95 below). */
	print_target("lookups (hit) >= 0.75 x echo (peak rates)",
		     peak(res[KIND_LOOKUP], 0) >= 0.75 * peak(res[KIND_LOOKUP], 1), fig);
	snprintf(fig, sizeof(fig), "%.2f", peak(res[KIND_MISS], 0) / peak(res[KIND_MISS], 1));
	print_target("lookups (miss, 1 datagram for 1) >= 0.95 x echo (peak rates)",
		     peak(res[KIND_MISS], 0) >= 0.95 * peak(res[KIND_MISS], 1), fig);
	if (coturn >= 0) {
		snprintf(fig, sizeof(fig), "%.2f",
			 peak(res[KIND_STUN], 0) / peak(res[KIND_STUN], coturn));
		print_target("STUN >= 1.5 x coturn (peak rates)",
			     peak(res[KIND_STUN], 0) >= 1.5 * peak(res[KIND_STUN], coturn), fig);
	} else {
		printf("target: STUN >= 1.5 x coturn: not measured (coturn not running)\n");
	}
	snprintf(fig, sizeof(fig), "%" PRIu64 " lost", lost256);
	print_target("no request lost at 256 clients x 8 (p2pchatd, every kind)", lost256 == 0,
		     fig);
	return 0;
}

/* ---- bench table ---------------------------------------------------------- */

#define TABLE_MAX_BUILDS 2  /* p2pchatd, and the same program built from another commit */
#define TABLE_MAX_COUNTS 4
#define TABLE_MAX_SERVERS (TABLE_MAX_BUILDS * TABLE_MAX_COUNTS)
#define TABLE_MAX_ROUNDS 15

/* One p2pchatd of bench table, holding one count of names, and what it measured. */
struct table_side {
	struct server_ref sv;
	int build, count;                       /* which build; which of the counts it holds */
	struct sock sinks[BENCH_SINKS], socks[16];
	long rss0, rss;                         /* kB: before the fill, after it */
	struct result fill;
	double lookups[TABLE_MAX_ROUNDS];       /* lookups a second, by round */
	double us_req[TABLE_MAX_ROUNDS];        /* the server's CPU time per lookup, by round */
	uint64_t lost, bad;
	double other;                           /* the busiest window's other load, % of a core */
};

/* For qsort: doubles in increasing order. */
static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n), which it sorts. */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One window of lookup hits on random names among `have` at 16 clients x 8. Returns 0 or -1. */
static int table_lookups(struct table_side *t, uint32_t have, int64_t window_ms,
			 struct result *out)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	r.kind = KIND_LOOKUP;
	r.port = t->sv.port;
	r.pid = t->sv.pid;
	r.socks = t->socks;
	r.nsocks = 16;
	r.inflight = 8;
	r.sinks = t->sinks;
	r.nsinks = BENCH_SINKS;
	r.ntargets = have;
	r.rng.s = UINT64_C(0x243F6A8885A308D3);
	for (uint32_t i = 0; i < 16; i++)
		memset(t->socks[i].slot, 0, 8 * sizeof(*t->socks[i].slot));
	if (run_load(&r, BENCH_WARMUP_MS, window_ms) < 0)
		return -1;
	*out = r.res;
	return 0;
}

/*
 * Opens t's sockets and registers the requesters' 128 names (c0..c127) and
 * `count` targets (t0..), measuring the fill and the memory. Returns 0 or -1.
 */
static int table_fill(struct table_side *t, uint32_t count)
{
	if (socks_open(t->sinks, BENCH_SINKS, 8, t->sv.port, 0) < 0 ||
	    socks_open(t->socks, 16, 8, t->sv.port, 0) < 0)
		return -1;
	t->rss0 = proc_status(t->sv.pid, "VmRSS");
	if (fill(t->socks, 16, 8, 'c', 0, 128, t->sv.port, t->sv.pid, NULL) < 0 ||
	    fill(t->sinks, BENCH_SINKS, 8, 't', 0, count, t->sv.port, t->sv.pid, &t->fill) < 0)
		return -1;
	t->rss = proc_status(t->sv.pid, "VmRSS");
	return 0;
}

/* The median over rounds of side a's lookup rate over side b's in the same round. */
static double table_ratio(const struct table_side *a, const struct table_side *b, int rounds)
{
	double v[TABLE_MAX_ROUNDS];

	for (int i = 0; i < rounds; i++)
		v[i] = b->lookups[i] > 0 ? a->lookups[i] / b->lookups[i] : 0;
	return median(v, rounds);
}

/*
 * bench table [-t SECONDS] [-r ROUNDS] -n COUNT,... NAME=PORT:PID ...
 * One p2pchatd per count (started with -n >= the largest count and a long
 * TTL), given in the order of the counts; a second NAME's servers after the
 * first's, for the same program built from another commit. Each server is
 * filled to its count, measuring registrations per second and its resident
 * memory per name; then, ROUNDS times, every server gets a window of lookup
 * hits on random names among its own at 16 clients x 8 in flight, the
 * servers taking turns (the order turning round each time). The ratios
 * compare windows of the same round, so a drift of the machine's other load
 * (this machine is shared) touches both sides of a ratio alike.
 */
static int table_main(int argc, char **argv)
{
	static struct table_side side[TABLE_MAX_SERVERS];
	int64_t window_ms = BENCH_WINDOW_MS;
	uint32_t counts[TABLE_MAX_COUNTS];
	int nsv = 0, nbuilds = 0, ncounts = 0, rounds = 3, c;
	char *list = NULL, *tok, *save, fig[96], arg[96];
	const char *builds[TABLE_MAX_BUILDS];

	while ((c = getopt(argc, argv, "t:n:r:")) != -1) {
		if (c == 't')
			window_ms = (int64_t)(atof(optarg) * 1000);
		else if (c == 'n')
			list = optarg;
		else if (c == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	for (tok = list != NULL ? strtok_r(list, ",", &save) : NULL;
	     tok != NULL && ncounts < TABLE_MAX_COUNTS; tok = strtok_r(NULL, ",", &save)) {
		uint32_t n = (uint32_t)strtoul(tok, NULL, 10);

		if (n > (ncounts ? counts[ncounts - 1] : 0))
			counts[ncounts++] = n;
	}
	for (; optind < argc && ncounts > 0 && nsv < TABLE_MAX_SERVERS; optind++) {
		struct table_side *t = &side[nsv];

		if (parse_server(argv[optind], &t->sv) < 0) {
			fprintf(stderr, "bench table: bad server %s\n", argv[optind]);
			return 2;
		}
		t->count = nsv % ncounts;
		if (t->count == 0) {
			if (nbuilds == TABLE_MAX_BUILDS)
				break;
			builds[nbuilds++] = t->sv.name;
		}
		t->build = nbuilds - 1;
		nsv++;
	}
	if (ncounts == 0 || nsv == 0 || nsv != nbuilds * ncounts || rounds < 1 ||
	    rounds > TABLE_MAX_ROUNDS) {
		fprintf(stderr, "bench table: give -n COUNT,... [-r 1..%d] and one NAME=PORT:PID "
			"per count (per build)\n", TABLE_MAX_ROUNDS);
		return 2;
	}
	printf("\nName table: one p2pchatd per size, filled to N names (REGISTER of new names,"
	       " %u sockets x 8\nin flight); then %d rounds of LOOKUP hits on random names among"
	       " them (16 clients x 8\nin flight, a %.1f s window), every server in turn each"
	       " round. lookup/s: the median window.\n", BENCH_SINKS, rounds,
	       (double)window_ms / 1000);
	for (int s = 0; s < nsv; s++)
		if (table_fill(&side[s], counts[side[s].count]) < 0)
			return 1;
	for (int round = 0; round < rounds; round++) {
		for (int i = 0; i < nsv; i++) {
			/* Odd rounds go the other way round: no server is always first. */
			struct table_side *t = &side[round % 2 ? nsv - 1 - i : i];
			struct result lr;

			if (table_lookups(t, counts[t->count], window_ms, &lr) < 0)
				return 1;
			t->lookups[round] = rate(&lr);
			t->us_req[round] =
				lr.answered ? (double)lr.srv_cpu_ns / (double)lr.answered / 1000 : 0;
			t->lost += lr.lost;
			t->bad += lr.bad;
			if (pct(lr.other_cpu_ns, lr.seconds) > t->other)
				t->other = pct(lr.other_cpu_ns, lr.seconds);
			if (lr.sink_peers != lr.hits)
				printf("%-9s (targets got %" PRIu64 " PEERs for %" PRIu64 " lookups)\n",
				       "", lr.sink_peers, lr.hits);
		}
	}
	printf("%-9s %-10s %9s %7s %9s %7s %9s %9s %9s %7s %6s %4s %5s\n", "names", "server",
	       "fill/s", "fill us", "RSS kB", "B/name", "lookup/s", "min", "max", "us/req", "lost",
	       "bad", "oth%");
	for (int s = 0; s < nsv; s++) {
		struct table_side *t = &side[s];
		double v[TABLE_MAX_ROUNDS], lo = 1e300, hi = 0, med;

		for (int round = 0; round < rounds; round++) {
			v[round] = t->lookups[round];
			lo = v[round] < lo ? v[round] : lo;
			hi = v[round] > hi ? v[round] : hi;
		}
		med = median(v, rounds);
		memcpy(v, t->us_req, sizeof(v));
		printf("%-9" PRIu32 " %-10s %9.0f %7.2f %9ld %7.0f %9.0f %9.0f %9.0f %7.2f %6" PRIu64
		       " %4" PRIu64 " %5.0f\n", counts[t->count], t->sv.name, rate(&t->fill),
		       t->fill.answered ? (double)t->fill.srv_cpu_ns / (double)t->fill.answered / 1000
					: 0,
		       t->rss, (double)(t->rss - t->rss0) * 1024.0 / (counts[t->count] + 128), med, lo,
		       hi, median(v, rounds), t->lost, t->bad, t->other);
		if (t->other > BENCH_BUSY_PCT)
			printf("%-9s (other processes were busy: the ratios below hold better)\n", "");
		socks_close(t->socks, 16);
		socks_close(t->sinks, BENCH_SINKS);
	}
	printf("fill/s, fill us: registrations a second, the server's CPU time per registration,"
	       " filling\nfrom 0; B/name: (RSS - RSS before the fill) / names held; min, max: the"
	       " slowest and\nfastest window; us/req: the server's CPU time per lookup (median);"
	       " oth%%: CPU used by\nother processes during the lookups, %% of one core (the"
	       " busiest window).\nRatios: the median over rounds of the two rates in the same"
	       " round.\n");
	for (int k = 0; nbuilds == 2 && k < ncounts; k++)
		printf("%s / %s at %" PRIu32 " names: %.2f\n", builds[0], builds[1], counts[k],
		       table_ratio(&side[k], &side[ncounts + k], rounds));
	for (int b = 0; ncounts >= 2 && b < nbuilds; b++) {
		const struct table_side *first = &side[b * ncounts];
		const struct table_side *last = &side[b * ncounts + ncounts - 1];
		double ratio = table_ratio(last, first, rounds);
		double per_name = (double)(last->rss - last->rss0) * 1024.0 /
				  (counts[ncounts - 1] + 128);

		snprintf(fig, sizeof(fig), "%.2f", ratio);
		snprintf(arg, sizeof(arg), "%s: lookups at %" PRIu32 " names >= 0.90 x at %" PRIu32,
			 builds[b], counts[ncounts - 1], counts[0]);
		print_target(arg, ratio >= 0.90, fig);
		snprintf(fig, sizeof(fig), "%.0f bytes", per_name);
		snprintf(arg, sizeof(arg), "%s: resident memory <= 256 bytes per name (at %" PRIu32
			 ")", builds[b], counts[ncounts - 1]);
		print_target(arg, per_name <= 256, fig);
	}
	return 0;
}

/* ---- bench guard ---------------------------------------------------------- */

/*
 * The defaults give each source address 20 LOOKUPs a second and bursts of
 * 50 (guard.c). A load of R requests a second from N sources, for the T
 * seconds of a run, stays within every budget when R * T / N <= 50 + 20 T:
 * at 200 000 a second for 1.4 s, N >= 3 600. Sources that share a slot of
 * the guard's table (about 6 in 100 of 4 096 among its 65 536 slots) share
 * a budget too, and may run out of it.
 */
#define GUARD_SOURCES 4096            /* default -n */
#define GUARD_SINKS 64                /* the targets' sockets, each on an address of its own */
#define GUARD_TARGETS 1024            /* 16 a sink: under the default names (64) and burst (20) */
#define GUARD_ROUNDS 5                /* runs against each server, in turns (odd: a median) */
#define GUARD_WINDOW_MS 1000          /* default -t: short, so each source spends little */
#define GUARD_FIRST_SOURCE 0x7f010001u /* 127.1.0.1 */
#define GUARD_FIRST_SINK 0x7f020001u   /* 127.2.0.1 */
#define GUARD_FD_SPARE 64             /* descriptors kept for epoll, /proc and the like */

/*
 * Asks the p2pchatd at 127.0.0.1:port for its counters (STATS; it answers
 * loopback only) into text. Returns 0, or -1 when no answer came.
 */
static int stats_fetch(uint16_t port, char *text, size_t cap)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + 1];
	struct pollfd p = { .fd = -1, .events = POLLIN };
	struct proto_addr self;
	struct proto_msg m;
	ssize_t got = -1;
	int n, rc = -1;

	p.fd = udp_open(port, 0, &self);
	if (p.fd < 0)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATS;
	n = proto_encode(&m, buf, sizeof(buf));
	if (n > 0 && send(p.fd, buf, (size_t)n, 0) == n && poll(&p, 1, BENCH_TIMEOUT_MS) == 1)
		got = recv(p.fd, buf, sizeof(buf), 0);
	if (got > 0 && proto_decode(buf, (size_t)got, &m) == 0 && m.type == PROTO_STATS_REPLY) {
		snprintf(text, cap, "%s", m.text);
		rc = 0;
	}
	close(p.fd);
	return rc;
}

/* The value of the line "key value" in STATS text, or -1 when there is none. */
static int64_t stats_value(const char *text, const char *key)
{
	size_t klen = strlen(key);

	for (const char *line = text; line != NULL && *line != '\0';
	     line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
			return strtoll(line + klen + 1, NULL, 10);
	}
	return -1;
}

/* What the limits did to one server in one run: its counters' growth. */
struct guard_counts {
	int64_t limited; /* LOOKUP and WHO refused by the rate (limited_lookup) */
	int64_t shared;  /* requests charged to a slot another source held (limit_shared) */
};

static int guard_counts_read(uint16_t port, struct guard_counts *c)
{
	char text[PROTO_STATS_TEXT_MAX + 1];

	if (stats_fetch(port, text, sizeof(text)) < 0)
		return -1;
	c->limited = stats_value(text, "limited_lookup");
	c->shared = stats_value(text, "limit_shared");
	return c->limited < 0 || c->shared < 0 ? -1 : 0;
}

/*
 * Raises the soft limit on open descriptors to the hard one (each source
 * is a socket). Returns how many this process may hold now.
 */
static uint64_t fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

/* One server of bench guard and the sockets that talk to it. */
struct guard_side {
	struct server_ref sv;
	struct sock *socks;                /* nsrc of them, each on its own address */
	struct sock sinks[GUARD_SINKS];    /* likewise: the targets */
	struct result res[GUARD_ROUNDS];
	struct guard_counts counts[GUARD_ROUNDS];
};

/*
 * Opens side g's sockets and registers their names (each source one, each
 * sink GUARD_TARGETS / GUARD_SINKS), every one with its cookie round trip.
 * Returns 0, or -1.
 */
static int guard_setup(struct guard_side *g, uint32_t nsrc)
{
	g->socks = calloc(nsrc, sizeof(*g->socks));
	if (g->socks == NULL ||
	    socks_open(g->socks, nsrc, 1, g->sv.port, GUARD_FIRST_SOURCE) < 0 ||
	    socks_open(g->sinks, GUARD_SINKS, 8, g->sv.port, GUARD_FIRST_SINK) < 0)
		return -1;
	if (fill(g->socks, nsrc, 1, 'c', 0, nsrc, g->sv.port, g->sv.pid, NULL) < 0 ||
	    fill(g->sinks, GUARD_SINKS, 8, 't', 0, GUARD_TARGETS, g->sv.port, g->sv.pid, NULL) < 0)
		return -1;
	return 0;
}

/* One measured run of LOOKUP hits against side g, its counters read around it. */
static int guard_run(struct guard_side *g, uint32_t nsrc, int round, int64_t window_ms)
{
	struct guard_counts before, after;
	struct run r;

	memset(&r, 0, sizeof(r));
	r.kind = KIND_LOOKUP;
	r.port = g->sv.port;
	r.pid = g->sv.pid;
	r.socks = g->socks;
	r.nsocks = nsrc;
	r.inflight = 1;
	r.sinks = g->sinks;
	r.nsinks = GUARD_SINKS;
	r.ntargets = GUARD_TARGETS;
	r.rng.s = UINT64_C(0x13198A2E03707344) + (uint64_t)round;
	for (uint32_t i = 0; i < nsrc; i++)
		memset(g->socks[i].slot, 0, sizeof(*g->socks[i].slot));
	if (guard_counts_read(g->sv.port, &before) < 0 ||
	    run_load(&r, BENCH_WARMUP_MS, window_ms) < 0 ||
	    guard_counts_read(g->sv.port, &after) < 0)
		return -1;
	g->res[round] = r.res;
	g->counts[round].limited = after.limited - before.limited;
	g->counts[round].shared = after.shared - before.shared;
	return 0;
}

/* The server's CPU time per answered request over every round, in microseconds. */
static double guard_us_per_req(const struct guard_side *g)
{
	int64_t cpu = 0;
	uint64_t answered = 0;

	for (int k = 0; k < GUARD_ROUNDS; k++) {
		cpu += g->res[k].srv_cpu_ns;
		answered += g->res[k].answered;
	}
	return answered ? (double)cpu / (double)answered / 1000 : 0;
}

/*
 * bench guard [-t SECONDS] [-n SOURCES] NAME=PORT:PID NAME=PORT:PID
 * The cost of the per-source limits (guard.c): LOOKUP hits, checked as in
 * the grid, from SOURCES sockets each on a loopback address of its own,
 * one request in flight each, against the first server (started without
 * limits) and the second (with the defaults), in turns. Spread over that
 * many addresses, the load keeps each within its budget, so (nearly)
 * nothing is refused and what differs is the work of the guard itself: a
 * SipHash and a look at one slot of its table per request. The servers'
 * counters say how many were refused all the same (limited), and how many
 * requests met a slot another source held (shared).
 */
static int guard_main(int argc, char **argv)
{
	static struct guard_side side[2];
	int64_t window_ms = GUARD_WINDOW_MS;
	uint32_t nsrc = GUARD_SOURCES;
	uint64_t fds;
	double ratio[GUARD_ROUNDS], sorted[GUARD_ROUNDS], us[2];
	int c;

	while ((c = getopt(argc, argv, "t:n:")) != -1) {
		if (c == 't')
			window_ms = (int64_t)(atof(optarg) * 1000);
		else if (c == 'n')
			nsrc = (uint32_t)strtoul(optarg, NULL, 10);
		else
			return 2;
	}
	if (argc - optind != 2 || parse_server(argv[optind], &side[0].sv) < 0 ||
	    parse_server(argv[optind + 1], &side[1].sv) < 0 || nsrc == 0 || nsrc > 60000) {
		usage();
		return 2;
	}
	/* Both sides' sockets are open at once. */
	fds = fd_limit();
	if (fds < 2 * (uint64_t)(nsrc + GUARD_SINKS) + GUARD_FD_SPARE) {
		uint32_t fit = fds > 2 * GUARD_SINKS + GUARD_FD_SPARE ?
			       (uint32_t)((fds - GUARD_FD_SPARE) / 2 - GUARD_SINKS) : 0;

		printf("bench guard: %" PRIu64 " descriptors allowed (ulimit -n): %" PRIu32
		       " sources, not %" PRIu32 "\n", fds, fit, nsrc);
		nsrc = fit;
		if (nsrc == 0)
			return 1;
	}
	for (int k = 0; k < 2; k++) {
		if (guard_setup(&side[k], nsrc) < 0) {
			fprintf(stderr, "bench guard: setting up against %s failed\n",
				side[k].sv.name);
			return 1;
		}
	}

	printf("\nThe cost of the per-source limits: LOOKUP hits from %" PRIu32 " sources, each a"
	       " socket on its own\naddress (127.1.0.1 and on), 1 in flight each; %d targets on %d"
	       " more sockets (127.2.0.x).\np2pchatd %s, then %s, in turns: %d rounds of %.1f s"
	       " windows. limited: LOOKUPs the\nlimits refused; shared: requests charged to a slot"
	       " another source held (server counters).\n", nsrc, GUARD_TARGETS, GUARD_SINKS,
	       side[0].sv.name, side[1].sv.name, GUARD_ROUNDS, (double)window_ms / 1000);
	print_row_header("round");
	for (int round = 0; round < GUARD_ROUNDS; round++) {
		for (int k = 0; k < 2; k++) {
			struct guard_side *g = &side[k];
			char label[16];

			if (guard_run(g, nsrc, round, window_ms) < 0) {
				fprintf(stderr, "bench guard: a run against %s failed\n",
					g->sv.name);
				return 1;
			}
			snprintf(label, sizeof(label), "%d", round + 1);
			print_row(k == 0 ? label : "", g->sv.name, &g->res[round],
				  k == 0 ? 0 : rate(&side[0].res[round]));
			printf("%-7s limited %" PRId64 ", shared %" PRId64 "\n", "",
			       g->counts[round].limited, g->counts[round].shared);
		}
	}
	printf("ratio: req/s over %s's in the same round. Other columns as in the grid.\n",
	       side[0].sv.name);
	/* The rounds' spread shows the noise the difference must stand out from. */
	for (int round = 0; round < GUARD_ROUNDS; round++) {
		double ref = rate(&side[0].res[round]);

		ratio[round] = ref > 0 ? rate(&side[1].res[round]) / ref : 0;
		sorted[round] = ratio[round];
	}
	qsort(sorted, GUARD_ROUNDS, sizeof(sorted[0]), cmp_double);
	printf("guard: req/s %s over %s, round by round:", side[1].sv.name, side[0].sv.name);
	for (int round = 0; round < GUARD_ROUNDS; round++)
		printf(" %.2f", ratio[round]);
	printf(" (median %.2f)\n", sorted[GUARD_ROUNDS / 2]);
	us[0] = guard_us_per_req(&side[0]);
	us[1] = guard_us_per_req(&side[1]);
	printf("guard: server CPU per request %.2f us with %s, %.2f us with %s (%+.2f us)\n",
	       us[1], side[1].sv.name, us[0], side[0].sv.name, us[1] - us[0]);
	for (int k = 0; k < 2; k++) {
		socks_close(side[k].socks, nsrc);
		free(side[k].socks);
		socks_close(side[k].sinks, GUARD_SINKS);
	}
	return 0;
}

/* ---- bench chat ----------------------------------------------------------- */

/* Line reader over a pipe, with deadlines. */
struct reader {
	int fd;
	size_t len;
	char buf[8192];
};

/*
 * Reads one line (without its newline) into line[0..cap) by the monotonic
 * deadline. Returns 1, 0 on time-out, -1 at the end of the stream.
 */
static int read_line(struct reader *rd, char *line, size_t cap, int64_t deadline)
{
	for (;;) {
		char *nl = memchr(rd->buf, '\n', rd->len);
		struct pollfd p = { .fd = rd->fd, .events = POLLIN };
		int64_t left = deadline - now_ns();
		ssize_t n;

		if (nl != NULL) {
			size_t l = (size_t)(nl - rd->buf);

			snprintf(line, cap, "%.*s", (int)l, rd->buf);
			rd->len -= l + 1;
			memmove(rd->buf, nl + 1, rd->len);
			return 1;
		}
		if (rd->len == sizeof(rd->buf))
			rd->len = 0; /* a line longer than we ever send: not ours */
		if (left <= 0)
			return 0;
		if (poll(&p, 1, (int)(left / NS_PER_MS) + 1) <= 0)
			continue;
		n = read(rd->fd, rd->buf + rd->len, sizeof(rd->buf) - rd->len);
		if (n <= 0)
			return -1;
		rd->len += (size_t)n;
	}
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Message number m: "m0000042 xxxx...", BENCH_MSG_LEN bytes, and a newline. */
static void message(char out[BENCH_MSG_LEN + 2], uint32_t m)
{
	int n = snprintf(out, BENCH_MSG_LEN + 2, "m%07" PRIu32 " ", m % 10000000);

	memset(out + n, 'x', (size_t)(BENCH_MSG_LEN - n));
	out[BENCH_MSG_LEN] = '\n';
	out[BENCH_MSG_LEN + 1] = '\0';
}

/* Returns 1 when line ("<bench-a> m..." or "m...") ends with msg, its newline left out. */
static int line_is(const char *line, const char *msg)
{
	size_t l = strlen(line);

	return l >= BENCH_MSG_LEN && memcmp(line + l - BENCH_MSG_LEN, msg, BENCH_MSG_LEN) == 0;
}

/* Two chat ends the bench talks through: stdin and stdout of each, and their processes. */
struct pair {
	pid_t pid[2];
	int in[2];               /* write end of each one's stdin */
	struct reader out[2];    /* read end of each one's stdout */
};

/* Waits for the line msg on end `to`, skipping other lines. Returns 0, or -1 on time-out or EOF. */
static int wait_message(struct pair *p, int to, const char *msg)
{
	int64_t deadline = now_ns() + BENCH_CHAT_WAIT_MS * NS_PER_MS;
	char line[512];

	for (;;) {
		if (read_line(&p->out[to], line, sizeof(line), deadline) <= 0)
			return -1;
		if (line_is(line, msg))
			return 0;
	}
}

/*
 * Round trips: message m written to end 0, read at end 1, written back to
 * end 1, read at end 0. `warm` round trips first, not counted. Returns 0,
 * or -1 when one did not come through in time.
 */
static int pair_rtt(struct pair *p, uint32_t warm, uint32_t count, struct hist *h)
{
	char msg[BENCH_MSG_LEN + 2];

	for (uint32_t m = 0; m < warm + count; m++) {
		int64_t t = now_ns();

		message(msg, m);
		if (write_all(p->in[0], msg, BENCH_MSG_LEN + 1) < 0 ||
		    wait_message(p, 1, msg) < 0 ||
		    write_all(p->in[1], msg, BENCH_MSG_LEN + 1) < 0 ||
		    wait_message(p, 0, msg) < 0)
			return -1;
		if (m >= warm)
			hist_add(h, now_ns() - t);
	}
	return 0;
}

/*
 * One way, end 0 to end 1, BENCH_CHAT_WINDOW messages in flight: messages
 * per second, or -1 when the flow stalled for BENCH_CHAT_WAIT_MS.
 */
static double pair_rate(struct pair *p, uint32_t count)
{
	char msg[BENCH_MSG_LEN + 2], line[512];
	uint32_t sent = 0, got = 0;
	int64_t start = now_ns(), deadline = start + BENCH_CHAT_WAIT_MS * NS_PER_MS;

	while (got < count) {
		while (sent < count && sent - got < BENCH_CHAT_WINDOW) {
			message(msg, 1000000 + sent++);
			if (write_all(p->in[0], msg, BENCH_MSG_LEN + 1) < 0)
				return -1;
		}
		if (read_line(&p->out[1], line, sizeof(line), deadline) <= 0)
			return -1;
		/* Any of our messages counts: a relay need not keep them in order. */
		if (strlen(line) >= BENCH_MSG_LEN && line[strlen(line) - BENCH_MSG_LEN] == 'm') {
			got++;
			deadline = now_ns() + BENCH_CHAT_WAIT_MS * NS_PER_MS;
		}
	}
	return (double)count * NS_PER_S / (double)(now_ns() - start);
}

/*
 * A raw relay: each line on stdin goes out as one datagram on fd (connected
 * to the other relay), each datagram received is written as a line to
 * stdout, one write per line as p2pchat does. The baseline for a client.
 */
static void relay_loop(int fd)
{
	char in[8192], buf[PROTO_MAX_DATAGRAM + 1];
	size_t have = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
				       { .fd = fd, .events = POLLIN } };

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return;
		if (p[0].revents) {
			ssize_t n = read(0, in + have, sizeof(in) - have);
			char *nl;

			if (n <= 0)
				return;
			have += (size_t)n;
			while ((nl = memchr(in, '\n', have)) != NULL) {
				size_t l = (size_t)(nl - in);

				send(fd, in, l, 0);
				have -= l + 1;
				memmove(in, nl + 1, have);
			}
			if (have == sizeof(in))
				have = 0;
		}
		if (p[1].revents) {
			ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

			if (n > 0) {
				buf[n++] = '\n';
				if (write_all(1, buf, (size_t)n) < 0)
					return;
			}
		}
	}
}

/*
 * Starts end k of a pair with pipes on its stdin and stdout: argv run with
 * execv when given, else relay_loop(relay_fd) in a forked child. stderr
 * goes to errfd. Returns 0, or -1.
 */
static int pair_start(struct pair *p, int k, char *const *argv, int relay_fd, int errfd)
{
	int to[2], from[2];

	if (pipe2(to, O_CLOEXEC) < 0 || pipe2(from, O_CLOEXEC) < 0)
		return -1;
	p->pid[k] = fork();
	if (p->pid[k] < 0)
		return -1;
	if (p->pid[k] == 0) {
		dup2(to[0], 0);
		dup2(from[1], 1);
		dup2(errfd, 2);
		signal(SIGPIPE, SIG_DFL); /* ignored here; a client should see the default */
		if (argv != NULL) {
			execv(argv[0], argv);
			_exit(127);
		}
		relay_loop(relay_fd);
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	p->in[k] = to[1];
	p->out[k].fd = from[0];
	p->out[k].len = 0;
	return 0;
}

/* Stops a child: SIGTERM, then SIGKILL if it is still there after 2 s. */
static void child_stop(pid_t pid)
{
	int64_t deadline = now_ns() + 2 * NS_PER_S;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	while (waitpid(pid, NULL, WNOHANG) == 0) {
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return;
		}
		poll(NULL, 0, 10);
	}
}

static void pair_stop(struct pair *p)
{
	for (int k = 0; k < 2; k++) {
		if (p->pid[k] <= 0)
			continue;
		close(p->in[k]);
		close(p->out[k].fd);
		child_stop(p->pid[k]);
		p->pid[k] = 0;
	}
}

/* Waits until both clients say "* connected to". Returns 0, or -1 by BENCH_CONNECT_MS. */
static int pair_connected(struct pair *p)
{
	int64_t deadline = now_ns() + BENCH_CONNECT_MS * NS_PER_MS;
	char line[512];

	for (int k = 0; k < 2; k++) {
		do {
			if (read_line(&p->out[k], line, sizeof(line), deadline) <= 0)
				return -1;
		} while (strncmp(line, "* connected to", 14) != 0);
	}
	return 0;
}

/* The floor: this process and a forked echo child, ping-ponging over UDP, no pipes. */
struct pingpong {
	int fd;    /* ours, connected to the child's */
	pid_t pid;
};

/* Starts the echo child. Returns 0, or -1. */
static int pingpong_start(struct pingpong *w)
{
	struct proto_addr a, b;
	int fb = udp_open(0, 0, &b);

	w->pid = -1;
	w->fd = fb < 0 ? -1 : udp_open(b.port, 0, &a);
	if (w->fd < 0)
		return -1;
	w->pid = fork();
	if (w->pid == 0) {
		/* The child: the echo server's blocking loop, until SIGTERM. */
		close(w->fd);
		fcntl(fb, F_SETFL, 0);
		signal(SIGTERM, SIG_DFL);
		echo_loop(fb);
		_exit(0);
	}
	close(fb);
	return w->pid < 0 ? -1 : 0;
}

/* Waits (BENCH_CHAT_WAIT_MS at most) for an echo, and takes every one waiting. Returns how many. */
static int pingpong_recv(struct pingpong *w)
{
	struct pollfd p = { .fd = w->fd, .events = POLLIN };
	char buf[256];
	int n = 0;

	if (poll(&p, 1, BENCH_CHAT_WAIT_MS) <= 0)
		return 0;
	while (recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT) == BENCH_MSG_LEN)
		n++;
	return n;
}

/* Round trips into h, `warm` first not counted. Returns 0, or -1 when an echo did not come. */
static int pingpong_rtt(struct pingpong *w, uint32_t warm, uint32_t count, struct hist *h)
{
	char msg[BENCH_MSG_LEN + 2];

	for (uint32_t m = 0; m < warm + count; m++) {
		int64_t t = now_ns();

		message(msg, m);
		if (send(w->fd, msg, BENCH_MSG_LEN, 0) < 0 || pingpong_recv(w) != 1)
			return -1;
		if (m >= warm)
			hist_add(h, now_ns() - t);
	}
	return 0;
}

/* Echoed messages per second with BENCH_CHAT_WINDOW in flight, or -1. */
static double pingpong_rate(struct pingpong *w, uint32_t count)
{
	char msg[BENCH_MSG_LEN + 2];
	uint32_t sent = 0, got = 0;
	int64_t start = now_ns();

	while (got < count) {
		int n;

		while (sent < count && sent - got < BENCH_CHAT_WINDOW) {
			message(msg, sent++);
			send(w->fd, msg, BENCH_MSG_LEN, 0);
		}
		n = pingpong_recv(w);
		if (n == 0)
			return -1;
		got += (uint32_t)n;
	}
	return (double)count * NS_PER_S / (double)(now_ns() - start);
}

static void pingpong_stop(struct pingpong *w)
{
	child_stop(w->pid);
	if (w->fd >= 0)
		close(w->fd);
}

/* Starts two raw relays, each with a UDP socket connected to the other's. Returns 0, or -1. */
static int relays_start(struct pair *p, int errfd)
{
	struct proto_addr a, b;
	int fa = udp_open(0, 0, &a), fb = fa < 0 ? -1 : udp_open(0, 0, &b), rc = -1;
	struct sockaddr_in sa = loopback(b.port), sb = loopback(a.port);

	memset(p, 0, sizeof(*p));
	if (fb < 0)
		goto done;
	/* Blocking, connected: the relay's loop is poll, recv, write. */
	if (connect(fa, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    connect(fb, (struct sockaddr *)&sb, sizeof(sb)) < 0 || fcntl(fa, F_SETFL, 0) < 0 ||
	    fcntl(fb, F_SETFL, 0) < 0)
		goto done;
	if (pair_start(p, 0, NULL, fa, errfd) == 0 && pair_start(p, 1, NULL, fb, errfd) == 0)
		rc = 0;
done:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return rc;
}

/* Starts two p2pchat clients, each naming the other, and waits until they are connected. */
static int clients_start(struct pair *p, const char *exe, const char *server, int errfd)
{
	char *arga[] = { (char *)exe, "-s", (char *)server, "--stay", "bench-a", "bench-b", NULL };
	char *argb[] = { (char *)exe, "-s", (char *)server, "--stay", "bench-b", "bench-a", NULL };

	memset(p, 0, sizeof(*p));
	if (pair_start(p, 0, arga, -1, errfd) < 0 || pair_start(p, 1, argb, -1, errfd) < 0)
		return -1;
	return pair_connected(p);
}

static void chat_row(const char *what, const struct hist *h, double per_s)
{
	printf("%-44s %8.1f %8.1f %8.1f %10.0f\n", what, hist_us(h, 0.5), hist_us(h, 0.99),
	       hist_us(h, 0.999), per_s);
	fflush(stdout);
}

/* CPU time of this process and of the five it started for the chat section, in ns. */
static int64_t chat_cpu_ns(const struct pingpong *w, const struct pair *relays,
			   const struct pair *clients)
{
	int64_t sum = self_cpu_ns() + proc_cpu_ns(w->pid);

	for (int k = 0; k < 2; k++)
		sum += proc_cpu_ns(relays->pid[k]) + proc_cpu_ns(clients->pid[k]);
	return sum;
}

#define CHAT_ROUNDS 5 /* the three paths take turns, so a drift of the machine affects each alike */

/*
 * bench chat [-m ROUND_TRIPS] [-l CLIENT_LOG] [-c CPU] -x P2PCHAT SERVER_PORT
 * Round trips and messages per second: raw UDP ping-pong, raw relays
 * through pipes, two p2pchat clients through the same pipes; all three
 * kept running and measured in turns. With -c, this process and all it
 * starts run on that one CPU: every hop is then a context switch, no
 * wake-up of another (perhaps idle) CPU, so the figures measure the work
 * on the path rather than where the scheduler put it.
 */
static int chat_main(int argc, char **argv)
{
	static struct hist h_raw, h_relay, h_chat;
	const char *exe = NULL, *logpath = "/dev/null";
	uint32_t count = 2000, warm = 200, each;
	double r_raw = -1, r_relay = -1, r_chat = -1, seconds;
	int64_t busy0, t0;
	struct pingpong w = { -1, -1 };
	struct pair relays, clients;
	char server[32], fig[64], what[64];
	int c, errfd, port, rc = 1, cpu = -1;

	while ((c = getopt(argc, argv, "m:l:x:c:")) != -1) {
		if (c == 'c')
			cpu = atoi(optarg);
		else if (c == 'm')
			count = (uint32_t)strtoul(optarg, NULL, 10);
		else if (c == 'l')
			logpath = optarg;
		else if (c == 'x')
			exe = optarg;
		else
			return 2;
	}
	if (exe == NULL || optind >= argc || (port = atoi(argv[optind])) <= 0 || count == 0) {
		fprintf(stderr, "bench chat: give -x P2PCHAT SERVER_PORT\n");
		return 2;
	}
	each = (count + CHAT_ROUNDS - 1) / CHAT_ROUNDS;
	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0) {
			perror("bench chat: sched_setaffinity");
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	errfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (errfd < 0) {
		perror(logpath);
		return 1;
	}
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	memset(&relays, 0, sizeof(relays));
	memset(&clients, 0, sizeof(clients));
	if (pingpong_start(&w) < 0 || relays_start(&relays, errfd) < 0) {
		perror("bench chat: start");
		goto done;
	}
	if (clients_start(&clients, exe, server, errfd) < 0) {
		fprintf(stderr, "bench chat: the two clients did not connect\n");
		goto done;
	}

	if (cpu >= 0)
		snprintf(what, sizeof(what), "all on CPU %d", cpu);
	else
		snprintf(what, sizeof(what), "spread over the CPUs by the scheduler");
	printf("\nBetween two clients on loopback (%s), %d-byte messages.\n"
	       "Round trip: the bench writes a message to A's stdin, reads it on B's stdout, writes\n"
	       "it to B's stdin, reads it on A's stdout. The three paths take turns: %d rounds of %"
	       PRIu32 " round trips.\nmsgs/s: A to B, one way, %d in flight (ping-pong: echoed"
	       " messages).\n", what, BENCH_MSG_LEN, CHAT_ROUNDS, each, BENCH_CHAT_WINDOW);
	printf("%-44s %8s %8s %8s %10s\n", "path", "p50 us", "p99 us", "p99.9 us", "msgs/s");
	busy0 = machine_busy_ns() - chat_cpu_ns(&w, &relays, &clients);
	t0 = now_ns();
	for (int round = 0; round < CHAT_ROUNDS; round++) {
		uint32_t wm = round == 0 ? warm : 0;

		if (pingpong_rtt(&w, wm, each, &h_raw) < 0 ||
		    pair_rtt(&relays, wm, each, &h_relay) < 0 ||
		    pair_rtt(&clients, wm, each, &h_chat) < 0) {
			fprintf(stderr, "bench chat: a round trip did not come back in %d ms\n",
				BENCH_CHAT_WAIT_MS);
			goto done;
		}
	}
	busy0 = machine_busy_ns() - chat_cpu_ns(&w, &relays, &clients) - busy0;
	seconds = (double)(now_ns() - t0) / NS_PER_S;
	r_raw = pingpong_rate(&w, count * 10);
	r_relay = pair_rate(&relays, count * 10);
	r_chat = pair_rate(&clients, count * 10);
	chat_row("raw UDP ping-pong, 2 processes, no pipes", &h_raw, r_raw);
	chat_row("raw UDP relays through pipes (baseline)", &h_relay, r_relay);
	chat_row("p2pchat clients through pipes", &h_chat, r_chat);
	if (r_raw < 0 || r_relay < 0 || r_chat < 0)
		printf("(msgs/s -1: that flow stalled for %d ms)\n", BENCH_CHAT_WAIT_MS);
	printf("Other processes used %.0f%% of one core during the round trips.\n",
	       pct(busy0 > 0 ? busy0 : 0, seconds));
	{
		double ratio = hist_us(&h_chat, 0.5) / hist_us(&h_relay, 0.5);

		snprintf(fig, sizeof(fig), "%.2f; %.2f x the bare ping-pong", ratio,
			 hist_us(&h_chat, 0.5) / hist_us(&h_raw, 0.5));
		snprintf(what, sizeof(what), "client round trip <= 1.2 x raw relays (p50, %s)",
			 cpu >= 0 ? "one CPU" : "spread");
		print_target(what, ratio <= 1.2, fig);
	}
	rc = 0;
done:
	pair_stop(&clients);
	pair_stop(&relays);
	pingpong_stop(&w);
	close(errfd);
	return rc;
}

/* ---- main ----------------------------------------------------------------- */

/* bench port: a UDP port free on 127.0.0.1 right now. */
static int port_main(void)
{
	struct proto_addr a;
	int fd = udp_open(0, 0, &a);

	if (fd < 0)
		return 1;
	printf("%u\n", (unsigned)a.port);
	close(fd);
	return 0;
}

static void usage(void)
{
	fputs("usage: bench echo [-p PORT] [-r RCVBUF_BYTES]\n"
	      "       bench grid [-t SECONDS] [-k KIND] [-c NxK] p2pchatd=PORT:PID echo=PORT:PID\n"
	      "                  [coturn=PORT:PID] [NAME=PORT:PID]   (KIND: stun lookup miss\n"
	      "                  register; NAME: a p2pchatd from another commit)\n"
	      "       bench table [-t SECONDS] [-r ROUNDS] -n COUNT,... NAME=PORT:PID ...\n"
	      "                   (one server per COUNT; a second NAME's after the first's)\n"
	      "       bench guard [-t SECONDS] [-n SOURCES] NAME=PORT:PID NAME=PORT:PID\n"
	      "       bench chat [-m ROUND_TRIPS] [-l CLIENT_LOG] [-c CPU] -x P2PCHAT SERVER_PORT\n"
	      "       bench port\n"
	      "Every server is on 127.0.0.1. tests/bench.sh (make bench) runs them all.\n",
	      stderr);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage();
		return 2;
	}
	/* The mode's own options start after the mode word. */
	optind = 2;
	if (strcmp(argv[1], "echo") == 0)
		return echo_main(argc, argv);
	if (strcmp(argv[1], "grid") == 0)
		return grid_main(argc, argv);
	if (strcmp(argv[1], "table") == 0)
		return table_main(argc, argv);
	if (strcmp(argv[1], "guard") == 0)
		return guard_main(argc, argv);
	if (strcmp(argv[1], "chat") == 0)
		return chat_main(argc, argv);
	if (strcmp(argv[1], "port") == 0)
		return port_main();
	usage();
	return 2;
}
