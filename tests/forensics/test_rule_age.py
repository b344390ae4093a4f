"""Rule family: Patient's Age vs birth date vs study date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from forensics_support import MakeMedium, edit, first_instance, inspect

from dicomseal.forensics import Severity
from dicomseal.forensics.rules.age import age_in


@pytest.mark.parametrize(("unit", "expected"), [("Y", 53), ("M", 646), ("W", 2812), ("D", 19686)])
def test_age_in_units(unit: str, expected: int) -> None:
    assert age_in(unit, dt.date(1970, 4, 12), dt.date(2024, 3, 5)) == expected


def test_clean_age_agrees(clean_medium: Path) -> None:
    assert not [f for f in inspect(clean_medium).findings if f.code.startswith("patient-age")]


def test_age_inconsistent_with_birth_date(medium_copy: MakeMedium) -> None:
    medium = medium_copy("age-inconsistent-with-birth-date")
    edit(first_instance(medium), PatientBirthDate="19600101")
    hits = [f for f in inspect(medium).findings if f.code == "patient-age-mismatch"]
    assert len(hits) == 1 and hits[0].severity is Severity.MEDIUM
    assert hits[0].evidence["expected"] == "064Y"


def test_age_off_by_one_tolerated(medium_copy: MakeMedium) -> None:
    medium = medium_copy("age-off-by-one-year")
    target = first_instance(medium)
    import pydicom

    age = pydicom.dcmread(target).PatientAge
    edit(target, PatientAge=f"{int(age[:3]) + 1:03d}Y")
    assert not [f for f in inspect(medium).findings if f.code == "patient-age-mismatch"]


def test_age_malformed(medium_copy: MakeMedium) -> None:
    medium = medium_copy("age-malformed")
    edit(first_instance(medium), PatientAge="53")
    hits = [f for f in inspect(medium).findings if f.code == "patient-age-malformed"]
    assert [h.severity for h in hits] == [Severity.LOW]
