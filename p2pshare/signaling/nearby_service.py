"""The nearby groups' shell (`/ws/nearby.<group>`): the trio side of nearby.py.

A part of service.py's shell, not a shell of its own: `SignalingService` owns the connections
(their limits, heartbeat, writers, closing, drain and shutdown) and the nursery; `NearbyGroups`
holds what is nearby's own and reaches the service's connection loop for the rest, as the
rooms do. Ownership is the rooms': one task per live group (`GroupRunner`), started in the
service's nursery, owns the nursery its devices' writers run in. A group lives while it has
devices, plus NEARBY_GROUP_GRACE_S.

What is nearby's own: the group check of the path, `near-join` (rate-limited per source
address: a join costs a `near-peer` frame to every other device of the group, and its end a
`near-left`), the groups' state machines, and the near-* frames once joined.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Final

import trio

from p2pshare.ratelimit import KeyedBuckets
from p2pshare.signaling.connection import NEARBY_REQUESTS, ConnectionRules
from p2pshare.signaling.messages import ErrorCode, SignalingError
from p2pshare.signaling.nearby import NearbyGroup, NearbySettings
from p2pshare.signaling.nearby_messages import (
    NearJoin,
    NearName,
    NearRelay,
    decode_nearby_client_message,
    is_valid_nearby_group_id,
)

if TYPE_CHECKING:  # (types only: service.py imports this module)
    from p2pshare.signaling.room import Effect
    from p2pshare.signaling.service import Peer, SignalingService, WebSocketPort

__all__ = [
    "NEARBY_GROUP_GRACE_S",
    "NEARBY_JOIN_RATE_PER_S",
    "GroupRunner",
    "NearbyGroups",
    "nearby_join_burst",
]

# An empty nearby group lives on this long (a reload comes back to it); it holds no state.
NEARBY_GROUP_GRACE_S: Final = 1.0
# Joins from one source address (ratelimit.source_key), after the burst: one every 2 s.
NEARBY_JOIN_RATE_PER_S: Final = 0.5


def nearby_join_burst(max_nearby_peers: int) -> int:
    """Joins one source address may make at once: a whole group (under `--nearby-scope auto`
    a public IPv4 address or an IPv6 /64 is one group) moving at once, as when its instance
    stops, and then as many reloads."""
    return 2 * max_nearby_peers


class GroupRunner:
    """A live nearby group: its state machine and the nursery its peers' tasks run in."""

    __slots__ = ("changed", "group", "group_id", "nursery", "ready")

    def __init__(self, group_id: str, settings: NearbySettings) -> None:
        self.group_id = group_id
        self.group = NearbyGroup(group_id, settings)
        self.nursery: trio.Nursery | None = None
        self.ready = trio.Event()
        self.changed = trio.Event()

    @property
    def is_empty(self) -> bool:
        return self.group.is_empty

    def notify(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def disconnect(self, peer: Peer, *, clean: bool) -> list[Effect]:
        return self.group.disconnect(peer, clean=clean)


class NearbyGroups:
    """The live groups of one `SignalingService`, and the way of a nearby connection."""

    def __init__(self, service: SignalingService) -> None:
        limits = service.limits
        self._service = service
        self._rules = ConnectionRules(
            limits, service.metrics.rejected_messages.inc, decode_nearby_client_message
        )
        self._settings = NearbySettings(max_peers=limits.max_nearby_peers)
        self._joins = KeyedBuckets[str](
            NEARBY_JOIN_RATE_PER_S, nearby_join_burst(limits.max_nearby_peers)
        )
        self.groups: dict[str, GroupRunner] = {}

    async def handle(self, port: WebSocketPort, group_id: str, client_group: str | None) -> None:
        """`SignalingService.handle_nearby`: serve one WebSocket of group `group_id` until it
        ends; `client_group` is the group of the client's address (None: none)."""
        refusal = None
        if client_group is None or group_id != client_group:
            refusal = SignalingError(
                ErrorCode.NEARBY_MISMATCH,
                "this is not your nearby group: fetch /config.json again"
                if client_group is not None and is_valid_nearby_group_id(group_id)
                else "no nearby group here for your address: fetch /config.json again",
                fatal=True,
            )
        serve = functools.partial(self._serve_group, group_id)
        await self._service._serve(port, self._rules, refusal, serve)

    async def _serve_group(self, group_id: str, peer: Peer) -> None:
        runner = await self._admit(peer, group_id)
        if runner is not None:
            await self._service._read_loop(peer, runner, self._on_frame)

    async def _admit(self, peer: Peer, group_id: str) -> GroupRunner | None:
        """Wait for `near-join` and join the group; None if refused or gone."""
        service = self._service
        conn = peer.conn
        join = await service._wait_join(peer, NearJoin)
        if join is None:
            return None
        try:
            if not self._joins.take(peer.address, service._clock()):
                raise SignalingError(
                    ErrorCode.RATE_LIMITED,
                    "too many nearby joins from your address; wait a little",
                    fatal=True,
                )
            runner = await self._group_for(group_id)
            if conn.ended:
                return None
            # No await from here on: the group cannot end between lookup and join.
            effects = runner.group.join(peer, join, service._clock())
        except SignalingError as error:
            service._end(peer, error.as_fatal())
            return None
        peer.room = runner
        conn.joined(service._clock())
        runner.notify()
        service._apply(effects)
        return runner

    async def _group_for(self, group_id: str) -> GroupRunner:
        service = self._service
        while True:
            runner = self.groups.get(group_id)
            if runner is not None and runner.nursery is not None:
                return runner
            if runner is not None:
                await runner.ready.wait()
                continue
            if service.draining:
                raise SignalingError(
                    ErrorCode.DRAINING,
                    "this server is shutting down; reconnecting elsewhere",
                    fatal=True,
                )
            runner = GroupRunner(group_id, self._settings)
            self.groups[group_id] = runner
            assert service._nursery is not None
            try:
                await service._nursery.start(self._run_group, runner)
            except BaseException:
                if self.groups.get(group_id) is runner:
                    del self.groups[group_id]
                runner.ready.set()
                raise

    async def _run_group(
        self, runner: GroupRunner, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            async with trio.open_nursery() as nursery:
                runner.nursery = nursery
                runner.ready.set()
                task_status.started()
                await self._service._until_abandoned(
                    runner, NEARBY_GROUP_GRACE_S, lambda: self.groups.pop(runner.group_id)
                )
        finally:
            runner.nursery = None
            if self.groups.get(runner.group_id) is runner:
                del self.groups[runner.group_id]

    def _on_frame(self, peer: Peer, runner: GroupRunner, frame: str | bytes) -> None:
        service = self._service
        conn = peer.conn
        now = service._clock()
        request = conn.receive(frame, now, NEARBY_REQUESTS)
        if request is not None:
            try:
                if isinstance(request, NearRelay):
                    effects = runner.group.relay(peer, request)
                    service.metrics.relayed_messages.inc()
                else:
                    assert isinstance(request, NearName)
                    effects = runner.group.rename(peer, request, now)
            except SignalingError as error:
                conn.reject(error, now)
            else:
                service._apply(effects)
        service._carry_out(peer)
