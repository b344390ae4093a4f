"""One pass over a medium that collects everything the rules look at (all I/O is here).

The rules in :mod:`dicomseal.forensics.rules` are pure functions of a :class:`Snapshot`.
Each file is opened once, through :mod:`dicomseal.media.source` (no symlink is followed,
nothing is executed); pixel data is never loaded (``defer_size``), and every parse goes
through the bounded gate :mod:`dicomseal.media.bounded_read` (a deflated data set is
inflated under a cap, a deflate bomb is refused). Anything that cannot be read is recorded
as a problem of that file, not raised.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, BinaryIO

from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from dicomseal.errors import MediaError, describe_read_error
from dicomseal.forensics.directory import DirectoryTree, read_directory
from dicomseal.forensics.fileformat import HeaderProbe, probe_header
from dicomseal.forensics.values import text_of
from dicomseal.forensics.vendor_index import (
    MAX_INDEX_BYTES,
    VendorIndex,
    index_format,
    read_index,
)
from dicomseal.media.bounded_read import read_dataset
from dicomseal.media.inventory import (
    EntryClass,
    classify_file,
    is_directory_dataset,
)
from dicomseal.media.source import MediaEntry, MediaSource

__all__ = [
    "DicomDir",
    "Instance",
    "IsoInfo",
    "OtherFile",
    "Snapshot",
    "leaf_path",
    "take_snapshot",
]

#: Top-level attributes kept per instance (the seven fields of the study and their kin).
KEYWORDS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "PatientSize",
    "PatientWeight",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "AccessionNumber",
    "StudyID",
    "StudyDescription",
    "InstitutionName",
    "ReferringPhysicianName",
    "SeriesInstanceUID",
    "SeriesNumber",
    "Modality",
    "SeriesDate",
    "SeriesTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "AcquisitionDateTime",
    "ContentDate",
    "ContentTime",
    "InstanceCreationDate",
    "InstanceCreationTime",
    "SOPClassUID",
    "SOPInstanceUID",
    "InstanceNumber",
    "Manufacturer",
    "ManufacturerModelName",
    "DeviceSerialNumber",
    "StationName",
    "SoftwareVersions",
    "SpecificCharacterSet",
    "TimezoneOffsetFromUTC",
    "FrameOfReferenceUID",
)
META_KEYWORDS: tuple[str, ...] = (
    "MediaStorageSOPClassUID",
    "MediaStorageSOPInstanceUID",
    "TransferSyntaxUID",
    "ImplementationClassUID",
    "ImplementationVersionName",
    "SourceApplicationEntityTitle",
)
_HEAD = 512
#: Unseekable members (zip) larger than this are spooled to a temporary file.
_SPOOL = 16 * 1024 * 1024


@dataclass(frozen=True)
class Instance:
    """A DICOM Part 10 file on the medium, reduced to what the rules compare."""

    path: str
    size: int
    attrs: Mapping[str, str]
    meta: Mapping[str, str]
    probe: HeaderProbe
    trailing_padding: bool
    dataset_group_lengths: bool
    uids: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class OtherFile:
    """A file that is not a DICOM instance (index, viewer, autorun, README...)."""

    path: str
    size: int
    head: bytes
    problem: str | None = None


@dataclass(frozen=True)
class DicomDir:
    """One DICOMDIR (``folder`` is where its File IDs are rooted, ``""`` at the top)."""

    path: str
    folder: str
    tree: DirectoryTree
    meta: Mapping[str, str]


@dataclass(frozen=True)
class IsoInfo:
    """ISO 9660 volume descriptor fields and per-file recording dates (ECMA-119 §8.4, §9.1.5)."""

    volume_created: dt.datetime | None
    volume_modified: dt.datetime | None
    identifiers: Mapping[str, str]
    record_dates: Mapping[str, dt.datetime]


@dataclass(frozen=True)
class Snapshot:
    """Everything read from one medium."""

    location: str
    kind: str
    entries: tuple[MediaEntry, ...]
    instances: tuple[Instance, ...]
    others: tuple[OtherFile, ...]
    dicomdirs: tuple[DicomDir, ...]
    indexes: tuple[VendorIndex, ...]
    iso: IsoInfo | None
    unreadable: Mapping[str, str]

    @functools.cached_property
    def _names(self) -> Mapping[str, str]:
        return {e.path.upper(): e.path for e in self.entries}

    @functools.cached_property
    def _by_path(self) -> Mapping[str, Instance]:
        return {i.path: i for i in self.instances}

    def lookup(self, path: str) -> str | None:
        """The medium's own name for ``path`` (exact, else case-insensitive), or ``None``."""
        return self._names.get(path.upper())

    def instance(self, path: str) -> Instance | None:
        """The parsed instance at ``path``, or ``None``."""
        return self._by_path.get(path)


def leaf_path(folder: str, file_id: tuple[str, ...]) -> str:
    """Medium path of a Referenced File ID relative to its DICOMDIR's folder (PS3.10 §8.2)."""
    rel = "/".join(file_id)
    return f"{folder}/{rel}" if folder else rel


_UID_KEYWORDS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")


def _values(ds: Dataset, keywords: tuple[str, ...], problems: list[str]) -> dict[str, str]:
    """Decoded values of ``keywords``; an element pydicom cannot decode becomes a problem.

    pydicom decodes lazily and raises many exception types on hostile bytes (unknown VR,
    bad length, deferred value without a file name), hence the broad catch.
    """
    out: dict[str, str] = {}
    for kw in keywords:
        try:
            if kw in ds:
                out[kw] = text_of(ds[kw].value)
        except Exception as exc:  # see docstring
            problems.append(f"{kw}: {type(exc).__name__}: {str(exc)[:120]}")
    return out


def _meta_text(ds: Dataset, problems: list[str] | None = None) -> dict[str, str]:
    meta = getattr(ds, "file_meta", None) or Dataset()
    return _values(meta, META_KEYWORDS, problems if problems is not None else [])


def _instance(path: str, size: int, ds: Dataset, probe: HeaderProbe) -> Instance:
    problems: list[str] = []
    attrs = _values(ds, KEYWORDS, problems)
    uids = _values(ds, _UID_KEYWORDS, [])
    group_lengths = any(tag.element == 0 and tag.group not in (0x0002,) for tag in ds.keys())
    return Instance(
        path=path,
        size=size,
        attrs=MappingProxyType(attrs),
        meta=MappingProxyType(_meta_text(ds, problems)),
        probe=probe,
        trailing_padding=0xFFFCFFFC in ds,
        dataset_group_lengths=group_lengths,
        uids=MappingProxyType(uids),
        problems=tuple(problems),
    )


def _parse(fh: Any, path: str, *, defer: bool = True) -> Dataset:
    """Parse through the bounded gate (a deflated data set is inflated at most 256 MiB)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deviations become findings, not warnings
        return read_dataset(
            fh, path=path, stop_before_pixels=False, defer_size=1024 if defer else None
        )


def _iso_datetime(obj: Any, *, record: bool) -> dt.datetime | None:
    try:
        if record:
            year = 1900 + int(obj.years_since_1900)
            month, day = int(obj.month), int(obj.day_of_month)
        else:
            year, month, day = int(obj.year), int(obj.month), int(obj.dayofmonth)
        offset = dt.timedelta(minutes=15 * int(obj.gmtoffset))
        if offset.total_seconds() > 13 * 3600 or offset.total_seconds() < -12 * 3600:
            offset = dt.timedelta(0)
        return dt.datetime(
            year,
            month,
            day,
            int(obj.hour),
            int(obj.minute),
            int(obj.second),
            tzinfo=dt.timezone(offset),
        )
    except (AttributeError, ValueError, TypeError, OverflowError):
        return None


def _clean_iso_name(name: str) -> str:
    name = name.split(";", 1)[0]
    return name[:-1] if name.endswith(".") else name


def _iso_info(iso: Any) -> IsoInfo:
    pvd = getattr(iso, "pvd", None)
    idents: dict[str, str] = {}
    for name in (
        "system_identifier",
        "volume_identifier",
        "publisher_identifier",
        "preparer_identifier",
        "application_identifier",
    ):
        raw = getattr(pvd, name, b"")
        raw = getattr(raw, "text", raw)
        idents[name] = text_of(raw if isinstance(raw, bytes | str) else str(raw))
    key = "rr_path" if iso.has_rock_ridge() else ("joliet_path" if iso.has_joliet() else "iso_path")
    dates: dict[str, dt.datetime] = {}
    try:
        for dirpath, _dirs, files in iso.walk(**{key: "/"}):
            for name in files:
                full = dirpath.rstrip("/") + "/" + name
                rec = iso.get_record(**{key: full})
                when = _iso_datetime(getattr(rec, "date", None), record=True)
                rel = "/".join(_clean_iso_name(p) for p in full.strip("/").split("/"))
                if when is not None:
                    dates[rel] = when
    except Exception:  # noqa: S110 - pycdlib raises many types on broken images
        pass
    return IsoInfo(
        volume_created=_iso_datetime(getattr(pvd, "volume_creation_date", None), record=False),
        volume_modified=_iso_datetime(getattr(pvd, "volume_modification_date", None), record=False),
        identifiers=MappingProxyType(idents),
        record_dates=MappingProxyType(dates),
    )


@contextlib.contextmanager
def _seekable(fh: BinaryIO) -> Iterator[BinaryIO]:
    """``fh`` itself, or a spooled copy when it cannot seek (zip members)."""
    if fh.seekable():
        yield fh
        return
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL) as spool:
        shutil.copyfileobj(fh, spool, 1024 * 1024)
        spool.seek(0)
        yield spool  # type: ignore[misc]


def _read_dicom(
    source: MediaSource, entry: MediaEntry
) -> tuple[Dataset | None, HeaderProbe | None, bytes, str | None]:
    try:
        with source.open(entry.path) as raw, _seekable(raw) as fh:
            head = fh.read(_HEAD)
            fh.seek(0)
            probe = probe_header(fh)
            if not probe.is_part10:
                data = head
                if index_format(entry.path, head) is not None and entry.size <= MAX_INDEX_BYTES:
                    fh.seek(0)
                    data = fh.read(MAX_INDEX_BYTES)
                return None, None, data, None
            fh.seek(0)
            ds = _parse(fh, entry.path)
            if is_directory_dataset(ds) and entry.size <= MAX_INDEX_BYTES:
                fh.seek(0)
                ds = _parse(fh, entry.path, defer=False)  # records are needed in full
            return ds, probe, head, None
    except (InvalidDicomError, MediaError, OSError) as exc:
        return None, None, b"", describe_read_error(exc)
    except Exception as exc:  # hostile bytes: pydicom raises anything
        return None, None, b"", describe_read_error(exc)


def _classify(
    entry: MediaEntry, ds: Dataset, probe: HeaderProbe
) -> Instance | DicomDir | OtherFile:
    """Instance, DICOMDIR or a directory copy, by the medium's one rule (``classify_file``)."""
    kind = classify_file(entry.path, part10=True, directory=is_directory_dataset(ds))
    if kind is EntryClass.INSTANCE:
        return _instance(entry.path, entry.size, ds, probe)
    if kind is not EntryClass.DICOMDIR:
        return OtherFile(entry.path, entry.size, b"", "directory-copy")
    folder = entry.path.rsplit("/", 1)[0] if "/" in entry.path else ""
    return DicomDir(entry.path, folder, read_directory(ds), MappingProxyType(_meta_text(ds)))


def take_snapshot(source: MediaSource) -> Snapshot:
    """Read a medium once and collect what the rules need.

    Parameters
    ----------
    source
        An open :class:`~dicomseal.media.source.MediaSource`.
    """
    entries = tuple(source.entries())
    instances: list[Instance] = []
    others: list[OtherFile] = []
    dirs: list[DicomDir] = []
    indexes: list[VendorIndex] = []
    unreadable: dict[str, str] = {}
    for entry in entries:
        if not entry.readable:
            continue
        ds, probe, data, error = _read_dicom(source, entry)
        if error is not None:
            unreadable[entry.path] = error
            continue
        if ds is None or probe is None:
            fmt = index_format(entry.path, data)
            if fmt is not None:
                indexes.append(read_index(entry.path, fmt, data))
            others.append(OtherFile(entry.path, entry.size, data[:_HEAD]))
            continue
        try:
            item = _classify(entry, ds, probe)
        except Exception as exc:  # hostile bytes: pydicom raises anything
            unreadable[entry.path] = f"{type(exc).__name__}: {str(exc)[:200]}"
            continue
        if isinstance(item, Instance):
            instances.append(item)
        elif isinstance(item, DicomDir):
            dirs.append(item)
        else:
            others.append(item)
    # By kind, not by class: a private copy of an ISO medium keeps its pycdlib object.
    pycdlib_obj = getattr(source, "pycdlib", None) if source.kind == "iso" else None
    iso = _iso_info(pycdlib_obj) if pycdlib_obj is not None else None
    return Snapshot(
        location=source.location,
        kind=source.kind,
        entries=entries,
        instances=tuple(instances),
        others=tuple(others),
        dicomdirs=tuple(dirs),
        indexes=tuple(indexes),
        iso=iso,
        unreadable=MappingProxyType(unreadable),
    )
