"""The page in the person's language: a Japanese browser on both sides of a real transfer, the
selector switching live and remembered, Arabic right to left and mirrored, German at phone
width without horizontal overflow, sizes in the locale's digits.

Texts are compared with the catalogues (web/i18n/*.json), never with strings of their own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.browser.harness import Person, ServerProcess, sha256_file

pytestmark = pytest.mark.browser

I18N = Path(__file__).resolve().parents[2] / "web" / "i18n"
PHONE = {"width": 390, "height": 844}


def catalogue(code: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((I18N / f"{code}.json").read_text(encoding="utf-8"))
    return loaded


JA = catalogue("ja")
DE = catalogue("de")


def text(page: Page, selector: str) -> str:
    return " ".join((page.locator(selector).first.text_content() or "").split())


def wait_text(page: Page, selector: str, wanted: object) -> None:
    page.wait_for_function(
        "([s, w]) => document.querySelector(s)?.textContent.trim() === w",
        arg=[selector, wanted],
        timeout=30_000,
        polling=100,
    )


def no_horizontal_overflow(page: Page) -> bool:
    return bool(page.evaluate("() => document.scrollingElement.scrollWidth <= innerWidth"))


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    path = tmp_path / "report-2024.bin"
    path.write_bytes(os.urandom(1_500_000))
    return path


def test_japanese_on_both_sides_of_a_transfer(
    browser: Browser, server: ServerProcess, payload: Path, tmp_path: Path
) -> None:
    sender = Person(browser, server.url, "sender", locale="ja-JP")
    receiver = Person(browser, server.url, "receiver", locale="ja-JP")
    try:
        sender.page.goto(server.url + "/")
        wait_text(sender.page, "#home-title", JA["home.title"])
        assert sender.page.evaluate("document.documentElement.lang") == "ja"
        assert text(sender.page, "#choose-files") == JA["home.chooseFiles"]
        link = sender.share([payload])
        assert text(sender.page, "#copy-link") == JA["share.copyLink"]
        wait_text(sender.page, "#status-text", JA["share.status.waiting"])
        assert "共有中" in sender.page.title()

        receiver.open_link(link)
        wait_text(receiver.page, "#receive-title", JA["receive.title"])
        assert text(receiver.page, "#accept") == JA["receive.accept"]
        wait_text(receiver.page, "#status-text", JA["receive.status.ready"])
        receiver.accept()
        receiver.wait_state("done")
        assert text(receiver.page, "[data-testid=transfer-state]") == JA["state.done"]
        wait_text(receiver.page, "#status-text", JA["receive.status.doneDownloads"])
        status = receiver.page.get_by_test_id("file-status")
        assert status.get_attribute("data-status") == "verified"
        assert text(receiver.page, "[data-testid=file-status]") == JA["receive.fileStatus.verified"]
        assert "1.50 MB" in text(receiver.page, "#receive-files .size")

        receiver.wait_downloads(1)
        saved = receiver.save_downloads(tmp_path / "got")
        assert sha256_file(saved[payload.name]) == sha256_file(payload)
        row = sender.page.get_by_test_id("receiver-row")
        row.and_(sender.page.locator("[data-status=done]")).wait_for(timeout=30_000)
        assert JA["share.receiverStatus.done"] in text(sender.page, "[data-testid=receiver-row]")
        assert receiver.errors == [] and sender.errors == []
    finally:
        sender.close()
        receiver.close()


def test_the_selector_switches_live_and_is_remembered(
    browser: Browser, server: ServerProcess, payload: Path
) -> None:
    person = Person(browser, server.url, "person", locale="en-US")
    try:
        page = person.page
        link = person.share([payload])
        select = page.get_by_test_id("language")
        assert select.input_value() == "en"
        options = select.locator("option").all_text_contents()
        names = {str(catalogue(p.stem)["lang.name"]) for p in I18N.glob("*.json")}
        assert set(options) == names  # each language in its own words
        select.select_option("de")
        # Live: the static markup, the status line and the rows, with no reload.
        wait_text(page, "#copy-link", DE["share.copyLink"])
        wait_text(page, "#status-text", DE["share.status.waiting"])
        assert page.evaluate("document.documentElement.lang") == "de"
        assert text(page, "#share-files .size") == "1,50 MB"
        assert "Freigabe" in page.title()
        assert page.evaluate("localStorage.getItem('p2pshare.language')") == "de"

        page.goto(link)  # the same page again (the sender's reload)
        wait_text(page, "#status-text", DE["share.status.waiting"])
        assert page.get_by_test_id("language").input_value() == "de"
        page.goto(server.url + "/")
        wait_text(page, "#home-title", DE["home.title"])
        page.get_by_test_id("language").select_option("en")
        wait_text(page, "#home-title", "Send files")
        assert person.errors == []
    finally:
        person.close()


def test_arabic_is_right_to_left_and_mirrored(browser: Browser, server: ServerProcess) -> None:
    person = Person(browser, server.url, "person", locale="ar-EG", viewport=PHONE)
    try:
        page = person.page
        page.goto(server.url + "/")
        wait_text(page, "#home-title", catalogue("ar")["home.title"])
        assert page.evaluate("[document.documentElement.dir, document.documentElement.lang]") == [
            "rtl",
            "ar",
        ]
        brand = page.locator(".brand").bounding_box()
        drop = page.locator("#drop").bounding_box()
        assert brand and drop
        # The brand starts the header: at its right edge, as the drop zone's right edges agree.
        assert brand["x"] + brand["width"] > PHONE["width"] - 60
        assert brand["x"] > PHONE["width"] / 2
        assert page.evaluate("getComputedStyle(document.querySelector('.drop')).direction") == "rtl"
        assert no_horizontal_overflow(page)
        assert person.errors == []
    finally:
        person.close()


def test_german_at_phone_width_has_no_horizontal_overflow(
    browser: Browser, server: ServerProcess, payload: Path
) -> None:
    sender = Person(browser, server.url, "sender", locale="de-DE", viewport=PHONE)
    receiver = Person(browser, server.url, "receiver", locale="de-AT", viewport=PHONE)
    try:
        sender.page.goto(server.url + "/")
        wait_text(sender.page, "#home-title", DE["home.title"])
        assert no_horizontal_overflow(sender.page), "home"
        link = sender.share([payload])
        wait_text(sender.page, "#status-text", DE["share.status.waiting"])
        assert no_horizontal_overflow(sender.page), "share"
        receiver.open_link(link)
        wait_text(receiver.page, "#receive-title", DE["receive.title"])
        receiver.page.locator("#accept:not([disabled])").wait_for(timeout=30_000)
        assert no_horizontal_overflow(receiver.page), "receive"
        # German decimals: a comma.
        assert text(receiver.page, "#receive-files .size") == "1,50 MB"
        receiver.accept()
        receiver.wait_state("done")
        assert no_horizontal_overflow(receiver.page), "receive, done"
        assert no_horizontal_overflow(sender.page), "share, a receiver row"
    finally:
        sender.close()
        receiver.close()


def test_the_first_paint_is_not_in_english_for_a_japanese_browser(
    browser: Browser, server: ServerProcess
) -> None:
    """Until ja.json is in, the page is hidden (lang-early.js), not shown in the markup's
    English; then it shows, in Japanese."""
    person = Person(browser, server.url, "person", locale="ja-JP")
    held: list[Route] = []
    try:
        page = person.page
        page.route("**/i18n/ja.json", lambda route: held.append(route))
        page.goto(server.url + "/", wait_until="domcontentloaded")
        for _ in range(100):
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the Japanese catalogue was asked for"
        assert page.evaluate("getComputedStyle(document.body).visibility") == "hidden"
        held[0].continue_()
        wait_text(page, "#home-title", JA["home.title"])
        assert page.evaluate("getComputedStyle(document.body).visibility") == "visible"
        assert text(page, ".tagline") == JA["common.tagline"]
    finally:
        person.close()
