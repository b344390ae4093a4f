"""Findings of the forensic inspection of unsigned media, and the report that holds them.

A finding is a red flag, never a proof of authenticity: only a verified signature proves
integrity (see ``docs/study.md``). The codes, severities and the finding record are the one
vocabulary of :mod:`dicomseal.findings`, re-exported here. Severities are ordered
(``INFO < LOW < MEDIUM < HIGH < CRITICAL``); calibration against clean media keeps ``HIGH``
and ``CRITICAL`` for anomalies that clean media in the test corpus never show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dicomseal.findings import Finding, FindingCode, Severity, freeze
from dicomseal.verdict import Verdict

__all__ = [
    "INTEGRITY_STATEMENT",
    "Finding",
    "FindingCode",
    "ForensicReport",
    "Severity",
    "freeze",
]

#: Printed with every report: findings are red flags, absence of findings proves nothing.
INTEGRITY_STATEMENT = (
    "Findings are red flags from heuristics, never proof of authenticity. A medium without "
    "findings may still have been altered consistently; only a verified digital signature "
    "(dicomseal media verify / dicomseal verify) proves integrity."
)


@dataclass(frozen=True)
class ForensicReport:
    """Result of inspecting one unsigned medium.

    Attributes
    ----------
    location
        The medium as given.
    kind
        ``folder``, ``iso`` or ``zip``.
    verdict
        Always :attr:`Verdict.INDETERMINATE`: heuristics can neither prove integrity nor,
        on their own, prove alteration (writer bugs look alike).
    findings
        Sorted most severe first, then by code and path.
    files
        Number of files on the medium.
    instances
        Number of DICOM Part 10 instances parsed.
    statement
        :data:`INTEGRITY_STATEMENT`.
    """

    location: str
    kind: str
    verdict: Verdict
    findings: tuple[Finding, ...]
    files: int
    instances: int
    statement: str = INTEGRITY_STATEMENT

    @property
    def max_severity(self) -> Severity | None:
        """Most severe finding, or ``None`` when there is none."""
        return max((f.severity for f in self.findings), default=None)

    def at_least(self, severity: Severity) -> tuple[Finding, ...]:
        """Findings at ``severity`` or above."""
        return tuple(f for f in self.findings if f.severity >= severity)

    @property
    def exit_code(self) -> int:
        """1 when a HIGH/CRITICAL red flag exists, else 3 (INDETERMINATE); never 0.

        Deprecated: asks the one exit policy, :func:`dicomseal.cli.exit.exit_code`.
        """
        from dicomseal.cli.exit import exit_code

        return exit_code(self)


def sort_findings(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """Most severe first, then by code, then by first path."""
    return tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.code, f.paths, f.message)))
