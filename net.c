/* net.c - UDP sockets, addresses and the monotonic clock, behind small helpers. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "net_impl.h"

int64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t net_wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

const char *net_addr_str(const struct proto_addr *a, char buf[NET_ADDRSTRLEN])
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == PROTO_AF_INET) {
		inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
		snprintf(buf, NET_ADDRSTRLEN, "%s:%u", ip, (unsigned)a->port);
	} else if (a->family == PROTO_AF_INET6) {
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
		snprintf(buf, NET_ADDRSTRLEN, "[%s]:%u", ip, (unsigned)a->port);
	} else {
		snprintf(buf, NET_ADDRSTRLEN, "-");
	}
	return buf;
}

/* An IPv4 address carried in IPv6 as ::ffff:a.b.c.d (RFC 4291, section 2.5.5.2). */
static int is_v4_mapped(const uint8_t ip[16])
{
	static const uint8_t prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(ip, prefix, sizeof(prefix)) == 0;
}

/* Converts a socket address into an endpoint, unmapping IPv4-mapped IPv6. Returns 0 or -1. */
int net_from_sockaddr(const struct sockaddr_storage *ss, struct proto_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		out->family = PROTO_AF_INET;
		out->port = ntohs(sin->sin_port);
		memcpy(out->ip, &sin->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		out->port = ntohs(sin6->sin6_port);
		if (is_v4_mapped(sin6->sin6_addr.s6_addr)) {
			out->family = PROTO_AF_INET;
			memcpy(out->ip, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			out->family = PROTO_AF_INET6;
			memcpy(out->ip, sin6->sin6_addr.s6_addr, 16);
		}
		return 0;
	}
	return -1;
}

/*
 * Converts an endpoint into a socket address for a socket of family
 * sock_family: an IPv4 endpoint on an IPv6 socket becomes IPv4-mapped.
 * Returns the address length, or 0 when the socket cannot reach it.
 */
socklen_t net_to_sockaddr(const struct proto_addr *a, int sock_family,
			  struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sock_family == AF_INET && a->family == PROTO_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->ip, 4);
		return sizeof(*sin);
	}
	if (sock_family == AF_INET6 && (a->family == PROTO_AF_INET || a->family == PROTO_AF_INET6)) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		if (a->family == PROTO_AF_INET) {
			sin6->sin6_addr.s6_addr[10] = 0xff;
			sin6->sin6_addr.s6_addr[11] = 0xff;
			memcpy(sin6->sin6_addr.s6_addr + 12, a->ip, 4);
		} else {
			memcpy(sin6->sin6_addr.s6_addr, a->ip, 16);
		}
		return sizeof(*sin6);
	}
	return 0;
}

/* Returns the address family of a socket (AF_INET or AF_INET6), or -1. */
static int socket_family(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return ss.ss_family;
}

int net_parse_ip(const char *text, uint16_t port, struct proto_addr *out)
{
	memset(out, 0, sizeof(*out));
	out->port = port;
	if (inet_pton(AF_INET, text, out->ip) == 1) {
		out->family = PROTO_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->ip) == 1) {
		out->family = PROTO_AF_INET6;
		if (is_v4_mapped(out->ip)) {
			out->family = PROTO_AF_INET;
			memmove(out->ip, out->ip + 12, 4);
			memset(out->ip + 4, 0, 12);
		}
		return 0;
	}
	return -1;
}

/* Parses a port number 1..65535 with nothing after it. Returns 0 or -1. */
static int parse_port(const char *text, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

int net_resolve(const char *text, uint16_t default_port, struct proto_addr *out,
		char *err, size_t errlen)
{
	char host[256];
	const char *port_text = NULL;
	uint16_t port = default_port;
	struct addrinfo hints, *res;
	int rc;

	if (text[0] == '[') {
		/* "[IPV6]" or "[IPV6]:PORT" */
		const char *close = strchr(text, ']');

		if (close == NULL || (size_t)(close - text - 1) >= sizeof(host)) {
			snprintf(err, errlen, "'%s': missing ']'", text);
			return -1;
		}
		memcpy(host, text + 1, (size_t)(close - text - 1));
		host[close - text - 1] = '\0';
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1] != '\0') {
			snprintf(err, errlen, "'%s': expected ':PORT' after ']'", text);
			return -1;
		}
	} else {
		const char *colon = strchr(text, ':');

		if (strlen(text) >= sizeof(host)) {
			snprintf(err, errlen, "host name too long");
			return -1;
		}
		strcpy(host, text);
		/* One colon: HOST:PORT. More: a bare IPv6 address, without a port. */
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			host[colon - text] = '\0';
			port_text = colon + 1;
		}
	}
	if (port_text != NULL && parse_port(port_text, &port) < 0) {
		snprintf(err, errlen, "'%s': bad port (1..65535)", port_text);
		return -1;
	}
	if (host[0] == '\0') {
		snprintf(err, errlen, "'%s': empty host", text);
		return -1;
	}
	if (net_parse_ip(host, port, out) == 0)
		return 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	rc = net_from_sockaddr((const struct sockaddr_storage *)(const void *)res->ai_addr, out);
	freeaddrinfo(res);
	if (rc < 0) {
		snprintf(err, errlen, "%s: no IPv4 or IPv6 address", host);
		return -1;
	}
	out->port = port;
	return 0;
}

/* Creates and binds one UDP socket of the given family. Returns the descriptor or -1. */
static int bind_socket(int family, const struct proto_addr *addr, int nonblock)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, off = 0, saved;

	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		goto fail;
	/* Dual stack: an IPv6 socket bound to :: that also takes IPv4 (RFC 3493, section 5.3). */
	if (family == AF_INET6 && addr->family == PROTO_AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
		goto fail;
	len = net_to_sockaddr(addr, family, &ss);
	if (len == 0) {
		errno = EAFNOSUPPORT;
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		goto fail;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int net_udp_socket(const struct proto_addr *bind_addr, uint16_t port, int nonblock)
{
	struct proto_addr any;
	int fd;

	if (bind_addr != NULL)
		return bind_socket(bind_addr->family == PROTO_AF_INET ? AF_INET : AF_INET6,
				   bind_addr, nonblock);
	memset(&any, 0, sizeof(any));
	any.family = PROTO_AF_INET6; /* :: */
	any.port = port;
	fd = bind_socket(AF_INET6, &any, nonblock);
	if (fd >= 0 || (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL && errno != EPROTONOSUPPORT))
		return fd;
	any.family = PROTO_AF_INET; /* 0.0.0.0: this machine has no IPv6 */
	return bind_socket(AF_INET, &any, nonblock);
}

int net_is_ipv6(int fd)
{
	return socket_family(fd) == AF_INET6;
}

int net_local_addr(int fd, struct proto_addr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	if (net_from_sockaddr(&ss, out) < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return 0;
}

ssize_t net_send(int fd, int ipv6, const struct proto_addr *to, const uint8_t *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = net_to_sockaddr(to, ipv6 ? AF_INET6 : AF_INET, &ss);

	if (sslen == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sslen);
}

int net_set_rcvbuf(int fd, int bytes)
{
	int got;
	socklen_t len = sizeof(got);

#ifdef SO_RCVBUFFORCE /* Linux: root (CAP_NET_ADMIN) may pass net.core.rmem_max */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
#endif
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes)) < 0)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0)
		return -1;
	return got;
}

int net_set_recv_timeout(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

ssize_t net_recv(int fd, uint8_t *buf, size_t cap, struct proto_addr *from)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	ssize_t n;

	n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&ss, &sslen);
	if (n < 0)
		return -1;
	if (net_from_sockaddr(&ss, from) < 0)
		memset(from, 0, sizeof(*from));
	return n;
}

int net_is_loopback(const struct proto_addr *a)
{
	static const uint8_t loopback6[16] = { [15] = 1 };

	if (a->family == PROTO_AF_INET)
		return a->ip[0] == 127;
	return a->family == PROTO_AF_INET6 && memcmp(a->ip, loopback6, 16) == 0;
}

/* Returns 1 for addresses a peer elsewhere on the LAN could not use to reach us. */
static int is_local_only(const struct proto_addr *a)
{
	if (net_is_loopback(a))
		return 1;
	if (a->family == PROTO_AF_INET)
		return a->ip[0] == 169 && a->ip[1] == 254; /* link-local */
	/* fe80::/10 link-local (needs a scope id), IPv4-mapped */
	return (a->ip[0] == 0xfe && (a->ip[1] & 0xc0) == 0x80) || is_v4_mapped(a->ip);
}

int net_local_endpoints(uint16_t port, int want_ipv6, struct proto_addr *out, int max)
{
	struct ifaddrs *list, *ifa;
	int n = 0;

	if (getifaddrs(&list) < 0)
		return 0;
	for (ifa = list; ifa != NULL && n < max; ifa = ifa->ifa_next) {
		struct proto_addr a;
		int i, dup = 0;

		if (ifa->ifa_addr == NULL || !(ifa->ifa_flags & IFF_UP) ||
		    (ifa->ifa_flags & IFF_LOOPBACK))
			continue;
		if (ifa->ifa_addr->sa_family != AF_INET &&
		    !(want_ipv6 && ifa->ifa_addr->sa_family == AF_INET6))
			continue;
		if (net_from_sockaddr((const struct sockaddr_storage *)(const void *)ifa->ifa_addr, &a) < 0 ||
		    is_local_only(&a))
			continue;
		a.port = port;
		for (i = 0; i < n; i++)
			dup |= proto_addr_equal(&out[i], &a);
		if (!dup)
			out[n++] = a;
	}
	freeifaddrs(list);
	return n;
}

#if defined(__linux__) && defined(MADV_HUGEPAGE) && defined(MAP_ANONYMOUS)

/* The huge page of x86-64 and arm64 (with 4 KiB base pages): 2 MiB. */
#define NET_HUGE_PAGE ((size_t)2 << 20)

/* bytes rounded up to whole huge pages; 0 when that would wrap. */
static size_t net_huge_round(size_t bytes)
{
	return bytes > SIZE_MAX - NET_HUGE_PAGE ? 0 : (bytes + NET_HUGE_PAGE - 1) & ~(NET_HUGE_PAGE - 1);
}

void *net_table_alloc(size_t bytes)
{
	size_t len = net_huge_round(bytes), map;
	uint8_t *base, *p;

	if (bytes < NET_HUGE_PAGE)
		return calloc(1, bytes > 0 ? bytes : 1);
	if (len == 0 || len > SIZE_MAX - NET_HUGE_PAGE)
		return NULL;
	/* A huge page must start on a 2 MiB boundary: map one more, trim both ends. */
	map = len + NET_HUGE_PAGE;
	base = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	p = (uint8_t *)(((uintptr_t)base + NET_HUGE_PAGE - 1) & ~(uintptr_t)(NET_HUGE_PAGE - 1));
	if (p > base)
		munmap(base, (size_t)(p - base));
	if (base + map > p + len)
		munmap(p + len, (size_t)(base + map - (p + len)));
	/* A hint: where the kernel has no huge page free, the table works on small ones. */
	madvise(p, len, MADV_HUGEPAGE);
	return p; /* anonymous pages read as zeros */
}

void net_table_free(void *p, size_t bytes)
{
	if (p == NULL)
		return;
	if (bytes < NET_HUGE_PAGE)
		free(p);
	else
		munmap(p, net_huge_round(bytes));
}

#else

void *net_table_alloc(size_t bytes)
{
	return calloc(1, bytes > 0 ? bytes : 1);
}

void net_table_free(void *p, size_t bytes)
{
	(void)bytes;
	free(p);
}

#endif

/*
 * getentropy(3) (glibc 2.25, the BSDs) asks the kernel itself (getrandom(2)
 * on Linux): no file to open, so no failure when /dev is missing or the
 * descriptors run out, and it blocks only until the pool was first seeded.
 * It gives at most GETENTROPY_MAX_LEN bytes a call.
 */
#define GETENTROPY_MAX_LEN 256

int net_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len > 0) {
		size_t n = len < GETENTROPY_MAX_LEN ? len : GETENTROPY_MAX_LEN;

		if (getentropy(p, n) < 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}
