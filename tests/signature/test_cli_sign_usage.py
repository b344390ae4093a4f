"""``dicomseal sign`` refuses what dcmsign refuses: exit 2, one error line, no output file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sigtest_support import assert_clean_error, run_cli_inprocess

if TYPE_CHECKING:
    from pki import TestPki

#: name -> (input, signer attribute of TestPki, cert attribute, extra options)
REFUSED = {
    # dcmsign >= 3.6.6: "a listed tag absent from the dataset makes signing fail"
    "tag-absent": ("native", "signer", "signer", ("--tag", "PatientWeight")),
    "item-index-out-of-range": (
        "native",
        "signer",
        "signer",
        ("--item", "ReferencedSeriesSequence[5]"),
    ),
    "item-not-a-sequence": ("native", "signer", "signer", ("--item", "PatientName[0]")),
    # DCMTK's Base/Creator/Auth/SR profiles reject non-RSA keys (reference notes §1.4)
    "ecdsa-with-rsa-profile": ("native", "ec_signer", "ec_signer", ("--profile", "base")),
    "key-does-not-match-cert": ("native", "ec_signer", "signer", ()),
    # PS3.15 C.4: the SR RSA profile must carry a Digital Signature Purpose Code
    "sr-profile-without-purpose": ("sr", "signer", "signer", ("--profile", "sr")),
    "purpose-out-of-range": ("native", "signer", "signer", ("--purpose", "19")),
    "unknown-mac": ("native", "signer", "signer", ("--mac", "sha3-256")),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_sign_refuses(
    name: str, pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    src, key_of, cert_of, extra = REFUSED[name]
    out = tmp_path / "out.dcm"
    run = run_cli_inprocess(
        "sign",
        signing_inputs[src],
        out,
        "--key",
        getattr(pki, key_of).key,
        "--cert",
        getattr(pki, cert_of).cert,
        "--chain",
        pki.chain,
        *extra,
    )
    assert run.returncode == 2, run.describe()
    assert "Traceback" not in run.stderr
    assert not out.exists()
    if name not in ("purpose-out-of-range", "unknown-mac"):  # click prints its usage block
        assert_clean_error(run, code=2)


def test_sign_does_not_overwrite_input_on_failure(
    pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    src = tmp_path / "in.dcm"
    src.write_bytes(signing_inputs["native"].read_bytes())
    before = src.read_bytes()
    run = run_cli_inprocess("sign", src, src, "--key", pki.ec_signer.key, "--cert", pki.signer.cert)
    assert run.returncode == 2, run.describe()
    assert src.read_bytes() == before
