"""A value from a medium cannot act on the report it is printed in (redteam16).

An added file named ``ESC[2J ESC[H PASSED: ...`` made ``media verify`` on a terminal clear
the real FAILED report and leave a forged PASSED line: rich passes ESC and C1 controls
through. Every printed string now has its control and format characters written out
(``[U+001B]``), and a value inside a line its newlines and tabs too.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.report.plain import escape
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.wording import one_line, visible
from pki import TestPki

CLI = (sys.executable, "-m", "dicomseal")
FORGED = "\x1b[2J\x1b[3J\x1b[HPASSED: 0 missing, 0 added\u202e\nPASSED: forged\r"


def test_control_and_format_characters_are_written_out() -> None:
    assert visible("DOE\x1b[2J^JOHN\u202e") == "DOE[U+001B][2J^JOHN[U+202E]"
    assert visible("a\nb\tc") == "a\nb\tc"  # layout of the report's own lines stays
    assert one_line("a\nb\tc\rd") == "a[U+000A]b[U+0009]c[U+000D]d"
    assert visible("\u0645\u200c\u0631") == "\u0645\u200c\u0631"  # ZWNJ: Persian names
    assert visible("x\u009b31m\u2028y") == "x[U+009B]31m[U+2028]y"  # C1 CSI, line separator
    assert escape("[bold]x\x1b") == "\\[bold]x[U+001B]"


@pytest.fixture(scope="module")
def forged_medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    base = tmp_path_factory.mktemp("controls")
    write_sample_studies(base / "src", series_per_study=1, instances_per_series=1)
    bundle = base / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    out = base / "medium"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="CONTROLS")
    create_medium([base / "src"], out, SigningCredentials.load(pki.signer.key, bundle), options)
    (out / "DICOM" / FORGED).write_bytes(b"added")
    return out


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_a_file_name_cannot_clear_the_report(
    forged_medium: Path, pki: TestPki, terminal: bool
) -> None:
    env = {**os.environ, "TTY_COMPATIBLE": "1" if terminal else "0"}
    env.pop("FORCE_COLOR", None)
    run = subprocess.run(
        [*CLI, "media", "verify", str(forged_medium), "--trust", str(pki.root.cert)],
        capture_output=True,
        env=env,
        check=False,
    )
    assert run.returncode == 1
    out = run.stdout.decode()
    assert "\x1b[2J" not in out and "\x1b[H" not in out and "\r" not in out
    assert "\u202e" not in out
    assert "[U+001B][2J" in out and "[U+000A]PASSED: forged" in out
    assert not any(line.startswith("PASSED") for line in out.splitlines())
    assert out.lstrip("\x1b[0123456789;m").startswith("FAILED")
