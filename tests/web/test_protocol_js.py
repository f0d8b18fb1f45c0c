"""web/js/protocol.js is the server's contract: the same codes, types and roles as
p2pshare/signaling/messages.py, and the same verdict on the same frames (the examples in
docs/protocol.md and hostile ones). The page may be stricter than the server, never laxer."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest

from p2pshare.signaling.messages import (
    ClientMessage,
    CloseCode,
    ErrorCode,
    Role,
    ServerMessage,
    decode_client_message,
    decode_server_message,
)

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "protocol.md").read_text()
NODE_PROGRAM = """
import * as p from './js/protocol.js';
import { readFileSync } from 'node:fs';
const frames = JSON.parse(readFileSync(0, 'utf8'));
const verdicts = frames.map((f) => { try { p.parseServerFrame(f); return true; } catch (e) {
  if (!(e instanceof p.ProtocolError)) throw e; return false; } });
const { CLOSE, ERROR, ROLE, CLIENT_TYPES, SERVER_TYPES, MAX_PAYLOAD_CHARS, SIGNALING_VERSION } = p;
console.log(JSON.stringify({ CLOSE, ERROR, ROLE, CLIENT_TYPES, SERVER_TYPES, MAX_PAYLOAD_CHARS,
  SIGNALING_VERSION, verdicts }));
"""

PEER = "AAAAAAAAAAAAAAAA"
WELCOME = {
    "type": "welcome",
    "v": 1,
    "room": "r" * 22,
    "peer": PEER,
    "role": "sender",
    "peers": [{"peer": "BBBBBBBBBBBBBBBB", "role": "receiver"}],
    "heartbeat_s": 5.0,
    "max_frame_bytes": 65536,
}
RELAY = {"type": "relay", "from": PEER, "sid": 3, "data": "sealed"}


def variant(base: dict[str, Any], **changes: Any) -> str:
    message = {**base, **changes}
    return json.dumps({k: v for k, v in message.items() if v is not ...})


# (frame, the verdict both must give); True: a server message; False: refused by both.
TURN = {"urls": ["turn:turn.example.org:3478"], "username": "1:p2pshare", "credential": "c2VjcmV0"}
VECTORS: list[tuple[str, bool]] = [
    (json.dumps(WELCOME), True),
    (json.dumps(RELAY), True),
    (variant(RELAY, sid=2**53 - 1), True),
    (variant(RELAY, data="x" * 65536), True),
    ('{"type": "ping"}', True),
    ('{"type": "pong"}', True),
    ('{"type": "peer-left", "peer": "%s", "reason": "lost"}' % PEER, True),
    ('{"type": "peer-joined", "peer": "%s", "role": "receiver"}' % PEER, True),
    ('{"type": "error", "code": "room-full", "message": "full"}', True),
    (variant(WELCOME, turn=[]), True),
    (variant(WELCOME, turn=[TURN]), True),
    (variant(WELCOME, turn=[{**TURN, "urls": ["stun:x:3478"]}]), False),  # TURN only
    (variant(WELCOME, turn=[{**TURN, "urls": []}]), False),
    (variant(WELCOME, turn=[{**TURN, "extra": 1}]), False),
    (variant(WELCOME, turn=[{k: v for k, v in TURN.items() if k != "credential"}]), False),
    (variant(WELCOME, turn=[TURN] * 9), False),
    (variant(WELCOME, extra=1), False),
    (variant(WELCOME, peers=...), False),
    (variant(WELCOME, role="admin"), False),
    (variant(WELCOME, peers=[{"peer": PEER, "role": "sender", "x": 1}]), False),
    (variant(WELCOME, max_frame_bytes="65536"), False),
    (variant(RELAY, sid=1.5), False),
    (variant(RELAY, sid="1"), False),
    (variant(RELAY, data=7), False),
    (variant(RELAY, **{"from": ...}), False),
    (variant(RELAY, to=PEER), False),
    ('{"type": "peer-left", "peer": "%s", "reason": "kicked"}' % PEER, False),
    ('{"type": "error", "code": "no-such-code", "message": ""}', False),
    ('{"type": "ping", "extra": true}', False),
    ('{"type": "join", "cid": "%s"}' % ("c" * 22), False),
    ('{"type": "__proto__"}', False),
    ('{"type": "toString"}', False),
    ("[]", False),
    ("null", False),
    ('"welcome"', False),
    ("{not json", False),
    ("{}", False),
]
# Refused by the page although the server's decoder takes them: the page is stricter.
PAGE_STRICTER: list[str] = [
    variant(RELAY, data=""),  # the server never relays an empty payload (Payload min_length)
    variant(RELAY, sid=2**53),  # no session id past JavaScript's safe integers
    variant(RELAY, sid=-1),  # the server only relays sids it validated (SessionId: ge=0)
    variant(WELCOME, heartbeat_s=-1),
    variant(WELCOME, peer="not a peer id!"),
]
EXAMPLES = [
    text.strip()
    for side, text in re.findall(r"```json (client|server)\n(.*?)```", DOC, re.S)
    if side == "server"
]


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed to test the web client's protocol module"
    frames = [f for f, _ in VECTORS] + PAGE_STRICTER + EXAMPLES
    done = subprocess.run(
        [node, "--input-type=module", "-e", NODE_PROGRAM],
        input=json.dumps(frames),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO / "web",
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def server_accepts(frame: str) -> bool:
    try:
        decode_server_message(frame)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False
    return True


def test_close_codes_error_codes_and_roles_are_the_servers(js: dict[str, Any]) -> None:
    assert js["CLOSE"] == {code.name: code.value for code in CloseCode}
    assert js["ERROR"] == {code.name: code.value for code in ErrorCode}
    assert js["ROLE"] == {role.name: role.value for role in Role}
    assert js["SIGNALING_VERSION"] == 1


def test_message_types_are_the_servers(js: dict[str, Any]) -> None:
    tags = lambda union: sorted(t.__struct_config__.tag for t in get_args(union))  # noqa: E731
    assert sorted(js["SERVER_TYPES"]) == tags(ServerMessage)
    assert sorted(js["CLIENT_TYPES"]) == tags(ClientMessage)


def test_the_payload_limit_is_the_servers(js: dict[str, Any]) -> None:
    limit = js["MAX_PAYLOAD_CHARS"]
    relay = '{"type": "relay", "to": "%s", "sid": 1, "data": "%s"}'
    decode_client_message(relay % (PEER, "x" * limit), 10**6)
    with pytest.raises(Exception, match="length"):
        decode_client_message(relay % (PEER, "x" * (limit + 1)), 10**6)


def test_both_decoders_give_the_same_verdict_on_the_vectors(js: dict[str, Any]) -> None:
    verdicts = js["verdicts"]
    for (frame, expected), page in zip(VECTORS, verdicts[: len(VECTORS)], strict=True):
        assert (server_accepts(frame), page) == (expected, expected), frame


def test_the_page_is_never_laxer_than_the_server(js: dict[str, Any]) -> None:
    page = js["verdicts"][len(VECTORS) : len(VECTORS) + len(PAGE_STRICTER)]
    for frame, accepted in zip(PAGE_STRICTER, page, strict=True):
        assert server_accepts(frame) and not accepted, frame


def test_the_documented_server_examples_pass_the_page(js: dict[str, Any]) -> None:
    assert EXAMPLES
    page = js["verdicts"][len(VECTORS) + len(PAGE_STRICTER) :]
    for frame, accepted in zip(EXAMPLES, page, strict=True):
        assert accepted and server_accepts(frame), frame
