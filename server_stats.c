/* server_stats.c - p2pchatd's counters as the STATS text: one "key value" line each, in a stable order, in pages. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "server.h"

size_t server_stats_format(const struct server *s, int page, char *buf, size_t cap)
{
	/* The stable keys, in order; new ones only ever come at the end (of the last page). */
	const struct {
		const char *key;
		uint64_t value;
	} rows[] = {
		{ "names", s->names.count },
		{ "names_max", s->names.capacity },
		{ "received", s->stats.received },
		{ "registrations", s->stats.registrations },
		{ "refreshes", s->stats.refreshes },
		{ "lookups", s->stats.lookups },
		{ "introductions", s->stats.introductions },
		{ "punches_direct", s->stats.punches_direct },
		{ "punches_relayed", s->stats.punches_relayed },
		{ "who_pages", s->stats.who_pages },
		{ "stats_answered", s->stats.stats_answered },
		{ "stun_answered", s->stats.stun_answered },
		{ "refused", s->stats.refused },
		{ "dropped_malformed", s->stats.dropped[SERVER_DROP_MALFORMED] },
		{ "dropped_wrong_direction", s->stats.dropped[SERVER_DROP_WRONG_DIRECTION] },
		{ "dropped_stun", s->stats.dropped[SERVER_DROP_STUN] },
		{ "dropped_not_loopback", s->stats.dropped[SERVER_DROP_NOT_LOOPBACK] },
		{ "relayed", s->stats.relayed },
		{ "relayed_bytes", s->stats.relayed_bytes },
		{ "relay_refused", s->stats.relay_refused },
		{ "relay_over_rate", s->stats.relay_over_rate },
		{ "cookies_sent", s->stats.cookies_sent },
		{ "dropped_over_limit", s->stats.dropped[SERVER_DROP_OVER_LIMIT] },
		{ "dropped_amplifying", s->stats.dropped[SERVER_DROP_AMPLIFYING] },
		{ "limited_register", s->guard.limited[GUARD_REGISTER] },
		{ "limited_lookup", s->guard.limited[GUARD_LOOKUP] },
		{ "limited_relay", s->guard.limited[GUARD_RELAY] },
		{ "limited_stun", s->guard.limited[GUARD_STUN] },
		{ "limit_shared", s->guard.shared },
		{ "dropped_unauthenticated", s->stats.dropped[SERVER_DROP_UNAUTHENTICATED] },
		{ "dropped_replayed", s->stats.dropped[SERVER_DROP_REPLAYED] },
		{ "key_agreements", s->stats.key_agreements },
		{ "private_refused", s->stats.private_refused },
		{ "moves_refused", s->stats.moves_refused },
		/* page 1 */
		{ "mappings", s->stats.mappings },
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	/* A drop reason added to server.h without its row here fails to compile. */
	_Static_assert(SERVER_DROP_NREASONS == 8, "one dropped_ row per enum server_drop");
	_Static_assert(SERVER_STATS_PAGES == 2, "page 0's rows, then page 1's: the rest");
	size_t off = 0, i, end;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	if (page < 0 || page >= SERVER_STATS_PAGES)
		return 0;
	i = page == 0 ? 0 : SERVER_STATS_PAGE0_ROWS;
	end = page == 0 ? SERVER_STATS_PAGE0_ROWS : nrows;
	for (; i < end; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "%s %" PRIu64 "\n", rows[i].key, rows[i].value);

		if (n < 0 || (size_t)n >= cap - off)
			break;
		memcpy(buf + off, line, (size_t)n + 1);
		off += (size_t)n;
	}
	return off;
}
