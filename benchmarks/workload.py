"""Shared pieces of the benchmarks: a synthetic CT workload and a timed child process.

Not a test and not part of the package. The slices carry random (incompressible) 12-bit
pixels so that hashing cannot take shortcuts; each child process is wrapped in GNU time
for its peak RSS and CPU time (workers included).
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

__all__ = ["GNU_TIME", "Timing", "ct_slice", "timed", "vendor_headers"]

GNU_TIME = Path("/usr/bin/time")


@dataclass(frozen=True)
class Timing:
    """One timed tool run (or loop of runs)."""

    name: str
    seconds: float
    peak_rss_kib: int
    failures: int
    cpu_seconds: float = 0.0


def vendor_headers() -> Dataset:
    """Vendor-like CT headers: pydicom's ``CT_small.dcm`` without its pixels (~270 elements).

    The file is GE-style test data shipped with pydicom (``pydicom.data``); its private
    and standard attributes make a header-heavy workload for the per-element cost.
    """
    from pydicom import dcmread
    from pydicom.data import get_testdata_file

    ds = dcmread(str(get_testdata_file("CT_small.dcm")))
    del ds.PixelData
    ds.file_meta = FileMetaDataset()
    return ds


def ct_slice(
    index: int, rows: int, columns: int, study: str, series: str, base: Dataset | None = None
) -> Dataset:
    """A synthetic CT slice with random 12-bit pixels (Explicit VR Little Endian).

    ``base``: headers to start from (a copy is made), e.g. :func:`vendor_headers`.
    """
    ds = Dataset() if base is None else copy.deepcopy(base)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate, ds.StudyTime, ds.StudyID = "20260101", "101500", "1"
    ds.AccessionNumber = "BENCH1"
    ds.Modality = "CT"
    ds.Manufacturer = "dicomseal TEST ONLY"
    ds.InstitutionName = "Benchmark Hospital"
    ds.PatientName = "BENCH^MARK"
    ds.PatientID = "BENCH-1"
    ds.PatientBirthDate, ds.PatientSex = "19700101", "O"
    ds.StudyInstanceUID = study
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = 1
    ds.InstanceNumber = index + 1
    ds.ImagePositionPatient = [0, 0, index]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    rng = np.random.default_rng(index)
    ds.PixelData = rng.integers(0, 4096, rows * columns, dtype="<u2").tobytes()
    ds["PixelData"].VR = "OW"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def timed(argv: list[str]) -> tuple[float, int, int, float]:
    """(wall s, peak RSS KiB of the largest process, exit status, user+sys CPU s).

    CPU seconds (workers included) are reported too: on a shared machine the wall time
    also measures the neighbours.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss_file:
        wrapped = (
            [str(GNU_TIME), "-q", "-f", "%M %U %S", "-o", rss_file.name, *argv]
            if GNU_TIME.exists()
            else argv
        )
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _out, err = proc.communicate()
        elapsed = time.perf_counter() - start
        text = rss_file.read().strip()
    rss, cpu = 0, 0.0
    if text:
        fields = text.splitlines()[-1].split()
        rss, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
    if proc.returncode != 0 and err:
        sys.stderr.write(err.decode(errors="replace")[-2000:])
    return elapsed, rss, proc.returncode, cpu
