"""The `p2pshare` command.

`p2pshare serve` runs the server. Every option also reads an environment
variable, P2PSHARE_<OPTION> (e.g. --stun-port <-> P2PSHARE_STUN_PORT); a flag
on the command line wins over the environment. List options (--host,
--ice-server) take several comma-separated values from the environment.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from p2pshare import __version__
from p2pshare.config import Config, Limits
from p2pshare.errors import ConfigError
from p2pshare.signaling.nearby_scope import NearbyScope

if TYPE_CHECKING:
    from p2pshare.server import ServerAddresses

__all__ = ["build_parser", "config_from_args", "main"]

ENV_PREFIX = "P2PSHARE_"


@dataclass(frozen=True)
class _Option:
    flag: str
    help: str
    type: Callable[[str], Any] = str
    default: Any = None
    repeat: bool = False
    switch: bool = False
    limit: str | None = None  # the Limits field this sets

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.dest.upper()


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def nearby_scope(text: str) -> NearbyScope:
    try:
        return NearbyScope(text.strip().lower())
    except ValueError:
        choices = ", ".join(scope.value for scope in NearbyScope)
        raise ValueError(f"not one of {choices}: {text!r}") from None


_LIMIT_HELP = {f.name: f for f in fields(Limits)}


def _limit(flag: str, name: str, kind: Callable[[str], Any], help: str) -> _Option:
    return _Option(flag, help, kind, getattr(Limits(), name), limit=name)


_OPTIONS: tuple[_Option, ...] = (
    _Option(
        "--host",
        "address to listen on, repeatable (default: every interface, IPv4 and "
        "IPv6, since sharing on a LAN is the main use)",
        repeat=True,
    ),
    _Option("--port", "HTTP(S) port for the web client and signaling", int, 8080),
    _Option("--stun-port", "UDP port of the built-in STUN server; 0 turns it off", int, 3478),
    _Option(
        "--ice-server",
        "extra STUN/TURN URL handed to browsers after the built-in STUN "
        "server, repeatable (e.g. turn:turn.example.org:3478?transport=udp); no public "
        "server is ever added by default",
        repeat=True,
    ),
    _Option(
        "--turn-secret",
        "shared secret of a coturn server in use-auth-secret mode: "
        "browsers admitted to a room get time-limited TURN credentials for the turn: URLs",
    ),
    _Option(
        "--turn-ttl",
        "lifetime of those TURN credentials, in seconds (each admitted join gets fresh ones)",
        int,
        4 * 3600,
    ),
    _Option("--certfile", "TLS certificate (PEM); serve HTTPS and WSS", Path),
    _Option("--keyfile", "TLS private key (PEM) for --certfile", Path),
    _Option(
        "--self-signed",
        "make (once, then reuse) a self-signed certificate for this host's "
        "names and addresses and serve HTTPS: LAN browsers get a secure context after one "
        "warning; the fingerprint to check is printed",
        switch=True,
    ),
    _Option(
        "--state-dir",
        "where --self-signed keeps its certificate (default: ~/.local/state/p2pshare)",
        Path,
    ),
    _Option(
        "--trust-proxy",
        "take the client address from X-Forwarded-For (only behind your own load balancer)",
        switch=True,
    ),
    _Option(
        "--public-url",
        "a URL people open, repeatable (e.g. https://share.example.org): then only those "
        "hosts are served, and only their pages may use signaling (refuses DNS rebinding; "
        "set it behind a proxy)",
        repeat=True,
    ),
    _Option(
        "--nearby-scope",
        "which devices see each other with no link: off; address (the same client address); "
        "subnet (the same IPv4 /24 or IPv6 /64); auto (address for a public IPv4 address, "
        "subnet for anything else). Behind a proxy it needs --trust-proxy (docs/deploy.md)",
        nearby_scope,
        NearbyScope.AUTO,
    ),
    _Option(
        "--drain-timeout",
        "on SIGTERM, refuse new rooms and keep live ones up to this many "
        "seconds before closing them (0: close at once)",
        float,
        0.0,
    ),
    _Option(
        "--web-root", "serve the web client from this directory instead of the packaged copy", Path
    ),
    _Option("--log-level", "how much to log: debug, info, warning or error", str, "info"),
    _Option(
        "--qr", "print a QR code of the main URL (default: when the output is a terminal)", _bool
    ),
    _limit("--max-frame-bytes", "max_frame_bytes", int, "largest signaling frame accepted"),
    _limit(
        "--message-rate",
        "message_rate_per_s",
        float,
        "signaling messages per second per connection, sustained",
    ),
    _limit(
        "--message-burst", "message_burst", int, "signaling messages a connection may send at once"
    ),
    _limit("--max-receivers", "max_receivers_per_room", int, "receivers in one room at once"),
    _limit("--max-rooms", "max_rooms", int, "live rooms in this process"),
    _limit("--max-nearby-peers", "max_nearby_peers", int, "devices in one nearby group at once"),
    _limit("--max-connections", "max_connections", int, "signaling connections in this process"),
    _limit(
        "--max-connections-per-address",
        "max_connections_per_address",
        int,
        "signaling connections from one client address",
    ),
    _limit(
        "--max-tcp-per-address",
        "max_tcp_per_address",
        int,
        "TCP connections one address may hold open before any HTTP is read (not with "
        "--trust-proxy)",
    ),
    _limit(
        "--max-rooms-per-address",
        "max_rooms_per_address",
        int,
        "live rooms created from one client address",
    ),
    _limit(
        "--send-queue",
        "send_queue_messages",
        int,
        "messages queued for one peer before it counts as not reading and is cut off",
    ),
    _limit(
        "--heartbeat-interval",
        "heartbeat_interval_s",
        float,
        "seconds between pings to an idle connection",
    ),
    _limit(
        "--heartbeat-timeout",
        "heartbeat_timeout_s",
        float,
        "seconds of silence after which a connection is closed as dead",
    ),
    _limit(
        "--room-grace",
        "room_grace_s",
        float,
        "seconds an empty room is kept, so reloads and reconnects rejoin it",
    ),
    _limit(
        "--join-timeout",
        "join_timeout_s",
        float,
        "seconds a new connection has to send its join message",
    ),
    _limit(
        "--max-dropped-messages",
        "max_dropped_messages",
        int,
        "over-rate messages dropped in a row before a connection is closed",
    ),
    _limit("--stun-rate", "stun_rate_per_s", float, "STUN requests per second from one address"),
    _limit("--stun-burst", "stun_burst", int, "STUN requests one address may send at once"),
)


def _env_value(option: _Option) -> Any:
    raw = os.environ.get(option.env)
    if raw is None:
        return None
    try:
        if option.repeat:
            return [option.type(part.strip()) for part in raw.split(",") if part.strip()]
        if option.switch:
            return _bool(raw)
        return option.type(raw)
    except ValueError as exc:
        raise ConfigError(f"{option.env}: {exc}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="p2pshare",
        allow_abbrev=False,
        description="Self-hosted browser-to-browser file sharing: one process serves the web "
        "client, relays signaling over WebSocket and answers STUN on UDP. Files never pass "
        "through it.",
    )
    parser.add_argument("--version", action="version", version=f"p2pshare {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the server",
        description="Run the server. Each option can also be set with the environment "
        "variable shown in brackets; list options take comma-separated values there.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        allow_abbrev=False,  # an abbreviated flag would not count as given (see _explicit_flags)
    )
    for option in _OPTIONS:
        help_text = f"{option.help} [{option.env}]"
        if option.switch:
            serve.add_argument(option.flag, action="store_true", default=None, help=help_text)
        elif option.repeat:
            serve.add_argument(
                option.flag,
                action="append",
                type=option.type,
                default=None,
                help=help_text,
                metavar="VALUE",
            )
        else:
            serve.add_argument(
                option.flag, type=option.type, default=option.default, help=help_text
            )
    from p2pshare.client.commands import add_commands  # flags only: no aiortc imported

    add_commands(commands)
    return parser


def _resolve(args: argparse.Namespace, explicit: set[str]) -> dict[str, Any]:
    """Each option's value: the flag if given (`explicit`), else the environment, else default."""
    values: dict[str, Any] = {}
    for option in _OPTIONS:
        value = getattr(args, option.dest)
        if option.dest not in explicit:
            env = _env_value(option)
            if env is not None:
                value = env
        values[option.dest] = value
    return values


def config_from_args(args: argparse.Namespace, explicit: set[str]) -> Config:
    """Merge flags (those in `explicit` win), environment and defaults into a Config.

    Raises ConfigError for invalid values.
    """
    values = _resolve(args, explicit)
    limits = Limits(**{o.limit: values[o.dest] for o in _OPTIONS if o.limit is not None})
    return Config(
        hosts=tuple(values["host"]) if values["host"] else Config().hosts,
        http_port=values["port"],
        stun_port=values["stun_port"],
        ice_servers=tuple(values["ice_server"] or ()),
        turn_secret=values["turn_secret"] or None,
        turn_ttl_s=values["turn_ttl"],
        certfile=values["certfile"],
        keyfile=values["keyfile"],
        self_signed=bool(values["self_signed"]),
        state_dir=values["state_dir"],
        trust_proxy=bool(values["trust_proxy"]),
        drain_timeout_s=values["drain_timeout"],
        nearby_scope=values["nearby_scope"],
        public_urls=tuple(values["public_url"] or ()),
        web_root=values["web_root"],
        limits=limits,
    )


def _explicit_flags(argv: Sequence[str]) -> set[str]:
    explicit = set()
    for option in _OPTIONS:
        if any(arg == option.flag or arg.startswith(option.flag + "=") for arg in argv):
            explicit.add(option.dest)
    return explicit


def _print_qr(url: str) -> None:
    import qrcode  # only for the terminal banner

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(url)
    code.make(fit=True)
    code.print_ascii(out=sys.stdout, invert=True)


def _announce(addresses: ServerAddresses, config: Config, want_qr: bool | None) -> None:
    urls = addresses.urls
    print(f"p2pshare {__version__} is running. Open one of these in a browser:", flush=False)
    for url in urls:
        print(f"  {url}")
    if config.self_signed:
        from p2pshare.tls import self_signed_fingerprint

        print("Browsers will warn once about the self-signed certificate; check that they show")
        print(f"this SHA-256 fingerprint: {self_signed_fingerprint(config)}")
    if addresses.stun:
        print(f"Built-in STUN server on UDP port {addresses.stun_port}.")
    else:
        print("Built-in STUN server is off (--stun-port 0).")
    if want_qr is None:
        want_qr = sys.stdout.isatty()
    if want_qr and urls:
        main_url = next((u for u in urls if "127.0.0.1" not in u and "[::1]" not in u), urls[0])
        print(f"Scan to open {main_url} on a phone:")
        _print_qr(main_url)
    print("Press Ctrl+C to stop.", flush=True)


async def _run(config: Config, want_qr: bool | None) -> None:
    from p2pshare.server import collect_garbage_periodically, gc_policy, serve

    log = logging.getLogger("p2pshare")
    stop = trio.Event()
    with gc_policy(), trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:

            async def watch_signals() -> None:
                async for signum in signals:
                    if stop.is_set():
                        log.warning("second signal: stopping now")
                        nursery.cancel_scope.cancel()
                        return
                    log.warning("%s received: shutting down", signal.Signals(signum).name)
                    stop.set()

            async def run_server(*, task_status: trio.TaskStatus[Any]) -> None:
                await serve(config, stop=stop, task_status=task_status)
                nursery.cancel_scope.cancel()  # an orderly stop is complete

            nursery.start_soon(watch_signals)
            nursery.start_soon(collect_garbage_periodically)
            addresses = await nursery.start(run_server)
            _announce(addresses, config, want_qr)
    log.info("stopped")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("send", "receive"):
        from p2pshare.client.commands import run  # the peer: aiortc, only when asked for

        return run(args)
    if args.command != "serve":
        parser.print_help()
        return 2
    try:
        explicit = _explicit_flags(argv)
        values = _resolve(args, explicit)
        config = config_from_args(args, explicit)
        level = str(values["log_level"]).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError(f"--log-level must be debug, info, warning or error, not {level!r}")
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        trio.run(_run, config, values["qr"])
    except (ConfigError, BaseExceptionGroup) as exc:
        config_error = _only_config_error(exc)
        if config_error is None:
            raise
        print(f"p2pshare: {config_error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def _only_config_error(exc: BaseException) -> ConfigError | None:
    """The ConfigError behind `exc` (possibly inside nursery exception groups), if that is all."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, ConfigError) else None
