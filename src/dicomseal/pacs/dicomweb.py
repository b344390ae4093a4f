"""DICOMweb transport through httpx: STOW-RS (send), QIDO-RS and WADO-RS (fetch back).

PS3.18 §10.5 (STOW-RS Store Instances), §10.6 (QIDO-RS Search), §10.4 (WADO-RS Retrieve).
One instance per STOW-RS request, so each gets its own typed outcome; the request body is
streamed from the file (bounded memory).
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from dicomseal.errors import PacsError
from dicomseal.pacs.dimse import RemoteInstance, StoreResult
from dicomseal.pacs.peer import DicomWebPeer
from dicomseal.pacs.status import StoreStatus, store_status

__all__ = ["DicomWebSender", "dicomweb_fetch", "dicomweb_find_instances"]

TIMEOUT_S = 60.0
_FAILED_SOP_SEQUENCE = "00081198"
_REFERENCED_SOP_SEQUENCE = "00081199"
_FAILURE_REASON = "00081197"
_WARNING_REASON = "00081196"
_SOP_INSTANCE_UID = "00081155"


def _first(item: dict[str, Any], tag: str) -> Any:
    values = item.get(tag, {}).get("Value") or [None]
    return values[0]


def _stream(path: Path, boundary: str) -> Iterator[bytes]:
    yield f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode("ascii")
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            yield chunk
    yield f"\r\n--{boundary}--\r\n".encode("ascii")


def _stow_result(response: httpx.Response, sop_uid: str) -> StoreResult:
    """Typed outcome from a STOW-RS response (PS3.18 §10.5.3, Table 10.5.3-1)."""
    try:
        body = response.json() if response.content else {}
    except ValueError:
        body = {}
    body = body[0] if isinstance(body, list) and body else body
    if not isinstance(body, dict):
        body = {}
    for item in body.get(_FAILED_SOP_SEQUENCE, {}).get("Value", []) or []:
        if _first(item, _SOP_INSTANCE_UID) in (sop_uid, None):
            code = _first(item, _FAILURE_REASON)
            code = int(code) if code is not None else None
            return StoreResult(
                store_status(code) if code else StoreStatus.ERROR_OTHER,
                code,
                f"HTTP {response.status_code}",
            )
    for item in body.get(_REFERENCED_SOP_SEQUENCE, {}).get("Value", []) or []:
        if _first(item, _SOP_INSTANCE_UID) == sop_uid:
            code = _first(item, _WARNING_REASON)
            if code is not None:
                return StoreResult(store_status(int(code)), int(code), "stored with warning")
            return StoreResult(StoreStatus.SUCCESS, 0, "")
    if response.status_code == 200:
        return StoreResult(StoreStatus.SUCCESS, 0, "")
    return StoreResult(StoreStatus.ERROR_OTHER, None, f"HTTP {response.status_code}")


class DicomWebSender:
    """STOW-RS client for one DICOMweb service.

    Raises
    ------
    PacsError
        The service does not answer (checked on construction with a QIDO-RS request).
    """

    def __init__(self, peer: DicomWebPeer) -> None:
        self.peer = peer
        self.label = peer.label
        self._client = httpx.Client(timeout=TIMEOUT_S)
        try:
            probe = self._client.get(
                f"{peer.url}/studies",
                params={"limit": "1"},
                headers={"Accept": "application/dicom+json"},
            )
        except httpx.HTTPError as exc:
            self._client.close()
            raise PacsError(f"cannot reach DICOMweb service {peer.url}: {exc}") from exc
        if probe.status_code >= 400 and probe.status_code not in (404, 406):
            self._client.close()
            raise PacsError(f"DICOMweb service {peer.url} answered HTTP {probe.status_code}")

    def accepts(self, sop_class_uid: str, transfer_syntax_uid: str) -> bool:
        """STOW-RS has no negotiation: the service decides per instance."""
        return True

    def send(self, path: Path, sop_class_uid: str, transfer_syntax_uid: str) -> StoreResult:
        """STOW-RS one Part 10 file.

        Raises
        ------
        PacsError
            The service cannot be reached any more.
        """
        from dicomseal.pacs.medium import read_header  # the SOP UID to match the response

        sop_uid = read_header(path)[1]
        boundary = "dicomseal-" + secrets.token_hex(12)
        headers = {
            "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
            "Accept": "application/dicom+json",
        }
        try:
            response = self._client.post(
                f"{self.peer.url}/studies", headers=headers, content=_stream(path, boundary)
            )
        except httpx.HTTPError as exc:
            raise PacsError(f"STOW-RS to {self.peer.url} failed: {exc}") from exc
        return _stow_result(response, sop_uid)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> DicomWebSender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def dicomweb_find_instances(peer: DicomWebPeer, study_uids: Iterable[str]) -> list[RemoteInstance]:
    """QIDO-RS ``/studies/{uid}/instances`` for each study (PS3.18 §10.6).

    Raises
    ------
    PacsError
        The service cannot be reached or answers with an error.
    """
    out: list[RemoteInstance] = []
    with httpx.Client(timeout=TIMEOUT_S) as client:
        for study in sorted(set(study_uids)):
            try:
                r = client.get(
                    f"{peer.url}/studies/{study}/instances",
                    headers={"Accept": "application/dicom+json"},
                )
            except httpx.HTTPError as exc:
                raise PacsError(f"cannot reach DICOMweb service {peer.url}: {exc}") from exc
            if r.status_code in (204, 404) or not r.content:
                continue
            if r.status_code >= 400:
                raise PacsError(f"QIDO-RS at {peer.url} answered HTTP {r.status_code}")
            for item in r.json():
                out.append(
                    RemoteInstance(
                        str(_first(item, "0020000D") or study),
                        str(_first(item, "0020000E") or ""),
                        str(_first(item, "00080018") or ""),
                        str(_first(item, "00080016") or ""),
                    )
                )
    return out


def _multipart_parts(content_type: str, body: bytes) -> list[bytes]:
    """Split a multipart/related body into its part payloads (RFC 2387)."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if not boundary:
        raise PacsError("WADO-RS response without a multipart boundary")
    delimiter = b"--" + boundary.encode("ascii")
    parts: list[bytes] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        _headers, sep, payload = chunk.partition(b"\r\n\r\n")
        if sep:
            parts.append(payload[:-2] if payload.endswith(b"\r\n") else payload)
    return parts


def dicomweb_fetch(
    peer: DicomWebPeer, targets: Iterable[RemoteInstance], folder: Path
) -> dict[str, Path]:
    """WADO-RS each target instance as ``application/dicom`` into ``folder``.

    Raises
    ------
    PacsError
        The service cannot be reached or answers with an error.
    """
    got: dict[str, Path] = {}
    delivered = itertools.count()
    accept = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    with httpx.Client(timeout=TIMEOUT_S) as client:
        for t in targets:
            url = (
                f"{peer.url}/studies/{t.study_instance_uid}/series/"
                f"{t.series_instance_uid}/instances/{t.sop_instance_uid}"
            )
            try:
                r = client.get(url, headers={"Accept": accept})
            except httpx.HTTPError as exc:
                raise PacsError(f"cannot reach DICOMweb service {peer.url}: {exc}") from exc
            if r.status_code == 404:
                continue
            if r.status_code >= 400:
                raise PacsError(f"WADO-RS at {peer.url} answered HTTP {r.status_code}")
            for part in _multipart_parts(r.headers.get("content-type", ""), r.content):
                dst = folder / f"{next(delivered):06d}.dcm"  # never over another's file
                dst.write_bytes(part)
                got.setdefault(t.sop_instance_uid, dst)
    return got
