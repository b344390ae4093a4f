"""Render media results: ``media verify`` (JSON extending ``dicomseal.verify/1``, text) and
the ``media create`` summary. No logic: verdicts come from :mod:`dicomseal.media.verify`.

Text goes to any :class:`~dicomseal.report.plain.Printer`: rich's console on a terminal,
plain lines (the same bytes, rich not loaded) when the output is piped.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from dicomseal.media.findings import FindingCode
from dicomseal.media.instance_verdict import InstanceVerdict
from dicomseal.media.verify import ManifestCheck, MediaVerification
from dicomseal.report.etsi import etsi_fields, etsi_status
from dicomseal.report.plain import Printer, escape
from dicomseal.report.verify import (
    VERDICT_STYLE,
    collect_warnings,
    render_warnings,
    verify_document,
)
from dicomseal.verdict import Verdict
from dicomseal.wording import counted

if TYPE_CHECKING:  # changes (and pydicom) load only when a file differs; create not at all
    from dicomseal.media.changes import FileChange
    from dicomseal.media.create import MediumCreation

__all__ = [
    "change_to_dict",
    "creation_document",
    "instance_to_dict",
    "iso_date",
    "media_document",
    "render_creation_text",
    "render_media_text",
]


def change_to_dict(c: FileChange) -> dict[str, Any]:
    """One changed file as the JSON object of ``manifest.changed[]``."""
    return {
        "path": c.path,
        "role": c.role.value,
        "signed": {"size": c.signed_size, "sha256": c.signed_sha256},
        "found": {"size": c.found_size, "sha256": c.found_sha256},
        "attributes": [
            {
                "tag": a.tag,
                "keyword": a.keyword,
                "change": a.kind.value,
                "signed": a.signed,
                "found": a.found,
            }
            for a in c.attributes
        ],
        "frames": list(c.frames),
        "signed_frames": c.signed_frames,
        "found_frames": c.found_frames,
        "replaced_by": c.replaced_by,
        "note": c.note or None,
        "context_changed": list(c.context),
        "frame_unit": c.frame_unit.value,
    }


def media_document(r: MediaVerification) -> dict[str, Any]:
    """The ``dicomseal.verify/1`` document for a medium (``manifest`` filled in)."""
    m = r.manifest
    manifest = {
        "verdict": m.verdict.value,
        "reason": m.reason.value,
        "message": m.message,
        "present": m.present,
        "signer": m.signer or None,
        "fingerprint_sha256": m.fingerprint_sha256 or None,
        "anchor_fingerprint_sha256": m.anchor_fingerprint_sha256 or None,
        "signing_time": m.signing_time.isoformat() if m.signing_time else None,
        "trust": m.trust.value if m.trust else None,
        "fileset_id": m.fileset_id or None,
        "created": m.created or None,
        "files": m.files,
        "missing": list(m.missing),
        "added": list(m.added),
        "changed": [change_to_dict(c) for c in m.changed],
        "timestamp": m.timestamp_time.isoformat() if m.timestamp_time else None,
        "timestamp_tsa": m.timestamp_tsa or None,
        "timestamp_note": m.timestamp_note or None,
        **etsi_fields(
            etsi_status(
                m.verdict,
                m.reason.value,
                m.trust.value if m.trust else None,
                best_signature_time=m.timestamp_time,
            )
        ),
    }
    doc = verify_document(r.verdict, r.files, manifest=manifest)
    doc["medium"] = {
        "location": r.location,
        "kind": r.kind,
        "message": r.message,
        "entries": r.entries,
        "validated_at": r.validated_at.isoformat() if r.validated_at else None,
        "uncovered": list(r.uncovered),
        "ignored": [{"path": p, "reason": "written by an operating system"} for p in r.ignored],
        "unreadable": [{"path": u.path, "reason": u.reason} for u in r.unreadable],
        "inventory": r.inventory.counts(),
        "patients": [
            {"name": p.name, "id": p.patient_id, "instances": p.instances} for p in r.patients
        ],
        "studies": [
            {
                "study_instance_uid": s.study_instance_uid,
                "patient_id": s.patient_id,
                "date": s.date,
                "date_iso": iso_date(s.date),
                "accession": s.accession,
                "instances": s.instances,
            }
            for s in r.studies
        ],
        "findings": [
            {"code": f.code.value, "path": f.path, "message": f.message, "verdict": f.verdict.value}
            for f in r.findings
        ],
        "dicomdir": {
            "present": r.dicomdir.present,
            "fileset_id": r.dicomdir.fileset_id or None,
            "records": r.dicomdir.records,
            "references": len(r.dicomdir.references),
        },
        "instances": [instance_to_dict(v) for _p, v in sorted(r.instances.items())],
    }
    return doc


def instance_to_dict(v: InstanceVerdict) -> dict[str, Any]:
    """One instance's verdict as the JSON object of ``medium.instances[]``."""
    return {
        "path": v.path,
        "verdict": v.verdict.value,
        "reason": v.reason.value,
        "detail": v.detail or None,
        "signatures": len(v.signatures.signatures) if v.signatures is not None else None,
        "changed": v.change is not None,
        "findings": [f.code.value for f in v.findings],
    }


def _v(value: str | None) -> str:
    return "(absent)" if value is None else repr(value)


#: Changed files listed one by one before the rest is summarised (all with ``-v``).
_SHOWN: Final = 20


def _render_change(console: Printer, c: FileChange, *, attributes: bool = True) -> None:
    console.print(
        f"  [red]changed[/red] {escape(c.path)} ({c.role.value}): "
        f"{c.signed_size} -> {c.found_size} bytes",
        highlight=False,
    )
    if c.note:
        console.print(f"      {escape(c.note)}", highlight=False)
    if not attributes:
        return
    for a in c.attributes:
        console.print(f"      {_attribute_text(a)}", highlight=False)
    if c.frames:
        unit = c.frame_unit.value  # "fragment": no frame number is known
        shown = ", ".join(str(i) for i in c.frames[:20])
        more = f" (+{len(c.frames) - 20} more)" if len(c.frames) > 20 else ""
        console.print(
            f"      pixel data {unit if len(c.frames) == 1 else unit + 's'} changed: "
            f"{shown}{more} (signed {counted(c.signed_frames, unit)}, found "
            f"{c.found_frames})",
            highlight=False,
        )


def _attribute_text(a: Any) -> str:
    if a.signed is not None or a.found is not None:
        return (
            f"{escape(a.keyword)} {a.tag} {a.kind.value}: signed "
            f"{escape(_v(a.signed))}, found {escape(_v(a.found))}"
        )
    return f"{escape(a.keyword)} {a.tag} {a.kind.value}"


def _render_grouped_changes(console: Printer, changes: Sequence[FileChange]) -> None:
    """Attribute and pixel changes grouped across instances, most frequent first.

    "PatientName (0010,0010) changed in 6 instances: signed 'ROE^JANE', found
    'ROE^RICHARD'": one line per distinct change instead of one per instance.
    """
    groups: Counter[str] = Counter()
    for c in changes:
        for a in c.attributes:
            groups[_attribute_text(a)] += 1
        if c.frames:
            groups["pixel data changed"] += 1
    for text, n in groups.most_common():
        head, _, tail = text.partition(": ")
        where = f"in {counted(n, 'instance')}"
        console.print(f"  {head} {where}" + (f": {tail}" if tail else ""), highlight=False)


def person_name(pn: str) -> str:
    """A PS3.5 §6.2.1.1 person name for people: ``ROE^JANE^M`` -> ``ROE, JANE M``."""
    family, _, rest = pn.split("=", 1)[0].partition("^")
    given = " ".join(p for p in rest.split("^")[:2] if p)
    return f"{family}, {given}" if family and given else (family or given)


def iso_date(da: str) -> str | None:
    """A PS3.5 DA value (``YYYYMMDD``) as ISO 8601 ``YYYY-MM-DD``; None when it is not one
    valid calendar date (empty, a range, ``20240231``, the old ``YYYY.MM.DD`` form)."""
    v = da.strip()
    if len(v) != 8 or not v.isascii() or not v.isdigit():
        return None
    try:
        return dt.date(int(v[:4]), int(v[4:6]), int(v[6:])).isoformat()
    except ValueError:
        return None


def dicom_date(da: str) -> str:
    """A PS3.5 DA value for people: ``19851130`` -> ``1985-11-30`` (others unchanged)."""
    return f"{da[:4]}-{da[4:6]}-{da[6:8]}" if len(da) == 8 and da.isdigit() else da


#: Patients and studies named in the header before the rest is counted.
_HEADER_ROWS: Final = 10


def _render_contents(console: Printer, r: MediaVerification) -> None:
    """Patients and studies as the manifest signs them."""
    for p in r.patients[:_HEADER_ROWS]:
        console.print(
            f"  patient: {escape(person_name(p.name) or '(no name)')}, ID "
            f"{escape(p.patient_id or '(none)')} ({counted(p.instances, 'instance')})",
            highlight=False,
        )
    for s in r.studies[:_HEADER_ROWS]:
        accession = f", accession {escape(s.accession)}" if s.accession else ""
        console.print(
            f"  study: {escape(dicom_date(s.date) or '(no date)')}{accession}, patient ID "
            f"{escape(s.patient_id or '(none)')} ({counted(s.instances, 'instance')})",
            highlight=False,
        )
    more = max(0, len(r.patients) - _HEADER_ROWS) + max(0, len(r.studies) - _HEADER_ROWS)
    if more:
        console.print(f"  ... and {more} more patients or studies (--format json lists all)")


def _render_header(console: Printer, r: MediaVerification) -> None:
    """Who and what the medium is about, who made it and when: what a receiver checks first."""
    m = r.manifest
    console.print(
        f"medium {escape(r.location)} ({r.kind}, {counted(r.entries, 'file')})", highlight=False
    )
    _render_contents(console, r)
    if m.signer:
        console.print(f"  creator: {escape(m.signer)}", highlight=False)
    if m.signing_time:
        console.print(f"  signed: {m.signing_time.isoformat()}", highlight=False)
    if m.fingerprint_sha256:
        console.print(f"  creator SHA-256 {m.fingerprint_sha256}", highlight=False)
    if m.anchor_fingerprint_sha256:
        console.print(f"  trusted CA SHA-256 {m.anchor_fingerprint_sha256}", highlight=False)
    if m.fileset_id:
        console.print(f"  file-set ID: {escape(m.fileset_id)}", highlight=False)


def _render_summary(console: Printer, r: MediaVerification) -> None:
    counts = {v: sum(1 for f in r.files if f.verdict is v) for v in Verdict}
    style = VERDICT_STYLE[r.verdict]
    console.print(
        f"[{style}]{r.verdict.value}[/{style}]: {escape(r.message)} "
        f"({counted(len(r.files), 'instance')}: {counts[Verdict.PASSED]} passed, "
        f"{counts[Verdict.FAILED]} failed, {counts[Verdict.INDETERMINATE]} "
        "indeterminate)",
        highlight=False,
    )


def render_media_text(
    console: Printer,
    r: MediaVerification,
    *,
    verbose: bool = False,
    quiet: bool = False,
    verdict_line: bool = True,
) -> None:
    """A medium's verdict first, then who made it, then what differs, grouped.

    ``quiet``: the verdict line only. ``verbose``: every instance and every changed file
    with its attributes; by default repeated changes are grouped and long lists cut.
    ``verdict_line=False``: everything but the verdict line (a caller printed it).
    """
    if verdict_line:
        _render_summary(console, r)
    if quiet:
        return
    m = r.manifest
    _render_header(console, r)
    style = VERDICT_STYLE[m.verdict]
    console.print(
        f"[{style}]{m.verdict.value:<13}[/{style}] manifest: {escape(m.message)}",
        highlight=False,
    )
    _render_timestamp(console, m)
    for label, paths in (("missing", m.missing), ("added  ", m.added)):
        for p in paths if verbose else paths[:_SHOWN]:
            console.print(f"  [red]{label}[/red] {escape(p)}", highlight=False)
        if not verbose and len(paths) > _SHOWN:
            console.print(f"  ... and {len(paths) - _SHOWN} more {label.strip()} (-v lists all)")
    if m.changed:
        grouped = not verbose and len(m.changed) > 1
        if grouped:
            _render_grouped_changes(console, m.changed)
        for c in m.changed if verbose else m.changed[:_SHOWN]:
            _render_change(console, c, attributes=not grouped)
        if not verbose and len(m.changed) > _SHOWN:
            console.print(f"  ... and {len(m.changed) - _SHOWN} more changed files (-v lists all)")
    for f in r.files:
        if verbose or f.verdict is Verdict.FAILED:
            fs = VERDICT_STYLE[f.verdict]
            console.print(
                f"[{fs}]{f.verdict.value:<13}[/{fs}] {escape(f.path)}: {escape(f.message)}",
                highlight=False,
            )
    _render_findings_and_rest(console, r, verbose=verbose)


def _render_timestamp(console: Printer, m: ManifestCheck) -> None:
    """The manifest's signature timestamp in plain words (EN 319 102-1 §5.5)."""
    if m.timestamp_note:
        console.print(f"{'':13} {escape(m.timestamp_note)}", highlight=False)
    elif m.timestamp_time is not None:
        tsa = f" from {m.timestamp_tsa}" if m.timestamp_tsa else ""
        console.print(
            f"{'':13} signed by {m.timestamp_time:%Y-%m-%d %H:%M} UTC, proven by a timestamp"
            f"{escape(tsa)}",
            highlight=False,
        )


def _render_findings_and_rest(
    console: Printer, r: MediaVerification, *, verbose: bool = False
) -> None:
    """Read errors, findings, files no proof covers, files an operating system wrote, warnings."""
    unread = {u.path for u in r.unreadable}
    for u in r.unreadable if verbose else r.unreadable[:_SHOWN]:
        console.print(
            f"[yellow]could not be read[/yellow] {escape(u.path)}: {escape(u.reason)}",
            highlight=False,
        )
    if not verbose and len(r.unreadable) > _SHOWN:
        console.print(
            f"  ... and {len(r.unreadable) - _SHOWN} more files that could not be read "
            "(-v lists all)",
            highlight=False,
        )
    for fd in r.findings:
        if fd.code is FindingCode.UNREADABLE_FILE and fd.path in unread:
            continue  # listed once above, as a read error
        fs = VERDICT_STYLE[fd.verdict]
        console.print(
            f"[{fs}]finding[/{fs}] {fd.code.value}: {escape(fd.path)}: {escape(fd.message)}",
            highlight=False,
        )
    if r.uncovered and r.verdict is not Verdict.FAILED:
        console.print(
            f"not covered by a trusted manifest or signature: {counted(len(r.uncovered), 'file')}",
            highlight=False,
        )
        for p in r.uncovered[:50]:
            console.print(f"  {escape(p)}", highlight=False)
    if r.ignored:
        console.print(
            f"ignored: written by an operating system ({len(r.ignored)}): "
            + escape(", ".join(r.ignored[:8]))
            + (" ..." if len(r.ignored) > 8 else ""),
            highlight=False,
        )
    render_warnings(console, collect_warnings(r.files))


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def creation_document(c: MediumCreation) -> dict[str, Any]:
    """The ``media create --format json`` document (``dicomseal.create/1``)."""
    return {
        "schema": "dicomseal.create/1",
        "format": "dicomseal.create/1",
        "output": c.output,
        "kind": c.kind.value,
        "profile": c.profile.value,
        "fileset_id": c.fileset_id,
        "creator": c.creator,
        "patients": c.patients,
        "studies": c.studies,
        "instances": c.instances,
        "files": c.files,
        "total_bytes": c.total_bytes,
        "output_bytes": c.output_bytes,
        "converted": c.converted,
        "skipped": [
            {"path": s.path, "reason": s.reason, "instance": s.instance} for s in c.skipped
        ],
        "notes": list(c.notes),
    }


def render_creation_text(console: Printer, c: MediumCreation) -> None:
    """The summary printed after ``media create``."""
    console.print(
        f"[bold green]created[/bold green] {escape(c.output)} ({c.kind.value}, "
        f"{c.profile.value}, File-set ID {c.fileset_id})",
        highlight=False,
    )
    console.print(
        f"  {counted(c.patients, 'patient')}, {counted(c.studies, 'study', 'studies')}, "
        f"{counted(c.instances, 'instance')} signed, {counted(c.files, 'file')}, "
        f"{_size(c.total_bytes)} on the medium"
        + (f", {_size(c.output_bytes)} {c.kind.value}" if c.output_bytes != c.total_bytes else ""),
        highlight=False,
    )
    console.print(
        f"  signed by {escape(c.creator)}; manifest DICOMSEA/MANIFEST.JSN + .P7S", highlight=False
    )
    if c.verified_after_writing:
        style = "bold green" if c.verified_after_writing == "PASSED" else "bold red"
        console.print(
            f"  verified after writing: [{style}]{c.verified_after_writing}[/{style}]",
            highlight=False,
        )
    if c.converted:
        console.print(
            f"  {counted(c.converted, 'instance')} converted to Explicit VR Little Endian",
            highlight=False,
        )
    for s in c.skipped:
        console.print(
            f"  [yellow]skipped[/yellow] {escape(s.path)}: {escape(s.reason)}", highlight=False
        )
    for n in c.notes[:20]:
        console.print(f"  [dim]{escape(n)}[/dim]", highlight=False)
    if len(c.notes) > 20:
        console.print(
            f"  [dim]... {counted(len(c.notes) - 20, 'more note')}[/dim]", highlight=False
        )
