"""Input instances for a new medium: find them, and bring them into the profile's syntax.

Sources are DICOM files or folders of any layout and names. Folders are walked without
following symbolic links; files that are not DICOM Part 10, DICOMDIRs (Media Storage
Directory Storage, PS3.10 §8.6) and second copies of a SOP Instance are skipped and
listed, never silently dropped.

PS3.11 Annex D (STD-GEN-CD) requires Explicit VR Little Endian; the DVD and USB JPEG
profiles (PS3.11 Annex J / Annex Z, IHE PDI options) also allow the JPEG transfer
syntaxes. An instance already in an allowed syntax keeps its data set bytes, so that
existing PS3.15 Annex C signatures stay valid (only a 128-byte preamble that carries data
is zeroed, PS3.10 §7.1); a big-endian one is byte-swapped by the signer, its signatures
kept; any other is decoded and re-encoded as Explicit VR Little Endian (earlier signatures
removed), or refused when no codec decodes it (:func:`check_instance` says so first).

File Meta Information that names another SOP Class or Instance than the data set (PS3.10
§7.1: (0002,0002)/(0002,0003) repeat (0008,0016)/(0008,0018); common after anonymisation)
is rewritten from the data set; the data set bytes, and so its signatures, are unchanged.
"""

from __future__ import annotations

import enum
import errno
import os
import shutil
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.filebase import DicomBytesIO
from pydicom.filereader import _read_file_meta_info
from pydicom.filewriter import write_file_meta_info
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.utils import pack_bits
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian

from dicomseal.errors import DicomSealError, MediaError, UsageError, describe_read_error
from dicomseal.media.inventory import (
    EntryClass,
    classify_file,
    is_directory_dataset,
    is_housekeeping,
)
from dicomseal.media.source_header import read_source_header
from dicomseal.media.source_stamp import source_stamp
from dicomseal.wording import counted

__all__ = [
    "MediaProfile",
    "PreparedInstance",
    "SkippedInput",
    "SourceInstance",
    "check_instance",
    "collect_sources",
    "iter_sources",
    "prepare_instance",
    "skip_reason",
]

_JPEG = (
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
)
#: The header elements kept per instance while a medium is made (memory: a DVD holds
#: thousands of instances): what DICOMDIR records (PS3.3 F.5, as pydicom's
#: ``DIRECTORY_RECORDERS`` read them) and the README/INDEX summaries need.
_HEADER_KEYWORDS = (
    "SpecificCharacterSet",
    "SOPClassUID",
    "SOPInstanceUID",
    "ImageType",
    "InstanceCreationDate",
    "InstanceCreationTime",
    "StudyDate",
    "StudyTime",
    "SeriesDate",
    "SeriesTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "ContentDate",
    "ContentTime",
    "AccessionNumber",
    "Modality",
    "Manufacturer",
    "InstitutionName",
    "StudyDescription",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "PatientAge",
    "StudyInstanceUID",
    "SeriesInstanceUID",
    "StudyID",
    "SeriesNumber",
    "InstanceNumber",
    "Rows",
    "Columns",
    "NumberOfFrames",
    "DataPointRows",
    "DataPointColumns",
    "ConceptNameCodeSequence",
    "ContentSequence",
    "CompletionFlag",
    "VerificationFlag",
    "VerificationDateTime",
    "ContentLabel",
    "ContentDescription",
    "ContentCreatorName",
    "PresentationCreationDate",
    "PresentationCreationTime",
    "ReferencedSeriesSequence",
    "BlendingSequence",
    "DoseSummationType",
    "StructureSetLabel",
    "StructureSetDate",
    "StructureSetTime",
    "RTPlanLabel",
    "RTPlanDate",
    "RTPlanTime",
    "TreatmentDate",
    "TreatmentTime",
    "DocumentTitle",
    "MIMETypeOfEncapsulatedDocument",
    "EncapsulatedDocument",
    "HangingProtocolName",
    "HangingProtocolDescription",
    "HangingProtocolLevel",
    "HangingProtocolCreator",
    "HangingProtocolCreationDateTime",
    "HangingProtocolDefinitionSequence",
    "NumberOfPriorsReferenced",
    "ImplantName",
    "ImplantSize",
    "ImplantPartNumber",
    "ImplantAssemblyTemplateName",
    "ImplantTemplateGroupName",
    "ImplantTemplateGroupIssuer",
    "ProcedureTypeCodeSequence",
    "InstanceIdentifier",
    "UserContentLabel",
    "UserContentLongLabel",
    "ReferencedImageEvidenceSequence",
    "ContentQualification",
    "PaletteColorLookupTableUID",
    "SurfaceCount",
)
_HEADER_TAGS: list[int] = [
    t for t in (tag_for_keyword(k) for k in _HEADER_KEYWORDS) if t is not None
]
_HEADER_TAG_SET = frozenset(_HEADER_TAGS)
_OS_FILE = "written by an operating system, not DICOM"
#: Digital Signatures Sequence and MAC Parameters Sequence (PS3.3 Table C.12-6).
_SIGNATURE_TAGS = (0xFFFAFFFA, 0x4FFE0001)


class MediaProfile(enum.Enum):
    """Application profile of the medium (PS3.11 Annex D, J, Z; IHE PDI)."""

    STD_GEN_CD = "STD-GEN-CD"
    STD_GEN_DVD_JPEG = "STD-GEN-DVD-JPEG"
    STD_GEN_USB_JPEG = "STD-GEN-USB-JPEG"

    @property
    def transfer_syntaxes(self) -> tuple[str, ...]:
        """Transfer syntaxes an instance may keep on this profile."""
        if self is MediaProfile.STD_GEN_CD:
            return (ExplicitVRLittleEndian,)
        return (ExplicitVRLittleEndian, *_JPEG)

    def target_transfer_syntax(self, found: str) -> str:
        """The transfer syntax an instance found in ``found`` gets on this profile."""
        return found if found in self.transfer_syntaxes else ExplicitVRLittleEndian


@dataclass(frozen=True)
class SkippedInput:
    """A source file that does not go on the medium, and why.

    ``instance`` is True for a DICOM instance that cannot go on the medium (``--strict``
    refuses the medium for it); False for files that are not instances to copy (not
    DICOM, a DICOMDIR, a second copy of an instance).
    """

    path: str
    reason: str
    instance: bool = False


@dataclass(frozen=True, eq=False)
class SourceInstance:
    """A DICOM instance found among the sources (header only; pixels stay on disk)."""

    path: Path
    header: Dataset
    transfer_syntax_uid: str
    #: ``(meta keyword, value from the data set)`` for every File Meta UID that disagrees.
    meta_fixes: tuple[tuple[str, str], ...] = ()
    #: The source file's state before its header was read (:func:`source_stamp`).
    stamp: tuple[int, ...] = ()

    @property
    def sop_instance_uid(self) -> str:
        """SOP Instance UID of the instance."""
        return str(self.header.get("SOPInstanceUID", ""))


@dataclass(frozen=True)
class PreparedInstance:
    """An instance ready to be signed onto the medium."""

    path: Path
    transfer_syntax_uid: str
    converted_from: str | None = None
    removed_signatures: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


def _walk(src: Path) -> Iterator[Path]:
    if src.is_symlink():
        return
    if src.is_file():
        yield src
        return
    if not src.is_dir():
        raise UsageError("source is neither a file nor a folder", path=str(src))
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if not p.is_symlink() and p.is_file():
                yield p


def collect_sources(
    sources: Sequence[str | os.PathLike[str]],
) -> tuple[list[SourceInstance], list[SkippedInput]]:
    """Find every DICOM instance in ``sources`` (files or folders, any layout).

    Returns
    -------
    tuple
        The instances (in source order, first copy of each SOP Instance UID) and the
        skipped inputs with their reasons.

    Raises
    ------
    UsageError
        A source does not exist, or no instance was found at all.
    """
    skipped: list[SkippedInput] = []
    found = list(iter_sources(sources, skipped))
    if not found:
        raise UsageError("no DICOM instances found in the sources")
    return found, skipped


def iter_sources(
    sources: Sequence[str | os.PathLike[str]], skipped: list[SkippedInput]
) -> Iterator[SourceInstance]:
    """The instances of :func:`collect_sources` one by one, as they are found.

    ``skipped`` gains the skipped inputs with their reasons as the walk passes them. The
    caller decides what no instance at all means.

    Raises
    ------
    UsageError
        A source does not exist.
    """
    seen: set[str] = set()
    for raw in sources:
        src = Path(raw)
        if not src.exists():
            raise UsageError("no such file or folder", path=str(src))
        for path in _walk(src):
            found = _source_instance(src, path, seen, skipped)
            if found is not None:
                yield found


def _source_instance(
    src: Path, path: Path, seen: set[str], skipped: list[SkippedInput]
) -> SourceInstance | None:
    """The instance at ``path`` (its header), or None with the reason added to ``skipped``."""
    try:
        stamp = source_stamp(path)  # before the header is read: any later write shows
        ds = read_source_header(path, _HEADER_TAG_SET) or dcmread(
            path, stop_before_pixels=True, specific_tags=_HEADER_TAGS
        )
    except (
        InvalidDicomError,
        OSError,
        ValueError,
        EOFError,
        KeyError,
        TypeError,
        AttributeError,
        RecursionError,  # pydicom recurses once per nested sequence (orthanc-tests)
    ) as exc:
        why = describe_read_error(exc)
        if is_housekeeping(path.relative_to(src).as_posix() if src.is_dir() else path.name):
            why = f"{_OS_FILE} ({why})"
        skipped.append(SkippedInput(str(path), why))
        return None
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else ""
    sop_class = str(ds.get("SOPClassUID", ""))
    kind = classify_file(path.name, part10=True, directory=is_directory_dataset(ds))
    if kind is not EntryClass.INSTANCE:
        skipped.append(SkippedInput(str(path), "a DICOMDIR (rebuilt for the medium)"))
        return None
    uid = str(ds.get("SOPInstanceUID", ""))
    if not uid or not sop_class or not ts:
        skipped.append(
            SkippedInput(
                str(path),
                "missing SOP Instance UID, SOP Class UID or Transfer Syntax",
                instance=True,
            )
        )
        return None
    if uid in seen:
        skipped.append(SkippedInput(str(path), f"second copy of SOP Instance {uid}"))
        return None
    seen.add(uid)
    return SourceInstance(path, ds, ts, _meta_fixes(ds), stamp)


def _meta_fixes(ds: Dataset) -> tuple[tuple[str, str], ...]:
    """File Meta UIDs that disagree with the data set, with the data set's value (PS3.10 §7.1)."""
    meta = getattr(ds, "file_meta", None)
    fixes = []
    for meta_kw, ds_kw in (
        ("MediaStorageSOPClassUID", "SOPClassUID"),
        ("MediaStorageSOPInstanceUID", "SOPInstanceUID"),
    ):
        value = str(ds.get(ds_kw, ""))
        if meta is None or str(meta.get(meta_kw, "")) != value:
            fixes.append((meta_kw, value))
    return tuple(fixes)


def check_instance(src: SourceInstance, profile: MediaProfile) -> str | None:
    """Why ``src`` cannot go on a medium of ``profile`` (checked before any work), or None.

    An instance in a transfer syntax the profile does not allow must be decoded (PS3.11
    Annex D); that needs a known transfer syntax and, for a compressed one, an installed
    pydicom decoder plugin.
    """
    ts = UID(src.transfer_syntax_uid)
    if ts in profile.transfer_syntaxes:
        return None
    if not ts.is_transfer_syntax:
        return f"unknown transfer syntax {ts}"
    if ts == ExplicitVRBigEndian and ExplicitVRLittleEndian in profile.transfer_syntaxes:
        return None  # byte-swapped by the signer's own transcoder (prepare_instance)
    if not ts.is_little_endian:
        return (
            f"{ts.name} cannot be re-encoded as Explicit VR Little Endian here; "
            f"{profile.value} requires it"
        )
    if ts.is_compressed:
        try:
            available = get_decoder(ts).is_available
        except NotImplementedError:
            available = False
        if not available:
            return f"no installed decoder for {ts.name} ({ts}); {profile.value} needs it decoded"
    return None


def _repack_single_bits(ds: Dataset) -> None:
    """Pack 1-bit pixels eight to a byte (PS3.5 §8.1.1) after decompression.

    pydicom 3.0 decompresses Bits Allocated 1 data to one byte per pixel but keeps Bits
    Allocated 1, which readers would take for eight times as many frames.
    """
    if int(ds.get("BitsAllocated", 0) or 0) != 1:
        return
    pixels = (
        int(ds.Rows)
        * int(ds.Columns)
        * int(ds.get("SamplesPerPixel", 1) or 1)
        * int(ds.get("NumberOfFrames", 1) or 1)
    )
    if len(ds.PixelData) == pixels:
        ds.PixelData = pack_bits(np.frombuffer(ds.PixelData, dtype=np.uint8))


#: What preparing or signing one instance may raise on a bad input (pydicom raises many
#: types on hostile bytes); the instance is then left out with the reason.
_INSTANCE_ERRORS = (
    DicomSealError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    RuntimeError,
    NotImplementedError,
    EOFError,
    OverflowError,
    struct.error,
)
#: Errors of the output, not of one input: a full disk would otherwise leave every later
#: instance out.
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


def skip_reason(exc: BaseException) -> str | None:
    """One line saying why an input is left out, or None when ``exc`` must stop the medium
    (a bug, an output that cannot be written)."""
    if not isinstance(exc, _INSTANCE_ERRORS):
        return None
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno in _OUTPUT_ERRNOS:
            return None
        cause = cause.__cause__ or cause.__context__
    text = exc.message if isinstance(exc, DicomSealError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:400]


def _preamble_is_zero(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(128) == b"\x00" * 128


def _copy_zero_preamble(src: Path, dst: Path) -> None:
    with src.open("rb") as fin, dst.open("wb") as fout:
        fin.seek(128)
        fout.write(b"\x00" * 128)
        shutil.copyfileobj(fin, fout, 1 << 20)


def _copy_fixed_meta(src: Path, dst: Path, fixes: tuple[tuple[str, str], ...]) -> None:
    """Copy ``src`` with a zero preamble and corrected File Meta; data set bytes verbatim."""
    with src.open("rb") as fin, dst.open("wb") as fout:
        fin.seek(132)
        meta = _read_file_meta_info(fin)
        for kw, value in fixes:
            setattr(meta, kw, UID(value))
        buf = DicomBytesIO()
        write_file_meta_info(buf, meta, enforce_standard=True)
        fout.write(b"\x00" * 128 + b"DICM" + buf.getvalue())
        shutil.copyfileobj(fin, fout, 1 << 20)


def _meta_notes(fixes: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return tuple(
        f"file meta {kw} disagreed with the data set: corrected to {value}" for kw, value in fixes
    )


def _strip_signatures(ds: Dataset) -> int:
    removed = 0
    for tag in _SIGNATURE_TAGS:
        if tag in ds:
            removed += len(ds[tag].value) if tag == 0xFFFAFFFA else 0
            del ds[tag]
    return removed


def _big_endian(src: SourceInstance, dst: Path) -> PreparedInstance:
    """Explicit VR Big Endian (PS3.5 A.3), as it is: :func:`~dicomseal.signature.sign_file`
    writes it in Explicit VR Little Endian by the project's own transcoder (each value
    swapped by its VR, PS3.5 §7.3), as ``dicomseal sign`` does; pydicom cannot. Earlier
    signatures stay: their MACs are in Explicit VR Little Endian (PS3.15 C.12.1.1.3)."""
    notes = ["converted from Explicit VR Big Endian to Explicit VR Little Endian"]
    path = src.path
    if src.meta_fixes:
        _copy_fixed_meta(src.path, path := dst, src.meta_fixes)
        notes.extend(_meta_notes(src.meta_fixes))
    elif not _preamble_is_zero(src.path):
        _copy_zero_preamble(src.path, path := dst)
        notes.append("non-zero 128-byte preamble replaced by zeros")
    return PreparedInstance(
        path, ExplicitVRLittleEndian, src.transfer_syntax_uid, notes=tuple(notes)
    )


def prepare_instance(
    src: SourceInstance, profile: MediaProfile, workdir: Path, index: int
) -> PreparedInstance:
    """Bring one instance into a transfer syntax ``profile`` allows.

    Parameters
    ----------
    src
        The instance as found.
    profile
        The medium's application profile.
    workdir
        Scratch folder for converted copies.
    index
        A number unique per instance (names the scratch copy).

    Raises
    ------
    MediaError
        The instance needs decompression and no installed codec can decode it.
    """
    if src.transfer_syntax_uid in profile.transfer_syntaxes:
        dst = workdir / f"in{index:07d}.dcm"
        if src.meta_fixes:
            _copy_fixed_meta(src.path, dst, src.meta_fixes)
            return PreparedInstance(dst, src.transfer_syntax_uid, notes=_meta_notes(src.meta_fixes))
        if _preamble_is_zero(src.path):
            return PreparedInstance(src.path, src.transfer_syntax_uid)
        _copy_zero_preamble(src.path, dst)
        return PreparedInstance(
            dst, src.transfer_syntax_uid, notes=("non-zero 128-byte preamble replaced by zeros",)
        )
    reason = check_instance(src, profile)
    if reason is not None:
        raise MediaError(reason, path=str(src.path))
    if src.transfer_syntax_uid == ExplicitVRBigEndian:
        return _big_endian(src, workdir / f"in{index:07d}.dcm")
    try:
        ds = dcmread(src.path)
        if ds.file_meta.TransferSyntaxUID.is_compressed and "PixelData" in ds:
            ds.decompress(generate_instance_uid=False)
            _repack_single_bits(ds)
    except (RuntimeError, NotImplementedError, ValueError, AttributeError, KeyError) as exc:
        detail = " ".join(str(exc).split())[:300]
        raise MediaError(
            f"{profile.value} needs Explicit VR Little Endian, and this "
            f"{UID(src.transfer_syntax_uid).name} instance cannot be decoded ({detail})",
            path=str(src.path),
        ) from exc
    removed = _strip_signatures(ds)
    for tag in [t for t in ds.keys() if t.group == 0x0000]:  # command set: not in files
        del ds[tag]
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    for kw, value in src.meta_fixes:
        setattr(ds.file_meta, kw, UID(value))
    ds.preamble = b"\x00" * 128
    dst = workdir / f"in{index:07d}.dcm"
    try:
        for _elem in ds.iterall():  # resolve every VR (an implicit VR body needs the dictionary)
            pass
        ds.save_as(dst, enforce_file_format=True)
    except (ValueError, TypeError, OSError, NotImplementedError, KeyError) as exc:
        raise MediaError(
            f"cannot re-encode as Explicit VR Little Endian: {' '.join(str(exc).split())[:300]}",
            path=str(src.path),
        ) from exc
    notes = [f"converted from {src.transfer_syntax_uid} to Explicit VR Little Endian"]
    notes.extend(_meta_notes(src.meta_fixes))
    if removed:
        earlier = counted(removed, "earlier signature")
        notes.append(f"{earlier} removed: conversion invalidates them")
    return PreparedInstance(
        dst, ExplicitVRLittleEndian, src.transfer_syntax_uid, removed, tuple(notes)
    )
