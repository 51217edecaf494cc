/* identity.c - a name's identity key: the key file's format and rules, the fingerprint, the owner token. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "identity.h"
#include "net.h"
#include "sha256.h"

_Static_assert(IDENTITY_FILE_LEN == 96, "the key file is 24 + 7 + 64 + 1 bytes");
_Static_assert(PROTO_TOKEN_LEN <= SHA256_LEN, "the token is a prefix of an HMAC-SHA256 tag");
_Static_assert(IDENTITY_FINGERPRINT_BYTES * 8 % 5 == 0, "the fingerprint is whole base32 digits");
_Static_assert(IDENTITY_FINGERPRINT_SIZE ==
	       IDENTITY_FINGERPRINT_BYTES * 8 / 5 / IDENTITY_FINGERPRINT_GROUP * 5,
	       "the groups, the spaces between them and the NUL fill the fingerprint exactly");

void identity_from_secret(struct identity *id, const uint8_t secret[X25519_LEN])
{
	memmove(id->secret, secret, X25519_LEN);
	x25519_public(id->pub, id->secret);
}

void identity_wipe(struct identity *id)
{
	ct_wipe(id, sizeof(*id));
}

/* 1 when a < b, else 0, without a branch; a and b below 2^31. */
static uint32_t lt(uint32_t a, uint32_t b)
{
	return (a - b) >> 31;
}

/* The lowercase hex digit of n (0..15): '0' + n, plus the gap to 'a' when n > 9, by a mask. */
static char hex_digit(uint32_t n)
{
	return (char)(n + '0' + (lt(9, n) * ('a' - '0' - 10)));
}

/*
 * The value of a lowercase hex digit c, with *bad set when c is none:
 * both ranges are tested on every byte and the answer is picked by masks,
 * so neither time nor memory access depends on which digit c is.
 */
static uint32_t hex_value(uint32_t c, uint32_t *bad)
{
	uint32_t is_digit = lt(c, '9' + 1) & (1 ^ lt(c, '0'));
	uint32_t is_letter = lt(c, 'f' + 1) & (1 ^ lt(c, 'a'));

	*bad |= 1 ^ (is_digit | is_letter);
	return (((0u - is_digit) & (c - '0')) | ((0u - is_letter) & (c - 'a' + 10))) & 0xf;
}

void identity_format(const uint8_t secret[X25519_LEN], char out[IDENTITY_FILE_LEN])
{
	char *p = out;

	memcpy(p, IDENTITY_VERSION_LINE, IDENTITY_VERSION_LINE_LEN);
	p += IDENTITY_VERSION_LINE_LEN;
	memcpy(p, IDENTITY_SECRET_PREFIX, IDENTITY_SECRET_PREFIX_LEN);
	p += IDENTITY_SECRET_PREFIX_LEN;
	for (size_t i = 0; i < X25519_LEN; i++) {
		*p++ = hex_digit(secret[i] >> 4);
		*p++ = hex_digit(secret[i] & 0xf);
	}
	*p = '\n';
}

int identity_parse(const char *text, size_t len, uint8_t secret[X25519_LEN])
{
	static const char family[] = "p2pchat identity key v";
	const char *hex = text + IDENTITY_VERSION_LINE_LEN + IDENTITY_SECRET_PREFIX_LEN;
	uint32_t bad = 0;

	memset(secret, 0, X25519_LEN);
	if (len == 0)
		return IDENTITY_PARSE_EMPTY;
	/* The layout is public: only the hex digits are secret, and they come last. */
	if (len < IDENTITY_VERSION_LINE_LEN ||
	    memcmp(text, IDENTITY_VERSION_LINE, IDENTITY_VERSION_LINE_LEN) != 0) {
		if (len >= sizeof(family) - 1 && memcmp(text, family, sizeof(family) - 1) == 0)
			return IDENTITY_PARSE_VERSION;
		return IDENTITY_PARSE_FORMAT;
	}
	if (len < IDENTITY_FILE_LEN)
		return IDENTITY_PARSE_SHORT;
	if (memcmp(text + IDENTITY_VERSION_LINE_LEN, IDENTITY_SECRET_PREFIX,
		   IDENTITY_SECRET_PREFIX_LEN) != 0 || text[IDENTITY_FILE_LEN - 1] != '\n')
		return IDENTITY_PARSE_SECRET;
	for (size_t i = 0; i < X25519_LEN; i++) {
		uint32_t hi = hex_value((uint8_t)hex[2 * i], &bad);
		uint32_t lo = hex_value((uint8_t)hex[2 * i + 1], &bad);

		secret[i] = (uint8_t)(hi << 4 | lo);
	}
	if (bad) {
		ct_wipe(secret, X25519_LEN);
		return IDENTITY_PARSE_SECRET;
	}
	if (len > IDENTITY_FILE_LEN) {
		ct_wipe(secret, X25519_LEN);
		return IDENTITY_PARSE_TRAILING;
	}
	return IDENTITY_PARSE_OK;
}

const char *identity_parse_strerror(int error)
{
	switch (error) {
	case IDENTITY_PARSE_OK: return "no error";
	case IDENTITY_PARSE_EMPTY: return "the file is empty";
	case IDENTITY_PARSE_FORMAT: return "it does not start with \"p2pchat identity key v1\"";
	case IDENTITY_PARSE_VERSION: return "it is of a version other than v1, the one this p2pchat reads";
	case IDENTITY_PARSE_SHORT: return "it ends before its secret line does";
	case IDENTITY_PARSE_SECRET:
		return "its second line is not \"secret \" and 64 lowercase hexadecimal digits";
	case IDENTITY_PARSE_TRAILING: return "there is more after its secret line";
	default: return "unknown error";
	}
}

/*
 * Base32 (RFC 4648 section 6) of SHA-256(pub)'s first 20 bytes, lowercase,
 * a space after every 4 digits but the last. The public key is no secret:
 * the table index is fine here.
 */
void identity_fingerprint(const uint8_t pub[X25519_LEN], char out[IDENTITY_FINGERPRINT_SIZE])
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t hash[SHA256_LEN];
	uint32_t acc = 0;
	int bits = 0, digits = 0;
	char *p = out;

	sha256_hash(hash, pub, X25519_LEN);
	for (size_t i = 0; i < IDENTITY_FINGERPRINT_BYTES; i++) {
		acc = acc << 8 | hash[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			if (digits > 0 && digits % IDENTITY_FINGERPRINT_GROUP == 0)
				*p++ = ' ';
			*p++ = alphabet[(acc >> bits) & 31];
			digits++;
		}
	}
	*p = '\0';
}

/*
 * HMAC-SHA256 (RFC 2104) under the secret of a fixed label: a value only
 * the key's holder can make, which says nothing about the secret (the
 * HMAC is a pseudorandom function of its key).
 */
void identity_token(const struct identity *id, uint8_t token[PROTO_TOKEN_LEN])
{
	uint8_t tag[SHA256_LEN];

	sha256_hmac(tag, id->secret, X25519_LEN, IDENTITY_TOKEN_LABEL,
		    sizeof(IDENTITY_TOKEN_LABEL) - 1);
	memcpy(token, tag, PROTO_TOKEN_LEN);
	ct_wipe(tag, sizeof(tag));
}

int identity_state_dir(const char *xdg_state_home, const char *home, char *out, size_t cap)
{
	int n;

	/* XDG Base Directory: a relative $XDG_STATE_HOME is invalid and ignored. */
	if (xdg_state_home != NULL && xdg_state_home[0] == '/')
		n = snprintf(out, cap, "%s/p2pchat", xdg_state_home);
	else if (home != NULL && home[0] == '/')
		n = snprintf(out, cap, "%s/.local/state/p2pchat", home);
	else
		return -1;
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The part of a key file's owner rule that the directory shares: uid's, or root's for a directory. */
static int check_owner(const struct stat *st, uid_t uid, int root_ok, const char *path, char *err,
		       size_t errlen)
{
	if (st->st_uid == uid || (root_ok && st->st_uid == 0))
		return 0;
	snprintf(err, errlen, "%s is owned by uid %lu, not by you (uid %lu): if it is yours, "
		 "chown %lu %s; if not, remove it", path, (unsigned long)st->st_uid,
		 (unsigned long)uid, (unsigned long)uid, path);
	return -1;
}

int identity_check_dir(const struct stat *st, uid_t uid, const char *dir, char *err,
		       size_t errlen)
{
	if (!S_ISDIR(st->st_mode)) {
		snprintf(err, errlen, "%s is not a directory: move it away", dir);
		return -1;
	}
	if (check_owner(st, uid, 1, dir, err, errlen) < 0)
		return -1;
	/* Whoever may write the directory may swap the key file for one of theirs. */
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s is writable by group or others (mode %04o): chmod go-w %s",
			 dir, (unsigned)(st->st_mode & 07777), dir);
		return -1;
	}
	return 0;
}

int identity_check_file_perm(const struct stat *st, uid_t uid, mode_t refused, const char *path,
			     char *err, size_t errlen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777), bad = mode & (unsigned)refused & 077;

	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s is not a regular file: remove it", path);
		return -1;
	}
	if (check_owner(st, uid, 0, path, err, errlen) < 0)
		return -1;
	if (bad) {
		snprintf(err, errlen, "%s is %s by group or others (mode %04o): chmod %s %s", path,
			 bad & 044 ? "readable" : bad & 022 ? "writable" : "usable", mode,
			 (refused & 077) == 077 ? "600" : "go-w", path);
		return -1;
	}
	return 0;
}

int identity_check_file(const struct stat *st, uid_t uid, const char *path, char *err,
			size_t errlen)
{
	return identity_check_file_perm(st, uid, 077, path, err, errlen);
}

/* mkdir -p dir, each missing level mode 0700. Returns 0, or -1 with errno. */
static int make_dirs(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	for (char *s = path + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char keep = *s;

			*s = '\0';
			if (mkdir(path, 0700) < 0 && errno != EEXIST)
				return -1;
			*s = keep;
			if (keep == '\0')
				return 0;
		}
	}
}

/*
 * Reads dir's key file `file` (path: its name for messages) into id.
 * Returns 0, 1 when there is no such file, or -1 with a message in err.
 */
static int load_file(int dfd, const char *file, const char *path, struct identity *id,
		     char *err, size_t errlen)
{
	char text[IDENTITY_FILE_LEN + 1]; /* one byte over: trailing bytes are seen */
	uint8_t secret[X25519_LEN];
	size_t len = 0;
	struct stat st;
	int fd, r = -1;

	/* O_NOFOLLOW: a link is refused (ELOOP), never read through; O_NONBLOCK: a FIFO can't hang us. */
	fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			snprintf(err, errlen, "%s is a symbolic link: a key file must be a regular "
				 "file; remove the link", path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	if (identity_check_file(&st, getuid(), path, err, errlen) < 0)
		goto out;
	while (len < sizeof(text)) {
		ssize_t n = read(fd, text + len, sizeof(text) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	r = identity_parse(text, len, secret);
	if (r != IDENTITY_PARSE_OK) {
		snprintf(err, errlen, "%s is not a p2pchat identity key (%s): p2pchat never "
			 "replaces it; restore it, or move it away to make a new key",
			 path, identity_parse_strerror(r));
		r = -1;
		goto out;
	}
	identity_from_secret(id, secret);
out:
	ct_wipe(text, sizeof(text));
	ct_wipe(secret, sizeof(secret));
	close(fd);
	return r;
}

int identity_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Makes dir's key file `file` from fresh random bytes, into id. Returns 0,
 * 1 when a file of that name is there already (made meanwhile), or -1 with
 * a message in err (no file is left behind then).
 */
static int create_file(int dfd, const char *file, const char *path, struct identity *id,
		       char *err, size_t errlen)
{
	char text[IDENTITY_FILE_LEN];
	uint8_t secret[X25519_LEN];
	int fd, r = -1;

	if (net_random(secret, sizeof(secret)) < 0) {
		snprintf(err, errlen, "cannot get random bytes from the kernel: %s", strerror(errno));
		return -1;
	}
	fd = openat(dfd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
		    0600);
	if (fd < 0) {
		if (errno == EEXIST)
			r = 1;
		else
			snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		ct_wipe(secret, sizeof(secret));
		return r;
	}
	identity_format(secret, text);
	if (identity_write_all(fd, text, sizeof(text)) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlinkat(dfd, file, 0); /* ours, made a moment ago: a half key must not stay */
	} else if (close(fd) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlinkat(dfd, file, 0);
	} else {
		fsync(dfd); /* the new name too; some file systems refuse this, and that is fine */
		identity_from_secret(id, secret);
		r = 0;
	}
	ct_wipe(text, sizeof(text));
	ct_wipe(secret, sizeof(secret));
	return r;
}

int identity_open_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	int dfd;

	if (make_dirs(dir) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	/* The directory opened once, the files found in it: none can be swapped between the checks. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(dfd, &st) < 0) {
		snprintf(err, errlen, "cannot stat %s: %s", dir, strerror(errno));
		close(dfd);
		return -1;
	}
	if (identity_check_dir(&st, getuid(), dir, err, errlen) < 0) {
		close(dfd);
		return -1;
	}
	return dfd;
}

int identity_load_or_create(const char *dir, const char *name, struct identity *id, char *err,
			    size_t errlen)
{
	char path[PATH_MAX], file[PROTO_NAME_MAX + sizeof(".key")];
	int dfd, r = -1;

	memset(id, 0, sizeof(*id));
	if (!proto_name_valid(name)) {
		snprintf(err, errlen, "'%s' is not a valid name", name);
		return -1;
	}
	snprintf(file, sizeof(file), "%s.key", name);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(ENAMETOOLONG));
		return -1;
	}
	dfd = identity_open_dir(dir, err, errlen);
	if (dfd < 0)
		return -1;
	/* Twice at most: a file another p2pchat made between our two steps is loaded. */
	for (int tries = 0; tries < 2; tries++) {
		r = load_file(dfd, file, path, id, err, errlen);
		if (r != 1)
			break;
		r = create_file(dfd, file, path, id, err, errlen);
		if (r != 1) {
			r = r == 0 ? 1 : -1;
			break;
		}
		snprintf(err, errlen, "%s appeared while it was being made: try again", path);
		r = -1;
	}
	close(dfd);
	if (r < 0)
		identity_wipe(id);
	return r;
}
