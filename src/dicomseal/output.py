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

__all__ = [
    "MARKER",
    "OUTPUT_KINDS",
    "check_destination",
    "claim_output_file",
    "claim_output_folder",
    "human_bytes",
    "output_kind",
]

#: What a command that writes a medium can write: a folder, an ISO 9660 image, a zip.
OUTPUT_KINDS: Final = ("folder", "iso", "zip")

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


def output_kind(
    path: Path, explicit: str | None, *, allowed: tuple[str, ...] = OUTPUT_KINDS
) -> str:
    """The kind of output ``path`` names: ``explicit`` (``--out-format``) or its extension.

    ``.iso`` is an ISO 9660 image, ``.zip`` a zip, no extension a folder. Any other
    extension is a usage error unless the kind is given explicitly: ``--out cd.img`` must
    not silently become a folder.

    Raises
    ------
    UsageError
        Unknown extension without ``explicit``, or a kind this command cannot write.
    """
    choices = "|".join(allowed)
    if explicit is not None:
        if explicit not in allowed:
            raise UsageError(f"--out-format {explicit}: this command writes {choices}")
        return explicit
    suffix = path.suffix.lower()
    kind = {"": "folder", ".iso": "iso", ".zip": "zip"}.get(suffix)
    if kind is None or kind not in allowed:
        named = ", ".join(f".{k}" for k in allowed if k != "folder")
        raise UsageError(
            f"cannot tell what to write from the extension {path.suffix!r}; name the output "
            f"{named} or a folder without an extension, or add --out-format {choices}",
            path=os.fspath(path),
        )
    return kind


def claim_output_file(path: Path, *, force: bool = False) -> Path:
    """Refuse to overwrite an existing file unless ``force``; never replace a folder.

    Raises
    ------
    UsageError
        ``path`` is a folder, or an existing file and ``force`` is false (exit 2).
    """
    if path.is_dir() and not path.is_symlink():
        raise UsageError("the output is a folder; name a file", path=os.fspath(path))
    if (path.exists() or path.is_symlink()) and not force:
        raise UsageError(
            "the output file exists; name a new file, or add --force to replace it",
            path=os.fspath(path),
        )
    return path


def check_destination(path: Path, needed_bytes: int) -> None:
    """Before any work: the folder that will hold ``path`` exists, is writable and has room.

    Raises
    ------
    UsageError
        The parent folder does not exist (exit 2).
    MediaError
        It is not writable, or has less free space than ``needed_bytes`` (exit 4).
    """
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError("the folder for the output does not exist", path=os.fspath(parent))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise MediaError(
            "the destination is not writable; choose another place", path=os.fspath(parent)
        )
    free = shutil.disk_usage(parent).free
    if free < needed_bytes:
        raise MediaError(
            f"not enough room at the destination: about {human_bytes(needed_bytes)} needed, "
            f"{human_bytes(free)} free",
            path=os.fspath(parent),
        )


def human_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KB'``: sizes for people (SI units, as disc capacities are sold)."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover - loop always returns
