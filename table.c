/* table.c - the server's name table: entries, a free list and a linear-probing index. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ct.h"
#include "net.h"
#include "table.h"

#define TABLE_CAPACITY_MAX (UINT32_C(1) << 30)

/*
 * Entries table_put may look at, when the table is full, for a dead one to
 * reuse. Without it a full table would turn new names away until the slow
 * round-robin sweep came by; with it the work per packet stays bounded.
 */
#define TABLE_PUT_SWEEP_BUDGET 64

/* The entry's size is part of the memory budget (the README's Performance): no padding crept in. */
_Static_assert(sizeof(struct table_entry) == 232, "struct table_entry is 232 bytes");

/* An entry whose name is empty is unused: real names have 1..32 bytes. */
static int table_entry_used(const struct table_entry *e)
{
	return e->name[0] != '\0';
}

/* Returns the hash of name that the index keeps: its home slot is hash & index_mask. */
static uint32_t table_hash(const struct table *t, const char *name)
{
	return (uint32_t)siphash24(t->key, name, strlen(name));
}

/* The cache line of the machines p2pchatd runs on (x86-64, arm64): 64 bytes. */
#define TABLE_CACHE_LINE 64

/*
 * Asks the memory for every cache line of entry n at once. At a million
 * names the entries (232 MB) are far larger than the caches, so each line a
 * lookup reads (the name; expires_ms; the endpoints a PEER carries) misses:
 * read one after the other, as the code comes to them, their misses add up;
 * asked for together, they cost about one. A hint: without GCC's builtin,
 * nothing.
 */
static void table_prefetch(const struct table *t, uint32_t n)
{
#if defined(__GNUC__)
	const char *p = (const char *)&t->entries[n];
	size_t off;

	for (off = 0; off < sizeof(struct table_entry); off += TABLE_CACHE_LINE)
		__builtin_prefetch(p + off);
	__builtin_prefetch(p + sizeof(struct table_entry) - 1);
#else
	(void)t;
	(void)n;
#endif
}

/*
 * Probes for name, whose hash is `hash`, from its home slot. Returns the
 * slot that holds it, or the empty slot that ends the chain (entry 0)
 * when it is absent. The index is never more than half full, so an empty
 * slot always exists. Only a slot with the same 32-bit hash has its entry
 * read: the others cost no look at the entries at all.
 */
static uint32_t table_find_slot(const struct table *t, const char *name, uint32_t hash)
{
	uint32_t i = hash & t->index_mask;

	while (t->index[i].entry != 0) {
		if (t->index[i].hash == hash) {
			table_prefetch(t, t->index[i].entry - 1);
			if (strcmp(t->entries[t->index[i].entry - 1].name, name) == 0)
				break;
		}
		i = (i + 1) & t->index_mask;
	}
	return i;
}

/*
 * Empties index slot `hole` by backward shift (Knuth, TAOCP vol. 3, 6.4,
 * Algorithm R): later members of the probe chain that may legally sit
 * in the hole move into it, and the hole moves on to where they were. No
 * tombstones are left, so chains stay as short as if the removed names had
 * never been there. The homes come from the slots' hashes: no entry is read.
 */
static void table_unlink_slot(struct table *t, uint32_t hole)
{
	uint32_t j = hole;

	for (;;) {
		uint32_t home;

		j = (j + 1) & t->index_mask;
		if (t->index[j].entry == 0)
			break;
		home = t->index[j].hash & t->index_mask;
		/*
		 * The entry at j may move back to the hole unless its home lies
		 * cyclically in (hole, j]: then the hole is before its home and
		 * a probe for it would never pass there. In distances: it moves
		 * when it is at least as far from its home as from the hole.
		 */
		if (((j - home) & t->index_mask) >= ((j - hole) & t->index_mask)) {
			t->index[hole] = t->index[j];
			hole = j;
		}
	}
	t->index[hole].entry = 0;
	t->index[hole].hash = 0;
}

/* Tells the table's owner that e is about to go (see on_remove in table.h). */
static void table_notify(const struct table *t, const struct table_entry *e)
{
	if (t->on_remove != NULL)
		t->on_remove(t->on_remove_ctx, e);
}

/* Removes the entry that index slot `slot` points to: unlinks it and frees its entry. */
static void table_release(struct table *t, uint32_t slot)
{
	uint32_t n = t->index[slot].entry - 1;

	table_notify(t, &t->entries[n]);
	table_unlink_slot(t, slot);
	ct_wipe(&t->entries[n], sizeof(t->entries[n])); /* K with the rest */
	t->free_list[t->nfree++] = n;
	t->count--;
}

/*
 * n zeroed items of size bytes, for the arrays read at random (net.h:
 * huge pages where the system has them), with the check that n * size
 * does not wrap (it can where size_t is 32 bits).
 */
static void *table_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return net_table_alloc(n * size);
}

int table_init(struct table *t, uint32_t capacity, const uint8_t key[SIPHASH_KEY_LEN])
{
	uint64_t index_size = 1;

	memset(t, 0, sizeof(*t));
	if (capacity == 0 || capacity > TABLE_CAPACITY_MAX)
		return -1;
	/* At most half full keeps linear probing chains short (Knuth: ~1.5 probes per hit). */
	while (index_size < 2 * (uint64_t)capacity)
		index_size *= 2;
	/* Set first: table_free needs the sizes to give the arrays back. */
	t->index_mask = (uint32_t)(index_size - 1);
	t->capacity = capacity;
	t->entries = table_calloc(capacity, sizeof(*t->entries));
	/* Only its top is ever read: no need for huge pages. */
	t->free_list = calloc(capacity, sizeof(*t->free_list));
	t->index = table_calloc((size_t)index_size, sizeof(*t->index));
	if (t->entries == NULL || t->free_list == NULL || t->index == NULL) {
		table_free(t);
		return -1;
	}
	/* Hand out low entry numbers first: pushed last, popped first. */
	for (t->nfree = 0; t->nfree < capacity; t->nfree++)
		t->free_list[t->nfree] = capacity - 1 - t->nfree;
	memcpy(t->key, key, SIPHASH_KEY_LEN);
	return 0;
}

void table_free(struct table *t)
{
	/* Only the entries in use hold a K: the others were never written (or wiped). */
	for (uint32_t n = 0; t->entries != NULL && n < t->capacity; n++)
		if (table_entry_used(&t->entries[n]))
			ct_wipe(&t->entries[n], sizeof(t->entries[n]));
	net_table_free(t->entries, (size_t)t->capacity * sizeof(*t->entries));
	free(t->free_list);
	net_table_free(t->index, ((size_t)t->index_mask + 1) * sizeof(*t->index));
	memset(t, 0, sizeof(*t));
}

struct table_entry *table_get(struct table *t, const char *name, int64_t now)
{
	uint32_t slot = table_find_slot(t, name, table_hash(t, name));
	struct table_entry *e;

	if (t->index[slot].entry == 0)
		return NULL;
	e = &t->entries[t->index[slot].entry - 1];
	if (e->expires_ms <= now) {
		table_release(t, slot);
		return NULL;
	}
	return e;
}

struct table_entry *table_put(struct table *t, const char *name, int64_t now)
{
	size_t len = strlen(name);
	uint32_t slot, hash;
	struct table_entry *e;

	if (len == 0 || len > PROTO_NAME_MAX)
		return NULL;
	hash = table_hash(t, name);
	slot = table_find_slot(t, name, hash);
	if (t->index[slot].entry != 0) {
		/* Still indexed (dead but not yet swept): reuse its entry in place. */
		e = &t->entries[t->index[slot].entry - 1];
		table_notify(t, e);
		ct_wipe(e, sizeof(*e));
		memcpy(e->name, name, len);
		return e;
	}
	if (t->nfree == 0) {
		if (table_expire(t, now, TABLE_PUT_SWEEP_BUDGET) == 0)
			return NULL;
		/* The sweep moved other names around in the index: probe again. */
		slot = table_find_slot(t, name, hash);
	}
	t->index[slot].entry = t->free_list[--t->nfree] + 1;
	t->index[slot].hash = hash;
	t->count++;
	e = &t->entries[t->index[slot].entry - 1];
	memcpy(e->name, name, len);
	return e;
}

/* The IPv4-mapped prefix ::ffff:0:0/96 (RFC 4291 section 2.5.5.2). */
static const uint8_t table_v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

void table_set_private(struct table_entry *e, const struct proto_addr *a, uint8_t n)
{
	memset(e->private_ep, 0, sizeof(e->private_ep));
	for (uint8_t i = 0; i < n && i < PROTO_MAX_PRIVATE; i++) {
		uint8_t *p = e->private_ep[i];

		if (a[i].family == PROTO_AF_INET) {
			memcpy(p, table_v4_mapped, sizeof(table_v4_mapped));
			memcpy(p + 12, a[i].ip, 4);
		} else {
			memcpy(p, a[i].ip, 16);
		}
		bytes_put16(p + 16, a[i].port);
	}
}

uint8_t table_get_private(const struct table_entry *e, struct proto_addr out[PROTO_MAX_PRIVATE])
{
	static const uint8_t none[TABLE_EP_LEN];
	uint8_t n = 0;

	memset(out, 0, PROTO_MAX_PRIVATE * sizeof(*out));
	for (; n < PROTO_MAX_PRIVATE && memcmp(e->private_ep[n], none, TABLE_EP_LEN) != 0; n++) {
		const uint8_t *p = e->private_ep[n];

		/*
		 * An IPv6 endpoint in ::ffff:0:0/96 comes back as IPv4: the same
		 * destination. The server keeps none (net.c unmaps such sources).
		 */
		if (memcmp(p, table_v4_mapped, sizeof(table_v4_mapped)) == 0) {
			out[n].family = PROTO_AF_INET;
			memcpy(out[n].ip, p + 12, 4);
		} else {
			out[n].family = PROTO_AF_INET6;
			memcpy(out[n].ip, p, 16);
		}
		out[n].port = bytes_get16(p + 16);
	}
	return n;
}

void table_remove(struct table *t, const char *name)
{
	uint32_t slot = table_find_slot(t, name, table_hash(t, name));

	if (t->index[slot].entry != 0)
		table_release(t, slot);
}

uint32_t table_expire(struct table *t, int64_t now, uint32_t budget)
{
	uint32_t removed = 0;

	if (budget > t->capacity)
		budget = t->capacity;
	for (; budget > 0; budget--) {
		uint32_t n = t->sweep_pos;
		struct table_entry *e = &t->entries[n];
		uint32_t slot;

		t->sweep_pos = (n + 1 < t->capacity) ? n + 1 : 0;
		if (!table_entry_used(e) || e->expires_ms > now)
			continue;
		/* Its slot is on its name's probe chain; find it by entry number. */
		slot = table_hash(t, e->name) & t->index_mask;
		while (t->index[slot].entry != n + 1)
			slot = (slot + 1) & t->index_mask;
		table_release(t, slot);
		removed++;
	}
	return removed;
}
