/* identity.h - a name's identity key: the X25519 key pair in NAME.key, its fingerprint, the owner token derived from it. */
#ifndef P2PCHAT_IDENTITY_H
#define P2PCHAT_IDENTITY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "protocol.h"
#include "x25519.h"

/*
 * The key file, NAME.key, is two lines of text and nothing else:
 *
 *     p2pchat identity key v1\n               24 bytes: what it is, and the version
 *     secret <64 lowercase hex digits>\n      72 bytes: the 32-byte X25519 secret
 *
 * The public key is not stored: it is recomputed from the secret
 * (X25519(secret, 9), RFC 7748 section 6.1), so the two can never disagree.
 */
#define IDENTITY_VERSION_LINE "p2pchat identity key v1\n"
#define IDENTITY_VERSION_LINE_LEN (sizeof(IDENTITY_VERSION_LINE) - 1)
#define IDENTITY_SECRET_PREFIX "secret "
#define IDENTITY_SECRET_PREFIX_LEN (sizeof(IDENTITY_SECRET_PREFIX) - 1)
#define IDENTITY_FILE_LEN \
	(IDENTITY_VERSION_LINE_LEN + IDENTITY_SECRET_PREFIX_LEN + 2 * X25519_LEN + 1) /* 96 */

/*
 * The fingerprint: SHA-256 of the 32-byte public key, its first 20 bytes
 * (160 bits) in base32 (RFC 4648 section 6, lowercase, no padding: 32
 * characters), in 8 groups of 4 separated by spaces, e.g.
 * "mq3k 7zdx ...". 39 characters and the NUL.
 */
#define IDENTITY_FINGERPRINT_BYTES 20
#define IDENTITY_FINGERPRINT_GROUP 4
#define IDENTITY_FINGERPRINT_SIZE 40

/* The label the owner token is derived under (see identity_token). */
#define IDENTITY_TOKEN_LABEL "p2pchat owner token v1"

/* A name's key pair. Secret: wipe it with identity_wipe when done. */
struct identity {
	uint8_t secret[X25519_LEN]; /* the X25519 scalar as stored (x25519 clamps a copy when used) */
	uint8_t pub[X25519_LEN];    /* X25519(secret, 9) */
};

/* Why a key file's text was refused (identity_parse). */
enum identity_parse_error {
	IDENTITY_PARSE_OK = 0,
	IDENTITY_PARSE_EMPTY = -1,    /* no bytes at all */
	IDENTITY_PARSE_FORMAT = -2,   /* the first line is not "p2pchat identity key v..." */
	IDENTITY_PARSE_VERSION = -3,  /* "p2pchat identity key v..." of a version other than v1 */
	IDENTITY_PARSE_SHORT = -4,    /* the file ends before the secret line does */
	IDENTITY_PARSE_SECRET = -5,   /* the second line is not "secret " and 64 lowercase hex digits */
	IDENTITY_PARSE_TRAILING = -6, /* bytes after the secret line */
};

/* Sets id's secret to a copy of secret and computes its public key. */
void identity_from_secret(struct identity *id, const uint8_t secret[X25519_LEN]);

/* Wipes id (ct_wipe): call it as soon as the key is no longer needed. */
void identity_wipe(struct identity *id);

/*
 * Writes the key file's text for secret into out: exactly IDENTITY_FILE_LEN
 * bytes, no NUL. The hex digits are made without a branch or a table
 * index on the secret. out holds the secret: the caller wipes it.
 */
void identity_format(const uint8_t secret[X25519_LEN], char out[IDENTITY_FILE_LEN]);

/*
 * Reads a key file's len bytes of text into secret: the whole text must be
 * exactly what identity_format writes, nothing before, after or between.
 * The hex digits are decoded without a branch or a table index on them;
 * one decision on the whole secret is made at the end. Returns
 * IDENTITY_PARSE_OK, or a negative enum identity_parse_error with secret
 * zeroed.
 */
int identity_parse(const char *text, size_t len, uint8_t secret[X25519_LEN]);

/* The reason for an identity_parse error, as a phrase ("the file is empty"). */
const char *identity_parse_strerror(int error);

/*
 * Writes pub's fingerprint (see IDENTITY_FINGERPRINT_BYTES) into out, NUL
 * terminated. The same function for every place a fingerprint is shown.
 */
void identity_fingerprint(const uint8_t pub[X25519_LEN], char out[IDENTITY_FINGERPRINT_SIZE]);

/*
 * The owner token the wire carries (protocol.h), derived from the secret
 * so that the key alone owns the name: the first PROTO_TOKEN_LEN bytes of
 * HMAC-SHA256(key = secret, IDENTITY_TOKEN_LABEL) (RFC 2104).
 */
void identity_token(const struct identity *id, uint8_t token[PROTO_TOKEN_LEN]);

/*
 * Where the key files live: "$XDG_STATE_HOME/p2pchat" when xdg_state_home
 * is an absolute path, else "$HOME/.local/state/p2pchat" when home is one
 * (either may be NULL). Returns 0 with the path in out[0..cap), or -1
 * (neither usable, or the path is longer than cap - 1).
 */
int identity_state_dir(const char *xdg_state_home, const char *home, char *out, size_t cap);

/*
 * The rules a key file's directory must keep (ssh's): a directory, owned
 * by uid or by root, not writable by group or others. st is the
 * directory's fstat, dir its name for the message. Returns 0, or -1 with a
 * message in err[0..errlen) saying what is wrong and how to fix it.
 */
int identity_check_dir(const struct stat *st, uid_t uid, const char *dir, char *err,
		       size_t errlen);

/*
 * The rules a key file must keep (ssh's): a regular file, owned by uid,
 * with no permission for group or others. st is the file's fstat, path
 * its name for the message. Returns 0, or -1 with a message in
 * err[0..errlen) saying what is wrong and how to fix it.
 */
int identity_check_file(const struct stat *st, uid_t uid, const char *path, char *err,
			size_t errlen);

/*
 * identity_check_file with the group and other permission bits that are
 * refused given: 077 for a secret (identity_check_file), 022 for a file
 * that others may read but must not change (trust.c's known_peers).
 * Returns 0, or -1 with a message in err[0..errlen).
 */
int identity_check_file_perm(const struct stat *st, uid_t uid, mode_t refused, const char *path,
			     char *err, size_t errlen);

/*
 * Opens dir, the state directory, for the files in it: made (mode 0700,
 * parents too) when missing, opened once with O_DIRECTORY, and its fstat
 * must pass identity_check_dir. Open files in it with openat on the
 * descriptor, so that it cannot be swapped after the check. Returns the
 * descriptor (the caller closes it), or -1 with a message in
 * err[0..errlen).
 */
int identity_open_dir(const char *dir, char *err, size_t errlen);

/*
 * Writes all len bytes of buf to fd, through short writes and EINTR: the
 * state directory's files are written with it. Returns 0, or -1 with errno.
 */
int identity_write_all(int fd, const char *buf, size_t len);

/*
 * NAME's key pair from dir/NAME.key, made on first use. dir is created
 * (mode 0700, parents too) when missing, then must pass identity_check_dir.
 * An existing key file is opened without following a symbolic link, must
 * pass identity_check_file and identity_parse; it is never replaced. A
 * missing one is made from random bytes (net_random) with
 * O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, written whole and fsync'd.
 * Returns 1 (made now) or 0 (loaded) with id filled (wipe it with
 * identity_wipe), or -1 with id zeroed and a message in err[0..errlen)
 * naming the file and what to do.
 */
int identity_load_or_create(const char *dir, const char *name, struct identity *id, char *err,
			    size_t errlen);

#endif
