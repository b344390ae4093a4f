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
    "describe_read_error",
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


#: Advice libraries add for programmers that must never reach a user (it would tell staff
#: to bypass a safety check).
_LIBRARY_ADVICE = (
    " Use force=True to force reading.",
    "Use force=True to force reading.",
)


def describe_read_error(exc: BaseException) -> str:
    """One line for a user about a file that could not be read, without library advice.

    pydicom's ``InvalidDicomError`` ("... Use force=True to force reading.") becomes "not
    DICOM Part 10: no DICM prefix (PS3.10 §7.1)"; other messages lose programmer
    advice and Python type names; an empty message becomes the kind of failure.
    """
    if type(exc).__name__ == "InvalidDicomError":
        return "not DICOM Part 10: no DICM prefix (PS3.10 §7.1)"
    if isinstance(exc, DicomSealError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot be read: {exc.strerror}"
    if isinstance(exc, RecursionError):
        return "cannot be read as DICOM: sequences nested too deep to read"
    text = str(exc)
    for advice in _LIBRARY_ADVICE:
        text = text.replace(advice, "")
    text = " ".join(text.split())[:200]
    if isinstance(exc, (EOFError, KeyError, IndexError)) or not text:
        return "cannot be read as DICOM: the data ends early or is malformed"
    return f"cannot be read as DICOM: {text}"
