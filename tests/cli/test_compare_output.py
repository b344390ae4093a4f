"""``compare`` for people: verdict first, grouped differences, bookkeeping hidden unless --all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from pydicom import dcmread

from dicomseal.cli.main import main
from dicomseal.samples import write_sample_studies
from pki import TestPki


def run(argv: list[str | Path], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``dicomseal ARGV`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_compare_groups_and_hides_bookkeeping(
    tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=1, rows=8, cols=8)
    medium = tmp_path / "medium"
    signing = ["--key", pki.signer.key, "--cert", pki.signer.cert]
    code, _, err = run(["media", "create", src, "--out", medium, *signing], capsys)
    assert code == 0, err
    archive = tmp_path / "archive"
    shutil.copytree(medium, archive)
    target = sorted(p for p in (archive / "DICOM").rglob("*") if p.is_file())[0]
    stripped = tmp_path / "stripped.dcm"
    assert run(["signatures", "remove", target, stripped, "--all"], capsys)[0] == 0
    ds = dcmread(stripped)
    ds.PatientName = "ROE^RICHARD"
    ds.save_as(target, enforce_file_format=True)

    code, out, _ = run(["compare", medium, "--with", archive], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("DIFFERENT: ") and "(medium)" in lines[0]
    assert "values: medium -> other medium" in out
    assert "  identity/clinical:" in out and "ROE^RICHARD" in out
    assert "DigitalSignaturesSequence" not in out
    assert "hidden (--all shows them)" in out
    everything = run(["compare", medium, "--with", archive, "--all"], capsys)[1]
    assert "DigitalSignaturesSequence" in everything
    assert "  bookkeeping:" in everything


def test_compare_accepts_trust_and_names_the_medium_verdict(
    tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13: every verifying command, compare included, accepts ``--trust`` (a file or
    a folder) and says which anchors it used (an unknown option before; CLI audit)."""
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=1, rows=8, cols=8)
    medium = tmp_path / "medium"
    signing = ["--key", pki.signer.key, "--cert", pki.signer.cert]
    assert run(["media", "create", src, "--out", medium, *signing], capsys)[0] == 0
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    (anchors / "root.pem").write_bytes(pki.root.cert.read_bytes())
    trust = ["--trust", anchors, "--untrusted", pki.intermediate.cert]
    code, out, err = run(["compare", medium, "--with", medium, *trust, "--format", "json"], capsys)
    doc = json.loads(out)
    assert code == 0, err
    assert doc["trust_anchors"]["origin"] == "--trust"
    assert doc["medium_verification"]["verdict"] == "PASSED", doc["medium_verification"]
    code, out, _err = run(["compare", medium, "--with", medium, *trust], capsys)
    assert not out.splitlines()[0].startswith("trust anchors"), out  # the summary first
    assert "medium: PASSED" in out and "trust anchors from --trust" in out
