"""Screenshots of the installable app for docs/images/ (phone width, light and dark).

    python scripts/pwa_screenshots.py      # writes docs/images/pwa-*.png

Headless Chromium shows no browser UI: no install prompt, no app window, no OS share sheet.
What it can show, from a real server and real pages:
  pwa-share-target-phone-<scheme>.png  the page the share target opens: a file and a text shared
                                        (a form POST from a blank tab, as the share sheet posts),
                                        the share link ready, "Share link" shown (navigator.share
                                        stubbed to exist: Linux Chromium has none)
  pwa-offline-phone-<scheme>.png       a reload with the server stopped, after one visit: the page
                                        from the worker's cache, saying it cannot reach the server
  pwa-icons.png                        the generated icons as a page lays them out: "any" on
                                        their own, "maskable" under a circle and a rounded-square
                                        mask (CSS), as launchers crop them; not a launcher
"""

from __future__ import annotations

import base64
import sys
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.harness import ServerProcess, launch  # noqa: E402

OUT = REPO / "docs" / "images"
PHONE = {"width": 390, "height": 844}
SHARE_STUB = "navigator.share = async () => {}; navigator.canShare = () => true;"
SHARED = {"title": "Trip", "text": "Train at 9:40, platform 4", "url": "https://example.org/t"}


def controlled(page: Page) -> None:
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    for _ in range(100):
        if page.evaluate("() => navigator.serviceWorker.controller !== null"):
            return
        page.wait_for_timeout(100)
    raise SystemExit("the service worker never took the page")


def share_target_shot(browser: Browser, server: ServerProcess, scheme: str, tmp: Path) -> None:
    context = browser.new_context(viewport=PHONE, color_scheme=scheme)  # type: ignore[arg-type]
    context.add_init_script(SHARE_STUB)
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        controlled(page)
        shared = tmp / "holiday-plan.pdf"
        shared.write_bytes(b"%PDF-1.7 " + bytes(range(256)) * 900)
        sheet = context.new_page()
        fields = "".join(f'<input name="{k}" value="{v}">' for k, v in SHARED.items())
        sheet.set_content(
            f'<form method="post" enctype="multipart/form-data" action="{server.url}/share-target">'
            f'<input type="file" name="files">{fields}</form>'
        )
        sheet.locator("input[type=file]").set_input_files(str(shared))
        sheet.evaluate("() => document.forms[0].submit()")
        sheet.wait_for_function(
            "() => document.querySelector('[data-testid=share-link]')?.value.includes('#')",
            timeout=30_000,
        )
        sheet.wait_for_timeout(500)
        sheet.locator("#share-link").evaluate("el => el.blur()")
        sheet.screenshot(path=str(OUT / f"pwa-share-target-phone-{scheme}.png"), full_page=True)
    finally:
        context.close()


def offline_shot(browser: Browser, scheme: str) -> None:
    server = ServerProcess().start()
    context = browser.new_context(viewport=PHONE, color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        page.goto(server.url + "/")
        controlled(page)
        server.stop()
        page.goto(server.url + "/")
        page.locator("#view-message").wait_for()
        page.screenshot(path=str(OUT / f"pwa-offline-phone-{scheme}.png"))
    finally:
        context.close()
        server.stop()


def icons_shot(browser: Browser) -> None:
    def data(name: str) -> str:
        raw = (REPO / "web" / "icons" / name).read_bytes()
        return "data:image/png;base64," + base64.b64encode(raw).decode()

    cells = [
        ("icon-512.png", "any", "none"),
        ("maskable-512.png", "maskable, no mask", "none"),
        ("maskable-512.png", "maskable, circle", "50%"),
        ("maskable-512.png", "maskable, rounded", "22%"),
    ]
    html = (
        "<body style='margin:0;padding:24px;font:14px system-ui;background:#f6f7f9;"
        "display:flex;gap:24px'>"
        + "".join(
            f"<figure style='margin:0;text-align:center'><img src='{data(name)}' width='160' "
            f"height='160' style='border-radius:{radius};display:block'>"
            f"<figcaption>{caption}</figcaption></figure>"
            for name, caption, radius in cells
        )
        + "</body>"
    )
    context = browser.new_context(viewport={"width": 790, "height": 240})
    try:
        page = context.new_page()
        page.set_content(html)
        page.screenshot(path=str(OUT / "pwa-icons.png"))
    finally:
        context.close()


def main() -> None:
    import tempfile

    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as tmp:
        browser = launch(pw)
        server = ServerProcess().start()
        try:
            for scheme in ("light", "dark"):
                share_target_shot(browser, server, scheme, Path(tmp))
                offline_shot(browser, scheme)
            icons_shot(browser)
        finally:
            server.stop()
            browser.close()
    for path in sorted(OUT.glob("pwa-*.png")):
        print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
