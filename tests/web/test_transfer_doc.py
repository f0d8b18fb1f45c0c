"""docs/protocol.md's state table of a receiving file is the code's (web/js/transfer/)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "protocol.md").read_text()
PRINT_TABLE = (
    "import('./js/transfer/receive-file.js')"
    ".then((m) => console.log(JSON.stringify(m.TRANSITIONS)))"
)


def code_table() -> dict[str, list[str]]:
    node = shutil.which("node")
    assert node, "Node.js is needed to read the web client's state tables"
    done = subprocess.run(
        [node, "--input-type=module", "-e", PRINT_TABLE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO / "web",
        check=True,
    )
    table: dict[str, list[str]] = json.loads(done.stdout)
    return table


def doc_table() -> dict[str, list[str]]:
    """The `| state | moves to | on |` table under 'What a receiver accepts from a sender'."""
    section = DOC.split("### What a receiver accepts from a sender", 1)[1].split("\n### ", 1)[0]
    table: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        targets = re.findall(r"`(\w+)`", cells[1])
        for state in re.findall(r"`(\w+)`", cells[0]):
            table[state] = targets
    return table


def test_the_documented_table_is_the_code_table() -> None:
    assert doc_table() == code_table()
