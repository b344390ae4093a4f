"""The short CI run of the fuzz targets in fuzz/harness.py (the long run: fuzz/long_run.sh).

Hypothesis mutates each target's genuine seed (byte flips, boundary integers over length
fields, insertions, deletions, truncation) and every input must end in a clean refusal or a
result, never a crash or a false PASSED (the targets' oracles).
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "fuzz"))

import harness

_BOUNDARY = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF]


#: One edit: (kind, position as a fraction of the length, value).
Edit = tuple[str, float, int, bytes]

EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "int", "insert", "delete", "truncate"]),
        st.floats(0, 1, allow_nan=False),
        st.integers(0, 255),
        st.binary(min_size=1, max_size=16),
    ),
    min_size=1,
    max_size=4,
)


def mutate(seed: bytes, edits: list[Edit]) -> bytes:
    """``seed`` changed by ``edits`` (printed instead of the bytes when a case fails)."""
    data = bytearray(seed)
    for kind, where, value, blob in edits:
        pos = min(int(where * len(data)), max(len(data) - 1, 0))
        if kind == "flip" and data:
            data[pos] ^= 1 << (value % 8)
        elif kind == "int" and len(data) >= pos + 4:
            data[pos : pos + 4] = struct.pack("<I", _BOUNDARY[value % len(_BOUNDARY)])
        elif kind == "insert":
            data[pos:pos] = blob
        elif kind == "delete":
            del data[pos : pos + 1 + value % 64]
        elif kind == "truncate":
            del data[pos:]
    return bytes(data)


@pytest.mark.parametrize("name", sorted(harness.TARGETS))
def test_target_survives_mutations(name: str) -> None:
    target, seed = harness.TARGETS[name]
    genuine = seed()
    target(genuine)  # the seed itself is accepted

    @settings(
        max_examples=60 if name in ("zip", "iso") else 150,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(EDITS)
    def run(edits: list[Edit]) -> None:
        data = mutate(genuine, edits)
        try:
            target(data)
        except Exception as exc:
            digest = hashlib.sha256(data).hexdigest()[:16]
            raise AssertionError(
                f"{name}: {type(exc).__name__}: {str(exc)[:300]} (input sha256 {digest}...)"
            ) from None

    run()
