"""PS3.15 digital signatures: sign and verify DICOM instances (safe defaults).

Byte-compatible with DCMTK ``dcmsign`` 3.6.7 in both directions. The sharp primitives
live in :mod:`dicomseal.hazmat`; this package is the recipe layer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomseal.hazmat.raw import MacAlgorithm
    from dicomseal.signature.credentials import PASSWORD_ENV, SigningCredentials
    from dicomseal.signature.profiles import SignatureProfile
    from dicomseal.signature.sign import (
        SignatureRecord,
        parse_item_location,
        parse_tag,
        sign_file,
    )
    from dicomseal.signature.status import (
        ChainValidation,
        FileReason,
        FileVerification,
        SignatureReason,
        SignatureVerification,
        TrustReason,
        format_tag,
    )
    from dicomseal.signature.trust import TrustContext
    from dicomseal.signature.verify import verify_file, verify_part10, verify_path

#: Public name -> defining module. Imported on first access (PEP 562): importing one
#: submodule (``credentials`` for ``verify``) must not load signing, timestamps and CMS.
_HOMES = {
    "MacAlgorithm": "dicomseal.hazmat.raw",
    "PASSWORD_ENV": "dicomseal.signature.credentials",
    "SigningCredentials": "dicomseal.signature.credentials",
    "SignatureProfile": "dicomseal.signature.profiles",
    "SignatureRecord": "dicomseal.signature.sign",
    "parse_item_location": "dicomseal.signature.sign",
    "parse_tag": "dicomseal.signature.sign",
    "sign_file": "dicomseal.signature.sign",
    "ChainValidation": "dicomseal.signature.status",
    "FileReason": "dicomseal.signature.status",
    "FileVerification": "dicomseal.signature.status",
    "SignatureReason": "dicomseal.signature.status",
    "SignatureVerification": "dicomseal.signature.status",
    "TrustReason": "dicomseal.signature.status",
    "format_tag": "dicomseal.signature.status",
    "TrustContext": "dicomseal.signature.trust",
    "verify_file": "dicomseal.signature.verify",
    "verify_part10": "dicomseal.signature.verify",
    "verify_path": "dicomseal.signature.verify",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)


__all__ = [
    "PASSWORD_ENV",
    "ChainValidation",
    "FileReason",
    "FileVerification",
    "MacAlgorithm",
    "SignatureProfile",
    "SignatureReason",
    "SignatureRecord",
    "SignatureVerification",
    "SigningCredentials",
    "TrustContext",
    "TrustReason",
    "format_tag",
    "parse_item_location",
    "parse_tag",
    "sign_file",
    "verify_file",
    "verify_part10",
    "verify_path",
]
