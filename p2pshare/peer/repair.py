"""When and how to repair one peer connection (web/js/transfer/repair.js). The caller passes
the clock, in ms; one policy for both roles, each with its own parameters (REPAIR_ROLES):

- the offerer (the sender) repairs itself: an ICE restart with a new sid, or a fresh
  connection when the old one is gone or restarts did not help;
- the answerer (a receiver) asks the offerer to (a sealed `restart`), at most every few
  seconds, and also after its data channel closed while both pages are alive (the offerer
  leaves that case to it, so that the two do not both start a fresh connection).

Each event returns the repair to make now (`Repair.ICE`, `Repair.FRESH`) or None.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "MAX_ICE_RESTARTS",
    "NEGOTIATION_PATIENCE_MS",
    "REPAIR_ROLES",
    "Repair",
    "RepairPolicy",
    "RepairRole",
    "RoleParams",
]

MAX_ICE_RESTARTS: Final = 2  # ICE restarts that did not help before a fresh connection
NEGOTIATION_PATIENCE_MS: Final = 15_000  # a younger negotiation is not restarted by a hello


class Repair(enum.StrEnum):
    ICE = "ice"  # an ICE restart of the existing connection (a new sid)
    FRESH = "fresh"  # a new RTCPeerConnection and data channel


RepairRole = Literal["offerer", "answerer"]


@dataclass(frozen=True, slots=True)
class RoleParams:
    min_interval_ms: int  # repairs no closer together than this
    channel_lost_check_ms: int | None  # after a lost channel, look again then (None: never)


REPAIR_ROLES: Final[MappingProxyType[RepairRole, RoleParams]] = MappingProxyType(
    {"offerer": RoleParams(0, None), "answerer": RoleParams(3000, 2000)}
)


class RepairPolicy:
    def __init__(self, role: RepairRole) -> None:
        self.role: RepairRole = role
        self.params = REPAIR_ROLES[role]
        self.restarts = 0
        self.last_repair_ms = -math.inf
        self.negotiated_at_ms = -math.inf

    def opened(self) -> None:
        """A data channel opened: the connection works again."""
        self.restarts = 0

    def decide(self, fresh: bool, now_ms: float) -> Repair | None:
        """The repair to make now (`fresh`: only a new connection can help), or None within
        the interval."""
        if now_ms - self.last_repair_ms < self.params.min_interval_ms:
            return None
        self.last_repair_ms = now_ms
        if fresh or self.restarts >= MAX_ICE_RESTARTS:
            self.restarts = 0
            return Repair.FRESH
        self.restarts += 1
        return Repair.ICE

    def failed(self, *, dead: bool, present: bool, now_ms: float) -> Repair | None:
        """ICE failed (or the connection closed under us). `dead`: the connection is gone;
        `present`: the other side is in the room (else nothing to repair until it is back)."""
        return self.decide(dead, now_ms) if present else None

    def channel_lost(self) -> int | None:
        """The data channel closed: when to call `still_lost` (ms from now), or None."""
        return self.params.channel_lost_check_ms

    def still_lost(self, *, channel_open: bool, present: bool, now_ms: float) -> Repair | None:
        """The look `channel_lost` asked for: a fresh connection if nothing reopened."""
        if channel_open or not present:
            return None
        return self.decide(True, now_ms)

    def asked(self, *, fresh: bool, dead: bool, now_ms: float) -> Repair | None:
        """The other side asked for a repair (offerer only)."""
        return self.decide(fresh or dead, now_ms)

    def hello(self, *, live: bool, reloaded: bool, now_ms: float) -> Repair | None:
        """The other side said hello (offerer only): connect afresh unless its channel is
        live, or a negotiation for this same page is under way. `reloaded`: a new page."""
        if live and not reloaded:
            return None
        if not reloaded and now_ms - self.negotiated_at_ms < NEGOTIATION_PATIENCE_MS:
            return None
        self.restarts = 0
        self.last_repair_ms = now_ms
        return Repair.FRESH

    def negotiated(self, now_ms: float) -> None:
        """An offer went out (offerer): a hello soon after does not start another one."""
        self.negotiated_at_ms = now_ms
