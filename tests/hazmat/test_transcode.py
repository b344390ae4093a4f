"""Big-endian and deflated files read as their Explicit VR LE equivalent, bounded.

The same data set in Explicit VR LE and in big endian (pydicom's own test file pairs), or
written deflated by pydicom, must give identical MAC streams, and hostile variants
(truncated, corrupt, inflating past the bound) must be refused with one clear error.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRLittleEndian

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import parse_part10
from dicomseal.hazmat.mac_stream import write_elements
from dicomseal.hazmat.transcode import (
    implicit_to_explicit_le,
    needs_transcoding,
    transcode_to_explicit_le,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "realworld"
#: pydicom's own test files: the same data set in Explicit VR LE and in big endian.
BIG_ENDIAN_PAIRS = [
    ("MR_small.dcm", "MR_small_bigendian.dcm"),
    ("MR_small.dcm", "MR_small_expb.dcm"),
    ("SC_rgb_small_odd.dcm", "SC_rgb_small_odd_big_endian.dcm"),
    ("liver_1frame.dcm", "liver_expb_1frame.dcm"),
]


def _encode(ds: Dataset, ts: str) -> bytes:
    ds.file_meta.TransferSyntaxUID = ts
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _stream(data: bytes) -> bytes:
    parsed = parse_part10(io.BytesIO(data))
    out = bytearray()
    write_elements(parsed.elements, parsed, out.extend)
    return bytes(out)


@pytest.mark.parametrize(("little", "big"), BIG_ENDIAN_PAIRS)
def test_big_endian_stream_equals_little_endian(little: str, big: str) -> None:
    big_data = Path(get_testdata_file(big)).read_bytes()
    assert needs_transcoding(parse_part10(io.BytesIO(big_data)).meta.transfer_syntax_uid)
    reference = _stream(Path(get_testdata_file(little)).read_bytes())
    assert _stream(big_data) == reference


@pytest.mark.parametrize("name", ["MR_small.dcm", "rtdose.dcm", "liver_1frame.dcm"])
def test_deflated_stream_equals_little_endian(name: str) -> None:
    ds = dcmread(get_testdata_file(name))
    reference = _stream(_encode(ds, ExplicitVRLittleEndian))
    deflated = _encode(ds, DeflatedExplicitVRLittleEndian)
    assert needs_transcoding(DeflatedExplicitVRLittleEndian)
    assert len(deflated) < len(reference)
    assert _stream(deflated) == reference


def test_common_syntaxes_are_read_as_stored() -> None:
    for ts in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.50"):
        assert not needs_transcoding(ts)


def _head(uid: str = DeflatedExplicitVRLittleEndian) -> bytes:
    ts = uid.encode() + b"\x00" * (len(uid) % 2)
    return b"\x00" * 128 + b"DICM" + b"\x02\x00\x10\x00UI" + struct.pack("<H", len(ts)) + ts


def _deflated_file(payload: bytes) -> bytes:
    return _head() + payload


def test_inflation_is_bounded(tmp_path: Path) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = (
        b"\x10\x00\x10\x00PN\x04\x00DOE^"
        + b"\x09\x00\x10\x10OB\x00\x00"
        + ((1 << 24).to_bytes(4, "little") + b"\x00" * (1 << 24))
    )
    data = _deflated_file(packer.compress(body) + packer.flush())
    src = tmp_path / "bomb.dcm"
    src.write_bytes(data)
    start = len(_head())
    with src.open("rb") as fh, pytest.raises(MalformedDicomError, match="inflates beyond"):
        transcode_to_explicit_le(
            fh, len(data), start, DeflatedExplicitVRLittleEndian, max_inflated=1 << 20
        )
    with src.open("rb") as fh:
        out = transcode_to_explicit_le(fh, len(data), start, DeflatedExplicitVRLittleEndian)
        assert len(out.read()) == start + len(body)


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"\x00\x01garbage", "corrupt"), (zlib.compress(bytes(range(256)) * 64)[2:200], "truncated")],
)
def test_bad_deflate_is_refused(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedDicomError, match=message):
        parse_part10(io.BytesIO(_deflated_file(payload)))


def test_truncated_big_endian_is_refused() -> None:
    data = Path(get_testdata_file("MR_small_bigendian.dcm")).read_bytes()
    with pytest.raises(MalformedDicomError, match=r"truncated|exceeds"):
        parse_part10(io.BytesIO(data[:-101]))


IMPLICIT_FILES = [
    Path(get_testdata_file("MR_small_implicit.dcm")),
    Path(get_testdata_file("nested_priv_SQ.dcm")),  # private SQ, incomplete file meta
    CORPUS / "fo-dicom/Tests/FO-DICOM.Benchmark/Data/mr.dcm",  # GE, private tags
    CORPUS / "highdicom/data/test_files/seg_image_ct_binary_overlap.dcm",
]


@pytest.mark.parametrize("path", IMPLICIT_FILES, ids=lambda p: p.name)
def test_implicit_to_explicit_keeps_the_mac_stream(path: Path) -> None:
    data = path.read_bytes()
    parsed = parse_part10(io.BytesIO(data))
    assert parsed.implicit
    out = io.BytesIO()
    implicit_to_explicit_le(parsed.fp, parsed.elements, out)
    head = _head(ExplicitVRLittleEndian)
    converted = parse_part10(io.BytesIO(head + out.getvalue()))
    assert not converted.implicit
    assert _stream(head + out.getvalue()) == _stream(data)
