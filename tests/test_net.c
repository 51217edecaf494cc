/* test_net.c - unit tests for net.c: how a send queue is cut into UDP GSO runs, a received GRO run into datagrams, and both over real loopback sockets. */
#include <check.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "net.h"

static struct net_dgram d[NET_BATCH_MAX];

/* n datagrams of len bytes each to 192.0.2.1:4000 (the bytes themselves do not matter here). */
static void fill(int n, size_t len)
{
	memset(d, 0, sizeof(d));
	for (int i = 0; i < n; i++) {
		d[i].addr = harness_addr4(192, 0, 2, 1, 4000);
		d[i].len = len;
	}
}

/* A file's datagrams: one size, one address: one run of all of them (under both limits). */
START_TEST(same_size_one_run)
{
	fill(40, 1104);
	ck_assert_int_eq(net_gso_run(d, 40), 40);
	ck_assert_int_eq(net_gso_run(d, 1), 1);
}
END_TEST

/* The last may be shorter, and it ends the run: what follows starts the next. */
START_TEST(shorter_ends_run)
{
	fill(10, 1200);
	d[4].len = 300;
	ck_assert_int_eq(net_gso_run(d, 10), 5);
	ck_assert_int_eq(net_gso_run(d + 5, 5), 5);
}
END_TEST

/* A longer one cannot join: the kernel would cut it at d[0]'s size. */
START_TEST(longer_not_joined)
{
	fill(6, 600);
	d[3].len = 601;
	ck_assert_int_eq(net_gso_run(d, 6), 3);
	ck_assert_int_eq(net_gso_run(d + 3, 3), 2); /* 601, then a shorter 600 joins and ends it */
}
END_TEST

/* Another address (or only another port) ends the run. */
START_TEST(address_ends_run)
{
	fill(8, 1000);
	d[2].addr = harness_addr4(192, 0, 2, 2, 4000);
	d[5].addr = harness_addr4(192, 0, 2, 1, 4001);
	ck_assert_int_eq(net_gso_run(d, 8), 2);
	ck_assert_int_eq(net_gso_run(d + 2, 6), 1);
	ck_assert_int_eq(net_gso_run(d + 3, 5), 2);
	ck_assert_int_eq(net_gso_run(d + 5, 3), 1);
	ck_assert_int_eq(net_gso_run(d + 6, 2), 2);
}
END_TEST

/* At most 65,000 bytes: 54 datagrams of 1,200 (64,800), not 55; 64 of 1,000 (the count's limit). */
START_TEST(limits)
{
	fill(NET_BATCH_MAX, 1200);
	ck_assert_int_eq(net_gso_run(d, NET_BATCH_MAX), 54);
	fill(NET_BATCH_MAX, 1000);
	ck_assert_int_eq(net_gso_run(d, NET_BATCH_MAX), 64);
	fill(NET_BATCH_MAX, 512);
	ck_assert_int_eq(net_gso_run(d, NET_BATCH_MAX), 64);
}
END_TEST

/* Small datagrams (chat's) go one by one: under 512 bytes none starts a run. */
START_TEST(small_alone)
{
	fill(NET_BATCH_MAX, 511);
	ck_assert_int_eq(net_gso_run(d, NET_BATCH_MAX), 1);
	fill(8, 100);
	ck_assert_int_eq(net_gso_run(d, 8), 1);
	fill(8, 600);
	d[1].len = 100; /* a short last may still be small */
	ck_assert_int_eq(net_gso_run(d, 8), 2);
}
END_TEST

/* An empty datagram never joins a run, nor starts one that others join. */
START_TEST(empty_alone)
{
	fill(4, 600);
	d[2].len = 0;
	ck_assert_int_eq(net_gso_run(d, 4), 2);
	ck_assert_int_eq(net_gso_run(d + 2, 2), 1);
}
END_TEST

/* A received buffer of len bytes cut at seg (the bytes do not matter to the cutting). */
static struct net_dgram received(size_t len, size_t seg)
{
	static uint8_t buf[NET_GRO_BUF_BYTES];

	return (struct net_dgram){ .buf = buf, .len = len, .cap = sizeof(buf), .seg = seg };
}

/* No GRO (seg 0): the buffer is one datagram, whatever its length, an empty one too. */
START_TEST(gro_none)
{
	struct net_dgram r = received(1200, 0);
	size_t len = 99;

	ck_assert_int_eq(net_dgram_count(&r), 1);
	ck_assert_ptr_eq(net_dgram_at(&r, 0, &len), r.buf);
	ck_assert_uint_eq(len, 1200);
	r = received(0, 0);
	ck_assert_int_eq(net_dgram_count(&r), 1);
	net_dgram_at(&r, 0, &len);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/* A run of 58 of 1,104 bytes (a file's, as GSO sends them): 58 datagrams, each at its place. */
START_TEST(gro_even_run)
{
	struct net_dgram r = received(58 * 1104, 1104);
	size_t len;

	ck_assert_int_eq(net_dgram_count(&r), 58);
	for (int i = 0; i < 58; i++) {
		ck_assert_ptr_eq(net_dgram_at(&r, i, &len), r.buf + (size_t)i * 1104);
		ck_assert_uint_eq(len, 1104);
	}
}
END_TEST

/* The last of a run may be shorter: it is a datagram of its own length. */
START_TEST(gro_short_last)
{
	struct net_dgram r = received(3 * 1104 + 1, 1104);
	size_t len;

	ck_assert_int_eq(net_dgram_count(&r), 4);
	ck_assert_ptr_eq(net_dgram_at(&r, 3, &len), r.buf + 3 * 1104);
	ck_assert_uint_eq(len, 1);
	net_dgram_at(&r, 2, &len);
	ck_assert_uint_eq(len, 1104);
}
END_TEST

/* A segment size of the whole length or more: one datagram (the kernel says so for no run). */
START_TEST(gro_seg_not_less)
{
	struct net_dgram r = received(500, 500);
	size_t len;

	ck_assert_int_eq(net_dgram_count(&r), 1);
	net_dgram_at(&r, 0, &len);
	ck_assert_uint_eq(len, 500);
	r = received(500, 1200);
	ck_assert_int_eq(net_dgram_count(&r), 1);
	net_dgram_at(&r, 0, &len);
	ck_assert_uint_eq(len, 500);
}
END_TEST

/* An index past the last (a caller's bug) gives an empty datagram inside the buffer, never beyond. */
START_TEST(gro_past_end)
{
	struct net_dgram r = received(2 * 600, 600);
	size_t len = 1;
	const uint8_t *p = net_dgram_at(&r, 5, &len);

	ck_assert_uint_eq(len, 0);
	ck_assert_ptr_eq(p, r.buf + 1200);
	p = net_dgram_at(&r, -1, &len);
	ck_assert_uint_eq(len, 0);
}
END_TEST

/*
 * The loopback tests' traffic: NSENT datagrams, GSO runs and small ones between them, each
 * with a length of its own shape and its index in every byte, so a datagram cut at the
 * wrong place, or run into the next, shows.
 */
#define NSENT 40
static size_t sent_len(int i)
{
	if (i < 20)
		return 1104;        /* a run of 20 */
	if (i == 20)
		return 300;         /* its shorter last */
	if (i < 24)
		return 64;          /* chat-sized: sent one by one */
	return i < 39 ? 1200 : 700; /* another run, with its last */
}

/* Sends the traffic from a new socket to the receiver rx (on 127.0.0.1) through a net_queue. */
static void send_traffic(int rx)
{
	static struct net_queue q;
	static uint8_t msg[PROTO_MAX_DATAGRAM];
	struct proto_addr lo = harness_addr4(127, 0, 0, 1, 0), to;
	int tx = net_udp_socket(&lo, 0, 0);

	ck_assert_int_ge(tx, 0);
	ck_assert_int_eq(net_local_addr(rx, &to), 0);
	net_queue_init(&q, tx, net_is_ipv6(tx));
	for (int i = 0; i < NSENT; i++) {
		memset(msg, i, sent_len(i));
		ck_assert_int_eq(net_queue_add(&q, &to, msg, sent_len(i)), 0);
	}
	ck_assert_int_eq(net_queue_flush(&q), 0);
	close(tx);
}

/*
 * Receives the traffic on rx into 16 buffers of NET_GRO_BUF_BYTES, cutting each as the
 * client does, and checks each datagram's length and bytes, in order. Returns how many
 * buffers held a run (seg set). Waits with poll, up to 10 s, for each batch.
 */
static int receive_traffic(int rx)
{
	static uint8_t buf[16][NET_GRO_BUF_BYTES];
	struct net_dgram r[16];
	int next = 0, runs = 0;

	for (int i = 0; i < 16; i++)
		r[i] = (struct net_dgram){ .buf = buf[i], .cap = sizeof(buf[i]) };
	while (next < NSENT) {
		struct pollfd p = { .fd = rx, .events = POLLIN };
		int got;

		ck_assert_msg(poll(&p, 1, 10000) == 1, "datagram %d never came", next);
		got = net_recv_many(rx, r, 16);
		ck_assert_int_ge(got, 1);
		for (int i = 0; i < got; i++) {
			runs += r[i].seg != 0;
			for (int k = 0; k < net_dgram_count(&r[i]); k++) {
				size_t len;
				const uint8_t *m = net_dgram_at(&r[i], k, &len);

				ck_assert_int_lt(next, NSENT);
				ck_assert_uint_eq(len, sent_len(next));
				ck_assert_uint_eq(m[0], (uint8_t)next);
				ck_assert_uint_eq(m[len - 1], (uint8_t)next);
				next++;
			}
		}
	}
	return runs;
}

/* A receiver on 127.0.0.1, port 0 (the kernel's choice), blocking. */
static int loopback_receiver(void)
{
	struct proto_addr lo = harness_addr4(127, 0, 0, 1, 0);
	int rx = net_udp_socket(&lo, 0, 0);

	ck_assert_int_ge(rx, 0);
	return rx;
}

/*
 * GRO on: each datagram still comes out with its own length and bytes; on Linux the GSO
 * runs arrive whole (loopback never cuts a GSO run for a GRO socket), so some buffer held
 * a run, or the cutting above was never tried.
 */
START_TEST(gro_loopback_on)
{
	int rx = loopback_receiver(), gro = net_set_gro(rx), runs;

	send_traffic(rx);
	runs = receive_traffic(rx);
#if defined(__linux__)
	ck_assert_int_eq(gro, 1);
	ck_assert_int_ge(runs, 1);
#else
	ck_assert_int_eq(runs, 0);
#endif
	close(rx);
}
END_TEST

/* GRO off: the same traffic, each datagram alone in its buffer (the kernel cut the runs). */
START_TEST(gro_loopback_off)
{
	int rx = loopback_receiver();

	send_traffic(rx);
	ck_assert_int_eq(receive_traffic(rx), 0);
	close(rx);
}
END_TEST

static Suite *net_suite(void)
{
	Suite *s = suite_create("net");
	TCase *tc = tcase_create("gso_run");

	tcase_add_test(tc, same_size_one_run);
	tcase_add_test(tc, shorter_ends_run);
	tcase_add_test(tc, longer_not_joined);
	tcase_add_test(tc, address_ends_run);
	tcase_add_test(tc, limits);
	tcase_add_test(tc, small_alone);
	tcase_add_test(tc, empty_alone);
	suite_add_tcase(s, tc);
	tc = tcase_create("gro_cut");
	tcase_add_test(tc, gro_none);
	tcase_add_test(tc, gro_even_run);
	tcase_add_test(tc, gro_short_last);
	tcase_add_test(tc, gro_seg_not_less);
	tcase_add_test(tc, gro_past_end);
	suite_add_tcase(s, tc);
	/* The only tests here with sockets: two on 127.0.0.1, ports the kernel picks. */
	tc = tcase_create("gro_loopback");
	tcase_add_test(tc, gro_loopback_on);
	tcase_add_test(tc, gro_loopback_off);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(net_suite());
}
