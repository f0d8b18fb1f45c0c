"""One whole transfer on a machine with no network but loopback; prints a JSON report.

Run by tests/browser/test_airgap.py inside `unshare --net` (a network namespace with loopback
and an isolated LAN, no route out): the server, two separate Chromium processes, nothing else. Every
request a page makes to anything but the server is aborted and recorded, and the report says
which ICE candidates the connection used, so the test can show that the built-in STUN server is
what let the browsers find each other.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.browser.harness import Person, ServerProcess, launch, sha256_file

SELECTED_PAIR = """async () => {
  const made = globalThis.__testPeerConnections;
  const pc = made.findLast((c) => c.connectionState === 'connected')
    ?? made.findLast((c) => c.connectionState !== 'closed');
  if (!pc) return null;
  const stats = await pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) {
      pair = stats.get(s.selectedCandidatePairId);
    }
  });
  stats.forEach((s) => {
    if (!pair && s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') pair = s;
  });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return { local: local.candidateType, remote: remote.candidateType, address: local.address };
}"""


def main() -> None:
    work = Path(tempfile.mkdtemp())
    source = work / "offline.bin"
    source.write_bytes(os.urandom(8 * 1024 * 1024 + 3))
    server = ServerProcess().start()
    report: dict[str, object] = {}
    try:
        with sync_playwright() as pw:
            sender_browser, receiver_browser = launch(pw), launch(pw)
            sender = Person(sender_browser, server.url, "sender")
            receiver = Person(receiver_browser, server.url, "receiver")
            link = sender.share([source])
            receiver.open_link(link)
            receiver.accept()
            receiver.wait_state("done", timeout_s=120)
            saved = receiver.save_downloads(work / "got")
            report["hash_match"] = sha256_file(saved[source.name]) == sha256_file(source)
            report["ice_servers"] = receiver.page.evaluate(
                "() => fetch('/config.json').then(r => r.json()).then(c => c.iceServers)"
            )
            report["pair"] = receiver.page.evaluate(SELECTED_PAIR)
            report["foreign"] = sender.foreign + receiver.foreign
            report["requests"] = len(sender.requests) + len(receiver.requests)
            sender.close()
            receiver.close()
            sender_browser.close()
            receiver_browser.close()
        with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:
            metrics = response.read().decode()
        report["stun_requests"] = next(
            int(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("p2pshare_stun_requests_total")
        )
        # /proc/net is per network namespace (/sys/class/net may show the host's).
        dev_lines = Path("/proc/net/dev").read_text().splitlines()[2:]
        report["interfaces"] = sorted(line.split(":")[0].strip() for line in dev_lines)
        routes = Path("/proc/net/route").read_text().splitlines()[1:]
        report["default_route"] = any(line.split()[1] == "00000000" for line in routes)
    finally:
        server.stop()
    print("REPORT " + json.dumps(report))


if __name__ == "__main__":
    main()
