"""Tag notation and the transfer-syntax policy table, shared by every reader and report."""

from __future__ import annotations

import pytest
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from dicomseal.dicom import vocab
from dicomseal.errors import UsageError
from dicomseal.media import bounded_read, digests
from dicomseal.signature import status


def test_one_format_tag() -> None:
    assert vocab.format_tag(0x7FE00010) == "(7FE0,0010)"
    assert status.format_tag is vocab.format_tag is digests.format_tag


@pytest.mark.parametrize("text", ["PatientName", "(0010,0010)", "0010,0010", "00100010"])
def test_parse_tag(text: str) -> None:
    assert vocab.parse_tag(text) == 0x00100010


def test_parse_tag_refuses_unknown_keyword() -> None:
    with pytest.raises(UsageError, match="unknown attribute"):
        vocab.parse_tag("NoSuchKeyword")
    assert vocab.keyword_of(0x00100010) == "PatientName" and vocab.keyword_of(0x00091001) is None


def test_transfer_syntax_policy_from_pydicom() -> None:
    p = vocab.transfer_syntax_policy
    assert p(ImplicitVRLittleEndian).implicit_vr and not p(ExplicitVRLittleEndian).implicit_vr
    assert p(ExplicitVRBigEndian).big_endian and not p(ExplicitVRLittleEndian).big_endian
    assert p(DeflatedExplicitVRLittleEndian).deflated and p(JPEGBaseline8Bit).encapsulated
    assert not p("1.2.3.4").known
    assert bounded_read.DEFLATED_SYNTAXES is vocab.DEFLATED_SYNTAXES
    assert vocab.DEFLATED_SYNTAXES == {DeflatedExplicitVRLittleEndian, "1.2.840.10008.1.2.4.95"}
    assert vocab.DEFLATED_SYNTAXES == vocab.deflated_syntaxes_from_registry()


def test_literal_syntax_sets_match_the_registry() -> None:
    """The pydicom-free literals the verify path uses are the registry's answers."""
    assert vocab.NATIVE_SYNTAXES == vocab.native_syntaxes_from_registry()
    encapsulated = vocab.encapsulated_syntaxes_from_registry()
    assert all(uid.startswith(vocab.ENCAPSULATED_PREFIXES) for uid in encapsulated)
    assert not any(uid.startswith(vocab.ENCAPSULATED_PREFIXES) for uid in vocab.NATIVE_SYNTAXES)
    assert vocab.MAC_UNREPRODUCIBLE_SYNTAXES == vocab.mac_unreproducible_from_registry()
    assert vocab.IMPLICIT_VR_LE == ImplicitVRLittleEndian
    assert vocab.EXPLICIT_VR_LE == ExplicitVRLittleEndian
    assert vocab.EXPLICIT_VR_BE == ExplicitVRBigEndian
    assert vocab.DEFLATED_EXPLICIT_VR_LE == DeflatedExplicitVRLittleEndian


def test_one_set_of_string_vrs() -> None:
    """The VRs DCMTK normalises and the ones the signer pads with spaces are one table."""
    from pydicom.valuerep import STR_VR

    from dicomseal.hazmat import ambiguity, normalize, transcode
    from dicomseal.signature import sign, sites

    assert {vr.decode() for vr in vocab.STRING_VRS} == {v.value for v in STR_VR}
    assert normalize.STRING_VRS is vocab.STRING_VRS
    assert sign.SPACE_PADDED_VRS is vocab.SPACE_PADDED_VRS
    assert vocab.SPACE_PADDED_VRS == vocab.STRING_VRS - {b"UI"}
    assert sites.MAC_UNREPRODUCIBLE_SYNTAXES is vocab.MAC_UNREPRODUCIBLE_SYNTAXES
    assert ambiguity.NATIVE_SYNTAXES is vocab.NATIVE_SYNTAXES
    assert transcode.EXPLICIT_VR_BE == vocab.EXPLICIT_VR_BE
