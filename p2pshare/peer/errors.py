"""The exceptions of the client-side protocol, all under `p2pshare.errors.P2PShareError`.

Two families, as in h11: the peer's doing (`SealError`, `WireError`, `PathError`,
`SenderViolation`, `NearbyError`: refuse, tell, go on or stop as the protocol says) and ours
(`IllegalTransition`: a state-table move the caller should never have asked for).
"""

from __future__ import annotations

from typing import Literal

from p2pshare.errors import P2PShareError

__all__ = [
    "IllegalTransition",
    "NearbyError",
    "NearbyErrorKind",
    "PathError",
    "PeerError",
    "SealError",
    "SealErrorKind",
    "SealedBodyError",
    "SenderViolation",
    "WireError",
]

SealErrorKind = Literal["malformed", "wrong-key", "not-authentic"]
# nearby.py's refusals: a message that does not decode; a public key that is no P-256 point; a
# reveal that does not match its commitment (interception); a box that does not open; a box
# that opens to a body the protocol does not have; a message the offer's state does not expect.
NearbyErrorKind = Literal["malformed", "bad-key", "commitment", "box", "body", "unexpected"]


class PeerError(P2PShareError):
    """Base class of the errors of p2pshare.peer."""


class SealError(PeerError):
    """An envelope that does not open: malformed, sealed with another secret, or tampered."""

    def __init__(self, kind: SealErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: SealErrorKind = kind


class SealedBodyError(PeerError):
    """An opened sealed body that is not one the protocol has (protocol.js ProtocolError)."""


class WireError(PeerError):
    """A data-channel control frame refused; `frame_type` is its `t` when it had a known one."""

    def __init__(self, message: str, frame_type: str = "") -> None:
        super().__init__(message)
        self.frame_type = frame_type


class PathError(PeerError):
    """An offered path a receiver cannot safely write; the message names it for people."""


class SenderViolation(PeerError):
    """The sender sent something its own file list rules out; the message says what."""


class NearbyError(PeerError):
    """A pairing message between nearby devices refused (nearby.py); `kind` says why."""

    def __init__(self, kind: NearbyErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: NearbyErrorKind = kind


class IllegalTransition(PeerError):
    """A move the state table does not allow: a bug in the caller, not the peer's doing."""

    def __init__(self, from_state: str, to_state: str, event: str) -> None:
        super().__init__(f"{event}: {from_state} -> {to_state} is not allowed")
        self.from_state = from_state
        self.to_state = to_state
