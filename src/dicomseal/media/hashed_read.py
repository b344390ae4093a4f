"""One read of a file, in memory, with the SHA-256 taken of exactly those bytes.

:class:`~dicomseal.media.frozen.FrozenMedium` without a private copy hashes every read of
the medium (to compare it with the read that was verified) and hands the bytes out as a
:class:`HashedRead`. The manifest check (:mod:`dicomseal.media.entry_check`) hashes every
file it reads too; given a :class:`HashedRead` it asks for the digest instead of taking
the same SHA-256 (FIPS 180-4) of the same bytes a second time -- and gets it only for the
very ``bytes`` object that was hashed.
"""

from __future__ import annotations

import io

__all__ = ["HashedRead"]


class HashedRead(io.BytesIO):
    """One read of a file, in memory, with the SHA-256 (FIPS 180-4) this process took of it.

    What :meth:`~dicomseal.media.frozen.FrozenMedium.open` hands out without a copy, with
    ``digest`` the hex SHA-256 it took of exactly the object ``data``. A reader that hashes the
    file itself (the manifest check, :mod:`dicomseal.media.entry_check`) may ask
    :meth:`sha256_of` for the digest of the bytes it read instead of hashing them again:
    the answer is given only for the very ``bytes`` object this stream was made of and
    that was hashed (identity, not equality, so no other bytes -- a second read of the
    medium, another process's read, a slice -- can borrow the digest).
    """

    def __init__(self, data: bytes, digest: str) -> None:
        super().__init__(data)
        self._data = data
        self._digest = digest

    def sha256_of(self, data: bytes) -> str | None:
        """Hex SHA-256 of ``data`` if it is the very object read and hashed, else None.

        ``io.BytesIO`` answers one read of its whole content from position 0 with the
        object it was made of (no copy), so a reader that reads the whole stream at once
        gets it back; any other read gives another object, and None here.
        """
        return self._digest if data is self._data else None
