"""What the command-line peer shows: progress bars with speed and ETA on a terminal, or one
JSON object per line with `--json` (for scripts; the keys are documented in the README)."""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

__all__ = ["Display", "format_bytes", "format_duration", "peer_tag"]

PEER_TAG_CHARS = 4  # web/js/view-model.js peerTag: the receiver's page shows the same tag

REDRAW_INTERVAL_S = 0.25
SPEED_WINDOW_S = 3.0


def peer_tag(peer: str) -> str:
    """The short tag both sides show, so the sender can tell which receiver is whom."""
    return peer[:PEER_TAG_CHARS]


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


@dataclass
class _Bar:
    label: str
    done_bytes: int = 0
    total_bytes: int = 0
    status: str = ""
    samples: list[tuple[float, int]] = field(default_factory=list)

    def speed(self, now_s: float) -> float:
        self.samples.append((now_s, self.done_bytes))
        while len(self.samples) > 2 and now_s - self.samples[0][0] > SPEED_WINDOW_S:
            self.samples.pop(0)
        (t0, b0), (t1, b1) = self.samples[0], self.samples[-1]
        return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


class Display:
    """Bars by key (a receiver, or "receive"), messages, and the JSON-lines form of both."""

    def __init__(self, *, json_lines: bool, stream: TextIO | None = None) -> None:
        self.json_lines = json_lines
        self.stream = stream or (sys.stdout if json_lines else sys.stderr)
        self.tty = self.stream.isatty() and not json_lines
        self.bars: dict[str, _Bar] = {}
        self._drawn_lines = 0
        self._last_draw_s = 0.0

    def event(self, kind: str, **fields: Any) -> None:
        """Something happened: a line of text (or a JSON object) above the bars."""
        if self.json_lines:
            print(json.dumps({"event": kind, **fields}, ensure_ascii=False), file=self.stream)
            self.stream.flush()
            return
        text = fields.get("message") or kind
        self._clear()
        print(text, file=self.stream)
        self._draw(force=True)

    def bar(self, key: str, label: str, done_bytes: int, total_bytes: int, status: str) -> None:
        bar = self.bars.setdefault(key, _Bar(label))
        changed_status = bar.status != status
        bar.label, bar.done_bytes, bar.total_bytes, bar.status = (
            label,
            done_bytes,
            total_bytes,
            status,
        )
        now_s = time.monotonic()
        if not (changed_status or now_s - self._last_draw_s >= REDRAW_INTERVAL_S):
            return
        speed = bar.speed(now_s)
        if self.json_lines:
            print(
                json.dumps(
                    {
                        "event": "progress",
                        "peer": key,
                        "label": label,
                        "status": status,
                        "bytes": done_bytes,
                        "total": total_bytes,
                        "bytes_per_s": round(speed),
                    },
                    ensure_ascii=False,
                ),
                file=self.stream,
            )
            self.stream.flush()
            self._last_draw_s = now_s
            return
        self._draw(force=changed_status)

    def close(self) -> None:
        if self.tty:
            self._draw(force=True)
            self._drawn_lines = 0

    def _line(self, bar: _Bar, width: int, now_s: float) -> str:
        total = max(bar.total_bytes, 1)
        done = bar.status in ("done", "verified")
        fraction = min(1.0, bar.done_bytes / total) if bar.total_bytes else float(done)
        speed = bar.speed(now_s)
        left = (bar.total_bytes - bar.done_bytes) / speed if speed > 0 else None
        eta = f"ETA {format_duration(left)}" if left is not None and fraction < 1 else ""
        tail = (
            f" {fraction * 100:5.1f}% {format_bytes(bar.done_bytes)}"
            f"/{format_bytes(bar.total_bytes)} {format_bytes(speed)}/s {eta} {bar.status}"
        )
        cells = max(10, min(40, width - len(bar.label) - len(tail) - 4))
        filled = int(cells * fraction)
        return f"{bar.label} [{'#' * filled}{'.' * (cells - filled)}]{tail}"[: width - 1]

    def _clear(self) -> None:
        if self.tty and self._drawn_lines:
            self.stream.write(f"\x1b[{self._drawn_lines}F\x1b[J")
            self._drawn_lines = 0

    def _draw(self, *, force: bool) -> None:
        now_s = time.monotonic()
        if self.json_lines or not self.bars:
            return
        if self.tty and not force and now_s - self._last_draw_s < REDRAW_INTERVAL_S:
            return
        if not self.tty:
            # Not a terminal (a log file): a line per bar at most every few seconds.
            if now_s - self._last_draw_s < 5 and not force:
                return
            for bar in self.bars.values():
                print(self._line(bar, 200, now_s), file=self.stream)
            self._last_draw_s = now_s
            return
        width = shutil.get_terminal_size((100, 20)).columns
        self._clear()
        for bar in self.bars.values():
            self.stream.write(self._line(bar, width, now_s) + "\n")
        self._drawn_lines = len(self.bars)
        self.stream.flush()
        self._last_draw_s = now_s
