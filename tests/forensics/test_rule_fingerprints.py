"""Rule family: writer fingerprints that differ from sibling instances."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from forensics_support import MakeMedium, first_instance, inspect

from dicomseal.forensics import Severity
from dicomseal.tamper.edits import edit_careless


def test_clean_fingerprints_agree(clean_medium: Path) -> None:
    assert not [f for f in inspect(clean_medium).findings if f.code == "writer-fingerprint-outlier"]


def test_one_instance_rewritten_by_editor(medium_copy: MakeMedium) -> None:
    medium = medium_copy("one-instance-rewritten-by-editor")
    target = first_instance(medium)
    edit_careless(target, "x", {})
    hits = [f for f in inspect(medium).findings if f.code == "writer-fingerprint-outlier"]
    assert len(hits) == 1
    assert hits[0].severity is Severity.MEDIUM
    assert hits[0].paths == (target.relative_to(medium).as_posix(),)
    assert "ImplementationClassUID" in str(hits[0].evidence["features"])


@pytest.mark.dcmtk
def test_one_instance_rewritten_by_real_dcmodify(medium_copy: MakeMedium) -> None:
    tool = shutil.which("dcmodify")
    if tool is None:
        pytest.skip("DCMTK dcmodify not installed")
    medium = medium_copy("one-instance-rewritten-by-dcmodify")
    target = first_instance(medium)
    subprocess.run(
        [tool, "-nb", "-m", "PatientName=MOUSE^MICKEY", str(target)],
        check=True,
        capture_output=True,
    )
    report = inspect(medium)
    hits = [f for f in report.findings if f.code == "writer-fingerprint-outlier"]
    assert [h.paths for h in hits] == [(target.relative_to(medium).as_posix(),)]
    assert "dicomdir-key-mismatch" in {f.code for f in report.findings}


def test_preamble_only_difference_is_low(medium_copy: MakeMedium) -> None:
    medium = medium_copy("one-instance-with-text-in-preamble")
    target = first_instance(medium)
    data = bytearray(target.read_bytes())
    data[0:8] = b"VENDORX1"
    target.write_bytes(bytes(data))
    hits = [f for f in inspect(medium).findings if f.code == "writer-fingerprint-outlier"]
    assert [(h.paths, h.severity) for h in hits] == [
        ((target.relative_to(medium).as_posix(),), Severity.LOW)
    ]
