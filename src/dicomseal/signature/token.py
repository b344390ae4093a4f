"""Signing keys held in a smart card or HSM, reached through PKCS #11 (RFC 7512 URIs).

``--key 'pkcs11:token=Clinic%20A;object=signer?module-path=/usr/lib/softhsm/libsofthsm2.so'``
names a private key on a token. The PKCS #11 module comes from the URI's ``module-path``
query attribute (RFC 7512 §2.3) or ``$DICOMSEAL_PKCS11_MODULE``; the user PIN from
``$DICOMSEAL_PKCS11_PIN``, ``pin-value`` or ``pin-source`` (a file) in the URI, or a
prompt. The key never leaves the token: RSA keys sign a DER DigestInfo with
``CKM_RSA_PKCS`` (RFC 8017 §8.2), EC keys the bare digest with ``CKM_ECDSA``
(PKCS #11 v2.40 §2.3.6), whose ``r||s`` output is re-encoded as a DER ECDSA-Sig-Value.
The certificate is read from the token (same label or id) unless one is given.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa, utils

from dicomseal.errors import ConfigurationError, SignatureError
from dicomseal.hazmat.raw import MacAlgorithm, PublicKey, digest_info

__all__ = ["MODULE_ENV", "PIN_ENV", "Pkcs11Uri", "TokenKey", "open_token_key"]

#: Environment variables: the PKCS #11 module (shared library) and the user PIN.
MODULE_ENV: Final = "DICOMSEAL_PKCS11_MODULE"
PIN_ENV: Final = "DICOMSEAL_PKCS11_PIN"
_MAX_PIN_FILE: Final = 4096


@dataclass(frozen=True)
class Pkcs11Uri:
    """The parts of an RFC 7512 ``pkcs11:`` URI that select a token and a key."""

    path: dict[str, str]
    query: dict[str, str]

    def __repr__(self) -> str:  # a pin-value must never be printed
        return f"Pkcs11Uri(path={self.path!r})"

    @classmethod
    def parse(cls, uri: str) -> Pkcs11Uri:
        """Split ``pkcs11:a=b;c=d?e=f&g=h`` (RFC 7512 §2.3), percent-decoding values."""
        if not uri.startswith("pkcs11:"):
            raise ConfigurationError("not a pkcs11: URI")
        rest = uri[len("pkcs11:") :]
        path_part, _, query_part = rest.partition("?")

        def pairs(text: str, sep: str) -> dict[str, str]:
            out: dict[str, str] = {}
            for item in filter(None, text.split(sep)):
                name, eq, value = item.partition("=")
                if not eq or not name:
                    raise ConfigurationError(f"pkcs11 URI: {name or item!r} has no value")
                out[name.lower()] = unquote(value)
            return out

        parsed = cls(pairs(path_part, ";"), pairs(query_part, "&"))
        if "object" not in parsed.path and "id" not in parsed.path:
            raise ConfigurationError("pkcs11 URI must name the key: object=LABEL or id=%XX")
        return parsed

    def module(self) -> str:
        """The PKCS #11 shared library to load."""
        module = self.query.get("module-path") or os.environ.get(MODULE_ENV)
        if not module:
            raise ConfigurationError(
                f"no PKCS #11 module: add module-path=... to the URI or set ${MODULE_ENV}"
            )
        return module

    def pin(self, prompt: Callable[[], str] | None) -> str | None:
        """The user PIN: environment, ``pin-value``, ``pin-source`` file, else ``prompt``."""
        if (env := os.environ.get(PIN_ENV)) is not None:
            return env
        if "pin-value" in self.query:
            return self.query["pin-value"]
        if "pin-source" in self.query:
            source = self.query["pin-source"].removeprefix("file:")
            try:
                with Path(source).open("rb") as fh:
                    return fh.read(_MAX_PIN_FILE).decode().strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigurationError("cannot read the PIN file", path=source) from exc
        return prompt() if prompt is not None else None


@dataclass(frozen=True)
class TokenKey:
    """A private key on a PKCS #11 token; implements :class:`~dicomseal.hazmat.raw.DigestSigner`."""

    label: str
    _public: PublicKey = field(repr=False)
    _key: Any = field(repr=False)
    _session: Any = field(repr=False)

    def public_key(self) -> PublicKey:
        """The public half (from the certificate the token holds or was given)."""
        return self._public

    def sign_digest(self, algorithm: MacAlgorithm, digest: bytes) -> bytes:
        """Sign on the token: CKM_RSA_PKCS over DigestInfo, or CKM_ECDSA over the digest."""
        from pkcs11 import Mechanism  # the PKCS #11 binding loads only for token keys
        from pkcs11.exceptions import PKCS11Error

        try:
            if isinstance(self._public, rsa.RSAPublicKey):
                return bytes(
                    self._key.sign(digest_info(algorithm, digest), mechanism=Mechanism.RSA_PKCS)
                )
            raw = bytes(self._key.sign(digest, mechanism=Mechanism.ECDSA))
        except PKCS11Error as exc:
            raise SignatureError(f"the token refused to sign: {type(exc).__name__}") from exc
        half = len(raw) // 2
        return utils.encode_dss_signature(
            int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        )


def _find(session: Any, uri: Pkcs11Uri, object_class: Any) -> list[Any]:
    from pkcs11 import Attribute

    attrs: dict[Any, Any] = {Attribute.CLASS: object_class}
    if "object" in uri.path:
        attrs[Attribute.LABEL] = uri.path["object"]
    if "id" in uri.path:
        attrs[Attribute.ID] = uri.path["id"].encode("latin-1")
    return list(session.get_objects(attrs))


def open_token_key(
    uri_text: str, certificate: x509.Certificate | None, prompt: Callable[[], str] | None
) -> tuple[TokenKey, x509.Certificate]:
    """Log in to the token named by ``uri_text`` and find its private key and certificate.

    Raises
    ------
    ConfigurationError
        Unknown module or token, wrong PIN, no such key, no certificate.
    """
    import pkcs11
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.exceptions import PKCS11Error

    uri = Pkcs11Uri.parse(uri_text)
    try:
        lib = pkcs11.lib(uri.module())
        token = lib.get_token(token_label=uri.path.get("token"))
        session = token.open(user_pin=uri.pin(prompt))
        keys = _find(session, uri, ObjectClass.PRIVATE_KEY)
        if len(keys) != 1:
            raise ConfigurationError(
                f"the token holds {len(keys)} private keys matching the URI (need exactly one)"
            )
        if certificate is None:
            certs = _find(session, uri, ObjectClass.CERTIFICATE)
            if len(certs) != 1:
                raise ConfigurationError(
                    "no single certificate for the key on the token: give it with --cert"
                )
            certificate = x509.load_der_x509_certificate(bytes(certs[0][Attribute.VALUE]))
    except ConfigurationError:
        raise
    except (PKCS11Error, RuntimeError, OSError) as exc:
        raise ConfigurationError(f"PKCS #11: {type(exc).__name__} {exc}".strip()) from exc
    public = certificate.public_key()
    if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise ConfigurationError("only RSA and EC token keys are supported")
    label = uri.path.get("object") or uri.path.get("id", "")
    key = TokenKey(label, public, keys[0], session)
    _check_pair(key, public)
    return key, certificate


def _check_pair(key: TokenKey, public: PublicKey) -> None:
    """Sign a probe on the token and check it with the certificate's key."""
    import hashlib

    from dicomseal.hazmat.raw import verify_digest

    probe = hashlib.sha256(b"dicomseal key check").digest()
    signature = key.sign_digest(MacAlgorithm.SHA256, probe)
    if not verify_digest(public, MacAlgorithm.SHA256, probe, signature):
        raise ConfigurationError("the token's private key does not match the certificate")
