"""Air-gapped proof: a whole transfer where the only network is loopback.

The server and two Chromium processes run in a fresh network namespace (`unshare --net`) that
has loopback and one isolated LAN interface (a veth pair with a private address) and nothing
else: no default route, no DNS, no internet. The peers find each other through the candidates
the built-in STUN server gives them (Chromium hides its host addresses behind mDNS names that
nothing resolves here). Every page request to anything but the server is aborted and recorded:
there must be none.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.multiprocess]

RUNNER = Path(__file__).with_name("airgap_run.py")


def _namespace_prefix() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.fail("unshare (util-linux) is needed for the air-gapped test")
    probe = subprocess.run([unshare, "--net", "--map-root-user", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.fail(f"cannot create a network namespace here: {probe.stderr.decode().strip()}")
    # Inside the namespace: loopback, and an isolated "LAN" with no route anywhere.
    # Then wait until IPv6 duplicate address detection is over: the link-local addresses turning
    # from tentative to valid a moment later is a network change to Chromium, which then aborts
    # what it is loading (ERR_NETWORK_CHANGED) and the page never starts (seen 4 times in 15).
    setup = (
        "ip link set lo up && ip link add lan0 type veth peer name lan1 && "
        "ip addr add 10.77.0.1/24 dev lan0 && ip link set lan0 up && ip link set lan1 up && "
        "for i in $(seq 50); do ip -6 addr | grep -q tentative || break; sleep 0.1; done"
    )
    return [unshare, "--net", "--map-root-user", "sh", "-c", f'{setup} && exec "$0" "$@"']


def test_transfer_with_no_network_but_an_isolated_lan() -> None:
    command = [*_namespace_prefix(), sys.executable, str(RUNNER)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    lines = [line for line in result.stdout.splitlines() if line.startswith("REPORT ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(lines[-1][len("REPORT ") :])
    assert report["interfaces"] == ["lan0", "lan1", "lo"]
    assert report["default_route"] is False  # really no way out
    assert report["hash_match"] is True
    assert report["foreign"] == []  # nothing but the server was even tried
    assert report["requests"] > 0
    # Only the built-in STUN server is handed out, and the browsers used it to meet.
    urls = [url for server in report["ice_servers"] for url in server["urls"]]
    assert len(urls) == 1 and urls[0].startswith("stun:127.0.0.1:")
    assert report["stun_requests"] > 0
    assert report["pair"] is not None
    assert "srflx" in (report["pair"]["local"], report["pair"]["remote"]) or "prflx" in (
        report["pair"]["local"],
        report["pair"]["remote"],
    ), report["pair"]
