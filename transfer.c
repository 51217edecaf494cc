/* transfer.c - files to and from peers: the table, offers and their answers (/accept, /reject), the stream's callbacks, the timers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "peer_stream.h"
#include "term.h"
#include "transfer_impl.h"

/* Prints one line through io.print: client_say's, for lines with names and paths up to PATH_MAX. */
void xfer_say(struct client *c, const char *fmt, ...)
{
	static char line[4 * PATH_MAX + 512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->io.print(c->io.ctx, line);
}

/* ---- the table ---- */

static struct xfer *find(struct client *c, const char *peer, uint64_t id)
{
	if (c->xfers == NULL)
		return NULL;
	for (int i = 0; i < TRANSFER_MAX; i++) {
		struct xfer *x = &c->xfers->x[i];

		/* HASHING: no stream yet, its sid is nobody's */
		if (x->state != X_FREE && x->state != X_HASHING && x->sid == id &&
		    strcmp(x->peer, peer) == 0)
			return x;
	}
	return NULL;
}

struct xfer *xfer_new(struct client *c, const char *peer, int outgoing)
{
	if (c->xfers == NULL && (c->xfers = calloc(1, sizeof(*c->xfers))) == NULL)
		return NULL;
	for (int i = 0; i < TRANSFER_MAX; i++) {
		struct xfer *x = &c->xfers->x[i];

		if (x->state == X_FREE) {
			memset(x, 0, sizeof(*x));
			x->fd = -1;
			x->outgoing = (uint8_t)outgoing;
			x->deadline_ms = -1;
			x->away_ms = -1;
			snprintf(x->peer, sizeof(x->peer), "%s", peer);
			return x;
		}
	}
	return NULL;
}

uint32_t xfer_progress_id(const struct client *c, const struct xfer *x)
{
	return TRANSFER_PROGRESS_ID | (uint32_t)(x - c->xfers->x);
}

/* Forgets x: its file closed, its progress bar gone. */
void xfer_drop(struct client *c, struct xfer *x)
{
	xfer_close_file(x);
	if (c->io.progress != NULL)
		c->io.progress(c->io.ctx, xfer_progress_id(c, x), NULL);
	x->state = X_FREE;
}

/* "report.pdf to bob" or "report.pdf from bob", safe to print. */
void xfer_label(const struct xfer *x, char *out, size_t cap)
{
	char safe[4 * TRANSFER_NAME_MAX + 1];

	term_sanitize(x->name, strlen(x->name), safe, sizeof(safe));
	snprintf(out, cap, "%s %s %s", safe, x->outgoing ? "to" : "from", x->peer);
}

/* Writes message m on x's stream. Returns 0, or -1 when the stream took less (it never should: messages are small). */
int xfer_put(struct client *c, struct xfer *x, const struct transfer_msg *m)
{
	uint8_t buf[TRANSFER_MSG_MAX];
	int n = transfer_msg_encode(m, buf, sizeof(buf));

	if (n < 0 || peer_stream_write(c, x->peer, x->sid, buf, (size_t)n) != n)
		return -1;
	return 0;
}

/* Writes a REJECT or FAILED with reason, then FIN. */
void xfer_put_reason(struct client *c, struct xfer *x, uint8_t type, const char *reason)
{
	struct transfer_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	(void)xfer_put(c, x, &m);
	(void)peer_stream_finish(c, x->peer, x->sid);
}

/* The sender's failure: "* file NAME to PEER not delivered: WHY", counted for the exit status. */
void xfer_send_failed(struct client *c, struct xfer *x, const char *why)
{
	char safe[4 * TRANSFER_NAME_MAX + 1], w[4 * TRANSFER_REASON_MAX + 1];

	term_sanitize(x->name, strlen(x->name), safe, sizeof(safe));
	term_sanitize(why, strlen(why), w, sizeof(w));
	xfer_say(c, "* file %s to %s not delivered: %s", safe, x->peer, w);
	c->stats.failed_files++;
	if (x->state != X_HASHING)
		(void)peer_stream_reset(c, x->peer, x->sid, PEER_STREAM_E_APP);
	xfer_drop(c, x);
}

/* The receiver's end without the file: says why; the partial file stays. */
void xfer_recv_failed(struct client *c, struct xfer *x, const char *why, const char *tell)
{
	char l[4 * TRANSFER_NAME_MAX + 64], size[32];

	xfer_label(x, l, sizeof(l));
	transfer_bytes_str(x->off, size, sizeof(size));
	if (x->state == X_RECEIVING || x->off > 0)
		xfer_say(c, "* %s not received: %s (%s kept for resuming)", l, why, size);
	else
		xfer_say(c, "* %s not received: %s", l, why);
	/* Told why, the sender resets; else it is asked to stop (what still comes is thrown away). */
	if (tell != NULL)
		xfer_put_reason(c, x, TRANSFER_FAILED, tell);
	else
		(void)peer_stream_stop(c, x->peer, x->sid, PEER_STREAM_E_APP);
	xfer_drop(c, x);
}

/* ---- progress ---- */

void xfer_progress(struct client *c, struct xfer *x, int64_t now)
{
	char l[4 * TRANSFER_NAME_MAX + 64], line[sizeof(l) + 160];
	uint64_t done = x->off;
	int step;

	if (now - x->rate_ms >= 1000 || x->rate_ms == 0) {
		if (x->rate_ms != 0 && now > x->rate_ms) {
			uint64_t r = (done - x->rate_bytes) * 1000 / (uint64_t)(now - x->rate_ms);

			x->rate = x->rate == 0 ? r : (x->rate + r) / 2;
		}
		x->rate_ms = now;
		x->rate_bytes = done;
	}
	if (c->cfg.interactive && c->io.progress != NULL) {
		if (now - x->shown_ms < TRANSFER_PROGRESS_MS)
			return;
		x->shown_ms = now;
		xfer_label(x, l, sizeof(l));
		transfer_progress_line(line, sizeof(line), l, done, x->size, x->rate,
				       TRANSFER_PROGRESS_COLS);
		c->io.progress(c->io.ctx, xfer_progress_id(c, x), line);
		return;
	}
	step = x->size > 0 ? (int)(done * TRANSFER_PLAIN_STEPS / x->size) : TRANSFER_PLAIN_STEPS;
	if (step > x->plain_step && step < TRANSFER_PLAIN_STEPS) {
		x->plain_step = step;
		xfer_label(x, l, sizeof(l));
		xfer_say(c, "* %s: %d%% (%llu of %llu bytes)", l, step * 100 / TRANSFER_PLAIN_STEPS,
			   (unsigned long long)done, (unsigned long long)x->size);
	}
}

/* Relayed: the user hears once that it is slow. */
void xfer_say_relayed(struct client *c, struct xfer *x)
{
	char l[4 * TRANSFER_NAME_MAX + 64];

	if (x->relay_said || !peer_stream_relayed(c, x->peer))
		return;
	x->relay_said = 1;
	xfer_label(x, l, sizeof(l));
	xfer_say(c, "* %s goes through the server's relay: slow (at most %d kB/s) until a direct path "
		 "opens", l, PEER_STREAM_RELAY_RATE / 1000);
}

/* ---- offers ---- */

static const struct peer_stream_handler *handler(struct client *c);

/* Opens a stream to x->peer and writes the OFFER. Returns 0, or -1 with why. */
int xfer_offer(struct client *c, struct xfer *x, const char **why)
{
	struct transfer_msg m;
	int64_t id = peer_stream_open(c, x->peer, PEER_STREAM_KIND_FILE, TRANSFER_URGENCY,
				      handler(c));

	if (id < 0) {
		*why = id == STREAM_EBLOCKED ? "too many transfers with that peer" : "cannot open a stream";
		return -1;
	}
	x->sid = (uint64_t)id;
	x->state = X_OFFERED;
	memset(&m, 0, sizeof(m));
	m.type = TRANSFER_OFFER;
	m.size = x->size;
	memcpy(m.sha256, x->sha, SHA256_LEN);
	snprintf(m.name, sizeof(m.name), "%s", x->name);
	if (xfer_put(c, x, &m) < 0) {
		*why = "cannot write the offer";
		return -1;
	}
	return 0;
}

/* An OFFER: said, then accepted (--accept-files), asked (a terminal), or refused (a script). */
static void on_offer(struct client *c, struct xfer *x, const struct transfer_msg *m, int64_t now)
{
	char hex[2 * SHA256_LEN + 1];
	char safe[4 * TRANSFER_NAME_MAX + 1];

	snprintf(x->name, sizeof(x->name), "%s", m->name);
	x->size = m->size;
	memcpy(x->sha, m->sha256, SHA256_LEN);
	transfer_hex(x->sha, hex);
	term_sanitize(m->name, strlen(m->name), safe, sizeof(safe));
	xfer_say(c, "* %s offers %s (%llu bytes, sha256 %s)", x->peer, safe,
		   (unsigned long long)x->size, hex);
	if (c->cfg.accept_dir != NULL) {
		xfer_accept_into(c, x, c->cfg.accept_dir);
		return;
	}
	if (!c->cfg.interactive) {
		xfer_say(c, "* refused %s from %s: a script takes files only with --accept-files DIR", safe,
			 x->peer);
		xfer_put_reason(c, x, TRANSFER_REJECT,
				"the receiver runs in a script without --accept-files DIR");
		xfer_drop(c, x);
		return;
	}
	x->state = X_ASKING;
	x->deadline_ms = now + TRANSFER_ASK_MS;
	client_say(c, "* /accept %s to save it in %s, /reject %s to refuse it", x->peer,
		   c->cfg.accept_dir != NULL ? c->cfg.accept_dir : "this directory", x->peer);
}

/* ---- the stream's callbacks ---- */

static size_t h_recv(void *ctx, struct client *c, const char *peer, uint64_t id,
		     const uint8_t *data, size_t len)
{
	struct xfer *x = find(c, peer, id);
	size_t took = 0;

	(void)ctx;
	while (x != NULL && x->state != X_FREE && took < len) {
		struct transfer_msg m;
		size_t n;
		int rc;

		if (x->state == X_RECEIVING) {
			xfer_take_bytes(c, x, data + took, len - took, c->now_ms);
			return len;
		}
		if (x->state == X_ASKING)
			return took; /* the user decides first: the rest waits, and holds the sender back */
		n = len - took < sizeof(x->in) - x->in_len ? len - took : sizeof(x->in) - x->in_len;
		memcpy(x->in + x->in_len, data + took, n);
		x->in_len += n;
		rc = transfer_msg_decode(x->in, x->in_len, &m);
		if (rc == 0) {
			took += n;
			continue;
		}
		if (rc < 0) {
			if (rc == TRANSFER_ENAME) /* shown (made safe) in the refusal */
				snprintf(x->name, sizeof(x->name), "%s", m.name);
			if (x->outgoing)
				xfer_send_failed(c, x, "the peer broke the file protocol");
			else if (rc == TRANSFER_ENAME)
				xfer_recv_failed(c, x, "its name is not allowed (a path, a leading dot, control characters)",
						 "the name is not allowed: a path, a leading dot, or control characters");
			else
				xfer_recv_failed(c, x, "the sender broke the file protocol", "malformed message");
			return len;
		}
		/* Only the message's bytes are taken; what follows is read next turn. */
		took += n - (x->in_len - (size_t)rc);
		x->in_len = 0;
		if (x->outgoing)
			xfer_on_answer(c, x, &m, c->now_ms);
		else if (x->state == X_WAIT_OFFER && m.type == TRANSFER_OFFER)
			on_offer(c, x, &m, c->now_ms);
		else if (x->state == X_ACCEPTED && m.type == TRANSFER_START)
			xfer_on_start(c, x, m.offset, c->now_ms);
		else
			xfer_recv_failed(c, x, "the sender broke the file protocol", "unexpected message");
	}
	return x == NULL || x->state == X_FREE ? len : took;
}

static void h_event(void *ctx, struct client *c, const char *peer, uint64_t id, int ev,
		    uint64_t code)
{
	struct xfer *x = find(c, peer, id);
	const char *why = NULL;

	(void)ctx;
	(void)code;
	if (ev == STREAM_EV_OPENED && x == NULL) {
		x = xfer_new(c, peer, 0);
		if (x == NULL) {
			(void)peer_stream_stop(c, peer, id, PEER_STREAM_E_APP);
			(void)peer_stream_reset(c, peer, id, PEER_STREAM_E_APP);
			return;
		}
		x->sid = id;
		x->state = X_WAIT_OFFER;
		return;
	}
	if (x == NULL)
		return;
	if (ev == STREAM_EV_WRITABLE && x->state == X_SENDING) {
		xfer_feed(c, x);
		return;
	}
	if (ev == STREAM_EV_FIN && !x->outgoing) {
		xfer_on_fin(c, x);
		return;
	}
	if (ev == PEER_STREAM_EV_GONE && x->outgoing && x->retries < TRANSFER_RETRIES) {
		/* The connection ended (a restart): offer again; the receiver resumes what it kept. */
		x->retries++;
		x->in_len = 0;
		x->relay_said = 0;
		if (xfer_offer(c, x, &why) < 0)
			xfer_send_failed(c, x, why);
		return;
	}
	if (ev == STREAM_EV_RESET || ev == STREAM_EV_STOPPED || ev == PEER_STREAM_EV_GONE) {
		why = ev == PEER_STREAM_EV_GONE ? "the connection ended" : "the peer gave it up";
		if (x->outgoing)
			xfer_send_failed(c, x, why);
		else
			xfer_recv_failed(c, x, why, NULL);
		return;
	}
	if (ev == STREAM_EV_CLOSED) {
		if (x->outgoing)
			xfer_send_failed(c, x, "the stream closed early");
		else
			xfer_recv_failed(c, x, "the stream closed early", NULL);
	}
}

static const struct peer_stream_handler *handler(struct client *c)
{
	static struct peer_stream_handler h = { NULL, h_recv, h_event };

	(void)c;
	return &h;
}

/* ---- commands, time, the client's calls ---- */

/* Takes the FILE streams peers open (client_init). */
void client_transfers_init(struct client *c)
{
	(void)peer_stream_listen(c, PEER_STREAM_KIND_FILE, handler(c));
}

/* /accept [PEER] (accept 1) or /reject [PEER]: the oldest offer waiting (from PEER; "": anyone's). */
void client_cmd_answer(struct client *c, const char *peer, int accept)
{
	if (c->xfers != NULL) {
		for (int i = 0; i < TRANSFER_MAX; i++) {
			struct xfer *x = &c->xfers->x[i];

			if (x->state != X_ASKING || (peer[0] != '\0' && strcmp(x->peer, peer) != 0))
				continue;
			if (accept) {
				xfer_accept_into(c, x, c->cfg.accept_dir != NULL ? c->cfg.accept_dir : ".");
				if (x->state == X_ACCEPTED)
					(void)peer_stream_resume(c, x->peer, x->sid);
			} else {
				xfer_say(c, "* refused %s from %s", x->name, x->peer);
				xfer_put_reason(c, x, TRANSFER_REJECT, "the receiver declined it");
				(void)peer_stream_stop(c, x->peer, x->sid, PEER_STREAM_E_APP);
				xfer_drop(c, x);
			}
			return;
		}
	}
	if (peer[0] != '\0' && !proto_name_valid(peer))
		peer = "that name";
	client_say(c, "* no file offered%s%s", peer[0] ? " by " : "", peer);
}

/* Hashes, feeds streams, draws progress, ends what waited -w for its peer. Returns the next deadline (ms). */
int64_t client_tick_transfers(struct client *c, int64_t now)
{
	int64_t next = INT64_MAX;

	if (c->xfers == NULL)
		return next;
	for (int i = 0; i < TRANSFER_MAX; i++) {
		struct xfer *x = &c->xfers->x[i];

		if (x->state == X_FREE)
			continue;
		if (x->state == X_HASHING) {
			xfer_hash_step(c, x);
			if (x->state == X_HASHING)
				next = now; /* more to hash: the next turn, after what else is due */
			continue;
		}
		if (x->state == X_SENDING) {
			xfer_feed(c, x);
			if (x->state == X_FREE)
				continue;
			xfer_progress(c, x, now);
		}
		/* A peer away -w long ends it (an offer again resumes it: the partial file stays). */
		if (peer_stream_connected(c, x->peer))
			x->away_ms = -1;
		else if (x->away_ms < 0)
			x->away_ms = now;
		if (x->away_ms >= 0 && now - x->away_ms >= c->cfg.wait_ms) {
			if (x->outgoing)
				xfer_send_failed(c, x, "the peer is not reachable");
			else
				xfer_recv_failed(c, x, "the peer went away", NULL);
			continue;
		}
		if (x->away_ms >= 0)
			next = client_min64(next, x->away_ms + c->cfg.wait_ms);
		if (x->deadline_ms >= 0 && now >= x->deadline_ms) {
			xfer_recv_failed(c, x, "not accepted in time", "the receiver did not answer");
			continue;
		}
		if (x->deadline_ms >= 0)
			next = client_min64(next, x->deadline_ms);
		if (x->state == X_SENDING && c->cfg.interactive)
			next = client_min64(next, now + TRANSFER_PROGRESS_MS);
	}
	return next;
}

/* Returns the transfers under way (not those only offered to us): a script waits for them. */
uint32_t client_transfers_pending(const struct client *c)
{
	uint32_t n = 0;

	if (c->xfers == NULL)
		return 0;
	for (int i = 0; i < TRANSFER_MAX; i++) {
		uint8_t s = c->xfers->x[i].state;

		n += s != X_FREE && s != X_WAIT_OFFER && s != X_ASKING;
	}
	return n;
}

/* Closes every file and frees the table; partial files stay. */
void client_transfers_free(struct client *c)
{
	if (c->xfers == NULL)
		return;
	for (int i = 0; i < TRANSFER_MAX; i++)
		if (c->xfers->x[i].state != X_FREE)
			xfer_close_file(&c->xfers->x[i]);
	free(c->xfers);
	c->xfers = NULL;
}

/* Leaving: every transfer under way ends, said as not delivered (ours) or not received. */
void client_transfers_shutdown(struct client *c)
{
	if (c->xfers == NULL)
		return;
	for (int i = 0; i < TRANSFER_MAX; i++) {
		struct xfer *x = &c->xfers->x[i];

		if (x->state == X_FREE)
			continue;
		if (x->outgoing)
			xfer_send_failed(c, x, "quit before it was delivered");
		else
			xfer_recv_failed(c, x, "quit before it arrived", NULL);
	}
}

