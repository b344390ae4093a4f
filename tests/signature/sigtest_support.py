"""Helpers shared by the signature tests: run the CLI and dcmsign, read reports, encode bytes.

Nothing here knows the engine's internals: the CLI is driven as a user would (a subprocess,
``python -m dicomseal``) and its JSON report is read against the contract of issue 3. The
few byte-level helpers (:func:`encode_signature_trailer`) follow PS3.15 C.12.1.1.3.1.2 and the
notes in ``../shared/reference/dicom-signatures-and-media.md`` §1.3, and are themselves
checked against ``dcmsign +d`` dumps (``test_interop_stream.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asn1crypto import algos, core
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pydicom.dataset import Dataset

__all__ = [
    "VERIFY_SCHEMA",
    "CliRun",
    "assert_clean_error",
    "assert_report_shape",
    "assert_signature_over",
    "dcmsign_verify",
    "encode_signature_trailer",
    "engine_mac_stream",
    "file_entry",
    "holder_at",
    "run_cli",
    "run_cli_inprocess",
    "stream_diff",
    "verify_json",
]

VERIFY_SCHEMA = "dicomseal.verify/1"
VERDICTS = frozenset({"PASSED", "FAILED", "INDETERMINATE"})
EXIT_FOR_VERDICT = {"PASSED": 0, "FAILED": 1, "INDETERMINATE": 3}

#: Explicit VR LE VRs with a 2-byte reserved field and a 4-byte length (PS3.5 §7.1.2).
LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"})


@dataclass(frozen=True)
class CliRun:
    """Outcome of one ``dicomseal`` subprocess."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        """Everything needed to understand a failing assertion."""
        return (
            f"dicomseal {' '.join(self.args)}\nexit={self.returncode}\n"
            f"--- stdout ---\n{self.stdout[-4000:]}\n--- stderr ---\n{self.stderr[-4000:]}"
        )

    def json(self) -> dict[str, Any]:
        """The JSON document on stdout (fails the test with context if it is not JSON)."""
        try:
            doc = json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"stdout is not JSON ({exc})\n{self.describe()}") from exc
        assert isinstance(doc, dict), self.describe()
        return doc


def cli_env() -> dict[str, str]:
    """Environment for CLI subprocesses: no colour, no debug tracebacks, no password."""
    env = {k: v for k, v in os.environ.items() if k not in ("DICOMSEAL_DEBUG",)}
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    env.pop("DICOMSEAL_KEY_PASSWORD", None)
    return env


def run_cli(
    *args: str | os.PathLike[str],
    timeout: float = 120,
    preexec_fn: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> CliRun:
    """Run ``python -m dicomseal ARGS`` with the test interpreter; never raises on exit codes."""
    argv = tuple(str(a) for a in args)
    proc = subprocess.run(
        [sys.executable, "-m", "dicomseal", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else cli_env(),
        stdin=subprocess.DEVNULL,
        preexec_fn=preexec_fn,
        check=False,
    )
    return CliRun(argv, proc.returncode, proc.stdout, proc.stderr)


def run_cli_inprocess(*args: str | os.PathLike[str]) -> CliRun:
    """Run ``dicomseal ARGS`` through :func:`dicomseal.cli.main.main` in this process.

    Same argv parsing, exit-code table and error lines as the console script, without the
    ~1 s interpreter start-up per call; output is captured at the file-descriptor level so
    click, rich and logging writes are all seen. Use :func:`run_cli` for anything about
    memory limits or crashes.
    """
    import contextlib
    import tempfile

    from dicomseal.cli.main import main

    argv = tuple(str(a) for a in args)
    code = 0
    saved_env = {k: os.environ.get(k) for k in ("NO_COLOR", "COLUMNS", "DICOMSEAL_DEBUG")}
    os.environ.update({"NO_COLOR": "1", "COLUMNS": "200"})
    os.environ.pop("DICOMSEAL_DEBUG", None)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        sys.stdout.flush()
        sys.stderr.flush()
        old_out, old_err = os.dup(1), os.dup(2)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        try:
            with (
                contextlib.redirect_stdout(open(1, "w", closefd=False)) as so,
                contextlib.redirect_stderr(open(2, "w", closefd=False)) as se,
            ):
                try:
                    main(list(argv))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                finally:
                    so.flush()
                    se.flush()
        finally:
            os.dup2(old_out, 1)
            os.dup2(old_err, 2)
            os.close(old_out)
            os.close(old_err)
            for k, v in saved_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        out.seek(0)
        err.seek(0)
        return CliRun(
            argv, code, out.read().decode(errors="replace"), err.read().decode(errors="replace")
        )


def trust_args(trust: Iterable[Path], untrusted: Iterable[Path] = ()) -> list[str]:
    """``--trust``/``--untrusted`` options."""
    out: list[str] = []
    for t in trust:
        out += ["--trust", str(t)]
    for u in untrusted:
        out += ["--untrusted", str(u)]
    return out


def verify_json(
    target: Path,
    trust: Sequence[Path],
    untrusted: Sequence[Path] = (),
    *extra: str,
) -> CliRun:
    """``dicomseal verify TARGET --trust ... --untrusted ... --format json EXTRA`` (in-process)."""
    return run_cli_inprocess(
        "verify", target, *trust_args(trust, untrusted), "--format", "json", *extra
    )


def assert_report_shape(doc: dict[str, Any]) -> None:
    """Check the ``dicomseal.verify/1`` JSON shape of issue 3, point 4 (extensions allowed)."""
    assert doc.get("schema") == VERIFY_SCHEMA, doc.get("schema")
    assert doc.get("verdict") in VERDICTS, doc.get("verdict")
    assert "manifest" in doc
    files = doc.get("files")
    assert isinstance(files, list) and files, "files must be a non-empty list"
    for f in files:
        assert isinstance(f.get("path"), str)
        assert f.get("verdict") in VERDICTS
        assert "reason" in f and (f["reason"] is None or isinstance(f["reason"], str))
        sigs = f.get("signatures")
        assert isinstance(sigs, list)
        for s in sigs:
            for key in (
                "uid",
                "verdict",
                "reason",
                "mac_algorithm",
                "signer",
                "location",
                "signed_tags",
            ):
                assert key in s, f"signature entry lacks {key!r}: {s}"
            assert s["verdict"] in VERDICTS
            assert isinstance(s["signed_tags"], list)
            for t in s["signed_tags"]:
                assert isinstance(t, str) and len(t) == 11 and t[0] == "(" and t[5] == ",", t
    # the overall verdict is the worst file verdict (fail closed)
    rank = {"PASSED": 0, "INDETERMINATE": 1, "FAILED": 2}
    worst = max((f["verdict"] for f in files), key=rank.__getitem__)
    assert doc["verdict"] == worst, (doc["verdict"], worst)


def file_entry(doc: dict[str, Any], path: Path) -> dict[str, Any]:
    """The ``files[]`` entry of ``path`` (matched by resolved path or by file name)."""
    files: list[dict[str, Any]] = doc["files"]
    for f in files:
        if Path(f["path"]).resolve() == path.resolve():
            return f
    named = [f for f in files if Path(f["path"]).name == path.name]
    if len(named) == 1:
        return named[0]
    raise AssertionError(f"{path} not in report: {[f['path'] for f in files]}")


def assert_clean_error(run: CliRun, *, code: int) -> None:
    """Exit ``code``, exactly one non-empty line on stderr, no traceback anywhere."""
    assert run.returncode == code, run.describe()
    for stream in (run.stdout, run.stderr):
        assert "Traceback" not in stream, run.describe()
        assert "internal error" not in stream, run.describe()
    lines = [ln for ln in run.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, f"expected one error line\n{run.describe()}"


def dcmsign_verify(
    dcmsign: str,
    path: Path,
    trust: Sequence[Path],
    untrusted: Sequence[Path] = (),
    *options: str,
) -> subprocess.CompletedProcess[str]:
    """``dcmsign --verify OPTIONS +cf T ... +uf U ... PATH`` (findings go to stderr)."""
    argv = [dcmsign, "--verify", *options]
    for t in trust:
        argv += ["+cf", str(t)]
    for u in untrusted:
        argv += ["+uf", str(u)]
    argv.append(str(path))
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def holder_at(ds: Dataset, location: str) -> Dataset:
    """The data set or item at a dcmsign ``+si`` location (``Seq[0].Seq[1]``; "" = top)."""
    holder = ds
    if location:
        for part in location.split("."):
            keyword, index = part.rstrip("]").split("[")
            holder = holder[keyword].value[int(index)]
    return holder


def _encode_element(tag: int, vr: str, value: bytes) -> bytes:
    group, elem = tag >> 16, tag & 0xFFFF
    head = struct.pack("<HH", group, elem) + vr.encode("ascii")
    if vr in LONG_VRS:
        return head + b"\0\0" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def _pad(value: bytes, pad: bytes) -> bytes:
    return value + pad if len(value) % 2 else value


def _encode_item_elements(item: Dataset) -> bytes:
    """Minimal MAC-stream encoder for the few VRs of a signature item (§1.3 rules 2, 3)."""
    out = b""
    for elem in item:
        tag = int(elem.tag)
        if tag in (0x04000115, 0x04000120, 0x04000305, 0x04000310):
            continue
        vr = elem.VR
        if vr == "SQ":
            out += struct.pack("<HH", tag >> 16, tag & 0xFFFF) + b"SQ\0\0"
            for sub in elem.value:
                out += b"\xfe\xff\x00\xe0" + _encode_item_elements(sub)
            out += b"\xfe\xff\xdd\xe0"
        elif vr == "US":
            out += _encode_element(tag, vr, struct.pack("<H", int(elem.value)))
        elif vr == "UI":
            out += _encode_element(tag, vr, _pad(str(elem.value).encode("ascii"), b"\0"))
        elif vr in ("DT", "CS", "SH", "LO", "DA", "TM", "PN", "ST", "LT", "UT"):
            raw = elem.value if isinstance(elem.value, bytes) else str(elem.value).encode()
            out += _encode_element(tag, vr, _pad(raw, b" "))
        else:
            raise NotImplementedError(f"VR {vr} in signature item {elem.tag}")
    return out


def encode_signature_trailer(signature_item: Dataset) -> bytes:
    """The part of the MAC stream contributed by a Digital Signatures Sequence item.

    PS3.15 C.12.1.1.3.1.2: the item's attributes except Certificate of Signer, Signature,
    Certified Timestamp Type and Certified Timestamp, encoded in ascending tag order.
    """
    return _encode_item_elements(signature_item)


def stream_diff(got: bytes, expected: bytes) -> str:
    """Where two MAC streams first differ (assertion message)."""
    n = next(
        (i for i, (x, y) in enumerate(zip(got, expected, strict=False)) if x != y),
        min(len(got), len(expected)),
    )
    return (
        f"lengths {len(got)} vs {len(expected)}, first difference at byte {n}: "
        f"{got[n : n + 24].hex(' ')} vs {expected[n : n + 24].hex(' ')}"
    )


def _find(elements: Sequence[Any], tag: int) -> Any:
    for el in elements:
        if el.tag == tag:
            return el
    raise AssertionError(f"({tag >> 16:04X},{tag & 0xFFFF:04X}) not found")


def engine_mac_stream(path: Path, location: str = "", index: int = 0) -> bytes:
    """The MAC stream dicomseal's hazmat layer computes for one signature of a file.

    Built from the engine's public hazmat primitives only (``parse_part10``,
    ``write_elements``, ``write_signature_item``), driven by the file's own MAC Parameters
    and Data Elements Signed, exactly as a verifier must.
    """
    from pydicom.datadict import tag_for_keyword

    from dicomseal.hazmat import elements as hz_elements
    from dicomseal.hazmat import mac_stream as hz_mac

    out = bytearray()
    with path.open("rb") as fp:
        part10 = hz_elements.parse_part10(fp, name=str(path))
        holder = part10.elements
        if location:
            for part in location.split("."):
                keyword, idx = part.rstrip("]").split("[")
                tag = tag_for_keyword(keyword)
                assert tag is not None, keyword
                holder = _find(holder, tag).items[int(idx)].elements
        sig_item = _find(holder, 0xFFFAFFFA).items[index].elements
        mac_id = part10.read_value(_find(sig_item, 0x04000005))
        for params in _find(holder, 0x4FFE0001).items:
            if part10.read_value(_find(params.elements, 0x04000005)) == mac_id:
                raw = part10.read_value(_find(params.elements, 0x04000020))
                break
        else:
            raise AssertionError(f"no MAC Parameters item for MAC ID {mac_id!r}")
        signed = frozenset((g << 16) | e for g, e in struct.iter_unpack("<HH", raw))
        hz_mac.write_elements(holder, part10, out.extend, only=signed)
        hz_mac.write_signature_item(sig_item, part10, out.extend)
    return bytes(out)


#: DigestInfo AlgorithmIdentifier OIDs (RFC 8017 §9.2 note 1; RIPEMD-160: ISO/IEC 10118-3,
#: TeleTrusT OID 1.3.36.3.2.1, as in the reference notes §1.4).
DIGEST_OID = {
    "MD5": "1.2.840.113549.2.5",
    "SHA1": "1.3.14.3.2.26",
    "SHA256": "2.16.840.1.101.3.4.2.1",
    "SHA384": "2.16.840.1.101.3.4.2.2",
    "SHA512": "2.16.840.1.101.3.4.2.3",
    "RIPEMD160": "1.3.36.3.2.1",
}
HASHLIB = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "SHA384": "sha384",
    "SHA512": "sha512",
    "RIPEMD160": "ripemd160",
}
ECDSA_HASH = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}


def _digest_info(mac: str, data: bytes) -> bytes:
    digest = hashlib.new(HASHLIB[mac], data).digest()
    return bytes(
        algos.DigestInfo(
            {
                "digest_algorithm": {"algorithm": DIGEST_OID[mac], "parameters": core.Null()},
                "digest": digest,
            }
        ).dump()
    )


def der_prefix(raw: bytes) -> bytes:
    """The DER TLV at the start of ``raw`` (an OB value may carry one pad byte)."""
    first = raw[1]
    if first < 0x80:
        return raw[: 2 + first]
    n = first & 0x7F
    return raw[: 2 + n + int.from_bytes(raw[2 : 2 + n], "big")]


def assert_signature_over(item: Dataset, mac: str, stream: bytes) -> None:
    """Check (0400,0120) against ``stream`` with the key of (0400,0115), no engine code."""
    cert = x509.load_der_x509_certificate(der_prefix(bytes(item[0x04000115].value)))
    signature = bytes(item[0x04000120].value)
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        recovered = key.recover_data_from_signature(signature, padding.PKCS1v15(), None)
        assert recovered == _digest_info(mac, stream), "RSA signature is not over this stream"
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(der_prefix(signature), stream, ec.ECDSA(ECDSA_HASH[mac]))
    else:  # pragma: no cover - the test PKI has only RSA and EC keys
        raise AssertionError(type(key))
