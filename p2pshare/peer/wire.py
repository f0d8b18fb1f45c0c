"""The transfer protocol on the data channel (web/js/wire.js; docs/protocol.md, 3).

One ordered, reliable data channel per sender-receiver pair. Control messages are JSON text
frames with a `t` field, decoded here into frozen Structs (a tagged union) with wire.js's
checks: the same required fields, types, ranges and path rules; like wire.js, unknown fields
are ignored (but not in a `lane` frame's `s`, a sealed body checked as sealed_bodies.py
does). File bytes are binary frames of at most CHUNK_SIZE that follow a `block` header.
Files are cut into BLOCK_SIZE blocks, each hashed (SHA-256), acknowledged and resumable; the
block chain proves which blocks a resuming receiver holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import UNSET, UnsetType

from p2pshare.peer.encoding import JsLengthLimited, dumps_like_js, loads_like_js
from p2pshare.peer.errors import PathError, WireError
from p2pshare.peer.paths import MAX_FILES, check_offer_paths
from p2pshare.peer.sealed_bodies import Answer, Cand, Offer

__all__ = [
    "AHEAD_BLOCKS",
    "BLOCK_SIZE",
    "CHAIN_START",
    "CHUNK_SIZE",
    "EMPTY_SHA256",
    "MAX_LANES",
    "MAX_TEXT_BYTES",
    "MAX_TEXT_ITEMS",
    "PROTOCOL",
    "WINDOW_BLOCKS",
    "Ack",
    "Block",
    "Cancel",
    "ControlFrame",
    "Done",
    "Eof",
    "Fail",
    "FileInfo",
    "Hello",
    "Lane",
    "Manifest",
    "Start",
    "Want",
    "WantEntry",
    "block_count",
    "block_length",
    "chain_at",
    "chain_next",
    "check_text_items",
    "encode_control",
    "file_key",
    "manifest_id",
    "parse_control",
]

PROTOCOL: Final = "p2pshare-transfer/1"
BLOCK_SIZE: Final = 1 << 20  # bytes: the unit of hashing, acknowledgement and resume
CHUNK_SIZE: Final = 128 << 10  # bytes per binary frame (Chromium's message limit: 256 KiB)
WINDOW_BLOCKS: Final = 4  # unacknowledged blocks in flight per receiver
# Peer connections ("lanes") one receiver takes from the sender, the first one included: on a
# long link each has its own congestion window (docs/protocol.md: Lanes). The command-line
# peer never opens or takes more than one, but judges `lane` frames as wire.js does.
MAX_LANES: Final = 6
# How far past its lowest missing block a receiver that takes lanes accepts blocks; the sender
# never sends further ahead of its lowest unacknowledged block.
AHEAD_BLOCKS: Final = WINDOW_BLOCKS * MAX_LANES
# A text item (a manifest entry with "text": true): UTF-8, at most one block, so it is hashed,
# acknowledged and verified in one piece; at most MAX_TEXT_ITEMS of them in one manifest.
MAX_TEXT_BYTES: Final = BLOCK_SIZE
MAX_TEXT_ITEMS: Final = 16
MAX_SAFE_INTEGER: Final = 2**53 - 1
CHAIN_START: Final = bytes(32)
EMPTY_SHA256: Final = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

Count = Annotated[int, msgspec.Meta(ge=0, le=MAX_SAFE_INTEGER)]
Sha256Hex = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}\Z")]  # \Z: "$" passes a "\n"


class _Frame(JsLengthLimited, frozen=True, tag_field="t"):
    pass


class FileInfo(JsLengthLimited, frozen=True):
    js_max_lengths = {"mime_type": 255}
    path: str  # relative, '/'-separated, portable (paths.py)
    size_bytes: Count = msgspec.field(name="size")
    mtime_ms: Count = msgspec.field(name="mtime")  # last modified, ms since 1970
    mime_type: str = msgspec.field(name="type")
    # a text item (UTF-8, at most MAX_TEXT_BYTES): present only as true (check_text_items)
    text: bool | UnsetType = UNSET

    @property
    def is_text(self) -> bool:
        return self.text is True


class WantEntry(msgspec.Struct, frozen=True):
    f: Count  # the manifest index
    from_block: Count = msgspec.field(name="from")  # blocks held and verified
    chain: Sha256Hex | None  # the block chain at from_block (None when from_block is 0)


class Hello(_Frame, tag="hello", frozen=True):
    protocol: Literal["p2pshare-transfer/1"]


class Manifest(_Frame, tag="manifest", frozen=True, kw_only=True):
    js_max_lengths = {"id": 64}
    id: str
    block_size: Literal[1048576] = msgspec.field(name="blockSize")
    # How many files the sender has yet to add again; wire.js does not check it, nor does this.
    # (Before `files`: the browser's field order, so both encode a manifest to the same bytes.)
    missing: Any = 0
    files: Annotated[list[FileInfo], msgspec.Meta(max_length=MAX_FILES)]


class Start(_Frame, tag="start", frozen=True):
    f: Count
    from_block: Count = msgspec.field(name="from")


class Block(_Frame, tag="block", frozen=True):
    f: Count
    i: Count
    length_bytes: Annotated[int, msgspec.Meta(ge=1, le=BLOCK_SIZE)] = msgspec.field(name="len")
    h: Sha256Hex


class Eof(_Frame, tag="eof", frozen=True):
    f: Count
    sha256: Sha256Hex


class Cancel(_Frame, tag="cancel", frozen=True):
    reason: str | UnsetType | None = UNSET  # wire.js takes it absent, null or a string


class Want(_Frame, tag="want", frozen=True):
    files: Annotated[list[WantEntry], msgspec.Meta(max_length=MAX_FILES)]
    # the most lanes this receiver takes (absent: 1; never null)
    lanes: Annotated[int, msgspec.Meta(ge=1, le=MAX_LANES)] | UnsetType = UNSET


class Ack(_Frame, tag="ack", frozen=True):
    f: Count
    i: Count


class Fail(_Frame, tag="fail", frozen=True):
    f: Count
    js_max_lengths = {"reason": 199}
    reason: str  # disk-full, hash-mismatch, ...


class Done(_Frame, tag="done", frozen=True):
    pass


class Lane(_Frame, tag="lane", frozen=True):
    """Both ways, on the first lane's channel: the negotiation of extra lane `n` (the sender
    offers, the receiver answers, both trickle candidates), its body checked as sealed_bodies
    checks one (no unknown fields, the same limits)."""

    n: Annotated[int, msgspec.Meta(ge=1, le=MAX_LANES - 1)]  # the lane (0 is the first one)
    sid: Annotated[int, msgspec.Meta(ge=1, le=MAX_SAFE_INTEGER)]  # its negotiation
    signal: Offer | Answer | Cand = msgspec.field(name="s")


ControlFrame = Hello | Manifest | Start | Block | Eof | Cancel | Want | Ack | Fail | Done | Lane
_TYPES: Final = frozenset(t.__struct_config__.tag for t in ControlFrame.__args__)


def parse_control(text: str) -> ControlFrame:
    """Decode and validate one control frame. Raises WireError (its `frame_type` is the `t`
    of a frame of a known type that failed its checks)."""
    try:
        message = loads_like_js(text)
    except ValueError:
        raise WireError("control frame is not JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise WireError("control frame without a type")
    frame_type: str = message["t"]
    if frame_type not in _TYPES:
        raise WireError(f"unknown control frame type {dumps_like_js(frame_type)[:40]}")
    try:
        frame: ControlFrame = msgspec.convert(message, ControlFrame, strict=True)
    except msgspec.ValidationError:
        raise WireError(f"invalid {frame_type} frame", frame_type) from None
    if isinstance(frame, Manifest):
        try:
            check_offer_paths([f.path for f in frame.files])
        except PathError as error:
            raise WireError(str(error), frame_type) from None
        check_text_items(frame.files)
    return frame


def check_text_items(files: Sequence[FileInfo]) -> None:
    """A manifest's text items keep to their limits (wire.js's checkTextItems): `text` only
    ever true, each at most MAX_TEXT_BYTES, at most MAX_TEXT_ITEMS. Raises WireError."""
    count = 0
    for info in files:
        if info.text is UNSET:
            continue
        if info.text is not True:
            raise WireError("invalid manifest frame", "manifest")
        if info.size_bytes > MAX_TEXT_BYTES:
            limit = MAX_TEXT_BYTES // BLOCK_SIZE
            raise WireError(f"a text item is over {limit} MiB, the limit for text", "manifest")
        count += 1
    if count > MAX_TEXT_ITEMS:
        raise WireError(f"more than {MAX_TEXT_ITEMS} text items", "manifest")


def encode_control(frame: ControlFrame) -> str:
    return msgspec.json.encode(frame).decode()


def block_count(size_bytes: int) -> int:
    """Blocks of a file of `size_bytes` (0 for an empty file)."""
    return -(-size_bytes // BLOCK_SIZE)


def block_length(size_bytes: int, index: int) -> int:
    """Bytes of block `index` of a file of `size_bytes`."""
    return max(0, min(BLOCK_SIZE, size_bytes - index * BLOCK_SIZE))


def file_key(info: FileInfo) -> str:
    """What identifies a file across reloads: path, size and mtime."""
    return f"{info.path}\0{info.size_bytes}\0{info.mtime_ms}"


def manifest_id(files: Sequence[FileInfo]) -> str:
    """The manifest's `id`: 32 hex of SHA-256 over the file keys (a changed offer differs)."""
    return hashlib.sha256("\n".join(file_key(f) for f in files).encode()).hexdigest()[:32]


def chain_next(previous: bytes, block_hash: bytes) -> bytes:
    """chain(k+1) = SHA-256(chain(k) || blockHash(k)); chain(0) is CHAIN_START."""
    return hashlib.sha256(previous + block_hash).digest()


def chain_at(block_hashes: Iterable[bytes]) -> bytes:
    """The chain after these block hashes (in order): what a `want` entry's `chain` proves."""
    chain = CHAIN_START
    for block_hash in block_hashes:
        chain = chain_next(chain, block_hash)
    return chain
