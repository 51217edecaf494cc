/* test_transfer.c - unit tests for transfer_wire.c: the FILE stream's messages, safe names, unique names, the progress line. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "transfer.h"

/* An OFFER of report.pdf, 2100000 bytes, with a made-up hash. */
static struct transfer_msg offer_msg(const char *name)
{
	struct transfer_msg m;

	memset(&m, 0, sizeof(m));
	m.type = TRANSFER_OFFER;
	m.size = 2100000;
	for (int i = 0; i < SHA256_LEN; i++)
		m.sha256[i] = (uint8_t)(0xa0 + i);
	snprintf(m.name, sizeof(m.name), "%s", name);
	return m;
}

START_TEST(offer_bytes)
{
	struct transfer_msg m = offer_msg("a.b"), out;
	uint8_t buf[TRANSFER_MSG_MAX];
	int n = transfer_msg_encode(&m, buf, sizeof(buf));

	/* type 'O', body 8 + 32 + 1 + 3 = 44 bytes, size 2100000 = 0x200b20 big-endian */
	ck_assert_int_eq(n, 3 + 44);
	ck_assert_uint_eq(buf[0], 'O');
	ck_assert_uint_eq(buf[1], 0);
	ck_assert_uint_eq(buf[2], 44);
	ck_assert_mem_eq(buf + 3, "\x00\x00\x00\x00\x00\x20\x0b\x20", 8);
	ck_assert_uint_eq(buf[3 + 8], 0xa0);           /* the hash's first byte */
	ck_assert_uint_eq(buf[3 + 8 + 32], 3);         /* the name's length */
	ck_assert_mem_eq(buf + 3 + 8 + 32 + 1, "a.b", 3);
	ck_assert_int_eq(transfer_msg_decode(buf, (size_t)n, &out), n);
	ck_assert_uint_eq(out.size, 2100000);
	ck_assert_str_eq(out.name, "a.b");
	ck_assert_mem_eq(out.sha256, m.sha256, SHA256_LEN);
}
END_TEST

/* Every message type round-trips; a prefix of one is "read more" (0), never an error. */
START_TEST(round_trips_and_prefixes)
{
	struct transfer_msg ms[6], out;
	uint8_t buf[TRANSFER_MSG_MAX];

	memset(ms, 0, sizeof(ms));
	ms[0] = offer_msg("report.pdf");
	ms[1].type = TRANSFER_ACCEPT;
	ms[1].offset = 12345;
	ms[1].sha256[0] = 7;
	ms[2].type = TRANSFER_START;
	ms[2].offset = UINT64_C(1) << 40;
	ms[3].type = TRANSFER_REJECT;
	snprintf(ms[3].reason, sizeof(ms[3].reason), "no thanks");
	ms[4].type = TRANSFER_FAILED;
	ms[5].type = TRANSFER_DONE;
	for (int i = 0; i < 6; i++) {
		int n = transfer_msg_encode(&ms[i], buf, sizeof(buf));

		ck_assert_int_gt(n, 0);
		for (int k = 0; k < n; k++)
			ck_assert_int_eq(transfer_msg_decode(buf, (size_t)k, &out), 0);
		ck_assert_int_eq(transfer_msg_decode(buf, (size_t)n, &out), n);
		ck_assert_uint_eq(out.type, ms[i].type);
		ck_assert_uint_eq(out.offset, ms[i].offset);
		ck_assert_uint_eq(out.size, ms[i].size);
		ck_assert_str_eq(out.reason, ms[i].reason);
		ck_assert_str_eq(out.name, ms[i].name);
		/* Too small a buffer to encode into: refused, for every size short of it. */
		for (int k = 0; k < n; k++)
			ck_assert_int_eq(transfer_msg_encode(&ms[i], buf, (size_t)k), TRANSFER_ENOSPACE);
	}
}
END_TEST

/* Offers whose name could leave the directory, or hide, or hold control bytes: refused both ways. */
START_TEST(bad_names_refused)
{
	static const char *bad[] = {
		"", ".", "..", "../etc/passwd", "a/b", "/etc/passwd", "dir/", "a\\b", ".hidden",
		"tab\there", "new\nline", "esc\033[2J", "del\177",
	};
	struct transfer_msg m, out;
	uint8_t buf[TRANSFER_MSG_MAX];
	int n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(!transfer_name_ok(bad[i]), "%s taken", bad[i]);
		m = offer_msg(bad[i]);
		ck_assert_int_eq(transfer_msg_encode(&m, buf, sizeof(buf)), TRANSFER_ENAME);
	}
	ck_assert(transfer_name_ok("report.pdf"));
	ck_assert(transfer_name_ok("r\xc3\xa9sum\xc3\xa9 (final).txt"));
	/* Forged on the wire: a '/' and a NUL inside the name, a name too long for its length. */
	m = offer_msg("abc");
	n = transfer_msg_encode(&m, buf, sizeof(buf));
	buf[n - 2] = '/';
	ck_assert_int_eq(transfer_msg_decode(buf, (size_t)n, &out), TRANSFER_ENAME);
	buf[n - 2] = '\0';
	ck_assert_int_eq(transfer_msg_decode(buf, (size_t)n, &out), TRANSFER_ENAME);
	buf[n - 2] = 'b';
	buf[3 + 8 + 32] = 4; /* says 4, holds 3 */
	ck_assert_int_eq(transfer_msg_decode(buf, (size_t)n, &out), TRANSFER_ELENGTH);
}
END_TEST

START_TEST(bad_messages_refused)
{
	uint8_t buf[TRANSFER_MSG_MAX + 8];
	struct transfer_msg m = offer_msg("x"), out;
	int n;

	/* An unknown type. */
	memcpy(buf, "Z\x00\x00", 3);
	ck_assert_int_eq(transfer_msg_decode(buf, 3, &out), TRANSFER_ETYPE);
	/* START with 7 bytes, DONE with 1: wrong lengths, whatever follows. */
	memcpy(buf, "S\x00\x07", 3);
	ck_assert_int_eq(transfer_msg_decode(buf, 10, &out), TRANSFER_ESHORT);
	memcpy(buf, "D\x00\x01", 3);
	ck_assert_int_eq(transfer_msg_decode(buf, 4, &out), TRANSFER_ELENGTH);
	/* A size past TRANSFER_SIZE_MAX. */
	m.size = TRANSFER_SIZE_MAX + 1;
	n = transfer_msg_encode(&m, buf, sizeof(buf));
	ck_assert_int_eq(transfer_msg_decode(buf, (size_t)n, &out), TRANSFER_EVALUE);
	/* A reason with a control byte. */
	memcpy(buf, "R\x00\x03\x02" "a\033", 6);
	ck_assert_int_eq(transfer_msg_decode(buf, 6, &out), TRANSFER_EVALUE);
	/* Two messages back to back: the first is read alone. */
	memcpy(buf, "D\x00\x00" "D\x00\x00", 6);
	ck_assert_int_eq(transfer_msg_decode(buf, 6, &out), 3);
}
END_TEST

START_TEST(names_and_copies)
{
	char out[300];

	transfer_basename("/home/alice/report.pdf", out, sizeof(out));
	ck_assert_str_eq(out, "report.pdf");
	transfer_basename("dir/sub/", out, sizeof(out));
	ck_assert_str_eq(out, "sub");
	transfer_basename("plain", out, sizeof(out));
	ck_assert_str_eq(out, "plain");
	ck_assert_int_eq(transfer_unique_name("report.pdf", 0, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "report.pdf");
	ck_assert_int_eq(transfer_unique_name("report.pdf", 1, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "report (1).pdf");
	ck_assert_int_eq(transfer_unique_name("archive.tar.gz", 12, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "archive.tar (12).gz");
	ck_assert_int_eq(transfer_unique_name("README", 2, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "README (2)");
	ck_assert_int_eq(transfer_unique_name("README", 2, out, 10), -1);
}
END_TEST

START_TEST(progress_line)
{
	char out[200], hex[65];
	uint8_t sha[SHA256_LEN];

	transfer_progress_line(out, sizeof(out), "r.pdf to bob", 450, 1000, 2000000, 10);
	ck_assert_str_eq(out, "r.pdf to bob [####------]  45%  2.0 MB/s  1 s left");
	transfer_progress_line(out, sizeof(out), "r.pdf to bob", 0, 1000, 0, 0);
	ck_assert_str_eq(out, "r.pdf to bob    0%  -/s");
	transfer_progress_line(out, sizeof(out), "x", 5000000, 5000000, 1000000, 4);
	ck_assert_str_eq(out, "x [####] 100%  1.0 MB/s");
	transfer_bytes_str(999, out, sizeof(out));
	ck_assert_str_eq(out, "999 bytes");
	transfer_bytes_str(2100000, out, sizeof(out));
	ck_assert_str_eq(out, "2.1 MB");
	sha256_hash(sha, "abc", 3);
	transfer_hex(sha, hex);
	/* FIPS 180-4's "abc" */
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

static Suite *transfer_suite(void)
{
	Suite *s = suite_create("transfer");
	TCase *tc = tcase_create("wire");

	tcase_add_test(tc, offer_bytes);
	tcase_add_test(tc, round_trips_and_prefixes);
	tcase_add_test(tc, bad_names_refused);
	tcase_add_test(tc, bad_messages_refused);
	tcase_add_test(tc, names_and_copies);
	tcase_add_test(tc, progress_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return harness_run(transfer_suite());
}
