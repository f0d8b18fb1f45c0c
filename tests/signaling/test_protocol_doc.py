"""Every example message in docs/protocol.md decodes with the code's own decoders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from p2pshare.signaling.messages import decode_client_message, decode_server_message
from p2pshare.signaling.nearby_messages import (
    decode_nearby_client_message,
    decode_nearby_server_message,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
BLOCK = re.compile(r"```json (client|server)\n(.*?)```", re.S)
# The Nearby section's examples are a nearby connection's (near-*, and ping, pong and error,
# which it shares with rooms); every other one is a room connection's.
_NEARBY_TEXT = DOC.read_text().split("### Nearby", 1)[1].split("\n## ", 1)[0]
NEARBY_EXAMPLES = BLOCK.findall(_NEARBY_TEXT)
EXAMPLES = BLOCK.findall(DOC.read_text().replace(_NEARBY_TEXT, ""))


def test_the_document_has_examples_of_every_message_type() -> None:
    kinds = {
        (side, re.search(r'"type": "([a-z-]+)"', text).group(1))  # type: ignore[union-attr]
        for side, text in EXAMPLES
    }
    near_kinds = {
        (side, re.search(r'"type": "([a-z-]+)"', text).group(1))  # type: ignore[union-attr]
        for side, text in NEARBY_EXAMPLES
    }
    assert {
        ("client", "near-join"),
        ("client", "near-name"),
        ("client", "near-relay"),
        ("server", "near-welcome"),
        ("server", "near-peer"),
        ("server", "near-left"),
        ("server", "near-relayed"),
        ("server", "error"),
    } <= near_kinds
    assert not any(kind.startswith("near-") for _, kind in kinds)
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


@pytest.mark.parametrize(("side", "text"), NEARBY_EXAMPLES)
def test_nearby_example_decodes(side: str, text: str) -> None:
    if side == "client":
        decode_nearby_client_message(text.strip(), 65536)
    else:
        decode_nearby_server_message(text.strip())


def test_the_error_table_lists_every_error_code_with_real_close_codes() -> None:
    from p2pshare.signaling.messages import CloseCode, ErrorCode

    table = re.findall(r"^\| `([a-z-]+)` \| [^|]+ \| ([-0-9]+) \|", DOC.read_text(), re.M)
    documented = {code for code, _ in table}
    assert documented == {code.value for code in ErrorCode}
    closes = {int(close) for _, close in table if close != "-"}
    assert closes <= {int(code) for code in CloseCode}


def _doc_section(heading: str) -> str:
    return DOC.read_text().split(heading, 1)[1].split("\n### ", 1)[0]


def test_the_error_table_is_the_codes_close_code_table() -> None:
    """Each error's close code in the document is CLOSE_CODE_FOR_ERROR's ('-': never fatal)."""
    from p2pshare.signaling.messages import CLOSE_CODE_FOR_ERROR, ErrorCode

    table = re.findall(
        r"^\| `([a-z-]+)` \| [^|]+ \| ([-0-9]+) \|",
        _doc_section("### Errors and close codes"),
        re.M,
    )
    documented = {code: None if close == "-" else int(close) for code, close in table}
    assert documented == {
        code.value: None if close is None else int(close)
        for code, close in CLOSE_CODE_FOR_ERROR.items()
    }
    assert set(CLOSE_CODE_FOR_ERROR) == set(ErrorCode)


def test_the_connection_state_table_is_the_codes() -> None:
    from p2pshare.signaling.connection import CONN_TRANSITIONS

    rows = re.findall(
        r"^\| `([a-z-]+)` \| ([^|]*) \|", _doc_section("### A connection's states"), re.M
    )
    documented = {state: set(re.findall(r"`([a-z-]+)`", moves)) for state, moves in rows}
    assert documented == {
        state.value: {to.value for to in targets} for state, targets in CONN_TRANSITIONS.items()
    }


def test_the_nearby_group_state_table_is_the_codes() -> None:
    from p2pshare.signaling.nearby import GROUP_TRANSITIONS

    section = _NEARBY_TEXT.split("A group's states", 1)[1]
    rows = re.findall(r"^\| `([a-z-]+)` \| ([^|]*) \|", section, re.M)
    documented = {state: set(re.findall(r"`([a-z-]+)`", moves)) for state, moves in rows}
    assert documented == {
        state.value: {to.value for to in targets} for state, targets in GROUP_TRANSITIONS.items()
    }


def test_the_documented_group_id_is_the_codes() -> None:
    from p2pshare.signaling.nearby_scope import NearbyScope, nearby_group_for

    example = re.search(r'"nearby": \{"group": "([^"]+)"\}', _NEARBY_TEXT)
    assert example is not None
    assert example.group(1) == nearby_group_for(NearbyScope.AUTO, "192.168.1.20")
