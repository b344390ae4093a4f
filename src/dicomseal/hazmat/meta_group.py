"""File Meta Information group oddities that mislead no reader (PS3.10 §7.1).

:mod:`~dicomseal.hazmat.ambiguity` calls a file FAILED when two readers may read it
differently. Two File Meta oddities of real vendor files do not make readers differ:

* a File Meta Information Group Length (0002,0000) that counts too much, where the extra
  bytes DCMTK takes into the meta are only data set group lengths in their standard form
  (an old ATL ultrasound file counts its (0008,0000)), or too little, where what DCMTK
  then reads into the data set only repeats meta elements byte for byte;
* a File Meta element written twice with the same bytes (OsiriX repeats (0002,0003)).

Both hold only for a data set in Explicit VR Little Endian, the encoding of the meta
itself, read from the file as stored: DCMTK reads bytes moved across the meta's end in
the other part's encoding, so in a big-endian, implicit or deflated file the same bytes
are other elements to it (red team 17). Anything else (a count that hides a Specific
Character Set or a SOP attribute from DCMTK, a repeated element with another value)
stays an ambiguity.
"""

from __future__ import annotations

from collections.abc import Sequence

from dicomseal.hazmat.element_model import EXPLICIT_VR_LE
from dicomseal.hazmat.elements import Element, Part10File

__all__ = ["meta_group_length_misleads", "repeats_byte_for_byte"]


def meta_group_length_misleads(parsed: Part10File) -> bool:
    """Whether (0002,0000) makes DCMTK's File Meta Information another than pydicom's."""
    meta = parsed.meta
    group = next((e for e in meta.elements if e.tag == 0x00020000), None)
    if group is None:
        return False
    value = group.value or b""
    if len(value) != 4:
        return True
    moved = int.from_bytes(value, "little") - (meta.end - group.end)
    if moved and not _stored_as_meta(parsed):
        return True
    if moved > 0:
        return not _only_group_lengths(parsed.elements, meta.end, meta.end + moved)
    if moved < 0:
        return not _only_repeats(meta.elements, meta.end + moved)
    return False


def _stored_as_meta(parsed: Part10File) -> bool:
    """Whether the data set is stored in the meta's own encoding, Explicit VR Little
    Endian (PS3.10 §7.1), and was walked as stored (not a transcoded copy): then bytes on
    either side of the meta's end read alike in both parts, at the offsets walked."""
    ts = next((e.value for e in parsed.meta.elements if e.tag == 0x00020010), None)
    return (
        ts is not None
        and ts.rstrip(b"\x00 ") == EXPLICIT_VR_LE.encode()
        and parsed.original is None
        and not parsed.implicit
    )


def _only_group_lengths(elements: Sequence[Element], start: int, end: int) -> bool:
    """Whether the data set bytes ``start``-``end`` (what DCMTK takes into the meta) are
    whole group length elements in their standard form (4-byte UL): no reader shows or
    signs them."""
    for el in elements:
        if el.offset >= end:
            break
        if el.offset < start or el.tag & 0xFFFF or el.vr != b"UL" or el.length != 4:
            return False
        if el.end > end:
            return False
        if el.end == end:
            return True
    return False


def _only_repeats(elements: Sequence[Element], cut: int) -> bool:
    """Whether the meta elements from ``cut`` on (what DCMTK reads into the data set)
    start at an element and each repeats, byte for byte, one before it."""
    before = [(e.tag, e.vr, e.value) for e in elements if e.end <= cut]
    after = [e for e in elements if e.end > cut]
    return (
        bool(after)
        and after[0].offset == cut
        and all(e.value is not None and (e.tag, e.vr, e.value) in before for e in after)
    )


def repeats_byte_for_byte(parsed: Part10File, tag: int, *, in_data_set: bool) -> bool:
    """Whether every copy of the File Meta element ``tag`` (in the meta group, and in the
    data set when ``in_data_set``) has the same VR and value bytes, in a file whose data
    set is stored in the meta's encoding (in another, DCMTK reads a copy in the data set
    in that encoding)."""
    if in_data_set and not _stored_as_meta(parsed):
        return False
    places = (*parsed.meta.elements, *parsed.elements) if in_data_set else parsed.meta.elements
    copies = [e for e in places if e.tag == tag]
    first = copies[0] if copies and tag >> 16 == 0x0002 else None
    return first is not None and all(
        c.vr == first.vr and c.value is not None and c.value == first.value for c in copies
    )
