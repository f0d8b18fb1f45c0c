"""The command-line receiver's data plane (web/js/receiver.js + receive-stream.js's part):
frames from the data channel go through each file's ReceiveFile (p2pshare/peer: the sender's
invariants) to its PartFile (sink.py: checks each block's hash, writes, keeps the chain), and
acks, wants, fails and the final `done` go back.

The manifest is shown and, unless `--yes`, confirmed before anything is asked for. A want
names, per file, the blocks already verified and their chain, so a resume (a new connection,
or a new run with the same folder) asks only for the rest; a damaged block is asked for again
up to MAX_BAD_BLOCKS times.

Why this module is over 300 lines: it is the browser's receive-stream.js and the data-plane
half of receiver.js side by side (the offer, the wants, the frames, the end), so that the two
clients can be read against each other; the part that touches the disk is sink.py.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from p2pshare.client.exits import Exit, Outcome
from p2pshare.client.progress import Display, format_bytes
from p2pshare.client.sink import PartFile, ResumeState, SinkError
from p2pshare.peer.errors import IllegalTransition, SenderViolation, WireError
from p2pshare.peer.paths import portable_unique_paths
from p2pshare.peer.receive_file import MAX_BAD_BLOCKS, FileState, ReceiveFile
from p2pshare.peer.wire import (
    Ack,
    Block,
    Cancel,
    ControlFrame,
    Done,
    Eof,
    Fail,
    FileInfo,
    Hello,
    Manifest,
    Start,
    Want,
    WantEntry,
    encode_control,
    file_key,
    parse_control,
)

__all__ = ["ReceiveStream"]

SendFrame = Callable[[str | bytes], Awaitable[bool]]


@dataclass
class _File:
    info: FileInfo
    part: PartFile
    engine: ReceiveFile
    bad_blocks: int = 0


class ReceiveStream:
    def __init__(
        self, output: Path, yes: bool, state: ResumeState, display: Display, send: SendFrame
    ) -> None:
        self.output = output
        self.yes = yes
        self.state = state
        self.display = display
        self.send = send
        self.files: list[_File] = []
        self.manifest_id: str | None = None
        self.accepted = False
        self.channel_open = False
        self.awaiting_start = False  # a want went out: what is in flight until its start is dropped
        self.current: tuple[int, Block] | None = None
        self.finished: asyncio.Future[Outcome] | None = None

    # --- the channel -----------------------------------------------------------------------

    async def channel_opened(self) -> None:
        self.channel_open = True
        self.awaiting_start = False
        self.current = None
        if self.accepted:
            await self.resync()

    def channel_closed(self) -> None:
        self.channel_open = False
        self.current = None
        for file in self.files:
            file.part.discard_block()

    def close(self) -> None:
        self.state.save()

    async def frame(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self._bytes(data)
            return
        try:
            frame = parse_control(data)
        except WireError as error:
            if error.frame_type == "manifest":
                self._end(
                    Exit.FAILED,
                    f"the sender's file list was refused ({error}); nothing was received",
                )
            return
        await self._control(frame)

    async def _control(self, frame: ControlFrame) -> None:
        match frame:
            case Hello():
                pass  # its `protocol` is checked by parse_control: only ours decodes
            case Manifest():
                await self._manifest(frame)
            case Start():
                await self._start(frame)
            case Block():
                await self._block(frame)
            case Eof():
                await self._eof(frame)
            case Cancel():
                self._end(Exit.LINK_GONE, "the sender cancelled this transfer")
            case _:
                pass  # receiver-to-sender frames, not for us

    # --- the offer ---------------------------------------------------------------------------

    async def _manifest(self, manifest: Manifest) -> None:
        known = [f.part.key for f in self.files]
        if any(
            i >= len(manifest.files) or file_key(manifest.files[i]) != k
            for i, k in enumerate(known)
        ):
            self._end(
                Exit.FAILED,
                "the sender changed its file list during the transfer; ask it to share again",
            )
            return
        self.manifest_id = manifest.id
        added = manifest.files[len(self.files) :]
        taken = [f.part.final_path.relative_to(self.output).as_posix() for f in self.files]
        on_disk = [p for p in (i.path for i in added) if self._taken_by_another(p)]
        names = portable_unique_paths([i.path for i in added], taken + on_disk)
        for info, name in zip(added, names, strict=True):
            self.files.append(self._incoming(info, name))
        if not added:
            return
        total = sum(i.size_bytes for i in added)
        lines = [
            f"  {i.path}  ({format_bytes(i.size_bytes)}{', text' if i.is_text else ''})"
            for i in added
        ]
        self.display.event(
            "manifest",
            message=f"{len(added)} file(s), {format_bytes(total)}:\n" + "\n".join(lines),
            files=[_listed(i) for i in added],
        )
        if manifest.missing:
            self.display.event(
                "waiting", message="The sender is adding files again after a reload ..."
            )
        if not self.accepted:
            needed = sum(f.info.size_bytes - f.part.verified_bytes for f in self.files)
            free = _free_bytes(self.output)
            if free is not None and needed > free:
                self._end(
                    Exit.FAILED,
                    f"{self.output} has {format_bytes(free)} free, the share needs "
                    f"{format_bytes(needed)}: free some space or pick another --output",
                )
                return
            if not self.yes and not sys.stdin.isatty():
                self._end(Exit.USAGE, "not a terminal, so nobody can confirm: run with --yes")
                return
            if not self.yes and not await _confirm(f"Receive into {self.output}? [y/N] "):
                await self.send(encode_control(Cancel(reason="declined")))
                self._end(Exit.FAILED, "declined: nothing was received")
                return
            self.accepted = True
        await self.resync()

    def _taken_by_another(self, path: str) -> bool:
        """A file of that name is in the folder and is not one an earlier run verified."""
        target = self.output.joinpath(*path.split("/"))
        return target.exists() and not any(
            record.get("done") and record.get("path") == path
            for record in self.state.files.values()
        )

    def _incoming(self, info: FileInfo, name: str) -> _File:
        part = PartFile(self.output, info, name)
        saved = self.state.files.get(part.key)
        done = bool(saved and saved.get("done") and part.final_path.exists())
        if not done:
            part.restore(saved)
        return _File(info, part, ReceiveFile(info.size_bytes, verified=done))

    async def resync(self) -> None:
        """Ask for every file not complete yet, from its last verified block."""
        wanted = [
            WantEntry(
                f,
                file.part.verified_blocks,
                file.part.chain.hex() if file.part.verified_blocks else None,
            )
            for f, file in enumerate(self.files)
            if not file.engine.is_final and file.engine.state is not FileState.VERIFYING
        ]
        self.awaiting_start = True
        self.current = None
        if not wanted:
            await self._maybe_done()
            return
        held = sum(f.part.verified_bytes for f in self.files)
        if held:
            self.display.event(
                "resuming", message=f"Resuming: {format_bytes(held)} already here.", bytes=held
            )
        await self.send(encode_control(Want(files=wanted)))

    # --- the file frames ---------------------------------------------------------------------

    async def _start(self, start: Start) -> None:
        file = self._file(start.f)
        if (
            not self.accepted
            or file is None
            or file.engine.is_final
            or file.engine.state is FileState.VERIFYING
        ):
            return
        try:
            file.engine.start(start.from_block)
            file.part.start(start.from_block)
        except SenderViolation as error:
            await self._violation(start.f, error)
            return
        except SinkError as error:
            await self._failed(start.f, str(error), "write-error")
            return
        self.awaiting_start = False
        self.current = None
        file.engine.opened(file.part.verified_bytes)
        if file.part.verified_blocks != start.from_block:
            await self.resync()  # it starts elsewhere than what we hold: ask again from there

    async def _block(self, block: Block) -> None:
        file = self._file(block.f)
        if self.awaiting_start or file is None or file.engine.state is not FileState.RECEIVING:
            return
        try:
            file.engine.block_header(block.i, block.length_bytes)
        except SenderViolation as error:
            await self._violation(block.f, error)
            return
        self.current = (block.f, block)

    async def _bytes(self, data: bytes) -> None:
        if self.awaiting_start or self.current is None:
            return  # a resync: what was in flight is dropped unwritten
        f, block = self.current
        file = self.files[f]
        try:
            complete = file.engine.bytes_arrived(len(data))
        except SenderViolation as error:
            await self._violation(f, error)
            return
        file.part.add(data)
        if not complete:
            self._progress()
            return
        self.current = None
        try:
            good = file.part.finish_block(block.h)
        except SinkError as error:
            await self._failed(f, str(error), "write-error")
            return
        if not good:
            file.engine.block_bad()
            file.bad_blocks += 1
            if file.bad_blocks > MAX_BAD_BLOCKS:
                await self._failed(
                    f, f"the sender kept sending block {block.i} damaged", "hash-mismatch"
                )
            else:
                await self.resync()
            return
        try:
            ready = file.engine.block_verified(file.part.verified_bytes)
        except IllegalTransition as error:
            await self._failed(f, f"could not be written in order ({error})", "write-error")
            return
        self.state.files[file.part.key] = file.part.record()
        self.state.save()  # every block (1 MiB): a crash costs at most the blocks in flight
        await self.send(encode_control(Ack(f=f, i=block.i)))
        self._progress()
        if ready:
            await self._verify_whole(f)

    async def _eof(self, eof: Eof) -> None:
        file = self._file(eof.f)
        if self.awaiting_start or file is None or file.engine.state is not FileState.RECEIVING:
            return
        try:
            if file.engine.eof(eof.sha256):
                await self._verify_whole(eof.f)
        except SenderViolation as error:
            await self._violation(eof.f, error)

    async def _verify_whole(self, f: int) -> None:
        file = self.files[f]
        expected = file.engine.expected_sha256
        assert expected is not None
        try:
            ok = file.part.finish(expected)
        except SinkError as error:
            await self._failed(f, str(error), "write-error")
            return
        file.engine.finished(ok)
        if not ok:
            await self._failed(f, file.engine.failure, "hash-mismatch")
            return
        self.state.files[file.part.key] = {
            **file.part.record(),
            "done": True,
            "path": file.info.path,
        }
        self.state.save()
        self.display.event(
            "verified",
            message=f"verified  {file.part.final_path}",
            path=str(file.part.final_path),
            **({"text": True} if file.info.is_text else {}),
        )
        await self._maybe_done()

    # --- the end -------------------------------------------------------------------------

    async def _violation(self, f: int, error: SenderViolation) -> None:
        await self._failed(f, f"the sender broke the transfer protocol: {error}", "protocol")

    async def _failed(self, f: int, reason: str, wire_reason: str) -> None:
        file = self.files[f]
        if file.engine.is_final:
            return
        file.engine.fail(reason)
        file.part.discard_block()
        self.display.event(
            "failed", message=f"FAILED    {file.info.path}: {reason}", path=file.info.path
        )
        await self.send(encode_control(Fail(f=f, reason=wire_reason)))
        await self._maybe_done()

    async def _maybe_done(self) -> None:
        if not self.files or not all(f.engine.is_final for f in self.files):
            return
        self._progress()
        failed = [f for f in self.files if f.engine.state is FileState.FAILED]
        if failed:
            self._end(
                Exit.VERIFICATION_FAILED,
                f"{len(failed)} of {len(self.files)} file(s) failed; see above",
            )
            return
        await self.send(encode_control(Done()))
        total = sum(f.info.size_bytes for f in self.files)
        self._end(
            Exit.OK,
            f"Done: {len(self.files)} file(s), {format_bytes(total)}, all verified,"
            f" in {self.output}",
        )

    def _end(self, code: Exit, message: str) -> None:
        if self.finished is not None and not self.finished.done():
            self.finished.set_result(Outcome(code, message))

    def _file(self, f: int) -> _File | None:
        return self.files[f] if 0 <= f < len(self.files) else None

    def _progress(self) -> None:
        total = sum(f.info.size_bytes for f in self.files)
        done = sum(f.part.verified_bytes for f in self.files)
        status = "done" if all(f.engine.is_final for f in self.files) else "receiving"
        self.display.bar("receive", "receiving", done, total, status)


def _free_bytes(folder: Path) -> int | None:
    """Free space where `folder` is (or would be created), None if unknown."""
    for place in (folder, *folder.resolve().parents):
        if place.exists():
            try:
                return shutil.disk_usage(place).free
            except OSError:
                return None
    return None


async def _confirm(question: str) -> bool:
    answer = await asyncio.to_thread(input, question)
    return answer.strip().lower() in ("y", "yes")


def _listed(info: FileInfo) -> dict[str, object]:
    """A manifest entry as `--json` lists it: a text item (saved as a file) says so."""
    listed: dict[str, object] = {"path": info.path, "size": info.size_bytes}
    if info.is_text:
        listed["text"] = True
    return listed
