/* sha256_x86.c - SHA-256's compression function (FIPS 180-4 section 6.2.2) on the x86 SHA extensions. */
#include "sha256_impl.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

/*
 * The SHA extensions (Intel, "Intel SHA Extensions", 2013) keep the eight working variables
 * in two registers, named for the lanes from the highest down: ABEF = (a, b, e, f) and
 * CDGH = (c, d, g, h). SHA256RNDS2 runs two steps of section 6.2.2 step 3 from both halves
 * and the sum W_t + K_t of the two steps in the low two lanes of its third operand, and
 * returns the new ABEF; the old ABEF is then the new CDGH, so two calls, with the names
 * swapped, make four steps. SHA256MSG1 and SHA256MSG2 compute four words of the message
 * schedule (section 6.2.2 step 1): MSG1 adds sigma0(W_{t-15}) to W_{t-16}, the caller adds
 * W_{t-7}, and MSG2 adds sigma1(W_{t-2}), taking W_{t-2} for the last two lanes from the
 * first two it has just made. Every instruction's timing is independent of the data: no
 * branch and no index depends on the message or the state.
 */
#define SHA256_X86_TARGET __attribute__((target("sha,ssse3,sse4.1")))

/* Four steps t..t+3: W_t..W_{t+3} in w, lowest lane first. */
#define SHA256_X86_QUAD(t, w)                                                              \
	do {                                                                                \
		__m128i wk = _mm_add_epi32((w), _mm_loadu_si128((const __m128i *)&sha256_K[t])); \
		cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);                               \
		abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));      \
	} while (0)

/*
 * Section 6.2.2 step 1 for four words: w0..w3 hold W_{t-16}..W_{t-1}, four a register;
 * w0 becomes W_t..W_{t+3}. W_{t-7}..W_{t-4} are the top three lanes of w2 and the lowest
 * of w3, which PALIGNR joins.
 */
#define SHA256_X86_SCHEDULE(w0, w1, w2, w3)                                                 \
	((w0) = _mm_sha256msg2_epu32(_mm_add_epi32(_mm_sha256msg1_epu32((w0), (w1)),        \
						   _mm_alignr_epi8((w3), (w2), 4)), (w3)))

SHA256_X86_TARGET
void sha256_x86_blocks(uint32_t state[8], const uint8_t *p, size_t n)
{
	/* Section 3.1: the words are big-endian; PSHUFB reverses the bytes of each lane. */
	const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
	__m128i abcd = _mm_loadu_si128((const __m128i *)&state[0]); /* lanes a, b, c, d from the lowest */
	__m128i efgh = _mm_loadu_si128((const __m128i *)&state[4]);
	__m128i badc = _mm_shuffle_epi32(abcd, 0xb1);               /* b, a, d, c */
	__m128i hgfe = _mm_shuffle_epi32(efgh, 0x1b);               /* h, g, f, e */
	__m128i abef = _mm_alignr_epi8(badc, hgfe, 8);              /* f, e, b, a */
	__m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xf0);           /* h, g, d, c */
	__m128i rev_abef, swap_cdgh, abef_in, cdgh_in, w0, w1, w2, w3;
	int t;

	for (; n > 0; n--, p += 64) {
		abef_in = abef;
		cdgh_in = cdgh;
		w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 0)), bswap);
		w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), bswap);
		w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), bswap);
		w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), bswap);
		SHA256_X86_QUAD(0, w0);
		SHA256_X86_QUAD(4, w1);
		SHA256_X86_QUAD(8, w2);
		SHA256_X86_QUAD(12, w3);
		for (t = 16; t < 64; t += 16) {
			SHA256_X86_SCHEDULE(w0, w1, w2, w3);
			SHA256_X86_QUAD(t, w0);
			SHA256_X86_SCHEDULE(w1, w2, w3, w0);
			SHA256_X86_QUAD(t + 4, w1);
			SHA256_X86_SCHEDULE(w2, w3, w0, w1);
			SHA256_X86_QUAD(t + 8, w2);
			SHA256_X86_SCHEDULE(w3, w0, w1, w2);
			SHA256_X86_QUAD(t + 12, w3);
		}
		/* Step 4: the intermediate hash value H(i). */
		abef = _mm_add_epi32(abef, abef_in);
		cdgh = _mm_add_epi32(cdgh, cdgh_in);
	}
	rev_abef = _mm_shuffle_epi32(abef, 0x1b);                   /* a, b, e, f */
	swap_cdgh = _mm_shuffle_epi32(cdgh, 0xb1);                   /* g, h, c, d */
	_mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(rev_abef, swap_cdgh, 0xf0));
	_mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(swap_cdgh, rev_abef, 8));
}

/*
 * CPUID (Intel SDM vol. 2A, "CPUID"): leaf 7 subleaf 0, EBX bit 29 is SHA; leaf 1, ECX bit 9
 * is SSSE3 (PSHUFB, PALIGNR) and bit 19 SSE4.1 (PBLENDW). Asked directly rather than
 * through __builtin_cpu_supports, whose "sha" clang 14 does not know.
 */
#define CPUID_7_EBX_SHA (1u << 29)
#define CPUID_1_ECX_SSSE3 (1u << 9)
#define CPUID_1_ECX_SSE4_1 (1u << 19)

int sha256_x86_supported(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || (c & CPUID_1_ECX_SSSE3) == 0 ||
	    (c & CPUID_1_ECX_SSE4_1) == 0)
		return 0;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
		return 0;
	return (b & CPUID_7_EBX_SHA) != 0;
}

#else

/* Not x86-64: never called, since sha256_x86_supported says 0. */
void sha256_x86_blocks(uint32_t state[8], const uint8_t *p, size_t n)
{
	(void)state;
	(void)p;
	(void)n;
}

int sha256_x86_supported(void)
{
	return 0;
}

#endif
