"""Per-file verdicts in ``media verify`` and single-file polyglots (issue 10 classes 4, 6, 9).

* A file the manifest reports as changed is FAILED in ``files[]`` too, even when the
  replacement carries a valid signature of its own.
* A file whose bytes match a trusted manifest is PASSED (``covered-by-manifest``) even
  when its own signature covers only part of it: the manifest hashes every byte.
* A hostile signer certificate in MANIFEST.P7S is ``manifest-signature-malformed``.
* ``verify`` of a validly signed file whose preamble is an executable header reports it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from media_support import instance_paths, rel

from dicomseal.hazmat.elements import parse_part10
from dicomseal.media.cms import sign_detached
from dicomseal.media.digests import digest_instance
from dicomseal.media.manifest import (
    MANIFEST_PATH,
    SIGNATURE_PATH,
    InstanceRecord,
    Manifest,
    ManifestEntry,
)
from dicomseal.media.source import open_media
from dicomseal.media.verify import ManifestReason, MediaVerification, verify_media
from dicomseal.signature import SigningCredentials, TrustContext
from dicomseal.signature.status import FileReason
from dicomseal.verdict import Verdict
from pki import TestPki

RSA_ENCRYPTION = bytes.fromhex("06092a864886f70d010101")
UNKNOWN_KEY_OID = bytes.fromhex("06092a864886f70d010163")


def check(medium: Path, trust: TrustContext) -> MediaVerification:
    with open_media(medium) as source:
        return verify_media(source, trust)


def _entry(result: MediaVerification, medium: Path, path: Path) -> object:
    return next(f for f in result.files if f.path == rel(medium, path))


def test_replaced_instance_is_failed_in_files(medium_copy: Path, trust: TrustContext) -> None:
    """Another genuine, validly signed instance copied over one: FAILED everywhere."""
    first, second = instance_paths(medium_copy)[:2]
    shutil.copyfile(second, first)
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    entry = _entry(r, medium_copy, first)
    assert entry.verdict is Verdict.FAILED, entry  # type: ignore[attr-defined]
    assert entry.reason is FileReason.CHANGED_SINCE_MANIFEST  # type: ignore[attr-defined]
    assert _entry(r, medium_copy, second).verdict is Verdict.PASSED  # type: ignore[attr-defined]


def _add_unsigned_element(path: Path) -> None:
    """Insert PatientComments (LT) after signing: the instance signature is now partial."""
    data = path.read_bytes()
    with path.open("rb") as fh:
        at = next(e.offset for e in parse_part10(fh).elements if e.tag > 0x00104000)
    value = b"added after signing "
    raw = struct.pack("<HH", 0x0010, 0x4000) + b"LT" + struct.pack("<H", len(value)) + value
    path.write_bytes(data[:at] + raw + data[at:])


def _resign_manifest(medium: Path, path: Path, creds: SigningCredentials) -> None:
    """The creator re-issues the manifest over the file as it now is (trusted key)."""
    manifest = Manifest.from_bytes((medium / MANIFEST_PATH).read_bytes())
    d = digest_instance(str(path))
    files = tuple(
        ManifestEntry(e.path, d.size, d.sha256, e.role, InstanceRecord.from_digests(d))
        if e.path == rel(medium, path)
        else e
        for e in manifest.files
    )
    data = Manifest(manifest.medium, files).to_bytes()
    (medium / MANIFEST_PATH).write_bytes(data)
    (medium / SIGNATURE_PATH).write_bytes(
        sign_detached(
            data,
            creds.private_key,
            creds.certificate,
            creds.chain,
            signing_time=dt.datetime.now(dt.UTC),
        )
    )


def test_trusted_manifest_covers_partially_signed_instance(
    medium_copy: Path, trust: TrustContext, creds: SigningCredentials
) -> None:
    path = instance_paths(medium_copy)[0]
    _add_unsigned_element(path)
    _resign_manifest(medium_copy, path, creds)
    r = check(medium_copy, trust)
    entry = _entry(r, medium_copy, path)
    assert entry.signatures[0].verdict is Verdict.PASSED  # type: ignore[attr-defined]
    assert entry.uncovered == (0x00104000,)  # type: ignore[attr-defined]
    assert entry.verdict is Verdict.PASSED, entry  # type: ignore[attr-defined]
    assert entry.reason is FileReason.COVERED_BY_MANIFEST  # type: ignore[attr-defined]
    assert r.verdict is Verdict.PASSED, r.message


def test_partially_signed_instance_without_manifest_coverage_is_not_passed(
    medium_copy: Path, trust: TrustContext
) -> None:
    path = instance_paths(medium_copy)[0]
    _add_unsigned_element(path)
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED  # the manifest hash catches the edit
    assert _entry(r, medium_copy, path).verdict is Verdict.FAILED  # type: ignore[attr-defined]


def test_hostile_manifest_signer_certificate(
    medium_copy: Path, trust: TrustContext, pki: TestPki
) -> None:
    from cryptography import x509

    der = x509.load_pem_x509_certificate(pki.signer.cert.read_bytes()).public_bytes(
        serialization.Encoding.DER
    )
    p7s = (medium_copy / SIGNATURE_PATH).read_bytes()
    hostile = der.replace(RSA_ENCRYPTION, UNKNOWN_KEY_OID)
    assert p7s.count(der) == 1
    (medium_copy / SIGNATURE_PATH).write_bytes(p7s.replace(der, hostile))
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert r.manifest.reason is ManifestReason.SIGNATURE_MALFORMED


def test_polyglot_preamble_is_reported_by_verify(
    sample_medium: Path, pki: TestPki, tmp_path: Path
) -> None:
    """CVE-2019-11687: a validly signed file that is also a Windows executable."""
    path = tmp_path / "polyglot.dcm"
    data = instance_paths(sample_medium)[0].read_bytes()
    path.write_bytes(b"MZ\x90\x00" + data[4:])
    args = ["verify", str(path), "--trust", str(pki.root.cert)]
    args += ["--untrusted", str(pki.intermediate.cert)]
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    run = subprocess.run(
        [sys.executable, "-m", "dicomseal", *args, "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    (entry,) = json.loads(run.stdout)["files"]
    assert entry["signatures"][0]["verdict"] == "PASSED"  # the preamble is never signed
    assert (entry["verdict"], entry["reason"]) == ("FAILED", "executable-preamble"), entry
    assert entry["warnings"] == [
        {"code": "executable-preamble", "message": "executable-preamble: PE/DOS"}
    ]
    text = subprocess.run(
        [sys.executable, "-m", "dicomseal", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert "executable-preamble" in text.stdout and "CVE-2019-11687" in text.stdout


def test_unchanged_partial_instance_stays_covered_when_another_file_changed(
    medium_copy: Path, trust: TrustContext, creds: SigningCredentials
) -> None:
    """The medium is FAILED; the untouched, manifest-covered file is still PASSED itself."""
    first, second = instance_paths(medium_copy)[:2]
    _add_unsigned_element(first)
    _resign_manifest(medium_copy, first, creds)
    second.write_bytes(second.read_bytes()[:-2] + b"\x00\x01")  # a pixel changed
    r = check(medium_copy, trust)
    assert r.verdict is Verdict.FAILED
    assert _entry(r, medium_copy, second).verdict is Verdict.FAILED  # type: ignore[attr-defined]
    entry = _entry(r, medium_copy, first)
    assert entry.reason is FileReason.COVERED_BY_MANIFEST, entry  # type: ignore[attr-defined]
