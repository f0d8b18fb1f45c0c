"""The web client end to end: one sender, several receivers, real Chromium, real server.

Separate browser contexts stand for separate people. Every file that arrives is compared by
SHA-256 with the original; no page may request anything from another origin.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.harness import Person, ServerProcess, sha256_file

pytestmark = pytest.mark.browser

BIG = 64 * 1024 * 1024


@pytest.fixture(scope="module")
def shared_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Loose files (chosen with the file input) and a nested folder (chosen as a folder)."""
    root = tmp_path_factory.mktemp("shared")
    loose = root / "loose"
    loose.mkdir()
    files = {
        "empty.txt": b"",
        "one-byte.bin": b"\x7f",
        "Grüße — 日本語 ✓.txt": "non-ASCII name, non-ASCII content: ÄÖÜ 日本語\n".encode(),
        "big.bin": os.urandom(BIG),
    }
    for name, data in files.items():
        (loose / name).write_bytes(data)
    folder = root / "album"
    (folder / "2024" / "summer").mkdir(parents=True)
    (folder / "2024" / "summer" / "beach.jpg").write_bytes(os.urandom(300_000))
    (folder / "2024" / "notes.md").write_bytes(b"# notes\n" * 100)
    (folder / "cover.png").write_bytes(os.urandom(5_000))
    paths = {name: loose / name for name in files}
    paths.update(
        {
            "album/2024/summer/beach.jpg": folder / "2024" / "summer" / "beach.jpg",
            "album/2024/notes.md": folder / "2024" / "notes.md",
            "album/cover.png": folder / "cover.png",
        }
    )
    paths["_loose"] = loose
    paths["_folder"] = folder
    return paths


def expected_hashes(shared: dict[str, Path]) -> dict[str, str]:
    return {name: sha256_file(path) for name, path in shared.items() if not name.startswith("_")}


def check_received(person: Person, shared: dict[str, Path], folder: Path) -> None:
    """All files verified on the page, downloaded once each, and identical to the originals."""
    person.wait_state("done", timeout_s=120)
    statuses = person.file_statuses()
    expected = expected_hashes(shared)
    assert sorted(statuses) == sorted(expected)
    assert set(statuses.values()) == {"verified"}, statuses
    person.wait_downloads(len(expected))
    saved = person.save_downloads(folder)
    by_base = {Path(name).name: digest for name, digest in expected.items()}
    assert sorted(saved) == sorted(by_base), (sorted(saved), sorted(by_base))
    for base, path in saved.items():
        assert sha256_file(path) == by_base[base], base


def test_one_sender_many_receivers_join_and_leave(
    browser: Browser, server: ServerProcess, shared_files: dict[str, Path], tmp_path: Path
) -> None:
    people: list[Person] = []
    try:
        sender = Person(browser, server.url, "sender")
        people.append(sender)
        loose = [p for n, p in shared_files.items() if not n.startswith("_") and "/" not in n]
        link = sender.share(loose)
        sender.add_folder(shared_files["_folder"])
        sender.page.wait_for_function(
            "() => document.querySelectorAll('#share-files li').length === 7"
        )
        assert "#" in link and "/r/" in link
        assert sender.state() == "waiting"

        first, second, leaver = (Person(browser, server.url, n) for n in ("r1", "r2", "leaver"))
        people += [first, second, leaver]
        for person in (first, second, leaver):
            person.open_link(link)
            person.accept()

        # One leaves in the middle; another arrives in the middle.
        leaver.wait_fraction(0.15)
        leaver.close()
        first.wait_fraction(0.2)
        late = Person(browser, server.url, "late")
        people.append(late)
        late.open_link(link)
        late.accept()
        sender.wait_state("transferring")

        for i, person in enumerate((first, second, late)):
            check_received(person, shared_files, tmp_path / f"r{i}")
        sender.page.wait_for_function(
            "() => document.querySelectorAll('#receivers li[data-status=done]').length === 3"
        )
        sender.wait_state("done")
        # The one who left is shown as gone, never twice, never as done.
        rows = sender.page.eval_on_selector_all(
            "#receivers li", "els => els.map(e => e.dataset.status)"
        )
        assert sorted(rows) == ["done", "done", "done", "gone"] or sorted(rows) == [
            "cancelled",
            "done",
            "done",
            "done",
        ], rows

        for person in people:
            assert person.foreign == [], (person.name, person.foreign)
            assert person.errors == [], (person.name, person.errors)
            assert any(url.startswith("ws://") for url in person.requests) or person is leaver
    finally:
        for person in people:
            person.close()


def test_sender_stops_sharing_mid_transfer(
    browser: Browser, server: ServerProcess, shared_files: dict[str, Path]
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        link = sender.share([shared_files["big.bin"]])
        receiver.open_link(link)
        receiver.accept()
        receiver.wait_fraction(0.1)
        sender.page.get_by_role("button", name="Stop sharing", exact=True).click()
        # Someone is downloading: the page asks first.
        sender.page.get_by_role("button", name="Yes, stop sharing").click()
        receiver.wait_state("error")
        assert "stopped sharing" in receiver.status_text()
        assert receiver.file_statuses()["big.bin"] != "verified"
        assert not receiver.downloads
        assert "stopped" in sender.status_text().lower()
    finally:
        sender.close()
        receiver.close()


def test_sender_cancels_one_receiver_only(
    browser: Browser, server: ServerProcess, shared_files: dict[str, Path], tmp_path: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    kept = Person(browser, server.url, "kept")
    dropped = Person(browser, server.url, "dropped")
    try:
        link = sender.share([shared_files["big.bin"]])
        for person in (kept, dropped):
            person.open_link(link)
            person.accept()
        dropped.wait_fraction(0.05)  # and at once to its row: on a fast machine it is soon done
        # The row of `dropped`, by the tag its page says the sender sees: rows are not in the
        # order the pages opened, and a receiver that is done has its Cancel hidden.
        whoami = dropped.page.locator("#whoami").text_content() or ""
        tag = whoami.split("\u201c", 1)[1].split("\u201d", 1)[0]
        row = sender.page.locator("[data-testid=receiver-row]").filter(has_text=f"({tag})")
        row.get_by_role("button", name="Cancel").click()
        dropped.wait_state("error")
        assert "cancelled your download" in dropped.status_text()
        kept.wait_state("done", timeout_s=120)
        ((_, path),) = kept.save_downloads(tmp_path).items()
        assert sha256_file(path) == sha256_file(shared_files["big.bin"])
    finally:
        for person in (sender, kept, dropped):
            person.close()


def test_incomplete_and_broken_links_say_what_to_do(
    browser: Browser, server: ServerProcess
) -> None:
    person = Person(browser, server.url, "visitor")
    try:
        person.open_link(f"{server.url}/r/AAAAAAAAAAAAAAAAAAAAAA")
        incomplete = "This link is incomplete — ask the sender for the whole link"
        person.page.get_by_text(incomplete).wait_for()
        person.open_link(f"{server.url}/r/AAAAAAAAAAAAAAAAAAAAAA#tooshort")
        person.page.get_by_text(incomplete).wait_for()
        person.open_link(f"{server.url}/r/bad")
        person.page.get_by_text("ask the sender for the whole link").wait_for()
        assert person.foreign == []
    finally:
        person.close()
