"""Two clinics from scratch: keys, a CA exchange checked by fingerprint, a trusted medium.

The script a new clinic follows (docs/trust.md, "self-made clinic CA"):

1. each clinic runs ``dicomseal keys new`` (Clinic A sends, Clinic B receives);
2. Clinic A sends ``ca.pem`` to Clinic B and reads its SHA-256 fingerprint out by phone;
   Clinic B computes the fingerprint of the file it received (here with OpenSSL) and
   compares;
3. Clinic B runs ``dicomseal trust add ca.pem --yes`` (its store lives in
   ``$XDG_CONFIG_HOME``, here inside tmp_path - never the real home);
4. Clinic A creates a medium; Clinic B verifies it PASSED without ``--trust``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from clinic_support import clinic_env, dicomseal, printed_fingerprints, sample_sources

from external_tools import require_tool


def _openssl_fingerprint(cert: Path) -> str:
    out = subprocess.run(
        [require_tool("openssl"), "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.strip().split("=", 1)[1]


@pytest.mark.parametrize("store", ["xdg", "dicomseal_trust"])
def test_two_clinics_from_scratch(tmp_path: Path, store: str) -> None:
    env_a = clinic_env(tmp_path / "clinic-a")
    extra = {"DICOMSEAL_TRUST": str(tmp_path / "b-store")} if store == "dicomseal_trust" else {}
    env_b = clinic_env(tmp_path / "clinic-b", **extra)

    # 1. both clinics make their keys
    made_a = dicomseal(
        "keys",
        "new",
        "--org",
        "Clinic A",
        "--country",
        "DK",
        "--out",
        tmp_path / "a-keys",
        env=env_a,
    )
    assert made_a.returncode == 0, made_a.describe()
    made_b = dicomseal("keys", "new", "--org", "Clinic B", "--out", tmp_path / "b-keys", env=env_b)
    assert made_b.returncode == 0, made_b.describe()
    ca_fp_a, signer_fp_a = printed_fingerprints(made_a.stdout)[:2]

    # 2. the CA file travels (mail, USB stick); the fingerprint is read out by phone
    received = tmp_path / "inbox" / "clinic-a-ca.pem"
    received.parent.mkdir()
    shutil.copyfile(tmp_path / "a-keys" / "ca.pem", received)
    assert _openssl_fingerprint(received) == ca_fp_a

    # 3. Clinic B trusts it
    added = dicomseal("trust", "add", received, "--name", "clinic-a", "--yes", env=env_b)
    assert added.returncode == 0, added.describe()
    assert ca_fp_a in added.stdout
    if store == "xdg":
        assert (
            tmp_path / "clinic-b" / ".config" / "dicomseal" / "trust" / "clinic-a.pem"
        ).is_file()
    else:
        assert (tmp_path / "b-store" / "clinic-a.pem").is_file()
    listed = dicomseal("trust", "list", "--format", "json", env=env_b)
    assert listed.returncode == 0, listed.describe()
    assert [a["fingerprint_sha256"] for a in listed.json()["anchors"]] == [ca_fp_a]

    # 4. Clinic A burns a medium, Clinic B verifies it with its store alone
    medium = tmp_path / "from-clinic-a.iso"
    created = dicomseal(
        "media",
        "create",
        sample_sources(tmp_path / "study"),
        "--out",
        medium,
        "--key",
        tmp_path / "a-keys" / "signer-key.pem",
        "--cert",
        tmp_path / "a-keys" / "signer.pem",
        env=env_a,
    )
    assert created.returncode == 0, created.describe()
    assert "verified after writing: PASSED" in created.stdout
    assert signer_fp_a in created.stdout and ca_fp_a in created.stdout

    checked = dicomseal("media", "verify", medium, "--format", "json", env=env_b)
    assert checked.returncode == 0, checked.describe()
    doc = checked.json()
    assert doc["verdict"] == "PASSED"
    assert doc["manifest"]["fingerprint_sha256"] == signer_fp_a
    assert doc["manifest"]["anchor_fingerprint_sha256"] == ca_fp_a
    assert [a["name"] for a in doc["trust_anchors"]["anchors"]] == ["clinic-a"]
    assert all(
        s["fingerprint_sha256"] == signer_fp_a for f in doc["files"] for s in f["signatures"]
    )
    text = dicomseal("verify", medium, env=env_b)
    assert text.returncode == 0, text.describe()
    assert "clinic-a" in text.stdout and ca_fp_a in text.stdout

    # the same medium is not trusted by a clinic that did not pin Clinic A's CA ...
    stranger = dicomseal("media", "verify", medium, env=clinic_env(tmp_path / "stranger"))
    assert stranger.returncode == 3, stranger.describe()
    # ... nor by Clinic B once it removes the anchor (by fingerprint, lower case, no colons)
    removed = dicomseal("trust", "remove", ca_fp_a.replace(":", "").lower(), env=env_b)
    assert removed.returncode == 0, removed.describe()
    again = dicomseal("media", "verify", medium, env=env_b)
    assert again.returncode == 3, again.describe()
