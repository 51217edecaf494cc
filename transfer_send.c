/* transfer_send.c - a file's sending side: /send, hashing before the offer, the answer, the bytes out. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "peer_stream.h"
#include "term.h"
#include "transfer_impl.h"

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
		xfer_say(c, "* cannot send %s: '%s' is not a peer", safe, who);
		c->stats.failed_files++;
		return;
	}
	x = xfer_new(c, peer, 1);
	if (x == NULL) {
		xfer_say(c, "* cannot send %s: too many transfers at once", safe);
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
		xfer_say(c, "* offering %s to %s (%s)", safe, peer, size);
		return;
	}
	xfer_say(c, "* cannot send %s: %s", safe, why);
	c->stats.failed_files++;
	xfer_drop(c, x);
}

/* Fills the stream with the file's next bytes while it has room; FIN after the last. */
void xfer_feed(struct client *c, struct xfer *x)
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
			xfer_send_failed(c, x, r == 0 ? "the file got shorter while it was sent" : strerror(errno));
			return;
		}
		w = peer_stream_write(c, x->peer, x->sid, buf, (size_t)r);
		if (w < 0) {
			xfer_send_failed(c, x, "the stream failed");
			return;
		}
		x->off += (uint64_t)w;
	}
}

/* Hashes the next step of the file; at its end, offers it. */
void xfer_hash_step(struct client *c, struct xfer *x)
{
	static uint8_t buf[TRANSFER_CHUNK];
	const char *why = NULL;
	uint64_t end = x->size - x->off < TRANSFER_HASH_STEP ? x->size : x->off + TRANSFER_HASH_STEP;

	while (x->off < end) {
		size_t want = end - x->off < sizeof(buf) ? (size_t)(end - x->off) : sizeof(buf);
		ssize_t r = pread(x->fd, buf, want, (off_t)x->off);

		if (r <= 0) {
			xfer_send_failed(c, x, r == 0 ? "the file got shorter while it was hashed" : strerror(errno));
			return;
		}
		sha256_update(&x->hash, buf, (size_t)r);
		x->off += (uint64_t)r;
	}
	if (x->off < x->size)
		return;
	sha256_final(&x->hash, x->sha);
	x->off = 0;
	if (xfer_offer(c, x, &why) < 0)
		xfer_send_failed(c, x, why);
}

/* The receiver's answer to our OFFER. */
void xfer_on_answer(struct client *c, struct xfer *x, const struct transfer_msg *m, int64_t now)
{
	struct transfer_msg start;
	uint8_t have[SHA256_LEN];

	if (m->type == TRANSFER_REJECT || m->type == TRANSFER_FAILED) {
		xfer_send_failed(c, x, m->reason[0] ? m->reason : "refused");
		return;
	}
	if (x->state == X_FINISHING && m->type == TRANSFER_DONE) {
		char l[4 * TRANSFER_NAME_MAX + 64];
		int64_t ms = now - x->t0_ms;

		if (c->io.progress != NULL)
			c->io.progress(c->io.ctx, xfer_progress_id(c, x), NULL);
		xfer_label(x, l, sizeof(l));
		xfer_say(c, "* sent %s: %llu bytes in %lld.%lld s", l, (unsigned long long)x->size,
			   (long long)(ms / 1000), (long long)(ms % 1000 / 100));
		c->stats.sent_files++;
		(void)peer_stream_finish(c, x->peer, x->sid);
		xfer_drop(c, x);
		return;
	}
	if (x->state != X_OFFERED || m->type != TRANSFER_ACCEPT) {
		xfer_send_failed(c, x, "the peer broke the file protocol");
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
	if (xfer_put(c, x, &start) < 0) {
		xfer_send_failed(c, x, "cannot write to the stream");
		return;
	}
	if (x->start > 0)
		log_info("%s: resuming at %llu", x->peer, (unsigned long long)x->start);
	x->off = x->start;
	x->state = X_SENDING;
	x->t0_ms = now;
	xfer_say_relayed(c, x);
	xfer_feed(c, x);
}
