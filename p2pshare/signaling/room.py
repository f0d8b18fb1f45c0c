"""One room's state machine: who is present, in which role, on which connection.

Sans-IO: the shell passes in events (`join`, `relay`, `disconnect`) with an opaque
connection handle, and gets back effects to carry out (`Deliver` a message to a
connection, `Close` a connection). Requests that cannot be honoured raise
`SignalingError`, which says whether the connection can go on.

Theory of the room:

- A peer is identified by its client id (`cid`, one per browser tab, kept across
  reloads). Its public peer id is derived from (room, cid) by a one-way hash, so
  it is stable across reloads and server restarts but does not reveal the cid
  (knowing a cid would let anyone evict that peer).
- At most one connection holds a peer slot. A join with a cid that is present
  replaces the old connection at once (`Close(old, REPLACED)`); the others see
  `peer-joined` again for the same peer id, and no `peer-left`.
- The sender role belongs to the holder of the creator token: the room id *is* a
  hash of that token (`creator_room_id`), made by the sender's tab. The server
  needs no stored state to check it, so the rule holds across reloads, server
  restarts and instances; knowing the link (the room id) only ever makes you a
  receiver, and a wrong token is refused.
- Receivers talk only to the sender, and the sender to any receiver; receivers
  never see each other's messages.
- Admission (admission.py): the sender's join registers the room's access key; a receiver
  is admitted only with a proof made with it. Before the room knows the key (its sender has
  not joined since the room was made: a restart, another instance), receivers are admitted on
  probation, and those whose proof does not match are closed when the sender registers it.
  So a room id alone never holds a slot, or reaches the sender, while the sender is there.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Literal

from p2pshare.signaling.admission import proof_matches
from p2pshare.signaling.messages import (
    CLOSE_CODE_FOR_ERROR,
    PROTOCOL_VERSION,
    CloseCode,
    ErrorCode,
    Join,
    PeerInfo,
    PeerJoined,
    PeerLeft,
    Relay,
    Relayed,
    Role,
    ServerMessage,
    SignalingError,
    Welcome,
)
from p2pshare.signaling.nearby_messages import NearbyServerMessage

__all__ = ["Close", "Deliver", "Effect", "Room", "RoomSettings", "creator_room_id", "peer_id_for"]

ConnHandle = Hashable


@dataclass(frozen=True, slots=True)
class Deliver:
    conn: ConnHandle
    message: ServerMessage | NearbyServerMessage  # (the latter from a NearbyGroup)
    # A welcome to a proven member (the sender, or a receiver whose proof the room checked):
    # the shell adds TURN credentials to it. Receivers on probation get none.
    grants_turn: bool = False


@dataclass(frozen=True, slots=True)
class Close:
    """End `conn` with `error` (its close code: CLOSE_CODE_FOR_ERROR)."""

    conn: ConnHandle
    error: ErrorCode
    reason: str

    @property
    def code(self) -> CloseCode:
        code = CLOSE_CODE_FOR_ERROR[self.error]
        assert code is not None, self.error
        return code


Effect = Deliver | Close


@dataclass(frozen=True, slots=True)
class RoomSettings:
    max_receivers: int
    heartbeat_s: float
    max_frame_bytes: int


@dataclass(slots=True)
class _Slot:
    peer: str
    cid: str
    role: Role
    conn: ConnHandle
    proof: str | None = None


def peer_id_for(room_id: str, cid: str) -> str:
    """The public id of client `cid` in `room_id`: 96 bits of a one-way hash."""
    digest = hashlib.sha256(b"p2pshare-peer\x00" + room_id.encode() + b"\x00" + cid.encode())
    return base64.urlsafe_b64encode(digest.digest()[:12]).decode()


def creator_room_id(token: str) -> str:
    """The room id that belongs to creator `token`: 128 bits of a one-way hash of it."""
    digest = hashlib.sha256(b"p2pshare-room\x00" + token.encode()).digest()
    return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")


class Room:
    def __init__(self, room_id: str, settings: RoomSettings) -> None:
        self.room_id = room_id
        self.settings = settings
        self._slots: dict[str, _Slot] = {}  # by peer id
        self._by_conn: dict[ConnHandle, _Slot] = {}
        # The access key its sender registered (admission.py); None until it has joined.
        self.access: str | None = None

    # --- queries -------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return not self._slots

    @property
    def peer_count(self) -> int:
        return len(self._slots)

    @property
    def receiver_count(self) -> int:
        return sum(1 for slot in self._slots.values() if slot.role is Role.RECEIVER)

    # --- events --------------------------------------------------------------

    def join(self, conn: ConnHandle, message: Join) -> list[Effect]:
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
        peer = peer_id_for(self.room_id, message.cid)
        role = self._role_for(message)
        existing = self._slots.get(peer)
        if existing is not None and existing.role is not role:
            raise SignalingError(
                ErrorCode.ROLE_REFUSED,
                "this client id already holds the other role in this room",
                fatal=True,
            )
        effects: list[Effect] = []
        if role is Role.SENDER:
            if message.access is None or message.proof is not None:
                # A sender that registers no key would leave its room open to anyone with the
                # room id (a page of an older version, say): refused, and told to reload.
                raise SignalingError(
                    ErrorCode.ADMISSION_REFUSED,
                    "a sender's join must register the room's access key; reload the page",
                    fatal=True,
                )
            effects += self._register_access(message.access)
        elif message.access is not None or not self._admits(message.cid, message.proof):
            raise SignalingError(
                ErrorCode.ADMISSION_REFUSED,
                _NO_ADMISSION,
                fatal=True,
            )
        existing = self._slots.get(peer)  # (refreshed: admission may have removed it)
        if role is Role.SENDER:
            # The token proves identity: a sender on another tab (another cid) is replaced too.
            for other in list(self._slots.values()):
                if other.role is Role.SENDER and other.peer != peer:
                    effects.append(_replaced(other.conn))
                    effects += self._remove(other, "left")
        elif existing is None and self.receiver_count >= self.settings.max_receivers:
            raise SignalingError(
                ErrorCode.ROOM_FULL,
                f"this room already has {self.settings.max_receivers} receivers",
                fatal=True,
            )
        if existing is not None:
            effects.append(_replaced(existing.conn))
            del self._by_conn[existing.conn]
            existing.conn = conn
            slot = existing
        else:
            slot = _Slot(peer=peer, cid=message.cid, role=role, conn=conn)
            self._slots[peer] = slot
        slot.proof = message.proof
        self._by_conn[conn] = slot

        others = [s for s in self._slots.values() if s is not slot]
        proven = role is Role.SENDER or self.access is not None
        effects.append(
            Deliver(
                conn,
                Welcome(
                    v=PROTOCOL_VERSION,
                    room=self.room_id,
                    peer=peer,
                    role=role,
                    peers=tuple(PeerInfo(peer=s.peer, role=s.role) for s in others),
                    heartbeat_s=self.settings.heartbeat_s,
                    max_frame_bytes=self.settings.max_frame_bytes,
                ),
                grants_turn=proven,
            )
        )
        joined = PeerJoined(peer=peer, role=role)
        effects.extend(Deliver(s.conn, joined) for s in others)
        return effects

    def relay(self, conn: ConnHandle, message: Relay) -> list[Effect]:
        """Forward a payload. Raises SignalingError (not fatal) for a bad target."""
        source = self._by_conn.get(conn)
        if source is None:
            raise SignalingError(ErrorCode.JOIN_FIRST, "send join before anything else", fatal=True)
        target = self._slots.get(message.to)
        if target is None:
            raise SignalingError(ErrorCode.UNKNOWN_PEER, f"peer {message.to} is not in this room")
        if target is source or (source.role is Role.RECEIVER and target.role is Role.RECEIVER):
            raise SignalingError(
                ErrorCode.NOT_ALLOWED, "receivers exchange messages only with the sender"
            )
        return [
            Deliver(target.conn, Relayed(from_=source.peer, sid=message.sid, data=message.data))
        ]

    def disconnect(self, conn: ConnHandle, *, clean: bool) -> list[Effect]:
        """`conn` is gone. A connection that was already replaced changes nothing."""
        slot = self._by_conn.get(conn)
        if slot is None:
            return []
        return self._remove(slot, "left" if clean else "lost")

    # --- internals -----------------------------------------------------------

    def _admits(self, cid: str, proof: str | None) -> bool:
        """A receiver's proof holds, or is on probation until the sender registers its key."""
        return self.access is None or proof_matches(self.access, self.room_id, cid, proof)

    def _register_access(self, access: str) -> list[Effect]:
        """The sender registered the access key: receivers on probation without a matching
        proof are closed (and never reached the sender: it was not here)."""
        self.access = access
        effects: list[Effect] = []
        for slot in list(self._slots.values()):
            if slot.role is Role.RECEIVER and not self._admits(slot.cid, slot.proof):
                effects.append(Close(slot.conn, ErrorCode.ADMISSION_REFUSED, _NO_ADMISSION))
                effects += self._remove(slot, "left")
        return effects

    def _role_for(self, message: Join) -> Role:
        if message.token is None:
            return Role.RECEIVER
        if hmac.compare_digest(creator_room_id(message.token), self.room_id):
            return Role.SENDER
        raise SignalingError(
            ErrorCode.ROLE_REFUSED,
            "this creator token does not belong to this room; open the link without one",
            fatal=True,
        )

    def _remove(self, slot: _Slot, reason: Literal["left", "lost"]) -> list[Effect]:
        del self._slots[slot.peer]
        del self._by_conn[slot.conn]
        left = PeerLeft(peer=slot.peer, reason=reason)
        return [Deliver(s.conn, left) for s in self._slots.values()]


_NO_ADMISSION = (
    "this link's key does not match this share (or the link was cut short): "
    "ask the sender for the whole link"
)


def _replaced(conn: ConnHandle) -> Close:
    return Close(
        conn,
        ErrorCode.REPLACED,
        "this page was opened again (same tab), so this connection was closed",
    )
