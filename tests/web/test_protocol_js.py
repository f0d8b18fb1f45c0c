"""web/js/protocol.js is the server's contract: the same codes, types and roles as
p2pshare/signaling/messages.py (nearby groups': nearby_messages.py), and the same verdict on
the same frames (the examples in docs/protocol.md and hostile ones). The page may be stricter
than the server, never laxer."""

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
from p2pshare.signaling.nearby_messages import (
    NEARBY_MAX_DATA_CHARS,
    NEARBY_MAX_NAME_UNITS,
    NEARBY_MAX_PEERS_LISTED,
    NEARBY_PATH_PREFIX,
    NearbyClientMessage,
    NearbyServerMessage,
    decode_nearby_server_message,
)

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "protocol.md").read_text()
NODE_PROGRAM = """
import * as p from './js/protocol.js';
import { readFileSync } from 'node:fs';
const { room, nearby } = JSON.parse(readFileSync(0, 'utf8'));
const verdict = (parse) => (f) => { try { parse(f); return true; } catch (e) {
  if (!(e instanceof p.ProtocolError)) throw e; return false; } };
const verdicts = room.map(verdict(p.parseServerFrame));
const nearbyVerdicts = nearby.map(verdict(p.parseNearbyFrame));
const { CLOSE, ERROR, ROLE, CLIENT_TYPES, SERVER_TYPES, MAX_PAYLOAD_CHARS, SIGNALING_VERSION,
  NEARBY, NEARBY_CLIENT_TYPES, NEARBY_SERVER_TYPES } = p;
console.log(JSON.stringify({ CLOSE, ERROR, ROLE, CLIENT_TYPES, SERVER_TYPES, MAX_PAYLOAD_CHARS,
  SIGNALING_VERSION, NEARBY, NEARBY_CLIENT_TYPES, NEARBY_SERVER_TYPES, verdicts,
  nearbyVerdicts }));
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
# The Nearby section's server examples (near-*, and the ping/pong/error they share with rooms)
# are a nearby connection's; the rest are a room's.
_NEARBY_DOC = DOC.split("### Nearby", 1)[1].split("\n## ", 1)[0]


def _server_examples(text: str) -> list[str]:
    blocks = re.findall(r"```json (client|server)\n(.*?)```", text, re.S)
    return [block.strip() for side, block in blocks if side == "server"]


EXAMPLES = _server_examples(DOC.replace(_NEARBY_DOC, ""))
NEARBY_EXAMPLES = _server_examples(_NEARBY_DOC)

# --- nearby: the same, for parseNearbyFrame against decode_nearby_server_message ---
NEAR_PEER = "BBBBBBBBBBBBBBBB"
# Bidi overrides and isolates, marks, zero-width, BOM, controls, a line separator.
REFUSED_IN_NAMES = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
REFUSED_IN_NAMES += "\u200e\u200f\u061c\u200b\u200d\ufeff\u00ad\x00\x1b\n\x85\u2028\u2029"
NEAR_INFO = {"id": NEAR_PEER, "name": "Amber Otter", "device": "Chrome on Linux"}
NEAR_WELCOME = {"type": "near-welcome", "you": PEER, "peers": [NEAR_INFO]}
NEAR_PEER_FRAME = {"type": "near-peer", **NEAR_INFO}
NEAR_RELAYED = {"type": "near-relayed", "from": NEAR_PEER, "data": "opaque"}
NEARBY_VECTORS: list[tuple[str, bool]] = [
    (json.dumps(NEAR_WELCOME), True),
    (variant(NEAR_WELCOME, peers=[]), True),
    (variant(NEAR_WELCOME, peers=[NEAR_INFO] * NEARBY_MAX_PEERS_LISTED), True),
    (json.dumps(NEAR_PEER_FRAME), True),
    (variant(NEAR_PEER_FRAME, device=""), True),
    (variant(NEAR_PEER_FRAME, name="\U0001f9a6" * 24), True),  # 48 UTF-16 units
    (variant(NEAR_PEER_FRAME, name="Zoë Ünïcode 名前"), True),
    ('{"type": "near-left", "id": "%s"}' % NEAR_PEER, True),
    (json.dumps(NEAR_RELAYED), True),
    (variant(NEAR_RELAYED, data="x" * NEARBY_MAX_DATA_CHARS), True),
    ('{"type": "ping"}', True),
    ('{"type": "pong"}', True),
    ('{"type": "error", "code": "nearby-mismatch", "message": "fetch /config.json"}', True),
    ('{"type": "error", "code": "group-full", "message": "full"}', True),
    (variant(NEAR_WELCOME, peers=[NEAR_INFO] * (NEARBY_MAX_PEERS_LISTED + 1)), False),
    (variant(NEAR_WELCOME, peers=[{**NEAR_INFO, "x": 1}]), False),
    (variant(NEAR_WELCOME, peers=[{**NEAR_INFO, "name": "a\u202eb"}]), False),
    (variant(NEAR_WELCOME, you="short"), False),
    (variant(NEAR_WELCOME, extra=1), False),
    (variant(NEAR_WELCOME, peers=...), False),
    (variant(NEAR_PEER_FRAME, name=""), False),
    (variant(NEAR_PEER_FRAME, name=" padded"), False),
    (variant(NEAR_PEER_FRAME, name="x" * (NEARBY_MAX_NAME_UNITS + 1)), False),
    (variant(NEAR_PEER_FRAME, name="\U0001f9a6" * 24 + "x"), False),
    (variant(NEAR_PEER_FRAME, device="d" * (NEARBY_MAX_NAME_UNITS + 1)), False),
    *[(variant(NEAR_PEER_FRAME, name=f"evil{c}gnp.exe"), False) for c in REFUSED_IN_NAMES],
    (variant(NEAR_PEER_FRAME, device="Chrome\u202e"), False),
    (variant(NEAR_PEER_FRAME, name=7), False),
    (variant(NEAR_PEER_FRAME, device=...), False),
    ('{"type": "near-left", "id": "%s", "reason": "lost"}' % NEAR_PEER, False),
    (variant(NEAR_RELAYED, data=""), False),
    (variant(NEAR_RELAYED, data="x" * (NEARBY_MAX_DATA_CHARS + 1)), False),
    (variant(NEAR_RELAYED, sid=1), False),
    (variant(NEAR_RELAYED, **{"from": ...}), False),
    # A room's frames are not a nearby connection's, and the other way round.
    (json.dumps(WELCOME), False),
    (json.dumps(RELAY), False),
    ('{"type": "near-join", "cid": "%s", "name": "x"}' % ("c" * 22), False),
    ('{"type": "__proto__"}', False),
    ("[]", False),
    ("{not json", False),
]


@pytest.fixture(scope="module")
def js() -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is needed to test the web client's protocol module"
    frames = [f for f, _ in VECTORS] + PAGE_STRICTER + EXAMPLES
    near = [f for f, _ in NEARBY_VECTORS] + NEARBY_EXAMPLES
    done = subprocess.run(
        [node, "--input-type=module", "-e", NODE_PROGRAM],
        input=json.dumps({"room": frames, "nearby": near}),
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


def nearby_server_accepts(frame: str) -> bool:
    try:
        decode_nearby_server_message(frame)
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


def test_nearby_types_and_limits_are_the_servers(js: dict[str, Any]) -> None:
    tags = lambda union: sorted(t.__struct_config__.tag for t in get_args(union))  # noqa: E731
    assert sorted(js["NEARBY_SERVER_TYPES"]) == tags(NearbyServerMessage)
    assert sorted(js["NEARBY_CLIENT_TYPES"]) == tags(NearbyClientMessage)
    assert js["NEARBY"] == {
        "PATH_PREFIX": NEARBY_PATH_PREFIX,
        "MAX_NAME_UNITS": NEARBY_MAX_NAME_UNITS,
        "MAX_DATA_CHARS": NEARBY_MAX_DATA_CHARS,
        "MAX_PEERS_LISTED": NEARBY_MAX_PEERS_LISTED,
    }
    assert js["CLOSE"]["NEARBY_MISMATCH"] == CloseCode.NEARBY_MISMATCH == 4013


def test_both_nearby_decoders_give_the_same_verdict(js: dict[str, Any]) -> None:
    verdicts = js["nearbyVerdicts"]
    for (frame, expected), page in zip(
        NEARBY_VECTORS, verdicts[: len(NEARBY_VECTORS)], strict=True
    ):
        assert (nearby_server_accepts(frame), page) == (expected, expected), frame


def test_the_documented_nearby_examples_pass_the_page(js: dict[str, Any]) -> None:
    assert NEARBY_EXAMPLES
    page = js["nearbyVerdicts"][len(NEARBY_VECTORS) :]
    for frame, accepted in zip(NEARBY_EXAMPLES, page, strict=True):
        assert accepted and nearby_server_accepts(frame), frame
