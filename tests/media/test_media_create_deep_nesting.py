"""media create: an input whose sequences nest too deep for pydicom never sinks the medium.

orthanc-tests ``Database/2026-05-06-Deeply-Nested-Sequence.dcm`` (a sequence nested
thousands of levels deep) made pydicom's header read raise ``RecursionError`` inside the
up-front check, and ``media create`` ended with "internal error" and no medium for the
other inputs. The file here is built the same way: an Explicit VR Little Endian Content
Sequence (0040,A730) of undefined length whose only item holds the next one
(PS3.5 §7.5.2), :data:`DEPTH` levels deep.
"""

from __future__ import annotations

import struct
from pathlib import Path

from media_support import make_medium
from pydicom.dataset import Dataset

from dicomseal.errors import describe_read_error
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature import SigningCredentials

DEPTH = 3000  # far beyond Python's default recursion limit (1000 frames)

_UNDEFINED = 0xFFFFFFFF
_OPEN = (
    struct.pack("<HH2sHI", 0x0040, 0xA730, b"SQ", 0, _UNDEFINED)  # Content Sequence
    + struct.pack("<HHI", 0xFFFE, 0xE000, _UNDEFINED)  # Item
)
_CLOSE = struct.pack("<HHI", 0xFFFE, 0xE00D, 0) + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def _instance(number: int) -> Dataset:
    return make_instance(SAMPLE_PATIENTS[0], 0, 1, number, rows=8, cols=8)


def _deeply_nested(path: Path) -> None:
    """A valid instance without pixel data, then the nested sequence as its last element."""
    ds = _instance(99)
    del ds.PixelData
    assert max(ds.keys()) < 0x0040A730
    ds.save_as(path, enforce_file_format=True)
    with path.open("ab") as fh:
        fh.write(_OPEN * DEPTH + _CLOSE * DEPTH)


def test_deeply_nested_input_is_skipped_with_its_reason(
    tmp_path: Path, creds: SigningCredentials
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for n in range(3):
        _instance(n + 1).save_as(src / f"good{n}.dcm", enforce_file_format=True)
    _deeply_nested(src / "deep.dcm")
    result = make_medium([src], tmp_path / "out", creds)
    assert result.instances == 3
    assert [Path(s.path).name for s in result.skipped] == ["deep.dcm"]
    assert "nested too deep" in result.skipped[0].reason


def test_recursion_error_is_described_for_a_user() -> None:
    why = describe_read_error(RecursionError("maximum recursion depth exceeded"))
    assert why == "cannot be read as DICOM: sequences nested too deep to read"
