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
	F_KEY,        /* 32 bytes: key, a public key (the client's; COOKIE: the server's) */
	F_PEER_KEY,   /* 32 bytes: peer_key, the peer's public key (PEER) */
	F_COUNTER,    /* 64 bits: counter, the sealed datagram's (auth.h) */
	F_SEAL,       /* no bytes: the sealed body starts here (the tag follows it on the wire) */
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
	F_LINES,      /* 16-bit length 1..1194, then printable ASCII and newlines: text_len, text */
	F_PAYLOAD,    /* 16-bit length 1..PROTO_PAYLOAD_MAX, then any bytes: payload_len, payload */
	F_INIT,       /* PROTO_INIT_LEN bytes: payload_len, payload */
	F_RESP,       /* PROTO_RESP_LEN bytes: payload_len, payload */
	F_SEALED,     /* the rest, PROTO_SEALED_MIN..PROTO_SEALED_MAX bytes: payload_len, payload */
	F_PATH_DATA,  /* PROTO_PATH_DATA_LEN bytes: path_data */
};

#define LAYOUT_MAX 7 /* the longest layouts (REGISTERED, WHO_REPLY with F_SEAL) have 6 fields, plus F_END */

struct layout {
	uint8_t type;
	uint8_t inner; /* 1: travels only inside a SEALED datagram (proto_inner_encode) */
	const char *name;
	uint8_t fields[LAYOUT_MAX];
};

/* Every message type, drawn as field lists; the diagrams in protocol.h in short. */
static const struct layout layouts[] = {
	{ PROTO_REGISTER, 0, "REGISTER", { F_COOKIE, F_KEY, F_NAME, F_COUNTER, F_SEAL, F_PRIVATE } },
	{ PROTO_REGISTERED, 0, "REGISTERED", { F_COUNTER, F_SEAL, F_TTL, F_COOKIE, F_NAME, F_PUBLIC } },
	{ PROTO_REFRESH, 0, "REFRESH", { F_COOKIE, F_KEY, F_NAME, F_COUNTER, F_SEAL } },
	{ PROTO_LOOKUP, 0, "LOOKUP", { F_NAME, F_COUNTER, F_SEAL, F_TARGET } },
	{ PROTO_PEER, 0, "PEER", { F_COUNTER, F_SEAL, F_NAME, F_PEER_KEY, F_PUBLIC, F_PRIVATE } },
	{ PROTO_ERROR, 0, "ERROR", { F_COUNTER, F_SEAL, F_CODE, F_REQUEST, F_DETAIL, F_SUBJECT } },
	{ PROTO_STATS, 0, "STATS", { F_END } },
	{ PROTO_STATS_REPLY, 0, "STATS_REPLY", { F_LINES } },
	{ PROTO_WHO, 0, "WHO", { F_NAME, F_COUNTER, F_SEAL, F_CURSOR } },
	{ PROTO_WHO_REPLY, 0, "WHO_REPLY", { F_COUNTER, F_SEAL, F_TOTAL, F_CURSOR, F_NEXT, F_NAMES } },
	{ PROTO_REPORT, 0, "REPORT", { F_NAME, F_COUNTER, F_SEAL, F_TARGET, F_PATH } },
	{ PROTO_RELAY, 0, "RELAY", { F_NAME, F_COUNTER, F_SEAL, F_TARGET, F_PAYLOAD } },
	{ PROTO_RELAYED, 0, "RELAYED", { F_COUNTER, F_SEAL, F_NAME, F_PAYLOAD } },
	{ PROTO_COOKIE, 0, "COOKIE", { F_COOKIE, F_KEY } },
	{ PROTO_NOTICE, 0, "NOTICE", { F_CODE, F_REQUEST, F_DETAIL, F_SUBJECT } },
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

static uint64_t get_u64(struct rcur *c)
{
	const uint8_t *p;

	if (!rcur_need(c, 8))
		return 0;
	p = c->buf + c->off;
	c->off += 8;
	return bytes_get64(p);
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

/* Reads n bytes (n <= PROTO_PAYLOAD_MAX) into payload: a handshake message or a sealed body. */
static void get_fixed(struct rcur *c, struct proto_msg *out, size_t n)
{
	get_bytes(c, out->payload, n);
	if (c->err == 0)
		out->payload_len = (uint16_t)n;
}

/* Reads the text: any bytes at all, NUL-terminated after text_len of them. */
static void get_text(struct rcur *c, struct proto_msg *out)
{
	out->text_len = get_sized(c, out->text, PROTO_FRAG_MAX);
	out->text[out->text_len] = '\0';
}

/* Reads STATS_REPLY text: up to PROTO_STATS_TEXT_MAX bytes of printable ASCII and newlines. */
static void get_lines(struct rcur *c, struct proto_msg *out)
{
	size_t i;

	out->text_len = get_sized(c, out->text, PROTO_STATS_TEXT_MAX);
	out->text[out->text_len] = '\0';
	if (c->err != 0)
		return;
	for (i = 0; i < out->text_len; i++) {
		if (!lines_byte_ok((uint8_t)out->text[i])) {
			rcur_fail(c, PROTO_ETEXT);
			return;
		}
	}
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

static void get_field(struct rcur *c, enum field f, struct proto_msg *out)
{
	switch (f) {
	case F_END:
		break;
	case F_KEY:
		get_bytes(c, out->key, PROTO_KEY_LEN);
		break;
	case F_PEER_KEY:
		get_bytes(c, out->peer_key, PROTO_KEY_LEN);
		break;
	case F_COUNTER:
		out->counter = get_u64(c);
		break;
	case F_SEAL:
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

/* Reads the layout's fields from the cursor into out: all, or (upto_seal) those before F_SEAL. */
static void get_fields(struct rcur *c, const struct layout *lay, int upto_seal, struct proto_msg *out)
{
	size_t i;

	for (i = 0; i < LAYOUT_MAX && lay->fields[i] != F_END; i++) {
		if (upto_seal && lay->fields[i] == F_SEAL)
			break;
		get_field(c, (enum field)lay->fields[i], out);
	}
}

/* Returns 1 when the layout has a sealed body (F_SEAL), else 0. */
static int layout_sealed(const struct layout *lay)
{
	size_t i;

	for (i = 0; i < LAYOUT_MAX && lay->fields[i] != F_END; i++) {
		if (lay->fields[i] == F_SEAL)
			return 1;
	}
	return 0;
}

/*
 * Reads the header into out and finds its layout. Returns 0 with *lay set,
 * or a negative enum proto_result.
 */
static int decode_header(const uint8_t *buf, size_t len, struct proto_msg *out,
			 const struct layout **lay)
{
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
	*lay = find_layout(buf[2]);
	if (*lay == NULL)
		return PROTO_ETYPE;
	return 0;
}

/*
 * Reads the fields of lay from buf[4..len) into out: all of them, or
 * (upto_seal) those before F_SEAL. Returns the offset reached, or a
 * negative enum proto_result.
 */
static long decode_fields(const uint8_t *buf, size_t len, const struct layout *lay,
			  int upto_seal, struct proto_msg *out)
{
	struct rcur c;

	c.buf = buf;
	c.len = len;
	c.off = PROTO_HEADER_LEN;
	c.err = 0;
	get_fields(&c, lay, upto_seal, out);
	if (c.err != 0)
		return c.err;
	return (long)c.off;
}

int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *out)
{
	const struct layout *lay = NULL;
	int r = decode_header(buf, len, out, &lay);
	long off;

	if (r < 0)
		return r;
	off = decode_fields(buf, len, lay, 0, out);
	if (off < 0)
		return (int)off;
	if ((size_t)off != len)
		return PROTO_ETRAILING;
	return 0;
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
	get_fields(&c, lay, 0, out);
	if (c.err != 0)
		return c.err;
	if (c.off != c.len)
		return PROTO_ETRAILING;
	return 0;
}

int proto_decode_prefix(const uint8_t *buf, size_t len, struct proto_msg *out)
{
	const struct layout *lay = NULL;
	int r = decode_header(buf, len, out, &lay);
	long off;

	if (r < 0)
		return r;
	if (!layout_sealed(lay))
		return 0;
	off = decode_fields(buf, len, lay, 1, out);
	if (off < 0)
		return (int)off;
	/* The tag at least must follow: a shorter datagram cannot open. */
	if (len - (size_t)off < PROTO_TAG_LEN)
		return PROTO_ESHORT;
	return (int)off;
}

int proto_is_sealed(int type)
{
	const struct layout *lay = find_layout(type);

	return lay != NULL && layout_sealed(lay);
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

static void put_u64(struct wcur *w, uint64_t v)
{
	uint8_t b[8];

	bytes_put64(b, v);
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

	for (i = 0; i < m->text_len && i < PROTO_STATS_TEXT_MAX; i++) {
		if (!lines_byte_ok((uint8_t)m->text[i]))
			w->invalid = 1;
	}
	put_sized(w, m->text, m->text_len, PROTO_STATS_TEXT_MAX);
}

static void put_field(struct wcur *w, enum field f, const struct proto_msg *m)
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

/*
 * Writes the layout's fields of m; *body_off (when not NULL) gets the
 * offset of F_SEAL, or 0. Returns the length written, or PROTO_EINVAL /
 * PROTO_ENOSPACE.
 */
static int put_layout(struct wcur *w, const struct layout *lay, const struct proto_msg *m,
		      size_t *body_off)
{
	size_t i, off = 0;

	for (i = 0; i < LAYOUT_MAX && lay->fields[i] != F_END; i++) {
		if (lay->fields[i] == F_SEAL)
			off = w->off;
		put_field(w, (enum field)lay->fields[i], m);
	}
	if (w->invalid)
		return PROTO_EINVAL;
	if (w->nospace)
		return PROTO_ENOSPACE;
	if (body_off != NULL)
		*body_off = off;
	return (int)w->off;
}

int proto_encode_open(const struct proto_msg *m, uint8_t *buf, size_t cap, size_t *body_off)
{
	const struct layout *lay = find_layout(m->type);
	struct wcur w;

	if (lay == NULL)
		return PROTO_EINVAL;
	w.buf = buf;
	/* A sealed body leaves room for its tag (auth.h writes it). */
	w.cap = layout_sealed(lay) ? (cap > PROTO_TAG_LEN ? cap - PROTO_TAG_LEN : 0) : cap;
	w.off = 0;
	w.nospace = 0;
	w.invalid = 0;
	put_u8(&w, PROTO_MAGIC);
	put_u8(&w, PROTO_VERSION);
	put_u8(&w, m->type);
	put_u8(&w, 0);
	return put_layout(&w, lay, m, body_off);
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
	return put_layout(&w, lay, m, NULL);
}

int proto_encode(const struct proto_msg *m, uint8_t *buf, size_t cap)
{
	return proto_encode_open(m, buf, cap, NULL);
}

int proto_encode_version_refusal(uint8_t request, uint8_t *buf, size_t cap)
{
	/* Version 1's ERROR: header, code, request type, detail, an empty name. */
	const uint8_t v1[PROTO_VERSION_REFUSAL_LEN] = {
		PROTO_MAGIC, 1, PROTO_ERROR, 0, PROTO_E_VERSION, request, PROTO_VERSION, 0
	};

	if (cap < sizeof(v1))
		return PROTO_ENOSPACE;
	memcpy(buf, v1, sizeof(v1));
	return (int)sizeof(v1);
}

int proto_version_refusal(const uint8_t *buf, size_t len, uint8_t *version)
{
	/* Whatever version wrote it, its first 8 bytes are version 1's ERROR. */
	if (len < PROTO_VERSION_REFUSAL_LEN || buf[0] != PROTO_MAGIC || buf[1] == PROTO_VERSION ||
	    buf[2] != PROTO_ERROR || buf[3] != 0 || buf[4] != PROTO_E_VERSION)
		return 0;
	*version = buf[6]; /* the detail: the version the refuser speaks */
	return 1;
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
