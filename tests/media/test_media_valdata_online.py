"""OCSP responses in ``DICOMSEA/VALDATA.P7`` (RFC 5940 ``other`` entries), and ``--offline``.

``media create --embed-validation`` asks the CRL server and the real ``openssl ocsp``
responder that the creator's certificates name (loopback), stores what they answer, and
``media verify --offline --revocation require`` passes on that alone after both are stopped,
with every socket connect of the process refused. The signer's own status is known only by
OCSP (its CA's CRL is not served), so the pass proves the embedded OCSP response is read back.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "signature"))
from online_support import (
    OnlinePki,
    crl_server,
    make_online_pki,
    no_network,
    ocsp_responder,
    root_crl,
)
from sigtest_support import CliRun, run_cli_inprocess

from dicomseal.media.valdata import VALDATA_PATH, read_validation_data

if TYPE_CHECKING:
    from pki import TestPki


@pytest.fixture(scope="module")
def openssl() -> str:
    from external_tools import require_tool

    return require_tool("openssl")


@pytest.fixture(scope="module")
def online(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> OnlinePki:
    return make_online_pki(pki, tmp_path_factory.mktemp("online"), ("creator",))


def _create(online: OnlinePki, sample_src: Path, out: Path, *extra: str | Path) -> CliRun:
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
        *extra,
    )


def _verify_offline(online: OnlinePki, medium: Path) -> tuple[CliRun, list[object]]:
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
        )
    return run, attempts


@pytest.fixture(scope="module")
def embedded(
    openssl: str, online: OnlinePki, sample_src: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A medium made while the CRL server (root CRL only) and the OCSP responder were up."""
    out = tmp_path_factory.mktemp("embedded") / "medium"
    online.served.clear()
    online.served["root.crl"] = root_crl(online)
    with crl_server(online), ocsp_responder(openssl, online, {}):
        run = _create(online, sample_src, out)
    assert run.returncode == 0, run.describe()
    assert "ca.crl" in run.stderr  # not served: said once, not fatal
    return out


def test_ocsp_response_stored_as_rfc5940_other_entry(
    openssl: str, online: OnlinePki, embedded: Path, tmp_path: Path
) -> None:
    data = (embedded / VALDATA_PATH).read_bytes()
    bag = read_validation_data(data)
    assert len(bag.ocsps) == 1 and len(bag.crls) == 1, bag
    printed = subprocess.run(
        [openssl, "cms", "-cmsout", "-print", "-inform", "DER"],
        input=data,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    assert "id-ri-ocsp-response" in printed or "1.3.6.1.5.5.7.16.2" in printed, printed
    response = tmp_path / "resp.der"
    response.write_bytes(bag.ocsps[0])
    check = subprocess.run(
        [
            openssl,
            "ocsp",
            "-respin",
            str(response),
            "-CAfile",
            str(online.root.cert),
            "-verify_other",
            str(online.ca.cert_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "Response verify OK" in check.stdout + check.stderr, check


def test_offline_verify_uses_only_the_medium(
    online: OnlinePki, embedded: Path, sample_src: Path, tmp_path: Path
) -> None:
    run, attempts = _verify_offline(online, embedded)
    assert attempts == [], attempts
    assert run.returncode == 0, run.describe()
    assert json.loads(run.stdout)["manifest"]["etsi_indication"] == "TOTAL-PASSED"
    # the same medium made offline holds no OCSP response: never PASSED under require
    bare = tmp_path / "bare"
    made = _create(online, sample_src, bare, "--offline", "--crl", _root_crl_file(online, tmp_path))
    assert made.returncode == 0, made.describe()
    run, attempts = _verify_offline(online, bare)
    assert attempts == [] and run.returncode == 3, run.describe()
    assert json.loads(run.stdout)["manifest"]["etsi_subindication"] == "TRY_LATER"


def test_ocsp_given_as_a_file_is_embedded(
    online: OnlinePki, embedded: Path, sample_src: Path, tmp_path: Path
) -> None:
    response = tmp_path / "creator.ocsp"
    response.write_bytes(read_validation_data((embedded / VALDATA_PATH).read_bytes()).ocsps[0])
    out = tmp_path / "given"
    crl = _root_crl_file(online, tmp_path)
    made = _create(online, sample_src, out, "--offline", "--crl", crl, "--ocsp", response)
    assert made.returncode == 0, made.describe()
    run, attempts = _verify_offline(online, out)
    assert attempts == [] and run.returncode == 0, run.describe()


def test_flipped_byte_in_the_embedded_ocsp_is_failed(
    online: OnlinePki, embedded: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "medium"
    shutil.copytree(embedded, copy)
    data = bytearray((copy / VALDATA_PATH).read_bytes())
    ocsp = read_validation_data(bytes(data)).ocsps[0]
    at = bytes(data).index(ocsp) + len(ocsp) - 40  # inside the responder's signature
    data[at] ^= 0x01
    (copy / VALDATA_PATH).write_bytes(bytes(data))
    run, _ = _verify_offline(online, copy)
    assert run.returncode == 1, run.describe()
    manifest = json.loads(run.stdout)["manifest"]
    assert manifest["reason"] == "files-differ"
    assert [c["path"] for c in manifest["changed"]] == [VALDATA_PATH]


def _root_crl_file(online: OnlinePki, folder: Path) -> Path:
    path = folder / "root.crl"
    path.write_bytes(root_crl(online))
    return path


def test_unknown_revocation_format_is_malformed(embedded: Path) -> None:
    """Only CRLs and OCSP responses are read: anything else in the bag is refused, not skipped."""
    from asn1crypto import cms, core

    from dicomseal.errors import MediaError

    info = cms.ContentInfo.load((embedded / VALDATA_PATH).read_bytes())
    signed = info["content"]
    other = cms.OtherRevocationInfoFormat(
        {"other_rev_info_format": "1.2.3.4", "other_rev_info": core.Null()}
    )
    signed["crls"] = [*signed["crls"], cms.RevocationInfoChoice({"other": other})]
    with pytest.raises(MediaError, match=r"unknown revocation format 1\.2\.3\.4"):
        read_validation_data(bytes(info.dump(force=True)))


def test_an_embedded_good_ocsp_response_never_hides_a_newer_revocation(
    online: OnlinePki, embedded: Path, tmp_path: Path
) -> None:
    """The creator's key is revoked after the medium was made (no timestamp on it). The
    "good" OCSP response embedded at creation must not outweigh the CA's newer CRL that
    the receiver gives: pyhanko-certvalidator stops at a good OCSP answer, so a forger
    holding a leaked key and an old response would otherwise get PASSED."""
    from online_support import crl

    revoked = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    serial = online.signers["creator"].cert.serial_number
    ca = tmp_path / "ca.crl"
    ca.write_bytes(crl((online.ca.cert, online.ca.key), {serial: revoked}, this_update=revoked))
    at = (revoked + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    common = ("--trust", online.root.cert, "--revocation", "require", "--offline", "--at", at)
    args = ("media", "verify", embedded, *common, "--format", "json")
    run = run_cli_inprocess(*args, "--crl", ca, "--crl", _root_crl_file(online, tmp_path))
    assert run.returncode == 3, run.describe()
    manifest = json.loads(run.stdout)["manifest"]
    assert manifest["etsi_subindication"] == "REVOKED_NO_POE", manifest
    # the control: without the newer CRL the embedded response alone is still PASSED then
    alone = run_cli_inprocess(*args)
    assert alone.returncode == 0, alone.describe()
