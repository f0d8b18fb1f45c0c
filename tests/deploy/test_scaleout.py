"""Several instances behind nginx or HAProxy (the shipped configs): rooms meet, and
stopping one instance affects only its rooms, whose clients reconnect and meet again."""

from __future__ import annotations

import secrets
import signal
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
import trio_websocket

from p2pshare.http.app import client_address
from p2pshare.signaling.admission import access_key, join_proof
from p2pshare.signaling.messages import (
    CloseCode,
    Join,
    PeerJoined,
    PeerLeft,
    Ping,
    Pong,
    Relay,
    Relayed,
    Role,
    ServerMessage,
    Welcome,
    decode_server_message,
    encode_client_message,
)
from p2pshare.signaling.room import creator_room_id
from tests.deploy.cluster import LOAD_BALANCED_ARGS, Cluster, start_cluster
from tests.signaling.wsclient import TEST_SECRET

SETUP_CONCURRENCY = 40
STEP_TIMEOUT_S = 30.0
RECONNECT_DEADLINE_S = 30.0
# The close codes after which a client tries again (docs/protocol.md), and 1006: dropped.
RETRY_CLOSE_CODES = frozenset({CloseCode.GOING_AWAY, CloseCode.DRAINING, 1006})


class PeerGone(Exception):
    """The connection closed before what we waited for arrived."""


@dataclass(eq=False)
class Peer:
    """One signaling client: answers pings, keeps what arrives, notes how it closed."""

    room: str
    cid: str
    token: str | None
    ws: trio_websocket.WebSocketConnection | None = None
    welcome: Welcome | None = None
    inbox: list[ServerMessage] = field(default_factory=list)
    close_code: int | None = None
    closed: trio.Event = field(default_factory=trio.Event)
    arrived: trio.Event = field(default_factory=trio.Event)
    connections: int = 0

    async def connect(
        self, nursery: trio.Nursery, cluster: Cluster, context: ssl.SSLContext | None
    ) -> None:
        """Open a WebSocket through the proxy and join; raises PeerGone if it closes first."""
        self.inbox.clear()
        self.welcome = None
        self.close_code = None
        self.closed = trio.Event()
        self.ws = await trio_websocket.connect_websocket_url(
            nursery, cluster.ws_url(self.room), ssl_context=context
        )
        self.connections += 1
        nursery.start_soon(self._read, self.ws, self.closed)
        access = access_key(TEST_SECRET, self.room)  # both hold the link: the sender registers it
        join = (
            Join(cid=self.cid, token=self.token, access=access)
            if self.token
            else Join(cid=self.cid, proof=join_proof(access, self.room, self.cid))
        )
        await self.ws.send_message(encode_client_message(join))
        welcome = await self.wait_for(lambda m: isinstance(m, Welcome))
        assert isinstance(welcome, Welcome)
        self.welcome = welcome

    async def _read(self, ws: trio_websocket.WebSocketConnection, closed: trio.Event) -> None:
        try:
            while True:
                message = decode_server_message(await ws.get_message())
                if isinstance(message, Ping):
                    await ws.send_message(encode_client_message(Pong()))
                    continue
                self.inbox.append(message)
                self.arrived.set()
                self.arrived = trio.Event()
        except trio_websocket.ConnectionClosed as exc:
            self.close_code = exc.reason.code if exc.reason else 1006
        finally:
            closed.set()
            self.arrived.set()
            self.arrived = trio.Event()

    async def wait_for(self, predicate: object) -> ServerMessage:
        """The first message in the inbox (old or new) for which `predicate` holds."""
        assert callable(predicate)
        while True:
            for message in self.inbox:
                if predicate(message):
                    return message
            if self.closed.is_set():
                raise PeerGone(f"closed with {self.close_code}")
            await self.arrived.wait()

    async def relay(self, to: str, data: str) -> None:
        assert self.ws is not None
        await self.ws.send_message(encode_client_message(Relay(to=to, sid=1, data=data)))

    @property
    def peer_id(self) -> str:
        assert self.welcome is not None
        return self.welcome.peer


@dataclass(eq=False)
class Pair:
    """A room with its sender and one receiver."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    def __post_init__(self) -> None:
        self.room = creator_room_id(self.token)  # a room id is made from its sender's token
        self.sender = Peer(self.room, secrets.token_urlsafe(16), self.token)
        self.receiver = Peer(self.room, secrets.token_urlsafe(16), None)

    @property
    def peers(self) -> tuple[Peer, Peer]:
        return self.sender, self.receiver


async def meet(pair: Pair) -> None:
    """Both peers see each other (welcome or peer-joined) and a relay goes each way."""
    sender, receiver = pair.peers
    assert sender.welcome is not None and sender.welcome.role is Role.SENDER
    assert receiver.welcome is not None and receiver.welcome.role is Role.RECEIVER
    for me, other in ((sender, receiver), (receiver, sender)):
        assert me.welcome is not None
        if other.peer_id not in [p.peer for p in me.welcome.peers]:
            await me.wait_for(lambda m, o=other: isinstance(m, PeerJoined) and m.peer == o.peer_id)
    hello = secrets.token_urlsafe(8)
    await sender.relay(receiver.peer_id, f"offer-{hello}")
    await receiver.relay(sender.peer_id, f"answer-{hello}")
    for me, other, data in ((receiver, sender, "offer"), (sender, receiver, "answer")):
        got = await me.wait_for(
            lambda m, d=f"{data}-{hello}": isinstance(m, Relayed) and m.data == d
        )
        assert isinstance(got, Relayed) and got.from_ == other.peer_id


async def open_pair(
    nursery: trio.Nursery, cluster: Cluster, context: ssl.SSLContext | None, pair: Pair
) -> None:
    await pair.sender.connect(nursery, cluster, context)
    await pair.receiver.connect(nursery, cluster, context)
    await meet(pair)


async def reconnect(
    nursery: trio.Nursery, cluster: Cluster, context: ssl.SSLContext | None, peer: Peer
) -> None:
    """Reconnect as a client does after 1001/4011/a drop: again, with backoff, until joined."""
    delay = 0.1
    while True:
        try:
            await peer.connect(nursery, cluster, context)
            return
        except (PeerGone, trio_websocket.HandshakeError, OSError) as exc:
            if isinstance(exc, PeerGone) and peer.close_code not in RETRY_CLOSE_CODES:
                raise
        await trio.sleep(delay)
        delay = min(delay * 2, 1.0)


async def run_all(jobs: list[object], limit: int = SETUP_CONCURRENCY) -> None:
    limiter = trio.CapacityLimiter(limit)

    async def one(job: object) -> None:
        async with limiter:
            assert callable(job)
            await job()

    async with trio.open_nursery() as nursery:
        for job in jobs:
            nursery.start_soon(one, job)


async def scale_out_scenario(cluster: Cluster, rooms: int, stop_signal: int) -> None:
    """Open `rooms` pairs through the proxy, stop one instance with `stop_signal`, and
    check that exactly its rooms were cut, came back and met again, the rest untouched."""
    context = cluster.ssl_context()
    pairs = [Pair() for _ in range(rooms)]
    async with trio.open_nursery() as nursery:  # owns every client connection
        with trio.fail_after(STEP_TIMEOUT_S):
            await run_all([lambda p=p: open_pair(nursery, cluster, context, p) for p in pairs])
        counts = await trio.to_thread.run_sync(cluster.room_counts)
        # Consistent hashing spread the rooms: each instance has some, none is lost.
        assert sum(counts.values()) == rooms, counts
        assert all(n > 0 for n in counts.values()), counts

        victim = cluster.instances[1]
        victim_rooms = counts[victim.name]
        exit_code = await trio.to_thread.run_sync(victim.stop, stop_signal)
        if stop_signal == signal.SIGTERM:
            assert exit_code == 0, exit_code

        def cut_pairs() -> list[Pair]:
            return [p for p in pairs if p.sender.closed.is_set() or p.receiver.closed.is_set()]

        with trio.fail_after(RECONNECT_DEADLINE_S):
            # Exactly the victim's rooms are cut (any extra cut shows up as a closed peer
            # among the untouched ones below).
            while len(cut_pairs()) < victim_rooms:  # noqa: ASYNC110 (closes arrive one by one)
                await trio.sleep(0.05)
            cut = cut_pairs()
            assert len(cut) == victim_rooms, (len(cut), counts)
            for pair in cut:
                for peer in pair.peers:
                    await peer.closed.wait()
                    expected = {CloseCode.GOING_AWAY} if stop_signal == signal.SIGTERM else {1006}
                    assert peer.close_code in expected, peer.close_code
            await run_all(
                [lambda p=p: reconnect(nursery, cluster, context, p) for c in cut for p in c.peers]
            )
            await run_all([lambda c=c: meet(c) for c in cut])

        untouched = [p for p in pairs if p not in cut]
        with trio.fail_after(STEP_TIMEOUT_S):
            for pair in untouched:
                for peer in pair.peers:
                    assert not peer.closed.is_set() and peer.connections == 1
                    # No one left or came back: the room never noticed.
                    kinds = [type(m) for m in peer.inbox]
                    assert kinds.count(PeerJoined) <= 1 and PeerLeft not in kinds, kinds
            await run_all([lambda p=p: meet(p) for p in untouched])

        after = await trio.to_thread.run_sync(cluster.room_counts)
        assert victim.name not in after
        assert sum(after.values()) == rooms, after
        for name, count in after.items():
            assert count >= counts[name], (counts, after)  # kept theirs, took some of the victim's
        nursery.cancel_scope.cancel()


@pytest.fixture
def nginx_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with start_cluster(tmp_path, count=3, proxy="nginx") as cluster:
        yield cluster


@pytest.fixture
def haproxy_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with start_cluster(tmp_path, count=3, proxy="haproxy") as cluster:
        yield cluster


@pytest.mark.multiprocess
async def test_nginx_300_rooms_meet_and_survive_an_instance_stop(nginx_cluster: Cluster) -> None:
    await scale_out_scenario(nginx_cluster, rooms=300, stop_signal=signal.SIGTERM)


@pytest.mark.multiprocess
async def test_nginx_rooms_of_a_crashed_instance_move(nginx_cluster: Cluster) -> None:
    await scale_out_scenario(nginx_cluster, rooms=60, stop_signal=signal.SIGKILL)


@pytest.mark.multiprocess
async def test_haproxy_rooms_meet_and_survive_an_instance_stop(haproxy_cluster: Cluster) -> None:
    await scale_out_scenario(haproxy_cluster, rooms=60, stop_signal=signal.SIGTERM)


@pytest.mark.multiprocess
async def test_haproxy_rooms_of_a_crashed_instance_move(haproxy_cluster: Cluster) -> None:
    await scale_out_scenario(haproxy_cluster, rooms=60, stop_signal=signal.SIGKILL)


@pytest.mark.multiprocess
async def test_haproxy_drain_moves_new_rooms_and_keeps_live_ones(tmp_path: Path) -> None:
    """SIGTERM with --drain-timeout: /healthz turns 503, HAProxy takes the instance out,
    new rooms meet on the others, live rooms go on; once they end the instance exits."""
    args = (*LOAD_BALANCED_ARGS, "--drain-timeout", "600")
    with start_cluster(tmp_path, count=3, proxy="haproxy", args=args) as cluster:
        context = cluster.ssl_context()
        victim = cluster.instances[0]
        async with trio.open_nursery() as nursery:
            with trio.fail_after(STEP_TIMEOUT_S):
                old = [Pair() for _ in range(30)]
                await run_all([lambda p=p: open_pair(nursery, cluster, context, p) for p in old])
                counts = await trio.to_thread.run_sync(cluster.room_counts)
                assert counts[victim.name] > 0, counts
                victim.stop(signal.SIGTERM, wait=False)
                while (await trio.to_thread.run_sync(victim.get, "/healthz"))[0] != 503:  # noqa: ASYNC110
                    await trio.sleep(0.05)

                # New rooms: those that hash to the draining instance are refused (4011)
                # until HAProxy's check takes it out; the clients' retries then land elsewhere.
                new = [Pair() for _ in range(30)]
                await run_all(
                    [
                        lambda p=p: reconnect(nursery, cluster, context, p)
                        for n in new
                        for p in n.peers
                    ]
                )
                await run_all([lambda c=c: meet(c) for c in new])
                during = await trio.to_thread.run_sync(cluster.room_counts)
                assert during[victim.name] == counts[victim.name], (counts, during)
                assert sum(during.values()) == 60, during

                # Live rooms, the draining instance's included, are untouched and work.
                await run_all([lambda p=p: meet(p) for p in old])
                assert not any(peer.closed.is_set() for pair in old for peer in pair.peers)

                # Once the last peer leaves, the instance stops long before its deadline.
                for pair in old + new:
                    for peer in pair.peers:
                        assert peer.ws is not None
                        await peer.ws.aclose()
                assert await trio.to_thread.run_sync(victim.process.wait) == 0
            nursery.cancel_scope.cancel()


def test_client_address_is_the_hop_our_proxy_added() -> None:
    """With --trust-proxy, the last X-Forwarded-For entry counts, across header lines:
    HAProxy's `option forwardfor` appends its own line after one a client may forge."""
    forged_then_haproxy = [
        (b"x-forwarded-for", b"203.0.113.66"),
        (b"x-forwarded-for", b"198.51.100.7"),
    ]
    nginx_appended = [(b"x-forwarded-for", b"203.0.113.66, 198.51.100.7")]
    for headers in (forged_then_haproxy, nginx_appended):
        scope = {"headers": headers, "client": ("127.0.0.1", 5000)}
        assert client_address(scope, trust_proxy=True) == "198.51.100.7"  # type: ignore[arg-type]
        assert client_address(scope, trust_proxy=False) == "127.0.0.1"  # type: ignore[arg-type]
