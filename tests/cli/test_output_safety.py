"""Commands that write never destroy user data (one output rule, dicomseal.output)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dicomseal.errors import UsageError
from dicomseal.output import MARKER, claim_output_folder

CLI = [sys.executable, "-m", "dicomseal"]


def test_foreign_folder_is_refused_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    with pytest.raises(UsageError, match="did not write"):
        claim_output_folder(out, command="demo")
    assert (out / "thesis.docx").read_text() == "years of work"


def test_force_writes_into_foreign_folder_without_deleting(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    claim_output_folder(out, force=True, command="demo")
    assert (out / "keep.txt").exists()
    assert (out / MARKER).is_file()


def test_own_folder_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "out"
    claim_output_folder(out, command="demo")
    (out / "old").mkdir()
    (out / "old" / "f").write_text("x")
    claim_output_folder(out, command="demo")
    assert sorted(p.name for p in out.iterdir()) == [MARKER]


@pytest.mark.parametrize("which", ["cwd", "home", "root", "parent-of-cwd"])
def test_protected_folders_refused_even_with_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, which: str
) -> None:
    work = tmp_path / "home" / "work"
    work.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(work)
    target = {
        "cwd": Path("."),
        "home": tmp_path / "home",
        "root": Path("/"),
        "parent-of-cwd": Path(".."),
    }[which]
    with pytest.raises(UsageError, match="refusing"):
        claim_output_folder(target, force=True, command="demo")
    assert work.is_dir()


@pytest.mark.parametrize("command", ["demo", "experiment"])
def test_cli_refuses_foreign_folder(tmp_path: Path, command: str) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "photo.jpg").write_bytes(b"\xff\xd8")
    proc = subprocess.run(
        [*CLI, command, "--out", str(out)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "did not write" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (out / "photo.jpg").read_bytes() == b"\xff\xd8"
    assert sorted(p.name for p in out.iterdir()) == ["photo.jpg"]


@pytest.mark.parametrize("command", ["demo", "experiment"])
def test_cli_refuses_current_folder(tmp_path: Path, command: str) -> None:
    (tmp_path / "notes.txt").write_text("x")
    proc = subprocess.run(
        [*CLI, command, "--out", "."], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert (tmp_path / "notes.txt").exists()


def test_typo_suggests_command() -> None:
    proc = subprocess.run([*CLI, "verfy"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Did you mean 'verify'?" in proc.stderr


def test_ctrl_c_exits_130(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "demo", "--out", str(tmp_path / "d")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "d" / MARKER).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    # 130, or ended by the SIGINT itself when it lands while the interpreter already
    # leaves (a shell shows 128 + 2 = 130 for both)
    assert proc.returncode in (130, -signal.SIGINT), err
    assert "interrupted" in err
    assert "Traceback" not in err
