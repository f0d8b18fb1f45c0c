"""The server's configuration: one frozen object, built once by the CLI.

Units are in the names (`_s` seconds, `_bytes`, `_per_s`). Every field has a
command-line flag and a `P2PSHARE_*` environment variable (see `cli.py`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from p2pshare.errors import ConfigError
from p2pshare.http.origin import allowed_origins
from p2pshare.signaling.nearby_scope import NearbyScope

__all__ = ["Config", "Limits"]

ICE_URL_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


@dataclass(frozen=True, slots=True)
class Limits:
    """What one client, room or source may use. Exceeding one is a typed error."""

    max_frame_bytes: int = 64 * 1024
    """Largest signaling frame accepted; bigger ones close the connection (1009)."""
    message_rate_per_s: float = 50.0
    """Sustained signaling messages per second per connection (token bucket rate)."""
    message_burst: int = 200
    """Messages a connection may send at once before the rate applies (ICE bursts)."""
    max_dropped_messages: int = 200
    """Over-rate messages dropped in a row before the connection is closed."""
    max_receivers_per_room: int = 16
    """Receivers present in one room at once (the sender is not counted)."""
    max_nearby_peers: int = 32
    """Devices in one nearby group at once (then `group-full`)."""
    max_rooms: int = 100_000
    """Live rooms in this process."""
    max_connections: int = 50_000
    """Signaling connections in this process."""
    max_connections_per_address: int = 64
    """Signaling connections from one client address."""
    max_rooms_per_address: int = 32
    """Live rooms created by one client address."""
    max_tcp_per_address: int = 256
    """TCP connections one address may hold open at once, counted before any HTTP is read
    (page loads, WebSockets; a household or classroom behind one NAT shares it). Not applied
    with --trust-proxy: every connection then comes from the proxy, which limits its clients."""
    send_queue_messages: int = 128
    """Outbound messages queued for one peer; a peer that lets it fill is cut off."""
    send_queue_bytes: int = 1024 * 1024
    """Outbound bytes queued for one peer; a peer that lets them pile up is cut off."""
    heartbeat_interval_s: float = 5.0
    """Idle connections are pinged this often."""
    heartbeat_timeout_s: float = 15.0
    """A connection silent for this long is considered dead and closed."""
    room_grace_s: float = 120.0
    """An empty room lives this long, so reloads and reconnects rejoin it."""
    join_timeout_s: float = 10.0
    """A new connection must send `join` within this time."""
    stun_rate_per_s: float = 50.0
    """STUN requests per second from one source address (token bucket rate)."""
    stun_burst: int = 200
    """STUN requests one source may send at once."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"limit {f.name} must be a positive number, got {value!r}")
        if self.heartbeat_timeout_s <= self.heartbeat_interval_s:
            raise ConfigError("heartbeat_timeout_s must exceed heartbeat_interval_s")


@dataclass(frozen=True, slots=True)
class Config:
    """Everything `serve()` needs: where to listen, what to hand browsers, TLS, limits."""

    hosts: tuple[str, ...] = ("0.0.0.0", "::")
    """Addresses to listen on (HTTP and STUN); the default is every interface, IPv4 and IPv6."""
    http_port: int = 8080
    stun_port: int = 3478
    """UDP port of the built-in STUN server; 0 turns it off."""
    ice_servers: tuple[str, ...] = ()
    """Extra STUN/TURN URLs handed to browsers, after the built-in STUN server."""
    turn_secret: str | None = None
    """Shared secret for coturn-style time-limited TURN credentials (use-auth-secret)."""
    turn_ttl_s: int = 4 * 3600
    """How long the TURN credentials in a welcome stay valid (each join gets fresh ones)."""
    certfile: Path | None = None
    keyfile: Path | None = None
    self_signed: bool = False
    """Make (once) and use a self-signed certificate for this host's names and addresses."""
    state_dir: Path | None = None
    """Where --self-signed keeps its certificate; defaults to a per-user directory."""
    trust_proxy: bool = False
    """Take the client address from X-Forwarded-For (only behind your own load balancer)."""
    drain_timeout_s: float = 0.0
    """On SIGTERM, keep live rooms this long (refusing new ones) before closing them."""
    web_root: Path | None = None
    """Serve the web client from this directory instead of the packaged copy."""
    public_urls: tuple[str, ...] = ()
    """The URLs people open (e.g. https://share.example.org): when set, only those hosts are
    served and only their pages may open signaling (refuses DNS rebinding)."""
    nearby_scope: NearbyScope = NearbyScope.AUTO
    """Which devices see each other with no link: off, auto, address or subnet (see
    p2pshare/signaling/nearby_scope.py)."""
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if not self.hosts:
            raise ConfigError("at least one host to listen on is needed")
        for name, port in (("http_port", self.http_port), ("stun_port", self.stun_port)):
            if not 0 <= port <= 65535:
                raise ConfigError(f"{name} must be within 0..65535, got {port}")
        for url in self.ice_servers:
            if not url.startswith(ICE_URL_SCHEMES):
                raise ConfigError(
                    f"ICE server URL must start with stun:, stuns:, turn: or turns:: {url!r}"
                )
        if (self.certfile is None) != (self.keyfile is None):
            raise ConfigError("--certfile and --keyfile go together")
        if self.self_signed and self.certfile is not None:
            raise ConfigError("--self-signed and --certfile exclude each other")
        if self.turn_ttl_s <= 0:
            raise ConfigError("turn_ttl_s must be positive")
        try:
            allowed_origins(self.public_urls)
        except ValueError as exc:
            raise ConfigError(f"--public-url must look like https://host[:port] ({exc})") from None
        if not isinstance(self.nearby_scope, NearbyScope):
            raise ConfigError(f"nearby_scope must be a NearbyScope, got {self.nearby_scope!r}")
        if not math.isfinite(self.drain_timeout_s) or self.drain_timeout_s < 0:
            raise ConfigError("drain_timeout_s must be a number of seconds, 0 or more")

    def with_certificate(self, certfile: Path, keyfile: Path) -> Config:
        return dataclasses.replace(self, certfile=certfile, keyfile=keyfile, self_signed=False)

    @property
    def tls(self) -> bool:
        return self.certfile is not None or self.self_signed
