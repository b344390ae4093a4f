"""Helpers of the PACS tests: signed and tampered media, running the CLI in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydicom import dcmread

from dicomseal.samples import write_sample_studies
from dicomseal.samples.pki import KeyPair
from dicomseal.signature import SigningCredentials, sign_file


def make_signed_medium(folder: Path, signer: KeyPair, *, instances_per_series: int = 2) -> Path:
    """Synthetic studies (2 patients x 2 series), every instance signed by ``signer``."""
    raw = folder.parent / (folder.name + "-unsigned")
    write_sample_studies(
        raw, series_per_study=2, instances_per_series=instances_per_series, rows=32, cols=32
    )
    creds = SigningCredentials.load(signer.key, signer.cert)
    folder.mkdir(parents=True, exist_ok=True)
    for src in sorted(raw.iterdir()):
        sign_file(src, folder / src.name, creds)
    shutil.rmtree(raw)
    return folder


def tamper_attribute(path: Path, keyword: str, value: str) -> None:
    """Edit one attribute in place, keeping everything else (signatures included)."""
    ds = dcmread(path)
    setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)


def dataset_bytes(data: bytes) -> bytes:
    """The data set of a Part 10 file: everything after the file meta information."""
    assert data[128:132] == b"DICM" and data[132:136] == b"\x02\x00\x00\x00"
    group_length = int.from_bytes(data[140:144], "little")
    return data[144 + group_length :]
