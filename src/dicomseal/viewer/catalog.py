"""The patient / study / series / image tree of a medium, as the viewer browses it.

Instance files are found from the DICOMDIR's Referenced File IDs (PS3.3 §F.5; PS3.10 §8.5)
when the medium has one, otherwise by scanning every file for the Part 10 ``DICM`` prefix
(PS3.10 §7.1). A Referenced File ID that would leave the medium is recorded as a problem and
never opened. Each instance's header is read (pixel data is not; by the walker where its
reading is pydicom's, :mod:`dicomseal.viewer.header_values`) and the tree is grouped by
the identity values the viewer is allowed to show: where an attribute was altered and the
signed manifest records its value, the signed value is used (see
:meth:`~dicomseal.viewer.integrity.MediumIntegrity.shown`).

Every node gets a short opaque id (``p0``, ``t0``, ``s0``, ``i0``); the web routes look
nodes up by id, never by a path taken from a request.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from dicomseal.errors import DicomSealError, MediaError
from dicomseal.media.dicomdir import read_dicomdir
from dicomseal.media.source import MediaSource
from dicomseal.viewer.header_values import HeaderValues, read_header_values
from dicomseal.viewer.integrity import (
    InstanceIntegrity,
    IntegrityState,
    MediumIntegrity,
    MediumListing,
    ShownValue,
    worst_state,
)
from dicomseal.viewer.pixel_budget import MAX_FRAMES
from dicomseal.wording import counted

if TYPE_CHECKING:  # pydicom is loaded only where a header needs its reading
    from pydicom.dataset import Dataset

__all__ = [
    "DEMOGRAPHICS",
    "Catalog",
    "CatalogInstance",
    "CatalogPatient",
    "CatalogSeries",
    "CatalogStudy",
    "build_catalog",
    "note_header",
    "open_seekable",
]

#: Attributes shown in the overlay and the tree, in display order.
DEMOGRAPHICS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "AccessionNumber",
    "StudyDate",
    "StudyTime",
    "InstitutionName",
)
#: Header attributes read from every instance.
_HEADER = (
    *DEMOGRAPHICS,
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "SOPInstanceUID",
    "SOPClassUID",
    "Modality",
    "StudyDescription",
    "SeriesDescription",
    "SeriesNumber",
    "InstanceNumber",
    "NumberOfFrames",
    "Rows",
    "Columns",
)
_PIXEL_DATA = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
#: More instance files than this are not listed (bounded memory on hostile media).
MAX_INSTANCES = 50_000
#: A file read whole into memory (non-seekable media such as zip members) may not exceed this.
MAX_BUFFERED = 1024**3
_PREFIX = 132


@dataclass(frozen=True)
class CatalogInstance:
    """One instance file on the medium."""

    id: str
    path: str
    values: dict[str, str]
    frames: int
    has_pixels: bool
    integrity: InstanceIntegrity
    shown: dict[str, ShownValue]

    @property
    def state(self) -> IntegrityState:
        """Badge colour of this instance."""
        return self.integrity.state

    @functools.cached_property
    def marked(self) -> bool:
        """True when any value shown from it is marked (altered or unverified)."""
        return any(v.altered or v.unverified for v in self.shown.values())


@dataclass(frozen=True)
class CatalogSeries:
    """A series: instances sorted by Instance Number."""

    id: str
    uid: str
    shown: dict[str, ShownValue]
    instances: tuple[CatalogInstance, ...]

    @property
    def state(self) -> IntegrityState:
        """Worst badge of the series' instances."""
        return worst_state(i.state for i in self.instances)


@dataclass(frozen=True)
class CatalogStudy:
    """A study: its series and the demographics shown for it."""

    id: str
    uid: str
    shown: dict[str, ShownValue]
    series: tuple[CatalogSeries, ...]

    @property
    def state(self) -> IntegrityState:
        """Worst badge of the study's series."""
        return worst_state(s.state for s in self.series)


@dataclass(frozen=True)
class CatalogPatient:
    """A patient: studies grouped by the shown Patient ID and Name."""

    id: str
    shown: dict[str, ShownValue]
    studies: tuple[CatalogStudy, ...]

    @property
    def state(self) -> IntegrityState:
        """Worst badge of the patient's studies."""
        return worst_state(s.state for s in self.studies)


@dataclass(frozen=True)
class Catalog:
    """The browsable tree of a medium plus id lookups.

    Attributes
    ----------
    patients
        The tree.
    from_dicomdir
        True when instance files were found through the DICOMDIR.
    problems
        Structural problems met while building it (unsafe Referenced File IDs, unreadable
        files), one line each, without PHI.
    """

    patients: tuple[CatalogPatient, ...]
    from_dicomdir: bool
    problems: tuple[str, ...] = ()
    _instances: dict[str, CatalogInstance] = field(default_factory=dict, repr=False)
    _series: dict[str, CatalogSeries] = field(default_factory=dict, repr=False)
    _studies: dict[str, CatalogStudy] = field(default_factory=dict, repr=False)

    def instance(self, node_id: str) -> CatalogInstance | None:
        """Instance by id, or None."""
        return self._instances.get(node_id)

    def series(self, node_id: str) -> CatalogSeries | None:
        """Series by id, or None."""
        return self._series.get(node_id)

    def study(self, node_id: str) -> CatalogStudy | None:
        """Study by id, or None."""
        return self._studies.get(node_id)

    @property
    def instance_count(self) -> int:
        """Number of instances listed."""
        return len(self._instances)

    def series_of(self, instance_id: str) -> CatalogSeries | None:
        """The series holding an instance."""
        for series in self._series.values():
            if any(i.id == instance_id for i in series.instances):
                return series
        return None


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    return str(value).strip()


def _referenced(references: Iterable[str], names: set[str]) -> tuple[list[str], list[str]]:
    """Referenced files present on the medium, in record order, and the missing ones."""
    upper = {n.upper(): n for n in names}
    files: dict[str, None] = {}  # insertion-ordered, each name once
    problems: list[str] = []
    for ref in references:
        name = ref if ref in names else upper.get(ref.upper())
        if name is None:
            problems.append(f"DICOMDIR references a missing file: {ref}")
        else:
            files.setdefault(name)
    return list(files), problems


def _listing(source: MediaSource) -> MediumListing:
    """Instance files and DICOMDIR read from the medium (when verification gave none).

    The DICOMDIR is read by :func:`dicomseal.media.dicomdir.read_dicomdir` (bounded,
    loop-safe); references that leave the medium are reported and never opened.
    """
    dd = read_dicomdir(source, {e.path: e for e in source.entries()})
    return MediumListing(
        instances=tuple(_scan_files(source)),
        dicomdir=dd.present,
        references=tuple(r.path for r in dd.references),
        dicomdir_problems=tuple(f"DICOMDIR: {f.message}" for f in dd.findings if dd.present),
    )


def _scan_files(source: MediaSource) -> list[str]:
    """Files that start with a Part 10 preamble and ``DICM`` (PS3.10 §7.1)."""
    found: list[str] = []
    for entry in source.entries():
        if not entry.readable or entry.size < _PREFIX or entry.path.upper() == "DICOMDIR":
            continue
        try:
            with source.open(entry.path) as fh:
                head = fh.read(_PREFIX)
        except (MediaError, OSError):
            continue
        if head[128:132] == b"DICM":
            found.append(entry.path)
    return found


def open_seekable(source: MediaSource, path: str) -> BinaryIO:
    """Open a file of the medium for pydicom, which needs ``seek``/``tell``.

    Non-seekable members (zip) are read into memory, at most :data:`MAX_BUFFERED` bytes.
    """
    fh = source.open(path)
    if fh.seekable():
        return fh
    with fh:
        data = fh.read(MAX_BUFFERED + 1)
    if len(data) > MAX_BUFFERED:
        raise MediaError("file too large to read from this medium", path=path)
    return io.BytesIO(data)


def note_header(path: str, data: bytes) -> HeaderValues | None:
    """The header values of a Part 10 file (PS3.10 §7.1) from its bytes, None otherwise.

    Given to :func:`~dicomseal.media.frozen.freeze` as its ``note``: the values are read
    from the very bytes that verification reads and hashes, so the catalog lists them
    without reading the medium a second time.
    """
    if len(data) < _PREFIX or data[128:132] != b"DICM":
        return None
    try:
        return read_header_values(io.BytesIO(data), _HEADER, name=path)
    except (DicomSealError, OSError):
        return None


def _header_values(source: MediaSource, path: str) -> HeaderValues | str:
    """The header values of one instance, or why the file cannot be read.

    What :func:`note_header` made of the verified bytes when the snapshot kept it; else
    the walker's reading (:mod:`dicomseal.viewer.header_values`) where it is exactly
    pydicom's; otherwise pydicom's own, through the bounded gate.
    """
    note_of = getattr(source, "note_of", None)
    noted = note_of(path) if callable(note_of) else None
    if isinstance(noted, HeaderValues):
        return noted
    try:
        with open_seekable(source, path) as fh:
            fast = read_header_values(fh, _HEADER, name=path)
    except (DicomSealError, OSError):
        fast = None  # pydicom's reading below says why
    if fast is not None:
        return fast
    ds = _read_header(source, path)
    if isinstance(ds, str):
        return ds
    return HeaderValues({k: _text(ds, k) for k in _HEADER}, any(k in ds for k in _PIXEL_DATA))


def _read_header(source: MediaSource, path: str) -> Dataset | str:
    """The header attributes, through the bounded gate; or why the file cannot be read."""
    from dicomseal.media.bounded_read import read_dataset

    try:
        with open_seekable(source, path) as fh:
            # pixel data elements are listed (values deferred, never read) so that an
            # instance with Rows/Columns but no pixels shows "no image", not an error
            return read_dataset(
                fh, path=path, specific_tags=[*_HEADER, *_PIXEL_DATA], stop_before_pixels=False
            )
    except DicomSealError as exc:
        return exc.message
    except Exception as exc:  # hostile input: any parser failure means "unreadable"
        return type(exc).__name__


def _series_key(inst: CatalogInstance) -> tuple[str, str]:
    return (inst.shown["StudyInstanceUID"].text, inst.shown["SeriesInstanceUID"].text)


def _series_order(series: CatalogSeries) -> tuple[int, str]:
    try:
        return (int(series.shown["SeriesNumber"].text), series.uid)
    except ValueError:
        return (1 << 30, series.uid)


def _instance_order(inst: CatalogInstance) -> tuple[int, str]:
    raw = inst.shown["InstanceNumber"].text
    try:
        return (int(raw), inst.path)
    except ValueError:
        return (1 << 30, inst.path)


def _instance_files(
    source: MediaSource, listing: MediumListing | None
) -> tuple[list[str], bool, list[str]]:
    """The instance files to list, in DICOMDIR order first; whether DICOMDIR gave them.

    ``listing`` is what media verification found on this snapshot; without one the
    medium is scanned. An instance the DICOMDIR does not reference is listed anyway.
    """
    listing = listing if listing is not None else _listing(source)
    names = {e.path for e in source.entries() if e.readable}
    problems = list(listing.dicomdir_problems)
    files: list[str] = []
    if listing.dicomdir:
        files, missing = _referenced(listing.references, names)
        problems.extend(missing)
    if not files:
        return list(listing.instances), False, problems
    referenced = set(files)
    hidden = [p for p in listing.instances if p not in referenced]
    if hidden:
        # A DICOMDIR must not be able to hide an instance from the viewer.
        problems.append(
            f"{counted(len(hidden), 'instance file')} on the medium "
            f"{'is' if len(hidden) == 1 else 'are'} not referenced by the DICOMDIR; "
            f"{'it is' if len(hidden) == 1 else 'they are'} listed anyway"
        )
    return files + hidden, True, problems


def build_catalog(source: MediaSource, integrity: MediumIntegrity) -> Catalog:
    """Index the medium's instances into the patient / study / series / image tree.

    Parameters
    ----------
    source
        The medium, opened read-only.
    integrity
        The medium's verdict; decides which values are shown and how they are marked.

    Returns
    -------
    Catalog
        The tree; files that cannot be read are listed in :attr:`Catalog.problems`.
    """
    files, from_dicomdir, problems = _instance_files(source, integrity.listing)
    instances: list[CatalogInstance] = []
    for path in files[:MAX_INSTANCES]:
        header = _header_values(source, path)
        if isinstance(header, str):
            problems.append(f"not readable as DICOM: {path} ({header})")
            continue
        values = header.values
        shown = integrity.shown_all(path, {k: values[k] for k in _HEADER})
        try:  # a hostile count never makes more image ids than a frame can be shown for
            frames = min(max(1, int(values["NumberOfFrames"] or "1")), MAX_FRAMES)
        except ValueError:
            frames = 1
        instances.append(
            CatalogInstance(
                id=f"i{len(instances)}",
                path=path,
                values=values,
                frames=frames,
                has_pixels=bool(values["Rows"] and values["Columns"]) and header.has_pixel_data,
                integrity=integrity.for_instance(path),
                shown=shown,
            )
        )
    if len(files) > MAX_INSTANCES:
        problems.append(f"more than {MAX_INSTANCES} instance files: the rest are not listed")
    return _group(instances, from_dicomdir, tuple(problems))


def refreshed_catalog(catalog: Catalog, integrity: MediumIntegrity) -> Catalog:
    """``catalog`` under a later verdict on the same files (:meth:`MediumIntegrity.
    with_refused`): every instance's badge and shown values as ``integrity`` says, the tree
    and its ids as they were."""
    instances = [
        dataclasses.replace(
            inst,
            integrity=integrity.for_instance(inst.path),
            shown=integrity.shown_all(inst.path, {k: inst.values[k] for k in _HEADER}),
        )
        for inst in sorted(catalog._instances.values(), key=lambda i: int(i.id[1:]))
    ]
    return _group(instances, catalog.from_dicomdir, catalog.problems)


def _marked(value: ShownValue) -> bool:
    return value.altered or value.unverified


def _merge_shown(members: Iterable[CatalogInstance]) -> dict[str, ShownValue]:
    """Shown values of a group: the first marked value of any member wins (never hide one).

    A member without a marked value adds only values of attributes not seen yet: the
    others are passed over without looking at each of their values.
    """
    merged: dict[str, ShownValue] = {}
    for inst in members:
        if not inst.marked and inst.shown.keys() <= merged.keys():
            continue
        for key, value in inst.shown.items():
            current = merged.get(key)
            if current is None or (_marked(value) and not _marked(current)):
                merged[key] = value
    return merged


def _group(
    instances: Iterable[CatalogInstance], from_dicomdir: bool, problems: tuple[str, ...]
) -> Catalog:
    by_series: dict[tuple[str, str], list[CatalogInstance]] = {}
    for inst in instances:
        by_series.setdefault(_series_key(inst), []).append(inst)
    by_study: dict[str, list[CatalogSeries]] = {}
    study_first: dict[str, CatalogInstance] = {}
    series_index: dict[str, CatalogSeries] = {}
    for (study_uid, _series_uid), members in by_series.items():
        members.sort(key=_instance_order)
        first = members[0]
        series = CatalogSeries(
            id=f"s{len(series_index)}",
            uid=first.shown["SeriesInstanceUID"].text,
            shown=_merge_shown(members),
            instances=tuple(members),
        )
        series_index[series.id] = series
        by_study.setdefault(study_uid, []).append(series)
        study_first.setdefault(study_uid, first)
    by_patient: dict[tuple[str, str], list[CatalogStudy]] = {}
    study_index: dict[str, CatalogStudy] = {}
    for study_uid, series_list in by_study.items():
        first = study_first[study_uid]
        study = CatalogStudy(
            id=f"t{len(study_index)}",
            uid=study_uid,
            shown=_merge_shown(i for s in series_list for i in s.instances),
            series=tuple(sorted(series_list, key=_series_order)),
        )
        study_index[study.id] = study
        key = (first.shown["PatientID"].text, first.shown["PatientName"].text)
        by_patient.setdefault(key, []).append(study)
    patients = tuple(
        CatalogPatient(
            id=f"p{n}",
            shown=_merge_shown(i for t in studies for s in t.series for i in s.instances),
            studies=tuple(studies),
        )
        for n, (key, studies) in enumerate(sorted(by_patient.items()))
    )
    instance_index = {i.id: i for s in series_index.values() for i in s.instances}
    return Catalog(
        patients=patients,
        from_dicomdir=from_dicomdir,
        problems=problems,
        _instances=instance_index,
        _series=series_index,
        _studies=study_index,
    )
