"""The catalog is built from what media verification found: one header read per instance."""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from pathlib import Path

import pytest

from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.signature import SigningCredentials
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium
from pki import TestPki


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    base = tmp_path_factory.mktemp("catalog")
    src = base / "src"
    write_sample_studies(src, series_per_study=1, instances_per_series=3)
    bundle = base / "bundle.pem"
    bundle.write_bytes(pki.signer.cert.read_bytes() + pki.chain.read_bytes())
    out = base / "medium"
    options = CreateOptions(created_at=dt.datetime.now(dt.UTC), label="CATALOG TEST")
    create_medium([src], out, SigningCredentials.load(pki.signer.key, bundle), options)
    return out


def _opens_while_cataloguing(
    folder: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> tuple[Counter[str], list[str], tuple[str, ...]]:
    """Snapshot opens while the served state is built; instance paths; catalog problems."""
    opened: Counter[str] = Counter()
    real_open = FrozenMedium.open
    with open_media(folder) as raw, freeze(raw) as source:
        integrity = assess_medium(source, [pki.root.cert])

        def counting_open(self: FrozenMedium, path: str):  # type: ignore[no-untyped-def]
            opened[path] += 1
            return real_open(self, path)

        monkeypatch.setattr(FrozenMedium, "open", counting_open)
        catalog = create_app(source, integrity).state.viewer.catalog
        monkeypatch.setattr(FrozenMedium, "open", real_open)
        paths = [
            i.path
            for p in catalog.patients
            for t in p.studies
            for s in t.series
            for i in s.instances
        ]
        return opened, paths, catalog.problems


def test_catalog_reads_each_header_once(
    medium: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No scan of the medium and no second DICOMDIR read: the inventory already has them."""
    opened, paths, problems = _opens_while_cataloguing(medium, pki, monkeypatch)
    assert len(paths) == 6 and not problems
    assert opened == Counter({p: 1 for p in paths})


def test_instance_the_dicomdir_omits_is_still_listed(
    medium: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An instance added beside the DICOMDIR is found by the inventory and shown, RED."""
    folder = tmp_path / "copy"
    shutil.copytree(medium, folder)
    victim = next(p for p in sorted(folder.rglob("IM*")) if p.is_file())
    extra = victim.parent / "EXTRA"
    shutil.copyfile(victim, extra)
    opened, paths, problems = _opens_while_cataloguing(folder, pki, monkeypatch)
    hidden = extra.relative_to(folder).as_posix()
    assert hidden in paths and len(paths) == 7
    assert any("not referenced by the DICOMDIR" in p for p in problems)
    assert opened[hidden] == 1
