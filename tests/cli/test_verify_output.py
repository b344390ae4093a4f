"""Output people can act on: verdict first, -q/-v, grouped changes, one answer per folder."""

from __future__ import annotations

import json
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


def _trust(pki: TestPki) -> list[str | Path]:
    return ["--trust", pki.root.cert, "--untrusted", pki.intermediate.cert]


def _signing(pki: TestPki) -> list[str | Path]:
    return ["--key", pki.signer.key, "--cert", pki.signer.cert, "--chain", pki.intermediate.cert]


@pytest.fixture()
def signed_folder(tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]) -> Path:
    """Two individually signed instances and a text file: a folder, not a medium."""
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=1, rows=8, cols=8)
    folder = tmp_path / "folder"
    folder.mkdir()
    for i, path in enumerate(sorted(src.rglob("*.dcm"))[:2]):
        code, _, err = run(["sign", path, folder / f"s{i}.dcm", *_signing(pki)], capsys)
        assert code == 0, err
    (folder / "notes.txt").write_text("phone the patient")
    return folder


def test_verify_and_media_verify_agree_on_a_folder(
    signed_folder: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    a = run(["verify", signed_folder, *_trust(pki)], capsys)
    b = run(["media", "verify", signed_folder, *_trust(pki)], capsys)
    assert a[0] == b[0] == 3  # the text file is not covered by a signature
    assert a[1] == b[1]
    assert a[1].count("notes.txt") == 1  # listed once
    assert "notes.txt" not in a[2] + b[2]  # and not repeated as an "error" on stderr
    ja = run(["verify", signed_folder, *_trust(pki), "--format", "json"], capsys)
    jb = run(["media", "verify", signed_folder, *_trust(pki), "--format", "json"], capsys)
    assert ja[0] == jb[0] == 3
    assert json.loads(ja[1])["summary"] == json.loads(jb[1])["summary"]


def test_verdict_first_and_quiet(
    signed_folder: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["verify", signed_folder, *_trust(pki)], capsys)
    assert out.splitlines()[0].startswith("INDETERMINATE: 3 files: 2 passed")
    assert "(s)" not in out
    assert "s0.dcm" not in out  # passed files only with -v
    code, out, _ = run(["verify", signed_folder, *_trust(pki), "-v"], capsys)
    assert "s0.dcm" in out
    code, out, _ = run(["verify", signed_folder, *_trust(pki), "-q"], capsys)
    assert code == 3 and out.splitlines() == [
        "INDETERMINATE: 3 files: 2 passed, 0 failed, 1 indeterminate"
    ]


def test_media_verify_groups_repeated_changes_and_shows_creator(
    tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=3, rows=8, cols=8)
    medium = tmp_path / "medium"
    code, _, err = run(["media", "create", src, "--out", medium, *_signing(pki)], capsys)
    assert code == 0, err
    paths = sorted(p for p in (medium / "DICOM").rglob("*") if p.is_file())
    signed_names = set()
    for path in paths[:6]:
        ds = dcmread(path)
        signed_names.add(str(ds.PatientName))
        ds.PatientName = "ROE^RICHARD"
        ds.save_as(path, enforce_file_format=True)
    code, out, _ = run(["media", "verify", medium, *_trust(pki)], capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("FAILED: ")
    assert any(line.startswith("  creator: ") and "Signer" in line for line in lines)
    assert any(line.startswith("  signed: ") for line in lines)
    grouped = [line for line in lines if line.lstrip().startswith("PatientName")]
    assert sum(int(line.split(" in ")[1].split()[0]) for line in grouped) == 6, out
    assert len(grouped) == len(signed_names)
    assert all("found 'ROE^RICHARD'" in line for line in grouped)
    assert "(s)" not in out
    verbose = run(["media", "verify", medium, *_trust(pki), "-v"], capsys)[1]
    assert verbose.count("found 'ROE^RICHARD'") == 6  # per file with -v
    quiet = run(["media", "verify", medium, *_trust(pki), "-q"], capsys)
    assert quiet[0] == 1 and len(quiet[1].splitlines()) == 1


def test_single_non_dicom_file_is_one_io_error_not_a_verdict(
    tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    """A named file that is not DICOM at all exits 4 and says so once, as an I/O error:
    no INDETERMINATE verdict (that is exit 3), no second copy of the reason. Under
    --format json the document is the error document a missing file gets (same keys)."""
    letter = tmp_path / "letter.dcm"
    letter.write_bytes(b"%PDF-1.4 a referral letter\n" * 20)
    command = ["verify"]
    for argv in ([*command, letter], [*command, letter, *_trust(pki)], [*command, letter, "-q"]):
        code, out, err = run(argv, capsys)
        assert code == 4, (out, err)
        assert out == "", out
        assert err.splitlines() == [
            f"dicomseal: error: {letter}: not a DICOM Part 10 file (no DICM prefix)"
        ]
    code, out, err = run([*command, letter, "--format", "json"], capsys)
    assert code == 4, (out, err)
    assert "INDETERMINATE" not in out + err
    assert json.loads(out) == {
        "schema": "dicomseal.error/1",
        "error": {
            "code": "malformed-dicom-error",  # what `signatures list` says of the same file
            "message": "not a DICOM Part 10 file (no DICM prefix)",
            "exit_code": 4,
            "path": str(letter),
        },
    }
    assert len(err.splitlines()) == 1
    missing = run([*command, tmp_path / "missing.dcm", "--format", "json"], capsys)
    assert missing[0] == 4
    assert json.loads(missing[1]).keys() == json.loads(out).keys()
    assert json.loads(missing[1])["error"].keys() == json.loads(out)["error"].keys()


def test_single_unsigned_dicom_file_stays_indeterminate(
    tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    """A DICOM file without a signature is judged: INDETERMINATE, exit 3, in text and JSON."""
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=1, rows=8, cols=8)
    unsigned = sorted(src.rglob("*.dcm"))[0]
    code, out, err = run(["verify", unsigned, *_trust(pki)], capsys)
    assert code == 3, (out, err)
    assert out.startswith("INDETERMINATE: 1 file: 0 passed")
    assert err == ""
    code, out, err = run(["verify", unsigned, *_trust(pki), "--format", "json"], capsys)
    assert code == 3, (out, err)
    doc = json.loads(out)
    assert doc["schema"] == "dicomseal.verify/1" and doc["verdict"] == "INDETERMINATE"
    assert doc["files"][0]["reason"] == "no-signature"
