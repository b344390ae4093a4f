"""Package a staged medium folder as an ISO 9660 image or a zip archive.

ISO 9660 (ECMA-119) per PS3.12 Annex F: Interchange Level 1 names (upper-case ``8.3``,
files without extension stored as ``NAME.;1`` so that readers show ``NAME``), at most 8
directory levels, one File-set per volume with the File-set ID as Volume Identifier.
Joliet (UCS-2 names, here the same names) is optional. The image is written with pycdlib,
which opens each file only while copying it (bounded memory and file handles).

Zip (PS3.11 Annex L style, as for STD-GEN-ZIP-MAIL): members stored uncompressed, with
the medium's relative paths, no directory entries outside the tree.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from dicomseal.errors import MediaError

__all__ = ["iso_safe_name", "list_staged", "write_iso", "write_zip"]

#: Bytes per copy step when packaging (pycdlib's default is 32 KiB, zipfile's 8 KiB): the
#: image is the same, with fewer steps in Python for each file.
COPY_BLOCK = 1 << 20
_LEVEL1 = re.compile(r"^[A-Z0-9_]{1,8}(\.[A-Z0-9_]{1,3})?$")


def iso_safe_name(name: str, taken: set[str] | None = None) -> str:
    """An ISO 9660 Level 1 ``8.3`` upper-case name for ``name`` (deduplicated in ``taken``)."""
    stem, _dot, ext = name.upper().rpartition(".") if "." in name else (name.upper(), "", "")
    stem = re.sub(r"[^A-Z0-9_]", "_", stem)[:8] or "_"
    ext = re.sub(r"[^A-Z0-9_]", "_", ext)[:3]
    candidate = f"{stem}.{ext}" if ext else stem
    if taken is not None:
        n = 1
        while candidate in taken:
            tail = f"_{n}"
            base = stem[: 8 - len(tail)] + tail
            candidate = f"{base}.{ext}" if ext else base
            n += 1
        taken.add(candidate)
    return candidate


def list_staged(root: Path) -> list[str]:
    """Relative POSIX paths of every regular file under ``root``, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        rel = Path(dirpath).relative_to(root)
        for name in filenames:
            out.append((rel / name).as_posix() if str(rel) != "." else name)
    return sorted(out)


def write_iso(
    root: Path,
    out: Path,
    volume_id: str,
    *,
    joliet: bool = False,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write the staged folder ``root`` as an ISO 9660 image ``out``.

    Raises
    ------
    MediaError
        A name is not Level 1 conformant, the tree is deeper than 8 levels, or pycdlib
        cannot write the image.
    """
    files = list_staged(root)
    iso = pycdlib.PyCdlib()
    try:
        iso.new(
            interchange_level=1,
            vol_ident=volume_id[:32],
            joliet=3 if joliet else None,
            sys_ident="DICOMSEAL",
        )
        made: set[str] = set()
        for rel in files:
            parts = rel.split("/")
            if len(parts) > 8:
                raise MediaError("deeper than 8 directory levels (PS3.12 Annex F)", path=rel)
            for p in parts:
                if not _LEVEL1.match(p):
                    raise MediaError("not an ISO 9660 Level 1 name", path=rel)
            for depth in range(1, len(parts)):
                d = "/" + "/".join(parts[:depth])
                if d not in made:
                    iso.add_directory(iso_path=d, joliet_path=d if joliet else None)
                    made.add(d)
            iso_name = "/" + rel + ("" if "." in parts[-1] else ".") + ";1"
            iso.add_file(
                str(root / rel), iso_path=iso_name, joliet_path="/" + rel if joliet else None
            )

        def _cb(done: int, _total: int, _opaque: object = None) -> None:
            if progress is not None:
                progress(done)

        iso.write(str(out), blocksize=COPY_BLOCK, progress_cb=_cb if progress else None)
    except PyCdlibException as exc:
        raise MediaError(f"cannot write ISO 9660 image: {exc}", path=str(out)) from exc
    except OSError as exc:
        raise MediaError(f"cannot write ISO 9660 image: {exc.strerror}", path=str(out)) from exc
    finally:
        try:
            iso.close()
        except PyCdlibException:
            pass


def write_zip(root: Path, out: Path) -> None:
    """Write the staged folder ``root`` as a zip archive ``out`` (members stored)."""
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for rel in list_staged(root):
                _add_member(zf, root / rel, rel)
    except OSError as exc:
        raise MediaError(f"cannot write zip archive: {exc.strerror}", path=str(out)) from exc


def _add_member(zf: zipfile.ZipFile, path: Path, arcname: str) -> None:
    """:meth:`zipfile.ZipFile.write` of one stored file, copied in :data:`COPY_BLOCK` steps.

    The member (local header, data, central directory entry) is the one ``write`` makes:
    the same :meth:`~zipfile.ZipInfo.from_file` header, stored, through ``ZipFile.open``.
    """
    info = zipfile.ZipInfo.from_file(path, arcname)
    info.compress_type = zipfile.ZIP_STORED
    with path.open("rb") as src, zf.open(info, "w") as dest:
        while block := src.read(COPY_BLOCK):
            dest.write(block)
