/* p2pchat_options.c - the chat program's command line: getopt_long, each option's checks, the usage and --help. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "p2pchat_options.h"

#define P2PCHAT_USAGE \
	"usage: p2pchat [-s HOST[:PORT]]... [--server-key KEY]... [-p LOCAL_PORT] [-w SECONDS]\n" \
	"               [-k SECONDS] [--stay] [--accept-files DIR] [-v] [--forward SPEC]...\n" \
	"               [--serve [HOST:]PORT]... NAME [PEER]\n" \
	"       p2pchat --fingerprint NAME\n"

/* The one usage-error path (cli.c), worded for p2pchat. */
#define usage_error(...) cli_usage_error(P2PCHAT_PROGRAM, P2PCHAT_USAGE, __VA_ARGS__)
#define number(option, text, min, max, out) \
	cli_option_number(P2PCHAT_PROGRAM, P2PCHAT_USAGE, option, text, min, max, out)

/* --help: the usage, then a line or more for each option, on stdout. */
static void help(void)
{
	fputs(P2PCHAT_USAGE, stdout);
	printf("Chat with PEER directly over UDP; p2pchatd introduces you"
	       " (and relays if it must).\n"
	       "  -s, --server HOST[:PORT]  rendezvous server; again for more (at most %d), each one\n"
	       "                            registered with and asked (default $P2PCHAT_SERVER, a\n"
	       "                            list split by commas or spaces, else %s)\n"
	       "      --server-key KEY      the server's key, 64 hex digits (p2pchatd --print-key);\n"
	       "                            once per server, in the order of -s; default: the one\n"
	       "                            pinned in known_servers at first contact\n"
	       "  -p, --port PORT           local UDP port (default: any)\n"
	       "  -w, --wait SECONDS        how long a message waits for its peer (default %d)\n"
	       "  -k, --keepalive SECONDS   keepalive to idle peers (default %d)\n"
	       "      --stay                keep running after the end of input\n"
	       "      --accept-files DIR    save files peers offer into DIR without asking\n"
	       "                            (a script without it refuses them)\n"
	       "      --fingerprint         print the fingerprint of NAME's key and exit\n"
	       "      --forward SPEC        [ADDR:]LPORT:PEER:RPORT, as ssh -L: a TCP connection to\n"
	       "                            ADDR:LPORT (default 127.0.0.1) goes to PEER's port RPORT\n"
	       "      --serve [HOST:]PORT   let peers forward to PORT (on HOST, default 127.0.0.1);\n"
	       "                            they may reach no other port\n"
	       "  -v, --verbose             log every datagram on stderr\n"
	       "  -h, --help                this help\n"
	       "  -V, --version             print the version\n"
	       "Type /help in the chat for its commands.\n",
	       CLIENT_MAX_SERVERS, CLIENT_DEFAULT_SERVER, CLIENT_DEFAULT_WAIT_S, CLIENT_DEFAULT_KEEPALIVE_S);
}

/* Reads 64 lowercase hex digits into key. Returns 0, or -1. */
static int parse_key(const char *hex, uint8_t key[PROTO_KEY_LEN])
{
	if (strlen(hex) != 2 * PROTO_KEY_LEN)
		return -1;
	for (size_t i = 0; i < 2 * PROTO_KEY_LEN; i++) {
		if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
			return -1;
	}
	for (size_t i = 0; i < PROTO_KEY_LEN; i++) {
		unsigned v;

		sscanf(hex + 2 * i, "%2x", &v);
		key[i] = (uint8_t)v;
	}
	return 0;
}

/*
 * No -s: the servers are $P2PCHAT_SERVER's, a list split by commas or
 * white space, else the default. Returns 0, or -1 when it names more than
 * CLIENT_MAX_SERVERS (or is longer than any such list).
 */
static int env_servers(struct p2pchat_options *o)
{
	const char *env = getenv("P2PCHAT_SERVER");
	char *save = NULL;

	if (env != NULL && strlen(env) >= sizeof(o->env))
		return -1;
	snprintf(o->env, sizeof(o->env), "%s", env != NULL ? env : "");
	for (char *t = strtok_r(o->env, ", \t\n", &save); t != NULL; t = strtok_r(NULL, ", \t\n", &save)) {
		if (o->nservers == CLIENT_MAX_SERVERS)
			return -1;
		o->server[o->nservers++] = t;
	}
	if (o->nservers == 0)
		o->server[o->nservers++] = CLIENT_DEFAULT_SERVER;
	return 0;
}

/* The options that may be given more than once: -s, --server-key, --forward, --serve. Returns 0 or 2. */
static int add_repeated(int opt, const char *arg, struct p2pchat_options *o)
{
	const char *why;

	switch (opt) {
	case 's':
		if (o->nservers == CLIENT_MAX_SERVERS)
			return usage_error("-s: at most %d servers", CLIENT_MAX_SERVERS);
		o->server[o->nservers++] = arg;
		return 0;
	case 'K':
		if (o->nkeys == CLIENT_MAX_SERVERS)
			return usage_error("--server-key: at most %d, one per server", CLIENT_MAX_SERVERS);
		if (parse_key(arg, o->server_key[o->nkeys]) < 0)
			return usage_error("--server-key: not 64 lowercase hex digits (p2pchatd "
					   "--print-key prints the server's)");
		o->nkeys++;
		return 0;
	case 'L':
		if (o->nforwards == FWD_FORWARDS_MAX)
			return usage_error("--forward: at most %d", FWD_FORWARDS_MAX);
		if (fwd_parse_forward(arg, &o->forwards[o->nforwards], &why) < 0)
			return usage_error("--forward '%s': %s", arg, why);
		o->nforwards++;
		return 0;
	default: /* 'E' */
		if (o->nserves == FWD_SERVES_MAX)
			return usage_error("--serve: at most %d", FWD_SERVES_MAX);
		if (fwd_parse_serve(arg, &o->serves[o->nserves], &why) < 0)
			return usage_error("--serve '%s': %s", arg, why);
		o->nserves++;
		return 0;
	}
}

/* One option getopt_long returned, with its argument (if any). Returns 0, or 2 after a usage error. */
static int take_option(int opt, const char *arg, struct p2pchat_options *o)
{
	switch (opt) {
	case 's': case 'K': case 'L': case 'E': return add_repeated(opt, arg, o);
	case 'p': return number("-p", arg, 0, 65535, &o->port);
	case 'w': return number("-w", arg, 0, 86400, &o->wait_s);
	case 'k': return number("-k", arg, 1, 3600, &o->keepalive_s);
	case 'S': o->stay = 1; return 0;
	case 'A': o->accept_dir = arg; return 0;
	case 'F': o->fingerprint = 1; return 0;
	case 'v': o->verbose = 1; return 0;
	default: fputs(P2PCHAT_USAGE, stderr); return 2; /* getopt said what was wrong */
	}
}

/*
 * After the options: the servers (from $P2PCHAT_SERVER when no -s), NAME
 * and PEER from argv[first..argc), and what the options say together.
 * Returns 0, or 2 after a usage error.
 */
static int check_operands(int argc, char **argv, int first, struct p2pchat_options *o)
{
	if (o->nservers == 0 && env_servers(o) < 0)
		return usage_error("$P2PCHAT_SERVER: at most %d servers, in at most %zu characters",
				   CLIENT_MAX_SERVERS, sizeof(o->env) - 1);
	if (o->nkeys > o->nservers)
		return usage_error("--server-key given %d times for %d servers: one per server, in "
				   "the order of -s", o->nkeys, o->nservers);
	if (argc - first < 1)
		return usage_error("NAME is missing");
	if (argc - first > 2)
		return usage_error("too many arguments");
	o->name = argv[first];
	o->peer = first + 1 < argc ? argv[first + 1] : NULL;
	if (!proto_name_valid(o->name))
		return usage_error("'%s' is not a valid name (1 to 32 of A-Z a-z 0-9 . _ -)", o->name);
	if (o->accept_dir != NULL) {
		struct stat st;

		if (stat(o->accept_dir, &st) < 0 || !S_ISDIR(st.st_mode))
			return usage_error("--accept-files %s: not a directory", o->accept_dir);
	}
	if (o->fingerprint && o->peer != NULL)
		return usage_error("--fingerprint takes NAME alone");
	if (o->peer != NULL && strcmp(o->peer, o->name) == 0)
		return usage_error("you cannot chat with yourself: NAME and PEER are both '%s'", o->name);
	if (o->peer != NULL && !proto_name_valid(o->peer))
		return usage_error("'%s' is not a valid peer name", o->peer);
	for (uint32_t k = 0; k < o->nforwards; k++) {
		if (strcmp(o->forwards[k].peer, o->name) == 0)
			return usage_error("--forward: you cannot forward to yourself ('%s')", o->name);
	}
	return 0;
}

int p2pchat_options_parse(int argc, char **argv, struct p2pchat_options *o, int *done)
{
	static const struct option longopts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "wait", required_argument, NULL, 'w' },
		{ "keepalive", required_argument, NULL, 'k' },
		{ "stay", no_argument, NULL, 'S' },
		{ "accept-files", required_argument, NULL, 'A' },
		{ "fingerprint", no_argument, NULL, 'F' },
		{ "server-key", required_argument, NULL, 'K' },
		{ "forward", required_argument, NULL, 'L' },
		{ "serve", required_argument, NULL, 'E' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, status;

	memset(o, 0, sizeof(*o));
	o->wait_s = CLIENT_DEFAULT_WAIT_S;
	o->keepalive_s = CLIENT_DEFAULT_KEEPALIVE_S;
	*done = 0;
	while ((opt = getopt_long(argc, argv, "s:p:w:k:vhV", longopts, NULL)) != -1) {
		if (opt == 'h' || opt == 'V') {
			if (opt == 'h')
				help();
			else
				puts(P2PCHAT_PROGRAM " " CLI_VERSION);
			*done = 1;
			return 0;
		}
		status = take_option(opt, optarg, o);
		if (status != 0)
			return status;
	}
	return check_operands(argc, argv, optind, o);
}
