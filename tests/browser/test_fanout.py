"""Fan-out and storage limits: eight receivers at their own pace; a full disk says so.

The slow receiver is frozen for real: its page's JavaScript is paused through the DevTools
protocol, so it stops reading and acknowledging, exactly like a stalled tab or a saturated disk.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.harness import Person, ServerProcess, sha256_file

pytestmark = pytest.mark.browser

SIZE = 48 * 1024 * 1024  # long enough that the slow one is still receiving when frozen


@pytest.fixture(scope="module")
def medium_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fanout") / "dataset.tar"
    path.write_bytes(os.urandom(SIZE))
    return path


def test_eight_receivers_and_a_frozen_one_does_not_hold_them_back(
    browser: Browser, server: ServerProcess, medium_file: Path, tmp_path: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    receivers = [Person(browser, server.url, f"r{i}") for i in range(8)]
    try:
        link = sender.share([medium_file])
        for person in receivers:
            person.open_link(link)
        slow, fast = receivers[0], receivers[1:]
        slow.accept()
        slow.wait_fraction(0.05)
        debugger = slow.context.new_cdp_session(slow.page)
        debugger.send("Debugger.enable")
        debugger.send("Debugger.pause")
        for person in fast:
            person.accept()
        try:
            for person in fast:
                person.wait_state("done", timeout_s=120)
            # Everyone else finished while the slow one was frozen, far from done. A
            # receiver's page is done a moment before its `done` frame reaches the sender.
            done_rows = 0
            deadline = time.monotonic() + 10
            while done_rows < len(fast) and time.monotonic() < deadline:
                done_rows = sender.page.locator("#receivers li[data-status=done]").count()
                time.sleep(0.1)
            assert done_rows == len(fast)
            slow_row = sender.page.locator("#receivers li").first
            assert slow_row.get_attribute("data-status") != "done"
            assert int(slow_row.get_attribute("data-done-bytes") or 0) < SIZE
        finally:
            debugger.send("Debugger.resume")
        slow.wait_state("done", timeout_s=120)
        expected = sha256_file(medium_file)
        for i, person in enumerate(receivers):
            ((_, saved),) = person.save_downloads(tmp_path / f"r{i}").items()
            assert sha256_file(saved) == expected
        sender.wait_state("done")
    finally:
        for person in (sender, *receivers):
            person.close()


def test_a_full_disk_is_a_clear_error(
    browser: Browser, server: ServerProcess, medium_file: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        link = sender.share([medium_file])
        receiver.open_link(link)
        # This site may store only 4 MB in this browser: less than the file.
        cdp = receiver.context.new_cdp_session(receiver.page)
        cdp.send("Storage.overrideQuotaForOrigin", {"origin": server.url, "quotaSize": 4_000_000})
        receiver.accept()
        receiver.wait_state("error", timeout_s=60)
        assert "disk is full" in receiver.status_text()
        assert "verified" not in receiver.file_statuses()[medium_file.name]
        assert not receiver.downloads
        sender.page.get_by_text("ran out of disk space").wait_for(timeout=15_000)
    finally:
        sender.close()
        receiver.close()


def test_a_folder_of_many_small_files_arrives_whole(
    browser: Browser, server: ServerProcess, tmp_path: Path
) -> None:
    """Browsers drop bursts of automatic downloads; every one of 40 files must still arrive."""
    folder = tmp_path / "photos"
    expected = {}
    for i in range(40):
        sub = folder / f"day-{i % 4}"
        sub.mkdir(parents=True, exist_ok=True)
        data = os.urandom(1000 + i)
        (sub / f"img_{i:03}.jpg").write_bytes(data)
        expected[f"img_{i:03}.jpg"] = data
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        sender.page.goto(server.url + "/")
        sender.add_folder(folder)
        link = sender.page.get_by_test_id("share-link")
        sender.page.wait_for_function(
            "() => document.querySelector('[data-testid=share-link]').value.includes('#')"
        )
        receiver.open_link(link.input_value())
        receiver.accept()
        receiver.wait_state("done", timeout_s=120)
        statuses = receiver.file_statuses()
        assert len(statuses) == 40 and set(statuses.values()) == {"verified"}
        assert sorted(statuses)[0] == "photos/day-0/img_000.jpg"
        receiver.wait_downloads(40)  # handed over a little apart: wait for the last
        saved = receiver.save_downloads(tmp_path / "got")
        assert {name: path.read_bytes() for name, path in saved.items()} == expected
    finally:
        sender.close()
        receiver.close()
