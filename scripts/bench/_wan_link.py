"""An emulated WAN link between two network namespaces, in userspace (this kernel has no
sch_netem): one TUN device in each namespace, and one forwarder process that moves packets
between them with a one-way delay, random loss and a rate limit with a bounded queue.

    with emulated_link(delay_ms=20, loss=0.005, rate_mbit=None) as link:
        ns_a, ns_b, addr_a, addr_b = link  # "p2ps-<pid><token>-a", ..., "10.77.0.1", "10.77.0.2"
        link.popen("a", ["python", "-m", "http.server", "--bind", link.addr_a])
        sock = link.call("b", socket.socket, socket.AF_INET, socket.SOCK_DGRAM)

What the link does, per direction and per packet (an IP packet as the kernel hands it over):
- **loss**: dropped with probability `loss` (each way: 0.005 drops 0.5 % of the packets going
  a -> b and, independently, 0.5 % of those going b -> a);
- **rate**: with `rate_mbit`, the packet is serialized onto a link of that rate behind the
  packets before it (a FIFO that drains at `rate_mbit`); a packet that would find more than
  `queue_bytes` already waiting is dropped (tail drop, like a router's bottleneck queue;
  default one bandwidth-delay product of the round trip, at least 64 KiB);
- **delay**: it is written into the other namespace `delay_ms` after it left the queue.

The forwarder is this file run as a program (`python _wan_link.py forward ...`): it opens both
TUN devices itself (setns into each namespace, then TUNSETIFF), so the devices vanish when it
exits, and it dies with its parent (PR_SET_PDEATHSIG, and the end of its stdin). One select()
loop over the two TUN fds and its stdin, os.read / os.write per packet; delayed packets wait
in one FIFO deque per direction (the delay is constant and packets leave the queue in order,
so the release times are sorted). It runs at real-time priority (SCHED_FIFO): a forwarder
that waits for a CPU while the browsers keep both cores busy gathers packets and releases
them as one burst of hundreds, which Chromium's 128 KiB UDP receive buffer cannot take (seen:
bursts of 167-267 packets, 2.6 % of them dropped at the receiver, with a normal priority).
While packets flow it wakes at most once per TICK_S (0.25 ms), so a packet may be held up to
that much longer than configured, never shorter: the emulator can only add delay.

Its ceiling on this 2-core machine (`python scripts/bench/wan.py --link-only`: a TCP stream
and a flood of 1,200-byte UDP datagrams, WebRTC's packet size, through a 0 ms link, no
browsers): 520-580 MB/s of TCP and 170,000-280,000 datagrams/s (200-340 MB/s; the flood's
one Python sender and the machine's load vary) over five runs, ten times and more what two
Chromium processes move here (about 27 MB/s at 0 ms). `Link.stats()` counts what it forwarded and
dropped and the largest bursts it wrote; `Link.device_drops()` the TUN devices' own drops (a
forwarder too slow to drain them); `Link.udp_drops()` the datagrams the namespaces' stacks
dropped on receipt because a socket's buffer was full (a browser that did not read in time:
the sender's own bursts do that on a link without a rate limit, as on a real path whose
bottleneck is faster than the receiver).

Each namespace gets: `lo` up, the TUN device `p2ps0` with its address (`addr_a` = 10.77.0.1,
`addr_b` = 10.77.0.2, point to point) and **a default route through it** (Chromium gathers
host ICE candidates only on an interface holding the default route), and
`/etc/netns/<ns>/resolv.conf` with `nameserver 127.0.0.1` (`ip netns exec` mounts it over
/etc/resolv.conf: with a default route and no resolver, name look-ups would hang until their
timeout; this way they fail at once). Nothing is routed out of the namespaces: traffic stays
between the two.

Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN) and /dev/net/tun; `link_unavailable()` says why
not, for a test's skip reason. Names carry the pid and a random token, so runs do not clash;
`cleanup_leftovers()` (wan.py --cleanup) removes the namespaces, /etc/netns dirs and
processes of runs that were killed before their own cleanup ran. Every step has a timeout.

For browsers: `chromium_in(link, side, dir)` writes an executable that runs Chromium inside a
namespace (Playwright's `executable_path`; `launch_in` launches it), `start_p2pshare` starts a
p2pshare server in namespace a (HTTPS, self-signed: a secure context, so OPFS and WebCrypto
are what runs; Chromium gets --ignore-certificate-errors), `browsers_over_link(pw, link,
workdir)` gives that server and a Chromium on each side (for tests/browser/harness.Person),
and `p2pshare_over_link` the same as wan.py uses it: the sender's context and the receiver's
persistent on-disk profile, both checked to be secure contexts with OPFS and WebCrypto.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import ctypes
import fcntl
import json
import os
import random
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

PREFIX = "p2ps-"
"""Every namespace this module makes is named `p2ps-<pid><token>-a|b`."""
DEVICE = "p2ps0"
ADDR_A = "10.77.0.1"
ADDR_B = "10.77.0.2"
NETNS_RUN = Path("/run/netns")
NETNS_ETC = Path("/etc/netns")
TUN = Path("/dev/net/tun")
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
PR_SET_TIMERSLACK = 29
REALTIME_PRIORITY = 10
TXQUEUELEN = 10_000
"""Packets the kernel keeps for the forwarder in each TUN device (default 500): bursts of a
fast sender must not be dropped there, where no emulated queue would have dropped them."""
MIN_QUEUE_BYTES = 64 << 10
STEP_TIMEOUT_S = 15.0
READ_BATCH = 256
"""Packets read from one TUN fd before looking at the other and at due packets."""
TICK_S = 0.00025
"""While packets flow the forwarder wakes at most once per tick: packets are held up to a
tick longer than configured, and leave in clumps of at most a tick's worth."""

Side = Literal["a", "b"]
T = TypeVar("T")


class LinkError(RuntimeError):
    """The link could not be set up (no root, no TUN, a step failed or timed out)."""


# --- namespaces ------------------------------------------------------------------------------


def link_unavailable() -> str | None:
    """Why no link can be made here (a skip reason), or None."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and TUN devices)"
    if not TUN.exists():
        return f"no {TUN}"
    if shutil.which("ip") is None:
        return "no `ip` (iproute2)"
    return None


def run(argv: list[str], timeout_s: float = STEP_TIMEOUT_S) -> str:
    """Runs a setup command; its stdout. Raises LinkError if it fails or times out."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as e:
        raise LinkError(f"{' '.join(argv)}: no answer in {timeout_s} s") from e
    if done.returncode != 0:
        raise LinkError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(ns: str) -> None:
    """Moves the calling thread into network namespace `ns` (only this thread: sockets and TUN
    devices it opens from now on belong to `ns`)."""
    fd = os.open(NETNS_RUN / ns, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise LinkError(f"setns({ns}): {os.strerror(err)}")
    finally:
        os.close(fd)


def call_in_netns(
    ns: str, fn: Callable[..., T], *args: Any, timeout_s: float = STEP_TIMEOUT_S
) -> T:
    """`fn(*args)` run in a new thread inside namespace `ns`; its result (a socket made there
    stays in `ns` and can be used from any thread). Raises what fn raised, or TimeoutError."""
    out: list[T] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            enter_netns(ns)
            out.append(fn(*args))
        except BaseException as e:
            error.append(e)

    thread = threading.Thread(target=body, name=f"netns-{ns}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise TimeoutError(f"{getattr(fn, '__name__', fn)} in {ns}: not done in {timeout_s} s")
    if error:
        raise error[0]
    return out[0]


def remove_namespace(ns: str) -> None:
    """Ends every process in `ns` (SIGTERM, then SIGKILL) and removes it and /etc/netns/<ns>."""
    if (NETNS_RUN / ns).exists():
        with contextlib.suppress(LinkError):
            pids = [int(p) for p in run(["ip", "netns", "pids", ns], 5).split()]
            for sig in (signal.SIGTERM, signal.SIGKILL):
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, sig)
                deadline = time.monotonic() + 3
                while pids and time.monotonic() < deadline:
                    pids = [p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)]
                    time.sleep(0.05)
        with contextlib.suppress(LinkError):
            run(["ip", "netns", "delete", ns], 10)
    shutil.rmtree(NETNS_ETC / ns, ignore_errors=True)
    with contextlib.suppress(OSError):
        NETNS_ETC.rmdir()  # only if empty: no other namespace has its files there


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] == "Z"
    return False


def leftover_namespaces() -> list[str]:
    """Namespaces made by this module (`p2ps-...`) that exist now."""
    names = {p.name for p in NETNS_RUN.iterdir()} if NETNS_RUN.is_dir() else set()
    if NETNS_ETC.is_dir():
        names |= {p.name for p in NETNS_ETC.iterdir()}
    return sorted(n for n in names if n.startswith(PREFIX))


def cleanup_leftovers(alive_ok: bool = False) -> list[str]:
    """Removes what killed runs left: namespaces `p2ps-<pid>...` (with their processes) and
    their /etc/netns dirs, except those of a run whose process is still alive (unless
    `alive_ok`, which removes them all). Returns the names removed."""
    removed = []
    for ns in leftover_namespaces():
        owner = ns[len(PREFIX) :].split("-", 1)[0][:-6]
        if not alive_ok and owner.isdigit() and Path(f"/proc/{owner}").exists():
            continue
        remove_namespace(ns)
        removed.append(ns)
    return removed


# --- the forwarder (this file as a program) -----------------------------------------------


def open_tun(name: str) -> int:
    """A TUN device `name` (IP packets, no packet info) in the calling thread's namespace."""
    fd = os.open(TUN, os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


@dataclass
class Direction:
    """One direction of the link: loss, then the bottleneck queue, then the delay."""

    src: int
    dst: int
    delay_s: float
    loss: float
    rate_bps: float | None  # bytes per second
    queue_bytes: int
    rng: random.Random
    pending: collections.deque[tuple[float, bytes]] = field(default_factory=collections.deque)
    busy_until: float = 0.0  # when the bottleneck has sent everything queued so far
    packets: int = 0
    nbytes: int = 0
    lost: int = 0
    overflow: int = 0
    write_errors: int = 0
    max_queue_bytes: float = 0.0
    max_pending: int = 0
    max_burst_in: int = 0  # most packets read in one go (what the sending stack queued at once)
    max_burst_out: int = 0  # most delayed packets written in one go

    def arrive(self, packet: bytes, now: float) -> None:
        if self.loss and self.rng.random() < self.loss:
            self.lost += 1
            return
        release = now + self.delay_s
        if self.rate_bps:
            start = self.busy_until if self.busy_until > now else now
            backlog = (start - now) * self.rate_bps  # bytes ahead of this packet
            if backlog + len(packet) > self.queue_bytes + 0.5:  # (rounding of the clock sums)
                self.overflow += 1
                return
            if backlog > self.max_queue_bytes:
                self.max_queue_bytes = backlog
            self.busy_until = start + len(packet) / self.rate_bps
            release = self.busy_until + self.delay_s
        self.packets += 1
        self.nbytes += len(packet)
        if release <= now and not self.pending:
            self.write(packet)
        else:
            self.pending.append((release, packet))
            if len(self.pending) > self.max_pending:
                self.max_pending = len(self.pending)

    def release_due(self, now: float) -> None:
        pending = self.pending
        n = 0
        while pending and pending[0][0] <= now:
            self.write(pending.popleft()[1])
            n += 1
        if n > self.max_burst_out:
            self.max_burst_out = n

    def write(self, packet: bytes) -> None:
        try:
            os.write(self.dst, packet)
        except OSError:  # the other side's stack refused it (e.g. device down): a lost packet
            self.write_errors += 1

    def reset_maxima(self) -> None:
        self.max_queue_bytes = 0.0
        self.max_pending = self.max_burst_in = self.max_burst_out = 0

    def counters(self) -> dict[str, float]:
        return {
            "packets": self.packets,
            "bytes": self.nbytes,
            "lost": self.lost,
            "overflow": self.overflow,
            "write_errors": self.write_errors,
            "max_queue_bytes": self.max_queue_bytes,
            "max_pending": self.max_pending,
            "max_burst_in": self.max_burst_in,
            "max_burst_out": self.max_burst_out,
        }


def forward(
    ns_a: str,
    ns_b: str,
    delay_ms: float,
    loss: float,
    rate_mbit: float | None,
    queue_bytes: int,
    seed: int,
) -> None:
    """The forwarder's main loop: until its stdin ends or SIGTERM. On stdin, each line `s`
    gets one JSON line of counters on stdout (per direction `ab`, `ba`, and CPU seconds)."""
    parent = os.getppid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    enter_netns(ns_a)
    fd_a = open_tun(DEVICE)
    enter_netns(ns_b)
    fd_b = open_tun(DEVICE)
    rng = random.Random(seed)
    rate_bps = rate_mbit * 1e6 / 8 if rate_mbit else None
    ab = Direction(fd_a, fd_b, delay_ms / 1000, loss, rate_bps, queue_bytes, rng)
    ba = Direction(fd_b, fd_a, delay_ms / 1000, loss, rate_bps, queue_bytes, rng)
    # select(2) takes microseconds (epoll and poll take milliseconds); timer slack 1 µs, not 50.
    _libc.prctl(PR_SET_TIMERSLACK, 1000)
    # Real-time priority: on a machine whose cores the browsers keep busy, a forwarder that
    # waits for a CPU holds packets back and then releases them in one burst (hundreds of
    # packets, which overflow Chromium's UDP receive buffer). It sleeps between ticks; the
    # kernel's RT throttling (sched_rt_runtime_us) bounds it in any case.
    with contextlib.suppress(OSError):
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
    stdin = sys.stdin.fileno()
    fds = [fd_a, fd_b, stdin]
    by_fd = {fd_a: ab, fd_b: ba}
    print("ready", flush=True)
    read = os.read
    clock = time.monotonic
    wait = select.select
    while True:
        timeout = None  # idle: sleep until a packet comes
        if ab.pending or ba.pending:
            first = min(d.pending[0][0] for d in (ab, ba) if d.pending)
            timeout = max(0.0, first - clock())
        ready = wait(fds, [], [], timeout)[0]
        woke = clock()
        for fd in ready:
            if fd == stdin:
                line = sys.stdin.readline()
                if not line:
                    return
                cpu = os.times()
                report = {"ab": ab.counters(), "ba": ba.counters(), "cpu_s": cpu.user + cpu.system}
                print(json.dumps(report), flush=True)
                ab.reset_maxima()
                ba.reset_maxima()
                continue
            direction = by_fd[fd]
            arrive = direction.arrive
            n = 0
            while n < READ_BATCH:
                try:
                    arrive(read(fd, 65536), woke)
                except BlockingIOError:
                    break
                n += 1
            if n > direction.max_burst_in:
                direction.max_burst_in = n
        if ab.pending or ba.pending:
            now = clock()
            ab.release_due(now)
            ba.release_due(now)
        # At most one wake per tick while packets flow: a wake per packet would cost a core.
        spare = TICK_S - (clock() - woke)
        if spare > 0:
            time.sleep(spare)


# --- the link --------------------------------------------------------------------------------


@dataclass
class Link:
    """Two namespaces joined by the forwarder. Unpacks as (ns_a, ns_b, addr_a, addr_b)."""

    ns_a: str
    ns_b: str
    addr_a: str
    addr_b: str
    delay_ms: float
    loss: float
    rate_mbit: float | None
    queue_bytes: int
    forwarder: subprocess.Popen[str]
    processes: list[subprocess.Popen[Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __iter__(self) -> Iterator[str]:
        return iter((self.ns_a, self.ns_b, self.addr_a, self.addr_b))

    @property
    def rtt_ms(self) -> float:
        """The round trip the link adds (not counting queueing or serialization)."""
        return 2 * self.delay_ms

    def ns(self, side: Side) -> str:
        return self.ns_a if side == "a" else self.ns_b

    def addr(self, side: Side) -> str:
        return self.addr_a if side == "a" else self.addr_b

    def argv(self, side: Side, argv: list[str]) -> list[str]:
        """`argv` run inside the namespace of `side` (with its resolv.conf)."""
        return ["ip", "netns", "exec", self.ns(side), *argv]

    def popen(self, side: Side, argv: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """A process inside `side`'s namespace, ended with the link (or by the caller). Call it
        from the main thread: the process gets SIGTERM when the thread that started it ends
        (setpriv --pdeathsig), so a killed run leaves no server behind."""
        command = ["setpriv", "--pdeathsig", "TERM", *argv] if shutil.which("setpriv") else argv
        proc = subprocess.Popen(self.argv(side, command), **kwargs)
        self.processes.append(proc)
        return proc

    def call(self, side: Side, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` in a thread inside `side`'s namespace (see call_in_netns)."""
        return call_in_netns(self.ns(side), fn, *args)

    def stats(self) -> dict[str, Any]:
        """The forwarder's counters so far: per direction (`ab`: a -> b, `ba`) packets, bytes,
        lost (random loss), overflow (tail drops of the rate-limited queue), write_errors;
        the maxima since the previous call: max_queue_bytes, max_pending (packets in the
        delay line), max_burst_in (packets read in one go), max_burst_out (delayed packets
        written in one go); and `cpu_s`, the forwarder's CPU seconds."""
        with self._lock:
            stdin, stdout = self.forwarder.stdin, self.forwarder.stdout
            assert stdin and stdout
            stdin.write("s\n")
            stdin.flush()
            line = stdout.readline()
        if not line:
            raise LinkError("the forwarder is gone")
        report: dict[str, Any] = json.loads(line)
        return report

    def device_drops(self) -> dict[str, int]:
        """Packets the TUN devices dropped (tx_dropped: the forwarder did not drain them in
        time; an emulator too slow for the traffic) per side, since the link came up."""
        out = {}
        for side in ("a", "b"):
            info = json.loads(run(["ip", "-n", self.ns(side), "-s", "-j", "link", "show", DEVICE]))
            out[side] = int(info[0]["stats64"]["tx"]["dropped"])
        return out

    def udp_drops(self) -> dict[str, int]:
        """UDP datagrams the namespaces' own stacks dropped on receipt (a full socket buffer:
        the link delivered a burst a browser did not read in time), per side, so far."""
        out = {}
        for side in ("a", "b"):
            udp = self.call(side, _udp_counters)
            out[side] = udp.get("RcvbufErrors", 0)
        return out


def _udp_counters() -> dict[str, int]:
    """The calling thread's namespace's UDP counters (/proc/net/snmp is per namespace)."""
    lines = [line.split() for line in Path("/proc/thread-self/net/snmp").read_text().splitlines()]
    names, values = (line[1:] for line in lines if line[0] == "Udp:")
    return dict(zip(names, map(int, values), strict=True))


def default_queue_bytes(delay_ms: float, rate_mbit: float | None) -> int:
    """One bandwidth-delay product of the round trip, at least MIN_QUEUE_BYTES."""
    if not rate_mbit:
        return 0
    return max(MIN_QUEUE_BYTES, int(rate_mbit * 1e6 / 8 * 2 * delay_ms / 1000))


_live: set[str] = set()


def _remove_live() -> None:
    for ns in sorted(_live):
        remove_namespace(ns)
    _live.clear()


atexit.register(_remove_live)


@contextlib.contextmanager
def emulated_link(
    delay_ms: float = 20.0,
    loss: float = 0.0,
    rate_mbit: float | None = None,
    queue_bytes: int | None = None,
    seed: int | None = None,
) -> Iterator[Link]:
    """Two new namespaces joined by an emulated link (see the module docstring): `delay_ms`
    one way (the round trip is twice that), `loss` per direction, `rate_mbit` per direction
    with a `queue_bytes` tail-drop queue. Removed again on exit (processes started with
    `Link.popen` included), also on errors and Ctrl+C; atexit as a last resort. Raises
    LinkError if the link cannot be made (`link_unavailable()` says why beforehand)."""
    reason = link_unavailable()
    if reason:
        raise LinkError(reason)
    token = f"{os.getpid()}{secrets.token_hex(3)}"
    ns_a, ns_b = f"{PREFIX}{token}-a", f"{PREFIX}{token}-b"
    queue = queue_bytes if queue_bytes is not None else default_queue_bytes(delay_ms, rate_mbit)
    link: Link | None = None
    try:
        for ns in (ns_a, ns_b):
            _live.add(ns)
            (NETNS_ETC / ns).mkdir(parents=True, exist_ok=True)
            (NETNS_ETC / ns / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1\n")
            run(["ip", "netns", "add", ns])
        forwarder = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "forward",
                json.dumps([ns_a, ns_b, delay_ms, loss, rate_mbit, queue, seed]),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        link = Link(ns_a, ns_b, ADDR_A, ADDR_B, delay_ms, loss, rate_mbit, queue, forwarder)
        _wait_ready(forwarder)
        for ns, mine, peer in ((ns_a, ADDR_A, ADDR_B), (ns_b, ADDR_B, ADDR_A)):
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            run(["ip", "-n", ns, "link", "set", DEVICE, "txqueuelen", str(TXQUEUELEN), "up"])
            run(["ip", "-n", ns, "addr", "add", mine, "peer", peer, "dev", DEVICE])
            run(["ip", "-n", ns, "route", "add", "default", "dev", DEVICE])
        yield link
    finally:
        if link:
            for proc in reversed(link.processes):
                _end(proc)
            _end(link.forwarder)
        for ns in (ns_a, ns_b):
            remove_namespace(ns)
            _live.discard(ns)


def _wait_ready(forwarder: subprocess.Popen[str]) -> None:
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(forwarder.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(STEP_TIMEOUT_S)
    if not got or got[0].strip() != "ready":
        raise LinkError(f"the forwarder did not start (exit status {forwarder.poll()})")


def _end(proc: subprocess.Popen[Any], timeout_s: float = 5.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            with contextlib.suppress(OSError):
                stream.close()


# --- measuring the link itself ---------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """UDP probes a -> b, echoed b -> a."""

    sent: int
    arrived: int  # at b
    returned: int  # back at a
    rtts_ms: list[float]

    @property
    def loss_ab(self) -> float:
        return 1 - self.arrived / self.sent if self.sent else 0.0

    @property
    def loss_ba(self) -> float:
        return 1 - self.returned / self.arrived if self.arrived else 0.0


def udp_probe(
    link: Link, count: int = 200, interval_s: float = 0.002, size: int = 200, wait_s: float = 1.0
) -> Probe:
    """`count` numbered UDP datagrams from a to an echo in b, `interval_s` apart; what arrived
    where and the round trips of those that came back. Bounded: count * interval_s plus the
    last round trip plus `wait_s`."""
    echo = link.call("b", socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    client = link.call("a", socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    with echo, client:
        echo.bind((link.addr_b, 0))
        client.bind((link.addr_a, 0))
        echo.settimeout(0.05)
        client.settimeout(0.05)
        arrived = [0]
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    data, peer = echo.recvfrom(65536)
                except TimeoutError:
                    continue
                arrived[0] += 1
                echo.sendto(data, peer)

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        sent_at: dict[int, float] = {}
        rtts: list[float] = []
        padding = bytes(max(0, size - 8))
        target = (link.addr_b, echo.getsockname()[1])

        def collect(until: float) -> None:
            while (left := until - time.monotonic()) > 0:
                client.settimeout(max(left, 0.0001))
                try:
                    data = client.recv(65536)
                except TimeoutError:
                    continue
                seq = struct.unpack("!Q", data[:8])[0]
                if seq in sent_at:
                    rtts.append((time.monotonic() - sent_at.pop(seq)) * 1000)

        for seq in range(count):
            sent_at[seq] = time.monotonic()
            client.sendto(struct.pack("!Q", seq) + padding, target)
            collect(time.monotonic() + interval_s)
        collect(time.monotonic() + link.rtt_ms / 1000 + wait_s)
        stop.set()
        server.join(2)
        return Probe(count, arrived[0], len(rtts), rtts)


def tcp_throughput(link: Link, seconds: float = 3.0) -> float:
    """MB/s (1e6) of one TCP stream a -> b through the link, over `seconds` (after a second
    of warm-up, so that slow start is mostly over)."""
    listener = link.call("b", socket.socket, socket.AF_INET, socket.SOCK_STREAM)
    client = link.call("a", socket.socket, socket.AF_INET, socket.SOCK_STREAM)
    with listener, client:
        listener.bind((link.addr_b, 0))
        listener.listen(1)
        listener.settimeout(STEP_TIMEOUT_S)
        client.settimeout(STEP_TIMEOUT_S)
        got: list[tuple[float, int]] = []

        def sink() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.settimeout(STEP_TIMEOUT_S)
                buffer = bytearray(1 << 20)
                total = 0
                while n := conn.recv_into(buffer):
                    total += n
                    got.append((time.monotonic(), total))

        reader = threading.Thread(target=sink, daemon=True)
        reader.start()
        client.connect((link.addr_b, listener.getsockname()[1]))
        block = os.urandom(1 << 20)
        end = time.monotonic() + 1.0 + seconds
        while time.monotonic() < end:
            client.sendall(block)
        client.shutdown(socket.SHUT_WR)
        reader.join(STEP_TIMEOUT_S + link.rtt_ms / 1000)
    start = next(((t, n) for t, n in got if t >= got[0][0] + 1.0), got[0])
    return (got[-1][1] - start[1]) / max(1e-9, got[-1][0] - start[0]) / 1e6


def udp_flood(link: Link, seconds: float = 2.0, size: int = 1200) -> tuple[float, float]:
    """(packets/s that arrived at b, fraction lost) for UDP datagrams of `size` bytes sent
    a -> b as fast as one Python thread can, for `seconds`: the forwarder's packet ceiling
    (what it could not take is dropped in the TUN device)."""
    sink = link.call("b", socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    source = link.call("a", socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    with sink, source:
        sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sink.bind((link.addr_b, 0))
        sink.settimeout(0.5)
        times: list[float] = []

        def count() -> None:
            while True:
                try:
                    sink.recv(65536)
                except TimeoutError:
                    return
                times.append(time.monotonic())

        reader = threading.Thread(target=count, daemon=True)
        reader.start()
        payload = bytes(size)
        target = (link.addr_b, sink.getsockname()[1])
        sent = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            for _ in range(64):
                with contextlib.suppress(BlockingIOError, OSError):
                    source.sendto(payload, target)
                    sent += 1
        reader.join(link.rtt_ms / 1000 + 5)
    if len(times) < 2:
        return 0.0, 1.0
    return (len(times) - 1) / (times[-1] - times[0]), 1 - len(times) / sent


# --- browsers and a p2pshare server over the link -----------------------------------------

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
from tests.browser.harness import CHROMIUM  # noqa: E402
from tests.browser.harness import CHROMIUM_ARGS as LOCAL_CHROMIUM_ARGS  # noqa: E402

CHROMIUM_ARGS = [
    *LOCAL_CHROMIUM_ARGS,
    # Real host addresses in ICE candidates (the namespaces have no mDNS responder).
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # The server's certificate is self-signed; the page stays a secure context.
    "--ignore-certificate-errors",
]
"""tests/browser/harness.py's CHROMIUM_ARGS plus what the namespaces need."""
SERVER_PORT = 8443
STUN_PORT = 3478


def chromium_in(link: Link, side: Side, folder: Path) -> Path:
    """An executable that runs Chromium inside `side`'s namespace: Playwright's
    `executable_path` (Playwright talks to it over inherited pipes, not the network)."""
    path = folder / f"chromium-{side}"
    path.write_text(f'#!/bin/sh\nexec ip netns exec {link.ns(side)} {CHROMIUM} "$@"\n')
    path.chmod(0o755)
    return path


@dataclass
class Site:
    """A p2pshare server in namespace a and one browser on each side of the link."""

    url: str  # https://10.77.0.1:8443 (namespace a's address: the receiver crosses the link)
    server: subprocess.Popen[bytes]
    sender: BrowserContext  # Chromium in namespace a, a fresh context
    receiver: BrowserContext  # Chromium in namespace b, persistent on-disk profile
    downloads: Path


def start_p2pshare(
    link: Link, workdir: Path, *extra: str, web_root: Path | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    """`python -m p2pshare serve --self-signed` on addr_a:8443 in namespace a (HTTPS: the
    receiver's page is a secure context); returns its URL once /healthz answers."""
    url = f"https://{link.addr_a}:{SERVER_PORT}"
    log = (workdir / "server.log").open("wb")
    server = link.popen(
        "a",
        [
            *("env", f"PYTHONPATH={REPO}", sys.executable, "-m", "p2pshare", "serve"),
            *("--host", link.addr_a, "--port", str(SERVER_PORT), "--stun-port", str(STUN_PORT)),
            *("--self-signed", "--state-dir", str(workdir / "server-state")),
            *("--web-root", str(web_root or REPO / "web"), "--qr", "no"),
            *("--log-level", "warning", *extra),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            text = (workdir / "server.log").read_text(errors="replace")
            raise LinkError(f"the server exited: {text[-2000:]}")
        with contextlib.suppress(OSError):
            if link.call("a", _https_status, url + "/healthz") == 200:
                return url, server
        time.sleep(0.2)
    raise LinkError(f"the server at {url} did not answer in 30 s")


def _https_status(url: str) -> int:
    import ssl
    import urllib.request

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=2, context=context) as response:
        return int(response.status)


def launch_in(pw: Playwright, link: Link, side: Side, folder: Path, *extra: str) -> Browser:
    """A headless Chromium inside `side`'s namespace."""
    return pw.chromium.launch(
        executable_path=str(chromium_in(link, side, folder)),
        headless=True,
        args=[*CHROMIUM_ARGS, *extra],
        timeout=60_000,
    )


@contextlib.contextmanager
def p2pshare_over_link(
    pw: Playwright,
    link: Link,
    workdir: Path,
    *,
    server_args: tuple[str, ...] = (),
    sender_args: tuple[str, ...] = (),
    receiver_args: tuple[str, ...] = (),
    web_root: Path | None = None,
) -> Iterator[Site]:
    """A p2pshare server and the sender's Chromium in namespace a, the receiver's Chromium
    (persistent profile under `workdir`, downloads in `workdir/downloads`) in namespace b.
    Checks that both pages are secure contexts with OPFS and WebCrypto; LinkError if not."""
    url, server = start_p2pshare(link, workdir, *server_args, web_root=web_root)
    sender_browser = launch_in(pw, link, "a", workdir, *sender_args)
    receiver: BrowserContext | None = None
    try:
        sender = sender_browser.new_context(ignore_https_errors=True, accept_downloads=True)
        receiver = pw.chromium.launch_persistent_context(
            str(workdir / "receiver-profile"),
            executable_path=str(chromium_in(link, "b", workdir)),
            headless=True,
            accept_downloads=True,
            downloads_path=str(workdir / "downloads"),
            ignore_https_errors=True,
            args=[*CHROMIUM_ARGS, *receiver_args],
            timeout=60_000,
        )
        for context in (sender, receiver):
            check_secure_context(context, url)
        yield Site(url, server, sender, receiver, workdir / "downloads")
    finally:
        if receiver:
            with contextlib.suppress(Exception):
                receiver.close()
        with contextlib.suppress(Exception):
            sender_browser.close()
        _end(server)


@dataclass
class Browsers:
    """A p2pshare server in namespace a and one Chromium on each side (plain Browsers: make
    contexts, or tests/browser/harness.py's Person, from them)."""

    url: str
    server: subprocess.Popen[bytes]
    sender: Browser  # namespace a, with the server
    receiver: Browser  # namespace b, across the link


@contextlib.contextmanager
def browsers_over_link(
    pw: Playwright,
    link: Link,
    workdir: Path,
    *server_args: str,
    web_root: Path | None = None,
) -> Iterator[Browsers]:
    """`start_p2pshare` plus `launch_in` for each side; all of it ended on exit. For browser
    tests:

        with emulated_link(delay_ms=20) as link, browsers_over_link(pw, link, tmp_path) as b:
            sender, receiver = Person(b.sender, b.url, "s"), Person(b.receiver, b.url, "r")
    """
    url, server = start_p2pshare(link, workdir, *server_args, web_root=web_root)
    started: list[Browser] = []
    try:
        started.append(launch_in(pw, link, "a", workdir))
        started.append(launch_in(pw, link, "b", workdir))
        yield Browsers(url, server, started[0], started[1])
    finally:
        for browser in started:
            with contextlib.suppress(Exception):
                browser.close()
        _end(server)


SECURE_PROBE = """async () => ({
  secure: isSecureContext,
  subtle: Boolean(globalThis.crypto && crypto.subtle),
  opfs: Boolean(navigator.storage && navigator.storage.getDirectory
    && await navigator.storage.getDirectory()),
})"""


def check_secure_context(context: BrowserContext, url: str) -> None:
    page = context.new_page()
    try:
        page.goto(url + "/", timeout=30_000)
        found = page.evaluate(SECURE_PROBE)
    finally:
        page.close()
    if not all(found.values()):
        raise LinkError(f"{url} is not a secure context with OPFS and WebCrypto: {found}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "forward":
        ns_a, ns_b, delay, loss, rate, queue, seed = json.loads(sys.argv[2])
        with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
            forward(ns_a, ns_b, delay, loss, rate, queue, seed)
    else:
        sys.exit("usage: _wan_link.py forward JSON (started by emulated_link)")
