"""A minimal signaling client for tests: trio-websocket plus the typed messages."""

from __future__ import annotations

import json
import secrets
from types import TracebackType

import trio
import trio_websocket

from p2pshare.signaling.admission import access_key, join_proof
from p2pshare.signaling.messages import (
    Join,
    Relay,
    ServerMessage,
    Welcome,
    decode_server_message,
    encode_client_message,
)
from p2pshare.signaling.nearby_messages import (
    NearbyClientMessage,
    NearbyServerMessage,
    NearJoin,
    NearWelcome,
    decode_nearby_server_message,
)


def new_room_id() -> str:
    return secrets.token_urlsafe(16)


def new_cid() -> str:
    return secrets.token_urlsafe(16)


# The link secret every test client holds unless it is given another (or none).
TEST_SECRET = bytes(range(32))


class Client:
    def __init__(
        self,
        port: int,
        room: str,
        *,
        cid: str | None = None,
        token: str | None = None,
        access: str | None = None,
        proof: str | None = None,
        secret: bytes | None = TEST_SECRET,
    ) -> None:
        """Everyone holds the link's `secret` (one for every test unless given): a sender
        (`token`) registers the room's access key, a receiver proves it. `access` or `proof`
        override what the secret gives; `secret=None` and neither: a room-id holder."""
        self.url = f"ws://127.0.0.1:{port}/ws/{room}"
        self.room = room
        self.cid = cid or new_cid()
        self.token = token
        if access is None and secret is not None:
            access = access_key(secret, room)
        self.access = access if token else None
        self.proof = proof or (join_proof(access, room, self.cid) if access and not token else None)
        self.ws: trio_websocket.WebSocketConnection | None = None
        self.welcome: Welcome | None = None
        self._cm: object = None

    async def __aenter__(self) -> Client:
        self._cm = trio_websocket.open_websocket_url(self.url)
        self.ws = await self._cm.__aenter__()  # type: ignore[attr-defined]
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._cm.__aexit__(t, e, tb)  # type: ignore[attr-defined]

    async def send_raw(self, text: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send_message(text)

    async def recv(self, timeout: float = 5.0) -> ServerMessage:
        assert self.ws is not None
        with trio.fail_after(timeout):
            return decode_server_message(await self.ws.get_message())

    async def recv_until(self, kind: type, timeout: float = 5.0) -> ServerMessage:
        """Skip pings and anything else until a message of `kind` arrives."""
        with trio.fail_after(timeout):
            while True:
                message = await self.recv(timeout)
                if isinstance(message, kind):
                    return message

    def join_text(self) -> str:
        """This client's `join` frame (with its access key or proof)."""
        join = Join(cid=self.cid, token=self.token, access=self.access, proof=self.proof)
        return encode_client_message(join)

    async def join(self) -> Welcome:
        await self.send_raw(self.join_text())
        welcome = await self.recv_until(Welcome)
        assert isinstance(welcome, Welcome)
        self.welcome = welcome
        return welcome

    async def relay(self, to: str, data: str, sid: int = 1) -> None:
        await self.send_raw(encode_client_message(Relay(to=to, sid=sid, data=data)))

    async def closed_with(self, timeout: float = 5.0) -> tuple[int | None, str | None]:
        """Read until the server closes; return (code, reason)."""
        assert self.ws is not None
        with trio.fail_after(timeout):
            try:
                while True:
                    await self.ws.get_message()
            except trio_websocket.ConnectionClosed as closed:
                return closed.reason.code, closed.reason.reason


# --- nearby groups -------------------------------------------------------------


async def open_stream_from(source: str, port: int, host: str = "127.0.0.1") -> trio.SocketStream:
    """A TCP stream to host:port from the loopback address `source` (any of 127/8 on Linux),
    so that one test machine can be clients on several networks."""
    sock = trio.socket.socket(trio.socket.AF_INET, trio.socket.SOCK_STREAM)
    try:
        await sock.bind((source, 0))
        await sock.connect((host, port))
    except BaseException:
        sock.close()
        raise
    return trio.SocketStream(sock)


async def http_get_from(
    source: str, port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """(status, body) of one plain HTTP/1.1 GET sent from `source`."""
    stream = await open_stream_from(source, port)
    async with stream:
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        with trio.fail_after(5):
            while chunk := await stream.receive_some(65536):
                data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def nearby_group_from(
    source: str, port: int, headers: dict[str, str] | None = None
) -> str | None:
    """The nearby group /config.json names for a client at `source` (None: no group)."""
    status, body = await http_get_from(source, port, "/config.json", headers)
    assert status == 200, status
    nearby = json.loads(body)["nearby"]
    return None if nearby is None else str(nearby["group"])


class NearbyClient:
    """One device of a nearby group over a real WebSocket from `source`; the caller's
    nursery owns the connection (`trio_websocket.wrap_client_stream`)."""

    def __init__(
        self,
        nursery: trio.Nursery,
        port: int,
        source: str = "127.0.0.1",
        *,
        cid: str | None = None,
        name: str = "Amber Otter",
        device: str = "Chrome on Linux",
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        self.nursery = nursery
        self.port = port
        self.source = source
        self.cid = cid or new_cid()
        self.name = name
        self.device = device
        self.headers = headers or []
        self.ws: trio_websocket.WebSocketConnection | None = None
        self.welcome: NearWelcome | None = None

    async def connect(self, group: str) -> NearbyClient:
        stream = await open_stream_from(self.source, self.port)
        self.ws = await trio_websocket.wrap_client_stream(
            self.nursery,
            stream,
            "127.0.0.1",
            f"/ws/nearby.{group}",
            extra_headers=[(k.encode(), v.encode()) for k, v in self.headers],
        )
        return self

    async def join(self, group: str) -> NearWelcome:
        await self.connect(group)
        await self.send(NearJoin(cid=self.cid, name=self.name, device=self.device))
        welcome = await self.recv_until(NearWelcome)
        assert isinstance(welcome, NearWelcome)
        self.welcome = welcome
        return welcome

    @property
    def id(self) -> str:
        assert self.welcome is not None
        return self.welcome.you

    async def send(self, message: NearbyClientMessage) -> None:
        await self.send_raw(encode_client_message(message))

    async def send_raw(self, text: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.send_message(text)

    async def recv(self, timeout: float = 5.0) -> NearbyServerMessage:
        assert self.ws is not None
        with trio.fail_after(timeout):
            return decode_nearby_server_message(await self.ws.get_message())

    async def recv_until(self, kind: type, timeout: float = 5.0) -> NearbyServerMessage:
        with trio.fail_after(timeout):
            while True:
                message = await self.recv(timeout)
                if isinstance(message, kind):
                    return message

    async def closed_with(self, timeout: float = 5.0) -> tuple[int | None, str | None]:
        assert self.ws is not None
        with trio.fail_after(timeout):
            try:
                while True:
                    await self.ws.get_message()
            except trio_websocket.ConnectionClosed as closed:
                return closed.reason.code, closed.reason.reason

    async def aclose(self) -> None:
        if self.ws is not None:
            await self.ws.aclose()
