"""Nearby devices: pages on one network see each other, offer files and text with no link,
and show the same verification code, which a man in the middle cannot keep equal.

Everything is read through the testing contract (DEVELOPERS.md): `nearby-device` with
`data-name`, `my-device-name`, `nearby-visible`, `incoming-offer`, `accept-offer`,
`decline-offer`, `verify-code`, `text-input`, `send-text`, `text-item`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator

from tests.browser.harness import Person, ServerProcess, running_server, sha256_file
from tests.browser.nearby_mitm import KeySwapper

pytestmark = pytest.mark.browser

SIZE = 3 * 1024 * 1024 + 17


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("nearby") / "photo.jpg"
    path.write_bytes(os.urandom(SIZE))
    return path


@pytest.fixture
def people(browser: Browser, server: ServerProcess) -> Iterator[list[Person]]:
    made: list[Person] = []
    yield made
    for person in made:
        person.close()


def visible(person: Person, name: str, *, headers: dict[str, str] | None = None) -> Person:
    """Open the home page, name this device and make it visible (the panel's own controls)."""
    if headers:
        person.context.set_extra_http_headers(headers)
    person.page.goto(person.origin + "/")
    name_box = person.page.get_by_test_id("my-device-name")
    name_box.fill(name)
    name_box.press("Enter")
    person.page.get_by_test_id("nearby-visible").check()
    return person


def seen(person: Person) -> list[str]:
    return sorted(
        person.page.eval_on_selector_all(
            "[data-testid=nearby-device]", "nodes => nodes.map(n => n.dataset.name)"
        )
    )


def wait_seen(person: Person, names: list[str], timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while seen(person) != sorted(names):
        assert time.monotonic() < deadline, f"{person.name} sees {seen(person)}, not {names}"
        time.sleep(0.1)


def device(person: Person, name: str) -> Locator:
    return person.page.locator(f"[data-testid=nearby-device][data-name={name!r}]")


def sender_code(person: Person, name: str) -> str:
    row = person.page.locator(".device-row", has=device(person, name))
    code = row.get_by_test_id("verify-code")
    person.page.wait_for_function(
        "n => n.textContent.length === 7", arg=code.element_handle(), timeout=15_000
    )
    return code.text_content() or ""


def offer_photo(a: Person, b: Person, photo: Path) -> None:
    """Alice (a) picks Bob (b) among the devices she sees, then shares the photo: an offer."""
    wait_seen(a, ["Bob"])
    device(a, "Bob").click()
    a.page.get_by_test_id("file-input").set_input_files(str(photo))


def wait_offer_state(person: Person, name: str, state: str) -> Locator:
    """The row of device `name` on `person`'s page, once its latest offer is in `state`."""
    row = person.page.locator(".device-row", has=device(person, name))
    person.page.wait_for_function(
        "([row, state]) => row.dataset.offer === state",
        arg=[row.element_handle(), state],
        timeout=15_000,
    )
    return row


def offer_prompt(person: Person) -> Locator:
    prompt = person.page.get_by_test_id("incoming-offer")
    prompt.wait_for(timeout=15_000)
    return prompt


def test_devices_on_one_network_see_each_other_and_a_hidden_one_is_not_seen(
    browser: Browser, server: ServerProcess, people: list[Person]
) -> None:
    a, b = (Person(browser, server.url, n) for n in ("a", "b"))
    people += [a, b]
    visible(a, "Alice laptop")
    visible(b, "Bob phone")
    wait_seen(a, ["Bob phone"])
    wait_seen(b, ["Alice laptop"])
    c = Person(browser, server.url, "c")
    people.append(c)
    # A fresh context is like a private window: nothing kept, so not visible, seeing no one.
    c.page.goto(c.origin + "/")
    assert not c.page.get_by_test_id("nearby-visible").is_checked()
    time.sleep(1)
    assert seen(a) == ["Bob phone"] and seen(c) == []
    visible(c, "Carol tablet")
    wait_seen(a, ["Bob phone", "Carol tablet"])
    wait_seen(b, ["Alice laptop", "Carol tablet"])
    wait_seen(c, ["Alice laptop", "Bob phone"])
    # The device row says what it is, besides its name.
    assert "Chrome" in (device(a, "Bob phone").text_content() or "")
    # Renamed: everyone sees the new name; kept across a reload.
    box = b.page.get_by_test_id("my-device-name")
    box.fill("Bob's new phone")
    box.press("Enter")
    wait_seen(a, ["Bob's new phone", "Carol tablet"])
    b.page.reload()
    assert b.page.get_by_test_id("my-device-name").input_value() == "Bob's new phone"
    assert b.page.get_by_test_id("nearby-visible").is_checked()
    wait_seen(a, ["Bob's new phone", "Carol tablet"])
    # Hidden: gone from the others at once, and stays hidden after a reload.
    c.page.get_by_test_id("nearby-visible").uncheck()
    wait_seen(a, ["Bob's new phone"])
    c.page.reload()
    assert not c.page.get_by_test_id("nearby-visible").is_checked()
    time.sleep(1)
    assert seen(a) == ["Bob's new phone"]


def test_files_and_text_to_two_devices_at_once_verified_and_same_codes(
    browser: Browser, server: ServerProcess, people: list[Person], photo: Path, tmp_path: Path
) -> None:
    a, b, c = (Person(browser, server.url, n) for n in ("a", "b", "c"))
    people += [a, b, c]
    visible(a, "Alice")
    visible(b, "Bob")
    visible(c, "Carol")
    wait_seen(a, ["Bob", "Carol"])
    device(a, "Bob").click()
    device(a, "Carol").click()
    assert device(a, "Bob").get_attribute("aria-pressed") == "true"
    a.page.get_by_test_id("file-input").set_input_files(str(photo))
    a.page.get_by_test_id("share-link").wait_for()
    codes = {name: sender_code(a, name) for name in ("Bob", "Carol")}  # the offers are out
    # A text added after the offers went out: the share then holds more than they said.
    note = "Meet at 10, the code is 4471 <b>not bold</b>"
    a.page.get_by_test_id("text-input").fill(note)
    a.page.get_by_test_id("send-text").click()
    for person, name in ((b, "Bob"), (c, "Carol")):
        prompt = offer_prompt(person)
        assert "Alice" in (prompt.text_content() or "")
        assert "photo.jpg" in (prompt.text_content() or "")
        assert prompt.get_by_test_id("verify-code").text_content() == codes[name], "same code"
        person.page.get_by_test_id("accept-offer").click()
    for person in (b, c):
        # Not accepted by itself: what arrived differs from the offer, so the person is asked.
        person.page.get_by_text("not what the offer said").wait_for(timeout=30_000)
        assert person.state() != "transferring"
        person.accept()
        person.wait_state("done", timeout_s=90)
        assert person.file_statuses().get("photo.jpg") == "verified"
        items = person.page.get_by_test_id("text-item")
        items.first.wait_for(timeout=15_000)
        assert items.first.text_content() == note
        person.wait_downloads(1)
        saved = person.save_downloads(tmp_path / person.name)
        assert sha256_file(saved["photo.jpg"]) == sha256_file(photo)
    # The sender sees both as its receivers, done.
    a.page.wait_for_function(
        "() => document.querySelectorAll('#receivers li[data-status=done]').length === 2",
        timeout=30_000,
    )
    assert not a.foreign and not b.foreign and not c.foreign


def test_a_decline_is_reported_to_the_sender(
    browser: Browser, server: ServerProcess, people: list[Person], photo: Path
) -> None:
    a, b = (Person(browser, server.url, n) for n in ("a", "b"))
    people += [a, b]
    visible(a, "Alice")
    visible(b, "Bob")
    offer_photo(a, b, photo)
    offer_prompt(b)
    b.page.get_by_test_id("decline-offer").click()
    row = wait_offer_state(a, "Bob", "declined")
    assert "declined" in (row.text_content() or "")
    assert b.page.get_by_test_id("incoming-offer").count() == 0
    # Nobody joined the share: the link never left the sender.
    assert a.page.locator("#receivers li[data-status]").count() == 0


def test_pages_in_two_networks_never_see_each_other(browser: Browser) -> None:
    # Behind a proxy (--trust-proxy) the network is the client's forwarded address.
    with running_server("--trust-proxy", "--nearby-scope", "address") as server:
        home = [Person(browser, server.url, f"home{n}") for n in range(2)]
        office = Person(browser, server.url, "office")
        try:
            visible(home[0], "Home one", headers={"X-Forwarded-For": "203.0.113.5"})
            visible(home[1], "Home two", headers={"X-Forwarded-For": "203.0.113.5"})
            visible(office, "Office", headers={"X-Forwarded-For": "198.51.100.7"})
            wait_seen(home[0], ["Home two"])
            wait_seen(home[1], ["Home one"])
            time.sleep(1)
            assert seen(office) == []
            assert seen(home[0]) == ["Home two"]
        finally:
            for person in (*home, office):
                person.close()


@pytest.mark.parametrize("tamper", [False, True], ids=["key-swap", "tampered-reveal"])
def test_a_man_in_the_middle_shows_as_different_codes(
    browser: Browser, server: ServerProcess, people: list[Person], photo: Path, tamper: bool
) -> None:
    a, b = (Person(browser, server.url, n) for n in ("a", "b"))
    people += [a, b]
    swapper = KeySwapper(tamper_reveal=tamper)
    swapper.install(a.page, b.page)
    visible(a, "Alice")
    visible(b, "Bob")
    offer_photo(a, b, photo)
    code_a = sender_code(a, "Bob")
    if tamper:
        # The reveal does not match the commitment: refused, and said.
        b.page.get_by_text("was changed on its way").wait_for(timeout=15_000)
        assert b.page.get_by_test_id("incoming-offer").count() == 0
        return
    prompt = offer_prompt(b)
    code_b = prompt.get_by_test_id("verify-code").text_content()
    assert code_a != code_b, "the codes differ: comparing them shows the man in the middle"
    assert (code_a.replace(" ", ""), (code_b or "").replace(" ", "")) == (
        swapper.codes_a[-1],
        swapper.codes_b[-1],
    )
    # Unverified and accepted anyway, the server reads the link: what docs/security.md says.
    b.page.get_by_test_id("accept-offer").click()
    deadline = time.monotonic() + 15
    while not swapper.seen_links:
        assert time.monotonic() < deadline, swapper.errors
        # Not time.sleep: the swapper's routes run only while Playwright is called.
        a.page.wait_for_timeout(100)
    assert swapper.seen_links[-1] in a.page.get_by_test_id("share-link").input_value()


def test_with_confirm_the_link_waits_for_the_senders_own_yes(
    browser: Browser, server: ServerProcess, people: list[Person], photo: Path
) -> None:
    a, b = (Person(browser, server.url, n) for n in ("a", "b"))
    people += [a, b]
    visible(a, "Alice")
    visible(b, "Bob")
    a.page.get_by_test_id("nearby-confirm").check()
    offer_photo(a, b, photo)
    offer_prompt(b)
    b.page.get_by_test_id("accept-offer").click()
    row = wait_offer_state(a, "Bob", "confirming")
    time.sleep(1)
    # Accepted on Bob's side, but no link left Alice's: Bob is still waiting, nobody joined.
    assert b.page.get_by_test_id("incoming-offer").get_attribute("data-state") == "accepted"
    assert a.page.locator("#receivers li[data-status]").count() == 0
    row.get_by_role("button", name="Same code: send").click()
    b.wait_state("done", timeout_s=90)
    assert b.file_statuses().get("photo.jpg") == "verified"
