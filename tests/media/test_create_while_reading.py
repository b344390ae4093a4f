"""`media create` signs while it reads the sources.

With several workers each instance is handed out as soon as its header is read and
checked; the medium must be the one the read-everything-first path (one worker,
``--strict``) writes, and a bad source found while signing must leave nothing behind.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from media_support import make_medium, unknown_syntax_instance

import dicomseal.media.fileset as fileset
from dicomseal.errors import UsageError
from dicomseal.signature import SigningCredentials


def _sources(tmp_path: Path, sample_src: Path) -> Path:
    """The sample studies plus inputs that are left out: a second copy, an instance in
    an unknown transfer syntax, a text file."""
    src = tmp_path / "src"
    shutil.copytree(sample_src, src)
    first = sorted(src.glob("**/*.dcm"))[0]
    shutil.copyfile(first, src / "zz-copy.dcm")
    unknown_syntax_instance(src / "big.dcm")
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
