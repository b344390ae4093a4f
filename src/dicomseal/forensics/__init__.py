"""Forensic inspection of unsigned media: red flags, never proof of authenticity.

>>> from dicomseal.forensics import inspect_media, Severity
"""

from __future__ import annotations

from dicomseal.forensics.engine import evaluate, inspect_media
from dicomseal.forensics.findings import (
    INTEGRITY_STATEMENT,
    Finding,
    ForensicReport,
    Severity,
)
from dicomseal.forensics.snapshot import Snapshot, take_snapshot

__all__ = [
    "INTEGRITY_STATEMENT",
    "Finding",
    "ForensicReport",
    "Severity",
    "Snapshot",
    "evaluate",
    "inspect_media",
    "take_snapshot",
]
