"""DCMTK dcmsign's lossy MAC stream: reproduced byte for byte, recognised, never PASSED.

dcmsign (3.6.7 here; 3.7.0+DEV does the same, see ``realworld/README.md``) drops the
rest of a sequence nested in a top-level sequence's item when its 16 KiB MAC buffer fills
inside it (:mod:`dicomseal.hazmat.dcmtk_stream_loss`). dicomseal reproduces that stream
only to recognise such signatures: a signature that matches it is INDETERMINATE
``dcmtk-mac-stream-loss`` (the lost bytes are unsigned), and a change anywhere else is
still FAILED.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dcmsign_stream import dcmsign_mac_dump
from dicomseal.hazmat.dcmtk_stream_loss import StreamLoss, dcmtk_lossy_stream
from dicomseal.hazmat.elements import parse_part10
from dicomseal.hazmat.mac_stream import write_elements, write_signature_item
from dicomseal.signature.sites import find_signature_sites
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import verify_file
from dicomseal.verdict import Verdict
from external_tools import require_tool
from pki import TestPki

pytestmark = [pytest.mark.dcmtk, pytest.mark.filterwarnings("ignore::UserWarning")]

CORPUS = Path(__file__).resolve().parent / "realworld"
_SEG = "highdicom/data/test_files/seg_image_sm_control.dcm"
#: Committed files whose dcmsign MAC stream loses bytes (README "Known dcmsign 3.6.7 bug").
HIT = (
    _SEG,
    "highdicom/data/test_files/seg_image_sm_control_labelmap.dcm",
    "dcmqi/data/sr-example/rwvm.dcm",
    "dcm_qa_agfa/Agfa/011-0001.img",
    "dicompyler-core/tests/testdata/example_data/rtplan.dcm",
)
#: Committed files with nested sequences that dcmsign encodes without loss.
NOT_HIT = (
    "highdicom/data/test_files/sm_annotations.dcm",
    "highdicom/data/test_files/sr_document_with_multiple_groups.dcm",
    "pynetdicom/pynetdicom/tests/dicom_files/CTImageStorage.dcm",
    "highdicom/data/test_files/sr_document.dcm",
)
_MEANING = b"Source image for image processing operation"


@pytest.fixture(scope="module")
def trust(pki: TestPki) -> TrustContext:
    return TrustContext.load([pki.root.cert], [pki.intermediate.cert])


def _streams(signed: Path) -> tuple[bytes, bytes, tuple[StreamLoss, ...]]:
    """dicomseal's correct stream and DCMTK's lossy one for the top-level signature."""
    with signed.open("rb") as fh:
        parsed = parse_part10(fh)
        site = next(s for s in find_signature_sites(parsed.elements) if s.location == "")
        signatures = next(e for e in site.elements if e.tag == 0xFFFAFFFA)
        assert signatures.items
        item = signatures.items[-1]
        correct, lossy = bytearray(), bytearray()
        write_elements(site.elements, parsed, correct.extend)
        write_signature_item(item.elements, parsed, correct.extend)
        losses = dcmtk_lossy_stream(site.elements, item.elements, parsed, lossy.extend)
    return bytes(correct), bytes(lossy), losses


@pytest.mark.parametrize("name", HIT + NOT_HIT)
def test_emulated_stream_is_dcmsigns_byte_for_byte(name: str, pki: TestPki, tmp_path: Path) -> None:
    """The emulation equals ``dcmsign +d`` exactly; it loses bytes only where dcmsign does."""
    theirs = dcmsign_mac_dump(pki, CORPUS / name, tmp_path)
    correct, lossy, losses = _streams(tmp_path / "out.dcm")
    assert lossy == theirs
    if name in NOT_HIT:
        assert not losses and correct == theirs
        return
    assert losses and correct != theirs
    assert len(correct) - len(lossy) == sum(x.length for x in losses)
    for x in losses:  # at a buffer boundary (an early flush leaves at most 11 bytes)
        assert 0 <= -x.offset % 16384 <= 11, x
        assert lossy[x.offset : x.offset + 4] == b"\xfe\xff\xdd\xe0"  # the SQ's delimiter
        assert correct[: x.offset] == lossy[: x.offset] or x is not losses[0]


@pytest.mark.parametrize("name", HIT)
def test_dcmsign_signature_over_its_lossy_stream_is_indeterminate(
    name: str, pki: TestPki, trust: TrustContext, tmp_path: Path
) -> None:
    dcmsign_mac_dump(pki, CORPUS / name, tmp_path)
    result = verify_file(tmp_path / "out.dcm", trust)
    assert result.verdict is Verdict.INDETERMINATE, result.message
    (sig,) = result.signatures
    assert sig.verdict is Verdict.INDETERMINATE
    assert sig.reason.value == "dcmtk-mac-stream-loss"
    assert [w.code for w in sig.warnings] == ["dcmtk-mac-stream-loss"]
    assert "signed by DCMTK dcmsign" in sig.message and "not covered" in sig.message


def _pixel_value_offset(path: Path) -> int:
    with path.open("rb") as fh:
        parsed = parse_part10(fh)
    (pixels,) = [e for e in parsed.elements if e.tag == 0x7FE00010]
    return pixels.value_offset


def _changed(signed: bytes, at: int, tmp_path: Path) -> Path:
    out = tmp_path / "changed.dcm"
    out.write_bytes(signed[:at] + b"X" + signed[at + 1 :])
    return out


def test_a_change_outside_the_lost_bytes_is_still_failed(
    pki: TestPki, trust: TrustContext, tmp_path: Path
) -> None:
    """In dcmsign's signature of the SEG: a change in covered text before the 16 KiB
    boundary, or after it, is FAILED; a change in the lost bytes is INDETERMINATE (never
    PASSED); dcmsign itself accepts only the last."""
    dcmsign = require_tool("dcmsign")
    theirs = dcmsign_mac_dump(pki, CORPUS / _SEG, tmp_path)
    signed = (tmp_path / "out.dcm").read_bytes()
    before = theirs[:16384].count(_MEANING)  # Code Meanings complete before the loss
    total = signed.count(_MEANING)
    assert before >= 1 and total >= before + 2  # one before, the cut one, one after
    places = []
    pos = -1
    for _ in range(total):
        pos = signed.index(_MEANING, pos + 1)
        places.append(pos)
    cases = {
        "before": (places[0] + 1, Verdict.FAILED),
        "lost": (places[before] + 5, Verdict.INDETERMINATE),
        "after": (places[before + 1] + 1, Verdict.FAILED),
        "pixels": (_pixel_value_offset(tmp_path / "out.dcm") + 10, Verdict.FAILED),
    }
    for label, (at, expected) in cases.items():
        changed = _changed(signed, at, tmp_path)
        result = verify_file(changed, trust)
        assert result.verdict is expected, (label, result.message)
        run = subprocess.run(
            [dcmsign, "--verify", "+cf", pki.root.cert, "+uf", pki.intermediate.cert, changed],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        dcmtk_ok = run.returncode == 0 and "Verification : OK" in run.stdout + run.stderr
        assert dcmtk_ok is (label == "lost"), label
