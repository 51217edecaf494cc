/* protocol_encode.c - encodes p2pchat datagrams from the layout table, checking every rule. */
#include <string.h>

#include "bytes.h"
#include "protocol_impl.h"

/*
 * The write cursor. Capacity is checked before every write, and once a
 * write does not fit nothing more is written, so buf[cap..] is never
 * touched. The validity checks go on regardless, so an invalid message is
 * reported as PROTO_EINVAL whatever the buffer size.
 */
struct wcur {
	uint8_t *buf;
	size_t cap;
	size_t off;
	int nospace; /* a write did not fit */
	int invalid; /* the message broke a rule of its layout */
};

static void put_bytes(struct wcur *w, const void *src, size_t n)
{
	if (w->nospace || n == 0)
		return;
	if (w->cap - w->off < n) {
		w->nospace = 1;
		return;
	}
	memcpy(w->buf + w->off, src, n);
	w->off += n;
}

static void put_u8(struct wcur *w, uint8_t v)
{
	put_bytes(w, &v, 1);
}

static void put_u16(struct wcur *w, uint16_t v)
{
	uint8_t b[2];

	bytes_put16(b, v);
	put_bytes(w, b, sizeof(b));
}

static void put_u32(struct wcur *w, uint32_t v)
{
	uint8_t b[4];

	bytes_put32(b, v);
	put_bytes(w, b, sizeof(b));
}

static void put_u64(struct wcur *w, uint64_t v)
{
	uint8_t b[8];

	bytes_put64(b, v);
	put_bytes(w, b, sizeof(b));
}

static void put_name(struct wcur *w, const char *name, size_t min_len)
{
	int n = proto_name_check(name, min_len);

	if (n < 0) {
		w->invalid = 1;
		return;
	}
	put_u8(w, (uint8_t)n);
	put_bytes(w, name, (size_t)n);
}

static void put_addr(struct wcur *w, const struct proto_addr *a)
{
	size_t n = proto_family_len(a->family);

	if (n == 0) {
		w->invalid = 1;
		return;
	}
	put_u8(w, a->family);
	put_u16(w, a->port);
	put_bytes(w, a->ip, n);
}

static void put_private(struct wcur *w, const struct proto_msg *m)
{
	uint8_t i;

	if (m->nprivate > PROTO_MAX_PRIVATE) {
		w->invalid = 1;
		return;
	}
	put_u8(w, m->nprivate);
	for (i = 0; i < m->nprivate; i++)
		put_addr(w, &m->private_ep[i]);
}

/* Writes a 16-bit length of 1..max, then the len bytes of src. */
static void put_sized(struct wcur *w, const void *src, uint16_t len, size_t max)
{
	if (len == 0 || len > max) {
		w->invalid = 1;
		return;
	}
	put_u16(w, len);
	put_bytes(w, src, len);
}

/* Writes payload, whose length must be within min..max: a handshake message or a sealed body. */
static void put_fixed(struct wcur *w, const struct proto_msg *m, size_t min, size_t max)
{
	if (m->payload_len < min || m->payload_len > max) {
		w->invalid = 1;
		return;
	}
	put_bytes(w, m->payload, m->payload_len);
}

static void put_names(struct wcur *w, const struct proto_msg *m)
{
	uint8_t i;

	if (m->nnames > PROTO_WHO_MAX) {
		w->invalid = 1;
		return;
	}
	put_u8(w, m->nnames);
	for (i = 0; i < m->nnames; i++)
		put_name(w, m->names[i], 1);
}

static void put_lines(struct wcur *w, const struct proto_msg *m)
{
	size_t i;

	for (i = 0; i < m->text_len && i < PROTO_STATS_TEXT_MAX; i++) {
		if (!proto_lines_byte_ok((uint8_t)m->text[i]))
			w->invalid = 1;
	}
	put_sized(w, m->text, m->text_len, PROTO_STATS_TEXT_MAX);
}

static void put_field(struct wcur *w, enum proto_field f, const struct proto_msg *m)
{
	switch (f) {
	case F_END:
		break;
	case F_KEY:
		put_bytes(w, m->key, PROTO_KEY_LEN);
		break;
	case F_PEER_KEY:
		put_bytes(w, m->peer_key, PROTO_KEY_LEN);
		break;
	case F_COUNTER:
		put_u64(w, m->counter);
		break;
	case F_SEAL:
		break;
	case F_COOKIE:
		put_bytes(w, m->cookie, PROTO_COOKIE_LEN);
		break;
	case F_NAME:
		put_name(w, m->name, 1);
		break;
	case F_SUBJECT:
		put_name(w, m->name, 0);
		break;
	case F_TARGET:
		put_name(w, m->target, 1);
		break;
	case F_TTL:
		put_u16(w, m->ttl_s);
		break;
	case F_PUBLIC:
		put_addr(w, &m->public_ep);
		break;
	case F_PRIVATE:
		put_private(w, m);
		break;
	case F_CODE:
		put_u8(w, m->code);
		break;
	case F_REQUEST:
		put_u8(w, m->request);
		break;
	case F_DETAIL:
		put_u8(w, m->detail);
		break;
	case F_EPOCH:
		put_u32(w, m->epoch);
		break;
	case F_PEER_EPOCH:
		put_u32(w, m->peer_epoch);
		break;
	case F_SEQ:
		put_u32(w, m->seq);
		break;
	case F_FLAGS:
		if (m->flags & ~PROTO_DATA_FLAGS_KNOWN)
			w->invalid = 1;
		put_u8(w, m->flags);
		break;
	case F_TEXT:
		put_sized(w, m->text, m->text_len, PROTO_FRAG_MAX);
		break;
	case F_ACK:
		put_u32(w, m->ack);
		break;
	case F_SACK:
		put_u32(w, m->sack);
		break;
	case F_STAMP:
		put_u32(w, m->stamp);
		break;
	case F_CURSOR:
		put_u32(w, m->cursor);
		break;
	case F_NEXT:
		put_u32(w, m->next);
		break;
	case F_TOTAL:
		put_u32(w, m->total);
		break;
	case F_NAMES:
		put_names(w, m);
		break;
	case F_PATH:
		if (!proto_path_ok(m->path))
			w->invalid = 1;
		put_u8(w, m->path);
		break;
	case F_LINES:
		put_lines(w, m);
		break;
	case F_PAYLOAD:
		put_sized(w, m->payload, m->payload_len, PROTO_PAYLOAD_MAX);
		break;
	case F_INIT:
		put_fixed(w, m, PROTO_INIT_LEN, PROTO_INIT_LEN);
		break;
	case F_RESP:
		put_fixed(w, m, PROTO_RESP_LEN, PROTO_RESP_LEN);
		break;
	case F_SEALED:
		put_fixed(w, m, PROTO_SEALED_MIN, PROTO_SEALED_MAX);
		break;
	case F_PATH_DATA:
		put_bytes(w, m->path_data, PROTO_PATH_DATA_LEN);
		break;
	case F_ALT_PORT:
		put_u16(w, m->alt_port);
		break;
	case F_NAT:
		if (m->nat > PROTO_NAT_LAST)
			w->invalid = 1;
		put_u8(w, m->nat);
		put_u16(w, m->nat_port);
		break;
	case F_INSTANCE:
		put_u64(w, m->instance);
		break;
	case F_OTHER:
		/* Family 0 alone says "none"; else an endpoint as F_PUBLIC writes it. */
		if (m->other_ep.family == 0)
			put_u8(w, 0);
		else
			put_addr(w, &m->other_ep);
		break;
	case F_PAD: {
		static const uint8_t zeros[PROTO_MAPPING_PAD];

		put_bytes(w, zeros, sizeof(zeros));
		break;
	}
	}
}

/*
 * Writes the layout's fields of m; *body_off (when not NULL) gets the
 * offset of F_SEAL, or 0. Returns the length written, or PROTO_EINVAL /
 * PROTO_ENOSPACE.
 */
static int put_layout(struct wcur *w, const struct proto_layout *lay, const struct proto_msg *m,
		      size_t *body_off)
{
	size_t i, off = 0;

	for (i = 0; i < PROTO_LAYOUT_MAX && lay->fields[i] != F_END; i++) {
		if (lay->fields[i] == F_SEAL)
			off = w->off;
		put_field(w, (enum proto_field)lay->fields[i], m);
	}
	if (w->invalid)
		return PROTO_EINVAL;
	if (w->nospace)
		return PROTO_ENOSPACE;
	if (body_off != NULL)
		*body_off = off;
	return (int)w->off;
}

int proto_encode_layout(const struct proto_layout *lay, const uint8_t *head, size_t head_len,
			const struct proto_msg *m, uint8_t *buf, size_t cap, size_t *body_off)
{
	struct wcur w;
	size_t i;

	w.buf = buf;
	w.cap = cap;
	w.off = 0;
	w.nospace = 0;
	w.invalid = 0;
	for (i = 0; i < head_len; i++)
		put_u8(&w, head[i]);
	return put_layout(&w, lay, m, body_off);
}

int proto_encode_open(const struct proto_msg *m, uint8_t *buf, size_t cap, size_t *body_off)
{
	const struct proto_layout *lay = proto_layout_of(m->type, 0);
	const uint8_t head[PROTO_HEADER_LEN] = { PROTO_MAGIC, PROTO_VERSION, m->type, 0 };

	if (lay == NULL)
		return PROTO_EINVAL;
	/* A sealed body leaves room for its tag (auth.h writes it). */
	if (proto_layout_sealed(lay))
		cap = cap > PROTO_TAG_LEN ? cap - PROTO_TAG_LEN : 0;
	return proto_encode_layout(lay, head, sizeof(head), m, buf, cap, body_off);
}

int proto_encode(const struct proto_msg *m, uint8_t *buf, size_t cap)
{
	return proto_encode_open(m, buf, cap, NULL);
}
