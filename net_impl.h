/* net_impl.h - what net.c shares with net_batch.c: socket addresses to and from endpoints. */
#ifndef NET_IMPL_H
#define NET_IMPL_H

#include <sys/socket.h>

#include "protocol.h"

/* Converts a socket address into an endpoint, unmapping IPv4-mapped IPv6. Returns 0 or -1. */
int net_from_sockaddr(const struct sockaddr_storage *ss, struct proto_addr *out);

/*
 * Converts an endpoint into a socket address for a socket of family
 * sock_family: an IPv4 endpoint on an IPv6 socket becomes IPv4-mapped.
 * Returns the address length, or 0 when the socket cannot reach it.
 */
socklen_t net_to_sockaddr(const struct proto_addr *a, int sock_family, struct sockaddr_storage *ss);

#endif
