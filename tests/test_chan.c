/* test_chan.c - unit tests of the reliable peer channel over a simulated lossy network. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "chan.h"
#include "harness.h"

/*
 * Two peers, A (0) and B (1), wired through a simulated network: every
 * DATA and ACK becomes a packet with an arrival time. A seeded PRNG of our
 * own drops, duplicates and delays (so reorders) packets; a fake clock
 * jumps to the next deadline. Same seed, same run.
 */

#define LOG_MAX 8       /* lines and failures a peer remembers for the small tests */
#define NET_MAX 4096    /* packets in the air at once; far more than two windows need */
#define STEPS_MAX 2000000L /* bound on any simulation loop, so a bug cannot hang the test */

struct pkt {
	int to;          /* receiving peer */
	int is_ack;
	int64_t at_ms;   /* arrival time */
	uint32_t seq;    /* DATA */
	uint8_t flags;
	uint16_t len;
	char text[PROTO_FRAG_MAX];
	uint32_t ack, sack; /* ACK */
};

struct line {
	uint8_t flags;
	size_t len;
	char text[PROTO_LINE_MAX];
};

struct peer {
	int id;
	struct chan ch;
	struct chan_io io;

	/* stream mode: lines are made by make_line() and checked on arrival */
	int stream;
	uint32_t total;      /* lines each way in stream mode */
	uint32_t nqueued;

	uint32_t nrecv;      /* lines delivered to this peer */
	struct line got[LOG_MAX];
	uint32_t ndelivered; /* delivered() callbacks */
	uint32_t delivered_id[LOG_MAX];
	uint32_t nfailed;
	struct line failed[LOG_MAX];
	uint32_t failed_id[LOG_MAX];

	uint32_t ndata_sent, nacks_sent;
	uint32_t last_sent_seq;
	uint32_t last_ack, last_sack;
};

static struct peer peers[2];
static struct pkt net[NET_MAX];
static size_t net_len;
static int64_t now_ms;
static struct rng32 rng; /* xorshift32: small, and the same on every platform */
static unsigned loss_pct, dup_pct;
static int64_t delay_min_ms, delay_max_ms;
static uint32_t net_dropped, net_duplicated;

/* Puts a packet in the air, or loses it, or sends it twice. */
static void net_send(const struct pkt *p)
{
	int copies = 1, i;

	if (rng32_next(&rng) % 100 < loss_pct) {
		net_dropped++;
		return;
	}
	if (rng32_next(&rng) % 100 < dup_pct) {
		copies = 2;
		net_duplicated++;
	}
	for (i = 0; i < copies; i++) {
		ck_assert_uint_lt(net_len, NET_MAX);
		net[net_len] = *p;
		net[net_len].at_ms = now_ms + delay_min_ms +
				     (int64_t)(rng32_next(&rng) % (uint32_t)(delay_max_ms - delay_min_ms + 1));
		net_len++;
	}
}

static void io_send_data(void *ctx, uint32_t seq, uint8_t flags, const char *text, size_t len)
{
	struct peer *p = ctx;
	struct pkt k;

	ck_assert_uint_le(len, PROTO_FRAG_MAX);
	memset(&k, 0, sizeof(k));
	k.to = 1 - p->id;
	k.seq = seq;
	k.flags = flags;
	k.len = (uint16_t)len;
	memcpy(k.text, text, len);
	p->ndata_sent++;
	p->last_sent_seq = seq;
	net_send(&k);
}

static void io_send_ack(void *ctx, uint32_t next_expected, uint32_t sack)
{
	struct peer *p = ctx;
	struct pkt k;

	memset(&k, 0, sizeof(k));
	k.to = 1 - p->id;
	k.is_ack = 1;
	k.ack = next_expected;
	k.sack = sack;
	p->nacks_sent++;
	p->last_ack = next_expected;
	p->last_sack = sack;
	net_send(&k);
}

/* Line i of the stream from peer `from`: lengths 1..4096, some of them /me lines. */
static size_t make_line(int from, uint32_t i, char *buf, uint8_t *flags)
{
	uint32_t h = (i + 1) * 2654435761u ^ (uint32_t)from * 40503u;
	size_t len, k;
	int n;

	h ^= h >> 15;
	len = h % 8 == 0 ? 1 + h % PROTO_LINE_MAX : 1 + h % 120;
	*flags = i % 7 == 3 ? PROTO_DATA_ACTION : 0;
	for (k = 0; k < len; k++)
		buf[k] = (char)('a' + (i + k * 7 + (uint32_t)from) % 26);
	n = snprintf(buf, len, "%c%u", 'A' + from, i); /* a readable start, when there is room */
	if (n > 0 && (size_t)n < len)
		buf[n] = ' ';
	return len;
}

static void io_deliver(void *ctx, uint8_t flags, const char *text, size_t len)
{
	struct peer *p = ctx;

	if (p->stream) {
		char want[PROTO_LINE_MAX];
		uint8_t want_flags;
		size_t want_len;

		ck_assert_uint_lt(p->nrecv, p->total); /* never more lines than were sent */
		want_len = make_line(1 - p->id, p->nrecv, want, &want_flags);
		ck_assert_uint_eq(flags, want_flags);
		ck_assert_uint_eq(len, want_len);
		ck_assert_mem_eq(text, want, len);
	} else if (p->nrecv < LOG_MAX) {
		p->got[p->nrecv].flags = flags;
		p->got[p->nrecv].len = len;
		memcpy(p->got[p->nrecv].text, text, len);
	}
	p->nrecv++;
}

static void io_delivered(void *ctx, uint32_t msg_id)
{
	struct peer *p = ctx;

	/* ids are handed out 1, 2, 3... and lines are acknowledged in order */
	ck_assert_uint_eq(msg_id, p->ndelivered + 1);
	if (p->ndelivered < LOG_MAX)
		p->delivered_id[p->ndelivered] = msg_id;
	p->ndelivered++;
}

static void io_failed(void *ctx, uint32_t msg_id, uint8_t flags, const char *text, size_t len)
{
	struct peer *p = ctx;

	ck_assert_uint_le(len, PROTO_FRAG_MAX);
	if (p->nfailed < LOG_MAX) {
		p->failed_id[p->nfailed] = msg_id;
		p->failed[p->nfailed].flags = flags;
		p->failed[p->nfailed].len = len;
		memcpy(p->failed[p->nfailed].text, text, len);
	}
	p->nfailed++;
}

/* A fresh pair of peers and a perfect network with a 10 ms delay. */
static void setup(void)
{
	int i;

	memset(peers, 0, sizeof(peers));
	for (i = 0; i < 2; i++) {
		struct peer *p = &peers[i];

		p->id = i;
		chan_init(&p->ch);
		p->io.ctx = p;
		p->io.send_data = io_send_data;
		p->io.send_ack = io_send_ack;
		p->io.deliver = io_deliver;
		p->io.delivered = io_delivered;
		p->io.failed = io_failed;
	}
	net_len = 0;
	now_ms = 1000;
	rng.s = 0x2545f491;
	loss_pct = 0;
	dup_pct = 0;
	delay_min_ms = 10;
	delay_max_ms = 10;
	net_dropped = 0;
	net_duplicated = 0;
}

static void deliver_pkt(const struct pkt *k)
{
	struct peer *p = &peers[k->to];

	if (k->is_ack)
		chan_on_ack(&p->ch, k->ack, k->sack, now_ms, &p->io);
	else
		chan_on_data(&p->ch, k->seq, k->flags, k->text, k->len, &p->io);
}

/* Returns when the next packet lands, or INT64_MAX when none is in the air. */
static int64_t net_next(void)
{
	int64_t next = INT64_MAX;
	size_t i;

	for (i = 0; i < net_len; i++)
		if (net[i].at_ms < next)
			next = net[i].at_ms;
	return next;
}

/* Hands over every packet due by now, earliest first. */
static void net_deliver_due(void)
{
	for (;;) {
		size_t i, best = net_len;
		struct pkt k;

		for (i = 0; i < net_len; i++)
			if (net[i].at_ms <= now_ms && (best == net_len || net[i].at_ms < net[best].at_ms))
				best = i;
		if (best == net_len)
			return;
		k = net[best];
		memmove(&net[best], &net[best + 1], (net_len - best - 1) * sizeof(net[0]));
		net_len--;
		deliver_pkt(&k); /* may send more packets */
	}
}

/* One turn: both peers tick, the clock jumps to the next event, packets land. 0: all idle. */
static int step(void)
{
	int64_t next = INT64_MAX;
	int i;

	for (i = 0; i < 2; i++) {
		int64_t t = chan_tick(&peers[i].ch, now_ms, &peers[i].io);

		ck_assert_int_ge(t, now_ms); /* a deadline in the past would spin the owner's loop */
		if (t < next)
			next = t;
	}
	if (net_next() < next)
		next = net_next(); /* after the ticks: they may have sent */
	if (next == INT64_MAX)
		return 0;
	if (next > now_ms)
		now_ms = next;
	net_deliver_due();
	return 1;
}

/* Runs until nothing is queued and nothing is in the air. */
static void settle(void)
{
	long n;

	for (n = 0; n < STEPS_MAX; n++)
		if (!step())
			return;
	ck_abort_msg("the channel did not settle in %ld steps", STEPS_MAX);
}

/* Queues as many stream lines as the channel takes. */
static void feed(struct peer *p)
{
	char buf[PROTO_LINE_MAX];
	uint8_t flags;

	while (p->nqueued < p->total) {
		size_t len = make_line(p->id, p->nqueued, buf, &flags);
		uint32_t id = chan_queue(&p->ch, flags, buf, len);

		if (id == 0) {
			ck_assert_uint_lt(chan_room(&p->ch), (len + PROTO_FRAG_MAX - 1) / PROTO_FRAG_MAX);
			return;
		}
		ck_assert_uint_eq(id, p->nqueued + 1);
		p->nqueued++;
	}
}

/* Sends total lines each way at once and checks every one arrived once, in order. */
static void run_stream(uint32_t total)
{
	long n;
	int i;

	for (i = 0; i < 2; i++) {
		peers[i].stream = 1;
		peers[i].total = total;
	}
	for (n = 0; n < STEPS_MAX; n++) {
		feed(&peers[0]);
		feed(&peers[1]);
		if (peers[0].ndelivered == total && peers[1].ndelivered == total)
			break;
		ck_assert_msg(step(), "idle with lines outstanding");
	}
	ck_assert_int_lt(n, STEPS_MAX);
	settle(); /* late duplicates still in the air must not deliver anything */
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(peers[i].nrecv, total);
		ck_assert_uint_eq(peers[i].ndelivered, total);
		ck_assert_uint_eq(chan_pending(&peers[i].ch), 0);
		ck_assert_uint_eq(chan_room(&peers[i].ch), CHAN_QUEUE);
		ck_assert_int_eq(chan_oldest_unacked_ms(&peers[i].ch), -1);
	}
}

static void fill(char *buf, size_t len, char base)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(base + i % 23);
}

START_TEST(test_one_line)
{
	struct peer *a = &peers[0], *b = &peers[1];

	ck_assert_uint_eq(chan_queue(&a->ch, 0, "hello", 5), 1);
	ck_assert_uint_eq(chan_pending(&a->ch), 1);
	ck_assert_uint_eq(chan_room(&a->ch), CHAN_QUEUE - 1);
	ck_assert_int_eq(a->ndata_sent, 0); /* nothing goes before chan_tick */
	settle();
	ck_assert_uint_eq(b->nrecv, 1);
	ck_assert_uint_eq(b->got[0].flags, 0);
	ck_assert_uint_eq(b->got[0].len, 5);
	ck_assert_mem_eq(b->got[0].text, "hello", 5);
	ck_assert_uint_eq(a->ndelivered, 1);
	ck_assert_uint_eq(a->delivered_id[0], 1);
	ck_assert_uint_eq(a->ndata_sent, 1);
	ck_assert_uint_eq(b->nacks_sent, 1);
	ck_assert_uint_eq(b->ndata_sent, 0);
	ck_assert_uint_eq(a->nrecv, 0);
	ck_assert_uint_eq(chan_pending(&a->ch), 0);
	ck_assert_uint_eq(chan_room(&a->ch), CHAN_QUEUE);
	ck_assert_int_eq(chan_tick(&a->ch, now_ms, &a->io), INT64_MAX);
	/* with no RTT sample before it, the one sample sets the estimate: 20 ms round trip */
	ck_assert_int_eq(a->ch.srtt_ms, 20);
}
END_TEST

START_TEST(test_long_line)
{
	static char text[PROTO_LINE_MAX + 1];
	struct peer *a = &peers[0], *b = &peers[1];
	size_t i;

	fill(text, sizeof(text), 'A');
	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, PROTO_LINE_MAX + 1), 0);
	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, 0), 0);
	ck_assert_uint_eq(chan_room(&a->ch), CHAN_QUEUE);
	ck_assert_uint_eq(chan_pending(&a->ch), 0);

	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, PROTO_LINE_MAX), 1);
	ck_assert_uint_eq(chan_room(&a->ch), CHAN_QUEUE - 4);
	ck_assert_int_eq(chan_tick(&a->ch, now_ms, &a->io), now_ms + CHAN_RTO_INIT_MS);
	ck_assert_uint_eq(net_len, 4);
	for (i = 0; i < 4; i++) {
		ck_assert_uint_eq(net[i].seq, i);
		ck_assert_uint_eq(net[i].len, PROTO_FRAG_MAX);
		ck_assert_uint_eq(net[i].flags, i == 3 ? PROTO_DATA_END : 0);
		ck_assert_mem_eq(net[i].text, text + i * PROTO_FRAG_MAX, PROTO_FRAG_MAX);
	}
	settle();
	ck_assert_uint_eq(b->nrecv, 1);
	ck_assert_uint_eq(b->got[0].len, PROTO_LINE_MAX);
	ck_assert_mem_eq(b->got[0].text, text, PROTO_LINE_MAX);
	ck_assert_uint_eq(a->ndelivered, 1);

	/* one byte over a fragment makes two fragments */
	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, PROTO_FRAG_MAX + 1), 2);
	ck_assert_uint_eq(chan_room(&a->ch), CHAN_QUEUE - 2);
	settle();
	ck_assert_uint_eq(b->nrecv, 2);
	ck_assert_uint_eq(b->got[1].len, PROTO_FRAG_MAX + 1);
	ck_assert_mem_eq(b->got[1].text, text, PROTO_FRAG_MAX + 1);
}
END_TEST

START_TEST(test_lossy_both_ways)
{
	loss_pct = 20;
	dup_pct = 10;
	delay_min_ms = 5;
	delay_max_ms = 80; /* spread wide enough to reorder */
	run_stream(1000);
	/* the network really did lose and duplicate, and the channel really did retransmit */
	ck_assert_uint_gt(net_dropped, 100);
	ck_assert_uint_gt(net_duplicated, 50);
	ck_assert_uint_gt(peers[0].ndata_sent, peers[0].ch.next_seq);
	ck_assert_uint_gt(peers[1].ndata_sent, peers[1].ch.next_seq);
}
END_TEST

START_TEST(test_action_flag)
{
	static char text[2000];
	struct peer *a = &peers[0], *b = &peers[1];
	size_t i;

	fill(text, sizeof(text), 'a');
	ck_assert_uint_eq(chan_queue(&a->ch, PROTO_DATA_ACTION, text, sizeof(text)), 1);
	ck_assert_uint_eq(chan_queue(&a->ch, 0, "plain", 5), 2);
	chan_tick(&a->ch, now_ms, &a->io);
	ck_assert_uint_eq(net_len, 3);
	ck_assert_uint_eq(net[0].flags, PROTO_DATA_ACTION);
	ck_assert_uint_eq(net[1].flags, PROTO_DATA_ACTION | PROTO_DATA_END);
	ck_assert_uint_eq(net[2].flags, PROTO_DATA_END);
	settle();
	ck_assert_uint_eq(b->nrecv, 2);
	ck_assert_uint_eq(b->got[0].flags, PROTO_DATA_ACTION); /* END belongs to fragments */
	ck_assert_uint_eq(b->got[0].len, sizeof(text));
	ck_assert_mem_eq(b->got[0].text, text, sizeof(text));
	ck_assert_uint_eq(b->got[1].flags, 0);
	for (i = 0; i < 2; i++)
		ck_assert_uint_eq(a->delivered_id[i], i + 1);
}
END_TEST

START_TEST(test_queue_full)
{
	static char text[PROTO_LINE_MAX];
	struct peer *a = &peers[0], *b = &peers[1];
	uint32_t i, id = 0;
	long n;

	fill(text, sizeof(text), 'k');
	/* 31 lines of 4 fragments and 3 of one: 127 of the 128 slots */
	for (i = 0; i < 31; i++)
		ck_assert_uint_eq(chan_queue(&a->ch, 0, text, PROTO_LINE_MAX), ++id);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(chan_queue(&a->ch, 0, text, 1), ++id);
	ck_assert_uint_eq(chan_room(&a->ch), 1);
	ck_assert_uint_eq(chan_pending(&a->ch), 34);

	/* two fragments do not fit in one slot: nothing at all is queued */
	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, PROTO_FRAG_MAX + 1), 0);
	ck_assert_uint_eq(chan_room(&a->ch), 1);
	ck_assert_uint_eq(chan_pending(&a->ch), 34);
	ck_assert_uint_eq(a->ch.next_seq, 127);
	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, 1), ++id);
	ck_assert_uint_eq(chan_room(&a->ch), 0);
	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, 1), 0);

	/* only a window's worth goes out at first */
	chan_tick(&a->ch, now_ms, &a->io);
	ck_assert_uint_eq(a->ndata_sent, CHAN_WINDOW);

	/* acknowledgements make room again */
	for (n = 0; n < STEPS_MAX && chan_room(&a->ch) < 2; n++)
		ck_assert(step());
	ck_assert_uint_ge(chan_room(&a->ch), 2);
	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, PROTO_FRAG_MAX + 1), ++id);
	settle();
	ck_assert_uint_eq(b->nrecv, id);
	ck_assert_uint_eq(a->ndelivered, id);
	ck_assert_uint_eq(chan_room(&a->ch), CHAN_QUEUE);
}
END_TEST

START_TEST(test_karn_and_backoff)
{
	/* each retransmission doubles the timeout: 500, 1000, 2000, 4000, then 4000 at the cap */
	static const int64_t due[] = { 1500, 3500, 7500, 11500, 15500 };
	struct peer *a = &peers[0];
	struct chan *c = &a->ch;
	size_t i;

	now_ms = 0;
	ck_assert_uint_eq(chan_queue(c, 0, "x", 1), 1);
	ck_assert_int_eq(chan_tick(c, 0, &a->io), CHAN_RTO_INIT_MS);
	ck_assert_int_eq(chan_oldest_unacked_ms(c), 0);
	ck_assert_int_eq(chan_tick(c, 499, &a->io), 500);
	ck_assert_uint_eq(a->ndata_sent, 1);
	ck_assert_int_eq(chan_tick(c, 500, &a->io), due[0]);
	ck_assert_uint_eq(a->ndata_sent, 2);
	for (i = 1; i < sizeof(due) / sizeof(due[0]); i++) {
		ck_assert_int_eq(chan_tick(c, due[i - 1], &a->io), due[i]);
		ck_assert_uint_eq(a->ndata_sent, i + 2);
	}
	ck_assert_int_eq(chan_oldest_unacked_ms(c), 0); /* the first transmission counts */

	/* the ACK may answer any of 6 copies: no RTT sample (Karn) */
	chan_on_ack(c, 1, 0, 11510, &a->io);
	ck_assert_uint_eq(a->ndelivered, 1);
	ck_assert_int_eq(c->srtt_ms, -1);
	ck_assert_int_eq(c->rto_ms, CHAN_RTO_INIT_MS);

	/* sent once, acked 80 ms later: SRTT = 80, RTTVAR = 40, RTO = 80 + 4 * 40 */
	ck_assert_uint_eq(chan_queue(c, 0, "y", 1), 2);
	ck_assert_int_eq(chan_tick(c, 20000, &a->io), 20000 + CHAN_RTO_INIT_MS);
	chan_on_ack(c, 2, 0, 20080, &a->io);
	ck_assert_int_eq(c->srtt_ms, 80);
	ck_assert_int_eq(c->rttvar_ms, 40);
	ck_assert_int_eq(c->rto_ms, 240);

	/* new fragments take the new RTO; a retransmitted one gives no sample */
	ck_assert_uint_eq(chan_queue(c, 0, "z", 1), 3);
	ck_assert_int_eq(chan_tick(c, 30000, &a->io), 30240);
	ck_assert_int_eq(chan_tick(c, 30240, &a->io), 30240 + 480);
	chan_on_ack(c, 3, 0, 30250, &a->io);
	ck_assert_uint_eq(a->ndelivered, 3);
	ck_assert_int_eq(c->srtt_ms, 80);
	ck_assert_int_eq(c->rto_ms, 240);

	/* a 10 ms sample: RTTVAR = (3 * 40 + 70) / 4 = 47, SRTT = (7 * 80 + 10) / 8 = 71 */
	ck_assert_uint_eq(chan_queue(c, 0, "w", 1), 4);
	chan_tick(c, 40000, &a->io);
	chan_on_ack(c, 4, 0, 40010, &a->io);
	ck_assert_int_eq(c->rttvar_ms, 47);
	ck_assert_int_eq(c->srtt_ms, 71);
	ck_assert_int_eq(c->rto_ms, 71 + 4 * 47);

	/* instant answers drive the RTO down to its floor, not below */
	for (i = 0; i < 40; i++) {
		ck_assert_uint_ne(chan_queue(c, 0, "v", 1), 0);
		chan_tick(c, 50000, &a->io);
		chan_on_ack(c, c->next_seq, 0, 50000, &a->io);
	}
	ck_assert_int_eq(c->rto_ms, CHAN_RTO_MIN_MS);
	ck_assert_uint_eq(chan_pending(c), 0);

	/* and a slow path drives it to its ceiling, not above */
	chan_init(c);
	a->ndelivered = 0;
	ck_assert_uint_eq(chan_queue(c, 0, "u", 1), 1);
	chan_tick(c, 0, &a->io);
	chan_on_ack(c, 1, 0, 3000, &a->io);
	ck_assert_int_eq(c->srtt_ms, 3000);
	ck_assert_int_eq(c->rto_ms, CHAN_RTO_MAX_MS);
}
END_TEST

/* The i-th fragment the sender holds, oldest first. */
static const struct chan_seg *seg_at_test(const struct chan *c, uint32_t i)
{
	return &c->seg[(c->head + i) % CHAN_QUEUE];
}

/* A fragment with CHAN_DUP_THRESH later ones acknowledged is sent again at once, once. */
START_TEST(test_fast_retransmit)
{
	struct peer *a = &peers[0];
	struct chan *c = &a->ch;
	uint32_t i;

	for (i = 0; i < 6; i++)
		ck_assert_uint_ne(chan_queue(c, 0, "x", 1), 0);
	ck_assert_int_eq(chan_tick(c, 0, &a->io), CHAN_RTO_INIT_MS);
	ck_assert_uint_eq(a->ndata_sent, 6);
	/* 0 is missing and 1, 2 arrived: reordering as much as loss, so wait. */
	chan_on_ack(c, 0, 0x3, 40, &a->io);
	ck_assert_int_eq(chan_tick(c, 40, &a->io), CHAN_RTO_INIT_MS);
	ck_assert_uint_eq(a->ndata_sent, 6);
	/* 1, 2 and 3 arrived: 0 was lost; it goes again now, not at 500 ms. */
	chan_on_ack(c, 0, 0x7, 41, &a->io);
	chan_tick(c, 41, &a->io);
	ck_assert_uint_eq(a->ndata_sent, 7);
	ck_assert_uint_eq(a->last_sent_seq, 0);
	/* Its timer backs off from there, as for any retransmission. */
	ck_assert_int_eq(seg_at_test(c, 0)->next_send_ms, 41 + 2 * CHAN_RTO_INIT_MS);
	/* More ACKs past it do not send it again: the timer has it now. */
	chan_on_ack(c, 0, 0xf, 42, &a->io);
	chan_on_ack(c, 0, 0x1f, 43, &a->io);
	chan_tick(c, 43, &a->io);
	ck_assert_uint_eq(a->ndata_sent, 7);
	/* Once it arrives, everything is acknowledged at once. */
	chan_on_ack(c, 6, 0, 60, &a->io);
	ck_assert_uint_eq(chan_pending(c), 0);
	ck_assert_uint_eq(a->ndelivered, 6);
}
END_TEST

/*
 * The path comes back after a silence (chan_resend_now): the fragments
 * sent and backed off go at once, on a timer from the channel's RTO again;
 * the ones acknowledged, and the ones never sent, are not touched.
 */
START_TEST(test_resend_now)
{
	struct peer *a = &peers[0];
	struct chan *c = &a->ch;

	for (int i = 0; i < 3; i++)
		ck_assert_uint_ne(chan_queue(c, 0, "x", 1), 0);
	ck_assert_int_eq(chan_tick(c, 0, &a->io), CHAN_RTO_INIT_MS);
	chan_on_ack(c, 0, 0x1, 10, &a->io); /* 1 arrived; 0 and 2 did not */
	/* Backed off twice: 0 and 2 are next due at 3500 ms. */
	chan_tick(c, 500, &a->io);
	ck_assert_int_eq(chan_tick(c, 1500, &a->io), 3500);
	ck_assert_uint_eq(a->ndata_sent, 7);
	chan_resend_now(c, 2000);
	/* the ACK gave a sample: RTO 100 ms now, doubled on the retransmission */
	ck_assert_int_eq(c->rto_ms, CHAN_RTO_MIN_MS);
	ck_assert_int_eq(chan_tick(c, 2000, &a->io), 2000 + 2 * CHAN_RTO_MIN_MS);
	ck_assert_uint_eq(a->ndata_sent, 9);
	ck_assert_uint_eq(a->last_sent_seq, 2);
	ck_assert_uint_eq(chan_pending(c), 3);
	/* Nothing in flight: nothing to send. */
	chan_on_ack(c, 3, 0, 2010, &a->io);
	chan_resend_now(c, 2020);
	ck_assert_int_eq(chan_tick(c, 2020, &a->io), INT64_MAX);
	ck_assert_uint_eq(a->ndata_sent, 9);
}
END_TEST

START_TEST(test_ack_never_sent)
{
	struct peer *a = &peers[0];
	struct chan *c = &a->ch;

	ck_assert_uint_eq(chan_queue(c, 0, "hello", 5), 1);
	/* queued but not yet sent: an ACK for it is a lie */
	chan_on_ack(c, 1, 0, now_ms, &a->io);
	ck_assert_uint_eq(a->ndelivered, 0);
	ck_assert_uint_eq(chan_pending(c), 1);

	chan_tick(c, now_ms, &a->io);
	chan_on_ack(c, 2, 0, now_ms, &a->io);          /* cumulative past what was sent */
	chan_on_ack(c, 0, 1, now_ms, &a->io);          /* selective: seq 1, never sent */
	chan_on_ack(c, 0x80000000u, 0, now_ms, &a->io); /* half the sequence space away */
	ck_assert_uint_eq(a->ndelivered, 0);
	ck_assert_uint_eq(chan_pending(c), 1);
	ck_assert_int_eq(c->srtt_ms, -1);

	chan_on_ack(c, 0, 0, now_ms + 5, &a->io);     /* acknowledges nothing */
	ck_assert_uint_eq(chan_pending(c), 1);
	chan_on_ack(c, 1, 0, now_ms + 5, &a->io);
	ck_assert_uint_eq(a->ndelivered, 1);
	ck_assert_uint_eq(chan_pending(c), 0);
	ck_assert_int_eq(c->srtt_ms, 5);
	chan_on_ack(c, 1, 0, now_ms + 6, &a->io);     /* a duplicate ACK changes nothing */
	ck_assert_uint_eq(a->ndelivered, 1);

	/* seq 1 sent, seq 2 queued only: an ACK naming seq 2 or 3 is ignored whole */
	ck_assert_uint_eq(chan_queue(c, 0, "one", 3), 2);
	chan_tick(c, now_ms, &a->io);
	ck_assert_uint_eq(chan_queue(c, 0, "two", 3), 3);
	chan_on_ack(c, 2, 1, now_ms, &a->io); /* bit 0 is seq 3 */
	chan_on_ack(c, 3, 0, now_ms, &a->io);
	ck_assert_uint_eq(a->ndelivered, 1);
	ck_assert_uint_eq(chan_pending(c), 2);
	chan_on_ack(c, 2, 0, now_ms, &a->io);
	ck_assert_uint_eq(a->ndelivered, 2);
}
END_TEST

START_TEST(test_duplicate_data)
{
	struct peer *b = &peers[1];
	struct chan *c = &b->ch;

	chan_on_data(c, 0, PROTO_DATA_END, "hi", 2, &b->io);
	ck_assert_uint_eq(b->nrecv, 1);
	ck_assert_uint_eq(b->nacks_sent, 1);
	ck_assert_uint_eq(b->last_ack, 1);
	ck_assert_uint_eq(b->last_sack, 0);

	/* our ACK was lost, the sender tries again: answer again, deliver nothing */
	chan_on_data(c, 0, PROTO_DATA_END, "hi", 2, &b->io);
	ck_assert_uint_eq(b->nrecv, 1);
	ck_assert_uint_eq(b->nacks_sent, 2);
	ck_assert_uint_eq(b->last_ack, 1);
	ck_assert_uint_eq(b->last_sack, 0);

	/* a duplicate of a buffered fragment does not replace it */
	chan_on_data(c, 2, PROTO_DATA_END, "c", 1, &b->io);
	chan_on_data(c, 2, PROTO_DATA_END, "X", 1, &b->io);
	ck_assert_uint_eq(b->last_ack, 1);
	ck_assert_uint_eq(b->last_sack, 1);
	chan_on_data(c, 1, PROTO_DATA_END, "b", 1, &b->io);
	ck_assert_uint_eq(b->nrecv, 3);
	ck_assert_mem_eq(b->got[2].text, "c", 1);
	ck_assert_uint_eq(b->last_ack, 3);
	ck_assert_uint_eq(b->last_sack, 0);
}
END_TEST

START_TEST(test_data_far_ahead)
{
	struct peer *b = &peers[1];
	struct chan *c = &b->ch;

	/* rcv_next is 0; the window holds 0..31 */
	chan_on_data(c, CHAN_WINDOW, PROTO_DATA_END, "far", 3, &b->io);
	ck_assert_uint_eq(b->nacks_sent, 1);
	ck_assert_uint_eq(b->last_ack, 0);
	ck_assert_uint_eq(b->last_sack, 0);
	chan_on_data(c, CHAN_WINDOW - 1, PROTO_DATA_END, "edge", 4, &b->io);
	ck_assert_uint_eq(b->last_sack, 1u << 30);
	chan_on_data(c, 1, PROTO_DATA_END, "b", 1, &b->io);
	ck_assert_uint_eq(b->last_sack, (1u << 30) | 1u);
	ck_assert_uint_eq(b->nrecv, 0);

	chan_on_data(c, 0, PROTO_DATA_END, "a", 1, &b->io);
	ck_assert_uint_eq(b->nrecv, 2);
	ck_assert_mem_eq(b->got[0].text, "a", 1);
	ck_assert_mem_eq(b->got[1].text, "b", 1);
	ck_assert_uint_eq(b->last_ack, 2);
	ck_assert_uint_eq(b->last_sack, 1u << 28); /* 31 = 2 + 1 + 28 */

	/* the fragment dropped earlier is now in the window and taken when sent again */
	chan_on_data(c, CHAN_WINDOW, PROTO_DATA_END, "far", 3, &b->io);
	ck_assert_uint_eq(b->last_sack, (1u << 28) | (1u << 29));
}
END_TEST

START_TEST(test_line_overflow)
{
	static char text[PROTO_FRAG_MAX];
	struct peer *b = &peers[1];
	uint32_t i;

	/* a peer that ignores the line limit: 1000 bytes, then full fragments, END on the fifth */
	fill(text, sizeof(text), '0');
	chan_on_data(&b->ch, 0, 0, text, 1000, &b->io);
	for (i = 1; i < 4; i++)
		chan_on_data(&b->ch, i, 0, text, sizeof(text), &b->io);
	ck_assert_uint_eq(b->ch.line_overflow, 0);
	chan_on_data(&b->ch, 4, 0, text, sizeof(text), &b->io);
	ck_assert_uint_eq(b->ch.line_overflow, 1);
	ck_assert_uint_eq(b->ch.line_len, PROTO_LINE_MAX);
	ck_assert_uint_eq(b->nrecv, 0);
	chan_on_data(&b->ch, 5, PROTO_DATA_END, text, sizeof(text), &b->io);
	ck_assert_uint_eq(b->nrecv, 1);
	ck_assert_uint_eq(b->ch.line_overflow, 0);
	ck_assert_uint_eq(b->got[0].len, PROTO_LINE_MAX);
	/* what fits of the fifth fragment: 4096 - 1000 - 3 * 1024 = 24 bytes; none of the sixth */
	ck_assert_mem_eq(b->got[0].text + PROTO_LINE_MAX - 24, text, 24);
	/* the next line starts clean */
	chan_on_data(&b->ch, 6, PROTO_DATA_END, "ok", 2, &b->io);
	ck_assert_uint_eq(b->nrecv, 2);
	ck_assert_uint_eq(b->got[1].len, 2);
	ck_assert_mem_eq(b->got[1].text, "ok", 2);
}
END_TEST

START_TEST(test_wrap)
{
	static char text[PROTO_LINE_MAX];
	struct peer *a = &peers[0], *b = &peers[1];
	size_t i;

	/* sender: the four fragments of one line straddle 2^32 */
	fill(text, sizeof(text), 'w');
	a->ch.next_seq = UINT32_MAX - 1;
	ck_assert_uint_eq(chan_queue(&a->ch, 0, text, PROTO_LINE_MAX), 1);
	chan_tick(&a->ch, now_ms, &a->io);
	ck_assert_uint_eq(net_len, 4);
	ck_assert_uint_eq(net[0].seq, UINT32_MAX - 1);
	ck_assert_uint_eq(net[1].seq, UINT32_MAX);
	ck_assert_uint_eq(net[2].seq, 0);
	ck_assert_uint_eq(net[3].seq, 1);
	ck_assert_uint_eq(a->ch.next_seq, 2);
	chan_on_ack(&a->ch, 3, 0, now_ms, &a->io); /* beyond what was sent */
	chan_on_ack(&a->ch, 0, 2, now_ms, &a->io); /* bit 1 is seq 2: never sent */
	ck_assert_uint_eq(chan_pending(&a->ch), 1);
	chan_on_ack(&a->ch, 0, 1, now_ms, &a->io); /* all but seq 0 */
	ck_assert_uint_eq(a->ndelivered, 0);
	ck_assert_uint_eq(a->ch.seg[a->ch.head].acked, 1);
	chan_on_ack(&a->ch, 2, 0, now_ms, &a->io);
	ck_assert_uint_eq(a->ndelivered, 1);
	ck_assert_uint_eq(chan_pending(&a->ch), 0);

	/* receiver: rcv_next at the last sequence number, the next one is 0 */
	b->ch.rcv_next = UINT32_MAX;
	chan_on_data(&b->ch, 0, PROTO_DATA_END, "two", 3, &b->io);
	ck_assert_uint_eq(b->last_ack, UINT32_MAX);
	ck_assert_uint_eq(b->last_sack, 1);
	chan_on_data(&b->ch, UINT32_MAX - 1, PROTO_DATA_END, "old", 3, &b->io); /* a duplicate */
	ck_assert_uint_eq(b->nrecv, 0);
	chan_on_data(&b->ch, UINT32_MAX, PROTO_DATA_END, "one", 3, &b->io);
	ck_assert_uint_eq(b->nrecv, 2);
	ck_assert_mem_eq(b->got[0].text, "one", 3);
	ck_assert_mem_eq(b->got[1].text, "two", 3);
	ck_assert_uint_eq(b->last_ack, 1);
	ck_assert_uint_eq(b->last_sack, 0);

	/* and a lossy stream both ways across the wrap */
	setup();
	for (i = 0; i < 2; i++) {
		peers[i].ch.next_seq = UINT32_MAX - 40;
		peers[1 - i].ch.rcv_next = UINT32_MAX - 40;
	}
	loss_pct = 20;
	dup_pct = 10;
	delay_min_ms = 5;
	delay_max_ms = 80;
	run_stream(200);
	for (i = 0; i < 2; i++) {
		/* at least 200 fragments from UINT32_MAX - 40: wrapped past 0 */
		ck_assert_uint_ge(peers[i].ch.next_seq, 200 - 41);
		ck_assert_uint_lt(peers[i].ch.next_seq, 1000);
		ck_assert_uint_eq(peers[1 - i].ch.rcv_next, peers[i].ch.next_seq);
	}
}
END_TEST

START_TEST(test_restart)
{
	static char l2[2000];
	struct peer *a = &peers[0], *b = &peers[1];
	struct pkt d[4];
	size_t i, nacks;

	fill(l2, sizeof(l2), 'r');
	ck_assert_uint_eq(chan_queue(&a->ch, 0, "first", 5), 1);
	ck_assert_uint_eq(chan_queue(&a->ch, 0, l2, sizeof(l2)), 2); /* seq 1, 2 */
	ck_assert_uint_eq(chan_queue(&a->ch, 0, "third", 5), 3);     /* seq 3 */
	chan_tick(&a->ch, now_ms, &a->io);
	ck_assert_uint_eq(net_len, 4);
	memcpy(d, net, sizeof(d));
	net_len = 0;

	/* seq 2 is lost: B shows line 1, holds half of line 2 and all of line 3 */
	now_ms += 10;
	deliver_pkt(&d[0]);
	deliver_pkt(&d[1]);
	deliver_pkt(&d[3]);
	ck_assert_uint_eq(b->nrecv, 1);
	ck_assert_uint_eq(b->ch.line_len, PROTO_FRAG_MAX);
	nacks = net_len;
	ck_assert_uint_eq(nacks, 3);
	memcpy(d, net, nacks * sizeof(net[0]));
	net_len = 0;
	now_ms += 10;
	for (i = 0; i < nacks; i++)
		deliver_pkt(&d[i]);
	ck_assert_uint_eq(a->ndelivered, 1);
	ck_assert_uint_eq(chan_pending(&a->ch), 2);

	/* a new epoch both ways: everything not wholly acknowledged goes again, from 0 */
	chan_restart_send(&a->ch);
	chan_restart_recv(&b->ch);
	ck_assert_uint_eq(a->ch.next_seq, 3);
	ck_assert_int_eq(chan_oldest_unacked_ms(&a->ch), -1);
	ck_assert_uint_eq(b->ch.rcv_next, 0);
	ck_assert_uint_eq(b->ch.line_len, 0);
	now_ms += 10;
	chan_tick(&a->ch, now_ms, &a->io);
	ck_assert_int_eq(chan_oldest_unacked_ms(&a->ch), now_ms); /* a first transmission again */
	ck_assert_uint_eq(net_len, 3);
	for (i = 0; i < 3; i++)
		ck_assert_uint_eq(net[i].seq, i);
	settle();
	ck_assert_uint_eq(b->nrecv, 3);
	ck_assert_uint_eq(b->got[1].len, sizeof(l2));
	ck_assert_mem_eq(b->got[1].text, l2, sizeof(l2));
	ck_assert_uint_eq(b->got[2].len, 5);
	ck_assert_mem_eq(b->got[2].text, "third", 5);
	ck_assert_uint_eq(a->ndelivered, 3);
	ck_assert_uint_eq(a->delivered_id[1], 2);
	ck_assert_uint_eq(a->delivered_id[2], 3);
	ck_assert_uint_eq(chan_pending(&a->ch), 0);
}
END_TEST

START_TEST(test_fail_all)
{
	static char l1[2000];
	struct peer *a = &peers[0];
	struct chan *c = &a->ch;

	fill(l1, sizeof(l1), 'f');
	ck_assert_uint_eq(chan_queue(c, PROTO_DATA_ACTION, l1, sizeof(l1)), 1); /* seq 0, 1 */
	ck_assert_uint_eq(chan_queue(c, 0, "b", 1), 2);                        /* seq 2 */
	ck_assert_uint_eq(chan_queue(c, 0, "c", 1), 3);                        /* seq 3 */
	chan_tick(c, now_ms, &a->io);
	chan_on_ack(c, 1, 1u << 1, now_ms, &a->io); /* seq 0 and 3: no line is whole */
	ck_assert_uint_eq(a->ndelivered, 0);
	ck_assert_uint_eq(chan_pending(c), 3);

	chan_fail_all(c, &a->io);
	ck_assert_uint_eq(a->nfailed, 3);
	ck_assert_uint_eq(a->failed_id[0], 1);
	ck_assert_uint_eq(a->failed_id[1], 2);
	ck_assert_uint_eq(a->failed_id[2], 3);
	ck_assert_uint_eq(a->failed[0].flags, PROTO_DATA_ACTION);
	ck_assert_uint_eq(a->failed[0].len, PROTO_FRAG_MAX); /* the first fragment's text */
	ck_assert_mem_eq(a->failed[0].text, l1, PROTO_FRAG_MAX);
	ck_assert_uint_eq(a->failed[1].flags, 0);
	ck_assert_mem_eq(a->failed[1].text, "b", 1);
	ck_assert_mem_eq(a->failed[2].text, "c", 1);
	ck_assert_uint_eq(chan_pending(c), 0);
	ck_assert_uint_eq(chan_room(c), CHAN_QUEUE);
	ck_assert_int_eq(chan_oldest_unacked_ms(c), -1);
	ck_assert_int_eq(chan_tick(c, now_ms, &a->io), INT64_MAX);
	ck_assert_uint_eq(a->ndelivered, 0);

	/* NULL callbacks are allowed */
	a->io.failed = NULL;
	a->io.delivered = NULL;
	ck_assert_uint_eq(chan_queue(c, 0, "d", 1), 4);
	chan_fail_all(c, &a->io);
	ck_assert_uint_eq(a->nfailed, 3);
	ck_assert_uint_eq(chan_pending(c), 0);

	/* a new epoch, and the next line is sequence 0 again */
	chan_restart_send(c);
	ck_assert_uint_eq(chan_queue(c, 0, "e", 1), 5);
	chan_tick(c, now_ms, &a->io);
	ck_assert_uint_eq(net[net_len - 1].seq, 0);
	chan_on_ack(c, 1, 0, now_ms, &a->io);
	ck_assert_uint_eq(chan_pending(c), 0);
}
END_TEST

START_TEST(test_msg_id_wrap)
{
	struct peer *a = &peers[0];

	a->io.delivered = NULL;
	a->ch.next_msg_id = UINT32_MAX;
	ck_assert_uint_eq(chan_queue(&a->ch, 0, "x", 1), UINT32_MAX);
	ck_assert_uint_eq(chan_queue(&a->ch, 0, "y", 1), 1); /* 0 means refused: skipped */
	settle();
	ck_assert_uint_eq(peers[1].nrecv, 2);
	ck_assert_uint_eq(chan_pending(&a->ch), 0);
}
END_TEST

/* The owner names its lines and dates them: the ids come back, the oldest date is reported. */
START_TEST(test_queue_at)
{
	struct peer *a = &peers[0];

	a->io.delivered = NULL; /* its check wants the channel's own ids */
	ck_assert_int_eq(chan_oldest_queued_ms(&a->ch), -1);
	ck_assert_uint_eq(chan_queue_at(&a->ch, 77, 0, "first", 5, 1000), 77);
	ck_assert_uint_eq(chan_queue_at(&a->ch, 78, 0, "second", 6, 2500), 78);
	ck_assert_int_eq(chan_oldest_queued_ms(&a->ch), 1000);
	/* Refused as chan_queue refuses: empty, or too long. */
	ck_assert_uint_eq(chan_queue_at(&a->ch, 79, 0, "", 0, 3000), 0);
	ck_assert_uint_eq(chan_queue_at(&a->ch, 79, 0, "x", PROTO_LINE_MAX + 1, 3000), 0);
	/* Without a date the line has no deadline; id 0 takes the channel's own counter. */
	ck_assert_uint_eq(chan_queue(&a->ch, 0, "third", 5), 1);
	settle();
	ck_assert_uint_eq(peers[1].nrecv, 3);
	ck_assert_int_eq(chan_oldest_queued_ms(&a->ch), -1);
	ck_assert_uint_eq(chan_queue_at(&a->ch, 0, 0, "fourth", 6, -1), 2);
	ck_assert_int_eq(chan_oldest_queued_ms(&a->ch), -1);
}
END_TEST

static Suite *chan_suite(void)
{
	Suite *s = suite_create("chan");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_one_line);
	tcase_add_test(tc, test_long_line);
	tcase_add_test(tc, test_lossy_both_ways);
	tcase_add_test(tc, test_action_flag);
	tcase_add_test(tc, test_queue_full);
	tcase_add_test(tc, test_karn_and_backoff);
	tcase_add_test(tc, test_fast_retransmit);
	tcase_add_test(tc, test_resend_now);
	tcase_add_test(tc, test_ack_never_sent);
	tcase_add_test(tc, test_duplicate_data);
	tcase_add_test(tc, test_data_far_ahead);
	tcase_add_test(tc, test_line_overflow);
	tcase_add_test(tc, test_wrap);
	tcase_add_test(tc, test_restart);
	tcase_add_test(tc, test_fail_all);
	tcase_add_test(tc, test_msg_id_wrap);
	tcase_add_test(tc, test_queue_at);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(chan_suite());
}
