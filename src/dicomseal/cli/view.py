"""CLI: ``dicomseal view MEDIUM`` -- browse a medium in a local web viewer with its verdict."""

from __future__ import annotations

import contextlib
import datetime as dt
import signal
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dicomseal.cli.options import InputPath, err_console, parse_at, select_trust, strict_option
from dicomseal.cli.progress import progress_report
from dicomseal.errors import UsageError
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import open_media
from dicomseal.workers import Decided, worker_count

if TYPE_CHECKING:
    from rich.console import Console

    from dicomseal.viewer.integrity import MediumIntegrity

__all__ = ["view"]


@click.command("view")
@click.argument("media", metavar="MEDIUM", type=InputPath(path_type=Path))
@click.option(
    "--trust",
    "trust",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Trust anchor certificate (PEM) or a folder of them; repeat for several. "
    "Default: the trust store ('dicomseal trust list').",
)
@click.option(
    "--untrusted",
    multiple=True,
    metavar="PEM",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Intermediate certificates to build chains with (not trusted), repeatable.",
)
@click.option(
    "--at",
    "at_",
    metavar="DATETIME",
    help="Validate certificates at this time (ISO 8601, default now).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port on the loopback interface (0 picks a free one).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind: loopback only (127.0.0.1, ::1 or localhost).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    hidden=True,
    help="Allow binding to a non-loopback interface (patient data!).",
)
@click.option("--open", "open_browser", is_flag=True, help="Open the viewer in a browser.")
@strict_option
def view(
    media: Path,
    trust: tuple[Path, ...],
    untrusted: tuple[Path, ...],
    at_: str | None,
    port: int,
    host: str,
    allow_remote: bool,
    open_browser: bool,
    strict: bool,
) -> None:
    """Browse MEDIUM (folder, ISO image or zip) read-only, with its integrity verdict.

    The medium is verified (signed manifest and instance signatures, or the forensic red
    flags when it is unsigned) and then served: every file shown is read again and used
    only when its SHA-256 is the one of the bytes verified (a file changed on the medium
    since is refused, never shown), so every page shows the verdict of exactly the bytes
    shown.
    The first page answers at once and says "Verifying..." with the progress until the
    verdict is in; no image and no patient value is served before. The server listens
    on 127.0.0.1 only and keeps no access log.

    \b
    Exit codes: 0 the server stopped normally; 2 usage; 4 the medium cannot be read
    (the server stops as soon as the verification cannot complete).
    Examples:
      dicomseal view /media/cdrom --trust partner-ca.pem --open
      dicomseal view patient.iso --trust partner-ca.pem --port 8080
    """
    from dicomseal.viewer.catalog import note_header
    from dicomseal.viewer.live import LOOPBACK_HOSTS, start_viewer, wait_for_workers

    if host not in LOOPBACK_HOSTS and not allow_remote:
        raise UsageError(f"refusing to serve patient data on {host}: loopback only")
    when = parse_at(at_)
    sock = _bind(host, port)
    selection = select_trust(trust, untrusted, strict=strict)
    console = err_console()
    console.print(selection.describe(), markup=False)
    anchor_files = list(dict.fromkeys(Path(a.path) for a in selection.anchors))
    with (
        _sigterm_unwinds(),
        sock,
        open_media(media) as medium,
        freeze(medium, copy=False, note=note_header) as source,
    ):
        # Every file is verified (in the background, while the first page already says so);
        # what is served is read again and must hash to what was verified (no disk copy).
        # How many processes: decided now, before the server and a browser load the machine
        # (`media verify`'s rule, read at `media verify`'s moment: its start).
        processes = _processes(source)
        verify = _verifier(console, source, anchor_files, when, strict, untrusted, processes)
        # Verification first: its worker processes hash the medium while this process
        # loads the web server; this thread stays idle (imports nothing) until they are
        # forked, so that no child inherits a lock held by an import in progress.
        startup = start_viewer(source, verify, medium_name=media.name)
        if wait_for_workers(startup, processes):
            startup.mark("workers forked")
        import uvicorn

        from dicomseal.viewer.app import create_started_app

        startup.mark("web stack loaded")
        hosts = LOOPBACK_HOSTS if host in LOOPBACK_HOSTS else (*LOOPBACK_HOSTS, host)
        app = create_started_app(startup, allowed_hosts=hosts, medium_name=media.name)
        config = uvicorn.Config(
            app,
            access_log=False,
            log_level="warning",
            server_header=False,
            limit_concurrency=64,
            timeout_keep_alive=5,
        )
        server = uvicorn.Server(config)
        bound = sock.getsockname()[1]
        url = f"http://{f'[{host}]' if ':' in host else host}:{bound}/"

        def announce() -> None:
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                startup.mark("serving")
                console.print(f"dicomseal view: {url} (Ctrl+C to stop)", markup=False)
                if open_browser:
                    webbrowser.open(url)

        def stop_on_failure() -> None:
            startup.wait()
            if startup.error is not None:
                server.should_exit = True

        threading.Thread(target=announce, daemon=True).start()
        threading.Thread(target=stop_on_failure, daemon=True).start()
        server.run(sockets=[sock])
        if startup.error is not None:
            raise startup.error


def _verifier(
    console: Console,
    source: FrozenMedium,
    anchors: list[Path],
    when: dt.datetime | None,
    strict: bool,
    untrusted: tuple[Path, ...],
    processes: int,
) -> Callable[[Callable[[int, int], None]], MediumIntegrity]:
    """The background verification: progress on the terminal and in the page, then the verdict."""
    from dicomseal.viewer.assess import assess_medium

    def verify(progress: Callable[[int, int], None]) -> MediumIntegrity:
        console.print("Verifying the medium ...", markup=False)
        with progress_report(console) as draw:

            def report(done: int, total: int) -> None:
                progress(done, total)
                draw("verifying files", done, total)

            integrity = assess_medium(
                source,
                anchors,
                at=when,
                strict=strict,
                untrusted=untrusted,
                progress=report,
                workers=processes,
            )
        console.print(f"Verdict: {integrity.verdict.value}: {integrity.headline}", markup=False)
        return integrity

    return verify


def _processes(source: FrozenMedium) -> Decided:
    """Processes to verify with: both cores as `media verify`, one for little work or a
    busy machine (:func:`~dicomseal.workers.worker_count`), decided before serving."""
    files = sum(1 for e in source.entries() if e.readable)
    return Decided(worker_count(files, 2))


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """SIGTERM raises SystemExit (``with`` blocks run: the private snapshot is removed)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # whose protocol says TCP; with proto 0 every small response on a kept-alive connection
    # (a 304, a status answer) waited ~40 ms for the browser's delayed ACK (RFC 1122 §4.2.3.2)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port"
        ) from exc
    return sock
