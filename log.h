/* log.h - a small leveled logger: one line per event, on stderr. */
#ifndef P2PCHAT_LOG_H
#define P2PCHAT_LOG_H

enum log_level {
	LOG_ERROR = 0, /* the program cannot go on, or an operation failed for good */
	LOG_WARN = 1,  /* something is wrong but the program goes on */
	LOG_INFO = 2,  /* the events an operator wants to see (the default level) */
	LOG_DEBUG = 3, /* every datagram: for -v, never by default */
};

/*
 * Sets the program name that starts every line, and the highest level
 * printed. Also looks whether stderr is systemd's journal (JOURNAL_STREAM
 * names it): then lines start with a syslog priority, "<6>", in place of
 * the program name, which journald records on its own (sd-daemon(3)).
 */
void log_init(const char *program, enum log_level level);

/*
 * Where log lines go instead of stderr, or NULL for stderr: the interactive
 * client prints them through its screen, so that a warning never lands in
 * the middle of the line being typed. line is the whole formatted line
 * ("program: warning: ..."), without a newline; the sink must not log.
 */
typedef void (*log_sink_fn)(void *ctx, const char *line);
void log_set_sink(log_sink_fn sink, void *ctx);

/* Returns 1 when a message of this level would be printed. */
int log_enabled(enum log_level level);

/*
 * Prints "program: message" and a newline to stderr when level is enabled
 * ("<N>message" to the journal: <3> error, <4> warning, <6> info, <7> debug).
 * Errors and warnings say so: "program: error: message".
 */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
/*
 * Its arguments are not even evaluated below -v: a client's loop logs every
 * datagram, and formatting the address alone (inet_ntop) was 2% of a file's
 * receiver.
 */
#define log_debug(...)                                    \
	do {                                              \
		if (log_enabled(LOG_DEBUG))               \
			log_msg(LOG_DEBUG, __VA_ARGS__);  \
	} while (0)

#endif
