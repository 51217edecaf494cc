/* test_sha256.c - unit tests for sha256.c: SHA-256, HMAC-SHA256 and HKDF against the published vectors, and streaming. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "sha256.h"
#include "vectors.h"

/* The longest record value the files hold is LongMsg's 51200-bit message. */
#define MAX_HEX_BYTES 8192

/* Decodes a hex string that the test itself or a vector file gives; fails the test if malformed. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	long n = vectors_hex(hex, out, cap);

	ck_assert_msg(n >= 0, "bad hex: %.40s", hex);
	return (size_t)n;
}

/* Lines of VECTORS_DIR/relpath that start with prefix: the file's own count of its vectors. */
static int count_lines(const char *relpath, const char *prefix)
{
	char path[512], *line = NULL;
	size_t cap = 0;
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, relpath);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run tests/deps.sh)", path);
	while (getline(&line, &cap, f) >= 0)
		n += strncmp(line, prefix, strlen(prefix)) == 0;
	free(line);
	fclose(f);
	return n;
}

/* The one line per file that the issue asks for, and the count checks behind it. */
static void report(const char *relpath, int passed, int in_file)
{
	const char *base = strrchr(relpath, '/');

	ck_assert_int_gt(passed, 0);
	ck_assert_int_eq(passed, in_file);
	printf("%s: %d vector%s passed\n", base != NULL ? base + 1 : relpath, passed,
	       passed == 1 ? "" : "s");
	fflush(stdout);
}

static void open_vectors(struct vectors_file *v, const char *relpath)
{
	ck_assert_msg(vectors_open(v, relpath) == 0, "cannot open %s", relpath);
}

/* The field name of the current record, which must be there. */
static const char *field(const struct vectors_file *v, const char *name)
{
	const char *s = vectors_get(v, name);

	ck_assert_msg(s != NULL, "record without %s", name);
	return s;
}

static void check_digest(const void *msg, size_t len, const char *want_hex)
{
	uint8_t want[SHA256_LEN], got[SHA256_LEN];

	ck_assert_uint_eq(unhex(want_hex, want, sizeof(want)), SHA256_LEN);
	sha256_hash(got, msg, len);
	ck_assert_mem_eq(got, want, SHA256_LEN);
}

/*
 * The examples of FIPS 180-2 appendix B (B.1 one block, B.2 two blocks,
 * B.3 one million 'a'), which NIST keeps for FIPS 180-4 in "Examples with
 * Intermediate Values", SHA256.pdf (csrc.nist.gov).
 */
START_TEST(fips_examples)
{
	static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t thousand[1000], got[SHA256_LEN], want[SHA256_LEN];
	struct sha256_ctx ctx;
	int i;

	check_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ck_assert_uint_eq(strlen(two_blocks) * 8, 448);
	check_digest(two_blocks, strlen(two_blocks),
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	/* B.3, fed as 1000 updates of 1000 'a'. */
	memset(thousand, 'a', sizeof(thousand));
	sha256_init(&ctx);
	for (i = 0; i < 1000; i++)
		sha256_update(&ctx, thousand, sizeof(thousand));
	sha256_final(&ctx, got);
	unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", want, sizeof(want));
	ck_assert_mem_eq(got, want, SHA256_LEN);
}
END_TEST

/* The empty message: a common digest, and also ShortMsg's Len = 0. */
START_TEST(empty_message)
{
	check_digest(NULL, 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* sha256_final leaves no trace of the message in the context. */
START_TEST(final_wipes_ctx)
{
	static const uint8_t zero[sizeof(struct sha256_ctx)];
	struct sha256_ctx ctx;
	uint8_t out[SHA256_LEN];

	sha256_init(&ctx);
	sha256_update(&ctx, "a secret of 29 bytes, or so..", 29);
	sha256_final(&ctx, out);
	ck_assert_mem_eq(&ctx, zero, sizeof(ctx));
}
END_TEST

/* RFC 4231 section 4: the HMAC-SHA-256 rows of test cases 1 to 7. */
static const struct {
	const char *key_hex; /* a key of repeated bytes is written as one byte and a count */
	uint8_t key_byte;
	size_t key_repeat;
	const char *data;    /* or, when NULL, 50 bytes of data_byte */
	uint8_t data_byte;
	const char *mac_hex; /* case 5 gives only the first 128 bits */
} rfc4231[] = {
	/* 4.2 Test Case 1 */
	{ NULL, 0x0b, 20, "Hi There", 0,
	  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	/* 4.3 Test Case 2: a key shorter than the output */
	{ "4a656665", 0, 0, "what do ya want for nothing?", 0,
	  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	/* 4.4 Test Case 3: 50 bytes of 0xdd */
	{ NULL, 0xaa, 20, NULL, 0xdd,
	  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	/* 4.5 Test Case 4: 50 bytes of 0xcd */
	{ "0102030405060708090a0b0c0d0e0f10111213141516171819", 0, 0, NULL, 0xcd,
	  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b" },
	/* 4.6 Test Case 5: truncated to 128 bits */
	{ NULL, 0x0c, 20, "Test With Truncation", 0, "a3b6167473100ee06e0c796c2955552b" },
	/* 4.7 Test Case 6: a key longer than a block */
	{ NULL, 0xaa, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 0,
	  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	/* 4.8 Test Case 7: a key and data longer than a block */
	{ NULL, 0xaa, 131,
	  "This is a test using a larger than block-size key and a larger than block-size data. "
	  "The key needs to be hashed before being used by the HMAC algorithm.", 0,
	  "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2" },
};

START_TEST(rfc4231_cases)
{
	size_t i;

	for (i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
		uint8_t key[256], data[256], want[SHA256_LEN], got[SHA256_LEN];
		size_t key_len, data_len, want_len;

		if (rfc4231[i].key_hex != NULL) {
			key_len = unhex(rfc4231[i].key_hex, key, sizeof(key));
		} else {
			key_len = rfc4231[i].key_repeat;
			memset(key, rfc4231[i].key_byte, key_len);
		}
		if (rfc4231[i].data != NULL) {
			data_len = strlen(rfc4231[i].data);
			memcpy(data, rfc4231[i].data, data_len);
		} else {
			data_len = 50;
			memset(data, rfc4231[i].data_byte, data_len);
		}
		want_len = unhex(rfc4231[i].mac_hex, want, sizeof(want));
		ck_assert_uint_eq(want_len, i == 4 ? 16 : SHA256_LEN);
		sha256_hmac(got, key, key_len, data, data_len);
		ck_assert_msg(memcmp(got, want, want_len) == 0, "RFC 4231 test case %zu", i + 1);
	}
}
END_TEST

/* RFC 5869 appendix A.1 to A.3: the SHA-256 cases (hex; "" is empty). */
static const struct {
	const char *ikm, *salt, *info, *prk, *okm;
} rfc5869[] = {
	/* A.1 Test Case 1: basic */
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
	  "f0f1f2f3f4f5f6f7f8f9",
	  "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	  "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	  "34007208d5b887185865" },
	/* A.2 Test Case 2: longer inputs and outputs */
	{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	  "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	  "404142434445464748494a4b4c4d4e4f",
	  "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	  "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	  "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
	  "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecf"
	  "d0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
	  "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
	  "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
	  "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	  "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	  "cc30c58179ec3e87c14c01d5c1f3434f1d87" },
	/* A.3 Test Case 3: zero-length salt and info */
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
	  "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04",
	  "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	  "9d201395faa4b61a96c8" },
};

/*
 * Runs HKDF on hex inputs and compares with the expected OKM and, when
 * prk_hex is not NULL, the PRK. L is the length of okm_hex.
 */
static void check_hkdf(const char *ikm_hex, const char *salt_hex, const char *info_hex,
		       const char *prk_hex, const char *okm_hex)
{
	static uint8_t ikm[MAX_HEX_BYTES], salt[MAX_HEX_BYTES], info[MAX_HEX_BYTES];
	static uint8_t want[SHA256_HKDF_MAX_LEN], got[SHA256_HKDF_MAX_LEN];
	uint8_t prk[SHA256_LEN], want_prk[SHA256_LEN];
	size_t ikm_len = unhex(ikm_hex, ikm, sizeof(ikm));
	size_t salt_len = unhex(salt_hex, salt, sizeof(salt));
	size_t info_len = unhex(info_hex, info, sizeof(info));
	size_t okm_len = unhex(okm_hex, want, sizeof(want));

	sha256_hkdf_extract(prk, salt, salt_len, ikm, ikm_len);
	if (prk_hex != NULL) {
		ck_assert_uint_eq(unhex(prk_hex, want_prk, sizeof(want_prk)), SHA256_LEN);
		ck_assert_mem_eq(prk, want_prk, SHA256_LEN);
	}
	ck_assert_int_eq(sha256_hkdf_expand(got, okm_len, prk, info, info_len), 0);
	ck_assert_mem_eq(got, want, okm_len);
}

START_TEST(rfc5869_cases)
{
	size_t i;

	for (i = 0; i < sizeof(rfc5869) / sizeof(rfc5869[0]); i++)
		check_hkdf(rfc5869[i].ikm, rfc5869[i].salt, rfc5869[i].info, rfc5869[i].prk,
			   rfc5869[i].okm);
}
END_TEST

/*
 * NIST CAVS SHA-256 ShortMsg and LongMsg (byte-oriented): Len is in bits,
 * and Len = 0 comes with Msg = 00, meaning the empty message.
 */
static void msg_file(const char *relpath)
{
	static uint8_t msg[MAX_HEX_BYTES];
	struct vectors_file v;
	int passed = 0;

	open_vectors(&v, relpath);
	while (vectors_next(&v)) {
		long bits = strtol(field(&v, "Len"), NULL, 10);
		size_t n = unhex(field(&v, "Msg"), msg, sizeof(msg));

		ck_assert(bits >= 0 && bits % 8 == 0);
		ck_assert(n == (size_t)bits / 8 || (bits == 0 && n == 1));
		check_digest(msg, (size_t)bits / 8, field(&v, "MD"));
		passed++;
	}
	vectors_close(&v);
	report(relpath, passed, count_lines(relpath, "Len ="));
}

START_TEST(nist_short_msg)
{
	msg_file("hashes/SHA2/SHA256ShortMsg.rsp");
}
END_TEST

START_TEST(nist_long_msg)
{
	msg_file("hashes/SHA2/SHA256LongMsg.rsp");
}
END_TEST

/*
 * NIST SHAVS, the Pseudorandomly Generated Messages (Monte Carlo) Test: from the Seed,
 * MD0 = MD1 = MD2 = Seed, then 1000 times MDi = SHA(MD(i-3) | MD(i-2) |
 * MD(i-1)); the last MD is checkpoint j and the next Seed. 100 checkpoints.
 */
START_TEST(nist_monte)
{
	static const char relpath[] = "hashes/SHA2/SHA256Monte.rsp";
	uint8_t md[3 * SHA256_LEN], seed[SHA256_LEN], want[SHA256_LEN];
	struct vectors_file v;
	int passed = 0, i;

	open_vectors(&v, relpath);
	ck_assert(vectors_next(&v));
	ck_assert_uint_eq(unhex(field(&v, "Seed"), seed, sizeof(seed)), SHA256_LEN);
	while (vectors_next(&v)) {
		ck_assert_int_eq(atoi(field(&v, "COUNT")), passed);
		ck_assert_uint_eq(unhex(field(&v, "MD"), want, sizeof(want)), SHA256_LEN);
		memcpy(md, seed, SHA256_LEN);
		memcpy(md + SHA256_LEN, seed, SHA256_LEN);
		memcpy(md + 2 * SHA256_LEN, seed, SHA256_LEN);
		for (i = 3; i < 1003; i++) {
			sha256_hash(seed, md, sizeof(md));
			memmove(md, md + SHA256_LEN, 2 * SHA256_LEN);
			memcpy(md + 2 * SHA256_LEN, seed, SHA256_LEN);
		}
		ck_assert_msg(memcmp(seed, want, SHA256_LEN) == 0, "checkpoint %d", passed);
		passed++;
	}
	vectors_close(&v);
	report(relpath, passed, count_lines(relpath, "COUNT ="));
}
END_TEST

/* RFC 4231's cases 1-4, 6 and 7 as python3-cryptography-vectors writes them (no case 5). */
START_TEST(file_rfc4231)
{
	static const char relpath[] = "HMAC/rfc-4231-sha256.txt";
	uint8_t key[512], msg[512], want[SHA256_LEN], got[SHA256_LEN];
	struct vectors_file v;
	int passed = 0;

	open_vectors(&v, relpath);
	while (vectors_next(&v)) {
		size_t key_len = unhex(field(&v, "Key"), key, sizeof(key));
		size_t msg_len = unhex(field(&v, "Msg"), msg, sizeof(msg));

		ck_assert_uint_eq(msg_len * 8, strtoul(field(&v, "Len"), NULL, 10));
		ck_assert_uint_eq(unhex(field(&v, "MD"), want, sizeof(want)), SHA256_LEN);
		sha256_hmac(got, key, key_len, msg, msg_len);
		ck_assert_msg(memcmp(got, want, SHA256_LEN) == 0, "vector %d", passed);
		passed++;
	}
	vectors_close(&v);
	report(relpath, passed, count_lines(relpath, "Len ="));
}
END_TEST

/* The HKDF fields of a vector, which may span records: the RFC file has blank lines inside one. */
static const char *const hkdf_fields[] = { "Hash", "IKM", "salt", "info", "L", "PRK", "OKM" };
#define HKDF_FIELDS (sizeof(hkdf_fields) / sizeof(hkdf_fields[0]))

/* Runs the SHA-256 HKDF vectors of a file; returns how many passed. */
static int hkdf_file(const char *relpath)
{
	char *val[HKDF_FIELDS] = { NULL };
	struct vectors_file v;
	int passed = 0;
	size_t i;

	open_vectors(&v, relpath);
	while (vectors_next(&v)) {
		for (i = 0; i < HKDF_FIELDS; i++) {
			const char *s = vectors_get(&v, hkdf_fields[i]);

			if (s != NULL) {
				free(val[i]);
				val[i] = strdup(s);
			}
		}
		if (val[6] == NULL) /* no OKM yet: the rest follows */
			continue;
		ck_assert_msg(val[1] != NULL && val[2] != NULL && val[3] != NULL && val[4] != NULL,
			      "incomplete vector %d", passed);
		ck_assert_uint_eq(strlen(val[6]) / 2, strtoul(val[4], NULL, 10));
		if (val[0] != NULL && strcmp(val[0], "SHA-256") == 0) {
			check_hkdf(val[1], val[2], val[3], val[5], val[6]);
			passed++;
		}
		for (i = 0; i < HKDF_FIELDS; i++) {
			free(val[i]);
			val[i] = NULL;
		}
	}
	for (i = 0; i < HKDF_FIELDS; i++)
		free(val[i]);
	vectors_close(&v);
	return passed;
}

START_TEST(file_rfc5869)
{
	static const char relpath[] = "KDF/rfc-5869-HKDF-SHA256.txt";

	report(relpath, hkdf_file(relpath), count_lines(relpath, "Hash = SHA-256"));
}
END_TEST

/* A 1200-byte OKM that pyca made with OpenSSL; only its SHA-256 entries. */
START_TEST(file_hkdf_generated)
{
	static const char relpath[] = "KDF/hkdf-generated.txt";

	if (access(VECTORS_DIR "/KDF/hkdf-generated.txt", R_OK) != 0) {
		printf("hkdf-generated.txt: not in this version of the package, skipped\n");
		return;
	}
	report(relpath, hkdf_file(relpath), count_lines(relpath, "Hash = SHA-256"));
}
END_TEST

/* len bytes of a fixed pattern, the message of the streaming tests. */
static void pattern(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + 7);
}

/* Every way to cut a 200-byte message into three pieces (some empty) gives the one-shot digest. */
START_TEST(stream_all_splits)
{
	uint8_t msg[200], want[SHA256_LEN], got[SHA256_LEN];
	struct sha256_ctx ctx;
	size_t i, j;

	pattern(msg, sizeof(msg));
	sha256_hash(want, msg, sizeof(msg));
	for (i = 0; i <= sizeof(msg); i++) {
		for (j = i; j <= sizeof(msg); j++) {
			sha256_init(&ctx);
			sha256_update(&ctx, msg, i);
			sha256_update(&ctx, msg + i, j - i);
			sha256_update(&ctx, msg + j, sizeof(msg) - j);
			sha256_final(&ctx, got);
			ck_assert_msg(memcmp(got, want, SHA256_LEN) == 0, "cut at %zu, %zu", i, j);
		}
	}
}
END_TEST

/* Random messages of 0..2000 bytes cut into random pieces of 0..150 bytes. */
START_TEST(stream_random_splits)
{
	static uint8_t msg[2000];
	uint8_t want[SHA256_LEN], got[SHA256_LEN];
	struct rng64 rng = { 0x5eed5a256ULL };
	struct sha256_ctx ctx;
	int trial;

	for (trial = 0; trial < 2000; trial++) {
		size_t len = rng64star_next32(&rng) % (sizeof(msg) + 1), off = 0, i;

		for (i = 0; i < len; i++)
			msg[i] = (uint8_t)rng64star_next32(&rng);
		sha256_hash(want, msg, len);
		sha256_init(&ctx);
		while (off < len) {
			size_t piece = rng64star_next32(&rng) % 151;

			if (piece > len - off)
				piece = len - off;
			sha256_update(&ctx, msg + off, piece);
			off += piece;
		}
		sha256_final(&ctx, got);
		ck_assert_msg(memcmp(got, want, SHA256_LEN) == 0, "trial %d, %zu bytes", trial, len);
	}
}
END_TEST

/*
 * Lengths 0..300, across the 55/56/64-byte padding boundaries of several
 * blocks: a byte at a time and in 63-byte pieces equal the one-shot digest,
 * and the digest of all 301 digests in a row equals the one Python's
 * hashlib gives for the same messages (an outside reference).
 */
START_TEST(stream_padding_boundaries)
{
	uint8_t msg[300], one[SHA256_LEN], got[SHA256_LEN], all[SHA256_LEN], want_all[SHA256_LEN];
	struct sha256_ctx ctx, chain;
	size_t len, i;

	pattern(msg, sizeof(msg));
	sha256_init(&chain);
	for (len = 0; len <= sizeof(msg); len++) {
		sha256_hash(one, msg, len);
		sha256_update(&chain, one, sizeof(one));

		sha256_init(&ctx);
		for (i = 0; i < len; i++)
			sha256_update(&ctx, msg + i, 1);
		sha256_final(&ctx, got);
		ck_assert_msg(memcmp(got, one, SHA256_LEN) == 0, "bytewise, %zu bytes", len);

		sha256_init(&ctx);
		for (i = 0; i < len; i += 63)
			sha256_update(&ctx, msg + i, len - i < 63 ? len - i : 63);
		sha256_final(&ctx, got);
		ck_assert_msg(memcmp(got, one, SHA256_LEN) == 0, "63-byte pieces, %zu bytes", len);
	}
	sha256_final(&chain, all);
	unhex("78f25692e2f4dd74482ac3dcf4f505a7c278fa279588b764b99a497144bcd49c", want_all,
	      sizeof(want_all));
	ck_assert_mem_eq(all, want_all, SHA256_LEN);
}
END_TEST

/*
 * RFC 2104 section 2: a key over B = 64 bytes is replaced by its hash, and
 * a shorter one is padded with zeros, so both pairs below must agree.
 */
START_TEST(hmac_key_lengths)
{
	uint8_t key[200], padded[SHA256_BLOCK_LEN], hashed[SHA256_LEN];
	uint8_t a[SHA256_LEN], b[SHA256_LEN];
	static const char msg[] = "key lengths";
	size_t len;

	pattern(key, sizeof(key));
	for (len = 0; len <= sizeof(key); len++) {
		sha256_hmac(a, key, len, msg, sizeof(msg) - 1);
		if (len > SHA256_BLOCK_LEN) {
			sha256_hash(hashed, key, len);
			sha256_hmac(b, hashed, sizeof(hashed), msg, sizeof(msg) - 1);
		} else {
			memset(padded, 0, sizeof(padded));
			memcpy(padded, key, len);
			sha256_hmac(b, padded, sizeof(padded), msg, sizeof(msg) - 1);
		}
		ck_assert_msg(memcmp(a, b, SHA256_LEN) == 0, "key of %zu bytes", len);
	}
}
END_TEST

/*
 * RFC 5869 section 2.3: L up to 255 HashLen works, and its last block is
 * T(255) = HMAC(PRK, T(254) | info | 0xff); one more byte is refused with
 * out untouched; a shorter L is a prefix of a longer one.
 */
START_TEST(hkdf_expand_limits)
{
	static uint8_t out[SHA256_HKDF_MAX_LEN + 1], again[SHA256_HKDF_MAX_LEN + 1];
	static const uint8_t info[] = "limits";
	uint8_t prk[SHA256_LEN], last_in[SHA256_LEN + sizeof(info) - 1 + 1], t255[SHA256_LEN];
	size_t i;

	pattern(prk, sizeof(prk));
	ck_assert_int_eq(sha256_hkdf_expand(out, SHA256_HKDF_MAX_LEN, prk, info, sizeof(info) - 1), 0);
	memcpy(last_in, out + 253 * SHA256_LEN, SHA256_LEN);
	memcpy(last_in + SHA256_LEN, info, sizeof(info) - 1);
	last_in[sizeof(last_in) - 1] = 0xff;
	sha256_hmac(t255, prk, sizeof(prk), last_in, sizeof(last_in));
	ck_assert_mem_eq(out + 254 * SHA256_LEN, t255, SHA256_LEN);

	for (i = 1; i < SHA256_HKDF_MAX_LEN; i += 97) {
		memset(again, 0xa5, sizeof(again));
		ck_assert_int_eq(sha256_hkdf_expand(again, i, prk, info, sizeof(info) - 1), 0);
		ck_assert_mem_eq(again, out, i);
		ck_assert_uint_eq(again[i], 0xa5); /* nothing past L */
	}

	memset(again, 0xa5, sizeof(again));
	ck_assert_int_eq(sha256_hkdf_expand(again, SHA256_HKDF_MAX_LEN + 1, prk, info,
					    sizeof(info) - 1), -1);
	ck_assert_int_eq(sha256_hkdf_expand(again, SIZE_MAX, prk, info, sizeof(info) - 1), -1);
	for (i = 0; i < sizeof(again); i++)
		ck_assert_uint_eq(again[i], 0xa5);
	ck_assert_int_eq(sha256_hkdf_expand(again, 0, prk, info, sizeof(info) - 1), 0);
	ck_assert_uint_eq(again[0], 0xa5);
}
END_TEST

/* HKDF-Expand reads prk before it writes out, so a key can be replaced by the next one in place. */
START_TEST(hkdf_expand_in_place)
{
	uint8_t prk[SHA256_LEN], buf[SHA256_LEN], want[SHA256_LEN];

	pattern(prk, sizeof(prk));
	memcpy(buf, prk, sizeof(buf));
	ck_assert_int_eq(sha256_hkdf_expand(want, sizeof(want), prk, "x", 1), 0);
	ck_assert_int_eq(sha256_hkdf_expand(buf, sizeof(buf), buf, "x", 1), 0);
	ck_assert_mem_eq(buf, want, SHA256_LEN);
}
END_TEST

/*
 * The x86 SHA extensions' compression function and the portable one agree on random
 * messages of 0..5000 bytes (whole blocks at once and a partial one), and on a
 * multi-block run that crosses from one call into the next. Skipped, passing, on a CPU
 * without the extensions (the "portable" case below still runs everything there).
 */
START_TEST(paths_agree)
{
	static uint8_t msg[5000];
	uint8_t portable[SHA256_LEN], fast[SHA256_LEN];
	struct rng64 rng = { 0x5a256ce11ULL };
	int trial;
	size_t i;

	sha256_use_portable(0);
	if (!sha256_accelerated())
		return;
	for (trial = 0; trial < 500; trial++) {
		size_t len = rng64star_next32(&rng) % (sizeof(msg) + 1);

		for (i = 0; i < len; i++)
			msg[i] = (uint8_t)rng64star_next32(&rng);
		sha256_use_portable(1);
		sha256_hash(portable, msg, len);
		sha256_use_portable(0);
		sha256_hash(fast, msg, len);
		ck_assert_msg(memcmp(portable, fast, SHA256_LEN) == 0, "trial %d, %zu bytes", trial, len);
	}
}
END_TEST

/*
 * 1 when /proc/cpuinfo (Linux) lists sha_ni, ssse3 and sse4_1 among the first CPU's flags,
 * 0 when it does not, -1 when there is no such file: a second opinion, apart from sha256_x86.c's
 * CPUID.
 */
static int cpuinfo_has_sha(void)
{
	static char line[8192];
	FILE *f = fopen("/proc/cpuinfo", "r");
	int has = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "flags", 5) != 0)
			continue;
		has = strstr(line, " sha_ni") != NULL && strstr(line, " ssse3") != NULL &&
		      strstr(line, " sse4_1") != NULL;
		break;
	}
	fclose(f);
	return has;
}

/* The x86 path is taken exactly when the CPU has it, and the switch for the tests works. */
START_TEST(path_choice)
{
	int has = cpuinfo_has_sha();

	sha256_use_portable(1);
	ck_assert_int_eq(sha256_accelerated(), 0);
	sha256_use_portable(0);
#if defined(__x86_64__)
	if (has >= 0)
		ck_assert_int_eq(sha256_accelerated(), has);
#else
	ck_assert_int_eq(sha256_accelerated(), 0);
#endif
}
END_TEST

/* Each case's tests, run once per compression function. */
static void use_portable(void)
{
	sha256_use_portable(1);
}

static void use_cpu(void)
{
	sha256_use_portable(0);
}

/* Every vector test, in a case whose fixture chooses the compression function first. */
static TCase *vector_case(const char *name, void (*choose)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, choose, NULL);
	tcase_add_test(tc, fips_examples);
	tcase_add_test(tc, empty_message);
	tcase_add_test(tc, final_wipes_ctx);
	tcase_add_test(tc, rfc4231_cases);
	tcase_add_test(tc, rfc5869_cases);
	tcase_add_test(tc, nist_short_msg);
	tcase_add_test(tc, nist_long_msg);
	tcase_add_test(tc, nist_monte);
	tcase_add_test(tc, file_rfc4231);
	tcase_add_test(tc, file_rfc5869);
	tcase_add_test(tc, file_hkdf_generated);
	tcase_add_test(tc, stream_all_splits);
	tcase_add_test(tc, stream_random_splits);
	tcase_add_test(tc, stream_padding_boundaries);
	tcase_add_test(tc, hmac_key_lengths);
	tcase_add_test(tc, hkdf_expand_limits);
	tcase_add_test(tc, hkdf_expand_in_place);
	return tc;
}

static Suite *sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *both = tcase_create("paths");

	/* "cpu" is the x86 SHA extensions where this CPU has them, else the portable C again. */
	suite_add_tcase(s, vector_case("portable", use_portable));
	suite_add_tcase(s, vector_case("cpu", use_cpu));
	tcase_add_test(both, paths_agree);
	tcase_add_test(both, path_choice);
	suite_add_tcase(s, both);
	return s;
}

int main(void)
{
	return harness_run(sha256_suite());
}
