"""ETSI EN 319 102-1 indications: every dicomseal reason maps, and never against the verdict."""

from __future__ import annotations

import datetime as dt

import pytest

from dicomseal.media.verify import ManifestReason
from dicomseal.report.etsi import (
    FAILED_SUBINDICATIONS,
    INDETERMINATE_SUBINDICATIONS,
    SUBINDICATIONS,
    etsi_fields,
    etsi_status,
)
from dicomseal.signature.status import SignatureReason, TrustReason
from dicomseal.verdict import Verdict

#: Reasons that mean "passed" or are explained by a TrustReason instead.
_NOT_MAPPED = {"intact", "trusted", "intact-and-trusted", "manifest-signer-untrusted"}


@pytest.mark.parametrize(
    "reason",
    sorted(
        (
            {r.value for r in SignatureReason}
            | {r.value for r in ManifestReason}
            | {r.value for r in TrustReason}
        )
        - _NOT_MAPPED
    ),
)
def test_every_reason_has_a_subindication(reason: str) -> None:
    assert SUBINDICATIONS[reason] in FAILED_SUBINDICATIONS | INDETERMINATE_SUBINDICATIONS


def test_indication_follows_the_verdict() -> None:
    when = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    passed = etsi_fields(etsi_status(Verdict.PASSED, "intact", best_signature_time=when))
    assert passed == {
        "etsi_indication": "TOTAL-PASSED",
        "etsi_subindication": None,
        "best_signature_time": when.isoformat(),
    }
    expired = etsi_status(Verdict.INDETERMINATE, "certificate-expired")
    assert (expired.indication, expired.subindication) == ("INDETERMINATE", "OUT_OF_BOUNDS_NO_POE")
    # the manifest's "untrusted" is explained by its trust reason
    untrusted = etsi_status(
        Verdict.INDETERMINATE, "manifest-signer-untrusted", "certificate-expired"
    )
    assert untrusted.subindication == "OUT_OF_BOUNDS_NO_POE"
    assert etsi_status(Verdict.FAILED, "certificate-revoked").subindication == "REVOKED"
    # a sub-indication of the other table is never given: FAILED stays FAILED
    failed = etsi_status(Verdict.FAILED, "certificate-expired")
    assert (failed.indication, failed.subindication) == ("TOTAL-FAILED", "FORMAT_FAILURE")
    assert (
        etsi_status(Verdict.INDETERMINATE, "certificate-revoked-no-poe").subindication
        == "REVOKED_NO_POE"
    )
    assert etsi_status(Verdict.INDETERMINATE, "revocation-unknown").subindication == "TRY_LATER"
