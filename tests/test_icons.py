"""The committed app icons (web/icons/, made by scripts/icons.py): every one the manifest
names is there, a PNG of its stated size. tests/browser/test_pwa.py renders them again."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"


def load_icons_script() -> ModuleType:
    """scripts/icons.py as a module (scripts/ is no package)."""
    name = "p2pshare_scripts_icons"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


icons = load_icons_script()


def test_every_icon_the_script_makes_is_committed_at_its_size() -> None:
    for icon in icons.ICONS:
        data = (WEB / "icons" / icon.name).read_bytes()
        assert icons.png_size(data) == (icon.size, icon.size), icon.name


def test_the_manifest_names_exactly_those_icons_and_the_svg() -> None:
    manifest = json.loads((WEB / "manifest.webmanifest").read_text())
    named = {(entry["src"], entry["sizes"], entry["purpose"]) for entry in manifest["icons"]}
    made = {
        (f"/icons/{icon.name}", f"{icon.size}x{icon.size}", "maskable" if icon.maskable else "any")
        for icon in icons.ICONS
    }
    assert named == made | {("/favicon.svg", "any", "any")}


def test_png_size_reads_the_header_and_refuses_other_files() -> None:
    header = icons.PNG_SIGNATURE + b"\0\0\0\x0dIHDR" + (300).to_bytes(4) + (20).to_bytes(4)
    assert icons.png_size(header + b"\x08\x06\0\0\0") == (300, 20)
    for junk in (b"", b"GIF89a" + b"\0" * 30, header[:20]):
        with pytest.raises(ValueError):
            icons.png_size(junk)


def test_maskable_icons_keep_the_glyph_in_the_safe_zone() -> None:
    # The glyph's farthest point is 21/64 of the logo's side from the centre; the safe zone
    # is a circle of 0.4 of the icon's side.
    assert 21 / 64 * icons.MASKABLE_LOGO <= 0.4
    svg = (WEB / "favicon.svg").read_text()
    assert icons.brand_colour(svg) == "#1b6ef3"
