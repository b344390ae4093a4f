"""The manifest check reuses the snapshot's SHA-256 only for the very bytes it parses.

Without a private copy (the viewer's ``freeze(copy=False)``) every read of the medium is
hashed by the snapshot (:class:`~dicomseal.media.hashed_read.HashedRead`); the file check of
:mod:`dicomseal.media.entry_check` takes that digest instead of hashing the same bytes a
second time -- but only when the bytes it read are the very object that was hashed. A
medium answering two reads differently, a partial read, another process's read: each
gets a digest of its own bytes, never one borrowed from other bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
import types
from collections import Counter
from pathlib import Path
from typing import BinaryIO

import pytest
from viewer_support import TwoFacedMedium

from dicomseal import workers
from dicomseal.media import entry_check
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.entry_pool import check_entries
from dicomseal.media.frozen import ChangedSinceVerificationError, freeze
from dicomseal.media.hashed_read import HashedRead
from dicomseal.media.manifest import ManifestEntry
from dicomseal.media.source import MediaEntry, MediaSource, open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import IntegrityState
from pki import TestPki

VICTIM = "DICOM/PT000000/ST000000/SE000000/IM000001"
AT = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    base = tmp_path_factory.mktemp("reuse")
    src = base / "src"
    write_sample_studies(src, series_per_study=2, instances_per_series=3)
    bundle = base / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    out = base / "medium"
    options = CreateOptions(created_at=AT, label="REUSE")
    create_medium([src], out, SigningCredentials.load(pki.signer.key, bundle), options)
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_all(source: MediaSource, pki: TestPki, processes: int) -> dict[str, str | None]:
    todo: list[tuple[MediaEntry, ManifestEntry | None]] = [
        (e, None) for e in source.entries() if e.readable
    ]
    trust = TrustContext.load([pki.root.cert])
    results = check_entries(source, todo, trust, AT, processes, lambda done, total: None)
    return {r.path: r.sha256 for r in results}


def _expected(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): _sha(p.read_bytes())
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_digest_only_for_the_very_bytes_hashed() -> None:
    data = bytes(range(256)) * 4
    whole = HashedRead(data, "d" * 64)
    read = whole.read(len(data) + 1)
    assert read is data and whole.sha256_of(read) == "d" * 64
    # equal bytes, another object: a second read of the medium, another process's read
    assert whole.sha256_of(bytes(bytearray(data))) is None
    part = HashedRead(data, "d" * 64)
    assert part.sha256_of(part.read(10)) is None
    part.seek(1)
    assert part.sha256_of(part.read()) is None
    moved = HashedRead(data, "d" * 64)
    moved.seek(0, io.SEEK_END)
    moved.seek(0)
    assert moved.sha256_of(moved.read()) == "d" * 64  # the whole of it, from its start
    empty = HashedRead(b"", _sha(b""))
    assert empty.read(1) == b""


def test_check_takes_the_snapshots_digest_instead_of_hashing_again(
    medium: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: Counter[int] = Counter()

    class Spy:
        """SHA-256 that counts the non-empty byte strings it is given."""

        def __init__(self, *data: bytes) -> None:
            self._h = hashlib.sha256()
            for chunk in data:
                self.update(chunk)

        def update(self, chunk: bytes) -> None:
            if chunk:
                hashed[len(chunk)] += 1
            self._h.update(chunk)

        def hexdigest(self) -> str:
            return self._h.hexdigest()

    monkeypatch.setattr(entry_check, "hashlib", types.SimpleNamespace(sha256=Spy))
    with open_media(medium) as raw, freeze(raw, copy=False) as source:
        digests = _check_all(source, pki, 1)
    assert digests == _expected(medium)
    assert not hashed, hashed  # every file's digest came from the snapshot's read
    with open_media(medium) as plain:
        assert _check_all(plain, pki, 1) == _expected(medium)
    assert sum(hashed.values()) >= len(_expected(medium))  # the spy sees a plain check


class FirstReadForged:
    """A medium whose first answer is a forgery and every later one genuine."""

    def __init__(self, inner: MediaSource, forged: dict[str, bytes]) -> None:
        self._inner = inner
        self._forged = forged
        self.opens: Counter[str] = Counter()
        self.location, self.kind = inner.location, inner.kind

    def entries(self) -> list[MediaEntry]:
        return self._inner.entries()

    def open(self, path: str) -> BinaryIO:
        self.opens[path] += 1
        if self.opens[path] == 1 and path in self._forged:
            return io.BytesIO(self._forged[path])
        return self._inner.open(path)

    def close(self) -> None:
        self._inner.close()


def _forgery(medium: Path) -> bytes:
    data = bytearray((medium / VICTIM).read_bytes())
    data[-50] ^= 0x01  # one pixel bit
    return bytes(data)


def test_digest_is_of_the_bytes_parsed_when_reads_differ(medium: Path, pki: TestPki) -> None:
    forged = _forgery(medium)
    with open_media(medium) as raw:
        first_forged = FirstReadForged(raw, {VICTIM: forged})
        with freeze(first_forged, copy=False) as source:  # type: ignore[arg-type]
            digests = _check_all(source, pki, 1)
            assert digests[VICTIM] == _sha(forged) != _sha((medium / VICTIM).read_bytes())
            with pytest.raises(ChangedSinceVerificationError):
                source.open(VICTIM)  # the genuine second answer is not what was verified
    with open_media(medium) as raw:
        first_forged = FirstReadForged(raw, {VICTIM: forged})
        with freeze(first_forged, copy=False) as source:  # type: ignore[arg-type]
            integrity = assess_medium(source, [pki.root.cert], at=AT)
    assert integrity.verdict is Verdict.FAILED
    assert integrity.instances[VICTIM].state is IntegrityState.RED


def test_second_read_forged_is_refused_not_served(medium: Path, pki: TestPki) -> None:
    forged = _forgery(medium)
    with open_media(medium) as raw:
        two_faced = TwoFacedMedium(raw, {VICTIM: forged})
        with freeze(two_faced, copy=False) as source:
            integrity = assess_medium(source, [pki.root.cert], at=AT)
            with pytest.raises(ChangedSinceVerificationError):
                source.open(VICTIM)
    assert integrity.verdict is Verdict.PASSED


@pytest.mark.parametrize("forge", [False, True])
def test_worker_processes_report_the_digest_of_their_own_read(
    medium: Path, pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forge: bool
) -> None:
    monkeypatch.setattr(workers, "worker_count", lambda files, wanted=None: 2)
    monkeypatch.setattr(workers, "CHUNK", 2)
    folder = tmp_path / "medium"
    shutil.copytree(medium, folder)
    if forge:
        (folder / VICTIM).write_bytes(_forgery(medium))
    with open_media(folder) as raw, freeze(raw, copy=False) as source:
        digests = _check_all(source, pki, 2)
        assert digests == _expected(folder)
        for path, digest in digests.items():  # the parent serves what the workers hashed
            with source.open(path) as fh:
                assert _sha(fh.read()) == digest
    with open_media(folder) as raw, freeze(raw, copy=False) as source:
        integrity = assess_medium(source, [pki.root.cert], at=AT, workers=2)
    assert integrity.verdict is (Verdict.FAILED if forge else Verdict.PASSED)
