"""Running the experiment: build pristine media, tamper, defend, score — on all cores.

Pristine media are built once in the parent process: vendor-like unsigned media (folder and
ISO, :func:`~dicomseal.tamper.build_vendor_medium`) and dicomseal-signed media (folder and
ISO, :func:`~dicomseal.media.create.create_medium` with the TEST-ONLY PKI of
:mod:`dicomseal.samples.pki`). Each case then runs in a worker process: tamper a copy,
run the defence, score it against the tamper record.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dicomseal.errors import DicomSealError
from dicomseal.experiment.cases import (
    FIELDS,
    SEED,
    Case,
    CaseResult,
    Defence,
    all_cases,
)
from dicomseal.forensics import Severity, inspect_media
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.output import claim_output_folder
from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import make_pki
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.tamper import TamperMode, build_vendor_medium, tamper_medium
from dicomseal.verdict import Verdict
from dicomseal.workers import run_in_workers, worker_count

__all__ = ["Baseline", "Context", "ExperimentResult", "run_case", "run_experiment"]

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Context:
    """Everything a worker needs (picklable paths and values only)."""

    unsigned: Path
    unsigned_iso: Path
    signed: Path
    signed_iso: Path
    anchors: tuple[Path, ...]
    intermediates: tuple[Path, ...]
    at: dt.datetime
    cases_dir: Path
    baseline_findings: frozenset[tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Baseline:
    """The defences on the untouched media (false alarms)."""

    medium: str
    defence: Defence
    outcome: str
    false_alarms: tuple[str, ...]


@dataclass(frozen=True)
class ExperimentResult:
    """The whole run."""

    results: tuple[CaseResult, ...]
    baselines: tuple[Baseline, ...]
    seconds: float
    workers: int
    instances: int


def _source(ctx: Context, case: Case) -> Path:
    iso = case.mode is TamperMode.REMASTER
    if case.defence is Defence.INSPECT:
        return ctx.unsigned_iso if iso else ctx.unsigned
    return ctx.signed_iso if iso else ctx.signed


def _score_inspect(ctx: Context, case: Case, out: Path, changed: set[str]) -> CaseResult:
    report = inspect_media(out)
    new = [
        f
        for f in report.at_least(Severity.MEDIUM)
        if (f.code, f.paths) not in ctx.baseline_findings
    ]
    top = max((f.severity for f in new), default=None)
    return CaseResult(
        case=case,
        detected=bool(new),
        named=any(changed.intersection(f.paths) for f in new),
        outcome=top.value if top else "none",
        evidence=tuple(sorted({f.code for f in new})),
        changed=tuple(sorted(changed)),
    )


def _verify(ctx: Context, out: Path) -> MediaVerification:
    trust = TrustContext.load(list(ctx.anchors), list(ctx.intermediates))
    with open_media(out) as source:
        return verify_media(source, trust, at=ctx.at)


def _changed_attributes(v: MediaVerification) -> set[str]:
    """Keywords changed in any instance (``PixelData`` for frames), per instance verdict."""
    attrs: set[str] = set()
    for iv in v.instances.values():
        if iv.change is not None:
            attrs.update(a.keyword for a in iv.change.attributes)
            if iv.change.frames:
                attrs.add("PixelData")
    return attrs


def _score_verify(ctx: Context, case: Case, out: Path, changed: set[str]) -> CaseResult:
    v = _verify(ctx, out)
    attrs = _changed_attributes(v)
    paths = {c.path for c in v.manifest.changed} | set(v.manifest.added) | set(v.manifest.missing)
    if case.field is not None:
        named = case.field in attrs
    elif case.mode is TamperMode.PIXEL:
        named = "PixelData" in attrs
    else:
        named = bool(changed) and changed <= paths
    evidence = [v.manifest.reason.value, *sorted({f.code.value for f in v.findings})]
    if case.field is not None and case.field in attrs:
        evidence.append(f"attribute:{case.field}")
    return CaseResult(
        case=case,
        detected=v.verdict is Verdict.FAILED,
        named=named,
        outcome=v.verdict.value,
        evidence=tuple(evidence),
        changed=tuple(sorted(changed)),
    )


def run_case(case: Case, ctx: Context) -> CaseResult:
    """Tamper a copy of the pristine medium as ``case`` says, run the defence, score it."""
    slug = "unsigned" if case.defence is Defence.INSPECT else "signed"
    suffix = ".iso" if case.mode is TamperMode.REMASTER else ""
    out = ctx.cases_dir / slug / f"{case.name}{suffix}"
    sets = {case.field: FIELDS[case.field]} if case.field else None
    try:
        record = tamper_medium(_source(ctx, case), out, case.mode, sets, seed=SEED)
        changed = set(record.changed_paths)
        if case.defence is Defence.INSPECT:
            return _score_inspect(ctx, case, out, changed)
        return _score_verify(ctx, case, out, changed)
    except DicomSealError as exc:
        return CaseResult(case, False, False, "error", (), (), error=str(exc))


def _baselines(ctx: Context) -> tuple[Baseline, ...]:
    out = []
    for medium in (ctx.unsigned, ctx.unsigned_iso):
        report = inspect_media(medium)
        alarms = tuple(sorted(f.code.value for f in report.at_least(Severity.MEDIUM)))
        out.append(
            Baseline(
                medium.name, Defence.INSPECT, (report.max_severity or Severity.INFO).value, alarms
            )
        )
    for medium in (ctx.signed, ctx.signed_iso):
        v = _verify(ctx, medium)
        alarms = () if v.verdict is Verdict.PASSED else (v.message,)
        out.append(Baseline(medium.name, Defence.VERIFY, v.verdict.value, alarms))
    return tuple(out)


@dataclass(frozen=True)
class SampleSize:
    """How large the synthetic studies of the experiment are."""

    series_per_study: int
    instances_per_series: int
    rows: int
    cols: int


#: Sample sizes: the bundled default, and ``--full`` (3 series of 20 slices, 256x256).
SIZES = {False: SampleSize(2, 3, 64, 64), True: SampleSize(3, 20, 256, 256)}


def _prepare(root: Path, at: dt.datetime, full: bool) -> Context:
    media = root / "media"
    media.mkdir(parents=True, exist_ok=True)
    pki = make_pki(root / "pki")
    samples = root / "samples"
    size = SIZES[full]
    write_sample_studies(
        samples,
        series_per_study=size.series_per_study,
        instances_per_series=size.instances_per_series,
        rows=size.rows,
        cols=size.cols,
    )
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    options = CreateOptions(created_at=at, label="DICOMSEAL STUDY")
    for name in ("signed", "signed.iso"):
        create_medium([samples], media / name, creds, options)
    for name in ("unsigned", "unsigned.iso"):
        build_vendor_medium(
            media / name,
            series_per_study=size.series_per_study,
            instances_per_series=size.instances_per_series,
            rows=size.rows,
            cols=size.cols,
        )
    baseline: set[tuple[str, tuple[str, ...]]] = set()
    for medium in ("unsigned", "unsigned.iso"):
        report = inspect_media(media / medium)
        baseline |= {(f.code, f.paths) for f in report.at_least(Severity.MEDIUM)}
    return Context(
        unsigned=media / "unsigned",
        unsigned_iso=media / "unsigned.iso",
        signed=media / "signed",
        signed_iso=media / "signed.iso",
        anchors=(pki.root.cert,),
        intermediates=(pki.intermediate.cert,),
        at=at + dt.timedelta(minutes=1),
        cases_dir=root / "cases",
        baseline_findings=frozenset(baseline),
    )


def run_experiment(
    out: Path,
    *,
    at: dt.datetime | None = None,
    workers: int | None = None,
    cases: Sequence[Case] | None = None,
    progress: Progress | None = None,
    full: bool = False,
    force: bool = False,
) -> ExperimentResult:
    """Run the experiment in ``out``.

    ``out`` is claimed with :func:`dicomseal.output.claim_output_folder`: a folder an
    earlier run wrote is replaced; a folder holding anything else is refused unless
    ``force`` (then nothing in it is deleted).

    Parameters
    ----------
    out
        Working folder: ``pki/`` (TEST-ONLY keys), ``media/`` (pristine), ``cases/``
        (tampered copies with their ``.tamper.json`` records).
    at
        Creation time of the signed media; validation happens one minute later.
        Default: now (UTC), chosen here at the API boundary.
    workers
        Worker processes at most (default: every core). How many are used is the one
        decision of every pool (:func:`~dicomseal.workers.worker_count`, one case per
        worker at least: cases are long): fewer when the other cores are busy now, and
        ``$DICOMSEAL_WORKERS`` forces the count (within this cap).
    cases
        Subset of :func:`~dicomseal.experiment.cases.all_cases` (default: all).
    progress
        ``progress(done, total)`` after each case.
    full
        Larger media (:data:`SIZES`) instead of the bundled small studies.
    """
    start = time.monotonic()
    when = at or dt.datetime.now(dt.UTC).replace(microsecond=0)
    claim_output_folder(out, force=force, command="experiment")
    ctx = _prepare(out, when, full)
    todo = list(cases) if cases is not None else all_cases()
    n = worker_count(len(todo), workers, per_worker=1)
    results: list[CaseResult] = []
    report = progress or (lambda _d, _t: None)
    # one case per task (cases are long); the context is inherited by the forked workers
    for result in run_in_workers(
        todo, lambda _forked: ctx, lambda c, case: run_case(case, c), processes=n, chunk=1
    ):
        results.append(result)
        report(len(results), len(todo))
    return ExperimentResult(
        results=tuple(results),
        baselines=_baselines(ctx),
        seconds=round(time.monotonic() - start, 1),
        workers=n,
        instances=len(list((ctx.unsigned).rglob("IM*"))),
    )
