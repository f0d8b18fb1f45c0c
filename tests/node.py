"""Reads what the browser modules export (constants, tables) as JSON, through Node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

WEB = Path(__file__).resolve().parents[1] / "web"


def node_json(program: str, env: dict[str, str] | None = None) -> Any:
    """Run an ES module `program` in web/ whose last act is console.log(JSON.stringify(...)),
    with `env` added to the environment."""
    node = shutil.which("node")
    assert node, "Node.js is needed to compare p2pshare.peer with web/js"
    done = subprocess.run(
        [node, "--input-type=module", "-e", program],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=WEB,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(done.stdout)
