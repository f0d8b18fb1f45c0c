"""The STUN server's UDP shell: recvfrom -> `codec.answer` -> sendto, per-source rate limit.

`serve_stun` binds one UDP socket per address of the hosts (p2pshare/netbind.py, the binder
the HTTP server uses too: IPv6 sockets with IPV6_V6ONLY, so "0.0.0.0" and "::" share a port),
reports the bound `(host, port)` pairs through `task_status`,
and answers until cancelled. Nothing a peer sends, and no failing send, ends it: each
datagram that gets no answer is counted in `Metrics.stun_dropped` by reason.

Modelled on hypercorn's `trio/udp_server.py` (a `started()` report, then a receive loop),
with one change for speed: after trio reports the socket readable, the loop drains up to
`BATCH_DATAGRAMS` datagrams with non-blocking calls before yielding, instead of one
`await` per datagram. A reply that the kernel will not take at once is dropped (STUN
clients retransmit), so the loop never waits on a send.

`python -m p2pshare.stun.server --port P` runs it alone (for benchmarks).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import socket
import sys
from collections.abc import Sequence

import trio

from p2pshare.config import Limits
from p2pshare.metrics import Metrics
from p2pshare.netbind import BindError, bind_sockets
from p2pshare.ratelimit import KeyedBuckets, source_key
from p2pshare.stun.codec import Reason, ReplyKind, SourceAddress, StunDecodeError, answer

__all__ = ["StunBindError", "StunEndpoint", "main", "serve_stun"]

log = logging.getLogger(__name__)

RECV_BYTES = 2048
"""Receive buffer per datagram; longer datagrams arrive truncated and fail the length check."""
BATCH_DATAGRAMS = 64
"""Datagrams handled per wake-up before other tasks get a turn."""
SOCKET_RCVBUF_BYTES = 1 << 20
"""Asked-for kernel receive buffer (capped by net.core.rmem_max), to absorb bursts."""
_SUCCESS = ReplyKind.SUCCESS


StunBindError = BindError
"""A STUN address that cannot be resolved or bound (the binder's error, by its old name)."""


class StunEndpoint:
    """What happens to one datagram: rate limit by source IP, answer, send, count.

    Shared by the sockets of one server. `now_s` is trio's clock (the caller passes it).
    """

    __slots__ = ("_buckets", "_dropped", "_requests", "_responses")

    def __init__(self, metrics: Metrics, limits: Limits) -> None:
        self._buckets: KeyedBuckets[str] = KeyedBuckets(limits.stun_rate_per_s, limits.stun_burst)
        self._requests = metrics.stun_requests
        self._responses = metrics.stun_responses
        self._dropped = metrics.stun_dropped

    def handle(self, sock: socket.socket, data: bytes, source: SourceAddress, now_s: float) -> None:
        """Answer `data` from `source` on `sock`, or count why not. Never raises OSError."""
        if self._answer(sock, data, source, now_s) is _SUCCESS:
            self._requests.inc()
            self._responses.inc(_SUCCESS)

    def drain(self, sock: socket.socket, now_s: float) -> None:
        """Handle what `sock` holds, up to `BATCH_DATAGRAMS`, without blocking.

        The loop of the hot path: successes are counted once per batch, not per datagram.
        """
        recvfrom = sock.recvfrom
        answer_one = self._answer
        successes = 0
        for _ in range(BATCH_DATAGRAMS):
            try:
                data, source = recvfrom(RECV_BYTES)
            except BlockingIOError:
                break
            except OSError:  # an ICMP error reported on the socket: not about a datagram
                continue
            if answer_one(sock, data, source, now_s) is _SUCCESS:
                successes += 1
        if successes:
            self._requests.inc(amount=successes)
            self._responses.inc(_SUCCESS, successes)

    def _answer(
        self, sock: socket.socket, data: bytes, source: SourceAddress, now_s: float
    ) -> ReplyKind | None:
        """Send the answer to one datagram; its kind if sent.

        Counts everything but a success sent, which the caller counts (as a request and a
        response): drops by reason, and the requests that got no success.
        """
        if not self._buckets.take(source_key(source[0]), now_s):
            self._dropped.inc(Reason.RATE_LIMITED)
            return None
        try:
            kind, reply = answer(data, source)
        except StunDecodeError as exc:
            self._dropped.inc(exc.reason)
            return None
        try:
            sock.sendto(reply, source)
        except OSError:  # EAGAIN, EPERM (firewall), ENETUNREACH, EACCES, ...
            self._requests.inc()
            self._dropped.inc(Reason.SEND_FAILED)
            return None
        if kind is not _SUCCESS:
            self._requests.inc()
            self._responses.inc(kind)
        return kind


async def serve_stun(
    hosts: Sequence[str],
    port: int,
    metrics: Metrics,
    limits: Limits,
    *,
    task_status: trio.TaskStatus[list[tuple[str, int]]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Answer STUN Binding requests on UDP `port` of each of `hosts` until cancelled.

    Reports the bound `(host, port)` pairs; with `port` 0 every socket gets the same
    free port. "::" is skipped quietly when the machine has no IPv6 and another host
    is bound. Raises `StunBindError` if any other host cannot be resolved or bound.
    """
    # In a thread: resolving a host name may block.
    sockets = await trio.to_thread.run_sync(
        functools.partial(
            bind_sockets, hosts, port, socket.SOCK_DGRAM, what="STUN", configure=_configure
        )
    )
    try:
        endpoint = StunEndpoint(metrics, limits)
        async with trio.open_nursery() as nursery:
            for sock in sockets:
                nursery.start_soon(_serve_socket, sock, endpoint)
            bound = [(str(s.getsockname()[0]), int(s.getsockname()[1])) for s in sockets]
            log.info("STUN listening on %s", ", ".join(f"{h} port {p}" for h, p in bound))
            task_status.started(bound)
    finally:
        for sock in sockets:
            sock.close()


async def _serve_socket(sock: socket.socket, endpoint: StunEndpoint) -> None:
    drain = endpoint.drain
    current_time = trio.current_time
    while True:
        await trio.lowlevel.wait_readable(sock)
        drain(sock, current_time())


def _configure(sock: socket.socket) -> None:
    sock.setblocking(False)
    with contextlib.suppress(OSError):  # a smaller buffer still works
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_RCVBUF_BYTES)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the STUN server alone; prints `listening HOST PORT` per socket once bound."""
    parser = argparse.ArgumentParser(prog="python -m p2pshare.stun.server", description=__doc__)
    parser.add_argument(
        "--host", action="append", help="address to listen on (repeatable; default 0.0.0.0 and ::)"
    )
    parser.add_argument("--port", type=int, default=3478, help="UDP port, 0 for any (default 3478)")
    defaults = Limits()
    parser.add_argument(
        "--rate-per-s",
        type=float,
        default=defaults.stun_rate_per_s,
        help=f"requests per second per source IP (default {defaults.stun_rate_per_s:g})",
    )
    parser.add_argument(
        "--burst",
        type=int,
        default=defaults.stun_burst,
        help=f"requests a source may send at once (default {defaults.stun_burst})",
    )
    args = parser.parse_args(argv)
    limits = Limits(stun_rate_per_s=args.rate_per_s, stun_burst=args.burst)
    hosts = args.host or ["0.0.0.0", "::"]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(serve_stun, hosts, args.port, Metrics(), limits)
            for host, port in bound:
                print(f"listening {host} {port}", flush=True)

    failed: list[str] = []
    try:
        trio.run(run)
    except* StunBindError as group:
        failed.extend(str(exc) for exc in group.exceptions)
    except* KeyboardInterrupt:
        pass
    for message in failed:
        print(f"error: {message}", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
