/* tests/harness.h - what every libcheck unit test shares: the runner its main() calls, address fixtures, the generators (rng.h). Header-only. */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "rng.h"

/* Runs every test of s, printing check's summary; returns main()'s exit status. */
static inline int harness_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* a.b.c.d, port. */
static inline struct proto_addr harness_addr4(uint8_t a, uint8_t b, uint8_t c, uint8_t d,
					      uint16_t port)
{
	struct proto_addr x;

	memset(&x, 0, sizeof(x));
	x.family = PROTO_AF_INET;
	x.port = port;
	x.ip[0] = a;
	x.ip[1] = b;
	x.ip[2] = c;
	x.ip[3] = d;
	return x;
}

/* 2001:db8:0:<net>::<host>, port: nets are /64s, hosts live inside one. */
static inline struct proto_addr harness_addr6(uint16_t net, uint16_t host, uint16_t port)
{
	struct proto_addr x;

	memset(&x, 0, sizeof(x));
	x.family = PROTO_AF_INET6;
	x.port = port;
	x.ip[0] = 0x20;
	x.ip[1] = 0x01;
	x.ip[2] = 0x0d;
	x.ip[3] = 0xb8;
	x.ip[6] = (uint8_t)(net >> 8);
	x.ip[7] = (uint8_t)net;
	x.ip[14] = (uint8_t)(host >> 8);
	x.ip[15] = (uint8_t)host;
	return x;
}

#endif
