/* p2pchatd.c - the rendezvous server program: options, signals, the socket loop; the logic is in server.c. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "identity.h"
#include "log.h"
#include "net.h"
#include "server.h"
#include "stun.h"

#define SERVER_PROGRAM "p2pchatd"
#define SERVER_USAGE \
	"usage: p2pchatd [-p PORT] [-b ADDR] [-t TTL_SECONDS] [-n MAX_NAMES] [--allow-who]\n" \
	"                [--no-relay] [--relay-rate BYTES_PER_S] [--limit KIND=N[/BURST]]\n" \
	"                [--no-log-addresses] [--state-dir DIR] [--alt-port PORT] [-v] [-h] [-V]\n" \
	"       p2pchatd --stats [-p PORT] [-b ADDR]\n" \
	"       p2pchatd --print-key [--state-dir DIR]\n"
#define SERVER_TTL_MAX_S 86400 /* a day: longer would keep dead names for no reason */
#define SERVER_STATS_WAIT_MS 2000 /* --stats gives up then: a server on loopback answers in microseconds */
/*
 * Datagrams one receive takes, when that many wait. 32 x 4 us of work is
 * 128 us: the first of a full batch waits no longer than that for its
 * answer, and the system calls are shared 32 ways.
 */
#define SERVER_BATCH 32
#define SERVER_ALT_BATCH 8 /* MAPPINGs answered a turn at the alternate port: one a client a while */

struct server_options {
	uint16_t port;
	const char *bind; /* NULL: every address, IPv4 and IPv6 */
	uint32_t ttl_s;
	uint32_t max_names;
	int allow_who;
	int hide_addresses;
	int no_relay;
	uint32_t relay_rate;
	struct guard_config guard; /* guard_defaults, then each --limit */
	int stats;        /* --stats: ask the running server, do not be one */
	int print_key;    /* --print-key: print the server's public key, do not run */
	const char *state_dir; /* --state-dir; NULL: the default (server_state_dir) */
	uint16_t alt_port; /* --alt-port; 0: none */
	int verbose;
};

/* getopt_long's values for the options that have no short form. */
enum {
	SERVER_OPT_ALLOW_WHO = 256,
	SERVER_OPT_NO_LOG_ADDRESSES,
	SERVER_OPT_STATS,
	SERVER_OPT_NO_RELAY,
	SERVER_OPT_RELAY_RATE,
	SERVER_OPT_LIMIT,
	SERVER_OPT_STATE_DIR,
	SERVER_OPT_PRINT_KEY,
	SERVER_OPT_ALT_PORT,
};

/* Set by the signal handler, read by the loop: the only thing the handler does. */
static volatile sig_atomic_t server_stop; /* SIGINT, SIGTERM */
static volatile sig_atomic_t server_dump; /* SIGUSR1: log the counters */

static void server_on_signal(int sig)
{
	if (sig == SIGUSR1)
		server_dump = 1;
	else
		server_stop = 1;
}

static void server_help(void)
{
	fputs(SERVER_USAGE
	      "  -p, --port PORT             UDP port (default 7777; 0: any free one)\n"
	      "  -b, --bind ADDR             listen on this IP address only (default: every\n"
	      "                              address, IPv4 and IPv6)\n"
	      "  -t, --ttl TTL_SECONDS       a name lives this long without a refresh\n"
	      "                              (1..86400, default 60)\n"
	      "  -n, --max-names MAX_NAMES   the most names held at once (default 100000)\n"
	      "      --allow-who             let registered clients list the names online\n"
	      "                              (/who in p2pchat)\n"
	      "      --no-relay              do not relay between clients that cannot reach\n"
	      "                              each other directly\n"
	      "      --relay-rate BYTES_PER_S\n"
	      "                              the most each client may have relayed, in bytes\n"
	      "                              a second (default 8192; bursts of 4 seconds)\n"
	      "      --limit KIND=N[/BURST]  limit each source IP address (IPv6: each /64) to\n"
	      "                              N requests a second and BURST at once; KIND and\n"
	      "                              default: register 2/20, lookup 20/50, relay\n"
	      "                              32768/65536 (bytes), stun 10/20, names 64 (held\n"
	      "                              at once, no BURST); N 0: no limit\n"
	      "      --no-log-addresses      log \"-\" in place of clients' IP addresses\n"
	      "      --state-dir DIR         keep the server's key (server.key) in DIR\n"
	      "                              (default $STATE_DIRECTORY, else\n"
	      "                              $XDG_STATE_HOME/p2pchatd, else\n"
	      "                              ~/.local/state/p2pchatd)\n"
	      "      --alt-port PORT         answer MAPPING on this second UDP port too, so\n"
	      "                              clients learn whether their NAT keeps one port\n"
	      "                              for every destination (RFC 5780)\n"
	      "      --print-key             print the server's public key (made on first use)\n"
	      "                              for p2pchat --server-key, and exit\n"
	      "      --stats                 print the counters of the p2pchatd running on\n"
	      "                              this machine (at -p PORT, -b ADDR) and exit\n"
	      "  -v, --verbose               log every datagram (debug level)\n"
	      "  -h, --help                  print this help and exit\n"
	      "  -V, --version               print the version and exit\n",
	      stdout);
}

/* Prints "p2pchatd: <what is wrong>" and the usage line to stderr. Returns 2, the exit status. */
/* The one usage-error path (cli.c), worded for p2pchatd. */
#define server_usage_error(...) cli_usage_error(SERVER_PROGRAM, SERVER_USAGE, __VA_ARGS__)
#define server_number(option, text, min, max, out) \
	cli_option_number(SERVER_PROGRAM, SERVER_USAGE, option, text, min, max, out)

/*
 * Reads one --limit KIND=N[/BURST] into cfg. Returns 0, or 2 after a
 * usage error was printed.
 */
static int server_parse_limit(const char *arg, struct guard_config *cfg)
{
	struct guard_config defaults;
	char text[64], *value, *burst;
	unsigned long n, b = 0;
	int k, names;

	if (snprintf(text, sizeof(text), "%s", arg) >= (int)sizeof(text) ||
	    (value = strchr(text, '=')) == NULL)
		return server_usage_error("bad limit: %s (KIND=N[/BURST])", arg);
	*value++ = '\0';
	burst = strchr(value, '/');
	if (burst != NULL)
		*burst++ = '\0';
	/* A rate (enum guard_kind, named as guard_kind_name says), or names held. */
	for (k = 0; k < GUARD_NKINDS; k++) {
		if (strcmp(text, guard_kind_name(k)) == 0)
			break;
	}
	names = k == GUARD_NKINDS;
	if (names && strcmp(text, "names") != 0)
		return server_usage_error("bad limit: %s (KIND: register, lookup, relay, stun "
					  "or names)", arg);
	if (cli_number(value, 0, names ? 1UL << 30 : UINT32_MAX, &n) < 0)
		return server_usage_error("bad limit: %s (N: a whole number, 0 for none)", arg);
	if (names) {
		if (burst != NULL)
			return server_usage_error("bad limit: %s (names takes no BURST)", arg);
		cfg->names_per_source = (uint32_t)n;
		return 0;
	}
	guard_defaults(&defaults);
	/* A relay bucket smaller than a datagram would pass nothing at all. */
	if (burst != NULL &&
	    cli_number(burst, k == GUARD_RELAY ? PROTO_MAX_DATAGRAM : 1,
				GUARD_BURST_MAX, &b) < 0)
		return server_usage_error("bad limit: %s (BURST: %d..%d)", arg,
					  k == GUARD_RELAY ? PROTO_MAX_DATAGRAM : 1,
					  GUARD_BURST_MAX);
	if (burst == NULL) {
		b = defaults.rate[k].burst;
		if (n <= GUARD_BURST_MAX / 2 && 2 * n > b)
			b = 2 * n;
		else if (n > GUARD_BURST_MAX / 2)
			b = GUARD_BURST_MAX;
	}
	cfg->rate[k].per_s = (uint32_t)n;
	cfg->rate[k].burst = (uint32_t)b;
	return 0;
}

/*
 * Names the option getopt_long just refused: "--word" as written for a long
 * one, "-x" for a short one (which may sit in a group like -vx).
 */
static const char *server_bad_option(char **argv, char buf[3])
{
	const char *arg = argv[optind - 1];

	if (strncmp(arg, "--", 2) == 0 || optopt == 0)
		return arg;
	buf[0] = '-';
	buf[1] = (char)optopt;
	buf[2] = '\0';
	return buf;
}

/*
 * Reads the command line into *o. Returns 0 to run, 1 when done (help or
 * version printed: exit 0), or 2 after a usage error was printed (exit 2).
 */
/* Fills o with the defaults, before any option. */
static void server_default_options(struct server_options *o)
{
	o->port = SERVER_DEFAULT_PORT;
	o->bind = NULL;
	o->ttl_s = SERVER_DEFAULT_TTL_S;
	o->max_names = SERVER_DEFAULT_MAX_NAMES;
	o->allow_who = 0;
	o->hide_addresses = 0;
	o->no_relay = 0;
	o->relay_rate = SERVER_DEFAULT_RELAY_RATE;
	guard_defaults(&o->guard);
	o->stats = 0;
	o->print_key = 0;
	o->state_dir = NULL;
	o->alt_port = 0;
	o->verbose = 0;
}

/*
 * Takes one option c (with optarg) into o. Returns 0, 1 when the program is
 * done (--help, --version), or 2 after a usage error was printed.
 */
static int server_take_option(int c, char **argv, struct server_options *o)
{
	char optbuf[3];
	unsigned long v;

	switch (c) {
	case 'p':
		if (server_number("-p", optarg, 0, 65535, &v) != 0)
			return 2;
		o->port = (uint16_t)v;
		return 0;
	case 'b':
		o->bind = optarg;
		return 0;
	case 't':
		if (server_number("-t", optarg, 1, SERVER_TTL_MAX_S, &v) != 0)
			return 2;
		o->ttl_s = (uint32_t)v;
		return 0;
	case 'n':
		if (server_number("-n", optarg, 1, 1UL << 30, &v) != 0)
			return 2;
		o->max_names = (uint32_t)v;
		return 0;
	case SERVER_OPT_ALLOW_WHO:
		o->allow_who = 1;
		return 0;
	case SERVER_OPT_NO_LOG_ADDRESSES:
		o->hide_addresses = 1;
		return 0;
	case SERVER_OPT_STATS:
		o->stats = 1;
		return 0;
	case SERVER_OPT_NO_RELAY:
		o->no_relay = 1;
		return 0;
	case SERVER_OPT_RELAY_RATE:
		if (server_number("--relay-rate", optarg, 1, SERVER_RELAY_RATE_MAX, &v) != 0)
			return 2;
		o->relay_rate = (uint32_t)v;
		return 0;
	case SERVER_OPT_LIMIT:
		if (server_parse_limit(optarg, &o->guard) != 0)
			return 2;
		return 0;
	case SERVER_OPT_STATE_DIR:
		if (optarg[0] == '\0')
			return server_usage_error("--state-dir needs a directory");
		o->state_dir = optarg;
		return 0;
	case SERVER_OPT_PRINT_KEY:
		o->print_key = 1;
		return 0;
	case SERVER_OPT_ALT_PORT:
		if (server_number("--alt-port", optarg, 1, 65535, &v) != 0)
			return 2;
		o->alt_port = (uint16_t)v;
		return 0;
	case 'v':
		o->verbose = 1;
		return 0;
	case 'h':
		server_help();
		return 1;
	case 'V':
		puts(SERVER_PROGRAM " " CLI_VERSION);
		return 1;
	case ':':
		return server_usage_error("option %s needs a value",
					  server_bad_option(argv, optbuf));
	default:
		return server_usage_error("unknown option %s",
					  server_bad_option(argv, optbuf));
	}
	return 0;
}

static int server_parse_options(int argc, char **argv, struct server_options *o)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "bind", required_argument, NULL, 'b' },
		{ "ttl", required_argument, NULL, 't' },
		{ "max-names", required_argument, NULL, 'n' },
		{ "allow-who", no_argument, NULL, SERVER_OPT_ALLOW_WHO },
		{ "no-log-addresses", no_argument, NULL, SERVER_OPT_NO_LOG_ADDRESSES },
		{ "stats", no_argument, NULL, SERVER_OPT_STATS },
		{ "no-relay", no_argument, NULL, SERVER_OPT_NO_RELAY },
		{ "relay-rate", required_argument, NULL, SERVER_OPT_RELAY_RATE },
		{ "limit", required_argument, NULL, SERVER_OPT_LIMIT },
		{ "state-dir", required_argument, NULL, SERVER_OPT_STATE_DIR },
		{ "print-key", no_argument, NULL, SERVER_OPT_PRINT_KEY },
		{ "alt-port", required_argument, NULL, SERVER_OPT_ALT_PORT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, r;

	server_default_options(o);
	opterr = 0; /* we word the errors ourselves; the leading ':' reports a missing value */
	while ((c = getopt_long(argc, argv, ":p:b:t:n:vhV", longopts, NULL)) != -1) {
		r = server_take_option(c, argv, o);
		if (r != 0)
			return r;
	}
	if (optind < argc)
		return server_usage_error("unexpected argument: %s", argv[optind]);
	return 0;
}

/*
 * p2pchatd --stats: sends STATS to the server on this machine (127.0.0.1
 * and ::1 on -p's port, or -b's address) and prints the first answer on
 * stdout: the SERVER_STATS_PAGES STATS_REPLYs of whichever address answered
 * first, in the order they came (loopback keeps it). Returns the exit
 * status: 0, or 1 when no page came in time.
 */
static int server_query_stats(const struct server_options *o)
{
	uint8_t req[PROTO_HEADER_LEN], buf[PROTO_MAX_DATAGRAM + 1];
	struct proto_addr to[2], first;
	struct proto_msg m;
	struct pollfd pfd;
	int64_t deadline;
	int fd, nto = 0, sent = 0, pages = 0, n, i;

	if (o->bind != NULL) {
		if (net_parse_ip(o->bind, o->port, &to[nto++]) < 0)
			return server_usage_error("not an IP address: %s", o->bind);
	} else {
		net_parse_ip("127.0.0.1", o->port, &to[nto++]);
		net_parse_ip("::1", o->port, &to[nto++]);
	}
	memset(&m, 0, sizeof(m));
	m.type = PROTO_STATS;
	n = proto_encode(&m, req, sizeof(req));
	fd = net_udp_socket(NULL, 0, 1);
	if (fd < 0 || n < 0) {
		log_error("cannot open a UDP socket: %s", strerror(errno));
		return 1;
	}
	/* Both loopbacks at once: the server may listen on either. A machine without IPv6 refuses ::1. */
	for (i = 0; i < nto; i++)
		sent += net_send(fd, net_is_ipv6(fd), &to[i], req, (size_t)n) == n;
	pfd.fd = fd;
	pfd.events = POLLIN;
	deadline = net_now_ms() + SERVER_STATS_WAIT_MS;
	while (sent > 0 && pages < SERVER_STATS_PAGES && net_now_ms() < deadline) {
		struct proto_addr from;
		ssize_t len;

		if (poll(&pfd, 1, (int)(deadline - net_now_ms())) <= 0)
			continue;
		len = net_recv(fd, buf, sizeof(buf), &from);
		if (len < 0 || proto_decode(buf, (size_t)len, &m) < 0 ||
		    m.type != PROTO_STATS_REPLY)
			continue;
		for (i = 0; i < nto && !proto_addr_equal(&from, &to[i]); i++)
			;
		/* The pages of the first address that answers; a dual-stack server answers both. */
		if (i == nto || (pages > 0 && !proto_addr_equal(&from, &first)))
			continue;
		first = from;
		pages++;
		/* The decoder let through printable ASCII and newlines only. */
		fwrite(m.text, 1, m.text_len, stdout);
		if (m.text[m.text_len - 1] != '\n')
			putchar('\n');
	}
	close(fd);
	if (pages == 0) {
		log_error("no answer from a p2pchatd on UDP port %u of this machine", (unsigned)o->port);
		return 1;
	}
	if (pages < SERVER_STATS_PAGES)
		log_warn("%d of %d pages of counters came (an older p2pchatd sends one)", pages,
			 SERVER_STATS_PAGES);
	return 0;
}

/* Logs the counters as one line, "WHAT: names 3, names_max 100000, ...": one event, one line. */
static void server_log_stats(const struct server *s, const char *what)
{
	char text[PROTO_STATS_TEXT_MAX + 1], line[SERVER_STATS_PAGES * 2 * sizeof(text)];
	size_t off = 0, n, i;

	for (int page = 0; page < SERVER_STATS_PAGES; page++) {
		n = server_stats_format(s, page, text, sizeof(text));
		for (i = 0; i < n; i++) {
			if (text[i] != '\n') {
				line[off++] = text[i];
			} else if (i + 1 < n || page + 1 < SERVER_STATS_PAGES) {
				line[off++] = ',';
				line[off++] = ' ';
			}
		}
	}
	line[off] = '\0';
	log_info("%s: %s", what, line);
}

/* Errors from recvfrom that mean this program is wrong, not the network: give up on them. */
static int server_recv_fatal(int err)
{
	return err == EBADF || err == ENOTSOCK || err == EFAULT || err == EINVAL;
}

/*
 * Sends tx[0..n) on fd in as few system calls as the system allows
 * (net_send_many); a datagram that cannot go is logged at debug level and
 * skipped, and the rest still go. out has room for n.
 */
static void server_send(const struct server *s, int fd, int ipv6, struct server_tx *tx, int n,
			struct net_dgram *out)
{
	int i = 0, k;

	for (k = 0; k < n; k++) {
		out[k].addr = tx[k].to;
		out[k].buf = tx[k].buf;
		out[k].len = tx[k].len;
		out[k].cap = sizeof(tx[k].buf);
	}
	while (i < n) {
		k = net_send_many(fd, ipv6, &out[i], n - i);
		if (k > 0) {
			i += k;
			continue;
		}
		if (log_enabled(LOG_DEBUG)) {
			char addr[NET_ADDRSTRLEN];

			log_debug("send to %s: %s", server_addr_log(s, &out[i].addr, addr),
				  strerror(errno));
		}
		i++;
	}
}

/* Answers what waits at the alternate port (up to SERVER_ALT_BATCH), from that port. */
static void server_serve_alt(struct server *s, int alt, int ipv6)
{
	static uint8_t buf[PROTO_MAX_DATAGRAM + 1];
	struct server_tx tx[SERVER_MAX_TX];
	struct net_dgram out[SERVER_MAX_TX];
	struct proto_addr from;

	for (int i = 0; i < SERVER_ALT_BATCH; i++) {
		ssize_t n = net_recv(alt, buf, sizeof(buf), &from);

		if (n < 0)
			return;
		server_send(s, alt, ipv6, tx,
			    server_handle_alt(s, buf, (size_t)n, &from, net_now_ms(), tx), out);
	}
}

/*
 * With --alt-port, the receive waits in poll() for either socket (at most
 * SERVER_TICK_MS), answers the alternate port's datagrams, and receives
 * from the main one only when something waits there. Returns as
 * net_recv_many; -1 with EAGAIN when nothing came to the main socket.
 * Without --alt-port the loop does not come here (no poll, no cost).
 */
static int server_recv_with_alt(struct server *s, int fd, int alt, int ipv6,
				 struct net_dgram *rx)
{
	struct pollfd fds[2] = { { .fd = fd, .events = POLLIN }, { .fd = alt, .events = POLLIN } };

	if (poll(fds, 2, SERVER_TICK_MS) < 0)
		return -1;
	if (fds[1].revents & POLLIN)
		server_serve_alt(s, alt, ipv6);
	if (!(fds[0].revents & POLLIN)) {
		errno = EAGAIN;
		return -1;
	}
	return net_recv_many(fd, rx, SERVER_BATCH);
}

/*
 * The receive loop: a blocking receive of whatever is queued (up to
 * SERVER_BATCH datagrams, waiting for the first only), each datagram
 * handled in turn, then all their replies sent together. On Linux that is
 * one recvmmsg and one sendmmsg for the batch (net_recv_many,
 * net_send_many, NET_BATCH_MAX datagrams a call: a batch of lookup hits,
 * two replies each, fits one; a REGISTER that ends waits may need more,
 * which server_send's loop sends in further calls): under load the system calls, which cost more than the
 * work on a request, are shared by the batch; a lone request still gets
 * its answers as soon as it is handled. The receive gives up after
 * SERVER_TICK_MS (SO_RCVTIMEO), so the periodic work runs even when
 * nothing arrives; it runs whenever its deadline has passed. No poll()
 * before the receive: it cost 16% of the server's time. Runs until a
 * signal sets server_stop. Returns the exit status.
 */
static int server_run(struct server *s, int fd, int alt)
{
	/* One spare byte each: an oversize datagram then fails to decode instead of being clipped. */
	static uint8_t bufs[SERVER_BATCH][PROTO_MAX_DATAGRAM + 1];
	static struct server_tx tx[SERVER_BATCH * SERVER_MAX_TX];
	struct net_dgram rx[SERVER_BATCH], out[SERVER_BATCH * SERVER_MAX_TX];
	int ipv6 = net_is_ipv6(fd);
	int64_t next_tick = 0;
	int i;

	if (net_set_recv_timeout(fd, SERVER_TICK_MS) < 0) {
		log_error("cannot set a receive timeout: %s", strerror(errno));
		return 1;
	}
	for (i = 0; i < SERVER_BATCH; i++) {
		rx[i].buf = bufs[i];
		rx[i].cap = sizeof(bufs[i]);
	}
	while (!server_stop) {
		int64_t now;
		int n, ntx = 0;

		if (server_dump) {
			server_dump = 0;
			server_log_stats(s, "counters");
		}
		n = alt < 0 ? net_recv_many(fd, rx, SERVER_BATCH) :
			      server_recv_with_alt(s, fd, alt, ipv6, rx);
		now = net_now_ms(); /* one clock read per batch: it takes microseconds */
		if (now >= next_tick)
			next_tick = server_tick(s, now);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				continue; /* the timeout, or a signal: look at the flags */
			if (server_recv_fatal(errno)) {
				log_error("receive: %s", strerror(errno));
				return 1;
			}
			log_debug("receive: %s", strerror(errno));
			continue;
		}
		for (i = 0; i < n; i++)
			ntx += server_handle(s, rx[i].buf, rx[i].len, &rx[i].addr, now, &tx[ntx]);
		server_send(s, fd, ipv6, tx, ntx, out);
	}
	return 0;
}

/*
 * The state directory, for server.key: --state-dir; else systemd's
 * $STATE_DIRECTORY (StateDirectory=; the first of a colon-separated list);
 * else $XDG_STATE_HOME/p2pchatd; else $HOME/.local/state/p2pchatd (the
 * XDG Base Directory specification). Only absolute paths count. Returns
 * 0 with the path in out[0..cap), or -1 after an error was logged.
 */
static int server_state_dir(const struct server_options *o, char *out, size_t cap)
{
	const char *systemd = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	int n = -1;

	if (o->state_dir != NULL)
		n = snprintf(out, cap, "%s", o->state_dir);
	else if (systemd != NULL && systemd[0] == '/')
		n = snprintf(out, cap, "%.*s", (int)strcspn(systemd, ":"), systemd);
	else if (xdg != NULL && xdg[0] == '/')
		n = snprintf(out, cap, "%s/p2pchatd", xdg);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, cap, "%s/.local/state/p2pchatd", home);
	if (n < 0 || (size_t)n >= cap) {
		log_error("no place for the server's key: give --state-dir, or set "
			  "STATE_DIRECTORY, XDG_STATE_HOME or HOME to a directory");
		return -1;
	}
	return 0;
}

/*
 * The server's key pair from server.key in the state directory, made on
 * first use (identity.c's file rules: mode 0600 in a 0700 directory).
 * Returns 0 with id filled (wipe it), or -1 after an error was logged.
 */
static int server_load_key(const struct server_options *o, struct identity *id)
{
	char dir[PATH_MAX], err[PATH_MAX + 256];
	int r;

	if (server_state_dir(o, dir, sizeof(dir)) < 0)
		return -1;
	r = identity_load_or_create(dir, SERVER_KEY_FILE_NAME, id, err, sizeof(err));
	if (r < 0) {
		log_error("%s", err);
		return -1;
	}
	if (r == 1)
		log_info("made the server's key: %s/%s.key", dir, SERVER_KEY_FILE_NAME);
	return 0;
}

/* Writes pub as 64 lowercase hex digits and a NUL: what p2pchat --server-key takes. */
static void server_key_hex(const uint8_t pub[X25519_LEN], char out[2 * X25519_LEN + 1])
{
	for (size_t i = 0; i < X25519_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", pub[i]);
}

/* p2pchatd --print-key: the public key on stdout. Returns the exit status. */
static int server_print_key(const struct server_options *o)
{
	struct identity id;
	char hex[2 * X25519_LEN + 1];

	if (server_load_key(o, &id) < 0)
		return 1;
	server_key_hex(id.pub, hex);
	identity_wipe(&id);
	puts(hex);
	return 0;
}

/*
 * Sets up the server's tables from the options, with its key from the
 * state directory and a random key for its hashes and cookies. Returns 0,
 * or 1 after an error was logged.
 */
static int server_setup(struct server *s, const struct server_options *o)
{
	struct server_config cfg;
	struct identity id;
	uint8_t seed[SERVER_SEED_LEN];
	char hex[2 * X25519_LEN + 1];
	int r;

	if (server_load_key(o, &id) < 0)
		return 1;
	server_key_hex(id.pub, hex);
	log_info("the server's key: %s", hex);

	if (net_random(seed, sizeof(seed)) < 0) {
		log_error("cannot get random bytes from the kernel: %s", strerror(errno));
		identity_wipe(&id);
		return 1;
	}
	memset(&cfg, 0, sizeof(cfg));
	memcpy(cfg.secret, id.secret, sizeof(cfg.secret));
	identity_wipe(&id);
	cfg.counter_start = net_wall_us();
	cfg.ttl_s = o->ttl_s;
	cfg.max_names = o->max_names;
	cfg.allow_who = o->allow_who;
	cfg.hide_addresses = o->hide_addresses;
	cfg.no_relay = o->no_relay;
	cfg.relay_rate = o->relay_rate;
	cfg.guard = o->guard;
	cfg.alt_port = o->alt_port;
	r = server_init(s, &cfg, seed);
	explicit_bzero(seed, sizeof(seed));
	explicit_bzero(cfg.secret, sizeof(cfg.secret));
	if (r < 0) {
		log_error("cannot allocate the tables for %" PRIu32 " names and %" PRIu32
			  " source addresses", cfg.max_names, cfg.guard.slots);
		return 1;
	}
	return 0;
}

/*
 * Opens the server's UDP socket on o's address and port, with a receive
 * buffer for bursts. Returns the socket with its bound address in *local,
 * or -1 after an error was logged.
 */
static int server_open_socket(const struct server_options *o, const struct proto_addr *bind_addr,
			      struct proto_addr *local)
{
	int fd, rcvbuf;

	fd = net_udp_socket(o->bind != NULL ? bind_addr : NULL, o->port, 0);
	if (fd < 0 || net_local_addr(fd, local) < 0) {
		log_error("cannot listen on UDP port %u: %s", (unsigned)o->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Bursts from many clients at once overflow the default buffer (about 200 KB). */
	rcvbuf = net_set_rcvbuf(fd, SERVER_RCVBUF_BYTES);
	if (rcvbuf < 0)
		log_warn("cannot size the receive buffer: %s", strerror(errno));
	else
		log_debug("receive buffer: %d bytes", rcvbuf);
	return fd;
}

/*
 * --alt-port: the second socket, on the main one's address. Returns it
 * (non-blocking), -1 when there is none to open, or -2 after an error was
 * logged.
 */
static int server_open_alt(const struct server_options *o, const struct proto_addr *bind_addr)
{
	struct proto_addr at;
	int fd;

	if (o->alt_port == 0)
		return -1;
	if (o->bind != NULL) {
		at = *bind_addr;
		at.port = o->alt_port;
	}
	fd = net_udp_socket(o->bind != NULL ? &at : NULL, o->alt_port, 1);
	if (fd < 0) {
		log_error("cannot listen on UDP port %u: %s", (unsigned)o->alt_port, strerror(errno));
		return -2;
	}
	log_info("alternate port %u", (unsigned)o->alt_port);
	return fd;
}

/* INT and TERM stop the loop, USR1 logs the counters: the handler only sets flags. */
static void server_catch_signals(void)
{
	struct sigaction sa;

	/* No SA_RESTART: a signal must interrupt the receive so the loop sees server_stop. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = server_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct server_options o;
	struct proto_addr bind_addr, local;
	struct server s;
	char addr[NET_ADDRSTRLEN];
	int fd, alt, r;

	log_init(SERVER_PROGRAM, LOG_INFO);
	r = server_parse_options(argc, argv, &o);
	if (r != 0)
		return r == 1 ? 0 : r;
	if (o.stats)
		return server_query_stats(&o);
	if (o.print_key)
		return server_print_key(&o);
	if (o.verbose)
		log_init(SERVER_PROGRAM, LOG_DEBUG);
	if (o.bind != NULL && net_parse_ip(o.bind, o.port, &bind_addr) < 0)
		return server_usage_error("not an IP address: %s", o.bind);
	if (server_setup(&s, &o) != 0)
		return 1;
	fd = server_open_socket(&o, &bind_addr, &local);
	alt = fd < 0 ? -1 : server_open_alt(&o, &bind_addr);
	if (fd < 0 || alt == -2) {
		if (fd >= 0)
			close(fd);
		server_free(&s);
		return 1;
	}
	server_catch_signals();

	/* Tests and scripts read the port from this line (with -p 0, the one the kernel chose). */
	log_info("listening on %s", net_addr_str(&local, addr));
	r = server_run(&s, fd, alt);
	server_log_stats(&s, "stopping; counters");
	close(fd);
	if (alt >= 0)
		close(alt);
	server_free(&s);
	return r;
}
