/* commands.c - what the user types: chat lines, /msg, /chat, /me, /peers, /who, /help, /quit. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"

/* ---- what the user types ---- */

/* Queues one line for the peer called name (peer.c); reports at once what cannot be sent. */
static void send_line(struct client *c, const char *name, uint8_t flags, const char *text,
		      int64_t now)
{
	client_send_line(c, name, flags, text, now);
}

/* /chat NAME: plain lines go to NAME from now on; connect to it. */
void client_cmd_chat(struct client *c, const char *name, int64_t now)
{
	struct peer *p;

	if (!proto_name_valid(name) || strcmp(name, c->cfg.name) == 0) {
		client_say(c, "* cannot chat with '%s': not a valid peer name", name);
		return;
	}
	p = client_peer_get(c, name);
	if (p == NULL) {
		client_say(c, "* cannot chat with %s: too many peers", name);
		return;
	}
	snprintf(c->current, sizeof(c->current), "%s", name);
	p->wanted = 1;
	p->said_not_online = 0;
	if (p->state == PEER_OFFLINE)
		client_start_lookup(p, now);
}

static void cmd_peers(struct client *c)
{
	char a[NET_ADDRSTRLEN];

	if (c->npeers == 0) {
		client_say(c, "* no peers");
		return;
	}
	for (int i = 0; i < c->npeers; i++) {
		struct peer *p = c->peers[i];
		int64_t rtt = p->chan->srtt_ms >= 0 ? p->chan->srtt_ms : p->rtt_ms;

		if (p->state == PEER_CONNECTED)
			client_say(c, "* peer %s %s %s %s rtt %lld ms", p->name, client_state_name(p->state),
			    client_path_name(p->path_kind), net_addr_str(&p->path.addr, a),
			    (long long)rtt);
		else
			client_say(c, "* peer %s %s", p->name, client_state_name(p->state));
	}
}

/* /who: the names online, a page at a time (the first goes out on the next tick). */
static void cmd_who(struct client *c, int64_t now)
{
	c->who_cursor = 0;
	c->who_listed = 0;
	c->who_until_ms = now + CLIENT_WHO_TIMEOUT_MS;
	c->who_next_ms = now;
}

static void cmd_help(struct client *c)
{
	client_say(c, "* TEXT            send TEXT to the current peer");
	client_say(c, "* /msg NAME TEXT  send TEXT to NAME");
	client_say(c, "* /chat NAME      make NAME the current peer");
	client_say(c, "* /me ACTION      send an action (\"* you ACTION\")");
	client_say(c, "* /peers          list peers: state, path, address, round-trip time");
	client_say(c, "* /who            list the names online, if the server allows it");
	client_say(c, "* /help, /quit    this list; leave (also Ctrl-D, Ctrl-C)");
	client_say(c, "* //TEXT          send TEXT starting with one /");
}

/* Splits "WORD REST" at the first space: returns REST ("" if none) and copies WORD. */
static const char *split_word(const char *s, char *word, size_t cap)
{
	size_t n = strcspn(s, " ");

	snprintf(word, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
	s += n;
	while (*s == ' ')
		s++;
	return s;
}

/* A plain line or /me: to the current peer, if there is one. */
static void send_current(struct client *c, uint8_t flags, const char *text, int64_t now)
{
	if (c->current[0] == '\0') {
		client_say(c, "* message not sent: no current peer (use /chat NAME or /msg NAME TEXT)");
		c->stats.failed_lines++;
		return;
	}
	send_line(c, c->current, flags, text, now);
}

void client_input(struct client *c, const char *line, int64_t now)
{
	char cmd[16], name[PROTO_NAME_MAX + 2];
	const char *rest;

	if (line[0] == '\0')
		return;
	if (line[0] != '/' || line[1] == '/') {
		send_current(c, 0, line[0] == '/' ? line + 1 : line, now);
		return;
	}
	rest = split_word(line, cmd, sizeof(cmd));
	if (strcmp(cmd, "/msg") == 0) {
		rest = split_word(rest, name, sizeof(name));
		if (name[0] == '\0' || rest[0] == '\0')
			client_say(c, "* usage: /msg NAME TEXT");
		else
			send_line(c, name, 0, rest, now);
	} else if (strcmp(cmd, "/chat") == 0) {
		split_word(rest, name, sizeof(name));
		if (name[0] == '\0')
			client_say(c, "* usage: /chat NAME");
		else
			client_cmd_chat(c, name, now);
	} else if (strcmp(cmd, "/me") == 0) {
		if (rest[0] == '\0')
			client_say(c, "* usage: /me ACTION");
		else
			send_current(c, PROTO_DATA_ACTION, rest, now);
	} else if (strcmp(cmd, "/peers") == 0) {
		cmd_peers(c);
	} else if (strcmp(cmd, "/who") == 0) {
		cmd_who(c, now);
	} else if (strcmp(cmd, "/help") == 0) {
		cmd_help(c);
	} else if (strcmp(cmd, "/quit") == 0) {
		c->quit = 1;
	} else {
		client_say(c, "* unknown command %s (try /help)", cmd);
	}
}

