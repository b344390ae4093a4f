"""One rule decides which files are instances, DICOMDIRs or neither, for every command.

``media verify`` (the inventory), ``inspect``/``tamper`` (the forensic snapshot) and
``media create`` (its source files) all call :func:`dicomseal.media.inventory.classify_file`.
The inputs are built from a genuine medium written by ``media create``: its DICOMDIR copied
into a sub-folder, an instance re-labelled as a directory, the JSON read back.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pydicom
import pytest
from media_support import instance_paths, rel

from dicomseal.forensics.snapshot import take_snapshot
from dicomseal.media.inputs import collect_sources
from dicomseal.media.inventory import MEDIA_STORAGE_DIRECTORY, EntryClass, classify_file
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.report.media import media_document
from dicomseal.signature import TrustContext
from dicomseal.verdict import Verdict


@pytest.mark.parametrize(
    ("path", "part10", "directory", "expected"),
    [
        ("DICOMDIR", True, None, EntryClass.DICOMDIR),
        ("SUB/dicomdir", True, None, EntryClass.DICOMDIR),
        ("SUB/IM1", True, None, EntryClass.INSTANCE),
        ("SUB/DICOMDIR", True, True, EntryClass.DICOMDIR),
        ("SUB/DIRCOPY", True, True, EntryClass.OTHER),  # a copy: neither directory nor instance
        ("SUB/DICOMDIR", True, False, EntryClass.INSTANCE),  # the parsed content decides
        ("SUB/DICOMDIR", False, None, EntryClass.OTHER),
        ("README.TXT", False, False, EntryClass.OTHER),
    ],
)
def test_classify_file(
    path: str, part10: bool, directory: bool | None, expected: EntryClass
) -> None:
    assert classify_file(path, part10=part10, directory=directory) is expected


def test_nested_dicomdir_is_a_directory_covered_only_by_the_manifest(
    medium_copy: Path, trust: TrustContext
) -> None:
    nested = medium_copy / "DICOM" / "DICOMDIR"
    shutil.copyfile(medium_copy / "DICOMDIR", nested)
    with open_media(medium_copy) as source:
        r = verify_media(source, trust, workers=1)
    assert r.inventory.paths(EntryClass.DICOMDIR) == ("DICOM/DICOMDIR", "DICOMDIR")
    assert "DICOM/DICOMDIR" not in r.instances  # not an instance of the medium
    assert "DICOM/DICOMDIR" not in {f.path for f in r.files}
    assert r.manifest.added == ("DICOM/DICOMDIR",)  # fail closed: not in the manifest
    assert r.verdict is Verdict.FAILED
    with open_media(medium_copy) as source:
        snap = take_snapshot(source)
    assert sorted(d.path for d in snap.dicomdirs) == ["DICOM/DICOMDIR", "DICOMDIR"]
    assert snap.instance("DICOM/DICOMDIR") is None


def test_directory_sop_class_in_the_data_set_is_a_directory_for_inspect(
    medium_copy: Path, tmp_path: Path
) -> None:
    """File Meta says CT, the data set says Media Storage Directory: not an instance.

    ``inspect`` used to look at the File Meta only and ``media create`` at both; the
    inventory keeps the union (any reader that sees a directory makes it one).
    """
    src = instance_paths(medium_copy)[0]
    ds = pydicom.dcmread(src)
    ds.SOPClassUID = MEDIA_STORAGE_DIRECTORY
    assert ds.file_meta.MediaStorageSOPClassUID != MEDIA_STORAGE_DIRECTORY
    target = src.parent / "DICOMDIR"
    ds.save_as(target)  # File Meta kept as read (still the CT class)
    assert pydicom.dcmread(target).file_meta.MediaStorageSOPClassUID != MEDIA_STORAGE_DIRECTORY
    with open_media(medium_copy) as source:
        snap = take_snapshot(source)
    name = rel(medium_copy, target)
    assert snap.instance(name) is None
    assert name in {d.path for d in snap.dicomdirs}
    copy = tmp_path / "src"
    copy.mkdir()
    shutil.copyfile(target, copy / "IM_AS_DIR")
    shutil.copyfile(instance_paths(medium_copy)[1], copy / "IM1")
    found, skipped = collect_sources([copy])
    assert [s.path.name for s in found] == ["IM1"]
    assert [Path(s.path).name for s in skipped] == ["IM_AS_DIR"]


def test_json_lists_every_instance_verdict(medium_copy: Path, trust: TrustContext) -> None:
    victim = instance_paths(medium_copy)[0]
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF  # one pixel byte: the instance's own signature and the hash break
    victim.write_bytes(bytes(data))
    with open_media(medium_copy) as source:
        r = verify_media(source, trust, workers=1)
    doc = json.loads(json.dumps(media_document(r)))
    listed = {i["path"]: i for i in doc["medium"]["instances"]}
    assert set(listed) == {rel(medium_copy, p) for p in instance_paths(medium_copy)}
    bad = listed[rel(medium_copy, victim)]
    assert bad["verdict"] == "FAILED"
    assert bad["changed"] is True
    assert bad["reason"] == r.instances[bad["path"]].reason.value
    good = [i for p, i in listed.items() if p != bad["path"]]
    assert good and all(i["verdict"] == "PASSED" and not i["changed"] for i in good)
    assert all(i["signatures"] for i in good)


def test_verify_and_inspect_agree_on_instances_and_directories(
    medium_copy: Path, trust: TrustContext
) -> None:
    """The one question "instance or DICOMDIR?" gets the same answer from both commands."""
    (medium_copy / "DICOM" / "dicomdir").write_bytes((medium_copy / "DICOMDIR").read_bytes())
    (medium_copy / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(100))
    (medium_copy / "README.TXT").write_text("no DICOM here")
    with open_media(medium_copy) as source:
        inv = verify_media(source, trust, workers=1).inventory
    with open_media(medium_copy) as source:
        snap = take_snapshot(source)
    assert set(inv.paths(EntryClass.INSTANCE)) == {i.path for i in snap.instances}
    assert set(inv.paths(EntryClass.DICOMDIR)) == {d.path for d in snap.dicomdirs}
    assert set(inv.paths(EntryClass.DICOMDIR)) == {"DICOMDIR", "DICOM/dicomdir"}


def test_media_create_names_os_files_among_its_sources(medium_copy: Path, tmp_path: Path) -> None:
    """``._IM1`` (AppleDouble), ``.DS_Store`` and ``__MACOSX/`` say what they are when skipped."""
    copy = tmp_path / "src"
    (copy / "__MACOSX").mkdir(parents=True)
    shutil.copyfile(instance_paths(medium_copy)[0], copy / "IM1")
    (copy / "._IM1").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + bytes(64))
    (copy / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(100))
    (copy / "__MACOSX" / "._IM1").write_bytes(b"\x00\x05\x16\x07" + bytes(64))
    (copy / "NOTES.TXT").write_text("not DICOM, not written by an operating system")
    found, skipped = collect_sources([copy])
    assert [s.path.name for s in found] == ["IM1"]
    why = {Path(s.path).relative_to(copy).as_posix(): s.reason for s in skipped}
    assert set(why) == {"._IM1", ".DS_Store", "__MACOSX/._IM1", "NOTES.TXT"}
    os_files = {p for p, r in why.items() if r.startswith("written by an operating system")}
    assert os_files == {"._IM1", ".DS_Store", "__MACOSX/._IM1"}
