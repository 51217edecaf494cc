/* transfer.c - files to and from peers: /send, /accept, /reject, offers, the partial file, its check and its move into place, progress. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client_impl.h"
#include "log.h"
#include "peer_stream.h"
#include "term.h"
#include "transfer.h"

/*
 * A transfer's life (transfer.h draws the messages):
 *
 *   sender:   HASHING --> OFFERED --ACCEPT--> SENDING --all written, FIN--> FINISHING --DONE--> gone
 *   receiver: WAIT_OFFER --OFFER--> ASKING --/accept--> ACCEPTED --START--> RECEIVING
 *             --FIN, size and SHA-256 match, moved into place--> gone
 *
 * Either side may fail it (REJECT, FAILED, a reset, a deadline); the
 * receiver's partial file stays for the next try. When the peers' stream
 * connection ends (a restart), the sender offers again on a new stream and
 * the receiver answers with what it kept: the transfer resumes.
 */

#define TRANSFER_MAX 16                 /* transfers at once, both ways */
#define TRANSFER_URGENCY 4              /* after chat (0), fairly among files and forwards (RFC 9218) */
#define TRANSFER_CHUNK 65536            /* bytes read from a file at a time */
#define TRANSFER_WRITE_BUF (256 << 10)  /* the receiver's bytes written at a time: a pwrite for each ~1.1 kB packet cost a tenth of its time */
#define TRANSFER_HASH_STEP (4 << 20)    /* bytes hashed before an offer per turn of the loop: ~40 ms, so chat goes on */
#define TRANSFER_RETRIES 3              /* offers again after the connection ended, at most */
#define TRANSFER_PROGRESS_MS 250        /* a terminal's progress bar is redrawn this often */
#define TRANSFER_PROGRESS_COLS 20       /* the bar's width */
#define TRANSFER_PLAIN_STEPS 4          /* not a terminal: a line at each quarter */
#define TRANSFER_ASK_MS 300000          /* an offer waits this long for /accept: a person decides */
#define TRANSFER_PROGRESS_ID 0x80000000u /* client_io.progress ids: this bit and the slot */

enum xstate {
	X_FREE = 0,
	X_HASHING,      /* sender: hashing the file, a step each turn, before the offer */
	X_OFFERED,      /* sender: OFFER written, waiting for the answer */
	X_SENDING,      /* sender: START written, the file's bytes going out */
	X_FINISHING,    /* sender: every byte and FIN written, waiting for DONE */
	X_WAIT_OFFER,   /* receiver: the stream opened, its OFFER not read yet */
	X_ASKING,       /* receiver: the user is asked */
	X_ACCEPTED,     /* receiver: ACCEPT written, waiting for START */
	X_RECEIVING,    /* receiver: bytes going into the partial file */
};

struct xfer {
	uint8_t state;
	uint8_t outgoing;
	uint8_t retries;
	uint8_t relay_said;
	char peer[PROTO_NAME_MAX + 1];
	uint64_t sid;
	char name[TRANSFER_NAME_MAX + 1];       /* the offered name */
	char path[PATH_MAX];                    /* sender: the file; receiver: the partial file */
	char dir[PATH_MAX];                     /* receiver: where it goes */
	uint64_t size;
	uint8_t sha[SHA256_LEN];
	int fd;
	uint64_t off;           /* sender: bytes of the file hashed, then written to the stream; receiver: in the partial file */
	uint64_t start;         /* where this run began (a resume) */
	struct sha256_ctx hash; /* sender: of the file, before the offer; receiver: of the partial file's bytes */
	uint8_t *wbuf;          /* receiver: TRANSFER_WRITE_BUF bytes, allocated at the first; NULL before */
	size_t wlen;            /* receiver: bytes in wbuf, the last of the off counted */
	uint8_t in[TRANSFER_MSG_MAX];
	size_t in_len;
	int64_t t0_ms;          /* START */
	int64_t deadline_ms;    /* receiver: -1, or when an unanswered offer is refused */
	int64_t away_ms;        /* -1, or since when the peer is not connected: -w of that ends it */
	int64_t shown_ms;
	uint64_t rate_bytes;    /* for the rate: bytes at rate_ms */
	int64_t rate_ms;
	uint64_t rate;          /* bytes a second, smoothed */
	int plain_step;         /* quarters printed */
};

struct transfers {
	struct xfer x[TRANSFER_MAX];
};

/* Prints one line through io.print: client_say's, for lines with names and paths up to PATH_MAX. */
static void say(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct client *c, const char *fmt, ...)
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

static struct xfer *new_xfer(struct client *c, const char *peer, int outgoing)
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

static uint32_t progress_id(const struct client *c, const struct xfer *x)
{
	return TRANSFER_PROGRESS_ID | (uint32_t)(x - c->xfers->x);
}

/*
 * Receiver: writes the bytes waiting in x->wbuf, which end at x->off, into
 * the partial file. Returns 0, or -1 with errno (ENOSPC for a write that
 * took nothing); then x->off counts only the bytes that reached the file.
 */
static int write_out(struct xfer *x)
{
	uint64_t at = x->off - x->wlen;
	size_t done = 0;

	while (done < x->wlen) {
		ssize_t w = pwrite(x->fd, x->wbuf + done, x->wlen - done, (off_t)(at + done));

		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			x->off = at + done;
			x->wlen = 0;
			return -1;
		}
		done += (size_t)w;
	}
	x->wlen = 0;
	return 0;
}

/* Closes x's file, writing out what waits in its buffer first (the partial file keeps it). */
static void close_file(struct xfer *x)
{
	if (x->wbuf != NULL) {
		if (x->wlen > 0 && x->fd >= 0)
			(void)write_out(x);
		free(x->wbuf);
		x->wbuf = NULL;
	}
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
}

/* Forgets x: its file closed, its progress bar gone. */
static void drop(struct client *c, struct xfer *x)
{
	close_file(x);
	if (c->io.progress != NULL)
		c->io.progress(c->io.ctx, progress_id(c, x), NULL);
	x->state = X_FREE;
}

/* "report.pdf to bob" or "report.pdf from bob", safe to print. */
static void label(const struct xfer *x, char *out, size_t cap)
{
	char safe[4 * TRANSFER_NAME_MAX + 1];

	term_sanitize(x->name, strlen(x->name), safe, sizeof(safe));
	snprintf(out, cap, "%s %s %s", safe, x->outgoing ? "to" : "from", x->peer);
}

/* Writes message m on x's stream. Returns 0, or -1 when the stream took less (it never should: messages are small). */
static int put(struct client *c, struct xfer *x, const struct transfer_msg *m)
{
	uint8_t buf[TRANSFER_MSG_MAX];
	int n = transfer_msg_encode(m, buf, sizeof(buf));

	if (n < 0 || peer_stream_write(c, x->peer, x->sid, buf, (size_t)n) != n)
		return -1;
	return 0;
}

/* Writes a REJECT or FAILED with reason, then FIN. */
static void put_reason(struct client *c, struct xfer *x, uint8_t type, const char *reason)
{
	struct transfer_msg m;

	memset(&m, 0, sizeof(m));
	m.type = type;
	snprintf(m.reason, sizeof(m.reason), "%s", reason);
	(void)put(c, x, &m);
	(void)peer_stream_finish(c, x->peer, x->sid);
}

/* The sender's failure: "* file NAME to PEER not delivered: WHY", counted for the exit status. */
static void send_failed(struct client *c, struct xfer *x, const char *why)
{
	char safe[4 * TRANSFER_NAME_MAX + 1], w[4 * TRANSFER_REASON_MAX + 1];

	term_sanitize(x->name, strlen(x->name), safe, sizeof(safe));
	term_sanitize(why, strlen(why), w, sizeof(w));
	say(c, "* file %s to %s not delivered: %s", safe, x->peer, w);
	c->stats.failed_files++;
	if (x->state != X_HASHING)
		(void)peer_stream_reset(c, x->peer, x->sid, PEER_STREAM_E_APP);
	drop(c, x);
}

/* The receiver's end without the file: says why; the partial file stays. */
static void recv_failed(struct client *c, struct xfer *x, const char *why, const char *tell)
{
	char l[4 * TRANSFER_NAME_MAX + 64], size[32];

	label(x, l, sizeof(l));
	transfer_bytes_str(x->off, size, sizeof(size));
	if (x->state == X_RECEIVING || x->off > 0)
		say(c, "* %s not received: %s (%s kept for resuming)", l, why, size);
	else
		say(c, "* %s not received: %s", l, why);
	/* Told why, the sender resets; else it is asked to stop (what still comes is thrown away). */
	if (tell != NULL)
		put_reason(c, x, TRANSFER_FAILED, tell);
	else
		(void)peer_stream_stop(c, x->peer, x->sid, PEER_STREAM_E_APP);
	drop(c, x);
}

/* ---- progress ---- */

static void progress(struct client *c, struct xfer *x, int64_t now)
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
		label(x, l, sizeof(l));
		transfer_progress_line(line, sizeof(line), l, done, x->size, x->rate,
				       TRANSFER_PROGRESS_COLS);
		c->io.progress(c->io.ctx, progress_id(c, x), line);
		return;
	}
	step = x->size > 0 ? (int)(done * TRANSFER_PLAIN_STEPS / x->size) : TRANSFER_PLAIN_STEPS;
	if (step > x->plain_step && step < TRANSFER_PLAIN_STEPS) {
		x->plain_step = step;
		label(x, l, sizeof(l));
		say(c, "* %s: %d%% (%llu of %llu bytes)", l, step * 100 / TRANSFER_PLAIN_STEPS,
			   (unsigned long long)done, (unsigned long long)x->size);
	}
}

/* Relayed: the user hears once that it is slow. */
static void say_relayed(struct client *c, struct xfer *x)
{
	char l[4 * TRANSFER_NAME_MAX + 64];

	if (x->relay_said || !peer_stream_relayed(c, x->peer))
		return;
	x->relay_said = 1;
	label(x, l, sizeof(l));
	say(c, "* %s goes through the server's relay: slow (at most %d kB/s) until a direct path "
	    "opens", l, PEER_STREAM_RELAY_RATE / 1000);
}

/* ---- sending ---- */

/* Hashes the first n bytes of fd into out. Returns 0, or -1 (errno) when they cannot be read. */
static int hash_prefix(int fd, uint64_t n, uint8_t out[SHA256_LEN])
{
	static uint8_t buf[TRANSFER_CHUNK];
	struct sha256_ctx h;
	uint64_t at = 0;

	sha256_init(&h);
	while (at < n) {
		size_t want = n - at < sizeof(buf) ? (size_t)(n - at) : sizeof(buf);
		ssize_t r = pread(fd, buf, want, (off_t)at);

		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			sha256_final(&h, out);
			return -1;
		}
		sha256_update(&h, buf, (size_t)r);
		at += (uint64_t)r;
	}
	sha256_final(&h, out);
	return 0;
}

static const struct peer_stream_handler *handler(struct client *c);

/* Opens a stream to x->peer and writes the OFFER. Returns 0, or -1 with why. */
static int offer(struct client *c, struct xfer *x, const char **why)
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
	if (put(c, x, &m) < 0) {
		*why = "cannot write the offer";
		return -1;
	}
	return 0;
}

/*
 * /send PEER FILE: opens FILE (the path as typed), hashes it a step at a
 * time, then offers it. What cannot be sent is said at once and counted
 * in stats.failed_files.
 */
void client_cmd_send(struct client *c, const char *peer, const char *file, int64_t now)
{
	char safe[4 * PATH_MAX + 1];
	const char *why = NULL;
	struct stat st;
	struct xfer *x;

	c->now_ms = now;
	term_sanitize(file, strlen(file), safe, sizeof(safe));
	if (!proto_name_valid(peer) || strcmp(peer, c->cfg.name) == 0) {
		char who[4 * (PROTO_NAME_MAX + 1) + 1];

		term_sanitize(peer, strnlen(peer, PROTO_NAME_MAX + 1), who, sizeof(who));
		say(c, "* cannot send %s: '%s' is not a peer", safe, who);
		c->stats.failed_files++;
		return;
	}
	x = new_xfer(c, peer, 1);
	if (x == NULL) {
		say(c, "* cannot send %s: too many transfers at once", safe);
		c->stats.failed_files++;
		return;
	}
	snprintf(x->path, sizeof(x->path), "%s", file);
	transfer_basename(file, x->name, sizeof(x->name));
	x->fd = open(file, O_RDONLY | O_CLOEXEC);
	if (x->fd < 0 || fstat(x->fd, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (!transfer_name_ok(x->name))
		why = "its name cannot be a file's name at the peer (a leading dot, or control characters)";
	if (why == NULL) {
		char size[32];

		/* Hashed a step at a time (client_tick_transfers), then offered. */
		x->size = (uint64_t)st.st_size;
		x->state = X_HASHING;
		sha256_init(&x->hash);
		transfer_bytes_str(x->size, size, sizeof(size));
		term_sanitize(x->name, strlen(x->name), safe, sizeof(safe));
		say(c, "* offering %s to %s (%s)", safe, peer, size);
		return;
	}
	say(c, "* cannot send %s: %s", safe, why);
	c->stats.failed_files++;
	drop(c, x);
}

/* Fills the stream with the file's next bytes while it has room; FIN after the last. */
static void feed(struct client *c, struct xfer *x)
{
	static uint8_t buf[TRANSFER_CHUNK];

	while (x->state == X_SENDING) {
		int64_t room = peer_stream_room(c, x->peer, x->sid), w;
		size_t want;
		ssize_t r;

		if (x->off == x->size) {
			(void)peer_stream_finish(c, x->peer, x->sid);
			x->state = X_FINISHING;
			return;
		}
		if (room <= 0)
			return;
		want = (size_t)(x->size - x->off < (uint64_t)room ? x->size - x->off : (uint64_t)room);
		if (want > sizeof(buf))
			want = sizeof(buf);
		r = pread(x->fd, buf, want, (off_t)x->off);
		if (r <= 0) {
			send_failed(c, x, r == 0 ? "the file got shorter while it was sent" : strerror(errno));
			return;
		}
		w = peer_stream_write(c, x->peer, x->sid, buf, (size_t)r);
		if (w < 0) {
			send_failed(c, x, "the stream failed");
			return;
		}
		x->off += (uint64_t)w;
	}
}

/* Hashes the next step of the file; at its end, offers it. */
static void hash_step(struct client *c, struct xfer *x)
{
	static uint8_t buf[TRANSFER_CHUNK];
	const char *why = NULL;
	uint64_t end = x->size - x->off < TRANSFER_HASH_STEP ? x->size : x->off + TRANSFER_HASH_STEP;

	while (x->off < end) {
		size_t want = end - x->off < sizeof(buf) ? (size_t)(end - x->off) : sizeof(buf);
		ssize_t r = pread(x->fd, buf, want, (off_t)x->off);

		if (r <= 0) {
			send_failed(c, x, r == 0 ? "the file got shorter while it was hashed" : strerror(errno));
			return;
		}
		sha256_update(&x->hash, buf, (size_t)r);
		x->off += (uint64_t)r;
	}
	if (x->off < x->size)
		return;
	sha256_final(&x->hash, x->sha);
	x->off = 0;
	if (offer(c, x, &why) < 0)
		send_failed(c, x, why);
}

/* The receiver's answer to our OFFER. */
static void on_answer(struct client *c, struct xfer *x, const struct transfer_msg *m, int64_t now)
{
	struct transfer_msg start;
	uint8_t have[SHA256_LEN];

	if (m->type == TRANSFER_REJECT || m->type == TRANSFER_FAILED) {
		send_failed(c, x, m->reason[0] ? m->reason : "refused");
		return;
	}
	if (x->state == X_FINISHING && m->type == TRANSFER_DONE) {
		char l[4 * TRANSFER_NAME_MAX + 64];
		int64_t ms = now - x->t0_ms;

		if (c->io.progress != NULL)
			c->io.progress(c->io.ctx, progress_id(c, x), NULL);
		label(x, l, sizeof(l));
		say(c, "* sent %s: %llu bytes in %lld.%lld s", l, (unsigned long long)x->size,
			   (long long)(ms / 1000), (long long)(ms % 1000 / 100));
		c->stats.sent_files++;
		(void)peer_stream_finish(c, x->peer, x->sid);
		drop(c, x);
		return;
	}
	if (x->state != X_OFFERED || m->type != TRANSFER_ACCEPT) {
		send_failed(c, x, "the peer broke the file protocol");
		return;
	}
	/* Resume only from a prefix that hashes the same here (transfer.h). */
	x->start = 0;
	if (m->offset > 0 && m->offset <= x->size && hash_prefix(x->fd, m->offset, have) == 0 &&
	    memcmp(have, m->sha256, SHA256_LEN) == 0)
		x->start = m->offset;
	memset(&start, 0, sizeof(start));
	start.type = TRANSFER_START;
	start.offset = x->start;
	if (put(c, x, &start) < 0) {
		send_failed(c, x, "cannot write to the stream");
		return;
	}
	if (x->start > 0)
		log_info("%s: resuming at %llu", x->peer, (unsigned long long)x->start);
	x->off = x->start;
	x->state = X_SENDING;
	x->t0_ms = now;
	say_relayed(c, x);
	feed(c, x);
}

/* ---- receiving ---- */

/* Returns 1 when another transfer under way writes the partial file path. */
static int partial_in_use(const struct client *c, const struct xfer *x, const char *path)
{
	for (int i = 0; i < TRANSFER_MAX; i++) {
		const struct xfer *o = &c->xfers->x[i];

		if (o != x && o->state != X_FREE && !o->outgoing && o->fd >= 0 &&
		    strcmp(o->path, path) == 0)
			return 1;
	}
	return 0;
}

/*
 * The partial file for an offer: in dir, named by the file's hash and size
 * (a dot: never a name we save), so that the same file offered again finds
 * it; the same file twice at once gets a second one (-2, -3...).
 */
static int partial_path(const struct client *c, const struct xfer *x, char *out, size_t cap)
{
	char hex[2 * SHA256_LEN + 1];

	transfer_hex(x->sha, hex);
	for (unsigned k = 1; k <= TRANSFER_MAX; k++) {
		int n = snprintf(out, cap, "%s/.p2pchat-%.32s-%llu%s%.0u.part", x->dir, hex,
				 (unsigned long long)x->size, k > 1 ? "-" : "", k > 1 ? k : 0);

		if (n < 0 || (size_t)n >= cap)
			return -1;
		if (!partial_in_use(c, x, out))
			return 0;
	}
	return -1;
}

/* /accept: opens (or finds) the partial file and answers ACCEPT with what it holds. */
static void accept_into(struct client *c, struct xfer *x, const char *dir)
{
	static uint8_t buf[TRANSFER_CHUNK];
	struct transfer_msg m;
	struct stat st;
	uint64_t have = 0;

	snprintf(x->dir, sizeof(x->dir), "%s", dir);
	if (partial_path(c, x, x->path, sizeof(x->path)) < 0) {
		recv_failed(c, x, "the directory's name is too long", "the receiver cannot write the file");
		return;
	}
	/* O_NOFOLLOW: a link planted under that name is not followed out of dir. */
	x->fd = open(x->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (x->fd < 0 || fstat(x->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		char why[PATH_MAX + 64];

		snprintf(why, sizeof(why), "cannot write in %s: %s", dir, strerror(errno));
		recv_failed(c, x, why, "the receiver cannot write the file");
		return;
	}
	have = (uint64_t)st.st_size < x->size ? (uint64_t)st.st_size : x->size;
	sha256_init(&x->hash);
	for (uint64_t at = 0; at < have;) {
		size_t want = have - at < sizeof(buf) ? (size_t)(have - at) : sizeof(buf);
		ssize_t r = pread(x->fd, buf, want, (off_t)at);

		if (r <= 0) {
			have = at;
			break;
		}
		sha256_update(&x->hash, buf, (size_t)r);
		at += (uint64_t)r;
	}
	x->off = have;
	memset(&m, 0, sizeof(m));
	m.type = TRANSFER_ACCEPT;
	m.offset = have;
	{
		struct sha256_ctx copy = x->hash;

		sha256_final(&copy, m.sha256);
	}
	x->state = X_ACCEPTED;
	x->deadline_ms = -1;
	(void)put(c, x, &m);
}

/* START: from offset (at most what we hold). The partial file is cut there. */
static void on_start(struct client *c, struct xfer *x, uint64_t offset, int64_t now)
{
	static uint8_t buf[TRANSFER_CHUNK];

	if (offset > x->off) {
		recv_failed(c, x, "the sender broke the file protocol", "START past the offer");
		return;
	}
	if (offset < x->off) {
		/* The sender's bytes differ from ours: start over from offset, hashing anew. */
		if (ftruncate(x->fd, (off_t)offset) < 0) {
			recv_failed(c, x, strerror(errno), "the receiver cannot write the file");
			return;
		}
		sha256_init(&x->hash);
		for (uint64_t at = 0; at < offset;) {
			size_t want = offset - at < sizeof(buf) ? (size_t)(offset - at) : sizeof(buf);
			ssize_t r = pread(x->fd, buf, want, (off_t)at);

			if (r <= 0)
				break;
			sha256_update(&x->hash, buf, (size_t)r);
			at += (uint64_t)r;
		}
		x->off = offset;
	}
	x->start = offset;
	x->state = X_RECEIVING;
	x->t0_ms = now;
	say_relayed(c, x);
}

/* write_out failed: says why (errno), keeping what reached the file. */
static void write_failed(struct client *c, struct xfer *x)
{
	char why[128];

	snprintf(why, sizeof(why), "cannot write: %s", strerror(errno));
	recv_failed(c, x, why, errno == ENOSPC ? "the receiver's disk is full" :
		    "the receiver cannot write the file");
}

/*
 * The file's bytes: into its hash as they come, and into the partial file
 * through x->wbuf, TRANSFER_WRITE_BUF bytes a pwrite.
 */
static void take_bytes(struct client *c, struct xfer *x, const uint8_t *data, size_t len,
		       int64_t now)
{
	if (len > x->size - x->off) {
		recv_failed(c, x, "the sender sent more than it offered", "more bytes than offered");
		return;
	}
	if (x->wbuf == NULL && (x->wbuf = malloc(TRANSFER_WRITE_BUF)) == NULL) {
		recv_failed(c, x, "out of memory", "the receiver is out of memory");
		return;
	}
	sha256_update(&x->hash, data, len);
	while (len > 0) {
		size_t n = len < TRANSFER_WRITE_BUF - x->wlen ? len : TRANSFER_WRITE_BUF - x->wlen;

		memcpy(x->wbuf + x->wlen, data, n);
		x->wlen += n;
		x->off += n;
		data += n;
		len -= n;
		if (x->wlen == TRANSFER_WRITE_BUF && write_out(x) < 0) {
			write_failed(c, x);
			return;
		}
	}
	progress(c, x, now);
}

/* Moves the checked partial file to the first free name in dir; never over another file. Returns 0 with out set, or -1. */
static int move_into_place(struct xfer *x, char *out, size_t cap)
{
	char name[TRANSFER_NAME_MAX + 16];

	for (unsigned n = 0; n < 1000; n++) {
		if (transfer_unique_name(x->name, n, name, sizeof(name)) < 0)
			return -1;
		if ((size_t)snprintf(out, cap, "%s/%s", x->dir, name) >= cap)
			return -1;
		/* link fails with EEXIST rather than replace anything: the check and the move are one. */
		if (link(x->path, out) == 0) {
			unlink(x->path);
			return 0;
		}
		if (errno == EEXIST)
			continue;
		/* No hard links here (some file systems): claim the name first, then move onto it. */
		{
			int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

			if (fd < 0) {
				if (errno == EEXIST)
					continue;
				return -1;
			}
			close(fd);
			if (rename(x->path, out) == 0)
				return 0;
			unlink(out);
			return -1;
		}
	}
	errno = EEXIST;
	return -1;
}

/* FIN: every byte arrived. The whole file's SHA-256 decides. */
static void on_fin(struct client *c, struct xfer *x)
{
	char where[2 * PATH_MAX + 32], hex[2 * SHA256_LEN + 1], safe[4 * sizeof(where) + 1];
	char l[4 * TRANSFER_NAME_MAX + 64];
	uint8_t got[SHA256_LEN];
	struct transfer_msg done;

	if (x->state != X_RECEIVING) {
		recv_failed(c, x, "the sender ended before it sent the file", NULL);
		return;
	}
	if (x->wlen > 0 && write_out(x) < 0) {
		write_failed(c, x);
		return;
	}
	if (x->off != x->size) {
		char why[96];

		snprintf(why, sizeof(why), "the size does not match (%llu of %llu bytes)",
			 (unsigned long long)x->off, (unsigned long long)x->size);
		recv_failed(c, x, why, "the size does not match");
		return;
	}
	sha256_final(&x->hash, got);
	if (memcmp(got, x->sha, SHA256_LEN) != 0) {
		/* Whole but wrong: no prefix of it can be trusted for a resume. */
		unlink(x->path);
		x->off = 0;
		recv_failed(c, x, "its SHA-256 does not match the offer's", "the SHA-256 does not match");
		return;
	}
	/* The partial file was private (0600); the saved one gets the modes the user's umask gives. */
	{
		mode_t mask = umask(022);

		umask(mask);
		(void)fchmod(x->fd, 0666 & ~mask);
	}
	if (fsync(x->fd) < 0 || move_into_place(x, where, sizeof(where)) < 0) {
		char why[128];

		snprintf(why, sizeof(why), "cannot save it: %s", strerror(errno));
		recv_failed(c, x, why, "the receiver cannot save the file");
		return;
	}
	if (c->io.progress != NULL)
		c->io.progress(c->io.ctx, progress_id(c, x), NULL);
	transfer_hex(x->sha, hex);
	term_sanitize(where, strlen(where), safe, sizeof(safe));
	label(x, l, sizeof(l));
	say(c, "* received %s: %llu bytes, sha256 %s, saved as %s", l,
		   (unsigned long long)x->size, hex, safe);
	c->stats.received_files++;
	memset(&done, 0, sizeof(done));
	done.type = TRANSFER_DONE;
	(void)put(c, x, &done);
	(void)peer_stream_finish(c, x->peer, x->sid);
	drop(c, x);
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
	say(c, "* %s offers %s (%llu bytes, sha256 %s)", x->peer, safe,
		   (unsigned long long)x->size, hex);
	if (c->cfg.accept_dir != NULL) {
		accept_into(c, x, c->cfg.accept_dir);
		return;
	}
	if (!c->cfg.interactive) {
		say(c, "* refused %s from %s: a script takes files only with --accept-files DIR", safe,
		    x->peer);
		put_reason(c, x, TRANSFER_REJECT,
			   "the receiver runs in a script without --accept-files DIR");
		drop(c, x);
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
			take_bytes(c, x, data + took, len - took, c->now_ms);
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
				send_failed(c, x, "the peer broke the file protocol");
			else if (rc == TRANSFER_ENAME)
				recv_failed(c, x, "its name is not allowed (a path, a leading dot, control characters)",
					    "the name is not allowed: a path, a leading dot, or control characters");
			else
				recv_failed(c, x, "the sender broke the file protocol", "malformed message");
			return len;
		}
		/* Only the message's bytes are taken; what follows is read next turn. */
		took += n - (x->in_len - (size_t)rc);
		x->in_len = 0;
		if (x->outgoing)
			on_answer(c, x, &m, c->now_ms);
		else if (x->state == X_WAIT_OFFER && m.type == TRANSFER_OFFER)
			on_offer(c, x, &m, c->now_ms);
		else if (x->state == X_ACCEPTED && m.type == TRANSFER_START)
			on_start(c, x, m.offset, c->now_ms);
		else
			recv_failed(c, x, "the sender broke the file protocol", "unexpected message");
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
		x = new_xfer(c, peer, 0);
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
		feed(c, x);
		return;
	}
	if (ev == STREAM_EV_FIN && !x->outgoing) {
		on_fin(c, x);
		return;
	}
	if (ev == PEER_STREAM_EV_GONE && x->outgoing && x->retries < TRANSFER_RETRIES) {
		/* The connection ended (a restart): offer again; the receiver resumes what it kept. */
		x->retries++;
		x->in_len = 0;
		x->relay_said = 0;
		if (offer(c, x, &why) < 0)
			send_failed(c, x, why);
		return;
	}
	if (ev == STREAM_EV_RESET || ev == STREAM_EV_STOPPED || ev == PEER_STREAM_EV_GONE) {
		why = ev == PEER_STREAM_EV_GONE ? "the connection ended" : "the peer gave it up";
		if (x->outgoing)
			send_failed(c, x, why);
		else
			recv_failed(c, x, why, NULL);
		return;
	}
	if (ev == STREAM_EV_CLOSED) {
		if (x->outgoing)
			send_failed(c, x, "the stream closed early");
		else
			recv_failed(c, x, "the stream closed early", NULL);
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
				accept_into(c, x, c->cfg.accept_dir != NULL ? c->cfg.accept_dir : ".");
				if (x->state == X_ACCEPTED)
					(void)peer_stream_resume(c, x->peer, x->sid);
			} else {
				say(c, "* refused %s from %s", x->name, x->peer);
				put_reason(c, x, TRANSFER_REJECT, "the receiver declined it");
				(void)peer_stream_stop(c, x->peer, x->sid, PEER_STREAM_E_APP);
				drop(c, x);
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
			hash_step(c, x);
			if (x->state == X_HASHING)
				next = now; /* more to hash: the next turn, after what else is due */
			continue;
		}
		if (x->state == X_SENDING) {
			feed(c, x);
			if (x->state == X_FREE)
				continue;
			progress(c, x, now);
		}
		/* A peer away -w long ends it (an offer again resumes it: the partial file stays). */
		if (peer_stream_connected(c, x->peer))
			x->away_ms = -1;
		else if (x->away_ms < 0)
			x->away_ms = now;
		if (x->away_ms >= 0 && now - x->away_ms >= c->cfg.wait_ms) {
			if (x->outgoing)
				send_failed(c, x, "the peer is not reachable");
			else
				recv_failed(c, x, "the peer went away", NULL);
			continue;
		}
		if (x->away_ms >= 0)
			next = client_min64(next, x->away_ms + c->cfg.wait_ms);
		if (x->deadline_ms >= 0 && now >= x->deadline_ms) {
			recv_failed(c, x, "not accepted in time", "the receiver did not answer");
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
			close_file(&c->xfers->x[i]);
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
			send_failed(c, x, "quit before it was delivered");
		else
			recv_failed(c, x, "quit before it arrived", NULL);
	}
}
