"""``media create``: build a signed, tamper-evident IHE PDI medium (folder, ISO or zip).

The steps, each a module of its own:

1. find the instances among the sources (:mod:`~dicomseal.media.inputs`) and check each
   (known little-endian transfer syntax, a decoder when the profile needs it decoded,
   PS3.11 Annex D): all up front with one worker or ``--strict``, otherwise one by one,
   each handed to the signing workers as soon as it is checked;
2. bring each instance into a transfer syntax the profile allows, correcting File Meta
   that disagrees with its data set (PS3.10 §7.1);
3. sign every instance (PS3.15 Annex C, Creator RSA profile for RSA keys) and digest it
   for the manifest (:mod:`~dicomseal.media.instance_signing`), in forked workers while
   the main process plans the file-set - File IDs under ``DICOM/``, DICOMDIR records
   (:mod:`~dicomseal.media.fileset`, PS3.10 §8, PS3.3 Annex F) - and writes DICOMDIR
   (planned again without any instance that failed); signed files are then moved to
   their File IDs;
4. write DICOMDIR, ``README.TXT``, ``INDEX.HTM`` (:mod:`~dicomseal.media.webcontent`) and
   any extra content (a viewer) outside ``DICOM/``;
5. write the manifest of every file and its detached CMS signature
   (:mod:`~dicomseal.media.sealing`);
6. package the staged tree as an ISO 9660 image or a zip when asked
   (:mod:`~dicomseal.media.writers`).

One input never sinks the medium: an instance that cannot be checked, decoded, recorded
or signed is left out and listed with its reason (:attr:`MediumCreation.skipped`), in
source order whatever the order the workers finish in; with
:attr:`CreateOptions.strict` the medium is refused instead (:class:`UsageError`, exit 2)
and nothing is written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import importlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from dicomseal import __version__
from dicomseal.errors import MediaError, SignatureError, UsageError
from dicomseal.media.collector import full_collections_deferred
from dicomseal.media.fileset import FileSetPlan, fileset_id_from_label, plan_fileset
from dicomseal.media.inputs import (
    MediaProfile,
    PreparedInstance,
    SkippedInput,
    SourceInstance,
    check_instance,
    collect_sources,
    iter_sources,
)
from dicomseal.media.instance_signing import (
    SIGNING_DIR,
    Job,
    ProgressCallback,
    Result,
    run_signing,
)
from dicomseal.media.manifest import ManifestEntry, MediumInfo, utc_timestamp
from dicomseal.signature import MacAlgorithm, SigningCredentials
from dicomseal.signature.keys import fingerprint_sha256, issuers_of
from dicomseal.verdict import Verdict

if TYPE_CHECKING:
    from dicomseal.media.webcontent import MediumSummary, StudySummary

__all__ = ["CreateOptions", "MediumCreation", "OutputKind", "ProgressCallback", "create_medium"]

VIEWER_DIR = "VIEWER"
#: What only the steps after signing use (sealing, descriptive files, packaging, the
#: read-back): imported while the workers sign (:func:`_import_later_steps`), not before
#: they are forked, so that start-up is shorter and the workers smaller.
_LATER_STEPS: Final = (
    "dicomseal.media.webcontent",
    "dicomseal.media.sealing",
    "dicomseal.media.writers",
    "dicomseal.media.readback",
)


class OutputKind(enum.Enum):
    """What ``--out`` names: decided by its suffix."""

    FOLDER = "folder"
    ISO = "iso"
    ZIP = "zip"

    @classmethod
    def for_path(cls, path: Path) -> OutputKind:
        """``.iso`` -> ISO, ``.zip`` -> zip, anything else a folder."""
        suffix = path.suffix.lower()
        return cls.ISO if suffix == ".iso" else cls.ZIP if suffix == ".zip" else cls.FOLDER


@dataclass(frozen=True)
class CreateOptions:
    """How to build the medium.

    Attributes
    ----------
    created_at
        Creation time: signature DateTime, manifest ``created`` and CMS signing-time.
    profile
        Application profile (PS3.11).
    label
        Human label (README/INDEX title); the File-set ID is derived from it unless given.
    fileset_id
        File-set ID (0004,1130) and ISO Volume Identifier.
    viewer
        File or folder copied to ``VIEWER/`` (ISO 9660 safe names).
    joliet
        Add Joliet names to an ISO image.
    mac
        MAC algorithm of the instance signatures.
    workers
        Processes that sign and digest instances in parallel (forked; 1 = in-process).
    strict
        Refuse the medium when any DICOM instance among the sources cannot go on it,
        instead of leaving that instance out and listing it.
    tsa_url
        RFC 3161 time-stamping authority (HTTP) asked for a signature timestamp over the
        manifest signature (:mod:`~dicomseal.media.cms_timestamp`), the proof of existence
        that keeps the medium verifiable after the creator's certificate expires.
    embed_validation, crls, ocsps, certificates
        Store the signer's certificates, ``certificates`` (the TSA's, fetched issuers),
        ``crls`` and ``ocsps`` (DER) in ``DICOMSEA/VALDATA.P7``, covered by the manifest
        (:mod:`~dicomseal.media.valdata`).
    verify_after_writing
        Read the written medium back and verify it against the creator's own chain
        (:mod:`~dicomseal.media.readback`); anything but PASSED removes it and fails.
    """

    created_at: dt.datetime
    profile: MediaProfile = MediaProfile.STD_GEN_CD
    label: str = "DICOM MEDIUM"
    fileset_id: str | None = None
    viewer: Path | None = None
    joliet: bool = False
    mac: MacAlgorithm = MacAlgorithm.SHA256
    workers: int = 1
    strict: bool = False
    verify_after_writing: bool = True
    tsa_url: str | None = None
    embed_validation: bool = False
    crls: tuple[bytes, ...] = ()
    ocsps: tuple[bytes, ...] = ()
    certificates: tuple[bytes, ...] = ()


@dataclass(frozen=True)
class MediumCreation:
    """What was written: the summary printed at the end of ``media create``."""

    output: str
    kind: OutputKind
    fileset_id: str
    profile: MediaProfile
    patients: int
    studies: int
    instances: int
    files: int
    total_bytes: int
    output_bytes: int
    converted: int
    skipped: tuple[SkippedInput, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)
    creator: str = ""
    verified_after_writing: str = ""


def _check_output(out: Path, kind: OutputKind) -> None:
    if kind is OutputKind.FOLDER:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise UsageError("output folder exists and is not empty", path=str(out))
    elif out.exists():
        raise UsageError("output file exists; choose a new name", path=str(out))
    elif not out.parent.is_dir():
        raise UsageError("output folder does not exist", path=str(out.parent))


def _copy_viewer(viewer: Path, stage: Path) -> list[str]:
    """Copy a viewer file or tree under ``VIEWER/`` with ISO 9660 Level 1 names."""
    from dicomseal.media.writers import iso_safe_name

    notes = []
    if not viewer.exists():
        raise UsageError("viewer path does not exist", path=str(viewer))
    target = stage / VIEWER_DIR
    target.mkdir()
    if viewer.is_file():
        name = iso_safe_name(viewer.name)
        shutil.copyfile(viewer, target / name)
        if name != viewer.name:
            return [f"viewer {viewer.name} stored as {VIEWER_DIR}/{name}"]
        return []

    def copy_tree(src: Path, dst: Path, depth: int) -> None:
        if depth > 6:
            raise UsageError(
                "viewer folder deeper than the 8 levels ISO 9660 allows", path=str(src)
            )
        taken: set[str] = set()
        for item in sorted(src.iterdir()):
            if item.is_symlink():
                notes.append(f"viewer symlink {item} not copied")
                continue
            name = iso_safe_name(item.name, taken)
            if item.is_dir():
                (dst / name).mkdir()
                copy_tree(item, dst / name, depth + 1)
            elif item.is_file():
                shutil.copyfile(item, dst / name)

    copy_tree(viewer, target, 1)
    return notes


def create_medium(
    sources: Sequence[str | Path],
    out: str | Path,
    credentials: SigningCredentials,
    options: CreateOptions,
    *,
    progress: ProgressCallback | None = None,
    kind: OutputKind | None = None,
) -> MediumCreation:
    """Create a signed PDI medium from DICOM files or folders.

    Parameters
    ----------
    sources
        Files or folders (any layout, any names).
    out
        ``*.iso`` for an ISO 9660 image, ``*.zip`` for a zip, otherwise a new folder.
    credentials
        The creator's key and certificate (its chain goes into the manifest signature).
    options
        Profile, label, viewer, creation time...
    progress
        Called as work advances (for a progress bar).
    kind
        What to write, when not taken from the extension of ``out`` (``--out-format``).

    Raises
    ------
    UsageError
        Bad output location or no instances in the sources.
    MediaError
        An instance cannot be converted or written.
    """
    out_path = Path(out)
    kind = kind or OutputKind.for_path(out_path)
    _check_output(out_path, kind)
    existed = out_path.exists()
    try:
        with full_collections_deferred():  # a run keeps what it allocates: no full passes
            result = _create(
                sources, out_path, kind, credentials, options, progress or (lambda _s, _d, _t: None)
            )
            if options.verify_after_writing:
                result = _verify_written(result, out_path, credentials, options)
        return result
    except BaseException:
        # never leave half a medium behind: it would look like a tampered one
        if kind is OutputKind.FOLDER and out_path.is_dir():
            if existed:
                for child in out_path.iterdir():
                    if child.is_dir():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
            else:
                shutil.rmtree(out_path, ignore_errors=True)
        elif kind is not OutputKind.FOLDER:
            out_path.unlink(missing_ok=True)
        raise


def _refuse_if_strict(
    instances: list[SourceInstance], refused: dict[int, str], options: CreateOptions
) -> None:
    """``--strict``: any refused instance refuses the medium (:class:`UsageError`)."""
    if refused and options.strict:
        listed = "; ".join(f"{instances[i].path}: {refused[i]}" for i in sorted(refused)[:5])
        more = f" (and {len(refused) - 5} more)" if len(refused) > 5 else ""
        raise UsageError(
            f"--strict: {len(refused)} instance(s) cannot go on the medium, none written: "
            f"{listed}{more}"
        )


def _check_all(instances: list[SourceInstance], options: CreateOptions) -> dict[int, str]:
    """Check every instance up front: the refused ones by index, with their reason."""
    refused = {
        i: r for i, inst in enumerate(instances) if (r := check_instance(inst, options.profile))
    }
    _refuse_if_strict(instances, refused, options)
    return refused


def _plan(
    instances: list[SourceInstance],
    refused: dict[int, str],
    fileset_id: str,
    options: CreateOptions,
) -> FileSetPlan:
    """Plan the file-set of the instances not ``refused``; refuse those without a record.

    The plan's :attr:`PlannedInstance.index` is the position in ``instances``. ``refused``
    gains the instances no DICOMDIR record can be made for.

    Raises
    ------
    UsageError
        ``options.strict`` and an instance is refused, or no instance is left.
    """
    kept = [i for i in range(len(instances)) if i not in refused]
    plan = plan_fileset(
        [instances[i] for i in kept],
        [options.profile.target_transfer_syntax(instances[i].transfer_syntax_uid) for i in kept],
        fileset_id,
        created=options.created_at,
    )
    refused.update((kept[j], reason) for j, reason in plan.rejected)
    _refuse_if_strict(instances, refused, options)
    if not plan.instances:
        first = min(refused)
        raise UsageError(
            f"no instance can go on the medium ({instances[first].path}: {refused[first]})"
        )
    planned = tuple(dataclasses.replace(p, index=kept[p.index]) for p in plan.instances)
    return dataclasses.replace(plan, instances=planned, rejected=())


def _verify_written(
    result: MediumCreation, out_path: Path, credentials: SigningCredentials, options: CreateOptions
) -> MediumCreation:
    """Read the medium back and verify it (:mod:`~dicomseal.media.readback`); PASSED or raise."""
    from dicomseal.media.readback import read_back

    check = read_back(out_path, credentials, at=None, workers=options.workers)
    if check.verdict is not Verdict.PASSED:
        raise SignatureError(
            f"verified after writing: {check.verdict.value}: {check.message}; "
            "the medium was removed",
            path=str(out_path),
        )
    return dataclasses.replace(result, verified_after_writing=check.verdict.value)


def _create(
    sources: Sequence[str | Path],
    out_path: Path,
    kind: OutputKind,
    credentials: SigningCredentials,
    options: CreateOptions,
    report: ProgressCallback,
) -> MediumCreation:
    """The recipe of :func:`create_medium` (steps in the module docstring)."""
    from dicomseal.media.sealing import seal_stage, write_descriptive_files
    from dicomseal.media.webcontent import summarize_studies

    fileset_id = options.fileset_id or fileset_id_from_label(options.label)
    creator = credentials.certificate.subject.rfc4514_string()
    found = _Found()
    if options.strict or options.workers <= 1:  # every input checked before any signing
        instances, found.skipped = collect_sources(sources)
        found.instances.extend(instances)
        found.refused.update(_check_all(found.instances, options))
    with tempfile.TemporaryDirectory(prefix="dicomseal-create-") as tmp:
        stage = out_path if kind is OutputKind.FOLDER else Path(tmp) / "medium"
        stage.mkdir(parents=True, exist_ok=True)
        plan, signed = _sign_and_plan(
            sources, found, fileset_id, stage, Path(tmp), credentials, options, report
        )
        instances, refused, skipped = found.instances, found.refused, found.skipped
        studies = summarize_studies([instances[p.index].header for p in plan.instances])
        plan.close()  # the record tree is written: free it
        skipped.extend(
            SkippedInput(str(instances[i].path), refused[i], instance=True) for i in sorted(refused)
        )
        instances.clear()  # and the headers (memory, for DVD-sized media)
        notes = list(plan.notes)
        prepared, entries = _place_signed(plan, signed, stage, notes)
        if options.viewer is not None:
            notes.extend(_copy_viewer(options.viewer, stage))
        summary = _summary(options, fileset_id, creator, credentials, studies, plan)
        write_descriptive_files(
            stage,
            summary,
            credentials,
            options.crls if options.embed_validation else None,
            options.ocsps,
            options.certificates,
        )
        info = MediumInfo(
            fileset_id, options.label, summary.profile, summary.created, creator, summary.tool
        )
        notes += seal_stage(
            stage,
            entries,
            info,
            credentials,
            signed_at=options.created_at,
            tsa_url=options.tsa_url,
            report=report,
        )
        total, files = _package(stage, out_path, kind, fileset_id, options, report)
    return MediumCreation(
        output=str(out_path),
        kind=kind,
        fileset_id=fileset_id,
        profile=options.profile,
        patients=plan.patients,
        studies=plan.studies,
        instances=len(plan.instances),
        files=files,
        total_bytes=total,
        output_bytes=total if kind is OutputKind.FOLDER else out_path.stat().st_size,
        converted=sum(1 for p in prepared if p.converted_from),
        skipped=tuple(skipped),
        notes=tuple(notes),
        creator=creator,
    )


@dataclass
class _Found:
    """The instances found among the sources so far, those refused (by index) and the
    skipped inputs; filled up front, or while the workers already sign."""

    instances: list[SourceInstance] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    skipped: list[SkippedInput] = field(default_factory=list)


def _jobs(
    sources: Sequence[str | Path], found: _Found, options: CreateOptions, signing: Path
) -> Iterator[Job]:
    """A signing job per instance not refused: of ``found.instances`` when they were
    collected up front, otherwise found (and checked) one by one while they are signed."""

    def job(i: int, inst: SourceInstance) -> Job:
        dst = signing / f"S{i:07d}"
        return (i, inst.path, inst.transfer_syntax_uid, inst.meta_fixes, dst, inst.stamp)

    if found.instances:
        yield from (
            job(i, inst) for i, inst in enumerate(found.instances) if i not in found.refused
        )
        return
    for inst in iter_sources(sources, found.skipped):
        i = len(found.instances)
        found.instances.append(inst)
        reason = check_instance(inst, options.profile)
        if reason:
            found.refused[i] = reason
        else:
            yield job(i, inst)
    if not found.instances:
        raise UsageError("no DICOM instances found in the sources")


def _sign_and_plan(
    sources: Sequence[str | Path],
    found: _Found,
    fileset_id: str,
    stage: Path,
    tmp: Path,
    credentials: SigningCredentials,
    options: CreateOptions,
    report: ProgressCallback,
) -> tuple[FileSetPlan, dict[int, Result]]:
    """Sign the instances not refused while planning the file-set and writing DICOMDIR.

    An instance that passed the checks but could not be signed joins ``found.refused`` and
    the file-set is planned (and DICOMDIR written) again without it.
    """
    work = tmp / "work"
    work.mkdir()
    signing = stage / SIGNING_DIR
    signing.mkdir()
    plans: list[FileSetPlan] = []
    instances, refused = found.instances, found.refused

    def plan_and_write_dicomdir() -> None:  # while the workers sign
        plans.append(_plan(instances, refused, fileset_id, options))
        plans[0].write_dicomdir(stage)
        _import_later_steps()

    jobs = _jobs(sources, found, options, signing)
    signed = run_signing(jobs, credentials, options, work, report, plan_and_write_dicomdir)
    plan = plans[0]
    failed = {i: reason for i, prep, _e, reason in signed.values() if prep is None}
    if failed:  # rare: an input passed the checks but could not be converted or signed
        refused.update(failed)
        plan = _plan(instances, refused, fileset_id, options)
        plan.write_dicomdir(stage)
    return plan, signed


def _import_later_steps() -> None:
    """Import the modules of the steps after signing (:data:`_LATER_STEPS`)."""
    for name in _LATER_STEPS:
        importlib.import_module(name)


def _place_signed(
    plan: FileSetPlan, signed: dict[int, Result], stage: Path, notes: list[str]
) -> tuple[list[PreparedInstance], list[ManifestEntry]]:
    """Move each planned signed file to its File ID; its manifest entry gains the path."""
    signing = stage / SIGNING_DIR
    prepared: list[PreparedInstance] = []
    entries: list[ManifestEntry] = []
    for planned in plan.instances:
        _i, prep, entry, _reason = signed.pop(planned.index)
        if prep is None or entry is None:  # pragma: no cover - failures were re-planned
            raise MediaError("instance planned but not signed", path=str(planned.source_path))
        prepared.append(prep)
        notes.extend(f"{planned.source_path}: {n}" for n in prep.notes)
        dst = stage.joinpath(*planned.file_id)
        dst.parent.mkdir(parents=True, exist_ok=True)
        (signing / f"S{planned.index:07d}").replace(dst)
        record = entry.instance.interned() if entry.instance is not None else None
        entries.append(dataclasses.replace(entry, path=planned.path, instance=record))
    for index in signed:  # signed, but no longer planned (a re-plan left it out)
        (signing / f"S{index:07d}").unlink(missing_ok=True)
    signed.clear()
    signing.rmdir()
    return prepared, entries


def _summary(
    options: CreateOptions,
    fileset_id: str,
    creator: str,
    credentials: SigningCredentials,
    studies: tuple[StudySummary, ...],
    plan: FileSetPlan,
) -> MediumSummary:
    """What README.TXT and INDEX.HTM say about the medium."""
    from dicomseal.media.webcontent import MediumSummary

    return MediumSummary(
        label=options.label,
        fileset_id=fileset_id,
        profile=options.profile.value,
        created=utc_timestamp(options.created_at),
        creator=creator,
        tool=f"dicomseal {__version__}",
        studies=studies,
        viewer=VIEWER_DIR if options.viewer is not None else None,
        creator_fingerprint=fingerprint_sha256(credentials.certificate),
        ca_fingerprints=tuple(
            (c.subject.rfc4514_string(), fingerprint_sha256(c))
            for c in issuers_of(credentials.certificate, credentials.chain)
        ),
        example_instance=plan.instances[0].path if plan.instances else "",
    )


def _package(
    stage: Path,
    out_path: Path,
    kind: OutputKind,
    fileset_id: str,
    options: CreateOptions,
    report: ProgressCallback,
) -> tuple[int, int]:
    """Write the staged tree as an ISO image or a zip (a folder is the stage itself).

    Returns the staged bytes and files.
    """
    from dicomseal.media.writers import list_staged, write_iso, write_zip

    staged = list_staged(stage)
    total = sum((stage / r).stat().st_size for r in staged)
    if kind is OutputKind.ISO:
        report("package", 0, total)
        write_iso(
            stage,
            out_path,
            fileset_id,
            joliet=options.joliet,
            progress=lambda done: report("package", done, total),
        )
    elif kind is OutputKind.ZIP:
        report("package", 0, total)
        write_zip(stage, out_path)
    report("package", total, total)
    return total, len(staged)
