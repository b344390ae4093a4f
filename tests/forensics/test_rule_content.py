"""Rule family: non-DICOM content and unsafe entries."""

from __future__ import annotations

import os
from pathlib import Path

from forensics_support import MakeMedium, inspect

from dicomseal.forensics import Severity


def test_clean_medium_has_no_programs(clean_medium: Path) -> None:
    codes = {f.code for f in inspect(clean_medium).findings}
    assert not codes & {"autorun-file", "executable-file", "unsafe-entry", "malformed-instance"}


def test_autorun_and_program_added(medium_copy: MakeMedium) -> None:
    medium = medium_copy("autorun-and-program-added")
    (medium / "AUTORUN.INF").write_text("[autorun]\r\nopen=RUN.EXE\r\n")
    (medium / "RUN.EXE").write_bytes(b"MZ" + b"\x00" * 100)
    (medium / "tool.sh").write_bytes(b"#!/bin/sh\necho\n")
    report = inspect(medium)
    by_code = {(f.code, f.paths): f.severity for f in report.findings}
    assert by_code[("autorun-file", ("AUTORUN.INF",))] is Severity.MEDIUM
    assert by_code[("executable-file", ("RUN.EXE",))] is Severity.MEDIUM
    assert by_code[("executable-file", ("tool.sh",))] is Severity.MEDIUM


def test_symlink_leaving_medium_is_critical_and_not_followed(medium_copy: MakeMedium) -> None:
    medium = medium_copy("symlink-to-etc-passwd")
    os.symlink("/etc/passwd", medium / "PASSWD")
    hits = [f for f in inspect(medium).findings if f.code == "unsafe-entry"]
    assert [h.severity for h in hits] == [Severity.CRITICAL]
    assert hits[0].evidence["link_target"] == "/etc/passwd"
