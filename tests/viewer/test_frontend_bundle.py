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
    assert {"reader-boot.js", "reader.js", "reader-tools.js", "decode-worker.js"} <= set(files)
    assert {n for n in files if n.endswith(".wasm")} == {
        "charlswasm_decode.wasm",
        "libjpegturbowasm_decode.wasm",
        "openjpegwasm_decode.wasm",
    }
    assert sum(files.values()) < 4 * 1024 * 1024


def test_first_image_code_is_split_from_the_tools() -> None:
    """The page's scripts: a boot script under a kilobyte that preloads exactly the chunks
    reader.js imports, reader.js (core and image loader, no tools) and the tools loaded
    later; the code before the first image stays under 1.6 MB (the single bundle was 1.9)."""
    import re

    boot = (DIST / "reader-boot.js").read_text()
    reader = (DIST / "reader.js").read_text()
    assert len(boot) < 1024
    preloaded = re.findall(r'"(reader-[A-Z0-9]+\.js)"', boot)
    imported = re.findall(r'from\s*"\./(reader-[A-Z0-9]+\.js)"', reader)
    assert preloaded and sorted(preloaded) == sorted(set(imported))
    assert 'import("./reader-tools.js")' in reader
    first = len(reader) + sum((DIST / name).stat().st_size for name in preloaded)
    assert first < 1.6 * 1024 * 1024
    before = reader + "".join((DIST / name).read_text() for name in preloaded)
    tools = (DIST / "reader-tools.js").read_text()
    for tool_name in ('"StackScroll"', '"WindowLevel"', '"Length"', '"Angle"'):
        assert tool_name in tools and tool_name not in before


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
