"""The signaling wire format: JSON text frames, one msgspec Struct per message type.

Every frame is a JSON object whose `type` field selects the Struct (a tagged
union); decoding validates types, formats and lengths at the edge, so the room
state machine only ever sees well-formed messages. `docs/protocol.md` is the
contract and every example in it is decoded by the tests.

The server never looks inside `data`: payloads are sealed end to end by the
browsers and relayed as opaque strings.

Nearby groups (`/ws/nearby.<group>`) speak their own frames, `near-*`, defined in
nearby_messages.py; what both kinds of connection share is here: the error and close codes,
`SignalingError`, the `ping`, `pong` and `error` frames, the tagged base `Message`, the
client id, and the frame size limit (`decode_limited`).

Why this module is over 300 lines: it is the room protocol whole (every code with its close
code, every room frame, the decoders), the one place docs/protocol.md and protocol.js are
checked against.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Final, Literal, TypeVar

import msgspec

from p2pshare.errors import P2PShareError

if TYPE_CHECKING:  # (a type only: nearby_messages imports this module)
    from p2pshare.signaling.nearby_messages import NearbyClientMessage, NearbyServerMessage

__all__ = [
    "BASE64URL_CHARS",
    "CLOSE_CODE_FOR_ERROR",
    "PROTOCOL_VERSION",
    "ROOM_ID_PATTERN",
    "ClientMessage",
    "CloseCode",
    "ErrorCode",
    "ErrorMessage",
    "Join",
    "Message",
    "PeerInfo",
    "PeerJoined",
    "PeerLeft",
    "Ping",
    "Pong",
    "Relay",
    "Relayed",
    "Role",
    "ServerMessage",
    "SignalingError",
    "TurnServer",
    "Welcome",
    "decode_client_message",
    "decode_limited",
    "decode_server_message",
    "encode_client_message",
    "encode_server_message",
    "is_valid_room_id",
]

PROTOCOL_VERSION: Final = 1

# Room ids are chosen by the sender's browser: at least 96 random bits in
# base64url, so that a room cannot be guessed (docs/security.md).
ROOM_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{16,64}\Z"
BASE64URL_CHARS: Final = frozenset(  # room ids, nearby group ids
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
)

# A client id (per browser tab) and a creator token: random base64url strings.
ClientId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{16,64}\Z")]
CreatorToken = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{16,128}\Z")]
PeerId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,64}\Z")]
# Room admission (admission.py): the access key a sender registers, a receiver's HMAC proof.
AccessKey = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{43}\Z")]
JoinProof = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{43}\Z")]
# Session ids order a peer pair's negotiations; JavaScript-safe integers.
SessionId = Annotated[int, msgspec.Meta(ge=0, le=2**53 - 1)]
# The opaque sealed payload. The frame size limit bounds it further.
Payload = Annotated[str, msgspec.Meta(min_length=1, max_length=65536)]


class Role(enum.StrEnum):
    SENDER = "sender"  # created the room; holds the creator token
    RECEIVER = "receiver"  # knows only the link


class ErrorCode(enum.StrEnum):
    BAD_MESSAGE = "bad-message"  # not JSON, unknown type, or a field fails validation
    TOO_BIG = "too-big"  # frame larger than max_frame_bytes
    RATE_LIMITED = "rate-limited"  # over the per-connection message rate; message dropped
    JOIN_FIRST = "join-first"  # a message other than join before joining
    ALREADY_JOINED = "already-joined"  # a second join on one connection
    JOIN_TIMEOUT = "join-timeout"  # no join within join_timeout_s
    UNKNOWN_PEER = "unknown-peer"  # relay to a peer not present in the room
    NOT_ALLOWED = "not-allowed"  # relay between two receivers, or to oneself
    ROOM_FULL = "room-full"  # max_receivers_per_room reached
    BAD_ROOM = "bad-room"  # room id in the URL has the wrong format
    TOO_MANY_CONNECTIONS = "too-many-connections"  # per address or per process
    TOO_MANY_ROOMS = "too-many-rooms"  # per address or per process
    ROLE_REFUSED = "role-refused"  # wrong creator token, or a client id bound to the other role
    SLOW_CONSUMER = "slow-consumer"  # the peer did not read its messages
    HEARTBEAT_TIMEOUT = "heartbeat-timeout"  # nothing heard for heartbeat_timeout_s
    REPLACED = "replaced"  # the same client id connected again
    DRAINING = "draining"  # the server is shutting down and takes no new rooms
    SHUTTING_DOWN = "shutting-down"  # the server is stopping now
    ADMISSION_REFUSED = "admission-refused"  # no proof of the link's secret, or a wrong one
    GROUP_FULL = "group-full"  # max_nearby_peers devices are in this nearby group
    NEARBY_MISMATCH = "nearby-mismatch"  # /ws/nearby.<group> is not this client's group


class CloseCode(enum.IntEnum):
    NORMAL = 1000  # the peer left, or the server finished with it
    GOING_AWAY = 1001  # the server is shutting down: reconnect with backoff
    MESSAGE_TOO_BIG = 1009  # frame over max_frame_bytes
    REPLACED = 4001  # a newer connection with the same client id took over: do not reconnect
    HEARTBEAT_TIMEOUT = 4002  # nothing heard for heartbeat_timeout_s
    ROOM_FULL = 4003  # no room for another receiver
    BAD_ROOM = 4004  # malformed room id: do not reconnect
    TOO_MANY_CONNECTIONS = 4005  # per-address or per-process connection limit
    RATE_LIMITED = 4006  # kept sending far over the rate limit
    SLOW_CONSUMER = 4007  # did not read its messages; its queue filled
    PROTOCOL_ERROR = 4008  # no join in time, or too many malformed messages
    ROLE_REFUSED = 4009  # wrong creator token / role conflict: do not reconnect
    TOO_MANY_ROOMS = 4010  # per-address or per-process room limit
    DRAINING = 4011  # this server takes no new rooms; try again (another instance)
    ADMISSION_REFUSED = (
        4012  # the join's proof of the link's secret is missing or wrong: do not reconnect
    )
    NEARBY_MISMATCH = 4013  # not this client's nearby group: fetch /config.json, then reconnect


# The one table of what each error closes the connection with when it ends it (docs/protocol.md,
# "Errors and close codes", is checked against it); None: this error never ends a connection.
CLOSE_CODE_FOR_ERROR: Final[Mapping[ErrorCode, CloseCode | None]] = MappingProxyType(
    {
        ErrorCode.BAD_MESSAGE: CloseCode.PROTOCOL_ERROR,  # as the first frame, or 10 in a row
        ErrorCode.TOO_BIG: CloseCode.MESSAGE_TOO_BIG,
        ErrorCode.RATE_LIMITED: CloseCode.RATE_LIMITED,  # far over the rate only
        ErrorCode.JOIN_FIRST: CloseCode.PROTOCOL_ERROR,
        ErrorCode.ALREADY_JOINED: None,
        ErrorCode.JOIN_TIMEOUT: CloseCode.PROTOCOL_ERROR,
        ErrorCode.UNKNOWN_PEER: None,  # candidates in flight to a peer that just left: normal
        ErrorCode.NOT_ALLOWED: None,
        ErrorCode.ROOM_FULL: CloseCode.ROOM_FULL,
        ErrorCode.BAD_ROOM: CloseCode.BAD_ROOM,
        ErrorCode.TOO_MANY_CONNECTIONS: CloseCode.TOO_MANY_CONNECTIONS,
        ErrorCode.TOO_MANY_ROOMS: CloseCode.TOO_MANY_ROOMS,
        ErrorCode.ROLE_REFUSED: CloseCode.ROLE_REFUSED,
        ErrorCode.SLOW_CONSUMER: CloseCode.SLOW_CONSUMER,
        ErrorCode.HEARTBEAT_TIMEOUT: CloseCode.HEARTBEAT_TIMEOUT,
        ErrorCode.REPLACED: CloseCode.REPLACED,
        ErrorCode.DRAINING: CloseCode.DRAINING,
        ErrorCode.SHUTTING_DOWN: CloseCode.GOING_AWAY,
        ErrorCode.ADMISSION_REFUSED: CloseCode.ADMISSION_REFUSED,
        ErrorCode.GROUP_FULL: CloseCode.ROOM_FULL,  # full, like a room
        ErrorCode.NEARBY_MISMATCH: CloseCode.NEARBY_MISMATCH,
    }
)


class SignalingError(P2PShareError):
    """A client request that cannot be honoured.

    `fatal`: the connection cannot go on, and is closed with the error's close code
    (`CLOSE_CODE_FOR_ERROR`); otherwise an error frame is the whole answer.
    """

    __slots__ = ("code", "fatal", "message")

    def __init__(self, code: ErrorCode, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        if fatal and CLOSE_CODE_FOR_ERROR[code] is None:
            raise ValueError(f"{code} never ends a connection")
        self.code = code
        self.message = message
        self.fatal = fatal

    @property
    def close(self) -> CloseCode | None:
        """The close code when fatal, else None."""
        return CLOSE_CODE_FOR_ERROR[self.code] if self.fatal else None

    def as_fatal(self) -> SignalingError:
        """The same error, ending the connection (a refusal that is fatal where it occurs)."""
        return self if self.fatal else SignalingError(self.code, self.message, fatal=True)

    def to_frame(self) -> ErrorMessage:
        return ErrorMessage(code=self.code, message=self.message)


class Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="type"):
    """Every frame, room or nearby: a JSON object whose `type` names its Struct."""


# --- client -> server -------------------------------------------------------


class Join(Message, tag="join", frozen=True):
    """First message on a connection: who I am, whether I claim the sender role, and the
    proof of the link's secret (admission.py): a sender registers the room's `access` key, a
    receiver shows its `proof`."""

    cid: ClientId
    token: CreatorToken | None = None
    v: int = PROTOCOL_VERSION
    access: AccessKey | None = None
    proof: JoinProof | None = None


class Relay(Message, tag="relay", frozen=True):
    """Forward `data` to the peer `to` in the same room."""

    to: PeerId
    sid: SessionId
    data: Payload


class Ping(Message, tag="ping", frozen=True):
    """Either side may ping; the other answers `pong`. Any message counts as alive."""


class Pong(Message, tag="pong", frozen=True):
    pass


ClientMessage = Join | Relay | Ping | Pong


# --- server -> client -------------------------------------------------------


class PeerInfo(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    peer: str
    role: Role


TurnUrl = Annotated[str, msgspec.Meta(pattern=r"^turns?:", max_length=512)]
TurnCredential = Annotated[str, msgspec.Meta(max_length=256)]


class TurnServer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A TURN server (an RTCIceServer) with time-limited credentials, for members only."""

    urls: Annotated[tuple[TurnUrl, ...], msgspec.Meta(min_length=1, max_length=16)]
    username: TurnCredential
    credential: TurnCredential


class Welcome(Message, tag="welcome", frozen=True):
    """Answer to `join`: your peer id and role, who else is here, and TURN (if any)."""

    v: int
    room: str
    peer: str
    role: Role
    peers: tuple[PeerInfo, ...]
    heartbeat_s: float
    max_frame_bytes: int
    turn: Annotated[tuple[TurnServer, ...], msgspec.Meta(max_length=8)] = ()


class PeerJoined(Message, tag="peer-joined", frozen=True):
    """A peer arrived, or came back on a new connection (same peer id)."""

    peer: str
    role: Role


class PeerLeft(Message, tag="peer-left", frozen=True):
    """A peer is gone: `left` (closed cleanly) or `lost` (dropped, timed out)."""

    peer: str
    reason: Literal["left", "lost"]


class Relayed(Message, tag="relay", frozen=True):
    """A relayed payload; `from` is set by the server and cannot be forged by peers."""

    from_: str = msgspec.field(name="from")
    sid: int
    data: str


class ErrorMessage(Message, tag="error", frozen=True):
    code: ErrorCode
    message: str


ServerMessage = Welcome | PeerJoined | PeerLeft | Relayed | Ping | Pong | ErrorMessage


# Annotated rather than inferred: msgspec < 0.23 types a Decoder of a union as Decoder[Any],
# 0.23 as Decoder[the union]; with the annotation `decode` is typed alike on both, no cast.
_client_decoder: Final[msgspec.json.Decoder[ClientMessage]] = msgspec.json.Decoder(ClientMessage)
_server_decoder: Final[msgspec.json.Decoder[ServerMessage]] = msgspec.json.Decoder(ServerMessage)
_encoder: Final = msgspec.json.Encoder()
_M = TypeVar("_M")


def is_valid_room_id(room_id: str) -> bool:
    return 16 <= len(room_id) <= 64 and BASE64URL_CHARS.issuperset(room_id)


def decode_client_message(frame: str | bytes, max_frame_bytes: int) -> ClientMessage:
    """Decode one client frame.

    Raises SignalingError: TOO_BIG (fatal, 1009) past `max_frame_bytes`, or
    BAD_MESSAGE (not fatal) for anything that is not a valid client message.
    """
    return decode_limited(_client_decoder, frame, max_frame_bytes)


def decode_limited(
    decoder: msgspec.json.Decoder[_M], frame: str | bytes, max_frame_bytes: int
) -> _M:
    """Decode one client frame with `decoder` (a union's), `max_frame_bytes` at most.

    Raises SignalingError: TOO_BIG (fatal, 1009) or BAD_MESSAGE (not fatal).
    """
    size = len(frame)
    if isinstance(frame, str) and size * 4 > max_frame_bytes:
        size = len(frame.encode())  # UTF-8 takes at most 4 bytes a character
    if size > max_frame_bytes:
        raise SignalingError(
            ErrorCode.TOO_BIG,
            f"frame larger than {max_frame_bytes} bytes",
            fatal=True,
        )
    try:
        return decoder.decode(frame)
    except msgspec.ValidationError as exc:
        raise SignalingError(ErrorCode.BAD_MESSAGE, f"invalid message: {exc}") from None
    except msgspec.DecodeError as exc:
        raise SignalingError(ErrorCode.BAD_MESSAGE, f"not a JSON message: {exc}") from None


def decode_server_message(frame: str | bytes) -> ServerMessage:
    """Decode a server frame (used by tests and tools that act as clients).

    Raises msgspec.ValidationError / msgspec.DecodeError on malformed input.
    """
    return _server_decoder.decode(frame)


def encode_server_message(message: ServerMessage | NearbyServerMessage) -> str:
    return _encoder.encode(message).decode()


def encode_client_message(message: ClientMessage | NearbyClientMessage) -> str:
    return _encoder.encode(message).decode()
