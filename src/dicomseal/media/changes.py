"""Localise a change: which attributes and frames of an instance differ from the manifest.

Given the manifest's :class:`~dicomseal.media.manifest.InstanceRecord` (signed digests of
every top-level element and frame, signed identity values) and a fresh one-pass digest of
the file found on the medium (:func:`~dicomseal.media.digests.digest_stream`), list:

* attributes whose stored bytes differ, were removed or were added, with the signed and
  the found value for the identity attributes (e.g. PatientName signed ``DOE^JOHN``,
  found ``ROE^JANE``), and the keyword alone for the others;
* the indices of frames whose pixel bytes differ, and any change in the number of frames;
* an instance replaced by another one (a different SOP Instance UID).

Each attribute is the one :class:`~dicomseal.dicom.edits.AttributeChange` record, its
``before`` the signed value and ``after`` the value found (also named ``signed`` and
``found``). :attr:`FileChange.detail` says whether the lists are complete.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from dicomseal.dicom.edits import AttributeChange, ChangeKind, kind_of
from dicomseal.errors import MediaError
from dicomseal.media.digests import IDENTITY_KEYWORDS, InstanceDigests, digest_stream, format_tag
from dicomseal.media.manifest import FileRole, InstanceRecord

__all__ = ["AttributeChange", "ChangeDetail", "ChangeKind", "FileChange", "localise_change"]


class ChangeDetail(enum.Enum):
    """How far the change of a file could be localised (what the viewer may rely on)."""

    #: Attributes and frames compared with the signed digests: the lists are complete.
    LOCALISED = "localised"
    #: Not an instance in the manifest: size and SHA-256 are all there is to compare.
    WHOLE_FILE = "whole-file"
    #: Another instance (a different SOP Instance UID) took its place.
    REPLACED = "replaced"
    #: The found file could not be read or compared: which values changed is unknown.
    NOT_LOCALISED = "not-localised"


@dataclass(frozen=True)
class FileChange:
    """A file whose size or SHA-256 differs from the manifest, and what changed inside it."""

    path: str
    role: FileRole
    signed_size: int
    found_size: int
    signed_sha256: str
    found_sha256: str
    attributes: tuple[AttributeChange, ...] = ()
    frames: tuple[int, ...] = ()
    signed_frames: int = 0
    found_frames: int = 0
    replaced_by: str | None = None
    note: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    detail: ChangeDetail = ChangeDetail.NOT_LOCALISED

    @property
    def detail_complete(self) -> bool:
        """True when :attr:`attributes` and :attr:`frames` name everything that changed."""
        return self.detail in (ChangeDetail.LOCALISED, ChangeDetail.WHOLE_FILE)


def _keyword(tag: str) -> str:
    from pydicom.datadict import keyword_for_tag  # the data dictionary, only for a change

    value = int(tag[1:5] + tag[6:10], 16)
    return keyword_for_tag(value) or tag


def compare_instance(
    record: InstanceRecord, found: InstanceDigests
) -> tuple[tuple[AttributeChange, ...], tuple[int, ...], str | None]:
    """Attribute changes, changed frame indices and a replacing SOP Instance UID, if any."""
    found_attrs = {format_tag(e.tag): e.sha256 for e in found.elements}
    changes: list[AttributeChange] = []
    for tag in sorted(set(record.attributes) | set(found_attrs)):
        signed_digest = record.attributes.get(tag)
        found_digest = found_attrs.get(tag)
        if signed_digest == found_digest:
            continue
        kw = _keyword(tag)
        kind = kind_of(signed_digest, found_digest)
        if kw in IDENTITY_KEYWORDS:
            changes.append(
                AttributeChange(tag, kw, kind, record.identity.get(kw), found.values.get(kw))
            )
        else:
            changes.append(AttributeChange(tag, kw, kind))
    frames = tuple(
        i
        for i in range(max(len(record.frames), len(found.frames)))
        if i >= len(record.frames) or i >= len(found.frames) or record.frames[i] != found.frames[i]
    )
    replaced = (
        found.sop_instance_uid
        if found.sop_instance_uid and found.sop_instance_uid != record.sop_instance_uid
        else None
    )
    return tuple(changes), frames, replaced


def localise_change(
    path: str,
    role: FileRole,
    signed_size: int,
    signed_sha256: str,
    record: InstanceRecord | None,
    found_size: int,
    found_sha256: str,
    open_found: BinaryIO | None,
) -> FileChange:
    """Build the :class:`FileChange` for a changed file, re-reading it when it is an instance.

    Parameters
    ----------
    open_found
        The found file opened for reading from byte 0, when the manifest says it is an
        instance; it is walked once in bounded memory.
    """
    plain = FileChange(path, role, signed_size, found_size, signed_sha256, found_sha256)
    if record is None:
        return replace(plain, detail=ChangeDetail.WHOLE_FILE)
    if open_found is None:
        return plain
    try:
        found = digest_stream(open_found, found_size)
    except MediaError as exc:
        return replace(plain, note=f"found file cannot be read as DICOM: {exc.message}")
    attrs, frames, replaced = compare_instance(record, found)
    note = ""
    if replaced:
        note = (
            f"instance replaced: SOP Instance UID {replaced} instead of {record.sop_instance_uid}"
        )
    elif not attrs and not frames:
        note = "only bytes outside the data set changed (preamble or trailing data)"
    return replace(
        plain,
        attributes=attrs,
        frames=frames,
        signed_frames=len(record.frames),
        found_frames=len(found.frames),
        replaced_by=replaced,
        note=note,
        detail=ChangeDetail.REPLACED if replaced else ChangeDetail.LOCALISED,
    )
