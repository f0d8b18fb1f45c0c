"""The nearby groups' wire format (`/ws/nearby.<group>`): the near-* frames, their limits.

A nearby connection speaks `near-*` frames (plus messages.py's `ping`, `pong` and `error`),
in unions of their own: a room connection never decodes a `near-join`, nor a nearby
connection a `join`. Decoding validates at the edge as for rooms (messages.py's
`decode_limited`: the same frame size limit and errors). Device names and descriptions are
checked here, whole: a name that could reorder or hide text on another device's screen is
refused. `docs/protocol.md` ("Nearby") is the contract; web/js/protocol.js's twin of these
definitions is compared with them by tests/web.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Final

import msgspec

from p2pshare.signaling.messages import (
    BASE64URL_CHARS,
    PROTOCOL_VERSION,
    ClientId,
    ErrorMessage,
    Message,
    PeerId,
    Ping,
    Pong,
    decode_limited,
)

__all__ = [
    "NEARBY_MAX_DATA_CHARS",
    "NEARBY_MAX_NAME_UNITS",
    "NEARBY_MAX_PEERS_LISTED",
    "NEARBY_PATH_PREFIX",
    "NearJoin",
    "NearLeft",
    "NearName",
    "NearPeer",
    "NearPeerInfo",
    "NearRelay",
    "NearRelayed",
    "NearWelcome",
    "NearbyClientMessage",
    "NearbyServerMessage",
    "decode_nearby_client_message",
    "decode_nearby_server_message",
    "is_valid_nearby_group_id",
    "nearby_text_problem",
]

NEARBY_PATH_PREFIX: Final = "nearby."  # /ws/nearby.<group>; a room id never holds a "."
NEARBY_GROUP_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{22}\Z"  # nearby_scope.nearby_group_id
NEARBY_MAX_NAME_UNITS: Final = 48  # a name or device text, in UTF-16 code units (the page's)
NEARBY_MAX_DATA_CHARS: Final = 8192  # one near-relay's opaque data
NEARBY_MAX_PEERS_LISTED: Final = 64  # a near-welcome's peers (a group holds 32 by default)
# Categories refused anywhere in a name or device text: controls (Cc), format characters
# (Cf: bidi overrides and isolates U+202A-202E, U+2066-2069, marks U+200E/F, zero-width and
# BOM...), line and paragraph separators (Zl, Zp: a name is one line) and lone surrogates.
_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Before the Unicode check, a bound on what is looked at (whitespace to trim included).
_NEARBY_RAW_CHARS: Final = 256

NearbyData = Annotated[str, msgspec.Meta(min_length=1, max_length=NEARBY_MAX_DATA_CHARS)]
NearbyText = Annotated[str, msgspec.Meta(max_length=_NEARBY_RAW_CHARS)]
NearbyPeerId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{16}\Z")]


def is_valid_nearby_group_id(group_id: str) -> bool:
    return len(group_id) == 22 and BASE64URL_CHARS.issuperset(group_id)


def nearby_text_problem(text: str, *, min_units: int) -> str | None:
    """What is wrong with a name (`min_units` 1) or device text (0) as sent, or None.

    Checked: no refused character anywhere, then `min_units`..NEARBY_MAX_NAME_UNITS UTF-16
    units once trimmed (str.strip, as the page's trim() on what is left).
    """
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"U+{ord(char):04X} is a control or invisible character"
    trimmed = text.strip()
    units = len(trimmed) + sum(1 for char in trimmed if ord(char) > 0xFFFF)
    if not min_units <= units <= NEARBY_MAX_NAME_UNITS:
        return f"{units} UTF-16 units, not {min_units} to {NEARBY_MAX_NAME_UNITS}"
    return None


def _checked_text(struct: msgspec.Struct, field: str, *, min_units: int, trim: bool) -> None:
    """Validate (in __post_init__: a ValueError is a ValidationError to msgspec) and, with
    `trim`, store the trimmed text; without, the text must be trimmed already."""
    text = getattr(struct, field)
    problem = nearby_text_problem(text, min_units=min_units)
    if problem is None and not trim and text != text.strip():
        problem = "not trimmed"
    if problem is not None:
        raise ValueError(f"{field}: {problem}")
    if trim:
        msgspec.structs.force_setattr(struct, field, text.strip())


class NearJoin(Message, tag="near-join", frozen=True):
    """First message on a nearby connection: this tab (`cid`, as for rooms) and how it is shown."""

    cid: ClientId
    name: NearbyText
    device: NearbyText = ""
    v: int = PROTOCOL_VERSION

    def __post_init__(self) -> None:
        _checked_text(self, "name", min_units=1, trim=True)
        _checked_text(self, "device", min_units=0, trim=True)


class NearName(Message, tag="near-name", frozen=True):
    """Rename this device (announced to the group as `near-peer`)."""

    name: NearbyText

    def __post_init__(self) -> None:
        _checked_text(self, "name", min_units=1, trim=True)


class NearRelay(Message, tag="near-relay", frozen=True):
    """Forward `data` (opaque to the server) to the group's peer `to`."""

    to: PeerId
    data: NearbyData


NearbyClientMessage = NearJoin | NearName | NearRelay | Ping | Pong


class NearPeerInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A device of the group, as shown to the others (its texts were checked and trimmed)."""

    id: NearbyPeerId
    name: NearbyText
    device: NearbyText

    def __post_init__(self) -> None:
        _checked_text(self, "name", min_units=1, trim=False)
        _checked_text(self, "device", min_units=0, trim=False)


class NearWelcome(Message, tag="near-welcome", frozen=True):
    """Answer to `near-join`: your peer id (random, this connection's) and the others."""

    you: NearbyPeerId
    peers: Annotated[tuple[NearPeerInfo, ...], msgspec.Meta(max_length=NEARBY_MAX_PEERS_LISTED)]


class NearPeer(Message, tag="near-peer", frozen=True):
    """A device joined the group, or renamed itself."""

    id: NearbyPeerId
    name: NearbyText
    device: NearbyText

    def __post_init__(self) -> None:
        _checked_text(self, "name", min_units=1, trim=False)
        _checked_text(self, "device", min_units=0, trim=False)


class NearLeft(Message, tag="near-left", frozen=True):
    """A device left the group (closed, dropped, or replaced by its own reload)."""

    id: NearbyPeerId


class NearRelayed(Message, tag="near-relayed", frozen=True):
    """Relayed data; `from` is set by the server from the sender's connection."""

    from_: NearbyPeerId = msgspec.field(name="from")
    data: NearbyData


NearbyServerMessage = NearWelcome | NearPeer | NearLeft | NearRelayed | Ping | Pong | ErrorMessage

# Annotated rather than inferred, as in messages.py (msgspec < 0.23 and 0.23 alike).
_nearby_client_decoder: Final[msgspec.json.Decoder[NearbyClientMessage]] = msgspec.json.Decoder(
    NearbyClientMessage
)
_nearby_server_decoder: Final[msgspec.json.Decoder[NearbyServerMessage]] = msgspec.json.Decoder(
    NearbyServerMessage
)


def decode_nearby_client_message(frame: str | bytes, max_frame_bytes: int) -> NearbyClientMessage:
    """Decode one frame of a nearby connection; raises SignalingError as
    `decode_client_message` does."""
    return decode_limited(_nearby_client_decoder, frame, max_frame_bytes)


def decode_nearby_server_message(frame: str | bytes) -> NearbyServerMessage:
    """Decode a nearby connection's server frame (tests and tools acting as clients).

    Raises msgspec.ValidationError / msgspec.DecodeError on malformed input.
    """
    return _nearby_server_decoder.decode(frame)
