/* tests/fuzz/fuzz.h - what the libFuzzer harnesses share: checks, a record reader, a strict logger. */
#ifndef P2PCHAT_FUZZ_H
#define P2PCHAT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

/* libFuzzer calls this once per input; declared here for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Checks a property the code under test promises. When it does not hold,
 * prints where and what, then aborts: libFuzzer saves the input as a crash.
 * (assert() would vanish under -DNDEBUG; this never does.)
 */
#define FUZZ_CHECK(cond) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond))

/* Prints "FILE:LINE: property failed: WHAT" and aborts. */
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

/*
 * Returns 1 when s[0..len) is safe for a terminal: valid UTF-8 (RFC 3629:
 * shortest forms, no surrogates, nothing above U+10FFFF) with no C0
 * control byte, no DEL and no C1 control (U+0080..U+009F), so no escape
 * sequence can start. Else 0.
 */
int fuzz_text_safe(const char *s, size_t len);

/*
 * The server and client harnesses read their input as a series of
 * records, each one datagram, so the fuzzer can build conversations
 * (REGISTER, then LOOKUP, then ...) rather than single datagrams:
 *
 *  +---------------+---------------+---------------+-- ... --+
 *  |    control    |        length (16)            | datagram |
 *  +---------------+---------------+---------------+-- ... --+
 *  control: bits 0-1 pick the source endpoint (the harness's table of 4),
 *           bits 2-7 the time that passed before it, in FUZZ_STEP_MS units.
 * A length past the end of the input takes what is left. tests/fuzz/mkseeds.c
 * writes the seeds in this format.
 */
#define FUZZ_RECORD_HEADER 3
#define FUZZ_STEP_MS 100 /* up to 6.3 s between two datagrams: a few records cross any timer */

struct fuzz_record {
	unsigned source;    /* 0..3 */
	int64_t step_ms;    /* time since the previous record */
	const uint8_t *buf; /* the datagram, inside the input */
	size_t len;
};

/*
 * Reads the record at *off in data[0..size) into *r and advances *off.
 * Returns 1, or 0 when fewer than FUZZ_RECORD_HEADER bytes are left.
 */
int fuzz_next_record(const uint8_t *data, size_t size, size_t *off, struct fuzz_record *r);

/* The sources fuzz_server.c's records pick from (two IPv4 hosts, an IPv6 host, and loopback). */
enum fuzz_server_source { FUZZ_HOST1, FUZZ_HOST2, FUZZ_HOST6, FUZZ_LOOPBACK };

/*
 * fuzz_client.c's client, alice, is connected to bob before each input:
 * alice's epoch is FUZZ_MY_EPOCH and bob's FUZZ_BOB_EPOCH, so seeds
 * (mkseeds.c) can carry what she checks.
 */
enum fuzz_client_source { FUZZ_SERVER, FUZZ_BOB_PUBLIC, FUZZ_BOB_PRIVATE, FUZZ_STRANGER };
#define FUZZ_MY_EPOCH 0x0a0a0a0au
#define FUZZ_BOB_EPOCH 0x0b0b0b0bu

/*
 * The harnesses link fuzz.c's logger in place of log.c (same log.h):
 * log_enabled says yes to every level, so the arguments of every debug line
 * are formatted (and so checked by the sanitizers), nothing is printed, and
 * LOG_ERROR aborts: in server_handle, client_handle and client_tick it only
 * reports the program's own bug (an answer it cannot encode).
 */

/* Fills *a with an IPv4 endpoint a.b.c.d:port. */
void fuzz_addr4(struct proto_addr *a, uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3,
		uint16_t port);

/* Fills *a with the IPv6 endpoint [2001:db8::last]:port (documentation prefix, RFC 3849). */
void fuzz_addr6(struct proto_addr *a, uint8_t last, uint16_t port);

#endif
