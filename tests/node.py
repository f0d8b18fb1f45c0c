"""Reads what the browser modules export (constants, tables) as JSON, through Node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

WEB = Path(__file__).resolve().parents[1] / "web"


def node_json(program: str) -> Any:
    """Run an ES module `program` in web/ whose last act is console.log(JSON.stringify(...))."""
    node = shutil.which("node")
    assert node, "Node.js is needed to compare p2pshare.peer with web/js"
    done = subprocess.run(
        [node, "--input-type=module", "-e", program],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=WEB,
        check=True,
    )
    return json.loads(done.stdout)
