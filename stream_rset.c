/* stream_rset.c - byte range sets: sorted, apart [lo, hi) ranges in a fixed array (what a stream holds out of order, or has acknowledged). */
#include "stream_impl.h"

#include <string.h>

/* Adds [lo, hi). Returns 0, or -1 when it would take a range the set has no room for. */
int stream_rset_add(struct stream_rset *s, uint64_t lo, uint64_t hi)
{
	uint32_t i, j;

	if (lo >= hi)
		return 0;
	for (i = 0; i < s->n && s->r[i].hi < lo; i++)
		;
	for (j = i; j < s->n && s->r[j].lo <= hi; j++)
		;
	if (i == j) {
		if (s->n == STREAM_RANGES_MAX)
			return -1;
		memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
		s->r[i].lo = lo;
		s->r[i].hi = hi;
		s->n++;
		return 0;
	}
	/* ranges i..j-1 touch [lo, hi): they become one */
	if (s->r[i].lo < lo)
		lo = s->r[i].lo;
	if (s->r[j - 1].hi > hi)
		hi = s->r[j - 1].hi;
	s->r[i].lo = lo;
	s->r[i].hi = hi;
	memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(s->r[0]));
	s->n -= j - i - 1;
	return 0;
}

/* Forgets everything below x. */
void stream_rset_trim(struct stream_rset *s, uint64_t x)
{
	uint32_t k = 0;

	while (k < s->n && s->r[k].hi <= x)
		k++;
	memmove(&s->r[0], &s->r[k], (s->n - k) * sizeof(s->r[0]));
	s->n -= k;
	if (s->n > 0 && s->r[0].lo < x)
		s->r[0].lo = x;
}

/* Returns the end of the run starting at x that the set covers (x itself when none). */
uint64_t stream_rset_run(const struct stream_rset *s, uint64_t x)
{
	uint32_t i;

	for (i = 0; i < s->n; i++)
		if (s->r[i].lo <= x && s->r[i].hi > x)
			return s->r[i].hi;
	return x;
}

/* Finds the first part of [lo, hi) the set does not cover: [*a, *b). Returns 0 when all is covered. */
int stream_rset_first_gap(const struct stream_rset *s, uint64_t lo, uint64_t hi, uint64_t *a,
			  uint64_t *b)
{
	uint32_t i;

	for (i = 0; i < s->n && lo < hi; i++) {
		if (s->r[i].hi <= lo)
			continue;
		if (s->r[i].lo <= lo) {
			lo = s->r[i].hi;
			continue;
		}
		break;
	}
	if (lo >= hi)
		return 0;
	*a = lo;
	*b = i < s->n && s->r[i].lo < hi ? s->r[i].lo : hi;
	return 1;
}

/* Returns 1 when [lo, hi) overlaps or touches a range of the set: adding it takes no new slot. */
int stream_rset_touches(const struct stream_rset *s, uint64_t lo, uint64_t hi)
{
	uint32_t i;

	for (i = 0; i < s->n; i++)
		if (s->r[i].lo <= hi && s->r[i].hi >= lo)
			return 1;
	return 0;
}
