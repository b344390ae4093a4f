"""Red-team cases (third round): the worker pools, creation while reading, fast paths.

Inputs are built here from the synthetic sample studies (``write_sample_studies``) and the
test PKI; the second reader is pydicom (and ``dcmdump`` where named).
"""

from __future__ import annotations

import datetime as dt
import io
import struct
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID, ExplicitVRLittleEndian

import dicomseal.hazmat.ambiguity as ambiguity
import dicomseal.media.create as create
from dicomseal.hazmat.elements import Part10File, parse_part10
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.inputs import MediaProfile, SourceInstance, check_instance
from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials

FORGED_ID = "PID-CHANGED-AFTER-CHECK"


def _credentials(pki: TestPki, tmp: Path) -> SigningCredentials:
    bundle = tmp / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    return SigningCredentials.load(pki.signer.key, bundle)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_source_changed_after_its_check_is_not_signed_onto_the_medium(
    tmp_path: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """The header of a source is read and checked (DICOMDIR records, profile, duplicates)
    and the file is read again to be signed. A source rewritten in between (a shared
    folder, another writer) was signed as it then was: the medium verified PASSED with a
    DICOMDIR naming patient DS0001 over an instance of another patient (pydicom, dcmdump
    read the instance's Patient ID, a DICOMDIR browser files it under DS0001)."""
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=2, rows=16, cols=16)
    victim = sorted(src.rglob("*.dcm"))[0]
    checked = check_instance

    def check_then_rewrite(inst: SourceInstance, profile: MediaProfile) -> str | None:
        reason = checked(inst, profile)
        if inst.path == victim:  # another writer changes the source after its check
            ds = pydicom.dcmread(victim)
            ds.PatientID = FORGED_ID
            ds.save_as(victim)
        return reason

    monkeypatch.setattr(create, "check_instance", check_then_rewrite)
    out = tmp_path / "medium"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), workers=workers)
    result = create_medium([src], out, _credentials(pki, tmp_path), options)

    records = {}
    dicomdir = pydicom.dcmread(out / "DICOMDIR")
    for rec in dicomdir.DirectoryRecordSequence:
        if rec.DirectoryRecordType == "PATIENT":
            patient = rec.PatientID
        elif "ReferencedFileID" in rec:
            records["/".join(rec.ReferencedFileID)] = patient
    on_medium = {p: str(pydicom.dcmread(out / p).PatientID) for p in records}
    assert FORGED_ID not in on_medium.values()
    assert on_medium == records  # every instance is the patient its record names
    assert [s.path for s in result.skipped if s.instance] == [str(victim)]


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("PatientID", FORGED_ID), ("SeriesInstanceUID", "1.2.826.0.1.3680043.10.999.77")],
)
def test_a_signed_medium_whose_dicomdir_names_another_patient_is_not_passed(
    tmp_path: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch, keyword: str, value: str
) -> None:
    """A creator whose DICOMDIR disagrees with an instance (the race above before its
    fix, or a faulty or rogue creator) signs both: a DICOMDIR browser (a PACS import
    dialog, a viewer's patient list) files the instance under the record's patient while
    pydicom and dcmdump read the instance's own Patient ID. Two readers, two patients (or
    series). media verify compared a reference with its file by SOP Instance UID only, and said
    PASSED."""
    import dicomseal.media.instance_signing as signing
    from dicomseal.media.source import open_media
    from dicomseal.media.verify import verify_media
    from dicomseal.signature import TrustContext
    from dicomseal.verdict import Verdict

    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=2, rows=16, cols=16)
    victim = sorted(src.rglob("*.dcm"))[0]

    def check_then_rewrite(inst: SourceInstance, profile: MediaProfile) -> str | None:
        reason = check_instance(inst, profile)
        if inst.path == victim:
            ds = pydicom.dcmread(victim)
            setattr(ds, keyword, value)
            ds.save_as(victim)
        return reason

    monkeypatch.setattr(create, "check_instance", check_then_rewrite)
    monkeypatch.setattr(signing, "require_unchanged", lambda path, stamp: None)  # the old race
    out = tmp_path / "medium"
    # the read-back after writing would now refuse it (that is this check): a rogue creator
    # skips it
    options = CreateOptions(
        created_at=dt.datetime.now(dt.UTC), workers=1, verify_after_writing=False
    )
    create_medium([src], out, _credentials(pki, tmp_path), options)
    forged = out / "DICOM/PT000000/ST000000/SE000000/IM000000"
    assert pydicom.dcmread(forged)[keyword].value == value  # the second reader sees it
    records = pydicom.dcmread(out / "DICOMDIR").DirectoryRecordSequence
    assert all(r.get(keyword) != value for r in records)  # DICOMDIR files it elsewhere

    with open_media(out) as medium:
        result = verify_media(medium, TrustContext.load([pki.root.cert]))
    assert result.verdict is Verdict.FAILED, result.message
    codes = {(f.code.value, f.path) for f in result.findings}
    assert ("dicomdir-identity-mismatch", "DICOM/PT000000/ST000000/SE000000/IM000000") in codes


def _el(tag: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR Little Endian element (PS3.5 §7.1.2)."""
    if vr in (b"SQ", b"UN"):
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def _sq(tag: int, *items: bytes) -> bytes:
    return _el(tag, b"SQ", b"".join(struct.pack("<HHI", 0xFFFE, 0xE000, len(i)) + i for i in items))


def _part10(body: bytes) -> Part10File:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID("1.2.840.10008.5.1.4.1.1.7")
    meta.MediaStorageSOPInstanceUID = UID("1.2.826.0.1.3680043.10.999.3")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    encoded = DicomBytesIO()
    write_file_meta_info(encoded, meta, enforce_standard=True)
    return parse_part10(io.BytesIO(b"\0" * 128 + b"DICM" + encoded.getvalue() + body))


CONTENT = 0x0040A730  # Content Sequence
SIGNATURES = _sq(0xFFFAFFFA, _el(0x04000005, b"US", b"\1\0"))
DEEP_CASES = {
    "duplicate tag two items deep": (
        _sq(CONTENT, _sq(CONTENT, _el(0x00080100, b"SH", b"AA") + _el(0x00080100, b"SH", b"BB"))),
        "duplicate-tag",
    ),
    "out of order two items deep": (
        _sq(CONTENT, _sq(CONTENT, _el(0x00080104, b"LO", b"AA") + _el(0x00080100, b"SH", b"BB"))),
        "out-of-order",
    ),
    "known attribute as UN two items deep": (
        _sq(CONTENT, _sq(CONTENT, _el(0x00100010, b"UN", b"AA"))),
        "known-attribute-encoded-as-UN",
    ),
}


@pytest.mark.parametrize("case", sorted(DEEP_CASES))
def test_the_quick_level_test_never_skips_a_deep_ambiguity(case: str) -> None:
    """The quick test over whole levels may only say "nothing to find" when the full
    walks find nothing: deep duplicates, deep disorder and a known attribute as UN under
    a signed level are still found (the same findings as the full walks alone)."""
    body, kind = DEEP_CASES[case]
    parsed = _part10(body + SIGNATURES)
    assert not ambiguity._plainly_ordered(parsed, False)
    found = [a.kind.value for a in ambiguity.find_ambiguities(parsed)]
    assert found == [kind]


def test_padded_and_multi_valued_patient_ids_keep_a_genuine_medium_passed(
    tmp_path: Path, pki: TestPki
) -> None:
    """The DICOMDIR patient check compares values as the manifest decodes them: a foreign
    writer's NUL padding or a (non-conformant) second value is no mismatch."""
    from dicomseal.media.source import open_media
    from dicomseal.media.verify import verify_media
    from dicomseal.signature import TrustContext
    from dicomseal.verdict import Verdict

    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=2, rows=16, cols=16)
    for path, raw in zip(sorted(src.rglob("*.dcm")), (b"NUL1\x00", b"A\\B \x00"), strict=False):
        ds = pydicom.dcmread(path)
        ds["PatientID"].value = raw  # bytes as a foreign writer padded them
        ds.save_as(path)
    out = tmp_path / "medium"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), workers=1)
    create_medium([src], out, _credentials(pki, tmp_path), options)  # its read-back passes
    with open_media(out) as medium:
        result = verify_media(medium, TrustContext.load([pki.root.cert]))
    assert result.verdict is Verdict.PASSED, result.message
