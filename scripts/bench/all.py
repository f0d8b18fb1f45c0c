"""Every benchmark, one after another, and one table of their ratios with the commit and date.

    python scripts/bench/all.py --quick            # the three quick runs (about 6 minutes)
    python scripts/bench/all.py                    # the full runs (about 20 minutes)
    python scripts/bench/all.py --quick --only stun --only signaling
    python scripts/bench/all.py --log-dir DIR      # keep each run's whole output in DIR

Each benchmark runs as its own process (`scripts/bench/<name>.py`, with `--quick` when asked),
its output streamed through with a `[name]` prefix. Its last line is its ratio against the
baseline it measured in the same run; the table repeats those lines with the wall time and
exit status of each run, headed by the commit (with `+dirty` when the work tree differs from
it: such figures belong to no commit), the UTC date, and the machine's load average before and
after. That table is what docs/benchmarks.md quotes. Exits 1 if any run failed or printed no
ratio. Benchmarks are bounded in time and count; each stops by itself.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = ("stun", "signaling", "transfer")
"""In the order they run: the cheapest first, so a broken setup shows early."""
TIMEOUT_S = {"stun": 600, "signaling": 1800, "transfer": 3600}
"""Per run, full mode; the quick runs take a small part of it."""


@dataclass
class Run:
    name: str
    status: int
    seconds: float
    ratio_line: str


def commit() -> str:
    """The short commit of the work tree, `+dirty` if tracked files differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    head = git("rev-parse", "--short=10", "HEAD") or "unknown"
    return head + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def chromium_version() -> str:
    try:
        done = subprocess.run(
            ["chromium", "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "no chromium"
    return done.stdout.strip() or "no chromium"


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def run_one(name: str, *, quick: bool, log_dir: Path | None) -> Run:
    command = [sys.executable, str(REPO / "scripts" / "bench" / f"{name}.py")]
    if quick:
        command.append("--quick")
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    log = (log_dir / f"{name}.log").open("w") if log_dir else None
    started = time.monotonic()
    last = ""
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        watchdog = threading.Timer(TIMEOUT_S[name], proc.kill)  # a hung run ends too
        watchdog.start()
        try:
            for line in proc.stdout:
                print(f"[{name}] {line}", end="", flush=True)
                if log:
                    log.write(line)
                if line.strip():
                    last = line.strip()
            status = proc.wait()
        except BaseException:
            proc.kill()
            raise
        finally:
            watchdog.cancel()
            if log:
                log.close()
    seconds = time.monotonic() - started
    ratio = last if last.startswith("ratio ") else f"(no ratio: last line {last!r})"
    return Run(name, status, seconds, ratio)


def table(runs: list[Run], *, quick: bool, head: str, date: str, loads: tuple[str, str]) -> str:
    mode = "--quick" if quick else "full"
    lines = [
        f"commit {head}, {date}, {mode}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {chromium_version()}, load average {loads[0]} -> "
        f"{loads[1]}",
        "",
        "| benchmark | ratio (last line of the run) | wall time | exit |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{r.name}.py{' --quick' if quick else ''}` | `{r.ratio_line}` | {r.seconds:.0f} s "
        f"| {r.status} |"
        for r in runs
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="each benchmark's --quick mode")
    parser.add_argument(
        "--only", action="append", choices=BENCHMARKS, help="run this one (repeatable)"
    )
    parser.add_argument("--log-dir", type=Path, help="write each run's whole output here")
    args = parser.parse_args(argv)
    names = [name for name in BENCHMARKS if not args.only or name in args.only]
    if args.log_dir:
        args.log_dir.mkdir(parents=True, exist_ok=True)
    head = commit()
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = load_average()
    runs = [run_one(name, quick=args.quick, log_dir=args.log_dir) for name in names]
    summary = table(
        runs, quick=args.quick, head=head, date=date, loads=(load_before, load_average())
    )
    print("\n" + summary)
    if args.log_dir:
        (args.log_dir / "summary.md").write_text(summary + "\n")
    failed = [r.name for r in runs if r.status != 0 or not r.ratio_line.startswith("ratio ")]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
