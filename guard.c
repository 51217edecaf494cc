/* guard.c - the server's defences: stateless address cookies and per-source token buckets. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "guard.h"

/*
 * The source table, and why it is direct-mapped and shared on collision.
 *
 * A source (an IPv4 address, or an IPv6 /64) has exactly one slot:
 * siphash(key, source) & (slots - 1). The key is random at start, so a
 * sender cannot choose addresses that land on someone else's slot. On a
 * request from source S whose slot holds source T:
 *
 *   free slot, or T == S      -> S uses it.
 *   T idle                    -> S takes it over and becomes its owner.
 *   T busy                    -> S is charged to T's buckets (the slot is
 *                                shared) and g->shared counts it.
 *
 * "Idle" means the slot holds no names and every bucket has refilled to
 * its burst: such a slot is in exactly the state a fresh slot starts in,
 * so forgetting T loses nothing; if T comes back it starts where it was.
 *
 * Why a busy slot is shared rather than taken over: if S could take over
 * T's drained buckets, a flooding T would get a full bucket back each
 * time a colliding S stole the slot and T stole it back, and so escape
 * its limit. Shared, nobody ever gets more than the slot's budget: a
 * collision can only make the limit tighter, and only for the few sources
 * hashed onto the same slot as a busy one. With the defaults (65536
 * slots, budgets far above what one honest client spends) two quiet
 * sources sharing a slot never notice; a source sharing a flooder's slot
 * does, with odds of about 1 in `slots` per flooding source.
 *
 * Names are counted per slot, not per owner: guard_name_add and
 * guard_name_remove for one source always reach the same slot, whoever
 * owns it, so a slot's count is exactly the names held by the sources
 * hashed onto it. A slot holding names is never idle, so it is never
 * taken over and no count is ever lost. A remove with the count at 0 (a
 * caller removing what it never added) leaves it at 0.
 *
 * Nothing is allocated after guard_init, and every request does one hash
 * and looks at one slot.
 */

/* Separates the key's two uses, so a cookie input can never equal a slot input. */
#define GUARD_TAG_COOKIE 'c'
#define GUARD_TAG_SLOT 's'

/*
 * The longest idle time a refill counts, in ms (about 49.7 days). Then
 * elapsed_ms * per_s fits in 64 bits, and every bucket is full again:
 * even at 1 token per second, GUARD_BURST_MAX tokens take ~49.7 days.
 */
#define GUARD_ELAPSED_MAX_MS INT64_C(0xffffffff)

/* The cookie of src for one period, before it is cut to bytes. */
static uint64_t guard_cookie_hash(const struct guard *g, const struct proto_addr *src,
				  uint64_t period)
{
	uint8_t buf[1 + 1 + 16 + 2 + 8];
	size_t iplen = src->family == PROTO_AF_INET6 ? 16 : 4;
	size_t off = 0;

	buf[off++] = GUARD_TAG_COOKIE;
	buf[off++] = src->family;
	memcpy(buf + off, src->ip, iplen);
	off += iplen;
	buf[off++] = (uint8_t)(src->port >> 8);
	buf[off++] = (uint8_t)src->port;
	bytes_put64(buf + off, period);
	off += 8;
	return siphash24(g->key, buf, off);
}

/* The period of time now: cookies made in it are good in it and the next. */
static uint64_t guard_period(int64_t now)
{
	return (uint64_t)(now / GUARD_COOKIE_PERIOD_MS);
}

void guard_cookie(const struct guard *g, const struct proto_addr *src, int64_t now,
		  uint8_t out[GUARD_COOKIE_LEN])
{
	bytes_put64(out, guard_cookie_hash(g, src, guard_period(now)));
}

/*
 * Returns 1 when a and b hold the same GUARD_COOKIE_LEN bytes. It looks at
 * every byte whatever it finds, so the time taken tells a guesser nothing.
 */
static int guard_cookie_equal(const uint8_t *a, const uint8_t *b)
{
	uint8_t diff = 0;
	int i;

	for (i = 0; i < GUARD_COOKIE_LEN; i++)
		diff |= (uint8_t)(a[i] ^ b[i]);
	return diff == 0;
}

int guard_cookie_ok(const struct guard *g, const struct proto_addr *src,
		    const uint8_t cookie[GUARD_COOKIE_LEN], int64_t now)
{
	uint64_t period = guard_period(now);
	uint8_t cur[GUARD_COOKIE_LEN], prev[GUARD_COOKIE_LEN];
	int ok;

	bytes_put64(cur, guard_cookie_hash(g, src, period));
	bytes_put64(prev, guard_cookie_hash(g, src, period - 1));
	/* Both compared, always: which one matched is nobody's business. */
	ok = guard_cookie_equal(cookie, cur);
	ok |= guard_cookie_equal(cookie, prev);
	return ok;
}

/* An IPv4 address carried in IPv6 as ::ffff:a.b.c.d (RFC 4291, section 2.5.5.2). */
static int guard_v4_mapped(const uint8_t ip[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(ip, prefix, sizeof(prefix)) == 0;
}

/*
 * Writes the source that src's budget belongs to into ip (16 bytes, zeros
 * after the part that counts) and returns how many bytes count: 4 for
 * IPv4, 8 (the /64) for IPv6. net.c unmaps IPv4-mapped addresses; should
 * one still arrive, it counts whole, or every IPv4 client would share the
 * prefix ::/64 and so one budget.
 */
static size_t guard_source(const struct proto_addr *src, uint8_t ip[16])
{
	size_t n = 4;

	if (src->family == PROTO_AF_INET6)
		n = guard_v4_mapped(src->ip) ? 16 : 8;
	memset(ip, 0, 16);
	memcpy(ip, src->ip, n);
	return n;
}

/*
 * The bucket size of kind, in thousandths of a token; 0 for an unlimited
 * kind, whose burst guard_init did not check and whose bucket is unused.
 */
static uint32_t guard_cap(const struct guard_config *cfg, int kind)
{
	if (cfg->rate[kind].per_s == 0)
		return 0;
	return cfg->rate[kind].burst * 1000;
}

/* Gives slot s a new owner (family, ip) with nothing spent, at time now. */
static void guard_slot_claim(const struct guard *g, struct guard_slot *s, uint8_t family,
			     const uint8_t ip[16], int64_t now)
{
	int k;

	s->family = family;
	memcpy(s->ip, ip, 16);
	s->names = 0;
	s->last_ms = now;
	for (k = 0; k < GUARD_NKINDS; k++)
		s->tokens[k] = guard_cap(&g->cfg, k);
}

/*
 * Adds to s's buckets what they earned since s->last_ms: per_s tokens a
 * second is per_s thousandths a millisecond, so integer math loses
 * nothing. A clock that stood still or went back adds nothing.
 */
static void guard_refill(const struct guard *g, struct guard_slot *s, int64_t now)
{
	int64_t elapsed = now - s->last_ms;
	int k;

	if (elapsed <= 0)
		return;
	if (elapsed > GUARD_ELAPSED_MAX_MS)
		elapsed = GUARD_ELAPSED_MAX_MS;
	for (k = 0; k < GUARD_NKINDS; k++) {
		uint64_t cap = guard_cap(&g->cfg, k);
		/* At most (2^32 - 1) + (2^32 - 1)^2 < 2^64: no wrap. */
		uint64_t t = s->tokens[k] + (uint64_t)elapsed * g->cfg.rate[k].per_s;

		s->tokens[k] = (uint32_t)(t < cap ? t : cap);
	}
	s->last_ms = now;
}

/* Returns 1 when s, refilled, is as a fresh slot would be: no names, every bucket full. */
static int guard_slot_idle(const struct guard *g, const struct guard_slot *s)
{
	int k;

	if (s->names != 0)
		return 0;
	for (k = 0; k < GUARD_NKINDS; k++)
		if (s->tokens[k] < guard_cap(&g->cfg, k))
			return 0;
	return 1;
}

/* Returns the one slot src hashes onto, and writes its source (guard_source) into ip. */
static struct guard_slot *guard_slot_of(struct guard *g, const struct proto_addr *src,
					uint8_t ip[16])
{
	uint8_t key[1 + 1 + 16];
	size_t n = guard_source(src, ip);

	key[0] = GUARD_TAG_SLOT;
	key[1] = src->family;
	memcpy(key + 2, ip, n);
	return &g->slots[siphash24(g->key, key, 2 + n) & (g->cfg.slots - 1)];
}

/* Returns src's slot, refilled to now, after the rules at the top of this file. */
static struct guard_slot *guard_slot_get(struct guard *g, const struct proto_addr *src,
					 int64_t now)
{
	uint8_t ip[16];
	struct guard_slot *s = guard_slot_of(g, src, ip);

	if (s->family == 0) {
		guard_slot_claim(g, s, src->family, ip, now);
		return s;
	}
	guard_refill(g, s, now);
	if (s->family == src->family && memcmp(s->ip, ip, 16) == 0)
		return s;
	if (guard_slot_idle(g, s))
		guard_slot_claim(g, s, src->family, ip, now);
	else
		g->shared++;
	return s;
}

const char *guard_kind_name(int kind)
{
	static const char *const names[GUARD_NKINDS] = {
		[GUARD_REGISTER] = "register",
		[GUARD_LOOKUP] = "lookup",
		[GUARD_RELAY] = "relay",
		[GUARD_STUN] = "stun",
	};

	return kind >= 0 && kind < GUARD_NKINDS ? names[kind] : "unknown";
}

/*
 * The defaults. A home NAT or an office puts many users behind one IPv4
 * address, so every budget is sized for a crowd, not for one client: the
 * limits are there to stop floods, and a flood is thousands a second.
 */
void guard_defaults(struct guard_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/*
	 * REGISTER and REFRESH: a client refreshes every 20 s (0.05/s), so 2/s
	 * carries 40 clients behind one address. A burst of 20: a household or
	 * small office restarting at once (after a power cut), two requests
	 * each with the cookie round trip, and a few lost and sent again.
	 */
	cfg->rate[GUARD_REGISTER].per_s = 2;
	cfg->rate[GUARD_REGISTER].burst = 20;
	/*
	 * LOOKUP and WHO: one LOOKUP per chat opened, sent again until the PEER
	 * comes; a /who listing takes a page per 32 names. 20/s, burst 50:
	 * many users opening chats at once, or a 1600-name listing in one go.
	 */
	cfg->rate[GUARD_LOOKUP].per_s = 20;
	cfg->rate[GUARD_LOOKUP].burst = 50;
	/*
	 * Relayed bytes: chat text is tiny (a line is at most 4 KiB in 4 DATA
	 * datagrams). 32 KiB/s is several long lines a second, sustained, from
	 * every sender behind the address; a burst of 64 KiB takes a pasted
	 * screenful at once. A bulk transfer is not what the relay is for.
	 */
	cfg->rate[GUARD_RELAY].per_s = 32 * 1024;
	cfg->rate[GUARD_RELAY].burst = 64 * 1024;
	/*
	 * STUN Binding: an ICE agent sends a few requests per gathering, and
	 * resends one that is lost (RFC 8489, 6.2.1). 10/s, burst 20: several
	 * agents gathering at once behind one address.
	 */
	cfg->rate[GUARD_STUN].per_s = 10;
	cfg->rate[GUARD_STUN].burst = 20;
	/*
	 * 64 names: one host needs one or two, an office behind one NAT a few
	 * dozen. It also means one address cannot fill the name table: 100000
	 * names take more than 1500 addresses.
	 */
	cfg->names_per_source = 64;
	/* 65536 slots of 48 bytes, 3 MiB: few collisions up to tens of thousands of sources. */
	cfg->slots = GUARD_SLOTS_DEFAULT;
}

int guard_init(struct guard *g, const struct guard_config *cfg, const uint8_t key[SIPHASH_KEY_LEN])
{
	int k;

	memset(g, 0, sizeof(*g));
	if (cfg->slots == 0 || (cfg->slots & (cfg->slots - 1)) != 0)
		return -1;
	for (k = 0; k < GUARD_NKINDS; k++) {
		const struct guard_rate *r = &cfg->rate[k];

		/* A bucket of 0 would refuse everything; one over the maximum would wrap. */
		if (r->per_s != 0 && (r->burst == 0 || r->burst > GUARD_BURST_MAX))
			return -1;
	}
	g->slots = calloc(cfg->slots, sizeof(*g->slots));
	if (g->slots == NULL)
		return -1;
	g->cfg = *cfg;
	memcpy(g->key, key, SIPHASH_KEY_LEN);
	return 0;
}

void guard_free(struct guard *g)
{
	free(g->slots);
	g->slots = NULL;
	memset(g->key, 0, sizeof(g->key));
}

int guard_allow(struct guard *g, const struct proto_addr *src, enum guard_kind kind,
		uint32_t cost, int64_t now)
{
	uint64_t need = (uint64_t)cost * 1000;
	struct guard_slot *s;

	/* Unlimited: no slot is needed, so none is taken. */
	if (g->cfg.rate[kind].per_s == 0)
		return 1;
	s = guard_slot_get(g, src, now);
	if (s->tokens[kind] < need) {
		g->limited[kind]++;
		return 0;
	}
	s->tokens[kind] -= (uint32_t)need;
	return 1;
}

int guard_name_add(struct guard *g, const struct proto_addr *src, int64_t now)
{
	struct guard_slot *s = guard_slot_get(g, src, now);
	uint32_t max = g->cfg.names_per_source;

	/* Counted even when unlimited: a slot holding names must never be taken over. */
	if ((max != 0 && s->names >= max) || s->names == UINT32_MAX)
		return 0;
	s->names++;
	return 1;
}

void guard_name_remove(struct guard *g, const struct proto_addr *src)
{
	uint8_t ip[16];
	struct guard_slot *s = guard_slot_of(g, src, ip);

	if (s->names > 0)
		s->names--;
}

void guard_name_move(struct guard *g, const struct proto_addr *from, const struct proto_addr *to,
		     int64_t now)
{
	uint8_t ip[16];
	struct guard_slot *dst = guard_slot_get(g, to, now);
	struct guard_slot *src = guard_slot_of(g, from, ip);

	/* One slot for both (the same source, or two sharing it): nothing moves. */
	if (src == dst)
		return;
	if (src->names > 0)
		src->names--;
	if (dst->names < UINT32_MAX)
		dst->names++;
}
