"""A minimal signaling client for tests: trio-websocket plus the typed messages."""

from __future__ import annotations

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
