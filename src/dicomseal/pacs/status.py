"""Typed outcomes: what a PACS answered for one instance, and what the importer did with it.

C-STORE response statuses are those of PS3.4 §B.2.3 (Storage Service Class) and PS3.7
Annex C (general statuses). A STOW-RS response carries the same codes in Failure Reason
(0008,1197) and Warning Reason (0008,1196) of its Failed/Referenced SOP Sequences
(PS3.18 §10.5.3), so both transports map to :class:`StoreStatus`.
"""

from __future__ import annotations

import enum

__all__ = ["InstanceOutcome", "StoreStatus", "store_status"]


class StoreStatus(enum.Enum):
    """A storage SCP's answer for one instance (PS3.4 Table B.2-1, PS3.7 Annex C)."""

    SUCCESS = "success"
    WARNING_COERCED = "warning-coercion-of-data-elements"  # B000
    WARNING_ELEMENTS_DISCARDED = "warning-elements-discarded"  # B006
    WARNING_DATASET_MISMATCH = "warning-dataset-does-not-match-sop-class"  # B007
    WARNING_OTHER = "warning"  # other 0001 / Bxxx
    REFUSED_OUT_OF_RESOURCES = "refused-out-of-resources"  # A7xx
    REFUSED_SOP_CLASS_NOT_SUPPORTED = "refused-sop-class-not-supported"  # 0122
    REFUSED_NOT_AUTHORIZED = "refused-not-authorized"  # 0124
    ERROR_DATASET_MISMATCH = "error-dataset-does-not-match-sop-class"  # A9xx
    ERROR_CANNOT_UNDERSTAND = "error-cannot-understand"  # Cxxx
    ERROR_DUPLICATE_SOP_INSTANCE = "error-duplicate-sop-instance"  # 0111
    ERROR_OTHER = "error"  # anything else, including a missing status

    @property
    def stored(self) -> bool:
        """True when the SCP accepted the instance (success or warning)."""
        return self is StoreStatus.SUCCESS or self.name.startswith("WARNING")

    @property
    def warning(self) -> bool:
        """True for the warning statuses (stored, but with a remark)."""
        return self.name.startswith("WARNING")


def store_status(code: int | None) -> StoreStatus:
    """Map a C-STORE status code (or a STOW-RS Failure/Warning Reason) to :class:`StoreStatus`.

    Parameters
    ----------
    code
        The 16-bit status; ``None`` when the peer sent no status at all.
    """
    if code is None:
        return StoreStatus.ERROR_OTHER
    exact = {
        0x0000: StoreStatus.SUCCESS,
        0xB000: StoreStatus.WARNING_COERCED,
        0xB006: StoreStatus.WARNING_ELEMENTS_DISCARDED,
        0xB007: StoreStatus.WARNING_DATASET_MISMATCH,
        0x0001: StoreStatus.WARNING_OTHER,
        0x0107: StoreStatus.WARNING_OTHER,
        0x0116: StoreStatus.WARNING_OTHER,
        0x0122: StoreStatus.REFUSED_SOP_CLASS_NOT_SUPPORTED,
        0x0124: StoreStatus.REFUSED_NOT_AUTHORIZED,
        0x0111: StoreStatus.ERROR_DUPLICATE_SOP_INSTANCE,
    }
    if code in exact:
        return exact[code]
    high = code & 0xFF00
    if high == 0xA700:
        return StoreStatus.REFUSED_OUT_OF_RESOURCES
    if high == 0xA900:
        return StoreStatus.ERROR_DATASET_MISMATCH
    if code & 0xF000 == 0xC000:
        return StoreStatus.ERROR_CANNOT_UNDERSTAND
    if code & 0xF000 == 0xB000:
        return StoreStatus.WARNING_OTHER
    return StoreStatus.ERROR_OTHER


class InstanceOutcome(enum.Enum):
    """What the importer did with one instance of the medium."""

    STORED = "stored"
    STORED_WITH_WARNING = "stored-with-warning"
    ALREADY_STORED = "already-stored"  # confirmed by the journal of an earlier run
    WITHHELD_FAILED = "withheld-verification-failed"  # FAILED: never sent, whatever the policy
    WITHHELD_UNVERIFIED = "withheld-not-verified"  # INDETERMINATE under verified-only
    # --set would replace a value a creator signature covers (allowed only on request)
    WITHHELD_SIGNATURE = "withheld-coercion-breaks-signature"
    REFUSED = "refused-by-pacs"
    NOT_SENT = "not-sent"  # the import stopped before this instance (connection lost)

    @property
    def in_pacs(self) -> bool:
        """True when the instance is (now or from an earlier run) in the PACS."""
        return self in (
            InstanceOutcome.STORED,
            InstanceOutcome.STORED_WITH_WARNING,
            InstanceOutcome.ALREADY_STORED,
        )
