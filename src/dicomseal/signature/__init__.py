"""PS3.15 digital signatures: sign and verify DICOM instances (safe defaults).

Byte-compatible with DCMTK ``dcmsign`` 3.6.7 in both directions. The sharp primitives
live in :mod:`dicomseal.hazmat`; this package is the recipe layer.
"""

from __future__ import annotations

from dicomseal.hazmat.raw import MacAlgorithm
from dicomseal.signature.credentials import PASSWORD_ENV, SigningCredentials
from dicomseal.signature.profiles import SignatureProfile
from dicomseal.signature.sign import SignatureRecord, parse_item_location, parse_tag, sign_file
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
