"""The command-line peer with real Chromium and with itself: `p2pshare send` and `receive` as
real processes, a real server with only its own STUN, every file checked by SHA-256 on the
receiving side.

Covered: CLI -> Chromium, Chromium -> CLI, CLI -> CLI, one CLI sender to two browsers and a
CLI at once, and a CLI receive killed at about 40 % that resumes when run again (the sender
then sends at most 1.1x the size).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from tests.browser.harness import Person, ServerProcess, sha256_file

pytestmark = pytest.mark.browser

BIG = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An empty file, a non-ASCII name, a 64 MiB random file and a nested folder."""
    root = tmp_path_factory.mktemp("cli-shared")
    loose = root / "loose"
    folder = root / "album"
    (folder / "2024" / "summer").mkdir(parents=True)
    loose.mkdir()
    files = {
        "empty.txt": b"",
        "Grüße — 日本語 ✓.txt": "non-ASCII: ÄÖÜ 日本語\n".encode(),
        "big.bin": os.urandom(BIG),
    }
    for name, data in files.items():
        (loose / name).write_bytes(data)
    (folder / "2024" / "summer" / "beach.jpg").write_bytes(os.urandom(300_000))
    (folder / "cover.png").write_bytes(os.urandom(5_000))
    paths = {name: loose / name for name in files}
    paths["album/2024/summer/beach.jpg"] = folder / "2024" / "summer" / "beach.jpg"
    paths["album/cover.png"] = folder / "cover.png"
    paths["_folder"] = folder
    return paths


def offered(shared: dict[str, Path]) -> dict[str, Path]:
    return {name: path for name, path in shared.items() if not name.startswith("_")}


def command_line(shared: dict[str, Path]) -> list[str]:
    loose = [str(p) for n, p in offered(shared).items() if "/" not in n]
    return [*loose, str(shared["_folder"])]


class Cli:
    """One `p2pshare send|receive --json` process; its JSON lines collected as they come."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "p2pshare", *args, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read_events, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_events(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.stderr.append(f"(not JSON on stdout) {line}")

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr.extend(self.proc.stderr)

    def wait_event(self, kind: str, timeout_s: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for event in self.events:
                if event.get("event") == kind:
                    return event
            if self.proc.poll() is not None and not any(r.is_alive() for r in self._readers):
                break
            time.sleep(0.05)
        raise AssertionError(f"no {kind!r} event; events {self.events}, stderr {self.stderr}")

    def progress(self) -> float:
        """The latest progress fraction it reported (0 before any)."""
        latest = [e for e in self.events if e.get("event") == "progress" and e.get("total")]
        return latest[-1]["bytes"] / latest[-1]["total"] if latest else 0.0

    def wait(self, timeout_s: float = 120) -> int:
        code = self.proc.wait(timeout=timeout_s)
        for reader in self._readers:
            reader.join(timeout=5)
        return code

    def stop(self, sig: int = signal.SIGINT) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.wait(timeout_s=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.wait()


@pytest.fixture
def clis() -> Iterator[list[Cli]]:
    running: list[Cli] = []
    yield running
    for cli in running:
        cli.stop(signal.SIGKILL)


def cli_send(clis: list[Cli], server: ServerProcess, shared: dict[str, Path]) -> tuple[Cli, str]:
    sender = Cli("send", "--server", server.url, "--no-qr", *command_line(shared))
    clis.append(sender)
    link = sender.wait_event("share")["link"]
    assert link.startswith(server.url + "/r/") and "#" in link
    return sender, link


def cli_receive(clis: list[Cli], link: str, folder: Path) -> Cli:
    receiver = Cli("receive", link, "--output", str(folder), "--yes")
    clis.append(receiver)
    return receiver


def done_peers(sender: Cli) -> set[str]:
    return {e["peer"] for e in sender.events if e.get("event") == "receiver-done"}


def check_folder(folder: Path, shared: dict[str, Path]) -> None:
    """Every offered file is in `folder` under its offered path, identical; nothing else is."""
    expected = {name: sha256_file(path) for name, path in offered(shared).items()}
    found = {
        p.relative_to(folder).as_posix(): sha256_file(p)
        for p in folder.rglob("*")
        if p.is_file() and ".p2pshare" not in p.parts
    }
    assert found == expected


def check_browser_received(person: Person, shared: dict[str, Path], folder: Path) -> None:
    person.wait_state("done", timeout_s=120)
    statuses = person.file_statuses()
    assert sorted(statuses) == sorted(offered(shared)), statuses
    assert set(statuses.values()) == {"verified"}, statuses
    person.wait_downloads(len(statuses))
    saved = person.save_downloads(folder)
    by_base = {Path(n).name: sha256_file(p) for n, p in offered(shared).items()}
    assert {base: sha256_file(path) for base, path in saved.items()} == by_base
    assert person.errors == [] and person.foreign == []


def test_cli_to_chromium(
    browser: Browser,
    server: ServerProcess,
    shared: dict[str, Path],
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    sender, link = cli_send(clis, server, shared)
    person = Person(browser, server.url, "browser")
    try:
        person.open_link(link)
        person.accept()
        check_browser_received(person, shared, tmp_path)
        done = sender.wait_event("receiver-done")
        assert "verified" in done["message"]
    finally:
        person.close()
    assert sender.stop() == 130  # Ctrl+C: sharing stopped
    assert sender.events[-1]["event"] == "end"


def test_chromium_to_cli(
    browser: Browser,
    server: ServerProcess,
    shared: dict[str, Path],
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    person = Person(browser, server.url, "sender")
    try:
        loose = [p for n, p in offered(shared).items() if "/" not in n]
        link = person.share(loose)
        person.add_folder(shared["_folder"])
        person.page.wait_for_function(
            "n => document.querySelectorAll('#share-files li').length === n",
            arg=len(offered(shared)),
        )
        receiver = cli_receive(clis, link, tmp_path / "out")
        assert receiver.wait() == 0, (receiver.events[-3:], receiver.stderr)
        check_folder(tmp_path / "out", shared)
        assert receiver.events[-1] == {
            "event": "end",
            "code": 0,
            "message": receiver.events[-1]["message"],
        }
        person.page.wait_for_function(
            "() => document.querySelector('[data-testid=receiver-row]')?.dataset.status === 'done'"
        )
        assert not (tmp_path / "out" / ".p2pshare").exists()  # nothing left to resume
    finally:
        person.close()


def test_cli_to_cli(
    server: ServerProcess, shared: dict[str, Path], tmp_path: Path, clis: list[Cli]
) -> None:
    sender, link = cli_send(clis, server, shared)
    receiver = cli_receive(clis, link, tmp_path / "out")
    assert receiver.wait() == 0, (receiver.events[-3:], receiver.stderr)
    check_folder(tmp_path / "out", shared)
    sender.wait_event("receiver-done")
    assert sender.stop() == 130


def test_one_cli_sender_two_browsers_and_a_cli(
    browser: Browser,
    server: ServerProcess,
    shared: dict[str, Path],
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    sender, link = cli_send(clis, server, shared)
    people = [Person(browser, server.url, f"browser{i}") for i in (1, 2)]
    try:
        for person in people:
            person.open_link(link)
            person.accept()
        receiver = cli_receive(clis, link, tmp_path / "cli")
        assert receiver.wait() == 0, (receiver.events[-3:], receiver.stderr)
        check_folder(tmp_path / "cli", shared)
        for i, person in enumerate(people):
            check_browser_received(person, shared, tmp_path / f"b{i}")
    finally:
        for person in people:
            person.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(done_peers(sender)) < 3:
        time.sleep(0.1)
    assert len(done_peers(sender)) == 3, sender.events
    assert sum(e.get("event") == "receiver-done" for e in sender.events) == 3  # once each


def test_a_killed_cli_receive_resumes_and_the_sender_sends_little_twice(
    browser: Browser,
    server: ServerProcess,
    shared: dict[str, Path],
    tmp_path: Path,
    clis: list[Cli],
) -> None:
    person = Person(browser, server.url, "sender")
    out = tmp_path / "out"
    try:
        link = person.share([shared["big.bin"]])
        first = cli_receive(clis, link, out)
        deadline = time.monotonic() + 120
        while first.progress() < 0.4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert 0.4 <= first.progress() < 0.9, first.progress()
        first.stop(signal.SIGKILL)  # no goodbye, no last save: as a crash or a power cut
        assert (out / "big.bin.p2pshare-part").exists() and not (out / "big.bin").exists()

        again = cli_receive(clis, link, out)
        assert again.wait() == 0, (again.events[-3:], again.stderr)
        resumed = again.wait_event("resuming")
        assert resumed["bytes"] >= 0.3 * BIG
        assert sha256_file(out / "big.bin") == sha256_file(shared["big.bin"])
        assert not (out / "big.bin.p2pshare-part").exists()
        sent = person.sent_bytes()
        assert sent <= 1.1 * BIG, sent
    finally:
        person.close()


def test_a_link_with_another_key_is_refused_with_its_exit_code(
    server: ServerProcess, shared: dict[str, Path], tmp_path: Path, clis: list[Cli]
) -> None:
    _, link = cli_send(clis, server, shared)
    page, _, keys = link.partition("#")
    secret, _, sender_key = keys.partition(".")
    wrong = f"{page}#{'A' * 43}.{sender_key}"
    receiver = cli_receive(clis, wrong, tmp_path / "out")
    assert receiver.wait() == 4, (receiver.events, receiver.stderr)  # BAD_LINK
    cut = cli_receive(clis, f"{page}#{secret[:20]}", tmp_path / "out2")
    assert cut.wait() == 4
    assert not any((tmp_path / "out").rglob("*.bin"))


def test_receive_without_a_terminal_asks_for_yes_and_writes_nothing(
    server: ServerProcess, shared: dict[str, Path], tmp_path: Path, clis: list[Cli]
) -> None:
    _, link = cli_send(clis, server, shared)
    receiver = Cli("receive", link, "--output", str(tmp_path / "out"))  # no --yes, no terminal
    clis.append(receiver)
    assert receiver.wait() == 2, (receiver.events, receiver.stderr)
    assert "--yes" in receiver.events[-1]["message"]
    assert not [
        p for p in (tmp_path / "out").rglob("*") if p.is_file() and ".p2pshare" not in p.parts
    ]
