"""What `p2pshare send` offers: the files (folders walked, paths made portable and unique as
the browser makes them) and any texts (`--text`: text items, "Text 1.txt", ... first), their
manifest, their digests, and the send loop of one receiver (web/js/send-loop.js's twin:
SendSession's steps carried out on its data channel).
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from p2pshare.client.exits import Exit, Outcome
from p2pshare.client.rtc import RtcLink
from p2pshare.peer.errors import PathError
from p2pshare.peer.file_digest import FileDigest
from p2pshare.peer.paths import MAX_FILES, check_offer_paths, portable_unique_paths
from p2pshare.peer.send_session import HIGH_WATER_BYTES, BlockStep, EofStep, SendSession
from p2pshare.peer.wire import (
    BLOCK_SIZE,
    CHUNK_SIZE,
    MAX_TEXT_BYTES,
    MAX_TEXT_ITEMS,
    Block,
    Eof,
    FileInfo,
    Manifest,
    Start,
    encode_control,
    manifest_id,
)

__all__ = ["SharedFiles", "send_loop"]

WINDOW_POLL_S = 0.5  # the window is re-checked at least this often


TEXT_TYPE = "text/plain;charset=utf-8"  # text-items.js's TEXT_TYPE


@dataclass
class _Shared:
    source: Path | bytes  # a file, or a text item's UTF-8 bytes
    info: FileInfo
    digest: FileDigest


def _texts(texts: tuple[str, ...]) -> list[tuple[bytes, str]]:
    """The texts as text items (bytes, name), their limits checked. Raises Outcome."""
    if len(texts) > MAX_TEXT_ITEMS:
        raise Outcome(Exit.USAGE, f"{len(texts)} texts: at most {MAX_TEXT_ITEMS} in one share")
    found = []
    for n, text in enumerate(texts, start=1):
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # bytes of the command line that are not UTF-8
            raise Outcome(Exit.USAGE, "a --text that is not UTF-8") from None
        if not text.strip():
            raise Outcome(Exit.USAGE, "an empty --text: nothing to send")
        if len(data) > MAX_TEXT_BYTES:
            raise Outcome(
                Exit.USAGE,
                f"a --text of {len(data):,} bytes: text is at most {MAX_TEXT_BYTES:,} bytes"
                " (1 MiB); put it in a file and send the file instead",
            )
        found.append((data, f"Text {n}.txt"))
    return found


class SharedFiles:
    def __init__(self, paths: tuple[Path, ...], texts: tuple[str, ...] = ()) -> None:
        found: list[tuple[Path | bytes, str]] = list(_texts(texts))
        for given in paths:
            if not given.exists():
                raise Outcome(Exit.USAGE, f"{given}: no such file or folder")
            if given.is_dir():
                base = given.resolve()
                for root, dirs, names in os.walk(base):
                    dirs.sort()
                    for name in sorted(names):
                        path = Path(root, name)
                        if path.is_file():
                            relative = path.relative_to(base.parent).as_posix()
                            found.append((path, relative))
            elif given.is_file():
                found.append((given.resolve(), given.name))
            else:
                raise Outcome(Exit.USAGE, f"{given}: not a regular file or folder")
        if not found:
            raise Outcome(Exit.USAGE, "nothing to share: the folders are empty")
        if len(found) > MAX_FILES:
            raise Outcome(Exit.USAGE, f"{len(found)} files: at most {MAX_FILES} in one share")
        names = portable_unique_paths([relative for _, relative in found])
        try:
            check_offer_paths(names)
        except PathError as error:
            raise Outcome(Exit.USAGE, f"cannot share these names: {error}") from None
        self.files: list[_Shared] = []
        for (source, _), name in zip(found, names, strict=True):
            if isinstance(source, bytes):
                info = FileInfo(name, len(source), int(time.time() * 1000), TEXT_TYPE, text=True)
            else:
                stat = source.stat()
                mime = mimetypes.guess_type(name)[0] or ""
                info = FileInfo(
                    path=name,
                    size_bytes=stat.st_size,
                    mtime_ms=int(stat.st_mtime * 1000),
                    mime_type=mime,
                )
            self.files.append(_Shared(source, info, FileDigest(info.size_bytes)))
        self.sizes_bytes = [f.info.size_bytes for f in self.files]
        self.total_bytes = sum(self.sizes_bytes)
        self.manifest = Manifest(
            id=manifest_id([f.info for f in self.files]),
            block_size=BLOCK_SIZE,
            files=[f.info for f in self.files],
        )

    def read_block(self, f: int, index: int) -> tuple[bytes, bytes]:
        """Block `index` of file `f` and its SHA-256 (feeding the file's digest)."""
        shared = self.files[f]
        if isinstance(shared.source, bytes):
            data = shared.source[index * BLOCK_SIZE : (index + 1) * BLOCK_SIZE]
        else:
            with shared.source.open("rb") as source:
                source.seek(index * BLOCK_SIZE)
                data = source.read(BLOCK_SIZE)
        try:
            return data, shared.digest.add_block(index, data)
        except ValueError as error:
            raise Outcome(Exit.FAILED, f"{shared.info.path}: {error}") from None

    async def claim_holds(self, f: int, from_block: int, chain: str | None) -> bool:
        digest = self.files[f].digest
        for index in digest.blocks_unhashed_before(from_block):
            await asyncio.to_thread(self.read_block, f, index)
        return digest.claim_holds(from_block, chain)

    async def sha256(self, f: int) -> str:
        digest = self.files[f].digest
        while digest.sha256 is None:
            index = digest.next_block_to_hash
            assert index is not None
            await asyncio.to_thread(self.read_block, f, index)
        return digest.sha256


async def send_loop(
    session: SendSession,
    link: RtcLink,
    shared: SharedFiles,
    generation: int,
    acked: asyncio.Event,
    progress: Callable[[], None],
) -> None:
    """One receiver's loop for one generation of its session (returns when superseded)."""
    sizes = shared.sizes_bytes

    def current() -> bool:
        return generation == session.generation and link.channel_open

    send: Callable[[str | bytes], Awaitable[bool]] = link.send
    step = session.next(sizes)
    while current() and step is not None:
        if isinstance(step, EofStep):
            sha256 = await shared.sha256(step.f)
            if not current():
                return
            await send(encode_control(Eof(f=step.f, sha256=sha256)))
            session.eof_sent()
        elif isinstance(step, BlockStep):
            data, block_hash = await asyncio.to_thread(shared.read_block, step.f, step.index)
            while current() and not session.window_open(_buffered(link)):
                acked.clear()
                if _buffered(link) > HIGH_WATER_BYTES:
                    await link.wait_buffered_below(HIGH_WATER_BYTES)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(acked.wait(), WINDOW_POLL_S)
            if not current():
                return
            header = Block(f=step.f, i=step.index, length_bytes=len(data), h=block_hash.hex())
            await send(encode_control(header))
            for offset in range(0, len(data), CHUNK_SIZE):
                await send(data[offset : offset + CHUNK_SIZE])
            session.block_sent(len(data))
            progress()
        else:
            matched = step.from_block == 0 or await shared.claim_holds(
                step.f, step.from_block, step.chain
            )
            if not current():
                return
            from_block = session.started(matched, sizes)
            await send(encode_control(Start(f=step.f, from_block=from_block)))
        step = session.next(sizes)


def _buffered(link: RtcLink) -> int:
    return link.channel.bufferedAmount if link.channel is not None else 0
