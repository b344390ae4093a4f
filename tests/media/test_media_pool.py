"""``media verify`` on forked workers: the same verdicts and files as one process.

The decision how many processes to use depends on the machine's load, so it is pinned
here (a unit-test fake of the decision only; the pool, the medium and the files are real).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from media_support import instance_paths

from dicomseal import workers
from dicomseal.media.source import open_media
from dicomseal.media.verify import verify_media
from dicomseal.signature import TrustContext
from dicomseal.verdict import Verdict


def test_pool_and_one_process_agree_on_a_tampered_medium(
    sample_medium: Path, trust: TrustContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    medium = tmp_path / "medium"
    shutil.copytree(sample_medium, medium)
    victim = instance_paths(medium)[2]
    data = bytearray(victim.read_bytes())
    data[-100] ^= 0x01  # one pixel bit
    victim.write_bytes(bytes(data))
    with open_media(medium) as source:
        serial = verify_media(source, trust, workers=1)
        monkeypatch.setattr(workers, "worker_count", lambda files, wanted=None: 2)
        monkeypatch.setattr(workers, "CHUNK", 2)  # several chunks for a small medium
        parallel = verify_media(source, trust, workers=2)
    assert serial.verdict is parallel.verdict is Verdict.FAILED
    assert [(f.path, f.verdict, f.reason, f.message) for f in serial.files] == [
        (f.path, f.verdict, f.reason, f.message) for f in parallel.files
    ]
