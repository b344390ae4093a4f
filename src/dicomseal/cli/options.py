"""Options and plumbing shared by several commands (trust, time, output, passwords)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from dicomseal.errors import ConfigurationError, UsageError
from dicomseal.signature.credentials import PASSWORD_ENV, SigningCredentials, key_is_encrypted
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import parse_dicom_datetime

__all__ = [
    "allow_incomplete_chain_option",
    "check_before_signing",
    "err_console",
    "format_option",
    "load_credentials",
    "out_console",
    "parse_at",
    "strict_option",
    "trust_options",
]

F = TypeVar("F", bound=Callable[..., Any])


def out_console() -> Console:
    """Console for results (stdout); colour only on a terminal."""
    return Console(highlight=False, soft_wrap=True)


def err_console() -> Console:
    """Console for progress and warnings (stderr)."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def trust_options(f: F) -> F:
    """``--trust`` (anchors) and ``--untrusted`` (intermediates), repeatable."""
    f = click.option(
        "--untrusted",
        multiple=True,
        metavar="PEM",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Intermediate certificates to build chains with (not trusted).",
    )(f)
    f = click.option(
        "--trust",
        multiple=True,
        metavar="PEM",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Trust anchor (CA or pinned signer certificate), repeatable. "
        "Without one, intact signatures are INDETERMINATE.",
    )(f)
    return f


def strict_option(f: F) -> F:
    """``--strict``: weak MAC algorithms (MD5, SHA-1, RIPEMD-160) make a signature INDETERMINATE."""
    return click.option(
        "--strict",
        is_flag=True,
        help="Refuse weak MAC algorithms (MD5, SHA-1, RIPEMD-160): such signatures are "
        "INDETERMINATE (reason weak-mac-algorithm) instead of PASSED with a warning.",
    )(f)


def format_option(f: F) -> F:
    """``--format text|json``."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="json: machine-readable document on stdout.",
    )(f)


def load_trust(
    trust: tuple[Path, ...], untrusted: tuple[Path, ...], *, strict: bool = False
) -> TrustContext:
    """Load trust anchors and intermediates given on the command line (``--strict`` too)."""
    return TrustContext.load(trust, untrusted, refuse_weak_mac=strict)


def parse_at(value: str | None) -> dt.datetime | None:
    """``--at``: ISO 8601 (``2026-01-31T12:00:00Z``) or DICOM DT; naive means UTC."""
    if value is None:
        return None
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parse_dicom_datetime(text)
        except ValueError as exc:
            raise UsageError(f"--at {value!r}: not an ISO 8601 or DICOM date-time") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def allow_incomplete_chain_option(f: F) -> F:
    """``--allow-incomplete-chain``: no warning when the chain stops short of a root."""
    return click.option(
        "--allow-incomplete-chain",
        is_flag=True,
        help="Do not warn when --cert and --chain do not reach a self-signed root "
        "(the receiver then needs the missing certificates from elsewhere).",
    )(f)


def check_before_signing(
    credentials: SigningCredentials, cert: Path, *, allow_incomplete_chain: bool
) -> None:
    """Pre-flight: refuse credentials a verifier would refuse, before any work is done.

    Raises
    ------
    ConfigurationError
        One line naming every problem (exit 2): not valid now, key mismatch, CA
        certificate, key usage, extended key usage, weak key, name constraints.
    """
    result = credentials.preflight(dt.datetime.now(dt.UTC))
    if result.problems:
        codes = ", ".join(dict.fromkeys(p.code.value for p in result.problems))
        text = "; ".join(p.message for p in result.problems)
        raise ConfigurationError(
            f"refusing to sign: signer certificate {text} [{codes}]", path=str(cert)
        )
    if not allow_incomplete_chain:
        for w in result.warnings:
            err_console().print(
                f"dicomseal: warning: {cert}: signer certificate {w.message}", markup=False
            )


def load_credentials(key: Path, cert: Path) -> SigningCredentials:
    """Load signing credentials; the password comes from the environment or a prompt."""
    password: bytes | None = None
    if key_is_encrypted(key):
        env = os.environ.get(PASSWORD_ENV)
        if env is not None:
            password = env.encode()
        elif sys.stdin.isatty():
            password = click.prompt(f"Password for {key.name}", hide_input=True, err=True).encode()
        else:
            raise ConfigurationError(f"key is encrypted: set ${PASSWORD_ENV}", path=str(key))
    return SigningCredentials.load(key, cert, password)
