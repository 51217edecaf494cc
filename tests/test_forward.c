/* test_forward.c - unit tests of forward.c: the specs' parser, and forwarded connections between fake TCP sockets over two real stream connections in-process; fake time. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "harness.h"
#include "stream.h"

/* ---- the specs ---- */

START_TEST(forward_spec_good)
{
	static const struct {
		const char *text, *addr, *peer;
		uint16_t lport, rport;
	} rows[] = {
		{ "8080:bob:80", "127.0.0.1", "bob", 8080, 80 },            /* ADDR defaults to loopback */
		{ "0.0.0.0:1:a.b-c_D:65535", "0.0.0.0", "a.b-c_D", 1, 65535 }, /* the ends of the port range */
		{ "[::1]:8080:bob:80", "::1", "bob", 8080, 80 },            /* IPv6 in brackets */
		{ "10.0.0.7:080:bob:0443", "10.0.0.7", "bob", 80, 443 },   /* leading zeros are still digits */
	};

	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		struct fwd_spec s;
		const char *why = NULL;

		ck_assert_msg(fwd_parse_forward(rows[k].text, &s, &why) == 0, "%s: %s", rows[k].text, why);
		ck_assert_str_eq(s.addr, rows[k].addr);
		ck_assert_str_eq(s.peer, rows[k].peer);
		ck_assert_uint_eq(s.lport, rows[k].lport);
		ck_assert_uint_eq(s.rport, rows[k].rport);
	}
}
END_TEST

START_TEST(forward_spec_bad)
{
	static const char *const rows[] = {
		"",                        /* nothing */
		"8080",                    /* one field */
		"8080:bob",                /* two */
		"1.2.3.4:8080:bob:80:9",   /* five */
		"0:bob:80",                /* port 0 */
		"65536:bob:80",            /* past 65535 */
		"123456:bob:80",           /* six digits */
		"+80:bob:80",              /* a sign */
		"8080:bob:8x",             /* a suffix */
		"8080: bob:80",            /* a space */
		"8080:bob:80 ",            /* a trailing space */
		"8080::80",                /* no PEER */
		"8080:bo/b:80",            /* a bad name */
		"8080:bob:",               /* no RPORT */
		"localhost:8080:bob:80",   /* a host name, not a literal */
		"1.2.3:8080:bob:80",       /* a short IPv4 address */
		"::1:8080:bob:80",         /* IPv6 without brackets */
		"[::1:8080:bob:80",        /* an unclosed bracket */
		"[1.2.3.4]:8080:bob:80",   /* IPv4 in brackets */
		"8080:abcdefghijklmnopqrstuvwxyzABCDEFG:80", /* a name of 33 */
	};

	for (size_t k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		struct fwd_spec s;
		const char *why = NULL;

		ck_assert_msg(fwd_parse_forward(rows[k], &s, &why) == -1, "'%s' was taken", rows[k]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

START_TEST(serve_spec)
{
	static const char *const bad[] = { "", "0", "65536", "host:80", "1:2:3", "80:", ":80",
					   "[::1]80", "1.2.3.4:", "8o" };
	struct fwd_serve s;
	const char *why = NULL;

	ck_assert_int_eq(fwd_parse_serve("80", &s, &why), 0);
	ck_assert_str_eq(s.host, "127.0.0.1");
	ck_assert_uint_eq(s.port, 80);
	ck_assert_int_eq(fwd_parse_serve("10.0.0.5:8000", &s, &why), 0);
	ck_assert_str_eq(s.host, "10.0.0.5");
	ck_assert_uint_eq(s.port, 8000);
	ck_assert_int_eq(fwd_parse_serve("[::1]:65535", &s, &why), 0);
	ck_assert_str_eq(s.host, "::1");
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		ck_assert_msg(fwd_parse_serve(bad[k], &s, &why) == -1, "'%s' was taken", bad[k]);
}
END_TEST

/* ---- the net: two sides, each a stream connection and a table, and fake TCP sockets ---- */

#define SOCKS 256
#define FD0 1000
#define QMAX 16384
#define STEPS_MAX 200000L
#define SERVED_PORT 80

/*
 * A fake TCP socket, as the table sees it: `in` is what the program at
 * its far end sends (read through fwd_tcp_input), `out` what the table
 * sent it, at most cap bytes more (the send buffer; SIZE_MAX for no limit).
 */
struct fsock {
	int used;
	uint8_t *in;
	size_t in_len, in_off;
	int in_eof, in_rst, eof_given;
	uint8_t *out;
	size_t out_len, out_cap, cap;
	int shut, closed, aborted;
};

struct side {
	const char *name, *peer;
	struct stream_conn c;
	struct fwd f;
	int up;                 /* link_of finds the peer */
	int refuse_connect;
	size_t new_cap;         /* cap of the sockets tcp_connect makes */
	int nreports;
	char reports[64][256];
};

struct qpkt {
	uint16_t len;
	uint8_t data[STREAM_PKT_MAX];
};

static struct fsock socks[SOCKS];
static int nsocks;
static struct side sides[2]; /* 0: alice, who forwards; 1: bob, who serves */
static struct qpkt *queue[2]; /* queue[i]: packets on their way to sides[i] */
static uint32_t qlen[2];
static int64_t now;

static uint8_t pattern(uint32_t seed, uint64_t o)
{
	return (uint8_t)(o * 131 + seed * 17 + (o >> 9));
}

static struct fsock *sock(int fd)
{
	ck_assert_int_ge(fd, FD0);
	ck_assert_int_lt(fd, FD0 + nsocks);
	return &socks[fd - FD0];
}

/* A new socket whose far end will send len bytes of pattern seed (then EOF when eof). */
static int sock_new(uint32_t seed, size_t len, int eof, size_t cap)
{
	struct fsock *s;

	ck_assert_int_lt(nsocks, SOCKS);
	s = &socks[nsocks];
	memset(s, 0, sizeof(*s));
	s->used = 1;
	s->in = malloc(len + 1);
	ck_assert_ptr_nonnull(s->in);
	for (size_t o = 0; o < len; o++)
		s->in[o] = pattern(seed, o);
	s->in_len = len;
	s->in_eof = eof;
	s->cap = cap;
	return FD0 + nsocks++;
}

/* Gives the far end of fd len more bytes of pattern seed to send, from where it was. */
static void sock_say(int fd, uint32_t seed, size_t len, int eof)
{
	struct fsock *s = sock(fd);

	s->in = realloc(s->in, s->in_len + len + 1);
	ck_assert_ptr_nonnull(s->in);
	for (size_t o = s->in_len; o < s->in_len + len; o++)
		s->in[o] = pattern(seed, o);
	s->in_len += len;
	s->in_eof = eof;
}

/* 1 when what fd's far end received is exactly len bytes of pattern seed. */
static int sock_got(int fd, uint32_t seed, size_t len)
{
	struct fsock *s = sock(fd);

	if (s->out_len != len)
		return 0;
	for (size_t o = 0; o < len; o++) {
		if (s->out[o] != pattern(seed, o))
			return 0;
	}
	return 1;
}

static int64_t t_send(void *ctx, int fd, const uint8_t *p, size_t n)
{
	struct fsock *s = sock(fd);

	(void)ctx;
	ck_assert(!s->closed && !s->shut);
	if (n > s->cap)
		n = s->cap;
	if (n == 0)
		return 0;
	if (s->cap != SIZE_MAX)
		s->cap -= n;
	if (s->out_len + n > s->out_cap) {
		s->out_cap = (s->out_len + n) * 2;
		s->out = realloc(s->out, s->out_cap);
		ck_assert_ptr_nonnull(s->out);
	}
	memcpy(s->out + s->out_len, p, n);
	s->out_len += n;
	return (int64_t)n;
}

static void t_shutdown(void *ctx, int fd)
{
	(void)ctx;
	ck_assert(!sock(fd)->shut);
	sock(fd)->shut = 1;
}

static void t_close(void *ctx, int fd, int abort)
{
	struct fsock *s = sock(fd);

	(void)ctx;
	ck_assert(!s->closed);
	s->closed = 1;
	s->aborted = abort;
}

static int t_connect(void *ctx, const char *host, uint16_t port)
{
	struct side *sd = ctx;

	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, SERVED_PORT);
	return sd->refuse_connect ? -1 : sock_new(0, 0, 0, sd->new_cap);
}

static void *t_link_of(void *ctx, const char *peer)
{
	struct side *sd = ctx;

	return sd->up && strcmp(peer, sd->peer) == 0 ? &sd->c : NULL;
}

static int64_t t_open(void *ctx, void *link)
{
	(void)ctx;
	return stream_open(link, STREAM_URGENCY_DEFAULT);
}

static int64_t t_write(void *ctx, void *link, uint64_t sid, const uint8_t *p, size_t n)
{
	(void)ctx;
	return stream_write(link, sid, p, n);
}

static int64_t t_room(void *ctx, void *link, uint64_t sid)
{
	(void)ctx;
	return stream_room(link, sid);
}

static int t_finish(void *ctx, void *link, uint64_t sid)
{
	(void)ctx;
	return stream_finish(link, sid);
}

static void t_abort(void *ctx, void *link, uint64_t sid, uint64_t code)
{
	(void)ctx;
	stream_reset(link, sid, code);
	stream_stop(link, sid, code);
}

static int t_resume(void *ctx, void *link, uint64_t sid)
{
	(void)ctx;
	return stream_resume(link, sid);
}

static void t_report(void *ctx, const char *line)
{
	struct side *sd = ctx;

	if (sd->nreports < 64)
		snprintf(sd->reports[sd->nreports++], sizeof(sd->reports[0]), "%s", line);
}

/* 1 when one of side's reports holds text. */
static int reported(const struct side *sd, const char *text)
{
	for (int k = 0; k < sd->nreports; k++) {
		if (strstr(sd->reports[k], text) != NULL)
			return 1;
	}
	return 0;
}

static void s_send(void *ctx, const uint8_t *p, size_t len)
{
	int to = ctx == &sides[0] ? 1 : 0;

	ck_assert_uint_lt(qlen[to], QMAX);
	queue[to][qlen[to]].len = (uint16_t)len;
	memcpy(queue[to][qlen[to]].data, p, len);
	qlen[to]++;
}

static size_t s_recv(void *ctx, uint64_t id, const uint8_t *data, size_t len)
{
	struct side *sd = ctx;

	return fwd_stream_recv(&sd->f, &sd->c, id, data, len);
}

static void s_event(void *ctx, uint64_t id, int ev, uint64_t code)
{
	struct side *sd = ctx;

	if (ev == STREAM_EV_OPENED)
		fwd_stream_opened(&sd->f, &sd->c, sd->peer, id);
	else
		fwd_stream_event(&sd->f, &sd->c, id, ev, code);
}

static void setup(void)
{
	static const char *const names[2] = { "alice", "bob" };
	struct stream_config cfg;
	struct fwd_serve serve = { "127.0.0.1", SERVED_PORT };

	memset(sides, 0, sizeof(sides));
	nsocks = 0;
	now = 1000;
	for (int k = 0; k < 2; k++) {
		struct side *sd = &sides[k];
		struct stream_io sio = { sd, s_send, s_recv, s_event };
		struct fwd_io fio = { sd, t_send, t_shutdown, t_close, t_connect, t_link_of, t_open,
				      t_write, t_room, t_finish, t_abort, t_resume, t_report };

		sd->name = names[k];
		sd->peer = names[1 - k];
		sd->up = 1;
		sd->new_cap = SIZE_MAX;
		stream_config_default(&cfg);
		cfg.role = (uint8_t)k;
		ck_assert_int_eq(stream_conn_init(&sd->c, &cfg, &sio, now), 0);
		fwd_init(&sd->f, &fio);
		queue[k] = malloc(QMAX * sizeof(struct qpkt));
		ck_assert_ptr_nonnull(queue[k]);
		qlen[k] = 0;
	}
	ck_assert_int_eq(fwd_add_serve(&sides[1].f, &serve), 0);
}

static void teardown(void)
{
	for (int k = 0; k < 2; k++) {
		stream_conn_free(&sides[k].c);
		free(queue[k]);
	}
	for (int k = 0; k < nsocks; k++) {
		free(socks[k].in);
		free(socks[k].out);
	}
}

/* Alice's forward of LPORT 8080 to bob's rport. Returns its index. */
static int add_forward(uint16_t rport)
{
	struct fwd_spec s;
	const char *why;
	char text[64];

	snprintf(text, sizeof(text), "8080:bob:%u", (unsigned)rport);
	ck_assert_int_eq(fwd_parse_forward(text, &s, &why), 0);
	return fwd_add_forward(&sides[0].f, &s);
}

/* What the owner's poll loop does for connection i of sd: writes that may go on, reads that may. */
static void service(struct side *sd, int i)
{
	struct fwd_conn *c = &sd->f.conns[i];
	struct fsock *s;
	size_t room;

	if (c->state == FWD_FREE || c->fd < 0)
		return;
	s = sock(c->fd);
	if (fwd_want_write(&sd->f, i) && (c->state == FWD_CONNECTING || s->cap > 0))
		fwd_tcp_writable(&sd->f, i, 1);
	if (c->state == FWD_FREE || c->fd < 0)
		return;
	if (s->in_rst) {
		fwd_tcp_input(&sd->f, i, NULL, -1);
		return;
	}
	room = fwd_read_room(&sd->f, i);
	if (room == 0)
		return;
	if (s->in_off < s->in_len) {
		size_t n = s->in_len - s->in_off < room ? s->in_len - s->in_off : room;

		s->in_off += n;
		fwd_tcp_input(&sd->f, i, s->in + s->in_off - n, (int64_t)n);
	} else if (s->in_eof && !s->eof_given) {
		s->eof_given = 1;
		fwd_tcp_input(&sd->f, i, NULL, 0);
	}
}

/* One millisecond: both loops turn, then every packet in the air arrives. */
static void step(void)
{
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < FWD_CONNS_MAX; i++)
			service(&sides[k], i);
		fwd_tick(&sides[k].f, now);
		stream_tick(&sides[k].c, now);
	}
	now++;
	for (int k = 0; k < 2; k++) {
		uint32_t n = qlen[k];

		qlen[k] = 0;
		for (uint32_t j = 0; j < n; j++)
			ck_assert_int_eq(stream_on_packet(&sides[k].c, queue[k][j].data,
							  queue[k][j].len, now), 0);
	}
}

#define RUN_UNTIL(cond)                                                        \
	do {                                                                   \
		long steps_ = 0;                                               \
		while (!(cond) && steps_++ < STEPS_MAX)                        \
			step();                                                \
		ck_assert_msg((cond), "not reached: %s", #cond);               \
	} while (0)

/* ---- the tests ---- */

/* Bytes both ways; each side's EOF becomes the other's FIN alone (half-close); both close in order. */
START_TEST(both_ways_half_close)
{
	int a, b;

	setup();
	add_forward(SERVED_PORT);
	a = sock_new(1, 200000, 1, SIZE_MAX);
	ck_assert_int_ge(fwd_accepted(&sides[0].f, 0, a, now), 0);
	RUN_UNTIL(nsocks == 2 && sock(FD0 + 1)->shut);
	b = FD0 + 1;
	ck_assert(sock_got(b, 1, 200000));
	ck_assert(!sock(a)->closed && !sock(a)->shut); /* bob's half is still open */
	sock_say(b, 2, 300000, 1);
	RUN_UNTIL(fwd_count(&sides[0].f) == 0 && fwd_count(&sides[1].f) == 0);
	ck_assert(sock_got(a, 2, 300000));
	ck_assert(sock(a)->shut && sock(a)->closed && !sock(a)->aborted);
	ck_assert(sock(b)->closed && !sock(b)->aborted);
	ck_assert_uint_eq(sides[1].f.stats.served, 1);
	ck_assert_int_eq(sides[0].nreports, 0);
	teardown();
}
END_TEST

/*
 * A TCP end that takes nothing holds the other one back: the reader stops
 * reading its socket once the stream's buffers are full, in both
 * directions, and everything arrives once the slow end takes again.
 */
START_TEST(backpressure_both_ways)
{
	struct stream_config cfg;
	size_t big, held;
	int a, b, i;

	stream_config_default(&cfg);
	held = 2 * (size_t)cfg.stream_buf; /* a stream buffers stream_buf at each end */
	big = 2 * held;
	setup();
	add_forward(SERVED_PORT);
	sides[1].new_cap = 0;
	a = sock_new(3, big, 1, 0);
	ck_assert_int_ge(fwd_accepted(&sides[0].f, 0, a, now), 0);
	RUN_UNTIL(nsocks == 2);
	b = FD0 + 1;
	sock_say(b, 4, big, 1);
	for (i = 0; i < 3000; i++)
		step();
	ck_assert_uint_eq(sock(b)->out_len, 0);
	ck_assert_uint_eq(sock(a)->out_len, 0);
	ck_assert_uint_le(sock(a)->in_off, held + FWD_CHUNK);
	ck_assert_uint_le(sock(b)->in_off, held + FWD_CHUNK);
	ck_assert_uint_ge(sock(a)->in_off, FWD_CHUNK); /* it did read, up to the window */
	sock(a)->cap = SIZE_MAX;
	sock(b)->cap = SIZE_MAX;
	RUN_UNTIL(fwd_count(&sides[0].f) == 0 && fwd_count(&sides[1].f) == 0);
	ck_assert(sock_got(b, 3, big));
	ck_assert(sock_got(a, 4, big));
	ck_assert(!sock(a)->aborted && !sock(b)->aborted);
	teardown();
}
END_TEST

/* A port bob does not serve: refused on bob's side, reset on alice's, and both say so. */
START_TEST(not_served_refused)
{
	int a;

	setup();
	add_forward(22);
	a = sock_new(5, 1000, 0, SIZE_MAX);
	ck_assert_int_ge(fwd_accepted(&sides[0].f, 0, a, now), 0);
	RUN_UNTIL(sock(a)->closed);
	ck_assert(sock(a)->aborted);
	ck_assert_int_eq(nsocks, 1); /* bob connected nowhere */
	ck_assert(reported(&sides[0], "forward 127.0.0.1:8080 -> bob:22: bob does not serve port 22"));
	ck_assert(reported(&sides[1], "refused alice's forward to port 22: not served"));
	ck_assert_uint_eq(sides[1].f.stats.refused, 1);
	RUN_UNTIL(fwd_count(&sides[1].f) == 0);
	teardown();
}
END_TEST

/* Bob serves the port but nothing listens there: alice's connection is reset, and told why. */
START_TEST(connect_refused)
{
	int a;

	setup();
	add_forward(SERVED_PORT);
	sides[1].refuse_connect = 1;
	a = sock_new(6, 100, 0, SIZE_MAX);
	fwd_accepted(&sides[0].f, 0, a, now);
	RUN_UNTIL(sock(a)->closed);
	ck_assert(sock(a)->aborted);
	ck_assert(reported(&sides[0], "bob could not connect to port 80"));
	ck_assert(reported(&sides[1], "alice's forward to port 80: could not connect"));
	teardown();
}
END_TEST

/* A TCP reset at either end becomes a reset at the other, never an orderly end. */
START_TEST(reset_passes_through)
{
	int a, b;

	setup();
	add_forward(SERVED_PORT);
	a = sock_new(7, 5000, 0, SIZE_MAX);
	fwd_accepted(&sides[0].f, 0, a, now);
	RUN_UNTIL(nsocks == 2 && sock(FD0 + 1)->out_len == 5000);
	b = FD0 + 1;
	sock(b)->in_rst = 1; /* bob's server resets */
	RUN_UNTIL(sock(a)->closed);
	ck_assert(sock(a)->aborted && sock(b)->aborted);
	RUN_UNTIL(fwd_count(&sides[0].f) == 0 && fwd_count(&sides[1].f) == 0);

	a = sock_new(8, 5000, 0, SIZE_MAX); /* now alice's client resets */
	fwd_accepted(&sides[0].f, 0, a, now);
	RUN_UNTIL(nsocks == 4 && sock(FD0 + 3)->out_len == 5000);
	b = FD0 + 3;
	sock(a)->in_rst = 1;
	RUN_UNTIL(sock(b)->closed);
	ck_assert(sock(b)->aborted && sock(a)->aborted);
	teardown();
}
END_TEST

/* While bob is away a connection waits; it goes on when he comes, and is reset when he does not. */
START_TEST(waits_for_the_peer)
{
	int a, a2;

	setup();
	add_forward(SERVED_PORT);
	sides[0].up = 0;
	a = sock_new(9, 3000, 1, SIZE_MAX);
	ck_assert_int_ge(fwd_accepted(&sides[0].f, 0, a, now), 0);
	ck_assert(reported(&sides[0], "waiting for bob (at most 30 s)"));
	for (int i = 0; i < 2000; i++)
		step();
	ck_assert(!sock(a)->closed);
	ck_assert_int_eq(nsocks, 1);
	sides[0].up = 1; /* bob is back */
	RUN_UNTIL(nsocks == 2 && sock(FD0 + 1)->shut);
	ck_assert(sock_got(FD0 + 1, 9, 3000));

	sides[0].up = 0;
	a2 = sock_new(10, 10, 0, SIZE_MAX);
	fwd_accepted(&sides[0].f, 0, a2, now);
	now += FWD_WAIT_MS - 1;
	step();
	ck_assert(!sock(a2)->closed);
	step();
	ck_assert(sock(a2)->closed && sock(a2)->aborted);
	ck_assert(reported(&sides[0], "bob did not come in 30 s; connection reset"));
	ck_assert_uint_eq(sides[0].f.stats.waited_out, 1);
	teardown();
}
END_TEST

/* A flood while bob is away: FWD_WAITING_MAX wait, the rest are reset at once. */
START_TEST(flood_while_waiting)
{
	int fds[FWD_WAITING_MAX + 3];

	setup();
	add_forward(SERVED_PORT);
	sides[0].up = 0;
	for (int k = 0; k < FWD_WAITING_MAX + 3; k++) {
		fds[k] = sock_new((uint32_t)k, 0, 0, SIZE_MAX);
		fwd_accepted(&sides[0].f, 0, fds[k], now);
	}
	for (int k = 0; k < FWD_WAITING_MAX + 3; k++)
		ck_assert_int_eq(sock(fds[k])->closed, k >= FWD_WAITING_MAX);
	ck_assert_uint_eq(sides[0].f.stats.flooded, 3);
	ck_assert_uint_eq(fwd_count(&sides[0].f), FWD_WAITING_MAX);
	teardown();
}
END_TEST

/* Bob's session drops: every open connection is reset and reported once. */
START_TEST(link_down_resets)
{
	int a1, a2;

	setup();
	add_forward(SERVED_PORT);
	a1 = sock_new(11, 100, 0, SIZE_MAX);
	a2 = sock_new(12, 100, 0, SIZE_MAX);
	fwd_accepted(&sides[0].f, 0, a1, now);
	fwd_accepted(&sides[0].f, 0, a2, now);
	RUN_UNTIL(fwd_count(&sides[1].f) == 2 && sides[1].f.stats.bytes_out == 200);
	fwd_link_down(&sides[0].f, &sides[0].c);
	fwd_link_down(&sides[1].f, &sides[1].c);
	ck_assert(sock(a1)->aborted && sock(a2)->aborted);
	ck_assert(sock(FD0 + 2)->aborted && sock(FD0 + 3)->aborted); /* bob's two */
	ck_assert_uint_eq(fwd_count(&sides[0].f), 0);
	ck_assert_uint_eq(fwd_count(&sides[1].f), 0);
	ck_assert(reported(&sides[0], "forward: bob dropped; 2 connections reset"));
	ck_assert(reported(&sides[1], "forward: alice dropped; 2 connections reset"));
	teardown();
}
END_TEST

/*
 * Forty connections at once, more than the streams bob allows at a time
 * (STREAM_INITIAL_MAX_STREAMS, then 16): the rest wait for a stream, and
 * every one carries its own bytes both ways and ends in order.
 */
START_TEST(many_at_once)
{
	enum { N = 40, UP = 50000, DOWN = 70000 };
	int fds[N], matched[N] = { 0 };

	setup();
	add_forward(SERVED_PORT);
	for (int k = 0; k < N; k++) {
		fds[k] = sock_new((uint32_t)k, UP, 1, SIZE_MAX);
		ck_assert_int_ge(fwd_accepted(&sides[0].f, 0, fds[k], now), 0);
	}
	/* each server answers once it has read the whole request */
	for (long steps = 0; fwd_count(&sides[0].f) + fwd_count(&sides[1].f) > 0; steps++) {
		ck_assert_int_lt(steps, STEPS_MAX);
		for (int k = 0; k < nsocks; k++) {
			struct fsock *s = &socks[k];

			if (s->shut && s->in_len == 0 && !s->in_eof)
				sock_say(FD0 + k, 200, DOWN, 1);
		}
		step();
	}
	for (int k = 0; k < N; k++) {
		ck_assert(sock_got(fds[k], 200, DOWN));
		ck_assert(sock(fds[k])->closed && !sock(fds[k])->aborted);
	}
	ck_assert_int_eq(nsocks, 2 * N);
	for (int k = N; k < 2 * N; k++) {
		uint32_t seed;

		for (seed = 0; seed < N; seed++) {
			if (!matched[seed] && sock_got(FD0 + k, seed, UP))
				break;
		}
		ck_assert_uint_lt(seed, N);
		matched[seed] = 1;
		ck_assert(!socks[k].aborted);
	}
	teardown();
}
END_TEST

static Suite *forward_suite(void)
{
	Suite *s = suite_create("forward");
	TCase *spec = tcase_create("spec");
	TCase *net = tcase_create("net");

	tcase_add_test(spec, forward_spec_good);
	tcase_add_test(spec, forward_spec_bad);
	tcase_add_test(spec, serve_spec);
	suite_add_tcase(s, spec);
	tcase_set_timeout(net, 120);
	tcase_add_test(net, both_ways_half_close);
	tcase_add_test(net, backpressure_both_ways);
	tcase_add_test(net, not_served_refused);
	tcase_add_test(net, connect_refused);
	tcase_add_test(net, reset_passes_through);
	tcase_add_test(net, waits_for_the_peer);
	tcase_add_test(net, flood_while_waiting);
	tcase_add_test(net, link_down_resets);
	tcase_add_test(net, many_at_once);
	suite_add_tcase(s, net);
	return s;
}

int main(void)
{
	return harness_run(forward_suite());
}
