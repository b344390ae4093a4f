"""Helpers shared by the media tests (imported by conftest and the test modules)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dicomseal.media.create import CreateOptions, MediumCreation, create_medium
from dicomseal.signature import SigningCredentials

CREATED_AT = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)


def pydicom_test_files() -> Path:
    """pydicom's bundled test files folder (no network)."""
    import pydicom

    return Path(pydicom.__file__).parent / "data" / "test_files"


def make_medium(
    sources: list[Path], out: Path, creds: SigningCredentials, **options: object
) -> MediumCreation:
    """Create a medium with the test clock."""
    return create_medium(sources, out, creds, CreateOptions(created_at=CREATED_AT, **options))  # type: ignore[arg-type]


def instance_paths(medium: Path) -> list[Path]:
    """Every instance file under DICOM/, sorted."""
    return sorted(p for p in (medium / "DICOM").rglob("*") if p.is_file())


def find_instance(medium: Path, **values: str) -> Path:
    """The first instance whose attributes equal ``values``."""
    from pydicom import dcmread

    for p in instance_paths(medium):
        ds = dcmread(p, stop_before_pixels=True)
        if all(str(ds.get(k, "")) == v for k, v in values.items()):
            return p
    raise LookupError(values)


def rel(medium: Path, path: Path) -> str:
    """Medium-relative POSIX path."""
    return path.relative_to(medium).as_posix()


def require_tool(name: str) -> str:
    """Path of a command-line tool, or skip (fail on CI) - as tests/conftest.py does."""
    import os
    import shutil

    import pytest

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} not installed although CI must install it (.ci/run)")
        pytest.skip(f"{name} not installed (.ci/run installs it)")
    return path


def unknown_syntax_instance(dst: Path) -> Path:
    """An instance whose File Meta names a transfer syntax no reader knows (the UID of
    Explicit VR Little Endian with one digit changed): no medium can take it."""
    from dicomseal.samples import SAMPLE_PATIENTS, make_instance

    make_instance(SAMPLE_PATIENTS[0], 0, 7, 1, rows=8, cols=8).save_as(
        dst, enforce_file_format=True
    )
    data = dst.read_bytes()
    assert data.count(b"1.2.840.10008.1.2.1\x00") == 1
    dst.write_bytes(data.replace(b"1.2.840.10008.1.2.1\x00", b"1.2.840.10008.9.2.1\x00"))
    return dst
