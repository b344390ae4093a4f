"""The 2009 study's attacks as a simulator, and vendor-like media to attack.

>>> from dicomseal.tamper import tamper_medium, TamperMode, build_vendor_medium
"""

from __future__ import annotations

from dicomseal.tamper.record import Change, Scope, TamperMode, TamperRecord, record_path
from dicomseal.tamper.simulator import tamper_medium
from dicomseal.tamper.vendor_media import IndexFormat, build_vendor_medium

__all__ = [
    "Change",
    "IndexFormat",
    "Scope",
    "TamperMode",
    "TamperRecord",
    "build_vendor_medium",
    "record_path",
    "tamper_medium",
]
