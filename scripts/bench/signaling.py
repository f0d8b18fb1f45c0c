"""Signaling with many WebSocket peers: p2pshare against a bare relay, same run, loopback.

Both servers run at once, each as its own process, each with `--clients` client processes
(trio-websocket, one trio loop each) that open `--connections` WebSockets in rooms of 2 to 10
peers (sizes from a fixed seed), join, and answer the server's pings. Then:

1. memory: each server's VmRSS before its peers connect and once they have all joined (and
   settled); per connection = delta / connections. Measured again after all the traffic.
2. latency: `--rate` relay messages/s in total (2,000) for `--duration` s (10), spread over all
   rooms (sender -> receiver and back, in turn) while every other connection idles. Each payload
   carries `time.perf_counter_ns()` at send; the receiving client (the same process: a room never
   spans two) records the difference. `--repeats` (2) phases per target, interleaved with the
   other target's; the one with the lower p99 counts (other processes only ever add latency).
3. ramp: the offered rate grows by `--ramp-factor` (1.5) a step from `--ramp-start` until a
   step is not sustained (tried twice): under 99 % of its messages delivered by the end of the
   step plus `--drain` s, or p99 over `--max-p99-ms` (100). Steps alternate between the targets.

Interleaving matters on a small shared machine: whatever else runs there hits both targets
alike. Each step prints the CPU share of the server, of the clients, and of every other process
("others"); `--wait-quiet S` waits up to S s before each step for the others to calm down.

The baseline is a bare relay on the same HTTP/WebSocket stack (hypercorn, trio worker, its
per-connection ping off, the same accept backlog): join -> welcome, relay -> forwarded at once
to the peer named in `to`, nothing validated, no queues, no heartbeat, no limits. The ratios
therefore price what p2pshare adds on top of hypercorn (validation, rooms, per-peer queues and
tasks, the shared heartbeat, rate limits, metrics); clients, message mix and rates are identical.
`--baseline trio-websocket` uses a bare trio-websocket relay server instead.
`--baseline-tree DIR` makes the baseline p2pshare itself as in DIR (a git worktree of an older
commit): an A/B of a change, its phases interleaved in one run.

The last line is the ratio (p2pshare / baseline):

    ratio p2pshare/<baseline>: rss/conn X.XX, p99@<rate> X.XX, max rate X.XX, server CPU/msg X.XX

(server CPU per message, at the fixed rate, includes p2pshare's heartbeat: it is the figure
that other processes on the machine disturb least.)

`--quick`: 1,000 connections, 2 s phases, 1 repeat (well under 2 minutes). Default: 10,000.
`--py-spy FILE` records the p2pshare server with py-spy during the traffic (an SVG flame
graph, or raw collapsed stacks if FILE ends in .txt).
`--tracemalloc N` runs only p2pshare, under tracemalloc, and prints where its memory per
connection goes (top N lines); that mode prints no ratio (tracemalloc distorts the numbers).

    python scripts/bench/signaling.py [--quick] [--connections 10000] [--clients 3]
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
ROOM_SIZES = (2, 10)  # peers per room, inclusive
PONG = '{"type":"pong"}'

# A bare relay on hypercorn (trio worker), the same stack as p2pshare's HTTP layer.
HYPERCORN_RELAY = r"""
import socket, sys
import hypercorn.config, hypercorn.trio, msgspec, trio

rooms = {}
decode, encode = msgspec.json.decode, msgspec.json.Encoder().encode

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            await send({"type": event["type"] + ".complete"})
            if event["type"] == "lifespan.shutdown":
                return
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    room = rooms.setdefault(scope["path"], {})
    me = None
    try:
        while True:
            event = await receive()
            if event["type"] != "websocket.receive":
                return
            message = decode(event["text"])
            kind = message["type"]
            if kind == "join":
                me = message["cid"]
                room[me] = send
                await send({"type": "websocket.send", "text": encode(
                    {"type": "welcome", "peer": me}).decode()})
            elif kind == "relay":
                target = room.get(message["to"])
                if target is not None:
                    text = encode({"type": "relay", "from": me, "sid": message["sid"],
                                   "data": message["data"]}).decode()
                    try:
                        await target({"type": "websocket.send", "text": text})
                    except Exception:
                        pass
    finally:
        if me is not None and room.get(me) is send:
            del room[me]

sock = socket.socket()
sock.bind((sys.argv[1], 0))
sock.listen(1024)
config = hypercorn.config.Config()
config.bind = [f"fd://{sock.fileno()}"]
config.backlog = 1024
config.websocket_ping_interval = None
config.accesslog = None
config.loglevel = "WARNING"
print("listening", *sock.getsockname(), flush=True)
trio.run(hypercorn.trio.serve, app, config)
"""

# A bare relay on trio-websocket.
TRIO_WEBSOCKET_RELAY = r"""
import sys
import msgspec, trio, trio_websocket

rooms = {}
decode, encode = msgspec.json.decode, msgspec.json.Encoder().encode

async def handler(request):
    ws = await request.accept()
    room = rooms.setdefault(request.path, {})
    me = None
    try:
        while True:
            message = decode(await ws.get_message())
            kind = message["type"]
            if kind == "join":
                me = message["cid"]
                room[me] = ws
                await ws.send_message(encode({"type": "welcome", "peer": me}).decode())
            elif kind == "relay":
                target = room.get(message["to"])
                if target is not None:
                    text = encode({"type": "relay", "from": me, "sid": message["sid"],
                                   "data": message["data"]}).decode()
                    try:
                        await target.send_message(text)
                    except trio_websocket.ConnectionClosed:
                        pass
    except trio_websocket.ConnectionClosed:
        pass
    finally:
        if me is not None and room.get(me) is ws:
            del room[me]

async def main():
    async with trio.open_nursery() as nursery:
        server = await nursery.start(trio_websocket.serve_websocket, handler, sys.argv[1], 0, None)
        print("listening", sys.argv[1], server.port, flush=True)

trio.run(main)
"""

# p2pshare under tracemalloc: SIGUSR1 writes a snapshot to argv[2] (then renames it, atomically).
TRACED_P2PSHARE = r"""
import os, signal, sys, tracemalloc
tracemalloc.start(int(sys.argv[1]))
path = sys.argv[2]

def dump(signum, frame):
    tracemalloc.take_snapshot().dump(path + ".part")
    os.replace(path + ".part", path)

signal.signal(signal.SIGUSR1, dump)
from p2pshare.cli import main
sys.exit(main(sys.argv[3:]))
"""


# --- client process (one trio loop) ----------------------------------------------------


def client_main() -> None:
    """A client process: reads its rooms, then commands, as JSON lines on stdin."""
    import trio

    config = json.loads(sys.stdin.readline())
    trio.run(_client, config)


class _Conn:
    __slots__ = ("abandoned", "closed", "peer", "ws")

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.peer = ""
        self.closed = False
        self.abandoned = False  # closed by us: its room could not be completed


@dataclass
class _Phase:
    number: int = 0
    sent: int = 0
    received: int = 0
    late: int = 0  # delivered after its phase ended
    latencies_us: list[int] = field(default_factory=list)
    drained: Any = None  # after sending: a trio.Event, set once all that was sent arrived


async def _client(config: dict[str, Any]) -> None:
    import msgspec
    import trio
    import trio_websocket

    from p2pshare.signaling.admission import access_key, join_proof
    from p2pshare.signaling.room import creator_room_id

    url = f"ws://{HOST}:{config['port']}/ws/"
    padding = "x" * config["payload_bytes"]
    phase = _Phase()
    counters = {
        "closed": 0,
        "send_errors": 0,
        "pings": 0,
        "connect_errors": 0,
        "connect_retries": 0,
    }
    close_codes: dict[str, int] = {}
    rooms: list[list[_Conn]] = []
    decode = msgspec.json.decode

    def reply(message: dict[str, Any]) -> None:
        print(json.dumps(message), flush=True)

    async def read(conn: _Conn) -> None:
        ws = conn.ws
        while True:
            try:
                text = await ws.get_message()
            except trio_websocket.ConnectionClosed as closed:
                conn.closed = True
                if conn.abandoned:
                    return
                counters["closed"] += 1
                code = str(closed.reason.code if closed.reason else None)
                close_codes[code] = close_codes.get(code, 0) + 1
                return
            now = time.perf_counter_ns()
            if text.startswith('{"type":"relay"'):
                number, _, rest = decode(text)["data"].partition(".")
                if int(number) != phase.number:
                    phase.late += 1
                    continue
                phase.received += 1
                phase.latencies_us.append((now - int(rest.partition(".")[0])) // 1000)
                if phase.drained is not None and phase.received >= phase.sent:
                    phase.drained.set()
            elif text == '{"type":"ping"}':
                counters["pings"] += 1
                with suppress(trio_websocket.ConnectionClosed):
                    await ws.send_message(PONG)

    async def join(nursery: trio.Nursery, room_id: str, token: str | None) -> _Conn:
        """Connect and join; a try that takes over 10 s is abandoned (and counted) and retried."""
        message: dict[str, Any] = {"type": "join", "cid": secrets.token_urlsafe(16)}
        # Every peer of a room holds its link: the sender registers the access key, the others
        # prove it (p2pshare checks the proof; the bare relay ignores both fields).
        access = access_key(room_id.encode().ljust(32, b"\0")[:32], room_id)
        if token is not None:
            message["token"] = token
            message["access"] = access
        else:
            message["proof"] = join_proof(access, room_id, message["cid"])
        for attempt in range(3):
            ws = None
            try:
                with trio.fail_after(10):
                    ws = await trio_websocket.connect_websocket_url(
                        nursery, url + room_id, message_queue_size=64, max_message_size=1 << 20
                    )
                    await ws.send_message(json.dumps(message))
                    while True:
                        answer = decode(await ws.get_message())
                        if answer["type"] == "welcome":
                            conn = _Conn(ws)
                            conn.peer = answer["peer"]
                            # Read (and answer pings) at once, not once the room is complete.
                            nursery.start_soon(read, conn)
                            return conn
                        if answer["type"] == "error":
                            raise RuntimeError(f"join refused: {answer}")
            except (trio.TooSlowError, OSError, trio_websocket.HandshakeError):
                counters["connect_retries"] += 1
                if ws is not None:
                    with trio.move_on_after(1):
                        await ws.aclose()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def open_room(nursery: trio.Nursery, size: int, limiter: trio.CapacityLimiter) -> None:
        # A room with a peer that failed to connect is dropped (and counted), not fatal.
        creator_token = secrets.token_urlsafe(16)
        room_id = creator_room_id(creator_token)  # the room id is derived from the sender's token
        members: list[_Conn] = []

        async def add(token: str | None) -> None:
            try:
                async with limiter:
                    members.append(await join(nursery, room_id, token))
            except (
                trio.TooSlowError,
                OSError,
                trio_websocket.HandshakeError,
                trio_websocket.ConnectionClosed,
            ):
                counters["connect_errors"] += 1

        await add(creator_token)
        if members:
            async with trio.open_nursery() as joining:
                for _ in range(size - 1):
                    joining.start_soon(add, None)
        if len(members) < size:
            for conn in members:
                conn.abandoned = True
                with trio.move_on_after(2):
                    await conn.ws.aclose()
            return
        rooms.append(members)

    def schedule() -> Iterator[tuple[_Conn, _Conn]]:
        """(from, to) pairs in turn over every room: sender -> receiver, then back."""
        turn = 0
        while True:
            for members in rooms:
                receiver = members[1 + turn % (len(members) - 1)]
                yield (members[0], receiver) if turn % 2 == 0 else (receiver, members[0])
            turn += 1

    async def run_phase(rate: float, duration_s: float, drain_s: float) -> dict[str, Any]:
        phase.number += 1
        phase.sent = phase.received = phase.late = 0
        phase.latencies_us = []
        phase.drained = None
        pairs = schedule()
        interval = 1.0 / rate
        start = trio.current_time()
        due, end = start, start + duration_s
        while due < end:
            now = trio.current_time()
            if due > now:
                await trio.sleep_until(due)
                now = trio.current_time()
            while due <= now and due < end:
                source, target = next(pairs)
                due += interval
                if source.closed or target.closed:
                    continue
                data = f"{phase.number}.{time.perf_counter_ns()}.{padding}"
                text = f'{{"type":"relay","to":"{target.peer}","sid":1,"data":"{data}"}}'
                try:
                    await source.ws.send_message(text)
                    phase.sent += 1
                except trio_websocket.ConnectionClosed:
                    counters["send_errors"] += 1
        sent_s = trio.current_time() - start
        phase.drained = trio.Event()
        with trio.move_on_after(drain_s):
            if phase.received < phase.sent:
                await phase.drained.wait()
        return {
            "sent": phase.sent,
            "received": phase.received,
            "late": phase.late,
            "sent_s": sent_s,
            "latencies_us": phase.latencies_us,
            **counters,
        }

    async def commands() -> None:
        async with trio.open_nursery() as nursery:
            limiter = trio.CapacityLimiter(config["connect_concurrency"])
            while True:
                line = await trio.to_thread.run_sync(sys.stdin.readline)
                if not line:
                    nursery.cancel_scope.cancel()
                    return
                command = json.loads(line)
                if command["cmd"] == "connect":
                    started = time.monotonic()
                    with trio.move_on_after(command["timeout_s"]) as connecting:
                        async with trio.open_nursery() as opening:
                            for size in config["rooms"]:
                                opening.start_soon(open_room, nursery, size, limiter)
                    reply(
                        {
                            "timed_out": connecting.cancelled_caught,
                            "connections": sum(len(r) for r in rooms),
                            "rooms": len(rooms),
                            "seconds": time.monotonic() - started,
                            "connect_errors": counters["connect_errors"],
                            "connect_retries": counters["connect_retries"],
                        }
                    )
                elif command["cmd"] == "run":
                    reply(
                        await run_phase(command["rate"], command["duration_s"], command["drain_s"])
                    )
                elif command["cmd"] == "status":
                    reply({**counters, "close_codes": close_codes})
                elif command["cmd"] == "exit":
                    nursery.cancel_scope.cancel()
                    return

    await commands()


# --- orchestration -----------------------------------------------------------------------


class Client:
    """A client process and a thread that queues its reply lines."""

    def __init__(self, rooms: list[int], args: argparse.Namespace, port: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--client"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )
        self.replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.send(
            {
                "port": port,
                "rooms": rooms,
                "payload_bytes": args.payload_bytes,
                "connect_concurrency": args.connect_concurrency,
            }
        )

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.replies.put(line)
        self.replies.put("")

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()

    def reply(self, timeout_s: float) -> dict[str, Any]:
        try:
            line = self.replies.get(timeout=timeout_s)
        except queue.Empty:
            raise SystemExit("a client process did not answer in time") from None
        if not line:
            raise SystemExit(f"a client process died (exit code {self.proc.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def stop(self) -> None:
        try:
            self.send({"cmd": "exit"})
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def ask_all(
    clients: list[Client], command: dict[str, Any], timeout_s: float
) -> list[dict[str, Any]]:
    for client in clients:
        client.send(command)
    return [client.reply(timeout_s) for client in clients]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time spent by all processes on the machine (Linux /proc/stat), in seconds."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return float(sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))])


@dataclass
class Step:
    offered_per_s: float
    sent: int
    received: int
    late: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu: float  # fraction of one core
    client_cpu: float  # all client processes, fraction of one core
    other_cpu: float  # every other process on the machine, fraction of one core

    @property
    def delivered_per_s(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0

    @property
    def delivered(self) -> float:
        return self.received / self.sent if self.sent else 0.0

    def sustained(self, max_p99_ms: float) -> bool:
        return self.delivered >= 0.99 and self.p99_ms <= max_p99_ms and self.sent > 0

    def row(self) -> str:
        return (
            f"{self.offered_per_s:9,.0f} {self.delivered_per_s:11,.0f} {self.delivered:8.2%}"
            f" {self.p50_ms:8.2f} {self.p99_ms:8.2f} {self.max_ms:8.1f} {self.server_cpu:7.0%}"
            f" {self.client_cpu:7.0%} {self.other_cpu:6.0%}"
        )


STEP_HEADER = (
    f"{'offered/s':>9} {'delivered/s':>11} {'deliv.':>8} {'p50 ms':>8} {'p99 ms':>8}"
    f" {'max ms':>8} {'srv CPU':>7} {'clients':>7} {'others':>6}"
)


@dataclass
class TargetResult:
    label: str
    connections: int = 0
    rooms: int = 0
    connect_s: float = 0.0
    rss_start_kib: int = 0
    rss_joined_kib: int = 0
    rss_after_kib: int = 0
    idle_cpu: float = 0.0
    latency_steps: list[Step] = field(default_factory=list)
    ramp: list[Step] = field(default_factory=list)
    max_rate: float = 0.0
    closed: int = 0
    close_codes: dict[str, int] = field(default_factory=dict)
    pings: int = 0

    @property
    def latency(self) -> Step:
        """The repeat with the lowest p99: noise from other processes only adds latency."""
        return min(self.latency_steps, key=lambda s: s.p99_ms)

    @property
    def rss_per_conn_kib(self) -> float:
        return (self.rss_joined_kib - self.rss_start_kib) / max(1, self.connections)

    @property
    def rss_per_conn_after_kib(self) -> float:
        return (self.rss_after_kib - self.rss_start_kib) / max(1, self.connections)


def wait_quiet(clients: list[Client], pid: int, args: argparse.Namespace) -> None:
    """Wait (up to --wait-quiet s) until other processes use under --quiet-below of a core."""
    if args.wait_quiet <= 0:
        return
    ours = [pid, *(c.proc.pid for c in clients)]
    deadline = time.monotonic() + args.wait_quiet
    waited = 0.0
    while True:
        before = machine_busy_seconds() - sum(cpu_seconds(p) for p in ours)
        time.sleep(0.5)
        others = (machine_busy_seconds() - sum(cpu_seconds(p) for p in ours) - before) / 0.5
        if others < args.quiet_below or time.monotonic() > deadline:
            break
        waited += 0.5
    if waited:
        print(f"#   (waited {waited:.0f} s for other processes to calm down: {others:.0%})")


def run_step(
    clients: list[Client], pid: int, rate: float, args: argparse.Namespace, duration_s: float
) -> Step:
    wait_quiet(clients, pid, args)
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    clients_before = sum(cpu_seconds(c.proc.pid) for c in clients)
    busy_before = machine_busy_seconds()
    share = rate / len(clients)
    answers = ask_all(
        clients,
        {"cmd": "run", "rate": share, "duration_s": duration_s, "drain_s": args.drain},
        duration_s + args.drain + 30,
    )
    wall = time.monotonic() - wall_before
    cpu = (cpu_seconds(pid) - cpu_before) / wall
    clients_cpu = (sum(cpu_seconds(c.proc.pid) for c in clients) - clients_before) / wall
    others = (machine_busy_seconds() - busy_before) / wall - cpu - clients_cpu
    latencies = sorted(v for a in answers for v in a["latencies_us"])
    seconds = max(a["sent_s"] for a in answers)
    return Step(
        offered_per_s=rate,
        sent=sum(a["sent"] for a in answers),
        received=sum(a["received"] for a in answers),
        late=sum(a["late"] for a in answers),
        seconds=seconds,
        p50_ms=percentile(latencies, 0.50) / 1000,
        p99_ms=percentile(latencies, 0.99) / 1000,
        max_ms=(latencies[-1] / 1000) if latencies else float("nan"),
        server_cpu=cpu,
        client_cpu=clients_cpu,
        other_cpu=max(0.0, others),
    )


def split_rooms(args: argparse.Namespace) -> list[list[int]]:
    """Room sizes (2..10 peers, fixed seed) adding up to --connections, dealt to the clients."""
    rng = random.Random(args.seed)
    sizes: list[int] = []
    left = args.connections
    while left > 0:
        size = min(left, rng.randint(*ROOM_SIZES))
        if left - size == 1:
            size += 1
        sizes.append(size)
        left -= size
    dealt: list[list[int]] = [[] for _ in range(args.clients)]
    for i, size in enumerate(sizes):
        dealt[i % args.clients].append(size)
    return dealt


def check_no_compression(port: int) -> str:
    """Offer permessage-deflate as browsers do; return the extensions header of the answer."""
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    request = (
        f"GET /ws/{secrets.token_urlsafe(16)} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
    )
    with socket.create_connection((HOST, port), timeout=5) as sock:
        sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"WebSocket handshake failed: {head[:80]!r}")
    found = re.search(rb"(?im)^sec-websocket-extensions:\s*(.*?)\r$", head)
    return found.group(1).decode() if found else ""


@contextmanager
def server_process(
    command: list[str], label: str, tree: Path = REPO
) -> Iterator[subprocess.Popen[str]]:
    """Run a server from `tree`'s code; stderr goes to a file (a full pipe would block the
    server), shown last."""
    env = dict(os.environ, PYTHONPATH=str(tree) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile("w+") as errors:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, text=True, cwd=REPO, env=env
        )
        try:
            yield proc
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            errors.seek(0)
            lines = [line for line in errors.read().splitlines() if "SIGINT received" not in line]
            if lines:
                print(f"# {label} wrote {len(lines)} lines to stderr, the last ones:")
                for line in lines[-5:]:
                    print(f"#   {line[:200]}")


def wait_port(proc: subprocess.Popen[str], label: str) -> int:
    """The listening port, from the server's first lines of output (the rest is drained)."""
    assert proc.stdout is not None
    stdout = proc.stdout
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = stdout.readline()
        if not line:
            break
        found = re.search(r"^listening \S+ (\d+)|http://127\.0\.0\.1:(\d+)/", line)
        if found:
            threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()
            return int(found.group(1) or found.group(2))
    raise SystemExit(f"{label} did not start (exit code {proc.poll()})")


def p2pshare_command(args: argparse.Namespace) -> list[str]:
    big = str(10 * args.connections + 1000)
    return [
        "-m",
        "p2pshare",
        "serve",
        "--host",
        HOST,
        "--port",
        "0",
        "--stun-port",
        "0",
        "--qr",
        "no",
        "--log-level",
        "warning",
        "--max-connections",
        big,
        "--max-rooms",
        big,
        "--max-connections-per-address",
        big,
        "--max-tcp-per-address",  # every client process connects from 127.0.0.1
        big,
        "--max-rooms-per-address",
        big,
        # The per-connection limit stays on (its cost counts); the benchmark never reaches it.
        "--message-rate",
        "1000",
        "--message-burst",
        "1000",
    ]


@dataclass
class Target:
    """A running server under test, with its client processes and its results."""

    result: TargetResult
    server: subprocess.Popen[str]
    clients: list[Client]
    active: bool = True  # still in the ramp


def start_target(
    label: str, command: list[str], args: argparse.Namespace, stack: ExitStack, tree: Path = REPO
) -> Target:
    """Start the server, connect and join every peer, and measure its RSS on the way."""
    result = TargetResult(label)
    server = stack.enter_context(server_process(command, label, tree))
    port = wait_port(server, label)
    if label == "p2pshare":
        offered = check_no_compression(port)
        print(f"# {label}: permessage-deflate offered, answer: {offered or 'not negotiated'}")
    time.sleep(0.5)
    result.rss_start_kib = rss_kib(server.pid)
    clients = [Client(rooms, args, port) for rooms in split_rooms(args)]
    stack.callback(lambda: [c.stop() for c in clients])
    answers = ask_all(clients, {"cmd": "connect", "timeout_s": args.connect_timeout}, 600)
    result.connections = sum(a["connections"] for a in answers)
    result.rooms = sum(a["rooms"] for a in answers)
    result.connect_s = max(a["seconds"] for a in answers)
    if any(a["timed_out"] for a in answers):
        raise SystemExit(
            f"{label}: connecting took over --connect-timeout ({args.connect_timeout:g} s); "
            f"{result.connections:,} of {args.connections:,} joined. Is the machine busy?"
        )
    failed = sum(a["connect_errors"] for a in answers)
    retried = sum(a["connect_retries"] for a in answers)
    if failed or retried:
        print(
            f"# {label}: {retried} connection attempts timed out or failed and were retried;"
            f" {failed} connections failed for good (their rooms are left out)"
        )
    time.sleep(args.settle)
    cpu_before = cpu_seconds(server.pid)
    time.sleep(2.0)
    result.idle_cpu = (cpu_seconds(server.pid) - cpu_before) / 2.0
    result.rss_joined_kib = rss_kib(server.pid)
    print(
        f"# {label}: {result.connections:,} connections in {result.rooms:,} rooms joined in "
        f"{result.connect_s:.1f} s; RSS {result.rss_start_kib / 1024:.1f} -> "
        f"{result.rss_joined_kib / 1024:.1f} MiB ({result.rss_per_conn_kib:.1f} KiB/conn); "
        f"server CPU while idle {result.idle_cpu:.0%}",
        flush=True,
    )
    return Target(result, server, clients)


def step(target: Target, rate: float, args: argparse.Namespace, duration_s: float) -> Step:
    done = run_step(target.clients, target.server.pid, rate, args, duration_s)
    ok = done.sustained(args.max_p99_ms)
    print(f"# {target.result.label:>16} {done.row()} {'' if ok else 'NOT SUSTAINED'}", flush=True)
    return done


def measure(targets: list[Target], args: argparse.Namespace) -> None:
    """Latency, then the ramp, with the targets' steps interleaved (noise hits both alike)."""
    header = f"# {'target':>16} {STEP_HEADER}"
    for t in targets:  # a short warm-up, so that no measured message pays for first use
        run_step(t.clients, t.server.pid, min(args.rate, 1000), args, 0.5)
    print(f"# latency at {args.rate:,.0f}/s, {args.repeats} x {args.duration:g} s each\n{header}")
    for _ in range(args.repeats):
        for t in targets:
            t.result.latency_steps.append(step(t, args.rate, args, args.duration))
    print(
        f"# ramp: x{args.ramp_factor:g} a step of {args.step:g} s, a failed step is tried again"
        f" once\n{header}"
    )
    rate = args.ramp_start
    while rate <= args.ramp_max and any(t.active for t in targets):
        for t in targets:
            if not t.active:
                continue
            for _attempt in range(2):
                done = step(t, rate, args, args.step)
                t.result.ramp.append(done)
                if done.sustained(args.max_p99_ms):
                    break
            else:
                t.active = False
        rate *= args.ramp_factor
    for t in targets:
        sustained = [s for s in t.result.ramp if s.sustained(args.max_p99_ms)]
        t.result.max_rate = max((s.delivered_per_s for s in sustained), default=0.0)


def finish_target(target: Target) -> None:
    result = target.result
    status = ask_all(target.clients, {"cmd": "status"}, 30)
    result.closed = sum(s["closed"] for s in status)
    for s in status:
        for code, count in s["close_codes"].items():
            result.close_codes[code] = result.close_codes.get(code, 0) + count
    result.pings = sum(s["pings"] for s in status)
    result.rss_after_kib = rss_kib(target.server.pid)
    print(
        f"# {result.label}: RSS after traffic {result.rss_after_kib / 1024:.1f} MiB "
        f"({result.rss_per_conn_after_kib:.1f} KiB/conn); connections closed by the server: "
        f"{result.closed} {result.close_codes or ''}; pings answered {result.pings:,}",
        flush=True,
    )


@contextmanager
def py_spy(path: str, pid: int, args: argparse.Namespace) -> Iterator[None]:
    fmt = "raw" if path.endswith(".txt") else "flamegraph"
    profiler = subprocess.Popen(
        ["py-spy", "record", "--nonblocking", "-r", "100", "-f", fmt, "-o", path, "-p", str(pid)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        yield
    finally:
        profiler.send_signal(signal.SIGINT)
        try:
            profiler.wait(60)
        except subprocess.TimeoutExpired:
            profiler.kill()
        print(f"# py-spy profile of the p2pshare server: {path}")


def trace_memory(args: argparse.Namespace) -> None:
    """Run p2pshare under tracemalloc; print what grew per connection, by traceback."""
    import tracemalloc

    with tempfile.TemporaryDirectory() as tmp:
        snapshots = [os.path.join(tmp, "before"), os.path.join(tmp, "after")]
        command = [sys.executable, "-c", TRACED_P2PSHARE, "10", snapshots[0]]
        command += p2pshare_command(args)[2:]  # after "-m p2pshare"
        with server_process(command, "p2pshare (tracemalloc)") as server, ExitStack() as stack:
            port = wait_port(server, "p2pshare")
            time.sleep(0.5)
            server.send_signal(signal.SIGUSR1)
            wait_file(snapshots[0])
            rss_before = rss_kib(server.pid)
            clients = [Client(rooms, args, port) for rooms in split_rooms(args)]
            stack.callback(lambda: [c.stop() for c in clients])
            answers = ask_all(clients, {"cmd": "connect", "timeout_s": args.connect_timeout}, 600)
            n = sum(a["connections"] for a in answers)
            run_step(clients, server.pid, min(args.rate, 500), args, 2.0)
            time.sleep(args.settle)
            rss_after = rss_kib(server.pid)
            os.replace(snapshots[0], snapshots[0] + ".done")
            server.send_signal(signal.SIGUSR1)
            wait_file(snapshots[0])
        before = tracemalloc.Snapshot.load(snapshots[0] + ".done")
        after = tracemalloc.Snapshot.load(snapshots[0])
    diff = after.compare_to(before, "traceback")
    total = sum(d.size_diff for d in diff)
    print(
        f"# tracemalloc: {n:,} connections; traced +{total / n / 1024:.2f} KiB/conn; "
        f"RSS +{(rss_after - rss_before) / n:.2f} KiB/conn (inflated by tracemalloc itself)"
    )
    # Each allocation is charged to the innermost frame of the code that asked for it:
    # p2pshare, hypercorn, wsproto or h11 (trio's own frames only carry the request out).
    owners: dict[str, int] = {}
    packages: dict[str, int] = {}
    for stat in diff:
        frames = list(stat.traceback)[::-1]  # innermost first
        owner = next(
            (f for f in frames if re.search(r"/(p2pshare|hypercorn|wsproto|h11)/", f.filename)),
            frames[0],
        )
        short = re.sub(r".*/(site-packages|lib/python3\.\d+|main)/", "", owner.filename)
        package = short.split("/")[0] if "/" in short else short
        owners[f"{short}:{owner.lineno}"] = (
            owners.get(f"{short}:{owner.lineno}", 0) + stat.size_diff
        )
        packages[package] = packages.get(package, 0) + stat.size_diff
    print("# bytes/conn by package that asked for the memory")
    for name, size in sorted(packages.items(), key=lambda kv: -kv[1])[:8]:
        print(f"#  {size / n:8.0f}  {name}")
    print(f"# top {args.tracemalloc} lines that asked for memory, bytes/conn")
    for name, size in sorted(owners.items(), key=lambda kv: -kv[1])[: args.tracemalloc]:
        print(f"#  {size / n:8.0f}  {name}")
    print("# tracemalloc mode: no ratio (tracemalloc distorts memory and time)")


def wait_file(path: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit(f"no tracemalloc snapshot at {path}")
        time.sleep(0.1)


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < needed:
        raise SystemExit(f"open files hard limit {hard} < {needed}: lower --connections")


def main() -> None:
    if "--client" in sys.argv[1:]:
        client_main()
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 connections, 2 s phases")
    parser.add_argument("--connections", type=int, help="WebSocket peers (default 10,000)")
    parser.add_argument("--clients", type=int, default=3, help="client processes")
    parser.add_argument("--rate", type=float, default=2000, help="relays/s in the latency phase")
    parser.add_argument("--duration", type=float, help="seconds of the latency phase (10)")
    parser.add_argument("--step", type=float, help="seconds per ramp step (4)")
    parser.add_argument("--ramp-start", type=float, default=2000, help="first ramp rate")
    parser.add_argument("--ramp-max", type=float, default=64_000, help="last ramp rate")
    parser.add_argument("--ramp-factor", type=float, default=1.5, help="rate growth a step")
    parser.add_argument("--repeats", type=int, help="latency phases per target (2; 1 quick)")
    parser.add_argument(
        "--max-p99-ms", type=float, default=100.0, help="p99 over this fails a ramp step"
    )
    parser.add_argument("--drain", type=float, default=1.0, help="seconds to wait for stragglers")
    parser.add_argument("--settle", type=float, default=2.0, help="seconds before measuring RSS")
    parser.add_argument("--payload-bytes", type=int, default=200, help="padding in each payload")
    parser.add_argument("--connect-concurrency", type=int, default=32, help="per client process")
    parser.add_argument("--connect-timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="S",
        help="before each step, wait up to S s for other processes on the machine to calm down",
    )
    parser.add_argument(
        "--quiet-below", type=float, default=0.25, help="'calm': under this share of a core"
    )
    parser.add_argument(
        "--baseline",
        choices=("hypercorn", "trio-websocket"),
        default="hypercorn",
        help="the bare relay to compare with",
    )
    parser.add_argument("--py-spy", metavar="FILE", help="profile the p2pshare server")
    parser.add_argument(
        "--tracemalloc", type=int, metavar="N", help="only trace p2pshare's memory; top N"
    )
    parser.add_argument("--only-p2pshare", action="store_true", help="skip the baseline")
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        metavar="DIR",
        help="the baseline is p2pshare as in DIR (e.g. a git worktree of an older commit): "
        "an A/B of a change, interleaved in one run",
    )
    args = parser.parse_args()
    args.connections = args.connections or (1000 if args.quick else 10_000)
    args.duration = args.duration or (2.0 if args.quick else 10.0)
    args.step = args.step or (2.0 if args.quick else 4.0)
    args.repeats = args.repeats or (1 if args.quick else 2)
    if args.quick:
        args.settle = min(args.settle, 1.0)
    raise_fd_limit(args.connections + 1000)
    if args.tracemalloc:
        trace_memory(args)
        return
    print(
        f"# signaling, loopback: {args.connections:,} WebSocket peers in rooms of "
        f"{ROOM_SIZES[0]}-{ROOM_SIZES[1]}, {args.clients} client processes (trio-websocket), "
        f"{args.payload_bytes}-byte payloads, {os.cpu_count()} CPUs",
        flush=True,
    )
    code = HYPERCORN_RELAY if args.baseline == "hypercorn" else TRIO_WEBSOCKET_RELAY
    label = f"{args.baseline}-relay"
    if args.baseline_tree:
        label = f"p2pshare@{args.baseline_tree.name}"
    with ExitStack() as stack:
        # The baseline connects first: p2pshare's heartbeat then runs no longer than needed
        # before the measurements (on a busy machine, starved clients miss their pongs).
        targets = []
        if args.baseline_tree:
            command = [sys.executable, *p2pshare_command(args)]
            targets.append(start_target(label, command, args, stack, args.baseline_tree.resolve()))
        elif not args.only_p2pshare:
            targets.append(start_target(label, [sys.executable, "-c", code, HOST], args, stack))
        ours = start_target("p2pshare", [sys.executable, *p2pshare_command(args)], args, stack)
        targets.insert(0, ours)
        if args.py_spy:
            stack.enter_context(py_spy(args.py_spy, targets[0].server.pid, args))
        measure(targets, args)
        for t in targets:
            finish_target(t)
    print(
        f"{'target':18} {'conns':>6} {'KiB/conn':>9} {'after':>7} {'p50 ms':>7} {'p99 ms':>7}"
        f" {'max ms':>7} {'max rate/s':>10} {'CPU us/msg':>10}"
    )
    for t in targets:
        r = t.result
        delivered = r.latency.delivered_per_s
        cpu_us = r.latency.server_cpu / delivered * 1e6 if delivered else float("nan")
        print(
            f"{r.label:18} {r.connections:6,} {r.rss_per_conn_kib:9.1f} "
            f"{r.rss_per_conn_after_kib:7.1f} {r.latency.p50_ms:7.2f} {r.latency.p99_ms:7.2f}"
            f" {r.latency.max_ms:7.1f} {r.max_rate:10,.0f} {cpu_us:10.0f}"
        )
    if args.only_p2pshare:
        print("# --only-p2pshare: no ratio")
        return
    mine, base = (t.result for t in targets)
    if mine.closed or base.closed:
        print(
            "# WARNING: servers closed connections during the run (see close codes above): "
            "the machine was probably too busy for this many connections; numbers are suspect"
        )
    rate_ratio = mine.max_rate / base.max_rate if base.max_rate else float("nan")
    cpu_ratio = (mine.latency.server_cpu / max(1.0, mine.latency.delivered_per_s)) / (
        base.latency.server_cpu / max(1.0, base.latency.delivered_per_s)
    )
    print(
        f"ratio p2pshare/{label}: rss/conn {mine.rss_per_conn_kib / base.rss_per_conn_kib:.2f}, "
        f"p99@{args.rate:,.0f}/s {mine.latency.p99_ms / base.latency.p99_ms:.2f}, "
        f"max rate {rate_ratio:.2f}, server CPU/msg {cpu_ratio:.2f}"
    )


if __name__ == "__main__":
    main()
