"""Unit tests: manifest strictness, CMS detached signatures, digests, File IDs, names."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pytest
from media_support import pydicom_test_files

from dicomseal.errors import MalformedDicomError
from dicomseal.media.cms import CmsReason, sign_detached, verify_detached
from dicomseal.media.digests import FrameUnit, digest_instance, digest_stream
from dicomseal.media.fileset import fileset_id_from_label, is_conformant_file_id
from dicomseal.media.manifest import (
    FileRole,
    Manifest,
    ManifestEntry,
    ManifestFormatError,
    MediumInfo,
    read_bounded,
)
from dicomseal.media.writers import iso_safe_name
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature import SigningCredentials
from pki import TestPki

_MEDIUM = MediumInfo("SET", "label", "STD-GEN-CD", "2026-01-01T00:00:00Z", "CN=x", "t")


def _manifest_doc() -> dict[str, object]:
    m = Manifest(_MEDIUM, (ManifestEntry("README.TXT", 3, "a" * 64, FileRole.WEB),))
    return json.loads(m.to_bytes())  # type: ignore[no-any-return]


def test_manifest_round_trip() -> None:
    m = Manifest(_MEDIUM, (ManifestEntry("README.TXT", 3, "a" * 64, FileRole.WEB),))
    assert Manifest.from_bytes(m.to_bytes()) == m


@pytest.mark.parametrize(
    "anomaly",
    [
        "unknown-schema",
        "unknown-key",
        "path-with-dotdot",
        "absolute-path",
        "bad-digest",
        "negative-size",
        "duplicate-path",
        "not-json",
    ],
)
def test_manifest_parse_is_strict(anomaly: str) -> None:
    doc = _manifest_doc()
    files = doc["files"]
    assert isinstance(files, list)
    if anomaly == "unknown-schema":
        doc["schema"] = "dicomseal.manifest/2"
    elif anomaly == "unknown-key":
        doc["extra"] = 1
    elif anomaly == "path-with-dotdot":
        files[0]["path"] = "../README.TXT"
    elif anomaly == "absolute-path":
        files[0]["path"] = "/README.TXT"
    elif anomaly == "bad-digest":
        files[0]["sha256"] = "A" * 64
    elif anomaly == "negative-size":
        files[0]["size"] = -1
    elif anomaly == "duplicate-path":
        files.append(dict(files[0]))
    data = b"{not json" if anomaly == "not-json" else json.dumps(doc).encode()
    with pytest.raises(ManifestFormatError):
        Manifest.from_bytes(data)


def test_cms_detached_round_trip_and_failures(
    creds: SigningCredentials, untrusted_creds: SigningCredentials
) -> None:
    data = b'{"x": 1}\n'
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    sig = sign_detached(data, creds.private_key, creds.certificate, creds.chain, signing_time=when)
    ok = verify_detached(data, sig)
    assert ok.intact and ok.signing_time == when
    assert ok.signer is not None and ok.signer == creds.certificate
    assert len(ok.certificates) == 1  # the intermediate
    assert verify_detached(data + b" ", sig).reason is CmsReason.DIGEST_MISMATCH
    assert verify_detached(data, sig[:-10]).reason is CmsReason.MALFORMED
    assert verify_detached(data, b"garbage").reason is CmsReason.MALFORMED
    flipped = bytearray(sig)
    flipped[-5] ^= 1  # inside the signature value (last field)
    assert verify_detached(data, bytes(flipped)).reason is CmsReason.BAD_SIGNATURE


def test_cms_with_ec_key(pki: TestPki) -> None:
    ec = pki.ec_signer
    c = SigningCredentials.load(ec.key, ec.cert)
    sig = sign_detached(b"abc", c.private_key, c.certificate, signing_time=dt.datetime.now(dt.UTC))
    assert verify_detached(b"abc", sig).intact


def test_digests_native_multiframe(tmp_path: Path) -> None:
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8, frames=4)
    p = tmp_path / "mf.dcm"
    ds.save_as(p, enforce_file_format=True)
    d = digest_instance(str(p))
    assert d.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
    frame = 8 * 8 * 2
    px = bytes(ds.PixelData)
    assert d.frames == tuple(
        hashlib.sha256(px[i * frame : (i + 1) * frame]).hexdigest() for i in range(4)
    )
    assert d.values["PatientName"] == "DOE^JOHN"


def test_digests_encapsulated_one_fragment_per_frame() -> None:
    d = digest_instance(str(pydicom_test_files() / "SC_rgb_rle_2frame.dcm"))
    assert len(d.frames) == 2 and d.frame_unit is FrameUnit.FRAME


def test_digests_implicit_vr() -> None:
    d = digest_instance(str(pydicom_test_files() / "MR_small_implicit.dcm"))
    assert d.transfer_syntax_uid == "1.2.840.10008.1.2"
    assert len(d.frames) == 1 and d.values["PatientID"]


@pytest.mark.parametrize("name", ["MR_truncated.dcm", "rtplan_truncated.dcm", "no_meta.dcm"])
def test_digests_refuse_truncated_or_non_part10(name: str) -> None:
    with pytest.raises(MalformedDicomError):
        digest_instance(str(pydicom_test_files() / name))


def test_digests_deep_nesting_is_bounded() -> None:
    import struct

    item_open = struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
    seq_open = struct.pack("<HH2sHL", 0x0008, 0x1111, b"SQ", 0, 0xFFFFFFFF)
    body = (seq_open + item_open) * 200
    data = (
        b"\x00" * 128
        + b"DICM"
        + struct.pack("<HH2sH", 2, 0x10, b"UI", 20)
        + b"1.2.840.10008.1.2.1\x00"
        + body
    )
    with pytest.raises(MalformedDicomError, match="nested deeper"):
        digest_stream(io.BytesIO(data), len(data))


def test_read_bounded_refuses_oversize() -> None:
    from dicomseal.errors import MediaError

    assert read_bounded(io.BytesIO(b"x" * 10), 10) == b"x" * 10
    with pytest.raises(MediaError):
        read_bounded(io.BytesIO(b"x" * 11), 10)


def test_file_ids_and_names() -> None:
    assert is_conformant_file_id(("DICOM", "PT000000", "IM000001"))
    assert not is_conformant_file_id(("dicom", "x"))
    assert not is_conformant_file_id(tuple("ABCDEFGHI"))
    assert not is_conformant_file_id(("TOOLONGNAME",))
    assert fileset_id_from_label("Sample Hospital CT 2024-03-05") == "SAMPLE_HOSPITAL"
    assert fileset_id_from_label("ÆØÅ") == "DICOMSEAL"
    taken: set[str] = set()
    assert iso_safe_name("viewer-app.exe", taken) == "VIEWER_A.EXE"
    assert iso_safe_name("viewer-app.exe", taken) == "VIEWER_1.EXE"
    assert iso_safe_name("lib.tar.gz") == "LIB_TAR.GZ"


def test_streamed_manifest_equals_one_json_document(sample_medium: Path) -> None:
    data = (sample_medium / "DICOMSEA" / "MANIFEST.JSN").read_bytes()
    m = Manifest.from_bytes(data)
    doc = {
        "schema": "dicomseal.manifest/1",
        "digest_algorithm": "SHA-256",
        "medium": m.medium.to_json(),
        "files": [e.to_json() for e in sorted(m.files, key=lambda e: e.path)],
    }
    assert m.to_bytes() == (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
    assert m.to_bytes() == data
    empty = Manifest(_MEDIUM, ())
    assert json.loads(empty.to_bytes())["files"] == []
