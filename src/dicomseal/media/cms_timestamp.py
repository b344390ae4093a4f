"""A signature timestamp on the manifest CMS (CAdES-T, ETSI EN 319 122-1 §5.3; RFC 5126 §6.1.1).

The manifest signature ``DICOMSEA/MANIFEST.P7S`` gets an RFC 3161 TimeStampToken over the
value of its SignerInfo ``signature`` field, stored as the unsigned attribute
id-aa-signatureTimeStampToken (1.2.840.113549.1.9.16.2.14). The token proves the manifest
signature existed at ``genTime``: it is the best proof of existence that lets the medium
keep verifying after the creator's certificate expired.

Unsigned attributes are outside the signature: anyone may add one. So a token only counts
when it is intact, over this very signature value, and from a trusted TSA; an intact token
from an untrusted TSA proves nothing (as if absent), and a broken one is FAILED.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import cms
from cryptography import x509

from dicomseal.errors import SignatureError
from dicomseal.media.cms_der import require_der
from dicomseal.signature.status import ChainValidation, TrustReason
from dicomseal.signature.timestamp import TimestampStatus, verify_timestamp_token
from dicomseal.signature.trust import TrustContext

__all__ = [
    "ManifestTimestamp",
    "add_signature_timestamp",
    "check_signature_timestamps",
    "signature_value",
    "validate_with_timestamp",
]

_ATTRIBUTE = "signature_time_stamp_token"


@dataclass(frozen=True)
class ManifestTimestamp:
    """The manifest's signature timestamps, checked.

    ``status`` is VALID when at least one token is intact and trusted (``gen_time`` is then
    the earliest such genTime), INVALID when any token is broken, UNTRUSTED when the tokens
    are intact but none chains to a trust anchor.
    """

    status: TimestampStatus
    gen_time: dt.datetime | None
    message: str
    tsa: str = ""


def _signer_info(p7s: bytes) -> tuple[cms.ContentInfo, cms.SignerInfo]:
    info = cms.ContentInfo.load(p7s)
    if info["content_type"].native != "signed_data":
        raise ValueError("not SignedData")
    infos = info["content"]["signer_infos"]
    if len(infos) != 1:
        raise ValueError("exactly one SignerInfo expected")
    return info, infos[0]


def signature_value(p7s: bytes) -> bytes:
    """The SignerInfo signature value: what a CAdES signature timestamp covers."""
    try:
        return bytes(_signer_info(p7s)[1]["signature"].native)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise SignatureError(f"manifest signature malformed: {exc}") from exc


def add_signature_timestamp(p7s: bytes, stamp: Callable[[bytes], bytes]) -> bytes:
    """``p7s`` with a signatureTimeStampToken from ``stamp(signature value)`` added.

    The signed attributes and every certificate stay as they are, so the signature still
    verifies (RFC 5652 §5.3: unsigned attributes are not signed).
    """
    info, signer = _signer_info(p7s)
    token = _der_token(stamp(bytes(signer["signature"].native)))
    attribute = cms.CMSAttribute({"type": _ATTRIBUTE, "values": [token]})
    existing = list(signer["unsigned_attrs"]) if signer["unsigned_attrs"].native else []
    signer["unsigned_attrs"] = cms.CMSAttributes([*existing, attribute])
    stamped = bytes(info.dump())  # re-encodes what changed; force would be exponential
    try:
        require_der(stamped)  # strict on write: what verify will demand (X.690 §10)
    except ValueError as exc:
        raise SignatureError(f"the stamped manifest signature is not DER: {exc}") from exc
    return stamped


def _der_token(raw: bytes) -> cms.ContentInfo:
    """The TSA's token in DER (X.690 §10), as verification demands it.

    OpenSSL's ``ts -reply -chain`` leaves the SET OF certificates unsorted (§11.6); that
    set is outside what the TSA signs (RFC 5652 §5.1), so it is put in DER order here.
    Anything else that is not DER - the signed TSTInfo or the SignerInfo - is refused:
    re-encoding it could break the TSA's signature.
    """
    try:
        token = cms.ContentInfo.load(raw)
        der = token.dump(force=True)
        if der == raw:
            return token
        normal = cms.ContentInfo.load(der)
        for part in ("version", "digest_algorithms", "encap_content_info", "signer_infos"):
            if normal["content"][part].dump() != token["content"][part].dump():
                raise ValueError(f"its {part} is not DER")
    except (ValueError, TypeError, KeyError) as exc:
        raise SignatureError(f"the TSA's timestamp token is malformed: {exc}") from exc
    return normal


def _tokens(p7s: bytes) -> tuple[bytes, list[bytes]]:
    _info, signer = _signer_info(p7s)
    value = bytes(signer["signature"].native)
    tokens: list[bytes] = []
    for attribute in signer["unsigned_attrs"] or []:
        if attribute["type"].native == _ATTRIBUTE:
            tokens.extend(bytes(v.dump()) for v in attribute["values"])
    return value, tokens


def check_signature_timestamps(p7s: bytes, trust: TrustContext) -> ManifestTimestamp | None:
    """Check every signature timestamp of the manifest CMS; None when it carries none.

    Each token must be over the SignerInfo signature value (RFC 3161 message imprint), signed
    by a TSA certificate with the timeStamping usage that chains to a trust anchor at genTime
    (:func:`~dicomseal.signature.timestamp.verify_timestamp_token`).
    """
    try:
        value, tokens = _tokens(p7s)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return ManifestTimestamp(
            TimestampStatus.INVALID, None, f"manifest signature timestamp malformed: {exc}"
        )
    if not tokens:
        return None
    valid: list[tuple[dt.datetime, str]] = []
    untrusted = ""
    for token in tokens:
        outcome = verify_timestamp_token(token, value, trust)
        if outcome.status is TimestampStatus.INVALID:
            return ManifestTimestamp(
                TimestampStatus.INVALID, None, f"manifest signature timestamp: {outcome.message}"
            )
        if outcome.status is TimestampStatus.UNTRUSTED:
            untrusted = outcome.message
        elif outcome.gen_time is not None:
            valid.append((outcome.gen_time, _tsa_name(token)))
    if valid:
        when, tsa = min(valid)
        return ManifestTimestamp(
            TimestampStatus.VALID, when, f"signature timestamp {when.isoformat()}", tsa
        )
    return ManifestTimestamp(TimestampStatus.UNTRUSTED, None, untrusted)


def _tsa_name(token: bytes) -> str:
    """The TSA's certificate subject (the token's signer), for the report."""
    try:
        signed = cms.ContentInfo.load(token)["content"]
        sid = signed["signer_infos"][0]["sid"]
        for choice in signed["certificates"] or []:
            cert = choice.chosen
            if (
                sid.name == "issuer_and_serial_number"
                and cert.serial_number == sid.chosen["serial_number"].native
            ) or (sid.name == "subject_key_identifier" and cert.key_identifier == sid.native):
                names = cert.subject.native
                return str(names.get("common_name") or cert.subject.human_friendly)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        pass
    return ""


def validate_with_timestamp(
    trust: TrustContext,
    signer: x509.Certificate,
    at: dt.datetime,
    carried: tuple[x509.Certificate, ...],
    stamp: ManifestTimestamp | None,
) -> tuple[ChainValidation, dict[str, object]]:
    """The signer's chain at ``at``; at the timestamp's genTime when it expired since.

    ETSI EN 319 102-1 §5.5 (validation with time): a trusted signature timestamp is the best
    proof of existence, so a certificate that expired after genTime does not make the
    signature INDETERMINATE. Returns the chain and the ``timestamp_*`` fields of the check.
    """
    fields: dict[str, object] = {}
    chain = trust.validate(signer, at, carried)
    if stamp is None:
        return chain, fields
    if stamp.status is not TimestampStatus.VALID or stamp.gen_time is None:
        fields["timestamp_note"] = (
            f"the signature timestamp proves nothing here ({stamp.message}); "
            "add its TSA's CA with --trust to use it"
        )
        return chain, fields
    fields["timestamp_time"] = stamp.gen_time
    fields["timestamp_tsa"] = stamp.tsa
    if chain.reason is TrustReason.EXPIRED and stamp.gen_time <= at:
        then = trust.validate(signer, stamp.gen_time, carried)
        if then.trusted:
            fields["timestamp_note"] = (
                f"signed by {stamp.gen_time:%Y-%m-%d}, proven by a timestamp"
                + (f" from {stamp.tsa}" if stamp.tsa else "")
                + "; the certificate has since expired, which is expected"
            )
            return then, fields
    return chain, fields
