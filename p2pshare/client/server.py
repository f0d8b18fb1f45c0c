"""The p2pshare server a command-line peer talks to: its origin, its WebSocket URL, and its
/config.json (the STUN servers to use; TURN comes only in the welcome, to members)."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.parse
import urllib.request
from typing import Any

from p2pshare.client.exits import Exit, Outcome

__all__ = ["ShareServer"]

CONFIG_TIMEOUT_S = 15.0
MAX_CONFIG_BYTES = 64 * 1024


class ShareServer:
    def __init__(self, origin: str, *, insecure: bool = False) -> None:
        parts = urllib.parse.urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise Outcome(Exit.BAD_LINK, f"not a p2pshare server address: {origin!r}")
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.ssl_context: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self.ssl_context = ssl.create_default_context()
            if insecure:  # --insecure: a server with a self-signed certificate
                self.ssl_context.check_hostname = False
                self.ssl_context.verify_mode = ssl.CERT_NONE
        self._config: list[dict[str, Any]] | None = None

    def websocket_url(self, room: str) -> str:
        scheme = "wss" if self.origin.startswith("https:") else "ws"
        return f"{scheme}{self.origin.removeprefix('https').removeprefix('http')}/ws/{room}"

    async def config(self) -> list[dict[str, Any]]:
        """The server's ICE servers (fetched once)."""
        if self._config is None:
            self._config = await asyncio.to_thread(self._fetch_config)
        return self._config

    def _fetch_config(self) -> list[dict[str, Any]]:
        try:
            with urllib.request.urlopen(
                f"{self.origin}/config.json", timeout=CONFIG_TIMEOUT_S, context=self.ssl_context
            ) as response:
                data = json.loads(response.read(MAX_CONFIG_BYTES))
        except (OSError, ValueError) as exc:
            raise Outcome(
                Exit.LINK_GONE, f"cannot reach the p2pshare server at {self.origin}: {exc}"
            ) from exc
        servers = data.get("iceServers") if isinstance(data, dict) else None
        return [s for s in servers if isinstance(s, dict)] if isinstance(servers, list) else []
