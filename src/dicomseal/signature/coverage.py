"""What a file-level PASSED promises: which top-level content the signatures must cover.

PS3.15 §A.2 lets a signature cover any subset of a data set (DCMTK ``dcmsign -t``, the
Creator and Authorization profiles of PS3.15 Annex C), and lets a signature sit inside a
sequence item (PS3.3 §C.12.1.1.3). Such a signature can be intact while the content a
reader looks at - the patient, the study, the pixels - is not covered by anything: a
``SOPInstanceUID``-only signature over altered pixels, or a genuine signed instance
transplanted into a sequence item of a forged one. So a file is PASSED only when its
intact top-level signatures together cover

* its payload (Pixel Data, Float / Double Float Pixel Data, Waveform Sequence or Waveform
  Data, Encapsulated Document, SR Content Sequence - whichever are present),
* every identity attribute present (:data:`IDENTITY_TAGS`), and
* every other top-level element a signature could have covered (PS3.3 §C.12.1.1.3.1.1),
  and every sequence (public or private), even one no signature can cover because it holds a UN
  element (PS3.5 §6.2.2), so that an element added after signing never rides along under
  PASSED.

Covered means: the element actually entered a verified MAC byte stream (the tags
:func:`~dicomseal.hazmat.mac_stream.write_elements` emitted), never merely that it is
named in Data Elements Signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Final

from dicomseal.hazmat.elements import CHUNK, Element, Part10File
from dicomseal.hazmat.mac_stream import is_signable, is_signable_tag

__all__ = [
    "IDENTITY_TAGS",
    "PAYLOAD_TAGS",
    "holds_unsigned_values",
    "skipped_content",
    "uncovered_tags",
    "unfixed_fragments",
]

#: Pixel Data, Float Pixel Data, Double Float Pixel Data, Waveform Sequence, Waveform
#: Data, Encapsulated Document, Content Sequence (SR).
PAYLOAD_TAGS: Final = frozenset(
    {0x7FE00010, 0x7FE00008, 0x7FE00009, 0x54000100, 0x54001010, 0x00420011, 0x0040A730}
)
#: PatientName, PatientID, PatientBirthDate, PatientAge, PatientSex, AccessionNumber,
#: StudyDate, StudyTime, InstitutionName, StudyInstanceUID, SeriesInstanceUID,
#: SOPInstanceUID.
IDENTITY_TAGS: Final = frozenset(
    {
        0x00100010,
        0x00100020,
        0x00100030,
        0x00101010,
        0x00100040,
        0x00080050,
        0x00080020,
        0x00080030,
        0x00080080,
        0x0020000D,
        0x0020000E,
        0x00080018,
    }
)


def _sequence(element: Element) -> bool:
    """A sequence no MAC can hold (a UN element inside): never covered, and never left
    out either, or an attacker adds one (a VOI LUT or Modality LUT Sequence that changes
    what the signed pixels look like) beside an intact signature. Private sequences too:
    added to a signed private block with one UN element inside, a private sequence holding
    a Patient's Name kept the file PASSED (``dcmdump +P PatientName`` finds it first)."""
    return element.items is not None and is_signable_tag(element.tag)


#: The Item tag (FFFE,E000) as it stands before every fragment in the MAC stream.
_ITEM_TAG: Final = b"\xfe\xff\x00\xe0"


def unfixed_fragments(source: Part10File, covered: Iterable[int]) -> frozenset[int]:
    """Covered top-level tags whose encapsulated fragments the MAC does not delimit.

    DCMTK ``dcmsign`` (and so every MAC here, :mod:`~dicomseal.hazmat.mac_stream`) puts
    each fragment of encapsulated pixel data (PS3.5 §A.4) into the MAC stream as the
    Item tag followed by its bytes, without its length. A fragment whose bytes hold
    ``FE FF 00 E0`` therefore reads in the MAC like two fragments, and two fragments
    like one that holds it: whoever merges two fragments (or splits one there) keeps
    every signature intact while readers decode other frames or a corrupted image.
    Such an element (or a sequence holding one, an icon's pixel data) is not covered.
    """
    wanted = frozenset(covered)
    return frozenset(
        el.tag
        for el in source.elements
        if el.tag in wanted and (el.fragments or el.items) and _holds_item_tag(el, source)
    )


def _holds_item_tag(element: Element, source: Part10File) -> bool:
    for offset, length in element.fragments or ():
        if _contains_item_tag(source, offset, length):
            return True
    return any(
        _holds_item_tag(child, source)
        for item in element.items or ()
        for child in item.elements
        if child.fragments or child.items
    )


def _contains_item_tag(source: Part10File, offset: int, length: int) -> bool:
    """Whether the ``length`` bytes at ``offset`` hold the Item tag (read in chunks)."""
    fp, end, tail = source.fp, offset + length, b""
    fp.seek(offset)
    while offset < end:
        chunk = fp.read(min(CHUNK, end - offset))
        if not chunk:
            return False  # the walker checked every fragment against the file size
        if _ITEM_TAG in tail + chunk[:3] or _ITEM_TAG in chunk:
            return True
        tail, offset = chunk[-3:], offset + len(chunk)
    return False


def _un_sequence(element: Element, elements: Sequence[Element], source: Part10File | None) -> bool:
    """A private element encoded as UN whose value is a sequence item (PS3.5 §6.2.2) and
    that pydicom reads as a sequence: its private dictionary knows the tag as SQ under
    the block's creator. A Patient's Name inside then shows as an attribute while no MAC
    took any of it. Other private UN values (DCMTK keeps every UN as it is, pydicom where
    it knows no SQ) stay left out as opaque vendor data, such as Philips sequences under
    an upper-case creator name after a conversion."""
    if element.vr != b"UN" or not element.tag >> 16 & 1 or not 8 <= element.length < 0xFFFFFFFF:
        return False
    head = element.value[:4] if element.value is not None else None
    if head is None:
        head = source.read_at(element.value_offset, 4) if source is not None else _ITEM_TAG
    return head == _ITEM_TAG and _pydicom_sequence(element.tag, elements, source)


def _pydicom_sequence(tag: int, elements: Sequence[Element], source: Part10File | None) -> bool:
    """Whether pydicom's private dictionary gives ``tag`` the VR SQ under its creator."""
    creator_tag = tag & 0xFFFF0000 | (tag & 0xFFFF) >> 8
    creator = next((e for e in elements if e.tag == creator_tag), None)
    if creator is None or creator.length > 64:
        return False  # no creator: pydicom has no private dictionary entry to use
    raw = creator.value
    if raw is None:
        raw = source.read_at(creator.value_offset, creator.length) if source is not None else b""
    from pydicom.datadict import private_dictionary_VR  # only for such a rare element

    try:
        return str(private_dictionary_VR(tag, raw.decode("latin-1").strip(" \x00"))) == "SQ"
    except KeyError:
        return False


def uncovered_tags(
    elements: Sequence[Element], covered: Iterable[int], source: Part10File | None = None
) -> tuple[int, ...]:
    """Top-level tags that must be covered for PASSED and are not.

    Payload and identity attributes come first (what a reader looks at), then the rest;
    each group in file order.

    Parameters
    ----------
    elements
        The top-level data set.
    covered
        Tags that entered the MAC stream of an intact top-level signature.
    source
        The file, to look at long values (:func:`_un_sequence`).
    """
    done = set(covered)  # covered, or listed already (a set: one lookup per element)
    key: list[int] = []
    rest: list[int] = []
    for el in elements:
        if el.tag in done:
            if el.items and _holds_plain_below_group_8(el):  # an unsigned value inside
                (key if el.tag in PAYLOAD_TAGS or el.tag in IDENTITY_TAGS else rest).append(el.tag)
            continue
        done.add(el.tag)
        if el.tag in PAYLOAD_TAGS or el.tag in IDENTITY_TAGS:
            key.append(el.tag)
        elif (
            is_signable(el)
            or _sequence(el)
            or _below_group_8(el.tag)
            or _un_sequence(el, elements, source)
        ):
            rest.append(el.tag)
    return (*key, *rest)


#: Length to End (0008,0001), retired: like a group length, no MAC takes it.
_LENGTH_TO_END: Final = 0x00080001
#: Digital Signatures Sequence and MAC Parameters Sequence: their items hold what the
#: signatures are computed with (PS3.3 §C.12.1.1.3.1).
_SIGNATURE_SEQUENCES: Final = frozenset({0xFFFAFFFA, 0x4FFE0001})
#: The tags of groups 0008-FFF9 that :func:`is_signable_tag` refuses (element 0000 aside).
_NOT_SIGNED: Final = frozenset({_LENGTH_TO_END, 0x4FFE0001})
#: The element number of a tag (0 for a group length), as a C-level callable.
_LOW_WORD: Final = (0xFFFF).__and__
#: How many places :func:`skipped_content` reports at most.
_MAX_SKIPPED: Final = 16
#: Data Set Trailing Padding (PS3.10 §7.2), OB.
_TRAILING_PADDING: Final = 0xFFFCFFFC
#: MAC Parameters Sequence (PS3.3 §C.12.1.1.3.1) and the group of its items' attributes.
_MAC_PARAMETERS: Final = 0x4FFE0001
_SIGNATURE_GROUP: Final = 0x0400


def _below_group_8(tag: int) -> bool:
    """An element of groups 0000-0007 (not a group length) in a data set: command,
    file meta, directory or illegal private groups (PS3.5 §7.8.1), which no MAC takes
    (PS3.3 §C.12.1.1.3.1.1) while a dump shows them, and a reader that searches into
    sequences (DCMTK ``findAndGetElement(..., searchIntoSub)``, ``dcmdump +P``) finds
    what one holds before any signed attribute."""
    return tag < 0x00080000 and bool(tag & 0xFFFF)


def _plain_below_group_8(el: Element) -> bool:
    """An element of groups 0000-0007 that holds only its own value (no item, fragment,
    UN or undefined length a reader could parse into attributes): unsigned, but no reader
    takes it for a signed attribute, so it leaves its item only not covered (a Carestream
    DX puts (0002,0010) into the items of its Referenced PPS and Source Image sequences)."""
    return (
        _below_group_8(el.tag)
        and el.items is None
        and el.fragments is None
        and el.length != 0xFFFFFFFF
        and (el.vr != b"UN" or _plain_un(el))
    )


def _plain_un(el: Element) -> bool:
    """A UN value no reader parses as items: in memory, not starting with an Item tag
    (GDCM reads such a UN as a sequence), of a tag pydicom's dictionary does not know
    as SQ."""
    return el.value is not None and el.value[:4] != _ITEM_TAG and not _dictionary_sequence(el.tag)


def _dictionary_sequence(tag: int) -> bool:
    """Whether pydicom's dictionary knows ``tag`` as SQ: a UN value of it is then read as
    items (the Directory Record Sequence (0004,1220) is one), else kept as bytes."""
    from pydicom.datadict import dictionary_VR  # only for such a rare element

    try:
        return "SQ" in str(dictionary_VR(tag))
    except KeyError:
        return False


def _holds_plain_below_group_8(element: Element) -> bool:
    """Whether an item of ``element``, at any depth, holds :func:`_plain_below_group_8`
    (level by level, each level's tags tested at C speed)."""
    level = [item.elements for item in element.items or ()]
    while level:
        children = [child for elements in level for child in elements]
        if children and min(child.tag for child in children) < 0x00080000:
            if any(map(_plain_below_group_8, children)):
                return True
        level = [item.elements for child in children if child.items for item in child.items]
    return False


def holds_unsigned_values(elements: Sequence[Element], covered: Iterable[int]) -> bool:
    """Whether a covered top-level sequence holds, at any depth, a value no MAC takes
    (:func:`_plain_below_group_8`): :func:`uncovered_tags` then lists it."""
    wanted = frozenset(covered)
    return any(el.items and el.tag in wanted and _holds_plain_below_group_8(el) for el in elements)


def _carries_unsigned_content(el: Element) -> bool:
    """An element no MAC takes (:func:`~dicomseal.hazmat.mac_stream.is_signable_tag`)
    that is not one of the unsigned structures in the form PS3.5 and PS3.10 give them
    (a 4-byte UL group length or Length to End, OB Data Set Trailing Padding, the two
    signature sequences): whatever it holds reaches readers and no signature. A
    ``(0008,0000) SQ`` or ``(FFFC,FFFC) SQ`` holding a Patient's Name, an element of
    groups below 0008, a ``(FFFA,0010)`` element."""
    tag = el.tag
    if is_signable_tag(tag):
        return False
    if not tag & 0xFFFF or tag == _LENGTH_TO_END:
        return el.vr != b"UL" or el.length != 4 or el.items is not None
    if tag == _TRAILING_PADDING:
        return el.vr not in (b"OB", b"UN") or el.items is not None
    if tag == _MAC_PARAMETERS:
        return el.items is None or any(map(_not_mac_parameter, _children(el)))
    if tag in _SIGNATURE_SEQUENCES:
        return el.items is None
    return True


def _children(el: Element) -> Iterable[Element]:
    return (child for item in el.items or () for child in item.elements)


def _not_mac_parameter(el: Element) -> bool:
    """An element a MAC Parameters item cannot hold: its attributes are group 0400 values
    (PS3.3 Table C.12-5: MAC ID Number, MAC Calculation Transfer Syntax UID, MAC
    Algorithm, Data Elements Signed), never a sequence. No MAC takes the item, so a
    Patient's Name put into it (or into a MAC Parameters Sequence added to an item of a
    signed sequence, which ``dcmdump +P PatientName`` reaches before the signed one)
    kept every signature intact and the file PASSED."""
    if el.items is not None or el.fragments is not None:
        return True
    if is_signable_tag(el.tag):
        return el.tag >> 16 != _SIGNATURE_GROUP
    return _carries_unsigned_content(el)  # a group length or padding in its standard form


def skipped_content(elements: Sequence[Element], covered: Iterable[int]) -> tuple[str, ...]:
    """Where unsigned content sits inside what a signature covers: FAILED, never PASSED.

    The MAC stream (PS3.3 §C.12.1.1.3.1.1, DCMTK ``DcmTagKey::isSignableTag``) leaves
    out group lengths, Length to End and every element of groups below 0008, at any
    depth, and the groups FFFA and FFFE. Added to an item of a covered sequence (or of a
    signature's own items) such an element keeps every MAC intact, while a dump or a
    reader searching into sequences shows it as part of signed content. At the top level
    any such element not in its standard form (:func:`_carries_unsigned_content`) is
    refused alike, except those below group 0008, which are only not covered
    (:func:`uncovered_tags`: a signed DICOMDIR's records are group 0004). At most
    :data:`_MAX_SKIPPED` places are reported, one per top-level element (the verdict
    needs one); the work stays linear in the element count.

    Parameters
    ----------
    elements
        The top-level data set.
    covered
        Tags that entered the MAC stream of an intact top-level signature.
    """
    wanted = frozenset(covered) | _SIGNATURE_SEQUENCES
    found: list[str] = []
    for el in elements:
        tag = el.tag
        if _carries_unsigned_content(el) and not _below_group_8(tag):
            found.append(
                f"({tag >> 16:04X},{tag & 0xFFFF:04X}) {el.vr.decode('latin-1')} entered no MAC"
            )
        elif tag in wanted and el.items:
            inner = _first_skipped(el)
            if inner is not None:
                found.append(
                    f"({inner >> 16:04X},{inner & 0xFFFF:04X}) inside "
                    f"({tag >> 16:04X},{tag & 0xFFFF:04X}) entered no MAC"
                )
        if len(found) >= _MAX_SKIPPED:
            break
    return tuple(found)


def _first_skipped(element: Element) -> int | None:
    """The tag of the first element carrying unsigned content in ``element``'s items.

    Walked level by level: each level's tags are tested at C speed (a large functional
    groups sequence has tens of thousands of elements), and only a level holding a tag
    :func:`is_signable_tag` refuses is looked at element by element. A plain value of
    groups 0000-0007 (:func:`_plain_below_group_8`) leaves a data sequence only not
    covered; in the items of a signature sequence, at any depth, it is refused like
    any other (red team 17: a (0002,0010) put there PASSED).
    """
    level = [(item.elements, element.tag in _SIGNATURE_SEQUENCES) for item in element.items or ()]
    while level:
        children = [child for elements, _strict in level for child in elements]
        tags = [child.tag for child in children]
        if tags and (
            min(tags) < 0x00080000
            or max(tags) >= 0xFFFA0000
            or 0 in map(_LOW_WORD, tags)
            or not _NOT_SIGNED.isdisjoint(tags)
        ):
            strict = [s for elements, s in level for _child in elements]
            for child, refused in zip(children, strict, strict=True):
                if _carries_unsigned_content(child) and (
                    refused or not _plain_below_group_8(child)
                ):
                    return child.tag
        level = [
            (item.elements, refused or child.tag in _SIGNATURE_SEQUENCES)
            for elements, refused in level
            for child in elements
            if child.items
            for item in child.items
        ]
    return None
