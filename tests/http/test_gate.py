"""Connections are capped per address before any HTTP is read (p2pshare/http/gate.py)."""

from __future__ import annotations

import trio

from p2pshare.http.gate import ConnectionGate
from tests.conftest import StartServer
from tests.http.test_app import http_get


def test_the_gate_counts_per_address() -> None:
    gate = ConnectionGate(2)
    assert gate.enter("a") and gate.enter("a")
    assert not gate.enter("a")
    assert gate.enter("b")
    gate.leave("a")
    assert gate.enter("a")
    assert gate.refused == 1


async def closed_at_once(stream: trio.SocketStream) -> bool:
    """Whether the server closed `stream` without a word (within a few seconds)."""
    with trio.move_on_after(3):
        try:
            return await stream.receive_some(1024) == b""
        except trio.BrokenResourceError:
            return True
    return False


async def test_idle_connections_from_one_address_are_capped(start_server: StartServer) -> None:
    server = await start_server(max_tcp_per_address=8)
    held = [await trio.open_tcp_stream("127.0.0.1", server.http_port) for _ in range(8)]
    try:
        over = await trio.open_tcp_stream("127.0.0.1", server.http_port)
        async with over:
            assert await closed_at_once(over)
        # Another address is served meanwhile (127.0.0.2 is loopback too on Linux).
        other = await trio.open_tcp_stream("127.0.0.1", server.http_port, local_address="127.0.0.2")
        async with other:
            await other.send_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            with trio.fail_after(5):
                assert (await other.receive_some(1024)).startswith(b"HTTP/1.1 200")
    finally:
        for stream in held:
            await stream.aclose()
    # The held ones are gone: the address may connect again.
    with trio.fail_after(5):
        while True:
            try:
                status, _, _ = await http_get(server.http_port, "/healthz")
                break
            except (trio.BrokenResourceError, IndexError, ValueError):
                await trio.sleep(0.05)  # the server notices the closes a moment later
    assert status == 200
