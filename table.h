/* table.h - the server's name table: fixed size, O(1) lookups, entries that expire. */
#ifndef P2PCHAT_TABLE_H
#define P2PCHAT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "siphash.h"

/* One registration: everything the server knows about a name. */
struct table_entry {
	char name[PROTO_NAME_MAX + 1];
	uint8_t token[PROTO_TOKEN_LEN];
	struct proto_addr public_ep; /* as the server observed it */
	uint8_t nprivate;
	struct proto_addr private_ep[PROTO_MAX_PRIVATE]; /* as the client reported them */
	int64_t expires_ms;          /* monotonic ms; the entry is dead from then on */
	uint64_t relay_credit;       /* relay token bucket: bytes it may have relayed now */
	int64_t relay_fill_ms;       /* when relay_credit was last topped up (monotonic ms) */
	struct proto_addr replaced_ep; /* the earlier instance a REGISTER took the name from (server.c) */
	int64_t waits_since_ms;      /* the requester's LOOKUPs kept waiting (server.c): since then... */
	uint8_t waits;               /* ...this many */
	uint8_t nat;                 /* enum proto_nat, from its last MAPPING (server_nat.c) */
	uint16_t nat_port;           /* the public port that MAPPING came from */
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

/* Frees what table_init allocated. */
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

/* Removes the entry for name, if any. */
void table_remove(struct table *t, const char *name);

/*
 * Removes dead entries, looking at no more than `budget` entries from where
 * the last call stopped, so that a sweep of a large table is spread over
 * many calls. Returns how many it removed.
 */
uint32_t table_expire(struct table *t, int64_t now, uint32_t budget);

#endif
