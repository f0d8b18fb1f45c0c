"""The signaling service's timing rules on trio's autojump clock: minutes pass in milliseconds.

The WebSocket is replaced by an in-memory port (the `WebSocketPort` the service is written
against); the real-socket tests are in test_service.py. Times are virtual, so the assertions
on them are exact rules (`join_timeout_s`, `heartbeat_timeout_s`, `room_grace_s`), not
measurements of a machine.
"""

from __future__ import annotations

import math
import secrets

import pytest
import trio
import trio.testing

from p2pshare.config import Limits
from p2pshare.metrics import Metrics
from p2pshare.signaling.admission import access_key, join_proof
from p2pshare.signaling.messages import (
    CloseCode,
    ErrorCode,
    ErrorMessage,
    Join,
    PeerLeft,
    Ping,
    Pong,
    Relay,
    Relayed,
    ServerMessage,
    Welcome,
    decode_server_message,
    encode_client_message,
)
from p2pshare.signaling.nearby_messages import (
    NearbyClientMessage,
    NearbyServerMessage,
    NearJoin,
    NearLeft,
    NearWelcome,
    decode_nearby_server_message,
)
from p2pshare.signaling.nearby_scope import NearbyScope, nearby_group_for
from p2pshare.signaling.nearby_service import (
    NEARBY_GROUP_GRACE_S,
    NEARBY_JOIN_RATE_PER_S,
    nearby_join_burst,
)
from p2pshare.signaling.room import creator_room_id
from p2pshare.signaling.service import Disconnect, SignalingService
from tests.signaling.wsclient import TEST_SECRET

LIMITS = Limits()


@pytest.fixture
def clock() -> trio.testing.MockClock:
    return trio.testing.MockClock(autojump_threshold=0)


class MemoryPort:
    """One client's WebSocket, in memory. `stall()` makes it stop reading (its sends block)."""

    def __init__(self, address: str = "192.0.2.7") -> None:
        self.address = address
        self._in_send, self._in = trio.open_memory_channel[str | bytes | Disconnect](math.inf)
        self._out_send, self._out = trio.open_memory_channel[str](math.inf)
        self.closed: tuple[int, str] | None = None
        self.closed_at_s = math.nan
        self.closed_event = trio.Event()
        self._reading = trio.Event()
        self._reading.set()

    # the service's side
    async def receive(self) -> str | bytes | Disconnect:
        return await self._in.receive()

    async def send(self, text: str) -> None:
        await self._reading.wait()  # a client that does not read: the socket takes nothing
        await self._out_send.send(text)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)
        self.closed_at_s = trio.current_time()
        self.closed_event.set()
        await self._in_send.send(Disconnect(code))  # the client answers the close

    # the client's side
    async def say(self, message: Join | Relay | Ping | Pong) -> None:
        await self._in_send.send(encode_client_message(message))

    async def hear(self) -> ServerMessage:
        return decode_server_message(await self._out.receive())

    async def hear_until(self, kind: type) -> ServerMessage:
        while not isinstance(message := await self.hear(), kind):
            pass
        return message

    def heard(self) -> list[ServerMessage]:
        out = []
        while True:
            try:
                out.append(decode_server_message(self._out.receive_nowait()))
            except trio.WouldBlock:
                return out

    def stall(self) -> None:
        self._reading = trio.Event()


TOKEN = secrets.token_urlsafe(16)
ROOM = creator_room_id(TOKEN)
ACCESS = access_key(TEST_SECRET, ROOM)


def sender_join() -> Join:
    return Join(cid="s" * 22, token=TOKEN, access=ACCESS)


def receiver_join(cid: str = "r" * 22) -> Join:
    return Join(cid=cid, proof=join_proof(ACCESS, ROOM, cid))


async def start(nursery: trio.Nursery, limits: Limits = LIMITS) -> SignalingService:
    service = SignalingService(limits, Metrics())
    await nursery.start(service.run)
    return service


async def connect(
    nursery: trio.Nursery, service: SignalingService, join: Join | None
) -> tuple[MemoryPort, Welcome | None]:
    port = MemoryPort()
    nursery.start_soon(service.handle, port, ROOM)
    if join is None:
        return port, None
    await port.say(join)
    welcome = await port.hear_until(Welcome)
    assert isinstance(welcome, Welcome)
    return port, welcome


async def test_no_join_is_closed_at_the_join_deadline(clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        began = trio.current_time()
        port, _ = await connect(nursery, service, None)
        error = await port.hear()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.JOIN_TIMEOUT
        await trio.testing.wait_all_tasks_blocked()
        assert port.closed is not None and port.closed[0] == CloseCode.PROTOCOL_ERROR
        assert port.closed_at_s - began == pytest.approx(LIMITS.join_timeout_s)
        assert service.connection_count == 0
        nursery.cancel_scope.cancel()


async def test_a_silent_peer_is_pinged_then_dropped_and_reported_lost(
    clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        sender, _ = await connect(nursery, service, sender_join())
        receiver, _ = await connect(nursery, service, receiver_join())
        joined_at = trio.current_time()
        # The sender keeps answering; the receiver says nothing from now on.

        async def answer_pings() -> None:
            while True:
                if isinstance(await sender.hear(), Ping):
                    await sender.say(Pong())

        nursery.start_soon(answer_pings)
        assert isinstance(await receiver.hear_until(Ping), Ping)
        pinged_after_s = trio.current_time() - joined_at
        assert LIMITS.heartbeat_interval_s <= pinged_after_s
        assert pinged_after_s <= LIMITS.heartbeat_interval_s * 1.5 + 0.01
        await receiver.closed_event.wait()
        assert receiver.closed is not None
        dropped_after_s = receiver.closed_at_s - joined_at
        assert receiver.closed[0] == CloseCode.HEARTBEAT_TIMEOUT
        assert LIMITS.heartbeat_timeout_s < dropped_after_s
        assert dropped_after_s <= LIMITS.heartbeat_timeout_s + LIMITS.heartbeat_interval_s / 2
        assert [m for m in receiver.heard() if isinstance(m, ErrorMessage)] == []  # dropped
        # The sender, which answered every ping, is still there, and hears of the loss.
        await trio.sleep(10 * LIMITS.heartbeat_timeout_s)
        assert sender.closed is None and service.connection_count == 1
        nursery.cancel_scope.cancel()


async def test_a_peer_that_stops_reading_is_cut_off_and_the_room_goes_on(
    clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        sender, s = await connect(nursery, service, sender_join())
        stalled, r1 = await connect(nursery, service, receiver_join("a" * 22))
        reading, r2 = await connect(nursery, service, receiver_join("b" * 22))
        assert s and r1 and r2
        stalled.stall()
        began = trio.current_time()
        # One message a second to each: little, but the stalled one's never leave its queue.
        while stalled.closed is None:
            await sender.say(Relay(to=r1.peer, sid=1, data="x"))
            await sender.say(Relay(to=r2.peer, sid=1, data="y"))
            await stalled.say(Pong())  # it talks (so it is not silent), it does not read
            assert isinstance(await reading.hear_until(Relayed), Relayed)
            await reading.say(Pong())
            await trio.sleep(1.0)
        assert stalled.closed is not None and stalled.closed[0] == CloseCode.SLOW_CONSUMER
        cut_after_s = stalled.closed_at_s - began
        assert LIMITS.heartbeat_timeout_s < cut_after_s
        assert cut_after_s <= LIMITS.heartbeat_timeout_s + LIMITS.heartbeat_interval_s / 2 + 1
        left = await sender.hear_until(PeerLeft)
        assert isinstance(left, PeerLeft) and left.peer == r1.peer
        await sender.say(Relay(to=r2.peer, sid=1, data="still here"))
        relayed = await reading.hear_until(Relayed)
        assert isinstance(relayed, Relayed) and relayed.data == "still here"
        nursery.cancel_scope.cancel()


async def test_a_peer_far_over_the_rate_is_closed_the_others_are_not(
    clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        sender, _ = await connect(nursery, service, sender_join())
        flooder, _ = await connect(nursery, service, receiver_join())
        assert service.connection_count == 2
        for _ in range(LIMITS.message_burst + LIMITS.max_dropped_messages + 1):
            await flooder.say(Ping())
        await trio.testing.wait_all_tasks_blocked()
        assert flooder.closed is not None and flooder.closed[0] == CloseCode.RATE_LIMITED
        assert sender.closed is None
        nursery.cancel_scope.cancel()


async def test_an_empty_room_lives_for_its_grace_period(clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        sender, _ = await connect(nursery, service, sender_join())
        await sender._in_send.send(Disconnect(1000))
        await trio.testing.wait_all_tasks_blocked()
        left_at = trio.current_time()
        assert ROOM in service.rooms
        await trio.sleep_until(left_at + LIMITS.room_grace_s - 0.5)
        assert ROOM in service.rooms  # a reload or reconnect would rejoin it
        await trio.sleep(1.0)
        assert ROOM not in service.rooms
        nursery.cancel_scope.cancel()


# --- nearby groups: the same connection rules and drain ----------------------------------

GROUP = nearby_group_for(NearbyScope.ADDRESS, "192.0.2.7")
assert GROUP is not None


class NearPort(MemoryPort):
    """A nearby connection's client side: near-* frames."""

    async def say_near(self, message: NearbyClientMessage) -> None:
        await self._in_send.send(encode_client_message(message))

    async def hear_near(self) -> NearbyServerMessage:
        return decode_nearby_server_message(await self._out.receive())

    async def hear_near_until(self, kind: type) -> NearbyServerMessage:
        while not isinstance(message := await self.hear_near(), kind):
            pass
        return message


async def near_connect(
    nursery: trio.Nursery, service: SignalingService, cid: str | None
) -> tuple[NearPort, NearWelcome | None]:
    port = NearPort()
    nursery.start_soon(service.handle_nearby, port, GROUP, GROUP)
    if cid is None:
        return port, None
    await port.say_near(NearJoin(cid=cid, name=f"Device {cid[:4]}"))
    welcome = await port.hear_near_until(NearWelcome)
    assert isinstance(welcome, NearWelcome)
    return port, welcome


async def test_a_nearby_connection_without_near_join_is_closed_at_the_deadline(
    clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        began = trio.current_time()
        port, _ = await near_connect(nursery, service, None)
        error = await port.hear_near()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.JOIN_TIMEOUT
        await trio.testing.wait_all_tasks_blocked()
        assert port.closed is not None and port.closed[0] == CloseCode.PROTOCOL_ERROR
        assert port.closed_at_s - began == pytest.approx(LIMITS.join_timeout_s)
        nursery.cancel_scope.cancel()


async def test_a_silent_nearby_peer_is_dropped_and_its_leaving_announced(
    clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        talker, _ = await near_connect(nursery, service, "t" * 22)
        silent, welcome = await near_connect(nursery, service, "s" * 22)
        assert welcome is not None

        heard: list[NearbyServerMessage] = []

        async def answer_pings() -> None:
            while True:
                heard.append(message := await talker.hear_near())
                if isinstance(message, Ping):
                    await talker.say_near(Pong())

        joined_at = trio.current_time()
        nursery.start_soon(answer_pings)
        await silent.closed_event.wait()
        assert silent.closed is not None and silent.closed[0] == CloseCode.HEARTBEAT_TIMEOUT
        assert silent.closed_at_s - joined_at >= LIMITS.heartbeat_timeout_s
        await trio.testing.wait_all_tasks_blocked()
        assert service.nearby.groups[GROUP].group.peer_count == 1
        assert NearLeft(id=welcome.you) in heard
        nursery.cancel_scope.cancel()


async def test_an_empty_group_ends_after_its_grace(clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        port, _ = await near_connect(nursery, service, "g" * 22)
        assert GROUP in service.nearby.groups
        await port._in_send.send(Disconnect(1000))
        await trio.sleep(NEARBY_GROUP_GRACE_S / 2)
        assert GROUP in service.nearby.groups  # a reload would find it
        await trio.sleep(NEARBY_GROUP_GRACE_S)
        assert GROUP not in service.nearby.groups
        nursery.cancel_scope.cancel()


async def test_draining_refuses_new_groups_and_keeps_live_ones(
    clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery)
        first, _ = await near_connect(nursery, service, "a" * 22)
        service.begin_drain()
        # A live group still takes devices...
        second, welcome = await near_connect(nursery, service, "b" * 22)
        assert welcome is not None and len(welcome.peers) == 1
        # ... a new one is refused with `draining` (4011): the client tries again (elsewhere).
        other = nearby_group_for(NearbyScope.ADDRESS, "198.51.100.1")
        port = NearPort()
        nursery.start_soon(service.handle_nearby, port, other, other)
        await port.say_near(NearJoin(cid="c" * 22, name="Late"))
        error = await port.hear_near()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.DRAINING
        await port.closed_event.wait()
        assert port.closed is not None and port.closed[0] == CloseCode.DRAINING
        # Shutdown ends the live group's devices like room peers (1001).
        await service.shutdown()
        assert first.closed is not None and first.closed[0] == CloseCode.GOING_AWAY
        assert second.closed is not None and second.closed[0] == CloseCode.GOING_AWAY
        nursery.cancel_scope.cancel()


async def test_nearby_joins_from_one_address_are_a_burst_then_one_every_two_seconds(
    clock: trio.testing.MockClock,
) -> None:
    async with trio.open_nursery() as nursery:
        service = await start(nursery, Limits(max_nearby_peers=2))
        burst = nearby_join_burst(2)

        async def reload() -> NearPort:
            """One cycle of a reconnect loop: the same tab joins, then goes."""
            port, welcome = await near_connect(nursery, service, "l" * 22)
            assert welcome is not None
            await port._in_send.send(Disconnect(1000))
            return port

        async def refused() -> None:
            port = NearPort()
            nursery.start_soon(service.handle_nearby, port, GROUP, GROUP)
            await port.say_near(NearJoin(cid="l" * 22, name="Looper"))
            error = await port.hear_near()
            assert isinstance(error, ErrorMessage) and error.code is ErrorCode.RATE_LIMITED
            await port.closed_event.wait()
            assert port.closed is not None and port.closed[0] == CloseCode.RATE_LIMITED

        for _ in range(burst):
            await reload()
        await refused()
        await trio.sleep(1 / NEARBY_JOIN_RATE_PER_S)
        await reload()  # one more token came in
        await refused()
        nursery.cancel_scope.cancel()
