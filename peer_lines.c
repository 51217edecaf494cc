/* peer_lines.c - the client's lines to and from peers: the reliable channel's callbacks, the life of a sent line (client_io.line), its failure line, sending one. */
#include <stdio.h>
#include <string.h>

#include "client_impl.h"
#include "log.h"
#include "term.h"

/* ---- the reliable channel's callbacks ---- */

static void cb_send_data(void *ctx, uint32_t seq, uint8_t flags, const char *text, size_t len)
{
	struct chan_ctx *x = ctx;
	struct proto_msg m;

	client_msg_to_peer(x->p, PROTO_DATA, &m);
	m.seq = seq;
	m.flags = flags;
	m.text_len = (uint16_t)len;
	memcpy(m.text, text, len);
	client_send_route(x->c, x->p, x->to, &m);
}

static void cb_send_ack(void *ctx, uint32_t next_expected, uint32_t sack)
{
	struct chan_ctx *x = ctx;
	struct proto_msg m;

	client_msg_to_peer(x->p, PROTO_ACK, &m);
	m.ack = next_expected;
	m.sack = sack;
	client_send_route(x->c, x->p, x->to, &m);
}

/* A whole line arrived: show it, made safe for the terminal. */
static void cb_deliver(void *ctx, uint8_t flags, const char *text, size_t len)
{
	struct chan_ctx *x = ctx;
	char safe[PROTO_LINE_MAX * 3 + 1];
	char line[sizeof(safe) + PROTO_NAME_MAX + 8];

	term_sanitize(text, len, safe, sizeof(safe));
	if (flags & PROTO_DATA_ACTION)
		snprintf(line, sizeof(line), "* %s %s", x->p->name, safe);
	else
		snprintf(line, sizeof(line), "<%s> %s", x->p->name, safe);
	x->c->io.print(x->c->io.ctx, line);
}

/* ---- the life of a sent line: client_io.line, and the failure line that names it ---- */

#define EXCERPT_BYTES 24 /* a failure names its line by this much of it at most: a few words */

/* Tells the owner, if it asked (io.line), that line id for peer changed state. */
static void line_event(struct client *c, uint32_t id, enum client_line_state state,
		       const char *peer, const char *text, int action)
{
	struct client_line l = { id, state, peer, text, action };

	if (c->io.line != NULL)
		c->io.line(c->io.ctx, &l);
}

/*
 * Writes the first words of text[0..len) into out[0..cap), made safe for
 * the terminal (term_sanitize): up to EXCERPT_BYTES bytes, cut after the
 * last whole word that fits (or at a character boundary when one word is
 * longer), with "..." when cut.
 */
static void excerpt(const char *text, size_t len, char *out, size_t cap)
{
	size_t n = len;
	int cut = len > EXCERPT_BYTES;

	if (cut) {
		n = EXCERPT_BYTES;
		while (n > 0 && text[n] != ' ')
			n--;
		while (n > 0 && text[n - 1] == ' ')
			n--;
		if (n == 0) {
			/* One long word: cut it, but not inside a UTF-8 character. */
			n = EXCERPT_BYTES;
			while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
				n--;
		}
	}
	term_sanitize(text, n, out, cap > 3 ? cap - 3 : cap);
	if (cut)
		strncat(out, "...", cap - strlen(out) - 1);
}

/*
 * Line id for peer `name` will not be delivered: says so, naming the line
 * by its first words, `* not delivered to NAME: "FIRST WORDS...": WHY`,
 * counts it, and tells io.line.
 */
static void line_failed(struct client *c, const char *name, uint32_t id, const char *text,
			size_t len, const char *why)
{
	char words[4 * EXCERPT_BYTES + 8], who[4 * (PROTO_NAME_MAX + 1) + 1];

	excerpt(text, len, words, sizeof(words));
	term_sanitize(name, strlen(name), who, sizeof(who)); /* it may be what the user mistyped */
	c->stats.failed_lines++;
	client_say(c, "* not delivered to %s: \"%s\": %s", who, words, why);
	line_event(c, id, CLIENT_LINE_FAILED, name, NULL, 0);
}

static void cb_delivered(void *ctx, uint32_t msg_id)
{
	struct chan_ctx *x = ctx;

	x->c->stats.delivered_lines++;
	line_event(x->c, msg_id, CLIENT_LINE_DELIVERED, x->p->name, NULL, 0);
}

static void cb_failed(void *ctx, uint32_t msg_id, uint8_t flags, const char *text, size_t len)
{
	struct chan_ctx *x = ctx;

	(void)flags;
	line_failed(x->c, x->p->name, msg_id, text, len, x->why);
}

struct chan_io client_chan_io(struct chan_ctx *x)
{
	struct chan_io io = {
		.ctx = x,
		.send_data = cb_send_data,
		.send_ack = cb_send_ack,
		.deliver = cb_deliver,
		.delivered = cb_delivered,
		.failed = cb_failed,
	};
	return io;
}

/* Reports every line queued for p as not delivered, for the reason `why`. */
void client_fail_pending(struct client *c, struct peer *p, const char *why)
{
	struct chan_ctx x = { c, p, &p->path, why };
	struct chan_io io = client_chan_io(&x);

	/* The peer may be waiting for the sequence numbers dropped here: start afresh next time. */
	if (chan_pending(p->chan) > 0)
		p->renew_epoch = 1;
	chan_fail_all(p->chan, &io);
}

/* Returns the next id for client_io.line: never 0. */
static uint32_t next_line_id(struct client *c)
{
	if (++c->next_line_id == 0)
		c->next_line_id = 1;
	return c->next_line_id;
}

/* "NAME's key has changed": why a line to a peer whose key is not the pinned one (or not agreed on) fails. */
static const char *changed_why(const struct peer *p, char *buf, size_t cap)
{
	if (p->key_conflict)
		snprintf(buf, cap, "the servers disagree on %s's key", p->name);
	else
		snprintf(buf, cap, "%s's key has changed", p->name);
	return buf;
}

/*
 * Sends one line typed by the user (text, NUL-terminated; flags 0 or
 * PROTO_DATA_ACTION) to the peer called name, connecting to it if need
 * be. io.line hears CLIENT_LINE_SENT, then exactly one of DELIVERED or
 * FAILED: at once when the line cannot even be queued (a bad name, too
 * long, a full queue), else when the peer acknowledges it or it fails
 * (within -w). An empty line sends nothing.
 */
void client_send_line(struct client *c, const char *name, uint8_t flags, const char *text,
		      int64_t now)
{
	size_t len = strlen(text);
	struct peer *p = NULL;
	const char *why = NULL;
	char changed[64 + PROTO_NAME_MAX];
	uint32_t id;

	if (len == 0)
		return;
	id = next_line_id(c);
	line_event(c, id, CLIENT_LINE_SENT, name, text, (flags & PROTO_DATA_ACTION) != 0);
	if (!proto_name_valid(name))
		why = "not a valid name";
	else if (strcmp(name, c->cfg.name) == 0)
		why = "that is you";
	else if ((p = client_peer_get(c, name)) == NULL)
		why = "too many peers";
	else if (len > PROTO_LINE_MAX)
		why = "longer than 4096 bytes";
	else if (p->has_key && !client_peer_key_ok(c, p))
		why = changed_why(p, changed, sizeof(changed));
	else if (chan_queue_at(p->chan, id, flags, text, len, now) == 0)
		why = "too many messages waiting";
	if (why != NULL) {
		line_failed(c, name, id, text, len, why);
		return;
	}
	c->stats.sent_lines++;
	p->wanted = 1;
	if (p->state != PEER_CONNECTED && p->wait_until_ms < 0) {
		p->wait_until_ms = now + c->cfg.wait_ms;
		p->said_not_online = 0; /* a new wait: say it again if so */
	}
	if (p->state == PEER_OFFLINE)
		client_start_lookup(p, now);
}

