/* client_impl.h - what the client's files share: the peer and its paths, and the functions one file calls in another. Not the client's API (client.h). */
#ifndef P2PCHAT_CLIENT_IMPL_H
#define P2PCHAT_CLIENT_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "birthday.h"
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
 *   4. Everything else is SEALED under the session: STREAM carries the
 *      stream connection (peer_stream.c), chat lines on a stream of their
 *      own (peer_lines.c), files and forwards on others; PING and PONG
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
 * changes: the stream connection is the same on every path.
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
	int sock;               /* direct: 0 our socket, else a birthday spare one (client_io.spares) */
};

/* One PATH_CHALLENGE out, waiting for its PATH_RESPONSE from where it went (RFC 9000, 8.2). */
struct path_check {
	struct route to;
	uint8_t data[PROTO_PATH_DATA_LEN];
	int64_t sent_ms;                  /* -1: the slot is free */
};
#define CLIENT_PATH_CHECKS (PROTO_MAX_PRIVATE + 3) /* the private endpoints, public, seen, other family */

struct peer {
	char name[PROTO_NAME_MAX + 1];
	enum peer_state state;
	int wanted;                       /* we chose to talk to it (not just introduced to us) */

	/* the introduction */
	int introduced;
	uint8_t key[PROTO_KEY_LEN];       /* its public key, from the server's PEER (has_key) */
	int has_key;
	struct proto_addr public_ep;
	struct proto_addr other_ep;       /* its public endpoint in the other family, from a server
					     that saw it in both (protocol.h, PEER); family 0: none */
	uint8_t nprivate;
	struct proto_addr private_ep[PROTO_MAX_PRIVATE];
	struct proto_addr seen_ep;        /* where its probes came from, when none of the above */
	/* several servers: who introduced it, and the key each one gave (a mismatch is refused) */
	int intro_srv;                    /* the server whose introduction started this attempt */
	unsigned intro_mask;              /* bit i: intro_key[i] holds server i's last introduction */
	uint8_t intro_key[CLIENT_MAX_SERVERS][PROTO_KEY_LEN];
	int key_conflict;                 /* the servers disagree on its key: nothing goes to it */
	unsigned not_online_mask;         /* bit i: server i said it is not online since our last LOOKUP */
	uint8_t nat;                      /* enum proto_nat, its NAT's kind as the server learnt it */
	uint16_t nat_port;                /* its public port as the server's alternate port saw it, 0 none */

	/* the connection */
	uint32_t my_epoch, peer_epoch;    /* see protocol.h, PROBE; peer_epoch 0 = not known yet */
	int epoch_confirmed;              /* peer_epoch was heard under the session since it last connected (peer_stream_ready) */
	struct route path;                /* where the chat goes, while connected */
	enum path_kind path_kind;
	struct peer_chat *chat;           /* lines to it, chat streams from it (peer_lines.c); allocated with the peer */
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
	int64_t suspect_ms;               /* connected, unanswered CLIENT_SUSPECT_MS: since then (tick_suspect) */
	struct proto_addr suspect_ep;     /* our public endpoint when the peer was last looked up for that */

	/* the session (peer_session.c) */
	int key_state;                    /* trust.h's enum trust_state of key, once checked */
	int key_checked;                  /* key_state is about key as it is now */
	uint8_t warned_key[PROTO_KEY_LEN]; /* the changed key last warned about */
	struct session_peer sess;         /* keys, handshake, sessions: for key once checked */
	uint8_t init[SESSION_INIT_LEN];   /* this attempt's INIT, sent to every endpoint again and again */
	int init_valid;
	uint8_t init_in[SESSION_INIT_LEN]; /* the last INIT we answered, and our answer: a repeat */
	uint8_t resp_out[SESSION_RESP_LEN]; /* from resp_to gets the same RESP; nothing changes */
	int resp_valid;
	struct route resp_to;             /* where that RESP went: its confirmation from there proves it */
	struct path_check checks[CLIENT_PATH_CHECKS];
	uint8_t probes[CLIENT_PATH_CHECKS]; /* probes sent to each endpoint this attempt (public,
					       seen, private...) while the peer was never heard */
	int64_t evict_ms;                 /* when it last did something worth keeping it for */

	int said_not_online;              /* "* waiting for NAME to come online" printed for this wait */
	int64_t next_stale_reply_ms;      /* a stale DATA or ACK is answered again from then on */

	/* the birthday method (birthday.h, punch_birthday.c) */
	struct bday bday;
	int said_both_hard;               /* "both NATs are symmetric" printed */
	int said_spares_wait;             /* "the birthday method waits" (another peer's try) printed */
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
struct route client_relay_route(const struct client *c, const struct peer *p);
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
void client_on_relayed(struct client *c, int si, const struct proto_msg *m, int64_t now);
int client_peer_key_ok(struct client *c, struct peer *p);
int client_send_probe(struct client *c, struct peer *p, const struct route *r, int64_t now);
void client_path_proven(struct client *c, struct peer *p, const struct route *from, int64_t now);
int64_t client_tick_session(struct client *c, struct peer *p, int64_t now);
void client_session_reset(struct peer *p);
void client_random(struct client *c, void *buf, size_t len);

/* servers.c: which servers hold our name and answer, which relays, their word on peers' keys */
int client_several(const struct client *c);
const char *client_server_str(const struct client *c, int si, char *a);
int client_server_index(const struct client *c, const struct proto_addr *from);
int client_server_usable(const struct client *c, int si);
int client_relay_server(const struct client *c, const struct peer *p);
void client_servers_update(struct client *c);
void client_refresh_now(struct client *c, int64_t now);
int client_keys_agree(struct client *c, struct peer *p, int si, const uint8_t key[PROTO_KEY_LEN]);
int client_server_refused(struct client *c, int si, uint8_t code);
void client_server_down(struct client *c, int si);

/* registration.c: the servers' seal, what p2pchatd answers, registration and /who timers */
void client_send_request(struct client *c, int si, const struct proto_msg *m);
void client_send_request_to(struct client *c, int si, const struct proto_msg *m,
	const struct proto_addr *to);
void client_send_to_server(struct client *c, int si, const struct proto_msg *m);
void client_on_server(struct client *c, int si, const uint8_t *buf, size_t len, int64_t now);
void client_forget_keys(struct client *c);
void client_on_registered(struct client *c, int si, const struct proto_msg *m, int64_t now);
void client_on_cookie(struct client *c, int si, const struct proto_msg *m, int64_t now);
void client_on_peer_intro(struct client *c, int si, const struct proto_msg *m, int64_t now);
void client_on_error(struct client *c, int si, const struct proto_msg *m, int64_t now);
void client_on_who_reply(struct client *c, int si, const struct proto_msg *m, int64_t now);
int64_t client_tick_registration(struct client *c, int64_t now);
int64_t client_tick_who(struct client *c, int64_t now);

/* nat_check.c: know your NAT (MAPPING to the server's alternate port, MAPPED) */
void client_nat_registered(struct client *c, int si, const struct proto_msg *m,
	int endpoint_changed, int64_t now);
void client_on_mapped(struct client *c, int si, const struct proto_msg *m, int64_t now);
int client_alt_index(const struct client *c, const struct proto_addr *from);
int client_nat_waiting(const struct client *c, int64_t *due);
void client_nat_update(struct client *c, int64_t now);
int64_t client_tick_nat(struct client *c, int64_t now);
const char *client_nat_word(uint8_t nat);

/*
 * peer_lines.c: chat lines on a stream of kind PEER_STREAM_KIND_CHAT
 * (peer_stream.h), lines sent and their failures.
 */
#define CLIENT_LINES_MAX 128 /* lines held for a peer until acknowledged; a full queue refuses lines */
struct peer_chat;
/* Returns a peer's empty chat state (free it with client_lines_free), or NULL without memory. */
struct peer_chat *client_lines_new(void);
/* Frees p's chat state and the lines it holds, telling nobody (the peer is being freed). */
void client_lines_free(struct peer *p);
/* Registers the handler of the chat streams peers open (client_init). */
void client_lines_init(struct client *c);
/* Returns the lines queued for p and not yet acknowledged. */
uint32_t client_lines_pending(const struct peer *p);
/* Returns how many more lines p's queue takes. */
uint32_t client_lines_room(const struct peer *p);
/* Returns when the oldest line not acknowledged went on the stream (ms), or -1 when none is on it. */
int64_t client_lines_oldest(const struct peer *p);
/* Hands over (DELIVERED) the lines whose records the peer acknowledged, oldest first. */
void client_lines_acked(struct client *c, struct peer *p);
/* Connected: puts queued lines on p's chat stream. Returns the next deadline (ms). */
int64_t client_tick_lines(struct client *c, struct peer *p, int64_t now);
/* Reports every line queued for p as not delivered, for the reason why; its stream is reset. */
void client_fail_pending(struct client *c, struct peer *p, const char *why);
void client_send_line(struct client *c, const char *name, uint8_t flags, const char *text,
	int64_t now);

/* peer_stream.c: the peer's stream connection (the consumers' API is peer_stream.h) */
struct peer_streams;
void client_on_stream(struct client *c, struct peer *p, const uint8_t *body, size_t len,
	const struct route *from, int64_t now);
int64_t client_tick_streams(struct client *c, struct peer *p, int64_t now);
void client_streams_epochs(struct peer *p);
void client_streams_wake(struct peer *p);
int client_streams_busy(const struct peer *p);
void client_streams_free(struct peer *p);

/* transfer.c, transfer_send.c, transfer_recv.c: files to and from peers (transfer.h: the messages, names, progress) */
void client_transfers_init(struct client *c);
void client_cmd_send(struct client *c, const char *peer, const char *file, int64_t now);
void client_cmd_answer(struct client *c, const char *peer, int accept);
int64_t client_tick_transfers(struct client *c, int64_t now);
uint32_t client_transfers_pending(const struct client *c);
void client_transfers_shutdown(struct client *c);
void client_transfers_free(struct client *c);

/* punch.c: the punch's decisions, the punch and upgrade timers */
int client_path_better(const struct peer *p, const struct route *from);
void client_on_punch_answer(struct client *c, struct peer *p, const struct route *from,
	int64_t now);
void client_on_peer_probing(struct client *c, struct peer *p, const struct route *from,
	int64_t now);
int64_t client_tick_lookup(struct client *c, struct peer *p, int64_t now);
void client_send_lookup(struct client *c, struct peer *p, int64_t now);
int64_t client_tick_punch(struct client *c, struct peer *p, int64_t now);
int64_t client_tick_upgrade(struct client *c, struct peer *p, int64_t now);
int64_t client_tick_private(struct client *c, struct peer *p, int64_t now);

/* punch_birthday.c: the birthday method through one symmetric NAT, on the relay */
int64_t client_tick_birthday(struct client *c, struct peer *p, int64_t now);
int client_birthday_answer(const struct peer *p, const struct proto_msg *in,
	const struct route *from);
void client_nat_learnt(struct client *c, int64_t now);

/* commands.c: what the user types */
void client_cmd_chat(struct client *c, const char *name, int64_t now);
void client_cmd_trust(struct client *c, const char *name, int64_t now);
void client_cmd_verify(struct client *c, const char *name, const char *yes);

#endif
