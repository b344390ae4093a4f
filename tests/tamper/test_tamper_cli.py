"""``dicomseal tamper`` command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomseal.cli.main import main


def _run(*args: str) -> int:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    return int(exc.value.code or 0)


def test_cli_careless_then_inspect(
    vendor_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli-careless"
    assert (
        _run(
            "tamper",
            str(vendor_folder),
            "--out",
            str(out),
            "--mode",
            "careless",
            "--set",
            "PatientName=MOUSE^MICKEY",
            "--seed",
            "4",
        )
        == 0
    )
    assert (tmp_path / "cli-careless.tamper.json").is_file()
    assert "record:" in capsys.readouterr().out
    assert _run("inspect", str(out)) == 1


def test_cli_usage_errors_exit_2(vendor_folder: Path, tmp_path: Path) -> None:
    assert (
        _run(
            "tamper",
            str(vendor_folder),
            "--out",
            str(tmp_path / "a"),
            "--mode",
            "careless",
            "--set",
            "Bogus=1",
        )
        == 2
    )
    assert (
        _run(
            "tamper",
            str(vendor_folder),
            "--out",
            str(tmp_path / "b"),
            "--mode",
            "delete",
            "--set",
            "PatientID=1",
        )
        == 2
    )
    assert (
        _run("tamper", str(vendor_folder), "--out", str(tmp_path / "c"), "--mode", "nonsense") == 2
    )
