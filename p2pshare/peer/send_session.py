"""The sending side of one receiver (web/js/transfer/send-session.js): what it is doing, and
what to send it next. Events in (its link, its control frames, the user), the next step out;
no channel, no file, no timers (the clock is an argument, in ms).

The shell carries the steps out: `next()` says start a file, send a block, or end a file; the
shell reads and sends it and reports back (`started`, `block_sent`, `eof_sent`). A receiver
cannot make it send more than it asked for, or sooner: a want goes through the WantGate, an
ack counts only for a block in flight, and at most WINDOW_BLOCKS blocks are unacknowledged.
Its states and their moves are in send_state.py.

Why this module is over 300 lines: it is send-session.js line for line (one class), so that
the two can be read side by side; a split would part the twin from its original.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from p2pshare.peer.errors import IllegalTransition
from p2pshare.peer.guards import WantGate
from p2pshare.peer.send_state import (
    ENDED_STATES,
    FRAME_STATES,
    SEND_TRANSITIONS,
    SendReason,
    SendState,
)
from p2pshare.peer.wire import BLOCK_SIZE, WINDOW_BLOCKS, WantEntry, block_count, block_length

__all__ = [
    "GONE_AFTER_SILENCE_MS",
    "HIGH_WATER_BYTES",
    "BlockStep",
    "EofStep",
    "Failure",
    "QueuedFile",
    "SendSession",
    "SendStep",
    "StartStep",
    "WantResult",
]

S = SendState
HIGH_WATER_BYTES: Final = 4 << 20  # the loop also waits while the channel buffers more
GONE_AFTER_SILENCE_MS: Final = 3000  # left the room and silent this long: gone


@dataclass(slots=True)
class QueuedFile:
    f: int
    from_block: int
    chain: str | None
    next_block: int = 0
    started: bool = False


@dataclass(frozen=True, slots=True)
class StartStep:
    f: int
    from_block: int  # the receiver's claim: check `chain` against the file, then `started`
    chain: str | None


@dataclass(frozen=True, slots=True)
class BlockStep:
    f: int
    index: int


@dataclass(frozen=True, slots=True)
class EofStep:
    f: int


SendStep = StartStep | BlockStep | EofStep


@dataclass(frozen=True, slots=True)
class WantResult:
    plan: bool  # planned: (re)start the send loop
    retry_in_ms: int | None  # it waits for the gate: call `due` then (None: nothing to ask)


@dataclass(frozen=True, slots=True)
class Failure:
    f: int
    reason: str  # the wire's fail reason
    path: str  # for the view


class SendSession:
    def __init__(self, now_ms: float) -> None:
        self.state = S.CONNECTING  # moved only by `move`
        self.reason = SendReason.NONE
        self.detail = ""  # what the reason is about (a path, an error's message)
        self.present = True
        self.cancelled_by_receiver = False
        self.generation = 0  # bumped whenever the current send loop must stop
        self.queue: list[QueuedFile] = []
        self.inflight_blocks = 0
        self.wanted_bytes = 0
        self.done_bytes = 0
        self.sent_bytes = 0
        self.resumed_bytes = 0
        self.joined_at_ms = now_ms
        self.last_ack_at_ms = now_ms
        self.failures: list[Failure] = []  # files the receiver could not keep
        self.want_gate: WantGate[WantEntry] = WantGate(now_ms)
        self.unacked: dict[int, set[int]] = {}  # file -> blocks sent, not yet acknowledged

    def move(
        self,
        to: SendState,
        reason: SendReason = SendReason.NONE,
        detail: str = "",
        why: str = "move",
    ) -> None:
        """Move to `to`. Raises IllegalTransition if the table forbids it."""
        if to not in SEND_TRANSITIONS[self.state]:
            raise IllegalTransition(self.state, to, why)
        self.state, self.reason, self.detail = to, reason, detail

    @property
    def ended(self) -> bool:
        return self.state in ENDED_STATES

    def halt(self) -> None:
        """Stop the current send loop (it checks `generation` after every wait)."""
        self.generation += 1

    def end(self, state: SendState, reason: SendReason, detail: str = "") -> None:
        """Leave for good (cancel, stop): the loop stops."""
        self.halt()
        self.move(state, reason, detail, "end")

    # --- the link ---------------------------------------------------------------------------

    def channel_opened(self) -> None:
        """A new data channel is open: wants waiting for the old one are void."""
        self.want_gate.reset()
        if self.state in (S.CONNECTING, S.GONE):
            self.move(S.CONNECTED, why="channel open")

    def channel_closed(self) -> None:
        """The data channel closed: the loop stops; the receiver's next want resumes it."""
        self.halt()
        self.want_gate.reset()
        if self.state in (S.TRANSFERRING, S.CONNECTED):
            self.move(S.CONNECTING if self.present else S.GONE, why="channel closed")

    def left(self, channel_open: bool) -> None:
        """It left the room; `channel_open`: whether its data channel still is."""
        self.present = False
        if not channel_open and self.state in (S.CONNECTING, S.CONNECTED):
            self.move(S.GONE, why="left")

    def lost_while_away(self) -> None:
        """Its connection died while it was away: nothing to repair until it returns."""
        if self.state != S.DONE and not self.ended:
            self.move(S.GONE, why="lost while away")

    def rejoined(self, channel_open: bool) -> bool:
        """It is (back) in the room. Returns whether to greet it (say hello)."""
        self.present = True
        if self.ended:
            return False
        if self.state == S.GONE:
            self.move(S.CONNECTED if channel_open else S.CONNECTING, why="rejoined")
        return True

    def check_vanished(self, now_ms: float) -> bool:
        """Gone if it left the room and has been silent on a channel still open in name."""
        silent_ms = now_ms - self.last_ack_at_ms
        if self.state != S.TRANSFERRING or self.present or silent_ms <= GONE_AFTER_SILENCE_MS:
            return False
        self.end(S.GONE, SendReason.NONE)
        return True

    def admit_sealed(self, hello_from_new_page: bool) -> bool:
        """A sealed message from it arrived; returns whether to act on it. One that cancelled
        and opens the link again (a hello from a new page) starts afresh."""
        if self.state == S.CANCELLED and self.cancelled_by_receiver and hello_from_new_page:
            self.cancelled_by_receiver = False
            self.failures = []
            self.move(S.CONNECTING, why="came back")
        if self.state in (S.CANCELLED, S.UNVERIFIED):
            return False
        if self.state == S.WRONG_KEY:
            self.move(S.CONNECTING, why="verified message")
        return True

    def wrong_key(self) -> None:
        """Someone opened the link with another secret (ignored once it ended otherwise)."""
        if self.state in (S.CANCELLED, S.UNVERIFIED):
            return
        self.halt()
        self.move(S.WRONG_KEY, SendReason.WRONG_KEY, why="wrong key")

    def unverified(self) -> None:
        self.end(S.UNVERIFIED, SendReason.UNVERIFIED)

    # --- its control frames -----------------------------------------------------------------

    @property
    def takes_frames(self) -> bool:
        """Whether its data-channel frames count now (not ended, not before a channel)."""
        return self.state in FRAME_STATES

    def want(
        self, entries: Sequence[WantEntry], sizes_bytes: Sequence[int], now_ms: float
    ) -> WantResult:
        """A want: planned now, or waiting for the gate (call `due` after `retry_in_ms`)."""
        if not self.takes_frames:
            return WantResult(False, None)
        verdict = self.want_gate.offer(entries, now_ms)
        if verdict.act is None:
            return WantResult(False, verdict.retry_in_ms)
        self.plan(verdict.act, sizes_bytes, now_ms)
        return WantResult(True, None)

    def due(self, sizes_bytes: Sequence[int], now_ms: float) -> WantResult:
        """The timer a waiting want asked for fired."""
        if not self.takes_frames:
            return WantResult(False, None)
        verdict = self.want_gate.due(now_ms)
        if verdict.act is None:
            return WantResult(False, verdict.retry_in_ms)
        self.plan(verdict.act, sizes_bytes, now_ms)
        return WantResult(True, None)

    def plan(self, entries: Sequence[WantEntry], sizes_bytes: Sequence[int], now_ms: float) -> int:
        """Replace what is queued with `entries` (already unique): a new loop from their
        `from`. Returns the new generation."""
        self.halt()
        self.inflight_blocks = 0
        self.unacked = {}
        self.queue = [
            QueuedFile(w.f, min(w.from_block, block_count(sizes_bytes[w.f])), w.chain)
            for w in entries
            if w.f < len(sizes_bytes)
        ]
        self.wanted_bytes = sum(sizes_bytes[item.f] for item in self.queue)
        self.done_bytes = sum(
            min(item.from_block * BLOCK_SIZE, sizes_bytes[item.f]) for item in self.queue
        )
        self.resumed_bytes = self.done_bytes
        self.last_ack_at_ms = now_ms
        to = S.TRANSFERRING if self.queue else S.FAILED if self.failures else S.DONE
        self.move(to, self._failure_reason(), why="want")
        return self.generation

    def ack(self, f: int, index: int, sizes_bytes: Sequence[int], now_ms: float) -> bool:
        """An ack of block `index` of file `f`; counts (and returns True) only when that block
        was sent and not yet acknowledged in the current plan, so a replayed, repeated or
        invented ack neither opens the window nor moves the progress."""
        unacked = self.unacked.get(f)
        if not self.takes_frames or unacked is None or index not in unacked:
            return False
        unacked.remove(index)
        self.inflight_blocks -= 1
        self.last_ack_at_ms = now_ms
        self.done_bytes = min(
            self.wanted_bytes, self.done_bytes + block_length(sizes_bytes[f], index)
        )
        return True

    def receiver_failed(self, f: int, reason: str, path: str) -> None:
        """It could not keep file `f` (`reason`: the wire's fail reason)."""
        if not self.takes_frames:
            return
        self.failures.append(Failure(f, reason, path))
        self.move(S.FAILED, self._failure_reason(), why="fail")

    def receiver_done(self) -> None:
        """It has every file it wanted (some may have failed: then it stays failed)."""
        if not self.takes_frames:
            return
        self.halt()
        self.done_bytes = self.wanted_bytes
        self.move(S.FAILED if self.failures else S.DONE, self._failure_reason(), why="done")

    def _failure_reason(self) -> SendReason:
        return SendReason.RECEIVER_FAILED if self.failures else SendReason.NONE

    # --- the send loop's steps --------------------------------------------------------------

    def window_open(self, buffered_amount_bytes: int) -> bool:
        """Whether another block may go out now."""
        return self.inflight_blocks < WINDOW_BLOCKS and buffered_amount_bytes <= HIGH_WATER_BYTES

    def next(self, sizes_bytes: Sequence[int]) -> SendStep | None:
        """What to do next (None: nothing left)."""
        if not self.queue:
            return None
        item = self.queue[0]
        if not item.started:
            return StartStep(item.f, item.from_block, item.chain)
        if item.next_block >= block_count(sizes_bytes[item.f]):
            return EofStep(item.f)
        return BlockStep(item.f, item.next_block)

    def started(self, chain_matched: bool, sizes_bytes: Sequence[int]) -> int:
        """The head file was started; `chain_matched`: whether the receiver's claim held (else
        it is sent whole, and what the plan counted as done is not). Returns its first block."""
        item = self.queue[0]
        if not chain_matched and item.from_block > 0:
            self.done_bytes -= min(item.from_block * BLOCK_SIZE, sizes_bytes[item.f])
            item.from_block = 0
        item.next_block = item.from_block
        item.started = True
        return item.from_block

    def block_sent(self, length_bytes: int) -> None:
        item = self.queue[0]
        self.unacked.setdefault(item.f, set()).add(item.next_block)
        item.next_block += 1
        self.sent_bytes += length_bytes
        self.inflight_blocks += 1

    def eof_sent(self) -> None:
        self.queue.pop(0)  # acks of its last blocks may still come: unacked knows them

    def wait_for_files(self) -> None:
        """The files to send are not added again yet (after the sender's restart)."""
        self.halt()
        self.move(S.CONNECTED, SendReason.FILES_MISSING, why="files missing")

    def send_failed(self, message: str) -> None:
        self.move(S.FAILED, SendReason.SEND_ERROR, message, "send error")
