"""The timestamp authority's chain and revocation data in ``DICOMSEA/VALDATA.P7``.

A loopback PKI (``online_support``): the creator and a TEST ONLY TSA under an "online CA"
whose CRL (``/ca.crl``) and certificate (``/online-ca.crt``, the TSA's AIA caIssuers) a
local HTTP server serves; the creator's status also comes from the real ``openssl ocsp``;
the TSA is the real ``openssl ts -reply`` (its token carries the TSA certificate but not the
online CA: that one must be fetched from caIssuers). ``media create --embed-validation
--tsa-url`` stores the TSA's certificates and CRL; ``media verify --offline --revocation
require`` then judges the TSA from the medium alone (every socket connect refused): PASSED
when it is good, FAILED when it was revoked before the manifest's timestamp, never PASSED
without revocation data for it; a flipped byte in its certificate in VALDATA.P7 is FAILED.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))
from online_support import (
    DAY,
    NOW,
    Issued,
    OnlinePki,
    ca_crl,
    crl_server,
    make_online_pki,
    no_network,
    ocsp_responder,
    root_crl,
)
from sigtest_support import CliRun, run_cli_inprocess
from tsa_support import TSA_CONFIG, Tsa, http_tsa

from dicomseal.media.valdata import VALDATA_PATH, read_validation_data

if TYPE_CHECKING:
    from pki import TestPki


@pytest.fixture(scope="module")
def openssl() -> str:
    from external_tools import require_tool

    return require_tool("openssl")


def _tsa_certificate(online: OnlinePki) -> Issued:
    """A TSA certificate under the online CA: CRL at /ca.crl, issuer at /online-ca.crt."""
    base = f"http://127.0.0.1:{online.crl_port}"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST ONLY online TSA")]))
        .issuer_name(online.ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - 10 * DAY)
        .not_valid_after(NOW + 365 * DAY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(f"{base}/ca.crl")], None, None, None
                    )
                ]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(f"{base}/online-ca.crt"),
                    )
                ]
            ),
            critical=False,
        )
        .sign(online.ca.key, hashes.SHA256())
    )
    folder = online.folder
    issued = Issued(folder / "tsa.crt.pem", folder / "TEST_ONLY_tsa.key.pem", cert, key)
    issued.cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    issued.key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return issued


@pytest.fixture(scope="module")
def online(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> OnlinePki:
    online = make_online_pki(pki, tmp_path_factory.mktemp("online-tsa"), ("creator",))
    online.signers["tsa"] = _tsa_certificate(online)
    return online


@pytest.fixture(scope="module")
def tsa(online: OnlinePki) -> Tsa:
    (online.folder / "serial").write_text("01\n")
    config = online.folder / "tsa.cnf"
    config.write_text(TSA_CONFIG.format(serial=online.folder / "serial"))
    issued = online.signers["tsa"]
    return Tsa(issued.cert_path, issued.key_path, config)


@contextmanager
def _services(
    openssl: str, pki: TestPki, online: OnlinePki, tsa: Tsa, served: dict[str, bytes]
) -> Iterator[str]:
    """CRL/issuer server with ``served``, OCSP responder (all good) and the TSA; its URL."""
    online.served.clear()
    online.served.update(served)
    online.hits.clear()
    with (
        crl_server(online),
        ocsp_responder(openssl, online, {}),
        http_tsa(openssl, pki, tsa) as url,
    ):
        yield url


def _create(online: OnlinePki, sample_src: Path, out: Path, url: str) -> CliRun:
    creator = online.signers["creator"]
    return run_cli_inprocess(
        "media",
        "create",
        sample_src,
        "--out",
        out,
        "--key",
        creator.key_path,
        "--cert",
        online.bundle("creator"),
        "--embed-validation",
        "--tsa-url",
        url,
    )


def _verify_offline(
    online: OnlinePki, medium: Path, *extra: str | Path
) -> tuple[CliRun, dict[str, object]]:
    with no_network() as attempts:
        run = run_cli_inprocess(
            "media",
            "verify",
            medium,
            "--trust",
            online.root.cert,
            "--revocation",
            "require",
            "--offline",
            "--format",
            "json",
            *extra,
        )
    assert attempts == [], attempts
    return run, json.loads(run.stdout)["manifest"]


def _served(online: OnlinePki, revoked: dict[str, dt.datetime]) -> dict[str, bytes]:
    return {
        "root.crl": root_crl(online),
        "ca.crl": ca_crl(online, revoked),
        "online-ca.crt": online.ca.cert.public_bytes(serialization.Encoding.DER),
    }


def _der(issued: Issued) -> bytes:
    return issued.cert.public_bytes(serialization.Encoding.DER)


@pytest.fixture(scope="module")
def good_medium(
    openssl: str,
    pki: TestPki,
    online: OnlinePki,
    tsa: Tsa,
    sample_src: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    out = tmp_path_factory.mktemp("tsa-good") / "medium"
    with _services(openssl, pki, online, tsa, _served(online, {})) as url:
        run = _create(online, sample_src, out, url)
        assert online.hits["/online-ca.crt"] == 1, online.hits  # caIssuers, asked once
    assert run.returncode == 0, run.describe()
    return out


def test_tsa_chain_embedded_and_used_offline(good_medium: Path, online: OnlinePki) -> None:
    bag = read_validation_data((good_medium / VALDATA_PATH).read_bytes())
    assert _der(online.signers["tsa"]) in bag.certificates
    assert _der(online.ca) in bag.certificates
    assert ca_crl(online, {}) in bag.crls, bag
    run, manifest = _verify_offline(online, good_medium)
    assert run.returncode == 0, run.describe()
    assert manifest["etsi_indication"] == "TOTAL-PASSED"
    assert manifest["timestamp"], manifest


def test_tsa_without_revocation_data_is_never_passed_under_require(
    openssl: str,
    pki: TestPki,
    online: OnlinePki,
    tsa: Tsa,
    sample_src: Path,
    tmp_path: Path,
) -> None:
    """The CA's CRL is not served: the creator is covered by OCSP, the TSA by nothing."""
    served = _served(online, {})
    del served["ca.crl"]
    out = tmp_path / "medium"
    with _services(openssl, pki, online, tsa, served) as url:
        made = _create(online, sample_src, out, url)
    assert made.returncode == 0, made.describe()
    assert "ca.crl" in made.stderr  # said, not fatal
    run, manifest = _verify_offline(online, out)
    assert run.returncode == 3, run.describe()
    assert manifest["reason"] == "revocation-unknown", manifest
    assert "timestamp authority" in str(manifest["message"])


def test_tsa_revoked_before_the_token_is_failed(
    openssl: str,
    pki: TestPki,
    online: OnlinePki,
    tsa: Tsa,
    sample_src: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "medium"
    with _services(openssl, pki, online, tsa, _served(online, {"tsa": NOW - DAY})) as url:
        made = _create(online, sample_src, out, url)
    assert made.returncode == 0, made.describe()
    run, manifest = _verify_offline(online, out)
    assert run.returncode == 1, run.describe()
    assert manifest["reason"] == "certificate-revoked", manifest
    assert (manifest["etsi_indication"], manifest["etsi_subindication"]) == (
        "TOTAL-FAILED",
        "REVOKED",
    )
    assert "timestamp authority" in str(manifest["message"])


def test_flipped_byte_in_the_tsa_certificate_is_failed(
    good_medium: Path, online: OnlinePki, tmp_path: Path
) -> None:
    copy = tmp_path / "medium"
    shutil.copytree(good_medium, copy)
    data = bytearray((copy / VALDATA_PATH).read_bytes())
    tsa_der = _der(online.signers["tsa"])
    at = bytes(data).index(tsa_der) + len(tsa_der) - 40  # inside the CA's signature
    data[at] ^= 0x01
    (copy / VALDATA_PATH).write_bytes(bytes(data))
    run, manifest = _verify_offline(online, copy)
    assert run.returncode == 1, run.describe()
    assert manifest["reason"] == "files-differ"
    assert [c["path"] for c in manifest["changed"]] == [VALDATA_PATH]  # type: ignore[attr-defined]


def _later_crl(online: OnlinePki, folder: Path, reason: x509.ReasonFlags) -> Path:
    """The online CA's CRL of tomorrow: the TSA revoked tomorrow for ``reason``."""
    revoked = (
        x509.RevokedCertificateBuilder()
        .serial_number(online.signers["tsa"].cert.serial_number)
        .revocation_date(NOW + DAY)
        .add_extension(x509.CRLReason(reason), critical=False)
        .build()
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(online.ca.cert.subject)
        .last_update(NOW + DAY)
        .next_update(NOW + 30 * DAY)
        .add_extension(x509.CRLNumber(2), critical=False)
        .add_revoked_certificate(revoked)
        .sign(online.ca.key, hashes.SHA256())
    )
    path = folder / f"ca-{reason.name}.crl"
    path.write_bytes(crl.public_bytes(serialization.Encoding.DER))
    return path


def test_tsa_revoked_after_the_token(good_medium: Path, online: OnlinePki, tmp_path: Path) -> None:
    """RFC 3161 §4: a compromised TSA key spoils its earlier tokens, a retired one does not."""
    at = (NOW + 2 * DAY).isoformat()
    crl = _later_crl(online, tmp_path, x509.ReasonFlags.key_compromise)
    run, manifest = _verify_offline(online, good_medium, "--crl", crl, "--at", at)
    assert run.returncode == 3, run.describe()
    assert manifest["reason"] == "certificate-revoked-no-poe", manifest
    assert "timestamp authority" in str(manifest["message"])
    crl = _later_crl(online, tmp_path, x509.ReasonFlags.cessation_of_operation)
    run, manifest = _verify_offline(online, good_medium, "--crl", crl, "--at", at)
    assert run.returncode == 0, run.describe()
    assert "timestamp authority" in str(manifest["timestamp_note"]), manifest


def test_a_tsa_certificate_missing_from_valdata_is_said(
    openssl: str,
    pki: TestPki,
    online: OnlinePki,
    tsa: Tsa,
    sample_src: Path,
    tmp_path: Path,
) -> None:
    """Made without learning the TSA first (library call): the creator is told, in a note."""
    from media_support import make_medium

    from dicomseal.signature import SigningCredentials

    creator = online.signers["creator"]
    creds = SigningCredentials.load(creator.key_path, online.bundle("creator"))
    with _services(openssl, pki, online, tsa, _served(online, {})) as url:
        made = make_medium([sample_src], tmp_path / "m", creds, tsa_url=url, embed_validation=True)
        told = make_medium(
            [sample_src],
            tmp_path / "n",
            creds,
            tsa_url=url,
            embed_validation=True,
            certificates=(_der(online.signers["tsa"]), _der(online.ca)),
        )
    assert any("not in DICOMSEA/VALDATA.P7" in n for n in made.notes), made.notes
    assert not any("VALDATA" in n for n in told.notes), told.notes
