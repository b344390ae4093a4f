"""Who signed, as a person on the phone can check it: subject plus SHA-256 fingerprints.

Fingerprints are the SHA-256 of the DER certificate in the ``AB:CD:...`` form that
``openssl x509 -noout -fingerprint -sha256`` prints, for the signer and for its CA(s).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from rich.console import Console

from dicomseal.signature.keys import fingerprint_sha256, issuers_of

__all__ = ["render_signer_lines", "signer_lines"]


def signer_lines(leaf: x509.Certificate, chain: Sequence[x509.Certificate]) -> list[str]:
    """``signer SUBJECT``, its fingerprint, then one line per CA above it."""
    lines = [
        f"signer {leaf.subject.rfc4514_string()}",
        f"  signer SHA-256 {fingerprint_sha256(leaf)}",
    ]
    for ca in issuers_of(leaf, chain):
        lines.append(f"  CA {ca.subject.rfc4514_string()}")
        lines.append(f"  CA SHA-256 {fingerprint_sha256(ca)}")
    return lines


def render_signer_lines(
    console: Console, leaf: x509.Certificate, chain: Sequence[x509.Certificate]
) -> None:
    """Print :func:`signer_lines`, indented under a command's summary."""
    for line in signer_lines(leaf, chain):
        console.print(f"  {line}", markup=False, highlight=False)
