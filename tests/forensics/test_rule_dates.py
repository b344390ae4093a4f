"""Rule family: date ordering."""

from __future__ import annotations

from pathlib import Path

from forensics_support import MakeMedium, edit, first_instance, inspect

from dicomseal.forensics import Severity


def test_clean_dates_ordered(clean_medium: Path) -> None:
    codes = {f.code for f in inspect(clean_medium).findings}
    assert not codes & {
        "birth-after-study",
        "study-after-acquisition",
        "date-malformed",
        "study-long-before-acquisition",
    }


def test_birth_after_study(medium_copy: MakeMedium) -> None:
    medium = medium_copy("birth-after-study")
    edit(first_instance(medium), PatientBirthDate="20250101")
    hits = [f for f in inspect(medium).findings if f.code == "birth-after-study"]
    assert [h.severity for h in hits] == [Severity.HIGH]


def test_study_date_after_acquisition(medium_copy: MakeMedium) -> None:
    medium = medium_copy("study-date-after-acquisition")
    edit(first_instance(medium), StudyDate="20240401")
    hits = [f for f in inspect(medium).findings if f.code == "study-after-acquisition"]
    assert {h.severity for h in hits} == {Severity.MEDIUM}
    assert {h.evidence.get("StudyDate") for h in hits} == {"2024-04-01"}


def test_study_date_long_before_acquisition_is_low(medium_copy: MakeMedium) -> None:
    medium = medium_copy("study-date-long-before-acquisition")
    edit(first_instance(medium), StudyDate="20240101")
    hits = [f for f in inspect(medium).findings if f.code == "study-long-before-acquisition"]
    assert hits and {h.severity for h in hits} == {Severity.LOW}


def test_date_malformed(medium_copy: MakeMedium) -> None:
    medium = medium_copy("date-malformed")
    edit(first_instance(medium), ContentDate="2024-13-45")
    assert "date-malformed" in {f.code for f in inspect(medium).findings}
