"""The Python decoders and the browser's give the same verdict on thousands of frames that
neither set of vectors lists: valid frames and bodies mutated at random (a field dropped,
added, or given a value of another type or at a limit) from a fixed seed, and paths made of
the characters the rules are about. One Node process judges the whole batch."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from p2pshare.peer import paths, wire
from p2pshare.peer.errors import PathError, SealedBodyError, WireError
from p2pshare.peer.sealed_bodies import decode_sealed_body
from tests.node import node_json
from tests.peer.vectors import BODY_VERDICTS, VALID_FRAMES

PROGRAM = """
import { readFileSync } from 'node:fs';
const { parseControl, WireError } = await import('./js/wire.js');
const { parseSealedBody, ProtocolError } = await import('./js/protocol.js');
const { pathProblem, checkOfferPaths, PathError } = await import('./js/transfer/paths.js');
const input = JSON.parse(readFileSync(process.env.P2PSHARE_DIFF_INPUT, 'utf8'));
const verdict = (run, type) => { try { run(); return 'ok'; } catch (e) {
  if (!(e instanceof type)) return `threw ${e?.name}`; return e.frameType ?? 'refused'; } };
console.log(JSON.stringify({
  frames: input.frames.map((t) => verdict(() => parseControl(t), WireError)),
  bodies: input.bodies.map((b) => verdict(() => parseSealedBody(b), ProtocolError)),
  paths: input.paths.map((p) => pathProblem(p)),
  offers: input.offers.map((o) => {
    try { checkOfferPaths(o.map((path) => ({ path }))); return null; }
    catch (e) { if (!(e instanceof PathError)) throw e; return e.message; } }),
}));
"""

ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    1,
    -1,
    1.5,
    2**53 - 1,
    2**53,
    5,  # a lane's n: the last extra lane
    6,  # MAX_LANES: the most a want's lanes may say, one more than a lane's n
    7,
    1048576,
    1048577,
    "",
    "x",
    "0" * 64,
    "ab" * 32,
    "AB" * 32,
    "\U0001f600" * 100,
    "\U0001f600" * 101,
    "x" * 200,
    "x" * 256,
    [],
    [{}],
    {},
    {"f": 0, "from": 0, "chain": None},
    {"path": "a", "size": 1, "mtime": 0, "type": ""},
    {"k": "answer", "sdp": "v=0"},  # a lane's s, valid
    {"k": "cand", "c": None},
    {"k": "hello"},  # a sealed body, but not a lane's
    wire.PROTOCOL,
    "toString",
]
SAFE_CHARS = "aAZ9._ -/\u00e9e\u0301\u017f\u212aCONULPTcom1\u00b9$\u200d"
TRICKY_CHARS = (
    '\\:<|*?"\u200b\u200c\u202e\u0085\x00\x7f\U0001f3f4\U000e0067\U000e007f\U000e0041'
    "\uff0f\u2215\ud800\u3164"
)


def random_path(rng: random.Random) -> str:
    device = rng.choice(["", "", "", "con", "Nul", "com\u00b9", "LPT9", "conout$", "aux"])
    return device + "".join(
        rng.choice(TRICKY_CHARS if rng.random() < 0.05 else SAFE_CHARS)
        for _ in range(rng.randint(1, 12))
    )


def mutate(rng: random.Random, message: dict[str, Any]) -> dict[str, Any]:
    out = dict(message)
    for _ in range(rng.randint(1, 2)):
        keys = [k for k in out if k not in ("t", "k")]
        roll = rng.random()
        if roll < 0.2 and keys:
            del out[rng.choice(keys)]
        elif roll < 0.3:
            added = ["extra", "len", "from", "c", "files", "sdp", "lanes", "n", "sid", "s", "k"]
            out[rng.choice(added)] = rng.choice(ODD_VALUES)
        elif keys:
            key = rng.choice(keys)
            value = out[key]
            if isinstance(value, list) and value and rng.random() < 0.5:
                item = dict(value[0]) if isinstance(value[0], dict) else {}
                if item:
                    item[rng.choice(list(item))] = rng.choice(ODD_VALUES)
                out[key] = [item, *value[1:]]
            elif isinstance(value, dict) and value:
                item = dict(value)
                item[rng.choice(list(item))] = rng.choice(ODD_VALUES)
                out[key] = item
            else:
                out[key] = rng.choice(ODD_VALUES)
    return out


def python_frame_verdict(text: str) -> str:
    try:
        wire.parse_control(text)
    except WireError as error:
        return error.frame_type or "refused"
    return "ok"


def python_body_verdict(body: Any) -> str:
    try:
        decode_sealed_body(body)
    except SealedBodyError:
        return "refused"
    return "ok"


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rng = random.Random(13)
    frames = [json.dumps(mutate(rng, rng.choice(VALID_FRAMES))) for _ in range(3000)]
    valid_bodies = [b for b, ok in BODY_VERDICTS if ok and isinstance(b, dict)]
    bodies = [mutate(rng, rng.choice(valid_bodies)) for _ in range(2000)]
    path_list = [random_path(rng) for _ in range(3000)]
    offers = [
        [
            rng.choice(["a", "A", "b", "a/b", "A/c", "\u00e9", "e\u0301", "x/y/z", "X"])
            for _ in range(3)
        ]
        for _ in range(500)
    ]
    path_file = tmp_path_factory.mktemp("diff") / "input.json"
    inputs = {"frames": frames, "bodies": bodies, "paths": path_list, "offers": offers}
    path_file.write_text(json.dumps(inputs))
    js: dict[str, Any] = node_json(PROGRAM, env={"P2PSHARE_DIFF_INPUT": str(path_file)})
    return {**inputs, "js": js}


def _differences(inputs: list[Any], python: list[Any], js: list[Any]) -> list[tuple[Any, Any, Any]]:
    return [(i, p, j) for i, p, j in zip(inputs, python, js, strict=True) if p != j]


def test_control_frames_get_the_same_verdict(batch: dict[str, Any]) -> None:
    python = [python_frame_verdict(t) for t in batch["frames"]]
    assert _differences(batch["frames"], python, batch["js"]["frames"])[:5] == []
    assert 0.1 < python.count("ok") / len(python) < 0.9  # the mutations reach both verdicts
    lanes = [v for t, v in zip(batch["frames"], python, strict=True) if '"t": "lane"' in t]
    assert len(lanes) > 100 and {"ok", "lane"} <= set(lanes)  # lane frames: both verdicts too


def test_sealed_bodies_get_the_same_verdict(batch: dict[str, Any]) -> None:
    python = [python_body_verdict(b) for b in batch["bodies"]]
    assert _differences(batch["bodies"], python, batch["js"]["bodies"])[:5] == []
    assert 0.1 < python.count("ok") / len(python) < 0.9


def test_paths_get_the_same_problem(batch: dict[str, Any]) -> None:
    python = [paths.path_problem(p) for p in batch["paths"]]
    assert _differences(batch["paths"], python, batch["js"]["paths"])[:5] == []
    assert 0.05 < python.count(None) / len(python) < 0.95


def _offer_error(offer: list[str]) -> str | None:
    try:
        paths.check_offer_paths(offer)
    except PathError as error:
        return str(error)
    return None


def test_offers_get_the_same_error(batch: dict[str, Any]) -> None:
    python = [_offer_error(o) for o in batch["offers"]]
    assert _differences(batch["offers"], python, batch["js"]["offers"])[:5] == []
    assert 0.05 < python.count(None) / len(python) < 0.95
