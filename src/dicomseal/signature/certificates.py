"""Certificate files and names: read X.509 certificates, name them by fingerprint.

What verifying and signing share: a bounded read of a PEM bundle (RFC 7468 §5) or one
DER certificate (RFC 5280 §4.1), and the SHA-256 fingerprint of the DER encoding as
``openssl x509 -fingerprint -sha256`` prints it. Kept apart from the signing credentials
(:mod:`dicomseal.signature.credentials`) and the clinic PKI (:mod:`dicomseal.signature.keys`),
which re-export these names, so that verifying does not define what only signing uses.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from dicomseal.errors import ConfigurationError

__all__ = [
    "MAX_CREDENTIAL_FILE",
    "fingerprint_sha256",
    "load_certificates",
    "read_credential_file",
]

#: Largest key, certificate or PKCS #12 file read (a bundle with a long chain is a few KB).
MAX_CREDENTIAL_FILE: Final = 1 << 20


def read_credential_file(path: Path, what: str) -> bytes:
    """A key, certificate or bundle file, refusing one over :data:`MAX_CREDENTIAL_FILE` bytes."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_CREDENTIAL_FILE + 1)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read {what} file: {exc.strerror}", path=str(path)
        ) from exc
    if len(data) > MAX_CREDENTIAL_FILE:
        raise ConfigurationError(f"{what} file too large", path=str(path))
    return data


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (or one DER certificate) at ``path``."""
    p = Path(path)
    data = read_credential_file(p, "certificate")
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise ConfigurationError("not a PEM or DER X.509 certificate file", path=str(p)) from exc
    if not certs:
        raise ConfigurationError("no certificate in file", path=str(p))
    return certs


def fingerprint_sha256(cert: x509.Certificate) -> str:
    """SHA-256 of the DER certificate as ``AB:CD:...`` (``openssl x509 -fingerprint -sha256``)."""
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
