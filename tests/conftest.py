"""Shared fixtures: a real p2pshare server on loopback, in this process (trio)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import trio
from hypothesis import settings

from p2pshare.config import Config, Limits
from p2pshare.server import ServerAddresses, serve


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")

StartServer = Callable[..., Awaitable[ServerAddresses]]

# Hypothesis' per-example deadline is a timing assertion: on a loaded 2-core CI machine it fails
# for reasons that have nothing to do with the code. Examples are bounded by max_examples instead.
settings.register_profile("p2pshare", deadline=None)
settings.load_profile("p2pshare")


@pytest.fixture
async def start_server(nursery: trio.Nursery) -> AsyncIterator[StartServer]:
    """`await start_server(stun=True, **limits)` runs a server on 127.0.0.1 with free ports."""

    async def start(
        *, stun: bool = False, config: dict[str, Any] | None = None, **limits: Any
    ) -> ServerAddresses:
        cfg = Config(
            hosts=("127.0.0.1",),
            http_port=0,
            stun_port=0,
            limits=Limits(**limits),
            **(config or {}),
        )
        if stun:
            # Any free port: serve_stun picks one when given 0, so bind via a probe.
            import socket

            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            cfg = Config(
                hosts=cfg.hosts, http_port=0, stun_port=port, limits=cfg.limits, **(config or {})
            )
        addresses: ServerAddresses = await nursery.start(serve, cfg)
        return addresses

    yield start


@pytest.fixture
async def server(start_server: StartServer) -> ServerAddresses:
    return await start_server()
