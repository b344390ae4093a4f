"""The viewer's built bundle ships in the wheel, so ``pip install`` users need no Node.

Issue 15, item 1: "The built bundle ships inside the Python package". A wheel is built from
a copy of the source tree (pip, PEP 517, the ``[build-system]`` of ``pyproject.toml``); every
file of the package in the source tree must be in the wheel with the same bytes, and the
viewer run from the unpacked wheel (not from this checkout) must serve the bundle, its
decoding worker and its WASM codecs byte for byte.

The build fetches the pinned build back-end like ``scripts/bootstrap`` does; without a
network the test skips (under CI it fails: CI installs from the network anyway).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "dicomseal"
DIST = PACKAGE / "viewer" / "static" / "dist"
_OFFLINE_SIGNS = (
    "Temporary failure in name resolution",
    "NewConnectionError",
    "No matching distribution found",
    "Network is unreachable",
)


def _package_files() -> list[Path]:
    """The package's files as a checkout holds them (no caches, no build output)."""
    found = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        found.append(path)
    return found


def _build_wheel(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(
        ROOT / "src",
        tree / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    out = tmp_path / "wheel"
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if run.returncode != 0:
        if any(sign in run.stderr for sign in _OFFLINE_SIGNS) and not os.environ.get("CI"):
            pytest.skip("no network to fetch the build back-end")
        pytest.fail(f"pip wheel failed:\n{run.stderr[-3000:]}")
    wheels = list(out.glob("dicomseal-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.mark.slow
def test_the_wheel_carries_every_package_file_and_serves_the_bundle(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = []
        differing = []
        for path in _package_files():
            name = "dicomseal/" + path.relative_to(PACKAGE).as_posix()
            if name not in names:
                missing.append(name)
            elif archive.read(name) != path.read_bytes():
                differing.append(name)
        assert not missing, f"not in the wheel: {missing}"
        assert not differing, f"different in the wheel: {differing}"
        unpacked = tmp_path / "unpacked"
        archive.extractall(unpacked)
    bundle = sorted(p.name for p in DIST.iterdir())
    assert any(n.endswith(".wasm") for n in bundle) and "reader.js" in bundle

    # The viewer started from the unpacked wheel serves what the checkout holds.
    script = textwrap.dedent(
        """
        import hashlib, json, sys, tempfile
        from pathlib import Path
        import dicomseal
        assert Path(dicomseal.__file__).is_relative_to(Path(sys.argv[1])), dicomseal.__file__
        from starlette.testclient import TestClient
        from dicomseal.media.frozen import freeze
        from dicomseal.media.source import open_media
        from dicomseal.samples import write_sample_studies
        from dicomseal.viewer.app import create_app
        from dicomseal.viewer.assess import assess_medium
        served = {}
        with tempfile.TemporaryDirectory() as folder:
            write_sample_studies(Path(folder), series_per_study=1, instances_per_series=1,
                                 rows=8, cols=8)
            with open_media(Path(folder)) as medium, freeze(medium) as source:
                client = TestClient(create_app(source, assess_medium(source, [])),
                                    base_url="http://127.0.0.1")
                assert client.get("/read/s0").status_code == 200
                for name in json.loads(sys.argv[2]):
                    answer = client.get("/static/dist/" + name)
                    assert answer.status_code == 200, (name, answer.status_code)
                    served[name] = hashlib.sha256(answer.content).hexdigest()
        print(json.dumps(served))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    run = subprocess.run(
        [sys.executable, "-c", script, str(unpacked), json.dumps(bundle)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    served = json.loads(run.stdout.strip().splitlines()[-1])
    expected = {n: hashlib.sha256((DIST / n).read_bytes()).hexdigest() for n in bundle}
    assert served == expected
