/* peer_session.c - the client's peer sessions: the handshake carried in the punch, sealed datagrams, paths that move only on proof, rekeying, keys and their trust. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bytes.h"
#include "client_impl.h"
#include "ct.h"
#include "identity.h"
#include "log.h"
#include "net.h"
#include "trust.h"

/*
 * A peer session's life (session.h has the handshake and its messages):
 *
 *            introduced, key pinned (trust.c)
 *   none ---------------------------------------> INIT cached (init_valid)
 *    |       PROBE(INIT) to every endpoint, the relay too, again and again
 *    |                                              |
 *    | PROBE(INIT) from the peer, its key pinned    | PROBE_ACK(RESP) opens
 *    | (we answer PROBE_ACK(RESP); a repeat of      | (a fresh answer to our
 *    |  that INIT from where the RESP went gets     |  ephemeral key: proof of
 *    |  the same RESP, init_in, resp_out; from      |  the path it came by)
 *    |  elsewhere, none)                            |
 *    v                                              v
 *   next (unconfirmed) --- first SEALED opens ---> current <--- rekey: a new INIT
 *                         under it (from where        |        every 2 min (the
 *                         the RESP went: proof)       |        initiator), the old
 *                                                     |        current is previous
 *                          BYE, removal, exit, 3 min  v
 *                          ----------------------> wiped
 *
 * Both sides probing at once: each gets the other's INIT while its own is
 * pending; session_accept's tie-break leaves one handshake (the greater
 * key stays initiator, the smaller answers), so both end with one session.
 * A side that answered sends no INIT of its own while its answer waits
 * for confirmation (next), nor when it has a current session: then its
 * probes are PATH_CHALLENGEs, sealed.
 */

#define HEADER_SEALED { PROTO_MAGIC, PROTO_VERSION, PROTO_SEALED, 0 }

void client_random(struct client *c, void *buf, size_t len)
{
	if (c->io.random != NULL) {
		c->io.random(c->io.ctx, buf, len);
		return;
	}
	if (net_random(buf, len) < 0) {
		/* No key may come of a buffer that is not random: stop (main exits). */
		log_error("cannot get random bytes from the kernel");
		memset(buf, 0, len);
		c->fatal = 1;
	}
}

/* The wall clock in ms since 1970, for TAI64N timestamps (session_tai64n). */
static int64_t wall_ms(struct client *c)
{
	struct timespec ts;

	if (c->io.wall_ms != NULL)
		return c->io.wall_ms(c->io.ctx);
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns 1 when index names one of p's sessions or its pending handshake. */
static int index_used_by(const struct peer *p, uint32_t index)
{
	const struct session_peer *s = &p->sess;

	return (s->hs_pending && s->hs_index == index) ||
	       (s->current.valid && s->current.local_index == index) ||
	       (s->previous.valid && s->previous.local_index == index) ||
	       (s->next.valid && s->next.local_index == index);
}

/* A fresh random index, unique among all our sessions and handshakes (WireGuard 5.4.2). */
static uint32_t new_index(struct client *c)
{
	uint32_t index;
	int used;

	do {
		client_random(c, &index, sizeof(index));
		used = index == 0;
		for (int i = 0; i < c->npeers && !used; i++)
			used = index_used_by(c->peers[i], index);
	} while (used && !c->fatal);
	return index;
}

/* ---- keys and trust ---- */

void client_session_reset(struct peer *p)
{
	p->init_valid = 0;
	p->resp_valid = 0;
	for (int i = 0; i < CLIENT_PATH_CHECKS; i++)
		p->checks[i].sent_ms = -1;
}

/* A changed key: say so once per key, and report every line waiting for it as not sent. */
static void warn_changed(struct client *c, struct peer *p, const uint8_t was[PROTO_KEY_LEN])
{
	char line[TRUST_MSG_MAX], why[64 + PROTO_NAME_MAX];

	if (memcmp(p->warned_key, p->key, PROTO_KEY_LEN) == 0)
		return;
	memcpy(p->warned_key, p->key, PROTO_KEY_LEN);
	trust_msg_changed(line, sizeof(line), p->name, was, p->key);
	c->io.print(c->io.ctx, line);
	snprintf(why, sizeof(why), "%s's key has changed", p->name);
	client_fail_pending(c, p, why);
}

/* What the known peers say of p's key (enum trust_state); pins a new one and says so. */
static int check_trust(struct client *c, struct peer *p)
{
	struct trust_store *ts = c->cfg.trust;
	char line[TRUST_MSG_MAX], err[256];
	const struct trust_entry *e;
	int st;

	if (ts == NULL)
		return TRUST_PINNED; /* no store: every introduced key is taken, nothing is kept */
	st = trust_check(ts, p->name, p->key);
	if (st == TRUST_NEW) {
		st = trust_pin(ts, p->name, p->key, err, sizeof(err));
		if (st < 0) {
			log_warn("%s", err);
			return TRUST_PINNED; /* the file cannot be written: this run holds it */
		}
		if (st == TRUST_PINNED) {
			trust_msg_pinned(line, sizeof(line), p->name, p->key);
			c->io.print(c->io.ctx, line);
		}
	}
	if (st == TRUST_CHANGED && (e = trust_find(ts, p->name)) != NULL)
		warn_changed(c, p, e->pub);
	return st;
}

/*
 * Makes p's sessions about p->key as it is now (registration.c sets it
 * from the introduction), and checks that key against the known peers the
 * first time. Returns 1 when datagrams may go to p: pinned or verified (a
 * new key is pinned now); 0 when not: no key yet, or a changed one.
 */
int client_peer_key_ok(struct client *c, struct peer *p)
{
	if (!p->has_key || p->key_conflict)
		return 0;
	if (memcmp(p->sess.remote_static, p->key, PROTO_KEY_LEN) != 0) {
		/*
		 * Another key (a new install, or a substitute): whatever we had
		 * with the old one is over, the channel included.
		 */
		static const uint8_t none[PROTO_KEY_LEN];
		int had_key = memcmp(p->sess.remote_static, none, sizeof(none)) != 0;

		if (had_key && (p->state == PEER_CONNECTED || p->state == PEER_PUNCH)) {
			p->state = PEER_OFFLINE;
			p->path_kind = PATH_NONE;
		}
		if (had_key) {
			/* A new pair of epochs, connected or not: the stream connection ends. */
			p->peer_epoch = 0;
			p->my_epoch = client_new_epoch(c);
			client_streams_epochs(p);
		}
		session_peer_wipe(&p->sess);
		session_peer_init(&p->sess, p->key);
		client_session_reset(p);
		p->key_checked = 0;
	}
	if (!p->key_checked) {
		p->key_state = check_trust(c, p);
		p->key_checked = 1;
	}
	return p->key_state == TRUST_PINNED || p->key_state == TRUST_VERIFIED;
}

/* ---- sending ---- */

/*
 * Sends a whole peer datagram buf[0..len) to p by route r: straight to its
 * address, or inside a RELAY that a server passes on to p: the one r
 * names while it answers and relays, else the one client_relay_server
 * picks now (a relayed chat outlives the server it started on).
 */
void client_send_raw(struct client *c, const struct peer *p, const struct route *r,
		     const uint8_t *buf, size_t len)
{
	struct proto_msg relay;
	int si;

	if (!r->relay && r->sock > 0 && c->io.send_spare != NULL) {
		c->io.send_spare(c->io.ctx, r->sock, &r->addr, buf, len);
		return;
	}
	if (!r->relay) {
		c->io.send(c->io.ctx, &r->addr, buf, len);
		return;
	}
	si = client_server_index(c, &r->addr);
	if (si < 0 || (c->cfg.nservers > 1 && (!client_server_usable(c, si) || c->srv[si].relay_off)))
		si = client_relay_server(c, p);
	client_msg_to_server(c, PROTO_RELAY, &relay);
	snprintf(relay.target, sizeof(relay.target), "%s", p->name);
	memcpy(relay.payload, buf, len);
	relay.payload_len = (uint16_t)len;
	client_send_to_server(c, si, &relay);
}

/*
 * Seals the inner message m (DATA, ACK, PING, PONG, BYE, PATH_*) under p's
 * current session and sends it by r. Nothing goes to a key that is not
 * trusted; without a session nothing goes either (the punch makes one).
 */
void client_send_route(struct client *c, struct peer *p, const struct route *r,
		       const struct proto_msg *m)
{
	static const uint8_t header[PROTO_HEADER_LEN] = HEADER_SEALED;
	uint8_t out[PROTO_HEADER_LEN + PROTO_SEALED_MAX];
	uint8_t *pt = out + PROTO_HEADER_LEN + SESSION_SEALED_HEADER_LEN;
	long n;
	int len;

	if (!client_peer_key_ok(c, p))
		return;
	len = proto_inner_encode(m, pt, sizeof(out) - PROTO_HEADER_LEN - SESSION_SEALED_OVERHEAD);
	if (len < 0) {
		log_error("cannot encode %s: %s", proto_type_name(m->type), proto_strerror(len));
		return;
	}
	n = session_peer_seal(&p->sess, header, sizeof(header), pt, (size_t)len, c->now_ms,
			      out + PROTO_HEADER_LEN, sizeof(out) - PROTO_HEADER_LEN);
	if (n < 0) {
		log_debug("no session with %s: %s not sent", p->name, proto_type_name(m->type));
		return;
	}
	memcpy(out, header, sizeof(header));
	c->last_sent_type = m->type;
	log_debug("send %s to %s (sealed, %ld bytes)", proto_type_name(m->type), p->name,
		  (long)n + PROTO_HEADER_LEN);
	client_send_raw(c, p, r, out, (size_t)n + PROTO_HEADER_LEN);
	c->last_sent_type = 0;
}

/*
 * Seals one stream packet pkt[0..len) (peer_stream.c) as the inner STREAM
 * with the epochs it belongs to, and sends it on p's path. Built here
 * rather than through proto_msg: a packet is opaque bytes, and a file
 * sends tens of thousands a second.
 */
void client_send_stream(struct client *c, struct peer *p, uint32_t epoch, uint32_t peer_epoch,
			const uint8_t *pkt, size_t len)
{
	static const uint8_t header[PROTO_HEADER_LEN] = HEADER_SEALED;
	uint8_t out[PROTO_HEADER_LEN + PROTO_SEALED_MAX];
	uint8_t *pt = out + PROTO_HEADER_LEN + SESSION_SEALED_HEADER_LEN;
	long n;

	if (len > PROTO_SEALED_MAX - SESSION_SEALED_OVERHEAD - PROTO_STREAM_HEADER_LEN ||
	    !client_peer_key_ok(c, p))
		return;
	pt[0] = PROTO_STREAM;
	bytes_put32(pt + 1, epoch);
	bytes_put32(pt + 5, peer_epoch);
	memcpy(pt + PROTO_STREAM_HEADER_LEN, pkt, len);
	n = session_peer_seal(&p->sess, header, sizeof(header), pt, PROTO_STREAM_HEADER_LEN + len,
			      c->now_ms, out + PROTO_HEADER_LEN, sizeof(out) - PROTO_HEADER_LEN);
	if (n < 0)
		return;
	memcpy(out, header, sizeof(header));
	c->last_sent_type = PROTO_STREAM;
	client_send_raw(c, p, &p->path, out, (size_t)n + PROTO_HEADER_LEN);
	c->last_sent_type = 0;
}

/* Sends a handshake message (PROBE with INIT, PROBE_ACK with RESP) of len bytes by r. */
static void send_handshake(struct client *c, const struct peer *p, const struct route *r,
			   uint8_t type, const uint8_t *msg, size_t len)
{
	uint8_t out[PROTO_HEADER_LEN + SESSION_INIT_LEN];

	out[0] = PROTO_MAGIC;
	out[1] = PROTO_VERSION;
	out[2] = type;
	out[3] = 0;
	memcpy(out + PROTO_HEADER_LEN, msg, len);
	c->last_sent_type = type;
	client_send_raw(c, p, r, out, PROTO_HEADER_LEN + len);
	c->last_sent_type = 0;
}

/* A new INIT for p, for this attempt: a fresh ephemeral key and index, a growing timestamp. */
static int make_init(struct client *c, struct peer *p, int64_t now)
{
	uint8_t e[SESSION_KEY_LEN], stamp[SESSION_TIMESTAMP_LEN];
	int64_t ms = wall_ms(c);
	long n;

	if (ms <= c->last_stamp_ms)
		ms = c->last_stamp_ms + 1; /* never twice the same: session_tai64n */
	c->last_stamp_ms = ms;
	session_tai64n(stamp, (uint64_t)ms);
	client_random(c, e, sizeof(e));
	n = session_initiate(&p->sess, &c->id, e, stamp, new_index(c), now, p->init,
			     sizeof(p->init));
	ct_wipe(e, sizeof(e));
	p->init_valid = n == SESSION_INIT_LEN;
	return p->init_valid;
}

/* The PATH_CHALLENGE slot of p for route r, or a free one, or the oldest. */
static struct path_check *check_slot(struct peer *p, const struct route *r)
{
	struct path_check *best = &p->checks[0];

	for (int i = 0; i < CLIENT_PATH_CHECKS; i++) {
		struct path_check *k = &p->checks[i];

		if (k->sent_ms >= 0 && client_route_equal(&k->to, r))
			return k;
		if (best->sent_ms >= 0 && (k->sent_ms < 0 || k->sent_ms < best->sent_ms))
			best = k;
	}
	best->sent_ms = -1;
	return best;
}

/*
 * Sends a PATH_CHALLENGE to r (RFC 9000, 8.2.1): fresh random bytes for a
 * new address, the same ones again for one being checked; again to one
 * address only after CLIENT_PATH_RETRY_MS unless `now_too`.
 */
static void challenge(struct client *c, struct peer *p, const struct route *r, int now_too,
		      int64_t now)
{
	struct path_check *k = check_slot(p, r);
	struct proto_msg m;

	if (k->sent_ms >= 0 && !now_too && now - k->sent_ms < CLIENT_PATH_RETRY_MS)
		return;
	if (k->sent_ms < 0) {
		k->to = *r;
		client_random(c, k->data, sizeof(k->data));
	}
	k->sent_ms = now;
	client_msg_to_peer(p, PROTO_PATH_CHALLENGE, &m);
	memcpy(m.path_data, k->data, sizeof(m.path_data));
	client_send_route(c, p, r, &m);
}

/*
 * One probe to p by r: with a live session, a sealed PATH_CHALLENGE (the path
 * must answer from where it went); without one, this attempt's INIT (the
 * same bytes to every endpoint and every time, made on first use); while
 * our answer to the peer's INIT waits for its confirmation, nothing.
 * Returns 1 when something was sent.
 */
int client_send_probe(struct client *c, struct peer *p, const struct route *r, int64_t now)
{
	if (!client_peer_key_ok(c, p))
		return 0;
	/*
	 * A session the peer still holds: connected, or heard in this
	 * attempt. After a silence it may have lost it (restarted, or dropped
	 * us): a new handshake then.
	 */
	if (p->sess.current.valid &&
	    !(session_timers(&p->sess.current, now) & SESSION_DUE_REJECT) &&
	    (p->state == PEER_CONNECTED || p->last_heard_ms >= p->punch_start_ms)) {
		challenge(c, p, r, 1, now);
		return 1;
	}
	if (p->sess.next.valid)
		return 0;
	if ((!p->init_valid || !p->sess.hs_pending) && !make_init(c, p, now))
		return 0;
	send_handshake(c, p, r, PROTO_PROBE, p->init, sizeof(p->init));
	return 1;
}

/* ---- receiving ---- */

/* Returns p when relayed_by is NULL (direct) or its name: the server vouches for the relayed sender. */
static struct peer *relayed_check(struct peer *p, const char *relayed_by)
{
	if (p != NULL && relayed_by != NULL && strcmp(p->name, relayed_by) != 0)
		return NULL;
	return p;
}

/* The peer introduced to us with the static key pub, or NULL. */
static struct peer *peer_by_key(struct client *c, const uint8_t pub[PROTO_KEY_LEN])
{
	for (int i = 0; i < c->npeers; i++)
		if (c->peers[i]->has_key && memcmp(c->peers[i]->key, pub, PROTO_KEY_LEN) == 0)
			return c->peers[i];
	return NULL;
}

/* PROBE: the peer's INIT. Answered with PROBE_ACK (RESP) where it came from. */
static void on_init(struct client *c, const struct proto_msg *m, const struct route *from,
		    const char *relayed_by, int64_t now)
{
	struct session_init in;
	uint8_t e[SESSION_KEY_LEN], resp[SESSION_RESP_LEN];
	struct peer *p;
	long n;

	/*
	 * The INIT we answered, again (another endpoint, a lost RESP, a
	 * replay): it changes nothing. From where our RESP went, the RESP
	 * was lost: the same one again. From anywhere else it may be a
	 * replay by anyone, so no RESP goes there: a reflector's answer at
	 * an address nobody proved (issue 12, attack 4). Our RESP proves no
	 * new path to the initiator either: a challenge does, once the
	 * session is in use (nobody answers one sent to a replayer).
	 */
	for (int i = 0; i < c->npeers; i++) {
		p = c->peers[i];
		if (p->resp_valid && memcmp(p->init_in, m->payload, SESSION_INIT_LEN) == 0) {
			if (relayed_check(p, relayed_by) == NULL)
				return;
			if (client_route_equal(from, &p->resp_to))
				send_handshake(c, p, from, PROTO_PROBE_ACK, p->resp_out,
					       sizeof(p->resp_out));
			if (p->sess.current.valid && !from->relay &&
			    (p->state != PEER_CONNECTED || !client_route_equal(from, &p->path)))
				challenge(c, p, from, 0, now);
			return;
		}
	}
	if (session_read_init(&c->id, m->payload, m->payload_len, &in) < 0) {
		c->stats.unopened++;
		return;
	}
	/* Only a key we were introduced to, and the one pinned for that name. */
	p = relayed_check(peer_by_key(c, in.remote_static), relayed_by);
	if (p == NULL || !client_peer_key_ok(c, p)) {
		ct_wipe(&in, sizeof(in));
		c->stats.refused_inits++;
		return;
	}
	client_random(c, e, sizeof(e));
	n = session_accept(&p->sess, &c->id, &in, e, new_index(c), now, resp, sizeof(resp));
	ct_wipe(e, sizeof(e));
	if (n == SESSION_E_TIE) {
		/*
		 * We stay initiator: our INIT goes back where theirs came from
		 * (RFC 8445 7.3.1.4: it punches our NAT; the relay needs none).
		 */
		if (p->init_valid && p->sess.hs_pending && !from->relay)
			send_handshake(c, p, from, PROTO_PROBE, p->init, sizeof(p->init));
		return;
	}
	if (n < 0) {
		c->stats.unopened++; /* an older INIT of the same key: changes nothing */
		return;
	}
	p->init_valid = 0; /* our own pending handshake, if any, gave way (session_accept) */
	memcpy(p->init_in, m->payload, SESSION_INIT_LEN);
	memcpy(p->resp_out, resp, sizeof(resp));
	p->resp_valid = 1;
	p->resp_to = *from;
	send_handshake(c, p, from, PROTO_PROBE_ACK, resp, sizeof(resp));
	if (from->relay && !p->relay_ok)
		p->relay_probe_ms = now; /* the relay's round trip: from this RESP to its confirmation */
	client_on_peer_probing(c, p, from, now);
}

/* PROBE_ACK: the RESP to our pending INIT. Its path works both ways. */
static void on_resp(struct client *c, const struct proto_msg *m, const struct route *from,
		    const char *relayed_by, int64_t now)
{
	struct proto_msg confirm;
	struct peer *p = NULL;
	uint32_t index;

	if (session_index(m->payload, m->payload_len, &index) == 0)
		for (int i = 0; i < c->npeers && p == NULL; i++)
			if (c->peers[i]->sess.hs_pending && c->peers[i]->sess.hs_index == index)
				p = c->peers[i];
	p = relayed_check(p, relayed_by);
	if (p == NULL || session_read_resp(&p->sess, m->payload, m->payload_len, now) < 0) {
		c->stats.unopened++;
		return;
	}
	p->init_valid = 0;
	c->stats.handshakes++;
	client_heard(p, now);
	log_info("%s: new session (we initiated)", p->name);
	/* A sealed datagram at once, so that the responder takes the session into use. */
	client_msg_to_peer(p, PROTO_CONFIRM, &confirm);
	client_send_route(c, p, from, &confirm);
	client_path_proven(c, p, from, now);
}

/*
 * A route proved to reach p (a fresh RESP, a confirmation from where our
 * RESP went, a PATH_RESPONSE from where its challenge went): what the
 * punch makes of it, or, connected, a move there.
 */
void client_path_proven(struct client *c, struct peer *p, const struct route *from, int64_t now)
{
	char a[NET_ADDRSTRLEN];

	if (p->state == PEER_PUNCH) {
		client_on_punch_answer(c, p, from, now);
		return;
	}
	if (p->state != PEER_CONNECTED) {
		client_connect_via(c, p, from, now); /* back from silence */
		return;
	}
	if (client_route_equal(from, &p->path))
		return;
	if (client_path_better(p, from)) {
		client_on_punch_answer(c, p, from, now);
		return;
	}
	/*
	 * Its NAT gave it a new port (or a second instance of the name answers
	 * from there). Not its other family's endpoint: a dual-stack peer that
	 * chose the other family sends from there, and the path we chose stays.
	 */
	if (!p->path.relay && !from->relay && !client_is_private_ep(p, &from->addr) &&
	    !proto_addr_equal(&from->addr, &p->public_ep) &&
	    !proto_addr_equal(&from->addr, &p->other_ep)) {
		log_info("%s now at %s", p->name, net_addr_str(&from->addr, a));
		p->path = *from;
		p->path_kind = PATH_PUBLIC;
		c->stats.path_moves++;
	}
}

/*
 * A sealed datagram from p opened, and came by `from`. Paths move only on
 * proof: a new address gets a PATH_CHALLENGE, and the move waits for its
 * answer. The responder's first datagram under a new session, from where
 * our RESP went, is proof already (it answers the RESP's fresh key).
 */
static void path_note(struct client *c, struct peer *p, const struct proto_msg *in,
		      const struct route *from, int confirmed, int64_t now)
{
	if (in->type == PROTO_PATH_RESPONSE)
		return;
	if (p->state == PEER_CONNECTED) {
		if (!client_route_equal(from, &p->path) && !from->relay)
			challenge(c, p, from, 0, now);
		return;
	}
	/* Its challenge from a new address: that address is worth one of ours (RFC 9000, 9.3). */
	if (in->type == PROTO_PATH_CHALLENGE) {
		if (!from->relay)
			challenge(c, p, from, 0, now);
		return;
	}
	/*
	 * The relay needs no proof: it is the server, whatever the source
	 * address says. A line the peer sent by it is answered there at once.
	 */
	if (from->relay && (in->type == PROTO_DATA || in->type == PROTO_STREAM))
		client_connect_via(c, p, from, now);
	else if (from->relay || (confirmed && p->resp_valid && client_route_equal(from, &p->resp_to)))
		client_path_proven(c, p, from, now);
	else
		challenge(c, p, from, 0, now);
}

/* PATH_CHALLENGE: answer where it came from. PATH_RESPONSE: the proof of the path it came by. */
static void on_path(struct client *c, struct peer *p, const struct proto_msg *in,
		    const struct route *from, int64_t now)
{
	struct proto_msg r;

	if (in->type == PROTO_PATH_CHALLENGE) {
		client_msg_to_peer(p, PROTO_PATH_RESPONSE, &r);
		memcpy(r.path_data, in->path_data, sizeof(r.path_data));
		client_send_route(c, p, from, &r);
		return;
	}
	/* An answer to a birthday probe: that try's bytes, from the peer's address (punch_birthday.c). */
	if (client_birthday_answer(p, in, from)) {
		client_path_proven(c, p, from, now);
		return;
	}
	for (int i = 0; i < CLIENT_PATH_CHECKS; i++) {
		struct path_check *k = &p->checks[i];

		if (k->sent_ms >= 0 && client_route_equal(&k->to, from) &&
		    memcmp(k->data, in->path_data, sizeof(k->data)) == 0) {
			k->sent_ms = -1;
			client_path_proven(c, p, from, now);
			return;
		}
	}
}

/* The peer whose session the receiver index of a SEALED body names, or NULL. */
static struct peer *peer_by_index(struct client *c, const uint8_t *body, size_t len)
{
	uint32_t index;

	if (session_index(body, len, &index) < 0)
		return NULL;
	for (int i = 0; i < c->npeers; i++) {
		const struct session_peer *s = &c->peers[i]->sess;

		if ((s->current.valid && s->current.local_index == index) ||
		    (s->previous.valid && s->previous.local_index == index) ||
		    (s->next.valid && s->next.local_index == index))
			return c->peers[i];
	}
	return NULL;
}

/*
 * Opens a SEALED body under no session of ours: a decoy with a random key
 * under the datagram's own index, so that a datagram of an unknown index
 * costs what a forged tag costs (the same cost whatever the reason).
 */
static void open_decoy(struct client *c, const uint8_t *ad, const struct proto_msg *m,
		       uint8_t *pt, size_t cap, int64_t now)
{
	struct session decoy;

	memset(&decoy, 0, sizeof(decoy));
	client_random(c, decoy.recv_key, sizeof(decoy.recv_key));
	session_index(m->payload, m->payload_len, &decoy.local_index);
	decoy.valid = 1;
	decoy.created_ms = now;
	(void)session_open(&decoy, ad, PROTO_HEADER_LEN, m->payload, m->payload_len, now, pt, cap);
	session_wipe(&decoy);
}

/* SEALED: opened before anything in it is believed; dropped and counted if it does not open. */
static void on_sealed(struct client *c, const struct proto_msg *m, const struct route *from,
		      const char *relayed_by, int64_t now)
{
	static const uint8_t header[PROTO_HEADER_LEN] = HEADER_SEALED;
	uint8_t pt[PROTO_SEALED_MAX];
	struct peer *p = relayed_check(peer_by_index(c, m->payload, m->payload_len), relayed_by);
	struct proto_msg in;
	int confirmed;
	long n;

	if (p == NULL) {
		open_decoy(c, header, m, pt, sizeof(pt), now);
		c->stats.unopened++;
		return;
	}
	confirmed = p->sess.next.valid;
	n = session_peer_open(&p->sess, header, sizeof(header), m->payload, m->payload_len, now,
			      pt, sizeof(pt));
	if (n < 0) {
		c->stats.unopened++;
		log_debug("%s: a sealed datagram did not open (%ld)", p->name, n);
		return;
	}
	confirmed = confirmed && !p->sess.next.valid; /* it opened under next: now current */
	if (confirmed) {
		c->stats.handshakes++;
		log_info("%s: new session (we answered)", p->name);
	}
	if (n > 0 && pt[0] == PROTO_STREAM) {
		/* A stream packet: opaque to the layout table (protocol.h, STREAM). */
		memset(&in, 0, sizeof(in));
		in.type = PROTO_STREAM;
		path_note(c, p, &in, from, confirmed, now);
		client_heard(p, now);
		client_on_stream(c, p, pt + 1, (size_t)n - 1, from, now);
		return;
	}
	if (proto_inner_decode(pt, (size_t)n, &in) < 0) {
		c->stats.malformed++;
		return;
	}
	log_debug("recv %s from %s (sealed)", proto_type_name(in.type), p->name);
	path_note(c, p, &in, from, confirmed, now);
	if (in.type == PROTO_PATH_CHALLENGE || in.type == PROTO_PATH_RESPONSE) {
		on_path(c, p, &in, from, now);
		return;
	}
	client_on_inner(c, p, &in, from, now);
}

/*
 * A peer datagram (PROBE, PROBE_ACK, SEALED), straight from `from`, or
 * relayed by the server from the name relayed_by (NULL: direct).
 */
void client_on_peer_datagram(struct client *c, const struct proto_msg *m,
			     const struct route *from, const char *relayed_by, int64_t now)
{
	switch (m->type) {
	case PROTO_PROBE: on_init(c, m, from, relayed_by, now); break;
	case PROTO_PROBE_ACK: on_resp(c, m, from, relayed_by, now); break;
	case PROTO_SEALED: on_sealed(c, m, from, relayed_by, now); break;
	default: c->stats.stray++; break;
	}
}

/*
 * RELAYED: a peer's datagram, passed on by the server. It is handled as if
 * it came from the peer, and answered through the relay. The server
 * vouches for the sender's name; the session, for everything else.
 */
void client_on_relayed(struct client *c, int si, const struct proto_msg *m, int64_t now)
{
	struct route via = client_direct_route(&c->cfg.servers[si].addr);
	struct proto_msg inner;
	int rc = proto_decode(m->payload, m->payload_len, &inner);

	if (rc < 0 || !proto_is_peer_type(inner.type)) {
		c->stats.malformed++;
		log_debug("dropped a datagram relayed from %s: %s", m->name,
			  rc < 0 ? proto_strerror(rc) : "not for a peer");
		return;
	}
	via.relay = 1;
	c->stats.relayed++;
	client_on_peer_datagram(c, &inner, &via, m->name, now);
}

/* ---- time ---- */

/* An idle peer's sessions (offline, or looking it up): each wiped when past its time. Returns the next expiry. */
static int64_t expire_idle(struct peer *p, int64_t now)
{
	struct session *all[3] = { &p->sess.current, &p->sess.previous, &p->sess.next };
	int64_t next = INT64_MAX;

	if (p->sess.hs_pending && now - p->sess.hs_first_ms >= SESSION_REKEY_ATTEMPT_TIME_MS) {
		ct_wipe(&p->sess.hs, sizeof(p->sess.hs));
		p->sess.hs_pending = 0;
		p->init_valid = 0;
	}
	for (int i = 0; i < 3; i++) {
		if (!all[i]->valid)
			continue;
		if (session_timers(all[i], now) & SESSION_DUE_REJECT)
			session_wipe(all[i]);
		else
			next = client_min64(next, all[i]->created_ms + SESSION_REJECT_AFTER_TIME_MS);
	}
	return next;
}

/*
 * p's session timers (session_peer_tick): sessions past their time are
 * wiped; a connected peer whose keys are due gets a new INIT on its path
 * (the rekey, WireGuard section 6.2); a punch gets a fresh INIT for its
 * next probes. A peer neither connected nor punching only loses what
 * expires. Returns the next deadline.
 */
int64_t client_tick_session(struct client *c, struct peer *p, int64_t now)
{
	int64_t next = INT64_MAX;
	unsigned todo;

	if (!p->has_key || !p->key_checked)
		return INT64_MAX;
	if (p->state != PEER_CONNECTED && p->state != PEER_PUNCH)
		return expire_idle(p, now);
	todo = session_peer_tick(&p->sess, now, &next);
	if (todo & SESSION_TODO_GAVE_UP)
		p->init_valid = 0;
	if (!(todo & SESSION_TODO_INITIATE))
		return next;
	if (client_peer_key_ok(c, p) && make_init(c, p, now) && p->state == PEER_CONNECTED)
		send_handshake(c, p, &p->path, PROTO_PROBE, p->init, sizeof(p->init));
	(void)session_peer_tick(&p->sess, now, &next);
	return next > now ? next : now + SESSION_REKEY_TIMEOUT_MS;
}
