/* tests/vectors.h - reads the published test-vector files ("Name = value" records, blank-line separated, NIST .rsp and python3-cryptography-vectors). Header-only. */
#ifndef TESTS_VECTORS_H
#define TESTS_VECTORS_H

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Where Debian's python3-cryptography-vectors puts its files (tests/deps.sh installs it). */
#define VECTORS_DIR "/usr/lib/python3/dist-packages/cryptography_vectors"

#define VECTORS_MAX_FIELDS 16
#define VECTORS_NAME_LEN 32

/* One record: up to VECTORS_MAX_FIELDS "name = value" lines; values are heap strings. */
struct vectors_record {
	int n;
	char name[VECTORS_MAX_FIELDS][VECTORS_NAME_LEN];
	char *value[VECTORS_MAX_FIELDS];
};

/* An open file of records; lines starting with '#' or '[' are skipped. */
struct vectors_file {
	FILE *f;
	char *line;
	size_t cap;
	struct vectors_record rec;
};

/* Opens VECTORS_DIR/relpath. Returns 0, or -1 (with a message on stderr). */
static inline int vectors_open(struct vectors_file *v, const char *relpath)
{
	char path[512];

	memset(v, 0, sizeof(*v));
	snprintf(path, sizeof(path), "%s/%s", VECTORS_DIR, relpath);
	v->f = fopen(path, "r");
	if (v->f == NULL) {
		fprintf(stderr, "vectors: cannot open %s (run tests/deps.sh)\n", path);
		return -1;
	}
	return 0;
}

static inline void vectors_clear(struct vectors_record *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->value[i]);
	r->n = 0;
}

/*
 * Reads the next record into v->rec. Returns 1, or 0 at the end of the file.
 * Names are kept as written ("Key", "Len", "MD"); values have their
 * surrounding spaces removed.
 */
static inline int vectors_next(struct vectors_file *v)
{
	struct vectors_record *r = &v->rec;
	ssize_t got;

	vectors_clear(r);
	while ((got = getline(&v->line, &v->cap, v->f)) >= 0) {
		char *s = v->line, *eq, *end;

		while (got > 0 && (s[got - 1] == '\n' || s[got - 1] == '\r'))
			s[--got] = '\0';
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0') {
			if (r->n > 0)
				return 1;
			continue;
		}
		if (*s == '#' || *s == '[')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL || r->n == VECTORS_MAX_FIELDS)
			continue;
		end = eq;
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		snprintf(r->name[r->n], VECTORS_NAME_LEN, "%.*s", (int)(end - s), s);
		eq++;
		while (isspace((unsigned char)*eq))
			eq++;
		end = eq + strlen(eq);
		while (end > eq && isspace((unsigned char)end[-1]))
			*--end = '\0';
		r->value[r->n++] = strdup(eq);
	}
	return r->n > 0;
}

/* The value of field name in the current record, or NULL. */
static inline const char *vectors_get(const struct vectors_file *v, const char *name)
{
	for (int i = 0; i < v->rec.n; i++)
		if (strcmp(v->rec.name[i], name) == 0)
			return v->rec.value[i];
	return NULL;
}

static inline void vectors_close(struct vectors_file *v)
{
	vectors_clear(&v->rec);
	free(v->line);
	if (v->f != NULL)
		fclose(v->f);
	memset(v, 0, sizeof(*v));
}

/*
 * Decodes hex into out (at most cap bytes). Returns the byte count, or -1
 * for an odd length, a non-hex digit or too many bytes. "" and "00" with
 * a NIST Len of 0 both decode as the caller decides.
 */
static inline long vectors_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex), i;

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (!isxdigit((unsigned char)hex[2 * i]) || !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return (long)(n / 2);
}

#endif
