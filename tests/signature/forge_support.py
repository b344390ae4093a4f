"""Build genuine signed instances and forge them byte by byte, as an attacker would.

Every forged file starts from a synthetic instance (``dicomseal.samples``) signed here with
the test PKI; the edits work on the raw bytes with the offsets of the bounded walker, so
nothing is re-encoded behind the test's back.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from pathlib import Path

from pydicom import Dataset

from dicomseal.hazmat.elements import LONG_VRS, Element, parse_part10
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.signature import SigningCredentials, TrustContext, sign_file, verify_file
from dicomseal.signature.status import FileVerification
from pki import TestPki

__all__ = [
    "element",
    "insert_element",
    "instance",
    "set_meta_transfer_syntax",
    "sign_bytes",
    "swap_elements",
    "top_level",
    "verify_bytes",
]


def instance(patient: int = 0) -> Dataset:
    """A small synthetic CT/MR instance (Explicit VR LE, 8x8 pixels)."""
    return make_instance(SAMPLE_PATIENTS[patient], patient, 1, 1, rows=8, cols=8)


def sign_bytes(
    pki: TestPki,
    work: Path,
    ds: Dataset | bytes | None = None,
    *,
    tags: Iterable[int] | None = None,
    item: str | None = None,
) -> bytes:
    """``ds`` (default :func:`instance`) signed by the test signer with dicomseal."""
    src, dst = work / "unsigned.dcm", work / "signed.dcm"
    if isinstance(ds, bytes):
        src.write_bytes(ds)
    else:
        (ds if ds is not None else instance()).save_as(src, enforce_file_format=True)
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    sign_file(src, dst, creds, tags=tags, item=item)
    return dst.read_bytes()


def verify_bytes(pki: TestPki, data: bytes) -> FileVerification:
    """``verify`` of the bytes with the test PKI root as anchor."""
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    return verify_file(io.BytesIO(data), trust, name="forged.dcm")


def element(tag: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR Little Endian element (value padded to even length)."""
    if len(value) % 2:
        value += b"\x00" if vr in (b"UI", b"OB", b"UN") else b" "
    head = struct.pack("<HH", tag >> 16, tag & 0xFFFF) + vr
    if vr in LONG_VRS:
        return head + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def top_level(data: bytes) -> list[Element]:
    """The top-level elements of ``data`` with their byte offsets."""
    return parse_part10(io.BytesIO(data)).elements


def insert_element(data: bytes, raw: bytes, *, at: int | None = None) -> bytes:
    """Insert one encoded element at byte ``at`` (default: in ascending tag order)."""
    if at is None:
        tag = (struct.unpack_from("<H", raw)[0] << 16) | struct.unpack_from("<H", raw, 2)[0]
        at = next((e.offset for e in top_level(data) if e.tag > tag), len(data))
    return data[:at] + raw + data[at:]


def swap_elements(data: bytes, first: Element, second: Element) -> bytes:
    """Swap two adjacent elements (``first`` directly before ``second``)."""
    assert first.end == second.offset
    a = data[first.offset : first.end]
    b = data[second.offset : second.end]
    return data[: first.offset] + b + a + data[second.end :]


def set_meta_transfer_syntax(data: bytes, uid: str | None) -> bytes:
    """Rewrite (or with ``None`` drop) the meta Transfer Syntax UID, fixing the group length."""
    meta = parse_part10(io.BytesIO(data)).meta
    ts = next(e for e in meta.elements if e.tag == 0x00020010)
    new = element(0x00020010, b"UI", uid.encode()) if uid is not None else b""
    out = data[: ts.offset] + new + data[ts.end :]
    group = next(e for e in meta.elements if e.tag == 0x00020000)
    length = meta.end - group.end + len(new) - (ts.end - ts.offset)
    return out[: group.value_offset] + struct.pack("<I", length) + out[group.value_offset + 4 :]
