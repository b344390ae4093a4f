"""Signature removal restores the original bytes; item locations parse like dcmsign +si."""

from __future__ import annotations

from pathlib import Path

import pytest

from dicomseal.errors import UsageError
from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import TestPki
from dicomseal.signature import (
    MacAlgorithm,
    SigningCredentials,
    TrustContext,
    parse_item_location,
    sign_file,
    verify_file,
)
from dicomseal.signature.remove import remove_signatures
from dicomseal.signature.verify import der_trim, parse_dicom_datetime
from dicomseal.verdict import Verdict


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_studies(
        tmp_path_factory.mktemp("s"), series_per_study=1, instances_per_series=1
    )[0]


def test_sign_twice_then_remove_all_gives_original_bytes(
    pki: TestPki, sample: Path, tmp_path: Path
) -> None:
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    one, two, back = tmp_path / "1.dcm", tmp_path / "2.dcm", tmp_path / "back.dcm"
    sign_file(sample, one, creds)
    r2 = sign_file(
        one, two, creds, mac=MacAlgorithm.SHA384, item="ReferencedPerformedProcedureStepSequence[0]"
    )
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    result = verify_file(two, trust)
    assert result.verdict is Verdict.PASSED
    assert {s.location for s in result.signatures} == {"", r2.location}
    assert remove_signatures(two, back) == 2
    assert back.read_bytes() == sample.read_bytes()


def test_remove_one_keeps_the_other_valid(pki: TestPki, sample: Path, tmp_path: Path) -> None:
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    one, two, out = tmp_path / "1.dcm", tmp_path / "2.dcm", tmp_path / "o.dcm"
    first = sign_file(sample, one, creds)
    sign_file(one, two, creds)
    remove_signatures(two, out, uid=first.uid)
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    result = verify_file(out, trust)
    assert result.verdict is Verdict.PASSED
    assert [s.uid for s in result.signatures] != [first.uid]
    assert len(result.signatures) == 1
    with pytest.raises(UsageError):
        remove_signatures(out, tmp_path / "x.dcm", uid="1.2.3.4")


def test_item_location_syntax() -> None:
    assert parse_item_location("ReferencedSeriesSequence[0]") == [(0x00081115, 0)]
    assert parse_item_location("(0008,1115)[2].ReferencedSeriesSequence[1]") == [
        (0x00081115, 2),
        (0x00081115, 1),
    ]
    for bad in ("ReferencedSeriesSequence", "NoSuchKeyword[0]", "Seq[x]"):
        with pytest.raises(UsageError):
            parse_item_location(bad)


def test_der_trim_only_strips_a_real_pad() -> None:
    der = bytes.fromhex("3003020101")
    assert der_trim(der + b"\x00") == der
    assert der_trim(der) == der
    assert der_trim(der + b"\x01") == der + b"\x01"


def test_dicom_datetime_offsets() -> None:
    a = parse_dicom_datetime("20240102030405.123456+0100")
    b = parse_dicom_datetime("20240102020405.123456+0000")
    assert a == b
    with pytest.raises(ValueError):
        parse_dicom_datetime("yesterday")
