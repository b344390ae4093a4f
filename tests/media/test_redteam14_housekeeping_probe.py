"""Red-team cases (fourteenth round): headerless data sets the housekeeping probe still misses.

Each file below is read by DCMTK (dcmdump shows the forged Patient's Name; ``storescu +sd
+r MEDIUM`` stores it in Orthanc under the SOP Instance UID of a genuine image), yet
``looks_like_data_set`` answers False and the signed medium stays PASSED with the file
"ignored: written by an operating system":

* ``deflated_meta``: no preamble and no ``DICM``, a File Meta group holding (0002,0010)
  Deflated Explicit VR Little Endian (further meta elements in descending order), then
  the raw-deflated data set. DCMTK reads a meta group without a preamble and inflates;
  the probe's walks see one known attribute, then the compressed bytes parse as one
  element whose length leaves the file (a clean end, not a derailment), and the byte
  search looks for identifying headers in the compressed bytes only.
* ``disguised_vrs``: a private element, then an element of unknown VR ``ZZ`` whose two
  reserved bytes are FF FF (pydicom reads them as a 2-byte length of 65535 and leaves
  the file; DCMTK reads the 4-byte length after them), then an Explicit VR LE data set
  whose identifying attributes are stored with other VRs (UIDs as LO, Patient ID as SH,
  Patient's Name as LO, Pixel Data as UN): DCMTK and PACS built on it read them by tag;
  the byte search (_identifying_bytes) knows only the headers tag+UI/PN/LO/OB/OW.
  With the AppleDouble magic as its first tag (00 05 16 07 = (0500,0716) LO) the same
  file passes ``unlike_its_name`` as ``._IM000000``.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pydicom
import pytest
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from test_redteam13_housekeeping_probe import assert_judged_as_file

from dicomseal.media.housekeeping import looks_like_data_set
from dicomseal.signature import TrustContext


def _forged(medium: Path) -> pydicom.Dataset:
    instance = next(p for p in sorted((medium / "DICOM").rglob("*")) if p.is_file())
    ds = pydicom.dcmread(instance)
    ds.PatientName = "FORGED^NAME"
    for tag in [t for t in ds.keys() if t.group in (0x0400, 0x4FFE, 0xFFFA)]:
        del ds[tag]
    return ds


def _explicit_le(ds: pydicom.Dataset) -> bytes:
    buf = DicomBytesIO()
    buf.is_little_endian, buf.is_implicit_VR = True, False
    write_dataset(buf, ds)
    return buf.getvalue()


def deflated_meta(medium: Path) -> bytes:
    ds = _forged(medium)
    ts = b"1.2.840.10008.1.2.1.99"
    meta = struct.pack("<HH2sH", 0x0002, 0x0010, b"UI", len(ts)) + ts
    for elem, uid in ((0x0003, str(ds.SOPInstanceUID)), (0x0002, str(ds.SOPClassUID))):
        value = uid.encode() + (b"\x00" if len(uid) % 2 else b"")
        meta += struct.pack("<HH2sH", 0x0002, elem, b"UI", len(value)) + value
    body = _explicit_le(ds)
    for level in range(1, 10):  # the first level whose stream leaves the walk (all, here)
        packer = zlib.compressobj(level, zlib.DEFLATED, -15)
        data = meta + packer.compress(body) + packer.flush()
        if not looks_like_data_set(io.BytesIO(data)):
            return data
    return data


_DISGUISE = {0x00080016: "LO", 0x00080018: "LO", 0x00100010: "LO", 0x00100020: "SH",
             0x0020000D: "LO"}  # fmt: skip


def disguised_vrs(medium: Path, head: bytes | None = None) -> bytes:
    ds = _forged(medium)
    for tag, vr in _DISGUISE.items():
        ds[tag] = pydicom.DataElement(tag, vr, str(ds[tag].value))
    ds[0x7FE00010].VR = "UN"
    first = head or struct.pack("<HH2sH", 0x0009, 0x0010, b"LO", 4) + b"ACME"
    junk = b"\x11" * 16
    unknown = struct.pack("<HH2sHI", 0x0009, 0x1001, b"ZZ", 0xFFFF, len(junk)) + junk
    return first + unknown + _explicit_le(ds)


def appledouble(medium: Path) -> bytes:
    return disguised_vrs(medium, b"\x00\x05\x16\x07" + b"LO" + struct.pack("<H", 4) + b"ACME")


CASES = [
    (deflated_meta, "__MACOSX/IM1"),
    (deflated_meta, ".Spotlight-V100/Store-V2/IM1"),
    (disguised_vrs, "__MACOSX/IM1"),
    (disguised_vrs, "System Volume Information/IM1"),
    (appledouble, "DICOM/._IM000000"),
    (appledouble, "__MACOSX/DICOM/._IM000000"),
]


@pytest.mark.parametrize(("forge", "name"), CASES)
def test_a_data_set_dcmtk_reads_under_an_os_name_is_not_ignored(
    medium_copy: Path, trust: TrustContext, forge: object, name: str
) -> None:
    assert_judged_as_file(medium_copy, trust, name, forge(medium_copy))  # type: ignore[operator]
