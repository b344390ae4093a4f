"""The transfer-syntax policy as pydicom's registry states it (PS3.5 §10, Annex A).

:mod:`dicomseal.dicom.vocab` spells out the sets the verify path needs as literals (so
that verifying loads no pydicom); the functions here derive the same sets from
:mod:`pydicom.uid`, and the tests keep the two equal. ``vocab`` re-exports these names.
"""

from __future__ import annotations

from dataclasses import dataclass

from dicomseal.dicom.vocab import _JPIP_REFERENCED_DEFLATE, DEFLATED_IMAGE_FRAME_COMPRESSION

__all__ = [
    "TransferSyntaxPolicy",
    "deflated_syntaxes_from_registry",
    "encapsulated_syntaxes_from_registry",
    "mac_unreproducible_from_registry",
    "native_syntaxes_from_registry",
    "transfer_syntax_policy",
]


@dataclass(frozen=True)
class TransferSyntaxPolicy:
    """What a transfer syntax means for a reader (PS3.5 §10)."""

    uid: str
    known: bool
    implicit_vr: bool
    big_endian: bool
    deflated: bool
    encapsulated: bool


def transfer_syntax_policy(uid: str) -> TransferSyntaxPolicy:
    """The policy of ``uid`` from pydicom's registry (unknown: ``known`` is False)."""
    from pydicom.uid import UID  # the registry, loaded only when a policy is asked for

    u = UID(uid)
    if not u.is_transfer_syntax:
        return TransferSyntaxPolicy(uid, False, False, False, False, False)
    return TransferSyntaxPolicy(
        uid,
        True,
        u.is_implicit_VR,
        not u.is_little_endian,
        u.is_deflated or uid == _JPIP_REFERENCED_DEFLATE,
        u.is_encapsulated,
    )


def deflated_syntaxes_from_registry() -> frozenset[str]:
    """Every transfer syntax of pydicom's registry whose data set is deflated."""
    from pydicom.uid import AllTransferSyntaxes

    return frozenset(
        str(uid) for uid in AllTransferSyntaxes if transfer_syntax_policy(uid).deflated
    ) | {_JPIP_REFERENCED_DEFLATE}


def _registry() -> list[TransferSyntaxPolicy]:
    from pydicom.uid import AllTransferSyntaxes

    return [transfer_syntax_policy(uid) for uid in AllTransferSyntaxes]


def native_syntaxes_from_registry() -> frozenset[str]:
    """Every transfer syntax of pydicom's registry whose Pixel Data is native."""
    return frozenset(p.uid for p in _registry() if not p.encapsulated)


def encapsulated_syntaxes_from_registry() -> frozenset[str]:
    """Every transfer syntax of pydicom's registry whose Pixel Data is encapsulated."""
    return frozenset(p.uid for p in _registry() if p.encapsulated)


def mac_unreproducible_from_registry() -> frozenset[str]:
    """Registry syntaxes with implicit VR or big endian, and the unmeasured deflated frames."""
    return frozenset(p.uid for p in _registry() if p.implicit_vr or p.big_endian) | {
        DEFLATED_IMAGE_FRAME_COMPRESSION
    }
