"""Unit tests of raw signature primitives (dicomseal.hazmat.raw)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dicomseal.hazmat.raw import MacAlgorithm, new_mac_hash, sign_digest, verify_digest


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("alg", list(MacAlgorithm))
def test_rsa_round_trip_and_tamper(rsa_key: rsa.RSAPrivateKey, alg: MacAlgorithm) -> None:
    h = new_mac_hash(alg)
    h.update(b"MAC stream")
    digest = h.digest()
    sig = sign_digest(rsa_key, alg, digest)
    assert len(sig) == 256
    assert verify_digest(rsa_key.public_key(), alg, digest, sig)
    bad = bytes([digest[0] ^ 1]) + digest[1:]
    assert not verify_digest(rsa_key.public_key(), alg, bad, sig)
    assert not verify_digest(rsa_key.public_key(), alg, digest, sig[:-1] + bytes([sig[-1] ^ 1]))


def test_ripemd160_digest_info_is_rfc_encoding(rsa_key: rsa.RSAPrivateKey) -> None:
    """Decrypting the signature with the public key yields EMSA-PKCS1-v1_5(DigestInfo)."""
    digest = hashlib.new("ripemd160", b"x").digest()
    sig = sign_digest(rsa_key, MacAlgorithm.RIPEMD160, digest)
    pub = rsa_key.public_key().public_numbers()
    em = pow(int.from_bytes(sig, "big"), pub.e, pub.n).to_bytes(256, "big")
    assert em.startswith(b"\x00\x01\xff")
    assert em.endswith(bytes.fromhex("3021300906052b2403020105000414") + digest)


@pytest.mark.parametrize("alg", list(MacAlgorithm))
def test_ecdsa_even_length_pad(alg: MacAlgorithm) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    h = new_mac_hash(alg)
    h.update(b"data")
    digest = h.digest()
    for _ in range(8):  # DER lengths vary; every signature must come out even-length
        sig = sign_digest(key, alg, digest)
        assert len(sig) % 2 == 0
        assert verify_digest(key.public_key(), alg, digest, sig)
    assert not verify_digest(key.public_key(), alg, b"\x00" * len(digest), sig)


def test_from_term_rejects_unknown() -> None:
    from dicomseal.errors import SignatureError

    with pytest.raises(SignatureError):
        MacAlgorithm.from_term("CRC32")
    assert MacAlgorithm.from_term("sha256 ") is MacAlgorithm.SHA256
