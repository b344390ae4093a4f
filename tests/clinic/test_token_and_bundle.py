"""Signing with a PKCS #12 bundle and with a key on a PKCS #11 token (SoftHSM2).

The token is a real SoftHSM2 token initialised in tmp_path (``SOFTHSM2_CONF``), holding the
signing key that ``dicomseal keys new`` made (imported with ``softhsm2-util``). A file and
a medium signed through it verify with dicomseal and with DCMTK ``dcmsign``.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from clinic_support import PASSWORD, clinic_env, dicomseal, sample_sources
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from external_tools import require_tool

_MODULES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
)
USER_PIN = "TEST_ONLY_1234"
SO_PIN = "TEST_ONLY_5678"


def _keys(tmp_path: Path, *, use_rsa: bool) -> Path:
    out = tmp_path / "keys"
    run = dicomseal(
        "keys",
        "new",
        "--org",
        "Clinic T",
        "--out",
        out,
        *(["--rsa"] if use_rsa else []),
        env=clinic_env(tmp_path / "home"),
    )
    assert run.returncode == 0, run.describe()
    return out


def _dcmsign_ok(dcmsign: str, ca: Path, files: list[Path], *extra: str) -> None:
    for f in files:
        run = subprocess.run(
            [dcmsign, "--verify", "+cf", str(ca), *extra, str(f)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0 and "Verification : OK" in run.stdout + run.stderr, (
            f"{f}\n{run.stdout}\n{run.stderr}"
        )


def test_pkcs12_bundle_signs_a_medium(tmp_path: Path, dcmsign: str) -> None:
    keys = _keys(tmp_path, use_rsa=False)
    key = serialization.load_pem_private_key(
        (keys / "signer-key.pem").read_bytes(), password=PASSWORD.encode()
    )
    signer, ca = x509.load_pem_x509_certificates((keys / "signer.pem").read_bytes())
    bundle = tmp_path / "clinic.p12"
    bundle.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"signer",
            key,
            signer,
            [ca],  # type: ignore[arg-type]
            serialization.BestAvailableEncryption(PASSWORD.encode()),
        )
    )
    env = clinic_env(tmp_path / "home")
    medium = tmp_path / "medium"
    made = dicomseal(
        "media",
        "create",
        sample_sources(tmp_path / "study"),
        "--out",
        medium,
        "--key",
        bundle,
        env=env,
    )
    assert made.returncode == 0, made.describe()
    assert "verified after writing: PASSED" in made.stdout
    checked = dicomseal("media", "verify", medium, "--trust", keys / "ca.pem", env=env)
    assert checked.returncode == 0, checked.describe()
    _dcmsign_ok(dcmsign, keys / "ca.pem", sorted((medium / "DICOM").rglob("IM*")))

    wrong = dict(env, DICOMSEAL_KEY_PASSWORD="TEST_ONLY_wrong")
    refused = dicomseal(
        "sign", tmp_path / "study" / "CT_small.dcm", tmp_path / "x.dcm", "--key", bundle, env=wrong
    )
    assert refused.returncode == 2 and "PKCS #12" in refused.stderr, refused.describe()


@pytest.fixture
def softhsm(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An initialised SoftHSM2 token 'Clinic T' in tmp_path: (module, environment)."""
    util = require_tool("softhsm2-util")
    module = next((m for m in _MODULES if m.is_file()), None)
    if module is None:
        pytest.fail("softhsm2-util is installed but libsofthsm2.so was not found")
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = file\n"
        "log.level = ERROR\n"
    )
    env = clinic_env(tmp_path / "home", SOFTHSM2_CONF=str(conf))
    subprocess.run(
        [
            util,
            "--init-token",
            "--free",
            "--label",
            "Clinic T",
            "--pin",
            USER_PIN,
            "--so-pin",
            SO_PIN,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    return module, env


def _import_to_token(tmp_path: Path, keys: Path, env: dict[str, str], module: Path) -> None:
    """The key (softhsm2-util) and its certificate (a PKCS #11 object) onto the token."""
    key = serialization.load_pem_private_key(
        (keys / "signer-key.pem").read_bytes(), password=PASSWORD.encode()
    )
    clear = tmp_path / "TEST_ONLY_clear-key.pem"
    clear.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    subprocess.run(
        [
            require_tool("softhsm2-util"),
            "--import",
            str(clear),
            "--token",
            "Clinic T",
            "--label",
            "signer",
            "--id",
            "01",
            "--pin",
            USER_PIN,
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    clear.unlink()
    script = textwrap.dedent(
        f"""
        import pkcs11
        from pkcs11 import Attribute, CertificateType, ObjectClass
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding
        cert = x509.load_pem_x509_certificates(open({str(keys / "signer.pem")!r}, 'rb').read())[0]
        token = pkcs11.lib({str(module)!r}).get_token(token_label="Clinic T")
        with token.open(rw=True, user_pin={USER_PIN!r}) as s:
            s.create_object({{
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True,
                Attribute.LABEL: "signer",
                Attribute.ID: b"\\x01",
                Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.VALUE: cert.public_bytes(Encoding.DER),
            }})
        """
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True)


@pytest.mark.parametrize("use_rsa", [False, True], ids=["ec", "rsa"])
def test_pkcs11_token_signs_file_and_medium(
    tmp_path: Path, softhsm: tuple[Path, dict[str, str]], dcmsign: str, use_rsa: bool
) -> None:
    module, env = softhsm
    keys = _keys(tmp_path, use_rsa=use_rsa)
    _import_to_token(tmp_path, keys, env, module)
    uri = f"pkcs11:token=Clinic%20T;object=signer?module-path={module}"
    env = dict(env, DICOMSEAL_PKCS11_PIN=USER_PIN)
    env.pop("DICOMSEAL_KEY_PASSWORD")  # the token key needs no file password
    study = sample_sources(tmp_path / "study")

    # a file, with the certificate read from the token
    signed = tmp_path / "signed.dcm"
    made = dicomseal("sign", study / "CT_small.dcm", signed, "--key", uri, env=env)
    assert made.returncode == 0, made.describe()
    checked = dicomseal("verify", signed, "--trust", keys / "ca.pem", env=env)
    assert checked.returncode == 0, checked.describe()
    _dcmsign_ok(dcmsign, keys / "ca.pem", [signed])

    # a medium, with the chain from --cert; the PIN from a pin-source file (RFC 7512)
    pin_file = tmp_path / "pin.txt"
    pin_file.write_text(USER_PIN + "\n")
    env_no_pin = {k: v for k, v in env.items() if k != "DICOMSEAL_PKCS11_PIN"}
    medium = tmp_path / "cd.iso"
    created = dicomseal(
        "media",
        "create",
        study,
        "--out",
        medium,
        "--key",
        f"{uri}&pin-source={pin_file}",
        "--cert",
        keys / "signer.pem",
        env=env_no_pin,
    )
    assert created.returncode == 0, created.describe()
    assert "verified after writing: PASSED" in created.stdout
    verified = dicomseal("media", "verify", medium, "--trust", keys / "ca.pem", env=env)
    assert verified.returncode == 0, verified.describe()
    folder = tmp_path / "folder-medium"
    dicomseal(
        "media",
        "create",
        study,
        "--out",
        folder,
        "--key",
        uri,
        "--cert",
        keys / "signer.pem",
        env=env,
    )
    _dcmsign_ok(
        dcmsign,
        keys / "ca.pem",
        sorted((folder / "DICOM").rglob("IM*")),
        "+uf",
        str(folder / "DICOMSEA" / "CHAIN.PEM"),
    )

    wrong = dicomseal(
        "sign",
        study / "CT_small.dcm",
        tmp_path / "w.dcm",
        "--key",
        uri,
        env=dict(env, DICOMSEAL_PKCS11_PIN="TEST_ONLY_0000"),
    )
    assert wrong.returncode == 2 and "PKCS #11" in wrong.stderr, wrong.describe()
    other = _keys(tmp_path / "other", use_rsa=use_rsa)
    mismatch = dicomseal(
        "sign",
        study / "CT_small.dcm",
        tmp_path / "m.dcm",
        "--key",
        uri,
        "--cert",
        other / "signer.pem",
        env=env,
    )
    assert mismatch.returncode == 2 and "does not match" in mismatch.stderr, mismatch.describe()
