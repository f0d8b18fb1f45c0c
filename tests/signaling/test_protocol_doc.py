"""Every example message in docs/protocol.md decodes with the code's own decoders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from p2pshare.signaling.messages import decode_client_message, decode_server_message

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
BLOCK = re.compile(r"```json (client|server)\n(.*?)```", re.S)
EXAMPLES = BLOCK.findall(DOC.read_text())


def test_the_document_has_examples_of_every_message_type() -> None:
    kinds = {
        (side, re.search(r'"type": "([a-z-]+)"', text).group(1))  # type: ignore[union-attr]
        for side, text in EXAMPLES
    }
    assert {
        ("client", "join"),
        ("client", "relay"),
        ("client", "ping"),
        ("client", "pong"),
        ("server", "welcome"),
        ("server", "peer-joined"),
        ("server", "peer-left"),
        ("server", "relay"),
        ("server", "error"),
        ("server", "ping"),
    } <= kinds


@pytest.mark.parametrize(("side", "text"), EXAMPLES)
def test_example_decodes(side: str, text: str) -> None:
    if side == "client":
        decode_client_message(text.strip(), 65536)
    else:
        decode_server_message(text.strip())


def test_the_error_table_lists_every_error_code_with_real_close_codes() -> None:
    from p2pshare.signaling.messages import CloseCode, ErrorCode

    table = re.findall(r"^\| `([a-z-]+)` \| [^|]+ \| ([-0-9]+) \|", DOC.read_text(), re.M)
    documented = {code for code, _ in table}
    assert documented == {code.value for code in ErrorCode}
    closes = {int(close) for _, close in table if close != "-"}
    assert closes <= {int(code) for code in CloseCode}
