"""What browsers get to find each other: STUN for everyone, TURN credentials only for members.

/config.json (anyone can fetch it) lists the STUN servers. TURN relays traffic, and an open relay
is a way into the operator's network, so its time-limited credentials (coturn's use-auth-secret)
are handed out only in `welcome`, to a proven member (the sender, or a receiver whose proof the
room checked: admission.py; not one on probation), fresh at every join, valid for `turn_ttl_s`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from p2pshare.config import Config
from p2pshare.signaling.messages import TurnServer

__all__ = ["ice_servers_for", "turn_servers_for"]


def _turn_credentials(secret: str, ttl_s: int, now_s: float) -> tuple[str, str]:
    """coturn's use-auth-secret scheme: username '<expiry>:p2pshare', HMAC-SHA1 password."""
    username = f"{int(now_s) + ttl_s}:p2pshare"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def _turn_urls(config: Config) -> list[str]:
    return [url for url in config.ice_servers if url.startswith(("turn:", "turns:"))]


def ice_servers_for(config: Config, host: str | None, now_s: float) -> list[dict[str, object]]:
    """The RTCIceServer list of /config.json, for a browser that reached us at `host`.

    TURN URLs are listed here only without a shared secret (a server the operator opened by
    other means); with one, they come with their credentials in `welcome` instead.
    """
    servers: list[dict[str, object]] = []
    if config.stun_port and host:
        servers.append({"urls": [f"stun:{host}:{config.stun_port}"]})
    stun_urls = [url for url in config.ice_servers if url.startswith(("stun:", "stuns:"))]
    if stun_urls:
        servers.append({"urls": stun_urls})
    turn_urls = _turn_urls(config)
    if turn_urls and not config.turn_secret:
        servers.append({"urls": turn_urls})
    return servers


def turn_servers_for(config: Config, now_s: float) -> tuple[TurnServer, ...]:
    """TURN with fresh credentials, for one admitted member's `welcome` (empty without a secret)."""
    turn_urls = _turn_urls(config)
    if not turn_urls or not config.turn_secret:
        return ()
    username, credential = _turn_credentials(config.turn_secret, config.turn_ttl_s, now_s)
    return (TurnServer(urls=tuple(turn_urls), username=username, credential=credential),)
