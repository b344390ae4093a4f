"""The experiment's design: attacks x fields x defences, and one case's result.

Fields are the seven McEvoy & Svalastoga (2009) altered on vendor CDs; header attacks are
applied to each, file-level attacks once. Defences: ``inspect`` (forensic heuristics on
unsigned vendor-like media) and ``media verify`` (dicomseal-signed media).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dicomseal.tamper import TamperMode

__all__ = ["FIELDS", "FILE_ATTACKS", "HEADER_ATTACKS", "Case", "CaseResult", "Defence", "all_cases"]

#: The seven fields of the 2009 study, each with the value the attacker writes.
FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "PatientID": "XX9999",
        "PatientName": "MOUSE^MICKEY",
        "PatientAge": "060Y",
        "PatientBirthDate": "19600101",
        "AccessionNumber": "ACC9999",
        "StudyDate": "20240101",
        "InstitutionName": "Elsewhere Clinic",
    }
)
HEADER_ATTACKS = (TamperMode.CARELESS, TamperMode.CONSISTENT, TamperMode.REMASTER)
FILE_ATTACKS = (
    TamperMode.SWAP,
    TamperMode.DELETE,
    TamperMode.ADD,
    TamperMode.PIXEL,
    TamperMode.EXTRA_FILE,
)
#: Seed of every tamper run (fixed: the table is reproducible).
SEED = 1


class Defence(enum.Enum):
    """What the recipient runs."""

    INSPECT = "inspect (unsigned)"
    VERIFY = "media verify (signed)"


@dataclass(frozen=True)
class Case:
    """One attack on one field (``field`` is ``None`` for file-level attacks)."""

    defence: Defence
    mode: TamperMode
    field: str | None

    @property
    def name(self) -> str:
        """File-system friendly name, e.g. ``careless-PatientName``."""
        return f"{self.mode.value}-{self.field}" if self.field else self.mode.value


@dataclass(frozen=True)
class CaseResult:
    """What the defence said about one tampered medium.

    Attributes
    ----------
    detected
        ``inspect``: a new finding at medium or higher (not on the untouched medium);
        ``media verify``: verdict FAILED.
    named
        The alteration was localised: ``inspect`` named a changed file; ``media verify``
        named the changed attribute (header attacks) or the changed file (file attacks).
    outcome
        Highest new severity (``inspect``) or the verdict (``media verify``).
    evidence
        Finding codes / reasons that carried the detection.
    changed
        Files the tamper record lists as changed.
    """

    case: Case
    detected: bool
    named: bool
    outcome: str
    evidence: tuple[str, ...]
    changed: tuple[str, ...]
    error: str | None = None


def all_cases(defences: tuple[Defence, ...] = (Defence.INSPECT, Defence.VERIFY)) -> list[Case]:
    """Every case of the experiment, in table order."""
    cases: list[Case] = []
    for defence in defences:
        for mode in HEADER_ATTACKS:
            cases.extend(Case(defence, mode, f) for f in FIELDS)
        cases.extend(Case(defence, mode, None) for mode in FILE_ATTACKS)
    return cases
