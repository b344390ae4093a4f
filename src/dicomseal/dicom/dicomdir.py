"""The one walk of a DICOMDIR's directory record tree (PS3.3 §F.3.2.2, PS3.10 §8.6).

Records are linked by byte offsets: Offset of the First Directory Record of the Root
Directory Entity (0004,1200), and in each record Offset of the Next Directory Record
(0004,1400) and Offset of Referenced Lower-Level Directory Entity (0004,1420). Offsets are
hostile input: :func:`walk_records` visits each record at most once (a loop is reported,
never followed again) and reports offsets that are not at a record, in the order it meets
them. Both media verification (findings) and the forensic reader (tree order, or the
positional fallback when the links are inconsistent) use it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "FIRST_RECORD",
    "LEVELS",
    "LOWER_ENTITY",
    "NEXT_RECORD",
    "DirectoryWalk",
    "WalkProblem",
    "link_value",
    "walk_records",
]

#: The hierarchy above the leaf records, top first (PS3.3 §F.4).
LEVELS: Final = ("PATIENT", "STUDY", "SERIES")
FIRST_RECORD: Final = 0x00041200
NEXT_RECORD: Final = 0x00041400
LOWER_ENTITY: Final = 0x00041420


class WalkProblem(enum.Enum):
    """What is wrong with an offset met on the walk."""

    LOOP = "loop"
    BAD_OFFSET = "bad-offset"
    MALFORMED_LINK = "malformed-link"  # the offset at which the record holding it sits


@dataclass(frozen=True)
class DirectoryWalk:
    """The records reached from the root, in tree order (pre-order), and the problems met.

    Attributes
    ----------
    order
        ``(offset, depth)`` of each record reached, root level depth 0.
    problems
        ``(problem, offset)`` in the order met.
    """

    order: tuple[tuple[int, int], ...]
    problems: tuple[tuple[WalkProblem, int], ...]


def link_value(rec: Any, tag: int) -> int | None:
    """A record's link to another record (PS3.3 F.3.2.2): 0 when absent, None if malformed.

    UL with VM 1; anything else (several values, text, a sequence) has no single reading.
    """
    if tag not in rec:
        return 0
    try:  # pydicom converts raw values lazily: a hostile length raises here
        value = rec[tag].value
    except Exception:
        return None
    if value is None or value == b"" or value == "":
        return 0
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def walk_records(records: Mapping[int, Any], root: int) -> DirectoryWalk:
    """Walk the tree of ``records`` (byte offset -> record dataset) from ``root``.

    A lower-level entity is visited before the next record of the same level.
    """
    visited: set[int] = set()
    order: list[tuple[int, int]] = []
    problems: list[tuple[WalkProblem, int]] = []
    stack: list[tuple[int, int]] = [(root, 0)] if root else []
    while stack:
        offset, depth = stack.pop()
        if offset in visited:
            problems.append((WalkProblem.LOOP, offset))
            continue
        if offset not in records:
            problems.append((WalkProblem.BAD_OFFSET, offset))
            continue
        visited.add(offset)
        order.append((offset, depth))
        rec = records[offset]
        nxt, lower = link_value(rec, NEXT_RECORD), link_value(rec, LOWER_ENTITY)
        if nxt is None or lower is None:
            problems.append((WalkProblem.MALFORMED_LINK, offset))
        if nxt:
            stack.append((nxt, depth))
        if lower:
            stack.append((lower, depth + 1))
    return DirectoryWalk(tuple(order), tuple(problems))
