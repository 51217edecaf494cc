/* protocol.c - the layout table; decodes and validates datagrams (protocol.h draws each one). */
#include <string.h>

#include "bytes.h"
#include "protocol_impl.h"

/* Every message type, drawn as field lists; the diagrams in protocol.h in short. */
static const struct proto_layout layouts[] = {
	{ PROTO_REGISTER, 0, "REGISTER", { F_COOKIE, F_KEY, F_NAME, F_COUNTER, F_SEAL, F_INSTANCE, F_PRIVATE } },
	{ PROTO_REGISTERED, 0, "REGISTERED", { F_COUNTER, F_SEAL, F_TTL, F_COOKIE, F_NAME, F_PUBLIC, F_ALT_PORT } },
	{ PROTO_REFRESH, 0, "REFRESH", { F_COOKIE, F_KEY, F_NAME, F_COUNTER, F_SEAL, F_INSTANCE } },
	{ PROTO_LOOKUP, 0, "LOOKUP", { F_NAME, F_COUNTER, F_SEAL, F_TARGET } },
	{ PROTO_PEER, 0, "PEER", { F_COUNTER, F_SEAL, F_NAME, F_PEER_KEY, F_PUBLIC, F_NAT, F_PRIVATE, F_OTHER } },
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
	{ PROTO_MAPPING, 0, "MAPPING", { F_NAME, F_COUNTER, F_SEAL, F_PAD } },
	{ PROTO_MAPPED, 0, "MAPPED", { F_COUNTER, F_SEAL, F_PUBLIC } },
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

/*
 * The largest DATA sealed (header, index, counter, inner type, two epochs,
 * seq, flags, text length, text, tag: 1072 bytes) fits a RELAY.
 */
_Static_assert(PROTO_HEADER_LEN + 12 + 1 + 4 + 4 + 4 + 1 + 2 + PROTO_FRAG_MAX + 16 <=
		       PROTO_PAYLOAD_MAX, "a relayed DATA fits one datagram");

const struct proto_layout *proto_layout_of(int type, int inner)
{
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		if (layouts[i].type == type && layouts[i].inner == inner)
			return &layouts[i];
	}
	return NULL;
}

static const struct proto_layout *find_layout(int type)
{
	return proto_layout_of(type, 0);
}

int proto_name_check(const char *name, size_t min_len)
{
	size_t n;

	for (n = 0; name[n] != '\0'; n++) {
		if (n == PROTO_NAME_MAX || !proto_name_byte_ok((uint8_t)name[n]))
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
		if (!proto_name_byte_ok(c->buf[c->off + i])) {
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
	if (proto_family_len(family) == 0) {
		rcur_fail(c, PROTO_EFAMILY);
		return;
	}
	a->family = family;
	a->port = get_u16(c);
	get_bytes(c, a->ip, proto_family_len(family));
}

/* Reads PEER's other-family endpoint: a family byte 0 alone (none), or an endpoint. */
static void get_other(struct rcur *c, struct proto_msg *out)
{
	if (rcur_need(c, 1) && c->buf[c->off] == 0) {
		c->off++;
		return;
	}
	get_addr(c, &out->other_ep);
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
		if (!proto_lines_byte_ok((uint8_t)out->text[i])) {
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

/* Reads PROTO_MAPPING_PAD bytes that must all be zero. */
static void get_pad(struct rcur *c)
{
	uint8_t pad[PROTO_MAPPING_PAD];
	uint8_t any = 0;

	get_bytes(c, pad, sizeof(pad));
	for (size_t i = 0; i < sizeof(pad); i++)
		any |= pad[i];
	if (c->err == 0 && any != 0)
		rcur_fail(c, PROTO_ERESERVED);
}

static void get_field(struct rcur *c, enum proto_field f, struct proto_msg *out)
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
		if (out->flags & ~PROTO_DATA_FLAGS_KNOWN)
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
		if (c->err == 0 && !proto_path_ok(out->path))
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
	case F_ALT_PORT:
		out->alt_port = get_u16(c);
		break;
	case F_NAT:
		out->nat = get_u8(c);
		if (c->err == 0 && out->nat > PROTO_NAT_LAST)
			rcur_fail(c, PROTO_EVALUE);
		out->nat_port = get_u16(c);
		break;
	case F_PAD:
		get_pad(c);
		break;
	case F_INSTANCE:
		out->instance = get_u64(c);
		break;
	case F_OTHER:
		get_other(c, out);
		break;
	}
}

/* Reads the layout's fields from the cursor into out: all, or (upto_seal) those before F_SEAL. */
static void get_fields(struct rcur *c, const struct proto_layout *lay, int upto_seal,
		       struct proto_msg *out)
{
	size_t i;

	for (i = 0; i < PROTO_LAYOUT_MAX && lay->fields[i] != F_END; i++) {
		if (upto_seal && lay->fields[i] == F_SEAL)
			break;
		get_field(c, (enum proto_field)lay->fields[i], out);
	}
}

int proto_layout_sealed(const struct proto_layout *lay)
{
	size_t i;

	for (i = 0; i < PROTO_LAYOUT_MAX && lay->fields[i] != F_END; i++) {
		if (lay->fields[i] == F_SEAL)
			return 1;
	}
	return 0;
}

int proto_decode_header(const uint8_t *buf, size_t len, struct proto_msg *out,
			const struct proto_layout **lay)
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

long proto_decode_fields(const uint8_t *buf, size_t len, size_t start,
			 const struct proto_layout *lay, int upto_seal, struct proto_msg *out)
{
	struct rcur c;

	c.buf = buf;
	c.len = len;
	c.off = start;
	c.err = 0;
	get_fields(&c, lay, upto_seal, out);
	if (c.err != 0)
		return c.err;
	return (long)c.off;
}

int proto_decode(const uint8_t *buf, size_t len, struct proto_msg *out)
{
	const struct proto_layout *lay = NULL;
	int r = proto_decode_header(buf, len, out, &lay);
	long off;

	if (r < 0)
		return r;
	off = proto_decode_fields(buf, len, PROTO_HEADER_LEN, lay, 0, out);
	if (off < 0)
		return (int)off;
	if ((size_t)off != len)
		return PROTO_ETRAILING;
	return 0;
}

int proto_name_valid(const char *name)
{
	return proto_name_check(name, 1) >= 0;
}

/*
 * Compares family, port and only the address bytes the family uses, so
 * leftovers in the unused tail of ip[] never matter. Two endpoints of family
 * 0 ("none") are equal when their ports are.
 */
int proto_addr_equal(const struct proto_addr *a, const struct proto_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->ip, b->ip, proto_family_len(a->family)) == 0;
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
	const struct proto_layout *lay = find_layout(type);

	if (lay == NULL)
		lay = proto_layout_of(type, 1);
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
