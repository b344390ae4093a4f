"""The manifest/1 digests of a fixed corpus never change (see digests.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import digests


def test_manifest_digests_unchanged() -> None:
    golden = json.loads((Path(__file__).parent / "digests.json").read_text())
    now = digests.compute()
    assert sorted(now) == sorted(golden)
    changed = {name: (golden[name], now[name]) for name in golden if golden[name] != now[name]}
    assert not changed, f"manifest/1 digests changed for {len(changed)} files: {changed}"
