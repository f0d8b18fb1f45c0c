"""The signaling service against a real server on loopback, with real WebSocket clients."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import textwrap

import pytest
import trio
import trio.lowlevel
import trio_websocket

from p2pshare.signaling.messages import (
    CloseCode,
    ErrorCode,
    ErrorMessage,
    PeerJoined,
    PeerLeft,
    Ping,
    Relayed,
    Role,
    encode_client_message,
)
from p2pshare.signaling.room import creator_room_id
from tests.conftest import StartServer
from tests.signaling.wsclient import Client, new_room_id

TOKEN = "creator-token-0123456789"
SENDER_ROOM = creator_room_id(TOKEN)  # the room that TOKEN creates


async def test_two_peers_relay_and_a_third_room_sees_nothing(start_server: StartServer) -> None:
    server = await start_server()
    room, other_room = SENDER_ROOM, new_room_id()
    async with (
        Client(server.http_port, room, token=TOKEN) as sender,
        Client(server.http_port, room) as receiver,
        Client(server.http_port, other_room) as outsider,
    ):
        s = await sender.join()
        assert s.role is Role.SENDER
        r = await receiver.join()
        assert r.role is Role.RECEIVER and [p.peer for p in r.peers] == [s.peer]
        assert await sender.recv_until(PeerJoined) == PeerJoined(peer=r.peer, role=Role.RECEIVER)
        o = await outsider.join()
        assert o.peers == ()

        await sender.relay(r.peer, "hello receiver", sid=4)
        assert await receiver.recv_until(Relayed) == Relayed(
            from_=s.peer, sid=4, data="hello receiver"
        )
        await receiver.relay(s.peer, "hello sender", sid=4)
        assert await sender.recv_until(Relayed) == Relayed(from_=r.peer, sid=4, data="hello sender")
        # Relay across rooms is impossible: the other room's peer is unknown here.
        await outsider.relay(s.peer, "let me in")
        error = await outsider.recv_until(ErrorMessage)
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.UNKNOWN_PEER
        with trio.move_on_after(0.3):
            message = await sender.recv()
            assert not isinstance(message, Relayed), message


async def test_duplicate_cid_replaces_the_old_socket(start_server: StartServer) -> None:
    server = await start_server()
    room = SENDER_ROOM
    async with Client(server.http_port, room, token=TOKEN) as sender:
        s = await sender.join()
        async with Client(server.http_port, room) as first:
            await first.join()
            async with Client(server.http_port, room, cid=first.cid) as second:
                welcome = await second.join()
                assert welcome.peer == first.welcome.peer  # type: ignore[union-attr]
                code, reason = await first.closed_with()
                assert code == CloseCode.REPLACED and reason
                # The sender sees the peer (re)join, never a peer-left; relays reach the new one.
                await sender.recv_until(PeerJoined)
                await sender.relay(welcome.peer, "to the new tab")
                relayed = await second.recv_until(Relayed)
                assert isinstance(relayed, Relayed) and relayed.data == "to the new tab"
                assert s.peer == relayed.from_


async def test_killed_client_is_reported_lost(start_server: StartServer) -> None:
    """A client process killed with SIGKILL (no close frame) is reported `lost`."""
    server = await start_server()
    room = SENDER_ROOM
    async with Client(server.http_port, room, token=TOKEN) as sender:
        await sender.join()
        killed_proof = proof_for(room, "killed-client-0001")
        script = textwrap.dedent(f"""
            import socket, base64, os, json, time
            s = socket.create_connection(("127.0.0.1", {server.http_port}))
            key = base64.b64encode(os.urandom(16)).decode()
            s.sendall((f"GET /ws/{room} HTTP/1.1\\r\\nHost: x\\r\\nUpgrade: websocket\\r\\n"
                       f"Connection: Upgrade\\r\\nSec-WebSocket-Key: {{key}}\\r\\n"
                       f"Sec-WebSocket-Version: 13\\r\\n\\r\\n").encode())
            s.recv(4096)
            cid, proof = "killed-client-0001", "{killed_proof}"
            payload = json.dumps({{"type": "join", "cid": cid, "proof": proof}}).encode()
            mask = os.urandom(4)
            s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask +
                      bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            print("joined", flush=True)
            time.sleep(60)
        """)
        proc = await trio.lowlevel.open_process(
            [sys.executable, "-c", script], stdout=subprocess.DEVNULL
        )
        try:
            joined = await sender.recv_until(PeerJoined)
            proc.kill()
            with trio.fail_after(20):
                left = await sender.recv_until(PeerLeft, timeout=20)
            assert left == PeerLeft(peer=joined.peer, reason="lost")  # type: ignore[union-attr]
        finally:
            proc.kill()
            await proc.wait()


async def test_silent_connection_is_dropped_by_the_heartbeat(start_server: StartServer) -> None:
    """A peer whose connection stays open but says nothing (no pong) is dropped as `lost`."""
    server = await start_server(heartbeat_interval_s=0.4, heartbeat_timeout_s=1.2)
    room = SENDER_ROOM
    async with Client(server.http_port, room, token=TOKEN) as sender:
        await sender.join()
        raw = await trio.open_tcp_stream("127.0.0.1", server.http_port)
        async with raw:
            # A real handshake and join, then silence: the socket is never closed.
            key = "dGhlIHNhbXBsZSBub25jZQ=="
            await raw.send_all(
                (
                    f"GET /ws/{room} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            await raw.receive_some(4096)
            cid = "silent-client-000001"
            payload = json.dumps(
                {"type": "join", "cid": cid, "proof": proof_for(room, cid)}
            ).encode()
            await raw.send_all(bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
            joined = await sender.recv_until(PeerJoined)
            # Keep answering the sender's pings ourselves, and wait for the silent one to go.
            with trio.fail_after(10):
                while True:
                    message = await sender.recv(10)
                    if isinstance(message, Ping):
                        await sender.send_raw('{"type":"pong"}')
                    if isinstance(message, PeerLeft):
                        assert message == PeerLeft(peer=joined.peer, reason="lost")  # type: ignore[union-attr]
                        break


async def test_live_client_answering_pings_stays(start_server: StartServer) -> None:
    server = await start_server(heartbeat_interval_s=0.3, heartbeat_timeout_s=0.9)
    async with Client(server.http_port, new_room_id()) as client:
        await client.join()
        with trio.move_on_after(2.5):
            while True:
                message = await client.recv()
                assert isinstance(message, Ping)
                await client.send_raw('{"type":"pong"}')
        await client.send_raw('{"type":"ping"}')
        assert (await client.recv()).__class__.__name__ == "Pong"


@pytest.mark.parametrize(
    ("frames", "code", "close"),
    [
        (
            ['{"type":"relay","to":"x","sid":1,"data":"x"}'],
            ErrorCode.JOIN_FIRST,
            CloseCode.PROTOCOL_ERROR,
        ),
        (["not json"], ErrorCode.BAD_MESSAGE, CloseCode.PROTOCOL_ERROR),
        ([b"\x00binary"], ErrorCode.BAD_MESSAGE, CloseCode.PROTOCOL_ERROR),
        (
            ['{"type":"join","cid":"abcdefghijklmnop","v":2}'],
            ErrorCode.BAD_MESSAGE,
            CloseCode.PROTOCOL_ERROR,
        ),
    ],
)
async def test_bad_first_frames_are_refused(
    start_server: StartServer, frames: list[str | bytes], code: ErrorCode, close: CloseCode
) -> None:
    server = await start_server()
    async with Client(server.http_port, new_room_id()) as client:
        for frame in frames:
            await client.send_raw(frame)
        error = await client.recv()
        assert isinstance(error, ErrorMessage) and error.code is code
        assert (await client.closed_with())[0] == close


async def test_bad_messages_after_join_are_answered_and_tolerated(
    start_server: StartServer,
) -> None:
    server = await start_server()
    async with Client(server.http_port, new_room_id()) as client:
        await client.join()
        for frame, code in [
            ("{broken", ErrorCode.BAD_MESSAGE),
            ('{"type":"relay","to":"nobody-here","sid":1,"data":"x"}', ErrorCode.UNKNOWN_PEER),
            ('{"type":"join","cid":"abcdefghijklmnop"}', ErrorCode.ALREADY_JOINED),
            (b"binary", ErrorCode.BAD_MESSAGE),
        ]:
            await client.send_raw(frame)
            error = await client.recv_until(ErrorMessage)
            assert isinstance(error, ErrorMessage) and error.code is code, (frame, error)
        await client.send_raw('{"type":"ping"}')
        assert (await client.recv()).__class__.__name__ == "Pong"
        # Persisting in bad messages ends the connection.
        for _ in range(11):
            await client.send_raw("{broken")
        assert (await client.closed_with())[0] == CloseCode.PROTOCOL_ERROR


async def test_oversized_frames_close_with_1009(start_server: StartServer) -> None:
    server = await start_server(max_frame_bytes=4096)
    async with Client(server.http_port, new_room_id()) as client:
        await client.join()
        await client.send_raw('{"type":"relay","to":"x","sid":1,"data":"%s"}' % ("y" * 5000))
        error = await client.recv_until(ErrorMessage)
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.TOO_BIG
        assert (await client.closed_with())[0] == CloseCode.MESSAGE_TOO_BIG
    # Far bigger frames are cut by the WebSocket layer itself, also with 1009.
    async with Client(server.http_port, new_room_id()) as client:
        await client.join()
        await client.send_raw("z" * 100_000)
        assert (await client.closed_with())[0] == CloseCode.MESSAGE_TOO_BIG


async def test_join_timeout(start_server: StartServer) -> None:
    server = await start_server(join_timeout_s=0.3)
    async with Client(server.http_port, new_room_id()) as client:
        error = await client.recv()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.JOIN_TIMEOUT
        assert (await client.closed_with())[0] == CloseCode.PROTOCOL_ERROR


@pytest.mark.parametrize("room", ["short", "has.dots.in.it.12345", "x" * 65])
async def test_bad_room_ids(start_server: StartServer, room: str) -> None:
    server = await start_server()
    async with Client(server.http_port, room) as client:
        error = await client.recv()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.BAD_ROOM
        assert (await client.closed_with())[0] == CloseCode.BAD_ROOM


async def test_room_full_and_role_refused(start_server: StartServer) -> None:
    server = await start_server(max_receivers_per_room=2)
    room = SENDER_ROOM
    async with (
        Client(server.http_port, room, token=TOKEN) as sender,
        Client(server.http_port, room) as r1,
        Client(server.http_port, room) as r2,
        Client(server.http_port, room) as r3,
        Client(server.http_port, room, token="not-the-creator-token") as impostor,
    ):
        await sender.join()
        await r1.join()
        await r2.join()
        await r3.send_raw(r3.join_text())
        error = await r3.recv()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.ROOM_FULL
        assert (await r3.closed_with())[0] == CloseCode.ROOM_FULL
        await impostor.send_raw(encode_client_message_join(impostor.cid, impostor.token))
        error = await impostor.recv()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.ROLE_REFUSED
        assert (await impostor.closed_with())[0] == CloseCode.ROLE_REFUSED


def proof_for(room: str, cid: str) -> str:
    """The join proof of a client holding the tests' link secret (wsclient.TEST_SECRET)."""
    from p2pshare.signaling.admission import access_key, join_proof
    from tests.signaling.wsclient import TEST_SECRET

    return join_proof(access_key(TEST_SECRET, room), room, cid)


def encode_client_message_join(cid: str, token: str | None = None) -> str:
    from p2pshare.signaling.messages import Join

    return encode_client_message(Join(cid=cid, token=token))


async def test_receivers_cannot_message_each_other(start_server: StartServer) -> None:
    server = await start_server()
    room = new_room_id()
    async with Client(server.http_port, room) as r1, Client(server.http_port, room) as r2:
        await r1.join()
        w2 = await r2.join()
        await r1.relay(w2.peer, "psst")
        error = await r1.recv_until(ErrorMessage)
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.NOT_ALLOWED


async def test_connection_and_room_limits_per_address(start_server: StartServer) -> None:
    server = await start_server(max_connections_per_address=3, max_rooms_per_address=2)
    async with (
        Client(server.http_port, new_room_id()) as a,
        Client(server.http_port, new_room_id()) as b,
    ):
        await a.join()
        await b.join()
        async with Client(server.http_port, new_room_id()) as c:
            error = await c.recv_until(ErrorMessage) if False else None
            await c.send_raw(encode_client_message_join(c.cid))
            error = await c.recv()
            assert isinstance(error, ErrorMessage) and error.code is ErrorCode.TOO_MANY_ROOMS
            assert (await c.closed_with())[0] == CloseCode.TOO_MANY_ROOMS
        async with Client(server.http_port, a.room) as d:
            await d.join()  # joining an existing room is fine
            async with Client(server.http_port, a.room) as e:
                error = await e.recv()
                assert isinstance(error, ErrorMessage)
                assert error.code is ErrorCode.TOO_MANY_CONNECTIONS
                assert (await e.closed_with())[0] == CloseCode.TOO_MANY_CONNECTIONS


async def test_rate_limit_drops_then_closes(start_server: StartServer) -> None:
    server = await start_server(message_rate_per_s=5, message_burst=10, max_dropped_messages=50)
    async with Client(server.http_port, new_room_id()) as client:
        await client.join()
        for _ in range(30):
            await client.send_raw('{"type":"ping"}')
        pongs, errors = 0, []
        with trio.move_on_after(1.0):
            while True:
                message = await client.recv()
                if isinstance(message, ErrorMessage):
                    errors.append(message.code)
                elif message.__class__.__name__ == "Pong":
                    pongs += 1
        assert ErrorCode.RATE_LIMITED in errors
        assert 10 <= pongs < 30
        try:
            for _ in range(100):
                await client.send_raw('{"type":"ping"}')
        except trio_websocket.ConnectionClosed:
            pass  # closed while we were still sending
        assert (await client.closed_with())[0] == CloseCode.RATE_LIMITED


@pytest.mark.parametrize(
    "queue_limits",
    [
        {"send_queue_messages": 16},  # the message budget runs out first
        {"send_queue_messages": 100_000, "send_queue_bytes": 300_000},  # the byte budget does
    ],
)
async def test_slow_consumer_is_cut_off_and_others_go_on(
    start_server: StartServer, queue_limits: dict[str, int]
) -> None:
    """A receiver that stops reading fills its bounded queue and is cut off."""
    server = await start_server(
        message_rate_per_s=10_000,
        message_burst=10_000,
        # A heartbeat far away, so that only the queue limits can cut the stalled peer.
        heartbeat_interval_s=60,
        heartbeat_timeout_s=120,
        **queue_limits,
    )
    room = SENDER_ROOM
    async with (
        Client(server.http_port, room, token=TOKEN) as sender,
        Client(server.http_port, room) as healthy,
    ):
        s = await sender.join()
        h = await healthy.join()
        # The stalled receiver: a raw socket with a tiny receive buffer that never reads.
        stalled = trio.socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await stalled.connect(("127.0.0.1", server.http_port))
        await stalled.send(
            (
                f"GET /ws/{room} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: "
                "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        assert (await stalled.recv(4096)).startswith(b"HTTP/1.1 101")  # wait for the upgrade
        payload = b'{"type":"join","cid":"stalled-client-00001"}'
        await stalled.send(bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)
        try:
            joined = await sender.recv_until(PeerJoined)
            big = "p" * 60_000
            left: list[PeerLeft] = []
            async with trio.open_nursery() as nursery:

                async def read_sender() -> None:
                    # Keep reading: the sender itself must never look like a slow consumer.
                    while True:
                        message = await sender.recv(timeout=30)
                        if isinstance(message, PeerLeft):
                            left.append(message)
                            nursery.cancel_scope.cancel()

                nursery.start_soon(read_sender)
                with trio.fail_after(20):
                    for i in range(5000):
                        await sender.relay(joined.peer, big, sid=i)  # type: ignore[union-attr]
                        await trio.lowlevel.checkpoint()
                    await trio.sleep_forever()
            assert left == [PeerLeft(peer=joined.peer, reason="lost")]  # type: ignore[union-attr]
            assert (
                await metric(server.http_port, "p2pshare_rejected_messages_total", "slow-consumer")
                == 1
            )
            # Everyone else is unaffected.
            await sender.relay(h.peer, "still here")
            relayed = await healthy.recv_until(Relayed)
            assert isinstance(relayed, Relayed) and relayed.from_ == s.peer
        finally:
            stalled.close()


async def test_flooding_one_room_does_not_disturb_another(start_server: StartServer) -> None:
    server = await start_server()
    quiet_room, noisy_room = SENDER_ROOM, new_room_id()
    async with (
        Client(server.http_port, quiet_room, token=TOKEN) as sender,
        Client(server.http_port, quiet_room) as receiver,
    ):
        s = await sender.join()
        await receiver.join()
        joined = await sender.recv_until(PeerJoined)

        async def flood(n: int) -> None:
            junk = [
                "{",
                "[]",
                '{"type":"relay","to":"x","sid":1,"data":"' + "j" * 30000 + '"}',
                "\x00" * 1000,
                '{"type":"join"}',
            ]
            try:
                async with Client(server.http_port, noisy_room) as flooder:
                    await flooder.join()
                    for i in range(100_000):
                        await flooder.send_raw(junk[(i + n) % len(junk)])
            except trio_websocket.ConnectionClosed:
                pass  # the server cut the flooder off: that is the point

        async with trio.open_nursery() as nursery:
            for n in range(4):
                nursery.start_soon(flood, n)
            # Meanwhile the quiet room relays round trips promptly (a generous liveness bound,
            # not a timing assertion: the flood must not block the relay).
            for i in range(50):
                with trio.fail_after(2):
                    await sender.relay(joined.peer, f"msg {i}", sid=i)  # type: ignore[union-attr]
                    relayed = await receiver.recv_until(Relayed)
                    assert isinstance(relayed, Relayed) and relayed.data == f"msg {i}"
                    await receiver.relay(s.peer, f"ack {i}", sid=i)
                    ack = await sender.recv_until(Relayed)
                    assert isinstance(ack, Relayed) and ack.data == f"ack {i}"
            nursery.cancel_scope.cancel()
    # The server is still healthy for newcomers.
    async with Client(server.http_port, new_room_id()) as late:
        await late.join()


async def test_room_survives_its_grace_period_then_goes(start_server: StartServer) -> None:
    server = await start_server(room_grace_s=0.5)
    room = SENDER_ROOM
    async with Client(server.http_port, room, token=TOKEN) as sender:
        first = await sender.join()
    # Within the grace period the room lives on, and a token that is not the room's is refused.
    assert await room_count(server.http_port) == 1
    async with Client(server.http_port, room, token="another-creator-token") as other:
        await other.send_raw(encode_client_message_join(other.cid, other.token))
        error = await other.recv()
        assert isinstance(error, ErrorMessage) and error.code is ErrorCode.ROLE_REFUSED
    await trio.sleep(1.0)
    assert await room_count(server.http_port) == 0
    # The creator can always come back (say, after a server restart): same room, same role.
    async with Client(server.http_port, room, token=TOKEN, cid=sender.cid) as again:
        welcome = await again.join()
        assert welcome.role is Role.SENDER and welcome.peer == first.peer


async def http_body(port: int, path: str) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        request = f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        await stream.send_all(request.encode())
        data = b""
        while chunk := await stream.receive_some(4096):
            data += chunk
    return data.partition(b"\r\n\r\n")[2]


async def room_count(port: int) -> int:
    return int(json.loads(await http_body(port, "/healthz"))["rooms"])


async def metric(port: int, name: str, reason: str | None = None) -> int:
    """One value from /metrics (0 when the series does not exist yet)."""
    wanted = f'{name}{{reason="{reason}"}}' if reason else name
    for line in (await http_body(port, "/metrics")).decode().splitlines():
        if line.startswith(wanted + " "):
            return int(line.rsplit(" ", 1)[1])
    return 0


async def test_refusals_are_counted_once_each(start_server: StartServer) -> None:
    server = await start_server(max_frame_bytes=4096)
    async with Client(server.http_port, new_room_id()) as client:
        await client.join()
        await client.send_raw("{broken")
        await client.recv_until(ErrorMessage)
        await client.relay("nobody-is-here", "x")
        await client.recv_until(ErrorMessage)
        await client.send_raw('{"type":"relay","to":"x","sid":1,"data":"%s"}' % ("y" * 5000))
        assert (await client.closed_with())[0] == CloseCode.MESSAGE_TOO_BIG
    port = server.http_port
    assert await metric(port, "p2pshare_rejected_messages_total", "bad-message") == 1
    assert await metric(port, "p2pshare_rejected_messages_total", "unknown-peer") == 1
    assert await metric(port, "p2pshare_rejected_messages_total", "too-big") == 1
    assert await metric(port, "p2pshare_ws_connections_total") == 1


async def test_relays_to_a_peer_that_just_left_do_not_cost_the_sender_its_connection(
    start_server: StartServer,
) -> None:
    """A sender still trickling candidates to a receiver that left gets refusals, not a close."""
    server = await start_server()
    async with Client(server.http_port, SENDER_ROOM, token=TOKEN) as sender:
        await sender.join()
        for i in range(30):
            await sender.relay("receiver-gone-away", f"candidate {i}", sid=i)
            error = await sender.recv_until(ErrorMessage)
            assert isinstance(error, ErrorMessage) and error.code is ErrorCode.UNKNOWN_PEER
        await sender.send_raw('{"type":"ping"}')
        assert (await sender.recv()).__class__.__name__ == "Pong"


async def test_shutdown_tells_peers_going_away(start_server: StartServer) -> None:
    from p2pshare.config import Config, Limits
    from p2pshare.server import serve

    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        addresses = await nursery.start(
            lambda task_status: serve(
                Config(hosts=("127.0.0.1",), http_port=0, stun_port=0, limits=Limits()),
                stop=stop,
                task_status=task_status,
            )
        )
        async with Client(addresses.http_port, new_room_id()) as client:
            await client.join()
            stop.set()
            error = await client.recv_until(ErrorMessage)
            assert isinstance(error, ErrorMessage) and error.code is ErrorCode.SHUTTING_DOWN
            assert (await client.closed_with())[0] == CloseCode.GOING_AWAY


_ = secrets


async def test_room_id_holders_get_no_slot_and_no_word_to_the_sender(
    start_server: StartServer,
) -> None:
    """The demonstrated attack, over real WebSockets: 16 clients that know only the room id
    (from a log, say) tried to fill the room; a real receiver then got room-full, and the
    sender spent its budget on them. Now each is refused (4012) before it holds a slot, the
    sender hears nothing, and the real receiver joins."""
    from p2pshare.signaling.admission import access_key

    server = await start_server()
    access = access_key(secrets.token_bytes(32), SENDER_ROOM)
    async with Client(server.http_port, SENDER_ROOM, token=TOKEN, access=access) as sender:
        await sender.join()
        for _ in range(16):
            async with Client(server.http_port, SENDER_ROOM) as fake:
                await fake.send_raw(encode_client_message_join(fake.cid))
                error = await fake.recv_until(ErrorMessage)
                assert isinstance(error, ErrorMessage)
                assert error.code is ErrorCode.ADMISSION_REFUSED
                assert (await fake.closed_with())[0] == CloseCode.ADMISSION_REFUSED
        async with Client(server.http_port, SENDER_ROOM, access=access) as real:
            welcome = await real.join()
            arrival = await sender.recv_until(PeerJoined)
            assert isinstance(arrival, PeerJoined) and arrival.peer == welcome.peer
        # Nothing of the 16 reached the sender (the first frame after its welcome was the real one).
        assert sender.welcome is not None and sender.welcome.peers == ()
