/* tests/nfdelay.c - the NAT lab's link delay (and reordering): holds NFQUEUE packets a while. */

/*
 * The lab's kernel has no netem, so a delay is made in user space with
 * nfnetlink_queue, spoken over a raw netlink socket (libc only):
 *
 *   iptables ... -j NFQUEUE --queue-num N   the kernel parks each matching packet
 *        |                                  and sends us NFQNL_MSG_PACKET with its id
 *        v
 *   nfdelay notes (id, now + delay)         in a small table of held packets
 *        |
 *        v  when it is due
 *   NFQNL_MSG_VERDICT (NF_ACCEPT, id)       the kernel sends the packet on its way
 *
 * With -d alone every packet waits the same time, so packets leave in the
 * order they came. With -j, each packet waits -d plus a random 0..-j ms of
 * its own, so a packet can be due before one that came earlier: it
 * overtakes it, and the link reorders, as a real internet path with
 * several routes does. nfdelay counts the packets that left after a packet
 * that came in later than they did ("reordered").
 *
 * The packets held sit in a binary heap by due time, so the one due first
 * is at hand: a chat lab holds a few dozen packets at once, a goodput run
 * some thousands (a linear scan of those lagged 100 ms behind a burst).
 *
 * Usage: nfdelay -d MS [-j MS] [-q QUEUE] [-t SECONDS] [-v]
 * Start it in the namespace whose iptables rules queue the packets. Use
 * --queue-bypass in those rules, so traffic flows undelayed when nfdelay is
 * not running. It exits after -t SECONDS, or on SIGTERM or SIGINT, and
 * accepts every packet it still holds before it goes.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/netlink.h>

#include "bytes.h"

#define HELD_MAX 32768            /* packets held at once: 100 ms of 160 Mbit/s through both hooks, and its ACKs */
#define QUEUE_MAXLEN HELD_MAX     /* the kernel's queue: its default, 1024, let a fast stream through undelayed */
#define RECV_BUF_SIZE 65536       /* one recv() can carry many packet messages */
#define SOCKET_RCVBUF_BYTES (8 << 20) /* room for bursts (some 100 bytes a packet), so the kernel need not fail open */
#define COPY_RANGE 20             /* bytes of each packet copied to us: its IPv4 header, for -v */
#define BIND_TIMEOUT_MS 2000      /* the kernel answers a bind at once; this is only a bound */
#define DEFAULT_LIFETIME_S 600    /* without -t: never outlive a forgotten lab by long */

static volatile sig_atomic_t stop; /* SIGTERM or SIGINT arrived */

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* Returns milliseconds from CLOCK_MONOTONIC. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- requests to the kernel ---- */

/* One request being built: a netlink header, an nfgenmsg, attributes. */
struct request {
	uint8_t buf[128];
	size_t len;
};

/*
 * Starts a request of the queue subsystem's message `type` for queue
 * `queue`: the netlink header (its length is set when sent), then the
 * nfgenmsg, whose res_id names the queue.
 */
static void req_start(struct request *r, uint16_t type, uint16_t flags, uint16_t queue)
{
	struct nlmsghdr h;

	memset(r, 0, sizeof(*r));
	memset(&h, 0, sizeof(h));
	h.nlmsg_type = (uint16_t)(NFNL_SUBSYS_QUEUE << 8 | type);
	h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
	memcpy(r->buf, &h, sizeof(h));
	r->len = NLMSG_HDRLEN;
	r->buf[r->len] = AF_UNSPEC;         /* nfgen_family */
	r->buf[r->len + 1] = NFNETLINK_V0;  /* version */
	bytes_put16(r->buf + r->len + 2, queue); /* res_id */
	r->len += NLMSG_ALIGN(sizeof(struct nfgenmsg));
}

/* Appends an attribute: its header, len bytes of data, padding to 4 bytes. */
static void req_attr(struct request *r, uint16_t type, const uint8_t *data, size_t len)
{
	struct nlattr a;

	if (sizeof(r->buf) - r->len < NLA_ALIGN(NLA_HDRLEN + len)) {
		fprintf(stderr, "nfdelay: request too long (a bug)\n");
		exit(1);
	}
	a.nla_len = (uint16_t)(NLA_HDRLEN + len);
	a.nla_type = type;
	memcpy(r->buf + r->len, &a, sizeof(a));
	memcpy(r->buf + r->len + NLA_HDRLEN, data, len);
	r->len += NLA_ALIGN(NLA_HDRLEN + len);
}

/* Sets the request's length and sends it to the kernel. Returns 0, or -1 with errno. */
static int req_send(int fd, struct request *r)
{
	struct sockaddr_nl kernel;
	struct nlmsghdr h;

	memcpy(&h, r->buf, sizeof(h));
	h.nlmsg_len = (uint32_t)r->len;
	memcpy(r->buf, &h, sizeof(h));
	memset(&kernel, 0, sizeof(kernel));
	kernel.nl_family = AF_NETLINK; /* nl_pid 0: the kernel */
	if (sendto(fd, r->buf, r->len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -1;
	return 0;
}

/*
 * Binds this socket to queue `queue`, asking for the first COPY_RANGE bytes
 * of each packet, and for "fail open": when our socket cannot take a
 * message, the kernel lets the packet through rather than dropping it (the
 * lab's losses come from its own iptables rules, never from us). One
 * CONFIG message carries all three; the kernel acknowledges it.
 */
static int send_bind(int fd, uint16_t queue)
{
	struct request r;
	uint8_t cmd[4], params[5], flags[4], mask[4], maxlen[4];

	req_start(&r, NFQNL_MSG_CONFIG, NLM_F_ACK, queue);
	/* struct nfqnl_msg_config_cmd: command, pad, protocol family (unused since Linux 3.8) */
	cmd[0] = NFQNL_CFG_CMD_BIND;
	cmd[1] = 0;
	bytes_put16(cmd + 2, AF_INET);
	req_attr(&r, NFQA_CFG_CMD, cmd, sizeof(cmd));
	/* struct nfqnl_msg_config_params (packed): copy range, copy mode */
	bytes_put32(params, COPY_RANGE);
	params[4] = NFQNL_COPY_PACKET;
	req_attr(&r, NFQA_CFG_PARAMS, params, sizeof(params));
	/*
	 * The kernel parks at most this many packets for us; past it, with
	 * FAIL_OPEN, it lets them pass undelayed: a fast stream's round trip
	 * fell to 0 ms in the lab, and its senders measured that.
	 */
	bytes_put32(maxlen, QUEUE_MAXLEN);
	req_attr(&r, NFQA_CFG_QUEUE_MAXLEN, maxlen, sizeof(maxlen));
	bytes_put32(flags, NFQA_CFG_F_FAIL_OPEN);
	bytes_put32(mask, NFQA_CFG_F_FAIL_OPEN);
	req_attr(&r, NFQA_CFG_FLAGS, flags, sizeof(flags));
	req_attr(&r, NFQA_CFG_MASK, mask, sizeof(mask));
	return req_send(fd, &r);
}

/* Lets packet `id` go on its way. */
static void send_accept(int fd, uint16_t queue, uint32_t id)
{
	struct request r;
	uint8_t verdict[8];

	req_start(&r, NFQNL_MSG_VERDICT, 0, queue);
	/* struct nfqnl_msg_verdict_hdr: verdict, packet id */
	bytes_put32(verdict, NF_ACCEPT);
	bytes_put32(verdict + 4, id);
	req_attr(&r, NFQA_VERDICT_HDR, verdict, sizeof(verdict));
	if (req_send(fd, &r) < 0)
		fprintf(stderr, "nfdelay: verdict for packet %u: %s\n", id, strerror(errno));
}

/* ---- the packets held ---- */

struct held {
	uint32_t id;
	uint64_t arrival;         /* 1 for the first packet that came, 2 for the next... */
	int64_t due_ms;
};

/* Everything the loop owns. */
struct delayer {
	int fd;
	uint16_t queue;
	int64_t delay_ms;
	int64_t jitter_ms;        /* -j: up to this much more, at random, per packet */
	int verbose;
	int bound;                /* the kernel acknowledged our bind */
	int failed;               /* the kernel refused a request: give up */
	struct held held[HELD_MAX]; /* held[0..count), a binary heap: held[0] is due first */
	size_t count;
	uint64_t arrivals;        /* packets that came so far: the last one's arrival number */
	uint64_t latest_out;      /* the highest arrival number released so far */
	unsigned long delayed, reordered, early;
};

/* Returns 1 when held packet a is due before b (the earlier arrival on a tie). */
static int due_before(const struct held *a, const struct held *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->arrival < b->arrival);
}

static void swap_held(struct delayer *d, size_t i, size_t j)
{
	struct held t = d->held[i];

	d->held[i] = d->held[j];
	d->held[j] = t;
}

/* Moves held[i] up the heap to its place. */
static void sift_up(struct delayer *d, size_t i)
{
	while (i > 0 && due_before(&d->held[i], &d->held[(i - 1) / 2])) {
		swap_held(d, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

/* Moves held[i] down the heap to its place. */
static void sift_down(struct delayer *d, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < d->count && due_before(&d->held[l], &d->held[m]))
			m = l;
		if (r < d->count && due_before(&d->held[r], &d->held[m]))
			m = r;
		if (m == i)
			return;
		swap_held(d, i, m);
		i = m;
	}
}

/*
 * Accepts the held packet due first (held[0]; count > 0). It was overtaken
 * when a packet that came after it has already gone: count it as
 * reordered.
 */
static void release_first(struct delayer *d)
{
	struct held h = d->held[0];

	send_accept(d->fd, d->queue, h.id);
	if (h.arrival < d->latest_out)
		d->reordered++;
	else
		d->latest_out = h.arrival;
	d->held[0] = d->held[d->count - 1];
	d->count--;
	sift_down(d, 0);
}

/* Accepts every held packet whose time has come; returns the next due time, or -1. */
static int64_t release_due(struct delayer *d, int64_t now)
{
	while (d->count > 0) {
		if (d->held[0].due_ms > now)
			return d->held[0].due_ms;
		release_first(d);
	}
	return -1;
}

/*
 * Holds packet id until now + delay + a random 0..jitter ms. A full table
 * lets the packet due first go early.
 */
static void hold(struct delayer *d, uint32_t id, int64_t now)
{
	int64_t wait_ms = d->delay_ms;

	if (d->count == HELD_MAX) {
		release_first(d);
		d->early++;
	}
	if (d->jitter_ms > 0)
		wait_ms += rand() % (d->jitter_ms + 1); /* RAND_MAX >= 32767 > any -j */
	d->arrivals++;
	d->held[d->count] = (struct held){ id, d->arrivals, now + wait_ms };
	d->count++;
	sift_up(d, d->count - 1);
	d->delayed++;
}

/* One NFQNL_MSG_PACKET: finds the packet's id (and, for -v, its addresses) and holds it. */
static void on_packet(struct delayer *d, const uint8_t *msg, size_t len, int64_t now)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct nfgenmsg));
	const uint8_t *ip = NULL;
	size_t ip_len = 0;
	uint32_t id = 0;
	int have_id = 0;

	/* The attributes: each a struct nlattr, then its data, padded to 4 bytes. */
	while (off <= len && len - off >= NLA_HDRLEN) {
		struct nlattr a;
		const uint8_t *data = msg + off + NLA_HDRLEN;
		size_t step;

		memcpy(&a, msg + off, sizeof(a));
		if (a.nla_len < NLA_HDRLEN || a.nla_len > len - off)
			break;
		switch (a.nla_type & NLA_TYPE_MASK) {
		case NFQA_PACKET_HDR: /* struct nfqnl_msg_packet_hdr: the id comes first */
			if (a.nla_len - NLA_HDRLEN >= 4) {
				id = bytes_get32(data);
				have_id = 1;
			}
			break;
		case NFQA_PAYLOAD:
			ip = data;
			ip_len = a.nla_len - NLA_HDRLEN;
			break;
		}
		step = NLA_ALIGN(a.nla_len);
		if (step >= len - off)
			break;
		off += step;
	}
	if (!have_id) {
		fprintf(stderr, "nfdelay: a packet message without an id: ignored\n");
		return;
	}
	if (d->verbose && ip != NULL && ip_len >= 20 && ip[0] >> 4 == 4)
		fprintf(stderr, "nfdelay: packet %u, protocol %u, %u.%u.%u.%u -> %u.%u.%u.%u\n", id,
			ip[9], ip[12], ip[13], ip[14], ip[15], ip[16], ip[17], ip[18], ip[19]);
	hold(d, id, now);
}

/* An NLMSG_ERROR: an error code of 0 acknowledges our bind; anything else refuses it. */
static void on_error_msg(struct delayer *d, const uint8_t *msg, size_t len)
{
	int32_t err;

	if (len - NLMSG_HDRLEN < sizeof(err))
		return;
	memcpy(&err, msg + NLMSG_HDRLEN, sizeof(err)); /* host order, negative errno */
	if (err == 0) {
		d->bound = 1;
		return;
	}
	fprintf(stderr, "nfdelay: the kernel refused queue %u: %s\n", d->queue, strerror(-err));
	d->failed = 1;
}

/* Walks the netlink messages in buf[0..len) and dispatches each. */
static void on_batch(struct delayer *d, const uint8_t *buf, size_t len, int64_t now)
{
	size_t off = 0;

	while (len - off >= NLMSG_HDRLEN) {
		struct nlmsghdr h;
		size_t step;

		memcpy(&h, buf + off, sizeof(h));
		if (h.nlmsg_len < NLMSG_HDRLEN || h.nlmsg_len > len - off)
			break;
		if (h.nlmsg_type == NLMSG_ERROR)
			on_error_msg(d, buf + off, h.nlmsg_len);
		else if (h.nlmsg_type == (NFNL_SUBSYS_QUEUE << 8 | NFQNL_MSG_PACKET))
			on_packet(d, buf + off, h.nlmsg_len, now);
		step = NLMSG_ALIGN(h.nlmsg_len);
		if (step >= len - off)
			break;
		off += step;
	}
}

/* Takes every message waiting on the socket. */
static void receive(struct delayer *d)
{
	static uint8_t buf[RECV_BUF_SIZE];

	for (;;) {
		ssize_t n = recv(d->fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			/* ENOBUFS: the kernel could not queue messages to us; it failed open. */
			if (errno == ENOBUFS)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				fprintf(stderr, "nfdelay: recv: %s\n", strerror(errno));
				d->failed = 1;
			}
			return;
		}
		on_batch(d, buf, (size_t)n, now_ms());
	}
}

/* Waits for input until deadline (or for ever when deadline is -1, bounded by end). */
static void wait_until(struct delayer *d, int64_t deadline, int64_t end)
{
	struct pollfd pfd = { .fd = d->fd, .events = POLLIN };
	int64_t now = now_ms(), until = deadline >= 0 && deadline < end ? deadline : end;

	if (poll(&pfd, 1, until > now ? (int)(until - now) : 0) > 0)
		receive(d);
}

static void usage(void)
{
	fprintf(stderr, "usage: nfdelay -d MS [-j MS] [-q QUEUE] [-t SECONDS] [-v]\n");
}

/* Parses a whole number in [min, max] into *out; returns 0, or -1. */
static int parse_number(const char *text, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	static struct delayer d; /* the table is large: keep it off the stack */
	struct sockaddr_nl local;
	struct sigaction sa;
	long delay = -1, jitter = 0, queue = 0, lifetime = DEFAULT_LIFETIME_S;
	int opt, rcvbuf = SOCKET_RCVBUF_BYTES;
	int64_t end;

	while ((opt = getopt(argc, argv, "d:j:q:t:v")) != -1) {
		switch (opt) {
		case 'd':
			if (parse_number(optarg, 0, 10000, &delay) < 0)
				goto usage_error;
			break;
		case 'j':
			if (parse_number(optarg, 0, 10000, &jitter) < 0)
				goto usage_error;
			break;
		case 'q':
			if (parse_number(optarg, 0, 65535, &queue) < 0)
				goto usage_error;
			break;
		case 't':
			if (parse_number(optarg, 1, 86400, &lifetime) < 0)
				goto usage_error;
			break;
		case 'v': d.verbose = 1; break;
		default: goto usage_error;
		}
	}
	if (delay < 0 || optind != argc)
		goto usage_error;
	d.queue = (uint16_t)queue;
	d.delay_ms = delay;
	d.jitter_ms = jitter;
	srand((unsigned)getpid() ^ (unsigned)now_ms()); /* each run reorders differently */

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR and the loop looks */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	d.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (d.fd < 0) {
		fprintf(stderr, "nfdelay: netlink socket: %s (needs root, or CAP_NET_ADMIN)\n",
			strerror(errno));
		return 1;
	}
	/* past net.core.rmem_max, which SO_RCVBUF is held to: we are root */
	if (setsockopt(d.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(d.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&local, 0, sizeof(local));
	local.nl_family = AF_NETLINK; /* nl_pid 0: the kernel gives us an address */
	if (bind(d.fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    send_bind(d.fd, d.queue) < 0) {
		fprintf(stderr, "nfdelay: queue %u: %s\n", d.queue, strerror(errno));
		return 1;
	}
	end = now_ms() + BIND_TIMEOUT_MS;
	while (!d.bound && !d.failed && !stop && now_ms() < end)
		wait_until(&d, -1, end);
	if (!d.bound) {
		if (!d.failed)
			fprintf(stderr, "nfdelay: queue %u: no answer from the kernel\n", d.queue);
		return 1;
	}
	/* The lab waits for this line before it counts on the delay. */
	if (jitter > 0)
		fprintf(stderr, "nfdelay: queue %u: holding each packet %ld ms plus 0..%ld ms"
			" at random, for at most %ld s\n", d.queue, delay, jitter, lifetime);
	else
		fprintf(stderr, "nfdelay: queue %u: holding each packet %ld ms, for at most %ld s\n",
			d.queue, delay, lifetime);

	end = now_ms() + lifetime * 1000;
	while (!stop && !d.failed && now_ms() < end)
		wait_until(&d, release_due(&d, now_ms()), end);

	/* Closing the socket would drop what we hold: let it all go first. */
	while (d.count > 0)
		release_first(&d);
	close(d.fd);
	/* The lab reads this line for its figures. */
	fprintf(stderr, "nfdelay: queue %u: %lu packets delayed, %lu reordered,"
		" %lu let go early (too many held)\n", d.queue, d.delayed, d.reordered, d.early);
	return d.failed ? 1 : 0;

usage_error:
	usage();
	return 2;
}
