"""Staff-proof behaviour: one overwrite rule, fail early, one vocabulary, JSON for scripts.

Every test here runs the real CLI in-process (argv parsing, error mapping, rendering).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dicomseal.cli.main import cli, main
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from pki import TestPki


def run(argv: list[str | Path], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``dicomseal ARGV`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture()
def instance(tmp_path: Path) -> Path:
    """One synthetic CT instance (Explicit VR Little Endian)."""
    path = tmp_path / "in.dcm"
    make_instance(SAMPLE_PATIENTS[0], 0, 0, 0, rows=8, cols=8).save_as(
        path, enforce_file_format=True
    )
    return path


def _signing(pki: TestPki) -> list[str | Path]:
    return ["--key", pki.signer.key, "--cert", pki.signer.cert, "--chain", pki.intermediate.cert]


# -- one overwrite rule ---------------------------------------------------------------


def test_sign_refuses_to_overwrite_an_existing_file(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.pdf"
    out.write_bytes(b"someone's work")
    code, _, err = run(["sign", instance, out, *_signing(pki)], capsys)
    assert code == 2, err
    assert "--force" in err and len(err.strip().splitlines()) == 1
    assert out.read_bytes() == b"someone's work"
    code, _, err = run(["sign", instance, out, *_signing(pki), "--force"], capsys)
    assert code == 0, err
    assert out.read_bytes()[128:132] == b"DICM"


def test_signatures_remove_refuses_to_overwrite(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    signed = tmp_path / "signed.dcm"
    assert run(["sign", instance, signed, *_signing(pki)], capsys)[0] == 0
    out = tmp_path / "keep.txt"
    out.write_text("keep")
    code, _, err = run(["signatures", "remove", signed, out, "--all"], capsys)
    assert code == 2 and out.read_text() == "keep", err
    code, stdout, err = run(["signatures", "remove", signed, out, "--all", "--force"], capsys)
    assert code == 0, err
    assert "removed 1 signature;" in stdout and "(s)" not in stdout


def test_media_create_refuses_unknown_extension(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cd.img"
    code, _, err = run(["media", "create", instance, "--out", out, *_signing(pki)], capsys)
    assert code == 2, err
    assert "--out-format" in err
    assert not out.exists()


def test_media_create_out_format_iso_writes_an_image(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cd.img"
    argv: list[str | Path] = ["media", "create", instance, "--out", out, "--out-format", "iso"]
    code, _, err = run([*argv, *_signing(pki)], capsys)
    assert code == 0, err
    assert out.is_file()
    with out.open("rb") as fh:
        fh.seek(16 * 2048 + 1)
        assert fh.read(5) == b"CD001"  # ECMA-119 §8.4: primary volume descriptor
    code, _, err = run([*argv, *_signing(pki)], capsys)
    assert code == 2 and "--force" in err
    code, _, err = run([*argv, *_signing(pki), "--force"], capsys)
    assert code == 0, err


def test_tamper_refuses_unknown_extension(
    instance: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        ["tamper", instance.parent, "--out", tmp_path / "x.img", "--mode", "delete"], capsys
    )
    assert code == 2 and "--out-format" in err, err


# -- fail early -----------------------------------------------------------------------


def test_media_create_refuses_more_than_a_cd_holds_before_work(
    tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with (src / "big.bin").open("wb") as fh:  # sparse: 800 MB of apparent size
        fh.truncate(800_000_000)
    out = tmp_path / "cd.iso"
    code, _, err = run(["media", "create", src, "--out", out, *_signing(pki)], capsys)
    assert code == 2, err
    assert "STD-GEN-CD" in err and "700.0 MB" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_media_create_refuses_read_only_destination_before_work(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "ro"
    dest.mkdir()
    dest.chmod(0o500)
    try:
        code, _, err = run(
            ["media", "create", instance, "--out", dest / "cd.iso", *_signing(pki)], capsys
        )
    finally:
        dest.chmod(0o700)
    assert code == 4, err
    assert "not writable" in err and "internal error" not in err


# -- one vocabulary -------------------------------------------------------------------


def test_new_option_names_and_old_aliases(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    for i, spelling in enumerate(("--signature-profile", "--profile")):
        out = tmp_path / f"s{i}.dcm"
        code, _, err = run(["sign", instance, out, *_signing(pki), spelling, "base"], capsys)
        assert code == 0, (spelling, err)
    for i, spelling in enumerate(("--media-profile", "--profile")):
        out = tmp_path / f"m{i}"
        code, _, err = run(
            ["media", "create", instance, "--out", out, *_signing(pki), spelling, "STD-GEN-CD"],
            capsys,
        )
        assert code == 0, (spelling, err)


@pytest.mark.parametrize(
    ("path", "wanted"),
    [
        (("import",), ("--key", "--sign-key", "--cert", "--sign-cert", "MEDIUM")),
        (("view",), ("--untrusted", "--at", "MEDIUM")),
        (("media", "verify"), ("MEDIUM",)),
        (("inspect",), ("MEDIUM",)),
        (("tamper",), ("MEDIUM", "--force")),
        (("sign",), ("--signature-profile", "--force", "--format")),
        (("media", "create"), ("--media-profile", "--out-format", "--force")),
    ],
)
def test_help_uses_one_vocabulary(path: tuple[str, ...], wanted: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0
    for word in wanted:
        assert word in result.output, (path, word)
    assert " MEDIA " not in result.output and " MEDIA\n" not in result.output


# -- JSON for scripts -----------------------------------------------------------------


def test_sign_json_document(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "s.dcm"
    code, stdout, err = run(["sign", instance, out, *_signing(pki), "--format", "json"], capsys)
    assert code == 0, err
    doc = json.loads(stdout)
    assert doc["schema"] == "dicomseal.sign/1"
    assert doc["output"] == str(out)
    assert doc["signed_at_iso"].startswith(doc["signed_at"][:4] + "-")
    assert len(doc["fingerprint_sha256"]) == 95
    code, stdout, err = run(["signatures", "list", out, "--format", "json"], capsys)
    listed = json.loads(stdout)
    assert listed["schema"] == "dicomseal.signatures/1"
    assert listed["signatures"][0]["uid"] == doc["signature_uid"]


def test_error_with_format_json_is_a_json_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = run(
        ["signatures", "list", tmp_path / "missing.dcm", "--format", "json"], capsys
    )
    assert code == 4
    doc = json.loads(stdout)
    assert doc["schema"] == "dicomseal.error/1"
    assert doc["error"] == {
        "code": "media-error",
        "message": "no such file",
        "exit_code": 4,
        "path": str(tmp_path / "missing.dcm"),
    }
    assert err.strip().splitlines() == [
        f"dicomseal: error: {tmp_path / 'missing.dcm'}: no such file"
    ]


def test_media_create_json_carries_schema(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = run(
        ["media", "create", instance, "--out", tmp_path / "m", *_signing(pki), "--format", "json"],
        capsys,
    )
    assert code == 0, err
    assert json.loads(stdout)["schema"] == "dicomseal.create/1"


# -- import's journal -----------------------------------------------------------------


def test_journal_lives_in_the_state_folder(tmp_path: Path) -> None:
    from dicomseal.pacs.journal import default_journal_path, state_folder

    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    assert state_folder(env) == tmp_path / "state" / "dicomseal"
    a = default_journal_path(tmp_path / "cd.iso", "PACS@h:104", env)
    b = default_journal_path(tmp_path / "cd.iso", "OTHER@h:104", env)
    c = default_journal_path(tmp_path / "dvd.iso", "PACS@h:104", env)
    assert a.is_relative_to(tmp_path / "state" / "dicomseal")
    assert len({a, b, c}) == 3
    assert not a.is_relative_to(Path.cwd()) or Path.cwd() == tmp_path
    relative = {"XDG_STATE_HOME": "relative/state", "HOME": str(tmp_path)}
    assert state_folder(relative).is_absolute()


def test_import_help_no_longer_defaults_to_the_current_folder() -> None:
    result = CliRunner().invoke(cli, ["import", "--help"], terminal_width=200)
    assert "dicomseal-import.journal.jsonl" not in result.output
    assert "XDG_STATE_HOME" in result.output


# -- README.TXT / INDEX.HTM for people --------------------------------------------------


def test_web_files_write_names_and_dates_for_people(
    tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "nordic.dcm"
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 0, 0, rows=8, cols=8)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "ØBERG-MÜLLER^Zoë Ågot"
    ds.PatientBirthDate = "19851130"
    ds.save_as(path, enforce_file_format=True)
    medium = tmp_path / "m"
    argv: list[str | Path] = ["media", "create", path, "--out", medium, "--label", "Røntgen Århus"]
    code, _, err = run([*argv, *_signing(pki)], capsys)
    assert code == 0, err
    readme = (medium / "README.TXT").read_bytes()
    assert readme.startswith(b"\xef\xbb\xbf")
    text = readme[3:].decode("utf-8")
    assert "ØBERG-MÜLLER, Zoë Ågot" in text and "born 1985-11-30" in text
    assert "Røntgen Århus" in text and "?" not in text.split("How", 1)[0]
    index = (medium / "INDEX.HTM").read_bytes().decode("utf-8")
    assert "ØBERG-MÜLLER, Zoë Ågot" in index and "1985-11-30" in index


def test_person_names_for_people() -> None:
    from dicomseal.media.webcontent import date_for_people, name_for_people

    assert name_for_people("ROE^JANE^^Dr^Jr") == "Dr ROE, JANE, Jr"
    assert name_for_people("Yamada^Tarou=山田^太郎=やまだ^たろう") == (
        "Yamada, Tarou (山田, 太郎 / やまだ, たろう)"
    )
    assert name_for_people("") == ""
    assert date_for_people("19851130") == "1985-11-30"
    assert date_for_people("1985") == "1985"


def test_library_advice_never_reaches_users(
    instance: Path, tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    """pydicom's "Use force=True" would tell staff to bypass a safety check."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.dcm").write_bytes(instance.read_bytes())
    (src / "scan.dcm").write_bytes(b"%PDF-1.4 a referral letter\n" * 20)
    code, out, err = run(
        ["media", "create", src, "--out", tmp_path / "m", *_signing(pki), "--format", "json"],
        capsys,
    )
    assert code == 0, err
    assert "force=True" not in out + err and "InvalidDicomError" not in out + err
    assert "not DICOM Part 10: no DICM prefix" in out
    code, out, err = run(["inspect", src, "--format", "json"], capsys)
    assert "force=True" not in out + err and "InvalidDicomError" not in out + err


def test_describe_read_error() -> None:
    from pydicom.errors import InvalidDicomError

    from dicomseal.errors import describe_read_error

    message = describe_read_error(InvalidDicomError("bad. Use force=True to force reading."))
    assert "force" not in message and "DICM" in message
    assert "force" not in describe_read_error(ValueError("odd. Use force=True to force reading."))
    assert describe_read_error(EOFError()).startswith("cannot be read as DICOM")


# -- progress for people ----------------------------------------------------------------


def test_plain_progress_lines_off_a_terminal_with_human_units() -> None:
    import io

    from rich.console import Console

    from dicomseal.cli.progress import progress_report

    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=200)
    with progress_report(console, quiet_seconds=0) as report:
        for done in range(0, 700_000_001, 7_000_000):
            report("writing image", done, 700_000_000, in_bytes=True)
    lines = buffer.getvalue().splitlines()
    assert "\x1b" not in buffer.getvalue()
    assert 10 <= len(lines) <= 12, lines
    assert lines[-1] == "writing image: 700.0 MB of 700.0 MB (100%)"
