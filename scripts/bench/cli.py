"""Command-line peer throughput: `p2pshare send` / `p2pshare receive` (aiortc, Python) against
a bare browser data channel, measured in the same run, loopback.

Three kinds, one of each per round, the order reversed every other round (as transfer.py
does), medians in the summary:

- **bare**: transfer.py's bare data channel between two headless Chromium processes (the same
  page, frame size and backpressure; the receiver only counts bytes). The ceiling.
- **cli-to-browser**: `p2pshare send --json --exit-when-done FILE` to a Chromium receiver on
  the p2pshare page (persistent on-disk profile, as transfer.py's receiver): it opens the
  share link and clicks Accept; MB/s is measured in the page as transfer.py measures
  p2pshare (first file byte to the state `done`: last block written, file SHA-256 checked);
  the download's SHA-256 is compared with the source's.
- **browser-to-cli**: a Chromium sender on the p2pshare page shares FILE; `p2pshare receive
  --json --yes --output TMPDIR LINK` receives it. MB/s is from the CLI's JSON lines, each
  stamped with time.monotonic() by this script when it reads it: from the first `progress`
  event with bytes > 0 to the `end` event (the file verified and renamed into place), counting
  the bytes after that first event (progress lines come every 0.25 s, so the first one is up
  to 0.25 s after the first byte; counting from it keeps the rate honest). The received
  file's SHA-256 is then checked against the source's here as well.

Both CLI kinds run a real `python -m p2pshare serve` subprocess (the same one) for signaling.

CPU: the CLI process's CPU time (user + system, every thread, from /proc/PID/task/*/stat,
sampled every 0.2 s) over the same first-byte-to-end window, in CPU-seconds per 100 MB
moved and as a share of one core, with its busiest thread (the asyncio loop runs aiortc's SCTP
and DTLS in pure Python plus the block SHA-256 and file writes; a share near 100 % means one
core is saturated and the CLI is CPU-bound). Also the time its threads spent runnable but
waiting for a CPU (/proc/PID/task/TID/schedstat): on a shared 2-core machine, CPU share plus
wait near 100 % means the CLI would have used a core had it got one. The Chromium peer's
whole process tree is measured the same way (ms per MB), and so are both browsers of the
bare channel.

`--py-spy DIR` records the CLI process of round 1 with py-spy (`--nonblocking`, raw format)
and prints its busiest functions: where the Python time goes. Profiling costs CPU on a
2-core machine: do not mix such a run's figures with the others.

Every step has a timeout; processes and temporary files are cleaned up; a hash mismatch or a
failed CLI makes the exit status 1. The last line:

    ratio cli-to-browser/bare = X.XX, browser-to-cli/bare = Y.YY

    python scripts/bench/cli.py [--quick] [--size-mib 256] [--rounds 3]
        [--only bare|cli-to-browser|browser-to-cli ...] [--py-spy DIR]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _browser import CLOCK_TICKS, PROC, find_tree_root, marker, thread_cpu
from transfer import (
    MB,
    MIB,
    PROBE_JS,
    REPO,
    Bench,
    bare_site,
    chromium_version,
    median,
    sha256_file,
    write_random_file,
)

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, ServerProcess

KINDS = ("bare", "cli-to-browser", "browser-to-cli")
CPU_MB = 100 * MB  # CPU-seconds are quoted per 100 MB


# --- the CLI process -----------------------------------------------------------------------


def run_queue_wait_s(pid: int) -> float:
    """Seconds the process's threads have so far spent runnable but waiting for a CPU
    (/proc/PID/task/TID/schedstat, second field): what a busy machine costs it."""
    total = 0
    with contextlib.suppress(OSError):
        for task in (PROC / str(pid) / "task").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def process_cpu(pid: int) -> dict[tuple[int, str], float]:
    """CPU seconds (user + system) so far per (tid, thread name) of one process."""
    out: dict[tuple[int, str], float] = {}
    with contextlib.suppress(OSError):
        for task in (PROC / str(pid) / "task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                text = (task / "stat").read_text()
                name = text[text.index("(") + 1 : text.rindex(")")]
                if int(task.name) == pid:
                    name = "main"
                fields = text[text.rindex(")") + 2 :].split()
                out[(int(task.name), name)] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


@dataclass
class CpuSampler:
    """/proc CPU of one process every `interval_s` in a thread, until stopped."""

    pid: int
    interval_s: float = 0.2
    samples: list[tuple[float, dict[tuple[int, str], float]]] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # run-queue wait so far, per sample
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> CpuSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            cpu = process_cpu(self.pid)
            wait = run_queue_wait_s(self.pid)
            if cpu:
                self.samples.append((now, cpu))
                self.waits.append(wait)
            self._stop.wait(self.interval_s)

    def at(self, t: float) -> tuple[float, dict[tuple[int, str], float]]:
        """The sample nearest to `t` (the process may be gone after the end: last one)."""
        if not self.samples:
            return t, {}
        return min(self.samples, key=lambda s: abs(s[0] - t))

    def wait_in(self, t0: float, t1: float) -> float:
        """Run-queue wait (s) between the samples nearest t0 and t1."""
        if not self.samples:
            return 0.0
        times = [s[0] for s in self.samples]
        i0 = min(range(len(times)), key=lambda i: abs(times[i] - t0))
        i1 = min(range(len(times)), key=lambda i: abs(times[i] - t1))
        return self.waits[i1] - self.waits[i0]

    def window(self, t0: float, t1: float) -> tuple[float, dict[str, float]]:
        """(seconds between the samples nearest t0 and t1, CPU seconds per thread name)."""
        (s0, before), (s1, after) = self.at(t0), self.at(t1)
        spent: dict[str, float] = collections.defaultdict(float)
        for key, seconds in after.items():
            spent[key[1]] += seconds - before.get(key, 0.0)
        return s1 - s0, dict(spent)

    def peak_share(self, t0: float, t1: float, span_s: float = 1.0) -> float:
        """The highest CPU share of the busiest thread over any `span_s` inside [t0, t1]."""
        inside = [s for s in self.samples if t0 <= s[0] <= t1]
        best = 0.0
        j = 0
        for i in range(len(inside)):
            while j < len(inside) and inside[j][0] - inside[i][0] < span_s:
                j += 1
            if j >= len(inside):
                if i == 0 and len(inside) > 1:  # a window shorter than span_s: all of it
                    j = len(inside) - 1
                else:
                    break
            dt = inside[j][0] - inside[i][0]
            for key, seconds in inside[j][1].items():
                best = max(best, (seconds - inside[i][1].get(key, 0.0)) / dt)
        return best


class Cli:
    """One `python -m p2pshare send|receive --json` process; its JSON lines, time-stamped."""

    def __init__(self, *args: str) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "p2pshare", *args, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.events: list[tuple[float, dict[str, Any]]] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_events, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_events(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            now = time.monotonic()
            try:
                self.events.append((now, json.loads(line)))
            except ValueError:
                self.stderr.append(f"(not JSON on stdout) {line}")

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def find(self, kind: str) -> tuple[float, dict[str, Any]] | None:
        return next(((t, e) for t, e in list(self.events) if e.get("event") == kind), None)

    def wait_event(self, kind: str, timeout_s: float) -> tuple[float, dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.find(kind)
            if found:
                return found
            if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                break
            time.sleep(0.05)
        raise RuntimeError(
            f"CLI: no {kind!r} event within {timeout_s:.0f} s; last events"
            f" {[e for _, e in self.events[-3:]]}, stderr {''.join(self.stderr[-5:])}"
        )

    def wait(self, timeout_s: float) -> int:
        code = self.proc.wait(timeout=timeout_s)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def stop(self) -> int:
        """SIGINT (the CLI's Ctrl+C), then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.wait(timeout_s=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.wait(timeout_s=15)


# --- results -------------------------------------------------------------------------------


@dataclass
class Row:
    kind: str
    round: int
    size: int
    moved: int = 0  # bytes inside the measured window (CPU per MB uses these)
    mbps: float = 0.0
    wall_mbps: float = 0.0  # whole size / (process start or Accept -> end): setup included
    hash_ok: bool | None = None
    seconds: float = 0.0  # the measured window
    cli_cpu_s: float = 0.0  # CLI process, all threads, over the window
    cli_busiest: tuple[str, float] = ("", 0.0)  # (thread, share of one core over the window)
    cli_peak_share: float = 0.0  # busiest thread, best 1 s inside the window
    cli_threads: dict[str, float] = field(default_factory=dict)
    cli_wait_s: float = 0.0  # runnable, waiting for a CPU, over the window
    browser_ms_per_mb: float = 0.0  # the Chromium peer's tree (bare: receiver + sender)
    note: str = ""

    def line(self) -> str:
        text = f"round {self.round} {self.kind:14} {self.mbps:6.1f} MB/s"
        if self.kind != "bare":
            text += (
                f" (wall {self.wall_mbps:5.1f})  hash {'ok' if self.hash_ok else 'MISMATCH'}"
                f"  CLI CPU {self.cli_cpu_s / (self.moved / CPU_MB):.2f} s/100 MB,"
                f" {self.cli_cpu_s / self.seconds:.0%} of a core"
                f" ({self.cli_busiest[0]} {self.cli_busiest[1]:.0%}, best 1 s"
                f" {self.cli_peak_share:.0%};"
                f" waiting for a CPU {self.cli_wait_s / self.seconds:.0%})"
                f"  Chromium {self.browser_ms_per_mb:.1f} ms/MB"
            )
            threads = sorted(self.cli_threads.items(), key=lambda kv: -kv[1])[:4]
            text += "\n    CLI threads (CPU s): " + ", ".join(f"{n} {s:.2f}" for n, s in threads)
        else:
            text += f"  Chromium sender + receiver {self.browser_ms_per_mb:.1f} ms/MB"
        if self.note:
            text += f"\n    {self.note}"
        return text


def tree_cpu_s(root: int) -> float:
    return sum(thread_cpu(root).values())


# --- the runs ------------------------------------------------------------------------------


@dataclass
class CliBench:
    bench: Bench  # transfer.py's: bare channel, the two browsers
    server: ServerProcess
    source: Path
    source_hash: str
    workdir: Path
    size: int
    timeout_s: float
    py_spy_dir: Path | None = None

    def run_bare(self, round_no: int) -> Row:
        result = self.bench.run_bare(round_no)
        moved = self.size / MB
        cpu = sum(result.cpu.values()) + sum(result.cpu_sender.values())
        return Row(
            "bare",
            round_no,
            self.size,
            mbps=result.mbps,
            seconds=result.seconds,
            browser_ms_per_mb=cpu / moved * 1000,
        )

    def py_spy(self, round_no: int, kind: str, pid: int) -> subprocess.Popen[bytes] | None:
        if not self.py_spy_dir or round_no != 1:
            return None
        out = self.py_spy_dir / f"{kind}.txt"
        command = ["py-spy", "record", "--nonblocking", "-r", "100", "-f", "raw", "-o", str(out)]
        command += ["-d", str(int(self.timeout_s)), "-p", str(pid)]
        time.sleep(0.5)  # py-spy cannot attach before the interpreter is up
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def end_py_spy(self, spy: subprocess.Popen[bytes] | None, kind: str) -> None:
        if spy is None or self.py_spy_dir is None:
            return
        # py-spy writes its file when the target exits (or on SIGINT).
        try:
            spy.wait(timeout=20)
        except subprocess.TimeoutExpired:
            spy.send_signal(signal.SIGINT)
            try:
                spy.wait(timeout=20)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait()
        path = self.py_spy_dir / f"{kind}.txt"
        if path.exists():
            print(f"    py-spy {kind}: {path}\n{summarize_raw_profile(path)}")

    def cpu_figures(self, row: Row, sampler: CpuSampler, t0: float, t1: float) -> None:
        seconds, threads = sampler.window(t0, t1)
        row.cli_threads = threads
        row.cli_cpu_s = sum(threads.values())
        if threads and seconds > 0:
            name, busiest = max(threads.items(), key=lambda kv: kv[1])
            row.cli_busiest = (name, busiest / seconds)
        row.cli_peak_share = sampler.peak_share(t0, t1)
        row.cli_wait_s = sampler.wait_in(t0, t1)

    def run_cli_to_browser(self, round_no: int) -> Row:
        row = Row("cli-to-browser", round_no, self.size)
        receiver_root = find_tree_root("receiver")
        cli = Cli(
            "send", "--server", self.server.url, "--no-qr", "--exit-when-done", str(self.source)
        )
        sampler = CpuSampler(cli.pid).start()
        spy = self.py_spy(round_no, row.kind, cli.pid)
        page = self.bench.receiver.new_page()
        try:
            _, share = cli.wait_event("share", 60)
            page.add_init_script(PROBE_JS)
            with page.expect_download(timeout=self.timeout_s * 1000) as download_info:
                page.goto(share["link"], timeout=30_000)
                accept = page.get_by_test_id("accept")
                accept.wait_for(timeout=30_000)
                page.wait_for_function(
                    "() => !document.querySelector('[data-testid=accept]').disabled",
                    timeout=30_000,
                )
                browser_before = tree_cpu_s(receiver_root)
                clicked = time.monotonic()
                accept.click(timeout=30_000)
                while not page.evaluate("() => globalThis.__bench.done"):
                    if time.monotonic() - clicked > self.timeout_s:
                        raise TimeoutError(f"cli-to-browser not done after {self.timeout_s} s")
                    time.sleep(0.2)
                browser_after = tree_cpu_s(receiver_root)
                ended = time.monotonic()
            marks = page.evaluate("() => globalThis.__bench")
            if marks.get("state") != "done":
                raise RuntimeError(f"the browser receiver ended in state {marks.get('state')}")
            row.mbps = self.size / ((marks["done"] - marks["first"]) / 1000) / MB
            row.wall_mbps = self.size / ((marks["done"] - marks["accept"]) / 1000) / MB
            # The page's first byte and `done`, on this script's clock (the click as the anchor).
            t0 = clicked + (marks["first"] - marks["accept"]) / 1000
            t1 = clicked + (marks["done"] - marks["accept"]) / 1000
            row.seconds = t1 - t0
            row.moved = self.size
            self.cpu_figures(row, sampler, t0, t1)
            row.browser_ms_per_mb = (browser_after - browser_before) / (self.size / MB) * 1000
            row.note = f"browser side measured from Accept to done: {ended - clicked:.1f} s"
            download = download_info.value
            row.hash_ok = sha256_file(Path(download.path())) == self.source_hash
            download.delete()
            try:
                code = cli.wait(timeout_s=30)
            except subprocess.TimeoutExpired:
                code = cli.stop()
            end = cli.find("end")
            if code != 0 or not end or end[1].get("code") != 0:
                raise RuntimeError(f"p2pshare send exited {code}, end {end}: {cli.stderr[-5:]}")
            page.evaluate(
                "async () => { try { await (await navigator.storage.getDirectory())"
                ".removeEntry('p2pshare', { recursive: true }); } catch {} }"
            )
        finally:
            page.close()
            cli.stop()
            sampler.stop()
            self.end_py_spy(spy, row.kind)
        return row

    def run_browser_to_cli(self, round_no: int) -> Row:
        row = Row("browser-to-cli", round_no, self.size)
        sender_root = find_tree_root("sender")
        page = self.bench.sender.new_page()
        out = self.workdir / f"cli-out-{round_no}"
        cli: Cli | None = None
        sampler: CpuSampler | None = None
        spy = None
        try:
            page.goto(self.server.url + "/", timeout=30_000)
            page.get_by_test_id("file-input").set_input_files(str(self.source))
            page.wait_for_function(
                "() => document.querySelector('[data-testid=share-link]').value.includes('#')",
                timeout=30_000,
            )
            link = page.get_by_test_id("share-link").input_value()
            time.sleep(0.5)
            browser_before = tree_cpu_s(sender_root)
            started = time.monotonic()
            cli = Cli("receive", link, "--output", str(out), "--yes")
            sampler = CpuSampler(cli.pid).start()
            spy = self.py_spy(round_no, row.kind, cli.pid)
            # Wait for the first progress with bytes > 0, then for the end.
            deadline = started + self.timeout_s
            first: tuple[float, int] | None = None
            while first is None:
                first = next(
                    (
                        (t, int(e["bytes"]))
                        for t, e in list(cli.events)
                        if e.get("event") == "progress" and e.get("bytes", 0) > 0
                    ),
                    None,
                )
                if first is None:
                    if cli.find("end") or time.monotonic() > deadline:
                        raise RuntimeError(
                            f"browser-to-cli: no progress; events {cli.events[-3:]},"
                            f" stderr {''.join(cli.stderr[-5:])}"
                        )
                    time.sleep(0.02)
            browser_first = tree_cpu_s(sender_root)
            t_end, end = cli.wait_event("end", max(1.0, deadline - time.monotonic()))
            browser_after = tree_cpu_s(sender_root)
            code = cli.wait(timeout_s=30)
            if code != 0 or end.get("code") != 0:
                raise RuntimeError(f"p2pshare receive exited {code}, end {end}: {cli.stderr[-5:]}")
            t_first, bytes_first = first
            row.seconds = t_end - t_first
            row.mbps = (self.size - bytes_first) / row.seconds / MB
            row.wall_mbps = self.size / (t_end - started) / MB
            self.cpu_figures(row, sampler, t_first, t_end)
            # Per MB after the first progress line (the CLI's own figure uses the same bytes).
            moved = (self.size - bytes_first) / MB
            row.moved = self.size - bytes_first
            row.browser_ms_per_mb = (browser_after - browser_first) / moved * 1000
            row.note = (
                f"first progress line at {t_first - started:.2f} s after the CLI started"
                f" ({bytes_first / MB:.1f} MB in), end at {t_end - started:.2f} s;"
                f" sender Chromium CPU from the CLI's start {browser_after - browser_before:.1f} s"
            )
            received = out / self.source.name
            row.hash_ok = received.is_file() and sha256_file(received) == self.source_hash
        finally:
            if cli:
                cli.stop()
            if sampler:
                sampler.stop()
            self.end_py_spy(spy, row.kind)
            page.close()
            shutil.rmtree(out, ignore_errors=True)
        return row


def summarize_raw_profile(path: Path, n: int = 12) -> str:
    """py-spy's raw (collapsed stacks) output: the busiest functions, self and inclusive."""
    own: dict[str, int] = collections.defaultdict(int)
    inclusive: dict[str, int] = collections.defaultdict(int)
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = []
        for frame in stack.split(";"):
            name, _, where = frame.rpartition(" (")
            frames.append(f"{name or frame} {where.rstrip(')').split('/')[-1]}".strip())
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    total = total or 1
    top_own = sorted(own.items(), key=lambda kv: -kv[1])[:n]
    top_incl = sorted(inclusive.items(), key=lambda kv: -kv[1])[: n * 2]
    return (
        f"      {total} samples; self: "
        + ", ".join(f"{name} {c / total:.0%}" for name, c in top_own)
        + "\n      inclusive: "
        + ", ".join(f"{name} {c / total:.0%}" for name, c in top_incl)
    )


# --- main ----------------------------------------------------------------------------------


def launch_browsers(pw: Any, workdir: Path) -> tuple[Any, BrowserContext, BrowserContext]:
    """transfer.py's pair: a sender browser, and a receiver on a persistent on-disk profile."""
    sender_browser = pw.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, marker("sender")]
    )
    receiver = pw.chromium.launch_persistent_context(
        str(workdir / "receiver-profile"),
        executable_path=CHROMIUM,
        headless=True,
        accept_downloads=True,
        downloads_path=str(workdir / "downloads"),
        args=[*CHROMIUM_ARGS, marker("receiver")],
    )
    return sender_browser, sender_browser.new_context(), receiver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 MiB")
    parser.add_argument("--size-mib", type=int, help="file size (default 256; 64 with --quick)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--only", action="append", choices=KINDS, help="run these kinds only")
    parser.add_argument("--py-spy", type=Path, metavar="DIR", help="profile round 1's CLIs")
    args = parser.parse_args()
    size = (args.size_mib or (64 if args.quick else 256)) * MIB
    kinds = [k for k in KINDS if not args.only or k in args.only]
    timeout_s = 60 + size / MB  # never slower than 1 MB/s, plus setup

    print(
        f"cli: {size // MIB} MiB x {args.rounds} rounds; {os.cpu_count()} cores;"
        f" {chromium_version()}; load average {'/'.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="p2pshare-bench-cli-"))
    rows: list[Row] = []
    failed = False
    try:
        source = workdir / "payload.bin"
        source_hash = write_random_file(source, size)
        if args.py_spy:
            args.py_spy.mkdir(parents=True, exist_ok=True)
        server = ServerProcess().start()
        try:
            with bare_site(workdir) as bare_url, sync_playwright() as pw:
                config = json.loads(urllib.request.urlopen(server.url + "/config.json").read())
                sender_browser, sender, receiver = launch_browsers(pw, workdir)
                try:
                    probe = sender.new_page()
                    probe.goto(server.url + "/")
                    chunk = int(
                        probe.evaluate("async () => (await import('/js/wire.js')).CHUNK_SIZE")
                    )
                    probe.close()
                    bench = Bench(
                        servers={"p2pshare": server},
                        sender=sender,
                        receiver=receiver,
                        source=source,
                        size=size,
                        chunk=chunk,
                        bare_url=bare_url,
                        ice_servers=config["iceServers"],
                        timeout_s=timeout_s,
                        bare_high=4 * MIB,
                        bare_low=1 * MIB,
                    )
                    cli = CliBench(
                        bench, server, source, source_hash, workdir, size, timeout_s, args.py_spy
                    )
                    runs = {
                        "bare": cli.run_bare,
                        "cli-to-browser": cli.run_cli_to_browser,
                        "browser-to-cli": cli.run_browser_to_cli,
                    }
                    print(f"frame size {chunk} B (bare); kinds {', '.join(kinds)}", flush=True)
                    for round_no in range(1, args.rounds + 1):
                        order = kinds if round_no % 2 else kinds[::-1]
                        for kind in order:
                            try:
                                row = runs[kind](round_no)
                            except Exception as error:
                                print(f"round {round_no} {kind}: FAILED: {error}", flush=True)
                                failed = True
                                continue
                            rows.append(row)
                            print(row.line(), flush=True)
                finally:
                    receiver.close()
                    sender.close()
                    sender_browser.close()
        finally:
            server.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"load average at the end {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
    summarize(rows, kinds)
    if failed or any(r.hash_ok is False for r in rows):
        sys.exit(1)


def summarize(rows: list[Row], kinds: list[str]) -> None:
    print("== summary (medians)")
    mbps: dict[str, float] = {}
    for kind in kinds:
        runs = [r for r in rows if r.kind == kind]
        if not runs:
            continue
        mbps[kind] = median([r.mbps for r in runs])
        line = f"{kind:14} {mbps[kind]:6.1f} MB/s ({', '.join(f'{r.mbps:.1f}' for r in runs)})"
        if kind == "bare":
            cpu = median([r.browser_ms_per_mb for r in runs])
            line += f"  Chromium sender + receiver {cpu:.1f} ms/MB"
        else:
            per100 = median([r.cli_cpu_s / (r.moved / CPU_MB) for r in runs])
            share = median([r.cli_cpu_s / r.seconds for r in runs])
            busiest = median([r.cli_busiest[1] for r in runs])
            peak = median([r.cli_peak_share for r in runs])
            wait = median([r.cli_wait_s / r.seconds for r in runs])
            line += (
                f"  wall {median([r.wall_mbps for r in runs]):.1f} MB/s"
                f"  CLI CPU {per100:.2f} s/100 MB ({per100 * 10:.1f} ms/MB), {share:.0%} of a core"
                f" (busiest thread {busiest:.0%}, best 1 s {peak:.0%};"
                f" waiting for a CPU {wait:.0%})"
                f"  Chromium peer {median([r.browser_ms_per_mb for r in runs]):.1f} ms/MB"
                f"  hashes {'all ok' if all(r.hash_ok for r in runs) else 'MISMATCH'}"
            )
        print(line)
    bare = mbps.get("bare")
    if not bare:
        print("ratio: no bare run")
        return
    parts = [
        f"{k}/bare = {mbps[k] / bare:.2f}"
        for k in ("cli-to-browser", "browser-to-cli")
        if k in mbps
    ]
    print("ratio " + ", ".join(parts))


if __name__ == "__main__":
    main()
