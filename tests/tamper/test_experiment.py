"""The experiment runner and its renderers, on a subset of cases (fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dicomseal.experiment import Case, Defence, all_cases, run_experiment
from dicomseal.experiment.runner import ExperimentResult
from dicomseal.report.experiment import BEGIN, END, update_document, write_outputs
from dicomseal.tamper import TamperMode

SUBSET = [
    Case(Defence.INSPECT, TamperMode.CARELESS, "PatientName"),
    Case(Defence.INSPECT, TamperMode.CONSISTENT, "StudyDate"),
    Case(Defence.INSPECT, TamperMode.DELETE, None),
    Case(Defence.VERIFY, TamperMode.CONSISTENT, "StudyDate"),
    Case(Defence.VERIFY, TamperMode.PIXEL, None),
]


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[ExperimentResult, Path]:
    out = tmp_path_factory.mktemp("experiment") / "run"
    return run_experiment(out, workers=1, cases=SUBSET), out


def test_design_covers_every_mode_and_field() -> None:
    cases = all_cases()
    assert len(cases) == 2 * (3 * 7 + 5)
    assert {c.mode for c in cases} == set(TamperMode)


def test_subset_scores(result: tuple[ExperimentResult, Path]) -> None:
    res, _out = result
    by = {(r.case.defence, r.case.mode): r for r in res.results}
    careless = by[(Defence.INSPECT, TamperMode.CARELESS)]
    assert careless.detected and careless.named and careless.outcome == "high"
    assert "dicomdir-key-mismatch" in careless.evidence
    assert not by[(Defence.INSPECT, TamperMode.CONSISTENT)].detected
    assert by[(Defence.INSPECT, TamperMode.DELETE)].detected
    signed = by[(Defence.VERIFY, TamperMode.CONSISTENT)]
    assert signed.detected and signed.named and signed.outcome == "FAILED"
    assert by[(Defence.VERIFY, TamperMode.PIXEL)].named
    outcomes = {b.medium: b.outcome for b in res.baselines}
    assert outcomes["signed"] == outcomes["signed.iso"] == "PASSED"
    assert all(b.false_alarms == () for b in res.baselines)


def test_outputs_and_document(result: tuple[ExperimentResult, Path], tmp_path: Path) -> None:
    res, out = result
    paths = write_outputs(res, out, "dicomseal experiment --out X")
    doc = json.loads(paths["json"].read_text())
    assert doc["schema"] == "dicomseal.experiment/1"
    assert len(doc["cases"]) == len(SUBSET)
    assert doc["summary"]["careless"]["inspect (unsigned)"] == [1, 1, 1]
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    study = tmp_path / "study.md"
    study.write_text(f"intro\n{BEGIN}\nold\n{END}\nend\n")
    update_document(study, paths["markdown"].read_text())
    text = study.read_text()
    assert "old" not in text and "| careless | PatientName | **detected**" in text
    assert text.startswith("intro\n") and text.endswith("end\n")
