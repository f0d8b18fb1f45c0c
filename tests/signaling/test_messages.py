"""Decoding of client frames: validation, limits, and fuzzing."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pshare.signaling.messages import (
    CLOSE_CODE_FOR_ERROR,
    ClientMessage,
    CloseCode,
    ErrorCode,
    Join,
    Ping,
    Relay,
    Relayed,
    SignalingError,
    Welcome,
    decode_client_message,
    decode_server_message,
    encode_client_message,
    encode_server_message,
    is_valid_room_id,
)
from p2pshare.signaling.nearby_messages import (
    NEARBY_MAX_DATA_CHARS,
    NearJoin,
    NearLeft,
    NearName,
    NearPeer,
    NearPeerInfo,
    NearRelay,
    NearRelayed,
    NearWelcome,
    decode_nearby_client_message,
    decode_nearby_server_message,
)

LIMIT = 65536
CID = "abcdefghijklmnop"


def test_join_and_relay_decode() -> None:
    assert decode_client_message('{"type":"join","cid":"%s"}' % CID, LIMIT) == Join(cid=CID)
    assert decode_client_message(
        '{"type":"relay","to":"peer1","sid":2,"data":"xyz"}', LIMIT
    ) == Relay(to="peer1", sid=2, data="xyz")
    assert decode_client_message(b'{"type":"ping"}', LIMIT) == Ping()


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[]",
        "{}",
        '{"type":"nope"}',
        '{"type":"join"}',
        '{"type":"join","cid":"short"}',
        '{"type":"join","cid":"has spaces in it!!"}',
        '{"type":"join","cid":"%s","extra":1}' % CID,
        '{"type":"join","cid":"%s","token":"bad token"}' % CID,
        '{"type":"relay","to":"p","sid":-1,"data":"x"}',
        '{"type":"relay","to":"p","sid":9007199254740992,"data":"x"}',
        '{"type":"relay","to":"p","sid":1,"data":""}',
        '{"type":"relay","to":"","sid":1,"data":"x"}',
        '{"type":"relay","to":"p","sid":"1","data":"x"}',
        '{"type":"welcome"}',
    ],
)
def test_bad_frames_are_bad_messages(frame: str) -> None:
    with pytest.raises(SignalingError) as caught:
        decode_client_message(frame, LIMIT)
    assert caught.value.code is ErrorCode.BAD_MESSAGE and not caught.value.fatal


def test_oversized_frame_is_fatal_with_1009() -> None:
    big = '{"type":"relay","to":"p","sid":1,"data":"%s"}' % ("x" * LIMIT)
    with pytest.raises(SignalingError) as caught:
        decode_client_message(big, LIMIT)
    assert caught.value.code is ErrorCode.TOO_BIG
    assert caught.value.close is CloseCode.MESSAGE_TOO_BIG
    # Multi-byte characters count in bytes, not characters.
    wide = "é" * (LIMIT // 2 + 1)
    with pytest.raises(SignalingError):
        decode_client_message(wide, LIMIT)


def test_server_messages_round_trip() -> None:
    relayed = Relayed(from_="peer", sid=1, data="d")
    text = encode_server_message(relayed)
    assert json.loads(text) == {"type": "relay", "from": "peer", "sid": 1, "data": "d"}
    assert decode_server_message(text) == relayed


def test_room_id_format() -> None:
    assert is_valid_room_id("A" * 16) and is_valid_room_id("a-b_c" * 10)
    assert not is_valid_room_id("A" * 15)
    assert not is_valid_room_id("A" * 65)
    assert not is_valid_room_id("abc/def/ghi/jklmnop")
    assert not is_valid_room_id("ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ")


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_arbitrary_input_only_ever_raises_signaling_error(frame: str | bytes) -> None:
    try:
        message = decode_client_message(frame, 256)
    except SignalingError as error:
        assert error.code in (ErrorCode.BAD_MESSAGE, ErrorCode.TOO_BIG)
    else:
        # Whatever got through is a client message that re-encodes to an equivalent one.
        assert decode_client_message(encode_client_message(message), 256) == message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["join", "relay", "ping", "pong", "welcome", "error", ""]),
    st.dictionaries(
        st.sampled_from(["cid", "token", "v", "to", "sid", "data", "x"]), json_values, max_size=5
    ),
)
def test_structured_garbage_is_validated(kind: str, fields: dict[str, object]) -> None:
    frame = json.dumps({"type": kind, **fields})
    try:
        message = decode_client_message(frame, LIMIT)
    except SignalingError as error:
        assert error.code is ErrorCode.BAD_MESSAGE
        return
    # Whatever decodes re-encodes to an equivalent frame: validation let through nothing odd.
    assert decode_client_message(encode_client_message(message), LIMIT) == message


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True),
    st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9_-]{16,128}", fullmatch=True)),
)
def test_valid_joins_round_trip(cid: str, token: str | None) -> None:
    join = Join(cid=cid, token=token)
    assert decode_client_message(encode_client_message(join), LIMIT) == join


def test_server_decoder_rejects_client_only_types() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_server_message('{"type":"join","cid":"%s"}' % CID)
    welcome = decode_server_message(
        '{"type":"welcome","v":1,"room":"r","peer":"p","role":"sender","peers":[],'
        '"heartbeat_s":5,"max_frame_bytes":1}'
    )
    assert isinstance(welcome, Welcome)


def _unused(_: ClientMessage) -> None: ...


# --- nearby groups -----------------------------------------------------------


def near(**fields: object) -> str:
    return json.dumps(fields)


def near_join(name: object = "Amber Otter", device: object = "Chrome on Linux") -> str:
    return near(type="near-join", v=1, cid=CID, name=name, device=device)


def test_near_frames_decode_and_names_are_trimmed() -> None:
    assert decode_nearby_client_message(near_join(name="  Amber Otter\u3000"), LIMIT) == NearJoin(
        cid=CID, name="Amber Otter", device="Chrome on Linux"
    )
    assert decode_nearby_client_message(
        near(type="near-join", cid=CID, name="x"), LIMIT
    ) == NearJoin(cid=CID, name="x", device="")
    assert decode_nearby_client_message(near(type="near-name", name=" B "), LIMIT) == NearName(
        name="B"
    )
    relay = near(type="near-relay", to="peer1", data="x" * NEARBY_MAX_DATA_CHARS)
    assert decode_nearby_client_message(relay, LIMIT) == NearRelay(
        to="peer1", data="x" * NEARBY_MAX_DATA_CHARS
    )
    assert decode_nearby_client_message('{"type":"ping"}', LIMIT) == Ping()
    # Names count UTF-16 units, as the page does: an emoji is two.
    assert decode_nearby_client_message(near_join(name="\U0001f9a6" * 24), LIMIT)
    assert decode_nearby_client_message(near_join(name="é" * 48, device="d" * 48), LIMIT)


BIDI_AND_INVISIBLE = [
    "\u202a",  # LRE
    "\u202b",  # RLE
    "\u202c",  # PDF
    "\u202d",  # LRO
    "\u202e",  # RLO
    "\u2066",  # LRI
    "\u2067",  # RLI
    "\u2068",  # FSI
    "\u2069",  # PDI
    "\u200e",  # LRM
    "\u200f",  # RLM
    "\u061c",  # ALM
    "\u200b",  # zero width space
    "\u200d",  # ZWJ
    "\ufeff",  # BOM
    "\u00ad",  # soft hyphen
    "\x00",
    "\x1b",
    "\t",
    "\n",
    "\x7f",
    "\x85",  # NEL (C1)
    "\u2028",  # line separator
    "\u2029",  # paragraph separator
]


@pytest.mark.parametrize("char", BIDI_AND_INVISIBLE)
@pytest.mark.parametrize("where", ["name", "device"])
def test_names_with_controls_or_bidi_are_refused(char: str, where: str) -> None:
    text = f"Amber{char}Otter"
    frame = near_join(**{where: text})  # type: ignore[arg-type]
    with pytest.raises(SignalingError) as caught:
        decode_nearby_client_message(frame, LIMIT)
    assert caught.value.code is ErrorCode.BAD_MESSAGE and not caught.value.fatal
    # Also at the edges, where trimming could have hidden it, and in a rename.
    with pytest.raises(SignalingError):
        decode_nearby_client_message(near_join(**{where: char + "Amber"}), LIMIT)  # type: ignore[arg-type]
    with pytest.raises(SignalingError):
        decode_nearby_client_message(near(type="near-name", name=text), LIMIT)


@pytest.mark.parametrize(
    "frame",
    [
        near_join(name=""),
        near_join(name="   "),
        near_join(name="x" * 49),
        near_join(name="\U0001f9a6" * 24 + "x"),  # 49 UTF-16 units
        near_join(device="d" * 49),
        near_join(name=7),
        near_join(name=None),
        near(type="near-join", cid=CID),  # no name
        near(type="near-join", cid="short", name="x"),
        near(type="near-join", cid=CID, name="x", extra=1),
        near(type="near-join", cid=CID, name="x" + " " * 300),  # past the raw bound
        near(type="near-name"),
        near(type="near-name", name=""),
        near(type="near-name", name="x", extra=True),
        near(type="near-relay", to="peer1", data=""),
        near(type="near-relay", to="peer1", data="x" * (NEARBY_MAX_DATA_CHARS + 1)),
        near(type="near-relay", to="", data="x"),
        near(type="near-relay", to="not a peer!", data="x"),
        near(type="near-relay", to="peer1", data=7),
        near(type="near-relay", to="peer1", sid=1, data="x"),
        # Room frames are not part of a nearby connection's protocol, and the other way round.
        near(type="join", cid=CID),
        near(type="relay", to="peer1", sid=1, data="x"),
        near(type="near-welcome", you="A" * 16, peers=[]),
        '"near-join"',
        "{not json",
    ],
)
def test_bad_near_frames_are_bad_messages(frame: str) -> None:
    with pytest.raises(SignalingError) as caught:
        decode_nearby_client_message(frame, LIMIT)
    assert caught.value.code is ErrorCode.BAD_MESSAGE


def test_room_connections_do_not_decode_near_frames() -> None:
    with pytest.raises(SignalingError) as caught:
        decode_client_message(near_join(), LIMIT)
    assert caught.value.code is ErrorCode.BAD_MESSAGE


def test_an_oversize_near_frame_is_too_big() -> None:
    frame = near(type="near-relay", to="peer1", data="é" * NEARBY_MAX_DATA_CHARS)
    with pytest.raises(SignalingError) as caught:
        decode_nearby_client_message(frame, 1024)
    assert caught.value.code is ErrorCode.TOO_BIG and caught.value.close == 1009


def test_near_server_frames_round_trip_and_are_strict() -> None:
    info = NearPeerInfo(id="A" * 16, name="Amber Otter", device="Firefox on Android")
    for message in (
        NearWelcome(you="B" * 16, peers=(info,)),
        NearPeer(id="A" * 16, name="Amber Otter", device=""),
        NearLeft(id="A" * 16),
        NearRelayed(from_="A" * 16, data="opaque"),
    ):
        text = encode_server_message(message)
        assert decode_nearby_server_message(text) == message
    assert '"from":"' in encode_server_message(NearRelayed(from_="A" * 16, data="x"))
    for bad in (
        near(type="near-peer", id="A" * 16, name=" padded", device=""),  # never untrimmed
        near(type="near-peer", id="A" * 16, name="a\u202eb", device=""),
        near(type="near-peer", id="short", name="a", device=""),
        near(type="near-left", id="A" * 16, reason="lost"),
        near(type="near-relayed", **{"from": "A" * 16}, data=""),
    ):
        with pytest.raises(msgspec.ValidationError):
            decode_nearby_server_message(bad)


def test_nearby_close_codes() -> None:
    assert CLOSE_CODE_FOR_ERROR[ErrorCode.NEARBY_MISMATCH] == CloseCode.NEARBY_MISMATCH == 4013
    assert CLOSE_CODE_FOR_ERROR[ErrorCode.GROUP_FULL] == CloseCode.ROOM_FULL
