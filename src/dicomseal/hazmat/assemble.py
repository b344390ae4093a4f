"""Re-assemble a parsed Part 10 file, copying every untouched byte (PS3.15 §A.3).

:func:`dicomseal.hazmat.elements.parse_part10` records where each element lies; editors
(signing, signature removal) mark the elements and items they change as ``dirty``. This
module writes the file back: clean elements and items are copied verbatim from the
source in bounded chunks, dirty ones are re-encoded in Explicit VR Little Endian with
their lengths recomputed (undefined lengths stay undefined, with their delimiters).
"""

from __future__ import annotations

import os
import struct
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from dicomseal.errors import MediaError
from dicomseal.hazmat.elements import LONG_VRS, UNDEFINED, Element, Item, Part10File, copy_range

__all__ = ["emit_part10", "write_part10"]


def _element_length(el: Element) -> int:
    if not el.dirty:
        return el.end - el.offset
    if el.items is not None:
        body = sum(_item_length(i) for i in el.items)
        return 12 + body + (8 if el.length == UNDEFINED else 0)
    assert el.value is not None
    return (12 if el.vr in LONG_VRS else 8) + len(el.value)


def _item_length(item: Item) -> int:
    if not item.dirty:
        return item.end - item.offset
    body = sum(_element_length(e) for e in item.elements)
    return 8 + body + (8 if item.length == UNDEFINED else 0)


def write_elements_bytes(
    elements: Iterable[Element], src: Part10File, out: Callable[[bytes], object]
) -> None:
    for el in elements:
        if not el.dirty:
            copy_range(src.fp, el.offset, el.end - el.offset, out)
            continue
        tag = struct.pack("<HH", el.tag >> 16, el.tag & 0xFFFF)
        if el.items is not None:
            if el.length == UNDEFINED:
                out(tag + b"SQ\x00\x00" + struct.pack("<I", UNDEFINED))
            else:
                body = sum(_item_length(i) for i in el.items)
                out(tag + b"SQ\x00\x00" + struct.pack("<I", body))
            for item in el.items:
                _write_item(item, src, out)
            if el.length == UNDEFINED:
                out(b"\xfe\xff\xdd\xe0\x00\x00\x00\x00")
            continue
        assert el.value is not None
        if el.vr in LONG_VRS:
            out(tag + el.vr + b"\x00\x00" + struct.pack("<I", len(el.value)) + el.value)
        else:
            out(tag + el.vr + struct.pack("<H", len(el.value)) + el.value)


def _write_item(item: Item, src: Part10File, out: Callable[[bytes], object]) -> None:
    if not item.dirty:
        copy_range(src.fp, item.offset, item.end - item.offset, out)
        return
    if item.length == UNDEFINED:
        out(b"\xfe\xff\x00\xe0" + struct.pack("<I", UNDEFINED))
        write_elements_bytes(item.elements, src, out)
        out(b"\xfe\xff\x0d\xe0\x00\x00\x00\x00")
    else:
        body = sum(_element_length(e) for e in item.elements)
        out(b"\xfe\xff\x00\xe0" + struct.pack("<I", body))
        write_elements_bytes(item.elements, src, out)


def write_part10(src: Part10File, out: Callable[[bytes], object]) -> None:
    """Write the (possibly edited) file: meta copied verbatim, data set re-assembled."""
    copy_range(src.fp, 0, src.meta.end, out)
    write_elements_bytes(src.elements, src, out)


def emit_part10(parsed: Part10File, dst: str | os.PathLike[str] | BinaryIO) -> None:
    """Write the re-assembled file atomically to a path (temporary file + rename), or
    straight into a binary stream."""
    if not isinstance(dst, str | os.PathLike):
        write_part10(parsed, dst.write)
        return
    target = Path(dst)
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=".dicomseal-", dir=target.parent or ".")
    except OSError as exc:
        raise MediaError(f"cannot write output: {exc.strerror}", path=str(target)) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            write_part10(parsed, out.write)
        os.replace(tmp_name, target)
    except BaseException as exc:
        Path(tmp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise MediaError(f"cannot write output: {exc.strerror}", path=str(target)) from exc
        raise
