"""Per-peer limits on what a peer can make us do (web/js/transfer/guards.js). The caller passes
the clock, in ms.

A receiver's `want` restarts the sender's send loop for it (each restart reads a block ahead),
and a bad sealed envelope makes us reply and warn: without limits, one link holder could make a
sender read hundreds of blocks at once, or warn a hundred times.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

__all__ = [
    "ALARM_INTERVAL_MS",
    "WANT_BURST",
    "WANT_RATE_PER_S",
    "AlarmGate",
    "GateVerdict",
    "TokenBucket",
    "WantGate",
    "unique_wants",
]

WANT_RATE_PER_S: Final = 4  # wants acted on per second, after a burst of WANT_BURST
WANT_BURST: Final = 8
ALARM_INTERVAL_MS: Final = 60_000  # replies (and notices) to a peer's bad envelopes


class _Indexed(Protocol):
    @property
    def f(self) -> int: ...


T = TypeVar("T", bound=_Indexed)


class TokenBucket:
    def __init__(self, rate_per_s: float, burst: int, now_ms: float) -> None:
        self.rate_per_ms = rate_per_s / 1000
        self.burst = burst
        self.tokens: float = burst
        self.stamp_ms = now_ms

    def refill(self, now_ms: float) -> None:
        if now_ms > self.stamp_ms:
            elapsed_ms = now_ms - self.stamp_ms
            self.tokens = min(self.burst, self.tokens + elapsed_ms * self.rate_per_ms)
        self.stamp_ms = max(self.stamp_ms, now_ms)

    def take(self, now_ms: float) -> bool:
        """Take one token if there is one."""
        self.refill(now_ms)
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def wait_ms(self, now_ms: float) -> int:
        """Milliseconds until a token is there (0: now)."""
        self.refill(now_ms)
        return 0 if self.tokens >= 1 else math.ceil((1 - self.tokens) / self.rate_per_ms)


def unique_wants(entries: Sequence[T]) -> list[T]:
    """One entry per file, the first one listed: a want that names a file twice sends it once."""
    seen: set[int] = set()
    unique: list[T] = []
    for entry in entries:
        if entry.f not in seen:
            seen.add(entry.f)
            unique.append(entry)
    return unique


@dataclass(frozen=True, slots=True)
class GateVerdict(Generic[T]):
    act: list[T] | None  # the entries to act on now
    retry_in_ms: int | None  # call `due` then (None: a timer is already asked for, or none)


class WantGate(Generic[T]):
    """Coalesces a receiver's wants: each acted on at once while the rate allows; past it only
    the latest waiting one is kept, for when a token comes (a want replaces the one before)."""

    def __init__(self, now_ms: float) -> None:
        self.bucket = TokenBucket(WANT_RATE_PER_S, WANT_BURST, now_ms)
        self.waiting: list[T] | None = None  # the latest want waiting for a token

    def offer(self, entries: Sequence[T], now_ms: float) -> GateVerdict[T]:
        unique = unique_wants(entries)
        if self.waiting is None and self.bucket.take(now_ms):
            return GateVerdict(unique, None)
        first = self.waiting is None
        self.waiting = unique
        return GateVerdict(None, self.bucket.wait_ms(now_ms) if first else None)

    def reset(self) -> None:
        """Forget the waiting want (its channel closed; a new channel brings new wants)."""
        self.waiting = None

    def due(self, now_ms: float) -> GateVerdict[T]:
        """The timer the last `offer` asked for fired: the waiting want, if a token is there."""
        if self.waiting is None:
            return GateVerdict(None, None)
        if not self.bucket.take(now_ms):
            return GateVerdict(None, self.bucket.wait_ms(now_ms))
        act, self.waiting = self.waiting, None
        return GateVerdict(act, None)


class AlarmGate:
    """Whether to answer (and show) a peer's bad envelope: once per ALARM_INTERVAL_MS per peer."""

    def __init__(self) -> None:
        self.last_ms: dict[str, float] = {}

    def admit(self, peer: str, now_ms: float) -> bool:
        last = self.last_ms.get(peer)
        if last is not None and now_ms - last < ALARM_INTERVAL_MS:
            return False
        if len(self.last_ms) >= 1024:
            self.last_ms.clear()  # a room holds a few peers; bounded anyway
        self.last_ms[peer] = now_ms
        return True
