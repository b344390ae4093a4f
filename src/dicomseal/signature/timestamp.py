"""RFC 3161 Certified Timestamps on DICOM signatures (PS3.3 §C.12.1.1.3.1.3).

The Certified Timestamp (0400,0310) of type ``CMS_TSP`` is a DER TimeStampToken (CMS
SignedData whose content is a TSTInfo) over the value of Signature (0400,0120). A valid
token from a trusted Time Stamping Authority proves the signature existed at ``genTime``,
which lets a signature outlive its signer certificate (as DCMTK's "extends validity
period of expired signature").
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from dicomseal.errors import SignatureError
from dicomseal.signature.signer_policy import SignerRole

if TYPE_CHECKING:
    from dicomseal.signature.trust import TrustContext

__all__ = ["TimestampOutcome", "TimestampStatus", "verify_timestamp_token"]

_HashClass = type[hashes.SHA1 | hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | hashes.MD5]
_HASHES: dict[str, _HashClass] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "md5": hashes.MD5,
}


class TimestampStatus(enum.Enum):
    """Outcome of checking a Certified Timestamp."""

    VALID = "valid"  # token intact, over this signature, TSA trusted
    INVALID = "invalid"  # token malformed, altered, or over another signature: FAILED
    UNTRUSTED = "untrusted"  # token intact but its TSA does not chain to an anchor


@dataclass(frozen=True)
class TimestampOutcome:
    """Result of checking a Certified Timestamp; ``gen_time`` is set only when VALID."""

    status: TimestampStatus
    gen_time: dt.datetime | None
    message: str


def _verify_cms_signature(cert: x509.Certificate, signer: cms.SignerInfo, data: bytes) -> None:
    algo = signer["digest_algorithm"]["algorithm"].native
    hash_cls = _HASHES.get(algo)
    if hash_cls is None:
        raise ValueError(f"unsupported digest {algo}")
    key = cert.public_key()
    sig = signer["signature"].native
    if isinstance(key, rsa.RSAPublicKey):
        key.verify(sig, data, padding.PKCS1v15(), hash_cls())
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(sig, data, ec.ECDSA(hash_cls()))
    else:
        raise ValueError("unsupported TSA key type")


class _InvalidTokenError(SignatureError):
    """A token that fails one of the checks of :func:`verify_timestamp_token`."""


def _tsa_certificate(sid: Any, certs: list[x509.Certificate]) -> x509.Certificate:
    """The certificate the SignerIdentifier names (RFC 5652 §5.3), the last that matches."""
    tsa_cert = None
    for c in certs:
        if sid.name == "issuer_and_serial_number":
            if c.serial_number == sid.chosen["serial_number"].native:
                tsa_cert = c
        elif (
            c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            == sid.chosen.native
        ):
            tsa_cert = c
    if tsa_cert is None:
        raise _InvalidTokenError("timestamp token carries no TSA certificate")
    return tsa_cert


def _check_token(
    token: bytes, signature_value: bytes
) -> tuple[dt.datetime, x509.Certificate, list[x509.Certificate]]:
    """Every check of the token itself; its genTime, TSA certificate and certificates."""
    signed = cms.ContentInfo.load(token)["content"]
    encap = signed["encap_content_info"]
    if encap["content_type"].native != "tst_info":
        raise _InvalidTokenError("timestamp token content is not TSTInfo")
    tst_bytes = encap["content"].contents
    tst = tsp.TSTInfo.load(tst_bytes)
    imprint = tst["message_imprint"]
    h_name = imprint["hash_algorithm"]["algorithm"].native
    digest = hashlib.new(h_name.replace("_", ""), signature_value).digest()
    if digest != imprint["hashed_message"].native:
        raise _InvalidTokenError("certified timestamp is not over this signature value")
    gen_time: dt.datetime = tst["gen_time"].native
    signer_info = signed["signer_infos"][0]
    certs = [x509.load_der_x509_certificate(c.chosen.dump()) for c in signed["certificates"] or []]
    tsa_cert = _tsa_certificate(signer_info["sid"], certs)
    attrs = signer_info["signed_attrs"]
    md = next((a["values"][0].native for a in attrs if a["type"].native == "message_digest"), None)
    algo = signer_info["digest_algorithm"]["algorithm"].native
    if md != hashlib.new(algo, tst_bytes).digest():
        raise _InvalidTokenError("timestamp token digest does not match")
    _verify_cms_signature(tsa_cert, signer_info, attrs.untag().dump())
    eku = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    if ExtendedKeyUsageOID.TIME_STAMPING not in eku:
        raise _InvalidTokenError("TSA certificate lacks timeStamping usage")
    return gen_time, tsa_cert, certs


def verify_timestamp_token(
    token: bytes, signature_value: bytes, trust: TrustContext
) -> TimestampOutcome:
    """Check an RFC 3161 token over ``signature_value`` (RFC 3161 §2.4.2, RFC 5652 §5.4).

    Checks, in order: the token parses as CMS SignedData with TSTInfo content; the
    message imprint equals the hash of the Signature value; the TSA's CMS signature over
    the signed attributes is valid and the message-digest attribute matches; the TSA
    certificate has the timeStamping EKU and chains to a trust anchor at ``genTime``.
    """
    try:
        gen_time, tsa_cert, certs = _check_token(token, signature_value)
    except _InvalidTokenError as exc:
        return TimestampOutcome(TimestampStatus.INVALID, None, exc.message)
    except (
        ValueError,
        KeyError,
        TypeError,
        IndexError,
        InvalidSignature,
        x509.ExtensionNotFound,
    ) as exc:
        return TimestampOutcome(TimestampStatus.INVALID, None, f"timestamp token invalid: {exc}")
    chain = trust.validate(tsa_cert, gen_time, certs, role=SignerRole.TIMESTAMP)
    if not chain.trusted:
        return TimestampOutcome(
            TimestampStatus.UNTRUSTED, None, f"timestamp authority not trusted: {chain.message}"
        )
    return TimestampOutcome(
        TimestampStatus.VALID, gen_time, f"certified timestamp {gen_time.isoformat()}"
    )
