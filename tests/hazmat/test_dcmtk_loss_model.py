"""The DCMTK lossy MAC stream model on synthetic data sets (no DCMTK needed).

The byte-for-byte comparison with ``dcmsign +d`` is in
``tests/corpus/test_dcmtk_stream_loss.py``; here the rule itself: a loss only when the
16 KiB buffer fills inside a sequence nested in a top-level sequence's item.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

from dicomseal.hazmat.dcmtk_stream_loss import StreamLoss, dcmtk_lossy_stream
from dicomseal.hazmat.elements import parse_part10
from dicomseal.hazmat.mac_stream import write_elements

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # values longer than the VR's


def _file(tmp_path: Path, ds: Dataset) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    path = tmp_path / "f.dcm"
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


def _streams(path: Path) -> tuple[bytes, bytes, tuple[StreamLoss, ...]]:
    with path.open("rb") as fh:
        parsed = parse_part10(fh)
        correct, lossy = bytearray(), bytearray()
        write_elements(parsed.elements, parsed, correct.extend)
        losses = dcmtk_lossy_stream(parsed.elements, [], parsed, lossy.extend)
    return bytes(correct), bytes(lossy), losses


def _item(text: str, nested: bool) -> Dataset:
    inner = Dataset()
    inner.CodeMeaning = text
    outer = Dataset()
    if nested:
        outer.PurposeOfReferenceCodeSequence = Sequence([inner])
    else:
        outer.CodeMeaning = text
    outer.ReferencedSOPInstanceUID = "1.2.3"
    outer.ContentCreatorName = "After^Loss"  # (0070,0084), after the nested sequence
    return outer


def test_a_value_cut_in_a_nested_sequence_loses_the_rest(tmp_path: Path) -> None:
    ds = Dataset()
    ds.SourceImageSequence = Sequence([_item("A" * 20000, nested=True)])
    correct, lossy, losses = _streams(_file(tmp_path, ds))
    (loss,) = losses
    assert (loss.offset, loss.correct_offset, loss.tag) == (16384, 16384, 0x0040A170)
    assert lossy[:16384] == correct[:16384]
    assert lossy[16384:16388] == b"\xfe\xff\xdd\xe0"  # the nested sequence's delimiter
    assert lossy[16384:] == correct[16384 + loss.length :]  # then the enclosing item goes on
    assert lossy[16388:16392] == b"\x70\x00\x84\x00" and b"After^Loss" in lossy[16384:]


def test_a_value_cut_directly_in_a_top_level_item_loses_nothing(tmp_path: Path) -> None:
    ds = Dataset()
    ds.SourceImageSequence = Sequence([_item("A" * 20000, nested=False)])
    correct, lossy, losses = _streams(_file(tmp_path, ds))
    assert not losses and lossy == correct


def test_a_top_level_value_cut_loses_nothing(tmp_path: Path) -> None:
    ds = Dataset()
    ds.ImageComments = "B" * 40000
    ds.SourceImageSequence = Sequence([_item("short", nested=True)])
    correct, lossy, losses = _streams(_file(tmp_path, ds))
    assert not losses and lossy == correct
