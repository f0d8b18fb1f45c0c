"""Room admission by proof of the link's secret (admission.py, room.py): a room id alone holds
no slot and reaches no sender. Events in, effects out; and the shared vectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from p2pshare.signaling.admission import access_key, join_proof, proof_matches
from p2pshare.signaling.messages import (
    CloseCode,
    ErrorCode,
    Join,
    PeerJoined,
    Role,
    SignalingError,
    Welcome,
    decode_client_message,
)
from p2pshare.signaling.room import Close, Deliver, Room, RoomSettings, creator_room_id

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "admission.json").read_text())
TOKEN = "creator-token-0123456789"
ROOM = creator_room_id(TOKEN)
SECRET = bytes(range(32))
ACCESS = access_key(SECRET, ROOM)
SETTINGS = RoomSettings(max_receivers=16, heartbeat_s=5.0, max_frame_bytes=65536)


def cid(n: int) -> str:
    return f"client-id-{n:08d}"


def sender_join() -> Join:
    return Join(cid=cid(0), token=TOKEN, access=ACCESS)


def receiver_join(n: int, secret: bytes = SECRET) -> Join:
    return Join(cid=cid(n), proof=join_proof(access_key(secret, ROOM), ROOM, cid(n)))


def test_the_shared_vectors() -> None:
    assert len(VECTORS["cases"]) >= 2
    for case in VECTORS["cases"]:
        key = access_key(bytes.fromhex(case["secret_hex"]), case["room"])
        assert key == case["access"]
        assert join_proof(key, case["room"], case["cid"]) == case["proof"]
        assert proof_matches(key, case["room"], case["cid"], case["proof"])
        assert not proof_matches(key, case["room"], case["cid"] + "x", case["proof"])


def test_sixteen_id_holders_get_no_slot_and_a_real_receiver_joins() -> None:
    """The demonstrated attack: with only the room id, fill the room so that a real receiver
    gets room-full. Now each is refused (4012) and the sender hears of none of them."""
    room = Room(ROOM, SETTINGS)
    sender_effects = room.join("s", sender_join())
    assert isinstance(sender_effects[-1], Deliver)
    for n in range(1, 17):
        with pytest.raises(SignalingError) as refused:
            room.join(f"fake{n}", Join(cid=cid(n)))  # no proof: the link's fragment is missing
        assert refused.value.code is ErrorCode.ADMISSION_REFUSED
        assert refused.value.close is CloseCode.ADMISSION_REFUSED
        with pytest.raises(SignalingError):
            room.join(f"forged{n}", receiver_join(100 + n, secret=b"\x01" * 32))  # a wrong key
    assert room.receiver_count == 0
    effects = room.join("real", receiver_join(99))
    assert any(isinstance(e, Deliver) and isinstance(e.message, Welcome) for e in effects)
    assert [e.message for e in effects if isinstance(e, Deliver) and e.conn == "s"] == [
        PeerJoined(peer=effects[0].message.peer, role=Role.RECEIVER)  # type: ignore[union-attr]
    ]


def test_before_the_sender_registers_receivers_are_on_probation() -> None:
    """After a restart the room is new: receivers may be back first. Those without a good proof
    are closed when the sender registers its key; the sender never sees them."""
    room = Room(ROOM, SETTINGS)
    room.join("real", receiver_join(1))
    room.join("fake", Join(cid=cid(2)))
    assert room.receiver_count == 2
    effects = room.join("s", sender_join())
    closes = [e for e in effects if isinstance(e, Close)]
    assert [(c.conn, c.code) for c in closes] == [("fake", CloseCode.ADMISSION_REFUSED)]
    welcome = next(
        e.message for e in effects if isinstance(e, Deliver) and isinstance(e.message, Welcome)
    )
    assert [p.role for p in welcome.peers] == [Role.RECEIVER]  # only the real one
    assert room.receiver_count == 1
    # Once known, the key is kept while the room lives (the sender's page may reload).
    with pytest.raises(SignalingError):
        room.join("late-fake", Join(cid=cid(3)))


def test_a_receiver_reconnecting_proves_again() -> None:
    room = Room(ROOM, SETTINGS)
    room.join("s", sender_join())
    room.join("r1", receiver_join(1))
    with pytest.raises(SignalingError):  # same client id, no proof: not its slot
        room.join("r1-again", Join(cid=cid(1)))
    effects = room.join("r1-again", receiver_join(1))
    assert Close("r1", ErrorCode.REPLACED, effects[0].reason) in effects  # type: ignore[union-attr]


def test_join_fields_are_validated_at_the_edge() -> None:
    frame = json.dumps({"type": "join", "cid": cid(1), "proof": "short"})
    with pytest.raises(SignalingError) as bad:
        decode_client_message(frame, 65536)
    assert bad.value.code is ErrorCode.BAD_MESSAGE
    ok = json.dumps({"type": "join", "cid": cid(1), "proof": join_proof(ACCESS, ROOM, cid(1))})
    assert isinstance(decode_client_message(ok, 65536), Join)
    # `$` would let a trailing newline through (Python's regex): the patterns end with \Z.
    for field, value in (
        ("cid", cid(1) + "\n"),
        ("proof", join_proof(ACCESS, ROOM, cid(1)) + "\n"),
    ):
        frame = json.dumps({"type": "join", "cid": cid(1), **{field: value}})
        with pytest.raises(SignalingError):
            decode_client_message(frame, 65536)


def test_a_sender_must_register_the_key_and_roles_keep_to_their_fields() -> None:
    """Review finding: a sender join without `access` left the room open while it was there."""
    room = Room(ROOM, SETTINGS)
    for join in (
        Join(cid=cid(0), token=TOKEN),
        Join(cid=cid(0), token=TOKEN, access=ACCESS, proof=ACCESS),
    ):
        with pytest.raises(SignalingError) as refused:
            room.join("s", join)
        assert refused.value.close is CloseCode.ADMISSION_REFUSED
    room.join("s", sender_join())
    with pytest.raises(SignalingError):  # a receiver cannot bring a key of its own
        room.join("r", Join(cid=cid(1), access=ACCESS, proof=join_proof(ACCESS, ROOM, cid(1))))
    assert room.access == ACCESS and room.receiver_count == 0
