"""Red-team cases (thirteenth round): headerless data sets the housekeeping probe misses.

A forged data set without preamble and ``DICM`` under an operating system's name
(``.DS_Store``, ``._IM000000``, anything under ``__MACOSX/``) is read by DCMTK (dcmdump,
``storescu +sd +r`` sends it to a PACS, under the SOP Instance UID of a genuine image),
so it must not be ignored as housekeeping. ``looks_like_data_set`` decides with pydicom's
element generator and ignores the file when that walk finds nothing, which fails open:

* an element with a VR no standard defines: DCMTK assumes a 4-byte length, pydicom reads a
  2-byte one and its walk derails after one known tag;
* more than DATA_SET_PROBE (10,000) elements before the second known attribute (group
  0000 elements are never counted).

Both keep the signed medium PASSED (folder and zip; ISO with untranslated names too).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.signature import TrustContext
from dicomseal.verdict import Verdict


def _forged_body(medium: Path, drop_below: int) -> bytes:
    instance = next(p for p in sorted((medium / "DICOM").rglob("*")) if p.is_file())
    ds = pydicom.dcmread(instance)
    ds.PatientName = "FORGED^NAME"
    for tag in [t for t in ds.keys() if t.group in (0x0400, 0x4FFE, 0xFFFA) or t < drop_below]:
        del ds[tag]
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_dataset(buf, ds)
    return buf.getvalue()


def unknown_vr(medium: Path) -> bytes:
    first = struct.pack("<HH2sH", 0x0008, 0x0005, b"CS", 10) + b"ISO_IR 100"
    junk = b"\xff" * 16
    odd = struct.pack("<HH2sHI", 0x0008, 0x0007, b"ZZ", 0, len(junk)) + junk
    return first + odd + _forged_body(medium, 0x00080006)


def private_then_unknown_vr(medium: Path) -> bytes:
    """The walk derails before any attribute pydicom's dictionary knows (a private one
    first); DCMTK reads the unknown VR with a 4-byte length and goes on (found in review
    of the first fix: the header bytes of the identifying attributes are searched too)."""
    first = struct.pack("<HH2sH", 0x0009, 0x0010, b"LO", 4) + b"ACME"
    junk = b"\xff" * 16
    odd = struct.pack("<HH2sHI", 0x0009, 0x1001, b"ZZ", 0, len(junk)) + junk
    return first + odd + _forged_body(medium, 0x00080006)


def past_the_probe(medium: Path) -> bytes:
    pad = b"".join(struct.pack("<HH2sH", 0x0000, 0x2000 + i, b"LO", 0) for i in range(10_001))
    return pad + _forged_body(medium, 0x00080006)


@pytest.mark.parametrize("forge", [unknown_vr, private_then_unknown_vr, past_the_probe])
@pytest.mark.parametrize("name", [".DS_Store", "DICOM/._IM000000", "__MACOSX/IM1"])
def test_a_headerless_data_set_the_probe_misses_is_not_ignored(
    medium_copy: Path, trust: TrustContext, name: str, forge: object
) -> None:
    assert_judged_as_file(medium_copy, trust, name, forge(medium_copy))  # type: ignore[operator]


def assert_judged_as_file(medium: Path, trust: TrustContext, name: str, data: bytes) -> None:
    """``data`` written as ``name`` on the signed ``medium``: DCMTK reads the forged
    instance, and the medium is FAILED with the file added, never ignored."""
    target = medium / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    if shutil.which("dcmdump"):
        out = subprocess.run(
            ["dcmdump", "+P", "PatientName", str(target)], capture_output=True, text=True
        ).stdout
        assert "FORGED^NAME" in out  # DCMTK reads the forged instance
    with open_media(medium) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.FAILED, result.message
    assert name in result.manifest.added
    assert name not in result.ignored
