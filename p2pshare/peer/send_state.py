"""A receiver's state on the sending side: one enum, one table of moves, the reasons
(web/js/transfer/send-state.js; the table is docs/protocol.md's, compared by the tests).

  connecting -channel open-> connected -want-> transferring -done-> done
  transferring -fail-> failed -want-> transferring; a lost channel goes back to connecting;
  any -left, nothing open-> gone; -user or receiver cancels-> cancelled;
  -bad envelopes-> unverified (final); -a wrong key-> wrong-key (until a good message).
"""

from __future__ import annotations

import enum
from types import MappingProxyType
from typing import Final

__all__ = ["ENDED_STATES", "FRAME_STATES", "SEND_TRANSITIONS", "SendReason", "SendState"]


class SendState(enum.StrEnum):
    CONNECTING = "connecting"  # no data channel open yet (or again)
    CONNECTED = "connected"  # a channel is open; no want planned
    TRANSFERRING = "transferring"  # sending what its latest want asked for
    DONE = "done"  # it has every file it wanted
    FAILED = "failed"  # it could not keep a file, or sending failed
    GONE = "gone"  # it left the room (its channel may still work)
    CANCELLED = "cancelled"  # the user or the receiver cancelled
    WRONG_KEY = "wrong-key"  # it opened the link with another secret
    UNVERIFIED = "unverified"  # its envelopes failed verification: final


class SendReason(enum.StrEnum):
    NONE = ""  # nothing to add
    YOU_CANCELLED = "you-cancelled"  # the sender's user cancelled it
    THEY_CANCELLED = "they-cancelled"  # the receiver cancelled
    STOPPED = "stopped"  # the sender stopped sharing
    FILES_MISSING = "files-missing"  # files to add again after the sender's restart
    RECEIVER_FAILED = "receiver-failed"  # the receiver could not keep a file
    SEND_ERROR = "send-error"  # reading or sending failed (detail: the message)
    WRONG_KEY = "wrong-key"  # another secret
    UNVERIFIED = "unverified"  # bad envelopes


S = SendState
_ENDS: Final = (S.GONE, S.CANCELLED, S.WRONG_KEY, S.UNVERIFIED)
_AS_CONNECTED: Final = (S.CONNECTING, S.CONNECTED, S.TRANSFERRING, S.DONE, S.FAILED, *_ENDS)

SEND_TRANSITIONS: Final[MappingProxyType[SendState, tuple[SendState, ...]]] = MappingProxyType(
    {
        S.CONNECTING: (S.CONNECTING, S.CONNECTED, *_ENDS),
        S.CONNECTED: _AS_CONNECTED,
        S.TRANSFERRING: _AS_CONNECTED,
        S.DONE: (S.CONNECTING, S.TRANSFERRING, S.DONE, S.FAILED, *_ENDS),
        S.FAILED: (S.CONNECTING, S.TRANSFERRING, S.FAILED, *_ENDS),
        # Gone, but its channel still works (it comes back by asking): as connected.
        S.GONE: _AS_CONNECTED,
        # One that cancelled and opens the link again starts afresh; one the user cancelled not.
        S.CANCELLED: (S.CONNECTING, S.CANCELLED, S.UNVERIFIED),
        S.WRONG_KEY: (S.CONNECTING, *_ENDS),
        S.UNVERIFIED: (S.UNVERIFIED,),
    }
)

# Nothing more is sent to this receiver until it comes back anew.
ENDED_STATES: Final = (S.CANCELLED, S.WRONG_KEY, S.UNVERIFIED)
# Its data-channel frames (want, ack, fail, done) are acted on; else ignored.
FRAME_STATES: Final = (S.CONNECTED, S.TRANSFERRING, S.DONE, S.FAILED, S.GONE)
