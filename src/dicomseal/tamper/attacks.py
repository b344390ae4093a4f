"""File-level attacks: swap, delete or add an instance, change pixels, add a program.

Each works on a work folder (a copy of the medium) and leaves every other file, including
the DICOMDIR and any vendor index, untouched, as an attacker without a DICOMDIR writer
would.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path

import pydicom

from dicomseal.errors import UsageError
from dicomseal.forensics.snapshot import Instance
from dicomseal.tamper.record import Change, ChangeWhat

__all__ = ["add_executable", "add_instance", "change_pixels", "delete_instance", "swap_instances"]

#: What the ``extra-file`` attack writes: an autorun that starts a "viewer".
AUTORUN_TEXT = "[autorun]\r\nopen=VIEWER.EXE\r\nicon=VIEWER.EXE,0\r\nlabel=PATIENT CD\r\n"
#: A harmless stand-in for a program: a DOS ``MZ`` header and zeros; never executed.
PROGRAM_BYTES = b"MZ" + b"\x00" * 62 + b"dicomseal tamper simulator: not a real program\r\n"


def _file(work: Path, rel: str) -> Path:
    return work.joinpath(*rel.split("/"))


def swap_instances(work: Path, instances: Sequence[Instance], rng: random.Random) -> list[Change]:
    """Exchange the contents of two instances of different series (DICOMDIR left as is)."""
    if len(instances) < 2:
        raise UsageError("swap needs at least two instances on the medium")
    a = rng.choice(list(instances))
    others = [
        i for i in instances if i.attrs.get("SeriesInstanceUID") != a.attrs.get("SeriesInstanceUID")
    ]
    b = rng.choice(others or [i for i in instances if i.path != a.path])
    pa, pb = _file(work, a.path), _file(work, b.path)
    da, db = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(db)
    pb.write_bytes(da)
    return [
        Change(
            a.path,
            ChangeWhat.FILE_SWAPPED,
            None,
            a.attrs.get("SOPInstanceUID"),
            b.attrs.get("SOPInstanceUID"),
        ),
        Change(
            b.path,
            ChangeWhat.FILE_SWAPPED,
            None,
            b.attrs.get("SOPInstanceUID"),
            a.attrs.get("SOPInstanceUID"),
        ),
    ]


def delete_instance(work: Path, instances: Sequence[Instance], rng: random.Random) -> list[Change]:
    """Remove one instance file."""
    if not instances:
        raise UsageError("delete needs an instance on the medium")
    victim = rng.choice(list(instances))
    _file(work, victim.path).unlink()
    return [Change(victim.path, ChangeWhat.FILE_REMOVED, None, victim.attrs.get("SOPInstanceUID"))]


def _free_name(folder: Path, template: str) -> Path:
    stem = template[:2].upper() if template[:2].isalpha() else "IM"
    for n in range(999999, 0, -1):
        candidate = folder / f"{stem}{n:06d}"
        if not candidate.exists():
            return candidate
    raise UsageError("no free file name for the added instance", path=str(folder))


def _edit_block(ds: pydicom.Dataset, rng: random.Random) -> str:
    ts = ds.file_meta.TransferSyntaxUID
    if ts.is_compressed:
        raise UsageError(f"pixel attack needs uncompressed pixel data, not {ts.name}")
    rows, cols = int(ds.Rows), int(ds.Columns)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    bpp = int(ds.BitsAllocated) // 8
    if bpp not in (1, 2, 4) or rows < 8 or cols < 8:
        raise UsageError("pixel attack needs 8-, 16- or 32-bit images of at least 8x8")
    data = bytearray(ds.PixelData)
    r0, c0 = rng.randrange(0, rows - 7), rng.randrange(0, cols - 7)
    top = (1 << int(ds.get("BitsStored", 8 * bpp))) - 1
    value = top.to_bytes(bpp, "little" if ts.is_little_endian else "big")
    for r in range(r0, r0 + 8):
        for c in range(c0, c0 + 8):
            at = ((r * cols + c) * spp) * bpp
            data[at : at + bpp] = value
    ds.PixelData = bytes(data)
    return f"frame 0, rows {r0}-{r0 + 7}, columns {c0}-{c0 + 7} set to {top}"


def change_pixels(work: Path, instances: Sequence[Instance], rng: random.Random) -> list[Change]:
    """Overwrite an 8x8 block of one frame; header and file length unchanged."""
    if not instances:
        raise UsageError("pixel needs an instance on the medium")
    target = rng.choice(list(instances))
    path = _file(work, target.path)
    ds = pydicom.dcmread(path)
    where = _edit_block(ds, rng)
    ds.save_as(path)
    return [Change(target.path, ChangeWhat.PIXELS, "PixelData", None, where)]


def add_instance(work: Path, instances: Sequence[Instance], rng: random.Random) -> list[Change]:
    """Add a new instance (a copy with a new SOP Instance UID and changed pixels)."""
    if not instances:
        raise UsageError("add needs an instance on the medium to imitate")
    model = rng.choice(list(instances))
    src = _file(work, model.path)
    ds = pydicom.dcmread(src)
    new_uid: str = str(ds.SOPInstanceUID) + ".999"
    if len(new_uid) > 64:
        new_uid = str(pydicom.uid.generate_uid())
    ds.SOPInstanceUID = new_uid
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.UID(new_uid)
    numbers = [
        int(i.attrs.get("InstanceNumber", "0") or 0)
        for i in instances
        if i.attrs.get("SeriesInstanceUID") == model.attrs.get("SeriesInstanceUID")
    ]
    ds.InstanceNumber = max(numbers, default=0) + 1
    _edit_block(ds, rng)
    target = _free_name(src.parent, src.name)
    ds.save_as(target)
    rel = target.relative_to(work).as_posix()
    return [Change(rel, ChangeWhat.FILE_ADDED, "SOPInstanceUID", None, new_uid)]


def add_executable(work: Path) -> list[Change]:
    """Add ``AUTORUN.INF`` and the ``VIEWER.EXE`` it starts at the top of the medium."""
    changes = []
    for name, data in (
        ("AUTORUN.INF", AUTORUN_TEXT.encode("ascii")),
        ("VIEWER.EXE", PROGRAM_BYTES),
    ):
        target = work / name
        if target.exists():
            raise UsageError(f"{name} already exists on the medium")
        target.write_bytes(data)
        changes.append(Change(name, ChangeWhat.FILE_ADDED, None, None, f"{len(data)} bytes"))
    return changes
