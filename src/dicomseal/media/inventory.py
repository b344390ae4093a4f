"""Every entry of a medium classified once: instance, DICOMDIR, manifest, other, OS
housekeeping, unsafe or unreadable.

The classes are decided from what one pass over the medium found (each file hashed and its
first 132 bytes read by :func:`~dicomseal.media.entry_check.check_entry`):

* **unsafe**: a structural red flag (symlink, path leaving the medium, special file, zip
  bomb, ambiguous archive); never opened;
* **unreadable**: its bytes could not be read (a read error, not proof of alteration);
* **manifest**: ``DICOMSEA/MANIFEST.JSN`` and its detached signature;
* **DICOMDIR**: the root ``DICOMDIR`` (PS3.10 §8.6; a DICOMDIR in a sub-folder is a Part 10
  file like any other and is verified as an instance);
* **instance**: a Part 10 file (``DICM`` at byte 128, PS3.10 §7.1);
* **housekeeping**: a file an operating system wrote (:mod:`dicomseal.media.housekeeping`)
  that is not DICOM, has no finding, is not in the manifest and not referenced by
  DICOMDIR (unless ``strict``);
* **other**: everything else (README, viewer, web content).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from dicomseal.media.entry_check import EntryResult
from dicomseal.media.housekeeping import is_os_artefact
from dicomseal.media.manifest import MANIFEST_PATH, SIGNATURE_PATH

__all__ = ["EntryClass", "InventoryEntry", "MediumInventory", "take_inventory"]


class EntryClass(enum.Enum):
    """What one entry of a medium is (stable JSON codes)."""

    INSTANCE = "instance"
    DICOMDIR = "dicomdir"
    MANIFEST = "manifest"
    OTHER = "other"
    HOUSEKEEPING = "housekeeping"
    UNSAFE = "unsafe"
    UNREADABLE = "unreadable"


@dataclass(frozen=True)
class InventoryEntry:
    """One entry, its class, and its size and SHA-256 when it was read."""

    path: str
    kind: EntryClass
    size: int
    sha256: str | None = None


@dataclass(frozen=True)
class MediumInventory:
    """Every entry of a medium, each classified once, sorted by path."""

    entries: tuple[InventoryEntry, ...] = ()

    def paths(self, kind: EntryClass) -> tuple[str, ...]:
        """The paths of every entry of class ``kind``."""
        return tuple(e.path for e in self.entries if e.kind is kind)

    def counts(self) -> dict[str, int]:
        """How many entries of each class (every class named, zeros included)."""
        return {k.value: sum(1 for e in self.entries if e.kind is k) for k in EntryClass}


def _classify(
    r: EntryResult, listed: Collection[str], referenced: Collection[str], strict: bool
) -> EntryClass:
    if r.sha256 is None and not r.read_error:
        return EntryClass.UNSAFE
    if r.read_error:
        return EntryClass.UNREADABLE
    if r.path == "DICOMDIR":
        return EntryClass.DICOMDIR
    if r.is_dicom:
        return EntryClass.INSTANCE
    if (
        not strict
        and is_os_artefact(r.path)
        and not r.findings
        and r.path not in listed
        and r.path.upper() not in referenced
    ):
        return EntryClass.HOUSEKEEPING
    return EntryClass.OTHER


def take_inventory(
    results: Mapping[str, EntryResult],
    manifest_files: Mapping[str, int],
    listed: Collection[str],
    referenced: Collection[str],
    *,
    strict: bool = False,
) -> MediumInventory:
    """Classify every entry of a medium once.

    Parameters
    ----------
    results
        What :func:`~dicomseal.media.entry_check.check_entry` found, by path.
    manifest_files
        Size of each manifest file present (checked apart from the other files).
    listed
        Paths the manifest lists.
    referenced
        Paths DICOMDIR references, upper-cased.
    strict
        Files an operating system wrote are ``other``, not ``housekeeping``.
    """
    out = [
        InventoryEntry(p, EntryClass.MANIFEST, size)
        for p, size in manifest_files.items()
        if p in (MANIFEST_PATH, SIGNATURE_PATH)
    ]
    out.extend(
        InventoryEntry(r.path, _classify(r, listed, referenced, strict), r.size, r.sha256)
        for r in results.values()
    )
    return MediumInventory(tuple(sorted(out, key=lambda e: e.path)))
