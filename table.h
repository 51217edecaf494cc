/* table.h - the server's name table: fixed size, O(1) lookups, entries that expire. */
#ifndef P2PCHAT_TABLE_H
#define P2PCHAT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "protocol.h"
#include "siphash.h"

/*
 * An endpoint as an entry keeps it: 18 bytes, the address as IPv6 (IPv4 as
 * ::ffff:a.b.c.d, RFC 4291 section 2.5.5.2) then the port, big-endian.
 * All zeros: none (no endpoint the server keeps is [::]:0).
 */
#define TABLE_EP_LEN 18

/*
 * One registration: everything the server knows about a name, its key and
 * K (auth.h) included, in 232 bytes (1 of them padding), so that a million
 * names take 232 MB and a lookup's misses fall on 4 cache lines of one
 * entry. The fields are ordered by size so the compiler adds nothing;
 * table.c checks the size.
 */
struct table_entry {
	char name[PROTO_NAME_MAX + 1];
	uint8_t waits;               /* LOOKUPs this name left waiting in period waits_period */
	struct proto_addr public_ep; /* as the server observed it */
	/* As the client reported them (table_set_private), from the first; the rest zeros. */
	uint8_t private_ep[PROTO_MAX_PRIVATE][TABLE_EP_LEN];
	uint16_t waits_period;       /* (now / SERVER_WAIT_MS) mod 2^16 when waits was counted */
	uint16_t nat_port;           /* the public port its last MAPPING came from (server_nat.c) */
	uint8_t nat;                 /* enum proto_nat, from that MAPPING */
	uint32_t window_bits;        /* the requests' replay window (auth.h), AUTH_REQUEST_WINDOW bits */
	uint32_t replaced;           /* the earlier instance a REGISTER took the name from, as
					server_addr_tag (server_register.c); 0: none */
	uint32_t instance;           /* the instance that holds the name: REGISTER's instance
					folded to 32 bits, never 0 (server_register.c); it fills
					what was padding, so the entry does not grow */
	int64_t expires_ms;          /* monotonic ms; the entry is dead from then on */
	uint64_t relay_tat_ns;       /* relay rate: when its bucket is full again (server.c), ns */
	uint64_t window_top;         /* the replay window's top: the highest counter accepted */
	uint8_t key[PROTO_KEY_LEN];  /* the key the name is registered with: its owner's */
	uint8_t k[AUTH_KEY_LEN];     /* K, shared with the name's client (auth.h); wiped with the entry */
};

/*
 * One slot of the index: which entry, and the low 32 bits of its name's
 * SipHash. The hash gives the slot's home without hashing the name again,
 * and a probe passes over a slot whose hash differs without reading its
 * entry: at a million names the entries are far larger than the caches,
 * and each entry read is a miss to memory (see table.c).
 */
struct table_slot {
	uint32_t entry;              /* entry number + 1; 0: the slot is empty */
	uint32_t hash;               /* (uint32_t)siphash24(key, name) */
};

/*
 * The table: a dense array of `capacity` entries and an open-addressing
 * index (linear probing, at most half full) of entry numbers, both
 * allocated once by table_init. Nothing is allocated afterwards.
 */
struct table {
	struct table_entry *entries; /* capacity entries */
	uint32_t *free_list;         /* stack of unused entry numbers */
	uint32_t nfree;
	struct table_slot *index;    /* index_size slots */
	uint32_t index_mask;         /* index_size - 1 (index_size is a power of two) */
	uint32_t capacity;
	uint32_t count;              /* live + not yet swept entries */
	uint32_t sweep_pos;          /* where table_expire goes on next time */
	uint8_t key[SIPHASH_KEY_LEN];
	/*
	 * Called with every entry just before it goes (removed, expired, or
	 * dead and taken over by table_put), so the owner of the table can
	 * forget what it counted for it. NULL: nobody is told.
	 */
	void (*on_remove)(void *ctx, const struct table_entry *e);
	void *on_remove_ctx;
};

/*
 * Allocates a table for `capacity` names (1 .. 2^30), hashing names with
 * `key`. Returns 0, or -1 when memory is short.
 */
int table_init(struct table *t, uint32_t capacity, const uint8_t key[SIPHASH_KEY_LEN]);

/* Wipes every entry's K (ct_wipe) and frees what table_init allocated. */
void table_free(struct table *t);

/*
 * Returns the live entry for name, or NULL. An entry whose expires_ms is
 * <= now is dead: it is removed here and NULL returned. The pointer stays
 * valid until the next table_put, table_remove or table_expire.
 */
struct table_entry *table_get(struct table *t, const char *name, int64_t now);

/*
 * Returns a new entry for name (which must not be live), with the name
 * filled in and the rest zeroed, or NULL when the table is full.
 */
struct table_entry *table_put(struct table *t, const char *name, int64_t now);

/*
 * Keeps the private endpoints a[0..n) (n <= PROTO_MAX_PRIVATE, each of
 * family PROTO_AF_INET or PROTO_AF_INET6) in e, clearing the other slots.
 */
void table_set_private(struct table_entry *e, const struct proto_addr *a, uint8_t n);

/* Copies e's private endpoints into out[0..n) and clears the rest of out. Returns n. */
uint8_t table_get_private(const struct table_entry *e, struct proto_addr out[PROTO_MAX_PRIVATE]);

/* Removes the entry for name, if any. */
void table_remove(struct table *t, const char *name);

/*
 * Removes dead entries, looking at no more than `budget` entries from where
 * the last call stopped, so that a sweep of a large table is spread over
 * many calls. Returns how many it removed.
 */
uint32_t table_expire(struct table *t, int64_t now, uint32_t budget);

#endif
