"""Hostile conditions for shared_pool and QuickExit (each failed on 2e22c2a; redteam review).

1. ``verify FILE > /dev/full``: the report is lost, yet the exit code is the verdict's (0).
2. The pipe of chunk numbers is filled before any reader exists: a pipe smaller than
   64 KiB (an unprivileged user past ``pipe-user-pages-soft`` gets 8 KiB pipes) hangs the
   command forever in ``os.write``.
3. A helper resets an *ignored* SIGINT to SIG_DFL (script background job, ``nohup``-like
   setups): a process-group SIGINT the parent ignores kills the helper -> exit 4.
4. A failed fork leaks the result pipes' write ends.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from dicomseal import workers
from dicomseal.samples import write_sample_studies
from pki import TestPki

SRC = str(Path(__file__).resolve().parent.parent / "src")


def _env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    env.pop("PYTHONUNBUFFERED", None)  # users do not set it: stdout is block-buffered
    return env


def test_verify_file_to_a_full_disk_is_an_io_error(tmp_path: Path, pki: TestPki) -> None:
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=1, rows=8, cols=8)
    signed = tmp_path / "s.dcm"
    sign = [sys.executable, "-m", "dicomseal", "sign", str(sorted(src.rglob("*.dcm"))[0])]
    sign += [str(signed), "--key", str(pki.signer.key), "--cert", str(pki.signer.cert)]
    sign += ["--chain", str(pki.intermediate.cert)]
    subprocess.run(sign, env=_env(), check=True, capture_output=True)
    trust = ["--trust", str(pki.root.cert), "--untrusted", str(pki.intermediate.cert)]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "dicomseal", "verify", str(signed), *trust],
            env=_env(),
            stdout=full,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    # the report was never written: never 0 ("PASSED") with no output and no message
    assert done.returncode == 4, (done.returncode, done.stderr)
    assert done.stderr


_SMALL_PIPES = textwrap.dedent(
    """
    import fcntl, os
    real_pipe = os.pipe
    def small_pipe():
        r, w = real_pipe()
        fcntl.fcntl(w, 1031, 4096)  # F_SETPIPE_SZ: what a user past pipe-user-pages-soft gets
        return r, w
    os.pipe = small_pipe
    from dicomseal import workers
    out = list(workers.run_in_workers(list(range(3000)), lambda f: None,
                                      lambda s, i: i, processes=2, chunk=1))
    assert out == list(range(3000))
    print("done")
    """
)


def _script(source: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """``source`` run by a new interpreter in a session of its own (its own group)."""
    return subprocess.run(
        [sys.executable, "-c", source],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        start_new_session=True,
    )


def test_a_small_pipe_of_chunk_numbers_does_not_hang() -> None:
    try:
        done = _script(_SMALL_PIPES, 30)
    except subprocess.TimeoutExpired:
        pytest.fail("run_in_workers hung writing the chunk numbers into a 4 KiB pipe")
    assert done.stdout.strip() == "done", done.stderr


_IGNORED_SIGINT = textwrap.dedent(
    """
    import os, signal, time
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell does for `cmd &` in a script
    from dicomseal import workers
    def job(_s, i):
        if i == 50:
            os.killpg(0, signal.SIGINT)  # a Ctrl-C the whole group receives
        time.sleep(0.002)
        return i
    out = list(workers.run_in_workers(list(range(400)), lambda f: None, job,
                                      processes=2, chunk=4))
    assert out == list(range(400))
    print("done")
    """
)


def test_helpers_keep_an_ignored_sigint() -> None:
    done = _script(_IGNORED_SIGINT, 60)
    assert done.stdout.strip() == "done", done.stderr[-500:]


def test_a_failed_fork_leaks_no_descriptor(monkeypatch: pytest.MonkeyPatch) -> None:
    real_fork = os.fork
    calls = [0]

    def fork() -> int:
        calls[0] += 1
        if calls[0] == 2:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real_fork()

    before = set(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "fork", fork)
    with pytest.raises(OSError):
        list(workers.run_in_workers(list(range(100)), lambda f: f, lambda f, i: i, processes=4))
    monkeypatch.setattr(os, "fork", real_fork)
    assert set(os.listdir("/proc/self/fd")) - before == set()


def test_verify_file_with_stderr_closed_keeps_its_exit_code(tmp_path: Path) -> None:
    """5. ``verify unsigned.dcm 2>&-``: sys.stderr is None, ``_leave_now`` raises
    AttributeError -> exit 1 (FAILED) instead of 3 (INDETERMINATE); ``>&-`` likewise
    prints a traceback."""
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=1, rows=8, cols=8)
    unsigned = sorted(src.rglob("*.dcm"))[0]
    done = subprocess.run(
        ["bash", "-c", f'"{sys.executable}" -m dicomseal verify "{unsigned}" 2>&- >/dev/null'],
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 3


def test_a_report_into_a_closed_pipe_is_an_io_error(tmp_path: Path) -> None:
    """``dicomseal inspect DIR | true``: the reader is gone before the report is written.
    click answers a broken pipe with exit 1 (the FAILED code), a flush at exit with 120;
    the report was lost, so the exit is 4 with one line on stderr (CLI audit)."""
    src = tmp_path / "src"
    write_sample_studies(src, instances_per_series=1, rows=8, cols=8)
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dicomseal", "inspect", str(src)],
            env=_env(),
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=120,
        )
    finally:
        os.close(write)
    assert done.returncode == 4, (done.returncode, done.stderr)
    assert b"could not be written" in done.stderr
    assert b"Traceback" not in done.stderr
