/* net_batch.c - many datagrams a system call: sendmmsg/recvmmsg, UDP GSO and GRO, the send queue. */
#if defined(__linux__)
#define _GNU_SOURCE /* sendmmsg(2), recvmmsg(2): Linux's, kept in this file */
#endif
#include <errno.h>
#include <netinet/in.h>
#if defined(__linux__)
#include <netinet/udp.h> /* UDP_SEGMENT, UDP_GRO */
#endif
#include <string.h>
#include <sys/socket.h>

#include "net.h"
#include "net_impl.h"

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
		socklen_t sslen = net_to_sockaddr(&d[i].addr, ipv6 ? AF_INET6 : AF_INET, &ss[i]);

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
		if (net_from_sockaddr(&ss[i], &d[i].addr) < 0)
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
		socklen_t sslen = net_to_sockaddr(&q->d[i].addr, q->ipv6 ? AF_INET6 : AF_INET, &ss[m]);
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

