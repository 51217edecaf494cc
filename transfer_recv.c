/* transfer_recv.c - a file's receiving side: the partial file, the bytes in, the check and the move into place. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer_stream.h"
#include "term.h"
#include "transfer_impl.h"

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
void xfer_close_file(struct xfer *x)
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
void xfer_accept_into(struct client *c, struct xfer *x, const char *dir)
{
	static uint8_t buf[TRANSFER_CHUNK];
	struct transfer_msg m;
	struct stat st;
	uint64_t have = 0;

	snprintf(x->dir, sizeof(x->dir), "%s", dir);
	if (partial_path(c, x, x->path, sizeof(x->path)) < 0) {
		xfer_recv_failed(c, x, "the directory's name is too long", "the receiver cannot write the file");
		return;
	}
	/* O_NOFOLLOW: a link planted under that name is not followed out of dir. */
	x->fd = open(x->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (x->fd < 0 || fstat(x->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		char why[PATH_MAX + 64];

		snprintf(why, sizeof(why), "cannot write in %s: %s", dir, strerror(errno));
		xfer_recv_failed(c, x, why, "the receiver cannot write the file");
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
	(void)xfer_put(c, x, &m);
}

/* START: from offset (at most what we hold). The partial file is cut there. */
void xfer_on_start(struct client *c, struct xfer *x, uint64_t offset, int64_t now)
{
	static uint8_t buf[TRANSFER_CHUNK];

	if (offset > x->off) {
		xfer_recv_failed(c, x, "the sender broke the file protocol", "START past the offer");
		return;
	}
	if (offset < x->off) {
		/* The sender's bytes differ from ours: start over from offset, hashing anew. */
		if (ftruncate(x->fd, (off_t)offset) < 0) {
			xfer_recv_failed(c, x, strerror(errno), "the receiver cannot write the file");
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
	xfer_say_relayed(c, x);
}

/* write_out failed: says why (errno), keeping what reached the file. */
static void write_failed(struct client *c, struct xfer *x)
{
	char why[128];

	snprintf(why, sizeof(why), "cannot write: %s", strerror(errno));
	xfer_recv_failed(c, x, why, errno == ENOSPC ? "the receiver's disk is full" :
			 "the receiver cannot write the file");
}

/*
 * The file's bytes: into its hash as they come, and into the partial file
 * through x->wbuf, TRANSFER_WRITE_BUF bytes a pwrite.
 */
void xfer_take_bytes(struct client *c, struct xfer *x, const uint8_t *data, size_t len,
		       int64_t now)
{
	if (len > x->size - x->off) {
		xfer_recv_failed(c, x, "the sender sent more than it offered", "more bytes than offered");
		return;
	}
	if (x->wbuf == NULL && (x->wbuf = malloc(TRANSFER_WRITE_BUF)) == NULL) {
		xfer_recv_failed(c, x, "out of memory", "the receiver is out of memory");
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
	xfer_progress(c, x, now);
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
void xfer_on_fin(struct client *c, struct xfer *x)
{
	char where[2 * PATH_MAX + 32], hex[2 * SHA256_LEN + 1], safe[4 * sizeof(where) + 1];
	char l[4 * TRANSFER_NAME_MAX + 64];
	uint8_t got[SHA256_LEN];
	struct transfer_msg done;

	if (x->state != X_RECEIVING) {
		xfer_recv_failed(c, x, "the sender ended before it sent the file", NULL);
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
		xfer_recv_failed(c, x, why, "the size does not match");
		return;
	}
	sha256_final(&x->hash, got);
	if (memcmp(got, x->sha, SHA256_LEN) != 0) {
		/* Whole but wrong: no prefix of it can be trusted for a resume. */
		unlink(x->path);
		x->off = 0;
		xfer_recv_failed(c, x, "its SHA-256 does not match the offer's", "the SHA-256 does not match");
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
		xfer_recv_failed(c, x, why, "the receiver cannot save the file");
		return;
	}
	if (c->io.progress != NULL)
		c->io.progress(c->io.ctx, xfer_progress_id(c, x), NULL);
	transfer_hex(x->sha, hex);
	term_sanitize(where, strlen(where), safe, sizeof(safe));
	xfer_label(x, l, sizeof(l));
	xfer_say(c, "* received %s: %llu bytes, sha256 %s, saved as %s", l,
		   (unsigned long long)x->size, hex, safe);
	c->stats.received_files++;
	memset(&done, 0, sizeof(done));
	done.type = TRANSFER_DONE;
	(void)xfer_put(c, x, &done);
	(void)peer_stream_finish(c, x->peer, x->sid);
	xfer_drop(c, x);
}
