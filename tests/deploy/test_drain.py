"""Graceful drain of a real process: SIGTERM with --drain-timeout refuses new rooms
(4011) and turns /healthz to 503, keeps live rooms until they end or the deadline,
then closes everyone with 1001; without it, SIGTERM closes everyone at once."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from p2pshare.signaling.messages import CloseCode, ErrorCode, ErrorMessage, PeerJoined, Relayed
from p2pshare.signaling.room import creator_room_id
from tests.deploy.cluster import Instance, start_instance
from tests.signaling.wsclient import Client, new_room_id

TOKEN = "creator-token-0123456789"
STEP_TIMEOUT_S = 20.0

pytestmark = pytest.mark.multiprocess


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    started: list[Instance] = []

    def start(*args: str) -> Instance:
        instance = start_instance(tmp_path, f"p2pshare-{len(started)}", args=args)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        if instance.running:
            instance.kill()


async def _status(instance: Instance, path: str) -> int:
    return (await trio.to_thread.run_sync(instance.get, path))[0]


async def _exit_code(instance: Instance) -> int:
    return await trio.to_thread.run_sync(instance.process.wait)


async def test_drain_keeps_live_rooms_refuses_new_ones_and_ends_when_they_do(start: object) -> None:
    assert callable(start)
    server: Instance = start("--drain-timeout", "600")
    room = creator_room_id(TOKEN)
    with trio.fail_after(STEP_TIMEOUT_S):
        async with Client(server.http_port, room, token=TOKEN) as sender:
            s = await sender.join()
            async with Client(server.http_port, room) as receiver:
                r = await receiver.join()
                await sender.recv_until(PeerJoined)
                # A room left empty (waiting out its grace period) must not hold the drain.
                idle_token = TOKEN + "-idle"
                async with Client(
                    server.http_port, creator_room_id(idle_token), token=idle_token
                ) as idle:
                    await idle.join()

                server.process.send_signal(signal.SIGTERM)
                while await _status(server, "/healthz") != 503:  # noqa: ASYNC110 (another process)
                    await trio.sleep(0.05)

                async with Client(server.http_port, new_room_id()) as newcomer:
                    await newcomer.send_raw('{"type": "join", "cid": "%s", "v": 1}' % ("n" * 22))
                    error = await newcomer.recv_until(ErrorMessage)
                    assert isinstance(error, ErrorMessage) and error.code is ErrorCode.DRAINING
                    assert (await newcomer.closed_with())[0] == CloseCode.DRAINING

                # The live room goes on, and a reload rejoins it.
                await sender.relay(r.peer, "still here")
                got = await receiver.recv_until(Relayed)
                assert isinstance(got, Relayed) and got.data == "still here"
                async with Client(server.http_port, room, cid=receiver.cid) as reloaded:
                    assert (await reloaded.join()).peer == r.peer
                    assert (await receiver.closed_with())[0] == CloseCode.REPLACED
                    await reloaded.relay(s.peer, "after the reload")
                    got = await sender.recv_until(Relayed)
                    assert isinstance(got, Relayed) and got.data == "after the reload"
        # Everyone left: the process ends now, not at the deadline 600 s away.
        assert await _exit_code(server) == 0


async def test_drain_deadline_closes_live_rooms_with_going_away(start: object) -> None:
    assert callable(start)
    server: Instance = start("--drain-timeout", "1")
    room = creator_room_id(TOKEN)
    with trio.fail_after(STEP_TIMEOUT_S):
        async with (
            Client(server.http_port, room, token=TOKEN) as sender,
            Client(server.http_port, room) as receiver,
        ):
            await sender.join()
            await receiver.join()
            server.process.send_signal(signal.SIGTERM)
            for client in (sender, receiver):
                code, _ = await client.closed_with(STEP_TIMEOUT_S)
                assert code == CloseCode.GOING_AWAY
        assert await _exit_code(server) == 0


async def test_without_drain_sigterm_closes_everyone_at_once(start: object) -> None:
    assert callable(start)
    server: Instance = start()
    with trio.fail_after(STEP_TIMEOUT_S):
        async with Client(server.http_port, creator_room_id(TOKEN), token=TOKEN) as sender:
            await sender.join()
            server.process.send_signal(signal.SIGTERM)
            code, _ = await sender.closed_with(STEP_TIMEOUT_S)
            assert code == CloseCode.GOING_AWAY
        assert await _exit_code(server) == 0


async def test_a_second_signal_stops_a_drain_at_once(start: object) -> None:
    assert callable(start)
    server: Instance = start("--drain-timeout", "600")
    with trio.fail_after(STEP_TIMEOUT_S):
        async with Client(server.http_port, creator_room_id(TOKEN), token=TOKEN) as sender:
            await sender.join()
            server.process.send_signal(signal.SIGTERM)
            while await _status(server, "/healthz") != 503:  # noqa: ASYNC110 (another process)
                await trio.sleep(0.05)
            server.process.send_signal(signal.SIGTERM)
            assert await _exit_code(server) == 0
