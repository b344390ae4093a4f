"""Rewriting a vendor index so it agrees with edited instances (the careful attacker).

Rows are found by the old value of their most specific key (SOP Instance UID, Study
Instance UID, Patient ID); a mapped column is rewritten only where it still holds the old
value. SQLite, XML and CSV are rewritten; MS Access (``.mdb``) cannot be, because
``mdbtools`` only reads: such an index is left stale and the run says so.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydicom.dataset import Dataset

from dicomseal.forensics.values import same_value, text_of
from dicomseal.forensics.vendor_index import PATH_FIELD, keyword_for
from dicomseal.tamper.record import Change, ChangeWhat

__all__ = ["Edit", "rewrite_index"]

_KEYS = ("SOPInstanceUID", "StudyInstanceUID", "PatientID")


@dataclass(frozen=True)
class Edit:
    """Header values of one edited instance before and after."""

    before: Mapping[str, str]
    after: Mapping[str, str]

    @classmethod
    def of(cls, before: Dataset, after: Dataset) -> Edit:
        """From the datasets read before and after the edit."""

        def text(ds: Dataset) -> dict[str, str]:
            return {e.keyword: text_of(e.value) for e in ds if e.keyword and e.VR != "SQ"}

        return cls(text(before), text(after))


class _Lookup:
    def __init__(self, edits: Sequence[Edit]) -> None:
        self._by: dict[str, dict[str, Edit]] = {k: {} for k in _KEYS}
        for e in edits:
            for k in _KEYS:
                if e.before.get(k):
                    self._by[k].setdefault(e.before[k], e)

    def new_values(self, row: Mapping[str, str]) -> dict[str, str]:
        """Column -> new value for a row (columns named as in the row)."""
        mapped = {col: keyword_for(col) for col in row}
        key_cols = {kw: col for col, kw in mapped.items() if kw in _KEYS}
        edit = None
        for k in _KEYS:
            if k in key_cols:
                edit = self._by[k].get(str(row[key_cols[k]]).strip())
                break
        if edit is None:
            return {}
        out = {}
        for col, kw in mapped.items():
            if kw is None or kw == PATH_FIELD or kw not in edit.after:
                continue
            old, new = edit.before.get(kw, ""), edit.after[kw]
            value = str(row[col] if row[col] is not None else "").strip()
            if old != new and same_value(kw, value, old):
                out[col] = new
        return out


def _sqlite(path: Path, rel: str, lookup: _Lookup) -> list[Change]:
    changes: list[Change] = []
    con = sqlite3.connect(str(path))
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            q = '"' + table.replace('"', '""') + '"'
            cur = con.execute(f"SELECT rowid, * FROM {q}")  # noqa: S608
            cols = [d[0] for d in cur.description][1:]
            for rowid, *values in cur.fetchall():
                row = dict(zip(cols, values, strict=True))
                for col, new in lookup.new_values(row).items():
                    qc = '"' + col.replace('"', '""') + '"'
                    con.execute(
                        f"UPDATE {q} SET {qc} = ? WHERE rowid = ?",  # noqa: S608
                        (new, rowid),
                    )
                    changes.append(
                        Change(rel, ChangeWhat.INDEX_ROW, f"{table}.{col}", str(row[col]), new)
                    )
        con.commit()
    finally:
        con.close()
    return changes


def _xml(path: Path, rel: str, lookup: _Lookup) -> list[Change]:
    tree = ET.parse(path)  # noqa: S314 - the work copy; inspect refuses DOCTYPE
    changes: list[Change] = []

    def walk(elem: ET.Element, inherited: dict[str, str]) -> None:
        own: dict[str, str] = dict(elem.attrib)
        leaf_children = {
            c.tag: c for c in elem if len(c) == 0 and not c.attrib and keyword_for(c.tag)
        }
        own.update({t: (c.text or "").strip() for t, c in leaf_children.items()})
        merged = {**inherited, **own}
        for col, new in lookup.new_values(merged).items():
            if col in elem.attrib:
                changes.append(
                    Change(rel, ChangeWhat.INDEX_ROW, f"{elem.tag}@{col}", elem.attrib[col], new)
                )
                elem.set(col, new)
            elif col in leaf_children:
                changes.append(
                    Change(
                        rel, ChangeWhat.INDEX_ROW, f"{elem.tag}/{col}", leaf_children[col].text, new
                    )
                )
                leaf_children[col].text = new
        for child in elem:
            if len(child) or child.attrib:
                walk(child, merged)

    walk(tree.getroot(), {})
    if changes:
        tree.write(path, encoding="utf-8", xml_declaration=True)
    return changes


def _csv(path: Path, rel: str, lookup: _Lookup) -> list[Change]:
    text = path.read_bytes().decode("utf-8-sig", "replace")
    reader = csv.DictReader(io.StringIO(text))
    fields = list(reader.fieldnames or [])
    rows = list(reader)
    changes: list[Change] = []
    for row in rows:
        for col, new in lookup.new_values(row).items():
            changes.append(Change(rel, ChangeWhat.INDEX_ROW, col, row[col], new))
            row[col] = new
    if changes:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
        path.write_text(out.getvalue(), encoding="utf-8")
    return changes


def rewrite_index(
    path: Path, rel: str, fmt: str, edits: Sequence[Edit]
) -> tuple[list[Change], str | None]:
    """Rewrite one index; returns the changes and a note when it cannot be rewritten."""
    lookup = _Lookup(edits)
    if fmt == "sqlite":
        return _sqlite(path, rel, lookup), None
    if fmt == "xml":
        return _xml(path, rel, lookup), None
    if fmt == "csv":
        return _csv(path, rel, lookup), None
    return [], f"{rel}: {fmt} index cannot be rewritten (mdbtools is read-only); left stale"
