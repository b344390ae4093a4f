"""The single exception hierarchy of dicomseal.

Every error raised on purpose by the library derives from :class:`DicomSealError`.
Foreign exceptions (OSError, pydicom, cryptography, pycdlib, pynetdicom) are wrapped at
the module boundary with ``raise ... from exc``. Security failures never derive from
:class:`ValueError`, so a broad ``except ValueError`` cannot swallow them.

The command-line interface maps each branch to one exit code (see
:data:`dicomseal.cli.exit.EXIT_CODES`): usage and configuration errors exit 2, media and
I/O errors exit 4, verification failures exit 1.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "DicomSealError",
    "MalformedDicomError",
    "MediaError",
    "PacsError",
    "SignatureError",
    "TrustError",
    "UsageError",
]


class DicomSealError(Exception):
    """Root of every error dicomseal raises on purpose.

    Parameters
    ----------
    message
        One line, meant for a human, no traceback needed to understand it.
    path
        The file or medium the error concerns, when there is one.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        if self.path:
            return f"{self.path}: {self.message}"
        return self.message


class UsageError(DicomSealError):
    """The caller asked for something that cannot be done as asked (exit 2)."""


class ConfigurationError(DicomSealError):
    """Keys, certificates, passwords or options are missing or unusable (exit 2)."""


class MediaError(DicomSealError):
    """A file or medium cannot be read or written: I/O, not DICOM, truncated (exit 4)."""


class MalformedDicomError(MediaError):
    """The bytes are not a well-formed DICOM Part 10 stream (PS3.10 §7, PS3.5 §7)."""


class SignatureError(DicomSealError):
    """Signing failed, or signature data is malformed (PS3.15 Annex C)."""


class TrustError(DicomSealError):
    """Trust anchors or certificate chains could not be loaded or built."""


class PacsError(DicomSealError):
    """A PACS (DIMSE or DICOMweb peer) could not be reached or refused the request (exit 4)."""
