"""Plain text output without rich: the same bytes rich writes to a stream that is no terminal.

Every string is printed by a real rich console (non-terminal, as ``out_console`` makes it)
and by :class:`~dicomseal.report.plain.PlainConsole`; the outputs must be identical,
markup, escapes, hostile names, control characters and tabs included.
"""

from __future__ import annotations

import contextlib
import io
import random

import pytest
from rich.errors import MarkupError
from rich.markup import escape as rich_escape

from dicomseal.cli.options import out_console
from dicomseal.report.plain import PlainConsole, escape
from dicomseal.wording import one_line

_PIECES = (
    "[bold red]", "[/bold red]", "[dim]", "[/dim]", "[/]", "[yellow]", "[/yellow]",
    "[b]", "[/bold]", "[@click]", "[link=http://x]", "[/link]", "[x]", "[/x]", "[Bold]",
    "\\", "\\\\", "[", "]", "\\[bold]", "\\\\[dim]", "a", "PASSED", " ", "é", "漢", "🙂",
    "\t", "\x07", "\r", "\x1b[31m", "\x9b", "=", "/", "CN=x,O=[y]", "(0008,0018)",
)  # fmt: skip


def _rich(text: str, markup: bool | None) -> str:
    """What the CLI's rich console writes (control characters written out, redteam16)."""
    buf = io.StringIO()
    console = out_console()
    console.file = buf
    console.print(text, markup=markup, highlight=False)
    return buf.getvalue()


def _plain(text: str, markup: bool | None) -> str:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        PlainConsole().print(text, markup=markup, highlight=False)
    return buf.getvalue()


def _samples(count: int) -> list[str]:
    rng = random.Random(20261202)
    out = ["", "plain", "a [bold]b[/bold] c", "trailing \\", "   padded   "]
    for _ in range(count):
        out.append("".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 9))))
    return out


@pytest.mark.parametrize("markup", [None, False])
def test_plain_console_writes_what_rich_writes(markup: bool | None) -> None:
    for text in _samples(3000):
        try:
            expected = _rich(text, markup)
        except MarkupError:
            with pytest.raises(MarkupError):
                _plain(text, markup)
            continue
        assert _plain(text, markup) == expected, repr(text)


def test_escaped_hostile_text_inside_styles_is_shown_literally() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        hostile = "".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 6)))
        assert escape(hostile) == rich_escape(one_line(hostile))  # controls written out
        text = f"[bold red]FAILED[/bold red] {escape(hostile)} [dim]{escape(hostile)}[/dim]"
        assert _plain(text, None) == _rich(text, None), repr(hostile)
