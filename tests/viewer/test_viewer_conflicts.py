"""The sentence that marks a value the medium's other copies contradict (viewer.conflicts)."""

from __future__ import annotations

from dicomseal.findings import Finding, FindingCode, Severity, freeze
from dicomseal.verdict import Verdict
from dicomseal.viewer.conflicts import conflict_text, evidence_sources
from dicomseal.viewer.integrity import FindingView, IntegrityState, MediumIntegrity


def test_sources_of_the_same_value_are_said_together() -> None:
    sources = [("5 images", "ROE^JANE"), ("1 image", "DOE^JOHN"), ("DICOMDIR", "roe^jane^")]
    assert (
        conflict_text("PatientName", "DOE^JOHN", sources)
        == "PatientName differs: 5 images and DICOMDIR say ROE^JANE"
    )
    assert (
        conflict_text("PatientName", "X", [("DICOMDIR", "A"), ("1 image", "B")])
        == "PatientName differs: DICOMDIR says A; 1 image says B"
    )
    # nothing else disagrees with the value shown: no mark
    assert conflict_text("PatientName", "DOE^JOHN", [("1 image", "DOE^JOHN")]) is None


def test_the_evidence_of_each_kind_of_finding() -> None:
    assert evidence_sources(freeze({"keyword": "PatientName", "values": {"A": 5, "B": 1}})) == (
        "PatientName",
        (("5 images", "A"), ("1 image", "B")),
    )
    ddir = freeze({"keyword": "PatientID", "level": "PATIENT", "dicomdir": "7", "instance": "8"})
    assert evidence_sources(ddir) == ("PatientID", (("DICOMDIR", "7"),))
    assert evidence_sources(freeze({"patient_ids": ["1", "2"]})) == (None, ())


def test_only_red_flags_about_that_file_and_attribute_mark_it() -> None:
    entity = Finding(
        FindingCode.STUDY_ATTRIBUTE_INCONSISTENT,
        Severity.HIGH,
        ("b.dcm",),
        "PatientName differs between instances of one study",
        freeze({"keyword": "PatientName", "values": {"DOE^JOHN": 5, "ROE^EVIL": 1}}),
    )
    integrity = MediumIntegrity(
        state=IntegrityState.GREY,
        verdict=Verdict.INDETERMINATE,
        headline="Unsigned: cannot be verified",
        findings=(FindingView.of(entity),),
    )
    said = "PatientName differs: 5 images say DOE^JOHN"
    assert integrity.conflict("b.dcm", "PatientName", "ROE^EVIL") == said
    assert integrity.conflict("a.dcm", "PatientName", "DOE^JOHN") is None
    assert integrity.conflict("b.dcm", "PatientID", "ROE^EVIL") is None


def test_a_medium_with_many_values_gets_a_short_mark() -> None:
    sources = [(f"{n + 2} images", f"NAME{n}^" + "X" * 200) for n in range(50)]
    text = conflict_text("PatientName", "DOE^JOHN", sources)
    assert text is not None and len(text) < 400
    assert text.endswith("; 47 other values")
    assert text.startswith("PatientName differs: 2 images say NAME0^XXX")
