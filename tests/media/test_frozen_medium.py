"""A frozen medium verifies exactly as the medium itself: same verdict, same findings.

The viewer and the importer verify a :class:`~dicomseal.media.frozen.FrozenMedium` (the
files are private copies, the container is the real medium). Any check of the container
that would recognise the medium by its class rather than by ``kind`` and its structural
accessors (``pycdlib``) would silently be skipped on the frozen medium: this module
compares both verifications on genuine and hostile folder, ISO and zip media.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pycdlib
import pytest
from media_support import make_medium

from dicomseal.media.frozen import freeze
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict


def _summary(r: MediaVerification) -> tuple[object, ...]:
    return (
        r.verdict,
        r.kind,
        r.manifest.reason,
        tuple(sorted((f.code.value, f.path) for f in r.findings)),
        tuple((f.path, f.verdict, f.reason) for f in r.files),
        r.uncovered,
        r.manifest.changed and tuple(c.path for c in r.manifest.changed),
    )


def _both(medium: Path, trust: TrustContext) -> tuple[MediaVerification, MediaVerification]:
    with open_media(medium) as raw:
        direct = verify_media(raw, trust, workers=1)
    with open_media(medium) as raw, freeze(raw) as frozen:
        through = verify_media(frozen, trust, workers=1)
        assert through.entries == direct.entries
    return direct, through


@pytest.fixture(scope="module")
def media(
    tmp_path_factory: pytest.TempPathFactory, sample_src: Path, creds: SigningCredentials
) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("frozen")
    out = {
        "folder": base / "medium",
        "iso": base / "medium.iso",
        "zip": base / "medium.zip",
    }
    make_medium([sample_src], out["folder"], creds)
    make_medium([sample_src], out["iso"], creds, joliet=True)
    make_medium([sample_src], out["zip"], creds)
    iso = pycdlib.PyCdlib()
    iso.open(str(out["iso"]))
    payload = b"MZ hidden from Joliet readers"
    iso.add_fp(io.BytesIO(payload), len(payload), iso_path="/SETUP.EXE;1")
    out["iso-hidden"] = base / "hidden.iso"
    iso.write(str(out["iso-hidden"]))
    iso.close()
    out["zip-added"] = base / "added.zip"
    with zipfile.ZipFile(out["zip"]) as src, zipfile.ZipFile(out["zip-added"], "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("AUTORUN.INF", b"[autorun]\r\nopen=SETUP.EXE\r\n")
    return out


@pytest.mark.parametrize("name", ["folder", "iso", "zip", "iso-hidden", "zip-added"])
def test_frozen_medium_verifies_like_the_medium(
    name: str, media: dict[str, Path], trust: TrustContext
) -> None:
    direct, through = _both(media[name], trust)
    assert _summary(through) == _summary(direct)
    expected = Verdict.PASSED if name in ("folder", "iso", "zip") else Verdict.FAILED
    assert through.verdict is expected, through.message
