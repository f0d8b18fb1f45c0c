"""Transfer throughput: p2pshare's full path against a bare data channel, same run, loopback.

Two separate headless Chromium processes (Debian's chromium, driven by Playwright): a sender
and a receiver. The receiver runs on a persistent on-disk profile, as a real user's browser
does (an incognito-like Playwright context would keep OPFS in memory).

- **p2pshare**: a `python -m p2pshare serve` subprocess; the sender page opens `/` and picks an
  `--size-mib` MiB file of random bytes; the receiver page opens the share link and clicks
  Accept; the file goes through the whole path (sealed signaling, WebRTC, chunking, block and
  whole-file SHA-256 on both sides, OPFS writes, IndexedDB progress, the download) and the
  download's SHA-256 is compared with the source file's.
- **bare**: a page with no application logic (served by a stdlib HTTP server on another
  loopback port) in each of the same two browsers: one ordered, reliable data channel, the
  same ICE servers and the same frame size as p2pshare's CHUNK_SIZE, `bufferedAmountLowThreshold`
  backpressure; the receiver only counts bytes. This is the ceiling on this machine.

Throughput is measured on the receiving page, from the first byte to the end (p2pshare: the
transfer state `done`, i.e. the last block verified and written and the file verified;
bare: the last byte counted), in MB/s (1e6 B/s). Time to first byte is from the receiver's
navigation to the link (performance.timeOrigin) to its first byte, including page load, the
signaling, the WebRTC connection and the Accept click (which the script does as soon as the
button is enabled). Receiver memory is summed over the receiving browser's whole process
tree (see _browser.py): the footprint (RssAnon + VmSwap, Chromium's "private memory footprint")
every 200 ms, PSS and USS every second; reported are the idle value (page loaded and
connected, before Accept), the peak during the transfer, and the peak while the first quarter
of the file arrived (memory flat in the file size means the last two are alike). CPU seconds
per process and thread (from /proc) over each transfer make the profile (`--cpu` per round;
the summary gives ms per MB moved).

`--rounds` rounds (default 2; 3 with `--quick`) alternate which of the two goes first; the
summary takes medians. Every step has a timeout; a hash mismatch makes the exit status 1.
The last line is the ratio of the medians:

    ratio p2pshare/bare = X.XX

    python scripts/bench/transfer.py [--quick] [--size-mib 1024] [--rounds 2] [--only p2pshare]
        [--cpu] [--profile DIR] [--trace DIR] [--variant NAME=WEB_ROOT] [--receiver-incognito]

`--variant` serves a modified copy of web/ from another server and runs it as one more kind
in the same rounds: the way to compare a tuning change under the same machine load.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, sync_playwright

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _browser import (  # noqa: E402
    MemorySample,
    MemorySampler,
    cpu_delta,
    find_tree_root,
    marker,
    measure_tree,
    thread_cpu,
)

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, ServerProcess  # noqa: E402

MB = 1e6
MIB = 1 << 20

# Injected into the receiving p2pshare page before its scripts run: timestamps only, read
# afterwards (performance.now() is relative to the navigation start).
PROBE_JS = """
(() => {
  const b = (globalThis.__bench = { accept: 0, first: 0, last: 0, done: 0, state: '' });
  document.addEventListener('click', (e) => {
    const accept = e.target.closest && e.target.closest('[data-testid=accept]');
    if (accept && !b.accept) b.accept = performance.now();
  }, true);
  // main.js publishes its controller as globalThis.p2pshare: wrap the receiver's onBytes (a
  // timestamp per frame) and watch its change events, so nothing polls.
  let value;
  Object.defineProperty(globalThis, 'p2pshare', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (v) => {
      value = v;
      const r = v && v.receiver;
      if (!r) return;
      const onBytes = r.onBytes;
      r.onBytes = function (buffer) {
        const now = performance.now();
        if (!b.first) b.first = now;
        b.last = now;
        return onBytes.call(this, buffer);
      };
      r.addEventListener('change', () => {
        const state = r.aggregateState;
        if (!b.done && (state === 'done' || state === 'error')) {
          b.done = performance.now();
          b.state = state;
        }
      });
    },
  });
})();
"""

BARE_HTML = """<!doctype html>
<meta charset="utf-8"><title>bare data channel</title>
<script>
const bench = { candidates: [], received: 0, total: 0, first: 0, last: 0, sendDone: 0 };
let pc = null, channel = null;
function makePc(iceServers) {
  pc = new RTCPeerConnection({ iceServers });
  pc.onicecandidate = (e) => { if (e.candidate) bench.candidates.push(e.candidate.toJSON()); };
}
function onMessage(event) {
  const n = typeof event.data === 'string' ? event.data.length : event.data.byteLength;
  if (!bench.first) bench.first = performance.now();
  bench.received += n;
  if (bench.received >= bench.total && !bench.last) bench.last = performance.now();
}
async function makeOffer(iceServers) {
  makePc(iceServers);
  channel = pc.createDataChannel('bare', { ordered: true });
  channel.binaryType = 'arraybuffer';
  await pc.setLocalDescription(await pc.createOffer());
  return pc.localDescription.sdp;
}
async function makeAnswer(iceServers, sdp) {
  makePc(iceServers);
  pc.ondatachannel = (e) => {
    channel = e.channel;
    channel.binaryType = 'arraybuffer';
    channel.onmessage = onMessage;
  };
  await pc.setRemoteDescription({ type: 'offer', sdp });
  await pc.setLocalDescription(await pc.createAnswer());
  return pc.localDescription.sdp;
}
async function takeAnswer(sdp) { await pc.setRemoteDescription({ type: 'answer', sdp }); }
function takeCandidates() { const c = bench.candidates; bench.candidates = []; return c; }
async function addCandidates(list) {
  for (const c of list) { try { await pc.addIceCandidate(c); } catch {} }
}
function isOpen() { return Boolean(channel && channel.readyState === 'open'); }
function expect(total) { Object.assign(bench, { received: 0, total, first: 0, last: 0 }); }
async function send(total, chunk, high, low) {
  const block = new Uint8Array(1 << 20);
  for (let i = 0; i < block.length; i += 65536) {
    crypto.getRandomValues(block.subarray(i, i + 65536));
  }
  channel.bufferedAmountLowThreshold = low;
  let sent = 0;
  while (sent < total) {
    if (channel.bufferedAmount > high) {
      await new Promise((resolve) => {
        channel.addEventListener('bufferedamountlow', resolve, { once: true });
      });
    }
    const offset = sent % block.length;
    const n = Math.min(chunk, block.length - offset, total - sent);
    channel.send(block.subarray(offset, offset + n));
    sent += n;
  }
  bench.sendDone = performance.now();
}
</script>
"""


@dataclass
class Result:
    kind: str
    round: int
    size: int
    mbps: float = 0.0
    first_byte_ms: float = 0.0
    accept_ms: float = 0.0
    tail_ms: float = 0.0  # last byte -> done (p2pshare)
    # Receiver memory (bytes): the footprint is the headline (see _browser.MemorySample).
    idle: MemorySample | None = None
    peak_footprint: int = 0
    peak_footprint_first_quarter: int = 0
    peak_pss: int = 0
    peak_pss_first_quarter: int = 0
    peak_uss: int = 0
    peak_uss_first_quarter: int = 0
    peak_rss: int = 0
    peak_by_kind: dict[str, int] = field(default_factory=dict)
    hash_ok: bool | None = None
    cpu: dict[tuple[str, str], float] = field(default_factory=dict)
    cpu_sender: dict[tuple[str, str], float] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self) -> str:
        text = f"round {self.round} {self.kind:8} {self.mbps:6.1f} MB/s"
        if self.kind.startswith("p2pshare"):
            text += (
                f"  first byte {self.first_byte_ms:5.0f} ms (accept at {self.accept_ms:4.0f})"
                f"  done {self.tail_ms:4.0f} ms after the last byte"
                f"  hash {'ok' if self.hash_ok else 'MISMATCH'}"
            )
        idle = self.idle or MemorySample(0, 0, 0, 0, 0, 0)
        text += (
            f"\n    receiver memory, idle -> peak (peak while the first quarter arrived):"
            f" footprint {idle.footprint / MB:.0f} -> {self.peak_footprint / MB:.0f}"
            f" ({self.peak_footprint_first_quarter / MB:.0f}) MB,"
            f" PSS {(idle.pss or 0) / MB:.0f} -> {self.peak_pss / MB:.0f}"
            f" ({self.peak_pss_first_quarter / MB:.0f}) MB,"
            f" USS {(idle.uss or 0) / MB:.0f} -> {self.peak_uss / MB:.0f}"
            f" ({self.peak_uss_first_quarter / MB:.0f}) MB, RSS peak {self.peak_rss / MB:.0f} MB"
        )
        kinds = sorted(self.peak_by_kind, key=lambda k: -self.peak_by_kind[k])
        text += "\n    footprint by process, idle -> peak: " + ", ".join(
            f"{k} {idle.by_kind.get(k, 0) / MB:.0f} -> {self.peak_by_kind[k] / MB:.0f}"
            for k in kinds
        )
        return text


@dataclass
class Bench:
    servers: dict[str, ServerProcess]
    sender: BrowserContext
    receiver: BrowserContext
    source: Path
    size: int
    chunk: int
    bare_url: str
    ice_servers: list[dict[str, Any]]
    timeout_s: float
    bare_high: int
    bare_low: int
    profile_dir: Path | None = None
    trace_dir: Path | None = None

    def roots(self) -> tuple[int, int]:
        return find_tree_root("sender"), find_tree_root("receiver")

    def start_profilers(
        self, round_no: int, kind: str, sender: Page, receiver: Page
    ) -> list[tuple[str, Any]]:
        """JS sampling profilers (CDP Profiler) on both pages' main threads, first round."""
        if not self.profile_dir or round_no != 1:
            return []
        started = []
        for side, page in (("sender", sender), ("receiver", receiver)):
            session = page.context.new_cdp_session(page)
            session.send("Profiler.enable")
            session.send("Profiler.setSamplingInterval", {"interval": 500})
            session.send("Profiler.start")
            started.append((f"{kind.replace(':', '-')}-{side}", session))
        return started

    def stop_profilers(self, profilers: list[tuple[str, Any]]) -> None:
        for name, session in profilers:
            profile = session.send("Profiler.stop")["profile"]
            path = self.profile_dir / f"{name}.cpuprofile"
            path.write_text(json.dumps(profile))
            print(f"    {name}: {path} — self time, top functions: {top_functions(profile)}")

    def start_tracing(self, round_no: int, page: Page) -> Any:
        """A Chrome trace of the receiving browser (all its processes), first round only."""
        if not self.trace_dir or round_no != 1:
            return None
        session = page.context.new_cdp_session(page)
        session.send(
            "Tracing.start",
            {
                "transferMode": "ReturnAsStream",
                "traceConfig": {
                    "recordMode": "recordContinuously",
                    "includedCategories": ["toplevel", "mojom", "ipc", "IndexedDB", "blink"],
                },
            },
        )
        return session

    def stop_tracing(self, session: Any, kind: str) -> None:
        if session is None or self.trace_dir is None:
            return
        done = threading.Event()
        handle: dict[str, str] = {}

        def complete(params: dict[str, Any]) -> None:
            handle["stream"] = params["stream"]
            done.set()

        session.on("Tracing.tracingComplete", complete)
        session.send("Tracing.end")
        deadline = time.monotonic() + 60
        while not done.is_set() and time.monotonic() < deadline:
            session.send("Runtime.evaluate", {"expression": "1"})  # pumps events
            time.sleep(0.1)
        chunks = []
        while True:
            part = session.send("IO.read", {"handle": handle["stream"], "size": 1 << 20})
            chunks.append(part["data"])
            if part.get("eof"):
                break
        session.send("IO.close", {"handle": handle["stream"]})
        path = self.trace_dir / f"{kind.replace(':', '-')}-receiver.trace.json"
        path.write_text("".join(chunks))
        print(f"    trace: {path}")
        print(summarize_trace(json.loads(path.read_text())))

    def memory_figures(
        self,
        result: Result,
        memory: MemorySampler,
        progress: list[tuple[float, int]],
        started: float,
    ) -> None:
        quarter_at = next((t for t, got in progress if got >= self.size / 4), started)
        during = [s for s in memory.samples if s.t >= started]
        early = [s for s in during if s.t <= quarter_at]
        if during:
            top = max(during, key=lambda s: s.footprint)
            result.peak_by_kind = top.by_kind
            result.peak_footprint = top.footprint
            result.peak_rss = max(s.rss for s in during)
            result.peak_pss = max(s.pss or 0 for s in during)
            result.peak_uss = max(s.uss or 0 for s in during)
        if early:
            result.peak_footprint_first_quarter = max(s.footprint for s in early)
            result.peak_pss_first_quarter = max(s.pss or 0 for s in early)
            result.peak_uss_first_quarter = max(s.uss or 0 for s in early)

    # --- p2pshare ----------------------------------------------------------------------

    def run_p2pshare(self, round_no: int, source_hash: str, kind: str = "p2pshare") -> Result:
        result = Result(kind, round_no, self.size)
        server = self.servers[kind]
        sender_root, receiver_root = self.roots()
        sender = self.sender.new_page()
        receiver = self.receiver.new_page()
        try:
            sender.goto(server.url + "/")
            sender.get_by_test_id("file-input").set_input_files(str(self.source))
            sender.wait_for_function(
                "() => document.querySelector('[data-testid=share-link]').value.includes('#')",
                timeout=30_000,
            )
            link = sender.get_by_test_id("share-link").input_value()
            receiver.add_init_script(PROBE_JS)
            time.sleep(0.5)
            cpu_before = thread_cpu(receiver_root), thread_cpu(sender_root)
            progress: list[tuple[float, int]] = []
            with (
                MemorySampler(receiver_root) as memory,
                receiver.expect_download(timeout=self.timeout_s * 1000) as download_info,
            ):
                started = time.monotonic()
                receiver.goto(link)
                accept = receiver.get_by_test_id("accept")
                accept.wait_for(timeout=30_000)
                receiver.wait_for_function(
                    "() => !document.querySelector('[data-testid=accept]').disabled",
                    timeout=30_000,
                )
                # Idle: the page loaded and connected, before Accept (the transfer's own cost
                # is peak minus this).
                result.idle = measure_tree(receiver_root)
                accept.click(timeout=30_000)
                profilers = self.start_profilers(round_no, kind, sender, receiver)
                tracing = self.start_tracing(round_no, receiver)
                while True:
                    got, state = receiver.evaluate(
                        "() => [p2pshare.receiver.receivedBytes, globalThis.__bench.done]"
                    )
                    progress.append((time.monotonic(), int(got)))
                    if state:
                        break
                    if time.monotonic() - started > self.timeout_s:
                        raise TimeoutError(f"p2pshare transfer not done after {self.timeout_s} s")
                    time.sleep(0.5)
                result.seconds = time.monotonic() - started
                cpu_after = thread_cpu(receiver_root), thread_cpu(sender_root)
                self.stop_profilers(profilers)
                self.stop_tracing(tracing, kind)
            result.cpu = cpu_delta(cpu_before[0], cpu_after[0])
            result.cpu_sender = cpu_delta(cpu_before[1], cpu_after[1])
            marks = receiver.evaluate("() => globalThis.__bench")
            for side, page in (("sender", sender), ("receiver", receiver)):
                # Counters an instrumented copy of the client (--variant) may keep.
                stats = page.evaluate("() => globalThis.__benchStats || null")
                if stats:
                    print(f"    {kind} {side} stats: {format_stats(stats)}")
            if marks.get("state") != "done":
                raise RuntimeError(f"the receiver ended in state {marks.get('state')}")
            result.first_byte_ms = marks["first"]
            result.accept_ms = marks["accept"]
            result.tail_ms = marks["done"] - marks["last"]
            result.mbps = self.size / ((marks["done"] - marks["first"]) / 1000) / MB
            download = download_info.value
            path = download.path()
            result.hash_ok = sha256_file(Path(path)) == source_hash
            download.delete()
            self.memory_figures(result, memory, progress, started)
            # Free the receiver's OPFS copy (the profile persists across rounds).
            receiver.evaluate(
                "async () => { try { await (await navigator.storage.getDirectory())"
                ".removeEntry('p2pshare', { recursive: true }); } catch {} }"
            )
        finally:
            receiver.close()
            sender.close()
        return result

    # --- bare data channel -------------------------------------------------------------

    def run_bare(self, round_no: int) -> Result:
        result = Result("bare", round_no, self.size)
        sender_root, receiver_root = self.roots()
        sender = self.sender.new_page()
        receiver = self.receiver.new_page()
        try:
            sender.goto(self.bare_url)
            receiver.goto(self.bare_url)
            offer = sender.evaluate("ice => makeOffer(ice)", self.ice_servers)
            answer = receiver.evaluate(
                "([ice, sdp]) => makeAnswer(ice, sdp)", [self.ice_servers, offer]
            )
            sender.evaluate("sdp => takeAnswer(sdp)", answer)
            deadline = time.monotonic() + 30
            while not (sender.evaluate("isOpen()") and receiver.evaluate("isOpen()")):
                receiver.evaluate("c => addCandidates(c)", sender.evaluate("takeCandidates()"))
                sender.evaluate("c => addCandidates(c)", receiver.evaluate("takeCandidates()"))
                if time.monotonic() > deadline:
                    raise TimeoutError("the bare data channel did not open")
                time.sleep(0.05)
            receiver.evaluate("n => expect(n)", self.size)
            time.sleep(0.5)
            result.idle = measure_tree(receiver_root)
            cpu_before = thread_cpu(receiver_root), thread_cpu(sender_root)
            progress: list[tuple[float, int]] = []
            with MemorySampler(receiver_root) as memory:
                started = time.monotonic()
                sender.evaluate(
                    "([n, chunk, high, low]) => { send(n, chunk, high, low); }",
                    [self.size, self.chunk, self.bare_high, self.bare_low],
                )
                while True:
                    got, last = receiver.evaluate("() => [bench.received, bench.last]")
                    progress.append((time.monotonic(), int(got)))
                    if last:
                        break
                    if time.monotonic() - started > self.timeout_s:
                        raise TimeoutError(f"bare transfer not done after {self.timeout_s} s")
                    time.sleep(0.5)
                result.seconds = time.monotonic() - started
                cpu_after = thread_cpu(receiver_root), thread_cpu(sender_root)
            result.cpu = cpu_delta(cpu_before[0], cpu_after[0])
            result.cpu_sender = cpu_delta(cpu_before[1], cpu_after[1])
            marks = receiver.evaluate("() => bench")
            result.mbps = self.size / ((marks["last"] - marks["first"]) / 1000) / MB
            self.memory_figures(result, memory, progress, started)
        finally:
            receiver.close()
            sender.close()
        return result


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def write_random_file(path: Path, size: int) -> str:
    """`size` random bytes, written 1 MiB at a time; returns their SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            chunk = os.urandom(min(MIB, left))
            digest.update(chunk)
            f.write(chunk)
            left -= len(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def bare_site(root: Path) -> Iterator[str]:
    (root / "bare.html").write_text(BARE_HTML)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/bare.html"
    finally:
        httpd.shutdown()
        httpd.server_close()


def chromium_version() -> str:
    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip()


def top_threads(cpu: dict[tuple[str, str], float], seconds: float, n: int = 6) -> str:
    busy = sorted(cpu.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{kind}/{name} {s / seconds:.0%}" for (kind, name), s in busy if s > 0)


def format_stats(stats: dict[str, Any]) -> str:
    """Counters from an instrumented client: lists become percentiles, the rest as is."""
    out = {}
    for key, value in stats.items():
        if isinstance(value, list) and value and all(isinstance(v, int | float) for v in value):
            ordered = sorted(value)
            out[key] = {
                f"p{q}": ordered[min(len(ordered) - 1, len(ordered) * q // 100)]
                for q in (10, 50, 90, 99)
            }
        elif isinstance(value, float):
            out[key] = round(value, 1)
        elif isinstance(value, dict) and len(value) > 20:
            continue
        else:
            out[key] = value
    return json.dumps(out)


def summarize_trace(trace: Any, n: int = 8) -> str:
    """Busiest top-level tasks per thread of a Chrome trace (complete events' self time)."""
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    names: dict[tuple[int, int], str] = {}
    processes: dict[int, str] = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            names[(e["pid"], e["tid"])] = e["args"]["name"]
        if e.get("ph") == "M" and e.get("name") == "process_name":
            processes[e["pid"]] = e["args"]["name"]
    per_thread: dict[str, dict[str, float]] = {}
    for e in events:
        if e.get("ph") != "X" or "dur" not in e or e.get("cat") != "toplevel":
            continue
        thread = f"{processes.get(e['pid'], e['pid'])}/{names.get((e['pid'], e['tid']), e['tid'])}"
        args = e.get("args", {})
        source = args.get("src_func") or args.get("src", {}).get("function_name") or ""
        label = f"{e['name']} {source}".strip()
        per_thread.setdefault(thread, {})
        per_thread[thread][label] = per_thread[thread].get(label, 0.0) + e["dur"] / 1000
    lines = []
    busiest = sorted(per_thread.items(), key=lambda kv: -sum(kv[1].values()))[:n]
    for thread, tasks in busiest:
        top = sorted(tasks.items(), key=lambda kv: -kv[1])[:5]
        lines.append(
            f"      {thread}: {sum(tasks.values()):.0f} ms: "
            + ", ".join(f"{label} {ms:.0f}" for label, ms in top)
        )
    return "\n".join(lines)


def top_functions(profile: dict[str, Any], n: int = 8) -> str:
    """The functions with the most self time in a CDP Profiler profile, in % of samples."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    counts: dict[str, int] = {}
    for sample in profile.get("samples", []):
        frame = nodes[sample]["callFrame"]
        url = frame["url"].rsplit("/", 1)[-1]
        where = f"{url}:{frame['lineNumber'] + 1}" if url else ""
        name = f"{frame['functionName'] or '(anonymous)'} {where}".strip()
        counts[name] = counts.get(name, 0) + 1
    total = sum(counts.values()) or 1
    busy = sorted(counts.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{name} {count / total:.0%}" for name, count in busy)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="128 MiB, 3 rounds")
    parser.add_argument("--size-mib", type=int, help="file size (default 1024; 128 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds (default 2; 3 with --quick)")
    parser.add_argument("--only", choices=["p2pshare", "bare"], help="run one side only")
    parser.add_argument("--chunk", type=int, help="bare frame size (default: wire.js CHUNK_SIZE)")
    parser.add_argument("--bare-high", type=int, default=4 * MIB, help="bare high-water mark")
    parser.add_argument("--bare-low", type=int, default=1 * MIB, help="bare low threshold")
    parser.add_argument("--cpu", action="store_true", help="print the busiest threads per round")
    parser.add_argument(
        "--receiver-incognito",
        action="store_true",
        help="receive in a fresh Playwright context (off the record: OPFS lives in memory) instead"
        " of a persistent on-disk profile",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="save CDP JS profiles (.cpuprofile) of both p2pshare pages in round 1 to DIR",
    )
    parser.add_argument(
        "--trace",
        type=Path,
        metavar="DIR",
        help="save a Chrome trace of the receiving browser during round 1 (p2pshare) to DIR",
    )
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME=WEB_ROOT",
        help="also run p2pshare served from another web root (a modified copy of web/), as"
        " p2pshare:NAME in the same rounds: A/B tuning under the same load",
    )
    args = parser.parse_args()
    size = (args.size_mib or (128 if args.quick else 1024)) * MIB
    rounds = args.rounds or (3 if args.quick else 2)
    # Never slower than 1 MB/s, plus setup.
    timeout_s = 60 + size / MB

    print(
        f"transfer: {size // MIB} MiB x {rounds} rounds; {os.cpu_count()} cores;"
        f" {chromium_version()}; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    variants = dict(v.split("=", 1) for v in args.variant)
    workdir = Path(tempfile.mkdtemp(prefix="p2pshare-bench-transfer-"))
    results: list[Result] = []
    try:
        source = workdir / "payload.bin"
        t0 = time.monotonic()
        source_hash = write_random_file(source, size)
        print(f"source file written in {time.monotonic() - t0:.1f} s", flush=True)
        servers = {"p2pshare": ServerProcess().start()}
        for name, root in variants.items():
            servers[f"p2pshare:{name}"] = ServerProcess(extra=["--web-root", root]).start()
        server = servers["p2pshare"]
        try:
            with (
                bare_site(workdir) as bare_url,
                sync_playwright() as pw,
            ):
                config = json.loads(urllib.request.urlopen(server.url + "/config.json").read())
                launch_args = [*CHROMIUM_ARGS]
                sender_browser = pw.chromium.launch(
                    executable_path=CHROMIUM,
                    headless=True,
                    args=[*launch_args, marker("sender")],
                )
                if args.receiver_incognito:
                    receiver_browser = pw.chromium.launch(
                        executable_path=CHROMIUM,
                        headless=True,
                        downloads_path=str(workdir / "downloads"),
                        args=[*launch_args, marker("receiver")],
                    )
                    receiver_context = receiver_browser.new_context(accept_downloads=True)
                else:
                    receiver_context = pw.chromium.launch_persistent_context(
                        str(workdir / "receiver-profile"),
                        executable_path=CHROMIUM,
                        headless=True,
                        accept_downloads=True,
                        downloads_path=str(workdir / "downloads"),
                        args=[*launch_args, marker("receiver")],
                    )
                sender_context = sender_browser.new_context()
                chunk = args.chunk
                if not chunk:
                    probe = sender_context.new_page()
                    probe.goto(server.url + "/")
                    chunk = int(
                        probe.evaluate("async () => (await import('/js/wire.js')).CHUNK_SIZE")
                    )
                    probe.close()
                bench = Bench(
                    servers=servers,
                    sender=sender_context,
                    receiver=receiver_context,
                    source=source,
                    size=size,
                    chunk=chunk,
                    bare_url=bare_url,
                    ice_servers=config["iceServers"],
                    timeout_s=timeout_s,
                    bare_high=args.bare_high,
                    bare_low=args.bare_low,
                    profile_dir=args.profile,
                    trace_dir=args.trace,
                )
                for folder in (args.profile, args.trace):
                    if folder:
                        folder.mkdir(parents=True, exist_ok=True)
                print(f"frame size {chunk} B; bare backpressure {args.bare_high}/{args.bare_low} B")
                for round_no in range(1, rounds + 1):
                    order = [*servers, "bare"]
                    if not round_no % 2:
                        order.reverse()
                    for kind in order:
                        if args.only and kind.split(":")[0] != args.only:
                            continue
                        if kind.startswith("p2pshare"):
                            result = bench.run_p2pshare(round_no, source_hash, kind)
                        else:
                            result = bench.run_bare(round_no)
                        results.append(result)
                        print(result.line(), flush=True)
                        if args.cpu:
                            busy = top_threads(result.cpu, result.seconds)
                            print(f"    receiver CPU: {busy}")
                            busy = top_threads(result.cpu_sender, result.seconds)
                            print(f"    sender CPU:   {busy}")
                sender_context.close()
                sender_browser.close()
                receiver_context.close()
                if args.receiver_incognito:
                    receiver_browser.close()
        finally:
            for each in servers.values():
                each.stop()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    summarize(results)
    if any(r.hash_ok is False for r in results):
        sys.exit(1)


def summarize(results: list[Result]) -> None:
    kinds = ["bare", *dict.fromkeys(r.kind for r in results if r.kind != "bare")]
    by_kind = {k: [r for r in results if r.kind == k] for k in kinds}
    print("== summary (medians)")
    for kind, runs in by_kind.items():
        if not runs:
            continue
        mbps = median([r.mbps for r in runs])
        line = f"{kind:8} {mbps:6.1f} MB/s"
        for label in ("footprint", "pss", "uss"):
            peak = median([getattr(r, f"peak_{label}") for r in runs]) / MB
            idle = median([getattr(r.idle, label) or 0 for r in runs if r.idle]) / MB
            early = median([getattr(r, f"peak_{label}_first_quarter") for r in runs]) / MB
            line += f"  receiver {label} peak {peak:.0f} MB"
            line += f" (idle {idle:.0f}, first quarter {early:.0f})"
        if kind != "bare":
            line += f"  first byte {median([r.first_byte_ms for r in runs]):.0f} ms"
            line += f"  hashes {'all ok' if all(r.hash_ok for r in runs) else 'MISMATCH'}"
        print(line)
        # CPU per MB moved, by thread, summed over rounds: the profile.
        moved = sum(r.size for r in runs) / MB
        for side, attr in (("receiver", "cpu"), ("sender", "cpu_sender")):
            total: dict[tuple[str, str], float] = {}
            for r in runs:
                for key, s in getattr(r, attr).items():
                    total[key] = total.get(key, 0.0) + s
            busy = sorted(total.items(), key=lambda kv: -kv[1])
            all_ms = sum(total.values()) / moved * 1000
            parts = [f"{k}/{n} {s / moved * 1000:.1f}" for (k, n), s in busy[:10] if s > 0.05]
            print(f"    {side} CPU ms/MB {all_ms:.1f}: " + ", ".join(parts))
    bare = median([r.mbps for r in by_kind["bare"]])
    if not bare:
        return
    for kind in kinds[2:]:
        print(f"ratio {kind}/bare = {median([r.mbps for r in by_kind[kind]]) / bare:.2f}")
    if by_kind.get("p2pshare"):
        print(f"ratio p2pshare/bare = {median([r.mbps for r in by_kind['p2pshare']]) / bare:.2f}")


if __name__ == "__main__":
    main()
