"""A signed instance that two readers could read differently is FAILED, never PASSED.

Issue 10 class 3: duplicate tags, elements out of ascending order (PS3.5 §7.1), a known
attribute encoded as UN next to or instead of a signed one, an unreproducible MAC
Calculation Transfer Syntax, and a transfer syntax switched in the unsigned file meta.
Every case starts from a genuine instance signed in the test and is forged byte by byte.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from forge_support import (
    element,
    insert_element,
    instance,
    set_meta_transfer_syntax,
    sign_bytes,
    swap_elements,
    top_level,
    verify_bytes,
)
from sigtest_support import file_entry, run_cli, trust_args

from dicomseal.errors import MalformedDicomError
from dicomseal.signature.status import FileReason, SignatureReason
from dicomseal.verdict import Verdict
from pki import TestPki

PATIENT_NAME = 0x00100010
PATIENT_COMMENTS = 0x00104000  # in the dictionary, absent from the sample instance


@pytest.fixture()
def signed(pki: TestPki, tmp_path: Path) -> bytes:
    return sign_bytes(pki, tmp_path)


@pytest.fixture()
def subset_signed(pki: TestPki, tmp_path: Path) -> bytes:
    """Signed over every attribute except the patient group (0010,xxxx)."""
    src = tmp_path / "plain.dcm"
    instance().save_as(src, enforce_file_format=True)
    tags = [e.tag for e in top_level(src.read_bytes()) if e.tag >> 16 != 0x0010]
    return sign_bytes(pki, tmp_path, tags=tags)


def _assert_ambiguous(pki: TestPki, data: bytes) -> None:
    result = verify_bytes(pki, data)
    assert (result.verdict, result.reason) == (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET), result
    assert result.ambiguities, result


def test_genuine_control_passes(pki: TestPki, signed: bytes) -> None:
    result = verify_bytes(pki, signed)
    assert result.verdict is Verdict.PASSED, result
    assert not result.ambiguities and not result.uncovered


def test_duplicate_signed_attribute_is_ambiguous(pki: TestPki, signed: bytes) -> None:
    name = next(e for e in top_level(signed) if e.tag == PATIENT_NAME)
    forged = insert_element(signed, element(PATIENT_NAME, b"PN", b"FORGED^NAME"), at=name.end)
    _assert_ambiguous(pki, forged)


def test_duplicate_unsigned_attribute_is_ambiguous(pki: TestPki, subset_signed: bytes) -> None:
    """Even where no signature looks, two PatientName values are two readings."""
    name = next(e for e in top_level(subset_signed) if e.tag == PATIENT_NAME)
    forged = insert_element(
        subset_signed, element(PATIENT_NAME, b"PN", b"OTHER^NAME"), at=name.offset
    )
    _assert_ambiguous(pki, forged)


def test_top_level_out_of_order_is_ambiguous(pki: TestPki, signed: bytes) -> None:
    """The MAC sorts by tag, so a reordered file still matches it: refuse the file."""
    els = top_level(signed)
    i = next(i for i, e in enumerate(els) if e.tag == PATIENT_NAME)
    forged = swap_elements(signed, els[i], els[i + 1])
    assert verify_bytes(pki, forged).signatures[0].verdict is Verdict.PASSED  # MAC still holds
    _assert_ambiguous(pki, forged)


def test_out_of_order_inside_an_item_is_ambiguous(pki: TestPki, signed: bytes) -> None:
    seq = next(e for e in top_level(signed) if e.items and e.tag >> 16 < 0xFFFA)
    assert seq.items is not None
    inner = seq.items[0].elements
    assert len(inner) >= 2, "the sample sequence item holds two references"
    forged = swap_elements(signed, inner[0], inner[1])
    _assert_ambiguous(pki, forged)


def test_known_attribute_added_as_un_is_ambiguous(pki: TestPki, signed: bytes) -> None:
    """pydicom shows a UN PatientComments as text; no MAC can ever cover it."""
    forged = insert_element(signed, element(PATIENT_COMMENTS, b"UN", b"DNR - do not treat"))
    result = verify_bytes(pki, forged)
    _assert_ambiguous(pki, forged)
    assert "PatientComments" not in str(result.signed_tags)


def test_signed_attribute_re_encoded_as_un_fails(pki: TestPki, signed: bytes) -> None:
    """PatientName replaced by a UN element: listed as signed, but skipped by the MAC."""
    name = next(e for e in top_level(signed) if e.tag == PATIENT_NAME)
    forged = (
        signed[: name.offset] + element(PATIENT_NAME, b"UN", b"FORGED^NAME ") + signed[name.end :]
    )
    result = verify_bytes(pki, forged)
    assert result.verdict is Verdict.FAILED
    assert result.reason is FileReason.AMBIGUOUS_DATASET
    assert result.signatures[0].reason is SignatureReason.AMBIGUOUS, result.signatures[0]


@pytest.mark.parametrize(
    "uid",
    [
        "1.2.840.10008.1.2",  # implicit VR: the walker would misread every element
        "1.2.840.10008.1.2.2",  # big endian
        "1.2.840.10008.1.2.1.99",  # deflated
        None,  # Transfer Syntax UID removed
    ],
)
def test_switched_meta_transfer_syntax_is_failed_not_unreadable(
    pki: TestPki, signed: bytes, uid: str | None
) -> None:
    forged = set_meta_transfer_syntax(signed, uid)
    _assert_ambiguous(pki, forged)


def test_switched_transfer_syntax_exit_code_is_failed(
    pki: TestPki, signed: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "switched.dcm"
    path.write_bytes(set_meta_transfer_syntax(signed, "1.2.840.10008.1.2"))
    run = run_cli(
        "verify", path, *trust_args([pki.root.cert], [pki.intermediate.cert]), "--format", "json"
    )
    assert run.returncode == 1, run.describe()
    assert file_entry(run.json(), path)["reason"] == "ambiguous-dataset"


def test_unreproducible_mac_transfer_syntax_is_malformed(pki: TestPki, signed: bytes) -> None:
    """The MAC Parameters item is unsigned: naming big endian must not buy INDETERMINATE."""
    old, new = b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.1.2.2\x00"
    mac_params = next(e for e in top_level(signed) if e.tag == 0x4FFE0001)
    at = signed.index(old, mac_params.offset)
    forged = signed[:at] + new + signed[at + len(new) :]
    result = verify_bytes(pki, forged)
    assert result.verdict is Verdict.FAILED, result
    assert result.signatures[0].reason is SignatureReason.MALFORMED, result.signatures[0]


def test_sign_refuses_an_ambiguous_data_set(pki: TestPki, tmp_path: Path) -> None:
    src = tmp_path / "plain.dcm"
    instance().save_as(src, enforce_file_format=True)
    data = src.read_bytes()
    els = top_level(data)
    i = next(i for i, e in enumerate(els) if e.tag == PATIENT_NAME)
    (tmp_path / "forge").mkdir()
    with pytest.raises(MalformedDicomError, match="ambiguous"):
        sign_bytes(pki, tmp_path / "forge", swap_elements(data, els[i], els[i + 1]))


@pytest.mark.parametrize("junk", [b"\x00", b"\x10\x00\x10\x00PN\x00"])
def test_bytes_after_the_data_set_are_ambiguous(pki: TestPki, signed: bytes, junk: bytes) -> None:
    """Fewer than 8 trailing bytes form no element header: refuse, never ignore them."""
    _assert_ambiguous(pki, signed + junk)


@pytest.mark.parametrize(
    "encapsulated",
    [
        "1.2.840.10008.1.2.4.50",  # JPEG Baseline
        "1.2.840.10008.1.2.5",  # RLE Lossless
        "1.2.840.10008.1.2.7.1",  # SMPTE ST 2110-20 (encapsulated per pydicom's registry)
    ],
)
def test_meta_claims_encapsulated_over_native_pixels(
    pki: TestPki, signed: bytes, encapsulated: str
) -> None:
    """A viewer would decode the native pixels as fragments: the meta contradicts the data."""
    _assert_ambiguous(pki, set_meta_transfer_syntax(signed, encapsulated))


def test_two_mac_parameters_items_with_one_mac_id(pki: TestPki, signed: bytes) -> None:
    """A second (unsigned) MAC Parameters item under the same MAC ID: which one counts?"""
    import copy
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(signed))
    other = copy.deepcopy(ds.MACParametersSequence[0])
    other.DataElementsSigned = [0x00080018]
    ds.MACParametersSequence.append(other)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    result = verify_bytes(pki, out.getvalue())
    assert result.verdict is Verdict.FAILED, result
    assert result.signatures[0].reason is SignatureReason.AMBIGUOUS
