"""scripts/bench/_wan_link.py, the emulated WAN link: its queue model alone (anywhere), and
real links between two network namespaces (root and /dev/net/tun; skipped otherwise).

The link can only add delay, so the only timing asserted is "at least what was configured"
(round trips, and a rate cap: a paced link never delivers faster than its rate)."""

from __future__ import annotations

import os
import random
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "bench"))

import _wan_link as wan

needs_link = pytest.mark.skipif(
    wan.link_unavailable() is not None, reason=f"no emulated link here: {wan.link_unavailable()}"
)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    """A pipe standing for the other namespace's TUN device: (read end, write end)."""
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    yield read, write
    os.close(read)
    os.close(write)


def direction(
    pipe: tuple[int, int], delay_s: float = 0.0, loss: float = 0.0, rate_bps: float | None = None
) -> wan.Direction:
    """A direction that writes into `pipe` (its source fd is never read here)."""
    return wan.Direction(-1, pipe[1], delay_s, loss, rate_bps, 10_000, random.Random(1))


def test_delay_holds_packets_in_order_for_at_least_the_delay(pipe: tuple[int, int]) -> None:
    d = direction(pipe, delay_s=0.02)
    for i in range(5):
        d.arrive(bytes([i]) * 100, now=1.0 + i / 1000)
    releases = [t for t, _ in d.pending]
    assert releases == sorted(releases)
    assert all(t >= 1.02 for t in releases)
    d.release_due(1.0215)
    assert len(d.pending) == 3  # the first two (arrived at 1.000 and 1.001) are out
    assert os.read(pipe[0], 1000) == bytes([0]) * 100 + bytes([1]) * 100


def test_rate_serializes_and_the_queue_drops_at_its_bound(pipe: tuple[int, int]) -> None:
    d = direction(pipe, rate_bps=1_000_000)  # 1 MB/s: 1,000 bytes take 1 ms
    for _ in range(20):
        d.arrive(bytes(1000), now=5.0)  # a burst: 10,000 bytes of queue take 10 of them
    assert d.packets == 10 and d.overflow == 10
    releases = [t for t, _ in d.pending]
    assert releases == pytest.approx([5.0 + (i + 1) / 1000 for i in range(10)])
    assert d.max_queue_bytes <= d.queue_bytes


def test_loss_drops_about_the_configured_share(pipe: tuple[int, int]) -> None:
    d = direction(pipe, loss=0.1)
    for _ in range(10_000):
        d.arrive(b"x", now=0.0)  # no delay, no rate: written at once
    assert 800 < d.lost < 1200
    assert len(os.read(pipe[0], 20_000)) == d.packets == 10_000 - d.lost


@needs_link
@pytest.mark.multiprocess
def test_round_trips_are_at_least_the_configured_delay_and_loss_is_near_the_configured() -> None:
    with wan.emulated_link(delay_ms=20, loss=0.02, seed=7) as link:
        ns_a, ns_b, addr_a, addr_b = link
        assert (addr_a, addr_b) == (wan.ADDR_A, wan.ADDR_B) and ns_a != ns_b
        probe = wan.udp_probe(link, count=500, interval_s=0.001)
        stats = link.stats()
    assert probe.returned > 400
    assert min(probe.rtts_ms) >= 40.0
    # 2 % each way: about 10 of 500 probes lost a -> b and 10 of the rest b -> a.
    assert 0.002 <= probe.loss_ab <= 0.06
    assert 0.002 <= probe.loss_ba <= 0.06
    assert stats["ab"]["lost"] >= probe.sent - probe.arrived


@needs_link
@pytest.mark.multiprocess
def test_a_rate_limited_link_never_delivers_faster_than_its_rate() -> None:
    with wan.emulated_link(delay_ms=5, rate_mbit=8) as link:  # 1 MB/s each way
        mbps = wan.tcp_throughput(link, seconds=2.0)
        stats = link.stats()
    assert 0 < mbps <= 1.0
    assert stats["ab"]["max_queue_bytes"] <= link.queue_bytes


@needs_link
@pytest.mark.multiprocess
def test_the_namespaces_see_only_each_other_and_are_removed_afterwards() -> None:
    with socket.socket() as outside:
        outside.bind(("127.0.0.1", 0))
        outside.listen(1)
        port = outside.getsockname()[1]
        with pytest.raises(RuntimeError), wan.emulated_link(delay_ms=1) as link:
            names = [link.ns_a, link.ns_b]
            forwarder = link.forwarder
            assert all((wan.NETNS_ETC / n / "resolv.conf").exists() for n in names)
            client = link.call("a", socket.socket)
            with client, pytest.raises(OSError):
                client.settimeout(2)
                client.connect(("127.0.0.1", port))  # the root namespace's loopback: not here
            raise RuntimeError("the body failed")
    assert forwarder.poll() is not None
    for name in names:
        assert not (wan.NETNS_RUN / name).exists()
        assert not (wan.NETNS_ETC / name).exists()
