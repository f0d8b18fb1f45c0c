"""The command-line peer's signaling connection: one WebSocket to /ws/<room>, kept alive.

The shell around the server's own typed frames (signaling/messages.py): it sends `join`
(with the admission key or proof), answers pings, pings a silent server and treats a long
silence as a dead connection, and reconnects with backoff after a drop, except after the close
codes that mean "do not come back" (replaced, bad room, role refused, protocol error,
admission refused), which end it with `SignalingClosed`.

asyncio, because aiortc is: the command-line peer runs in one asyncio loop, its tasks in
`asyncio.TaskGroup`s (structured: every task has an owner, an error cancels its siblings).
The WebSocket is the `websockets` package's asyncio client.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import msgspec
import websockets
import websockets.asyncio.client
import websockets.exceptions

from p2pshare.signaling.messages import (
    PROTOCOL_VERSION,
    CloseCode,
    ErrorMessage,
    Join,
    Ping,
    Pong,
    Relay,
    ServerMessage,
    Welcome,
    decode_server_message,
    encode_client_message,
)
from p2pshare.signaling.room import peer_id_for

__all__ = ["FATAL_CLOSES", "JoinAs", "SignalingClosed", "SignalingConnection"]

log = logging.getLogger(__name__)

# The close codes after which reconnecting cannot help (web/js/signaling.js has the same set).
FATAL_CLOSES = frozenset(
    {
        CloseCode.REPLACED,
        CloseCode.BAD_ROOM,
        CloseCode.ROLE_REFUSED,
        CloseCode.PROTOCOL_ERROR,
        CloseCode.ADMISSION_REFUSED,
    }
)
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 15.0
MAX_FRAME_BYTES = 256 * 1024  # what we accept from the server (its frames are small)


class SignalingClosed(Exception):
    """The server ended the connection for good; `code` says why (FATAL_CLOSES)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{reason or 'closed'} (close code {code})")
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class JoinAs:
    """Who this peer is in the room: its client id, and its proof of the link's secret."""

    cid: str
    token: str | None = None  # the creator token: the sender only
    access: str | None = None  # the sender registers the room's access key
    proof: str | None = None  # a receiver proves it holds the secret

    def frame(self) -> str:
        return encode_client_message(
            Join(
                v=PROTOCOL_VERSION,
                cid=self.cid,
                token=self.token,
                access=self.access,
                proof=self.proof,
            )
        )


class SignalingConnection:
    """Messages from the server arrive on `messages` (a `Welcome` after every (re)join)."""

    def __init__(
        self, url: str, room: str, join: JoinAs, *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.url = url
        self.room = room
        self.join = join
        self.expected_peer = peer_id_for(room, join.cid)
        self.ssl_context = ssl_context
        # Bounded: a server that floods us is read only as fast as we handle its messages.
        self.messages: asyncio.Queue[ServerMessage] = asyncio.Queue(maxsize=256)
        self.welcome: Welcome | None = None
        self._ws: websockets.asyncio.client.ClientConnection | None = None
        self._open = asyncio.Event()

    async def relay(self, to: str, sid: int, data: str) -> None:
        """Send a (sealed) payload to a peer; waits while the connection is being restored."""
        while True:
            await self._open.wait()
            ws = self._ws
            if ws is None:
                continue
            try:
                await ws.send(encode_client_message(Relay(to=to, sid=sid, data=data)))
                return
            except websockets.exceptions.ConnectionClosed:
                await asyncio.sleep(0.05)  # the run loop is reconnecting

    async def run(self) -> None:
        """Stay connected until cancelled; raises SignalingClosed on a fatal close."""
        attempt = 0
        while True:
            try:
                async with self._connected() as ws:
                    attempt = 0
                    await self._serve(ws)
            except SignalingClosed:
                raise
            except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
                log.info("signaling connection lost (%s); reconnecting", exc)
            attempt += 1
            delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** min(attempt, 8))
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    @asynccontextmanager
    async def _connected(self) -> AsyncIterator[websockets.asyncio.client.ClientConnection]:
        async with websockets.asyncio.client.connect(
            self.url,
            ssl=self.ssl_context,
            compression=None,  # the server refuses it anyway; payloads are sealed
            max_size=MAX_FRAME_BYTES,
            ping_interval=None,  # the protocol's own heartbeat (docs/protocol.md)
            open_timeout=15,
            close_timeout=2,  # on Ctrl+C the closing handshake may wait this long, no more
        ) as ws:
            self._ws = ws
            try:
                yield ws
            finally:
                self._ws = None
                self._open.clear()

    async def _serve(self, ws: websockets.asyncio.client.ClientConnection) -> None:
        await ws.send(self.join.frame())
        heartbeat_s = 5.0
        silent_for = 0.0
        while True:
            try:
                text = await asyncio.wait_for(ws.recv(), timeout=heartbeat_s)
            except TimeoutError:
                silent_for += heartbeat_s
                if silent_for >= 2 * heartbeat_s + 5:
                    raise TimeoutError("the server has been silent too long") from None
                if silent_for >= 2 * heartbeat_s:
                    await ws.send(encode_client_message(Ping()))
                continue
            except websockets.exceptions.ConnectionClosed as closed:
                received = closed.rcvd
                if received is not None and received.code in FATAL_CLOSES:
                    raise SignalingClosed(received.code, received.reason) from None
                raise
            silent_for = 0.0
            try:
                message = decode_server_message(text)
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                log.warning("ignored a malformed frame from the server: %s", exc)
                continue
            if isinstance(message, Ping):
                await ws.send(encode_client_message(Pong()))
                continue
            if isinstance(message, Welcome):
                if message.peer != self.expected_peer or message.room != self.room:
                    raise SignalingClosed(
                        int(CloseCode.PROTOCOL_ERROR),
                        "the server answered with another peer id or room than ours",
                    )
                heartbeat_s = max(1.0, min(60.0, message.heartbeat_s))
                self.welcome = message
                self._open.set()
            if isinstance(message, ErrorMessage):
                log.info("server: %s (%s)", message.message, message.code)
            await self.messages.put(message)
