"""Unit tests of the viewer's parts: PNG encoder, windowing, integrity model, CLI."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from viewer_support import fake_grey

from dicomseal.cli.main import cli
from dicomseal.errors import UsageError
from dicomseal.media.source import open_media
from dicomseal.samples import write_sample_studies
from dicomseal.verdict import Verdict
from dicomseal.viewer.assess import assess_medium
from dicomseal.viewer.integrity import (
    AttributeChange,
    FindingView,
    InstanceIntegrity,
    IntegrityState,
    MediumIntegrity,
    worst_state,
)
from dicomseal.viewer.png import encode_png
from dicomseal.viewer.render import DecodedFrame, Window, apply_window


@pytest.mark.parametrize("shape", [(7, 5), (3, 4, 3), (1, 1)])
def test_png_round_trips_through_pillow(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=shape, dtype=np.uint8)
    decoded = np.asarray(Image.open(io.BytesIO(encode_png(image))))
    assert decoded.shape == shape
    assert np.array_equal(decoded, image)


def test_png_refuses_other_arrays() -> None:
    with pytest.raises(UsageError):
        encode_png(np.zeros((4, 4), dtype=np.uint16))
    with pytest.raises(UsageError):
        encode_png(np.zeros((4, 4, 4), dtype=np.uint8))
    with pytest.raises(UsageError):
        encode_png(np.zeros((0, 4), dtype=np.uint8))


def test_linear_window_follows_ps3_3_c_11_2_1_2() -> None:
    values = np.array([[-1000.0, 0.0, 39.5, 40.0, 1000.0]], dtype=np.float32)
    frame = DecodedFrame(values, Window(40, 400), False, (1, 5))
    out = apply_window(frame, Window(40, 80))
    assert out[0, 0] == 0 and out[0, 4] == 255
    assert 120 <= out[0, 2] <= 130
    inverted = apply_window(DecodedFrame(values, Window(40, 80), True, (1, 5)), Window(40, 80))
    assert inverted[0, 0] == 255 and inverted[0, 4] == 0


def test_worst_state_and_fail_closed_fallbacks() -> None:
    g, y, r = IntegrityState.GREEN, IntegrityState.GREY, IntegrityState.RED
    assert worst_state([g, r, y]) is r
    assert worst_state([g, g]) is g
    assert worst_state([]) is y
    red = MediumIntegrity(r, Verdict.FAILED, "ALTERED")
    assert red.for_instance("X").state is y  # not mentioned: never green
    grey = MediumIntegrity(
        y,
        Verdict.INDETERMINATE,
        "Unsigned: cannot be verified",
        findings=(FindingView("HIGH", True, "c", "m", ("X",)),),
    )
    assert grey.for_instance("X").label == "Unsigned: cannot be verified \u00b7 1 red flag"


def test_shown_value_never_hides_an_alteration() -> None:
    inst = InstanceIntegrity(
        "A",
        IntegrityState.RED,
        "ALTERED",
        changes=(
            AttributeChange("PatientName", "DOE^JOHN", "ROE^JANE"),
            AttributeChange("StudyDescription", None, "FAKE"),
        ),
    )
    whole = InstanceIntegrity("B", IntegrityState.RED, "ALTERED", detail_complete=False)
    integ = MediumIntegrity(
        IntegrityState.RED, Verdict.FAILED, "ALTERED", instances={"A": inst, "B": whole}
    )
    name = integ.shown("A", "PatientName", "ROE^JANE")
    assert (name.text, name.altered, name.found) == ("DOE^JOHN", True, "ROE^JANE")
    desc = integ.shown("A", "StudyDescription", "FAKE")
    assert desc.altered and desc.unverified and desc.text == "FAKE"
    assert not integ.shown("A", "PatientID", "1").altered
    assert integ.shown("B", "PatientID", "1").unverified


def test_assess_unsigned_medium_runs_forensics(tmp_path: Path) -> None:
    write_sample_studies(tmp_path, series_per_study=1, instances_per_series=1)
    with open_media(tmp_path) as source:
        integrity = assess_medium(source, [])
    assert integrity.state is IntegrityState.GREY
    assert integrity.verdict is Verdict.INDETERMINATE
    assert integrity.headline == "Unsigned: cannot be verified"
    assert any(f.code == "no-dicomdir" for f in integrity.findings)


def test_cli_view_refuses_non_loopback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["view", str(tmp_path), "--host", "0.0.0.0"])
    assert isinstance(result.exception, UsageError)


def test_cli_view_allow_remote_still_works_though_hidden(tmp_path: Path) -> None:
    """``--allow-remote`` is no longer advertised in ``--host``'s help but still lifts the
    loopback check: the command goes on to the next check (here a bad --at)."""
    argv = ["view", str(tmp_path), "--host", "0.0.0.0", "--at", "garbage"]
    refused = CliRunner().invoke(cli, argv)
    assert isinstance(refused.exception, UsageError)
    assert "loopback only" in str(refused.exception)
    allowed = CliRunner().invoke(cli, [*argv, "--allow-remote"])
    assert isinstance(allowed.exception, UsageError)
    assert "--at" in str(allowed.exception)


def test_cli_view_port_in_use_is_a_usage_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = CliRunner().invoke(cli, ["view", str(tmp_path), "--port", str(port)])
    assert isinstance(result.exception, UsageError)
    assert "choose another --port" in str(result.exception)


def test_cli_view_serves_the_medium(tmp_path: Path) -> None:
    medium, scratch = tmp_path / "medium", tmp_path / "tmp"
    scratch.mkdir()
    write_sample_studies(medium, series_per_study=1, instances_per_series=1)
    proc = subprocess.Popen(
        [sys.executable, "-m", "dicomseal", "view", str(medium), "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    try:
        assert proc.stderr is not None
        url = None
        lines = []
        for line in proc.stderr:  # the URL and the verdict, in either order
            lines.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = m.group(1) if m else url
            if url and any("Verdict: INDETERMINATE" in seen for seen in lines):
                break
        assert url, "".join(lines)
        assert any("Verdict: INDETERMINATE" in line for line in lines)
        page = httpx.get(url + "browse", timeout=10)
        assert page.status_code == 200 and 'data-state="grey"' in page.text
        assert "DOE^JOHN" in page.text
        (snapshot,) = scratch.iterdir()  # the snapshot's private folder
        assert snapshot.stat().st_mode & 0o777 == 0o700
        # no copy of the medium: what is served is read again and checked against the
        # digest of the verified read (test_viewer_serving)
        assert not list(snapshot.iterdir())
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    leftover = proc.stderr.read() if proc.stderr else ""
    assert "DOE^JOHN" not in leftover and "GET /" not in leftover  # no PHI, no access log
    assert not list(scratch.iterdir())  # removed at exit (SIGTERM)


def test_fake_grey_helper_counts() -> None:
    assert fake_grey(2).red_flag_count == 2


def test_frame_cache_stays_within_its_memory_budget(tmp_path: Path) -> None:
    import threading

    from dicomseal.viewer.render import FrameRenderer

    written = write_sample_studies(
        tmp_path, series_per_study=1, instances_per_series=4, rows=128, cols=128
    )
    with open_media(tmp_path) as source:
        budget = 2 * 128 * 128 * 4  # two float32 frames
        renderer = FrameRenderer(source, threading.Lock(), cache_bytes=budget)
        for path in written:
            renderer.png(path.name, 0)
        assert renderer._cached <= budget
        assert len(renderer._cache) == 2


def test_display_objects_are_built_once_within_a_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from dicomseal.viewer import dicomweb

    written = write_sample_studies(
        tmp_path, series_per_study=1, instances_per_series=3, rows=64, cols=64
    )
    built: list[str] = []
    real = dicomweb.display_object

    def counting(source: object, lock: threading.Lock, path: str) -> bytes:
        built.append(path)
        return real(source, lock, path)  # type: ignore[arg-type]

    monkeypatch.setattr(dicomweb, "display_object", counting)
    with open_media(tmp_path) as source:
        one = len(real(source, threading.Lock(), written[0].name))
        cache = dicomweb.DisplayObjects(source, threading.Lock(), cache_bytes=2 * one + 10)
        first = cache.get(written[0].name)
        assert cache.get(written[0].name) == first and built == [written[0].name]
        for path in written:
            cache.get(path.name)
        assert cache.kept_bytes <= 2 * one + 10  # the oldest was let go
        cache.get(written[0].name)
    assert built.count(written[0].name) == 2 and len(built) == len(written) + 1
    with open_media(tmp_path) as source:
        tiny = dicomweb.DisplayObjects(source, threading.Lock(), cache_bytes=10)
        tiny.get(written[1].name)
        assert tiny.kept_bytes == 0  # larger than the budget: never kept
