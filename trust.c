/* trust.c - known peers and known servers: the known_peers and known_servers files (strict parse, ssh's file rules, atomic locked updates), trust decisions, safety numbers. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "identity.h"
#include "sha256.h"
#include "trust.h"

#define KEY_HEX_LEN (2 * X25519_LEN)
#define HALF_DIGITS (TRUST_SAFETY_GROUPS / 2 * TRUST_SAFETY_DIGITS) /* 30: one key's half */
#define PIECE_BYTES 5 /* a 40-bit piece of the hash gives a group of 5 digits */
#define IO_BUF 4096   /* the reader's and the writer's buffer: several lines at a time */

_Static_assert(TRUST_SAFETY_GROUPS / 2 * PIECE_BYTES <= SHA256_LEN, "a half's pieces fit in a hash");
_Static_assert(IO_BUF >= TRUST_LINE_MAX, "a whole line fits in the reader's buffer");
_Static_assert(TRUST_KEY_NAME_MAX + sizeof(" verified ") + KEY_HEX_LEN <= TRUST_LINE_MAX,
	       "an entry fits in a line");
_Static_assert(sizeof(TRUST_HEADER) <= TRUST_LINE_MAX, "the header fits in a line");

/*
 * The two files one store machinery reads and writes: what differs is
 * their names, their header, what a line's first field may be, and
 * whether a line has a state (a server's key is pinned, never verified).
 */
struct trust_kind {
	const char *file, *lock, *temp, *header;
	int (*name_ok)(const char *name);
	int with_state;
	const char *what; /* "peer", "server": for messages */
};

/* A server's HOST:PORT: 3..TRUST_KEY_NAME_MAX bytes, no space or control byte, with a ':'. */
static int server_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n < 3 || n > TRUST_KEY_NAME_MAX || strchr(name, ':') == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)name[i] <= ' ' || (unsigned char)name[i] >= 0x7f)
			return 0;
	}
	return 1;
}

static const struct trust_kind peers_kind = {
	TRUST_FILE, TRUST_LOCK_FILE, TRUST_TEMP_FILE, TRUST_HEADER, proto_name_valid, 1, "peer",
};
static const struct trust_kind servers_kind = {
	TRUST_SERVERS_FILE, TRUST_SERVERS_LOCK_FILE, TRUST_SERVERS_TEMP_FILE, TRUST_SERVERS_HEADER,
	server_name_ok, 0, "server",
};

/* ---- lines ---- */

static const char *const state_words[] = {
	[TRUST_NEW] = "new",
	[TRUST_PINNED] = "pinned",
	[TRUST_VERIFIED] = "verified",
	[TRUST_CHANGED] = "changed",
};

const char *trust_state_name(int state)
{
	if (state < TRUST_NEW || state > TRUST_CHANGED)
		return "unknown";
	return state_words[state];
}

/* The value of a lowercase hex digit, or -1. A public key's digits: no need to hide them. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* 1 when the len bytes at p are the word w (a NUL-terminated string), else 0. */
static int is_word(const char *p, size_t len, const char *w)
{
	return strlen(w) == len && memcmp(p, w, len) == 0;
}

/* One line of kind k's file (NAME STATE KEY, or HOST:PORT KEY) into e. */
static int parse_line(const struct trust_kind *k, const char *line, size_t len,
		      struct trust_entry *e)
{
	const size_t want = k->with_state ? 3 : 2;
	const char *field[3];
	size_t flen[3], nf = 0, start = 0;
	const char *key;

	memset(e, 0, sizeof(*e));
	if (len == 0)
		return TRUST_PARSE_EMPTY;
	/* The fields, each non-empty, one space between them: anything else is not this format. */
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start || nf == want)
			return TRUST_PARSE_FIELDS;
		field[nf] = line + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	if (nf != want)
		return TRUST_PARSE_FIELDS;
	if (flen[0] > TRUST_KEY_NAME_MAX)
		return TRUST_PARSE_NAME;
	memcpy(e->name, field[0], flen[0]);
	/* A NUL inside the field ends the copy early: the lengths then differ. */
	if (strlen(e->name) != flen[0] || !k->name_ok(e->name))
		goto bad_name;
	if (!k->with_state)
		e->state = TRUST_PINNED;
	else if (is_word(field[1], flen[1], state_words[TRUST_PINNED]))
		e->state = TRUST_PINNED;
	else if (is_word(field[1], flen[1], state_words[TRUST_VERIFIED]))
		e->state = TRUST_VERIFIED;
	else
		goto bad_state;
	key = field[want - 1];
	if (flen[want - 1] != KEY_HEX_LEN)
		goto bad_key;
	for (size_t i = 0; i < X25519_LEN; i++) {
		int hi = hex_value(key[2 * i]), lo = hex_value(key[2 * i + 1]);

		if (hi < 0 || lo < 0)
			goto bad_key;
		e->pub[i] = (uint8_t)(hi << 4 | lo);
	}
	return TRUST_PARSE_OK;
bad_name:
	memset(e, 0, sizeof(*e));
	return TRUST_PARSE_NAME;
bad_state:
	memset(e, 0, sizeof(*e));
	return TRUST_PARSE_STATE;
bad_key:
	memset(e, 0, sizeof(*e));
	return TRUST_PARSE_KEY;
}

int trust_parse_line(const char *line, size_t len, struct trust_entry *e)
{
	return parse_line(&peers_kind, line, len, e);
}

const char *trust_parse_strerror(int error)
{
	switch (error) {
	case TRUST_PARSE_OK: return "no error";
	case TRUST_PARSE_EMPTY: return "the line is empty";
	case TRUST_PARSE_NAME: return "the name is not a valid p2pchat name";
	case TRUST_PARSE_STATE: return "the state is not \"pinned\" or \"verified\"";
	case TRUST_PARSE_KEY: return "the key is not 64 lowercase hexadecimal digits";
	case TRUST_PARSE_FIELDS:
		return "the line is not NAME STATE KEY with one space between them";
	case TRUST_PARSE_HEADER: return "it does not start with \"" TRUST_HEADER "\"";
	case TRUST_PARSE_LONG: return "the line is too long";
	case TRUST_PARSE_DUPLICATE: return "the name is listed a second time";
	case TRUST_PARSE_FULL: return "there are more peers than p2pchat holds";
	case TRUST_PARSE_NEWLINE: return "the last line has no newline";
	default: return "unknown error";
	}
}

/* ---- the list: sorted by name ---- */

/* Where name is in l, or where it would go; *found says which. */
static size_t list_find(const struct trust_list *l, const char *name, int *found)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(l->e[mid].name, name);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

/* Makes room for a new entry at i. Returns it, or NULL when l is full. */
static struct trust_entry *list_insert(struct trust_list *l, size_t i)
{
	if (l->n == TRUST_MAX)
		return NULL;
	memmove(&l->e[i + 1], &l->e[i], (l->n - i) * sizeof(l->e[0]));
	l->n++;
	return &l->e[i];
}

static const struct trust_list *current(const struct trust_store *s)
{
	return &s->lists[s->cur];
}

const struct trust_entry *trust_find(const struct trust_store *s, const char *name)
{
	int found;
	size_t i = list_find(current(s), name, &found);

	return found ? &current(s)->e[i] : NULL;
}

int trust_check(const struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN])
{
	const struct trust_entry *e = trust_find(s, name);

	if (e == NULL)
		return TRUST_NEW;
	return ct_equal(e->pub, pub, X25519_LEN) ? e->state : TRUST_CHANGED;
}

size_t trust_count(const struct trust_store *s)
{
	return current(s)->n;
}

const struct trust_entry *trust_at(const struct trust_store *s, size_t i)
{
	return i < current(s)->n ? &current(s)->e[i] : NULL;
}

/* ---- the file ---- */

/* Checks the state directory again (it was checked at trust_open; its mode may have changed). */
static int check_dir(const struct trust_store *s, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(s->dfd, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", s->dir, strerror(errno));
		return -1;
	}
	return identity_check_dir(&st, getuid(), s->dir, err, errlen);
}

/*
 * Opens the state directory's file without following a link (made 0600
 * with O_CREAT in flags). Returns the descriptor, -2 when there is no such
 * file, or -1 with a message.
 */
static int open_in_dir(const struct trust_store *s, const char *file, int flags, char *err,
		       size_t errlen)
{
	int fd = openat(s->dfd, file, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT && !(flags & O_CREAT))
		return -2;
	if (errno == ELOOP)
		snprintf(err, errlen, "%s/%s is a symbolic link: it must be a regular file; remove "
			 "the link", s->dir, file);
	else
		snprintf(err, errlen, "cannot open %s/%s: %s", s->dir, file, strerror(errno));
	return -1;
}

/* Takes line number `line` (from 1) of the file into l. Returns 0 or a trust_parse_error. */
static int take_line(const struct trust_kind *k, struct trust_list *l, const char *text, size_t len,
		     unsigned line)
{
	struct trust_entry e, *slot;
	int r, found;
	size_t i;

	if (line == 1)
		return is_word(text, len, k->header) ? 0 : TRUST_PARSE_HEADER;
	if (len > 0 && text[0] == '#')
		return 0;
	r = parse_line(k, text, len, &e);
	if (r < 0)
		return r;
	i = list_find(l, e.name, &found);
	if (found)
		return TRUST_PARSE_DUPLICATE;
	slot = list_insert(l, i);
	if (slot == NULL)
		return TRUST_PARSE_FULL;
	*slot = e;
	return 0;
}

/*
 * Reads the lines of the open file fd into l, a buffer at a time (no
 * allocation); path names it in messages. Returns 0, or -1 with a message.
 */
static int read_lines(const struct trust_kind *k, int fd, const char *path, struct trust_list *l,
		      char *err, size_t errlen)
{
	char buf[IO_BUF];
	size_t have = 0;
	unsigned line = 0;
	int r = 0;

	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - have);
		size_t start = 0;
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			return -1;
		}
		have += (size_t)n;
		while (r == 0 && (nl = memchr(buf + start, '\n', have - start)) != NULL) {
			size_t len = (size_t)(nl - (buf + start));

			line++;
			r = len + 1 > TRUST_LINE_MAX ? TRUST_PARSE_LONG
						     : take_line(k, l, buf + start, len, line);
			start += len + 1;
		}
		if (r == 0 && have - start >= TRUST_LINE_MAX) {
			line++;
			r = TRUST_PARSE_LONG;
		} else if (r == 0 && n == 0 && (have > start || line == 0)) {
			line++;
			r = have > start ? TRUST_PARSE_NEWLINE : TRUST_PARSE_HEADER; /* or no bytes at all */
		}
		if (r != 0) {
			snprintf(err, errlen, "%s line %u: %s; p2pchat never rewrites a file it cannot "
				 "read: fix that line, or move the file away (every %s is then new)",
				 path, line, trust_parse_strerror(r), k->what);
			return -1;
		}
		if (n == 0)
			return 0;
		memmove(buf, buf + start, have - start);
		have -= start;
	}
}

/* Reads the file into l (no file: no peers). Returns 0, or -1 with a message. */
static int load(const struct trust_store *s, struct trust_list *l, char *err, size_t errlen)
{
	char path[PATH_MAX + sizeof("/" TRUST_SERVERS_FILE)];
	struct stat st;
	int fd, r = -1;

	l->n = 0;
	snprintf(path, sizeof(path), "%s/%s", s->dir, s->kind->file);
	fd = open_in_dir(s, s->kind->file, O_RDONLY, err, errlen);
	if (fd < 0)
		return fd == -2 ? 0 : -1;
	if (fstat(fd, &st) < 0)
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
	/* Public keys, but who you talk to: others may read it if you let them; never change it. */
	else if (identity_check_file_perm(&st, getuid(), S_IWGRP | S_IWOTH, path, err, errlen) == 0)
		r = read_lines(s->kind, fd, path, l, err, errlen);
	close(fd);
	return r;
}

/* One line of the file for e, with its newline, into out. Returns its length. */
static size_t format_entry(const struct trust_kind *k, const struct trust_entry *e,
			   char out[TRUST_LINE_MAX])
{
	static const char hex[] = "0123456789abcdef";
	size_t n = k->with_state ? (size_t)snprintf(out, TRUST_LINE_MAX, "%s %s ", e->name,
						     state_words[e->state])
				 : (size_t)snprintf(out, TRUST_LINE_MAX, "%s ", e->name);

	for (size_t i = 0; i < X25519_LEN; i++) {
		out[n++] = hex[e->pub[i] >> 4];
		out[n++] = hex[e->pub[i] & 0xf];
	}
	out[n++] = '\n';
	return n;
}

/* The whole file for l into fd, a buffer at a time. Returns 0, or -1 with errno. */
static int write_lines(const struct trust_kind *k, int fd, const struct trust_list *l)
{
	char buf[IO_BUF];
	size_t have = strlen(k->header) + 1;

	memcpy(buf, k->header, have - 1);
	buf[have - 1] = '\n';
	for (size_t i = 0; i < l->n; i++) {
		if (sizeof(buf) - have < TRUST_LINE_MAX) {
			if (identity_write_all(fd, buf, have) < 0)
				return -1;
			have = 0;
		}
		have += format_entry(k, &l->e[i], buf + have);
	}
	return identity_write_all(fd, buf, have);
}

/*
 * Replaces the file with l, atomically: the new text goes to the temporary
 * file, which is fsync'd and renamed over the old one, so a reader sees the
 * old file or the new one, whole, and a crash leaves one of them. Called
 * with the lock held. Returns 0, or -1 with a message (the old file as it
 * was, the temporary file removed).
 */
static int write_file(const struct trust_store *s, const struct trust_list *l, char *err,
		      size_t errlen)
{
	int fd;

	/*
	 * A temporary file here now is a crash's leftover: under the lock no
	 * other writer owns it. unlinkat removes a link itself, never its target.
	 */
	unlinkat(s->dfd, s->kind->temp, 0);
	fd = openat(s->dfd, s->kind->temp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s/%s: %s", s->dir, s->kind->temp,
			 strerror(errno));
		return -1;
	}
	if (write_lines(s->kind, fd, l) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write %s/%s: %s", s->dir, s->kind->temp,
			 strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "cannot write %s/%s: %s", s->dir, s->kind->temp,
			 strerror(errno));
		goto fail;
	}
	if (renameat(s->dfd, s->kind->temp, s->dfd, s->kind->file) < 0) {
		snprintf(err, errlen, "cannot rename %s/%s to %s: %s", s->dir, s->kind->temp,
			 s->kind->file, strerror(errno));
		goto fail;
	}
	fsync(s->dfd); /* the new name too; some file systems refuse this, and that is fine */
	return 0;
fail:
	unlinkat(s->dfd, s->kind->temp, 0);
	return -1;
}

/*
 * Takes the lock: an flock on TRUST_LOCK_FILE, a file of its own rather
 * than the directory, because Linux's NFS client turns flock into a POSIX
 * lock, which needs a descriptor open for writing, and a directory cannot
 * be opened so. The file is made 0600 and must stay so (identity_check_file):
 * whoever can open it can hold the lock forever. flock blocks: a holder
 * only reads and writes a small file. Returns the descriptor (close it to
 * unlock), or -1 with a message.
 */
static int lock(const struct trust_store *s, char *err, size_t errlen)
{
	char path[PATH_MAX + sizeof("/" TRUST_SERVERS_LOCK_FILE)];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->dir, s->kind->lock);
	fd = open_in_dir(s, s->kind->lock, O_RDWR | O_CREAT, err, errlen);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto fail;
	}
	if (identity_check_file(&st, getuid(), path, err, errlen) < 0)
		goto fail;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* What each update does to the file's list (trust.h says each one's rule). */
enum op { OP_PIN, OP_ACCEPT, OP_VERIFY };

/* Applies op to l. Returns the trust_state, or -1 when l is full; *changed when l changed. */
static int apply(struct trust_list *l, const char *name, const uint8_t pub[X25519_LEN], enum op op,
		 int *changed)
{
	int found;
	size_t i = list_find(l, name, &found);
	struct trust_entry *e;
	int same;

	*changed = 0;
	if (!found) {
		e = list_insert(l, i);
		if (e == NULL)
			return -1;
		memset(e, 0, sizeof(*e));
		memcpy(e->name, name, strlen(name));
		memcpy(e->pub, pub, X25519_LEN);
		e->state = op == OP_VERIFY ? TRUST_VERIFIED : TRUST_PINNED;
		*changed = 1;
		return e->state;
	}
	e = &l->e[i];
	same = ct_equal(e->pub, pub, X25519_LEN);
	if (op == OP_ACCEPT && !same) {
		memcpy(e->pub, pub, X25519_LEN);
		e->state = TRUST_PINNED;
		*changed = 1;
	} else if (op == OP_VERIFY && same && e->state != TRUST_VERIFIED) {
		e->state = TRUST_VERIFIED;
		*changed = 1;
	}
	return ct_equal(e->pub, pub, X25519_LEN) ? e->state : TRUST_CHANGED;
}

/*
 * Every update: under the lock, the file read again into the spare list
 * (what another p2pchat wrote since is kept), op applied there, the file
 * written when that changed it; then the spare list is the store's.
 */
static int update(struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN], enum op op,
		  char *err, size_t errlen)
{
	struct trust_list *l = &s->lists[!s->cur];
	int fd, r = -1, changed;

	if (!s->kind->name_ok(name)) {
		snprintf(err, errlen, "'%s' is not a valid name", name);
		return -1;
	}
	if (check_dir(s, err, errlen) < 0)
		return -1;
	fd = lock(s, err, errlen);
	if (fd < 0)
		return -1;
	if (load(s, l, err, errlen) == 0) {
		r = apply(l, name, pub, op, &changed);
		if (r < 0)
			snprintf(err, errlen, "%s/%s holds %d %ss, as many as p2pchat keeps: remove "
				 "some lines from it to pin %s", s->dir, s->kind->file, TRUST_MAX,
				 s->kind->what, name);
		else if (changed && write_file(s, l, err, errlen) < 0)
			r = -1;
	}
	if (r >= 0)
		s->cur = !s->cur;
	close(fd);
	return r;
}

int trust_pin(struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN], char *err,
	      size_t errlen)
{
	return update(s, name, pub, OP_PIN, err, errlen);
}

int trust_accept(struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN],
		 char *err, size_t errlen)
{
	return update(s, name, pub, OP_ACCEPT, err, errlen);
}

int trust_verify(struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN],
		 char *err, size_t errlen)
{
	return update(s, name, pub, OP_VERIFY, err, errlen);
}

int trust_reload(struct trust_store *s, char *err, size_t errlen)
{
	if (check_dir(s, err, errlen) < 0 || load(s, &s->lists[!s->cur], err, errlen) < 0)
		return -1;
	s->cur = !s->cur;
	return 0;
}

/* trust_open for kind k's file. */
static int open_kind(struct trust_store *s, const struct trust_kind *k, const char *dir, char *err,
		     size_t errlen)
{
	s->kind = k;
	s->dfd = -1;
	s->cur = 0;
	s->lists[0].n = 0;
	if ((size_t)snprintf(s->dir, sizeof(s->dir), "%s", dir) >= sizeof(s->dir)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(ENAMETOOLONG));
		return -1;
	}
	s->dfd = identity_open_dir(dir, err, errlen);
	if (s->dfd < 0)
		return -1;
	if (trust_reload(s, err, errlen) < 0) {
		trust_close(s);
		return -1;
	}
	return 0;
}

int trust_open(struct trust_store *s, const char *dir, char *err, size_t errlen)
{
	return open_kind(s, &peers_kind, dir, err, errlen);
}

int trust_open_servers(struct trust_store *s, const char *dir, char *err, size_t errlen)
{
	return open_kind(s, &servers_kind, dir, err, errlen);
}

void trust_close(struct trust_store *s)
{
	if (s->dfd >= 0)
		close(s->dfd);
	s->dfd = -1;
}

/* ---- the safety number ---- */

/* One key's 30 digits: SHA-256(label || pub), six 40-bit big-endian pieces, each mod 10^5. */
static void safety_half(const uint8_t pub[X25519_LEN], char out[HALF_DIGITS])
{
	struct sha256_ctx ctx;
	uint8_t hash[SHA256_LEN];

	sha256_init(&ctx);
	sha256_update(&ctx, TRUST_SAFETY_LABEL, sizeof(TRUST_SAFETY_LABEL) - 1);
	sha256_update(&ctx, pub, X25519_LEN);
	sha256_final(&ctx, hash);
	for (int g = 0; g < TRUST_SAFETY_GROUPS / 2; g++) {
		uint64_t v = 0;

		for (int i = 0; i < PIECE_BYTES; i++)
			v = v << 8 | hash[g * PIECE_BYTES + i];
		v %= 100000;
		for (int d = TRUST_SAFETY_DIGITS - 1; d >= 0; d--) {
			out[g * TRUST_SAFETY_DIGITS + d] = (char)('0' + v % 10);
			v /= 10;
		}
	}
}

int trust_safety_number(const uint8_t my_pub[X25519_LEN], const uint8_t peer_pub[X25519_LEN],
			char *out, size_t cap)
{
	char a[HALF_DIGITS], b[HALF_DIGITS], digits[2 * HALF_DIGITS];
	char *p = out;

	if (cap < TRUST_SAFETY_SIZE)
		return -1;
	safety_half(my_pub, a);
	safety_half(peer_pub, b);
	/* The smaller half first: both sides then write the same number. */
	memcpy(digits, memcmp(a, b, HALF_DIGITS) <= 0 ? a : b, HALF_DIGITS);
	memcpy(digits + HALF_DIGITS, memcmp(a, b, HALF_DIGITS) <= 0 ? b : a, HALF_DIGITS);
	for (int g = 0; g < TRUST_SAFETY_GROUPS; g++) {
		if (g > 0)
			*p++ = ' ';
		memcpy(p, digits + g * TRUST_SAFETY_DIGITS, TRUST_SAFETY_DIGITS);
		p += TRUST_SAFETY_DIGITS;
	}
	*p = '\0';
	return 0;
}

/* ---- the lines the client prints ---- */

/* 0 when snprintf's result n fit in cap, else -1. */
static int fitted(int n, size_t cap)
{
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int trust_msg_changed(char *out, size_t cap, const char *name, const uint8_t was[X25519_LEN],
		      const uint8_t now[X25519_LEN])
{
	char fw[IDENTITY_FINGERPRINT_SIZE], fn[IDENTITY_FINGERPRINT_SIZE];

	identity_fingerprint(was, fw);
	identity_fingerprint(now, fn);
	return fitted(snprintf(out, cap, "* WARNING: %s's key has changed (was %s, now %s): "
			       "nothing was sent; /trust %s to accept it", name, fw, fn, name), cap);
}

/*
 * "* NAME<what>: FINGERPRINT", the shape of the lines about one key, and
 * when hint is set "; /verify NAME to compare safety numbers" after it.
 */
static int msg_key(char *out, size_t cap, const char *name, const char *what,
		   const uint8_t pub[X25519_LEN], int hint)
{
	char fp[IDENTITY_FINGERPRINT_SIZE];

	identity_fingerprint(pub, fp);
	if (!hint)
		return fitted(snprintf(out, cap, "* %s%s: %s", name, what, fp), cap);
	return fitted(snprintf(out, cap, "* %s%s: %s; /verify %s to compare safety numbers", name,
			       what, fp, name), cap);
}

int trust_msg_pinned(char *out, size_t cap, const char *name, const uint8_t pub[X25519_LEN])
{
	return msg_key(out, cap, name, "'s key is pinned at first use", pub, 1);
}

int trust_msg_accepted(char *out, size_t cap, const char *name, const uint8_t pub[X25519_LEN])
{
	return msg_key(out, cap, name, "'s new key is pinned", pub, 1);
}

int trust_msg_verified(char *out, size_t cap, const char *name, const uint8_t pub[X25519_LEN])
{
	return msg_key(out, cap, name, " is verified", pub, 0);
}

int trust_msg_safety(char *out, size_t cap, const char *name, const uint8_t my_pub[X25519_LEN],
		     const uint8_t peer_pub[X25519_LEN])
{
	char number[TRUST_SAFETY_SIZE];

	trust_safety_number(my_pub, peer_pub, number, sizeof(number));
	return fitted(snprintf(out, cap, "* your safety number with %s: %s: compare it with %s's, "
			       "by voice or in person; /verify %s yes if it matches", name, number,
			       name, name), cap);
}
