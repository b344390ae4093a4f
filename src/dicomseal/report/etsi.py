"""ETSI EN 319 102-1 indications for dicomseal's verdicts, mapped in one place.

EN 319 102-1 §5.1.3 reports a signature validation as an indication (TOTAL-PASSED,
TOTAL-FAILED, INDETERMINATE) and, when not passed, a sub-indication (Table 5 and 6:
``HASH_FAILURE``, ``OUT_OF_BOUNDS_NO_POE``, ``REVOKED_NO_POE``, ``TRY_LATER``, …). dicomseal
keeps its own verdict and reason codes; this module derives the ETSI pair from them so that
archives and validation policies written against the ETSI vocabulary can read the JSON.

The indication always follows dicomseal's verdict (PASSED, FAILED, INDETERMINATE); the
sub-indication comes from the reason. ``best_signature_time`` is the genTime of a trusted
timestamp (the best proof of existence, §5.5); null means there is none, so the signature
is only known to exist at the validation time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from dicomseal.verdict import Verdict

__all__ = [
    "FAILED_SUBINDICATIONS",
    "INDETERMINATE_SUBINDICATIONS",
    "EtsiStatus",
    "etsi_fields",
    "etsi_status",
]

INDICATIONS: Final = {
    Verdict.PASSED: "TOTAL-PASSED",
    Verdict.FAILED: "TOTAL-FAILED",
    Verdict.INDETERMINATE: "INDETERMINATE",
}
#: EN 319 102-1 Table 5 (TOTAL-FAILED) and Table 6 (INDETERMINATE).
FAILED_SUBINDICATIONS: Final = frozenset(
    {"FORMAT_FAILURE", "HASH_FAILURE", "SIG_CRYPTO_FAILURE", "REVOKED", "NOT_YET_VALID"}
)
INDETERMINATE_SUBINDICATIONS: Final = frozenset(
    {
        "SIG_CONSTRAINTS_FAILURE",
        "CHAIN_CONSTRAINTS_FAILURE",
        "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        "CRYPTO_CONSTRAINTS_FAILURE",
        "EXPIRED",
        "NOT_YET_VALID",
        "NO_SIGNING_CERTIFICATE_FOUND",
        "NO_CERTIFICATE_CHAIN_FOUND",
        "REVOKED_NO_POE",
        "REVOKED_CA_NO_POE",
        "OUT_OF_BOUNDS_NO_POE",
        "OUT_OF_BOUNDS_NOT_REVOKED",
        "NO_POE",
        "TRY_LATER",
        "SIGNED_DATA_NOT_FOUND",
    }
)

#: dicomseal reason code (signature, manifest, trust or revocation) -> ETSI sub-indication.
SUBINDICATIONS: Final[dict[str, str]] = {
    # signatures (dicomseal.signature.status.SignatureReason)
    "signature-mismatch": "HASH_FAILURE",
    "malformed-signature": "FORMAT_FAILURE",
    "mac-parameters-missing": "FORMAT_FAILURE",
    "signed-element-missing": "HASH_FAILURE",
    "ambiguous-dataset": "FORMAT_FAILURE",
    "unsupported-mac-transfer-syntax": "SIG_CONSTRAINTS_FAILURE",
    "unsupported-certificate": "CERTIFICATE_CHAIN_GENERAL_FAILURE",
    "untrusted-signer": "NO_CERTIFICATE_CHAIN_FOUND",
    "certificate-expired": "OUT_OF_BOUNDS_NO_POE",
    "signed-outside-certificate-validity": "NOT_YET_VALID",
    "certificate-not-yet-valid": "NOT_YET_VALID",
    "no-trust-anchors": "NO_CERTIFICATE_CHAIN_FOUND",
    "key-usage-forbids-signing": "CHAIN_CONSTRAINTS_FAILURE",
    "timestamp-invalid": "SIG_CRYPTO_FAILURE",
    "timestamp-untrusted": "NO_CERTIFICATE_CHAIN_FOUND",
    "signer-is-ca": "CHAIN_CONSTRAINTS_FAILURE",
    "extended-key-usage-forbids-signing": "CHAIN_CONSTRAINTS_FAILURE",
    "weak-signer-key": "CRYPTO_CONSTRAINTS_FAILURE",
    "name-constraints-violated": "CHAIN_CONSTRAINTS_FAILURE",
    "weak-mac-algorithm": "CRYPTO_CONSTRAINTS_FAILURE",
    "bad-certificate": "CERTIFICATE_CHAIN_GENERAL_FAILURE",
    "dcmtk-mac-stream-loss": "SIG_CONSTRAINTS_FAILURE",  # some signed content uncovered
    # the manifest (dicomseal.media.verify.ManifestReason)
    "no-manifest": "SIGNED_DATA_NOT_FOUND",
    "manifest-signature-missing": "FORMAT_FAILURE",
    "manifest-missing": "FORMAT_FAILURE",
    "manifest-unreadable": "FORMAT_FAILURE",
    "manifest-malformed": "FORMAT_FAILURE",
    "manifest-signature-malformed": "FORMAT_FAILURE",
    "manifest-edited": "HASH_FAILURE",
    "manifest-signature-invalid": "SIG_CRYPTO_FAILURE",
    "manifest-signer-certificate-missing": "FORMAT_FAILURE",
    "manifest-signature-unsupported": "FORMAT_FAILURE",
    "files-differ": "HASH_FAILURE",
    "manifest-timestamp-invalid": "SIG_CRYPTO_FAILURE",
    # revocation (dicomseal.signature.revocation)
    "certificate-revoked": "REVOKED",
    "certificate-revoked-no-poe": "REVOKED_NO_POE",
    "revocation-unknown": "TRY_LATER",
}


@dataclass(frozen=True)
class EtsiStatus:
    """An EN 319 102-1 indication, its sub-indication (None when passed), best-signature-time."""

    indication: str
    subindication: str | None
    best_signature_time: dt.datetime | None


def etsi_status(
    verdict: Verdict, *reasons: str | None, best_signature_time: dt.datetime | None = None
) -> EtsiStatus:
    """The ETSI pair for ``verdict``; the first of ``reasons`` that maps and fits it wins.

    A sub-indication is only given when it belongs to the indication's table, so the ETSI
    answer never contradicts the verdict; otherwise the generic one of the table is used.
    """
    indication = INDICATIONS[verdict]
    if verdict is Verdict.PASSED:
        return EtsiStatus(indication, None, best_signature_time)
    allowed = FAILED_SUBINDICATIONS if verdict is Verdict.FAILED else INDETERMINATE_SUBINDICATIONS
    for reason in reasons:
        sub = SUBINDICATIONS.get(reason or "")
        if sub in allowed:
            return EtsiStatus(indication, sub, best_signature_time)
    fallback = "FORMAT_FAILURE" if verdict is Verdict.FAILED else "SIG_CONSTRAINTS_FAILURE"
    return EtsiStatus(indication, fallback, best_signature_time)


def etsi_fields(status: EtsiStatus) -> dict[str, str | None]:
    """The JSON fields ``etsi_indication``, ``etsi_subindication``, ``best_signature_time``."""
    when = status.best_signature_time
    return {
        "etsi_indication": status.indication,
        "etsi_subindication": status.subindication,
        "best_signature_time": when.isoformat() if when else None,
    }
