"""Streaming digests of one Part 10 instance: the file, each top-level attribute, each frame.

The signed manifest (``docs/manifest.md``) records, per instance on a medium, a SHA-256
digest of every top-level Data Element and of every frame of pixel data, so that a
verifier can say *which* attribute or frame changed, not only *that* the file changed.

This module walks the Part 10 byte stream once, sequentially, in bounded memory
(PS3.10 §7.1 preamble + ``DICM`` + File Meta Information; PS3.5 §7.1 Data Element
encoding, §7.5 nesting of Sequences, Annex A.4 encapsulation of pixel data). It never
allocates a buffer from a length field: values are read in chunks of at most
:data:`CHUNK` bytes, and a length field that points past the end of the file is reported
as :class:`~dicomseal.errors.MalformedDicomError`.

Digest of an attribute
    SHA-256 over the element's bytes exactly as stored in the file: tag, VR (explicit
    syntaxes), length and value; for an undefined-length Sequence or encapsulated Pixel
    Data, every Item, fragment and delimiter up to and including the Sequence Delimitation
    Item. Native Pixel Data is the one exception, so that its bytes are hashed once, not
    twice: SHA-256 over the element header followed by the 32-byte SHA-256 of each frame.
Digest of a frame
    Native pixel data: SHA-256 over the ``Rows x Columns x SamplesPerPixel x
    BitsAllocated / 8`` bytes of each frame (the last frame also takes any trailing pad
    byte). Encapsulated pixel data: SHA-256 over the concatenated fragment values of each
    frame, frames delimited by the Basic Offset Table when present, else one fragment per
    frame when the counts match, else one digest per fragment (``frame_unit`` =
    ``"fragment"``).
"""

from __future__ import annotations

import bisect
import enum
import hashlib
import struct
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from dicomseal.dicom.text import CHARSET_VRS, charset_text
from dicomseal.dicom.vocab import format_tag
from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import Element, Part10File, parse_part10
from dicomseal.hazmat.transcode import needs_transcoding

__all__ = [
    "CHUNK",
    "IDENTITY_KEYWORDS",
    "IDENTITY_TAGS",
    "ElementDigest",
    "FrameUnit",
    "InstanceDigests",
    "digest_instance",
    "digest_part10",
    "digest_stream",
    "format_tag",
]

#: Read size: the most memory one read of a value may take.
CHUNK = 1 << 20
#: The identity attributes whose signed values the manifest carries (issue 4).
IDENTITY_KEYWORDS: tuple[str, ...] = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientAge",
    "PatientSex",
    "AccessionNumber",
    "StudyDate",
    "StudyTime",
    "InstitutionName",
    "StudyInstanceUID",
    "SeriesInstanceUID",
)

_IMPLICIT_LE = "1.2.840.10008.1.2"
_PIXEL_DATA = 0x7FE00010
#: Top-level tags whose small values are kept for decoding (identity and image geometry).
_KEEP = {
    0x00080005,
    0x00080016,
    0x00080018,
    0x00080020,
    0x00080030,
    0x00080050,
    0x00080080,
    0x00100010,
    0x00100020,
    0x00100030,
    0x00100040,
    0x00101010,
    0x0020000D,
    0x0020000E,
    0x00280002,
    0x00280008,
    0x00280010,
    0x00280011,
    0x00280100,
}
_KEEP_MAX = 4096


class FrameUnit(enum.Enum):
    """What one entry of :attr:`InstanceDigests.frames` covers."""

    FRAME = "frame"
    FRAGMENT = "fragment"


@dataclass(frozen=True)
class ElementDigest:
    """Digest of one top-level Data Element as stored.

    Attributes
    ----------
    tag
        The Data Element Tag as an int (group << 16 | element).
    vr
        The VR as stored (explicit syntaxes) or from the data dictionary (implicit).
    offset
        Byte offset of the element's tag from the start of the file.
    sha256
        Hex SHA-256 of the element's stored bytes.
    """

    tag: int
    vr: str
    offset: int
    sha256: str

    @property
    def keyword(self) -> str:
        """DICOM keyword, or the ``(gggg,eeee)`` tag for private and unknown elements."""
        from pydicom.datadict import keyword_for_tag  # the data dictionary, only when named

        return keyword_for_tag(self.tag) or format_tag(self.tag)


@dataclass(frozen=True)
class InstanceDigests:
    """Everything the manifest records about one instance, computed in one pass.

    Attributes
    ----------
    size, sha256
        Size and SHA-256 of the whole file.
    transfer_syntax_uid
        Transfer Syntax UID from the File Meta Information.
    elements
        One digest per top-level element, File Meta (group 0002) included, in file order.
    frames
        One hex SHA-256 per frame (or fragment, see ``frame_unit``) of Pixel Data.
    frame_unit
        Whether ``frames`` are frames or fragments.
    values
        Decoded values of the identity attributes and SOP UIDs present in the instance.
    preamble
        The 128-byte preamble as stored (PS3.10 §7.1).
    """

    size: int
    sha256: str
    transfer_syntax_uid: str
    elements: tuple[ElementDigest, ...]
    frames: tuple[str, ...]
    frame_unit: FrameUnit
    values: dict[str, str] = field(default_factory=dict)
    preamble: bytes = b""

    @property
    def sop_instance_uid(self) -> str:
        """SOP Instance UID (0008,0018), empty when absent."""
        return self.values.get("SOPInstanceUID", "")


_Sink = Callable[[bytes], object]


class _Feeder:
    """One sequential pass over the file: every byte into the file digest, once.

    The element tree (from :func:`~dicomseal.hazmat.elements.parse_part10`) says where each
    element starts and ends; this pass reads the bytes in file order, in chunks of at most
    :data:`CHUNK`, and hands each range to the digests that need it.
    """

    def __init__(self, fp: BinaryIO, size: int) -> None:
        self._fp = fp
        self.size = size
        self.pos = 0
        self.file_hash = hashlib.sha256()
        fp.seek(0)

    def feed(self, end: int, sinks: Iterable[Callable[[bytes], object]] = ()) -> None:
        """Read from the current position up to ``end`` into the file digest and ``sinks``."""
        sink_list = list(sinks)
        while self.pos < end:
            data = self._fp.read(min(CHUNK, end - self.pos))
            if not data:
                raise MalformedDicomError(f"file ends at byte {self.pos}, expected {end}")
            self.file_hash.update(data)
            for sink in sink_list:
                sink(data)
            self.pos += len(data)

    def take(self, end: int, sinks: Iterable[Callable[[bytes], object]] = ()) -> bytes:
        """Like :meth:`feed`, also returning the bytes (only for small ranges)."""
        parts: list[bytes] = []
        self.feed(end, [*sinks, parts.append])
        return b"".join(parts)


def _native_frames(feeder: _Feeder, el: Element, kept: _Kept, sink: _Sink) -> list[str]:
    """Frame digests of native Pixel Data; the element digest takes the frame digests."""
    header_end = el.value_offset
    feeder.feed(header_end, [sink])
    length = el.length
    frame_size = _frame_size(kept)
    if frame_size <= 0 or frame_size >= length:
        frame_size = length
    n_frames = max(1, length // frame_size) if frame_size else 1
    frames: list[str] = []
    for index in range(n_frames):
        size = frame_size if index < n_frames - 1 else length - frame_size * (n_frames - 1)
        h = hashlib.sha256()
        feeder.feed(feeder.pos + size, [h.update])
        sink(h.digest())  # the element digest commits to the frame digests
        frames.append(h.hexdigest())
    return frames


def _encapsulated_frames(
    feeder: _Feeder, el: Element, kept: _Kept, sink: _Sink
) -> tuple[list[str], FrameUnit]:
    """Frame digests of encapsulated Pixel Data (PS3.5 Annex A.4)."""
    n_frames = _int_value(kept.get(0x00280008), string=True) or 1
    fragments = el.fragments or []
    if not fragments:
        feeder.feed(el.end, [sink])
        return [], FrameUnit.FRAME
    bot_offset, bot_length = fragments[0]
    if bot_length > 4 * 65536 * 4:
        raise MalformedDicomError("Basic Offset Table implausibly large")
    table = feeder.take(bot_offset + bot_length, [sink])[-bot_length:] if bot_length else b""
    bot = list(struct.unpack(f"<{len(table) // 4}L", table[: len(table) // 4 * 4]))
    fragment_digests: list[str] = []
    frame_hashes: dict[int, Any] = {}
    whole = hashlib.sha256()
    first_item = bot_offset + bot_length  # the first fragment item's tag
    for offset, length in fragments[1:]:
        feeder.feed(offset, [sink])  # the item header
        frag = hashlib.sha256()
        sinks: list[_Sink] = [sink, frag.update, whole.update]
        if bot:
            rel = offset - 8 - first_item
            index = max(0, bisect.bisect_right(bot, rel) - 1)
            sinks.append(frame_hashes.setdefault(index, hashlib.sha256()).update)
        feeder.feed(offset + length, sinks)
        fragment_digests.append(frag.hexdigest())
    feeder.feed(el.end, [sink])  # the sequence delimiter
    if bot:
        return [frame_hashes[i].hexdigest() for i in sorted(frame_hashes)], FrameUnit.FRAME
    if n_frames == 1:
        return [whole.hexdigest()], FrameUnit.FRAME
    unit = FrameUnit.FRAGMENT if len(fragment_digests) != n_frames else FrameUnit.FRAME
    return fragment_digests, unit


def digest_part10(parsed: Part10File) -> InstanceDigests:
    """Digest an instance from its element tree in one sequential pass over its bytes.

    ``parsed`` comes from :func:`~dicomseal.hazmat.elements.parse_part10`, the one bounded
    Part 10 reader that signing and the MAC stream use too, so that ``media create`` and
    ``media verify`` accept and refuse exactly the files ``sign`` and ``verify`` do.
    """
    ts = parsed.meta.transfer_syntax_uid
    if needs_transcoding(ts) or (parsed.implicit and ts != _IMPLICIT_LE):
        # the tree describes an Explicit VR LE copy, not the stored bytes the manifest signs
        raise MalformedDicomError(f"transfer syntax {ts} cannot be digested as stored")
    feeder = _Feeder(parsed.fp, parsed.size)
    preamble = feeder.take(128)
    feeder.feed(132)
    elements: list[ElementDigest] = []
    kept: _Kept = {}
    frames: list[str] = []
    unit = FrameUnit.FRAME
    for el in (*parsed.meta.elements, *parsed.elements):
        if el.offset != feeder.pos:
            raise MalformedDicomError(
                f"unexpected bytes at {feeder.pos} before {format_tag(el.tag)}"
            )
        h = hashlib.sha256()
        if el.tag == _PIXEL_DATA and el.fragments is not None:
            frames, unit = _encapsulated_frames(feeder, el, kept, h.update)
        elif el.tag == _PIXEL_DATA and el.items is None:
            frames = _native_frames(feeder, el, kept, h.update)
        elif el.tag in _KEEP and el.length <= _KEEP_MAX and el.items is None:
            raw = feeder.take(el.end, [h.update])
            kept[el.tag] = (el.vr, raw[el.value_offset - el.offset :])
        else:
            feeder.feed(el.end, [h.update])
        elements.append(
            ElementDigest(el.tag, el.vr.decode("ascii", "replace"), el.offset, h.hexdigest())
        )
    feeder.feed(parsed.size)  # trailing bytes too short to be an element
    return InstanceDigests(
        size=parsed.size,
        sha256=feeder.file_hash.hexdigest(),
        transfer_syntax_uid=parsed.meta.transfer_syntax_uid,
        elements=tuple(elements),
        frames=tuple(frames),
        frame_unit=unit,
        values=_decode_values(kept),
        preamble=preamble,
    )


#: A kept element: (VR, value bytes as stored).
_Kept = dict[int, tuple[bytes, bytes]]


def _int_value(kept: tuple[bytes, bytes] | None, *, string: bool = False) -> int | None:
    """Decode a kept US (or IS when ``string``) value."""
    if kept is None:
        return None
    value = kept[1]
    try:
        if string:
            return int(value.decode("ascii").strip("\x00 ").split("\\")[0] or "0")
        return int(struct.unpack("<H", value[:2])[0])
    except (ValueError, struct.error, UnicodeDecodeError):
        return None


def _frame_size(kept: _Kept) -> int:
    rows = _int_value(kept.get(0x00280010)) or 0
    cols = _int_value(kept.get(0x00280011)) or 0
    spp = _int_value(kept.get(0x00280002)) or 1
    bits = _int_value(kept.get(0x00280100)) or 0
    if bits % 8:
        return 0  # BitsAllocated 1: frames are not byte aligned; one digest for all
    return rows * cols * spp * (bits // 8)


#: Tags decoded as text (identity, SOP UIDs); the image geometry tags are kept as numbers.
_TEXT_TAGS = {
    0x00080016: "SOPClassUID",
    0x00080018: "SOPInstanceUID",
    0x00080020: "StudyDate",
    0x00080030: "StudyTime",
    0x00080050: "AccessionNumber",
    0x00080080: "InstitutionName",
    0x00100010: "PatientName",
    0x00100020: "PatientID",
    0x00100030: "PatientBirthDate",
    0x00100040: "PatientSex",
    0x00101010: "PatientAge",
    0x0020000D: "StudyInstanceUID",
    0x0020000E: "SeriesInstanceUID",
}


#: ``(gggg,eeee)`` of each identity attribute, as the manifest's attribute digests name it.
IDENTITY_TAGS: dict[str, str] = {
    keyword: format_tag(tag) for tag, keyword in _TEXT_TAGS.items() if keyword in IDENTITY_KEYWORDS
}


def _decode_values(kept: _Kept) -> dict[str, str]:
    """Decode the kept identity elements (character sets per (0008,0005), PS3.5 §6.1).

    Values are decoded as pydicom would (:func:`dicomseal.dicom.text.charset_text`:
    pydicom only for a value outside the default repertoire), trailing padding removed;
    multiple values stay joined by ``\\``. Undecodable values are left out rather than
    guessed.
    """
    charset_raw = kept.get(0x00080005)
    terms = ["ISO_IR 6"]
    if charset_raw is not None:
        text = charset_raw[1].decode("ascii", "replace")
        terms = [t.strip() for t in text.strip("\x00 ").split("\\")] or ["ISO_IR 6"]
    terms = [t or "ISO_IR 6" for t in terms]
    out: dict[str, str] = {}
    for tag, keyword in _TEXT_TAGS.items():
        if tag not in kept:
            continue
        vr, value = kept[tag]
        try:
            text = charset_text(value, terms) if vr in CHARSET_VRS else value.decode("ascii")
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
        out[keyword] = "\\".join(v.rstrip(" \x00") for v in text.split("\\"))
    return out


def digest_stream(fp: BinaryIO, size: int | None = None) -> InstanceDigests:
    """Digest a Part 10 stream positioned at byte 0.

    Parameters
    ----------
    fp
        Binary stream; a stream that cannot seek (a zip member) is first copied to a
        temporary file, at most ``size`` bytes when given.
    size
        The file's size when known.

    Raises
    ------
    MalformedDicomError
        Whatever the one Part 10 reader refuses (no ``DICM`` prefix, an unsupported transfer
        syntax, a length field past the end of the file, a truncated element, ...).
    """
    if fp.seekable():
        return digest_part10(parse_part10(fp))
    with tempfile.SpooledTemporaryFile(max_size=16 << 20) as spool:
        limit = size if size is not None else None
        copied = 0
        while limit is None or copied < limit:
            data = fp.read(CHUNK if limit is None else min(CHUNK, limit - copied))
            if not data:
                break
            spool.write(data)
            copied += len(data)
        spool.seek(0)
        return digest_part10(parse_part10(spool))  # type: ignore[arg-type]


def digest_instance(path: str, size: int | None = None) -> InstanceDigests:
    """:func:`digest_stream` over a file on disk."""
    try:
        with open(path, "rb") as fp:
            return digest_stream(fp, size)
    except OSError as exc:
        raise MalformedDicomError(f"cannot read: {exc.strerror}", path=path) from exc
