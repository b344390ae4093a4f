"""The one walk of a DICOMDIR's directory record tree (PS3.3 §F.3.2.2, PS3.10 §8.6).

Records are linked by byte offsets: Offset of the First Directory Record of the Root
Directory Entity (0004,1200), and in each record Offset of the Next Directory Record
(0004,1400) and Offset of Referenced Lower-Level Directory Entity (0004,1420). Offsets are
hostile input: :func:`walk_records` visits each record at most once (a loop is reported,
never followed again) and reports offsets that are not at a record, in the order it meets
them. Both media verification (findings) and the forensic reader (tree order, or the
positional fallback when the links are inconsistent) use it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from dicomseal.dicom.text import CHARSET_VRS, STRING_VRS, element_text, is_default_repertoire
from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import UNDEFINED, Element, Item, Part10File

__all__ = [
    "FIRST_RECORD",
    "LEVELS",
    "LOWER_ENTITY",
    "NEXT_RECORD",
    "DirectoryRecord",
    "DirectoryRecords",
    "DirectoryWalk",
    "LinkReader",
    "WalkProblem",
    "is_conformant_file_id",
    "is_conformant_file_id_value",
    "link_value",
    "read_records",
    "record_link",
    "walk_records",
]

#: The hierarchy above the leaf records, top first (PS3.3 §F.4).
LEVELS: Final = ("PATIENT", "STUDY", "SERIES")
FIRST_RECORD: Final = 0x00041200
NEXT_RECORD: Final = 0x00041400
LOWER_ENTITY: Final = 0x00041420


_COMPONENT: Final = re.compile(r"^[A-Z0-9_]{1,8}$")


def is_conformant_file_id(parts: Sequence[str]) -> bool:
    """True when ``parts`` is a PS3.10 §8.2 conformant File ID (at most 8 components of
    1-8 characters ``A-Z 0-9 _``)."""
    return 1 <= len(parts) <= 8 and all(_COMPONENT.match(p) for p in parts)


def is_conformant_file_id_value(vr: bytes, raw: bytes) -> bool:
    """True when the stored Referenced File ID (0004,1500) is conformant as it is stored:
    VR CS (PS3.3 F.3.2.2), components ``\\``-separated (PS3.5 §6.4), only the CS padding
    spaces at the end (PS3.5 §6.2: trailing spaces of a CS are insignificant, and DCMTK
    and pydicom both drop them all). Only then does every reader name the same file: a
    reader that strips other padding or reads another VR's delimiters (pydicom drops a
    PN's empty trailing ``=`` groups, a UI's spaces) names another file than one that
    does not (DCMTK)."""
    if vr != b"CS" or not raw.isascii():
        return False
    text = raw.decode("ascii").rstrip(" ")
    return is_conformant_file_id(text.split("\\"))


class WalkProblem(enum.Enum):
    """What is wrong with an offset met on the walk."""

    LOOP = "loop"
    BAD_OFFSET = "bad-offset"
    MALFORMED_LINK = "malformed-link"  # the offset at which the record holding it sits


@dataclass(frozen=True)
class DirectoryWalk:
    """The records reached from the root, in tree order (pre-order), and the problems met.

    Attributes
    ----------
    order
        ``(offset, depth)`` of each record reached, root level depth 0.
    problems
        ``(problem, offset)`` in the order met.
    """

    order: tuple[tuple[int, int], ...]
    problems: tuple[tuple[WalkProblem, int], ...]


def link_value(rec: Any, tag: int) -> int | None:
    """A record's link to another record (PS3.3 F.3.2.2): 0 when absent, None if malformed.

    UL with VM 1; anything else (several values, text, a sequence) has no single reading.
    """
    if tag not in rec:
        return 0
    try:  # pydicom converts raw values lazily: a hostile length raises here
        value = rec[tag].value
    except Exception:
        return None
    if value is None or value == b"" or value == "":
        return 0
    return value if isinstance(value, int) and not isinstance(value, bool) else None


#: How a walk reads one link of a record: the offset, 0 when absent, None if malformed.
LinkReader = Callable[[Any, int], "int | None"]


def walk_records(
    records: Mapping[int, Any], root: int, link: LinkReader = link_value
) -> DirectoryWalk:
    """Walk the tree of ``records`` (byte offset -> record) from ``root``.

    A lower-level entity is visited before the next record of the same level. ``link``
    reads a record's links (:data:`NEXT_RECORD`, :data:`LOWER_ENTITY`); the default,
    :func:`link_value`, reads a pydicom dataset.
    """
    visited: set[int] = set()
    order: list[tuple[int, int]] = []
    problems: list[tuple[WalkProblem, int]] = []
    stack: list[tuple[int, int]] = [(root, 0)] if root else []
    while stack:
        offset, depth = stack.pop()
        if offset in visited:
            problems.append((WalkProblem.LOOP, offset))
            continue
        if offset not in records:
            problems.append((WalkProblem.BAD_OFFSET, offset))
            continue
        visited.add(offset)
        order.append((offset, depth))
        rec = records[offset]
        nxt, lower = link(rec, NEXT_RECORD), link(rec, LOWER_ENTITY)
        if nxt is None or lower is None:
            problems.append((WalkProblem.MALFORMED_LINK, offset))
        if nxt:
            stack.append((nxt, depth))
        if lower:
            stack.append((lower, depth + 1))
    return DirectoryWalk(tuple(order), tuple(problems))


#: Directory Record Sequence (0004,1220), File-set ID (0004,1130), Specific Character Set.
RECORD_SEQUENCE: Final = 0x00041220
FILESET_ID: Final = 0x00041130
CHARSET: Final = 0x00080005
_DEFAULT_TERMS: Final = ("ISO_IR 6",)
#: Bytes per value of the binary VRs pydicom unpacks (PS3.5 Table 6.2-1): a length that
#: is not a multiple makes pydicom raise, so the DICOMDIR is unreadable to it too.
_NUMBER_SIZE: Final = {
    b"US": 2,
    b"SS": 2,
    b"UL": 4,
    b"SL": 4,
    b"FL": 4,
    b"FD": 8,
    b"SV": 8,
    b"UV": 8,
}


@dataclass(frozen=True)
class DirectoryRecord:
    """One directory record (an item of (0004,1220)) read by the bounded walker.

    Attributes
    ----------
    offset
        Byte offset of the item's tag from the start of the file (PS3.3 F.3.2.1).
    values
        ``tag -> (VR, values)`` of the string elements asked for, decoded as pydicom
        decodes them (:func:`dicomseal.dicom.text.element_text`).
    links
        ``tag -> offset`` of :data:`NEXT_RECORD` and :data:`LOWER_ENTITY` as
        :func:`link_value` reads them (0 when absent, None when malformed).
    raw
        ``tag -> value bytes`` of the same string elements, as stored.
    """

    offset: int
    values: Mapping[int, tuple[bytes, tuple[str, ...]]]
    links: Mapping[int, int | None]
    raw: Mapping[int, bytes] = field(default_factory=dict)

    def text(self, tag: int) -> str:
        """``str()`` of the value as pydicom gives it: ``""`` when absent, one value as
        is, several as pydicom prints a ``MultiValue``."""
        got = self.values.get(tag)
        if got is None:
            return ""
        vr, values = got
        if len(values) == 1:
            return values[0]
        return "[" + ", ".join(v if vr == b"PN" else repr(v) for v in values) + "]"


@dataclass(frozen=True)
class DirectoryRecords:
    """The records of a DICOMDIR by offset, its File-set ID and its root offset."""

    records: Mapping[int, DirectoryRecord]
    fileset_id: str
    first: int


def record_link(rec: DirectoryRecord, tag: int) -> int | None:
    """A :class:`DirectoryRecord`'s link, the :data:`LinkReader` for :func:`walk_records`."""
    return rec.links.get(tag, 0)


def _by_tag(elements: list[Element], where: str) -> dict[int, Element]:
    """Elements by tag; a tag twice has two readings (pydicom keeps the last): refused."""
    out: dict[int, Element] = {}
    for el in elements:
        if el.tag in out:
            raise MalformedDicomError(f"{where} has element {el.tag:08X} twice")
        out[el.tag] = el
    return out


def _link(el: Element | None) -> int | None:
    """An offset (PS3.3 F.3.2.2): UL with VM 1; absent or empty is 0, anything else None."""
    if el is None or (el.length == 0 and el.vr != b"SQ"):
        return 0
    if el.vr != b"UL" or el.length != 4 or el.value is None:
        return None
    return int.from_bytes(el.value, "little")


def _terms(el: Element | None) -> tuple[str, ...] | None:
    """The Specific Character Set terms of (0008,0005) (CS, PS3.5 §6.1.2.5), None if absent."""
    if el is None:
        return None
    if el.vr != b"CS" or el.value is None:
        raise MalformedDicomError("Specific Character Set (0008,0005) is not CS")
    return tuple(element_text(el.value, b"CS", _DEFAULT_TERMS))


def _check_charsets(elements: list[Element]) -> None:
    """Refuse a Specific Character Set term with a NUL inside, in any item at any depth:
    pydicom's conversion of it raises (codec lookup), which makes the DICOMDIR
    unreadable to pydicom (PS3.5 §6.1.2.5 terms are printable)."""
    for el in elements:
        if el.tag == CHARSET and el.value is not None and b"\x00" in el.value.rstrip(b" \x00"):
            raise MalformedDicomError("Specific Character Set (0008,0005) holds a NUL")
        for item in el.items or ():
            _check_charsets(item.elements)


def _check_values(elements: dict[int, Element], where: str) -> None:
    """Refuse what pydicom cannot convert: binary values of a broken length, UN on a
    standard tag (pydicom re-reads it with its own dictionary's VR)."""
    for tag, el in elements.items():
        size = _NUMBER_SIZE.get(el.vr)
        if size and el.length % size:
            raise MalformedDicomError(f"{where}: {el.tag:08X} {el.vr!r} length {el.length}")
        if el.vr == b"UN" and not (tag >> 16) & 1:
            raise MalformedDicomError(f"{where}: standard element {tag:08X} encoded as UN")


#: What pydicom puts in a text for bytes invalid in its character set: U+FFFD, one for
#: any invalid sequence (an escape sequence it does not know is read as ISO 8859-1, byte
#: for byte, and ESC is kept after the ISO 2022 IR 58 designation: neither aliases).
_UNDECODED: Final = "\ufffd"


def _decode(el: Element, terms: tuple[str, ...], where: str) -> tuple[bytes, tuple[str, ...]]:
    """The values of a string element; refused when pydicom could not decode its bytes
    (PS3.5 §6.1.2.5): different bytes would then read as the same key here (every invalid
    sequence is one U+FFFD) and as other keys in a reader that decodes them otherwise
    (DCMTK refuses them)."""
    if el.vr not in STRING_VRS or el.value is None:
        raise MalformedDicomError(f"{where}: element {el.tag:08X} has VR {el.vr!r}")
    values = tuple(element_text(el.value, el.vr, terms))
    if el.vr in CHARSET_VRS and any(_UNDECODED in v for v in values):
        raise MalformedDicomError(
            f"{where}: element {el.tag:08X} is not valid in its character set {list(terms)}"
        )
    return el.vr, values


def _check_inherited(elements: dict[int, Element], tags: frozenset[int], where: str) -> None:
    """Refuse a record key outside the default repertoire in a record without its own
    Specific Character Set (PS3.3 F.3.2.2: Type 1C, required when a key uses another
    repertoire). Readers disagree on what such a record inherits: pydicom the DICOMDIR's
    (0008,0005) for a defined-length (0004,1220) but the default for an undefined-length
    one it precedes, most viewers always the DICOMDIR's, DCMTK never (a DICOMDIR has no
    SOP Common Module): the same bytes are other patient names and IDs."""
    for tag in tags:
        el = elements.get(tag)
        if el is not None and el.vr in CHARSET_VRS and el.value is not None:
            if not is_default_repertoire(el.value):
                raise MalformedDicomError(
                    f"{where}: {el.tag:08X} is not in the default repertoire and the "
                    "record has no Specific Character Set (0008,0005)"
                )


def _record(
    item: Item, parent_terms: tuple[str, ...], tags: frozenset[int], *, inherits: bool
) -> DirectoryRecord:
    """One record; ``inherits``: the DICOMDIR names a character set of its own, which
    readers may or may not apply to a record without one (see :func:`_check_inherited`)."""
    where = f"directory record at offset {item.offset}"
    elements = _by_tag(item.elements, where)
    _check_values(elements, where)
    own = _terms(elements.get(CHARSET))
    terms = own or parent_terms
    if own is None and inherits:
        _check_inherited(elements, tags, where)
    values = {tag: _decode(elements[tag], terms, where) for tag in tags if tag in elements}
    links = {tag: _link(elements.get(tag)) for tag in (NEXT_RECORD, LOWER_ENTITY)}
    raw = {tag: elements[tag].value or b"" for tag in values}
    return DirectoryRecord(item.offset, values, links, raw)


def read_records(parsed: Part10File, tags: frozenset[int]) -> DirectoryRecords:
    """The directory records of a DICOMDIR parsed by the bounded walker (PS3.3 F.3.2.1).

    ``tags`` are the string elements to decode in each record. The character set of a
    record's text is its own (0008,0005), else the one pydicom hands down: the
    DICOMDIR's (0008,0005) for a defined-length (0004,1220), for an undefined-length one
    only when (0008,0005) precedes it in the file. Offsets are those of the file as
    stored (a Big Endian or deflated DICOMDIR is refused before, see
    :func:`dicomseal.media.digests.digest_part10`).

    Raises
    ------
    MalformedDicomError
        Anything with two readings or that pydicom would refuse: a tag twice, a
        (0004,1220) that is not a sequence, a value of the wrong VR or length, a root
        offset (0004,1200) that is not one UL (pydicom follows an SL or US value, a
        reader that wants a UL starts elsewhere).
    """
    meta = _by_tag(list(parsed.meta.elements), "File Meta Information")
    _check_values(meta, "File Meta Information")
    syntax = meta.get(0x00020010)
    if syntax is not None and syntax.vr != b"UI":  # pydicom reads no transfer syntax
        raise MalformedDicomError("Transfer Syntax UID (0002,0010) is not UI")
    top = _by_tag(parsed.elements, "DICOMDIR")
    _check_charsets(parsed.elements)
    charset = top.get(CHARSET)
    own = _terms(charset) or _DEFAULT_TERMS
    seq = top.get(RECORD_SEQUENCE)
    records: dict[int, DirectoryRecord] = {}
    if seq is not None and seq.items is None and seq.length:
        raise MalformedDicomError("Directory Record Sequence (0004,1220) is not a sequence")
    if seq is not None and seq.items:
        inherited = own
        if seq.length == UNDEFINED and (charset is None or charset.offset > seq.offset):
            inherited = _DEFAULT_TERMS
        # Without a character set of the DICOMDIR's own, every reader reads a record that
        # has none in the default repertoire: one reading, whatever its bytes.
        inherits = any(term.strip() not in ("", "ISO_IR 6") for term in own)
        for item in seq.items:
            records[item.offset] = _record(item, inherited, tags, inherits=inherits)
    fileset = top.get(FILESET_ID)
    fileset_id = ""
    if fileset is not None:
        got = DirectoryRecord(0, {FILESET_ID: _decode(fileset, own, "DICOMDIR")}, {})
        fileset_id = got.text(FILESET_ID)
    first = _link(top.get(FIRST_RECORD))
    if first is None:  # never silently the lowest record: the tree would start elsewhere
        raise MalformedDicomError(
            "Offset of the First Directory Record of the Root Directory Entity (0004,1200) "
            "is not one UL offset"
        )
    return DirectoryRecords(records, fileset_id, first)
