"""Localise a change: which attributes and frames of an instance differ from the manifest.

Given the manifest's :class:`~dicomseal.media.manifest.InstanceRecord` (signed digests of
every top-level element and frame, signed identity values) and a fresh one-pass digest of
the file found on the medium (:func:`~dicomseal.media.digests.digest_stream`), list:

* attributes whose stored bytes differ, were removed or were added, with the signed and
  the found value for the identity attributes (e.g. PatientName signed ``DOE^JOHN``,
  found ``ROE^JANE``), and the keyword alone for the others;
* the indices of frames whose pixel bytes differ, and any change in the number of frames;
* an instance replaced by another one (a different SOP Instance UID);
* the attributes that say how *other* bytes are read (:data:`VALUE_CONTEXT`,
  :data:`PIXEL_CONTEXT`): when one of them changed, values and pixels whose own bytes are
  intact may still show differently (the same name bytes read under another Specific
  Character Set, PS3.5 §6.1; the same pixels inverted by another Photometric
  Interpretation, PS3.3 C.7.6.3), so they are not proven by their digests.

An identity value whose decoded text differs from the signed one is a change even when
its bytes are intact: what a reader shows is the text, not the bytes.

Each attribute is the one :class:`~dicomseal.dicom.edits.AttributeChange` record, its
``before`` the signed value and ``after`` the value found (also named ``signed`` and
``found``). :attr:`FileChange.detail` says whether the lists are complete.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import BinaryIO, Final

from dicomseal.dicom.edits import AttributeChange, ChangeKind, kind_of
from dicomseal.errors import MediaError
from dicomseal.media.digests import (
    IDENTITY_KEYWORDS,
    IDENTITY_TAGS,
    FrameUnit,
    InstanceDigests,
    digest_stream,
    format_tag,
)
from dicomseal.media.manifest import FileRole, InstanceRecord

__all__ = [
    "PIXEL_CONTEXT",
    "VALUE_CONTEXT",
    "AttributeChange",
    "ChangeDetail",
    "ChangeKind",
    "FileChange",
    "localise_change",
]

#: Attributes that say how the other values' bytes are read: the character sets of every
#: text value (PS3.5 §6.1.2.3) and the transfer syntax of the whole data set (PS3.5 §10).
#: A change to one leaves no other value proven by its intact digest.
VALUE_CONTEXT: Final = frozenset({"SpecificCharacterSet", "TransferSyntaxUID"})
#: Attributes that say how the Pixel Data bytes become an image on screen or a measure:
#: Image Pixel (PS3.3 C.7.6.3) and Multi-frame (C.7.6.6) descriptions, the palette and ICC
#: profile, Modality LUT (C.11.1), VOI LUT (C.11.2), Presentation LUT (C.11.4), the pixel
#: spacing and calibration (C.7.6.2, C.8.11.4, C.10.7.1.3), the functional groups that
#: carry all of these in enhanced objects (C.7.6.16), and ultrasound regions (C.8.5.5).
#: A change to one leaves no frame proven by its intact digest.
PIXEL_CONTEXT: Final = frozenset(
    {
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "PlanarConfiguration",
        "Rows",
        "Columns",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "NumberOfFrames",
        "FrameIncrementPointer",
        "PixelAspectRatio",
        "PixelPaddingValue",
        "PixelPaddingRangeLimit",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
        "RedPaletteColorLookupTableDescriptor",
        "GreenPaletteColorLookupTableDescriptor",
        "BluePaletteColorLookupTableDescriptor",
        "AlphaPaletteColorLookupTableDescriptor",
        "RedPaletteColorLookupTableData",
        "GreenPaletteColorLookupTableData",
        "BluePaletteColorLookupTableData",
        "AlphaPaletteColorLookupTableData",
        "SegmentedRedPaletteColorLookupTableData",
        "SegmentedGreenPaletteColorLookupTableData",
        "SegmentedBluePaletteColorLookupTableData",
        "SegmentedAlphaPaletteColorLookupTableData",
        "PaletteColorLookupTableUID",
        "ICCProfile",
        "ColorSpace",
        "RescaleIntercept",
        "RescaleSlope",
        "RescaleType",
        "ModalityLUTSequence",
        "WindowCenter",
        "WindowWidth",
        "VOILUTFunction",
        "VOILUTSequence",
        "PresentationLUTShape",
        "PresentationLUTSequence",
        "PixelIntensityRelationship",
        "PixelIntensityRelationshipSign",
        "PixelSpacing",
        "ImagerPixelSpacing",
        "NominalScannedPixelSpacing",
        "PixelSpacingCalibrationType",
        "EstimatedRadiographicMagnificationFactor",
        "SpacingBetweenSlices",
        "SliceThickness",
        "ImageOrientationPatient",
        "ImagePositionPatient",
        "PatientOrientation",
        "SharedFunctionalGroupsSequence",
        "PerFrameFunctionalGroupsSequence",
        "SequenceOfUltrasoundRegions",
        "ExtendedOffsetTable",
        "ExtendedOffsetTableLengths",
        "FloatPixelPaddingValue",
        "DoubleFloatPixelPaddingValue",
    }
)


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
    #: Changed attributes of :data:`VALUE_CONTEXT` and :data:`PIXEL_CONTEXT`, in that order.
    context: tuple[str, ...] = ()
    #: What :attr:`frames` count: frames, or fragments of encapsulated Pixel Data that
    #: could not be told apart into frames (PS3.5 §A.4, no offset table): a fragment
    #: number is then no frame number.
    frame_unit: FrameUnit = FrameUnit.FRAME

    @property
    def values_reread(self) -> bool:
        """Whether an attribute that says how the other values are read changed: a value
        not listed in :attr:`attributes` is then not proven unchanged."""
        return any(k in VALUE_CONTEXT for k in self.context)

    @property
    def pixels_reread(self) -> bool:
        """Whether an attribute that says how the pixels become an image changed: no
        frame is then proven to show as signed, whatever :attr:`frames` says."""
        return any(k in PIXEL_CONTEXT for k in self.context)

    @property
    def detail_complete(self) -> bool:
        """True when :attr:`attributes` and :attr:`frames` name everything that changed,
        as it is read (no attribute that says how other values are read changed)."""
        return (
            self.detail in (ChangeDetail.LOCALISED, ChangeDetail.WHOLE_FILE)
            and not self.values_reread
        )


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
    changes.extend(_read_differently(record, found, {c.keyword for c in changes}))
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


def _read_differently(
    record: InstanceRecord, found: InstanceDigests, listed: set[str]
) -> list[AttributeChange]:
    """Identity values whose bytes are intact but whose text is not the signed text.

    The manifest signs each identity value's decoded text (:attr:`InstanceRecord.identity`);
    the same bytes decode to other text when what says how to read them changed (Specific
    Character Set: ``M\xdcLLER`` under ISO_IR 100 reads ``M\u043cLLER`` under ISO_IR 144).
    A value that no longer decodes, or now decodes where it did not, differs too.
    """
    out = []
    for keyword in IDENTITY_KEYWORDS:
        if keyword in listed:
            continue
        signed, now = record.identity.get(keyword), found.values.get(keyword)
        tag = IDENTITY_TAGS[keyword]
        was_there = tag in record.attributes
        if signed != now and (signed is not None or was_there):
            out.append(AttributeChange(tag, keyword, ChangeKind.CHANGED, signed, now))
    return out


def _context(changes: tuple[AttributeChange, ...]) -> tuple[str, ...]:
    """The changed attributes that say how other bytes are read (module docstring)."""
    keywords = [c.keyword for c in changes]
    return tuple(k for k in keywords if k in VALUE_CONTEXT) + tuple(
        k for k in keywords if k in PIXEL_CONTEXT
    )


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
    context = _context(attrs)
    if context:
        note = "; ".join(
            filter(
                None,
                (
                    note,
                    f"{', '.join(context)} changed: "
                    + (
                        "values whose bytes are intact may read differently, so none is "
                        "proven by its digest"
                        if any(k in VALUE_CONTEXT for k in context)
                        else "the intact pixel bytes may show as another image, so no "
                        "frame is proven by its digest"
                    ),
                ),
            )
        )
    return replace(
        plain,
        attributes=attrs,
        frames=frames,
        signed_frames=len(record.frames),
        found_frames=len(found.frames),
        replaced_by=replaced,
        note=note,
        detail=ChangeDetail.REPLACED if replaced else ChangeDetail.LOCALISED,
        context=context,
        frame_unit=FrameUnit.FRAGMENT
        if FrameUnit.FRAGMENT in (record.frame_unit, found.frame_unit)
        else FrameUnit.FRAME,
    )
