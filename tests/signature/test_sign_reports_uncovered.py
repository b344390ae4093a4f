"""``sign`` tells the signer what no signature can cover, before a receiver finds out.

dcmjs ``test/sample-dicom.dcm`` (committed corpus, MIT) is Implicit VR: its Referenced
Performed Procedure Step Sequence (0008,1111) holds Philips (2005,1406), unknown to DCMTK's
private dictionary, so UN (PS3.5 §6.2.2). DCMTK dcmsign and dicomseal leave the whole
sequence out of the MAC, and ``verify`` calls every signed copy INDETERMINATE
partially-signed. ``sign`` used to say only "signed"; it now names the sequence
(:attr:`SignatureRecord.uncovered`, a CLI warning, the JSON ``uncovered`` list).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from dicomseal.cli.main import cli
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature.credentials import SigningCredentials
from dicomseal.signature.sign import sign_file
from dicomseal.signature.trust import TrustContext
from dicomseal.signature.verify import verify_file
from dicomseal.verdict import Verdict
from pki import TestPki

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SAMPLE = Path(__file__).resolve().parents[1] / "corpus/realworld/dcmjs/test/sample-dicom.dcm"
REFERENCED_PPS_SEQUENCE = 0x00081111


def test_record_names_the_sequence_verify_finds_uncovered(pki: TestPki, tmp_path: Path) -> None:
    signed = tmp_path / "signed.dcm"
    record = sign_file(SAMPLE, signed, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    assert record.uncovered == (REFERENCED_PPS_SEQUENCE,)
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    result = verify_file(signed, trust)
    assert result.verdict is Verdict.INDETERMINATE
    assert "ReferencedPerformedProcedureStepSequence" in result.message


def test_a_fully_covered_file_has_nothing_uncovered(pki: TestPki, tmp_path: Path) -> None:
    src = tmp_path / "plain.dcm"
    make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8).save_as(
        src, enforce_file_format=True
    )
    record = sign_file(
        src, tmp_path / "signed.dcm", SigningCredentials.load(pki.signer.key, pki.signer.cert)
    )
    assert record.uncovered == ()


def test_cli_warns_and_json_lists_it(pki: TestPki, tmp_path: Path) -> None:
    args = ["--key", str(pki.signer.key), "--cert", str(pki.signer.cert)]
    args += ["--chain", str(pki.intermediate.cert), "--chain", str(pki.root.cert)]
    runner = CliRunner()
    text = runner.invoke(cli, ["sign", str(SAMPLE), str(tmp_path / "a.dcm"), *args])
    assert text.exit_code == 0, text.output
    assert "no signature can cover all of ReferencedPerformedProcedureStepSequence" in text.output
    doc = runner.invoke(
        cli, ["sign", str(SAMPLE), str(tmp_path / "b.dcm"), *args, "--format", "json"]
    )
    assert doc.exit_code == 0, doc.output
    start = doc.stdout.index("{")
    assert json.loads(doc.stdout[start:])["uncovered"] == ["(0008,1111)"]
