"""p2pshare.peer.wire beyond the shared vectors: what the shell builds and hostile input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from p2pshare.peer.errors import WireError
from p2pshare.peer.wire import (
    BLOCK_SIZE,
    MAX_TEXT_BYTES,
    MAX_TEXT_ITEMS,
    Block,
    FileInfo,
    Hello,
    Manifest,
    Want,
    WantEntry,
    block_count,
    block_length,
    check_text_items,
    encode_control,
    parse_control,
)


def test_frames_the_shell_builds_encode_as_the_browser_writes_them() -> None:
    assert encode_control(Hello(protocol="p2pshare-transfer/1")) == (
        '{"t":"hello","protocol":"p2pshare-transfer/1"}'
    )
    want = Want(files=[WantEntry(0, 2, "ab" * 32), WantEntry(1, 0, None)])
    assert parse_control(encode_control(want)) == want
    block = Block(f=0, i=1, length_bytes=5, h="00" * 32)
    assert encode_control(block) == '{"t":"block","f":0,"i":1,"len":5,"h":"%s"}' % ("00" * 32)


def test_block_arithmetic() -> None:
    assert [block_count(n) for n in (0, 1, BLOCK_SIZE, BLOCK_SIZE + 1)] == [0, 1, 1, 2]
    assert [block_length(BLOCK_SIZE + 1, i) for i in range(3)] == [BLOCK_SIZE, 1, 0]


def test_a_frame_nested_too_deeply_is_refused_not_a_crash() -> None:
    with pytest.raises(WireError, match="not JSON"):
        parse_control('{"t":"done","x":' + "[" * 100_000 + "]" * 100_000 + "}")


def _text(n: int, size: int = 5) -> FileInfo:
    return FileInfo(f"Text {n}.txt", size, 1, "text/plain;charset=utf-8", text=True)


def test_a_text_item_encodes_its_flag_last_and_a_file_none() -> None:
    files = [_text(1), FileInfo("a.bin", 1, 2, "")]
    manifest = Manifest(id="x", block_size=BLOCK_SIZE, files=files)
    text = encode_control(manifest)
    assert '"type":"text/plain;charset=utf-8","text":true}' in text
    assert text.count('"text"') == 1
    parsed = parse_control(text)
    assert isinstance(parsed, Manifest)
    assert [f.is_text for f in parsed.files] == [True, False]


def test_the_text_limits() -> None:
    check_text_items([_text(n, MAX_TEXT_BYTES) for n in range(MAX_TEXT_ITEMS)])
    with pytest.raises(WireError, match="1 MiB") as over:
        check_text_items([_text(1, MAX_TEXT_BYTES + 1)])
    assert over.value.frame_type == "manifest"
    with pytest.raises(WireError, match=f"more than {MAX_TEXT_ITEMS} text items"):
        check_text_items([_text(n) for n in range(MAX_TEXT_ITEMS + 1)])
    with pytest.raises(WireError):
        check_text_items([FileInfo("a", 1, 1, "", text=False)])
    # a file over the text limit is no text item: no limit but the path rules
    check_text_items([FileInfo("big.bin", 5 * MAX_TEXT_BYTES, 1, "")] * (MAX_TEXT_ITEMS + 1))


def test_the_documents_data_channel_examples_decode_and_encode_back() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    examples = re.findall(r"```json data-channel\n(.*?)```", doc, re.S)
    assert examples
    for text in examples:
        assert encode_control(parse_control(text.strip())) == text.strip()
