/* cli.c - the strict number parser and the usage-error path both programs share. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

int cli_number(const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	/* strtoul would skip spaces and take "-1" as a huge number. */
	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int cli_usage_error(const char *program, const char *usage, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", program);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", usage);
	return 2;
}

int cli_option_number(const char *program, const char *usage, const char *option,
		      const char *text, unsigned long min, unsigned long max, unsigned long *out)
{
	if (cli_number(text, min, max, out) == 0)
		return 0;
	return cli_usage_error(program, usage, "%s '%s': not a number from %lu to %lu", option,
			       text, min, max);
}
