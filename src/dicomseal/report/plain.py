"""Plain text output when stdout is not a terminal, byte for byte what rich would write.

A report piped to a file, a log or another program gets no colour from rich anyway: rich
drops the styles of its console markup and writes the text with one newline. This module
writes that same text without loading rich (tens of milliseconds of start-up on every
scripted ``verify``). Anything whose rendering is not trivially the same (a control
character, a tab, markup this module does not read exactly as rich does) is handed to a
real rich console, so the bytes never differ.
"""

from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, Final, Protocol, TextIO

from dicomseal.wording import one_line, visible

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["PlainConsole", "Printer", "escape", "report_console", "strip_markup"]

#: rich's console markup tags, escapes included (rich.markup.RE_TAGS).
_TAGS: Final = re.compile(r"((\\*)\[([a-z#/@][^[]*?)])")
_ESCAPE: Final = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
#: Characters rich renders specially (control codes stripped, tabs expanded by cell width).
_SPECIAL: Final = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


class Printer(Protocol):
    """What a text report needs of a console: ``print`` of markup text, one line."""

    @property
    def is_terminal(self) -> bool:
        """Whether the stream is a terminal (colour, progress bar)."""

    def print(
        self, *objects: Any, markup: bool | None = None, highlight: bool | None = None
    ) -> None:
        """Write ``objects`` as one line (console markup unless ``markup=False``)."""


def escape(markup: str) -> str:
    """Escape ``markup`` so that it is shown literally (same result as ``rich.markup.escape``),
    in one line: a value from a medium (a file name, a patient name, a subject) holding a
    control or format character shows it written out (:func:`~dicomseal.wording.one_line`:
    an ESC cannot clear the report and draw a forged one, a newline cannot start a line)."""
    markup = one_line(markup)

    def doubled(match: re.Match[str]) -> str:
        backslashes, text = match.groups()
        return f"{backslashes}{backslashes}\\{text}"

    markup = _ESCAPE.sub(doubled, markup)
    if markup.endswith("\\") and not markup.endswith("\\\\"):
        return markup + "\\"
    return markup


def strip_markup(markup: str) -> str | None:
    """The text rich shows for ``markup`` without styles; None when not sure (rich decides).

    Follows ``rich.markup.render``: a tag is removed, ``\\[`` shows ``[``, an even run of
    backslashes before a tag is literal. A closing tag that matches no open tag (an error
    in rich), or a ``@`` meta tag, is left to rich.
    """
    if "[" not in markup:
        return markup
    out: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _TAGS.finditer(markup):
        full, escapes, tag = match.groups()
        start, end = match.span()
        if start > position:
            out.append(markup[position:start].replace("\\[", "["))
        position = end
        if escapes:
            backslashes, escaped = divmod(len(escapes), 2)
            out.append("\\" * backslashes)
            if escaped:
                out.append(full[len(escapes) :].replace("\\[", "["))
                continue
        name = tag.partition("=")[0]
        if name.startswith("@") or name.startswith("/@"):
            return None
        if name.startswith("/"):
            closing = " ".join(name[1:].strip().lower().split())
            if closing:
                if closing not in stack:
                    return None
                del stack[len(stack) - 1 - stack[::-1].index(closing)]
            elif stack:
                stack.pop()
            else:
                return None
        else:
            stack.append(" ".join(name.strip().lower().split()))
    if position < len(markup):
        out.append(markup[position:].replace("\\[", "["))
    return "".join(out)


class PlainConsole:
    """A console for a stream that is not a terminal: plain lines, rich only when needed."""

    is_terminal = False

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._rich: Console | None = None

    @property
    def file(self) -> TextIO:
        """The stream written to, looked up at each write (as rich does)."""
        return sys.stderr if self._stderr else sys.stdout

    def _fallback(self) -> Console:
        if self._rich is None:
            from rich.console import Console

            self._rich = Console(stderr=self._stderr, highlight=False, soft_wrap=True, emoji=False)
        return self._rich

    def print(
        self, *objects: Any, markup: bool | None = None, highlight: bool | None = None
    ) -> None:
        """Write ``objects`` (strings) as one line, as a non-terminal rich console would;
        control and format characters written out (:func:`~dicomseal.wording.visible`)."""
        objects = tuple(visible(o) if isinstance(o, str) else o for o in objects)
        line = None
        if len(objects) == 1 and isinstance(objects[0], str) and not _SPECIAL.search(objects[0]):
            line = objects[0] if markup is False else strip_markup(objects[0])
        if line is None:
            self._fallback().print(*objects, markup=markup, highlight=highlight)
            return
        self.file.write(line + "\n")


def _plain_stream(stream: TextIO) -> bool:
    """Whether rich would treat ``stream`` as no terminal (see ``rich.Console.is_terminal``)."""
    if os.environ.get("TTY_COMPATIBLE", "") in ("0", "1") or "FORCE_COLOR" in os.environ:
        return os.environ.get("TTY_COMPATIBLE", "") == "0"
    if "JUPYTER_COLUMNS" in os.environ or "JPY_PARENT_PID" in os.environ:
        return False  # notebooks: rich decides
    isatty = getattr(stream, "isatty", None)
    try:
        return isatty is not None and not isatty()
    except ValueError:  # a closed stream: rich treats it as no terminal too
        return True


def report_console(*, stderr: bool = False) -> Printer:
    """A plain console when the stream is not a terminal, else rich's (colour, progress bar)."""
    if _plain_stream(sys.stderr if stderr else sys.stdout):
        return PlainConsole(stderr=stderr)
    from dicomseal.cli.options import err_console, out_console

    return err_console() if stderr else out_console()
