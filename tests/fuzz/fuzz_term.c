/* tests/fuzz/fuzz_term.c - libFuzzer harness for term_sanitize and the display widths: safe for a terminal, cut between characters. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "term.h"

/*
 * The worst case of term_sanitize is 3 output bytes per input byte: a C1
 * control (2 bytes, C2 80..C2 9F) becomes 6 ("\u0085"). The client sizes
 * its buffer for that (PROTO_LINE_MAX * 3 + 1); so do we.
 */
#define SANITIZE_GROWTH 3
#define SANITIZE_PIECE_MAX 6 /* the longest thing one character becomes: "\u0085", or 4 bytes of UTF-8 */

/*
 * Input: the first byte picks a small output capacity (1..256) to test
 * the cut; the rest is the text, as it would come from a peer. Checked:
 * no write past cap (the buffers are exactly cap bytes on the heap), the
 * result is NUL-terminated, its length is returned, it is safe for a
 * terminal (fuzz_text_safe), and a cut result is a prefix of the whole one
 * that ends between two characters.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text;
	size_t len, cap_small, cap_full, n_small, n_full;
	char *small, *full;

	if (size == 0)
		return 0;
	cap_small = (size_t)data[0] + 1;
	text = (const char *)data + 1;
	len = size - 1;
	cap_full = len * SANITIZE_GROWTH + 1;

	full = malloc(cap_full);
	small = malloc(cap_small);
	FUZZ_CHECK(full != NULL && small != NULL);

	n_full = term_sanitize(text, len, full, cap_full);
	FUZZ_CHECK(n_full < cap_full);
	FUZZ_CHECK(full[n_full] == '\0' && strlen(full) == n_full);
	FUZZ_CHECK(fuzz_text_safe(full, n_full));
	/* With room for the worst case nothing is cut: every input byte shows up as something. */
	FUZZ_CHECK(n_full >= len);

	n_small = term_sanitize(text, len, small, cap_small);
	FUZZ_CHECK(n_small < cap_small);
	FUZZ_CHECK(small[n_small] == '\0' && strlen(small) == n_small);
	FUZZ_CHECK(fuzz_text_safe(small, n_small));
	FUZZ_CHECK(n_small <= n_full && memcmp(small, full, n_small) == 0);
	/* Cut only when it had to be: the next piece would not have fit with its NUL. */
	if (n_small < n_full)
		FUZZ_CHECK(n_small + SANITIZE_PIECE_MAX >= cap_small);

	/* No room at all: nothing written, not even the NUL. */
	FUZZ_CHECK(term_sanitize(text, len, small, 0) == 0);

	/*
	 * Widths of what is printed: the part that fits cap_small columns
	 * takes no more, its width is what term_fit said, and the cut is
	 * between characters (the rest is valid UTF-8 as the whole was).
	 */
	{
		static int locale_set;
		size_t fit, cols, w_full = term_width(full, n_full);

		if (!locale_set)
			locale_set = term_locale_init() + 1;
		fit = term_fit(full, n_full, cap_small, &cols);
		FUZZ_CHECK(fit <= n_full && cols <= cap_small && cols <= w_full);
		FUZZ_CHECK(term_width(full, fit) == cols);
		FUZZ_CHECK(fit == n_full || (((unsigned char)full[fit] & 0xc0) != 0x80));
		FUZZ_CHECK(w_full <= 2 * n_full);
	}

	free(small);
	free(full);
	return 0;
}
