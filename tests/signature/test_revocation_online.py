"""Revocation fetched online: the CRL distribution point and the OCSP responder a certificate names.

All on loopback: a CRL served by a local ``http.server``, the real ``openssl ocsp`` as
responder, a signer timestamped by the real ``openssl ts -reply``. Cases: revoked after vs
before the timestamp (CRL and OCSP), responder and CRL server stopped (soft-fail note,
hard-fail and require INDETERMINATE), one fetch per URL per run, ``--offline`` never
connects, non-http URLs and oversized answers are refused.
"""

from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from online_support import (
    DAY,
    NOW,
    OnlinePki,
    ca_crl,
    crl_server,
    issue,
    make_online_pki,
    no_network,
    ocsp_responder,
    root_crl,
)
from sigtest_support import CliRun, run_cli_inprocess, verify_json
from tsa_support import Tsa, http_tsa, make_tsa

from dicomseal.signature.online import RevinfoFetcher, crl_urls, ocsp_urls

if TYPE_CHECKING:
    from pki import TestPki

LATER = (NOW + 2 * DAY).isoformat()


@pytest.fixture(scope="module")
def openssl() -> str:
    from external_tools import require_tool

    return require_tool("openssl")


@pytest.fixture(scope="module")
def online(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> OnlinePki:
    return make_online_pki(pki, tmp_path_factory.mktemp("online"), ("alice", "bob"))


@pytest.fixture(scope="module")
def stamped(
    openssl: str,
    pki: TestPki,
    online: OnlinePki,
    signing_inputs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    """alice's signature, with and without a certified timestamp."""
    folder = tmp_path_factory.mktemp("stamped")
    tsa: Tsa = make_tsa(pki, folder)
    out = {"stamped": folder / "stamped.dcm", "bare": folder / "bare.dcm"}
    key = ("--key", online.signers["alice"].key_path, "--cert", online.bundle("alice"))
    with http_tsa(openssl, pki, tsa) as url:
        run = run_cli_inprocess(
            "sign", signing_inputs["native"], out["stamped"], *key, "--tsa-url", url
        )
    assert run.returncode == 0, run.describe()
    run = run_cli_inprocess("sign", signing_inputs["native"], out["bare"], *key)
    assert run.returncode == 0, run.describe()
    return out


def _verify(online: OnlinePki, target: Path, *extra: str) -> CliRun:
    return verify_json(target, [online.root.cert], [online.ca.cert_path], *extra)


def _sig(run: CliRun) -> dict[str, Any]:
    sig: dict[str, Any] = run.json()["files"][0]["signatures"][0]
    return sig


def test_crl_from_the_distribution_point(online: OnlinePki, stamped: dict[str, Path]) -> None:
    online.served.clear()
    online.served["root.crl"] = root_crl(online)
    online.served["ca.crl"] = ca_crl(online, {"alice": NOW + DAY})  # after the timestamp
    with crl_server(online):
        after = _verify(online, stamped["stamped"], "--revocation", "require", "--at", LATER)
        bare = _verify(online, stamped["bare"], "--revocation", "require", "--at", LATER)
        online.served["ca.crl"] = ca_crl(online, {"alice": NOW - DAY})  # before it
        before = _verify(online, stamped["stamped"], "--revocation", "require")
    assert after.returncode == 0, _sig(after).get("message")
    assert any(w["code"] == "revoked-after-timestamp" for w in _sig(after)["warnings"])
    assert bare.returncode == 3, bare.describe()
    assert _sig(bare)["etsi_subindication"] == "REVOKED_NO_POE"
    assert before.returncode == 1, before.describe()
    assert (_sig(before)["etsi_indication"], _sig(before)["etsi_subindication"]) == (
        "TOTAL-FAILED",
        "REVOKED",
    )


def test_ocsp_from_the_aia_responder(
    openssl: str, online: OnlinePki, stamped: dict[str, Path]
) -> None:
    online.served.clear()
    online.served["root.crl"] = root_crl(online)  # the CA's own status; alice's only by OCSP
    # a responder tells of revocations that happened: revoked a moment after the timestamp
    time.sleep(1.1)
    just_now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with crl_server(online):
        with ocsp_responder(openssl, online, {"alice": just_now}):
            after = _verify(online, stamped["stamped"], "--revocation", "require")
            bare = _verify(online, stamped["bare"], "--revocation", "require")
        with ocsp_responder(openssl, online, {"alice": NOW - DAY}):
            before = _verify(online, stamped["stamped"], "--revocation", "require")
        with ocsp_responder(openssl, online, {}):
            good = _verify(online, stamped["stamped"], "--revocation", "require")
    assert good.returncode == 0, _sig(good).get("message")
    assert after.returncode == 0, _sig(after).get("message")
    assert any(w["code"] == "revoked-after-timestamp" for w in _sig(after)["warnings"])
    assert bare.returncode == 3, _sig(bare).get("message")
    assert _sig(bare)["etsi_subindication"] == "REVOKED_NO_POE"
    assert before.returncode == 1, _sig(before).get("message")
    assert _sig(before)["etsi_subindication"] == "REVOKED"


def test_sources_stopped_soft_fail_note_hard_fail_indeterminate(
    online: OnlinePki, stamped: dict[str, Path]
) -> None:
    # neither the CRL server nor the responder is running: connections are refused
    soft = _verify(online, stamped["stamped"], "--revocation", "soft-fail")
    assert soft.returncode == 0, soft.describe()
    notes = [w for w in _sig(soft)["warnings"] if w["code"] == "revocation-unavailable"]
    assert notes and "127.0.0.1" in notes[0]["message"], _sig(soft)
    for mode in ("hard-fail", "require"):
        run = _verify(online, stamped["stamped"], "--revocation", mode)
        assert run.returncode == 3, (mode, run.describe())
        sig = _sig(run)
        assert (sig["etsi_indication"], sig["etsi_subindication"]) == (
            "INDETERMINATE",
            "TRY_LATER",
        ), mode
    # without --revocation nothing is asked: the default never touches the network
    with no_network() as attempts:
        plain = _verify(online, stamped["stamped"])
    assert plain.returncode == 0, plain.describe()
    assert attempts == []


def test_one_fetch_per_url_per_run(
    online: OnlinePki, stamped: dict[str, Path], tmp_path: Path
) -> None:
    for n in range(3):
        shutil.copy(stamped["stamped"], tmp_path / f"copy{n}.dcm")
    online.served.clear()
    online.served["root.crl"] = root_crl(online)
    online.served["ca.crl"] = ca_crl(online, {"alice": NOW + DAY})
    online.hits.clear()
    with crl_server(online):
        run = verify_json(
            tmp_path,
            [online.root.cert],
            [online.ca.cert_path],
            "--revocation",
            "require",
            "--at",
            LATER,
        )
    assert run.returncode == 0, run.describe()
    # three files, two validation times (timestamp and now): still one request per CRL
    assert online.hits == {"/ca.crl": 1, "/root.crl": 1}, online.hits


def test_offline_never_connects(online: OnlinePki, stamped: dict[str, Path]) -> None:
    online.served.clear()
    online.served["root.crl"] = root_crl(online)
    online.served["ca.crl"] = ca_crl(online, {})
    online.hits.clear()
    with crl_server(online), no_network() as attempts:
        run = _verify(online, stamped["stamped"], "--revocation", "require", "--offline")
    assert attempts == [] and not online.hits
    assert run.returncode == 3, run.describe()  # nothing given, nothing fetched: never PASSED
    assert _sig(run)["etsi_subindication"] == "TRY_LATER"


def test_non_http_urls_and_oversized_answers_are_refused(online: OnlinePki, tmp_path: Path) -> None:
    alice = online.signers["alice"]
    assert crl_urls(alice.cert) == [f"http://127.0.0.1:{online.crl_port}/ca.crl"]
    assert ocsp_urls(alice.cert) == [f"http://127.0.0.1:{online.ocsp_port}"]
    hostile = issue(
        tmp_path,
        "hostile",
        (online.ca.cert, online.ca.key),
        ca=False,
        crl_url="ldap://127.0.0.1/cn=ca?certificateRevocationList",
        ocsp_url="file:///etc/passwd",
    )
    assert crl_urls(hostile.cert) == [] and ocsp_urls(hostile.cert) == []
    online.served.clear()
    online.served["ca.crl"] = ca_crl(online, {})
    with crl_server(online):
        small = RevinfoFetcher(max_bytes=64).for_certificate(alice.cert, online.ca.cert)
        fine = RevinfoFetcher().for_certificate(alice.cert, online.ca.cert)
    assert not small.crls and any("larger than" in f for f in small.failures), small
    assert len(fine.crls) == 1
    # the standard library alone would follow ftp://
    with crl_server(online, redirect="ftp://127.0.0.1/ca.crl"):
        redirected = RevinfoFetcher().for_certificate(alice.cert, online.ca.cert)
    assert not redirected.crls
    assert any("non-http" in f for f in redirected.failures), redirected.failures
