"""DICOMDIR record keys vs the instances they reference (PS3.3 Annex F, PS3.10 §8).

Each DICOMDIR record repeats header keys (PATIENT: name, ID, birth date, sex; STUDY: UID,
date, time, ID, accession, description; SERIES: UID, modality, number; IMAGE: referenced
SOP Class/Instance/Transfer Syntax UID, instance number). An editor that changes the file
but leaves the DICOMDIR stale shows here.

* ``dicomdir-key-mismatch`` (high for identity keys, medium for descriptive ones).
* ``dicomdir-writer-convention`` (low): a difference a documented writer convention explains
  exactly (:mod:`dicomseal.forensics.conventions`: DCMTK ``+I``, GDCM, Orthanc).
* ``dicomdir-reference-mismatch`` (high): Referenced SOP Instance/Class UID in File differs.
* ``dicomdir-structure`` (medium): inconsistent record offsets (naive byte edit).
* ``dicomdir-inactive-record`` (low): a record marked not in use.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from dicomseal.forensics.conventions import writer_convention
from dicomseal.forensics.directory import DirectoryLeaf
from dicomseal.forensics.findings import Finding, FindingCode, Severity, freeze
from dicomseal.forensics.snapshot import Snapshot, leaf_path
from dicomseal.forensics.values import same_value
from dicomseal.media.source import check_member_path

__all__ = ["IDENTITY_KEYS", "check"]

#: Keys whose disagreement is a strong red flag.
IDENTITY_KEYS = frozenset(
    {
        "PatientName",
        "PatientID",
        "PatientBirthDate",
        "StudyInstanceUID",
        "StudyDate",
        "AccessionNumber",
        "SeriesInstanceUID",
    }
)
_REFERENCED = {
    "ReferencedSOPInstanceUIDInFile": ("SOPInstanceUID", Severity.HIGH),
    "ReferencedSOPClassUIDInFile": ("SOPClassUID", Severity.HIGH),
    "ReferencedTransferSyntaxUIDInFile": ("TransferSyntaxUID", Severity.MEDIUM),
}


#: STUDY keys DCMTK ``dcmmkdir +I`` invents once per STUDY record, from the instance that
#: made the record (its Series/Acquisition/Content Date or Time, else the time of writing).
_INVENTED_PER_STUDY = frozenset({"StudyDate", "StudyTime"})


def _study_of(leaf: DirectoryLeaf) -> tuple[tuple[str, str, str], ...]:
    """The PATIENT and STUDY record keys of ``leaf``: equal for leaves of one STUDY record."""
    return tuple(
        sorted((lvl, kw, v) for (lvl, kw), v in leaf.keys.items() if lvl in ("PATIENT", "STUDY"))
    )


def _invented_for_sibling(
    kw: str, recorded: str, charset: str, siblings: list[Mapping[str, str]]
) -> bool:
    """Whether another instance under the same STUDY record, which also leaves ``kw``
    empty, explains ``recorded`` as invented (``dcmmkdir +I`` invents it from whichever
    instance made the record: a CR without any date, then a PR with a Series Date)."""
    return any(
        not (sib.get(kw) or "").strip()
        and writer_convention(kw, recorded, "", sib, charset) is not None
        for sib in siblings
    )


def check(snap: Snapshot) -> Iterator[Finding]:
    """Compare every DICOMDIR leaf's keys with the instance it references."""
    for ddir in snap.dicomdirs:
        for problem in ddir.tree.problems:
            yield Finding.of(FindingCode.DICOMDIR_STRUCTURE, (ddir.path,), problem)
        studies: dict[tuple[tuple[str, str, str], ...], list[Mapping[str, str]]] = {}
        for leaf in ddir.tree.leaves:
            norm, anomalies = check_member_path(leaf_path(ddir.folder, leaf.file_id))
            found = None if anomalies else snap.lookup(norm)
            sibling = snap.instance(found) if found else None
            if sibling is not None:
                studies.setdefault(_study_of(leaf), []).append(sibling.attrs)
        for leaf in ddir.tree.leaves:
            norm, anomalies = check_member_path(leaf_path(ddir.folder, leaf.file_id))
            found = None if anomalies else snap.lookup(norm)
            inst = snap.instance(found) if found else None
            if inst is None:
                continue
            if not leaf.in_use:
                yield Finding.of(
                    FindingCode.DICOMDIR_INACTIVE_RECORD,
                    (ddir.path, inst.path),
                    f"record for {inst.path} is marked inactive",
                )
            for (level, kw), recorded in leaf.keys.items():
                actual = inst.attrs.get(kw)
                if actual is None or not recorded or same_value(kw, recorded, actual):
                    continue
                convention = writer_convention(
                    kw,
                    recorded,
                    actual,
                    inst.attrs,
                    leaf.charsets.get(level, ""),
                    leaf.raw.get((level, kw)),
                )
                if (
                    convention is None
                    and level == "STUDY"
                    and kw in _INVENTED_PER_STUDY
                    and not actual.strip()
                    and _invented_for_sibling(
                        kw, recorded, leaf.charsets.get(level, ""), studies[_study_of(leaf)]
                    )
                ):
                    convention = (
                        "invented for a Type 1 key the instance leaves empty, from another "
                        "instance of the study (DCMTK dcmmkdir +I)"
                    )
                if convention is not None:
                    yield Finding.of(
                        FindingCode.DICOMDIR_WRITER_CONVENTION,
                        (ddir.path, inst.path),
                        f"{kw} in the DICOMDIR {level} record: {convention}",
                        freeze({"keyword": kw, "dicomdir": recorded, "instance": actual}),
                    )
                    continue
                sev = Severity.HIGH if kw in IDENTITY_KEYS else Severity.MEDIUM
                yield Finding(
                    FindingCode.DICOMDIR_KEY_MISMATCH,
                    sev,
                    (ddir.path, inst.path),
                    f"{kw} in the DICOMDIR {level} record differs from {inst.path}",
                    freeze(
                        {"keyword": kw, "level": level, "dicomdir": recorded, "instance": actual}
                    ),
                )
            for ref_kw, (kw, sev) in _REFERENCED.items():
                ref_value = leaf.referenced.get(ref_kw)
                actual_value = (
                    inst.meta.get(kw) if kw == "TransferSyntaxUID" else inst.attrs.get(kw)
                )
                if ref_value and actual_value and ref_value != actual_value:
                    yield Finding(
                        FindingCode.DICOMDIR_REFERENCE_MISMATCH,
                        sev,
                        (ddir.path, inst.path),
                        f"{ref_kw} in the DICOMDIR differs from {inst.path}",
                        freeze(
                            {"keyword": ref_kw, "dicomdir": ref_value, "instance": actual_value}
                        ),
                    )
