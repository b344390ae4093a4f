"""Hostile but well-formed crypto objects are FAILED, never an internal error (issue 10 class 6).

A Certificate of Signer inside an instance, or the certificates and structure of a
medium's MANIFEST.P7S, are attacker-controlled bytes that the crypto libraries parse
lazily: bad DER deep in an extension, an unknown public-key algorithm, absurd sizes. Each
case starts from a genuine certificate or signature of the test PKI and patches it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
from pathlib import Path

import pydicom
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from forge_support import sign_bytes, verify_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dicomseal.media.cms import CmsReason, sign_detached, verify_detached
from dicomseal.media.manifest import Manifest, ManifestFormatError
from dicomseal.signature import SigningCredentials
from dicomseal.signature.status import FileReason, SignatureReason
from dicomseal.verdict import Verdict
from pki import TestPki

RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d010101")  # OID 1.2.840.113549.1.1.1
UNKNOWN_KEY_OID = bytes.fromhex("06092a864886f70d010163")  # 1.2.840.113549.1.1.99
BASIC_CONSTRAINTS = bytes.fromhex("0603551d13")  # OID 2.5.29.19


def _der(pki: TestPki) -> bytes:
    cert = x509.load_pem_x509_certificate(pki.signer.cert.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


def _unknown_key(der: bytes) -> bytes:
    assert der.count(RSA_ENCRYPTION) == 1
    return der.replace(RSA_ENCRYPTION, UNKNOWN_KEY_OID)


def _bad_extension(der: bytes) -> bytes:
    """basicConstraints whose inner SEQUENCE tag is broken: fails only when read."""
    at = der.index(BASIC_CONSTRAINTS) + len(BASIC_CONSTRAINTS)
    at = der.index(b"\x04", at) + 2  # OCTET STRING header, then the SEQUENCE tag
    assert der[at] == 0x30
    return der[:at] + b"\x04" + der[at + 1 :]


def _with_certificate(signed: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and signed.count(old) == 1
    return signed.replace(old, new)


@pytest.fixture()
def signed(pki: TestPki, tmp_path: Path) -> bytes:
    return sign_bytes(pki, tmp_path)


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param(_unknown_key, id="unknown-public-key-algorithm"),
        pytest.param(_bad_extension, id="bad-der-inside-an-extension"),
        pytest.param(lambda d: b"\x31" + d[1:], id="not-a-certificate"),
        pytest.param(lambda d: d[:4] + b"\xff" * (len(d) - 4), id="garbage-after-header"),
    ],
)
def test_hostile_certificate_of_signer_is_malformed(
    pki: TestPki, signed: bytes, patch: object
) -> None:
    der = _der(pki)
    forged = _with_certificate(signed, der, patch(der))  # type: ignore[operator]
    result = verify_bytes(pki, forged)
    assert result.verdict is Verdict.FAILED, result
    assert result.signatures[0].reason is SignatureReason.MALFORMED, result.signatures[0]


def test_huge_certificate_is_malformed_without_reading_it(pki: TestPki, signed: bytes) -> None:
    ds = pydicom.dcmread(io.BytesIO(signed))
    ds.DigitalSignaturesSequence[0].CertificateOfSigner = b"\x30\x84" + b"\0" * (3 << 20)
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    result = verify_bytes(pki, out.getvalue())
    assert result.verdict is Verdict.FAILED
    assert result.signatures[0].reason is SignatureReason.MALFORMED
    assert "implausibly long" in result.signatures[0].message


def test_hostile_certificate_cli_exit_1_not_4(pki: TestPki, signed: bytes, tmp_path: Path) -> None:
    from sigtest_support import file_entry, run_cli, trust_args

    path = tmp_path / "hostile-cert.dcm"
    path.write_bytes(_with_certificate(signed, _der(pki), _unknown_key(_der(pki))))
    run = run_cli("verify", path, *trust_args([pki.root.cert]), "--format", "json")
    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr
    entry = file_entry(run.json(), path)
    assert (entry["reason"], entry["signatures"][0]["reason"]) == (
        FileReason.SIGNATURE_FAILED.value,
        "malformed-signature",
    )


# -- the manifest's detached CMS signature ------------------------------------------------
DATA = b'{"schema": "dicomseal.manifest/1"}\n'


@pytest.fixture(scope="module")
def p7s(pki: TestPki) -> bytes:
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    return sign_detached(
        DATA, creds.private_key, creds.certificate, signing_time=dt.datetime.now(dt.UTC)
    )


def test_genuine_cms_control(p7s: bytes) -> None:
    assert verify_detached(DATA, p7s).intact


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param(_unknown_key, id="unknown-public-key-algorithm"),
        pytest.param(_bad_extension, id="bad-der-inside-an-extension"),
    ],
)
def test_hostile_manifest_signer_certificate_is_malformed(
    pki: TestPki, p7s: bytes, patch: object
) -> None:
    der = _der(pki)
    check = verify_detached(DATA, _with_certificate(p7s, der, patch(der)))  # type: ignore[operator]
    assert not check.intact
    assert check.reason in (CmsReason.MALFORMED, CmsReason.BAD_SIGNATURE), check


@settings(
    max_examples=int(os.environ.get("DICOMSEAL_FUZZ_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(0, 255), st.sampled_from("rid")),
        min_size=1,
        max_size=6,
    ),
    cut=st.integers(min_value=0, max_value=64),
)
def test_fuzzed_cms_never_raises(p7s: bytes, edits: list[tuple[int, int, str]], cut: int) -> None:
    """Replace, insert and delete bytes anywhere; truncate: always a CmsCheck, never a crash."""
    data = bytearray(p7s)
    for pos, byte, op in edits:
        at = pos % (len(data) + 1)
        if op == "r" and at < len(data):
            data[at] = byte
        elif op == "i":
            data.insert(at, byte)
        elif at < len(data):
            del data[at]
    mutated = bytes(data[: len(data) - cut] if cut < len(data) else data)
    check = verify_detached(DATA, mutated)
    if check.intact:  # e.g. a mutation inside an unsigned, unused part
        assert check.signer is not None


# -- the manifest JSON, parsed only after its signature verified -----------------------
@pytest.mark.parametrize(
    "doc",
    [
        pytest.param(b'{"schema": ' + b"9" * 100_000 + b"}", id="huge-integer"),
        pytest.param(b"[" + b"[]," * 500_000 + b"[]]", id="container-flood"),
        pytest.param(b"[" * 200_000 + b"]" * 200_000, id="deep-nesting"),
        pytest.param(
            b'{"schema": "dicomseal.manifest/1", "digest_algorithm": "SHA-256", "medium": '
            b'{"fileset_id": "", "label": "", "profile": "", "created": "", "creator": "", '
            b'"tool": ""}, "files": [{"path": "a", "size": 1'
            + b"0" * 40
            + b', "sha256": "'
            + hashlib.sha256().hexdigest().encode()
            + b'", "role": "other"}]}',
            id="size-beyond-any-file",
        ),
    ],
)
def test_hostile_manifest_json_is_a_format_error(doc: bytes) -> None:
    with pytest.raises(ManifestFormatError):
        Manifest.from_bytes(doc)
