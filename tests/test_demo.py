"""The README's first command: the demo scenario reaches every required verdict."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

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
