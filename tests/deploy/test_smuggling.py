"""h2c smuggling: an `Upgrade: h2c` request must not open an HTTP/2 tunnel, neither through
the shipped proxy configurations (which would then let a client reach /metrics and choose its
own X-Forwarded-For inside it) nor on p2pshare directly (nor HTTP/2 with prior knowledge)."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import pytest

from tests.deploy.cluster import LOAD_BALANCED_ARGS, Cluster, start_cluster

pytestmark = pytest.mark.multiprocess

ROOM = "A" * 22
# The settings payload of an h2c upgrade: base64url of an empty SETTINGS frame body.
UPGRADE = (
    "GET /ws/{room} HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Connection: Upgrade, HTTP2-Settings\r\n"
    "Upgrade: h2c\r\n"
    "HTTP2-Settings: \r\n"
    "X-Forwarded-For: 203.0.113.9\r\n"
    "\r\n"
)


def _connect(port: int, context: ssl.SSLContext | None) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return context.wrap_socket(sock, server_hostname="localhost") if context else sock


def _read_head(sock: socket.socket) -> tuple[int, bytes]:
    """The status of the first response, and any bytes after its head."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, rest


def _h2_get(sock: socket.socket, path: str, *, upgraded: bool, already: bytes = b"") -> int:
    """GET `path` over HTTP/2 on `sock`; after an upgrade, stream 1 answers the upgrade request."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    if upgraded:
        conn.initiate_upgrade_connection()
    else:
        conn.initiate_connection()
    stream = conn.get_next_available_stream_id()
    headers = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "x")]
    conn.send_headers(stream, [*headers, ("x-forwarded-for", "203.0.113.9")], end_stream=True)
    sock.sendall(conn.data_to_send())
    pending = already
    for _ in range(50):
        events = conn.receive_data(pending) if pending else []
        for event in events:
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == stream:
                return int(dict(event.headers)[b":status"])
        sock.sendall(conn.data_to_send())
        pending = sock.recv(65536)
        if not pending:
            return 0
    return 0


def smuggle(port: int, context: ssl.SSLContext | None) -> tuple[int, int]:
    """(status of the upgrade request, status of /metrics inside the tunnel or 0 if none)."""
    with _connect(port, context) as sock:
        sock.sendall(UPGRADE.format(room=ROOM).encode())
        try:
            status, rest = _read_head(sock)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            return 0, 0
        if status != 101:
            return status, 0
        try:
            return status, _h2_get(sock, "/metrics", upgraded=True, already=rest)
        except (ConnectionError, TimeoutError, ssl.SSLError, h2.exceptions.ProtocolError):
            return status, 0


@pytest.fixture(params=["nginx", "haproxy"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    with start_cluster(tmp_path, count=1, proxy=request.param, args=LOAD_BALANCED_ARGS) as c:
        yield c


def test_no_h2c_tunnel_through_the_shipped_proxies(cluster: Cluster) -> None:
    assert cluster.proxy is not None
    assert cluster.get("/metrics")[0] == 404  # what the tunnel would get round
    assert cluster.get("/%6detrics")[0] == 404  # percent-encoded: the instance would decode it
    upgrade_status, metrics_status = smuggle(cluster.proxy.port, cluster.ssl_context())
    # No tunnel: so nothing behind the proxy's rules is reachable, and the client cannot
    # choose the X-Forwarded-For that p2pshare counts (only the proxy's own hop is there).
    assert upgrade_status != 101
    assert metrics_status != 200


def test_proxy_access_logs_hold_no_room_id(cluster: Cluster) -> None:
    """Whoever reads a proxy's access log must not learn room ids (they would let them hold
    a room's slots): the shipped log formats write /r/- and /ws/-."""
    assert cluster.proxy is not None
    assert cluster.get(f"/r/{ROOM}")[0] == 200
    smuggle(cluster.proxy.port, cluster.ssl_context())  # a request to /ws/<room>
    log = cluster.proxy.config.parent / "access.log" if cluster.proxy.kind == "nginx" else None
    text = (log or cluster.proxy.log).read_text(errors="replace")
    deadline = time.monotonic() + 5
    while "/r/-" not in text and time.monotonic() < deadline:  # HAProxy logs when it is done
        time.sleep(0.1)
        text = (log or cluster.proxy.log).read_text(errors="replace")
    assert "/r/-" in text
    assert ROOM not in text


def test_no_http2_on_p2pshare_itself(tmp_path: Path) -> None:
    with start_cluster(tmp_path, count=1, proxy=None, tls=False, args=()) as solo:
        instance = solo.instances[0]
        upgrade_status, metrics_status = smuggle(instance.http_port, None)
        assert upgrade_status != 101 and metrics_status == 0
        # HTTP/2 with prior knowledge (the connection preface, no upgrade) is refused too.
        with _connect(instance.http_port, None) as sock:
            try:
                status = _h2_get(sock, "/metrics", upgraded=False)
            except (ConnectionError, h2.exceptions.ProtocolError):
                status = 0
            assert status == 0
