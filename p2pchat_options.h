/* p2pchat_options.h - the chat program's command line: its options, their checks, its usage and --help. */
#ifndef P2PCHAT_OPTIONS_H
#define P2PCHAT_OPTIONS_H

#include <stdint.h>

#include "client.h"
#include "forward.h"
#include "protocol.h"

/* The program's name in its messages, its log lines and -V. */
#define P2PCHAT_PROGRAM "p2pchat"

/* What the command line asked for. */
struct p2pchat_options {
	const char *server[CLIENT_MAX_SERVERS]; /* HOST[:PORT] each (-s, else $P2PCHAT_SERVER, else the default) */
	int nservers;
	char env[1024];     /* a copy of $P2PCHAT_SERVER, cut into server[] */
	int nkeys;          /* --server-key: the first nkeys servers' keys */
	uint8_t server_key[CLIENT_MAX_SERVERS][PROTO_KEY_LEN];
	unsigned long port, wait_s, keepalive_s;
	int stay, verbose;
	const char *accept_dir; /* --accept-files */
	int fingerprint;    /* --fingerprint: print NAME's fingerprint and exit */
	const char *name, *peer; /* peer: NULL when none was named */
	struct fwd_spec forwards[FWD_FORWARDS_MAX]; /* --forward */
	uint32_t nforwards;
	struct fwd_serve serves[FWD_SERVES_MAX];    /* --serve */
	uint32_t nserves;
};

/*
 * Reads the command line (getopt_long over argv) into o, which keeps
 * pointers into argv and into o->env. Returns 0 to run, or the exit
 * status: 0 after --help or --version printed to stdout (with *done set),
 * 2 after a usage error printed to stderr (a line saying why, then the
 * usage).
 */
int p2pchat_options_parse(int argc, char **argv, struct p2pchat_options *o, int *done);

#endif
