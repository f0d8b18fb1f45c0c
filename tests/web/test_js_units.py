"""Runs the unit tests of the pure browser modules (web/test/*.test.mjs) under Node."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"


def test_pure_web_modules_pass_their_node_tests() -> None:
    node = shutil.which("node")
    assert node, "Node.js (>= 18) is needed to test the web client's pure modules"
    result = subprocess.run(
        [node, "--test", *sorted(str(p) for p in (WEB / "test").glob("*.test.mjs"))],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=WEB,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
