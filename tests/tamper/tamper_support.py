"""Helpers for the tamper tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dicomseal.forensics import ForensicReport, Severity

#: The seven fields of McEvoy & Svalastoga 2009, with a new value each.
FIELDS = {
    "PatientID": "XX9999",
    "PatientName": "MOUSE^MICKEY",
    "PatientAge": "060Y",
    "PatientBirthDate": "19600101",
    "AccessionNumber": "ACC9999",
    "StudyDate": "20240101",
    "InstitutionName": "Elsewhere Clinic",
}


def tree_digest(folder: Path) -> str:
    """SHA-256 over every file's path and content."""
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode() + b"\x00" + p.read_bytes())
    return h.hexdigest()


def flagged_paths(report: ForensicReport, at_least: Severity = Severity.MEDIUM) -> set[str]:
    """Every path named by a finding at or above ``at_least``."""
    return {p for f in report.at_least(at_least) for p in f.paths}
