"""Render import and compare results as JSON (``dicomseal.import/1``, ``dicomseal.compare/1``)
or text. No logic lives here: the results come from :mod:`dicomseal.pacs`.
"""

from __future__ import annotations

from typing import Any, Final

from rich.console import Console

from dicomseal.dicom.edits import AttributeChange
from dicomseal.pacs.compare import CompareReport, InstanceComparison, InstanceRef
from dicomseal.pacs.importer import ImportReport, InstanceImport
from dicomseal.pacs.status import InstanceOutcome
from dicomseal.report.plain import escape
from dicomseal.report.verify import VERDICT_STYLE
from dicomseal.verdict import Verdict
from dicomseal.wording import counted

__all__ = [
    "COMPARE_SCHEMA",
    "IMPORT_SCHEMA",
    "attribute_category",
    "compare_document",
    "import_document",
    "render_compare_text",
    "render_import_text",
]

IMPORT_SCHEMA = "dicomseal.import/1"
COMPARE_SCHEMA = "dicomseal.compare/1"

_OUTCOME_STYLE = {
    InstanceOutcome.STORED: "green",
    InstanceOutcome.STORED_WITH_WARNING: "yellow",
    InstanceOutcome.ALREADY_STORED: "green",
    InstanceOutcome.WITHHELD_FAILED: "bold red",
    InstanceOutcome.WITHHELD_UNVERIFIED: "yellow",
    InstanceOutcome.WITHHELD_SIGNATURE: "yellow",
    InstanceOutcome.REFUSED: "bold red",
    InstanceOutcome.NOT_SENT: "red",
}


def _change(c: AttributeChange) -> dict[str, Any]:
    return {"attribute": c.keyword, "original": c.before, "coerced": c.after}


def instance_to_dict(r: InstanceImport) -> dict[str, Any]:
    """One instance as the JSON object of ``instances[]``."""
    return {
        "path": r.path,
        "sop_instance_uid": r.sop_instance_uid,
        "sop_class_uid": r.sop_class_uid,
        "verdict": r.verification.verdict.value,
        "reason": r.verification.reason,
        "details": list(r.verification.details),
        "outcome": r.outcome.value,
        "pacs_status": r.store.status.value if r.store else None,
        "pacs_status_code": f"0x{r.store.code:04X}"
        if r.store and r.store.code is not None
        else None,
        "pacs_message": r.store.message if r.store else None,
        "coerced": [_change(c) for c in r.coercion.changes] if r.coercion else [],
        "removed_signatures": list(r.coercion.removed_signatures) if r.coercion else [],
        "signature_conflicts": list(r.coercion.broken) if r.coercion else [],
        "resigned": r.resigned,
        "note": r.note or None,
    }


def import_document(report: ImportReport) -> dict[str, Any]:
    """The whole ``dicomseal.import/1`` document."""
    return {
        "schema": IMPORT_SCHEMA,
        "medium": report.medium,
        "destination": report.destination,
        "policy": report.policy.value,
        "verdict": report.verification.verdict.value,
        "notes": list(report.verification.notes),
        "coercion": {k: v for k, v in report.coercion.values},
        "summary": {o.value: report.count(o) for o in InstanceOutcome},
        "instances": [instance_to_dict(r) for r in report.instances],
        "other_files": list(report.other_files),
        "unreadable": list(report.unreadable),
        "refused_instances": list(report.refused),
        "journal": report.journal,
        "interruption": report.interruption,
        "exit_code": report.exit_code,
    }


def _noteworthy(r: InstanceImport) -> bool:
    """Instances listed one by one in text: anything but a plain, verified store."""
    plain = r.outcome in (InstanceOutcome.STORED, InstanceOutcome.ALREADY_STORED)
    broke = r.coercion is not None and bool(r.coercion.broken)
    return not plain or r.verification.verdict is not Verdict.PASSED or broke or bool(r.note)


def _coercion_summary(report: ImportReport) -> str | None:
    coerced = [r for r in report.instances if r.coercion is not None and r.coercion.changed]
    if not coerced:
        return None
    values = ", ".join(f"{k}={v!r}" for k, v in report.coercion.values)
    sent = [
        r for r in coerced if r.outcome in (InstanceOutcome.STORED, InstanceOutcome.ALREADY_STORED)
    ]
    withheld = len(coerced) - len(sent)
    if not sent:  # nothing coerced reached the PACS: nothing was removed or re-signed
        return (
            f"coercing {values} would break the signatures of "
            f"{counted(len(coerced), 'instance')}: none sent"
        )
    removed = sum(len(r.coercion.removed_signatures) for r in sent if r.coercion)
    resigned = sum(1 for r in sent if r.resigned)
    tail = (
        "re-signed by the importer"
        if resigned == len(sent)
        else f"{resigned} re-signed; the others carry no valid signature (no --sign-key)"
    )
    more = f"; {counted(withheld, 'other instance')} withheld" if withheld else ""
    return (
        f"coerced {values} in {counted(len(sent), 'instance')} sent, originals in "
        f"OriginalAttributesSequence; {counted(removed, 'broken signature')} removed; {tail}"
        f"{more}"
    )


def render_import_text(console: Console, report: ImportReport) -> None:
    """Instances not simply stored (withheld, refused, unverified...), then a summary."""
    for r in report.instances:
        if not _noteworthy(r):
            continue
        style = _OUTCOME_STYLE[r.outcome]
        vstyle = VERDICT_STYLE[r.verification.verdict]
        status = ""
        if r.store is not None and r.outcome is not InstanceOutcome.STORED:
            code = f" 0x{r.store.code:04X}" if r.store.code is not None else ""
            status = f" [{r.store.status.value}{code}] {r.store.message}"
        verdict = r.verification.verdict.value
        console.print(
            f"[{style}]{r.outcome.value:<28}[/{style}] [{vstyle}]{verdict:<13}"
            f"[/{vstyle}] {escape(r.path)}{escape(status)}",
            highlight=False,
        )
        for d in r.verification.details[:8]:
            console.print(f"{'':29} {escape(d)}", highlight=False)
        if r.note:
            console.print(f"{'':29} {escape(r.note)}", highlight=False)
        elif r.coercion is not None and r.outcome.in_pacs:
            for line in r.coercion.broken:
                console.print(f"{'':29} removed: {escape(line)}", highlight=False)
    for note in report.verification.notes:
        console.print(f"[dim]{escape(note)}[/dim]", highlight=False)
    for entry in report.unreadable:
        console.print(f"[yellow]not read:[/yellow] {escape(entry)}", highlight=False)
    summary = _coercion_summary(report)
    if summary:
        console.print(escape(summary), highlight=False)
    in_pacs = sum(1 for r in report.instances if r.outcome.in_pacs)
    parts = [f"{report.count(o)} {o.value}" for o in InstanceOutcome if report.count(o)]
    console.print(
        f"import to {escape(report.destination)} (policy {report.policy.value}): "
        f"{in_pacs} of {counted(len(report.instances), 'instance')} in the PACS; "
        + (", ".join(parts) or "nothing to do"),
        highlight=False,
    )
    if report.interruption:
        console.print(
            f"[bold red]interrupted:[/bold red] {escape(report.interruption)}; "
            "re-run the same command to resume",
            highlight=False,
        )


def _ref(r: InstanceRef) -> dict[str, Any]:
    return {
        "sop_instance_uid": r.sop_instance_uid,
        "study_instance_uid": r.study_instance_uid,
        "series_instance_uid": r.series_instance_uid,
        "location": r.location,
    }


def comparison_to_dict(c: InstanceComparison) -> dict[str, Any]:
    """One compared instance as the JSON object of ``instances[]``."""
    return {
        "sop_instance_uid": c.left.sop_instance_uid,
        "left": c.left.location,
        "right": c.right.location,
        "identical": c.identical,
        "attributes": [
            {"path": d.keyword, "tag": d.tag, "left": d.before, "right": d.after}
            for d in c.attributes
        ],
        "frames": [
            {
                "frame": f.frame,
                "differing_pixels": f.differing_pixels,
                "max_abs_difference": f.max_abs_difference,
                "note": f.note,
            }
            for f in c.frames
        ],
    }


def compare_document(report: CompareReport) -> dict[str, Any]:
    """The whole ``dicomseal.compare/1`` document."""
    return {
        "schema": COMPARE_SCHEMA,
        "left": report.left,
        "right": report.right,
        "identical": report.identical,
        "summary": {
            "compared": len(report.compared),
            "differing": len(report.differing),
            "only_left": len(report.only_left),
            "only_right": len(report.only_right),
        },
        "instances": [comparison_to_dict(c) for c in report.compared],
        "only_left": [_ref(r) for r in report.only_left],
        "only_right": [_ref(r) for r in report.only_right],
    }


def _value(v: str | None) -> str:
    return "(absent)" if v is None else repr(v)


#: Attribute groups of ``compare``, in the order a reader needs them (PS3.6 group numbers).
_PIXEL_GROUPS: Final = frozenset({0x0028, 0x7FE0})
_IDENTITY_GROUPS: Final = frozenset({0x0008, 0x0010, 0x0020, 0x0032, 0x0038, 0x0040})
#: Signature and file-meta bookkeeping (PS3.15 Annex C; PS3.10 §7.1): hidden unless --all.
_BOOKKEEPING_GROUPS: Final = frozenset({0x0002, 0x0400, 0x4FFE, 0xFFFA})
_BOOKKEEPING_NAMES: Final = (
    "DigitalSignaturesSequence",
    "MACParametersSequence",
    "OriginalAttributesSequence",
    "EncryptedAttributesSequence",
)


def attribute_category(path: str, tag: str) -> str:
    """``identity/clinical``, ``pixel``, ``technical`` or ``bookkeeping`` for a difference."""
    head = path.split(".", 1)[0].split("[", 1)[0]
    if head in _BOOKKEEPING_NAMES:
        return "bookkeeping"
    try:
        group = int(tag.strip("()").split(",")[0], 16)
    except ValueError:
        return "technical"
    if group in _BOOKKEEPING_GROUPS:
        return "bookkeeping"
    if group in _PIXEL_GROUPS:
        return "pixel"
    if group in _IDENTITY_GROUPS:
        return "identity/clinical"
    return "technical"


def render_compare_text(
    console: Console,
    report: CompareReport,
    *,
    show_all: bool = False,
    sides: tuple[str, str] = ("medium", "archive"),
) -> None:
    """The verdict first, then per differing instance its differences grouped as
    identity/clinical, pixel and technical, values shown ``medium -> archive``.

    Signature and file-meta bookkeeping differences are counted but listed only with
    ``show_all`` (``--all``): they differ whenever an archive re-encodes or strips
    signatures and would bury the one clinical difference.
    """
    verdict = (
        "[bold green]IDENTICAL[/bold green]"
        if report.identical
        else "[bold red]DIFFERENT[/bold red]"
    )
    console.print(
        f"{verdict}: {escape(report.left)} ({sides[0]}) vs {escape(report.right)} "
        f"({sides[1]}): {len(report.compared)} compared, {len(report.differing)} differing, "
        f"{len(report.only_left)} only on the {sides[0]}, {len(report.only_right)} only on "
        f"the {sides[1]}",
        highlight=False,
    )
    if report.differing:
        console.print(f"values: {sides[0]} -> {sides[1]}", highlight=False)
    for c in report.differing:
        _render_instance_differences(console, c, show_all=show_all)
    for r in report.only_left:
        console.print(
            f"[bold red]ONLY LEFT[/bold red]  {escape(r.location)} "
            f"[dim]{escape(r.sop_instance_uid)}[/dim] (only on the {sides[0]})",
            highlight=False,
        )
    for r in report.only_right:
        console.print(
            f"[bold red]ONLY RIGHT[/bold red] {escape(r.sop_instance_uid)} "
            f"(only on the {sides[1]})",
            highlight=False,
        )


def _render_instance_differences(console: Console, c: Any, *, show_all: bool) -> None:
    groups: dict[str, list[Any]] = {}
    for d in c.attributes:
        groups.setdefault(attribute_category(d.keyword, d.tag), []).append(d)
    hidden = 0 if show_all else len(groups.pop("bookkeeping", []))
    console.print(
        f"[bold red]DIFFERS[/bold red] {escape(c.left.location)} "
        f"[dim]{escape(c.left.sop_instance_uid)}[/dim]",
        highlight=False,
    )
    for category in ("identity/clinical", "pixel", "technical", "bookkeeping"):
        found = groups.get(category, [])
        frames = c.frames if category == "pixel" else ()
        if not found and not frames:
            continue
        console.print(f"  {category}:", highlight=False)
        for d in found:
            console.print(
                f"    {escape(d.keyword)} {d.tag}: {escape(_value(d.before))} "
                f"-> {escape(_value(d.after))}",
                highlight=False,
            )
        for f in frames:
            what = f.note or (
                f"{counted(f.differing_pixels, 'pixel')} differ, max |delta| {f.max_abs_difference}"
            )
            console.print(f"    frame {f.frame}: {escape(what)}", highlight=False)
    if hidden:
        console.print(
            f"  [dim]{counted(hidden, 'signature or file-meta difference')} hidden "
            "(--all shows them)[/dim]",
            highlight=False,
        )
