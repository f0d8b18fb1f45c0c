"""The sender-signature vectors verify with Python's `cryptography` too (a second, independent
Ed25519), so the page's signatures are standard ones (the command-line peer will check them)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "signatures.json").read_text())


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_the_vectors_verify_with_cryptography() -> None:
    assert len(VECTORS["cases"]) >= 2
    for case in VECTORS["cases"]:
        envelope, signature = case["signed"].rsplit("~", 1)
        assert envelope == case["envelope"]
        key = Ed25519PublicKey.from_public_bytes(_unb64(case["public"]))
        key.verify(_unb64(signature), f"p2pshare/v1/sender-signature|{envelope}".encode())
