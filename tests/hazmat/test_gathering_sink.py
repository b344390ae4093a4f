"""GatheringSink: the bytes reach the hash unchanged and in order, in few calls."""

from __future__ import annotations

import hashlib
import random

from dicomseal.hazmat.mac_stream import GatheringSink


def test_same_bytes_in_fewer_calls() -> None:
    rng = random.Random(16)
    sizes = [70_000 if i % 100 == 50 else rng.choice([0, 2, 4, 8, 30, 200, 3]) for i in range(400)]
    pieces = [rng.randbytes(n) for n in sizes]
    calls: list[bytes] = []
    sink = GatheringSink(calls.append, limit=1024)
    for piece in pieces:
        sink(piece)
    sink.flush()
    assert b"".join(calls) == b"".join(pieces)
    small = sum(n for n in sizes if n < 1024)
    assert len(calls) <= 2 * sizes.count(70_000) + small // 1024 + 1 < len(pieces) // 4
    big = [p for p in pieces if len(p) >= 1024]
    assert all(any(c is p for c in calls) for p in big)  # passed through, not copied


def test_hash_equals_direct_updates() -> None:
    rng = random.Random(3)
    pieces = [rng.randbytes(rng.randrange(0, 3000)) for _ in range(300)]
    direct, gathered = hashlib.sha256(), hashlib.sha256()
    for piece in pieces:
        direct.update(piece)
    sink = GatheringSink(gathered.update)
    for piece in pieces:
        sink(piece)
    sink.flush()
    assert gathered.digest() == direct.digest()
