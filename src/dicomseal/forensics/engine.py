"""Runs the rule families over a snapshot and builds the :class:`ForensicReport`.

:func:`evaluate` is pure (no I/O); :func:`inspect_media` opens the medium, takes the
snapshot and evaluates it. A rule that crashes on hostile input becomes an
``internal-rule-error`` finding rather than aborting the report.
"""

from __future__ import annotations

import os

from dicomseal.forensics.findings import (
    Finding,
    FindingCode,
    ForensicReport,
    freeze,
    sort_findings,
)
from dicomseal.forensics.rules import RULES
from dicomseal.forensics.snapshot import Snapshot, take_snapshot
from dicomseal.media.source import open_media
from dicomseal.verdict import Verdict

__all__ = ["evaluate", "inspect_media"]


def evaluate(snap: Snapshot) -> ForensicReport:
    """Apply every rule family to ``snap``; the verdict is always INDETERMINATE.

    Unsigned media cannot be proven intact, and heuristics alone cannot separate an
    alteration from a writer bug, so the verdict never is PASSED nor FAILED; the findings
    and their severities carry the result (see :attr:`ForensicReport.exit_code`).
    """
    findings: list[Finding] = []
    for family, rule in RULES:
        try:
            findings.extend(rule(snap))
        except Exception as exc:
            findings.append(
                Finding.of(
                    FindingCode.INTERNAL_RULE_ERROR,
                    (),
                    f"rule family {family} could not finish: {type(exc).__name__}",
                    freeze({"family": family, "error": str(exc)[:200]}),
                )
            )
    return ForensicReport(
        location=snap.location,
        kind=snap.kind,
        verdict=Verdict.INDETERMINATE,
        findings=sort_findings(findings),
        files=len(snap.entries),
        instances=len(snap.instances),
    )


def inspect_media(location: str | os.PathLike[str]) -> ForensicReport:
    """Forensic report for an unsigned medium (folder, ISO image or zip).

    Raises
    ------
    dicomseal.errors.MediaError
        The medium itself cannot be opened or listed.
    """
    with open_media(location) as source:
        snap = take_snapshot(source)
    return evaluate(snap)
