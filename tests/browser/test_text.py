"""Text items end to end: a text typed on the sender's page (`text-input`, `send-text`) reaches
the receiver's page verified and is shown inline (`text-item`), inertly, whatever it holds; the
limit is said on the sending side and enforced on the receiving side (a hostile sender's 2 MiB
"text" is refused); Copy puts it on the clipboard; a sender's reload keeps it; and the
command-line peer receives it as a file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.harness import Person, ServerProcess, sha256_file
from tests.browser.test_cli_interop import Cli, cli_receive, clis  # noqa: F401 (a fixture)

pytestmark = pytest.mark.browser

MIB = 1 << 20
HOSTILE = (
    "<script>window.__pwned = 1</script>\n"
    '<img src="x" onerror="window.__pwned = 2">\n'
    "https://example.org/login?next=%2F\n"
    "abc\u202edcba\u202c and \u2066isolated\u2069 end"
)
HOSTILE_BIDI = 4


@pytest.fixture
def people(browser: Browser, server: ServerProcess) -> Iterator[dict[str, Person]]:
    made = {name: Person(browser, server.url, name) for name in ("sender", "receiver")}
    yield made
    for person in made.values():
        person.close()


def share_text(sender: Person, text: str) -> str:
    """Start a share with `text` alone, from the home page; returns the link."""
    sender.page.goto(sender.origin + "/")
    sender.page.get_by_test_id("text-input").fill(text)
    sender.page.get_by_test_id("send-text").click()
    return wait_link(sender)


def wait_link(sender: Person) -> str:
    sender.page.wait_for_function(
        "() => document.querySelector('[data-testid=share-link]').value.includes('#')"
    )
    return sender.page.get_by_test_id("share-link").input_value()


def add_text(sender: Person, text: str, items: int) -> None:
    """Add `text` to the share on the share page; waits until it lists `items` items."""
    sender.page.get_by_test_id("text-input").fill(text)
    sender.page.get_by_test_id("send-text").click()
    sender.page.wait_for_function(
        "n => document.querySelectorAll('#share-files li').length === n", arg=items
    )


def shown_texts(person: Person) -> list[str]:
    return list(
        person.page.eval_on_selector_all(
            "[data-testid=text-item]", "els => els.map(e => e.textContent)"
        )
    )


def receive(receiver: Person, link: str) -> None:
    receiver.open_link(link)
    receiver.accept()
    receiver.wait_state("done", timeout_s=60)


def test_a_text_alone_by_link_is_verified_and_shown(people: dict[str, Person]) -> None:
    sender, receiver = people["sender"], people["receiver"]
    text = "Hello, Grüße, 日本語 ✓\n  second line\n\nthird, after a blank line  "
    link = share_text(sender, text)
    row = sender.page.locator("#share-files li")
    assert row.get_attribute("data-kind") == "text"
    assert "Hello, Grüße" in (row.text_content() or "")  # its first line, not a file name
    receive(receiver, link)
    assert shown_texts(receiver) == [text]
    assert receiver.page.get_by_test_id("file-status").get_attribute("data-status") == "verified"
    assert receiver.page.get_by_test_id("text-warning").count() == 0
    assert receiver.downloads == []  # shown, not saved
    assert receiver.page.locator("#save-zip").is_hidden()
    sender.page.wait_for_function(
        "() => document.querySelector('[data-testid=receiver-row]')?.dataset.status === 'done'"
    )
    # A reload shows the verified text again, read back from where the page keeps it.
    receiver.page.reload()
    receiver.wait_state("done", timeout_s=30)
    receiver.page.get_by_test_id("text-item").wait_for()
    assert shown_texts(receiver) == [text]
    assert receiver.errors == [] and sender.errors == [] and receiver.foreign == []


def test_texts_and_files_in_one_share(people: dict[str, Person], tmp_path: Path) -> None:
    sender, receiver = people["sender"], people["receiver"]
    payload = tmp_path / "report.bin"
    payload.write_bytes(bytes(range(256)) * 5000)
    link = sender.share([payload])
    add_text(sender, "first text", 2)
    add_text(sender, "second text\nwith two lines", 3)
    kinds = sender.page.eval_on_selector_all(
        "#share-files li", "els => els.map(e => e.dataset.kind)"
    )
    assert sorted(kinds) == ["file", "text", "text"]
    assert "1 file and 2 texts" in (sender.page.locator("#share-summary").text_content() or "")
    receive(receiver, link)
    assert sorted(shown_texts(receiver)) == ["first text", "second text\nwith two lines"]
    statuses = receiver.file_statuses()
    assert sorted(statuses) == ["Text 1.txt", "Text 2.txt", "report.bin"]
    receiver.wait_downloads(1)
    saved = receiver.save_downloads(tmp_path / "out")
    assert list(saved) == ["report.bin"]  # the texts are shown, only the file is saved
    assert sha256_file(saved["report.bin"]) == sha256_file(payload)


def test_hostile_text_is_shown_inertly(people: dict[str, Person]) -> None:
    sender, receiver = people["sender"], people["receiver"]
    link = share_text(sender, HOSTILE)
    receive(receiver, link)
    item = receiver.page.get_by_test_id("text-item")
    assert item.text_content() == HOSTILE
    assert item.evaluate("e => e.children.length") == 0  # no <a>, <img> or <script> made
    assert (
        receiver.page.locator("#receive-files a, #receive-files img, #receive-files script").count()
        == 0
    )
    assert item.get_attribute("dir") == "auto"
    assert item.evaluate("e => getComputedStyle(e).unicodeBidi") in ("plaintext", "isolate")
    assert item.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    warning = receiver.page.get_by_test_id("text-warning").text_content() or ""
    assert f"{HOSTILE_BIDI} invisible direction characters" in warning
    receiver.page.wait_for_timeout(300)  # an image's onerror would have fired by now
    for person in (receiver, sender):
        assert person.page.evaluate("() => window.__pwned") is None
    assert sender.page.locator("#share-files img, #share-files script, #share-files a").count() == 0
    assert not any(url.endswith("/x") for url in receiver.requests)  # the <img> never loaded
    assert receiver.errors == [] and sender.errors == []


def test_the_limit_is_said_before_anything_is_sent(people: dict[str, Person]) -> None:
    sender, receiver = people["sender"], people["receiver"]
    page = sender.page
    page.goto(sender.origin + "/")
    assert page.get_by_test_id("send-text").is_disabled()  # nothing typed yet
    text_input = page.get_by_test_id("text-input")
    assert page.locator("label[for=text-input]").is_visible()
    text_input.fill("é" * (MIB // 2) + "x")  # 1 MiB + 1 byte of UTF-8
    hint = page.locator("#text-hint")
    assert "1,048,577 bytes" in (hint.text_content() or "")
    assert "file" in (hint.text_content() or "")
    page.get_by_test_id("send-text").click()
    assert "Save it in a file" in (hint.text_content() or "")
    assert page.locator("#view-home").is_visible()  # no share started
    assert page.get_by_test_id("share-link").input_value() == ""
    # One byte less is exactly the limit: it goes, and arrives whole.
    text = "é" * (MIB // 2)
    text_input.fill(text)
    assert "1,048,576 of 1,048,576 bytes" in (hint.text_content() or "")
    page.get_by_test_id("send-text").click()
    receive(receiver, wait_link(sender))
    assert receiver.page.get_by_test_id("text-item").evaluate("(e, t) => e.textContent === t", text)


# Runs in the sender's page: its manifest claims a 2 MiB text item (its text is 5 bytes).
CLAIM_BIG_TEXT = """
(() => {
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) {
    if (typeof data === 'string' && JSON.parse(data).t === 'manifest') {
      const message = JSON.parse(data);
      message.files = message.files.map((f) => (f.text ? { ...f, size: %d } : f));
      return send.call(this, JSON.stringify(message));
    }
    return send.call(this, data);
  };
})();
""" % (2 * MIB)


def test_a_hostile_senders_2_mib_text_is_refused(people: dict[str, Person]) -> None:
    sender, receiver = people["sender"], people["receiver"]
    sender.context.add_init_script(CLAIM_BIG_TEXT)
    link = share_text(sender, "hello")
    receiver.open_link(link)
    receiver.wait_state("error", timeout_s=30)
    status = receiver.status_text()
    assert "refused" in status and "over 1 MiB" in status, status
    assert receiver.page.get_by_test_id("text-item").count() == 0
    assert receiver.page.get_by_test_id("file-status").count() == 0  # nothing was offered
    assert receiver.errors == []


def test_copy_puts_the_text_on_the_clipboard(people: dict[str, Person]) -> None:
    sender, receiver = people["sender"], people["receiver"]
    receiver.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=receiver.origin
    )
    text = "copy me:\n\tπ ≈ 3.14159 — https://example.org/?q=1"
    receive(receiver, share_text(sender, text))
    receiver.page.get_by_test_id("copy-text").click()
    receiver.page.get_by_text("Copied.").wait_for()
    assert receiver.page.evaluate("() => navigator.clipboard.readText()") == text


def test_a_text_survives_a_sender_reload(people: dict[str, Person], tmp_path: Path) -> None:
    sender, receiver = people["sender"], people["receiver"]
    text = "kept across a reload\nline two"
    link = share_text(sender, text)
    sender.page.reload()
    sender.wait_signaling_open()
    row = sender.page.locator("#share-files li[data-kind=text]")
    row.wait_for()
    assert "kept across a reload" in (row.text_content() or "")
    assert sender.page.locator("#readd").is_hidden()  # nothing to add again
    add_text(sender, "added after the reload", 2)
    receive(receiver, link)
    assert sorted(shown_texts(receiver)) == ["added after the reload", text]
    assert sender.errors == []


def test_a_browsers_text_reaches_the_command_line_as_a_file(
    people: dict[str, Person],
    tmp_path: Path,
    clis: list[Cli],  # noqa: F811 (the fixture)
) -> None:
    text = "from the browser to the terminal: ✓\n"
    link = share_text(people["sender"], text)
    receiver = cli_receive(clis, link, tmp_path / "out")
    assert receiver.wait() == 0, (receiver.events[-3:], receiver.stderr)
    assert (tmp_path / "out" / "Text 1.txt").read_text(encoding="utf-8") == text
    manifest = receiver.wait_event("manifest")
    assert manifest["files"] == [{"path": "Text 1.txt", "size": len(text.encode()), "text": True}]
    assert receiver.wait_event("verified").get("text") is True
