"""The direct DICOMDIR encoder against ``dcmwrite`` of the same records (differential).

``fileset_oracle`` is the planner and encoder as they were: every directory record a
pydicom :class:`~pydicom.dataset.Dataset` holding all its elements, the whole DICOMDIR
encoded by ``dcmwrite`` and the offsets patched in afterwards. ``dicomseal.media.fileset``
encodes the record's own elements (PS3.3 F.3.2.2) itself and only the keys copied from
the instance with pydicom's writer. For the same sources both must give the same File IDs,
notes, refusals and DICOMDIR bytes: for every record type of pydicom's tables, character
sets, missing Type 1 keys (DCMTK's invented values), sequences in records, odd lengths,
multi-valued and empty UIDs, and the third-party files of ``../shared/corpus/realworld``.

Each planner reads the sources itself: the old planner fills invented keys into the
headers it is given (``copy.copy`` of a pydicom data set shares its elements).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.fileset import _FOUR_LEVEL_SOP_CLASSES, _SINGLE_LEVEL_SOP_CLASSES
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

import dicomseal.media.fileset as direct
from dicomseal.errors import UsageError
from dicomseal.media.inputs import collect_sources

sys.path.insert(0, str(Path(__file__).parent))
import fileset_oracle as oracle

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
_CREATED = dt.datetime(2025, 12, 1, 12, 0, tzinfo=dt.UTC)
_REALWORLD = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "realworld"


def _plan_both(
    sources: list[Path], monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """``(outcome of the oracle, outcome of the direct encoder)`` for the same sources."""
    monkeypatch.setattr(oracle, "generate_uid", lambda: "1.2.826.0.1.3680043.8.498.1")
    monkeypatch.setattr(direct, "generate_uid", lambda: "1.2.826.0.1.3680043.8.498.1")

    def run(plan_fileset: Callable[..., Any]) -> tuple[Any, ...]:
        instances, _skipped = collect_sources(sources)
        syntaxes = [i.transfer_syntax_uid for i in instances]
        try:
            plan = plan_fileset(instances, syntaxes, "DIFF_TEST", created=_CREATED)
            encoded: object = plan.dicomdir_bytes()
        except Exception as exc:  # the same refusal, or the same failure
            return ("raised", type(exc).__name__, str(exc))
        return (
            [(p.path, p.record_type, p.index) for p in plan.instances],
            plan.notes,
            plan.rejected,
            plan.patients,
            plan.studies,
            encoded,
        )

    return run(oracle.plan_fileset), run(direct.plan_fileset)


def test_bench_like_series_and_pydicom_test_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = Path(get_testdata_file("CT_small.dcm") or "").parent
    old, new = _plan_both([folder], monkeypatch)
    assert isinstance(old[-1], bytes) and len(old[0]) > 50
    assert new == old


@pytest.mark.skipif(not _REALWORLD.is_dir(), reason="../shared/corpus/realworld is absent")
def test_realworld_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = _plan_both([_REALWORLD], monkeypatch)
    assert isinstance(old[-1], bytes) and len(old[0]) > 20
    assert new == old


# -- generated sources: every record type, with and without its keys ------------------

_SOP_CLASSES = sorted({**_FOUR_LEVEL_SOP_CLASSES, **_SINGLE_LEVEL_SOP_CLASSES})
_CT = "1.2.840.10008.5.1.4.1.1.2"
_TEXT = st.text(alphabet="AZaz09 ^=-.\\éÅ", max_size=9)
_DATES = st.sampled_from(["20250101", "19991231", "2025010", "", "20250101 ", "20240229"])
_TIMES = st.sampled_from(["101500", "1015", "101500.123", "", "0930"])
_UIDS = st.sampled_from(["1.2.3", "1.2.34", "1.2.840.10008.5.1.4.1.1.2", "", "1.2.3\\1.2.4"])
_CODE = Dataset()
_CODE.CodeValue, _CODE.CodingSchemeDesignator, _CODE.CodeMeaning = "121070", "DCM", "Findings"
_BY_VR: dict[str, st.SearchStrategy[Any]] = {
    "DA": _DATES,
    "TM": _TIMES,
    "DT": st.sampled_from(["20250101101500", "2025", ""]),
    "UI": _UIDS,
    "IS": st.sampled_from(["1", "0001", "-3", " 7", "", "12\\13", "5"]),
    "US": st.integers(0, 65535),
    "UL": st.integers(0, 2**32 - 1),
    "SQ": st.sampled_from([[_CODE], [_CODE], []]),
    "CS": st.sampled_from(["YES", "COMPLETE", "VERIFIED", "A B", "", "ORIGINAL\\PRIMARY", "X"]),
}
#: Every key pydicom's record definitions read (PS3.3 F.5), with its VR.
_KEYS = {
    "AccessionNumber": "SH", "BlendingSequence": "SQ", "Columns": "US",
    "CompletionFlag": "CS", "ConceptNameCodeSequence": "SQ", "ContentCreatorName": "PN",
    "ContentDate": "DA", "ContentDescription": "LO", "ContentLabel": "CS",
    "ContentSequence": "SQ", "ContentTime": "TM", "DataPointColumns": "UL",
    "DataPointRows": "UL", "DocumentTitle": "ST", "DoseSummationType": "CS",
    "HL7InstanceIdentifier": "ST", "HangingProtocolCreationDateTime": "DT",
    "HangingProtocolCreator": "LO", "HangingProtocolDefinitionSequence": "SQ",
    "HangingProtocolUserIdentificationCodeSequence": "SQ", "ImageType": "CS",
    "ImplantAssemblyTemplateName": "LO", "ImplantName": "LO", "ImplantPartNumber": "LO",
    "ImplantSize": "LO", "ImplantTemplateGroupIssuer": "LO",
    "ImplantTemplateGroupName": "LO", "InstanceCreationDate": "DA",
    "InstanceCreationTime": "TM", "InstanceNumber": "IS",
    "MIMETypeOfEncapsulatedDocument": "LO", "Manufacturer": "LO", "NumberOfFrames": "IS",
    "NumberOfPriorsReferenced": "US", "PresentationCreationDate": "DA",
    "PresentationCreationTime": "TM", "ProcedureTypeCodeSequence": "SQ", "RTPlanDate": "DA",
    "RTPlanTime": "TM", "ReferencedImageEvidenceSequence": "SQ",
    "ReferencedSeriesSequence": "SQ", "Rows": "US", "StructureSetDate": "DA",
    "StructureSetLabel": "SH", "StructureSetTime": "TM", "StudyDescription": "LO",
    "TreatmentDate": "DA", "TreatmentTime": "TM", "UserContentLabel": "SH",
    "UserContentLongLabel": "LO", "VerificationDateTime": "DT", "VerificationFlag": "CS",
    "StudyDate": "DA", "StudyTime": "TM", "StudyID": "SH", "SeriesNumber": "IS",
    "PatientName": "PN",
}  # fmt: skip


@st.composite
def _instance(draw: st.DrawFn, n: int) -> Dataset:
    ds = Dataset()
    charset = draw(st.sampled_from([None, "ISO_IR 100", "ISO_IR 192", "", "\\ISO 2022 IR 100"]))
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.SOPClassUID = draw(st.sampled_from([_CT, _CT, *_SOP_CLASSES]))
    ds.SOPInstanceUID = f"2.25.{n}{draw(st.sampled_from(['', '1', '12']))}"
    ds.PatientID = draw(st.sampled_from(["P1", "P22", "", "Pé"]))
    ds.StudyInstanceUID = draw(st.sampled_from(["1.2.5", "1.2.56"]))
    ds.SeriesInstanceUID = draw(st.sampled_from(["1.2.7", "1.2.78", "1.2.789"]))
    ds.Modality = draw(st.sampled_from(["CT", "SR", "RTINTENT", "PLAN", ""]))
    left_out = draw(st.sets(st.sampled_from(sorted(_KEYS)), max_size=3))
    for kw in sorted(set(_KEYS) - left_out):
        vr = _KEYS[kw]
        value = draw(_BY_VR.get(vr, _TEXT))
        setattr(ds, kw, Sequence([Dataset(v) for v in value]) if vr == "SQ" else value)
    if draw(st.integers(0, 5)) == 0:
        ds.EncapsulatedDocument = b"%PDF"
    if draw(st.integers(0, 5)) == 0:
        ds.RTPlanLabel = draw(_TEXT)
    return ds


def _write(ds: Dataset, path: Path, implicit: bool) -> None:
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds.save_as(path, enforce_file_format=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_generated_sources(data: st.DataObject, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("src")
    count = data.draw(st.integers(1, 7))
    for n in range(count):
        ds = data.draw(_instance(n))
        try:
            _write(ds, folder / f"i{n}.dcm", implicit=data.draw(st.booleans()))
        except (ValueError, TypeError, OverflowError):
            continue  # a value pydicom cannot write at all: no source
    if not any(folder.iterdir()):
        return
    with pytest.MonkeyPatch.context() as monkeypatch:
        try:
            old, new = _plan_both([folder], monkeypatch)
        except UsageError:  # no source is an instance: nothing to plan
            return
    assert new == old


def test_invented_keys_never_reach_the_source_headers(tmp_path: Path) -> None:
    """DCMTK's invented keys go into DICOMDIR only: the headers README.TXT and INDEX.HTM are
    summarised from keep the instance's own (empty) values, so one study stays one study.

    The planner once filled them into the source header itself (``copy.copy`` of a data set
    shares its elements): the first instance of a patient without Patient ID got
    ``DCMTKPAT000000``, the others of its series none, and the summary split the study.
    """
    from dicomseal.media.webcontent import summarize_studies
    from dicomseal.samples import SAMPLE_PATIENTS, make_instance

    for n in (1, 2, 3):
        ds = make_instance(SAMPLE_PATIENTS[0], 0, n, 1, rows=8, cols=8)
        ds.PatientID = ""
        ds.save_as(tmp_path / f"i{n}.dcm", enforce_file_format=True)
    instances, _skipped = collect_sources([tmp_path])
    plan = direct.plan_fileset(
        instances, [i.transfer_syntax_uid for i in instances], "T", created=_CREATED
    )
    assert any("invented" in note and "PatientID" in note for note in plan.notes)
    assert b"DCMTKPAT000000" in plan.dicomdir_bytes()
    assert all(i.header.PatientID == "" for i in instances)
    (study,) = summarize_studies([i.header for i in instances])
    assert study.instances == 3 and study.patient_id == ""
