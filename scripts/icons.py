"""The app's PNG icons (web/icons/*.png), rendered from web/favicon.svg by Chromium.

    python scripts/icons.py            # writes web/icons/icon-{192,512}.png, maskable-{192,512}.png

No icon is drawn by hand: Playwright drives Debian's /usr/bin/chromium (tests/browser/harness.py's
launch) to render the SVG at each size and screenshots it. "any" icons are the logo itself on a
transparent background; "maskable" ones fill the square with the brand colour (the logo's own
fill) and keep the logo's glyph inside the safe zone, the centre circle of 80 % of the width
that every mask shape keeps (https://www.w3.org/TR/appmanifest/#icon-masks).

Chromium versions may anti-alias differently, so the bytes may change from one to the next; the
sizes may not (tests/test_icons.py checks the committed files, tests/browser/test_pwa.py a
fresh render).
"""

from __future__ import annotations

import base64
import re
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REPO = Path(__file__).resolve().parents[1]
SVG = REPO / "web" / "favicon.svg"
OUT = REPO / "web" / "icons"
# The logo's side as a fraction of a maskable icon. Its square is the background's colour, so
# what must stay in the safe circle (radius 0.4 of the side) is the white glyph: its farthest
# point is 21/64 of the logo's side from the centre (circles of r 9 at +-12), 0.295 at 0.9.
MASKABLE_LOGO = 0.9
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True, slots=True)
class Icon:
    name: str  # file name under web/icons/
    size: int  # pixels, square
    maskable: bool


ICONS = (
    Icon("icon-192.png", 192, maskable=False),
    Icon("icon-512.png", 512, maskable=False),
    Icon("maskable-192.png", 192, maskable=True),
    Icon("maskable-512.png", 512, maskable=True),
)


def brand_colour(svg: str) -> str:
    """The fill of the logo's first shape (its background square): the maskable background."""
    match = re.search(r'fill="(#[0-9a-fA-F]{3,8})"', svg)
    if match is None:
        raise ValueError("favicon.svg has no fill colour to use as the brand background")
    return match.group(1)


def page_html(svg: str, icon: Icon) -> str:
    """A page that shows the logo exactly as `icon` wants it, filling the viewport."""
    source = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
    side = round(icon.size * MASKABLE_LOGO) if icon.maskable else icon.size
    background = brand_colour(svg) if icon.maskable else "transparent"
    return (
        "<!doctype html><html><body style='margin:0;display:grid;place-items:center;"
        f"width:{icon.size}px;height:{icon.size}px;background:{background}'>"
        f"<img src='{source}' width='{side}' height='{side}' alt=''></body></html>"
    )


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk. Raises ValueError if `data` is no PNG."""
    if len(data) < 24 or not data.startswith(PNG_SIGNATURE) or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def render_all(svg: str, browser: Browser) -> dict[str, bytes]:
    """Every icon of ICONS rendered by `browser` (a Playwright Chromium), by file name."""
    rendered: dict[str, bytes] = {}
    for icon in ICONS:
        context = browser.new_context(
            viewport={"width": icon.size, "height": icon.size}, device_scale_factor=1
        )
        try:
            page = context.new_page()
            page.set_content(page_html(svg, icon))
            page.wait_for_function("() => document.images[0].complete")
            rendered[icon.name] = page.screenshot(omit_background=not icon.maskable)
        finally:
            context.close()
    return rendered


def main() -> None:
    from playwright.sync_api import sync_playwright

    sys.path.insert(0, str(REPO))
    from tests.browser.harness import launch

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            rendered = render_all(SVG.read_text(), browser)
        finally:
            browser.close()
    OUT.mkdir(exist_ok=True)
    for name, data in rendered.items():
        (OUT / name).write_bytes(data)
        width, height = png_size(data)
        print(f"web/icons/{name}: {width}x{height}, {len(data)} bytes")


if __name__ == "__main__":
    main()
