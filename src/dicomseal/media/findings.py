"""Findings about a medium's structure: hostile or inconsistent content, never followed.

Each finding has a stable code, the path it concerns, one human sentence, and the verdict
it forces at least (a hostile structure is FAILED; a suspicious one INDETERMINATE).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dicomseal.verdict import Verdict

__all__ = ["FindingCode", "MediaFinding"]


class FindingCode(enum.Enum):
    """What was found. The value is the stable JSON code."""

    SYMLINK = "symlink"
    SYMLINK_LEAVES_MEDIUM = "symlink-leaves-medium"
    PATH_TRAVERSAL = "path-traversal"
    ABSOLUTE_PATH = "absolute-path"
    SPECIAL_FILE = "special-file"
    ZIP_BOMB = "zip-bomb"
    AUTORUN = "autorun"
    EXECUTABLE_PREAMBLE = "executable-preamble"
    UNREADABLE_FILE = "unreadable-file"
    DICOMDIR_MISSING = "dicomdir-missing"
    DICOMDIR_MALFORMED = "dicomdir-malformed"
    DICOMDIR_TOO_LARGE = "dicomdir-too-large"
    DICOMDIR_LOOP = "dicomdir-record-loop"
    DICOMDIR_BAD_OFFSET = "dicomdir-offset-outside-file"
    DICOMDIR_PATH_TRAVERSAL = "dicomdir-path-traversal"
    DICOMDIR_ABSOLUTE_PATH = "dicomdir-absolute-path"
    DICOMDIR_NONCONFORMANT_FILE_ID = "dicomdir-nonconformant-file-id"
    DICOMDIR_REFERENCE_MISSING = "dicomdir-reference-missing"
    DICOMDIR_UID_MISMATCH = "dicomdir-uid-mismatch"
    DICOMDIR_UNREFERENCED_INSTANCE = "dicomdir-unreferenced-instance"
    ISO_FACADES_DIFFER = "iso-namespaces-differ"
    ISO_AMBIGUOUS_NAMESPACES = "ambiguous-iso-namespaces"
    ISO_BOOT_RECORD = "iso-boot-record"
    AMBIGUOUS_ARCHIVE = "ambiguous-archive"

    @property
    def floor(self) -> Verdict:
        """The best verdict a medium with this finding can get."""
        return Verdict.INDETERMINATE if self in _SUSPICIOUS else Verdict.FAILED


_SUSPICIOUS = frozenset(
    {
        FindingCode.SYMLINK,
        FindingCode.SPECIAL_FILE,
        FindingCode.AUTORUN,
        FindingCode.UNREADABLE_FILE,
        FindingCode.DICOMDIR_MISSING,
        FindingCode.DICOMDIR_NONCONFORMANT_FILE_ID,
        FindingCode.DICOMDIR_UNREFERENCED_INSTANCE,
        FindingCode.ISO_BOOT_RECORD,
    }
)


@dataclass(frozen=True)
class MediaFinding:
    """One structural finding on a medium."""

    code: FindingCode
    path: str
    message: str

    @property
    def verdict(self) -> Verdict:
        """The verdict this finding forces at least."""
        return self.code.floor
