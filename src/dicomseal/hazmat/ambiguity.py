"""Structural ambiguity of a parsed Part 10 file: what two DICOM readers may read differently.

PS3.5 §7.1 requires the data elements of a data set (and of every sequence item) in
ascending tag order, each tag at most once; PS3.10 §7.1 keeps group 0002 in the File Meta
Information. Readers resolve violations differently: pydicom keeps the last of two
duplicates and sorts, DCMTK keeps the first or stops, viewers vary. A PS3.15 MAC, which
encodes the signed elements sorted by tag, cannot tell which reading a user sees, so a
verifier must refuse such a file rather than pick a reading.

A public attribute encoded with VR UN (PS3.5 §6.2.2) is a second such gap: DCMTK
``dcmsign`` never feeds an element that is or contains UN into the MAC (its VR is
unknown), while pydicom replaces UN by the dictionary VR and shows the value as an
ordinary attribute. Next to a signature it therefore shows unsigned content as if it
were part of the signed data set.

This module only finds; the verdict is decided in :mod:`dicomseal.signature.verify`.
"""

from __future__ import annotations

import enum
import struct
import sys
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain, islice
from operator import lt
from typing import Final

from dicomseal.dicom.vocab import ENCAPSULATED_PREFIXES, EXPLICIT_VR_BE, NATIVE_SYNTAXES
from dicomseal.hazmat.elements import Element, Part10File
from dicomseal.hazmat.meta_group import meta_group_length_misleads, repeats_byte_for_byte
from dicomseal.hazmat.pixel_bytes import big_endian_pixel_vr_mismatch, odd_fragments
from dicomseal.hazmat.transcode import needs_transcoding
from dicomseal.wording import counted

__all__ = [
    "FOREIGN_PROBE",
    "MAX_FOUND",
    "Ambiguity",
    "AmbiguityKind",
    "executable_preamble",
    "find_ambiguities",
    "foreign_format",
    "is_known_public_tag",
    "leading_format",
    "tar_header",
]

_DIGITAL_SIGNATURES_SEQUENCE: Final = 0xFFFAFFFA


class AmbiguityKind(enum.Enum):
    """What makes a data set readable in more than one way (stable codes)."""

    DUPLICATE_TAG = "duplicate-tag"
    OUT_OF_ORDER = "out-of-order"
    META_IN_DATASET = "file-meta-in-data-set"
    KNOWN_TAG_AS_UN = "known-attribute-encoded-as-UN"
    TRAILING_BYTES = "bytes-after-the-data-set"
    PIXEL_ENCODING = "pixel-data-contradicts-transfer-syntax"
    KNOWN_TAG_WITHOUT_SIGNER_VR = "known-attribute-unknown-to-the-signer-dictionary"
    META_GROUP_LENGTH = "file-meta-group-length-mismatch"
    UID_INNER_SPACE = "uid-with-inner-space"
    ODD_LENGTH_NUMBERS = "odd-length-binary-numbers"
    UN_ITEMS_READ_TWO_WAYS = "un-sequence-items-read-two-ways"
    ODD_LENGTH_FRAGMENT = "odd-length-pixel-fragment"
    BIG_ENDIAN_PIXEL_VR = "big-endian-pixel-vr-contradicts-bits-allocated"


@dataclass(frozen=True)
class Ambiguity:
    """One place where two readers may disagree.

    Attributes
    ----------
    kind
        What is wrong.
    tag
        The element concerned (for trailing bytes: how many).
    location
        ``meta`` for the File Meta Information, empty for the top-level data set, else
        the item path (``Keyword[index].Keyword[index]``).
    """

    kind: AmbiguityKind
    tag: int
    location: str

    def describe(self) -> str:
        """One human sentence."""
        where = {"": "in the data set", "meta": "in the file meta"}.get(
            self.location, f"in {self.location}"
        )
        tag = f"({self.tag >> 16:04X},{self.tag & 0xFFFF:04X})"
        text = {
            AmbiguityKind.DUPLICATE_TAG: f"{tag} occurs more than once {where}",
            AmbiguityKind.OUT_OF_ORDER: f"{tag} is out of ascending tag order {where}",
            AmbiguityKind.META_IN_DATASET: f"file meta element {tag} {where}",
            AmbiguityKind.PIXEL_ENCODING: (
                f"{tag} is native where the file meta's transfer syntax says encapsulated, "
                "or the reverse, or that syntax is not one readers decode alike"
            ),
            AmbiguityKind.TRAILING_BYTES: (
                f"{counted(self.tag, 'byte')} after the last data element, forming no element"
            ),
            AmbiguityKind.KNOWN_TAG_AS_UN: (
                f"known attribute {tag} is encoded as UN {where}: readers show it, "
                "no signature can cover it"
            ),
            AmbiguityKind.KNOWN_TAG_WITHOUT_SIGNER_VR: (
                f"attribute {tag} {where} is in Implicit VR and unknown to the DCMTK "
                "dictionary a PS3.15 MAC takes its VR from: pydicom shows it, no "
                "signature can cover it"
            ),
            AmbiguityKind.META_GROUP_LENGTH: (
                "the File Meta Information Group Length disagrees with the group 0002 "
                "elements: DCMTK ends the file meta where it says, pydicom where group "
                "0002 ends"
            ),
            AmbiguityKind.UID_INNER_SPACE: (
                f"UID {tag} {where} has a space inside its value: DCMTK and the PS3.15 MAC "
                "drop every space of a UID, pydicom keeps it, so readers see two UIDs"
            ),
            AmbiguityKind.ODD_LENGTH_NUMBERS: (
                f"{tag} {where} holds binary numbers in an odd number of bytes: DCMTK and "
                "the MAC pad it with 00, pydicom refuses it, other readers take the next "
                "element's first byte"
            ),
            AmbiguityKind.UN_ITEMS_READ_TWO_WAYS: (
                f"{tag} {where} is UN of undefined length: DCMTK and the standard read its "
                "items as Implicit VR Little Endian (PS3.5 §6.2.2), pydicom here in the "
                "file's own encoding (an item beginning like Explicit VR, or a big-endian "
                "file), so the two find different elements, at this level too"
            ),
            AmbiguityKind.ODD_LENGTH_FRAGMENT: (
                f"{tag} has a fragment of odd length: DCMTK and the MAC pad it with 00, "
                "pydicom decodes it as stored, so a byte can move between fragments"
            ),
            AmbiguityKind.BIG_ENDIAN_PIXEL_VR: (
                f"{tag} is big-endian with a VR that does not fit its Bits Allocated: "
                "DCMTK swaps it by its VR, pydicom by Bits Allocated, two images"
            ),
        }
        return text[self.kind]


def _meta_repeated(parsed: Part10File, found: Ambiguity) -> bool:
    """A File Meta Information element repeated byte for byte (OsiriX writes (0002,0003)
    twice), in the meta group or in the data set: every reader gets the same value."""
    if found.kind is AmbiguityKind.META_IN_DATASET:
        return repeats_byte_for_byte(parsed, found.tag, in_data_set=True)
    if found.kind is AmbiguityKind.DUPLICATE_TAG and found.location == "meta":
        return repeats_byte_for_byte(parsed, found.tag, in_data_set=False)
    return False


def _meta_group_length(parsed: Part10File) -> Iterator[Ambiguity]:
    """(0002,0000) must count exactly the group 0002 bytes after it (PS3.10 §7.1).

    DCMTK reads the File Meta Information up to the byte count it gives (data set
    elements included, with a warning), pydicom and this walker up to the end of group
    0002: a count reaching into the data set hides its first elements (Specific
    Character Set, the SOP and patient attributes) from DCMTK and ``dcmsign`` alone,
    unless what it moves hides nothing (:func:`~dicomseal.hazmat.meta_group.
    meta_group_length_misleads`).
    """
    if meta_group_length_misleads(parsed):
        yield Ambiguity(AmbiguityKind.META_GROUP_LENGTH, 0x00020000, "meta")


def is_known_public_tag(tag: int) -> bool:
    """Whether ``tag`` is a public attribute of pydicom's data dictionary (repeaters too)."""
    if (tag >> 16) % 2 == 1 or tag & 0xFFFF == 0:
        return False
    from pydicom.datadict import dictionary_VR  # dictionary loaded on first use

    try:
        dictionary_VR(tag)
    except KeyError:
        return False
    return True


def _keyword(tag: int) -> str:
    from pydicom.datadict import keyword_for_tag

    return keyword_for_tag(tag) or f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _order(elements: Sequence[Element], location: str) -> Iterator[Ambiguity]:
    previous = -1
    seen: set[int] = set()
    for el in elements:
        if el.tag in seen:
            yield Ambiguity(AmbiguityKind.DUPLICATE_TAG, el.tag, location)
        elif el.tag < previous:
            yield Ambiguity(AmbiguityKind.OUT_OF_ORDER, el.tag, location)
        seen.add(el.tag)
        previous = max(previous, el.tag)


#: Binary VRs of values wider than one byte (PS3.5 Table 6.2-1): an odd length splits one.
_WIDE_BINARY_VRS: Final = frozenset(
    {
        b"AT",
        b"FD",
        b"FL",
        b"OD",
        b"OF",
        b"OL",
        b"OV",
        b"OW",
        b"SL",
        b"SS",
        b"SV",
        b"UL",
        b"US",
        b"UV",
    }
)


def _read_two_ways(el: Element) -> AmbiguityKind | None:
    """Whether DCMTK (and the MAC) and pydicom read this value differently, and how."""
    if el.length % 2 and el.vr in _WIDE_BINARY_VRS and el.length != 0xFFFFFFFF:
        # PS3.5 §7.1.1: even lengths; DCMTK reads a 00 more (as the MAC holds it)
        return AmbiguityKind.ODD_LENGTH_NUMBERS
    return AmbiguityKind.UID_INNER_SPACE if _uid_read_two_ways(el) else None


def _uid_read_two_ways(el: Element) -> bool:
    """A UI value with a space inside one of its values (PS3.5 §6.2 allows padding only).

    DCMTK removes every space of a UID when it reads one (and so does its MAC normal form,
    :mod:`dicomseal.hazmat.normalize`), pydicom strips only the spaces around each value:
    ``1.2.8 26`` is ``1.2.826`` to DCMTK, a PACS built on it and the signature, and another
    UID to pydicom.
    """
    value = el.value
    if el.vr != b"UI" or value is None or b" " not in value:
        return False
    return any(b" " in part.strip(b" \x00") for part in value.split(b"\\"))


#: A 4-byte undefined length (PS3.5 §7.1.1).
_UNDEFINED: Final = 0xFFFFFFFF


def _un_items_read_two_ways(el: Element, big_endian: bool) -> bool:
    """A UN element of undefined length, itself in Explicit VR, with an item that pydicom
    reads in Explicit VR, or in a big-endian file (pydicom reads its items in big endian,
    explicit or implicit: every length differs).

    PS3.5 §6.2.2: such a value is a sequence of Implicit VR Little Endian items, as DCMTK
    and :mod:`dicomseal.hazmat.elements` read it. pydicom 3 reads it as a sequence too
    (a private tag followed by an Item, or a public one its dictionary calls SQ) but
    chooses each item's encoding from the item's first element: Explicit VR when the two
    bytes where an explicit VR would stand are both ``A``-``Z`` (``filereader.
    _is_implicit_vr``). Read implicitly, those two bytes are the low half of the first
    element's 4-byte length. When they look like a VR, pydicom parses the item in another
    way, can leave the sequence elsewhere, and show elements beside it (a Patient's Name)
    that DCMTK reads as bytes of the item.
    """
    if el.vr != b"UN" or el.length != _UNDEFINED or el.implicit:
        return False
    if big_endian and any(item.elements for item in el.items or ()):
        return True
    for item in el.items or ():
        if item.elements:
            low = item.elements[0].length & 0xFFFF
            if 0x40 < low & 0xFF < 0x5B and 0x40 < low >> 8 < 0x5B:
                return True
    return False


def _item_path(path: tuple[tuple[int, int], ...]) -> str:
    """``Keyword[index].Keyword[index]``; the dictionary is loaded only to name a finding."""
    return ".".join(f"{_keyword(tag)}[{index}]" for tag, index in path)


def _walk(
    elements: Sequence[Element],
    path: tuple[tuple[int, int], ...],
    signed_level: bool,
    big_endian: bool = False,
) -> Iterator[Ambiguity]:
    for found in _order(elements, ""):
        yield replace(found, location=_item_path(path)) if path else found
    signed_level = signed_level or any(e.tag == _DIGITAL_SIGNATURES_SEQUENCE for e in elements)
    for el in elements:
        if not path and el.tag >> 16 == 0x0002:
            yield Ambiguity(AmbiguityKind.META_IN_DATASET, el.tag, "")
        # groups 0000-0007 enter no MAC in any VR: coverage.skipped_content judges them
        if signed_level and el.vr == b"UN" and el.tag >= 0x00080000 and is_known_public_tag(el.tag):
            kind = AmbiguityKind.KNOWN_TAG_AS_UN
            if el.implicit:  # the VR dcmsign's dictionary gave it: unknown there
                kind = AmbiguityKind.KNOWN_TAG_WITHOUT_SIGNER_VR
            yield Ambiguity(kind, el.tag, _item_path(path))
        two_ways = _read_two_ways(el) if signed_level else None
        if signed_level and _un_items_read_two_ways(el, big_endian):
            two_ways = AmbiguityKind.UN_ITEMS_READ_TWO_WAYS
        if two_ways is not None:
            yield Ambiguity(two_ways, el.tag, _item_path(path))
        for index, item in enumerate(el.items or ()):
            yield from _walk(item.elements, (*path, (el.tag, index)), signed_level, big_endian)


def _pixel_encoding(parsed: Part10File) -> Iterator[Ambiguity]:
    """Pixel Data whose encoding contradicts the meta's transfer syntax (PS3.5 §A.4).

    A viewer decodes pixels as the (unsigned) meta says; the MAC covers them as stored.
    A syntax that is neither native nor encapsulated (an unknown UID, one byte of the
    meta changed) says nothing a reader can decode by: DCMTK guesses the encoding from
    the bytes and shows the image, pydicom refuses to decode it.
    """
    ts = parsed.meta.transfer_syntax_uid
    native = ts in NATIVE_SYNTAXES
    encapsulated = ts.startswith(ENCAPSULATED_PREFIXES)
    for el in [el for el in parsed.elements if el.tag == 0x7FE00010]:
        if (
            (native and el.fragments is not None)
            or (encapsulated and el.fragments is None)
            or not (native or encapsulated)
        ):
            yield Ambiguity(AmbiguityKind.PIXEL_ENCODING, el.tag, "")


def _ascending(tags: list[int]) -> bool:
    """Strictly ascending: no tag twice, none out of order (PS3.5 §7.1)."""
    return all(map(lt, tags, islice(tags, 1, None)))


def _plainly_ordered(parsed: Part10File, to_sign: bool) -> bool:
    """True when :func:`_walk` and the meta's :func:`_order` cannot find anything.

    A quick test over whole levels (strictly ascending tags, no group 0002 at the top,
    no element with VR UN or a value read two ways at or below a signed level); it may say
    False for a file without ambiguity (a UN element that is not a known attribute),
    never True for one with an ambiguity.
    """
    if not _ascending([el.tag for el in parsed.meta.elements]):
        return False
    levels: list[tuple[Sequence[Element], bool, bool]] = [(parsed.elements, True, to_sign)]
    while levels:
        elements, top, signed_level = levels.pop()
        tags = [el.tag for el in elements]  # faster than map(attrgetter) on slots
        if not _ascending(tags):
            return False
        if top:
            first = bisect_left(tags, 0x00020000)
            if first < len(tags) and tags[first] >> 16 == 0x0002:
                return False
        signed_level = signed_level or _DIGITAL_SIGNATURES_SEQUENCE in tags
        if signed_level and b"UN" in [el.vr for el in elements]:
            return False
        # only an odd length or a UI value can be read two ways: the rest is not called
        if signed_level and any(
            map(_read_two_ways, [el for el in elements if el.length & 1 or el.vr == b"UI"])
        ):
            return False
        for el in [el for el in elements if el.items]:
            levels.extend((item.elements, False, signed_level) for item in el.items or ())
    return True


#: Most places the two walks (order, then every element) report: one is enough for the
#: verdict, a thousand for any reader of the report. A file of two million out-of-order
#: 8-byte elements gave one finding (and one sentence, kept in the result) per element.
MAX_FOUND: Final = 1000


def find_ambiguities(parsed: Part10File, *, to_sign: bool = False) -> tuple[Ambiguity, ...]:
    """The ambiguities of ``parsed``: file meta, the data set and every item, any depth.

    A known attribute encoded as UN is reported only at a level that holds a Digital
    Signatures Sequence (FFFA,FFFA) or inside one (where a signature could cover it),
    or anywhere when ``to_sign`` (the file is about to be signed). The walks of the
    elements stop after :data:`MAX_FOUND` places (memory bounded by a constant, not by
    an untrusted element count); any one of them makes the file ambiguous.
    """
    found: list[Ambiguity] = []
    if not _plainly_ordered(parsed, to_sign):  # else nothing to find in the two walks
        big_endian = parsed.meta.transfer_syntax_uid == EXPLICIT_VR_BE
        walks = chain(
            _order(parsed.meta.elements, "meta"),
            _walk(parsed.elements, (), to_sign, big_endian),
        )
        found.extend(a for a in islice(walks, MAX_FOUND) if not _meta_repeated(parsed, a))
    found.extend(_pixel_encoding(parsed))
    # a meta UID too: DCMTK reads "1.2.840.10008.1.2. 2" as big endian (red team 18)
    found.extend(
        Ambiguity(AmbiguityKind.UID_INNER_SPACE, el.tag, "meta")
        for el in parsed.meta.elements
        if _uid_read_two_ways(el)
    )
    found.extend(Ambiguity(AmbiguityKind.ODD_LENGTH_FRAGMENT, t, "") for t in odd_fragments(parsed))
    found.extend(
        Ambiguity(AmbiguityKind.BIG_ENDIAN_PIXEL_VR, t, "")
        for t in big_endian_pixel_vr_mismatch(parsed)
    )
    found.extend(_meta_group_length(parsed))
    end = parsed.elements[-1].end if parsed.elements else parsed.meta.end
    if end != parsed.size:  # the walker stops before fewer than 8 bytes (no header fits)
        found.append(Ambiguity(AmbiguityKind.TRAILING_BYTES, parsed.size - end, ""))
    return tuple(found)


#: Executable headers that a 128-byte Part 10 preamble (PS3.10 §7.1) may hide
#: (CVE-2019-11687): PE/DOS, ELF, Mach-O (fat, 32/64-bit, both byte orders), a script.
_EXECUTABLE_MAGIC: Final = (
    (b"MZ", "PE/DOS"),
    (b"\x7fELF", "ELF"),
    (b"#!", "script"),
    (b"\xca\xfe\xba\xbe", "Mach-O"),
    (b"\xcf\xfa\xed\xfe", "Mach-O"),
    (b"\xce\xfa\xed\xfe", "Mach-O"),
    (b"\xfe\xed\xfa\xce", "Mach-O"),
    (b"\xfe\xed\xfa\xcf", "Mach-O"),
)


def executable_preamble(preamble: bytes) -> str | None:
    """The kind of executable a Part 10 preamble starts like, or ``None``.

    The operating system reads such a file as a program while every DICOM reader reads
    an image: a DICOM/executable polyglot (CVE-2019-11687). The preamble lies outside
    every PS3.15 signature, so a signature can be intact on a file carrying malware.
    """
    for magic, kind in _EXECUTABLE_MAGIC:
        if preamble.startswith(magic):
            return kind
    return None


#: How many leading bytes :func:`foreign_format` looks at: PDF readers find ``%PDF`` in
#: the first 1024 bytes (ISO 32000-1 §7.5.2, Implementation note 13 of PDF 1.7).
FOREIGN_PROBE: Final = 1024
#: Signatures at byte 0 of formats that operating systems, image viewers and browsers
#: recognise by content: a preamble (PS3.10 §7.1) starting so makes the file that format
#: too (DICOM/TIFF "dual personality" files are the benign form).
_FOREIGN_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE2 (Office)"),
    (b"RIFF", "RIFF"),
    (b"{\\rtf", "RTF"),
)
_MARKUP: Final = (b"<?xml", b"<!doctype", b"<html", b"<svg", b"<script")


#: TIFF field types (TIFF 6.0 §2 plus BigTIFF's 16-18).
_TIFF_FIELD_TYPES: Final = frozenset(range(1, 19))


def _stored_bytes(parsed: Part10File) -> tuple[Callable[[int, int], bytes], int] | None:
    """A reader of the file's bytes as stored (what a TIFF reader reads at an offset), and
    their size.

    The parse itself for a file read as it is; the original stream for a big-endian or
    deflated one, whose parse holds a re-encoded copy (:attr:`Part10File.original`);
    ``None`` when that stream is not at hand or cannot be read.
    """
    if not needs_transcoding(parsed.meta.transfer_syntax_uid):
        return parsed.read_at, parsed.size
    original = parsed.original
    if original is None:
        return None
    try:
        size = original.seek(0, 2)
    except (OSError, ValueError):
        return None

    def read_at(offset: int, n: int) -> bytes:
        original.seek(offset)
        return original.read(n)

    return read_at, size


def _tiff_opens(preamble: bytes, parsed: Part10File) -> bool:
    """A TIFF or BigTIFF header whose first IFD a TIFF reader accepts (TIFF 6.0 §2:
    1-4096 entries inside the file, known field types, image width and length present;
    libtiff and Pillow accept tags out of order). Scanners leave TIFF headers pointing at
    pixel bytes in the preamble (pydicom's ``CT_small.dcm``, GE CT): no IFD, nothing opens.
    """
    order = {b"II": "<", b"MM": ">"}.get(preamble[:2])
    if order is None or len(preamble) < 16:
        return False
    version = struct.unpack_from(order + "H", preamble, 2)[0]
    if version not in (42, 43):
        return False
    stored = _stored_bytes(parsed)
    if stored is None:
        return True  # offsets refer to bytes this parse cannot read: assume it opens
    read_at, size = stored
    big = version == 43
    first = struct.unpack_from(order + ("Q" if big else "I"), preamble, 8 if big else 4)[0]
    if not 8 <= first < size:
        return False
    entry, count_fmt = (20, "Q") if big else (12, "H")
    raw = read_at(first, 8)
    if len(raw) < struct.calcsize(count_fmt):
        return False
    count = struct.unpack_from(order + count_fmt, raw)[0]
    if not 1 <= count <= 4096:
        return False
    after = first + len(raw)  # where a second read of the stream would go on
    table = read_at(after, count * entry) if big else raw[2:] + read_at(after, count * entry - 6)
    if len(table) < count * entry:
        return False
    # the table as 16-bit words in the file's byte order: an entry's tag, then its type
    words = array("H", table[: count * entry])
    if (order == "<") != (sys.byteorder == "little"):
        words.byteswap()
    step = entry // 2
    return set(words[1::step]) <= _TIFF_FIELD_TYPES and {256, 257} <= set(words[0::step])


#: Where a tar header block keeps its checksum (POSIX.1-1988 ustar and V7 alike).
_TAR_CHECKSUM: Final = slice(148, 156)


def tar_header(block: bytes) -> bool:
    """Whether a 512-byte block is a tar header that GNU tar accepts (POSIX.1 §10.1.1).

    GNU tar needs no ``ustar`` magic (a V7 header has none), only a checksum field of
    octal digits (after optional spaces, ended by NUL or space) that equals the sum of
    the block's bytes with the field taken as spaces, unsigned or signed. It then lists
    and extracts the member, and the next header 512 bytes on: a Part 10 preamble
    holding such a header, a size field cut short by a NUL before ``DICM``, makes the
    file a tar archive of whatever the unsigned file meta holds from byte 512.
    """
    if len(block) < 512:
        return False
    field = block[_TAR_CHECKSUM].lstrip(b" ")
    digits = field.split(b"\0", 1)[0].split(b" ", 1)[0]
    if not digits or len(digits) > 7 or any(c not in b"01234567" for c in digits):
        return False
    rest = field[len(digits) :]
    if rest and rest[:1] not in (b"\0", b" "):
        return False
    wanted = int(digits, 8)
    head = block[:512]
    unsigned = sum(head) - sum(head[_TAR_CHECKSUM]) + 8 * 0x20
    signed = unsigned - 256 * sum(1 for b in head[:148] + head[156:] if b > 0x7F)
    return wanted in (unsigned, signed) and any(head[:148])


def leading_format(head: bytes) -> str | None:
    """The format the first bytes of a file announce by content, or ``None``.

    A signature at byte 0 (:data:`_FOREIGN_MAGIC`), markup a browser renders, or
    ``%PDF-`` within the first :data:`FOREIGN_PROBE` bytes (where PDF readers look).
    Shared by instances (their unsigned preamble and file meta) and ISO images (their
    system area, ECMA-119 §6.2.1).
    """
    kind = next((k for magic, k in _FOREIGN_MAGIC if head.startswith(magic)), None)
    if kind is None and head[:128].lstrip().lower().startswith(_MARKUP):
        kind = "XML/HTML"
    if kind is None and b"%PDF-" in head[:FOREIGN_PROBE]:
        kind = "PDF"
    return kind


def foreign_format(parsed: Part10File, head: bytes) -> str | None:
    """Why the unsigned start of a Part 10 file also makes it another format, or ``None``.

    ``head`` is the preamble, ``DICM`` and the File Meta Information (at most
    :data:`FOREIGN_PROBE` bytes) of ``parsed``, none of which any PS3.15 signature
    covers. A TIFF or
    PNG reader (the operating system's preview, an image viewer), a PDF reader or a
    browser then shows an image or document whose bytes the preamble points to, for
    example in the unsigned Data Set Trailing Padding, while every DICOM reader shows
    the signed instance.
    """
    preamble = head[:128]
    kind = leading_format(head)
    if kind is None and _tiff_opens(preamble, parsed):
        kind = "TIFF"
    if kind is None and tar_header(head[:512] if len(head) >= 512 else parsed.read_at(0, 512)):
        kind = "tar"
    if kind is None:
        return None
    return (
        f"the unsigned preamble or file meta makes the file also a {kind} file: "
        "a viewer of that format shows what it points to, which no signature covers"
    )
