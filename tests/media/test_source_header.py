"""The walker's source header is pydicom's header read, or None (pydicom then reads it).

``media create`` reads the header of every source with
:func:`~dicomseal.media.source_header.read_source_header` where it can; the DICOMDIR
records and the summaries are made from it, so it must be the data set
``dcmread(path, stop_before_pixels=True, specific_tags=...)`` gives: the same elements,
VRs and converted values, the same File Meta Information. Checked over pydicom's own test
files, the shared real-world corpus (when present) and made files that take each way out.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from media_support import pydicom_test_files
from pydicom import dcmread
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    UID,
    CTImageStorage,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
    generate_uid,
)

from dicomseal.hazmat.elements import WINDOW, parse_part10
from dicomseal.media.inputs import _HEADER_TAG_SET, _HEADER_TAGS
from dicomseal.media.source_header import read_source_header

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "realworld"


def _dump(ds: Dataset) -> list[tuple[int, str, str]]:
    out = []
    for el in ds:
        try:
            out.append((int(el.tag), str(el.VR), repr(el.value)))
        except Exception as exc:  # a conversion error must be alike too
            out.append((int(el.tag), "error", type(exc).__name__))
    return out


def _raw(ds: Dataset, tag: int) -> tuple[object, ...]:
    el = ds.get_item(tag)
    if isinstance(el, RawDataElement):
        return (el.tag, el.VR, el.length, el.value, el.value_tell, el.is_implicit_VR)
    return (el.tag, el.VR, repr(el.value))


def _same_as_pydicom(path: Path) -> bool:
    """True when the walker read ``path``; asserts that it read what pydicom reads."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = read_source_header(path, _HEADER_TAG_SET)
        if fast is None:
            return False
        slow = dcmread(path, stop_before_pixels=True, specific_tags=_HEADER_TAGS)
        for a, b in ((fast, slow), (fast.file_meta, slow.file_meta)):  # as stored, unconverted
            assert [_raw(a, t) for t in a.keys()] == [_raw(b, t) for t in b.keys()], path
        assert _dump(fast) == _dump(slow), path
        assert _dump(fast.file_meta) == _dump(slow.file_meta), path
        assert str(fast.get("PatientName", "")) == str(slow.get("PatientName", ""))
    return True


def _write(
    path: Path,
    ts: str = ExplicitVRLittleEndian,
    *,
    extra: dict[str, object] | None = None,
    after_pixels: bool = False,
) -> Path:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.PatientName = "Müller^Jörg"
    ds.PatientID = "P1"
    ds.AccessionNumber = ""
    ds.StudyDate = "20260102"
    ds.StudyID = ""
    ds.Modality = "CT"
    ds.SeriesNumber = "7"
    ds.InstanceNumber = " 12 "
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Rows = ds.Columns = 2
    ds.BitsAllocated = 16
    ds.ImageComments = "not kept"
    for kw, value in (extra or {}).items():
        setattr(ds, kw, value)
    if UID(ts).is_compressed:
        ds.PixelData = encapsulate([b"\xff\xd8\xff\xd9"])
    else:
        ds.PixelData = b"\x00" * 8
    if after_pixels:
        ds.add_new(0x7FE10010, "OB", b"\x01\x02")
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = UID(ts)
    ds.preamble = b"\x00" * 128
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.save_as(path, enforce_file_format=True)
    return path


def test_made_explicit_le_files_are_walked_as_pydicom_reads_them(tmp_path: Path) -> None:
    assert _same_as_pydicom(_write(tmp_path / "a.dcm"))
    assert _same_as_pydicom(_write(tmp_path / "b.dcm", after_pixels=True))
    assert _same_as_pydicom(_write(tmp_path / "c.dcm", extra={"StudyDescription": "a\\b"}))


def test_encapsulated_syntax_is_walked(tmp_path: Path) -> None:
    """A JPEG syntax's data set is Explicit VR LE to both readers (PS3.5 §A.4)."""
    assert _same_as_pydicom(_write(tmp_path / "j.dcm", JPEGBaseline8Bit))


@pytest.mark.parametrize("ts", [ImplicitVRLittleEndian, ExplicitVRBigEndian])
def test_other_syntaxes_go_to_pydicom(tmp_path: Path, ts: str) -> None:
    assert read_source_header(_write(tmp_path / "x.dcm", ts), _HEADER_TAG_SET) is None


def test_a_kept_sequence_goes_to_pydicom(tmp_path: Path) -> None:
    item = Dataset()
    item.CodeValue = "1"
    path = _write(tmp_path / "s.dcm", extra={"ConceptNameCodeSequence": Sequence([item])})
    assert read_source_header(path, _HEADER_TAG_SET) is None


def test_a_sequence_not_kept_is_walked(tmp_path: Path) -> None:
    item = Dataset()
    item.CodeValue = "1"
    path = _write(tmp_path / "s.dcm", extra={"AnatomicRegionSequence": Sequence([item])})
    assert _same_as_pydicom(path)


def test_command_elements_go_to_pydicom(tmp_path: Path) -> None:
    """pydicom keeps group 0000 whatever the tags asked for."""
    path = _write(tmp_path / "c.dcm")
    data = path.read_bytes()
    with path.open("rb") as fh:
        end = parse_part10(fh).meta.end
    command = b"\x00\x00\x00\x00UL\x04\x00\x00\x00\x00\x00"  # (0000,0000) UL 0
    path.write_bytes(data[:end] + command + data[end:])
    assert read_source_header(path, _HEADER_TAG_SET) is None
    assert 0x00000000 in dcmread(path, stop_before_pixels=True, specific_tags=_HEADER_TAGS)


def test_what_the_walker_refuses_goes_to_pydicom(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.dcm")
    path.write_bytes(path.read_bytes()[:-3])  # the pixel data ends early
    assert read_source_header(path, _HEADER_TAG_SET) is None
    (tmp_path / "n.dcm").write_bytes(b"not DICOM")
    assert read_source_header(tmp_path / "n.dcm", _HEADER_TAG_SET) is None


def test_third_party_files_read_alike() -> None:
    paths = sorted(p for p in pydicom_test_files().rglob("*") if p.is_file())
    if REALWORLD.is_dir():
        paths += sorted(p for p in REALWORLD.rglob("*") if p.is_file() and not p.is_symlink())
    walked = sum(_same_as_pydicom(p) for p in paths)
    assert walked >= 50  # most of them: the fast way is the usual way


def test_kept_values_are_the_file_bytes_whatever_their_length(tmp_path: Path) -> None:
    """Values longer than the walker's window are not read for a header: a kept one that
    long goes to pydicom; a shorter one, read on its own, is the file's bytes."""
    short = bytes(range(256)) * 120  # 30 KB: more than a quarter window, read on its own
    assert len(short) > WINDOW // 4
    path = _write(tmp_path / "s.dcm", extra={"EncapsulatedDocument": short})
    assert _same_as_pydicom(path)
    header = read_source_header(path, _HEADER_TAG_SET)
    assert header is not None
    assert header.EncapsulatedDocument == short
    long = bytes(range(256)) * 300  # 75 KB
    path = _write(tmp_path / "l.dcm", extra={"EncapsulatedDocument": long})
    assert read_source_header(path, _HEADER_TAG_SET) is None


def test_a_large_value_not_kept_is_skipped_unread(tmp_path: Path) -> None:
    path = _write(tmp_path / "p.dcm", extra={"ImageComments": "x" * 70000})
    assert _same_as_pydicom(path)
