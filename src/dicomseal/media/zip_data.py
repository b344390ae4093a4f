"""The data of one zip member: where its stream ends, and whether it reads back.

Readers that follow the central directory take a member's data to be exactly its
compressed size (PKWARE APPNOTE.TXT §4.3.12); streaming readers (``bsdtar`` on a pipe,
Java's ``ZipInputStream``) read a deflate stream to its end (§4.4.8, RFC 1951) or, for
stored data followed by a data descriptor, up to the descriptor's signature (§4.3.9.3),
and take what follows for the next local header. The two readings agree only when the
stream ends exactly at the compressed size, inflates to exactly the declared size, and
stored data holds no descriptor signature. A member failing that is ambiguous; one whose
data is damaged (invalid deflate data, CRC-32 mismatch, cut short) is a read error.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import BinaryIO, Final

__all__ = [
    "DESCRIPTOR_SIGNATURE",
    "MAX_ZIP_MEMBER",
    "MAX_ZIP_RATIO",
    "DataCheck",
    "DataSpan",
    "check_data",
    "looks_like_bomb",
]

#: §4.3.9.3: the optional signature before a data descriptor.
DESCRIPTOR_SIGNATURE: Final = b"PK\x07\x08"
#: A member that inflates more than this many times its compressed size is a bomb.
MAX_ZIP_RATIO: Final = 200
#: A member larger than this (bytes, uncompressed) is a bomb.
MAX_ZIP_MEMBER: Final = 16 * 1024**3
_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class DataSpan:
    """Where one member's data lies and what its central directory entry declares."""

    name: str
    offset: int
    compress_size: int
    file_size: int
    crc: int
    deflated: bool
    descriptor: bool


@dataclass(frozen=True)
class DataCheck:
    """``ambiguity``: readers could disagree on the data; ``damage``: it cannot be read."""

    damage: str = ""
    ambiguity: str = ""


def looks_like_bomb(file_size: int, compress_size: int) -> bool:
    """A member too large, or inflating too much, to be read at all (never opened)."""
    ratio = file_size / max(compress_size, 1)
    return file_size > MAX_ZIP_MEMBER or (file_size > 1024 * 1024 and ratio > MAX_ZIP_RATIO)


def check_data(fh: BinaryIO, span: DataSpan) -> DataCheck:
    """Check a member's data where readers could disagree on its end (module docstring).

    A bomb-like member is not inflated (it is never opened either); stored data without
    a descriptor is left to the CRC-32 check made while reading it.
    """
    if looks_like_bomb(span.file_size, span.compress_size):
        return DataCheck()
    try:
        fh.seek(span.offset)
        if span.deflated:
            return _inflate(fh, span)
        if span.descriptor:
            return _scan_stored(fh, span)
    except OSError as exc:
        return DataCheck(damage=f"read error ({exc.strerror})")
    return DataCheck()


def _inflate(fh: BinaryIO, span: DataSpan) -> DataCheck:
    """Inflate with bounded memory; the stream must end exactly at the compressed size."""
    inflater = zlib.decompressobj(-15)
    left, produced, crc, pending = span.compress_size, 0, 0, b""
    try:
        while not inflater.eof:
            if not pending:
                if not left:
                    return DataCheck(ambiguity=f"deflate data of {span.name!r} runs past its size")
                pending = fh.read(min(_CHUNK, left))
                if not pending:
                    return DataCheck(damage="the archive ends inside its data (truncated)")
                left -= len(pending)
            out = inflater.decompress(pending, _CHUNK)
            pending = inflater.unconsumed_tail
            produced += len(out)
            if produced > span.file_size:
                return DataCheck(ambiguity=f"{span.name!r} inflates past its declared size")
            crc = zlib.crc32(out, crc)
    except zlib.error as exc:
        return DataCheck(damage=f"damaged deflate data ({exc})")
    if left or inflater.unused_data or inflater.unconsumed_tail:
        return DataCheck(ambiguity=f"deflate data of {span.name!r} ends before its compressed size")
    if produced != span.file_size:
        return DataCheck(ambiguity=f"{span.name!r} inflates to another size than declared")
    return DataCheck(damage="" if crc == span.crc else "CRC-32 mismatch")


def _scan_stored(fh: BinaryIO, span: DataSpan) -> DataCheck:
    """Stored data before a data descriptor must not hold the descriptor's signature."""
    left, crc, carry = span.compress_size, 0, b""
    while left:
        chunk = fh.read(min(_CHUNK, left))
        if not chunk:
            return DataCheck(damage="the archive ends inside its data (truncated)")
        left -= len(chunk)
        if DESCRIPTOR_SIGNATURE in carry + chunk:
            return DataCheck(ambiguity=f"stored data of {span.name!r} holds a descriptor signature")
        carry = chunk[-3:]
        crc = zlib.crc32(chunk, crc)
    return DataCheck(damage="" if crc == span.crc else "CRC-32 mismatch")
