/* net.c - UDP sockets, addresses and the monotonic clock, behind small helpers. */
#if defined(__linux__)
#define _GNU_SOURCE /* sendmmsg(2), recvmmsg(2): Linux's, kept in this file */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#if defined(__linux__)
#include <netinet/udp.h> /* UDP_SEGMENT, UDP_GRO */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

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
static int from_sockaddr(const struct sockaddr_storage *ss, struct proto_addr *out)
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
static socklen_t to_sockaddr(const struct proto_addr *a, int sock_family,
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
	rc = from_sockaddr((const struct sockaddr_storage *)(const void *)res->ai_addr, out);
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
	len = to_sockaddr(addr, family, &ss);
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
	if (from_sockaddr(&ss, out) < 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return 0;
}

ssize_t net_send(int fd, int ipv6, const struct proto_addr *to, const uint8_t *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = to_sockaddr(to, ipv6 ? AF_INET6 : AF_INET, &ss);

	if (sslen == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	return sendto(fd, buf, len, 0, (struct sockaddr *)&ss, sslen);
}

#if defined(__linux__) && defined(MSG_WAITFORONE)

/*
 * A LOOKUP that finds its target is answered with two datagrams, and a
 * batch of requests with up to two each: one sendmmsg for them all saves
 * a system call's entry and exit a datagram. On loopback that is little
 * (0.3 of a datagram's 3 us on the machine of the README's figures, where
 * a send also delivers); with the receive batched too, the calls of a busy
 * server are shared by the whole batch.
 */
int net_send_many(int fd, int ipv6, const struct net_dgram *d, int n)
{
	struct sockaddr_storage ss[NET_BATCH_MAX];
	struct mmsghdr msgs[NET_BATCH_MAX];
	struct iovec iov[NET_BATCH_MAX];
	int i, k = 0, sent;

	if (n > NET_BATCH_MAX)
		n = NET_BATCH_MAX;
	/* Up to the first endpoint this socket cannot reach: the caller hears of that one alone. */
	for (i = 0; i < n; i++) {
		socklen_t sslen = to_sockaddr(&d[i].addr, ipv6 ? AF_INET6 : AF_INET, &ss[i]);

		if (sslen == 0)
			break;
		iov[i].iov_base = d[i].buf;
		iov[i].iov_len = d[i].len;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &ss[i];
		msgs[i].msg_hdr.msg_namelen = sslen;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		k++;
	}
	if (k == 0) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	do
		sent = sendmmsg(fd, msgs, (unsigned)k, 0);
	while (sent < 0 && errno == EINTR);
	return sent == 0 ? -1 : sent;
}

/* The segment size of a UDP GRO run from its control message (net_set_gro), or 0: one datagram. */
static size_t gro_segment(struct msghdr *mh)
{
#if defined(UDP_GRO)
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		int size;

		if (cm->cmsg_level != SOL_UDP || cm->cmsg_type != UDP_GRO ||
		    cm->cmsg_len < CMSG_LEN(sizeof(size)))
			continue;
		memcpy(&size, CMSG_DATA(cm), sizeof(size));
		return size > 0 ? (size_t)size : 0;
	}
#else
	(void)mh;
#endif
	return 0;
}

int net_recv_many(int fd, struct net_dgram *d, int n)
{
	struct sockaddr_storage ss[NET_BATCH_MAX];
	struct mmsghdr msgs[NET_BATCH_MAX];
	struct iovec iov[NET_BATCH_MAX];
	union { /* room for UDP_GRO's int, aligned as a struct cmsghdr's size_t cmsg_len */
		char buf[CMSG_SPACE(sizeof(int))];
		size_t align;
	} ctl[NET_BATCH_MAX];
	int i, got;

	if (n > NET_BATCH_MAX)
		n = NET_BATCH_MAX;
	for (i = 0; i < n; i++) {
		iov[i].iov_base = d[i].buf;
		iov[i].iov_len = d[i].cap;
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_name = &ss[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(ss[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_control = ctl[i].buf;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i].buf);
	}
	/* MSG_WAITFORONE: block for the first (SO_RCVTIMEO applies), then take what waits. */
	got = recvmmsg(fd, msgs, (unsigned)n, MSG_WAITFORONE, NULL);
	if (got <= 0)
		return -1;
	for (i = 0; i < got; i++) {
		d[i].len = msgs[i].msg_len;
		d[i].seg = gro_segment(&msgs[i].msg_hdr);
		if (from_sockaddr(&ss[i], &d[i].addr) < 0)
			memset(&d[i].addr, 0, sizeof(d[i].addr));
	}
	return got;
}

#else /* one datagram a system call: POSIX */

int net_send_many(int fd, int ipv6, const struct net_dgram *d, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (net_send(fd, ipv6, &d[i].addr, d[i].buf, d[i].len) < 0)
			return i > 0 ? i : -1;
	return n;
}

int net_recv_many(int fd, struct net_dgram *d, int n)
{
	ssize_t len;

	if (n < 1)
		return 0;
	len = net_recv(fd, d[0].buf, d[0].cap, &d[0].addr);
	if (len < 0)
		return -1;
	d[0].len = (size_t)len;
	d[0].seg = 0;
	return 1;
}

#endif

/*
 * UDP generic receive offload (Linux 5.0, UDP_GRO): the kernel keeps a run of datagrams
 * from one source, all one size but the last, together up to the socket (on loopback a
 * GSO run from net_queue_flush is never cut apart at all), and one recvmmsg slot takes
 * the run with its segment size in a control message. The receiver of a file then pays
 * one trip up the stack and one copy a run, not a datagram (README, "A file over
 * loopback"). Each datagram of a run is still opened on its own above this file.
 */
int net_set_gro(int fd)
{
#if defined(__linux__) && defined(MSG_WAITFORONE) && defined(UDP_GRO)
	int on = 1;

	return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
#else
	(void)fd;
	return 0;
#endif
}

int net_dgram_count(const struct net_dgram *d)
{
	if (d->seg == 0 || d->len <= d->seg)
		return 1;
	return (int)((d->len - 1) / d->seg + 1);
}

const uint8_t *net_dgram_at(const struct net_dgram *d, int i, size_t *len)
{
	size_t off;

	if (d->seg == 0 || d->len <= d->seg) {
		*len = d->len;
		return d->buf;
	}
	off = (size_t)i * d->seg;
	if (i < 0 || off > d->len)
		off = d->len; /* past the last: empty, never outside buf */
	*len = d->len - off < d->seg ? d->len - off : d->seg;
	return d->buf + off;
}

void net_queue_init(struct net_queue *q, int fd, int ipv6)
{
	q->fd = fd;
	q->ipv6 = ipv6;
	q->n = 0;
	q->failed = 0;
	q->gso = 1;
}

/*
 * UDP generic segmentation offload (Linux 4.18, UDP_SEGMENT): one sendmsg hands the
 * kernel a run of datagrams to one address, all gso_size bytes but the last (which may
 * be shorter), and they travel through the IP stack as one; the kernel (or the network
 * card) cuts them apart just before they leave, so each is still one datagram of at most
 * gso_size bytes on the wire. A file's datagrams are such a run: one trip through the
 * stack instead of one each, most of the sender's system time (README, "A file over
 * loopback").
 */
#define NET_GSO_PAYLOAD_MAX 65000 /* bytes in a run: under the 65,507 of one IPv4 UDP datagram */
#define NET_GSO_SEGMENTS_MAX 64   /* datagrams in a run: Linux's UDP_MAX_SEGMENTS (64 up to 6.x) */
/*
 * Only datagrams of at least this many bytes start a run: a bulk sender's are near the most
 * (a file's are 1,104), and the stack's cost per datagram, which GSO shares, is what they
 * save. Small ones go one by one: chat's 64-byte lines through GSO moved 20% fewer
 * messages a second on one CPU (make bench, chat), the kernel cutting runs of tiny ones
 * apart costing more than it saved.
 */
#define NET_GSO_LEN_MIN 512

int net_gso_run(const struct net_dgram *d, int n)
{
	size_t size = d[0].len, total = d[0].len;
	int k = 1;

	/* An empty datagram is never part of a run: as the last it would vanish, cut to nothing. */
	while (size >= NET_GSO_LEN_MIN && k < n && k < NET_GSO_SEGMENTS_MAX && d[k].len > 0 && d[k].len <= size &&
	       total + d[k].len <= NET_GSO_PAYLOAD_MAX &&
	       proto_addr_equal(&d[k].addr, &d[0].addr)) {
		total += d[k].len;
		if (d[k++].len < size)
			break; /* a shorter one ends the run */
	}
	return k;
}

#if defined(__linux__) && defined(MSG_WAITFORONE) && defined(UDP_SEGMENT)

/*
 * Sends q->d[from..q->n) as runs (net_gso_run), one sendmmsg for them all. Returns how many
 * datagrams were handled: sent, or, when the first run was refused, that run, counted
 * in *lost. A refusal that says the path cannot segment (EIO: no checksum offload on
 * the device; EINVAL, ENOPROTOOPT, EOPNOTSUPP: no GSO here) turns GSO off for good and
 * sends the run again without it.
 */
static int send_runs(struct net_queue *q, int from, int *lost)
{
	struct sockaddr_storage ss[NET_BATCH_MAX];
	struct mmsghdr msgs[NET_BATCH_MAX];
	struct iovec iov[NET_BATCH_MAX];
	union { /* the control message, aligned as a struct cmsghdr's size_t cmsg_len */
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		size_t align;
	} ctl[NET_BATCH_MAX];
	int count[NET_BATCH_MAX];
	int i = from, m = 0, sent, k;

	*lost = 0;
	while (i < q->n) {
		socklen_t sslen = to_sockaddr(&q->d[i].addr, q->ipv6 ? AF_INET6 : AF_INET, &ss[m]);
		int run = net_gso_run(q->d + i, q->n - i);

		if (sslen == 0)
			break;
		for (k = 0; k < run; k++) {
			iov[i - from + k].iov_base = q->d[i + k].buf;
			iov[i - from + k].iov_len = q->d[i + k].len;
		}
		memset(&msgs[m], 0, sizeof(msgs[m]));
		msgs[m].msg_hdr.msg_name = &ss[m];
		msgs[m].msg_hdr.msg_namelen = sslen;
		msgs[m].msg_hdr.msg_iov = &iov[i - from];
		msgs[m].msg_hdr.msg_iovlen = (size_t)run;
		if (run > 1) {
			struct cmsghdr *cm;
			uint16_t size = (uint16_t)q->d[i].len;

			memset(&ctl[m], 0, sizeof(ctl[m]));
			msgs[m].msg_hdr.msg_control = ctl[m].buf;
			msgs[m].msg_hdr.msg_controllen = sizeof(ctl[m].buf);
			cm = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(size));
			memcpy(CMSG_DATA(cm), &size, sizeof(size));
		}
		count[m++] = run;
		i += run;
	}
	if (m == 0) { /* d[from]'s address is not one this socket reaches */
		*lost = 1;
		return 1;
	}
	do
		sent = sendmmsg(q->fd, msgs, (unsigned)m, 0);
	while (sent < 0 && errno == EINTR);
	if (sent <= 0) {
		if (count[0] > 1 && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT ||
				     errno == EOPNOTSUPP)) {
			q->gso = 0;
			return 0; /* the caller sends them again, one datagram each */
		}
		*lost = count[0];
		return count[0];
	}
	for (k = 0, i = 0; k < sent; k++)
		i += count[k];
	return i;
}

#else /* no UDP_SEGMENT: one datagram each, whatever the queue holds */

static int send_runs(struct net_queue *q, int from, int *lost)
{
	(void)from;
	*lost = 0;
	q->gso = 1;
	return 0;
}

#endif

int net_queue_flush(struct net_queue *q)
{
	int done = 0, refused = 0, lost;

	while (done < q->n) {
		int sent;

		if (q->gso) {
			sent = send_runs(q, done, &lost);
			refused += lost;
			done += sent;
			continue; /* 0 sent: GSO just went off, and the same datagrams go below */
		}
		sent = net_send_many(q->fd, q->ipv6, q->d + done, q->n - done);
		if (sent < 0) {
			/* EAGAIN (a full socket buffer) is a loss the peer's recovery handles */
			refused++;
			sent = 1;
		}
		done += sent;
	}
	q->n = 0;
	q->failed += (unsigned)refused;
	return refused;
}

int net_queue_add(struct net_queue *q, const struct proto_addr *to, const uint8_t *buf,
		  size_t len)
{
	struct net_dgram *d;

	if (q->n == NET_BATCH_MAX || len > NET_QUEUE_DGRAM_MAX)
		(void)net_queue_flush(q);
	if (len > NET_QUEUE_DGRAM_MAX) {
		if (net_send(q->fd, q->ipv6, to, buf, len) >= 0)
			return 0;
		q->failed++;
		return -1;
	}
	d = &q->d[q->n];
	d->addr = *to;
	d->buf = q->buf[q->n];
	d->len = len;
	d->cap = NET_QUEUE_DGRAM_MAX;
	memcpy(d->buf, buf, len);
	q->n++;
	return 0;
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
	if (from_sockaddr(&ss, from) < 0)
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
		if (from_sockaddr((const struct sockaddr_storage *)(const void *)ifa->ifa_addr, &a) < 0 ||
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
