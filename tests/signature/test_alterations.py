"""Fail closed on every alteration (issue 3, point 6).

Each tampered fixture is made from a dcmsign-signed file by a byte-level or pydicom edit and
is named by its anomaly. dcmsign is asked first: it must reject every tampered file (so the
fixture really is an alteration) and accept the untouched controls (so the edit mechanism
itself breaks nothing). Then one ``dicomseal verify`` run over the folder must report FAILED
for each anomaly, and PASSED for the controls.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydicom.tag import Tag
from sigtest_support import (
    EXIT_FOR_VERDICT,
    CliRun,
    assert_report_shape,
    dcmsign_verify,
    file_entry,
    verify_json,
)
from sigtest_vectors import SignedVector

if TYPE_CHECKING:
    from pki import TestPki

pytestmark = pytest.mark.dcmtk

Edit = Callable[[Path, Path, "EditContext"], None]


@dataclass(frozen=True)
class EditContext:
    """What some edits need besides the source file."""

    other_rsa_cert_der: bytes
    ec_cert_der: bytes


def _replace_once(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1, f"{old!r} occurs {data.count(old)} times"
    assert len(old) == len(new)
    return data.replace(old, new)


def _bytes_edit(fn: Callable[[bytes], bytes]) -> Edit:
    def edit(src: Path, dst: Path, ctx: EditContext) -> None:
        dst.write_bytes(fn(src.read_bytes()))

    return edit


def _pydicom_edit(fn: Callable[[pydicom.Dataset, EditContext], None]) -> Edit:
    def edit(src: Path, dst: Path, ctx: EditContext) -> None:
        ds = pydicom.dcmread(src)
        fn(ds, ctx)
        ds.save_as(dst)

    return edit


def _value_span(data: bytes, header: bytes) -> tuple[int, int]:
    """(offset, length) of the value of the one explicit-VR long element with ``header``."""
    assert data.count(header) == 1, header
    i = data.index(header)
    return i + 12, int.from_bytes(data[i + 8 : i + 12], "little")


def _flip(data: bytes, offset: int) -> bytes:
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


def _remove_short_element(data: bytes, header: bytes) -> bytes:
    """Cut a top-level short-VR element (tag + VR + 2-byte length + value)."""
    assert data.count(header) == 1, header
    i = data.index(header)
    n = int.from_bytes(data[i + 6 : i + 8], "little")
    return data[:i] + data[i + 8 + n :]


PIXEL_OW = b"\xe0\x7f\x10\x00OW\x00\x00"
SIGNATURE_OB = b"\x00\x04\x20\x01OB\x00\x00"


def _flip_pixel(data: bytes) -> bytes:
    offset, length = _value_span(data, PIXEL_OW)
    return _flip(data, offset + length // 2)


def _flip_signature(data: bytes) -> bytes:
    offset, length = _value_span(data, SIGNATURE_OB)
    return _flip(data, offset + length // 2)


def _flip_jpeg_fragment(data: bytes) -> bytes:
    # encapsulated pixel data: last fragment's bytes end just before the sequence delimiter
    end = data.rindex(b"\xfe\xff\xdd\xe0\x00\x00\x00\x00")
    return _flip(data, end - 40)


EVIL_NAME = b"\x10\x00\x10\x00PN\x08\x00Evil^Eve"


def _duplicate_after(data: bytes) -> bytes:
    """A second PatientName right after the signed one (pydicom shows the second)."""
    i = data.index(b"\x10\x00\x10\x00PN")
    j = i + 8 + int.from_bytes(data[i + 6 : i + 8], "little")
    return data[:j] + EVIL_NAME + data[j:]


def _drop_signed_tag(ds: pydicom.Dataset, ctx: EditContext) -> None:
    params = ds.MACParametersSequence[0]
    tags = list(params.DataElementsSigned)
    tags.remove(Tag("PatientName"))
    params.DataElementsSigned = tags


def _swap_cert(which: str) -> Callable[[pydicom.Dataset, EditContext], None]:
    def fn(ds: pydicom.Dataset, ctx: EditContext) -> None:
        der = ctx.other_rsa_cert_der if which == "rsa" else ctx.ec_cert_der
        ds.DigitalSignaturesSequence[0].CertificateOfSigner = der

    return fn


def _set(keyword: str, value: Any) -> Callable[[pydicom.Dataset, EditContext], None]:
    def fn(ds: pydicom.Dataset, ctx: EditContext) -> None:
        setattr(ds, keyword, value)

    return fn


def _set_in_sig(keyword: str, value: Any) -> Callable[[pydicom.Dataset, EditContext], None]:
    def fn(ds: pydicom.Dataset, ctx: EditContext) -> None:
        setattr(ds.DigitalSignaturesSequence[0], keyword, value)

    return fn


def _set_mac(ds: pydicom.Dataset, ctx: EditContext) -> None:
    ds.MACParametersSequence[0].MACAlgorithm = "SHA384"


def _drop_mac_parameters(ds: pydicom.Dataset, ctx: EditContext) -> None:
    del ds.MACParametersSequence


def _change_item_uid(ds: pydicom.Dataset, ctx: EditContext) -> None:
    ds.ReferencedSeriesSequence[0].SeriesInstanceUID = "1.2.826.0.1.3680043.10.511.77.1.666"


def _resave(ds: pydicom.Dataset, ctx: EditContext) -> None:
    """No change at all (control)."""


#: anomaly name -> (source vector, edit). All must be FAILED.
ANOMALIES: dict[str, tuple[str, Edit]] = {
    "patient-name-changed": (
        "rsa-mac-sha256",
        _bytes_edit(lambda d: _replace_once(d, b"Doe^John", b"Doe^Jane")),
    ),
    "patient-name-changed-pydicom": ("rsa-mac-sha512", _pydicom_edit(_set("PatientName", "X^Y"))),
    "pixel-byte-flipped": ("rsa-mac-sha256", _bytes_edit(_flip_pixel)),
    "pixel-byte-flipped-ripemd160": ("rsa-mac-ripemd160", _bytes_edit(_flip_pixel)),
    "jpeg-fragment-byte-flipped": ("jpeg-baseline", _bytes_edit(_flip_jpeg_fragment)),
    "signed-element-removed": (
        "rsa-mac-sha256",
        _bytes_edit(lambda d: _remove_short_element(d, b"\x10\x00\x20\x00LO")),
    ),
    "signature-bytes-changed": ("rsa-mac-sha256", _bytes_edit(_flip_signature)),
    "ecdsa-signature-bytes-changed": ("ecdsa-sha256", _bytes_edit(_flip_signature)),
    "certificate-swapped-rsa": ("rsa-mac-sha256", _pydicom_edit(_swap_cert("rsa"))),
    "certificate-swapped-ec": ("rsa-mac-sha256", _pydicom_edit(_swap_cert("ec"))),
    "data-elements-signed-edited": ("rsa-mac-sha256", _pydicom_edit(_drop_signed_tag)),
    "mac-algorithm-changed": ("rsa-mac-sha256", _pydicom_edit(_set_mac)),
    "mac-parameters-removed": ("rsa-mac-sha256", _pydicom_edit(_drop_mac_parameters)),
    "signature-datetime-changed": (
        "rsa-mac-sha256",
        _pydicom_edit(_set_in_sig("DigitalSignatureDateTime", "20260102030405.000000+0000")),
    ),
    "signature-uid-changed": (
        "rsa-mac-sha256",
        _pydicom_edit(_set_in_sig("DigitalSignatureUID", "1.2.826.0.1.3680043.10.511.77.99")),
    ),
    "item-attribute-changed": ("item-signature", _pydicom_edit(_change_item_uid)),
    "second-signature-broken": (
        "two-signatures",
        _pydicom_edit(_set("InstitutionName", "Other hospital")),
    ),
}
#: Shadow elements: a duplicate of a signed element that a viewer (pydicom: the last one
#: wins) would display instead of the signed value. dcmsign 3.6.7 *accepts* these (DcmItem
#: "found twice ... ignoring second entry", then "Verification : OK"), so they are not in
#: the dcmsign cross-check; dicomseal must still say FAILED.
SHADOW_ANOMALIES: dict[str, tuple[str, Edit]] = {
    "duplicate-patient-name-appended": ("rsa-mac-sha256", _bytes_edit(lambda d: d + EVIL_NAME)),
    "duplicate-patient-name-adjacent": ("rsa-mac-sha256", _bytes_edit(_duplicate_after)),
    "duplicate-institution-out-of-order": (
        "rsa-mac-sha256",
        _bytes_edit(lambda d: d + b"\x08\x00\x80\x00LO\x0a\x00Evil Hosp "),
    ),
}
#: untouched controls (same edit machinery, no change): must stay PASSED
CONTROLS: dict[str, tuple[str, Edit]] = {
    "control-resaved-pydicom": ("rsa-mac-sha256", _pydicom_edit(_resave)),
    "control-copied": ("rsa-mac-sha256", _bytes_edit(lambda d: d)),
    "outside-subset-changed": ("tag-subset", _pydicom_edit(_set("Manufacturer", "Someone else"))),
    # an attribute added after signing is not covered by Data Elements Signed: unsigned
    "unsigned-attribute-added": (
        "rsa-mac-sha256",
        _pydicom_edit(_set("PatientComments", "added later")),
    ),
}


def _other_rsa_cert(pki: TestPki) -> bytes:
    """A second valid RSA signer certificate from the same intermediate (not the signer's)."""
    inter_cert = x509.load_pem_x509_certificate(pki.intermediate.cert.read_bytes())
    inter_key = serialization.load_pem_private_key(pki.intermediate.key.read_bytes(), None)
    assert isinstance(inter_key, rsa.RSAPrivateKey)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [x509.NameAttribute(x509.NameOID.COMMON_NAME, "dicomseal TEST ONLY Other Signer")]
            )
        )
        .issuer_name(inter_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=30))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(inter_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def tampered(
    dcmsign_vectors: dict[str, SignedVector],
    pki: TestPki,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    folder = tmp_path_factory.mktemp("tampered")
    ec_der = x509.load_pem_x509_certificate(pki.ec_signer.cert.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    ctx = EditContext(_other_rsa_cert(pki), ec_der)
    for name, (source, edit) in {**ANOMALIES, **SHADOW_ANOMALIES, **CONTROLS}.items():
        edit(dcmsign_vectors[source].path, folder / f"{name}.dcm", ctx)
    return folder


@pytest.fixture(scope="module")
def tampered_run(tampered: Path, trust: tuple[list[Path], list[Path]]) -> CliRun:
    return verify_json(tampered, *trust)


@pytest.fixture(scope="module")
def tampered_report(tampered_run: CliRun) -> dict[str, Any]:
    doc = tampered_run.json()
    assert_report_shape(doc)
    return doc


@pytest.mark.parametrize("name", [*ANOMALIES, *CONTROLS])
def test_dcmsign_agrees_on_the_fixture(
    name: str, dcmsign: str, tampered: Path, trust: tuple[list[Path], list[Path]]
) -> None:
    proc = dcmsign_verify(dcmsign, tampered / f"{name}.dcm", *trust)
    if name in CONTROLS:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0, f"dcmsign accepts the '{name}' fixture:\n{proc.stderr}"


@pytest.mark.parametrize("name", [*ANOMALIES, *SHADOW_ANOMALIES])
def test_alteration_is_failed(name: str, tampered: Path, tampered_report: dict[str, Any]) -> None:
    entry = file_entry(tampered_report, tampered / f"{name}.dcm")
    assert entry["verdict"] == "FAILED", entry


def test_folder_with_an_alteration_exits_1(
    tampered_run: CliRun, tampered_report: dict[str, Any]
) -> None:
    assert tampered_report["verdict"] == "FAILED"
    assert tampered_run.returncode == EXIT_FOR_VERDICT["FAILED"], tampered_run.describe()


def test_single_altered_file_exits_1(tampered: Path, trust: tuple[list[Path], list[Path]]) -> None:
    path = tampered / "patient-name-changed.dcm"
    run = verify_json(path, *trust)
    assert run.returncode == 1, run.describe()
    doc = run.json()
    assert doc["verdict"] == "FAILED"
    assert [s["verdict"] for s in doc["files"][0]["signatures"]] == ["FAILED"]


def test_only_the_broken_signature_fails(tampered: Path, tampered_report: dict[str, Any]) -> None:
    """two-signatures: the PatientName-only signature survives an InstitutionName change."""
    entry = file_entry(tampered_report, tampered / "second-signature-broken.dcm")
    by_mac = {s["mac_algorithm"]: s["verdict"] for s in entry["signatures"]}
    assert by_mac == {"SHA256": "PASSED", "SHA512": "FAILED"}


@pytest.mark.parametrize("name", ["control-resaved-pydicom", "control-copied"])
def test_controls_pass(name: str, tampered: Path, tampered_report: dict[str, Any]) -> None:
    entry = file_entry(tampered_report, tampered / f"{name}.dcm")
    assert entry["verdict"] == "PASSED", entry


def test_change_outside_tag_subset_is_partially_signed_and_listed_unsigned(
    tampered: Path, tampered_report: dict[str, Any]
) -> None:
    """The -t subset signature itself stays PASSED; the file is not (issue 10 class 4)."""
    entry = file_entry(tampered_report, tampered / "outside-subset-changed.dcm")
    assert (entry["verdict"], entry["reason"]) == ("INDETERMINATE", "partially-signed"), entry
    assert entry["signatures"][0]["verdict"] == "PASSED", entry
    signed_at = entry["signatures"][0]["signed_at"]  # DT, and ISO 8601 beside it
    assert entry["signatures"][0]["signed_at_iso"][:10] == (
        f"{signed_at[:4]}-{signed_at[4:6]}-{signed_at[6:8]}"
    )
    manufacturer = "(0008,0070)"
    assert manufacturer in entry["uncovered"]
    assert "unsigned_tags" in entry, sorted(entry)
    assert manufacturer in entry["unsigned_tags"]
    assert "(0010,0010)" not in entry["unsigned_tags"]
    assert manufacturer not in entry["signatures"][0]["signed_tags"]
    assert sorted(entry["signatures"][0]["signed_tags"]) == [
        "(0008,0018)",
        "(0010,0010)",
        "(0020,000D)",
    ]


@pytest.mark.parametrize("name", list(SHADOW_ANOMALIES))
def test_shadow_element_is_what_a_viewer_would_show(name: str, tampered: Path) -> None:
    """The fixture really shows an attacker's value through pydicom (else it proves nothing)."""
    ds = pydicom.dcmread(tampered / f"{name}.dcm")
    assert "Evil" in str(ds.PatientName) or "Evil" in str(ds.InstitutionName)


def test_attribute_added_after_signing_is_listed_unsigned(
    tampered: Path, tampered_report: dict[str, Any]
) -> None:
    """An element added after signing keeps the file from PASSED (its signature PASSES)."""
    entry = file_entry(tampered_report, tampered / "unsigned-attribute-added.dcm")
    assert (entry["verdict"], entry["reason"]) == ("INDETERMINATE", "partially-signed"), entry
    assert entry["signatures"][0]["verdict"] == "PASSED", entry
    assert entry["uncovered"] == ["(0010,4000)"], entry
    assert entry.get("unsigned_tags") == ["(0010,4000)"], entry.get("unsigned_tags")
    assert "(0010,4000)" not in entry["signatures"][0]["signed_tags"]


def test_copy_of_vector_is_independent(
    dcmsign_vectors: dict[str, SignedVector], tmp_path: Path
) -> None:
    """The edits above never touch the session vectors themselves."""
    src = dcmsign_vectors["rsa-mac-sha256"].path
    before = src.read_bytes()
    shutil.copyfile(src, tmp_path / "x.dcm")
    assert b"Doe^John" in before and src.read_bytes() == before
