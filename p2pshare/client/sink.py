"""Where the command-line receiver keeps what it receives: files in the output folder, with
resume state beside them.

Each file is written as `<path>.p2pshare-part` and renamed to `<path>` only once its
whole-file SHA-256 matched the sender's, so a name in the folder is always a verified file.
Blocks are checked against their hash before a byte is written. `<folder>/.p2pshare/<room>.json`
records the client id, the page epoch, and per file the blocks verified and their chain; a
new run with the same link and folder re-reads those blocks (hashlib cannot save a hash's
state, so the whole-file hash is rebuilt from the bytes, which also catches a changed file)
and asks the sender only for the rest.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from p2pshare.peer.wire import BLOCK_SIZE, CHAIN_START, FileInfo, chain_next, file_key

__all__ = ["PART_SUFFIX", "PartFile", "ResumeState", "SinkError"]

PART_SUFFIX = ".p2pshare-part"
STATE_DIR = ".p2pshare"
READ_BYTES = BLOCK_SIZE


class SinkError(Exception):
    """The folder cannot take a file (permissions, disk full, a name that is a folder)."""


@dataclass
class ResumeState:
    """What a run keeps for the next one with the same link and folder."""

    path: Path
    cid: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    epoch: int = 0
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # by file key

    @classmethod
    def load(cls, folder: Path, room: str) -> ResumeState:
        path = folder / STATE_DIR / f"{room}.json"
        try:
            data = json.loads(path.read_text())
            return cls(
                path,
                cid=str(data["cid"]),
                epoch=int(data["epoch"]),
                files={str(k): dict(v) for k, v in data["files"].items()},
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return cls(path)

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({"cid": self.cid, "epoch": self.epoch, "files": self.files})
        )
        os.replace(temporary, self.path)

    def forget(self) -> None:
        """Everything arrived: nothing to resume."""
        try:
            self.path.unlink()
            self.path.parent.rmdir()  # only if empty
        except OSError:
            pass


class PartFile:
    """One file being received: its part file, the chain and hash of its verified blocks."""

    def __init__(self, folder: Path, info: FileInfo, name: str) -> None:
        """`name`: where it goes in `folder` (the offered path, or a numbered one if taken)."""
        self.info = info
        self.key = file_key(info)
        self.final_path = folder.joinpath(*name.split("/"))
        if not self.final_path.resolve().is_relative_to(folder.resolve()):
            raise SinkError(f"{name!r} would be written outside {folder}")
        self.part_path = self.final_path.with_name(self.final_path.name + PART_SUFFIX)
        self.verified_blocks = 0
        self.chain = CHAIN_START
        self._whole = hashlib.sha256()
        self._block = bytearray()

    @property
    def verified_bytes(self) -> int:
        return min(self.verified_blocks * BLOCK_SIZE, self.info.size_bytes)

    def restore(self, saved: dict[str, Any] | None) -> None:
        """Take up what an earlier run verified, if the part file still holds exactly it."""
        self.verified_blocks, self.chain, self._whole = 0, CHAIN_START, hashlib.sha256()
        if not saved:
            return
        try:
            blocks, chain = int(saved["blocks"]), bytes.fromhex(str(saved["chain"]))
            with self.part_path.open("rb") as part:
                whole, running = hashlib.sha256(), CHAIN_START
                for _ in range(blocks):
                    data = part.read(READ_BYTES)
                    if not data:
                        return
                    whole.update(data)
                    running = chain_next(running, hashlib.sha256(data).digest())
        except (OSError, ValueError, KeyError, TypeError):
            return
        if running == chain:
            self.verified_blocks, self.chain, self._whole = blocks, chain, whole

    def record(self) -> dict[str, Any]:
        return {"blocks": self.verified_blocks, "chain": self.chain.hex()}

    def start(self, from_block: int) -> None:
        """The sender starts at `from_block`: keep what is verified up to it, drop the rest."""
        if from_block < self.verified_blocks:
            self.restore(None)  # it could not confirm our part: start over
        self._block = bytearray()
        try:
            self.part_path.parent.mkdir(parents=True, exist_ok=True)
            with self.part_path.open("r+b" if self.part_path.exists() else "wb") as part:
                part.truncate(self.verified_bytes)
        except OSError as exc:
            raise SinkError(f"cannot write {self.part_path}: {exc.strerror or exc}") from exc

    def add(self, data: bytes) -> None:
        self._block += data

    def finish_block(self, expected_hex: str) -> bool:
        """The current block is complete: write it if it matches its hash. False if damaged."""
        block, self._block = bytes(self._block), bytearray()
        digest = hashlib.sha256(block).digest()
        if digest.hex() != expected_hex:
            return False
        try:
            with self.part_path.open("r+b") as part:
                part.seek(self.verified_bytes)
                part.write(block)
        except OSError as exc:
            raise SinkError(f"cannot write {self.part_path}: {exc.strerror or exc}") from exc
        self._whole.update(block)
        self.chain = chain_next(self.chain, digest)
        self.verified_blocks += 1
        return True

    def discard_block(self) -> None:
        self._block = bytearray()

    def finish(self, expected_sha256: str) -> bool:
        """Every block is in: compare the whole-file hash, and if it matches, name the file."""
        if self._whole.hexdigest() != expected_sha256:
            return False
        try:
            if self.info.size_bytes == 0:
                self.start(0)  # an empty file has no blocks: make its (empty) part file
            with self.part_path.open("r+b") as part:
                os.fsync(part.fileno())
            os.replace(self.part_path, self.final_path)
            if self.info.mtime_ms:
                seconds = self.info.mtime_ms / 1000
                os.utime(self.final_path, (seconds, seconds))
        except OSError as exc:
            raise SinkError(f"cannot keep {self.final_path}: {exc.strerror or exc}") from exc
        return True
