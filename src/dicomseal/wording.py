"""Words for people: counted nouns without "(s)"."""

from __future__ import annotations

__all__ = ["counted"]


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``counted(1, "file")`` -> ``'1 file'``; ``counted(2, "study", "studies")`` ->
    ``'2 studies'``."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"
