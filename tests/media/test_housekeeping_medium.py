"""A medium that only met an operating system is not tampered (media.housekeeping)."""

from __future__ import annotations

import json
import shutil
import sys
from io import BytesIO
from pathlib import Path

import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))
from media_support import make_medium
from sigtest_support import run_cli_inprocess
from zip_bytes import Layout, build, entry, read_entries

from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict
from pki import TestPki

#: What macOS and Windows write onto a USB stick they were shown.
OS_FILES = {
    ".DS_Store": b"\x00\x00\x00\x01Bud1" + bytes(64),
    "._DICOMDIR": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ",
    "DICOM/._IM000000": b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ",
    ".Spotlight-V100/Store-V2/store.db": b"spotlight",
    ".fseventsd/fseventsd-uuid": b"uuid",
    "System Volume Information/IndexerVolumeGuid": "{guid}".encode("utf-16-le"),
    "$RECYCLE.BIN/desktop.ini": b"[.ShellClassInfo]",
    "desktop.ini": b"[.ShellClassInfo]",
}


@pytest.fixture()
def usb_stick(medium_copy: Path) -> Path:
    for rel, data in OS_FILES.items():
        path = medium_copy / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return medium_copy


def test_os_files_are_ignored_and_listed(usb_stick: Path, trust: TrustContext) -> None:
    with open_media(usb_stick) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.PASSED, result.message
    assert set(result.ignored) == set(OS_FILES)
    assert result.manifest.added == ()


def test_strict_counts_them_as_added(usb_stick: Path, trust: TrustContext) -> None:
    with open_media(usb_stick) as source:
        result = verify_media(source, trust, strict=True)
    assert result.verdict is Verdict.FAILED
    assert set(result.manifest.added) == set(OS_FILES)


def test_dicom_under_an_os_name_is_not_ignored(medium_copy: Path, trust: TrustContext) -> None:
    instance = next(p for p in sorted((medium_copy / "DICOM").rglob("*")) if p.is_file())
    shutil.copy(instance, medium_copy / ".DS_Store")  # a DICOM file hiding under an OS name
    with open_media(medium_copy) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.FAILED
    assert ".DS_Store" in result.manifest.added
    assert result.ignored == ()


@pytest.mark.parametrize("name", [".DS_Store", "DICOM/._IM000000", "__MACOSX/IM1"])
def test_a_headerless_data_set_under_an_os_name_is_not_ignored(
    medium_copy: Path, trust: TrustContext, tmp_path: Path, name: str
) -> None:
    """Without preamble and ``DICM`` a data set is still an instance to DCMTK (and the
    PACS and viewers built on it): a forged one must not pass as OS housekeeping."""
    instance = next(p for p in sorted((medium_copy / "DICOM").rglob("*")) if p.is_file())
    ds = pydicom.dcmread(instance)
    ds.PatientName = "FORGED^NAME"
    part10 = tmp_path / "forged.dcm"
    ds.save_as(part10, enforce_file_format=True)
    target = medium_copy / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(part10.read_bytes()[132:])  # file meta and data set, no preamble
    assert pydicom.dcmread(target, force=True).PatientName == "FORGED^NAME"
    with open_media(medium_copy) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.FAILED, result.message
    assert name in result.manifest.added
    assert result.ignored == ()


def test_a_headerless_data_set_behind_a_long_private_element_is_not_ignored(
    medium_copy: Path, trust: TrustContext
) -> None:
    import struct

    def element(group: int, elem: int, value: bytes) -> bytes:  # Implicit VR LE (PS3.5 §7.1.3)
        return struct.pack("<HHI", group, elem, len(value)) + value

    out = medium_copy / ".DS_Store"
    out.write_bytes(
        element(0x0009, 0x1000, bytes(2 << 20))  # first: 2 MiB, out of order
        + element(0x0008, 0x0018, b"1.2.3.4\0")
        + element(0x0010, 0x0010, b"FORGED^NAME ")
    )
    assert out.read_bytes()[128:132] != b"DICM"
    with open_media(medium_copy) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.FAILED, result.message


def test_cli_text_and_json(usb_stick: Path, pki: TestPki) -> None:
    pki_root = pki.root.cert
    run = run_cli_inprocess("media", "verify", usb_stick, "--trust", pki_root)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ignored: written by an operating system" in run.stdout
    doc = json.loads(
        run_cli_inprocess(
            "media", "verify", usb_stick, "--trust", pki_root, "--format", "json"
        ).stdout
    )
    assert doc["verdict"] == "PASSED"
    assert {i["path"] for i in doc["medium"]["ignored"]} == set(OS_FILES)
    strict = run_cli_inprocess("media", "verify", usb_stick, "--trust", pki_root, "--strict")
    assert strict.returncode == 1


def test_a_headerless_data_set_in_a_zip_under_macosx_is_not_ignored(
    sample_src: Path, creds: SigningCredentials, trust: TrustContext, tmp_path: Path
) -> None:
    """The same in a zip medium (its member streams cannot seek), under ``__MACOSX/``."""
    genuine = tmp_path / "cd.zip"
    make_medium([sample_src], genuine, creds, label="Zip CD")
    entries = list(read_entries(genuine))
    source = next(e for e in entries if e.local.name.startswith(b"DICOM/") and e.data)
    raw = tmp_path / "raw.dcm"
    ds = pydicom.dcmread(BytesIO(source.data))
    ds.PatientName = "FORGED^NAME"
    ds.save_as(raw, enforce_file_format=True)
    name = "__MACOSX/DICOM/._IM000000"
    forged = tmp_path / "forged.zip"
    forged.write_bytes(build(Layout([*entries, entry(name, raw.read_bytes()[132:])])))
    with open_media(forged) as medium:
        result = verify_media(medium, trust)
    assert result.verdict is Verdict.FAILED, result.message
    assert name in result.manifest.added


#: Files under an operating system's name whose bytes are not that system's format.
UNLIKE_THEIR_NAMES = {
    ".DS_Store": b"%PDF-1.7\n% a document, not a Finder store",
    "DICOM/._IM000000": b"Mac OS X but no AppleDouble header",
    "Thumbs.db": b"\x89PNG\r\n\x1a\n" + bytes(32),
    ".localized": b"not empty",
    "desktop.ini": b"[.ShellClassInfo]\r\n\x01\x02binary",
}


@pytest.mark.parametrize("name", sorted(UNLIKE_THEIR_NAMES))
def test_a_file_unlike_its_os_name_is_judged_as_a_file(
    medium_copy: Path, trust: TrustContext, name: str
) -> None:
    target = medium_copy / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(UNLIKE_THEIR_NAMES[name])
    with open_media(medium_copy) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.FAILED, result.message
    assert name in result.manifest.added
    assert name not in result.ignored


def test_genuine_thumbnail_caches_and_empty_files_are_ignored(
    medium_copy: Path, trust: TrustContext
) -> None:
    files = {
        "Thumbs.db": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
        ".localized": b"",
        "DICOM/._IM000001": b"",
        "desktop.ini": "\ufeff[.ShellClassInfo]\r\nIconResource=x.ico,0\r\n".encode("utf-16-le"),
    }
    for rel, data in files.items():
        (medium_copy / rel).parent.mkdir(parents=True, exist_ok=True)
        (medium_copy / rel).write_bytes(data)
    with open_media(medium_copy) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.PASSED, result.message
    assert set(result.ignored) == set(files)
