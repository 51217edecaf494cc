/* console.c - p2pchat's interactive console: one print path above the input line, keys, suspend. */
#include "console.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "term.h"

static volatile sig_atomic_t got_winch; /* SIGWINCH: the terminal was resized */
static volatile sig_atomic_t got_tstp;  /* SIGTSTP (interactive): stop as asked, terminal restored */
static volatile sig_atomic_t got_cont;  /* SIGCONT: we were stopped (perhaps by SIGSTOP): raw mode again */

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
static size_t frame_hide(struct console *con)
{
	con->columns = term_columns(STDOUT_FILENO);
	con->lines = term_lines(STDOUT_FILENO);
	return screen_hide(&con->scr, con->columns, frame, sizeof(frame));
}

/* Adds the area drawn again (last in a frame) and writes the frame. */
static void frame_draw_write(struct console *con, size_t n)
{
	n += screen_draw(&con->scr, &con->ed, con->columns, con->lines, frame + n, sizeof(frame) - n);
	write_all(STDOUT_FILENO, frame, n);
}

/* Draws the area again in place: after a key, a new prompt, a resize, a pending line. */
static void redraw(struct console *con)
{
	frame_draw_write(con, frame_hide(con));
}

/* Ctrl-L: clears the screen and draws the area at its top. */
static void repaint(struct console *con)
{
	size_t n = frame_hide(con);

	memcpy(frame + n, "\033[H\033[2J", 7);
	frame_draw_write(con, n + 7);
}

/* "HH:MM" now: the wall clock is right here, a time of day for the reader. */
static void time_stamp(char out[8])
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
static void show(struct console *con, const char *stamp, const char *line, enum screen_mark mark)
{
	size_t n = frame_hide(con);

	/* half for the line (3 x PROTO_LINE_MAX sanitized at most), half for the area */
	n += screen_format(&con->scr, stamp, line, mark, frame + n, sizeof(frame) / 2);
	memcpy(frame + n, "\r\n", 2);
	frame_draw_write(con, n + 2);
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

void console_print(struct console *con, const char *line)
{
	char stamp[8];

	if (con->interactive) {
		time_stamp(stamp);
		show(con, stamp, line, SCREEN_PLAIN);
	} else if (con->color) {
		static char colored[4 * PROTO_LINE_MAX]; /* the longest line, sanitized, and its colours */

		time_stamp(stamp);
		screen_format(&con->scr, stamp, line, SCREEN_PLAIN, colored, sizeof(colored));
		printf("%s\n", colored);
		fflush(stdout);
	} else {
		printf("%s\n", line);
		fflush(stdout);
	}
}

/*
 * Interactive only (scripts keep their format: their own lines are not
 * printed): SENT keeps the line in the area, dim and "(pending)";
 * DELIVERED moves it into the scrollback as a chat line; FAILED moves it
 * there marked "(not delivered)" (the client's event line says why).
 */
void console_line(struct console *con, const struct client_line *l)
{
	static char safe[3 * PROTO_LINE_MAX + 1];
	static char line[sizeof(safe) + 2 * PROTO_NAME_MAX + 16];
	struct screen_own own;
	char stamp[8];
	const char *text;

	if (!con->interactive)
		return;
	if (l->state == CLIENT_LINE_SENT) {
		con->reported = 1;
		text = l->text != NULL ? l->text : "";
		term_sanitize(text, strlen(text), safe, sizeof(safe));
		if (l->action)
			snprintf(line, sizeof(line), "* %s %s", con->c->cfg.name, safe);
		else if (l->peer != NULL && strcmp(l->peer, con->c->current) != 0)
			snprintf(line, sizeof(line), "<%s> (to %s) %s", con->c->cfg.name, l->peer, safe);
		else
			snprintf(line, sizeof(line), "<%s> %s", con->c->cfg.name, safe);
		time_stamp(stamp);
		if (screen_own_add(&con->scr, l->id, stamp, line) == 0)
			redraw(con);
		else
			show(con, stamp, line, SCREEN_PENDING);
		return;
	}
	if (screen_own_take(&con->scr, l->id, &own) < 0)
		return;
	show(con, own.stamp, own.line,
	     l->state == CLIENT_LINE_DELIVERED ? SCREEN_PLAIN : SCREEN_FAILED);
	free(own.line);
}

void console_progress(struct console *con, uint32_t id, const char *line)
{
	if (!con->interactive)
		return;
	(void)screen_status(&con->scr, id, line);
	redraw(con);
}

/* log.c's lines while the screen is ours: through the print path, on stderr. */
static void log_line(void *ctx, const char *line)
{
	struct console *con = ctx;
	size_t n = frame_hide(con);

	write_all(STDOUT_FILENO, frame, n);
	write_all(STDERR_FILENO, line, strlen(line));
	write_all(STDERR_FILENO, "\r\n", 2);
	frame_draw_write(con, 0);
}

static int complete(void *ctx, const char **out, int max)
{
	struct console *con = ctx;

	return client_peer_names(con->c, out, max);
}

void console_prompt(struct console *con)
{
	char prompt[EDIT_PROMPT_MAX + 1];

	if (strcmp(con->prompt_for, con->c->current) == 0)
		return;
	snprintf(con->prompt_for, sizeof(con->prompt_for), "%s", con->c->current);
	snprintf(prompt, sizeof(prompt), "%s> ", con->c->current[0] ? con->c->current : "");
	edit_set_prompt(&con->ed, prompt);
	redraw(con);
}

/*
 * Ctrl-Z, or a SIGTSTP sent to us: the area is hidden, the terminal given
 * back as it was, and the program stopped with SIGTSTP's default action,
 * as the shell expects of a job. raise() returns when `fg` continues us:
 * raw mode again, the area drawn again.
 */
static void suspend(struct console *con)
{
	struct sigaction dfl, old;

	write_all(STDOUT_FILENO, frame, frame_hide(con));
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
	redraw(con);
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
static void enter(struct console *con, int64_t now)
{
	static char typed[PROTO_LINE_MAX + 1];
	static char echo[sizeof(typed) + EDIT_PROMPT_MAX + 1];

	snprintf(typed, sizeof(typed), "%s", con->ed.buf);
	snprintf(echo, sizeof(echo), "%s%s", con->ed.prompt, typed);
	edit_accept(&con->ed);
	con->reported = 0;
	if (!is_message(typed)) {
		show(con, NULL, echo, SCREEN_PLAIN);
		client_input(con->c, typed, now);
		return;
	}
	client_input(con->c, typed, now);
	if (!con->reported)
		show(con, NULL, echo, SCREEN_PLAIN);
	else
		redraw(con);
}

int console_read_keys(struct console *con, int64_t now)
{
	unsigned char buf[256];
	ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

	if (n <= 0)
		return n == 0 || errno != EINTR ? -1 : 0;
	for (ssize_t i = 0; i < n; i++) {
		switch (edit_key(&con->ed, buf[i])) {
		case EDIT_LINE:
			enter(con, now);
			console_prompt(con);
			break;
		case EDIT_EOF:
			con->c->quit = 1;
			return 0;
		case EDIT_INTERRUPT:
			con->interrupted = 1;
			con->c->quit = 1;
			return 0;
		case EDIT_SUSPEND:
			suspend(con);
			break;
		case EDIT_REPAINT:
			repaint(con);
			break;
		case EDIT_FULL:
			client_say(con->c, "* the line is full (%d bytes, the most a message holds):"
				   " what you type is not added", PROTO_LINE_MAX);
			break;
		case EDIT_NONE:
			break;
		}
	}
	if (con->ed.dirty)
		redraw(con); /* once for all the keys read: a paste is drawn once */
	return 0;
}

void console_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else if (sig == SIGTSTP)
		got_tstp = 1;
	else if (sig == SIGCONT)
		got_cont = 1;
}

/* Seen by the loop: a resize, a stop asked from outside, a continue after SIGSTOP. */
void console_signals(struct console *con)
{
	if (got_tstp) {
		got_tstp = 0;
		suspend(con);
	}
	if (got_cont) {
		got_cont = 0;
		if (term_raw_enable(STDIN_FILENO) < 0)
			log_warn("cannot set up the terminal again: %s", strerror(errno));
		got_winch = 1;
	}
	if (got_winch) {
		got_winch = 0;
		redraw(con); /* hidden for the width now, drawn again */
	}
}

int console_open(struct console *con, struct client *c)
{
	con->c = c;
	con->interactive = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	con->color = want_color();
	term_locale_init();
	screen_init(&con->scr, con->color, want_256());
	edit_init(&con->ed, "> ");
	con->ed.complete = complete;
	con->ed.complete_ctx = con;
	con->columns = term_columns(STDOUT_FILENO);
	con->lines = term_lines(STDOUT_FILENO);
	if (con->interactive) {
		if (term_raw_enable(STDIN_FILENO) < 0) {
			log_error("cannot set up the terminal: %s", strerror(errno));
			return 1;
		}
		atexit(term_raw_restore);
		if (isatty(STDERR_FILENO))
			log_set_sink(log_line, con);
	}
	return 0;
}

void console_close(struct console *con)
{
	write_all(STDOUT_FILENO, frame, frame_hide(con));
	log_set_sink(NULL, NULL);
	/* lines still pending failed in client_shutdown; any left are shown as they were */
	for (size_t i = 0; i < con->scr.nown; i++)
		printf("%s (not delivered)\r\n", con->scr.own[i].line);
	fflush(stdout);
	term_raw_restore();
}

void console_free(struct console *con)
{
	edit_free(&con->ed);
	screen_free(&con->scr);
}
