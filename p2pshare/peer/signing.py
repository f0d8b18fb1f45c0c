"""The sender's Ed25519 signatures on what it relays (web/js/signing.js).

The public key is the second part of the link's fragment; a receiver opens a relayed payload
only if that key signed it (`<envelope>~<86 chars of base64url signature>`, over
`"p2pshare/v1/sender-signature|" + envelope`). Vectors: tests/vectors/signatures.json.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from p2pshare.peer.encoding import b64url, unb64url

__all__ = [
    "SIGNATURE_CHARS",
    "new_sender_key",
    "sender_public_key",
    "sign_envelope",
    "verified_envelope",
]

SIGNATURE_CHARS: Final = 86  # 64 bytes, base64url
SEED_BYTES: Final = 32
_LABEL: Final = "p2pshare/v1/sender-signature|"


def _signed_bytes(envelope: str) -> bytes:
    return f"{_LABEL}{envelope}".encode()


def new_sender_key() -> tuple[str, str]:
    """A new sender key: (its seed, its public key), both base64url."""
    seed_text = b64url(os.urandom(SEED_BYTES))
    return seed_text, sender_public_key(seed_text)


def sender_public_key(seed_text: str) -> str:
    """The public key (base64url) of a seed (base64url). Raises ValueError for a bad seed."""
    public = Ed25519PrivateKey.from_private_bytes(unb64url(seed_text)).public_key()
    return b64url(public.public_bytes(Encoding.Raw, PublicFormat.Raw))


def sign_envelope(seed_text: str, envelope: str) -> str:
    """`envelope` with the sender's signature appended: `<envelope>~<signature>`."""
    signature = Ed25519PrivateKey.from_private_bytes(unb64url(seed_text)).sign(
        _signed_bytes(envelope)
    )
    return f"{envelope}~{b64url(signature)}"


def verified_envelope(public_text: str, data: str) -> str | None:
    """The envelope of a signed relay payload if `public_text` signed it, else None."""
    envelope, cut, signature_text = data.rpartition("~")
    if not cut or len(signature_text) != SIGNATURE_CHARS:
        return None
    try:
        key = Ed25519PublicKey.from_public_bytes(unb64url(public_text))
        key.verify(unb64url(signature_text), _signed_bytes(envelope))
    except (ValueError, InvalidSignature):
        return None
    return envelope
