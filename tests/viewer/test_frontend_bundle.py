"""The committed front-end bundle is what the pinned lockfile builds, byte for byte.

``src/dicomseal/viewer/static/dist`` ships in the wheel so that pip users need no Node; this
test rebuilds it from ``viewer-frontend/package-lock.json`` (``npm ci`` then ``build.mjs``)
in a scratch folder and compares every file. It needs node and npm (CI installs them; locally
it skips without them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "viewer-frontend"
DIST = ROOT / "src" / "dicomseal" / "viewer" / "static" / "dist"


def _require_node() -> None:
    if shutil.which("node") and shutil.which("npm"):
        return
    if os.environ.get("CI"):
        pytest.fail("node/npm missing although CI must install them (.ci/run)")
    pytest.skip("node/npm not installed")


def test_bundle_is_small_enough_and_complete() -> None:
    files = {p.name: p.stat().st_size for p in DIST.iterdir()}
    assert {"reader.js", "decode-worker.js"} <= set(files)
    assert {n for n in files if n.endswith(".wasm")} == {
        "charlswasm_decode.wasm",
        "libjpegturbowasm_decode.wasm",
        "openjpegwasm_decode.wasm",
    }
    assert sum(files.values()) < 4 * 1024 * 1024


@pytest.mark.slow
def test_committed_bundle_matches_a_rebuild_from_the_lockfile(tmp_path: Path) -> None:
    _require_node()
    work = tmp_path / "frontend"
    work.mkdir()
    for name in ("package.json", "package-lock.json", "build.mjs"):
        shutil.copy2(FRONTEND / name, work / name)
    shutil.copytree(FRONTEND / "src", work / "src")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
        cwd=work,
        check=True,
        timeout=600,
    )
    out = tmp_path / "dist"
    subprocess.run(["node", "build.mjs", str(out)], cwd=work, check=True, timeout=300)
    built = {p.name: p.read_bytes() for p in out.iterdir()}
    committed = {p.name: p.read_bytes() for p in DIST.iterdir()}
    assert sorted(built) == sorted(committed)
    differing = [n for n in built if built[n] != committed[n]]
    assert not differing, f"rebuild differs from the committed bundle: {differing}"


def test_only_the_decoding_worker_may_eval(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from dicomseal.media.frozen import freeze
    from dicomseal.media.source import open_media
    from dicomseal.samples import write_sample_studies
    from dicomseal.viewer.app import create_app
    from dicomseal.viewer.assess import assess_medium

    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=1, rows=8, cols=8)
    with open_media(tmp_path) as medium, freeze(medium) as source:
        client = TestClient(
            create_app(source, assess_medium(source, [])), base_url="http://127.0.0.1"
        )
        worker = client.get("/static/dist/decode-worker.js")
        page = client.get("/read/s0")
        bundle = client.get("/static/dist/reader.js")
    assert worker.status_code == page.status_code == bundle.status_code == 200
    assert "'unsafe-eval'" in worker.headers["content-security-policy"]
    for other in (page, bundle):
        policy = other.headers["content-security-policy"]
        assert "'unsafe-eval'" not in policy and "'wasm-unsafe-eval'" in policy
