"""STUN Binding throughput: p2pshare's server against coturn, in the same run, on loopback.

One client process keeps `--window` requests outstanding (default 64) and counts answered
requests per second, loss (requests unanswered after `--timeout`) and mean response size
over request size. Both servers run side by side for the whole run and the client
alternates between them in `--rounds` rounds, `--duration` seconds in all per target
(10 s; 2 s with `--quick`), so that load from elsewhere on the machine hits both alike.
Server CPU time comes from /proc (all threads). The baseline is coturn (`turnserver`)
when installed, otherwise a minimal Python UDP echo responder, labelled as such.
The last line is the ratio of answered requests per second:

    ratio p2pshare/coturn = X.XX

`--py-spy FILE` records the p2pshare server with py-spy (`--nonblocking`) while it is
measured: an SVG flame graph, or collapsed stacks if FILE ends in .txt.

    python scripts/bench/stun.py [--quick] [--window 64] [--rounds 4] [--py-spy prof.svg]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aioice import stun as aioice_stun

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
REQUEST_HEADER = struct.pack("!HHI", 0x0001, 0, 0x2112A442)  # Binding request, no attributes
REQUEST_BYTES = 20
ECHO_SERVER = """
import socket, sys
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind((sys.argv[1], 0))
print("listening", *sock.getsockname(), flush=True)
while True:
    data, source = sock.recvfrom(2048)
    sock.sendto(data, source)
"""


@dataclass
class Target:
    label: str
    pid: int
    address: tuple[str, int]
    echo: bool = False
    sent: int = 0
    answered: int = 0
    lost: int = 0
    elapsed_s: float = 0.0
    response_bytes: int = 0
    server_cpu_s: float = 0.0

    def summary(self) -> str:
        rate = self.answered / self.elapsed_s
        loss = self.lost / self.sent if self.sent else 0.0
        mean = self.response_bytes / self.answered if self.answered else 0.0
        busy = self.server_cpu_s / self.elapsed_s
        per_answer = self.server_cpu_s / self.answered * 1e6 if self.answered else 0.0
        return (
            f"{self.label:10} {rate:10,.0f} {loss:7.2%} {mean / REQUEST_BYTES:11.2f}"
            f" ({mean:.1f}/{REQUEST_BYTES}) {busy:11.0%} {per_answer:14.1f}"
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid`, all threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_answer(target: Target) -> None:
    """One request answered and decoded by aioice (the independent client), or exit."""
    request = aioice_stun.Message(aioice_stun.Method.BINDING, aioice_stun.Class.REQUEST)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        sock.bind((HOST, 0))
        for _ in range(50):
            sock.sendto(bytes(request), target.address)
            try:
                data = sock.recv(2048)
            except (TimeoutError, ConnectionRefusedError):
                continue
            if target.echo:
                return
            response = aioice_stun.parse_message(data)
            mapped = response.attributes.get("XOR-MAPPED-ADDRESS")
            if response.transaction_id == request.transaction_id and mapped == sock.getsockname():
                return
            raise SystemExit(f"bad answer from {target.label}: {response}")
    raise SystemExit(f"no answer from {target.label}")


def run_client(target: Target, duration_s: float, window: int, timeout_s: float) -> str:
    """Keep `window` requests outstanding for `duration_s`; add the counts to `target`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    sock.bind((HOST, 0))
    sock.connect(target.address)
    sock.settimeout(timeout_s / 4)
    send, recv, now = sock.send, sock.recv, time.monotonic
    outstanding: dict[bytes, float] = {}
    order: collections.deque[tuple[float, bytes]] = collections.deque()
    counter = sent = answered = lost = response_bytes = 0

    def send_one(at: float) -> None:
        nonlocal counter, sent
        counter += 1
        tid = counter.to_bytes(12, "big")
        outstanding[tid] = at
        order.append((at, tid))
        send(REQUEST_HEADER + tid)
        sent += 1

    cpu_before = cpu_seconds(target.pid)
    start = now()
    deadline = start + duration_s
    for _ in range(window):
        send_one(start)
    while True:
        t = now()
        if t >= deadline:
            break
        try:
            data = recv(2048)
        except TimeoutError:
            data = b""
        except ConnectionRefusedError:
            raise SystemExit(f"{target.label} went away") from None
        if data and outstanding.pop(data[8:20], None) is not None:
            answered += 1
            response_bytes += len(data)
            send_one(t)
        # Requests unanswered after timeout_s are lost; each is replaced to keep the window.
        while order and (order[0][1] not in outstanding or t - order[0][0] > timeout_s):
            _, tid = order.popleft()
            if outstanding.pop(tid, None) is not None:
                lost += 1
                send_one(t)
    elapsed = now() - start
    # Answers in flight at the deadline still count; what is missing after timeout_s is lost.
    end = now() + timeout_s
    while outstanding and now() < end:
        try:
            data = recv(2048)
        except TimeoutError:
            continue
        if outstanding.pop(data[8:20], None) is not None:
            answered += 1
            response_bytes += len(data)
    lost += len(outstanding)
    cpu = cpu_seconds(target.pid) - cpu_before
    sock.close()
    target.sent += sent
    target.answered += answered
    target.lost += lost
    target.elapsed_s += elapsed
    target.response_bytes += response_bytes
    target.server_cpu_s += cpu
    return f"{target.label} {answered / elapsed:,.0f}/s"


@contextlib.contextmanager
def process(args: list[str], *, capture: bool = True) -> Iterator[subprocess.Popen[str]]:
    """Run `args` for the duration of the block; with `capture` its stdout can be read."""
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    stdout = subprocess.PIPE if capture else subprocess.DEVNULL
    proc = subprocess.Popen(
        args,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=path),
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def listening_port(proc: subprocess.Popen[str]) -> int:
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 3 or line[0] != "listening":
        raise SystemExit(f"unexpected server output: {line!r}")
    return int(line[2])


def free_port() -> int:
    """A port free for UDP and TCP alike: coturn also listens on TCP, and waits for it."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise SystemExit("no port free for both UDP and TCP")


def start_p2pshare(stack: contextlib.ExitStack) -> Target:
    command = [sys.executable, "-m", "p2pshare.stun.server", "--host", HOST, "--port", "0"]
    command += ["--rate-per-s", "1e12", "--burst", str(10**12)]  # no rate limit for the bench
    proc = stack.enter_context(process(command))
    return Target("p2pshare", proc.pid, (HOST, listening_port(proc)))


def start_baseline(stack: contextlib.ExitStack, force_echo: bool) -> Target:
    turnserver = shutil.which("turnserver")
    if turnserver and not force_echo:
        port = free_port()
        command = [turnserver, "-n", f"--listening-ip={HOST}", f"--listening-port={port}"]
        command += ["--no-tls", "--no-dtls", "--stun-only", "--no-cli"]
        command += ["--log-file=stdout"]  # rather than a new file in /var/log per run
        proc = stack.enter_context(process(command, capture=False))
        return Target("coturn", proc.pid, (HOST, port))  # check_answer waits until it answers
    if not turnserver:
        print("# coturn (turnserver) is not installed: the baseline is a Python UDP echo responder")
    proc = stack.enter_context(process([sys.executable, "-c", ECHO_SERVER, HOST]))
    return Target("udp-echo", proc.pid, (HOST, listening_port(proc)), echo=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per target")
    parser.add_argument("--quick", action="store_true", help="2 s per target")
    parser.add_argument("--rounds", type=int, default=4, help="alternations between targets")
    parser.add_argument("--window", type=int, default=64, help="requests outstanding")
    parser.add_argument(
        "--timeout", type=float, default=0.2, help="seconds after which a request counts as lost"
    )
    parser.add_argument(
        "--echo", action="store_true", help="use the echo baseline even if coturn is installed"
    )
    parser.add_argument("--py-spy", metavar="FILE", help="profile the p2pshare server")
    args = parser.parse_args()
    if args.quick:
        args.duration = 2.0
    print(
        f"# STUN Binding requests of {REQUEST_BYTES} bytes, loopback, 1 client process,"
        f" window {args.window}, {args.duration:g} s per target in {args.rounds} rounds,"
        f" {os.cpu_count()} CPUs"
    )
    with contextlib.ExitStack() as stack:
        ours = start_p2pshare(stack)
        base = start_baseline(stack, args.echo)
        for target in (ours, base):
            check_answer(target)
        profiler = None
        if args.py_spy:
            fmt = "raw" if args.py_spy.endswith(".txt") else "flamegraph"
            seconds = str(int(2 * args.duration + 2))
            command = ["py-spy", "record", "--nonblocking", "-r", "200", "-f", fmt]
            command += ["-o", args.py_spy, "-d", seconds, "-p", str(ours.pid)]
            profiler = subprocess.Popen(
                command,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(0.5)
        for round_number in range(args.rounds):
            rates = [
                run_client(target, args.duration / args.rounds, args.window, args.timeout)
                for target in (ours, base)
            ]
            print(f"# round {round_number + 1}: {', '.join(rates)}")
        if profiler is not None:
            profiler.wait(60)
            print(f"# py-spy profile of the p2pshare server: {args.py_spy}")
    print(
        f"{'target':10} {'answers/s':>10} {'loss':>7} {'response/request bytes':>23}"
        f" {'server CPU':>11} {'CPU us/answer':>14}"
    )
    for target in (ours, base):
        print(target.summary())
    ratio = (ours.answered / ours.elapsed_s) / (base.answered / base.elapsed_s)
    print(f"ratio p2pshare/{base.label} = {ratio:.2f}")


if __name__ == "__main__":
    main()
