"""p2pshare/peer/nearby.py: the pairing's derivations and boxes against tests/vectors/nearby.json,
the strict decoders, both roles' state machines (every refusal), and the boxes' binding to their
direction, offer and kind (a property)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2pshare.peer import nearby as nb
from p2pshare.peer.encoding import b64url, unb64url
from p2pshare.peer.errors import IllegalTransition, NearbyError
from tests.peer import nearby_vectors as nv
from tests.peer.vectors import VECTORS

V: dict[str, Any] = json.loads((VECTORS / "nearby.json").read_text())
KEYS = {"kA2B": bytes.fromhex(V["kA2B_hex"]), "kB2A": bytes.fromhex(V["kB2A_hex"])}
PATH = nv.PATH
SUMMARY = nv.SUMMARY


# --- derivations and boxes, from the vectors --------------------------------------------------


def test_the_derivations() -> None:
    key_a = nb.private_key_from_scalar(bytes.fromhex(V["dA_hex"]))
    key_b = nb.private_key_from_scalar(bytes.fromhex(V["dB_hex"]))
    pk_a, pk_b = nb.public_key_bytes(key_a), nb.public_key_bytes(key_b)
    assert (b64url(pk_a), b64url(pk_b)) == (V["pkA"], V["pkB"])
    for jwk, d, pk in ((V["jwkA"], V["dA_hex"], pk_a), (V["jwkB"], V["dB_hex"], pk_b)):
        assert unb64url(jwk["d"]).hex() == d
        assert b"\x04" + unb64url(jwk["x"]) + unb64url(jwk["y"]) == pk
    n_a, n_b = unb64url(V["nA"]), unb64url(V["nB"])
    assert nb.commitment(pk_a, n_a) == V["c"]
    t = nb.transcript(V["o"], pk_a, pk_b, n_a, n_b)
    assert t.hex() == V["transcript_hex"]
    z = nb.shared_secret(key_a, pk_b)
    assert z == nb.shared_secret(key_b, pk_a)
    assert z.hex() == V["z_hex"]
    assert nb.direction_keys(z, t) == (KEYS["kA2B"], KEYS["kB2A"])
    assert (nb.code(t), nb.shown_code(nb.code(t))) == (V["code"], V["shown"])
    for case in V["codes"]:
        assert nb.code(bytes.fromhex(case["transcript_hex"])) == case["code"]
        assert nb.shown_code(case["code"]) == case["shown"]
    assert any(case["code"].startswith("0") for case in V["codes"])


def test_the_boxes() -> None:
    for case in V["boxes"]:
        body = msgspec.convert(case["body"], nb.BOX_KINDS[case["kind"]])
        key, iv = KEYS[case["key"]], bytes.fromhex(case["iv_hex"])
        assert nb.box_plaintext(body).decode() == case["plaintext"]
        assert nb.box_aad(V["o"], case["kind"]).decode() == case["aad"]
        assert nb.seal_box(key, V["o"], case["kind"], body, iv) == case["box"]
        assert nb.open_box(key, V["o"], case["kind"], case["box"]) == body


def test_boxes_refused_and_accepted() -> None:
    for case in V["refusedBoxes"]:
        with pytest.raises(NearbyError) as refused:
            nb.open_box(KEYS[case["key"]], case["o"], case["kind"], case["box"])
        assert refused.value.kind == case["error"], case["why"]
    for case in V["acceptedBoxes"]:
        body = nb.open_box(KEYS[case["key"]], V["o"], case["kind"], case["box"])
        assert msgspec.to_builtins(body) == case["body"]


def test_messages_round_trip_and_refusals() -> None:
    kinds = [nb.message_kind(nb.decode_message(text)) for text in V["messages"]]
    assert kinds[:6] == ["commit", "key", "reveal", "answer", "link", "cancel"]
    for text in V["messages"]:
        assert nb.encode_message(nb.decode_message(text)) == text
    assert len(V["messages"][-1]) == nb.MAX_DATA_CHARS
    for case in V["refused"]:
        with pytest.raises(NearbyError) as refused:
            nb.decode_message(case["text"])
        assert refused.value.kind == "malformed", case["why"]
    for case in V["badKeys"]:
        with pytest.raises(NearbyError) as refused:
            nb.load_public_key(unb64url(case["pk"]))
        assert refused.value.kind == "bad-key", case["why"]


@pytest.mark.parametrize("run", V["runs"], ids=[r["name"] for r in V["runs"]])
def test_the_runs_replay(run: dict[str, Any]) -> None:
    """Each recorded step, replayed on fresh machines: the same effects and states."""
    replay = nv._Run()
    for step in run["steps"]:
        if step["call"] == "start":
            replay.start()
        elif step["call"] == "receive":
            replay.deliver(step["side"], step["arg"])
        else:
            replay.act(step["side"], step["call"], step["arg"])
        assert replay.steps[-1] == step, run["name"]


# --- limits -------------------------------------------------------------------------------------


def test_the_largest_summary_fits_in_one_message() -> None:
    # 255 UTF-16 units of 3-byte characters, five times: the longest names can get in UTF-8.
    names = ["\uffef" * nb.MAX_NAME_UNITS] * nb.MAX_NAMES
    summary = nb.Summary(nb.MAX_COUNT, nb.MAX_TOTAL_BYTES, nb.MAX_TEXTS, names)
    box = nb.seal_box(KEYS["kA2B"], V["o"], "reveal", summary, bytes(12))
    reveal = nb.Reveal(V["o"], V["pkA"], V["nA"], box)
    assert nb.decode_message(nb.encode_message(reveal)) == reveal
    longest = nb.Reveal(V["o"], V["pkA"], V["nA"], "A" * nb.MAX_BOX_CHARS)
    assert len(nb.encode_message(longest)) == nb.MAX_DATA_CHARS


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("reveal", nb.Summary(1, 0, 2, [])),
        ("reveal", nb.Summary(nb.MAX_COUNT + 1, 0, 0, [])),
        ("reveal", nb.Summary(1, 0, 0, ["invoice\u202efdp.exe"])),
        ("reveal", nb.Summary(1, 0, 0, ["a\nb"])),
        ("reveal", nb.AnswerBody(True)),  # another kind's body
        ("answer", SUMMARY),
        ("link", nb.LinkBody("https://evil.example" + PATH)),
        ("link", nb.LinkBody(PATH + "\n")),
    ],
)
def test_seal_refuses_what_the_other_side_would(kind: nb.BoxKind, body: nb.BoxBody) -> None:
    with pytest.raises(NearbyError) as refused:
        nb.seal_box(KEYS["kA2B"], V["o"], kind, body, bytes(12))
    assert refused.value.kind == "body"


def test_an_iv_is_twelve_bytes() -> None:
    with pytest.raises(ValueError, match="12 bytes"):
        nb.seal_box(KEYS["kA2B"], V["o"], "cancel", nb.CancelBody(), bytes(16))


def test_a_compressed_or_short_key_is_a_bad_key() -> None:
    pk = unb64url(V["pkB"])
    for raw in (bytes([2]) + pk[1:33], pk[:-1], bytes(65)):
        with pytest.raises(NearbyError) as refused:
            nb.load_public_key(raw)
        assert refused.value.kind == "bad-key"


# --- the property: a box opens only with its key, its offer and its kind ------------------------

BODIES: list[tuple[nb.BoxKind, nb.BoxBody]] = [
    ("reveal", SUMMARY),
    ("answer", nb.AnswerBody(True)),
    ("link", nb.LinkBody(PATH)),
    ("cancel", nb.CancelBody()),
]


@given(
    z=st.binary(min_size=32, max_size=32),
    t=st.binary(min_size=32, max_size=32),
    iv=st.binary(min_size=12, max_size=12),
    which=st.integers(0, len(BODIES) - 1),
    other_kind=st.sampled_from(list(nb.BOX_KINDS)),
    a_to_b=st.booleans(),
)
def test_a_box_opens_only_under_its_direction_and_kind(
    z: bytes, t: bytes, iv: bytes, which: int, other_kind: nb.BoxKind, a_to_b: bool
) -> None:
    kind, body = BODIES[which]
    mine, theirs = nb.direction_keys(z, t)[:: 1 if a_to_b else -1]
    o = V["o"]
    box = nb.seal_box(mine, o, kind, body, iv)
    assert nb.open_box(mine, o, kind, box) == body
    with pytest.raises(NearbyError, match="does not open"):
        nb.open_box(theirs, o, kind, box)
    with pytest.raises(NearbyError, match="does not open"):
        nb.open_box(mine, b64url(bytes(16)), kind, box)
    if other_kind != kind:
        with pytest.raises(NearbyError, match="does not open"):
            nb.open_box(mine, o, other_kind, box)


# --- the state machines ---------------------------------------------------------------------------

IS, RS = nb.InitiatorState, nb.ResponderState


def _pair() -> tuple[nb.Initiator, nb.Responder, dict[str, str]]:
    """A fresh pair driven to prompted; `sent` holds each kind's text as it was sent."""
    a, b = nb.Initiator(), nb.Responder()
    sent: dict[str, str] = {}

    def send(effects: list[nb.Effect]) -> str:
        (data,) = [e.data for e in effects if isinstance(e, nb.Send)]
        sent[nb.message_kind(nb.decode_message(data))] = data
        return data

    commit = send(a.start(SUMMARY))
    key = send(b.receive(nb.decode_message(commit)))
    reveal = send(a.receive(nb.decode_message(key)))
    effects = b.receive(nb.decode_message(reveal))
    assert isinstance(effects[0], nb.Prompt) and effects[0].code == a.code == b.code
    return a, b, sent


def test_a_pairing_end_to_end() -> None:
    a, b, _ = _pair()
    assert (a.state, b.state) == (IS.REVEALED, RS.PROMPTED)
    assert b.summary == SUMMARY
    (answer,) = b.accept()
    assert isinstance(answer, nb.Send)
    assert a.receive(nb.decode_message(answer.data)) == [nb.Accepted()]
    link, ended = a.send_link(PATH)
    assert isinstance(link, nb.Send) and ended == nb.Ended(IS.LINKED, nb.EndReason.NONE)
    assert b.receive(nb.decode_message(link.data)) == [
        nb.OpenLink(PATH),
        nb.Ended(RS.OPENED, nb.EndReason.NONE),
    ]


def test_each_offer_has_its_own_keys_and_code() -> None:
    (a1, b1, _), (a2, b2, _) = _pair(), _pair()
    assert a1.o != a2.o and a1.code != a2.code  # 1 in a million to clash
    assert b1.code == a1.code and b2.code == a2.code


def _messages() -> dict[str, nb.Message]:
    """One message of each kind, valid on its own (of some other pairing)."""
    a, b, sent = _pair()
    sent.update(answer=b.accept()[0].data)  # type: ignore[union-attr]
    a.receive(nb.decode_message(sent["answer"]))
    sent.update(link=a.send_link(PATH)[0].data)  # type: ignore[union-attr]
    a2, _b2, _ = _pair()
    sent.update(cancel=a2.cancel()[0].data)  # type: ignore[union-attr]
    return {kind: nb.decode_message(text) for kind, text in sent.items()}


OTHERS = _messages()


def _initiator_in(state: nb.InitiatorState) -> tuple[nb.Initiator, nb.Responder, dict[str, str]]:
    a, b, sent = _pair()
    if state is IS.COMMITTED:
        a = nb.Initiator()
        a.start(SUMMARY)
    elif state is IS.ACCEPTED:
        sent["answer"] = b.accept()[0].data  # type: ignore[union-attr]
        a.receive(nb.decode_message(sent["answer"]))
    assert a.state is state
    return a, b, sent


def _responder_in(state: nb.ResponderState) -> tuple[nb.Initiator, nb.Responder, dict[str, str]]:
    a, b, sent = _pair()
    if state is RS.IDLE:
        b = nb.Responder()
    elif state is RS.KEYED:
        b = nb.Responder()
        b.receive(nb.decode_message(sent["commit"]))
    elif state is RS.ACCEPTED:
        b.accept()
    assert b.state is state
    return a, b, sent


@pytest.mark.parametrize("state", [IS.COMMITTED, IS.REVEALED, IS.ACCEPTED])
@pytest.mark.parametrize("kind", ["commit", "key", "reveal", "answer", "link", "cancel"])
def test_the_initiator_refuses_what_its_state_does_not_take(
    state: nb.InitiatorState, kind: str
) -> None:
    a, _, _ = _initiator_in(state)
    # A kind this state takes, but of another pairing (another offer id), or another kind.
    assert a.receive(OTHERS[kind]) == [nb.Ended(IS.FAILED, nb.EndReason.UNEXPECTED)]


@pytest.mark.parametrize("state", [RS.IDLE, RS.KEYED, RS.PROMPTED, RS.ACCEPTED])
@pytest.mark.parametrize("kind", ["commit", "key", "reveal", "answer", "link", "cancel"])
def test_the_responder_refuses_what_its_state_does_not_take(
    state: nb.ResponderState, kind: str
) -> None:
    _, b, _ = _responder_in(state)
    effects = b.receive(OTHERS[kind])
    if kind == "commit" and state is RS.IDLE:
        assert b.state is RS.KEYED  # any commit starts a responder
        return
    # A kind this state takes, but of another pairing (another offer id), or another kind.
    assert effects == [nb.Ended(RS.FAILED, nb.EndReason.UNEXPECTED)]


def test_a_second_answer_and_a_link_before_accept_fail() -> None:
    a, _, sent = _initiator_in(IS.ACCEPTED)
    assert a.receive(nb.decode_message(sent["answer"])) == [
        nb.Ended(IS.FAILED, nb.EndReason.UNEXPECTED)
    ]
    a, b, _ = _pair()
    b.accept()
    a.receive(nb.decode_message(sent["answer"]))  # another pairing's answer: another offer
    assert a.state is IS.FAILED
    a, b, _ = _pair()
    early = nb.seal_box(a._keys[0], a.o, "link", nb.LinkBody(PATH), bytes(12))  # type: ignore[index]
    effects = b.receive(nb.Link(a.o, early))
    assert effects == [nb.Ended(RS.FAILED, nb.EndReason.UNEXPECTED)]


def test_a_reveal_that_misses_the_commitment_is_interception() -> None:
    _a, _b, sent = _pair()
    b2 = nb.Responder()
    b2.receive(nb.decode_message(sent["commit"]))
    reveal = nb.decode_message(sent["reveal"])
    assert isinstance(reveal, nb.Reveal)
    other = b64url(nb.public_key_bytes(nb.private_key_from_scalar(bytes(31) + b"\x07")))
    effects = b2.receive(nb.Reveal(reveal.o, other, reveal.n, reveal.box))
    assert effects == [nb.Ended(RS.FAILED, nb.EndReason.COMMITMENT)]


def test_a_box_that_does_not_open_fails_the_offer() -> None:
    a, b, _ = _pair()
    forged = nb.seal_box(bytes(32), a.o, "answer", nb.AnswerBody(True), bytes(12))
    assert a.receive(nb.Answer(a.o, forged)) == [nb.Ended(IS.FAILED, nb.EndReason.BOX)]
    forged = nb.seal_box(bytes(32), a.o, "cancel", nb.CancelBody(), bytes(12))
    assert b.receive(nb.Cancel(a.o, forged)) == [nb.Ended(RS.FAILED, nb.EndReason.BOX)]


def test_after_the_end_messages_are_dropped_and_cancel_does_nothing() -> None:
    a, b, sent = _pair()
    (declined, _) = b.decline()
    a.receive(nb.decode_message(declined.data))  # type: ignore[union-attr]
    assert a.state is IS.DECLINED and b.state is RS.DECLINED
    assert a.receive(nb.decode_message(declined.data)) == []  # type: ignore[union-attr]
    assert b.receive(nb.decode_message(sent["reveal"])) == []
    assert a.cancel() == [] and b.cancel() == []


def test_user_actions_out_of_turn_raise_illegal_transition() -> None:
    a, b, _ = _pair()
    with pytest.raises(IllegalTransition):
        a.send_link(PATH)  # not accepted yet
    with pytest.raises(IllegalTransition):
        a.start(SUMMARY)  # started already
    b.accept()
    with pytest.raises(IllegalTransition):
        b.accept()
    with pytest.raises(IllegalTransition):
        b.decline()
    with pytest.raises(IllegalTransition):
        nb.Responder().accept()


def test_bad_input_from_our_side_is_refused_before_any_move() -> None:
    a = nb.Initiator()
    with pytest.raises(NearbyError):
        a.start(nb.Summary(1, 0, 0, ["x" * 256]))
    assert a.state is IS.IDLE
    a, _b, _ = _initiator_in(IS.ACCEPTED)
    with pytest.raises(NearbyError):
        a.send_link("https://evil.example" + PATH)
    assert a.state is IS.ACCEPTED


def test_a_cancel_is_sent_only_once_keys_exist() -> None:
    a = nb.Initiator()
    a.start(SUMMARY)
    assert a.cancel() == [nb.Ended(IS.CANCELLED, nb.EndReason.YOU_CANCELLED)]
    a, b, _ = _pair()
    sent, ended = b.cancel()
    assert isinstance(sent, nb.Send) and ended.reason is nb.EndReason.YOU_CANCELLED  # type: ignore[union-attr]
    assert a.receive(nb.decode_message(sent.data)) == [
        nb.Ended(IS.CANCELLED, nb.EndReason.THEY_CANCELLED)
    ]


@pytest.mark.parametrize(
    ("table", "states", "finals"),
    [
        (nb.INITIATOR_TRANSITIONS, IS, {IS.LINKED, IS.DECLINED, IS.CANCELLED, IS.FAILED}),
        (nb.RESPONDER_TRANSITIONS, RS, {RS.OPENED, RS.DECLINED, RS.CANCELLED, RS.FAILED}),
    ],
)
def test_the_tables(table: Any, states: Any, finals: set[Any]) -> None:
    assert set(table) == set(states)
    assert {s for s, moves in table.items() if not moves} == finals
    for state, moves in table.items():
        if state not in finals:
            assert {states.CANCELLED, states.FAILED} <= set(moves)
