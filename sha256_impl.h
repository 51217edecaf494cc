/* sha256_impl.h - what sha256.c shares with its x86 compression function (sha256_x86.c); not for other modules. */
#ifndef P2PCHAT_SHA256_IMPL_H
#define P2PCHAT_SHA256_IMPL_H

#include <stddef.h>
#include <stdint.h>

/* FIPS 180-4 section 4.2.2: K{256}_0..K{256}_63 (defined in sha256.c). */
extern const uint32_t sha256_K[64];

/*
 * FIPS 180-4 section 6.2.2 with the x86 SHA extensions: folds n 64-byte blocks at p into
 * state, exactly as sha256.c's portable sha256_blocks does. Call it only when
 * sha256_x86_supported() said 1; on other CPUs the instructions fault.
 */
void sha256_x86_blocks(uint32_t state[8], const uint8_t *p, size_t n);
/* 1 when this CPU has the SHA extensions and SSE4.1 (and this is an x86-64 build), else 0. */
int sha256_x86_supported(void);

#endif
