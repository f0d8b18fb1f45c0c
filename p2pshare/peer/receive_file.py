"""One file on the receiving side (web/js/transfer/receive-file.js): what the sender may send
for it, and when it is verified. Events in (from the data channel and from whoever writes and
hashes the blocks), answers out; no channel, no disk, no clock.

  pending -start-> receiving -start-> receiving   (a resync: resent from a block)
  receiving -all blocks verified + eof-> verifying -hash ok-> verified, -hash bad-> failed
  (restored as complete) verified;  any but final -fail-> failed

The invariants: a block header's index is the next one due, below the block count of the
declared size, and its length is exactly what that size implies; a block's bytes never exceed
its announced length (so what is written never exceeds the declared size); `eof` comes only
once every block arrived; whole-file verification starts only once every block is verified
and `eof` is in. A sender that breaks one gets a SenderViolation (the file fails, naming it).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from p2pshare.peer.errors import IllegalTransition, SenderViolation
from p2pshare.peer.wire import BLOCK_SIZE, block_count, block_length

__all__ = [
    "FINAL_STATES",
    "MAX_BAD_BLOCKS",
    "TRANSITIONS",
    "FileState",
    "ReceiveFile",
    "TransferOutcome",
    "transfer_outcome",
]


class FileState(enum.StrEnum):
    PENDING = "pending"  # offered, not started
    RECEIVING = "receiving"  # started: blocks arrive and are verified
    VERIFYING = "verifying"  # every block verified and eof in: the whole-file check runs
    VERIFIED = "verified"  # the whole-file SHA-256 matched: final
    FAILED = "failed"  # final


F = FileState
TRANSITIONS: Final[MappingProxyType[FileState, tuple[FileState, ...]]] = MappingProxyType(
    {
        F.PENDING: (F.RECEIVING, F.FAILED),
        F.RECEIVING: (F.RECEIVING, F.VERIFYING, F.FAILED),
        F.VERIFYING: (F.VERIFIED, F.FAILED),
        F.VERIFIED: (),
        F.FAILED: (),
    }
)
FINAL_STATES: Final = (F.VERIFIED, F.FAILED)
# A damaged block is asked for again (block_bad, then a resync) up to this many times; one
# more fails the file, naming the sender (web/js/receive-stream.js, where the browser keeps it).
MAX_BAD_BLOCKS: Final = 3


@dataclass(slots=True)
class CurrentBlock:
    index: int
    length_bytes: int
    got_bytes: int = 0


class ReceiveFile:
    def __init__(self, size_bytes: int, *, verified: bool = False) -> None:
        """`verified`: a file an earlier run already verified (restored as complete)."""
        self.size_bytes = size_bytes
        self.block_count = block_count(size_bytes)
        self.state = F.VERIFIED if verified else F.PENDING
        self.verified_bytes = size_bytes if verified else 0  # from the start, block-aligned
        self.next_block = 0  # the next block index the sender may announce
        self.current: CurrentBlock | None = None
        self.expected_sha256: str | None = None  # from eof, hex
        self.is_open = verified  # whether the sink holds this file as of the latest start
        self.failure = ""

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def start(self, from_block: int) -> None:
        """The sender starts (or restarts) this file at block `from_block`."""
        if from_block < 0 or from_block > self.block_count:
            raise SenderViolation(
                f"it started at block {from_block} of a file of {self.block_count} blocks"
            )
        self._move_to(F.RECEIVING, "start")
        self.next_block = from_block
        self.current = None
        self.expected_sha256 = None
        self.is_open = False  # until the sink says what it holds for this start

    def opened(self, verified_bytes: int) -> bool:
        """What the sink really holds once opened for the latest start (may be less than asked
        for). Returns True if that completes a file whose eof came already."""
        self._require_state("opened", F.RECEIVING)
        self.verified_bytes = verified_bytes
        self.is_open = True
        return self._ready_to_verify()

    def block_header(self, index: int, length_bytes: int) -> None:
        """A block header: `index` and `length_bytes` must be what the declared size implies."""
        self._require_state("block", F.RECEIVING)
        if self.current:
            raise SenderViolation(
                f"block {index} began before block {self.current.index} was complete"
            )
        if self.expected_sha256 is not None:
            raise SenderViolation(f"block {index} came after the end of the file")
        if index >= self.block_count:
            raise SenderViolation(
                f"it sent block {index} of a file of {self.block_count} blocks"
                f" ({self.size_bytes} bytes)"
            )
        if index != self.next_block:
            raise SenderViolation(f"it sent block {index} where block {self.next_block} was due")
        expected = block_length(self.size_bytes, index)
        if length_bytes != expected:
            raise SenderViolation(
                f"block {index} is {length_bytes} bytes where the file's size makes it {expected}"
            )
        self.current = CurrentBlock(index, length_bytes)
        self.next_block = index + 1

    def bytes_arrived(self, n: int) -> bool:
        """`n` bytes of the current block arrived. Returns whether they complete it."""
        self._require_state("bytes", F.RECEIVING)
        current = self.current
        if current is None:
            raise SenderViolation("it sent bytes outside any block")
        if current.got_bytes + n > current.length_bytes:
            raise SenderViolation(
                f"block {current.index} ran over its {current.length_bytes} bytes"
            )
        current.got_bytes += n
        if current.got_bytes < current.length_bytes:
            return False
        self.current = None
        return True

    def block_verified(self, verified_bytes: int) -> bool:
        """A block was verified and written; `verified_bytes` is what the sink now holds.
        Returns True when that completes a file whose eof came already."""
        self._require_state("verified block", F.RECEIVING)
        if (
            not self.is_open
            or verified_bytes > self.size_bytes
            or verified_bytes < self.verified_bytes
        ):
            raise IllegalTransition(
                self.state,
                self.state,
                f"verified up to {verified_bytes} of {self.size_bytes} bytes",
            )
        self.verified_bytes = verified_bytes
        return self._ready_to_verify()

    def block_bad(self) -> None:
        """A block failed its hash: the caller asks for it again (a start follows)."""
        self._require_state("bad block", F.RECEIVING)
        self.current = None
        self.expected_sha256 = None

    def eof(self, sha256: str) -> bool:
        """The sender's end of file. Returns True if every block is verified too (check the
        whole file now); otherwise that happens at the `block_verified` that completes it."""
        self._require_state("eof", F.RECEIVING)
        if self.current or self.next_block < self.block_count:
            had = self.current.index if self.current else self.next_block
            raise SenderViolation(f"it ended the file at block {had} of {self.block_count}")
        if self.expected_sha256 is not None:
            raise SenderViolation("it ended the file twice")
        self.expected_sha256 = sha256
        return self._ready_to_verify()

    def _ready_to_verify(self) -> bool:
        if (
            not self.is_open
            or self.expected_sha256 is None
            or self.verified_bytes != self.size_bytes
        ):
            return False
        self._move_to(F.VERIFYING, "all blocks verified")
        return True

    def finished(self, ok: bool) -> None:
        """The whole-file check's result."""
        self._require_state("whole-file check", F.VERIFYING)
        self._move_to(F.VERIFIED if ok else F.FAILED, "whole-file check")
        if not ok:
            self.failure = "its SHA-256 did not match the sender\u2019s"  # receive-file.js's words
        else:
            self.verified_bytes = self.size_bytes

    def fail(self, reason: str) -> None:
        """Give up on this file (a violation, bad blocks again and again, a disk error)."""
        if self.is_final:
            return
        self._move_to(F.FAILED, "fail")
        self.failure = reason
        self.current = None

    @property
    def want_from_block(self) -> int:
        """Blocks to ask for: from the last verified one."""
        return -(-self.verified_bytes // BLOCK_SIZE)

    def _require_state(self, event: str, *states: FileState) -> None:
        if self.state not in states:
            if self.state in (F.VERIFIED, F.VERIFYING):
                raise SenderViolation(f"it sent data ({event}) for a file already complete")
            raise IllegalTransition(self.state, "|".join(states), event)

    def _move_to(self, state: FileState, event: str) -> None:
        if state not in TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, state, event)
        self.state = state


TransferOutcome = Literal["done", "undelivered", "failed", "waiting"]


def transfer_outcome(files: Iterable[tuple[FileState, bool]]) -> TransferOutcome:
    """(state, delivered) per file -> 'done' only when every file is verified and delivered;
    'undelivered' when all are verified but one is not handed over; 'failed' when all are
    final and one failed; 'waiting' otherwise."""
    listed = list(files)
    if not all(state in FINAL_STATES for state, _ in listed):
        return "waiting"
    if any(state == F.FAILED for state, _ in listed):
        return "failed"
    return "done" if all(delivered for _, delivered in listed) else "undelivered"
