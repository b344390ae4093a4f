"""``media verify`` text starts with the verdict, then who and what the medium is about.

The patients and studies are read from the source instances with pydicom (independent of
the verifier) and must appear in the header block, written for people (``ROE, JANE``,
``2024-03-05``), and in JSON as ``medium.patients`` / ``medium.studies`` (raw values, and
each study's date also as ISO 8601 in ``date_iso``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydicom import dcmread

from dicomseal.cli.main import main
from dicomseal.report.media import iso_date
from dicomseal.samples import write_sample_studies
from pki import TestPki


def run(argv: list[str | Path], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in argv])
    out, _err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out


def people(pn: str) -> str:
    family, _, given = pn.partition("^")
    return f"{family}, {given.replace('^', ' ').strip()}" if given else family


def test_header_names_patients_and_studies(
    tmp_path: Path, pki: TestPki, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=2, rows=8, cols=8)
    expected: dict[str, tuple[str, str, str, str]] = {}
    for path in sorted(src.rglob("*.dcm")):
        ds = dcmread(path, stop_before_pixels=True)
        expected[str(ds.StudyInstanceUID)] = (
            str(ds.PatientName),
            str(ds.PatientID),
            str(ds.StudyDate),
            str(ds.AccessionNumber),
        )
    medium = tmp_path / "medium"
    signing = ["--key", pki.signer.key, "--cert", pki.signer.cert, "--chain", pki.intermediate.cert]
    assert run(["media", "create", src, "--out", medium, *signing], capsys)[0] == 0
    trust: list[str | Path] = ["--trust", pki.root.cert]
    code, out = run(["media", "verify", medium, *trust], capsys)
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith("PASSED: ")
    header = lines[: next(i for i, ln in enumerate(lines) if ln.startswith("  creator: "))]
    for name, pid, date, accession in expected.values():
        assert any(ln.startswith(f"  patient: {people(name)}, ID {pid}") for ln in header), header
        day = f"{date[:4]}-{date[4:6]}-{date[6:]}"
        assert any(
            ln.startswith(f"  study: {day}, accession {accession}, patient ID {pid}")
            for ln in header
        ), header
    code, doc_text = run(["media", "verify", medium, *trust, "--format", "json"], capsys)
    doc = json.loads(doc_text)["medium"]
    assert {(p["name"], p["id"]) for p in doc["patients"]} == {
        (n, i) for n, i, _d, _a in expected.values()
    }
    assert {
        s["study_instance_uid"]: (s["date"], s["accession"], s["patient_id"])
        for s in doc["studies"]
    } == {uid: (d, a, i) for uid, (_n, i, d, a) in expected.items()}
    assert {s["study_instance_uid"]: s["date_iso"] for s in doc["studies"]} == {
        uid: f"{d[:4]}-{d[4:6]}-{d[6:]}" for uid, (_n, _i, d, _a) in expected.items()
    }


@pytest.mark.parametrize(
    ("da", "iso"),
    [
        ("20240305", "2024-03-05"),
        ("20240229 ", "2024-02-29"),
        ("", None),
        ("20230229", None),
        ("20241301", None),
        ("2024.03.05", None),
        ("20240305-20240306", None),
        ("2024030", None),
        ("\uff12\uff10\uff12\uff14\uff10\uff13\uff10\uff15", None),  # fullwidth digits
    ],
)
def test_study_date_iso(da: str, iso: str | None) -> None:
    """``date_iso`` is a valid calendar day or null, never a guess from a malformed DA."""
    assert iso_date(da) == iso
