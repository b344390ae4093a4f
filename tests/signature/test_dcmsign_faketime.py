"""DCMTK ``dcmsign --verify`` at future dates (Debian ``faketime``) beside ``verify --at``.

A signer valid for 60 days signs with a certified timestamp from a TSA valid for a year
(the real ``openssl ts -reply``). The same file is then judged at two later dates:

* after the signer expired, TSA still valid: both accept the timestamped file (dcmsign
  "extends validity period of expired signature"); without a timestamp both refuse it;
* after the TSA certificate expired too: dcmsign fails ("timestamp signature verification
  failed"), while dicomseal judges the TSA certificate as of the token's genTime and keeps
  the signature PASSED. This is the documented difference (docs/long-term.md); renewal
  evidence is what a stricter verifier needs beyond that date.

Each case records dcmsign's exit code and message beside ours, and asserts both.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from online_support import DAY, NOW, issue, load
from sigtest_support import run_cli_inprocess, verify_json
from tsa_support import Tsa, http_tsa, make_tsa

if TYPE_CHECKING:
    from pki import TestPki

SIGNER_DAYS = 60
SIGNER_EXPIRED = NOW + 120 * DAY  # the TSA certificate (365 days) still valid
TSA_EXPIRED = NOW + 500 * DAY  # the TSA certificate expired, CAs still valid


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    from external_tools import require_tool

    return {name: require_tool(name) for name in ("faketime", "dcmsign", "openssl")}


@pytest.fixture(scope="module")
def files(
    tools: dict[str, str],
    pki: TestPki,
    signing_inputs: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("faketime")
    signer = issue(
        folder,
        "short-lived",
        load(pki.intermediate),
        ca=False,
        crl_url="http://127.0.0.1:9/unused.crl",
        ocsp_url=None,
        days=SIGNER_DAYS,
    )
    tsa: Tsa = make_tsa(pki, folder)
    out = {"stamped": folder / "stamped.dcm", "bare": folder / "bare.dcm"}
    key = ("--key", signer.key_path, "--cert", signer.cert_path, "--chain", pki.intermediate.cert)
    with http_tsa(tools["openssl"], pki, tsa) as url:
        run = run_cli_inprocess(
            "sign", signing_inputs["native"], out["stamped"], *key, "--tsa-url", url
        )
    assert run.returncode == 0, run.describe()
    run = run_cli_inprocess("sign", signing_inputs["native"], out["bare"], *key)
    assert run.returncode == 0, run.describe()
    return out


def _dcmsign_at(
    tools: dict[str, str], pki: TestPki, path: Path, when: dt.datetime
) -> subprocess.CompletedProcess[str]:
    argv = [tools["faketime"], f"{when:%Y-%m-%d %H:%M:%S}", tools["dcmsign"], "--verify"]
    argv += ["+cf", str(pki.root.cert), "+uf", str(pki.intermediate.cert), str(path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def _ours_at(pki: TestPki, path: Path, when: dt.datetime) -> tuple[int, str]:
    run = verify_json(path, [pki.root.cert], [pki.intermediate.cert], "--at", when.isoformat())
    sig = run.json()["files"][0]["signatures"][0]
    return run.returncode, f"{sig['etsi_indication']}/{sig['etsi_subindication']}"


def test_faketime_moves_dcmsign_clock(tools: dict[str, str]) -> None:
    """The cross-check means something only if dcmsign's OpenSSL really sees the fake date."""
    out = subprocess.run(
        [tools["faketime"], "2031-05-06 07:08:09", "date", "-u", "+%Y"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "2031"


def test_after_signer_expiry_both_accept_the_timestamp(
    tools: dict[str, str], pki: TestPki, files: dict[str, Path]
) -> None:
    dcmsign = _dcmsign_at(tools, pki, files["stamped"], SIGNER_EXPIRED)
    ours = _ours_at(pki, files["stamped"], SIGNER_EXPIRED)
    record = (dcmsign.returncode, dcmsign.stderr + dcmsign.stdout, ours)
    assert dcmsign.returncode == 0, record
    assert "extends validity period" in record[1], record
    assert ours == (0, "TOTAL-PASSED/None"), record
    # without a timestamp both refuse: dcmsign fails, dicomseal has no proof of existence
    dcmsign = _dcmsign_at(tools, pki, files["bare"], SIGNER_EXPIRED)
    ours = _ours_at(pki, files["bare"], SIGNER_EXPIRED)
    record = (dcmsign.returncode, dcmsign.stderr + dcmsign.stdout, ours)
    assert dcmsign.returncode != 0 and "expired" in record[1], record
    assert ours == (3, "INDETERMINATE/OUT_OF_BOUNDS_NO_POE"), record


def test_after_tsa_expiry_dcmsign_fails_dicomseal_judges_at_gentime(
    tools: dict[str, str], pki: TestPki, files: dict[str, Path]
) -> None:
    dcmsign = _dcmsign_at(tools, pki, files["stamped"], TSA_EXPIRED)
    ours = _ours_at(pki, files["stamped"], TSA_EXPIRED)
    record = (dcmsign.returncode, dcmsign.stderr + dcmsign.stdout, ours)
    assert dcmsign.returncode != 0, record
    assert "timestamp" in record[1].lower(), record
    assert ours == (0, "TOTAL-PASSED/None"), record
