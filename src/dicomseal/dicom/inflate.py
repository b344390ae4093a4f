"""The one bounded inflater for deflated data sets (PS3.5 §A.5, RFC 1951).

A Deflated Explicit VR Little Endian data set is a raw deflate stream after the File Meta
Information. ``zlib.decompress`` would allocate whatever the stream expands to (1 MB of
zeros deflates to about 1 KB), so every reader inflates through :func:`inflate_into`: a
``zlib.decompressobj`` fed in bounded steps, refused beyond one cap, :data:`MAX_INFLATED`,
defined here only.
"""

from __future__ import annotations

import os
from typing import BinaryIO, Final

from dicomseal.errors import MalformedDicomError

__all__ = [
    "MAX_INFLATED",
    "InflateLimitError",
    "inflate_into",
    "inflate_prefix",
    "inflate_stream",
]

#: A deflated data set that inflates to more than this many bytes is refused.
MAX_INFLATED: Final = 256 * 1024 * 1024
_STEP: Final = 4 * 1024 * 1024
_READ: Final = 1024 * 1024
_MIB: Final = 1024 * 1024


class InflateLimitError(MalformedDicomError):
    """A deflated data set inflates beyond the limit: refused, never inflated whole."""


def _limit_text(limit: int) -> str:
    return f"{limit // _MIB} MiB" if limit >= _MIB else f"{limit} bytes"


def _refuse(limit: int, path: str | None) -> InflateLimitError:
    return InflateLimitError(
        f"deflated data set inflates beyond {_limit_text(limit)}: refused (deflate bomb?)",
        path=path,
    )


def inflate_into(
    src: BinaryIO, out: BinaryIO, *, limit: int = MAX_INFLATED, path: str | None = None
) -> int:
    """Inflate the raw deflate stream at ``src``'s position into ``out``, at most ``limit``.

    Bytes after the end of the deflate stream are ignored (as pydicom does).

    Returns
    -------
    int
        Number of inflated bytes written.

    Raises
    ------
    InflateLimitError
        The stream inflates beyond ``limit`` (nothing beyond ``limit`` plus one step is
        ever held in memory).
    MalformedDicomError
        The stream is corrupt or truncated.
    """
    return inflate_stream(src, out, limit=limit, path=path)[0]


def inflate_stream(
    src: BinaryIO, out: BinaryIO, *, limit: int = MAX_INFLATED, path: str | None = None
) -> tuple[int, int]:
    """:func:`inflate_into`, also returning how many bytes of ``src`` follow the stream.

    Every DICOM reader ignores bytes after the end of the deflate stream (PS3.5 §A.5
    ends the data set there), so a verifier must know they exist: nothing signs them.

    Returns
    -------
    tuple[int, int]
        Inflated bytes written, and bytes of ``src`` after the end of the deflate stream.
    """
    import zlib  # loaded for a deflated data set only

    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    try:
        while not inflater.eof:
            chunk = src.read(_READ)
            if not chunk:
                break
            while chunk and not inflater.eof:
                data = inflater.decompress(chunk, _STEP)
                total += len(data)
                if total > limit:
                    raise _refuse(limit, path)
                out.write(data)
                chunk = inflater.unconsumed_tail
        rest = inflater.flush(_STEP)
    except zlib.error as exc:
        raise MalformedDicomError(f"deflated data set is corrupt: {exc}", path=path) from exc
    if not inflater.eof:
        raise MalformedDicomError("deflated data set is truncated", path=path)
    total += len(rest)
    if total > limit:
        raise _refuse(limit, path)
    out.write(rest)
    read_to = src.tell()
    after = len(inflater.unused_data) + src.seek(0, os.SEEK_END) - read_to
    return total, after


def inflate_prefix(data: bytes, size: int) -> bytes:
    """At most the first ``size`` inflated bytes of the raw deflate stream ``data``.

    For a peek at the first data element; ``b""`` when the stream is corrupt.
    """
    import zlib

    try:
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(data, size)
    except zlib.error:
        return b""
