"""An ISO 9660 image read without mounting (ECMA-119, PS3.12 Annex F).

Files are read through the extents of the listed tree (ECMA-119 §9.1.3). An image shorter
than the volume its primary descriptor declares (§8.4.8) is still listed: a file whose
extent runs past its end fails when read, as a read error, not proof of alteration.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import BinaryIO

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from dicomseal.errors import MediaError
from dicomseal.media.entries import MediaEntry, SourceBase, UnsafePathError, check_member_path
from dicomseal.media.iso_volume import IsoTree, IsoVolume, image_size, read_iso_volume
from dicomseal.media.udf_volume import has_udf, read_udf_tree

__all__ = ["IsoSource"]


class _SpanReader(io.RawIOBase):
    """Reads one file of an image: the ``(offset, length)`` spans its tree names, in order."""

    def __init__(self, image: Path, spans: tuple[tuple[int, int], ...], name: str) -> None:
        self._fh = image.open("rb")
        self._name = name
        self._spans = list(spans)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._spans and self._pos >= self._spans[0][1]:
            self._spans.pop(0)
            self._pos = 0
        if not self._spans:
            return 0
        offset, length = self._spans[0]
        self._fh.seek(offset + self._pos)
        data = self._fh.read(min(len(buffer), length - self._pos))
        if not data:
            raise MediaError(
                "the ISO image ends inside this file: a read error (a scratched disc, an "
                "interrupted copy), not proof of alteration",
                path=self._name,
            )
        self._pos += len(data)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._fh.close()
        super().close()


class IsoSource(SourceBase):
    """An ISO 9660 image, read without mounting (ECMA-119, PS3.12 Annex F).

    Every directory tree is read by :mod:`dicomseal.media.iso_volume` from the volume
    descriptors themselves. The files listed and read are those of the primary tree, named
    by Rock Ridge when it names them (what Linux shows) and otherwise by their ISO 9660 names
    without ``;1``; :func:`~dicomseal.media.namespaces.iso_namespace_findings` then requires
    every other tree (Joliet, UDF, ...) to name the same bytes the same way.

    An image shorter than the volume it declares (ECMA-119 §8.4.8) is refused
    (:class:`MediaError`, naming what cannot be read) unless ``allow_short``: then it is
    listed, and each file past its end fails when read (``media verify`` reports the rest).
    """

    kind = "iso"

    def __init__(self, image: str | os.PathLike[str], *, allow_short: bool = False) -> None:
        self._image = Path(image)
        try:
            with self._image.open("rb") as fh:
                self._volume = read_iso_volume(fh, image_size(fh))
        except OSError as exc:
            raise MediaError(f"cannot read ISO image: {exc.strerror}", path=str(image)) from exc
        tree = self._volume.tree("Rock Ridge") or self._volume.tree("ISO 9660")
        if tree is None:
            raise MediaError(
                "not a readable ISO 9660 image: " + "; ".join(self._volume.problems),
                path=str(image),
            )
        self._tree = tree
        if self.shortfall and not allow_short:
            named = ", ".join(tree.cut) or "the end of the volume"
            raise MediaError(
                f"{self.shortfall}: a read error (a scratched disc, an interrupted copy), not "
                f"proof of alteration; unreadable: {named[:600]}",
                path=str(image),
            )
        self._map = {f.path: f for f in tree.files}
        self._udf: IsoTree | bool | None = False
        self._iso: pycdlib.PyCdlib | None = None

    @property
    def location(self) -> str:
        return str(self._image)

    @property
    def volume(self) -> IsoVolume:
        """Every ISO 9660 tree of the image, as read from its volume descriptors."""
        return self._volume

    @property
    def shortfall(self) -> str:
        """Why part of the image cannot be read (``""`` when it holds its whole volume)."""
        v = self._volume
        if not v.short:
            return ""
        return (
            f"the image holds {v.image_bytes} of the {v.declared_bytes} bytes its volume "
            "descriptor declares"
        )

    @property
    def cut(self) -> tuple[str, ...]:
        """Listed files (and unlisted directories, ``/``-terminated) past the image end."""
        return self._tree.cut

    @property
    def listed_tree(self) -> IsoTree:
        """The tree whose files :meth:`entries` lists and :meth:`open` reads."""
        return self._tree

    def udf_tree(self) -> IsoTree | None:
        """The UDF tree of a bridge disc, or None when no reader would find UDF."""
        if self._udf is False:
            try:
                with self._image.open("rb") as fh:
                    size = image_size(fh)
                    self._udf = read_udf_tree(fh, size) if has_udf(fh, size) else None
            except OSError as exc:
                self._udf = IsoTree("UDF", (), (f"cannot read: {exc.strerror}",))
        return self._udf  # type: ignore[return-value]

    @property
    def pycdlib(self) -> pycdlib.PyCdlib:
        """The image opened with pycdlib, for reading volume descriptors (forensics)."""
        if self._iso is None:
            iso = pycdlib.PyCdlib()
            try:
                iso.open(str(self._image))
            except (
                PyCdlibException,
                OSError,
                ValueError,
                IndexError,
                KeyError,
                struct.error,
            ) as exc:
                msg = f"pycdlib cannot read this image: {exc}"
                raise MediaError(msg, path=self.location) from exc
            self._iso = iso
        return self._iso

    def entries(self) -> list[MediaEntry]:
        return [MediaEntry(p, f.size) for p, f in sorted(self._map.items())]

    def open(self, path: str) -> BinaryIO:
        norm, anomalies = check_member_path(path)
        if anomalies:
            raise UnsafePathError("path leaves the medium", path=path)
        if norm not in self._map:
            raise MediaError("no such file on the medium", path=path)
        try:
            return io.BufferedReader(_SpanReader(self._image, self._map[norm].extents, norm))
        except OSError as exc:
            raise MediaError(f"cannot read from ISO: {exc.strerror}", path=path) from exc

    def close(self) -> None:
        if self._iso is not None:
            try:
                self._iso.close()
            except PyCdlibException:
                pass
