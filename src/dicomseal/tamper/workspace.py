"""Copying a medium into a work folder, and writing a folder or ISO 9660 image back out.

Reading goes through :func:`dicomseal.media.source.open_media` (no symlink followed,
unsafe entries skipped). ISO images are mastered with pycdlib (ECMA-119 interchange level
3 names, Rock Ridge 1.09 and Joliet keeping the original names), as a burner would.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pycdlib

from dicomseal.errors import MediaError
from dicomseal.media.source import open_media

__all__ = ["IsoLabels", "extract_medium", "master_iso", "write_output"]


class IsoLabels:
    """Volume descriptor identifiers a mastering tool writes (ECMA-119 §8.4)."""

    def __init__(
        self,
        volume: str = "DICOMSEAL",
        application: str = "DICOMSEAL TAMPER",
        preparer: str = "",
        publisher: str = "",
    ) -> None:
        self.volume = volume
        self.application = application
        self.preparer = preparer
        self.publisher = publisher


def extract_medium(location: str | Path, dest: Path) -> tuple[list[str], list[str]]:
    """Copy every readable entry of a medium into ``dest``.

    Returns
    -------
    tuple
        Paths copied, and paths skipped (unsafe or unreadable entries).
    """
    copied: list[str] = []
    skipped: list[str] = []
    with open_media(location) as source:
        for entry in source.entries():
            if not entry.readable:
                skipped.append(entry.path)
                continue
            target = dest.joinpath(*entry.path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with source.open(entry.path) as fin, target.open("wb") as fout:
                shutil.copyfileobj(fin, fout, 1024 * 1024)
            copied.append(entry.path)
    return copied, skipped


def _iso_name(name: str, used: set[str], *, is_dir: bool) -> str:
    stem, _, ext = (
        name.upper().rpartition(".") if "." in name and not is_dir else (name.upper(), "", "")
    )
    stem = re.sub(r"[^A-Z0-9_]", "_", stem)[:8] or "_"
    ext = re.sub(r"[^A-Z0-9_]", "_", ext)[:3]
    base = f"{stem}.{ext}" if ext else stem
    n = 0
    while base in used:
        n += 1
        suffix = str(n)
        trimmed = stem[: 8 - len(suffix)] + suffix
        base = f"{trimmed}.{ext}" if ext else trimmed
    used.add(base)
    return base


def master_iso(folder: Path, out: Path, labels: IsoLabels) -> None:
    """Write ``folder`` as an ISO 9660 image at ``out``.

    Every directory record gets the time of mastering as its recording date (pycdlib does
    so, as most burners do).
    """
    iso = pycdlib.PyCdlib()
    iso.new(
        interchange_level=3,
        vol_ident=labels.volume[:32],
        app_ident_str=labels.application[:128],
        preparer_ident_str=labels.preparer[:128],
        pub_ident_str=labels.publisher[:128],
        rock_ridge="1.09",
        joliet=3,
    )
    handles = []
    try:

        def add(dir_path: Path, iso_dir: str, joliet_dir: str) -> None:
            used: set[str] = set()
            for child in sorted(dir_path.iterdir(), key=lambda p: p.name):
                if child.is_symlink():
                    continue
                name = _iso_name(child.name, used, is_dir=child.is_dir())
                iso_path = f"{iso_dir}/{name}"
                joliet_path = f"{joliet_dir}/{child.name[:64]}"
                if child.is_dir():
                    iso.add_directory(iso_path, rr_name=child.name, joliet_path=joliet_path)
                    add(child, iso_path, joliet_path)
                else:
                    fh = child.open("rb")
                    handles.append(fh)
                    iso.add_fp(
                        fh,
                        child.stat().st_size,
                        iso_path + ";1",
                        rr_name=child.name,
                        joliet_path=joliet_path,
                    )

        add(folder, "", "")
        iso.write(str(out))
    except (pycdlib.pycdlibexception.PyCdlibException, OSError) as exc:
        raise MediaError(f"cannot master ISO image: {exc}", path=str(out)) from exc
    finally:
        iso.close()
        for fh in handles:
            fh.close()


def write_output(work: Path, out: Path, labels: IsoLabels | None = None) -> str:
    """Move the work folder to ``out`` (a folder) or master it as ``out`` (``*.iso``).

    Returns ``"iso"`` or ``"folder"``.
    """
    if out.suffix.lower() == ".iso":
        master_iso(work, out, labels or IsoLabels())
        return "iso"
    shutil.copytree(work, out, symlinks=True)
    return "folder"
