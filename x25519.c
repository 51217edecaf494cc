/* x25519.c - X25519 (RFC 7748): a 5x51-bit field, the Montgomery ladder, constant time. */
#include <stdint.h>
#include <string.h>

#include "ct.h"
#include "x25519.h"

/*
 * The field GF(p), p = 2^255 - 19 (RFC 7748 section 4.1), as five limbs of
 * 51 bits: h = h[0] + h[1] 2^51 + h[2] 2^102 + h[3] 2^153 + h[4] 2^204.
 * Limbs may exceed 51 bits between operations and the value may exceed p;
 * only fe_tobytes() reduces fully. 2^255 = 19 (mod p) folds the top back in.
 *
 * Bounds, which the ladder keeps: fe_mul(), fe_sq() and fe_mul_a24() return
 * limbs below 2^51 + 2^14; fe_add() and fe_sub() of two such return limbs
 * below 2^53; the multiplications accept limbs below 2^53, for which no
 * 128-bit column sum (below 2^114) and no 64-bit carry can overflow.
 */
typedef uint64_t fe[5];

__extension__ typedef unsigned __int128 x25519_u128;

#define MASK51 ((UINT64_C(1) << 51) - 1)

/* 2p limb by limb, added before a subtraction so that no limb goes negative. */
#define TWO_P0 UINT64_C(0xfffffffffffda)  /* 2 (2^51 - 19) */
#define TWO_P1234 UINT64_C(0xffffffffffffe) /* 2 (2^51 - 1) */

/* (A - 2) / 4 for A = 486662 (section 4.1), the a24 of section 5's ladder. */
#define A24 121665

/*
 * Section 5: the u-coordinate is 32 bytes little-endian; the top bit is
 * masked, and values p..2^255-1 are kept as they are, since every operation
 * below works mod p (the RFC asks implementations to accept them).
 */
static void fe_frombytes(fe h, const uint8_t s[X25519_LEN])
{
	uint64_t w0 = ct_get64le(s), w1 = ct_get64le(s + 8);
	uint64_t w2 = ct_get64le(s + 16), w3 = ct_get64le(s + 24);

	h[0] = w0 & MASK51;
	h[1] = (w0 >> 51 | w1 << 13) & MASK51;
	h[2] = (w1 >> 38 | w2 << 26) & MASK51;
	h[3] = (w2 >> 25 | w3 << 39) & MASK51;
	h[4] = (w3 >> 12) & MASK51;  /* bit 255 is dropped here */
}

/* Carries h[0] up into h[4]: limbs 0..3 end below 2^51; h[4] keeps what is past 2^255. */
static void fe_carry_up(fe h)
{
	h[1] += h[0] >> 51;
	h[0] &= MASK51;
	h[2] += h[1] >> 51;
	h[1] &= MASK51;
	h[3] += h[2] >> 51;
	h[2] &= MASK51;
	h[4] += h[3] >> 51;
	h[3] &= MASK51;
}

/*
 * One pass of carries, with 2^255 folded back in as 19: every limb ends below
 * 2^51 except h[0], below 2^51 + 19 * 2^13.
 */
static void fe_carry(fe h)
{
	fe_carry_up(h);
	h[0] += 19 * (h[4] >> 51);
	h[4] &= MASK51;
}

/*
 * Section 5's encoding: the unique representative in 0..p-1, 32 bytes
 * little-endian, bit 255 zero. Constant time: whether h >= p is found as the
 * carry q out of h + 19 past bit 255, and q p is subtracted by arithmetic on
 * q, never with a branch.
 */
static void fe_tobytes(uint8_t s[X25519_LEN], const fe f)
{
	fe h;
	uint64_t q;

	memcpy(h, f, sizeof(h));
	fe_carry(h);
	fe_carry(h);
	/* Now h < 2^255 + 19 < 2p, so q = floor((h + 19) / 2^255) is 1 exactly when h >= p. */
	q = (h[0] + 19) >> 51;
	q = (h[1] + q) >> 51;
	q = (h[2] + q) >> 51;
	q = (h[3] + q) >> 51;
	q = (h[4] + q) >> 51;
	/* h - q p = h + 19 q - q 2^255: add 19 q, carry, drop bit 255. */
	h[0] += 19 * q;
	fe_carry_up(h);
	h[4] &= MASK51;
	ct_put64le(s, h[0] | h[1] << 51);
	ct_put64le(s + 8, h[1] >> 13 | h[2] << 38);
	ct_put64le(s + 16, h[2] >> 26 | h[3] << 25);
	ct_put64le(s + 24, h[3] >> 39 | h[4] << 12);
	ct_wipe(h, sizeof(h));
}

static void fe_add(fe h, const fe f, const fe g)
{
	for (int i = 0; i < 5; i++)
		h[i] = f[i] + g[i];
}

/* f - g + 2p: g's limbs must be below 2^52 - 38 (a multiplication's output is). */
static void fe_sub(fe h, const fe f, const fe g)
{
	h[0] = f[0] + TWO_P0 - g[0];
	for (int i = 1; i < 5; i++)
		h[i] = f[i] + TWO_P1234 - g[i];
}

/*
 * Carries the five 128-bit column sums of a product into h. For inputs below
 * 2^53 each carry is below 2^63, and the one out of the top column (which has
 * no factor 19) below 2^58, so 19 times it still fits the 64-bit h[0].
 */
static inline void fe_reduce(fe h, x25519_u128 r0, x25519_u128 r1, x25519_u128 r2, x25519_u128 r3,
			     x25519_u128 r4)
{
	uint64_t c;

	r1 += (uint64_t)(r0 >> 51);
	r2 += (uint64_t)(r1 >> 51);
	r3 += (uint64_t)(r2 >> 51);
	r4 += (uint64_t)(r3 >> 51);
	c = (uint64_t)(r4 >> 51);
	h[0] = ((uint64_t)r0 & MASK51) + 19 * c;
	h[1] = ((uint64_t)r1 & MASK51) + (h[0] >> 51);
	h[0] &= MASK51;
	h[2] = (uint64_t)r2 & MASK51;
	h[3] = (uint64_t)r3 & MASK51;
	h[4] = (uint64_t)r4 & MASK51;
}

/* h = f g: schoolbook, with the columns past 2^255 folded back times 19. */
static void fe_mul(fe h, const fe f, const fe g)
{
	const x25519_u128 f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
	const uint64_t g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4];
	const uint64_t g1_19 = 19 * g1, g2_19 = 19 * g2, g3_19 = 19 * g3, g4_19 = 19 * g4;

	fe_reduce(h,
		  f0 * g0 + f1 * g4_19 + f2 * g3_19 + f3 * g2_19 + f4 * g1_19,
		  f0 * g1 + f1 * g0 + f2 * g4_19 + f3 * g3_19 + f4 * g2_19,
		  f0 * g2 + f1 * g1 + f2 * g0 + f3 * g4_19 + f4 * g3_19,
		  f0 * g3 + f1 * g2 + f2 * g1 + f3 * g0 + f4 * g4_19,
		  f0 * g4 + f1 * g3 + f2 * g2 + f3 * g1 + f4 * g0);
}

/* h = f^2: fe_mul() with the equal cross products counted once and doubled. */
static void fe_sq(fe h, const fe f)
{
	const x25519_u128 f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
	const uint64_t d0 = 2 * f[0], d1 = 2 * f[1], d2 = 2 * f[2], d3 = 2 * f[3];
	const uint64_t f3_19 = 19 * f[3], f4_19 = 19 * f[4];

	fe_reduce(h,
		  f0 * f0 + d1 * (x25519_u128)f4_19 + d2 * (x25519_u128)f3_19,
		  d0 * f1 + d2 * (x25519_u128)f4_19 + f3 * f3_19,
		  d0 * f2 + f1 * f1 + d3 * (x25519_u128)f4_19,
		  d0 * f3 + d1 * f2 + f4 * f4_19,
		  d0 * f4 + d1 * f3 + f2 * f2);
}

/* h = f^(2^n), n >= 1. */
static void fe_sqn(fe h, const fe f, int n)
{
	fe_sq(h, f);
	while (--n > 0)
		fe_sq(h, h);
}

/* h = a24 f (the constant of section 5's ladder). */
static void fe_mul_a24(fe h, const fe f)
{
	fe_reduce(h, (x25519_u128)f[0] * A24, (x25519_u128)f[1] * A24, (x25519_u128)f[2] * A24,
		  (x25519_u128)f[3] * A24, (x25519_u128)f[4] * A24);
}

/*
 * Section 5's cswap: exchanges f and g when swap is 1, leaves them when 0,
 * with the same instructions either way: mask = 0 - swap is all ones or
 * all zeros, and only selects which bits of f ^ g are flipped.
 */
static void fe_cswap(fe f, fe g, uint64_t swap)
{
	const uint64_t mask = 0 - swap;

	for (int i = 0; i < 5; i++) {
		uint64_t x = mask & (f[i] ^ g[i]);

		f[i] ^= x;
		g[i] ^= x;
	}
}

/*
 * z^(p-2) = 1/z (Fermat's little theorem; section 5 computes
 * x_2 * z_2^(p - 2)), by a fixed chain of 254 squarings and 11
 * multiplications, the same for every z; 1/0 comes out as 0. The comments
 * give the exponent reached; t is scratch the caller wipes.
 */
static void fe_invert(fe out, const fe z, fe t[4])
{
	fe_sq(t[0], z);                /* 2 */
	fe_sqn(t[1], t[0], 2);         /* 8 */
	fe_mul(t[1], z, t[1]);         /* 9 */
	fe_mul(t[0], t[0], t[1]);      /* 11 */
	fe_sq(t[2], t[0]);             /* 22 */
	fe_mul(t[1], t[1], t[2]);      /* 31 = 2^5 - 1 */
	fe_sqn(t[2], t[1], 5);
	fe_mul(t[1], t[2], t[1]);      /* 2^10 - 1 */
	fe_sqn(t[2], t[1], 10);
	fe_mul(t[2], t[2], t[1]);      /* 2^20 - 1 */
	fe_sqn(t[3], t[2], 20);
	fe_mul(t[2], t[3], t[2]);      /* 2^40 - 1 */
	fe_sqn(t[2], t[2], 10);
	fe_mul(t[1], t[2], t[1]);      /* 2^50 - 1 */
	fe_sqn(t[2], t[1], 50);
	fe_mul(t[2], t[2], t[1]);      /* 2^100 - 1 */
	fe_sqn(t[3], t[2], 100);
	fe_mul(t[2], t[3], t[2]);      /* 2^200 - 1 */
	fe_sqn(t[2], t[2], 50);
	fe_mul(t[1], t[2], t[1]);      /* 2^250 - 1 */
	fe_sqn(t[1], t[1], 5);         /* 2^255 - 32 */
	fe_mul(out, t[1], t[0]);       /* 2^255 - 21 = p - 2 */
}

/* Everything the ladder holds that depends on the scalar, wiped as one. */
struct ladder {
	uint8_t k[X25519_LEN];      /* the clamped scalar */
	fe x1, x2, z2, x3, z3;      /* section 5's names */
	fe a, aa, b, bb, e, c, d, da, cb;
	fe t[4];                    /* fe_invert()'s scratch */
	uint64_t swap;
};

/*
 * Section 5's decodeScalar25519: clear the three low bits (a multiple of the
 * cofactor 8), clear bit 255 and set bit 254 (a fixed ladder length).
 */
static void clamp(uint8_t k[X25519_LEN], const uint8_t scalar[X25519_LEN])
{
	memcpy(k, scalar, X25519_LEN);
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
}

/* One step of section 5's ladder, as the RFC writes it: a doubling and a differential addition. */
static void ladder_step(struct ladder *l)
{
	fe_add(l->a, l->x2, l->z2);        /* A = x_2 + z_2 */
	fe_sq(l->aa, l->a);                /* AA = A^2 */
	fe_sub(l->b, l->x2, l->z2);        /* B = x_2 - z_2 */
	fe_sq(l->bb, l->b);                /* BB = B^2 */
	fe_sub(l->e, l->aa, l->bb);        /* E = AA - BB */
	fe_add(l->c, l->x3, l->z3);        /* C = x_3 + z_3 */
	fe_sub(l->d, l->x3, l->z3);        /* D = x_3 - z_3 */
	fe_mul(l->da, l->d, l->a);         /* DA = D * A */
	fe_mul(l->cb, l->c, l->b);         /* CB = C * B */
	fe_add(l->x3, l->da, l->cb);
	fe_sq(l->x3, l->x3);               /* x_3 = (DA + CB)^2 */
	fe_sub(l->z3, l->da, l->cb);
	fe_sq(l->z3, l->z3);
	fe_mul(l->z3, l->x1, l->z3);       /* z_3 = x_1 * (DA - CB)^2 */
	fe_mul(l->x2, l->aa, l->bb);       /* x_2 = AA * BB */
	fe_mul_a24(l->z2, l->e);
	fe_add(l->z2, l->aa, l->z2);
	fe_mul(l->z2, l->e, l->z2);        /* z_2 = E * (AA + a24 * E) */
}

/*
 * RFC 7748 section 5: X25519(k, u). The ladder runs over bits 254..0 of the
 * clamped scalar, always 255 steps; the bit only decides, through mask
 * arithmetic, whether the two points trade places. Section 6.1: an all-zero
 * result (u of small order) is reported as -1, found without a branch.
 */
int x25519(uint8_t out[X25519_LEN], const uint8_t scalar[X25519_LEN],
	   const uint8_t point[X25519_LEN])
{
	struct ladder l;

	clamp(l.k, scalar);
	fe_frombytes(l.x1, point);
	memset(l.x2, 0, sizeof(l.x2));
	l.x2[0] = 1;
	memset(l.z2, 0, sizeof(l.z2));
	memcpy(l.x3, l.x1, sizeof(l.x3));
	memset(l.z3, 0, sizeof(l.z3));
	l.z3[0] = 1;
	l.swap = 0;
	for (int t = 254; t >= 0; t--) {
		/* t is public: the index and shift depend on the step, not the key. */
		uint64_t k_t = (uint64_t)(l.k[t >> 3] >> (t & 7)) & 1;

		l.swap ^= k_t;
		fe_cswap(l.x2, l.x3, l.swap);
		fe_cswap(l.z2, l.z3, l.swap);
		l.swap = k_t;
		ladder_step(&l);
	}
	fe_cswap(l.x2, l.x3, l.swap);
	fe_cswap(l.z2, l.z3, l.swap);
	fe_invert(l.z2, l.z2, l.t);
	fe_mul(l.x2, l.x2, l.z2);
	fe_tobytes(out, l.x2);
	ct_wipe(&l, sizeof(l));
	return -ct_is_zero(out, X25519_LEN);
}

/* Section 6.1: the public key is X25519(a, 9), 9 being the base point's u-coordinate. */
void x25519_public(uint8_t pub[X25519_LEN], const uint8_t secret[X25519_LEN])
{
	static const uint8_t base[X25519_LEN] = { 9 };

	/* The base point has prime order, so a clamped scalar never gives zero. */
	(void)x25519(pub, secret, base);
}
