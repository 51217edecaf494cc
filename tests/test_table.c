/* test_table.c - unit tests for siphash.c and table.c, with a model-checked random run. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "siphash.h"
#include "table.h"
#include "harness.h"

/* The key of the SipHash paper and reference code: 00 01 02 ... 0f. */
static void test_key(uint8_t key[SIPHASH_KEY_LEN])
{
	int i;

	for (i = 0; i < SIPHASH_KEY_LEN; i++)
		key[i] = (uint8_t)i;
}

/* A different key, for tables: any fixed bytes do. */
static const uint8_t table_key[SIPHASH_KEY_LEN] = "p2pchat-testkey";

START_TEST(siphash_vectors)
{
	/*
	 * SipHash-2-4 of the message 00 01 02 ... (len-1) under the key
	 * 00 01 ... 0f, as 64-bit values (the reference code prints them as
	 * their 8 little-endian bytes). len 15 is the worked example in
	 * Appendix A of the paper; the others are from the reference outputs
	 * for lengths 0..63, picked around the 8-byte word boundaries.
	 */
	static const struct {
		size_t len;
		uint64_t want;
	} rows[] = {
		{ 0, UINT64_C(0x726fdb47dd0e0e31) },  /* empty: the length block alone */
		{ 1, UINT64_C(0x74f839c593dc67fd) },  /* one tail byte */
		{ 7, UINT64_C(0xab0200f58b01d137) },  /* the longest tail, no full word */
		{ 8, UINT64_C(0x93f5f5799a932462) },  /* one full word, empty tail */
		{ 15, UINT64_C(0xa129ca6149be45e5) }, /* the paper's example */
		{ 16, UINT64_C(0x3f2acc7f57c29bdb) }, /* two full words */
		{ 32, UINT64_C(0x7127512f72f27cce) }, /* four full words */
		{ 63, UINT64_C(0x958a324ceb064572) }, /* seven words and a 7-byte tail */
	};
	uint8_t key[SIPHASH_KEY_LEN];
	uint8_t msg[64];
	size_t i;

	test_key(key);
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ck_assert_msg(siphash24(key, msg, rows[i].len) == rows[i].want,
			      "siphash24 of %zu bytes", rows[i].len);
}
END_TEST

START_TEST(siphash_depends_on_key)
{
	uint8_t key[SIPHASH_KEY_LEN];
	uint64_t h;

	test_key(key);
	h = siphash24(key, "alice", 5);
	key[15] ^= 1;
	ck_assert(siphash24(key, "alice", 5) != h);
}
END_TEST

/*
 * Puts name at time now, which must succeed, and makes the entry live until
 * expires_ms. Returns the entry.
 */
static struct table_entry *put_until(struct table *t, const char *name, int64_t now,
				     int64_t expires_ms)
{
	struct table_entry *e = table_put(t, name, now);

	ck_assert_msg(e != NULL, "put %s", name);
	ck_assert_str_eq(e->name, name);
	e->expires_ms = expires_ms;
	return e;
}

START_TEST(init_refuses_bad_capacity)
{
	struct table t;

	ck_assert_int_eq(table_init(&t, 0, table_key), -1);
	ck_assert_int_eq(table_init(&t, (UINT32_C(1) << 30) + 1, table_key), -1);
	ck_assert_int_eq(table_init(&t, UINT32_MAX, table_key), -1);
}
END_TEST

START_TEST(init_sizes_index)
{
	struct table t;

	/* The index is the power of two >= 2 * capacity. */
	ck_assert_int_eq(table_init(&t, 1, table_key), 0);
	ck_assert_uint_eq(t.index_mask, 1);
	ck_assert_uint_eq(t.nfree, 1);
	table_free(&t);
	ck_assert_int_eq(table_init(&t, 5, table_key), 0);
	ck_assert_uint_eq(t.index_mask, 15);
	table_free(&t);
	ck_assert_int_eq(table_init(&t, 8, table_key), 0);
	ck_assert_uint_eq(t.index_mask, 15);
	ck_assert_uint_eq(t.capacity, 8);
	ck_assert_uint_eq(t.count, 0);
	table_free(&t);
}
END_TEST

START_TEST(put_get_remove)
{
	struct table t;
	struct table_entry *e;
	struct proto_addr pv[PROTO_MAX_PRIVATE];

	ck_assert_int_eq(table_init(&t, 16, table_key), 0);
	ck_assert_ptr_null(table_get(&t, "alice", 0));

	e = table_put(&t, "alice", 0);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "alice");
	ck_assert_int_eq(e->expires_ms, 0); /* the rest is zeroed */
	ck_assert_uint_eq(table_get_private(e, pv), 0);
	e->expires_ms = 1000;
	e->k[0] = 0xaa;

	e = put_until(&t, "bob", 0, 1000);
	e->k[0] = 0xbb;
	ck_assert_uint_eq(t.count, 2);

	e = table_get(&t, "alice", 10);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, "alice");
	ck_assert_uint_eq(e->k[0], 0xaa);
	e = table_get(&t, "bob", 10);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->k[0], 0xbb);
	ck_assert_ptr_null(table_get(&t, "alic", 10));
	ck_assert_ptr_null(table_get(&t, "alice2", 10));

	table_remove(&t, "alice");
	ck_assert_uint_eq(t.count, 1);
	ck_assert_ptr_null(table_get(&t, "alice", 10));
	ck_assert_ptr_nonnull(table_get(&t, "bob", 10));
	table_remove(&t, "alice"); /* absent: nothing happens */
	ck_assert_uint_eq(t.count, 1);
	table_free(&t);
}
END_TEST

/* Returns the index slot that holds name in t, after a walk like table.c's; fails if none. */
static uint32_t slot_of(const struct table *t, const char *name)
{
	uint32_t hash = (uint32_t)siphash24(t->key, name, strlen(name));
	uint32_t i = hash & t->index_mask;

	while (t->index[i].entry != 0) {
		if (strcmp(t->entries[t->index[i].entry - 1].name, name) == 0)
			return i;
		i = (i + 1) & t->index_mask;
	}
	ck_abort_msg("%s is not in the index", name);
	return 0;
}

START_TEST(index_keeps_hash)
{
	struct table t;
	uint32_t slot;

	ck_assert_int_eq(table_init(&t, 16, table_key), 0);
	put_until(&t, "alice", 0, 1000);
	put_until(&t, "bob", 0, 1000);
	slot = slot_of(&t, "alice");
	/* The slot keeps the low 32 bits of the name's SipHash: its home, and a tag. */
	ck_assert_uint_eq(t.index[slot].hash, (uint32_t)siphash24(t.key, "alice", 5));
	/*
	 * A probe reads an entry only when the slot's hash is the name's: with
	 * the tag changed, the entry holding "alice" is passed over as someone
	 * else's, so a lookup that read names alone would still find it.
	 */
	t.index[slot].hash ^= 1u << 31; /* not a bit of the home: the probe still passes here */
	ck_assert_ptr_null(table_get(&t, "alice", 10));
	t.index[slot].hash ^= 1u << 31;
	ck_assert_ptr_nonnull(table_get(&t, "alice", 10));
	ck_assert_ptr_nonnull(table_get(&t, "bob", 10));
	table_free(&t);
}
END_TEST

START_TEST(large_table)
{
	/*
	 * 100 000 names: 16.8 MB of entries and 2 MiB of index, which
	 * net_table_alloc gives pages of their own (huge ones, on Linux). They
	 * read as zeros, the last entry and index slot are usable, and
	 * table_free gives them back (the sanitizers' leak check would see a
	 * lost calloc; a munmap of the wrong size shows under valgrind).
	 */
	struct table t;
	char name[PROTO_NAME_MAX + 1];
	uint32_t i, n = 100000;

	ck_assert_int_eq(table_init(&t, n, table_key), 0);
	for (i = 0; i < n; i += 997) {
		ck_assert_int_eq(t.entries[i].name[0], 0);
		ck_assert_int_eq(t.entries[i].expires_ms, 0);
	}
	ck_assert_int_eq(t.entries[n - 1].name[0], 0);
	for (i = 0; i <= t.index_mask; i += 1021)
		ck_assert_uint_eq(t.index[i].entry, 0);
	ck_assert_uint_eq(t.index[t.index_mask].entry, 0);
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		put_until(&t, name, 0, 1000);
	}
	ck_assert_uint_eq(t.count, n);
	ck_assert_ptr_null(table_put(&t, "one-more", 0));
	ck_assert_ptr_eq(table_get(&t, "n99999", 1), &t.entries[n - 1]);
	ck_assert_ptr_eq(table_get(&t, "n0", 1), &t.entries[0]);
	table_free(&t);
}
END_TEST

START_TEST(full_table_and_reuse)
{
	struct table t;
	const char *names[] = { "a", "b", "c" };
	size_t i;

	ck_assert_int_eq(table_init(&t, 3, table_key), 0);
	for (i = 0; i < 3; i++)
		put_until(&t, names[i], 0, 1000);
	ck_assert_ptr_null(table_put(&t, "d", 0));
	ck_assert_uint_eq(t.count, 3);

	table_remove(&t, "b");
	put_until(&t, "d", 0, 1000);
	ck_assert_ptr_null(table_put(&t, "e", 0));
	ck_assert_ptr_nonnull(table_get(&t, "a", 0));
	ck_assert_ptr_nonnull(table_get(&t, "c", 0));
	ck_assert_ptr_nonnull(table_get(&t, "d", 0));
	ck_assert_ptr_null(table_get(&t, "b", 0));
	table_free(&t);
}
END_TEST

START_TEST(full_table_reuses_dead_entry)
{
	struct table t;

	ck_assert_int_eq(table_init(&t, 2, table_key), 0);
	put_until(&t, "old", 0, 500);
	put_until(&t, "keep", 0, 5000);
	/* Full of live names: refused. */
	ck_assert_ptr_null(table_put(&t, "new", 499));
	/* "old" is dead from 500 on, though nobody swept it: put reclaims it. */
	put_until(&t, "new", 500, 5000);
	ck_assert_uint_eq(t.count, 2);
	ck_assert_ptr_null(table_get(&t, "old", 500));
	ck_assert_ptr_nonnull(table_get(&t, "keep", 500));
	ck_assert_ptr_nonnull(table_get(&t, "new", 500));
	table_free(&t);
}
END_TEST

START_TEST(put_over_dead_entry_reuses_it)
{
	struct table t;
	struct table_entry *e;

	ck_assert_int_eq(table_init(&t, 4, table_key), 0);
	e = put_until(&t, "alice", 0, 100);
	e->k[0] = 1;
	/* Dead but still indexed: put hands back a clean entry, and no duplicate. */
	e = table_put(&t, "alice", 200);
	ck_assert_ptr_nonnull(e);
	ck_assert_uint_eq(e->k[0], 0);
	ck_assert_int_eq(e->expires_ms, 0);
	e->expires_ms = 300;
	ck_assert_uint_eq(t.count, 1);
	ck_assert_ptr_nonnull(table_get(&t, "alice", 200));
	table_remove(&t, "alice");
	ck_assert_ptr_null(table_get(&t, "alice", 200));
	ck_assert_uint_eq(t.count, 0);
	table_free(&t);
}
END_TEST

/* on_remove's record: the names it was told about, in order, joined by spaces. */
static char removed_names[256];

static void note_removed(void *ctx, const struct table_entry *e)
{
	size_t n = strlen(removed_names);

	ck_assert_ptr_eq(ctx, removed_names);
	/* Told before the entry is cleared: its fields are all still there. */
	ck_assert_uint_eq(e->k[0], (uint8_t)e->name[0]);
	snprintf(removed_names + n, sizeof(removed_names) - n, "%s%s", n > 0 ? " " : "", e->name);
}

/* Every way an entry can go tells on_remove once: remove, a dead get, expiry, put over a dead one. */
START_TEST(on_remove_hears_every_removal)
{
	struct table t;
	const char *names[] = { "alice", "bob", "carol", "dave" };
	size_t i;

	ck_assert_int_eq(table_init(&t, 8, table_key), 0);
	t.on_remove = note_removed;
	t.on_remove_ctx = removed_names;
	removed_names[0] = '\0';
	for (i = 0; i < 4; i++)
		put_until(&t, names[i], 0, 100)->k[0] = (uint8_t)names[i][0];
	table_remove(&t, "alice");
	table_remove(&t, "nobody");
	ck_assert_str_eq(removed_names, "alice");
	ck_assert_ptr_null(table_get(&t, "bob", 100));
	ck_assert_str_eq(removed_names, "alice bob");
	put_until(&t, "carol", 100, 200)->k[0] = 'c';
	ck_assert_str_eq(removed_names, "alice bob carol");
	ck_assert_uint_eq(table_expire(&t, 100, 8), 1);
	ck_assert_str_eq(removed_names, "alice bob carol dave");
	ck_assert_uint_eq(t.count, 1);
	table_free(&t);
}
END_TEST

START_TEST(expiry_is_exact)
{
	struct table t;

	ck_assert_int_eq(table_init(&t, 4, table_key), 0);
	put_until(&t, "alice", 0, 1000);
	ck_assert_ptr_nonnull(table_get(&t, "alice", 999));
	ck_assert_uint_eq(t.count, 1);
	/* Dead at exactly expires_ms, and removed by the get that saw it. */
	ck_assert_ptr_null(table_get(&t, "alice", 1000));
	ck_assert_uint_eq(t.count, 0);
	ck_assert_uint_eq(t.nfree, 4);
	/* Even going back in time, it is gone. */
	ck_assert_ptr_null(table_get(&t, "alice", 0));
	table_free(&t);
}
END_TEST

START_TEST(expire_with_budget)
{
	struct table t;
	char name[16];
	uint32_t i, removed, calls;

	ck_assert_int_eq(table_init(&t, 100, table_key), 0);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "user%u", i);
		put_until(&t, name, 0, (i % 2) ? 500 : 10000); /* odd ones die at 500 */
	}
	ck_assert_uint_eq(table_expire(&t, 499, 1000), 0);

	removed = 0;
	for (calls = 0; calls < 20 && removed < 50; calls++) {
		uint32_t n = table_expire(&t, 500, 7);

		ck_assert_uint_le(n, 7);
		removed += n;
	}
	ck_assert_uint_eq(removed, 50);
	/* 7 entries a call over 100 entries: a full pass takes 14 or 15 calls. */
	ck_assert_uint_ge(calls, 14);
	ck_assert_uint_eq(t.count, 50);
	ck_assert_uint_eq(table_expire(&t, 500, 1000), 0);
	for (i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "user%u", i);
		if (i % 2)
			ck_assert_ptr_null(table_get(&t, name, 500));
		else
			ck_assert_ptr_nonnull(table_get(&t, name, 500));
	}
	table_free(&t);
}
END_TEST

/* xorshift64* (Vigna): a small seeded PRNG, so every run does the same operations. */
static uint64_t rng_state;

static uint64_t rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

static uint32_t rng_below(uint32_t n)
{
	return (uint32_t)(rng_next() % n);
}

/*
 * The reference model: a plain array, one row per name of the pool. A row
 * is "present" from a successful put until a remove, a get that finds it
 * dead, or a sweep the test notices (reconcile). Each put stamps a serial
 * number into the token so a get can tell it found the right entry.
 */
struct model_row {
	char name[16];
	int present;
	int64_t expires_ms;
	uint64_t serial;
};

static void put_serial(uint8_t token[PROTO_TOKEN_LEN], uint64_t v)
{
	bytes_put64(token, v);
}

static uint64_t get_serial(const uint8_t token[PROTO_TOKEN_LEN])
{
	return bytes_get64(token);
}

static int model_live(const struct model_row *r, int64_t now)
{
	return r->present && r->expires_ms > now;
}

/*
 * Checks the table's structure against its own rules, then against the
 * model: every used entry is indexed exactly once and reachable from its
 * home slot without crossing an empty slot (what backward-shift deletion
 * must preserve); the free list holds exactly the unused entries; every
 * live model row is in the table with its data, and every table entry is a
 * present model row. Rows swept away by table_expire or table_put become
 * absent in the model.
 */
static void check_table(struct table *t, struct model_row *rows, uint32_t nrows, int64_t now)
{
	uint32_t index_size = t->index_mask + 1;
	uint32_t used = 0, indexed = 0, i;
	char *seen_entry = calloc(t->capacity, 1);
	char *seen_row = calloc(nrows, 1);

	ck_assert_ptr_nonnull(seen_entry);
	ck_assert_ptr_nonnull(seen_row);
	ck_assert_uint_eq(t->count + t->nfree, t->capacity);
	ck_assert_uint_le(t->count * 2, index_size);

	for (i = 0; i < index_size; i++) {
		uint32_t v = t->index[i].entry, slot, hash;

		if (v == 0) {
			ck_assert_uint_eq(t->index[i].hash, 0); /* an empty slot keeps nothing */
			continue;
		}
		indexed++;
		ck_assert_uint_le(v, t->capacity);
		ck_assert_int_eq(seen_entry[v - 1], 0); /* one slot per entry */
		seen_entry[v - 1] = 1;
		ck_assert(t->entries[v - 1].name[0] != '\0');
		/* The slot keeps its name's hash, which moved along with it in every shift. */
		hash = (uint32_t)siphash24(t->key, t->entries[v - 1].name,
					   strlen(t->entries[v - 1].name));
		ck_assert_uint_eq(t->index[i].hash, hash);
		/* Walk from the home slot: no empty slot before this one. */
		slot = hash & t->index_mask;
		while (slot != i) {
			ck_assert_uint_ne(t->index[slot].entry, 0);
			slot = (slot + 1) & t->index_mask;
		}
	}
	for (i = 0; i < t->capacity; i++) {
		const struct table_entry *e = &t->entries[i];
		unsigned long row;

		if (e->name[0] == '\0')
			continue;
		used++;
		ck_assert_int_eq(seen_entry[i], 1);
		ck_assert_int_eq(sscanf(e->name, "n%lu", &row), 1);
		ck_assert_uint_lt(row, nrows);
		ck_assert_int_eq(seen_row[row], 0); /* no name twice */
		seen_row[row] = 1;
		ck_assert_msg(rows[row].present, "%s in the table, not in the model", e->name);
		ck_assert_int_eq(e->expires_ms, rows[row].expires_ms);
		ck_assert_uint_eq(get_serial(e->k), rows[row].serial);
	}
	ck_assert_uint_eq(used, t->count);
	ck_assert_uint_eq(indexed, t->count);
	for (i = 0; i < t->nfree; i++) {
		ck_assert_uint_lt(t->free_list[i], t->capacity);
		ck_assert(t->entries[t->free_list[i]].name[0] == '\0');
	}
	for (i = 0; i < nrows; i++) {
		if (model_live(&rows[i], now))
			ck_assert_msg(seen_row[i], "%s live but not in the table", rows[i].name);
		if (!seen_row[i])
			rows[i].present = 0; /* swept, or never there */
	}
	free(seen_entry);
	free(seen_row);
}

/* random_run's get of r, operation i: found exactly when the model says live. Returns 1 when found. */
static int model_get(struct table *t, struct model_row *r, int64_t now, uint32_t i)
{
	struct table_entry *e = table_get(t, r->name, now);

	ck_assert_msg((e != NULL) == model_live(r, now), "get %s, op %u", r->name, i);
	if (e == NULL) {
		r->present = 0;
		return 0;
	}
	ck_assert_str_eq(e->name, r->name);
	ck_assert_uint_eq(get_serial(e->k), r->serial);
	return 1;
}

/*
 * random_run's put of r, a name that is not live, with a random lifetime
 * and serial. Returns 1, or 0 when the table refused it: only when every
 * entry is in use (and none dead within reach).
 */
static int model_put(struct table *t, struct model_row *r, int64_t now, uint64_t serial)
{
	struct table_entry *e = table_put(t, r->name, now);

	if (e == NULL) {
		ck_assert_uint_eq(t->count, t->capacity);
		r->present = 0;
		return 0;
	}
	ck_assert_str_eq(e->name, r->name);
	ck_assert_uint_eq(get_serial(e->k), 0);
	e->expires_ms = now + 1 + rng_below(rng_below(2) ? 60 : 4000);
	put_serial(e->k, serial);
	r->present = 1;
	r->expires_ms = e->expires_ms;
	r->serial = serial;
	return 1;
}

/* Runs nops random operations on a table of `capacity` names drawn from a pool of nrows. */
static void random_run(uint64_t seed, uint32_t capacity, uint32_t nrows, uint32_t nops)
{
	struct table t;
	struct model_row *rows = calloc(nrows, sizeof(*rows));
	uint64_t serial = 0;
	uint32_t i, puts_ok = 0, puts_full = 0, gets_hit = 0, expired = 0;
	int64_t now = 1000;

	ck_assert_ptr_nonnull(rows);
	for (i = 0; i < nrows; i++)
		snprintf(rows[i].name, sizeof(rows[i].name), "n%u", i);
	rng_state = seed;
	ck_assert_int_eq(table_init(&t, capacity, table_key), 0);

	for (i = 0; i < nops; i++) {
		struct model_row *r = &rows[rng_below(nrows)];
		uint32_t op = rng_below(100);

		if (rng_below(4) == 0)
			now += rng_below(3);

		if (op < 40 || (op < 75 && model_live(r, now))) {
			gets_hit += (uint32_t)model_get(&t, r, now, i);
		} else if (op < 75) {
			if (!model_put(&t, r, now, serial + 1)) {
				puts_full++;
				continue;
			}
			serial++;
			puts_ok++;
		} else if (op < 90) {
			table_remove(&t, r->name);
			r->present = 0;
		} else {
			uint32_t budget = 1 + rng_below(64);
			uint32_t n = table_expire(&t, now, budget);

			ck_assert_uint_le(n, budget);
			expired += n;
		}
		ck_assert_uint_le(t.count, t.capacity);
		if (i % 997 == 0)
			check_table(&t, rows, nrows, now);
	}
	check_table(&t, rows, nrows, now);
	/* The run did exercise what it claims to. */
	ck_assert_uint_gt(puts_ok, nops / 20);
	ck_assert_uint_gt(puts_full, 0);
	ck_assert_uint_gt(gets_hit, nops / 20);
	ck_assert_uint_gt(expired, 0);

	/* A final full sweep far in the future empties the table. */
	now += 5000;
	for (i = 0; i < capacity; i += 100)
		table_expire(&t, now, 100);
	ck_assert_uint_eq(t.count, 0);
	for (i = 0; i <= t.index_mask; i++)
		ck_assert_uint_eq(t.index[i].entry, 0);
	table_free(&t);
	free(rows);
}

START_TEST(random_against_model)
{
	/* A few thousand names competing for 768 entries. */
	random_run(UINT64_C(0x9e3779b97f4a7c15), 768, 3000, 200000);
}
END_TEST

START_TEST(random_small_table)
{
	/* 8 entries, 16 slots: chains wrap around the end of the index all the time. */
	random_run(UINT64_C(0x0123456789abcdef), 8, 24, 100000);
}
END_TEST

/*
 * An entry keeps its private endpoints in 18 bytes each (table.h): IPv4
 * and IPv6 come back as they went in, in order, with their ports; fewer
 * than PROTO_MAX_PRIVATE leave the rest empty, and a shorter list replaces
 * a longer one whole.
 */
START_TEST(private_endpoints_round_trip)
{
	struct table_entry e;
	struct proto_addr in[PROTO_MAX_PRIVATE], out[PROTO_MAX_PRIVATE];

	memset(&e, 0, sizeof(e));
	in[0] = harness_addr4(192, 168, 1, 20, 5000);
	in[1] = harness_addr6(0xfd00, 7, 65535); /* a port with its high bit set */
	in[2] = harness_addr4(10, 0, 0, 1, 1);
	in[3] = harness_addr6(0xfe80, 1, 40000);
	table_set_private(&e, in, PROTO_MAX_PRIVATE);
	ck_assert_uint_eq(table_get_private(&e, out), PROTO_MAX_PRIVATE);
	for (int i = 0; i < PROTO_MAX_PRIVATE; i++)
		ck_assert(proto_addr_equal(&out[i], &in[i]));
	ck_assert_uint_eq(out[0].family, PROTO_AF_INET);
	ck_assert_uint_eq(out[1].family, PROTO_AF_INET6);

	table_set_private(&e, &in[2], 1);
	ck_assert_uint_eq(table_get_private(&e, out), 1);
	ck_assert(proto_addr_equal(&out[0], &in[2]));
	ck_assert_uint_eq(out[1].family, 0); /* out's rest is cleared */

	table_set_private(&e, in, 0);
	ck_assert_uint_eq(table_get_private(&e, out), 0);
}
END_TEST

static Suite *table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("core");
	TCase *tr = tcase_create("random");

	tcase_add_test(tc, siphash_vectors);
	tcase_add_test(tc, siphash_depends_on_key);
	tcase_add_test(tc, init_refuses_bad_capacity);
	tcase_add_test(tc, init_sizes_index);
	tcase_add_test(tc, put_get_remove);
	tcase_add_test(tc, index_keeps_hash);
	tcase_add_test(tc, large_table);
	tcase_add_test(tc, full_table_and_reuse);
	tcase_add_test(tc, full_table_reuses_dead_entry);
	tcase_add_test(tc, put_over_dead_entry_reuses_it);
	tcase_add_test(tc, on_remove_hears_every_removal);
	tcase_add_test(tc, expiry_is_exact);
	tcase_add_test(tc, expire_with_budget);
	tcase_add_test(tc, private_endpoints_round_trip);
	suite_add_tcase(s, tc);

	/* Generous: the sanitizers slow the 200k-operation run down several times. */
	tcase_set_timeout(tr, 120);
	tcase_add_test(tr, random_against_model);
	tcase_add_test(tr, random_small_table);
	suite_add_tcase(s, tr);
	return s;
}

int main(void)
{
	return harness_run(table_suite());
}
