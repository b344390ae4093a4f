"""The one --set parser: same refusals for import coercion and tamper, policy per command."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from dicomseal.dicom.edits import AssignmentPolicy, parse_assignments
from dicomseal.errors import UsageError
from dicomseal.pacs.coercion import Coercion
from dicomseal.tamper.edits import parse_sets

BOTH = list(AssignmentPolicy)


@pytest.mark.parametrize("policy", BOTH)
def test_ordered_with_tag_and_vr(policy: AssignmentPolicy) -> None:
    parsed = parse_assignments(["PatientName=DOE^JOHN", "AccessionNumber=A1"], policy)
    assert [(a.keyword, a.tag, a.vr, a.value) for a in parsed] == [
        ("PatientName", 0x00100010, "PN", "DOE^JOHN"),
        ("AccessionNumber", 0x00080050, "SH", "A1"),
    ]


@pytest.mark.parametrize("policy", BOTH)
@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("PatientName", "expects KEYWORD=VALUE"),
        ("NoSuchKeyword=1", "unknown DICOM keyword"),
        ("TransferSyntaxUID=1.2", "cannot be set"),
        ("DigitalSignatureUID=1.2", "cannot be set"),
        ("MACIDNumber=1", "cannot be set"),
        ("ReferencedSeriesSequence=x", "cannot be set"),
        ("PatientSex=TOOLONGFORCSVALUE1", "invalid value for PatientSex"),
        ("StudyDate=2020", "invalid value for StudyDate"),
    ],
)
def test_refused_by_every_policy(policy: AssignmentPolicy, text: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        parse_assignments([text], policy)


@pytest.mark.parametrize("policy", BOTH)
def test_keyword_given_twice_is_refused(policy: AssignmentPolicy) -> None:
    with pytest.raises(UsageError, match="PatientID given twice"):
        parse_assignments(["PatientID=1", "PatientID=2"], policy)


def test_text_policy_refuses_a_uid_that_tamper_may_set() -> None:
    with pytest.raises(UsageError, match="not a text attribute"):
        parse_assignments(["StudyInstanceUID=1.2.3"], AssignmentPolicy.TEXT_VR_ONLY)
    parsed = parse_assignments(["StudyInstanceUID=1.2.3"], AssignmentPolicy.ANY_NON_SEQUENCE)
    assert parsed[0].vr == "UI"


def test_import_and_tamper_share_the_refusals() -> None:
    for text in ("PatientID=1", "DigitalSignatureUID=1.2", "StudyDate=2020"):
        outcomes = []
        for parse in (Coercion.parse, parse_sets):
            try:
                parse([text, "PatientID=2"])
            except UsageError as exc:
                outcomes.append(str(exc))
            else:
                outcomes.append("accepted")
        assert outcomes[0] == outcomes[1], text


def test_one_change_record_for_coercion_tamper_and_media() -> None:
    from dicomseal import pacs
    from dicomseal.dicom.edits import AttributeChange, ChangeKind, change_of
    from dicomseal.media import changes
    from dicomseal.tamper.record import Change

    assert pacs.AttributeChange is AttributeChange
    assert changes.ChangeKind is ChangeKind
    assert change_of("PatientID", "A", "B") == AttributeChange(
        "(0010,0020)", "PatientID", ChangeKind.CHANGED, "A", "B"
    )
    assert change_of("PatientID", None, "B").kind is ChangeKind.ADDED
    assert change_of("PatientID", "A", None).kind is ChangeKind.REMOVED
    record = Change.of_attribute("IM1", change_of("PatientID", "A", "B"))
    assert record == Change("IM1", "attribute", "PatientID", "A", "B")


def test_media_changes_comparisons_and_the_viewer_share_the_change_record() -> None:
    from dicomseal import pacs
    from dicomseal.dicom.edits import AttributeChange, ChangeKind, change_of
    from dicomseal.media import changes
    from dicomseal.pacs.diff import diff_datasets
    from dicomseal.viewer import integrity

    assert changes.AttributeChange is AttributeChange
    assert pacs.AttributeDifference is AttributeChange
    left, right = Dataset(), Dataset()
    left.PatientName, right.PatientName = "DOE^JOHN", "ROE^JANE"
    right.PatientID = "X"
    assert diff_datasets(left, right) == [
        AttributeChange("(0010,0010)", "PatientName", ChangeKind.CHANGED, "DOE^JOHN", "ROE^JANE"),
        AttributeChange("(0010,0020)", "PatientID", ChangeKind.ADDED, None, "X"),
    ]
    found = change_of("PatientName", "DOE^JOHN", "ROE^JANE")
    assert (found.signed, found.found) == ("DOE^JOHN", "ROE^JANE")
    shown = integrity.AttributeChange.of(found)
    assert isinstance(shown, AttributeChange)
    assert (shown.tag, shown.kind, shown.signed_text) == ("(0010,0010)", "changed", "DOE^JOHN")
    assert integrity.AttributeChange("PatientID", None, "X", "added").signed_text == (
        "(not present when signed)"
    )
