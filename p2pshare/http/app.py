"""The ASGI application: the web client, its configuration, health, metrics, signaling.

Routes:
  GET  /, /r/<room>        the app (one page; the room and the secret come from the URL)
  GET  /<asset path>       static files of the web client (/sw.js: with its app shell list)
  POST /share-target       the installed app's share target: the service worker's, never
                           ours; if one gets here (no worker yet), 303 back to the app
                           without a byte of the body read
  GET  /config.json        ICE servers for the browser (the built-in STUN at the host it used)
  GET  /healthz            200 while taking new rooms, 503 while draining
  GET  /metrics            Prometheus text
  WS   /ws/<room>          signaling (see docs/protocol.md)
  WS   /ws/nearby.<group>  a nearby group: only the client's own (its address's) is served

A GET never touches a room: link-preview bots that fetch a shared link cannot
join, consume or disturb it.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Iterable

from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    HTTPScope,
    Scope,
    WebsocketScope,
)

from p2pshare import __version__
from p2pshare.config import Config
from p2pshare.http.gate import ConnectionGate
from p2pshare.http.origin import allowed_origins, normalize_origin, request_origin
from p2pshare.http.static import Asset, StaticFiles
from p2pshare.ice import ice_servers_for
from p2pshare.metrics import Metrics
from p2pshare.signaling.nearby_messages import NEARBY_PATH_PREFIX
from p2pshare.signaling.nearby_scope import NearbyScope, nearby_group_for
from p2pshare.signaling.service import Disconnect, SignalingService

__all__ = [
    "SECURITY_HEADERS",
    "App",
    "client_address",
    "ice_servers_for",
    "nearby_address",
    "nearby_group",
]

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        # 'wasm-unsafe-eval' lets the vendored hash-wasm compile its module; no JS eval.
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' blob:",
        # 'self' covers ws:/wss: to this origin too (CSP level 3).
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "hid",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "serial",
        "usb",
        "browsing-topics",
    )
)
HSTS_HEADER = (b"strict-transport-security", b"max-age=31536000")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", PERMISSIONS_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
_APP_PATH = re.compile(r"^/(?:r/[^/]*)?$")
# The manifest's share_target action. The service worker answers it in the browser; a POST
# that reaches the server is redirected back to the app, which says what went wrong.
SHARE_TARGET_PATH = "/share-target"
SHARE_TARGET_UNAVAILABLE = b"/?share-target=unavailable"
_WS_PATH = re.compile(r"^/ws/([^/]*)$")
# For the operator and its proxies (health checks, scraping), under any Host.
OPERATOR_PATHS = frozenset({"/healthz", "/metrics"})
_HOSTNAME = re.compile(r"^[A-Za-z0-9.-]{1,253}$")
# Headers a proxy adds: a request with one of them came through a proxy (or says it did).
_FORWARDING_HEADERS = frozenset({b"x-forwarded-for", b"x-real-ip", b"forwarded"})


def _forwarded_for(scope: HTTPScope | WebsocketScope) -> str | None:
    """The last X-Forwarded-For hop, the one our own proxy added, or None.

    Several header lines form one list (HAProxy's `option forwardfor` adds a line after any
    the client sent).
    """
    lines = [value for name, value in scope["headers"] if name == b"x-forwarded-for"]
    if lines:
        last = lines[-1].decode("latin-1").split(",")[-1].strip()
        if last:
            return last
    return None


def client_address(scope: HTTPScope | WebsocketScope, trust_proxy: bool) -> str:
    """The client's address: the socket peer, or the last X-Forwarded-For hop if trusted."""
    if trust_proxy:
        forwarded = _forwarded_for(scope)
        if forwarded is not None:
            return forwarded
    client = scope.get("client")
    return client[0] if client else "unknown"


def nearby_address(
    scope: HTTPScope | WebsocketScope, trust_proxy: bool, nearby_scope: NearbyScope
) -> str | None:
    """The address that picks the client's nearby group, or None when it is a proxy's.

    With --trust-proxy: the hop the proxy added, or None without one (a request that did
    not come through the proxy: the socket peer could be the proxy itself). Without: the
    socket peer; but under `auto`, None when the request carries a proxy's forwarding header
    (X-Forwarded-For, X-Real-IP, Forwarded): the peer is then a proxy, and every client of
    the deployment would be one "nearby" group of strangers. The explicit scopes take the
    socket peer as they are told.
    """
    if trust_proxy:
        return _forwarded_for(scope)
    if nearby_scope is NearbyScope.AUTO and any(
        name in _FORWARDING_HEADERS for name, _ in scope["headers"]
    ):
        return None
    client = scope.get("client")
    return client[0] if client else None


def nearby_group(scope: HTTPScope | WebsocketScope, config: Config) -> str | None:
    """The client's nearby group id (/config.json, the check of /ws/nearby.<group>), or None."""
    address = nearby_address(scope, config.trust_proxy, config.nearby_scope)
    return nearby_group_for(config.nearby_scope, address)


def _request_host(scope: HTTPScope) -> str | None:
    """The host name the browser used (from Host), formatted for a URL, or None if odd."""
    raw_host = next((value for name, value in scope["headers"] if name == b"host"), None)
    if raw_host is not None:
        host = raw_host.decode("latin-1").strip()
    else:
        server = scope.get("server")
        host = server[0] if server else ""
    if host.startswith("["):  # [v6]:port
        literal = host[1 : host.find("]")] if "]" in host else ""
        try:
            return f"[{ipaddress.IPv6Address(literal.split('%')[0])}]"
        except ValueError:
            return None
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if ":" in name:  # a bare IPv6 literal (from scope["server"])
        try:
            return f"[{ipaddress.IPv6Address(name)}]"
        except ValueError:
            return None
    return name if _HOSTNAME.match(name) else None


def _origin_problem(
    scope: HTTPScope | WebsocketScope, config: Config, allowed: frozenset[str]
) -> str | None:
    """Why this request's Host (and a WebSocket's Origin) is refused, or None.

    With public URLs configured, the request must have been sent to one of them (DNS
    rebinding: an attacker's name pointed at us sends its own Host). A WebSocket's Origin,
    if any (browsers always send one), must be the very origin it was sent to: scheme, host
    and port (behind a proxy, its X-Forwarded-Proto and the browser's Host, passed on).
    """
    headers = dict(scope["headers"])
    sent_to = request_origin(headers, scope["scheme"], trust_proxy=config.trust_proxy)
    if allowed and sent_to not in allowed:
        return "host-not-allowed"
    if scope["type"] != "websocket" or b"origin" not in headers:
        return None
    origin = normalize_origin(headers[b"origin"].decode("latin-1"))
    if origin is None or origin != sent_to:
        return "cross-origin"
    return None


class _AsgiWebSocket:
    """Adapts one ASGI WebSocket connection to the signaling service's `WebSocketPort`."""

    __slots__ = ("_receive", "_send", "address")

    def __init__(self, receive: ASGIReceiveCallable, send: ASGISendCallable, address: str) -> None:
        self._receive = receive
        self._send = send
        self.address = address

    async def receive(self) -> str | bytes | Disconnect:
        event = await self._receive()
        if event["type"] == "websocket.receive":
            text = event.get("text")
            if text is not None:
                return text
            return event.get("bytes") or b""
        if event["type"] == "websocket.disconnect":
            return Disconnect(int(event.get("code", 1005)))
        return Disconnect(1005)

    async def send(self, text: str) -> None:
        await self._send({"type": "websocket.send", "text": text, "bytes": None})

    async def close(self, code: int, reason: str) -> None:
        await self._send({"type": "websocket.close", "code": code, "reason": reason})


class App:
    """The ASGI callable. One instance per server process."""

    def __init__(
        self,
        config: Config,
        static: StaticFiles,
        signaling: SignalingService,
        metrics: Metrics,
        *,
        hsts: bool = False,
    ) -> None:
        self.config = config
        # HSTS only with a real certificate: with a self-signed one it would make the
        # browser's certificate warning impossible to click through, for a year.
        self.security_headers = (*SECURITY_HEADERS, HSTS_HEADER) if hsts else SECURITY_HEADERS
        self.static = static
        self.signaling = signaling
        self.metrics = metrics
        self.public_urls: list[str] = []  # set by the server once it has bound its ports
        self.allowed_origins = allowed_origins(config.public_urls)
        # TCP connections per address before any HTTP (server.py counts them against it).
        self.tcp_gate = (
            None if config.trust_proxy else ConnectionGate(config.limits.max_tcp_per_address)
        )

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] == "http":
            await self._http(scope, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    # --- WebSocket -----------------------------------------------------------

    async def _websocket(
        self, scope: WebsocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        match = _WS_PATH.match(scope["path"])
        if match is None:
            await send({"type": "websocket.close", "code": 1008, "reason": "unknown path"})
            return
        problem = _origin_problem(scope, self.config, self.allowed_origins)
        if problem is not None:
            # Another site's page opening our signaling from its visitors' browsers, or a name
            # we do not serve: refused before the upgrade (HTTP 403). Clients that send no
            # Origin (not browsers) pass the origin check.
            self.metrics.rejected_messages.inc(problem)
            await send({"type": "websocket.close", "code": 1008, "reason": problem})
            return
        await send({"type": "websocket.accept", "subprotocol": None, "headers": []})
        port = _AsgiWebSocket(receive, send, client_address(scope, self.config.trust_proxy))
        target = match.group(1)
        if target.startswith(NEARBY_PATH_PREFIX):  # a room id never holds a "."
            group = target.removeprefix(NEARBY_PATH_PREFIX)
            await self.signaling.handle_nearby(port, group, nearby_group(scope, self.config))
        else:
            await self.signaling.handle(port, target)

    # --- HTTP ----------------------------------------------------------------

    async def _http(self, scope: HTTPScope, send: ASGISendCallable) -> None:
        method = scope["method"]
        path = scope["path"]
        if method == "POST" and path == SHARE_TARGET_PATH:
            await self._share_target_unavailable(send, scope)
            return
        if method not in ("GET", "HEAD"):
            await self._respond(
                send, scope, 405, b"method not allowed\n", extra=[(b"allow", b"GET, HEAD")]
            )
            return
        if path not in OPERATOR_PATHS and _origin_problem(scope, self.config, self.allowed_origins):
            # Not one of our names (--public-url): nothing of ours is served under it.
            await self._respond(send, scope, 421, b"this server does not serve that host\n")
        elif _APP_PATH.match(path):
            await self._asset(send, scope, self.static.index)
        elif path == "/config.json":
            await self._config_json(send, scope)
        elif path == "/healthz":
            await self._healthz(send, scope)
        elif path == "/metrics":
            body = self.metrics.render().encode()
            await self._respond(
                send, scope, 200, body, content_type=b"text/plain; version=0.0.4; charset=utf-8"
            )
        elif (asset := self.static.get(path)) is not None:
            await self._asset(send, scope, asset)
        else:
            await self._respond(send, scope, 404, b"not found\n")

    async def _share_target_unavailable(self, send: ASGISendCallable, scope: HTTPScope) -> None:
        """A share-target POST with no service worker to take it: files or texts shared with
        the app, which must never reach us. The body is never read (this app never calls
        `receive` for HTTP; hypercorn queues at most a few chunks and then stops reading the
        socket), and `connection: close` ends the connection instead of draining the rest."""
        await self._respond(
            send,
            scope,
            303,
            b"",
            extra=[(b"location", SHARE_TARGET_UNAVAILABLE), (b"connection", b"close")],
            content_type=None,
        )

    async def _config_json(self, send: ASGISendCallable, scope: HTTPScope) -> None:
        limits = self.config.limits
        group = nearby_group(scope, self.config)
        body = {
            "version": __version__,
            "iceServers": ice_servers_for(self.config, _request_host(scope), time.time()),
            "maxReceivers": limits.max_receivers_per_room,
            "maxFrameBytes": limits.max_frame_bytes,
            "heartbeatS": limits.heartbeat_interval_s,
            # So that a page opened at 127.0.0.1 can tell its user the address others can use.
            "urls": self.public_urls,
            # The group of devices this one sees with no link (None: off, or no group).
            "nearby": None if group is None else {"group": group},
        }
        await self._respond(
            send, scope, 200, json.dumps(body).encode(), content_type=b"application/json"
        )

    async def _healthz(self, send: ASGISendCallable, scope: HTTPScope) -> None:
        draining = self.signaling.draining
        body = {
            "status": "draining" if draining else "ok",
            "rooms": len(self.signaling.rooms),
            "connections": self.signaling.connection_count,
        }
        await self._respond(
            send,
            scope,
            503 if draining else 200,
            json.dumps(body).encode(),
            content_type=b"application/json",
        )

    async def _asset(self, send: ASGISendCallable, scope: HTTPScope, asset: Asset) -> None:
        headers = [
            (b"etag", asset.etag.encode()),
            (b"vary", b"accept-encoding"),
            (b"cache-control", b"no-cache"),
        ]
        for name, value in scope["headers"]:
            if name == b"if-none-match" and asset.etag.encode() in value:
                await self._respond(send, scope, 304, b"", extra=headers, content_type=None)
                return
        body = asset.body
        if asset.gzip_body is not None and _accepts_gzip(scope["headers"]):
            body = asset.gzip_body
            headers.append((b"content-encoding", b"gzip"))
        await self._respond(
            send, scope, 200, body, extra=headers, content_type=asset.content_type.encode()
        )

    async def _respond(
        self,
        send: ASGISendCallable,
        scope: HTTPScope,
        status: int,
        body: bytes,
        *,
        extra: Iterable[tuple[bytes, bytes]] = (),
        content_type: bytes | None = b"text/plain; charset=utf-8",
    ) -> None:
        headers = list(self.security_headers)
        headers.extend(extra)
        if content_type is not None:
            headers.append((b"content-type", content_type))
        if not any(name == b"cache-control" for name, _ in headers):
            headers.append((b"cache-control", b"no-store"))
        headers.append((b"content-length", str(len(body)).encode()))
        self.metrics.http_requests.inc(str(status))
        await send(
            {"type": "http.response.start", "status": status, "headers": headers, "trailers": False}
        )
        await send(
            {
                "type": "http.response.body",
                "body": b"" if scope["method"] == "HEAD" else body,
                "more_body": False,
            }
        )

    # --- lifespan ------------------------------------------------------------

    async def _lifespan(self, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return


def _accepts_gzip(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"accept-encoding":
            return any(
                token.split(b";")[0].strip() == b"gzip" and not token.endswith(b"q=0")
                for token in value.split(b",")
            )
    return False
