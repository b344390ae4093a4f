"""Fixtures of the PACS tests: one real Orthanc per session, emptied before each test."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from orthanc import OrthancServer, free_port, run_orthanc

from dicomseal.samples import write_sample_studies


@pytest.fixture(scope="session")
def orthanc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancServer]:
    """A real Orthanc (DIMSE + REST + DICOMweb) on free loopback ports."""
    with run_orthanc(tmp_path_factory.mktemp("orthanc"), scp_port=free_port()) as server:
        yield server


@pytest.fixture
def orthanc(orthanc_server: OrthancServer) -> OrthancServer:
    """The session's Orthanc, emptied for this test."""
    orthanc_server.clear()
    return orthanc_server


@pytest.fixture
def sample_folder(tmp_path: Path) -> Path:
    """Unsigned synthetic studies: 2 patients x 2 series x 2 instances, 32x32 pixels."""
    folder = tmp_path / "medium"
    write_sample_studies(folder, series_per_study=2, instances_per_series=2, rows=32, cols=32)
    return folder
