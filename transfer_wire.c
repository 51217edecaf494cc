/* transfer_wire.c - the messages on a FILE stream, safe file names, the progress line (transfer.h); pure. */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "transfer.h"

/* ---- names ---- */

/* Returns 1 when the byte may stand in a name or a reason: no control byte (C0, DEL). */
static int printable(unsigned char ch)
{
	return ch >= 0x20 && ch != 0x7f;
}

int transfer_name_ok(const char *name)
{
	size_t len = strlen(name);

	/* A leading dot: ".", "..", hidden files, and our own partial files. */
	if (len == 0 || len > TRANSFER_NAME_MAX || name[0] == '.')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!printable((unsigned char)name[i]) || name[i] == '/' || name[i] == '\\')
			return 0;
	return 1;
}

void transfer_basename(const char *path, char *out, size_t cap)
{
	size_t end = strlen(path), start;

	while (end > 1 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	snprintf(out, cap, "%.*s", (int)(end - start), path + start);
}

int transfer_unique_name(const char *name, unsigned n, char *out, size_t cap)
{
	const char *dot = strrchr(name, '.');
	size_t stem;
	int w;

	if (n == 0) {
		w = snprintf(out, cap, "%s", name);
	} else {
		/* A dot at the start is no extension's (".profile"). */
		stem = dot != NULL && dot != name ? (size_t)(dot - name) : strlen(name);
		w = snprintf(out, cap, "%.*s (%u)%s", (int)stem, name, n, name + stem);
	}
	return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* ---- the messages ---- */

/* The length of a type's body, or its bounds. Returns 0, or TRANSFER_ETYPE. */
static int body_bounds(uint8_t type, size_t *min, size_t *max)
{
	switch (type) {
	case TRANSFER_OFFER: *min = 8 + SHA256_LEN + 1 + 1; *max = *min - 1 + TRANSFER_NAME_MAX; return 0;
	case TRANSFER_ACCEPT: *min = *max = 8 + SHA256_LEN; return 0;
	case TRANSFER_START: *min = *max = 8; return 0;
	case TRANSFER_REJECT:
	case TRANSFER_FAILED: *min = 1; *max = 1 + TRANSFER_REASON_MAX; return 0;
	case TRANSFER_DONE: *min = *max = 0; return 0;
	default: return TRANSFER_ETYPE;
	}
}

/* Copies a length-prefixed text of body[0..len) into out: every byte printable, the length exact. */
static int get_text(const uint8_t *body, size_t len, char *out, size_t cap)
{
	size_t n = body[0];

	if (len - 1 != n || n >= cap)
		return TRANSFER_ELENGTH;
	for (size_t i = 0; i < n; i++)
		if (!printable(body[1 + i]))
			return TRANSFER_EVALUE;
	memcpy(out, body + 1, n);
	out[n] = '\0';
	return 0;
}

int transfer_msg_decode(const uint8_t *buf, size_t len, struct transfer_msg *out)
{
	size_t blen, min, max;
	const uint8_t *b;
	int rc;

	memset(out, 0, sizeof(*out));
	if (len < TRANSFER_MSG_HEADER)
		return 0;
	out->type = buf[0];
	blen = bytes_get16(buf + 1);
	if (body_bounds(buf[0], &min, &max) < 0)
		return TRANSFER_ETYPE;
	if (blen < min)
		return TRANSFER_ESHORT;
	if (blen > max)
		return TRANSFER_ELENGTH;
	if (len - TRANSFER_MSG_HEADER < blen)
		return 0;
	b = buf + TRANSFER_MSG_HEADER;
	switch (out->type) {
	case TRANSFER_OFFER:
		out->size = bytes_get64(b);
		memcpy(out->sha256, b + 8, SHA256_LEN);
		if (out->size > TRANSFER_SIZE_MAX)
			return TRANSFER_EVALUE;
		if (b[8 + SHA256_LEN] != blen - (8 + SHA256_LEN + 1))
			return TRANSFER_ELENGTH;
		memcpy(out->name, b + 8 + SHA256_LEN + 1, blen - (8 + SHA256_LEN + 1));
		/* A NUL inside would cut the name short of what was checked. */
		if (strlen(out->name) != blen - (8 + SHA256_LEN + 1) || !transfer_name_ok(out->name))
			return TRANSFER_ENAME;
		break;
	case TRANSFER_ACCEPT:
		out->offset = bytes_get64(b);
		memcpy(out->sha256, b + 8, SHA256_LEN);
		break;
	case TRANSFER_START:
		out->offset = bytes_get64(b);
		break;
	case TRANSFER_REJECT:
	case TRANSFER_FAILED:
		rc = get_text(b, blen, out->reason, sizeof(out->reason));
		if (rc < 0)
			return rc;
		break;
	default:
		break;
	}
	return (int)(TRANSFER_MSG_HEADER + blen);
}

int transfer_msg_encode(const struct transfer_msg *m, uint8_t *buf, size_t cap)
{
	uint8_t body[TRANSFER_MSG_MAX];
	size_t n = 0, len;

	switch (m->type) {
	case TRANSFER_OFFER:
		len = strlen(m->name);
		if (!transfer_name_ok(m->name))
			return TRANSFER_ENAME;
		bytes_put64(body, m->size);
		memcpy(body + 8, m->sha256, SHA256_LEN);
		body[8 + SHA256_LEN] = (uint8_t)len;
		memcpy(body + 8 + SHA256_LEN + 1, m->name, len);
		n = 8 + SHA256_LEN + 1 + len;
		break;
	case TRANSFER_ACCEPT:
		bytes_put64(body, m->offset);
		memcpy(body + 8, m->sha256, SHA256_LEN);
		n = 8 + SHA256_LEN;
		break;
	case TRANSFER_START:
		bytes_put64(body, m->offset);
		n = 8;
		break;
	case TRANSFER_REJECT:
	case TRANSFER_FAILED:
		len = strlen(m->reason);
		if (len > TRANSFER_REASON_MAX)
			return TRANSFER_ELENGTH;
		body[0] = (uint8_t)len;
		memcpy(body + 1, m->reason, len);
		n = 1 + len;
		break;
	case TRANSFER_DONE:
		break;
	default:
		return TRANSFER_ETYPE;
	}
	if (cap < TRANSFER_MSG_HEADER || cap - TRANSFER_MSG_HEADER < n)
		return TRANSFER_ENOSPACE;
	buf[0] = m->type;
	bytes_put16(buf + 1, (uint16_t)n);
	memcpy(buf + TRANSFER_MSG_HEADER, body, n);
	return (int)(TRANSFER_MSG_HEADER + n);
}

/* ---- what the user sees ---- */

void transfer_bytes_str(uint64_t bytes, char *out, size_t cap)
{
	if (bytes < 1000)
		snprintf(out, cap, "%llu bytes", (unsigned long long)bytes);
	else if (bytes < 1000000)
		snprintf(out, cap, "%.1f kB", (double)bytes / 1e3);
	else if (bytes < 1000000000)
		snprintf(out, cap, "%.1f MB", (double)bytes / 1e6);
	else
		snprintf(out, cap, "%.2f GB", (double)bytes / 1e9);
}

void transfer_progress_line(char *out, size_t cap, const char *label, uint64_t done,
			    uint64_t total, uint64_t rate, int bar_cols)
{
	char bar[128], r[32], left[32] = "";
	unsigned pct = total > 0 ? (unsigned)(done * 100 / total) : 100;
	int fill;

	if (bar_cols > (int)sizeof(bar) - 3)
		bar_cols = (int)sizeof(bar) - 3;
	bar[0] = '\0';
	if (bar_cols > 0) {
		fill = total > 0 ? (int)(done * (uint64_t)bar_cols / total) : bar_cols;
		bar[0] = '[';
		for (int i = 0; i < bar_cols; i++)
			bar[1 + i] = i < fill ? '#' : '-';
		bar[1 + bar_cols] = ']';
		bar[2 + bar_cols] = '\0';
	}
	transfer_bytes_str(rate, r, sizeof(r));
	if (rate > 0 && total > done)
		snprintf(left, sizeof(left), "  %llu s left",
			 (unsigned long long)((total - done + rate - 1) / rate));
	snprintf(out, cap, "%s %s %3u%%  %s/s%s", label, bar, pct, rate > 0 ? r : "-", left);
}

void transfer_hex(const uint8_t sha[SHA256_LEN], char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < SHA256_LEN; i++) {
		out[2 * i] = digits[sha[i] >> 4];
		out[2 * i + 1] = digits[sha[i] & 15];
	}
	out[2 * SHA256_LEN] = '\0';
}
