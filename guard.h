/* guard.h - the server's defences: stateless address cookies and per-source rate limits. */
#ifndef P2PCHAT_GUARD_H
#define P2PCHAT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "siphash.h"

/*
 * p2pchatd sits on a public address where anyone can send it anything,
 * with any source address. Two defences:
 *
 * Cookies (return routability, in the spirit of DNS cookies, RFC 7873,
 * and QUIC's Retry): before the server believes a source address (to
 * register or move a name there), the client must echo a cookie the server
 * sent to that address. The cookie is a keyed hash of the address and a
 * coarse clock, so the server keeps no state: a spoofed source never sees
 * its cookie and cannot register.
 *
 * Rate limits: a token bucket per source IP address (not port: one host,
 * one budget) for each kind of request, in a fixed table sized at start,
 * so a flood from one source leaves the others served, and a cap on the
 * names one address may hold. An IPv6 source is its /64 prefix: one
 * network is handed a whole /64 (RFC 7421), and a host may pick any
 * address in it.
 */

#define GUARD_COOKIE_LEN 8
#define GUARD_COOKIE_PERIOD_MS 30000 /* a cookie is good in its period and the next: 30..60 s */
#define GUARD_SLOTS_DEFAULT 65536    /* sources tracked at once (IP addresses) */
#define GUARD_BURST_MAX 4294967      /* UINT32_MAX / 1000: buckets count thousandths in 32 bits */

/* What a source spends its budget on. */
enum guard_kind {
	GUARD_REGISTER,  /* REGISTER and REFRESH */
	GUARD_LOOKUP,    /* LOOKUP and WHO */
	GUARD_RELAY,     /* relayed bytes (cost = datagram length) */
	GUARD_STUN,      /* STUN Binding answers: the one answer larger than its request */
	GUARD_NKINDS,
};

struct guard_rate {
	uint32_t per_s; /* tokens added per second; 0 = unlimited */
	uint32_t burst; /* bucket size, 1 .. GUARD_BURST_MAX when per_s > 0 */
};

struct guard_config {
	struct guard_rate rate[GUARD_NKINDS];
	uint32_t names_per_source; /* names one IP address may hold at once; 0 = unlimited */
	uint32_t slots;            /* sources tracked; a power of two */
};

/* One source IP address's budgets. */
struct guard_slot {
	uint8_t family;                   /* 0: free */
	uint8_t ip[16];                   /* IPv4 address, or IPv6 /64 prefix; zeros after */
	uint32_t names;                   /* names registered from the sources hashed here */
	int64_t last_ms;                  /* last refill, monotonic ms */
	uint32_t tokens[GUARD_NKINDS];    /* in thousandths, so slow rates still refill */
};

struct guard {
	struct guard_config cfg;
	struct guard_slot *slots;         /* cfg.slots, allocated once */
	uint8_t key[SIPHASH_KEY_LEN];     /* for cookies and for the slot hash */
	uint64_t limited[GUARD_NKINDS];   /* requests refused by rate, for the counters */
	uint64_t shared;                  /* requests charged to a busy slot of another source */
};

/* Returns the static name of kind, as p2pchatd's --limit spells it ("register"), or "unknown". */
const char *guard_kind_name(int kind);

/* Fills cfg with the defaults (documented in guard.c, each with its reason). */
void guard_defaults(struct guard_config *cfg);

/* Allocates the source table. Returns 0, or -1 when memory is short or cfg is invalid. */
int guard_init(struct guard *g, const struct guard_config *cfg, const uint8_t key[SIPHASH_KEY_LEN]);

/* Frees what guard_init allocated. */
void guard_free(struct guard *g);

/* Writes the cookie for address src (its IP and port) at time now into out. */
void guard_cookie(const struct guard *g, const struct proto_addr *src, int64_t now,
		  uint8_t out[GUARD_COOKIE_LEN]);

/* Returns 1 when cookie is the one src got in this period or the one before, else 0. */
int guard_cookie_ok(const struct guard *g, const struct proto_addr *src,
		    const uint8_t cookie[GUARD_COOKIE_LEN], int64_t now);

/*
 * Spends `cost` tokens of src's budget for kind at time now. Returns 1
 * when allowed, 0 when the source is over its rate (and counts it).
 */
int guard_allow(struct guard *g, const struct proto_addr *src, enum guard_kind kind,
		uint32_t cost, int64_t now);

/*
 * A name is being registered from src: returns 1 and counts it when src
 * holds fewer than names_per_source, else 0.
 */
int guard_name_add(struct guard *g, const struct proto_addr *src, int64_t now);

/*
 * A name registered from src is gone (expired, removed): uncounts it. Call
 * it once per guard_name_add that returned 1 (or guard_name_move to src);
 * a count never goes below 0.
 */
void guard_name_remove(struct guard *g, const struct proto_addr *src);

/*
 * A name counted at `from` now lives at `to` (its client's NAT gave it a
 * new address): its count moves along, even past names_per_source, since
 * the name is already held and the client has no say in its address.
 */
void guard_name_move(struct guard *g, const struct proto_addr *from, const struct proto_addr *to,
		     int64_t now);

#endif
