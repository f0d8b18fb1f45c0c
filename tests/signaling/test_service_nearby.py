"""Nearby groups against a real server on loopback, with real WebSocket clients.

Clients on different networks are clients from different loopback addresses (Linux takes
any of 127/8 as a source): under `--nearby-scope address` each address is one group.
"""

from __future__ import annotations

import re
from typing import Any

import trio

from p2pshare.signaling.messages import CloseCode, ErrorCode, ErrorMessage
from p2pshare.signaling.nearby_messages import NearLeft, NearName, NearPeer, NearRelay, NearRelayed
from p2pshare.signaling.nearby_scope import NearbyScope, nearby_group_for
from p2pshare.signaling.nearby_service import nearby_join_burst
from tests.conftest import StartServer
from tests.signaling.wsclient import NearbyClient, http_get_from, nearby_group_from

ADDRESS = {"nearby_scope": NearbyScope.ADDRESS}


async def metric(port: int, name: str) -> float:
    _, body = await http_get_from("127.0.0.1", port, "/metrics")
    match = re.search(rf"^{name} (\S+)$", body.decode(), re.M)
    return float(match.group(1)) if match else 0.0


async def test_two_groups_never_see_each_other_and_relay_stays_in_one(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server(config=ADDRESS)
    port = server.http_port
    home = await nearby_group_from("127.0.0.2", port)
    office = await nearby_group_from("127.0.0.3", port)
    assert home and office and home != office
    assert home == nearby_group_for(NearbyScope.ADDRESS, "127.0.0.2")

    a1 = NearbyClient(nursery, port, "127.0.0.2", name="Amber Otter")
    a2 = NearbyClient(nursery, port, "127.0.0.2", name="Blue Heron", device="Firefox on Android")
    b1 = NearbyClient(nursery, port, "127.0.0.3", name="Coral Finch")
    assert (await a1.join(home)).peers == ()
    assert (await b1.join(office)).peers == ()
    w2 = await a2.join(home)
    assert [(p.id, p.name, p.device) for p in w2.peers] == [(a1.id, "Amber Otter", a1.device)]
    assert await a1.recv_until(NearPeer) == NearPeer(
        id=a2.id, name="Blue Heron", device="Firefox on Android"
    )

    await a1.send(NearRelay(to=a2.id, data="offer-from-a1"))
    assert await a2.recv_until(NearRelayed) == NearRelayed(from_=a1.id, data="offer-from-a1")
    # Across groups: the other group's peer is unknown here, and nothing reaches it.
    await a1.send(NearRelay(to=b1.id, data="let me in"))
    error = await a1.recv_until(ErrorMessage)
    assert isinstance(error, ErrorMessage) and error.code is ErrorCode.UNKNOWN_PEER
    await b1.send(NearRelay(to=a1.id, data="hello?"))
    error = await b1.recv_until(ErrorMessage)
    assert isinstance(error, ErrorMessage) and error.code is ErrorCode.UNKNOWN_PEER
    await a1.send(NearRelay(to=a2.id, data="still here"))
    assert await a2.recv_until(NearRelayed) == NearRelayed(from_=a1.id, data="still here")
    with trio.move_on_after(0.3):
        message = await b1.recv()
        raise AssertionError(f"the other group heard {message}")

    assert await metric(port, "p2pshare_nearby_groups") == 2
    assert await metric(port, "p2pshare_nearby_peers") == 3
    for client in (a1, a2, b1):
        await client.aclose()


async def test_a_peer_leaving_and_a_rename_are_announced(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server(config=ADDRESS)
    group = await nearby_group_from("127.0.0.4", server.http_port)
    assert group is not None
    stays = NearbyClient(nursery, server.http_port, "127.0.0.4")
    goes = NearbyClient(nursery, server.http_port, "127.0.0.4", name="Leaving Soon")
    await stays.join(group)
    await goes.join(group)
    await stays.recv_until(NearPeer)
    await goes.send(NearName(name="  Renamed  "))
    assert await stays.recv_until(NearPeer) == NearPeer(
        id=goes.id, name="Renamed", device=goes.device
    )
    await goes.aclose()
    assert await stays.recv_until(NearLeft) == NearLeft(id=goes.id)


async def test_a_join_to_another_group_is_refused_with_nearby_mismatch(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server(config=ADDRESS)
    theirs = await nearby_group_from("127.0.0.5", server.http_port)
    assert theirs is not None
    for path_group in (theirs, "not-a-group", "A" * 22, ""):
        intruder = NearbyClient(nursery, server.http_port, "127.0.0.6")
        await intruder.connect(path_group)
        error = await intruder.recv()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.NEARBY_MISMATCH
        code, _ = await intruder.closed_with()
        assert code == CloseCode.NEARBY_MISMATCH == 4013


async def test_nearby_off_names_no_group_and_refuses_every_one(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server(config={"nearby_scope": NearbyScope.OFF})
    assert await nearby_group_from("127.0.0.1", server.http_port) is None
    client = NearbyClient(nursery, server.http_port)
    await client.connect(str(nearby_group_for(NearbyScope.AUTO, "127.0.0.1")))
    code, _ = await client.closed_with()
    assert code == CloseCode.NEARBY_MISMATCH


async def test_the_same_cid_twice_replaces_the_first_connection(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server(config=ADDRESS)
    group = await nearby_group_from("127.0.0.7", server.http_port)
    assert group is not None
    other = NearbyClient(nursery, server.http_port, "127.0.0.7")
    first = NearbyClient(nursery, server.http_port, "127.0.0.7", name="Tab")
    await other.join(group)
    await first.join(group)
    await other.recv_until(NearPeer)
    second = NearbyClient(nursery, server.http_port, "127.0.0.7", cid=first.cid, name="Tab")
    welcome = await second.join(group)
    assert [p.id for p in welcome.peers] == [other.id] and welcome.you != first.id
    code, _ = await first.closed_with()
    assert code == CloseCode.REPLACED
    assert await other.recv_until(NearLeft) == NearLeft(id=first.id)
    assert await other.recv_until(NearPeer) == NearPeer(
        id=second.id, name="Tab", device=second.device
    )


async def test_a_full_group_refuses_a_newcomer(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server(config=ADDRESS, max_nearby_peers=2)
    group = await nearby_group_from("127.0.0.8", server.http_port)
    assert group is not None
    for n in range(2):
        await NearbyClient(nursery, server.http_port, "127.0.0.8", name=f"Device {n}").join(group)
    third = NearbyClient(nursery, server.http_port, "127.0.0.8")
    await third.connect(group)
    await third.send_raw('{"type":"near-join","cid":"%s","name":"Third"}' % third.cid)
    error = await third.recv()
    assert isinstance(error, ErrorMessage) and error.code is ErrorCode.GROUP_FULL
    code, _ = await third.closed_with()
    assert code == CloseCode.ROOM_FULL


async def test_hostile_frames_get_errors_and_the_connection_stays(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server(config=ADDRESS)
    group = await nearby_group_from("127.0.0.9", server.http_port)
    assert group is not None
    me = NearbyClient(nursery, server.http_port, "127.0.0.9")
    peer = NearbyClient(nursery, server.http_port, "127.0.0.9")
    await me.join(group)
    await peer.join(group)
    for frame in (
        '{"type":"near-name","name":"evil\\u202egnp.exe"}',
        '{"type":"near-relay","to":"%s","data":"%s"}' % (peer.id, "x" * 8193),
        '{"type":"relay","to":"%s","sid":1,"data":"x"}' % peer.id,
    ):
        await me.send_raw(frame)
        error = await me.recv_until(ErrorMessage)
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.BAD_MESSAGE
    await me.send(NearRelay(to=me.id, data="myself"))
    error = await me.recv_until(ErrorMessage)
    assert isinstance(error, ErrorMessage) and error.code is ErrorCode.NOT_ALLOWED
    await me.send(NearRelay(to=peer.id, data="fine"))
    assert await peer.recv_until(NearRelayed) == NearRelayed(from_=me.id, data="fine")


async def config_group(
    start_server: StartServer, headers: dict[str, str], **config: Any
) -> str | None:
    server = await start_server(config=config)
    return await nearby_group_from("127.0.0.1", server.http_port, headers)


async def test_behind_a_proxy_the_group_comes_from_its_header_or_there_is_none(
    start_server: StartServer,
) -> None:
    xff = {"X-Forwarded-For": "203.0.113.66, 198.51.100.7"}
    auto, address = NearbyScope.AUTO, NearbyScope.ADDRESS
    # --trust-proxy: the hop the proxy added picks the group...
    assert await config_group(
        start_server, xff, trust_proxy=True, nearby_scope=auto
    ) == nearby_group_for(auto, "198.51.100.7")
    # ... and without one (not through the proxy) there is none, rather than the proxy's.
    assert await config_group(start_server, {}, trust_proxy=True, nearby_scope=auto) is None
    # Without --trust-proxy, `auto` takes a forwarding header as the sign of a proxy: the
    # address is the proxy's, and every visitor would be one group of strangers. None.
    for header in (
        {"X-Forwarded-For": "198.51.100.7"},
        {"X-Real-IP": "1.2.3.4"},
        {"Forwarded": "for=1.2.3.4"},
    ):
        assert await config_group(start_server, header, nearby_scope=auto) is None
    # An explicit scope does what it says (the socket peer), as does auto with no header.
    assert await config_group(start_server, xff, nearby_scope=address) == nearby_group_for(
        address, "127.0.0.1"
    )
    assert await config_group(start_server, {}, nearby_scope=auto) == nearby_group_for(
        auto, "127.0.0.1"
    )


async def test_a_websocket_through_an_unknown_proxy_gets_no_group(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    server = await start_server()  # auto, no --trust-proxy
    client = NearbyClient(nursery, server.http_port, headers=[("X-Forwarded-For", "198.51.100.7")])
    await client.connect(str(nearby_group_for(NearbyScope.AUTO, "127.0.0.1")))
    code, _ = await client.closed_with()
    assert code == CloseCode.NEARBY_MISMATCH


async def test_a_reconnect_loop_is_refused_past_the_join_burst_and_announces_nothing(
    start_server: StartServer, nursery: trio.Nursery
) -> None:
    # max_nearby_peers 2: a burst of nearby_join_burst(2) = 4 joins from one address.
    server = await start_server(config=ADDRESS, max_nearby_peers=2)
    port = server.http_port
    group = await nearby_group_from("127.0.0.12", port)
    assert group is not None
    watcher = NearbyClient(nursery, port, "127.0.0.12", name="Watcher")
    await watcher.join(group)
    looper = NearbyClient(nursery, port, "127.0.0.12", name="Looper")
    for _ in range(nearby_join_burst(2) - 1):  # each cycle: a near-peer, then a near-left
        again = NearbyClient(nursery, port, "127.0.0.12", cid=looper.cid, name="Looper")
        await again.join(group)
        assert await watcher.recv_until(NearPeer) == NearPeer(
            id=again.id, name="Looper", device=again.device
        )
        await again.aclose()
        assert await watcher.recv_until(NearLeft) == NearLeft(id=again.id)
    refused = NearbyClient(nursery, port, "127.0.0.12", cid=looper.cid, name="Looper")
    await refused.connect(group)
    await refused.send_raw('{"type":"near-join","cid":"%s","name":"Looper"}' % refused.cid)
    error = await refused.recv()
    assert isinstance(error, ErrorMessage) and error.code is ErrorCode.RATE_LIMITED
    code, _ = await refused.closed_with()
    assert code == CloseCode.RATE_LIMITED == 4006
    with trio.move_on_after(0.3):
        message = await watcher.recv()
        raise AssertionError(f"a refused join was announced: {message}")
    # Another address (another group, under `address`) has its own joins.
    elsewhere = await nearby_group_from("127.0.0.13", port)
    assert elsewhere is not None
    assert (await NearbyClient(nursery, port, "127.0.0.13").join(elsewhere)).peers == ()
