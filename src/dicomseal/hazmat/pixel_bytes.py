"""Pixel and overlay bytes that DCMTK and pydicom take differently (PS3.5 §8, §A.3, §A.4).

:mod:`~dicomseal.hazmat.ambiguity` calls a file FAILED when two readers may read it
differently; the two cases here concern the bytes of an image, not its attributes:

* **An odd-length fragment** (PS3.5 §A.4 asks for even item lengths). DCMTK pads it with
  ``00`` in memory and in its MAC stream, as any odd value; pydicom decodes it as stored.
  The MAC stream holds no item length, so a ``00`` that ends one fragment and a pad byte
  added to the one before it give the same MAC, while pydicom joins other bytes into the
  frame (red team 17: an RLE header fragment of 64 bytes cut to 63). Only the last
  fragment of an element may be odd, and only when it ends in the end marker ``FF D9``
  of a JPEG (ISO/IEC 10918-1 B.2.1, JPEG-LS) or JPEG 2000 (ISO/IEC 15444-1 A.4.4, EOC)
  codestream: a decoder stops there, so the pad byte after it is read by no one.
* **Native pixel or overlay data in Explicit VR Big Endian** whose VR does not fit its
  Bits Allocated (PS3.5 §A.3). A MAC holds the data set re-encoded in Explicit VR Little
  Endian as DCMTK re-encodes it (PS3.15 §C.12.1.1.3): each OW value swapped word by
  word, OB as stored; what DCMTK shows is that too. pydicom takes pixels from the bytes as
  stored, by Bits Allocated alone. Measured with DCMTK 3.6.7 ``dcmconv +te`` and pydicom
  3.0 on random pixel bytes: the two images agree for OW with 8 or 16 bits allocated and
  OB with 1 or 8, overlay data only as OB; OW with 1 or 32 bits, OB with 16 or 32, and
  OW overlay data give two images (pydicom's ``rtdose_expb.dcm`` is one), unless the
  bytes are the same either way (a test image of solid colours, ``ff ff 00 00``). Float
  and Double Float Pixel Data are read as floats by pydicom whatever their VR, so only
  OF and OD agree (red team 18: float pixels in OW); waveform samples likewise by
  Waveform Bits Allocated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

from dicomseal.hazmat.element_model import CHUNK, EXPLICIT_VR_BE
from dicomseal.hazmat.elements import Element, Part10File

__all__ = ["big_endian_pixel_vr_mismatch", "odd_fragments"]

_PIXEL_DATA: Final = 0x7FE00010
_FLOAT_PIXEL_DATA: Final = 0x7FE00008
_DOUBLE_PIXEL_DATA: Final = 0x7FE00009
_WAVEFORM_DATA: Final = 0x54001010
_BITS_ALLOCATED: Final = 0x00280100
_WAVEFORM_BITS_ALLOCATED: Final = 0x54001004
#: Values of binary numbers whose VR says how DCMTK swaps them (beside overlays).
_NUMBER_VALUES: Final = frozenset(
    {_PIXEL_DATA, _FLOAT_PIXEL_DATA, _DOUBLE_PIXEL_DATA, _WAVEFORM_DATA}
)
#: Transfer syntaxes of JPEG, JPEG-LS, JPEG 2000 and HTJ2K codestreams (and, under the
#: same root, MPEG and other video: those end in no FF D9 and stay refused).
_JPEG_FAMILY: Final = "1.2.840.10008.1.2.4."
_END_MARKER: Final = b"\xff\xd9"


def _encapsulated(elements: Sequence[Element]) -> Iterator[Element]:
    """Every encapsulated value, at any depth, level by level (icon images nest)."""
    level = list(elements)
    while level:
        yield from [el for el in level if el.fragments is not None]
        level = [child for el in level if el.items for item in el.items for child in item.elements]


def odd_fragments(parsed: Part10File) -> Iterator[int]:
    """The tags of encapsulated values holding a fragment of odd length that readers
    may take differently (see the module docstring), at any depth."""
    jpeg = parsed.meta.transfer_syntax_uid.startswith(_JPEG_FAMILY)
    for el in _encapsulated(parsed.elements):
        fragments = el.fragments or []
        odd = [i for i, (_offset, length) in enumerate(fragments) if length & 1]
        if not odd:
            continue
        offset, length = fragments[-1]
        if (
            odd == [len(fragments) - 1]
            and jpeg
            and length >= 2
            and parsed.read_at(offset + length - 2, 2) == _END_MARKER
        ):
            continue
        yield el.tag


def _is_overlay_data(tag: int) -> bool:
    return tag & 0xFF01FFFF == 0x60003000


#: For a VR and Bits Allocated whose two readings differ, the byte positions within each
#: group that must hold equal bytes for the two images to agree: 16-bit words in OB
#: (pydicom swaps them, DCMTK does not), 32-bit values in OB (reversed) and in OW
#: (DCMTK swaps each half), bits in OW (DCMTK swaps the two bytes of a word).
_SAME_WHEN_EQUAL: Final = {
    (b"OB", 16): (2, ((0, 1),)),
    (b"OB", 32): (4, ((0, 3), (1, 2))),
    (b"OW", 32): (4, ((0, 2), (1, 3))),
    (b"OW", 1): (2, ((0, 1),)),
}


def _read_alike(parsed: Part10File, el: Element, vr: bytes, bits: int | None) -> bool:
    """Whether the value's bytes give one image under both readings all the same
    (vendor test images of solid colours do: ``ff ff 00 00 ...``), read in bounded
    chunks."""
    rule = _SAME_WHEN_EQUAL.get((vr, bits or 0))
    if rule is None or el.length == 0xFFFFFFFF or el.length % rule[0]:
        return False
    step, pairs = rule
    done = 0
    while done < el.length:
        chunk = parsed.read_at(el.value_offset + done, min(CHUNK, el.length - done))
        if not chunk or len(chunk) % step:
            return False
        if any(chunk[a::step] != chunk[b::step] for a, b in pairs):
            return False
        done += len(chunk)
    return True


def big_endian_pixel_vr_mismatch(parsed: Part10File) -> Iterator[int]:
    """In Explicit VR Big Endian, the tags of native Pixel Data whose VR does not fit the
    Bits Allocated beside it, Float and Double Float Pixel Data not OF and OD, Waveform
    Data not OW with 16 bits or OB with 8 (PS3.3 C.10.9), and Overlay Data (60xx,3000)
    not OB (module docstring), unless their bytes read alike both ways; at any depth (an
    Icon Image Sequence item holds its own image, PS3.3 C.7.6.1; waveforms are items)."""
    if parsed.meta.transfer_syntax_uid != EXPLICIT_VR_BE:
        return
    levels: list[Sequence[Element]] = [parsed.elements]
    while levels:
        elements = levels.pop()
        yield from _mismatched_in(parsed, elements)
        levels.extend(item.elements for el in elements if el.items for item in el.items)


def _bits(elements: Sequence[Element], tag: int) -> int | None:
    value = next((e.value for e in elements if e.tag == tag), None)
    # the walker reads a big-endian file from a little-endian copy (transcode.py)
    return int.from_bytes(value[:2], "little") if value and len(value) >= 2 else None


def _fits(el: Element, elements: Sequence[Element]) -> tuple[bool, int | None]:
    """Whether ``el`` (a value of binary numbers) has the VR both readers take alike, and
    the bits per number for :func:`_read_alike`."""
    tag, vr = el.tag, el.vr
    if tag == _PIXEL_DATA:
        bits = _bits(elements, _BITS_ALLOCATED)
        ok = (vr == b"OW" and bits in (8, 16)) or (vr == b"OB" and bits in (1, 8))
        return el.fragments is not None or ok, bits
    if tag == _FLOAT_PIXEL_DATA:
        return vr == b"OF", 32
    if tag == _DOUBLE_PIXEL_DATA:
        return vr == b"OD", 64
    if tag == _WAVEFORM_DATA:
        bits = _bits(elements, _WAVEFORM_BITS_ALLOCATED)
        return (vr == b"OW" and bits == 16) or (vr == b"OB" and bits == 8), bits
    return vr == b"OB", 1  # Overlay Data


def _mismatched_in(parsed: Part10File, elements: Sequence[Element]) -> Iterator[int]:
    """:func:`big_endian_pixel_vr_mismatch` for one data set or item."""
    for el in [el for el in elements if el.tag in _NUMBER_VALUES or _is_overlay_data(el.tag)]:
        fits, bits = _fits(el, elements)
        if not fits and not _read_alike(parsed, el, el.vr, bits):
            yield el.tag
