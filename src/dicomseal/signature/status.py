"""Typed results of signature verification (PS3.15 §A.2 "verify on receipt").

Results are data: frozen dataclasses carrying a :class:`~dicomseal.verdict.Verdict` and a
reason code from a closed enum. Nothing here is a bare bool or a free status string.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field

from cryptography import x509

from dicomseal.dicom.vocab import format_tag
from dicomseal.verdict import Verdict

__all__ = [
    "ChainValidation",
    "FileReason",
    "FileVerification",
    "ResultWarning",
    "SignatureReason",
    "SignatureVerification",
    "TrustReason",
    "format_tag",
]


class TrustReason(enum.Enum):
    """Outcome of validating the signer's certificate (RFC 5280 path validation)."""

    TRUSTED = "trusted"
    NO_TRUST_ANCHORS = "no-trust-anchors"
    UNTRUSTED_SIGNER = "untrusted-signer"
    EXPIRED = "certificate-expired"
    NOT_YET_VALID = "certificate-not-yet-valid"
    KEY_USAGE = "key-usage-forbids-signing"
    BAD_CERTIFICATE = "bad-certificate"
    # the signer certificate policy (signature.signer_policy) refuses the certificate
    SIGNER_IS_CA = "signer-is-ca"
    EXTENDED_KEY_USAGE = "extended-key-usage-forbids-signing"
    WEAK_KEY = "weak-signer-key"
    NAME_CONSTRAINTS = "name-constraints-violated"


@dataclass(frozen=True)
class ChainValidation:
    """Result of building and validating the signer's certificate chain."""

    reason: TrustReason
    message: str
    chain: tuple[x509.Certificate, ...] = ()
    validation_time: dt.datetime | None = None

    @property
    def trusted(self) -> bool:
        """Whether the chain ends in a trust anchor and is valid at the validation time."""
        return self.reason is TrustReason.TRUSTED


class SignatureReason(enum.Enum):
    """Why a signature got its verdict. Codes are stable (JSON ``reason``)."""

    INTACT = "intact"  # PASSED: MAC and signature match, signer trusted
    MAC_MISMATCH = "signature-mismatch"  # FAILED: data or signature altered
    MALFORMED = "malformed-signature"  # FAILED: required attributes missing/invalid
    MAC_PARAMETERS_MISSING = "mac-parameters-missing"  # FAILED
    DATA_ELEMENT_MISSING = "signed-element-missing"  # FAILED: listed element removed
    AMBIGUOUS = "ambiguous-dataset"  # FAILED: a listed element cannot enter the MAC
    #: No longer produced: an unreproducible MAC Calculation Transfer Syntax is MALFORMED.
    UNSUPPORTED_MAC_TRANSFER_SYNTAX = "unsupported-mac-transfer-syntax"
    UNSUPPORTED_CERTIFICATE = "unsupported-certificate"  # INDETERMINATE
    UNTRUSTED_SIGNER = "untrusted-signer"  # INDETERMINATE
    EXPIRED = "certificate-expired"  # INDETERMINATE: no valid timestamp
    SIGNED_OUTSIDE_VALIDITY = "signed-outside-certificate-validity"  # INDETERMINATE
    NO_TRUST_ANCHORS = "no-trust-anchors"  # INDETERMINATE
    KEY_USAGE = "key-usage-forbids-signing"  # INDETERMINATE
    TIMESTAMP_INVALID = "timestamp-invalid"  # FAILED: token altered or over other data
    TIMESTAMP_UNTRUSTED = "timestamp-untrusted"  # INDETERMINATE: TSA not trusted
    # INDETERMINATE, intact but the signer is not acceptable (signature.signer_policy)
    SIGNER_IS_CA = "signer-is-ca"
    EXTENDED_KEY_USAGE = "extended-key-usage-forbids-signing"
    WEAK_KEY = "weak-signer-key"
    NAME_CONSTRAINTS = "name-constraints-violated"
    WEAK_MAC = "weak-mac-algorithm"  # INDETERMINATE with --strict: MD5, SHA-1, RIPEMD-160
    # revocation (signature.revocation), judged as of the best proof of existence
    REVOKED = "certificate-revoked"  # FAILED: revoked before the signature is proven to exist
    REVOKED_NO_POE = "certificate-revoked-no-poe"  # INDETERMINATE: revoked, no timestamp
    REVOCATION_UNKNOWN = "revocation-unknown"  # INDETERMINATE: --revocation require, no info
    # INDETERMINATE: matches only DCMTK dcmsign's lossy MAC stream (signature.dcmtk_loss)
    DCMTK_MAC_STREAM_LOSS = "dcmtk-mac-stream-loss"


class FileReason(enum.Enum):
    """Why a file got its verdict when no single signature explains it."""

    NO_SIGNATURE = "no-signature"
    NO_TOP_LEVEL_SIGNATURE = "no-top-level-signature"
    SIGNATURE_FAILED = "signature-failed"
    SIGNATURE_INDETERMINATE = "signature-indeterminate"
    NOT_DICOM = "not-dicom"
    UNREADABLE = "unreadable"
    AMBIGUOUS_DATASET = "ambiguous-dataset"  # FAILED: two readers may read it differently
    MALFORMED_SIGNED = "malformed-signed-file"  # FAILED: carries a signature, cannot be parsed
    PARTIALLY_SIGNED = "partially-signed"  # INDETERMINATE: content no intact signature covers
    EXECUTABLE_PREAMBLE = "executable-preamble"  # FAILED: DICOM/executable polyglot
    CHANGED_SINCE_MANIFEST = "changed-since-manifest"  # FAILED (media): hash differs
    COVERED_BY_MANIFEST = "covered-by-manifest"  # PASSED (media): trusted per-file hash


@dataclass(frozen=True)
class ResultWarning:
    """Something a verifier should know that does not change the verdict (JSON ``warnings``)."""

    code: str
    message: str


@dataclass(frozen=True)
class SignatureVerification:
    """Verification of one Digital Signatures Sequence item (PS3.3 §C.12.1.1.3).

    Attributes
    ----------
    uid
        Digital Signature UID (0400,0100).
    verdict, reason
        Outcome and why.
    message
        One human sentence explaining ``reason``.
    mac_algorithm
        MAC Algorithm defined term, e.g. ``SHA256``.
    mac_transfer_syntax
        MAC Calculation Transfer Syntax UID.
    signer
        Subject of the Certificate of Signer (RFC 4514), or empty if unreadable.
    location
        Item path of the signature (``ReferencedSeriesSequence[0]``), empty at top level.
    signed_tags
        Data Elements Signed actually covered, as tag integers.
    signed_at
        Digital Signature DateTime (0400,0105), as written (not a certified time).
    certificate
        The signer's certificate, when it could be parsed.
    chain
        The validated chain, signer first, when trusted.
    timestamp_time
        genTime of a verified RFC 3161 Certified Timestamp, if any.
    warnings
        Remarks that do not change the verdict (a weak MAC algorithm, unless ``--strict``).
    """

    uid: str
    verdict: Verdict
    reason: SignatureReason
    message: str
    mac_algorithm: str = ""
    mac_transfer_syntax: str = ""
    signer: str = ""
    location: str = ""
    signed_tags: tuple[int, ...] = ()
    signed_at: str = ""
    certificate: x509.Certificate | None = None
    chain: tuple[x509.Certificate, ...] = ()
    timestamp_time: dt.datetime | None = None
    purpose: str = ""
    warnings: tuple[ResultWarning, ...] = ()


@dataclass(frozen=True)
class FileVerification:
    """Verification of every signature in one instance.

    ``verdict`` is FAILED if any signature failed or the data set is ambiguous; PASSED
    only when every signature passed and intact top-level signatures together cover the
    payload, every identity attribute and every other signable top-level element
    (``uncovered`` lists what they miss); INDETERMINATE otherwise, always for an
    unsigned file. Attributes no signature covers are listed in ``unsigned_tags``.

    ``uncovered`` holds the tags that keep the file from PASSED (reason
    ``partially-signed``); ``ambiguities`` describes what two readers may read
    differently; ``warnings`` holds findings that do not change the signatures' own
    verdicts (an executable preamble, for instance).
    """

    path: str
    verdict: Verdict
    reason: FileReason | None
    message: str
    signatures: tuple[SignatureVerification, ...] = ()
    signed_tags: tuple[int, ...] = ()
    unsigned_tags: tuple[int, ...] = ()
    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    transfer_syntax_uid: str = ""
    extras: dict[str, str] = field(default_factory=dict)
    uncovered: tuple[int, ...] = ()
    ambiguities: tuple[str, ...] = ()
    warnings: tuple[ResultWarning, ...] = ()
