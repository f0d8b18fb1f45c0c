"""Interrupted transfers resume where they stopped, and say so.

Each test interrupts a 64 MiB transfer at about 40% in one way (receiver reload, receiver tab
closed and the link reopened, sender reload with the files added again, server killed and
restarted, WebSocket cut, peer connection forced to fail) and checks that the transfer completes,
the SHA-256 matches, the sender sent at most 1.1x the file size in total, and the page showed
that it resumed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, WebSocketRoute

from tests.browser.harness import Person, ServerProcess, sha256_file

pytestmark = pytest.mark.browser

SIZE = 64 * 1024 * 1024
INTERRUPT_AT = 0.4
MAX_SENT = 1.1 * SIZE
RESUMED = re.compile(r"Reconnected — resuming at \d+%")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("resume") / "video.mp4"
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.fixture
def people(browser: Browser, server: ServerProcess) -> Iterator[dict[str, Person]]:
    crowd = {
        "sender": Person(browser, server.url, "sender"),
        "receiver": Person(browser, server.url, "receiver"),
    }
    yield crowd
    for person in crowd.values():
        person.close()


def start_transfer(people: dict[str, Person], big_file: Path) -> str:
    sender, receiver = people["sender"], people["receiver"]
    link = sender.share([big_file])
    receiver.open_link(link)
    receiver.accept()
    receiver.wait_fraction(INTERRUPT_AT)
    return link


def finish(receiver: Person, big_file: Path, tmp_path: Path) -> None:
    receiver.wait_state("done", timeout_s=120)
    assert receiver.file_statuses() == {big_file.name: "verified"}
    saved = receiver.save_downloads(tmp_path)
    assert list(saved) == [big_file.name]
    assert sha256_file(saved[big_file.name]) == sha256_file(big_file)


def received_so_far(page: Page) -> int:
    return int(page.get_by_test_id("file-status").get_attribute("data-received") or 0)


def test_receiver_reload_resumes(people: dict[str, Person], big_file: Path, tmp_path: Path) -> None:
    sender, receiver = people["sender"], people["receiver"]
    start_transfer(people, big_file)
    receiver.page.reload()
    receiver.page.get_by_text(RESUMED).wait_for(timeout=30_000)
    assert received_so_far(receiver.page) >= INTERRUPT_AT * SIZE * 0.9
    finish(receiver, big_file, tmp_path)
    assert sender.sent_bytes() <= MAX_SENT
    # One receiver, shown once: the reload replaced its old connection.
    assert sender.page.locator("#receivers li").count() == 1


def test_closed_tab_reopened_resumes(
    people: dict[str, Person], big_file: Path, tmp_path: Path
) -> None:
    sender, receiver = people["sender"], people["receiver"]
    link = start_transfer(people, big_file)
    receiver.page.close()
    page = receiver.new_page()
    page.goto(link)
    page.get_by_text(RESUMED).wait_for(timeout=30_000)
    finish(receiver, big_file, tmp_path)
    assert sender.sent_bytes() <= MAX_SENT
    # The closed tab is shown as gone, the new one as done: no ghost, no duplicate.
    sender.page.wait_for_function(
        "() => [...document.querySelectorAll('#receivers li')].map(e => e.dataset.status)"
        ".sort().join() === 'done,gone'",
        timeout=15_000,
    )


def test_sender_reload_with_files_added_again(
    people: dict[str, Person], big_file: Path, tmp_path: Path
) -> None:
    sender, receiver = people["sender"], people["receiver"]
    start_transfer(people, big_file)
    sent_before = sender.sent_bytes(settle=False)  # at most one render behind: a lower bound
    sender.page.reload()
    sender.page.get_by_text("Add the files again").first.wait_for()
    sender.page.get_by_test_id("file-input").set_input_files(str(big_file))
    receiver.page.get_by_text(RESUMED).wait_for(timeout=30_000)
    finish(receiver, big_file, tmp_path)
    assert sent_before + sender.sent_bytes() <= MAX_SENT


def test_server_restart_does_not_stop_the_transfer(
    people: dict[str, Person],
    server: ServerProcess,
    big_file: Path,
    tmp_path: Path,
    browser: Browser,
) -> None:
    sender, receiver = people["sender"], people["receiver"]
    link = start_transfer(people, big_file)
    server.restart()  # SIGKILL, then the same ports again
    receiver.page.get_by_text("Reconnected to the server.").wait_for(timeout=30_000)
    sender.page.get_by_text("Reconnected to the server.").wait_for(timeout=30_000)
    finish(receiver, big_file, tmp_path / "first")
    assert sender.sent_bytes() <= MAX_SENT
    # The room is rebuilt: a newcomer can still join and receive.
    late = Person(browser, server.url, "late")
    try:
        late.open_link(link)
        late.accept()
        finish(late, big_file, tmp_path / "late")
    finally:
        late.close()


def test_websocket_cut_does_not_stop_the_transfer(
    people: dict[str, Person], big_file: Path, tmp_path: Path
) -> None:
    sender, receiver = people["sender"], people["receiver"]
    routes: list[WebSocketRoute] = []

    def keep(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        ws.on_message(lambda message: upstream.send(message))
        upstream.on_message(lambda message: ws.send(message))
        routes.append(ws)

    for person in (sender, receiver):
        person.page.route_web_socket(re.compile(r".*/ws/.*"), keep)
    start_transfer(people, big_file)
    for route in routes:
        route.close(code=1006, reason="cut")
    receiver.page.get_by_text("Reconnected to the server.").wait_for(timeout=30_000)
    finish(receiver, big_file, tmp_path)
    assert len(routes) >= 4  # both reconnected
    assert sender.sent_bytes() <= MAX_SENT


def test_failed_peer_connection_is_rebuilt_and_resumes(
    people: dict[str, Person], big_file: Path, tmp_path: Path
) -> None:
    sender, receiver = people["sender"], people["receiver"]
    start_transfer(people, big_file)
    assert receiver.close_peer_connections() >= 1
    receiver.page.get_by_text(RESUMED).wait_for(timeout=30_000)
    finish(receiver, big_file, tmp_path)
    assert sender.sent_bytes() <= MAX_SENT


def _unused(_: Any) -> None: ...
