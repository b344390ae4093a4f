"""The engine's MAC stream equals ``dcmsign +d`` byte for byte (issue 3, point 5).

Every signature of every dcmsign-signed vector (all MACs, profiles, ``-t`` subsets, ``+si``
items, two signatures, ECDSA, encapsulated JPEG, implicit VR input) is re-computed by the
engine from the signed file and compared with the stream dcmsign itself dumped when it
signed. Independent source: DCMTK 3.6.7.
"""

from __future__ import annotations

import pydicom
import pytest
from cryptography.exceptions import InvalidSignature
from sigtest_support import (
    assert_signature_over,
    encode_signature_trailer,
    engine_mac_stream,
    holder_at,
    stream_diff,
)
from sigtest_vectors import DCMSIGN_MATRIX, DcmsignSpec, SignedVector

pytestmark = pytest.mark.dcmtk

CASES = [
    pytest.param(spec, run, id=f"{spec.name}-sig{run}")
    for spec in DCMSIGN_MATRIX
    for run in range(len(spec.runs))
]


def _index_in_holder(spec: DcmsignSpec, run: int) -> int:
    """Position of run ``run``'s signature among the signatures at its location."""
    return spec.locations[:run].count(spec.locations[run])


@pytest.mark.parametrize(("spec", "run"), CASES)
def test_engine_stream_equals_dcmsign_dump(
    spec: DcmsignSpec, run: int, dcmsign_vectors: dict[str, SignedVector]
) -> None:
    vec = dcmsign_vectors[spec.name]
    expected = vec.streams[run].read_bytes()
    got = engine_mac_stream(vec.path, spec.locations[run], _index_in_holder(spec, run))
    assert got == expected, stream_diff(got, expected)


@pytest.mark.parametrize(("spec", "run"), CASES)
def test_dump_ends_with_the_signature_item(
    spec: DcmsignSpec, run: int, dcmsign_vectors: dict[str, SignedVector]
) -> None:
    """Checks the tests' own trailer encoder (used by the dicomseal->dcmsign tests)."""
    vec = dcmsign_vectors[spec.name]
    ds = pydicom.dcmread(vec.path)
    item = holder_at(ds, spec.locations[run]).DigitalSignaturesSequence[_index_in_holder(spec, run)]
    trailer = encode_signature_trailer(item)
    assert len(trailer) > 40
    assert vec.streams[run].read_bytes().endswith(trailer)


@pytest.mark.parametrize(("spec", "run"), CASES)
def test_signature_checker_agrees_with_dcmsign(
    spec: DcmsignSpec, run: int, dcmsign_vectors: dict[str, SignedVector]
) -> None:
    """The tests' engine-free signature checker accepts dcmsign's signature over its dump,
    and rejects it over a stream with one byte changed."""
    vec = dcmsign_vectors[spec.name]
    ds = pydicom.dcmread(vec.path)
    holder = holder_at(ds, spec.locations[run])
    item = holder.DigitalSignaturesSequence[_index_in_holder(spec, run)]
    stream = vec.streams[run].read_bytes()
    assert_signature_over(item, spec.macs[run], stream)
    tampered = bytearray(stream)
    tampered[len(tampered) // 2] ^= 0x01
    with pytest.raises((AssertionError, InvalidSignature)):
        assert_signature_over(item, spec.macs[run], bytes(tampered))
