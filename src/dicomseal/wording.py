"""Words for people: counted nouns without "(s)", and text that shows what it holds."""

from __future__ import annotations

from typing import Final, TypeVar

__all__ = ["counted", "visible"]

#: Unicode's explicit directional formatting characters (UAX #9 §2: embeddings,
#: overrides, isolates, marks): a value holding U+202E draws the text after it mirrored,
#: so ``(not covered)`` beside it reads ``(derevoc ton)``.
_BIDI_CONTROLS: Final = {
    c: f"[U+{c:04X}]"
    for c in (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
}
_Text = TypeVar("_Text", bound=str)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``counted(1, "file")`` -> ``'1 file'``; ``counted(2, "study", "studies")`` ->
    ``'2 studies'``."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def visible(text: _Text) -> _Text:
    """``text`` with every directional formatting character written out (``[U+202E]``):
    a value shown to a person cannot reorder what is drawn around it. Keeps the type of a
    ``str`` subclass (markup stays markup: the replacement holds no markup character)."""
    if not any(ord(ch) in _BIDI_CONTROLS for ch in text):
        return text
    return type(text)(str.translate(text, _BIDI_CONTROLS))
