"""p2pshare.peer.wire beyond the shared vectors: what the shell builds and hostile input."""

from __future__ import annotations

import pytest

from p2pshare.peer.errors import WireError
from p2pshare.peer.wire import (
    BLOCK_SIZE,
    Block,
    Hello,
    Want,
    WantEntry,
    block_count,
    block_length,
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
