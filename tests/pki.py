"""The test PKI lives in the package (the demo uses it too); re-exported for tests."""

from __future__ import annotations

from dicomseal.samples.pki import KeyPair, TestPki, make_pki

__all__ = ["KeyPair", "TestPki", "make_pki"]
