/* test_net.c - unit tests for net.c's pure parts: how a send queue is cut into UDP GSO runs (net_gso_run). */
#include <check.h>
#include <string.h>

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
	return s;
}

int main(void)
{
	return harness_run(net_suite());
}
