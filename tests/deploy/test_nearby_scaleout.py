"""Nearby groups behind nginx and HAProxy (the shipped configs) in front of three instances:
devices from different networks (here: different loopback source addresses, which the
proxy passes on in X-Forwarded-For) form different groups, every device sees exactly its
own group's devices whichever instance holds it, and the groups spread over the instances,
since the proxies hash /ws/nearby.<group> as they hash a room's path."""

from __future__ import annotations

import http.client
import itertools
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import trio
import trio_websocket

from p2pshare.signaling.messages import (
    CloseCode,
    ErrorCode,
    ErrorMessage,
    Ping,
    Pong,
    encode_client_message,
)
from p2pshare.signaling.nearby_messages import (
    NearbyServerMessage,
    NearJoin,
    NearLeft,
    NearPeer,
    NearRelay,
    NearRelayed,
    NearWelcome,
    decode_nearby_server_message,
)
from p2pshare.signaling.nearby_scope import NearbyScope, nearby_group_for
from tests.deploy.cluster import LOAD_BALANCED_ARGS, Cluster, start_cluster
from tests.deploy.test_scaleout import run_all
from tests.signaling.wsclient import open_stream_from

NETWORKS = [f"127.0.0.{n}" for n in range(2, 18)]  # 16 groups
DEVICES_PER_NETWORK = 3
STEP_TIMEOUT_S = 30.0
ARGS = (*LOAD_BALANCED_ARGS, "--nearby-scope", "address")


def config_group(cluster: Cluster, source: str) -> str | None:
    """The nearby group /config.json (through the proxy) names for a client at `source`."""
    assert cluster.proxy is not None
    connection = http.client.HTTPSConnection(
        "127.0.0.1",
        cluster.proxy.port,
        context=cluster.ssl_context(),
        source_address=(source, 0),
        timeout=10,
    )
    try:
        connection.request("GET", "/config.json")
        response = connection.getresponse()
        assert response.status == 200, response.status
        nearby = json.loads(response.read())["nearby"]
    finally:
        connection.close()
    return None if nearby is None else str(nearby["group"])


@dataclass(eq=False)
class Device:
    """One page of a nearby group: answers pings, keeps the group as it sees it."""

    source: str
    group: str
    cid: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    ws: trio_websocket.WebSocketConnection | None = None
    welcome: NearWelcome | None = None
    view: set[str] = field(default_factory=set)  # the other devices it sees now
    seen: set[str] = field(default_factory=set)  # every device it was ever shown
    inbox: list[NearbyServerMessage] = field(default_factory=list)
    close_code: int | None = None
    changed: trio.Event = field(default_factory=trio.Event)

    @property
    def id(self) -> str:
        assert self.welcome is not None
        return self.welcome.you

    async def open(self, nursery: trio.Nursery, cluster: Cluster, group: str) -> None:
        assert cluster.proxy is not None
        context = cluster.ssl_context()
        assert context is not None
        stream = await open_stream_from(self.source, cluster.proxy.port)
        tls = trio.SSLStream(stream, context, server_hostname="127.0.0.1")
        self.ws = await trio_websocket.wrap_client_stream(
            nursery, tls, "127.0.0.1", f"/ws/nearby.{group}"
        )
        nursery.start_soon(self._read, self.ws)

    async def join(self, nursery: trio.Nursery, cluster: Cluster) -> None:
        await self.open(nursery, cluster, self.group)
        await self.send(NearJoin(cid=self.cid, name=f"Device {self.cid[:6]}", device="test"))
        with trio.fail_after(STEP_TIMEOUT_S):
            while self.welcome is None:
                if self.close_code is not None:
                    raise AssertionError(f"closed with {self.close_code}")
                await self.changed.wait()

    async def send(self, message: NearJoin | NearRelay) -> None:
        assert self.ws is not None
        await self.ws.send_message(encode_client_message(message))

    async def _read(self, ws: trio_websocket.WebSocketConnection) -> None:
        try:
            while True:
                message = decode_nearby_server_message(await ws.get_message())
                match message:
                    case Ping():
                        await ws.send_message(encode_client_message(Pong()))
                        continue
                    case NearWelcome(peers=peers):
                        self.welcome = message
                        self.view = {p.id for p in peers}
                        self.seen |= self.view
                    case NearPeer(id=peer):
                        self.view.add(peer)
                        self.seen.add(peer)
                    case NearLeft(id=peer):
                        self.view.discard(peer)
                    case _:
                        self.inbox.append(message)
                self._wake()
        except trio_websocket.ConnectionClosed as exc:
            self.close_code = exc.reason.code if exc.reason else 1006
            self._wake()

    def _wake(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    async def wait_until(self, predicate: object) -> None:
        assert callable(predicate)
        with trio.fail_after(STEP_TIMEOUT_S):
            while not predicate():
                await self.changed.wait()


async def nearby_scenario(cluster: Cluster) -> None:
    groups = {
        source: await trio.to_thread.run_sync(config_group, cluster, source) for source in NETWORKS
    }
    # The proxy passed each client's own address on: one group per network, the same id
    # whichever instance answered /config.json.
    assert groups == {s: nearby_group_for(NearbyScope.ADDRESS, s) for s in NETWORKS}
    assert len(set(groups.values())) == len(NETWORKS)

    devices = [
        Device(source, str(group))
        for source, group in groups.items()
        for _ in range(DEVICES_PER_NETWORK)
    ]
    by_group: dict[str, list[Device]] = {}
    for device in devices:
        by_group.setdefault(device.group, []).append(device)

    async with trio.open_nursery() as nursery:
        await run_all([lambda d=d: d.join(nursery, cluster) for d in devices])
        # Each device sees exactly the other devices of its group, and never saw anyone else.
        for device in devices:
            others = {d.id for d in by_group[device.group] if d is not device}
            await device.wait_until(lambda d=device, o=others: d.view == o)
        for device in devices:
            group_ids = {d.id for d in by_group[device.group]}
            assert device.seen <= group_ids, (device.source, device.seen - group_ids)

        # Relays are delivered within a group; across groups the peer is unknown.
        for members in by_group.values():
            a, b = members[0], members[1]
            await a.send(NearRelay(to=b.id, data=f"hello-{a.id}"))
        for members in by_group.values():
            a, b = members[0], members[1]
            await b.wait_until(
                lambda b=b, a=a: NearRelayed(from_=a.id, data=f"hello-{a.id}") in b.inbox
            )
        groups_in_order = list(by_group.values())
        for here, there in itertools.pairwise(groups_in_order):
            await here[0].send(NearRelay(to=there[0].id, data="across"))
            await here[0].wait_until(
                lambda d=here[0]: any(
                    isinstance(m, ErrorMessage) and m.code is ErrorCode.UNKNOWN_PEER
                    for m in d.inbox
                )
            )
            assert not any(
                isinstance(m, NearRelayed) and m.data == "across" for m in there[0].inbox
            )

        # A device asking for another network's group is refused (4013), through the proxy too.
        intruder = Device(NETWORKS[0], str(groups[NETWORKS[1]]))
        await intruder.open(nursery, cluster, intruder.group)
        await intruder.wait_until(lambda: intruder.close_code is not None)
        assert intruder.close_code == CloseCode.NEARBY_MISMATCH

        # The groups are spread over the instances (each group on one: the sums add up).
        counts = await trio.to_thread.run_sync(
            lambda: {i.name: i.metric("p2pshare_nearby_groups") for i in cluster.instances}
        )
        peers = await trio.to_thread.run_sync(
            lambda: {i.name: i.metric("p2pshare_nearby_peers") for i in cluster.instances}
        )
        assert sum(counts.values()) == len(NETWORKS), counts
        assert sum(peers.values()) == len(devices), peers
        assert sum(1 for n in counts.values() if n > 0) > 1, counts
        nursery.cancel_scope.cancel()


@pytest.mark.multiprocess
@pytest.mark.parametrize("proxy", ["nginx", "haproxy"])
async def test_nearby_groups_behind_a_proxy_and_three_instances(tmp_path: Path, proxy: str) -> None:
    with start_cluster(tmp_path, count=3, proxy=proxy, args=ARGS) as cluster:
        await nearby_scenario(cluster)
