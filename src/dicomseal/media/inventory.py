"""Every entry of a medium classified once: instance, DICOMDIR, manifest, other, OS
housekeeping, unsafe or unreadable.

The classes are decided from what one pass over the medium found (each file hashed and its
first 132 bytes read by :func:`~dicomseal.media.entry_check.check_entry`):

* **unsafe**: a structural red flag (symlink, path leaving the medium, special file, zip
  bomb, ambiguous archive); never opened;
* **unreadable**: its bytes could not be read (a read error, not proof of alteration);
* **manifest**: ``DICOMSEA/MANIFEST.JSN`` and its detached signature;
* **DICOMDIR**: a Part 10 file named ``DICOMDIR`` (any case, any folder: PS3.10 §8.6 puts
  the Basic Directory at the root, but a nested one is still a directory for every reader
  that finds it), unless its content says it is an instance;
* **instance**: a Part 10 file (``DICM`` at byte 128, PS3.10 §7.1);
* **housekeeping**: a file an operating system wrote (:mod:`dicomseal.media.housekeeping`)
  that is not DICOM (neither Part 10 nor a headerless data set), has no finding, is not
  in the manifest and not referenced by DICOMDIR (unless ``strict``);
* **other**: everything else (README, viewer, web content), and a Basic Directory stored
  under another name (a copy of a DICOMDIR is neither the directory nor an instance).

:func:`classify_file` is the one rule: media verification applies it to what it hashed
(the name decides whether a Part 10 file is a DICOMDIR), forensic ``inspect`` and
``tamper`` apply it to the parsed file meta, ``media create`` to its source files. A file
whose content or name says "directory" is never taken for an instance: it is signed and
compared as a directory (fail closed), and a manifest must cover it like any file.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dicomseal.media.housekeeping import is_os_artefact
from dicomseal.media.manifest import MANIFEST_PATH, SIGNATURE_PATH

if TYPE_CHECKING:  # entry_check applies this module's rule: no import at run time
    from pydicom.dataset import Dataset

    from dicomseal.media.entry_check import EntryResult

__all__ = [
    "MEDIA_STORAGE_DIRECTORY",
    "EntryClass",
    "InventoryEntry",
    "MediumInventory",
    "classify_file",
    "is_dicomdir_name",
    "is_directory_dataset",
    "is_housekeeping",
    "is_part10_head",
    "take_inventory",
]

#: Media Storage Directory Storage SOP Class (PS3.4 Annex B.5; the DICOMDIR's class).
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_DIRECTORY_RECORDS = 0x00041220  # Directory Record Sequence (PS3.3 F.3.2.2)


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


def is_part10_head(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) has ``DICM`` at byte 128 (PS3.10 §7.1)."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def is_housekeeping(path: str, *, part10: bool = False) -> bool:
    """True for a file an operating system wrote (:mod:`~dicomseal.media.housekeeping`)
    that is not a Part 10 file; callers also require that nothing references it.
    """
    return not part10 and is_os_artefact(path)


def is_dicomdir_name(path: str) -> bool:
    """True when the last component of ``path`` is ``DICOMDIR`` in any case (PS3.10 §8.6).

    Case is folded because ISO 9660 readers and Windows do: ``dicomdir`` is opened as
    ``DICOMDIR`` by some readers, so it is a directory for all of them.
    """
    return path.rsplit("/", 1)[-1].upper() == "DICOMDIR"


def is_directory_dataset(ds: Dataset) -> bool:
    """True when any part of a parsed file says "Basic Directory" (PS3.10 §7.2, PS3.3 F).

    The File Meta's Media Storage SOP Class, the data set's SOP Class or a Directory Record
    Sequence: one of them is enough (readers differ in which one they look at).
    """
    meta = getattr(ds, "file_meta", None)
    media_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
    sop_class = str(ds.get("SOPClassUID", ""))
    return MEDIA_STORAGE_DIRECTORY in (media_class, sop_class) or _DIRECTORY_RECORDS in ds


def classify_file(path: str, *, part10: bool, directory: bool | None = None) -> EntryClass:
    """The class of one readable file: instance, DICOMDIR or other.

    Parameters
    ----------
    path
        Medium- or source-relative POSIX path.
    part10
        ``DICM`` at byte 128 (PS3.10 §7.1).
    directory
        What the parsed content says (:func:`is_directory_dataset`), or None when only
        the head was read; then the name decides.
    """
    if not part10:
        return EntryClass.OTHER
    named = is_dicomdir_name(path)
    if directory is None:
        return EntryClass.DICOMDIR if named else EntryClass.INSTANCE
    if directory:
        return EntryClass.DICOMDIR if named else EntryClass.OTHER
    return EntryClass.INSTANCE


def _classify(
    r: EntryResult, listed: Collection[str], referenced: Collection[str], strict: bool
) -> EntryClass:
    if r.sha256 is None and not r.read_error:
        return EntryClass.UNSAFE
    if r.read_error:
        return EntryClass.UNREADABLE
    if r.path == "DICOMDIR":  # the root directory, even when it is not Part 10
        return EntryClass.DICOMDIR
    if r.is_dicom:
        return classify_file(r.path, part10=True)
    if (
        not strict
        and is_housekeeping(r.path, part10=r.is_dicom)
        and not r.data_set
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
