"""The stamp of a source file: proof that the bytes checked are the bytes signed.

``media create`` reads a source's header and checks it (:mod:`~dicomseal.media.inputs`),
then reads the file again to sign it (:mod:`~dicomseal.media.instance_signing`). A file
written in between would be signed unchecked, under DICOMDIR records made from other
bytes; its stamp, taken before the header is read, shows any such write.
"""

from __future__ import annotations

import os
from pathlib import Path

from dicomseal.errors import MediaError

__all__ = ["require_unchanged", "source_stamp"]


def source_stamp(path: Path) -> tuple[int, ...]:
    """The state of a source file: device, inode, size, modification and change times.

    A write to the file or its replacement changes it (the change time cannot be set back
    by a writer, POSIX ``stat``), so a source checked under one stamp and still under it
    after it was signed was not changed in between.
    """
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def require_unchanged(path: Path, stamp: tuple[int, ...]) -> None:
    """Refuse a source whose file changed since its header was read and checked.

    Its header made the DICOMDIR records and passed the checks; the file is read again to
    be signed, so bytes written in between would be signed unchecked.

    Raises
    ------
    MediaError
        The file changed (or can no longer be examined).
    """
    try:
        now = source_stamp(path)
    except OSError as exc:
        raise MediaError(
            f"cannot examine the source again: {exc.strerror}", path=str(path)
        ) from exc
    if stamp and now != stamp:
        raise MediaError(
            "the source changed while the medium was made (after its check); left out",
            path=str(path),
        )
