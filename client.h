/* client.h - p2pchat's logic, driven by datagrams, typed lines and time so tests can run it without sockets. */
#ifndef P2PCHAT_CLIENT_H
#define P2PCHAT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "identity.h"
#include "peer_stream.h"
#include "protocol.h"
#include "session.h"

#define CLIENT_MAX_PEERS 64              /* the peer table; when full, an idle or unanswered peer makes room */
#define CLIENT_MAX_SERVERS 4             /* -s given more than once: every one is registered with and asked;
					    a few are enough to outlive one that fails, and each costs a
					    REFRESH every 20 s */
#define CLIENT_DEFAULT_SERVER "127.0.0.1:7777"
#define CLIENT_DEFAULT_PORT 7777
#define CLIENT_DEFAULT_WAIT_S 10         /* -w: how long a message waits for its peer to come online */
#define CLIENT_DEFAULT_KEEPALIVE_S 15    /* under the ~30 s that real NATs keep an idle UDP mapping (RFC 4787 asks 2 min; many give less) */
#define CLIENT_REFRESH_MS 20000          /* registration refresh: a third of the server's 60 s TTL, and it keeps our NAT mapping to the server open;
					    a third of the TTL the server gives when that is less (-t) */
#define CLIENT_RETRY_MS 500              /* first retry of an unanswered REGISTER or REFRESH; doubles each time */
#define CLIENT_RETRY_MAX_MS 8000         /* ceiling of that backoff; with several servers, one that answered
					    nothing for this long is reported as not answering, and the
					    others carry registration, lookups and the relay */
#define CLIENT_LOOKUP_RETRY_MS 1000      /* re-asks for a peer that is not online yet, or whose introduction was lost */
#define CLIENT_PROBE_INTERVAL_MS 100     /* probes to every endpoint of the peer while punching: both NATs open in a few round trips */
#define CLIENT_PUNCH_MS 5000             /* punching this long without an answer: ask the server to introduce us again;
					    both sides probe all along, so even with 1 s round trips their
					    probes cross many times, and the first a NAT lets in is answered */
#define CLIENT_PREFER_PRIVATE_MS 500     /* connected through the public endpoint (at once): probe the private ones
					    this long, and move there if one answers (peers on one LAN) */
#define CLIENT_OVERDUE_RTTS 2            /* a line waits: the relay carries it when no direct answer came within a
					    probe interval and this many of the relay's round trips (a direct path
					    is seldom longer than the way through the server) */
#define CLIENT_RELAY_PROBE_MS 1000       /* punching: a PROBE through the relay this often, the first at once */
#define CLIENT_RELAY_GRACE_MS 1000       /* no line waiting: a relay that answered is taken only after
					    punching this long with no direct answer (a punch takes a probe
					    interval and a round trip or two); a waiting line, when a direct
					    answer is overdue (CLIENT_OVERDUE_RTTS) */
#define CLIENT_UPGRADE_EVERY_MS 30000    /* relayed: look for a direct path this often (NATs change)... */
#define CLIENT_UPGRADE_BURST_MS 5000     /* ...probing directly this long, as long as a first punch */
#define CLIENT_PING_RETRY_MS 1000        /* an unanswered keepalive is sent again this often */
#define CLIENT_SUSPECT_MS 2000           /* a line or PING unanswered this long, nothing heard: the path may be dead (a NAT
					    forgot or remapped a mapping); ask the server at once where we are and
					    to introduce us again (peer.c, tick_suspect), long before the answer
					    timeout: two of the PINGs sent every second while a line waits
					    (Tailscale pings a path every 3 s while data waits) */
#define CLIENT_ANSWER_TIMEOUT_MS 10000   /* at most this long waiting for any answer (a PONG, an ACK): the peer is offline;
					    less with a short keepalive: 2 x keepalive, so a dead peer is named within 3 keepalives */
#define CLIENT_WHO_RETRY_MS 1000         /* a /who page unanswered this long is asked for again */
#define CLIENT_WHO_TIMEOUT_MS 5000       /* no page for this long: /who gives up and says so */
#define CLIENT_WAIT_RENEW_MS 30000       /* waiting for a peer to come online: the server keeps our LOOKUP for
					    10 minutes, or until other waits push it out; ask again this often */
#define CLIENT_WAIT_POLL_MS 5000         /* the same with a server that does not keep it (an older one), no line waiting */
#define CLIENT_SILENT_MS 3000            /* lines wait for an ACK and nothing came from the peer this long (it is
					    pinged every second then): it is silent, not answering; -w counts
					    for its lines again from when it is heard anew */
#define CLIENT_PROBES_UNANSWERED 8       /* probes to one endpoint in one attempt while the peer was never heard:
					    an endpoint that never answers (perhaps not the peer's at all: a
					    third party named to make us a reflector) gets no more */
#define CLIENT_UNSOLICITED_BURST 8       /* introductions we did not ask for that we punch for at once... */
#define CLIENT_UNSOLICITED_EVERY_MS 2000 /* ...and one more this often: a flood of LOOKUPs of us cannot make
					    us probe the world */
#define CLIENT_PATH_RETRY_MS 1000        /* a PATH_CHALLENGE to one address goes again at most this often */
#define CLIENT_NAT_RETRY_MS 1000         /* an unanswered MAPPING goes again after this... */
#define CLIENT_NAT_TRIES 3               /* ...at most this many times for one public endpoint */
#define CLIENT_NAT_SAME_MS 2000          /* several servers: two of them seeing us at two endpoints shows a symmetric NAT
					    only when both answered this close together (one refresh round): a NAT
					    that remapped between two answers is not symmetric */
#define CLIENT_STALE_REPLY_MS 100        /* a STREAM from another incarnation of the channel is answered
					    (so that its sender starts a new one) at most this often */

struct peer; /* one per peer we know: client_impl.h */

/* Counters, for -v and the tests. */
struct client_stats {
	uint64_t received;
	uint64_t malformed;    /* proto_decode failed */
	uint64_t stray;        /* well-formed but from nobody we know (no such key or index, not the server) */
	uint64_t unopened;     /* a peer datagram that did not open: unknown index, bad tag, replayed, old */
	uint64_t handshakes;   /* sessions made (RESP read, or a RESP sent and confirmed) */
	uint64_t refused_inits; /* an INIT from a key we were not introduced to, or not the pinned one */
	uint64_t unsolicited_dropped; /* introductions we did not ask for, over CLIENT_UNSOLICITED_* */
	uint64_t evicted;      /* peers dropped to make room in the table */
	uint64_t path_moves;   /* paths moved after a PATH_RESPONSE */
	uint64_t unauthenticated; /* from the server's address, but it did not open, was replayed, or
				     a COOKIE with another key than the server's: dropped (auth.h) */
	uint64_t version_refusals; /* version refusals from the server's address (never believed) */
	uint64_t stale;        /* STREAM of an earlier connection (epochs) */
	uint64_t relayed;      /* peer-to-peer datagrams that came through the server's relay */
	uint64_t sent_lines, delivered_lines, failed_lines;
	uint64_t sent_files, received_files, failed_files; /* failed: ours, not delivered (the exit status counts them) */
};

/* What became of a line the user sent: client_io.line reports each step of it. */
enum client_line_state {
	CLIENT_LINE_SENT = 0,      /* queued for its peer; text holds the line (the action for /me) */
	CLIENT_LINE_DELIVERED = 1, /* the peer acknowledged all of it */
	CLIENT_LINE_FAILED = 2,    /* it will not be delivered; an event "* not delivered ..." says why */
};

/* One step of one sent line. */
struct client_line {
	uint32_t id;                   /* names the line from SENT to its end; never 0 */
	enum client_line_state state;
	const char *peer;              /* whom it is for */
	const char *text;              /* SENT only: the line as sent; NULL otherwise */
	int action;                    /* SENT only: 1 for a /me action */
};

/* What the client asks of its owner (main, or a test). */
struct client_io {
	void *ctx;
	/* send one datagram */
	void (*send)(void *ctx, const struct proto_addr *to, const uint8_t *buf, size_t len);
	/* show one line on stdout (no newline): a chat line or an event "* ..." */
	void (*print)(void *ctx, const char *line);
	/* a line the user sent changed state (may be NULL: then only print is used) */
	void (*line)(void *ctx, const struct client_line *l);
	/*
	 * First contact: the key of server number `server` (an index into
	 * client_config.servers), from its COOKIE, is to be pinned
	 * (known_servers). Returns 0, or -1 when it could not be kept (the
	 * client uses it for this run anyway). May be NULL.
	 */
	int (*pin_server)(void *ctx, const uint8_t key[PROTO_KEY_LEN], int server);
	/* fill buf with len random bytes (may be NULL: then net_random, the kernel's) */
	void (*random)(void *ctx, void *buf, size_t len);
	/* the wall clock in ms since 1970, for the handshake's timestamps (may be NULL: the real one) */
	int64_t (*wall_ms)(void *ctx);
	/*
	 * The birthday method's spare sockets (birthday.h), numbered 1..n. n > 0:
	 * closes any open and opens n new ones on any port; returns how many
	 * it opened. n == 0: closes every one but number keep (0: all);
	 * returns 0. Their datagrams come back through client_handle_spare.
	 * May be NULL (with send_spare): this client does not play the hard side.
	 */
	int (*spares)(void *ctx, int n, int keep);
	/* send one datagram from spare socket sock (1..n) */
	void (*send_spare)(void *ctx, int sock, const struct proto_addr *to, const uint8_t *buf,
			   size_t len);
	/*
	 * Interactive: a transfer's progress line id, drawn in place above the
	 * input line (replacing the one before with the same id); NULL line:
	 * remove it. May be NULL: then no bar is drawn.
	 */
	void (*progress)(void *ctx, uint32_t id, const char *line);
};

struct trust_store; /* trust.h */

/* One rendezvous server, as the user named it. */
struct client_server_config {
	struct proto_addr addr;
	int has_key;                /* key is known: pinned, given with --server-key, or (in the
				       client's copy) taken from the server's COOKIE at first contact */
	uint8_t key[PROTO_KEY_LEN];
	/* where key came from, for the warning when the server shows another: a file, or NULL for --server-key */
	const char *key_file;
};

struct client_config {
	char name[PROTO_NAME_MAX + 1];
	struct identity id;         /* NAME's identity key: the name is its own (client_free wipes it) */
	/* the rendezvous servers, in the order given; nservers 0 counts as 1 (servers[0]) */
	struct client_server_config servers[CLIENT_MAX_SERVERS];
	int nservers;
	uint64_t counter_start;     /* the first request's counter (auth.h): the wall clock in us */
	uint8_t nprivate;
	struct proto_addr private_ep[PROTO_MAX_PRIVATE]; /* our interface addresses, our port */
	int ipv6;                   /* our socket can reach IPv6 endpoints */
	int64_t wait_ms;            /* -w */
	int64_t keepalive_ms;       /* --keepalive */
	uint32_t seed;              /* seeds the epoch generator (random in main, fixed in tests) */
	const char *accept_dir;     /* --accept-files DIR: offered files are saved there unasked; NULL: ask */
	int interactive;            /* a person at a terminal answers offers; else (a script) they are refused */
	struct trust_store *trust;  /* known peers, opened by the caller (trust_open); NULL: no
				       store, every key the server introduces is taken */
	/* bytes each way of every peer stream (stream_config.stream_buf), STREAM_INITIAL_WINDOW
	   to 1 GiB; 0: stream.h's default (4 MiB, malloc'd whole when a stream opens), which
	   main keeps. A fuzzer, which makes a client per input, gives less. */
	uint32_t stream_buf;
};

/* Where we stand with one rendezvous server (its address and key are in client_config.servers). */
struct client_server {
	int registered;                   /* the server answered our last REGISTER or REFRESH */
	int ever_registered;
	int down;                         /* several servers: it stopped answering, and that was said */
	int refused;                      /* several servers: it cannot hold our name (full): left alone */
	struct proto_addr public_ep;      /* as the server sees us */
	int64_t public_ms;                /* when its REGISTERED last said so */
	uint8_t cookie[PROTO_COOKIE_LEN]; /* the server's last cookie for our address (COOKIE,
					     REGISTERED), echoed in REGISTER and REFRESH; zeros at first */
	int64_t next_reg_ms;              /* next REGISTER or REFRESH */
	int64_t reg_retry_ms;             /* current backoff while unanswered */
	int64_t reg_since_ms;             /* first unanswered registration attempt, -1 when answered */
	int warned;                       /* "server not answering" logged */
	int relay_off;                    /* the server does not relay (PROTO_E_RELAY_OFF) */
	/* the server's seal (auth.h) */
	int has_k;                        /* k derived from our key and the server's */
	uint8_t k[AUTH_KEY_LEN];
	struct auth_window answers;       /* the server's answers' counters, AUTH_ANSWER_WINDOW wide */
	int said_key_changed;             /* the server-key warning was printed */
	int said_version;                 /* "the server speaks protocol version ..." was printed */
	int64_t notice_until_ms;          /* a NOTICE is believed again from then on (backoff) */
	/* know your NAT through this server (nat_check.c; RFC 5780, 4.3) */
	uint16_t alt_port;                /* its alternate port (REGISTERED), 0 none */
	uint8_t nat;                      /* enum proto_nat: our NAT's kind from its MAPPED */
	int64_t nat_next_ms;              /* the next MAPPING, -1 when none is due */
	int nat_tries;                    /* MAPPINGs sent for this public endpoint */
};

struct client {
	struct client_config cfg;
	struct client_io io;

	struct client_server srv[CLIENT_MAX_SERVERS]; /* one per cfg.servers[], cfg.nservers of them */
	int registered;                   /* some server that answers holds our name (client_servers_update) */
	struct proto_addr public_ep;      /* as the first such server sees us */
	/* know your NAT (nat_check.c; RFC 5780, 4.3): what every server's alternate port saw, together */
	uint8_t nat;                      /* enum proto_nat: ours (client_nat_combine) */
	uint8_t nat_said;                 /* the kind last told the user, PROTO_NAT_UNKNOWN before */
	uint64_t counter;                 /* the last request's counter, to any server; 0 before the first */
	uint64_t instance;                /* this program's random number, in every REGISTER and REFRESH
					     (protocol.h): the server tells it from another with our key */

	struct peer *peers[CLIENT_MAX_PEERS];
	int npeers;
	char current[PROTO_NAME_MAX + 1]; /* where a plain line goes; "" = nowhere yet */

	uint32_t rng;                     /* xorshift state for epochs */
	uint32_t next_line_id;            /* client_io.line's id for the next line sent; never 0 */
	/* /who, one page at a time; who_until_ms is -1 when no /who is under way */
	uint32_t who_cursor;              /* the page asked for */
	uint32_t who_listed;              /* names shown so far */
	int who_srv;                      /* the server asked (one listing is one server's) */
	int64_t who_until_ms;             /* it gives up then */
	int64_t who_next_ms;              /* the next (re)send of the page */

	struct session_identity id;       /* cfg's key pair, for the handshakes */
	int64_t now_ms;                   /* the time of the call under way (handle, tick, input) */
	int64_t last_stamp_ms;            /* the last handshake timestamp: they only grow */
	int64_t unsolicited_tokens_ms;    /* the bucket of unsolicited introductions, as a time: full
					     when at least BURST * EVERY before now */
	uint8_t last_sent_type;           /* the type (inner for SEALED) of the datagram io.send is
					     handed: for the debug log and the tests */

	char spare_owner[PROTO_NAME_MAX + 1]; /* the peer whose birthday try or path holds the spare
					     sockets, "" when none is open */
	struct transfers *xfers;          /* files under way (transfer.c), NULL until the first */
	struct peer_stream_handler stream_kinds[PEER_STREAM_KINDS]; /* who takes the streams peers open, by kind (peer_stream_listen) */

	int fatal;                        /* the server refused us for good: main exits 1 */
	int quit;                         /* /quit */
	struct client_stats stats;
};

/*
 * Sets up a client for cfg at time now; the first REGISTER goes out on the
 * first client_tick. If peer is not NULL, it becomes the current peer and is
 * looked up once registered. Returns 0, or -1 when peer is not a valid name
 * or cfg->stream_buf is out of its range.
 */
int client_init(struct client *c, const struct client_config *cfg, const struct client_io *io,
		const char *peer, int64_t now);

/* Frees the peers, wiping every key (ours and the sessions'). */
void client_free(struct client *c);

/*
 * Handles one datagram buf[0..len) from `from` at time now. Malformed and
 * stray datagrams are counted in c->stats and dropped.
 */
void client_handle(struct client *c, const uint8_t *buf, size_t len,
		   const struct proto_addr *from, int64_t now);

/*
 * client_handle for a datagram that came to spare socket sock (client_io.spares):
 * only peer-to-peer datagrams are taken there, and answers go back from it.
 */
void client_handle_spare(struct client *c, int sock, const uint8_t *buf, size_t len,
			 const struct proto_addr *from, int64_t now);

/*
 * Handles one line the user typed (without its newline): a message for the
 * current peer, or a command (/msg, /chat, /me, /peers, /who, /help, /quit).
 */
void client_input(struct client *c, const char *line, int64_t now);

/* Does what is due at now; returns the next deadline (monotonic ms). */
int64_t client_tick(struct client *c, int64_t now);

/* Returns how many lines are queued and not yet delivered or failed. */
uint32_t client_pending(const struct client *c);

/* Returns 1 while a /who waits for the server's pages, else 0. */
int client_who_busy(const struct client *c);

/* Returns 1 when every peer's queue has room for a line of PROTO_LINE_MAX bytes. */
int client_has_room(const struct client *c);

/*
 * Leaving: says BYE to every connected peer and reports every line still
 * queued as not delivered.
 */
void client_shutdown(struct client *c, int64_t now);

/*
 * Returns up to max names of known peers in out (for Tab completion);
 * returns how many.
 */
int client_peer_names(const struct client *c, const char **out, int max);

/* Prints one formatted line (at most 255 bytes) through c's io.print. */
void client_say(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
