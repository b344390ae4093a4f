"""Normalising DICOM values for comparison (PS3.5 §6.2: trailing padding is insignificant)."""

from __future__ import annotations

import datetime as dt

from pydicom.multival import MultiValue

__all__ = ["parse_da", "same_value", "text_of"]


def text_of(value: object) -> str:
    """A value as comparable text: multi-values joined by ``\\``, padding stripped."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1", "replace").strip(" \x00")
    if isinstance(value, MultiValue | list | tuple):
        return "\\".join(text_of(v) for v in value)
    return str(value).strip(" \x00")


def _norm_pn(value: str) -> str:
    groups = [g.rstrip("^ ").strip() for g in value.split("=")]
    while groups and not groups[-1]:
        groups.pop()
    return "=".join(groups).upper()


def same_value(keyword: str, a: str, b: str) -> bool:
    """Whether two values of ``keyword`` are equal after DICOM-insignificant normalisation."""
    if keyword.endswith("Name") and keyword != "InstitutionName":
        return _norm_pn(a) == _norm_pn(b)
    if keyword in ("SeriesNumber", "InstanceNumber", "StudyID"):
        try:
            return int(a) == int(b)
        except ValueError:
            return a.strip() == b.strip()
    if keyword.endswith("Time"):
        return a.strip()[:6].ljust(6, "0") == b.strip()[:6].ljust(6, "0")
    return a.strip() == b.strip()


def parse_da(value: str) -> dt.date | None:
    """A DA value (``YYYYMMDD``, or the legacy ``YYYY.MM.DD``) as a date, else ``None``."""
    v = value.strip().replace(".", "")
    if len(v) != 8 or not v.isdigit():
        return None
    try:
        return dt.date(int(v[:4]), int(v[4:6]), int(v[6:]))
    except ValueError:
        return None
