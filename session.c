/* session.c - peer sessions: Noise_IK_25519_ChaChaPoly_SHA256 (Noise rev. 34), transport seal/open, replay window, WireGuard's timers. */
#include <string.h>

#include "bytes.h"
#include "chachapoly.h"
#include "ct.h"
#include "session.h"
#include "sha256.h"
#include "x25519.h"

/* ---- The Noise core: SymmetricState and CipherState (Noise section 5) ---- */

/*
 * HKDF(ck, ikm) with two outputs (Noise section 4.3): temp_key =
 * HMAC(ck, ikm), output1 = HMAC(temp_key, 0x01), output2 = HMAC(temp_key,
 * output1 || 0x02). That is RFC 5869's extract with ck as the salt and its
 * expand with an empty info, to 64 bytes, so sha256.c's HKDF serves.
 */
static void noise_hkdf(const uint8_t ck[SESSION_HASH_LEN], const uint8_t *ikm, size_t ikm_len,
		       uint8_t out1[SESSION_HASH_LEN], uint8_t out2[SESSION_HASH_LEN])
{
	uint8_t prk[SHA256_LEN], okm[2 * SHA256_LEN];

	sha256_hkdf_extract(prk, ck, SESSION_HASH_LEN, ikm, ikm_len);
	(void)sha256_hkdf_expand(okm, sizeof(okm), prk, NULL, 0); /* 64 <= 255 * 32: never fails */
	memcpy(out1, okm, SHA256_LEN);
	memcpy(out2, okm + SHA256_LEN, SHA256_LEN);
	ct_wipe(prk, sizeof(prk));
	ct_wipe(okm, sizeof(okm));
}

/* MixHash (Noise section 5.2): h = HASH(h || data). */
static void mix_hash(struct session_hs *hs, const uint8_t *data, size_t len)
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, hs->h, SESSION_HASH_LEN);
	sha256_update(&c, data, len);
	sha256_final(&c, hs->h);
}

/* MixKey (Noise section 5.2): ck, temp_k = HKDF(ck, ikm); InitializeKey(temp_k), so n = 0. */
static void mix_key(struct session_hs *hs, const uint8_t *ikm, size_t len)
{
	noise_hkdf(hs->ck, ikm, len, hs->ck, hs->k);
	hs->n = 0;
}

/*
 * MixKey(DH(priv, pub)) (Noise section 7.3's es, ss, ee, se). An all-zero
 * result, from a low-order public key, is refused (RFC 7748 section 6.1;
 * Noise section 4.1 lets a DH refuse an invalid key): a peer could otherwise
 * force a known key.
 */
static int mix_dh(struct session_hs *hs, const uint8_t priv[SESSION_KEY_LEN],
		  const uint8_t pub[SESSION_KEY_LEN])
{
	uint8_t shared[X25519_LEN];
	int rc = x25519(shared, priv, pub);

	if (rc == 0)
		mix_key(hs, shared, sizeof(shared));
	ct_wipe(shared, sizeof(shared));
	return rc == 0 ? 0 : SESSION_E_AUTH;
}

/* The ChaChaPoly nonce of n (Noise section 12.3): 32 bits of zeros, then n little-endian. */
static void nonce_of(uint8_t nonce[CHACHAPOLY_NONCE_LEN], uint64_t n)
{
	memset(nonce, 0, 4);
	ct_put64le(nonce + 4, n);
}

/* EncryptAndHash (Noise section 5.2): out = ENCRYPT(k, n++, h, pt); MixHash(out). */
static void encrypt_and_hash(struct session_hs *hs, const uint8_t *pt, size_t len, uint8_t *out)
{
	uint8_t nonce[CHACHAPOLY_NONCE_LEN];

	nonce_of(nonce, hs->n++);
	chachapoly_seal(out, pt, len, hs->h, SESSION_HASH_LEN, hs->k, nonce);
	mix_hash(hs, out, len + SESSION_TAG_LEN);
}

/* DecryptAndHash (Noise section 5.2): out = DECRYPT(k, n++, h, ct); MixHash(ct). */
static int decrypt_and_hash(struct session_hs *hs, const uint8_t *ct, size_t len, uint8_t *out)
{
	uint8_t nonce[CHACHAPOLY_NONCE_LEN];

	nonce_of(nonce, hs->n++);
	if (chachapoly_open(out, ct, len, hs->h, SESSION_HASH_LEN, hs->k, nonce) < 0)
		return SESSION_E_AUTH;
	mix_hash(hs, ct, len);
	return 0;
}

/* Initialize (Noise section 5.3) for IK, with its pre-message "<- s" (section 7.5). */
void session_hs_init(struct session_hs *hs, int initiator, const void *prologue,
		     size_t prologue_len, const uint8_t s[SESSION_KEY_LEN],
		     const uint8_t s_pub[SESSION_KEY_LEN], const uint8_t rs[SESSION_KEY_LEN])
{
	memset(hs, 0, sizeof(*hs));
	/* InitializeSymmetric: the name is HASHLEN bytes, so h = name, padded by nothing. */
	memcpy(hs->h, SESSION_PROTOCOL_NAME, SESSION_HASH_LEN);
	memcpy(hs->ck, hs->h, SESSION_HASH_LEN);
	mix_hash(hs, prologue, prologue_len);
	memcpy(hs->s, s, SESSION_KEY_LEN);
	memcpy(hs->s_pub, s_pub, SESSION_KEY_LEN);
	hs->initiator = initiator != 0;
	if (initiator) {
		memcpy(hs->rs, rs, SESSION_KEY_LEN);
		mix_hash(hs, hs->rs, SESSION_KEY_LEN);
	} else {
		mix_hash(hs, hs->s_pub, SESSION_KEY_LEN);
	}
}

/*
 * Every WriteMessage and ReadMessage below works on a copy of the state and
 * keeps it only when the whole message went through, so that a message that
 * fails (forged, truncated, for someone else) leaves hs exactly as it was.
 */
static void commit(struct session_hs *hs, struct session_hs *t, int ok)
{
	if (ok)
		memcpy(hs, t, sizeof(*hs));
	ct_wipe(t, sizeof(*t));
}

/* WriteMessage for "-> e, es, s, ss" and the payload (Noise sections 5.3, 7.5). */
long session_hs_write1(struct session_hs *hs, const uint8_t e[SESSION_KEY_LEN],
		       const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap)
{
	const size_t fixed = SESSION_KEY_LEN + SESSION_KEY_LEN + SESSION_TAG_LEN + SESSION_TAG_LEN;
	struct session_hs t;
	int rc;

	if (!hs->initiator || hs->step != 0)
		return SESSION_E_STATE;
	if (cap < fixed || payload_len > cap - fixed)
		return SESSION_E_LEN;
	memcpy(&t, hs, sizeof(t));
	memcpy(t.e, e, SESSION_KEY_LEN);
	x25519_public(out, t.e);                                   /* e */
	mix_hash(&t, out, SESSION_KEY_LEN);
	rc = mix_dh(&t, t.e, t.rs);                                /* es */
	if (rc == 0) {
		encrypt_and_hash(&t, t.s_pub, SESSION_KEY_LEN, out + SESSION_KEY_LEN); /* s */
		rc = mix_dh(&t, t.s, t.rs);                        /* ss */
	}
	if (rc == 0) {
		encrypt_and_hash(&t, payload, payload_len, out + fixed - SESSION_TAG_LEN);
		t.step = 1;
	}
	commit(hs, &t, rc == 0);
	return rc == 0 ? (long)(fixed + payload_len) : rc;
}

/* ReadMessage for "-> e, es, s, ss" and the payload. */
long session_hs_read1(struct session_hs *hs, const uint8_t *msg, size_t len,
		      uint8_t *payload, size_t cap)
{
	const size_t fixed = SESSION_KEY_LEN + SESSION_KEY_LEN + SESSION_TAG_LEN + SESSION_TAG_LEN;
	struct session_hs t;
	size_t plen;
	int rc;

	if (hs->initiator || hs->step != 0)
		return SESSION_E_STATE;
	if (len < fixed || len - fixed > cap)
		return SESSION_E_LEN;
	plen = len - fixed;
	memcpy(&t, hs, sizeof(t));
	memcpy(t.re, msg, SESSION_KEY_LEN);                        /* e */
	mix_hash(&t, t.re, SESSION_KEY_LEN);
	rc = mix_dh(&t, t.s, t.re);                                /* es */
	if (rc == 0)                                               /* s */
		rc = decrypt_and_hash(&t, msg + SESSION_KEY_LEN, SESSION_KEY_LEN + SESSION_TAG_LEN,
				      t.rs);
	if (rc == 0)
		rc = mix_dh(&t, t.s, t.rs);                        /* ss */
	if (rc == 0)
		rc = decrypt_and_hash(&t, msg + fixed - SESSION_TAG_LEN, plen + SESSION_TAG_LEN,
				      payload);
	if (rc == 0)
		t.step = 1;
	commit(hs, &t, rc == 0);
	return rc == 0 ? (long)plen : rc;
}

/* WriteMessage for "<- e, ee, se" and the payload. */
long session_hs_write2(struct session_hs *hs, const uint8_t e[SESSION_KEY_LEN],
		       const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap)
{
	const size_t fixed = SESSION_KEY_LEN + SESSION_TAG_LEN;
	struct session_hs t;
	int rc;

	if (hs->initiator || hs->step != 1)
		return SESSION_E_STATE;
	if (cap < fixed || payload_len > cap - fixed)
		return SESSION_E_LEN;
	memcpy(&t, hs, sizeof(t));
	memcpy(t.e, e, SESSION_KEY_LEN);
	x25519_public(out, t.e);                                   /* e */
	mix_hash(&t, out, SESSION_KEY_LEN);
	rc = mix_dh(&t, t.e, t.re);                                /* ee */
	if (rc == 0)
		rc = mix_dh(&t, t.e, t.rs);                        /* se, from the responder's side */
	if (rc == 0) {
		encrypt_and_hash(&t, payload, payload_len, out + SESSION_KEY_LEN);
		t.step = 2;
	}
	commit(hs, &t, rc == 0);
	return rc == 0 ? (long)(fixed + payload_len) : rc;
}

/* ReadMessage for "<- e, ee, se" and the payload. */
long session_hs_read2(struct session_hs *hs, const uint8_t *msg, size_t len,
		      uint8_t *payload, size_t cap)
{
	const size_t fixed = SESSION_KEY_LEN + SESSION_TAG_LEN;
	struct session_hs t;
	size_t plen;
	int rc;

	if (!hs->initiator || hs->step != 1)
		return SESSION_E_STATE;
	if (len < fixed || len - fixed > cap)
		return SESSION_E_LEN;
	plen = len - fixed;
	memcpy(&t, hs, sizeof(t));
	memcpy(t.re, msg, SESSION_KEY_LEN);                        /* e */
	mix_hash(&t, t.re, SESSION_KEY_LEN);
	rc = mix_dh(&t, t.e, t.re);                                /* ee */
	if (rc == 0)
		rc = mix_dh(&t, t.s, t.re);                        /* se, from the initiator's side */
	if (rc == 0)
		rc = decrypt_and_hash(&t, msg + SESSION_KEY_LEN, plen + SESSION_TAG_LEN, payload);
	if (rc == 0)
		t.step = 2;
	commit(hs, &t, rc == 0);
	return rc == 0 ? (long)plen : rc;
}

/* Split (Noise section 5.2): k1, k2 = HKDF(ck, empty); k1 carries initiator to responder. */
int session_hs_split(struct session_hs *hs, uint8_t send[SESSION_KEY_LEN],
		     uint8_t recv[SESSION_KEY_LEN])
{
	if (hs->step != 2)
		return SESSION_E_STATE;
	if (hs->initiator)
		noise_hkdf(hs->ck, NULL, 0, send, recv);
	else
		noise_hkdf(hs->ck, NULL, 0, recv, send);
	ct_wipe(hs, sizeof(*hs));
	return 0;
}

/* ---- Identities and timestamps ---- */

void session_identity_init(struct session_identity *id, const uint8_t priv[SESSION_KEY_LEN])
{
	memcpy(id->priv, priv, SESSION_KEY_LEN);
	x25519_public(id->pub, id->priv);
}

/* TAI64N (WireGuard section 5.4.2): the label 2^62 + 10 + seconds, as WireGuard writes it. */
void session_tai64n(uint8_t out[SESSION_TIMESTAMP_LEN], uint64_t unix_ms)
{
	bytes_put64(out, UINT64_C(0x400000000000000a) + unix_ms / 1000);
	bytes_put32(out + 8, (uint32_t)(unix_ms % 1000) * 1000000u);
}

/* ---- Transport: seal, open, the replay window ---- */

/*
 * Takes counter c into the window (RFC 6479's ring of words, no shifting):
 * refuses one at or past REJECT_AFTER_MESSAGES, one more than
 * SESSION_REPLAY_WINDOW behind the greatest, and one already taken. A
 * greater counter moves the window, clearing the words it enters (all of
 * them after a jump of 2048 or more). Returns 0 or SESSION_E_REPLAY; r
 * changes only on 0.
 */
static int replay_take(struct session_replay *r, uint64_t c)
{
	uint64_t *word, bit;

	if (c >= SESSION_REJECT_AFTER_MESSAGES)
		return SESSION_E_REPLAY;
	if (c > r->greatest) {
		uint64_t from = r->greatest >> 6, words = (c >> 6) - from, i;

		if (words > SESSION_REPLAY_WORDS)
			words = SESSION_REPLAY_WORDS;
		for (i = 1; i <= words; i++)
			r->bits[(from + i) % SESSION_REPLAY_WORDS] = 0;
		r->greatest = c;
	} else if (r->greatest - c >= SESSION_REPLAY_WINDOW) {
		return SESSION_E_REPLAY;
	}
	word = &r->bits[(c >> 6) % SESSION_REPLAY_WORDS];
	bit = UINT64_C(1) << (c & 63);
	if (*word & bit)
		return SESSION_E_REPLAY; /* only for c <= greatest: nothing was changed */
	*word |= bit;
	return 0;
}

unsigned session_timers(const struct session *s, int64_t now_ms)
{
	unsigned due = 0;
	int64_t age;

	if (!s->valid)
		return SESSION_DUE_REKEY | SESSION_DUE_REJECT;
	age = now_ms - s->created_ms;
	if (age >= SESSION_REJECT_AFTER_TIME_MS || s->send_counter >= SESSION_REJECT_AFTER_MESSAGES)
		due |= SESSION_DUE_REJECT;
	if ((s->initiator && age >= SESSION_REKEY_AFTER_TIME_MS) ||
	    age >= SESSION_REKEY_LAST_RESORT_MS ||
	    s->send_counter >= SESSION_REKEY_AFTER_MESSAGES)
		due |= SESSION_DUE_REKEY;
	return due;
}

long session_seal(struct session *s, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
		  size_t pt_len, int64_t now_ms, uint8_t *out, size_t cap)
{
	uint8_t nonce[CHACHAPOLY_NONCE_LEN];

	if (!s->valid)
		return SESSION_E_STATE;
	if (session_timers(s, now_ms) & SESSION_DUE_REJECT)
		return SESSION_E_EXPIRED;
	if (cap < SESSION_SEALED_OVERHEAD || pt_len > cap - SESSION_SEALED_OVERHEAD)
		return SESSION_E_LEN;
	bytes_put32(out, s->remote_index);
	bytes_put64(out + SESSION_INDEX_LEN, s->send_counter);
	nonce_of(nonce, s->send_counter++);
	chachapoly_seal(out + SESSION_SEALED_HEADER_LEN, pt, pt_len, ad, ad_len, s->send_key, nonce);
	return (long)(pt_len + SESSION_SEALED_OVERHEAD);
}

long session_open(struct session *s, const uint8_t *ad, size_t ad_len, const uint8_t *in,
		  size_t in_len, int64_t now_ms, uint8_t *out, size_t cap)
{
	uint8_t nonce[CHACHAPOLY_NONCE_LEN];
	uint64_t counter;
	size_t pt_len;

	if (in_len < SESSION_SEALED_OVERHEAD || in_len - SESSION_SEALED_OVERHEAD > cap)
		return SESSION_E_LEN;
	if (!s->valid || bytes_get32(in) != s->local_index)
		return SESSION_E_STATE;
	if (now_ms - s->created_ms >= SESSION_REJECT_AFTER_TIME_MS)
		return SESSION_E_EXPIRED;
	pt_len = in_len - SESSION_SEALED_OVERHEAD;
	counter = bytes_get64(in + SESSION_INDEX_LEN);
	nonce_of(nonce, counter);
	if (chachapoly_open(out, in + SESSION_SEALED_HEADER_LEN, in_len - SESSION_SEALED_HEADER_LEN,
			    ad, ad_len, s->recv_key, nonce) < 0)
		return SESSION_E_AUTH;
	/* Only now, with the tag good, may the counter count (a forgery must not move the window). */
	if (replay_take(&s->replay, counter) < 0) {
		ct_wipe(out, pt_len);
		return SESSION_E_REPLAY;
	}
	return (long)pt_len;
}

void session_wipe(struct session *s)
{
	ct_wipe(s, sizeof(*s));
}

int session_index(const uint8_t *msg, size_t len, uint32_t *index)
{
	if (len < SESSION_INDEX_LEN)
		return SESSION_E_LEN;
	*index = bytes_get32(msg);
	return 0;
}

/* ---- Peers: the handshake in p2pchat's framing, and the three sessions ---- */

void session_peer_init(struct session_peer *p, const uint8_t remote_static[SESSION_KEY_LEN])
{
	memset(p, 0, sizeof(*p));
	memcpy(p->remote_static, remote_static, SESSION_KEY_LEN);
}

/* Drops our pending handshake, wiping its keys. */
static void drop_pending(struct session_peer *p)
{
	ct_wipe(&p->hs, sizeof(p->hs));
	p->hs_pending = 0;
	p->hs_index = 0;
	p->hs_sent_ms = 0;
	p->hs_first_ms = 0;
}

void session_peer_wipe(struct session_peer *p)
{
	drop_pending(p);
	p->tie_until_ms = 0;
	session_wipe(&p->current);
	session_wipe(&p->previous);
	session_wipe(&p->next);
}

/* Moves *from into *to (whatever was in *to is wiped first) and leaves *from empty. */
static void session_move(struct session *to, struct session *from)
{
	session_wipe(to);
	memcpy(to, from, sizeof(*to));
	session_wipe(from);
}

/* The new session of a completed handshake hs (wiped), in *s. */
static void session_from(struct session *s, struct session_hs *hs, uint32_t local_index,
			 uint32_t remote_index, int64_t now_ms)
{
	memset(s, 0, sizeof(*s));
	s->initiator = hs->initiator;
	(void)session_hs_split(hs, s->send_key, s->recv_key); /* step 2 here: never fails */
	s->local_index = local_index;
	s->remote_index = remote_index;
	s->created_ms = now_ms;
	s->valid = 1;
}

static const uint8_t prologue[] = SESSION_PROLOGUE;

long session_initiate(struct session_peer *p, const struct session_identity *id,
		      const uint8_t e[SESSION_KEY_LEN],
		      const uint8_t timestamp[SESSION_TIMESTAMP_LEN], uint32_t local_index,
		      int64_t now_ms, uint8_t *out, size_t cap)
{
	uint8_t payload[SESSION_TIMESTAMP_LEN + SESSION_INDEX_LEN];
	struct session_hs hs;
	long n;

	if (cap < SESSION_INIT_LEN)
		return SESSION_E_LEN;
	memcpy(payload, timestamp, SESSION_TIMESTAMP_LEN);
	bytes_put32(payload + SESSION_TIMESTAMP_LEN, local_index);
	session_hs_init(&hs, 1, prologue, sizeof(prologue) - 1, id->priv, id->pub, p->remote_static);
	n = session_hs_write1(&hs, e, payload, sizeof(payload), out, cap);
	if (n >= 0) {
		if (!p->hs_pending)
			p->hs_first_ms = now_ms;
		memcpy(&p->hs, &hs, sizeof(hs));
		p->hs_index = local_index;
		p->hs_sent_ms = now_ms;
		p->hs_pending = 1;
	}
	ct_wipe(&hs, sizeof(hs));
	return n;
}

int session_read_init(const struct session_identity *id, const uint8_t *msg, size_t len,
		      struct session_init *in)
{
	uint8_t payload[SESSION_TIMESTAMP_LEN + SESSION_INDEX_LEN];
	long n;

	memset(in, 0, sizeof(*in));
	if (len != SESSION_INIT_LEN)
		return SESSION_E_LEN;
	session_hs_init(&in->hs, 0, prologue, sizeof(prologue) - 1, id->priv, id->pub, NULL);
	n = session_hs_read1(&in->hs, msg, len, payload, sizeof(payload));
	if (n != (long)sizeof(payload)) {
		ct_wipe(in, sizeof(*in));
		return n < 0 ? (int)n : SESSION_E_LEN;
	}
	memcpy(in->remote_static, in->hs.rs, SESSION_KEY_LEN);
	memcpy(in->timestamp, payload, SESSION_TIMESTAMP_LEN);
	in->remote_index = bytes_get32(payload + SESSION_TIMESTAMP_LEN);
	return 0;
}

/* 1 when our own handshake made p's current session so lately that a message 1 may have crossed it. */
static int just_initiated(const struct session_peer *p, int64_t now_ms)
{
	return p->current.valid && p->current.initiator && now_ms < p->tie_until_ms;
}

long session_accept(struct session_peer *p, const struct session_identity *id,
		    struct session_init *in, const uint8_t e[SESSION_KEY_LEN],
		    uint32_t local_index, int64_t now_ms, uint8_t *out, size_t cap)
{
	uint8_t payload[SESSION_INDEX_LEN];
	struct session fresh;
	long rc;

	if (cap < SESSION_RESP_LEN)
		rc = SESSION_E_LEN;
	else if (in->hs.step != 1 || in->hs.initiator)
		rc = SESSION_E_STATE;
	else if (memcmp(in->remote_static, p->remote_static, SESSION_KEY_LEN) != 0)
		rc = SESSION_E_KEY;
	/* WireGuard paper 5.4.2: a message 1 counts only with a timestamp greater than the last. */
	else if (memcmp(in->timestamp, p->last_timestamp, SESSION_TIMESTAMP_LEN) <= 0)
		rc = SESSION_E_REPLAY;
	/*
	 * Both initiated: the greater static key keeps its own handshake (see
	 * session.h), also when its RESP came first and the other's message 1,
	 * sent before ours reached it, arrives after: that one is answered by
	 * nobody, or it would leave a session the other side never takes.
	 */
	else if (memcmp(id->pub, p->remote_static, SESSION_KEY_LEN) > 0 &&
		 (p->hs_pending || just_initiated(p, now_ms))) {
		rc = SESSION_E_TIE;
		if (memcmp(in->timestamp, p->tie_timestamp, SESSION_TIMESTAMP_LEN) > 0)
			memcpy(p->tie_timestamp, in->timestamp, SESSION_TIMESTAMP_LEN);
	}
	/*
	 * A message 1 that lost a tie, again after it: its sender dropped that
	 * handshake when it answered ours, so an answer could never be
	 * confirmed. Only a replay sends it now (WireGuard's rule again: every
	 * authenticated message 1's timestamp is spent).
	 */
	else if (memcmp(in->timestamp, p->tie_timestamp, SESSION_TIMESTAMP_LEN) <= 0)
		rc = SESSION_E_REPLAY;
	else {
		bytes_put32(payload, local_index);
		bytes_put32(out, in->remote_index);
		rc = session_hs_write2(&in->hs, e, payload, sizeof(payload), out + SESSION_INDEX_LEN,
				       cap - SESSION_INDEX_LEN);
	}
	if (rc >= 0) {
		session_from(&fresh, &in->hs, local_index, in->remote_index, now_ms);
		session_move(&p->next, &fresh);
		if (p->hs_pending)
			drop_pending(p); /* we lost the tie: answer theirs, forget ours */
		memcpy(p->last_timestamp, in->timestamp, SESSION_TIMESTAMP_LEN);
		rc = SESSION_RESP_LEN;
	}
	ct_wipe(in, sizeof(*in));
	return rc;
}

int session_read_resp(struct session_peer *p, const uint8_t *msg, size_t len, int64_t now_ms)
{
	uint8_t payload[SESSION_INDEX_LEN];
	struct session fresh;
	long n;

	if (len != SESSION_RESP_LEN)
		return SESSION_E_LEN;
	if (!p->hs_pending || bytes_get32(msg) != p->hs_index)
		return SESSION_E_STATE;
	n = session_hs_read2(&p->hs, msg + SESSION_INDEX_LEN, len - SESSION_INDEX_LEN, payload,
			     sizeof(payload));
	if (n < 0)
		return (int)n;
	session_from(&fresh, &p->hs, p->hs_index, bytes_get32(payload), now_ms);
	/*
	 * A message 1 the peer sent before ours reached it comes about as late
	 * as this RESP, later by jitter: as long again as our handshake took,
	 * at most REKEY_TIMEOUT, covers it, and a peer that restarts later is
	 * answered.
	 */
	p->tie_until_ms = now_ms + (now_ms - p->hs_sent_ms < SESSION_REKEY_TIMEOUT_MS ?
				    now_ms - p->hs_sent_ms : SESSION_REKEY_TIMEOUT_MS);
	drop_pending(p);
	session_move(&p->previous, &p->current);
	session_move(&p->current, &fresh);
	session_wipe(&p->next); /* our own, newer handshake supersedes an unconfirmed one */
	return 0;
}

long session_peer_seal(struct session_peer *p, const uint8_t *ad, size_t ad_len,
		       const uint8_t *pt, size_t pt_len, int64_t now_ms, uint8_t *out, size_t cap)
{
	return session_seal(&p->current, ad, ad_len, pt, pt_len, now_ms, out, cap);
}

long session_peer_open(struct session_peer *p, const uint8_t *ad, size_t ad_len,
		       const uint8_t *in, size_t in_len, int64_t now_ms, uint8_t *out, size_t cap)
{
	struct session *all[3] = { &p->current, &p->previous, &p->next }, *s = NULL;
	uint32_t index;
	long n;
	int i;

	if (session_index(in, in_len, &index) < 0)
		return SESSION_E_LEN;
	for (i = 0; i < 3 && s == NULL; i++)
		if (all[i]->valid && all[i]->local_index == index)
			s = all[i];
	if (s == NULL)
		return SESSION_E_STATE;
	n = session_open(s, ad, ad_len, in, in_len, now_ms, out, cap);
	if (n >= 0 && s == &p->next) {
		/* The initiator's first datagram under the new keys: it has them (WireGuard 5.4). */
		session_move(&p->previous, &p->current);
		session_move(&p->current, &p->next);
	}
	return n;
}

/* The earlier of *t and v. */
static void earliest(int64_t *t, int64_t v)
{
	if (v < *t)
		*t = v;
}

unsigned session_peer_tick(struct session_peer *p, int64_t now_ms, int64_t *next_ms)
{
	struct session *all[3] = { &p->current, &p->previous, &p->next };
	unsigned todo = 0;
	int64_t next = INT64_MAX;
	int i;

	for (i = 0; i < 3; i++) {
		if (!all[i]->valid)
			continue;
		if (session_timers(all[i], now_ms) & SESSION_DUE_REJECT)
			session_wipe(all[i]);
		else
			earliest(&next, all[i]->created_ms + SESSION_REJECT_AFTER_TIME_MS);
	}
	if (p->hs_pending) {
		if (now_ms - p->hs_first_ms >= SESSION_REKEY_ATTEMPT_TIME_MS) {
			drop_pending(p);
			todo |= SESSION_TODO_GAVE_UP;
		} else if (now_ms - p->hs_sent_ms >= SESSION_REKEY_TIMEOUT_MS) {
			todo |= SESSION_TODO_INITIATE;
		} else {
			earliest(&next, p->hs_sent_ms + SESSION_REKEY_TIMEOUT_MS);
		}
	} else if (p->current.valid) {
		if (session_timers(&p->current, now_ms) & SESSION_DUE_REKEY)
			todo |= SESSION_TODO_INITIATE;
		else
			earliest(&next, p->current.created_ms + (p->current.initiator ?
				 SESSION_REKEY_AFTER_TIME_MS : SESSION_REKEY_LAST_RESORT_MS));
	}
	if (todo & SESSION_TODO_INITIATE)
		next = now_ms;
	*next_ms = next;
	return todo;
}
