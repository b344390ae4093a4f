"""Where commands write: one rule for every output folder, so that no user data is lost.

A command that writes a folder of results (``demo``, ``experiment``, ...) claims that folder
with a marker file. It may later replace a folder that holds its marker, because then every
file in it was written by dicomseal. It never deletes or writes into a folder that holds
anything else unless the user says ``--force``, and even then it deletes nothing it did not
write. The current folder, the home folder, the file-system root and any folder that
contains one of them are refused outright: a mistyped ``--out .`` must not cost a user a
single file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Final

from dicomseal.errors import MediaError, UsageError

__all__ = ["MARKER", "claim_output_folder"]

#: Name of the marker file that says "dicomseal wrote every file in this folder".
MARKER: Final = ".dicomseal-output"


def _protected(path: Path) -> str | None:
    """Why ``path`` may never be replaced (it is or contains ``/``, ``~`` or ``.``)."""
    resolved = path.resolve()
    for label, guarded in (
        ("the file-system root", Path(resolved.anchor)),
        ("your home folder", Path.home().resolve()),
        ("the current folder", Path.cwd().resolve()),
    ):
        if resolved == guarded or guarded.is_relative_to(resolved):
            return label
    return None


def claim_output_folder(path: Path, *, force: bool = False, command: str) -> Path:
    """Make ``path`` an empty folder that ``command`` may fill, or refuse.

    Parameters
    ----------
    path
        The output folder the user named.
    force
        Write into a non-empty folder that dicomseal did not create. Nothing in it is
        deleted; files the command writes replace files of the same name.
    command
        The command's name, written into the marker and used in messages.

    Raises
    ------
    UsageError
        The folder is protected, is a file, or holds files dicomseal did not write and
        ``force`` is false (exit 2).
    MediaError
        The folder cannot be created or cleared (exit 4).
    """
    why = _protected(path)
    if why is not None:
        raise UsageError(f"refusing to use {why} as the output folder; name a new folder")
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise UsageError("the output exists and is not a folder; name a new folder", path=str(path))
    try:
        if path.is_dir():
            _empty_own_folder(path, force=force)
        path.mkdir(parents=True, exist_ok=True)
        (path / MARKER).write_text(f"written by dicomseal {command}\n", encoding="utf-8")
    except OSError as exc:
        raise MediaError(
            f"cannot prepare the output folder: {exc.strerror}", path=str(path)
        ) from exc
    return path


def _empty_own_folder(path: Path, *, force: bool) -> None:
    """Delete the contents of a folder dicomseal wrote; refuse a foreign non-empty one."""
    children = list(path.iterdir())
    if not children:
        return
    if (path / MARKER).is_file():
        for child in children:
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        return
    if not force:
        raise UsageError(
            f"the output folder holds files dicomseal did not write (such as "
            f"{sorted(c.name for c in children)[0]!r}); name a new or empty folder, or add "
            "--force to write into it (nothing is deleted)",
            path=os.fspath(path),
        )
