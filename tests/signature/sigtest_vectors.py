"""Inputs and the dcmsign signing matrix used by the interop tests.

Inputs are built with pydicom and DCMTK ``dump2dcm`` (or taken from pydicom's bundled test
files and the committed dcmsign 3.6.7 vectors); signed vectors are made with the *real*
DCMTK ``dcmsign`` and the session test PKI (``tests/pki.py``), each with its ``+d`` dump of
the exact MAC byte stream. DCMTK is the independent implementation; nothing expected here
is computed by dicomseal.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

__all__ = [
    "DCMSIGN_MATRIX",
    "INPUT_NAMES",
    "MAC_OPTIONS",
    "DcmsignSpec",
    "SignedVector",
    "build_inputs",
    "ct_dataset",
    "run_dcmsign",
    "save_dataset",
]

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "dcmsign367"

#: dcmsign option per DICOM MAC Algorithm term (PS3.3 C.12.1.1.3.1, dcmsign --help).
MAC_OPTIONS: dict[str, str] = {
    "RIPEMD160": "+mr",
    "MD5": "+mm",
    "SHA1": "+ms",
    "SHA256": "+m2",
    "SHA384": "+m3",
    "SHA512": "+m5",
}
#: dicomseal ``--mac`` value per DICOM term (issue 3, point 3).
CLI_MAC: dict[str, str] = {
    "RIPEMD160": "ripemd160",
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "SHA384": "sha384",
    "SHA512": "sha512",
}

UID_ROOT = "1.2.826.0.1.3680043.10.511.77."  # test-only UIDs


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    c = Dataset()
    c.CodeValue = value
    c.CodingSchemeDesignator = scheme
    c.CodeMeaning = meaning
    return c


def ct_dataset(
    *, rows: int = 8, columns: int = 8, frames: int = 1, private: bool = True, seed: int = 1
) -> Dataset:
    """A small CT-like instance with nested sequences, an empty SQ and 16-bit native pixels."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.InstanceCreationDate = "20260101"
    ds.InstanceCreationTime = "101010"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = f"{UID_ROOT}{seed}.1"
    ds.StudyDate = "20260101"
    ds.Modality = "CT"
    ds.Manufacturer = "dicomseal TEST ONLY"
    ds.InstitutionName = "Odd length name"  # 15 chars: padded to even on write
    ref_inst = Dataset()
    ref_inst.ReferencedSOPClassUID = CTImageStorage
    ref_inst.ReferencedSOPInstanceUID = f"{UID_ROOT}{seed}.9"
    ref_series = Dataset()
    ref_series.SeriesInstanceUID = f"{UID_ROOT}{seed}.8"
    ref_series.ReferencedInstanceSequence = DicomSequence([ref_inst])
    ds.ReferencedSeriesSequence = DicomSequence([ref_series])
    ds.ProcedureCodeSequence = DicomSequence([_code("TEST1", "99TEST", "Test procedure")])
    ds.PatientName = "Doe^John"
    ds.PatientID = "TEST-001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.OtherPatientIDsSequence = DicomSequence([])  # empty SQ: tag+SQ+0000+FEFFDDE0
    if private:
        ds.add_new(0x00990010, "LO", "DICOMSEAL TEST")
        ds.add_new(0x00991001, "LO", "private value")
    ds.SliceThickness = "1.5"
    ds.StudyInstanceUID = f"{UID_ROOT}{seed}.2"
    ds.SeriesInstanceUID = f"{UID_ROOT}{seed}.3"
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = [0, 0, 0]
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows = rows
    ds.Columns = columns
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    rng = np.random.default_rng(seed)
    ds.PixelData = rng.integers(0, 4096, size=rows * columns * frames, dtype="<u2").tobytes()
    # ReferencedSeriesSequence and its nested sequence: undefined lengths everywhere
    ds["ReferencedSeriesSequence"].is_undefined_length = True
    ref_series["ReferencedInstanceSequence"].is_undefined_length = True
    ref_series.is_undefined_length_sequence_item = True
    ref_inst.is_undefined_length_sequence_item = True
    return ds


def save_dataset(ds: Dataset, path: Path, transfer_syntax: str = ExplicitVRLittleEndian) -> Path:
    """Write ``ds`` as a Part 10 file with a fresh file meta group."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path


def sr_dataset() -> Dataset:
    """A minimal Basic Text SR document (for the SR RSA profile, PS3.15 C.4)."""
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    ds.SOPInstanceUID = f"{UID_ROOT}50.1"
    ds.StudyInstanceUID = f"{UID_ROOT}50.2"
    ds.SeriesInstanceUID = f"{UID_ROOT}50.3"
    ds.Modality = "SR"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "TEST-SR"
    ds.Manufacturer = "dicomseal TEST ONLY"
    ds.ContentDate = "20260101"
    ds.ContentTime = "120000"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ValueType = "CONTAINER"
    ds.ConceptNameCodeSequence = DicomSequence(
        [_code("18748-4", "LN", "Diagnostic Imaging Report")]
    )
    ds.ContinuityOfContent = "SEPARATE"
    ds.CompletionFlag = "COMPLETE"
    ds.VerificationFlag = "UNVERIFIED"
    ds.PerformedProcedureCodeSequence = DicomSequence([])
    ds.ObservationDateTime = "20260101120000"
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.ConceptNameCodeSequence = DicomSequence([_code("121071", "DCM", "Finding")])
    item.TextValue = "No tampering found."
    ds.ContentSequence = DicomSequence([item])
    return ds


#: dump2dcm source: two levels of undefined-length sequences and items, an empty item.
DUMP2DCM_SOURCE = """\
(0002,0001) OB 00\\01
(0002,0002) UI =SecondaryCaptureImageStorage
(0002,0003) UI [1.2.826.0.1.3680043.10.511.77.60.1]
(0002,0010) UI =LittleEndianExplicit
(0008,0016) UI =SecondaryCaptureImageStorage
(0008,0018) UI [1.2.826.0.1.3680043.10.511.77.60.1]
(0008,0060) CS [OT]
(0008,1115) SQ (Sequence with undefined length)
(fffe,e000) na (Item with undefined length)
(0008,114a) SQ (Sequence with undefined length)
(fffe,e000) na (Item with undefined length)
(0008,1150) UI [1.2.840.10008.5.1.4.1.1.7]
(0008,1155) UI [1.2.826.0.1.3680043.10.511.77.60.9]
(fffe,e00d) na (ItemDelimitationItem)
(fffe,e000) na (Item with undefined length)
(fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0020,000e) UI [1.2.826.0.1.3680043.10.511.77.60.8]
(fffe,e00d) na (ItemDelimitationItem)
(fffe,e0dd) na (SequenceDelimitationItem)
(0010,0010) PN [Roe^Richard]
(0010,0020) LO [ID-DUMP]
(0020,000d) UI [1.2.826.0.1.3680043.10.511.77.60.2]
(0020,000e) UI [1.2.826.0.1.3680043.10.511.77.60.3]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 2
(0028,0011) US 2
(0028,0100) US 8
(0028,0101) US 8
(0028,0102) US 7
(0028,0103) US 0
(7fe0,0010) OB 01\\02\\03\\04
"""


def un_dataset() -> Dataset:
    """The CT instance plus UN elements: top level, and inside a sequence (PS3.15 C.12.1.1.3.1.1:
    UN elements and SQs containing UN at any depth are never signed)."""
    ds = ct_dataset(seed=3)
    ds.add_new(0x00991002, "UN", b"opaque")
    inner = Dataset()
    inner.add_new(0x00991003, "UN", b"\x01\x02")
    inner.CodeValue = "X1"
    ds.add_new(0x00400275, "SQ", DicomSequence([inner]))  # RequestAttributesSequence
    return ds


def padding_dataset() -> Dataset:
    """The CT instance with text values padded the way other toolkits write them.

    DCMTK keeps values in memory without trailing spaces and re-pads to even length when it
    builds the MAC stream (``dcmsign +d`` of this file: ``LO "Issuer   "`` -> ``"Issuer"``).
    """
    from pydicom.dataelem import DataElement

    ds = ct_dataset(seed=4, private=False)
    for tag, vr, value in (
        (0x00100021, "LO", "Issuer   "),  # three trailing spaces
        (0x00081030, "LO", "  lead"),  # leading spaces are significant
        (0x00181030, "LO", "a  b  "),  # inner and trailing spaces
        (0x00200010, "SH", "7   "),
        (0x00081090, "LO", "M\\N  "),  # multi-valued, trailing spaces on the last value
        (0x00180015, "CS", "HEAD  "),
        (0x00180050, "DS", " 1.5  "),  # DCMTK strips leading *and* trailing for DS/IS
        (0x00200013, "IS", "  12"),
        (0x00100010, "PN", "Doe^John   "),
        (0x00081040, "LO", "   "),  # only spaces: empty value
    ):
        ds.add(DataElement(tag, vr, value))
    return ds


INPUT_NAMES = (
    "native",  # pydicom, Explicit VR LE, nested undefined-length SQ, empty SQ, private tags
    "dump2dcm",  # dump2dcm, two levels of undefined-length SQ
    "implicit",  # pydicom, Implicit VR LE
    "jpeg-baseline",  # pydicom test file SC_rgb_jpeg_dcmtk.dcm (1.2.840.10008.1.2.4.50)
    "jpeg-extended",  # pydicom test file JPEG-lossy.dcm (1.2.840.10008.1.2.4.51, private tags)
    "enc",  # committed dcmsign vector enc.dcm (empty BOT + one fragment)
    "sr",  # Basic Text SR
    "un",  # CT instance with UN elements at top level and inside an SQ
    "padding",  # CT instance with extra trailing spaces in text values
)


def build_inputs(folder: Path) -> dict[str, Path]:
    """Create every unsigned input of :data:`INPUT_NAMES` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {
        "native": save_dataset(ct_dataset(), folder / "native.dcm"),
        "implicit": save_dataset(
            ct_dataset(private=False, seed=2), folder / "implicit.dcm", ImplicitVRLittleEndian
        ),
        "sr": save_dataset(sr_dataset(), folder / "sr.dcm"),
        "un": save_dataset(un_dataset(), folder / "un.dcm"),
        "padding": save_dataset(padding_dataset(), folder / "padding.dcm"),
    }
    src = folder / "dump2dcm.txt"
    src.write_text(DUMP2DCM_SOURCE)
    dump2dcm = shutil.which("dump2dcm")
    if dump2dcm is not None:
        subprocess.run(
            [dump2dcm, "-e", str(src), str(folder / "dump2dcm.dcm")],
            check=True,
            capture_output=True,
            timeout=60,
        )
        out["dump2dcm"] = folder / "dump2dcm.dcm"
    for name, test_file in (
        ("jpeg-baseline", "SC_rgb_jpeg_dcmtk.dcm"),
        ("jpeg-extended", "JPEG-lossy.dcm"),
    ):
        found = get_testdata_file(test_file)
        assert isinstance(found, str), test_file
        out[name] = Path(shutil.copyfile(found, folder / f"{name}.dcm"))
    out["enc"] = Path(shutil.copyfile(VECTORS / "enc.dcm", folder / "enc.dcm"))
    return out


@dataclass(frozen=True)
class DcmsignSpec:
    """One dcmsign signing run (or a chain of runs for several signatures)."""

    name: str
    input: str
    signer: str = "signer"  # attribute of tests.pki.TestPki
    runs: tuple[tuple[str, ...], ...] = (("+m2",),)
    item: str | None = None  # +si location (first run only; later runs use +s)
    sites: tuple[str, ...] = ()  # explicit location per run ("" = +s), overrides ``item``
    expect: str = "PASSED"  # verdict of every signature
    mac: tuple[str, ...] = ("SHA256",)  # MAC Algorithm term per signature, in order
    what: str = ""
    #: verdict of the file when it differs from ``expect``: a subset or item-only
    #: signature is PASSED itself, but leaves the file INDETERMINATE (partially-signed)
    partial: bool = False

    @property
    def file_expect(self) -> str:
        """The file-level verdict."""
        return "INDETERMINATE" if self.partial else self.expect

    @property
    def locations(self) -> tuple[str, ...]:
        """Item location of the signature made by each run ("" = top level)."""
        if self.sites:
            return self.sites
        return tuple(self.item if self.item and i == 0 else "" for i in range(len(self.runs)))

    @property
    def macs(self) -> tuple[str, ...]:
        """MAC Algorithm term of the signature made by each run."""
        return self.mac if len(self.mac) == len(self.runs) else self.mac * len(self.runs)


def _mac_specs() -> list[DcmsignSpec]:
    # every other one written by dcmsign with undefined lengths (-e)
    return [
        DcmsignSpec(
            f"rsa-mac-{term.lower()}",
            "native",
            runs=((opt, "-e") if i % 2 else (opt,),),
            mac=(term,),
            what=f"RSA signer, {term}, whole dataset" + (", -e" if i % 2 else ""),
        )
        for i, (term, opt) in enumerate(MAC_OPTIONS.items())
    ]


#: The matrix of issue 3 point 5: every MAC, profiles, -t subsets, +si items, two
#: signatures, ECDSA, encapsulated JPEG; plus implicit VR input and signer-trust cases.
DCMSIGN_MATRIX: tuple[DcmsignSpec, ...] = (
    *_mac_specs(),
    DcmsignSpec("profile-base", "native", runs=(("+pb", "+m2"),), what="+pb Base RSA"),
    DcmsignSpec(
        "profile-creator", "native", runs=(("+pc", "+m3"),), mac=("SHA384",), what="+pc Creator RSA"
    ),
    DcmsignSpec(
        "profile-authorization",
        "native",
        runs=(("+pa", "+m2", "-t", "PatientName", "-t", "PatientID"),),
        what="+pa Authorization RSA with the displayed tags",
        partial=True,
    ),
    DcmsignSpec(
        "profile-sr",
        "sr",
        runs=(("+pr", "+sp", "1", "+m2"),),
        what="+pr SR RSA with purpose 1 on a Basic Text SR",
    ),
    DcmsignSpec(
        "tag-subset",
        "native",
        runs=(("+m2", "-t", "PatientName", "-t", "0020,000d", "-t", "SOPInstanceUID"),),
        what="-t subset: PatientName, StudyInstanceUID, SOPInstanceUID",
        partial=True,
    ),
    DcmsignSpec(
        "purpose-verification",
        "native",
        runs=(("+m5", "+sp", "5"),),
        mac=("SHA512",),
        what="+sp 5 purpose code sequence in the signature item",
    ),
    DcmsignSpec(
        "item-signature",
        "native",
        item="ReferencedSeriesSequence[0]",
        what="+si in the first ReferencedSeriesSequence item",
        partial=True,
    ),
    DcmsignSpec(
        "item-signature-nested",
        "native",
        item="ReferencedSeriesSequence[0].ReferencedInstanceSequence[0]",
        runs=(("+mr",),),
        mac=("RIPEMD160",),
        what="+si two levels deep, RIPEMD160",
        partial=True,
    ),
    DcmsignSpec(
        "item-and-top-level",
        "native",
        item="ReferencedSeriesSequence[0]",
        runs=(("+m2",), ("+m2",)),
        mac=("SHA256",),
        what="+si in an item, then +s over the whole dataset (see sign_with_dcmsign)",
    ),
    DcmsignSpec(
        "top-level-then-item",
        "native",
        runs=(("+m2",), ("+m3",)),
        mac=("SHA256", "SHA384"),
        sites=("", "ReferencedSeriesSequence[0]"),
        what="+s over everything, then +si inside a signed sequence's item",
    ),
    DcmsignSpec(
        "two-signatures",
        "native",
        runs=(("+m2", "-t", "PatientName"), ("+m5", "+sp", "1")),
        mac=("SHA256", "SHA512"),
        what="two signatures: a -t subset, then the whole dataset (incl. the first)",
    ),
    DcmsignSpec("ecdsa-sha256", "native", signer="ec_signer", what="ECDSA P-256, profile none"),
    DcmsignSpec(
        "ecdsa-sha384",
        "native",
        signer="ec_signer",
        runs=(("+m3",),),
        mac=("SHA384",),
        what="ECDSA P-256, SHA384",
    ),
    DcmsignSpec("jpeg-baseline", "jpeg-baseline", what="encapsulated JPEG Baseline (pydicom)"),
    DcmsignSpec(
        "jpeg-extended-private",
        "jpeg-extended",
        runs=(("+mr",),),
        mac=("RIPEMD160",),
        what="encapsulated JPEG Extended with private elements (pydicom)",
    ),
    DcmsignSpec(
        "enc-fragments",
        "enc",
        runs=(("+m3",),),
        mac=("SHA384",),
        what="encapsulated, empty BOT + one fragment (committed enc.dcm)",
    ),
    DcmsignSpec("implicit-vr", "implicit", what="Implicit VR LE input, MAC TS Explicit VR LE"),
    DcmsignSpec(
        "un-elements",
        "un",
        what="UN elements and an SQ holding UN: left unsigned (the public SQ: partially-signed)",
        partial=True,
    ),
    DcmsignSpec(
        "extra-padding",
        "padding",
        what="text values with extra trailing spaces (dcmsign normalises them)",
    ),
    DcmsignSpec(
        "dump2dcm-nested",
        "dump2dcm",
        runs=(("+m2", "-e"),),
        what="dump2dcm -e, two levels undefined-length SQ, an empty item; dcmsign -e",
    ),
    DcmsignSpec(
        "expired-signer",
        "native",
        signer="expired_signer",
        expect="INDETERMINATE",
        what="signer certificate expired 10 days ago (signed after notAfter)",
    ),
    DcmsignSpec(
        "untrusted-signer",
        "native",
        signer="untrusted_signer",
        expect="INDETERMINATE",
        what="signer chains to a root that is not a trust anchor",
    ),
)


@dataclass(frozen=True)
class SignedVector:
    """A file signed by dcmsign, with its MAC stream dumps (one per run, in order)."""

    spec: DcmsignSpec
    path: Path
    unsigned: Path
    streams: tuple[Path, ...]
    signer_cert: Path
    dcmsign_argv: tuple[tuple[str, ...], ...] = field(default=())


def run_dcmsign(dcmsign: str, argv: Sequence[str]) -> None:
    """Run dcmsign, failing with its stderr if it does not exit 0."""
    proc = subprocess.run([dcmsign, *argv], capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"dcmsign {' '.join(argv)} -> {proc.returncode}\n{proc.stderr}")


def sign_with_dcmsign(
    dcmsign: str, spec: DcmsignSpec, src: Path, key: Path, cert: Path, out_dir: Path
) -> SignedVector:
    """Apply every run of ``spec`` to ``src`` with dcmsign; keep each ``+d`` dump."""
    out_dir.mkdir(parents=True, exist_ok=True)
    current = src
    streams: list[Path] = []
    argvs: list[tuple[str, ...]] = []
    for i, run in enumerate(spec.runs):
        dst = out_dir / f"{spec.name}.run{i}.dcm"
        stream = out_dir / f"{spec.name}.run{i}.stream.bin"
        site = spec.locations[i]
        op = ("+si", str(key), str(cert), site) if site else ("+s", str(key), str(cert))
        argv = (*op, "-pw", *run, "+d", str(stream), str(current), str(dst))
        run_dcmsign(dcmsign, argv)
        argvs.append(argv)
        streams.append(stream)
        current = dst
    final = out_dir / f"{spec.name}.dcm"
    shutil.move(current, final)
    return SignedVector(spec, final, src, tuple(streams), cert, tuple(argvs))
