"""Rule family: file meta vs dataset."""

from __future__ import annotations

import struct
from pathlib import Path

import pydicom
from forensics_support import MakeMedium, codes, first_instance, inspect

from dicomseal.forensics import Severity


def test_clean_meta_agrees(clean_medium: Path) -> None:
    assert not {c for c in codes(inspect(clean_medium)) if c.startswith("meta-")}


def test_meta_sop_instance_uid_differs(medium_copy: MakeMedium) -> None:
    medium = medium_copy("meta-sop-instance-uid-differs")
    target = first_instance(medium)
    ds = pydicom.dcmread(target)
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID + ".9"
    ds.save_as(target)
    hits = [f for f in inspect(medium).findings if f.code == "meta-sop-instance-mismatch"]
    # MEDIUM: common in clean anonymised files (e.g. pydicom's chrJapMulti.dcm)
    assert len(hits) == 1 and hits[0].severity is Severity.MEDIUM


def test_meta_group_length_wrong(medium_copy: MakeMedium) -> None:
    medium = medium_copy("meta-group-length-wrong")
    target = first_instance(medium)
    data = bytearray(target.read_bytes())
    assert data[132:136] == b"\x02\x00\x00\x00"  # (0002,0000) UL first
    (declared,) = struct.unpack_from("<I", data, 140)
    struct.pack_into("<I", data, 140, declared + 2)
    target.write_bytes(bytes(data))
    hits = [f for f in inspect(medium).findings if f.code == "meta-group-length-wrong"]
    assert len(hits) == 1 and hits[0].severity is Severity.MEDIUM
    assert hits[0].evidence["declared"] == declared + 2


def test_meta_transfer_syntax_contradicts_encoding(medium_copy: MakeMedium) -> None:
    medium = medium_copy("transfer-syntax-declared-implicit-but-explicit")
    target = first_instance(medium)
    data = target.read_bytes()
    explicit = b"1.2.840.10008.1.2.1\x00"
    assert explicit in data
    target.write_bytes(data.replace(explicit, b"1.2.840.10008.1.2\x00\x00\x00", 1))
    hits = [f for f in inspect(medium).findings if f.code == "meta-transfer-syntax-mismatch"]
    assert [h.severity for h in hits] == [Severity.HIGH]
    assert hits[0].evidence["explicit_vr_found"] is True
