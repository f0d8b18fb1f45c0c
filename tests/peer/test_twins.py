"""p2pshare.peer and web/js share one definition of each constant, enum and state table: the
Python values equal what the browser's modules export (read through Node), and the tables are
docs/protocol.md's."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest

from p2pshare.peer import (
    guards,
    link,
    paths,
    receive_file,
    repair,
    sealed_bodies,
    send_session,
    signing,
    wire,
)
from p2pshare.peer.receive_file import FINAL_STATES, TRANSITIONS, FileState
from p2pshare.peer.receive_phase import FINAL_PHASES, PHASE_TRANSITIONS, Phase
from p2pshare.peer.send_state import (
    ENDED_STATES,
    FRAME_STATES,
    SEND_TRANSITIONS,
    SendReason,
    SendState,
)
from tests.node import node_json
from tests.web.test_transfer_doc import doc_tables

PROGRAM = """
const [w, ss, g, p, pr, sg, l, h, st, rf, rp, rs, rr] = await Promise.all(
  ['wire', 'transfer/send-session', 'transfer/guards', 'transfer/paths', 'protocol', 'signing',
   'link', 'hashing', 'transfer/send-state', 'transfer/receive-file',
   'transfer/receive-phase', 'receive-stream', 'transfer/repair',
  ].map((m) => import(`./js/${m}.js`)));
console.log(JSON.stringify({
  PROTOCOL: w.PROTOCOL, BLOCK_SIZE: w.BLOCK_SIZE, CHUNK_SIZE: w.CHUNK_SIZE,
  WINDOW_BLOCKS: w.WINDOW_BLOCKS, MAX_FILES: w.MAX_FILES,
  MAX_TEXT_BYTES: w.MAX_TEXT_BYTES, MAX_TEXT_ITEMS: w.MAX_TEXT_ITEMS,
  CHAIN_START: Array.from(w.CHAIN_START),
  HIGH_WATER_BYTES: ss.HIGH_WATER_BYTES, GONE_AFTER_SILENCE_MS: ss.GONE_AFTER_SILENCE_MS,
  WANT_RATE_PER_S: g.WANT_RATE_PER_S, WANT_BURST: g.WANT_BURST,
  ALARM_INTERVAL_MS: g.ALARM_INTERVAL_MS,
  MAX_COMPONENT_BYTES: p.MAX_COMPONENT_BYTES, MAX_PATH_BYTES: p.MAX_PATH_BYTES,
  MAX_SDP_CHARS: pr.MAX_SDP_CHARS, SEALED_KINDS: pr.SEALED_KINDS,
  SIGNATURE_CHARS: sg.SIGNATURE_CHARS,
  ROOM_ID_BYTES: l.ROOM_ID_BYTES, SECRET_BYTES: l.SECRET_BYTES,
  EMPTY_SHA256: h.EMPTY_SHA256, MAX_BAD_BLOCKS: rs.MAX_BAD_BLOCKS,
  MAX_ICE_RESTARTS: rr.MAX_ICE_RESTARTS, NEGOTIATION_PATIENCE_MS: rr.NEGOTIATION_PATIENCE_MS,
  REPAIR_ROLES: rr.REPAIR_ROLES, Repair: rr.Repair,
  SendState: st.SendState, SendReason: st.SendReason, SEND_TRANSITIONS: st.SEND_TRANSITIONS,
  ENDED_STATES: st.ENDED_STATES, FRAME_STATES: st.FRAME_STATES,
  FileState: rf.FileState, TRANSITIONS: rf.TRANSITIONS, FINAL_STATES: rf.FINAL_STATES,
  Phase: rp.Phase, PHASE_TRANSITIONS: rp.PHASE_TRANSITIONS, FINAL_PHASES: rp.FINAL_PHASES,
}));
"""


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    exported: dict[str, Any] = node_json(PROGRAM)
    return exported


def test_the_constants_are_the_browsers(js: dict[str, Any]) -> None:
    python = {
        "PROTOCOL": wire.PROTOCOL,
        "BLOCK_SIZE": wire.BLOCK_SIZE,
        "CHUNK_SIZE": wire.CHUNK_SIZE,
        "WINDOW_BLOCKS": wire.WINDOW_BLOCKS,
        "MAX_FILES": paths.MAX_FILES,
        "MAX_TEXT_BYTES": wire.MAX_TEXT_BYTES,
        "MAX_TEXT_ITEMS": wire.MAX_TEXT_ITEMS,
        "CHAIN_START": list(wire.CHAIN_START),
        "HIGH_WATER_BYTES": send_session.HIGH_WATER_BYTES,
        "GONE_AFTER_SILENCE_MS": send_session.GONE_AFTER_SILENCE_MS,
        "WANT_RATE_PER_S": guards.WANT_RATE_PER_S,
        "WANT_BURST": guards.WANT_BURST,
        "ALARM_INTERVAL_MS": guards.ALARM_INTERVAL_MS,
        "MAX_COMPONENT_BYTES": paths.MAX_COMPONENT_BYTES,
        "MAX_PATH_BYTES": paths.MAX_PATH_BYTES,
        "MAX_SDP_CHARS": sealed_bodies.MAX_SDP_CHARS,
        "SEALED_KINDS": list(sealed_bodies.SEALED_KINDS),
        "SIGNATURE_CHARS": signing.SIGNATURE_CHARS,
        "ROOM_ID_BYTES": link.ROOM_ID_BYTES,
        "SECRET_BYTES": link.SECRET_BYTES,
        "EMPTY_SHA256": wire.EMPTY_SHA256,
        "MAX_BAD_BLOCKS": receive_file.MAX_BAD_BLOCKS,
        "MAX_ICE_RESTARTS": repair.MAX_ICE_RESTARTS,
        "NEGOTIATION_PATIENCE_MS": repair.NEGOTIATION_PATIENCE_MS,
        "REPAIR_ROLES": {
            role: {
                "minIntervalMs": p.min_interval_ms,
                "channelLostCheckMs": p.channel_lost_check_ms,
            }
            for role, p in repair.REPAIR_ROLES.items()
        },
    }
    assert python == {name: js[name] for name in python}


def test_the_sealed_kinds_are_the_unions() -> None:
    tags = [t.__struct_config__.tag for t in sealed_bodies.SealedBody.__args__]
    assert tags == list(sealed_bodies.SEALED_KINDS)


@pytest.mark.parametrize(
    "name, enum",
    [
        ("SendState", SendState),
        ("SendReason", SendReason),
        ("FileState", FileState),
        ("Phase", Phase),
        ("Repair", repair.Repair),
    ],
)
def test_the_enums_are_the_browsers(js: dict[str, Any], name: str, enum: type[StrEnum]) -> None:
    assert js[name] == {member.name: member.value for member in enum}


def _table(table: Any) -> dict[str, list[str]]:
    return {str(state): [str(to) for to in targets] for state, targets in table.items()}


def test_the_state_tables_are_the_browsers_and_the_documents(js: dict[str, Any]) -> None:
    python = [_table(TRANSITIONS), _table(PHASE_TRANSITIONS), _table(SEND_TRANSITIONS)]
    assert python == [js["TRANSITIONS"], js["PHASE_TRANSITIONS"], js["SEND_TRANSITIONS"]]
    assert python == doc_tables()


def test_the_state_sets_are_the_browsers(js: dict[str, Any]) -> None:
    for name, states in [
        ("ENDED_STATES", ENDED_STATES),
        ("FRAME_STATES", FRAME_STATES),
        ("FINAL_STATES", FINAL_STATES),
        ("FINAL_PHASES", FINAL_PHASES),
    ]:
        assert js[name] == [str(s) for s in states], name
