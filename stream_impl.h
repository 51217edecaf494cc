/* stream_impl.h - what the stream layer's files share: the half states, the writing cursor, the range sets, the calls one file makes in another. Not the layer's API (stream.h). */
#ifndef P2PCHAT_STREAM_IMPL_H
#define P2PCHAT_STREAM_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/* reset_state and stop_state */
enum {
	HALF_NONE = 0,
	HALF_PENDING = 1,   /* the frame is to be sent (again) */
	HALF_IN_FLIGHT = 2,
	HALF_ACKED = 3,
};

static inline uint64_t stream_min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Returns 1 for a STREAM frame type, with or without FIN. */
static inline int stream_is_data(uint8_t type)
{
	return type == STREAM_F_STREAM || type == STREAM_F_STREAM_FIN;
}

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

/* stream.c: the stream table, the application's calls, the receiving side */
int stream_is_local(const struct stream_conn *c, uint64_t id);
struct stream *stream_find(struct stream_conn *c, uint64_t id);
void stream_notify(struct stream_conn *c, uint64_t id, int ev, uint64_t code);

/* stream_send.c: what cc says of our packets, the lost queue, the sending side */
void stream_drop_lost(struct stream_conn *c, uint64_t id);
int stream_on_ack(struct stream_conn *c, const struct stream_frame *f, int64_t now);
void stream_sweep(struct stream_conn *c);

#endif
