"""Process metrics in the Prometheus text exposition format (version 0.0.4).

A deliberately small registry: counters (optionally with one label) that the
server increments, and gauges read from callbacks at scrape time. Nothing here
does I/O; the HTTP shell calls `Metrics.render()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Counter", "Gauge", "Metrics"]


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


@dataclass(slots=True)
class Counter:
    """A monotonically increasing count, split by the values of one optional label."""

    name: str
    help: str
    label: str | None = None
    values: dict[str, int] = field(default_factory=dict)

    def inc(self, label_value: str = "", amount: int = 1) -> None:
        self.values[label_value] = self.values.get(label_value, 0) + amount

    def get(self, label_value: str = "") -> int:
        return self.values.get(label_value, 0)

    def total(self) -> int:
        return sum(self.values.values())

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        if self.label is None:
            lines.append(f"{self.name} {self.values.get('', 0)}")
        else:
            for value, count in sorted(self.values.items()):
                lines.append(f'{self.name}{{{self.label}="{_escape_label(value)}"}} {count}')
        return lines


@dataclass(slots=True)
class Gauge:
    """A value read at scrape time from `read`."""

    name: str
    help: str
    read: Callable[[], float]

    def render(self) -> list[str]:
        value = self.read()
        text = str(int(value)) if float(value).is_integer() else repr(float(value))
        return [
            f"# HELP {self.name} {self.help}",
            f"# TYPE {self.name} gauge",
            f"{self.name} {text}",
        ]


class Metrics:
    """Every metric the server exposes at `/metrics`.

    Counters are created here, so the full set is visible in one place; gauges are
    attached by the components that own the numbers (`add_gauge`).
    """

    def __init__(self) -> None:
        self.ws_connections = Counter(
            "p2pshare_ws_connections_total", "WebSocket connections accepted."
        )
        self.relayed_messages = Counter(
            "p2pshare_relayed_messages_total", "Signaling payloads relayed between peers."
        )
        self.rejected_messages = Counter(
            "p2pshare_rejected_messages_total",
            "Signaling messages or connections rejected, by reason (the error code).",
            label="reason",
        )
        self.stun_requests = Counter(
            "p2pshare_stun_requests_total", "STUN Binding requests received and well formed."
        )
        self.stun_responses = Counter(
            "p2pshare_stun_responses_total", "STUN responses sent, by class.", label="kind"
        )
        self.stun_dropped = Counter(
            "p2pshare_stun_dropped_total",
            "STUN datagrams dropped without answer, by reason.",
            label="reason",
        )
        self.http_requests = Counter(
            "p2pshare_http_requests_total",
            "HTTP requests answered, by status code.",
            label="status",
        )
        self._counters = [
            self.ws_connections,
            self.relayed_messages,
            self.rejected_messages,
            self.stun_requests,
            self.stun_responses,
            self.stun_dropped,
            self.http_requests,
        ]
        self._gauges: list[Gauge] = []

    def add_gauge(self, name: str, help: str, read: Callable[[], float]) -> None:
        self._gauges.append(Gauge(name, help, read))

    def render(self) -> str:
        lines: list[str] = []
        for gauge in self._gauges:
            lines.extend(gauge.render())
        for counter in self._counters:
            lines.extend(counter.render())
        return "\n".join(lines) + "\n"
