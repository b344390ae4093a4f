"""Red-team case (thirteenth round): an ext2 file system in the ISO 9660 system area.

The 32 KiB before the volume descriptors (ECMA-119 §6.2.1) hold no ISO 9660 data, and
ext2's superblock lives at byte 1024. A tiny ext2 (64 1-KiB blocks, every used block in
the first 32) copied there makes libblkid (udev, udisks, mount(8)) identify the whole
signed image as TYPE="ext2": ``mount -o loop,ro IMAGE DIR`` and a desktop's automounter
show the ext2 tree, a forged DICOM/PT000000/ST000000/SE000000/IM000000, while dicomseal
reads the ISO 9660 trees and said PASSED. media/iso_volume._system_area only knew MBR,
GPT, APM and HFS signatures.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest
from media_support import make_medium

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.signature import TrustContext
from dicomseal.verdict import Verdict

MKE2FS = shutil.which("mke2fs") or shutil.which("/usr/sbin/mke2fs")
DEBUGFS = shutil.which("debugfs") or shutil.which("/usr/sbin/debugfs")


@pytest.mark.skipif(not (MKE2FS and DEBUGFS), reason="needs e2fsprogs")
def test_an_ext2_in_the_system_area_is_not_passed(
    sample_src: Path, creds: object, trust: TrustContext, tmp_path: Path
) -> None:
    sample_iso = tmp_path / "cd.iso"
    make_medium([sample_src], sample_iso, creds)
    with open_media(sample_iso) as source:
        assert verify_media(source, trust).verdict is Verdict.PASSED
    instance = tmp_path / "forged.dcm"
    with open_media(sample_iso) as source:
        path = next(e.path for e in source.entries() if e.path.startswith("DICOM/"))
        with source.open(path) as fh:
            ds = pydicom.dcmread(io.BytesIO(fh.read()))
    ds.PatientName = "FORGED^NAME"
    ds.save_as(instance, enforce_file_format=True)
    ext2 = tmp_path / "e2.img"
    ext2.write_bytes(bytes(64 * 1024))
    subprocess.run(
        [
            MKE2FS,
            "-q",
            "-t",
            "ext2",
            "-b",
            "1024",
            "-N",
            "16",
            "-m",
            "0",
            "-O",
            "^resize_inode,^dir_index,^ext_attr",
            "-F",
            str(ext2),
        ],
        check=True,
    )
    for cmd in ("rmdir lost+found", f"write {instance} IM000000"):
        subprocess.run([DEBUGFS, "-w", "-R", cmd, str(ext2)], check=True, capture_output=True)
    forged = tmp_path / "forged.iso"
    data = bytearray(sample_iso.read_bytes())
    assert not any(data[: 32 * 1024])  # the genuine image's system area is empty
    data[: 32 * 1024] = ext2.read_bytes()[: 32 * 1024]
    forged.write_bytes(bytes(data))
    blkid = shutil.which("blkid") or shutil.which("/usr/sbin/blkid")
    if blkid:
        out = subprocess.run([blkid, "-p", str(forged)], capture_output=True, text=True).stdout
        assert 'TYPE="ext2"' in out  # what udev and mount(8) go by
    with open_media(forged) as source:
        result = verify_media(source, trust)
    assert result.verdict is Verdict.FAILED, result.message
