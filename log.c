/* log.c - a small leveled logger: one line per event, on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static const char *log_program = "p2pchat";
static enum log_level log_max = LOG_INFO;
static int log_journal; /* stderr is systemd's journal: "<N>" priorities, no program name */
static log_sink_fn log_sink;
static void *log_sink_ctx;

/*
 * Returns 1 when stderr is the journal. systemd sets JOURNAL_STREAM to
 * "DEVICE:INODE" of the stream it connects a service's stderr to; the
 * variable is inherited by every child, so it counts only while stderr is
 * still that very stream (sd-daemon(3), systemd.exec(5)).
 */
static int log_stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (v == NULL || v[0] < '0' || v[0] > '9')
		return 0;
	dev = strtoull(v, &end, 10);
	if (*end != ':' || end[1] < '0' || end[1] > '9')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	if (*end != '\0' || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *program, enum log_level level)
{
	log_program = program;
	log_max = level;
	log_journal = log_stderr_is_journal();
}

void log_set_sink(log_sink_fn sink, void *ctx)
{
	log_sink = sink;
	log_sink_ctx = ctx;
}

int log_enabled(enum log_level level)
{
	return level <= log_max;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	/* syslog(3) priorities by level: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
	static const int priority[] = { 3, 4, 6, 7 };
	const char *word = level == LOG_ERROR ? "error: " : level == LOG_WARN ? "warning: " : "";
	char line[4096]; /* the counters can make a long line */
	char whole[4096 + 64];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (log_journal)
		snprintf(whole, sizeof(whole), "<%d>%s%s", priority[level], word, line);
	else
		snprintf(whole, sizeof(whole), "%s: %s%s", log_program, word, line);
	if (log_sink != NULL)
		log_sink(log_sink_ctx, whole);
	else
		fprintf(stderr, "%s\n", whole); /* one write per line: two processes' lines do not mix */
}
