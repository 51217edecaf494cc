/* tests/fuzz/session_setup.h - the fixed handshake fuzz_session.c fuzzes against and mkseeds.c writes its seeds from; header-only. */
#ifndef P2PCHAT_FUZZ_SESSION_SETUP_H
#define P2PCHAT_FUZZ_SESSION_SETUP_H

#include <string.h>

#include "protocol.h"
#include "session.h"

/*
 * alice initiates with bob: her INIT, his RESP, each side's peer state
 * after it. Every key is a fixed byte pattern, so the fuzzer and the
 * seeds see the same handshake.
 */
struct fz_session {
	struct session_identity alice, bob;
	struct session_peer alice_peer; /* alice's, her handshake pending: for a RESP */
	struct session_peer bob_peer;   /* bob's, his answer's session as next: for SEALED */
	uint8_t init[SESSION_INIT_LEN];
	uint8_t resp[SESSION_RESP_LEN];
};

/* The SEALED datagram's header, the associated data of every sealed body. */
static const uint8_t fz_sealed_header[PROTO_HEADER_LEN] = { PROTO_MAGIC, PROTO_VERSION, PROTO_SEALED, 0 };

/* Fills z. Returns 0, or -1 when the handshake did not go through (a bug in session.c). */
static inline int fz_session_setup(struct fz_session *z)
{
	uint8_t secret[SESSION_KEY_LEN], e[SESSION_KEY_LEN], stamp[SESSION_TIMESTAMP_LEN];
	struct session_init in;

	memset(z, 0, sizeof(*z));
	memset(secret, 0x11, sizeof(secret));
	session_identity_init(&z->alice, secret);
	memset(secret, 0x22, sizeof(secret));
	session_identity_init(&z->bob, secret);
	session_peer_init(&z->alice_peer, z->bob.pub);
	session_tai64n(stamp, 1700000000000);
	memset(e, 0x33, sizeof(e));
	if (session_initiate(&z->alice_peer, &z->alice, e, stamp, 0x01020304u, 0, z->init,
			     sizeof(z->init)) != SESSION_INIT_LEN ||
	    session_read_init(&z->bob, z->init, sizeof(z->init), &in) != 0)
		return -1;
	session_peer_init(&z->bob_peer, z->alice.pub);
	memset(e, 0x44, sizeof(e));
	if (session_accept(&z->bob_peer, &z->bob, &in, e, 0x05060708u, 0, z->resp,
			   sizeof(z->resp)) != SESSION_RESP_LEN)
		return -1;
	return 0;
}

#endif
