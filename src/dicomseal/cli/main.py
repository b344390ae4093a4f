"""Root of the ``dicomseal`` command line: one group, thin commands, one exit-code table.

Every command only parses options, calls the library and hands the result object to a
renderer in :mod:`dicomseal.report`. Errors from the library arrive as
:class:`~dicomseal.errors.DicomSealError` subclasses and are mapped to exit codes here, in
one place, as one clear line on stderr (never a traceback).
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Final

import click

from dicomseal import __version__
from dicomseal.cli import demo as demo_cmd
from dicomseal.cli import experiment as experiment_cmd
from dicomseal.cli import inspect as inspect_cmd
from dicomseal.cli import media as media_cmd
from dicomseal.cli import pacs as pacs_cmd
from dicomseal.cli import sign as sign_cmd
from dicomseal.cli import signatures as signatures_cmd
from dicomseal.cli import tamper as tamper_cmd
from dicomseal.cli import verify as verify_cmd
from dicomseal.cli import view as view_cmd
from dicomseal.errors import (
    ConfigurationError,
    DicomSealError,
    MediaError,
    PacsError,
    SignatureError,
    TrustError,
    UsageError,
)

__all__ = ["EXIT_CODES", "cli", "main"]

EXIT_SUCCESS: Final = 0
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INDETERMINATE: Final = 3
EXIT_IO: Final = 4

#: Exit code per error branch; the first matching class (most specific first) wins.
EXIT_CODES: Final[tuple[tuple[type[DicomSealError], int], ...]] = (
    (UsageError, EXIT_USAGE),
    (ConfigurationError, EXIT_USAGE),
    (TrustError, EXIT_USAGE),
    (SignatureError, EXIT_FAILED),
    (PacsError, EXIT_IO),
    (MediaError, EXIT_IO),
    (DicomSealError, EXIT_IO),
)


def exit_code_for(error: DicomSealError) -> int:
    """Exit code for a library error, from :data:`EXIT_CODES`."""
    for cls, code in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return EXIT_IO


@click.group(
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
    Look for red flags on unsigned media:   dicomseal inspect MEDIA
    Reproduce the 2009 study's attacks:     dicomseal tamper MEDIA --out OUT --mode careless ...
    Browse a medium with its verdict:       dicomseal view MEDIA --trust CA.pem
    Verify, then import into a PACS:        dicomseal import MEDIA --to AET@HOST:PORT

    \b
    Exit codes: 0 PASSED/success, 1 FAILED, 2 usage, 3 INDETERMINATE, 4 I/O or media error.
    Key passwords come from $DICOMSEAL_KEY_PASSWORD or a prompt, never from the command line.
    """


for _module in (
    demo_cmd,
    sign_cmd,
    verify_cmd,
    signatures_cmd,
    media_cmd,
    inspect_cmd,
    tamper_cmd,
    experiment_cmd,
    view_cmd,
    pacs_cmd,
):
    for _command in _module.commands:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented code; one error line, never a traceback."""
    if not os.environ.get("DICOMSEAL_DEBUG"):
        # Hostile media make pydicom warn about every odd value; findings and error lines
        # carry what matters, so library warnings stay off the terminal.
        warnings.simplefilter("ignore")
    try:
        rv = cli.main(args=argv, prog_name="dicomseal", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("dicomseal: aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if exc.exit_code not in (0,) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except DicomSealError as exc:
        click.echo(f"dicomseal: error: {exc}", err=True)
        sys.exit(exit_code_for(exc))
    except KeyboardInterrupt:
        click.echo("dicomseal: interrupted", err=True)
        sys.exit(130)
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
    sys.exit(rv if isinstance(rv, int) else EXIT_SUCCESS)
