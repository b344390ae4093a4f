"""The trust store and ``--trust DIR``: add, list, show, remove, and what verify uses."""

from __future__ import annotations

import shutil
from pathlib import Path

from clinic_support import clinic_env, dicomseal
from cryptography import x509

from dicomseal.signature.keys import fingerprint_sha256
from pki import TestPki


def _fp(path: Path) -> str:
    return fingerprint_sha256(x509.load_pem_x509_certificates(path.read_bytes())[0])


def test_add_list_show_remove(tmp_path: Path, pki: TestPki) -> None:
    env = clinic_env(tmp_path / "home", DICOMSEAL_TRUST=str(tmp_path / "store"))
    root_fp = _fp(pki.root.cert)

    unconfirmed = dicomseal("trust", "add", pki.root.cert, env=env)
    assert unconfirmed.returncode == 2, unconfirmed.describe()
    assert root_fp in unconfirmed.stdout  # shown before asking
    assert not (tmp_path / "store").exists()

    added = dicomseal("trust", "add", pki.root.cert, "--name", "root", "--yes", env=env)
    assert added.returncode == 0, added.describe()
    duplicate = dicomseal("trust", "add", pki.root.cert, "--name", "again", "--yes", env=env)
    assert duplicate.returncode == 2 and "already trusted" in duplicate.stderr
    bundle = dicomseal("trust", "add", pki.chain, "--yes", env=env)
    assert bundle.returncode == 2, bundle.describe()
    bad_name = dicomseal("trust", "add", pki.tsa.cert, "--name", "../x", "--yes", env=env)
    assert bad_name.returncode == 2, bad_name.describe()
    assert dicomseal("trust", "add", pki.intermediate.cert, "--yes", env=env).returncode == 0

    listed = dicomseal("trust", "list", "--format", "json", env=env).json()
    assert listed["schema"] == "dicomseal.trust-list/1"
    assert {a["name"]: a["fingerprint_sha256"] for a in listed["anchors"]} == {
        "root": root_fp,
        "intermediate.crt": _fp(pki.intermediate.cert),
    }
    text = dicomseal("trust", "list", env=env)
    assert root_fp in text.stdout and "intermediate.crt" in text.stdout

    shown = dicomseal("trust", "show", root_fp.replace(":", "").lower(), env=env)
    assert shown.returncode == 0 and "name:        root" in shown.stdout, shown.describe()
    assert dicomseal("trust", "show", "nobody", env=env).returncode == 2

    removed = dicomseal("trust", "remove", "root", env=env)
    assert removed.returncode == 0, removed.describe()
    assert not (tmp_path / "store" / "root.pem").exists()
    names = [
        a["name"] for a in dicomseal("trust", "list", "--format", "json", env=env).json()["anchors"]
    ]
    assert names == ["intermediate.crt"]


def test_verify_uses_store_or_trust_folder(tmp_path: Path, pki: TestPki) -> None:
    """A signed file: INDETERMINATE with an empty store, PASSED via the store or --trust DIR."""
    home = tmp_path / "home"
    env = clinic_env(home)
    signed = tmp_path / "signed.dcm"
    source = Path(__import__("pydicom").__file__).parent / "data" / "test_files" / "CT_small.dcm"
    made = dicomseal(
        "sign", source, signed, "--key", pki.signer.key, "--cert", pki.signer_chain, env=env
    )
    assert made.returncode == 0, made.describe()
    assert _fp(pki.signer.cert) in made.stdout and _fp(pki.intermediate.cert) in made.stdout

    inter = ("--untrusted", pki.intermediate.cert)  # a PS3.15 signature carries the leaf only
    empty = dicomseal("verify", signed, *inter, env=env)
    assert empty.returncode == 3, empty.describe()
    assert "trust anchors: none" in empty.stdout

    folder = tmp_path / "partners"
    folder.mkdir()
    shutil.copyfile(pki.root.cert, folder / "root.pem")
    by_dir = dicomseal("verify", signed, "--trust", folder, *inter, "--format", "json", env=env)
    assert by_dir.returncode == 0, by_dir.describe()
    doc = by_dir.json()
    assert doc["trust_anchors"]["origin"] == "--trust"
    sig = doc["files"][0]["signatures"][0]
    assert sig["fingerprint_sha256"] == _fp(pki.signer.cert)
    assert sig["chain_fingerprints_sha256"][-1] == _fp(pki.root.cert)

    assert dicomseal("trust", "add", pki.root.cert, "--yes", env=env).returncode == 0
    assert (home / ".config" / "dicomseal" / "trust" / "root.crt.pem").is_file()
    by_store = dicomseal("verify", signed, *inter, env=env)
    assert by_store.returncode == 0, by_store.describe()
    assert "trust store" in by_store.stdout and _fp(pki.root.cert) in by_store.stdout
    # an explicit --trust replaces the store: the wrong anchor is not rescued by it
    wrong = dicomseal("verify", signed, "--trust", pki.untrusted_root.cert, *inter, env=env)
    assert wrong.returncode == 3, wrong.describe()
