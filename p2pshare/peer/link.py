"""Share links, `https://host/r/<room>#<secret>.<sender key>`: parsing and making (web/js/link.js).

The room id (in the path, seen by the server) is 128 bits of a hash of the sender's random
creator token (`p2pshare.signaling.room.creator_room_id`); the secret (in the fragment, which
no server sees) is 256 random bits; the sender key is the Ed25519 public key the sender signs
its relayed messages with (signing.py). All three are base64url.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from typing import Final, Literal

from p2pshare.peer.encoding import b64url, unb64url
from p2pshare.signaling.room import creator_room_id

__all__ = [
    "ROOM_ID_BYTES",
    "SECRET_BYTES",
    "NewRoom",
    "ParsedLink",
    "build_link",
    "new_room",
    "parse_link",
    "parse_share_url",
]

ROOM_ID_BYTES: Final = 16
SECRET_BYTES: Final = 32
CREATOR_TOKEN_BYTES: Final = 16
_ROOM_RE: Final = re.compile(r"[A-Za-z0-9_-]{16,64}\Z")
_PATH_RE: Final = re.compile(r"/r/([^/]*)/?\Z")
_FRAGMENT_RE: Final = re.compile(r"([A-Za-z0-9_-]{43})\.([A-Za-z0-9_-]{43})\Z")
# What JavaScript's String.prototype.trim removes (its WhiteSpace and LineTerminator sets).
_JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


@dataclass(frozen=True, slots=True)
class ParsedLink:
    page: Literal["home", "room", "bad-room"]
    room: str | None
    secret: bytes | None  # None when missing or malformed
    sender_key: str | None  # the sender's Ed25519 public key (base64url), with the secret
    secret_state: Literal["ok", "missing", "malformed"]  # malformed too without the sender key


@dataclass(frozen=True, slots=True)
class NewRoom:
    token: str  # the creator token: only its holder joins as the sender
    room: str
    secret_text: str


def parse_link(pathname: str, fragment: str) -> ParsedLink:
    """What a link's path and fragment (with or without '#') name, as link.js parseLink."""
    if pathname in ("/", ""):
        return ParsedLink("home", None, None, None, "missing")
    match = _PATH_RE.match(pathname)
    try:
        room = urllib.parse.unquote(match.group(1), errors="strict") if match else ""
    except UnicodeDecodeError:  # "%ff": link.js's decodeURIComponent throws a URIError here
        room = ""
    if not _ROOM_RE.match(room):
        return ParsedLink("bad-room", None, None, None, "missing")
    # Chat apps sometimes prepend "k=" or append junk after a space; link.js tolerates both.
    text = fragment[1:] if fragment.startswith("#") else fragment
    text = text.removeprefix("k=").strip(_JS_WHITESPACE)
    if not text:
        return ParsedLink("room", room, None, None, "missing")
    parts = _FRAGMENT_RE.match(text)
    if not parts:
        return ParsedLink("room", room, None, None, "malformed")
    return ParsedLink("room", room, unb64url(parts.group(1)), parts.group(2), "ok")


def parse_share_url(url: str) -> tuple[str, ParsedLink]:
    """A whole link: (its origin, e.g. "https://host:8080", and what it names)."""
    parts = urllib.parse.urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}", parse_link(parts.path, parts.fragment)


def build_link(origin: str, room: str, secret_text: str, sender_key_text: str) -> str:
    return f"{origin}/r/{room}#{secret_text}.{sender_key_text}"


def new_room() -> NewRoom:
    """A fresh room: a creator token, the room id it hashes to, and a new secret."""
    token = b64url(os.urandom(CREATOR_TOKEN_BYTES))
    return NewRoom(token, creator_room_id(token), b64url(os.urandom(SECRET_BYTES)))
