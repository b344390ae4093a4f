"""The manifest's signature and trust: ``DICOMSEA/MANIFEST.JSN`` and its detached CMS.

The signature (RFC 5652 detached SignedData, :mod:`~dicomseal.media.cms`) must be intact
and its signer trusted (RFC 5280 path validation via
:class:`~dicomseal.signature.TrustContext`, as of a valid signature timestamp if any, RFC
3161); only then is the manifest (``docs/manifest.md``) parsed and compared with the files.
A manifest whose bytes cannot be read is a read error, not proof of alteration.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509

from dicomseal.errors import MediaError
from dicomseal.media.cms import CmsCheck, CmsReason, verify_detached
from dicomseal.media.cms_timestamp import (
    ManifestTimestamp,
    check_signature_timestamps,
    validate_with_timestamp,
)
from dicomseal.media.manifest import (
    MANIFEST_PATH,
    MAX_MANIFEST,
    MAX_UNTRUSTED_MANIFEST,
    SIGNATURE_PATH,
    Manifest,
    ManifestFormatError,
    read_bounded,
)
from dicomseal.media.read_errors import MediumReadError, read_error_text
from dicomseal.media.source import MediaEntry, MediaSource
from dicomseal.signature import TrustContext
from dicomseal.signature.certificates import fingerprint_sha256
from dicomseal.signature.status import ChainValidation, TrustReason
from dicomseal.signature.timestamp import TimestampStatus
from dicomseal.verdict import Verdict

if TYPE_CHECKING:  # changes (and pydicom) load only when a file differs
    from dicomseal.media.changes import FileChange

__all__ = ["ManifestCheck", "ManifestReason", "load_manifest"]


class ManifestReason(enum.Enum):
    """Why the manifest got its verdict (stable JSON codes)."""

    TRUSTED = "intact-and-trusted"
    ABSENT = "no-manifest"
    SIGNATURE_MISSING = "manifest-signature-missing"
    MANIFEST_MISSING = "manifest-missing"
    UNREADABLE = "manifest-unreadable"
    MALFORMED = "manifest-malformed"
    SIGNATURE_MALFORMED = "manifest-signature-malformed"
    EDITED = "manifest-edited"
    SIGNATURE_INVALID = "manifest-signature-invalid"
    SIGNER_CERTIFICATE_MISSING = "manifest-signer-certificate-missing"
    UNSUPPORTED = "manifest-signature-unsupported"
    UNTRUSTED = "manifest-signer-untrusted"
    FILES_DIFFER = "files-differ"
    TIMESTAMP_INVALID = "manifest-timestamp-invalid"
    REVOKED = "certificate-revoked"  # revoked before the signature's proof of existence
    REVOKED_NO_POE = "certificate-revoked-no-poe"
    REVOCATION_UNKNOWN = "revocation-unknown"


@dataclass(frozen=True)
class ManifestCheck:
    """The manifest's verdict and every difference between it and the medium."""

    verdict: Verdict
    reason: ManifestReason
    message: str
    present: bool
    signer: str = ""
    signing_time: dt.datetime | None = None
    trust: TrustReason | None = None
    fingerprint_sha256: str = ""
    anchor_fingerprint_sha256: str = ""
    fileset_id: str = ""
    created: str = ""
    files: int = 0
    missing: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    changed: tuple[FileChange, ...] = ()
    timestamp_time: dt.datetime | None = None
    timestamp_tsa: str = ""
    timestamp_note: str = ""
    signer_certificate: x509.Certificate | None = None
    signer_chain: tuple[x509.Certificate, ...] = ()


def _read_small(source: MediaSource, entry: MediaEntry) -> bytes:
    """The bytes of a manifest file; :class:`MediumReadError` when they cannot be read."""
    try:
        with source.open(entry.path) as fh:
            return read_bounded(fh, MAX_MANIFEST)
    except OSError as exc:
        raise MediumReadError(read_error_text(exc), path=entry.path) from exc
    except MediaError as exc:
        if exc.path is None:  # the bound of read_bounded: oversized, not a read error
            raise MediaError(exc.message, path=entry.path) from exc
        raise MediumReadError(read_error_text(exc), path=entry.path) from exc


_CMS_REASONS = {
    "manifest-signature-malformed": ManifestReason.SIGNATURE_MALFORMED,
    "manifest-digest-mismatch": ManifestReason.EDITED,
    "manifest-signature-invalid": ManifestReason.SIGNATURE_INVALID,
    "manifest-signer-certificate-missing": ManifestReason.SIGNER_CERTIFICATE_MISSING,
    "manifest-signature-unsupported": ManifestReason.UNSUPPORTED,
}


#: A manifest check, the manifest when it may be read, the certificates its signature carries.
_Loaded = tuple[ManifestCheck, Manifest | None, tuple[x509.Certificate, ...]]


def load_manifest(
    source: MediaSource,
    entries: dict[str, MediaEntry],
    trust: TrustContext,
    at: dt.datetime,
) -> _Loaded:
    """Check the manifest's signature and trust.

    Returns the check, the parsed manifest when its signature is intact, and the
    certificates the signature carries (candidate intermediates for the instances).
    """
    found = _read_pair(source, entries)
    if isinstance(found, ManifestCheck):
        return found, None, ()
    data, sig = found
    signed = _check_signature(data, sig, trust, at)
    refused = _refusal(signed, len(data))
    if refused is not None:
        return refused, None, ()
    assert signed.chain is not None  # _refusal returned for every broken signature
    try:
        manifest = Manifest.from_bytes(data)
    except ManifestFormatError as exc:
        return signed.check(Verdict.FAILED, ManifestReason.MALFORMED, exc.message), None, ()
    chain = signed.chain
    common = {
        **signed.proof,
        "present": True,
        "signer": signed.signer,
        "signing_time": signed.cms.signing_time,
        "trust": chain.reason,
        "fileset_id": manifest.medium.fileset_id,
        "created": manifest.medium.created,
        "files": len(manifest.files),
        "fingerprint_sha256": signed.fingerprint,
        "anchor_fingerprint_sha256": fingerprint_sha256(chain.chain[-1]) if chain.chain else "",
        "signer_certificate": signed.cms.signer,
        "signer_chain": chain.chain,
    }
    if not chain.trusted:
        verdict, reason = Verdict.INDETERMINATE, ManifestReason.UNTRUSTED
        message = f"manifest intact but its signer is not trusted: {chain.message}"
    else:
        verdict, reason = Verdict.PASSED, ManifestReason.TRUSTED
        message = "manifest intact and signed by a trusted creator"
    check = ManifestCheck(verdict, reason, message, **common)  # type: ignore[arg-type]
    return check, manifest, signed.cms.certificates


def _read_pair(
    source: MediaSource, entries: dict[str, MediaEntry]
) -> ManifestCheck | tuple[bytes, bytes]:
    """The manifest and its signature as bytes, or the check saying why they are not."""
    jsn, p7s = entries.get(MANIFEST_PATH), entries.get(SIGNATURE_PATH)
    if jsn is None and p7s is None:
        return ManifestCheck(
            Verdict.INDETERMINATE, ManifestReason.ABSENT, "no manifest on this medium", False
        )
    if jsn is None:
        return ManifestCheck(
            Verdict.FAILED,
            ManifestReason.MANIFEST_MISSING,
            f"{SIGNATURE_PATH} present but {MANIFEST_PATH} is gone",
            True,
        )
    if p7s is None:
        return ManifestCheck(
            Verdict.FAILED,
            ManifestReason.SIGNATURE_MISSING,
            f"{MANIFEST_PATH} present but its signature {SIGNATURE_PATH} is gone",
            True,
        )
    try:
        return _read_small(source, jsn), _read_small(source, p7s)
    except MediumReadError as exc:  # the rest of the medium is still reported
        return ManifestCheck(Verdict.INDETERMINATE, ManifestReason.UNREADABLE, str(exc), True)
    except MediaError as exc:
        return ManifestCheck(Verdict.FAILED, ManifestReason.UNREADABLE, str(exc), True)


@dataclass(frozen=True)
class _Signed:
    """The detached signature checked: CMS result, signer, chain and timestamp."""

    cms: CmsCheck
    signer: str = ""
    fingerprint: str = ""
    chain: ChainValidation | None = None
    stamp: ManifestTimestamp | None = None
    proof: dict[str, object] = field(default_factory=dict)

    def check(self, verdict: Verdict, reason: ManifestReason, message: str) -> ManifestCheck:
        """A present manifest's check naming this signer."""
        return ManifestCheck(
            verdict, reason, message, True, self.signer, fingerprint_sha256=self.fingerprint
        )


def _check_signature(data: bytes, sig: bytes, trust: TrustContext, at: dt.datetime) -> _Signed:
    """Verify the detached CMS and its signer's chain, as of its timestamp if any."""
    cms = verify_detached(data, sig)
    try:  # a hostile certificate may carry names or a key the libraries refuse
        signer = cms.signer.subject.rfc4514_string() if cms.signer is not None else ""
        fingerprint = fingerprint_sha256(cms.signer) if cms.signer is not None else ""
        chain: ChainValidation | None = None
        stamp: ManifestTimestamp | None = None
        proof: dict[str, object] = {}
        if cms.intact and cms.signer is not None:  # as of the signature timestamp, if any
            stamp = check_signature_timestamps(sig, trust)
            if stamp is None or stamp.status is not TimestampStatus.INVALID:
                chain, proof = validate_with_timestamp(
                    trust, cms.signer, at, cms.certificates, stamp
                )
    except Exception:  # fail closed: whatever the library raised, the object is malformed
        return _Signed(dataclasses.replace(cms, intact=False, reason=CmsReason.MALFORMED))
    return _Signed(cms, signer, fingerprint, chain, stamp, proof)


def _refusal(signed: _Signed, size: int) -> ManifestCheck | None:
    """Why the manifest may not be read (broken signature, bad timestamp, too large)."""
    cms, stamp, chain = signed.cms, signed.stamp, signed.chain
    if cms.intact and stamp is not None and stamp.status is TimestampStatus.INVALID:
        return signed.check(Verdict.FAILED, ManifestReason.TIMESTAMP_INVALID, stamp.message)
    if not cms.intact or chain is None:
        reason = _CMS_REASONS.get(
            cms.reason.value if cms.reason else "", ManifestReason.SIGNATURE_MALFORMED
        )
        msg = (
            "the manifest was edited after it was signed"
            if reason is ManifestReason.EDITED
            else f"manifest signature does not verify ({reason.value})"
        )
        return signed.check(Verdict.FAILED, reason, msg)
    if not chain.trusted and size > MAX_UNTRUSTED_MANIFEST:
        return ManifestCheck(
            Verdict.INDETERMINATE,
            ManifestReason.UNTRUSTED,
            f"manifest intact but its signer is not trusted ({chain.message}); "
            "too large to read without a trusted signer",
            True,
            signed.signer,
            cms.signing_time,
            chain.reason,
            fingerprint_sha256=signed.fingerprint,
        )
    return None
