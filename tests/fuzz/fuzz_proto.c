/* tests/fuzz/fuzz_proto.c - libFuzzer harness for proto_decode and proto_decode_prefix: no crash, and every accepted datagram re-encodes to itself. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "protocol.h"

/*
 * The wire format is canonical: each message has exactly one encoding
 * (fixed layouts, exact lengths, reserved bits zero, no trailing bytes).
 * So for every input the decoder accepts, encode(decode(x)) must be x,
 * byte for byte. A decoder that accepted some non-canonical form, or an
 * encoder that lost a field, breaks this.
 */

/* The fields the decoder promises for every accepted message. */
static void check_fields(const struct proto_msg *m)
{
	size_t i;

	FUZZ_CHECK(m->version == PROTO_VERSION);
	FUZZ_CHECK(strcmp(proto_type_name(m->type), "unknown") != 0);
	FUZZ_CHECK(memchr(m->name, '\0', sizeof(m->name)) != NULL);
	FUZZ_CHECK(memchr(m->target, '\0', sizeof(m->target)) != NULL);
	/* Only ERROR may carry an empty name; any other name is a valid one. */
	FUZZ_CHECK(m->name[0] == '\0' || proto_name_valid(m->name));
	FUZZ_CHECK(m->target[0] == '\0' || proto_name_valid(m->target));
	FUZZ_CHECK(m->nprivate <= PROTO_MAX_PRIVATE);
	for (i = 0; i < m->nprivate; i++)
		FUZZ_CHECK(m->private_ep[i].family == PROTO_AF_INET ||
			   m->private_ep[i].family == PROTO_AF_INET6);
	FUZZ_CHECK(m->nnames <= PROTO_WHO_MAX);
	for (i = 0; i < m->nnames; i++)
		FUZZ_CHECK(proto_name_valid(m->names[i]));
	FUZZ_CHECK(m->payload_len <= PROTO_PAYLOAD_MAX);
	FUZZ_CHECK(m->text_len <= PROTO_FRAG_MAX);
	FUZZ_CHECK(m->text[m->text_len] == '\0');
	FUZZ_CHECK((m->flags & ~(PROTO_DATA_END | PROTO_DATA_ACTION)) == 0);
	/* A NAT's kind is one of enum proto_nat, and only PEER carries one. */
	FUZZ_CHECK(m->nat <= PROTO_NAT_LAST);
	FUZZ_CHECK(m->type == PROTO_PEER || (m->nat == 0 && m->nat_port == 0));
	/* A cookie is only in the four messages that carry one; the decoder zeroes the rest. */
	if (m->type != PROTO_REGISTER && m->type != PROTO_REFRESH &&
	    m->type != PROTO_REGISTERED && m->type != PROTO_COOKIE) {
		static const uint8_t zero[PROTO_COOKIE_LEN];

		FUZZ_CHECK(memcmp(m->cookie, zero, PROTO_COOKIE_LEN) == 0);
	}
}

/*
 * The inner messages of a SEALED datagram, decoded from an opened
 * plaintext: the same rules, and the same round trip.
 */
static int test_inner(const uint8_t *data, size_t size)
{
	struct proto_msg m;
	uint8_t *out;
	int r = proto_inner_decode(data, size, &m), n;

	FUZZ_CHECK(r <= 0 && r > -PROTO_NRESULTS);
	if (r < 0)
		return 0;
	check_fields(&m);
	FUZZ_CHECK(!proto_is_peer_type(m.type));
	out = malloc(size);
	FUZZ_CHECK(out != NULL);
	n = proto_inner_encode(&m, out, size);
	FUZZ_CHECK(n >= 0 && (size_t)n == size);
	FUZZ_CHECK(memcmp(out, data, size) == 0);
	FUZZ_CHECK(proto_inner_encode(&m, out, size - 1) == PROTO_ENOSPACE);
	free(out);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg m, again;
	uint8_t *out;
	size_t room;
	int r, n;

	if (size > 0 && data[0] != PROTO_MAGIC)
		return test_inner(data, size);
	r = proto_decode(data, size, &m);
	/* Every result is one of the documented codes, with a text of its own. */
	FUZZ_CHECK(r <= 0 && r > -PROTO_NRESULTS);
	FUZZ_CHECK(strcmp(proto_strerror(r), "unknown result") != 0);
	if (r < 0)
		return 0;
	check_fields(&m);
	/* A datagram the server or a peer accepts also fits the limit every sender keeps. */
	FUZZ_CHECK(size <= PROTO_MAX_DATAGRAM);

	/*
	 * Exactly the room it needs, on the heap, so a write past it is an ASan
	 * report: `size` bytes, and for a sealed type's open form its tag's too.
	 */
	room = size + (proto_is_sealed(m.type) ? PROTO_TAG_LEN : 0);
	out = malloc(room);
	FUZZ_CHECK(out != NULL);
	n = proto_encode(&m, out, room);
	FUZZ_CHECK(n >= 0 && (size_t)n == size);
	FUZZ_CHECK(memcmp(out, data, size) == 0);
	/* One byte less room: refused, and nothing written past it. */
	FUZZ_CHECK(proto_encode(&m, out, room - 1) == PROTO_ENOSPACE);
	free(out);
	/* The clear part agrees with the whole: the same prefix fields, the body where it starts. */
	r = proto_decode_prefix(data, size, &again);
	if (proto_is_sealed(m.type)) {
		FUZZ_CHECK(r == PROTO_ESHORT || (r > 0 && (size_t)r <= size));
		if (r > 0) {
			FUZZ_CHECK(again.counter == m.counter);
			FUZZ_CHECK(strcmp(again.name, m.type == PROTO_REGISTER || m.type == PROTO_REFRESH ||
							 m.type == PROTO_LOOKUP || m.type == PROTO_WHO ||
							 m.type == PROTO_REPORT || m.type == PROTO_RELAY ||
							 m.type == PROTO_MAPPING ?
							 m.name : "") == 0);
		}
	} else {
		FUZZ_CHECK(r == 0 && again.type == m.type);
	}

	/*
	 * No prefix of a message is a message: the first byte short is a
	 * truncation. But a SEALED body is the rest of the datagram: a byte
	 * short is a shorter one, or too short to be one.
	 */
	if (m.type == PROTO_SEALED)
		FUZZ_CHECK(proto_decode(data, size - 1, &again) ==
			   (size - 1 < PROTO_HEADER_LEN + PROTO_SEALED_MIN ? PROTO_ELENGTH : 0));
	else
		FUZZ_CHECK(proto_decode(data, size - 1, &again) == PROTO_ESHORT);
	/* And decoding is a function of the bytes alone: the same input, the same struct. */
	FUZZ_CHECK(proto_decode(data, size, &again) == 0);
	FUZZ_CHECK(memcmp(&m, &again, sizeof(m)) == 0);
	return 0;
}
