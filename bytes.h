/* bytes.h - big-endian integers in byte buffers, read and written one byte at a time. */
#ifndef P2PCHAT_BYTES_H
#define P2PCHAT_BYTES_H

#include <stdint.h>

/*
 * The network's byte order is big-endian: the most significant byte first.
 * These build each integer from its bytes, so they work whatever the
 * machine's own order and however the buffer is aligned (never lay a
 * struct or a uint32_t * over packet bytes). The caller has checked that
 * the buffer holds the bytes.
 */

static inline uint16_t bytes_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t bytes_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t bytes_get64(const uint8_t *p)
{
	return (uint64_t)bytes_get32(p) << 32 | bytes_get32(p + 4);
}

static inline void bytes_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void bytes_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void bytes_put64(uint8_t *p, uint64_t v)
{
	bytes_put32(p, (uint32_t)(v >> 32));
	bytes_put32(p + 4, (uint32_t)v);
}

#endif
