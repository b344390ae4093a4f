"""`media verify` reads each file with one read of its listed size (plus one byte).

The listing gave each file's size: a file is read with one call for one byte more, never
in chunks and never to the end again after a short answer. A file that grew or shrank
since it was listed is still hashed whole, so its change is reported as before.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path
from typing import BinaryIO

from media_support import instance_paths, make_medium, rel

from dicomseal.media.entry_check import check_entry
from dicomseal.media.source import FolderSource
from dicomseal.media.verify import verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict


class _Recording(io.BufferedReader):
    def __init__(self, raw: io.RawIOBase, calls: list[int | None]) -> None:
        super().__init__(raw)
        self.calls = calls

    def read(self, size: int | None = -1, /) -> bytes:
        self.calls.append(size)
        return super().read(size)


class _Counting(FolderSource):
    """Records the size of every ``read`` call on each file opened."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: dict[str, list[int | None]] = {}

    def open(self, path: str) -> BinaryIO:
        raw = super().open(path).detach()  # type: ignore[attr-defined]
        return _Recording(raw, self.reads.setdefault(path, []))


def test_each_file_is_read_with_one_sized_read(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    medium = tmp_path / "medium"
    make_medium([sample_src], medium, creds, label="Sized reads")
    source = _Counting(medium)
    with source:
        result = verify_media(source, trust, workers=1)
    reads = dict(source.reads)
    assert result.verdict is Verdict.PASSED, result.message
    instances = [rel(medium, p) for p in instance_paths(medium)]
    assert instances
    for path in instances:
        size = (medium / path).stat().st_size
        assert reads[path] == [size + 1], path


def test_a_file_that_grew_or_shrank_since_listing_is_hashed_whole(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    medium = tmp_path / "medium"
    make_medium([sample_src], medium, creds, label="Sized reads")
    first, second = instance_paths(medium)[:2]
    with FolderSource(medium) as source:
        listed = {e.path: e for e in source.entries()}
        grown = first.read_bytes() + b"\0" * (3 << 20)  # past one read of its old size
        first.write_bytes(grown)
        shrunk = second.read_bytes()[:1000]
        second.write_bytes(shrunk)
        at = dt.datetime.now(dt.UTC)
        for path, now in ((first, grown), (second, shrunk)):
            entry = listed[rel(medium, path)]
            assert entry.size != len(now)
            r = check_entry(source, entry, None, trust, at)
            assert (r.size, r.sha256) == (len(now), hashlib.sha256(now).hexdigest())
        result = verify_media(source, trust, workers=1)
    assert result.verdict is Verdict.FAILED
    changed = {c.path: c for c in result.manifest.changed}
    assert changed[rel(medium, first)].found_size == len(grown)
    assert changed[rel(medium, second)].found_size == len(shrunk)
