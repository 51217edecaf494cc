/* client_impl.h - what the client's files share: the peer and its paths, and the functions one file calls in another. Not the client's API (client.h). */
#ifndef P2PCHAT_CLIENT_IMPL_H
#define P2PCHAT_CLIENT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "chan.h"
#include "client.h"
#include "protocol.h"
#include "session.h"

/*
 * How a chat starts (Ford, Srisuresh & Kegel, section 3; RFC 5128, 3.3):
 *
 *   1. REGISTER tells the server our name and our private endpoints; the
 *      server answers with the public endpoint it saw (our NAT's mapping).
 *      (registration.c)
 *   2. LOOKUP asks for a peer. The server sends a PEER introduction to us
 *      and to the peer at once, each with the other's key. (registration.c)
 *   3. Both sides PROBE every endpoint of the other every 100 ms, each
 *      probe carrying the same handshake INIT (Noise IK, session.h, to
 *      the key the introduction gave). Our outgoing probes open our NAT
 *      for the peer's; the first PROBE_ACK
 *      (the RESP) names a working path and gives the session's keys.
 *      When both probe at once, session.c's tie-break leaves one
 *      session. (punch.c, peer_session.c)
 *   4. Everything else is SEALED under the session: DATA and ACK flow on
 *      that path through the reliable channel (chan.c); PING and PONG
 *      keep the NAT mappings open when idle; PATH_CHALLENGE and
 *      PATH_RESPONSE prove a new path before the chat moves to it.
 *      (peer.c, peer_session.c)
 *
 * Where no direct path works (a NAT that maps each destination apart,
 * RFC 4787's address-and-port-dependent mapping), the server relays: a
 * peer-to-peer datagram goes to it wrapped in a RELAY and comes out as
 * RELAYED (Ford, Srisuresh & Kegel, section 2.1). A PROBE goes through the
 * relay as soon as punching starts, so the first line need not wait for the
 * punch; a direct answer then moves the chat off the relay, and a relayed
 * chat looks for a direct path again now and then. Only where datagrams go
 * changes: the reliable channel is the same on every path.
 */

/* Where a peer stands. */
enum peer_state {
	PEER_LOOKUP,    /* waiting for the server's introduction */
	PEER_PUNCH,     /* introduced: probing its endpoints */
	PEER_CONNECTED, /* a path answers; chat flows */
	PEER_OFFLINE,   /* not online, gone, or unreachable: nothing happens until we want it again */
};

/* Which of the peer's endpoints the chat uses. */
enum path_kind {
	PATH_NONE,
	PATH_PRIVATE, /* an address the peer reported for itself: we share a LAN */
	PATH_PUBLIC,  /* its NAT's address as the server saw it, or as its probes came from */
	PATH_RELAY,   /* no direct path: through the server, which passes datagrams on (RELAY) */
};

/* Where a datagram to a peer goes, or where one from a peer came from. */
struct route {
	struct proto_addr addr; /* the peer's address; for the relay, the server's */
	int relay;              /* 1: through the server's relay: RELAY out, RELAYED in */
};

/* One PATH_CHALLENGE out, waiting for its PATH_RESPONSE from where it went (RFC 9000, 8.2). */
struct path_check {
	struct route to;
	uint8_t data[PROTO_PATH_DATA_LEN];
	int64_t sent_ms;                  /* -1: the slot is free */
};
#define CLIENT_PATH_CHECKS (PROTO_MAX_PRIVATE + 2) /* the private endpoints, public, seen */

struct peer {
	char name[PROTO_NAME_MAX + 1];
	enum peer_state state;
	int wanted;                       /* we chose to talk to it (not just introduced to us) */

	/* the introduction */
	int introduced;
	uint8_t key[PROTO_KEY_LEN];       /* its public key, from the server's PEER (has_key) */
	int has_key;
	struct proto_addr public_ep;
	uint8_t nprivate;
	struct proto_addr private_ep[PROTO_MAX_PRIVATE];
	struct proto_addr seen_ep;        /* where its probes came from, when none of the above */

	/* the connection */
	uint32_t my_epoch, peer_epoch;    /* see protocol.h, PROBE; peer_epoch 0 = not known yet */
	struct route path;                /* where the chat goes, while connected */
	enum path_kind path_kind;
	struct chan *chan;                /* allocated with the peer */
	struct peer_streams *streams;     /* its stream connection (peer_stream.c), NULL until first used */
	int relay_ok;                     /* punching: a PROBE through the relay was answered */
	int relay_reported;               /* relayed: the REPORT of it went to the server */

	/* timers, monotonic ms; -1 = not armed */
	int64_t next_lookup_ms;
	int64_t punch_start_ms;
	int64_t next_probe_ms;
	int64_t probe_until_ms;           /* direct probes go out until then (a punch; a burst, relayed) */
	int64_t next_relay_probe_ms;      /* punching: the next PROBE through the relay */
	int64_t next_upgrade_ms;          /* relayed: the next burst of direct probes */
	int64_t prefer_private_until_ms;  /* connected on a public endpoint: its private ones are probed until then */
	int64_t relay_probe_ms;           /* punching: when the first PROBE through the relay went, -1 before */
	int64_t relay_rtt_ms;             /* its round trip, when answered; -1 before */
	int64_t last_heard_ms;
	int64_t answering_since_ms;       /* heard from it with no silence (CLIENT_SILENT_MS) since then */
	int64_t ping_out_ms;              /* when the first unanswered PING went out */
	int64_t next_ping_ms;
	int64_t wait_until_ms;            /* queued lines give up then if still not connected */
	int64_t rtt_ms;                   /* from the last PONG */

	/* the session (peer_session.c) */
	int key_state;                    /* trust.h's enum trust_state of key, once checked */
	int key_checked;                  /* key_state is about key as it is now */
	uint8_t warned_key[PROTO_KEY_LEN]; /* the changed key last warned about */
	struct session_peer sess;         /* keys, handshake, sessions: for key once checked */
	uint8_t init[SESSION_INIT_LEN];   /* this attempt's INIT, sent to every endpoint again and again */
	int init_valid;
	uint8_t init_in[SESSION_INIT_LEN]; /* the last INIT we answered, and our answer: a repeat */
	uint8_t resp_out[SESSION_RESP_LEN]; /* gets the same RESP and changes nothing */
	int resp_valid;
	struct route resp_to;             /* where that RESP went: its confirmation from there proves it */
	struct path_check checks[CLIENT_PATH_CHECKS];
	uint8_t probes[CLIENT_PATH_CHECKS]; /* probes sent to each endpoint this attempt (public,
					       seen, private...) while the peer was never heard */
	int64_t evict_ms;                 /* when it last did something worth keeping it for */

	int said_not_online;              /* "* waiting for NAME to come online" printed for this wait */
	int64_t next_stale_reply_ms;      /* a stale DATA or ACK is answered again from then on */
	int renew_epoch;                  /* lines were dropped: the next connection needs a new pair of epochs */
};

/* What the chan_io callbacks need to know: who, where to, and why lines fail. */
struct chan_ctx {
	struct client *c;
	struct peer *p;
	const struct route *to;
	const char *why; /* for failed lines */
};

/* client.c: sending, epochs */
void client_send_msg(struct client *c, const struct proto_addr *to, const struct proto_msg *m);
void client_msg_to_server(const struct client *c, enum proto_type type, struct proto_msg *m);
uint32_t client_new_epoch(struct client *c);
int64_t client_min64(int64_t a, int64_t b);

/* peer.c: the peer table, routes, the channel, connection state, inner messages from peers */
struct peer *client_peer_find(struct client *c, const char *name);
struct peer *client_peer_get(struct client *c, const char *name);
void client_peer_free(struct peer *p);
void client_msg_to_peer(const struct peer *p, enum proto_type type, struct proto_msg *m);
struct route client_direct_route(const struct proto_addr *addr);
struct route client_relay_route(const struct client *c);
int client_route_equal(const struct route *a, const struct route *b);
void client_send_raw(struct client *c, const struct peer *p, const struct route *r,
	const uint8_t *buf, size_t len);
int client_relay_usable(const struct client *c);
int client_relayed(const struct peer *p);
int client_bursting(const struct peer *p, int64_t now);
int client_is_private_ep(const struct peer *p, const struct proto_addr *addr);
const char *client_path_name(enum path_kind k);
const char *client_state_name(enum peer_state s);
void client_resync(struct client *c, struct peer *p, int64_t now);
void client_start_punch(struct client *c, struct peer *p, int64_t now);
void client_start_burst(struct peer *p, int64_t now);
void client_start_lookup(struct peer *p, int64_t now);
void client_send_report(struct client *c, const struct peer *p);
void client_connect_via(struct client *c, struct peer *p, const struct route *r, int64_t now);
void client_note_peer_epoch(struct peer *p, uint32_t epoch);
void client_heard(struct peer *p, int64_t now);
void client_on_inner(struct client *c, struct peer *p, const struct proto_msg *m,
	const struct route *from, int64_t now);
int client_epochs_current(struct client *c, struct peer *p, uint32_t epoch, uint32_t peer_epoch,
	const struct route *from, int64_t now);
int64_t client_tick_peer(struct client *c, struct peer *p, int64_t now);

/* peer_session.c: the handshake in the punch, sealed datagrams, paths on proof, keys and trust */
void client_send_route(struct client *c, struct peer *p, const struct route *r,
	const struct proto_msg *m);
void client_send_stream(struct client *c, struct peer *p, uint32_t epoch, uint32_t peer_epoch,
	const uint8_t *pkt, size_t len);
void client_on_peer_datagram(struct client *c, const struct proto_msg *m,
	const struct route *from, const char *relayed_by, int64_t now);
void client_on_relayed(struct client *c, const struct proto_msg *m, int64_t now);
int client_peer_key_ok(struct client *c, struct peer *p);
int client_send_probe(struct client *c, struct peer *p, const struct route *r, int64_t now);
void client_path_proven(struct client *c, struct peer *p, const struct route *from, int64_t now);
int64_t client_tick_session(struct client *c, struct peer *p, int64_t now);
void client_session_reset(struct peer *p);
void client_random(struct client *c, void *buf, size_t len);

/* registration.c: the server's seal, what p2pchatd answers, registration and /who timers */
void client_send_request(struct client *c, const struct proto_msg *m);
void client_on_server(struct client *c, const uint8_t *buf, size_t len, int64_t now);
void client_forget_keys(struct client *c);
void client_on_registered(struct client *c, const struct proto_msg *m, int64_t now);
void client_on_cookie(struct client *c, const struct proto_msg *m, int64_t now);
void client_on_peer_intro(struct client *c, const struct proto_msg *m, int64_t now);
void client_on_error(struct client *c, const struct proto_msg *m, int64_t now);
void client_on_who_reply(struct client *c, const struct proto_msg *m, int64_t now);
int64_t client_tick_registration(struct client *c, int64_t now);
int64_t client_tick_who(struct client *c, int64_t now);

/* peer_lines.c: the reliable channel's callbacks, lines sent and their failures */
struct chan_io client_chan_io(struct chan_ctx *x);
void client_fail_pending(struct client *c, struct peer *p, const char *why);
void client_send_line(struct client *c, const char *name, uint8_t flags, const char *text,
	int64_t now);

/* peer_stream.c: the peer's stream connection (the consumers' API is peer_stream.h) */
struct peer_streams;
void client_on_stream(struct client *c, struct peer *p, const uint8_t *body, size_t len,
	const struct route *from, int64_t now);
int64_t client_tick_streams(struct client *c, struct peer *p, int64_t now);
void client_streams_epochs(struct peer *p);
int client_streams_busy(const struct peer *p);
void client_streams_free(struct peer *p);

/* punch.c: the punch's decisions, the punch and upgrade timers */
int client_path_better(const struct peer *p, const struct route *from);
void client_on_punch_answer(struct client *c, struct peer *p, const struct route *from,
	int64_t now);
void client_on_peer_probing(struct client *c, struct peer *p, const struct route *from,
	int64_t now);
int64_t client_tick_lookup(struct client *c, struct peer *p, int64_t now);
int64_t client_tick_punch(struct client *c, struct peer *p, int64_t now);
int64_t client_tick_upgrade(struct client *c, struct peer *p, int64_t now);
int64_t client_tick_private(struct client *c, struct peer *p, int64_t now);

/* commands.c: what the user types */
void client_cmd_chat(struct client *c, const char *name, int64_t now);
void client_cmd_trust(struct client *c, const char *name, int64_t now);
void client_cmd_verify(struct client *c, const char *name, const char *yes);

#endif
