"""tests/browser/nearby_mitm.py's KeySwapper without a browser: two honest parties made of
p2pshare/peer/nearby.py, their messages wrapped in near-relay frames and passed through the
swapper's transforms as Playwright would pass the pages' frames."""

from __future__ import annotations

import json

import pytest

from p2pshare.peer import nearby as nb
from tests.browser.nearby_mitm import KeySwapper, Side, is_nearby_socket
from tests.peer import nearby_vectors as nv


def _relay(swapper: KeySwapper, side: Side, effects: list[nb.Effect]) -> nb.Message:
    """The one message `side` sent, as the other page receives it through the swapper."""
    (data,) = [e.data for e in effects if isinstance(e, nb.Send)]
    to = "peer-b" if side == "a" else "peer-a"
    frame = json.dumps({"type": "near-relay", "to": to, "data": data})
    rewritten = json.loads(swapper.outgoing(side, frame))
    assert rewritten["type"] == "near-relay" and rewritten["to"] == to
    return nb.decode_message(rewritten["data"])


def _parties() -> tuple[nb.Initiator, nb.Responder]:
    a = nb.Initiator(private_key=nv.KEY_A, nonce=nv.N_A, o=nv.OFFER, random_bytes=nv.ivs("a"))
    return a, nb.Responder(private_key=nv.KEY_B, nonce=nv.N_B, random_bytes=nv.ivs("b"))


def _swapper(tamper: bool = False) -> KeySwapper:
    return KeySwapper(tamper_reveal=tamper, random_bytes=nv.ivs("mitm"))


def test_the_swapper_reads_the_link_and_both_sides_pass_their_checks() -> None:
    swapper, (a, b) = _swapper(), _parties()
    commit = _relay(swapper, "a", a.start(nv.SUMMARY))
    assert isinstance(commit, nb.Commit) and commit.c != nb.commitment(a.pk, a.n)
    key = _relay(swapper, "b", b.receive(commit))
    effects = a.receive(key)
    assert isinstance(effects[0], nb.ShowCode)
    reveal = _relay(swapper, "a", effects)
    (prompt,) = b.receive(reveal)
    assert isinstance(prompt, nb.Prompt)  # B's commitment check passed: the swap is invisible
    assert prompt.summary == nv.SUMMARY == swapper.seen_summaries[0]
    assert a.code is not None and b.code is not None
    assert a.code != b.code  # ... but for the codes
    assert (swapper.codes_a, swapper.codes_b) == ([a.code], [b.code])
    assert a.receive(_relay(swapper, "b", b.accept())) == [nb.Accepted()]
    opened = b.receive(_relay(swapper, "a", a.send_link(nv.PATH)))
    assert opened == [nb.OpenLink(nv.PATH), nb.Ended(nb.ResponderState.OPENED, nb.EndReason.NONE)]
    assert swapper.seen_links == [nv.PATH]
    assert (a.state, b.state) == (nb.InitiatorState.LINKED, nb.ResponderState.OPENED)
    assert swapper.errors == []


def test_the_honest_pair_through_nothing_agrees_on_one_code() -> None:
    a, b = _parties()
    key = b.receive(nb.decode_message(a.start(nv.SUMMARY)[0].data))  # type: ignore[union-attr]
    reveal = a.receive(nb.decode_message(key[0].data))  # type: ignore[union-attr]
    b.receive(nb.decode_message(reveal[1].data))  # type: ignore[union-attr]
    assert a.code == b.code == nb.code(nv.T)


@pytest.mark.parametrize("who", ["a", "b"])
def test_cancels_and_declines_pass_through(who: Side) -> None:
    swapper, (a, b) = _swapper(), _parties()
    reveal = _relay(
        swapper,
        "a",
        a.receive(_relay(swapper, "b", b.receive(_relay(swapper, "a", a.start(nv.SUMMARY))))),
    )
    b.receive(reveal)
    if who == "a":
        assert b.receive(_relay(swapper, "a", a.cancel())) == [
            nb.Ended(nb.ResponderState.CANCELLED, nb.EndReason.THEY_CANCELLED)
        ]
    else:
        assert a.receive(_relay(swapper, "b", b.decline())) == [
            nb.Ended(nb.InitiatorState.DECLINED, nb.EndReason.DECLINED)
        ]
    assert swapper.errors == []


def test_tamper_mode_fails_the_responders_commitment_check() -> None:
    swapper, (a, b) = _swapper(tamper=True), _parties()
    key = _relay(swapper, "b", b.receive(_relay(swapper, "a", a.start(nv.SUMMARY))))
    reveal = _relay(swapper, "a", a.receive(key))
    assert b.receive(reveal) == [nb.Ended(nb.ResponderState.FAILED, nb.EndReason.COMMITMENT)]
    assert b.code is None


def test_other_frames_and_sockets_pass_unchanged() -> None:
    swapper = _swapper()
    for frame in (
        '{"type":"near-join","v":1,"cid":"x","name":"Amber Otter","device":""}',
        '{"type":"ping"}',
        "not json",
        '{"type":"near-relay","to":"p","data":"not a pairing message"}',
    ):
        assert swapper.outgoing("a", frame) == frame
    assert len(swapper.errors) == 1  # the last: relayed, but no pairing message
    assert is_nearby_socket("ws://127.0.0.1:8080/ws/nearby.AAAAAAAAAAAAAAAAAAAAAA")
    assert not is_nearby_socket("ws://127.0.0.1:8080/ws/q8Zb3xN1yW0vT5aLm2Kp9A")
