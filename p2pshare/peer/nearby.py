"""Pairing two nearby devices (the nearby spec, B; web/js/nearby/ is the browser's twin, checked
against tests/vectors/nearby.json): sans-IO, no clock, no sockets.

With no link there is no shared secret, so one is agreed per offer through the server, which
relays every message (`near-relay` data, JSON text): ephemeral ECDH P-256 keys, HKDF-SHA256,
AES-256-GCM boxes, and a 6-digit code from the transcript that both people may compare. A
commits to its key before it sees B's, so a server in the middle gets one try at making the
two codes equal (docs/security.md, Nearby devices).

    A->B commit {o, c}                 c = b64(SHA-256("p2pshare-nearby/1 commit" 0x00 pkA nA))
    B->A key    {o, pk: pkB, n: nB}    A shows the code
    A->B reveal {o, pk: pkA, n: nA, box: box(kA2B, "reveal", summary)}
                                       B checks c, shows the code and the prompt
    B->A answer {o, box: box(kB2A, "answer", {accept})}
    A->B link   {o, box: box(kA2B, "link", {path})}   B opens that share and accepts it
    either      {o, box: box(own direction's key, "cancel", {})}

Byte layouts (L(s) is UTF-8; `o` always as its base64url text, in the transcript as in the aad):

    transcript = SHA-256(L("p2pshare-nearby/1 transcript") 0x00 L(o) 0x00 pkA pkB nA nB)
    code       = uint32_be(SHA-256(L("p2pshare-nearby/1 code") 0x00 transcript)[0:4]) mod 10**6
    Z          = ECDH x-coordinate (32 bytes)
    kA2B, kB2A = HKDF-SHA256(Z, salt=transcript, info=L("p2pshare-nearby/1 a->b" | "... b->a"))
    box        = b64(iv(12) || AES-256-GCM(k, iv, L(JSON.stringify(body)),
                                           aad=L("p2pshare-nearby/1|" + o + "|" + kind)))

Decoding is strict: unknown fields refused, every base64url field of its exact length and in its
canonical spelling (no stray bits in the last character), a message at most 8192 UTF-16 units.
Refusals are `NearbyError`s whose `kind` names the fault. `Initiator` and `Responder` are the
two roles' state machines for one offer: messages and the user's actions in, effects out.

Why this module is over 300 lines: it is the spec's section B whole (byte layouts, six messages,
four bodies, two small state machines that use all of them), one module as the spec names it;
about half of it is declarations, one per line.
"""

from __future__ import annotations

import enum
import hashlib
import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Final, Literal

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from p2pshare.peer.encoding import b64url, dumps_like_js, js_length, loads_like_js, unb64url
from p2pshare.peer.errors import IllegalTransition, NearbyError
from p2pshare.peer.paths import MAX_FILES
from p2pshare.peer.wire import MAX_TEXT_ITEMS

__all__ = [
    "BOX_KINDS",
    "INITIATOR_EXPECTS",
    "INITIATOR_TRANSITIONS",
    "IV_BYTES",
    "MAX_BOX_CHARS",
    "MAX_DATA_CHARS",
    "NONCE_BYTES",
    "OFFER_ID_BYTES",
    "PUBLIC_KEY_BYTES",
    "RESPONDER_EXPECTS",
    "RESPONDER_TRANSITIONS",
    "Accepted",
    "Answer",
    "AnswerBody",
    "BoxBody",
    "BoxKind",
    "Cancel",
    "CancelBody",
    "Commit",
    "Effect",
    "EndReason",
    "Ended",
    "Initiator",
    "InitiatorState",
    "Key",
    "Link",
    "LinkBody",
    "Message",
    "OpenLink",
    "Prompt",
    "Responder",
    "ResponderState",
    "Reveal",
    "Send",
    "ShowCode",
    "Summary",
    "box_aad",
    "box_plaintext",
    "check_body",
    "code",
    "commitment",
    "decode_message",
    "direction_keys",
    "encode_message",
    "load_public_key",
    "message_kind",
    "new_iv",
    "open_box",
    "private_key_from_scalar",
    "public_key_bytes",
    "seal_box",
    "shared_secret",
    "shown_code",
    "transcript",
]

LABEL: Final = "p2pshare-nearby/1"
PUBLIC_KEY_BYTES: Final = 65  # SEC 1 uncompressed point: 0x04 || x || y
NONCE_BYTES: Final = 32
OFFER_ID_BYTES: Final = 16
IV_BYTES: Final = 12  # AES-GCM's 96-bit nonce (NIST SP 800-38D, 8.2)
TAG_BYTES: Final = 16
MAX_DATA_CHARS: Final = 8192  # a near-relay frame's `data` (the spec, A)
# The reveal is the longest message: its other fields and punctuation take 197 characters.
MAX_BOX_CHARS: Final = MAX_DATA_CHARS - 197
MIN_BOX_CHARS: Final = 40  # iv, tag and "{}": 30 bytes
MAX_COUNT: Final = MAX_FILES  # a summary counts every item of the share
MAX_TEXTS: Final = MAX_TEXT_ITEMS
MAX_NAMES: Final = 5
MAX_NAME_UNITS: Final = 255
MAX_TOTAL_BYTES: Final = 2**53 - 1

# Canonical base64url of n bytes: its last character carries 2 (n % 3 == 2) or 4 (n % 3 == 1)
# bits, the rest zero. A public key's first byte, 0x04, makes its first character "B".
_LAST_OF_2: Final = "[AEIMQUYcgkosw048]"
_LAST_OF_1: Final = "[AQgw]"
OfferId = Annotated[str, msgspec.Meta(pattern=rf"^[A-Za-z0-9_-]{{21}}{_LAST_OF_1}\Z")]
Digest = Annotated[str, msgspec.Meta(pattern=rf"^[A-Za-z0-9_-]{{42}}{_LAST_OF_2}\Z")]
Nonce = Digest  # 32 bytes too
PublicKey = Annotated[str, msgspec.Meta(pattern=rf"^B[A-Za-z0-9_-]{{85}}{_LAST_OF_2}\Z")]
Box = Annotated[str, msgspec.Meta(pattern=rf"^[A-Za-z0-9_-]{{{MIN_BOX_CHARS},{MAX_BOX_CHARS}}}\Z")]
# A share link's path and fragment, as link.py builds it and parse_link reads it.
LINK_PATH_RE: Final = r"^/r/[A-Za-z0-9_-]{16,64}#[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}\Z"


def _label(purpose: str) -> bytes:
    return f"{LABEL} {purpose}".encode()


# --- the messages (tagged on `k`) and the boxes' bodies -----------------------------------


class _Message(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="k"):
    o: OfferId


class Commit(_Message, tag="commit", frozen=True):
    c: Digest


class Key(_Message, tag="key", frozen=True):
    pk: PublicKey
    n: Nonce


class Reveal(_Message, tag="reveal", frozen=True):
    pk: PublicKey
    n: Nonce
    box: Box


class Answer(_Message, tag="answer", frozen=True):
    box: Box


class Link(_Message, tag="link", frozen=True):
    box: Box


class Cancel(_Message, tag="cancel", frozen=True):
    box: Box


Message = Commit | Key | Reveal | Answer | Link | Cancel

Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)]


class Summary(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What is offered, for B's prompt (JSON key order: count, bytes, texts, names)."""

    count: Count  # files + texts
    total_bytes: Annotated[int, msgspec.Meta(ge=0, le=MAX_TOTAL_BYTES)] = msgspec.field(
        name="bytes"
    )
    texts: Annotated[int, msgspec.Meta(ge=0, le=MAX_TEXTS)]  # how many of `count` are texts
    names: Annotated[list[str], msgspec.Meta(max_length=MAX_NAMES)]  # the first few names

    def problem(self) -> str | None:
        """What msgspec's own checks leave (see _body): None when it is a valid summary."""
        if self.texts > self.count or len(self.names) > self.count:
            return "more texts or names than items"
        for name in self.names:
            if js_length(name) > MAX_NAME_UNITS:
                return f"a name is over {MAX_NAME_UNITS} UTF-16 units"
            # Format characters too (bidi overrides: "invoice\u202efdp.exe"): the prompt is
            # where the person decides, so a name there must read as it is.
            if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in name):
                return "a name holds a control, format or lone surrogate character"
        return None


class AnswerBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    accept: bool


class LinkBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    path: Annotated[str, msgspec.Meta(pattern=LINK_PATH_RE)]  # a path on this origin, never a URL


class CancelBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


BoxKind = Literal["reveal", "answer", "link", "cancel"]
BoxBody = Summary | AnswerBody | LinkBody | CancelBody
BOX_KINDS: Final[MappingProxyType[str, type[BoxBody]]] = MappingProxyType(
    {"reveal": Summary, "answer": AnswerBody, "link": LinkBody, "cancel": CancelBody}
)


def decode_message(text: str) -> Message:
    """One pairing message from `near-relay` data. Raises NearbyError('malformed')."""
    if js_length(text) > MAX_DATA_CHARS:
        raise NearbyError("malformed", f"a pairing message is over {MAX_DATA_CHARS} characters")
    try:
        value = loads_like_js(text)
    except ValueError:
        raise NearbyError("malformed", "a pairing message is not JSON") from None
    try:
        message: Message = msgspec.convert(value, Message, strict=True)
    except msgspec.ValidationError as error:
        raise NearbyError("malformed", f"a pairing message refused: {error}") from None
    return message


def encode_message(message: Message) -> str:
    """The JSON text of a message (`k` first, then the fields in the order above)."""
    return msgspec.json.encode(message).decode()


def message_kind(message: Message) -> str:
    """Its `k`: "commit", "key", ..."""
    return str(type(message).__struct_config__.tag)


# --- keys, commitment, transcript, code ---------------------------------------------------


def private_key_from_scalar(d: bytes) -> ec.EllipticCurvePrivateKey:
    """The P-256 private key whose scalar is `d` (32 bytes big-endian, 1 <= d < n)."""
    return ec.derive_private_key(int.from_bytes(d, "big"), ec.SECP256R1())


def public_key_bytes(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """The raw uncompressed public key (65 bytes), as WebCrypto's exportKey('raw')."""
    return private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def load_public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A peer's raw public key. Raises NearbyError('bad-key') unless it is a P-256 point."""
    if len(raw) != PUBLIC_KEY_BYTES or raw[0] != 4:
        raise NearbyError("bad-key", "not an uncompressed P-256 public key")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise NearbyError("bad-key", "not a point on P-256") from None


def commitment(pk_a: bytes, n_a: bytes) -> str:
    """c = b64(SHA-256(L("p2pshare-nearby/1 commit") || 0x00 || pkA || nA))."""
    return b64url(hashlib.sha256(_label("commit") + b"\0" + pk_a + n_a).digest())


def transcript(o: str, pk_a: bytes, pk_b: bytes, n_a: bytes, n_b: bytes) -> bytes:
    """SHA-256(L("p2pshare-nearby/1 transcript") || 0x00 || L(o) || 0x00 || pkA pkB nA nB)."""
    data = _label("transcript") + b"\0" + o.encode() + b"\0" + pk_a + pk_b + n_a + n_b
    return hashlib.sha256(data).digest()


def code(transcript_bytes: bytes) -> str:
    """The verification code: 6 digits, zero-padded ("004217")."""
    digest = hashlib.sha256(_label("code") + b"\0" + transcript_bytes).digest()
    return f"{int.from_bytes(digest[:4], 'big') % 1_000_000:06d}"


def shown_code(code_digits: str) -> str:
    """The code as the pages show it: "004 217"."""
    return f"{code_digits[:3]} {code_digits[3:]}"


def shared_secret(private_key: ec.EllipticCurvePrivateKey, peer_pk: bytes) -> bytes:
    """Z: the ECDH x-coordinate (32 bytes). Raises NearbyError('bad-key')."""
    return private_key.exchange(ec.ECDH(), load_public_key(peer_pk))


def direction_keys(z: bytes, transcript_bytes: bytes) -> tuple[bytes, bytes]:
    """(kA2B, kB2A): HKDF-SHA256(ikm=Z, salt=transcript, info=L("p2pshare-nearby/1 a->b"), 32)."""
    return tuple(  # type: ignore[return-value]
        HKDF(hashes.SHA256(), 32, transcript_bytes, _label(direction)).derive(z)
        for direction in ("a->b", "b->a")
    )


# --- boxes --------------------------------------------------------------------------------


def box_aad(o: str, kind: BoxKind) -> bytes:
    return f"{LABEL}|{o}|{kind}".encode()


def _body(kind: BoxKind, plain: bytes) -> BoxBody:
    try:
        value = loads_like_js(plain)  # UTF-8 decoded fatally, as TextDecoder({fatal: true})
    except ValueError:
        raise NearbyError("body", f"the {kind} box holds no JSON") from None
    try:
        body: BoxBody = msgspec.convert(value, BOX_KINDS[kind], strict=True)
    except msgspec.ValidationError as error:
        raise NearbyError("body", f"the {kind} box's body refused: {error}") from None
    problem = body.problem() if isinstance(body, Summary) else None
    if problem:
        raise NearbyError("body", f"the {kind} box's body refused: {problem}")
    return body


def box_plaintext(body: BoxBody) -> bytes:
    """L(JSON.stringify(body)): fields in their Struct's order."""
    return dumps_like_js(msgspec.to_builtins(body)).encode()


def check_body(kind: BoxKind, body: BoxBody) -> bytes:
    """The plaintext of a body the other side will take. Raises NearbyError('body') for one it
    would refuse (Structs made in code are not validated; this decodes what it would get)."""
    plain = box_plaintext(body)
    if not isinstance(body, BOX_KINDS[kind]) or _body(kind, plain) != body:
        raise NearbyError("body", f"not a valid {kind} body: {body!r}")
    return plain


def seal_box(key: bytes, o: str, kind: BoxKind, body: BoxBody, iv: bytes) -> str:
    """box(key, kind, body) with this iv (12 bytes; `new_iv()` in use, fixed in the vectors).

    Raises NearbyError('body') for a body the other side would refuse (so it is never sent).
    """
    if len(iv) != IV_BYTES:
        raise ValueError(f"an iv is {IV_BYTES} bytes")
    plain = check_body(kind, body)
    sealed = b64url(iv + AESGCM(key).encrypt(iv, plain, box_aad(o, kind)))
    if len(sealed) > MAX_BOX_CHARS:
        raise NearbyError("body", f"the {kind} box is over {MAX_BOX_CHARS} characters")
    return sealed


def open_box(key: bytes, o: str, kind: BoxKind, box: str) -> BoxBody:
    """The body of a box. Raises NearbyError: 'box' when it does not open (another key, offer or
    kind, or altered), 'body' when what it holds is not a `kind` body."""
    try:
        data = unb64url(box)
    except ValueError:
        raise NearbyError("box", "a box is not base64url") from None
    if len(data) < IV_BYTES + TAG_BYTES:
        raise NearbyError("box", "a box too short")
    try:
        plain = AESGCM(key).decrypt(data[:IV_BYTES], data[IV_BYTES:], box_aad(o, kind))
    except InvalidTag:
        raise NearbyError("box", f"the {kind} box does not open") from None
    return _body(kind, plain)


def new_iv() -> bytes:
    return os.urandom(IV_BYTES)


# --- the two roles' state machines, one offer each ----------------------------------------
#
# Initiator (A): idle -start-> committed -key-> revealed -answer yes-> accepted -link-> linked
#                revealed -answer no-> declined; any live state -> cancelled | failed
# Responder (B): idle -commit-> keyed -reveal-> prompted -accept-> accepted -link-> opened
#                prompted -decline-> declined; any live state -> cancelled | failed
# A refused message (wrong kind for the state, a second answer, a link before accept, a reveal
# that misses its commitment, a box that does not open) fails the offer; nothing is sent then.
# A cancel is sent only once the direction keys exist (A: from revealed; B: from prompted);
# before that a cancel ends the offer here alone. After the end, messages are dropped.


class InitiatorState(enum.StrEnum):
    IDLE = "idle"  # made, nothing sent
    COMMITTED = "committed"  # commit sent; waiting for B's key
    REVEALED = "revealed"  # key in, code shown, reveal sent; waiting for the answer
    ACCEPTED = "accepted"  # B accepted: make the share, then send its link
    LINKED = "linked"  # link sent: final
    DECLINED = "declined"  # B declined: final
    CANCELLED = "cancelled"  # either side cancelled: final
    FAILED = "failed"  # a message refused: final


class ResponderState(enum.StrEnum):
    IDLE = "idle"  # made for a commit, nothing handled yet
    KEYED = "keyed"  # commit in, key sent; waiting for the reveal
    PROMPTED = "prompted"  # reveal checked, code and prompt shown; waiting for the person
    ACCEPTED = "accepted"  # answer yes sent; waiting for the link
    OPENED = "opened"  # link in: open that share: final
    DECLINED = "declined"  # answer no sent: final
    CANCELLED = "cancelled"  # either side cancelled: final
    FAILED = "failed"  # a message refused: final


class EndReason(enum.StrEnum):
    NONE = ""  # linked / opened: the pairing did its job
    DECLINED = "declined"  # B's person declined
    YOU_CANCELLED = "you-cancelled"  # this side's person cancelled
    THEY_CANCELLED = "they-cancelled"  # the other side's cancel opened
    BAD_KEY = "bad-key"  # the peer's public key is no P-256 point
    COMMITMENT = "commitment"  # the reveal missed its commitment: interception
    BOX = "box"  # a box did not open
    BODY = "body"  # a box opened to a body the protocol does not have
    UNEXPECTED = "unexpected"  # a message this state does not take (or of another offer)


IS = InitiatorState
RS = ResponderState
_I_END: Final = (IS.CANCELLED, IS.FAILED)
_R_END: Final = (RS.CANCELLED, RS.FAILED)
INITIATOR_TRANSITIONS: Final[MappingProxyType[IS, tuple[IS, ...]]] = MappingProxyType(
    {
        IS.IDLE: (IS.COMMITTED, *_I_END),
        IS.COMMITTED: (IS.REVEALED, *_I_END),
        IS.REVEALED: (IS.ACCEPTED, IS.DECLINED, *_I_END),
        IS.ACCEPTED: (IS.LINKED, *_I_END),
        IS.LINKED: (),
        IS.DECLINED: (),
        IS.CANCELLED: (),
        IS.FAILED: (),
    }
)
RESPONDER_TRANSITIONS: Final[MappingProxyType[RS, tuple[RS, ...]]] = MappingProxyType(
    {
        RS.IDLE: (RS.KEYED, *_R_END),
        RS.KEYED: (RS.PROMPTED, *_R_END),
        RS.PROMPTED: (RS.ACCEPTED, RS.DECLINED, *_R_END),
        RS.ACCEPTED: (RS.OPENED, *_R_END),
        RS.OPENED: (),
        RS.DECLINED: (),
        RS.CANCELLED: (),
        RS.FAILED: (),
    }
)
# The messages each live state takes; any other fails the offer.
INITIATOR_EXPECTS: Final[MappingProxyType[IS, tuple[type[Message], ...]]] = MappingProxyType(
    {IS.IDLE: (), IS.COMMITTED: (Key,), IS.REVEALED: (Answer, Cancel), IS.ACCEPTED: (Cancel,)}
)
RESPONDER_EXPECTS: Final[MappingProxyType[RS, tuple[type[Message], ...]]] = MappingProxyType(
    {RS.IDLE: (Commit,), RS.KEYED: (Reveal,), RS.PROMPTED: (Cancel,), RS.ACCEPTED: (Link, Cancel)}
)


@dataclass(frozen=True, slots=True)
class Send:
    data: str  # relay this to the peer (a near-relay frame's data)


@dataclass(frozen=True, slots=True)
class ShowCode:
    code: str  # A: show it (6 digits; shown_code() spaces it)


@dataclass(frozen=True, slots=True)
class Prompt:
    code: str  # B: show the code and the offer, ask accept or decline
    summary: Summary


@dataclass(frozen=True, slots=True)
class Accepted:
    pass  # A: B accepted; make the share and call send_link with its path


@dataclass(frozen=True, slots=True)
class OpenLink:
    path: str  # B: open this share on this origin and accept it at once


@dataclass(frozen=True, slots=True)
class Ended:
    state: InitiatorState | ResponderState  # the final state reached
    reason: EndReason


Effect = Send | ShowCode | Prompt | Accepted | OpenLink | Ended
RandomBytes = Callable[[int], bytes]


def _reason(error: NearbyError) -> EndReason:
    return EndReason(error.kind)  # every kind but 'malformed', which never reaches a machine


class Initiator:
    """A's side of one offer. `start` sends the commit; `receive` takes B's decoded messages
    (routed here by peer id and `o`); `send_link` after `Accepted`; `cancel` at any time."""

    def __init__(
        self,
        *,
        private_key: ec.EllipticCurvePrivateKey | None = None,
        nonce: bytes | None = None,
        o: str | None = None,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        self.state = IS.IDLE
        self._key = private_key or ec.generate_private_key(ec.SECP256R1())
        self.pk = public_key_bytes(self._key)
        self.n = nonce if nonce is not None else random_bytes(NONCE_BYTES)
        self.o = o if o is not None else b64url(random_bytes(OFFER_ID_BYTES))
        self._random = random_bytes
        self._summary: Summary | None = None
        self._keys: tuple[bytes, bytes] | None = None  # (kA2B, kB2A)
        self.code: str | None = None

    def _move(self, to: IS, why: str) -> None:
        if to not in INITIATOR_TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, to, why)
        self.state = to

    def _seal(self, kind: BoxKind, body: BoxBody) -> str:
        assert self._keys is not None
        return seal_box(self._keys[0], self.o, kind, body, self._random(IV_BYTES))

    def start(self, summary: Summary) -> list[Effect]:
        """Offer: the commit. Raises NearbyError('body') for a summary B would refuse."""
        check_body("reveal", summary)
        self._move(IS.COMMITTED, "start")
        self._summary = summary
        return [Send(encode_message(Commit(self.o, commitment(self.pk, self.n))))]

    def receive(self, message: Message) -> list[Effect]:
        if not INITIATOR_TRANSITIONS[self.state]:
            return []
        try:
            return self._receive(message)
        except NearbyError as error:
            self._move(IS.FAILED, str(error))
            return [Ended(self.state, _reason(error))]

    def _receive(self, message: Message) -> list[Effect]:
        if message.o != self.o or not isinstance(message, INITIATOR_EXPECTS[self.state]):
            raise NearbyError("unexpected", f"{message_kind(message)} in {self.state}")
        if isinstance(message, Key):
            pk_b, n_b = unb64url(message.pk), unb64url(message.n)
            z = shared_secret(self._key, pk_b)
            t = transcript(self.o, self.pk, pk_b, self.n, n_b)
            self._keys = direction_keys(z, t)
            self.code = code(t)
            assert self._summary is not None
            reveal = Reveal(
                self.o, b64url(self.pk), b64url(self.n), self._seal("reveal", self._summary)
            )
            self._move(IS.REVEALED, "key")
            return [ShowCode(self.code), Send(encode_message(reveal))]
        assert self._keys is not None
        if isinstance(message, Cancel):
            open_box(self._keys[1], self.o, "cancel", message.box)
            self._move(IS.CANCELLED, "their cancel")
            return [Ended(self.state, EndReason.THEY_CANCELLED)]
        assert isinstance(message, Answer)
        answer = open_box(self._keys[1], self.o, "answer", message.box)
        assert isinstance(answer, AnswerBody)
        if answer.accept:
            self._move(IS.ACCEPTED, "answer")
            return [Accepted()]
        self._move(IS.DECLINED, "answer")
        return [Ended(self.state, EndReason.DECLINED)]

    def send_link(self, path: str) -> list[Effect]:
        """The link to the share made for B. Raises NearbyError('body') for a path that is not
        a share link's path and fragment; IllegalTransition unless accepted."""
        if self.state is not IS.ACCEPTED:
            raise IllegalTransition(self.state, IS.LINKED, "send_link")
        data = encode_message(Link(self.o, self._seal("link", LinkBody(path))))
        self._move(IS.LINKED, "send_link")
        return [Send(data), Ended(self.state, EndReason.NONE)]

    def cancel(self) -> list[Effect]:
        """This side's person cancels: a cancel once keys exist; nothing once ended."""
        if not INITIATOR_TRANSITIONS[self.state]:
            return []
        sent: list[Effect] = []
        if self._keys is not None:
            sent.append(Send(encode_message(Cancel(self.o, self._seal("cancel", CancelBody())))))
        self._move(IS.CANCELLED, "cancel")
        return [*sent, Ended(self.state, EndReason.YOU_CANCELLED)]


class Responder:
    """B's side of one offer, made for a commit: `receive` takes A's decoded messages (the
    commit first); `accept` / `decline` after `Prompt`; `cancel` at any time."""

    def __init__(
        self,
        *,
        private_key: ec.EllipticCurvePrivateKey | None = None,
        nonce: bytes | None = None,
        random_bytes: RandomBytes = os.urandom,
    ) -> None:
        self.state = RS.IDLE
        self._key = private_key or ec.generate_private_key(ec.SECP256R1())
        self.pk = public_key_bytes(self._key)
        self.n = nonce if nonce is not None else random_bytes(NONCE_BYTES)
        self.o: str | None = None
        self._random = random_bytes
        self._c: str | None = None
        self._keys: tuple[bytes, bytes] | None = None  # (kA2B, kB2A)
        self.code: str | None = None
        self.summary: Summary | None = None

    def _move(self, to: RS, why: str) -> None:
        if to not in RESPONDER_TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, to, why)
        self.state = to

    def _seal(self, kind: BoxKind, body: BoxBody) -> str:
        assert self._keys is not None and self.o is not None
        return seal_box(self._keys[1], self.o, kind, body, self._random(IV_BYTES))

    def receive(self, message: Message) -> list[Effect]:
        if not RESPONDER_TRANSITIONS[self.state]:
            return []
        try:
            return self._receive(message)
        except NearbyError as error:
            self._move(RS.FAILED, str(error))
            return [Ended(self.state, _reason(error))]

    def _receive(self, message: Message) -> list[Effect]:
        kind = message_kind(message)
        if not isinstance(message, RESPONDER_EXPECTS[self.state]):
            raise NearbyError("unexpected", f"{kind} in {self.state}")
        if isinstance(message, Commit):
            self.o, self._c = message.o, message.c
            self._move(RS.KEYED, "commit")
            return [Send(encode_message(Key(self.o, b64url(self.pk), b64url(self.n))))]
        if message.o != self.o:
            raise NearbyError("unexpected", f"{kind} of another offer")
        if isinstance(message, Reveal):
            pk_a, n_a = unb64url(message.pk), unb64url(message.n)
            if commitment(pk_a, n_a) != self._c:
                raise NearbyError("commitment", "the reveal does not match the commitment")
            z = shared_secret(self._key, pk_a)
            t = transcript(message.o, pk_a, self.pk, n_a, self.n)
            self._keys = direction_keys(z, t)
            summary = open_box(self._keys[0], message.o, "reveal", message.box)
            assert isinstance(summary, Summary)
            self.code, self.summary = code(t), summary
            self._move(RS.PROMPTED, "reveal")
            return [Prompt(self.code, summary)]
        assert self._keys is not None
        if isinstance(message, Cancel):
            open_box(self._keys[0], message.o, "cancel", message.box)
            self._move(RS.CANCELLED, "their cancel")
            return [Ended(self.state, EndReason.THEY_CANCELLED)]
        assert isinstance(message, Link)
        body = open_box(self._keys[0], message.o, "link", message.box)
        assert isinstance(body, LinkBody)
        self._move(RS.OPENED, "link")
        return [OpenLink(body.path), Ended(self.state, EndReason.NONE)]

    def _answer(self, accept: bool) -> str:
        assert self.o is not None
        return encode_message(Answer(self.o, self._seal("answer", AnswerBody(accept))))

    def accept(self) -> list[Effect]:
        """The person accepts. Raises IllegalTransition unless prompted."""
        self._move(RS.ACCEPTED, "accept")
        return [Send(self._answer(True))]

    def decline(self) -> list[Effect]:
        """The person declines. Raises IllegalTransition unless prompted."""
        self._move(RS.DECLINED, "decline")
        return [Send(self._answer(False)), Ended(self.state, EndReason.DECLINED)]

    def cancel(self) -> list[Effect]:
        """This side's person cancels: a cancel once keys exist; nothing once ended."""
        if not RESPONDER_TRANSITIONS[self.state]:
            return []
        sent: list[Effect] = []
        if self._keys is not None:
            assert self.o is not None
            sent.append(Send(encode_message(Cancel(self.o, self._seal("cancel", CancelBody())))))
        self._move(RS.CANCELLED, "cancel")
        return [*sent, Ended(self.state, EndReason.YOU_CANCELLED)]
