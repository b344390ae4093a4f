"""How large a frame the viewer decodes, checked before any decoder runs.

A compressed frame of a few kilobytes can decode to gigabytes (a JPEG-LS stream of zeros
declaring 32768 x 32768), and a decoder allocates the size the codestream declares, not
the data set's (PS3.5 §8.2). The server renders frames (:mod:`~dicomseal.viewer.render`)
and hands compressed frames to the browser's decoders (:mod:`~dicomseal.viewer.dicomweb`):
both first check here that

* the data set's frame (Rows x Columns x Samples per Pixel, PS3.3 C.7.6.3) is within
  :data:`MAX_FRAME_SAMPLES` and :data:`MAX_FRAME_BYTES`, and its Number of Frames within
  :data:`MAX_FRAMES`;
* every compressed frame, its fragments joined as pydicom hands it to a decoder, starts
  with a codestream (JPEG, JPEG-LS, JPEG 2000) that declares that same size
  (:func:`~dicomseal.dicom.codestream.codestream_size`), and so does every fragment that
  starts one (another decoder may cut frames otherwise): a codestream of another size
  would be decoded as another image than the one described, or blow the budget. Frames
  of any other compression (but RLE, whose decoders allocate the data set's size) are
  not decoded at all.

What fails is refused with one clear error (the page says the image cannot be shown); the
verdict is not touched: this is about displaying, not about integrity.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import BinaryIO, Final, Protocol

from dicomseal.dicom.codestream import codestream_size
from dicomseal.errors import MalformedDicomError

__all__ = [
    "CODESTREAM_HEAD",
    "MAX_FRAMES",
    "MAX_FRAME_BYTES",
    "MAX_FRAME_SAMPLES",
    "check_codestreams",
    "check_declared",
    "fragment_heads",
]

#: Most samples in one decoded frame: 8192 x 8192 grey (a digitised film or a
#: mammogram is a quarter of it).
MAX_FRAME_SAMPLES: Final = 1 << 26
#: Most bytes in one decoded frame.
MAX_FRAME_BYTES: Final = 256 << 20
#: Most frames one instance is shown with (a long cine loop has a few thousand).
MAX_FRAMES: Final = 10_000
#: Bytes of a fragment read to find its codestream header.
CODESTREAM_HEAD: Final = 64 << 10
_JP2: Final = b"\x00\x00\x00\x0cjP  \r\n\x87\n"
_SOC_SIZ: Final = b"\xff\x4f\xff\x51"
_RLE_LOSSLESS: Final = "1.2.840.10008.1.2.5"


def _number(value: object, default: int) -> int:
    try:
        text = str(value).split("\\")[0].strip() if value not in (None, "") else ""
        return int(float(text)) if text else default
    except (TypeError, ValueError):
        return -1


class _Header(Protocol):
    """A data set's attributes by keyword (a pydicom ``Dataset``)."""

    def get(self, key: str, /) -> object: ...


def check_declared(header: _Header) -> tuple[int, int]:
    """Refuse a data set whose frame is larger than the budget; its (Rows, Columns).

    Rows, Columns, Samples per Pixel, Bits Allocated and Number of Frames (PS3.3
    C.7.6.3, C.7.6.6) as the header gives them (numbers or their text; absent: None).

    Raises
    ------
    MalformedDicomError
        A frame over :data:`MAX_FRAME_SAMPLES` or :data:`MAX_FRAME_BYTES`, more than
        :data:`MAX_FRAMES` frames, or a size that is not a number.
    """
    r, c = _number(header.get("Rows"), 0), _number(header.get("Columns"), 0)
    s, b = _number(header.get("SamplesPerPixel"), 1), _number(header.get("BitsAllocated"), 8)
    n = _number(header.get("NumberOfFrames"), 1)
    if min(r, c, s, b, n) < 0:
        raise MalformedDicomError("the image size is not a number: not shown")
    if r == 0 or c == 0:  # a JPEG "height from DNL" has no size before decoding either
        raise MalformedDicomError("the data set gives no image size: not shown")
    count = r * c * max(s, 1)
    if count > MAX_FRAME_SAMPLES or count * max(1, -(-b // 8)) > MAX_FRAME_BYTES:
        raise MalformedDicomError(
            f"a frame of {r} x {c} x {s} samples is larger than the viewer decodes "
            f"(at most {MAX_FRAME_SAMPLES:,} samples): not shown"
        )
    if n > MAX_FRAMES:
        raise MalformedDicomError(
            f"{n:,} frames declared, more than the viewer shows ({MAX_FRAMES:,}): not shown"
        )
    return r, c


def _codestream_at(head: bytes) -> int | None:
    """Where the codestream a fragment starts begins: after any 0xFF fill bytes (JPEG
    B.1.1.2; CharLS steps over them too), or None when it starts none. In the entropy-coded
    data of a JPEG frame 0xFF is never followed by 0xD8, nor in JPEG 2000 packet data by
    0x4F: a fragment that starts so is a codestream, wherever it sits in the frame."""
    if head[:12] == _JP2:
        return 0
    at = 0
    while head[at : at + 2] == b"\xff\xff":
        at += 1
    return at if head[at : at + 2] == b"\xff\xd8" or head[at : at + 4] == _SOC_SIZ else None


def _check_one(head: bytes, rows: int, columns: int, what: str) -> None:
    size = codestream_size(head)
    if size is None:
        raise MalformedDicomError(
            f"{what}: its image size is not in its first {len(head):,} bytes: not shown"
        )
    if size.samples > MAX_FRAME_SAMPLES or (size.rows, size.columns) != (rows, columns):
        raise MalformedDicomError(
            f"{what} declares {size.rows} x {size.columns} where the data set says "
            f"{rows} x {columns}: not shown"
        )


def check_codestreams(
    syntax: str, frames: Iterable[bytes], fragments: Iterable[bytes], rows: int, columns: int
) -> None:
    """Refuse encapsulated Pixel Data (PS3.5 §A.4) a decoder could take for another image
    than the data set describes.

    ``frames``: each frame as pydicom hands it to a decoder (its fragments joined, by the
    offset tables or pydicom's rules), at least :data:`CODESTREAM_HEAD` bytes of each;
    ``fragments``: the first bytes of every fragment, the Basic Offset Table left out (a
    decoder elsewhere, the browser's, may cut frames otherwise). RLE (PS3.5 Annex G) has
    no codestream header: its decoders allocate the data set's size. Any other frame must
    start with a JPEG, JPEG-LS or JPEG 2000 codestream of the data set's size, and so must
    any fragment that starts one.
    """
    if syntax == _RLE_LOSSLESS:
        return
    for number, frame in enumerate(frames, 1):
        head = frame[:CODESTREAM_HEAD]
        if _codestream_at(head) != 0:
            raise MalformedDicomError(
                f"frame {number} does not start with a codestream this viewer reads: not shown"
            )
        _check_one(head, rows, columns, f"frame {number}")
    for fragment in fragments:
        at = _codestream_at(fragment)
        if at is not None:
            _check_one(fragment[at:], rows, columns, "a fragment's codestream")


def fragment_heads(fh: BinaryIO, fragments: Iterable[tuple[int, int]]) -> Iterable[bytes]:
    """The first bytes of each fragment ``(offset, length)`` of ``fh``, the first item
    (the Basic Offset Table) left out."""
    for i, (offset, length) in enumerate(fragments):
        if i == 0:
            continue
        fh.seek(offset, os.SEEK_SET)
        yield fh.read(min(length, CODESTREAM_HEAD))
