"""p2pshare.peer.guards and the sender's session limits, as a hostile receiver drives them."""

from __future__ import annotations

from p2pshare.peer.guards import ALARM_INTERVAL_MS, WANT_BURST, AlarmGate, WantGate
from p2pshare.peer.send_session import HIGH_WATER_BYTES, SendSession
from p2pshare.peer.send_state import SendState
from p2pshare.peer.wire import WINDOW_BLOCKS, WantEntry


def test_a_flood_of_wants_costs_one_plan_a_tick() -> None:
    gate: WantGate[WantEntry] = WantGate(0)
    planned = [gate.offer([WantEntry(0, n, None)], 0) for n in range(WANT_BURST + 3)]
    assert [p.act is not None for p in planned] == [True] * WANT_BURST + [False] * 3
    assert planned[WANT_BURST].retry_in_ms == 250 and planned[WANT_BURST + 1].retry_in_ms is None
    late = gate.due(250)
    assert late.act == [WantEntry(0, WANT_BURST + 2, None)]  # only the latest is kept


def test_a_want_naming_a_file_twice_sends_it_once_and_invented_acks_count_for_nothing() -> None:
    session = SendSession(0)
    session.channel_opened()
    sizes = [3 << 20]
    assert session.want([WantEntry(0, 0, None), WantEntry(0, 2, "ab" * 32)], sizes, 0).plan
    assert len(session.queue) == 1 and session.state == SendState.TRANSFERRING
    assert not session.ack(0, 0, sizes, 1)  # nothing in flight
    session.started(True, sizes)
    for _ in range(WINDOW_BLOCKS):
        assert session.window_open(0)
        session.block_sent(1 << 20)
    assert not session.window_open(0)
    assert not session.window_open(HIGH_WATER_BYTES + 1)


def test_bad_envelopes_get_one_reply_a_minute() -> None:
    gate = AlarmGate()
    assert gate.admit("p", 0) and not gate.admit("p", ALARM_INTERVAL_MS - 1)
    assert gate.admit("p", ALARM_INTERVAL_MS) and gate.admit("q", 1)
