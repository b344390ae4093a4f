"""CLI: ``--crl`` and ``--revocation`` for ``verify`` and ``media verify``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from dicomseal.signature.revocation import (
    RevocationMode,
    RevocationPolicy,
    load_crl,
    load_ocsp,
)

__all__ = ["policy_from_options", "revocation_options"]

F = TypeVar("F", bound=Callable[..., object])


def revocation_options(fn: F) -> F:
    """Add ``--crl FILE``, ``--ocsp FILE`` (repeatable) and ``--revocation MODE``."""
    fn = click.option(
        "--revocation",
        type=click.Choice([m.value for m in RevocationMode]),
        default=RevocationMode.SOFT_FAIL.value,
        show_default=True,
        help="Revocation checking of signer certificates, as of the signature's timestamp. "
        "soft-fail: use the CRLs given, ignore missing information (the usual default "
        "offline, where a verifier often has no CRL); hard-fail: a certificate naming a CRL "
        "or OCSP source must be checked; require: fail closed, never PASSED without "
        "revocation information for every certificate (INDETERMINATE); off: no check.",
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


def policy_from_options(
    crls: tuple[Path, ...], ocsps: tuple[Path, ...], revocation: str
) -> RevocationPolicy:
    """The policy the options ask for (files read and parsed here, usage errors exit 2)."""
    return RevocationPolicy(
        RevocationMode(revocation),
        tuple(load_crl(p) for p in crls),
        tuple(load_ocsp(p) for p in ocsps),
    )
