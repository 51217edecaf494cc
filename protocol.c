/* protocol.c - encodes, decodes and validates p2pchat datagrams (layouts in protocol.h). */
#include <string.h>

#include "bytes.h"
#include "protocol.h"

/*
 * The fields a message body is made of. Each message type below is a list
 * of these, in wire order, so the encoder and the decoder read one table
 * and cannot disagree about a layout.
 */
enum field {
	F_END = 0,    /* ends a layout */
	F_TOKEN,      /* 8 bytes: token */
	F_NONCE,      /* 8 bytes: nonce */
	F_COOKIE,     /* 8 bytes: cookie */
	F_NAME,       /* name, 1..32 bytes: name */
	F_SUBJECT,    /* name, 0..32 bytes: name (ERROR may be about no name) */
	F_TARGET,     /* name, 1..32 bytes: target */
	F_TTL,        /* 16 bits: ttl_s */
	F_PUBLIC,     /* endpoint: public_ep */
	F_PRIVATE,    /* count 0..4, then count endpoints: nprivate, private_ep */
	F_CODE,       /* 8 bits: code */
	F_REQUEST,    /* 8 bits: request */
	F_DETAIL,     /* 8 bits: detail */
	F_EPOCH,      /* 32 bits: epoch, the sender's */
	F_PEER_EPOCH, /* 32 bits: peer_epoch, the receiver's */
	F_SEQ,        /* 32 bits: seq */
	F_FLAGS,      /* 8 bits: flags, only PROTO_DATA_END and PROTO_DATA_ACTION */
	F_TEXT,       /* 16-bit length 1..1024, then the text: text_len, text */
	F_ACK,        /* 32 bits: ack */
	F_SACK,       /* 32 bits: sack */
	F_STAMP,      /* 32 bits: stamp */
	F_CURSOR,     /* 32 bits: cursor */
	F_NEXT,       /* 32 bits: next */
	F_TOTAL,      /* 32 bits: total */
	F_NAMES,      /* count 0..32, then count names of 1..32 bytes: nnames, names */
	F_PATH,       /* 8 bits, an enum proto_path: path */
	F_LINES,      /* 16-bit length 1..1024, then printable ASCII and newlines: text_len, text */
	F_PAYLOAD,    /* 16-bit length 1..PROTO_PAYLOAD_MAX, then any bytes: payload_len, payload */
	F_INIT,       /* PROTO_INIT_LEN bytes: payload_len, payload */
	F_RESP,       /* PROTO_RESP_LEN bytes: payload_len, payload */
	F_SEALED,     /* the rest, PROTO_SEALED_MIN..PROTO_SEALED_MAX bytes: payload_len, payload */
	F_PATH_DATA,  /* PROTO_PATH_DATA_LEN bytes: path_data */
};

#define LAYOUT_MAX 7 /* the longest layout (DATA) has 6 fields, plus F_END */

struct layout {
	uint8_t type;
	uint8_t inner; /* 1: travels only inside a SEALED datagram (proto_inner_encode) */
	const char *name;
	uint8_t fields[LAYOUT_MAX];
};

/* Every message type, drawn as field lists; the diagrams in protocol.h in short. */
static const struct layout layouts[] = {
	{ PROTO_REGISTER, 0, "REGISTER", { F_TOKEN, F_COOKIE, F_NAME, F_PRIVATE } },
	{ PROTO_REGISTERED, 0, "REGISTERED", { F_TTL, F_COOKIE, F_NAME, F_PUBLIC } },
	{ PROTO_REFRESH, 0, "REFRESH", { F_TOKEN, F_COOKIE, F_NAME } },
	{ PROTO_LOOKUP, 0, "LOOKUP", { F_TOKEN, F_NAME, F_TARGET } },
	{ PROTO_PEER, 0, "PEER", { F_NONCE, F_NAME, F_PUBLIC, F_PRIVATE } },
	{ PROTO_ERROR, 0, "ERROR", { F_CODE, F_REQUEST, F_DETAIL, F_SUBJECT } },
	{ PROTO_STATS, 0, "STATS", { F_END } },
	{ PROTO_STATS_REPLY, 0, "STATS_REPLY", { F_LINES } },
	{ PROTO_WHO, 0, "WHO", { F_TOKEN, F_NAME, F_CURSOR } },
	{ PROTO_WHO_REPLY, 0, "WHO_REPLY", { F_TOTAL, F_CURSOR, F_NEXT, F_NAMES } },
	{ PROTO_REPORT, 0, "REPORT", { F_TOKEN, F_NAME, F_TARGET, F_PATH } },
	{ PROTO_RELAY, 0, "RELAY", { F_TOKEN, F_NAME, F_TARGET, F_PAYLOAD } },
	{ PROTO_RELAYED, 0, "RELAYED", { F_NAME, F_PAYLOAD } },
	{ PROTO_COOKIE, 0, "COOKIE", { F_COOKIE } },
	{ PROTO_PROBE, 0, "PROBE", { F_INIT } },
	{ PROTO_PROBE_ACK, 0, "PROBE_ACK", { F_RESP } },
	{ PROTO_SEALED, 0, "SEALED", { F_SEALED } },
	{ PROTO_DATA, 1, "DATA", { F_EPOCH, F_PEER_EPOCH, F_SEQ, F_FLAGS, F_TEXT } },
	{ PROTO_ACK, 1, "ACK", { F_EPOCH, F_PEER_EPOCH, F_ACK, F_SACK } },
	{ PROTO_PING, 1, "PING", { F_STAMP, F_EPOCH } },
	{ PROTO_PONG, 1, "PONG", { F_STAMP } },
	{ PROTO_BYE, 1, "BYE", { F_EPOCH } },
	{ PROTO_PATH_CHALLENGE, 1, "PATH_CHALLENGE", { F_PATH_DATA } },
	{ PROTO_PATH_RESPONSE, 1, "PATH_RESPONSE", { F_PATH_DATA } },
	{ PROTO_CONFIRM, 1, "CONFIRM", { F_END } },
};

#define DATA_FLAGS_KNOWN (PROTO_DATA_END | PROTO_DATA_ACTION)

/*
 * The largest DATA sealed (header, index, counter, inner type, two epochs,
 * seq, flags, text length, text, tag: 1072 bytes) fits a RELAY.
 */
_Static_assert(PROTO_HEADER_LEN + 12 + 1 + 4 + 4 + 4 + 1 + 2 + PROTO_FRAG_MAX + 16 <=
		       PROTO_PAYLOAD_MAX, "a relayed DATA fits one datagram");

/* The layout of type, a datagram's (inner 0) or a SEALED one's inner message (inner 1); or NULL. */
static const struct layout *find_layout_of(int type, int inner)
{
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		if (layouts[i].type == type && layouts[i].inner == inner)
			return &layouts[i];
	}
	return NULL;
}

static const struct layout *find_layout(int type)
{
	return find_layout_of(type, 0);
}

/* Address bytes on the wire for a family, or 0 for a family we do not know. */
static size_t family_len(uint8_t family)
{
	if (family == PROTO_AF_INET)
		return 4;
	if (family == PROTO_AF_INET6)
		return 16;
	return 0;
}

static int name_byte_ok(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* A byte STATS_REPLY text may hold: printable ASCII or a newline, nothing a terminal obeys. */
static int lines_byte_ok(uint8_t c)
{
	return (c >= 0x20 && c <= 0x7e) || c == '\n';
}

/* Returns 1 when the byte is an enum proto_path. */
static int path_ok(uint8_t path)
{
	return path >= PROTO_PATH_PRIVATE && path <= PROTO_PATH_RELAY;
}

/*
 * Returns the length of the NUL-terminated name when it is min_len..32
 * allowed bytes, else -1. Reads at most 33 bytes, so a name array that is
 * missing its NUL is refused rather than overrun.
 */
static int name_check(const char *name, size_t min_len)
{
	size_t n;

	for (n = 0; name[n] != '\0'; n++) {
		if (n == PROTO_NAME_MAX || !name_byte_ok((uint8_t)name[n]))
			return -1;
	}
	return n >= min_len ? (int)n : -1;
}

/*
 * The read cursor. It remembers the first error it hits; after that every
 * get_ returns 0 and reads nothing, so a decoder can read a whole layout and
 * check once at the end (the tinyssh packet parser works the same way).
 */
struct rcur {
	const uint8_t *buf;
	size_t len;
	size_t off;
	int err; /* 0 or the first enum proto_result hit */
};

static void rcur_fail(struct rcur *c, int err)
{
	if (c->err == 0)
		c->err = err;
}

/* Returns 1 when n more bytes can be read; else records PROTO_ESHORT. */
static int rcur_need(struct rcur *c, size_t n)
{
	if (c->err != 0)
		return 0;
	if (c->len - c->off < n) {
		rcur_fail(c, PROTO_ESHORT);
		return 0;
	}
	return 1;
}

static void get_bytes(struct rcur *c, void *dst, size_t n)
{
	if (!rcur_need(c, n))
		return;
	memcpy(dst, c->buf + c->off, n);
	c->off += n;
}

static uint8_t get_u8(struct rcur *c)
{
	uint8_t v;

	if (!rcur_need(c, 1))
		return 0;
	v = c->buf[c->off];
	c->off += 1;
	return v;
}

static uint16_t get_u16(struct rcur *c)
{
	const uint8_t *p;

	if (!rcur_need(c, 2))
		return 0;
	p = c->buf + c->off;
	c->off += 2;
	return bytes_get16(p);
}

static uint32_t get_u32(struct rcur *c)
{
	const uint8_t *p;

	if (!rcur_need(c, 4))
		return 0;
	p = c->buf + c->off;
	c->off += 4;
	return bytes_get32(p);
}

/* Reads a name of min_len..32 allowed bytes into dst[33], NUL-terminated. */
static void get_name(struct rcur *c, char dst[PROTO_NAME_MAX + 1], size_t min_len)
{
	size_t n = get_u8(c);
	size_t i;

	if (c->err != 0)
		return;
	if (n < min_len || n > PROTO_NAME_MAX) {
		rcur_fail(c, PROTO_ENAME);
		return;
	}
	if (!rcur_need(c, n))
		return;
	for (i = 0; i < n; i++) {
		if (!name_byte_ok(c->buf[c->off + i])) {
			rcur_fail(c, PROTO_ENAME);
			return;
		}
	}
	get_bytes(c, dst, n);
	dst[n] = '\0';
}

static void get_addr(struct rcur *c, struct proto_addr *a)
{
	uint8_t family = get_u8(c);

	if (c->err != 0)
		return;
	if (family_len(family) == 0) {
		rcur_fail(c, PROTO_EFAMILY);
		return;
	}
	a->family = family;
	a->port = get_u16(c);
	get_bytes(c, a->ip, family_len(family));
}

static void get_private(struct rcur *c, struct proto_msg *out)
{
	uint8_t count = get_u8(c);
	uint8_t i;

	if (c->err != 0)
		return;
	if (count > PROTO_MAX_PRIVATE) {
		rcur_fail(c, PROTO_ECOUNT);
		return;
	}
	out->nprivate = count;
	for (i = 0; i < count; i++)
		get_addr(c, &out->private_ep[i]);
}

/*
 * Reads a 16-bit length of 1..max, then that many bytes of any value into
 * dst. Returns the length, or 0 after an error.
 */
static uint16_t get_sized(struct rcur *c, void *dst, size_t max)
{
	uint16_t n = get_u16(c);

	if (c->err != 0)
		return 0;
	if (n == 0 || n > max) {
		rcur_fail(c, PROTO_ELENGTH);
		return 0;
	}
	get_bytes(c, dst, n);
	return c->err == 0 ? n : 0;
}

/* Reads the text: any bytes at all, NUL-terminated after text_len of them. */
/* Reads n bytes (n <= PROTO_PAYLOAD_MAX) into payload: a handshake message or a sealed body. */
static void get_fixed(struct rcur *c, struct proto_msg *out, size_t n)
{
	get_bytes(c, out->payload, n);
	if (c->err == 0)
		out->payload_len = (uint16_t)n;
}

static void get_text(struct rcur *c, struct proto_msg *out)
{
	out->text_len = get_sized(c, out->text, PROTO_FRAG_MAX);
	out->text[out->text_len] = '\0';
}

static void get_names(struct rcur *c, struct proto_msg *out)
{
	uint8_t count = get_u8(c);
	uint8_t i;

	if (c->err != 0)
		return;
	if (count > PROTO_WHO_MAX) {
		rcur_fail(c, PROTO_ECOUNT);
		return;
	}
	out->nnames = count;
	for (i = 0; i < count; i++)
		get_name(c, out->names[i], 1);
}

/* Reads STATS_REPLY text: like get_text, but only printable ASCII and newlines. */
static void get_lines(struct rcur *c, struct proto_msg *out)
{
	size_t i;

	get_text(c, out);
	if (c->err != 0)
		return;
	for (i = 0; i < out->text_len; i++) {
		if (!lines_byte_ok((uint8_t)out->text[i])) {
			rcur_fail(c, PROTO_ETEXT);
			return;
		}
	}
}

static void get_field(struct rcur *c, enum field f, struct proto_msg *out)
{
	switch (f) {
	case F_END:
		break;
	case F_TOKEN:
		get_bytes(c, out->token, PROTO_TOKEN_LEN);
		break;
	case F_NONCE:
		get_bytes(c, out->nonce, PROTO_NONCE_LEN);
		break;
	case F_COOKIE:
		get_bytes(c, out->cookie, PROTO_COOKIE_LEN);
		break;
	case F_NAME:
		get_name(c, out->name, 1);
		break;
	case F_SUBJECT:
		get_name(c, out->name, 0);
		break;
	case F_TARGET:
		get_name(c, out->target, 1);
		break;
	case F_TTL:
		out->ttl_s = get_u16(c);
		break;
	case F_PUBLIC:
		get_addr(c, &out->public_ep);
		break;
	case F_PRIVATE:
		get_private(c, out);
		break;
	case F_CODE:
		out->code = get_u8(c);
		break;
	case F_REQUEST:
		out->request = get_u8(c);
		break;
	case F_DETAIL:
		out->detail = get_u8(c);
		break;
	case F_EPOCH:
		out->epoch = get_u32(c);
		break;
	case F_PEER_EPOCH:
		out->peer_epoch = get_u32(c);
		break;
	case F_SEQ:
		out->seq = get_u32(c);
		break;
	case F_FLAGS:
		out->flags = get_u8(c);
		if (out->flags & ~DATA_FLAGS_KNOWN)
			rcur_fail(c, PROTO_ERESERVED);
		break;
	case F_TEXT:
		get_text(c, out);
		break;
	case F_ACK:
		out->ack = get_u32(c);
		break;
	case F_SACK:
		out->sack = get_u32(c);
		break;
	case F_STAMP:
		out->stamp = get_u32(c);
		break;
	case F_CURSOR:
		out->cursor = get_u32(c);
		break;
	case F_NEXT:
		out->next = get_u32(c);
		break;
	case F_TOTAL:
		out->total = get_u32(c);
		break;
	case F_NAMES:
		get_names(c, out);
		break;
	case F_PATH:
		out->path = get_u8(c);
		if (c->err == 0 && !path_ok(out->path))
			rcur_fail(c, PROTO_EVALUE);
		break;
	case F_LINES:
		get_lines(c, out);
		break;
	case F_PAYLOAD:
		/* Any bytes: the receivers decode the datagram inside themselves. */
		out->payload_len = get_sized(c, out->payload, PROTO_PAYLOAD_MAX);
		break;
	case F_INIT:
		get_fixed(c, out, PROTO_INIT_LEN);
		break;
	case F_RESP:
		get_fixed(c, out, PROTO_RESP_LEN);
		break;
	case F_SEALED:
		/* The rest of the datagram: only session_open can tell whether it is good. */
		if (c->err == 0 && (c->len - c->off < PROTO_SEALED_MIN ||
				    c->len - c->off > PROTO_SEALED_MAX)) {
			rcur_fail(c, PROTO_ELENGTH);
			break;
		}
		get_fixed(c, out, c->len - c->off);
		break;
	case F_PATH_DATA:
		get_bytes(c, out->path_data, PROTO_PATH_DATA_LEN);
		break;
	}
}

/* Reads walk the layout's fields from the cursor into out; returns 0 or the first error. */
static int get_layout(struct rcur *c, const struct layout *lay, struct proto_msg *out)
{
	size_t i;

	for (i = 0; i < LAYOUT_MAX && lay->fields[i] != F_END; i++)
		get_field(c, (enum field)lay->fields[i], out);
	if (c->err != 0)
		return c->err;
	if (c->off != c->len)
		return PROTO_ETRAILING;
	return 0;
}

int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *out)
{
	const struct layout *lay;
	struct rcur c;

	memset(out, 0, sizeof(*out));
	if (len < PROTO_HEADER_LEN)
		return PROTO_ESHORT;
	if (buf[0] != PROTO_MAGIC)
		return PROTO_EMAGIC;
	/* Filled before the version check, so a server can answer PROTO_E_VERSION. */
	out->version = buf[1];
	out->type = buf[2];
	if (buf[1] != PROTO_VERSION)
		return PROTO_EVERSION;
	if (buf[3] != 0)
		return PROTO_ERESERVED;
	lay = find_layout(buf[2]);
	if (lay == NULL)
		return PROTO_ETYPE;

	c.buf = buf;
	c.len = len;
	c.off = PROTO_HEADER_LEN;
	c.err = 0;
	return get_layout(&c, lay, out);
}

int proto_inner_decode(const uint8_t *buf, size_t len, struct proto_msg *out)
{
	const struct layout *lay;
	struct rcur c;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return PROTO_ESHORT;
	out->version = PROTO_VERSION;
	out->type = buf[0];
	lay = find_layout_of(buf[0], 1);
	if (lay == NULL)
		return PROTO_ETYPE;
	c.buf = buf;
	c.len = len;
	c.off = 1;
	c.err = 0;
	return get_layout(&c, lay, out);
}

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

static void put_name(struct wcur *w, const char *name, size_t min_len)
{
	int n = name_check(name, min_len);

	if (n < 0) {
		w->invalid = 1;
		return;
	}
	put_u8(w, (uint8_t)n);
	put_bytes(w, name, (size_t)n);
}

static void put_addr(struct wcur *w, const struct proto_addr *a)
{
	size_t n = family_len(a->family);

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

	for (i = 0; i < m->text_len && i < PROTO_FRAG_MAX; i++) {
		if (!lines_byte_ok((uint8_t)m->text[i]))
			w->invalid = 1;
	}
	put_sized(w, m->text, m->text_len, PROTO_FRAG_MAX);
}

static void put_field(struct wcur *w, enum field f, const struct proto_msg *m)
{
	switch (f) {
	case F_END:
		break;
	case F_TOKEN:
		put_bytes(w, m->token, PROTO_TOKEN_LEN);
		break;
	case F_NONCE:
		put_bytes(w, m->nonce, PROTO_NONCE_LEN);
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
		if (m->flags & ~DATA_FLAGS_KNOWN)
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
		if (!path_ok(m->path))
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
	}
}

/* Writes the layout's fields of m; returns the length written, or PROTO_EINVAL / PROTO_ENOSPACE. */
static int put_layout(struct wcur *w, const struct layout *lay, const struct proto_msg *m)
{
	size_t i;

	for (i = 0; i < LAYOUT_MAX && lay->fields[i] != F_END; i++)
		put_field(w, (enum field)lay->fields[i], m);
	if (w->invalid)
		return PROTO_EINVAL;
	if (w->nospace)
		return PROTO_ENOSPACE;
	return (int)w->off;
}

int proto_encode(const struct proto_msg *m, uint8_t *buf, size_t cap)
{
	const struct layout *lay = find_layout(m->type);
	struct wcur w;

	if (lay == NULL)
		return PROTO_EINVAL;
	w.buf = buf;
	w.cap = cap;
	w.off = 0;
	w.nospace = 0;
	w.invalid = 0;
	put_u8(&w, PROTO_MAGIC);
	put_u8(&w, PROTO_VERSION);
	put_u8(&w, m->type);
	put_u8(&w, 0);
	return put_layout(&w, lay, m);
}

int proto_inner_encode(const struct proto_msg *m, uint8_t *buf, size_t cap)
{
	const struct layout *lay = find_layout_of(m->type, 1);
	struct wcur w;

	if (lay == NULL)
		return PROTO_EINVAL;
	w.buf = buf;
	w.cap = cap;
	w.off = 0;
	w.nospace = 0;
	w.invalid = 0;
	put_u8(&w, m->type);
	return put_layout(&w, lay, m);
}

int proto_name_valid(const char *name)
{
	return name_check(name, 1) >= 0;
}

/*
 * Compares family, port and only the address bytes the family uses, so
 * leftovers in the unused tail of ip[] never matter. Two endpoints of family
 * 0 ("none") are equal when their ports are.
 */
int proto_addr_equal(const struct proto_addr *a, const struct proto_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, family_len(a->family)) == 0;
}

int proto_is_peer_type(int type)
{
	return type == PROTO_PROBE || type == PROTO_PROBE_ACK || type == PROTO_SEALED;
}

const char *proto_strerror(int result)
{
	/* Indexed by -result. */
	static const char *const text[] = {
		"ok",
		"datagram is truncated",
		"bad magic byte",
		"unsupported protocol version",
		"unknown message type",
		"reserved bits are not zero",
		"bad name",
		"bad endpoint family",
		"too many endpoints",
		"bad text length",
		"trailing bytes after the message",
		"buffer too small",
		"invalid message",
		"text with a byte that is not printable",
		"a field value out of range",
	};
	/* A result added to protocol.h without its text here fails to compile. */
	_Static_assert(sizeof(text) / sizeof(text[0]) == PROTO_NRESULTS, "one text per result");

	if (result > 0 || result <= -PROTO_NRESULTS)
		return "unknown result";
	return text[-result];
}

const char *proto_type_name(int type)
{
	const struct layout *lay = find_layout(type);

	if (lay == NULL)
		lay = find_layout_of(type, 1);
	return lay != NULL ? lay->name : "unknown";
}

const char *proto_error_text(int code)
{
	switch (code) {
	case PROTO_E_VERSION:
		return "protocol version not supported";
	case PROTO_E_NAME_TAKEN:
		return "name is taken";
	case PROTO_E_TABLE_FULL:
		return "server is full";
	case PROTO_E_NOT_ONLINE:
		return "peer is not online";
	case PROTO_E_UNKNOWN:
		return "name is not registered";
	case PROTO_E_WHO_OFF:
		return "the server does not list names";
	case PROTO_E_RELAY_OFF:
		return "the server does not relay";
	case PROTO_E_TOO_MANY_NAMES:
		return "too many names from this address";
	case PROTO_E_ADDRESS:
		return "name is registered at another address";
	case PROTO_E_REPLACED:
		return "another instance registered this name";
	}
	return "unknown error";
}
