"""dicomseal: tamper-evident DICOM portable media.

PS3.15 digital signatures byte-compatible with DCMTK ``dcmsign``, signed IHE PDI media
with a manifest of every file, forensic inspection of unsigned media, a tamper simulator,
a verdict-first viewer and verify-before-import into a PACS.
"""

from __future__ import annotations

from dicomseal.errors import (
    ConfigurationError,
    DicomSealError,
    MalformedDicomError,
    MediaError,
    PacsError,
    SignatureError,
    TrustError,
    UsageError,
)
from dicomseal.verdict import Verdict

__version__ = "0.1.0"

__all__ = [
    "ConfigurationError",
    "DicomSealError",
    "MalformedDicomError",
    "MediaError",
    "PacsError",
    "SignatureError",
    "TrustError",
    "UsageError",
    "Verdict",
    "__version__",
]
