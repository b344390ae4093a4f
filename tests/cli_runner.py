"""Run the ``dicomseal`` command line in-process, as a test sees it."""

from __future__ import annotations

import pytest

from dicomseal.cli.main import main

__all__ = ["run_cli"]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``dicomseal ARGV`` in-process: (exit code, stdout, stderr)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err
