"""Hostile input (issue 3, point 7): one clear error line, exit 4, no traceback, bounded memory.

Every CLI run here happens in a subprocess limited to 1.5 GB of address space
(``RLIMIT_AS``), so an implementation that believed a 4 GB length field and allocated it
would die with MemoryError instead of passing.
"""

from __future__ import annotations

import os
import resource
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from sigtest_support import (
    CliRun,
    assert_clean_error,
    assert_report_shape,
    file_entry,
    run_cli,
    run_cli_inprocess,
    trust_args,
    verify_json,
)
from sigtest_vectors import SignedVector

if TYPE_CHECKING:
    from pki import TestPki

AS_LIMIT = 1536 << 20
VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "dcmsign367"


def limit_memory() -> None:
    """preexec_fn: cap the child's address space."""
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def run_limited(*args: str | Path) -> CliRun:
    return run_cli(*args, preexec_fn=limit_memory, timeout=60)


PREAMBLE = b"\0" * 128 + b"DICM"


def _element(group: int, elem: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
    n = len(value) if length is None else length
    head = struct.pack("<HH", group, elem) + vr
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return head + b"\0\0" + struct.pack("<I", n) + value
    return head + struct.pack("<H", n) + value


def _meta(ts: bytes = b"1.2.840.10008.1.2.1\0") -> bytes:
    body = _element(2, 1, b"OB", b"\0\1") + _element(2, 0x10, b"UI", ts)
    return PREAMBLE + _element(2, 0, b"UL", struct.pack("<I", len(body))) + body


def _deep(levels: int) -> bytes:
    opening = b"\x08\x00\x15\x11SQ\0\0\xff\xff\xff\xff" + b"\xfe\xff\x00\xe0\xff\xff\xff\xff"
    closing = b"\xfe\xff\x0d\xe0\0\0\0\0" + b"\xfe\xff\xdd\xe0\0\0\0\0"
    return _meta() + opening * levels + closing * levels


def _deep_explicit(levels: int) -> bytes:
    """Nested explicit-length SQ/items, built inside out."""
    inner = _element(0x10, 0x10, b"PN", b"Doe^")
    for _ in range(levels):
        item = b"\xfe\xff\x00\xe0" + struct.pack("<I", len(inner)) + inner
        inner = _element(0x08, 0x1115, b"SQ", item)
    return _meta() + inner


SIGNED = (VECTORS / "vec1_signed.dcm").read_bytes()

#: name -> bytes of a hostile "DICOM" file
HOSTILE: dict[str, Callable[[], bytes]] = {
    "not-dicom": lambda: b"%PDF-1.4 this is not DICOM\n" * 20,
    "empty": lambda: b"",
    "preamble-only": lambda: PREAMBLE,
    "dicm-then-garbage": lambda: PREAMBLE + b"\xff" * 500,
    "truncated-in-header": lambda: SIGNED[:140],
    "absurd-ob-length": lambda: (
        _meta()
        + _element(0x10, 0x10, b"PN", b"Doe^")
        + _element(0x7FE0, 0x10, b"OB", b"\1" * 64, length=0xFFFFFFF0)
    ),
    "absurd-sq-length": lambda: _meta() + _element(0x08, 0x1115, b"SQ", b"", length=0x7FFFFFF0),
    "absurd-item-length": lambda: (
        _meta()
        + _element(
            0x08, 0x1115, b"SQ", b"\xfe\xff\x00\xe0\xf0\xff\xff\x7f" + b"\0" * 16, length=0xFFFFFFFF
        )
    ),
    "short-length-past-end": lambda: _meta() + _element(0x10, 0x10, b"PN", b"Doe", length=0xFFFF),
    "deep-nesting-10000": lambda: _deep(10_000),
    "deep-nesting-explicit-5000": lambda: _deep_explicit(5_000),
    "unknown-vr": lambda: _meta() + b"\x10\x00\x10\x00ZZ\x04\x00Doe^",
    "big-endian-length-past-end": lambda: (
        _meta(b"1.2.840.10008.1.2.2\0") + b"\x00\x10\x00\x10PN\x00\x40Doe^"
    ),
    "deflated-garbage": lambda: _meta(b"1.2.840.10008.1.2.1.99\0") + b"\x00\x01garbage",
    "fragment-length-past-end": lambda: (
        _meta(b"1.2.840.10008.1.2.4.50\0")
        + b"\xe0\x7f\x10\x00OB\0\0\xff\xff\xff\xff"
        + b"\xfe\xff\x00\xe0\0\0\0\0"
        + b"\xfe\xff\x00\xe0\xf0\xff\xff\xff"
        + b"\xff\xd8"
    ),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, make in HOSTILE.items():
        (folder / f"{name}.dcm").write_bytes(make())
    return folder


@pytest.fixture(scope="module")
def hostile_run(hostile: Path, pki: TestPki) -> CliRun:
    """One memory-capped ``verify FOLDER --format json`` over every hostile file."""
    return run_limited("verify", hostile, "--trust", pki.root.cert, "--format", "json")


def test_hostile_folder_exits_4_with_one_line_per_file(hostile_run: CliRun) -> None:
    assert hostile_run.returncode == 4, hostile_run.describe()
    assert "Traceback" not in hostile_run.stderr + hostile_run.stdout
    lines = [ln for ln in hostile_run.stderr.splitlines() if ln.strip()]
    assert len(lines) == len(HOSTILE), hostile_run.describe()
    for name in HOSTILE:
        assert sum(f"{name}.dcm" in ln for ln in lines) == 1, (name, lines)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_file_reported_not_passed(name: str, hostile: Path, hostile_run: CliRun) -> None:
    doc = hostile_run.json()
    assert_report_shape(doc)
    entry = file_entry(doc, hostile / f"{name}.dcm")
    assert entry["verdict"] != "PASSED"
    assert entry["reason"]
    assert entry["signatures"] == []


@pytest.mark.parametrize(
    "name", ["not-dicom", "truncated-in-header", "absurd-ob-length", "deep-nesting-10000"]
)
def test_hostile_single_file_exits_4_cleanly(name: str, hostile: Path, pki: TestPki) -> None:
    run = run_limited("verify", hostile / f"{name}.dcm", "--trust", pki.root.cert)
    assert_clean_error(run, code=4)
    assert "PASSED" not in run.stdout
    assert "MemoryError" not in run.stderr and "out of memory" not in run.stderr


@pytest.mark.dcmtk
def test_folder_with_good_and_bad_files(
    hostile: Path,
    dcmsign_vectors: dict[str, SignedVector],
    trust: tuple[list[Path], list[Path]],
    tmp_path: Path,
) -> None:
    good = tmp_path / "good.dcm"
    shutil.copyfile(dcmsign_vectors["rsa-mac-sha256"].path, good)
    for bad in ("not-dicom", "truncated-in-header"):
        shutil.copyfile(hostile / f"{bad}.dcm", tmp_path / f"{bad}.dcm")
    run = run_limited("verify", tmp_path, *trust_args(*trust), "--format", "json")
    assert run.returncode == 4, run.describe()
    assert "Traceback" not in run.stderr + run.stdout
    errors = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(errors) == 2 and all("not-dicom" in e or "truncated" in e for e in errors), errors
    doc = run.json()
    assert_report_shape(doc)
    assert file_entry(doc, good)["verdict"] == "PASSED"
    assert doc["verdict"] != "PASSED"


@pytest.mark.parametrize("cut", [300, len(SIGNED) - 1000])
def test_truncated_signed_file_is_failed_not_unreadable(
    cut: int, tmp_path: Path, pki: TestPki
) -> None:
    """A signed file cut short must not pass for "not DICOM" (exit 4): it is FAILED."""
    path = tmp_path / "truncated.dcm"
    path.write_bytes(SIGNED[: len(SIGNED) - cut])
    run = run_limited("verify", path, "--trust", pki.root.cert, "--format", "json")
    assert run.returncode == 1, run.describe()
    entry = file_entry(run.json(), path)
    assert (entry["verdict"], entry["reason"]) == ("FAILED", "malformed-signed-file")


def test_empty_folder_is_not_passed(tmp_path: Path, pki: TestPki) -> None:
    run = run_cli_inprocess("verify", tmp_path, "--trust", pki.root.cert, "--format", "json")
    assert run.returncode == 3, run.describe()
    assert run.json()["verdict"] == "INDETERMINATE"


@pytest.mark.dcmtk
def test_folder_with_symlink_loop_fifo_and_dangling_link(
    dcmsign_vectors: dict[str, SignedVector],
    trust: tuple[list[Path], list[Path]],
    tmp_path: Path,
) -> None:
    """Terminates (no hang on the FIFO, no endless loop), still verifies the real file."""
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    shutil.copyfile(dcmsign_vectors["rsa-mac-sha256"].path, sub / "x.dcm")
    (sub / "loop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "dangling.dcm").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "fifo.dcm")
    run = run_cli(
        "verify",
        tmp_path,
        *trust_args(*trust),
        "--format",
        "json",
        preexec_fn=limit_memory,
        timeout=60,
    )
    assert "Traceback" not in run.stderr
    doc = run.json()
    entry = file_entry(doc, sub / "x.dcm")
    assert entry["verdict"] == "PASSED"
    assert sum(Path(f["path"]).name == "x.dcm" for f in doc["files"]) == 1


def test_missing_path_exits_cleanly(tmp_path: Path, pki: TestPki) -> None:
    run = run_limited("verify", tmp_path / "does-not-exist.dcm", "--trust", pki.root.cert)
    assert run.returncode in (2, 4), run.describe()
    assert "Traceback" not in run.stderr


def test_sign_refuses_non_dicom(hostile: Path, pki: TestPki, tmp_path: Path) -> None:
    run = run_limited(
        "sign",
        hostile / "not-dicom.dcm",
        tmp_path / "out.dcm",
        "--key",
        pki.signer.key,
        "--cert",
        pki.signer.cert,
        "--chain",
        pki.chain,
    )
    assert_clean_error(run, code=4)
    assert not (tmp_path / "out.dcm").exists()


def _broken(ds: pydicom.Dataset, what: str) -> None:
    item = ds.DigitalSignaturesSequence[0]
    if what == "certificate-garbage":
        item.CertificateOfSigner = b"\x30\x82\x01\x00" + b"\x00" * 20
    elif what == "signature-empty":
        item.Signature = b""
    elif what == "mac-algorithm-unknown":
        ds.MACParametersSequence[0].MACAlgorithm = "FOO"
    elif what == "mac-id-dangling":
        item.MACIDNumber = 7
    elif what == "mac-transfer-syntax-bogus":
        ds.MACParametersSequence[0].MACCalculationTransferSyntaxUID = "1.2.3.4"
    elif what == "signature-item-empty":
        ds.DigitalSignaturesSequence[0] = pydicom.Dataset()
    else:  # pragma: no cover
        raise AssertionError(what)


BROKEN = [
    "certificate-garbage",
    "signature-empty",
    "mac-algorithm-unknown",
    "mac-id-dangling",
    "signature-item-empty",
]


@pytest.mark.dcmtk
@pytest.mark.parametrize("what", BROKEN)
def test_broken_signature_data_is_failed(
    what: str,
    dcmsign_vectors: dict[str, SignedVector],
    trust: tuple[list[Path], list[Path]],
    tmp_path: Path,
) -> None:
    """Malformed signature data: FAILED (exit 1) with a JSON report, no traceback."""
    ds = pydicom.dcmread(dcmsign_vectors["rsa-mac-sha256"].path)
    _broken(ds, what)
    path = tmp_path / f"{what}.dcm"
    ds.save_as(path)
    run = verify_json(path, *trust)
    assert run.returncode == 1, run.describe()
    assert "Traceback" not in run.stderr + run.stdout
    doc = run.json()
    assert_report_shape(doc)
    entry = file_entry(doc, path)
    assert entry["verdict"] == "FAILED"
    assert [s["verdict"] for s in entry["signatures"]] == ["FAILED"]
