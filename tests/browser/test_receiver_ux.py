"""The receiver's page after the bytes: saving again, one .zip, a second tab, cancelling."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.harness import Person, ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "trip"
    (root / "day1").mkdir(parents=True)
    (root / "day1" / "map.png").write_bytes(os.urandom(200_000))
    (root / "notes.txt").write_bytes("über alles\n".encode())
    (root / "empty.log").write_bytes(b"")
    return root


def share_folder(sender: Person, folder: Path) -> str:
    sender.page.goto(sender.origin + "/")
    sender.add_folder(folder)
    sender.page.wait_for_function(
        "() => document.querySelector('[data-testid=share-link]').value.includes('#')"
    )
    return sender.page.get_by_test_id("share-link").input_value()


def test_save_all_as_one_zip_keeps_the_folder(
    browser: Browser, server: ServerProcess, folder: Path, tmp_path: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        receiver.open_link(share_folder(sender, folder))
        receiver.accept()
        receiver.wait_state("done")
        receiver.wait_downloads(3)  # the three files' own downloads come first, a little apart
        with receiver.page.expect_download() as info:
            receiver.page.get_by_role("button", name="Save all as one .zip").click()
        assert info.value.suggested_filename == "trip.zip"
        target = tmp_path / "trip.zip"
        info.value.save_as(str(target))
        with zipfile.ZipFile(target) as archive:
            assert archive.testzip() is None
            assert sorted(archive.namelist()) == [
                "trip/day1/map.png",
                "trip/empty.log",
                "trip/notes.txt",
            ]
            for name in archive.namelist():
                original = folder / Path(name).relative_to("trip")
                assert archive.read(name) == original.read_bytes()
        # One file again, from its row.
        with receiver.page.expect_download() as info:
            receiver.page.get_by_role("button", name="Save trip/notes.txt again").click()
        assert info.value.suggested_filename == "notes.txt"
    finally:
        sender.close()
        receiver.close()


def test_a_second_tab_on_the_same_link_says_where_the_download_is(
    browser: Browser, server: ServerProcess, folder: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        link = share_folder(sender, folder)
        receiver.open_link(link)
        receiver.page.get_by_test_id("accept").wait_for()
        second = receiver.new_page()
        second.goto(link)
        second.get_by_role("heading", name="Already open in another tab").wait_for()
        assert sender.page.locator("#receivers li").count() == 1
    finally:
        sender.close()
        receiver.close()


def test_cancelling_asks_first_and_can_start_again(
    browser: Browser, server: ServerProcess, tmp_path: Path
) -> None:
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(48 * 1024 * 1024))
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        receiver.open_link(sender.share([big]))
        receiver.accept()
        receiver.wait_fraction(0.05)
        receiver.page.get_by_role("button", name="Cancel", exact=True).click()
        receiver.page.get_by_role("button", name="Keep downloading").click()
        assert receiver.state() == "transferring"
        receiver.page.get_by_role("button", name="Cancel", exact=True).click()
        receiver.page.get_by_role("button", name="Yes, cancel").click()
        receiver.wait_state("error")
        assert "You cancelled the download" in receiver.status_text()
        sender.page.get_by_text("they cancelled the download").wait_for()
        # Changed their mind: the link works again, from the start.
        receiver.page.get_by_role("button", name="Download again").click()
        receiver.page.wait_for_load_state()
        receiver.accept()
        receiver.wait_state("done", timeout_s=120)
        assert receiver.file_statuses() == {"big.bin": "verified"}
    finally:
        sender.close()
        receiver.close()
