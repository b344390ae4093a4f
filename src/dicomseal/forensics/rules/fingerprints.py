"""Writer fingerprints that differ from sibling instances (forensics.md §4.5).

A GUI/CLI editor re-writes the file meta with its own Implementation Class UID and
Version Name, drops Source AE Title and Data Set Trailing Padding, adds or drops group
lengths. Within one study the instances were written by one writer; an instance whose
fingerprint differs from a clear majority (at least two thirds of at least three
instances) is named. A re-export by a PACS looks alike, so this is a red flag, not proof.

* ``writer-fingerprint-outlier`` (medium; low when only the preamble differs, which
  clean multi-source media show, e.g. pydicom's ``dicomdirtests``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator

from dicomseal.forensics.findings import Finding, FindingCode, Severity, freeze
from dicomseal.forensics.snapshot import Instance, Snapshot

__all__ = ["check", "features"]

#: Features that differ between clean files of one study often enough to be weak evidence.
_WEAK = frozenset({"PreambleZero"})


def features(inst: Instance) -> dict[str, str]:
    """The writer features of one instance, as comparable strings."""
    return {
        "ImplementationClassUID": inst.meta.get("ImplementationClassUID", ""),
        "ImplementationVersionName": inst.meta.get("ImplementationVersionName", ""),
        "SourceApplicationEntityTitle": inst.meta.get("SourceApplicationEntityTitle", ""),
        "TransferSyntaxUID": inst.meta.get("TransferSyntaxUID", ""),
        "DataSetTrailingPadding": str(inst.trailing_padding),
        "DatasetGroupLengths": str(inst.dataset_group_lengths),
        "MetaElements": ",".join(inst.probe.meta_tags),
        "PreambleZero": str(inst.probe.preamble_zero),
    }


def check(snap: Snapshot) -> Iterator[Finding]:
    """Per study, instances whose writer features differ from a clear majority."""
    studies: dict[str, list[Instance]] = defaultdict(list)
    for inst in snap.instances:
        studies[inst.attrs.get("StudyInstanceUID", "")].append(inst)
    for study_uid, members in sorted(studies.items()):
        if len(members) < 3:
            continue
        feats = {m.path: features(m) for m in members}
        names = next(iter(feats.values())).keys()
        differing: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
        for name in names:
            counts = Counter(f[name] for f in feats.values())
            if len(counts) < 2:
                continue
            majority, count = counts.most_common(1)[0]
            if count * 3 < len(members) * 2:
                continue
            for path, f in feats.items():
                if f[name] != majority:
                    differing[path][name] = {"instance": f[name], "siblings": majority}
        for path, diffs in sorted(differing.items()):
            weak = set(diffs) <= _WEAK
            yield Finding(
                FindingCode.WRITER_FINGERPRINT_OUTLIER,
                Severity.LOW if weak else Severity.MEDIUM,
                (path,),
                f"{path} was written differently from its study siblings: "
                + ", ".join(sorted(diffs)),
                freeze({"StudyInstanceUID": study_uid, "features": diffs}),
            )
