"""Detached CMS (PKCS #7) SignedData over the manifest bytes (RFC 5652).

The manifest ``DICOMSEA/MANIFEST.JSN`` is signed by the creator's key into
``DICOMSEA/MANIFEST.P7S``: a DER ``ContentInfo`` holding ``SignedData`` (RFC 5652 §5)
with no encapsulated content (detached, eContentType ``id-data``), one ``SignerInfo``
identified by issuer and serial number, signed attributes content-type,
message-digest and signing-time (RFC 5652 §11), SHA-256 as digest algorithm, RSA PKCS #1
v1.5 or ECDSA as signature algorithm, and the signer certificate plus the chain given at
creation time in ``certificates``. This is the same container PS3.15 Annex D uses for
Secure DICOM Files, so standard tools (``openssl cms -verify -binary -content``) can check
it too.

Verifying here proves only that the bytes are intact and which certificate signed them;
whether that certificate is trusted is decided by the caller with a trust context.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from dataclasses import dataclass

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from dicomseal.errors import ConfigurationError
from dicomseal.hazmat.raw import DigestSigner, MacAlgorithm
from dicomseal.media.cms_der import require_der

#: What signs a manifest: a software private key or a token key (PKCS #11).
ManifestKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | DigestSigner

__all__ = ["CmsCheck", "CmsReason", "sign_detached", "verify_detached"]

#: Largest P7S accepted when verifying (a signature with a deep chain is a few KB).
MAX_P7S = 1 << 20


class CmsReason(enum.Enum):
    """Why a detached signature did not check out (stable codes for JSON)."""

    MALFORMED = "manifest-signature-malformed"
    DIGEST_MISMATCH = "manifest-digest-mismatch"
    BAD_SIGNATURE = "manifest-signature-invalid"
    NO_SIGNER_CERT = "manifest-signer-certificate-missing"
    UNSUPPORTED = "manifest-signature-unsupported"


@dataclass(frozen=True)
class CmsCheck:
    """Result of checking a detached signature's integrity (not its trust).

    Attributes
    ----------
    intact
        True when the message digest matches and the signature verifies with the
        embedded signer certificate.
    reason
        Why not, when not intact.
    signer
        The signer certificate (when found).
    certificates
        Every other certificate carried in the SignedData (candidate intermediates).
    signing_time
        The signing-time signed attribute, when present (UTC).
    """

    intact: bool
    reason: CmsReason | None
    signer: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    signing_time: dt.datetime | None


def _hash_for(key: ManifestKey) -> tuple[str, str]:
    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        return "sha256", "rsassa_pkcs1v15"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return "sha256", "sha256_ecdsa"
    raise ConfigurationError("manifest signing needs an RSA or ECDSA private key")


def _sign_attrs(key: ManifestKey, to_sign: bytes) -> bytes:
    """Signature over the DER signed attributes (RFC 5652 §5.4), SHA-256."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(to_sign, padding.PKCS1v15(), hashes.SHA256())
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(to_sign, ec.ECDSA(hashes.SHA256()))
    return key.sign_digest(MacAlgorithm.SHA256, hashlib.sha256(to_sign).digest())


def sign_detached(
    data: bytes,
    key: ManifestKey,
    cert: x509.Certificate,
    chain: tuple[x509.Certificate, ...] = (),
    *,
    signing_time: dt.datetime,
    prehashed: bool = False,
) -> bytes:
    """Sign ``data`` into a DER detached CMS SignedData (RFC 5652 §5).

    Parameters
    ----------
    data
        The exact bytes signed (the manifest file).
    key, cert
        The creator's private key (software, or a token's :class:`DigestSigner`) and
        certificate.
    chain
        Intermediate (and optionally root) certificates to embed for the verifier.
    signing_time
        Value of the signing-time signed attribute (an explicit parameter, never "now").
    prehashed
        ``data`` is already the SHA-256 of the content (streamed by the caller).
    """
    _digest_name, sig_name = _hash_for(key)
    a_cert = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    signed_attrs = cms.CMSAttributes(
        [
            cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
            cms.CMSAttribute(
                {
                    "type": "message_digest",
                    "values": [data if prehashed else hashlib.sha256(data).digest()],
                }
            ),
            cms.CMSAttribute(
                {
                    "type": "signing_time",
                    "values": [cms.Time({"utc_time": signing_time.astimezone(dt.UTC)})],
                }
            ),
        ]
    )
    signature = _sign_attrs(key, signed_attrs.dump())
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                        {"issuer": a_cert.issuer, "serial_number": a_cert.serial_number}
                    )
                }
            ),
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": sig_name}),
            "signature": signature,
        }
    )
    certs = [a_cert] + [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in chain
    ]
    signed_data = cms.SignedData(
        {
            "version": "v1",
            "digest_algorithms": [algos.DigestAlgorithm({"algorithm": "sha256"})],
            "encap_content_info": {"content_type": "data"},
            "certificates": [cms.CertificateChoices({"certificate": c}) for c in certs],
            "signer_infos": [signer_info],
        }
    )
    return bytes(cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump())


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _fail(
    reason: CmsReason,
    signer: x509.Certificate | None = None,
    certs: tuple[x509.Certificate, ...] = (),
) -> CmsCheck:
    return CmsCheck(False, reason, signer, certs, None)


def _require_one_reading(
    info: cms.ContentInfo, sd: cms.SignedData, si: cms.SignerInfo, p7s: bytes
) -> None:
    """Refuse a SignedData that another CMS implementation could read differently.

    The manifest signature is detached (RFC 5652 §5.2: eContent absent, eContentType
    id-data). Its encoding must be DER as a re-encoding gives it back, the SignedData's
    digestAlgorithms must name the SignerInfo's digest algorithm (§5.1), no CRLs or other
    revocation data ride along unchecked, and the only unsigned attribute allowed is a
    signature timestamp (RFC 5126 §6.1.1). Unsigned parts of the structure are then the
    certificate bag and that timestamp, each checked on its own.
    """
    require_der(p7s)
    encap = sd["encap_content_info"]
    if encap["content_type"].native != "data" or encap["content"].native is not None:
        raise ValueError("not a detached signature over id-data")
    digest = si["digest_algorithm"]["algorithm"].native
    if digest not in {a["algorithm"].native for a in sd["digest_algorithms"]}:
        raise ValueError("digestAlgorithms does not name the signer's digest algorithm")
    if sd["crls"].native:
        raise ValueError("unexpected revocation data")
    unsigned = {a["type"].native for a in si["unsigned_attrs"]} if si["unsigned_attrs"] else set()
    if unsigned - {"signature_time_stamp_token"}:  # RFC 5126 §6.1.1, the only one expected
        raise ValueError("unexpected unsigned attributes")


def _parse(p7s: bytes) -> tuple[cms.SignedData, cms.SignerInfo, list[x509.Certificate]]:
    info = cms.ContentInfo.load(p7s, strict=True)
    if info["content_type"].native != "signed_data":
        raise ValueError("not SignedData")
    sd = info["content"]
    signer_infos = sd["signer_infos"]
    if len(signer_infos) != 1:
        raise ValueError("exactly one SignerInfo expected")
    _require_one_reading(info, sd, signer_infos[0], p7s)
    certs: list[x509.Certificate] = []
    for choice in sd["certificates"] or []:
        if choice.name == "certificate":
            certs.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    return sd, signer_infos[0], certs


def _find_signer(si: cms.SignerInfo, certs: list[x509.Certificate]) -> x509.Certificate | None:
    sid = si["sid"]
    if sid.name != "issuer_and_serial_number":
        return None
    serial = sid.chosen["serial_number"].native
    issuer_der = sid.chosen["issuer"].dump()
    for c in certs:
        if c.serial_number == serial and c.issuer.public_bytes() == issuer_der:
            return c
    return None


def verify_detached(data: bytes, p7s: bytes) -> CmsCheck:
    """Check a detached CMS SignedData over ``data``: digest, signature, signer certificate.

    Never raises for bad input: malformed or mismatching signatures come back as a
    :class:`CmsCheck` with ``intact=False`` and a :class:`CmsReason`. A hostile but
    well-formed object (a certificate whose key the crypto library refuses, a lazily
    parsed field that turns out to be bad DER) is ``manifest-signature-malformed``,
    whatever the library raises.
    """
    if len(p7s) > MAX_P7S:
        return _fail(CmsReason.MALFORMED)
    try:
        return _verify(data, p7s)
    except Exception:  # fail closed: any library error on hostile input is "malformed"
        return _fail(CmsReason.MALFORMED)


def _verify(data: bytes, p7s: bytes) -> CmsCheck:
    try:
        _sd, si, certs = _parse(p7s)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        return _fail(CmsReason.MALFORMED)
    cert_tuple = tuple(certs)
    signer = _find_signer(si, certs)
    if signer is None:
        return _fail(CmsReason.NO_SIGNER_CERT, None, cert_tuple)
    # parsed lazily: a bad key or extension in the signer certificate is malformed here,
    # not an exception later in trust validation
    _ = (signer.public_key(), signer.extensions, signer.subject.rfc4514_string())
    others = tuple(c for c in certs if c is not signer)
    try:
        digest_name = si["digest_algorithm"]["algorithm"].native
        attrs = si["signed_attrs"]
        if digest_name not in _HASHES or not attrs:
            return _fail(CmsReason.UNSUPPORTED, signer, others)
        found: dict[str, object] = {}
        for attr in attrs:
            found[attr["type"].native] = attr["values"][0].native
        hasher = hashes.Hash(_HASHES[digest_name]())
        hasher.update(data)
        if found.get("content_type") != "data" or found.get("message_digest") != hasher.finalize():
            return CmsCheck(False, CmsReason.DIGEST_MISMATCH, signer, others, None)
        signed_bytes = attrs.dump(force=True)
        signed_bytes = b"\x31" + signed_bytes[1:]  # [0] IMPLICIT -> SET OF (RFC 5652 §5.4)
        sig = si["signature"].native
        algo = si["signature_algorithm"]["algorithm"].native
        pub = signer.public_key()
        h = _HASHES[digest_name]()
        if isinstance(pub, rsa.RSAPublicKey) and algo in (
            "rsassa_pkcs1v15",
            "sha256_rsa",
            "sha384_rsa",
            "sha512_rsa",
        ):
            pub.verify(sig, signed_bytes, padding.PKCS1v15(), h)
        elif isinstance(pub, ec.EllipticCurvePublicKey) and algo.endswith("ecdsa"):
            pub.verify(sig, signed_bytes, ec.ECDSA(h))
        else:
            return _fail(CmsReason.UNSUPPORTED, signer, others)
    except InvalidSignature:
        return _fail(CmsReason.BAD_SIGNATURE, signer, others)
    except (ValueError, TypeError, KeyError, IndexError):
        return _fail(CmsReason.MALFORMED, signer, others)
    when = found.get("signing_time")
    signing_time = when if isinstance(when, dt.datetime) else None
    return CmsCheck(True, None, signer, others, signing_time)
