"""Keys derived from the link's secret (web/js/seal.js, admission.js; docs/protocol.md, 2).

All by HKDF-SHA256 with the room's salt `"p2pshare/v1/room/" + room`, each under its own
`info`, so no key says anything about another:

- the key id (8 bytes, 11 base64url chars) in every envelope: "another secret" vs "tampered";
- one AES-256-GCM key per direction and peer pair (`signal/<from>><to>`);
- the room's access key and a receiver's join proof (p2pshare/signaling/admission.py, reused).
"""

from __future__ import annotations

from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from p2pshare.peer.encoding import b64url
from p2pshare.signaling import admission

__all__ = ["access_key", "hkdf_sha256", "join_proof", "key_id", "room_salt", "signal_key"]

KEY_ID_INFO: Final = b"p2pshare/v1/key-id"
KEY_ID_BYTES: Final = 8
SIGNAL_INFO_PREFIX: Final = "p2pshare/v1/signal/"
SIGNAL_KEY_BYTES: Final = 32


def room_salt(room: str) -> bytes:
    return f"p2pshare/v1/room/{room}".encode()


def hkdf_sha256(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def key_id(secret: bytes, room: str) -> str:
    """The envelopes' `kid` (base64url)."""
    return b64url(hkdf_sha256(secret, room_salt(room), KEY_ID_INFO, KEY_ID_BYTES))


def signal_key(secret: bytes, room: str, from_peer: str, to_peer: str) -> bytes:
    """The AES-256-GCM key of what `from_peer` seals for `to_peer`."""
    info = f"{SIGNAL_INFO_PREFIX}{from_peer}>{to_peer}".encode()
    return hkdf_sha256(secret, room_salt(room), info, SIGNAL_KEY_BYTES)


def access_key(secret: bytes, room: str) -> str:
    """The room's access key (base64url) the sender registers in its `join`."""
    return admission.access_key(secret, room)


def join_proof(secret: bytes, room: str, cid: str) -> str:
    """A receiver's `join` proof (base64url) for this room and client id."""
    return admission.join_proof(admission.access_key(secret, room), room, cid)
