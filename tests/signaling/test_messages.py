"""Decoding of client frames: validation, limits, and fuzzing."""

from __future__ import annotations

import json

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pshare.signaling.messages import (
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
