"""Running dicomseal as a clinic would: subprocesses with their own environment and folder."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pydicom

__all__ = [
    "PASSWORD",
    "Run",
    "clinic_env",
    "dicomseal",
    "printed_fingerprints",
    "sample_sources",
]

PASSWORD = "TEST_ONLY_clinic_password"
_FINGERPRINT = re.compile(r"SHA-256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")


@dataclass(frozen=True)
class Run:
    """Exit code and output of one command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        """stdout parsed as a JSON object."""
        doc = json.loads(self.stdout)
        assert isinstance(doc, dict), self.describe()
        return doc

    def describe(self) -> str:
        """Everything, for assertion messages."""
        return (
            f"{' '.join(self.argv)}\nexit={self.returncode}\n--- stdout ---\n{self.stdout}"
            f"\n--- stderr ---\n{self.stderr}"
        )


def clinic_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment of its own: HOME and XDG_CONFIG_HOME inside ``home``, no shared store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DICOMSEAL_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        NO_COLOR="1",
        COLUMNS="300",
        DICOMSEAL_KEY_PASSWORD=PASSWORD,
    )
    env.update(extra)
    return env


def dicomseal(*args: str | os.PathLike[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    """``python -m dicomseal ARGS`` in ``env`` (no stdin: never a prompt)."""
    argv = tuple(str(a) for a in args)
    proc = subprocess.run(
        [sys.executable, "-m", "dicomseal", *argv],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Run(("dicomseal", *argv), proc.returncode, proc.stdout, proc.stderr)


def printed_fingerprints(text: str) -> list[str]:
    """Every ``SHA-256 AB:CD:...`` fingerprint printed in ``text``, in order."""
    return _FINGERPRINT.findall(text)


def sample_sources(folder: Path) -> Path:
    """Two genuine DICOM files (pydicom's CT_small and MR_small test data) in ``folder``."""
    data = Path(pydicom.__file__).parent / "data" / "test_files"
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("CT_small.dcm", "MR_small.dcm"):
        (folder / name).write_bytes((data / name).read_bytes())
    return folder
