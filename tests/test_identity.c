/* test_identity.c - unit tests for identity.c: the key file's format and rules, fingerprints, tokens; in temporary directories, no network. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ct.h"
#include "identity.h"
#include "harness.h"
#include "tmpdir.h"
#include "vectors.h"

/* RFC 7748 section 6.1: Alice's and Bob's private keys and Alice's public key. */
#define ALICE_SECRET "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
#define ALICE_PUBLIC "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
#define BOB_SECRET "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"

/*
 * Their fingerprints and tokens, computed apart from this code (Python's
 * hashlib, hmac, base64 and the cryptography package's X25519):
 * base32(sha256(pub)[:20]).lower() in groups of 4, and
 * hmac(secret, b"p2pchat owner token v1", sha256)[:8].
 */
#define ALICE_FINGERPRINT "gagj zfqd xeve wopn hfml 7esa cfea jw2p"
#define BOB_FINGERPRINT "6npf mfqw biyl 6pdo ph5h hrlw 2qba l2h4"
#define ALICE_TOKEN "275ec3d1d5d39924"
#define BOB_TOKEN "2e520d6b26a5005d"

#define ALICE_FILE "p2pchat identity key v1\nsecret " ALICE_SECRET "\n"

static void from_hex(const char *hex, uint8_t *out, size_t len)
{
	ck_assert_int_eq(vectors_hex(hex, out, len), (long)len);
}

static void alice(struct identity *id)
{
	uint8_t secret[X25519_LEN];

	from_hex(ALICE_SECRET, secret, sizeof(secret));
	identity_from_secret(id, secret);
}

/* ---- the pure part ---- */

START_TEST(public_key_from_secret)
{
	struct identity id;
	uint8_t want[X25519_LEN];

	alice(&id);
	from_hex(ALICE_PUBLIC, want, sizeof(want));
	ck_assert_mem_eq(id.pub, want, X25519_LEN);
	identity_wipe(&id);
	ck_assert(ct_is_zero(&id, sizeof(id)));
}
END_TEST

START_TEST(fingerprint_known)
{
	struct identity a, b;
	uint8_t secret[X25519_LEN];
	char fp[IDENTITY_FINGERPRINT_SIZE];

	alice(&a);
	identity_fingerprint(a.pub, fp);
	ck_assert_str_eq(fp, ALICE_FINGERPRINT);
	ck_assert_uint_eq(strlen(fp), IDENTITY_FINGERPRINT_SIZE - 1);
	from_hex(BOB_SECRET, secret, sizeof(secret));
	identity_from_secret(&b, secret);
	identity_fingerprint(b.pub, fp);
	ck_assert_str_eq(fp, BOB_FINGERPRINT);
}
END_TEST

START_TEST(token_known_and_distinct)
{
	struct identity a, b;
	uint8_t secret[X25519_LEN], want[PROTO_TOKEN_LEN], t1[PROTO_TOKEN_LEN], t2[PROTO_TOKEN_LEN];

	alice(&a);
	from_hex(BOB_SECRET, secret, sizeof(secret));
	identity_from_secret(&b, secret);
	identity_token(&a, t1);
	identity_token(&a, t2);
	from_hex(ALICE_TOKEN, want, sizeof(want));
	ck_assert_mem_eq(t1, want, PROTO_TOKEN_LEN);
	ck_assert_mem_eq(t2, want, PROTO_TOKEN_LEN); /* stable */
	identity_token(&b, t2);
	from_hex(BOB_TOKEN, want, sizeof(want));
	ck_assert_mem_eq(t2, want, PROTO_TOKEN_LEN);
	ck_assert(memcmp(t1, t2, PROTO_TOKEN_LEN) != 0);
	/* One bit of the secret changes the token. */
	for (int bit = 0; bit < 8 * X25519_LEN; bit += 37) {
		struct identity c = a;

		c.secret[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		identity_token(&c, t2);
		ck_assert(memcmp(t1, t2, PROTO_TOKEN_LEN) != 0);
	}
}
END_TEST

START_TEST(format_known)
{
	struct identity a;
	char text[IDENTITY_FILE_LEN];

	alice(&a);
	identity_format(a.secret, text);
	ck_assert_uint_eq(sizeof(ALICE_FILE) - 1, IDENTITY_FILE_LEN);
	ck_assert_mem_eq(text, ALICE_FILE, IDENTITY_FILE_LEN);
}
END_TEST

/* format then parse gives the secret back, for secrets with every nibble value in every place. */
START_TEST(format_parse_round_trip)
{
	struct rng32 r = { 0x1de47171 };
	uint8_t secret[X25519_LEN], back[X25519_LEN];
	char text[IDENTITY_FILE_LEN];

	for (int n = 0; n < 2000; n++) {
		for (size_t i = 0; i < X25519_LEN; i++)
			secret[i] = n < 256 ? (uint8_t)(n + i) : (uint8_t)rng32_next(&r);
		identity_format(secret, text);
		ck_assert_int_eq(identity_parse(text, sizeof(text), back), IDENTITY_PARSE_OK);
		ck_assert_mem_eq(back, secret, X25519_LEN);
	}
}
END_TEST

/* Every byte value in a hex place: only 0-9 and a-f are taken, each with its value. */
START_TEST(parse_every_byte)
{
	static const char digits[] = "0123456789abcdef";
	char text[IDENTITY_FILE_LEN];
	uint8_t secret[X25519_LEN];
	size_t place = IDENTITY_VERSION_LINE_LEN + IDENTITY_SECRET_PREFIX_LEN + 2 * (size_t)_i;

	for (int c = 0; c < 256; c++) {
		const char *d = c != 0 ? strchr(digits, c) : NULL;
		int r;

		memcpy(text, ALICE_FILE, sizeof(text));
		text[place] = (char)c;
		memset(secret, 0xaa, sizeof(secret));
		r = identity_parse(text, sizeof(text), secret);
		if (d == NULL) {
			ck_assert_msg(r == IDENTITY_PARSE_SECRET, "byte 0x%02x taken as a digit", c);
			ck_assert(ct_is_zero(secret, sizeof(secret)));
		} else {
			ck_assert_msg(r == IDENTITY_PARSE_OK, "digit %c refused", c);
			ck_assert_uint_eq(secret[_i] >> 4, (unsigned)(d - digits));
		}
	}
}
END_TEST

/* Every length short of a whole file is refused, and so is every length over it. */
START_TEST(parse_every_length)
{
	char text[2 * IDENTITY_FILE_LEN];
	uint8_t secret[X25519_LEN];

	memcpy(text, ALICE_FILE, IDENTITY_FILE_LEN);
	memcpy(text + IDENTITY_FILE_LEN, ALICE_FILE, IDENTITY_FILE_LEN);
	ck_assert_int_eq(identity_parse(text, 0, secret), IDENTITY_PARSE_EMPTY);
	for (size_t len = 1; len < IDENTITY_VERSION_LINE_LEN; len++)
		ck_assert_int_eq(identity_parse(text, len, secret),
				 len < strlen("p2pchat identity key v") ? IDENTITY_PARSE_FORMAT
									: IDENTITY_PARSE_VERSION);
	for (size_t len = IDENTITY_VERSION_LINE_LEN; len < IDENTITY_FILE_LEN; len++)
		ck_assert_int_eq(identity_parse(text, len, secret), IDENTITY_PARSE_SHORT);
	ck_assert_int_eq(identity_parse(text, IDENTITY_FILE_LEN, secret), IDENTITY_PARSE_OK);
	for (size_t len = IDENTITY_FILE_LEN + 1; len <= sizeof(text); len++) {
		memset(secret, 0xaa, sizeof(secret));
		ck_assert_int_eq(identity_parse(text, len, secret), IDENTITY_PARSE_TRAILING);
		ck_assert(ct_is_zero(secret, sizeof(secret)));
	}
}
END_TEST

/* Texts that are not a key file, each with the reason it gets. */
START_TEST(parse_refusals)
{
	static const struct {
		const char *text;
		int want;
	} rows[] = {
		/* garbage */
		{ "hello, this is not a key file at all, but it is as long as one, just about. ok\n", IDENTITY_PARSE_FORMAT },
		/* the old token file's content */
		{ "0123456789abcdef", IDENTITY_PARSE_FORMAT },
		/* another version */
		{ "p2pchat identity key v2\nsecret " ALICE_SECRET "\n", IDENTITY_PARSE_VERSION },
		{ "p2pchat identity key v10\nsecret " ALICE_SECRET "\n", IDENTITY_PARSE_VERSION },
		/* a capital */
		{ "P2pchat identity key v1\nsecret " ALICE_SECRET "\n", IDENTITY_PARSE_FORMAT },
		/* CR LF */
		{ "p2pchat identity key v1\r\nsecret " ALICE_SECRET "\n", IDENTITY_PARSE_VERSION },
		/* uppercase hex */
		{ "p2pchat identity key v1\nsecret 77076D0A7318A57D3C16C17251B26645DF4C2F87EBC0992AB177FBA51DB92C2A\n", IDENTITY_PARSE_SECRET },
		/* sscanf would have read these as zeros */
		{ "p2pchat identity key v1\nsecret -0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0-0\n", IDENTITY_PARSE_SECRET },
		{ "p2pchat identity key v1\nsecret 0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x0x\n", IDENTITY_PARSE_SECRET },
		{ "p2pchat identity key v1\nsecret  0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", IDENTITY_PARSE_SECRET },
		/* another word for the secret */
		{ "p2pchat identity key v1\nsecrets" ALICE_SECRET "\n", IDENTITY_PARSE_SECRET },
		/* 63 digits and one over */
		{ "p2pchat identity key v1\nsecret " ALICE_SECRET "0", IDENTITY_PARSE_SECRET },
		/* no newline at the end, and a space instead */
		{ "p2pchat identity key v1\nsecret " ALICE_SECRET " ", IDENTITY_PARSE_SECRET },
		/* trailing: a newline, a comment, a second key */
		{ ALICE_FILE "\n", IDENTITY_PARSE_TRAILING },
		{ ALICE_FILE "# my key\n", IDENTITY_PARSE_TRAILING },
		{ ALICE_FILE ALICE_FILE, IDENTITY_PARSE_TRAILING },
		/* truncated */
		{ "p2pchat identity key v1\nsecret 77076d0a", IDENTITY_PARSE_SHORT },
		{ "p2pchat identity key v1\n", IDENTITY_PARSE_SHORT },
		{ "p2pchat ident", IDENTITY_PARSE_FORMAT },
	};
	uint8_t secret[X25519_LEN];

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = identity_parse(rows[i].text, strlen(rows[i].text), secret);

		ck_assert_msg(r == rows[i].want, "row %zu: %d, want %d", i, r, rows[i].want);
		ck_assert(ct_is_zero(secret, sizeof(secret)));
		ck_assert_str_ne(identity_parse_strerror(r), "unknown error");
	}
}
END_TEST

static struct stat stat_of(mode_t type, mode_t perm, uid_t uid)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = type | perm;
	st.st_uid = uid;
	return st;
}

/* The rules on a stat: each refusal says what to fix. */
START_TEST(file_rules)
{
	char err[512];
	struct stat st;

	st = stat_of(S_IFREG, 0600, 1000);
	ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), 0);
	st = stat_of(S_IFREG, 0400, 1000);
	ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), 0);
	st = stat_of(S_IFREG, 0644, 1000);
	ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/k/a.key is readable by group or others (mode 0644): chmod 600 /k/a.key");
	st = stat_of(S_IFREG, 0620, 1000);
	ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/k/a.key is writable by group or others (mode 0620): chmod 600 /k/a.key");
	for (mode_t bit = 1; bit < 0100; bit <<= 1) {
		st = stat_of(S_IFREG, 0600 | bit, 1000);
		ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "chmod 600 /k/a.key"));
	}
	/* Root's file is not the user's. */
	st = stat_of(S_IFREG, 0600, 0);
	ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/k/a.key is owned by uid 0, not by you (uid 1000): if it is yours, "
			 "chown 1000 /k/a.key; if not, remove it");
	st = stat_of(S_IFDIR, 0700, 1000);
	ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/k/a.key is not a regular file: remove it");
	st = stat_of(S_IFIFO, 0600, 1000);
	ck_assert_int_eq(identity_check_file(&st, 1000, "/k/a.key", err, sizeof(err)), -1);
}
END_TEST

START_TEST(dir_rules)
{
	char err[512];
	struct stat st;

	st = stat_of(S_IFDIR, 0700, 1000);
	ck_assert_int_eq(identity_check_dir(&st, 1000, "/k", err, sizeof(err)), 0);
	st = stat_of(S_IFDIR, 0755, 1000); /* others may look, not write */
	ck_assert_int_eq(identity_check_dir(&st, 1000, "/k", err, sizeof(err)), 0);
	st = stat_of(S_IFDIR, 0755, 0);   /* root's is fine */
	ck_assert_int_eq(identity_check_dir(&st, 1000, "/k", err, sizeof(err)), 0);
	st = stat_of(S_IFDIR, 0777, 1000);
	ck_assert_int_eq(identity_check_dir(&st, 1000, "/k", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/k is writable by group or others (mode 0777): chmod go-w /k");
	st = stat_of(S_IFDIR, 0720, 1000);
	ck_assert_int_eq(identity_check_dir(&st, 1000, "/k", err, sizeof(err)), -1);
	st = stat_of(S_IFDIR, 01777, 0);  /* /tmp: sticky, but others write */
	ck_assert_int_eq(identity_check_dir(&st, 1000, "/k", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/k is writable by group or others (mode 1777): chmod go-w /k");
	st = stat_of(S_IFDIR, 0700, 65534);
	ck_assert_int_eq(identity_check_dir(&st, 1000, "/k", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "/k is owned by uid 65534, not by you (uid 1000)"));
	st = stat_of(S_IFREG, 0700, 1000);
	ck_assert_int_eq(identity_check_dir(&st, 1000, "/k", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "/k is not a directory: move it away");
}
END_TEST

START_TEST(state_dir)
{
	char out[64];

	ck_assert_int_eq(identity_state_dir("/x/state", "/home/a", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/x/state/p2pchat");
	ck_assert_int_eq(identity_state_dir(NULL, "/home/a", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/home/a/.local/state/p2pchat");
	/* A relative $XDG_STATE_HOME is invalid (XDG Base Directory) and ignored, as is "". */
	ck_assert_int_eq(identity_state_dir("state", "/home/a", out, sizeof(out)), 0);
	ck_assert_str_eq(out, "/home/a/.local/state/p2pchat");
	ck_assert_int_eq(identity_state_dir("", "/home/a", out, sizeof(out)), 0);
	ck_assert_int_eq(identity_state_dir(NULL, NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(identity_state_dir("rel", "home", out, sizeof(out)), -1);
	ck_assert_int_eq(identity_state_dir("/0123456789012345678901234567890123456789012345678901234",
					    NULL, out, sizeof(out)), -1);
	ck_assert_int_eq(identity_state_dir("/012345678901234567890123456789012345678901234567890123",
					    NULL, out, sizeof(out)), 0);
}
END_TEST

/* ---- the files, in a temporary directory per test ---- */

static char tmp[64];       /* mkdtemp's directory, mode 0700 */
static char dir[128];      /* the state directory: tmp/p2pchat, made by the code under test */
static char key[192];      /* dir/alice.key */

static void setup(void)
{
	tmpdir_make(tmp, sizeof(tmp), "test_identity");
	snprintf(dir, sizeof(dir), "%s/p2pchat", tmp);
	snprintf(key, sizeof(key), "%s/alice.key", dir);
}

static void teardown(void)
{
	chmod(dir, 0700);
	tmpdir_remove(tmp);
}

/*
 * Plants path (made by the caller), then loads alice: must be refused with
 * a message holding want, id zeroed, and path as it was.
 */
static void assert_refused(const char *path, const char *want)
{
	struct identity id;
	struct tmpdir_snapshot before;
	char err[2 * PATH_MAX];

	tmpdir_snap(path, &before);
	memset(&id, 0xaa, sizeof(id));
	memset(err, 0, sizeof(err));
	ck_assert_int_eq(identity_load_or_create(dir, "alice", &id, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" has no \"%s\"", err, want);
	ck_assert(ct_is_zero(&id, sizeof(id)));
	tmpdir_assert_unchanged(path, &before);
}

/* A key file for alice with this text and mode, its directory made as the code would. */
static void plant(const char *text, size_t len, mode_t mode)
{
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	tmpdir_put_file(key, text, len, mode);
}

START_TEST(create_then_load)
{
	struct identity made, loaded;
	char err[2 * PATH_MAX], text[IDENTITY_FILE_LEN + 1];
	uint8_t t1[PROTO_TOKEN_LEN], t2[PROTO_TOKEN_LEN], secret[X25519_LEN];
	struct stat st;
	int fd;

	ck_assert_int_eq(identity_load_or_create(dir, "alice", &made, err, sizeof(err)), 1);
	ck_assert_int_eq(identity_load_or_create(dir, "alice", &loaded, err, sizeof(err)), 0);
	ck_assert_mem_eq(made.secret, loaded.secret, X25519_LEN);
	ck_assert_mem_eq(made.pub, loaded.pub, X25519_LEN);
	ck_assert(!ct_is_zero(made.secret, X25519_LEN));
	identity_token(&made, t1);
	identity_token(&loaded, t2);
	ck_assert_mem_eq(t1, t2, PROTO_TOKEN_LEN);

	/* The directory made 0700, the file 0600, 96 bytes, exactly identity_format's text. */
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(key, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, IDENTITY_FILE_LEN);
	fd = open(key, O_RDONLY);
	ck_assert_int_eq(read(fd, text, sizeof(text)), IDENTITY_FILE_LEN);
	close(fd);
	ck_assert_int_eq(identity_parse(text, IDENTITY_FILE_LEN, secret), IDENTITY_PARSE_OK);
	ck_assert_mem_eq(secret, made.secret, X25519_LEN);

	/* Another name: another key. */
	ck_assert_int_eq(identity_load_or_create(dir, "bob", &loaded, err, sizeof(err)), 1);
	ck_assert(memcmp(made.secret, loaded.secret, X25519_LEN) != 0);
	identity_token(&loaded, t2);
	ck_assert(memcmp(t1, t2, PROTO_TOKEN_LEN) != 0);
}
END_TEST

START_TEST(load_known_file)
{
	struct identity id, want;
	char err[2 * PATH_MAX];

	plant(ALICE_FILE, strlen(ALICE_FILE), 0600);
	ck_assert_int_eq(identity_load_or_create(dir, "alice", &id, err, sizeof(err)), 0);
	alice(&want);
	ck_assert_mem_eq(&id, &want, sizeof(id));
	/* Read-only for its owner is fine too. */
	chmod(key, 0400);
	ck_assert_int_eq(identity_load_or_create(dir, "alice", &id, err, sizeof(err)), 0);
}
END_TEST

/* The state directory and its missing parents are made, each 0700. */
START_TEST(makes_parents)
{
	struct identity id;
	char err[2 * PATH_MAX], parent[96];
	struct stat st;

	snprintf(parent, sizeof(parent), "%s/a", tmp);
	snprintf(dir, sizeof(dir), "%s/a/b/p2pchat", tmp);
	ck_assert_int_eq(identity_load_or_create(dir, "alice", &id, err, sizeof(err)), 1);
	ck_assert_int_eq(stat(parent, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
}
END_TEST

/* A link is refused even when it points at a good key of the user's own. */
START_TEST(refuses_symlink)
{
	char target[128];
	struct tmpdir_snapshot before;

	snprintf(target, sizeof(target), "%s/elsewhere.key", tmp);
	tmpdir_put_file(target, ALICE_FILE, strlen(ALICE_FILE), 0600);
	tmpdir_snap(target, &before);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(symlink(target, key), 0);
	assert_refused(key, "alice.key is a symbolic link: a key file must be a regular file; "
		       "remove the link");
	tmpdir_assert_unchanged(target, &before);
}
END_TEST

/* A dangling link: nothing is made through it. */
START_TEST(refuses_dangling_symlink)
{
	char target[128];
	struct stat st;

	snprintf(target, sizeof(target), "%s/victim", tmp);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(symlink(target, key), 0);
	assert_refused(key, "is a symbolic link");
	ck_assert_int_eq(lstat(target, &st), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(refuses_mode_0644)
{
	plant(ALICE_FILE, strlen(ALICE_FILE), 0644);
	assert_refused(key, "alice.key is readable by group or others (mode 0644): chmod 600 ");
}
END_TEST

START_TEST(refuses_mode_0640)
{
	plant(ALICE_FILE, strlen(ALICE_FILE), 0640);
	assert_refused(key, "alice.key is readable by group or others (mode 0640): chmod 600 ");
}
END_TEST

START_TEST(refuses_mode_0602)
{
	plant(ALICE_FILE, strlen(ALICE_FILE), 0602);
	assert_refused(key, "alice.key is writable by group or others (mode 0602): chmod 600 ");
}
END_TEST

START_TEST(refuses_other_owner)
{
	if (!tmpdir_root_or_skip("refuses_other_owner"))
		return;
	plant(ALICE_FILE, strlen(ALICE_FILE), 0600);
	ck_assert_int_eq(chown(key, 65534, 65534), 0);
	assert_refused(key, "alice.key is owned by uid 65534, not by you (uid 0)");
}
END_TEST

START_TEST(refuses_dir_other_owner)
{
	if (!tmpdir_root_or_skip("refuses_dir_other_owner"))
		return;
	plant(ALICE_FILE, strlen(ALICE_FILE), 0600);
	ck_assert_int_eq(chown(dir, 65534, 65534), 0);
	assert_refused(key, "/p2pchat is owned by uid 65534, not by you (uid 0)");
}
END_TEST

START_TEST(refuses_dir_0777)
{
	plant(ALICE_FILE, strlen(ALICE_FILE), 0600);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	assert_refused(key, "/p2pchat is writable by group or others (mode 0777): chmod go-w ");
}
END_TEST

/* A new key is not made in a directory others can write, either. */
START_TEST(no_key_made_in_open_dir)
{
	struct identity id;
	char err[2 * PATH_MAX];
	struct stat st;

	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(chmod(dir, 0770), 0);
	ck_assert_int_eq(identity_load_or_create(dir, "alice", &id, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "chmod go-w"));
	ck_assert_int_eq(lstat(key, &st), -1);
}
END_TEST

START_TEST(refuses_not_regular)
{
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	ck_assert_int_eq(mkfifo(key, 0600), 0); /* and it must not hang on the FIFO */
	assert_refused(key, "alice.key is not a regular file: remove it");
}
END_TEST

/* Each kind of bad content: refused with its reason, the file never replaced. */
static void assert_content_refused(const char *text, const char *reason)
{
	char want[256];

	plant(text, strlen(text), 0600);
	snprintf(want, sizeof(want), "alice.key is not a p2pchat identity key (%s): p2pchat never "
		 "replaces it; restore it, or move it away to make a new key", reason);
	assert_refused(key, want);
}

START_TEST(refuses_garbage)
{
	assert_content_refused("garbage, not a key\n", "it does not start with \"p2pchat identity key v1\"");
}
END_TEST

START_TEST(refuses_old_token_text)
{
	assert_content_refused("0x0x0x0x0x0x0x0x", "it does not start with \"p2pchat identity key v1\"");
}
END_TEST

START_TEST(refuses_wrong_version)
{
	assert_content_refused("p2pchat identity key v2\nsecret " ALICE_SECRET "\n",
			       "it is of a version other than v1, the one this p2pchat reads");
}
END_TEST

START_TEST(refuses_bad_hex)
{
	assert_content_refused("p2pchat identity key v1\nsecret "
			       "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2g\n",
			       "its second line is not \"secret \" and 64 lowercase hexadecimal digits");
}
END_TEST

START_TEST(refuses_trailing_garbage)
{
	assert_content_refused(ALICE_FILE "x", "there is more after its secret line");
}
END_TEST

START_TEST(refuses_truncated)
{
	assert_content_refused("p2pchat identity key v1\nsecret 77076d0a7318a57d3c16",
			       "it ends before its secret line does");
}
END_TEST

START_TEST(refuses_empty)
{
	assert_content_refused("", "the file is empty");
}
END_TEST

/* A file bigger than any read: still refused as trailing, not cut to a key. */
START_TEST(refuses_long_file)
{
	char big[4096];

	memset(big, '\n', sizeof(big));
	memcpy(big, ALICE_FILE, strlen(ALICE_FILE));
	big[sizeof(big) - 1] = '\0';
	assert_content_refused(big, "there is more after its secret line");
}
END_TEST

START_TEST(refuses_bad_name)
{
	struct identity id;
	char err[256];

	ck_assert_int_eq(identity_load_or_create(dir, "../alice", &id, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "'../alice' is not a valid name");
	ck_assert_int_eq(identity_load_or_create(dir, "", &id, err, sizeof(err)), -1);
}
END_TEST

static Suite *identity_suite(void)
{
	Suite *s = suite_create("identity");
	TCase *pure = tcase_create("pure");
	TCase *files = tcase_create("files");

	tcase_add_test(pure, public_key_from_secret);
	tcase_add_test(pure, fingerprint_known);
	tcase_add_test(pure, token_known_and_distinct);
	tcase_add_test(pure, format_known);
	tcase_add_test(pure, format_parse_round_trip);
	tcase_add_loop_test(pure, parse_every_byte, 0, X25519_LEN);
	tcase_add_test(pure, parse_every_length);
	tcase_add_test(pure, parse_refusals);
	tcase_add_test(pure, file_rules);
	tcase_add_test(pure, dir_rules);
	tcase_add_test(pure, state_dir);
	suite_add_tcase(s, pure);

	tcase_add_checked_fixture(files, setup, teardown);
	tcase_add_test(files, create_then_load);
	tcase_add_test(files, load_known_file);
	tcase_add_test(files, makes_parents);
	tcase_add_test(files, refuses_symlink);
	tcase_add_test(files, refuses_dangling_symlink);
	tcase_add_test(files, refuses_mode_0644);
	tcase_add_test(files, refuses_mode_0640);
	tcase_add_test(files, refuses_mode_0602);
	tcase_add_test(files, refuses_other_owner);
	tcase_add_test(files, refuses_dir_other_owner);
	tcase_add_test(files, refuses_dir_0777);
	tcase_add_test(files, no_key_made_in_open_dir);
	tcase_add_test(files, refuses_not_regular);
	tcase_add_test(files, refuses_garbage);
	tcase_add_test(files, refuses_old_token_text);
	tcase_add_test(files, refuses_wrong_version);
	tcase_add_test(files, refuses_bad_hex);
	tcase_add_test(files, refuses_trailing_garbage);
	tcase_add_test(files, refuses_truncated);
	tcase_add_test(files, refuses_empty);
	tcase_add_test(files, refuses_long_file);
	tcase_add_test(files, refuses_bad_name);
	suite_add_tcase(s, files);
	return s;
}

int main(void)
{
	return harness_run(identity_suite());
}
