/* stream_frame.c - the stream layer's wire: QUIC variable-length integers, frames encoded and decoded, packets checked (diagrams in stream.h). */
#include "stream_impl.h"

#include <string.h>

/* ---- the wire: QUIC variable-length integers (RFC 9000 16) ---- */

/* A reading cursor that remembers its first error (tinyssh's way). */
struct rd {
	const uint8_t *p;
	size_t len, off;
	int err;
};

static uint8_t rd_u8(struct rd *r)
{
	if (r->err)
		return 0;
	if (r->len - r->off < 1) {
		r->err = STREAM_ESHORT;
		return 0;
	}
	return r->p[r->off++];
}

static uint64_t rd_varint(struct rd *r)
{
	size_t n, i;
	uint64_t v;

	if (r->err)
		return 0;
	if (r->len - r->off < 1) {
		r->err = STREAM_ESHORT;
		return 0;
	}
	n = (size_t)1 << (r->p[r->off] >> 6);
	if (r->len - r->off < n) {
		r->err = STREAM_ESHORT;
		return 0;
	}
	v = r->p[r->off] & 0x3f;
	for (i = 1; i < n; i++)
		v = v << 8 | r->p[r->off + i];
	r->off += n;
	return v;
}

/* Returns the bytes the shortest encoding of v takes. */
size_t stream_varint_len(uint64_t v)
{
	if (v < 64)
		return 1;
	if (v < 16384)
		return 2;
	if (v < (UINT64_C(1) << 30))
		return 4;
	return 8;
}

/* Writes one byte; STREAM_ENOSPACE in w->err when there is no room. */
void stream_wr_u8(struct stream_wr *w, uint8_t v)
{
	if (w->err)
		return;
	if (w->cap - w->off < 1) {
		w->err = STREAM_ENOSPACE;
		return;
	}
	w->p[w->off++] = v;
}

/* Writes v, shortest encoding; in w->err STREAM_EINVAL past 2^62 - 1, STREAM_ENOSPACE without room. */
void stream_wr_varint(struct stream_wr *w, uint64_t v)
{
	size_t n, i;

	if (w->err)
		return;
	if (v > STREAM_VARINT_MAX) {
		w->err = STREAM_EINVAL;
		return;
	}
	n = stream_varint_len(v);
	if (w->cap - w->off < n) {
		w->err = STREAM_ENOSPACE;
		return;
	}
	for (i = n; i-- > 0;) {
		w->p[w->off + i] = (uint8_t)v;
		v >>= 8;
	}
	/* the length prefix: 00, 01, 10, 11 for 1, 2, 4, 8 bytes */
	w->p[w->off] |= (uint8_t)((n == 1 ? 0 : n == 2 ? 1 : n == 4 ? 2 : 3) << 6);
	w->off += n;
}

/* Copies n bytes from src; STREAM_ENOSPACE in w->err when they do not fit. */
void stream_wr_bytes(struct stream_wr *w, const uint8_t *src, size_t n)
{
	if (w->err)
		return;
	if (w->cap - w->off < n) {
		w->err = STREAM_ENOSPACE;
		return;
	}
	memcpy(w->p + w->off, src, n);
	w->off += n;
}

/* ---- frames ---- */

/* Reads an ACK frame's body: largest, delay, count, first range, then gap/range pairs. */
static void decode_ack(struct rd *r, struct stream_frame *f)
{
	uint64_t largest, count, first, smallest, i;

	largest = rd_varint(r);
	f->ack_delay_ms = rd_varint(r);
	count = rd_varint(r);
	first = rd_varint(r);
	if (r->err)
		return;
	if (count >= STREAM_ACK_RANGES_MAX) {
		r->err = STREAM_ECOUNT;
		return;
	}
	if (first > largest) {
		r->err = STREAM_EVALUE;
		return;
	}
	f->ranges[0].hi = largest;
	f->ranges[0].lo = smallest = largest - first;
	f->nranges = 1;
	for (i = 0; i < count; i++) {
		uint64_t gap = rd_varint(r), len = rd_varint(r), hi;

		if (r->err)
			return;
		/* RFC 9000 19.3.1: the next range ends gap + 2 below the last one's smallest */
		if (smallest < 2 || gap > smallest - 2) {
			r->err = STREAM_EVALUE;
			return;
		}
		hi = smallest - gap - 2;
		if (len > hi) {
			r->err = STREAM_EVALUE;
			return;
		}
		f->ranges[f->nranges].hi = hi;
		f->ranges[f->nranges].lo = smallest = hi - len;
		f->nranges++;
	}
}

/* Decodes one frame at the cursor. */
static void decode_frame(struct rd *r, struct stream_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->type = rd_u8(r);
	if (r->err)
		return;
	switch (f->type) {
	case STREAM_F_PING:
		break;
	case STREAM_F_ACK:
		decode_ack(r, f);
		break;
	case STREAM_F_RESET:
		f->id = rd_varint(r);
		f->code = rd_varint(r);
		f->final_size = rd_varint(r);
		break;
	case STREAM_F_STOP:
		f->id = rd_varint(r);
		f->code = rd_varint(r);
		break;
	case STREAM_F_STREAM:
	case STREAM_F_STREAM_FIN:
		f->id = rd_varint(r);
		f->offset = rd_varint(r);
		f->len = (size_t)rd_varint(r);
		if (r->err)
			return;
		if (r->len - r->off < f->len) {
			r->err = STREAM_ESHORT;
			return;
		}
		/* RFC 9000 19.8: the end of a stream stays below 2^62 */
		if (f->len > STREAM_VARINT_MAX - f->offset ||
		    (f->len == 0 && f->type == STREAM_F_STREAM)) {
			r->err = STREAM_EVALUE;
			return;
		}
		f->data = r->p + r->off;
		r->off += f->len;
		break;
	case STREAM_F_MAX_DATA:
	case STREAM_F_MAX_STREAMS:
		f->max = rd_varint(r);
		break;
	case STREAM_F_MAX_STREAM_DATA:
		f->id = rd_varint(r);
		f->max = rd_varint(r);
		break;
	default:
		r->err = STREAM_ETYPE;
	}
}

int stream_frame_decode(const uint8_t *buf, size_t len, struct stream_frame *out)
{
	struct rd r = { buf, len, 0, 0 };

	decode_frame(&r, out);
	if (r.err)
		return r.err;
	return r.off == len ? 0 : STREAM_ETRAILING;
}

/* Writes an ACK frame's body from f->ranges (descending, apart). */
static void encode_ack(struct stream_wr *w, const struct stream_frame *f)
{
	uint32_t i;

	if (f->nranges == 0 || f->nranges > STREAM_ACK_RANGES_MAX) {
		w->err = STREAM_EINVAL;
		return;
	}
	for (i = 0; i < f->nranges; i++) {
		if (f->ranges[i].lo > f->ranges[i].hi ||
		    (i > 0 && f->ranges[i].hi + 2 > f->ranges[i - 1].lo)) {
			w->err = STREAM_EINVAL;
			return;
		}
	}
	stream_wr_varint(w, f->ranges[0].hi);
	stream_wr_varint(w, f->ack_delay_ms);
	stream_wr_varint(w, f->nranges - 1);
	stream_wr_varint(w, f->ranges[0].hi - f->ranges[0].lo);
	for (i = 1; i < f->nranges; i++) {
		stream_wr_varint(w, f->ranges[i - 1].lo - f->ranges[i].hi - 2);
		stream_wr_varint(w, f->ranges[i].hi - f->ranges[i].lo);
	}
}

/* Writes frame f at the cursor; STREAM_EINVAL in w->err for a frame that may not be sent. */
void stream_encode_frame(struct stream_wr *w, const struct stream_frame *f)
{
	stream_wr_u8(w, f->type);
	switch (f->type) {
	case STREAM_F_PING:
		break;
	case STREAM_F_ACK:
		encode_ack(w, f);
		break;
	case STREAM_F_RESET:
		stream_wr_varint(w, f->id);
		stream_wr_varint(w, f->code);
		stream_wr_varint(w, f->final_size);
		break;
	case STREAM_F_STOP:
		stream_wr_varint(w, f->id);
		stream_wr_varint(w, f->code);
		break;
	case STREAM_F_STREAM:
	case STREAM_F_STREAM_FIN:
		if ((f->len == 0 && f->type == STREAM_F_STREAM) || f->offset > STREAM_VARINT_MAX ||
		    f->len > STREAM_VARINT_MAX - f->offset) {
			w->err = STREAM_EINVAL;
			return;
		}
		stream_wr_varint(w, f->id);
		stream_wr_varint(w, f->offset);
		stream_wr_varint(w, f->len);
		stream_wr_bytes(w, f->data, f->len);
		break;
	case STREAM_F_MAX_DATA:
	case STREAM_F_MAX_STREAMS:
		stream_wr_varint(w, f->max);
		break;
	case STREAM_F_MAX_STREAM_DATA:
		stream_wr_varint(w, f->id);
		stream_wr_varint(w, f->max);
		break;
	default:
		w->err = STREAM_EINVAL;
	}
}

int stream_frame_encode(uint8_t *buf, size_t cap, const struct stream_frame *f)
{
	struct stream_wr w = { buf, cap, 0, 0 };

	stream_encode_frame(&w, f);
	return w.err ? w.err : (int)w.off;
}

int stream_packet_frame(const uint8_t *pkt, size_t len, size_t *off, struct stream_frame *out)
{
	struct rd r = { pkt, len, *off, 0 };

	if (*off == 0)
		rd_varint(&r); /* the packet number */
	if (r.err)
		return r.err;
	if (r.off == len)
		return 0;
	decode_frame(&r, out);
	if (r.err)
		return r.err;
	*off = r.off;
	return 1;
}

int stream_packet_check(const uint8_t *pkt, size_t len, uint64_t *pn)
{
	struct rd r = { pkt, len, 0, 0 };
	struct stream_frame f;
	int n = 0;

	*pn = rd_varint(&r);
	if (r.err)
		return r.err;
	while (r.off < len) {
		if (n == STREAM_FRAMES_MAX)
			return STREAM_ECOUNT;
		decode_frame(&r, &f);
		if (r.err)
			return r.err;
		n++;
	}
	return n > 0 ? n : STREAM_ECOUNT;
}
