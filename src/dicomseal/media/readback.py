"""Read-back after writing: the medium just written is verified as a receiver would.

The written output is opened again (the ISO image through its ISO 9660 directory, the zip
through its central directory, a folder as it is) and verified end to end
(:func:`~dicomseal.media.verify.verify_media`) against the creator's own chain: the
topmost CA certificate the creator holds (:func:`~dicomseal.signature.keys.issuers_of`),
or the signer certificate itself when it came without one. Anything but PASSED means the
medium would not verify for the receiver either, so it is not handed out.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dicomseal.media.source import open_media
from dicomseal.media.verify import MediaVerification, verify_media
from dicomseal.signature.credentials import SigningCredentials
from dicomseal.signature.keys import issuers_of
from dicomseal.signature.trust import TrustContext

__all__ = ["read_back"]


def read_back(
    out_path: Path, credentials: SigningCredentials, *, at: dt.datetime | None, workers: int
) -> MediaVerification:
    """Verify the written medium at ``out_path`` against the creator's own anchor."""
    cas = issuers_of(credentials.certificate, credentials.chain)
    anchor = cas[-1] if cas else credentials.certificate
    trust = TrustContext(anchors=(anchor,), intermediates=tuple(credentials.chain))
    with open_media(out_path) as source:
        return verify_media(source, trust, at=at, workers=workers)
