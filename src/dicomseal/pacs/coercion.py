"""Attribute coercion on import, recorded as the standard asks (IHE RAD IRWF, PS3.3 C.12.1).

An importer that replaces, say, Patient ID and Accession Number with local values keeps the
originals in an item of Original Attributes Sequence (0400,0561) with Modifying System,
Reason for the Attribute Modification ``COERCE``, Attribute Modification DateTime and
Modified Attributes Sequence (0400,0550) holding the values as they were (PS3.3
§C.12.1.1.9). Signatures whose Data Elements Signed cover a changed attribute no longer
verify and are removed (PS3.15 §A.2: verify on receipt, re-sign what was verified); the
others are kept. Each removal is described (the value signed, the value kept) so that the
importer can refuse it or report it: a creator signature is never dropped silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.tag import BaseTag, Tag

from dicomseal.dicom.edits import (
    AssignmentPolicy,
    AttributeChange,
    change_of,
    parse_assignments,
)
from dicomseal.errors import DicomSealError, MediaError, UsageError
from dicomseal.media.bounded_read import read_dataset

__all__ = [
    "AttributeChange",
    "Coercion",
    "CoercionRecord",
    "coerce_file",
]

ORIGINAL_ATTRIBUTES_SEQUENCE = Tag(0x0400, 0x0561)
DIGITAL_SIGNATURES_SEQUENCE = Tag(0xFFFA, 0xFFFA)
MAC_PARAMETERS_SEQUENCE = Tag(0x4FFE, 0x0001)


@dataclass(frozen=True)
class Coercion:
    """Attribute values to impose on every imported instance.

    Attributes
    ----------
    values
        ``(keyword, value)`` pairs, in the order given.
    """

    values: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, assignments: Sequence[str]) -> Coercion:
        """Parse ``KEYWORD=VALUE`` strings (``--set PatientID=H123``).

        Raises
        ------
        UsageError
            Not ``KEYWORD=VALUE``, unknown keyword, a protected or non-text attribute, a
            keyword given twice, or a value invalid for the attribute's VR.
        """
        parsed = parse_assignments(assignments, AssignmentPolicy.TEXT_VR_ONLY)
        return cls(tuple((a.keyword, a.value) for a in parsed))

    def __bool__(self) -> bool:
        return bool(self.values)

    @property
    def fingerprint(self) -> str:
        """Short stable digest of the coercion (part of the journal key)."""
        if not self.values:
            return "none"
        text = "\n".join(f"{k}={v}" for k, v in self.values)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class CoercionRecord:
    """What :func:`coerce_file` changed in one instance.

    Attributes
    ----------
    changes
        Attributes whose value changed (empty: the file was left as it was).
    removed_signatures
        Digital Signature UIDs of the signatures the change broke, now removed.
    kept_signatures
        How many top-level signatures still cover only unchanged attributes.
    broken
        One line per removed signature: which coerced attributes it covered, with the
        value it signed and the value kept (a creator signature is never dropped silently).
    """

    changes: tuple[AttributeChange, ...]
    removed_signatures: tuple[str, ...]
    kept_signatures: int
    broken: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """True when at least one attribute changed."""
        return bool(self.changes)


def _text(elem: DataElement | None) -> str | None:
    if elem is None:
        return None
    value = elem.value
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def _signed_tags(item: Dataset) -> set[BaseTag] | None:
    """Tags listed in Data Elements Signed; ``None`` when absent (then: everything)."""
    elem = item.get(Tag(0x0400, 0x0020))
    if elem is None or elem.value is None:
        return None
    value = elem.value
    if isinstance(value, int):  # a single AT value (BaseTag is an int)
        return {Tag(value)}
    return {Tag(v) for v in value}


def _broken_line(sig: Dataset, covered: set[BaseTag], changes: Sequence[AttributeChange]) -> str:
    """Which coerced values a removed signature covered: signed value versus kept value."""
    parts = [
        f"{c.keyword}: signed {c.before!r}, kept {c.after!r}"
        for c in changes
        if _tag(c.keyword) in covered
    ]
    what = "; ".join(parts) or "attributes the coercion changed"
    return f"signature {sig.get('DigitalSignatureUID', '?')} covered {what}"


def _remove_broken_signatures(
    ds: Dataset, changed: set[BaseTag], changes: Sequence[AttributeChange]
) -> tuple[tuple[str, ...], int, tuple[str, ...]]:
    """Drop top-level signatures covering a changed tag (PS3.15 §C.1, PS3.3 §C.12.1.1.3)."""
    if DIGITAL_SIGNATURES_SEQUENCE not in ds:
        return (), 0, ()
    params: dict[int, set[BaseTag] | None] = {}
    mac_items = list(ds[MAC_PARAMETERS_SEQUENCE].value) if MAC_PARAMETERS_SEQUENCE in ds else []
    for item in mac_items:
        params[int(item.get("MACIDNumber", -1))] = _signed_tags(item)
    kept: list[Dataset] = []
    removed: list[str] = []
    broken: list[str] = []
    for sig in ds[DIGITAL_SIGNATURES_SEQUENCE].value:
        signed = params.get(int(sig.get("MACIDNumber", -1)))
        if signed is None or signed & changed:
            removed.append(str(sig.get("DigitalSignatureUID", "")))
            broken.append(_broken_line(sig, changed if signed is None else signed, changes))
        else:
            kept.append(sig)
    used = {int(s.get("MACIDNumber", -1)) for s in kept}
    if kept:
        ds[DIGITAL_SIGNATURES_SEQUENCE].value = DicomSequence(kept)
    else:
        del ds[DIGITAL_SIGNATURES_SEQUENCE]
    if mac_items:
        left = [m for m in mac_items if int(m.get("MACIDNumber", -1)) in used]
        if left:
            ds[MAC_PARAMETERS_SEQUENCE].value = DicomSequence(left)
        else:
            del ds[MAC_PARAMETERS_SEQUENCE]
    return tuple(removed), len(kept), tuple(broken)


def _tag(keyword: str) -> BaseTag:
    tag = tag_for_keyword(keyword)
    if tag is None:  # Coercion.parse already refused unknown keywords
        raise UsageError(f"unknown DICOM keyword {keyword!r}")
    return Tag(tag)


def _format_dt(at: dt.datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S.%f") + (at.strftime("%z") if at.tzinfo else "")


def coerce_file(
    src: Path,
    dst: Path,
    coercion: Coercion,
    *,
    modifying_system: str,
    at: dt.datetime,
) -> CoercionRecord:
    """Apply ``coercion`` to the Part 10 file ``src`` and write the result to ``dst``.

    When no value actually changes, ``dst`` is not written and the record is empty.

    Parameters
    ----------
    src, dst
        Input file and where to write the coerced file.
    coercion
        The values to impose.
    modifying_system
        Modifying System (0400,0563), e.g. ``"dicomseal 0.1.0"``.
    at
        Attribute Modification DateTime (0400,0562); an explicit parameter, not "now".

    Raises
    ------
    MediaError
        ``src`` cannot be parsed or ``dst`` cannot be written.
    """
    try:
        with src.open("rb") as fh:  # through the bounded gate: no deflate bomb
            ds = read_dataset(fh, path=str(src), stop_before_pixels=False, defer_size=None)
    except DicomSealError as exc:
        raise MediaError(f"cannot parse for coercion: {exc.message}", path=str(src)) from exc
    except Exception as exc:  # pydicom raises many types on broken input
        raise MediaError(f"cannot parse for coercion: {exc}", path=str(src)) from exc
    changes: list[AttributeChange] = []
    originals = Dataset()
    for keyword, value in coercion.values:
        tag = _tag(keyword)
        elem = ds.get(tag)
        before = _text(elem)
        if before == value:
            continue
        changes.append(change_of(keyword, before, value))
        if elem is None:
            originals.add_new(tag, dictionary_VR(tag), None)
        else:
            originals.add(DataElement(tag, elem.VR, elem.value))
        ds.add_new(tag, elem.VR if elem is not None else dictionary_VR(tag), value)
    if not changes:
        return CoercionRecord((), (), _count_signatures(ds))
    changed_tags = {_tag(c.keyword) for c in changes}
    if ORIGINAL_ATTRIBUTES_SEQUENCE in ds:
        changed_tags.add(ORIGINAL_ATTRIBUTES_SEQUENCE)
    item = Dataset()
    item.SourceOfPreviousValues = ""
    item.AttributeModificationDateTime = _format_dt(at)
    item.ModifyingSystem = modifying_system[:64]
    item.ReasonForTheAttributeModification = "COERCE"
    item.ModifiedAttributesSequence = DicomSequence([originals])
    if ORIGINAL_ATTRIBUTES_SEQUENCE in ds:
        ds[ORIGINAL_ATTRIBUTES_SEQUENCE].value.append(item)
    else:
        ds.OriginalAttributesSequence = DicomSequence([item])
    removed, kept, broken = _remove_broken_signatures(ds, changed_tags, changes)
    try:
        ds.save_as(dst, enforce_file_format=True)
    except (OSError, ValueError, TypeError) as exc:
        raise MediaError(f"cannot write coerced instance: {exc}", path=str(dst)) from exc
    return CoercionRecord(tuple(changes), removed, kept, broken)


def _count_signatures(ds: Dataset) -> int:
    if DIGITAL_SIGNATURES_SEQUENCE not in ds:
        return 0
    return len(ds[DIGITAL_SIGNATURES_SEQUENCE].value)
