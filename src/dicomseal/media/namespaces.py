"""How readers name a medium's files, and where their views disagree.

Two reader artefacts matter to a verifier:

* Linux mounts a plain ISO 9660 disc with ``map=normal`` and shows ``DICOMDIR`` as
  ``dicomdir``. ISO 9660 Level 1 names are upper-case by definition (ECMA-119 §7.5.1), so
  such a view is mapped back (:class:`CaseFoldedSource`) before comparing with the
  manifest and DICOMDIR.
* An ISO image may carry several directory trees (ISO 9660, Joliet, Rock Ridge, UDF) and
  each reader picks one. Data visible in only one tree escapes a check made through
  another: :func:`iso_namespace_findings` reports trees that disagree.
"""

from __future__ import annotations

import dataclasses
from typing import BinaryIO

from dicomseal.media.findings import FindingCode, MediaFinding
from dicomseal.media.manifest import MANIFEST_PATH
from dicomseal.media.source import MediaEntry, MediaSource

__all__ = ["CaseFoldedSource", "fold_case_if_needed", "iso_namespace_findings"]


class CaseFoldedSource:
    """A medium seen through a reader that lower-cased its ISO 9660 names.

    Linux mounts a plain ISO 9660 disc with ``map=normal``: ``DICOMDIR`` shows as
    ``dicomdir``. ISO 9660 Level 1 names are upper-case by definition (ECMA-119 §7.5.1), so
    such a view is mapped back to upper case: the manifest and DICOMDIR then match.
    """

    def __init__(self, inner: MediaSource) -> None:
        self._inner = inner
        self._map = {e.path.upper(): e.path for e in inner.entries()}

    @property
    def location(self) -> str:
        return self._inner.location

    @property
    def kind(self) -> str:
        return self._inner.kind

    def entries(self) -> list[MediaEntry]:
        return sorted(
            (dataclasses.replace(e, path=e.path.upper()) for e in self._inner.entries()),
            key=lambda e: e.path,
        )

    def open(self, path: str) -> BinaryIO:
        return self._inner.open(self._map.get(path, path))

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> MediaSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def fold_case_if_needed(source: MediaSource) -> MediaSource:
    """Wrap ``source`` in :class:`CaseFoldedSource` when it shows a lower-cased medium.

    That is: no upper-case ``DICOMDIR`` or manifest, but a lower-case one, and no two
    entries whose names differ only by case.
    """
    paths = {e.path for e in source.entries()}
    folded = {p.upper() for p in paths}
    looks_lowered = not ({"DICOMDIR", MANIFEST_PATH} & paths) and bool(
        {"dicomdir", MANIFEST_PATH.lower()} & paths
    )
    if looks_lowered and len(folded) == len(paths):
        return CaseFoldedSource(source)
    return source


def _iso_extents(iso: object, key: str) -> set[tuple[int, int]]:
    """(extent, length) of every file record in one ISO namespace (ECMA-119 §9.1)."""
    out: set[tuple[int, int]] = set()
    for dirpath, _dirs, files in iso.walk(**{key: "/"}):  # type: ignore[attr-defined]
        for name in files:
            rec = iso.get_record(**{key: dirpath.rstrip("/") + "/" + name})  # type: ignore[attr-defined]
            out.add((int(rec.extent_location()), int(rec.get_data_length())))
    return out


def iso_namespace_findings(source: MediaSource) -> list[MediaFinding]:
    """An ISO image whose ISO 9660, Joliet, Rock Ridge and UDF trees show different files.

    Each reader picks one namespace (Windows: Joliet or UDF; Linux: Rock Ridge; plain
    readers: ISO 9660), so data visible in only one of them escapes a check made through
    another. Compared by data extent and length, which legitimately differing names
    (``LONGFI~1.TXT``) do not change.
    """
    iso = getattr(source, "pycdlib", None)
    if source.kind != "iso" or iso is None:
        return []
    spaces = {"ISO 9660": "iso_path"}
    if iso.has_joliet():
        spaces["Joliet"] = "joliet_path"
    if iso.has_rock_ridge():
        spaces["Rock Ridge"] = "rr_path"
    if iso.has_udf():
        spaces["UDF"] = "udf_path"
    if len(spaces) < 2:
        return []
    try:
        extents = {name: _iso_extents(iso, key) for name, key in spaces.items()}
    except Exception as exc:  # pycdlib raises many kinds on hostile images
        return [
            MediaFinding(
                FindingCode.ISO_FACADES_DIFFER,
                source.location,
                f"cannot compare the ISO namespaces: {exc}"[:300],
            )
        ]
    base_name, base = next(iter(extents.items()))
    out = []
    for name, found in extents.items():
        if found != base:
            out.append(
                MediaFinding(
                    FindingCode.ISO_FACADES_DIFFER,
                    source.location,
                    f"the {name} tree shows {len(found - base)} file(s) the {base_name} tree does "
                    f"not, and hides {len(base - found)}: readers using different namespaces "
                    "see different media",
                )
            )
    return out
