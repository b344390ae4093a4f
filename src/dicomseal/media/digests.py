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
import io
import struct
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, keyword_for_tag

from dicomseal.errors import MalformedDicomError

__all__ = [
    "CHUNK",
    "IDENTITY_KEYWORDS",
    "ElementDigest",
    "FrameUnit",
    "InstanceDigests",
    "digest_instance",
    "digest_stream",
    "format_tag",
]

#: Read size: the most memory one read of a value may take.
CHUNK = 1 << 20
#: Deepest Sequence nesting followed before the file is called malformed.
MAX_DEPTH = 32

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

_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_IMPLICIT_LE = "1.2.840.10008.1.2"
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQ_END = 0xFFFEE0DD
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


def format_tag(tag: int) -> str:
    """``(gggg,eeee)`` notation of a tag, upper-case hex (PS3.5 §7.1)."""
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


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


class _Reader:
    """Sequential reader: tracks position, feeds every byte to the file digest."""

    def __init__(self, fp: BinaryIO, size: int | None) -> None:
        self._fp = fp
        self.pos = 0
        self.size = size
        self.file_hash = hashlib.sha256()
        self._pushback = b""

    def read(self, n: int) -> bytes:
        out = b""
        if self._pushback:
            out, self._pushback = self._pushback[:n], self._pushback[n:]
            n -= len(out)
        if n > 0:
            data = self._fp.read(n)
            self.file_hash.update(data)
            out += data
        self.pos += len(out)
        return out

    def exact(self, n: int, what: str) -> bytes:
        data = self.read(n)
        if len(data) != n:
            raise MalformedDicomError(f"file ends inside {what} at byte {self.pos}")
        return data

    def unread(self, data: bytes) -> None:
        self._pushback = data + self._pushback
        self.pos -= len(data)

    def check_length(self, length: int, tag: int) -> None:
        if self.size is not None and self.pos + length > self.size:
            raise MalformedDicomError(
                f"length {length} of {format_tag(tag)} at byte {self.pos} "
                f"runs past the end of the file ({self.size} bytes)"
            )

    def stream(self, length: int, sinks: Iterable[Callable[[bytes], object]], tag: int) -> None:
        """Read ``length`` bytes in chunks into every sink."""
        self.check_length(length, tag)
        left = length
        sink_list = list(sinks)
        while left:
            data = self.read(min(left, CHUNK))
            if not data:
                raise MalformedDicomError(f"file ends inside {format_tag(tag)} value")
            for sink in sink_list:
                sink(data)
            left -= len(data)

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


class _Walker:
    """Parses one Part 10 stream; state shared between the recursive element readers."""

    def __init__(self, reader: _Reader) -> None:
        self.r = reader
        self.implicit = False
        self.kept: dict[int, bytes] = {}
        self.frames: list[str] = []
        self.frame_unit = FrameUnit.FRAME

    # -- element headers -------------------------------------------------------------
    def header(self, implicit: bool) -> tuple[int, bytes, int, bytes] | None:
        """Read one element header: (tag, VR, length, raw header bytes) or None at EOF."""
        head = self.r.read(8)
        if not head:
            return None
        if len(head) < 8:
            raise MalformedDicomError(f"file ends inside an element header at byte {self.r.pos}")
        group, elem = struct.unpack("<HH", head[:4])
        tag = (group << 16) | elem
        if group == 0xFFFE or implicit:
            (length,) = struct.unpack("<L", head[4:])
            vr = b"" if group == 0xFFFE else _dict_vr(tag)
            return tag, vr, length, head
        vr = head[4:6]
        if vr in _LONG_VRS:
            extra = self.r.exact(4, "an element header")
            (length,) = struct.unpack("<L", extra)
            return tag, vr, length, head + extra
        (length,) = struct.unpack("<H", head[6:8])
        return tag, vr, length, head

    # -- nested content ----------------------------------------------------------------
    def skip_undefined_sequence(
        self, sink: Callable[[bytes], object], depth: int, implicit: bool
    ) -> None:
        """Consume Items up to the Sequence Delimitation Item (PS3.5 §7.5.2)."""
        if depth > MAX_DEPTH:
            raise MalformedDicomError(f"sequences nested deeper than {MAX_DEPTH} levels")
        while True:
            hdr = self.header(True)
            if hdr is None:
                raise MalformedDicomError("file ends inside an undefined-length sequence")
            tag, _vr, length, raw = hdr
            sink(raw)
            if tag == _SEQ_END:
                return
            if tag != _ITEM:
                raise MalformedDicomError(
                    f"expected an Item in a sequence, found {format_tag(tag)} at {self.r.pos - 8}"
                )
            if length != _UNDEFINED:
                self.r.stream(length, [sink], tag)
                continue
            self.skip_undefined_item(sink, depth + 1, implicit)

    def skip_undefined_item(
        self, sink: Callable[[bytes], object], depth: int, implicit: bool
    ) -> None:
        """Consume one undefined-length Item's elements up to its delimiter."""
        if depth > MAX_DEPTH:
            raise MalformedDicomError(f"sequences nested deeper than {MAX_DEPTH} levels")
        while True:
            hdr = self.header(implicit)
            if hdr is None:
                raise MalformedDicomError("file ends inside an undefined-length item")
            tag, vr, length, raw = hdr
            sink(raw)
            if tag == _ITEM_END:
                return
            if length == _UNDEFINED:
                # SQ, or UN holding an implicit-VR sequence (PS3.5 §6.2.2)
                self.skip_undefined_sequence(sink, depth + 1, implicit or vr == b"UN")
            else:
                self.r.stream(length, [sink], tag)

    # -- pixel data --------------------------------------------------------------------
    def native_pixels(self, length: int, sink: Callable[[bytes], object]) -> None:
        frame_size = _frame_size(self.kept, self.implicit)
        if frame_size <= 0 or frame_size >= length:
            frame_size = length
        n_frames = max(1, length // frame_size) if frame_size else 1
        self.r.check_length(length, _PIXEL_DATA)
        for index in range(n_frames):
            size = frame_size if index < n_frames - 1 else length - frame_size * (n_frames - 1)
            h = hashlib.sha256()
            self.r.stream(size, [h.update], _PIXEL_DATA)
            sink(h.digest())  # the element digest commits to the frame digests
            self.frames.append(h.hexdigest())

    def encapsulated_pixels(self, sink: Callable[[bytes], object]) -> None:
        """Fragments -> frame digests (PS3.5 Annex A.4)."""
        n_frames = _int_value(self.kept.get(0x00280008), self.implicit, string=True) or 1
        bot: list[int] = []
        fragment_digests: list[str] = []
        frame_hashes: dict[int, hashlib._Hash] = {}
        whole = hashlib.sha256()
        first = True
        rel = 0  # offset of the current fragment item relative to the first fragment item
        while True:
            hdr = self.header(True)
            if hdr is None:
                raise MalformedDicomError("file ends inside encapsulated pixel data")
            tag, _vr, length, raw = hdr
            sink(raw)
            if tag == _SEQ_END:
                break
            if tag != _ITEM or length == _UNDEFINED:
                raise MalformedDicomError("malformed fragment in encapsulated pixel data")
            if first:
                first = False
                table = io.BytesIO()
                self.r.stream(length, [sink, table.write], tag)
                if length > 4 * 65536 * 4:
                    raise MalformedDicomError("Basic Offset Table implausibly large")
                data = table.getvalue()
                bot = list(struct.unpack(f"<{len(data) // 4}L", data[: len(data) // 4 * 4]))
                continue
            frag = hashlib.sha256()
            sinks: list[Callable[[bytes], object]] = [sink, frag.update, whole.update]
            if bot:
                index = max(0, bisect.bisect_right(bot, rel) - 1)
                sinks.append(frame_hashes.setdefault(index, hashlib.sha256()).update)
            self.r.stream(length, sinks, tag)
            fragment_digests.append(frag.hexdigest())
            rel += 8 + length
        if bot:
            self.frames.extend(frame_hashes[i].hexdigest() for i in sorted(frame_hashes))
        elif n_frames == 1:
            self.frames.append(whole.hexdigest())
        else:
            self.frames.extend(fragment_digests)
            if len(fragment_digests) != n_frames:
                self.frame_unit = FrameUnit.FRAGMENT

    # -- top level ---------------------------------------------------------------------
    def element(self, implicit: bool, top: bool = True) -> ElementDigest | None:
        start = self.r.pos
        hdr = self.header(implicit)
        if hdr is None:
            return None
        tag, vr, length, raw = hdr
        h = hashlib.sha256(raw)
        if tag >> 16 == 0xFFFE:
            raise MalformedDicomError(f"stray {format_tag(tag)} at byte {start}")
        if tag == _PIXEL_DATA and top:
            if length == _UNDEFINED:
                self.encapsulated_pixels(h.update)
            else:
                self.native_pixels(length, h.update)
        elif length == _UNDEFINED:
            self.skip_undefined_sequence(h.update, 1, implicit or vr == b"UN")
        elif tag in _KEEP and length <= _KEEP_MAX:
            value = self.r.exact(length, format_tag(tag)) if length else b""
            h.update(value)
            self.kept[tag] = raw + value
        else:
            self.r.stream(length, [h.update], tag)
        return ElementDigest(tag, vr.decode("ascii", "replace"), start, h.hexdigest())


def _dict_vr(tag: int) -> bytes:
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        return b"UN"
    return vr.split(" or ")[0].encode("ascii")[:2]


def _int_value(raw: bytes | None, implicit: bool, *, string: bool = False) -> int | None:
    """Decode a kept US (or IS when ``string``) value from its raw element bytes."""
    if raw is None:
        return None
    value = raw[8:] if (implicit or len(raw) < 12 or raw[4:6] not in _LONG_VRS) else raw[12:]
    try:
        if string:
            return int(value.decode("ascii").strip("\x00 ").split("\\")[0] or "0")
        return int(struct.unpack("<H", value[:2])[0])
    except (ValueError, struct.error, UnicodeDecodeError):
        return None


def _frame_size(kept: dict[int, bytes], implicit: bool) -> int:
    rows = _int_value(kept.get(0x00280010), implicit) or 0
    cols = _int_value(kept.get(0x00280011), implicit) or 0
    spp = _int_value(kept.get(0x00280002), implicit) or 1
    bits = _int_value(kept.get(0x00280100), implicit) or 0
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
#: VRs whose bytes depend on Specific Character Set (PS3.5 §6.1.2.3).
_CHARSET_VRS = frozenset({b"PN", b"LO", b"SH", b"LT", b"ST", b"UT", b"UC"})


def _value_bytes(raw: bytes, implicit: bool) -> tuple[bytes, bytes]:
    """(VR, value) of a kept element's raw bytes."""
    if implicit:
        return _dict_vr(
            int.from_bytes(raw[:2], "little") << 16 | int.from_bytes(raw[2:4], "little")
        ), raw[8:]
    vr = raw[4:6]
    return vr, raw[12:] if vr in _LONG_VRS else raw[8:]


def _decode_values(kept: dict[int, bytes], implicit: bool) -> dict[str, str]:
    """Decode the kept identity elements (character sets per (0008,0005), PS3.5 §6.1).

    Values are decoded as pydicom would, trailing padding removed; multiple values stay
    joined by ``\\``. Undecodable values are left out rather than guessed.
    """
    charset_raw = kept.get(0x00080005)
    terms = ["ISO_IR 6"]
    if charset_raw is not None:
        text = _value_bytes(charset_raw, implicit)[1].decode("ascii", "replace")
        terms = [t.strip() for t in text.strip("\x00 ").split("\\")] or ["ISO_IR 6"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            encodings = convert_encodings([t or "ISO_IR 6" for t in terms])
    except (LookupError, ValueError):
        encodings = ["iso8859"]
    out: dict[str, str] = {}
    for tag, keyword in _TEXT_TAGS.items():
        raw = kept.get(tag)
        if raw is None:
            continue
        vr, value = _value_bytes(raw, implicit)
        try:
            if vr in _CHARSET_VRS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    text = decode_bytes(value, encodings, {0x5C, 0x3D, 0x5E})
            else:
                text = value.decode("ascii")
        except (UnicodeDecodeError, LookupError, ValueError):
            continue
        out[keyword] = "\\".join(v.rstrip(" \x00") for v in text.split("\\"))
    return out


def digest_stream(fp: BinaryIO, size: int | None = None) -> InstanceDigests:
    """Digest a Part 10 stream read sequentially from ``fp``.

    Parameters
    ----------
    fp
        Binary stream positioned at byte 0 of the file (seeking is never needed).
    size
        The file's size when known; length fields that point past it are refused early.

    Raises
    ------
    MalformedDicomError
        No ``DICM`` prefix, a transfer syntax this walker cannot read (Big Endian,
        Deflated), a length field past the end of the file, or a truncated element.
    """
    r = _Reader(fp, size)
    w = _Walker(r)
    preamble = r.read(128)
    if len(preamble) < 128 or r.read(4) != b"DICM":
        raise MalformedDicomError("not a DICOM Part 10 file (no DICM prefix, PS3.10 §7.1)")
    elements: list[ElementDigest] = []
    ts = ""
    while True:  # File Meta Information, always Explicit VR Little Endian
        head = r.read(4)
        if len(head) < 4:
            r.unread(head)
            break
        r.unread(head)
        if struct.unpack("<H", head[:2])[0] != 0x0002:
            break
        start = r.pos
        hdr = w.header(False)
        if hdr is None:
            break
        tag, vr, length, raw = hdr
        if length == _UNDEFINED or length > _KEEP_MAX:
            raise MalformedDicomError(f"implausible File Meta length in {format_tag(tag)}")
        value = r.exact(length, format_tag(tag))
        if tag == 0x00020010:
            ts = value.decode("ascii", "replace").strip("\x00 ")
        elements.append(
            ElementDigest(
                tag, vr.decode("ascii", "replace"), start, hashlib.sha256(raw + value).hexdigest()
            )
        )
    if ts not in (_EXPLICIT_LE, _IMPLICIT_LE) and not ts.startswith("1.2.840.10008.1.2.4"):
        if ts not in ("1.2.840.10008.1.2.5",) and not ts.startswith("1.2.840.10008.1.2.8"):
            raise MalformedDicomError(f"transfer syntax {ts or '(none)'} cannot be walked")
    w.implicit = ts == _IMPLICIT_LE
    while True:
        d = w.element(w.implicit)
        if d is None:
            break
        elements.append(d)
    r.drain()
    return InstanceDigests(
        size=r.pos,
        sha256=r.file_hash.hexdigest(),
        transfer_syntax_uid=ts,
        elements=tuple(elements),
        frames=tuple(w.frames),
        frame_unit=w.frame_unit,
        values=_decode_values(w.kept, w.implicit),
        preamble=preamble,
    )


def digest_instance(path: str, size: int | None = None) -> InstanceDigests:
    """:func:`digest_stream` over a file on disk."""
    try:
        with open(path, "rb") as fp:
            return digest_stream(fp, size)
    except OSError as exc:
        raise MalformedDicomError(f"cannot read: {exc.strerror}", path=path) from exc
