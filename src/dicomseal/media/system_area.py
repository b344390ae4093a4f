"""The system area of an ISO 9660 image: 32 KiB that other readers may take for more.

ECMA-119 §6.2.1 leaves sectors 0-15 to "system use". A medium writer that is not making
a hybrid image leaves them zero; dicomseal's writer does. Whatever else is there, some
reader finds something the ISO 9660 trees do not show:

* a reader that opens the image as one file (a DICOM viewer given ``medium.iso``, tar,
  a PDF reader): :func:`file_format`;
* a prober that mounts it (libblkid, behind udev, udisks and ``mount``; a USB stick's
  firmware; macOS): a partition table, an HFS volume, or any file system whose
  superblock fits the 32 KiB (an ext2 fits whole, with its files): :func:`mounted_instead`.
"""

from __future__ import annotations

import io
from typing import Final

from dicomseal.hazmat.ambiguity import FOREIGN_PROBE, leading_format, tar_header

__all__ = ["SYSTEM_AREA", "file_format", "mounted_instead"]

#: Bytes before the first volume descriptor (ECMA-119 §6.2.1: the system area).
SYSTEM_AREA: Final = 16 * 2048

#: File systems whose superblock fits the system area, as libblkid finds them (offset,
#: magic, name): what udev, udisks and mount(8) would mount instead of the ISO 9660 tree.
_SUPERBLOCKS: Final = (
    (1080, b"\x53\xef", "an ext2/ext3/ext4 file system"),
    (0, b"hsqs", "a squashfs file system"),
    (0, b"sqsh", "a squashfs file system"),
    (0, b"-rom1fs-", "a romfs file system"),
    (0, b"\x45\x3d\xcd\x28", "a cramfs file system"),
    (0, b"XFSB", "an XFS file system"),
    (1024, b"\x10\x20\xf5\xf2", "an F2FS file system"),
)


def file_format(area: bytes) -> str:
    """Another format a reader opening the image as a file would find in its system area.

    A Part 10 header (``DICM`` at byte 128, PS3.10 §7.1) or a headerless data set: every
    DICOM reader opens the image as an instance, whose last element may run over the
    whole volume; a tar header (``ustar`` at byte 257, or a V7 header without it whose
    checksum holds: GNU tar extracts it, :func:`~dicomseal.hazmat.ambiguity.tar_header`);
    a document or image its first bytes announce (a PDF header, a PNG signature: the
    rule of an instance's preamble, :func:`~dicomseal.hazmat.ambiguity.leading_format`).
    ``""`` when none.
    """
    if area[128:132] == b"DICM":
        return "a DICOM file (DICM at byte 128)"
    if area[257:262] == b"ustar" or tar_header(area[:512]):
        return "a tar archive"
    leading = leading_format(area[:FOREIGN_PROBE])  # what an instance's preamble may not be
    if leading is not None:
        return f"a {leading} file"
    from dicomseal.media.housekeeping import looks_like_data_set  # pydicom: only here

    if any(area) and looks_like_data_set(io.BytesIO(area)):
        return "a DICOM data set (no preamble)"
    return ""


def mounted_instead(area: bytes) -> list[str]:
    """What a prober would mount instead of the ISO 9660 trees, one sentence each.

    Partition tables (MBR, GPT, Apple), an HFS volume, the superblocks of
    :data:`_SUPERBLOCKS`; and any other non-zero content, named by its size: a prober
    knows formats this check does not.
    """
    found = []
    if area[510:512] == b"\x55\xaa":
        found.append("an MBR partition table or boot sector")
    if area[512:520] == b"EFI PART":
        found.append("a GPT partition table")
    if area[0:2] == b"ER" or area[512:514] == b"PM":
        found.append("an Apple partition map")
    if area[1024:1026] in (b"BD", b"H+", b"HX"):
        found.append("an HFS volume")
    found.extend(name for at, magic, name in _SUPERBLOCKS if area[at : at + len(magic)] == magic)
    if not found and any(area):
        used = len(area) - area.count(0)
        found.append(f"{used} non-zero bytes of no format this check knows")
    return [
        f"the system area holds {what}: other readers mount another file system" for what in found
    ]
