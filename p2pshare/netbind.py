"""One dual-stack binder for every listener: the HTTP server's TCP sockets and STUN's UDP ones.

The rules, the same for both: one socket per address that the configured hosts resolve to
(IPv4 first, no repeats); IPv6 sockets are IPv6-only, so "0.0.0.0" and "::" coexist on one
port; with port 0 every socket gets the same free port (retried a few times if the port the
first socket got is taken on another address); "::" is skipped quietly when the machine has
no IPv6 and another host is bound; any other failure is a `BindError` naming the address.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from p2pshare.errors import ConfigError

__all__ = ["BindError", "Target", "bind_sockets", "resolve"]

log = logging.getLogger(__name__)

PORT_ATTEMPTS: Final = 8
"""With port 0: tries to find a port free on every address alike."""
_NO_IPV6_ERRNOS: Final = frozenset({errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT})
_PROTOCOL_NAMES: Final = {socket.SOCK_STREAM: "TCP", socket.SOCK_DGRAM: "UDP"}


class BindError(ConfigError):
    """A requested address cannot be resolved or bound; the message names it.

    A `ConfigError`: the configured hosts and port are not usable on this machine, and the
    CLI reports it as such (one line, exit status 2).
    """


@dataclass(frozen=True, slots=True)
class Target:
    """One socket to bind: the host as configured, its family, and its socket address."""

    host: str
    family: socket.AddressFamily
    sockaddr: tuple[Any, ...]


class _PortTaken(Exception):
    """The port picked for the first socket is taken for a later one (port 0 only)."""


def resolve(hosts: Sequence[str], port: int, kind: socket.SocketKind, *, what: str) -> list[Target]:
    """A target per socket to bind, IPv4 first, without repeats."""
    targets: list[Target] = []
    for host in hosts:
        try:
            infos = socket.getaddrinfo(host, port, type=kind, flags=socket.AI_PASSIVE)
        except socket.gaierror as exc:
            if host == "::" and len(hosts) > 1:
                log.info("no IPv6 here (%s): %s not listening on ::", exc, what)
                continue
            raise BindError(f"cannot resolve {what} host {host!r}: {exc}") from exc
        for family, _, _, _, sockaddr in infos:
            address = tuple(sockaddr)
            known = any(t.family == family and t.sockaddr == address for t in targets)
            if family in (socket.AF_INET, socket.AF_INET6) and not known:
                targets.append(Target(host, family, address))
    targets.sort(key=lambda target: target.family != socket.AF_INET)
    return targets


def bind_sockets(
    hosts: Sequence[str],
    port: int,
    kind: socket.SocketKind,
    *,
    what: str,
    configure: Callable[[socket.socket], None] = lambda sock: None,
) -> list[socket.socket]:
    """Bind a socket of `kind` per address of `hosts` on `port` (see the module's rules).

    `what` names the service in messages ("HTTP", "STUN"); `configure` sets options on each
    socket before it is bound (and may listen after: TCP sockets are returned bound only).
    """
    targets = resolve(hosts, port, kind, what=what)
    attempts = PORT_ATTEMPTS if port == 0 else 1
    for attempt in range(1, attempts + 1):
        try:
            return _bind_targets(
                targets,
                port,
                kind,
                what=what,
                configure=configure,
                skip_missing_ipv6=len(hosts) > 1,
                retry=attempt < attempts,
            )
        except _PortTaken:
            continue
    raise AssertionError("unreachable: the last attempt raises BindError")


def _bind_targets(
    targets: list[Target],
    port: int,
    kind: socket.SocketKind,
    *,
    what: str,
    configure: Callable[[socket.socket], None],
    skip_missing_ipv6: bool,
    retry: bool,
) -> list[socket.socket]:
    """One socket per target; with port 0, all on the port the first one got.

    Raises `_PortTaken` if `retry` and that port is taken for a later target.
    """
    bound: list[socket.socket] = []
    chosen = port
    try:
        for target in targets:
            try:
                sock = socket.socket(target.family, kind)
                try:
                    if kind == socket.SOCK_STREAM:
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if target.family == socket.AF_INET6:
                        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    configure(sock)
                    # IPv6 keeps its flow info and scope id.
                    sock.bind((target.sockaddr[0], chosen, *target.sockaddr[2:]))
                except OSError:
                    sock.close()
                    raise
            except OSError as exc:
                if target.host == "::" and skip_missing_ipv6 and exc.errno in _NO_IPV6_ERRNOS:
                    log.info("no IPv6 here (%s): %s not listening on ::", exc, what)
                    continue
                if retry and port == 0 and chosen != 0 and exc.errno == errno.EADDRINUSE:
                    raise _PortTaken from exc
                raise BindError(
                    f"cannot bind {what} to {target.host} {_PROTOCOL_NAMES[kind]} port {chosen}: "
                    f"{exc.strerror or exc}"
                ) from exc
            bound.append(sock)
            if chosen == 0:
                chosen = int(sock.getsockname()[1])
    except BaseException:
        for sock in bound:
            sock.close()
        raise
    if not bound:
        raise BindError(f"no {what} socket could be bound")
    return bound
