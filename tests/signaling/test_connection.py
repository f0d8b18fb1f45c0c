"""The connection's rules (connection.py), sans-IO: frames and the time in, the state out."""

from __future__ import annotations

import collections

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2pshare.config import Limits
from p2pshare.signaling.connection import (
    CONN_TRANSITIONS,
    MAX_BAD_MESSAGES_IN_A_ROW,
    NEARBY_REQUESTS,
    ROOM_REQUESTS,
    Connection,
    ConnectionRules,
    ConnState,
    IllegalTransition,
    Verdict,
)
from p2pshare.signaling.messages import (
    CLOSE_CODE_FOR_ERROR,
    CloseCode,
    ErrorCode,
    ErrorMessage,
    Join,
    Ping,
    Pong,
    Relay,
    SignalingError,
    decode_server_message,
    encode_client_message,
)
from p2pshare.signaling.nearby_messages import (
    NearJoin,
    NearName,
    NearRelay,
    decode_nearby_client_message,
)

LIMITS = Limits()
JOIN = encode_client_message(Join(cid="c" * 22, proof="p" * 43))
RELAY = encode_client_message(Relay(to="peer-1", sid=1, data="sealed"))
PING = encode_client_message(Ping())
PONG = encode_client_message(Pong())


class Counted(collections.Counter[ErrorCode]):
    def count(self, code: ErrorCode) -> None:
        self[code] += 1


def make(limits: Limits = LIMITS) -> tuple[Connection, Counted]:
    counted = Counted()
    return Connection(ConnectionRules(limits, counted.count), now_s=100.0), counted


def joined(limits: Limits = LIMITS) -> tuple[Connection, Counted]:
    conn, counted = make(limits)
    assert isinstance(conn.receive_join(JOIN, 100.0, Join), Join)
    conn.joined(100.0)
    return conn, counted


def sent(conn: Connection) -> list[object]:
    out = []
    while (text := conn.pop_outgoing()) is not None:
        out.append(decode_server_message(text))
    return out


def error_codes(conn: Connection) -> list[ErrorCode]:
    return [m.code for m in sent(conn) if isinstance(m, ErrorMessage)]


# --- the join gate ---------------------------------------------------------------------


def test_a_join_first_moves_to_joining_and_is_handed_to_the_room() -> None:
    conn, _ = make()
    assert conn.state is ConnState.AWAITING_JOIN
    join = conn.receive_join(JOIN, 101.0, Join)
    assert isinstance(join, Join) and join.proof == "p" * 43
    assert conn.state is ConnState.JOINING
    conn.joined(101.5)
    assert conn.state is ConnState.JOINED and conn.outbox == ()


@pytest.mark.parametrize(
    ("first", "code"),
    [
        (RELAY, ErrorCode.JOIN_FIRST),
        (PING, ErrorCode.JOIN_FIRST),
        ("{not json", ErrorCode.BAD_MESSAGE),
        ('{"type": "join"}', ErrorCode.BAD_MESSAGE),
        (b"\x00binary", ErrorCode.BAD_MESSAGE),
        ("x" * (LIMITS.max_frame_bytes + 1), ErrorCode.TOO_BIG),
    ],
)
def test_anything_but_a_valid_join_first_ends_the_connection(
    first: str | bytes, code: ErrorCode
) -> None:
    conn, counted = make()
    assert conn.receive_join(first, 101.0, Join) is None
    assert conn.state is ConnState.ENDED and not conn.aborted
    assert error_codes(conn) == [code]
    assert conn.close_code == CLOSE_CODE_FOR_ERROR[code] and conn.close_reason
    assert counted == {code: 1}


def test_no_join_by_the_deadline_ends_with_join_timeout() -> None:
    conn, _ = make()
    assert conn.join_deadline_s == 100.0 + LIMITS.join_timeout_s
    conn.join_timed_out()
    assert conn.state is ConnState.ENDED and conn.close_code == CloseCode.PROTOCOL_ERROR
    assert error_codes(conn) == [ErrorCode.JOIN_TIMEOUT]


def test_the_join_deadline_means_nothing_once_joined() -> None:
    conn, _ = joined()
    conn.join_timed_out()
    assert conn.state is ConnState.JOINED


def test_the_shell_cannot_skip_the_join_gate() -> None:
    conn, _ = make()
    with pytest.raises(IllegalTransition):
        conn.receive(RELAY, 101.0, ROOM_REQUESTS)  # reading relays before the join
    with pytest.raises(IllegalTransition):
        conn.joined(101.0)  # joining without a join
    conn, _ = joined()
    with pytest.raises(IllegalTransition):
        conn.joined(101.0)
    with pytest.raises(IllegalTransition):
        conn.receive_join(JOIN, 101.0, Join)


# --- joined: relays, pings, refusals ---------------------------------------------------


def test_relays_go_to_the_room_and_pings_get_a_pong() -> None:
    conn, _ = joined()
    relay = conn.receive(RELAY, 101.0, ROOM_REQUESTS)
    assert isinstance(relay, Relay) and relay.data == "sealed"
    assert conn.receive(PING, 101.0, ROOM_REQUESTS) is None and sent(conn) == [Pong()]
    assert conn.receive(PONG, 101.0, ROOM_REQUESTS) is None and sent(conn) == []


def test_a_second_join_is_answered_not_fatal() -> None:
    conn, _ = joined()
    assert conn.receive(JOIN, 101.0, ROOM_REQUESTS) is None
    assert conn.state is ConnState.JOINED and error_codes(conn) == [ErrorCode.ALREADY_JOINED]


def test_room_refusals_are_frames_and_fatal_ones_end_it() -> None:
    conn, counted = joined()
    conn.reject(SignalingError(ErrorCode.UNKNOWN_PEER, "gone"), 101.0)
    assert conn.state is ConnState.JOINED and error_codes(conn) == [ErrorCode.UNKNOWN_PEER]
    conn.reject(SignalingError(ErrorCode.ROOM_FULL, "full", fatal=True), 101.0)
    assert conn.state is ConnState.ENDED and conn.close_code == CloseCode.ROOM_FULL
    assert counted == {ErrorCode.UNKNOWN_PEER: 1, ErrorCode.ROOM_FULL: 1}


def test_malformed_messages_in_a_row_end_it_and_a_good_one_resets_the_count() -> None:
    conn, _ = joined()
    for _ in range(MAX_BAD_MESSAGES_IN_A_ROW):
        conn.receive("{bad", 101.0, ROOM_REQUESTS)
    assert conn.state is ConnState.JOINED
    conn.receive(PONG, 101.0, ROOM_REQUESTS)  # parsed: the count starts again
    for _ in range(MAX_BAD_MESSAGES_IN_A_ROW):
        conn.receive(b"binary", 101.0, ROOM_REQUESTS)
    assert conn.state is ConnState.JOINED
    assert error_codes(conn) == [ErrorCode.BAD_MESSAGE] * 2 * MAX_BAD_MESSAGES_IN_A_ROW
    conn.receive("{bad", 101.0, ROOM_REQUESTS)
    assert conn.state is ConnState.ENDED and conn.close_code == CloseCode.PROTOCOL_ERROR
    assert conn.close_reason == "too many invalid messages"


def test_an_unknown_peer_is_not_bad_input() -> None:
    """A sender talking to a receiver that just left is not cut off for it."""
    conn, _ = joined()
    for _ in range(3 * MAX_BAD_MESSAGES_IN_A_ROW):
        assert conn.receive(RELAY, 101.0, ROOM_REQUESTS) is not None
        conn.reject(SignalingError(ErrorCode.UNKNOWN_PEER, "gone"), 101.0)
        sent(conn)
    assert conn.state is ConnState.JOINED


# --- the rate limit --------------------------------------------------------------------


def test_over_the_rate_messages_are_dropped_with_one_error_frame_a_second() -> None:
    conn, counted = joined()
    passed = sum(
        conn.receive(RELAY, 101.0, ROOM_REQUESTS) is not None
        for _ in range(LIMITS.message_burst + 50)
    )
    assert passed == LIMITS.message_burst
    assert error_codes(conn) == [ErrorCode.RATE_LIMITED]  # one frame for 50 drops
    assert counted[ErrorCode.RATE_LIMITED] == 50
    refilled = int(0.5 * LIMITS.message_rate_per_s)
    passed = sum(conn.receive(RELAY, 101.5, ROOM_REQUESTS) is not None for _ in range(refilled + 5))
    assert passed == refilled and error_codes(conn) == []  # under a second since the frame
    passed = sum(conn.receive(RELAY, 102.1, ROOM_REQUESTS) is not None for _ in range(60))
    assert passed < 60 and error_codes(conn) == [ErrorCode.RATE_LIMITED]
    assert conn.state is ConnState.JOINED


def test_far_over_the_rate_ends_it() -> None:
    conn, _ = joined()
    for _ in range(LIMITS.message_burst + LIMITS.max_dropped_messages):
        conn.receive(RELAY, 101.0, ROOM_REQUESTS)
    assert conn.state is ConnState.JOINED
    conn.receive(RELAY, 101.0, ROOM_REQUESTS)
    assert conn.state is ConnState.ENDED and conn.close_code == CloseCode.RATE_LIMITED


def test_a_message_within_the_rate_resets_the_dropped_count() -> None:
    conn, _ = joined()
    now = 101.0
    for _ in range(LIMITS.message_burst):
        conn.receive(RELAY, now, ROOM_REQUESTS)
    for _ in range(5):  # 5 rounds of max_dropped_messages drops, one passing message between
        for _ in range(LIMITS.max_dropped_messages):
            conn.receive(RELAY, now, ROOM_REQUESTS)
        now += 1.5 / LIMITS.message_rate_per_s
        assert conn.receive(RELAY, now, ROOM_REQUESTS) is not None
    assert conn.state is ConnState.JOINED


# --- the heartbeat's verdicts ----------------------------------------------------------


def test_heartbeat_pings_the_silent_and_drops_the_dead() -> None:
    conn, _ = joined()
    assert conn.heartbeat(100.0 + LIMITS.heartbeat_interval_s - 0.1) is Verdict.FINE
    assert conn.heartbeat(100.0 + LIMITS.heartbeat_interval_s) is Verdict.PING
    assert sent(conn) == [Ping()]
    conn.receive(PONG, 106.0, ROOM_REQUESTS)  # heard: fine again
    assert conn.heartbeat(106.0 + 1) is Verdict.FINE
    assert conn.heartbeat(106.0 + LIMITS.heartbeat_timeout_s + 0.1) is Verdict.SILENT
    assert conn.state is ConnState.ENDED and conn.aborted and conn.outbox == ()
    assert conn.close_code == CloseCode.HEARTBEAT_TIMEOUT


def test_heartbeat_cuts_off_a_peer_whose_queue_makes_no_progress() -> None:
    conn, _ = joined()
    conn.queue('{"type":"ping"}', 101.0)
    conn.receive(PONG, 110.0, ROOM_REQUESTS)  # it talks, but does not read
    assert conn.heartbeat(101.0 + LIMITS.heartbeat_timeout_s) is not Verdict.NOT_READING
    assert conn.heartbeat(101.1 + LIMITS.heartbeat_timeout_s) is Verdict.NOT_READING
    assert conn.close_code == CloseCode.SLOW_CONSUMER and conn.aborted


def test_write_progress_keeps_a_busy_reader_alive() -> None:
    conn, _ = joined()
    now = 101.0
    for _ in range(40):  # a steady stream, always a frame waiting, each one written
        conn.queue('{"type":"ping"}', now)
        conn.queue('{"type":"ping"}', now)
        conn.pop_outgoing()
        conn.wrote(now)
        conn.receive(PONG, now, ROOM_REQUESTS)
        now += 1.0
        assert conn.heartbeat(now) in (Verdict.FINE, Verdict.PING)


def test_heartbeat_leaves_the_join_gate_to_its_deadline() -> None:
    conn, _ = make()
    assert conn.heartbeat(100.0 + 10 * LIMITS.heartbeat_timeout_s) is Verdict.FINE
    assert conn.state is ConnState.AWAITING_JOIN


# --- the queues and the end ------------------------------------------------------------


def test_a_full_queue_means_not_reading_in_messages_or_bytes() -> None:
    conn, _ = joined()
    for _ in range(LIMITS.send_queue_messages):
        conn.queue("{}", 101.0)
    assert conn.state is ConnState.JOINED
    conn.queue("{}", 101.0)
    assert conn.state is ConnState.ENDED and conn.aborted and conn.outbox_bytes == 0
    assert conn.close_code == CloseCode.SLOW_CONSUMER

    conn, _ = joined()
    conn.queue("x" * (LIMITS.send_queue_bytes - 10), 101.0)
    conn.queue("x" * 11, 101.0)
    assert conn.state is ConnState.ENDED and conn.close_code == CloseCode.SLOW_CONSUMER


def test_the_end_sends_its_error_then_closes_and_nothing_after() -> None:
    conn, counted = joined()
    conn.queue('{"type":"ping"}', 101.0)
    conn.end(SignalingError(ErrorCode.REPLACED, "r" * 300, fatal=True))
    assert [type(m) for m in sent(conn)] == [Ping, ErrorMessage]
    assert conn.close_code == CloseCode.REPLACED and conn.close_reason == "r" * 120
    conn.queue('{"type":"ping"}', 102.0)
    conn.end(SignalingError(ErrorCode.RATE_LIMITED, "later", fatal=True))
    assert conn.receive(RELAY, 102.0, ROOM_REQUESTS) is None
    assert conn.outbox == () and conn.close_code == CloseCode.REPLACED
    assert counted == {ErrorCode.REPLACED: 1}


def test_a_client_cut_off_by_the_websocket_layer_for_size_is_counted() -> None:
    conn, counted = joined()
    conn.disconnected(1009)
    assert conn.state is ConnState.ENDED and counted == {ErrorCode.TOO_BIG: 1}
    assert conn.close_code == CloseCode.NORMAL


def test_every_error_that_can_end_a_connection_has_a_close_code() -> None:
    never_fatal = {code for code, close in CLOSE_CODE_FOR_ERROR.items() if close is None}
    assert never_fatal == {
        ErrorCode.ALREADY_JOINED,
        ErrorCode.UNKNOWN_PEER,
        ErrorCode.NOT_ALLOWED,
    }
    with pytest.raises(ValueError):
        SignalingError(ErrorCode.UNKNOWN_PEER, "x", fatal=True)
    assert SignalingError(ErrorCode.BAD_MESSAGE, "x").as_fatal().close is CloseCode.PROTOCOL_ERROR


# --- any sequence of inputs ------------------------------------------------------------

FRAMES = [JOIN, RELAY, PING, PONG, "{bad", b"bin", "x" * (LIMITS.max_frame_bytes + 1)]
Step = tuple[str, int, float]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["frame", "reject", "heartbeat", "queue", "write", "timeout", "bye"]),
            st.integers(0, len(FRAMES) - 1),
            st.floats(0.0, 3.0),
        ),
        max_size=80,
    )
)
def test_any_inputs_keep_the_invariants(steps: list[Step]) -> None:
    small = Limits(send_queue_messages=8, message_burst=4, max_dropped_messages=6)
    conn, _ = make(small)
    now = 100.0
    for kind, index, dt in steps:
        now += dt
        before = conn.state
        if kind == "frame":
            if conn.state is ConnState.AWAITING_JOIN:
                if conn.receive_join(FRAMES[index], now, Join) is not None:
                    assert conn.state is ConnState.JOINING
                    before = conn.state
                    conn.joined(now)
            else:
                conn.receive(FRAMES[index], now, ROOM_REQUESTS)
        elif kind == "reject":
            code = list(ErrorCode)[index]
            fatal = CLOSE_CODE_FOR_ERROR[code] is not None and index % 2 == 0
            conn.reject(SignalingError(code, "no", fatal=fatal), now)
        elif kind == "heartbeat":
            conn.heartbeat(now)
        elif kind == "queue":
            conn.queue('["' + "x" * 40 * index + '"]', now)
        elif kind == "write":
            if conn.pop_outgoing() is not None:
                conn.wrote(now)
        elif kind == "timeout":
            conn.join_timed_out()
        else:
            conn.disconnected(1000 + index)
        assert conn.state is before or conn.state in CONN_TRANSITIONS[before]
        assert conn.outbox_bytes == sum(len(t) for t in conn.outbox)
        assert len(conn.outbox) <= small.send_queue_messages + 1  # + the closing error frame
        if conn.aborted:
            assert conn.state is ConnState.ENDED and conn.outbox == ()
        for text in conn.outbox:
            msgspec.json.decode(text)  # only whole frames are queued


# --- a nearby group's connection: the same rules, the near-* frames -------------------

NEAR_JOIN = '{"type":"near-join","v":1,"cid":"%s","name":"Amber Otter","device":""}' % ("c" * 22)
NEAR_RELAY = '{"type":"near-relay","to":"peer-1","data":"x"}'
NEAR_NAME = '{"type":"near-name","name":"Blue Heron"}'


def nearby(limits: Limits = LIMITS) -> tuple[Connection, Counted]:
    counted = Counted()
    rules = ConnectionRules(limits, counted.count, decode_nearby_client_message)
    return Connection(rules, now_s=100.0), counted


def test_a_nearby_connection_hands_over_its_join_then_names_and_relays() -> None:
    conn, _ = nearby()
    join = conn.receive_join(NEAR_JOIN, 100.0, NearJoin)
    assert isinstance(join, NearJoin) and join.name == "Amber Otter"
    conn.joined(100.0)
    assert conn.receive(NEAR_RELAY, 100.0, NEARBY_REQUESTS) == NearRelay(to="peer-1", data="x")
    assert conn.receive(NEAR_NAME, 100.0, NEARBY_REQUESTS) == NearName(name="Blue Heron")
    assert conn.receive(PING, 100.0, NEARBY_REQUESTS) is None and sent(conn) == [Pong()]
    assert conn.receive(NEAR_JOIN, 100.0, NEARBY_REQUESTS) is None
    assert error_codes(conn) == [ErrorCode.ALREADY_JOINED]


@pytest.mark.parametrize("first", [NEAR_NAME, NEAR_RELAY, JOIN, RELAY, "{bad"])
def test_a_nearby_connection_must_start_with_near_join(first: str) -> None:
    conn, _ = nearby()
    assert conn.receive_join(first, 100.0, NearJoin) is None
    assert conn.ended and conn.close_code == CloseCode.PROTOCOL_ERROR


def test_a_room_connection_refuses_near_join_first() -> None:
    conn, _ = make()
    assert conn.receive_join(NEAR_JOIN, 100.0, Join) is None
    assert conn.ended and conn.close_code == CloseCode.PROTOCOL_ERROR


def test_room_frames_on_a_joined_nearby_connection_are_bad_messages() -> None:
    conn, _ = nearby()
    conn.receive_join(NEAR_JOIN, 100.0, NearJoin)
    conn.joined(100.0)
    assert conn.receive(RELAY, 100.0, NEARBY_REQUESTS) is None
    bad_name = '{"type":"near-name","name":"a\\u202eb"}'
    assert conn.receive(bad_name, 100.0, NEARBY_REQUESTS) is None
    assert error_codes(conn) == [ErrorCode.BAD_MESSAGE, ErrorCode.BAD_MESSAGE]
    assert not conn.ended
    for _ in range(MAX_BAD_MESSAGES_IN_A_ROW):
        conn.receive(bad_name, 100.0, NEARBY_REQUESTS)
    assert conn.ended and conn.close_code == CloseCode.PROTOCOL_ERROR


def test_a_nearby_connection_has_the_rooms_message_rate() -> None:
    conn, counted = nearby()
    conn.receive_join(NEAR_JOIN, 100.0, NearJoin)
    conn.joined(100.0)
    passed = sum(
        conn.receive(NEAR_RELAY, 100.0, NEARBY_REQUESTS) is not None
        for _ in range(LIMITS.message_burst + 50)
    )
    assert passed == LIMITS.message_burst and counted[ErrorCode.RATE_LIMITED] == 50
