"""``dicomseal sign --tsa-url`` and the offline ``--tsq``/``--tsr`` flow, judged by dcmsign.

The TSA is the real ``openssl ts -reply`` (behind a loopback HTTP server for the online
flow); the stamped file must pass ``dcmsign --verify`` with its timestamp check
("Timestamp Verification : OK") and dicomseal's own verification, also after the signer
certificate expired.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from sigtest_support import dcmsign_verify, run_cli_inprocess, verify_json
from tsa_support import Tsa, http_tsa, make_tsa, reply

from dicomseal.signature import SignatureReason, TrustContext, verify_file
from dicomseal.verdict import Verdict

if TYPE_CHECKING:
    from pki import TestPki

pytestmark = pytest.mark.dcmtk

#: After the test signer's notAfter, while the token was issued inside its validity.
FAR_FUTURE = dt.datetime(2045, 1, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def openssl() -> str:
    from external_tools import require_tool

    return require_tool("openssl")


@pytest.fixture(scope="module")
def tsa(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Tsa:
    return make_tsa(pki, tmp_path_factory.mktemp("tsa"))


def _sign(pki: TestPki, src: Path, dst: Path, *extra: str | Path) -> None:
    run = run_cli_inprocess(
        "sign", src, dst, "--key", pki.signer.key, "--cert", pki.signer.cert, *extra
    )
    assert run.returncode == 0, run.describe()


def _dcmsign_timestamp_ok(dcmsign: str, path: Path, pki: TestPki) -> None:
    proc = dcmsign_verify(dcmsign, path, [pki.root.cert], [pki.intermediate.cert], "+tr")
    assert proc.returncode == 0, proc.stderr
    verbose = subprocess.run(
        [dcmsign, "-v", "+cf", str(pki.root.cert), "+uf", str(pki.intermediate.cert), str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert "Timestamp Verification      : OK" in verbose.stderr, verbose.stderr


def _trust(pki: TestPki) -> TrustContext:
    return TrustContext.load([pki.root.cert], [pki.intermediate.cert])


def test_online_timestamp_dcmsign_accepts(
    dcmsign: str,
    openssl: str,
    pki: TestPki,
    tsa: Tsa,
    signing_inputs: dict[str, Path],
    tmp_path: Path,
) -> None:
    out = tmp_path / "stamped.dcm"
    with http_tsa(openssl, pki, tsa) as url:
        _sign(pki, signing_inputs["native"], out, "--tsa-url", url)
    item = pydicom.dcmread(out).DigitalSignaturesSequence[0]
    assert item[0x04000305].value == "CMS_TSP"
    _dcmsign_timestamp_ok(dcmsign, out, pki)
    now = verify_file(out, _trust(pki))
    assert now.verdict is Verdict.PASSED, now
    assert now.signatures[0].timestamp_time is not None
    later = verify_file(out, _trust(pki), at=FAR_FUTURE)
    assert later.verdict is Verdict.PASSED, later


def test_offline_query_then_response(
    dcmsign: str,
    openssl: str,
    pki: TestPki,
    tsa: Tsa,
    signing_inputs: dict[str, Path],
    tmp_path: Path,
) -> None:
    signed, stamped = tmp_path / "signed.dcm", tmp_path / "stamped.dcm"
    tsq, tsr = tmp_path / "q.tsq", tmp_path / "r.tsr"
    _sign(pki, signing_inputs["native"], signed, "--tsq", tsq)
    # without its timestamp the signature does not outlive the certificate
    expired = verify_file(signed, _trust(pki), at=FAR_FUTURE)
    assert expired.verdict is Verdict.INDETERMINATE
    assert expired.signatures[0].reason is SignatureReason.EXPIRED
    tsr.write_bytes(reply(openssl, pki, tsa, tsq.read_bytes()))
    run = run_cli_inprocess("sign", signed, stamped, "--tsq", tsq, "--tsr", tsr)
    assert run.returncode == 0, run.describe()
    _dcmsign_timestamp_ok(dcmsign, stamped, pki)
    later = verify_file(stamped, _trust(pki), at=FAR_FUTURE)
    assert later.verdict is Verdict.PASSED, later
    # the JSON says it the ETSI way (EN 319 102-1), with and without the proof of existence
    at = ("--at", "2045-01-01T00:00:00Z")
    trust = [pki.root.cert]
    healed = verify_json(stamped, trust, [pki.intermediate.cert], *at).json()
    sig = healed["files"][0]["signatures"][0]
    assert (sig["etsi_indication"], sig["etsi_subindication"]) == ("TOTAL-PASSED", None)
    assert sig["best_signature_time"] == sig["timestamp"] is not None
    bare = verify_json(signed, trust, [pki.intermediate.cert], *at).json()
    sig = bare["files"][0]["signatures"][0]
    assert (sig["etsi_indication"], sig["etsi_subindication"]) == (
        "INDETERMINATE",
        "OUT_OF_BOUNDS_NO_POE",
    )
    assert sig["best_signature_time"] is None
    # bit-preserving: everything before the signature sequence is unchanged
    a, b = signed.read_bytes(), stamped.read_bytes()
    assert b.startswith(a[: a.index(b"\xfa\xff\xfa\xff")])


def test_offline_response_for_another_signature_is_refused(
    openssl: str,
    pki: TestPki,
    tsa: Tsa,
    signing_inputs: dict[str, Path],
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "a.dcm", tmp_path / "b.dcm"
    _sign(pki, signing_inputs["native"], first, "--tsq", tmp_path / "a.tsq")
    _sign(pki, signing_inputs["native"], second, "--tsq", tmp_path / "b.tsq")
    tsr = tmp_path / "a.tsr"
    tsr.write_bytes(reply(openssl, pki, tsa, (tmp_path / "a.tsq").read_bytes()))
    wrong = run_cli_inprocess(
        "sign", second, tmp_path / "x.dcm", "--tsq", tmp_path / "a.tsq", "--tsr", tsr
    )
    assert wrong.returncode != 0
    assert "matches no signature" in wrong.stderr
    mismatched = run_cli_inprocess(
        "sign", first, tmp_path / "y.dcm", "--tsq", tmp_path / "b.tsq", "--tsr", tsr
    )
    assert mismatched.returncode != 0
    assert not (tmp_path / "y.dcm").exists()
    twice = tmp_path / "stamped.dcm"
    ok = run_cli_inprocess("sign", first, twice, "--tsq", tmp_path / "a.tsq", "--tsr", tsr)
    assert ok.returncode == 0, ok.describe()
    again = run_cli_inprocess(
        "sign", twice, tmp_path / "z.dcm", "--tsq", tmp_path / "a.tsq", "--tsr", tsr
    )
    assert again.returncode != 0
    assert "already carries" in again.stderr


def test_flipped_token_byte_is_failed_naming_it(
    openssl: str, pki: TestPki, tsa: Tsa, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "stamped.dcm"
    with http_tsa(openssl, pki, tsa) as url:
        _sign(pki, signing_inputs["native"], out, "--tsa-url", url)
    ds = pydicom.dcmread(out)
    item = ds.DigitalSignaturesSequence[0]
    token = bytearray(item[0x04000310].value)
    token[len(token) - 20] ^= 0x01
    item[0x04000310].value = bytes(token)
    ds.save_as(tmp_path / "flipped.dcm")
    result = verify_file(tmp_path / "flipped.dcm", _trust(pki))
    assert result.verdict is Verdict.FAILED
    assert result.signatures[0].reason is SignatureReason.TIMESTAMP_INVALID
