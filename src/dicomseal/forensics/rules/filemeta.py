"""File Meta Information vs dataset (PS3.10 §7.1).

* ``meta-sop-class-mismatch`` / ``meta-sop-instance-mismatch`` (medium): (0002,0002) ≠
  (0008,0016) or (0002,0003) ≠ (0008,0018). Common in clean files after anonymisation or
  conversion (several of pydicom's own test files), so not a strong sign on its own; an
  instance edited after its DICOMDIR was written still shows as a HIGH
  ``dicomdir-reference-mismatch``.
* ``meta-transfer-syntax-mismatch`` (high): the dataset's first element is encoded
  Explicit/Implicit VR against what (0002,0010) declares.
* ``meta-group-length-wrong`` (medium): (0002,0000) ≠ the length of group 0002.
* ``meta-group-length-missing`` (low), ``meta-unparsable`` (medium).
"""

from __future__ import annotations

from collections.abc import Iterator

from dicomseal.forensics.findings import Finding, FindingCode, freeze
from dicomseal.forensics.snapshot import Snapshot

__all__ = ["check"]

_IMPLICIT = "1.2.840.10008.1.2"


def check(snap: Snapshot) -> Iterator[Finding]:
    """Meta header ↔ dataset agreement for every instance."""
    for inst in snap.instances:
        pairs = (
            ("MediaStorageSOPClassUID", "SOPClassUID", FindingCode.META_SOP_CLASS_MISMATCH),
            (
                "MediaStorageSOPInstanceUID",
                "SOPInstanceUID",
                FindingCode.META_SOP_INSTANCE_MISMATCH,
            ),
        )
        for meta_kw, ds_kw, code in pairs:
            m, d = inst.meta.get(meta_kw), inst.attrs.get(ds_kw)
            if m and d and m != d:
                yield Finding.of(
                    code,
                    (inst.path,),
                    f"{meta_kw} in the file meta differs from {ds_kw}",
                    freeze({"meta": m, "dataset": d}),
                )
        probe = inst.probe
        if probe.meta_error:
            yield Finding.of(
                FindingCode.META_UNPARSABLE,
                (inst.path,),
                f"file meta cannot be walked: {probe.meta_error}",
            )
            continue
        ts = inst.meta.get("TransferSyntaxUID", "")
        if probe.dataset_explicit_vr is not None and ts:
            declared_explicit = ts != _IMPLICIT
            if declared_explicit != probe.dataset_explicit_vr:
                yield Finding.of(
                    FindingCode.META_TRANSFER_SYNTAX_MISMATCH,
                    (inst.path,),
                    "dataset encoding contradicts the declared transfer syntax",
                    freeze(
                        {"TransferSyntaxUID": ts, "explicit_vr_found": probe.dataset_explicit_vr}
                    ),
                )
        if probe.declared_group_length is None:
            yield Finding.of(
                FindingCode.META_GROUP_LENGTH_MISSING,
                (inst.path,),
                "(0002,0000) File Meta Information Group Length is absent",
            )
        elif probe.declared_group_length != probe.actual_group_length:
            yield Finding.of(
                FindingCode.META_GROUP_LENGTH_WRONG,
                (inst.path,),
                "(0002,0000) does not match the length of the file meta",
                freeze(
                    {"declared": probe.declared_group_length, "actual": probe.actual_group_length}
                ),
            )
