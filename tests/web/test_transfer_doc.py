"""docs/protocol.md's state tables (a receiving file, the receiving page's phase, a receiver
on the sending side) are the code's (web/js/transfer/)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.node import node_json

REPO = Path(__file__).resolve().parents[2]
DOC = (REPO / "docs" / "protocol.md").read_text()
PRINT_TABLES = (
    "Promise.all([import('./js/transfer/receive-file.js'),"
    " import('./js/transfer/receive-phase.js'), import('./js/transfer/send-state.js')])"
    ".then(([f, p, s]) => console.log(JSON.stringify("
    "[f.TRANSITIONS, p.PHASE_TRANSITIONS, s.SEND_TRANSITIONS])))"
)


def code_tables() -> list[dict[str, list[str]]]:
    tables: list[dict[str, list[str]]] = node_json(PRINT_TABLES)
    return tables


SECTIONS = ("### What a receiver accepts from a sender", "### What a sender does for a receiver")


def doc_tables() -> list[dict[str, list[str]]]:
    """The `| state | moves to | on |` tables under SECTIONS, in order."""
    lines = [
        line
        for heading in SECTIONS
        for line in DOC.split(heading, 1)[1].split("\n### ", 1)[0].splitlines()
    ]
    tables: list[dict[str, list[str]]] = []
    for line in lines:
        if line.startswith("| state |") or line.startswith("| phase |"):
            tables.append({})
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not tables or len(cells) != 3 or not cells[0].startswith("`"):
            continue
        targets = re.findall(r"`([\w-]+)`", cells[1])
        for state in re.findall(r"`([\w-]+)`", cells[0]):
            tables[-1][state] = targets
    return tables


def test_the_documented_tables_are_the_code_tables() -> None:
    assert doc_tables() == code_tables()
