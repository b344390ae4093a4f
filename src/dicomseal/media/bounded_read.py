"""The one gate between an untrusted Part 10 file and pydicom: bounded memory, always.

pydicom trusts what a file says. Two things then cost memory out of proportion to the file:

* a **deflated** data set (PS3.5 §A.5 Deflated Explicit VR Little Endian, and the JPIP
  Referenced Deflate syntax of PS3.5 §A.7): pydicom inflates the whole data set with one
  ``zlib.decompress`` before it looks at a single element, so 1 MB of zeros deflated
  becomes gigabytes;
* a **large value** read for a header-only purpose (a 2 GB OB that is never shown).

This module reads the File Meta Information itself (PS3.10 §7.1: always Explicit VR
Little Endian, here at most :data:`MAX_META` bytes), so the transfer syntax is known before
pydicom runs. A deflated data set is inflated through a ``zlib.decompressobj`` in bounded
steps and refused beyond :data:`MAX_INFLATED`; pydicom is then handed the inflated bytes
behind a File Meta Information that says Explicit VR Little Endian (what the inflated bytes
are). Header reads defer every value larger than :data:`HEADER_DEFER` bytes and stop before
pixel data.

Every pydicom read of a file from a medium in the viewer, the PACS importer and the
forensic snapshot goes through :func:`bounded_stream` or :func:`read_dataset`.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from dicomseal.dicom.inflate import MAX_INFLATED, InflateLimitError, inflate_into
from dicomseal.dicom.meta import MAX_META, walk_meta
from dicomseal.dicom.vocab import DEFLATED_SYNTAXES
from dicomseal.errors import MalformedDicomError

if TYPE_CHECKING:
    from pydicom.dataset import FileDataset

__all__ = [
    "DEFLATED_SYNTAXES",
    "HEADER_DEFER",
    "MAX_INFLATED",
    "MAX_META",
    "InflateLimitError",
    "Part10Head",
    "bounded_stream",
    "read_dataset",
    "read_head",
]

#: Header reads leave values longer than this unread (pydicom ``defer_size``).
HEADER_DEFER = 4096
_EXPLICIT_LE = b"1.2.840.10008.1.2.1\0"
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00009, 0x7FE00008})


@dataclass(frozen=True)
class Part10Head:
    """Preamble and File Meta Information of a Part 10 file (PS3.10 §7.1).

    Attributes
    ----------
    preamble
        The 128-byte preamble.
    transfer_syntax
        Transfer Syntax UID (0002,0010), or ``""`` when absent.
    elements
        Each meta element as ``(tag, raw bytes)``, in file order.
    dataset_offset
        Offset of the first data set byte.
    """

    preamble: bytes
    transfer_syntax: str
    elements: tuple[tuple[int, bytes], ...]
    dataset_offset: int

    @property
    def deflated(self) -> bool:
        """True when the data set after the meta is deflated."""
        return self.transfer_syntax in DEFLATED_SYNTAXES


def read_head(fh: BinaryIO, *, path: str | None = None) -> Part10Head:
    """Read the preamble and the File Meta Information, never more than :data:`MAX_META`.

    ``fh`` must be positioned at the start of the file.

    Raises
    ------
    MalformedDicomError
        No ``DICM`` prefix, or meta elements that are not Explicit VR Little Endian or run
        past :data:`MAX_META`.
    """
    head = fh.read(132)
    if len(head) < 132 or head[128:132] != b"DICM":
        raise MalformedDicomError("not a DICOM Part 10 file (no DICM prefix)", path=path)
    walk = walk_meta(fh.read(MAX_META + 1))
    if walk.error is not None:
        raise MalformedDicomError(walk.error, path=path)
    ts = (walk.value(0x00020010) or b"").rstrip(b"\0 ").decode("ascii", "replace")
    elements = tuple((e.tag, e.raw) for e in walk.elements)
    return Part10Head(head[:128], ts, elements, 132 + walk.end)


def _normalised_meta(head: Part10Head) -> bytes:
    """The meta elements with the transfer syntax set to Explicit VR Little Endian."""
    body = b""
    for tag, raw in head.elements:
        if tag == 0x00020000:
            continue
        if tag == 0x00020010:
            raw = struct.pack("<HH2sH", 2, 0x10, b"UI", len(_EXPLICIT_LE)) + _EXPLICIT_LE
        body += raw
    length = struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(body))
    return length + body


def bounded_stream(
    fh: BinaryIO, *, path: str | None = None, max_inflated: int = MAX_INFLATED
) -> tuple[BinaryIO, Part10Head]:
    """A seekable stream pydicom may parse whole without unbounded inflation.

    Parameters
    ----------
    fh
        The file, seekable, positioned anywhere (it is rewound).
    path
        Name for messages.
    max_inflated
        Largest inflated data set accepted.

    Returns
    -------
    tuple
        ``fh`` itself (rewound) when the data set is not deflated; otherwise a memory
        stream holding the preamble, the meta (transfer syntax: Explicit VR Little Endian)
        and the inflated data set. And the :class:`Part10Head` as found in the file.

    Raises
    ------
    MalformedDicomError
        Not Part 10, a broken meta or deflate stream; :class:`InflateLimitError` beyond
        ``max_inflated``.
    """
    fh.seek(0)
    head = read_head(fh, path=path)
    if not head.deflated:
        fh.seek(0)
        return fh, head
    out = io.BytesIO()
    out.write(head.preamble + b"DICM" + _normalised_meta(head))
    fh.seek(head.dataset_offset)
    inflate_into(fh, out, limit=max_inflated, path=path)
    out.seek(0)
    return out, head


def read_dataset(
    fh: BinaryIO,
    *,
    path: str | None = None,
    specific_tags: Sequence[str] | None = None,
    stop_before_pixels: bool = True,
    defer_size: int | None = HEADER_DEFER,
    max_inflated: int = MAX_INFLATED,
) -> FileDataset:
    """Parse a Part 10 file with pydicom through the bounded gate.

    Parameters
    ----------
    fh
        The file, seekable.
    path
        Name for messages.
    specific_tags
        Read only these attributes (pydicom ``specific_tags``).
    stop_before_pixels
        Stop at Pixel Data (and Float/Double Float Pixel Data).
    defer_size
        Leave values longer than this unread (``None``: read every value; still bounded by
        the file size and ``max_inflated``).
    max_inflated
        Largest inflated data set accepted.

    Returns
    -------
    pydicom.dataset.FileDataset
        The data set; ``file_meta.TransferSyntaxUID`` is the one the file declares.

    Raises
    ------
    MalformedDicomError
        Anything pydicom or the gate refuses, as one line.
    """
    import pydicom  # loaded only when a file is parsed
    import pydicom.uid

    stream, head = bounded_stream(fh, path=path, max_inflated=max_inflated)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(
                stream,
                defer_size=defer_size,
                stop_before_pixels=stop_before_pixels,
                specific_tags=list(specific_tags) if specific_tags is not None else None,
            )
    except MalformedDicomError:
        raise
    except Exception as exc:  # hostile bytes: pydicom raises many types
        raise MalformedDicomError(
            f"not a readable DICOM file: {type(exc).__name__}: {str(exc)[:200]}", path=path
        ) from exc
    if head.deflated:
        ds.file_meta.TransferSyntaxUID = pydicom.uid.UID(head.transfer_syntax)
    return ds
