/* tests/attack.c - the attacker's hands for tests/attack.sh: sniff UDP on lo, replay, mutate, forge (loopback only). */

/*
 * An on-path attacker on a Wi-Fi sees every datagram and can send any
 * datagram from any source address. tests/attack.sh plays that attacker
 * against real p2pchat and p2pchatd processes on loopback; this program
 * does the packet work, libc only:
 *
 *   attack capture -o FILE [-t SECONDS] [-n MAX] [-p PORT]...
 *       Reads lo with a packet socket (packet(7)) and appends one line per
 *       UDP datagram (IPv4 or IPv6) whose source or destination port is
 *       one of the -p PORTs (any, without -p) to FILE:
 *           SRC_IP SRC_PORT DST_IP DST_PORT HEX
 *       HEX is the UDP payload. Each line goes out in one write(2), so a
 *       reader never sees half of one. Says "capturing" on stderr once it
 *       reads; stops after -t SECONDS (default 60), -n datagrams (default
 *       100000), or on SIGTERM or SIGINT.
 *
 *   attack send [-b SRC_IP:PORT] [-r] [-d DST_IP:PORT] [-F SEED] [-T LEN]
 *               [-c COUNT] [-g GAP_MS] [-l LISTEN_MS] [-o FILE] [-x HEX | -f FILE]
 *       Sends datagrams: -x HEX (from -b to -d), or every line of FILE (capture
 *       format; - is stdin), each to its own destination unless -d names
 *       one. With -b and no -r, from a UDP socket bound to SRC (port 0:
 *       any; "bound IP:PORT" on stderr says which), which then listens
 *       -l LISTEN_MS and appends what it receives to -o FILE (capture
 *       format). Otherwise (-r, or no -b) from a raw socket with IP_HDRINCL
 *       that writes the source address itself: -b's, or each line's own
 *       (a replay "from" the original sender, whose port is taken). Raw
 *       sending is IPv4 only. -F SEED flips one bit of each datagram, after
 *       the 4-byte header where there is room, a different one each time
 *       (xorshift from SEED); -T LEN cuts each to LEN bytes; -c COUNT sends
 *       each COUNT times; GAP_MS (default 1) apart. Prints "sent N",
 *       "sent_bytes N", then after listening "received N", "received_bytes
 *       N" on stdout (after the sent lines, a flush: a script can wait for
 *       them while it listens).
 *
 *   attack v2 -b SRC_IP:PORT -d SERVER_IP:PORT [-g GAP_MS] [-w WAIT_MS]
 *             [-l LISTEN_MS] [-o FILE] [-f FILE]
 *       Plays a protocol-version-2 client of its own from a UDP socket bound
 *       to SRC: reads requests, one a line, from -f FILE (default stdin):
 *           register SEED NAME [IP:PORT]...   (the private endpoints)
 *           refresh SEED NAME
 *           lookup SEED NAME TARGET
 *       SEED is 16 hex digits: the key (tests/sealer.h) the request is
 *       sealed with, under its K with the server, whose key the first
 *       COOKIE gives. A COOKIE answer sends the request again with its
 *       cookie. Prints the answer each one ends with, waiting -w WAIT_MS
 *       (default 500) for it, GAP_MS (default 0) between requests:
 *           answer TYPE [name=NAME] [code=C request=T] [public=EP] [private=EP,...]
 *       ("answer none": none came), then "sent N", "sent_bytes N", listens
 *       -l LISTEN_MS, and prints "received N", "received_bytes N". -o FILE
 *       gets every datagram received (capture format).
 *
 *   attack find [-w WINDOW] (-x HEX | -s TEXT) FILE
 *       Looks for the bytes (or, with -w, for any WINDOW consecutive bytes
 *       of them) in every payload of the capture FILE. Prints one "match
 *       LINE OFFSET" line for each datagram that has them, then "matches N".
 *
 *   attack port
 *       Prints a UDP port free on every address at this moment (bind port 0).
 *
 * Nothing is ever sent anywhere but 127.0.0.0/8 and ::1: send refuses any
 * other destination or (raw) source in code, and binds only to an address
 * on lo (-b); every count and time is bounded.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include "bytes.h"
#include "cli.h"
#include "protocol.h"
#include "sealer.h"

#define PACKET_MAX 65536        /* the largest IP packet */
#define PAYLOAD_MAX 65507       /* the largest UDP payload over IPv4 */
#define LINE_MAX_BYTES (2 * PACKET_MAX + 256) /* a capture line: addresses and the hex */
#define POLL_MS 100             /* how often capture looks at the clock and the signal flag */
#define MAX_PORTS 16            /* -p PORTs capture filters on */
#define CAPTURE_S_MAX 600       /* no capture outlives a forgotten test by long */
#define CAPTURE_DEFAULT_S 60
#define CAPTURE_N_DEFAULT 100000
#define SEND_MAX 20000          /* datagrams one send run may send, repeats counted */
#define LISTEN_MS_MAX 60000     /* the longest a send run listens afterwards */
#define GAP_MS_MAX 5000
#define RECV_MAX 100000         /* datagrams one send run records */
#define IPV4_HEADER_MIN 20      /* RFC 791: an IPv4 header without options */
#define IPV6_HEADER_LEN 40      /* RFC 8200, section 3 */
#define UDP_HEADER_LEN 8        /* RFC 768 */
#define IPPROTO_UDP_NUMBER 17   /* RFC 768, the IP protocol (and IPv6 next header) number */
#define CAPTURE_RCVBUF (8 << 20) /* bytes: other tests may flood lo while we read it */
#define HEADER_BITS 32          /* the p2pchat header (magic, version, type, 0): flips go after it */

static volatile sig_atomic_t stop; /* SIGTERM or SIGINT arrived */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: attack capture -o FILE [-t SECONDS] [-n MAX] [-p PORT]...\n"
		"       attack send [-b SRC_IP:PORT] [-r] [-d DST_IP:PORT] [-F SEED] [-T LEN] [-c COUNT]\n"
		"                   [-g GAP_MS] [-l LISTEN_MS] [-o FILE] [-x HEX | -f FILE]\n"
		"       attack v2 -b SRC_IP:PORT -d SERVER_IP:PORT [-g GAP_MS] [-w WAIT_MS] [-l LISTEN_MS]\n"
		"                 [-o FILE] [-f FILE]\n"
		"       attack find [-w WINDOW] (-x HEX | -s TEXT) FILE\n"
		"       attack port\n");
}

/* Returns CLOCK_MONOTONIC in milliseconds. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes all n bytes of buf to fd. Returns 0, or -1 on an error. */
static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- addresses ---- */

/* Returns 1 when ss is in 127.0.0.0/8 or is ::1: the only places this program sends to. */
static int loopback_only(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return 0;
}

/*
 * Returns 1 when ss is loopback (loopback_only) or an address of a
 * loopback interface (getifaddrs(3)): a socket bound there talks over lo
 * only. attack.sh gives lo a public-range address in its own namespace, a
 * third party that exists nowhere else.
 */
static int on_lo(const struct sockaddr_storage *ss)
{
	struct ifaddrs *all, *i;
	int found = 0;

	if (loopback_only(ss))
		return 1;
	if (getifaddrs(&all) < 0)
		return 0;
	for (i = all; i != NULL && !found; i = i->ifa_next) {
		if (i->ifa_addr == NULL || !(i->ifa_flags & IFF_LOOPBACK) ||
		    i->ifa_addr->sa_family != ss->ss_family)
			continue;
		if (ss->ss_family == AF_INET)
			found = memcmp(&((const struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr,
				       &((const struct sockaddr_in *)ss)->sin_addr, 4) == 0;
		else
			found = memcmp(&((const struct sockaddr_in6 *)(void *)i->ifa_addr)->sin6_addr,
				       &((const struct sockaddr_in6 *)ss)->sin6_addr, 16) == 0;
	}
	freeifaddrs(all);
	return found;
}

/* Parses IP and PORT text into *out. Returns 0, or -1 when either is not valid. */
static int parse_ip_port(const char *ip, const char *port, struct sockaddr_storage *out)
{
	struct sockaddr_in *in = (struct sockaddr_in *)out;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
	unsigned long p;

	memset(out, 0, sizeof(*out));
	if (cli_number(port, 0, 65535, &p) < 0)
		return -1;
	if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)p);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)p);
		return 0;
	}
	return -1;
}

/* Parses "IP:PORT" or "[IPv6]:PORT" into *out. Returns 0 or -1. */
static int parse_endpoint(const char *text, struct sockaddr_storage *out)
{
	char ip[INET6_ADDRSTRLEN + 2];
	const char *colon = strrchr(text, ':');
	size_t n;

	if (colon == NULL)
		return -1;
	n = (size_t)(colon - text);
	if (n >= sizeof(ip))
		return -1;
	memcpy(ip, text, n);
	ip[n] = '\0';
	if (n >= 2 && ip[0] == '[' && ip[n - 1] == ']') {
		memmove(ip, ip + 1, n - 2);
		ip[n - 2] = '\0';
	}
	return parse_ip_port(ip, colon + 1, out);
}

/* Formats ss as "IP PORT" into buf (cap bytes). Returns buf. */
static char *format_ip_port(const struct sockaddr_storage *ss, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		port = ntohs(in->sin_port);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		port = ntohs(in6->sin6_port);
	}
	snprintf(buf, cap, "%s %u", ip, port);
	return buf;
}

/* Returns the port of ss, in host byte order. */
static uint16_t port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Returns the size of the sockaddr that ss holds. */
static socklen_t sockaddr_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* ---- hex ---- */

/* Writes n bytes of p as lowercase hex at out (2n bytes, no NUL). Returns 2n. */
static size_t hex_put(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	return 2 * n;
}

/* Returns the value of one hex digit, or -1. */
static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the hex text into out (cap bytes). Returns the byte count, or -1 when not hex or too long. */
static long hex_get(const char *text, uint8_t *out, size_t cap)
{
	size_t n = strlen(text);

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(text[2 * i]), lo = hex_digit(text[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

/* One capture line: "SRC_IP SRC_PORT DST_IP DST_PORT HEX". */
struct line {
	struct sockaddr_storage src, dst;
	uint8_t data[PAYLOAD_MAX];
	size_t len;
};

/*
 * Parses one capture line (text, modified in place) into *out.
 * Returns 0, or -1 when it is not a capture line.
 */
static int parse_line(char *text, struct line *out)
{
	char *field[5], *save = NULL;
	long n;

	for (int i = 0; i < 5; i++) {
		field[i] = strtok_r(i == 0 ? text : NULL, " \t\r\n", &save);
		if (field[i] == NULL)
			return -1;
	}
	if (parse_ip_port(field[0], field[1], &out->src) < 0 ||
	    parse_ip_port(field[2], field[3], &out->dst) < 0)
		return -1;
	n = hex_get(field[4], out->data, sizeof(out->data));
	if (n < 0)
		return -1;
	out->len = (size_t)n;
	return 0;
}

/* Formats src, dst and payload p (n bytes) as one capture line in buf (LINE_MAX_BYTES). Returns its length. */
static size_t format_line(char *buf, const struct sockaddr_storage *src,
			  const struct sockaddr_storage *dst, const uint8_t *p, size_t n)
{
	char a[INET6_ADDRSTRLEN + 8], b[INET6_ADDRSTRLEN + 8];
	size_t off;

	off = (size_t)snprintf(buf, 2 * sizeof(a) + 4, "%s %s ", format_ip_port(src, a, sizeof(a)),
			       format_ip_port(dst, b, sizeof(b)));
	off += hex_put(buf + off, p, n);
	buf[off++] = '\n';
	return off;
}

/* ---- capture ---- */

/* Opens (creates) file for appending. Returns the descriptor, or -1 after saying why. */
static int open_append(const char *file)
{
	FILE *f = fopen(file, "a");
	int fd;

	if (f == NULL) {
		fprintf(stderr, "attack: %s: %s\n", file, strerror(errno));
		return -1;
	}
	fd = dup(fileno(f));
	fclose(f);
	return fd;
}


/* Returns 1 when port is one of ports[0..n), or n is 0 (no filter). */
static int port_wanted(const uint16_t *ports, int n, uint16_t port)
{
	if (n == 0)
		return 1;
	for (int i = 0; i < n; i++)
		if (ports[i] == port)
			return 1;
	return 0;
}

/*
 * Finds the UDP datagram in the IP packet p (len bytes): fills *src and
 * *dst and points *payload at it. Returns its length, or -1 when p is not a
 * whole UDP datagram (RFC 791's or RFC 8200's header, RFC 768's).
 */
static long udp_in_ip(const uint8_t *p, size_t len, struct sockaddr_storage *src,
		      struct sockaddr_storage *dst, const uint8_t **payload)
{
	size_t ihl;

	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (len >= IPV4_HEADER_MIN && p[0] >> 4 == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)src, *d = (struct sockaddr_in *)dst;

		ihl = (size_t)(p[0] & 0x0f) * 4;
		if (ihl < IPV4_HEADER_MIN || len - ihl < UDP_HEADER_LEN || p[9] != IPPROTO_UDP_NUMBER)
			return -1;
		s->sin_family = d->sin_family = AF_INET;
		memcpy(&s->sin_addr, p + 12, 4);
		memcpy(&d->sin_addr, p + 16, 4);
		s->sin_port = htons(bytes_get16(p + ihl));
		d->sin_port = htons(bytes_get16(p + ihl + 2));
	} else if (len >= IPV6_HEADER_LEN + UDP_HEADER_LEN && p[0] >> 4 == 6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)src, *d = (struct sockaddr_in6 *)dst;

		ihl = IPV6_HEADER_LEN;
		if (p[6] != IPPROTO_UDP_NUMBER) /* extension headers: not from p2pchat */
			return -1;
		s->sin6_family = d->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, p + 8, 16);
		memcpy(&d->sin6_addr, p + 24, 16);
		s->sin6_port = htons(bytes_get16(p + ihl));
		d->sin6_port = htons(bytes_get16(p + ihl + 2));
	} else {
		return -1;
	}
	/* The UDP length field, not the packet's: a short frame is not a datagram. */
	if (bytes_get16(p + ihl + 4) < UDP_HEADER_LEN || bytes_get16(p + ihl + 4) > len - ihl)
		return -1;
	*payload = p + ihl + UDP_HEADER_LEN;
	return (long)bytes_get16(p + ihl + 4) - UDP_HEADER_LEN;
}

/* A classic BPF program being written, with the labels its jumps go to. */
struct bpf_prog {
	struct sock_filter insn[16 + 4 * MAX_PORTS];
	int len;
	int accept, drop; /* the index of each final RET */
};

/* Appends one instruction; jt and jf are absolute indexes (or -1: the next one). */
static void emit(struct bpf_prog *b, uint16_t code, int jt, int jf, uint32_t k)
{
	struct sock_filter *f = &b->insn[b->len];

	/* BPF jumps are relative to the next instruction. */
	f->code = code;
	f->jt = (uint8_t)(jt < 0 ? 0 : jt - b->len - 1);
	f->jf = (uint8_t)(jf < 0 ? 0 : jf - b->len - 1);
	f->k = k;
	b->len++;
}

/*
 * Appends the port tests of one family: with X at the UDP header, accept
 * when the source or the destination port is one of ports[0..n) (any, when
 * n is 0), else drop. Writes 3 + 2 * max(n, 1) instructions.
 */
static void emit_ports(struct bpf_prog *b, const uint16_t *ports, int n)
{
	for (uint32_t off = 0; off <= 2; off += 2) {
		emit(b, BPF_LD | BPF_H | BPF_IND, -1, -1, off);
		for (int i = 0; i < n; i++)
			emit(b, BPF_JMP | BPF_JEQ | BPF_K, b->accept, -1, ports[i]);
		if (n == 0)
			emit(b, BPF_JMP | BPF_JA, -1, -1, (uint32_t)(b->accept - b->len - 1));
	}
	emit(b, BPF_JMP | BPF_JA, -1, -1, (uint32_t)(b->drop - b->len - 1));
}

/*
 * Attaches to fd a classic BPF program (Linux's Documentation/networking/
 * filter.rst) that keeps only what capture wants: arriving (not outgoing) UDP
 * over IPv4 or IPv6 from or to one of ports[0..n), any UDP when n is 0.
 * Filtering in the kernel matters: lo carries every other test on this
 * machine, and a socket that read it all would drop our datagrams when its
 * buffer filled. Returns 0, or -1 with errno.
 */
static int attach_filter(int fd, const uint16_t *ports, int n)
{
	static struct bpf_prog b;
	int ports_len = 3 + 2 * (n > 0 ? n : 1), v6;
	struct sock_fprog fprog;

	/* The program's shape is fixed by n: place the labels first, then write it. */
	b.len = 0;
	v6 = 8 + ports_len;
	b.accept = v6 + 3 + ports_len;
	b.drop = b.accept + 1;
	emit(&b, BPF_LD | BPF_W | BPF_ABS, -1, -1, (uint32_t)(SKF_AD_OFF + SKF_AD_PKTTYPE));
	emit(&b, BPF_JMP | BPF_JEQ | BPF_K, b.drop, -1, PACKET_OUTGOING);
	emit(&b, BPF_LD | BPF_W | BPF_ABS, -1, -1, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL));
	emit(&b, BPF_JMP | BPF_JEQ | BPF_K, v6, -1, ETH_P_IPV6);
	emit(&b, BPF_JMP | BPF_JEQ | BPF_K, -1, b.drop, ETH_P_IP);
	/* IPv4: protocol UDP, then the ports after a header of 4 * IHL bytes (RFC 791). */
	emit(&b, BPF_LD | BPF_B | BPF_ABS, -1, -1, 9);
	emit(&b, BPF_JMP | BPF_JEQ | BPF_K, -1, b.drop, IPPROTO_UDP_NUMBER);
	emit(&b, BPF_LDX | BPF_B | BPF_MSH, -1, -1, 0);
	emit_ports(&b, ports, n);
	/* IPv6: a UDP next header right after the fixed header (RFC 8200), then the ports. */
	emit(&b, BPF_LD | BPF_B | BPF_ABS, -1, -1, 6);
	emit(&b, BPF_JMP | BPF_JEQ | BPF_K, -1, b.drop, IPPROTO_UDP_NUMBER);
	emit(&b, BPF_LDX | BPF_W | BPF_IMM, -1, -1, IPV6_HEADER_LEN);
	emit_ports(&b, ports, n);
	emit(&b, BPF_RET | BPF_K, -1, -1, 0xffff); /* accept: the whole packet */
	emit(&b, BPF_RET | BPF_K, -1, -1, 0);      /* drop */
	if (b.len != b.drop + 1) {
		errno = EINVAL; /* the labels above are misplaced: never attach a broken program */
		return -1;
	}
	fprog.len = (unsigned short)b.len;
	fprog.filter = b.insn;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof(fprog));
}

static int cmd_capture(int argc, char **argv)
{
	static uint8_t packet[PACKET_MAX];
	static char line[LINE_MAX_BYTES];
	uint16_t ports[MAX_PORTS];
	int nports = 0, opt, fd, out;
	unsigned long seconds = CAPTURE_DEFAULT_S, max = CAPTURE_N_DEFAULT, v, count = 0;
	const char *file = NULL;
	struct sockaddr_ll where;
	struct sigaction sa;
	int64_t end;

	while ((opt = getopt(argc, argv, "o:t:n:p:")) != -1) {
		switch (opt) {
		case 'o': file = optarg; break;
		case 't':
			if (cli_number(optarg, 1, CAPTURE_S_MAX, &seconds) < 0)
				return 2;
			break;
		case 'n':
			if (cli_number(optarg, 1, CAPTURE_N_DEFAULT, &max) < 0)
				return 2;
			break;
		case 'p':
			if (nports == MAX_PORTS || cli_number(optarg, 1, 65535, &v) < 0)
				return 2;
			ports[nports++] = (uint16_t)v;
			break;
		default: return 2;
		}
	}
	if (file == NULL || optind != argc)
		return 2;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the loop looks */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	out = open_append(file);
	if (out < 0)
		return 1;
	/* SOCK_DGRAM: no link header; ETH_P_ALL: what lo's sockets send, seen as it comes back in. */
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (fd < 0 || attach_filter(fd, ports, nports) < 0) {
		fprintf(stderr, "attack: packet socket: %s\n", strerror(errno));
		close(out);
		return 1;
	}
	{
		int size = CAPTURE_RCVBUF;

		/* As root, past net.core.rmem_max (socket(7), SO_RCVBUFFORCE); the default would do otherwise. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	memset(&where, 0, sizeof(where));
	where.sll_family = AF_PACKET;
	where.sll_protocol = htons(ETH_P_ALL);
	where.sll_ifindex = (int)if_nametoindex("lo");
	if (where.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&where, sizeof(where)) < 0) {
		fprintf(stderr, "attack: lo: %s\n", strerror(errno));
		close(fd);
		close(out);
		return 1;
	}
	fprintf(stderr, "attack: capturing\n");
	end = now_ms() + (int64_t)seconds * 1000;
	while (!stop && now_ms() < end && count < max) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_storage src, dst;
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		const uint8_t *payload;
		ssize_t got;
		long n;

		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		got = recvfrom(fd, packet, sizeof(packet), 0, (struct sockaddr *)&from, &fromlen);
		/* lo shows each packet twice, leaving and arriving: keep the arrival. */
		if (got < 0 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		n = udp_in_ip(packet, (size_t)got, &src, &dst, &payload);
		if (n < 0)
			continue;
		if (!port_wanted(ports, nports, port_of(&src)) && !port_wanted(ports, nports, port_of(&dst)))
			continue;
		if (write_all(out, line, format_line(line, &src, &dst, payload, (size_t)n)) < 0)
			break;
		count++;
	}
	close(fd);
	close(out);
	return 0;
}

/* ---- send ---- */

/* The state of one send run. */
struct sender {
	int udp;                        /* bound socket (-b without -r), or -1 */
	int raw;                        /* IPv4 raw socket with IP_HDRINCL, or -1 */
	struct sockaddr_storage bound;  /* the udp socket's address */
	int have_src;                   /* -b given */
	struct sockaddr_storage src;    /* -b */
	int have_dst;                   /* -d given */
	struct sockaddr_storage dst;    /* -d */
	int flip;                       /* -F given */
	uint64_t seed;                  /* -F: the xorshift state */
	unsigned long truncate_to;      /* -T, or 0 */
	unsigned long repeat, gap_ms;
	unsigned long sent, sent_bytes;
	int refused;                    /* a destination or source outside loopback */
};

/* Returns the next xorshift64 value (Marsaglia 2003) of *state: a bit to flip. */
static uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/*
 * Builds the IPv4 and UDP headers (RFC 791, RFC 768) for n payload bytes
 * from src to dst in pkt. The kernel fills the IP checksum and the ID
 * (raw(7)); the UDP checksum 0 means "none", which RFC 768 allows over IPv4.
 */
static void raw_headers(uint8_t *pkt, const struct sockaddr_in *src, const struct sockaddr_in *dst, size_t n)
{
	memset(pkt, 0, IPV4_HEADER_MIN + UDP_HEADER_LEN);
	pkt[0] = 0x45; /* version 4, 5 words */
	bytes_put16(pkt + 2, (uint16_t)(IPV4_HEADER_MIN + UDP_HEADER_LEN + n));
	pkt[8] = 64; /* TTL */
	pkt[9] = IPPROTO_UDP_NUMBER;
	memcpy(pkt + 12, &src->sin_addr, 4);
	memcpy(pkt + 16, &dst->sin_addr, 4);
	memcpy(pkt + 20, &src->sin_port, 2);
	memcpy(pkt + 22, &dst->sin_port, 2);
	bytes_put16(pkt + 24, (uint16_t)(UDP_HEADER_LEN + n));
}

/* Sends the n bytes of p from src (raw) or the bound socket to dst. Returns 0 or -1. */
static int send_one(struct sender *s, const struct sockaddr_storage *src,
		    const struct sockaddr_storage *dst, const uint8_t *p, size_t n)
{
	static uint8_t pkt[IPV4_HEADER_MIN + UDP_HEADER_LEN + PAYLOAD_MAX];

	if (!loopback_only(dst) || (s->udp < 0 && !loopback_only(src))) {
		s->refused = 1;
		return -1;
	}
	if (s->udp >= 0) {
		if (dst->ss_family != s->bound.ss_family)
			return -1;
		if (sendto(s->udp, p, n, 0, (const struct sockaddr *)dst, sockaddr_len(dst)) < 0)
			return -1;
	} else {
		if (src->ss_family != AF_INET || dst->ss_family != AF_INET)
			return -1; /* raw sending writes IPv4 headers only */
		raw_headers(pkt, (const struct sockaddr_in *)src, (const struct sockaddr_in *)dst, n);
		memcpy(pkt + IPV4_HEADER_MIN + UDP_HEADER_LEN, p, n);
		if (sendto(s->raw, pkt, IPV4_HEADER_MIN + UDP_HEADER_LEN + n, 0,
			   (const struct sockaddr *)dst, sizeof(struct sockaddr_in)) < 0)
			return -1;
	}
	s->sent++;
	s->sent_bytes += n;
	return 0;
}

/* Sleeps ms milliseconds (the pacing between datagrams, not a wait for an event). */
static void pause_ms(unsigned long ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Mutates and sends one datagram (l) -repeat times. Returns -1 once SEND_MAX is reached, else 0. */
static int send_line(struct sender *s, struct line *l)
{
	const struct sockaddr_storage *src = s->have_src ? &s->src : &l->src;
	const struct sockaddr_storage *dst = s->have_dst ? &s->dst : &l->dst;
	size_t n = l->len;

	if (s->truncate_to > 0 && n > s->truncate_to)
		n = s->truncate_to;
	if (s->flip && n > 0) {
		uint64_t r = xorshift(&s->seed);
		size_t bit = n * 8 > HEADER_BITS ? HEADER_BITS + r % (n * 8 - HEADER_BITS) : r % (n * 8);

		l->data[bit / 8] ^= (uint8_t)(0x80 >> (bit % 8));
	}
	for (unsigned long i = 0; i < s->repeat; i++) {
		if (s->sent >= SEND_MAX)
			return -1;
		if (send_one(s, src, dst, l->data, n) < 0 && s->refused) {
			char a[INET6_ADDRSTRLEN + 8];

			fprintf(stderr, "attack: refused: %s is not loopback\n",
				format_ip_port(loopback_only(dst) ? src : dst, a, sizeof(a)));
			return -1;
		}
		if (s->gap_ms > 0)
			pause_ms(s->gap_ms);
	}
	return 0;
}

/*
 * Receives one datagram on s->udp before `end` (ms, now_ms's clock) into
 * buf (PACKET_MAX bytes), appending it to out (capture format) when out
 * is an fd. Returns its length, or -1 once end has come.
 */
static long recv_until(struct sender *s, int64_t end, int out, uint8_t *buf)
{
	static char line[LINE_MAX_BYTES];

	for (;;) {
		struct pollfd pfd = { .fd = s->udp, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof(from);
		int64_t left = end - now_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = recvfrom(s->udp, buf, PACKET_MAX, 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0)
			continue;
		if (out >= 0)
			write_all(out, line, format_line(line, &from, &s->bound, buf, (size_t)n));
		return (long)n;
	}
}

/* Listens on s->udp for ms milliseconds, appending what arrives to out (an fd, or -1). Prints the counts. */
static void listen_for(struct sender *s, unsigned long ms, int out)
{
	static uint8_t buf[PACKET_MAX];
	unsigned long got = 0, bytes = 0;
	int64_t end = now_ms() + (int64_t)ms;
	long n;

	while (s->udp >= 0 && got < RECV_MAX && (n = recv_until(s, end, out, buf)) >= 0) {
		got++;
		bytes += (unsigned long)n;
	}
	printf("received %lu\nreceived_bytes %lu\n", got, bytes);
}

/* Opens the sockets -b and -r ask for into s. Returns 0, or -1 after saying why. */
static int open_sockets(struct sender *s, int raw)
{
	socklen_t len = sizeof(s->bound);
	char a[INET6_ADDRSTRLEN + 8];
	int one = 1;

	if (s->have_src && !raw) {
		if (!on_lo(&s->src)) {
			fprintf(stderr, "attack: refused: -b must be an address on lo\n");
			return -1;
		}
		s->udp = socket(s->src.ss_family, SOCK_DGRAM, 0);
		if (s->udp < 0 ||
		    setsockopt(s->udp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(s->udp, (struct sockaddr *)&s->src, sockaddr_len(&s->src)) < 0 ||
		    getsockname(s->udp, (struct sockaddr *)&s->bound, &len) < 0) {
			fprintf(stderr, "attack: bind: %s\n", strerror(errno));
			return -1;
		}
		fprintf(stderr, "bound %s\n", format_ip_port(&s->bound, a, sizeof(a)));
		return 0;
	}
	/* IPPROTO_RAW implies IP_HDRINCL (raw(7)): we write the source address. */
	s->raw = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s->raw < 0) {
		fprintf(stderr, "attack: raw socket: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* The options send and v2 share: where from and to, pacing, listening, files. */
struct common {
	unsigned long listen_ms; /* -l */
	const char *outfile;     /* -o */
	const char *file;        /* -f */
};

/* Takes one of the options of struct common (and -b, -d, -g) into s or o. Returns 0, or -1 when opt is none of them or its value is bad. */
static int common_option(struct sender *s, struct common *o, int opt, const char *arg)
{
	switch (opt) {
	case 'b':
		s->have_src = 1;
		return parse_endpoint(arg, &s->src);
	case 'd':
		s->have_dst = 1;
		return parse_endpoint(arg, &s->dst);
	case 'g':
		return cli_number(arg, 0, GAP_MS_MAX, &s->gap_ms);
	case 'l':
		return cli_number(arg, 0, LISTEN_MS_MAX, &o->listen_ms);
	case 'o':
		o->outfile = arg;
		return 0;
	case 'f':
		o->file = arg;
		return 0;
	default:
		return -1;
	}
}

static int cmd_send(int argc, char **argv)
{
	static struct line l;
	static char text[LINE_MAX_BYTES];
	struct sender s;
	struct common o = { 0, NULL, NULL };
	const char *hex = NULL;
	unsigned long v;
	int opt, raw = 0, out = -1, rc = 0;

	memset(&s, 0, sizeof(s));
	s.udp = s.raw = -1;
	s.repeat = 1;
	s.gap_ms = 1;
	while ((opt = getopt(argc, argv, "b:rd:F:T:c:g:l:o:x:f:")) != -1) {
		switch (opt) {
		case 'r': raw = 1; break;
		case 'F':
			if (cli_number(optarg, 1, 0xffffffffUL, &v) < 0)
				return 2;
			s.flip = 1;
			s.seed = v;
			break;
		case 'T':
			if (cli_number(optarg, 1, PAYLOAD_MAX, &s.truncate_to) < 0)
				return 2;
			break;
		case 'c':
			if (cli_number(optarg, 1, SEND_MAX, &s.repeat) < 0)
				return 2;
			break;
		case 'x': hex = optarg; break;
		default:
			if (common_option(&s, &o, opt, optarg) < 0)
				return 2;
		}
	}
	if (optind != argc || (hex != NULL && (o.file != NULL || !s.have_dst || !s.have_src)) ||
	    (o.listen_ms > 0 && (!s.have_src || raw)))
		return 2;
	if (open_sockets(&s, raw) < 0)
		return 1;
	if (o.outfile != NULL && (out = open_append(o.outfile)) < 0)
		return 1;

	if (hex != NULL) {
		long n = hex_get(hex, l.data, sizeof(l.data));

		if (n < 0)
			return 2;
		l.len = (size_t)n;
		l.src = s.src;
		rc = send_line(&s, &l);
	} else if (o.file != NULL) {
		FILE *f = strcmp(o.file, "-") == 0 ? stdin : fopen(o.file, "r");

		if (f == NULL) {
			fprintf(stderr, "attack: %s: %s\n", o.file, strerror(errno));
			return 1;
		}
		while (rc == 0 && fgets(text, sizeof(text), f) != NULL)
			if (parse_line(text, &l) == 0)
				rc = send_line(&s, &l);
		if (f != stdin)
			fclose(f);
	}
	printf("sent %lu\nsent_bytes %lu\n", s.sent, s.sent_bytes);
	fflush(stdout);
	if (s.refused)
		return 1;
	if (o.listen_ms > 0)
		listen_for(&s, o.listen_ms, out);
	if (out >= 0)
		close(out);
	return 0;
}

/* ---- v2: a version-2 client that forges ---- */

/*
 * The attacker as a client of its own: it holds keys (made from 8 seed
 * bytes each, tests/sealer.h) and seals its requests under each key's K
 * with the server, as p2pchat does, so the server reads them. What it
 * forges is their content: private endpoints naming a third party,
 * REFRESHes that move names to one address. The server's key is learned
 * from the first COOKIE (first contact), as a client does.
 */
#define V2_WAIT_MS_DEFAULT 500 /* how long a request waits for its answer */
#define V2_COOKIE_TRIES 3      /* a request sent again with a fresh cookie at most this often */

/* The state of one v2 run: the sending socket is s->udp. */
struct forger {
	struct sealer sl;
	uint8_t cookie[PROTO_COOKIE_LEN]; /* the last one the server gave this address */
	unsigned long wait_ms;
	unsigned long received, received_bytes;
	int out;                          /* -o: every datagram received, capture format; or -1 */
};

/* Converts *ss into the wire's address type. */
static void proto_of(const struct sockaddr_storage *ss, struct proto_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->port = port_of(ss);
	if (ss->ss_family == AF_INET) {
		a->family = PROTO_AF_INET;
		memcpy(a->ip, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	} else {
		a->family = PROTO_AF_INET6;
		memcpy(a->ip, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	}
}

/* Appends " KEY=IP:PORT" for a to stdout. */
static void print_ep(const char *key, const struct proto_addr *a)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(a->family == PROTO_AF_INET ? AF_INET : AF_INET6, a->ip, ip, sizeof(ip));
	printf(a->family == PROTO_AF_INET ? "%s%s:%u" : "%s[%s]:%u", key, ip, a->port);
}

/* Prints one "answer TYPE key=value..." line for the opened answer m. */
static void print_answer(const struct proto_msg *m)
{
	printf("answer %s", proto_type_name(m->type));
	if (m->name[0] != '\0')
		printf(" name=%s", m->name);
	if (m->type == PROTO_ERROR || m->type == PROTO_NOTICE)
		printf(" code=%u request=%u", m->code, m->request);
	if (m->type == PROTO_REGISTERED || m->type == PROTO_PEER)
		print_ep(" public=", &m->public_ep);
	if (m->type == PROTO_PEER) {
		printf(" private=");
		for (int i = 0; i < m->nprivate; i++)
			print_ep(i == 0 ? "" : ",", &m->private_ep[i]);
	}
	printf("\n");
}

/*
 * Waits up to f->wait_ms for the server's answer on s->udp and opens it
 * into *m; records every datagram that comes meanwhile (peers' probes
 * too, which are not answers). Returns 0, or -1 when none came.
 */
static int v2_answer(struct sender *s, struct forger *f, struct proto_msg *m)
{
	static uint8_t buf[PACKET_MAX];
	int64_t end = now_ms() + (int64_t)f->wait_ms;
	long n;

	while (f->received < RECV_MAX && (n = recv_until(s, end, f->out, buf)) >= 0) {
		f->received++;
		f->received_bytes += (unsigned long)n;
		/* Only the server's own answers answer a request: not a peer's datagram, relayed or not. */
		if (sealer_open(&f->sl, buf, (size_t)n, m) != -1 && !proto_is_peer_type(m->type) &&
		    m->type != PROTO_RELAYED)
			return 0;
	}
	return -1;
}

/* Seals m as seed's owner with a fresh counter and the latest cookie, and sends it to s->dst. Returns 0 or -1. */
static int v2_send(struct sender *s, struct forger *f, const struct proto_msg *m,
		   const uint8_t seed[SEALER_SEED_LEN])
{
	uint8_t buf[PROTO_MAX_DATAGRAM];
	struct proto_msg c = *m;
	int n;

	memcpy(c.cookie, f->cookie, PROTO_COOKIE_LEN);
	c.counter = 0; /* sealer_seal takes the next one */
	n = sealer_seal(&f->sl, &c, seed, buf, sizeof(buf));
	if (n < 0) {
		fprintf(stderr, "attack: cannot encode %s: %s\n", proto_type_name(m->type),
			proto_strerror(n));
		return -1;
	}
	return send_one(s, &s->bound, &s->dst, buf, (size_t)n);
}

/*
 * Parses one request line (modified in place) into *m and seed:
 *   register SEED NAME [IP:PORT]...   refresh SEED NAME   lookup SEED NAME TARGET
 * Returns 0, or -1 when it is not one.
 */
static int v2_parse(char *text, struct proto_msg *m, uint8_t seed[SEALER_SEED_LEN])
{
	char *field[3 + PROTO_MAX_PRIVATE + 1], *save = NULL;
	int n = 0;

	while (n < (int)(sizeof(field) / sizeof(field[0])) &&
	       (field[n] = strtok_r(n == 0 ? text : NULL, " \t\r\n", &save)) != NULL)
		n++;
	memset(m, 0, sizeof(*m));
	if (n < 3 || hex_get(field[1], seed, SEALER_SEED_LEN) != SEALER_SEED_LEN ||
	    !proto_name_valid(field[2]))
		return -1;
	snprintf(m->name, sizeof(m->name), "%s", field[2]);
	if (strcmp(field[0], "register") == 0 && n <= 3 + PROTO_MAX_PRIVATE) {
		m->type = PROTO_REGISTER;
		for (int i = 3; i < n; i++) {
			struct sockaddr_storage ss;

			if (parse_endpoint(field[i], &ss) < 0)
				return -1;
			proto_of(&ss, &m->private_ep[m->nprivate++]);
		}
		return 0;
	}
	if (strcmp(field[0], "refresh") == 0 && n == 3) {
		m->type = PROTO_REFRESH;
		return 0;
	}
	if (strcmp(field[0], "lookup") == 0 && n == 4 && proto_name_valid(field[3])) {
		m->type = PROTO_LOOKUP;
		snprintf(m->target, sizeof(m->target), "%s", field[3]);
		return 0;
	}
	return -1;
}

/*
 * One request as a client makes it: sent, and sent again with the cookie
 * a COOKIE answer brings. Prints the answer it ends with ("answer none"
 * when none came). Returns 0, or -1 when it could not be sent.
 */
static int v2_request(struct sender *s, struct forger *f, const struct proto_msg *m,
		      const uint8_t seed[SEALER_SEED_LEN])
{
	struct proto_msg a;

	for (int tries = 0; tries < V2_COOKIE_TRIES; tries++) {
		if (v2_send(s, f, m, seed) < 0)
			return -1;
		if (v2_answer(s, f, &a) < 0) {
			printf("answer none\n");
			return 0;
		}
		if (a.type == PROTO_COOKIE || a.type == PROTO_REGISTERED)
			memcpy(f->cookie, a.cookie, PROTO_COOKIE_LEN);
		if (a.type != PROTO_COOKIE)
			break;
	}
	print_answer(&a);
	return 0;
}

/* Returns the wall clock in microseconds: where a client's request counter starts (auth.h). */
static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmd_v2(int argc, char **argv)
{
	static struct forger f;
	static char text[LINE_MAX_BYTES];
	struct sender s;
	struct common o = { 0, NULL, "-" };
	int opt, rc = 0;
	FILE *in;

	memset(&s, 0, sizeof(s));
	memset(&f, 0, sizeof(f));
	s.udp = s.raw = -1;
	s.gap_ms = 0;
	f.wait_ms = V2_WAIT_MS_DEFAULT;
	f.out = -1;
	while ((opt = getopt(argc, argv, "b:d:g:w:l:o:f:")) != -1) {
		if (opt == 'w') {
			if (cli_number(optarg, 1, LISTEN_MS_MAX, &f.wait_ms) < 0)
				return 2;
		} else if (common_option(&s, &o, opt, optarg) < 0) {
			return 2;
		}
	}
	if (optind != argc || !s.have_src || !s.have_dst)
		return 2;
	if (open_sockets(&s, 0) < 0)
		return 1;
	if (o.outfile != NULL && (f.out = open_append(o.outfile)) < 0)
		return 1;
	in = strcmp(o.file, "-") == 0 ? stdin : fopen(o.file, "r");
	if (in == NULL) {
		fprintf(stderr, "attack: %s: %s\n", o.file, strerror(errno));
		return 1;
	}
	/* Counters grow across runs, as a real client's do: a later run is not a replay. */
	f.sl.counter = wall_us();
	while (rc == 0 && s.sent < SEND_MAX && fgets(text, sizeof(text), in) != NULL) {
		struct proto_msg m;
		uint8_t seed[SEALER_SEED_LEN];

		if (text[0] == '#' || text[strspn(text, " \t\r\n")] == '\0')
			continue;
		if (v2_parse(text, &m, seed) < 0) {
			fprintf(stderr, "attack: not a request: %s", text);
			rc = 2;
			break;
		}
		if (v2_request(&s, &f, &m, seed) < 0 && s.refused)
			rc = 1;
		fflush(stdout);
		if (s.gap_ms > 0)
			pause_ms(s.gap_ms);
	}
	if (in != stdin)
		fclose(in);
	printf("sent %lu\nsent_bytes %lu\n", s.sent, s.sent_bytes);
	fflush(stdout);
	if (rc == 0 && o.listen_ms > 0) {
		struct proto_msg m;

		f.wait_ms = o.listen_ms;
		while (v2_answer(&s, &f, &m) == 0)
			;
	}
	printf("received %lu\nreceived_bytes %lu\n", f.received, f.received_bytes);
	if (f.out >= 0)
		close(f.out);
	return rc;
}

/* ---- find ---- */

static int cmd_find(int argc, char **argv)
{
	static uint8_t needle[4096];
	static struct line l;
	static char text[LINE_MAX_BYTES];
	unsigned long window = 0, lineno = 0, matches = 0;
	size_t n = 0;
	FILE *f;
	int opt;

	while ((opt = getopt(argc, argv, "w:x:s:")) != -1) {
		switch (opt) {
		case 'w':
			if (cli_number(optarg, 1, sizeof(needle), &window) < 0)
				return 2;
			break;
		case 'x': {
			long got = hex_get(optarg, needle, sizeof(needle));

			if (got <= 0)
				return 2;
			n = (size_t)got;
			break;
		}
		case 's':
			n = strlen(optarg);
			if (n == 0 || n > sizeof(needle))
				return 2;
			memcpy(needle, optarg, n);
			break;
		default: return 2;
		}
	}
	if (n == 0 || optind != argc - 1)
		return 2;
	if (window == 0 || window > n)
		window = n;
	f = fopen(argv[optind], "r");
	if (f == NULL) {
		fprintf(stderr, "attack: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	while (fgets(text, sizeof(text), f) != NULL) {
		lineno++;
		if (parse_line(text, &l) < 0 || l.len < window)
			continue;
		/* Every window of the needle at every offset of the payload: small inputs, plain loops. */
		for (size_t off = 0; off + window <= l.len; off++) {
			size_t w;

			for (w = 0; w + window <= n; w++)
				if (memcmp(l.data + off, needle + w, window) == 0)
					break;
			if (w + window <= n) {
				printf("match %lu %zu\n", lineno, off);
				matches++;
				break;
			}
		}
	}
	fclose(f);
	printf("matches %lu\n", matches);
	return 0;
}

/* ---- port ---- */

static int cmd_port(void)
{
	struct sockaddr_in6 any;
	socklen_t len = sizeof(any);
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), off = 0;

	memset(&any, 0, sizeof(any));
	any.sin6_family = AF_INET6;
	/* Dual-stack, as p2pchat binds: the port is free for IPv4 and IPv6 both. */
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    bind(fd, (struct sockaddr *)&any, sizeof(any)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&any, &len) < 0) {
		fprintf(stderr, "attack: port: %s\n", strerror(errno));
		return 1;
	}
	printf("%u\n", ntohs(any.sin6_port));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (argc >= 2 && strcmp(argv[1], "capture") == 0)
		rc = cmd_capture(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "send") == 0)
		rc = cmd_send(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "v2") == 0)
		rc = cmd_v2(argc - 1, argv + 1);
	else if (argc >= 2 && strcmp(argv[1], "find") == 0)
		rc = cmd_find(argc - 1, argv + 1);
	else if (argc == 2 && strcmp(argv[1], "port") == 0)
		rc = cmd_port();
	if (rc == 2)
		usage();
	return rc;
}
