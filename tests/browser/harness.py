"""Real servers and real browsers for end-to-end tests.

A server is a `python -m p2pshare serve` subprocess on loopback with free ports; browsers are
Debian's Chromium driven by Playwright. Separate browser contexts stand for separate people.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Download, Page, Playwright

CHROMIUM = os.environ.get("P2PSHARE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]

# Instruments the browser, not the app: every RTCPeerConnection a page makes is kept in
# `globalThis.__testPeerConnections`, so tests can break or inspect connections without
# reading the app's internal fields.
TRACK_PEER_CONNECTIONS = """
(() => {
  const Native = globalThis.RTCPeerConnection;
  if (!Native) return;
  const made = [];
  Object.defineProperty(globalThis, '__testPeerConnections', { value: made });
  globalThis.RTCPeerConnection = class extends Native {
    constructor(...args) {
      super(...args);
      made.push(this);
    }
  };
})();
"""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class ServerProcess:
    """A p2pshare server subprocess; `restart()` keeps its ports (a server restart)."""

    port: int = field(default_factory=free_port)
    stun_port: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))
    extra: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    proc: subprocess.Popen[bytes] | None = None
    log: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            "p2pshare",
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--stun-port",
            str(self.stun_port),
            "--web-root",
            str(REPO / "web"),
            *self.extra,
        ]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read().decode()}")  # type: ignore[union-attr]
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as response,
            ):
                if response.status == 200:
                    return self
            time.sleep(0.1)
        raise RuntimeError("server did not come up")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                out, _ = self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, _ = self.proc.communicate()
            self.log.append(out or b"")
        self.proc = None

    def restart(self, sig: int = signal.SIGKILL) -> None:
        self.stop(sig)
        self.start()


@contextlib.contextmanager
def running_server(*extra: str) -> Iterator[ServerProcess]:
    server = ServerProcess(extra=list(extra)).start()
    try:
        yield server
    finally:
        server.stop()


def launch(pw: Playwright, *extra_args: str) -> Browser:
    return pw.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )


class Person:
    """One browser context (one person) with its page, downloads and every URL it requested;
    `locale` is the browser's language (navigator.languages), `viewport` its window."""

    def __init__(
        self,
        browser: Browser,
        origin: str,
        name: str,
        *,
        locale: str | None = None,
        viewport: dict[str, int] | None = None,
    ) -> None:
        self.name = name
        self.origin = origin
        options: dict[str, Any] = {"accept_downloads": True}
        if locale:
            options["locale"] = locale
        if viewport:
            options["viewport"] = viewport
        self.context: BrowserContext = browser.new_context(**options)
        self.requests: list[str] = []
        self.foreign: list[str] = []
        self.downloads: list[Download] = []
        self.errors: list[str] = []
        self.context.add_init_script(TRACK_PEER_CONNECTIONS)
        self.context.on("request", self._on_request)
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self._watch(self.page)

    def _watch(self, page: Page) -> None:
        # "Leave this page?" (the sender while sending): tests reload on purpose, so leave.
        page.on("dialog", lambda dialog: dialog.accept())
        page.on("download", lambda download: self.downloads.append(download))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("websocket", lambda ws: self._on_request_url(ws.url))

    def _on_request(self, request: Any) -> None:
        self._on_request_url(request.url)

    def _on_request_url(self, url: str) -> None:
        self.requests.append(url)
        same = url.startswith(self.origin + "/") or url.startswith(
            self.origin.replace("http", "ws", 1) + "/"
        )
        if not same and not url.startswith(("blob:", "data:")):
            self.foreign.append(url)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.origin + "/") or url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def new_page(self) -> Page:
        """A new tab in the same browser (same person), e.g. to reopen a link."""
        self.page = self.context.new_page()
        self._watch(self.page)
        return self.page

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.context.close()

    # --- the testing contract ------------------------------------------------------------

    def state(self) -> str:
        return self.page.get_by_test_id("transfer-state").get_attribute("data-state") or ""

    def wait_state(self, state: str, timeout_s: float = 60) -> None:
        self.page.wait_for_function(
            "s => document.querySelector('[data-testid=transfer-state]').dataset.state === s",
            arg=state,
            timeout=timeout_s * 1000,
            polling=100,  # not 'raf': pages in the background get no animation frames
        )

    def status_text(self) -> str:
        return self.page.locator("#status-text").text_content() or ""

    def share(self, files: list[Path]) -> str:
        self.page.goto(self.origin + "/")
        self.page.get_by_test_id("file-input").set_input_files([str(f) for f in files])
        link = self.page.get_by_test_id("share-link")
        link.wait_for()
        self.page.wait_for_function(
            "() => document.querySelector('[data-testid=share-link]').value.includes('#')"
        )
        return link.input_value()

    def add_folder(self, folder: Path) -> None:
        self.page.locator("#folder-input").set_input_files(str(folder))

    def open_link(self, link: str) -> None:
        self.page.goto(link)

    def accept(self) -> None:
        self.page.get_by_test_id("accept").click(timeout=30_000)

    def received_fraction(self) -> float:
        """Bytes arrived (verified or not) over the offer's size, as the page shows them."""
        arrived, total = self._file_sums("arrived")
        return arrived / total if total else 0.0

    def _file_sums(self, field: str) -> tuple[int, int]:
        value = self.page.eval_on_selector_all(
            "[data-testid=file-status]",
            "(els, field) => els.reduce(([n, t], e) => [n + Number(e.dataset[field]),"
            " t + Number(e.dataset.size)], [0, 0])",
            field,
        )
        return int(value[0]), int(value[1])

    def wait_fraction(self, fraction: float, timeout_s: float = 60) -> None:
        """Until the page shows at least `fraction` of the offer verified and kept."""
        self.page.wait_for_function(
            "f => { const els = [...document.querySelectorAll('[data-testid=file-status]')];"
            " const total = els.reduce((t, e) => t + Number(e.dataset.size), 0);"
            " const kept = els.reduce((n, e) => n + Number(e.dataset.received), 0);"
            " return total > 0 && kept / total >= f; }",
            arg=fraction,
            timeout=timeout_s * 1000,
            polling=100,
        )

    def file_statuses(self) -> dict[str, str]:
        return dict(
            self.page.eval_on_selector_all(
                "[data-testid=file-status]", "els => els.map(e => [e.dataset.name, e.textContent])"
            )
        )

    def wait_downloads(self, count: int, timeout_s: float = 30) -> None:
        """Wait until `count` downloads have started (the page hands them over a little apart)."""
        for _ in range(int(timeout_s * 10)):
            if len(self.downloads) >= count:
                return
            self.page.wait_for_timeout(100)
        raise AssertionError(f"{self.name}: {len(self.downloads)} downloads, expected {count}")

    def save_downloads(self, folder: Path) -> dict[str, Path]:
        """Wait for every download to finish and save it under its suggested name."""
        folder.mkdir(parents=True, exist_ok=True)
        saved: dict[str, Path] = {}
        for download in self.downloads:
            target = folder / download.suggested_filename
            download.save_as(str(target))
            saved[download.suggested_filename] = target
        return saved

    def sent_bytes(self, *, settle: bool = True) -> int:
        """Bytes the sender page handed to data channels, over all receivers, as its receiver
        rows show them. The page re-renders them at least once a second: `settle` waits for
        one; without it the figure may lag the page by that much (a lower bound)."""
        if settle:
            self.page.wait_for_timeout(1100)
        return int(
            self.page.eval_on_selector_all(
                "[data-testid=receiver-row]",
                "els => els.reduce((n, e) => n + Number(e.dataset.sentBytes), 0)",
            )
        )

    def close_peer_connections(self) -> int:
        """Close every open peer connection of the current page (as a network failure would)."""
        return int(
            self.page.evaluate(
                "() => globalThis.__testPeerConnections.filter((pc) =>"
                " pc.connectionState !== 'closed').map((pc) => pc.close()).length"
            )
        )

    def wait_signaling_open(self, timeout_s: float = 30) -> None:
        self.page.wait_for_function(
            "() => document.body.dataset.signaling === 'open'", timeout=timeout_s * 1000
        )
