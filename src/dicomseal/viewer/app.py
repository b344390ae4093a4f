"""The viewer's ASGI application: an app factory, its routes, and nothing global.

:func:`create_app` takes an opened medium and its :class:`MediumIntegrity` and returns a
Starlette application whose state lives on ``app.state.viewer``. Pages are rendered on the
server from Jinja2 templates with autoescaping; the image viewer is a small script
(``static/viewer.js``) that asks for PNG renders of frames at a chosen window/level.

Nothing from the medium is served as it is: the routes look instances up by opaque ids in
the :class:`~dicomseal.viewer.catalog.Catalog` (never by a path taken from the request),
and the only bytes of a medium that reach the browser are pixels re-encoded as PNG or a
display object written here. Those come from the verified snapshot
(:mod:`dicomseal.media.frozen`): its private copy, or -- ``dicomseal view``'s mode, without
a copy -- each file read again into memory and used only when the SHA-256 of exactly those
bytes is the one of the bytes verified. A file rewritten on the medium after verification
is refused (``409``, :func:`_refused`) and never shown.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.responses import JSONResponse as _StarletteJSON
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from dicomseal.errors import DicomSealError
from dicomseal.media.frozen import ChangedSinceVerificationError
from dicomseal.media.source import MediaSource
from dicomseal.viewer.catalog import DEMOGRAPHICS, CatalogInstance
from dicomseal.viewer.integrity import MediumIntegrity, ShownValue
from dicomseal.viewer.live import LOOPBACK_HOSTS, Verify, start_viewer
from dicomseal.viewer.security import SecurityMiddleware
from dicomseal.viewer.startup import Startup
from dicomseal.viewer.state import (
    REFUSED_LABEL,
    Drawing,
    Refusals,
    Shell,
    ViewerState,
    build_state,
)
from dicomseal.wording import visible

if TYPE_CHECKING:  # loaded by Drawing: it needs pydicom and numpy, the verdict does not
    from dicomseal.viewer.render import Window

__all__ = [
    "LOOPBACK_HOSTS",
    "REFUSED_LABEL",
    "Drawing",
    "Refusals",
    "Shell",
    "ViewerState",
    "create_app",
    "create_live_app",
    "create_started_app",
]

Handler = Callable[[Request], Awaitable[Response]]

#: The viewer's own files that its pages name by :func:`_asset_urls`.
VERSIONED_ASSETS: tuple[str, ...] = (
    "reader.css",
    "viewer.css",
    "viewer.js",
    "startup.js",
    "dist/reader-boot.js",
    "dist/reader-first.js",
    "dist/reader.js",
)

_LABELS = {
    "PatientName": "Name",
    "PatientID": "Patient ID",
    "PatientBirthDate": "Born",
    "PatientSex": "Sex",
    "PatientAge": "Age",
    "AccessionNumber": "Accession",
    "StudyDate": "Study date",
    "StudyTime": "Study time",
    "InstitutionName": "Institution",
}


def _package_dir(name: str) -> Path:
    return Path(str(files("dicomseal.viewer").joinpath(name)))


def _asset_urls() -> dict[str, str]:
    """The URL of each of the pages' own files, with its content digest (``?v=``).

    A changed file gets a new URL, so the browser may keep each one without asking again
    (:data:`~dicomseal.viewer.security.IMMUTABLE`): a revisited page then loads its code
    and style from the cache with no request at all.
    """
    static = _package_dir("static")
    urls: dict[str, str] = {}
    for name in VERSIONED_ASSETS:
        digest = hashlib.sha256((static / name).read_bytes()).hexdigest()[:16]
        urls[name] = f"/static/{name}?v={digest}"
    return urls


class JSONResponse(_StarletteJSON):
    """Starlette's JSON answer with directional controls written out in every string
    (:func:`~dicomseal.wording.visible`: the replacement holds no JSON syntax)."""

    def render(self, content: Any) -> bytes:
        return visible(super().render(content).decode("utf-8")).encode("utf-8")


def _shown_as_held(value: object) -> object:
    """Every text a page prints, directional controls written out (:func:`visible`)."""
    return visible(value) if isinstance(value, str) else value


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_package_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=_shown_as_held,
    )
    env.globals["ASSET"] = _asset_urls()
    env.globals["LABELS"] = _LABELS
    env.globals["DEMOGRAPHICS"] = DEMOGRAPHICS
    return env


def _shell(request: Request) -> Shell:
    shell: Shell = request.app.state.shell
    return shell


def _state(request: Request) -> ViewerState:
    """The verified state; only called by routes behind :func:`_verified`."""
    state = _shell(request).startup.ready()
    if state is None:  # pragma: no cover - the routes are gated by _verified
        raise RuntimeError("viewer state requested before verification")
    return state.refused.applied(state)


def _verifying_page(request: Request) -> HTMLResponse:
    shell = _shell(request)
    status = shell.startup.status()
    html = shell.templates.get_template("verifying.html").render(
        status=status, medium_name=shell.medium_name
    )
    return HTMLResponse(html, status_code=200 if status.phase != "failed" else 503)


def _verified(handler: Handler, *, page: bool) -> Handler:
    """``handler`` once the verdict is in; before that the verifying page or a 503.

    Fail closed: until the background verification has finished, no route that could
    send a byte or a value of the medium runs at all.
    """

    async def gated(request: Request) -> Response:
        if _shell(request).startup.ready() is not None:
            return await handler(request)
        if page:
            return _verifying_page(request)
        status = _shell(request).startup.status()
        return JSONResponse(
            {**status.as_json(), "error": "not yet verified"},
            status_code=503,
            headers={"retry-after": "1"},
        )

    return gated


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    st = _state(request)
    html = (
        _shell(request)
        .templates.get_template(template)
        .render(integrity=st.integrity, medium_name=st.medium_name, catalog=st.catalog, **context)
    )
    return HTMLResponse(html, status_code=status)


def _not_found(request: Request) -> HTMLResponse:
    return _page(request, "error.html", status=404, message="Not found on this medium.")


def _shown_json(value: ShownValue) -> dict[str, Any]:
    """A shown value; ``note`` (why it is unverified) only on an unverified one."""
    shown: dict[str, Any] = {
        "text": visible(value.text),
        "altered": value.altered,
        "found": visible(value.found) if value.found is not None else None,
        "unverified": value.unverified,
    }
    if value.unverified:
        shown["note"] = value.note
    return shown


def _overlay_json(st: ViewerState, inst: CatalogInstance, keyword: str) -> dict[str, Any]:
    """One demographic line; ``conflict`` only when a red flag finds it contradicted."""
    item = {"keyword": keyword, "label": _LABELS[keyword], **_shown_json(inst.shown[keyword])}
    conflict = st.integrity.conflict(inst.path, keyword, inst.shown[keyword].text)
    if conflict is not None:
        item["conflict"] = conflict
    return item


def _instance_json(st: ViewerState, inst: CatalogInstance) -> dict[str, Any]:
    integ = inst.integrity
    refused = inst.path in st.refused
    return {
        "id": inst.id,
        "frames": inst.frames,
        "has_pixels": inst.has_pixels and not refused,
        "refused": refused,
        "number": inst.shown["InstanceNumber"].text,
        "state": "red" if refused else integ.state.value,
        "label": REFUSED_LABEL if refused else integ.label,
        "detail_complete": integ.detail_complete,
        "red_flags": st.integrity.red_flags_for(inst.path),
        "changes": [
            {
                "keyword": c.keyword,
                "signed": c.signed,
                "found": c.found,
                "kind": c.kind,
                "signed_text": c.signed_text,
                "found_text": c.found_text,
            }
            for c in integ.changes
        ],
        "frames_changed": list(
            range(inst.frames) if integ.every_frame_changed else integ.frames_changed
        ),
        "every_frame_changed": integ.every_frame_changed,
        "overlay": [_overlay_json(st, inst, k) for k in DEMOGRAPHICS],
    }


def _series_payload(st: ViewerState, series_id: str) -> dict[str, Any] | None:
    series = st.catalog.series(series_id)
    if series is None:
        return None
    return {
        "id": series.id,
        "state": series.state.value,
        "modality": series.shown["Modality"].text,
        "description": series.shown["SeriesDescription"].text,
        "instances": [_instance_json(st, i) for i in series.instances],
    }


async def index(request: Request) -> Response:
    """The reading view of the first series with an image (the patient list without one)."""
    for patient in _state(request).catalog.patients:
        for study in patient.studies:
            for series in study.series:
                if any(i.has_pixels for i in series.instances):
                    return RedirectResponse(f"/read/{series.id}", status_code=303)
    return _page(request, "index.html")


async def browse(request: Request) -> Response:
    """Patients, their studies and series, each with its verdict badge."""
    return _page(request, "index.html")


#: Longest time (seconds) ``/api/status?wait=`` holds its answer back.
MAX_STATUS_WAIT = 2.0


def _status_wait(request: Request) -> float:
    """Seconds to hold the answer back for the verdict (``?wait=``), 0 when not asked."""
    try:
        wait = float(request.query_params.get("wait", "0"))
    except ValueError:
        return 0.0
    return min(wait, MAX_STATUS_WAIT) if math.isfinite(wait) and wait > 0 else 0.0


async def status_api(request: Request) -> Response:
    """The start-up phase and progress (asked for by the verifying page).

    ``?wait=SECONDS`` (at most :data:`MAX_STATUS_WAIT`): while verifying, the answer is
    held back until the verdict is in or the time is up, so that the page learns of the
    verdict at once without asking many times (the wait blocks a worker thread, not the
    server). Once the verdict is in, the answer also carries its kind and its line, as
    every page shows them.
    """
    startup = _shell(request).startup
    wait = _status_wait(request)
    if wait and not startup.settled():
        await run_in_threadpool(startup.wait, wait)
    answer = startup.status().as_json()
    state = startup.ready()
    if state is not None:
        integrity = state.refused.applied(state).integrity
        answer["kind"] = integrity.kind.value
        answer["amber"] = integrity.alarming
        answer["verdict"] = integrity.verdict_line
    return JSONResponse(answer)


async def series_page(request: Request) -> Response:
    """The image viewer on one series, with the other series of its study alongside."""
    st = _state(request)
    series_id = request.path_params["series_id"]
    series = st.catalog.series(series_id)
    if series is None:
        return _not_found(request)
    study = next((t for p in st.catalog.patients for t in p.studies if series in t.series), None)
    payload = json.dumps(_series_payload(st, series_id)).replace("<", "\\u003c")
    return _page(request, "series.html", series=series, study=study, payload=payload)


async def reader_page(request: Request) -> Response:
    """The reading view of one series (Cornerstone3D front end, full resolution)."""
    st = _state(request)
    series = st.catalog.series(request.path_params["series_id"])
    if series is None:
        return _not_found(request)
    study = next((t for p in st.catalog.patients for t in p.studies if series in t.series), None)
    payload = json.dumps(_series_payload(st, series.id)).replace("<", "\\u003c")
    return _page(request, "read.html", series=series, study=study, payload=payload)


def _refused(st: ViewerState, path: str, exc: DicomSealError) -> JSONResponse:
    """The answer for bytes that cannot be served: ``409`` (RFC 9110 §15.5.10) when the
    file on the medium is no longer the one verified (recorded in :class:`Refusals`),
    else ``422``."""
    if isinstance(exc, ChangedSinceVerificationError):
        st.refused.add(path)
        return JSONResponse(
            {"error": exc.message, "status": "changed since verification"}, status_code=409
        )
    return JSONResponse({"error": exc.message}, status_code=422)


def _refused_again(path: str) -> ChangedSinceVerificationError:
    return ChangedSinceVerificationError(
        "changed on the medium since it was verified: not shown", path=path
    )


def _pixel_instance(request: Request) -> CatalogInstance | None:
    inst = _state(request).catalog.instance(request.path_params["instance_id"])
    return inst if inst is not None and inst.has_pixels else None


async def image_object(request: Request) -> Response:
    """The display object of one instance (PS3.18 WADO-URI style), from the snapshot."""
    st = _state(request)
    inst = _pixel_instance(request)
    if inst is None:
        return JSONResponse({"error": "no such image"}, status_code=404)
    if inst.path in st.refused:  # before any cache: a refused file is never shown again
        return _refused(st, inst.path, _refused_again(inst.path))
    try:
        # in the pool: the first use may still be loading the image code (Drawing)
        body = await run_in_threadpool(lambda: st.display.get(inst.path))
    except DicomSealError as exc:
        return _refused(st, inst.path, exc)
    return Response(body, media_type="application/dicom")


async def tags_api(request: Request) -> Response:
    """The top-level attributes of one instance, each marked signed/not covered/altered."""
    st = _state(request)
    inst = st.catalog.instance(request.path_params["instance_id"])
    if inst is None:
        return JSONResponse({"error": "no such instance"}, status_code=404)
    try:
        from dicomseal.viewer.dicomweb import tag_rows

        rows = await run_in_threadpool(tag_rows, st.source, st.lock, inst.path, st.integrity)
    except DicomSealError as exc:
        return _refused(st, inst.path, exc)
    return JSONResponse({"id": inst.id, "attributes": [r.as_json() for r in rows]})


async def series_api(request: Request) -> Response:
    """The instances of a series as JSON (for scrolling without reloading the page)."""
    payload = _series_payload(_state(request), request.path_params["series_id"])
    if payload is None:
        return JSONResponse({"error": "no such series"}, status_code=404)
    return JSONResponse(payload)


def _window_param(request: Request) -> Window | None:
    from dicomseal.viewer.render import Window

    wc, ww = request.query_params.get("wc"), request.query_params.get("ww")
    if wc is None or ww is None:
        return None
    try:
        center, width = float(wc), float(ww)
    except ValueError:
        return None
    if not (math.isfinite(center) and math.isfinite(width)) or width <= 0:
        return None
    return Window(center, min(width, 1e7))


def _render_sync(
    st: ViewerState, inst: CatalogInstance, frame: int, window: Window | None
) -> tuple[bytes, dict[str, str]]:
    decoded = st.renderer.frame(inst.path, frame)
    used = window or decoded.default
    headers = {
        "x-window-center": f"{used.center:g}",
        "x-window-width": f"{used.width:g}",
        "x-value-min": f"{float(decoded.pixels.min()):g}",
        "x-value-max": f"{float(decoded.pixels.max()):g}",
    }
    return st.renderer.png(inst.path, frame, used), headers


async def render(request: Request) -> Response:
    """One frame of one instance as PNG, through the window ``wc``/``ww`` if given."""
    st = _state(request)
    inst = st.catalog.instance(request.path_params["instance_id"])
    frame = request.path_params["frame"]
    if inst is None or not inst.has_pixels or not 0 <= frame < inst.frames:
        return JSONResponse({"error": "no such image"}, status_code=404)
    if inst.path in st.refused:  # before any cache: a refused file is never shown again
        return _refused(st, inst.path, _refused_again(inst.path))
    try:
        body, headers = await run_in_threadpool(
            _render_sync, st, inst, frame, _window_param(request)
        )
    except DicomSealError as exc:
        return _refused(st, inst.path, exc)
    return Response(body, media_type="image/png", headers=headers)


async def certificate(request: Request) -> Response:
    """The creator's certificate and what the signature covers."""
    return _page(request, "certificate.html", cert=_state(request).integrity.certificate)


async def findings(request: Request) -> Response:
    """Forensic and verification findings, and the files that differ from the manifest."""
    return _page(request, "findings.html")


async def _not_found_handler(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith(("/api/", "/render/", "/static/")):
        return JSONResponse({"error": "not found"}, status_code=404)
    if _shell(request).startup.ready() is None:
        return _verifying_page(request)
    return _not_found(request)


def _medium_name(source: MediaSource, given: str | None) -> str:
    return given or Path(source.location).name or source.location


def _application(shell: Shell, allowed_hosts: tuple[str, ...]) -> Starlette:
    def page(handler: Handler) -> Handler:
        return _verified(handler, page=True)

    def api(handler: Handler) -> Handler:
        return _verified(handler, page=False)

    app = Starlette(
        routes=[
            Route("/", page(index)),
            Route("/browse", page(browse)),
            Route("/series/{series_id:str}", page(series_page)),
            Route("/read/{series_id:str}", page(reader_page)),
            Route("/api/status", status_api),
            Route("/api/series/{series_id:str}", api(series_api)),
            Route("/api/instances/{instance_id:str}/image.dcm", api(image_object)),
            Route("/api/instances/{instance_id:str}/tags", api(tags_api)),
            Route("/render/{instance_id:str}/{frame:int}.png", api(render)),
            Route("/certificate", page(certificate)),
            Route("/findings", page(findings)),
            Mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static"),
        ],
        middleware=[Middleware(SecurityMiddleware, allowed_hosts=allowed_hosts)],
        exception_handlers={404: _not_found_handler},
    )
    app.state.shell = shell
    return app


def create_app(
    source: MediaSource,
    integrity: MediumIntegrity,
    *,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    max_side: int = 1024,
    medium_name: str | None = None,
) -> Starlette:
    """Build the viewer application for one medium whose verdict is already known.

    Parameters
    ----------
    source
        The medium: the sealed :class:`~dicomseal.media.frozen.FrozenMedium` that
        :func:`dicomseal.viewer.assess.assess_medium` verified. Every byte served comes
        from its private copy, never again from the medium. Any other source is frozen
        here and its verdict loses every GREEN. The caller closes it after the server
        stops.
    integrity
        The medium's verdict (see :func:`dicomseal.viewer.assess.assess_medium`).
    allowed_hosts
        Host names accepted in the ``Host`` header (loopback only by default).
    max_side
        Largest rendered side in pixels; bigger frames are downsampled on the server.
    medium_name
        Name shown in the page title (defaults to the medium's file or folder name).

    Returns
    -------
    Starlette
        The application; its state is ``app.state.viewer`` (:class:`ViewerState`).
    """
    templates = _templates()
    name = _medium_name(source, medium_name)
    state = build_state(source, integrity, max_side=max_side, medium_name=name)
    startup: Startup[ViewerState] = Startup()
    startup.finish(state)
    app = _application(Shell(templates, name, startup), allowed_hosts)
    app.state.viewer = state
    return app


def create_live_app(
    source: MediaSource,
    verify: Verify,
    *,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    max_side: int = 1024,
    medium_name: str | None = None,
) -> tuple[Starlette, Startup[ViewerState]]:
    """The viewer application, serving at once while ``verify`` runs in the background.

    Until ``verify(progress)`` has returned the verdict of ``source`` (the
    :class:`~dicomseal.media.frozen.FrozenMedium` it verifies and seals) and the catalog
    has been read from the sealed snapshot, every page is the verifying page and every
    request for an image, an attribute or a series is answered ``503`` (see
    :mod:`dicomseal.viewer.startup`). Parameters as :func:`create_app`.

    Returns
    -------
    tuple
        The application and its :class:`~dicomseal.viewer.startup.Startup` (wait on it,
        or read its status and error).
    """
    name = _medium_name(source, medium_name)
    startup = start_viewer(source, verify, max_side=max_side, medium_name=name)
    return create_started_app(startup, allowed_hosts=allowed_hosts, medium_name=name), startup


def create_started_app(
    startup: Startup[ViewerState],
    *,
    medium_name: str,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
) -> Starlette:
    """The viewer application over a start-up already running
    (:func:`~dicomseal.viewer.live.start_viewer`): ``dicomseal view`` starts verifying
    before it loads the web stack. It serves what :func:`create_live_app` serves."""
    app = _application(Shell(_templates(), medium_name, startup), allowed_hosts)
    startup.on_ready(lambda state: setattr(app.state, "viewer", state))
    return app
