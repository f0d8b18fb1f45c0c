"""Origins and hosts, compared whole: scheme, host and port (sans-IO).

A WebSocket is accepted only from a page of the origin it was sent to (another port on the same
host, or http against https, is another site), and with `--public-url` set only for the hosts
named there, which refuses DNS-rebinding pairs (an attacker's name pointed at this server: its
Host and Origin agree with each other, not with ours).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import urlsplit

__all__ = ["allowed_origins", "normalize_origin", "request_origin"]

DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# What a WebSocket's own scheme means for the page that opened it.
_PAGE_SCHEME: Final = {"ws": "http", "wss": "https", "http": "http", "https": "https"}
_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME: Final = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def normalize_origin(text: str) -> str | None:
    """`scheme://host[:port]` in canonical form (lower case, no default port), or None.

    Anything with a path (other than "/"), a query, a fragment or user info is not an origin.
    """
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if ":" in host:
        try:
            host = f"[{ipaddress.IPv6Address(host)}]"
        except ValueError:
            return None
    elif not _HOSTNAME.match(host):
        return None
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def allowed_origins(public_urls: Iterable[str]) -> frozenset[str]:
    """The origins of the configured public URLs; raises ValueError naming a bad one."""
    origins = set()
    for url in public_urls:
        origin = normalize_origin(url)
        if origin is None:
            raise ValueError(f"not an http(s) URL without a path: {url!r}")
        origins.add(origin)
    return frozenset(origins)


def request_origin(headers: Mapping[bytes, bytes], scheme: str, *, trust_proxy: bool) -> str | None:
    """The origin a request was sent to: its Host, and its scheme (the proxy's, if trusted)."""
    host = headers.get(b"host", b"").decode("latin-1").strip()
    page_scheme = _PAGE_SCHEME.get(scheme, "")
    if trust_proxy:
        forwarded = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
        if forwarded in DEFAULT_PORTS:
            page_scheme = forwarded
    if not host or not page_scheme or "/" in host or "@" in host:
        return None
    return normalize_origin(f"{page_scheme}://{host}")
