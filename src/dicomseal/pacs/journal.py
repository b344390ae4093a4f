"""The import journal: which instances a destination has confirmed, so a re-run resumes.

One JSON object per line, appended and flushed to disk right after the PACS confirmed an
instance (C-STORE success/warning, or STOW-RS Referenced SOP). An interrupted run loses at
most the line being written; a torn last line is ignored on reading, so the instance is
simply sent again. The file is created only when the first instance is confirmed: a run
that stores nothing leaves nothing behind.

The key is the destination, the SOP Instance UID, the SHA-256 of the instance as found on
the medium and the coercion fingerprint: a changed medium or a different ``--set`` sends
again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dicomseal.errors import MediaError

__all__ = ["DEFAULT_JOURNAL", "ImportJournal", "JournalKey", "default_journal_path", "state_folder"]

#: Name of the journal file older versions wrote into the current folder; kept for scripts
#: that import it. The journal now lives in the user's state folder
#: (:func:`default_journal_path`).
DEFAULT_JOURNAL = "dicomseal-import.journal.jsonl"


def state_folder(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/dicomseal`` (XDG Base Directory Specification 0.8), by default
    ``~/.local/state/dicomseal``; a relative ``$XDG_STATE_HOME`` is ignored, as the
    specification requires."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "dicomseal"


def default_journal_path(
    medium: Path, destination: str, environ: Mapping[str, str] | None = None
) -> Path:
    """The journal of importing ``medium`` into ``destination``: one file per pair, in the
    user's state folder (never the current folder), named by a digest of both."""
    key = f"{medium.resolve()}\n{destination}".encode()
    digest = hashlib.sha256(key).hexdigest()[:24]
    return state_folder(environ) / "import-journals" / f"{digest}.jsonl"


@dataclass(frozen=True)
class JournalKey:
    """Identity of one confirmed store."""

    destination: str
    sop_instance_uid: str
    source_sha256: str
    coercion: str


class ImportJournal:
    """Append-only record of confirmed stores.

    Parameters
    ----------
    path
        The journal file; ``None`` disables journaling (every instance is sent).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._done: set[JournalKey] = set()
        self._torn = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
            lines = text.splitlines()
            self._torn = bool(text) and not text.endswith("\n")
        except OSError as exc:
            raise MediaError(f"cannot read import journal: {exc.strerror}", path=str(path)) from exc
        for line in lines:
            try:
                rec = json.loads(line)
                key = JournalKey(
                    str(rec["destination"]),
                    str(rec["sop_instance_uid"]),
                    str(rec["source_sha256"]),
                    str(rec["coercion"]),
                )
            except (ValueError, KeyError, TypeError):
                continue  # a torn line from an interrupted run
            self._done.add(key)

    def __contains__(self, key: JournalKey) -> bool:
        return key in self._done

    def record(self, key: JournalKey, status: str, stored_sha256: str) -> None:
        """Append one confirmed store and push it to disk before returning.

        Raises
        ------
        MediaError
            The journal cannot be written.
        """
        self._done.add(key)
        if self.path is None:
            return
        line = json.dumps(
            {
                "destination": key.destination,
                "sop_instance_uid": key.sop_instance_uid,
                "source_sha256": key.source_sha256,
                "coercion": key.coercion,
                "status": status,
                "stored_sha256": stored_sha256,
            },
            sort_keys=True,
        )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(("\n" if self._torn else "") + line + "\n")
                self._torn = False
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise MediaError(
                f"cannot write import journal: {exc.strerror}", path=str(self.path)
            ) from exc
