"""Rule family: cross-instance entity consistency."""

from __future__ import annotations

from pathlib import Path

from forensics_support import MakeMedium, edit, first_instance, inspect

from dicomseal.forensics import Severity


def test_clean_entities_consistent(clean_medium: Path) -> None:
    assert not [
        f for f in inspect(clean_medium).findings if f.code.endswith("-attribute-inconsistent")
    ]


def test_accession_changed_in_one_instance(medium_copy: MakeMedium) -> None:
    medium = medium_copy("accession-changed-in-one-instance")
    target = first_instance(medium)
    edit(target, AccessionNumber="ACC9999")
    hits = [f for f in inspect(medium).findings if f.code == "study-attribute-inconsistent"]
    assert len(hits) == 1
    assert hits[0].severity is Severity.HIGH
    assert hits[0].paths == (target.relative_to(medium).as_posix(),)
    assert hits[0].evidence["values"] == {"ACC1001": 5, "ACC9999": 1}


def test_station_name_changed_in_one_instance_of_series(medium_copy: MakeMedium) -> None:
    medium = medium_copy("station-name-changed-in-one-instance")
    edit(first_instance(medium), StationName="OTHER")
    hits = [f for f in inspect(medium).findings if f.code == "series-attribute-inconsistent"]
    assert [h.severity for h in hits] == [Severity.MEDIUM]
