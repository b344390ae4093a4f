"""The README's first command: the demo scenario reaches every required verdict."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cli_runner import run_cli
from dicomseal.cli.main import cli
from dicomseal.demo import FORGED_NAME, DemoStep, run_demo
from dicomseal.verdict import Verdict


def test_demo_scenario(tmp_path: Path) -> None:
    seen: list[DemoStep] = []
    steps = run_demo(tmp_path / "demo", seen.append)
    assert steps == seen
    assert [s.verdict for s in steps] == [
        Verdict.PASSED,
        Verdict.FAILED,
        Verdict.INDETERMINATE,
        Verdict.INDETERMINATE,
    ]
    assert all(s.as_expected for s in steps)
    forged = steps[1]
    assert "PatientName" in forged.detail and FORGED_NAME in forged.detail
    assert (tmp_path / "demo" / "medium.iso").is_file()


def test_demo_command_exit_code(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "every verdict as required" in result.output


def test_demo_refuses_before_its_header(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused --out is an error (exit 2) with no "dicomseal demo in ..." header before it:
    a folder of someone else's files, the current folder, a file."""
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    monkeypatch.chdir(foreign)
    for out in (str(foreign), ".", str(a_file)):
        code, stdout, stderr = run_cli(["demo", "--out", out], capsys)
        assert code == 2, (stdout, stderr)
        assert stdout == "", stdout
        assert "demo in" not in stderr and "rror" in stderr, stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    assert a_file.read_text() == "x"


def test_demo_force_keeps_foreign_files(tmp_path: Path) -> None:
    """--force writes into a foreign folder and deletes nothing in it (claimed once)."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(cli, ["demo", "--out", str(out), "--force"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"dicomseal demo in {out}/")
    assert (out / "notes.txt").read_text() == "keep me"
