"""Files of one ISO 9660 or UDF tree that share bytes (ECMA-119 §6.8.2, ECMA-167 4/12).

Writers give each file its own extent. Directory records that name the same or
overlapping bytes again and again make a small image read as many times its size (every
listed file is hashed) and give those bytes several names, so such files are a problem on
their tree and none of them is listed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

__all__ = ["without_shared_bytes"]


class _Placed(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def extents(self) -> tuple[tuple[int, int], ...]: ...


_F = TypeVar("_F", bound=_Placed)


def without_shared_bytes(files: Sequence[_F]) -> tuple[list[_F], list[str]]:
    """The files that share no byte with another file, and the paths of those that do."""
    spans = sorted((o, o + n, f.path) for f in files for o, n in f.extents if n)
    shared: set[str] = set()
    end, holder = -1, ""
    for start, stop, path in spans:
        if start < end:
            shared.update((path, holder))
        if stop > end:
            end, holder = stop, path
    return [f for f in files if f.path not in shared], sorted(shared)
