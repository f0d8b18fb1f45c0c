"""Sealed signaling payloads (web/js/seal.js; docs/protocol.md, 2): what the server relays, it
can neither read nor forge.

Envelope (the relay's `data`): `v1.<kid>.<epoch>.<seq>.<base64url(nonce || ciphertext+tag)>`,
AES-256-GCM under `keys.signal_key(secret, room, from, to)` with a fresh 96-bit nonce; the
associated data binds the room, both peer ids, the session id, the sending page's epoch, its
sequence number for this recipient and the key id. `Sealer.seal_at` takes the nonce and the
sequence number (the conformance vectors: tests/vectors/sealed.json); `Sealer.seal` draws and
counts them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Final, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from p2pshare.peer.encoding import JsonTooDeep, b64url, loads_like_js, unb64url
from p2pshare.peer.errors import SealError
from p2pshare.peer.keys import key_id, signal_key

__all__ = [
    "NONCE_BYTES",
    "Envelope",
    "Opened",
    "ReplayGuard",
    "Sealer",
    "new_epoch",
    "parse_envelope",
]

VERSION: Final = "v1"
NONCE_BYTES: Final = 12
TAG_BYTES: Final = 16
_EPOCH_RE: Final = re.compile(r"[0-9]{1,16}\Z")  # [0-9], not \d: Python's \d is any digit
_SEQ_RE: Final = re.compile(r"[0-9]{1,15}\Z")
_BLOB_RE: Final = re.compile(r"[A-Za-z0-9_-]+\Z")


@dataclass(frozen=True, slots=True)
class Envelope:
    kid: str
    epoch: int
    seq: int
    blob: str


@dataclass(frozen=True, slots=True)
class Opened:
    body: Any  # the decoded JSON body (sealed_bodies.decode_sealed_body judges it)
    epoch: int  # the sending page's epoch
    seq: int  # its sequence number for this recipient


def _js_number(text: str) -> int:
    # seal.js reads the fields with Number(): past 2**53 a 16-digit epoch rounds, and the AAD
    # is made from the rounded value. float() rounds the same way (the same IEEE double).
    return int(float(text))


def parse_envelope(envelope: str) -> Envelope:
    """The fields of an envelope. Raises SealError('malformed')."""
    parts = envelope.split(".")
    if len(parts) != 5 or parts[0] != VERSION:
        raise SealError("malformed", "not a v1 envelope")
    _, kid, epoch_text, seq_text, blob = parts
    if not (_EPOCH_RE.match(epoch_text) and _SEQ_RE.match(seq_text) and _BLOB_RE.match(blob)):
        raise SealError("malformed", "malformed envelope fields")
    return Envelope(kid, _js_number(epoch_text), _js_number(seq_text), blob)


class Sealer:
    """Seals and opens the payloads of one page (one epoch) in one room."""

    def __init__(self, secret: bytes, room: str, epoch: int) -> None:
        self.secret = secret
        self.room = room
        self.epoch = epoch
        self.kid = key_id(secret, room)
        self._ciphers: dict[tuple[str, str], AESGCM] = {}
        self._next_seq: dict[str, int] = {}

    def _cipher(self, from_peer: str, to_peer: str) -> AESGCM:
        cipher = self._ciphers.get((from_peer, to_peer))
        if cipher is None:
            cipher = AESGCM(signal_key(self.secret, self.room, from_peer, to_peer))
            self._ciphers[(from_peer, to_peer)] = cipher
        return cipher

    def aad(self, from_peer: str, to_peer: str, sid: int, epoch: int, seq: int, kid: str) -> bytes:
        return f"p2pshare/v1|{self.room}|{from_peer}|{to_peer}|{sid}|{epoch}|{seq}|{kid}".encode()

    def seal_at(
        self, from_peer: str, to_peer: str, sid: int, seq: int, nonce: bytes, plaintext: bytes
    ) -> str:
        """The envelope of `plaintext` (the JSON body's bytes) with this nonce and seq."""
        if len(nonce) != NONCE_BYTES:
            raise ValueError(f"a nonce is {NONCE_BYTES} bytes")
        aad = self.aad(from_peer, to_peer, sid, self.epoch, seq, self.kid)
        sealed = self._cipher(from_peer, to_peer).encrypt(nonce, plaintext, aad)
        return f"{VERSION}.{self.kid}.{self.epoch}.{seq}.{b64url(nonce + sealed)}"

    def seal(self, from_peer: str, to_peer: str, sid: int, plaintext: bytes) -> str:
        """The next envelope for `to_peer`: a random nonce, its next sequence number."""
        seq = self._next_seq.get(to_peer, 1)
        self._next_seq[to_peer] = seq + 1
        return self.seal_at(from_peer, to_peer, sid, seq, os.urandom(NONCE_BYTES), plaintext)

    def open(self, from_peer: str, to_peer: str, sid: int, envelope: str) -> Opened:
        """Open a relayed envelope (`from_peer` and `sid` as the relay says).

        Raises SealError: 'malformed', 'wrong-key' (another secret) or 'not-authentic'.
        """
        fields = parse_envelope(envelope)
        if fields.kid != self.kid:
            raise SealError("wrong-key", "sealed with a different secret")
        try:
            data = unb64url(fields.blob)
        except ValueError:
            raise SealError("malformed", "envelope payload is not base64url") from None
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise SealError("malformed", "envelope too short")
        aad = self.aad(from_peer, to_peer, sid, fields.epoch, fields.seq, fields.kid)
        try:
            plain = self._cipher(from_peer, to_peer).decrypt(
                data[:NONCE_BYTES], data[NONCE_BYTES:], aad
            )
        except InvalidTag:
            raise SealError("not-authentic", "payload failed authentication") from None
        try:
            body = loads_like_js(plain)
        except JsonTooDeep:
            body = None  # JSON to seal.js, so no alarm; and no body: decode_sealed_body refuses it
        except ValueError:
            raise SealError("malformed", "sealed body is not JSON") from None
        return Opened(body, fields.epoch, fields.seq)


ReplayVerdict = Literal["ok", "new-epoch", "stale", "replay"]


class ReplayGuard:
    """Per remote peer, the newest page epoch and the last sequence number seen."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[int, int]] = {}

    def check(self, peer: str, epoch: int, seq: int) -> ReplayVerdict:
        """'new-epoch': a newer page of that peer (it reloaded); 'stale': an older one (ignore);
        'replay': the same page with a sequence number that did not grow (tampering)."""
        last = self._seen.get(peer)
        if last is not None and epoch < last[0]:
            return "stale"
        if last is not None and epoch == last[0]:
            if seq <= last[1]:
                return "replay"
            self._seen[peer] = (epoch, seq)
            return "ok"
        self._seen[peer] = (epoch, seq)
        return "new-epoch" if last is not None else "ok"

    def epoch_of(self, peer: str) -> int:
        last = self._seen.get(peer)
        return last[0] if last else 0


def new_epoch(last_epoch: int, now_ms: int) -> int:
    """This page's epoch: it must grow across restarts (the other side ignores older ones), so
    max(a clock-based one, last + 1); the caller keeps the result for its next start."""
    return max(now_ms * 1000 + int.from_bytes(os.urandom(2)) % 1000, last_epoch + 1)
