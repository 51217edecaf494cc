/* peer_lines.c - the client's lines to and from peers: chat records on a stream of kind PEER_STREAM_KIND_CHAT, the life of a sent line (client_io.line), its failure line, sending one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "client_impl.h"
#include "log.h"
#include "peer_stream.h"
#include "term.h"

/*
 * Chat goes on a stream of its own (peer_stream.h), opened by the sender
 * at urgency 0, so a line leaves in the next packet even while a file
 * fills the path. Each side sends on the stream it opened and finishes at
 * once its half of the stream the other opened. The stream carries one
 * record per line:
 *
 *   +-------+---------------+------------------+
 *   | flags | length (16)   | text (length)    |
 *   +-------+---------------+------------------+
 *   flags: PROTO_DATA_ACTION (/me) or 0; length 1..PROTO_LINE_MAX, big-endian
 *
 * Delivery truth: a line is delivered when the stream's acknowledged
 * offset (stream_acked, every byte from the start) reaches its record's
 * end; the stream layer retransmits until then. A line that cannot end
 * that way within -w fails, and the stream is reset (RESET_STREAM), so
 * that what was given up is never shown later; the next line opens a new
 * stream. When the connection ends (new epochs: a peer restarted), the
 * lines not acknowledged are written again on a new stream of the new
 * connection: resent, never dropped in silence.
 */

#define CHAT_RECORD_HEADER 3            /* flags, 16-bit length */
#define CHAT_E_GAVE_UP (PEER_STREAM_E_APP + 0) /* RESET_STREAM: the sender failed these lines */
#define CHAT_E_MALFORMED (PEER_STREAM_E_APP + 1) /* STOP_SENDING: a record out of bounds */
#define CHAT_RX 4                       /* chat streams from the peer being read at once (old ones still closing) */

/* A line sent to the peer and not yet acknowledged. */
struct chat_line {
	uint32_t id;            /* client_io.line's */
	uint8_t flags;
	uint16_t len;
	char *text;             /* len bytes, owned */
	uint64_t end;           /* written: its record ends at this offset of the stream */
	int written;            /* on the current stream */
	int64_t since_ms;       /* written while connected: the time, for the answer timeouts */
};

/* A chat stream the peer opened: the record being reassembled. */
struct chat_rx {
	int used;
	uint64_t id;
	size_t have;
	uint8_t buf[CHAT_RECORD_HEADER + PROTO_LINE_MAX];
};

/* A peer's chat (struct peer's chat). */
struct peer_chat {
	int64_t sid;                            /* our stream, -1 none */
	uint64_t written;                       /* bytes on it (the kind byte counts) */
	struct chat_line q[CLIENT_LINES_MAX];   /* q[(head + i) % CLIENT_LINES_MAX], i < n, oldest first */
	uint32_t head, n;
	struct chat_rx rx[CHAT_RX];
};

/* A whole line arrived from p: show it, made safe for the terminal. */
static void show_line(struct client *c, const struct peer *p, uint8_t flags, const char *text,
		      size_t len)
{
	char safe[PROTO_LINE_MAX * 3 + 1];
	char line[sizeof(safe) + PROTO_NAME_MAX + 8];

	term_sanitize(text, len, safe, sizeof(safe));
	if (flags & PROTO_DATA_ACTION)
		snprintf(line, sizeof(line), "* %s %s", p->name, safe);
	else
		snprintf(line, sizeof(line), "<%s> %s", p->name, safe);
	c->io.print(c->io.ctx, line);
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

/* ---- the queue of lines sent and not yet acknowledged ---- */

static struct chat_line *line_at(struct peer_chat *ch, uint32_t i)
{
	return &ch->q[(ch->head + i) % CLIENT_LINES_MAX];
}

/* Frees the oldest line. */
static void line_pop(struct peer_chat *ch)
{
	struct chat_line *l = line_at(ch, 0);

	free(l->text);
	memset(l, 0, sizeof(*l));
	ch->head = (ch->head + 1) % CLIENT_LINES_MAX;
	ch->n--;
}

/* Queues a copy of the line. Returns 0, or -1 when the queue is full or there is no memory. */
static int line_push(struct peer_chat *ch, uint32_t id, uint8_t flags, const char *text,
		     size_t len)
{
	struct chat_line *l;
	char *copy;

	if (ch->n == CLIENT_LINES_MAX || (copy = malloc(len)) == NULL)
		return -1;
	memcpy(copy, text, len);
	l = line_at(ch, ch->n++);
	*l = (struct chat_line){ id, flags, (uint16_t)len, copy, 0, 0, -1 };
	return 0;
}

/* Our stream ended without its lines: each goes again, whole, on the next one. */
static void lines_unwrite(struct peer_chat *ch)
{
	ch->sid = -1;
	ch->written = 0;
	for (uint32_t i = 0; i < ch->n; i++) {
		line_at(ch, i)->written = 0;
		line_at(ch, i)->since_ms = -1;
	}
}

struct peer_chat *client_lines_new(void)
{
	struct peer_chat *ch = calloc(1, sizeof(*ch));

	if (ch != NULL)
		ch->sid = -1;
	return ch;
}

void client_lines_free(struct peer *p)
{
	if (p->chat == NULL)
		return;
	while (p->chat->n > 0)
		line_pop(p->chat);
	free(p->chat);
	p->chat = NULL;
}

uint32_t client_lines_pending(const struct peer *p)
{
	return p->chat->n;
}

uint32_t client_lines_room(const struct peer *p)
{
	return CLIENT_LINES_MAX - p->chat->n;
}

int64_t client_lines_oldest(const struct peer *p)
{
	const struct peer_chat *ch = p->chat;
	const struct chat_line *l = &ch->q[ch->head];

	return ch->n > 0 && l->written ? l->since_ms : -1;
}

void client_lines_acked(struct client *c, struct peer *p)
{
	struct peer_chat *ch = p->chat;
	int64_t acked;

	if (ch->sid < 0 || ch->n == 0)
		return;
	acked = peer_stream_acked(c, p->name, (uint64_t)ch->sid);
	while (ch->n > 0 && line_at(ch, 0)->written && acked >= 0 &&
	       line_at(ch, 0)->end <= (uint64_t)acked) {
		uint32_t id = line_at(ch, 0)->id;

		line_pop(ch);
		c->stats.delivered_lines++;
		line_event(c, id, CLIENT_LINE_DELIVERED, p->name, NULL, 0);
	}
}

/* Reports every line queued for p as not delivered, for the reason `why`. */
void client_fail_pending(struct client *c, struct peer *p, const char *why)
{
	struct peer_chat *ch = p->chat;

	/* What is on the stream must never be shown later: abandon it (RESET_STREAM). */
	if (ch->sid >= 0 && ch->n > 0 && line_at(ch, 0)->written) {
		(void)peer_stream_reset(c, p->name, (uint64_t)ch->sid, CHAT_E_GAVE_UP);
		ch->sid = -1;
		ch->written = 0;
	}
	while (ch->n > 0) {
		struct chat_line *l = line_at(ch, 0);

		line_failed(c, p->name, l->id, l->text, l->len, why);
		line_pop(ch);
	}
}

/* ---- the chat streams ---- */

static struct chat_rx *rx_find(struct peer_chat *ch, uint64_t id)
{
	for (int i = 0; i < CHAT_RX; i++)
		if (ch->rx[i].used && ch->rx[i].id == id)
			return &ch->rx[i];
	return NULL;
}

/*
 * Takes bytes of a chat stream p opened: completes records, shows each
 * whole line. A record out of bounds ends the stream (STOP_SENDING).
 */
static size_t chat_recv(void *ctx, struct client *c, const char *name, uint64_t id,
			const uint8_t *data, size_t len)
{
	struct peer *p = client_peer_find(c, name);
	struct chat_rx *rx;
	size_t off = 0;

	(void)ctx;
	if (p == NULL || (rx = rx_find(p->chat, id)) == NULL)
		return len;
	while (off < len) {
		size_t want = CHAT_RECORD_HEADER, n;

		if (rx->have >= CHAT_RECORD_HEADER)
			want += bytes_get16(rx->buf + 1);
		n = want - rx->have;
		if (n > len - off)
			n = len - off;
		memcpy(rx->buf + rx->have, data + off, n);
		rx->have += n;
		off += n;
		if (rx->have == CHAT_RECORD_HEADER) {
			size_t tlen = bytes_get16(rx->buf + 1);

			if (tlen == 0 || tlen > PROTO_LINE_MAX ||
			    (rx->buf[0] & ~PROTO_DATA_ACTION) != 0) {
				log_info("%s: a malformed chat record: its stream ends", name);
				c->stats.malformed++;
				rx->used = 0;
				(void)peer_stream_stop(c, name, id, CHAT_E_MALFORMED);
				return len;
			}
		} else if (rx->have == want) {
			show_line(c, p, rx->buf[0], (const char *)rx->buf + CHAT_RECORD_HEADER,
				  want - CHAT_RECORD_HEADER);
			rx->have = 0;
			peer_stream_ack_now(c, name); /* the sender waits on it to say DELIVERED */
		}
	}
	return len;
}

static void chat_event(void *ctx, struct client *c, const char *name, uint64_t id, int ev,
		       uint64_t code)
{
	struct peer *p = client_peer_find(c, name);
	struct peer_chat *ch;
	struct chat_rx *rx;
	char why[64 + PROTO_NAME_MAX];

	(void)ctx;
	(void)code;
	if (p == NULL)
		return;
	ch = p->chat;
	if (ch->sid >= 0 && id == (uint64_t)ch->sid) {
		if (ev == STREAM_EV_STOPPED || ev == STREAM_EV_RESET) {
			/* The peer will not take our lines: they fail, the next go on a new stream. */
			snprintf(why, sizeof(why), "refused by %s", p->name);
			ch->sid = -1;
			client_fail_pending(c, p, why);
		} else if (ev == PEER_STREAM_EV_GONE || ev == STREAM_EV_CLOSED) {
			lines_unwrite(ch); /* a new connection: they go again */
		}
		return;
	}
	if (ev == STREAM_EV_OPENED) {
		for (int i = 0; i < CHAT_RX; i++) {
			if (!ch->rx[i].used) {
				ch->rx[i].used = 1;
				ch->rx[i].id = id;
				ch->rx[i].have = 0;
				/* We never write on the peer's chat stream: our half ends at once. */
				(void)peer_stream_finish(c, name, id);
				return;
			}
		}
		(void)peer_stream_stop(c, name, id, PEER_STREAM_E_REFUSED);
		(void)peer_stream_reset(c, name, id, PEER_STREAM_E_REFUSED);
		return;
	}
	rx = rx_find(ch, id);
	if (rx != NULL && (ev == STREAM_EV_FIN || ev == STREAM_EV_RESET || ev == STREAM_EV_CLOSED ||
			   ev == PEER_STREAM_EV_GONE))
		rx->used = 0;
}

static const struct peer_stream_handler chat_handler = { NULL, chat_recv, chat_event };

void client_lines_init(struct client *c)
{
	(void)peer_stream_listen(c, PEER_STREAM_KIND_CHAT, &chat_handler);
}

#define CHAT_OPEN_RETRY_MS 100 /* the peer allows no more streams yet: try again this soon */

/*
 * Connected: writes the lines not yet on the stream (opening it first),
 * whole records while the stream has room, and hands over those
 * acknowledged. Returns the next deadline (ms).
 */
int64_t client_tick_lines(struct client *c, struct peer *p, int64_t now)
{
	struct peer_chat *ch = p->chat;
	uint8_t hdr[CHAT_RECORD_HEADER];

	if (ch->n == 0 || p->state != PEER_CONNECTED)
		return INT64_MAX;
	client_lines_acked(c, p);
	if (ch->sid < 0) {
		int64_t id = peer_stream_open(c, p->name, PEER_STREAM_KIND_CHAT, 0, &chat_handler);

		if (id < 0)
			return now + CHAT_OPEN_RETRY_MS;
		ch->sid = id;
		ch->written = 1; /* the kind byte */
	}
	for (uint32_t i = 0; i < ch->n; i++) {
		struct chat_line *l = line_at(ch, i);
		uint64_t sid = (uint64_t)ch->sid;

		if (l->written)
			continue;
		if (peer_stream_room(c, p->name, sid) < CHAT_RECORD_HEADER + l->len)
			break; /* WRITABLE is not needed: each tick looks again */
		hdr[0] = l->flags & PROTO_DATA_ACTION;
		bytes_put16(hdr + 1, l->len);
		(void)peer_stream_write(c, p->name, sid, hdr, sizeof(hdr));
		(void)peer_stream_write(c, p->name, sid, (const uint8_t *)l->text, l->len);
		ch->written += CHAT_RECORD_HEADER + l->len;
		l->end = ch->written;
		l->written = 1;
		l->since_ms = now;
	}
	return INT64_MAX;
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
	else if (line_push(p->chat, id, flags, text, len) < 0)
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

