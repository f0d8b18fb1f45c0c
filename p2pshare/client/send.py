"""`p2pshare send PATH...`: share files from this terminal with browsers and other terminals.

It makes a room (the creator token, the room id, the link's secret, the Ed25519 key it signs
its relayed messages with), prints the link and a QR code, and serves each receiver that
joins: a sealed hello, a fresh connection offered to its page's epoch (the sender is always
the offerer), the manifest, then its wants through its own SendSession (p2pshare/peer: the
browser's state table) and send loop (shared.py). One slow receiver slows only itself.

Tasks (asyncio.TaskGroup): the signaling connection, the room's messages, and per receiver
one task for its connection's events, under which its send loop runs (one per want).

Why this module is over 300 lines: it is the sender's room (the sealed exchange with each
receiver) and its per-receiver control frames, as send-room.js and sender.js are in the
browser; the files and the send loop are apart, in shared.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiortc import RTCIceServer

from p2pshare.client.exits import Exit, Outcome
from p2pshare.client.progress import Display, format_bytes, peer_tag
from p2pshare.client.rtc import (
    ChannelClosed,
    ChannelOpen,
    Failed,
    Message,
    RtcLink,
    ice_servers_from,
    ice_servers_with,
)
from p2pshare.client.server import ShareServer
from p2pshare.client.shared import SharedFiles, send_loop
from p2pshare.client.signaling import JoinAs, SignalingClosed, SignalingConnection
from p2pshare.peer.encoding import unb64url
from p2pshare.peer.errors import WireError
from p2pshare.peer.keys import access_key
from p2pshare.peer.link import build_link, new_room
from p2pshare.peer.seal import Sealer, new_epoch
from p2pshare.peer.sealed_bodies import Alarm, Answer, Bye, Cand, Hello, Restart, SealedBody
from p2pshare.peer.sealed_channel import SealedChannel, SealedMessage, SecurityAlert
from p2pshare.peer.send_session import SendSession
from p2pshare.peer.send_state import SendState
from p2pshare.peer.signing import new_sender_key
from p2pshare.peer.wire import (
    PROTOCOL,
    Ack,
    Cancel,
    Done,
    Fail,
    Want,
    encode_control,
    parse_control,
)
from p2pshare.peer.wire import Hello as WireHello
from p2pshare.signaling.messages import PeerJoined, PeerLeft, Relayed, Role, Welcome

__all__ = ["SendOptions", "send"]


@dataclass(frozen=True, slots=True)
class SendOptions:
    paths: tuple[Path, ...]
    server: str
    texts: tuple[str, ...] = ()
    json_lines: bool = False
    insecure: bool = False
    qr: bool = True
    exit_when_done: bool = False


def _now_ms() -> float:
    return time.monotonic() * 1000


@dataclass
class _Receiver:
    peer: str
    session: SendSession
    link: RtcLink
    label: str = ""
    epoch: int = 0
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    loop: asyncio.Task[None] | None = None
    task: asyncio.Task[None] | None = None


class Sender:
    def __init__(self, options: SendOptions, display: Display) -> None:
        self.options = options
        self.display = display
        self.shared = SharedFiles(options.paths, options.texts)
        self.server = ShareServer(options.server, insecure=options.insecure)
        made = new_room()
        seed, public = new_sender_key()
        self.room = made.room
        self.link_url = build_link(self.server.origin, made.room, made.secret_text, public)
        secret = unb64url(made.secret_text)
        self.sealed = SealedChannel(
            Sealer(secret, made.room, new_epoch(0, int(time.time() * 1000))), sign_with=seed
        )
        self.signaling = SignalingConnection(
            self.server.websocket_url(made.room),
            made.room,
            JoinAs(
                cid=secrets.token_urlsafe(16),
                token=made.token,
                access=access_key(secret, made.room),
            ),
            ssl_context=self.server.ssl_context,
        )
        self.receivers: dict[str, _Receiver] = {}
        self.sids = itertools.count(int(time.time() * 1000))
        self.ice: list[RTCIceServer] = []
        self.finished: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    async def run(self) -> Outcome:
        self.ice = ice_servers_from(await self.server.config())
        files = self.shared.files
        self.display.event(
            "share",
            message=f"Sharing {len(files)} file(s), {format_bytes(self.shared.total_bytes)}. "
            "Open this link in a browser, or run `p2pshare receive` with it:"
            f"\n\n  {self.link_url}\n",
            link=self.link_url,
            files=[{"path": f.info.path, "size": f.info.size_bytes} for f in files],
        )
        if self.options.qr and not self.options.json_lines:
            _print_qr(self.link_url)
        try:
            async with asyncio.TaskGroup() as tasks:
                running = [
                    tasks.create_task(self.signaling.run()),
                    tasks.create_task(self._room(tasks)),
                ]
                try:
                    outcome = await self.finished
                finally:
                    await self._goodbye()
                for task in [*running, *(r.task for r in self.receivers.values() if r.task)]:
                    task.cancel()
        except* SignalingClosed as group:
            closed = group.exceptions[0]
            assert isinstance(closed, SignalingClosed)
            outcome = Outcome(Exit.LINK_GONE, f"the server closed the share: {closed.reason}")
        finally:
            for receiver in self.receivers.values():
                await receiver.link.close()
        return outcome

    async def _goodbye(self) -> None:
        """Tell every receiver that sharing stopped (best effort, briefly)."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(2):
                for r in self.receivers.values():
                    if not r.session.ended and r.session.state is not SendState.DONE:
                        await self._relay(r.peer, Bye(reason="stopped"), 0)

    # --- the room --------------------------------------------------------------------------

    async def _room(self, tasks: asyncio.TaskGroup) -> None:
        while True:
            message = await self.signaling.messages.get()
            if isinstance(message, Welcome):
                self.sealed.me = message.peer
                self.ice = ice_servers_with(await self.server.config(), message.turn)
                for info in message.peers:
                    if info.role is Role.RECEIVER:
                        await self._arrived(tasks, info.peer)
            elif isinstance(message, PeerJoined) and message.role is Role.RECEIVER:
                await self._arrived(tasks, message.peer)
            elif isinstance(message, PeerLeft) and message.peer in self.receivers:
                r = self.receivers[message.peer]
                r.session.left(r.link.channel_open)
                self._show(r)
            elif isinstance(message, Relayed):
                await self._sealed(tasks, message)

    async def _arrived(self, tasks: asyncio.TaskGroup, peer: str) -> None:
        r = self.receivers.get(peer)
        if r is None:
            r = _Receiver(
                peer, SendSession(_now_ms()), RtcLink("offerer", self.ice, self._signal_to(peer))
            )
            r.label = f"receiver {peer_tag(peer)}"
            self.receivers[peer] = r
            r.task = tasks.create_task(self._serve(r))
        elif not r.session.rejoined(r.link.channel_open):
            return
        await self._relay(peer, Hello(role="sender"), 0)
        self._show(r)

    async def _sealed(self, tasks: asyncio.TaskGroup, message: Relayed) -> None:
        opened = self.sealed.receive(message.from_, message.sid, message.data)
        r = self.receivers.get(message.from_)
        if r is None:
            return
        if isinstance(opened, SecurityAlert):
            if opened.kind == "wrong-key":
                r.session.wrong_key()
            else:
                r.session.unverified()
                await self._relay(r.peer, Alarm(), 0)
                await r.link.close()
            self._show(r)
            return
        if not isinstance(opened, SealedMessage):
            return
        body = opened.body
        if not r.session.admit_sealed(isinstance(body, Hello) and opened.new_epoch):
            return
        if isinstance(body, Hello):
            if isinstance(body.device, str):
                r.label = f"{body.device} {peer_tag(r.peer)}"
            if body.live is not True or opened.new_epoch or not r.link.channel_open:
                r.epoch = opened.epoch
                await r.link.connect(next(self.sids), r.epoch)
        elif isinstance(body, Answer | Cand):
            await r.link.on_signal(body, opened.sid)
        elif isinstance(body, Restart):
            await r.link.connect(next(self.sids), r.epoch or opened.epoch)
        elif isinstance(body, Bye):
            r.session.cancelled_by_receiver = True
            r.session.end(SendState.CANCELLED, r.session.reason)
            await r.link.close()
            self.display.event("cancelled", message=f"{r.label} cancelled", peer=r.peer)
            self._check_all_done()
        elif isinstance(body, Alarm):
            r.session.unverified()
            await r.link.close()
        self._show(r)

    def _signal_to(self, peer: str):  # type: ignore[no-untyped-def]
        async def signal(body: SealedBody, sid: int) -> None:
            await self._relay(peer, body, sid)

        return signal

    async def _relay(self, peer: str, body: SealedBody, sid: int) -> None:
        await self.signaling.relay(peer, sid, self.sealed.seal_for(peer, sid, body))

    # --- one receiver's connection ---------------------------------------------------------

    async def _serve(self, r: _Receiver) -> None:
        async with asyncio.TaskGroup() as loops:
            while True:
                event = await r.link.next_event()
                if isinstance(event, ChannelOpen):
                    r.session.channel_opened()
                    await r.link.send(encode_control(WireHello(protocol=PROTOCOL)))
                    await r.link.send(encode_control(self.shared.manifest))
                elif isinstance(event, Message) and isinstance(event.data, str):
                    await self._control(loops, r, event.data)
                elif isinstance(event, ChannelClosed | Failed):
                    r.session.channel_closed()
                self._show(r)

    async def _control(self, loops: asyncio.TaskGroup, r: _Receiver, text: str) -> None:
        if not r.session.takes_frames:
            return
        try:
            frame = parse_control(text)
        except WireError:
            return
        sizes = self.shared.sizes_bytes
        if isinstance(frame, Want):
            result = r.session.want(frame.files, sizes, _now_ms())
            if result.plan:
                self._start_loop(loops, r)
            elif result.retry_in_ms is not None:
                loops.create_task(self._due(loops, r, result.retry_in_ms))
        elif isinstance(frame, Ack):
            if r.session.ack(frame.f, frame.i, sizes, _now_ms()):
                r.acked.set()
        elif isinstance(frame, Fail):
            path = self.shared.files[frame.f].info.path if frame.f < len(sizes) else "?"
            r.session.receiver_failed(frame.f, frame.reason, path)
            self.display.event(
                "receiver-failed", message=f"{r.label}: could not keep {path} ({frame.reason})"
            )
        elif isinstance(frame, Done):
            was_done = r.session.state is SendState.DONE
            r.session.receiver_done()
            if r.session.state is SendState.DONE and not was_done:  # (a page may say it again)
                self.display.event(
                    "receiver-done", message=f"{r.label}: has everything, verified", peer=r.peer
                )
            self._check_all_done()
        elif isinstance(frame, Cancel):
            r.session.cancelled_by_receiver = True
            r.session.end(SendState.CANCELLED, r.session.reason)

    async def _due(self, loops: asyncio.TaskGroup, r: _Receiver, wait_ms: int) -> None:
        await asyncio.sleep(wait_ms / 1000)
        result = r.session.due(self.shared.sizes_bytes, _now_ms())
        if result.plan:
            self._start_loop(loops, r)
        elif result.retry_in_ms is not None:
            loops.create_task(self._due(loops, r, result.retry_in_ms))

    def _start_loop(self, loops: asyncio.TaskGroup, r: _Receiver) -> None:
        if r.loop is not None:
            r.loop.cancel()  # superseded by the new plan (its generation changed anyway)
        r.loop = loops.create_task(
            send_loop(
                r.session, r.link, self.shared, r.session.generation, r.acked, lambda: self._show(r)
            )
        )

    # --- what the person sees --------------------------------------------------------------

    def _show(self, r: _Receiver) -> None:
        s = r.session
        self.display.bar(r.peer, r.label, s.done_bytes, s.wanted_bytes, s.state.value)

    def _check_all_done(self) -> None:
        if not self.options.exit_when_done or self.finished.done():
            return
        sessions = [r.session for r in self.receivers.values()]
        if sessions and all(s.state in (SendState.DONE, SendState.CANCELLED) for s in sessions):
            done = sum(s.state is SendState.DONE for s in sessions)
            self.finished.set_result(
                Outcome(Exit.OK, f"Done: {done} receiver(s) have every file, verified")
            )


def _print_qr(url: str) -> None:
    import qrcode

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(url)
    code.make(fit=True)
    code.print_ascii(out=sys.stderr, invert=True)


async def send(options: SendOptions) -> Outcome:
    display = Display(json_lines=options.json_lines)
    try:
        return await Sender(options, display).run()
    finally:
        display.close()
