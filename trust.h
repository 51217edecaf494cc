/* trust.h - known peers and servers: each name's (and server's) pinned public key in known_peers (known_servers), the trust decisions on it, the safety number /verify shows. */
#ifndef P2PCHAT_TRUST_H
#define P2PCHAT_TRUST_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol.h"
#include "x25519.h"

/*
 * The file, known_peers in the state directory (identity_state_dir), beside
 * the key files. Text, one peer a line, sorted by name:
 *
 *     # p2pchat known peers v1: NAME STATE KEY; STATE is pinned or verified\n
 *     bob pinned de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f\n
 *     carol verified 8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a\n
 *
 * The first line is exactly TRUST_HEADER (it says what the file is and its
 * version). Each other line is a comment (starting with '#', skipped; a
 * rewrite keeps only the header) or NAME STATE KEY, separated by single
 * spaces: NAME a valid name (proto_name_valid), STATE "pinned" or
 * "verified", KEY the 32-byte X25519 public key in 64 lowercase hex
 * digits. Anything else, an empty line, a name listed twice, more than
 * TRUST_MAX peers, a line over TRUST_LINE_MAX bytes or a last line with
 * no newline, is an error that names the file and the line: nothing is
 * dropped in silence.
 */
#define TRUST_FILE "known_peers"
#define TRUST_LOCK_FILE "known_peers.lock" /* held (flock) while the file is rewritten */
#define TRUST_TEMP_FILE "known_peers.new"  /* the next file, until it is renamed over */
#define TRUST_HEADER "# p2pchat known peers v1: NAME STATE KEY; STATE is pinned or verified"
#define TRUST_MAX 1024      /* peers (servers) the file and the store hold; a pin beyond is an error */
#define TRUST_KEY_NAME_MAX 64 /* an entry's first field: a name (at most 32), or a server's HOST:PORT */
#define TRUST_LINE_MAX 256  /* bytes in a line with its newline: an entry is at most 107 */

/*
 * The servers' file, known_servers beside it, is read and written by the
 * same store (trust_open_servers), with the same rules, one server a line:
 *
 *     # p2pchat known servers v1: HOST:PORT KEY\n
 *     vps.example.org:7777 de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f\n
 *
 * HOST:PORT is the server as p2pchat was told it (--server), with the
 * port: 3..64 bytes, no space, with a ':'. KEY is the server's X25519
 * public key (p2pchatd --print-key). A client pins it at first contact
 * (ssh's accept-new: trust_pin) and refuses another key after that.
 */
#define TRUST_SERVERS_FILE "known_servers"
#define TRUST_SERVERS_LOCK_FILE "known_servers.lock"
#define TRUST_SERVERS_TEMP_FILE "known_servers.new"
#define TRUST_SERVERS_HEADER "# p2pchat known servers v1: HOST:PORT KEY"

/*
 * What trust_check says about a name and the key it came with. The client
 * sends a line to the key only when the answer is TRUST_PINNED or
 * TRUST_VERIFIED (after trust_pin for TRUST_NEW).
 */
enum trust_state {
	TRUST_NEW = 0,      /* no key known for the name: pin this one (trust_pin) */
	TRUST_PINNED = 1,   /* the key pinned for the name (at first use, or by /trust) */
	TRUST_VERIFIED = 2, /* that key, and the user compared safety numbers (/verify) */
	TRUST_CHANGED = 3,  /* another key is pinned: refuse until the user accepts (/trust) */
};

/* One known peer. */
struct trust_entry {
	char name[TRUST_KEY_NAME_MAX + 1]; /* a name, or (known_servers) a HOST:PORT */
	uint8_t state; /* TRUST_PINNED or TRUST_VERIFIED */
	uint8_t pub[X25519_LEN];
};

/* The peers, sorted by name (strcmp), so that a lookup is a binary search. */
struct trust_list {
	size_t n;
	struct trust_entry e[TRUST_MAX];
};

/*
 * An open store: the state directory's descriptor and two lists, the one
 * in use and the one the file is read into, so that a file that fails to
 * read leaves the store as it was. About 140 KB: allocate it once.
 */
struct trust_kind; /* which file: trust.c */
struct trust_store {
	const struct trust_kind *kind; /* known_peers or known_servers */
	int dfd;              /* the state directory, checked (identity_open_dir) */
	int cur;              /* lists[cur] is in use */
	char dir[PATH_MAX];   /* its name, for messages */
	struct trust_list lists[2];
};

/* Why a line was refused (trust_parse_line, and the loader's own checks). */
enum trust_parse_error {
	TRUST_PARSE_OK = 0,
	TRUST_PARSE_EMPTY = -1,     /* an empty line */
	TRUST_PARSE_NAME = -2,      /* the first field is not a valid name */
	TRUST_PARSE_STATE = -3,     /* the second field is not "pinned" or "verified" */
	TRUST_PARSE_KEY = -4,       /* the third field is not 64 lowercase hex digits */
	TRUST_PARSE_FIELDS = -5,    /* not three fields with one space between them */
	TRUST_PARSE_HEADER = -6,    /* the first line is not TRUST_HEADER */
	TRUST_PARSE_LONG = -7,      /* a line longer than TRUST_LINE_MAX bytes */
	TRUST_PARSE_DUPLICATE = -8, /* a name listed a second time */
	TRUST_PARSE_FULL = -9,      /* more than TRUST_MAX peers */
	TRUST_PARSE_NEWLINE = -10,  /* the last line has no newline */
};

/*
 * Reads one line (len bytes, without its newline) that is neither the
 * header nor a comment into e. Returns TRUST_PARSE_OK, or a negative enum
 * trust_parse_error (e is then zeroed).
 */
int trust_parse_line(const char *line, size_t len, struct trust_entry *e);

/* The reason for a trust_parse_error, as a phrase ("the state is not ..."). */
const char *trust_parse_strerror(int error);

/*
 * Opens the store of dir (the state directory: made mode 0700 when
 * missing, and it must pass identity_check_dir) and reads dir/known_peers
 * (no file: no peers). The file is opened without following a symbolic
 * link and must be a regular file owned by you and not writable by group
 * or others (identity_check_file_perm with 022); readable is fine, as
 * ssh's known_hosts is 0644. s is the caller's. Returns 0, or -1 with a
 * message in err[0..errlen) naming the file, the line when it is one, and
 * what to do (s is then closed).
 */
int trust_open(struct trust_store *s, const char *dir, char *err, size_t errlen);

/*
 * trust_open for known_servers (above): the same rules, the same calls
 * (trust_check, trust_find, trust_pin with HOST:PORT for the name).
 */
int trust_open_servers(struct trust_store *s, const char *dir, char *err, size_t errlen);

/* Closes s's directory. s may be opened again. */
void trust_close(struct trust_store *s);

/*
 * Reads the file again, to see what another p2pchat of yours wrote since.
 * Returns 0, or -1 with a message in err[0..errlen) and s as it was.
 */
int trust_reload(struct trust_store *s, char *err, size_t errlen);

/*
 * What s knows of name with key pub (enum trust_state): from memory, no
 * allocation, no I/O, a binary search; the keys compared with ct_equal.
 */
int trust_check(const struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN]);

/* name's entry in s, or NULL. The pointer is s's, good until s's next update or reload. */
const struct trust_entry *trust_find(const struct trust_store *s, const char *name);

/* The peers in s, and the i-th by name (i below trust_count), for /peers. */
size_t trust_count(const struct trust_store *s);
const struct trust_entry *trust_at(const struct trust_store *s, size_t i);

/*
 * The updates. Each takes the lock (flock on TRUST_LOCK_FILE), reads the
 * file again, so that what another p2pchat of yours wrote is kept, makes
 * its change there, and writes the file anew when it changed: the whole
 * file to TRUST_TEMP_FILE (O_CREAT|O_EXCL|O_NOFOLLOW, 0600), fsync,
 * rename over known_peers, fsync of the directory. A failure leaves the
 * old file whole. s then holds the file as it is now. Each returns an
 * enum trust_state, or -1 with a message in err[0..errlen) (s then as it
 * was, and no file changed).
 *
 * trust_pin: first use (trust_check said TRUST_NEW): pins pub for name.
 * When the file has a key for name by now (another p2pchat pinned one),
 * nothing changes: TRUST_PINNED or TRUST_VERIFIED when it is pub,
 * TRUST_CHANGED when it is not. Else TRUST_PINNED.
 */
int trust_pin(struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN], char *err,
	      size_t errlen);

/*
 * trust_accept: the user's /trust NAME: pub replaces whatever key name had;
 * its state is pinned (not verified: a new key is compared anew).
 * Returns TRUST_PINNED, or TRUST_VERIFIED when pub was name's key and
 * verified already (nothing changes then).
 */
int trust_accept(struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN],
		 char *err, size_t errlen);

/*
 * trust_verify: the user's "/verify NAME yes": the safety number made from
 * pub matched, so pub is marked verified. When the file has another key
 * for name by now, nothing changes: TRUST_CHANGED. Else TRUST_VERIFIED.
 */
int trust_verify(struct trust_store *s, const char *name, const uint8_t pub[X25519_LEN],
		 char *err, size_t errlen);

/* "new", "pinned", "verified" or "changed": the word /peers shows for a trust_state. */
const char *trust_state_name(int state);

/*
 * The safety number of two keys, the same whichever side computes it
 * (the order of the arguments does not matter). Each key gives a half of
 * 30 digits: SHA-256(TRUST_SAFETY_LABEL || pub), six 5-byte pieces, each
 * read big-endian as a 40-bit number, modulo 100000, in 5 digits. The two
 * halves are shown in order (the smaller first, compared as text), in 12
 * groups of 5 digits separated by spaces, as Signal shows its safety
 * numbers.
 *
 * Why it is long enough: a man in the middle who gave alice key M1 for bob
 * and bob key M2 for alice must make alice's number (A's half and M1's)
 * equal bob's (M2's half and B's), so M1's half must be B's and M2's A's:
 * a second preimage of 30 digits, 10^30 or 2^99 keys to try, for each.
 * Were the number a hash of both keys together, he could pick M1 and M2
 * both and a birthday search would halve the work; with a half per key he
 * cannot. 2^99 is far beyond the 2^60 that would be enough.
 *
 * Writes TRUST_SAFETY_SIZE - 1 characters and the NUL into out. Returns 0,
 * or -1 when cap is below TRUST_SAFETY_SIZE (out untouched).
 */
#define TRUST_SAFETY_LABEL "p2pchat safety number v1"
#define TRUST_SAFETY_GROUPS 12
#define TRUST_SAFETY_DIGITS 5 /* in a group */
#define TRUST_SAFETY_SIZE (TRUST_SAFETY_GROUPS * (TRUST_SAFETY_DIGITS + 1)) /* 72, with the NUL */
int trust_safety_number(const uint8_t my_pub[X25519_LEN], const uint8_t peer_pub[X25519_LEN],
			char *out, size_t cap);

/*
 * The lines the client prints, each with no newline, into out[0..cap):
 * each returns 0, or -1 when the line was cut (cap too small;
 * TRUST_MSG_MAX is always enough). FINGERPRINT is identity_fingerprint's.
 *
 * trust_msg_changed (trust_check said TRUST_CHANGED, nothing was sent):
 *   * WARNING: bob's key has changed (was FINGERPRINT, now FINGERPRINT): nothing was sent; /trust bob to accept it
 * trust_msg_pinned (trust_pin said TRUST_PINNED for a new name):
 *   * bob's key is pinned at first use: FINGERPRINT; /verify bob to compare safety numbers
 * trust_msg_accepted (after /trust bob):
 *   * bob's new key is pinned: FINGERPRINT; /verify bob to compare safety numbers
 * trust_msg_safety (/verify bob):
 *   * your safety number with bob: 44462 70702 ... 75517: compare it with bob's, by voice or in person; /verify bob yes if it matches
 * trust_msg_verified (after /verify bob yes):
 *   * bob is verified: FINGERPRINT
 */
#define TRUST_MSG_MAX 320
int trust_msg_changed(char *out, size_t cap, const char *name, const uint8_t was[X25519_LEN],
		      const uint8_t now[X25519_LEN]);
int trust_msg_pinned(char *out, size_t cap, const char *name, const uint8_t pub[X25519_LEN]);
int trust_msg_accepted(char *out, size_t cap, const char *name, const uint8_t pub[X25519_LEN]);
int trust_msg_safety(char *out, size_t cap, const char *name, const uint8_t my_pub[X25519_LEN],
		     const uint8_t peer_pub[X25519_LEN]);
int trust_msg_verified(char *out, size_t cap, const char *name, const uint8_t pub[X25519_LEN]);

#endif
