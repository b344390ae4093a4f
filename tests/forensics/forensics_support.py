"""Helpers for the forensic rule tests: damage a copy of a medium, read a report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pydicom

from dicomseal.forensics import ForensicReport, Severity, inspect_media

#: Fixture type: copy the clean medium under a name that says its anomaly.
MakeMedium = Callable[[str], Path]


def first_instance(medium: Path) -> Path:
    """The first instance file of the medium (sorted by path)."""
    return sorted(p for p in medium.rglob("IM*") if p.is_file())[0]


def edit(path: Path, **values: object) -> None:
    """Byte-minimal pydicom edit of one instance (meta and padding kept)."""
    ds = pydicom.dcmread(path)
    for kw, value in values.items():
        setattr(ds, kw, value)
    ds.save_as(path)


def codes(report: ForensicReport, at_least: Severity = Severity.INFO) -> set[str]:
    """Codes of findings at or above a severity."""
    return {f.code for f in report.findings if f.severity >= at_least}


def findings(report: ForensicReport, code: str) -> list[object]:
    """Findings with one code."""
    return [f for f in report.findings if f.code == code]


def inspect(path: Path) -> ForensicReport:
    """Inspect a medium."""
    return inspect_media(path)
