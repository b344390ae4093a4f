"""Bundled sample data: small, synthetic, deterministic DICOM studies.

The demo, the tests and the experiment of the 2009 study need realistic patient media
without real patients. :func:`write_sample_studies` writes synthetic CT and MR studies
(no real person; names are obviously fictitious) as Explicit VR Little Endian Part 10
files, byte-identical on every run for the same arguments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
)

__all__ = ["SAMPLE_PATIENTS", "SamplePatient", "make_instance", "write_sample_studies"]

#: UID root for synthetic sample data (pydicom's root + a dicomseal suffix).
SAMPLE_UID_ROOT = "1.2.826.0.1.3680043.8.498.7731."


@dataclass(frozen=True)
class SamplePatient:
    """Demographics of one synthetic patient."""

    name: str
    patient_id: str
    birth_date: str
    sex: str
    study_date: str
    accession: str
    institution: str
    modality: str


SAMPLE_PATIENTS: tuple[SamplePatient, ...] = (
    SamplePatient(
        "DOE^JOHN",
        "DS0001",
        "19700412",
        "M",
        "20240305",
        "ACC1001",
        "Sample General Hospital",
        "CT",
    ),
    SamplePatient(
        "ROE^JANE",
        "DS0002",
        "19851130",
        "F",
        "20240611",
        "ACC1002",
        "Sample Veterinary Clinic",
        "MR",
    ),
)


def _uid(*parts: int) -> str:
    return SAMPLE_UID_ROOT + ".".join(str(p) for p in parts)


def _age(birth: str, study: str) -> str:
    b = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    s = dt.date(int(study[:4]), int(study[4:6]), int(study[6:]))
    years = s.year - b.year - ((s.month, s.day) < (b.month, b.day))
    return f"{years:03d}Y"


def _pixels(
    p_index: int, series: int, instance: int, rows: int, cols: int, frames: int
) -> np.ndarray:
    """A phantom: concentric discs whose size varies with slice, plus a gradient."""
    yy, xx = np.mgrid[0:rows, 0:cols].astype(np.float64)
    cy, cx = rows / 2.0, cols / 2.0
    out = np.empty((frames, rows, cols), dtype=np.uint16)
    for f in range(frames):
        r = np.hypot(yy - cy, xx - cx)
        radius = rows * (0.30 + 0.03 * ((instance + f) % 5))
        img = np.where(r < radius, 1000.0, 0.0)
        img += np.where(r < radius * 0.4, 600.0 + 50 * series, 0.0)
        img += xx * 2.0 + yy + 40.0 * p_index
        out[f] = np.clip(img, 0, 4095).astype(np.uint16)
    return out


def make_instance(
    patient: SamplePatient,
    p_index: int,
    series: int,
    instance: int,
    *,
    rows: int = 64,
    cols: int = 64,
    frames: int = 1,
) -> Dataset:
    """Build one synthetic image instance (CT or MR) with file meta, Explicit VR LE.

    Parameters
    ----------
    patient
        Demographics.
    p_index, series, instance
        Numbers that make the UIDs and pixel content unique and deterministic.
    rows, cols, frames
        Image size; ``frames > 1`` gives a multi-frame instance (NumberOfFrames).
    """
    sop_class: str = CTImageStorage if patient.modality == "CT" else MRImageStorage
    study_uid = _uid(p_index, 1)
    series_uid = _uid(p_index, 1, series)
    sop_uid = _uid(p_index, 1, series, instance)

    ds = _study_attributes(patient, p_index, series, instance, sop_class, sop_uid)
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    ref.ReferencedSOPInstanceUID = _uid(p_index, 9, 1)
    ds.ReferencedPerformedProcedureStepSequence = Sequence([ref])
    ds.PatientName = patient.name
    ds.PatientID = patient.patient_id
    ds.PatientBirthDate = patient.birth_date
    ds.PatientSex = patient.sex
    ds.PatientAge = _age(patient.birth_date, patient.study_date)
    _image_attributes(ds, p_index, series, instance, study_uid, series_uid)
    ds.Rows = rows
    ds.Columns = cols
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = _pixels(p_index, series, instance, rows, cols, frames).tobytes()
    ds.file_meta = _file_meta(sop_class, sop_uid)
    ds.preamble = b"\x00" * 128
    return ds


def _study_attributes(
    patient: SamplePatient, p_index: int, series: int, instance: int, sop_class: str, sop_uid: str
) -> Dataset:
    """SOP Common, General Study/Series/Equipment attributes (PS3.3 C.7.2, C.7.3, C.7.5)."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.InstanceCreationDate = patient.study_date
    ds.InstanceCreationTime = "101500"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = patient.study_date
    ds.SeriesDate = patient.study_date
    ds.AcquisitionDate = patient.study_date
    ds.ContentDate = patient.study_date
    ds.StudyTime = "101000"
    ds.SeriesTime = f"10{10 + series:02d}00"
    ds.ContentTime = f"10{10 + series:02d}{instance % 60:02d}"
    ds.AccessionNumber = patient.accession
    ds.Modality = patient.modality
    ds.Manufacturer = "dicomseal synthetic"
    ds.InstitutionName = patient.institution
    ds.ReferringPhysicianName = "REFERRER^SAMPLE"
    ds.StationName = "SYNTH01"
    ds.StudyDescription = f"SAMPLE {patient.modality} STUDY"
    ds.SeriesDescription = f"SAMPLE SERIES {series}"
    ds.ManufacturerModelName = "Phantom 1"
    return ds


def _image_attributes(
    ds: Dataset, p_index: int, series: int, instance: int, study_uid: str, series_uid: str
) -> None:
    """Identifiers, plane and pixel description of a CT/MR image (PS3.3 C.7.6)."""
    ds.SliceThickness = "5.0"
    ds.DeviceSerialNumber = "SN-0001"
    ds.SoftwareVersions = "1.0"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = f"{p_index + 1}"
    ds.SeriesNumber = series
    ds.InstanceNumber = instance
    ds.ImagePositionPatient = [0.0, 0.0, float(instance * 5)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.FrameOfReferenceUID = _uid(p_index, 1, series, 0)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelSpacing = [0.7, 0.7]
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = "1000"
    ds.WindowWidth = "2000"
    if ds.Modality == "CT":
        ds.RescaleIntercept = "-1024"
        ds.RescaleSlope = "1"


def _file_meta(sop_class: str, sop_uid: str) -> FileMetaDataset:
    """File Meta Information for Explicit VR Little Endian (PS3.10 §7.1)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(sop_class)
    meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "DICOMSEAL_SAMPLE"
    return meta


def write_sample_studies(
    folder: str | Path,
    *,
    series_per_study: int = 2,
    instances_per_series: int = 3,
    rows: int = 64,
    cols: int = 64,
    patients: tuple[SamplePatient, ...] = SAMPLE_PATIENTS,
) -> list[Path]:
    """Write the synthetic studies into ``folder`` (one file per instance, ``*.dcm``).

    Returns the written paths, sorted. The same arguments give byte-identical files.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for p_index, patient in enumerate(patients):
        for series in range(1, series_per_study + 1):
            for instance in range(1, instances_per_series + 1):
                ds = make_instance(patient, p_index, series, instance, rows=rows, cols=cols)
                path = out / f"{patient.patient_id}_S{series}_I{instance}.dcm"
                ds.save_as(path, enforce_file_format=True)
                written.append(path)
    return sorted(written)
