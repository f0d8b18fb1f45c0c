"""A hostile sender: the real sender page with its data channel tampered with (an init script
wraps `RTCDataChannel.prototype.send`), against the real receiver page.

It duplicates binary frames, drops them, ends a file before its blocks, or declares a file
smaller than the blocks it sends. The receiver must either verify the right bytes or show that
file as failed, naming the sender; it never shows "verified" for wrong or missing bytes, and
never stores more than the declared size (read from the receiver's own OPFS).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.browser.harness import Person, ServerProcess, sha256_file

pytestmark = pytest.mark.browser

SIZE = 3 * 1024 * 1024 + 5
DECLARED_SMALL = 1024

# Runs in the sender's page before its own scripts. `mode` picks the sabotage.
SABOTAGE = """
(() => {
  const mode = %s;
  const send = RTCDataChannel.prototype.send;
  let binary = 0;
  let sawBlock = false;
  RTCDataChannel.prototype.send = function (data) {
    if (typeof data === 'string') {
      const message = JSON.parse(data);
      if (mode === 'early-eof' && message.t === 'block' && !sawBlock) {
        sawBlock = true;
        return send.call(this, JSON.stringify({ t: 'eof', f: message.f, sha256: '0'.repeat(64) }));
      }
      if (mode === 'oversize' && message.t === 'manifest') {
        message.files = message.files.map((f) => ({ ...f, size: %d }));
        return send.call(this, JSON.stringify(message));
      }
      return send.call(this, data);
    }
    binary += 1;
    if (mode === 'duplicate' && binary %% 5 === 0) send.call(this, data);
    if (mode === 'drop' && binary %% 5 === 0) return undefined;
    return send.call(this, data);
  };
})();
"""

# The bytes this origin keeps in OPFS for received files (the receiver's own storage).
OPFS_BYTES = """
async () => {
  let total = 0;
  async function walk(dir) {
    for await (const entry of dir.values()) {
      if (entry.kind === 'file') total += (await entry.getFile()).size;
      else await walk(entry);
    }
  }
  await walk(await navigator.storage.getDirectory());
  return total;
}
"""


@pytest.fixture(scope="module")
def payload(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "report.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def file_state(person: Person) -> dict[str, str]:
    return dict(
        person.page.eval_on_selector_all(
            "[data-testid=file-status]", "els => els.map(e => [e.dataset.name, e.dataset.status])"
        )
    )


@pytest.mark.parametrize("mode", ["duplicate", "drop", "early-eof", "oversize"])
def test_a_tampering_sender_never_gets_a_file_verified(
    browser: Browser, server: ServerProcess, payload: Path, mode: str
) -> None:
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        sender.context.add_init_script(SABOTAGE % (json.dumps(mode), DECLARED_SMALL))
        link = sender.share([payload])
        receiver.open_link(link)
        receiver.accept()
        receiver.wait_state("error", timeout_s=60)
        assert file_state(receiver) == {"report.bin": "failed"}
        status = receiver.page.get_by_test_id("file-status").text_content() or ""
        notices = receiver.page.locator("#notices").text_content() or ""
        assert "sender" in (status + notices), (status, notices)
        assert "verified" not in receiver.status_text().replace("failed verification", "")
        assert receiver.downloads == []
        declared = DECLARED_SMALL if mode == "oversize" else SIZE
        assert receiver.page.evaluate(OPFS_BYTES) <= declared
        assert receiver.errors == [] and sender.errors == []
    finally:
        sender.close()
        receiver.close()


def test_the_same_sabotage_script_left_idle_delivers_the_file(
    browser: Browser, server: ServerProcess, payload: Path, tmp_path: Path
) -> None:
    """The harness itself changes nothing when it does nothing: the control case."""
    sender = Person(browser, server.url, "sender")
    receiver = Person(browser, server.url, "receiver")
    try:
        sender.context.add_init_script(SABOTAGE % (json.dumps("none"), DECLARED_SMALL))
        receiver.open_link(sender.share([payload]))
        receiver.accept()
        receiver.wait_state("done", timeout_s=60)
        assert file_state(receiver) == {"report.bin": "verified"}
        receiver.wait_downloads(1)
        saved = receiver.save_downloads(tmp_path)
        assert sha256_file(saved["report.bin"]) == sha256_file(payload)
    finally:
        sender.close()
        receiver.close()
