"""Sealed, signed messages cross between the Python peer and the browser's code as they will
in a room: random nonces, each side's own seal() and signature, the other side's open. One
Node run seals for Python and opens what Python sealed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from p2pshare.peer.seal import Sealer
from p2pshare.peer.sealed_bodies import (
    Bye,
    Cand,
    Candidate,
    Hello,
    Offer,
    SealedBody,
    encode_sealed_body,
)
from p2pshare.peer.sealed_channel import SealedChannel, SealedMessage
from p2pshare.peer.signing import new_sender_key
from tests.node import node_json

ROOM = "q8Zb3xN1yW0vT5aLm2Kp9A"
SENDER, RECEIVER = "U2VuZGVyUGVlcklk", "Rk9vQmFyQmF6UXV4"
SECRET = bytes(range(32))
BODIES: list[SealedBody] = [
    Hello(role="sender"),
    Offer(sdp="v=0\r\n", fresh=True, re=1764590400123456),
    Cand(c=Candidate(candidate="candidate:1 1 udp 1 10.0.0.1 9 typ host", sdp_m_line_index=0)),
    Cand(c=None),
    Bye(reason="stopped"),
]
PROGRAM = """
import { readFileSync } from 'node:fs';
const { Sealer } = await import('./js/seal.js');
const { signEnvelope, verifiedEnvelope } = await import('./js/signing.js');
const { parseSealedBody } = await import('./js/protocol.js');
const { fromHex } = await import('./js/util.js');
const input = JSON.parse(readFileSync(process.env.P2PSHARE_SEAL_INPUT, 'utf8'));
const secret = fromHex(input.secretHex);
const page = await new Sealer({ secret, room: input.room, epoch: input.jsEpoch }).init();
const made = [];
for (const body of input.bodies) {
  made.push(await signEnvelope(input.seed, await page.seal(input.sender, input.receiver, 7, body)));
}
const opened = [];
for (const data of input.fromPython) {
  const envelope = await verifiedEnvelope(input.publicKey, data);
  const o = await page.open(input.sender, input.receiver, 7, envelope);
  opened.push({ body: parseSealedBody(o.body), epoch: o.epoch, seq: o.seq });
}
console.log(JSON.stringify({ made, opened }));
"""


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    seed, public = new_sender_key()
    python_sender = SealedChannel(Sealer(SECRET, ROOM, 555), sign_with=seed)
    python_sender.me = SENDER
    from_python = [python_sender.seal_for(RECEIVER, 7, body) for body in BODIES]
    bodies = [json.loads(encode_sealed_body(body)) for body in BODIES]
    path = tmp_path_factory.mktemp("seal") / "input.json"
    path.write_text(
        json.dumps(
            {
                "secretHex": SECRET.hex(),
                "room": ROOM,
                "jsEpoch": 1764590400999000,
                "sender": SENDER,
                "receiver": RECEIVER,
                "seed": seed,
                "publicKey": public,
                "bodies": bodies,
                "fromPython": from_python,
            }
        )
    )
    result: dict[str, Any] = node_json(PROGRAM, env={"P2PSHARE_SEAL_INPUT": str(path)})
    return {"public": public, "bodies": bodies, **result}


def test_the_browser_opens_what_python_sealed_and_signed(exchange: dict[str, Any]) -> None:
    assert exchange["opened"] == [
        {"body": body, "epoch": 555, "seq": n + 1} for n, body in enumerate(exchange["bodies"])
    ]


def test_python_opens_what_the_browser_sealed_and_signed(exchange: dict[str, Any]) -> None:
    receiver = SealedChannel(Sealer(SECRET, ROOM, 1), sender_key=exchange["public"])
    receiver.me = RECEIVER
    got = [receiver.receive(SENDER, 7, data) for data in exchange["made"]]
    assert got == [SealedMessage(SENDER, 7, body, 1764590400999000, False) for body in BODIES]
