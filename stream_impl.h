/* stream_impl.h - what the stream layer's files share: the writing cursor, the frame encoder, the range sets. Not the layer's API (stream.h). */
#ifndef P2PCHAT_STREAM_IMPL_H
#define P2PCHAT_STREAM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/* A writing cursor: every write checks the room first, and the first error sticks (err). */
struct stream_wr {
	uint8_t *p;
	size_t cap, off;
	int err;
};

/* stream_frame.c: the wire */
size_t stream_varint_len(uint64_t v);
void stream_wr_u8(struct stream_wr *w, uint8_t v);
void stream_wr_varint(struct stream_wr *w, uint64_t v);
void stream_wr_bytes(struct stream_wr *w, const uint8_t *src, size_t n);
void stream_encode_frame(struct stream_wr *w, const struct stream_frame *f);

/* stream_rset.c: byte range sets (struct stream_rset) */
int stream_rset_add(struct stream_rset *s, uint64_t lo, uint64_t hi);
void stream_rset_trim(struct stream_rset *s, uint64_t x);
uint64_t stream_rset_run(const struct stream_rset *s, uint64_t x);
int stream_rset_first_gap(const struct stream_rset *s, uint64_t lo, uint64_t hi, uint64_t *a,
			  uint64_t *b);
int stream_rset_touches(const struct stream_rset *s, uint64_t lo, uint64_t hi);

#endif
