"""The one binder (netbind.py) that HTTP and STUN share, on real loopback sockets."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import pytest

from p2pshare.netbind import BindError, bind_sockets, resolve
from p2pshare.server import bind_tcp_sockets
from tests.conftest import needs_ipv6

KINDS = [socket.SOCK_STREAM, socket.SOCK_DGRAM]


@needs_ipv6
@pytest.mark.parametrize("kind", KINDS)
def test_both_families_share_one_free_port_and_ipv6_is_ipv6_only(kind: socket.SocketKind) -> None:
    sockets = bind_sockets(("::1", "127.0.0.1"), 0, kind, what="test")
    try:
        assert [s.family for s in sockets] == [socket.AF_INET, socket.AF_INET6]  # IPv4 first
        ports = {s.getsockname()[1] for s in sockets}
        assert len(ports) == 1 and ports != {0}
        assert sockets[1].getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        assert all(s.type == kind for s in sockets)
    finally:
        for s in sockets:
            s.close()


def test_repeated_and_named_hosts_resolve_to_each_address_once() -> None:
    targets = resolve(("127.0.0.1", "127.0.0.1", "localhost"), 0, socket.SOCK_DGRAM, what="t")
    assert targets[0].family == socket.AF_INET and targets[0].sockaddr[0] == "127.0.0.1"
    assert len([t for t in targets if t.sockaddr[0] == "127.0.0.1"]) == 1


@pytest.mark.parametrize(
    ("kind", "protocol"), [(socket.SOCK_STREAM, "TCP"), (socket.SOCK_DGRAM, "UDP")]
)
def test_a_taken_port_is_a_bind_error_naming_the_address(
    kind: socket.SocketKind, protocol: str
) -> None:
    with socket.socket(socket.AF_INET, kind) as taken:
        taken.bind(("127.0.0.1", 0))
        if kind == socket.SOCK_STREAM:
            taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BindError, match=re.escape(f"to 127.0.0.1 {protocol} port {port}")):
            bind_sockets(("127.0.0.1",), port, kind, what="test")


def test_an_unresolvable_host_is_a_bind_error() -> None:
    with pytest.raises(
        BindError, match=re.escape("cannot resolve HTTP host 'no-such-host.invalid'")
    ):
        bind_sockets(("no-such-host.invalid",), 0, socket.SOCK_STREAM, what="HTTP")


def test_the_http_listener_binds_through_it_and_listens() -> None:
    sockets = bind_tcp_sockets(("127.0.0.1",), 0, user_timeout_s=15.0)
    try:
        (listener,) = sockets
        with socket.create_connection(listener.getsockname()[:2], timeout=5):
            pass  # it accepts connections: it listens
        user_timeout_ms = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT)
        assert user_timeout_ms == 15_000
        with pytest.raises(BindError, match=re.escape("cannot bind HTTP to 127.0.0.1 TCP")):
            bind_tcp_sockets(("127.0.0.1",), listener.getsockname()[1])
    finally:
        for s in sockets:
            s.close()


def test_the_cli_reports_a_taken_http_port_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--stun-port", "0"]
        failed = subprocess.run(
            [sys.executable, "-m", "p2pshare", *serve],  # (STUN port 0: no STUN)
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.startswith(f"p2pshare: cannot bind HTTP to 127.0.0.1 TCP port {port}")
