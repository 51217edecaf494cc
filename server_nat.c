/* server_nat.c - p2pchatd's alternate port: MAPPING answered with the source seen, and each name's NAT kind (RFC 5780, 4.3). */
#include <string.h>

#include "log.h"
#include "net.h"
#include "server.h"
#include "server_impl.h"

/*
 * MAPPING, opened: the kind of e's NAT is whether the source seen here,
 * at the alternate port, is the public endpoint its registration came
 * from (RFC 4787, 4.1: an endpoint-independent mapping shows the same
 * endpoint to every destination). Kept for PEER; MAPPED tells the client.
 */
static int server_on_mapping(struct server *s, struct table_entry *e, const struct proto_addr *from,
			     struct server_tx *tx)
{
	struct proto_msg m;

	/*
	 * From the name's other family (a dual-stack client asks by both of
	 * the server's addresses): answered, but the kind PEER carries is the
	 * NAT of the family its public endpoint is in, which this did not cross.
	 */
	if (from->family == e->public_ep.family) {
		e->nat = proto_addr_equal(&e->public_ep, from) ? PROTO_NAT_KEEPS : PROTO_NAT_SYMMETRIC;
		e->nat_port = from->port;
	}
	s->stats.mappings++;
	memset(&m, 0, sizeof(m));
	m.type = PROTO_MAPPED;
	m.public_ep = *from;
	/* Not proven: MAPPING is padded so this is never larger (protocol.h). */
	return server_seal(s, tx, from, 0, &m, e->k);
}

int server_handle_alt(struct server *s, const uint8_t *buf, size_t len,
		      const struct proto_addr *from, int64_t now, struct server_tx tx[SERVER_MAX_TX])
{
	struct table_entry *e;
	struct proto_msg pm, m;
	int off;

	s->stats.received++;
	if (from->family != PROTO_AF_INET && from->family != PROTO_AF_INET6)
		return 0;
	off = proto_decode_prefix(buf, len, &pm);
	if (off <= 0 || pm.type != PROTO_MAPPING) {
		/* Everything else belongs on the main port: this one only tells sources. */
		s->stats.dropped[SERVER_DROP_WRONG_DIRECTION]++;
		return 0;
	}
	if (!server_within_rate(s, from, GUARD_LOOKUP, 1, now))
		return 0;
	e = table_get(&s->names, pm.name, now);
	if (e == NULL)
		return 0; /* no NOTICE from here: the main port says "register again" */
	if (!server_open(s, buf, len, (size_t)off, e->k, from, &m) ||
	    !server_fresh(s, e, m.counter))
		return 0;
	return server_no_amplification(s, tx, server_on_mapping(s, e, from, tx), len);
}
