"""One signaling connection's rules, sans-IO: what a peer may send, and when it is cut off.

The shell (service.py) passes in what happened (a frame arrived, the room refused something,
the heartbeat came round, a message is to be sent, the socket went away) with the time
`now_s`; the connection decides, and its state says what the shell must carry out:

- `receive_join` and `receive` return the message the shell must take to the room (a `Join`
  while the connection awaits one, a `Relay` once it has joined), or None; a nearby group's
  connection (`ConnectionRules.decode`: the near-* frames) hands over its `NearJoin`, then
  its `NearName` and `NearRelay` frames, under the same rules;
- `outbox` holds the frames to write, in order (`pop_outgoing` / `wrote` as they go out);
- `state is ConnState.ENDED`: stop reading, write what is queued (unless `aborted`), then
  close with `close_code` and `close_reason`.

The rules: a `join` first, within `join_timeout_s`; then a token bucket on messages (over it,
messages are dropped with at most one error frame a second, and a peer that goes on far over
it is closed); a counter of malformed messages in a row; bounded queues (a peer that lets
its queue fill, or whose queue makes no write progress, is not reading); and the heartbeat's
verdict on silence. Every refusal's close code comes from `CLOSE_CODE_FOR_ERROR`.

Why this module is over 300 lines: it is one connection's rules whole (states and their table,
join gate, rate, bad input, queues, heartbeat), which both kinds of connection follow.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, TypeVar

from p2pshare.config import Limits
from p2pshare.errors import P2PShareError
from p2pshare.ratelimit import TokenBucket
from p2pshare.signaling.messages import (
    ClientMessage,
    CloseCode,
    ErrorCode,
    ErrorMessage,
    Join,
    Ping,
    Pong,
    Relay,
    SignalingError,
    decode_client_message,
    encode_server_message,
)
from p2pshare.signaling.nearby_messages import NearbyClientMessage, NearJoin, NearName, NearRelay

__all__ = [
    "CONN_TRANSITIONS",
    "NEARBY_REQUESTS",
    "ROOM_REQUESTS",
    "ConnState",
    "Connection",
    "ConnectionRules",
    "IllegalTransition",
    "Verdict",
]

# What a connection hands its shell: the join (`receive_join`), then the requests (`receive`).
JoinT = TypeVar("JoinT", Join, NearJoin)
RequestT = TypeVar("RequestT", bound=Relay | NearName | NearRelay)
AnyClientMessage = ClientMessage | NearbyClientMessage
ROOM_REQUESTS: Final = (Relay,)
NEARBY_REQUESTS: Final = (NearName, NearRelay)

MAX_BAD_MESSAGES_IN_A_ROW: Final = 10
ERROR_FRAME_INTERVAL_S: Final = 1.0  # at most one rate-limit error frame a second per peer
CLOSE_REASON_CHARS: Final = 120  # a close frame's reason is limited to 123 bytes

_NORMAL_CLOSE: Final = int(CloseCode.NORMAL)  # one int object for all connections
_PING_TEXT: Final = encode_server_message(Ping())
_PONG_TEXT: Final = encode_server_message(Pong())
_RATE_LIMITED_TEXT: Final = encode_server_message(
    ErrorMessage(
        code=ErrorCode.RATE_LIMITED, message="too many messages: some were dropped; slow down"
    )
)


class ConnState(enum.Enum):
    AWAITING_JOIN = "awaiting-join"  # accepted; the first frame must be a join, in time
    JOINING = "joining"  # the join arrived; the shell is finding its room
    JOINED = "joined"  # in a room: relays, pings and pongs
    ENDED = "ended"  # finished: nothing more is read; queued frames go out, then the close


CONN_TRANSITIONS: Final[Mapping[ConnState, frozenset[ConnState]]] = MappingProxyType(
    {
        ConnState.AWAITING_JOIN: frozenset({ConnState.JOINING, ConnState.ENDED}),
        ConnState.JOINING: frozenset({ConnState.JOINED, ConnState.ENDED}),
        ConnState.JOINED: frozenset({ConnState.ENDED}),
        ConnState.ENDED: frozenset(),
    }
)


class Verdict(enum.Enum):
    """What the heartbeat found when it came round to a connection."""

    FINE = "fine"  # heard from recently (or not joined yet: the join deadline rules)
    PING = "ping"  # silent for heartbeat_interval_s: pinged
    SILENT = "silent"  # silent for heartbeat_timeout_s: ended, socket dropped
    NOT_READING = "not-reading"  # queued frames made no write progress that long: ended


class IllegalTransition(P2PShareError):
    """The shell asked for a move its connection's state does not allow (a bug)."""


@dataclass(frozen=True, slots=True)
class ConnectionRules:
    """What all connections of one service share: the limits, and where refusals are counted."""

    limits: Limits
    count_rejected: Callable[[ErrorCode], object] = lambda code: None
    # A room's frames, or a nearby group's (nearby_messages.decode_nearby_client_message).
    decode: Callable[[str, int], AnyClientMessage] = decode_client_message


class Connection:
    """The rules of one connection: one per accepted WebSocket, about 260 bytes with its
    bucket once joined (10,000 connections: 2.6 MB)."""

    __slots__ = (
        "_outbox",
        "aborted",
        "bad_in_row",
        "bucket",
        "close_code",
        "close_reason",
        "dropped_in_row",
        "join_deadline_s",
        "last_rate_error_s",
        "last_seen_s",
        "last_write_s",
        "outbox_bytes",
        "rules",
        "state",
    )

    def __init__(self, rules: ConnectionRules, now_s: float) -> None:
        limits = rules.limits
        self.rules = rules
        self.state = ConnState.AWAITING_JOIN
        self.join_deadline_s = now_s + limits.join_timeout_s  # (math.inf once joined or ended)
        self.bucket = TokenBucket(limits.message_rate_per_s, limits.message_burst, stamp_s=now_s)
        self.last_seen_s = now_s
        self.last_rate_error_s = -math.inf
        self.dropped_in_row = 0
        self.bad_in_row = 0
        # Bounded by `queue` (send_queue_messages), so a list's pop(0) is cheap enough, and an
        # empty list is 56 bytes where a deque always holds a 600-byte block; and none at all
        # while nothing waits, which is most of the time for most of 10,000 connections.
        self._outbox: list[str] | None = None
        self.outbox_bytes = 0
        self.last_write_s = now_s  # when writing last made progress (or had nothing to do)
        self.aborted = False  # ended without sending what was queued
        self.close_code = _NORMAL_CLOSE
        self.close_reason = ""

    @property
    def ended(self) -> bool:
        return self.state is ConnState.ENDED

    @property
    def outbox(self) -> Sequence[str]:
        """The frames waiting to be written, oldest first."""
        return self._outbox or ()

    # --- what arrives -----------------------------------------------------------

    def receive_join(self, frame: str | bytes, now_s: float, kind: type[JoinT]) -> JoinT | None:
        """The first frame arrived: the join (of `kind`) the shell takes to its room or group,
        or None (ended)."""
        if self.state is not ConnState.AWAITING_JOIN:
            if self.state is ConnState.ENDED:
                return None
            raise IllegalTransition(f"a first frame while {self.state.value}")
        self.last_seen_s = now_s
        try:
            message = self._decode(frame)
        except SignalingError as error:
            self.end(error.as_fatal())
            return None
        if not isinstance(message, kind):
            self.end(
                SignalingError(ErrorCode.JOIN_FIRST, "send join before anything else", fatal=True)
            )
            return None
        self._move(ConnState.JOINING)
        return message

    def receive(
        self, frame: str | bytes, now_s: float, kinds: tuple[type[RequestT], ...]
    ) -> RequestT | None:
        """A frame arrived on a joined connection: the request (of `kinds`: `Relay` in a room;
        `NearName`, `NearRelay` in a nearby group) the shell takes on, if any."""
        if self.state is not ConnState.JOINED:
            if self.state is ConnState.ENDED:
                return None
            raise IllegalTransition(f"a frame while {self.state.value}: read the join first")
        self.last_seen_s = now_s
        if not self.bucket.take(now_s):
            self._drop_over_rate(now_s)
            return None
        self.dropped_in_row = 0
        try:
            message = self._decode(frame)
        except SignalingError as error:
            self.reject(error, now_s)
            return None
        # It parsed: refusing its content later (unknown peer...) is not "bad input", and a
        # sender still talking to a receiver that just left must not be cut off for it.
        self.bad_in_row = 0
        if isinstance(message, kinds):
            return message
        if isinstance(message, Ping):
            self.queue(_PONG_TEXT, now_s)
        elif isinstance(message, Join | NearJoin):
            self.reject(
                SignalingError(ErrorCode.ALREADY_JOINED, "this connection has already joined"),
                now_s,
            )
        # (Pong: a sign of life, nothing more. The decoder yields nothing else.)
        return None

    def _drop_over_rate(self, now_s: float) -> None:
        self.dropped_in_row += 1
        if self.dropped_in_row > self.rules.limits.max_dropped_messages:
            self.end(
                SignalingError(
                    ErrorCode.RATE_LIMITED, "far too many messages; slow down", fatal=True
                )
            )
            return
        self.rules.count_rejected(ErrorCode.RATE_LIMITED)
        if now_s - self.last_rate_error_s >= ERROR_FRAME_INTERVAL_S:
            self.last_rate_error_s = now_s
            self.queue(_RATE_LIMITED_TEXT, now_s)

    def _decode(self, frame: str | bytes) -> AnyClientMessage:
        if isinstance(frame, bytes):
            raise SignalingError(
                ErrorCode.BAD_MESSAGE,
                "binary frames are not part of the protocol; send JSON text frames",
            )
        return self.rules.decode(frame, self.rules.limits.max_frame_bytes)

    def reject(self, error: SignalingError, now_s: float) -> None:
        """A message was refused (here, or by the room): an error frame, or the end."""
        if error.fatal:
            self.end(error)
            return
        if error.code is ErrorCode.BAD_MESSAGE:
            self.bad_in_row += 1
            if self.bad_in_row > MAX_BAD_MESSAGES_IN_A_ROW:
                self.end(SignalingError(error.code, "too many invalid messages", fatal=True))
                return
        self.rules.count_rejected(error.code)
        self.queue(encode_server_message(error.to_frame()), now_s)

    def join_timed_out(self) -> None:
        """`join_deadline_s` passed with no join."""
        if self.state is ConnState.AWAITING_JOIN:
            self.end(SignalingError(ErrorCode.JOIN_TIMEOUT, "no join received in time", fatal=True))

    def joined(self, now_s: float) -> None:
        """The room took the join."""
        self._move(ConnState.JOINED)
        self.last_seen_s = now_s
        self.join_deadline_s = math.inf

    def disconnected(self, close_code: int) -> None:
        """The client went away (`close_code` 1005/1006 when it sent none)."""
        if close_code == CloseCode.MESSAGE_TOO_BIG:  # cut by the WebSocket layer: far too big
            self.rules.count_rejected(ErrorCode.TOO_BIG)
        self.end(None)

    # --- the heartbeat ----------------------------------------------------------

    def heartbeat(self, now_s: float) -> Verdict:
        """The heartbeat came round: judge silence and write progress."""
        if self.state is not ConnState.JOINED:
            return Verdict.FINE
        limits = self.rules.limits
        if self._outbox and now_s - self.last_write_s > limits.heartbeat_timeout_s:
            # Messages wait and the socket takes none of them: not reading.
            self.end(_slow_consumer(), abort=True)
            return Verdict.NOT_READING
        idle_s = now_s - self.last_seen_s
        if idle_s > limits.heartbeat_timeout_s:
            self.end(
                SignalingError(
                    ErrorCode.HEARTBEAT_TIMEOUT, "nothing heard for too long", fatal=True
                ),
                abort=True,
            )
            return Verdict.SILENT
        if idle_s >= limits.heartbeat_interval_s:
            self.queue(_PING_TEXT, now_s)
            return Verdict.PING
        return Verdict.FINE

    # --- what goes out ----------------------------------------------------------

    def queue(self, text: str, now_s: float) -> None:
        """Queue a frame for the peer; a full queue means the peer is not reading."""
        if self.state is ConnState.ENDED:
            return
        limits = self.rules.limits
        outbox = self._outbox
        if outbox is None:
            self._outbox = outbox = []
            self.last_write_s = now_s  # the clock for write progress starts now
        elif (
            len(outbox) >= limits.send_queue_messages
            or self.outbox_bytes + len(text) > limits.send_queue_bytes
        ):
            self.end(_slow_consumer(), abort=True)
            return
        outbox.append(text)
        self.outbox_bytes += len(text)

    def pop_outgoing(self) -> str | None:
        """The next frame to write, or None."""
        outbox = self._outbox
        if outbox is None:
            return None
        text = outbox.pop(0)
        self.outbox_bytes -= len(text)
        if not outbox:
            self._outbox = None
        return text

    def wrote(self, now_s: float) -> None:
        """A frame went out: write progress."""
        self.last_write_s = now_s

    def end(self, error: SignalingError | None, *, abort: bool = False) -> None:
        """Finish: queue the error frame (if any) before the close.

        With `abort`, what is queued is dropped and the socket is to be closed at once (the
        peer is not reading, or is dead).
        """
        if self.state is ConnState.ENDED:
            return
        if error is not None:
            self.rules.count_rejected(error.code)
            if not abort:
                if len(self.outbox) < self.rules.limits.send_queue_messages:
                    frame = encode_server_message(error.to_frame())
                    if self._outbox is None:
                        self._outbox = []
                    self._outbox.append(frame)
                    self.outbox_bytes += len(frame)
                else:
                    abort = True
            self.close_code = int(error.close or CloseCode.NORMAL)
            self.close_reason = error.message[:CLOSE_REASON_CHARS]
        self._move(ConnState.ENDED)
        self.join_deadline_s = math.inf
        if abort:
            self.aborted = True
            self._outbox = None
            self.outbox_bytes = 0

    def _move(self, to: ConnState) -> None:
        if to not in CONN_TRANSITIONS[self.state]:
            raise IllegalTransition(f"{self.state.value} -> {to.value}")
        self.state = to


def _slow_consumer() -> SignalingError:
    return SignalingError(
        ErrorCode.SLOW_CONSUMER, "you did not read your messages in time", fatal=True
    )
