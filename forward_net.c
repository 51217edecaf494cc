/* forward_net.c - the sockets of port forwarding: listeners, non-blocking TCP, the poll slots, and forward.c's table tied to the peers' streams. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "client_impl.h"
#include "forward_net.h"
#include "log.h"
#include "peer_stream.h"

/* An address literal and port as a sockaddr. Returns its length, or 0 for a bad literal. */
static socklen_t sockaddr_of(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		return sizeof(*v4);
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		return sizeof(*v6);
	}
	return 0;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* A non-blocking TCP socket of family, close-on-exec, without Nagle's delay (chat-like requests). Returns it, or -1. */
static int tcp_socket(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	if (set_nonblock(fd) < 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* ---- forward.c's io: TCP ---- */

static int64_t tcp_send(void *ctx, int fd, const uint8_t *p, size_t len)
{
	ssize_t n;

	(void)ctx;
	do {
		n = send(fd, p, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n >= 0)
		return n;
	return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
}

static void tcp_shutdown(void *ctx, int fd)
{
	(void)ctx;
	shutdown(fd, SHUT_WR);
}

/* abort: a zero linger makes close(2) send RST (RFC 793's reset) instead of FIN, and drop what is unsent. */
static void tcp_close(void *ctx, int fd, int abort)
{
	struct linger lg = { 1, 0 };

	(void)ctx;
	if (abort)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static int tcp_connect(void *ctx, const char *host, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(host, port, &ss);
	int fd;

	(void)ctx;
	if (len == 0 || (fd = tcp_socket(ss.ss_family)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* ---- forward.c's io: the peers' streams ---- */

/* The peer record named name, made when new. Returns it, or NULL when FWD_NET_PEERS are taken. */
static struct fwd_net_peer *peer_of(struct fwd_net *n, const char *name)
{
	struct fwd_net_peer *free_one = NULL;

	for (int k = 0; k < FWD_NET_PEERS; k++) {
		if (n->peers[k].name[0] == '\0') {
			if (free_one == NULL)
				free_one = &n->peers[k];
		} else if (strcmp(n->peers[k].name, name) == 0) {
			return &n->peers[k];
		}
	}
	if (free_one != NULL)
		snprintf(free_one->name, sizeof(free_one->name), "%s", name);
	return free_one;
}

/*
 * Asks the client to reach peer (a lookup through the server) without
 * opening a stream: a stream opened while the peer is away would belong to
 * a session that may never come back (a restarted peer starts a new one),
 * so connections wait in forward.c instead. peer_stream.h has no call for
 * this; it is the one place this file reaches into client_impl.h. At most
 * once per FWD_NET_WANT_MS, whatever the number of connections waiting.
 */
static void want_peer(struct fwd_net *n, struct fwd_net_peer *fp)
{
	struct peer *p;
	int64_t now = n->c->now_ms;

	if (now < fp->next_want_ms || (p = client_peer_get(n->c, fp->name)) == NULL)
		return;
	fp->next_want_ms = now + FWD_NET_WANT_MS;
	p->wanted = 1;
	if (p->state == PEER_OFFLINE)
		client_start_lookup(p, now);
}

static void *link_of(void *ctx, const char *peer)
{
	struct fwd_net *n = ctx;
	struct fwd_net_peer *p = peer_of(n, peer);

	if (p == NULL)
		return NULL;
	if (!peer_stream_ready(n->c, peer)) { /* connected again, perhaps to a new incarnation: wait */
		want_peer(n, p);
		return NULL;
	}
	p->up = 1;
	return p;
}

static const char *name_of(void *link)
{
	return ((struct fwd_net_peer *)link)->name;
}

static size_t on_recv(void *ctx, struct client *c, const char *peer, uint64_t id,
		      const uint8_t *data, size_t len);
static void on_event(void *ctx, struct client *c, const char *peer, uint64_t id, int ev,
		     uint64_t code);

static struct peer_stream_handler handler_of(struct fwd_net *n)
{
	struct peer_stream_handler h = { n, on_recv, on_event };

	return h;
}

static int64_t s_open(void *ctx, void *link)
{
	struct fwd_net *n = ctx;
	struct peer_stream_handler h = handler_of(n);
	int64_t id = peer_stream_open(n->c, name_of(link), PEER_STREAM_KIND_FORWARD,
				      STREAM_URGENCY_DEFAULT, &h);

	log_debug("forward: a stream to %s: %lld", name_of(link), (long long)id);
	return id;
}

static int64_t s_write(void *ctx, void *link, uint64_t sid, const uint8_t *p, size_t len)
{
	return peer_stream_write(((struct fwd_net *)ctx)->c, name_of(link), sid, p, len);
}

static int64_t s_room(void *ctx, void *link, uint64_t sid)
{
	return peer_stream_room(((struct fwd_net *)ctx)->c, name_of(link), sid);
}

static int s_finish(void *ctx, void *link, uint64_t sid)
{
	return peer_stream_finish(((struct fwd_net *)ctx)->c, name_of(link), sid);
}

/* forward.c's codes travel above the stream layer's own (PEER_STREAM_E_APP and up). */
static void s_abort(void *ctx, void *link, uint64_t sid, uint64_t code)
{
	struct fwd_net *n = ctx;

	peer_stream_reset(n->c, name_of(link), sid, PEER_STREAM_E_APP + code);
	peer_stream_stop(n->c, name_of(link), sid, PEER_STREAM_E_APP + code);
}

static int s_resume(void *ctx, void *link, uint64_t sid)
{
	return peer_stream_resume(((struct fwd_net *)ctx)->c, name_of(link), sid);
}

static void s_report(void *ctx, const char *line)
{
	struct fwd_net *n = ctx;

	n->report(n->report_ctx, line);
}

static size_t on_recv(void *ctx, struct client *c, const char *peer, uint64_t id,
		      const uint8_t *data, size_t len)
{
	struct fwd_net *n = ctx;
	struct fwd_net_peer *p = peer_of(n, peer);

	(void)c;
	return p == NULL ? len : fwd_stream_recv(&n->f, p, id, data, len);
}

static void on_event(void *ctx, struct client *c, const char *peer, uint64_t id, int ev,
		     uint64_t code)
{
	struct fwd_net *n = ctx;
	struct fwd_net_peer *p = peer_of(n, peer);

	if (p == NULL) {
		if (ev == STREAM_EV_OPENED) { /* more peers than FWD_NET_PEERS */
			peer_stream_reset(c, peer, id, PEER_STREAM_E_APP + FWD_CODE_CONNECT);
			peer_stream_stop(c, peer, id, PEER_STREAM_E_APP + FWD_CODE_CONNECT);
		}
		return;
	}
	if (ev == PEER_STREAM_EV_GONE) {
		fwd_link_down(&n->f, p); /* the whole connection ended: one report for all */
		return;
	}
	if (ev == STREAM_EV_OPENED) {
		p->up = 1;
		fwd_stream_opened(&n->f, p, peer, id);
		return;
	}
	if ((ev == STREAM_EV_RESET || ev == STREAM_EV_STOPPED) && code >= PEER_STREAM_E_APP)
		code -= PEER_STREAM_E_APP;
	else if (ev == STREAM_EV_RESET || ev == STREAM_EV_STOPPED)
		code = FWD_CODE_NOT_SERVED; /* PEER_STREAM_E_REFUSED: the peer takes no forwards at all */
	fwd_stream_event(&n->f, p, id, ev, code);
}

/* ---- the loop ---- */

/* Listens on spec's address, non-blocking. Returns the socket, or -1 with err filled. */
static int listen_on(const struct fwd_spec *s, char *err, size_t cap)
{
	struct sockaddr_storage ss;
	socklen_t len = sockaddr_of(s->addr, s->lport, &ss);
	int fd, one = 1;

	if (len == 0 || (fd = tcp_socket(ss.ss_family)) < 0) {
		snprintf(err, cap, "forward %s:%u: %s", s->addr, (unsigned)s->lport, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, FWD_NET_BACKLOG) < 0) {
		snprintf(err, cap, "forward %s:%u: %s", s->addr, (unsigned)s->lport, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int fwd_net_start(struct fwd_net *n, struct client *c, const struct fwd_spec *specs,
		  uint32_t nspecs, const struct fwd_serve *serves, uint32_t nserves,
		  void (*report)(void *ctx, const char *line), void *report_ctx, char *err,
		  size_t cap)
{
	struct fwd_io io = { n, tcp_send, tcp_shutdown, tcp_close, tcp_connect, link_of, s_open,
			     s_write, s_room, s_finish, s_abort, s_resume, s_report };
	struct peer_stream_handler h;

	memset(n, 0, sizeof(*n));
	n->c = c;
	n->report = report;
	n->report_ctx = report_ctx;
	fwd_init(&n->f, &io);
	for (uint32_t k = 0; k < FWD_FORWARDS_MAX; k++)
		n->lfd[k] = -1;
	for (uint32_t k = 0; k < nspecs; k++) {
		if (fwd_add_forward(&n->f, &specs[k]) < 0 ||
		    (n->lfd[k] = listen_on(&specs[k], err, cap)) < 0) {
			if (k >= FWD_FORWARDS_MAX)
				snprintf(err, cap, "more than %d forwards", FWD_FORWARDS_MAX);
			fwd_net_stop(n);
			return -1;
		}
	}
	for (uint32_t k = 0; k < nserves; k++) {
		if (fwd_add_serve(&n->f, &serves[k]) < 0) {
			snprintf(err, cap, "more than %d served ports", FWD_SERVES_MAX);
			fwd_net_stop(n);
			return -1;
		}
	}
	h = handler_of(n);
	peer_stream_listen(c, PEER_STREAM_KIND_FORWARD, &h);
	return 0;
}

size_t fwd_net_pollfds(struct fwd_net *n, struct pollfd *fds, size_t cap)
{
	size_t k = 0;
	int room = fwd_count(&n->f) < FWD_CONNS_MAX;

	for (uint32_t s = 0; s < n->f.nspecs && room && k < cap && k < FWD_NET_SLOTS; s++) {
		if (n->lfd[s] < 0)
			continue;
		fds[k] = (struct pollfd){ .fd = n->lfd[s], .events = POLLIN };
		n->who[k] = -1 - (int)s;
		n->fd[k++] = n->lfd[s];
	}
	for (int i = 0; i < FWD_CONNS_MAX && k < cap && k < FWD_NET_SLOTS; i++) {
		short ev = 0;

		if (n->f.conns[i].fd < 0)
			continue;
		if (fwd_read_room(&n->f, i) > 0)
			ev |= POLLIN;
		if (fwd_want_write(&n->f, i))
			ev |= POLLOUT;
		if (ev == 0)
			continue;
		fds[k] = (struct pollfd){ .fd = n->f.conns[i].fd, .events = ev };
		n->who[k] = i;
		n->fd[k++] = n->f.conns[i].fd;
	}
	n->nslots = k;
	return k;
}

/* Accepts what waits on listener s. */
static void on_listener(struct fwd_net *n, int s, int64_t now)
{
	for (int tries = 0; tries < FWD_NET_BACKLOG && fwd_count(&n->f) < FWD_CONNS_MAX; tries++) {
		int fd = accept(n->lfd[s], NULL, NULL), one = 1;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("forward: accept: %s", strerror(errno));
			return;
		}
		if (set_nonblock(fd) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fwd_accepted(&n->f, s, fd, now);
	}
}

/* Connection i's socket: a finished connect or room to write, then input. */
static void on_conn(struct fwd_net *n, int i, short revents)
{
	uint8_t buf[FWD_CHUNK];
	size_t room;
	ssize_t got;

	if (fwd_want_write(&n->f, i) && (revents & (POLLOUT | POLLERR | POLLHUP))) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (n->f.conns[i].state == FWD_CONNECTING)
			getsockopt(n->f.conns[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
		fwd_tcp_writable(&n->f, i, soerr == 0);
	}
	if (!(revents & (POLLIN | POLLERR | POLLHUP)) || (room = fwd_read_room(&n->f, i)) == 0)
		return;
	do {
		got = recv(n->f.conns[i].fd, buf, room, 0);
	} while (got < 0 && errno == EINTR);
	if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	fwd_tcp_input(&n->f, i, buf, got < 0 ? -1 : got);
}

void fwd_net_dispatch(struct fwd_net *n, const struct pollfd *fds, size_t nfds, int64_t now)
{
	for (size_t k = 0; k < nfds && k < n->nslots; k++) {
		int who = n->who[k];

		if (fds[k].revents == 0)
			continue;
		if (who < 0)
			on_listener(n, -1 - who, now);
		else if (n->f.conns[who].fd == n->fd[k]) /* still the connection polled */
			on_conn(n, who, fds[k].revents);
	}
}

int64_t fwd_net_tick(struct fwd_net *n, int64_t now)
{
	for (int k = 0; k < FWD_NET_PEERS; k++) {
		struct fwd_net_peer *p = &n->peers[k];

		if (p->name[0] != '\0' && p->up && !peer_stream_connected(n->c, p->name)) {
			p->up = 0;
			fwd_link_down(&n->f, p);
		}
	}
	return fwd_tick(&n->f, now);
}

/* Logs (debug) what each peer's stream connection did: where a slow forward's time went. */
static void log_streams(struct fwd_net *n)
{
	for (int k = 0; k < FWD_NET_PEERS; k++) {
		const struct stream_conn *sc;

		if (n->peers[k].name[0] == '\0' ||
		    (sc = peer_stream_conn(n->c, n->peers[k].name)) == NULL)
			continue;
		log_debug("forward: streams with %s: %llu packets sent, %llu received, %llu bytes "
			  "sent, %llu resent; %llu lost (%llu spurious, %llu random), %llu recoveries, "
			  "%llu PTOs; "
			  "cwnd %llu, srtt %lld ms, min rtt %lld ms (-1: no sample yet), "
			  "bandwidth %llu kbit/s, mode %u, %llu PROBE_RTT",
			  n->peers[k].name, (unsigned long long)sc->stats.pkts_sent,
			  (unsigned long long)sc->stats.pkts_recv,
			  (unsigned long long)sc->stats.bytes_sent,
			  (unsigned long long)sc->stats.bytes_resent,
			  (unsigned long long)sc->cc.n_lost, (unsigned long long)sc->cc.n_spurious,
			  (unsigned long long)sc->cc.n_random,
			  (unsigned long long)sc->cc.n_recoveries, (unsigned long long)sc->cc.n_pto,
			  (unsigned long long)sc->cc.cwnd, (long long)sc->cc.smoothed_rtt_ms,
			  (long long)(sc->cc.have_rtt ? sc->cc.min_rtt_ms : -1),
			  (unsigned long long)(sc->cc.bw * 8 / 1000), (unsigned)sc->cc.mode,
			  (unsigned long long)sc->cc.n_probe_rtt);
	}
}

void fwd_net_stop(struct fwd_net *n)
{
	log_streams(n);
	for (int i = 0; i < FWD_CONNS_MAX; i++) {
		struct fwd_conn *c = &n->f.conns[i];

		if (c->has_stream)
			s_abort(n, c->link, c->sid, FWD_CODE_TCP_RESET);
		if (c->fd >= 0)
			tcp_close(n, c->fd, 1);
		c->fd = -1;
		c->state = FWD_FREE;
		c->has_stream = 0;
	}
	for (uint32_t k = 0; k < FWD_FORWARDS_MAX; k++) {
		if (n->lfd[k] >= 0)
			close(n->lfd[k]);
		n->lfd[k] = -1;
	}
}
