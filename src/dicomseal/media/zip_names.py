"""Zip member names that every operating system extracts as the same, distinct files.

A name is extracted by Windows, macOS and Linux tools alike only when it holds no
character one of them treats specially, and two names are distinct files only when no
file system folds them together (PKWARE APPNOTE.TXT §4.4.17: ``/`` separates, names are
relative). Windows treats ``\\`` as a separator, ``:`` as a drive or alternate data
stream, refuses ``*?"<>|`` and control characters, strips trailing dots and spaces and
maps device names (``CON``, ``NUL``, ``COM1`` ...) to devices; NTFS and APFS/HFS+
compare case-insensitively, HFS+ stores Unicode NFD where other systems keep NFC.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Final

__all__ = ["name_clash", "name_key", "name_problem"]

_WINDOWS_FORBIDDEN: Final = frozenset('\\:*?"<>|')
_DEVICE_NAMES: Final = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def name_problem(name: str) -> str:
    """Why ``name`` would not extract as itself on every system; ``""`` when it would."""
    if not name or any(ord(c) < 0x20 or c == "\x7f" for c in name):
        return f"member name {name!r} is empty or holds control characters"
    bad = _WINDOWS_FORBIDDEN.intersection(name)
    if bad:
        return (
            f"member name {name!r} holds {''.join(sorted(bad))!r}, which Windows "
            "tools treat as a separator, drive or stream"
        )
    for part in name.rstrip("/").split("/"):
        if part in ("", "."):
            return f"member name {name!r} is not canonical (empty or '.' component)"
        if part.endswith((".", " ")) and part != "..":
            return f"member name {name!r}: Windows strips a trailing dot or space"
        if part.split(".", 1)[0].lower() in _DEVICE_NAMES:
            return f"member name {name!r} is a Windows device name"
    return ""


def name_key(name: str) -> str:
    """The file a name extracts to on the most forgiving system (for collisions).

    ``\\`` and ``/`` separate, empty and ``.`` components vanish, trailing dots and
    spaces are stripped (Windows), then Unicode NFC and case folding (Windows, macOS).
    """
    parts = [p.rstrip(". ") or p for p in name.replace("\\", "/").split("/")]
    kept = [p for p in parts if p not in ("", ".")]
    return unicodedata.normalize("NFC", "/".join(kept)).casefold()


def name_clash(names: Sequence[str]) -> str:
    """Two names that extract to the same file, or a file that is also a folder; ``""``.

    A name ending in ``/`` is a folder (APPNOTE §4.3.8).
    """
    seen: dict[str, str] = {}
    files: set[str] = set()
    for name in names:
        key = name_key(name)
        if key in seen:
            return f"{name!r} and {seen[key]!r} extract to the same file"
        seen[key] = name
        if not name.endswith("/"):
            files.add(key)
    for key, name in seen.items():
        parts = key.split("/")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in files:
                return f"{name!r} lies under a name that is a file"
    return ""
