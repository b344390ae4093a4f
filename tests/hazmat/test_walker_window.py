"""The walker's read window: headers and values across window edges read as pydicom reads them.

``hazmat.elements`` decodes headers from a window of the file (one sized read) and reads a
large value on its own. A file many windows long, with values straddling window edges,
large values between headers and long sequences, must give the same elements (tag,
offset, length, value bytes) as pydicom's raw reading of the same file.
"""

from __future__ import annotations

import io
import random
import struct

import pytest
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import INLINE_LIMIT, WINDOW, parse_part10


def _file(ts: str, seed: int) -> bytes:
    rng = random.Random(seed)
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = generate_uid()
    block = ds.private_block(0x0009, "DICOMSEAL TEST", create=True)
    for i in range(0xFF):  # many elements, odd sizes, crossing window edges
        size = rng.choice([0, 1, 2, 7, 64, 1000, 3001, WINDOW // 3])
        block.add_new(i, "OB", rng.randbytes(size))
    seq = []
    for _ in range(50):
        item = Dataset()
        item.CodeValue = "X" * rng.randrange(1, 64)
        item.CodeMeaning = "M" * rng.randrange(1, 3000)
        seq.append(item)
    ds.ContentSequence = seq
    big = ds.private_block(0x0011, "DICOMSEAL TEST", create=True)
    big.add_new(0x01, "UT", "C" * (WINDOW + 5))  # a value longer than the window
    big.add_new(0x02, "OB", rng.randbytes(WINDOW // 4 + 1))  # read on its own
    ds.Rows, ds.Columns, ds.BitsAllocated = 16, 16, 16
    ds.PixelData = rng.randbytes(INLINE_LIMIT + 2)  # deferred: longer than inline
    ds["PixelData"].VR = "OW"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ts
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize("ts", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_same_elements_as_pydicom(ts: str) -> None:
    data = _file(ts, 7)
    assert len(data) > 10 * WINDOW
    parsed = parse_part10(io.BytesIO(data), name="x")
    ref = dcmread(io.BytesIO(data), defer_size=None)
    tags = [el.tag for el in parsed.elements]
    assert tags == [int(t) for t in ref.keys()]
    checked = 0
    for el in parsed.elements:
        raw = ref.get_item(el.tag)
        if not isinstance(raw, RawDataElement):
            continue  # decoded while reading (sequences, private creators)
        assert el.value_offset == raw.value_tell
        if el.items is not None:
            continue
        assert el.length == raw.length
        assert parsed.read_value(el) == raw.value
        assert (el.value is None) == (el.length > INLINE_LIMIT)
        checked += 1
    assert checked > 200
    seq = next(el for el in parsed.elements if el.tag == 0x0040A730)
    assert seq.items is not None and len(seq.items) == 50
    assert [e.tag for e in seq.items[-1].elements] == [0x00080100, 0x00080104]


def test_truncated_in_a_later_window() -> None:
    data = _file(ExplicitVRLittleEndian, 3)
    cut = data[: len(data) // 2]
    with pytest.raises(MalformedDicomError):
        parse_part10(io.BytesIO(cut), name="x")


def _el(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if vr in (b"OB", b"UT"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


@pytest.mark.parametrize("shift", range(0, 24))
def test_header_or_value_across_the_window_edge(shift: int) -> None:
    """An LO element placed so that its header or value crosses the first window's edge."""
    meta = _el(0x0002, 0x0010, b"UI", b"1.2.840.10008.1.2.1\x00")
    head = b"\x00" * 128 + b"DICM" + _el(0x0002, 0x0000, b"UL", struct.pack("<I", len(meta)))
    head += meta
    filler = WINDOW - len(head) - 12 - 20 + shift  # the LO header starts 20 - shift before
    value = b"ABCDEFGHIJ"
    data = head + _el(0x0009, 0x0010, b"OB", b"\x01" * filler)
    data += _el(0x0009, 0x0011, b"LO", value) + _el(0x0010, 0x0010, b"PN", b"DOE^JOHN")
    parsed = parse_part10(io.BytesIO(data), name="x")
    assert [e.tag for e in parsed.elements] == [0x00090010, 0x00090011, 0x00100010]
    assert parsed.elements[1].value == value
    assert parsed.elements[2].value == b"DOE^JOHN"
    assert parsed.elements[2].end == len(data)
