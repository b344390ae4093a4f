"""The verification commands printed on a medium work as written, and read-back after writing.

README.TXT and INDEX.HTM tell the receiver how to check the medium with dicomseal, OpenSSL
and DCMTK. Here those exact lines are taken from the files and run in the medium's root
folder, with ``CA.pem`` (the one placeholder they document) replaced by the path of the
creator's root CA. The creator's chain (here root -> intermediate -> signer) must travel on
the medium (DICOMSEA/CHAIN.PEM) for dcmsign to build the path.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from clinic_support import clinic_env, dicomseal, sample_sources

from dicomseal.errors import SignatureError
from dicomseal.media.create import CreateOptions, create_medium
from dicomseal.signature import SigningCredentials
from external_tools import require_tool
from pki import TestPki

_COMMAND = re.compile(r"^ {4}((?:dicomseal|openssl|dcmsign) .*)$", re.MULTILINE)


def _commands(text: str) -> list[str]:
    return _COMMAND.findall(text.replace("\r\n", "\n"))


def _run_line(line: str, ca: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = [ca.as_posix() if arg == "CA.pem" else arg for arg in shlex.split(line)]
    if argv[0] == "dicomseal":
        argv = [sys.executable, "-m", "dicomseal", *argv[1:]]
    else:
        argv[0] = require_tool(argv[0])
    return subprocess.run(
        argv,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=clinic_env(cwd.parent / "receiver-home"),
    )


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory, pki: TestPki) -> Path:
    root = tmp_path_factory.mktemp("instructions")
    out = root / "medium"
    made = dicomseal(
        "media",
        "create",
        sample_sources(root / "study"),
        "--out",
        out,
        "--key",
        pki.signer.key,
        "--cert",
        pki.signer_chain,
        env=clinic_env(root / "sender-home"),
    )
    assert made.returncode == 0, made.describe()
    assert "verified after writing: PASSED" in made.stdout
    return out


@pytest.mark.dcmtk
def test_readme_and_index_lines_run_green(medium: Path, pki: TestPki) -> None:
    readme = _commands((medium / "README.TXT").read_text("utf-8-sig"))
    index = _commands(html.unescape((medium / "INDEX.HTM").read_text("utf-8")))
    assert [c.split()[0] for c in readme] == ["dicomseal", "openssl", "dcmsign"]
    assert index == readme
    assert "DICOMSEA/CHAIN.PEM" in readme[2]
    for line in readme:
        run = _run_line(line, pki.root.cert, medium)
        assert run.returncode == 0, f"{line}\n{run.stdout}\n{run.stderr}"


@pytest.mark.dcmtk
def test_the_lines_refuse_another_ca(medium: Path, pki: TestPki) -> None:
    """The same lines with a CA that did not issue the creator's certificate all fail."""
    for line in _commands((medium / "README.TXT").read_text("utf-8-sig")):
        run = _run_line(line, pki.untrusted_root.cert, medium)
        assert run.returncode != 0, f"{line} passed with the wrong CA\n{run.stdout}"


@pytest.mark.dcmtk
def test_old_dcmsign_line_needed_the_chain(medium: Path, pki: TestPki) -> None:
    """Without the chain on the medium (+uf DICOMSEA/CHAIN.PEM) dcmsign cannot verify."""
    dcmsign_line = _commands((medium / "README.TXT").read_text("utf-8-sig"))[2]
    old = dcmsign_line.replace(" +uf DICOMSEA/CHAIN.PEM", "")
    assert old != dcmsign_line
    assert _run_line(old, pki.root.cert, medium).returncode != 0


def test_fingerprints_on_readme_and_index(medium: Path, pki: TestPki) -> None:
    from cryptography import x509

    from dicomseal.signature.keys import fingerprint_sha256

    readme = (medium / "README.TXT").read_text("utf-8-sig")
    index = (medium / "INDEX.HTM").read_text("utf-8")
    for cert in (pki.signer.cert, pki.intermediate.cert):
        fp = fingerprint_sha256(x509.load_pem_x509_certificate(cert.read_bytes()))
        assert fp in readme and fp in index


def test_chain_is_on_the_medium_and_in_the_manifest(medium: Path, pki: TestPki) -> None:
    chain = (medium / "DICOMSEA" / "CHAIN.PEM").read_bytes()
    assert chain == pki.signer_chain.read_bytes().replace(b"\r\n", b"\n") or (
        pki.signer.cert.read_bytes().strip() in chain
        and pki.intermediate.cert.read_bytes().strip() in chain
    )
    assert '"DICOMSEA/CHAIN.PEM"' in (medium / "DICOMSEA" / "MANIFEST.JSN").read_text()
    (medium / "DICOMSEA" / "CHAIN.PEM").write_bytes(chain + b"\n")
    try:
        run = dicomseal(
            "media", "verify", medium, "--trust", pki.root.cert, env=clinic_env(medium.parent / "h")
        )
        assert run.returncode == 1 and "CHAIN.PEM" in run.stdout, run.describe()
    finally:
        (medium / "DICOMSEA" / "CHAIN.PEM").write_bytes(chain)


@pytest.mark.parametrize("suffix", [".iso", ".zip"])
def test_read_back_from_image(tmp_path: Path, pki: TestPki, suffix: str) -> None:
    out = tmp_path / f"cd{suffix}"
    made = dicomseal(
        "media",
        "create",
        sample_sources(tmp_path / "study"),
        "--out",
        out,
        "--key",
        pki.signer.key,
        "--cert",
        pki.signer_chain,
        env=clinic_env(tmp_path / "home"),
    )
    assert made.returncode == 0, made.describe()
    assert "verified after writing: PASSED" in made.stdout


def test_read_back_failure_removes_the_medium(tmp_path: Path, pki: TestPki) -> None:
    """A medium that would not verify (expired signer) is not left behind."""
    creds = SigningCredentials.load(pki.expired_signer.key, pki.expired_signer.cert)
    out = tmp_path / "cd.iso"
    with pytest.raises(SignatureError, match="verified after writing: INDETERMINATE"):
        create_medium(
            [sample_sources(tmp_path / "study")],
            out,
            creds,
            CreateOptions(created_at=dt.datetime.now(dt.UTC).replace(microsecond=0)),
        )
    assert not out.exists()
