"""The one DICOMDIR record walk: tree order, loops and bad offsets, shared by its readers."""

from __future__ import annotations

from pydicom.dataset import Dataset

from dicomseal.dicom.dicomdir import WalkProblem, walk_records
from dicomseal.forensics.directory import linked_order
from dicomseal.media.dicomdir import _walk_records


def _rec(kind: str, nxt: int = 0, lower: int = 0) -> Dataset:
    rec = Dataset()
    rec.add_new(0x00041400, "UL", nxt)
    rec.add_new(0x00041420, "UL", lower)
    rec.DirectoryRecordType = kind
    return rec


def _tree() -> dict[int, Dataset]:
    # PATIENT(10) -> STUDY(20) -> SERIES(30) -> IMAGE(40), IMAGE(50); PATIENT(60)
    return {
        10: _rec("PATIENT", nxt=60, lower=20),
        20: _rec("STUDY", lower=30),
        30: _rec("SERIES", lower=40),
        40: _rec("IMAGE", nxt=50),
        50: _rec("IMAGE"),
        60: _rec("PATIENT"),
    }


def test_pre_order_with_depths() -> None:
    walk = walk_records(_tree(), 10)
    assert walk.order == ((10, 0), (20, 1), (30, 2), (40, 3), (50, 3), (60, 0))
    assert walk.problems == ()


def test_loop_and_bad_offset_are_reported_and_not_followed() -> None:
    records = _tree()
    records[50] = _rec("IMAGE", nxt=20)  # back up the tree: a loop
    records[60] = _rec("PATIENT", nxt=999)
    walk = walk_records(records, 10)
    assert [o for o, _ in walk.order] == [10, 20, 30, 40, 50, 60]
    assert walk.problems == ((WalkProblem.LOOP, 20), (WalkProblem.BAD_OFFSET, 999))


def test_media_and_forensics_follow_the_same_walk() -> None:
    records = _tree()
    items = []
    for offset, rec in records.items():
        rec.seq_item_tell = offset
        items.append(rec)
    ds = Dataset()
    ds.OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity = 10
    order, findings = _walk_records(dict(records), 10, 1000)
    linked = linked_order(ds, items)
    assert linked is not None and not findings
    assert [items[i].seq_item_tell for i, _ in linked] == [o for o, _ in order]
    records[50] = _rec("IMAGE", nxt=20)
    records[50].seq_item_tell = 50
    items[4] = records[50]
    _order, findings = _walk_records(dict(records), 10, 1000)
    assert [f.code.value for f in findings] and linked_order(ds, items) is None
