"""`media create` reads each instance once and writes it once, and may sign while it reads.

The signed bytes are made in memory from one read of the prepared instance and the
manifest digests are taken from those very bytes before they are written; this must give
exactly the file and the digests of the streamed path (sign file to file, then read the
signed file again), which stays for instances above the in-memory cap. With several
workers the instances are handed out while the sources are still being read; the medium
must be the one the read-everything-first path writes.
"""

from __future__ import annotations

import shutil
import stat
import uuid
from pathlib import Path

import pytest
from media_support import CREATED_AT, make_medium, pydicom_test_files

import dicomseal.media.fileset as fileset
import dicomseal.media.instance_signing as signing
from dicomseal.errors import UsageError
from dicomseal.media.create import CreateOptions
from dicomseal.media.digests import InstanceDigests, digest_instance
from dicomseal.signature import SigningCredentials


def _sign(src: Path, dst: Path, creds: SigningCredentials) -> InstanceDigests:
    options = CreateOptions(created_at=CREATED_AT)
    return signing._sign_and_digest(src, src, dst, creds, options)


def _inputs(sample_src: Path) -> list[Path]:
    files = sorted(sample_src.glob("**/*.dcm"))
    return [*files, pydicom_test_files() / "CT_small.dcm"]


def test_signed_in_memory_equals_streamed(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=0x1234567890ABCDEF))
    inputs = _inputs(sample_src)
    assert len(inputs) >= 5
    for n, src in enumerate(inputs):
        memory, streamed = tmp_path / f"m{n}", tmp_path / f"s{n}"
        from_memory = _sign(src, memory, creds)
        with monkeypatch.context() as m:
            m.setattr(signing, "ONE_READ_MAX", 0)  # as an instance above the cap
            from_disk = _sign(src, streamed, creds)
        assert memory.read_bytes() == streamed.read_bytes(), src.name
        assert from_memory == from_disk, src.name
        assert from_memory == digest_instance(str(memory)), src.name  # the bytes written
        assert stat.S_IMODE(memory.stat().st_mode) == stat.S_IMODE(streamed.stat().st_mode)


def test_digests_come_from_the_bytes_in_memory(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_second_read(*_args: object, **_kwargs: object) -> object:
        raise AssertionError("the signed file was read again")

    monkeypatch.setattr(signing, "digest_instance", no_second_read)
    src = _inputs(sample_src)[0]
    digests = _sign(src, tmp_path / "signed", creds)
    assert digests.size == (tmp_path / "signed").stat().st_size


def _sources(tmp_path: Path, sample_src: Path) -> Path:
    """The sample studies plus inputs that are left out: a second copy, a big endian
    instance (refused on STD-GEN-CD), a text file."""
    src = tmp_path / "src"
    shutil.copytree(sample_src, src)
    first = sorted(src.glob("**/*.dcm"))[0]
    shutil.copyfile(first, src / "zz-copy.dcm")
    shutil.copyfile(pydicom_test_files() / "MR_small_bigendian.dcm", src / "big.dcm")
    (src / "notes.txt").write_text("not DICOM\n")
    return src


def test_signing_while_reading_writes_the_same_medium(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fileset, "generate_uid", lambda: "1.2.826.0.1.3680043.10.999.1")
    src = _sources(tmp_path, sample_src)
    one = make_medium([src], tmp_path / "one", creds, workers=1)
    two = make_medium([src], tmp_path / "two", creds, workers=2)
    assert one.instances == two.instances >= 8  # enough to hand out to workers
    assert [(s.path, s.reason, s.instance) for s in one.skipped] == [
        (s.path, s.reason, s.instance) for s in two.skipped
    ]
    assert any("big.dcm" in s.path for s in two.skipped)
    assert (one.patients, one.studies, one.files) == (two.patients, two.studies, two.files)
    for name in ("DICOMDIR", "README.TXT", "INDEX.HTM"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    listing = [
        sorted(p.relative_to(m).as_posix() for p in m.rglob("*"))
        for m in (
            tmp_path / "one",
            tmp_path / "two",
        )
    ]
    assert listing[0] == listing[1]


def test_a_missing_source_found_while_signing_leaves_nothing(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials
) -> None:
    out = tmp_path / "medium"
    with pytest.raises(UsageError, match="no such file or folder"):
        make_medium([sample_src, tmp_path / "missing"], out, creds, workers=2)
    assert not out.exists()
