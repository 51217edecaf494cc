/* tests/udpcap.c - the NAT lab's capture: one line per UDP/IPv4 datagram an interface sends or receives. */

/*
 * The ladder of tests/natlab.sh needs to know, for each datagram a host
 * sent, whether it arrived at the other host and from which address. A
 * capture at each host answers that. tcpdump would do, but it insists on
 * changing its user after opening the interface, which fails inside the
 * user namespace an unprivileged `make demo-nat` runs in; so this small
 * reader of a packet socket (packet(7), libc only) does the job:
 *
 *   SECONDS.MICROSECONDS SRC_IP.SRC_PORT DST_IP.DST_PORT HEX
 *
 * one line per datagram, sent or received, in the order the kernel saw
 * them, with the kernel's timestamp (wall clock, as the lab's other times)
 * and HEX the whole IP packet, header included. Each line goes out in one
 * write(2), so a reader never sees half of one.
 *
 * Usage: udpcap -i INTERFACE [-t SECONDS]
 * Run it in the namespace of the interface. It says "listening on
 * INTERFACE" on stderr once it captures, and exits after -t SECONDS, or on
 * SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>

#include "bytes.h"
#include "cli.h"

#define PACKET_MAX 65536          /* the largest IP packet */
#define POLL_MS 200               /* how often the loop looks at the clock and the signal flag */
#define DEFAULT_LIFETIME_S 600    /* without -t: never outlive a forgotten lab by long */
#define IPV4_HEADER_MIN 20        /* RFC 791: an IPv4 header without options */
#define UDP_HEADER_LEN 8          /* RFC 768 */
#define IPPROTO_UDP_NUMBER 17     /* RFC 768, the IP protocol number */

static volatile sig_atomic_t stop; /* SIGTERM or SIGINT arrived */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: udpcap -i INTERFACE [-t SECONDS]\n");
}

/*
 * Formats one captured IPv4 packet (p, len bytes, stamped at tv) as its line
 * into line (room for 2 * PACKET_MAX + 128 bytes). Returns the line's length,
 * or 0 when the packet is not a whole UDP datagram over IPv4 (RFC 791's
 * version and header length, RFC 768's header).
 */
static size_t format_line(char *line, const uint8_t *p, size_t len, const struct timeval *tv)
{
	static const char hex[] = "0123456789abcdef";
	size_t ihl, n, i;

	if (len < IPV4_HEADER_MIN || p[0] >> 4 != 4)
		return 0;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	if (ihl < IPV4_HEADER_MIN || len - ihl < UDP_HEADER_LEN || p[9] != IPPROTO_UDP_NUMBER)
		return 0;
	n = (size_t)snprintf(line, 128, "%lld.%06ld %u.%u.%u.%u.%u %u.%u.%u.%u.%u ",
			     (long long)tv->tv_sec, (long)tv->tv_usec,
			     p[12], p[13], p[14], p[15], bytes_get16(p + ihl),
			     p[16], p[17], p[18], p[19], bytes_get16(p + ihl + 2));
	for (i = 0; i < len; i++) {
		line[n++] = hex[p[i] >> 4];
		line[n++] = hex[p[i] & 0x0f];
	}
	line[n++] = '\n';
	return n;
}

/* Returns seconds of CLOCK_MONOTONIC: the lifetime is not thrown off by a clock change. */
static int64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Writes all n bytes of buf to stdout. Returns 0, or -1 on an error. */
static int write_all(const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t packet[PACKET_MAX];
	static char line[2 * PACKET_MAX + 128];
	const char *ifname = NULL;
	struct sockaddr_ll where;
	struct sigaction sa;
	struct timeval tv;
	unsigned long lifetime = DEFAULT_LIFETIME_S;
	int64_t end;
	int opt, fd;

	while ((opt = getopt(argc, argv, "i:t:")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 't':
			if (cli_number(optarg, 1, 86400, &lifetime) < 0)
				goto usage_error;
			break;
		default: goto usage_error;
		}
	}
	if (ifname == NULL || optind != argc)
		goto usage_error;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the loop looks */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	/*
	 * SOCK_DGRAM: the kernel strips the link header. ETH_P_ALL, not ETH_P_IP:
	 * only sockets for every protocol see what the host sends as well.
	 */
	fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	if (fd < 0) {
		fprintf(stderr, "udpcap: packet socket: %s\n", strerror(errno));
		return 1;
	}
	memset(&where, 0, sizeof(where));
	where.sll_family = AF_PACKET;
	where.sll_protocol = htons(ETH_P_ALL);
	where.sll_ifindex = (int)if_nametoindex(ifname);
	if (where.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&where, sizeof(where)) < 0) {
		fprintf(stderr, "udpcap: %s: %s\n", ifname, strerror(errno));
		close(fd);
		return 1;
	}
	fprintf(stderr, "udpcap: listening on %s\n", ifname);
	end = now_s() + (int64_t)lifetime;
	while (!stop && now_s() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		ssize_t got;
		size_t n;

		if (poll(&pfd, 1, POLL_MS) <= 0)
			continue;
		got = recvfrom(fd, packet, sizeof(packet), 0, (struct sockaddr *)&from, &fromlen);
		if (got < 0 || from.sll_protocol != htons(ETH_P_IP))
			continue;
		/* The kernel's stamp of the packet just read (packet(7), SIOCGSTAMP). */
		if (ioctl(fd, SIOCGSTAMP, &tv) < 0)
			gettimeofday(&tv, NULL);
		n = format_line(line, packet, (size_t)got, &tv);
		if (n > 0 && write_all(line, n) < 0)
			break;
	}
	close(fd);
	return 0;

usage_error:
	usage();
	return 2;
}
