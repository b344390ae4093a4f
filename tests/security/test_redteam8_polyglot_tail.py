"""Red-team cases (eighth round): an archive or document at the end of a signed file.

A zip reader finds an archive by its end-of-central-directory record near the end of a
file, whatever precedes it (APPNOTE §4.3.16), and PDF readers find ``%%EOF`` in the last
1024 bytes. A genuine signed instance with such a record appended in bytes no MAC covers
(the Data Set Trailing Padding, a private element encoded as UN, bytes after a deflate
stream) stayed PASSED while ``unzip`` showed a forged report. Each input is built here
from a genuine instance signed with the test PKI; the second reader is Python's
``zipfile`` (the same central directory search as Info-ZIP ``unzip``).
"""

from __future__ import annotations

import io
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pydicom
import pytest
from test_redteam6 import _signed, _verify

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.tail_format import opens_as_zip_from_the_end
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, sign_file
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict
from external_tools import require_tool

SIGNATURES = b"\xfa\xff\xfa\xffSQ\x00\x00"  # (FFFA,FFFA) SQ, explicit VR LE


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("REPORT.TXT", "forged report: no finding")
    data = buf.getvalue()
    return data + b"\x00" * (len(data) % 2)


def _pdf() -> bytes:
    body = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n"
    return body + b"startxref\n0\n%%EOF\n"


def _long(tag: int, vr: bytes, value: bytes) -> bytes:
    return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value


def _padded(data: bytes, payload: bytes) -> bytes:
    """Data Set Trailing Padding (FFFC,FFFC) holding ``payload``: outside every MAC."""
    return data + _long(0xFFFCFFFC, b"OB", payload + b"\x00" * (len(payload) % 2))


def _private_un(data: bytes, payload: bytes) -> bytes:
    """A private block encoded as UN (creator and data) put before the signatures: no MAC
    holds UN, and a private UN element does not keep a file from PASSED."""
    at = data.index(SIGNATURES)
    block = _long(0x7FE10010, b"UN", b"ACME") + _long(0x7FE11000, b"UN", payload)
    return data[:at] + block + data[at:]


FORGERIES = {
    "zip-in-trailing-padding": lambda d: _padded(d, _zip()),
    "zip-in-private-un": lambda d: _private_un(d, _zip()),
    "pdf-in-trailing-padding": lambda d: _padded(d, _pdf()),
}


@pytest.mark.parametrize("how", sorted(FORGERIES))
def test_archive_or_document_in_unsigned_bytes_at_the_end_is_not_passed(
    pki: TestPki, tmp_path: Path, how: str
) -> None:
    """The signature stays intact (nothing it covers changed) and DICOM readers show the
    signed instance, while a zip or PDF reader shows the forged payload: PASSED before."""
    forged = FORGERIES[how](_signed(pki, tmp_path).read_bytes())
    assert pydicom.dcmread(io.BytesIO(forged)).PatientName == SAMPLE_PATIENTS[0].name
    if how.startswith("zip"):  # the second reader
        assert zipfile.ZipFile(io.BytesIO(forged)).read("REPORT.TXT").startswith(b"forged")

    result = _verify(pki, forged)
    assert [s.verdict for s in result.signatures] == [Verdict.PASSED]
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert any("no signature covers" in a for a in result.ambiguities)


def test_a_signed_value_that_is_also_an_archive_stays_passed(pki: TestPki, tmp_path: Path) -> None:
    """A zip the signer signed (a private OB value, not UN) is the signer's own content:
    every reader reads the same signed bytes, so the file stays PASSED."""
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    block = ds.private_block(0x7FE1, "ACME", create=True)
    block.add_new(0x00, "OB", _zip())
    src, dst = tmp_path / "unsigned.dcm", tmp_path / "signed.dcm"
    ds.save_as(src, enforce_file_format=True)
    sign_file(src, dst, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    data = dst.read_bytes()
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["REPORT.TXT"]
    result = _verify(pki, data)
    assert result.verdict is Verdict.PASSED, result.ambiguities


def _meta_end(data: bytes) -> int:
    """Where the File Meta Information ends (its group length, PS3.10 §7.1)."""
    assert data[132:140] == b"\x02\x00\x00\x00UL\x04\x00"
    return 144 + int(struct.unpack_from("<I", data, 140)[0])


def _deflated(pki: TestPki, tmp_path: Path) -> bytes:
    out = tmp_path / "deflated.dcm"
    dcmconv = require_tool("dcmconv")
    subprocess.run([dcmconv, "+td", str(_signed(pki, tmp_path)), str(out)], check=True)
    return out.read_bytes()


def test_archive_after_the_deflate_stream_is_not_passed(pki: TestPki, tmp_path: Path) -> None:
    """DCMTK and pydicom stop at the end of a deflated data set's deflate stream (PS3.5
    §A.5) and ignore what follows; no MAC covers it. A zip appended to a signed deflated
    file was PASSED while ``unzip`` opened it."""
    data = _deflated(pki, tmp_path)
    assert _verify(pki, data).verdict is Verdict.PASSED
    forged = data + _zip()
    assert pydicom.dcmread(io.BytesIO(forged)).PatientName == SAMPLE_PATIENTS[0].name
    assert zipfile.ZipFile(io.BytesIO(forged)).namelist() == ["REPORT.TXT"]

    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)
    assert "after the end of the deflated data set" in result.message


@pytest.mark.parametrize("tail", [b"\x00", b"\x3e\xf8\x55\x35\x22\x18\x00\x00"])
def test_a_pad_byte_or_gzip_trailer_after_the_deflate_stream_stays_passed(
    pki: TestPki, tmp_path: Path, tail: bytes
) -> None:
    """dcm4che writes a gzip CRC-32 and size trailer after the stream (its report_dfl in
    the real-world corpus), others a pad byte to an even length: no room for a format."""
    result = _verify(pki, _deflated(pki, tmp_path) + tail)
    assert result.verdict is Verdict.PASSED, result.message


def test_end_record_bytes_that_lead_to_no_archive_keep_a_file_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """Four bytes ``PK 05 06`` by chance (in a signature value, in padding) with no
    central directory where a zip reader looks open nothing: no false FAILED."""
    data = _signed(pki, tmp_path).read_bytes()
    stray = b"PK\x05\x06" + b"\x00" * 6 + b"\x01\x00" + struct.pack("<II", 40, 7) + b"\x00\x00"
    forged = _padded(data, b"\x11" * 64 + stray)
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(io.BytesIO(forged))
    result = _verify(pki, forged)
    assert result.verdict is Verdict.PASSED, result.ambiguities


def test_signing_a_file_with_an_archive_in_its_padding_is_refused(
    pki: TestPki, tmp_path: Path
) -> None:
    """Signing such a file made one that verify calls FAILED: refused before signing, as
    every other ambiguity is (the padding is outside the signature being made)."""
    src = tmp_path / "padded.dcm"
    src.write_bytes(_padded(_signed(pki, tmp_path).read_bytes(), _zip()))
    with pytest.raises(MalformedDicomError, match="zip archive"):
        sign_file(
            src, tmp_path / "out.dcm", SigningCredentials.load(pki.signer.key, pki.signer.cert)
        )


def test_archive_in_the_deflated_padding_is_not_passed(pki: TestPki, tmp_path: Path) -> None:
    """The same padding inside a deflated data set, deflated in stored blocks: the
    archive's bytes stand in the file as they are, and a zip reader opens it."""
    data = _deflated(pki, tmp_path)
    meta_end = _meta_end(data)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    dataset = inflater.decompress(data[meta_end:])
    padded = dataset + _long(0xFFFCFFFC, b"OB", _zip())
    deflater = zlib.compressobj(0, zlib.DEFLATED, -zlib.MAX_WBITS)
    forged = data[:meta_end] + deflater.compress(padded) + deflater.flush()
    assert zipfile.ZipFile(io.BytesIO(forged)).namelist() == ["REPORT.TXT"]
    assert pydicom.dcmread(io.BytesIO(forged)).PatientName == SAMPLE_PATIENTS[0].name

    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)


def test_raw_bytes_that_end_like_an_archive_are_found() -> None:
    """The raw check of a deflated file, alone: an archive appended, or none."""
    assert opens_as_zip_from_the_end(io.BytesIO(b"\x00" * 300 + _zip()))
    assert not opens_as_zip_from_the_end(io.BytesIO(b"\x00" * 300 + b"PK\x05\x06" + bytes(18)))
