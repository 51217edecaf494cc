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
#include "screen.h"
#include "term.h"


static volatile sig_atomic_t got_stop;  /* SIGINT or SIGTERM: its number */
static volatile sig_atomic_t got_winch; /* SIGWINCH: the terminal was resized */
static volatile sig_atomic_t got_tstp;  /* SIGTSTP (interactive): stop as asked, terminal restored */
static volatile sig_atomic_t got_cont;  /* SIGCONT: we were stopped (perhaps by SIGSTOP): raw mode again */

/* The poll loop's slots: the socket always, stdin while there is input to read. */
enum { SLOT_SOCKET, SLOT_INPUT, SLOT_COUNT };

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else if (sig == SIGTSTP)
		got_tstp = 1;
	else if (sig == SIGCONT)
		got_cont = 1;
	else
		got_stop = sig;
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

/*
 * Line mode: how long the end of input waits for the server's first answer
 * when nothing was sent, so that `p2pchat NAME </dev/null` says whether the
 * name could be registered: at least a few of the client's retries (500 ms,
 * then doubling), at most -w.
 */
#define APP_REGISTER_WAIT_MIN_MS 2000

/* Everything main's loop owns. */
struct app {
	int fd;
	int interactive;          /* stdin and stdout are a terminal: raw mode and the editor */
	int color;                /* stdout is a terminal and NO_COLOR is not set: colours, times */
	int columns, lines;       /* the terminal's size */
	struct edit ed;
	struct screen scr;        /* interactive: the area above the input line */
	int reported;             /* the client reported a line SENT during this client_input */
	int interrupted;          /* Ctrl-C: exit 130, as a shell reports a SIGINT */
	char prompt_for[PROTO_NAME_MAX + 1];
	struct client c;
	/* line mode: bytes read from stdin, not yet whole lines */
	char in[4 * PROTO_LINE_MAX];
	size_t in_len;
	int skipping;             /* dropping the rest of a line over PROTO_LINE_MAX */
	int eof;
	uint64_t lines_read;      /* line mode: lines taken from stdin */
	int64_t started_ms;
	int no_server;            /* line mode, nothing sent: the server never answered */
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

/* The output of one screen update: the area hidden, lines printed, the area drawn again. */
static char frame[16 * PROTO_LINE_MAX];

/*
 * Starts a frame with the bytes that hide the area, for the terminal's
 * size now (a resize may not have been seen yet). Returns their length.
 */
static size_t frame_hide(struct app *a)
{
	a->columns = term_columns(STDOUT_FILENO);
	a->lines = term_lines(STDOUT_FILENO);
	return screen_hide(&a->scr, a->columns, frame, sizeof(frame));
}

/* Adds the area drawn again (last in a frame) and writes the frame. */
static void frame_draw_write(struct app *a, size_t n)
{
	n += screen_draw(&a->scr, &a->ed, a->columns, a->lines, frame + n, sizeof(frame) - n);
	write_all(STDOUT_FILENO, frame, n);
}

/* Draws the area again in place: after a key, a new prompt, a resize, a pending line. */
static void app_redraw(struct app *a)
{
	frame_draw_write(a, frame_hide(a));
}

/* Ctrl-L: clears the screen and draws the area at its top. */
static void app_repaint(struct app *a)
{
	size_t n = frame_hide(a);

	memcpy(frame + n, "\033[H\033[2J", 7);
	frame_draw_write(a, n + 7);
}

/* "HH:MM" now: the wall clock is right here, a time of day for the reader. */
static void app_stamp(char out[8])
{
	time_t t = time(NULL);
	struct tm tm;

	out[0] = '\0';
	if (localtime_r(&t, &tm) != NULL)
		strftime(out, 8, "%H:%M", &tm);
}

/*
 * The one print path of the interactive client: the area is hidden, the
 * line printed where it was (the terminal wraps a long one), and the area
 * drawn again below it.
 */
static void app_show(struct app *a, const char *stamp, const char *line, enum screen_mark mark)
{
	size_t n = frame_hide(a);

	/* half for the line (3 x PROTO_LINE_MAX sanitized at most), half for the area */
	n += screen_format(&a->scr, stamp, line, mark, frame + n, sizeof(frame) / 2);
	memcpy(frame + n, "\r\n", 2);
	frame_draw_write(a, n + 2);
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

/* The terminal says it has the 256-colour palette (xterm-256color, tmux-256color, COLORTERM). */
static int want_256(void)
{
	const char *term = getenv("TERM"), *colorterm = getenv("COLORTERM");

	return (term != NULL && strstr(term, "256") != NULL) ||
	       (colorterm != NULL && colorterm[0] != '\0');
}

/* A chat or event line from the client: above the line being typed. */
static void app_print(void *ctx, const char *line)
{
	struct app *a = ctx;
	char stamp[8];

	if (a->interactive) {
		app_stamp(stamp);
		app_show(a, stamp, line, SCREEN_PLAIN);
	} else if (a->color) {
		static char colored[4 * PROTO_LINE_MAX]; /* the longest line, sanitized, and its colours */

		app_stamp(stamp);
		screen_format(&a->scr, stamp, line, SCREEN_PLAIN, colored, sizeof(colored));
		printf("%s\n", colored);
		fflush(stdout);
	} else {
		printf("%s\n", line);
		fflush(stdout);
	}
}

/*
 * A line the user sent changed state. Interactive only (scripts keep their
 * format: their own lines are not printed): SENT keeps it in the area,
 * dim and "(pending)"; DELIVERED moves it into the scrollback as a chat
 * line; FAILED moves it there marked "(not delivered)" (the client's event
 * line says why).
 */
static void app_line(void *ctx, const struct client_line *l)
{
	static char safe[3 * PROTO_LINE_MAX + 1];
	static char line[sizeof(safe) + 2 * PROTO_NAME_MAX + 16];
	struct app *a = ctx;
	struct screen_own own;
	char stamp[8];
	const char *text;

	if (!a->interactive)
		return;
	if (l->state == CLIENT_LINE_SENT) {
		a->reported = 1;
		text = l->text != NULL ? l->text : "";
		term_sanitize(text, strlen(text), safe, sizeof(safe));
		if (l->action)
			snprintf(line, sizeof(line), "* %s %s", a->c.cfg.name, safe);
		else if (l->peer != NULL && strcmp(l->peer, a->c.current) != 0)
			snprintf(line, sizeof(line), "<%s> (to %s) %s", a->c.cfg.name, l->peer, safe);
		else
			snprintf(line, sizeof(line), "<%s> %s", a->c.cfg.name, safe);
		app_stamp(stamp);
		if (screen_own_add(&a->scr, l->id, stamp, line) == 0)
			app_redraw(a);
		else
			app_show(a, stamp, line, SCREEN_PENDING);
		return;
	}
	if (screen_own_take(&a->scr, l->id, &own) < 0)
		return;
	app_show(a, own.stamp, own.line,
		 l->state == CLIENT_LINE_DELIVERED ? SCREEN_PLAIN : SCREEN_FAILED);
	free(own.line);
}

/* log.c's lines while the screen is ours: through the print path, on stderr. */
static void app_log(void *ctx, const char *line)
{
	struct app *a = ctx;
	size_t n = frame_hide(a);

	write_all(STDOUT_FILENO, frame, n);
	write_all(STDERR_FILENO, line, strlen(line));
	write_all(STDERR_FILENO, "\r\n", 2);
	frame_draw_write(a, 0);
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

/*
 * Ctrl-Z, or a SIGTSTP sent to us: the area is hidden, the terminal given
 * back as it was, and the program stopped with SIGTSTP's default action,
 * as the shell expects of a job. raise() returns when `fg` continues us:
 * raw mode again, the area drawn again.
 */
static void app_suspend(struct app *a)
{
	struct sigaction dfl, old;

	write_all(STDOUT_FILENO, frame, frame_hide(a));
	term_raw_restore();
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGTSTP, &dfl, &old);
	raise(SIGTSTP);
	/* continued */
	sigaction(SIGTSTP, &old, NULL);
	got_tstp = 0;
	got_cont = 0;
	if (term_raw_enable(STDIN_FILENO) < 0)
		log_warn("cannot set up the terminal again: %s", strerror(errno));
	app_redraw(a);
}

/* Returns 1 when a typed line is a message (it may be reported SENT), 0 for a command. */
static int is_message(const char *line)
{
	return line[0] != '/' || line[1] == '/' || strncmp(line, "/me ", 4) == 0 ||
	       strncmp(line, "/msg ", 5) == 0;
}

/*
 * Enter: the line goes to the client, and the input line is empty again. A
 * message shows as your own line once the client reports it SENT; anything
 * else (a command, a message refused at once, a client that does not
 * report lines) is left on the screen as it was typed, prompt and all, in
 * full. A command is shown before its output, a message after its errors.
 */
static void app_enter(struct app *a, int64_t now)
{
	static char typed[PROTO_LINE_MAX + 1];
	static char echo[sizeof(typed) + EDIT_PROMPT_MAX + 1];

	snprintf(typed, sizeof(typed), "%s", a->ed.buf);
	snprintf(echo, sizeof(echo), "%s%s", a->ed.prompt, typed);
	edit_accept(&a->ed);
	a->reported = 0;
	if (!is_message(typed)) {
		app_show(a, NULL, echo, SCREEN_PLAIN);
		client_input(&a->c, typed, now);
		return;
	}
	client_input(&a->c, typed, now);
	if (!a->reported)
		app_show(a, NULL, echo, SCREEN_PLAIN);
	else
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
			app_enter(a, now);
			app_prompt(a);
			break;
		case EDIT_EOF:
			a->c.quit = 1;
			return;
		case EDIT_INTERRUPT:
			a->interrupted = 1;
			a->c.quit = 1;
			return;
		case EDIT_SUSPEND:
			app_suspend(a);
			break;
		case EDIT_REPAINT:
			app_repaint(a);
			break;
		case EDIT_FULL:
			client_say(&a->c, "* the line is full (%d bytes, the most a message holds):"
				   " what you type is not added", PROTO_LINE_MAX);
			break;
		case EDIT_NONE:
			break;
		}
	}
	if (a->ed.dirty)
		app_redraw(a); /* once for all the keys read: a paste is drawn once */
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

/*
 * Line mode, at the end of input: 1 when the client may leave. It waits
 * until every line was delivered or failed and /who is done; when input
 * held no line at all, until the server answered (or the wait is over:
 * then a->no_server, which main reports as a failure).
 */
static int app_done(struct app *a, int64_t now)
{
	int64_t wait = a->c.cfg.wait_ms > APP_REGISTER_WAIT_MIN_MS ? a->c.cfg.wait_ms :
								      APP_REGISTER_WAIT_MIN_MS;

	if (client_pending(&a->c) != 0 || a->in_len != 0 || client_who_busy(&a->c))
		return 0;
	if (a->lines_read > 0 || a->c.registered)
		return 1;
	if (now - a->started_ms < wait)
		return 0;
	a->no_server = 1;
	return 1;
}

/* Signals seen by the loop: a resize, a stop asked from outside, a continue after SIGSTOP. */
static void app_signals(struct app *a)
{
	if (got_tstp) {
		got_tstp = 0;
		app_suspend(a);
	}
	if (got_cont) {
		got_cont = 0;
		if (term_raw_enable(STDIN_FILENO) < 0)
			log_warn("cannot set up the terminal again: %s", strerror(errno));
		got_winch = 1;
	}
	if (got_winch) {
		got_winch = 0;
		app_redraw(a); /* hidden for the width now, drawn again */
	}
}

/* Runs until /quit, a signal, a fatal refusal, or (line mode) the end of input and of the queue. */
static void app_loop(struct app *a, int stay)
{
	a->started_ms = net_now_ms();
	for (;;) {
		int64_t now = net_now_ms();
		int64_t next = client_tick(&a->c, now);
		struct pollfd fds[SLOT_COUNT];
		int nfds = 1, timeout;

		if (got_stop || a->c.quit || a->c.fatal)
			return;
		if (a->eof && !stay && (a->interactive || app_done(a, now)))
			return;
		if (a->eof && !a->interactive && next > now + 100)
			next = now + 100; /* app_done looks at the clock too */
		if (a->interactive) {
			app_signals(a);
			app_prompt(a);
		} else {
			app_take_lines(a, now);
		}

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
	if (o->peer != NULL && strcmp(o->peer, o->name) == 0)
		return usage_error("you cannot chat with yourself: NAME and PEER are both '%s'", o->name);
	if (o->peer != NULL && !proto_name_valid(o->peer))
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
	sigaction(SIGWINCH, &sa, NULL);
	if (interactive) {
		sigaction(SIGTSTP, &sa, NULL);
		sigaction(SIGCONT, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
}

/* Sets up the terminal, the screen and the line editor. Returns 0, or 1 after an error was logged. */
static int app_open_terminal(struct app *a)
{
	a->interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	a->color = want_color();
	term_locale_init();
	screen_init(&a->scr, a->color, want_256());
	edit_init(&a->ed, "> ");
	a->ed.complete = app_complete;
	a->ed.complete_ctx = a;
	a->columns = term_columns(STDOUT_FILENO);
	a->lines = term_lines(STDOUT_FILENO);
	if (a->interactive) {
		if (term_raw_enable(STDIN_FILENO) < 0) {
			log_error("cannot set up the terminal: %s", strerror(errno));
			return 1;
		}
		atexit(term_raw_restore);
		if (isatty(STDERR_FILENO))
			log_set_sink(app_log, a);
	}
	return 0;
}

/*
 * Says goodbye to the peers, restores the terminal, frees a. Returns the
 * exit status: 130 after Ctrl-C and 128 + N after signal N (as a shell
 * reports a job a signal ended), 1 when a line failed, the server refused
 * us, or (nothing sent) never answered, else 0.
 */
static int app_close(struct app *a)
{
	int status;
	char s[NET_ADDRSTRLEN];

	client_shutdown(&a->c, net_now_ms());
	if (a->interactive) {
		write_all(STDOUT_FILENO, frame, frame_hide(a));
		log_set_sink(NULL, NULL);
		/* lines still pending failed in client_shutdown; any left are shown as they were */
		for (size_t i = 0; i < a->scr.nown; i++)
			printf("%s (not delivered)\r\n", a->scr.own[i].line);
		fflush(stdout);
		term_raw_restore();
	}
	if (a->no_server)
		log_error("no answer from the server at %s: nothing was sent",
			  net_addr_str(&a->c.cfg.server, s));
	log_debug("datagrams: %llu received, %llu malformed, %llu stray, %llu stale",
		  (unsigned long long)a->c.stats.received, (unsigned long long)a->c.stats.malformed,
		  (unsigned long long)a->c.stats.stray, (unsigned long long)a->c.stats.stale);
	if (a->interrupted)
		status = 128 + SIGINT;
	else if (got_stop)
		status = 128 + got_stop;
	else
		status = a->c.fatal || a->c.stats.failed_lines > 0 || a->no_server ? 1 : 0;
	client_free(&a->c);
	edit_free(&a->ed);
	screen_free(&a->scr);
	close(a->fd);
	return status;
}

int main(int argc, char **argv)
{
	static struct app app; /* large: keep it off the stack */
	struct app *a = &app;
	struct client_config cfg;
	struct client_io io = { a, app_send, app_print, app_line };
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
	if (app_open_terminal(a) != 0)
		return 1;
	catch_signals(a->interactive);
	if (client_init(&a->c, &cfg, &io, o.peer, net_now_ms()) < 0)
		return 2; /* checked above */
	if (a->interactive) {
		app_print(a, "* type /help for commands");
		app_prompt(a);
	}
	app_loop(a, o.stay);
	return app_close(a);
}
