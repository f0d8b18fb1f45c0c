"""Two real aiortc connections on this machine (rtc.py), wired to each other without a server:
a peer that sends far more than the protocol lets it is cut off, not buffered."""

from __future__ import annotations

import asyncio

from p2pshare.client.rtc import MAX_UNHANDLED_BYTES, ChannelOpen, Failed, Message, RtcLink
from p2pshare.peer.sealed_bodies import SealedBody


async def _pair() -> tuple[RtcLink, RtcLink]:
    links: dict[str, RtcLink] = {}

    def to(name: str):  # type: ignore[no-untyped-def]
        async def signal(body: SealedBody, sid: int) -> None:
            await links[name].on_signal(body, sid)

        return signal

    links["offerer"] = RtcLink("offerer", [], to("answerer"))
    links["answerer"] = RtcLink("answerer", [], to("offerer"))
    await links["offerer"].connect(1, receiver_epoch=1)
    for name in ("offerer", "answerer"):
        event = await asyncio.wait_for(links[name].next_event(), 30)
        assert isinstance(event, ChannelOpen), event
    return links["offerer"], links["answerer"]


def test_a_flooding_peer_is_cut_off_and_a_polite_one_is_not() -> None:
    async def main() -> None:
        sender, receiver = await _pair()
        try:
            assert await sender.send("hello")
            event = await asyncio.wait_for(receiver.next_event(), 10)
            assert event == Message("hello") and receiver.unhandled_bytes == 0
            chunk = bytes(128 << 10)
            for _ in range(MAX_UNHANDLED_BYTES // len(chunk) + 64):  # nobody handles them
                await sender.wait_buffered_below(4 << 20)
                if not await sender.send(chunk):
                    break
            deadline = asyncio.get_running_loop().time() + 60
            while receiver.channel is not None:
                assert asyncio.get_running_loop().time() < deadline, receiver.unhandled_bytes
                await asyncio.sleep(0.05)
            events = []
            while not receiver.events.empty():
                events.append(receiver.events.get_nowait())
            assert Failed("flooded") in events
        finally:
            await sender.close()
            await receiver.close()

    asyncio.run(main())
