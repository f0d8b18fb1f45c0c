"""One nearby group's state machine: which devices are present, under which names.

Sans-IO, as room.py: the shell passes in events (`join`, `rename`, `relay`, `disconnect`)
with an opaque connection handle (and the time, for `rename`), and gets back effects to
carry out (room.py's `Deliver` and `Close`). Requests that cannot be honoured raise
`SignalingError`, which says whether the connection can go on.

Theory of the group:

- A group is the devices on one network (nearby_scope.py); the shell admits a connection
  only to its own group, so a group never needs to know addresses.
- A device's peer id is random, per connection: it tells nothing of the tab's `cid`,
  and a reload shows as the old id leaving and a new one arriving.
- One connection per `cid`: a join with a cid that is present replaces the older
  connection (`Close(old, REPLACED)`: the reload's old socket), as in rooms.
- Everyone may relay to anyone else in the group (never to itself); what is relayed is
  opaque. Renames are announced to everyone, so they are limited apart from the
  connection's message rate: one message would otherwise cost `max_peers` frames.
- The group's state follows its size (`GroupState`, `GROUP_TRANSITIONS`): `full` refuses
  a new cid (`group-full`) but takes a replacement, `empty` lets the shell end the group.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from p2pshare.errors import P2PShareError
from p2pshare.ratelimit import TokenBucket
from p2pshare.signaling.messages import PROTOCOL_VERSION, ErrorCode, SignalingError
from p2pshare.signaling.nearby_messages import (
    NearJoin,
    NearLeft,
    NearName,
    NearPeer,
    NearPeerInfo,
    NearRelay,
    NearRelayed,
    NearWelcome,
)
from p2pshare.signaling.room import Close, ConnHandle, Deliver, Effect

__all__ = [
    "GROUP_TRANSITIONS",
    "RENAME_BURST",
    "RENAME_RATE_PER_S",
    "GroupState",
    "IllegalGroupMove",
    "NearbyGroup",
    "NearbySettings",
    "random_peer_id",
]

# Renames a device may make: 4 at once, then one every 2 s (a person edits a name now and then).
RENAME_BURST: Final = 4
RENAME_RATE_PER_S: Final = 0.5


class GroupState(enum.Enum):
    EMPTY = "empty"  # nobody is here: the shell may end the group (a join may still come)
    OPEN = "open"  # 1 .. max_peers - 1 devices: a new device may join
    FULL = "full"  # max_peers devices: a new cid is refused (group-full), a replacement is not


GROUP_TRANSITIONS: Final[Mapping[GroupState, frozenset[GroupState]]] = MappingProxyType(
    {
        GroupState.EMPTY: frozenset({GroupState.OPEN, GroupState.FULL}),
        GroupState.OPEN: frozenset({GroupState.OPEN, GroupState.FULL, GroupState.EMPTY}),
        GroupState.FULL: frozenset({GroupState.FULL, GroupState.OPEN, GroupState.EMPTY}),
    }
)


class IllegalGroupMove(P2PShareError):
    """The group's size moved in a way its state table does not allow (a bug)."""


@dataclass(frozen=True, slots=True)
class NearbySettings:
    max_peers: int


@dataclass(slots=True)
class _Member:
    peer: str
    cid: str
    conn: ConnHandle
    name: str
    device: str
    renames: TokenBucket

    def info(self) -> NearPeerInfo:
        return NearPeerInfo(id=self.peer, name=self.name, device=self.device)

    def announcement(self) -> NearPeer:
        return NearPeer(id=self.peer, name=self.name, device=self.device)


def random_peer_id() -> str:
    """96 random bits, 16 base64url characters (the length of a room's peer ids)."""
    return secrets.token_urlsafe(12)


class NearbyGroup:
    def __init__(
        self,
        group_id: str,
        settings: NearbySettings,
        *,
        new_peer_id: Callable[[], str] = random_peer_id,
    ) -> None:
        self.group_id = group_id
        self.settings = settings
        self.state = GroupState.EMPTY
        self._new_peer_id = new_peer_id
        self._members: dict[str, _Member] = {}  # by peer id
        self._by_conn: dict[ConnHandle, _Member] = {}
        self._by_cid: dict[str, _Member] = {}

    # --- queries -------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return self.state is GroupState.EMPTY

    @property
    def peer_count(self) -> int:
        return len(self._members)

    # --- events --------------------------------------------------------------

    def join(self, conn: ConnHandle, message: NearJoin, now_s: float) -> list[Effect]:
        """`conn` asks to join. Raises SignalingError (fatal) when refused."""
        if conn in self._by_conn:
            raise SignalingError(ErrorCode.ALREADY_JOINED, "this connection has already joined")
        if message.v != PROTOCOL_VERSION:
            raise SignalingError(
                ErrorCode.BAD_MESSAGE,
                f"protocol version {message.v} is not supported (this server speaks "
                f"{PROTOCOL_VERSION}); reload the page",
                fatal=True,
            )
        effects: list[Effect] = []
        existing = self._by_cid.get(message.cid)
        if existing is not None:
            effects.append(
                Close(
                    existing.conn,
                    ErrorCode.REPLACED,
                    "this page was opened again (same tab), so this connection was closed",
                )
            )
            effects += self._remove(existing, settle=False)  # (settled with the newcomer)
        elif self.state is GroupState.FULL:
            raise SignalingError(
                ErrorCode.GROUP_FULL,
                f"{self.settings.max_peers} devices are already nearby; try again later",
                fatal=True,
            )
        peer = self._new_peer_id()
        while peer in self._members:
            peer = self._new_peer_id()
        member = _Member(
            peer=peer,
            cid=message.cid,
            conn=conn,
            name=message.name,
            device=message.device,
            renames=TokenBucket(RENAME_RATE_PER_S, RENAME_BURST, stamp_s=now_s),
        )
        others = list(self._members.values())
        self._members[peer] = member
        self._by_conn[conn] = member
        self._by_cid[message.cid] = member
        self._settle()
        effects.append(Deliver(conn, NearWelcome(you=peer, peers=tuple(m.info() for m in others))))
        announcement = member.announcement()
        effects.extend(Deliver(m.conn, announcement) for m in others)
        return effects

    def rename(self, conn: ConnHandle, message: NearName, now_s: float) -> list[Effect]:
        """A new name, for everyone. Raises SignalingError (not fatal) when renaming too often."""
        member = self._member(conn)
        if message.name == member.name:
            return []  # nothing to announce (and nothing spent)
        if not member.renames.take(now_s):
            raise SignalingError(ErrorCode.RATE_LIMITED, "renamed too often; the name is unchanged")
        member.name = message.name
        announcement = member.announcement()
        return [Deliver(m.conn, announcement) for m in self._members.values() if m is not member]

    def relay(self, conn: ConnHandle, message: NearRelay) -> list[Effect]:
        """Forward data. Raises SignalingError (not fatal) for a bad target."""
        member = self._member(conn)
        target = self._members.get(message.to)
        if target is None:
            raise SignalingError(ErrorCode.UNKNOWN_PEER, f"peer {message.to} is not nearby")
        if target is member:
            raise SignalingError(ErrorCode.NOT_ALLOWED, "a device cannot relay to itself")
        return [Deliver(target.conn, NearRelayed(from_=member.peer, data=message.data))]

    def disconnect(self, conn: ConnHandle, *, clean: bool) -> list[Effect]:
        """`conn` is gone (`clean` or not: announced alike). A replaced one changes nothing."""
        member = self._by_conn.get(conn)
        if member is None:
            return []
        return self._remove(member)

    # --- internals -----------------------------------------------------------

    def _member(self, conn: ConnHandle) -> _Member:
        member = self._by_conn.get(conn)
        if member is None:
            raise SignalingError(
                ErrorCode.JOIN_FIRST, "send near-join before anything else", fatal=True
            )
        return member

    def _remove(self, member: _Member, *, settle: bool = True) -> list[Effect]:
        del self._members[member.peer]
        del self._by_conn[member.conn]
        del self._by_cid[member.cid]
        if settle:
            self._settle()
        left = NearLeft(id=member.peer)
        return [Deliver(m.conn, left) for m in self._members.values()]

    def _settle(self) -> None:
        """Once per event: the state its size gives, by the table."""
        count = len(self._members)
        if count == 0:
            to = GroupState.EMPTY
        elif count >= self.settings.max_peers:
            to = GroupState.FULL
        else:
            to = GroupState.OPEN
        if to not in GROUP_TRANSITIONS[self.state]:
            raise IllegalGroupMove(f"{self.state.value} -> {to.value}")
        self.state = to
