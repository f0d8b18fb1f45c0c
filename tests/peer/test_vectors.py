"""The shared conformance vectors (tests/vectors/) from the Python side: the files are exactly
what tests/peer/vectors.py makes from p2pshare.peer (so the engine that made them still gives
the same bytes), and each kind is also checked directly. web/test/vectors.test.mjs checks the
browser's modules against the same files."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from p2pshare.peer import keys, wire
from p2pshare.peer.encoding import dumps_like_js
from p2pshare.peer.errors import SealedBodyError, SealError, WireError
from p2pshare.peer.receive_file import ReceiveFile
from p2pshare.peer.repair import RepairPolicy
from p2pshare.peer.seal import Sealer
from p2pshare.peer.sealed_bodies import decode_sealed_body
from p2pshare.peer.send_session import SendSession
from p2pshare.peer.signing import sender_public_key, verified_envelope
from tests.peer import traces as t
from tests.peer import vectors as v


def load(name: str) -> Any:
    return json.loads((v.VECTORS / name).read_text())


@pytest.mark.parametrize("name", sorted(v.MAKERS))
def test_the_vector_file_is_what_the_generator_makes(name: str) -> None:
    assert (v.VECTORS / name).read_text() == v.render(v.MAKERS[name]()), (
        f"run `python -m tests.peer.vectors` and review the change to tests/vectors/{name}"
    )


def test_key_derivations() -> None:
    for case in load("keys.json")["derivations"]:
        secret = bytes.fromhex(case["secret_hex"])
        assert keys.key_id(secret, case["room"]) == case["kid"]
        signal = keys.signal_key(secret, case["room"], case["from"], case["to"])
        assert signal.hex() == case["signal_key_hex"]
        assert keys.join_proof(secret, case["room"], case["cid"]) == case["proof"]


def test_sealed_envelopes_open_and_verify() -> None:
    vectors = load("sealed.json")
    for case in vectors["seals"]:
        sealer = Sealer(bytes.fromhex(case["secret_hex"]), case["room"], case["epoch"])
        nonce = bytes.fromhex(case["nonce_hex"])
        assert dumps_like_js(case["body"]) == case["plaintext"]
        sealed = sealer.seal_at(
            case["from"], case["to"], case["sid"], case["seq"], nonce, case["plaintext"].encode()
        )
        assert sealed == case["envelope"]
        assert verified_envelope(sender_public_key(case["seed"]), case["signed"]) == sealed
        opened = sealer.open(case["from"], case["to"], case["sid"], sealed)
        assert (opened.body, opened.epoch, opened.seq) == (case["body"], case["epoch"], case["seq"])
    for case in vectors["refusals"]:
        sealer = Sealer(bytes.fromhex(case["secret_hex"]), case["room"], 1)
        with pytest.raises(SealError) as refused:
            sealer.open(case["from"], case["to"], case["sid"], case["envelope"])
        assert refused.value.kind == case["refused"]
    for case in vectors["bodies"]:
        try:
            decode_sealed_body(case["body"])
        except SealedBodyError:
            assert not case["valid"], case["body"]
        else:
            assert case["valid"], case["body"]


def test_control_frames() -> None:
    vectors = load("wire.json")
    for text in vectors["valid"]:
        assert wire.encode_control(wire.parse_control(text)) == text
    for text in vectors["accepted"]:
        wire.parse_control(text)
    for case in vectors["refused"]:
        with pytest.raises(WireError) as refused:
            wire.parse_control(case["text"])
        assert refused.value.frame_type == case["frameType"], case["text"]


Engine = tuple[Callable[[str, dict[str, Any]], Any], Callable[[], Any]]


def _engine(kind: str, trace: dict[str, Any]) -> Engine:
    """(run one call, snapshot) on a fresh Python engine for a trace of this kind."""
    if kind == "send":
        session, sizes = SendSession(0), trace["sizesBytes"]
        return (lambda c, a: t.send_call(session, sizes, c, a)), lambda: t._send_snapshot(session)
    if kind == "repair":
        policy = RepairPolicy(trace["role"])
        return (lambda c, a: t.repair_call(policy, c, a)), lambda: t._repair_snapshot(policy)
    file = ReceiveFile(trace["sizeBytes"], verified=trace["restoredVerified"])
    return (lambda c, a: t.receive_call(file, c, a)), lambda: t._receive_snapshot(file)


@pytest.mark.parametrize("kind", ["send", "repair", "receive"])
def test_the_traces_replay_on_the_python_engines(kind: str) -> None:
    traces = load("traces.json")[kind]
    assert len(traces) >= 2
    for trace in traces:
        replay = t._Recorder(*_engine(kind, trace))
        for step in trace["steps"]:
            replay(step["call"], **step["args"])
        assert replay.steps == trace["steps"], trace["name"]
