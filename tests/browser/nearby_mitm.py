"""A man in the middle of the nearby pairing, for browser tests: what a malicious server could do
to an unverified nearby transfer (docs/security.md, Nearby devices).

`KeySwapper` sits on two pages' `/ws/nearby.<group>` sockets (Playwright's route_web_socket)
and rewrites the pairing messages in each page's outgoing `near-relay` frames; every other
frame, and everything the server sends, passes unchanged. Toward the responder it plays the
initiator (its own commit, later its own reveal), toward the initiator it plays the responder
(its own key), so each side agrees keys with it, not with the other. It opens every box with the
keys it shares with the sender and seals it again for the other side, so the pairing, and the
transfer, still go through: neither page can tell, except that the two codes differ.

    swapper = KeySwapper()                       # or KeySwapper(tamper_reveal=True)
    swapper.install(page_a, page_b)              # before the pages open their nearby socket
    ... pair, transfer ...
    swapper.codes_a[-1], swapper.codes_b[-1]     # the codes each page shows ("123456")
    swapper.seen_links                           # every share path it read ("/r/...#...")

`tamper_reveal=True` forwards the responder a reveal with the initiator's real key, not the one
its own commit named: the failure a cheating middle shows (the responder's interception error).
The transforms (`outgoing`, `transform`) need no browser: tests/peer/test_nearby_mitm.py drives
two honest p2pshare/peer/nearby.py parties through them.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from cryptography.hazmat.primitives.asymmetric import ec

from p2pshare.peer import nearby as nb
from p2pshare.peer.encoding import b64url, unb64url
from p2pshare.peer.errors import NearbyError

if TYPE_CHECKING:
    from playwright.sync_api import Page, WebSocketRoute

Side = Literal["a", "b"]
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def is_nearby_socket(url: str) -> bool:
    return urllib.parse.urlsplit(url).path.startswith("/ws/nearby.")


@dataclass
class _Persona:
    """One of the swapper's two faces in an offer: its key pair and nonce."""

    key: ec.EllipticCurvePrivateKey
    n: bytes

    @property
    def pk(self) -> bytes:
        return nb.public_key_bytes(self.key)


@dataclass
class _Offer:
    o: str
    initiator: Side  # the page that sent the commit
    c: str  # the initiator's own commitment
    as_a: _Persona  # the swapper toward the responder
    as_b: _Persona  # ... and toward the initiator
    with_a: tuple[bytes, bytes] | None = None  # (kA2B, kB2A) agreed with the initiator
    with_b: tuple[bytes, bytes] | None = None  # ... with the responder


@dataclass
class KeySwapper:
    tamper_reveal: bool = False
    random_bytes: Callable[[int], bytes] = os.urandom
    codes_a: list[str] = field(default_factory=list)  # what page A shows, one per offer
    codes_b: list[str] = field(default_factory=list)  # ... page B
    seen_links: list[str] = field(default_factory=list)  # share paths read from link boxes
    seen_summaries: list[nb.Summary] = field(default_factory=list)  # from reveal boxes
    errors: list[str] = field(default_factory=list)  # what it could not rewrite (sent as it was)
    offers: dict[str, _Offer] = field(default_factory=dict)

    # --- Playwright --------------------------------------------------------------------------

    def install(self, page_a: Page, page_b: Page) -> None:
        """Route both pages' nearby sockets through the swapper (before they open them)."""
        page_a.route_web_socket(is_nearby_socket, lambda ws: self._route("a", ws))
        page_b.route_web_socket(is_nearby_socket, lambda ws: self._route("b", ws))

    def _route(self, side: Side, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()  # the server's frames reach the page unchanged

        def forward(message: str | bytes) -> None:
            server.send(self.outgoing(side, message) if isinstance(message, str) else message)

        ws.on_message(forward)

    # --- the transforms, no browser needed ------------------------------------------------------

    def outgoing(self, side: Side, frame_text: str) -> str:
        """A frame page `side` sends to the server, with its near-relay data rewritten."""
        try:
            frame = json.loads(frame_text)
        except ValueError:
            return frame_text
        if not (
            isinstance(frame, dict)
            and frame.get("type") == "near-relay"
            and isinstance(frame.get("data"), str)
        ):
            return frame_text
        frame["data"] = self.transform(side, frame["data"])
        return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)

    def transform(self, side: Side, data: str) -> str:
        """What the other page gets instead of the pairing message `data` from `side`."""
        try:
            message = nb.decode_message(data)
            return nb.encode_message(self._rewrite(side, message))
        except (NearbyError, KeyError, AssertionError) as error:
            self.errors.append(f"{side}: {error!r}: {data[:80]}")
            return data

    def _persona(self) -> _Persona:
        scalar = int.from_bytes(self.random_bytes(32), "big") % (P256_ORDER - 1) + 1
        key = nb.private_key_from_scalar(scalar.to_bytes(32, "big"))
        return _Persona(key, self.random_bytes(nb.NONCE_BYTES))

    def _codes(self, side: Side) -> list[str]:
        return self.codes_a if side == "a" else self.codes_b

    def _reseal(self, message: nb.Message, kind: nb.BoxKind, opener: bytes, sealer: bytes) -> str:
        box: str = message.box  # type: ignore[union-attr]
        body = nb.open_box(opener, message.o, kind, box)
        if isinstance(body, nb.LinkBody):
            self.seen_links.append(body.path)
        return nb.seal_box(sealer, message.o, kind, body, self.random_bytes(nb.IV_BYTES))

    def _rewrite(self, side: Side, message: nb.Message) -> nb.Message:
        if isinstance(message, nb.Commit):
            offer = _Offer(message.o, side, message.c, self._persona(), self._persona())
            self.offers[message.o] = offer
            return nb.Commit(offer.o, nb.commitment(offer.as_a.pk, offer.as_a.n))
        offer = self.offers[message.o]
        from_initiator = side == offer.initiator
        responder: Side = "b" if offer.initiator == "a" else "a"
        if isinstance(message, nb.Key) and not from_initiator:
            pk_b, n_b = unb64url(message.pk), unb64url(message.n)
            t = nb.transcript(offer.o, offer.as_a.pk, pk_b, offer.as_a.n, n_b)
            offer.with_b = nb.direction_keys(nb.shared_secret(offer.as_a.key, pk_b), t)
            self._codes(responder).append(nb.code(t))
            return nb.Key(offer.o, b64url(offer.as_b.pk), b64url(offer.as_b.n))
        if isinstance(message, nb.Reveal) and from_initiator:
            assert offer.with_b is not None
            pk_a, n_a = unb64url(message.pk), unb64url(message.n)
            assert nb.commitment(pk_a, n_a) == offer.c  # the initiator keeps its word
            t = nb.transcript(offer.o, pk_a, offer.as_b.pk, n_a, offer.as_b.n)
            offer.with_a = nb.direction_keys(nb.shared_secret(offer.as_b.key, pk_a), t)
            self._codes(offer.initiator).append(nb.code(t))
            summary = nb.open_box(offer.with_a[0], offer.o, "reveal", message.box)
            assert isinstance(summary, nb.Summary)
            self.seen_summaries.append(summary)
            box = nb.seal_box(
                offer.with_b[0], offer.o, "reveal", summary, self.random_bytes(nb.IV_BYTES)
            )
            pk = pk_a if self.tamper_reveal else offer.as_a.pk
            return nb.Reveal(offer.o, b64url(pk), b64url(offer.as_a.n), box)
        assert offer.with_a is not None and offer.with_b is not None
        if isinstance(message, nb.Answer) and not from_initiator:
            return nb.Answer(
                offer.o, self._reseal(message, "answer", offer.with_b[1], offer.with_a[1])
            )
        if isinstance(message, nb.Link) and from_initiator:
            return nb.Link(offer.o, self._reseal(message, "link", offer.with_a[0], offer.with_b[0]))
        if isinstance(message, nb.Cancel):
            keys = (
                (offer.with_a[0], offer.with_b[0])
                if from_initiator
                else (offer.with_b[1], offer.with_a[1])
            )
            return nb.Cancel(offer.o, self._reseal(message, "cancel", *keys))
        raise KeyError(f"{nb.message_kind(message)} from {side} in offer {offer.o}")
