"""Forensic rule families, one module each; every rule is a pure ``check(snapshot)``.

:data:`RULES` lists them in the order the engine runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from dicomseal.forensics.findings import Finding
from dicomseal.forensics.rules import (
    age,
    content,
    dates,
    dicomdir,
    entities,
    filemeta,
    fingerprints,
    iso,
    references,
    uids,
    vendor,
)
from dicomseal.forensics.snapshot import Snapshot

__all__ = ["RULES", "Rule"]

Rule = Callable[[Snapshot], Iterable[Finding]]

#: (family name, check function) in run order.
RULES: tuple[tuple[str, Rule], ...] = (
    ("content", content.check),
    ("references", references.check),
    ("dicomdir", dicomdir.check),
    ("filemeta", filemeta.check),
    ("entities", entities.check),
    ("age", age.check),
    ("dates", dates.check),
    ("uids", uids.check),
    ("fingerprints", fingerprints.check),
    ("iso", iso.check),
    ("vendor", vendor.check),
)
