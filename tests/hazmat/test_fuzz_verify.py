"""Fuzz the Part 10 walker and the verifier with mutations of a genuine signed instance.

Properties (issue 10, fuzzing harness): for every mutation, ``verify_file``

* returns a result or raises :class:`~dicomseal.errors.MalformedDicomError` - no other
  exception, no hang (each example has a deadline);
* never says PASSED when the mutation added, removed or reordered a top-level data
  element, or changed the content of an element a signature covers (compared as the
  MAC stream encodes it, so insignificant padding PS3.5 §6.2 may change).

CI runs ``DICOMSEAL_FUZZ_EXAMPLES`` examples (default 300); a long run sets it higher.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.elements import Element, Part10File, parse_part10
from dicomseal.hazmat.mac_stream import write_element
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature import SigningCredentials, TrustContext, sign_file, verify_file
from dicomseal.verdict import Verdict
from pki import TestPki

EXAMPLES = int(os.environ.get("DICOMSEAL_FUZZ_EXAMPLES", "300"))
#: Elements an attacker might add: identity, a plain attribute, a private one, a UN.
ADDED = (
    (0x00100010, b"PN"),
    (0x00104000, b"LT"),
    (0x00180050, b"DS"),
    (0x00091001, b"LO"),
    (0x00080080, b"UN"),
    (0x7FE00010, b"OB"),
)


@pytest.fixture(scope="module")
def genuine(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    work = tmp_path_factory.mktemp("fuzz")
    make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=4, cols=4).save_as(
        work / "in.dcm", enforce_file_format=True
    )
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    sign_file(work / "in.dcm", work / "signed.dcm", creds)
    return (work / "signed.dcm").read_bytes()


@pytest.fixture(scope="module")
def trust(pki: TestPki) -> TrustContext:
    return TrustContext.load([pki.root.cert], [pki.intermediate.cert])


def _mac_bytes(parsed: Part10File, el: Element) -> bytes:
    out: list[bytes] = []
    write_element(el, parsed, out.append)
    return b"".join(out)


def _same_signed_content(original: bytes, mutated: bytes, signed: set[int]) -> bool:
    a = parse_part10(io.BytesIO(original))
    b = parse_part10(io.BytesIO(mutated))
    if [e.tag for e in a.elements] != [e.tag for e in b.elements]:
        return False
    return all(
        _mac_bytes(a, x) == _mac_bytes(b, y)
        for x, y in zip(a.elements, b.elements, strict=True)
        if x.tag in signed
    )


def _element(tag: int, vr: bytes, value: bytes) -> bytes:
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in (b"OB", b"UN"):
        return head + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


edit = st.tuples(st.integers(min_value=0), st.integers(0, 255), st.sampled_from("rid"))


@settings(
    max_examples=EXAMPLES,
    deadline=dt.timedelta(seconds=20),
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    edits=st.lists(edit, max_size=4),
    add=st.one_of(st.none(), st.tuples(st.sampled_from(ADDED), st.binary(max_size=10))),
    where=st.integers(min_value=0),
    cut=st.one_of(st.none(), st.integers(min_value=1, max_value=400)),
)
def test_mutated_signed_instance(
    genuine: bytes,
    trust: TrustContext,
    edits: list[tuple[int, int, str]],
    add: tuple[tuple[int, bytes], bytes] | None,
    where: int,
    cut: int | None,
) -> None:
    data = bytearray(genuine)
    start = parse_part10(io.BytesIO(genuine)).meta.end
    if add is not None:  # a whole element at a top-level boundary
        (tag, vr), value = add
        bounds = [e.offset for e in parse_part10(io.BytesIO(genuine)).elements] + [len(data)]
        at = bounds[where % len(bounds)]
        data[at:at] = _element(tag, vr, value + b"\0" * (len(value) % 2))
    for pos, byte, op in edits:  # anywhere after the preamble
        at = 128 + pos % (len(data) - 127)
        if op == "r" and at < len(data):
            data[at] = byte
        elif op == "i":
            data.insert(at, byte)
        elif at < len(data):
            del data[at]
    if cut is not None:
        del data[max(start, len(data) - cut) :]
    mutated = bytes(data)
    try:
        result = verify_file(io.BytesIO(mutated), trust, name="fuzz.dcm")
    except MalformedDicomError:
        return
    if result.verdict is not Verdict.PASSED:
        return
    assert add is None, result  # an added element never rides along under PASSED
    signed = {t for s in result.signatures if not s.location for t in s.signed_tags}
    assert _same_signed_content(genuine, mutated, signed), result


def test_genuine_control(genuine: bytes, trust: TrustContext, tmp_path: Path) -> None:
    result = verify_file(io.BytesIO(genuine), trust, name="genuine.dcm")
    assert result.verdict is Verdict.PASSED, result
