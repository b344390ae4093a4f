"""Is this path a medium, and of which kind? (cheap: no DICOM or crypto imports)

A medium is a folder with ``DICOMDIR`` (PS3.10 §8.6) or a dicomseal manifest
(``docs/manifest.md``) at its root, an ISO 9660 image or a zip archive. Images and
archives are recognised by their content, never by their file name: the zip local-file
or end-of-directory signature at byte 0, ``CD001`` at byte 32769 (ECMA-119 §8.1).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal

__all__ = ["MANIFEST_DIR", "MANIFEST_PATH", "SIGNATURE_PATH", "detect_kind", "looks_like_medium"]

#: Folder of the signed manifest on a medium (ISO 9660 Level 1 safe names).
MANIFEST_DIR: Final = "DICOMSEA"
MANIFEST_PATH: Final = f"{MANIFEST_DIR}/MANIFEST.JSN"
SIGNATURE_PATH: Final = f"{MANIFEST_DIR}/MANIFEST.P7S"

MediumKind = Literal["folder", "iso", "zip"]


def detect_kind(path: str | os.PathLike[str]) -> MediumKind | None:
    """``folder``, ``iso`` or ``zip`` by what the path is and holds; ``None`` otherwise.

    Raises
    ------
    OSError
        The file exists but cannot be read.
    """
    p = Path(path)
    if p.is_dir():
        return "folder"
    if not p.is_file():
        return None
    with p.open("rb") as fh:
        head = fh.read(4)
        fh.seek(32769)
        iso_magic = fh.read(5)
    if head in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if iso_magic == b"CD001":
        return "iso"
    return None


def looks_like_medium(path: str | os.PathLike[str]) -> bool:
    """Whether ``dicomseal verify PATH`` should treat PATH as a whole medium.

    True for a folder with ``DICOMDIR`` or ``DICOMSEA/MANIFEST.JSN`` at its root (either
    case, as a Linux mount may lower-case ISO names), and for an ISO image or zip archive.
    """
    try:
        kind = detect_kind(path)
    except OSError:
        return False
    if kind != "folder":
        return kind is not None
    names = ("DICOMDIR", MANIFEST_PATH, "dicomdir", MANIFEST_PATH.lower())
    return any((Path(path) / name).is_file() for name in names)
