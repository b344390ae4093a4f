"""`media create` digests each signed instance from the bytes as it writes them.

The manifest's digests of an instance (whole file, every top-level attribute, every
frame) are taken while the signed file is written, not by reading it back: they must be
exactly the digests :func:`~dicomseal.media.digests.digest_instance` takes of the file on
disk (what `media verify` compares them with), for every kind of input, and the signing
workers must write the same medium however the work is split between processes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import shutil
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from media_support import instance_paths, make_medium, pydicom_test_files

import dicomseal.media.fileset as fileset
import dicomseal.media.instance_signing as signing
import dicomseal.workers as workers
from dicomseal.errors import MalformedDicomError
from dicomseal.media import emit_digests
from dicomseal.media.digests import InstanceDigests, digest_instance
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature import SigningCredentials, sign_file

WHEN = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _inputs(tmp_path: Path) -> list[Path]:
    """Native single- and multi-frame, frames that do not divide the value, no pixels,
    implicit VR (converted), encapsulated, and an instance signed before."""
    out: list[Path] = []
    for name, frames, rows in (("mf4", 4, 8), ("one", 1, 16), ("odd", 3, 5)):
        ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=rows, cols=rows, frames=frames)
        if name == "odd":  # the last frame takes the rest: a value that is not 3 frames
            ds.PixelData = bytes(ds.PixelData) + b"\x01\x02"
        out.append(tmp_path / f"{name}.dcm")
        ds.save_as(out[-1], enforce_file_format=True)
    nopix = make_instance(SAMPLE_PATIENTS[1], 0, 1, 1, rows=4, cols=4)
    del nopix.PixelData
    out.append(tmp_path / "nopix.dcm")
    nopix.save_as(out[-1], enforce_file_format=True)
    for name in ("CT_small.dcm", "MR_small_implicit.dcm", "SC_rgb_rle_2frame.dcm"):
        out.append(tmp_path / name)
        shutil.copyfile(pydicom_test_files() / name, out[-1])
    return out


def _sign(src: Path, dst: Path, creds: SigningCredentials) -> list[InstanceDigests]:
    written: list[InstanceDigests] = []
    write = functools.partial(signing._write_signed, digested=written)
    sign_file(src, dst, creds, signed_at=WHEN, write=write)
    return written


def test_digests_taken_while_writing_are_those_of_the_written_file(
    tmp_path: Path, creds: SigningCredentials
) -> None:
    fused = 0
    for src in _inputs(tmp_path):
        dst = tmp_path / f"signed-{src.name}"
        written = _sign(src, dst, creds)
        if src.name == "SC_rgb_rle_2frame.dcm":
            assert written == []  # encapsulated: digested from the file instead
            continue
        assert len(written) == 1, src.name
        fused += 1
        assert written[0] == digest_instance(str(dst)), src.name
        assert written[0].sha256 == hashlib.sha256(dst.read_bytes()).hexdigest()
        if src.name.startswith("mf4"):
            assert len(written[0].frames) == 4
    assert fused == 6


def test_the_writer_writes_what_emit_part10_writes(
    tmp_path: Path, creds: SigningCredentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uuid

    src = _inputs(tmp_path)[0]
    monkeypatch.setattr(uuid, "uuid4", lambda: uuid.UUID(int=42))
    sign_file(src, tmp_path / "plain.dcm", creds, signed_at=WHEN)
    assert _sign(src, tmp_path / "fused.dcm", creds)
    fused, plain = tmp_path / "fused.dcm", tmp_path / "plain.dcm"
    assert fused.read_bytes() == plain.read_bytes()
    assert stat.S_IMODE(fused.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_a_pixel_value_other_than_declared_is_refused() -> None:
    frames = emit_digests._Frames(10, 4)  # frames of 4 and 6 bytes (the last takes the rest)
    frames(b"x" * 9)
    with pytest.raises(MalformedDicomError, match="shorter"):
        frames.digests()
    with pytest.raises(MalformedDicomError, match="longer"):
        frames(b"yy")


class _Recording(ProcessPoolExecutor):
    made: list[int] = []  # noqa: RUF012 - the test's own record

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        _Recording.made.append(int(kwargs["max_workers"]))
        super().__init__(*args, **kwargs)


def test_two_signing_processes_write_the_medium_one_writes(
    tmp_path: Path,
    sample_src: Path,
    creds: SigningCredentials,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(fileset, "generate_uid", lambda: "1.2.826.0.1.3680043.10.999.2")
    monkeypatch.setattr(workers, "_cores", lambda: 2)
    monkeypatch.setenv(workers.WORKERS_ENV, "2")  # two processes, however busy the machine
    monkeypatch.setattr(signing, "ProcessPoolExecutor", _Recording)
    monkeypatch.setattr(signing, "CHUNK", 3)  # several chunks, one left short
    _Recording.made.clear()
    one = make_medium([sample_src], tmp_path / "one", creds, workers=1)
    assert _Recording.made == []
    two = make_medium([sample_src], tmp_path / "two", creds, workers=2)
    assert _Recording.made == [2]
    assert one.instances == two.instances >= 8
    assert [dataclasses.astuple(s) for s in one.skipped] == [
        dataclasses.astuple(s) for s in two.skipped
    ]
    for name in ("DICOMDIR", "README.TXT", "INDEX.HTM"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    a, b = instance_paths(tmp_path / "one"), instance_paths(tmp_path / "two")
    assert [p.relative_to(tmp_path / "one") for p in a] == [
        p.relative_to(tmp_path / "two") for p in b
    ]


def test_one_signing_process_when_no_core_is_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    # the decision of every pool (dicomseal.workers.worker_count), with its readings injected
    monkeypatch.delenv(workers.WORKERS_ENV, raising=False)
    monkeypatch.setattr(workers, "_cores", lambda: 2)
    monkeypatch.setattr(workers, "_recent_load", lambda: 1.0)  # a script's own last command
    monkeypatch.setattr(workers, "other_load", lambda: 0.0)
    assert signing._processes(2, signing._POOL_MIN) == 2
    assert signing._processes(1, signing._POOL_MIN) == 1
    assert signing._processes(2, signing._POOL_MIN - 1) == 1
    monkeypatch.setattr(workers, "other_load", lambda: 1.0)  # the other core is busy now
    assert signing._processes(2, signing._POOL_MIN) == 1
    monkeypatch.setenv(workers.WORKERS_ENV, "2")
    assert signing._processes(2, signing._POOL_MIN) == 2
