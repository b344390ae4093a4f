"""The one bounded walk of the File Meta Information (PS3.10 §7.1, PS3.5 §7.1.2).

Group 0002 is always Explicit VR Little Endian. :func:`walk_meta` walks it in a byte string
already read (never more than :data:`MAX_META` bytes, real metas are a few hundred), trusting
no length, and reports where it stopped and why instead of raising: the bounded gate in front
of pydicom (:mod:`dicomseal.media.bounded_read`) refuses on any error, the forensic probe
(:mod:`dicomseal.forensics.fileformat`) records it as a finding. Both see the same elements.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from pydicom.valuerep import EXPLICIT_VR_LENGTH_32, VR

__all__ = ["EXPLICIT_VRS", "LONG_VRS", "MAX_META", "MetaElement", "MetaWalk", "walk_meta"]

#: File Meta Information longer than this is refused (real ones are a few hundred bytes).
MAX_META: Final = 64 * 1024
#: VRs with a reserved field and a 4-byte length in Explicit VR (PS3.5 Table 7.1-1).
LONG_VRS: Final = frozenset(str(vr).encode() for vr in EXPLICIT_VR_LENGTH_32)
#: Every VR that may appear in an Explicit VR encoding (PS3.5 §6.2).
EXPLICIT_VRS: Final = frozenset(vr.value.encode() for vr in VR if len(vr.value) == 2)


@dataclass(frozen=True)
class MetaElement:
    """One group 0002 element: tag, VR, the element's bytes and the value's bytes."""

    tag: int
    vr: bytes
    raw: bytes
    value: bytes


@dataclass(frozen=True)
class MetaWalk:
    """The walk of group 0002.

    Attributes
    ----------
    elements
        The elements walked, in file order.
    end
        Offset (in the walked bytes) just past the last element walked.
    error
        Why the walk stopped before the end of group 0002, or ``None``.
    """

    elements: tuple[MetaElement, ...]
    end: int
    error: str | None

    def value(self, tag: int) -> bytes | None:
        """The value of ``tag`` (first occurrence), or ``None``."""
        return next((e.value for e in self.elements if e.tag == tag), None)


def _header(data: bytes, pos: int) -> tuple[bytes, int, int] | str:
    """``(vr, header size, value length)`` of the element at ``pos``, or why not."""
    group, elem = struct.unpack_from("<HH", data, pos)
    vr = data[pos + 4 : pos + 6]
    if vr not in EXPLICIT_VRS:
        return f"meta element ({group:04X},{elem:04X}) is not Explicit VR"
    if vr in LONG_VRS:
        if pos + 12 > len(data):
            return "truncated meta element"
        return vr, 12, struct.unpack_from("<I", data, pos + 8)[0]
    return vr, 8, struct.unpack_from("<H", data, pos + 6)[0]


def walk_meta(data: bytes, *, limit: int = MAX_META) -> MetaWalk:
    """Walk group 0002 at the start of ``data`` (the bytes after ``DICM``).

    Stops at the first element of another group, at the end of ``data``, or with an error:
    a VR that is not Explicit VR, a truncated header, a value past ``limit`` or past the
    end of ``data``.
    """
    pos, elements = 0, []
    error: str | None = None
    while pos + 8 <= len(data) and struct.unpack_from("<H", data, pos)[0] == 0x0002:
        header = _header(data, pos)
        if isinstance(header, str):
            error = header
            break
        vr, size, length = header
        start, end = pos + size, pos + size + length
        if end > limit:
            error = f"file meta information longer than {limit} bytes"
            break
        if end > len(data):
            error = "file meta element runs past the end of the file"
            break
        tag = int.from_bytes(data[pos : pos + 2], "little") << 16
        tag |= int.from_bytes(data[pos + 2 : pos + 4], "little")
        elements.append(MetaElement(tag, vr, data[pos:end], data[start:end]))
        pos = end
    return MetaWalk(tuple(elements), pos, error)
