"""Files signed by ``dicomseal sign`` verify with DCMTK dcmsign (issue 3, point 5, second way).

For every case the same input is also signed by dcmsign with the equivalent options and its
``+d`` dump kept. The data part of that dump (everything before dcmsign's own signature
item) is what dcmsign says must be signed; the Signature dicomseal wrote must verify over
that data part followed by dicomseal's signature item, checked here with ``cryptography``
directly (RSA: the recovered DigestInfo; ECDSA: a plain verify). So "the engine's stream
equals dcmsign's view" is tested without trusting any engine code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pydicom
import pytest
from sigtest_support import (
    assert_signature_over,
    dcmsign_verify,
    encode_signature_trailer,
    engine_mac_stream,
    holder_at,
    run_cli_inprocess,
    stream_diff,
)
from sigtest_vectors import CLI_MAC, MAC_OPTIONS, run_dcmsign

if TYPE_CHECKING:
    from pki import KeyPair, TestPki

pytestmark = pytest.mark.dcmtk


@dataclass(frozen=True)
class SignCase:
    """One ``dicomseal sign`` run and the equivalent dcmsign options."""

    name: str
    input: str
    signer: str
    mac: str  # DICOM term
    cli: tuple[str, ...] = ()
    dcmsign: tuple[str, ...] = ()
    item: str = ""
    policy: str = ""  # dcmsign verification policy the signature must satisfy (+rc +ru +rs)


SIGN_CASES = (
    *(SignCase(f"rsa-{t.lower()}", "native", "signer", t) for t in MAC_OPTIONS),
    SignCase("ecdsa-sha256", "native", "ec_signer", "SHA256"),
    SignCase("ecdsa-sha384", "native", "ec_signer", "SHA384"),
    SignCase("profile-base", "native", "signer", "SHA256", ("--profile", "base"), ("+pb",)),
    SignCase(
        "profile-creator",
        "native",
        "signer",
        "SHA384",
        ("--profile", "creator"),
        ("+pc",),
        policy="+rc",
    ),
    SignCase(
        "profile-creator-tag",
        "native",
        "signer",
        "SHA256",
        ("--profile", "creator", "--tag", "PatientName"),
        ("+pc", "-t", "PatientName"),
        policy="+rc",
    ),
    SignCase(
        "profile-authorization",
        "native",
        "signer",
        "SHA256",
        ("--profile", "authorization", "--tag", "PatientName", "--tag", "PatientID"),
        ("+pa", "-t", "PatientName", "-t", "PatientID"),
        policy="+ru",
    ),
    SignCase(
        "profile-sr",
        "sr",
        "signer",
        "SHA256",
        ("--profile", "sr", "--purpose", "1"),
        ("+pr", "+sp", "1"),
        policy="+rs",
    ),
    SignCase(
        "tag-subset",
        "native",
        "signer",
        "SHA256",
        ("--tag", "PatientName", "--tag", "(0020,000D)", "--tag", "SOPInstanceUID"),
        ("-t", "PatientName", "-t", "0020,000d", "-t", "SOPInstanceUID"),
    ),
    SignCase("purpose-5", "native", "signer", "SHA512", ("--purpose", "5"), ("+sp", "5")),
    SignCase("item", "native", "signer", "SHA256", item="ReferencedSeriesSequence[0]"),
    SignCase(
        "item-nested",
        "native",
        "signer",
        "RIPEMD160",
        item="ReferencedSeriesSequence[0].ReferencedInstanceSequence[0]",
    ),
    SignCase("jpeg-baseline", "jpeg-baseline", "signer", "SHA256"),
    SignCase("jpeg-extended-private", "jpeg-extended", "signer", "SHA256"),
    SignCase("enc-fragments", "enc", "signer", "SHA256"),
    SignCase("dump2dcm-nested", "dump2dcm", "signer", "SHA256"),
    SignCase("un-elements", "un", "signer", "SHA256"),
    SignCase("extra-padding", "padding", "signer", "SHA256"),
)


WEAK_MACS = frozenset({"MD5", "SHA1", "RIPEMD160"})


def dicomseal_sign(src: Path, dst: Path, pair: KeyPair, mac: str, *extra: str) -> None:
    """``dicomseal sign``; MD5/SHA-1/RIPEMD-160 must warn (issue 3, point 3), others not
    (a sequence no signature can cover is the one other warning ``sign`` may give).

    The test PKI's signer file holds the leaf only: ``--allow-incomplete-chain`` keeps the
    pre-flight's chain warning out of the way of the MAC warning checked here.
    """
    run = run_cli_inprocess(
        "sign",
        src,
        dst,
        "--key",
        pair.key,
        "--cert",
        pair.cert,
        "--allow-incomplete-chain",
        "--mac",
        CLI_MAC[mac],
        *extra,
    )
    assert run.returncode == 0, run.describe()
    assert "Traceback" not in run.stderr
    warnings = [line for line in run.stderr.lower().splitlines() if "warn" in line]
    assert any("is weak" in w for w in warnings) == (mac in WEAK_MACS), run.describe()
    # the one other warning: a public sequence no MAC can hold (the ``un`` input)
    assert all("is weak" in w or "no signature can cover" in w for w in warnings), warnings


def _dcmsign_reference(
    dcmsign: str, case: SignCase, src: Path, pair: KeyPair, work: Path
) -> tuple[bytes, bytes]:
    """(data part, full dump) of dcmsign's own MAC stream for the same input and options."""
    dump = work / "dcmsign.stream.bin"
    out = work / "dcmsign-signed.dcm"
    op = (
        ("+si", str(pair.key), str(pair.cert), case.item)
        if case.item
        else ("+s", str(pair.key), str(pair.cert))
    )
    run_dcmsign(
        dcmsign,
        (*op, "-pw", MAC_OPTIONS[case.mac], *case.dcmsign, "+d", str(dump), str(src), str(out)),
    )
    full = dump.read_bytes()
    trailer = encode_signature_trailer(
        holder_at(pydicom.dcmread(out), case.item).DigitalSignaturesSequence[-1]
    )
    assert full.endswith(trailer)
    return full[: len(full) - len(trailer)], full


@pytest.mark.parametrize("case", SIGN_CASES, ids=lambda c: c.name)
def test_dicomseal_signed_verifies_with_dcmsign(
    case: SignCase,
    dcmsign: str,
    pki: TestPki,
    signing_inputs: dict[str, Path],
    tmp_path: Path,
) -> None:
    pair: KeyPair = getattr(pki, case.signer)
    src = signing_inputs[case.input]
    out = tmp_path / "dicomseal-signed.dcm"
    extra = (*case.cli, *(("--item", case.item) if case.item else ()))
    dicomseal_sign(src, out, pair, case.mac, *extra)

    proc = dcmsign_verify(
        dcmsign,
        out,
        [pki.root.cert],
        [pki.intermediate.cert],
        *((case.policy,) if case.policy else ()),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("Signature Verification : OK") == 1, proc.stderr

    # the engine signed exactly what dcmsign would have signed
    ours = holder_at(pydicom.dcmread(out), case.item)
    assert len(ours.DigitalSignaturesSequence) == 1
    item = ours.DigitalSignaturesSequence[0]
    assert str(ours.MACParametersSequence[0].MACAlgorithm) == case.mac
    data_part, _ = _dcmsign_reference(dcmsign, case, src, pair, tmp_path)
    expected = data_part + encode_signature_trailer(item)
    assert_signature_over(item, case.mac, expected)
    got = engine_mac_stream(out, case.item)
    assert got == expected, stream_diff(got, expected)


def test_two_dicomseal_signatures_verify_with_dcmsign(
    dcmsign: str, pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    first, second = tmp_path / "one.dcm", tmp_path / "two.dcm"
    dicomseal_sign(signing_inputs["native"], first, pki.signer, "SHA256", "--tag", "PatientName")
    dicomseal_sign(first, second, pki.ec_signer, "SHA512", "--purpose", "1")
    proc = dcmsign_verify(dcmsign, second, [pki.root.cert], [pki.intermediate.cert])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("Signature Verification : OK") == 2, proc.stderr
    ds = pydicom.dcmread(second)
    assert [int(i.MACIDNumber) for i in ds.DigitalSignaturesSequence] == [0, 1]
    assert len({str(i.DigitalSignatureUID) for i in ds.DigitalSignaturesSequence}) == 2


def test_dicomseal_adds_to_a_dcmsign_signature(
    dcmsign: str, pki: TestPki, signing_inputs: dict[str, Path], tmp_path: Path
) -> None:
    """Mixed: dcmsign signs an item, dicomseal the whole data set; dcmsign accepts both."""
    first, second = tmp_path / "dcmsign.dcm", tmp_path / "both.dcm"
    run_dcmsign(
        dcmsign,
        (
            "+si",
            str(pki.signer.key),
            str(pki.signer.cert),
            "ReferencedSeriesSequence[0]",
            "-pw",
            "+m3",
            str(signing_inputs["native"]),
            str(first),
        ),
    )
    dicomseal_sign(first, second, pki.signer, "SHA256")
    proc = dcmsign_verify(dcmsign, second, [pki.root.cert], [pki.intermediate.cert])
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("Signature Verification : OK") == 2, proc.stderr
