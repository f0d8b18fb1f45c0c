"""The signaling service: the trio shell around `Room`.

Ownership (structured concurrency): the service's nursery owns one task per
live room and the shared heartbeat task; each room's nursery owns the reading
task of each of its peers. The task that accepted the WebSocket (the HTTP
server's) writes to it: it drains the peer's bounded outbox, so a peer that
stops reading fills its own queue and is cut off without slowing anyone else.

Everything that changes a room happens synchronously (decode, rate limit,
`Room` event, queue the effects), so there are no locks: between two awaits a
task has the room to itself.
"""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import trio

from p2pshare.config import Limits
from p2pshare.metrics import Metrics
from p2pshare.ratelimit import TokenBucket
from p2pshare.signaling.messages import (
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
    is_valid_room_id,
)
from p2pshare.signaling.room import Close, Deliver, Effect, Room, RoomSettings

__all__ = ["Disconnect", "SignalingService", "WebSocketPort"]

log = logging.getLogger(__name__)

MAX_BAD_MESSAGES_IN_A_ROW = 10
ERROR_FRAME_INTERVAL_S = 1.0  # at most one rate-limit error frame a second per peer
CLOSE_TIMEOUT_S = 1.0
CLEAN_CLOSE_CODES = frozenset({1000, 1001})

_PING_TEXT = encode_server_message(Ping())
_PONG_TEXT = encode_server_message(Pong())


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The client went away; `code` is its close code (1005/1006 when there was none)."""

    code: int


class WebSocketPort(Protocol):
    """What the service needs of an accepted WebSocket (the HTTP layer adapts ASGI to it)."""

    address: str

    async def receive(self) -> str | bytes | Disconnect: ...

    async def send(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class _Peer:
    """One accepted connection, joined or not yet."""

    __slots__ = (
        "address",
        "bad_in_row",
        "bucket",
        "close_code",
        "close_reason",
        "dropped_in_row",
        "ended",
        "last_rate_error_s",
        "last_seen_s",
        "outbox_recv",
        "outbox_send",
        "port",
        "reader_scope",
        "room",
        "writer_scope",
    )

    def __init__(self, port: WebSocketPort, limits: Limits, now_s: float) -> None:
        self.port = port
        self.address = port.address
        self.outbox_send, self.outbox_recv = trio.open_memory_channel[str](
            limits.send_queue_messages
        )
        self.bucket = TokenBucket(limits.message_rate_per_s, limits.message_burst, stamp_s=now_s)
        self.last_seen_s = now_s
        self.last_rate_error_s = -math.inf
        self.dropped_in_row = 0
        self.bad_in_row = 0
        self.room: _RoomRunner | None = None
        self.reader_scope = trio.CancelScope()
        self.writer_scope = trio.CancelScope()
        self.ended = False
        self.close_code = int(CloseCode.NORMAL)
        self.close_reason = ""


class _RoomRunner:
    """A live room: its state machine, its nursery, and who created it."""

    __slots__ = ("changed", "creator_address", "nursery", "ready", "room", "room_id")

    def __init__(self, room_id: str, settings: RoomSettings, creator_address: str) -> None:
        self.room_id = room_id
        self.room = Room(room_id, settings)
        self.creator_address = creator_address
        self.nursery: trio.Nursery | None = None
        self.ready = trio.Event()
        self.changed = trio.Event()

    def notify(self) -> None:
        self.changed.set()
        self.changed = trio.Event()


class SignalingService:
    """Rooms, peers and their limits. Start with `await nursery.start(service.run)`."""

    def __init__(
        self, limits: Limits, metrics: Metrics, *, clock: Callable[[], float] = trio.current_time
    ) -> None:
        self.limits = limits
        self.metrics = metrics
        self._clock = clock
        self._settings = RoomSettings(
            max_receivers=limits.max_receivers_per_room,
            heartbeat_s=limits.heartbeat_interval_s,
            max_frame_bytes=limits.max_frame_bytes,
        )
        self.rooms: dict[str, _RoomRunner] = {}
        self._peers: set[_Peer] = set()
        self._connections_by_address: collections.Counter[str] = collections.Counter()
        self._rooms_by_address: collections.Counter[str] = collections.Counter()
        self._nursery: trio.Nursery | None = None
        self.draining = False
        self._stopping = False
        self._all_gone = trio.Event()
        self._rooms_gone = trio.Event()
        metrics.add_gauge("p2pshare_rooms", "Live signaling rooms.", lambda: len(self.rooms))
        metrics.add_gauge(
            "p2pshare_peers",
            "Peers present in rooms.",
            lambda: sum(r.room.peer_count for r in self.rooms.values()),
        )
        metrics.add_gauge(
            "p2pshare_ws_open_connections",
            "Open signaling WebSocket connections.",
            lambda: len(self._peers),
        )
        metrics.add_gauge(
            "p2pshare_draining",
            "1 while the server refuses new rooms.",
            lambda: float(self.draining),
        )

    @property
    def connection_count(self) -> int:
        return len(self._peers)

    # --- lifetime ------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Own the rooms and the heartbeat until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._heartbeat)
            task_status.started()
            await trio.sleep_forever()

    def begin_drain(self) -> None:
        """Refuse new rooms from now on; live rooms go on."""
        self.draining = True

    async def wait_rooms_empty(self) -> None:
        while self.rooms:
            await self._rooms_gone.wait()

    async def shutdown(self, timeout_s: float = 2.0) -> None:
        """Tell every peer the server is going away (1001) and wait for them to go."""
        self._stopping = True
        self.draining = True
        for peer in list(self._peers):
            self._end(
                peer,
                SignalingError(
                    ErrorCode.SHUTTING_DOWN,
                    "the server is restarting; reconnecting",
                    CloseCode.GOING_AWAY,
                ),
            )
        with trio.move_on_after(timeout_s):
            if self._peers:
                await self._all_gone.wait()

    # --- one connection ------------------------------------------------------

    async def handle(self, port: WebSocketPort, room_id: str) -> None:
        """Serve one accepted WebSocket until it ends. Never raises for bad input."""
        now = self._clock()
        peer = _Peer(port, self.limits, now)
        self._peers.add(peer)
        self._connections_by_address[peer.address] += 1
        self.metrics.ws_connections.inc()
        try:
            refusal = self._check_admission(peer, room_id)
            if refusal is not None:
                self._end(peer, refusal)
            else:
                await self._admit(peer, room_id)
            await self._write_loop(peer)
        finally:
            self._peers.discard(peer)
            self._connections_by_address[peer.address] -= 1
            if self._connections_by_address[peer.address] <= 0:
                del self._connections_by_address[peer.address]
            if not self._peers:
                self._all_gone.set()
                self._all_gone = trio.Event()

    def _check_admission(self, peer: _Peer, room_id: str) -> SignalingError | None:
        if self._stopping:
            return SignalingError(
                ErrorCode.SHUTTING_DOWN, "the server is stopping", CloseCode.GOING_AWAY
            )
        if not is_valid_room_id(room_id):
            return SignalingError(
                ErrorCode.BAD_ROOM,
                "this room id is malformed: check that the link was copied whole",
                CloseCode.BAD_ROOM,
            )
        if len(self._peers) > self.limits.max_connections:
            return SignalingError(
                ErrorCode.TOO_MANY_CONNECTIONS,
                "the server is full; try later",
                CloseCode.TOO_MANY_CONNECTIONS,
            )
        if self._connections_by_address[peer.address] > self.limits.max_connections_per_address:
            return SignalingError(
                ErrorCode.TOO_MANY_CONNECTIONS,
                "too many connections from your address; close some tabs",
                CloseCode.TOO_MANY_CONNECTIONS,
            )
        return None

    async def _admit(self, peer: _Peer, room_id: str) -> None:
        """Wait for `join`, then hand the peer's reading over to its room's nursery."""
        join: Join | None = None
        with trio.move_on_after(self.limits.join_timeout_s):
            event = await peer.port.receive()
            if isinstance(event, Disconnect):
                self._end(peer, None)
                return
            try:
                message = self._decode(peer, event)
                if not isinstance(message, Join):
                    raise SignalingError(
                        ErrorCode.JOIN_FIRST,
                        "send join before anything else",
                        CloseCode.PROTOCOL_ERROR,
                    )
                join = message
            except SignalingError as error:
                self._end(
                    peer,
                    error
                    if error.fatal
                    else SignalingError(error.code, error.message, CloseCode.PROTOCOL_ERROR),
                )
                return
        if join is None:
            self._end(
                peer,
                SignalingError(
                    ErrorCode.JOIN_TIMEOUT, "no join received in time", CloseCode.PROTOCOL_ERROR
                ),
            )
            return
        try:
            runner = await self._room_for(room_id, peer.address)
            # No await from here on: the room cannot end between lookup and join.
            effects = runner.room.join(peer, join)
        except SignalingError as error:
            self._end(peer, error)
            return
        peer.room = runner
        peer.last_seen_s = self._clock()
        runner.notify()
        self._apply(effects)
        assert runner.nursery is not None
        runner.nursery.start_soon(self._read_loop, peer, runner)

    async def _room_for(self, room_id: str, address: str) -> _RoomRunner:
        while True:
            runner = self.rooms.get(room_id)
            if runner is not None and runner.nursery is not None:
                return runner
            if runner is not None:
                await runner.ready.wait()
                continue
            if self.draining:
                raise SignalingError(
                    ErrorCode.DRAINING,
                    "this server is shutting down; reconnecting elsewhere",
                    CloseCode.DRAINING,
                )
            if len(self.rooms) >= self.limits.max_rooms:
                raise SignalingError(
                    ErrorCode.TOO_MANY_ROOMS,
                    "the server has too many rooms",
                    CloseCode.TOO_MANY_ROOMS,
                )
            if self._rooms_by_address[address] >= self.limits.max_rooms_per_address:
                raise SignalingError(
                    ErrorCode.TOO_MANY_ROOMS,
                    "too many rooms opened from your address; close some first",
                    CloseCode.TOO_MANY_ROOMS,
                )
            runner = _RoomRunner(room_id, self._settings, address)
            self.rooms[room_id] = runner
            self._rooms_by_address[address] += 1
            assert self._nursery is not None
            await self._nursery.start(self._run_room, runner)

    async def _run_room(
        self, runner: _RoomRunner, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            async with trio.open_nursery() as nursery:
                runner.nursery = nursery
                runner.ready.set()
                task_status.started()
                await self._until_abandoned(runner)
        finally:
            if self.rooms.get(runner.room_id) is runner:
                del self.rooms[runner.room_id]
            self._rooms_by_address[runner.creator_address] -= 1
            if self._rooms_by_address[runner.creator_address] <= 0:
                del self._rooms_by_address[runner.creator_address]
            if not self.rooms:
                self._rooms_gone.set()
                self._rooms_gone = trio.Event()

    async def _until_abandoned(self, runner: _RoomRunner) -> None:
        """Return once the room has been empty for the grace period (and unlist it)."""
        empty_since: float | None = None
        while True:
            changed = runner.changed
            if runner.room.is_empty:
                now = self._clock()
                empty_since = now if empty_since is None else empty_since
                if now - empty_since >= self.limits.room_grace_s:
                    del self.rooms[runner.room_id]  # from now on a join makes a new room
                    return
                with trio.move_on_at(empty_since + self.limits.room_grace_s):
                    await changed.wait()
            else:
                empty_since = None
                await changed.wait()

    async def _read_loop(self, peer: _Peer, runner: _RoomRunner) -> None:
        clean = False
        try:
            with peer.reader_scope:
                while not peer.ended:
                    event = await peer.port.receive()
                    if isinstance(event, Disconnect):
                        clean = event.code in CLEAN_CLOSE_CODES
                        break
                    self._on_frame(peer, runner, event)
        finally:
            self._apply(runner.room.disconnect(peer, clean=clean))
            runner.notify()
            self._end(peer, None)

    def _on_frame(self, peer: _Peer, runner: _RoomRunner, frame: str | bytes) -> None:
        now = self._clock()
        peer.last_seen_s = now
        if not peer.bucket.take(now):
            peer.dropped_in_row += 1
            self.metrics.rejected_messages.inc(ErrorCode.RATE_LIMITED)
            if peer.dropped_in_row > self.limits.max_dropped_messages:
                self._end(
                    peer,
                    SignalingError(
                        ErrorCode.RATE_LIMITED,
                        "far too many messages; slow down",
                        CloseCode.RATE_LIMITED,
                    ),
                )
            elif now - peer.last_rate_error_s >= ERROR_FRAME_INTERVAL_S:
                peer.last_rate_error_s = now
                self._send(
                    peer,
                    encode_server_message(
                        ErrorMessage(
                            code=ErrorCode.RATE_LIMITED,
                            message="too many messages: some were dropped; slow down",
                        )
                    ),
                )
            return
        peer.dropped_in_row = 0
        try:
            message = self._decode(peer, frame)
            match message:
                case Relay():
                    self._apply(runner.room.relay(peer, message))
                    self.metrics.relayed_messages.inc()
                case Ping():
                    self._send(peer, _PONG_TEXT)
                case Pong():
                    pass
                case Join():
                    raise SignalingError(
                        ErrorCode.ALREADY_JOINED, "this connection has already joined"
                    )
            peer.bad_in_row = 0
        except SignalingError as error:
            self.metrics.rejected_messages.inc(error.code)
            if error.fatal:
                self._end(peer, error)
                return
            peer.bad_in_row += 1
            if peer.bad_in_row > MAX_BAD_MESSAGES_IN_A_ROW:
                self._end(
                    peer,
                    SignalingError(
                        error.code, "too many invalid messages", CloseCode.PROTOCOL_ERROR
                    ),
                )
            else:
                self._send(peer, encode_server_message(error.to_frame()))

    def _decode(self, peer: _Peer, frame: str | bytes) -> Join | Relay | Ping | Pong:
        if isinstance(frame, bytes):
            raise SignalingError(
                ErrorCode.BAD_MESSAGE,
                "binary frames are not part of the protocol; send JSON text frames",
            )
        return decode_client_message(frame, self.limits.max_frame_bytes)

    async def _write_loop(self, peer: _Peer) -> None:
        with peer.writer_scope:
            try:
                async for text in peer.outbox_recv:
                    await peer.port.send(text)
            except Exception as exc:  # the transport failed under us; the peer is gone
                log.debug("send failed, dropping peer: %r", exc)
                self._end(peer, None)
                return
        with trio.move_on_after(CLOSE_TIMEOUT_S) as scope:
            scope.shield = True  # close politely even while the server is being cancelled
            try:
                await peer.port.close(peer.close_code, peer.close_reason)
                # Complete the closing handshake: read (and discard) until the client's
                # close arrives. Closing the TCP connection with unread data would make
                # the kernel send a reset, and the client might never see our close code.
                while not isinstance(await peer.port.receive(), Disconnect):
                    pass
            except Exception as exc:  # already closed by the transport
                log.debug("close failed: %r", exc)

    async def _heartbeat(self) -> None:
        interval = self.limits.heartbeat_interval_s
        timeout = self.limits.heartbeat_timeout_s
        while True:
            await trio.sleep(interval / 2)
            now = self._clock()
            for peer in list(self._peers):
                if peer.room is None or peer.ended:
                    continue
                idle = now - peer.last_seen_s
                if idle > timeout:
                    self._end(
                        peer,
                        SignalingError(
                            ErrorCode.HEARTBEAT_TIMEOUT,
                            "nothing heard for too long",
                            CloseCode.HEARTBEAT_TIMEOUT,
                        ),
                        abort=True,
                    )
                elif idle >= interval:
                    self._send(peer, _PING_TEXT)

    # --- effects -------------------------------------------------------------

    def _apply(self, effects: Iterable[Effect]) -> None:
        for effect in effects:
            match effect:
                case Deliver(conn=conn, message=message):
                    assert isinstance(conn, _Peer)
                    self._send(conn, encode_server_message(message))
                case Close(conn=conn, code=code, error=error, reason=reason):
                    assert isinstance(conn, _Peer)
                    self._end(conn, SignalingError(error, reason, code))

    def _send(self, peer: _Peer, text: str) -> None:
        if peer.ended:
            return
        try:
            peer.outbox_send.send_nowait(text)
        except trio.WouldBlock:
            self._end(
                peer,
                SignalingError(
                    ErrorCode.SLOW_CONSUMER,
                    "you did not read your messages in time",
                    CloseCode.SLOW_CONSUMER,
                ),
                abort=True,
            )

    def _end(self, peer: _Peer, error: SignalingError | None, *, abort: bool = False) -> None:
        """Finish with a peer: queue the error frame (if any), then close.

        With `abort`, what is queued is dropped and the socket closed at once (the
        peer is not reading, or is dead).
        """
        if peer.ended:
            return
        if error is not None:
            self.metrics.rejected_messages.inc(error.code)
            if not abort:
                try:
                    peer.outbox_send.send_nowait(encode_server_message(error.to_frame()))
                except trio.WouldBlock:
                    abort = True
            peer.close_code = int(error.close or CloseCode.NORMAL)
            peer.close_reason = error.message[:120]  # close reasons are limited to 123 bytes
        peer.ended = True
        peer.outbox_send.close()
        peer.reader_scope.cancel()
        if abort:
            peer.writer_scope.cancel()
