"""p2pshare.stun.server against real UDP sockets on loopback.

aioice's `stun` module is the independent client: it builds the requests and parses
the answers. A datagram that must get no answer is waited for briefly, and the server
is then shown to be alive with a good request.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
import trio
from aioice import stun as aioice_stun

from p2pshare.config import Limits
from p2pshare.metrics import Metrics
from p2pshare.stun.codec import Attr, Reason, parse_message
from p2pshare.stun.server import StunBindError, StunEndpoint, serve_stun
from tests.conftest import needs_ipv6
from tests.stun.test_codec import (
    BARE_REQUEST,
    DROPPED,
    RFC5769_REQUEST,
    UNASSIGNED_REQUIRED,
    attr,
    with_length,
)

NO_ANSWER_S = 0.1
"""How long to wait for an answer that must not come (loopback answers take microseconds)."""


@dataclass
class Running:
    metrics: Metrics
    bound: list[tuple[str, int]]

    @property
    def port(self) -> int:
        return self.bound[0][1]


async def start(nursery: trio.Nursery, hosts: list[str] | None = None, **limits: Any) -> Running:
    metrics = Metrics()
    bound = await nursery.start(
        serve_stun,
        hosts or ["127.0.0.1"],
        0,
        metrics,
        Limits(**limits),
    )
    return Running(metrics, bound)


async def client(host: str = "127.0.0.1") -> trio.socket.SocketType:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = trio.socket.socket(family, socket.SOCK_DGRAM)
    await sock.bind((host, 0))
    return sock


def binding_request() -> aioice_stun.Message:
    return aioice_stun.Message(aioice_stun.Method.BINDING, aioice_stun.Class.REQUEST)


async def exchange(sock: trio.socket.SocketType, data: bytes, server: tuple[str, int]) -> bytes:
    await sock.sendto(data, server)
    with trio.fail_after(5):
        reply, _ = await sock.recvfrom(2048)
    return reply


async def expect_no_answer(
    sock: trio.socket.SocketType, data: bytes, server: tuple[str, int]
) -> None:
    await sock.sendto(data, server)
    with trio.move_on_after(NO_ANSWER_S):
        reply, _ = await sock.recvfrom(2048)
        pytest.fail(f"unexpected answer {reply.hex()}")


async def expect_mapped_address(sock: trio.socket.SocketType, server: tuple[str, int]) -> None:
    """A Binding request from `sock` is answered with `sock`'s own address and port."""
    request = binding_request()
    response = aioice_stun.parse_message(await exchange(sock, bytes(request), server))
    assert response.message_method == aioice_stun.Method.BINDING
    assert response.message_class == aioice_stun.Class.RESPONSE
    assert response.transaction_id == request.transaction_id
    assert response.attributes["XOR-MAPPED-ADDRESS"] == sock.getsockname()[:2]
    assert response.attributes["SOFTWARE"] == "p2pshare"  # fits in 3x the 20-byte request


async def test_binding_ipv4(nursery: trio.Nursery) -> None:
    server = await start(nursery)
    assert server.bound == [("127.0.0.1", server.port)]
    sock = await client()
    await expect_mapped_address(sock, ("127.0.0.1", server.port))
    metrics = server.metrics
    assert metrics.stun_requests.get() == 1
    assert metrics.stun_responses.get("success") == 1
    assert metrics.stun_dropped.total() == 0
    assert 'p2pshare_stun_responses_total{kind="success"} 1' in metrics.render()


@needs_ipv6
async def test_binding_ipv6_shares_the_ipv4_port(nursery: trio.Nursery) -> None:
    server = await start(nursery, ["::1", "127.0.0.1"])
    assert server.bound == [("127.0.0.1", server.port), ("::1", server.port)]  # IPv4 first
    sock6 = await client("::1")
    response = aioice_stun.parse_message(
        await exchange(sock6, bytes(binding_request()), ("::1", server.port))
    )
    assert response.attributes["XOR-MAPPED-ADDRESS"] == sock6.getsockname()[:2]
    await expect_mapped_address(await client(), ("127.0.0.1", server.port))
    assert server.metrics.stun_responses.get("success") == 2


@needs_ipv6
async def test_wildcards_bind_one_port_for_both_families(nursery: trio.Nursery) -> None:
    server = await start(nursery, ["0.0.0.0", "::"])
    assert server.bound == [("0.0.0.0", server.port), ("::", server.port)]
    await expect_mapped_address(await client(), ("127.0.0.1", server.port))
    sock6 = await client("::1")
    response = aioice_stun.parse_message(
        await exchange(sock6, bytes(binding_request()), ("::1", server.port))
    )
    assert response.attributes["XOR-MAPPED-ADDRESS"] == sock6.getsockname()[:2]


async def test_rfc5769_sample_request_is_answered(nursery: trio.Nursery) -> None:
    server = await start(nursery)
    sock = await client()
    response = parse_message(await exchange(sock, RFC5769_REQUEST, ("127.0.0.1", server.port)))
    assert response.get(Attr.XOR_MAPPED_ADDRESS) == sock.getsockname()


@pytest.mark.parametrize(
    ("datagram", "reason"), [(d, r) for _, d, r in DROPPED], ids=[c for c, _, _ in DROPPED]
)
async def test_malformed_gets_no_answer(
    nursery: trio.Nursery, datagram: bytes, reason: Reason
) -> None:
    server = await start(nursery)
    sock = await client()
    await expect_no_answer(sock, datagram, ("127.0.0.1", server.port))
    await expect_mapped_address(sock, ("127.0.0.1", server.port))
    assert server.metrics.stun_dropped.get(reason) == 1
    assert server.metrics.stun_dropped.total() == 1
    assert server.metrics.stun_requests.get() == 1
    assert f'p2pshare_stun_dropped_total{{reason="{reason}"}} 1' in server.metrics.render()


async def test_unknown_attribute_gets_420(nursery: trio.Nursery) -> None:
    server = await start(nursery)
    sock = await client()
    request = binding_request()
    extra = attr(UNASSIGNED_REQUIRED, b"\x01\x02\x03\x04")
    data = with_length(bytes(request) + extra, len(extra))
    reply = await exchange(sock, data, ("127.0.0.1", server.port))
    response = aioice_stun.parse_message(reply)
    assert response.message_class == aioice_stun.Class.ERROR
    assert response.transaction_id == request.transaction_id
    assert response.attributes["ERROR-CODE"] == (420, "Unknown Attribute")
    # aioice skips UNKNOWN-ATTRIBUTES (not in its table): read it with ours.
    assert parse_message(reply).get(Attr.UNKNOWN_ATTRIBUTES) == (UNASSIGNED_REQUIRED,)
    assert len(reply) <= 3 * len(data)
    assert server.metrics.stun_responses.get("error") == 1
    assert server.metrics.stun_requests.get() == 1


async def test_rate_limit_per_source_address(nursery: trio.Nursery) -> None:
    server = await start(nursery, stun_rate_per_s=0.001, stun_burst=5)
    address = ("127.0.0.1", server.port)
    sock = await client()
    for _ in range(20):
        await sock.sendto(bytes(binding_request()), address)
    # Another address is another source; its answer also shows the burst was processed
    # (one socket, one task: datagrams are handled in order).
    await expect_mapped_address(await client("127.0.0.2"), address)
    answers = 0
    with trio.move_on_after(NO_ANSWER_S):
        while True:
            await sock.recvfrom(2048)
            answers += 1
    assert answers == 5
    assert server.metrics.stun_dropped.get("rate_limited") == 15
    assert server.metrics.stun_responses.get("success") == 6
    # The same address from another port is the same source.
    await expect_no_answer(await client(), bytes(binding_request()), address)
    await expect_mapped_address(await client("127.0.0.2"), address)
    assert server.metrics.stun_dropped.get("rate_limited") == 16


async def test_a_burst_is_answered_and_counted_exactly_once(nursery: trio.Nursery) -> None:
    """Many datagrams queued at once are drained in batches (successes counted per batch):
    every one is answered with its own sender's port, and every count is exact."""
    server = await start(nursery, stun_burst=1000)
    address = ("127.0.0.1", server.port)
    senders = [await client() for _ in range(3)]
    requests = {}
    for round_ in range(50):  # 150 requests, queued faster than the server drains them
        for sock in senders:
            request = binding_request()
            requests[request.transaction_id] = sock.getsockname()[:2]
            await sock.sendto(bytes(request), address)
        if round_ == 10:
            await senders[0].sendto(b"\x00" * 19, address)  # malformed: dropped
            extra = attr(UNASSIGNED_REQUIRED, b"\x01\x02\x03\x04")
            await senders[1].sendto(with_length(bytes(binding_request()) + extra, 8), address)
    answered = 0
    errors = 0
    for sock, expected in zip(senders, (50, 51, 50), strict=True):
        with trio.fail_after(5):
            for _ in range(expected):
                response = aioice_stun.parse_message((await sock.recvfrom(2048))[0])
                if response.message_class == aioice_stun.Class.ERROR:
                    errors += 1
                    continue
                mapped = response.attributes["XOR-MAPPED-ADDRESS"]
                assert mapped == requests.pop(response.transaction_id) == sock.getsockname()[:2]
                answered += 1
    assert (answered, errors, requests) == (150, 1, {})
    assert server.metrics.stun_requests.get() == 151
    assert server.metrics.stun_responses.get("success") == 150
    assert server.metrics.stun_responses.get("error") == 1
    assert server.metrics.stun_dropped.total() == 1


async def test_send_failure_is_counted_and_not_raised() -> None:
    metrics = Metrics()
    endpoint = StunEndpoint(metrics, Limits())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.bind(("127.0.0.1", 0))
        # Sending to the broadcast address without SO_BROADCAST fails (EACCES) for real.
        endpoint.handle(sock, BARE_REQUEST, ("255.255.255.255", 3478), trio.current_time())
    assert metrics.stun_dropped.get("send_failed") == 1
    assert metrics.stun_requests.get() == 1
    assert metrics.stun_responses.total() == 0


async def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        with pytest.raises(StunBindError, match=re.escape(f"127.0.0.1 UDP port {port}")):
            await serve_stun(["127.0.0.1"], port, Metrics(), Limits())


async def test_address_not_here_is_a_clear_error() -> None:
    with pytest.raises(StunBindError, match=re.escape("192.0.2.1")):  # TEST-NET-1, on no interface
        await serve_stun(["192.0.2.1"], 0, Metrics(), Limits())


async def test_cancel_closes_the_sockets() -> None:
    async with trio.open_nursery() as nursery:
        server = await start(nursery)
        nursery.cancel_scope.cancel()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(("127.0.0.1", server.port))


@pytest.mark.multiprocess
def test_main_runs_alone_and_reports_bind_errors() -> None:
    command = [sys.executable, "-m", "p2pshare.stun.server", "--host", "127.0.0.1", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            _, host, port = proc.stdout.readline().split()
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(5)
                sock.bind(("127.0.0.1", 0))
                request = binding_request()
                sock.sendto(bytes(request), (host, int(port)))
                response = aioice_stun.parse_message(sock.recv(2048))
                assert response.attributes["XOR-MAPPED-ADDRESS"] == sock.getsockname()
        finally:
            proc.send_signal(signal.SIGINT)
        assert proc.wait(5) == 0
    failed = subprocess.run(
        [*command[:3], "--host", "192.0.2.1"], capture_output=True, text=True, timeout=30
    )
    assert failed.returncode == 2
    assert failed.stderr.startswith("error: cannot bind STUN to 192.0.2.1")
