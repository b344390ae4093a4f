"""The dcmsign-signed matrix is what it claims to be, according to dcmsign itself.

These tests check the fixtures, not dicomseal: if one fails, the interop tests built on the
matrix would be testing the wrong thing.
"""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from sigtest_support import dcmsign_verify, holder_at
from sigtest_vectors import DCMSIGN_MATRIX, DcmsignSpec, SignedVector

pytestmark = pytest.mark.dcmtk


@pytest.mark.parametrize("spec", DCMSIGN_MATRIX, ids=lambda s: s.name)
def test_dcmsign_accepts_its_own_vector(
    spec: DcmsignSpec,
    dcmsign: str,
    dcmsign_vectors: dict[str, SignedVector],
    trust: tuple[list[Path], list[Path]],
) -> None:
    vec = dcmsign_vectors[spec.name]
    proc = dcmsign_verify(dcmsign, vec.path, *trust)
    if vec.spec.expect == "PASSED":
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.count("Signature Verification : OK") == len(vec.spec.runs), proc.stderr
    else:
        # dcmsign 3.6.7: certificate problems are "verification failed" (exit 101)
        assert proc.returncode == 101, proc.stderr
        assert "certificate" in proc.stderr, proc.stderr


@pytest.mark.parametrize("spec", DCMSIGN_MATRIX, ids=lambda s: s.name)
def test_vector_carries_the_requested_mac(
    spec: DcmsignSpec, dcmsign_vectors: dict[str, SignedVector]
) -> None:
    vec = dcmsign_vectors[spec.name]
    ds = pydicom.dcmread(vec.path)
    for location in set(spec.locations):
        holder = holder_at(ds, location)
        wanted = [m for m, loc in zip(spec.macs, spec.locations, strict=True) if loc == location]
        assert [str(i.MACAlgorithm) for i in holder.MACParametersSequence] == wanted
        assert len(holder.DigitalSignaturesSequence) == len(wanted)
    assert all(s.stat().st_size > 0 for s in vec.streams)
