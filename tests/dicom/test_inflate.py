"""The one bounded inflater: limits, corrupt and truncated streams, one cap for every reader."""

from __future__ import annotations

import inspect
import io
import zlib

import pytest

from dicomseal.dicom.inflate import MAX_INFLATED, InflateLimitError, inflate_into, inflate_prefix
from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.transcode import transcode_to_explicit_le
from dicomseal.media.bounded_read import bounded_stream, read_dataset


def _deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def test_inflates_up_to_the_limit_exactly() -> None:
    data = bytes(range(256)) * 40
    out = io.BytesIO()
    assert inflate_into(io.BytesIO(_deflate(data)), out, limit=len(data)) == len(data)
    assert out.getvalue() == data


def test_one_byte_beyond_the_limit_is_refused() -> None:
    data = b"\0" * 5000
    with pytest.raises(InflateLimitError, match="inflates beyond 4999 bytes"):
        inflate_into(io.BytesIO(_deflate(data)), io.BytesIO(), limit=len(data) - 1)


def test_bytes_after_the_stream_are_ignored() -> None:
    out = io.BytesIO()
    inflate_into(io.BytesIO(_deflate(b"abc") + b"trailing"), out)
    assert out.getvalue() == b"abc"


def test_truncated_and_corrupt_streams_are_malformed() -> None:
    stream = _deflate(bytes(range(256)) * 100)
    with pytest.raises(MalformedDicomError, match="truncated"):
        inflate_into(io.BytesIO(stream[: len(stream) // 2]), io.BytesIO())
    with pytest.raises(MalformedDicomError, match="corrupt"):
        inflate_into(io.BytesIO(b"\xff" * 64), io.BytesIO())


def test_prefix_is_bounded_and_tolerant() -> None:
    assert inflate_prefix(_deflate(b"\0" * (1 << 20)), 6) == b"\0" * 6
    assert inflate_prefix(b"\xff" * 8, 6) == b""


@pytest.mark.parametrize("reader", [transcode_to_explicit_le, bounded_stream, read_dataset])
def test_every_reader_defaults_to_the_one_cap(reader: object) -> None:
    default = inspect.signature(reader).parameters["max_inflated"].default  # type: ignore[arg-type]
    assert default == MAX_INFLATED == 256 * 1024 * 1024
