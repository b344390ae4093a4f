"""The header of a source instance, walked by the project's own Part 10 reader.

``media create`` keeps a few dozen header elements of every source (what DICOMDIR records,
PS3.3 F.5, and the README/INDEX summaries need). ``pydicom.dcmread(path,
stop_before_pixels=True, specific_tags=...)`` costs ~0.65 ms per file, most of it in its
element generator; the bounded walker of :mod:`dicomseal.hazmat.elements` records the same
elements' bytes for a fraction of it. The header built here is the data set pydicom's read
would give: the same :class:`~pydicom.dataelem.RawDataElement` per kept element (tag, VR
as stored, length, value bytes, Explicit VR Little Endian), in a
:class:`~pydicom.dataset.Dataset` with the same File Meta Information and character set,
so every value is then converted by pydicom exactly as before. Values longer than the
walker's window are not copied from the file at all (:class:`_LargeValuesUnread`): a
header never keeps them, and Pixel Data is most of every file.

That holds only where the two readers see the same elements, so the walker's reading is
taken only for

* an Explicit VR Little Endian data set (PS3.5 §A.2; the native syntax or an encapsulated
  one, PS3.5 §A.4), read by pydicom as Explicit VR too (not one of the syntaxes it reads
  differently: implicit, big endian, deflated, private);
* top-level tags ascending, each once (PS3.5 §7.1), no command elements (group 0000,
  which pydicom adds whatever the tags asked for), no sequence among the kept elements
  (pydicom reads those eagerly), every kept value in memory and read from the file.

Anything else, and any file the walker refuses, gives None: the caller then reads it with
pydicom, which says as before whether and why it cannot be read.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Final, cast

from pydicom.charset import convert_encodings, default_encoding
from pydicom.dataelem import (
    DataElement,
    RawDataElement,
    convert_raw_data_element,
    empty_value_for_VR,
)
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import UID, PrivateTransferSyntaxes

from dicomseal.errors import DicomSealError
from dicomseal.hazmat.elements import UNDEFINED, WINDOW, Element, parse_part10
from dicomseal.hazmat.transcode import needs_transcoding

__all__ = ["PIXEL_TAGS", "read_source_header"]

#: pydicom's ``stop_before_pixels`` stops at the first of these (PS3.6 §6, group 7FE0).
PIXEL_TAGS: Final = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
_CHARSET: Final = 0x00080005


class _LargeValuesUnread:
    """A file as the walker reads it for a header: its bytes, but zeros for any read longer
    than :data:`~dicomseal.hazmat.elements.WINDOW`.

    The walker reads headers and short values in windows of at most ``WINDOW`` bytes and
    a longer value on its own; those values (Pixel Data, above all) are never kept in a
    header, so copying them from the file would only cost time. Read at the end of the
    file, it gives what is left, as a file does.
    """

    def __init__(self, fh: BinaryIO) -> None:
        self._fh = fh
        self._size = os.fstat(fh.fileno()).st_size

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def read(self, n: int = -1) -> bytes:
        if 0 <= n <= WINDOW:
            return self._fh.read(n)
        pos = self._fh.tell()
        left = max(0, self._size - pos)
        n = left if n < 0 else min(n, left)
        self._fh.seek(pos + n)
        return bytes(n)  # zeros, never the file's: see the class docstring


def _explicit_le(ts: str) -> bool:
    """Whether pydicom reads a data set of ``ts`` as Explicit VR Little Endian, as stored."""
    if needs_transcoding(ts) or ts in PrivateTransferSyntaxes:
        return False
    uid = UID(ts)
    return (
        uid.is_transfer_syntax
        and not uid.is_implicit_VR
        and uid.is_little_endian
        and (not uid.is_deflated)
    )


def _raw(el: Element) -> RawDataElement | None:
    """The element as pydicom's generator yields it (Explicit VR LE), or None."""
    if el.items is not None or el.fragments is not None or el.length == UNDEFINED:
        return None
    vr = el.vr.decode("ascii")
    if el.length == 0:
        value = empty_value_for_VR(vr, raw=True)
    elif el.value is None:
        return None  # a value the walker left on disk
    else:
        value = el.value
    return RawDataElement(BaseTag(el.tag), vr, el.length, value, el.value_offset, False, True)  # type: ignore[arg-type]


def _meta(elements: Iterable[Element]) -> FileMetaDataset | None:
    """The File Meta Information as pydicom's reader makes it (PS3.10 §7.1)."""
    raw: dict[BaseTag, DataElement | RawDataElement] = {}
    for el in elements:
        r = _raw(el)
        if r is None or r.tag in raw:
            return None
        raw[r.tag] = r
    meta = FileMetaDataset(raw)
    meta.set_original_encoding(
        is_implicit_vr=False, is_little_endian=True, character_encoding=default_encoding
    )
    if raw:
        meta[next(iter(raw))]  # pydicom's reader converts the first one (its VR check)
    meta.get("TransferSyntaxUID")  # and the transfer syntax, to choose the data set's
    return meta


def read_source_header(path: Path, tags: frozenset[int]) -> Dataset | None:
    """The header pydicom's ``dcmread(path, stop_before_pixels=True, specific_tags=tags)``
    gives, read by the walker, or None where the readers may differ (module docstring).

    ``tags`` must not include group 0002; (0008,0005) is always kept, as pydicom does.
    """
    try:
        with path.open("rb") as fh:
            parsed = parse_part10(cast(BinaryIO, _LargeValuesUnread(fh)), name=str(path))
        if not _explicit_le(parsed.meta.transfer_syntax_uid):
            return None
        meta = _meta(parsed.meta.elements)
        if meta is None:
            return None
        kept: dict[BaseTag, DataElement | RawDataElement] = {}
        last = -1
        for el in parsed.elements:
            if el.tag in PIXEL_TAGS:
                break
            if el.tag <= last or el.tag >> 16 == 0:
                return None
            last = el.tag
            if el.tag in tags or el.tag == _CHARSET:
                r = _raw(el) if el.length <= WINDOW else None  # longer: zeros, not read
                if r is None:
                    return None
                kept[r.tag] = r
        ds = Dataset(kept, parent_encoding=default_encoding)
        encoding: str | list[str] = default_encoding
        charset = kept.get(BaseTag(_CHARSET))
        if isinstance(charset, RawDataElement):
            encoding = convert_encodings(convert_raw_data_element(charset).value)
        ds.set_original_encoding(False, True, encoding)
        ds.file_meta = meta
        ds.set_original_encoding(False, True, ds._character_set)  # as dcmread: converts (0008,0005)
    except (DicomSealError, OSError, ValueError, TypeError, KeyError, LookupError):
        return None  # pydicom's read decides, and says why
    return ds
