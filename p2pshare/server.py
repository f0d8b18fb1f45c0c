"""The whole server in one trio nursery: HTTP + WebSocket (hypercorn), STUN, signaling.

`serve()` binds everything, reports the bound addresses through `task_status`,
and runs until `stop` is set (the CLI sets it on SIGINT/SIGTERM) or until it is
cancelled. Stopping is orderly: optionally drain (refuse new rooms, let live
rooms finish until a deadline), tell every peer the server is going away, let
hypercorn finish its connections, then close the sockets.
"""

from __future__ import annotations

import gc
import logging
import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import hypercorn.config
import hypercorn.protocol.h11
import hypercorn.protocol.ws_stream
import hypercorn.trio
import hypercorn.trio.run
import trio

from p2pshare.config import Config
from p2pshare.errors import ConfigError
from p2pshare.http.app import App
from p2pshare.http.static import StaticFiles, default_web_root
from p2pshare.ice import turn_servers_for
from p2pshare.metrics import Metrics
from p2pshare.netaddr import urls_for
from p2pshare.netbind import BindError, bind_sockets
from p2pshare.ratelimit import source_key
from p2pshare.signaling.service import SignalingService
from p2pshare.stun.server import serve_stun

__all__ = [
    "ServerAddresses",
    "bind_tcp_sockets",
    "collect_garbage_periodically",
    "gc_policy",
    "serve",
]

log = logging.getLogger(__name__)

HTTP_GRACEFUL_TIMEOUT_S = 2.0
PEER_GOODBYE_TIMEOUT_S = 1.5
# Accept queue of each listening socket. Hypercorn listens again on the sockets it is handed,
# with its own default of 100, which a reconnect storm (every client of a restarted server)
# overflows: the kernel then drops handshakes and clients wait for TCP retransmits (1, 2, 4 s...).
LISTEN_BACKLOG = 1024

# Garbage collection (measured in docs/benchmarks.md, "Signaling"). Each WebSocket holds ~130
# GC-tracked objects, and every frame received replaces a few long-lived ones (the pending
# read's coroutines and cancel scope). CPython starts a full collection whenever a quarter of
# the old generation is new, so with 10,000 connections the heartbeat alone set one off every
# second or two, each a ~1 s pause. Instead: young collections as usual (they are cheap), the
# automatic full collection effectively off, and one full collection on a fixed timer, which
# bounds how long cyclic garbage can linger.
GC_THRESHOLDS = (700, 10, 1_000_000)
FULL_GC_INTERVAL_S = 600.0


@dataclass(frozen=True, slots=True)
class ServerAddresses:
    """What `serve()` bound: (host, port) pairs for HTTP and for STUN."""

    http: list[tuple[str, int]]
    stun: list[tuple[str, int]] = field(default_factory=list)
    tls: bool = False
    urls: list[str] = field(default_factory=list)
    """What people can open, one per address of this host (LAN first, loopback last)."""

    @property
    def http_port(self) -> int:
        return self.http[0][1]

    @property
    def stun_port(self) -> int:
        return self.stun[0][1] if self.stun else 0


def _refuse_websocket_compression() -> None:
    """Make hypercorn ignore permessage-deflate offers.

    Browsers always offer it and hypercorn accepts it, which costs ~100 KiB of
    zlib state per connection; signaling messages are small and sealed (random
    bytes), so compression gains nothing. ASGI gives the app no say, hence this
    narrow patch of the handshake parser.
    """
    handshake = hypercorn.protocol.ws_stream.Handshake
    if getattr(handshake, "_p2pshare_no_compression", False):
        return
    original_init = handshake.__init__

    def init_without_extensions(
        self: hypercorn.protocol.ws_stream.Handshake,
        headers: list[tuple[bytes, bytes]],
        http_version: str,
    ) -> None:
        kept = [(n, v) for n, v in headers if n.lower() != b"sec-websocket-extensions"]
        original_init(self, kept, http_version)

    setattr(handshake, "__init__", init_without_extensions)  # noqa: B010
    setattr(handshake, "_p2pshare_no_compression", True)  # noqa: B010


def _refuse_http2_cleartext() -> None:
    """Make hypercorn answer `Upgrade: h2c` and the HTTP/2 preface as HTTP/1.1 requests.

    Hypercorn switches a cleartext connection to HTTP/2 on either. Behind a proxy that
    forwards `Upgrade` (as WebSocket needs), that opens a tunnel past the proxy's rules: a
    client reached /metrics and chose its own X-Forwarded-For (h2c smuggling). p2pshare
    needs no HTTP/2, so the upgrade is ignored (the request is answered as HTTP/1.1, and a
    /ws/ path without a WebSocket upgrade is refused) and the preface is a bad request.
    """
    protocol = hypercorn.protocol.h11.H11Protocol
    if getattr(protocol, "_p2pshare_no_h2c", False):
        return
    if not callable(getattr(protocol, "_check_protocol", None)):  # a hypercorn we do not know
        raise RuntimeError("hypercorn changed: cannot turn off its h2c upgrade (see the lock)")

    async def check_protocol_http11_only(self: object, event: object) -> None:
        return None

    setattr(protocol, "_check_protocol", check_protocol_http11_only)  # noqa: B010
    setattr(protocol, "_p2pshare_no_h2c", True)  # noqa: B010


def _peer_address(stream: object) -> str | None:
    """The client address of a not yet handshaken hypercorn stream (plain or TLS)."""
    sock = getattr(stream, "socket", None) or getattr(
        getattr(stream, "transport_stream", None), "socket", None
    )
    try:
        return str(sock.getpeername()[0]) if sock is not None else None
    except OSError:
        return None


def _gate_tcp_connections() -> None:
    """Count every TCP connection against its App's ConnectionGate before hypercorn reads it.

    ASGI sees requests, not connections: an address holding hundreds of idle or half-sent
    connections never reaches the app. So hypercorn's per-connection server is subclassed
    (the guarded patch style of the two above): over its address's cap a connection is closed
    before a byte is read.
    """
    run_module = hypercorn.trio.run
    base = getattr(run_module, "TCPServer")  # noqa: B009 (not re-exported, by name)
    if getattr(base, "_p2pshare_gated", False):
        return

    class GatedTCPServer(base):  # type: ignore[misc, valid-type]
        _p2pshare_gated = True
        _p2pshare_counted: str | None = None

        async def run(self) -> None:
            gate = getattr(getattr(self.app, "app", None), "tcp_gate", None)
            if gate is None:
                await super().run()
                return
            address = _peer_address(self.stream)
            # Counted as the signaling limits count: IPv6 per /64 (a host has a whole one).
            key = source_key(address) if address is not None else None
            if key is None or not gate.enter(key):
                await self.stream.aclose()
                return
            try:
                await super().run()
            finally:
                gate.leave(key)  # only once the socket is closed

        async def _read_data(self) -> None:
            await super()._read_data()
            # The client closed its side: close ours now instead of after the keep-alive
            # timeout (hypercorn's idle task would hold the socket, and its count, 10 s more).
            await self.idle_task.stop()

    setattr(run_module, "TCPServer", GatedTCPServer)  # noqa: B010


@contextmanager
def gc_policy() -> Iterator[None]:
    """Apply GC_THRESHOLDS (and freeze what startup made) while the server process runs.

    Process-wide, so the CLI applies it (with `collect_garbage_periodically`), not `serve()`:
    several servers in one process (the tests) must not undo each other's settings.
    """
    previous = gc.get_threshold()
    gc.collect()
    gc.freeze()  # modules, config, static files: never garbage, never worth scanning again
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


async def collect_garbage_periodically() -> None:
    """The full collections that GC_THRESHOLDS leaves out, at a fixed, rare interval."""
    while True:
        await trio.sleep(FULL_GC_INTERVAL_S)
        gc.collect()


def bind_tcp_sockets(
    hosts: tuple[str, ...], port: int, *, user_timeout_s: float | None = None
) -> list[socket.socket]:
    """Bind a listening TCP socket per address of `hosts` (netbind.py: the rules STUN's
    sockets follow too, so IPv4 and IPv6 share one port number).

    With `user_timeout_s`, the kernel drops a connection whose sent data stays
    unacknowledged (or unsent, behind a client that reads nothing) that long
    (Linux TCP_USER_TIMEOUT, inherited by accepted sockets).
    Raises ConfigError (BindError) naming the address when a bind fails.
    """

    def configure(sock: socket.socket) -> None:
        if user_timeout_s is not None and hasattr(socket, "TCP_USER_TIMEOUT"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(user_timeout_s * 1000))

    sockets = bind_sockets(hosts, port, socket.SOCK_STREAM, what="HTTP", configure=configure)
    for sock in sockets:
        try:
            sock.listen(LISTEN_BACKLOG)
        except OSError as exc:
            address = sock.getsockname()
            for each in sockets:
                each.close()
            raise BindError(f"cannot listen on {address[0]} TCP port {address[1]}: {exc}") from exc
    return sockets


def _hypercorn_config(config: Config, sockets: list[socket.socket]) -> hypercorn.config.Config:
    hc = hypercorn.config.Config()
    # Hypercorn takes over the file descriptors (and will close them).
    hc.bind = [f"fd://{sock.detach()}" for sock in sockets]  # TLS on all of them, or none
    if config.tls:
        hc.certfile = str(config.certfile) if config.certfile else None
        hc.keyfile = str(config.keyfile) if config.keyfile else None
    hc.insecure_bind = []
    hc.alpn_protocols = ["http/1.1"]  # no HTTP/2 over TLS either: nothing here needs it
    hc.backlog = LISTEN_BACKLOG
    hc.accesslog = None  # paths name rooms; nothing else useful, and nothing secret, is logged
    hc.errorlog = logging.getLogger("hypercorn.error")
    hc.errorlog.setLevel(logging.WARNING)  # its "Running on" lines: the CLI prints the URLs
    hc.loglevel = "WARNING"
    hc.graceful_timeout = HTTP_GRACEFUL_TIMEOUT_S
    # One shared application-level heartbeat replaces hypercorn's per-connection ping.
    hc.websocket_ping_interval = None
    # Frames over our limit still reach the app up to 4x, so it can answer with a typed error.
    hc.websocket_max_message_size = config.limits.max_frame_bytes * 4
    hc.h11_max_incomplete_size = 16 * 1024
    # A connection's request head (or its next one) must be in within this: idle and
    # slowloris connections go after it (page loads reuse theirs within a second or two).
    hc.keep_alive_timeout = 10
    hc.include_server_header = False
    return hc


def _check_certificate(config: Config) -> None:
    """Raise ConfigError unless the certificate and key load together.

    Hypercorn would load them only once serving, and fail with a traceback.
    """
    if config.certfile is None:
        return
    try:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(config.certfile, config.keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(
            f"cannot use the certificate {config.certfile} with the key {config.keyfile}: "
            f"{getattr(exc, 'strerror', None) or exc}"
        ) from exc


async def serve(
    config: Config,
    *,
    stop: trio.Event | None = None,
    task_status: trio.TaskStatus[ServerAddresses] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the server until `stop` is set (then shut down in order) or until cancelled.

    Raises ConfigError when the web client is missing or a port cannot be bound.
    """
    _refuse_websocket_compression()
    _refuse_http2_cleartext()
    _gate_tcp_connections()
    hsts = config.certfile is not None  # a real certificate (not --self-signed): HSTS
    if config.self_signed:
        from p2pshare.tls import ensure_self_signed  # only needed for that mode

        certfile, keyfile = ensure_self_signed(config)
        config = config.with_certificate(certfile, keyfile)
    _check_certificate(config)
    metrics = Metrics()
    static = StaticFiles(config.web_root or default_web_root())
    turn = (lambda: turn_servers_for(config, time.time())) if config.turn_secret else None
    signaling = SignalingService(config.limits, metrics, turn=turn)
    app = App(config, static, signaling, metrics, hsts=hsts)
    if stop is None:
        stop = trio.Event()
    http_stopped = trio.Event()
    http_done = trio.Event()

    async def run_http(
        hc: hypercorn.config.Config,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        try:
            await hypercorn.trio.serve(
                app,
                hc,
                shutdown_trigger=http_stopped.wait,
                task_status=task_status,  # type: ignore[arg-type]
            )
        finally:
            http_done.set()

    async with trio.open_nursery() as nursery:
        await nursery.start(signaling.run)
        stun_addresses: list[tuple[str, int]] = []
        if config.stun_port:
            stun_addresses = await nursery.start(
                serve_stun, config.hosts, config.stun_port, metrics, config.limits
            )
        # Bound only now, and handed to hypercorn at once: nothing can leak them in between.
        tcp_sockets = bind_tcp_sockets(
            config.hosts, config.http_port, user_timeout_s=config.limits.heartbeat_timeout_s
        )
        http_addresses = [sock.getsockname()[:2] for sock in tcp_sockets]
        await nursery.start(run_http, _hypercorn_config(config, tcp_sockets))
        addresses = ServerAddresses(
            http=http_addresses,
            stun=stun_addresses,
            tls=config.tls,
            urls=_reachable_urls(config, http_addresses),
        )
        app.public_urls = addresses.urls
        task_status.started(addresses)
        await stop.wait()
        if config.drain_timeout_s > 0:
            log.warning("draining: refusing new rooms for up to %.0f s", config.drain_timeout_s)
            signaling.begin_drain()
            with trio.move_on_after(config.drain_timeout_s):
                await signaling.wait_no_connections()
        await signaling.shutdown(PEER_GOODBYE_TIMEOUT_S)
        http_stopped.set()
        with trio.move_on_after(HTTP_GRACEFUL_TIMEOUT_S + 1):
            await http_done.wait()
        nursery.cancel_scope.cancel()


def _reachable_urls(config: Config, http_addresses: list[tuple[str, int]]) -> list[str]:
    """The URLs people can open: one per address of this host that we listen on."""
    hosts = [host for host, _ in http_addresses]
    wildcard = set(config.hosts) & {"0.0.0.0", "::"}
    return urls_for(list(config.hosts) if wildcard else hosts, http_addresses[0][1], tls=config.tls)
