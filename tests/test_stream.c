/* test_stream.c - unit tests of the stream layer (stream.c, stream_send.c, stream_frame.c, stream_rset.c): the wire, and two peers over a simulated lossy, reordering bottleneck; fake time. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stream.h"

/*
 * The network: two endpoints, A (0) and B (1), and a link each way. A
 * link is a bottleneck (a rate, a drop-tail queue), then a propagation
 * delay plus a random extra of up to jitter_ms (which reorders packets),
 * with random loss and duplication, all drawn from one seeded generator.
 * Time is fake: the loop jumps to the next deadline or arrival. Same
 * seed, same run.
 */

#define POOL 32768          /* packets in the air at once, at most */
#define IDS 256             /* stream ids the tests use stay below this */
#define STEPS_MAX 20000000L /* bound on any simulation loop, so a bug cannot hang the test */

struct linkcfg {
	uint64_t rate_Bps;       /* 0: no bottleneck */
	uint64_t queue_bytes;    /* drop-tail queue at the bottleneck */
	int64_t delay_ms, jitter_ms;
	uint32_t loss_pm, dup_pm; /* per mille */
	int64_t blackout_from, blackout_to; /* everything sent in [from, to) is lost */
};

struct link {
	struct linkcfg cfg;
	int64_t free_at_us;      /* when the bottleneck has sent what it holds */
	uint64_t sent, lost, dropped, duplicated, bytes;
};

struct pkt {
	int to;
	int64_t at_ms;
	uint64_t order;          /* ties in at_ms keep the order sent */
	uint16_t len;
	uint8_t data[STREAM_PKT_MAX];
};

/* What the application at one end sees of one stream. */
struct app {
	uint64_t total;          /* bytes to write (0: none) */
	uint64_t written;
	int finish, finished;    /* send FIN after total */
	uint64_t got;            /* bytes received, checked in order */
	int slow;                /* recv takes nothing until resumed */
	int opened, fin, reset, stopped, sent, closed, writable;
	uint64_t reset_code, stop_code;
	int64_t fin_ms;
};

struct ep {
	int idx;
	struct stream_conn c;
	struct app app[IDS];
	/* the credit this end was given, as seen arriving (the independent flow control check) */
	uint64_t credit[IDS], credit_conn;
	uint64_t sent_end[IDS], sent_conn;
	uint32_t max_pkt_seen;
	uint32_t pkt_limit;      /* every packet sent must fit this */
};

static struct ep eps[2];
static struct link links[2]; /* links[i]: from eps[i] to the other */
static struct pkt *pool;
static uint32_t heap[POOL], nheap;
static uint32_t freelist[POOL], nfree;
static uint64_t order;
static int64_t now;
static struct rng64 rng;

/* Chat: lines written on one stream at set times; latency measured at the reader. */
#define CHAT_MAX 256
static struct {
	uint64_t id;
	int from;
	uint32_t n, ndone;
	uint64_t end[CHAT_MAX];
	int64_t at[CHAT_MAX], lat[CHAT_MAX];
} chat;

/* The byte at offset o of stream id: the reader checks every one. */
static uint8_t pattern(uint64_t id, uint64_t o)
{
	return (uint8_t)(o * 131 + id * 17 + (o >> 9) + (o >> 17));
}

static int before(uint32_t a, uint32_t b)
{
	return pool[a].at_ms < pool[b].at_ms || (pool[a].at_ms == pool[b].at_ms && pool[a].order < pool[b].order);
}

static void heap_push(uint32_t i)
{
	uint32_t k = nheap++;

	heap[k] = i;
	while (k > 0 && before(heap[k], heap[(k - 1) / 2])) {
		uint32_t t = heap[k];

		heap[k] = heap[(k - 1) / 2];
		heap[(k - 1) / 2] = t;
		k = (k - 1) / 2;
	}
}

static uint32_t heap_pop(void)
{
	uint32_t top = heap[0], k = 0;

	heap[0] = heap[--nheap];
	for (;;) {
		uint32_t l = 2 * k + 1, r = l + 1, m = k, t;

		if (l < nheap && before(heap[l], heap[m]))
			m = l;
		if (r < nheap && before(heap[r], heap[m]))
			m = r;
		if (m == k)
			break;
		t = heap[k];
		heap[k] = heap[m];
		heap[m] = t;
		k = m;
	}
	return top;
}

static uint32_t chance(void)
{
	return rng64star_next32(&rng) % 1000;
}

/* Checks a packet leaving `from`: its size, its form, and every STREAM frame against the credit it had. */
static void check_outgoing(struct ep *e, const uint8_t *p, size_t len)
{
	struct stream_frame f;
	uint64_t pn;
	size_t off = 0;

	ck_assert_uint_le(len, e->pkt_limit);
	if (len > e->max_pkt_seen)
		e->max_pkt_seen = (uint32_t)len;
	ck_assert_int_gt(stream_packet_check(p, len, &pn), 0);
	while (stream_packet_frame(p, len, &off, &f) > 0) {
		uint64_t end;

		if (f.type != STREAM_F_STREAM && f.type != STREAM_F_STREAM_FIN)
			continue;
		ck_assert_uint_lt(f.id, IDS);
		end = f.offset + f.len;
		ck_assert_msg(end <= e->credit[f.id], "stream %llu to %llu past credit %llu",
			      (unsigned long long)f.id, (unsigned long long)end,
			      (unsigned long long)e->credit[f.id]);
		if (end > e->sent_end[f.id]) {
			e->sent_conn += end - e->sent_end[f.id];
			e->sent_end[f.id] = end;
		}
		ck_assert_uint_le(e->sent_conn, e->credit_conn);
	}
}

/* Notes the credit a packet arriving at e gives it. */
static void note_credit(struct ep *e, const uint8_t *p, size_t len)
{
	struct stream_frame f;
	size_t off = 0;

	while (stream_packet_frame(p, len, &off, &f) > 0) {
		if (f.type == STREAM_F_MAX_STREAM_DATA && f.id < IDS && f.max > e->credit[f.id])
			e->credit[f.id] = f.max;
		if (f.type == STREAM_F_MAX_DATA && f.max > e->credit_conn)
			e->credit_conn = f.max;
	}
}

static void io_send(void *ctx, const uint8_t *p, size_t len)
{
	struct ep *e = ctx;
	struct link *l = &links[e->idx];
	int64_t now_us = now * 1000, start, done_us;
	int copies = 1, k;

	check_outgoing(e, p, len);
	l->sent++;
	l->bytes += len;
	if (now >= l->cfg.blackout_from && now < l->cfg.blackout_to) {
		l->lost++;
		return;
	}
	start = now_us > l->free_at_us ? now_us : l->free_at_us;
	done_us = start;
	if (l->cfg.rate_Bps > 0) {
		/* drop-tail: the queue holds what is waiting for the wire */
		if ((uint64_t)(start - now_us) * l->cfg.rate_Bps / 1000000 > l->cfg.queue_bytes) {
			l->dropped++;
			return;
		}
		done_us = start + (int64_t)(len * 1000000 / l->cfg.rate_Bps);
		l->free_at_us = done_us;
	}
	if (chance() < l->cfg.loss_pm) {
		l->lost++;
		return;
	}
	if (chance() < l->cfg.dup_pm) {
		copies = 2;
		l->duplicated++;
	}
	for (k = 0; k < copies; k++) {
		uint32_t i;

		ck_assert_uint_gt(nfree, 0);
		i = freelist[--nfree];
		pool[i].to = 1 - e->idx;
		pool[i].at_ms = (done_us + 999) / 1000 + l->cfg.delay_ms +
				(l->cfg.jitter_ms ? (int64_t)(rng64star_next32(&rng) % (uint32_t)(l->cfg.jitter_ms + 1)) : 0);
		pool[i].order = order++;
		pool[i].len = (uint16_t)len;
		memcpy(pool[i].data, p, len);
		heap_push(i);
	}
}

static size_t io_recv(void *ctx, uint64_t id, const uint8_t *data, size_t len)
{
	struct ep *e = ctx;
	struct app *a;
	size_t i;

	ck_assert_uint_lt(id, IDS);
	a = &e->app[id];
	if (a->slow)
		return 0;
	ck_assert(!a->fin);
	for (i = 0; i < len; i++)
		if (data[i] != pattern(id, a->got + i))
			ck_abort_msg("stream %llu byte %llu wrong", (unsigned long long)id,
				     (unsigned long long)(a->got + i));
	a->got += len;
	/* chat lines complete */
	if (id == chat.id && e->idx != chat.from) {
		while (chat.ndone < chat.n && chat.end[chat.ndone] <= a->got) {
			chat.lat[chat.ndone] = now - chat.at[chat.ndone];
			chat.ndone++;
		}
	}
	return len;
}

static void io_event(void *ctx, uint64_t id, int ev, uint64_t code)
{
	struct ep *e = ctx;
	struct app *a;

	ck_assert_uint_lt(id, IDS);
	a = &e->app[id];
	switch (ev) {
	case STREAM_EV_OPENED:
		ck_assert(!a->opened);
		a->opened = 1;
		break;
	case STREAM_EV_FIN:
		ck_assert(!a->fin);
		a->fin = 1;
		a->fin_ms = now;
		break;
	case STREAM_EV_RESET:
		a->reset = 1;
		a->reset_code = code;
		break;
	case STREAM_EV_STOPPED:
		a->stopped = 1;
		a->stop_code = code;
		a->total = a->written; /* the writer gives up */
		break;
	case STREAM_EV_SENT:
		ck_assert(!a->sent);
		a->sent = 1;
		break;
	case STREAM_EV_WRITABLE:
		a->writable++;
		break;
	case STREAM_EV_CLOSED:
		ck_assert(!a->closed);
		a->closed = 1;
		break;
	default:
		ck_abort_msg("unknown event %d", ev);
	}
}

/* A network with no bottleneck, 10 ms each way, and nothing lost. */
static struct linkcfg plain_link(void)
{
	struct linkcfg l;

	memset(&l, 0, sizeof(l));
	l.delay_ms = 10;
	l.blackout_from = l.blackout_to = -1;
	return l;
}

/* Sets up both ends (roles 0 and 1) with cfg and the links. */
static void setup_net(const struct stream_config *cfg, struct linkcfg ab, struct linkcfg ba,
		      uint64_t seed)
{
	const struct stream_io io_tmpl = { NULL, io_send, io_recv, io_event };
	uint32_t i;
	int k;

	if (pool == NULL)
		pool = malloc(POOL * sizeof(*pool));
	ck_assert_ptr_nonnull(pool);
	nheap = 0;
	nfree = POOL;
	for (i = 0; i < POOL; i++)
		freelist[i] = POOL - 1 - i;
	order = 0;
	now = 1000;
	rng.s = seed;
	memset(&chat, 0, sizeof(chat));
	chat.id = UINT64_MAX;
	memset(links, 0, sizeof(links));
	links[0].cfg = ab;
	links[1].cfg = ba;
	for (k = 0; k < 2; k++) {
		struct stream_config c = *cfg;
		struct stream_io io = io_tmpl;

		memset(&eps[k], 0, sizeof(eps[k]));
		eps[k].idx = k;
		io.ctx = &eps[k];
		c.role = (uint8_t)k;
		ck_assert_int_eq(stream_conn_init(&eps[k].c, &c, &io, now), 0);
		for (i = 0; i < IDS; i++)
			eps[k].credit[i] = STREAM_INITIAL_WINDOW;
		eps[k].credit_conn = STREAM_INITIAL_MAX_DATA;
		eps[k].pkt_limit = cfg->pkt_max;
	}
}

static void teardown_net(void)
{
	stream_conn_free(&eps[0].c);
	stream_conn_free(&eps[1].c);
}

/* A small test config: 64 KiB per stream, 256 KiB over all. */
static struct stream_config small_cfg(void)
{
	struct stream_config cfg;

	stream_config_default(&cfg);
	cfg.stream_buf = 64 << 10;
	cfg.conn_window = 256 << 10;
	return cfg;
}

/* Writes what each application still has to write. */
static void pump(struct ep *e)
{
	static uint8_t buf[65536];
	uint64_t id;

	for (id = 0; id < IDS; id++) {
		struct app *a = &e->app[id];

		while (a->written < a->total) {
			size_t n = (size_t)(a->total - a->written < sizeof(buf) ? a->total - a->written : sizeof(buf));
			int64_t room = stream_room(&e->c, id);
			size_t i;
			int64_t took;

			ck_assert_int_ge(room, 0);
			/* one byte more than there is room for: a short write, then STREAM_EV_WRITABLE */
			if ((uint64_t)room + 1 < n)
				n = (size_t)room + 1;
			for (i = 0; i < n; i++)
				buf[i] = pattern(id, a->written + i);
			took = stream_write(&e->c, id, buf, n);
			ck_assert_int_eq(took, (int64_t)n <= room ? (int64_t)n : room);
			a->written += (uint64_t)took;
			if (took < (int64_t)n)
				break;
		}
		if (a->finish && !a->finished && a->written == a->total) {
			ck_assert_int_eq(stream_finish(&e->c, id), 0);
			a->finished = 1;
		}
	}
}

/* Hands over every packet due at now. */
static void arrive(void)
{
	while (nheap > 0 && pool[heap[0]].at_ms <= now) {
		uint32_t i = heap_pop();
		struct ep *e = &eps[pool[i].to];

		note_credit(e, pool[i].data, pool[i].len);
		ck_assert_int_eq(stream_on_packet(&e->c, pool[i].data, pool[i].len, now), 0);
		freelist[nfree++] = i;
	}
}

typedef int (*done_fn)(void);

/* Writes a chat line on chat.id now. */
static void chat_line(void)
{
	struct app *a = &eps[chat.from].app[chat.id];

	ck_assert_uint_lt(chat.n, CHAT_MAX);
	a->total += 100; /* pump writes it: stream_write takes it whole, the chat stream is idle */
	chat.end[chat.n] = a->total;
	chat.at[chat.n] = now;
	chat.n++;
}

/*
 * Runs the network until done() or limit_ms. Chat lines go every
 * chat_every_ms (0: none). Returns 1 when done.
 */
static int run(done_fn done, int64_t limit_ms, int64_t chat_every_ms)
{
	int64_t next_chat = chat_every_ms ? now + chat_every_ms : INT64_MAX;
	long steps;

	for (steps = 0; steps < STEPS_MAX; steps++) {
		int64_t t0, t1, next;

		arrive();
		if (now >= next_chat) {
			chat_line();
			next_chat += chat_every_ms;
		}
		pump(&eps[0]);
		pump(&eps[1]);
		t0 = stream_tick(&eps[0].c, now);
		t1 = stream_tick(&eps[1].c, now);
		ck_assert_int_eq(eps[0].c.error, 0);
		ck_assert_int_eq(eps[1].c.error, 0);
		if (done())
			return 1;
		next = t0 < t1 ? t0 : t1;
		if (nheap > 0 && pool[heap[0]].at_ms < next)
			next = pool[heap[0]].at_ms;
		if (next_chat < next)
			next = next_chat;
		if (next == INT64_MAX)
			return done(); /* nothing will ever happen again */
		now = next > now ? next : now + 1;
		if (now > limit_ms)
			return 0;
	}
	return 0;
}

/* ---- the wire ---- */

/* Encodes f, checks the round trip, and that every shorter buffer and a trailing byte are refused. */
static void round_trip(const struct stream_frame *f)
{
	uint8_t buf[2048], big[2049];
	struct stream_frame g;
	int n;
	size_t cut;

	n = stream_frame_encode(buf, sizeof(buf), f);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq(stream_frame_decode(buf, (size_t)n, &g), 0);
	ck_assert_uint_eq(g.type, f->type);
	ck_assert_uint_eq(g.id, f->id);
	ck_assert_uint_eq(g.code, f->code);
	ck_assert_uint_eq(g.offset, f->offset);
	ck_assert_uint_eq(g.final_size, f->final_size);
	ck_assert_uint_eq(g.max, f->max);
	ck_assert_uint_eq(g.len, f->len);
	if (f->len)
		ck_assert_mem_eq(g.data, f->data, f->len);
	ck_assert_uint_eq(g.nranges, f->nranges);
	ck_assert_uint_eq(g.ack_delay_ms, f->ack_delay_ms);
	if (f->nranges)
		ck_assert_mem_eq(g.ranges, f->ranges, f->nranges * sizeof(f->ranges[0]));
	/* every truncation */
	for (cut = 0; cut < (size_t)n; cut++)
		ck_assert_msg(stream_frame_decode(buf, cut, &g) == STREAM_ESHORT, "type %u cut at %zu",
			      f->type, cut);
	/* a trailing byte */
	memcpy(big, buf, (size_t)n);
	big[n] = STREAM_F_PING;
	ck_assert_int_eq(stream_frame_decode(big, (size_t)n + 1, &g), STREAM_ETRAILING);
	/* encoding into too small a buffer */
	for (cut = 0; cut < (size_t)n; cut++)
		ck_assert_int_eq(stream_frame_encode(buf, cut, f), STREAM_ENOSPACE);
}

START_TEST(frames_round_trip)
{
	static const uint8_t data[300] = "hello";
	struct stream_frame f;
	const uint64_t big[] = { 0, 63, 64, 16383, 16384, (UINT64_C(1) << 30) - 1, UINT64_C(1) << 30,
				 STREAM_VARINT_MAX };
	size_t i;

	memset(&f, 0, sizeof(f));
	f.type = STREAM_F_PING;
	round_trip(&f);
	for (i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		/* every varint length, in every field */
		memset(&f, 0, sizeof(f));
		f.type = STREAM_F_RESET;
		f.id = big[i];
		f.code = big[(i + 1) % 8];
		f.final_size = big[(i + 2) % 8];
		round_trip(&f);
		f.type = STREAM_F_STOP;
		f.final_size = 0;
		round_trip(&f);
		memset(&f, 0, sizeof(f));
		f.type = STREAM_F_MAX_DATA;
		f.max = big[i];
		round_trip(&f);
		f.type = STREAM_F_MAX_STREAMS;
		round_trip(&f);
		f.type = STREAM_F_MAX_STREAM_DATA;
		f.id = big[(i + 3) % 8];
		round_trip(&f);
		memset(&f, 0, sizeof(f));
		f.type = STREAM_F_STREAM;
		f.id = big[i];
		f.offset = big[i] > STREAM_VARINT_MAX - 300 ? STREAM_VARINT_MAX - 300 : big[i];
		f.data = data;
		f.len = 300;
		round_trip(&f);
		f.type = STREAM_F_STREAM_FIN;
		f.len = 0;
		round_trip(&f);
	}
	/* ACK: one range; several; the largest possible numbers */
	memset(&f, 0, sizeof(f));
	f.type = STREAM_F_ACK;
	f.ack_delay_ms = 7;
	f.nranges = 1;
	f.ranges[0] = (struct cc_range){ 0, 0 };
	round_trip(&f);
	f.nranges = 3;
	f.ranges[0] = (struct cc_range){ 90, 100 };
	f.ranges[1] = (struct cc_range){ 50, 88 };
	f.ranges[2] = (struct cc_range){ 0, 10 };
	round_trip(&f);
	f.nranges = STREAM_ACK_RANGES_MAX;
	for (i = 0; i < STREAM_ACK_RANGES_MAX; i++)
		f.ranges[i] = (struct cc_range){ STREAM_VARINT_MAX - 10 * i - 5, STREAM_VARINT_MAX - 10 * i };
	round_trip(&f);
}
END_TEST

START_TEST(frames_refused)
{
	struct stream_frame f;
	uint8_t b[64];
	size_t n;
	int t;

	/* every type byte this code does not know */
	for (t = 0; t < 256; t++) {
		if (t == STREAM_F_PING || t == STREAM_F_ACK || t == STREAM_F_RESET || t == STREAM_F_STOP ||
		    t == STREAM_F_STREAM || t == STREAM_F_STREAM_FIN || t == STREAM_F_MAX_DATA ||
		    t == STREAM_F_MAX_STREAM_DATA || t == STREAM_F_MAX_STREAMS)
			continue;
		b[0] = (uint8_t)t;
		memset(b + 1, 0, 8);
		ck_assert_int_eq(stream_frame_decode(b, 9, &f), STREAM_ETYPE);
	}
	/* ACK: first range past the largest (5 - 6) */
	n = 0;
	b[n++] = STREAM_F_ACK, b[n++] = 5, b[n++] = 0, b[n++] = 0, b[n++] = 6;
	ck_assert_int_eq(stream_frame_decode(b, n, &f), STREAM_EVALUE);
	/* ACK: a gap that goes below 0: 10..10, then gap 9 -> 10 - 9 - 2 < 0 */
	n = 0;
	b[n++] = STREAM_F_ACK, b[n++] = 10, b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 9, b[n++] = 0;
	ck_assert_int_eq(stream_frame_decode(b, n, &f), STREAM_EVALUE);
	/* ACK: gap 0 from 10 ends at 8; a range of 9 more goes below 0 */
	n = 0;
	b[n++] = STREAM_F_ACK, b[n++] = 10, b[n++] = 0, b[n++] = 1, b[n++] = 0, b[n++] = 0, b[n++] = 9;
	ck_assert_int_eq(stream_frame_decode(b, n, &f), STREAM_EVALUE);
	b[n - 1] = 8; /* 0..8: just fits */
	ck_assert_int_eq(stream_frame_decode(b, n, &f), 0);
	ck_assert_uint_eq(f.ranges[1].lo, 0);
	ck_assert_uint_eq(f.ranges[1].hi, 8);
	/* ACK: too many ranges */
	n = 0;
	b[n++] = STREAM_F_ACK, b[n++] = 0x40, b[n++] = 200, b[n++] = 0, b[n++] = STREAM_ACK_RANGES_MAX, b[n++] = 0;
	ck_assert_int_eq(stream_frame_decode(b, n, &f), STREAM_ECOUNT);
	/* STREAM: empty without FIN */
	n = 0;
	b[n++] = STREAM_F_STREAM, b[n++] = 0, b[n++] = 0, b[n++] = 0;
	ck_assert_int_eq(stream_frame_decode(b, n, &f), STREAM_EVALUE);
	/* STREAM: offset + length past 2^62 - 1 */
	n = 0;
	b[n++] = STREAM_F_STREAM_FIN, b[n++] = 0;
	memset(b + n, 0xff, 8), n += 8; /* offset 2^62 - 1 */
	b[n++] = 1, b[n++] = 'x';
	ck_assert_int_eq(stream_frame_decode(b, n, &f), STREAM_EVALUE);
	/* STREAM: a length past the buffer */
	n = 0;
	b[n++] = STREAM_F_STREAM, b[n++] = 0, b[n++] = 0, b[n++] = 5, b[n++] = 'a';
	ck_assert_int_eq(stream_frame_decode(b, n, &f), STREAM_ESHORT);
	/* encoder: a STREAM frame it may not send */
	memset(&f, 0, sizeof(f));
	f.type = STREAM_F_STREAM;
	ck_assert_int_eq(stream_frame_encode(b, sizeof(b), &f), STREAM_EINVAL);
	f.type = 0x77;
	ck_assert_int_eq(stream_frame_encode(b, sizeof(b), &f), STREAM_EINVAL);
	/* encoder: ACK ranges overlapping, or touching (they should have been one) */
	f.type = STREAM_F_ACK;
	f.nranges = 2;
	f.ranges[0] = (struct cc_range){ 10, 20 };
	f.ranges[1] = (struct cc_range){ 5, 9 };
	ck_assert_int_eq(stream_frame_encode(b, sizeof(b), &f), STREAM_EINVAL);
	f.ranges[1] = (struct cc_range){ 5, 8 };
	ck_assert_int_gt(stream_frame_encode(b, sizeof(b), &f), 0);
	f.nranges = 0;
	ck_assert_int_eq(stream_frame_encode(b, sizeof(b), &f), STREAM_EINVAL);
}
END_TEST

START_TEST(packets_checked)
{
	uint8_t p[STREAM_FRAMES_MAX + 8];
	uint64_t pn;
	size_t i, n;
	struct stream_frame f;

	/* number 300 (2 bytes), a PING, a MAX_DATA */
	n = 0;
	p[n++] = 0x41, p[n++] = 0x2c, p[n++] = STREAM_F_PING, p[n++] = STREAM_F_MAX_DATA, p[n++] = 9;
	ck_assert_int_eq(stream_packet_check(p, n, &pn), 2);
	ck_assert_uint_eq(pn, 300);
	/* every cut: inside the number, before any frame, at a frame's end (a valid shorter packet), inside one */
	ck_assert_int_eq(stream_packet_check(p, 0, &pn), STREAM_ESHORT);
	ck_assert_int_eq(stream_packet_check(p, 1, &pn), STREAM_ESHORT);
	ck_assert_int_eq(stream_packet_check(p, 2, &pn), STREAM_ECOUNT);
	ck_assert_int_eq(stream_packet_check(p, 3, &pn), 1);
	ck_assert_int_eq(stream_packet_check(p, 4, &pn), STREAM_ESHORT);
	i = 0;
	p[n] = 0xee; /* a trailing byte that is no frame */
	ck_assert_int_eq(stream_packet_check(p, n + 1, &pn), STREAM_ETYPE);
	p[n] = STREAM_F_MAX_DATA; /* a trailing frame cut short */
	ck_assert_int_eq(stream_packet_check(p, n + 1, &pn), STREAM_ESHORT);
	/* STREAM_FRAMES_MAX frames pass; one more does not */
	p[0] = 0;
	memset(p + 1, STREAM_F_PING, STREAM_FRAMES_MAX + 1);
	ck_assert_int_eq(stream_packet_check(p, 1 + STREAM_FRAMES_MAX, &pn), STREAM_FRAMES_MAX);
	ck_assert_int_eq(stream_packet_check(p, 2 + STREAM_FRAMES_MAX, &pn), STREAM_ECOUNT);
	/* walking it: frames one by one, then the end */
	for (n = 0; n < STREAM_FRAMES_MAX; n++) {
		ck_assert_int_eq(stream_packet_frame(p, 1 + STREAM_FRAMES_MAX, &i, &f), 1);
		ck_assert_uint_eq(f.type, STREAM_F_PING);
	}
	ck_assert_int_eq(stream_packet_frame(p, 1 + STREAM_FRAMES_MAX, &i, &f), 0);
}
END_TEST

/* ---- two peers ---- */

static int never(void)
{
	return 0;
}

static int first_half_done(void)
{
	return eps[1].app[0].fin && eps[0].app[0].sent;
}

static int two_small_done(void)
{
	return eps[0].app[0].closed && eps[1].app[0].closed;
}

START_TEST(one_stream_both_ways)
{
	struct stream_config cfg = small_cfg();
	int64_t id;

	setup_net(&cfg, plain_link(), plain_link(), 1);
	id = stream_open(&eps[0].c, 0);
	ck_assert_int_eq(id, 0); /* role 0 opens even ids */
	eps[0].app[0].total = 1000, eps[0].app[0].finish = 1;
	ck_assert_int_eq(stream_acked(&eps[0].c, 0), 0);
	ck_assert_int_eq(stream_acked(&eps[0].c, 2), STREAM_ENOSTREAM);
	ck_assert(run(first_half_done, now + 10000, 0));
	ck_assert_int_eq(stream_acked(&eps[0].c, 0), 1000);
	/* B saw it open, read it all and the FIN; it writes back and finishes its half */
	ck_assert(eps[1].app[0].opened);
	ck_assert(eps[1].app[0].fin);
	ck_assert_uint_eq(eps[1].app[0].got, 1000);
	ck_assert(eps[0].app[0].sent);
	ck_assert(!eps[0].app[0].closed); /* B's half is still open */
	eps[1].app[0].total = 5000, eps[1].app[0].finish = 1;
	ck_assert(run(two_small_done, now + 10000, 0));
	ck_assert_uint_eq(eps[0].app[0].got, 5000);
	ck_assert(eps[0].app[0].fin && eps[1].app[0].sent);
	/* a PING on a quiet connection is answered: a fresh RTT sample */
	{
		uint64_t sent = eps[0].c.stats.pkts_sent;
		int64_t latest;

		eps[0].c.cc.latest_rtt_ms = 0;
		stream_ping(&eps[0].c);
		ck_assert(run(first_half_done, now + 1000, 0)); /* (already true: one turn) */
		ck_assert_uint_eq(eps[0].c.stats.pkts_sent, sent + 1);
		ck_assert(!run(never, now + 100, 0));
		latest = eps[0].c.cc.latest_rtt_ms;
		ck_assert_int_ge(latest, 20); /* 10 ms each way, and B may hold the ACK up to 25 */
		ck_assert_int_le(latest, 20 + STREAM_MAX_ACK_DELAY_MS);
	}
	/* the id is forgotten */
	ck_assert_int_eq(stream_write(&eps[0].c, 0, (const uint8_t *)"x", 1), STREAM_ENOSTREAM);
	/* and B may open one: odd ids */
	ck_assert_int_eq(stream_open(&eps[1].c, 0), 1);
	teardown_net();
}
END_TEST

/* ---- many streams under loss ---- */

#define MANY 8
static int many_done(void)
{
	int i;

	for (i = 0; i < MANY; i++) {
		uint64_t a = 2 * (uint64_t)i, b = 2 * (uint64_t)i + 1;

		if (!eps[1].app[a].fin || !eps[0].app[b].fin || !eps[0].app[a].sent || !eps[1].app[b].sent)
			return 0;
	}
	return 1;
}

/* 8 streams each way at once, each 300 KB (and one short), with loss_pm loss, reordering and duplicates. */
static void many_streams(uint32_t loss_pm, uint64_t seed)
{
	struct stream_config cfg = small_cfg();
	struct linkcfg l = plain_link();
	uint64_t total = 0, bytes_on_wire;
	int i;
	int64_t t0;

	l.rate_Bps = 2500000; /* 20 Mbit/s */
	l.queue_bytes = 64 << 10;
	l.delay_ms = 15;
	l.jitter_ms = 8;   /* reordering: packets 1 ms apart swap often */
	l.loss_pm = loss_pm;
	l.dup_pm = 20;
	setup_net(&cfg, l, l, seed);
	for (i = 0; i < MANY; i++) {
		ck_assert_int_eq(stream_open(&eps[0].c, 3), 2 * i);
		ck_assert_int_eq(stream_open(&eps[1].c, 3), 1 + 2 * i);
		eps[0].app[2 * i].total = i == 3 ? 1 : 300000;
		eps[0].app[2 * i].finish = 1;
		eps[1].app[2 * i + 1].total = 300000 + 1000 * (uint64_t)i;
		eps[1].app[2 * i + 1].finish = 1;
		total += eps[0].app[2 * i].total + eps[1].app[2 * i + 1].total;
		/* past the first 4 streams each way, the peer's MAX_STREAMS had to come first */
		if (i == STREAM_INITIAL_MAX_STREAMS - 1) {
			ck_assert_int_eq(stream_open(&eps[0].c, 3), STREAM_EBLOCKED);
			ck_assert(!run(many_done, now + 200, 0));
		}
	}
	t0 = now;
	ck_assert_msg(run(many_done, now + 600000, 0), "not done at loss %u", loss_pm);
	for (i = 0; i < MANY; i++) {
		ck_assert_uint_eq(eps[1].app[2 * i].got, eps[0].app[2 * i].total);
		ck_assert_uint_eq(eps[0].app[2 * i + 1].got, eps[1].app[2 * i + 1].total);
		/* 300 KB through a 64 KiB buffer: the writer was told of room again */
		ck_assert_int_gt(eps[1].app[2 * i + 1].writable, 0);
	}
	bytes_on_wire = links[0].bytes + links[1].bytes;
	printf("many streams, %u.%u%% loss: %llu bytes both ways in %lld ms (%.2f Mbit/s each way of 20), "
	       "%llu packets lost, %llu duplicated, %llu spurious losses, wire/payload %.2f\n",
	       loss_pm / 10, loss_pm % 10, (unsigned long long)total, (long long)(now - t0),
	       (double)total * 8 / 2 / (double)(now - t0) / 1000.0,
	       (unsigned long long)(links[0].lost + links[1].lost),
	       (unsigned long long)(links[0].duplicated + links[1].duplicated),
	       (unsigned long long)(eps[0].c.cc.n_spurious + eps[1].c.cc.n_spurious),
	       (double)bytes_on_wire / (double)total);
	teardown_net();
}

START_TEST(many_streams_no_loss)
{
	many_streams(0, 11);
}
END_TEST

START_TEST(many_streams_5pct_loss)
{
	many_streams(50, 12);
}
END_TEST

START_TEST(many_streams_20pct_loss)
{
	many_streams(200, 13);
}
END_TEST

/* ---- a bulk transfer, and chat beside it ---- */

static uint64_t bulk_id = 0, bulk_total;

static int bulk_done(void)
{
	return eps[1].app[bulk_id].fin && eps[0].app[bulk_id].sent;
}

/* The bottleneck of the bulk tests: 20 Mbit/s, 20 ms each way, a queue of one BDP (100 KB). */
static struct linkcfg bulk_link(uint32_t loss_pm)
{
	struct linkcfg l = plain_link();

	l.rate_Bps = 2500000;
	l.delay_ms = 20;
	l.queue_bytes = 100000;
	l.jitter_ms = 2;
	l.loss_pm = loss_pm;
	return l;
}

/* Sends total bytes from A to B on one stream over bulk_link(loss_pm); returns the goodput as a fraction of the link. */
static double bulk(uint64_t total, uint32_t loss_pm, int64_t chat_every_ms, uint64_t seed)
{
	struct stream_config cfg;
	int64_t t0, ms;
	double frac;

	stream_config_default(&cfg);
	setup_net(&cfg, bulk_link(loss_pm), bulk_link(loss_pm), seed);
	bulk_id = (uint64_t)stream_open(&eps[0].c, 4);
	bulk_total = total;
	eps[0].app[bulk_id].total = total;
	eps[0].app[bulk_id].finish = 1;
	if (chat_every_ms) {
		chat.from = 0;
		chat.id = (uint64_t)stream_open(&eps[0].c, 0); /* chat goes first */
	}
	t0 = now;
	ck_assert_msg(run(bulk_done, now + 3600000, chat_every_ms), "bulk at %u per mille not done", loss_pm);
	ms = eps[1].app[bulk_id].fin_ms - t0;
	ck_assert_uint_eq(eps[1].app[bulk_id].got, total);
	frac = (double)total / (double)ms * 1000.0 / 2500000.0;
	printf("bulk, %u.%u%% loss: %llu bytes in %lld ms: %.2f Mbit/s of 20 (%.0f%%); cwnd %llu, srtt %lld ms, "
	       "%llu lost, %llu spurious, %llu persistent, %llu undone, %llu dropped at the queue\n",
	       loss_pm / 10, loss_pm % 10, (unsigned long long)total, (long long)ms,
	       (double)total * 8 / (double)ms / 1000.0, frac * 100, (unsigned long long)eps[0].c.cc.cwnd,
	       (long long)eps[0].c.cc.smoothed_rtt_ms, (unsigned long long)eps[0].c.cc.n_lost,
	       (unsigned long long)eps[0].c.cc.n_spurious, (unsigned long long)eps[0].c.cc.n_persistent,
	       (unsigned long long)eps[0].c.cc.n_undone, (unsigned long long)links[0].dropped);
	return frac;
}

START_TEST(bulk_16mb_with_chat)
{
	int64_t max = 0, sum = 0;
	uint32_t i;
	double frac;

	frac = bulk(16 << 20, 0, 250, 21);
	ck_assert_uint_gt(chat.n, 20);
	ck_assert_uint_eq(chat.ndone, chat.n);
	for (i = 0; i < chat.n; i++) {
		sum += chat.lat[i];
		if (chat.lat[i] > max)
			max = chat.lat[i];
	}
	printf("chat beside it: %u lines of 100 bytes, latency mean %lld ms, max %lld ms "
	       "(one-way delay 20 ms, a full queue adds 40)\n",
	       chat.n, (long long)(sum / chat.n), (long long)max);
	/* a line waits at most for the queue ahead of it and one packet of room: well within 3 RTTs (120 ms) */
	ck_assert_int_le(max, 120);
	/* simulated time, not the machine's: packet headers and ACK gaps are all the loss */
	ck_assert_msg(frac > 0.8, "goodput only %.2f of the link", frac);
	teardown_net();
}
END_TEST

START_TEST(bulk_5pct_loss)
{
	double frac = bulk(2 << 20, 50, 0, 22);

	/* random loss is not congestion (cc.h): NewReno made 5% of the link here, its tweak 47% */
	ck_assert_msg(frac > 0.6, "goodput only %.2f of the link at 5%% random loss", frac);
	teardown_net();
}
END_TEST

START_TEST(bulk_20pct_loss)
{
	double frac = bulk(512 << 10, 200, 0, 23);

	ck_assert(frac > 0.002);
	teardown_net();
}
END_TEST

/*
 * The receiving side sends mostly ACK-only packets, so the largest packet
 * an ACK of its packets names is nearly always one of those: its RTT must
 * come from them too (RFC 9002 5.1), or it keeps kInitialRtt (its timers
 * at 333 ms, its credit updates resent late) and shows a min_rtt of 0.
 */
START_TEST(receiver_measures_rtt)
{
	bulk(1 << 20, 0, 0, 24);
	printf("receiver: have_rtt %d, min_rtt %lld ms, srtt %lld ms (40 ms and more on this path)\n",
	       eps[1].c.cc.have_rtt, (long long)eps[1].c.cc.min_rtt_ms, (long long)eps[1].c.cc.smoothed_rtt_ms);
	ck_assert(eps[1].c.cc.have_rtt);
	ck_assert_int_ge(eps[1].c.cc.min_rtt_ms, 40); /* 20 ms each way */
	ck_assert_int_lt(eps[1].c.cc.smoothed_rtt_ms, CC_INITIAL_RTT_MS);
	teardown_net();
}
END_TEST

/* ---- reordering is not loss ---- */

START_TEST(reordering_is_not_loss)
{
	struct stream_config cfg;
	struct linkcfg l = bulk_link(0);
	uint64_t pkts;
	double frac;

	/*
	 * Up to 25 ms of extra delay at random on a 20 ms path: at 20 Mbit/s a
	 * packet is overtaken by up to 50 sent after it. By count, nearly every
	 * packet would be "lost"; by time, once RACK's window has grown to
	 * cover the jitter, next to none is.
	 */
	l.jitter_ms = 25;
	l.queue_bytes = 4 << 20; /* more than the stream's window: no drops, only reordering */
	stream_config_default(&cfg);
	setup_net(&cfg, l, l, 91);
	bulk_id = (uint64_t)stream_open(&eps[0].c, 3);
	eps[0].app[bulk_id].total = 8 << 20;
	eps[0].app[bulk_id].finish = 1;
	ck_assert(run(bulk_done, now + 600000, 0));
	ck_assert_uint_eq(eps[1].app[bulk_id].got, 8 << 20);
	pkts = eps[0].c.stats.pkts_sent;
	frac = (double)(8 << 20) / (double)(eps[1].app[bulk_id].fin_ms - 1000) * 1000.0 / 2500000.0;
	printf("reordering by up to 25 ms, no loss: %llu packets, %llu declared lost, all spurious: %llu; "
	       "reordering window %u/8 RTT, %llu undone; goodput %.0f%% of the link\n",
	       (unsigned long long)pkts, (unsigned long long)eps[0].c.cc.n_lost,
	       (unsigned long long)eps[0].c.cc.n_spurious, eps[0].c.cc.reo_mult,
	       (unsigned long long)eps[0].c.cc.n_undone, frac * 100);
	ck_assert_uint_eq(links[0].dropped + links[0].lost, 0);
	ck_assert(eps[0].c.cc.reordering_seen);
	ck_assert_uint_gt(eps[0].c.cc.reo_mult, 1);
	ck_assert_uint_eq(eps[0].c.cc.n_lost, eps[0].c.cc.n_spurious); /* nothing was really lost */
	ck_assert_uint_lt(eps[0].c.cc.n_lost * 100, pkts); /* under 1% taken for lost */
	ck_assert(frac > 0.5);
	teardown_net();
}
END_TEST

/* ---- flow control ---- */

static int fast_done(void)
{
	return eps[1].app[2].fin;
}

START_TEST(slow_reader_stalls_one_stream)
{
	struct stream_config cfg = small_cfg();
	struct stream *s0;

	setup_net(&cfg, plain_link(), plain_link(), 31);
	ck_assert_int_eq(stream_open(&eps[0].c, 3), 0);
	ck_assert_int_eq(stream_open(&eps[0].c, 3), 2);
	eps[0].app[0].total = eps[0].app[2].total = 200000;
	eps[0].app[0].finish = eps[0].app[2].finish = 1;
	eps[1].app[0].slow = 1; /* B's reader of stream 0 takes nothing */
	ck_assert(run(fast_done, now + 60000, 0));
	ck_assert_uint_eq(eps[1].app[2].got, 200000);
	ck_assert_uint_eq(eps[1].app[0].got, 0);
	/* stream 0 went exactly as far as its credit: B's buffer, 64 KiB, and stopped there */
	s0 = &eps[0].c.streams[0];
	ck_assert_uint_eq(s0->id, 0);
	ck_assert_uint_eq(s0->snd_nxt, 64 << 10);
	ck_assert_uint_eq(eps[0].sent_end[0], 64 << 10);
	/* ...while the connection's credit (256 KiB) let stream 2 through */
	ck_assert_uint_gt(eps[0].credit_conn, 200000 + (64 << 10));
	/* the reader wakes: the rest flows */
	eps[1].app[0].slow = 0;
	ck_assert_int_eq(stream_resume(&eps[1].c, 0), 0);
	ck_assert(run(bulk_done, now + 60000, 0)); /* bulk_id is 0 */
	ck_assert_uint_eq(eps[1].app[0].got, 200000);
	teardown_net();
}
END_TEST

/*
 * A sender blocked on credit with nothing in flight has no timer of its
 * own: the receiver's credit must get through. Lost, it is sent again
 * (its packet is ack-eliciting, so the receiver's PTO and loss rules
 * cover it), and the stream goes on.
 */
START_TEST(lost_credit_is_sent_again)
{
	struct stream_config cfg = small_cfg();

	setup_net(&cfg, plain_link(), plain_link(), 32);
	bulk_id = (uint64_t)stream_open(&eps[0].c, 3);
	eps[0].app[bulk_id].total = 200000;
	eps[0].app[bulk_id].finish = 1;
	eps[1].app[bulk_id].slow = 1;
	ck_assert(!run(never, now + 2000, 0));
	ck_assert_uint_eq(eps[0].sent_end[bulk_id], 64 << 10); /* blocked at B's buffer */
	ck_assert_uint_eq(eps[0].c.cc.bytes_in_flight, 0);    /* and all of it acknowledged */
	/* B reads, and its new credit goes into a blackout */
	links[1].cfg.blackout_from = now;
	links[1].cfg.blackout_to = now + 500;
	eps[1].app[bulk_id].slow = 0;
	ck_assert_int_eq(stream_resume(&eps[1].c, bulk_id), 0);
	ck_assert(!run(never, now + 400, 0));
	ck_assert_uint_gt(links[1].lost, 0);
	ck_assert_uint_eq(eps[0].sent_end[bulk_id], 64 << 10);
	ck_assert(run(bulk_done, now + 60000, 0));
	ck_assert_uint_eq(eps[1].app[bulk_id].got, 200000);
	teardown_net();
}
END_TEST

/* ---- reset and stop ---- */

static int reset_done(void)
{
	return eps[0].app[0].closed && eps[1].app[0].closed && eps[0].app[2].closed &&
	       eps[1].app[2].closed && eps[1].app[4].fin;
}

START_TEST(reset_and_stop)
{
	struct stream_config cfg = small_cfg();
	struct linkcfg l = bulk_link(30);

	setup_net(&cfg, l, l, 41);
	ck_assert_int_eq(stream_open(&eps[0].c, 3), 0);
	ck_assert_int_eq(stream_open(&eps[0].c, 3), 2);
	ck_assert_int_eq(stream_open(&eps[0].c, 3), 4);
	eps[0].app[0].total = eps[0].app[2].total = eps[0].app[4].total = 1 << 20;
	eps[0].app[4].finish = 1;
	ck_assert(!run(reset_done, now + 300, 0));
	ck_assert(eps[1].app[0].opened && eps[1].app[2].opened);
	/* B has nothing to say on 0 and 2: it ends its halves */
	eps[1].app[0].finish = eps[1].app[2].finish = 1;
	/* A abandons stream 0; B asks A to stop stream 2 */
	ck_assert_int_eq(stream_reset(&eps[0].c, 0, 42), 0);
	ck_assert_int_eq(stream_reset(&eps[0].c, 0, 42), STREAM_ESTATE);
	ck_assert_int_eq(stream_write(&eps[0].c, 0, (const uint8_t *)"x", 1), STREAM_ESTATE);
	eps[0].app[0].total = eps[0].app[0].written; /* the writer gives up too */
	ck_assert_int_eq(stream_stop(&eps[1].c, 2, 7), 0);
	ck_assert(run(reset_done, now + 60000, 0));
	ck_assert(eps[1].app[0].reset);
	ck_assert_uint_eq(eps[1].app[0].reset_code, 42);
	ck_assert(!eps[1].app[0].fin);
	ck_assert(eps[0].app[2].stopped);
	ck_assert_uint_eq(eps[0].app[2].stop_code, 7);
	ck_assert(eps[1].app[2].reset); /* A answered STOP_SENDING with RESET_STREAM */
	ck_assert_uint_eq(eps[1].app[2].reset_code, 7);
	ck_assert_uint_lt(eps[1].app[0].got, 1 << 20);
	/* stream 4 was never touched */
	ck_assert_uint_eq(eps[1].app[4].got, 1 << 20);
	/* every byte of credit came back: the connection can carry a whole window again */
	ck_assert_uint_eq(eps[1].c.rcv_consumed, eps[1].c.rcv_total);
	teardown_net();
}
END_TEST

/* ---- a peer that breaks the rules ---- */

static uint8_t hand[STREAM_PKT_MAX];
static size_t hand_len;

/* Starts a hand-made packet numbered pn. */
static void hand_start(uint64_t pn)
{
	hand[0] = 0x80; /* a 4-byte number, so any fits */
	hand[1] = (uint8_t)(pn >> 16);
	hand[2] = (uint8_t)(pn >> 8);
	hand[3] = (uint8_t)pn;
	hand_len = 4;
}

static void hand_frame(const struct stream_frame *f)
{
	int n = stream_frame_encode(hand + hand_len, sizeof(hand) - hand_len, f);

	ck_assert_int_gt(n, 0);
	hand_len += (size_t)n;
}

static void hand_stream(uint64_t id, uint64_t off, size_t len, int fin)
{
	uint8_t data[1100];
	struct stream_frame f;
	size_t i;

	ck_assert_uint_le(len, sizeof(data));
	for (i = 0; i < len; i++)
		data[i] = pattern(id, off + i);
	memset(&f, 0, sizeof(f));
	f.type = fin ? STREAM_F_STREAM_FIN : STREAM_F_STREAM;
	f.id = id;
	f.offset = off;
	f.len = len;
	f.data = data;
	hand_frame(&f);
}

/* Delivers the hand-made packet to B (role 1: its peer's streams are even). */
static int hand_send(void)
{
	return stream_on_packet(&eps[1].c, hand, hand_len, now);
}

/*
 * rule_breakers: B is sent data up to a stream's initial credit, then past
 * the credit it raised: a connection error, and the connection is dead.
 */
static void break_credit(const struct stream_config *cfg)
{
	struct stream_frame f;
	uint64_t off;

	setup_net(cfg, plain_link(), plain_link(), 51);
	for (off = 0; off < STREAM_INITIAL_WINDOW; off += 1000) {
		hand_start(off / 1000);
		hand_stream(0, off, off + 1000 > STREAM_INITIAL_WINDOW ? STREAM_INITIAL_WINDOW - off : 1000, 0);
		ck_assert_int_eq(hand_send(), 0);
	}
	/* (B's app read it all, and B raised the credit to its buffer; go past that) */
	hand_start(100);
	hand_stream(0, 64 << 10, 1, 0);
	ck_assert_int_eq(hand_send(), STREAM_EFLOW);
	ck_assert_int_eq(eps[1].c.error, STREAM_EFLOW);
	hand_start(101);
	f = (struct stream_frame){ .type = STREAM_F_PING };
	hand_frame(&f);
	ck_assert_int_eq(hand_send(), STREAM_ECLOSED); /* the connection is dead */
	ck_assert_int_eq(stream_open(&eps[1].c, 0), STREAM_ECLOSED);
	ck_assert_int_eq(stream_tick(&eps[1].c, now), INT64_MAX);
	teardown_net();
}

/*
 * break_final_size: B (its application slow to read) takes bytes 0..len of
 * stream 0 in packet 0, with FIN when fin; packet 1 is begun, for the case.
 */
static void final_size_start(const struct stream_config *cfg, uint64_t seed, size_t len, int fin)
{
	setup_net(cfg, plain_link(), plain_link(), seed);
	eps[1].app[0].slow = 1;
	hand_start(0);
	hand_stream(0, 0, len, fin);
	ck_assert_int_eq(hand_send(), 0);
	hand_start(1);
}

/*
 * rule_breakers: a final size that moves: data past a FIN, a second FIN
 * elsewhere, a RESET that disagrees.
 */
static void break_final_size(const struct stream_config *cfg)
{
	struct stream_frame f;

	final_size_start(cfg, 55, 100, 1);
	hand_stream(0, 100, 1, 0);
	ck_assert_int_eq(hand_send(), STREAM_EFINAL);
	teardown_net();
	final_size_start(cfg, 56, 100, 0);
	hand_stream(0, 0, 50, 1); /* a FIN below bytes already received */
	ck_assert_int_eq(hand_send(), STREAM_EFINAL);
	teardown_net();
	final_size_start(cfg, 57, 100, 1);
	memset(&f, 0, sizeof(f));
	f.type = STREAM_F_RESET;
	f.final_size = 99;
	hand_frame(&f);
	ck_assert_int_eq(hand_send(), STREAM_EFINAL);
	teardown_net();
}

START_TEST(rule_breakers)
{
	struct stream_config cfg = small_cfg();
	struct stream_frame f;

	/* past a stream's initial credit */
	break_credit(&cfg);

	/* an ACK of a packet never sent */
	setup_net(&cfg, plain_link(), plain_link(), 52);
	hand_start(0);
	memset(&f, 0, sizeof(f));
	f.type = STREAM_F_ACK;
	f.nranges = 1;
	f.ranges[0] = (struct cc_range){ 0, 3 };
	hand_frame(&f);
	ck_assert_int_eq(hand_send(), STREAM_EPROTO);
	teardown_net();

	/* a stream of B's own it never opened (odd ids are B's) */
	setup_net(&cfg, plain_link(), plain_link(), 53);
	hand_start(0);
	hand_stream(1, 0, 10, 0);
	ck_assert_int_eq(hand_send(), STREAM_EPROTO);
	teardown_net();

	/* more streams than B allowed: 16 (its max_streams), so id 2 * 16 is one too many */
	setup_net(&cfg, plain_link(), plain_link(), 54);
	hand_start(0);
	hand_stream(2 * 15, 0, 10, 0);
	ck_assert_int_eq(hand_send(), 0);
	ck_assert_uint_eq(eps[1].app[0].opened + eps[1].app[2 * 15].opened, 2); /* and all below it */
	hand_start(1);
	hand_stream(2 * 16, 0, 10, 0);
	ck_assert_int_eq(hand_send(), STREAM_ELIMIT);
	teardown_net();

	/* a final size that moves */
	break_final_size(&cfg);
}
END_TEST

START_TEST(malformed_and_duplicate_packets)
{
	struct stream_config cfg = small_cfg();
	size_t cut;

	setup_net(&cfg, plain_link(), plain_link(), 61);
	hand_start(5);
	hand_stream(0, 0, 300, 0);
	/* every truncation inside the frame: refused whole, nothing taken, nothing owed */
	for (cut = 4; cut < hand_len; cut++) {
		if (cut == 4)
			continue; /* a number and no frame */
		ck_assert_int_lt(stream_on_packet(&eps[1].c, hand, cut, now), 0);
	}
	ck_assert_int_lt(stream_on_packet(&eps[1].c, hand, 4, now), 0);
	ck_assert_uint_eq(eps[1].c.stats.pkts_malformed, hand_len - 4);
	ck_assert(!eps[1].app[0].opened);
	ck_assert_int_eq(eps[1].c.ack_deadline_ms, INT64_MAX);
	ck_assert_int_eq(eps[1].c.error, 0);
	/* the whole one goes in; its copy is a duplicate */
	ck_assert_int_eq(hand_send(), 0);
	ck_assert_uint_eq(eps[1].app[0].got, 300);
	ck_assert_int_eq(hand_send(), 0);
	ck_assert_uint_eq(eps[1].c.stats.pkts_dup, 1);
	ck_assert_uint_eq(eps[1].app[0].got, 300);
	/* out of order (5 was the first seen, so 7 leaves a gap): the ACK is due at once */
	eps[1].c.ack_deadline_ms = INT64_MAX;
	hand_start(7);
	hand_stream(0, 300, 10, 0);
	ck_assert_int_eq(hand_send(), 0);
	ck_assert_int_eq(eps[1].c.ack_deadline_ms, now);
	teardown_net();
}
END_TEST

/* ---- a smaller packet budget mid-transfer (a move to the relay) ---- */

START_TEST(budget_shrinks_mid_transfer)
{
	struct stream_config cfg = small_cfg();
	struct linkcfg l = bulk_link(50);

	setup_net(&cfg, l, l, 71);
	bulk_id = (uint64_t)stream_open(&eps[0].c, 3);
	eps[0].app[bulk_id].total = 1 << 20;
	eps[0].app[bulk_id].finish = 1;
	ck_assert(!run(bulk_done, now + 500, 0));
	ck_assert_uint_eq(eps[0].max_pkt_seen, STREAM_PKT_MAX);
	ck_assert_int_eq(stream_set_pkt_max(&eps[0].c, PROTO_PAYLOAD_MAX - STREAM_SEAL_OVERHEAD), 0);
	ck_assert_int_eq(stream_set_pkt_max(&eps[0].c, STREAM_PKT_MIN - 1), STREAM_EINVAL);
	ck_assert_int_eq(stream_set_pkt_max(&eps[0].c, STREAM_PKT_MAX + 1), STREAM_EINVAL);
	/* from now on every packet (resent data included) fits the relay */
	eps[0].pkt_limit = PROTO_PAYLOAD_MAX - STREAM_SEAL_OVERHEAD;
	ck_assert(run(bulk_done, now + 120000, 0));
	ck_assert_uint_eq(eps[1].app[bulk_id].got, 1 << 20);
	ck_assert_uint_gt(eps[0].c.stats.bytes_resent, 0);
	teardown_net();
}
END_TEST

/* ---- the relay's rate, then a direct path ---- */

static uint64_t got_goal;

static int got_enough(void)
{
	return eps[1].app[bulk_id].got >= got_goal;
}

START_TEST(relay_then_direct)
{
	struct stream_config cfg = small_cfg();
	int64_t t0, relay_ms, direct_ms;

	setup_net(&cfg, plain_link(), plain_link(), 75);
	/* the relay: its packet budget and 100 kB/s */
	ck_assert_int_eq(stream_new_path(&eps[0].c, PROTO_PAYLOAD_MAX - STREAM_SEAL_OVERHEAD, 100000, now), 0);
	ck_assert_int_eq(stream_new_path(&eps[0].c, 100, 0, now), STREAM_EINVAL);
	eps[0].pkt_limit = PROTO_PAYLOAD_MAX - STREAM_SEAL_OVERHEAD;
	bulk_id = (uint64_t)stream_open(&eps[0].c, 3);
	eps[0].app[bulk_id].total = 1 << 20;
	eps[0].app[bulk_id].finish = 1;
	t0 = now;
	got_goal = 300000;
	ck_assert(run(got_enough, now + 60000, 0));
	relay_ms = now - t0;
	/* 300 kB at 100 kB/s (less the headers): about 3 s, never much faster */
	ck_assert_int_ge(relay_ms, 2900);
	ck_assert_int_le(relay_ms, 3600);
	/* a direct path appears: the same stream goes on, at the path's own pace */
	ck_assert_int_eq(stream_new_path(&eps[0].c, STREAM_PKT_MAX, 0, now), 0);
	eps[0].pkt_limit = STREAM_PKT_MAX;
	t0 = now;
	ck_assert(run(bulk_done, now + 60000, 0));
	direct_ms = now - t0;
	ck_assert_uint_eq(eps[1].app[bulk_id].got, 1 << 20);
	printf("relay capped at 100 kB/s: 300000 bytes in %lld ms; then direct: the other %d in %lld ms\n",
	       (long long)relay_ms, (1 << 20) - 300000, (long long)direct_ms);
	ck_assert_int_lt(direct_ms, relay_ms);
	teardown_net();
}
END_TEST

/* ---- the scheduler: urgency first, then round robin ---- */

static int urgent_done(void)
{
	return eps[1].app[4].fin;
}

static int one_bulk_done(void)
{
	return eps[1].app[0].fin || eps[1].app[2].fin;
}

START_TEST(urgency_then_round_robin)
{
	struct stream_config cfg;
	uint64_t first, other;

	stream_config_default(&cfg);
	setup_net(&cfg, bulk_link(0), bulk_link(0), 77);
	ck_assert_int_eq(stream_open(&eps[0].c, 3), 0);
	ck_assert_int_eq(stream_open(&eps[0].c, 3), 2);
	ck_assert_int_eq(stream_open(&eps[0].c, 1), 4);
	ck_assert_int_eq(stream_open(&eps[0].c, STREAM_URGENCY_LEVELS), STREAM_EINVAL);
	eps[0].app[0].total = eps[0].app[2].total = eps[0].app[4].total = 1 << 20;
	eps[0].app[0].finish = eps[0].app[2].finish = eps[0].app[4].finish = 1;
	/* the urgent stream goes first, whole */
	ck_assert(run(urgent_done, now + 60000, 0));
	printf("urgency 1 beside two of urgency 3: done when they had %llu and %llu bytes\n",
	       (unsigned long long)eps[1].app[0].got, (unsigned long long)eps[1].app[2].got);
	/*
	 * The others get nothing while the urgent stream has anything to send;
	 * once its last bytes are in flight the scheduler does not idle, and
	 * they use the window that is left until those are acknowledged.
	 */
	ck_assert_uint_lt(eps[1].app[0].got + eps[1].app[2].got, (1 << 20) / 10);
	/* the two of equal urgency share: when one ends, the other is nearly there */
	ck_assert(run(one_bulk_done, now + 60000, 0));
	first = eps[1].app[0].fin ? eps[1].app[0].got : eps[1].app[2].got;
	other = eps[1].app[0].fin ? eps[1].app[2].got : eps[1].app[0].got;
	printf("round robin: when one had all %llu bytes, the other had %llu\n", (unsigned long long)first,
	       (unsigned long long)other);
	ck_assert_uint_gt(other, first * 9 / 10);
	ck_assert_int_eq(stream_set_urgency(&eps[0].c, 0, 0), 0);
	ck_assert_int_eq(stream_set_urgency(&eps[0].c, 0, 8), STREAM_EINVAL);
	ck_assert_int_eq(stream_set_urgency(&eps[0].c, 99, 0), STREAM_ENOSTREAM);
	teardown_net();
}
END_TEST

/* ---- a blackout: PTOs, then persistent congestion ---- */

static int persistent_seen(void)
{
	return eps[0].c.cc.n_persistent > 0;
}

START_TEST(blackout_collapses_window)
{
	struct stream_config cfg = small_cfg();
	struct linkcfg l = bulk_link(0);
	uint64_t cwnd_before;

	l.blackout_from = 1000 + 1000;
	l.blackout_to = 1000 + 4000;
	setup_net(&cfg, l, bulk_link(0), 81);
	bulk_id = (uint64_t)stream_open(&eps[0].c, 3);
	eps[0].app[bulk_id].total = 4 << 20;
	eps[0].app[bulk_id].finish = 1;
	ck_assert(!run(bulk_done, 1000 + 1000, 0));
	cwnd_before = eps[0].c.cc.cwnd;
	ck_assert_uint_gt(cwnd_before, 10 * STREAM_PKT_MAX); /* slow start grew it */
	ck_assert(!run(bulk_done, 1000 + 4000, 0));
	ck_assert_uint_ge(eps[0].c.cc.n_pto, 2);   /* probes went out, into the void, backing off */
	ck_assert_uint_eq(eps[0].c.cc.n_persistent, 0); /* nothing is declared lost before an ACK */
	/* the first ACK after the blackout (of a probe, once the backed-off PTO fires) condemns everything sent in it */
	ck_assert(run(persistent_seen, now + 30000, 0));
	ck_assert_uint_eq(eps[0].c.cc.n_persistent, 1);
	ck_assert_uint_eq(eps[0].c.cc.cwnd, 2 * STREAM_PKT_MAX); /* kMinimumWindow */
	ck_assert(run(bulk_done, now + 120000, 0));
	ck_assert_uint_eq(eps[1].app[bulk_id].got, 4 << 20);
	teardown_net();
}
END_TEST

static int some_arrived(void)
{
	return eps[1].app[bulk_id].got >= 200000;
}

static int cc_full(void)
{
	return eps[0].c.cc.count == CC_SENT_MAX;
}

/*
 * CC_SENT_MAX packets in flight, every one lost (a blackout): cc can
 * remember no probe, yet one must go, or nothing ever comes back. The
 * probe goes as a PING cc does not keep; its ACK condemns the rest, and
 * the transfer ends. Held back, the sender was silent for good.
 */
START_TEST(probe_goes_when_cc_is_full)
{
	struct stream_config cfg;

	stream_config_default(&cfg);
	setup_net(&cfg, plain_link(), plain_link(), 91);
	bulk_id = (uint64_t)stream_open(&eps[0].c, 3);
	eps[0].app[bulk_id].total = 8 << 20;
	eps[0].app[bulk_id].finish = 1;
	ck_assert(run(some_arrived, now + 10000, 0)); /* B gave its credit: 8 MiB */
	links[0].cfg.blackout_from = now;
	links[0].cfg.blackout_to = now + 3000;
	ck_assert(!run(never, now + 30, 0)); /* the last ACKs from before are in */
	/* a window beyond what cc remembers: as a fast, long path's is */
	eps[0].c.cc.cwnd = 64 << 20;
	eps[0].c.cc.inflight_hi = UINT64_MAX;
	ck_assert(run(cc_full, now + 2000, 0));
	ck_assert(!run(never, links[0].cfg.blackout_to, 0));
	ck_assert_uint_eq(eps[0].c.cc.count, CC_SENT_MAX);
	ck_assert(run(bulk_done, now + 60000, 0));
	ck_assert_uint_eq(eps[1].app[bulk_id].got, 8 << 20);
	ck_assert_uint_gt(eps[0].c.stats.probes, 0);
	teardown_net();
}
END_TEST

static Suite *stream_suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("wire");
	TCase *net = tcase_create("net");
	TCase *bulk16 = tcase_create("bulk16");

	tcase_add_test(tc, frames_round_trip);
	tcase_add_test(tc, frames_refused);
	tcase_add_test(tc, packets_checked);
	suite_add_tcase(s, tc);
	tcase_set_timeout(net, 120);
	tcase_add_test(net, one_stream_both_ways);
	tcase_add_test(net, many_streams_no_loss);
	tcase_add_test(net, many_streams_5pct_loss);
	tcase_add_test(net, many_streams_20pct_loss);
	tcase_add_test(net, bulk_5pct_loss);
	tcase_add_test(net, bulk_20pct_loss);
	tcase_add_test(net, receiver_measures_rtt);
	tcase_add_test(net, reordering_is_not_loss);
	tcase_add_test(net, slow_reader_stalls_one_stream);
	tcase_add_test(net, lost_credit_is_sent_again);
	tcase_add_test(net, reset_and_stop);
	tcase_add_test(net, rule_breakers);
	tcase_add_test(net, malformed_and_duplicate_packets);
	tcase_add_test(net, budget_shrinks_mid_transfer);
	tcase_add_test(net, blackout_collapses_window);
	tcase_add_test(net, probe_goes_when_cc_is_full);
	tcase_add_test(net, relay_then_direct);
	tcase_add_test(net, urgency_then_round_robin);
	suite_add_tcase(s, net);
	tcase_set_timeout(bulk16, 120);
	tcase_add_test(bulk16, bulk_16mb_with_chat);
	suite_add_tcase(s, bulk16);
	return s;
}

int main(void)
{
	return harness_run(stream_suite());
}
