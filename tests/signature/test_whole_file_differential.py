"""The verifier's one-read reading of a file against the windowed reading it replaced.

:func:`~dicomseal.signature.reading.read_for_verification` reads a file of at most
``WHOLE_FILE_LIMIT`` bytes in one read and serves its large top-level values (pixel data)
from those bytes instead of copying them (``parse_part10(whole_file=True)``). The walker
is also the fail-closed reader, so the verdicts, reasons, messages, findings and tags must
be those of the windowed reading for every file: the real-world corpus, pydicom's test
files, signed files and signed files altered at their start, their pixels and their end.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pydicom
import pytest

from dicomseal.errors import MediaError
from dicomseal.hazmat.elements import parse_part10
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature import reading
from dicomseal.signature.credentials import SigningCredentials
from dicomseal.signature.sign import sign_file
from dicomseal.signature.status import FileVerification
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import verify_file
from pki import TestPki

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

_HERE = Path(__file__).resolve().parent.parent
_CORPORA = [
    _HERE / "corpus" / "realworld",
    Path("/work/shared/corpus/realworld"),  # the shared corpus, where present
    Path(pydicom.__file__).resolve().parent / "data" / "test_files",
]
_AT = dt.datetime.now(dt.UTC)


def _files() -> list[Path]:
    found: list[Path] = []
    for root in _CORPORA:
        if root.is_dir():
            found += sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    return found


def _windowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the verifier read as before: the window, no one-read reading."""

    def windowed(fh: Any, **kwargs: Any) -> Any:
        kwargs.pop("whole_file", None)
        return parse_part10(fh, **kwargs)

    monkeypatch.setattr(reading, "parse_part10", windowed)


def _verify(path: Path, trust: TrustContext) -> FileVerification | str:
    try:
        return verify_file(path, trust, at=_AT)
    except MediaError as exc:
        return f"{type(exc).__name__}: {exc.message}"


def _both(
    path: Path, trust: TrustContext, monkeypatch: pytest.MonkeyPatch
) -> tuple[FileVerification | str, FileVerification | str]:
    new = _verify(path, trust)
    with monkeypatch.context() as m:
        _windowed(m)
        old = _verify(path, trust)
    return new, old


def test_the_corpus_reads_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    files = _files()
    assert len(files) > 50, "the corpus is missing"
    trust = TrustContext()
    for path in files:
        new, old = _both(path, trust, monkeypatch)
        assert new == old, path


def _altered(signed: bytes) -> Iterator[tuple[str, bytes]]:
    """The signed bytes and copies altered where readers and the MAC look."""
    yield "as signed", signed
    for name, at in (
        ("preamble", 0),
        ("file meta", 140),
        ("first element", 400),
        ("middle", len(signed) // 2),
        ("near the end", len(signed) - 40),
        ("last byte", len(signed) - 1),
    ):
        data = bytearray(signed)
        data[at] ^= 0x5A
        yield name, bytes(data)
    yield "truncated", signed[:-7]
    yield "zip tail", signed + b"PK\x05\x06" + bytes(18)
    yield "pdf tail", signed + b"%%EOF\n"


def _source(sample: str, tmp_path: Path) -> Path:
    if sample != "256x256":
        return Path(pydicom.__file__).resolve().parent / "data" / "test_files" / sample
    # 128 KiB of native pixel data: a value the one-read reading serves from the file
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=256, cols=256)
    made = tmp_path / "source.dcm"
    ds.save_as(made, enforce_file_format=True)
    return made


@pytest.mark.parametrize("sample", ["CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "256x256"])
def test_signed_and_altered_files_read_alike(
    sample: str, pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _source(sample, tmp_path)
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    signed_path = tmp_path / "signed.dcm"
    sign_file(source, signed_path, creds, signed_at=_AT - dt.timedelta(minutes=1))
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    verdicts = set()
    for name, data in _altered(signed_path.read_bytes()):
        target = tmp_path / f"{name}.dcm"
        target.write_bytes(data)
        new, old = _both(target, trust, monkeypatch)
        assert new == old, name
        verdicts.add(new if isinstance(new, str) else new.verdict.value)
        os.unlink(target)
    assert "PASSED" in verdicts and len(verdicts) > 1  # as signed; not once altered
