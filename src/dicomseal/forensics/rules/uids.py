"""UID roots and timestamps (PS3.5 §9 and Annex B) — warning level only.

PS3.5 Annex B says implementations must not parse UIDs for meaning, so every finding here
is ``low``: a hint for a human, never a verdict.

* ``uid-malformed`` (low): not ``[0-9.]``, a component with a leading zero, or > 64 chars.
* ``uid-root-toolkit`` (low): a vendor-labelled instance whose SOP Instance UID uses a
  toolkit root (DCMTK, pydicom, dicom3tools): it was (re-)created by a toolkit.
* ``uid-timestamp-vs-date`` (low): a DCMTK UID (``...7230010.3.1.<n>.<host>.<pid>.<unix
  seconds>.<counter>``) or a version-1 UUID (``2.25.``) created more than a day away from
  the instance's Content/Study Date.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator

from dicomseal.forensics.findings import Finding, FindingCode, freeze
from dicomseal.forensics.snapshot import Instance, Snapshot
from dicomseal.forensics.values import parse_da

__all__ = ["TOOLKIT_ROOTS", "VENDOR_ROOTS", "check", "uid_timestamp"]

#: Roots of toolkits that mint UIDs for whatever they write.
TOOLKIT_ROOTS = {
    "1.2.276.0.7230010.3": "DCMTK",
    "1.2.826.0.1.3680043.8.498": "pydicom",
    "1.3.6.1.4.1.5962": "dicom3tools",
}
#: Manufacturer substring -> the vendor's root (from memory, see forensics.md §4.4).
VENDOR_ROOTS = {
    "GE": "1.2.840.113619",
    "SIEMENS": "1.3.12.2.1107.5",
    "PHILIPS": "1.3.46.670589",
}
_UID = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")
_DCMTK = re.compile(r"^1\.2\.276\.0\.7230010\.3\.1\.\d+\.\d+\.\d+\.(\d{9,10})\.\d+$")
_UUID_EPOCH = dt.datetime(1582, 10, 15, tzinfo=dt.UTC)


def uid_timestamp(uid: str) -> dt.datetime | None:
    """Creation time some generators embed (DCMTK, UUID v1), else ``None``."""
    m = _DCMTK.match(uid)
    if m:
        return dt.datetime.fromtimestamp(int(m.group(1)), tz=dt.UTC)
    if uid.startswith("2.25.") and uid[5:].isdigit():
        try:
            u = uuid.UUID(int=int(uid[5:]))
        except ValueError:
            return None
        if u.version == 1:
            return _UUID_EPOCH + dt.timedelta(microseconds=u.time // 10)
    return None


def _toolkit(uid: str) -> str | None:
    for root, name in TOOLKIT_ROOTS.items():
        if uid == root or uid.startswith(root + "."):
            return name
    return None


def _per_instance(inst: Instance) -> Iterator[Finding]:
    for kw, uid in inst.uids.items():
        if len(uid) > 64 or not _UID.match(uid):
            yield Finding.of(
                FindingCode.UID_MALFORMED,
                (inst.path,),
                f"{kw} is not a valid UID",
                freeze({kw: uid}),
            )
    sop = inst.uids.get("SOPInstanceUID", "")
    manufacturer = inst.attrs.get("Manufacturer", "").upper()
    toolkit = _toolkit(sop)
    for vendor, root in VENDOR_ROOTS.items():
        if re.search(rf"\b{vendor}\b", manufacturer) and toolkit:
            yield Finding.of(
                FindingCode.UID_ROOT_TOOLKIT,
                (inst.path,),
                f"Manufacturer {manufacturer!r} but SOP Instance UID from {toolkit}",
                freeze({"SOPInstanceUID": sop, "vendor_root": root}),
            )
    when = uid_timestamp(sop)
    day = parse_da(inst.attrs.get("ContentDate", "")) or parse_da(inst.attrs.get("StudyDate", ""))
    if when is not None and day is not None and abs((when.date() - day).days) > 1:
        yield Finding.of(
            FindingCode.UID_TIMESTAMP_VS_DATE,
            (inst.path,),
            "SOP Instance UID embeds a creation time far from the instance's date",
            freeze({"SOPInstanceUID": sop, "uid_time": when.isoformat(), "date": day.isoformat()}),
        )


def check(snap: Snapshot) -> Iterator[Finding]:
    """UID syntax, roots and embedded timestamps."""
    for inst in snap.instances:
        yield from _per_instance(inst)
