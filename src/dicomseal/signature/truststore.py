"""The trust store: the partner CAs (or pinned signer certificates) this machine trusts.

One PEM file per anchor, named ``NAME.pem``, in the user folder
``$XDG_CONFIG_HOME/dicomseal/trust/`` (default ``~/.config``, XDG Base Directory
Specification) plus the system folder ``/etc/dicomseal/trust.d/``. ``$DICOMSEAL_TRUST``
names one folder to use instead of both (scripts, tests, a shared clinic folder).
Anchors are identified by name or by SHA-256 fingerprint (``AB:CD:...``); adding a
certificate the store already holds is refused. Nothing here decides trust in a
signature: :class:`~dicomseal.signature.trust.TrustContext` does, with these anchors.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from dicomseal.errors import UsageError
from dicomseal.signature.anchors import Anchor, load_anchor_files
from dicomseal.signature.certificates import fingerprint_sha256, load_certificates

__all__ = [
    "STORE_ENV",
    "SYSTEM_DIR",
    "Anchor",
    "TrustStore",
    "load_anchor_files",
]

#: Environment variable naming a folder used instead of the user and system stores.
STORE_ENV: Final = "DICOMSEAL_TRUST"
SYSTEM_DIR: Final = Path("/etc/dicomseal/trust.d")
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _normalise_fingerprint(text: str) -> str:
    return text.replace(":", "").replace(" ", "").upper()


@dataclass(frozen=True)
class TrustStore:
    """The folders that make up the store; the first is the one ``add``/``remove`` write."""

    folders: tuple[Path, ...]

    @classmethod
    def default(cls, environ: Mapping[str, str] | None = None) -> TrustStore:
        """``$DICOMSEAL_TRUST`` alone, else the XDG user folder plus ``/etc/dicomseal/trust.d``."""
        env = os.environ if environ is None else environ
        if env.get(STORE_ENV):
            return cls((Path(env[STORE_ENV]),))
        base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
        return cls((Path(base) / "dicomseal" / "trust", SYSTEM_DIR))

    @property
    def writable(self) -> Path:
        """The folder ``trust add`` writes to."""
        return self.folders[0]

    def anchors(self) -> tuple[Anchor, ...]:
        """Every anchor of every folder (missing folders are empty)."""
        return tuple(a for f in self.folders if f.is_dir() for a in load_anchor_files(f))

    def find(self, key: str) -> Anchor:
        """The anchor named ``key`` or with fingerprint ``key`` (with or without colons)."""
        wanted = _normalise_fingerprint(key)
        matches = [
            a
            for a in self.anchors()
            if a.name == key or _normalise_fingerprint(a.fingerprint) == wanted
        ]
        if not matches:
            raise UsageError(f"no trust anchor named or with fingerprint {key!r}")
        if len({a.fingerprint for a in matches}) > 1:
            raise UsageError(f"{key!r} names more than one anchor; use the fingerprint")
        return matches[0]

    def add(self, cert: x509.Certificate, name: str) -> Anchor:
        """Store ``cert`` as ``NAME.pem`` in the user folder; refuse duplicates."""
        if not _NAME.fullmatch(name):
            raise UsageError(
                f"anchor name {name!r}: use letters, digits, '.', '_' or '-' (64 at most)"
            )
        fp = fingerprint_sha256(cert)
        for a in self.anchors():
            if a.fingerprint == fp:
                raise UsageError(f"already trusted as {a.name!r} ({a.path})")
        target = self.writable / f"{name}.pem"
        if target.exists():
            raise UsageError(f"an anchor named {name!r} exists; choose another --name")
        self.writable.mkdir(parents=True, exist_ok=True)
        with target.open("xb") as fh:
            fh.write(cert.public_bytes(serialization.Encoding.PEM))
        return Anchor(name, str(target), cert)

    def remove(self, key: str) -> Anchor:
        """Delete the anchor named or fingerprinted ``key`` from the user folder."""
        anchor = self.find(key)
        path = Path(anchor.path)
        if path.parent != self.writable:
            raise UsageError(f"{anchor.name!r} is in {path.parent}; remove it there as its owner")
        if len(load_certificates(path)) != 1:
            raise UsageError(f"{path} holds several certificates; edit it by hand")
        path.unlink()
        return anchor
