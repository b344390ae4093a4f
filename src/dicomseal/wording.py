"""Words for people: counted nouns without "(s)", and text that shows what it holds."""

from __future__ import annotations

import re
from typing import Final, TypeVar

__all__ = ["counted", "one_line", "visible"]

#: What a value shown to a person must not carry as it is, because it acts on the text
#: around it instead of being text: C0 controls but newline and tab (ESC starts terminal
#: escape sequences that can clear a report and draw another; CR overwrites a line), DEL,
#: C1 controls (CSI), Unicode's format characters (UAX #9 directional embeddings,
#: overrides, isolates and marks: a U+202E draws what follows it mirrored; zero-width
#: space, word joiner, invisible operators, byte order mark, interlinear annotation, tag
#: characters) and the line and paragraph separators. The zero-width joiner and
#: non-joiner (U+200C, U+200D) stay: names in Persian and Indic scripts need them.
_HIDDEN: Final = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f"
    "\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    "\ufff9-\ufffb\U000e0001\U000e0020-\U000e007f]"
)
#: The same, newline and tab too: for a value printed inside one line of a report.
_HIDDEN_IN_LINE: Final = re.compile(_HIDDEN.pattern[:-1] + "\\n\\t]")
_Text = TypeVar("_Text", bound=str)


def _written_out(match: re.Match[str]) -> str:
    return f"[U+{ord(match.group()):04X}]"


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``counted(1, "file")`` -> ``'1 file'``; ``counted(2, "study", "studies")`` ->
    ``'2 studies'``."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def visible(text: _Text) -> _Text:
    """``text`` with every character of :data:`_HIDDEN` written out (``[U+202E]``): what is
    shown cannot act on what is drawn around it. Keeps the type of a ``str`` subclass
    (markup stays markup: the replacement holds no markup character)."""
    if _HIDDEN.search(text) is None:
        return text
    return type(text)(_HIDDEN.sub(_written_out, text))


def one_line(text: str) -> str:
    """:func:`visible`, newlines and tabs written out too: a value from a medium printed in
    a line of a report cannot start a line of its own (a forged ``PASSED`` line)."""
    if _HIDDEN_IN_LINE.search(text) is None:
        return text
    return _HIDDEN_IN_LINE.sub(_written_out, text)
