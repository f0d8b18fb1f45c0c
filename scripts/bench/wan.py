"""WAN throughput: p2pshare against bare data channels, one and striped over several peer
connections, over emulated links with delay, loss and a rate limit (same run, same link).

Two network namespaces joined by a userspace link (`_wan_link.py`: TUN devices and a Python
forwarder; this kernel has no sch_netem). Namespace a holds the p2pshare server (`python -m
p2pshare serve --self-signed`: HTTPS, so both pages are secure contexts and OPFS and WebCrypto
are what runs; Chromium gets `--ignore-certificate-errors`, checked with `isSecureContext`)
and the sender's headless Chromium; namespace b the receiver's Chromium (persistent on-disk
profile, as transfer.py's receiver). Everything crosses the link as it would cross the
Internet: signaling, STUN, and the data channels between host candidates (10.77.0.1 and
10.77.0.2). Kinds, per round, in alternating order (reversed every other round):

- **bare-1**: transfer.py's bare channel: one RTCPeerConnection, one ordered reliable
  channel, frames of p2pshare's CHUNK_SIZE (web/js/wire.js, 128 KiB),
  `bufferedAmountLowThreshold` backpressure (4 MiB high water, 1 MiB low); the receiver only
  counts bytes.
- **bare-2**, **bare-4**: the same page striping over 2 or 4 peer connections, each its own
  RTCPeerConnection and channel (each its own SCTP association and congestion window); each
  frame goes to the channel with the least buffered, waiting while all are above the high
  water; the receiver counts bytes over all of them. (bare-1 is this code with one channel.)
- **p2pshare**: the real UI, as transfer.py drives it: the sender picks a `--size-mib` file of
  random bytes, the receiver opens the link and clicks Accept; done at the transfer state
  `done` (last block verified and written, file verified); the download's SHA-256 is compared
  with the source's. If the sender's `[data-testid=receiver-row]` carries `data-lanes` (open
  lanes: peer connections per receiver) and `data-lanes-max` (most used), both are recorded
  (the most seen during the transfer, and the last data-lanes-max); absent means 1 lane.

MB/s (1e6 B/s) is measured on the receiving page from the first byte to the end (bare: the
last byte counted; p2pshare: the state `done`), medians over `--rounds`. p2pshare's ratios
are against bare-1 and against the best of bare-2 and bare-4 (the medians). The last line of
each profile's block, repeated at the end for all profiles:

    ratio p2pshare/bare-1 @40ms = X.XX, p2pshare/best-striped = X.XX

Profiles (one-way delay is half the RTT; loss is **per direction**: 0.5 % of the packets each
way, about 1 % of round trips):

| profile | RTT | loss each way | rate each way | queue |
|---|---|---|---|---|
| `0` | 0 (the emulator only) | 0 | - | - |
| `40` | 40 ms | 0 | - | - |
| `100` | 100 ms | 0 | - | - |
| `40-loss` | 40 ms | 0.5 % | - | - |
| `40-100mbit` | 40 ms | 0 | 100 Mbit/s | 500 KB (one BDP) |

**Ceilings.** Profile `0` is the loopback ceiling: the same two browsers and the same path
through the emulator without delay. For `40-100mbit` the run prints what a rate-limited link
allows: `allowed = min(12.5 MB/s (100 Mbit/s), ceiling)`, where `ceiling` is the best bare
median of profile `0` in the same run (bare-1, -2 or -4: what these two browsers can move at
all), and p2pshare's share of it (the goal: >= 80 %). The emulator's own ceiling is measured
first in every run (`--link-only` stops there): a TCP stream and a flood of 1,200-byte UDP
datagrams through a 0 ms link, no browsers: 520-580 MB/s of TCP and 170,000-280,000
datagrams/s on this 2-core machine (see _wan_link.py), ten times and more what two Chromium
processes move here, so the link's forwarding rate is not what limits these figures. Per
transfer the run prints what the link did (`packets`; `lost`: random loss; `queue_drops`: tail
drops of the rate limiter's queue; `tun_drops`: packets the forwarder was too slow to take,
always 0 so far; `rcvbuf_drops`: datagrams a namespace's stack dropped because a browser's
UDP socket buffer was full, as a share of the packets; `max_burst`: the most packets the
link took or wrote at once) and the CPU share of each side over the transfer (sender and receiver
browser trees, server, forwarder; the forwarder runs at real-time priority, so on profile 0
its share is taken from the browsers).

**rcvbuf drops.** On the links without a rate limit the sender's bursts (up to ~150 packets
at once) reach the receiver as they left, and Chromium's UDP socket (128 KiB buffer) drops
some of them: 0.1-2.8 % of the packets per transfer at 0, 40 and 100 ms. That is what a path
whose bottleneck is faster than the receiving browser does; a rate-limited link spreads the
bursts (at 100 Mbit/s none in four transfers of five, 0.4 % in the fifth), and with 0.5 %
random loss SCTP's window stays too small for such bursts. SCTP takes each such loss as
congestion.

    python scripts/bench/wan.py [--quick] [--profiles 0,40,100,40-loss,40-100mbit]
        [--size-mib 64] [--rounds 2] [--kinds bare-1,bare-2,bare-4,p2pshare]
        [--queue-bytes N] [--max-minutes 25] [--link-only] [--cleanup]

`--quick`: profile 40 only, 32 MiB, 1 round (about a minute). Full run (defaults): every
profile, 64 MiB, 2 rounds, run round by round (round 1 of every profile, then round 2), each
profile's round on a fresh link, server and browsers; `--max-minutes` (default 25) starts no
transfer that, going by the same profile and kind in an earlier round, would end after that
many minutes, and the run says what it skipped. Needs root and /dev/net/tun. Every step has
a timeout; the namespaces, their /etc/netns dirs and every process in them are removed at the
end, on errors and on Ctrl+C or SIGTERM; `--cleanup` removes what a killed run left behind. A
hash mismatch makes the exit status 1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _wan_link as wan
from _browser import find_tree_root, marker, thread_cpu
from transfer import (
    MB,
    MIB,
    PROBE_JS,
    chromium_version,
    median,
    sha256_file,
    write_random_file,
)


@dataclass(frozen=True)
class Profile:
    name: str
    delay_ms: float  # one way
    loss: float = 0.0  # per direction
    rate_mbit: float | None = None

    @property
    def label(self) -> str:
        """`40ms`, `40ms-loss`...: the tag in the ratio line."""
        rtt = f"{2 * self.delay_ms:g}ms"
        return rtt + self.name[len(self.name.split("-")[0]) :]

    def describe(self) -> str:
        text = f"RTT {2 * self.delay_ms:g} ms"
        if self.loss:
            text += f", loss {self.loss:.1%} each way"
        if self.rate_mbit:
            text += f", {self.rate_mbit:g} Mbit/s each way"
        return text


PROFILES = {
    p.name: p
    for p in (
        Profile("0", 0.0),
        Profile("40", 20.0),
        Profile("100", 50.0),
        Profile("40-loss", 20.0, loss=0.005),
        Profile("40-100mbit", 20.0, rate_mbit=100.0),
    )
}
KINDS = ("bare-1", "bare-2", "bare-4", "p2pshare")
BARE_URL = "https://bare.p2pshare.test/bare.html"
"""Served by Playwright (context.route) to both browsers: no server, no DNS."""
BARE_HIGH = 4 * MIB
BARE_LOW = 1 * MIB
FLOOR_MBPS = 0.15
"""A transfer slower than this (plus a minute of setup) is a failure, not a figure."""

BARE_HTML = """<!doctype html>
<meta charset="utf-8"><title>bare data channels</title>
<script>
const bench = { received: 0, total: 0, first: 0, last: 0, sendDone: 0 };
const pcs = [], channels = [], candidates = [];
function makePc(i, iceServers) {
  const pc = new RTCPeerConnection({ iceServers });
  candidates[i] = [];
  pc.onicecandidate = (e) => { if (e.candidate) candidates[i].push(e.candidate.toJSON()); };
  pcs[i] = pc;
  return pc;
}
function onMessage(event) {
  const n = typeof event.data === 'string' ? event.data.length : event.data.byteLength;
  if (!bench.first) bench.first = performance.now();
  bench.received += n;
  if (bench.received >= bench.total && !bench.last) bench.last = performance.now();
}
async function makeOffers(iceServers, n) {
  const sdps = [];
  for (let i = 0; i < n; i++) {
    const pc = makePc(i, iceServers);
    const channel = pc.createDataChannel('bare', { ordered: true });
    channel.binaryType = 'arraybuffer';
    channels[i] = channel;
    await pc.setLocalDescription(await pc.createOffer());
    sdps.push(pc.localDescription.sdp);
  }
  return sdps;
}
async function makeAnswers(iceServers, offers) {
  const sdps = [];
  for (let i = 0; i < offers.length; i++) {
    const pc = makePc(i, iceServers);
    pc.ondatachannel = (e) => {
      channels[i] = e.channel;
      e.channel.binaryType = 'arraybuffer';
      e.channel.onmessage = onMessage;
    };
    await pc.setRemoteDescription({ type: 'offer', sdp: offers[i] });
    await pc.setLocalDescription(await pc.createAnswer());
    sdps.push(pc.localDescription.sdp);
  }
  return sdps;
}
async function takeAnswers(sdps) {
  for (let i = 0; i < sdps.length; i++) {
    await pcs[i].setRemoteDescription({ type: 'answer', sdp: sdps[i] });
  }
}
function takeCandidates() { return candidates.map((list) => list.splice(0)); }
async function addCandidates(lists) {
  for (let i = 0; i < lists.length; i++) {
    for (const c of lists[i]) { try { await pcs[i].addIceCandidate(c); } catch {} }
  }
}
function openCount() { return channels.filter((c) => c && c.readyState === 'open').length; }
function expect(total) { Object.assign(bench, { received: 0, total, first: 0, last: 0 }); }
async function send(total, chunk, high, low) {
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i += 65536) {
    crypto.getRandomValues(block.subarray(i, i + 65536));
  }
  let wake = null;
  for (const c of channels) {
    c.bufferedAmountLowThreshold = low;
    c.onbufferedamountlow = () => { if (wake) { const w = wake; wake = null; w(); } };
  }
  let sent = 0;
  while (sent < total) {
    let best = channels[0];
    for (const c of channels) if (c.bufferedAmount < best.bufferedAmount) best = c;
    if (best.bufferedAmount > high) {
      await new Promise((resolve) => { wake = resolve; });
      continue;
    }
    const offset = sent % block.length;
    const n = Math.min(chunk, block.length - offset, total - sent);
    best.send(block.subarray(offset, offset + n));
    sent += n;
  }
  bench.sendDone = performance.now();
}
function close() { for (const pc of pcs) pc.close(); }
</script>
"""

LANES_JS = """() => [...document.querySelectorAll('[data-testid=receiver-row]')].map((row) => [
  row.dataset.lanes ?? null, row.dataset.lanesMax ?? null])"""


@dataclass
class Result:
    profile: str
    kind: str
    round: int
    mbps: float = 0.0
    seconds: float = 0.0
    first_byte_ms: float = 0.0  # p2pshare: from the receiver's navigation
    from_accept: bool = False  # p2pshare: timed from Accept (the first-byte probe found nothing)
    hash_ok: bool | None = None
    lanes: int | None = None  # most open lanes seen on the sender's receiver row
    lanes_max: int | None = None  # its data-lanes-max at the end
    cpu_share: dict[str, float] = field(default_factory=dict)  # of one core, over the transfer
    link: dict[str, int] = field(default_factory=dict)  # what the link did (Bench.measured)

    @property
    def rcvbuf_share(self) -> float:
        """Datagrams the browsers' hosts dropped on receipt, per packet the link forwarded."""
        return self.link.get("rcvbuf_drops", 0) / max(1, self.link.get("packets", 0))

    def line(self) -> str:
        text = f"round {self.round} {self.profile:10} {self.kind:8} {self.mbps:6.2f} MB/s"
        text += f"  {self.seconds:5.1f} s"
        if self.kind == "p2pshare":
            text += f"  first byte {self.first_byte_ms:5.0f} ms"
            if self.from_accept:
                text += " (timed from Accept: no first-byte probe)"
            text += f"  lanes {self.lanes or 1} (max {self.lanes_max or 1})"
            text += f"  hash {'ok' if self.hash_ok else 'MISMATCH'}"
        text += "\n    CPU (of one core): " + ", ".join(
            f"{k} {v:.0%}" for k, v in self.cpu_share.items()
        )
        text += "\n    link: " + ", ".join(f"{k} {v}" for k, v in self.link.items())
        text += f" (rcvbuf drops {self.rcvbuf_share:.1%} of the packets)"
        return text


def cpu_s_between(before: dict[Any, float], after: dict[Any, float]) -> float:
    """CPU seconds spent between two `thread_cpu` snapshots by the threads alive at the end."""
    return sum(seconds - before.get(key, 0.0) for key, seconds in after.items())


def interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


@dataclass
class Bench:
    link: wan.Link
    site: wan.Site
    profile: Profile
    source: Path
    source_hash: str
    size: int
    chunk: int
    ice_servers: list[dict[str, Any]]
    timeout_s: float

    @contextlib.contextmanager
    def measured(self, result: Result) -> Iterator[None]:
        """CPU shares and link counters over the with block."""
        roots = {"sender": find_tree_root("wan-a"), "receiver": find_tree_root("wan-b")}
        roots["server"] = self.site.server.pid
        before = {k: thread_cpu(r) for k, r in roots.items()}
        link_before = self.link.stats()
        drops_before = self.link.device_drops()
        udp_before = self.link.udp_drops()
        t0 = time.monotonic()
        yield
        elapsed = max(1e-9, time.monotonic() - t0)
        after = {k: thread_cpu(r) for k, r in roots.items()}
        link_after = self.link.stats()
        drops_after = self.link.device_drops()
        udp_after = self.link.udp_drops()
        result.cpu_share = {k: cpu_s_between(before[k], after[k]) / elapsed for k in after}
        result.cpu_share["link"] = (link_after["cpu_s"] - link_before["cpu_s"]) / elapsed

        def delta(counter: str) -> int:
            return sum(int(link_after[d][counter] - link_before[d][counter]) for d in ("ab", "ba"))

        result.link = {
            "packets": delta("packets"),
            "lost": delta("lost"),
            "queue_drops": delta("overflow"),
            "tun_drops": sum(drops_after.values()) - sum(drops_before.values()),
            "rcvbuf_drops": sum(udp_after.values()) - sum(udp_before.values()),
            "write_errors": delta("write_errors"),
            "max_burst": max(
                int(link_after[d][f"max_burst_{io}"]) for d in ("ab", "ba") for io in ("in", "out")
            ),
        }

    # --- bare ---------------------------------------------------------------------------

    def run_bare(self, round_no: int, n: int) -> Result:
        result = Result(self.profile.name, f"bare-{n}", round_no)
        sender = self.site.sender.new_page()
        receiver = self.site.receiver.new_page()
        try:
            sender.goto(BARE_URL, timeout=30_000)
            receiver.goto(BARE_URL, timeout=30_000)
            offers = sender.evaluate("([ice, n]) => makeOffers(ice, n)", [self.ice_servers, n])
            answers = receiver.evaluate(
                "([ice, sdps]) => makeAnswers(ice, sdps)", [self.ice_servers, offers]
            )
            sender.evaluate("sdps => takeAnswers(sdps)", answers)
            deadline = time.monotonic() + 30
            while not (sender.evaluate("openCount()") == n == receiver.evaluate("openCount()")):
                receiver.evaluate("c => addCandidates(c)", sender.evaluate("takeCandidates()"))
                sender.evaluate("c => addCandidates(c)", receiver.evaluate("takeCandidates()"))
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{n} bare data channel(s) did not open in 30 s")
                time.sleep(0.05)
            receiver.evaluate("n => expect(n)", self.size)
            time.sleep(0.5)
            started = time.monotonic()
            with self.measured(result):
                sender.evaluate(
                    "([n, chunk, high, low]) => { send(n, chunk, high, low); }",
                    [self.size, self.chunk, BARE_HIGH, BARE_LOW],
                )
                while not receiver.evaluate("() => bench.last"):
                    if time.monotonic() - started > self.timeout_s:
                        raise TimeoutError(f"bare-{n} not done after {self.timeout_s:.0f} s")
                    time.sleep(0.25)
            marks = receiver.evaluate("() => bench")
            result.seconds = (marks["last"] - marks["first"]) / 1000
            result.mbps = self.size / result.seconds / MB
            with contextlib.suppress(Exception):
                sender.evaluate("close()")
        finally:
            receiver.close()
            sender.close()
        return result

    # --- p2pshare -----------------------------------------------------------------------

    def run_p2pshare(self, round_no: int) -> Result:
        result = Result(self.profile.name, "p2pshare", round_no)
        sender = self.site.sender.new_page()
        receiver = self.site.receiver.new_page()
        try:
            sender.goto(self.site.url + "/", timeout=30_000)
            sender.get_by_test_id("file-input").set_input_files(str(self.source))
            sender.wait_for_function(
                "() => document.querySelector('[data-testid=share-link]').value.includes('#')",
                timeout=60_000,
            )
            link = sender.get_by_test_id("share-link").input_value()
            receiver.add_init_script(PROBE_JS)
            time.sleep(0.5)
            with receiver.expect_download(timeout=self.timeout_s * 1000) as download_info:
                started = time.monotonic()
                receiver.goto(link, timeout=60_000)
                accept = receiver.get_by_test_id("accept")
                accept.wait_for(timeout=60_000)
                receiver.wait_for_function(
                    "() => !document.querySelector('[data-testid=accept]').disabled",
                    timeout=60_000,
                )
                with self.measured(result):
                    accept.click(timeout=30_000)
                    while True:
                        self.watch_lanes(sender, result)
                        state = receiver.get_by_test_id("transfer-state").get_attribute(
                            "data-state", timeout=10_000
                        )
                        if state in ("done", "error"):
                            break
                        if time.monotonic() - started > self.timeout_s:
                            raise TimeoutError(f"p2pshare not done after {self.timeout_s:.0f} s")
                        time.sleep(0.25)
                self.watch_lanes(sender, result)
            if state != "done":
                raise RuntimeError(f"the receiver ended in state {state}")
            marks = receiver.evaluate("() => globalThis.__bench")
            begin = marks["first"]
            if not begin:  # the probe's hook found no receiver to wrap: time from Accept
                begin, result.from_accept = marks["accept"], True
            result.first_byte_ms = marks["first"]
            result.seconds = (marks["done"] - begin) / 1000
            result.mbps = self.size / result.seconds / MB
            download = download_info.value
            result.hash_ok = sha256_file(Path(download.path())) == self.source_hash
            download.delete()
            receiver.evaluate(
                "async () => { try { await (await navigator.storage.getDirectory())"
                ".removeEntry('p2pshare', { recursive: true }); } catch {} }"
            )
        finally:
            receiver.close()
            sender.close()
        return result

    def watch_lanes(self, sender: Page, result: Result) -> None:
        for lanes, lanes_max in sender.evaluate(LANES_JS):
            if lanes is not None and lanes.isdigit():
                result.lanes = max(result.lanes or 0, int(lanes))
            if lanes_max is not None and lanes_max.isdigit():
                result.lanes_max = int(lanes_max)


# --- the link's own ceiling ------------------------------------------------------------------


def link_ceiling() -> str:
    """The emulator alone (no browsers): TCP and UDP through a 0 ms link, and a 40 ms probe."""
    with wan.emulated_link(delay_ms=0) as link:
        tcp = wan.tcp_throughput(link, seconds=2.0)
        tcp_cpu = link.stats()["cpu_s"]
        pps, flood_loss = wan.udp_flood(link, seconds=2.0)
    return (
        f"emulator ceiling (0 ms link, no browsers): TCP {tcp:.0f} MB/s"
        f" (forwarder CPU {tcp_cpu:.1f} s over 3 s), UDP 1,200 B {pps:,.0f} packets/s ="
        f" {pps * 1200 / MB:.0f} MB/s ({flood_loss:.0%} of a flood dropped in the TUN device)"
    )


def check_link(link: wan.Link, profile: Profile) -> str:
    probe = wan.udp_probe(link, count=200, interval_s=0.002)
    rtts = sorted(probe.rtts_ms)
    if not rtts:
        raise wan.LinkError("no probe came back through the link")
    text = (
        f"link check: {probe.sent} UDP probes, RTT min {rtts[0]:.1f} / median"
        f" {rtts[len(rtts) // 2]:.1f} ms (configured {profile.delay_ms * 2:g}),"
        f" lost a->b {probe.loss_ab:.1%}, b->a {probe.loss_ba:.1%}"
    )
    if rtts[0] < 2 * profile.delay_ms:
        raise wan.LinkError(f"a round trip shorter than configured: {text}")
    return text


# --- running it -----------------------------------------------------------------------------


@dataclass
class Schedule:
    """The time budget: a transfer is started only if the same profile and kind took less
    than what is left in an earlier round (a first run is always started: it has no
    estimate, and its timeout bounds it)."""

    deadline: float
    took: dict[tuple[str, str], float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def fits(self, profile: str, kind: str, round_no: int) -> bool:
        estimate = self.took.get((profile, kind), 0.0)
        if time.monotonic() + estimate > self.deadline:
            self.skipped.append(f"{profile}/{kind}/round {round_no}")
            return False
        return True

    def done(self, profile: str, kind: str, seconds: float) -> None:
        self.took[(profile, kind)] = max(seconds, self.took.get((profile, kind), 0.0))


def run_round(
    pw: Any,
    profile: Profile,
    round_no: int,
    args: argparse.Namespace,
    source: Path,
    source_hash: str,
    workdir: Path,
    schedule: Schedule,
) -> list[Result]:
    """One round of one profile: a fresh link, server and browsers, each kind once."""
    order = list(args.kinds)
    if not round_no % 2:
        order.reverse()
    todo = [k for k in order if schedule.fits(profile.name, k, round_no)]
    if not todo:
        return []
    results: list[Result] = []
    folder = workdir / f"round-{round_no}-profile-{profile.name}"
    folder.mkdir()
    print(f"== round {round_no}, profile {profile.name}: {profile.describe()}", flush=True)
    with wan.emulated_link(
        profile.delay_ms, profile.loss, profile.rate_mbit, queue_bytes=args.queue_bytes
    ) as link:
        if profile.rate_mbit:
            print(f"rate-limited queue {link.queue_bytes:,} bytes each way")
        print(check_link(link, profile), flush=True)
        with wan.p2pshare_over_link(
            pw,
            link,
            folder,
            sender_args=(marker("wan-a"),),
            receiver_args=(marker("wan-b"),),
        ) as site:
            for context in (site.sender, site.receiver):
                context.route(
                    BARE_URL,
                    lambda route: route.fulfill(body=BARE_HTML, content_type="text/html"),
                )
            probe = site.sender.new_page()
            probe.goto(site.url + "/")
            chunk = int(probe.evaluate("async () => (await import('/js/wire.js')).CHUNK_SIZE"))
            ice = probe.evaluate("async () => (await (await fetch('/config.json')).json())")
            probe.close()
            print(f"frame size {chunk} B; ICE servers {ice['iceServers']}", flush=True)
            bench = Bench(
                link=link,
                site=site,
                profile=profile,
                source=source,
                source_hash=source_hash,
                size=args.size,
                chunk=chunk,
                ice_servers=ice["iceServers"],
                timeout_s=60 + args.size / (FLOOR_MBPS * MB),
            )
            for kind in todo:
                if kind != todo[0] and not schedule.fits(profile.name, kind, round_no):
                    continue
                t0 = time.monotonic()
                if kind == "p2pshare":
                    result = bench.run_p2pshare(round_no)
                else:
                    result = bench.run_bare(round_no, int(kind.split("-")[1]))
                schedule.done(profile.name, kind, time.monotonic() - t0)
                results.append(result)
                print(result.line(), flush=True)
    return results


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}" if len(values) > 1 else "one run"


def summarize(profile: Profile, results: list[Result], ceiling: float | None) -> str:
    """Prints the profile's medians; returns its ratio line."""
    by_kind = {k: [r for r in results if r.kind == k] for k in KINDS}
    mbps = {k: median([r.mbps for r in runs]) for k, runs in by_kind.items() if runs}
    print(f"== {profile.name} ({profile.describe()}): medians over {len(results)} transfers")
    for kind, runs in by_kind.items():
        if not runs:
            continue
        line = f"{kind:8} {mbps[kind]:6.2f} MB/s (spread {spread([r.mbps for r in runs])},"
        line += f" {len(runs)} run{'s' * (len(runs) > 1)})"
        if kind == "p2pshare":
            lanes = max((r.lanes or 1) for r in runs)
            lanes_max = max((r.lanes_max or 1) for r in runs)
            line += f"  lanes {lanes} (max {lanes_max})"
            line += f"  first byte {median([r.first_byte_ms for r in runs]):.0f} ms"
            line += f"  hashes {'all ok' if all(r.hash_ok for r in runs) else 'MISMATCH'}"
        drops = median([r.rcvbuf_share for r in runs])
        line += f"  rcvbuf drops {drops:.1%}"
        cpu = {k: median([r.cpu_share.get(k, 0.0) for r in runs]) for k in runs[0].cpu_share}
        line += "  CPU " + ", ".join(f"{k} {v:.0%}" for k, v in cpu.items())
        print(line)
    if profile.rate_mbit and "p2pshare" in mbps:
        rate = profile.rate_mbit * 1e6 / 8 / MB
        if ceiling:
            allowed = min(rate, ceiling)
            print(
                f"allowed = min({rate:.1f} MB/s ({profile.rate_mbit:g} Mbit/s), loopback ceiling"
                f" {ceiling:.2f}) = {allowed:.2f} MB/s; p2pshare {mbps['p2pshare']:.2f} ="
                f" {mbps['p2pshare'] / allowed:.0%} of it (goal >= 80 %)"
            )
        else:
            print(f"(run profile 0 in the same run for the loopback ceiling; the rate: {rate:.1f})")
    if profile.name == "0" and ceiling:
        print(f"loopback ceiling (best bare median at 0 ms) = {ceiling:.2f} MB/s")
    bare = mbps.get("bare-1")
    striped = max((mbps[k] for k in ("bare-2", "bare-4") if k in mbps), default=0.0)
    ours = mbps.get("p2pshare")
    one = f"{ours / bare:.2f}" if ours and bare else "n/a"
    best = f"{ours / striped:.2f}" if ours and striped else "n/a"
    line = f"ratio p2pshare/bare-1 @{profile.label} = {one}, p2pshare/best-striped = {best}"
    print(line, flush=True)
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="profile 40, 32 MiB, 1 round")
    parser.add_argument("--profiles", help=f"comma-separated, of {', '.join(PROFILES)}")
    parser.add_argument("--size-mib", type=int, help="file size (default 64; 32 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds (default 2; 1 with --quick)")
    parser.add_argument("--kinds", help=f"comma-separated, of {', '.join(KINDS)} (default all)")
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=25.0,
        help="start no transfer after this many minutes (default 25)",
    )
    parser.add_argument(
        "--queue-bytes",
        type=int,
        help="the rate-limited profiles' queue each way (default: one BDP, at least 64 KiB)",
    )
    parser.add_argument(
        "--link-only", action="store_true", help="measure the emulator alone, then stop"
    )
    parser.add_argument(
        "--cleanup",
        action="store_true",
        help="remove namespaces, /etc/netns dirs and processes that killed runs left, then stop",
    )
    args = parser.parse_args()
    if args.cleanup:
        removed = wan.cleanup_leftovers()
        print(f"removed {', '.join(removed) or 'nothing'}")
        return
    reason = wan.link_unavailable()
    if reason:
        sys.exit(f"wan.py: {reason}")
    names = (args.profiles or ("40" if args.quick else ",".join(PROFILES))).split(",")
    unknown = [n for n in names if n not in PROFILES]
    kinds = (args.kinds or ",".join(KINDS)).split(",")
    if unknown or any(k not in KINDS for k in kinds):
        parser.error(f"unknown profile or kind in {names} / {kinds}")
    args.kinds = kinds
    args.size = (args.size_mib or (32 if args.quick else 64)) * MIB
    args.rounds = args.rounds or (1 if args.quick else 2)
    # SIGTERM unwinds like Ctrl+C, so every finally (namespaces, processes) runs.
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)  # also when started in the background (SIG_IGN)

    started = time.monotonic()
    deadline = started + args.max_minutes * 60
    print(
        f"wan: profiles {','.join(names)}; {args.size // MIB} MiB x {args.rounds} rounds;"
        f" kinds {','.join(kinds)}; {os.cpu_count()} cores; {chromium_version()};"
        f" load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    print(link_ceiling(), flush=True)
    if args.link_only:
        return
    workdir = Path(tempfile.mkdtemp(prefix="p2pshare-bench-wan-"))
    results: dict[str, list[Result]] = {name: [] for name in names}
    schedule = Schedule(deadline)
    try:
        source = workdir / "payload.bin"
        source_hash = write_random_file(source, args.size)
        with sync_playwright() as pw:
            for round_no in range(1, args.rounds + 1):
                for name in names:
                    results[name] += run_round(
                        pw, PROFILES[name], round_no, args, source, source_hash, workdir, schedule
                    )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(
        f"load average at the end {os.getloadavg()[0]:.1f};"
        f" {(time.monotonic() - started) / 60:.1f} minutes"
    )
    if schedule.skipped:
        print(
            f"skipped, as they would have ended after {args.max_minutes:g} minutes:"
            f" {', '.join(schedule.skipped)}"
        )
    ceiling = None
    if results.get("0"):
        zero = results["0"]
        ceiling = max(
            (
                median([r.mbps for r in zero if r.kind == k])
                for k in ("bare-1", "bare-2", "bare-4")
                if any(r.kind == k for r in zero)
            ),
            default=None,
        )
    lines = [summarize(PROFILES[name], results[name], ceiling) for name in names]
    print("== summary")
    for line in lines:
        print(line)
    if any(r.hash_ok is False for runs in results.values() for r in runs):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("wan.py: interrupted (namespaces and processes removed)")
