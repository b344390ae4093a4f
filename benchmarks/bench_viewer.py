#!/usr/bin/env python3
"""Benchmark ``dicomseal view`` in a real browser (Playwright + Debian chromium).

Builds a signed medium (``media create``) holding one CT series of ``--slices`` 512x512
12-bit slices and one ``--cr``x``--cr`` CR image, starts the real ``dicomseal view`` on it
and measures, median [min-max] over ``--rounds`` rounds:

* start-up: the URL line (first page served) and the verdict in (``/api/status`` ready)
  after the process start, next to ``media verify`` of the same medium alone;
* first image: a fresh browser context asks for the CT reading page (warm server) until
  the first image is drawn on screen (the page's ``dicomseal-first-image`` performance
  mark: set by the first paint, ``reader-first.js``, when it draws an uncompressed first
  image, else on Cornerstone's first IMAGE_RENDERED), then the same page revisited;
  ``dicomseal-handover`` marks Cornerstone's first render (its tools follow);
* stack scrolling: every slice of the series shown in turn, each awaited until rendered
  (first pass: fetched and decoded; second pass: from the browser's image cache);
* the CR at full resolution: page request until drawn (same mark), and until
  Cornerstone's handover.

Targets (issue "A viewer a radiologist would read in"): first CT image <= 300 ms,
scrolling >= 25 images/s, the CR <= 1 s; start-up within 1.5x of ``media verify``. Not a
test; run it by hand::

    .venv/bin/python benchmarks/bench_viewer.py --workdir /tmp/bench-viewer
    .venv/bin/python benchmarks/bench_viewer.py --slices 40 --cr 1500 --rounds 3  # quick
    .venv/bin/python benchmarks/bench_viewer.py --startup-only --baseline /tmp/base/src

``--baseline SRC`` runs another source tree (e.g. ``git archive main src | tar -x -C
/tmp/base``) in the same rounds, interleaved (order alternating), for before/after figures
on a shared machine. The reading page also sets performance marks on the way to the first
image (``dicomseal-engine``: the bundle is evaluated; ``dicomseal-viewport``: the viewport
is enabled); their medians are printed when present.

``--startup-only`` measures only the start-up -- the first page (URL printed), the verdict
in, and the first verified image on screen (a fresh browser context asks for the first
page as soon as the URL is printed and follows it to the reading page; the page's
``dicomseal-first-image`` mark), each from the process start, next to ``media verify``
alone -- and the files the viewer opens per instance (every ``open`` of the frozen
snapshot, during verification and while the catalog is built), for this tree
(``--tree SRC``, default the repo's) and, interleaved in the same rounds, for
``--baseline`` (another source tree, e.g. ``git archive main src | tar -x -C /tmp/base``).
Next to "verdict in" (this script's own question to ``/api/status`` every 50 ms, as
before) it prints, where the server says so, the **verdict ready on the server** (the
``ready`` step of the server's own timeline in ``/api/status``: the state built, from the
server's clock, without the polling delay) and the **verdict on screen** (the first moment
a page of the tab shows a verdict in its banner -- the verifying page once it has the
verdict, else the reading page -- seen by a script this benchmark adds to the page), and
the median time of each step of the server's timeline. ``--no-browser`` starts the
viewer without a browser (only this script's questions), to tell the browser's part of
the start-up from the server's.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from pydicom.uid import generate_uid

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "benchmarks"))

from workload import ct_slice, timed  # noqa: E402

from pki import TestPki, make_pki  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]
PYTHON = [sys.executable, "-m", "dicomseal"]

SCROLL_JS = """async (n) => {
  const vp = window.dicomsealReader.viewport;
  const rendered = () => new Promise((resolve) => {
    const done = () => {
      vp.element.removeEventListener('CORNERSTONE_IMAGE_RENDERED', done);
      resolve(true);
    };
    vp.element.addEventListener('CORNERSTONE_IMAGE_RENDERED', done);
    setTimeout(() => resolve(false), 5000);
  });
  const show = async (i) => {
    const next = rendered();
    await vp.setImageIdIndex(i);
    return next;
  };
  await show(n - 1);
  let missed = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if (!(await show(i))) missed++;
  return [performance.now() - t0, missed];
}"""


def write_sources(src: Path, slices: int, cr_side: int) -> None:
    """The CT series (with orientation and spacing) and the CR image, unsigned."""
    study, series = generate_uid(), generate_uid()
    for i in range(slices):
        ds = ct_slice(i, 512, 512, study, series)
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [0.7, 0.7]
        ds.SliceThickness = 1
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.WindowCenter, ds.WindowWidth = 40, 400
        ds.save_as(src / f"ct-{i:04d}.dcm", enforce_file_format=True)
    cr = ct_slice(0, cr_side, cr_side, study, generate_uid())
    cr.Modality, cr.SeriesNumber = "CR", 2
    ramp = np.add.outer(np.arange(cr_side), np.arange(cr_side)) % 4096
    cr.PixelData = ramp.astype("<u2").tobytes()
    cr.ImagerPixelSpacing = [0.143, 0.143]
    cr.save_as(src / "cr.dcm", enforce_file_format=True)


def build(work: Path, slices: int, cr_side: int) -> tuple[Path, TestPki]:
    """The signed medium (reused when it is there with the same shape, with its PKI).

    A reused medium keeps the root it was signed under: a new root would make it an
    untrusted medium, which the viewer reads through its forensic path instead.
    """
    medium = work / f"medium-{slices}-{cr_side}"
    kept = work / "pki"
    if (medium / "DICOMDIR").exists() and (kept / "root.crt.pem").exists():
        fresh = make_pki(work / "pki-unused")  # the bench only needs the medium's root
        root = dataclasses.replace(
            fresh.root, cert=kept / "root.crt.pem", key=kept / "TEST_ONLY_root.key.pem"
        )
        return medium, dataclasses.replace(fresh, root=root)
    shutil.rmtree(medium, ignore_errors=True)
    pki = make_pki(kept)
    src = work / f"src-{slices}-{cr_side}"
    src.mkdir(parents=True, exist_ok=True)
    write_sources(src, slices, cr_side)
    subprocess.run(
        [
            *PYTHON,
            "media",
            "create",
            str(src),
            "--out",
            str(medium),
            "--key",
            str(pki.signer.key),
            "--cert",
            str(pki.signer.cert),
            "--chain",
            str(pki.intermediate.cert),
            "--label",
            "BENCHVIEW",
        ],
        check=True,
    )
    return medium, pki


def launch_view(medium: Path, pki: TestPki) -> tuple[subprocess.Popen[str], str, float, float]:
    """Start ``dicomseal view``; its URL, its start (``perf_counter``) and seconds to the URL."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [*PYTHON, "view", str(medium), "--trust", str(pki.root.cert), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    url = ""
    for line in proc.stderr:
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        if found:
            url = found.group(1)
            break
    t_url = time.perf_counter() - t0
    if not url:
        proc.kill()
        raise RuntimeError("dicomseal view printed no URL")
    stderr = proc.stderr
    threading.Thread(target=lambda: stderr.read(), daemon=True).start()
    return proc, url, t0, t_url


def start_view(medium: Path, pki: TestPki) -> tuple[subprocess.Popen[str], str, float, float]:
    """Start ``dicomseal view``; its URL, and seconds to the URL line and to the verdict."""
    proc, url, t0, t_url = launch_view(medium, pki)
    while httpx.get(url + "api/status", timeout=10).json()["status"] == "verifying":
        time.sleep(0.01)
    return proc, url, t_url, time.perf_counter() - t0


def cpu_so_far(pid: int) -> float:
    """User+sys CPU seconds of a running process and its reaped children (``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime (proc(5))
    return ticks / os.sysconf("SC_CLK_TCK")


OPENS_PY = """
import sys
from collections import Counter
from dicomseal.media.frozen import FrozenMedium, freeze
from dicomseal.media.source import open_media
from dicomseal.viewer.app import create_app
from dicomseal.viewer.assess import assess_medium
opened = Counter()
real_open = FrozenMedium.open
def counting_open(self, path):
    opened[path] += 1
    return real_open(self, path)
FrozenMedium.open = counting_open
def frozen(medium):
    # the snapshot as `dicomseal view` of this tree makes it (no copy where it can)
    try:
        from dicomseal.viewer.catalog import note_header
        return freeze(medium, copy=False, note=note_header)
    except (ImportError, TypeError):
        return freeze(medium)
with open_media(sys.argv[1]) as medium, frozen(medium) as source:
    integrity = assess_medium(source, [sys.argv[2]])
    verify = sum(opened.values())
    app = create_app(source, integrity)
    n = app.state.viewer.catalog.instance_count
print(n, verify, sum(opened.values()) - verify)
"""


def count_opens(medium: Path, pki: TestPki, src: Path) -> tuple[int, int, int]:
    """Instances, and opens of the snapshot during verification and the catalog."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    out = subprocess.run(
        [sys.executable, "-c", OPENS_PY, str(medium), str(pki.root.cert)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1]), int(out[2])


#: Seconds between two questions for the verdict (its resolution).
POLL = 0.05
FIRST_IMAGE_EPOCH_JS = """() => {
  const m = performance.getEntriesByName('dicomseal-first-image')[0];
  return m ? performance.timeOrigin + m.startTime : null;
}"""


#: Added to every page of the start-up's browser context: the first time (ms since the
#: epoch) a page of the tab shows a verdict in its banner (``data-kind`` one of the four
#: verdicts), kept in the tab's session storage across the reload to the reading page.
VERDICT_SHOWN_KEY = "dicomseal-bench-verdict-shown"
VERDICT_SHOWN_JS = """(() => {
  const KEY = 'KEY_NAME';
  const KINDS = ['passed', 'altered', 'unverifiable', 'unsigned'];
  const seen = () => {
    if (sessionStorage.getItem(KEY)) return true;
    const banner = document.getElementById('verdict-banner');
    if (!banner || !KINDS.includes(banner.dataset.kind)) return false;
    sessionStorage.setItem(KEY, String(performance.timeOrigin + performance.now()));
    return true;
  };
  const watch = () => {
    if (seen()) return;
    const observer = new MutationObserver(() => { if (seen()) observer.disconnect(); });
    observer.observe(document, { subtree: true, childList: true, attributes: true,
                                 attributeFilter: ['data-kind'] });
  };
  watch();
})();""".replace("KEY_NAME", VERDICT_SHOWN_KEY)


@dataclass
class Startup:
    """One start-up of ``dicomseal view``: seconds after the process start."""

    url: float
    verdict: float
    first_image: float | None  # None without a browser
    cpu: float  # user+sys of the server (and its workers) at the verdict
    ready: float | None = None  # the server's own ``ready`` step (None: not reported)
    on_screen: float | None = None  # the verdict first shown in a page's banner
    steps: dict[str, float] = field(default_factory=dict)  # the server's timeline


def watch_startup(medium: Path, pki: TestPki, browser: Any | None) -> Startup:
    """Start ``dicomseal view`` and open its first page in a fresh browser context at once.

    The page is asked for as soon as the URL is printed (the "verifying" page), and is
    followed wherever it goes (the reading page, once the first image may be shown) until
    the page's ``dicomseal-first-image`` mark: the first verified image on screen. A thread
    polls ``/api/status`` every :data:`POLL` s meanwhile for the time of the verdict and the
    CPU spent by then; its last answer carries the server's own timeline (when reported).
    ``browser`` None: no page at all, only that thread.
    """
    t0_epoch = time.time()
    proc, url, t0, t_url = launch_view(medium, pki)
    verdict: dict[str, Any] = {}

    def poll() -> None:
        # every 50 ms: polling every 10 ms kept the server's event loop busy enough to slow
        # the verification thread it shares the interpreter with by seconds (measured)
        while (answer := httpx.get(url + "api/status", timeout=10).json())["status"] == "verifying":
            time.sleep(POLL)
        verdict["at"] = time.perf_counter() - t0
        verdict["cpu"] = cpu_so_far(proc.pid)
        verdict["timeline"] = answer.get("timeline") or {}

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    first_image = on_screen = None
    try:
        if browser is not None:
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            context.add_init_script(VERDICT_SHOWN_JS)
            try:
                page = context.new_page()
                page.goto(url)
                handle = page.wait_for_function(FIRST_IMAGE_EPOCH_JS, timeout=120_000, polling=20)
                first_image = handle.json_value() / 1000 - t0_epoch
                shown = page.evaluate(f"sessionStorage.getItem('{VERDICT_SHOWN_KEY}')")
                on_screen = float(shown) / 1000 - t0_epoch if shown else None
            finally:
                context.close()
        poller.join(timeout=120)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    steps = {k: v - t0_epoch for k, v in verdict["timeline"].items()}
    return Startup(
        t_url, verdict["at"], first_image, verdict["cpu"], steps.get("ready"), on_screen, steps
    )


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def startup_only(
    medium: Path, pki: TestPki, rounds: int, trees: dict[str, Path], browser: Any | None
) -> None:
    """Start-up of this tree (and the baseline), interleaved; opens per instance."""
    for name, src in trees.items():
        count, opens, catalog = count_opens(medium, pki, src)
        print(
            f"{name}: {count} instances; snapshot opens per instance: verification "
            f"{opens / count:.2f}, catalog {catalog / count:.2f}"
        )
    seen: dict[str, list[Startup]] = {name: [] for name in trees}
    alone: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
    for n in range(rounds):
        order = list(trees.items()) if n % 2 == 0 else list(reversed(trees.items()))
        for name, src in order:
            os.environ["PYTHONPATH"] = str(src)
            verify = ["media", "verify", str(medium), "--trust", str(pki.root.cert), "-q"]
            wall, _rss, _rc, cpu = timed([*PYTHON, *verify])
            s = watch_startup(medium, pki, browser)
            seen[name].append(s)
            alone[name].append((wall, cpu))
            print(
                f"round {n + 1} {name}: url {s.url:.2f} s, verdict {s.verdict:.2f} s "
                f"(cpu {s.cpu:.2f} s; ready on the server {_secs(s.ready)}, on screen "
                f"{_secs(s.on_screen)}), first verified image {_secs(s.first_image)}, "
                f"media verify {wall:.2f} s (cpu {cpu:.2f} s), ratio "
                f"{s.verdict / wall:.2f}x wall, {s.cpu / cpu if cpu else 0.0:.2f}x cpu; "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    os.environ.pop("PYTHONPATH", None)
    for name, runs in seen.items():
        secs = lambda v: f"{v:.2f} s"  # noqa: E731
        times = lambda v: f"{v:.2f}x"  # noqa: E731
        pairs = list(zip(runs, alone[name], strict=True))
        print(f"{name}: first page (URL) {summary([r.url for r in runs], secs)}")
        print(f"{name}: verdict in {summary([r.verdict for r in runs], secs)}")
        ready = [(r.ready, a[0]) for r, a in pairs if r.ready is not None]
        if ready:
            print(f"{name}: verdict ready on the server {summary([r for r, _ in ready], secs)}")
        shown = [r.on_screen for r in runs if r.on_screen is not None]
        if shown:
            print(f"{name}: verdict on screen {summary(shown, secs)}")
        firsts = [r.first_image for r in runs if r.first_image is not None]
        if firsts:
            print(f"{name}: first verified image {summary(firsts, secs)}")
        print(f"{name}: media verify {summary([a[0] for a in alone[name]], secs)}")
        print(
            f"{name}: verdict in / media verify "
            f"{summary([r.verdict / a[0] for r, a in pairs], times)}"
        )
        if ready:
            ratios = [r / m for r, m in ready]
            print(f"{name}: verdict ready on the server / media verify {summary(ratios, times)}")
        cpu_ratios = [r.cpu / a[1] if a[1] else 0.0 for r, a in pairs]
        print(f"{name}: CPU at verdict / media verify CPU {summary(cpu_ratios, times)}")
        steps: dict[str, list[float]] = {}
        for r in runs:
            for step, at in r.steps.items():
                steps.setdefault(step, []).append(at)
        for step, values in sorted(steps.items(), key=lambda kv: statistics.median(kv[1])):
            print(f"{name}: server timeline: {step} {summary(values, secs)}")


def series_of(url: str, modality: str) -> str:
    """Id of the (first) series of ``modality`` on the served medium."""
    for n in range(16):
        found = httpx.get(f"{url}api/series/s{n}", timeout=10)
        if found.status_code == 200 and found.json()["modality"] == modality:
            return f"s{n}"
    raise RuntimeError(f"no {modality} series served")


FIRST_IMAGE_JS = "performance.getEntriesByName('dicomseal-first-image')[0].startTime"
HANDOVER_JS = """(performance.getEntriesByName('dicomseal-handover')[0] ||
  performance.getEntriesByName('dicomseal-first-image')[0]).startTime"""
MARKS_JS = """Object.fromEntries(performance.getEntriesByType('mark')
  .filter((m) => m.name.startsWith('dicomseal-') && m.name !== 'dicomseal-first-image')
  .map((m) => [m.name, m.startTime]))"""


def first_render(
    browser: Any, url: str, revisits: int = 0
) -> tuple[float, float, dict[str, float]]:
    """Seconds from the page request to the first image on screen: a fresh browser
    context (nothing cached), then the best of ``revisits`` reloads in the same context
    (the viewer's code revalidated from the browser cache). Both read the page's own
    ``dicomseal-first-image`` mark (set on Cornerstone's first IMAGE_RENDERED), whose
    origin is the navigation start; and the page's other marks of the fresh visit."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        times = []
        marks: dict[str, float] = {}
        for _ in range(1 + revisits):
            page.goto(url)
            page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=60_000)
            times.append(page.evaluate(FIRST_IMAGE_JS) / 1000)
            if not marks:
                marks = {k: v / 1000 for k, v in page.evaluate(MARKS_JS).items()}
                # the baseline has no handover mark: its first image is Cornerstone's render
                marks.setdefault("dicomseal-handover", page.evaluate(HANDOVER_JS) / 1000)
        return times[0], min(times[1:], default=times[0]), marks
    finally:
        context.close()


def scroll_rates(browser: Any, url: str, slices: int) -> tuple[float, float]:
    """Images per second over the whole series: first pass, then from the cache."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => document.body.dataset.ready === '1'", timeout=60_000)
        rates = []
        for _ in range(2):
            ms, missed = page.evaluate(SCROLL_JS, slices)
            if missed:
                print(f"  ({missed} images not rendered within 5 s)")
            rates.append(slices / (ms / 1000))
        return rates[0], rates[1]
    finally:
        context.close()


def summary(values: list[float], fmt: Callable[[float], str]) -> str:
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}-{fmt(max(values))}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dicomseal-bench-viewer"))
    parser.add_argument("--slices", type=int, default=200)
    parser.add_argument("--cr", type=int, default=3000, help="side of the CR image")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--startup-only", action="store_true")
    parser.add_argument(
        "--reading-only",
        action="store_true",
        help="only first CT image, revisit, CR and scrolling; one server per tree for all rounds",
    )
    parser.add_argument(
        "--no-browser",
        action="store_true",
        help="with --startup-only: no page is opened (the server's start-up alone)",
    )
    parser.add_argument("--baseline", type=Path, help="another source tree, in the same rounds")
    parser.add_argument(
        "--tree", type=Path, default=REPO / "src", help="this tree's source (default: the repo's)"
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.workdir.mkdir(parents=True, exist_ok=True)
    medium, pki = build(args.workdir, args.slices, args.cr)
    size = sum(p.stat().st_size for p in medium.rglob("*") if p.is_file()) / 2**20
    print(f"medium: {args.slices} CT slices + one {args.cr}x{args.cr} CR, {size:.0f} MB")
    trees = {"this tree": args.tree, **({"baseline": args.baseline} if args.baseline else {})}
    if args.startup_only and args.no_browser:
        startup_only(medium, pki, args.rounds, trees, None)
        return 0
    if args.startup_only:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                startup_only(medium, pki, args.rounds, trees, browser)
            finally:
                browser.close()
        return 0
    figures = {name: Figures() for name in trees}
    if args.reading_only:
        return reading_only(medium, pki, args, trees, figures)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for n in range(args.rounds):
                order = list(trees) if n % 2 == 0 else list(reversed(trees))
                for name in order:
                    os.environ["PYTHONPATH"] = str(trees[name])
                    line = one_round(browser, medium, pki, args.slices, figures[name])
                    print(f"round {n + 1} {name}: {line}")
        finally:
            os.environ.pop("PYTHONPATH", None)
            browser.close()
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for name, fig in figures.items():
        print(f"\n{name}:")
        fig.table(args.cr)
    return 0


@dataclass
class Figures:
    """The figures of one source tree, one value per round."""

    starts: list[tuple[float, float, float]] = field(default_factory=list)
    firsts: list[float] = field(default_factory=list)
    revisited: list[float] = field(default_factory=list)
    crs: list[float] = field(default_factory=list)
    cr_handover: list[float] = field(default_factory=list)
    cold: list[float] = field(default_factory=list)
    warm: list[float] = field(default_factory=list)
    marks: dict[str, list[float]] = field(default_factory=dict)

    def table(self, cr: int) -> None:
        ms: Callable[[float], str] = lambda v: f"{v * 1000:.0f} ms"  # noqa: E731
        s: Callable[[float], str] = lambda v: f"{v:.2f} s"  # noqa: E731
        rate: Callable[[float], str] = lambda v: f"{v:.1f}"  # noqa: E731
        ratio: Callable[[float], str] = lambda v: f"{v:.2f}x"  # noqa: E731
        starts = self.starts
        print("| figure | target | measured |\n|---|---|---|")
        if starts:
            self.startup_rows(s, ratio)
        first = summary(self.firsts, ms)
        print(f"| first 512x512 CT image on screen, fresh browser | ≤ 300 ms | {first} |")
        print(f"| same, page revisited (code cached) | ≤ 300 ms | {summary(self.revisited, ms)} |")
        print(f"| stack scrolling, first pass (img/s) | ≥ 25 | {summary(self.cold, rate)} |")
        print(f"| stack scrolling, cached (img/s) | ≥ 25 | {summary(self.warm, rate)} |")
        print(f"| {cr}x{cr} CR at full resolution | ≤ 1 s | {summary(self.crs, ms)} |")
        if self.cr_handover:
            handover = summary(self.cr_handover, ms)
            print(f"| same CR, Cornerstone's first render (tools follow) | | {handover} |")
        for mark, values in self.marks.items():
            print(f"| fresh CT page: `{mark}` mark | | {summary(values, ms)} |")

    def startup_rows(self, s: Callable[[float], str], ratio: Callable[[float], str]) -> None:
        starts = self.starts
        url_served = summary([x[0] for x in starts], s)
        print(f"| first page (URL served) after start | ≤ 2 s | {url_served} |")
        print(f"| verdict in after start | | {summary([x[1] for x in starts], s)} |")
        print(f"| `media verify` alone | | {summary([x[2] for x in starts], s)} |")
        ratios = [x[1] / x[2] for x in starts]
        print(f"| verdict in / `media verify` | ≤ 1.5x | {summary(ratios, ratio)} |")


def reading_only(
    medium: Path, pki: TestPki, args: argparse.Namespace, trees: dict[str, Path], figures: Any
) -> int:
    """The reading figures only: one warm server per tree, many short interleaved rounds."""
    from playwright.sync_api import sync_playwright

    servers = {}
    for name, src in trees.items():
        os.environ["PYTHONPATH"] = str(src)
        servers[name] = start_view(medium, pki)
    os.environ.pop("PYTHONPATH", None)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            pages = {}
            for name, (_proc, url, _u, _r) in servers.items():
                pages[name] = [url + f"read/{series_of(url, m)}" for m in ("CT", "CR")]
                for page in pages[name]:
                    first_render(browser, page)  # warm the server (and its caches)
            for n in range(args.rounds):
                order = list(trees) if n % 2 == 0 else list(reversed(trees))
                for name in order:
                    fig, (ct_page, cr_page) = figures[name], pages[name]
                    fresh, again, marks = first_render(browser, ct_page, revisits=2)
                    fig.firsts.append(fresh)
                    fig.revisited.append(again)
                    for mark, value in marks.items():
                        fig.marks.setdefault(mark, []).append(value)
                    cr_first, _again, cr_marks = first_render(browser, cr_page)
                    fig.crs.append(cr_first)
                    fig.cr_handover.append(cr_marks["dicomseal-handover"])
                    c, w = scroll_rates(browser, ct_page, args.slices)
                    fig.cold.append(c)
                    fig.warm.append(w)
                    print(
                        f"round {n + 1} {name}: first CT {fresh * 1000:.0f} ms (revisit "
                        f"{again * 1000:.0f} ms), CR {fig.crs[-1] * 1000:.0f} ms; scroll "
                        f"{c:.1f} / {w:.1f} img/s; load {os.getloadavg()[0]:.1f}"
                    )
        finally:
            browser.close()
            for proc, *_rest in servers.values():
                proc.terminate()
                proc.wait(timeout=30)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for name, fig in figures.items():
        print(f"\n{name}:")
        fig.table(args.cr)
    return 0


def one_round(browser: Any, medium: Path, pki: TestPki, slices: int, fig: Figures) -> str:
    """One round of every figure against a freshly started viewer; the round's line."""
    verify = ["media", "verify", str(medium), "--trust", str(pki.root.cert), "-q"]
    alone = timed([*PYTHON, *verify])[0]
    proc, url, t_url, t_ready = start_view(medium, pki)
    try:
        ct_page, cr_page = (url + f"read/{series_of(url, m)}" for m in ("CT", "CR"))
        first_render(browser, ct_page)  # warm the server (and its caches)
        first_render(browser, cr_page)
        fresh, again, marks = first_render(browser, ct_page, revisits=2)
        fig.firsts.append(fresh)
        fig.revisited.append(again)
        for mark, value in marks.items():
            fig.marks.setdefault(mark, []).append(value)
        cr_first, _again, cr_marks = first_render(browser, cr_page)
        fig.crs.append(cr_first)
        fig.cr_handover.append(cr_marks["dicomseal-handover"])
        c, w = scroll_rates(browser, ct_page, slices)
        fig.cold.append(c)
        fig.warm.append(w)
        fig.starts.append((t_url, t_ready, alone))
        return (
            f"url {t_url:.2f} s, verdict {t_ready:.2f} s, media verify {alone:.2f} s; "
            f"first CT {fresh * 1000:.0f} ms (revisit {again * 1000:.0f} ms), CR "
            f"{fig.crs[-1] * 1000:.0f} ms; scroll {c:.1f} / {w:.1f} img/s"
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    raise SystemExit(main())
