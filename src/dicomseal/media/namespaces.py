"""How readers name a medium's files, and where their views disagree.

Two reader artefacts matter to a verifier:

* Linux mounts a plain ISO 9660 disc with ``map=normal`` and shows ``DICOMDIR`` as
  ``dicomdir``. ISO 9660 Level 1 names are upper-case by definition (ECMA-119 §7.5.1), so
  such a view is mapped back (:class:`CaseFoldedSource`) before comparing with the
  manifest and DICOMDIR.
* An ISO image may carry several directory trees (ISO 9660, Rock Ridge, Joliet, ISO
  9660:1999, UDF) and each reader picks one. Data visible in only one tree escapes a check
  made through another: :func:`iso_namespace_findings` requires every tree to name the
  same bytes with the same paths, and reports every tree it cannot read (FAILED).
"""

from __future__ import annotations

import dataclasses
from typing import BinaryIO

from dicomseal.errors import MediaError
from dicomseal.media.findings import FindingCode, MediaFinding
from dicomseal.media.iso_volume import MAX_NODES, SECTOR, IsoFile, IsoTree
from dicomseal.media.manifest import MANIFEST_PATH
from dicomseal.media.source import IsoSource, MediaEntry, MediaSource
from dicomseal.wording import counted

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
    def inner(self) -> MediaSource:
        """The medium as its reader shows it (lower-cased)."""
        return self._inner

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


#: Example paths quoted at most per disagreement.
_EXAMPLES = 3


def _unwrap(source: MediaSource) -> MediaSource:
    """The medium below any wrapper (case folding, a frozen copy): never hides the trees.

    A wrapper exposes the medium it wraps as ``inner`` (:class:`CaseFoldedSource`,
    :class:`~dicomseal.media.frozen.FrozenMedium`); the container is checked on that.
    """
    seen = 0
    while (inner := getattr(source, "inner", None)) is not None and seen < 8:
        source, seen = inner, seen + 1
    return source


def _keyed(tree: IsoTree) -> dict[str, tuple[tuple[tuple[int, int], ...], int]]:
    """Each file's comparison key (its path, case-folded) and the bytes it covers."""
    return {f.path.upper(): (f.extents, f.size) for f in tree.files}


def _ambiguous(location: str, message: str) -> MediaFinding:
    return MediaFinding(FindingCode.ISO_AMBIGUOUS_NAMESPACES, location, message[:400])


def _compare(reference: IsoTree, other: IsoTree, location: str) -> list[MediaFinding]:
    """Findings when ``other`` does not name the same bytes with the same paths."""
    ref, oth = _keyed(reference), _keyed(other)
    only_ref = sorted(set(ref) - set(oth))
    only_oth = sorted(set(oth) - set(ref))
    moved = sorted(k for k in set(ref) & set(oth) if ref[k] != oth[k])
    if not (only_ref or only_oth or moved):
        return []
    example = ", ".join((only_oth + moved + only_ref)[:_EXAMPLES])
    return [
        _ambiguous(
            location,
            f"the {other.name} tree disagrees with the {reference.name} tree: "
            f"{counted(len(only_oth), 'file')} only in {other.name}, {len(only_ref)} only in "
            f"{reference.name}, {len(moved)} naming other bytes (e.g. {example}); "
            "readers using different trees see different media",
        ),
        MediaFinding(
            FindingCode.ISO_FACADES_DIFFER,
            location,
            f"the {other.name} tree shows {counted(len(only_oth) + len(moved), 'file')} the "
            f"{reference.name} tree does not, and hides {len(only_ref) + len(moved)}: "
            "readers using different namespaces see different media",
        ),
    ]


def _trees(iso: IsoSource) -> tuple[list[IsoTree], list[MediaFinding]]:
    """Every tree of the image, and findings on the volume as a whole."""
    loc = iso.location
    volume = iso.volume
    out = [_ambiguous(loc, f"ISO volume: {p}") for p in volume.problems]
    for boot in volume.boot_records:
        where = (
            f"boot image at sector {boot.image_sector} ({boot.image_sectors} x 512 bytes)"
            if boot.image_sector is not None
            else "no readable boot catalog"
        )
        out.append(
            MediaFinding(
                FindingCode.ISO_BOOT_RECORD,
                loc,
                f"boot record '{boot.system}': {where}; a boot image is code outside "
                "every file and is never verified",
            )
        )
    trees = list(volume.trees)
    udf = iso.udf_tree()
    if udf is not None:
        trees.append(udf)
    return trees, out


def iso_namespace_findings(source: MediaSource) -> list[MediaFinding]:
    """Every way the directory trees of an ISO image could show different media.

    The trees are found from the volume descriptors (:mod:`dicomseal.media.iso_volume`,
    :mod:`dicomseal.media.udf_volume`), not from a library's choice. Each must list the
    same files as the tree that was verified, under the same path and over the same bytes
    (extent and length). Paths compare after each namespace's legitimate mapping: an ISO
    9660 name loses its ``;version`` suffix and trailing dot (ECMA-119 §7.5.1), Joliet
    names are UCS-2 (same rule), Rock Ridge NM and UDF names are taken as they are, and
    case is ignored (ISO 9660 names are upper-case by definition; Windows ignores case).
    Anything else, and every tree that cannot be read, is ``ambiguous-iso-namespaces``
    (FAILED); a disagreement in the files listed also keeps its older summary code
    ``iso-namespaces-differ``. El Torito boot records are ``iso-boot-record``.
    """
    if source.kind != "iso":
        return []
    iso = _unwrap(source)
    if not isinstance(iso, IsoSource):
        return [_ambiguous(source.location, "ISO namespaces cannot be read from this source")]
    trees, findings = _trees(iso)
    reference = iso.listed_tree
    for tree in trees:
        findings.extend(_ambiguous(iso.location, f"{tree.name} tree: {p}") for p in tree.problems)
        if tree is not reference:
            findings.extend(_compare(reference, tree, iso.location))
    if not findings:  # well-formed and bounded by our own reading: ask a second reader
        findings.extend(_second_reader(iso, reference))
    return findings


_PYCDLIB_VIEWS = (
    ("iso_path", "has_pvd", "ISO 9660"),
    ("joliet_path", "has_joliet", "Joliet"),
    ("rr_path", "has_rock_ridge", "Rock Ridge"),
)


def _second_reader(iso: IsoSource, reference: IsoTree) -> list[MediaFinding]:
    """pycdlib, an independent reader, must accept the image and agree with every view.

    Only consulted once the image passed our own bounded reading (pycdlib holds whole
    directories in memory). Its UDF view is not compared: pycdlib gives UDF extents relative
    to the partition.
    """
    loc = iso.location
    reference = _without_cut(reference, iso.cut)
    try:
        lib = iso.pycdlib
    except MediaError as exc:
        if iso.shortfall:  # a short image: already a read error, listed file by file
            return []
        return [_ambiguous(loc, f"pycdlib, an independent ISO reader, refuses it: {exc.message}")]
    out: list[MediaFinding] = []
    for key, probe, name in _PYCDLIB_VIEWS:
        try:
            if probe != "has_pvd" and not getattr(lib, probe)():
                continue
            tree = _without_cut(_pycdlib_tree(lib, key, f"{name} (pycdlib)"), iso.cut)
        except Exception as exc:  # pycdlib raises many kinds on hostile images
            out.append(_ambiguous(loc, f"pycdlib cannot read its {name} view: {exc}"))
            continue
        out.extend(_compare(reference, tree, loc))
    return out


def _without_cut(tree: IsoTree, cut: tuple[str, ...]) -> IsoTree:
    """``tree`` without the files a short image cuts (pycdlib clips their length)."""
    if not cut:
        return tree
    gone = {c.upper() for c in cut}
    kept = tuple(f for f in tree.files if f.path.upper() not in gone)
    return dataclasses.replace(tree, files=kept)


def _pycdlib_tree(lib: object, key: str, name: str) -> IsoTree:
    """One pycdlib view as an :class:`IsoTree` (names without ``;1`` and trailing dot)."""
    files = []
    for dirpath, _dirs, names in lib.walk(**{key: "/"}):  # type: ignore[attr-defined]
        for raw in names:
            rec = lib.get_record(**{key: f"{dirpath.rstrip('/')}/{raw}"})  # type: ignore[attr-defined]
            clean = raw if key == "rr_path" else raw.split(";")[0].rstrip(".")
            size = int(rec.get_data_length())
            spans = ((int(rec.extent_location()) * SECTOR, size),) if size else ()
            files.append(IsoFile(f"{dirpath.strip('/')}/{clean}".lstrip("/"), spans, size))
            if len(files) > MAX_NODES:
                raise MediaError(f"more than {MAX_NODES} entries", path=name)
    return IsoTree(name, tuple(files))
