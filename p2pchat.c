/* p2pchat.c - the chat program: setup from its options, the identity key, signals, the poll loop; the options are in p2pchat_options.c, the logic in client.c, the terminal in console.c. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "console.h"
#include "forward_net.h"
#include "identity.h"
#include "log.h"
#include "birthday.h"
#include "net.h"
#include "p2pchat_options.h"
#include "trust.h"

static volatile sig_atomic_t got_stop;  /* SIGINT or SIGTERM: its number */

/*
 * The poll loop's slots: the socket always, stdin while there is input to
 * read, then the birthday method's spare sockets while any are open.
 */
enum { SLOT_SOCKET, SLOT_INPUT, SLOT_COUNT };

static void on_signal(int sig)
{
	got_stop = sig;
}

/*
 * NAME's identity key from the state directory ($XDG_STATE_HOME/p2pchat,
 * default ~/.local/state/p2pchat), made on first use. The token file of
 * before (NAME.token) is not read any more: its owner token now comes from
 * the key (identity_token), so a line says it can go. Returns 0 with id
 * filled, or 1 after the error was logged (nothing was sent).
 */
static int load_identity(const char *name, struct identity *id)
{
	char dir[PATH_MAX], err[2 * PATH_MAX], fingerprint[IDENTITY_FINGERPRINT_SIZE];
	char old[PATH_MAX + sizeof("/.token") + PROTO_NAME_MAX];
	struct stat st;
	int r;

	if (identity_state_dir(getenv("XDG_STATE_HOME"), getenv("HOME"), dir, sizeof(dir)) < 0) {
		log_error("no place for the identity key: set HOME or XDG_STATE_HOME to a directory");
		return 1;
	}
	r = identity_load_or_create(dir, name, id, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return 1;
	}
	identity_fingerprint(id->pub, fingerprint);
	if (r == 1)
		log_info("made the identity key of %s: %s/%s.key", name, dir, name);
	log_info("%s's key fingerprint: %s", name, fingerprint);
	snprintf(old, sizeof(old), "%s/%s.token", dir, name);
	if (lstat(old, &st) == 0)
		log_warn("%s is no longer used (the owner token comes from %s.key now): delete it",
			 old, name);
	return 0;
}

/* --fingerprint: prints "NAME FINGERPRINT" on one line. Returns the exit status. */
static int print_fingerprint(const char *name)
{
	struct identity id;
	char fingerprint[IDENTITY_FINGERPRINT_SIZE];

	if (load_identity(name, &id) != 0)
		return 1;
	identity_fingerprint(id.pub, fingerprint);
	identity_wipe(&id);
	printf("%s %s\n", name, fingerprint);
	return fflush(stdout) == 0 ? 0 : 1;
}

/*
 * Line mode: how long the end of input waits for the server's first answer
 * when nothing was sent, so that `p2pchat NAME </dev/null` says whether the
 * name could be registered: at least a few of the client's retries (500 ms,
 * then doubling), at most -w.
 */
#define APP_REGISTER_WAIT_MIN_MS 2000

/*
 * The UDP socket's receive buffer: a peer's stream connection may have
 * 2 MiB unacknowledged in flight (stream.h's connection window), and it
 * arrives as fast as the path carries it; the kernel's default (208 KiB,
 * about 90 datagrams) overflowed in the NAT lab at 25 ms a link whenever
 * the loop fell behind for a moment, and each overflow cut the sender's
 * window. On loopback too: a file's receiver, busy hashing, dropped 0.3%
 * of the datagrams with the default. Capped by net.core.rmem_max unless we
 * may pass it.
 */
#define APP_RCVBUF_BYTES (4 << 20)

/* Everything main's loop owns. */
struct app {
	int fd;
	struct console con;       /* the terminal: con.interactive, or line mode */
	struct client c;
	/* line mode: bytes read from stdin, not yet whole lines */
	char in[4 * PROTO_LINE_MAX];
	size_t in_len;
	int skipping;             /* dropping the rest of a line over PROTO_LINE_MAX */
	int eof;
	uint64_t lines_read;      /* line mode: lines taken from stdin */
	int64_t started_ms;
	int no_server;            /* line mode, nothing sent: the server never answered */
	struct trust_store servers; /* known_servers */
	int servers_open;
	/* HOST:PORT: each server's line in known_servers, in the order of cfg.servers */
	char server_label[CLIENT_MAX_SERVERS][TRUST_KEY_NAME_MAX + 1];
	char servers_path[PATH_MAX + sizeof("/" TRUST_SERVERS_FILE)];
	struct trust_store *trust; /* known peers: about 140 KB, allocated once */
	int spare[BDAY_SOCKETS];  /* the birthday method's sockets, number i + 1 at [i]; -1 closed */
	int nspare;               /* slots in use in spare[] (some may be closed) */
	struct fwd_net fwd;       /* --forward and --serve */
	int fwd_on;
	struct net_queue out;     /* datagrams for fd, sent together before each poll */
	int gro;                  /* 1: fd hands up runs of datagrams (net_set_gro) */
};

static void app_send(void *ctx, const struct proto_addr *to, const uint8_t *buf, size_t len)
{
	struct app *a = ctx;
	char s[NET_ADDRSTRLEN];

	if (net_queue_add(&a->out, to, buf, len) < 0)
		log_debug("send to %s: %s", net_addr_str(to, s), strerror(errno));
}

/* Sends what app_send queued: once a turn of the loop, and before leaving. */
static void app_flush(struct app *a)
{
	int refused = net_queue_flush(&a->out);

	if (refused > 0)
		log_debug("send: %d datagrams refused: %s", refused, strerror(errno));
}

/* Closes the spare sockets, all but number keep (0: all). */
static void app_close_spares(struct app *a, int keep)
{
	int last = 0;

	for (int i = 0; i < a->nspare; i++) {
		if (a->spare[i] >= 0 && i + 1 != keep) {
			close(a->spare[i]);
			a->spare[i] = -1;
		}
		if (a->spare[i] >= 0)
			last = i + 1;
	}
	a->nspare = last;
}

/* client_io.spares: n new sockets on ports the kernel picks (birthday.h), or closes them. */
static int app_spares(void *ctx, int n, int keep)
{
	struct app *a = ctx;
	int i;

	app_close_spares(a, n > 0 ? 0 : keep);
	if (n <= 0)
		return 0;
	if (n > BDAY_SOCKETS)
		n = BDAY_SOCKETS;
	for (i = 0; i < n; i++) {
		a->spare[i] = net_udp_socket(NULL, 0, 1);
		if (a->spare[i] < 0) {
			log_debug("spare socket %d: %s", i + 1, strerror(errno));
			break;
		}
	}
	a->nspare = i;
	return i;
}

static void app_send_spare(void *ctx, int sock, const struct proto_addr *to, const uint8_t *buf,
			   size_t len)
{
	struct app *a = ctx;
	char s[NET_ADDRSTRLEN];

	if (sock < 1 || sock > a->nspare || a->spare[sock - 1] < 0)
		return;
	if (net_send(a->spare[sock - 1], a->c.cfg.ipv6, to, buf, len) < 0)
		log_debug("send to %s from spare %d: %s", net_addr_str(to, s), sock, strerror(errno));
}

/* Adds the open spare sockets to fds (spare number - 1 in which[]); returns how many. */
static int app_poll_spares(const struct app *a, struct pollfd *fds, int *which)
{
	int n = 0;

	for (int i = 0; i < a->nspare; i++) {
		if (a->spare[i] < 0)
			continue;
		fds[n] = (struct pollfd){ .fd = a->spare[i], .events = POLLIN };
		which[n++] = i;
	}
	return n;
}

/* Takes what waits on the spare sockets poll marked readable in fds[0..n). */
static void app_read_spares(struct app *a, const struct pollfd *fds, const int *which, int n,
			    int64_t now)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + 1];
	struct proto_addr from;

	for (int k = 0; k < n; k++) {
		int i = which[k];

		if (!(fds[k].revents & POLLIN))
			continue;
		for (int j = 0; j < 8 && i < a->nspare && a->spare[i] >= 0; j++) {
			ssize_t got = net_recv(a->spare[i], buf, sizeof(buf), &from);

			if (got < 0)
				break;
			client_handle_spare(&a->c, i + 1, buf, (size_t)got, &from, now);
		}
	}
}

/* The client's lines go to the console (console.c). */
static void app_print(void *ctx, const char *line)
{
	struct app *a = ctx;

	console_print(&a->con, line);
}

static void app_progress(void *ctx, uint32_t id, const char *line)
{
	struct app *a = ctx;

	console_progress(&a->con, id, line);
}

/* forward.c's status lines, as the client's are printed. */
static void app_fwd_report(void *ctx, const char *line)
{
	struct app *a = ctx;
	char out[300];

	snprintf(out, sizeof(out), "* %s", line);
	console_print(&a->con, out);
}

static void app_line(void *ctx, const struct client_line *l)
{
	struct app *a = ctx;

	console_line(&a->con, l);
}

/* Line mode: passes whole lines to the client while its queues have room. */
static void app_take_lines(struct app *a, int64_t now)
{
	while (client_has_room(&a->c) && !a->c.quit) {
		char *nl = memchr(a->in, '\n', a->in_len);
		size_t len;

		if (nl == NULL) {
			/* one byte more than a message holds: the CR of a CRLF line */
			if (a->in_len > PROTO_LINE_MAX + 1) {
				if (!a->skipping) {
					a->lines_read++;
					client_say(&a->c, "* message not sent: longer than %d bytes",
					    PROTO_LINE_MAX);
					a->c.stats.failed_lines++;
				}
				a->skipping = 1;
				a->in_len = 0;
			}
			if (!a->eof || a->in_len == 0)
				return;
			nl = a->in + a->in_len; /* the last line had no newline */
			a->in[a->in_len++] = '\n';
		}
		len = (size_t)(nl - a->in);
		*nl = '\0';
		if (len > 0 && nl[-1] == '\r')
			nl[-1] = '\0';
		if (!a->skipping) {
			a->lines_read++;
			client_input(&a->c, a->in, now);
		}
		a->skipping = 0;
		a->in_len -= len + 1;
		memmove(a->in, nl + 1, a->in_len);
	}
}

static void app_read_lines(struct app *a, int64_t now)
{
	ssize_t n = read(STDIN_FILENO, a->in + a->in_len, sizeof(a->in) - 1 - a->in_len);

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0)
		a->eof = 1;
	else
		a->in_len += (size_t)n;
	app_take_lines(a, now);
}

/*
 * The buffers app_read_socket fills in one system call (recvmmsg where
 * there is one), and the datagrams it takes at most a turn of the loop
 * (then one call more), so that stdin is read too. With UDP GRO each buffer
 * may hold a run of up to 64 datagrams and needs NET_GRO_BUF_BYTES: 16 of
 * them, 1 MiB of address space (pages only as far as runs fill them);
 * without it, 32 of one datagram each.
 */
#define APP_RECV_BATCH 32
#define APP_RECV_RUNS 16
#define APP_RECV_TURN 64
#define APP_RECV_ARENA_BYTES ((size_t)APP_RECV_RUNS * NET_GRO_BUF_BYTES)

/*
 * Takes every datagram waiting on the socket (at most a bounded batch per
 * turn). A run the kernel handed up whole (a->gro) is cut into its
 * datagrams here, so the client sees, and opens, one datagram at a time:
 * a malformed run is only datagrams that fail to open.
 */
static void app_read_socket(struct app *a, int64_t now)
{
	static uint8_t arena[APP_RECV_ARENA_BYTES];
	struct net_dgram d[APP_RECV_BATCH];
	/* Without GRO one byte over the maximum, so an oversized datagram is seen as such, not cut. */
	size_t cap = a->gro ? NET_GRO_BUF_BYTES : PROTO_MAX_DATAGRAM + 1;
	int n = a->gro ? APP_RECV_RUNS : APP_RECV_BATCH;

	for (int i = 0; i < n; i++)
		d[i] = (struct net_dgram){ .buf = arena + (size_t)i * cap, .cap = cap };
	for (int taken = 0; taken < APP_RECV_TURN;) {
		int got = net_recv_many(a->fd, d, n);

		if (got <= 0)
			return;
		for (int i = 0; i < got; i++) {
			int count = net_dgram_count(&d[i]);

			for (int k = 0; k < count; k++) {
				size_t len;
				const uint8_t *p = net_dgram_at(&d[i], k, &len);

				/* an oversized one, whole in a GRO buffer, reaches the client as it did cut */
				if (len > PROTO_MAX_DATAGRAM + 1)
					len = PROTO_MAX_DATAGRAM + 1;
				client_handle(&a->c, p, len, &d[i].addr, now);
			}
			taken += count;
		}
	}
}

/*
 * Line mode, at the end of input: 1 when the client may leave. It waits
 * until every line was delivered or failed and /who is done; when input
 * held no line at all, until every server answered (or the wait is over:
 * then, if none did, a->no_server, which main reports as a failure).
 */
static int app_done(struct app *a, int64_t now)
{
	int64_t wait = a->c.cfg.wait_ms > APP_REGISTER_WAIT_MIN_MS ? a->c.cfg.wait_ms :
								      APP_REGISTER_WAIT_MIN_MS;
	int all = 1;

	if (client_pending(&a->c) != 0 || a->in_len != 0 || client_who_busy(&a->c))
		return 0;
	for (int i = 0; i < a->c.cfg.nservers; i++)
		all = all && a->c.srv[i].registered;
	if (a->lines_read > 0 || all)
		return 1;
	if (now - a->started_ms < wait)
		return 0;
	a->no_server = !a->c.registered;
	return 1;
}

/* Runs until /quit, a signal, a fatal refusal, or (line mode) the end of input and of the queue. */
static void app_loop(struct app *a, int stay)
{
	a->started_ms = net_now_ms();
	for (;;) {
		int64_t now = net_now_ms();
		int64_t next = client_tick(&a->c, now);
		struct pollfd fds[SLOT_COUNT + FWD_NET_SLOTS + BDAY_SOCKETS];
		int which[BDAY_SOCKETS];
		int nfds = 1, nfwd = 0, nspare, timeout;

		if (got_stop || a->c.quit || a->c.fatal)
			return;
		if (a->eof && !stay && (a->con.interactive || app_done(a, now)))
			return;
		if (a->eof && !a->con.interactive && next > now + 100)
			next = now + 100; /* app_done looks at the clock too */
		if (a->con.interactive) {
			console_signals(&a->con);
			console_prompt(&a->con);
		} else {
			app_take_lines(a, now);
		}

		fds[SLOT_SOCKET] = (struct pollfd){ .fd = a->fd, .events = POLLIN };
		if (!a->eof && (a->con.interactive || (client_has_room(&a->c) &&
						   a->in_len < sizeof(a->in) - 1)))
			fds[nfds++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		if (a->fwd_on) {
			int64_t fnext = fwd_net_tick(&a->fwd, now);

			next = fnext < next ? fnext : next;
			nfwd = (int)fwd_net_pollfds(&a->fwd, fds + nfds, FWD_NET_SLOTS);
		}
		timeout = next - now > 60000 ? 60000 : next - now < 0 ? 0 : (int)(next - now);
		nspare = app_poll_spares(a, fds + nfds + nfwd, which);
		app_flush(a);
		if (poll(fds, (nfds_t)(nfds + nfwd + nspare), timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return;
		}
		now = net_now_ms();
		if (fds[SLOT_SOCKET].revents & POLLIN)
			app_read_socket(a, now);
		app_read_spares(a, fds + nfds + nfwd, which, nspare, now);
		if (nfds > SLOT_INPUT && (fds[SLOT_INPUT].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (a->con.interactive) {
				if (console_read_keys(&a->con, now) < 0)
					a->eof = 1;
			} else {
				app_read_lines(a, now);
			}
		}
		if (nfwd > 0)
			fwd_net_dispatch(&a->fwd, fds + nfds, (size_t)nfwd, now);
	}
}

/* HOST:PORT for the server as the user named it, with the default port when none was given. */
static void server_label(const char *server, char *out, size_t cap)
{
	const char *colon = strchr(server, ':');

	if (server[0] == '[' ? strstr(server, "]:") != NULL : colon != NULL && !strchr(colon + 1, ':'))
		snprintf(out, cap, "%s", server);
	else if (colon != NULL && server[0] != '[')
		snprintf(out, cap, "[%s]:%d", server, CLIENT_DEFAULT_PORT); /* a bare IPv6 address */
	else
		snprintf(out, cap, "%s:%d", server, CLIENT_DEFAULT_PORT);
}

/* The known peers (trust.c), beside the key files. Returns 0, or 1 after an error was printed. */
static int open_known_peers(struct app *a)
{
	char dir[PATH_MAX], err[512];

	if (identity_state_dir(getenv("XDG_STATE_HOME"), getenv("HOME"), dir, sizeof(dir)) < 0)
		return 1; /* load_identity said why */
	a->trust = malloc(sizeof(*a->trust));
	if (a->trust == NULL || trust_open(a->trust, dir, err, sizeof(err)) < 0) {
		log_error("%s", a->trust == NULL ? strerror(errno) : err);
		free(a->trust);
		a->trust = NULL;
		return 1;
	}
	return 0;
}

/*
 * First contact with a server (client_io.pin_server): its key goes into
 * known_servers, as ssh's accept-new does. Returns 0, or -1 (logged).
 */
static int app_pin_server(void *ctx, const uint8_t key[PROTO_KEY_LEN], int server)
{
	struct app *a = ctx;
	char err[2 * PATH_MAX], fingerprint[IDENTITY_FINGERPRINT_SIZE];
	int r;

	if (!a->servers_open)
		return -1;
	r = trust_pin(&a->servers, a->server_label[server], key, err, sizeof(err));
	if (r < 0) {
		log_warn("the server's key is not pinned: %s", err);
		return -1;
	}
	identity_fingerprint(key, fingerprint);
	log_info("pinned the key of the server at %s at first contact (%s) in %s", a->server_label[server],
		 fingerprint, a->servers_path);
	return 0;
}

/*
 * Each server's key: the i-th --server-key for the i-th server, else the
 * one known_servers pinned for it, else none yet (pinned at first
 * contact). Returns 0, or 1 after an error was logged (a known_servers
 * p2pchat cannot read).
 */
static int app_server_keys(struct app *a, const struct p2pchat_options *o, struct client_config *cfg)
{
	char dir[PATH_MAX], err[2 * PATH_MAX];

	if (identity_state_dir(getenv("XDG_STATE_HOME"), getenv("HOME"), dir, sizeof(dir)) < 0)
		return 1; /* load_identity said so already */
	snprintf(a->servers_path, sizeof(a->servers_path), "%s/%s", dir, TRUST_SERVERS_FILE);
	if (trust_open_servers(&a->servers, dir, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return 1;
	}
	a->servers_open = 1;
	for (int i = 0; i < o->nservers; i++) {
		struct client_server_config *sc = &cfg->servers[i];
		const struct trust_entry *e;

		server_label(o->server[i], a->server_label[i], sizeof(a->server_label[i]));
		if (i < o->nkeys) {
			memcpy(sc->key, o->server_key[i], PROTO_KEY_LEN);
			sc->has_key = 1;
			continue;
		}
		e = trust_find(&a->servers, a->server_label[i]);
		if (e != NULL) {
			memcpy(sc->key, e->pub, PROTO_KEY_LEN);
			sc->has_key = 1;
			sc->key_file = a->servers_path;
		}
	}
	return 0;
}

/* Each server's address into cfg->servers. Returns 0, or 1 after an error was printed. */
static int resolve_servers(const struct p2pchat_options *o, struct client_config *cfg)
{
	char err[256];

	cfg->nservers = o->nservers;
	for (int i = 0; i < o->nservers; i++) {
		if (net_resolve(o->server[i], CLIENT_DEFAULT_PORT, &cfg->servers[i].addr, err,
				sizeof(err)) < 0) {
			fprintf(stderr, "p2pchat: server: %s\n", err);
			return 1;
		}
		for (int j = 0; j < i; j++) {
			if (proto_addr_equal(&cfg->servers[j].addr, &cfg->servers[i].addr)) {
				fprintf(stderr, "p2pchat: server: %s is named twice\n", o->server[i]);
				return 1;
			}
		}
	}
	return 0;
}

/*
 * Fills cfg from o: NAME's key, the server's address and key,
 * the socket and the private endpoints it is reached at. Opens a->fd.
 * Returns 0, or 1 after an error was printed.
 */
static int app_configure(struct app *a, const struct p2pchat_options *o, struct client_config *cfg)
{
	struct proto_addr local;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "%s", o->name);
	/* First, so that a refused key stops the program before anything is sent. */
	if (load_identity(cfg->name, &cfg->id) != 0)
		return 1;
	cfg->counter_start = net_wall_us();
	if (open_known_peers(a) != 0)
		return 1;
	cfg->trust = a->trust;
	if (resolve_servers(o, cfg) != 0 || app_server_keys(a, o, cfg) != 0)
		return 1;

	a->fd = net_udp_socket(NULL, (uint16_t)o->port, 1);
	if (a->fd < 0 || net_local_addr(a->fd, &local) < 0) {
		log_error("UDP port %lu: %s", o->port, strerror(errno));
		return 1;
	}
	if (net_set_rcvbuf(a->fd, APP_RCVBUF_BYTES) < 0)
		log_debug("UDP receive buffer: %s", strerror(errno));
	cfg->ipv6 = net_is_ipv6(a->fd);
	net_queue_init(&a->out, a->fd, cfg->ipv6);
	a->gro = getenv("P2PCHAT_NO_GRO") == NULL && net_set_gro(a->fd);
	if (net_is_loopback(&cfg->servers[0].addr)) {
		/* A server on loopback: every peer is on this machine, and loopback is our LAN. */
		cfg->nprivate = 1;
		cfg->private_ep[0] = cfg->servers[0].addr;
		cfg->private_ep[0].port = local.port;
	} else {
		cfg->nprivate = (uint8_t)net_local_endpoints(local.port, cfg->ipv6, cfg->private_ep,
							     PROTO_MAX_PRIVATE);
	}
	cfg->accept_dir = o->accept_dir;
	cfg->wait_ms = (int64_t)o->wait_s * 1000;
	cfg->keepalive_ms = (int64_t)o->keepalive_s * 1000;
	if (net_random(&cfg->seed, sizeof(cfg->seed)) < 0) {
		log_error("cannot get random bytes from the kernel: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Catches the signals the loop looks at; SIGPIPE is ignored. Interactive,
 * also SIGTSTP (a stop asked from outside: the terminal is restored first)
 * and SIGCONT (continued after a stop we did not see: raw mode again).
 */
static void catch_signals(int interactive)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the loop looks */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = console_signal;
	sigaction(SIGWINCH, &sa, NULL);
	if (interactive) {
		sigaction(SIGTSTP, &sa, NULL);
		sigaction(SIGCONT, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

/*
 * Says goodbye to the peers, restores the terminal, frees a. Returns the
 * exit status: 130 after Ctrl-C and 128 + N after signal N (as a shell
 * reports a job a signal ended), 1 when a line failed, the server refused
 * us, or (nothing sent) never answered, or a file we sent was not delivered, else 0.
 */
static int app_close(struct app *a)
{
	int status;
	char s[NET_ADDRSTRLEN];

	if (a->fwd_on)
		fwd_net_stop(&a->fwd);
	client_shutdown(&a->c, net_now_ms());
	app_flush(a);
	if (a->con.interactive)
		console_close(&a->con);
	if (a->no_server && a->c.cfg.nservers > 1)
		log_error("no answer from any of the %d servers: nothing was sent", a->c.cfg.nservers);
	else if (a->no_server)
		log_error("no answer from the server at %s: nothing was sent",
			  net_addr_str(&a->c.cfg.servers[0].addr, s));
	log_debug("datagrams: %llu received, %llu malformed, %llu stray, %llu stale",
		  (unsigned long long)a->c.stats.received, (unsigned long long)a->c.stats.malformed,
		  (unsigned long long)a->c.stats.stray, (unsigned long long)a->c.stats.stale);
	if (a->con.interrupted)
		status = 128 + SIGINT;
	else if (got_stop)
		status = 128 + got_stop;
	else
		status = a->c.fatal || a->c.stats.failed_lines > 0 || a->c.stats.failed_files > 0 ||
			 a->no_server ? 1 : 0;
	client_free(&a->c);
	if (a->servers_open)
		trust_close(&a->servers);
	if (a->trust != NULL) {
		trust_close(a->trust);
		free(a->trust);
	}
	console_free(&a->con);
	close(a->fd);
	app_close_spares(a, 0);
	return status;
}

int main(int argc, char **argv)
{
	static struct app app; /* large: keep it off the stack */
	struct app *a = &app;
	struct client_config cfg;
	struct client_io io = { a, app_send, app_print, app_line, app_pin_server, NULL, NULL,
				app_spares, app_send_spare,
				app_progress };
	struct p2pchat_options o;
	int done, status;

	status = p2pchat_options_parse(argc, argv, &o, &done);
	if (status != 0 || done)
		return status;
	log_init(P2PCHAT_PROGRAM, o.verbose ? LOG_DEBUG : LOG_WARN);
	if (o.fingerprint)
		return print_fingerprint(o.name);
	if (app_configure(a, &o, &cfg) != 0)
		return 1;
	if (console_open(&a->con, &a->c) != 0)
		return 1;
	catch_signals(a->con.interactive);
	cfg.interactive = a->con.interactive;
	status = client_init(&a->c, &cfg, &io, o.peer, net_now_ms());
	identity_wipe(&cfg.id); /* the client has its copy */
	if (status < 0)
		return 2; /* checked above */
	if (o.nforwards > 0 || o.nserves > 0) {
		char err[256];

		if (fwd_net_start(&a->fwd, &a->c, o.forwards, o.nforwards, o.serves, o.nserves,
				  app_fwd_report, a, err, sizeof(err)) < 0) {
			log_error("%s", err);
			app_close(a);
			return 1;
		}
		a->fwd_on = 1;
		for (uint32_t k = 0; k < o.nforwards; k++)
			client_say(&a->c, "* forwarding %s:%u to %s:%u", o.forwards[k].addr,
				   (unsigned)o.forwards[k].lport, o.forwards[k].peer,
				   (unsigned)o.forwards[k].rport);
		for (uint32_t k = 0; k < o.nserves; k++)
			client_say(&a->c, "* serving port %u (%s:%u) to peers",
				   (unsigned)o.serves[k].port, o.serves[k].host,
				   (unsigned)o.serves[k].port);
	}
	if (a->con.interactive) {
		console_print(&a->con, "* type /help for commands");
		console_prompt(&a->con);
	}
	/* a forward lives until it is stopped, as ssh -N does: the end of input does not end it */
	app_loop(a, o.stay || a->fwd_on);
	return app_close(a);
}
