/* test_chachapoly.c - unit tests for chachapoly.c: RFC 8439's vectors, python3-cryptography-vectors' files, rejected input, round trips. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chachapoly.h"
#include "ct.h"
#include "harness.h"
#include "vectors.h"

#define BUF_LEN 2048
#define ROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define FILL 0xaa /* what out holds before a call, to see what the call wrote */

/* The texts of RFC 8439's examples, as the RFC prints them beside their hex. */
#define SUNSCREEN                                                                              \
	"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "  \
	"future, sunscreen would be it."
#define IETF_CONTRIBUTION                                                                      \
	"Any submission to the IETF intended by the Contributor for publication as all or part " \
	"of an IETF Internet-Draft or RFC and any statement made within the context of an IETF " \
	"activity is considered an \"IETF Contribution\". Such statements include oral "         \
	"statements in IETF sessions, as well as written and electronic communications made at " \
	"any time or place, which are addressed to"
#define JABBERWOCKY                                                                            \
	"'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\nAll mimsy were " \
	"the borogoves,\nAnd the mome raths outgrabe."
/* UTF-8 quotes: E2 80 9C and E2 80 9D. */
#define INTERNET_DRAFTS                                                                        \
	"Internet-Drafts are draft documents valid for a maximum of six months and may be "     \
	"updated, replaced, or obsoleted by other documents at any time. It is inappropriate "  \
	"to use Internet-Drafts as reference material or to cite them other than as "           \
	"/\xe2\x80\x9cwork in progress./\xe2\x80\x9d"

#define KEY_0 "0000000000000000000000000000000000000000000000000000000000000000"
#define KEY_1 "0000000000000000000000000000000000000000000000000000000000000001"
#define KEY_SEQ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define KEY_80 "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
#define KEY_1C "1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"
#define NONCE_0 "000000000000000000000000"
#define NONCE_2 "000000000000000000000002"
#define ZERO16 "00000000000000000000000000000000"
#define ZERO64 ZERO16 ZERO16 ZERO16 ZERO16

/* Decodes hex that the test itself wrote; a bad string is the test's bug, caught here. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	long n = vectors_hex(hex, out, cap);

	ck_assert_msg(n >= 0, "bad hex in the test: %.40s", hex);
	return (size_t)n;
}

/* A field given as text (when text is not NULL) or as hex. */
static size_t field(const char *text, const char *hex, uint8_t *out, size_t cap)
{
	size_t n;

	if (text == NULL)
		return unhex(hex, out, cap);
	n = strlen(text);
	ck_assert_uint_le(n, cap);
	memcpy(out, text, n);
	return n;
}

/*
 * The key stream: chachapoly_chacha20 over zeros gives the serialized blocks
 * from `counter` on. The block function (2.3) and, through it, the quarter
 * round (2.1) are checked here; section 2.2.1's state-level quarter-round
 * vector is not, as the quarter round is not exported.
 */
static const struct keystream_row {
	const char *section, *key, *nonce;
	uint32_t counter;
	const char *stream;
} keystream_rows[] = {
	{ "2.3.2 block function", KEY_SEQ, "000000090000004a00000000", 1,
	  "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
	  "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e" },
	{ "A.1 #1 block, all zero", KEY_0, NONCE_0, 0,
	  "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
	  "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586" },
	{ "A.1 #2 block, counter 1", KEY_0, NONCE_0, 1,
	  "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
	  "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f" },
	{ "A.1 #3 block, last key bit", KEY_1, NONCE_0, 1,
	  "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a"
	  "8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0" },
	{ "A.1 #4 block, key byte 1 = ff, counter 2",
	  "00ff000000000000000000000000000000000000000000000000000000000000", NONCE_0, 2,
	  "72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca"
	  "13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096" },
	{ "A.1 #5 block, last nonce byte", KEY_0, NONCE_2, 0,
	  "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c7"
	  "8a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d" },
	/* Section 2.6: the Poly1305 key is the first 32 bytes of block 0. */
	{ "2.6.2 Poly1305 key generation", KEY_80, "000000000001020304050607", 0,
	  "8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646" },
	{ "2.8.2 the AEAD example's one-time key", KEY_80, "070000004041424344454647", 0,
	  "7bac2b252db447af09b67a55a4e955840ae1d6731075d9eb2a9375783ed553ff" },
	{ "A.4 #1 key generation", KEY_0, NONCE_0, 0,
	  "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7" },
	{ "A.4 #2 key generation", KEY_1, NONCE_2, 0,
	  "ecfa254f845f647473d3cb140da9e87606cb33066c447b87bc2666dde3fbb739" },
	{ "A.4 #3 key generation", KEY_1C, NONCE_2, 0,
	  "965e3bc6f9ec7ed9560808f4d229f94b137ff275ca9b3fcbdd59deaad23310ae" },
	{ "A.5 one-time key", KEY_1C, "000000000102030405060708", 0,
	  "bdf04aa95ce4de8995b14bb6a18fecaf26478f50c054f563dbc0a21e261572aa" },
};

START_TEST(rfc_keystream)
{
	const struct keystream_row *v = &keystream_rows[_i];
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN];
	uint8_t want[BUF_LEN], got[BUF_LEN];
	size_t n;

	ck_assert_uint_eq(unhex(v->key, key, sizeof(key)), sizeof(key));
	ck_assert_uint_eq(unhex(v->nonce, nonce, sizeof(nonce)), sizeof(nonce));
	n = unhex(v->stream, want, sizeof(want));
	memset(got, 0, n);
	chachapoly_chacha20(got, got, n, key, v->counter, nonce);
	ck_assert_msg(memcmp(got, want, n) == 0, "RFC 8439 %s", v->section);
}
END_TEST

/* Section 2.4: encryption; the plaintext is text or hex. */
static const struct encrypt_row {
	const char *section, *key, *nonce;
	uint32_t counter;
	const char *text, *pt, *ct;
} encrypt_rows[] = {
	{ "2.4.2 sunscreen", KEY_SEQ, "000000000000004a00000000", 1, SUNSCREEN, NULL,
	  "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
	  "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
	  "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
	  "5af90bbf74a35be6b40b8eedf2785e42874d" },
	{ "A.2 #1 zeros", KEY_0, NONCE_0, 0, NULL, ZERO64,
	  "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
	  "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586" },
	{ "A.2 #2 IETF contribution", KEY_1, NONCE_2, 1, IETF_CONTRIBUTION, NULL,
	  "a3fbf07df3fa2fde4f376ca23e82737041605d9f4f4f57bd8cff2c1d4b7955ec"
	  "2a97948bd3722915c8f3d337f7d370050e9e96d647b7c39f56e031ca5eb6250d"
	  "4042e02785ececfa4b4bb5e8ead0440e20b6e8db09d881a7c6132f420e527950"
	  "42bdfa7773d8a9051447b3291ce1411c680465552aa6c405b7764d5e87bea85a"
	  "d00f8449ed8f72d0d662ab052691ca66424bc86d2df80ea41f43abf937d3259d"
	  "c4b2d0dfb48a6c9139ddd7f76966e928e635553ba76c5c879d7b35d49eb2e62b"
	  "0871cdac638939e25e8a1e0ef9d5280fa8ca328b351c3c765989cbcf3daa8b6c"
	  "cc3aaf9f3979c92b3720fc88dc95ed84a1be059c6499b9fda236e7e818b04b0b"
	  "c39c1e876b193bfe5569753f88128cc08aaa9b63d1a16f80ef2554d7189c411f"
	  "5869ca52c5b83fa36ff216b9c1d30062bebcfd2dc5bce0911934fda79a86f6e6"
	  "98ced759c3ff9b6477338f3da4f9cd8514ea9982ccafb341b2384dd902f3d1ab"
	  "7ac61dd29c6f21ba5b862f3730e37cfdc4fd806c22f221" },
	{ "A.2 #3 jabberwocky, counter 42", KEY_1C, NONCE_2, 42, JABBERWOCKY, NULL,
	  "62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf"
	  "166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb"
	  "f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f77"
	  "04c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1" },
};

START_TEST(rfc_encrypt)
{
	const struct encrypt_row *v = &encrypt_rows[_i];
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN];
	uint8_t pt[BUF_LEN], ct[BUF_LEN], got[BUF_LEN];
	size_t n;

	unhex(v->key, key, sizeof(key));
	unhex(v->nonce, nonce, sizeof(nonce));
	n = field(v->text, v->pt, pt, sizeof(pt));
	ck_assert_uint_eq(unhex(v->ct, ct, sizeof(ct)), n);
	chachapoly_chacha20(got, pt, n, key, v->counter, nonce);
	ck_assert_msg(memcmp(got, ct, n) == 0, "RFC 8439 %s: encrypt", v->section);
	/* Decryption is the same operation (2.4), here in place. */
	chachapoly_chacha20(got, got, n, key, v->counter, nonce);
	ck_assert_msg(memcmp(got, pt, n) == 0, "RFC 8439 %s: decrypt", v->section);
}
END_TEST

/* Section 2.5 and A.3: key (r then s), message (text or hex), tag. */
static const struct poly_row {
	const char *section, *key, *text, *msg, *tag;
} poly_rows[] = {
	{ "2.5.2 Cryptographic Forum Research Group",
	  "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
	  "Cryptographic Forum Research Group", NULL, "a8061dc1305136c6c22b8baf0c0127a9" },
	{ "A.3 #1 all zero", KEY_0, NULL, ZERO64, ZERO16 },
	{ "A.3 #2 r = 0: the tag is s", ZERO16 "36e5f6b5c5e06070f0efca96227a863e",
	  IETF_CONTRIBUTION, NULL, "36e5f6b5c5e06070f0efca96227a863e" },
	{ "A.3 #3 s = 0", "36e5f6b5c5e06070f0efca96227a863e" ZERO16, IETF_CONTRIBUTION, NULL,
	  "f3477e7cd95417af89a6b8794c310cf0" },
	{ "A.3 #4 jabberwocky", KEY_1C, JABBERWOCKY, NULL, "4541669a7eaaee61e708dc7cbcc5eb62" },
	{ "A.3 #5 a partly reduced result that is not fully reduced",
	  "02000000000000000000000000000000" ZERO16, NULL, "ffffffffffffffffffffffffffffffff",
	  "03000000000000000000000000000000" },
	{ "A.3 #6 adding s overflows 2^128",
	  "02000000000000000000000000000000ffffffffffffffffffffffffffffffff", NULL,
	  "02000000000000000000000000000000", "03000000000000000000000000000000" },
	{ "A.3 #7 an all-ones limb with a carry from below",
	  "01000000000000000000000000000000" ZERO16, NULL,
	  "ffffffffffffffffffffffffffffffff"
	  "f0ffffffffffffffffffffffffffffff"
	  "11000000000000000000000000000000",
	  "05000000000000000000000000000000" },
	{ "A.3 #8 the result is exactly 2^130 - 5", "01000000000000000000000000000000" ZERO16,
	  NULL,
	  "ffffffffffffffffffffffffffffffff"
	  "fbfefefefefefefefefefefefefefefe"
	  "01010101010101010101010101010101",
	  ZERO16 },
	{ "A.3 #9 the result is exactly 2^130 - 6", "02000000000000000000000000000000" ZERO16,
	  NULL, "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff" },
	{ "A.3 #10 5*H+L reduction: a 131-bit intermediate result",
	  "01000000000000000400000000000000" ZERO16, NULL,
	  "e33594d7505e43b90000000000000000"
	  "3394d7505e4379cd0100000000000000"
	  "00000000000000000000000000000000"
	  "01000000000000000000000000000000",
	  "14000000000000005500000000000000" },
	{ "A.3 #11 5*H+L reduction: a 131-bit final result",
	  "01000000000000000400000000000000" ZERO16, NULL,
	  "e33594d7505e43b90000000000000000"
	  "3394d7505e4379cd0100000000000000"
	  "00000000000000000000000000000000",
	  "13000000000000000000000000000000" },
};

START_TEST(rfc_poly1305)
{
	const struct poly_row *v = &poly_rows[_i];
	uint8_t key[32], msg[BUF_LEN], want[CHACHAPOLY_TAG_LEN], tag[CHACHAPOLY_TAG_LEN];
	size_t n;

	ck_assert_uint_eq(unhex(v->key, key, sizeof(key)), sizeof(key));
	n = field(v->text, v->msg, msg, sizeof(msg));
	ck_assert_uint_eq(unhex(v->tag, want, sizeof(want)), sizeof(want));
	chachapoly_poly1305(tag, msg, n, key);
	ck_assert_msg(memcmp(tag, want, sizeof(tag)) == 0, "RFC 8439 %s", v->section);
}
END_TEST

/* Section 2.8.2 and A.5: the AEAD both ways. */
static const struct aead_row {
	const char *section, *key, *nonce, *ad, *text, *ct, *tag;
} aead_rows[] = {
	{ "2.8.2 sunscreen", KEY_80, "070000004041424344454647", "50515253c0c1c2c3c4c5c6c7",
	  SUNSCREEN,
	  "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
	  "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
	  "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
	  "3ff4def08e4b7a9de576d26586cec64b6116",
	  "1ae10b594f09e26a7e902ecbd0600691" },
	{ "A.5 decryption", KEY_1C, "000000000102030405060708", "f33388860000000000004e91",
	  INTERNET_DRAFTS,
	  "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2"
	  "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf"
	  "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855"
	  "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4"
	  "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e"
	  "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a"
	  "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10"
	  "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29"
	  "a6ad5cb4022b02709b",
	  "eead9d67890cbb22392336fea1851f38" },
};

START_TEST(rfc_aead)
{
	const struct aead_row *v = &aead_rows[_i];
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN], ad[64];
	uint8_t sealed[BUF_LEN], got[BUF_LEN];
	size_t n = strlen(v->text), ad_len;

	unhex(v->key, key, sizeof(key));
	unhex(v->nonce, nonce, sizeof(nonce));
	ad_len = unhex(v->ad, ad, sizeof(ad));
	ck_assert_uint_eq(unhex(v->ct, sealed, sizeof(sealed)), n);
	ck_assert_uint_eq(unhex(v->tag, sealed + n, CHACHAPOLY_TAG_LEN), CHACHAPOLY_TAG_LEN);

	ck_assert_int_eq(chachapoly_open(got, sealed, n + CHACHAPOLY_TAG_LEN, ad, ad_len, key,
					 nonce),
			 (long)n);
	ck_assert_msg(memcmp(got, v->text, n) == 0, "RFC 8439 %s: open", v->section);
	ck_assert_uint_eq(chachapoly_seal(got, (const uint8_t *)v->text, n, ad, ad_len, key, nonce),
			  n + CHACHAPOLY_TAG_LEN);
	ck_assert_msg(memcmp(got, sealed, n + CHACHAPOLY_TAG_LEN) == 0, "RFC 8439 %s: seal",
		      v->section);
}
END_TEST

/*
 * The files' counts. Records are counted twice: by their "COUNT" lines,
 * read raw, and by the record reader; a record the reader lost or merged
 * would make the two disagree.
 */
struct file_count {
	const char *name;
	int total;    /* "COUNT" lines in the file */
	int usable;   /* records with a 12-byte nonce and a 16-byte tag */
	int passed;   /* usable records that gave the expected result */
	int rejected; /* of those, the ones expected to fail to open, and that did */
};

static int count_lines(const char *relpath)
{
	char path[512], line[64];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, relpath);
	f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s (run tests/deps.sh)", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t len = strlen(line);

		if (strncmp(line, "COUNT", 5) == 0)
			n++;
		/* The rest of a long line is no new line. */
		while (len > 0 && line[len - 1] != '\n' && fgets(line, sizeof(line), f) != NULL)
			len = strlen(line);
	}
	fclose(f);
	return n;
}

static void file_done(struct file_count *c, const char *relpath)
{
	ck_assert_int_gt(c->usable, 0);
	ck_assert_int_eq(c->passed, c->usable);
	ck_assert_int_eq(c->total, count_lines(relpath));
	printf("%s: %d vectors passed (%d rejected as expected)", c->name, c->passed, c->rejected);
	if (c->total > c->usable)
		printf(", %d skipped (not a 12-byte nonce and 16-byte tag)", c->total - c->usable);
	printf("\n");
	fflush(stdout);
}

/* A field of a vector file: hex, or (boringssl.txt) a "quoted string". A missing field is -1. */
static long file_field(const struct vectors_file *vf, const char *name, uint8_t *out, size_t cap)
{
	const char *s = vectors_get(vf, name);
	size_t n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		ck_assert_uint_le(n - 2, cap);
		memcpy(out, s + 1, n - 2);
		return (long)(n - 2);
	}
	return vectors_hex(s, out, cap);
}

/* One AEAD vector: seal gives ct||tag and open gives pt; or, when it must fail, open rejects it. */
static void check_aead(const uint8_t *key, const uint8_t *nonce, const uint8_t *ad, size_t ad_len,
		       const uint8_t *pt, const uint8_t *ct, size_t len, const uint8_t *tag,
		       int must_fail, const char *where)
{
	static uint8_t sealed[8192], got[8192];

	ck_assert_uint_le(len + CHACHAPOLY_TAG_LEN, sizeof(sealed));
	memcpy(sealed, ct, len);
	memcpy(sealed + len, tag, CHACHAPOLY_TAG_LEN);
	memset(got, FILL, sizeof(got));
	if (must_fail) {
		ck_assert_msg(chachapoly_open(got, sealed, len + CHACHAPOLY_TAG_LEN, ad, ad_len, key,
					      nonce) == -1,
			      "%s: opened a vector that must fail", where);
		ck_assert_msg(len == 0 || ct_is_zero(got, len), "%s: output not zeroed", where);
		return;
	}
	ck_assert_msg(chachapoly_open(got, sealed, len + CHACHAPOLY_TAG_LEN, ad, ad_len, key,
				      nonce) == (long)len,
		      "%s: open failed", where);
	ck_assert_msg(memcmp(got, pt, len) == 0, "%s: wrong plaintext", where);
	ck_assert_uint_eq(chachapoly_seal(got, pt, len, ad, ad_len, key, nonce),
			  len + CHACHAPOLY_TAG_LEN);
	ck_assert_msg(memcmp(got, sealed, len + CHACHAPOLY_TAG_LEN) == 0, "%s: wrong seal", where);
}

/* One AEAD file; names are the file's field names, in the order key, nonce, ad, pt, ct, tag. */
static void aead_file(const char *relpath, const char *name, const char *const fields[6])
{
	static uint8_t buf[6][8192];
	struct file_count c = { name, 0, 0, 0, 0 };
	struct vectors_file vf;

	ck_assert_int_eq(vectors_open(&vf, relpath), 0);
	while (vectors_next(&vf)) {
		const char *count = vectors_get(&vf, "COUNT");
		long len[6];
		char where[128];
		int must_fail;

		snprintf(where, sizeof(where), "%s COUNT %s", name, count != NULL ? count : "?");
		for (int i = 0; i < 6; i++) {
			len[i] = file_field(&vf, fields[i], buf[i], sizeof(buf[i]));
			ck_assert_msg(len[i] >= 0, "%s: bad %s", where, fields[i]);
		}
		c.total++;
		if (len[1] != CHACHAPOLY_NONCE_LEN || len[5] != CHACHAPOLY_TAG_LEN)
			continue;
		c.usable++;
		ck_assert_int_eq(len[0], CHACHAPOLY_KEY_LEN);
		ck_assert_int_eq(len[3], len[4]);
		/* openssl.txt marks the vectors whose tag must not verify. */
		must_fail = vectors_get(&vf, "Result") != NULL;
		check_aead(buf[0], buf[1], buf[2], (size_t)len[2], buf[3], buf[4], (size_t)len[3],
			   buf[5], must_fail, where);
		c.passed++;
		c.rejected += must_fail;
	}
	vectors_close(&vf);
	file_done(&c, relpath);
}

START_TEST(file_openssl)
{
	static const char *const fields[6] = { "Key", "IV", "AAD",
						"Plaintext", "Ciphertext", "Tag" };

	aead_file("ciphers/ChaCha20Poly1305/openssl.txt", "openssl.txt", fields);
}
END_TEST

START_TEST(file_boringssl)
{
	static const char *const fields[6] = { "KEY", "NONCE", "AD", "IN", "CT", "TAG" };

	aead_file("ciphers/ChaCha20Poly1305/boringssl.txt", "boringssl.txt", fields);
}
END_TEST

START_TEST(file_chacha20)
{
	const char *relpath = "ciphers/ChaCha20/rfc7539.txt";
	static uint8_t key[64], nonce[64], pt[4096], ct[4096], got[4096];
	struct file_count c = { "ChaCha20/rfc7539.txt", 0, 0, 0, 0 };
	struct vectors_file vf;

	ck_assert_int_eq(vectors_open(&vf, relpath), 0);
	while (vectors_next(&vf)) {
		long klen = file_field(&vf, "KEY", key, sizeof(key));
		long nlen = file_field(&vf, "NONCE", nonce, sizeof(nonce));
		long plen = file_field(&vf, "PLAINTEXT", pt, sizeof(pt));
		long clen = file_field(&vf, "CIPHERTEXT", ct, sizeof(ct));
		const char *counter = vectors_get(&vf, "INITIAL_BLOCK_COUNTER");

		c.total++;
		ck_assert(klen == CHACHAPOLY_KEY_LEN && plen >= 0 && plen == clen);
		ck_assert(counter != NULL);
		if (nlen != CHACHAPOLY_NONCE_LEN)
			continue;
		c.usable++;
		chachapoly_chacha20(got, pt, (size_t)plen, key,
				    (uint32_t)strtoul(counter, NULL, 10), nonce);
		ck_assert_msg(memcmp(got, ct, (size_t)plen) == 0, "ChaCha20 COUNT %s",
			      vectors_get(&vf, "COUNT"));
		c.passed++;
	}
	vectors_close(&vf);
	file_done(&c, relpath);
}
END_TEST

START_TEST(file_poly1305)
{
	const char *relpath = "poly1305/rfc7539.txt";
	static uint8_t key[64], msg[4096], want[64];
	uint8_t tag[CHACHAPOLY_TAG_LEN];
	struct file_count c = { "poly1305/rfc7539.txt", 0, 0, 0, 0 };
	struct vectors_file vf;

	ck_assert_int_eq(vectors_open(&vf, relpath), 0);
	while (vectors_next(&vf)) {
		long klen = file_field(&vf, "KEY", key, sizeof(key));
		long mlen = file_field(&vf, "MSG", msg, sizeof(msg));
		long tlen = file_field(&vf, "TAG", want, sizeof(want));

		c.total++;
		ck_assert(klen == 32 && mlen >= 0);
		if (tlen != CHACHAPOLY_TAG_LEN)
			continue;
		c.usable++;
		chachapoly_poly1305(tag, msg, (size_t)mlen, key);
		ck_assert_msg(memcmp(tag, want, sizeof(tag)) == 0, "Poly1305 COUNT %s",
			      vectors_get(&vf, "COUNT"));
		c.passed++;
	}
	vectors_close(&vf);
	file_done(&c, relpath);
}
END_TEST

/* A fixed message for the rejection tests: 100 bytes, 20 of associated data. */
#define BAD_PT_LEN 100
#define BAD_AD_LEN 20

struct sample {
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN];
	uint8_t pt[BAD_PT_LEN], ad[BAD_AD_LEN];
	uint8_t sealed[BAD_PT_LEN + CHACHAPOLY_TAG_LEN];
};

static void fill(uint8_t *p, size_t n, struct rng64 *r)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rng64star_next32(r);
}

static void sample_make(struct sample *s)
{
	struct rng64 r = { UINT64_C(0x8439) };

	fill(s->key, sizeof(s->key), &r);
	fill(s->nonce, sizeof(s->nonce), &r);
	fill(s->pt, sizeof(s->pt), &r);
	fill(s->ad, sizeof(s->ad), &r);
	ck_assert_uint_eq(chachapoly_seal(s->sealed, s->pt, sizeof(s->pt), s->ad, sizeof(s->ad),
					  s->key, s->nonce),
			  sizeof(s->sealed));
}

/*
 * Opens in (in_len bytes) into a buffer full of FILL; asserts -1, the
 * in_len - tag bytes of out zeroed and nothing written past them.
 */
static void assert_rejected(const struct sample *s, const uint8_t *in, size_t in_len,
			    const uint8_t *ad, size_t ad_len, const char *what, size_t pos)
{
	uint8_t out[BAD_PT_LEN + CHACHAPOLY_TAG_LEN + 32];
	size_t zeroed = in_len > CHACHAPOLY_TAG_LEN ? in_len - CHACHAPOLY_TAG_LEN : 0;

	memset(out, FILL, sizeof(out));
	ck_assert_msg(chachapoly_open(out, in, in_len, ad, ad_len, s->key, s->nonce) == -1,
		      "%s %zu: opened", what, pos);
	for (size_t i = 0; i < sizeof(out); i++)
		ck_assert_msg(out[i] == (i < zeroed ? 0 : FILL), "%s %zu: out[%zu] = %#x", what,
			      pos, i, out[i]);
}

/* A flipped bit in each byte of the ciphertext and of the tag (bit i % 8 of byte i). */
START_TEST(reject_flipped_bit)
{
	struct sample s;
	uint8_t bad[sizeof(s.sealed)];

	sample_make(&s);
	for (size_t i = 0; i < sizeof(s.sealed); i++) {
		memcpy(bad, s.sealed, sizeof(bad));
		bad[i] ^= (uint8_t)(1u << (i % 8));
		assert_rejected(&s, bad, sizeof(bad), s.ad, sizeof(s.ad),
				i < BAD_PT_LEN ? "ciphertext byte" : "tag byte", i);
	}
}
END_TEST

/* Every associated-data byte changed, then the associated data cut short or dropped. */
START_TEST(reject_modified_ad)
{
	struct sample s;
	uint8_t ad[BAD_AD_LEN];

	sample_make(&s);
	for (size_t i = 0; i < sizeof(ad); i++) {
		memcpy(ad, s.ad, sizeof(ad));
		ad[i] ^= 0x01;
		assert_rejected(&s, s.sealed, sizeof(s.sealed), ad, sizeof(ad), "ad byte", i);
	}
	assert_rejected(&s, s.sealed, sizeof(s.sealed), s.ad, sizeof(s.ad) - 1, "ad length", 19);
	assert_rejected(&s, s.sealed, sizeof(s.sealed), NULL, 0, "ad length", 0);
}
END_TEST

/* Every truncation, 0 .. in_len - 1 bytes, including those shorter than a tag. */
START_TEST(reject_truncated)
{
	struct sample s;

	sample_make(&s);
	for (size_t len = 0; len < sizeof(s.sealed); len++)
		assert_rejected(&s, s.sealed, len, s.ad, sizeof(s.ad), "truncated to", len);
}
END_TEST

/* Another key or nonce (one bit apart), and a failed open in place: in's text zeroed too. */
START_TEST(reject_wrong_key_nonce_in_place)
{
	struct sample s, t;
	uint8_t buf[sizeof(s.sealed)];

	sample_make(&s);
	t = s;
	t.key[31] ^= 0x80;
	assert_rejected(&t, s.sealed, sizeof(s.sealed), s.ad, sizeof(s.ad), "other key", 0);
	t = s;
	t.nonce[0] ^= 0x01;
	assert_rejected(&t, s.sealed, sizeof(s.sealed), s.ad, sizeof(s.ad), "other nonce", 0);

	memcpy(buf, s.sealed, sizeof(buf));
	buf[sizeof(buf) - 1] ^= 0x40;
	ck_assert_int_eq(chachapoly_open(buf, buf, sizeof(buf), s.ad, sizeof(s.ad), s.key, s.nonce),
			 -1);
	ck_assert(ct_is_zero(buf, BAD_PT_LEN));
}
END_TEST

/*
 * Seal and open for every length 0..1300, apart and in place (out == in):
 * the same bytes either way, and the text back.
 */
#define ROUND_TRIP_MAX 1300

START_TEST(round_trip)
{
	static uint8_t pt[ROUND_TRIP_MAX], apart[ROUND_TRIP_MAX + CHACHAPOLY_TAG_LEN];
	static uint8_t inplace[ROUND_TRIP_MAX + CHACHAPOLY_TAG_LEN], back[ROUND_TRIP_MAX];
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN], ad[37];
	struct rng64 r = { UINT64_C(0x7539) };

	for (size_t len = 0; len <= ROUND_TRIP_MAX; len++) {
		size_t ad_len = len % sizeof(ad);

		fill(key, sizeof(key), &r);
		fill(nonce, sizeof(nonce), &r);
		fill(ad, ad_len, &r);
		fill(pt, len, &r);
		ck_assert_uint_eq(chachapoly_seal(apart, pt, len, ad, ad_len, key, nonce),
				  len + CHACHAPOLY_TAG_LEN);
		memcpy(inplace, pt, len);
		ck_assert_uint_eq(chachapoly_seal(inplace, inplace, len, ad, ad_len, key, nonce),
				  len + CHACHAPOLY_TAG_LEN);
		ck_assert_msg(memcmp(apart, inplace, len + CHACHAPOLY_TAG_LEN) == 0,
			      "len %zu: in place differs", len);
		/* The ciphertext is not the text (except when there is none). */
		ck_assert_msg(len < 8 || memcmp(apart, pt, len) != 0, "len %zu: not encrypted",
			      len);

		memset(back, FILL, sizeof(back));
		ck_assert_int_eq(chachapoly_open(back, apart, len + CHACHAPOLY_TAG_LEN, ad, ad_len,
						 key, nonce),
				 (long)len);
		ck_assert_msg(memcmp(back, pt, len) == 0, "len %zu: open apart", len);
		ck_assert_msg(len == ROUND_TRIP_MAX || back[len] == FILL, "len %zu: wrote past",
			      len);
		ck_assert_int_eq(chachapoly_open(inplace, inplace, len + CHACHAPOLY_TAG_LEN, ad,
						 ad_len, key, nonce),
				 (long)len);
		ck_assert_msg(memcmp(inplace, pt, len) == 0, "len %zu: open in place", len);
	}
}
END_TEST

/*
 * The key stream of one call equals block-by-block calls with counter,
 * counter + 1, ...: however the blocks are computed together, they follow
 * section 2.4, across the 32-bit counter's wrap too.
 */
START_TEST(stream_is_blockwise)
{
	static uint8_t whole[21 * CHACHAPOLY_BLOCK_LEN], piece[CHACHAPOLY_BLOCK_LEN];
	const uint32_t counters[] = { 0, 1, 7, UINT32_C(0xfffffff0) };
	uint8_t key[CHACHAPOLY_KEY_LEN], nonce[CHACHAPOLY_NONCE_LEN];
	struct rng64 r = { UINT64_C(0x2024) };

	fill(key, sizeof(key), &r);
	fill(nonce, sizeof(nonce), &r);
	for (size_t c = 0; c < (size_t)ROWS(counters); c++) {
		memset(whole, 0, sizeof(whole));
		chachapoly_chacha20(whole, whole, sizeof(whole), key, counters[c], nonce);
		for (uint32_t b = 0; b < sizeof(whole) / CHACHAPOLY_BLOCK_LEN; b++) {
			const uint8_t *block = whole + b * CHACHAPOLY_BLOCK_LEN;

			memset(piece, 0, sizeof(piece));
			chachapoly_chacha20(piece, piece, sizeof(piece), key, counters[c] + b,
					    nonce);
			ck_assert_msg(memcmp(piece, block, sizeof(piece)) == 0, "counter %u + %u",
				      counters[c], b);
		}
	}
}
END_TEST

/* Empty inputs: no text, no associated data, and out never touched by chacha20. */
START_TEST(empty_inputs)
{
	uint8_t key[CHACHAPOLY_KEY_LEN] = { 1 }, nonce[CHACHAPOLY_NONCE_LEN] = { 2 };
	uint8_t sealed[CHACHAPOLY_TAG_LEN], tag[CHACHAPOLY_TAG_LEN], out[4];

	ck_assert_uint_eq(chachapoly_seal(sealed, NULL, 0, NULL, 0, key, nonce),
			  CHACHAPOLY_TAG_LEN);
	ck_assert_int_eq(chachapoly_open(NULL, sealed, sizeof(sealed), NULL, 0, key, nonce), 0);
	sealed[0] ^= 1;
	ck_assert_int_eq(chachapoly_open(NULL, sealed, sizeof(sealed), NULL, 0, key, nonce), -1);
	memset(out, FILL, sizeof(out));
	chachapoly_chacha20(out, out, 0, key, 0, nonce);
	ck_assert_uint_eq(out[0], FILL);
	/* Poly1305 of nothing is s (section 2.5: no block, so the accumulator stays 0). */
	chachapoly_poly1305(tag, NULL, 0, (const uint8_t *)"rrrrrrrrrrrrrrrrssssssssssssssss");
	ck_assert_mem_eq(tag, "ssssssssssssssss", CHACHAPOLY_TAG_LEN);
}
END_TEST

static Suite *chachapoly_suite(void)
{
	Suite *s = suite_create("chachapoly");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, rfc_keystream, 0, ROWS(keystream_rows));
	tcase_add_loop_test(tc, rfc_encrypt, 0, ROWS(encrypt_rows));
	tcase_add_loop_test(tc, rfc_poly1305, 0, ROWS(poly_rows));
	tcase_add_loop_test(tc, rfc_aead, 0, ROWS(aead_rows));
	tcase_add_test(tc, file_openssl);
	tcase_add_test(tc, file_boringssl);
	tcase_add_test(tc, file_chacha20);
	tcase_add_test(tc, file_poly1305);
	tcase_add_test(tc, reject_flipped_bit);
	tcase_add_test(tc, reject_modified_ad);
	tcase_add_test(tc, reject_truncated);
	tcase_add_test(tc, reject_wrong_key_nonce_in_place);
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, stream_is_blockwise);
	tcase_add_test(tc, empty_inputs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(chachapoly_suite());
}
