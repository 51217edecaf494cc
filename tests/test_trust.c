/* test_trust.c - unit tests for trust.c: the known-peers line format, the trust decisions, the safety number, the file's rules and atomic locked updates; in temporary directories, no network. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ct.h"
#include "harness.h"
#include "tmpdir.h"
#include "identity.h"
#include "trust.h"
#include "vectors.h"

/* RFC 7748 section 6.1: Alice's and Bob's public keys. */
#define ALICE_PUBLIC "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define BOB_PUBLIC "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
/* Their fingerprints (tests/test_identity.c has where they come from). */
#define ALICE_FINGERPRINT "gagj zfqd xeve wopn hfml 7esa cfea jw2p"
#define BOB_FINGERPRINT "6npf mfqw biyl 6pdo ph5h hrlw 2qba l2h4"

/*
 * Their safety number, computed apart from this code with Python's hashlib:
 * for each key, sha256(b"p2pchat safety number v1" + pub), six 5-byte
 * pieces as big-endian integers mod 100000 in 5 digits; the two halves
 * sorted as text, in groups of 5. Alice's half is the first.
 */
#define ALICE_HALF "44462 70702 13954 11543 28173 97545"
#define BOB_HALF "95888 09072 85271 98945 25924 75517"
#define ALICE_BOB_SAFETY ALICE_HALF " " BOB_HALF

static uint8_t alice_pub[X25519_LEN], bob_pub[X25519_LEN];

static void keys(void)
{
	ck_assert_int_eq(vectors_hex(ALICE_PUBLIC, alice_pub, X25519_LEN), X25519_LEN);
	ck_assert_int_eq(vectors_hex(BOB_PUBLIC, bob_pub, X25519_LEN), X25519_LEN);
}

/* A key of our own, different for each n (and from Alice's and Bob's). */
static void key_n(unsigned n, uint8_t pub[X25519_LEN])
{
	struct rng32 r = { 0x7e57 + n * 2654435761u };

	for (size_t i = 0; i < X25519_LEN; i++)
		pub[i] = (uint8_t)rng32_next(&r);
	pub[0] = (uint8_t)n;
	pub[1] = (uint8_t)(n >> 8);
}

/* ---- lines ---- */

START_TEST(parse_line_ok)
{
	struct trust_entry e;
	const char *l1 = "bob pinned " BOB_PUBLIC;
	const char *l2 = "A.b_c-9 verified " ALICE_PUBLIC;
	const char *l3 = "abcdefghijklmnopqrstuvwxyz012345 pinned " BOB_PUBLIC; /* 32 bytes, the most */

	keys();
	ck_assert_int_eq(trust_parse_line(l1, strlen(l1), &e), TRUST_PARSE_OK);
	ck_assert_str_eq(e.name, "bob");
	ck_assert_int_eq(e.state, TRUST_PINNED);
	ck_assert_mem_eq(e.pub, bob_pub, X25519_LEN);
	ck_assert_int_eq(trust_parse_line(l2, strlen(l2), &e), TRUST_PARSE_OK);
	ck_assert_str_eq(e.name, "A.b_c-9");
	ck_assert_int_eq(e.state, TRUST_VERIFIED);
	ck_assert_mem_eq(e.pub, alice_pub, X25519_LEN);
	ck_assert_int_eq(trust_parse_line(l3, strlen(l3), &e), TRUST_PARSE_OK);
	ck_assert_str_eq(e.name, "abcdefghijklmnopqrstuvwxyz012345");
	/* Only len bytes are read: the rest of a longer buffer is not the line's. */
	ck_assert_int_eq(trust_parse_line(l1, strlen(l1) - 1, &e), TRUST_PARSE_KEY);
}
END_TEST

/* Each kind of bad line: refused with its own reason, the entry zeroed. */
START_TEST(parse_line_refusals)
{
	static const struct {
		const char *text;
		size_t len; /* 0: strlen */
		int want;
	} rows[] = {
		{ "", 0, TRUST_PARSE_EMPTY },
		{ "bob", 0, TRUST_PARSE_FIELDS },                          /* one field */
		{ "bob pinned", 0, TRUST_PARSE_FIELDS },                   /* two */
		{ "bob pinned " BOB_PUBLIC " x", 0, TRUST_PARSE_FIELDS },  /* four */
		{ "bob pinned " BOB_PUBLIC " ", 0, TRUST_PARSE_FIELDS },   /* a trailing space */
		{ " bob pinned " BOB_PUBLIC, 0, TRUST_PARSE_FIELDS },      /* a leading space */
		{ "bob  pinned " BOB_PUBLIC, 0, TRUST_PARSE_FIELDS },      /* two spaces */
		{ "bob\tpinned " BOB_PUBLIC, 0, TRUST_PARSE_FIELDS },      /* a tab is no separator */
		{ "b@b pinned " BOB_PUBLIC, 0, TRUST_PARSE_NAME },
		{ "b#b pinned " BOB_PUBLIC, 0, TRUST_PARSE_NAME },
		{ "abcdefghijklmnopqrstuvwxyz0123456 pinned " BOB_PUBLIC, 0, TRUST_PARSE_NAME }, /* 33 */
		{ "b\0b pinned " BOB_PUBLIC, 75, TRUST_PARSE_NAME },       /* a NUL in the name */
		{ "bob Pinned " BOB_PUBLIC, 0, TRUST_PARSE_STATE },
		{ "bob trusted " BOB_PUBLIC, 0, TRUST_PARSE_STATE },
		{ "bob pinne " BOB_PUBLIC, 0, TRUST_PARSE_STATE },
		{ "bob verifiedx " BOB_PUBLIC, 0, TRUST_PARSE_STATE },
		{ "bob pinned de9edb", 0, TRUST_PARSE_KEY },               /* short */
		{ "bob pinned " BOB_PUBLIC "0", 0, TRUST_PARSE_KEY },      /* long */
		{ "bob pinned " BOB_PUBLIC "\r", 0, TRUST_PARSE_KEY },     /* a CRLF file */
		{ "bob pinned DE9EDB7D7B7DC1B4D35B61C2ECE435373F8343C85B78674DADFC7E146F882B4F", 0,
		  TRUST_PARSE_KEY },                                       /* uppercase */
		{ "bob pinned ge9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", 0,
		  TRUST_PARSE_KEY },
		{ "bob pinned de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4:", 0,
		  TRUST_PARSE_KEY },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct trust_entry e;
		size_t len = rows[i].len ? rows[i].len : strlen(rows[i].text);

		memset(&e, 0xaa, sizeof(e));
		ck_assert_msg(trust_parse_line(rows[i].text, len, &e) == rows[i].want,
			      "row %zu: %d, not %d", i, trust_parse_line(rows[i].text, len, &e),
			      rows[i].want);
		ck_assert(ct_is_zero(&e, sizeof(e)));
	}
}
END_TEST

/* Every reason has its own phrase. */
START_TEST(parse_strerror_distinct)
{
	for (int a = TRUST_PARSE_OK; a >= TRUST_PARSE_NEWLINE; a--) {
		ck_assert_str_ne(trust_parse_strerror(a), "unknown error");
		for (int b = a - 1; b >= TRUST_PARSE_NEWLINE; b--)
			ck_assert_str_ne(trust_parse_strerror(a), trust_parse_strerror(b));
	}
	ck_assert_str_eq(trust_parse_strerror(TRUST_PARSE_NEWLINE - 1), "unknown error");
}
END_TEST

START_TEST(state_names)
{
	ck_assert_str_eq(trust_state_name(TRUST_NEW), "new");
	ck_assert_str_eq(trust_state_name(TRUST_PINNED), "pinned");
	ck_assert_str_eq(trust_state_name(TRUST_VERIFIED), "verified");
	ck_assert_str_eq(trust_state_name(TRUST_CHANGED), "changed");
	ck_assert_str_eq(trust_state_name(-1), "unknown");
	ck_assert_str_eq(trust_state_name(4), "unknown");
}
END_TEST

/* identity_check_file_perm with 022, known_peers' rule: read is fine, write is not. */
START_TEST(file_perm_rules)
{
	char err[512];
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_uid = 1000;
	for (mode_t mode = 0600; mode <= 0677; mode++) {
		int want = mode & 022 ? -1 : 0;

		st.st_mode = S_IFREG | mode;
		ck_assert_int_eq(identity_check_file_perm(&st, 1000, 022, "/k/known_peers", err,
							  sizeof(err)), want);
	}
	st.st_mode = S_IFREG | 0664;
	ck_assert_int_eq(identity_check_file_perm(&st, 1000, 022, "/k/known_peers", err, sizeof(err)),
			 -1);
	ck_assert_str_eq(err, "/k/known_peers is writable by group or others (mode 0664): chmod go-w "
			 "/k/known_peers");
	/* The key file's rule is unchanged by it. */
	st.st_mode = S_IFREG | 0644;
	ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/k/a.key is readable by group or others (mode 0644): chmod 600 /k/a.key");
}
END_TEST

/* ---- the safety number ---- */

START_TEST(safety_vector)
{
	char ab[TRUST_SAFETY_SIZE], ba[TRUST_SAFETY_SIZE];

	keys();
	ck_assert_int_eq(trust_safety_number(alice_pub, bob_pub, ab, sizeof(ab)), 0);
	ck_assert_str_eq(ab, ALICE_BOB_SAFETY);
	ck_assert_uint_eq(strlen(ab), TRUST_SAFETY_SIZE - 1);
	/* Bob's side: the same number. */
	ck_assert_int_eq(trust_safety_number(bob_pub, alice_pub, ba, sizeof(ba)), 0);
	ck_assert_str_eq(ba, ALICE_BOB_SAFETY);
}
END_TEST

/*
 * The number of mine and theirs (one of them changed) against want, the
 * number before the change: it differs, keeps the unchanged key's half,
 * and is the same from the other side.
 */
static void assert_changed(const uint8_t mine[X25519_LEN], const uint8_t theirs[X25519_LEN],
			   const char *want, const char *kept_half)
{
	char got[TRUST_SAFETY_SIZE], back[TRUST_SAFETY_SIZE];

	ck_assert_int_eq(trust_safety_number(mine, theirs, got, sizeof(got)), 0);
	ck_assert_str_ne(got, want);
	ck_assert_ptr_nonnull(strstr(got, kept_half));
	ck_assert_int_eq(trust_safety_number(theirs, mine, back, sizeof(back)), 0);
	ck_assert_str_eq(got, back);
}

/* Different when either key changes: every bit of either key flipped. */
START_TEST(safety_changes)
{
	char want[TRUST_SAFETY_SIZE];

	keys();
	trust_safety_number(alice_pub, bob_pub, want, sizeof(want));
	for (int bit = 0; bit < 8 * X25519_LEN; bit++) {
		uint8_t a[X25519_LEN], b[X25519_LEN];

		memcpy(a, alice_pub, X25519_LEN);
		memcpy(b, bob_pub, X25519_LEN);
		a[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_changed(a, bob_pub, want, BOB_HALF);
		assert_changed(alice_pub, b, want, ALICE_HALF);
	}
}
END_TEST

/* The shape: 12 groups of 5 digits; random pairs agree from both sides. */
START_TEST(safety_shape)
{
	char got[TRUST_SAFETY_SIZE], back[TRUST_SAFETY_SIZE];

	for (unsigned n = 0; n < 500; n++) {
		uint8_t a[X25519_LEN], b[X25519_LEN];

		key_n(2 * n, a);
		key_n(2 * n + 1, b);
		trust_safety_number(a, b, got, sizeof(got));
		trust_safety_number(b, a, back, sizeof(back));
		ck_assert_str_eq(got, back);
		for (int i = 0; i < TRUST_SAFETY_SIZE - 1; i++) {
			if (i % 6 == 5)
				ck_assert_int_eq(got[i], ' ');
			else
				ck_assert(got[i] >= '0' && got[i] <= '9');
		}
		ck_assert_int_eq(got[TRUST_SAFETY_SIZE - 1], '\0');
		/* Each half in order: the smaller first. */
		ck_assert_int_le(memcmp(got, got + 36, 35), 0);
	}
	/* The same key on both sides is a number too (its half twice). */
	keys();
	trust_safety_number(alice_pub, alice_pub, got, sizeof(got));
	ck_assert_str_eq(got, ALICE_HALF " " ALICE_HALF);
}
END_TEST

START_TEST(safety_small_buffer)
{
	char out[TRUST_SAFETY_SIZE];

	keys();
	memset(out, 'x', sizeof(out));
	ck_assert_int_eq(trust_safety_number(alice_pub, bob_pub, out, TRUST_SAFETY_SIZE - 1), -1);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_int_eq(out[i], 'x');
	ck_assert_int_eq(trust_safety_number(alice_pub, bob_pub, out, 0), -1);
}
END_TEST

/* ---- the lines the client prints ---- */

START_TEST(messages)
{
	char out[TRUST_MSG_MAX];

	keys();
	ck_assert_int_eq(trust_msg_changed(out, sizeof(out), "bob", alice_pub, bob_pub), 0);
	ck_assert_str_eq(out, "* WARNING: bob's key has changed (was " ALICE_FINGERPRINT ", now "
			 BOB_FINGERPRINT "): nothing was sent; /trust bob to accept it");
	ck_assert_int_eq(trust_msg_pinned(out, sizeof(out), "bob", bob_pub), 0);
	ck_assert_str_eq(out, "* bob's key is pinned at first use: " BOB_FINGERPRINT
			 "; /verify bob to compare safety numbers");
	ck_assert_int_eq(trust_msg_accepted(out, sizeof(out), "bob", bob_pub), 0);
	ck_assert_str_eq(out, "* bob's new key is pinned: " BOB_FINGERPRINT
			 "; /verify bob to compare safety numbers");
	ck_assert_int_eq(trust_msg_safety(out, sizeof(out), "bob", alice_pub, bob_pub), 0);
	ck_assert_str_eq(out, "* your safety number with bob: " ALICE_BOB_SAFETY ": compare it with "
			 "bob's, by voice or in person; /verify bob yes if it matches");
	/* Bob's line shows the same number. */
	ck_assert_int_eq(trust_msg_safety(out, sizeof(out), "alice", bob_pub, alice_pub), 0);
	ck_assert_str_eq(out, "* your safety number with alice: " ALICE_BOB_SAFETY ": compare it with "
			 "alice's, by voice or in person; /verify alice yes if it matches");
	ck_assert_int_eq(trust_msg_verified(out, sizeof(out), "bob", bob_pub), 0);
	ck_assert_str_eq(out, "* bob is verified: " BOB_FINGERPRINT);
}
END_TEST

/* TRUST_MSG_MAX holds each line with the longest name; a short buffer says the line was cut. */
START_TEST(messages_fit)
{
	const char *name = "abcdefghijklmnopqrstuvwxyz012345";
	char out[TRUST_MSG_MAX];

	keys();
	ck_assert_int_eq(trust_msg_changed(out, sizeof(out), name, alice_pub, bob_pub), 0);
	ck_assert_int_eq(trust_msg_pinned(out, sizeof(out), name, bob_pub), 0);
	ck_assert_int_eq(trust_msg_accepted(out, sizeof(out), name, bob_pub), 0);
	ck_assert_int_eq(trust_msg_safety(out, sizeof(out), name, alice_pub, bob_pub), 0);
	ck_assert_int_eq(trust_msg_verified(out, sizeof(out), name, bob_pub), 0);
	ck_assert_int_eq(trust_msg_changed(out, 40, name, alice_pub, bob_pub), -1);
	ck_assert_int_eq(trust_msg_pinned(out, 40, name, bob_pub), -1);
	ck_assert_int_eq(trust_msg_safety(out, 40, name, alice_pub, bob_pub), -1);
	ck_assert_int_eq(trust_msg_verified(out, 40, name, bob_pub), -1);
	ck_assert_int_eq(strlen(out), 39);
}
END_TEST

/* ---- the file, in a temporary directory per test ---- */

static char tmp[64];   /* mkdtemp's directory, mode 0700 */
static char dir[128];  /* the state directory: tmp/p2pchat */
static char file[192]; /* dir/known_peers */
static char err[2 * PATH_MAX];
static struct trust_store *s1, *s2; /* big: on the heap */

static void setup(void)
{
	tmpdir_make(tmp, sizeof(tmp), "test_trust");
	snprintf(dir, sizeof(dir), "%s/p2pchat", tmp);
	snprintf(file, sizeof(file), "%s/known_peers", dir);
	s1 = calloc(1, sizeof(*s1));
	s2 = calloc(1, sizeof(*s2));
	ck_assert(s1 != NULL && s2 != NULL);
	s1->dfd = s2->dfd = -1;
	err[0] = '\0';
	keys();
}

static void teardown(void)
{
	trust_close(s1);
	trust_close(s2);
	free(s1);
	free(s2);
	chmod(dir, 0700);
	tmpdir_remove(tmp);
}

/* Writes text to path (made or truncated) with mode. */
static void put_file(const char *path, const char *text, mode_t mode)
{
	tmpdir_put_file(path, text, strlen(text), mode);
}

/* The state directory made and the file written with text. */
static void plant(const char *text, mode_t mode)
{
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	put_file(file, text, mode);
}

/* The file's whole text must be want. */
static void assert_file(const char *want)
{
	struct tmpdir_snapshot now;

	tmpdir_snap(file, &now);
	ck_assert_int_eq(now.len, (ssize_t)strlen(want));
	ck_assert_mem_eq(now.text, want, strlen(want));
}

static void assert_err(const char *want)
{
	ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" has no \"%s\"", err, want);
}

/* 1 when path does not exist (not even as a dangling link). */
static int absent(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) < 0 && errno == ENOENT;
}

#define HEADER TRUST_HEADER "\n"

START_TEST(open_missing)
{
	struct stat st;

	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(dir, &st), 0); /* made, 0700, as the key files' */
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert(absent("known_peers")); /* nothing written until there is something to keep */
	ck_assert_uint_eq(trust_count(s1), 0);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_NEW);
	ck_assert_ptr_null(trust_find(s1, "bob"));
	ck_assert_ptr_null(trust_at(s1, 0));
}
END_TEST

/* The whole state machine, through the file: each answer, and what a reopened store sees. */
START_TEST(state_machine)
{
	uint8_t third[X25519_LEN];

	key_n(3, third);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_NEW);
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_PINNED);
	assert_file(HEADER "bob pinned " BOB_PUBLIC "\n");
	/* Pinning the same key again changes nothing. */
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), TRUST_PINNED);

	/* Another key for bob: changed, and neither a pin nor a verify takes it. */
	ck_assert_int_eq(trust_check(s1, "bob", alice_pub), TRUST_CHANGED);
	ck_assert_int_eq(trust_pin(s1, "bob", alice_pub, err, sizeof(err)), TRUST_CHANGED);
	ck_assert_int_eq(trust_verify(s1, "bob", alice_pub, err, sizeof(err)), TRUST_CHANGED);
	assert_file(HEADER "bob pinned " BOB_PUBLIC "\n");
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_PINNED);

	/* /verify bob yes: verified. */
	ck_assert_int_eq(trust_verify(s1, "bob", bob_pub, err, sizeof(err)), TRUST_VERIFIED);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_VERIFIED);
	ck_assert_int_eq(trust_check(s1, "bob", alice_pub), TRUST_CHANGED);
	assert_file(HEADER "bob verified " BOB_PUBLIC "\n");
	/* A verified key stays so when it is pinned or accepted again. */
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), TRUST_VERIFIED);
	ck_assert_int_eq(trust_accept(s1, "bob", bob_pub, err, sizeof(err)), TRUST_VERIFIED);

	/* /trust bob with a new key: pinned, not verified; the old key is now the changed one. */
	ck_assert_int_eq(trust_accept(s1, "bob", alice_pub, err, sizeof(err)), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s1, "bob", alice_pub), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_CHANGED);
	ck_assert_mem_eq(trust_find(s1, "bob")->pub, alice_pub, X25519_LEN);
	assert_file(HEADER "bob pinned " ALICE_PUBLIC "\n");

	/* /trust of a name never seen pins it; /verify of one verifies it at once. */
	ck_assert_int_eq(trust_accept(s1, "carol", third, err, sizeof(err)), TRUST_PINNED);
	ck_assert_int_eq(trust_verify(s1, "dave", bob_pub, err, sizeof(err)), TRUST_VERIFIED);

	/* Another store, opened anew, reads the same. */
	ck_assert_int_eq(trust_open(s2, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(trust_count(s2), 3);
	ck_assert_int_eq(trust_check(s2, "bob", alice_pub), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s2, "bob", bob_pub), TRUST_CHANGED);
	ck_assert_int_eq(trust_check(s2, "carol", third), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s2, "dave", bob_pub), TRUST_VERIFIED);
	ck_assert_int_eq(trust_check(s2, "erin", bob_pub), TRUST_NEW);
}
END_TEST

START_TEST(refuses_bad_name)
{
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_pin(s1, "b b", bob_pub, err, sizeof(err)), -1);
	assert_err("'b b' is not a valid name");
	ck_assert_int_eq(trust_pin(s1, "", bob_pub, err, sizeof(err)), -1);
	ck_assert_int_eq(trust_check(s1, "b b", bob_pub), TRUST_NEW);
	ck_assert(absent("known_peers"));
}
END_TEST

/* Many names in a scrambled order: the file sorted, its modes, and each read back. */
START_TEST(round_trip)
{
	char name[16], lock[256], want[64 * TRUST_LINE_MAX], *w = want;
	uint8_t pub[X25519_LEN];
	struct stat st;

	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	for (unsigned i = 0; i < 60; i++) {
		unsigned n = i * 37 % 60;

		snprintf(name, sizeof(name), "peer%02u", n);
		key_n(n, pub);
		ck_assert_int_eq(trust_pin(s1, name, pub, err, sizeof(err)), TRUST_PINNED);
		if (n % 3 == 0)
			ck_assert_int_eq(trust_verify(s1, name, pub, err, sizeof(err)), TRUST_VERIFIED);
	}
	w += sprintf(w, "%s", HEADER);
	for (unsigned n = 0; n < 60; n++) {
		key_n(n, pub);
		w += sprintf(w, "peer%02u %s ", n, n % 3 == 0 ? "verified" : "pinned");
		for (size_t i = 0; i < X25519_LEN; i++)
			w += sprintf(w, "%02x", pub[i]);
		w += sprintf(w, "\n");
	}
	assert_file(want);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	snprintf(lock, sizeof(lock), "%s/known_peers.lock", dir);
	ck_assert_int_eq(stat(lock, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert(absent("known_peers.new"));

	ck_assert_int_eq(trust_open(s2, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(trust_count(s2), 60);
	for (unsigned n = 0; n < 60; n++) {
		snprintf(name, sizeof(name), "peer%02u", n);
		key_n(n, pub);
		ck_assert_str_eq(trust_at(s2, n)->name, name);
		ck_assert_int_eq(trust_check(s2, name, pub),
				 n % 3 == 0 ? TRUST_VERIFIED : TRUST_PINNED);
		key_n(n + 1, pub);
		ck_assert_int_eq(trust_check(s2, name, pub), TRUST_CHANGED);
	}
}
END_TEST

/* A file written by hand: comments skipped, any order read; a rewrite keeps the header only. */
START_TEST(reads_hand_written)
{
	plant(HEADER "# my peers\n"
	      "carol pinned " ALICE_PUBLIC "\n"
	      "#\n"
	      "bob verified " BOB_PUBLIC "\n", 0644);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(trust_count(s1), 2);
	ck_assert_str_eq(trust_at(s1, 0)->name, "bob");
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_VERIFIED);
	ck_assert_int_eq(trust_check(s1, "carol", alice_pub), TRUST_PINNED);
	ck_assert_int_eq(trust_pin(s1, "alice", alice_pub, err, sizeof(err)), TRUST_PINNED);
	assert_file(HEADER "alice pinned " ALICE_PUBLIC "\n"
		    "bob verified " BOB_PUBLIC "\n"
		    "carol pinned " ALICE_PUBLIC "\n");
}
END_TEST

/* Every name at the most: each found by the binary search; one more is refused. */
START_TEST(full)
{
	static char text[(TRUST_MAX + 2) * 128];
	char *w = text, name[16];
	uint8_t pub[X25519_LEN];
	struct tmpdir_snapshot before;

	w += sprintf(w, "%s", HEADER);
	for (unsigned n = 0; n < TRUST_MAX; n++)
		w += sprintf(w, "n%u pinned " BOB_PUBLIC "\n", n);
	plant(text, 0600);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_uint_eq(trust_count(s1), TRUST_MAX);
	for (unsigned n = 0; n < TRUST_MAX; n++) {
		snprintf(name, sizeof(name), "n%u", n);
		ck_assert_int_eq(trust_check(s1, name, bob_pub), TRUST_PINNED);
	}
	ck_assert_int_eq(trust_check(s1, "n", bob_pub), TRUST_NEW);
	ck_assert_int_eq(trust_check(s1, "n1024", bob_pub), TRUST_NEW);
	tmpdir_snap(file, &before);
	key_n(1, pub);
	ck_assert_int_eq(trust_pin(s1, "zz", pub, err, sizeof(err)), -1);
	assert_err("known_peers holds 1024 peers, as many as p2pchat keeps: remove some lines from "
		   "it to pin zz");
	tmpdir_assert_unchanged(file, &before);
	/* A change to one already there still goes. */
	ck_assert_int_eq(trust_accept(s1, "n7", pub, err, sizeof(err)), TRUST_PINNED);

	/* One line more in the file: refused on reading, with its line number. */
	sprintf(w, "zz pinned " BOB_PUBLIC "\n");
	put_file(file, text, 0600);
	ck_assert_int_eq(trust_open(s2, dir, err, sizeof(err)), -1);
	assert_err("known_peers line 1026: there are more peers than p2pchat holds;");
}
END_TEST

/* Each kind of malformed file: refused with the line and why; nothing rewritten. */
START_TEST(malformed)
{
	static char long_line[TRUST_LINE_MAX + 64];
	static const struct {
		const char *text;
		const char *want;
	} rows[] = {
		{ "", "line 1: it does not start with \"" TRUST_HEADER "\"" },
		{ "bob pinned " BOB_PUBLIC "\n", "line 1: it does not start with" },
		{ "# p2pchat known peers v2: NAME STATE KEY\n", "line 1: it does not start with" },
		{ TRUST_HEADER, "line 1: the last line has no newline" },
		{ HEADER "bob pinned " BOB_PUBLIC, "line 2: the last line has no newline" },
		{ HEADER "\n", "line 2: the line is empty" },
		{ HEADER "bob pinned " BOB_PUBLIC "\n\n", "line 3: the line is empty" },
		{ HEADER "# ok\nb?b pinned " BOB_PUBLIC "\n", "line 3: the name is not a valid p2pchat name" },
		{ HEADER "bob trusted " BOB_PUBLIC "\n", "line 2: the state is not \"pinned\" or \"verified\"" },
		{ HEADER "bob pinned " BOB_PUBLIC "\r\n", "line 2: the key is not 64 lowercase hexadecimal digits" },
		{ HEADER "bob pinned\n", "line 2: the line is not NAME STATE KEY with one space between them" },
		{ HEADER "bob pinned " BOB_PUBLIC "\nbob verified " ALICE_PUBLIC "\n",
		  "line 3: the name is listed a second time" },
	};
	struct tmpdir_snapshot before;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (i == 0)
			ck_assert_int_eq(mkdir(dir, 0700), 0);
		put_file(file, rows[i].text, 0600);
		ck_assert_msg(trust_open(s1, dir, err, sizeof(err)) == -1, "row %zu opened", i);
		ck_assert_msg(strstr(err, rows[i].want) != NULL, "row %zu: \"%s\" has no \"%s\"", i,
			      err, rows[i].want);
		assert_err("/p2pchat/known_peers line ");
		assert_err("fix that line, or move the file away (every peer is then new)");
		ck_assert_int_eq(s1->dfd, -1); /* closed */
	}

	/* A line longer than TRUST_LINE_MAX: in the middle, and as the last line with no newline. */
	memset(long_line, '#', sizeof(long_line) - 1);
	{
		char text[sizeof(long_line) + 256];

		snprintf(text, sizeof(text), HEADER "bob pinned " BOB_PUBLIC "\n%s\n", long_line);
		put_file(file, text, 0600);
		ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), -1);
		assert_err("known_peers line 3: the line is too long");
		snprintf(text, sizeof(text), HEADER "%s", long_line);
		put_file(file, text, 0600);
		ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), -1);
		assert_err("known_peers line 2: the line is too long");
		/* A comment of TRUST_LINE_MAX bytes with its newline is fine. */
		long_line[TRUST_LINE_MAX - 1] = '\0';
		snprintf(text, sizeof(text), HEADER "%s\n", long_line);
		put_file(file, text, 0600);
		ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
		trust_close(s1);
	}

	/* A store open before the file went bad: an update refuses to rewrite it, the store as it was. */
	put_file(file, HEADER "bob pinned " BOB_PUBLIC "\n", 0600);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	put_file(file, HEADER "bob pinned " BOB_PUBLIC "\ncarol pinned x\n", 0600);
	tmpdir_snap(file, &before);
	ck_assert_int_eq(trust_pin(s1, "dave", alice_pub, err, sizeof(err)), -1);
	assert_err("known_peers line 3: the key is not 64 lowercase hexadecimal digits");
	tmpdir_assert_unchanged(file, &before);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s1, "dave", alice_pub), TRUST_NEW);
	ck_assert_int_eq(trust_reload(s1, err, sizeof(err)), -1);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_PINNED);
}
END_TEST

/* A file the rules refuse, planted with text and mode: refused with want, nothing changed. */
static void assert_refused(const char *want)
{
	struct tmpdir_snapshot before;

	tmpdir_snap(file, &before);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), -1);
	assert_err(want);
	tmpdir_assert_unchanged(file, &before);
}

START_TEST(refuses_symlink)
{
	char target[128];

	snprintf(target, sizeof(target), "%s/elsewhere", tmp);
	put_file(target, HEADER "bob pinned " BOB_PUBLIC "\n", 0600);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(symlink(target, file), 0);
	assert_refused("known_peers is a symbolic link: it must be a regular file; remove the link");
	/* Dangling, too: an update must not create the target through it. */
	ck_assert_int_eq(unlink(target), 0);
	assert_refused("known_peers is a symbolic link");
	ck_assert_int_eq(access(target, F_OK), -1);
}
END_TEST

/* The lock file as a link: an update refused, nothing made where it points. */
START_TEST(refuses_lock_symlink)
{
	char target[128], lock[256];

	snprintf(target, sizeof(target), "%s/elsewhere", tmp);
	snprintf(lock, sizeof(lock), "%s/known_peers.lock", dir);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(symlink(target, lock), 0);
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), -1);
	assert_err("known_peers.lock is a symbolic link");
	ck_assert_int_eq(access(target, F_OK), -1);
	ck_assert(absent("known_peers"));
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_NEW);
}
END_TEST

/* Group or others may read the file (it holds no secret), never write it. */
START_TEST(file_modes)
{
	static const mode_t ok[] = { 0600, 0400, 0640, 0644, 0604 };
	static const mode_t bad[] = { 0620, 0602, 0664, 0666, 0660 };
	char want[64];

	plant(HEADER "bob pinned " BOB_PUBLIC "\n", 0600);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		ck_assert_int_eq(chmod(file, ok[i]), 0);
		ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
		ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_PINNED);
		trust_close(s1);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(chmod(file, bad[i]), 0);
		snprintf(want, sizeof(want), "writable by group or others (mode %04o): chmod go-w ",
			 (unsigned)bad[i]);
		assert_refused(want);
	}
}
END_TEST

/* The lock file must be the user's alone: whoever can open it can hold the lock. */
START_TEST(refuses_lock_mode)
{
	char lock[256];

	snprintf(lock, sizeof(lock), "%s/known_peers.lock", dir);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	put_file(lock, "", 0644);
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), -1);
	assert_err("known_peers.lock is readable by group or others (mode 0644): chmod 600 ");
	ck_assert(absent("known_peers"));
}
END_TEST

START_TEST(refuses_not_regular)
{
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkfifo(file, 0600), 0); /* and it must not hang on the FIFO */
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), -1);
	assert_err("known_peers is not a regular file: remove it");
}
END_TEST

/* The directory: refused at open, and at an update when it became writable since. */
START_TEST(refuses_open_dir)
{
	struct tmpdir_snapshot before;

	plant(HEADER, 0600);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), -1);
	assert_err("/p2pchat is writable by group or others (mode 0777): chmod go-w ");
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(chmod(dir, 0770), 0);
	tmpdir_snap(file, &before);
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), -1);
	assert_err("chmod go-w");
	tmpdir_assert_unchanged(file, &before);
	ck_assert_int_eq(trust_reload(s1, err, sizeof(err)), -1);
}
END_TEST

START_TEST(refuses_other_owner)
{
	if (!tmpdir_root_or_skip("refuses_other_owner"))
		return;
	plant(HEADER "bob pinned " BOB_PUBLIC "\n", 0600);
	ck_assert_int_eq(chown(file, 65534, 65534), 0);
	assert_refused("known_peers is owned by uid 65534, not by you (uid 0)");
}
END_TEST

START_TEST(refuses_lock_other_owner)
{
	char lock[256];

	if (!tmpdir_root_or_skip("refuses_lock_other_owner"))
		return;
	snprintf(lock, sizeof(lock), "%s/known_peers.lock", dir);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	put_file(lock, "", 0600);
	ck_assert_int_eq(chown(lock, 65534, 65534), 0);
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), -1);
	assert_err("known_peers.lock is owned by uid 65534, not by you (uid 0)");
}
END_TEST

/*
 * A write that really fails, as root too: the file size limit
 * (RLIMIT_FSIZE, setrlimit(2)) set to the old file's size, so the kernel
 * refuses the new file's bytes past it (EFBIG; SIGXFSZ ignored). The old
 * file must stay whole, the temporary file go, the store stay as it was.
 */
START_TEST(write_fails_old_file_kept)
{
	struct tmpdir_snapshot before;
	struct rlimit was, small;
	uint8_t pub[X25519_LEN];

	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), TRUST_PINNED);
	tmpdir_snap(file, &before);
	ck_assert(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
	small = was;
	small.rlim_cur = (rlim_t)before.st.st_size;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
	key_n(5, pub);
	ck_assert_int_eq(trust_pin(s1, "carol", pub, err, sizeof(err)), -1);
	ck_assert_int_eq(trust_verify(s1, "bob", bob_pub, err, sizeof(err)), -1);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
	assert_err("cannot write ");
	assert_err("/known_peers.new: File too large");
	tmpdir_assert_unchanged(file, &before);
	ck_assert(absent("known_peers.new"));
	ck_assert_int_eq(trust_check(s1, "carol", pub), TRUST_NEW);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_PINNED);
	/* With the limit gone, the same update goes. */
	ck_assert_int_eq(trust_pin(s1, "carol", pub, err, sizeof(err)), TRUST_PINNED);
	ck_assert_int_eq(trust_open(s2, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_check(s2, "carol", pub), TRUST_PINNED);
}
END_TEST

/* The temporary name taken by something the writer cannot remove (a directory): the update fails whole. */
START_TEST(temp_name_taken)
{
	struct tmpdir_snapshot before;
	char temp[256];

	snprintf(temp, sizeof(temp), "%s/known_peers.new", dir);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), TRUST_PINNED);
	ck_assert_int_eq(mkdir(temp, 0700), 0);
	tmpdir_snap(file, &before);
	ck_assert_int_eq(trust_pin(s1, "carol", alice_pub, err, sizeof(err)), -1);
	assert_err("cannot create ");
	assert_err("/known_peers.new: File exists");
	tmpdir_assert_unchanged(file, &before);
	ck_assert_int_eq(trust_check(s1, "carol", alice_pub), TRUST_NEW);
	ck_assert_int_eq(rmdir(temp), 0);
}
END_TEST

/* A crash's leftover temporary file, or a link planted there: removed, never written through. */
START_TEST(stale_temp_replaced)
{
	char temp[256], victim[128];
	struct tmpdir_snapshot before;

	snprintf(temp, sizeof(temp), "%s/known_peers.new", dir);
	snprintf(victim, sizeof(victim), "%s/victim", tmp);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	put_file(temp, "half a fi", 0600);
	ck_assert_int_eq(trust_pin(s1, "bob", bob_pub, err, sizeof(err)), TRUST_PINNED);
	assert_file(HEADER "bob pinned " BOB_PUBLIC "\n");
	ck_assert(absent("known_peers.new"));

	put_file(victim, "precious\n", 0600);
	tmpdir_snap(victim, &before);
	ck_assert_int_eq(symlink(victim, temp), 0);
	ck_assert_int_eq(trust_verify(s1, "bob", bob_pub, err, sizeof(err)), TRUST_VERIFIED);
	assert_file(HEADER "bob verified " BOB_PUBLIC "\n");
	tmpdir_assert_unchanged(victim, &before);
	ck_assert(absent("known_peers.new"));
}
END_TEST

/* Two stores of one user, each with what it read at its start: neither loses the other's entries. */
START_TEST(two_stores_merge)
{
	uint8_t third[X25519_LEN];

	key_n(3, third);
	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_open(s2, dir, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_pin(s1, "alice", alice_pub, err, sizeof(err)), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s2, "alice", alice_pub), TRUST_NEW); /* s2 has not read it yet */
	ck_assert_int_eq(trust_pin(s2, "bob", bob_pub, err, sizeof(err)), TRUST_PINNED);
	assert_file(HEADER "alice pinned " ALICE_PUBLIC "\nbob pinned " BOB_PUBLIC "\n");
	/* The update read the file again: s2 knows alice now; s1 learns bob on reload. */
	ck_assert_int_eq(trust_check(s2, "alice", alice_pub), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_NEW);
	ck_assert_int_eq(trust_reload(s1, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_check(s1, "bob", bob_pub), TRUST_PINNED);

	/* Both meet carol first, with different keys: the first pin wins, the second is told. */
	ck_assert_int_eq(trust_check(s1, "carol", third), TRUST_NEW);
	ck_assert_int_eq(trust_check(s2, "carol", alice_pub), TRUST_NEW);
	ck_assert_int_eq(trust_pin(s1, "carol", third, err, sizeof(err)), TRUST_PINNED);
	ck_assert_int_eq(trust_pin(s2, "carol", alice_pub, err, sizeof(err)), TRUST_CHANGED);
	ck_assert_mem_eq(trust_find(s2, "carol")->pub, third, X25519_LEN);
	/* A verify in one and an accept in the other: both kept. */
	ck_assert_int_eq(trust_verify(s1, "alice", alice_pub, err, sizeof(err)), TRUST_VERIFIED);
	ck_assert_int_eq(trust_accept(s2, "bob", third, err, sizeof(err)), TRUST_PINNED);
	ck_assert_int_eq(trust_check(s2, "alice", alice_pub), TRUST_VERIFIED);
	ck_assert_int_eq(trust_reload(s1, err, sizeof(err)), 0);
	ck_assert_int_eq(trust_check(s1, "bob", third), TRUST_PINNED);
}
END_TEST

/*
 * Two processes pinning at once, each its own names, as fast as they can:
 * every name of both must be in the file at the end. Without the lock (or
 * the read again under it), one's rename would drop what the other wrote.
 */
#define RACE_NAMES 60
START_TEST(two_processes_race)
{
	pid_t kids[2];
	char name[16];
	uint8_t pub[X25519_LEN];

	ck_assert_int_eq(trust_open(s1, dir, err, sizeof(err)), 0);
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		ck_assert_int_ge(kids[k], 0);
		if (kids[k] == 0) {
			int bad = trust_open(s2, dir, err, sizeof(err)) < 0;

			for (unsigned i = 0; i < RACE_NAMES && !bad; i++) {
				snprintf(name, sizeof(name), "p%d-%u", k, i);
				key_n(i, pub);
				bad = trust_pin(s2, name, pub, err, sizeof(err)) != TRUST_PINNED;
			}
			if (bad)
				fprintf(stderr, "child %d: %s\n", k, err);
			_exit(bad);
		}
	}
	for (int k = 0; k < 2; k++) {
		int status;

		ck_assert_int_eq(waitpid(kids[k], &status, 0), kids[k]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	ck_assert_int_eq(trust_reload(s1, err, sizeof(err)), 0);
	ck_assert_uint_eq(trust_count(s1), 2 * RACE_NAMES);
	for (int k = 0; k < 2; k++) {
		for (unsigned i = 0; i < RACE_NAMES; i++) {
			snprintf(name, sizeof(name), "p%d-%u", k, i);
			key_n(i, pub);
			ck_assert_int_eq(trust_check(s1, name, pub), TRUST_PINNED);
		}
	}
}
END_TEST

static Suite *trust_suite(void)
{
	Suite *s = suite_create("trust");
	TCase *pure = tcase_create("pure");
	TCase *files = tcase_create("files");

	tcase_add_test(pure, parse_line_ok);
	tcase_add_test(pure, parse_line_refusals);
	tcase_add_test(pure, parse_strerror_distinct);
	tcase_add_test(pure, state_names);
	tcase_add_test(pure, file_perm_rules);
	tcase_add_test(pure, safety_vector);
	tcase_add_test(pure, safety_changes);
	tcase_add_test(pure, safety_shape);
	tcase_add_test(pure, safety_small_buffer);
	tcase_add_test(pure, messages);
	tcase_add_test(pure, messages_fit);
	suite_add_tcase(s, pure);

	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_test(files, open_missing);
	tcase_add_test(files, state_machine);
	tcase_add_test(files, refuses_bad_name);
	tcase_add_test(files, round_trip);
	tcase_add_test(files, reads_hand_written);
	tcase_add_test(files, full);
	tcase_add_test(files, malformed);
	tcase_add_test(files, refuses_symlink);
	tcase_add_test(files, refuses_lock_symlink);
	tcase_add_test(files, file_modes);
	tcase_add_test(files, refuses_lock_mode);
	tcase_add_test(files, refuses_not_regular);
	tcase_add_test(files, refuses_open_dir);
	tcase_add_test(files, refuses_other_owner);
	tcase_add_test(files, refuses_lock_other_owner);
	tcase_add_test(files, write_fails_old_file_kept);
	tcase_add_test(files, temp_name_taken);
	tcase_add_test(files, stale_temp_replaced);
	tcase_add_test(files, two_stores_merge);
	tcase_add_test(files, two_processes_race);
	suite_add_tcase(s, files);
	return s;
}

int main(void)
{
	return harness_run(trust_suite());
}
