/* console.h - p2pchat's interactive console: one print path above the input line, keys, suspend. */
#ifndef P2PCHAT_CONSOLE_H
#define P2PCHAT_CONSOLE_H

#include <stdint.h>

#include "client.h"
#include "edit.h"
#include "protocol.h"
#include "screen.h"

/*
 * The terminal side of the chat program. Interactive (stdin and stdout
 * a terminal), the screen is ours: every line goes through one print path
 * that hides the area (screen.c), prints the line, and draws the area and
 * the input line (edit.c) again below it. Otherwise lines go to stdout as
 * they are, coloured when stdout is a terminal. There is one console.
 */
struct console {
	int interactive;          /* stdin and stdout are a terminal: raw mode and the editor */
	int color;                /* stdout is a terminal and NO_COLOR is not set: colours, times */
	int columns, lines;       /* the terminal's size */
	struct edit ed;
	struct screen scr;        /* interactive: the area above the input line */
	int reported;             /* the client reported a line SENT during this client_input */
	int interrupted;          /* Ctrl-C: exit 130, as a shell reports a SIGINT */
	char prompt_for[PROTO_NAME_MAX + 1];
	struct client *c;         /* the client the keys go to; not owned */
};

/*
 * Sets up the console for client c (which client_init may fill later):
 * the terminal's raw mode when interactive, the screen, the line editor,
 * and log.c's lines through the print path. Returns 0, or 1 after an error
 * was logged.
 */
int console_open(struct console *con, struct client *c);

/* A chat or event line (client_io.print): above the line being typed, or on stdout. */
void console_print(struct console *con, const char *line);

/* A line the user sent changed state (client_io.line); interactive only. */
void console_line(struct console *con, const struct client_line *l);

/* A transfer's progress line id, drawn in place above the input line (client_io.progress); NULL removes it. Interactive only. */
void console_progress(struct console *con, uint32_t id, const char *line);

/* Keeps the prompt naming the client's current peer. */
void console_prompt(struct console *con);

/*
 * Interactive: feeds the bytes typed to the editor (Enter gives the line
 * to the client at now, in ms). Returns 0, or -1 at the end of input.
 */
int console_read_keys(struct console *con, int64_t now);

/* The signal handler for SIGWINCH, SIGTSTP and SIGCONT: it only sets a flag for console_signals. */
void console_signal(int sig);

/* Interactive: acts on the signals seen since (a resize, a stop asked from outside, a continue). */
void console_signals(struct console *con);

/* Interactive: hides the area, prints own lines still pending, gives the terminal back. */
void console_close(struct console *con);

/* Frees the screen and the editor. */
void console_free(struct console *con);

#endif
