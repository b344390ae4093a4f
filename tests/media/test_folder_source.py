"""A folder medium opens its files without following a link, wherever the link is.

Files are opened one folder at a time, each folder kept open while its files are read
(:mod:`dicomseal.media.folder_source`). These tests check each way a path can fail, and
that a folder swapped for a symbolic link (or for another folder) after files in it were
read is seen at the next open, as when every component was looked up by name.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from dicomseal.errors import MediaError
from dicomseal.media.source import FolderSource, MediaSource, UnsafePathError


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    """A medium with ``A/B/one``, ``A/B/two`` and ``README``; a folder outside it."""
    medium = tmp_path / "medium"
    (medium / "A" / "B").mkdir(parents=True)
    (medium / "A" / "B" / "one").write_bytes(b"one")
    (medium / "A" / "B" / "two").write_bytes(b"two")
    (medium / "README").write_bytes(b"readme")
    outside = tmp_path / "outside"
    (outside / "B").mkdir(parents=True)
    (outside / "B" / "one").write_bytes(b"SECRET")
    (outside / "B" / "two").write_bytes(b"SECRET")
    return medium, outside


def _read(source: MediaSource, path: str) -> bytes:
    with source.open(path) as fh:
        return fh.read()


def test_files_read_and_every_bad_path_refused(tmp_path: Path) -> None:
    medium, outside = _tree(tmp_path)
    os.symlink(outside, medium / "L")
    os.symlink(medium / "README", medium / "A" / "link")
    os.mkfifo(medium / "A" / "fifo")
    with FolderSource(medium) as source:
        assert _read(source, "A/B/one") == b"one"
        assert _read(source, "A\\B\\two") == b"two"  # a DICOMDIR-style File ID
        assert _read(source, "README") == b"readme"
        for bad in ("L/B/one", "A/link"):
            with pytest.raises(UnsafePathError, match="never followed") as info:
                source.open(bad)
            assert info.value.path == bad
        for bad in ("../outside/B/one", "/etc/passwd", "A/../../outside/B/one"):
            with pytest.raises(UnsafePathError, match="leaves the medium"):
                source.open(bad)
        with pytest.raises(MediaError, match="no such file on the medium"):
            source.open("A/B/three")
        with pytest.raises(MediaError, match="no such file on the medium"):
            source.open("A/C/one")
        with pytest.raises(MediaError, match="cannot open: Not a directory"):
            source.open("README/one")
        with pytest.raises(MediaError, match="cannot open: Not a directory"):
            source.open("A/fifo/one")  # never opened as a FIFO (would block)
        with pytest.raises(MediaError, match="not a regular file"):
            source.open("A/B")
        assert _read(source, "A/B/two") == b"two"  # still reads after every refusal


def test_folder_swapped_for_a_link_after_reading_is_refused(tmp_path: Path) -> None:
    medium, outside = _tree(tmp_path)
    with FolderSource(medium) as source:
        assert _read(source, "A/B/one") == b"one"  # A and A/B now kept open
        os.rename(medium / "A" / "B", medium / "A" / "B.old")
        os.symlink(outside / "B", medium / "A" / "B")
        with pytest.raises(UnsafePathError, match="never followed"):
            source.open("A/B/two")
        os.rename(medium / "A", medium / "A.old")
        os.symlink(outside, medium / "A")
        with pytest.raises(UnsafePathError, match="never followed"):
            source.open("A/B/two")


def test_folder_swapped_for_another_folder_is_opened_again(tmp_path: Path) -> None:
    medium, _outside = _tree(tmp_path)
    with FolderSource(medium) as source:
        assert _read(source, "A/B/one") == b"one"
        os.rename(medium / "A" / "B", medium / "A" / "B.old")
        (medium / "A" / "B").mkdir()
        (medium / "A" / "B" / "two").write_bytes(b"new two")
        assert _read(source, "A/B/two") == b"new two"  # what the name shows now
        with pytest.raises(MediaError, match="no such file on the medium"):
            source.open("A/B/one")


def test_folders_kept_are_released_and_reopened(tmp_path: Path) -> None:
    medium, _outside = _tree(tmp_path)
    before = len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else None
    source = FolderSource(medium)
    assert _read(source, "A/B/one") == b"one"
    source.close()
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before
    assert _read(source, "A/B/two") == b"two"  # usable again after close
    source.close()


def test_deep_paths_open_beyond_the_folders_kept(tmp_path: Path) -> None:
    medium = tmp_path / "medium"
    parts = [f"D{i}" for i in range(40)]
    deep = medium.joinpath(*parts)
    deep.mkdir(parents=True)
    (deep / "f").write_bytes(b"deep")
    os.symlink(tmp_path, deep / "up")
    with FolderSource(medium) as source:
        assert _read(source, "/".join([*parts, "f"])) == b"deep"
        assert _read(source, "/".join([*parts, "f"])) == b"deep"
        with pytest.raises(UnsafePathError):
            source.open("/".join([*parts, "up", "medium", *parts, "f"]))


@pytest.mark.parametrize("depth", ["top", "kept folder"])
def test_a_fifo_put_in_a_listed_file_place_is_refused_without_blocking(
    tmp_path: Path, depth: str
) -> None:
    """A FIFO swapped in after the listing: opened read-only it would wait for a writer
    forever (POSIX ``open``); it is refused as not a regular file, at once."""
    medium, _outside = _tree(tmp_path)
    source = FolderSource(medium)
    source.entries()
    path = "README" if depth == "top" else "A/B/two"
    assert _read(source, "A/B/one") == b"one"  # A and B kept open
    target = medium / path
    target.unlink()
    os.mkfifo(target)
    pid = os.fork()
    if pid == 0:  # the child tries the open; a hang is seen by the parent
        try:
            _read(source, path)
        except MediaError as exc:
            os._exit(0 if "not a regular file" in exc.message else 2)
        os._exit(3)
    for _ in range(100):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("opening a FIFO blocked")
    assert os.waitstatus_to_exitcode(status) == 0
