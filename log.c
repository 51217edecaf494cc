/* log.c - a small leveled logger: one line per event, on stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static const char *log_program = "p2pchat";
static enum log_level log_max = LOG_INFO;

void log_init(const char *program, enum log_level level)
{
	log_program = program;
	log_max = level;
}

int log_enabled(enum log_level level)
{
	return level <= log_max;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per line, so lines from two processes sharing stderr do not interleave. */
	fprintf(stderr, "%s: %s%s\n", log_program,
		level == LOG_ERROR ? "error: " : level == LOG_WARN ? "warning: " : "", line);
}
