/* net.h - UDP sockets, addresses and the monotonic clock, behind small helpers. */
#ifndef P2PCHAT_NET_H
#define P2PCHAT_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"

/* Enough for "[ffff:...:ffff]:65535" and a NUL. */
#define NET_ADDRSTRLEN 56

/* Returns milliseconds from CLOCK_MONOTONIC: for deadlines, never for dates. */
int64_t net_now_ms(void);

/*
 * Returns microseconds since 1970 from CLOCK_REALTIME: the start of a
 * sealed-message counter (auth.h), which must grow across restarts, as
 * WireGuard's TAI64N timestamp does. Never for deadlines.
 */
uint64_t net_wall_us(void);

/*
 * Formats an endpoint as "1.2.3.4:5" or "[::1]:5" into buf and returns buf.
 * A family of 0 gives "-".
 */
const char *net_addr_str(const struct proto_addr *a, char buf[NET_ADDRSTRLEN]);

/*
 * Parses "HOST", "HOST:PORT", "[IPV6]" or "[IPV6]:PORT" (HOST may be a DNS
 * name, resolved with getaddrinfo) into *out, with default_port when none is
 * given. Returns 0, or -1 with a reason in err[0..errlen).
 */
int net_resolve(const char *text, uint16_t default_port, struct proto_addr *out,
		char *err, size_t errlen);

/*
 * Parses a numeric IPv4 or IPv6 address (no port, no brackets) into *out
 * with the given port. Returns 0, or -1 when text is not an address.
 */
int net_parse_ip(const char *text, uint16_t port, struct proto_addr *out);

/*
 * Opens a UDP socket bound to bind_addr (its port included). A NULL
 * bind_addr means every address on port `port`: one dual-stack IPv6 socket
 * that also carries IPv4, or an IPv4 socket where the machine has no IPv6.
 * The socket is non-blocking when nonblock is set.
 * Returns the descriptor, or -1 with errno set.
 */
int net_udp_socket(const struct proto_addr *bind_addr, uint16_t port, int nonblock);

/* Returns 1 when fd is an IPv6 socket (and so can reach IPv6 peers), else 0. */
int net_is_ipv6(int fd);

/* Fills *out with the address fd is bound to. Returns 0, or -1 with errno. */
int net_local_addr(int fd, struct proto_addr *out);

/*
 * Sends one datagram on fd, an IPv6 socket when ipv6 is set (net_is_ipv6,
 * asked once by the caller: a system call per datagram costs 8% of the
 * server's time). IPv4 endpoints go as IPv4-mapped addresses on a
 * dual-stack socket. Returns the bytes sent, or -1 with errno.
 */
ssize_t net_send(int fd, int ipv6, const struct proto_addr *to, const uint8_t *buf, size_t len);

/*
 * One datagram of a batch: to send (addr is where to, len its bytes), or
 * received (addr is where from, len what came, at most cap).
 */
struct net_dgram {
	struct proto_addr addr;
	uint8_t *buf; /* owned by the caller */
	size_t len;
	size_t cap;   /* receive: room in buf */
	size_t seg;   /* receive: the UDP GRO segment size when buf holds a run of datagrams, else 0 */
};

/* The most datagrams net_send_many or net_recv_many take in one call. */
#define NET_BATCH_MAX 64

/*
 * Sends d[0..n) on fd (ipv6 as for net_send), in one system call where the
 * system has one for it (Linux: sendmmsg), else one sendto each. n is at
 * most NET_BATCH_MAX. Returns how many of the first datagrams were sent
 * (1..n), or -1 with errno when d[0] could not be: the caller skips d[0]
 * and calls again with the rest.
 */
int net_send_many(int fd, int ipv6, const struct net_dgram *d, int n);

/*
 * Receives up to n datagrams (n <= NET_BATCH_MAX) into d[i].buf[0..cap),
 * setting d[i].len, d[i].addr (IPv4-mapped sources unmapped) and d[i].seg
 * (0, or on a socket with net_set_gro the segment size of a run: then
 * d[i].buf holds several datagrams; net_dgram_count cuts it). It waits,
 * as a blocking fd does (up to its receive timeout), for the first only;
 * then it takes what is already queued, without waiting (Linux: recvmmsg
 * with MSG_WAITFORONE; elsewhere one datagram a call). Returns how many
 * (1..n), or -1 with errno.
 */
int net_recv_many(int fd, struct net_dgram *d, int n);

/*
 * The room a receive buffer needs on a socket with net_set_gro: a whole run,
 * which is at most one UDP datagram's worth (64 KiB less the headers).
 */
#define NET_GRO_BUF_BYTES 65536

/*
 * Asks the kernel to hand fd's runs of same-size datagrams from one source
 * up as one buffer each (Linux's UDP_GRO): one system call and one copy a
 * run, not a datagram. Then every receive buffer must hold
 * NET_GRO_BUF_BYTES, and net_recv_many's d[i].seg says how to cut it; the
 * caller must not use net_recv on fd. Returns 1 when on, 0 when the system
 * has no such option (each datagram then comes alone, d[i].seg 0).
 */
int net_set_gro(int fd);

/*
 * How many datagrams the received d holds: 1 when d->seg is 0 (an empty
 * datagram is one too), else d->len / d->seg rounded up (the last may be
 * shorter). Pure: exported for the tests.
 */
int net_dgram_count(const struct net_dgram *d);

/*
 * The i-th datagram (0 <= i < net_dgram_count(d)) of the received d:
 * returns where it starts in d->buf and sets *len to its length (each is
 * d->seg bytes but the last). Pure.
 */
const uint8_t *net_dgram_at(const struct net_dgram *d, int i, size_t *len);

/* The largest datagram a net_queue holds (the protocol's maximum). */
#define NET_QUEUE_DGRAM_MAX PROTO_MAX_DATAGRAM

/*
 * Datagrams on their way out of one socket, copied in by net_queue_add
 * and sent together by net_queue_flush: a client sending a file emits
 * dozens a turn of its loop, and one sendmmsg for them all saves a system
 * call's entry and exit for each. About 80 KB: keep it off the stack.
 */
struct net_queue {
	int fd, ipv6;     /* as for net_send */
	int n;            /* datagrams queued: d[0..n) */
	unsigned failed;  /* datagrams the system refused since net_queue_init */
	int gso;          /* 1 while runs to one address go as one UDP GSO send (net.c); 0 for good once refused */
	struct net_dgram d[NET_BATCH_MAX];
	uint8_t buf[NET_BATCH_MAX][NET_QUEUE_DGRAM_MAX];
};

/*
 * How many of d[0..n) (n >= 1) net_queue_flush sends as one UDP GSO run:
 * d[0] and the datagrams after it to the same address and of d[0]'s size,
 * the last of them maybe shorter (it ends the run; never empty), at most
 * 64 datagrams and 65,000 bytes in all; 1 when d[0] is under 512 bytes
 * (small datagrams go one by one). Returns 1..n. Pure: exported for the
 * tests.
 */
int net_gso_run(const struct net_dgram *d, int n);

/* Empties q and points it at fd (ipv6 as for net_send). */
void net_queue_init(struct net_queue *q, int fd, int ipv6);

/*
 * Queues a copy of buf[0..len) for to, sending the queue first when it is
 * full. A datagram over NET_QUEUE_DGRAM_MAX is sent at once, after what is
 * queued, so the order holds. Returns 0, or -1 with errno when a datagram
 * sent now was refused (it is counted in q->failed too).
 */
int net_queue_add(struct net_queue *q, const struct proto_addr *to, const uint8_t *buf,
		  size_t len);

/*
 * Sends every queued datagram in order, and empties q: runs of datagrams
 * to one address, of one size (the last may be shorter), as one UDP GSO
 * send each where the system has it (Linux's UDP_SEGMENT: still one
 * datagram each on the wire), the rest by net_send_many. One the system
 * refuses is skipped and counted in q->failed (a refused run: each of its
 * datagrams). Returns how many were refused this call (0 when all went).
 */
int net_queue_flush(struct net_queue *q);

/*
 * Asks for a receive buffer of `bytes` (more than net.core.rmem_max where
 * the process may: SO_RCVBUFFORCE on Linux). Returns the size obtained,
 * or -1 with errno.
 */
int net_set_rcvbuf(int fd, int bytes);

/* Makes a blocking receive on fd give up after ms milliseconds (EAGAIN). Returns 0 or -1. */
int net_set_recv_timeout(int fd, int ms);

/*
 * Receives one datagram into buf[0..cap). IPv4-mapped sources come back as
 * plain IPv4. Returns its length, or -1 with errno (EAGAIN when none waits).
 */
ssize_t net_recv(int fd, uint8_t *buf, size_t cap, struct proto_addr *from);

/*
 * Lists this host's interface addresses that a peer on the same network
 * could reach (loopback and link-local left out; IPv6 only when want_ipv6),
 * each with the given port, into out[0..max). Returns how many.
 */
int net_local_endpoints(uint16_t port, int want_ipv6, struct proto_addr *out, int max);

/* Returns 1 for a loopback address (127.0.0.0/8 or ::1), else 0. */
int net_is_loopback(const struct proto_addr *a);

/*
 * Allocates `bytes` zeroed bytes for one of the server's large tables,
 * which are read at random, an entry a request. From 2 MiB up, on Linux,
 * the table gets pages of its own and the kernel is asked to back them
 * with huge pages (madvise MADV_HUGEPAGE): a million names then take some
 * 90 TLB entries, not 45 000, and a lookup no longer walks the page tables.
 * Smaller tables, and other systems, get calloc. Returns NULL when memory
 * is short. Free it with net_table_free and the same size.
 */
void *net_table_alloc(size_t bytes);

/* Frees what net_table_alloc(bytes) returned (NULL: nothing). */
void net_table_free(void *p, size_t bytes);

/*
 * Fills buf with len cryptographically random bytes from the kernel
 * (getentropy), any len. Returns 0, or -1 with errno (then the program
 * must stop: there is no fallback).
 */
int net_random(void *buf, size_t len);

#endif
