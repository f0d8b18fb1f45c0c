"""Lanes over a long link: two Chromium processes in two network namespaces joined by the
emulated link of scripts/bench/_wan_link.py (40 ms round trip), the server next to the
sender. The file must arrive verified over more than one peer connection, and still arrive
verified when the sender's network drops a lane in the middle of the transfer. Two files:
blocks of the first are still on their lanes when the second starts.

Needs root and /dev/net/tun (the link is made of network namespaces and TUN devices); the
tests are skipped, saying why, where those are missing.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Download, Page, Playwright, sync_playwright

from tests.browser.harness import TRACK_PEER_CONNECTIONS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "bench"))
import _wan_link as wan

pytestmark = [pytest.mark.browser, pytest.mark.multiprocess]

SIZES = (36 << 20, 12 << 20)  # lanes open only with 16 MiB or more left (transfer/lanes.js)
RTT_MS = 40
DONE_WITHIN_S = 150


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[wan.Site]:
    why = wan.link_unavailable()
    if why:
        pytest.skip(f"no emulated link here: {why}")
    workdir = tmp_path_factory.mktemp("wan")
    with (
        sync_playwright() as pw,
        wan.emulated_link(delay_ms=RTT_MS / 2) as link,
        wan.p2pshare_over_link(pw, link, workdir) as site,
    ):
        yield site


@pytest.fixture
def sources(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "long-link.bin", tmp_path / "after.bin"]
    for path, size in zip(paths, SIZES, strict=True):
        path.write_bytes(os.urandom(size))
    return paths


def share(site: wan.Site, sources: list[Path]) -> tuple[Page, Page]:
    """The sender shares `sources`; the receiver opens the link and accepts."""
    sender = site.sender.new_page()
    sender.add_init_script(TRACK_PEER_CONNECTIONS)
    sender.goto(site.url + "/")
    sender.get_by_test_id("file-input").set_input_files([str(p) for p in sources])
    link = ""
    deadline = time.monotonic() + 30
    while "#" not in link and time.monotonic() < deadline:
        link = sender.get_by_test_id("share-link").input_value()
        time.sleep(0.2)
    sender.get_by_test_id("connection-details").check()
    receiver = site.receiver.new_page()
    receiver.goto(link)
    accept = receiver.get_by_test_id("accept")
    deadline = time.monotonic() + 60
    while not accept.is_enabled() and time.monotonic() < deadline:
        time.sleep(0.2)
    accept.click()
    return sender, receiver


def lanes_of(sender: Page) -> tuple[int, int]:
    row = sender.get_by_test_id("receiver-row").first
    return int(row.get_attribute("data-lanes") or 1), int(row.get_attribute("data-lanes-max") or 1)


def wait_done(sender: Page, receiver: Page, sources: list[Path], on_lanes: object = None) -> int:
    """Until the receiver is done; returns the most lanes seen. Checks the downloads."""
    most = 1
    downloads: list[Download] = []
    receiver.on("download", lambda download: downloads.append(download))
    deadline = time.monotonic() + DONE_WITHIN_S
    while time.monotonic() < deadline:
        state = receiver.get_by_test_id("transfer-state").get_attribute("data-state")
        now, most_open = lanes_of(sender)
        most = max(most, most_open)
        if callable(on_lanes):
            on_lanes(now)
        if state in ("done", "error") and len(downloads) >= len(sources):
            break
        time.sleep(0.25)
    assert state == "done", receiver.get_by_test_id("transfer-state").inner_text()
    got = {d.suggested_filename: sha256(Path(d.path())) for d in downloads}
    assert got == {p.name: sha256(p) for p in sources}
    statuses = receiver.get_by_test_id("file-status").evaluate_all(
        "(all) => all.map((e) => e.dataset.status)"
    )
    assert statuses == ["verified"] * len(sources)
    return most


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_long_link_uses_several_lanes_and_the_file_arrives_verified(
    site: wan.Site, sources: list[Path]
) -> None:
    sender, receiver = share(site, sources)
    seen: list[str] = []

    def note(_: int) -> None:
        text = sender.get_by_test_id("receiver-connection").first.inner_text()
        if text:
            seen.append(text)

    most = wait_done(sender, receiver, sources, note)
    assert most >= 2, f"the transfer kept to {most} lane over a {RTT_MS} ms round trip"
    # The detail line the user asked for: "3 connections · 41 ms", the round trip measured.
    shown = [m for m in (re.fullmatch(r"(\d) connections? · ([\d.]+) ms", t) for t in seen) if m]
    assert shown, seen[-5:]
    assert any(int(m.group(1)) >= 2 for m in shown)
    assert all(float(m.group(2)) >= RTT_MS * 0.9 for m in shown), seen[-5:]
    sender.close()
    receiver.close()


def test_a_lane_lost_mid_transfer_costs_no_integrity(site: wan.Site, sources: list[Path]) -> None:
    """The sender's network drops an extra lane while blocks are in flight on it: those
    blocks go out again on the others, and the file is still verified whole."""
    sender, receiver = share(site, sources)
    dropped: list[int] = []

    def drop_one(lanes_now: int) -> None:
        if dropped or lanes_now < 2:
            return
        # The first connection made is the first lane; close the newest extra one.
        dropped.append(
            sender.evaluate(
                "() => { const open = globalThis.__testPeerConnections.filter("
                "(pc) => pc.connectionState === 'connected');"
                " if (open.length < 2) return 0; open[open.length - 1].close(); return 1; }"
            )
        )

    wait_done(sender, receiver, sources, drop_one)
    assert dropped == [1], "no extra lane was open to drop"
    sender.close()
    receiver.close()


def _unused(_: Playwright) -> None: ...
