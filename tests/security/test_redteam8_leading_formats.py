"""Red-team cases (eighth round): formats found from the first bytes of a file.

GNU tar needs no ``ustar`` magic: a V7 header whose checksum holds is a member, and the
next header follows 512 bytes on. A Part 10 preamble (128 bytes, unsigned) ends exactly
where a tar header's size field begins to be cut by ``DICM``: a size of ``0`` ended by
a NUL there, the checksum field in an unsigned File Meta Information Version value, and
the second header and its content in the rest of that value make ``tar -xf IM1.dcm``
write ``REPORT.TXT`` with forged text while the data set stays signed and PASSED. An ISO
image's system area (ECMA-119 §6.2.1) took the same header: only ``ustar`` was looked for.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import subprocess
from pathlib import Path

import pydicom
import pytest
from cryptography import x509
from test_redteam6 import _signed, _verify

from dicomseal.hazmat.ambiguity import tar_header
from dicomseal.hazmat.elements import parse_part10
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.findings import FindingCode
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.samples import SAMPLE_PATIENTS, write_sample_studies
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict
from external_tools import require_tool

REPORT = b"FORGED REPORT: no malignancy\n"


def _header(name: bytes, size: int) -> bytearray:
    """A V7 tar header block (no ``ustar`` magic), checksum not yet set."""
    block = bytearray(512)
    block[: len(name)] = name
    block[100:124] = b"0000644\x000000000\x000000000\x00"
    block[124:136] = b"%011o\x00" % size
    block[136:148] = b"00000000000\x00"
    block[156:157] = b"0"
    return block


def _checksummed(block: bytearray) -> bytearray:
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\x00 " % sum(block)
    return block


def _member() -> bytes:
    """The forged member's header, content and the end-of-archive blocks."""
    return (
        bytes(_checksummed(_header(b"REPORT.TXT", len(REPORT))))
        + REPORT.ljust(512, b"\x00")
        + bytes(1024)
    )


def _tar_polyglot(data: bytes) -> bytes:
    """``data`` with a tar header in its preamble and a member in its file meta."""
    parsed = parse_part10(io.BytesIO(data))
    rest = b"".join(data[e.offset : e.end] for e in parsed.meta.elements if e.tag > 0x00020001)
    value = bytearray(512 - 144) + _member()  # File Meta Information Version from byte 144
    first = bytearray(512)
    first[:5] = b"A.TXT"
    first[100:128] = b"0000644\x000000000\x000000000\x000\x00\x00\x00"
    first[128:144] = b"DICM" + struct.pack("<HH2sHI", 2, 1, b"OB", 0, len(value))
    first[144:512] = value[: 512 - 144]
    first[156:157] = b"0"
    _checksummed(first)
    value[: 512 - 144] = first[144:512]
    return bytes(first[:144]) + bytes(value) + rest + data[parsed.meta.end :]


def _extracted(archive: Path, tmp_path: Path) -> bytes:
    """What GNU tar writes as REPORT.TXT (it also reports the DICOM bytes as errors)."""
    out = tmp_path / "extracted"
    out.mkdir()
    subprocess.run([require_tool("tar"), "-xf", str(archive), "-C", str(out)], check=False)
    return (out / "REPORT.TXT").read_bytes()


def test_instance_that_gnu_tar_extracts_is_not_passed(pki: TestPki, tmp_path: Path) -> None:
    forged = _tar_polyglot(_signed(pki, tmp_path).read_bytes())
    path = tmp_path / "IM1.dcm"
    path.write_bytes(forged)
    assert pydicom.dcmread(path).PatientName == SAMPLE_PATIENTS[0].name  # DICOM readers
    assert _extracted(path, tmp_path) == REPORT  # the second reader

    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("tar" in a for a in result.ambiguities)


def test_a_genuine_preamble_is_no_tar_header(pki: TestPki, tmp_path: Path) -> None:
    """Zeros, and the preamble and meta of a genuine file: no checksum holds."""
    data = _signed(pki, tmp_path).read_bytes()
    assert not tar_header(bytes(512))
    assert not tar_header(data[:512])
    assert _verify(pki, data).verdict is Verdict.PASSED


@pytest.fixture(scope="module")
def genuine_iso(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("rt8-iso")
    write_sample_studies(base / "src", instances_per_series=1, rows=16, cols=16)
    c = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    inter = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    creds = SigningCredentials(c.private_key, c.certificate, (inter,))
    when = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    image = base / "cd.iso"
    create_medium([base / "src"], image, creds, CreateOptions(created_at=when, label="RT8"))
    return image


def test_iso_whose_system_area_gnu_tar_extracts_is_not_passed(
    genuine_iso: Path, pki: TestPki, tmp_path: Path
) -> None:
    trust = TrustContext.load([pki.root.cert])
    with open_media(genuine_iso) as source:
        assert verify_media(source, trust, workers=1).verdict is Verdict.PASSED
    image = bytearray(genuine_iso.read_bytes())
    assert not any(image[:2048])
    archive = bytes(_checksummed(_header(b"A.TXT", 0))) + _member()
    image[: len(archive)] = archive
    assert b"ustar" not in image[:2048]
    forged = tmp_path / "cd.iso"
    forged.write_bytes(bytes(image))
    assert _extracted(forged, tmp_path) == REPORT

    with open_media(forged) as source:
        result = verify_media(source, trust, workers=1)
    assert result.verdict is Verdict.FAILED
    assert any(
        f.code is FindingCode.AMBIGUOUS_ARCHIVE and "tar" in f.message for f in result.findings
    )


def test_iso_whose_system_area_is_a_pdf_is_not_passed(
    genuine_iso: Path, pki: TestPki, tmp_path: Path
) -> None:
    """An instance whose unsigned preamble or file meta holds ``%PDF-`` in its first
    1024 bytes is FAILED (redteam4); an ISO image's system area (32 KiB nobody checks,
    room for a whole forged report) with a PDF header was PASSED."""
    image = bytearray(genuine_iso.read_bytes())
    pdf = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    image[: len(pdf)] = pdf
    forged = tmp_path / "cd.iso"
    forged.write_bytes(bytes(image))
    with open_media(forged) as source:
        result = verify_media(source, TrustContext.load([pki.root.cert]), workers=1)
    assert result.verdict is Verdict.FAILED
    assert any(
        f.code is FindingCode.AMBIGUOUS_ARCHIVE and "PDF" in f.message for f in result.findings
    )
