"""End-to-end security: what the server sees is sealed, and a tampering server is caught.

The "malicious server" is played by Playwright's WebSocket routing, which sits between the page
and the real server and can alter, redirect or replay any frame, exactly as a compromised
server (or a proxy in front of it) could.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, WebSocketRoute

from tests.browser.harness import Person, ServerProcess, launch, sha256_file

pytestmark = pytest.mark.browser

UNVERIFIED = "could not be verified"


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "quarterly-secret-plans.pdf"
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    return path


def capture_frames(page: Page, frames: list[str]) -> None:
    def on_socket(ws: Any) -> None:
        ws.on(
            "framesent", lambda data: frames.append(data if isinstance(data, str) else repr(data))
        )
        ws.on(
            "framereceived",
            lambda data: frames.append(data if isinstance(data, str) else repr(data)),
        )

    page.on("websocket", on_socket)


def test_the_server_sees_only_sealed_payloads(
    browser: Browser, payload: Path, tmp_path: Path
) -> None:
    server = ServerProcess(extra=["--log-level", "debug"]).start()
    frames: list[str] = []
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        capture_frames(sender.page, frames)
        capture_frames(receiver.page, frames)
        link = sender.share([payload])
        secret = link.split("#", 1)[1]
        receiver.open_link(link)
        receiver.accept()
        receiver.wait_state("done")
        ((_, saved),) = receiver.save_downloads(tmp_path).items()
        assert sha256_file(saved) == sha256_file(payload)
        relays = [f for f in frames if '"relay"' in f]
        assert len(relays) >= 4  # hellos, offer, answer, candidates
        for frame in frames:
            for forbidden in (
                payload.name,
                "quarterly",
                secret,
                "a=fingerprint",
                "candidate:",
                "v=0",
                "sdp",
            ):
                assert forbidden not in frame, (forbidden, frame[:200])
        # Sealed payloads look like random bytes; the envelope reveals only its header. The
        # sender's carry its signature (~ and 64 bytes), the receivers' none.
        signed = 0
        for frame in relays:
            data = json.loads(frame)["data"]
            envelope = r"v1\.[A-Za-z0-9_-]{11}\.\d+\.\d+\.[A-Za-z0-9_-]+"
            assert re.fullmatch(envelope + r"(~[A-Za-z0-9_-]{86})?", data), data
            signed += "~" in data
        assert 0 < signed < len(relays)
    finally:
        sender.close()
        receiver.close()
        server.stop()
    log = b"".join(server.log).decode(errors="replace")
    assert "DEBUG" in log or "INFO" in log
    assert secret not in log and payload.name not in log and "v1." not in log


def tamper(
    page: Page,
    *,
    outgoing: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
    incoming: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> None:
    """Route the page's signaling through a man in the middle that may rewrite relay frames.

    `outgoing`/`incoming` map one relay message to the list of messages to pass on instead.
    """

    def handler(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()

        def rewrite(message: str | bytes, change: Any, send: Callable[[str], None]) -> None:
            if isinstance(message, bytes) or change is None:
                send(message)  # type: ignore[arg-type]
                return
            parsed = json.loads(message)
            if parsed.get("type") != "relay":
                send(message)
                return
            for out in change(parsed):
                send(json.dumps(out))

        ws.on_message(lambda m: rewrite(m, outgoing, upstream.send))
        upstream.on_message(lambda m: rewrite(m, incoming, ws.send))

    page.route_web_socket(re.compile(r".*/ws/.*"), handler)


def flip_a_byte(message: dict[str, Any]) -> dict[str, Any]:
    """One bit of the sealed bytes changed (the sender's signature, if any, kept as it was)."""
    envelope, tilde, signature = message["data"].partition("~")
    head, blob = envelope.rsplit(".", 1)
    raw = bytearray(base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4)))
    raw[len(raw) // 2] ^= 0x01
    altered = head + "." + base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return {**message, "data": altered + tilde + signature}


def watch_from_server(page: Page, change: Callable[[str], str]) -> list[WebSocketRoute]:
    """Play the server for `page`: every text frame from the real server passes through
    `change` on its way to the page. Returns the routes (to send the page frames of our own)."""
    routes: list[WebSocketRoute] = []

    def handler(ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        routes.append(ws)
        ws.on_message(lambda m: upstream.send(m))
        upstream.on_message(lambda m: ws.send(change(m) if isinstance(m, str) else m))

    page.route_web_socket(re.compile(r".*/ws/.*"), handler)
    return routes


def assert_both_sides_refuse(sender: Person, receivers: list[Person]) -> None:
    for receiver in receivers:
        receiver.wait_state("error", timeout_s=30)
        assert UNVERIFIED in receiver.status_text()
        assert not receiver.downloads
        assert receiver.page.get_by_test_id("accept").is_hidden()
    sender.wait_state("error", timeout_s=30)
    sender.page.get_by_text(UNVERIFIED).first.wait_for()
    assert sender.sent_bytes() == 0
    rows = sender.page.eval_on_selector_all(
        "#receivers li", "els => els.map(e => e.dataset.status)"
    )
    assert rows and set(rows) == {"unverified"}, rows


def test_an_altered_payload_is_detected_by_both_sides(
    browser: Browser, server: ServerProcess, payload: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        altered = []

        def alter_first(message: dict[str, Any]) -> list[dict[str, Any]]:
            if not altered:
                altered.append(message)
                return [flip_a_byte(message)]
            return [message]

        tamper(receiver.page, incoming=alter_first)
        link = sender.share([payload])
        receiver.open_link(link)
        assert_both_sides_refuse(sender, [receiver])
        assert altered
    finally:
        sender.close()
        receiver.close()


def test_payloads_swapped_between_receivers_are_detected(
    browser: Browser, server: ServerProcess, payload: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    first = Person(browser, server.url, "first")
    second = Person(browser, server.url, "second")
    try:
        peers: list[str] = []

        def swap(message: dict[str, Any]) -> list[dict[str, Any]]:
            # Whatever the sender addresses to one receiver goes to the other instead.
            if message["to"] not in peers:
                peers.append(message["to"])
            if len(peers) < 2:
                return [message]
            other = peers[1] if message["to"] == peers[0] else peers[0]
            return [{**message, "to": other}]

        tamper(sender.page, outgoing=swap)
        link = sender.share([payload])
        first.open_link(link)
        first.wait_signaling_open()
        second.open_link(link)
        assert_both_sides_refuse(sender, [second])
        assert len(peers) == 2
    finally:
        for person in (sender, first, second):
            person.close()


def test_a_replayed_payload_is_detected_by_both_sides(
    browser: Browser, server: ServerProcess, payload: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        seen: list[dict[str, Any]] = []

        def replay_first(message: dict[str, Any]) -> list[dict[str, Any]]:
            seen.append(message)
            if len(seen) == 2:
                return [message, seen[0]]  # the first payload again, after the second
            return [message]

        tamper(receiver.page, incoming=replay_first)
        link = sender.share([payload])
        receiver.open_link(link)
        assert_both_sides_refuse(sender, [receiver])
    finally:
        sender.close()
        receiver.close()


def test_a_wrong_secret_gets_a_clear_message(
    browser: Browser, server: ServerProcess, payload: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        link = sender.share([payload])
        base, fragment = link.split("#")
        wrong = base + "#" + secrets.token_urlsafe(32) + "." + fragment.split(".")[1]
        receiver.open_link(wrong)
        # The server refuses it at the door (admission: no proof of the secret, 4012): the page
        # says what to do, and the sender never hears of it: no row, no alarm, no reply.
        receiver.page.get_by_text("Its key does not match the share").wait_for(timeout=30_000)
        assert receiver.page.get_by_role("heading", name="This link does not open this share")
        assert receiver.page.locator("#notices .notice").count() == 0  # said once, not twice
        receiver.page.wait_for_timeout(1500)  # room for a (wrong) row or notice to appear
        assert sender.page.locator("#receivers li.empty").count() == 1
        assert sender.state() == "waiting"
    finally:
        sender.close()
        receiver.close()


def test_a_link_preview_does_not_touch_the_room(
    browser: Browser, server: ServerProcess, payload: Path, tmp_path: Path
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        link = sender.share([payload])
        sender.wait_signaling_open()
        # What a chat app's preview bot does: fetch the URL (no fragment reaches it anyway).
        request = urllib.request.Request(
            link.split("#")[0], headers={"User-Agent": "Slackbot-LinkExpanding 1.0"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            assert b"<title>" in response.read()
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
            assert json.loads(response.read())["connections"] == 1  # the sender only
        assert sender.page.locator("#receivers li.empty").count() == 1
        receiver.open_link(link)
        receiver.accept()
        receiver.wait_state("done")
    finally:
        sender.close()
        receiver.close()


def test_insecure_context_uses_the_fallback_crypto_and_completes_sealed(
    playwright: Playwright, payload: Path, tmp_path: Path
) -> None:
    """Plain http on a non-localhost name: no crypto.subtle, no OPFS; still sealed, still works."""
    server = ServerProcess(host="127.0.0.1").start()
    browser = launch(playwright, "--host-resolver-rules=MAP lan.test 127.0.0.1")
    origin = f"http://lan.test:{server.port}"
    frames: list[str] = []
    sender = Person(browser, origin, "sender")
    receiver = Person(browser, origin, "receiver")
    try:
        capture_frames(sender.page, frames)
        capture_frames(receiver.page, frames)
        link = sender.share([payload])
        assert link.startswith(origin)
        receiver.open_link(link)
        secure = receiver.page.evaluate(
            "() => [isSecureContext, typeof crypto.subtle, typeof navigator.storage?.getDirectory]"
        )
        assert secure == [False, "undefined", "undefined"]
        receiver.page.get_by_text("This page is not secure").wait_for()
        # Both pages say, for as long as they are open, what plain http does not protect.
        for person in (sender, receiver):
            warning = person.page.locator("[data-key=insecure]")
            assert "Anyone on this network can read the key in the link" in warning.inner_text()
            assert "--self-signed" in warning.inner_text()
        receiver.accept()
        receiver.wait_state("done")
        ((_, saved),) = receiver.save_downloads(tmp_path).items()
        assert sha256_file(saved) == sha256_file(payload)
        relays = [f for f in frames if '"relay"' in f]
        assert relays
        for frame in frames:
            assert "v=0" not in frame and "candidate:" not in frame and payload.name not in frame
        assert sender.foreign == [] and receiver.foreign == []
    finally:
        sender.close()
        receiver.close()
        browser.close()
        server.stop()


def test_a_colluding_receiver_cannot_pose_as_the_sender(
    browser: Browser, server: ServerProcess, payload: Path
) -> None:
    """A receiver holds the link, so it can seal messages exactly as the sender would; with the
    server's help (played here by the route) it delivers one to another receiver as if from
    the sender. The victim refuses it: the sender's key in the link did not sign it."""
    sender = Person(browser, server.url, "sender")
    victim = Person(browser, server.url, "victim")
    colluder = Person(browser, server.url, "colluder")
    seen: dict[str, str] = {}

    def note(message: str) -> str:
        parsed = json.loads(message)
        if parsed.get("type") == "relay":
            seen["epoch"] = parsed["data"].split(".")[2]  # the sender page's epoch
        if parsed.get("type") == "welcome":
            seen["victim"] = parsed["peer"]
            for peer in parsed["peers"]:
                if peer["role"] == "sender":
                    seen["sender"] = peer["peer"]
        return message

    try:
        link = sender.share([payload])
        routes = watch_from_server(victim.page, note)
        victim.open_link(link)
        victim.page.get_by_test_id("accept").wait_for()
        colluder.open_link(link)
        colluder.page.get_by_test_id("accept").wait_for()
        assert {"victim", "sender", "epoch"} <= seen.keys()
        room = link.split("/r/")[1].split("#")[0]
        secret_text = link.split("#")[1].split(".")[0]
        # The colluder seals, with the link's secret, what the sender would send the victim.
        envelope = colluder.page.evaluate(
            """async ([room, secretText, from, to, epoch]) => {
                const { Sealer } = await import('/js/seal.js');
                const { fromBase64Url } = await import('/js/util.js');
                const secret = fromBase64Url(secretText);
                // A newer page of the sender, as far as the victim can tell from the seal.
                const sealer = await new Sealer({ secret, room, epoch: epoch + 1 }).init();
                return sealer.seal(from, to, 0, { k: 'hello', role: 'sender' });
            }""",
            [room, secret_text, seen["sender"], seen["victim"], int(seen["epoch"])],
        )
        frame = {"type": "relay", "from": seen["sender"], "sid": 0, "data": envelope}
        routes[-1].send(json.dumps(frame))
        victim.wait_state("error", timeout_s=30)
        assert UNVERIFIED in victim.status_text()
        assert not victim.downloads
    finally:
        sender.close()
        victim.close()
        colluder.close()


def test_a_server_that_swaps_peer_ids_is_refused(
    browser: Browser, server: ServerProcess, payload: Path
) -> None:
    """A server could tell a receiver it is another receiver, so that the sender's messages for
    that one (and its Cancel) land here. The page derives its own id and refuses another."""
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")

    def swap_peer(message: str) -> str:
        parsed = json.loads(message)
        if parsed.get("type") != "welcome":
            return message
        return json.dumps({**parsed, "peer": "SomeoneElsesPeer"})

    try:
        link = sender.share([payload])
        watch_from_server(receiver.page, swap_peer)
        receiver.open_link(link)
        receiver.page.get_by_text("a peer id that is not its own").wait_for(timeout=30_000)
        assert receiver.page.get_by_test_id("accept").is_disabled()
        assert sender.page.locator("#receivers li.empty").count() == 1 or sender.sent_bytes() == 0
    finally:
        sender.close()
        receiver.close()
