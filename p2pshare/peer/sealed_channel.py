"""Sealed messages between the peers of a room, over the server's relay: the part of
web/js/sealed-signaling.js that decides, without the I/O.

`seal_for` makes a relay's `data` (sealed, and signed when this side is the sender);
`receive` judges a relayed payload, in arrival order, and returns what happened:
- SealedMessage: a valid body from that peer (`new_epoch`: its page restarted);
- SecurityAlert: 'wrong-key' (a peer never opened before used another secret) or 'tampered'
  (unsigned by the link's sender key, not authentic, replayed, or another key after a good one);
- RefusedBody: it opened, but is not a body the protocol has (the browser warns and drops it);
- None: stale (from an older page of that peer), dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from p2pshare.peer.errors import SealedBodyError, SealError
from p2pshare.peer.seal import ReplayGuard, Sealer
from p2pshare.peer.sealed_bodies import SealedBody, decode_sealed_body, encode_sealed_body
from p2pshare.peer.signing import sign_envelope, verified_envelope

__all__ = ["RefusedBody", "SealedChannel", "SealedMessage", "SecurityAlert"]


@dataclass(frozen=True, slots=True)
class SealedMessage:
    from_peer: str
    sid: int
    body: SealedBody
    epoch: int
    new_epoch: bool


@dataclass(frozen=True, slots=True)
class SecurityAlert:
    from_peer: str
    kind: Literal["wrong-key", "tampered"]
    reason: str


@dataclass(frozen=True, slots=True)
class RefusedBody:
    from_peer: str
    reason: str


class SealedChannel:
    """One page's sealed traffic in one room. `me` is its peer id (from `welcome`)."""

    def __init__(self, sealer: Sealer, *, sign_with: str = "", sender_key: str = "") -> None:
        """`sign_with`: the sender's seed (it signs all it sends); `sender_key`: the link's
        sender key (a receiver opens only what that key signed)."""
        self.sealer = sealer
        self.sign_with = sign_with
        self.sender_key = sender_key
        self.me = ""
        self.guard = ReplayGuard()
        self.trusted: set[str] = set()  # peers opened at least once: a key mismatch is tampering

    def seal_for(self, to_peer: str, sid: int, body: SealedBody) -> str:
        """The relay `data` carrying `body` to `to_peer` under session `sid` (send in order)."""
        envelope = self.sealer.seal(self.me, to_peer, sid, encode_sealed_body(body))
        return sign_envelope(self.sign_with, envelope) if self.sign_with else envelope

    def epoch_of(self, peer: str) -> int:
        """The newest page epoch seen from `peer` (0 if none)."""
        return self.guard.epoch_of(peer)

    def receive(
        self, from_peer: str, sid: int, data: str
    ) -> SealedMessage | SecurityAlert | RefusedBody | None:
        envelope = data
        if self.sender_key:
            # Only the sender messages a receiver; anything its key did not sign is another's.
            signed = verified_envelope(self.sender_key, data)
            if signed is None:
                reason = "a message was not signed by the sender's key in the link"
                return SecurityAlert(from_peer, "tampered", reason)
            envelope = signed
        try:
            opened = self.sealer.open(from_peer, self.me, sid, envelope)
        except SealError as error:
            first = error.kind == "wrong-key" and from_peer not in self.trusted
            return SecurityAlert(from_peer, "wrong-key" if first else "tampered", str(error))
        verdict = self.guard.check(from_peer, opened.epoch, opened.seq)
        if verdict == "stale":
            return None
        if verdict == "replay":
            return SecurityAlert(from_peer, "tampered", "a payload was replayed")
        self.trusted.add(from_peer)
        try:
            body = decode_sealed_body(opened.body)
        except SealedBodyError as error:
            return RefusedBody(from_peer, str(error))
        return SealedMessage(from_peer, sid, body, opened.epoch, verdict == "new-epoch")
