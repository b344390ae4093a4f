"""Portable media: read (folder / ISO / zip), create signed PDI media, verify them.

Entry points::

    from dicomseal.media import open_media, create_medium, verify_media, looks_like_medium

See :mod:`dicomseal.media.create` and :mod:`dicomseal.media.verify`; the manifest format
is specified in ``docs/manifest.md``.
"""

from __future__ import annotations

from dicomseal.media.create import CreateOptions, MediumCreation, OutputKind, create_medium
from dicomseal.media.inputs import MediaProfile
from dicomseal.media.source import MediaSource, open_media
from dicomseal.media.verify import MediaVerification, looks_like_medium, verify_media

__all__ = [
    "CreateOptions",
    "MediaProfile",
    "MediaSource",
    "MediaVerification",
    "MediumCreation",
    "OutputKind",
    "create_medium",
    "looks_like_medium",
    "open_media",
    "verify_media",
]
