/* server_other.c - p2pchatd's second family: where a dual-stack name was also proven, kept apart from the name table. */
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "server_impl.h"

/*
 * Most names have one endpoint, so the table's entries keep one, and the
 * other family's lives here: a table sized at start (an eighth of the
 * names, within SERVER_OTHER_SLOTS_MIN..MAX), in buckets of
 * SERVER_OTHER_WAYS by the entry's number. A new endpoint takes a free
 * slot of its bucket or the one that ends first: when more names are
 * dual-stack than it holds, some lose their second family (their PEERs
 * carry one endpoint, as before) until their next REFRESH from it.
 */
int server_other_init(struct server *s)
{
	s->others = server_buckets_alloc(s->cfg.max_names / 8, SERVER_OTHER_SLOTS_MIN,
					 SERVER_OTHER_SLOTS_MAX, SERVER_OTHER_WAYS, sizeof(*s->others),
					 &s->other_mask);
	return s->others != NULL ? 0 : -1;
}

void server_other_free(struct server *s)
{
	free(s->others);
	s->others = NULL;
}

/* e's number in the table, + 1: what a slot holds (0 is a free slot). */
static uint32_t entry_id(const struct server *s, const struct table_entry *e)
{
	return (uint32_t)(e - s->names.entries) + 1;
}

/* The first slot of e's bucket. Entry numbers are dense; Knuth's multiplier spreads them anyway. */
static struct server_other *bucket(const struct server *s, uint32_t id)
{
	return &s->others[((id * 2654435761u) & s->other_mask) * SERVER_OTHER_WAYS];
}

/* e's slot, live at now, or NULL. */
static struct server_other *find(const struct server *s, const struct table_entry *e,
				 int64_t now)
{
	uint32_t id = entry_id(s, e);
	struct server_other *b = bucket(s, id);

	for (int i = 0; i < SERVER_OTHER_WAYS; i++)
		if (b[i].entry == id && b[i].until_ms > now)
			return &b[i];
	return NULL;
}

const struct proto_addr *server_other_get(const struct server *s, const struct table_entry *e,
					  int64_t now)
{
	const struct server_other *o = find(s, e, now);

	return o != NULL ? &o->ep : NULL;
}

void server_other_set(struct server *s, const struct table_entry *e, const struct proto_addr *ep,
		      int64_t now)
{
	uint32_t id = entry_id(s, e);
	struct server_other *b = bucket(s, id), *slot = NULL;

	for (int i = 0; i < SERVER_OTHER_WAYS; i++) {
		if (b[i].entry == id) {
			slot = &b[i];
			break;
		}
		/* A free (or ended) slot, else the one that ends first. */
		if (slot == NULL || (slot->until_ms > now && b[i].until_ms < slot->until_ms))
			slot = &b[i];
	}
	slot->entry = id;
	slot->ep = *ep;
	slot->until_ms = now + (int64_t)s->cfg.ttl_s * 1000;
}

void server_other_forget(struct server *s, const struct table_entry *e)
{
	uint32_t id = entry_id(s, e);
	struct server_other *b = bucket(s, id);

	for (int i = 0; i < SERVER_OTHER_WAYS; i++)
		if (b[i].entry == id)
			memset(&b[i], 0, sizeof(b[i]));
}
