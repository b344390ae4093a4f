"""A signature timestamp on the manifest CMS (CAdES-T): the medium outlives its signer certificate.

The TSA is the real ``openssl ts -reply`` behind a loopback HTTP server. Cases: the token
verifies and is reported; at a date after the signer certificate expired the medium stays
PASSED with the timestamp and becomes INDETERMINATE without it; a flipped byte in the token
is FAILED naming it; a token from a TSA the verifier does not trust counts as no token.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from media_support import make_medium

from dicomseal.media.cms import verify_detached
from dicomseal.media.manifest import MANIFEST_PATH, SIGNATURE_PATH
from dicomseal.media.source import open_media
from dicomseal.media.verify import ManifestReason, MediaVerification, verify_media
from dicomseal.report.media import media_document
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.verdict import Verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))
from tsa_support import Tsa, http_tsa, make_tsa

if TYPE_CHECKING:
    from pki import TestPki

#: After the test signer's notAfter (10 years), while the token was issued inside it.
FAR_FUTURE = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def openssl() -> str:
    from external_tools import require_tool

    return require_tool("openssl")


@pytest.fixture(scope="module")
def tsa(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Tsa:
    return make_tsa(pki, tmp_path_factory.mktemp("tsa"))


@pytest.fixture(scope="module")
def stamped_medium(
    openssl: str,
    pki: TestPki,
    tsa: Tsa,
    sample_src: Path,
    creds: SigningCredentials,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    out = tmp_path_factory.mktemp("stamped") / "medium"
    with http_tsa(openssl, pki, tsa) as url:
        make_medium([sample_src], out, creds, label="Stamped CD", tsa_url=url)
    return out


def _verify(medium: Path, trust: TrustContext, at: dt.datetime | None = None) -> MediaVerification:
    with open_media(medium) as source:
        return verify_media(source, trust, at=at)


def test_manifest_timestamp_verifies(stamped_medium: Path, trust: TrustContext) -> None:
    p7s = (stamped_medium / SIGNATURE_PATH).read_bytes()
    # the unsigned attribute leaves the signature itself intact
    assert verify_detached((stamped_medium / MANIFEST_PATH).read_bytes(), p7s).intact
    now = _verify(stamped_medium, trust)
    assert now.verdict is Verdict.PASSED, now.message
    assert now.manifest.timestamp_time is not None
    assert "TSA" in now.manifest.timestamp_tsa


def test_timestamp_keeps_the_medium_passed_after_expiry(
    stamped_medium: Path, sample_medium: Path, trust: TrustContext
) -> None:
    later = _verify(stamped_medium, trust, FAR_FUTURE)
    assert later.verdict is Verdict.PASSED, later.message
    assert "since expired" in later.manifest.timestamp_note
    doc = media_document(later)["manifest"]
    assert (doc["etsi_indication"], doc["etsi_subindication"]) == ("TOTAL-PASSED", None)
    assert doc["best_signature_time"] == doc["timestamp"] is not None
    without = _verify(sample_medium, trust, FAR_FUTURE)
    assert without.verdict is Verdict.INDETERMINATE
    assert without.manifest.reason is ManifestReason.UNTRUSTED
    doc = media_document(without)["manifest"]
    assert (doc["etsi_indication"], doc["etsi_subindication"]) == (
        "INDETERMINATE",
        "OUT_OF_BOUNDS_NO_POE",
    )
    assert doc["best_signature_time"] is None


def test_flipped_byte_in_the_token_is_failed(
    stamped_medium: Path, trust: TrustContext, tmp_path: Path
) -> None:
    copy = tmp_path / "medium"
    shutil.copytree(stamped_medium, copy)
    p7s = bytearray((copy / SIGNATURE_PATH).read_bytes())
    p7s[len(p7s) - 20] ^= 0x01  # the token is last: inside the TSA's signature value
    (copy / SIGNATURE_PATH).write_bytes(bytes(p7s))
    result = _verify(copy, trust)
    assert result.verdict is Verdict.FAILED
    assert result.manifest.reason is ManifestReason.TIMESTAMP_INVALID
    doc = media_document(result)["manifest"]
    assert (doc["etsi_indication"], doc["etsi_subindication"]) == (
        "TOTAL-FAILED",
        "SIG_CRYPTO_FAILURE",
    )
    assert "timestamp" in result.manifest.message


def test_untrusted_tsa_counts_as_no_timestamp(stamped_medium: Path, pki: TestPki) -> None:
    pinned = TrustContext.load([pki.signer.cert])
    now = _verify(stamped_medium, pinned)
    assert now.manifest.verdict is Verdict.PASSED, now.manifest.message
    assert now.manifest.timestamp_time is None
    assert "proves nothing" in now.manifest.timestamp_note
    later = _verify(stamped_medium, pinned, FAR_FUTURE)
    assert later.manifest.verdict is Verdict.INDETERMINATE


def test_manifest_signer_revoked_after_vs_before_the_timestamp(
    stamped_medium: Path, sample_medium: Path, pki: TestPki, trust: TrustContext, tmp_path: Path
) -> None:
    from cryptography import x509
    from test_revocation import DAY, NOW, make_crl

    from dicomseal.media.ltv import judge_medium
    from dicomseal.signature.revocation import RevocationMode, RevocationPolicy

    serial = x509.load_pem_x509_certificate(pki.signer.cert.read_bytes()).serial_number
    after = make_crl(pki.intermediate, tmp_path, {serial: NOW + DAY}, NOW + DAY)
    before = make_crl(pki.intermediate, tmp_path, {serial: NOW - DAY}, NOW - DAY)
    at = NOW + 2 * DAY

    def judged(medium: Path, crl: Path) -> MediaVerification:
        policy = RevocationPolicy(RevocationMode.SOFT_FAIL, (crl.read_bytes(),))
        return judge_medium(_verify(medium, trust, at), policy, trust, at)

    kept = judged(stamped_medium, after)
    assert kept.verdict is Verdict.PASSED, kept.message
    assert "after the trusted timestamp" in kept.manifest.timestamp_note
    no_poe = judged(sample_medium, after)
    assert no_poe.verdict is Verdict.INDETERMINATE
    assert no_poe.manifest.reason is ManifestReason.REVOKED_NO_POE
    revoked = judged(stamped_medium, before)
    assert revoked.verdict is Verdict.FAILED
    assert revoked.manifest.reason is ManifestReason.REVOKED
    doc = media_document(revoked)["manifest"]
    assert (doc["etsi_indication"], doc["etsi_subindication"]) == ("TOTAL-FAILED", "REVOKED")


def test_media_verify_require_without_revocation_information(
    stamped_medium: Path, pki: TestPki
) -> None:
    import json

    from sigtest_support import run_cli_inprocess

    args = ("media", "verify", stamped_medium, "--trust", pki.root.cert, "--format", "json")
    plain = run_cli_inprocess(*args)
    assert plain.returncode == 0, plain.describe()
    run = run_cli_inprocess(*args, "--revocation", "require")
    assert run.returncode == 3, run.describe()
    manifest = json.loads(run.stdout)["manifest"]
    assert manifest["reason"] == "revocation-unknown"
    assert (manifest["etsi_indication"], manifest["etsi_subindication"]) == (
        "INDETERMINATE",
        "TRY_LATER",
    )


@pytest.fixture(scope="module")
def embedded_medium(
    openssl: str,
    pki: TestPki,
    tsa: Tsa,
    sample_src: Path,
    creds: SigningCredentials,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """A timestamped medium carrying DICOMSEA/VALDATA.P7 with both CAs' (empty) CRLs."""
    from test_revocation import DAY, NOW, make_crl

    folder = tmp_path_factory.mktemp("embedded")
    crls = (
        make_crl(pki.intermediate, folder, {}, NOW - DAY).read_bytes(),
        make_crl(pki.root, folder, {}, NOW - DAY).read_bytes(),
    )
    out = folder / "medium"
    with http_tsa(openssl, pki, tsa) as url:
        make_medium([sample_src], out, creds, tsa_url=url, embed_validation=True, crls=crls)
    return out


def test_embedded_validation_data_verifies_offline(
    embedded_medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    import json

    from sigtest_support import run_cli_inprocess

    from dicomseal.media.valdata import VALDATA_PATH, read_validation_data

    bag = read_validation_data((embedded_medium / VALDATA_PATH).read_bytes())
    assert len(bag.crls) == 2 and bag.certificates
    # the TSA is not running any more: only the medium and the trust store are used
    args = ("--trust", pki.root.cert, "--revocation", "require", "--format", "json")
    run = run_cli_inprocess("media", "verify", embedded_medium, *args)
    assert run.returncode == 0, run.describe()
    assert json.loads(run.stdout)["manifest"]["etsi_indication"] == "TOTAL-PASSED"
    copy = tmp_path / "medium"
    shutil.copytree(embedded_medium, copy)
    data = bytearray((copy / VALDATA_PATH).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / VALDATA_PATH).write_bytes(bytes(data))
    run = run_cli_inprocess("media", "verify", copy, *args)
    assert run.returncode == 1, run.describe()
    manifest = json.loads(run.stdout)["manifest"]
    assert manifest["reason"] == "files-differ"
    assert [c["path"] for c in manifest["changed"]] == [VALDATA_PATH]


def test_a_token_whose_certificates_are_not_in_der_order_is_put_in_order(
    stamped_medium: Path, trust: TrustContext
) -> None:
    """OpenSSL's ``ts -reply -chain`` writes the token's SET OF certificates in the order
    it was given, which is DER (X.690 §11.6) only when the shorter certificate comes
    first; ``media create --tsa-url`` then failed with an internal error. That set is not
    signed by the TSA (RFC 5652 §5.1): the token is put in DER order and still verifies."""
    from asn1crypto import cms

    from dicomseal.media.cms_der import require_der
    from dicomseal.media.cms_timestamp import _der_token, _tokens

    _value, (token,) = _tokens((stamped_medium / SIGNATURE_PATH).read_bytes())
    first, second = (c.dump() for c in cms.ContentInfo.load(token)["content"]["certificates"])
    at = token.index(first)
    assert token[at + len(first) : at + len(first) + len(second)] == second
    swapped = token[:at] + second + first + token[at + len(first) + len(second) :]
    with pytest.raises(ValueError, match="not DER"):  # what verification would say
        require_der((stamped_medium / SIGNATURE_PATH).read_bytes().replace(token, swapped))
    assert _der_token(swapped).dump() == token
    with open_media(stamped_medium) as source:
        assert verify_media(source, trust).verdict is Verdict.PASSED
