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
from cryptography.hazmat.primitives.serialization import pkcs12

from dicomseal.errors import ConfigurationError
from dicomseal.hazmat.raw import DigestSigner
from dicomseal.signature.certificates import (
    load_certificates,
    read_credential_file,
)
from dicomseal.signature.preflight import Preflight, preflight

__all__ = [
    "PASSWORD_ENV",
    "SigningCredentials",
    "is_pkcs11_uri",
    "is_pkcs12",
    "load_certificates",
    "read_private_key",
]

#: Environment variable holding the signing key's password.
PASSWORD_ENV: Final = "DICOMSEAL_KEY_PASSWORD"  # noqa: S105 - a variable name

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
#: A software key, or a key that stays on a token and signs digests there.
SigningKey = PrivateKey | DigestSigner


def is_pkcs11_uri(key: str | os.PathLike[str]) -> bool:
    """Whether ``--key`` names a token key (RFC 7512 ``pkcs11:`` URI)."""
    return os.fspath(key).startswith("pkcs11:")


def is_pkcs12(key: str | os.PathLike[str]) -> bool:
    """Whether ``--key`` is a PKCS #12 bundle (``.p12``/``.pfx``, RFC 7292)."""
    return Path(key).suffix.lower() in (".p12", ".pfx")


def read_private_key(key_path: str | os.PathLike[str], password: bytes | None = None) -> PrivateKey:
    """A PEM/DER private key (PKCS #1, SEC 1 or PKCS #8, RFC 5958), RSA or EC.

    Raises
    ------
    ConfigurationError
        Unreadable file, wrong or missing password, unsupported key type.
    """
    kp = Path(key_path)
    data = read_credential_file(kp, "key")
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
    return key


@dataclass(frozen=True)
class SigningCredentials:
    """Private key + certificate (+ chain) of a signer."""

    private_key: SigningKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __repr__(self) -> str:  # never print key material
        return f"SigningCredentials(subject={self.certificate.subject.rfc4514_string()!r})"

    @property
    def is_rsa(self) -> bool:
        """True for an RSA key (the only kind PS3.15 profiles C.1-C.4 allow)."""
        return isinstance(self.private_key.public_key(), rsa.RSAPublicKey)

    @property
    def on_token(self) -> bool:
        """True when the key lives on a PKCS #11 token (its session cannot cross a fork)."""
        return not isinstance(self.private_key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)

    @classmethod
    def load_pkcs12(
        cls, path: str | os.PathLike[str], password: bytes | None
    ) -> SigningCredentials:
        """Key, certificate and chain from a PKCS #12 bundle (RFC 7292), as CAs hand out.

        Raises
        ------
        ConfigurationError
            Unreadable, wrong password, no key or certificate, unsupported key type.
        """
        p = Path(path)
        data = read_credential_file(p, "PKCS #12")
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except ValueError as exc:
            raise ConfigurationError(
                "cannot open the PKCS #12 bundle (wrong password or not PKCS #12)", path=str(p)
            ) from exc
        if key is None or cert is None:
            raise ConfigurationError(
                "PKCS #12 bundle lacks the key or its certificate", path=str(p)
            )
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ConfigurationError("only RSA and EC keys are supported", path=str(p))
        if cert.public_key() != key.public_key():
            raise ConfigurationError("the bundle's key does not match its certificate", path=str(p))
        return cls(private_key=key, certificate=cert, chain=tuple(extra))

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
        key = read_private_key(key_path, password)
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
