"""Options and plumbing shared by several commands (trust, time, output, passwords)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dicomseal.errors import ConfigurationError, MediaError, UsageError
from dicomseal.signature.anchors import Anchor, load_anchor_files
from dicomseal.signature.certificates import load_certificates
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import parse_dicom_datetime

if TYPE_CHECKING:
    from rich.console import Console

    from dicomseal.signature.credentials import SigningCredentials

__all__ = [
    "InputPath",
    "TrustSelection",
    "allow_incomplete_chain_option",
    "check_before_signing",
    "credential_options",
    "err_console",
    "format_option",
    "key_password",
    "load_credentials",
    "load_trust",
    "out_console",
    "parse_at",
    "quiet_verbose_options",
    "select_trust",
    "signing_credentials",
    "strict_option",
    "trust_options",
]

F = TypeVar("F", bound=Callable[..., Any])


class InputPath(click.Path):
    """A file or folder to read: a missing one is an I/O error (exit 4, and an error
    document under ``--format json``), as for ``verify``, not a usage error (exit 2).

    click's own check (``exists=True``) raises a usage error; here the
    :class:`~dicomseal.errors.MediaError` reaches :func:`dicomseal.cli.main.main`.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, once it exists (a dangling link counts as missing)."""
        import os

        if not os.path.exists(os.fsdecode(value)):
            raise MediaError("no such file or folder", path=os.fsdecode(value))
        return super().convert(value, param, ctx)


def _console(*, stderr: bool) -> Console:
    """rich's console, every printed string's control and format characters written out
    (:func:`~dicomseal.wording.visible`: rich passes ESC and C1 controls through, so a
    value from a medium could clear the terminal and draw another report)."""
    from rich.console import Console  # loaded when a command draws with rich

    from dicomseal.wording import visible

    class _Console(Console):
        def print(self, *objects: Any, **kwargs: Any) -> None:
            super().print(*(visible(o) if isinstance(o, str) else o for o in objects), **kwargs)

    return _Console(stderr=stderr, highlight=False, soft_wrap=True, emoji=False)


def out_console() -> Console:
    """Console for results (stdout); colour only on a terminal."""
    return _console(stderr=False)


def err_console() -> Console:
    """Console for progress and warnings (stderr)."""
    return _console(stderr=True)


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
        metavar="PEM|DIR",
        type=click.Path(path_type=Path),
        help="Trust anchor (CA or pinned signer certificate) or a folder of them, "
        "repeatable. Default: the trust store (see 'dicomseal trust list'). "
        "Without any anchor, intact signatures are INDETERMINATE.",
    )(f)
    return f


def strict_option(f: F) -> F:
    """``--strict``: weak MAC algorithms (MD5, SHA-1, RIPEMD-160) make a signature INDETERMINATE."""
    return click.option(
        "--strict",
        is_flag=True,
        help="Refuse weak MAC algorithms (MD5, SHA-1, RIPEMD-160): such signatures are "
        "INDETERMINATE (reason weak-mac-algorithm) instead of PASSED with a warning. On a "
        "medium, files an operating system wrote (.DS_Store, ._*, System Volume "
        "Information/ ...) then count as added files instead of being ignored.",
    )(f)


def quiet_verbose_options(f: F) -> F:
    """``-q`` (the verdict line only) and ``-v`` (every file, passed ones too)."""
    f = click.option(
        "--verbose", "-v", is_flag=True, help="List every file, the ones that passed too."
    )(f)
    f = click.option("--quiet", "-q", is_flag=True, help="Print the verdict line only.")(f)
    return f


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


@dataclass(frozen=True)
class TrustSelection:
    """The anchors a verifying command uses and where they came from."""

    context: TrustContext
    anchors: tuple[Anchor, ...]
    origin: str

    def describe(self) -> str:
        """One line for the terminal: origin, then each anchor's subject and fingerprint."""
        if not self.anchors:
            return f"trust anchors: none ({self.origin})"
        listed = "; ".join(f"{a.name}: {a.subject} [{a.fingerprint}]" for a in self.anchors)
        return f"trust anchors from {self.origin}: {listed}"

    def announce(self) -> None:
        """Name the anchors at the top of a text report (stdout; stderr is for errors)."""
        out_console().print(self.describe(), markup=False, highlight=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object ``trust_anchors`` of the verify documents."""
        return {"origin": self.origin, "anchors": [a.to_dict() for a in self.anchors]}


def select_trust(
    trust: tuple[Path, ...], untrusted: tuple[Path, ...], *, strict: bool = False
) -> TrustSelection:
    """Anchors from ``--trust`` (files or folders), else from the trust store.

    Intermediates (``--untrusted``) never become anchors; ``strict`` (``--strict``)
    refuses weak MACs.
    """
    if trust:
        for p in trust:
            if not p.exists():
                raise ConfigurationError("no such trust anchor file or folder", path=str(p))
        anchors = tuple(a for p in trust for a in load_anchor_files(p))
        if not anchors:
            raise ConfigurationError("no certificate in the --trust folder(s)")
        origin = "--trust"
    else:
        from dicomseal.signature.truststore import TrustStore  # no --trust: the store

        store = TrustStore.default()
        anchors = store.anchors()
        origin = "trust store " + ", ".join(str(f) for f in store.folders)
    inters = tuple(c for p in untrusted for c in load_certificates(p))
    context = TrustContext(
        anchors=tuple(a.certificate for a in anchors),
        intermediates=inters,
        refuse_weak_mac=strict,
    )
    return TrustSelection(context, anchors, origin)


def load_trust(
    trust: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    *,
    strict: bool = False,
    fmt: str = "text",
) -> TrustContext:
    """Load trust anchors (``--trust`` or the store) and intermediates.

    In text mode the anchors used are named first on stdout; JSON documents carry them
    instead (``trust_anchors``, from :meth:`TrustSelection.to_dict`). Commands that
    render a report call :meth:`TrustSelection.announce` just before it instead.
    """
    selection = select_trust(trust, untrusted, strict=strict)
    if fmt == "text":
        selection.announce()
    return selection.context


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


def credential_options(
    role: str,
    *,
    key_required: bool = False,
    chain_help: str,
    purpose: str = "",
    key_aliases: tuple[str, ...] = (),
    cert_aliases: tuple[str, ...] = (),
) -> Callable[[F], F]:
    """``--key``, ``--cert``, ``--chain`` and ``--allow-incomplete-chain`` of a signing command.

    ``role`` names the key's owner in the help ("Signer", "Creator's") and ``purpose``,
    when given, says what the key signs; ``key_aliases`` and ``cert_aliases`` are older
    spellings that keep working (their values still arrive as ``key`` and ``cert``). The
    values go to :func:`signing_credentials`.
    """

    def older(aliases: tuple[str, ...]) -> str:
        return f" {'/'.join(aliases)}: the older spelling." if aliases else ""

    def decorate(f: F) -> F:
        f = allow_incomplete_chain_option(f)
        f = click.option(
            "--chain",
            multiple=True,
            type=click.Path(dir_okay=False, path_type=Path),
            metavar="PEM",
            help=chain_help,
        )(f)
        f = click.option(
            "--cert",
            *cert_aliases,
            "cert",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"{role} certificate (PEM; further certificates in the file are its chain). "
            "Needed with a PEM/DER key; a bundle or token provides its own." + older(cert_aliases),
        )(f)
        return click.option(
            "--key",
            *key_aliases,
            "key",
            required=key_required,
            type=click.Path(dir_okay=False, path_type=Path),
            help=(f"{purpose} " if purpose else "")
            + f"{role} private key (PEM or DER, RSA or EC), a PKCS #12 bundle (.p12/.pfx) "
            "or a token key 'pkcs11:token=...;object=...'. Passwords come from "
            "$DICOMSEAL_KEY_PASSWORD (PIN: $DICOMSEAL_PKCS11_PIN) or a prompt."
            + older(key_aliases),
        )(f)

    return decorate


def signing_credentials(
    key: Path, cert: Path | None, chain: tuple[Path, ...], *, allow_incomplete_chain: bool
) -> SigningCredentials:
    """The credentials of :func:`credential_options`, ``--chain`` added, checked before use.

    Raises
    ------
    ConfigurationError
        The key or a certificate cannot be loaded, or a verifier would refuse them
        (:func:`check_before_signing`).
    """
    from dicomseal.signature.credentials import SigningCredentials  # signing only

    credentials = load_credentials(key, cert)
    extra = tuple(c for p in chain for c in load_certificates(p))
    if extra:
        credentials = SigningCredentials(
            credentials.private_key, credentials.certificate, credentials.chain + extra
        )
    check_before_signing(credentials, cert or key, allow_incomplete_chain=allow_incomplete_chain)
    return credentials


def check_before_signing(
    credentials: SigningCredentials, cert: Path | str, *, allow_incomplete_chain: bool
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


def key_password(key: Path) -> bytes:
    """The password of an existing key: ``$DICOMSEAL_KEY_PASSWORD`` or a prompt."""
    from dicomseal.signature.credentials import PASSWORD_ENV

    env = os.environ.get(PASSWORD_ENV)
    if env is not None:
        return env.encode()
    if sys.stdin.isatty():
        return str(click.prompt(f"Password for {key.name}", hide_input=True, err=True)).encode()
    raise ConfigurationError(f"key is encrypted: set ${PASSWORD_ENV}", path=str(key))


def _pin_prompt() -> str:
    from dicomseal.signature.token import PIN_ENV

    if not sys.stdin.isatty():
        raise ConfigurationError(f"token PIN needed: set ${PIN_ENV}")
    return str(click.prompt("Token user PIN", hide_input=True, err=True))


def load_credentials(key: Path | str, cert: Path | None) -> SigningCredentials:
    """Load signing credentials: a PEM/DER key, a PKCS #12 bundle or a PKCS #11 token key.

    Passwords and PINs come from the environment or a prompt, never the command line.
    ``cert`` is required for a PEM/DER key; for a bundle or a token it overrides the
    certificate found there.
    """
    from dicomseal.signature.credentials import (  # signing only
        PASSWORD_ENV,
        SigningCredentials,
        is_pkcs11_uri,
        is_pkcs12,
        key_is_encrypted,
    )

    key_text = os.fspath(key)
    extra = tuple(load_certificates(cert)) if cert is not None else ()
    if is_pkcs11_uri(key_text):
        from dicomseal.signature.token import open_token_key

        token_key, leaf = open_token_key(key_text, extra[0] if extra else None, _pin_prompt)
        return SigningCredentials(token_key, leaf, extra[1:])
    path = Path(key_text)
    if is_pkcs12(path):
        env = os.environ.get(PASSWORD_ENV)
        try:
            creds = SigningCredentials.load_pkcs12(path, env.encode() if env is not None else None)
        except ConfigurationError:
            if env is not None or not sys.stdin.isatty():
                raise
            creds = SigningCredentials.load_pkcs12(path, key_password(path))
        if extra:
            if extra[0].public_key() != creds.certificate.public_key():
                raise ConfigurationError("--cert does not match the key in the bundle")
            return SigningCredentials(creds.private_key, extra[0], extra[1:] or creds.chain)
        return creds
    if cert is None:
        raise ConfigurationError("--cert is needed with a PEM or DER key", path=key_text)
    password = key_password(path) if key_is_encrypted(path) else None
    return SigningCredentials.load(path, cert, password)
