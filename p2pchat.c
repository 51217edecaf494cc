/* p2pchat.c - the chat program: options, the identity key, the terminal, signals, the poll loop; the logic is in client.c. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "identity.h"
#include "log.h"
#include "net.h"
#include "edit.h"
#include "term.h"


static volatile sig_atomic_t got_stop;  /* SIGINT, SIGTERM */
static volatile sig_atomic_t got_winch; /* SIGWINCH: the terminal was resized */

/* The poll loop's slots: the socket always, stdin while there is input to read. */
enum { SLOT_SOCKET, SLOT_INPUT, SLOT_COUNT };

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_stop = 1;
}

#define P2PCHAT_PROGRAM "p2pchat"
#define P2PCHAT_USAGE \
	"usage: p2pchat [-s HOST[:PORT]] [-p LOCAL_PORT] [-w SECONDS] [-k SECONDS] [--stay] [-v] NAME [PEER]\n" \
	"       p2pchat --fingerprint NAME\n"

/* The one usage-error path (cli.c), worded for p2pchat. */
#define usage_error(...) cli_usage_error(P2PCHAT_PROGRAM, P2PCHAT_USAGE, __VA_ARGS__)
#define number(option, text, min, max, out) \
	cli_option_number(P2PCHAT_PROGRAM, P2PCHAT_USAGE, option, text, min, max, out)

static void help(void)
{
	fputs(P2PCHAT_USAGE, stdout);
	printf("Chat with PEER directly over UDP; p2pchatd introduces you"
	       " (and relays if it must).\n"
	       "  -s, --server HOST[:PORT]  rendezvous server (default $P2PCHAT_SERVER, else %s)\n"
	       "  -p, --port PORT           local UDP port (default: any)\n"
	       "  -w, --wait SECONDS        how long a message waits for its peer (default %d)\n"
	       "  -k, --keepalive SECONDS   keepalive to idle peers (default %d)\n"
	       "      --stay                keep running after the end of input\n"
	       "      --fingerprint         print the fingerprint of NAME's key and exit\n"
	       "  -v, --verbose             log every datagram on stderr\n"
	       "  -h, --help                this help\n"
	       "  -V, --version             print the version\n"
	       "Type /help in the chat for its commands.\n",
	       CLIENT_DEFAULT_SERVER, CLIENT_DEFAULT_WAIT_S, CLIENT_DEFAULT_KEEPALIVE_S);
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

/* Everything main's loop owns. */
struct app {
	int fd;
	int interactive;          /* stdin and stdout are a terminal: raw mode and the editor */
	int color;                /* stdout is a terminal and NO_COLOR is not set: colours, times */
	int columns;
	struct edit ed;
	char prompt_for[PROTO_NAME_MAX + 1];
	struct client c;
	/* line mode: bytes read from stdin, not yet whole lines */
	char in[4 * PROTO_LINE_MAX];
	size_t in_len;
	int skipping;             /* dropping the rest of a line over PROTO_LINE_MAX */
	int eof;
};

/* Writes all of buf to fd, retrying short writes. */
static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static void app_redraw(struct app *a)
{
	char out[4 * PROTO_LINE_MAX + 256];
	size_t n = edit_render(&a->ed, a->columns, out, sizeof(out));

	write_all(STDOUT_FILENO, out, n);
}

static void app_send(void *ctx, const struct proto_addr *to, const uint8_t *buf, size_t len)
{
	struct app *a = ctx;
	char s[NET_ADDRSTRLEN];

	if (net_send(a->fd, a->c.cfg.ipv6, to, buf, len) < 0)
		log_debug("send to %s: %s", net_addr_str(to, s), strerror(errno));
}

/*
 * Colours and timestamps are for a person at a terminal, and only when
 * NO_COLOR is unset or empty (https://no-color.org). Scripts reading
 * stdout get the plain lines.
 */
static int want_color(void)
{
	const char *no_color = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && (no_color == NULL || no_color[0] == '\0');
}

#define SGR_RESET "\033[0m"
#define SGR_DIM "\033[2m"

/* A colour for a name, the same every time: SGR 31..36 (red..cyan) by an FNV-1a hash of it. */
static int name_color(const char *name, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 16777619u;
	return 31 + (int)(h % 6);
}

/*
 * Writes line into out[0..cap) as a terminal shows it: a dim "[HH:MM]"
 * stamp, then for a chat line "<NAME> TEXT" the "<NAME>" in the name's
 * colour, for an event "* ..." the whole line dim. The line comes from the
 * client made safe (term_sanitize), so it holds no escape of its own.
 */
static void decorate(const char *line, char *out, size_t cap)
{
	const char *end = line[0] == '<' ? strchr(line, '>') : NULL;
	char stamp[32] = "";
	time_t t = time(NULL); /* the wall clock is right here: a time of day for the reader */
	struct tm tm;

	if (localtime_r(&t, &tm) != NULL)
		strftime(stamp, sizeof(stamp), SGR_DIM "[%H:%M]" SGR_RESET " ", &tm);
	if (end != NULL)
		snprintf(out, cap, "%s\033[%dm%.*s" SGR_RESET "%s", stamp,
			 name_color(line + 1, (size_t)(end - line - 1)), (int)(end - line + 1), line,
			 end + 1);
	else if (line[0] == '*')
		snprintf(out, cap, "%s" SGR_DIM "%s" SGR_RESET, stamp, line);
	else
		snprintf(out, cap, "%s%s", stamp, line);
}

/* A chat or event line: above the line being typed, which is hidden and drawn again. */
static void app_print(void *ctx, const char *line)
{
	static char colored[4 * PROTO_LINE_MAX]; /* the longest line, sanitized, and its colours */
	struct app *a = ctx;

	if (a->color) {
		decorate(line, colored, sizeof(colored));
		line = colored;
	}
	if (a->interactive) {
		char hide[16];
		size_t n = edit_hide(&a->ed, hide, sizeof(hide));

		write_all(STDOUT_FILENO, hide, n);
		write_all(STDOUT_FILENO, line, strlen(line));
		write_all(STDOUT_FILENO, "\r\n", 2);
		app_redraw(a);
	} else {
		printf("%s\n", line);
		fflush(stdout);
	}
}

static int app_complete(void *ctx, const char **out, int max)
{
	struct app *a = ctx;

	return client_peer_names(&a->c, out, max);
}

/* Keeps the prompt naming the current peer. */
static void app_prompt(struct app *a)
{
	char prompt[EDIT_PROMPT_MAX + 1];

	if (strcmp(a->prompt_for, a->c.current) == 0)
		return;
	snprintf(a->prompt_for, sizeof(a->prompt_for), "%s", a->c.current);
	snprintf(prompt, sizeof(prompt), "%s> ", a->c.current[0] ? a->c.current : "");
	edit_set_prompt(&a->ed, prompt);
	app_redraw(a);
}

/* Interactive: feeds the typed bytes to the editor. */
static void app_read_keys(struct app *a, int64_t now)
{
	unsigned char buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n <= 0) {
		if (n == 0 || errno != EINTR)
			a->eof = 1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		switch (edit_key(&a->ed, buf[i])) {
		case EDIT_LINE:
			write_all(STDOUT_FILENO, "\r\n", 2); /* the typed line stays on screen */
			client_input(&a->c, a->ed.buf, now);
			edit_accept(&a->ed);
			app_prompt(a);
			app_redraw(a);
			break;
		case EDIT_EOF:
		case EDIT_INTERRUPT:
			a->c.quit = 1;
			return;
		case EDIT_NONE:
			if (a->ed.dirty)
				app_redraw(a);
			break;
		}
	}
}

/* Line mode: passes whole lines to the client while its queues have room. */
static void app_take_lines(struct app *a, int64_t now)
{
	while (client_has_room(&a->c) && !a->c.quit) {
		char *nl = memchr(a->in, '\n', a->in_len);
		size_t len;

		if (nl == NULL) {
			if (a->in_len > PROTO_LINE_MAX) {
				if (!a->skipping) {
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
		if (!a->skipping)
			client_input(&a->c, a->in, now);
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

/* Takes every datagram waiting on the socket (at most a bounded batch per turn). */
static void app_read_socket(struct app *a, int64_t now)
{
	uint8_t buf[PROTO_MAX_DATAGRAM + 1];
	struct proto_addr from;

	for (int i = 0; i < 64; i++) {
		/* One byte over the maximum, so an oversized datagram is seen as such, not cut. */
		ssize_t n = net_recv(a->fd, buf, sizeof(buf), &from);

		if (n < 0)
			return;
		client_handle(&a->c, buf, (size_t)n, &from, now);
	}
}

/* Runs until /quit, a signal, a fatal refusal, or (line mode) the end of input and of the queue. */
static void app_loop(struct app *a, int stay)
{
	for (;;) {
		int64_t now = net_now_ms();
		int64_t next = client_tick(&a->c, now);
		struct pollfd fds[SLOT_COUNT];
		int nfds = 1, timeout;

		if (got_stop || a->c.quit || a->c.fatal)
			return;
		if (a->eof && !stay &&
		    (a->interactive || (client_pending(&a->c) == 0 && a->in_len == 0 &&
					!client_who_busy(&a->c))))
			return;
		if (got_winch) {
			got_winch = 0;
			a->columns = term_columns(STDOUT_FILENO);
			app_redraw(a);
		}
		if (a->interactive)
			app_prompt(a);
		else
			app_take_lines(a, now);

		fds[SLOT_SOCKET] = (struct pollfd){ .fd = a->fd, .events = POLLIN };
		if (!a->eof && (a->interactive || (client_has_room(&a->c) &&
						   a->in_len < sizeof(a->in) - 1)))
			fds[nfds++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		timeout = next - now > 60000 ? 60000 : next - now < 0 ? 0 : (int)(next - now);
		if (poll(fds, (nfds_t)nfds, timeout) < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return;
		}
		now = net_now_ms();
		if (fds[SLOT_SOCKET].revents & POLLIN)
			app_read_socket(a, now);
		if (nfds > SLOT_INPUT && (fds[SLOT_INPUT].revents & (POLLIN | POLLHUP | POLLERR))) {
			if (a->interactive)
				app_read_keys(a, now);
			else
				app_read_lines(a, now);
		}
	}
}

/* What the command line asked for. */
struct options {
	const char *server; /* HOST[:PORT], or NULL for the default */
	unsigned long port, wait_s, keepalive_s;
	int stay, verbose;
	int fingerprint;    /* --fingerprint: print NAME's fingerprint and exit */
	const char *name, *peer; /* peer: NULL when none was named */
};

/*
 * Reads the command line into o. Returns 0 to run, or the exit status:
 * 0 after --help or --version (with *done set), 2 after a usage error.
 */
static int parse_options(int argc, char **argv, struct options *o, int *done)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "wait", required_argument, NULL, 'w' },
		{ "keepalive", required_argument, NULL, 'k' },
		{ "stay", no_argument, NULL, 'S' },
		{ "fingerprint", no_argument, NULL, 'F' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, bad = 0;

	memset(o, 0, sizeof(*o));
	o->server = getenv("P2PCHAT_SERVER");
	o->wait_s = CLIENT_DEFAULT_WAIT_S;
	o->keepalive_s = CLIENT_DEFAULT_KEEPALIVE_S;
	*done = 0;
	while (!bad && (opt = getopt_long(argc, argv, "s:p:w:k:vhV", longopts, NULL)) != -1) {
		switch (opt) {
		case 's': o->server = optarg; break;
		case 'p': bad = number("-p", optarg, 0, 65535, &o->port); break;
		case 'w': bad = number("-w", optarg, 0, 86400, &o->wait_s); break;
		case 'k': bad = number("-k", optarg, 1, 3600, &o->keepalive_s); break;
		case 'S': o->stay = 1; break;
		case 'F': o->fingerprint = 1; break;
		case 'v': o->verbose = 1; break;
		case 'h': help(); *done = 1; return 0;
		case 'V': puts(P2PCHAT_PROGRAM " " CLI_VERSION); *done = 1; return 0;
		default: fputs(P2PCHAT_USAGE, stderr); return 2; /* getopt said what was wrong */
		}
	}
	if (bad)
		return 2;
	if (argc - optind < 1)
		return usage_error("NAME is missing");
	if (argc - optind > 2)
		return usage_error("too many arguments");
	o->name = argv[optind];
	o->peer = optind + 1 < argc ? argv[optind + 1] : NULL;
	if (!proto_name_valid(o->name))
		return usage_error("'%s' is not a valid name (1 to 32 of A-Z a-z 0-9 . _ -)", o->name);
	if (o->fingerprint && o->peer != NULL)
		return usage_error("--fingerprint takes NAME alone");
	if (o->peer != NULL && (!proto_name_valid(o->peer) || strcmp(o->peer, o->name) == 0))
		return usage_error("'%s' is not a valid peer name", o->peer);
	return 0;
}

/*
 * Fills cfg from o: the owner token from NAME's key, the server's address,
 * the socket and the private endpoints it is reached at. Opens a->fd.
 * Returns 0, or 1 after an error was printed.
 */
static int app_configure(struct app *a, const struct options *o, struct client_config *cfg)
{
	struct proto_addr local;
	struct identity id;
	char err[256];

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->name, sizeof(cfg->name), "%s", o->name);
	/* First, so that a refused key stops the program before anything is sent. */
	if (load_identity(cfg->name, &id) != 0)
		return 1;
	identity_token(&id, cfg->token);
	identity_wipe(&id);
	if (net_resolve(o->server ? o->server : CLIENT_DEFAULT_SERVER, CLIENT_DEFAULT_PORT,
			&cfg->server, err, sizeof(err)) < 0) {
		fprintf(stderr, "p2pchat: server: %s\n", err);
		return 1;
	}

	a->fd = net_udp_socket(NULL, (uint16_t)o->port, 1);
	if (a->fd < 0 || net_local_addr(a->fd, &local) < 0) {
		log_error("UDP port %lu: %s", o->port, strerror(errno));
		return 1;
	}
	cfg->ipv6 = net_is_ipv6(a->fd);
	if (net_is_loopback(&cfg->server)) {
		/* A server on loopback: every peer is on this machine, and loopback is our LAN. */
		cfg->nprivate = 1;
		cfg->private_ep[0] = cfg->server;
		cfg->private_ep[0].port = local.port;
	} else {
		cfg->nprivate = (uint8_t)net_local_endpoints(local.port, cfg->ipv6, cfg->private_ep,
							     PROTO_MAX_PRIVATE);
	}
	cfg->wait_ms = (int64_t)o->wait_s * 1000;
	cfg->keepalive_ms = (int64_t)o->keepalive_s * 1000;
	if (net_random(&cfg->seed, sizeof(cfg->seed)) < 0) {
		log_error("cannot get random bytes from the kernel: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/* Catches the signals the loop looks at; SIGPIPE is ignored. */
static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the loop looks */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGWINCH, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Sets up the terminal and the line editor. Returns 0, or 1 after an error was logged. */
static int app_open_terminal(struct app *a)
{
	a->interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	a->color = want_color();
	edit_init(&a->ed, "> ");
	a->ed.complete = app_complete;
	a->ed.complete_ctx = a;
	a->columns = term_columns(STDOUT_FILENO);
	if (a->interactive) {
		if (term_raw_enable(STDIN_FILENO) < 0) {
			log_error("cannot set up the terminal: %s", strerror(errno));
			return 1;
		}
		atexit(term_raw_restore);
	}
	return 0;
}

/* Says goodbye to the peers, restores the terminal, frees a. Returns the exit status. */
static int app_close(struct app *a)
{
	int status;

	client_shutdown(&a->c, net_now_ms());
	if (a->interactive) {
		char hide[16];
		size_t n = edit_hide(&a->ed, hide, sizeof(hide));

		write_all(STDOUT_FILENO, hide, n);
		term_raw_restore();
	}
	log_debug("datagrams: %llu received, %llu malformed, %llu stray, %llu stale",
		  (unsigned long long)a->c.stats.received, (unsigned long long)a->c.stats.malformed,
		  (unsigned long long)a->c.stats.stray, (unsigned long long)a->c.stats.stale);
	status = a->c.fatal || a->c.stats.failed_lines > 0 ? 1 : 0;
	client_free(&a->c);
	edit_free(&a->ed);
	close(a->fd);
	return status;
}

int main(int argc, char **argv)
{
	static struct app app; /* large: keep it off the stack */
	struct app *a = &app;
	struct client_config cfg;
	struct client_io io = { a, app_send, app_print, NULL };
	struct options o;
	int done, status;

	status = parse_options(argc, argv, &o, &done);
	if (status != 0 || done)
		return status;
	log_init(P2PCHAT_PROGRAM, o.verbose ? LOG_DEBUG : LOG_WARN);
	if (o.fingerprint)
		return print_fingerprint(o.name);
	if (app_configure(a, &o, &cfg) != 0)
		return 1;
	catch_signals();
	if (app_open_terminal(a) != 0)
		return 1;
	if (client_init(&a->c, &cfg, &io, o.peer, net_now_ms()) < 0)
		return 2; /* checked above */
	if (a->interactive) {
		app_print(a, "* type /help for commands");
		app_prompt(a);
	}
	app_loop(a, o.stay);
	return app_close(a);
}
