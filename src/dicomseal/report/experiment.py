"""Render the experiment: ``results.json``, a Markdown table and a PNG chart.

No logic lives here beyond counting: the results come from
:func:`dicomseal.experiment.run_experiment`. :func:`update_document` replaces the
generated block of ``docs/study.md`` between :data:`BEGIN` and :data:`END`.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

from dicomseal.errors import MediaError, UsageError
from dicomseal.experiment.cases import FIELDS, CaseResult, Defence
from dicomseal.experiment.runner import ExperimentResult
from dicomseal.tamper import TamperMode

__all__ = [
    "BEGIN",
    "END",
    "SCHEMA",
    "experiment_document",
    "render_chart",
    "render_markdown",
    "summary",
    "update_document",
    "write_outputs",
]

SCHEMA = "dicomseal.experiment/1"
BEGIN = "<!-- BEGIN GENERATED: dicomseal experiment -->"
END = "<!-- END GENERATED: dicomseal experiment -->"


def _case_dict(r: CaseResult) -> dict[str, Any]:
    return {
        "defence": r.case.defence.value,
        "attack": r.case.mode.value,
        "field": r.case.field,
        "value": FIELDS.get(r.case.field) if r.case.field else None,
        "detected": r.detected,
        "named": r.named,
        "outcome": r.outcome,
        "evidence": list(r.evidence),
        "changed_files": list(r.changed),
        "error": r.error,
    }


def summary(result: ExperimentResult) -> dict[str, dict[str, list[int]]]:
    """``attack -> defence -> [detected, named, cases]``."""
    out: dict[str, dict[str, list[int]]] = OrderedDict()
    for r in result.results:
        row = out.setdefault(r.case.mode.value, OrderedDict())
        cell = row.setdefault(r.case.defence.value, [0, 0, 0])
        cell[0] += int(r.detected)
        cell[1] += int(r.named)
        cell[2] += 1
    return out


def experiment_document(result: ExperimentResult, command: str) -> dict[str, Any]:
    """The JSON document (schema :data:`SCHEMA`)."""
    return {
        "schema": SCHEMA,
        "command": command,
        "seconds": result.seconds,
        "workers": result.workers,
        "instances_per_medium": result.instances,
        "fields": dict(FIELDS),
        "baselines": [
            {
                "medium": b.medium,
                "defence": b.defence.value,
                "outcome": b.outcome,
                "false_alarms": list(b.false_alarms),
            }
            for b in result.baselines
        ],
        "summary": summary(result),
        "cases": [_case_dict(r) for r in result.results],
    }


def _cell(r: CaseResult | None) -> tuple[str, str]:
    if r is None:
        return "—", ""
    if r.error:
        return f"error: {r.error}", ""
    if r.case.defence is Defence.INSPECT:
        verdict = (
            f"**detected** ({r.outcome}{', file named' if r.named else ''})"
            if r.detected
            else "not detected"
        )
    else:
        verdict = (
            f"**{r.outcome}**{' (field named)' if r.named and r.case.field else ''}"
            f"{' (file named)' if r.named and not r.case.field else ''}"
        )
    return verdict, ", ".join(r.evidence) or "—"


def render_markdown(result: ExperimentResult, command: str, chart: str | None = None) -> str:
    """The Markdown table (attack x field x defence) and the summary, deterministic.

    ``chart`` is the relative file name of the PNG chart to show, if any.
    """
    by = {(r.case.defence, r.case.mode, r.case.field): r for r in result.results}
    rows = OrderedDict((k[1:], None) for k in by)
    lines = [
        f"Regenerate with: `{command}`",
        "",
        f"Media: {result.instances} synthetic instances per medium; "
        "unsigned = vendor-like (DICOMDIR + SQLite INDEX.DB), signed = `dicomseal media "
        "create` with the TEST-ONLY PKI. *Detected* for inspect = a new finding at medium or "
        "higher; for media verify = verdict FAILED.",
        "",
        "### Summary (detected / cases; localised in brackets)",
        "",
        "| attack | inspect (unsigned) | media verify (signed) |",
        "|---|---|---|",
    ]
    for attack, cells in summary(result).items():
        parts = []
        for defence in Defence:
            d, n, total = cells.get(defence.value, [0, 0, 0])
            parts.append(f"{d}/{total} ({n})")
        lines.append(f"| {attack} | {' | '.join(parts)} |")
    if chart:
        lines += ["", f"![share of cases detected per attack and defence]({chart})"]
    lines += [
        "",
        "### False alarms on the untouched media",
        "",
        "| medium | defence | outcome | alarms |",
        "|---|---|---|---|",
    ]
    for base in result.baselines:
        lines.append(
            f"| {base.medium} | {base.defence.value} | {base.outcome} | {len(base.false_alarms)} |"
        )
    lines += [
        "",
        "### Every case",
        "",
        "| attack | field | inspect (unsigned) | red flags | media verify (signed) | evidence |",
        "|---|---|---|---|---|---|",
    ]
    for mode, fld in rows:
        a, a_ev = _cell(by.get((Defence.INSPECT, mode, fld)))
        v, v_ev = _cell(by.get((Defence.VERIFY, mode, fld)))
        lines.append(f"| {mode.value} | {fld or '(file)'} | {a} | {a_ev} | {v} | {v_ev} |")
    return "\n".join(lines) + "\n"


def render_chart(result: ExperimentResult, path: Path) -> None:
    """Grouped bars: share of cases detected per attack and defence (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = summary(result)
    attacks = [m.value for m in TamperMode if m.value in data]
    fig, ax = plt.subplots(figsize=(9, 4.2), dpi=100)
    width = 0.38
    for i, defence in enumerate(Defence):
        rates = [
            100.0
            * data[a].get(defence.value, [0, 0, 1])[0]
            / max(data[a].get(defence.value, [0, 0, 1])[2], 1)
            for a in attacks
        ]
        xs = [x + (i - 0.5) * width for x in range(len(attacks))]
        ax.bar(
            xs,
            rates,
            width,
            label=defence.value,
            color=("#c0504d" if defence is Defence.INSPECT else "#4f81bd"),
        )
    ax.set_xticks(range(len(attacks)), attacks, rotation=20)
    ax.set_ylabel("cases detected (%)")
    ax.set_ylim(0, 125)
    ax.set_yticks(range(0, 101, 20))
    ax.set_title("Tampering detected: forensic inspection vs signed media")
    ax.legend(loc="upper center", ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def write_outputs(result: ExperimentResult, out: Path, command: str) -> dict[str, Path]:
    """Write ``results.json``, ``results.md`` and ``detection.png`` into ``out``."""
    paths = {
        "json": out / "results.json",
        "markdown": out / "results.md",
        "chart": out / "detection.png",
    }
    try:
        paths["json"].write_text(
            json.dumps(experiment_document(result, command), indent=2) + "\n", "utf-8"
        )
        paths["markdown"].write_text(render_markdown(result, command, "detection.png"), "utf-8")
        render_chart(result, paths["chart"])
    except OSError as exc:
        raise MediaError(f"cannot write results: {exc.strerror}", path=str(out)) from exc
    return paths


def update_document(doc: Path, markdown: str) -> None:
    """Replace the generated block of ``doc`` (between :data:`BEGIN` and :data:`END`)."""
    text = doc.read_text("utf-8")
    if BEGIN not in text or END not in text:
        raise UsageError(f"{doc} has no generated block ({BEGIN} ... {END})")
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{markdown}{END}{tail}", "utf-8")
