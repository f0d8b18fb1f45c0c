"""Limits on TCP connections before any HTTP is read (sans-IO: the shell counts, this decides).

Signaling has its own per-address limits, but they apply after the WebSocket upgrade. Before it,
a client could hold any number of TCP connections open (idle, or sending its request head a byte
at a time) until the keep-alive timeout: 1,500 from one address were each held about 30 s. The
gate caps the connections one address holds at once; the shell (server.py) closes the ones over
the cap at once, before reading a byte.
"""

from __future__ import annotations

import collections

__all__ = ["ConnectionGate"]


class ConnectionGate:
    """Open TCP connections per client address, capped at `max_per_address`."""

    def __init__(self, max_per_address: int) -> None:
        self.max_per_address = max_per_address
        self._open: collections.Counter[str] = collections.Counter()
        self.refused = 0

    def enter(self, address: str) -> bool:
        """A connection from `address` opened: whether it may stay (then call `leave` later)."""
        if self._open[address] >= self.max_per_address:
            self.refused += 1
            return False
        self._open[address] += 1
        return True

    def leave(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def open_from(self, address: str) -> int:
        return self._open[address]
