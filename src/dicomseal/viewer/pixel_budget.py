"""How large a frame the viewer decodes, checked before any decoder runs.

A compressed frame of a few kilobytes can decode to gigabytes (a JPEG-LS stream of zeros
declaring 32768 x 32768), and a decoder allocates the size the codestream declares, not
the data set's (PS3.5 §8.2). The server renders frames (:mod:`~dicomseal.viewer.render`)
and hands compressed frames to the browser's decoders (:mod:`~dicomseal.viewer.dicomweb`):
both first check here that

* the data set's frame (Rows x Columns x Samples per Pixel, PS3.3 C.7.6.3) is within
  :data:`MAX_FRAME_SAMPLES` and :data:`MAX_FRAME_BYTES`, and its Number of Frames within
  :data:`MAX_FRAMES`;
* every fragment that starts a codestream declares that same size
  (:func:`~dicomseal.dicom.codestream.codestream_size`): a codestream of another size
  would be decoded as another image than the one described, or blow the budget.

What fails is refused with one clear error (the page says the image cannot be shown); the
verdict is not touched: this is about displaying, not about integrity.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import BinaryIO, Final

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


def _number(value: object, default: int) -> int:
    try:
        text = str(value).split("\\")[0].strip() if value not in (None, "") else ""
        return int(float(text)) if text else default
    except (TypeError, ValueError):
        return -1


def check_declared(
    rows: object, columns: object, samples: object, bits_allocated: object, frames: object
) -> tuple[int, int]:
    """Refuse a data set whose frame is larger than the budget; its (Rows, Columns).

    Values as the header gives them (numbers or their text; absent: None).

    Raises
    ------
    MalformedDicomError
        A frame over :data:`MAX_FRAME_SAMPLES` or :data:`MAX_FRAME_BYTES`, more than
        :data:`MAX_FRAMES` frames, or a size that is not a number.
    """
    r, c = _number(rows, 0), _number(columns, 0)
    s, b, n = _number(samples, 1), _number(bits_allocated, 8), _number(frames, 1)
    if min(r, c, s, b, n) < 0:
        raise MalformedDicomError("the image size is not a number: not shown")
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


def check_codestreams(heads: Iterable[bytes], rows: int, columns: int) -> None:
    """Refuse when a fragment starting a codestream declares another size than the data
    set, one over the budget, or a header not found within its first bytes.

    ``heads``: the first :data:`CODESTREAM_HEAD` bytes (or fewer: the whole fragment) of
    each fragment of encapsulated Pixel Data (PS3.5 §A.4), the Basic Offset Table left out.
    """
    for head in heads:
        starts = head[:2] == b"\xff\xd8" or head[:4] == b"\xff\x4f\xff\x51"
        starts = starts or head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n"
        if not starts:
            continue  # the rest of a frame begun in an earlier fragment
        size = codestream_size(head)
        if size is None:
            raise MalformedDicomError(
                f"a codestream's image size is not in its first {len(head):,} bytes: not shown"
            )
        if size.samples > MAX_FRAME_SAMPLES or (size.rows, size.columns) != (rows, columns):
            raise MalformedDicomError(
                f"a codestream declares {size.rows} x {size.columns} where the data set "
                f"says {rows} x {columns}: not shown"
            )


def fragment_heads(fh: BinaryIO, fragments: Iterable[tuple[int, int]]) -> Iterable[bytes]:
    """The first bytes of each fragment ``(offset, length)`` of ``fh``, the first item
    (the Basic Offset Table) left out."""
    for i, (offset, length) in enumerate(fragments):
        if i == 0:
            continue
        fh.seek(offset, os.SEEK_SET)
        yield fh.read(min(length, CODESTREAM_HEAD))
