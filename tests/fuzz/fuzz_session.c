/* tests/fuzz/fuzz_session.c - libFuzzer harness for session.c's decoders: session_read_init, session_read_resp, session_open; a refusal changes nothing. */
#include <string.h>

#include "fuzz.h"
#include "session_setup.h"

/*
 * The first byte picks the decoder, the rest is its message:
 *   0  a HANDSHAKE INIT to bob (session_read_init)
 *   1  a HANDSHAKE RESP to alice's pending handshake (session_read_resp)
 *   2  a SEALED body to bob, under the session his RESP made (session_peer_open)
 * whatever else the byte says, 2. Every refusal is one of session.h's
 * errors and leaves the peer exactly as it was (byte for byte); a body
 * that opens is taken once: the same again is a replay.
 */

static struct fz_session z;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[PROTO_MAX_DATAGRAM];
	struct session_peer before, p;
	struct session_init in;
	long r;

	if (!ready) {
		FUZZ_CHECK(fz_session_setup(&z) == 0);
		ready = 1;
	}
	if (size == 0)
		return 0;
	switch (data[0]) {
	case 0:
		r = session_read_init(&z.bob, data + 1, size - 1, &in);
		FUZZ_CHECK(r == 0 || r == SESSION_E_LEN || r == SESSION_E_AUTH);
		if (r == 0) /* only alice can make one that opens: her key is in it */
			FUZZ_CHECK(memcmp(in.remote_static, z.alice.pub, SESSION_KEY_LEN) == 0);
		return 0;
	case 1:
		p = z.alice_peer;
		r = session_read_resp(&p, data + 1, size - 1, 0);
		FUZZ_CHECK(r == 0 || r == SESSION_E_LEN || r == SESSION_E_STATE || r == SESSION_E_AUTH);
		if (r < 0)
			FUZZ_CHECK(memcmp(&p, &z.alice_peer, sizeof(p)) == 0);
		else
			FUZZ_CHECK(p.current.valid && !p.hs_pending);
		return 0;
	default:
		p = z.bob_peer;
		before = p;
		r = session_peer_open(&p, fz_sealed_header, sizeof(fz_sealed_header), data + 1,
				      size - 1, 1000, out, sizeof(out));
		FUZZ_CHECK(r >= SESSION_E_EXPIRED);
		if (r < 0) {
			FUZZ_CHECK(memcmp(&p, &before, sizeof(p)) == 0);
			return 0;
		}
		FUZZ_CHECK((size_t)r == size - 1 - SESSION_SEALED_OVERHEAD);
		before = p;
		FUZZ_CHECK(session_peer_open(&p, fz_sealed_header, sizeof(fz_sealed_header),
					     data + 1, size - 1, 1000, out, sizeof(out)) ==
			   SESSION_E_REPLAY);
		FUZZ_CHECK(memcmp(&p, &before, sizeof(p)) == 0);
		return 0;
	}
}
