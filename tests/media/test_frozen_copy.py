"""How the private snapshot is copied: by the kernel where it can, hashed from the copy.

A :class:`~dicomseal.media.frozen.FrozenMedium` copies a plain file with
``copy_file_range`` (else ``sendfile``, else chunk by chunk), never hashes while copying,
and takes a copy's SHA-256 from the copy when asked: whatever path the bytes took, the
copy is byte for byte what the medium gave once, and every digest is about the copy.
"""

from __future__ import annotations

import errno
import hashlib
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from dicomseal.errors import MediaError
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import open_media


def _payload(n: int, seed: int) -> bytes:
    return bytes(hashlib.sha256(f"{seed}:{i}".encode()).digest()[0] for i in range(n))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "medium"
    (root / "DIR").mkdir(parents=True)
    (root / "DIR" / "BIG").write_bytes(b"\0" * 128 + b"DICM" + _payload(300_000, 1))
    (root / "SMALL").write_bytes(b"tiny")
    (root / "EMPTY").write_bytes(b"")
    return root


def _failing(exc_errno: int) -> Callable[..., int]:
    def call(*_args: object) -> int:
        raise OSError(exc_errno, os.strerror(exc_errno))

    return call


def _counting(real: Callable[..., int], calls: list[int]) -> Callable[..., int]:
    def call(*args: int) -> int:
        calls.append(1)
        return real(*args)

    return call


def _check_copies(source: FrozenMedium, root: Path) -> None:
    for path in ("DIR/BIG", "SMALL", "EMPTY"):
        original = (root / path).read_bytes()
        with source.open(path) as fh:
            assert fh.read() == original
        copied = source.copied(path)
        assert copied is not None
        assert copied.size == len(original)
        assert copied.head == original[:132]
        assert copied.sha256 == hashlib.sha256(original).hexdigest()
        assert os.stat(copied.local).st_mode & 0o777 == 0o400


def test_plain_file_is_copied_by_the_kernel(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(os, "copy_file_range", _counting(os.copy_file_range, calls))
    with open_media(folder) as raw, freeze(raw) as source:
        _check_copies(source, folder)
    assert calls, "copy_file_range was not used for a plain file"


@pytest.mark.parametrize("no_cfr", [errno.EXDEV, errno.ENOSYS, errno.EINVAL])
def test_sendfile_when_copy_file_range_cannot(
    folder: Path, monkeypatch: pytest.MonkeyPatch, no_cfr: int
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(os, "copy_file_range", _failing(no_cfr))
    monkeypatch.setattr(os, "sendfile", _counting(os.sendfile, calls))
    with open_media(folder) as raw, freeze(raw) as source:
        _check_copies(source, folder)
    assert calls, "sendfile was not used"


def test_chunks_when_no_kernel_copy_works(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "copy_file_range", _failing(errno.EXDEV))
    monkeypatch.setattr(os, "sendfile", _failing(errno.EINVAL))
    with open_media(folder) as raw, freeze(raw) as source:
        _check_copies(source, folder)


def test_read_error_during_a_kernel_copy_is_a_read_error(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "copy_file_range", _failing(errno.EIO))
    with open_media(folder) as raw, freeze(raw) as source:
        with pytest.raises(MediaError, match="cannot copy"):
            source.open("DIR/BIG")
        with pytest.raises(MediaError, match="cannot copy"):  # the same answer every time
            source.open("DIR/BIG")
        assert not any(source.folder.iterdir())


def test_kernel_copy_keeps_the_disk_budget(folder: Path) -> None:
    with open_media(folder) as raw, FrozenMedium(raw, max_bytes=1000) as source:
        with source.open("SMALL") as fh:
            assert fh.read() == b"tiny"
        with pytest.raises(MediaError, match="disk budget"):
            source.open("DIR/BIG")
        assert [p.name for p in source.folder.iterdir()] == [source.copied("SMALL").local.name]  # type: ignore[union-attr]


def test_member_of_an_archive_is_copied_in_chunks(folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "medium.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in ("DIR/BIG", "SMALL", "EMPTY"):
            zf.writestr(path, (folder / path).read_bytes())
    with open_media(archive) as raw, freeze(raw) as source:
        _check_copies(source, folder)


def test_nothing_is_hashed_while_copying(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = hashlib.sha256

    def counting_sha256(*args: bytes) -> hashlib._Hash:
        made.append(1)
        return real(*args)

    monkeypatch.setattr(hashlib, "sha256", counting_sha256)
    with open_media(folder) as raw, freeze(raw) as source:
        copied = source.capture("DIR/BIG")
        assert made == []  # the verification hashes the copy as it reads it
        original = (folder / "DIR" / "BIG").read_bytes()
        (folder / "DIR" / "BIG").write_bytes(b"rewritten after the copy")
        assert copied.sha256 == real(original).hexdigest()  # the copy's, not the medium's
        assert copied.sha256 == real(original).hexdigest()
    assert made == [1]  # taken once, when first asked for
