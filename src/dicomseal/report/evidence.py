"""Renewal evidence for people and programs: the JSON ``evidence`` list and text lines.

The checks themselves are :class:`dicomseal.media.evidence.EvidenceCheck` (RFC 4998
evidence records, EN 319 102-1 §5.6); this module only renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dicomseal.media.evidence import EvidenceCheck

__all__ = ["evidence_document", "evidence_lines"]


def evidence_document(checks: Sequence[EvidenceCheck]) -> list[dict[str, object]]:
    """The JSON ``evidence`` list: per file its verdict and its archive timestamps."""
    return [
        {
            "file": c.name,
            "verdict": c.verdict.value,
            "message": c.message,
            "proven_at": c.proven_at.isoformat() if c.proven_at else None,
            "archive_timestamps": [
                {
                    "time": s.time.isoformat(),
                    "tsa": s.tsa,
                    "covers": list(s.covers),
                    "hash_algorithm": s.hash_algorithm,
                }
                for s in c.stamps
            ],
        }
        for c in checks
    ]


def evidence_lines(checks: Sequence[EvidenceCheck]) -> list[str]:
    """Plain words per evidence file, for the text report."""
    lines = []
    for c in checks:
        lines.append(f"{c.verdict.value:<13} {c.message}")
        lines.extend(f"{'':13}   renewed {s.time:%Y-%m-%d %H:%M} UTC by {s.tsa}" for s in c.stamps)
    return lines
