"""Compare a medium with another copy: an archive (DIMSE or DICOMweb) or another medium.

The other side is searched for the studies found on the medium (C-FIND on Study, Series
and SOP Instance UID, or QIDO-RS), each instance present on both sides is fetched (C-GET
or WADO-RS) and compared attribute by attribute and frame by frame
(:mod:`dicomseal.pacs.diff`); instances present on one side only are listed. This is the
study's "cross-check with the original" control, answered at attribute level.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dicomseal.dicom.edits import AttributeChange
from dicomseal.errors import DicomSealError, MediaError
from dicomseal.media.bounded_read import read_dataset
from dicomseal.pacs.diff import FrameDifference, diff_datasets, diff_frames
from dicomseal.pacs.dimse import RemoteInstance
from dicomseal.pacs.medium import MediumInstance, read_header, spool_medium

__all__ = [
    "CompareReport",
    "InstanceComparison",
    "InstanceRef",
    "RemoteSide",
    "compare_media",
    "compare_with_remote",
]


@dataclass(frozen=True)
class InstanceRef:
    """An instance on one side: its UIDs and where it is (medium path, or empty)."""

    sop_instance_uid: str
    study_instance_uid: str
    series_instance_uid: str
    location: str = ""


@dataclass(frozen=True)
class InstanceComparison:
    """One instance present on both sides, and how the two copies differ.

    Attributes
    ----------
    left, right
        The instance on each side.
    attributes
        Attributes that differ (empty: identical attributes).
    frames
        Frames of Pixel Data that differ (empty: identical pixels).
    """

    left: InstanceRef
    right: InstanceRef
    attributes: tuple[AttributeChange, ...]
    frames: tuple[FrameDifference, ...]

    @property
    def identical(self) -> bool:
        """True when no attribute and no frame differs."""
        return not self.attributes and not self.frames


@dataclass(frozen=True)
class CompareReport:
    """Result of a comparison.

    Attributes
    ----------
    left, right
        What was compared (medium location; peer label or other medium).
    compared
        Instances present on both sides.
    only_left, only_right
        Instances of the compared studies present on one side only.
    """

    left: str
    right: str
    compared: tuple[InstanceComparison, ...]
    only_left: tuple[InstanceRef, ...]
    only_right: tuple[InstanceRef, ...]

    @property
    def identical(self) -> bool:
        """True when both sides hold the same instances with the same content."""
        return (
            not self.only_left and not self.only_right and all(c.identical for c in self.compared)
        )

    @property
    def differing(self) -> tuple[InstanceComparison, ...]:
        """The compared instances that differ."""
        return tuple(c for c in self.compared if not c.identical)

    @property
    def exit_code(self) -> int:
        """0 when identical, 1 when anything differs.

        Deprecated: asks the one exit policy, :func:`dicomseal.cli.exit.exit_code`.
        """
        from dicomseal.cli.exit import exit_code

        return exit_code(self)


def _ref(inst: MediumInstance) -> InstanceRef:
    return InstanceRef(
        inst.sop_instance_uid, inst.study_instance_uid, inst.series_instance_uid, inst.path
    )


def _compare_files(
    left: Path, right: Path
) -> tuple[tuple[AttributeChange, ...], tuple[FrameDifference, ...]]:
    try:  # through the bounded gate: no deflate bomb
        with left.open("rb") as fa, right.open("rb") as fb:
            a = read_dataset(fa, path=str(left), stop_before_pixels=False, defer_size=None)
            b = read_dataset(fb, path=str(right), stop_before_pixels=False, defer_size=None)
    except DicomSealError as exc:
        raise MediaError(f"cannot parse instance to compare: {exc.message}") from exc
    except Exception as exc:  # pydicom raises many types on broken input
        raise MediaError(f"cannot parse instance to compare: {exc}") from exc
    return tuple(diff_datasets(a, b)), tuple(diff_frames(a, b))


def _by_uid(instances: Iterable[MediumInstance]) -> dict[str, MediumInstance]:
    out: dict[str, MediumInstance] = {}
    for inst in instances:
        out.setdefault(inst.sop_instance_uid, inst)
    return out


def compare_media(left: str | Path, right: str | Path) -> CompareReport:
    """Compare two media (folders, ISO images or zips) instance by instance.

    Raises
    ------
    MediaError
        A medium cannot be read.
    """
    with spool_medium(left) as (_sa, ca), spool_medium(right) as (_sb, cb):
        la, lb = _by_uid(ca.instances), _by_uid(cb.instances)
        compared = []
        for uid in sorted(la.keys() & lb.keys()):
            attrs, frames = _compare_files(la[uid].local, lb[uid].local)
            compared.append(InstanceComparison(_ref(la[uid]), _ref(lb[uid]), attrs, frames))
        return CompareReport(
            ca.location,
            cb.location,
            tuple(compared),
            tuple(_ref(la[u]) for u in sorted(la.keys() - lb.keys())),
            tuple(_ref(lb[u]) for u in sorted(lb.keys() - la.keys())),
        )


@dataclass(frozen=True)
class RemoteSide:
    """How to search and fetch the other side (DIMSE or DICOMweb).

    Attributes
    ----------
    label
        The peer's label for the report.
    find
        Study Instance UIDs -> instances the peer holds in those studies.
    fetch
        (targets, folder, transfer syntaxes) -> SOP Instance UID -> fetched file.
    """

    label: str
    find: Callable[[Iterable[str]], list[RemoteInstance]]
    fetch: Callable[[list[RemoteInstance], Path, Iterable[str]], dict[str, Path]]


def compare_with_remote(location: str | Path, remote: RemoteSide) -> CompareReport:
    """Compare a medium with the copy held by a PACS.

    Raises
    ------
    PacsError
        The peer cannot be reached or refuses the query or retrieve.
    MediaError
        The medium cannot be read.
    """
    with spool_medium(location) as (_source, content):
        local = _by_uid(content.instances)
        studies = {i.study_instance_uid for i in content.instances if i.study_instance_uid}
        found = remote.find(studies) if studies else []
        remote_by_uid = {r.sop_instance_uid: r for r in found}
        both = sorted(local.keys() & remote_by_uid.keys())
        scratch = Path(tempfile.mkdtemp(prefix="dicomseal-compare-"))
        try:
            fetched = remote.fetch(
                [remote_by_uid[u] for u in both],
                scratch,
                {i.transfer_syntax_uid for i in content.instances},
            )
            compared: list[InstanceComparison] = []
            missing: list[str] = []
            for uid in both:
                path = fetched.get(uid)
                if path is None:
                    missing.append(uid)
                    continue
                attrs, frames = _compare_files(local[uid].local, path)
                study, series = read_header(path)[3:5]
                compared.append(
                    InstanceComparison(
                        _ref(local[uid]),
                        InstanceRef(uid, study, series, remote.label),
                        attrs,
                        frames,
                    )
                )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        only_left = sorted((local.keys() - remote_by_uid.keys()) | set(missing))
        only_right = sorted(remote_by_uid.keys() - local.keys())
        return CompareReport(
            content.location,
            remote.label,
            tuple(compared),
            tuple(_ref(local[u]) for u in only_left),
            tuple(
                InstanceRef(
                    u,
                    remote_by_uid[u].study_instance_uid,
                    remote_by_uid[u].series_instance_uid,
                    remote.label,
                )
                for u in only_right
            ),
        )
