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

The rules of one connection (the join gate, the rate limit, the bad-message
counter, the queues, the heartbeat's verdicts) are connection.py's, sans-IO; the
rules of rooms are room.py's. This shell moves frames between them and the
sockets, and carries out what they decide.

Nearby groups (`/ws/nearby.<group>`, nearby.py) run in the same shell, alike: what is
theirs (the group check, `near-join`, the groups and their frames) is nearby_service.py's
`NearbyGroups`, which this service composes; their connections go through the same loop
here, follow the same rules (with the near-* frames), count against the same per-address and
process limits, get the same heartbeat, drain and shutdown, and their groups' tasks run in
this service's nursery, as the rooms' do.

Why this module is over 300 lines: it is the one connection loop (admission, reading, writing,
closing, heartbeat, effects) that rooms and nearby groups share, with the rooms it serves.
"""

from __future__ import annotations

import collections
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar, assert_never

import msgspec
import trio

from p2pshare.config import Limits
from p2pshare.metrics import Metrics
from p2pshare.ratelimit import source_key
from p2pshare.signaling.connection import (
    ROOM_REQUESTS,
    Connection,
    ConnectionRules,
    ConnState,
    JoinT,
    Verdict,
)
from p2pshare.signaling.messages import (
    ErrorCode,
    Join,
    SignalingError,
    TurnServer,
    Welcome,
    encode_server_message,
    is_valid_room_id,
)
from p2pshare.signaling.nearby_service import NearbyGroups
from p2pshare.signaling.room import Close, Deliver, Effect, Room, RoomSettings

__all__ = ["Disconnect", "SignalingService", "WebSocketPort"]

log = logging.getLogger(__name__)

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


class Runner(Protocol):
    """A live room (`_RoomRunner`) or nearby group (nearby_service.GroupRunner), as the
    connection loop sees it: the nursery its peers' writers run in, and its emptiness."""

    nursery: trio.Nursery | None
    changed: trio.Event

    @property
    def is_empty(self) -> bool: ...

    def notify(self) -> None: ...

    def disconnect(self, peer: Peer, *, clean: bool) -> list[Effect]: ...


class Peer:
    """One accepted connection, joined or not yet: its rules, its socket, its tasks."""

    __slots__ = (
        "address",
        "conn",
        "heartbeat_group",
        "port",
        "reader_scope",
        "room",
        "transport_failed",
        "writer",
        "writer_done",
    )

    def __init__(self, port: WebSocketPort, rules: ConnectionRules, now_s: float) -> None:
        self.port = port
        self.address = source_key(port.address)  # what per-address limits count by
        self.conn = Connection(rules, now_s)
        self.room: Runner | None = None  # once joined: its room's, or its group's
        self.reader_scope = trio.CancelScope()
        self.writer: trio.CancelScope | None = None  # the running writer's, if one runs
        self.writer_done: trio.Event | None = None  # set when it returns, if someone waits
        self.transport_failed = False
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

    @property
    def is_empty(self) -> bool:
        return self.room.is_empty

    def notify(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def disconnect(self, peer: Peer, *, clean: bool) -> list[Effect]:
        return self.room.disconnect(peer, clean=clean)


_Runner = TypeVar("_Runner", bound=Runner)


class SignalingService:
    """Rooms, peers and their limits. Start with `await nursery.start(service.run)`.

    The connection loop's methods (`_serve`, `_wait_join`, `_read_loop`, `_until_abandoned`,
    `_apply`, `_carry_out`, `_end`) also serve `self.nearby` (nearby_service.py), a part of
    this shell.
    """

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
        self._rules = ConnectionRules(limits, metrics.rejected_messages.inc)
        self._settings = RoomSettings(
            max_receivers=limits.max_receivers_per_room,
            heartbeat_s=limits.heartbeat_interval_s,
            max_frame_bytes=limits.max_frame_bytes,
        )
        self.rooms: dict[str, _RoomRunner] = {}
        self._peers: set[Peer] = set()
        self._heartbeat_groups: list[set[Peer]] = [set() for _ in range(HEARTBEAT_GROUPS)]
        self._next_group = 0
        self._connections_by_address: collections.Counter[str] = collections.Counter()
        self._rooms_by_address: collections.Counter[str] = collections.Counter()
        self._nursery: trio.Nursery | None = None
        self.draining = False
        self._stopping = False
        self._all_gone = trio.Event()
        self.nearby = NearbyGroups(self)
        metrics.add_gauge("p2pshare_rooms", "Live signaling rooms.", lambda: len(self.rooms))
        metrics.add_gauge(
            "p2pshare_peers",
            "Peers present in rooms.",
            lambda: sum(r.room.peer_count for r in self.rooms.values()),
        )
        metrics.add_gauge(
            "p2pshare_nearby_groups", "Live nearby groups.", lambda: len(self.nearby.groups)
        )
        metrics.add_gauge(
            "p2pshare_nearby_peers",
            "Devices present in nearby groups.",
            lambda: sum(g.group.peer_count for g in self.nearby.groups.values()),
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
                    ErrorCode.SHUTTING_DOWN, "the server is restarting; reconnecting", fatal=True
                ),
            )
        with trio.move_on_after(timeout_s):
            if self._peers:
                await self._all_gone.wait()

    # --- one connection ------------------------------------------------------

    async def handle(self, port: WebSocketPort, room_id: str) -> None:
        """Serve one accepted WebSocket of room `room_id` until it ends. Never raises for
        bad input."""
        refusal = None
        if not is_valid_room_id(room_id):
            refusal = SignalingError(
                ErrorCode.BAD_ROOM,
                "this room id is malformed: check that the link was copied whole",
                fatal=True,
            )
        await self._serve(port, self._rules, refusal, functools.partial(self._serve_room, room_id))

    async def handle_nearby(
        self, port: WebSocketPort, group_id: str, client_group: str | None
    ) -> None:
        """Serve one accepted WebSocket of nearby group `group_id` (`/ws/nearby.<group>`)
        until it ends; `client_group` is the group of the client's address (None: none).
        Never raises for bad input."""
        await self.nearby.handle(port, group_id, client_group)

    async def _serve(
        self,
        port: WebSocketPort,
        rules: ConnectionRules,
        refusal: SignalingError | None,
        serve: Callable[[Peer], Awaitable[None]],
    ) -> None:
        """The connection loop around `serve` (its room's or group's way in, then its reading):
        the limits, the peer's scope, the polite close, the bookkeeping."""
        peer = Peer(port, rules, self._clock())
        self._peers.add(peer)
        peer.heartbeat_group = self._next_group
        self._next_group = (self._next_group + 1) % HEARTBEAT_GROUPS
        self._heartbeat_groups[peer.heartbeat_group].add(peer)
        self._connections_by_address[peer.address] += 1
        self.metrics.ws_connections.inc()
        try:
            refusal = self._check_admission(peer, refusal)
            if refusal is not None:
                self._end(peer, refusal)
            else:
                # Inside the peer's scope, so that ending it (shutdown, replacement) also
                # interrupts a connection that has not joined yet.
                with peer.reader_scope:
                    await serve(peer)
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

    async def _serve_room(self, room_id: str, peer: Peer) -> None:
        runner = await self._admit(peer, room_id)
        if runner is not None:
            await self._read_loop(peer, runner, self._on_frame)

    def _check_admission(self, peer: Peer, refusal: SignalingError | None) -> SignalingError | None:
        """Why this connection is refused before its join (`refusal`: its path's), or None."""
        if self._stopping:
            return SignalingError(ErrorCode.SHUTTING_DOWN, "the server is stopping", fatal=True)
        if refusal is not None:
            return refusal
        if len(self._peers) > self.limits.max_connections:
            return SignalingError(
                ErrorCode.TOO_MANY_CONNECTIONS,
                "the server is full; try later",
                fatal=True,
            )
        if self._connections_by_address[peer.address] > self.limits.max_connections_per_address:
            return SignalingError(
                ErrorCode.TOO_MANY_CONNECTIONS,
                "too many connections from your address; close some tabs",
                fatal=True,
            )
        return None

    async def _wait_join(self, peer: Peer, kind: type[JoinT]) -> JoinT | None:
        """The connection's first frame, if it is a join of `kind` and came in time."""
        conn = peer.conn
        join: JoinT | None = None
        with trio.move_on_at(conn.join_deadline_s):
            event = await peer.port.receive()
            if isinstance(event, Disconnect):
                conn.disconnected(event.code)
            else:
                join = conn.receive_join(event, self._clock(), kind)
        if join is None:
            conn.join_timed_out()  # (unless it ended otherwise)
        return join

    async def _admit(self, peer: Peer, room_id: str) -> _RoomRunner | None:
        """Wait for `join` and join the room; None if the peer was refused or went away."""
        conn = peer.conn
        join = await self._wait_join(peer, Join)
        if join is None:
            return None
        try:
            runner = await self._room_for(room_id, peer.address)
            if conn.ended:  # ended (shutdown) while the room was being made
                return None
            # No await from here on: the room cannot end between lookup and join.
            effects = runner.room.join(peer, join)
        except SignalingError as error:
            self._end(peer, error.as_fatal())
            return None
        peer.room = runner
        conn.joined(self._clock())
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
                    fatal=True,
                )
            if len(self.rooms) >= self.limits.max_rooms:
                raise SignalingError(
                    ErrorCode.TOO_MANY_ROOMS, "the server has too many rooms", fatal=True
                )
            if self._rooms_by_address[address] >= self.limits.max_rooms_per_address:
                raise SignalingError(
                    ErrorCode.TOO_MANY_ROOMS,
                    "too many rooms opened from your address; close some first",
                    fatal=True,
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
                await self._until_abandoned(
                    runner, self.limits.room_grace_s, lambda: self.rooms.pop(runner.room_id)
                )
        finally:
            runner.nursery = None
            self._unlist(runner)

    def _unlist(self, runner: _RoomRunner) -> None:
        if self.rooms.get(runner.room_id) is runner:
            del self.rooms[runner.room_id]
        self._rooms_by_address[runner.creator_address] -= 1
        if self._rooms_by_address[runner.creator_address] <= 0:
            del self._rooms_by_address[runner.creator_address]

    async def _until_abandoned(
        self, runner: Runner, grace_s: float, forget: Callable[[], object]
    ) -> None:
        """Return once the room (or group) has been empty for `grace_s`, after `forget`ting
        it: from then on a join makes a new one."""
        empty_since: float | None = None
        while True:
            changed = runner.changed
            if runner.is_empty:
                now = self._clock()
                empty_since = now if empty_since is None else empty_since
                if now - empty_since >= grace_s:
                    forget()
                    return
                with trio.move_on_at(empty_since + grace_s):
                    await changed.wait()
            else:
                empty_since = None
                await changed.wait()

    async def _read_loop(
        self,
        peer: Peer,
        runner: _Runner,
        on_frame: Callable[[Peer, _Runner, str | bytes], None],
    ) -> None:
        conn = peer.conn
        clean = False
        try:
            while not conn.ended:
                event = await peer.port.receive()
                if isinstance(event, Disconnect):
                    clean = event.code in CLEAN_CLOSE_CODES
                    conn.disconnected(event.code)
                    break
                on_frame(peer, runner, event)
        finally:
            self._apply(runner.disconnect(peer, clean=clean))
            runner.notify()
            self._end(peer, None)

    def _on_frame(self, peer: Peer, runner: _RoomRunner, frame: str | bytes) -> None:
        # A function of its own, not inline in the read loop: its locals (the decoded relay,
        # the room's effects) must die now, not live on while the loop awaits the next frame.
        # Kept alive there, they survived every young collection and made each one dearer:
        # p99 at 1,000 connections tripled (docs/benchmarks.md, "Signaling").
        conn = peer.conn
        now = self._clock()
        relay = conn.receive(frame, now, ROOM_REQUESTS)
        if relay is not None:
            try:
                effects = runner.room.relay(peer, relay)
            except SignalingError as error:
                conn.reject(error, now)
            else:
                self._apply(effects)
                self.metrics.relayed_messages.inc()
        self._carry_out(peer)

    async def _drain(self, peer: Peer) -> None:
        """Send the peer's queued messages in order, recording write progress."""
        conn = peer.conn
        while (text := conn.pop_outgoing()) is not None:
            await peer.port.send(text)
            conn.wrote(self._clock())

    async def _write(self, peer: Peer, scope: trio.CancelScope) -> None:
        """Drain the peer's outbox, then end (`_carry_out` starts another when needed)."""
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

    async def _close(self, peer: Peer) -> None:
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
                await peer.port.close(peer.conn.close_code, peer.conn.close_reason)
                # Complete the closing handshake: read (and discard) until the client's
                # close arrives. Closing the TCP connection with unread data would make
                # the kernel send a reset, and the client might never see our close code.
                while not isinstance(await peer.port.receive(), Disconnect):
                    pass
            except (OSError, RuntimeError, trio.BrokenResourceError) as exc:
                log.debug("close failed (already closed by the transport): %r", exc)

    async def _heartbeat(self) -> None:
        step = self.limits.heartbeat_interval_s / 2 / HEARTBEAT_GROUPS
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
                # Most peers are fine: nothing to carry out (10,000 peers: 400 a step).
                if peer.conn.heartbeat(now) is not Verdict.FINE:
                    self._carry_out(peer)

    # --- effects -------------------------------------------------------------

    def _apply(self, effects: Iterable[Effect]) -> None:
        now = self._clock()
        for effect in effects:
            match effect:
                case Deliver(conn=handle, message=message, grants_turn=grants_turn):
                    assert isinstance(handle, Peer)
                    if grants_turn and self._turn is not None and isinstance(message, Welcome):
                        message = msgspec.structs.replace(message, turn=self._turn())
                    handle.conn.queue(encode_server_message(message), now)
                    self._carry_out(handle)
                case Close(conn=handle, error=error, reason=reason):
                    assert isinstance(handle, Peer)
                    self._end(handle, SignalingError(error, reason, fatal=True))
                case _:
                    assert_never(effect)

    def _carry_out(self, peer: Peer) -> None:
        """Do what the peer's connection now asks: write its queue, or stop it."""
        conn = peer.conn
        if conn.state is ConnState.ENDED:
            peer.reader_scope.cancel()
            if conn.aborted and peer.writer is not None:
                peer.writer.cancel()
            return
        nursery = peer.room.nursery if peer.room is not None else None
        if conn.outbox and peer.writer is None and nursery is not None:
            peer.writer = trio.CancelScope()
            try:
                nursery.start_soon(self._write, peer, peer.writer)
            except RuntimeError:  # the room has stopped; `_close` sends what is queued
                peer.writer = None

    def _end(self, peer: Peer, error: SignalingError | None, *, abort: bool = False) -> None:
        """Finish with a peer (see Connection.end), and stop its tasks."""
        peer.conn.end(error, abort=abort)
        self._carry_out(peer)
