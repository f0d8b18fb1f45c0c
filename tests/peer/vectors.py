"""The shared conformance vectors (tests/vectors/*.json): how they are made, and the Python
side of replaying them. `python -m tests.peer.vectors` (from the repository) writes them;
tests/peer/test_vectors.py checks that the files are what this makes, and web/test/
vectors.test.mjs checks the browser's modules against the same files, byte for byte.

Everything is fixed or derived from a seed (secrets, nonces, file contents), so the output is
deterministic. The traces (tests/peer/traces.py) are scripts of calls on the state machines;
the Python engine records what each call returns and the state after it, and the JS engine
must give the same.

Why this module is over 300 lines: most of it is the vectors' inputs, one per line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from p2pshare.peer import keys, link, paths, signing, wire
from p2pshare.peer.encoding import b64url, dumps_like_js
from p2pshare.peer.errors import PathError, SealError, WireError
from p2pshare.peer.seal import Sealer
from p2pshare.signaling.room import creator_room_id
from tests.peer.nearby_vectors import nearby_vectors
from tests.peer.traces import traces_vectors

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
MIB = wire.BLOCK_SIZE
SEED = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"  # signatures.json's second seed
SECRETS = (bytes(32), bytes(range(32)))
ROOMS = ("AAAAAAAAAAAAAAAAAAAAAA", "q8Zb3xN1yW0vT5aLm2Kp9A")
SENDER, RECEIVER = "U2VuZGVyUGVlcklk", "Rk9vQmFyQmF6UXV4"


def seeded_bytes(seed: str, size_bytes: int) -> bytes:
    """`size_bytes` of SHA-256(seed || counter as 4 bytes big-endian), counter from 0."""
    out = bytearray()
    counter = 0
    while len(out) < size_bytes:
        out += hashlib.sha256(seed.encode() + counter.to_bytes(4, "big")).digest()
        counter += 1
    return bytes(out[:size_bytes])


# --- keys and links ---------------------------------------------------------------------


def keys_vectors() -> dict[str, Any]:
    derivations = []
    for secret, room in zip(SECRETS, ROOMS, strict=True):
        derivations.append(
            {
                "secret_hex": secret.hex(),
                "room": room,
                "from": SENDER,
                "to": RECEIVER,
                "cid": "Tab-1_of-a_browser-xyz",
                "kid": keys.key_id(secret, room),
                "signal_key_hex": keys.signal_key(secret, room, SENDER, RECEIVER).hex(),
                "reverse_key_hex": keys.signal_key(secret, room, RECEIVER, SENDER).hex(),
                "access": keys.access_key(secret, room),
                "proof": keys.join_proof(secret, room, "Tab-1_of-a_browser-xyz"),
            }
        )
    tokens = ["Y3JlYXRvci10b2tlbi1vZi10aGUtcm9vbQ", "AAAAAAAAAAAAAAAAAAAAAA"]
    secret_text, sender_key = b64url(SECRETS[1]), signing.sender_public_key(SEED)
    good = f"{secret_text}.{sender_key}"
    links = [
        ("/", ""),
        ("/r/short", f"#{good}"),
        (f"/r/{ROOMS[1]}", f"#{good}"),
        (f"/r/{ROOMS[1]}/", f"{good}"),
        (f"/r/{ROOMS[1]}", f"#k={good}"),
        (f"/r/{ROOMS[1]}", f"#k={good}\n"),
        (f"/r/{ROOMS[1]}", ""),
        (f"/r/{ROOMS[1]}", f"#{secret_text}"),
        (f"/r/{ROOMS[1]}", f"#{good[:-1]}"),
        (f"/r/{ROOMS[1]}", f"#{good} trailing"),
        (f"/r/{ROOMS[1][:10]}%2D{ROOMS[1][10:]}", f"#{good}"),
    ]
    parsed = []
    for pathname, fragment in links:
        p = link.parse_link(pathname, fragment)
        parsed.append(
            {
                "pathname": pathname,
                "hash": fragment,
                "page": p.page,
                "room": p.room,
                "secret_hex": p.secret.hex() if p.secret else None,
                "senderKey": p.sender_key,
                "secretState": p.secret_state,
            }
        )
    return {
        "about": (
            "Keys from the link's secret (p2pshare/peer/keys.py, web/js/seal.js and admission.js):"
            " the envelopes' key id, the per-direction AES-256-GCM keys, the access key and a"
            " join proof; creator tokens and their room ids; links as both parsers read them."
        ),
        "derivations": derivations,
        "rooms": [{"token": t, "room": creator_room_id(t)} for t in tokens],
        "build": {
            "origin": "https://share.example:8443",
            "room": ROOMS[1],
            "secret": secret_text,
            "senderKey": sender_key,
            "link": link.build_link(
                "https://share.example:8443", ROOMS[1], secret_text, sender_key
            ),
        },
        "links": parsed,
    }


# --- sealed envelopes -------------------------------------------------------------------

SEAL_BODIES: list[dict[str, Any]] = [
    {"k": "hello", "role": "sender"},
    {"k": "hello", "live": False, "device": "Firefox on Linux — élan"},
    {
        "k": "offer",
        "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n",
        "fresh": True,
        "re": 1764590400123456,
    },
    {
        "k": "cand",
        "c": {
            "candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host",
            "sdpMid": "0",
            "sdpMLineIndex": 0,
        },
    },
    {"k": "cand", "c": None},
    {"k": "bye", "reason": "cancelled"},
    {"k": "alarm"},
]
BODY_VERDICTS: list[tuple[Any, bool]] = [
    *((body, True) for body in SEAL_BODIES),
    ({"k": "answer", "sdp": "v=0"}, True),
    ({"k": "restart", "fresh": True}, True),
    ({"k": "restart"}, True),
    ({"k": "cand", "c": {}}, True),
    ({"k": "cand", "c": {"sdpMid": None, "sdpMLineIndex": None, "usernameFragment": None}}, True),
    ({"k": "hello", "device": "\U0001f600" * 100}, True),  # 200 UTF-16 units
    ({"k": "hello", "device": "\U0001f600" * 101}, False),
    ({"k": "hello", "role": "receiver"}, False),
    ({"k": "hello", "live": None}, False),
    ({"k": "hello", "extra": 1}, False),
    ({"k": "offer", "sdp": "x" * 49153}, False),
    ({"k": "offer", "sdp": "v=0", "re": -1}, False),
    ({"k": "offer", "sdp": "v=0", "iceRestart": True}, False),
    ({"k": "offer", "fresh": True}, False),
    ({"k": "cand"}, False),
    ({"k": "cand", "c": []}, False),
    ({"k": "cand", "c": {"candidate": None}}, False),
    ({"k": "cand", "c": {"sdpMLineIndex": 1025}}, False),
    ({"k": "cand", "c": {"foo": 1}}, False),
    ({"k": "bye", "reason": "x" * 65}, False),
    ({"k": "alarm", "why": "x"}, False),
    ({"k": "toString"}, False),
    ({"k": {"toString": 1}}, False),
    ({"k": "__proto__"}, False),
    ({}, False),
    ([], False),
    (None, False),
    ("hello", False),
]


def sealed_vectors() -> dict[str, Any]:
    seals = []
    for n, body in enumerate(SEAL_BODIES):
        secret, room = SECRETS[n % 2], ROOMS[n % 2]
        epoch, sid, seq = 1764590400123000 + n, n * 3, n + 1
        nonce = hashlib.sha256(f"nonce {n}".encode()).digest()[:12]
        from_peer, to_peer = (SENDER, RECEIVER) if n % 3 else (RECEIVER, SENDER)
        plaintext = dumps_like_js(body)
        envelope = Sealer(secret, room, epoch).seal_at(
            from_peer, to_peer, sid, seq, nonce, plaintext.encode()
        )
        seals.append(
            {
                "secret_hex": secret.hex(),
                "room": room,
                "epoch": epoch,
                "from": from_peer,
                "to": to_peer,
                "sid": sid,
                "seq": seq,
                "nonce_hex": nonce.hex(),
                "body": body,
                "plaintext": plaintext,
                "envelope": envelope,
                "seed": SEED,
                "signed": signing.sign_envelope(SEED, envelope),
            }
        )
    good = seals[1]
    env = good["envelope"]
    head, blob = env.rsplit(".", 1)
    v, kid, epoch_text, seq_text = head.split(".")
    flipped = blob[:-2] + ("A" if blob[-2] != "A" else "B") + blob[-1]
    refusals = [
        ({}, env[:-4] + "!!!!", "malformed"),
        ({}, f"v2.{kid}.{epoch_text}.{seq_text}.{blob}", "malformed"),
        ({}, f"{head}.{blob}.x", "malformed"),
        ({}, f"{v}.{kid}.{epoch_text}.{seq_text}.", "malformed"),
        ({}, f"{v}.{kid}.1{'0' * 16}.{seq_text}.{blob}", "malformed"),  # 17 digits
        ({}, f"{v}.{kid}.{epoch_text}.{seq_text}.{blob[:20]}", "malformed"),  # too short
        (
            {},
            f"{v}.{kid}.{epoch_text}.{seq_text}.{blob[: (len(blob) - 4) // 4 * 4 + 1]}",
            "malformed",
        ),
        ({}, f"{v}.AAAAAAAAAAA.{epoch_text}.{seq_text}.{blob}", "wrong-key"),
        ({}, f"{v}.{kid}.{epoch_text}.{int(seq_text) + 1}.{blob}", "not-authentic"),
        ({}, f"{head}.{flipped}", "not-authentic"),
        ({"sid": good["sid"] + 1}, env, "not-authentic"),  # another session
        ({"from": good["to"], "to": good["from"]}, env, "not-authentic"),  # reflected
        ({"room": ROOMS[0]}, env, "wrong-key"),  # another room: another kid too
    ]
    opens = []
    for changes, envelope, kind in refusals:
        case = {k: good[k] for k in ("secret_hex", "room", "from", "to", "sid")} | changes
        try:
            Sealer(bytes.fromhex(case["secret_hex"]), case["room"], 1).open(
                case["from"], case["to"], case["sid"], envelope
            )
        except SealError as error:
            assert error.kind == kind, (envelope, error)
        else:
            raise AssertionError(envelope)
        opens.append({**case, "envelope": envelope, "refused": kind})
    return {
        "about": (
            "Sealed envelopes (p2pshare/peer/seal.py, web/js/seal.js: Sealer.sealAt with the"
            " nonce and seq given) and the sender's signature on them; envelopes refused, with"
            " the SealError kind; sealed bodies and the strict decoders' verdicts."
        ),
        "seals": seals,
        "refusals": opens,
        "bodies": [{"body": body, "valid": valid} for body, valid in BODY_VERDICTS],
    }


# --- control frames, blocks, paths --------------------------------------------------------

H = "ab" * 32
FILE = {"path": "folder/a.txt", "size": 5, "mtime": 1764590400000, "type": "text/plain"}
TEXT = {
    "path": "Text 1.txt",
    "size": MIB,
    "mtime": 1,
    "type": "text/plain;charset=utf-8",
    "text": True,
}


def _texts(count: int, size: int = 1) -> str:
    """A manifest with `count` text items of `size` bytes."""
    files = [{**TEXT, "path": f"Text {n}.txt", "size": size} for n in range(1, count + 1)]
    return dumps_like_js({"t": "manifest", "id": "x", "blockSize": MIB, "files": files})


VALID_FRAMES: list[dict[str, Any]] = [
    {"t": "hello", "protocol": wire.PROTOCOL},
    {"t": "manifest", "id": "0" * 32, "blockSize": MIB, "missing": 0, "files": [FILE]},
    {"t": "manifest", "id": "", "blockSize": MIB, "missing": 2, "files": []},
    # a text item of the most bytes a text may have, with a file
    {"t": "manifest", "id": "1" * 32, "blockSize": MIB, "missing": 0, "files": [TEXT, FILE]},
    {"t": "start", "f": 0, "from": 3},
    {"t": "block", "f": 1, "i": 2, "len": MIB, "h": H},
    {"t": "block", "f": 0, "i": 0, "len": 1, "h": H},
    {"t": "eof", "f": 0, "sha256": wire.EMPTY_SHA256},
    {"t": "cancel", "reason": "stopped"},
    {"t": "cancel"},
    {"t": "want", "files": [{"f": 0, "from": 0, "chain": None}, {"f": 2, "from": 1, "chain": H}]},
    {"t": "want", "files": []},
    {"t": "ack", "f": 3, "i": 9007199254740991},
    {"t": "fail", "f": 0, "reason": "disk-full"},
    {"t": "fail", "f": 1, "reason": "\u00e9" * 199},
    {"t": "done"},
    {"t": "want", "files": [{"f": 0, "from": 0, "chain": None}], "lanes": 6},
    {"t": "want", "files": [], "lanes": 1},
    {
        "t": "lane",
        "n": 1,
        "sid": 1,
        "s": {"k": "offer", "sdp": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"},
    },
    {"t": "lane", "n": 5, "sid": 9007199254740991, "s": {"k": "answer", "sdp": "v=0"}},
    {
        "t": "lane",
        "n": 2,
        "sid": 7,
        "s": {
            "k": "cand",
            "c": {
                "candidate": "candidate:1 1 udp 1 10.0.0.1 9 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
            },
        },
    },
    {"t": "lane", "n": 2, "sid": 7, "s": {"k": "cand", "c": None}},
]
# Accepted too, though they do not encode back to the same text (wire.js is lax here).
ACCEPTED_FRAMES: list[str] = [
    '{"t":"start","f":1.0,"from":2e0}',  # JSON.parse makes integers of them
    '{"t":"done","extra":1}',  # unknown fields are ignored
    '{"t":"cancel","reason":null}',
    '{"t":"manifest","id":"x","blockSize":1048576,"files":[],"missing":"anything"}',
    '{"t":"manifest","id":"x","blockSize":1048576,"files":[]}',
    '{"t":"ack","f":0,"i":0,"t":"ack"}',
    _texts(16),  # MAX_TEXT_ITEMS
    '{"t":"lane","n":1.0,"sid":2e0,"s":{"k":"answer","sdp":"v=0"},"extra":1}',  # not in `s`
    '{"t":"lane","n":3,"sid":4,"s":{"k":"offer","sdp":"v=0","fresh":true,"re":5}}',
]
# (text, the frame type the refusal names: "" when it had no known type)
REFUSED_FRAMES: list[tuple[str, str]] = [
    ("not json", ""),
    ("[]", ""),
    ("null", ""),
    ('"done"', ""),
    ('{"t":1}', ""),
    ("{}", ""),
    ('{"t":"nope"}', ""),
    # names an object has from its prototype (wire.js once found Object.prototype's)
    ('{"t":"__proto__"}', ""),
    ('{"t":"toString"}', ""),
    ('{"t":"constructor","files":[]}', ""),
    ('{"t":"hasOwnProperty"}', ""),
    ('{"t":"hello","protocol":"p2pshare-transfer/2"}', "hello"),
    ('{"t":"hello"}', "hello"),
    ('{"t":"manifest","id":"x","blockSize":65536,"files":[]}', "manifest"),
    ('{"t":"manifest","id":"%s","blockSize":1048576,"files":[]}' % ("x" * 65), "manifest"),
    ('{"t":"manifest","id":"x","blockSize":1048576}', "manifest"),
    ('{"t":"manifest","id":"x","blockSize":1048576,"files":[null]}', "manifest"),
    (
        '{"t":"manifest","id":"x","blockSize":1048576,"files":[{"path":"a","size":-1,"mtime":0,"type":""}]}',
        "manifest",
    ),
    (
        '{"t":"manifest","id":"x","blockSize":1048576,"files":[{"path":"a","size":1,"mtime":0}]}',
        "manifest",
    ),
    (
        '{"t":"manifest","id":"x","blockSize":1048576,"files":[{"path":"a","size":1,"mtime":0,"type":"%s"}]}'
        % ("x" * 256),
        "manifest",
    ),
    (
        '{"t":"manifest","id":"x","blockSize":1048576,"files":[{"path":"../a","size":1,"mtime":0,"type":""}]}',
        "manifest",
    ),
    (
        '{"t":"manifest","id":"x","blockSize":1048576,"files":[{"path":"A","size":1,"mtime":0,"type":""},{"path":"a","size":1,"mtime":0,"type":""}]}',
        "manifest",
    ),
    # text items: over MAX_TEXT_BYTES, `text` other than true, more than MAX_TEXT_ITEMS
    (_texts(1, MIB + 1), "manifest"),
    (_texts(1, 2 * MIB), "manifest"),
    (_texts(1).replace('"text":true', '"text":false'), "manifest"),
    (_texts(1).replace('"text":true', '"text":null'), "manifest"),
    (_texts(1).replace('"text":true', '"text":1'), "manifest"),
    (_texts(1).replace('"text":true', '"text":"true"'), "manifest"),
    (_texts(17), "manifest"),
    ('{"t":"start","f":0}', "start"),
    ('{"t":"start","f":-1,"from":0}', "start"),
    ('{"t":"start","f":0.5,"from":0}', "start"),
    ('{"t":"start","f":"0","from":0}', "start"),
    ('{"t":"start","f":true,"from":0}', "start"),
    ('{"t":"start","f":9007199254740992,"from":0}', "start"),
    ('{"t":"block","f":0,"i":0,"len":0,"h":"%s"}' % H, "block"),
    ('{"t":"block","f":0,"i":0,"len":1048577,"h":"%s"}' % H, "block"),
    ('{"t":"block","f":0,"i":0,"len":1,"h":"%s"}' % H.upper(), "block"),
    ('{"t":"block","f":0,"i":0,"len":1,"h":"%s"}' % H[:-1], "block"),
    ('{"t":"block","f":0,"i":0,"len":1,"h":"%s\\n"}' % H, "block"),
    ('{"t":"eof","f":0}', "eof"),
    ('{"t":"cancel","reason":7}', "cancel"),
    ('{"t":"want"}', "want"),
    ('{"t":"want","files":[{"f":0,"from":0}]}', "want"),
    ('{"t":"want","files":[{"f":0,"from":1,"chain":"00"}]}', "want"),
    ('{"t":"ack","f":0}', "ack"),
    ('{"t":"fail","f":0}', "fail"),
    ('{"t":"fail","f":0,"reason":"%s"}' % ("x" * 200), "fail"),
    ('{"t":"fail","f":0,"reason":"%s"}' % ("\U0001f600" * 100), "fail"),  # 200 UTF-16 units
    ('{"t":"want","files":[],"lanes":0}', "want"),
    ('{"t":"want","files":[],"lanes":7}', "want"),
    ('{"t":"want","files":[],"lanes":"2"}', "want"),
    ('{"t":"want","files":[],"lanes":null}', "want"),
    ('{"t":"want","files":[],"lanes":1.5}', "want"),
    ('{"t":"lane","n":0,"sid":1,"s":{"k":"answer","sdp":"v=0"}}', "lane"),
    ('{"t":"lane","n":6,"sid":1,"s":{"k":"answer","sdp":"v=0"}}', "lane"),
    ('{"t":"lane","n":"1","sid":1,"s":{"k":"answer","sdp":"v=0"}}', "lane"),
    ('{"t":"lane","sid":1,"s":{"k":"answer","sdp":"v=0"}}', "lane"),
    ('{"t":"lane","n":1,"sid":0,"s":{"k":"answer","sdp":"v=0"}}', "lane"),
    ('{"t":"lane","n":1,"sid":9007199254740992,"s":{"k":"answer","sdp":"v=0"}}', "lane"),
    ('{"t":"lane","n":1,"s":{"k":"answer","sdp":"v=0"}}', "lane"),
    ('{"t":"lane","n":1,"sid":1}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":null}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":[]}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":"offer"}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"hello","role":"sender"}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"bye"}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"restart"}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"alarm"}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"toString"}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"offer"}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"offer","sdp":"v=0","x":1}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"cand","c":{"foo":1}}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"cand"}}', "lane"),
    ('{"t":"lane","n":1,"sid":1,"s":{"k":"answer","sdp":"%s"}}' % ("x" * 49153), "lane"),
]
BLOCK_FILES = [
    ("empty", 0),
    ("one byte", 1),
    ("one block", MIB),
    ("a block and a byte", MIB + 1),
    ("two and a half blocks", 2 * MIB + MIB // 2 + 3),
]


def wire_vectors() -> dict[str, Any]:
    valid = []
    for frame in VALID_FRAMES:
        text = dumps_like_js(frame)
        assert wire.encode_control(wire.parse_control(text)) == text, text
        valid.append(text)
    for text in ACCEPTED_FRAMES:
        wire.parse_control(text)
    refused = []
    for text, frame_type in REFUSED_FRAMES:
        try:
            wire.parse_control(text)
        except WireError as error:
            assert error.frame_type == frame_type, (text, error)
        else:
            raise AssertionError(text)
        refused.append({"text": text, "frameType": frame_type})
    return {
        "about": (
            "Data-channel control frames (p2pshare/peer/wire.py, web/js/wire.js): `valid` decode"
            " and encode back to the same text; `accepted` decode; `refused` are refused, naming"
            " their frame type when it is a known one."
        ),
        "valid": valid,
        "accepted": ACCEPTED_FRAMES,
        "refused": refused,
    }


def blocks_vectors() -> dict[str, Any]:
    files = []
    for name, size_bytes in BLOCK_FILES:
        seed = f"p2pshare vectors: {name}"
        data = seeded_bytes(seed, size_bytes)
        count = wire.block_count(size_bytes)
        lengths = [wire.block_length(size_bytes, i) for i in range(count)]
        hashes = [
            hashlib.sha256(data[i * MIB : i * MIB + lengths[i]]).digest() for i in range(count)
        ]
        chains = [wire.chain_at(hashes[:k]).hex() for k in range(count + 1)]
        files.append(
            {
                "seed": seed,
                "size": size_bytes,
                "blockCount": count,
                "blockLengths": lengths,
                "blockHashes": [h.hex() for h in hashes],
                "chains": chains,
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    infos = [wire.FileInfo("a.txt", 5, 1, "text/plain"), wire.FileInfo("dir/ü b.bin", MIB, 2, "")]
    return {
        "about": (
            "Blocks of files made from a seed (SHA-256(seed || 4-byte big-endian counter),"
            " concatenated): block lengths, block hashes, the block chain at every block count"
            " (chain(0) = 32 zero bytes, chain(k+1) = SHA-256(chain(k) || blockHash(k))), the"
            " whole-file SHA-256; and a manifest id."
        ),
        "blockSize": MIB,
        "files": files,
        "manifest": {
            "files": [_file_info_json(f) for f in infos],
            "id": wire.manifest_id(infos),
        },
    }


def _file_info_json(info: wire.FileInfo) -> dict[str, Any]:
    return {
        "path": info.path,
        "size": info.size_bytes,
        "mtime": info.mtime_ms,
        "type": info.mime_type,
    }


PATHS = [
    "a.txt",
    "folder/sub/ü.txt",
    "",
    "/etc/passwd",
    "C:x",
    "a//b",
    "./a",
    "a/..",
    "a<b",
    "a:b",
    "a\\b",
    "name.",
    "name ",
    "CON",
    "nul.txt",
    "com1.log",
    "COM¹",
    "conin$",
    "ok\u200bzwsp",
    "\u202ebidi",
    "a\u200db",
    "\u200da",
    "a\u200c\u200cb",
    "flag\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "tag\U000e0041",
    "x" * 255,
    "x" * 256,
    "é" * 128,
    "/".join(["d" * 200] * 21),
    "a\ud800b",
    "a\x7f",
    "a\u0085b",
    "\u017fon",  # long s: matches "s" only in Unicode-aware case folding
    "\u212aon",
]
OFFERS = [
    ["a", "b/c"],
    ["Photo.JPG", "photo.jpg"],
    ["\u00e9.txt", "e\u0301.txt"],
    ["a", "a/b"],
    ["a/b", "A"],
    ["ok", "bad/..", "x"],
    ["x" * 100 + "/" + "\u202e" + "y" * 100],
]
PORTABLE = [
    "aux.c",
    "a:b",
    "x\u200by",
    "dir/../n.",
    "C:file",
    "../../",
    "",
    "CON.txt",
    "a b ",
    "x" * 300 + ".txt",
    "tag\U000e0041/ok",
    "\u200dz\u200d\u200dw\u200c",
    "y" * 300,
]
UNIQUE = [
    (["a.txt", "A.TXT", "a.txt"], []),
    (["a", "a/b"], []),
    (["dir", "new"], ["dir/x", "new"]),
    # a folder whose name is a file already offered is numbered itself, the same for siblings
    (["dir/x", "dir/y"], ["dir"]),
    (["dir/x"], ["dir", "DIR (2)"]),
    (["a/b/c"], ["a/b"]),
    (["dir/x", "dir (2)"], ["dir"]),
    (["noext", "noext", ".hidden", ".hidden"], []),
]


def _problem_or_error(check: Callable[[], object]) -> str | None:
    try:
        check()
    except PathError as error:
        return str(error)
    return None


def paths_vectors() -> dict[str, Any]:
    return {
        "about": (
            "Offered paths (p2pshare/peer/paths.py, web/js/transfer/paths.js): each path's"
            " problem (null: accepted), a whole offer's PathError message (null: accepted),"
            " the sender's portable path, and numbered unique paths."
        ),
        "paths": [{"path": p, "problem": paths.path_problem(p)} for p in PATHS],
        "offers": [
            {"paths": o, "error": _problem_or_error(lambda o=o: paths.check_offer_paths(o))}
            for o in OFFERS
        ],
        "portable": [{"path": p, "portable": paths.portable_path(p)} for p in PORTABLE],
        "unique": [
            {"paths": p, "taken": t, "out": paths.portable_unique_paths(p, t)} for p, t in UNIQUE
        ],
    }


MAKERS: dict[str, Callable[[], dict[str, Any]]] = {
    "keys.json": keys_vectors,
    "sealed.json": sealed_vectors,
    "wire.json": wire_vectors,
    "blocks.json": blocks_vectors,
    "paths.json": paths_vectors,
    "traces.json": traces_vectors,
    "nearby.json": nearby_vectors,
}


def render(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, indent=2) + "\n"


if __name__ == "__main__":
    for name, make in MAKERS.items():
        (VECTORS / name).write_text(render(make()))
        print(f"wrote tests/vectors/{name}")
