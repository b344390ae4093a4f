"""A real Orthanc server for the PACS tests: temporary config, loopback ports, own storage.

Started as a subprocess with the DICOMweb plugin, authentication off, and one
``DicomModalities`` entry for the tests' own AE (needed for C-GET); stopped at teardown.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ORTHANC_CANDIDATES = ("/usr/sbin/Orthanc", "/usr/bin/Orthanc")
DICOMWEB_PLUGIN_CANDIDATES = (
    "/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
    "/usr/lib/orthanc/libOrthancDicomWeb.so",
)
ORTHANC_AET = "ORTHANC"
TEST_AET = "DICOMSEAL"


@dataclass(frozen=True)
class OrthancServer:
    """A running Orthanc: where to reach it over DIMSE, REST and DICOMweb."""

    aet: str
    host: str
    dicom_port: int
    http_port: int
    storage: Path

    @property
    def dimse(self) -> str:
        """``AET@HOST:PORT`` as the CLI takes it."""
        return f"{self.aet}@{self.host}:{self.dicom_port}"

    @property
    def rest(self) -> str:
        """Base URL of the Orthanc REST API."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def dicomweb(self) -> str:
        """Base URL of the DICOMweb API."""
        return f"{self.rest}/dicom-web"

    def instance_ids(self) -> list[str]:
        """Orthanc ids of every stored instance."""
        return list(httpx.get(f"{self.rest}/instances", timeout=10).json())

    def sop_uids(self) -> dict[str, str]:
        """SOP Instance UID -> Orthanc id of every stored instance."""
        out: dict[str, str] = {}
        for oid in self.instance_ids():
            tags = httpx.get(f"{self.rest}/instances/{oid}/simplified-tags", timeout=10).json()
            out[tags["SOPInstanceUID"]] = oid
        return out

    def file(self, orthanc_id: str) -> bytes:
        """The stored Part 10 file of one instance."""
        return httpx.get(f"{self.rest}/instances/{orthanc_id}/file", timeout=10).content

    def clear(self) -> None:
        """Delete every stored patient."""
        for pid in httpx.get(f"{self.rest}/patients", timeout=10).json():
            httpx.delete(f"{self.rest}/patients/{pid}", timeout=10)


def find_orthanc() -> tuple[str, str | None]:
    """Path of the Orthanc binary and of the DICOMweb plugin; skip (or fail in CI)."""
    binary = next((c for c in ORTHANC_CANDIDATES if os.path.exists(c)), None)
    binary = binary or shutil.which("Orthanc")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("Orthanc not installed although CI must install it (.ci/run)")
        pytest.skip("Orthanc not installed (.ci/run installs it)")
    plugin = next((c for c in DICOMWEB_PLUGIN_CANDIDATES if os.path.exists(c)), None)
    return binary, plugin


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def run_orthanc(workdir: Path, *, scp_port: int) -> Iterator[OrthancServer]:
    """Start Orthanc in ``workdir``; yield it once ``/system`` answers; stop it afterwards."""
    binary, plugin = find_orthanc()
    storage = workdir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    dicom_port, http_port = free_port(), free_port()
    config = {
        "Name": "dicomseal-test",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "StorageCompression": False,
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": ORTHANC_AET,
        "DicomCheckCalledAet": True,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "HttpServerEnabled": True,
        "DicomServerEnabled": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowGet": True,
        "DicomCheckModalityHost": False,
        "DicomModalities": {"dicomseal": [TEST_AET, "127.0.0.1", scp_port]},
        "OverwriteInstances": True,
        "Plugins": [plugin] if plugin else [],
        "DicomWeb": {
            "Enable": True,
            "Root": "/dicom-web/",
            "EnableWado": True,
            "Host": "127.0.0.1",
            "Ssl": False,
        },
        "HttpTimeout": 10,
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 4,
    }
    cfg = workdir / "orthanc.json"
    cfg.write_text(json.dumps(config))
    log = (workdir / "orthanc.log").open("wb")
    proc = subprocess.Popen([binary, str(cfg)], stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    server = OrthancServer(ORTHANC_AET, "127.0.0.1", dicom_port, http_port, storage)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"Orthanc exited with {proc.returncode}: "
                    + (workdir / "orthanc.log").read_text(errors="replace")[-2000:]
                )
            try:
                if httpx.get(f"{server.rest}/system", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Orthanc did not answer /system within 30 s")
            time.sleep(0.2)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
