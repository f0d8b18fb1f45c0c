"""The installable app end to end: manifest, icons, the service worker and the share target.

On http://127.0.0.1 (a secure context) the page registers /sw.js. These tests check what is
served (types, headers, the CSP unchanged), that Chromium itself finds the app installable,
that after one visit the app shell starts with the server stopped, that a changed server
replaces the old cache, that the share sheet's POST (played by a form in a blank page, as the
OS's share sheet is no page of ours either) starts a share the server never sees, and the
"Share link" button (the OS share sheet stubbed: headless Chromium has none).
"""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from p2pshare.http.app import CONTENT_SECURITY_POLICY
from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS, REPO, Person, ServerProcess
from tests.test_icons import load_icons_script

pytestmark = pytest.mark.browser

ROOM_URL = "/r/abcdefghijklmnopqrstuv#" + "k" * 43 + "." + "s" * 43
SHARED_NAME = "holiday-plan.pdf"
SHARED_TEXT = {"title": "Trip", "text": "Train at 9:40, platform 4", "url": "https://example.org/t"}
FOLDED_TEXT = "Trip\nTrain at 9:40, platform 4\nhttps://example.org/t"


icons = load_icons_script()


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        headers = {name.lower(): value for name, value in response.headers.items()}
        return response.status, headers, response.read()


def http_statuses(server: ServerProcess) -> dict[str, int]:
    """The server's own count of the HTTP answers it gave, by status (from /metrics)."""
    _, _, body = get(server.url + "/metrics")
    found = re.findall(r'p2pshare_http_requests_total\{status="(\d+)"\} (\d+)', body.decode())
    return {status: int(count) for status, count in found}


def shell_paths(server: ServerProcess) -> list[str]:
    """The app shell's URLs, as the server lists them in /sw.js."""
    _, _, body = get(server.url + "/sw.js")
    line = body.decode().splitlines()[2]
    return sorted(path for path, _ in json.loads(line.removeprefix("const SHELL = ")[:-1]))


def wait_controlled(page: Page) -> str:
    """Until a service worker is active and controls `page`; returns the cache names."""
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    for _ in range(100):
        if page.evaluate("() => navigator.serviceWorker.controller !== null"):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the service worker never took the page")
    return str(wait_caches(page, lambda names: len(names) == 1)[0])


def wait_caches(page: Page, done: object) -> list[str]:
    names: list[str] = []
    for _ in range(100):
        names = page.evaluate("() => caches.keys()")
        if done(names):  # type: ignore[operator]
            return names
        page.wait_for_timeout(100)
    raise AssertionError(f"caches: {names}")


def cached_urls(page: Page) -> list[str]:
    return list(
        page.evaluate(
            "async () => { const urls = [];"
            " for (const name of await caches.keys()) {"
            "   for (const r of await (await caches.open(name)).keys()) urls.push(r.url); }"
            " return urls; }"
        )
    )


@pytest.fixture
def person(browser: Browser, server: ServerProcess) -> Iterator[Person]:
    made = Person(browser, server.url, "sender")
    yield made
    made.close()


# --- what is served ---------------------------------------------------------------------


def test_the_manifest_worker_and_icons_are_served_with_their_types_and_headers(
    server: ServerProcess,
) -> None:
    _, page_headers, _ = get(server.url + "/")
    assert page_headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for directive in ("worker-src 'self'", "manifest-src 'self'", "form-action 'none'"):
        assert directive in CONTENT_SECURITY_POLICY

    status, headers, body = get(server.url + "/manifest.webmanifest")
    assert status == 200 and headers["content-type"] == "application/manifest+json"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    manifest = json.loads(body)
    assert manifest["start_url"] == "/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    assert manifest["name"] and manifest["short_name"] and manifest["description"]
    assert re.fullmatch(r"#[0-9a-f]{6}", manifest["theme_color"])
    share_target = manifest["share_target"]
    assert share_target["action"] == "/share-target" and share_target["method"] == "POST"
    assert share_target["enctype"] == "multipart/form-data"
    assert share_target["params"]["files"] == [{"name": "files", "accept": ["*/*"]}]
    purposes = set()
    for icon in manifest["icons"]:
        status, headers, data = get(server.url + icon["src"])
        assert status == 200 and headers["content-type"] == icon["type"]
        if icon["type"] == "image/png":
            width, height = icons.png_size(data)
            assert icon["sizes"] == f"{width}x{height}"
        else:
            assert icon["sizes"] == "any" and data.startswith(b"<svg")
        purposes.add((icon["sizes"], icon["purpose"]))
    for size in ("192x192", "512x512"):
        assert {(size, "any"), (size, "maskable")} <= purposes

    status, headers, body = get(server.url + "/sw.js")
    assert status == 200 and headers["content-type"] == "text/javascript; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert headers["x-content-type-options"] == "nosniff"
    head = body.decode().splitlines()[:3]
    assert head[1].startswith('const VERSION = "0.1.0-') and head[2].startswith("const SHELL = [")


def test_chromium_finds_the_app_installable(playwright: Playwright, tmp_path: Path) -> None:
    """A persistent profile (an incognito context can install nothing): no installability
    error, and the manifest as Chromium parsed it."""
    server = ServerProcess().start()
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        wait_controlled(page)
        cdp = context.new_cdp_session(page)
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["errors"] == [] and manifest["url"] == server.url + "/manifest.webmanifest"
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    finally:
        context.close()
        server.stop()


def test_rendering_the_icons_again_gives_the_same_sizes(browser: Browser) -> None:
    rendered = icons.render_all((REPO / "web" / "favicon.svg").read_text(), browser)
    for icon in icons.ICONS:
        committed = (REPO / "web" / "icons" / icon.name).read_bytes()
        assert icons.png_size(rendered[icon.name]) == icons.png_size(committed)
        assert icons.png_size(committed) == (icon.size, icon.size)


# --- the app shell offline --------------------------------------------------------------


def test_after_one_visit_the_app_starts_with_the_server_stopped(
    person: Person, server: ServerProcess
) -> None:
    page = person.page
    page.goto(server.url + "/")
    page.locator("#view-home").wait_for()
    wait_controlled(page)
    paths = {url.removeprefix(server.url) for url in cached_urls(page)}
    assert sorted(paths) == shell_paths(server)
    assert {"/", "/app.css", "/js/main.js", "/js/pwa.js", "/manifest.webmanifest"} <= paths
    assert any(path.startswith("/vendor/") for path in paths)
    never = ("/config.json", "/ws/", "/healthz", "/metrics", "/share-target", "/r/", "/sw.js")
    assert not [path for path in paths if path.startswith(never)], paths

    server.stop()
    for url in (server.url + "/", server.url + ROOM_URL):
        page.goto(url)
        # The page itself runs: it says it cannot reach the server instead of a blank page.
        page.locator("#view-message").wait_for()
        assert page.locator("#message-title").text_content() == "Cannot reach the server"
        assert page.evaluate("() => getComputedStyle(document.querySelector('main')).maxWidth")
        assert page.evaluate("() => document.styleSheets[0].cssRules.length") > 10
    assert person.errors == []


def test_a_changed_server_replaces_the_old_cache(browser: Browser, tmp_path: Path) -> None:
    web = tmp_path / "web"
    shutil.copytree(REPO / "web", web, ignore=shutil.ignore_patterns("test"))
    server = ServerProcess(extra=["--web-root", str(web)]).start()
    person = Person(browser, server.url, "visitor")
    try:
        first = wait_controlled_at(person.page, server.url + "/")
        _, _, worker = get(server.url + "/sw.js")
        # The next release: one file differs, so the worker's bytes and its version do too.
        with (web / "app.css").open("a") as css:
            css.write("\n/* the next release */\n")
        server.restart()
        _, _, new_worker = get(server.url + "/sw.js")
        assert new_worker.splitlines()[1] != worker.splitlines()[1]
        person.page.reload()  # the browser checks /sw.js again: a new worker installs
        for _ in range(100):
            if person.page.evaluate(
                "() => navigator.serviceWorker.getRegistration().then(r => r.waiting !== null)"
            ):
                break
            person.page.wait_for_timeout(100)
        else:
            raise AssertionError("no new worker was installed")
        # It waits: the old worker keeps its page (a transfer could be running there), and
        # both caches are there, until that page is closed.
        assert len(person.page.evaluate("() => caches.keys()")) == 2
        assert person.page.locator("#view-home").is_visible()
        person.page.close()
        page = person.new_page()
        page.goto(server.url + "/")
        names = wait_caches(page, lambda names: names != [first] and len(names) == 1)
        assert names[0].startswith("p2pshare-shell-0.1.0-")
        css = page.evaluate(
            "async () => (await (await caches.open((await caches.keys())[0]))"
            ".match('/app.css')).text()"
        )
        assert css.endswith("/* the next release */\n")
    finally:
        person.close()
        server.stop()


def wait_controlled_at(page: Page, url: str) -> str:
    page.goto(url)
    return wait_controlled(page)


# --- the share target -------------------------------------------------------------------


def share_sheet_post(
    context: BrowserContext, origin: str, file: Path, visited: list[str] | None = None
) -> Page:
    """What the OS share sheet does: a multipart POST navigation to the share target, from
    no page of ours (our CSP's form-action 'none' would refuse a form on our own pages).
    `visited` gets every URL the tab's main frame goes to."""
    sheet = context.new_page()
    if visited is not None:
        sheet.on("framenavigated", lambda frame: visited.append(frame.url))
    fields = "".join(
        f'<input name="{name}" value="{value}">' for name, value in SHARED_TEXT.items()
    )
    sheet.set_content(
        f'<form method="post" enctype="multipart/form-data" action="{origin}/share-target">'
        f'<input type="file" name="files" multiple>{fields}</form>'
    )
    sheet.locator("input[type=file]").set_input_files(str(file))
    sheet.evaluate("() => document.forms[0].submit()")
    return sheet


def test_a_share_target_post_starts_a_share_the_server_never_sees(
    browser: Browser, server: ServerProcess, tmp_path: Path
) -> None:
    shared = tmp_path / SHARED_NAME
    shared.write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 400)
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        wait_controlled_at(sender.page, server.url + "/")
        visited: list[str] = []
        page = share_sheet_post(sender.context, server.url, shared, visited)
        sender.page = page
        page.wait_for_url(re.compile(r"/r/[A-Za-z0-9_-]+#"), timeout=30_000)
        page.wait_for_function(
            "() => document.querySelector('[data-testid=share-link]').value.includes('#')"
        )
        link = page.get_by_test_id("share-link").input_value()
        kinds = page.eval_on_selector_all(
            "#share-files li", "els => els.map(e => e.dataset.kind).sort()"
        )
        assert kinds == ["file", "text"]
        assert SHARED_NAME in (page.locator("#share-files").text_content() or "")
        # Nothing of it went into Cache Storage: that holds the app shell and nothing else.
        cached = sorted(url.removeprefix(server.url) for url in cached_urls(page))
        assert cached == shell_paths(server)

        receiver.open_link(link)
        receiver.accept()
        receiver.wait_state("done", timeout_s=60)
        texts = receiver.page.eval_on_selector_all(
            "[data-testid=text-item]", "els => els.map(e => e.textContent)"
        )
        assert texts == [FOLDED_TEXT]
        assert receiver.file_statuses().keys() == {SHARED_NAME, "Text 1.txt"}
        receiver.wait_downloads(1)
        saved = receiver.save_downloads(tmp_path / "out")
        assert saved[SHARED_NAME].read_bytes() == shared.read_bytes()

        # The worker answered the POST (its redirect names an id; the server's would say
        # "unavailable"), and the server answered no POST at all (it would have said 303).
        assert any(re.search(r"/\?share-target=[A-Za-z0-9_-]{22}$", url) for url in visited)
        assert "303" not in http_statuses(server) and "405" not in http_statuses(server)
        assert sender.errors == [] and receiver.errors == []
    finally:
        sender.close()
        receiver.close()


def test_a_share_target_post_with_no_worker_is_sent_back_unread(
    browser: Browser, server: ServerProcess, tmp_path: Path
) -> None:
    """No worker yet (first visit ever, or site data cleared): the server says 303 and the
    page says what happened; nothing is shared."""
    shared = tmp_path / SHARED_NAME
    shared.write_bytes(b"x" * 1000)
    context = browser.new_context(service_workers="block")
    try:
        page = share_sheet_post(context, server.url, shared)
        page.wait_for_url(server.url + "/")
        page.get_by_text("did not reach p2pshare").wait_for()
        assert page.locator("#view-home").is_visible()
        assert http_statuses(server).get("303") == 1
    finally:
        context.close()


# --- the sender's "Share link" ----------------------------------------------------------

STUB_SHARE = """
(() => {
  globalThis.__shares = [];
  navigator.share = async (data) => {
    globalThis.__shares.push(data);
    const next = globalThis.__shareFails;
    if (next) throw new DOMException('stubbed', next);
  };
  navigator.canShare = () => true;
})();
"""


def test_share_link_opens_the_share_sheet_and_copy_link_still_works(
    person: Person, tmp_path: Path
) -> None:
    person.context.add_init_script(STUB_SHARE)
    person.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=person.origin)
    payload = tmp_path / "notes.txt"
    payload.write_text("notes")
    link = person.share([payload])
    page = person.page
    button = page.get_by_test_id("share-native")
    assert button.is_visible() and button.text_content() == "Share link"
    button.click()
    page.wait_for_function("() => globalThis.__shares.length === 1")
    assert page.evaluate("() => globalThis.__shares") == [{"url": link}]

    page.evaluate("() => { globalThis.__shareFails = 'AbortError'; }")  # the person cancelled
    button.click()
    page.wait_for_function("() => globalThis.__shares.length === 2")
    page.wait_for_timeout(300)
    assert page.locator("#notices .notice").count() == 0
    page.evaluate("() => { globalThis.__shareFails = 'NotAllowedError'; }")
    button.click()
    page.get_by_text("Could not share the link: stubbed").wait_for()

    page.get_by_role("button", name="Copy link").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == link


def test_share_link_is_hidden_where_the_browser_cannot_share(
    person: Person, tmp_path: Path
) -> None:
    payload = tmp_path / "notes.txt"
    payload.write_text("notes")
    person.share([payload])
    if person.page.evaluate("() => typeof navigator.share") == "function":
        pytest.skip("this Chromium has navigator.share")
    assert person.page.get_by_test_id("share-native").is_hidden()
