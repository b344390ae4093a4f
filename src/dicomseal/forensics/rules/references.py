"""DICOMDIR references vs files present (PS3.10 §8, PS3.12 Annex F / IHE PDI).

* ``dicomdir-referenced-missing`` (high): a record references a file that is not there
  (a deleted instance, DICOMDIR left stale).
* ``dicomdir-referenced-not-dicom`` (high): the referenced file is not a DICOM instance.
* ``dicomdir-path-traversal`` (critical): a File ID leaves the medium.
* ``unreferenced-instance`` (medium): a DICOM instance no DICOMDIR references (an added
  instance).
* ``no-dicomdir`` (low): a medium with instances but no DICOMDIR (PS3.10 requires one).
* ``nested-dicomdir`` (info): more than one file-set on the medium.
"""

from __future__ import annotations

from collections.abc import Iterator

from dicomseal.forensics.findings import Finding, FindingCode, freeze
from dicomseal.forensics.snapshot import Snapshot, leaf_path
from dicomseal.media.source import check_member_path

__all__ = ["check"]


def check(snap: Snapshot) -> Iterator[Finding]:
    """Findings about referenced-but-missing and present-but-unreferenced files."""
    if not snap.dicomdirs:
        if snap.instances:
            yield Finding.of(
                FindingCode.NO_DICOMDIR,
                (),
                "DICOM instances but no DICOMDIR (PS3.10 media need one)",
                freeze({"instances": len(snap.instances)}),
            )
        return
    if len(snap.dicomdirs) > 1:
        yield Finding.of(
            FindingCode.NESTED_DICOMDIR,
            tuple(d.path for d in snap.dicomdirs),
            f"{len(snap.dicomdirs)} DICOMDIR files (several file-sets)",
        )
    referenced: set[str] = set()
    for ddir in snap.dicomdirs:
        for leaf in ddir.tree.leaves:
            raw = leaf_path(ddir.folder, leaf.file_id)
            norm, anomalies = check_member_path(raw)
            if anomalies:
                yield Finding.of(
                    FindingCode.DICOMDIR_PATH_TRAVERSAL,
                    (ddir.path,),
                    f"Referenced File ID leaves the medium: {raw}",
                    freeze({"file_id": list(leaf.file_id)}),
                )
                continue
            found = snap.lookup(norm)
            if found is None:
                yield Finding.of(
                    FindingCode.DICOMDIR_REFERENCED_MISSING,
                    (ddir.path, norm),
                    f"DICOMDIR references {norm}, which is not on the medium",
                    freeze({"file_id": list(leaf.file_id), "in_use": leaf.in_use}),
                )
                continue
            referenced.add(found)
            if snap.instance(found) is None:
                reason = snap.unreadable.get(found, "not a DICOM Part 10 instance")
                yield Finding.of(
                    FindingCode.DICOMDIR_REFERENCED_NOT_DICOM,
                    (ddir.path, found),
                    f"DICOMDIR references {found}, which is not a readable instance",
                    freeze({"reason": reason}),
                )
    for inst in snap.instances:
        if inst.path not in referenced:
            yield Finding.of(
                FindingCode.UNREFERENCED_INSTANCE,
                (inst.path,),
                f"{inst.path} is a DICOM instance that no DICOMDIR references",
                freeze({"SOPInstanceUID": inst.attrs.get("SOPInstanceUID", "")}),
            )
