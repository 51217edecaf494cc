/* server_presence.c - p2pchatd's presence: a LOOKUP for a name not online waits, and both sides are introduced when it registers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "server.h"
#include "server_impl.h"
#include "siphash.h"

int server_wait_init(struct server *s)
{
	s->waits = server_buckets_alloc(s->cfg.max_names, SERVER_WAIT_SLOTS_MIN,
					SERVER_WAIT_SLOTS_MAX, SERVER_WAIT_WAYS, sizeof(*s->waits),
					&s->wait_mask);
	return s->waits != NULL ? 0 : -1;
}

void *server_buckets_alloc(uint32_t slots, uint32_t min, uint32_t max, uint32_t ways, size_t size,
			   uint32_t *mask)
{
	uint32_t buckets = 1;
	void *p;

	slots = slots < min ? min : slots > max ? max : slots;
	while (buckets * ways < slots)
		buckets *= 2;
	p = calloc((size_t)buckets * ways, size);
	if (p != NULL)
		*mask = buckets - 1;
	return p;
}

void server_wait_free(struct server *s)
{
	free(s->waits);
	s->waits = NULL;
}

/* Returns the first slot of the bucket of waits for `target`. */
static struct server_wait *server_wait_bucket(const struct server *s, const char *target)
{
	uint64_t h = siphash24(s->names.key, target, strlen(target));

	return &s->waits[(h & s->wait_mask) * SERVER_WAIT_WAYS];
}

/* A free slot of the target's bucket, else the one that ends first, takes a new wait. */
int server_wait_add(struct server *s, struct table_entry *req, const char *target, int64_t now)
{
	struct server_wait *b = server_wait_bucket(s, target), *slot = NULL;

	for (int i = 0; i < SERVER_WAIT_WAYS; i++) {
		struct server_wait *w = &b[i];

		if (w->until_ms > now && strcmp(w->target, target) == 0 &&
		    strcmp(w->requester, req->name) == 0) {
			w->until_ms = now + SERVER_WAIT_MS;
			return 1;
		}
		/* A free slot, else the one that ends first. */
		if (slot == NULL || (slot->until_ms > now && w->until_ms < slot->until_ms))
			slot = w;
	}
	/*
	 * Counted per period of SERVER_WAIT_MS, whose number the entry keeps
	 * in 16 bits: a count left from 2^16 periods (455 days) ago is taken
	 * for this period's, and holds the name to it for one period at most.
	 */
	if (req->waits_period != (uint16_t)(now / SERVER_WAIT_MS)) {
		req->waits_period = (uint16_t)(now / SERVER_WAIT_MS);
		req->waits = 0;
	}
	if (req->waits >= SERVER_WAIT_PER_NAME)
		return 0;
	req->waits++;
	snprintf(slot->target, sizeof(slot->target), "%s", target);
	snprintf(slot->requester, sizeof(slot->requester), "%s", req->name);
	slot->until_ms = now + SERVER_WAIT_MS;
	return 1;
}

int server_wait_introduce(struct server *s, const struct table_entry *e, int64_t now,
			  struct server_tx *tx)
{
	struct server_wait *b = server_wait_bucket(s, e->name);
	int n = 0;

	for (int i = 0; i < SERVER_WAIT_WAYS; i++) {
		struct server_wait *w = &b[i];
		const struct table_entry *req;

		if (w->until_ms <= now || strcmp(w->target, e->name) != 0)
			continue;
		w->target[0] = '\0';
		w->until_ms = 0;
		/* This get may remove the dead requester's entry; e does not move. */
		req = table_get(&s->names, w->requester, now);
		if (req == NULL || req == e)
			continue;
		n += server_introduce(s, req, e, now, &tx[n]);
		log_debug("introduced %s, who waited, to %s", req->name, e->name);
	}
	return n;
}
