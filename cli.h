/* cli.h - what both programs' command lines share: one strict number parser, one usage-error path, the version. */
#ifndef P2PCHAT_CLI_H
#define P2PCHAT_CLI_H

/* The one version of both programs; -V prints "PROGRAM VERSION". */
#define CLI_VERSION "0.1.0"

/*
 * Parses text as a whole decimal number in min..max, strictly, in the
 * manner of OpenBSD's strtonum: digits only (no sign, no space, no
 * suffix), no overflow. Returns 0 with *out set, or -1 with *out untouched.
 */
int cli_number(const char *text, unsigned long min, unsigned long max, unsigned long *out);

/*
 * The one usage-error path: prints "PROGRAM: MESSAGE" and then usage to
 * stderr. Returns 2, the exit status for a bad command line.
 */
int cli_usage_error(const char *program, const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * cli_number, and on failure the usage error "PROGRAM: OPTION 'TEXT': not a
 * number from MIN to MAX". Returns 0, or 2 after the message was printed.
 */
int cli_option_number(const char *program, const char *usage, const char *option,
		      const char *text, unsigned long min, unsigned long max, unsigned long *out);

#endif
