"""An ISO 9660 image as a file or a raw CD device: its size and the session it mounts.

Operating systems mount the last session of a multi-session disc (ECMA-119 §6.2.1: its
volume descriptors start at that session's sector + 16); a raw device is asked for it with
the ``CDROMMULTISESSION`` ioctl (linux/cdrom.h).
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["drive_last_session", "image_size", "last_session"]


def image_size(fh: BinaryIO) -> int:
    """Size in bytes of an image file or a raw device (``st_size`` is 0 for a device)."""
    return fh.seek(0, os.SEEK_END)


#: ``CDROMMULTISESSION`` (linux/cdrom.h): the start of the last session of a disc.
_CDROMMULTISESSION = 0x5310


def last_session(fh: BinaryIO) -> int:
    """First sector of the last session of a raw CD device; 0 for an image or one session.

    Operating systems mount the last session of a multi-session disc (its descriptors are
    at that sector + 16), so :func:`read_iso_volume` reports a device whose last session is
    not the first.
    """
    if not stat.S_ISBLK(os.fstat(fh.fileno()).st_mode):
        return 0
    return drive_last_session(fh.fileno(), _fcntl_ioctl)


def drive_last_session(fd: int, ioctl: Callable[[int, int, bytes], bytes]) -> int:
    """Ask a CD drive for its last session (``struct cdrom_multisession``, LBA format)."""
    try:
        out = ioctl(fd, _CDROMMULTISESSION, struct.pack("<iBBxx", 0, 0, 1))
    except OSError:
        return 0  # not a CD drive (a USB stick or disk image on a block device)
    lba, xa_flag, _fmt = struct.unpack("<iBBxx", out)
    return lba if xa_flag else 0


def _fcntl_ioctl(fd: int, request: int, arg: bytes) -> bytes:
    import fcntl

    return fcntl.ioctl(fd, request, arg)
