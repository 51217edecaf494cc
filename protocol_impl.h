/* protocol_impl.h - what the protocol files share (the layout types, byte rules, engines); not the API (protocol.h). */
#ifndef P2PCHAT_PROTOCOL_IMPL_H
#define P2PCHAT_PROTOCOL_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "protocol.h"

/*
 * The fields a message body is made of. Each message type below is a list
 * of these, in wire order, so the encoder and the decoder read one table
 * and cannot disagree about a layout.
 */
enum proto_field {
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
	F_ALT_PORT,   /* 16 bits: alt_port */
	F_NAT,        /* 8 bits, an enum proto_nat, then 16 bits: nat, nat_port */
	F_PAD,        /* PROTO_MAPPING_PAD zero bytes (no field) */
	F_INSTANCE,   /* 64 bits: instance, the client program's random number (REGISTER, REFRESH) */
	F_OTHER,      /* family 0 (one byte: none), or an endpoint: other_ep (PEER) */
};

/* The longest layout (PEER, with F_SEAL) has 8 fields, plus F_END. */
#define PROTO_LAYOUT_MAX 9

struct proto_layout {
	uint8_t type;
	uint8_t inner; /* 1: travels only inside a SEALED datagram (proto_inner_encode) */
	const char *name;
	uint8_t fields[PROTO_LAYOUT_MAX];
};

#define PROTO_DATA_FLAGS_KNOWN (PROTO_DATA_END | PROTO_DATA_ACTION)

/* Address bytes on the wire for a family, or 0 for a family we do not know. */
static inline size_t proto_family_len(uint8_t family)
{
	if (family == PROTO_AF_INET)
		return 4;
	if (family == PROTO_AF_INET6)
		return 16;
	return 0;
}

/* Returns 1 for a byte a name may hold: letters, digits, dot, underscore, hyphen. */
static inline int proto_name_byte_ok(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* A byte STATS_REPLY text may hold: printable ASCII or a newline, nothing a terminal obeys. */
static inline int proto_lines_byte_ok(uint8_t c)
{
	return (c >= 0x20 && c <= 0x7e) || c == '\n';
}

/* Returns 1 when the byte is an enum proto_path. */
static inline int proto_path_ok(uint8_t path)
{
	return path >= PROTO_PATH_PRIVATE && path <= PROTO_PATH_RELAY;
}

/* protocol.c */

/* The layout of type, a datagram's (inner 0) or a SEALED one's inner message (inner 1); or NULL. */
const struct proto_layout *proto_layout_of(int type, int inner);

/*
 * Returns the length of the NUL-terminated name when it is min_len..32
 * allowed bytes, else -1. Reads at most 33 bytes, so a name array that is
 * missing its NUL is refused rather than overrun.
 */
int proto_name_check(const char *name, size_t min_len);

/* Returns 1 when the layout has a sealed body (F_SEAL), else 0. */
int proto_layout_sealed(const struct proto_layout *lay);

/*
 * Reads the header of buf[0..len) into out (cleared first) and finds its
 * layout. Returns 0 with *lay set, or a negative enum proto_result; out's
 * version and type are filled even when the version is not ours, so a
 * server can answer PROTO_E_VERSION.
 */
int proto_decode_header(const uint8_t *buf, size_t len, struct proto_msg *out,
			const struct proto_layout **lay);

/*
 * Reads the fields of lay from buf[start..len) into out: all of them, or
 * (upto_seal) those before F_SEAL. Returns the offset reached, or a
 * negative enum proto_result; trailing bytes are the caller's to refuse.
 */
long proto_decode_fields(const uint8_t *buf, size_t len, size_t start,
			 const struct proto_layout *lay, int upto_seal, struct proto_msg *out);

/* protocol_encode.c */

/*
 * Writes the head_len bytes of head, then the layout's fields of m, into
 * buf[0..cap). *body_off (when not NULL) gets the offset of F_SEAL, or 0.
 * Returns the length written, or PROTO_EINVAL (whatever cap is) /
 * PROTO_ENOSPACE; buf[cap..] is never touched.
 */
int proto_encode_layout(const struct proto_layout *lay, const uint8_t *head, size_t head_len,
			const struct proto_msg *m, uint8_t *buf, size_t cap, size_t *body_off);

#endif
