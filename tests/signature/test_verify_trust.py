"""Trust and policy verdicts: intact but not provably trusted is INDETERMINATE, exit 3.

Cases are cross-checked with dcmsign where it has an opinion (it reports certificate
problems as "signature is OK but certificate verification failed", exit 101).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sigtest_support import (
    EXIT_FOR_VERDICT,
    assert_report_shape,
    dcmsign_verify,
    run_cli,
    verify_json,
)
from sigtest_vectors import SignedVector

if TYPE_CHECKING:
    from pki import TestPki

pytestmark = pytest.mark.dcmtk


def _single(run_doc: dict[str, object]) -> dict[str, object]:
    files = run_doc["files"]
    assert isinstance(files, list) and len(files) == 1
    entry = files[0]
    assert isinstance(entry, dict)
    return entry


def _check(
    path: Path, trust: list[Path], untrusted: list[Path], verdict: str, *extra: str
) -> dict[str, object]:
    run = verify_json(path, trust, untrusted, *extra)
    assert run.returncode == EXIT_FOR_VERDICT[verdict], run.describe()
    doc = run.json()
    assert_report_shape(doc)
    assert doc["verdict"] == verdict, run.describe()
    return _single(doc)


def test_untrusted_root_is_indeterminate(
    dcmsign: str, dcmsign_vectors: dict[str, SignedVector], pki: TestPki
) -> None:
    path = dcmsign_vectors["rsa-mac-sha256"].path
    proc = dcmsign_verify(dcmsign, path, [pki.untrusted_root.cert], [pki.intermediate.cert])
    assert proc.returncode == 101 and "certificate verification failed" in proc.stderr
    entry = _check(path, [pki.untrusted_root.cert], [pki.intermediate.cert], "INDETERMINATE")
    sigs = entry["signatures"]
    assert isinstance(sigs, list) and [s["verdict"] for s in sigs] == ["INDETERMINATE"]
    assert sigs[0]["reason"]


def test_signer_from_another_pki_is_indeterminate(
    dcmsign_vectors: dict[str, SignedVector], pki: TestPki
) -> None:
    _check(
        dcmsign_vectors["untrusted-signer"].path,
        [pki.root.cert],
        [pki.intermediate.cert],
        "INDETERMINATE",
    )


def test_expired_signer_is_indeterminate(
    dcmsign: str, dcmsign_vectors: dict[str, SignedVector], pki: TestPki
) -> None:
    path = dcmsign_vectors["expired-signer"].path
    proc = dcmsign_verify(dcmsign, path, [pki.root.cert], [pki.intermediate.cert])
    assert proc.returncode == 101, proc.stderr
    entry = _check(path, [pki.root.cert], [pki.intermediate.cert], "INDETERMINATE")
    assert entry["reason"]


def test_missing_intermediate_is_indeterminate(
    dcmsign: str, dcmsign_vectors: dict[str, SignedVector], pki: TestPki
) -> None:
    path = dcmsign_vectors["rsa-mac-sha256"].path
    proc = dcmsign_verify(dcmsign, path, [pki.root.cert])
    assert proc.returncode == 101 and "unable to get local issuer" in proc.stderr
    _check(path, [pki.root.cert], [], "INDETERMINATE")


def test_no_trust_anchor_is_never_passed(dcmsign_vectors: dict[str, SignedVector]) -> None:
    path = dcmsign_vectors["rsa-mac-sha256"].path
    run = run_cli("verify", path, "--format", "json")
    assert run.returncode in (EXIT_FOR_VERDICT["INDETERMINATE"], 2), run.describe()
    assert "Traceback" not in run.stderr
    if run.returncode == 3:
        assert run.json()["verdict"] == "INDETERMINATE"


def test_untrusted_bundle_does_not_become_an_anchor(
    dcmsign_vectors: dict[str, SignedVector], pki: TestPki
) -> None:
    """chain.pem holds intermediate *and* root; given as --untrusted it must not be trusted."""
    path = dcmsign_vectors["rsa-mac-sha256"].path
    _check(path, [pki.untrusted_root.cert], [pki.chain], "INDETERMINATE")


def test_bundle_as_untrusted_with_right_anchor_passes(
    dcmsign_vectors: dict[str, SignedVector], pki: TestPki
) -> None:
    path = dcmsign_vectors["rsa-mac-sha256"].path
    _check(path, [pki.root.cert], [pki.chain], "PASSED")


@pytest.mark.parametrize("require", [True, False], ids=["require-signature", "default"])
def test_unsigned_file_is_indeterminate(
    require: bool, signing_inputs: dict[str, Path], pki: TestPki
) -> None:
    """Fail closed: an unsigned file is never PASSED, with or without --require-signature."""
    extra = ("--require-signature",) if require else ()
    entry = _check(
        signing_inputs["native"], [pki.root.cert], [pki.intermediate.cert], "INDETERMINATE", *extra
    )
    assert entry["signatures"] == []
    assert entry["reason"] == "no-signature"


@pytest.mark.parametrize(
    "at",
    ["2040-01-01T00:00:00Z", "2020-01-01T00:00:00Z"],
    ids=["after-notafter", "before-notbefore"],
)
def test_validation_time_outside_certificate_validity(
    at: str, dcmsign_vectors: dict[str, SignedVector], pki: TestPki
) -> None:
    """--at moves the validation time; outside the chain's validity nothing is PASSED."""
    path = dcmsign_vectors["rsa-mac-sha256"].path
    entry = _check(path, [pki.root.cert], [pki.intermediate.cert], "INDETERMINATE", "--at", at)
    assert entry["signatures"][0]["reason"]  # type: ignore[index]


def test_signature_datetime_before_notbefore(
    dcmsign: str, pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    """A signature dated before the signer certificate existed: dcmsign rejects it (101)."""
    from dicomseal.signature import MacAlgorithm, SigningCredentials, sign_file

    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    out = tmp_path / "backdated.dcm"
    sign_file(
        signing_inputs["native"],
        out,
        creds,
        mac=MacAlgorithm.SHA256,
        signed_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    proc = dcmsign_verify(dcmsign, out, [pki.root.cert], [pki.intermediate.cert])
    assert proc.returncode == 101 and "not yet valid" in proc.stderr, proc.stderr
    entry = _check(out, [pki.root.cert], [pki.intermediate.cert], "INDETERMINATE")
    assert entry["signatures"][0]["verdict"] == "INDETERMINATE"  # type: ignore[index]
