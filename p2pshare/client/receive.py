"""`p2pshare receive LINK`: join a share made in a browser (or by `p2pshare send`) and write
its files into a folder, every block and every file verified, resumable.

The receiver in its room (web/js/receive-room.js's part): greet the sender when it is there,
answer its sealed offer, take its candidates; a wrong key or a tampered message ends the run.
The data plane (receive_stream.py) judges and writes the frames. Everything runs in one
asyncio TaskGroup: the signaling connection, the room's messages, the data channel's events;
the first to finish or fail ends the others.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from p2pshare.client.exits import Exit, Outcome
from p2pshare.client.progress import Display
from p2pshare.client.receive_stream import ReceiveStream
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
from p2pshare.client.signaling import JoinAs, SignalingClosed, SignalingConnection
from p2pshare.client.sink import ResumeState
from p2pshare.peer.keys import join_proof
from p2pshare.peer.link import parse_share_url
from p2pshare.peer.seal import Sealer, new_epoch
from p2pshare.peer.sealed_bodies import Alarm, Bye, Cand, Hello, Offer, Restart, SealedBody
from p2pshare.peer.sealed_channel import SealedChannel, SealedMessage, SecurityAlert
from p2pshare.signaling.messages import (
    CloseCode,
    ErrorMessage,
    PeerJoined,
    PeerLeft,
    Relayed,
    Role,
    Welcome,
)

__all__ = ["ReceiveOptions", "receive"]

log = logging.getLogger(__name__)
DEVICE = f"p2pshare CLI on {platform.system() or 'an unknown system'}"


@dataclass(frozen=True, slots=True)
class ReceiveOptions:
    link: str
    output: Path
    yes: bool = False
    json_lines: bool = False
    insecure: bool = False


class Receiver:
    def __init__(self, options: ReceiveOptions, display: Display) -> None:
        origin, parsed = parse_share_url(options.link)
        if parsed.page != "room" or parsed.room is None:
            raise Outcome(
                Exit.BAD_LINK, "this is not a share link (it should contain /r/<room>#...)"
            )
        if parsed.secret is None or parsed.sender_key is None:
            raise Outcome(
                Exit.BAD_LINK, "the link's key is missing or cut short: copy the whole link"
            )
        self.options = options
        self.display = display
        self.room = parsed.room
        self.server = ShareServer(origin, insecure=options.insecure)
        self.state = ResumeState.load(options.output, self.room)
        self.state.epoch = new_epoch(self.state.epoch, int(time.time() * 1000))
        self.sealer = Sealer(parsed.secret, self.room, self.state.epoch)
        self.sealed = SealedChannel(self.sealer, sender_key=parsed.sender_key)
        self.signaling = SignalingConnection(
            self.server.websocket_url(self.room),
            self.room,
            JoinAs(cid=self.state.cid, proof=join_proof(parsed.secret, self.room, self.state.cid)),
            ssl_context=self.server.ssl_context,
        )
        self.sender: str | None = None
        self.link: RtcLink | None = None
        self.stream = ReceiveStream(
            options.output, options.yes, self.state, display, self._send_frame
        )
        self.outcome: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()

    async def run(self) -> Outcome:
        self.state.save()  # the client id and epoch, for a resume
        config = await self.server.config()
        self.link = RtcLink("answerer", ice_servers_from(config), self._signal)
        self.display.event("connecting", message=f"Connecting to {self.server.origin} ...")
        try:
            async with asyncio.TaskGroup() as tasks:
                running = [
                    tasks.create_task(self.signaling.run()),
                    tasks.create_task(self._room()),
                    tasks.create_task(self._channel()),
                ]
                self.stream.finished = self.outcome
                outcome = await self.outcome
                for task in running:
                    task.cancel()
        except* SignalingClosed as group:
            closed = group.exceptions[0]
            assert isinstance(closed, SignalingClosed)
            outcome = _signaling_outcome(closed)
        finally:
            await self.link.close()
            self.stream.close()
        if outcome.code is Exit.OK:
            self.state.forget()
        return outcome

    # --- the room --------------------------------------------------------------------------

    async def _room(self) -> None:
        while True:
            message = await self.signaling.messages.get()
            if isinstance(message, Welcome):
                self.sealed.me = message.peer
                assert self.link is not None
                self.link.ice_servers = ice_servers_with(await self.server.config(), message.turn)
                sender = next((p.peer for p in message.peers if p.role is Role.SENDER), None)
                if sender is not None:
                    await self._sender_arrived(sender)
                else:
                    self.display.event(
                        "waiting", message="Waiting for the sender's page to connect ..."
                    )
            elif isinstance(message, PeerJoined) and message.role is Role.SENDER:
                await self._sender_arrived(message.peer)
            elif isinstance(message, PeerLeft) and message.peer == self.sender:
                if not self.stream.channel_open:
                    self.display.event(
                        "sender-away", message="The sender is away; waiting for it to come back ..."
                    )
            elif isinstance(message, Relayed):
                await self._sealed(self.sealed.receive(message.from_, message.sid, message.data))
            elif isinstance(message, ErrorMessage):
                log.info("server error frame: %s", message.message)

    async def _sender_arrived(self, peer: str) -> None:
        self.sender = peer
        await self._hello()

    async def _hello(self) -> None:
        if self.sender is not None:
            live = self.link is not None and self.link.channel_open
            await self._relay(Hello(live=live, device=DEVICE), 0)

    async def _sealed(self, opened: object) -> None:
        if isinstance(opened, SecurityAlert):
            if opened.kind == "wrong-key":
                self._end(
                    Exit.BAD_LINK,
                    "this link's key does not match the sender's: "
                    "ask the sender for the whole link again",
                )
            else:
                await self._relay(Alarm(), 0)
                self._end(
                    Exit.VERIFICATION_FAILED,
                    f"a message from the sender could not be verified ({opened.reason}); stopped",
                )
            return
        if not isinstance(opened, SealedMessage):
            return  # stale, or a body the protocol does not have
        assert self.link is not None
        self.sender = opened.from_peer  # the only peer that can message us (signed)
        body = opened.body
        if opened.new_epoch:
            await self.link.close()  # the sender's page restarted: our connection to it is dead
        if isinstance(body, Hello):
            await self._hello()
        elif isinstance(body, Offer):
            if body.re == self.state.epoch:
                await self.link.on_signal(body, opened.sid)
        elif isinstance(body, Cand):
            await self.link.on_signal(body, opened.sid)
        elif isinstance(body, Bye):
            why = "cancelled this transfer" if body.reason == "cancelled" else "stopped sharing"
            self._end(Exit.LINK_GONE, f"the sender {why}")
        elif isinstance(body, Alarm):
            self._end(
                Exit.VERIFICATION_FAILED, "the sender could not verify a message from us; stopped"
            )

    # --- the data channel ------------------------------------------------------------------

    async def _channel(self) -> None:
        assert self.link is not None
        while True:
            event = await self.link.next_event()
            if isinstance(event, ChannelOpen):
                self.display.event("connected", message="Connected to the sender.")
                await self.stream.channel_opened()
            elif isinstance(event, Message):
                await self.stream.frame(event.data)
            elif isinstance(event, ChannelClosed | Failed):
                self.stream.channel_closed()
                if self.sender is not None and not self.outcome.done():
                    self.display.event(
                        "reconnecting", message="The connection dropped; reconnecting ..."
                    )
                    await self._relay(Restart(fresh=True), self.link.sid)

    # --- sending ---------------------------------------------------------------------------

    async def _signal(self, body: SealedBody, sid: int) -> None:
        await self._relay(body, sid)

    async def _relay(self, body: SealedBody, sid: int) -> None:
        if self.sender is not None:
            await self.signaling.relay(
                self.sender, sid, self.sealed.seal_for(self.sender, sid, body)
            )

    async def _send_frame(self, data: str | bytes) -> bool:
        return self.link is not None and await self.link.send(data)

    def _end(self, code: Exit, message: str) -> None:
        if not self.outcome.done():
            self.outcome.set_result(Outcome(code, message))


def _signaling_outcome(closed: SignalingClosed) -> Outcome:
    if closed.code == CloseCode.ADMISSION_REFUSED:
        return Outcome(
            Exit.BAD_LINK, "the server refused this link's key: ask the sender for the whole link"
        )
    if closed.code == CloseCode.REPLACED:
        return Outcome(Exit.INTERRUPTED, "another receive with the same folder took over")
    return Outcome(Exit.LINK_GONE, f"the server closed the connection: {closed.reason}")


async def receive(options: ReceiveOptions) -> Outcome:
    display = Display(json_lines=options.json_lines)
    try:
        return await Receiver(options, display).run()
    finally:
        display.close()
