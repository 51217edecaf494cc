#!/usr/bin/python3
# tests/noise_ref.py - an independent reference of session.c: Noise_IK_25519_ChaChaPoly_SHA256 and p2pchat's framing, on python3-cryptography.
#
# Written from the Noise specification (revision 34, sections 4 to 7) and session.h's drawings,
# not from session.c. It plays both sides of one handshake with fixed keys and prints the
# transcript, one "name hex" line each, which tests/test_session.c compares byte for byte with
# its own. It also runs the cacophony vector for Noise_IK_25519_ChaChaPoly_SHA256.
# Run it with Debian's /usr/bin/python3 (python3-cryptography), as the test does.
import sys

from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

PROTOCOL_NAME = b"Noise_IK_25519_ChaChaPoly_SHA256"
PROLOGUE = b"p2pchat session v2"


def sha256(data):
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    return h.finalize()


def hmac_sha256(key, data):
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def hkdf2(chaining_key, ikm):
    """Noise section 4.3, two outputs."""
    temp = hmac_sha256(chaining_key, ikm)
    out1 = hmac_sha256(temp, b"\x01")
    out2 = hmac_sha256(temp, out1 + b"\x02")
    return out1, out2


def public(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def dh(priv, pub):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))


def nonce(n):
    """Noise section 12.3: 32 bits of zeros, then the 64-bit counter little-endian."""
    return b"\x00" * 4 + n.to_bytes(8, "little")


class SymmetricState:
    """Noise section 5.2, with its CipherState folded in."""

    def __init__(self, name, prologue):
        self.h = name.ljust(32, b"\x00") if len(name) <= 32 else sha256(name)
        self.ck = self.h
        self.k = None
        self.n = 0
        self.mix_hash(prologue)

    def mix_hash(self, data):
        self.h = sha256(self.h + data)

    def mix_key(self, ikm):
        self.ck, self.k = hkdf2(self.ck, ikm)
        self.n = 0

    def encrypt_and_hash(self, plaintext):
        ct = ChaCha20Poly1305(self.k).encrypt(nonce(self.n), plaintext, self.h)
        self.n += 1
        self.mix_hash(ct)
        return ct

    def decrypt_and_hash(self, ct):
        pt = ChaCha20Poly1305(self.k).decrypt(nonce(self.n), ct, self.h)
        self.n += 1
        self.mix_hash(ct)
        return pt

    def split(self):
        return hkdf2(self.ck, b"")


def handshake(prologue, i_s, i_e, r_s, r_e, payload1, payload2):
    """Both sides of IK (section 7.5). Returns message 1, message 2, and the two transport keys."""
    r_s_pub = public(r_s)
    ini = SymmetricState(PROTOCOL_NAME, prologue)
    res = SymmetricState(PROTOCOL_NAME, prologue)
    ini.mix_hash(r_s_pub)  # <- s
    res.mix_hash(r_s_pub)

    # -> e, es, s, ss
    e_pub = public(i_e)
    ini.mix_hash(e_pub)
    ini.mix_key(dh(i_e, r_s_pub))
    enc_s = ini.encrypt_and_hash(public(i_s))
    ini.mix_key(dh(i_s, r_s_pub))
    msg1 = e_pub + enc_s + ini.encrypt_and_hash(payload1)

    re = msg1[:32]
    res.mix_hash(re)
    res.mix_key(dh(r_s, re))
    rs = res.decrypt_and_hash(msg1[32:80])
    res.mix_key(dh(r_s, rs))
    assert res.decrypt_and_hash(msg1[80:]) == payload1
    assert rs == public(i_s)

    # <- e, ee, se
    e2_pub = public(r_e)
    res.mix_hash(e2_pub)
    res.mix_key(dh(r_e, re))
    res.mix_key(dh(r_e, rs))
    msg2 = e2_pub + res.encrypt_and_hash(payload2)

    ini.mix_hash(msg2[:32])
    ini.mix_key(dh(i_e, msg2[:32]))
    ini.mix_key(dh(i_s, msg2[:32]))
    assert ini.decrypt_and_hash(msg2[32:]) == payload2
    assert ini.h == res.h
    i2r, r2i = ini.split()
    assert (i2r, r2i) == res.split()
    return msg1, msg2, i2r, r2i


def tai64n(unix_ms):
    return (0x400000000000000A + unix_ms // 1000).to_bytes(8, "big") + \
        ((unix_ms % 1000) * 1000000).to_bytes(4, "big")


def sealed(key, receiver_index, counter, header, plaintext):
    """session.h's SEALED body: receiver index, counter (big-endian), ciphertext and tag."""
    ct = ChaCha20Poly1305(key).encrypt(nonce(counter), plaintext, header)
    return receiver_index.to_bytes(4, "big") + counter.to_bytes(8, "big") + ct


def p2pchat_transcript(out):
    i_s = bytes(range(1, 33))
    r_s = bytes(range(33, 65))
    i_e = bytes(range(65, 97))
    r_e = bytes(range(97, 129))
    i_index, r_index = 0x11223344, 0x55667788
    header = bytes([0x50, 2, 18, 0])
    ts = tai64n(1700000000123)
    body1, body2, i2r, r2i = handshake(PROLOGUE, i_s, i_e, r_s, r_e,
                                       ts + i_index.to_bytes(4, "big"), r_index.to_bytes(4, "big"))
    out.append(("msg1", body1))
    out.append(("msg2", i_index.to_bytes(4, "big") + body2))
    out.append(("i2r0", sealed(i2r, r_index, 0, header, b"hello bob")))
    out.append(("r2i0", sealed(r2i, i_index, 0, header, b"hello alice")))
    out.append(("i2r1", sealed(i2r, r_index, 1, header, b"")))


def cacophony(out):
    """vectors/cacophony.txt, Noise_IK_25519_ChaChaPoly_SHA256: the same keys and payloads."""
    h = bytes.fromhex
    i_s = h("e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1")
    i_e = h("893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a")
    r_s = h("4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893")
    r_e = h("bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b")
    payloads = [b"Ludwig von Mises", b"Murray Rothbard", b"F. A. Hayek", b"Carl Menger",
                b"Jean-Baptiste Say", b"Eugen B\xf6hm von Bawerk"]
    msg1, msg2, i2r, r2i = handshake(b"John Galt", i_s, i_e, r_s, r_e, payloads[0], payloads[1])
    out.append(("cac0", msg1))
    out.append(("cac1", msg2))
    for i, p in enumerate(payloads[2:]):
        key = i2r if i % 2 == 0 else r2i
        out.append(("cac%d" % (i + 2), ChaCha20Poly1305(key).encrypt(nonce(i // 2), p, b"")))


def main():
    out = []
    p2pchat_transcript(out)
    cacophony(out)
    for name, data in out:
        sys.stdout.write("%s %s\n" % (name, data.hex()))


if __name__ == "__main__":
    main()
