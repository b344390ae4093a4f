"""Trust anchors: a trusted certificate with the file it came from, and reading them.

An anchor is a certificate a verifier starts its path from (RFC 5280 §6.1.1 (d)); the files
are PEM bundles (RFC 7468) or DER certificates, one or many per file, or a folder of them.
``--trust`` reads anchors here directly; :class:`~dicomseal.signature.truststore.TrustStore`
(the folders ``trust add``/``remove`` manage) lists them through :func:`load_anchor_files`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509

from dicomseal.errors import ConfigurationError
from dicomseal.signature.certificates import fingerprint_sha256, load_certificates

__all__ = ["Anchor", "load_anchor_files"]

_SUFFIXES: Final = (".pem", ".crt", ".cer", ".der")
_MAX_ANCHOR_FILES: Final = 1000


@dataclass(frozen=True)
class Anchor:
    """One trusted certificate and where it came from."""

    name: str
    path: str
    certificate: x509.Certificate

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint, ``AB:CD:...``."""
        return fingerprint_sha256(self.certificate)

    @property
    def subject(self) -> str:
        """Subject DN (RFC 4514)."""
        return self.certificate.subject.rfc4514_string()

    def to_dict(self) -> dict[str, str]:
        """The JSON object describing this anchor."""
        c = self.certificate
        return {
            "name": self.name,
            "path": self.path,
            "subject": self.subject,
            "fingerprint_sha256": self.fingerprint,
            "not_before": c.not_valid_before_utc.isoformat(),
            "not_after": c.not_valid_after_utc.isoformat(),
        }


def load_anchor_files(path: Path) -> tuple[Anchor, ...]:
    """Anchors from one certificate file, or from every certificate file in a folder."""
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES)
        if len(files) > _MAX_ANCHOR_FILES:
            raise ConfigurationError("too many certificate files in trust folder", path=str(path))
        return tuple(a for f in files if f.is_file() for a in load_anchor_files(f))
    return tuple(
        Anchor(path.stem if i == 0 else f"{path.stem}#{i}", str(path), c)
        for i, c in enumerate(load_certificates(path))
    )
