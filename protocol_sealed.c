/* protocol_sealed.c - a sealed datagram's open prefix, SEALED's inner messages, the version refusal. */
#include <string.h>

#include "protocol_impl.h"

int proto_inner_decode(const uint8_t *buf, size_t len, struct proto_msg *out)
{
	const struct proto_layout *lay;
	long off;

	memset(out, 0, sizeof(*out));
	if (len < 1)
		return PROTO_ESHORT;
	out->version = PROTO_VERSION;
	out->type = buf[0];
	lay = proto_layout_of(buf[0], 1);
	if (lay == NULL)
		return PROTO_ETYPE;
	/* After the type byte: an inner message has no header of its own. */
	off = proto_decode_fields(buf, len, 1, lay, 0, out);
	if (off < 0)
		return (int)off;
	if ((size_t)off != len)
		return PROTO_ETRAILING;
	return 0;
}

int proto_decode_prefix(const uint8_t *buf, size_t len, struct proto_msg *out)
{
	const struct proto_layout *lay = NULL;
	int r = proto_decode_header(buf, len, out, &lay);
	long off;

	if (r < 0)
		return r;
	if (!proto_layout_sealed(lay))
		return 0;
	off = proto_decode_fields(buf, len, PROTO_HEADER_LEN, lay, 1, out);
	if (off < 0)
		return (int)off;
	/* The tag at least must follow: a shorter datagram cannot open. */
	if (len - (size_t)off < PROTO_TAG_LEN)
		return PROTO_ESHORT;
	return (int)off;
}

int proto_is_sealed(int type)
{
	const struct proto_layout *lay = proto_layout_of(type, 0);

	return lay != NULL && proto_layout_sealed(lay);
}

int proto_inner_encode(const struct proto_msg *m, uint8_t *buf, size_t cap)
{
	const struct proto_layout *lay = proto_layout_of(m->type, 1);
	const uint8_t head[1] = { m->type };

	if (lay == NULL)
		return PROTO_EINVAL;
	return proto_encode_layout(lay, head, sizeof(head), m, buf, cap, NULL);
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
