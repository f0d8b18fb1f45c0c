"""The room state machine, with no I/O: events in, effects out."""

from __future__ import annotations

import pytest

from p2pshare.signaling.admission import access_key, join_proof
from p2pshare.signaling.messages import (
    CloseCode,
    ErrorCode,
    Join,
    PeerJoined,
    PeerLeft,
    Relay,
    Relayed,
    Role,
    SignalingError,
    Welcome,
)
from p2pshare.signaling.room import Close, Deliver, Room, RoomSettings, creator_room_id, peer_id_for

TOKEN = "creator-token-0123456789"
ROOM = creator_room_id(TOKEN)
SETTINGS = RoomSettings(max_receivers=2, heartbeat_s=5.0, max_frame_bytes=65536)


def cid(n: int) -> str:
    return f"client-id-{n:08d}"


# Everyone in these tests holds the link's secret: the sender registers the room's access key,
# receivers prove it (admission is tested on its own in test_admission.py).
ACCESS = access_key(bytes(range(32)), ROOM)


def proof(n: int) -> str:
    return join_proof(ACCESS, ROOM, cid(n))


def sender_join(n: int) -> Join:
    return Join(cid=cid(n), token=TOKEN, access=ACCESS)


def receiver_join(n: int) -> Join:
    return Join(cid=cid(n), proof=proof(n))


def welcome_of(effects: list[Deliver | Close], conn: object) -> Welcome:
    (welcome,) = [
        e.message
        for e in effects
        if isinstance(e, Deliver) and e.conn == conn and isinstance(e.message, Welcome)
    ]
    assert isinstance(welcome, Welcome)
    return welcome


@pytest.fixture
def room() -> Room:
    return Room(ROOM, SETTINGS)


def test_creator_token_makes_the_sender_and_link_holders_receivers(room: Room) -> None:
    sender = welcome_of(room.join("s", sender_join(1)), "s")
    assert sender.role is Role.SENDER and sender.peers == () and sender.room == ROOM
    effects = room.join("r", receiver_join(2))
    receiver = welcome_of(effects, "r")
    assert receiver.role is Role.RECEIVER
    assert [(p.peer, p.role) for p in receiver.peers] == [(sender.peer, Role.SENDER)]
    assert Deliver("s", PeerJoined(peer=receiver.peer, role=Role.RECEIVER)) in effects


def test_creator_room_ids_are_valid_room_ids_and_one_way() -> None:
    from p2pshare.signaling.messages import is_valid_room_id

    assert is_valid_room_id(ROOM) and len(ROOM) == 22
    assert TOKEN not in ROOM and creator_room_id(TOKEN + "x") != ROOM


def test_peer_id_is_stable_per_room_and_cid_and_hides_the_cid(room: Room) -> None:
    welcome = welcome_of(room.join("a", receiver_join(1)), "a")
    assert welcome.peer == peer_id_for(ROOM, cid(1))
    assert cid(1) not in welcome.peer
    assert peer_id_for("another-room-123456", cid(1)) != welcome.peer


def test_only_the_token_the_room_id_was_made_from_gets_the_sender_role(room: Room) -> None:
    # Even in a fresh room (after a server restart), a link holder cannot claim the sender role.
    with pytest.raises(SignalingError) as caught:
        room.join("x", Join(cid=cid(2), token="someone-else-token-01"))
    assert caught.value.code is ErrorCode.ROLE_REFUSED
    room.join("s", sender_join(1))
    with pytest.raises(SignalingError) as caught:
        room.join("x", Join(cid=cid(2), token="someone-else-token-01"))
    assert caught.value.code is ErrorCode.ROLE_REFUSED
    assert caught.value.close is CloseCode.ROLE_REFUSED


def test_same_cid_replaces_the_old_connection_without_peer_left(room: Room) -> None:
    room.join("s", sender_join(1))
    first = welcome_of(room.join("r1", receiver_join(2)), "r1")
    effects = room.join("r2", receiver_join(2))
    assert welcome_of(effects, "r2").peer == first.peer
    closes = [e for e in effects if isinstance(e, Close)]
    assert closes == [Close("r1", ErrorCode.REPLACED, closes[0].reason)]
    assert Deliver("s", PeerJoined(peer=first.peer, role=Role.RECEIVER)) in effects
    assert not any(isinstance(e, Deliver) and isinstance(e.message, PeerLeft) for e in effects)
    # The replaced connection going away later changes nothing.
    assert room.disconnect("r1", clean=False) == []
    assert room.peer_count == 2


def test_sender_reload_keeps_the_role(room: Room) -> None:
    room.join("s1", sender_join(1))
    room.disconnect("s1", clean=True)
    welcome = welcome_of(room.join("s2", sender_join(1)), "s2")
    assert welcome.role is Role.SENDER


def test_sender_with_the_token_on_a_new_tab_replaces_the_old_sender(room: Room) -> None:
    old = welcome_of(room.join("s1", sender_join(1)), "s1")
    room.join("r", receiver_join(2))
    effects = room.join("s2", sender_join(3))
    assert any(
        isinstance(e, Close) and e.conn == "s1" and e.code is CloseCode.REPLACED for e in effects
    )
    assert Deliver("r", PeerLeft(peer=old.peer, reason="left")) in effects


def test_room_full_counts_receivers_only(room: Room) -> None:
    room.join("s", sender_join(1))
    room.join("r1", receiver_join(2))
    room.join("r2", receiver_join(3))
    with pytest.raises(SignalingError) as caught:
        room.join("r3", receiver_join(4))
    assert caught.value.close is CloseCode.ROOM_FULL
    # A present receiver reconnecting is not a new one.
    room.join("r2b", receiver_join(3))


def test_relay_sets_from_and_reaches_only_the_target(room: Room) -> None:
    s = welcome_of(room.join("s", sender_join(1)), "s")
    r = welcome_of(room.join("r", receiver_join(2)), "r")
    room.join("r2", receiver_join(3))
    assert room.relay("r", Relay(to=s.peer, sid=7, data="x")) == [
        Deliver("s", Relayed(from_=r.peer, sid=7, data="x"))
    ]
    assert room.relay("s", Relay(to=r.peer, sid=8, data="y")) == [
        Deliver("r", Relayed(from_=s.peer, sid=8, data="y"))
    ]


@pytest.mark.parametrize(
    ("source", "target", "code"),
    [
        ("r1", "r2", ErrorCode.NOT_ALLOWED),
        ("s", "s", ErrorCode.NOT_ALLOWED),
        ("s", "nobody", ErrorCode.UNKNOWN_PEER),
    ],
)
def test_relay_refusals_are_not_fatal(
    room: Room, source: str, target: str, code: ErrorCode
) -> None:
    peers = {
        "s": welcome_of(room.join("s", sender_join(1)), "s").peer,
        "r1": welcome_of(room.join("r1", receiver_join(2)), "r1").peer,
        "r2": welcome_of(room.join("r2", receiver_join(3)), "r2").peer,
    }
    with pytest.raises(SignalingError) as caught:
        room.relay(source, Relay(to=peers.get(target, "nobody"), sid=1, data="x"))
    assert caught.value.code is code and not caught.value.fatal


def test_relay_before_join_is_fatal(room: Room) -> None:
    with pytest.raises(SignalingError) as caught:
        room.relay("stranger", Relay(to="x", sid=1, data="x"))
    assert caught.value.code is ErrorCode.JOIN_FIRST and caught.value.fatal


def test_disconnect_tells_the_others_left_or_lost(room: Room) -> None:
    s = welcome_of(room.join("s", sender_join(1)), "s")
    r = welcome_of(room.join("r", receiver_join(2)), "r")
    assert room.disconnect("r", clean=False) == [Deliver("s", PeerLeft(peer=r.peer, reason="lost"))]
    room.join("r", receiver_join(2))
    assert room.disconnect("s", clean=True) == [Deliver("r", PeerLeft(peer=s.peer, reason="left"))]
    room.disconnect("r", clean=True)
    assert room.is_empty


def test_second_join_and_unknown_version_are_refused(room: Room) -> None:
    room.join("a", receiver_join(1))
    with pytest.raises(SignalingError) as caught:
        room.join("a", receiver_join(1))
    assert caught.value.code is ErrorCode.ALREADY_JOINED
    with pytest.raises(SignalingError) as caught:
        room.join("b", Join(cid=cid(2), v=99, proof=proof(2)))
    assert caught.value.close is CloseCode.PROTOCOL_ERROR


def test_a_cid_cannot_switch_roles(room: Room) -> None:
    room.join("s", sender_join(1))
    with pytest.raises(SignalingError) as caught:
        room.join("s2", receiver_join(1))
    assert caught.value.code is ErrorCode.ROLE_REFUSED
