"""Signing credentials: a private key and the matching X.509 certificate.

Passwords are never taken from the command line: the CLI reads
``$DICOMSEAL_KEY_PASSWORD`` or prompts. Nothing here logs or prints key material.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from dicomseal.errors import ConfigurationError
from dicomseal.signature.signer_policy import Preflight, preflight

__all__ = ["PASSWORD_ENV", "SigningCredentials", "load_certificates"]

#: Environment variable holding the signing key's password.
PASSWORD_ENV: Final = "DICOMSEAL_KEY_PASSWORD"  # noqa: S105 - a variable name

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def load_certificates(path: str | os.PathLike[str]) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle (or one DER certificate) at ``path``."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read certificate file: {exc.strerror}", path=str(p)
        ) from exc
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


@dataclass(frozen=True)
class SigningCredentials:
    """Private key + certificate (+ chain) of a signer."""

    private_key: PrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __repr__(self) -> str:  # never print key material
        return f"SigningCredentials(subject={self.certificate.subject.rfc4514_string()!r})"

    @property
    def is_rsa(self) -> bool:
        """True for an RSA key (the only kind PS3.15 profiles C.1-C.4 allow)."""
        return isinstance(self.private_key, rsa.RSAPrivateKey)

    def preflight(self, at: dt.datetime, extra_chain: Sequence[x509.Certificate] = ()) -> Preflight:
        """The signer certificate policy checked before signing (see :func:`preflight`)."""
        return preflight(self.private_key, self.certificate, (*self.chain, *extra_chain), at)

    @classmethod
    def load(
        cls,
        key_path: str | os.PathLike[str],
        cert_path: str | os.PathLike[str],
        password: bytes | None = None,
    ) -> SigningCredentials:
        """Load a PEM/DER private key and certificate (chain may follow the leaf).

        Raises
        ------
        ConfigurationError
            Unreadable files, wrong or missing password, key and certificate do not match,
            or an unsupported key type.
        """
        kp = Path(key_path)
        try:
            data = kp.read_bytes()
        except OSError as exc:
            raise ConfigurationError(f"cannot read key file: {exc.strerror}", path=str(kp)) from exc
        try:
            if b"-----BEGIN" in data:
                key = serialization.load_pem_private_key(data, password=password)
            else:
                key = serialization.load_der_private_key(data, password=password)
        except TypeError as exc:
            msg = (
                "key is encrypted: set $DICOMSEAL_KEY_PASSWORD or answer the prompt"
                if password is None
                else "key is not encrypted but a password was given"
            )
            raise ConfigurationError(msg, path=str(kp)) from exc
        except ValueError as exc:
            raise ConfigurationError(
                "cannot load private key (wrong password or format)", path=str(kp)
            ) from exc
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ConfigurationError("only RSA and EC keys are supported", path=str(kp))
        certs = load_certificates(cert_path)
        leaf = certs[0]
        if leaf.public_key() != key.public_key():
            raise ConfigurationError(
                "private key does not match the certificate", path=str(cert_path)
            )
        return cls(private_key=key, certificate=leaf, chain=tuple(certs[1:]))


def key_is_encrypted(key_path: str | os.PathLike[str]) -> bool:
    """Whether a PEM key file is password protected (so the CLI knows to prompt)."""
    try:
        data = Path(key_path).read_bytes()
    except OSError:
        return False
    return b"ENCRYPTED" in data[:200]
