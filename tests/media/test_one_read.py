"""`media verify` reads each instance once: the bytes hashed are the bytes verified.

A medium (or a USB device pretending to be one) that answers a second read of the same file
with other bytes must not get one reading past the manifest and another past the signature
check. The source here counts opens and, in the second case, serves the genuine bytes on
the first open of an instance and altered bytes on any later one.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

from media_support import instance_paths, make_medium

from dicomseal.media.source import FolderSource
from dicomseal.media.verify import verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict


class _Counting(FolderSource):
    def __init__(self, root: Path, *, swap: bytes | None = None) -> None:
        super().__init__(root)
        self.opens: dict[str, int] = {}
        self.swap = swap

    def open(self, path: str) -> BinaryIO:
        self.opens[path] = self.opens.get(path, 0) + 1
        fh = super().open(path)
        if self.swap is not None and path.startswith("DICOM/") and self.opens[path] > 1:
            data = fh.read()
            fh.close()
            return io.BytesIO(data.replace(b"DOE^JOHN", self.swap))
        return fh


def _medium(tmp_path: Path, sample_src: Path, creds: SigningCredentials) -> Path:
    out = tmp_path / "medium"
    make_medium([sample_src], out, creds, label="One read")
    return out


def test_each_instance_is_opened_once(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    medium = _medium(tmp_path, sample_src, creds)
    with _Counting(medium) as source:
        result = verify_media(source, trust, workers=1)
        opens = dict(source.opens)
    assert result.verdict is Verdict.PASSED, result.message
    instances = [p.relative_to(medium).as_posix() for p in instance_paths(medium)]
    assert instances
    assert {p: opens.get(p) for p in instances} == dict.fromkeys(instances, 1)


def test_a_second_read_answering_differently_changes_nothing(
    tmp_path: Path, sample_src: Path, creds: SigningCredentials, trust: TrustContext
) -> None:
    medium = _medium(tmp_path, sample_src, creds)
    with _Counting(medium, swap=b"ROE^EVIL") as source:
        result = verify_media(source, trust, workers=1)
    # one reading only: the genuine bytes were hashed and verified together
    assert result.verdict is Verdict.PASSED, result.message
