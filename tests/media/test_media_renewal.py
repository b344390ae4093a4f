"""Renewal evidence (``media renew`` / ``media verify --evidence``): archive timestamps.

The TSAs are the real ``openssl ts -reply`` behind loopback HTTP servers. The medium carries
a CAdES-T timestamp from a TSA whose certificate expires in a year; the test PKI (signer,
intermediate, root) expires in ten. At a validation date after all of them expired the
medium is INDETERMINATE without evidence, and PASSED with an archive timestamp made while
the first TSA was valid, from a TSA that is still valid then; a chain of two renewals
(the first by the short-lived TSA) verifies, one renewal by the short-lived TSA alone does
not. A flipped byte in the evidence, or another medium's evidence, is FAILED naming it.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from media_support import make_medium

from dicomseal.signature import SigningCredentials
from dicomseal.verdict import Verdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))
from sigtest_support import CliRun, run_cli_inprocess
from tsa_support import TSA_CONFIG, Tsa, http_tsa, make_tsa, reply

if TYPE_CHECKING:
    from pki import TestPki

#: After the test PKI (10 years) and the first TSA (1 year) expired; the archive TSA not.
AT = "2045-01-01T00:00:00Z"
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def openssl() -> str:
    from external_tools import require_tool

    return require_tool("openssl")


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def archive_tsa(tmp_path_factory: pytest.TempPathFactory) -> tuple[Tsa, Path]:
    """A TEST ONLY TSA under its own root, both valid for decades; (tsa, root PEM)."""
    folder = tmp_path_factory.mktemp("archive-tsa")
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST ONLY archive root")])
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=365 * 45))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TEST ONLY archive TSA")]))
        .issuer_name(root_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=365 * 40))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    tsa = Tsa(folder / "tsa.crt.pem", folder / "TEST_ONLY_archive_tsa.key.pem", folder / "tsa.cnf")
    tsa.cert.write_bytes(_pem(cert))
    tsa.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "serial").write_text("01\n")
    tsa.config.write_text(TSA_CONFIG.format(serial=folder / "serial"))
    root_path = folder / "archive-root.pem"
    root_path.write_bytes(_pem(root))
    return tsa, root_path


def _chain_of(root: Path) -> TestPki:
    """What :func:`tsa_support.reply` needs: the certificate passed as ``-chain``."""
    return SimpleNamespace(intermediate=SimpleNamespace(cert=root))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def short_tsa(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Tsa:
    """The test PKI's TSA: its certificate expires in a year."""
    return make_tsa(pki, tmp_path_factory.mktemp("short-tsa"))


@pytest.fixture(scope="module")
def stamped(
    openssl: str,
    pki: TestPki,
    short_tsa: Tsa,
    sample_src: Path,
    creds: SigningCredentials,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    out = tmp_path_factory.mktemp("renew-stamped") / "medium"
    with http_tsa(openssl, pki, short_tsa) as url:
        make_medium([sample_src], out, creds, label="Renewed CD", tsa_url=url)
    return out


def _trust(pki: TestPki, archive_root: Path) -> tuple[str, ...]:
    return ("--trust", str(pki.root.cert), "--trust", str(archive_root))


def _renew(
    openssl: str, pki: TestPki, tsa: Tsa, chain: Path, medium: Path, out: Path, *extra: str
) -> CliRun:
    with http_tsa(openssl, _chain_of(chain), tsa) as url:
        return run_cli_inprocess("media", "renew", medium, "--tsa-url", url, "--out", out, *extra)


def _verify(medium: Path, trust: tuple[str, ...], *extra: str | Path) -> tuple[CliRun, dict]:  # type: ignore[type-arg]
    run = run_cli_inprocess(
        "media", "verify", medium, *trust, "--at", AT, "--workers", "1", "--format", "json", *extra
    )
    return run, json.loads(run.stdout) if run.stdout.strip().startswith("{") else {}


@pytest.fixture(scope="module")
def evidence(
    openssl: str,
    pki: TestPki,
    archive_tsa: tuple[Tsa, Path],
    stamped: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    tsa, root = archive_tsa
    out = tmp_path_factory.mktemp("evidence") / "PATIENT.ers"
    run = _renew(openssl, pki, tsa, root, stamped, out, *_trust(pki, root))
    assert run.returncode == 0, run.describe()
    return out


def test_without_evidence_the_expired_tsa_makes_it_indeterminate(
    stamped: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path]
) -> None:
    run, doc = _verify(stamped, _trust(pki, archive_tsa[1]))
    assert run.returncode == 3, run.describe()
    manifest = doc["manifest"]
    assert (manifest["etsi_indication"], manifest["etsi_subindication"]) == (
        "INDETERMINATE",
        "OUT_OF_BOUNDS_NO_POE",
    )
    assert manifest["best_signature_time"] is None
    assert "TSA" in manifest["message"]
    # while the first TSA is valid, the timestamp alone still carries the medium
    now = run_cli_inprocess("media", "verify", stamped, *_trust(pki, archive_tsa[1]))
    assert now.returncode == 0, now.describe()


def test_renewal_keeps_the_medium_passed_after_the_tsa_expired(
    stamped: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path], evidence: Path
) -> None:
    run, doc = _verify(stamped, _trust(pki, archive_tsa[1]), "--evidence", evidence)
    assert run.returncode == 0, run.describe()
    manifest = doc["manifest"]
    assert manifest["etsi_indication"] == "TOTAL-PASSED"
    assert manifest["best_signature_time"] == manifest["timestamp"] is not None
    [entry] = doc["evidence"]
    assert entry["verdict"] == "PASSED"
    [stamp] = entry["archive_timestamps"]
    assert stamp["tsa"] == "TEST ONLY archive TSA"
    assert "DICOMSEA/MANIFEST.P7S" in stamp["covers"]
    assert manifest["best_signature_time"] <= stamp["time"]
    text = run_cli_inprocess(
        "media", "verify", stamped, *_trust(pki, archive_tsa[1]), "--at", AT, "--evidence", evidence
    )
    assert text.returncode == 0, text.describe()
    assert "renewal evidence" in text.stdout and "archive TSA" in text.stdout


def test_a_chain_of_two_renewals_verifies(
    openssl: str,
    stamped: Path,
    pki: TestPki,
    short_tsa: Tsa,
    archive_tsa: tuple[Tsa, Path],
    tmp_path: Path,
) -> None:
    tsa, root = archive_tsa
    trust = _trust(pki, root)
    first = tmp_path / "2026.ers"
    run = _renew(openssl, pki, short_tsa, pki.intermediate.cert, stamped, first, *trust)
    assert run.returncode == 0, run.describe()
    # one renewal by the short-lived TSA alone expires with it
    alone, _doc = _verify(stamped, trust, "--evidence", first)
    assert alone.returncode == 3, alone.describe()
    second = tmp_path / "2027.ers"
    run = _renew(openssl, pki, tsa, root, stamped, second, *trust, "--evidence", first)
    assert run.returncode == 0, run.describe()
    chained, doc = _verify(stamped, trust, "--evidence", second)
    assert chained.returncode == 0, chained.describe()
    stamps = doc["evidence"][0]["archive_timestamps"]
    assert [s["tsa"] for s in stamps] == ["dicomseal TEST ONLY TSA", "TEST ONLY archive TSA"]
    assert "1 earlier archive timestamp" in stamps[1]["covers"]


def test_flipped_byte_in_the_evidence_is_failed_naming_it(
    stamped: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path], evidence: Path, tmp_path: Path
) -> None:
    data = evidence.read_bytes()
    for at in (len(data) // 4, len(data) // 2, len(data) - 20):
        bad = tmp_path / f"flipped-{at}.ers"
        flipped = bytearray(data)
        flipped[at] ^= 0x01
        bad.write_bytes(bytes(flipped))
        run, doc = _verify(stamped, _trust(pki, archive_tsa[1]), "--evidence", bad)
        assert run.returncode == 1, (at, run.describe())
        assert bad.name in doc["medium"]["message"]
        assert doc["manifest"]["etsi_indication"] == "TOTAL-FAILED"


def test_another_mediums_evidence_is_failed(
    openssl: str,
    sample_medium: Path,
    stamped: Path,
    pki: TestPki,
    archive_tsa: tuple[Tsa, Path],
    tmp_path: Path,
) -> None:
    tsa, root = archive_tsa
    other = tmp_path / "other.ers"
    run = _renew(openssl, pki, tsa, root, sample_medium, other, *_trust(pki, root))
    assert run.returncode == 0, run.describe()
    run, doc = _verify(stamped, _trust(pki, root), "--evidence", other)
    assert run.returncode == 1, run.describe()
    assert "does not belong to this medium" in doc["medium"]["message"]
    # and it never turns a FAILED medium PASSED: its own medium, one file changed
    copy = tmp_path / "medium"
    shutil.copytree(sample_medium, copy)
    (copy / "README.TXT").write_text("changed\n")
    run, _doc = _verify(copy, _trust(pki, root), "--evidence", other)
    assert run.returncode == 1, run.describe()


def test_renew_refuses_a_failed_medium(
    openssl: str, stamped: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path], tmp_path: Path
) -> None:
    tsa, root = archive_tsa
    copy = tmp_path / "medium"
    shutil.copytree(stamped, copy)
    (copy / "README.TXT").write_text("changed\n")
    out = tmp_path / "x.ers"
    run = _renew(openssl, pki, tsa, root, copy, out, *_trust(pki, root))
    assert run.returncode == 1, run.describe()
    assert "cannot renew" in run.stderr
    assert not out.exists()


def test_offline_renewal_with_tsq_and_tsr(
    openssl: str, stamped: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path], tmp_path: Path
) -> None:
    tsa, root = archive_tsa
    trust = _trust(pki, root)
    tsq, tsr, out = tmp_path / "r.tsq", tmp_path / "r.tsr", tmp_path / "r.ers"
    run = run_cli_inprocess("media", "renew", stamped, *trust, "--tsq", tsq, "--out", out)
    assert run.returncode == 0, run.describe()
    assert not out.exists()
    tsr.write_bytes(reply(openssl, _chain_of(root), tsa, tsq.read_bytes()))
    run = run_cli_inprocess(
        "media",
        "renew",
        stamped,
        *trust,
        "--tsq",
        tsq,
        "--tsr",
        tsr,
        "--out",
        out,
        "--format",
        "json",
    )
    assert run.returncode == 0, run.describe()
    assert json.loads(run.stdout)["schema"] == "dicomseal.renew/1"
    verified, _doc = _verify(stamped, trust, "--evidence", out)
    assert verified.returncode == 0, verified.describe()


def test_evidence_is_the_proof_of_existence_of_a_medium_without_timestamp(
    openssl: str, sample_medium: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path], tmp_path: Path
) -> None:
    tsa, root = archive_tsa
    trust = _trust(pki, root)
    out = tmp_path / "plain.ers"
    run = _renew(openssl, pki, tsa, root, sample_medium, out, *trust)
    assert run.returncode == 0, run.describe()
    without, _doc = _verify(sample_medium, trust)
    assert without.returncode == 3, without.describe()
    run, doc = _verify(sample_medium, trust, "--evidence", out)
    assert run.returncode == 0, run.describe()
    proven = doc["evidence"][0]["proven_at"]
    assert doc["manifest"]["best_signature_time"] == proven is not None
    assert doc["medium"]["validated_at"].startswith("2045-01-01")


def test_import_judges_the_expired_tsa_like_media_verify(
    stamped: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path]
) -> None:
    """`import` (pacs) shows what `media verify` shows: no instance PASSED on the strength
    of a manifest timestamp whose TSA certificate has expired without renewal evidence."""
    from dicomseal.media.source import open_media
    from dicomseal.media.verify import verify_media
    from dicomseal.pacs.verification import MediaVerdicts
    from dicomseal.signature import TrustContext

    trust = TrustContext.load([pki.root.cert, archive_tsa[1]])
    at = dt.datetime.fromisoformat(AT)
    with open_media(stamped) as source:
        alone = verify_media(source, trust, at=at)  # without the TSA rule: PASSED
        paths = list(alone.instances)
        instances = [SimpleNamespace(path=p) for p in paths]
        verdicts = MediaVerdicts(trust, at).verify(source, instances)  # type: ignore[arg-type]
    assert alone.verdict is Verdict.PASSED  # the control: what import showed before
    assert verdicts.verdict is Verdict.INDETERMINATE
    assert verdicts.instances
    assert all(v.verdict is not Verdict.PASSED for v in verdicts.instances.values())


def test_view_judges_the_expired_tsa_like_media_verify(
    stamped: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path]
) -> None:
    """The viewer never shows PASSED where `media verify` says INDETERMINATE."""
    from dicomseal.media.source import open_media
    from dicomseal.viewer.assess import assess_medium

    at = dt.datetime.fromisoformat(AT)
    with open_media(stamped) as source:
        shown = assess_medium(source, [pki.root.cert, archive_tsa[1]], at=at)
    assert shown.verdict is Verdict.INDETERMINATE


def test_an_altered_medium_vouches_for_no_file_once_the_tsa_expired(
    stamped: Path, pki: TestPki, archive_tsa: tuple[Tsa, Path], tmp_path: Path
) -> None:
    """Altering one file of a medium whose signer and timestamp TSA have both expired must
    not make its unchanged instances PASSED: intact, they are INDETERMINATE (no proof of
    existence), so an alteration elsewhere cannot turn them green."""
    copy = tmp_path / "medium"
    shutil.copytree(stamped, copy)
    intact, intact_doc = _verify(stamped, _trust(pki, archive_tsa[1]))
    assert intact.returncode == 3, intact.describe()
    (copy / "README.TXT").write_text("altered\n")
    run, doc = _verify(copy, _trust(pki, archive_tsa[1]))
    assert run.returncode == 1, run.describe()
    assert doc["manifest"]["reason"] == "files-differ"
    shown = {i["path"]: i["verdict"] for i in doc["medium"]["instances"]}
    before = {i["path"]: i["verdict"] for i in intact_doc["medium"]["instances"]}
    assert shown and set(shown) == set(before)
    assert "PASSED" not in shown.values(), shown
    assert "PASSED" not in before.values(), before
