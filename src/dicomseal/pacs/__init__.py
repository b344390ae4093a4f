"""Import a verified medium into a PACS, and compare a medium with another copy.

* :func:`~dicomseal.pacs.importer.import_medium`: verify first (a
  :class:`~dicomseal.pacs.verdicts.VerdictProvider`), then C-STORE or STOW-RS what the
  :class:`~dicomseal.pacs.importer.ImportPolicy` allows, with coercion recorded in Original
  Attributes Sequence and re-signing, journaled so a re-run resumes.
* :func:`~dicomseal.pacs.compare.compare_with_remote` and
  :func:`~dicomseal.pacs.compare.compare_media`: attribute and frame differences.
"""

from __future__ import annotations

from dicomseal.pacs.coercion import AttributeChange, Coercion, CoercionRecord, coerce_file
from dicomseal.pacs.compare import (
    CompareReport,
    InstanceComparison,
    InstanceRef,
    compare_media,
    compare_with_remote,
)
from dicomseal.pacs.diff import AttributeDifference, FrameDifference
from dicomseal.pacs.importer import ImportPolicy, ImportReport, InstanceImport, import_medium
from dicomseal.pacs.journal import DEFAULT_JOURNAL, ImportJournal
from dicomseal.pacs.peer import DicomWebPeer, DimsePeer
from dicomseal.pacs.remote import remote_side, sender_factory
from dicomseal.pacs.status import InstanceOutcome, StoreStatus
from dicomseal.pacs.verdicts import (
    FixedVerdicts,
    InstanceVerdict,
    MediumVerdicts,
    VerdictProvider,
)

__all__ = [
    "DEFAULT_JOURNAL",
    "AttributeChange",
    "AttributeDifference",
    "Coercion",
    "CoercionRecord",
    "CompareReport",
    "DicomWebPeer",
    "DimsePeer",
    "FixedVerdicts",
    "FrameDifference",
    "ImportJournal",
    "ImportPolicy",
    "ImportReport",
    "InstanceComparison",
    "InstanceImport",
    "InstanceOutcome",
    "InstanceRef",
    "InstanceVerdict",
    "MediumVerdicts",
    "StoreStatus",
    "VerdictProvider",
    "coerce_file",
    "compare_media",
    "compare_with_remote",
    "import_medium",
    "remote_side",
    "sender_factory",
]
