"""Addresses of the other side of an import or a compare: a DIMSE peer or a DICOMweb service.

``AET@HOST:PORT`` is the usual way DICOM administrators write a DIMSE peer (PS3.8 §7.1.1.6:
an AE Title is 1 to 16 characters of the Default Character Repertoire, no backslash, no
control characters, not only spaces).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from dicomseal.errors import UsageError

__all__ = ["DEFAULT_CALLING_AET", "DicomWebPeer", "DimsePeer", "check_aet", "looks_like_dimse"]

#: Calling AE Title used when the user does not give one.
DEFAULT_CALLING_AET = "DICOMSEAL"

_DIMSE_RE = re.compile(
    r"^(?P<aet>[^@]{1,16})@(?P<host>\[[0-9A-Fa-f:.]+\]|[^:@\s]+):(?P<port>\d{1,5})$"
)


def check_aet(aet: str) -> str:
    """Validate an AE Title (PS3.5 §6.2 VR AE) and return it.

    Raises
    ------
    UsageError
        Empty, longer than 16 characters, only spaces, or with a backslash or control
        character.
    """
    if not aet or len(aet) > 16 or not aet.strip():
        raise UsageError(f"invalid AE title {aet!r}: 1 to 16 characters, not only spaces")
    if "\\" in aet or any(ord(c) < 0x20 or ord(c) > 0x7E for c in aet):
        raise UsageError(f"invalid AE title {aet!r}: no backslash or control characters")
    return aet


def looks_like_dimse(text: str) -> bool:
    """True when ``text`` has the ``AET@HOST:PORT`` shape."""
    return _DIMSE_RE.match(text) is not None


@dataclass(frozen=True)
class DimsePeer:
    """A DIMSE application entity (PS3.7, PS3.8): called AE title, host and TCP port."""

    aet: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> DimsePeer:
        """Parse ``AET@HOST:PORT``.

        Raises
        ------
        UsageError
            When the text does not have that shape or the port is out of range.
        """
        m = _DIMSE_RE.match(text.strip())
        if m is None:
            raise UsageError(f"expected AET@HOST:PORT, got {text!r}")
        port = int(m["port"])
        if not 0 < port < 65536:
            raise UsageError(f"port out of range in {text!r}")
        return cls(check_aet(m["aet"]), m["host"].strip("[]"), port)

    @property
    def label(self) -> str:
        """Stable name for journals and reports: ``dimse:AET@HOST:PORT``."""
        return f"dimse:{self.aet}@{self.host}:{self.port}"


@dataclass(frozen=True)
class DicomWebPeer:
    """A DICOMweb service (PS3.18): the base URL under which ``/studies`` lives."""

    url: str

    @classmethod
    def parse(cls, text: str) -> DicomWebPeer:
        """Check that ``text`` is an http(s) URL and drop a trailing slash.

        Raises
        ------
        UsageError
            Not an http or https URL with a host.
        """
        parts = urlsplit(text.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"expected an http(s) DICOMweb base URL, got {text!r}")
        return cls(text.strip().rstrip("/"))

    @property
    def label(self) -> str:
        """Stable name for journals and reports: ``dicomweb:URL``."""
        return f"dicomweb:{self.url}"
