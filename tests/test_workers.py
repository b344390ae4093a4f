"""How many processes check a run's files: both cores only when the other one is idle now.

Unit tests of :func:`dicomseal.workers.worker_count` with injected readings of the other
processes' load (fakes, never timings), the reading of ``/proc/loadavg``, and the CLI's
``--workers`` / ``$DICOMSEAL_WORKERS`` reaching the pool.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydicom.data import get_testdata_file

from dicomseal import workers
from dicomseal.cli.main import main
from dicomseal.errors import UsageError
from dicomseal.signature import SigningCredentials, sign_file
from dicomseal.workers import (
    MIN_FILES_PER_WORKER,
    WORKERS_ENV,
    other_load,
    runnable_others,
    worker_count,
)
from pki import TestPki

_MANY = 8 * MIN_FILES_PER_WORKER


def _never() -> float:
    raise AssertionError("the load was read although the decision did not need it")


def _loadavg(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "loadavg"
    path.write_text(line, encoding="ascii")
    return path


def test_runnable_others_counts_the_runnable_tasks_but_the_reader() -> None:
    assert runnable_others("1.00 0.97 0.80 1/91 7294\n") == 0  # only the reader runs
    assert runnable_others("0.10 0.20 0.30 3/103 8211\n") == 2
    assert runnable_others("0.10 0.20 0.30 0/103 8211\n") == 0
    for bad in ("", "1.00 0.97 0.80", "1.00 0.97 0.80 91 7294", "a b c x/91 1"):
        with pytest.raises(ValueError):
            runnable_others(bad)


def test_other_load_ignores_the_one_minute_average_of_our_own_last_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A script running one command after another keeps the 1-minute load at ~1 by itself:
    what counts is what runs now besides the reader."""
    monkeypatch.setattr(os, "getloadavg", lambda: (1.0, 1.0, 1.0))
    assert other_load(_loadavg(tmp_path, "1.00 1.00 0.99 1/91 7294\n"), gap=0) == 0.0
    assert other_load(_loadavg(tmp_path, "0.00 0.00 0.00 2/91 7294\n"), gap=0) == 1.0


def test_other_load_takes_the_median_of_its_readings(tmp_path: Path) -> None:
    """One reading that catches a short-lived process does not decide alone."""
    path = _loadavg(tmp_path, "")
    lines = iter(["0 0 0 1/9 1", "0 0 0 5/9 1", "0 0 0 1/9 1", "0 0 0 2/9 1", "0 0 0 1/9 1"])

    class Changing(type(path)):  # type: ignore[misc]
        def read_text(self, *args: Any, **kwargs: Any) -> str:
            return next(lines)

    assert other_load(Changing(path), samples=5, gap=0) == 0.0


def test_other_load_without_proc_falls_back_to_the_load_average(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "getloadavg", lambda: (1.5, 1.0, 1.0))
    assert other_load(tmp_path / "absent", gap=0) == 1.5
    assert other_load(_loadavg(tmp_path, "garbage\n"), gap=0) == 1.5


@pytest.mark.skipif(not Path("/proc/loadavg").exists(), reason="no /proc/loadavg")
def test_other_load_reads_this_machine() -> None:
    assert 0.0 <= other_load(gap=0) < 10_000


def test_both_cores_when_the_other_core_is_idle_now() -> None:
    """A script's own last command keeps the one-minute average at ~1 (or ~2 after a
    run on both cores): that alone never takes the second core away."""
    for recent in (0.0, 1.0, 2.0, 2.5):
        assert worker_count(_MANY, cores=2, others=lambda: 0.0, recent=lambda r=recent: r) == 2
    assert worker_count(_MANY, 2, cores=2, others=lambda: 0.0, recent=lambda: 1.0) == 2
    assert worker_count(_MANY, cores=4, others=lambda: 1.0, recent=lambda: 1.0) == 3


def test_one_process_when_another_process_keeps_the_other_core_busy() -> None:
    assert worker_count(_MANY, cores=2, others=lambda: 1.0, recent=lambda: 1.0) == 1
    assert worker_count(_MANY, cores=2, others=lambda: 3.0, recent=lambda: 1.0) == 1
    assert worker_count(_MANY, cores=4, others=lambda: 4.0, recent=lambda: 1.0) == 1


def test_one_process_on_a_machine_oversubscribed_for_a_minute() -> None:
    """Other tasks that come and go may all be asleep at the instant of the sample."""
    for recent in (2.6, 5.0, 12.0):
        assert worker_count(_MANY, cores=2, others=_never, recent=lambda r=recent: r) == 1
    assert worker_count(_MANY, cores=4, others=lambda: 0.0, recent=lambda: 4.0) == 4


def test_one_process_for_little_work_or_when_asked_without_reading_the_load() -> None:
    few = 2 * MIN_FILES_PER_WORKER - 1
    assert worker_count(few, cores=2, others=_never, recent=_never) == 1
    assert worker_count(_MANY, 1, cores=2, others=_never, recent=_never) == 1
    assert worker_count(_MANY, cores=1, others=_never, recent=_never) == 1
    assert worker_count(0, cores=2, others=_never, recent=_never) == 1


def test_the_environment_forces_the_count_within_the_caps() -> None:
    forced = {WORKERS_ENV: "2"}
    assert worker_count(_MANY, cores=2, others=_never, recent=_never, environ=forced) == 2
    assert worker_count(3, cores=2, others=_never, environ=forced) == 2  # little work too
    assert worker_count(1, cores=2, others=_never, environ=forced) == 1  # one item
    assert worker_count(_MANY, 1, cores=2, others=_never, environ=forced) == 1  # --workers 1
    assert worker_count(_MANY, cores=2, others=_never, environ={WORKERS_ENV: "8"}) == 2
    assert worker_count(_MANY, cores=2, others=_never, environ={WORKERS_ENV: "1"}) == 1
    unset = {WORKERS_ENV: " "}
    assert worker_count(_MANY, cores=2, others=lambda: 0.0, recent=lambda: 1.0, environ=unset) == 2
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(UsageError):
            worker_count(_MANY, cores=2, others=_never, environ={WORKERS_ENV: bad})


# -- the CLI: --workers and $DICOMSEAL_WORKERS reach the pool ------------------------------


@pytest.fixture(scope="module")
def folder(pki: TestPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four copies of pydicom's CT_small.dcm signed in-process by the test signer."""
    src = get_testdata_file("CT_small.dcm")
    assert isinstance(src, str)
    out = tmp_path_factory.mktemp("workers")
    creds = SigningCredentials.load(pki.signer.key, pki.signer.cert)
    when = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    sign_file(src, out / "0.dcm", creds, signed_at=when)
    for i in range(1, 4):
        (out / f"{i}.dcm").write_bytes((out / "0.dcm").read_bytes())
    return out


def _pool_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    sizes: list[int] = []
    real = workers.run_in_workers

    def recorded(items: Sequence[Any], setup: Callable[..., Any], job: Any, **kw: Any) -> Any:
        sizes.append(kw["processes"])
        return real(items, setup, job, **kw)

    monkeypatch.setattr(workers, "run_in_workers", recorded)
    return sizes


def _verify(
    folder: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch, *extra: str, env: str | None
) -> int:
    """``dicomseal verify FOLDER -q EXTRA`` in-process with ``$DICOMSEAL_WORKERS=env``."""
    if env is None:
        monkeypatch.delenv(WORKERS_ENV, raising=False)
    else:
        monkeypatch.setenv(WORKERS_ENV, env)
    argv = ["verify", str(folder), "--trust", str(pki.root.cert)]
    argv += ["--untrusted", str(pki.intermediate.cert), "-q", *extra]
    with pytest.raises(SystemExit) as info:
        main(argv)
    code = info.value.code
    return code if isinstance(code, int) else 0


def test_verify_folder_uses_the_forced_count(
    folder: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _pool_sizes(monkeypatch)
    assert _verify(folder, pki, monkeypatch, env="2") == 0
    assert _verify(folder, pki, monkeypatch, "--workers", "1", env="2") == 0
    assert _verify(folder, pki, monkeypatch, "--workers", "2", env=None) == 0  # 4 files
    assert sizes == [2, 1, 1]


def test_verify_folder_refuses_a_bad_forced_count(
    folder: Path, pki: TestPki, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sizes = _pool_sizes(monkeypatch)
    assert _verify(folder, pki, monkeypatch, env="many") == 2
    assert f"${WORKERS_ENV} must be a whole number" in capsys.readouterr().err
    assert sizes == []


def test_a_run_sends_each_certificate_as_one_der_object(folder: Path, pki: TestPki) -> None:
    """Every file names the same signer and chain: the DER crosses once per chunk (pickle
    writes one object once), and the parent gets the certificates back."""
    import pickle

    from dicomseal.signature.trust import TrustContext
    from dicomseal.signature.verify import verify_path

    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    at = ctx.run_time()
    files = [verify_path(p, ctx, at=at) for p in sorted(folder.iterdir())]
    assert all(f.verdict.name == "PASSED" for f in files)
    certificates = workers.Certificates()
    crossing = certificates.crossing()
    packed = [crossing.pack(f) for f in files]
    ders = [p[1] for p in packed]  # type: ignore[index]
    assert all(d[0][0] is ders[0][0][0] for d in ders)  # the signer, once
    assert all(a is b for d in ders for a, b in zip(d[0][1], ders[0][0][1], strict=True))
    bare = [(v, ()) for v, _certs in packed]  # type: ignore[misc]
    once = len(ders[0][0][0]) + sum(map(len, ders[0][0][1]))
    assert len(pickle.dumps(packed)) - len(pickle.dumps(bare)) < once + 100 * len(packed)
    back = [crossing.unpack(p) for p in pickle.loads(pickle.dumps(packed))]
    for f, b in zip(files, back, strict=True):
        assert b.signatures[0].certificate == f.signatures[0].certificate
        assert b.signatures[0].chain == f.signatures[0].chain
        assert b.signatures[0].certificate is back[0].signatures[0].certificate


def test_sharing_keeps_one_object_per_certificate_with_a_bounded_memo(
    folder: Path, pki: TestPki
) -> None:
    """Equal certificates from separate loads become the run's one object; objects met
    before are recognised without growing the memo past its bound."""
    import dataclasses

    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from dicomseal.signature.trust import TrustContext
    from dicomseal.signature.verify import verify_path

    ctx = TrustContext.load([pki.root.cert], [pki.intermediate.cert])
    first = verify_path(next(iter(sorted(folder.iterdir()))), ctx, at=ctx.run_time())
    sig = first.signatures[0]
    assert sig.certificate is not None
    der = sig.certificate.public_bytes(Encoding.DER)
    certificates = workers.Certificates()
    assert certificates.share(first) is first  # already the run's objects: unchanged
    packer = workers.CertificatePacker()
    certs_first = packer.pack(first)[1]
    for _ in range(2 * workers._ID_MEMO_LIMIT):
        copy = x509.load_der_x509_certificate(der)  # equal, another object
        again = dataclasses.replace(first, signatures=(dataclasses.replace(sig, certificate=copy),))
        shared = certificates.share(again)
        assert shared.signatures[0].certificate is sig.certificate
        assert shared.signatures[0].chain == sig.chain
        assert certificates.share(shared) is shared
        assert len(certificates._ids) <= workers._ID_MEMO_LIMIT
        _packed, certs = packer.pack(again)
        assert certs[0][0] is certs_first[0][0]  # the same DER object for an equal one
        assert len(packer._ids) <= workers._ID_MEMO_LIMIT
