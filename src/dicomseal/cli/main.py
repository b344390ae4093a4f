"""Root of the ``dicomseal`` command line: one group, thin commands, one exit-code table.

Every command only parses options, calls the library and hands the result object to a
renderer in :mod:`dicomseal.report`. Errors from the library arrive as
:class:`~dicomseal.errors.DicomSealError` subclasses and are mapped to exit codes by the one
exit policy (:mod:`dicomseal.cli.exit`), as one clear line on stderr (never a traceback).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import warnings
from typing import Final

import click

from dicomseal import __version__
from dicomseal.cli.exit import (
    EXIT_CODES,
    EXIT_FAILED,
    EXIT_INDETERMINATE,
    EXIT_INTERRUPTED,
    EXIT_IO,
    EXIT_SUCCESS,
    EXIT_USAGE,
    QuickExit,
    exit_code,
)
from dicomseal.errors import DicomSealError

__all__ = [
    "COMMANDS",
    "EXIT_CODES",
    "EXIT_FAILED",
    "EXIT_INDETERMINATE",
    "EXIT_INTERRUPTED",
    "EXIT_IO",
    "EXIT_SUCCESS",
    "EXIT_USAGE",
    "cli",
    "main",
]

EXIT_INTERRUPTED_MESSAGE: Final = (
    "dicomseal: interrupted (Ctrl-C) before the command finished; a half-written medium or "
    "signed file is never left under the output name"
)

#: Command name -> (module, attribute, one-line summary). Modules are imported only when
#: their command runs: start-up stays fast and one broken module cannot disable the rest.
COMMANDS: Final[dict[str, tuple[str, str, str]]] = {
    "demo": (
        "dicomseal.cli.demo",
        "demo_command",
        "Run the main job end to end on bundled sample data.",
    ),
    "sign": (
        "dicomseal.cli.sign",
        "sign_command",
        "Add a PS3.15 digital signature to a DICOM file.",
    ),
    "verify": (
        "dicomseal.cli.verify",
        "verify_command",
        "Verify every signature in a file, a folder or a medium.",
    ),
    "signatures": (
        "dicomseal.cli.signatures",
        "signatures_group",
        "List or remove the signatures of a DICOM file.",
    ),
    "media": (
        "dicomseal.cli.media",
        "media_group",
        "Create or verify a signed IHE PDI patient medium.",
    ),
    "keys": (
        "dicomseal.cli.keys",
        "keys_group",
        "Create a clinic CA and signing key, or a request for an external CA.",
    ),
    "trust": (
        "dicomseal.cli.trust",
        "trust_group",
        "Add, list, show or remove the partner CAs this machine trusts.",
    ),
    "inspect": ("dicomseal.cli.inspect", "inspect", "Forensic red flags on unsigned media."),
    "tamper": (
        "dicomseal.cli.tamper",
        "tamper",
        "Reproduce the 2009 study's attacks on a copy of a medium.",
    ),
    "experiment": (
        "dicomseal.cli.experiment",
        "experiment",
        "Measure detection of every attack, unsigned and signed.",
    ),
    "view": (
        "dicomseal.cli.view",
        "view",
        "Browse a medium in the browser with its verdict always visible.",
    ),
    "import": (
        "dicomseal.cli.pacs",
        "import_command",
        "Verify a medium, then send what passed to a PACS.",
    ),
    "compare": (
        "dicomseal.cli.pacs",
        "compare_command",
        "Compare a medium with a PACS archive or another medium.",
    ),
}


class _LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        command = getattr(importlib.import_module(entry[0]), entry[1])
        assert isinstance(command, click.Command)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """Resolve as click does, suggesting the closest command name on a typo."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            import difflib  # only for a typo: not on every start-up

            close = difflib.get_close_matches(name, list(COMMANDS), n=1, cutoff=0.6)
            if close:
                ctx.fail(f"no such command {name!r}. Did you mean {close[0]!r}?")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry[2]) for name, entry in COMMANDS.items()])


def exit_code_for(error: DicomSealError) -> int:
    """Exit code for a library error (:func:`dicomseal.cli.exit.exit_code`)."""
    return exit_code(error)


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="dicomseal")
def cli() -> None:
    """Make DICOM portable media tamper-evident, and prove it.

    \b
    Sign and verify single instances (PS3.15, byte-compatible with DCMTK dcmsign):
      dicomseal sign IN.dcm OUT.dcm --key KEY.pem --cert CERT.pem
      dicomseal verify OUT.dcm --trust CA.pem
    Build and check a signed patient medium (IHE PDI):
      dicomseal media create SRC/ --out CD.iso --key KEY.pem --cert CERT.pem
      dicomseal media verify CD.iso --trust CA.pem
    Get a key, trust a partner (docs/trust.md):
      dicomseal keys new --org "Clinic A" --out keys/
      dicomseal trust add partner-ca.pem
    Look for red flags on unsigned media:   dicomseal inspect MEDIUM
    Reproduce the 2009 study's attacks:     dicomseal tamper MEDIUM --out OUT --mode careless ...
    Browse a medium with its verdict:       dicomseal view MEDIUM --trust CA.pem
    Verify, then import into a PACS:        dicomseal import MEDIUM --to AET@HOST:PORT

    \b
    Exit codes: 0 PASSED/success, 1 FAILED, 2 usage, 3 INDETERMINATE, 4 I/O or media error.
    Key passwords come from $DICOMSEAL_KEY_PASSWORD or a prompt, never from the command line.
    """


#: Schema of the document printed on stdout when a command run with ``--format json`` fails.
ERROR_SCHEMA: Final = "dicomseal.error/1"


def _wants_json(argv: list[str]) -> bool:
    """Whether the command line asks for ``--format json`` (so errors come as JSON too)."""
    for i, arg in enumerate(argv):
        if arg == "--format=json" or (arg == "--format" and argv[i + 1 : i + 2] == ["json"]):
            return True
    return False


def _error_code(exc: DicomSealError) -> str:
    """``MediaError`` -> ``media-error``: the error's class as a stable JSON code."""
    name = type(exc).__name__
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def _fail(argv: list[str], exc: DicomSealError, code: int) -> None:
    """One line on stderr; with ``--format json`` also an error document on stdout."""
    click.echo(f"dicomseal: error: {exc}", err=True)
    if _wants_json(argv):
        error = {"code": _error_code(exc), "message": exc.message, "exit_code": code}
        if exc.path:
            error["path"] = exc.path
        import json  # an error document only

        click.echo(json.dumps({"schema": ERROR_SCHEMA, "error": error}, indent=2))
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented code; one error line, never a traceback."""
    if not os.environ.get("DICOMSEAL_DEBUG"):
        # Hostile media make pydicom warn about every odd value; findings and error lines
        # carry what matters, so library warnings stay off the terminal.
        warnings.simplefilter("ignore")
    stdout = _stdout_file()
    try:
        rv = cli.main(args=argv, prog_name="dicomseal", standalone_mode=False)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):
            click.echo(EXIT_INTERRUPTED_MESSAGE, err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo("dicomseal: aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code not in (0,) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit as exc:
        if exc.code == 1 and _output_pipe_closed(stdout):  # click and rich answer a
            _report_lost()  # closed pipe with exit 1, the FAILED code
        raise exc
    except DicomSealError as exc:
        _fail(sys.argv[1:] if argv is None else argv, exc, exit_code_for(exc))
    except KeyboardInterrupt:
        click.echo(EXIT_INTERRUPTED_MESSAGE, err=True)
        sys.exit(EXIT_INTERRUPTED)
    except MemoryError:
        click.echo("dicomseal: error: out of memory while reading input", err=True)
        sys.exit(EXIT_IO)
    except Exception as exc:  # the last line of defence: one line, no traceback
        if os.environ.get("DICOMSEAL_DEBUG"):
            raise
        click.echo(
            f"dicomseal: internal error: {type(exc).__name__}: {exc} "
            "(set DICOMSEAL_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(EXIT_IO)
    _finish(rv, program=argv is None)


def _finish(rv: object, *, program: bool) -> None:
    """Exit with the command's code once its output is out (``program``: run as the
    program, not called by a caller that keeps the streams)."""
    code = rv if isinstance(rv, int) else EXIT_SUCCESS
    if isinstance(rv, QuickExit) and program:
        _leave_now(code)
    if program and sys.stdout is not None:
        try:  # what is still buffered: a closed pipe or a full disk is not the verdict
            sys.stdout.flush()
        except (OSError, ValueError):
            _report_lost()
    sys.exit(code)


def _report_lost() -> None:
    """End with exit 4 and one line on stderr: the report could not be written."""
    if sys.stderr is not None:  # what was said before comes first
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
    with contextlib.suppress(OSError):
        os.write(2, b"dicomseal: error: the report could not be written to standard output\n")
    os._exit(EXIT_IO)


def _stdout_file() -> tuple[int, int] | None:
    """What file descriptor 1 is (device, inode); ``None`` when it is closed."""
    try:
        st = os.fstat(1)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _output_pipe_closed(before: tuple[int, int] | None) -> bool:
    """True once click or rich met a closed output pipe: click wraps stdout to silence
    it, rich points descriptor 1 at ``/dev/null`` (``Console.on_broken_pipe``)."""
    from click.utils import PacifyFlushWrapper

    return isinstance(sys.stdout, PacifyFlushWrapper) or _stdout_file() != before


def _leave_now(code: int) -> None:
    """End the process with ``code`` now: output flushed, no interpreter teardown.

    A report that cannot be written (a full disk, a closed pipe) ends as
    :func:`_report_lost` does, never with the verdict's code: ``verify x > report.txt &&
    archive`` must not go on without the report. A stream the caller closed before the
    start (``2>&-``: Python then has no ``sys.stderr``) is left alone.
    """
    if sys.stdout is not None:
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            _report_lost()
    if sys.stderr is not None:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
    os._exit(code)
