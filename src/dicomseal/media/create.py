"""``media create``: build a signed, tamper-evident IHE PDI medium (folder, ISO or zip).

The steps, each a module of its own:

1. find the instances among the sources (:mod:`~dicomseal.media.inputs`) and bring each
   into a transfer syntax the application profile allows (PS3.11 Annex D);
2. plan the file-set: File IDs under ``DICOM/`` and DICOMDIR records
   (:mod:`~dicomseal.media.fileset`, PS3.10 §8, PS3.3 Annex F);
3. sign every instance (PS3.15 Annex C, Creator RSA profile for RSA keys) and digest it
   for the manifest (:mod:`~dicomseal.media.digests`), in forked worker processes while
   the main process plans the file-set and writes DICOMDIR; signed files are then moved
   to their File IDs;
4. write DICOMDIR, ``README.TXT``, ``INDEX.HTM`` (:mod:`~dicomseal.media.webcontent`) and
   any extra content (a viewer) outside ``DICOM/``;
5. write the manifest of every file and its detached CMS signature
   (:mod:`~dicomseal.media.manifest`, :mod:`~dicomseal.media.cms`);
6. package the staged tree as an ISO 9660 image or a zip when asked
   (:mod:`~dicomseal.media.writers`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import multiprocessing
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding
from pydicom.dataset import Dataset

from dicomseal import __version__
from dicomseal.errors import MediaError, SignatureError, UsageError
from dicomseal.media.cms import sign_detached
from dicomseal.media.digests import digest_instance
from dicomseal.media.fileset import FileSetPlan, fileset_id_from_label, plan_fileset
from dicomseal.media.inputs import (
    MediaProfile,
    PreparedInstance,
    SkippedInput,
    SourceInstance,
    collect_sources,
    prepare_instance,
)
from dicomseal.media.manifest import (
    MANIFEST_DIR,
    MANIFEST_PATH,
    SIGNATURE_PATH,
    FileRole,
    InstanceRecord,
    Manifest,
    ManifestEntry,
    MediumInfo,
    hash_stream,
    utc_timestamp,
)
from dicomseal.media.readback import read_back
from dicomseal.media.webcontent import (
    CHAIN_PATH,
    MediumSummary,
    render_index_htm,
    render_readme_txt,
    summarize_studies,
)
from dicomseal.media.writers import iso_safe_name, list_staged, write_iso, write_zip
from dicomseal.signature import (
    MacAlgorithm,
    SignatureProfile,
    SigningCredentials,
    TrustContext,
    sign_file,
    verify_file,
)
from dicomseal.signature.keys import fingerprint_sha256, issuers_of
from dicomseal.verdict import Verdict

__all__ = ["CreateOptions", "MediumCreation", "OutputKind", "ProgressCallback", "create_medium"]

#: ``progress(stage, done, total)``; stages: "prepare", "sign", "manifest", "package".
ProgressCallback = Callable[[str, int, int], None]
VIEWER_DIR = "VIEWER"
WEB_FILES = ("README.TXT", "INDEX.HTM")


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
    verify_after_writing: bool = True


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


def _role(rel: str) -> FileRole:
    if rel == "DICOMDIR":
        return FileRole.DICOMDIR
    if rel in WEB_FILES or rel.startswith("IHE_PDI/"):
        return FileRole.WEB
    return FileRole.OTHER


def _sign_profile(credentials: SigningCredentials) -> SignatureProfile:
    return SignatureProfile.CREATOR if credentials.is_rsa else SignatureProfile.NONE


# -- preparing and signing one instance (in this process or a forked worker) --------------
_SIGNER: dict[str, object] = {}
_SIGNING_DIR = ".dicomseal-signing"


def _sign_init(credentials: SigningCredentials, options: CreateOptions, work: Path) -> None:
    """Worker initialiser; with the fork start method nothing here is pickled."""
    _SIGNER.update(credentials=credentials, options=options, work=work)


def _prepare_and_sign(
    index: int, path: Path, transfer_syntax: str, dst: Path
) -> tuple[int, PreparedInstance, ManifestEntry]:
    """Convert if the profile needs it, sign (PS3.15) into ``dst``, digest for the manifest.

    The manifest entry's ``path`` is left empty: the File ID is assigned by the caller.
    """
    credentials: SigningCredentials = _SIGNER["credentials"]  # type: ignore[assignment]
    options: CreateOptions = _SIGNER["options"]  # type: ignore[assignment]
    work: Path = _SIGNER["work"]  # type: ignore[assignment]
    prep = prepare_instance(
        SourceInstance(path, Dataset(), transfer_syntax), options.profile, work, index
    )
    record = sign_file(
        prep.path,
        dst,
        credentials,
        mac=options.mac,
        profile=_sign_profile(credentials),
        signed_at=options.created_at,
    )
    if prep.path.parent == work:
        prep.path.unlink()
    if record.mac_id > 0:  # earlier signatures were kept bit for bit: do they still hold?
        _refuse_broken_signatures(path, dst)
    d = digest_instance(str(dst))
    return (
        index,
        prep,
        ManifestEntry("", d.size, d.sha256, FileRole.INSTANCE, InstanceRecord.from_digests(d)),
    )


def _refuse_broken_signatures(source: Path, signed: Path) -> None:
    """Refuse an input whose earlier signature already fails: the medium would be FAILED."""
    check = verify_file(signed, TrustContext(), name=str(source))
    broken = [s for s in check.signatures if s.verdict is Verdict.FAILED]
    if broken:
        raise MediaError(
            f"carries an earlier signature that no longer verifies ({broken[0].uid}: "
            f"{broken[0].reason.value}), so the medium would verify FAILED; remove it first "
            f"with 'dicomseal signatures remove IN OUT --uid {broken[0].uid}'",
            path=str(source),
        )


def _run_signing(
    jobs: list[tuple[int, Path, str, Path]],
    credentials: SigningCredentials,
    options: CreateOptions,
    work: Path,
    report: ProgressCallback,
    meanwhile: Callable[[], None],
) -> list[tuple[PreparedInstance, ManifestEntry]]:
    """Sign every instance (in ``options.workers`` processes), running ``meanwhile`` too."""
    results: dict[int, tuple[PreparedInstance, ManifestEntry]] = {}
    if options.workers <= 1 or len(jobs) < 8 or credentials.on_token:  # no token after fork
        _sign_init(credentials, options, work)
        try:
            for n, job in enumerate(jobs):
                index, prep, entry = _prepare_and_sign(*job)
                results[index] = (prep, entry)
                report("sign", n + 1, len(jobs))
        finally:
            _SIGNER.clear()
        meanwhile()
        return [results[i] for i in range(len(jobs))]
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(
        max_workers=options.workers,
        mp_context=context,
        initializer=_sign_init,
        initargs=(credentials, options, work),
    )
    try:
        futures = [pool.submit(_prepare_and_sign, *job) for job in jobs]
        meanwhile()  # plan the file-set while the workers sign
        for n, fut in enumerate(as_completed(futures)):
            index, prep, entry = fut.result()
            results[index] = (prep, entry)
            report("sign", n + 1, len(jobs))
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[i] for i in range(len(jobs))]


def create_medium(
    sources: Sequence[str | Path],
    out: str | Path,
    credentials: SigningCredentials,
    options: CreateOptions,
    *,
    progress: ProgressCallback | None = None,
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

    Raises
    ------
    UsageError
        Bad output location or no instances in the sources.
    MediaError
        An instance cannot be converted or written.
    """
    out_path = Path(out)
    kind = OutputKind.for_path(out_path)
    _check_output(out_path, kind)
    existed = out_path.exists()
    try:
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


def _verify_written(
    result: MediumCreation, out_path: Path, credentials: SigningCredentials, options: CreateOptions
) -> MediumCreation:
    """Read the medium back and verify it (:mod:`~dicomseal.media.readback`); PASSED or raise."""
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
    instances, skipped = collect_sources(sources)
    fileset_id = options.fileset_id or fileset_id_from_label(options.label)
    created = utc_timestamp(options.created_at)
    creator = credentials.certificate.subject.rfc4514_string()
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dicomseal-create-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        stage = out_path if kind is OutputKind.FOLDER else Path(tmp) / "medium"
        stage.mkdir(parents=True, exist_ok=True)
        signing = stage / _SIGNING_DIR
        signing.mkdir()
        targets = [options.profile.target_transfer_syntax(i.transfer_syntax_uid) for i in instances]
        jobs = [
            (i, inst.path, inst.transfer_syntax_uid, signing / f"S{i:07d}")
            for i, inst in enumerate(instances)
        ]
        plans: list[FileSetPlan] = []

        studies = summarize_studies([i.header for i in instances])

        def plan_and_write_dicomdir() -> None:
            plan = plan_fileset(instances, targets, fileset_id)
            plan.write_dicomdir(stage)
            plans.append(plan)
            plan.close()  # the record tree is written: free it
            instances.clear()  # and the headers (memory, for DVD-sized media)

        signed = _run_signing(jobs, credentials, options, work, report, plan_and_write_dicomdir)
        plan = plans[0]
        notes.extend(plan.notes)
        prepared = [prep for prep, _entry in signed]
        entries: list[ManifestEntry] = []
        for i, (planned, (prep, entry)) in enumerate(zip(plan.instances, signed, strict=True)):
            notes.extend(f"{planned.source_path}: {n}" for n in prep.notes)
            if prep.transfer_syntax_uid != targets[i]:  # pragma: no cover - a contract
                raise MediaError(
                    "transfer syntax differs from the DICOMDIR record",
                    path=str(planned.source_path),
                )
            dst = stage.joinpath(*planned.file_id)
            dst.parent.mkdir(parents=True, exist_ok=True)
            (signing / f"S{i:07d}").replace(dst)
            record = entry.instance.interned() if entry.instance is not None else None
            entries.append(dataclasses.replace(entry, path=planned.path, instance=record))
        signed.clear()
        signing.rmdir()
        viewer_dir = None
        if options.viewer is not None:
            notes.extend(_copy_viewer(options.viewer, stage))
            viewer_dir = VIEWER_DIR
        summary = MediumSummary(
            label=options.label,
            fileset_id=fileset_id,
            profile=options.profile.value,
            created=created,
            creator=creator,
            tool=f"dicomseal {__version__}",
            studies=studies,
            viewer=viewer_dir,
            creator_fingerprint=fingerprint_sha256(credentials.certificate),
            ca_fingerprints=tuple(
                (c.subject.rfc4514_string(), fingerprint_sha256(c))
                for c in issuers_of(credentials.certificate, credentials.chain)
            ),
            example_instance=plan.instances[0].path if plan.instances else "",
        )
        (stage / MANIFEST_DIR).mkdir()
        (stage / CHAIN_PATH).write_bytes(
            b"".join(
                c.public_bytes(Encoding.PEM) for c in (credentials.certificate, *credentials.chain)
            )
        )
        (stage / "README.TXT").write_bytes(render_readme_txt(summary))
        (stage / "INDEX.HTM").write_bytes(render_index_htm(summary))
        instance_paths = {e.path for e in entries}
        others = [r for r in list_staged(stage) if r not in instance_paths]
        for n, rel in enumerate(others):
            if rel.startswith(MANIFEST_DIR + "/") and rel != CHAIN_PATH:
                raise MediaError("a source or viewer file collides with the manifest", path=rel)
            with (stage / rel).open("rb") as fh:
                size, digest = hash_stream(fh)
            entries.append(ManifestEntry(rel, size, digest, _role(rel)))
            report("manifest", n + 1, len(others))
        manifest = Manifest(
            MediumInfo(
                fileset_id=fileset_id,
                label=options.label,
                profile=options.profile.value,
                created=created,
                creator=creator,
                tool=f"dicomseal {__version__}",
            ),
            tuple(entries),
        )
        with (stage / MANIFEST_PATH).open("wb") as manifest_file:
            digest = manifest.write_to(manifest_file)
        (stage / SIGNATURE_PATH).write_bytes(
            sign_detached(
                bytes.fromhex(digest),
                credentials.private_key,
                credentials.certificate,
                credentials.chain,
                signing_time=options.created_at,
                prehashed=True,
            )
        )
        total = sum((stage / r).stat().st_size for r in list_staged(stage))
        files = len(list_staged(stage))
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
    output_bytes = total if kind is OutputKind.FOLDER else out_path.stat().st_size
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
        output_bytes=output_bytes,
        converted=sum(1 for p in prepared if p.converted_from),
        skipped=tuple(skipped),
        notes=tuple(notes),
        creator=creator,
    )
