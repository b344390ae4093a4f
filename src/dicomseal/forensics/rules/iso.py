"""ISO 9660 volume and record dates vs the DICOM dates (ECMA-119 §8.4.26, §9.1.5).

Weak evidence only: every field is chosen by the mastering tool and a bit-exact copy
reproduces them (forensics.md §4.6). Nothing here is above ``medium``.

* ``iso-record-before-study`` (medium): a file recorded on the disc before its study
  happened.
* ``iso-record-date-outlier`` (medium): most files were recorded within one hour, this one
  more than a day later (edited, then appended or re-mastered by a tool that keeps mtimes).
* ``iso-volume-before-record`` (low): the volume claims to be older than a file on it.
* ``iso-volume-info`` (info): the mastering identifiers, for the vendor baseline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from dicomseal.forensics.findings import Finding, FindingCode, freeze
from dicomseal.forensics.snapshot import Snapshot
from dicomseal.forensics.values import parse_da

__all__ = ["check"]

_HOUR = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)


def _outliers(snap: Snapshot) -> Iterator[Finding]:
    assert snap.iso is not None
    dates = {p: d for p, d in snap.iso.record_dates.items() if snap.instance(p) is not None}
    if len(dates) < 3:
        return
    ordered = sorted(dates.values())
    best = max((sum(1 for d in ordered if start <= d <= start + _HOUR), start) for start in ordered)
    count, start = best
    if count * 5 < len(ordered) * 4:
        return
    for path, when in sorted(dates.items()):
        if when > start + _HOUR + _DAY:
            yield Finding.of(
                FindingCode.ISO_RECORD_DATE_OUTLIER,
                (path,),
                f"{path} was recorded long after the other files",
                freeze({"recorded": when.isoformat(), "others_from": start.isoformat()}),
            )


def check(snap: Snapshot) -> Iterator[Finding]:
    """ISO 9660 dates vs each other and vs Study Date."""
    if snap.iso is None:
        return
    iso = snap.iso
    yield Finding.of(
        FindingCode.ISO_VOLUME_INFO,
        (),
        "ISO 9660 volume identifiers",
        freeze(
            {
                **dict(iso.identifiers),
                "created": iso.volume_created.isoformat() if iso.volume_created else None,
            }
        ),
    )
    for path, when in sorted(iso.record_dates.items()):
        inst = snap.instance(path)
        if inst is not None:
            study = parse_da(inst.attrs.get("StudyDate", ""))
            if study is not None and when.date() < study - _DAY:
                yield Finding.of(
                    FindingCode.ISO_RECORD_BEFORE_STUDY,
                    (path,),
                    f"{path} was recorded on the disc before its StudyDate",
                    freeze({"recorded": when.isoformat(), "StudyDate": study.isoformat()}),
                )
        if iso.volume_created is not None and when > iso.volume_created + _DAY:
            yield Finding.of(
                FindingCode.ISO_VOLUME_BEFORE_RECORD,
                (path,),
                "the volume creation date is before this file's record date",
                freeze(
                    {"recorded": when.isoformat(), "volume_created": iso.volume_created.isoformat()}
                ),
            )
    yield from _outliers(snap)
