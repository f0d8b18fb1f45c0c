"""The HTTP side against a real server: pages, assets, headers, config.json, health, metrics."""

from __future__ import annotations

import gzip
import json

import pytest
import trio

from p2pshare.config import Config
from p2pshare.http.app import ice_servers_for
from p2pshare.ice import turn_servers_for
from tests.conftest import StartServer


async def http_get(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    host: str = "127.0.0.1",
    method: str = "GET",
) -> tuple[int, dict[str, str], bytes]:
    """A tiny HTTP/1.1 client (one request, Connection: close) so tests see raw bytes."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        with trio.fail_after(5):
            while chunk := await stream.receive_some(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), parsed, body


async def test_pages_are_the_app_with_strict_headers(start_server: StartServer) -> None:
    server = await start_server()
    for path in ["/", "/r/abcdefghijklmnopqrstuv", "/r/"]:
        status, headers, body = await http_get(server.http_port, path)
        assert status == 200 and b"<!doctype html>" in body.lower()
        assert headers["content-type"] == "text/html; charset=utf-8"
        csp = headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "unsafe-inline" not in csp
        assert "connect-src 'self'" in csp and "default-src 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "camera=()" in headers["permissions-policy"]
        assert headers["etag"]


async def test_assets_have_mime_types_etags_and_gzip(start_server: StartServer) -> None:
    server = await start_server()
    status, headers, body = await http_get(
        server.http_port, "/vendor/noble-hashes/sha2.js", {"Accept-Encoding": "gzip, br"}
    )
    assert status == 200
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["content-encoding"] == "gzip"
    plain = gzip.decompress(body)
    assert b"sha256" in plain
    etag = headers["etag"]
    status, headers, body = await http_get(
        server.http_port, "/vendor/noble-hashes/sha2.js", {"If-None-Match": etag}
    )
    assert status == 304 and body == b""
    status, headers, body = await http_get(server.http_port, "/vendor/noble-hashes/sha2.js")
    assert status == 200 and "content-encoding" not in headers and body == plain
    status, _, body = await http_get(
        server.http_port, "/vendor/noble-hashes/sha2.js", method="HEAD"
    )
    assert status == 200 and body == b""


@pytest.mark.parametrize(
    "path", ["/nope", "/../pyproject.toml", "/test/vendor.test.mjs", "/%2e%2e/README.md", "/r/a/b"]
)
async def test_unknown_paths_are_404(start_server: StartServer, path: str) -> None:
    server = await start_server()
    status, headers, _ = await http_get(server.http_port, path)
    assert status == 404
    assert "content-security-policy" in headers


async def test_other_methods_are_refused(start_server: StartServer) -> None:
    server = await start_server()
    status, headers, _ = await http_get(server.http_port, "/", method="POST")
    assert status == 405 and headers["allow"] == "GET, HEAD"


async def test_a_share_target_post_is_sent_back_without_its_body_being_read(
    start_server: StartServer,
) -> None:
    """Only the service worker may take a share; one that reaches the server (no worker yet)
    is answered at once, before its (here never sent) 100 MB body, and the connection ends."""
    server = await start_server()
    stream = await trio.open_tcp_stream("127.0.0.1", server.http_port)
    async with stream:
        head = (
            "POST /share-target HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000000\r\n\r\n"
        )
        await stream.send_all(head.encode() + b"--b\r\n" + b"x" * 65536)
        data = b""
        with trio.fail_after(5):  # EOF: the server closed without waiting for the rest
            while chunk := await stream.receive_some(65536):
                data += chunk
    status_line, *lines = data.partition(b"\r\n\r\n")[0].decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    assert status_line.split()[1] == "303"
    assert headers["location"] == "/?share-target=unavailable"
    assert headers["connection"] == "close" and headers["content-length"] == "0"
    assert "content-security-policy" in headers
    status, _, _ = await http_get(server.http_port, "/share-target")
    assert status == 404  # a GET is no share


async def test_config_json_points_at_the_builtin_stun_for_the_host_used(
    start_server: StartServer,
) -> None:
    server = await start_server(stun=True)
    port = server.stun_port
    for host, expected in [
        ("127.0.0.1:8080", f"stun:127.0.0.1:{port}"),
        ("[::1]:8080", f"stun:[::1]:{port}"),
        ("share.example.org", f"stun:share.example.org:{port}"),
        ("[2001:db8::7]:80", f"stun:[2001:db8::7]:{port}"),
        ('evil"host:1', None),
    ]:
        status, headers, body = await http_get(server.http_port, "/config.json", host=host)
        assert status == 200 and headers["cache-control"] == "no-store"
        config = json.loads(body)
        urls = [u for s in config["iceServers"] for u in s["urls"]]
        assert urls == ([expected] if expected else [])
        assert config["maxReceivers"] == 16


def test_extra_ice_servers_and_turn_credentials_only_for_members() -> None:
    config = Config(
        stun_port=3478,
        ice_servers=("stun:stun.lan:3478", "turn:turn.lan:3478"),
        turn_secret="s3cret",
        turn_ttl_s=600,
    )
    servers = ice_servers_for(config, "host.lan", now_s=1000.0)
    # /config.json, which anyone can fetch: STUN only; TURN with a secret is for members.
    assert servers == [{"urls": ["stun:host.lan:3478"]}, {"urls": ["stun:stun.lan:3478"]}]
    (turn,) = turn_servers_for(config, now_s=1000.0)
    assert turn.urls == ("turn:turn.lan:3478",) and turn.username == "1600:p2pshare"
    # coturn's check: base64(HMAC-SHA1(secret, username))
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"s3cret", b"1600:p2pshare", hashlib.sha1).digest())
    assert turn.credential == expected.decode()
    # A TURN URL without a secret (opened by the operator otherwise) is simply listed.
    open_turn = Config(stun_port=0, ice_servers=("turn:turn.lan:3478",))
    assert ice_servers_for(open_turn, "h", 0) == [{"urls": ["turn:turn.lan:3478"]}]
    assert turn_servers_for(open_turn, 0) == ()
    # No STUN of our own when it is off, and never a public server by default.
    assert ice_servers_for(Config(stun_port=0), "h", 0) == []


async def test_config_json_has_no_turn_credentials_and_welcome_has_them(
    start_server: StartServer,
) -> None:
    """The review's finding: /config.json handed TURN credentials to anyone, for 12 h."""
    from p2pshare.signaling.admission import access_key
    from p2pshare.signaling.room import creator_room_id
    from tests.signaling.wsclient import Client, new_room_id

    turn_config = {"ice_servers": ("turn:turn.lan:3478",), "turn_secret": "s3cret"}
    server = await start_server(config=turn_config)
    _, _, body = await http_get(server.http_port, "/config.json")
    assert "credential" not in body.decode() and "turn:" not in body.decode()
    # Joining some room id, with no sender there to have registered its key: probation, no TURN
    # (else anyone could get credentials by joining a room id of their own making).
    async with Client(server.http_port, new_room_id()) as stranger:
        assert (await stranger.join()).turn == ()
    token = "creator-token-0123456789"
    room = creator_room_id(token)
    access = access_key(b"\x07" * 32, room)
    async with Client(server.http_port, room, token=token, access=access) as sender:
        (turn,) = (await sender.join()).turn
        assert turn.urls == ("turn:turn.lan:3478",) and turn.credential
        async with Client(server.http_port, room, access=access) as member:
            assert len((await member.join()).turn) == 1  # its proof was checked


async def test_healthz_and_metrics(start_server: StartServer) -> None:
    server = await start_server()
    status, _, body = await http_get(server.http_port, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, headers, body = await http_get(server.http_port, "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    for name in [
        "p2pshare_rooms",
        "p2pshare_peers",
        "p2pshare_relayed_messages_total",
        "p2pshare_rejected_messages_total",
        "p2pshare_stun_requests_total",
        "p2pshare_stun_dropped_total",
    ]:
        assert f"# TYPE {name} " in text


async def test_websocket_compression_is_refused(start_server: StartServer) -> None:
    server = await start_server()
    stream = await trio.open_tcp_stream("127.0.0.1", server.http_port)
    async with stream:
        await stream.send_all(
            b"GET /ws/abcdefghijklmnopqrstuv HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            b"Sec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        )
        with trio.fail_after(5):
            response = await stream.receive_some(4096)
    assert response.startswith(b"HTTP/1.1 101")
    assert b"sec-websocket-extensions" not in response.lower()


async def test_a_get_of_the_link_does_not_touch_the_room(start_server: StartServer) -> None:
    """Link previews fetch the page: no room is created or joined by that."""
    server = await start_server()
    await http_get(server.http_port, "/r/abcdefghijklmnopqrstuv")
    _, _, body = await http_get(server.http_port, "/healthz")
    assert json.loads(body)["rooms"] == 0


async def websocket_status(port: int, host: str, extra: str = "") -> bytes:
    """The status line of a WebSocket upgrade to /ws/<room> with these Host and extra headers."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(
            (
                f"GET /ws/abcdefghijklmnopqrstuv HTTP/1.1\r\nHost: {host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                f"Sec-WebSocket-Version: 13\r\n{extra}\r\n"
            ).encode()
        )
        with trio.fail_after(5):
            response = await stream.receive_some(4096)
    return response.split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        (None, True),  # not a browser
        ("http://127.0.0.1:{port}", True),  # the page's own origin
        ("HTTP://127.0.0.1:{port}/", True),  # the same, spelled otherwise
        ("http://127.0.0.1:9999", False),  # another port of the same host: another site
        ("https://127.0.0.1:{port}", False),  # https against http
        ("http://localhost:{port}", False),  # another name
        ("http://evil.example", False),
        ("null", False),
    ],
)
async def test_websocket_from_another_origin_is_refused(
    start_server: StartServer, origin: str | None, accepted: bool
) -> None:
    server = await start_server()
    port = server.http_port
    extra = f"Origin: {origin.format(port=port)}\r\n" if origin else ""
    status = await websocket_status(port, f"127.0.0.1:{port}", extra)
    assert status.startswith(b"HTTP/1.1 101" if accepted else b"HTTP/1.1 403"), status


async def test_dns_rebinding_is_refused_with_public_urls(start_server: StartServer) -> None:
    """An attacker's name pointed at this server sends its own Host and a matching Origin:
    same-origin by itself, refused because it is not one of the configured public URLs."""
    server = await start_server(config={"public_urls": ("https://share.example.org",)})
    port = server.http_port
    evil = "Origin: http://rebind.evil.example\r\n"
    assert (await websocket_status(port, "rebind.evil.example", evil)).startswith(b"HTTP/1.1 403")
    status, _, _ = await http_get(port, "/config.json", host="rebind.evil.example")
    assert status == 421
    # Health and metrics answer under any Host (the operator's checks and scrapers).
    assert (await http_get(port, "/healthz", host="127.0.0.1"))[0] == 200
    # The public name itself, as the proxy passes it on (--trust-proxy: its scheme).
    trusted = await start_server(
        config={"public_urls": ("https://share.example.org",), "trust_proxy": True}
    )
    proto = "X-Forwarded-Proto: https\r\n"
    good = proto + "Origin: https://share.example.org\r\n"
    assert (await websocket_status(trusted.http_port, "share.example.org", good)).startswith(
        b"HTTP/1.1 101"
    )
    page = await http_get(
        trusted.http_port, "/", host="share.example.org", headers={"X-Forwarded-Proto": "https"}
    )
    assert page[0] == 200
