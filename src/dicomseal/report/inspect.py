"""Render a forensic report (unsigned media) as JSON (``dicomseal.inspect/1``) or text.

No logic lives here: findings come from :mod:`dicomseal.forensics`.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import Console

from dicomseal.forensics.findings import Finding, ForensicReport, Severity
from dicomseal.report.plain import escape

__all__ = ["SCHEMA", "SEVERITY_STYLE", "finding_to_dict", "inspect_document", "render_text"]

SCHEMA = "dicomseal.inspect/1"
SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    """One finding as the JSON object of ``findings[]``."""
    return {
        "code": finding.code.value,
        "severity": finding.severity.value,
        "paths": list(finding.paths),
        "message": finding.message,
        "evidence": dict(finding.evidence),
    }


def inspect_document(report: ForensicReport) -> dict[str, Any]:
    """The whole report as the JSON document (schema :data:`SCHEMA`)."""
    top = report.max_severity
    return {
        "schema": SCHEMA,
        "medium": report.location,
        "kind": report.kind,
        "verdict": report.verdict.value,
        "max_severity": top.value if top else None,
        "exit_code": report.exit_code,
        "statement": report.statement,
        "files": report.files,
        "instances": report.instances,
        "findings": [finding_to_dict(f) for f in report.findings],
    }


def render_text(report: ForensicReport, console: Console, *, show_info: bool = False) -> None:
    """Human-readable report: verdict, counts per severity, then the findings."""
    counts = Counter(f.severity for f in report.findings)
    console.print(
        f"[bold yellow]{report.verdict.value}[/] {escape(report.location)} "
        f"({report.kind}, {report.files} files, {report.instances} DICOM instances)"
    )
    console.print(
        "  " + ", ".join(f"{counts.get(s, 0)} {s.value}" for s in reversed(list(Severity)))
    )
    for f in report.findings:
        if f.severity is Severity.INFO and not show_info:
            continue
        style = SEVERITY_STYLE[f.severity]
        console.print(f"  [{style}]{f.severity.value.upper():8}[/] {f.code}: {escape(f.message)}")
        if f.evidence:
            parts = ", ".join(f"{k}={v!r}" for k, v in f.evidence.items())
            console.print(f"           [dim]{escape(parts[:300])}[/]")
    console.print(f"[dim]{escape(report.statement)}[/]")
