"""One WebRTC connection of the command-line peer, on aiortc (web/js/peer.js's twin).

The sender is always the offerer; every offer has a new, larger session id (sid), and
answers and candidates for another sid are ignored. aiortc gathers its candidates before
`setLocalDescription` returns, so its offers and answers carry them all: it trickles nothing,
and takes the browser's trickled candidates (mDNS names included: aioice resolves them).
aiortc has no ICE restart, so a broken connection is always replaced by a fresh one.

Events go to the owner through `events` (an asyncio.Queue): ChannelOpen, Message,
ChannelClosed, Failed. Only the `p2pshare` channel of the current connection reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, cast

from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp
from msgspec import UNSET

from p2pshare.peer.sealed_bodies import Answer, Cand, Candidate, Offer, SealedBody
from p2pshare.signaling.messages import TurnServer

__all__ = [
    "ChannelClosed",
    "ChannelOpen",
    "Failed",
    "Message",
    "RtcLink",
    "ice_servers_from",
    "ice_servers_with",
]

log = logging.getLogger(__name__)

CHANNEL_LABEL = "p2pshare"
BUFFERED_LOW_BYTES = 1 << 20
CLOSE_TIMEOUT_S = 3.0
# Received but not yet handled: aiortc hands messages over as they come, with no way to push
# back, so a peer that sends far more than the protocol lets it (its window is 4 blocks plus
# what its channel buffers, under 10 MiB) is cut off instead of filling our memory.
MAX_UNHANDLED_BYTES = 64 << 20

Signal = Callable[[SealedBody, int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ChannelOpen:
    channel: RTCDataChannel


@dataclass(frozen=True, slots=True)
class Message:
    data: str | bytes


@dataclass(frozen=True, slots=True)
class ChannelClosed:
    pass


@dataclass(frozen=True, slots=True)
class Failed:
    state: str


LinkEvent = ChannelOpen | Message | ChannelClosed | Failed


def ice_servers_from(config: Sequence[Mapping[str, object]]) -> list[RTCIceServer]:
    """/config.json's `iceServers` (and a welcome's TURN servers) as aiortc wants them."""
    servers = []
    for entry in config:
        urls = entry.get("urls")
        if isinstance(urls, str):
            urls = [urls]
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            continue
        username = entry.get("username")
        credential = entry.get("credential")
        servers.append(
            RTCIceServer(
                urls=urls,
                username=username if isinstance(username, str) else None,
                credential=credential if isinstance(credential, str) else None,
            )
        )
    return servers


def ice_servers_with(
    config: Sequence[Mapping[str, object]], turn: Sequence[TurnServer]
) -> list[RTCIceServer]:
    """The server's STUN servers and the TURN servers its welcome granted (peer-session.js
    iceServersWith's twin)."""
    granted = [
        {"urls": list(t.urls), "username": t.username, "credential": t.credential} for t in turn
    ]
    return ice_servers_from([*config, *granted])


class RtcLink:
    """The current RTCPeerConnection to one peer, replaced on every fresh offer."""

    def __init__(
        self,
        role: Literal["offerer", "answerer"],
        ice_servers: list[RTCIceServer],
        signal: Signal,
    ) -> None:
        self.role = role
        self.ice_servers = ice_servers
        self.signal = signal
        self.sid = 0
        self.pc: RTCPeerConnection | None = None
        self.channel: RTCDataChannel | None = None
        self.events: asyncio.Queue[LinkEvent] = asyncio.Queue()
        self.unhandled_bytes = 0
        self._pending: list[Candidate | None] = []
        self._buffered_low = asyncio.Event()

    async def next_event(self) -> LinkEvent:
        """The next thing that happened to the connection (handle it before asking again)."""
        event = await self.events.get()
        if isinstance(event, Message):
            self.unhandled_bytes -= len(event.data)
        return event

    @property
    def channel_open(self) -> bool:
        return self.channel is not None and self.channel.readyState == "open"

    # --- the offerer -----------------------------------------------------------------------

    async def connect(self, sid: int, receiver_epoch: int) -> None:
        """A fresh connection and channel under `sid`, offered to the receiver's page epoch."""
        self.sid = sid
        pc = await self._replace()
        self._adopt(pc.createDataChannel(CHANNEL_LABEL, ordered=True))
        await pc.setLocalDescription(await pc.createOffer())
        if pc is not self.pc or sid != self.sid:
            return  # superseded meanwhile
        await self.signal(Offer(sdp=pc.localDescription.sdp, fresh=True, re=receiver_epoch), sid)

    # --- both ------------------------------------------------------------------------------

    async def on_signal(self, body: SealedBody, sid: int) -> bool:
        """Apply an offer, answer or candidate from the peer; False when stale or not ours."""
        if isinstance(body, Offer) and self.role == "answerer":
            if sid < self.sid or (sid == self.sid and self.pc is not None):
                return False
            self.sid = sid
            pc = await self._replace()  # no ICE restart in aiortc: always a fresh connection
            self._pending = []
            await pc.setRemoteDescription(RTCSessionDescription(sdp=body.sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
            if pc is not self.pc or sid != self.sid:
                return False
            await self.signal(Answer(sdp=pc.localDescription.sdp), sid)
            await self._flush_candidates()
            return True
        if sid != self.sid or self.pc is None:
            return False
        if isinstance(body, Answer) and self.role == "offerer":
            if self.pc.signalingState != "have-local-offer":
                return False
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=body.sdp, type="answer"))
            await self._flush_candidates()
            return True
        if isinstance(body, Cand):
            remote = cast(RTCSessionDescription | None, self.pc.remoteDescription)
            if remote is None:
                self._pending.append(body.c)
            else:
                await self._add_candidate(body.c)
            return True
        return False

    async def send(self, data: str | bytes) -> bool:
        """Send a frame; False if the channel is not open (never raises)."""
        channel = self.channel
        if channel is None or channel.readyState != "open":
            return False
        try:
            channel.send(data)
        except Exception as exc:  # aiortc raises InvalidStateError and others when closing
            log.debug("send failed: %r", exc)
            return False
        return True

    async def wait_buffered_below(self, high_bytes: int) -> None:
        """Wait while the channel holds more than `high_bytes` unsent."""
        channel = self.channel
        while channel is not None and channel.readyState == "open":
            if channel.bufferedAmount <= high_bytes:
                return
            self._buffered_low.clear()
            await self._buffered_low.wait()

    async def close(self) -> None:
        """Close the connection; bounded in time (aiortc's close can wait on a peer that is
        gone, and Ctrl+C must end the command promptly)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self._teardown()

    # --- internals -------------------------------------------------------------------------

    async def _flush_candidates(self) -> None:
        pending, self._pending = self._pending, []
        for candidate in pending:
            await self._add_candidate(candidate)

    async def _add_candidate(self, c: Candidate | None) -> None:
        if c is None or c.candidate is UNSET or not c.candidate or self.pc is None:
            return  # the end of the candidates: aiortc needs no marker
        try:
            candidate = candidate_from_sdp(c.candidate.split(":", 1)[1])
            candidate.sdpMid = c.sdp_mid if isinstance(c.sdp_mid, str) else None
            index = c.sdp_m_line_index
            candidate.sdpMLineIndex = index if isinstance(index, int) else None
            await self.pc.addIceCandidate(candidate)
        except Exception as exc:  # a candidate aiortc cannot use: skip it, as the browser does
            log.debug("skipped a candidate %r: %r", c.candidate, exc)

    async def _replace(self) -> RTCPeerConnection:
        await self._teardown()
        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        self.pc = pc

        @pc.on("connectionstatechange")
        def _state() -> None:
            if pc is self.pc and pc.connectionState in ("failed", "closed"):
                self.events.put_nowait(Failed(pc.connectionState))

        @pc.on("datachannel")
        def _channel(channel: RTCDataChannel) -> None:
            if pc is self.pc and channel.label == CHANNEL_LABEL:
                self._adopt(channel)

        return pc

    def _adopt(self, channel: RTCDataChannel) -> None:
        if self.channel is not None and self.channel is not channel:
            self.channel.close()
        self.channel = channel
        channel.bufferedAmountLowThreshold = BUFFERED_LOW_BYTES

        def opened() -> None:
            if channel is self.channel:
                self.events.put_nowait(ChannelOpen(channel))

        if channel.readyState == "open":
            opened()
        else:
            channel.on("open", opened)

        @channel.on("message")
        def _message(data: str | bytes) -> None:
            if channel is not self.channel:
                return
            self.unhandled_bytes += len(data)
            if self.unhandled_bytes > MAX_UNHANDLED_BYTES:
                log.warning("the peer sent far more than it may: connection closed")
                self.channel = None
                channel.close()
                self.events.put_nowait(Failed("flooded"))
                return
            self.events.put_nowait(Message(data))

        @channel.on("close")
        def _closed() -> None:
            if channel is self.channel:
                self.events.put_nowait(ChannelClosed())
                self._buffered_low.set()

        @channel.on("bufferedamountlow")
        def _low() -> None:
            self._buffered_low.set()

    async def _teardown(self) -> None:
        channel, self.channel = self.channel, None
        pc, self.pc = self.pc, None
        if channel is not None:
            channel.close()
        if pc is not None:
            await pc.close()
        self._buffered_low.set()
