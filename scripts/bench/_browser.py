"""Measuring Chromium processes from the outside (Linux /proc): memory of a browser's whole
process tree, and CPU time per process and thread.

A browser is found by a marker switch passed at launch (`--p2pshare-bench=<name>`; Chromium
ignores switches it does not know). Its tree is the topmost process carrying the marker (the
/usr/bin/chromium shell wrapper, or the browser itself) and all of its descendants: browser,
zygotes, renderers, GPU and utility processes (network, storage, ...).

Sampling is cheap on purpose, so that it barely competes with what it measures on a 2-core
machine: descendants come from /proc/PID/task/TID/children (psutil would scan every process),
the footprint from /proc/PID/status counters; PSS (smaps_rollup, a page-table walk of a few ms
per Chromium process) is sampled less often.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def marker(name: str) -> str:
    return f"--p2pshare-bench={name}"


def cmdline(pid: int) -> list[str]:
    with contextlib.suppress(OSError):
        args = (PROC / str(pid) / "cmdline").read_bytes().decode(errors="replace")
        # Chromium's child processes rewrite their title: one string with spaces, no NULs.
        return args.rstrip("\0").split("\0") if "\0" in args.rstrip("\0") else args.split()
    return []


def parent(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = (PROC / str(pid) / "stat").read_text()
        return int(stat[stat.rindex(")") + 2 :].split()[1])
    return 0


def find_tree_root(name: str) -> int:
    """The pid of the topmost process of the browser launched with `marker(name)`."""
    flag = marker(name)
    numbers = (int(p.name) for p in PROC.iterdir() if p.name.isdigit())
    pids = {pid for pid in numbers if flag in cmdline(pid)}
    for pid in pids:
        if parent(pid) not in pids:
            return pid
    raise RuntimeError(f"no browser process with {flag}")


def tree(root: int) -> list[int]:
    """`root` and all its descendants that are still alive."""
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        with contextlib.suppress(OSError):
            for task in (PROC / str(pid) / "task").iterdir():
                with contextlib.suppress(OSError):
                    todo.extend(int(c) for c in (task / "children").read_text().split())
    return found


def process_kind(pid: int) -> str:
    """browser | renderer | gpu-process | utility:<service> | zygote | wrapper | gone."""
    args = cmdline(pid)
    if not args or not args[0]:
        return "gone"
    if not args[0].endswith("chromium"):
        return "wrapper"
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "browser")
    if kind == "utility":
        sub = next((a.split("=", 1)[1] for a in args if a.startswith("--utility-sub-type=")), "")
        kind = "utility:" + sub.split(".")[0] if sub else kind
    return kind


@dataclass
class MemorySample:
    t: float
    footprint: int  # sum of RssAnon + VmSwap: Chromium's "private memory footprint" on Linux
    rss: int  # sum of VmRSS (counts shared pages once per process)
    pss: int | None  # sum of PSS (from smaps_rollup), on every `pss_every`-th sample only
    uss: int | None  # sum of private (clean + dirty) memory, from the same smaps_rollup
    processes: int
    by_kind: dict[str, int] = field(default_factory=dict)  # footprint per process kind


def status(pid: int) -> dict[str, int]:
    """Bytes of the kB fields of /proc/PID/status (VmRSS, RssAnon, VmSwap, ...): cheap counters."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            key, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                out[key] = int(parts[0]) * 1024
    return out


def rollup(pid: int) -> dict[str, int]:
    """Bytes from /proc/PID/smaps_rollup (Pss, ...): a page-table walk, a few ms per process."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines()[1:]:
            key, _, value = line.partition(":")
            parts = value.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0]) * 1024
    return out


def measure_tree(root: int, kinds: dict[int, str] | None = None, pss: bool = True) -> MemorySample:
    """Memory of the tree of `root`: footprint and RSS always, PSS if `pss`."""
    kinds = {} if kinds is None else kinds
    footprint = rss = pss_sum = uss_sum = count = 0
    by_kind: dict[str, int] = collections.defaultdict(int)
    for pid in tree(root):
        numbers = status(pid)
        if "VmRSS" not in numbers:
            continue  # gone, or a zombie
        if pid not in kinds:
            kinds[pid] = process_kind(pid)
        mine = numbers.get("RssAnon", 0) + numbers.get("VmSwap", 0)
        footprint += mine
        rss += numbers["VmRSS"]
        if pss:
            detail = rollup(pid)
            pss_sum += detail.get("Pss", 0)
            uss_sum += detail.get("Private_Clean", 0) + detail.get("Private_Dirty", 0)
        count += 1
        by_kind[kinds[pid]] += mine
    return MemorySample(
        time.monotonic(),
        footprint,
        rss,
        pss_sum if pss else None,
        uss_sum if pss else None,
        count,
        dict(by_kind),
    )


@dataclass
class MemorySampler:
    """Samples a browser tree's memory every `interval_s` in a thread (PSS every `pss_every`
    samples: it costs ~25 ms of CPU on a 2-core machine), until the with block ends."""

    root: int
    interval_s: float = 0.2
    pss_every: int = 5
    samples: list[MemorySample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        kinds: dict[int, str] = {}
        n = 0
        while not self._stop.is_set():
            self.samples.append(measure_tree(self.root, kinds, pss=n % self.pss_every == 0))
            n += 1
            self._stop.wait(self.interval_s)


def thread_cpu(root: int) -> dict[tuple[int, str, int, str], float]:
    """CPU seconds (user + system) so far per (pid, process kind, tid, thread name)."""
    out: dict[tuple[int, str, int, str], float] = {}
    for pid in tree(root):
        kind = process_kind(pid)
        with contextlib.suppress(OSError):
            for task in (PROC / str(pid) / "task").iterdir():
                with contextlib.suppress(OSError, ValueError):
                    text = (task / "stat").read_text()
                    name = text[text.index("(") + 1 : text.rindex(")")]
                    if int(task.name) == pid:
                        name = "main"  # a process's first thread bears the program's name
                    fields = text[text.rindex(")") + 2 :].split()
                    ticks = int(fields[11]) + int(fields[12])
                    out[(pid, kind, int(task.name), name)] = ticks / CLOCK_TICKS
    return out


def cpu_delta(
    before: dict[tuple[int, str, int, str], float], after: dict[tuple[int, str, int, str], float]
) -> dict[tuple[str, str], float]:
    """CPU seconds spent between two `thread_cpu` snapshots per (process kind, thread name).

    Threads of a pool share a name and are summed, and so are processes of one kind (only
    the renderer of the page under test is busy during a transfer)."""
    spent: dict[tuple[str, str], float] = collections.defaultdict(float)
    for key, seconds in after.items():
        _, kind, _, name = key
        spent[(kind, _thread_group(name))] += seconds - before.get(key, 0.0)
    return dict(spent)


def _thread_group(name: str) -> str:
    # Pools number their threads ("ThreadPoolForeg", "ThreadPoolSingl"...): keep the stem.
    return name.rstrip("0123456789").rstrip("/-_ ") or name
