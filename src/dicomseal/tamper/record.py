"""What a tamper run changed: the TAMPER record written next to (never onto) the output.

The record is the ground truth of the experiment: it says which files and attributes were
changed, so the detection table can be scored against it. It is written to
``<OUT>.tamper.json`` (a sibling of the output folder or ISO image), outside the medium,
so that inspection of the tampered medium cannot see it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dicomseal.dicom.edits import AttributeChange

__all__ = ["SCHEMA", "Change", "ChangeWhat", "Scope", "TamperMode", "TamperRecord", "record_path"]

SCHEMA = "dicomseal.tamper/1"


class TamperMode(enum.Enum):
    """Attackers of rising skill, and file-level attacks (McEvoy & Svalastoga 2009)."""

    CARELESS = "careless"
    CONSISTENT = "consistent"
    REMASTER = "remaster"
    SWAP = "swap"
    DELETE = "delete"
    ADD = "add"
    PIXEL = "pixel"
    EXTRA_FILE = "extra-file"

    @property
    def edits_header(self) -> bool:
        """Whether the mode applies ``--set`` edits to headers."""
        return self in (TamperMode.CARELESS, TamperMode.CONSISTENT, TamperMode.REMASTER)


class Scope(enum.Enum):
    """Which instances a header edit touches."""

    INSTANCE = "instance"
    STUDY = "study"
    MEDIUM = "medium"


class ChangeWhat(enum.StrEnum):
    """What part of the medium a :class:`Change` touched (the record's ``what``)."""

    ATTRIBUTE = "attribute"
    FILE_META = "file-meta"
    PADDING = "padding"
    DICOMDIR_RECORD = "dicomdir-record"
    INDEX_ROW = "index-row"
    PIXELS = "pixels"
    FILE_ADDED = "file-added"
    FILE_REMOVED = "file-removed"
    FILE_SWAPPED = "file-swapped"


@dataclass(frozen=True)
class Change:
    """One change on the medium.

    Attributes
    ----------
    path
        File on the medium.
    what
        ``attribute``, ``file-meta``, ``padding``, ``dicomdir-record``, ``index-row``,
        ``pixels``, ``file-added``, ``file-removed``, ``file-swapped``.
    keyword
        The attribute or column, when there is one.
    before, after
        Old and new value (text), when meaningful.
    """

    path: str
    what: ChangeWhat
    keyword: str | None = None
    before: str | None = None
    after: str | None = None

    @classmethod
    def of_attribute(cls, path: str, change: AttributeChange) -> Change:
        """The medium-level change of ``path`` for one :class:`AttributeChange`."""
        return cls(path, ChangeWhat.ATTRIBUTE, change.keyword, change.before, change.after)


@dataclass(frozen=True)
class TamperRecord:
    """The full account of one tamper run."""

    mode: TamperMode
    scope: Scope
    seed: int
    source: str
    output: str
    sets: Mapping[str, str]
    changes: tuple[Change, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed_paths(self) -> tuple[str, ...]:
        """Every medium path with at least one change, sorted."""
        return tuple(sorted({c.path for c in self.changes}))

    def to_json(self) -> dict[str, object]:
        """JSON form (schema :data:`SCHEMA`)."""
        return {
            "schema": SCHEMA,
            "mode": self.mode.value,
            "scope": self.scope.value,
            "seed": self.seed,
            "source": self.source,
            "output": self.output,
            "sets": dict(self.sets),
            "changes": [{k: v for k, v in vars(c).items() if v is not None} for c in self.changes],
            "notes": list(self.notes),
        }

    def write(self, path: Path) -> None:
        """Write the JSON record to ``path``."""
        path.write_text(
            json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )


def record_path(out: Path) -> Path:
    """Where the record of a run that wrote ``out`` goes: ``<out>.tamper.json``."""
    return out.with_name(out.name + ".tamper.json")
