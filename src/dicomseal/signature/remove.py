"""Remove digital signatures from an instance (dcmsign ``+r`` / ``+ra``), bit-preserving.

Removing a Digital Signatures Sequence item also removes its MAC Parameters item when no
other signature at the same level uses that MAC ID; empty sequences are dropped. All
other bytes are copied unchanged (PS3.15 §A.3).
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import BinaryIO

from dicomseal.errors import UsageError
from dicomseal.hazmat.assemble import emit_part10
from dicomseal.hazmat.elements import Element, Item, Part10File, parse_part10
from dicomseal.hazmat.mac_stream import DIGITAL_SIGNATURES_SEQUENCE, MAC_PARAMETERS_SEQUENCE

__all__ = ["remove_signatures"]


def _field(item: Item, tag: int) -> bytes | None:
    return next((e.value for e in item.elements if e.tag == tag), None)


def _prune_level(level: list[Element], uid: str | None) -> int:
    removed = 0
    sigs = next((e for e in level if e.tag == DIGITAL_SIGNATURES_SEQUENCE), None)
    if sigs is not None and sigs.items is not None:
        keep: list[Item] = []
        for item in sigs.items:
            value = (_field(item, 0x04000100) or b"").rstrip(b"\x00 ").decode("latin-1")
            if uid is None or value == uid:
                removed += 1
            else:
                keep.append(item)
        if removed:
            sigs.items[:] = keep
            sigs.dirty = True
            used = {_field(i, 0x04000005) for i in keep}
            macs = next((e for e in level if e.tag == MAC_PARAMETERS_SEQUENCE), None)
            if macs is not None and macs.items is not None:
                macs.items[:] = [i for i in macs.items if _field(i, 0x04000005) in used]
                macs.dirty = True
            level[:] = [
                e
                for e in level
                if not (
                    e.tag in (DIGITAL_SIGNATURES_SEQUENCE, MAC_PARAMETERS_SEQUENCE)
                    and e.items is not None
                    and not e.items
                )
            ]
    for el in level:
        if el.items is None or el.tag == DIGITAL_SIGNATURES_SEQUENCE:
            continue
        for item in el.items:
            n = _prune_level(item.elements, uid)
            if n:
                item.dirty = el.dirty = True
                removed += n
    return removed


def remove_signatures(
    src: str | os.PathLike[str] | BinaryIO,
    dst: str | os.PathLike[str] | BinaryIO,
    *,
    uid: str | None = None,
) -> int:
    """Remove the signature with Digital Signature UID ``uid`` (or all when ``None``).

    Returns the number of signatures removed; raises :class:`UsageError` when a given
    ``uid`` is not found.
    """
    name = os.fspath(src) if isinstance(src, str | os.PathLike) else "<stream>"
    opened = open(src, "rb") if isinstance(src, str | os.PathLike) else nullcontext(src)
    with opened as fh:
        parsed: Part10File = parse_part10(fh, name=name)
        count = _prune_level(parsed.elements, uid)
        if uid is not None and count == 0:
            raise UsageError(f"no signature with UID {uid}", path=name)
        emit_part10(parsed, dst)
    return count
