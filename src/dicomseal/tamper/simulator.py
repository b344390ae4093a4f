"""The tamper simulator: apply one attack to a copy of a medium and record what changed.

The source medium is never modified. The result is written to ``out`` (a folder, or an
ISO 9660 image when ``out`` ends in ``.iso``) and the record of the run to
``<out>.tamper.json`` beside it (:func:`dicomseal.tamper.record.record_path`).
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from dicomseal.errors import UsageError
from dicomseal.forensics.snapshot import Instance, Snapshot, take_snapshot
from dicomseal.media.source import open_media
from dicomseal.tamper import attacks
from dicomseal.tamper.dicomdir_edit import rewrite_dicomdir
from dicomseal.tamper.edits import edit_careless, edit_consistent
from dicomseal.tamper.index_edit import Edit, rewrite_index
from dicomseal.tamper.record import Change, Scope, TamperMode, TamperRecord, record_path
from dicomseal.tamper.workspace import IsoLabels, extract_medium, write_output

__all__ = ["tamper_medium"]


def _targets(snap: Snapshot, scope: Scope, rng: random.Random) -> list[Instance]:
    instances = sorted(snap.instances, key=lambda i: i.path)
    if not instances:
        raise UsageError("the medium holds no DICOM instance to edit", path=snap.location)
    target = rng.choice(instances)
    if scope is Scope.INSTANCE:
        return [target]
    if scope is Scope.STUDY:
        study = target.attrs.get("StudyInstanceUID")
        return [i for i in instances if i.attrs.get("StudyInstanceUID") == study]
    return instances


def _consistent(
    work: Path, snap: Snapshot, targets: Sequence[Instance], sets: Mapping[str, str]
) -> tuple[list[Change], list[str]]:
    changes: list[Change] = []
    notes: list[str] = []
    after_by_path = {}
    edits = []
    for inst in targets:
        c, before, after = edit_consistent(work.joinpath(*inst.path.split("/")), inst.path, sets)
        changes.extend(c)
        if c:
            after_by_path[inst.path] = after
            edits.append(Edit.of(before, after))
    for ddir in snap.dicomdirs:
        changes.extend(
            rewrite_dicomdir(
                work.joinpath(*ddir.path.split("/")), ddir.path, ddir.folder, after_by_path
            )
        )
    for index in snap.indexes:
        c, note = rewrite_index(
            work.joinpath(*index.path.split("/")), index.path, index.format, edits
        )
        changes.extend(c)
        if note:
            notes.append(note)
    return changes, notes


def _labels(snap: Snapshot) -> IsoLabels:
    if snap.iso is None:
        return IsoLabels()
    ids = snap.iso.identifiers
    return IsoLabels(
        volume=ids.get("volume_identifier", "") or "DICOMSEAL",
        application=ids.get("application_identifier", ""),
        preparer=ids.get("preparer_identifier", ""),
        publisher=ids.get("publisher_identifier", ""),
    )


def _apply(
    mode: TamperMode,
    work: Path,
    snap: Snapshot,
    scope: Scope,
    sets: Mapping[str, str],
    rng: random.Random,
) -> tuple[list[Change], list[str]]:
    instances = sorted(snap.instances, key=lambda i: i.path)
    if mode is TamperMode.CARELESS:
        changes: list[Change] = []
        for inst in _targets(snap, scope, rng):
            changes.extend(edit_careless(work.joinpath(*inst.path.split("/")), inst.path, sets))
        return changes, ["DICOMDIR and vendor index left as they were"]
    if mode in (TamperMode.CONSISTENT, TamperMode.REMASTER):
        return _consistent(work, snap, _targets(snap, scope, rng), sets)
    if mode is TamperMode.SWAP:
        return attacks.swap_instances(work, instances, rng), []
    if mode is TamperMode.DELETE:
        return attacks.delete_instance(work, instances, rng), []
    if mode is TamperMode.ADD:
        return attacks.add_instance(work, instances, rng), []
    if mode is TamperMode.PIXEL:
        return attacks.change_pixels(work, instances, rng), []
    return attacks.add_executable(work), []


def tamper_medium(
    media: str | Path,
    out: str | Path,
    mode: TamperMode,
    sets: Mapping[str, str] | None = None,
    *,
    scope: Scope | None = None,
    seed: int = 0,
) -> TamperRecord:
    """Apply one attack to a copy of ``media`` and write it to ``out``.

    Parameters
    ----------
    media
        Folder, ISO image or zip (read through :func:`~dicomseal.media.source.open_media`).
    out
        New folder, or ``*.iso`` for an ISO 9660 image; must not exist. ``remaster``
        requires an ISO.
    mode
        The attack.
    sets
        ``Keyword -> value`` for the header modes (careless, consistent, remaster).
    scope
        Instances edited by header modes; default ``instance`` for careless, ``study``
        for consistent/remaster.
    seed
        Chooses the target instance(s) reproducibly.

    Raises
    ------
    UsageError
        Bad combination of arguments, or ``out`` exists.
    dicomseal.errors.MediaError
        The medium cannot be read or the output cannot be written.
    """
    out_path = Path(out)
    sets = dict(sets or {})
    if out_path.exists() or out_path.is_symlink():
        raise UsageError("output exists; refusing to overwrite", path=str(out_path))
    if mode.edits_header and not sets:
        raise UsageError(f"mode {mode.value} needs at least one --set Keyword=Value")
    if not mode.edits_header and sets:
        raise UsageError(f"--set does not apply to mode {mode.value}")
    if mode is TamperMode.REMASTER and out_path.suffix.lower() != ".iso":
        raise UsageError("remaster writes a new ISO image: give --out NAME.iso")
    if scope is None:
        scope = Scope.INSTANCE if mode is TamperMode.CARELESS else Scope.STUDY
    rng = random.Random(seed)  # noqa: S311 - reproducible choice of target, not crypto
    with open_media(media) as source:
        snap = take_snapshot(source)
    tmp = Path(tempfile.mkdtemp(prefix="dicomseal-tamper-"))
    try:
        work = tmp / "medium"
        work.mkdir()
        _copied, skipped = extract_medium(media, work)
        changes, notes = _apply(mode, work, snap, scope, sets, rng)
        if skipped:
            notes.append("not copied (unsafe or unreadable): " + ", ".join(skipped))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        write_output(work, out_path, _labels(snap))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    record = TamperRecord(
        mode=mode,
        scope=scope,
        seed=seed,
        source=str(media),
        output=str(out_path),
        sets=sets,
        changes=tuple(changes),
        notes=tuple(notes),
    )
    record.write(record_path(out_path))
    return record
