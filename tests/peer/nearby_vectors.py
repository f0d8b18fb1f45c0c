"""tests/vectors/nearby.json: the pairing of two nearby devices (p2pshare/peer/nearby.py; the
browser's twin, web/js/nearby/, checks itself against the same file). Made by
`python -m tests.peer.vectors` with the other vectors; tests/peer/test_vectors.py checks the
file is current, tests/peer/test_nearby.py replays it.

Every input is fixed: `fixed(label, n)` is the first n bytes of
SHA-256("p2pshare nearby vectors: " + label), for the private scalars, the nonces, the offer id
and the ivs. The runs drive the two state machines with those keys and nonces; their ivs are
drawn from `fixed("iv a <i>")` / `fixed("iv b <i>")`, i counting from 0 per side, so a twin
that draws its ivs in the same order gets the very same texts (else it compares the rest).

Why this module is over 300 lines: most of it is the vectors' inputs (refused messages and
bodies, the runs' scripts), one per line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from p2pshare.peer import nearby as nb
from p2pshare.peer import signing
from p2pshare.peer.encoding import b64url, dumps_like_js, unb64url
from p2pshare.peer.errors import IllegalTransition, NearbyError

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ROOM = "q8Zb3xN1yW0vT5aLm2Kp9A"
SECRET_TEXT = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"  # keys.json's second secret
SENDER_KEY = signing.sender_public_key("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
PATH = f"/r/{ROOM}#{SECRET_TEXT}.{SENDER_KEY}"
SUMMARY = nb.Summary(
    count=4,
    total_bytes=1_234_567_890,
    texts=1,
    names=['Ferien "2025".jpg', "élan.txt", "\U0001f600 notes", "Text"],
)


def fixed(label: str, size_bytes: int) -> bytes:
    return hashlib.sha256(f"p2pshare nearby vectors: {label}".encode()).digest()[:size_bytes]


def ivs(side: str) -> Callable[[int], bytes]:
    """A machine's random_bytes: its i-th draw is fixed(f"iv {side} {i}")."""
    count = 0

    def draw(size_bytes: int) -> bytes:
        nonlocal count
        out = fixed(f"iv {side} {count}", size_bytes)
        count += 1
        return out

    return draw


D_A, D_B = fixed("dA", 32), fixed("dB", 32)
assert all(0 < int.from_bytes(d, "big") < P256_ORDER for d in (D_A, D_B))
KEY_A, KEY_B = nb.private_key_from_scalar(D_A), nb.private_key_from_scalar(D_B)
PK_A, PK_B = nb.public_key_bytes(KEY_A), nb.public_key_bytes(KEY_B)
N_A, N_B = fixed("nA", 32), fixed("nB", 32)
OFFER = b64url(fixed("o", 16))
T = nb.transcript(OFFER, PK_A, PK_B, N_A, N_B)
Z = nb.shared_secret(KEY_A, PK_B)
K_A2B, K_B2A = nb.direction_keys(Z, T)
KEYS = {"kA2B": K_A2B, "kB2A": K_B2A}


def jwk(d: bytes, pk: bytes) -> dict[str, str]:
    """The private key as WebCrypto's importKey('jwk') takes it (ECDH, P-256)."""
    return {
        "kty": "EC",
        "crv": "P-256",
        "d": b64url(d),
        "x": b64url(pk[1:33]),
        "y": b64url(pk[33:]),
    }


# --- boxes ----------------------------------------------------------------------------------

BOXES: list[tuple[nb.BoxKind, str, nb.BoxBody]] = [
    ("reveal", "kA2B", SUMMARY),
    ("answer", "kB2A", nb.AnswerBody(True)),
    ("answer", "kB2A", nb.AnswerBody(False)),
    ("link", "kA2B", nb.LinkBody(PATH)),
    ("cancel", "kA2B", nb.CancelBody()),
    ("cancel", "kB2A", nb.CancelBody()),
]


def _boxes() -> list[dict[str, Any]]:
    out = []
    for n, (kind, key, body) in enumerate(BOXES):
        iv = fixed(f"box iv {n}", 12)
        box = nb.seal_box(KEYS[key], OFFER, kind, body, iv)
        assert nb.open_box(KEYS[key], OFFER, kind, box) == body
        out.append(
            {
                "kind": kind,
                "key": key,
                "iv_hex": iv.hex(),
                "body": msgspec.to_builtins(body),
                "plaintext": nb.box_plaintext(body).decode(),
                "aad": nb.box_aad(OFFER, kind).decode(),
                "box": box,
            }
        )
    return out


def _raw_box(key: str, kind: nb.BoxKind, plain: bytes, n: int, o: str = OFFER) -> str:
    """A box of any plaintext (bodies the protocol refuses), sealed as seal_box would."""
    iv = fixed(f"refused box iv {n}", 12)
    return b64url(iv + AESGCM(KEYS[key]).encrypt(iv, plain, nb.box_aad(o, kind)))


# (kind, plaintext, why): each opens and is refused as a body
REFUSED_BODIES: list[tuple[nb.BoxKind, bytes, str]] = [
    ("reveal", b'{"count":100001,"bytes":0,"texts":0,"names":[]}', "count over 100000"),
    ("reveal", b'{"count":-1,"bytes":0,"texts":0,"names":[]}', "count below 0"),
    ("reveal", b'{"count":1.5,"bytes":0,"texts":0,"names":[]}', "count not an integer"),
    ("reveal", b'{"count":"1","bytes":0,"texts":0,"names":[]}', "count a string"),
    ("reveal", b'{"count":1,"bytes":9007199254740992,"texts":0,"names":[]}', "bytes over 2^53-1"),
    ("reveal", b'{"count":1,"bytes":-1,"texts":0,"names":[]}', "bytes below 0"),
    ("reveal", b'{"count":20,"bytes":0,"texts":17,"names":[]}', "texts over 16"),
    ("reveal", b'{"count":1,"bytes":0,"texts":2,"names":[]}', "more texts than items"),
    ("reveal", b'{"count":1,"bytes":0,"texts":0,"names":["a","b"]}', "more names than items"),
    (
        "reveal",
        b'{"count":9,"bytes":0,"texts":0,"names":["a","b","c","d","e","f"]}',
        "six names",
    ),
    (
        "reveal",
        dumps_like_js({"count": 1, "bytes": 0, "texts": 0, "names": ["x" * 256]}).encode(),
        "a name of 256 UTF-16 units",
    ),
    (
        "reveal",
        dumps_like_js({"count": 1, "bytes": 0, "texts": 0, "names": ["\U0001f600" * 128]}).encode(),
        "a name of 128 emoji: 256 UTF-16 units",
    ),
    ("reveal", b'{"count":1,"bytes":0,"texts":0,"names":["a\\u0000b"]}', "a control character"),
    ("reveal", b'{"count":1,"bytes":0,"texts":0,"names":["a\\u0085b"]}', "a C1 control"),
    ("reveal", b'{"count":1,"bytes":0,"texts":0,"names":["\\ud800"]}', "a lone surrogate"),
    (
        "reveal",
        b'{"count":1,"bytes":0,"texts":0,"names":["invoice\\u202efdp.exe"]}',
        "a bidi override",
    ),
    ("reveal", b'{"count":1,"bytes":0,"texts":0,"names":["a\\u200bb"]}', "a zero-width space"),
    ("reveal", b'{"count":1,"bytes":0,"texts":0,"names":[1]}', "a name not a string"),
    ("reveal", b'{"count":1,"bytes":0,"texts":0}', "names missing"),
    ("reveal", b'{"count":1,"bytes":0,"texts":0,"names":[],"x":1}', "an unknown field"),
    ("reveal", b'{"count":1,"bytes":0,"texts":0,"names":null}', "names null"),
    ("answer", b'{"accept":1}', "accept not a boolean"),
    ("answer", b'{"accept":"true"}', "accept a string"),
    ("answer", b"{}", "accept missing"),
    ("answer", b'{"accept":true,"why":"x"}', "an unknown field"),
    ("link", b'{"path":"https://evil.example' + PATH.encode() + b'"}', "a URL, not a path"),
    ("link", b'{"path":"//evil.example' + PATH.encode() + b'"}', "a protocol-relative URL"),
    ("link", dumps_like_js({"path": PATH + "\n"}).encode(), "a trailing newline"),
    ("link", dumps_like_js({"path": PATH + "x"}).encode(), "the sender key one too long"),
    ("link", dumps_like_js({"path": PATH[:-1]}).encode(), "the sender key cut short"),
    ("link", dumps_like_js({"path": f"/r/{ROOM[:15]}#{PATH.split('#')[1]}"}).encode(), "room 15"),
    ("link", dumps_like_js({"path": PATH.replace("#", "?x#")}).encode(), "a query"),
    ("link", dumps_like_js({"path": PATH.replace("/r/", "/x/")}).encode(), "not /r/"),
    ("link", dumps_like_js({"path": PATH.split("#")[0]}).encode(), "no fragment"),
    ("link", b"{}", "path missing"),
    ("cancel", b'{"why":"x"}', "an unknown field"),
    ("cancel", b"[]", "not an object"),
    ("cancel", b"null", "null"),
    ("reveal", b"not json", "not JSON"),
    ("answer", b'{"accept":true', "cut-off JSON"),
    ("answer", b'{"accept":\xfftrue}', "not UTF-8"),
]
# Accepted bodies spelled unlike JSON.stringify (as JSON.parse reads them).
ACCEPTED_BODIES: list[tuple[nb.BoxKind, bytes]] = [
    ("reveal", b'{"names":[],"texts":0,"bytes":1e3,"count":2.0}'),
    ("reveal", b'{ "count" : 1, "bytes" : 0, "texts" : 1, "names" : [ "" ] }'),
    (
        "reveal",
        dumps_like_js(
            {"count": 5, "bytes": 0, "texts": 0, "names": ["\U0001f600" * 127 + "x"] * 5}
        ).encode(),
    ),
    ("answer", b'{"accept":false,"accept":true}'),
]


def _refused_boxes() -> list[dict[str, Any]]:
    good = nb.seal_box(K_A2B, OFFER, "reveal", SUMMARY, fixed("box iv 0", 12))
    data = unb64url(good)
    flipped = b64url(data[:20] + bytes([data[20] ^ 1]) + data[21:])
    cases: list[dict[str, Any]] = [
        {"kind": "answer", "key": "kA2B", "o": OFFER, "box": good, "why": "another kind's aad"},
        {"kind": "reveal", "key": "kB2A", "o": OFFER, "box": good, "why": "the other direction"},
        {"kind": "reveal", "key": "kA2B", "o": b64url(bytes(16)), "box": good, "why": "another o"},
        {"kind": "reveal", "key": "kA2B", "o": OFFER, "box": flipped, "why": "a flipped bit"},
        {"kind": "reveal", "key": "kA2B", "o": OFFER, "box": good[:37], "why": "too short"},
        {"kind": "reveal", "key": "kA2B", "o": OFFER, "box": good + "A", "why": "one char more"},
        {"kind": "reveal", "key": "kA2B", "o": OFFER, "box": good[:-1] + "!", "why": "not b64url"},
    ]
    for case in cases:
        case["error"] = "box"
    for n, (kind, plain, why) in enumerate(REFUSED_BODIES):
        key = "kB2A" if kind == "answer" else "kA2B"
        cases.append(
            {
                "kind": kind,
                "key": key,
                "o": OFFER,
                "plaintext_hex": plain.hex(),
                "box": _raw_box(key, kind, plain, n),
                "why": why,
                "error": "body",
            }
        )
    for case in cases:
        try:
            nb.open_box(KEYS[case["key"]], case["o"], case["kind"], case["box"])
        except NearbyError as error:
            assert error.kind == case["error"], (case, error)
        else:
            raise AssertionError(case)
    return cases


def _accepted_boxes() -> list[dict[str, Any]]:
    out = []
    for n, (kind, plain) in enumerate(ACCEPTED_BODIES):
        key = "kB2A" if kind == "answer" else "kA2B"
        box = _raw_box(key, kind, plain, 100 + n)
        body = nb.open_box(KEYS[key], OFFER, kind, box)
        out.append(
            {
                "kind": kind,
                "key": key,
                "plaintext_hex": plain.hex(),
                "box": box,
                "body": msgspec.to_builtins(body),
            }
        )
    return out


# --- messages -------------------------------------------------------------------------------


def _good_messages(boxes: list[dict[str, Any]]) -> list[nb.Message]:
    pk_a, pk_b, n_a, n_b = b64url(PK_A), b64url(PK_B), b64url(N_A), b64url(N_B)
    return [
        nb.Commit(OFFER, nb.commitment(PK_A, N_A)),
        nb.Key(OFFER, pk_b, n_b),
        nb.Reveal(OFFER, pk_a, n_a, boxes[0]["box"]),
        nb.Answer(OFFER, boxes[1]["box"]),
        nb.Link(OFFER, boxes[3]["box"]),
        nb.Cancel(OFFER, boxes[4]["box"]),
        nb.Reveal(OFFER, pk_a, n_a, "A" * nb.MAX_BOX_CHARS),  # the longest message: 8192 chars
    ]


def _refused_messages(valid: list[str]) -> list[tuple[str, str]]:
    commit, key, reveal, answer = valid[0], valid[1], valid[2], valid[3]
    c = nb.commitment(PK_A, N_A)
    pk_b = b64url(PK_B)
    box = answer.split('"box":"')[1][:-2]
    compressed = b64url(bytes([2 + PK_B[-1] % 2]) + PK_B[1:33])

    def sub(text: str, old: str, new: str) -> str:
        assert old in text, (text, old)
        return text.replace(old, new)

    return [
        ("not json", "not JSON"),
        ("[]", "not an object"),
        ("null", "null"),
        ('"commit"', "a string"),
        ("{}", "no k"),
        (sub(commit, '"k":"commit"', '"k":"nope"'), "an unknown k"),
        (sub(commit, '"k":"commit"', '"k":"toString"'), "a k from Object.prototype"),
        (sub(commit, '"k":"commit"', '"k":"__proto__"'), "__proto__"),
        (sub(commit, '"k":"commit"', '"k":1'), "k a number"),
        (sub(commit, '"k":"commit"', '"k":"Commit"'), "k is case-sensitive"),
        (sub(commit, f',"c":"{c}"', ""), "commit without c"),
        (sub(commit, "}", ',"x":1}'), "an unknown field"),
        (sub(commit, "}", ',"pk":"' + pk_b + '"}'), "another kind's field"),
        (sub(commit, f'"o":"{OFFER}"', '"o":1'), "o a number"),
        (sub(commit, f'"o":"{OFFER}"', f'"o":"{OFFER[:-1]}"'), "o of 21 chars"),
        (sub(commit, f'"o":"{OFFER}"', f'"o":"{OFFER}A"'), "o of 23 chars"),
        (sub(commit, f'"o":"{OFFER}"', f'"o":"{OFFER}=="'), "o padded"),
        (sub(commit, f'"o":"{OFFER}"', f'"o":"{OFFER[:-1]}B"'), "o not canonical (stray bits)"),
        (sub(commit, f'"o":"{OFFER}"', f'"o":"{OFFER[:-1]}+"'), "o with a base64 (not url) char"),
        (sub(commit, f'"o":"{OFFER}"', f'"o":"{OFFER}\\n"'), "o with a trailing newline"),
        (sub(commit, f'"c":"{c}"', f'"c":"{c[:-1]}"'), "c of 42 chars"),
        (sub(commit, f'"c":"{c}"', f'"c":"{c[:-1]}B"'), "c not canonical"),
        (sub(key, f'"pk":"{pk_b}"', f'"pk":"{pk_b[:-1]}"'), "pk of 86 chars"),
        (sub(key, f'"pk":"{pk_b}"', f'"pk":"{pk_b}A"'), "pk of 88 chars"),
        (sub(key, f'"pk":"{pk_b}"', f'"pk":"A{pk_b[1:]}"'), "pk not starting 0x04"),
        (sub(key, f'"pk":"{pk_b}"', f'"pk":"{compressed}"'), "pk compressed (33 bytes)"),
        (sub(key, f'"pk":"{pk_b}"', f'"pk":"{pk_b[:-1]}B"'), "pk not canonical"),
        (sub(key, f'"n":"{b64url(N_B)}"', f'"n":"{b64url(N_B + b"x")}"'), "n of 33 bytes"),
        (sub(key, f'"n":"{b64url(N_B)}"', '"n":null'), "n null"),
        (sub(reveal, reveal.split('"box":"')[1][:-2], "A" * 39), "a box of 39 chars"),
        (sub(reveal, reveal.split('"box":"')[1][:-2], "A" * (nb.MAX_BOX_CHARS + 1)), "box 7996"),
        (sub(answer, box, box[:-2] + "=="), "a box padded"),
        (sub(answer, f'"box":"{box}"', '"accept":true'), "an answer in the clear"),
        (sub(answer, "}", ',"accept":true}'), "an answer with a clear field too"),
        (commit + " " * (nb.MAX_DATA_CHARS - len(commit) + 1), "over 8192 chars (spaces)"),
    ]


def _bad_keys() -> list[tuple[str, str]]:
    p = 2**256 - 2**224 + 2**192 + 2**96 - 1
    x = PK_B[1:33]
    y = int.from_bytes(PK_B[33:], "big")
    return [
        (b64url(b"\x04" + x + ((y + 1) % p).to_bytes(32, "big")), "not on the curve"),
        (b64url(b"\x04" + bytes(64)), "(0, 0)"),
        (b64url(b"\x04" + (p).to_bytes(32, "big") + bytes(32)), "x = p"),
    ]


# --- the state machines' runs -----------------------------------------------------------------


def _effect(effect: nb.Effect) -> dict[str, Any]:
    if isinstance(effect, nb.Send):
        message = nb.decode_message(effect.data)
        return {"effect": "send", "k": nb.message_kind(message), "data": effect.data}
    if isinstance(effect, nb.ShowCode):
        return {"effect": "showCode", "code": effect.code}
    if isinstance(effect, nb.Prompt):
        return {
            "effect": "prompt",
            "code": effect.code,
            "summary": msgspec.to_builtins(effect.summary),
        }
    if isinstance(effect, nb.Accepted):
        return {"effect": "accepted"}
    if isinstance(effect, nb.OpenLink):
        return {"effect": "openLink", "path": effect.path}
    return {"effect": "ended", "state": str(effect.state), "reason": str(effect.reason)}


class _Run:
    """Drives A and B, recording every call (its argument, effects, the state after)."""

    def __init__(self) -> None:
        self.a = nb.Initiator(private_key=KEY_A, nonce=N_A, o=OFFER, random_bytes=ivs("a"))
        self.b = nb.Responder(private_key=KEY_B, nonce=N_B, random_bytes=ivs("b"))
        self.steps: list[dict[str, Any]] = []
        self.last: dict[str, str] = {}  # side -> the data it sent last

    def _call(
        self, side: str, call: str, arg: Any, effects_of: Callable[[], list[nb.Effect]]
    ) -> None:
        machine = self.a if side == "a" else self.b
        try:
            effects = effects_of()
        except IllegalTransition as error:
            out: Any = {"error": "IllegalTransition", "message": str(error)}
        else:
            out = [_effect(e) for e in effects]
            for e in effects:
                if isinstance(e, nb.Send):
                    self.last[side] = e.data
        self.steps.append(
            {"side": side, "call": call, "arg": arg, "out": out, "state": str(machine.state)}
        )

    def start(self) -> None:
        self._call("a", "start", msgspec.to_builtins(SUMMARY), lambda: self.a.start(SUMMARY))

    def deliver(self, to: str, data: str | None = None) -> None:
        """`data` (by default what the other side sent last) received by `to`."""
        text = data if data is not None else self.last["b" if to == "a" else "a"]
        machine = self.a if to == "a" else self.b
        self._call(to, "receive", text, lambda: machine.receive(nb.decode_message(text)))

    def act(self, side: str, call: str, arg: Any = None) -> None:
        machine: Any = self.a if side == "a" else self.b
        method = {"sendLink": "send_link"}.get(call, call)
        self._call(side, call, arg, lambda: getattr(machine, method)(*([arg] if arg else [])))


def _to_pairing(run: _Run) -> None:
    run.start()
    run.deliver("b")  # commit -> key
    run.deliver("a")  # key -> code, reveal
    run.deliver("b")  # reveal -> prompt


def _accepted(run: _Run) -> None:
    _to_pairing(run)
    run.act("b", "accept")
    run.deliver("a")
    run.act("a", "sendLink", PATH)
    run.deliver("b")
    run.act("a", "cancel")  # ended: nothing
    run.deliver("b", run.steps[-5]["out"][0]["data"])  # a late repeated reveal: dropped


def _declined(run: _Run) -> None:
    _to_pairing(run)
    run.act("b", "decline")
    run.deliver("a")
    run.deliver("a")  # a second answer after the end: dropped


def _a_cancels(run: _Run) -> None:
    _to_pairing(run)
    run.act("a", "cancel")
    run.deliver("b")
    run.act("b", "accept")  # too late: IllegalTransition


def _b_cancels(run: _Run) -> None:
    _to_pairing(run)
    run.act("b", "accept")
    run.act("b", "cancel")
    run.deliver("a", run.last["b"])  # the cancel (the answer is lost)


def _cancel_before_keys(run: _Run) -> None:
    run.start()
    run.deliver("b")
    run.act("a", "cancel")  # no keys yet: nothing sent
    run.act("b", "cancel")  # nor here
    run.act("a", "sendLink", PATH)  # IllegalTransition


def _intercepted(run: _Run) -> None:
    """A reveal whose key is not the one committed to: what a server in the middle must send."""
    run.start()
    run.deliver("b")
    run.deliver("a")
    other = nb.public_key_bytes(nb.private_key_from_scalar(fixed("dM", 32)))
    reveal = nb.decode_message(run.last["a"])
    assert isinstance(reveal, nb.Reveal)
    run.deliver("b", nb.encode_message(nb.Reveal(OFFER, b64url(other), reveal.n, reveal.box)))


def _another_nonce(run: _Run) -> None:
    run.start()
    run.deliver("b")
    run.deliver("a")
    reveal = nb.decode_message(run.last["a"])
    assert isinstance(reveal, nb.Reveal)
    run.deliver("b", nb.encode_message(nb.Reveal(OFFER, reveal.pk, b64url(N_B), reveal.box)))


def _second_answer(run: _Run) -> None:
    _to_pairing(run)
    run.act("b", "accept")
    run.deliver("a")
    run.deliver("a")  # the same answer again, before the link: refused


def _link_before_accept(run: _Run) -> None:
    _to_pairing(run)
    link = nb.Link(OFFER, nb.seal_box(K_A2B, OFFER, "link", nb.LinkBody(PATH), fixed("early", 12)))
    run.deliver("b", nb.encode_message(link))


def _wrong_direction(run: _Run) -> None:
    _to_pairing(run)
    answer = nb.seal_box(K_A2B, OFFER, "answer", nb.AnswerBody(True), fixed("wrong", 12))
    run.deliver("a", nb.encode_message(nb.Answer(OFFER, answer)))


def _wrong_kinds(run: _Run) -> None:
    run.start()
    run.deliver("a", run.last["a"])  # A gets its own commit back
    run.deliver("b", nb.encode_message(nb.Key(OFFER, b64url(PK_A), b64url(N_A))))  # B: a key first


def _bad_key(run: _Run) -> None:
    run.start()
    run.deliver("b")
    run.deliver("a", nb.encode_message(nb.Key(OFFER, _bad_keys()[0][0], b64url(N_B))))


def _another_offer(run: _Run) -> None:
    run.start()
    run.deliver("b")
    key = nb.decode_message(run.last["b"])
    assert isinstance(key, nb.Key)
    run.deliver("a", nb.encode_message(nb.Key(b64url(bytes(16)), key.pk, key.n)))


RUNS: list[tuple[str, Callable[[_Run], None]]] = [
    ("accepted and linked", _accepted),
    ("declined", _declined),
    ("A cancels while B is prompted", _a_cancels),
    ("B cancels after accepting", _b_cancels),
    ("cancels before the keys exist", _cancel_before_keys),
    ("a reveal with another key than committed: interception", _intercepted),
    ("a reveal with another nonce than committed", _another_nonce),
    ("a second answer", _second_answer),
    ("a link before accept", _link_before_accept),
    ("an answer sealed in the wrong direction", _wrong_direction),
    ("messages of the wrong kind", _wrong_kinds),
    ("a key that is no P-256 point", _bad_key),
    ("a key for another offer", _another_offer),
]


def _runs() -> list[dict[str, Any]]:
    out = []
    for name, script in RUNS:
        run = _Run()
        script(run)
        out.append({"name": name, "steps": run.steps})
    return out


def nearby_vectors() -> dict[str, Any]:
    boxes = _boxes()
    valid = [nb.encode_message(m) for m in _good_messages(boxes)]
    assert len(valid[-1]) == nb.MAX_DATA_CHARS
    for text in valid:
        assert nb.encode_message(nb.decode_message(text)) == text
    refused = []
    for text, why in _refused_messages(valid):
        try:
            nb.decode_message(text)
        except NearbyError as error:
            assert error.kind == "malformed", (text, error)
        else:
            raise AssertionError(text)
        refused.append({"text": text, "why": why, "error": "malformed"})
    bad_keys = []
    for pk, why in _bad_keys():
        nb.decode_message(nb.encode_message(nb.Key(OFFER, pk, b64url(N_B))))  # syntactically fine
        try:
            nb.load_public_key(unb64url(pk))
        except NearbyError as error:
            assert error.kind == "bad-key"
        else:
            raise AssertionError(why)
        bad_keys.append({"pk": pk, "why": why, "error": "bad-key"})
    codes = [{"transcript_hex": T.hex(), "code": nb.code(T), "shown": nb.shown_code(nb.code(T))}]
    n = 0
    while len(codes) < 3:  # transcripts whose codes need zero-padding
        t = fixed(f"transcript {n}", 32)
        if nb.code(t) < "100000":
            codes.append(
                {"transcript_hex": t.hex(), "code": nb.code(t), "shown": nb.shown_code(nb.code(t))}
            )
        n += 1
    return {
        "about": (
            "Pairing of nearby devices (p2pshare/peer/nearby.py, web/js/nearby/): fixed keys,"
            " nonces and offer id (fixed(label, n) = SHA-256('p2pshare nearby vectors: ' +"
            " label)[:n]), what they derive, one box per kind with its iv, the messages,"
            " messages refused by the decoder, public keys refused, boxes refused (error 'box':"
            " does not open; 'body': opens to a body refused), bodies accepted though spelled"
            " otherwise, codes, and runs of the two state machines (ivs: fixed('iv a <i>'))."
        ),
        "label": nb.LABEL,
        "dA_hex": D_A.hex(),
        "dB_hex": D_B.hex(),
        "jwkA": jwk(D_A, PK_A),
        "jwkB": jwk(D_B, PK_B),
        "pkA": b64url(PK_A),
        "pkB": b64url(PK_B),
        "nA": b64url(N_A),
        "nB": b64url(N_B),
        "o": OFFER,
        "c": nb.commitment(PK_A, N_A),
        "transcript_hex": T.hex(),
        "z_hex": Z.hex(),
        "code": nb.code(T),
        "shown": nb.shown_code(nb.code(T)),
        "kA2B_hex": K_A2B.hex(),
        "kB2A_hex": K_B2A.hex(),
        "boxes": boxes,
        "messages": valid,
        "refused": refused,
        "badKeys": bad_keys,
        "refusedBoxes": _refused_boxes(),
        "acceptedBoxes": _accepted_boxes(),
        "codes": codes,
        "runs": _runs(),
    }
