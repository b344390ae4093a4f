"""``verify FOLDER`` lists every entry below the folder in name order, never following a link.

The listing (``dicomseal.cli.verify._entries``) takes each entry's type from the folder
listing itself (``os.scandir``); it must list what ``os.walk(followlinks=False)`` lists,
in the same order: each folder's files, links (to files or folders, dangling too) and
special files in name order, then its subfolders, top-down.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dicomseal.cli.verify import _entries, iter_files


def _walk_reference(root: Path) -> list[tuple[Path, bool]]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        links = [n for n in dirnames if os.path.islink(os.path.join(dirpath, n))]
        for name in sorted(filenames + links):
            p = Path(dirpath) / name
            out.append((p, p.is_file() and not p.is_symlink()))
    return out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX links and FIFOs")
def test_listing_is_os_walks_without_following(tmp_path: Path) -> None:
    for sub in ["a", "b/c", "b/d", "B", "z/y/x"]:
        (tmp_path / sub).mkdir(parents=True)
    for name in ["1", "a/2", "b/3", "b/c/4", "B/5", "z/y/x/6", "z/7", "_"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "linkdir").symlink_to(tmp_path / "b", target_is_directory=True)
    (tmp_path / "a" / "linkfile").symlink_to(tmp_path / "1")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "b" / "c" / "up").symlink_to(tmp_path / "z", target_is_directory=True)
    os.mkfifo(tmp_path / "b" / "fifo")
    listed = list(_entries(tmp_path))
    assert listed == _walk_reference(tmp_path)
    regular = [p.relative_to(tmp_path).as_posix() for p in iter_files(tmp_path)]
    assert regular == ["1", "_", "B/5", "a/2", "b/3", "b/c/4", "z/7", "z/y/x/6"]
    not_followed = {p.name for p, is_regular in listed if not is_regular}
    assert not_followed == {"linkdir", "linkfile", "dangling", "up", "fifo"}


def test_a_file_or_a_missing_path_lists_nothing(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    assert list(_entries(tmp_path / "f")) == []
    assert list(_entries(tmp_path / "missing")) == []
