"""Screenshots of the nearby view for docs/images/ (phone and desktop width, light and dark).

    python scripts/screenshots.py            # writes docs/images/nearby-*.png

A real server and real pages: three devices on one network (loopback), the shot device with
one of the others chosen, and the other side's prompt with its code after an offer.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.harness import launch, running_server  # noqa: E402

OUT = REPO / "docs" / "images"
WIDTHS = {"phone": (390, 844), "desktop": (1100, 900)}
PHONE = WIDTHS["phone"]
TWO_DEVICES = "() => document.querySelectorAll('[data-testid=nearby-device]').length === 2"
PROMPT_CODE = (
    "() => document.querySelector('[data-testid=incoming-offer] [data-testid=verify-code]')"
    ".textContent.length === 7"
)
ROW_CODE = (
    "() => [...document.querySelectorAll('.device-row [data-testid=verify-code]')]"
    ".some(n => n.textContent.length === 7)"
)
NOTE = "The Wi-Fi password is in the blue folder."


def device_page(
    browser: Browser, url: str, name: str, size: tuple[int, int], scheme: str
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport={"width": size[0], "height": size[1]},
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    page = context.new_page()
    page.goto(url + "/")
    box = page.get_by_test_id("my-device-name")
    box.fill(name)
    box.press("Enter")
    page.get_by_test_id("nearby-visible").check()
    return context, page


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with running_server() as server, sync_playwright() as pw:
        browser = launch(pw)
        for width_name, size in WIDTHS.items():
            for scheme in ("light", "dark"):
                contexts = []
                try:
                    ctx_a, alice = device_page(browser, server.url, "Alice's laptop", size, scheme)
                    ctx_b, bob = device_page(browser, server.url, "Bob's phone", PHONE, scheme)
                    ctx_c, _ = device_page(browser, server.url, "Carol's tablet", PHONE, scheme)
                    contexts = [ctx_a, ctx_b, ctx_c]
                    alice.wait_for_function(TWO_DEVICES)
                    alice.locator('[data-testid=nearby-device][data-name="Bob\'s phone"]').click()
                    alice.get_by_test_id("text-input").fill(NOTE)
                    shot = f"{width_name}-{scheme}.png"
                    alice.screenshot(path=str(OUT / f"nearby-{shot}"), full_page=True)
                    alice.get_by_test_id("send-text").click()
                    bob.get_by_test_id("incoming-offer").wait_for()
                    bob.wait_for_function(PROMPT_CODE)
                    alice.wait_for_function(ROW_CODE)
                    alice.screenshot(path=str(OUT / f"nearby-offered-{shot}"), full_page=True)
                    bob.wait_for_timeout(1000)  # Accept is armed after 0.8 s on screen
                    if width_name == "phone":
                        prompt = OUT / f"nearby-prompt-phone-{scheme}.png"
                        bob.screenshot(path=str(prompt), full_page=True)
                finally:
                    for context in contexts:
                        context.close()
        browser.close()
    for path in sorted(OUT.glob("nearby-*.png")):
        print(path.relative_to(REPO))


if __name__ == "__main__":
    main()
