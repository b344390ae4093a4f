"""Streaming (issue 3, point 8): pixel data is hashed in chunks, memory stays bounded.

A ~300 MB multi-frame native CT instance is signed by ``dicomseal sign`` and verified by
``dicomseal verify``, each in a fresh process whose peak RSS is measured by a tiny wrapper
(``getrusage(RUSAGE_CHILDREN)`` counts only that wrapper's own child). Both must stay below
150 MB, i.e. well under half the file. dcmsign then confirms the large signature.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from sigtest_support import cli_env, dcmsign_verify, trust_args
from sigtest_vectors import ct_dataset, save_dataset

if TYPE_CHECKING:
    from pki import TestPki

pytestmark = pytest.mark.slow

ROWS = COLUMNS = 512
FRAMES = 600  # 512 * 512 * 2 bytes * 600 = 300 MiB of pixel data
RSS_LIMIT_MB = 150

#: Runs ``python -m dicomseal ARGS`` and prints its exit code and peak RSS (KiB) as JSON.
WRAPPER = """
import json, resource, subprocess, sys
p = subprocess.run([sys.executable, "-m", "dicomseal", *sys.argv[1:]],
                   capture_output=True, text=True)
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": p.returncode, "rss_kib": rss, "stdout": p.stdout,
                  "stderr": p.stderr[-2000:]}))
"""


def write_large_instance(path: Path) -> Path:
    """Write a multi-frame native instance without holding its pixel data in memory."""
    ds = ct_dataset(rows=ROWS, columns=COLUMNS, frames=FRAMES, seed=7)
    del ds.PixelData
    save_dataset(ds, path)
    frame = np.random.default_rng(7).integers(0, 4096, ROWS * COLUMNS, dtype="<u2").tobytes()
    with path.open("ab") as fp:  # Pixel Data is the last top-level element: append it
        fp.write(b"\xe0\x7f\x10\x00OW\x00\x00" + (len(frame) * FRAMES).to_bytes(4, "little"))
        for i in range(FRAMES):
            fp.write(i.to_bytes(2, "little") + frame[2:])  # every frame differs
    return path


Measured = dict[str, Any]


def measured(*args: str | Path) -> Measured:
    """Exit code, peak RSS (KiB) and output of ``python -m dicomseal ARGS``."""
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *map(str, args)],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=300,
        check=True,
    )
    result: Measured = json.loads(proc.stdout)
    return result


@pytest.fixture(scope="module")
def large_signed(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Measured]:
    folder = tmp_path_factory.mktemp("large")
    src = write_large_instance(folder / "large.dcm")
    assert src.stat().st_size > 300 * 1024 * 1024
    out = folder / "large-signed.dcm"
    sign = measured("sign", src, out, "--key", pki.signer.key, "--cert", pki.signer.cert)
    src.unlink()
    return out, sign


def test_large_instance_sign_memory(large_signed: tuple[Path, Measured]) -> None:
    out, sign = large_signed
    assert sign["rc"] == 0, sign
    assert out.stat().st_size > 300 * 1024 * 1024
    rss_mb = int(sign["rss_kib"]) / 1024
    print(f"sign: peak RSS {rss_mb:.0f} MB for {out.stat().st_size / 2**20:.0f} MB")
    assert rss_mb < RSS_LIMIT_MB, sign


def test_large_instance_verify_memory(
    large_signed: tuple[Path, Measured], trust: tuple[list[Path], list[Path]]
) -> None:
    out, _ = large_signed
    result = measured("verify", out, *trust_args(*trust), "--format", "json")
    assert result["rc"] == 0, result
    doc = json.loads(str(result["stdout"]))
    assert doc["verdict"] == "PASSED"
    assert "(7FE0,0010)" in doc["files"][0]["signatures"][0]["signed_tags"]
    rss_mb = int(result["rss_kib"]) / 1024
    print(f"verify: peak RSS {rss_mb:.0f} MB for {out.stat().st_size / 2**20:.0f} MB")
    assert rss_mb < RSS_LIMIT_MB, result


@pytest.mark.dcmtk
def test_large_instance_verifies_with_dcmsign(
    large_signed: tuple[Path, Measured], dcmsign: str, pki: TestPki
) -> None:
    out, _ = large_signed
    proc = dcmsign_verify(dcmsign, out, [pki.root.cert], [pki.intermediate.cert])
    assert proc.returncode == 0, proc.stderr
