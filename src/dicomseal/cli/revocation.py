"""CLI: ``--crl``, ``--ocsp``, ``--revocation`` and ``--offline`` for the verifying commands.

Revocation sources named in the certificates (CRL distribution point, OCSP responder) are
asked over the network only when ``--revocation`` is given explicitly and ``--offline`` is
not: by default a verifier reads a medium without contacting anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypeVar

import click

if TYPE_CHECKING:
    from dicomseal.signature.revocation import RevocationPolicy

__all__ = [
    "MODES",
    "offline_option",
    "policy_from_options",
    "revocation_asked",
    "revocation_options",
]

F = TypeVar("F", bound=Callable[..., object])

#: The values of :class:`~dicomseal.signature.revocation.RevocationMode`, in its order:
#: the module itself is loaded only when a policy is built (not for a plain ``verify``).
MODES: Final = ("require", "hard-fail", "soft-fail", "off")


def revocation_options(fn: F) -> F:
    """Add ``--crl FILE``, ``--ocsp FILE`` (repeatable) and ``--revocation MODE``."""
    fn = click.option(
        "--revocation",
        type=click.Choice(MODES),
        default=None,
        show_default="soft-fail, without network",
        help="Revocation checking of signer certificates, as of the signature's timestamp. "
        "soft-fail: use the CRLs given, ignore missing information (the usual default "
        "offline, where a verifier often has no CRL); hard-fail: a certificate naming a CRL "
        "or OCSP source must be checked; require: fail closed, never PASSED without "
        "revocation information for every certificate (INDETERMINATE); off: no check. "
        "Given explicitly (and without --offline), the CRL distribution points and OCSP "
        "responders the certificates name are asked over HTTP.",
    )(fn)
    fn = click.option(
        "--ocsp",
        "ocsps",
        multiple=True,
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        metavar="FILE",
        help="An OCSP response (DER, e.g. from 'openssl ocsp -respout') for a certificate "
        "on the signer's path; repeatable.",
    )(fn)
    fn = click.option(
        "--crl",
        "crls",
        multiple=True,
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        metavar="FILE",
        help="A CRL (PEM or DER) of a CA on the signer's path; repeatable.",
    )(fn)
    return fn


def offline_option(fn: F) -> F:
    """Add ``--offline``: no network access at all, only the files given and the medium."""
    return click.option(
        "--offline",
        is_flag=True,
        help="Never use the network: revocation is judged only from --crl/--ocsp files, "
        "the validation data on the medium (DICOMSEA/VALDATA.P7) and the trust store.",
    )(fn)


def policy_from_options(
    crls: tuple[Path, ...],
    ocsps: tuple[Path, ...],
    revocation: str | None,
    offline: bool = False,
) -> RevocationPolicy:
    """The policy the options ask for (files read and parsed here, usage errors exit 2).

    The network is used only when ``--revocation`` was given and ``--offline`` was not.
    """
    from dicomseal.signature.revocation import RevocationMode, RevocationPolicy, load_crl, load_ocsp

    mode = RevocationMode(revocation or RevocationMode.SOFT_FAIL.value)
    return RevocationPolicy(
        mode,
        tuple(load_crl(p) for p in crls),
        tuple(load_ocsp(p) for p in ocsps),
        fetch=revocation is not None and not offline and mode is not RevocationMode.OFF,
    )


def revocation_asked(
    crls: tuple[Path, ...], ocsps: tuple[Path, ...], revocation: str | None
) -> bool:
    """Whether the options ask for more than the default policy, which checks nothing
    without files or network (:attr:`~dicomseal.signature.revocation.RevocationPolicy.active`
    is False for it)."""
    return bool(crls or ocsps) or revocation is not None
