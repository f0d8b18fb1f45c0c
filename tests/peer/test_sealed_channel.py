"""p2pshare.peer.sealed_channel: the receive rules of web/js/sealed-signaling.js, pair-style
(a sender and a receiver page in one room), and the link and key helpers around it."""

from __future__ import annotations

from p2pshare.peer import keys, link
from p2pshare.peer.encoding import b64url, unb64url
from p2pshare.peer.seal import Sealer, new_epoch
from p2pshare.peer.sealed_bodies import Alarm, Hello, Offer
from p2pshare.peer.sealed_channel import RefusedBody, SealedChannel, SealedMessage, SecurityAlert
from p2pshare.peer.signing import new_sender_key
from p2pshare.signaling import admission
from p2pshare.signaling.room import creator_room_id

SENDER, RECEIVER = "U2VuZGVyUGVlcklk", "Rk9vQmFyQmF6UXV4"


def pair(epoch: int = 1000) -> tuple[SealedChannel, SealedChannel, str]:
    made = link.new_room()
    seed, public = new_sender_key()
    secret = unb64url(made.secret_text)
    sender = SealedChannel(Sealer(secret, made.room, epoch), sign_with=seed)
    receiver = SealedChannel(Sealer(secret, made.room, epoch + 1), sender_key=public)
    sender.me, receiver.me = SENDER, RECEIVER
    return sender, receiver, made.room


def test_a_signed_message_opens_and_a_new_page_shows_as_a_new_epoch() -> None:
    sender, receiver, _ = pair()
    got = receiver.receive(SENDER, 2, sender.seal_for(RECEIVER, 2, Hello(role="sender")))
    assert got == SealedMessage(SENDER, 2, Hello(role="sender"), 1000, False)
    back = sender.receive(RECEIVER, 0, receiver.seal_for(SENDER, 0, Hello(live=True)))
    assert isinstance(back, SealedMessage) and back.body == Hello(live=True)
    reloaded = SealedChannel(
        Sealer(sender.sealer.secret, sender.sealer.room, 2000), sign_with=sender.sign_with
    )
    reloaded.me = SENDER
    again = receiver.receive(SENDER, 3, reloaded.seal_for(RECEIVER, 3, Alarm()))
    assert isinstance(again, SealedMessage) and again.new_epoch
    stale = receiver.receive(SENDER, 3, sender.seal_for(RECEIVER, 3, Alarm()))
    assert stale is None  # from the older page: dropped
    assert receiver.epoch_of(SENDER) == 2000


def test_what_the_senders_key_did_not_sign_is_tampering() -> None:
    sender, receiver, _ = pair()
    unsigned = SealedChannel(sender.sealer)  # a link holder that seals but cannot sign
    unsigned.me = SENDER
    got = receiver.receive(SENDER, 0, unsigned.seal_for(RECEIVER, 0, Hello(role="sender")))
    assert isinstance(got, SecurityAlert) and got.kind == "tampered"


def test_wrong_key_first_then_tampering_and_replays() -> None:
    sender, receiver, room = pair()
    stranger = SealedChannel(Sealer(bytes(32), room, 5))
    stranger.me = RECEIVER
    first = sender.receive(RECEIVER, 0, stranger.seal_for(SENDER, 0, Hello()))
    assert isinstance(first, SecurityAlert) and first.kind == "wrong-key"
    data = receiver.seal_for(SENDER, 0, Hello(live=False))
    assert isinstance(sender.receive(RECEIVER, 0, data), SealedMessage)
    assert sender.receive(RECEIVER, 0, data) == SecurityAlert(
        RECEIVER, "tampered", "a payload was replayed"
    )
    later = sender.receive(RECEIVER, 0, stranger.seal_for(SENDER, 0, Hello()))
    assert isinstance(later, SecurityAlert) and later.kind == "tampered"  # it was trusted


def test_a_body_the_protocol_does_not_have_is_refused_not_alarmed() -> None:
    sender, receiver, _ = pair()
    envelope = receiver.sealer.seal(
        RECEIVER, SENDER, 0, b'{"k":"offer","sdp":"x","iceRestart":true}'
    )
    got = sender.receive(RECEIVER, 0, envelope)
    assert isinstance(got, RefusedBody)
    deep = b'{"k":"alarm","x":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert isinstance(
        sender.receive(RECEIVER, 0, receiver.sealer.seal(RECEIVER, SENDER, 0, deep)), RefusedBody
    )
    ok = receiver.sealer.seal(RECEIVER, SENDER, 0, b'{"k":"offer","sdp":"x","re":1.0}')
    assert sender.receive(RECEIVER, 0, ok) == SealedMessage(
        RECEIVER, 0, Offer(sdp="x", re=1), 1001, False
    )


def test_links_rooms_and_admission() -> None:
    made = link.new_room()
    assert made.room == creator_room_id(made.token)
    _, public = new_sender_key()
    url = link.build_link("https://h.example", made.room, made.secret_text, public)
    origin, parsed = link.parse_share_url(url)
    assert origin == "https://h.example"
    assert parsed.secret_state == "ok" and parsed.room == made.room and parsed.sender_key == public
    assert parsed.secret is not None and b64url(parsed.secret) == made.secret_text
    access = keys.access_key(parsed.secret, made.room)
    assert admission.proof_matches(
        access, made.room, "c" * 22, keys.join_proof(parsed.secret, made.room, "c" * 22)
    )
    assert link.parse_link("/r/%ff%fe" + "a" * 20, "").page == "bad-room"
    assert new_epoch(10**18, 1) == 10**18 + 1
    assert new_epoch(0, 5) >= 5000
