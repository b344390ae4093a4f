"""Files signed by DCMTK dcmsign verify with dicomseal (issue 3, point 5, first direction).

One ``dicomseal verify FOLDER --format json`` run covers the whole dcmsign matrix (keeps the
suite fast on shared CPUs); each vector is then checked on its own entry of the report. The
expected values come from dcmsign's own output file (Data Elements Signed, MAC Algorithm) and
the test PKI, never from dicomseal.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from sigtest_support import (
    EXIT_FOR_VERDICT,
    CliRun,
    assert_report_shape,
    file_entry,
    holder_at,
    run_cli,
    trust_args,
    verify_json,
)
from sigtest_vectors import DCMSIGN_MATRIX, DcmsignSpec, SignedVector

if TYPE_CHECKING:
    from pki import TestPki

pytestmark = pytest.mark.dcmtk

#: Files whose only signatures sit in sequence items: each signature PASSED (issue 3 point
#: 5), every top-level attribute unsigned, so the file is INDETERMINATE (partially-signed).
ITEM_ONLY = frozenset(s.name for s in DCMSIGN_MATRIX if "" not in s.locations)


@pytest.fixture(scope="module")
def folder_run(dcmsign_folder: Path, trust: tuple[list[Path], list[Path]]) -> CliRun:
    return verify_json(dcmsign_folder, *trust)


@pytest.fixture(scope="module")
def report(folder_run: CliRun) -> dict[str, Any]:
    doc = folder_run.json()
    assert_report_shape(doc)
    return doc


def test_folder_report_and_exit_code(folder_run: CliRun, report: dict[str, Any]) -> None:
    assert len(report["files"]) == len(DCMSIGN_MATRIX), folder_run.describe()
    # the matrix holds an expired and an untrusted signer: overall INDETERMINATE
    assert report["verdict"] == "INDETERMINATE", folder_run.describe()
    assert folder_run.returncode == EXIT_FOR_VERDICT["INDETERMINATE"], folder_run.describe()


def _tag(g_e: Any) -> str:
    t = int(g_e)
    return f"({t >> 16:04X},{t & 0xFFFF:04X})"


@pytest.mark.parametrize("spec", DCMSIGN_MATRIX, ids=lambda s: s.name)
def test_dcmsign_signed_file_verdict(
    spec: DcmsignSpec,
    report: dict[str, Any],
    dcmsign_folder: Path,
    dcmsign_vectors: dict[str, SignedVector],
    pki: TestPki,
) -> None:
    entry = file_entry(report, dcmsign_folder / f"{spec.name}.dcm")
    assert entry["verdict"] == spec.file_expect, entry
    if spec.partial:  # an intact subset: PASSED signatures, the rest listed as uncovered
        assert entry["reason"] == "partially-signed", entry
        signed = {t for s in entry["signatures"] if not s["location"] for t in s["signed_tags"]}
        assert entry["uncovered"] and not signed & set(entry["uncovered"]), entry
    sigs = entry["signatures"]
    assert len(sigs) == len(spec.runs), sigs
    assert {s["verdict"] for s in sigs} == {spec.expect}, sigs
    if spec.expect != "PASSED":
        assert all(s["reason"] for s in sigs), sigs
        return
    # what each signature covers, according to dcmsign's own output
    ds = pydicom.dcmread(dcmsign_vectors[spec.name].path)
    expected = []
    for location in sorted(set(spec.locations)):
        holder = holder_at(ds, location)
        params = {int(p.MACIDNumber): p for p in holder.MACParametersSequence}
        for item in holder.DigitalSignaturesSequence:
            p = params[int(item.MACIDNumber)]
            des = p["DataElementsSigned"]
            tags = [_tag(t) for t in (des.value if des.VM > 1 else [des.value])]
            expected.append(
                (str(item.DigitalSignatureUID), location, str(p.MACAlgorithm), sorted(tags))
            )
    got = [(s["uid"], s["location"], s["mac_algorithm"], sorted(s["signed_tags"])) for s in sigs]
    assert sorted(got) == sorted(expected)
    signer = getattr(pki, spec.signer).subject
    assert {s["signer"] for s in sigs} == {signer}


@pytest.mark.parametrize("name", ["rsa-mac-sha256", "ecdsa-sha256", "two-signatures"])
def test_single_file_passed_exit_0(
    name: str, dcmsign_vectors: dict[str, SignedVector], trust: tuple[list[Path], list[Path]]
) -> None:
    run = verify_json(dcmsign_vectors[name].path, *trust)
    assert run.returncode == 0, run.describe()
    doc = run.json()
    assert_report_shape(doc)
    assert doc["verdict"] == "PASSED"
    assert len(doc["files"]) == 1


def test_text_output_one_line_per_file(
    dcmsign_vectors: dict[str, SignedVector], trust: tuple[list[Path], list[Path]]
) -> None:
    path = dcmsign_vectors["rsa-mac-sha512"].path
    run = run_cli("verify", path, *trust_args(*trust))
    assert run.returncode == 0, run.describe()
    lines = [ln for ln in run.stdout.splitlines() if path.name in ln]
    assert len(lines) == 1 and "PASSED" in lines[0], run.describe()
    assert "\x1b[" not in run.stdout  # no colour when not on a terminal


@pytest.mark.parametrize("name", sorted(ITEM_ONLY))
def test_item_only_signature_leaves_top_level_unsigned(
    name: str, report: dict[str, Any], dcmsign_folder: Path
) -> None:
    entry = file_entry(report, dcmsign_folder / f"{name}.dcm")
    assert "(0010,0010)" in entry["unsigned_tags"]
    assert "(7FE0,0010)" in entry["unsigned_tags"]


@pytest.mark.parametrize("name", sorted(ITEM_ONLY))
def test_item_only_signature_with_require_signature_is_indeterminate(
    name: str, dcmsign_vectors: dict[str, SignedVector], trust: tuple[list[Path], list[Path]]
) -> None:
    """--require-signature asks for a signature over the instance, not only over an item."""
    run = verify_json(dcmsign_vectors[name].path, *trust, "--require-signature")
    assert run.returncode == EXIT_FOR_VERDICT["INDETERMINATE"], run.describe()
    entry = run.json()["files"][0]
    assert entry["verdict"] == "INDETERMINATE"
    assert [s["verdict"] for s in entry["signatures"]] == ["PASSED"]


def test_un_elements_are_reported_unsigned(report: dict[str, Any], dcmsign_folder: Path) -> None:
    """dcmsign leaves UN elements and SQs holding UN out (PS3.15 C.12.1.1.3.1.1).

    A public sequence no signature can cover keeps the file from PASSED (anyone could have
    added it: a VOI LUT Sequence changes what the signed pixels look like); a private UN
    element alone does not.
    """
    entry = file_entry(report, dcmsign_folder / "un-elements.dcm")
    assert entry["verdict"] == "INDETERMINATE"
    assert entry["reason"] == "partially-signed"
    assert entry["uncovered"] == ["(0040,0275)"], entry["uncovered"]
    for tag in ("(0099,1002)", "(0040,0275)"):
        assert tag in entry["unsigned_tags"], entry["unsigned_tags"]
        assert tag not in entry["signatures"][0]["signed_tags"]
    assert "(0010,0010)" in entry["signatures"][0]["signed_tags"]
