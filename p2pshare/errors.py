"""The one root of p2pshare's exceptions.

Decode errors carry what to answer: a signaling error carries its wire code
and, when the connection cannot go on, the WebSocket close code; a STUN error
carries the STUN error code (or none, meaning "drop silently").
"""

from __future__ import annotations

__all__ = ["ConfigError", "P2PShareError"]


class P2PShareError(Exception):
    """Base class of every exception p2pshare raises on purpose."""


class ConfigError(P2PShareError):
    """A configuration value is invalid; the message names the option."""
