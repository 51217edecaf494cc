/* server.h - p2pchatd's logic, driven by datagrams and time so tests can run it without sockets. */
#ifndef P2PCHAT_SERVER_H
#define P2PCHAT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "guard.h"
#include "protocol.h"
#include "stun.h"
#include "table.h"

#define SERVER_DEFAULT_PORT 7777
#define SERVER_DEFAULT_TTL_S 60        /* a registration lives this long without a refresh (clients refresh every 20 s) */
#define SERVER_DEFAULT_MAX_NAMES 100000
/*
 * Entries table_expire looks at per tick: enough to visit the whole table
 * once a TTL, so that a dead name is gone (and the `names` counter right)
 * within two TTLs; but no fewer than SERVER_EXPIRE_BUDGET, and no more than
 * SERVER_EXPIRE_BUDGET_MAX, which bounds the work of one turn.
 */
#define SERVER_EXPIRE_BUDGET 1024
#define SERVER_EXPIRE_BUDGET_MAX 65536
#define SERVER_TICK_MS 1000            /* how often the expiry sweep runs */
#define SERVER_RCVBUF_BYTES (4 << 20)  /* 256 clients x 8 requests in flight arrive at once: 4 MiB holds the burst */
/*
 * Presence: a LOOKUP for a name that is not online waits at the server,
 * which introduces both sides the moment the name registers. The waits
 * live in a table sized at start (as many slots as names, within
 * SERVER_WAIT_SLOTS_MIN..MAX), in buckets of SERVER_WAIT_WAYS by the
 * target's hash: a new wait takes a free slot of its bucket or the one
 * that ends first. Each lasts SERVER_WAIT_MS (the client asks again
 * within it, so a wait pushed out is soon back), and one name may place
 * SERVER_WAIT_PER_NAME new waits each SERVER_WAIT_MS.
 */
#define SERVER_WAIT_MS 600000          /* 10 minutes */
#define SERVER_WAIT_WAYS 4             /* slots a bucket: waits for one name, or names that hash alike */
#define SERVER_WAIT_SLOTS_MIN 64
#define SERVER_WAIT_SLOTS_MAX 65536    /* 65536 x 80 bytes: 5 MB at most */
#define SERVER_WAIT_PER_NAME 8
/*
 * A dual-stack client registers in both families (protocol.h, REGISTER's
 * instance); the name's endpoint in its second family is kept in a side
 * table (server_other.c), an eighth of max_names slots within
 * SERVER_OTHER_SLOTS_MIN..MAX, in buckets of SERVER_OTHER_WAYS: 32 bytes a
 * slot, 4 MB at most (4 bytes a name at a million names), where one more
 * field in every entry would cost every name.
 */
#define SERVER_OTHER_WAYS 4
#define SERVER_OTHER_SLOTS_MIN 64
#define SERVER_OTHER_SLOTS_MAX 131072  /* 131072 x 32 bytes: 4 MB */
#define SERVER_MAX_TX (1 + 2 * SERVER_WAIT_WAYS) /* datagrams one request can cause: a REGISTER's
					    answer and an introduction (one PEER each way) per wait; or
					    (a name that was live) its answer and the replaced instance's
					    ERROR to each of its two endpoints */
/*
 * /who lists the names refreshed within one client refresh interval (a
 * third of the TTL, at most 20 s: client.h's CLIENT_REFRESH_MS) and this
 * much more for the refresh to arrive: a client that left is gone from
 * the list within that, not at the end of its TTL.
 */
#define SERVER_WHO_REFRESH_MS 20000
#define SERVER_WHO_GRACE_MS 2000
#define SERVER_WHO_SCAN 8192           /* table entries one WHO looks at: bounds the work of one request */
/*
 * The relay's limit on each client, a token bucket of bytes (RELAY datagrams
 * as they arrive). Chat is small: typing is some 100 bytes a second, and the
 * heaviest use, pasting lines of 4096 bytes, costs at most 4.5 KB a line on the
 * relay. 8 KiB/s carries two such lines a second for as long as the user
 * likes, and the 4 s burst (32 KiB) takes seven at once (a client's
 * streams keep to 6 KiB/s over the relay: peer_stream.h). Beyond that the
 * relay would carry bulk data, which it is not for: 1000 clients at the
 * full rate already cost the server 8 MB/s in and as much out. Over the
 * rate, datagrams are dropped, as a congested router does; the streams'
 * congestion control backs off.
 */
#define SERVER_DEFAULT_RELAY_RATE 8192 /* bytes a second, each client (--relay-rate) */
#define SERVER_RELAY_BURST_S 4         /* the bucket holds this many seconds of the rate */
#define SERVER_RELAY_RATE_MAX 1000000000 /* --relay-rate's ceiling: 1 GB/s, more than any link */
#define SERVER_SEED_LEN (3 * SIPHASH_KEY_LEN) /* keys of the table, the nonces, the cookies */
#define SERVER_KEY_FILE_NAME "server"   /* its key pair: server.key in the state directory (identity.h's format) */

/* Why datagrams were dropped, for the counters. */
enum server_drop {
	SERVER_DROP_MALFORMED, /* proto_decode failed (other than version) */
	SERVER_DROP_WRONG_DIRECTION, /* a server->client or peer->peer type sent to the server */
	SERVER_DROP_STUN,      /* STUN the RFC says not to answer (see stun_dropped) */
	SERVER_DROP_NOT_LOOPBACK, /* STATS from an address other than loopback */
	SERVER_DROP_OVER_LIMIT, /* a source over its rate (guard.h; see guard.limited by kind) */
	/*
	 * An answer larger than its request, to an address no cookie proved:
	 * the last check before sending (server_handle). Only a bug in a
	 * handler gets here, so this counter is always 0; tests check it.
	 */
	SERVER_DROP_AMPLIFYING,
	SERVER_DROP_UNAUTHENTICATED, /* a sealed request that did not open (auth.h): a wrong key, a bit flipped */
	SERVER_DROP_REPLAYED,  /* a sealed request whose counter its name's window had seen (auth.h) */
	SERVER_DROP_NREASONS,
};

/* Counters an operator can read; they only ever grow (but `names`). */
struct server_stats {
	uint64_t received;         /* datagrams handled */
	uint64_t registrations;    /* REGISTER accepted (new or updated) */
	uint64_t refreshes;        /* REFRESH accepted */
	uint64_t lookups;          /* LOOKUP handled */
	uint64_t introductions;    /* LOOKUP that found its target: one PEER each way */
	uint64_t mappings;         /* MAPPING answered at the alternate port (server_nat.c) */
	uint64_t punches_direct;   /* REPORT of a private or public path */
	uint64_t punches_relayed;  /* REPORT of a relayed path */
	uint64_t who_pages;        /* WHO_REPLY pages sent */
	uint64_t stats_answered;   /* STATS answered (SERVER_STATS_PAGES STATS_REPLYs each) */
	uint64_t refused;          /* ERROR answers sent */
	uint64_t cookies_sent;     /* COOKIE answers: REGISTER or REFRESH without the right cookie */
	uint64_t dropped[SERVER_DROP_NREASONS];
	uint64_t malformed[PROTO_NRESULTS]; /* by -proto_result */
	uint64_t stun_answered;    /* STUN Binding requests answered */
	uint64_t stun_dropped[STUN_NRESULTS]; /* by -stun_result */
	uint64_t relayed;          /* RELAY passed on as RELAYED */
	uint64_t relayed_bytes;    /* bytes of those RELAYED datagrams */
	uint64_t relay_refused;    /* RELAY not passed on: relay off, unknown sender or target, or
				      not a peer-to-peer datagram inside */
	uint64_t relay_over_rate;  /* RELAY dropped: its sender was over its rate */
	uint64_t key_agreements;   /* X25519 computations: one per REGISTER of a key the name does not hold */
	uint64_t private_refused;  /* private endpoints not kept: neither private-range nor the source (server.c) */
	uint64_t moves_refused;    /* REGISTER or REFRESH that would move a name to an address over `names` */
};

/*
 * Zero is the default of every field but the first two. A zero guard has
 * no limits at all (and GUARD_SLOTS_DEFAULT slots): p2pchatd starts from
 * guard_defaults, the unit tests from no limits.
 */
struct server_config {
	uint32_t ttl_s;
	uint32_t max_names;
	int allow_who;      /* answer WHO (--allow-who); else refuse it with PROTO_E_WHO_OFF */
	int hide_addresses; /* write "-" for clients' addresses in the log (--no-log-addresses) */
	int no_relay;       /* refuse RELAY with PROTO_E_RELAY_OFF (--no-relay) */
	uint32_t relay_rate; /* bytes a second each client may have relayed; 0: the default */
	struct guard_config guard; /* limits per source address (--limit) */
	uint8_t secret[X25519_LEN]; /* the server's key (server.key); server_init wipes this copy */
	uint64_t counter_start;     /* the answers' first counter: the wall clock in us (net_wall_us) */
	uint16_t alt_port;          /* the second port MAPPING is answered on (--alt-port), 0 none */
};

/* One LOOKUP kept until its target registers. */
struct server_wait {
	char target[PROTO_NAME_MAX + 1];    /* "" = a free slot */
	char requester[PROTO_NAME_MAX + 1];
	int64_t until_ms;                   /* monotonic ms; free from then on */
};

/* A name's endpoint in its second family (server_other.c). */
struct server_other {
	uint32_t entry;                     /* the name's entry number + 1 (struct table); 0: free */
	struct proto_addr ep;               /* proven by a cookie, as the name's public endpoint */
	int64_t until_ms;                   /* monotonic ms; free from then on (a TTL from its last REFRESH) */
};

struct server {
	struct server_config cfg;
	struct server_other *others;        /* other_mask + 1 buckets of SERVER_OTHER_WAYS slots */
	uint32_t other_mask;
	struct server_wait *waits;          /* wait_mask + 1 buckets of SERVER_WAIT_WAYS slots */
	uint32_t wait_mask;
	struct table names;                 /* each entry holds its name's key and K too */
	uint8_t secret[X25519_LEN];         /* the server's key pair (wiped by server_free) */
	uint8_t pub[X25519_LEN];
	uint64_t counter;                   /* the last answer's counter (auth.h): one for all names */
	struct guard guard;                 /* cookies and per-source limits */
	int64_t next_sweep_ms;
	int said_full;                      /* "the name table is full" logged, until a name registers */
	struct server_stats stats;
};

/* A datagram the server wants sent. */
struct server_tx {
	struct proto_addr to;
	size_t len;
	/*
	 * 1 when `to` is a name's address, proven with a cookie, or loopback:
	 * only then may the answer be larger than the request. 0: `to` is the
	 * request's source as it says, which anyone can forge.
	 */
	int proven;
	uint8_t buf[PROTO_MAX_DATAGRAM];
};

/*
 * Sets up a server with cfg, using `seed` (SERVER_SEED_LEN random bytes:
 * 16 for the table's hash key, 16 unused (version 1's nonce key), 16 for
 * the cookie key). Returns 0, or -1 when the tables cannot be allocated or
 * cfg->guard is not valid. *s must not move afterwards: its table calls
 * back into it.
 */
int server_init(struct server *s, const struct server_config *cfg,
		const uint8_t seed[SERVER_SEED_LEN]);

/* Frees what server_init allocated. */
void server_free(struct server *s);

/*
 * Handles one datagram buf[0..len) that arrived from `from` at time now
 * (monotonic ms). Writes the datagrams to send in reply into tx[0..n) and
 * returns n (0..SERVER_MAX_TX). Never fails: a bad datagram is counted in
 * s->stats and dropped.
 */
int server_handle(struct server *s, const uint8_t *buf, size_t len,
		  const struct proto_addr *from, int64_t now, struct server_tx tx[SERVER_MAX_TX]);

/*
 * server_handle for a datagram that came to the alternate port (--alt-port):
 * only MAPPING is answered there (server_nat.c), with the source it came
 * from; tx's answers must go out from the alternate port. Returns n.
 */
int server_handle_alt(struct server *s, const uint8_t *buf, size_t len,
		  const struct proto_addr *from, int64_t now, struct server_tx tx[SERVER_MAX_TX]);

/*
 * Does the periodic work due at now (expiring registrations) and returns
 * the time of the next deadline, in monotonic ms.
 */
int64_t server_tick(struct server *s, int64_t now);

/*
 * The counters go out in SERVER_STATS_PAGES STATS_REPLYs, one STATS
 * answered with all of them (STATS comes from loopback only, so answering
 * with more than was asked amplifies nothing: server.c). Page 0 holds the
 * rows one page held when there was one (SERVER_STATS_PAGE0_ROWS; at
 * every counter's largest value they leave some 20 of its 1,194 bytes,
 * too few for one more row), page 1 the rows added since, with room for
 * some 40 more.
 */
#define SERVER_STATS_PAGES 2
#define SERVER_STATS_PAGE0_ROWS 34

/*
 * Writes page (0..SERVER_STATS_PAGES - 1) of the counters into buf[0..cap)
 * as lines of "key value\n", in a fixed order, with keys that do not change
 * (scripts read them; the README lists them); the pages in order are every
 * row. Lines that do not fit are left off whole; buf is always
 * NUL-terminated. Each page fits in PROTO_STATS_TEXT_MAX bytes, so its
 * STATS_REPLY carries it whole. Returns strlen(buf): 0 for a page beyond.
 */
size_t server_stats_format(const struct server *s, int page, char *buf, size_t cap);

/*
 * Formats a client's address for the log into buf (NET_ADDRSTRLEN bytes)
 * and returns it, or returns "-" under --no-log-addresses.
 */
const char *server_addr_log(const struct server *s, const struct proto_addr *a, char *buf);

#endif
