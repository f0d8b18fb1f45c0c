"""What peers put inside sealed envelopes (docs/protocol.md, 2), decoded as strictly as
web/js/protocol.js parseSealedBody: one frozen Struct per kind `k`, no unknown fields, an
optional field either absent or valid (never null), the same limits.

The seal proves that a peer holds the link's secret, not that it follows the protocol, so its
bodies are checked like any frame. String limits are in UTF-16 units, as protocol.js counts.
"""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import UNSET, UnsetType

from p2pshare.peer.encoding import JsLengthLimited
from p2pshare.peer.errors import SealedBodyError

__all__ = [
    "MAX_SDP_CHARS",
    "SEALED_KINDS",
    "Alarm",
    "Answer",
    "Bye",
    "Cand",
    "Candidate",
    "Hello",
    "Offer",
    "Restart",
    "SealedBody",
    "decode_sealed_body",
    "encode_sealed_body",
]

MAX_SDP_CHARS: Final = 49152  # a sealed payload is at most 65536 chars of base64
MAX_SID: Final = 2**53 - 1

Epoch = Annotated[int, msgspec.Meta(ge=0, le=MAX_SID)]


class _Body(JsLengthLimited, frozen=True, forbid_unknown_fields=True, tag_field="k"):
    pass


class Candidate(JsLengthLimited, frozen=True, forbid_unknown_fields=True, rename="camel"):
    """An RTCIceCandidateInit; every field may be left out."""

    js_max_lengths = {"candidate": 1024, "sdp_mid": 64, "username_fragment": 256}
    candidate: str | UnsetType = UNSET
    sdp_mid: str | UnsetType | None = UNSET
    sdp_m_line_index: Annotated[int, msgspec.Meta(ge=0, le=1024)] | UnsetType | None = UNSET
    username_fragment: str | UnsetType | None = UNSET


class Hello(_Body, tag="hello", frozen=True):
    js_max_lengths = {"device": 200}
    role: Literal["sender"] | UnsetType = UNSET  # the sender's hello
    live: bool | UnsetType = UNSET  # a receiver's: it has an open data channel to this page
    device: str | UnsetType = UNSET  # "Chrome on Linux"


class Offer(_Body, tag="offer", frozen=True):
    js_max_lengths = {"sdp": MAX_SDP_CHARS}
    sdp: str
    fresh: bool | UnsetType = UNSET  # a new RTCPeerConnection, else an ICE restart
    re: Epoch | UnsetType = UNSET  # the receiver epoch it is for


class Answer(_Body, tag="answer", frozen=True):
    js_max_lengths = {"sdp": MAX_SDP_CHARS}
    sdp: str


class Cand(_Body, tag="cand", frozen=True):
    c: Candidate | None  # None: the end of the candidates


class Restart(_Body, tag="restart", frozen=True):
    fresh: bool | UnsetType = UNSET


class Bye(_Body, tag="bye", frozen=True):
    js_max_lengths = {"reason": 64}
    reason: str | UnsetType = UNSET  # cancelled, stopped


class Alarm(_Body, tag="alarm", frozen=True):
    pass


SealedBody = Hello | Offer | Answer | Cand | Restart | Bye | Alarm
SEALED_KINDS: Final = ("hello", "offer", "answer", "cand", "restart", "bye", "alarm")


def decode_sealed_body(body: Any) -> SealedBody:
    """Validate an opened body (seal.Opened.body). Raises SealedBodyError naming the fault."""
    try:
        decoded: SealedBody = msgspec.convert(body, SealedBody, strict=True)
    except msgspec.ValidationError as error:
        raise SealedBodyError(f"a sealed body refused: {error}") from None
    return decoded


def encode_sealed_body(body: SealedBody) -> bytes:
    """The JSON bytes to seal (`k` first, absent fields left out)."""
    return msgspec.json.encode(body)
