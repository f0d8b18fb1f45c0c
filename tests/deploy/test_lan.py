"""LAN use: the start-up banner of a real `p2pshare serve` lists every URL that reaches
it (https with --self-signed, with the fingerprint to check) and a QR code of the main one."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import qrcode

from p2pshare.config import Config
from p2pshare.netaddr import interface_addresses, url_host
from p2pshare.tls import certificate_fingerprint, self_signed_paths
from tests.deploy.cluster import free_port

BANNER_END = "Press Ctrl+C to stop."
START_TIMEOUT_S = 20.0

pytestmark = pytest.mark.multiprocess


def _serve_and_read_banner(tmp_path: Path, *args: str) -> tuple[str, int]:
    """Run `p2pshare serve ARGS` until its banner is out, stop it; (stdout, exit code)."""
    out = tmp_path / "stdout.txt"
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            [sys.executable, "-m", "p2pshare", "serve", *args],
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while BANNER_END not in out.read_text(errors="replace"):
            assert process.poll() is None, out.read_text(errors="replace")
            assert time.monotonic() < deadline, "no banner"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        code = process.wait(15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return out.read_text(errors="replace"), code


def _qr_text(url: str) -> str:
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_L)
    code.add_data(url)
    code.make(fit=True)
    text = io.StringIO()
    code.print_ascii(out=text, invert=True)
    return text.getvalue()


def test_lan_banner_with_self_signed_tls(tmp_path: Path) -> None:
    port, stun_port = free_port(), free_port()
    state = tmp_path / "state"
    banner, code = _serve_and_read_banner(
        tmp_path,
        "--port",
        str(port),
        "--stun-port",
        str(stun_port),
        "--self-signed",
        "--state-dir",
        str(state),
        "--qr",
        "true",
    )
    assert code == 0, banner
    # Every address of this host, as an https URL (the default listens everywhere).
    urls = [f"https://{url_host(a)}:{port}/" for a in interface_addresses()]
    listed = [line.strip() for line in banner.splitlines() if line.startswith("  https://")]
    assert listed == urls, banner
    assert "http://" not in banner
    fingerprint = certificate_fingerprint(self_signed_paths(Config(state_dir=state))[0])
    assert f"SHA-256 fingerprint: {fingerprint}" in banner
    assert f"STUN server on UDP port {stun_port}" in banner
    # The QR code encodes the main URL: the first that is not loopback.
    main = next((u for u in urls if "127.0.0.1" not in u and "[::1]" not in u), urls[0])
    assert f"Scan to open {main} on a phone:" in banner
    assert _qr_text(main) in banner


def test_plain_banner_without_a_terminal_has_no_qr(tmp_path: Path) -> None:
    port = free_port()
    banner, code = _serve_and_read_banner(
        tmp_path, "--host", "127.0.0.1", "--port", str(port), "--stun-port", "0"
    )
    assert code == 0, banner
    assert f"  http://127.0.0.1:{port}/" in banner.splitlines()
    assert "fingerprint" not in banner and "Scan to open" not in banner
    assert "STUN server is off" in banner
