"""Red-team cases (seventeenth round): what interop sweep 6 relaxed, attacked.

Sweep 6 stopped calling some real vendor files FAILED (an odd-length JPEG fragment, a
File Meta group length counting a data set group length or stopping before a repeat, a
file meta element copied into an item) and let ``media create`` take Explicit VR Big
Endian. Each relaxation held only for the files it was made for; here each is tried
where it does not hold. Every input is a synthetic sample instance
(``dicomseal.samples``) signed with the test PKI (or by ``dcmsign``), then altered as
an attacker holding the genuine file would.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.encaps import encapsulate
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    RLELossless,
)
from test_redteam6 import _signed, _signed_report, _verify
from test_redteam10_unsigned_groups import DIGITAL_SIGNATURES, _el, _in_first_item

from dcmsign_stream import dcmsign_signs
from dicomseal.errors import MalformedDicomError
from dicomseal.hazmat.ambiguity import AmbiguityKind, find_ambiguities
from dicomseal.hazmat.elements import parse_part10
from dicomseal.samples import SAMPLE_PATIENTS, make_instance
from dicomseal.samples.pki import TestPki
from dicomseal.signature import SigningCredentials, TrustContext, sign_file, verify_file
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict
from external_tools import require_tool

AMBIGUOUS = (Verdict.FAILED, FileReason.AMBIGUOUS_DATASET)


def _kinds(data: bytes) -> set[AmbiguityKind]:
    return {a.kind for a in find_ambiguities(parse_part10(io.BytesIO(data)))}


# -- odd-length fragments --------------------------------------------------------------


def _two_fragment_rle(tmp: Path) -> Path:
    """One RLE Lossless frame (PS3.5 §G) stored as two fragments, its 64-byte header
    (which ends in 00: two segments use 2 of its 15 offsets) and its segments."""
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    pixels = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 37) % 4000
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.PixelData = pixels.tobytes()
    ds.compress(RLELossless, pixels)
    frame = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
    header, segments = frame[:64], frame[64:]
    assert header.endswith(b"\x00")
    segments += b"\x00" * (len(segments) & 1)
    ds.PixelData = encapsulate([header, segments], has_bot=False)
    src = tmp / "rle2.dcm"
    ds.save_as(src, enforce_file_format=True)
    # the two fragments: pydicom gives them one frame
    ds = pydicom.dcmread(src)
    assert np.array_equal(ds.pixel_array, pixels)
    return src


def test_a_byte_moved_across_a_fragment_boundary_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """The MAC stream holds no item length and pads an odd fragment with 00 (DCMTK's
    reading, sweep 6): a header fragment of 64 bytes ending in 00 cut to 63 keeps the
    MAC, while pydicom joins 63 + the segments into another frame."""
    src = _two_fragment_rle(tmp_path)
    signed = tmp_path / "signed.dcm"
    sign_file(src, signed, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    data = signed.read_bytes()
    assert _verify(pki, data).verdict is Verdict.PASSED
    pixel = next(e for e in parse_part10(io.BytesIO(data)).elements if e.tag == 0x7FE00010)
    assert pixel.fragments is not None
    offset, length = pixel.fragments[1]  # after the (empty) Basic Offset Table
    assert length == 64 and data[offset + 63] == 0
    cut = bytearray(data[: offset + 63] + data[offset + 64 :])
    struct.pack_into("<I", cut, offset - 4, 63)
    forged = bytes(cut)
    genuine = pydicom.dcmread(signed).pixel_array
    try:  # pydicom decodes another frame from the same MAC, or none at all
        shown = pydicom.dcmread(io.BytesIO(forged)).pixel_array
    except (RuntimeError, ValueError):
        shown = None
    assert shown is None or not np.array_equal(shown, genuine)
    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == AMBIGUOUS
    assert any("odd length" in a for a in result.ambiguities)


def test_an_odd_fragment_is_refused_unless_it_ends_a_codestream_last(tmp_path: Path) -> None:
    """Only a last fragment ending in FF D9 may be odd (a decoder stops there)."""
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.50"

    def with_fragments(*fragments: bytes) -> bytes:
        items = b"".join(b"\xfe\xff\x00\xe0" + struct.pack("<I", len(f)) + f for f in fragments)
        ds.PixelData = b"\xfe\xff\x00\xe0\x00\x00\x00\x00" + items
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        data = out.getvalue()
        pad = fragments[-1] + b"\x00\xfe\xff\xdd\xe0"
        if sum(map(len, fragments)) & 1:  # pydicom pads the whole value: take the pad out
            assert data.count(pad) == 1
            data = data.replace(pad, fragments[-1] + b"\xfe\xff\xdd\xe0")
        return data

    jpeg = b"\xff\xd8" + bytes(13) + b"\xff\xd9"  # 17 bytes
    assert AmbiguityKind.ODD_LENGTH_FRAGMENT not in _kinds(with_fragments(jpeg))
    for fragments in (
        (jpeg, b"\xff\xd8" + bytes(12) + b"\xff\xd9"),  # odd, not last
        (jpeg[:-2] + b"\x00\x00",),  # odd, last, no end marker
    ):
        assert AmbiguityKind.ODD_LENGTH_FRAGMENT in _kinds(with_fragments(*fragments))


# -- File Meta group length, outside Explicit VR Little Endian --------------------------


def _reencoded(signed: Path, syntax: str) -> bytes:
    """The signed instance in another transfer syntax (its MAC is in Explicit VR LE: the
    signature still verifies), a data set group length (0008,0000) in that encoding put
    first in its data set (pydicom 3 writes none)."""
    ds = pydicom.dcmread(signed)
    ds.file_meta.TransferSyntaxUID = syntax
    out = io.BytesIO()
    big = syntax == ExplicitVRBigEndian
    if big:  # pydicom writes OW bytes as they are: swap them (PS3.5 §7.3)
        assert ds["PixelData"].VR == "OW"
        ds.PixelData = np.frombuffer(ds.PixelData, "<u2").astype(">u2").tobytes()
    pydicom.dcmwrite(
        out,
        ds,
        implicit_vr=syntax == ImplicitVRLittleEndian,
        little_endian=not big,
        enforce_file_format=True,
    )
    data = out.getvalue()
    end = parse_part10(io.BytesIO(data)).meta.end
    if syntax == ImplicitVRLittleEndian:
        length_8 = struct.pack("<HHII", 8, 0, 4, 0)
    elif big:
        length_8 = struct.pack(">HH2sHI", 8, 0, b"UL", 4, 0)
    else:
        length_8 = struct.pack("<HH2sHI", 8, 0, b"UL", 4, 0)
    if syntax != DeflatedExplicitVRLittleEndian:
        return data[:end] + length_8 + data[end:]
    body = zlib.decompress(data[end:], -zlib.MAX_WBITS)
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return data[:end] + packer.compress(length_8 + body) + packer.flush()


def _set_group_length(data: bytes, length: int) -> bytes:
    group = parse_part10(io.BytesIO(data)).meta.elements[0]
    assert group.tag == 0x00020000
    return data[: group.value_offset] + struct.pack("<I", length) + data[group.value_offset + 4 :]


@pytest.mark.parametrize(
    "syntax", [ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian]
)
def test_group_length_relaxations_hold_only_in_explicit_vr_little_endian(
    pki: TestPki, tmp_path: Path, syntax: str
) -> None:
    """DCMTK reads the bytes a (0002,0000) moves across the meta's end in the other
    part's encoding: a data set group length counted into the meta, or a meta repeat
    left out of it, is another element to it in an implicit, big-endian or deflated data
    set. Sweep 6 let both through for every transfer syntax; DCMTK then read a data set
    pydicom does not show."""
    data = _reencoded(_signed(pki, tmp_path), syntax)
    assert _verify(pki, data).verdict is Verdict.PASSED
    parsed = parse_part10(io.BytesIO(data))
    group, end = parsed.meta.elements[0], parsed.meta.end
    exact = end - group.end
    counted_in = _set_group_length(data, exact + 12)
    sop = next(e for e in parsed.meta.elements if e.tag == 0x00020003)
    repeat = data[sop.offset : sop.end]
    left_out = _set_group_length(data[:end] + repeat + data[end:], exact)
    for forged in (counted_in, left_out):
        result = _verify(pki, forged)
        assert (result.verdict, result.reason) == AMBIGUOUS


# -- a file meta element in a signature item ------------------------------------------


def test_a_plain_meta_element_in_a_signature_item_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """Sweep 6 leaves a data sequence holding a plain (0002,xxxx) value only not
    covered; in the Digital Signatures Sequence, which no MAC holds, it was not even
    that: the file PASSED with a value no signature covers."""
    data = _signed(pki, tmp_path).read_bytes()
    forged = _in_first_item(
        data, DIGITAL_SIGNATURES, _el(0x00020010, b"UI", b"1.2.840.10008.1.2\x00")
    )
    result = _verify(pki, forged)
    assert (result.verdict, result.reason) == AMBIGUOUS


# -- Explicit VR Big Endian pixel and overlay data --------------------------------------


def _big_endian(tmp: Path, vr: str, bits: int, overlay_vr: str | None = None) -> Path:
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, min(bits, 12), min(bits, 12) - 1
    ds.PixelData = bytes(range(64)) * (bits // 8 or 1)
    ds["PixelData"].VR = vr
    if overlay_vr is not None:
        ds.add_new(0x60000010, "US", 8)
        ds.add_new(0x60000011, "US", 8)
        ds.add_new(0x60000100, "US", 1)
        ds.add_new(0x60000102, "US", 0)
        ds.add_new(0x60003000, overlay_vr, bytes(range(8)))
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    path = tmp / f"be-{vr}-{bits}-{overlay_vr}.dcm"
    ds.save_as(path, implicit_vr=False, little_endian=False, enforce_file_format=True)
    return path


@pytest.mark.parametrize(
    ("vr", "bits", "overlay", "ambiguous"),
    [
        ("OW", 16, None, False),
        ("OB", 8, None, False),
        ("OB", 8, "OB", False),
        ("OB", 16, None, True),
        ("OW", 8, None, False),
        ("OW", 1, None, True),
        ("OW", 32, None, True),
        ("OW", 16, "OW", True),
    ],
)
def test_big_endian_pixel_data_whose_vr_does_not_fit_bits_allocated_is_ambiguous(
    pki: TestPki, tmp_path: Path, vr: str, bits: int, overlay: str | None, ambiguous: bool
) -> None:
    """DCMTK re-encodes big-endian OW word by word and OB as stored (what a MAC holds);
    pydicom reads pixels as stored, by Bits Allocated: two images unless OW holds 8- or
    16-bit pixels or OB 1- or 8-bit ones (measured, hazmat/pixel_bytes.py). Such a file
    is neither signed nor taken onto a medium."""
    path = _big_endian(tmp_path, vr, bits, overlay)
    found = AmbiguityKind.BIG_ENDIAN_PIXEL_VR in _kinds(path.read_bytes())
    assert found is ambiguous
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    if ambiguous:
        with pytest.raises(MalformedDicomError, match="big-endian"):
            sign_file(path, tmp_path / "signed.dcm", creds)
    else:
        sign_file(path, tmp_path / "signed.dcm", creds)


def test_big_endian_pixel_bytes_that_read_alike_both_ways_are_not_ambiguous(
    tmp_path: Path,
) -> None:
    """A solid-colour test image (pydicom's ``SC_rgb_expb_16bit.dcm``: ``ff ff 00 00``)
    gives one image either way; one byte out of step gives two."""
    path = _big_endian(tmp_path, "OB", 16)
    ds = pydicom.dcmread(path)
    ds.PixelData = b"\xff\xff\x00\x00" * 32
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=False, enforce_file_format=True)
    assert AmbiguityKind.BIG_ENDIAN_PIXEL_VR not in _kinds(path.read_bytes())
    ds.PixelData = b"\xff\xfe" + b"\x00" * 126
    pydicom.dcmwrite(path, ds, implicit_vr=False, little_endian=False, enforce_file_format=True)
    assert AmbiguityKind.BIG_ENDIAN_PIXEL_VR in _kinds(path.read_bytes())


def test_a_dcmsign_signature_on_such_a_big_endian_file_is_not_passed(
    pki: TestPki, tmp_path: Path
) -> None:
    """dcmsign signs what it reads; dicomseal verify must not vouch for the image
    pydicom shows from the same bytes."""
    require_tool("dcmsign")
    src = _big_endian(tmp_path, "OB", 16)
    theirs = tmp_path / "theirs.dcm"
    dcmsign_signs(pki, src, theirs)
    trust = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    result = verify_file(theirs, trust)
    assert (result.verdict, result.reason) == AMBIGUOUS


def test_big_endian_icon_pixels_are_checked_like_the_image(pki: TestPki, tmp_path: Path) -> None:
    """An Icon Image Sequence item holds its own Bits Allocated and Pixel Data (PS3.3
    C.7.6.1): a genuine signed file re-encoded in big endian, its 16-bit OB icon kept
    as stored, PASSED while pydicom and DCMTK's re-encoding show two icons (red team 18)."""
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=8, cols=8)
    icon = pydicom.Dataset()
    icon.Rows = icon.Columns = 4
    icon.SamplesPerPixel, icon.PhotometricInterpretation = 1, "MONOCHROME2"
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 16, 16, 15, 0
    icon.PixelData = bytes(range(1, 33))
    icon["PixelData"].VR = "OB"
    ds.IconImageSequence = [icon]
    src, signed = tmp_path / "icon.dcm", tmp_path / "signed.dcm"
    ds.save_as(src, enforce_file_format=True)
    sign_file(src, signed, SigningCredentials.load(pki.signer.key, pki.signer.cert))
    assert _verify(pki, signed.read_bytes()).verdict is Verdict.PASSED
    big = pydicom.dcmread(signed)
    big.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    big.PixelData = np.frombuffer(big.PixelData, "<u2").astype(">u2").tobytes()
    out = io.BytesIO()
    pydicom.dcmwrite(out, big, implicit_vr=False, little_endian=False, enforce_file_format=True)
    result = _verify(pki, out.getvalue())
    assert (result.verdict, result.reason) == AMBIGUOUS


@pytest.mark.parametrize(
    ("keyword", "vr", "ambiguous"),
    [
        ("FloatPixelData", "OF", False),
        ("FloatPixelData", "OW", True),
        ("FloatPixelData", "OB", True),
        ("DoubleFloatPixelData", "OD", False),
        ("DoubleFloatPixelData", "OW", True),
    ],
)
def test_big_endian_float_pixels_need_their_own_vr(
    tmp_path: Path, keyword: str, vr: str, ambiguous: bool
) -> None:
    """pydicom reads Float (Double Float) Pixel Data as big-endian floats whatever the
    VR; DCMTK swaps by the VR, word by word for OW (red team 18: float pixels as OW)."""
    ds = make_instance(SAMPLE_PATIENTS[0], 0, 1, 1, rows=4, cols=4)
    del ds.PixelData
    ds.BitsAllocated = 32 if keyword == "FloatPixelData" else 64
    setattr(ds, keyword, np.arange(16, dtype=">f8").tobytes()[: 16 * ds.BitsAllocated // 8])
    ds[keyword].VR = vr
    ds.file_meta.TransferSyntaxUID = ExplicitVRBigEndian
    out = io.BytesIO()
    pydicom.dcmwrite(out, ds, implicit_vr=False, little_endian=False, enforce_file_format=True)
    assert (AmbiguityKind.BIG_ENDIAN_PIXEL_VR in _kinds(out.getvalue())) is ambiguous


@pytest.mark.parametrize("syntax", [b"1.2.840.10008.1.2. 2", b"1.2.840.10008.1 .2\x00"])
def test_a_transfer_syntax_uid_with_an_inner_space_is_not_passed(
    pki: TestPki, tmp_path: Path, syntax: bytes
) -> None:
    """DCMTK drops every space of a UID: it reads the data set of a signed report as big
    endian or implicit VR, where pydicom and the walker read Explicit VR LE; with no
    pixel data nothing else noticed the unknown syntax (red team 18)."""
    data = _signed_report(pki, tmp_path)
    assert _verify(pki, data).verdict is Verdict.PASSED
    parsed = parse_part10(io.BytesIO(data))
    ts = next(e for e in parsed.meta.elements if e.tag == 0x00020010)
    out = bytearray(
        data[: ts.offset + 6] + struct.pack("<H", len(syntax)) + syntax + data[ts.end :]
    )
    group = parsed.meta.elements[0]
    old = int.from_bytes(data[group.value_offset : group.value_offset + 4], "little")
    struct.pack_into("<I", out, group.value_offset, old + len(syntax) - ts.length)
    result = _verify(pki, bytes(out))
    assert (result.verdict, result.reason) == AMBIGUOUS
    assert any("space inside" in a for a in result.ambiguities)
