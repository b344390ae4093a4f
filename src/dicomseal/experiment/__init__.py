"""The attack experiment: which attacks each defence detects, measured, not typed.

>>> from dicomseal.experiment import run_experiment
"""

from __future__ import annotations

from dicomseal.experiment.cases import FIELDS, Case, CaseResult, Defence, all_cases
from dicomseal.experiment.runner import Baseline, ExperimentResult, run_case, run_experiment

__all__ = [
    "FIELDS",
    "Baseline",
    "Case",
    "CaseResult",
    "Defence",
    "ExperimentResult",
    "all_cases",
    "run_case",
    "run_experiment",
]
