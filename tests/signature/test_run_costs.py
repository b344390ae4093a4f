"""Work done once per run: lean start-up of ``verify`` and one chain validation per signer.

Behaviour only (which modules a run loads, which results are shared); never timings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydicom.data import get_testdata_file

from dicomseal.signature import SigningCredentials, TrustContext, sign_file
from dicomseal.signature.credentials import load_certificates
from dicomseal.signature.status import TrustReason
from pki import TestPki

_NOW = dt.datetime.now(dt.UTC)
_HEAVY = (
    "pydicom",
    "numpy",
    "asn1crypto",
    "rich.console",
    "rich.progress",
    "asyncio",
    "dicomseal.signature.sign",
    "multiprocessing",  # the worker pool of a folder
    "dicomseal.cli.progress",
    "dicomseal.report.etsi",  # JSON only
    "dicomseal.signature.revocation",  # only when revocation is asked for, or a medium
    # signing only: verifying reads certificates through dicomseal.signature.certificates
    "dicomseal.signature.credentials",
    "dicomseal.signature.keys",
    "dicomseal.signature.preflight",
    "cryptography.hazmat.primitives.serialization.pkcs12",
    "dicomseal.signature.truststore",  # the store's folders: only without --trust
    "dicomseal.dicom.syntax_registry",  # pydicom's registry: the tests' oracle
    "dicomseal.signature.timestamp_check",  # only for a signature with a timestamp token
    "zlib",  # only for a deflated data set
)


@pytest.fixture(scope="module")
def signed(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pydicom's CT_small.dcm signed in-process by the test signer."""
    src = get_testdata_file("CT_small.dcm")
    assert isinstance(src, str)
    out = tmp_path_factory.mktemp("costs") / "signed.dcm"
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    sign_file(src, out, creds, signed_at=_NOW - dt.timedelta(minutes=1))
    return out


def test_verify_one_file_loads_no_heavy_module(signed: Path, pki: TestPki) -> None:
    """A PASSED one-file verify piped (no terminal) loads no pydicom, rich, asyncio or signing."""
    argv = [
        "verify",
        str(signed),
        "--trust",
        str(pki.root.cert),
        "--untrusted",
        str(pki.intermediate.cert),
    ]
    probe = (
        "import json, sys\n"
        "from dicomseal.cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        f"print(json.dumps([code, [m for m in {_HEAVY!r} if m in sys.modules]]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False, timeout=120
    )
    code, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert code == 0, proc.stdout + proc.stderr
    assert loaded == [], f"loaded on the verify path: {loaded}"


def test_chain_validated_once_per_signer_and_time(pki: TestPki) -> None:
    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    (leaf,) = load_certificates(pki.signer.cert)
    first = ctx.validate(leaf, _NOW)
    assert first.reason is TrustReason.TRUSTED
    assert ctx.validate(leaf, _NOW) is first  # memoised, not validated again
    later = _NOW + dt.timedelta(days=36500)  # far past the signer's validity
    assert ctx.validate(leaf, later).reason is TrustReason.EXPIRED
    assert ctx.validate(leaf, _NOW) is first


def test_memo_is_private_to_each_context(pki: TestPki) -> None:
    """Other anchors or intermediates never reuse another context's outcome."""
    (leaf,) = load_certificates(pki.signer.cert)
    trusted = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    assert trusted.validate(leaf, _NOW).trusted
    other = TrustContext.load([pki.untrusted_root.cert], [pki.intermediate.cert])
    assert other.validate(leaf, _NOW).reason is TrustReason.UNTRUSTED_SIGNER
    no_inter = dataclasses.replace(trusted, intermediates=())
    assert no_inter.validate(leaf, _NOW).reason is TrustReason.UNTRUSTED_SIGNER
    assert trusted.validate(leaf, _NOW).trusted


def test_both_cores_give_the_same_results_in_order(
    signed: Path, pki: TestPki, tmp_path: Path
) -> None:
    """Forked workers (chunked) return exactly what one process returns, in input order."""
    from dicomseal.signature.batch import verify_paths

    paths = []
    for i in range(40):
        target = tmp_path / f"{i:03d}.dcm"
        data = signed.read_bytes()
        if i % 7 == 3:  # some tampered pixels among the intact files
            at = data.rfind(b"\xe0\x7f\x10\x00") + 200
            data = data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :]
        target.write_bytes(data)
        paths.append(target)
    (tmp_path / "notdicom.dcm").write_bytes(b"x" * 300)
    paths.insert(5, tmp_path / "notdicom.dcm")
    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    one = list(verify_paths(paths, ctx, at=_NOW, workers=1))
    two = list(verify_paths(paths, ctx, at=_NOW, workers=2))
    assert [r.path for r in two] == [str(p) for p in paths]
    assert [(r.verdict, r.reason, r.message) for r in two] == [
        (r.verdict, r.reason, r.message) for r in one
    ]
    assert {r.verdict.name for r in one} == {"PASSED", "FAILED", "INDETERMINATE"}
    signers = [s.certificate for r in two for s in r.signatures]
    assert signers and all(c == signers[0] for c in signers)
    assert [s.chain for r in two for s in r.signatures] == [
        s.chain for r in one for s in r.signatures
    ]


def test_each_worker_process_validates_a_chain_once(
    signed: Path, pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain memo lives per worker process, not per chunk of files handed out.

    40 files of one signer in chunks of 2 on two processes (this one and a forked helper,
    :mod:`dicomseal.shared_pool`): each process validates the chain once at most (20
    chunks used to cost 20 validations). Each validation is logged by the process that
    made it (the pool is real; the worker-count decision is pinned).
    """
    from dicomseal import workers
    from dicomseal.signature.batch import verify_paths

    log = tmp_path / "validations.log"
    real = TrustContext._validate

    def logged(self: TrustContext, *args: object) -> object:
        with log.open("a") as fh:
            fh.write(f"{os.getpid()}\n")
        return real(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(TrustContext, "_validate", logged)
    monkeypatch.setattr(workers, "CHUNK", 2)
    paths = []
    for i in range(40):
        paths.append(tmp_path / f"{i:03d}.dcm")
        paths[-1].write_bytes(signed.read_bytes())
    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    results = list(verify_paths(paths, ctx, at=_NOW, workers=2))
    assert {r.verdict.name for r in results} == {"PASSED"}
    pids = log.read_text().split()
    assert 1 <= len(pids) <= 2 and len(set(pids)) == len(pids), pids


def test_little_work_stays_in_one_process() -> None:
    from dicomseal.signature.batch import MIN_FILES_PER_WORKER, worker_count

    assert worker_count(2 * MIN_FILES_PER_WORKER - 1) == 1
    assert worker_count(10_000, wanted=1) == 1
    assert 1 <= worker_count(10_000) <= (os.cpu_count() or 1)


def test_results_share_one_object_per_certificate(
    signed: Path, pki: TestPki, tmp_path: Path
) -> None:
    from dicomseal.signature.batch import verify_paths

    paths = []
    for i in range(3):
        paths.append(tmp_path / f"{i}.dcm")
        paths[-1].write_bytes(signed.read_bytes())
    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    results = list(verify_paths(paths, ctx, at=_NOW, workers=1))
    signers = [s.certificate for r in results for s in r.signatures]
    assert len(signers) == 3 and signers[0] is not None
    assert all(c is signers[0] for c in signers)


def test_files_without_a_time_share_one_validation(
    signed: Path, pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N files of one signer, no ``at=``: one validation time, one chain validation."""
    from dicomseal.signature.verify import verify_file

    calls: list[dt.datetime] = []
    real = TrustContext._validate

    def counting(self: TrustContext, *args: object) -> object:
        calls.append(args[1])  # type: ignore[arg-type]
        return real(self, *args)  # type: ignore[arg-type]

    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    expected = [verify_file(signed, ctx, at=_NOW) for _ in range(2)]
    monkeypatch.setattr(TrustContext, "_validate", counting)
    fresh = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    results = []
    for i in range(6):
        copy = tmp_path / f"{i}.dcm"
        copy.write_bytes(signed.read_bytes())
        results.append(verify_file(copy, fresh))
    assert len(calls) == 1, calls
    assert calls[0] == fresh.run_time()
    assert {(r.verdict, r.reason, r.message) for r in results} == {
        (e.verdict, e.reason, e.message) for e in expected
    }
    assert results[0].verdict.name == "PASSED"
    assert all(s.chain == results[0].signatures[0].chain for r in results for s in r.signatures)


def test_folder_report_keeps_only_what_it_shows(
    signed: Path, pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Results stream: at render time a passing file that is not shown is no longer held."""
    import weakref

    import dicomseal.cli.verify as cli_verify
    from dicomseal.cli.options import select_trust
    from dicomseal.signature.verify import verify_file

    selection = select_trust((pki.root.cert,), (pki.intermediate.cert,))
    passed = verify_file(signed, selection.context, at=_NOW)
    assert passed.verdict.name == "PASSED"
    for i in range(50):
        (tmp_path / f"{i:02d}.dcm").write_bytes(b"")
    refs: list[weakref.ref[object]] = []

    def fake_paths(paths: list[Path], *args: object, **kwargs: object) -> object:
        for p in paths:
            result = dataclasses.replace(passed, path=str(p))
            refs.append(weakref.ref(result))
            yield result

    alive_at_render: list[int] = []
    real_render = cli_verify.render_text

    def render(*args: object, **kwargs: object) -> None:
        alive_at_render.append(sum(r() is not None for r in refs))
        real_render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli_verify, "verify_paths", fake_paths)
    monkeypatch.setattr(cli_verify, "render_text", render)
    code = cli_verify.verify_files_and_render(tmp_path, selection, at=_NOW, fmt="text")
    assert code == 0
    assert len(refs) == 50
    # the file naming the signer, and the last one still bound to the loop variable
    assert alive_at_render and max(alive_at_render) <= 2


def test_signer_certificate_parsed_once_per_run(
    signed: Path, pki: TestPki, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """N files of one signer: one parse of the Certificate of Signer, one subject name."""
    import dicomseal.signature.trust_verdict as trust_verdict
    from dicomseal.signature.verify import verify_file

    parsed: list[bytes] = []
    real = trust_verdict.load_signer_certificate

    def counting(der: bytes) -> object:
        parsed.append(der)
        return real(der)

    monkeypatch.setattr(trust_verdict, "load_signer_certificate", counting)
    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    results = []
    for i in range(4):
        copy = tmp_path / f"{i}.dcm"
        copy.write_bytes(signed.read_bytes())
        results.append(verify_file(copy, ctx, at=_NOW))
    assert len(parsed) == 1
    assert {r.verdict.name for r in results} == {"PASSED"}
    certs = [s.certificate for r in results for s in r.signatures]
    assert len(certs) == 4 and all(c is certs[0] for c in certs)
    assert {s.signer for r in results for s in r.signatures} == {
        certs[0].subject.rfc4514_string()  # type: ignore[union-attr]
    }


def test_certificate_memo_never_keeps_a_refused_or_huge_der(pki: TestPki) -> None:
    (leaf,) = load_certificates(pki.signer.cert)
    der = leaf.public_bytes(serialization.Encoding.DER)
    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    calls: list[bytes] = []

    def parse(data: bytes) -> x509.Certificate:
        calls.append(data)
        if not data.startswith(der):
            raise ValueError("refused")
        return leaf

    assert ctx.parsed_certificate(der, parse) is leaf
    assert ctx.parsed_certificate(der, parse) is leaf
    assert calls == [der]
    for _ in range(2):
        with pytest.raises(ValueError):
            ctx.parsed_certificate(b"\x30\x00", parse)
    assert calls == [der, b"\x30\x00", b"\x30\x00"]  # refused: parsed again, not kept
    huge = der + bytes(64 * 1024)  # accepted, but too long a key to keep
    assert ctx.parsed_certificate(huge, parse) is leaf
    assert ctx.parsed_certificate(huge, parse) is leaf
    assert calls[3:] == [huge, huge]
    assert ctx.subject_name(leaf) == leaf.subject.rfc4514_string()
    assert ctx.subject_name(leaf) is ctx.subject_name(leaf)
