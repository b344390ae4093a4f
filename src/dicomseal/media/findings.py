"""Findings about a medium's structure: hostile or inconsistent content, never followed.

The vocabulary lives in :mod:`dicomseal.findings` (one code enum for every command); this
module keeps the names media verification has always used. A :class:`MediaFinding` has a
stable code, the path it concerns, one human sentence, and the verdict it forces at least
(a hostile structure is FAILED; a suspicious one INDETERMINATE).
"""

from __future__ import annotations

from dicomseal.findings import FindingCode, MediaFinding

__all__ = ["FindingCode", "MediaFinding"]
