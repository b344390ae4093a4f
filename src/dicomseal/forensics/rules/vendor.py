"""Vendor index (SQLite, XML, CSV, MS Access) vs the DICOM instances.

Rows are matched by the most specific key they carry: SOP Instance UID, else Study
Instance UID, else Patient ID; every other recognised field is compared with the matched
instances (the 2009 study had to edit the Agfa CD's Access database *and* the headers).

* ``vendor-index-mismatch`` (high): a field differs from the instance(s).
* ``vendor-index-path-mismatch`` (high): the row's file path holds another instance.
* ``vendor-index-orphan`` (medium): a row whose key matches no instance.
* ``vendor-index-missing-instance`` (medium): an instance absent from an instance-level
  index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from dicomseal.forensics.findings import Finding, FindingCode, freeze
from dicomseal.forensics.snapshot import Instance, Snapshot
from dicomseal.forensics.values import same_value
from dicomseal.forensics.vendor_index import PATH_FIELD, VendorIndex, VendorRecord

__all__ = ["check"]

_KEYS = ("SOPInstanceUID", "StudyInstanceUID", "PatientID")
_PATIENT_FIELDS = {"PatientID", "PatientName", "PatientBirthDate", "PatientSex"}


def _index_folder(index: VendorIndex) -> str:
    return index.path.rsplit("/", 1)[0] if "/" in index.path else ""


def _compare(
    index: VendorIndex, rec: VendorRecord, key: str, members: Sequence[Instance]
) -> Iterator[Finding]:
    for kw, recorded in sorted(rec.fields.items()):
        if kw in (key, PATH_FIELD) or not recorded:
            continue
        if key == "PatientID" and kw not in _PATIENT_FIELDS:
            continue
        bad = [
            m.path
            for m in members
            if m.attrs.get(kw) is not None and not same_value(kw, recorded, m.attrs[kw])
        ]
        if bad:
            actual = sorted(
                {members[0].attrs.get(kw, "")}
                | {m.attrs.get(kw, "") for m in members if m.path in bad}
            )
            yield Finding.of(
                FindingCode.VENDOR_INDEX_MISMATCH,
                (index.path, *bad),
                f"{kw} in {index.path} ({rec.origin}) differs from the DICOM instance(s)",
                freeze(
                    {
                        "keyword": kw,
                        "index": recorded,
                        "instances": actual,
                        "key": {key: rec.fields[key]},
                    }
                ),
            )


def _check_path(
    snap: Snapshot, index: VendorIndex, rec: VendorRecord, inst: Instance
) -> Iterator[Finding]:
    raw = rec.fields.get(PATH_FIELD, "").replace("\\", "/").strip("/")
    if not raw:
        return
    folder = _index_folder(index)
    for candidate in (raw, f"{folder}/{raw}" if folder else raw):
        found = snap.lookup(candidate)
        if found is not None:
            if found != inst.path:
                yield Finding.of(
                    FindingCode.VENDOR_INDEX_PATH_MISMATCH,
                    (index.path, found, inst.path),
                    f"{index.path} says {rec.fields['SOPInstanceUID']} is {found}, "
                    f"but it is in {inst.path}",
                    freeze({"index_path": raw, "instance_path": inst.path}),
                )
            return


def _check_index(snap: Snapshot, index: VendorIndex) -> Iterator[Finding]:
    lookup: dict[str, dict[str, list[Instance]]] = {k: defaultdict(list) for k in _KEYS}
    for inst in snap.instances:
        for key in _KEYS:
            value = inst.attrs.get(key, "")
            if value:
                lookup[key][value].append(inst)
    seen_sops: set[str] = set()
    for rec in index.records:
        found_key = next((k for k in _KEYS if rec.fields.get(k)), None)
        if found_key is None:
            continue
        key = found_key
        value = rec.fields[key]
        members = lookup[key].get(value, [])
        if key == "SOPInstanceUID":
            seen_sops.add(value)
        if not members:
            yield Finding.of(
                FindingCode.VENDOR_INDEX_ORPHAN,
                (index.path,),
                f"{index.path} ({rec.origin}) lists {key} {value}, which no instance has",
                freeze({key: value}),
            )
            continue
        yield from _compare(index, rec, key, members)
        if key == "SOPInstanceUID":
            yield from _check_path(snap, index, rec, members[0])
    if seen_sops:
        for inst in snap.instances:
            sop = inst.attrs.get("SOPInstanceUID", "")
            if sop and sop not in seen_sops:
                yield Finding.of(
                    FindingCode.VENDOR_INDEX_MISSING_INSTANCE,
                    (index.path, inst.path),
                    f"{inst.path} is not listed in {index.path}",
                    freeze({"SOPInstanceUID": sop}),
                )


def check(snap: Snapshot) -> Iterator[Finding]:
    """Every readable vendor index against the instances."""
    for index in snap.indexes:
        if index.error is None:
            yield from _check_index(snap, index)
