"""Sealing a staged medium: its descriptive files, the manifest and its CMS signature.

After the instances are signed and placed at their File IDs, the creator writes what a
reader of the medium needs besides them - the certificate chain, optionally the
validation data, ``README.TXT`` and ``INDEX.HTM`` (:mod:`~dicomseal.media.webcontent`) -
then the manifest of every file (:mod:`~dicomseal.media.manifest`) and its detached CMS
signature (RFC 5652, :mod:`~dicomseal.media.cms`), time-stamped on request (RFC 3161).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import load_der_x509_certificate

from dicomseal.errors import MediaError
from dicomseal.media.cms import sign_detached
from dicomseal.media.cms_timestamp import add_signature_timestamp
from dicomseal.media.manifest import (
    MANIFEST_DIR,
    MANIFEST_PATH,
    SIGNATURE_PATH,
    FileRole,
    Manifest,
    ManifestEntry,
    MediumInfo,
    hash_stream,
)
from dicomseal.media.valdata import (
    VALDATA_PATH,
    build_validation_data,
    read_validation_data,
    token_signer,
)
from dicomseal.media.webcontent import (
    CHAIN_PATH,
    MediumSummary,
    render_index_htm,
    render_readme_txt,
)
from dicomseal.media.writers import list_staged
from dicomseal.signature import SigningCredentials
from dicomseal.signature.tsa import request_timestamp

__all__ = ["WEB_FILES", "seal_stage", "write_descriptive_files"]

WEB_FILES = ("README.TXT", "INDEX.HTM")


def _role(rel: str) -> FileRole:
    """The manifest role of a file that is not an instance."""
    if rel == "DICOMDIR":
        return FileRole.DICOMDIR
    if rel in WEB_FILES or rel.startswith("IHE_PDI/"):
        return FileRole.WEB
    return FileRole.OTHER


def write_descriptive_files(
    stage: Path,
    summary: MediumSummary,
    credentials: SigningCredentials,
    crls: Iterable[bytes] | None,
    ocsps: Iterable[bytes] = (),
    others: Iterable[bytes] = (),
) -> None:
    """Write the chain, the validation data (unless ``crls`` is None), README and INDEX.

    ``crls`` given (possibly empty) stores the signer's certificates, the certificates
    ``others`` (DER: the TSA's chain, issuers fetched online), those CRLs and the OCSP
    responses ``ocsps`` in ``DICOMSEA/VALDATA.P7`` (:mod:`~dicomseal.media.valdata`).
    """
    certificates = (credentials.certificate, *credentials.chain)
    (stage / MANIFEST_DIR).mkdir()
    (stage / CHAIN_PATH).write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in certificates))
    if crls is not None:
        extra = [load_der_x509_certificate(der) for der in others]
        bag = list(dict.fromkeys([*certificates, *extra]))
        (stage / VALDATA_PATH).write_bytes(build_validation_data(bag, tuple(crls), tuple(ocsps)))
    (stage / "README.TXT").write_bytes(render_readme_txt(summary))
    (stage / "INDEX.HTM").write_bytes(render_index_htm(summary))


def seal_stage(
    stage: Path,
    entries: list[ManifestEntry],
    info: MediumInfo,
    credentials: SigningCredentials,
    *,
    signed_at: dt.datetime,
    tsa_url: str | None,
    report: Callable[[str, int, int], None],
) -> list[str]:
    """Hash every staged file that is not an instance, write the manifest and sign it.

    ``entries`` holds the instances' entries and gains one per other file. Returns notes
    for the creator (a timestamp signed by a TSA certificate missing from VALDATA.P7).

    Raises
    ------
    MediaError
        A source or viewer file would collide with the manifest folder.
    """
    instance_paths = {e.path for e in entries}
    others = [r for r in list_staged(stage) if r not in instance_paths]
    for n, rel in enumerate(others):
        if rel.startswith(MANIFEST_DIR + "/") and rel not in (CHAIN_PATH, VALDATA_PATH):
            raise MediaError("a source or viewer file collides with the manifest", path=rel)
        with (stage / rel).open("rb") as fh:
            size, digest = hash_stream(fh)
        entries.append(ManifestEntry(rel, size, digest, _role(rel)))
        report("manifest", n + 1, len(others))
    with (stage / MANIFEST_PATH).open("wb") as manifest_file:
        digest = Manifest(info, tuple(entries)).write_to(manifest_file)
    p7s = sign_detached(
        bytes.fromhex(digest),
        credentials.private_key,
        credentials.certificate,
        credentials.chain,
        signing_time=signed_at,
        prehashed=True,
    )
    notes: list[str] = []
    if tsa_url is not None:
        url = tsa_url
        tokens: list[bytes] = []

        def stamp(value: bytes) -> bytes:
            tokens.append(request_timestamp(url, value))
            return tokens[-1]

        p7s = add_signature_timestamp(p7s, stamp)
        if (stage / VALDATA_PATH).exists() and not _embedded(tokens[0], stage / VALDATA_PATH):
            notes.append(
                "the TSA signed the manifest timestamp with a certificate that is not in "
                f"{VALDATA_PATH} (it changed since it was asked): a receiver checking "
                "revocation offline will find the medium INDETERMINATE; create it again"
            )
    (stage / SIGNATURE_PATH).write_bytes(p7s)
    return notes


def _embedded(token: bytes, valdata: Path) -> bool:
    """The certificate that signed the token is in the validation data."""
    signer = token_signer(token)
    bag = read_validation_data(valdata.read_bytes()).certificates
    return signer is not None and signer[0].public_bytes(Encoding.DER) in bag
