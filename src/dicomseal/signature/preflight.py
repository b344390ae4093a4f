"""Pre-flight before signing: refuse credentials a verifier would refuse, before any work.

``sign`` and ``media create`` apply the signer certificate policy of
:mod:`dicomseal.signature.signer_policy` (RFC 5280 §4.2, PS3.15 §C.1) to their own
credentials, with the key/certificate match and the chain up to a self-signed root
(RFC 5280 §6.1) added. Signing only: a verifier never loads this module.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography import x509

from dicomseal.signature.signer_policy import (
    PolicyCode,
    PolicyProblem,
    certificate_problems,
    issued_by,
    name_constraint_problems,
)

__all__ = ["Preflight", "preflight"]


@dataclass(frozen=True)
class Preflight:
    """What ``sign`` / ``media create`` found before doing any work.

    ``problems`` refuse signing; ``warnings`` are printed and signing goes on.
    """

    problems: tuple[PolicyProblem, ...]
    warnings: tuple[PolicyProblem, ...]


def _chain_to_root(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate]
) -> list[x509.Certificate] | None:
    """Follow issuers through ``pool`` up to a self-signed root; None when it stops short."""
    path, current = [leaf], leaf
    for _ in range(len(pool) + 1):
        if current.subject == current.issuer and issued_by(current, current):
            return path
        nxt = next((c for c in pool if c not in path and issued_by(current, c)), None)
        if nxt is None:
            return None
        path.append(nxt)
        current = nxt
    return None


def preflight(
    private_key: object,
    certificate: x509.Certificate,
    chain: Sequence[x509.Certificate],
    at: dt.datetime,
) -> Preflight:
    """Check signing credentials before any work, with the same rules verifiers apply.

    Refused: a certificate not valid at ``at``, a key that does not match it, and every
    :func:`certificate_problems` rule (the private key's strength included). Warned: a
    chain that does not reach a self-signed root through ``chain``, and the name
    constraints of that chain when it does.
    """
    problems: list[PolicyProblem] = []
    if at < certificate.not_valid_before_utc:
        problems.append(
            PolicyProblem(
                PolicyCode.NOT_YET_VALID,
                f"is not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M:%SZ}",
            )
        )
    if at > certificate.not_valid_after_utc:
        problems.append(
            PolicyProblem(
                PolicyCode.EXPIRED,
                f"expired {certificate.not_valid_after_utc:%Y-%m-%d %H:%M:%SZ}",
            )
        )
    public = getattr(private_key, "public_key", None)
    if public is None or public() != certificate.public_key():
        problems.append(
            PolicyProblem(PolicyCode.KEY_MISMATCH, "does not match the private key given")
        )
    problems.extend(certificate_problems(certificate))
    warnings: list[PolicyProblem] = []
    path = _chain_to_root(certificate, chain)
    if path is None:
        warnings.append(
            PolicyProblem(
                PolicyCode.INCOMPLETE_CHAIN,
                "chain does not reach a self-signed root (give the intermediates and the "
                "root with --chain, or --allow-incomplete-chain)",
            )
        )
    else:
        problems.extend(name_constraint_problems(path))
    return Preflight(tuple(problems), tuple(warnings))
