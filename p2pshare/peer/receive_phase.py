"""The receiving side's phase (web/js/transfer/receive-phase.js): one enum, one table of moves.

`done` and `error` are final but for two moves the table names: `done` reopens to `ready`
when the sender offers more files, and either may be reached again (a new text).
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Final

from p2pshare.peer.errors import IllegalTransition

__all__ = ["FINAL_PHASES", "PHASE_TRANSITIONS", "Phase", "next_phase"]


class Phase(enum.StrEnum):
    CONNECTING = "connecting"  # reaching the server and the sender
    WAITING_SENDER = "waiting-sender"  # in the room; the sender is not
    READY = "ready"  # the offer is in: accept it
    TRANSFERRING = "transferring"
    DONE = "done"  # every file verified and delivered
    ERROR = "error"  # final


P = Phase
_LIVE: Final = (P.CONNECTING, P.WAITING_SENDER, P.READY, P.TRANSFERRING, P.DONE, P.ERROR)
PHASE_TRANSITIONS: Final[MappingProxyType[Phase, tuple[Phase, ...]]] = MappingProxyType(
    {
        P.CONNECTING: _LIVE,
        P.WAITING_SENDER: _LIVE,
        P.READY: _LIVE,
        P.TRANSFERRING: _LIVE,
        P.DONE: (P.DONE, P.READY, P.ERROR),
        P.ERROR: (P.ERROR,),
    }
)
FINAL_PHASES: Final = (P.DONE, P.ERROR)


def next_phase(from_phase: Phase, to_phase: Phase, why: str) -> Phase:
    """`to_phase`, if the table allows the move. Raises IllegalTransition."""
    if to_phase not in PHASE_TRANSITIONS[from_phase]:
        raise IllegalTransition(from_phase, to_phase, why)
    return to_phase
