"""The catalog's faster paths show exactly what the one-value paths show.

The catalog looks each instance's verdict up once for all its values
(:meth:`~dicomseal.viewer.integrity.MediumIntegrity.shown_all`) and merges the values of a
series, study or patient from its marked members only; neither may change a value shown
or hide a mark.
"""

from __future__ import annotations

import pytest

from dicomseal.verdict import Verdict
from dicomseal.viewer.catalog import CatalogInstance, _merge_shown, _referenced
from dicomseal.viewer.integrity import (
    AttributeChange,
    CertificateDetails,
    InstanceIntegrity,
    IntegrityState,
    MediumIntegrity,
    ShownValue,
)

P = "IM1"
KEYS = {"PatientName": "DOE^JOHN", "PatientID": "42", "StudyDate": "20240101"}


def _integrities() -> list[MediumIntegrity]:
    changed = InstanceIntegrity(
        P,
        IntegrityState.RED,
        "ALTERED",
        changes=(
            AttributeChange("PatientName", "DOE^JOHN", "ROE^EVIL"),
            AttributeChange("PatientID", None, "666"),
        ),
    )
    own = InstanceIntegrity(
        P, IntegrityState.GREEN, "Signed", signed_keywords=frozenset({"PatientName"})
    )
    trusted = CertificateDetails(subject="CN=x", trusted=True)
    return [
        MediumIntegrity(IntegrityState.GREY, Verdict.INDETERMINATE, "Unsigned"),
        MediumIntegrity(IntegrityState.GREEN, Verdict.PASSED, "Signed by CN=x, intact"),
        MediumIntegrity(
            IntegrityState.GREEN, Verdict.PASSED, "Signed", instances={P: own}, certificate=trusted
        ),
        MediumIntegrity(
            IntegrityState.RED,
            Verdict.FAILED,
            "ALTERED",
            signer_subject="CN=x",
            certificate=trusted,
            instances={P: changed},
        ),
        MediumIntegrity(
            IntegrityState.GREY,
            Verdict.INDETERMINATE,
            "Signed by an untrusted creator",
            signer_subject="CN=x",
            certificate=CertificateDetails(subject="CN=x", trusted=False),
            instances={P: InstanceIntegrity(P, IntegrityState.GREY, "x")},
        ),
    ]


@pytest.mark.parametrize("integrity", _integrities())
def test_shown_all_is_shown_of_each_value(integrity: MediumIntegrity) -> None:
    for path in (P, "IM2"):
        assert integrity.shown_all(path, KEYS) == {
            k: integrity.shown(path, k, v) for k, v in KEYS.items()
        }


def _instance(n: int, shown: dict[str, ShownValue]) -> CatalogInstance:
    integrity = InstanceIntegrity(f"IM{n}", IntegrityState.GREEN, "x")
    return CatalogInstance(f"i{n}", f"IM{n}", {}, 1, True, integrity, shown)


def _slow_merge(members: list[CatalogInstance]) -> dict[str, ShownValue]:
    """The merge as it was written first: every value of every member looked at."""
    merged: dict[str, ShownValue] = {}
    for inst in members:
        for key, value in inst.shown.items():
            current = merged.get(key)
            if current is None or (
                (value.altered or value.unverified) and not (current.altered or current.unverified)
            ):
                merged[key] = value
    return merged


def test_a_group_shows_the_first_marked_value_of_any_member() -> None:
    plain = {"PatientName": ShownValue("DOE^JOHN"), "PatientID": ShownValue("42")}
    marked = {
        "PatientName": ShownValue("DOE^JOHN", altered=True, found="ROE^EVIL"),
        "PatientID": ShownValue("42"),
    }
    later = {"PatientName": ShownValue("X", unverified=True), "PatientID": ShownValue("7")}
    extra = {"PatientName": ShownValue("DOE^JOHN"), "StudyDate": ShownValue("20240101")}
    groups = [
        [plain, plain, plain],
        [plain, plain, marked, later],
        [marked, plain, later],
        [plain, extra, plain],  # a member with an attribute the first one lacks
        [extra, later, marked],
    ]
    for group in groups:
        members = [_instance(n, shown) for n, shown in enumerate(group)]
        assert _merge_shown(members) == _slow_merge(members)
    merged = _merge_shown([_instance(n, s) for n, s in enumerate([plain, plain, marked])])
    assert merged["PatientName"].altered and merged["PatientName"].found == "ROE^EVIL"


def test_referenced_files_keep_the_record_order_once_each() -> None:
    names = {"DICOM/A", "DICOM/B", "DICOM/C"}
    files, problems = _referenced(["DICOM/B", "dicom/a", "DICOM/B", "DICOM/X", "DICOM/C"], names)
    assert files == ["DICOM/B", "DICOM/A", "DICOM/C"]
    assert problems == ["DICOMDIR references a missing file: DICOM/X"]
