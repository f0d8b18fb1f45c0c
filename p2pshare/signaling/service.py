"""The signaling service: the trio shell around `Room`.

Ownership (structured concurrency): the service's nursery owns one task per
live room and the shared heartbeat task. Each room's task owns a nursery in
which the room's peers' writing tasks run: a writer drains one peer's bounded
outbox and ends when it is empty, so an idle connection costs no task of ours
(memory: docs/benchmarks.md, "Signaling"). The task that accepted the
WebSocket (the HTTP server's) reads from it, inside the peer's cancel scope,
and finally closes it; the room ends a peer by cancelling that scope. A room
lives as long as it has peers, plus a grace period.

A peer that stops reading fills its own queue (bounded in messages and bytes)
or stops making write progress, and is cut off without slowing anyone else.

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
from typing import Protocol, assert_never

import msgspec
import trio

from p2pshare.config import Limits
from p2pshare.metrics import Metrics
from p2pshare.ratelimit import TokenBucket, source_key
from p2pshare.signaling.messages import (
    CloseCode,
    ErrorCode,
    ErrorMessage,
    Join,
    Ping,
    Pong,
    Relay,
    SignalingError,
    TurnServer,
    Welcome,
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
# The heartbeat judges nobody while it is this late itself: an overloaded server has not read
# the pongs waiting in its sockets, and must not close thousands of live peers as dead.
HEARTBEAT_LAG_TOLERANCE_S = 1.0
CLEAN_CLOSE_CODES = frozenset({1000, 1001})
# The heartbeat visits the peers in this many groups, one group at a time, so that each peer is
# still checked every heartbeat_s / 2 but the pings of 10,000 connections (which joined, and so
# fall silent, at nearly the same time) go out as a steady trickle instead of one burst that
# stalls every relay queued behind it (docs/benchmarks.md, "Signaling").
HEARTBEAT_GROUPS = 25

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
        "heartbeat_group",
        "last_rate_error_s",
        "last_seen_s",
        "last_write_s",
        "outbox",
        "outbox_bytes",
        "port",
        "reader_scope",
        "room",
        "transport_failed",
        "writer",
        "writer_done",
    )

    def __init__(self, port: WebSocketPort, limits: Limits, now_s: float) -> None:
        self.port = port
        self.address = source_key(port.address)  # what per-address limits count by
        # Bounded by _send (send_queue_messages), so a list's pop(0) is cheap enough, and an
        # empty list is 56 bytes where a deque always holds a 600-byte block.
        self.outbox: list[str] = []
        self.outbox_bytes = 0
        self.last_write_s = now_s  # when the writer last made progress (or had nothing to do)
        self.bucket = TokenBucket(limits.message_rate_per_s, limits.message_burst, stamp_s=now_s)
        self.last_seen_s = now_s
        self.last_rate_error_s = -math.inf
        self.dropped_in_row = 0
        self.bad_in_row = 0
        self.room: _RoomRunner | None = None
        self.reader_scope = trio.CancelScope()
        self.writer: trio.CancelScope | None = None  # the running writer's, if one runs
        self.writer_done: trio.Event | None = None  # set when it returns, if someone waits
        self.transport_failed = False
        self.ended = False
        self.close_code = int(CloseCode.NORMAL)
        self.close_reason = ""
        self.heartbeat_group = 0


class _RoomRunner:
    """A live room: its state machine, the nursery its peers' tasks run in, its creator."""

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
        self,
        limits: Limits,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = trio.current_time,
        turn: Callable[[], tuple[TurnServer, ...]] | None = None,
    ) -> None:
        """`turn`: fresh TURN credentials for each admitted member's welcome (p2pshare/ice.py)."""
        self.limits = limits
        self._turn = turn
        self.metrics = metrics
        self._clock = clock
        self._settings = RoomSettings(
            max_receivers=limits.max_receivers_per_room,
            heartbeat_s=limits.heartbeat_interval_s,
            max_frame_bytes=limits.max_frame_bytes,
        )
        self.rooms: dict[str, _RoomRunner] = {}
        self._peers: set[_Peer] = set()
        self._heartbeat_groups: list[set[_Peer]] = [set() for _ in range(HEARTBEAT_GROUPS)]
        self._next_group = 0
        self._connections_by_address: collections.Counter[str] = collections.Counter()
        self._rooms_by_address: collections.Counter[str] = collections.Counter()
        self._nursery: trio.Nursery | None = None
        self.draining = False
        self._stopping = False
        self._all_gone = trio.Event()
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

    async def wait_no_connections(self) -> None:
        """Return once no signaling connection is open (e.g. the end of a drain)."""
        while self._peers:
            await self._all_gone.wait()

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
        peer.heartbeat_group = self._next_group
        self._next_group = (self._next_group + 1) % HEARTBEAT_GROUPS
        self._heartbeat_groups[peer.heartbeat_group].add(peer)
        self._connections_by_address[peer.address] += 1
        self.metrics.ws_connections.inc()
        try:
            refusal = self._check_admission(peer, room_id)
            if refusal is not None:
                self._end(peer, refusal)
            else:
                # Inside the peer's scope, so that ending it (shutdown, replacement) also
                # interrupts a connection that has not joined yet.
                with peer.reader_scope:
                    runner = await self._admit(peer, room_id)
                    if runner is not None:
                        await self._read_loop(peer, runner)
            await self._close(peer)
        finally:
            self._peers.discard(peer)
            self._heartbeat_groups[peer.heartbeat_group].discard(peer)
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

    async def _admit(self, peer: _Peer, room_id: str) -> _RoomRunner | None:
        """Wait for `join` and join the room; None if the peer was refused or went away."""
        join: Join | None = None
        with trio.move_on_after(self.limits.join_timeout_s):
            event = await peer.port.receive()
            if isinstance(event, Disconnect):
                self._end(peer, None)
                return None
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
                return None
        if join is None:
            self._end(
                peer,
                SignalingError(
                    ErrorCode.JOIN_TIMEOUT, "no join received in time", CloseCode.PROTOCOL_ERROR
                ),
            )
            return None
        try:
            runner = await self._room_for(room_id, peer.address)
            if peer.ended:  # ended (shutdown) while the room was being made
                return None
            # No await from here on: the room cannot end between lookup and join.
            effects = runner.room.join(peer, join)
        except SignalingError as error:
            self._end(peer, error)
            return None
        peer.room = runner
        peer.last_seen_s = self._clock()
        runner.notify()
        self._apply(effects)
        return runner

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
            try:
                await self._nursery.start(self._run_room, runner)
            except BaseException:
                # Never started (the service is stopping): unlist it, or joiners would wait
                # forever for it to become ready.
                self._unlist(runner)
                runner.ready.set()
                raise

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
            runner.nursery = None
            self._unlist(runner)

    def _unlist(self, runner: _RoomRunner) -> None:
        if self.rooms.get(runner.room_id) is runner:
            del self.rooms[runner.room_id]
        self._rooms_by_address[runner.creator_address] -= 1
        if self._rooms_by_address[runner.creator_address] <= 0:
            del self._rooms_by_address[runner.creator_address]

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
            while not peer.ended:
                event = await peer.port.receive()
                if isinstance(event, Disconnect):
                    clean = event.code in CLEAN_CLOSE_CODES
                    if event.code == 1009:  # cut by the WebSocket layer: far too big
                        self.metrics.rejected_messages.inc(ErrorCode.TOO_BIG)
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
            if peer.dropped_in_row > self.limits.max_dropped_messages:
                self._end(
                    peer,
                    SignalingError(
                        ErrorCode.RATE_LIMITED,
                        "far too many messages; slow down",
                        CloseCode.RATE_LIMITED,
                    ),
                )
                return
            self.metrics.rejected_messages.inc(ErrorCode.RATE_LIMITED)
            if now - peer.last_rate_error_s >= ERROR_FRAME_INTERVAL_S:
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
            # It parsed: refusing its content (unknown peer...) is not "bad input", and a
            # sender still talking to a receiver that just left must not be cut off for it.
            peer.bad_in_row = 0
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
                case _:
                    assert_never(message)
        except SignalingError as error:
            if error.fatal:
                self._end(peer, error)  # counts it
                return
            if error.code is ErrorCode.BAD_MESSAGE:
                peer.bad_in_row += 1
            if peer.bad_in_row > MAX_BAD_MESSAGES_IN_A_ROW:
                self._end(
                    peer,
                    SignalingError(
                        error.code, "too many invalid messages", CloseCode.PROTOCOL_ERROR
                    ),
                )
            else:
                self.metrics.rejected_messages.inc(error.code)
                self._send(peer, encode_server_message(error.to_frame()))

    def _decode(self, peer: _Peer, frame: str | bytes) -> Join | Relay | Ping | Pong:
        if isinstance(frame, bytes):
            raise SignalingError(
                ErrorCode.BAD_MESSAGE,
                "binary frames are not part of the protocol; send JSON text frames",
            )
        return decode_client_message(frame, self.limits.max_frame_bytes)

    async def _drain(self, peer: _Peer) -> None:
        """Send the peer's queued messages in order, recording write progress."""
        while peer.outbox:
            text = peer.outbox.pop(0)
            peer.outbox_bytes -= len(text)
            await peer.port.send(text)
            peer.last_write_s = self._clock()

    async def _write(self, peer: _Peer, scope: trio.CancelScope) -> None:
        """Drain the peer's outbox, then end (`_send` starts another when needed)."""
        try:
            with scope:
                await self._drain(peer)
        except (OSError, RuntimeError, trio.BrokenResourceError) as exc:
            # The transport failed under us (hypercorn raises these): the peer is gone.
            log.debug("send failed, dropping peer: %r", exc)
            peer.transport_failed = True
            self._end(peer, None, abort=True)
        finally:
            peer.writer = None
            if peer.writer_done is not None:
                peer.writer_done.set()

    async def _close(self, peer: _Peer) -> None:
        """Once the peer has ended: send what is still queued, then close politely.

        Bounded in time whatever the client does: a client that does not read cannot
        hold its connection (and our bookkeeping) open.
        """
        with trio.move_on_after(CLOSE_TIMEOUT_S):
            if peer.writer is not None:
                peer.writer_done = trio.Event()
                await peer.writer_done.wait()
            if not peer.transport_failed:
                try:
                    await self._drain(peer)
                except (OSError, RuntimeError, trio.BrokenResourceError) as exc:
                    log.debug("send failed, dropping peer: %r", exc)
                    peer.transport_failed = True
        if peer.writer is not None:
            peer.writer.cancel()
        if peer.transport_failed:
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
            except (OSError, RuntimeError, trio.BrokenResourceError) as exc:
                log.debug("close failed (already closed by the transport): %r", exc)

    async def _heartbeat(self) -> None:
        interval = self.limits.heartbeat_interval_s
        timeout = self.limits.heartbeat_timeout_s
        step = interval / 2 / HEARTBEAT_GROUPS
        deadline = trio.current_time()
        group = 0
        while True:
            deadline += step
            await trio.sleep_until(deadline)
            group = (group + 1) % HEARTBEAT_GROUPS
            now = self._clock()
            if now - deadline > HEARTBEAT_LAG_TOLERANCE_S:
                # We are late ourselves: the server is overloaded. Judge nobody this round,
                # and catch up with the schedule.
                deadline = now
                continue
            for peer in list(self._heartbeat_groups[group]):
                if peer.room is None or peer.ended:
                    continue
                if peer.outbox and now - peer.last_write_s > timeout:
                    # Messages wait and the socket takes none of them: not reading.
                    self._end(peer, _slow_consumer(), abort=True)
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
                case Deliver(conn=conn, message=message, grants_turn=grants_turn):
                    assert isinstance(conn, _Peer)
                    if grants_turn and self._turn is not None and isinstance(message, Welcome):
                        message = msgspec.structs.replace(message, turn=self._turn())
                    self._send(conn, encode_server_message(message))
                case Close(conn=conn, code=code, error=error, reason=reason):
                    assert isinstance(conn, _Peer)
                    self._end(conn, SignalingError(error, reason, code))
                case _:
                    assert_never(effect)

    def _send(self, peer: _Peer, text: str) -> None:
        if peer.ended:
            return
        if (
            len(peer.outbox) >= self.limits.send_queue_messages
            or peer.outbox_bytes + len(text) > self.limits.send_queue_bytes
        ):
            self._end(peer, _slow_consumer(), abort=True)
            return
        if not peer.outbox:
            peer.last_write_s = self._clock()  # the clock for write progress starts now
        peer.outbox.append(text)
        peer.outbox_bytes += len(text)
        nursery = peer.room.nursery if peer.room is not None else None
        if peer.writer is None and nursery is not None:
            peer.writer = trio.CancelScope()
            try:
                nursery.start_soon(self._write, peer, peer.writer)
            except RuntimeError:  # the room has stopped; `_close` sends what is queued
                peer.writer = None

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
                if len(peer.outbox) < self.limits.send_queue_messages:
                    # The running writer, if any, sends it; otherwise `_close` will.
                    frame = encode_server_message(error.to_frame())
                    peer.outbox.append(frame)
                    peer.outbox_bytes += len(frame)
                else:
                    abort = True
            peer.close_code = int(error.close or CloseCode.NORMAL)
            peer.close_reason = error.message[:120]  # close reasons are limited to 123 bytes
        peer.ended = True
        peer.reader_scope.cancel()
        if abort:
            peer.outbox.clear()
            peer.outbox_bytes = 0
            if peer.writer is not None:
                peer.writer.cancel()


def _slow_consumer() -> SignalingError:
    return SignalingError(
        ErrorCode.SLOW_CONSUMER, "you did not read your messages in time", CloseCode.SLOW_CONSUMER
    )
