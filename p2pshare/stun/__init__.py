"""The built-in STUN server (RFC 8489): a sans-IO codec and a trio UDP shell.

`codec` answers datagrams (bytes in, bytes out); `server.serve_stun` moves them. The
server names are imported on first use, so that importing the codec does not import
trio and `python -m p2pshare.stun.server` does not load its module twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from p2pshare.stun.codec import (
    MAX_AMPLIFICATION,
    SOFTWARE,
    Address,
    Attr,
    AttrValue,
    Class,
    ErrorCode,
    Message,
    Method,
    Reason,
    ReplyKind,
    SourceAddress,
    StunDecodeError,
    StunEncodeError,
    answer,
    error_response,
    message_integrity_valid,
    parse_message,
    parse_request,
    success_response,
)

if TYPE_CHECKING:
    from p2pshare.stun.server import StunBindError, StunEndpoint, serve_stun

__all__ = [
    "MAX_AMPLIFICATION",
    "SOFTWARE",
    "Address",
    "Attr",
    "AttrValue",
    "Class",
    "ErrorCode",
    "Message",
    "Method",
    "Reason",
    "ReplyKind",
    "SourceAddress",
    "StunBindError",
    "StunDecodeError",
    "StunEncodeError",
    "StunEndpoint",
    "answer",
    "error_response",
    "message_integrity_valid",
    "parse_message",
    "parse_request",
    "serve_stun",
    "success_response",
]

_SERVER_NAMES = frozenset({"StunBindError", "StunEndpoint", "serve_stun"})


def __getattr__(name: str) -> object:
    if name in _SERVER_NAMES:
        from p2pshare.stun import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
