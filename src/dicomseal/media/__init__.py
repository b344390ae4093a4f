"""Portable media: read (folder / ISO / zip), create signed PDI media, verify them.

Entry points::

    from dicomseal.media import open_media, create_medium, verify_media, looks_like_medium

See :mod:`dicomseal.media.create` and :mod:`dicomseal.media.verify`; the manifest format
is specified in ``docs/manifest.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dicomseal.media.create import CreateOptions, MediumCreation, OutputKind, create_medium
    from dicomseal.media.detect import looks_like_medium
    from dicomseal.media.inputs import MediaProfile
    from dicomseal.media.source import MediaSource, open_media
    from dicomseal.media.verify import MediaVerification, verify_media

#: Public name -> module. Submodules load on first use (PEP 562), so that a cheap check
#: such as ``dicomseal.media.detect`` does not import signing, ISO writing and pydicom.
_LAZY = {
    "CreateOptions": "create",
    "MediumCreation": "create",
    "OutputKind": "create",
    "create_medium": "create",
    "looks_like_medium": "detect",
    "MediaProfile": "inputs",
    "MediaSource": "source",
    "open_media": "source",
    "MediaVerification": "verify",
    "verify_media": "verify",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'dicomseal.media' has no attribute {name!r}")
    return getattr(importlib.import_module(f"dicomseal.media.{module}"), name)


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
