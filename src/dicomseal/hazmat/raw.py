"""Raw signature primitives over a MAC digest (PS3.15 §C.1 Base RSA Digital Signature Profile).

The Signature (0400,0120) of DCMTK ``dcmsign`` is a plain RSASSA-PKCS1-v1_5 signature
(RFC 8017 §8.2, EMSA-PKCS1-v1_5 with a DER DigestInfo) over the MAC, not CMS. For DSA /
ECDSA keys (no PS3.15 profile; DCMTK accepts them with profile "none") it is a DER
``ECDSA-Sig-Value``, to which DCMTK appends one zero byte when its length is odd.

``cryptography`` has no RIPEMD-160 hash class, so for RIPEMD-160 the DigestInfo is built
here (OID 1.3.36.3.2.1) and the RSA operation done with the key's numbers. That path is
not constant-time; it exists only for interoperability with DCMTK's default MAC.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from typing import Final, Protocol, runtime_checkable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils

from dicomseal.errors import SignatureError

__all__ = [
    "DigestSigner",
    "MacAlgorithm",
    "PublicKey",
    "digest_info",
    "new_mac_hash",
    "sign_digest",
    "verify_digest",
]

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


class MacAlgorithm(enum.Enum):
    """MAC Algorithm (0400,0015) defined terms (PS3.3 §C.12.1.1.3.1.1)."""

    RIPEMD160 = "RIPEMD160"
    MD5 = "MD5"
    SHA1 = "SHA1"
    SHA256 = "SHA256"
    SHA384 = "SHA384"
    SHA512 = "SHA512"

    @property
    def weak(self) -> bool:
        """MD5, SHA-1 and RIPEMD-160: accepted for interoperability only."""
        return self in (MacAlgorithm.MD5, MacAlgorithm.SHA1, MacAlgorithm.RIPEMD160)

    @classmethod
    def from_term(cls, term: str) -> MacAlgorithm:
        """Parse a defined term, raising :class:`SignatureError` if unknown."""
        try:
            return cls(term.strip().upper())
        except ValueError as exc:
            raise SignatureError(f"unknown MAC algorithm {term!r}") from exc


_HASHLIB_NAME: Final = {
    MacAlgorithm.RIPEMD160: "ripemd160",
    MacAlgorithm.MD5: "md5",
    MacAlgorithm.SHA1: "sha1",
    MacAlgorithm.SHA256: "sha256",
    MacAlgorithm.SHA384: "sha384",
    MacAlgorithm.SHA512: "sha512",
}
_CRYPTO_HASH: Final[dict[MacAlgorithm, type[hashes.HashAlgorithm]]] = {
    MacAlgorithm.MD5: hashes.MD5,
    MacAlgorithm.SHA1: hashes.SHA1,
    MacAlgorithm.SHA256: hashes.SHA256,
    MacAlgorithm.SHA384: hashes.SHA384,
    MacAlgorithm.SHA512: hashes.SHA512,
}
#: DER DigestInfo prefix for RIPEMD-160 (RFC 8017 §9.2 note 1 style; OID 1.3.36.3.2.1).
_RIPEMD160_DIGEST_INFO: Final = bytes.fromhex("3021300906052b2403020105000414")
#: DER DigestInfo prefixes of RFC 8017 §9.2 note 1 (EMSA-PKCS1-v1_5).
_DIGEST_INFO: Final = {
    MacAlgorithm.RIPEMD160: _RIPEMD160_DIGEST_INFO,
    MacAlgorithm.MD5: bytes.fromhex("3020300c06082a864886f70d020505000410"),
    MacAlgorithm.SHA1: bytes.fromhex("3021300906052b0e03021a05000414"),
    MacAlgorithm.SHA256: bytes.fromhex("3031300d060960864801650304020105000420"),
    MacAlgorithm.SHA384: bytes.fromhex("3041300d060960864801650304020205000430"),
    MacAlgorithm.SHA512: bytes.fromhex("3051300d060960864801650304020305000440"),
}


@runtime_checkable
class DigestSigner(Protocol):
    """A private key held elsewhere (a smart card, an HSM) that signs a finished digest.

    ``sign_digest`` returns an RSASSA-PKCS1-v1_5 signature (RFC 8017 §8.2) for an RSA key,
    a DER ``ECDSA-Sig-Value`` (RFC 5480 §2.2.3, without DCMTK's pad byte) for an EC key.
    Software keys (``cryptography`` private keys) are used directly instead.
    """

    def public_key(self) -> PublicKey:
        """The matching public key."""
        ...

    def sign_digest(self, algorithm: MacAlgorithm, digest: bytes) -> bytes:
        """Sign ``digest``, the output of ``algorithm``."""
        ...


def digest_info(algorithm: MacAlgorithm, digest: bytes) -> bytes:
    """DER ``DigestInfo`` of ``digest`` (RFC 8017 §9.2 step 2), for tokens' raw RSA_PKCS."""
    if len(digest) != hashlib.new(_HASHLIB_NAME[algorithm]).digest_size:
        raise SignatureError("digest size does not match the MAC algorithm")
    return _DIGEST_INFO[algorithm] + digest


def new_mac_hash(algorithm: MacAlgorithm) -> hashlib._Hash:
    """A fresh incremental hash object for ``algorithm``."""
    try:
        return hashlib.new(_HASHLIB_NAME[algorithm])
    except ValueError as exc:  # OpenSSL without the legacy provider
        raise SignatureError(f"{algorithm.value} is not available in this OpenSSL") from exc


def _prehashed(algorithm: MacAlgorithm, digest_size: int) -> utils.Prehashed:
    if algorithm is MacAlgorithm.RIPEMD160:
        # ECDSA signs the digest bytes only; any 20-byte hash class carries them.
        return utils.Prehashed(hashes.SHA1())  # noqa: S303 - interop with DCMTK (PS3.15 C.1 MAC list)
    cls = _CRYPTO_HASH[algorithm]
    pre = utils.Prehashed(cls())
    if pre.digest_size != digest_size:
        raise SignatureError("digest size does not match the MAC algorithm")
    return pre


def _emsa_pkcs1_v15(digest_info: bytes, k: int) -> bytes:
    if k < len(digest_info) + 11:
        raise SignatureError("RSA key too small for this MAC algorithm")
    return b"\x00\x01" + b"\xff" * (k - len(digest_info) - 3) + b"\x00" + digest_info


def sign_digest(key: object, algorithm: MacAlgorithm, digest: bytes) -> bytes:
    """Sign a MAC digest with an RSA or EC private key the way DCMTK does.

    Parameters
    ----------
    key
        ``rsa.RSAPrivateKey``, ``ec.EllipticCurvePrivateKey`` or a :class:`DigestSigner`
        (a token key).
    algorithm
        The MAC algorithm that produced ``digest``.
    digest
        The MAC (hash of the MAC byte stream).

    Returns
    -------
    bytes
        The value for Signature (0400,0120).
    """
    if isinstance(key, rsa.RSAPrivateKey):
        if algorithm is MacAlgorithm.RIPEMD160:
            numbers = key.private_numbers()
            n = numbers.public_numbers.n
            k = (n.bit_length() + 7) // 8
            em = int.from_bytes(_emsa_pkcs1_v15(_RIPEMD160_DIGEST_INFO + digest, k), "big")
            return pow(em, numbers.d, n).to_bytes(k, "big")
        return key.sign(digest, padding.PKCS1v15(), _prehashed(algorithm, len(digest)))
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(digest, ec.ECDSA(_prehashed(algorithm, len(digest))))
        return der + b"\x00" if len(der) % 2 else der
    if isinstance(key, DigestSigner):
        signature = key.sign_digest(algorithm, digest)
        if isinstance(key.public_key(), ec.EllipticCurvePublicKey) and len(signature) % 2:
            return signature + b"\x00"
        return signature
    raise SignatureError(f"unsupported key type {type(key).__name__} (RSA or EC only)")


def _strip_ecdsa_pad(signature: bytes) -> bytes:
    """Remove DCMTK's even-length pad byte from a DER ECDSA-Sig-Value, if present."""
    if len(signature) >= 2 and signature[0] == 0x30:
        body = signature[1]
        if body < 0x80:
            total = 2 + body
        elif body == 0x81 and len(signature) >= 3:
            total = 3 + signature[2]
        else:
            return signature
        if len(signature) == total + 1 and signature[-1] == 0:
            return signature[:total]
    return signature


def verify_digest(
    public_key: object, algorithm: MacAlgorithm, digest: bytes, signature: bytes
) -> bool:
    """Whether ``signature`` is a valid signature of ``digest`` by ``public_key``.

    Returns a bool only inside the hazmat layer; callers turn it into a status object.
    """
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            if algorithm is MacAlgorithm.RIPEMD160:
                nums = public_key.public_numbers()
                if nums.n.bit_length() > 16384 or nums.e.bit_length() > 64:
                    return False  # a hostile key must not cost minutes of pow()
                k = (nums.n.bit_length() + 7) // 8
                if len(signature) != k:
                    return False
                s = int.from_bytes(signature, "big")
                if s >= nums.n:
                    return False
                em = pow(s, nums.e, nums.n).to_bytes(k, "big")
                expected = _emsa_pkcs1_v15(_RIPEMD160_DIGEST_INFO + digest, k)
                return hmac.compare_digest(em, expected)
            public_key.verify(
                signature, digest, padding.PKCS1v15(), _prehashed(algorithm, len(digest))
            )
            return True
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(
                _strip_ecdsa_pad(signature), digest, ec.ECDSA(_prehashed(algorithm, len(digest)))
            )
            return True
    except (InvalidSignature, ValueError, SignatureError):
        return False
    return False
