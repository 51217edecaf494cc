/* commands.c - what the user types: chat lines, /msg, /chat, /me, /peers, /trust, /verify, /who, /send, /accept, /reject, /help, /quit. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "net.h"
#include "peer_stream.h"
#include "trust.h"

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

/* The word /peers shows for p's key: new (none checked yet), pinned, verified, changed. */
static const char *key_word(const struct peer *p)
{
	return trust_state_name(p->has_key && p->key_checked ? p->key_state : TRUST_NEW);
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
		const struct stream_conn *sc = peer_stream_conn(c, p->name);
		int64_t rtt = sc != NULL && sc->cc.have_rtt ? sc->cc.smoothed_rtt_ms : p->rtt_ms;

		if (p->state == PEER_CONNECTED)
			client_say(c, "* peer %s %s %s %s rtt %lld ms nat %s/%s key %s", p->name,
			    client_state_name(p->state), client_path_name(p->path_kind),
			    net_addr_str(&p->path.addr, a), (long long)rtt, client_nat_word(c->nat),
			    client_nat_word(p->nat), key_word(p));
		else
			client_say(c, "* peer %s %s nat %s/%s key %s", p->name,
			    client_state_name(p->state), client_nat_word(c->nat),
			    client_nat_word(p->nat), key_word(p));
	}
}

/* The key to show or mark for name: the one it was introduced with, else the pinned one. */
static const uint8_t *known_key(const struct client *c, const char *name)
{
	struct peer *p = client_peer_find((struct client *)c, name);
	const struct trust_entry *e;

	if (p != NULL && p->has_key)
		return p->key;
	if (c->cfg.trust != NULL && (e = trust_find(c->cfg.trust, name)) != NULL)
		return e->pub;
	return NULL;
}

/*
 * /trust NAME: the key NAME was introduced with replaces the pinned one
 * (after "* WARNING: NAME's key has changed"), and lines may go to it.
 */
void client_cmd_trust(struct client *c, const char *name, int64_t now)
{
	struct peer *p = client_peer_find(c, name);
	char line[TRUST_MSG_MAX], err[256];
	int st = TRUST_PINNED;

	if (p == NULL || !p->has_key) {
		client_say(c, "* no key to trust for %s: it was not introduced (try /chat %s)", name,
		    name);
		return;
	}
	if (c->cfg.trust != NULL &&
	    (st = trust_accept(c->cfg.trust, name, p->key, err, sizeof(err))) < 0) {
		client_say(c, "* %s", err);
		return;
	}
	trust_msg_accepted(line, sizeof(line), name, p->key);
	c->io.print(c->io.ctx, line);
	p->key_state = st;
	p->key_checked = 1;
	memset(p->warned_key, 0, sizeof(p->warned_key));
	if (p->state == PEER_OFFLINE && (p->wanted || client_lines_pending(p) > 0))
		client_start_lookup(p, now);
}

/*
 * /verify NAME: the safety number of our key and NAME's, to compare by
 * voice or in person. /verify NAME yes: it matched: NAME is verified.
 */
void client_cmd_verify(struct client *c, const char *name, const char *yes)
{
	const uint8_t *key = known_key(c, name);
	struct peer *p = client_peer_find(c, name);
	char line[TRUST_MSG_MAX], err[256];
	int st;

	if (key == NULL) {
		client_say(c, "* no key known for %s: it was never introduced (try /chat %s)", name,
		    name);
		return;
	}
	if (p != NULL && p->has_key && p->key_checked && p->key_state == TRUST_CHANGED) {
		client_say(c, "* %s's key has changed: /trust %s first, then /verify %s", name, name,
		    name);
		return;
	}
	if (strcmp(yes, "yes") != 0) {
		trust_msg_safety(line, sizeof(line), name, c->cfg.id.pub, key);
		c->io.print(c->io.ctx, line);
		return;
	}
	if (c->cfg.trust == NULL) {
		client_say(c, "* no known_peers file: %s cannot be marked verified", name);
		return;
	}
	st = trust_verify(c->cfg.trust, name, key, err, sizeof(err));
	if (st < 0) {
		client_say(c, "* %s", err);
		return;
	}
	if (st == TRUST_CHANGED) {
		client_say(c, "* %s's key has changed meanwhile: nothing was marked", name);
		return;
	}
	trust_msg_verified(line, sizeof(line), name, key);
	c->io.print(c->io.ctx, line);
	if (p != NULL && p->has_key && memcmp(p->key, key, PROTO_KEY_LEN) == 0)
		p->key_state = TRUST_VERIFIED;
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
	client_say(c, "* /peers          list peers: state, path, address, round-trip time, key, NATs (ours/theirs)");
	client_say(c, "* /trust NAME     accept NAME's new key (after a key-change warning)");
	client_say(c, "* /verify NAME    show the safety number to compare with NAME's");
	client_say(c, "* /verify NAME yes  mark NAME verified: the numbers matched");
	client_say(c, "* /who            list the names online, if the server allows it");
	client_say(c, "* /send NAME FILE offer FILE to NAME (its name, size and SHA-256)");
	client_say(c, "* /accept [NAME]  save the file offered (by NAME); /reject [NAME] refuses it");
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

	c->now_ms = now;
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
	} else if (strcmp(cmd, "/trust") == 0 || strcmp(cmd, "/verify") == 0) {
		rest = split_word(rest, name, sizeof(name));
		if (!proto_name_valid(name))
			client_say(c, "* usage: %s", cmd[1] == 't' ? "/trust NAME" : "/verify NAME [yes]");
		else if (cmd[1] == 't')
			client_cmd_trust(c, name, now);
		else
			client_cmd_verify(c, name, rest);
	} else if (strcmp(cmd, "/send") == 0) {
		rest = split_word(rest, name, sizeof(name));
		if (name[0] == '\0' || rest[0] == '\0')
			client_say(c, "* usage: /send NAME FILE");
		else
			client_cmd_send(c, name, rest, now);
	} else if (strcmp(cmd, "/accept") == 0 || strcmp(cmd, "/reject") == 0) {
		split_word(rest, name, sizeof(name));
		client_cmd_answer(c, name, cmd[1] == 'a');
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

