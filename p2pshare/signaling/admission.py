"""Room admission by proof of the link's secret (sans-IO).

The room id is in the link's path, so it reaches proxy logs, browser history and everyone the
link was shown to; the secret is in the fragment, which never leaves the browser. A room id alone
must not be enough to hold a room's slots or reach its sender. So:

- both sides derive an *access key* from the secret, one way and apart from the sealing keys:
  `HKDF-SHA256(ikm=secret, salt="p2pshare/v1/room/" + room, info="p2pshare/v1/access")`;
- the sender's `join` registers it with the room (`access`); the server keeps it in memory, for
  the life of the room, and re-learns it when the sender's page joins again (restarts, other
  instances: nothing is stored);
- a receiver's `join` carries `proof = HMAC-SHA256(access key, "p2pshare/v1/join|" + room + "|"
  + cid)`; the server admits it only if the proof matches. While the room has no key (its sender
  has not joined since the room was made), receivers are admitted on probation and checked, or
  closed, as soon as the sender registers it.

The server learns the access key, which opens no envelope and reveals nothing of the secret
(docs/security.md). Conformance vectors: tests/vectors/admission.json (Python and Node).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["access_key", "join_proof", "proof_matches"]

ACCESS_INFO: Final = b"p2pshare/v1/access"
ACCESS_KEY_BYTES: Final = 32


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def access_key(secret: bytes, room: str) -> str:
    """The room's access key (base64url), as the sender registers it. Clients and tests use it."""
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=ACCESS_KEY_BYTES,
        salt=f"p2pshare/v1/room/{room}".encode(),
        info=ACCESS_INFO,
    ).derive(secret)
    return _b64url(derived)


def join_proof(access: str, room: str, cid: str) -> str:
    """A receiver's proof (base64url) that it holds the access key, for this room and client id."""
    message = f"p2pshare/v1/join|{room}|{cid}".encode()
    return _b64url(hmac.new(_unb64url(access), message, hashlib.sha256).digest())


def proof_matches(access: str, room: str, cid: str, proof: str | None) -> bool:
    """Whether `proof` is the one `join_proof` makes (compared in constant time)."""
    if proof is None:
        return False
    return hmac.compare_digest(join_proof(access, room, cid), proof)
