"""``dicomseal signatures list|remove`` and key passwords, checked against dcmsign.

dcmsign is the judge: after ``remove --uid`` it must find exactly the other signature intact;
after ``remove --all`` it must find none. Passwords come from ``$DICOMSEAL_KEY_PASSWORD`` or a
prompt, never from argv (issue 3, point 3).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from sigtest_support import cli_env, dcmsign_verify, run_cli, run_cli_inprocess
from sigtest_vectors import SignedVector

if TYPE_CHECKING:
    from pki import TestPki

pytestmark = pytest.mark.dcmtk


def _uids(path: Path) -> list[str]:
    ds = pydicom.dcmread(path)
    return [str(i.DigitalSignatureUID) for i in ds.get("DigitalSignaturesSequence", [])]


def test_list_shows_every_signature(dcmsign_vectors: dict[str, SignedVector]) -> None:
    path = dcmsign_vectors["item-and-top-level"].path
    run = run_cli_inprocess("signatures", "list", path, "--format", "json")
    assert run.returncode == 0, run.describe()
    listed = json.dumps(run.json())
    ds = pydicom.dcmread(path)
    expected = [
        str(ds.DigitalSignaturesSequence[0].DigitalSignatureUID),
        str(ds.ReferencedSeriesSequence[0].DigitalSignaturesSequence[0].DigitalSignatureUID),
    ]
    assert all(uid in listed for uid in expected), listed


def test_remove_one_signature(
    dcmsign: str, dcmsign_vectors: dict[str, SignedVector], pki: TestPki, tmp_path: Path
) -> None:
    src = dcmsign_vectors["two-signatures"].path
    first, second = _uids(src)
    out = tmp_path / "one-left.dcm"
    run = run_cli_inprocess("signatures", "remove", src, out, "--uid", first)
    assert run.returncode == 0, run.describe()
    assert _uids(out) == [second]
    proc = dcmsign_verify(dcmsign, out, [pki.root.cert], [pki.intermediate.cert])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("Signature Verification : OK") == 1, proc.stderr
    assert len(pydicom.dcmread(out).MACParametersSequence) == 1


def test_remove_all_signatures(
    dcmsign: str, dcmsign_vectors: dict[str, SignedVector], pki: TestPki, tmp_path: Path
) -> None:
    out = tmp_path / "none-left.dcm"
    run = run_cli_inprocess(
        "signatures", "remove", dcmsign_vectors["item-and-top-level"].path, out, "--all"
    )
    assert run.returncode == 0, run.describe()
    proc = dcmsign_verify(dcmsign, out, [pki.root.cert], [], "+rg")
    assert proc.returncode == 100, proc.stderr  # dcmsign: no signature although required
    ds = pydicom.dcmread(out)
    assert "MACParametersSequence" not in ds
    assert "MACParametersSequence" not in ds.ReferencedSeriesSequence[0]


def test_remove_unknown_uid_is_an_error(
    dcmsign_vectors: dict[str, SignedVector], tmp_path: Path
) -> None:
    out = tmp_path / "x.dcm"
    run = run_cli_inprocess(
        "signatures",
        "remove",
        dcmsign_vectors["two-signatures"].path,
        out,
        "--uid",
        "1.2.3.4.5.6.7.8.9",
    )
    assert run.returncode != 0, run.describe()
    assert "Traceback" not in run.stderr
    assert not out.exists()


def test_encrypted_key_with_password_from_environment(
    dcmsign: str, pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "signed.dcm"
    env = {**cli_env(), "DICOMSEAL_KEY_PASSWORD": pki.password}
    run = run_cli(
        "sign",
        signing_inputs["native"],
        out,
        "--key",
        pki.encrypted_signer_key,
        "--cert",
        pki.signer.cert,
        env=env,
    )
    assert run.returncode == 0, run.describe()
    assert pki.password not in run.stdout + run.stderr
    proc = dcmsign_verify(dcmsign, out, [pki.root.cert], [pki.intermediate.cert])
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("password", [None, "wrong"], ids=["no-password", "wrong-password"])
def test_encrypted_key_without_right_password_is_usage_error(
    password: str | None, pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    """No tty and no (or a wrong) password: exit 2 with one line, never hang, no output file."""
    out = tmp_path / "signed.dcm"
    env = cli_env()
    if password is not None:
        env["DICOMSEAL_KEY_PASSWORD"] = password
    run = run_cli(
        "sign",
        signing_inputs["native"],
        out,
        "--key",
        pki.encrypted_signer_key,
        "--cert",
        pki.signer.cert,
        env=env,
        timeout=60,
    )
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr
    assert not out.exists()
