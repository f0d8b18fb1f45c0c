"""The command-line peer's own parts, without a network: the folder it writes into (sink.py),
what it offers (shared.py), its exit codes (exits.py against the README), its display."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from pathlib import Path

import pytest

from p2pshare.client.exits import Exit, Outcome
from p2pshare.client.progress import Display, format_bytes, format_duration
from p2pshare.client.shared import SharedFiles
from p2pshare.client.sink import PART_SUFFIX, PartFile, ResumeState, SinkError
from p2pshare.peer.wire import (
    BLOCK_SIZE,
    MAX_TEXT_BYTES,
    MAX_TEXT_ITEMS,
    FileInfo,
    chain_at,
    encode_control,
    parse_control,
)

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def info(path: str, size: int) -> FileInfo:
    return FileInfo(path=path, size_bytes=size, mtime_ms=1_700_000_000_000, mime_type="")


def blocks_of(data: bytes) -> list[bytes]:
    return [data[i : i + BLOCK_SIZE] for i in range(0, len(data), BLOCK_SIZE)]


def test_the_readme_lists_every_exit_code_once() -> None:
    section = README.split("## From a terminal", 1)[1].split("\n## ", 1)[0]
    rows = [int(code) for code in re.findall(r"^\| (\d+) \|", section, re.M)]
    assert rows == sorted(int(code) for code in Exit)


def test_a_part_file_is_named_only_once_its_hash_matches(tmp_path: Path) -> None:
    data = os.urandom(BLOCK_SIZE + 1000)
    part = PartFile(tmp_path, info("a/b.bin", len(data)), "a/b.bin")
    part.start(0)
    for block in blocks_of(data):
        part.add(block[:10])
        part.add(block[10:])
        assert part.finish_block(hashlib.sha256(block).hexdigest())
    assert (tmp_path / "a" / ("b.bin" + PART_SUFFIX)).exists()
    assert not part.finish("0" * 64)  # not the sender's hash: kept as a part, never named
    assert not (tmp_path / "a" / "b.bin").exists()
    assert part.finish(hashlib.sha256(data).hexdigest())
    assert (tmp_path / "a" / "b.bin").read_bytes() == data
    assert part.chain == chain_at(hashlib.sha256(b).digest() for b in blocks_of(data))


def test_a_damaged_block_is_not_written(tmp_path: Path) -> None:
    part = PartFile(tmp_path, info("x.bin", 100), "x.bin")
    part.start(0)
    part.add(b"y" * 100)
    assert not part.finish_block(hashlib.sha256(b"x" * 100).hexdigest())
    assert part.verified_blocks == 0 and (tmp_path / ("x.bin" + PART_SUFFIX)).stat().st_size == 0


def test_a_resume_takes_up_only_what_is_still_on_disk(tmp_path: Path) -> None:
    data = os.urandom(3 * BLOCK_SIZE)
    first = PartFile(tmp_path, info("f.bin", len(data)), "f.bin")
    first.start(0)
    for block in blocks_of(data)[:2]:
        first.add(block)
        assert first.finish_block(hashlib.sha256(block).hexdigest())
    record = first.record()

    again = PartFile(tmp_path, info("f.bin", len(data)), "f.bin")
    again.restore(record)
    assert again.verified_blocks == 2 and again.chain == first.chain

    part_path = tmp_path / ("f.bin" + PART_SUFFIX)
    with part_path.open("r+b") as f:  # the part file changed behind our back
        f.seek(5)
        f.write(b"!")
    changed = PartFile(tmp_path, info("f.bin", len(data)), "f.bin")
    changed.restore(record)
    assert changed.verified_blocks == 0  # its chain no longer holds: start over
    changed.restore({"blocks": "x", "chain": "zz"})
    assert changed.verified_blocks == 0


def test_a_name_cannot_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(SinkError):
        PartFile(tmp_path / "out", info("../escape.txt", 1), "../escape.txt")


def test_resume_state_survives_garbage(tmp_path: Path) -> None:
    state = ResumeState.load(tmp_path, "room123")
    state.files["k"] = {"blocks": 1, "chain": "00"}
    state.save()
    assert ResumeState.load(tmp_path, "room123").files == state.files
    assert ResumeState.load(tmp_path, "room123").cid == state.cid
    (tmp_path / ".p2pshare" / "room123.json").write_text("{not json")
    fresh = ResumeState.load(tmp_path, "room123")
    assert fresh.files == {} and fresh.cid != state.cid
    fresh.forget()
    assert not (tmp_path / ".p2pshare").exists()


def test_shared_files_walk_folders_and_make_names_portable(tmp_path: Path) -> None:
    (tmp_path / "album" / "sub").mkdir(parents=True)
    (tmp_path / "album" / "sub" / "b.txt").write_text("b")
    (tmp_path / "album" / "a:b?.txt").write_text("a")  # not portable to Windows
    (tmp_path / "empty").mkdir()
    (tmp_path / "one.txt").write_text("1")
    shared = SharedFiles((tmp_path / "album", tmp_path / "one.txt"))
    paths = [f.info.path for f in shared.files]
    assert "album/sub/b.txt" in paths and "one.txt" in paths
    assert all(":" not in p and "?" not in p for p in paths)
    assert shared.total_bytes == 3 and len(shared.manifest.id) == 32
    with pytest.raises(Outcome) as nothing:
        SharedFiles((tmp_path / "empty",))
    assert nothing.value.code is Exit.USAGE
    with pytest.raises(Outcome) as missing:
        SharedFiles((tmp_path / "nope",))
    assert missing.value.code is Exit.USAGE and "nope" in missing.value.message


def test_shared_files_read_verified_blocks_and_catch_a_changed_file(tmp_path: Path) -> None:
    source = tmp_path / "s.bin"
    data = os.urandom(BLOCK_SIZE + 5)
    source.write_bytes(data)
    shared = SharedFiles((source,))
    block, block_hash = shared.read_block(0, 0)
    assert block == data[:BLOCK_SIZE] and block_hash == hashlib.sha256(block).digest()
    source.write_bytes(data[:100])  # shrunk while shared
    with pytest.raises(Outcome) as changed:
        shared.read_block(0, 1)
    assert changed.value.code is Exit.FAILED and "changed" in changed.value.message


def test_json_lines_are_one_object_each() -> None:
    out = io.StringIO()
    display = Display(json_lines=True, stream=out)
    display.event("manifest", message="2 files", files=[{"path": "ä.txt", "size": 1}])
    display.bar("peer1", "receiving", 5, 10, "receiving")
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0] == {
        "event": "manifest",
        "message": "2 files",
        "files": [{"path": "ä.txt", "size": 1}],
    }
    assert lines[1]["event"] == "progress" and lines[1]["bytes"] == 5 and lines[1]["total"] == 10


def test_sizes_and_durations_read_well() -> None:
    assert format_bytes(0) == "0 B" and format_bytes(1536) == "1.5 KiB"
    assert format_bytes(64 * 1024 * 1024) == "64.0 MiB"
    assert format_duration(59) == "59s" and format_duration(61) == "1m01s"
    assert format_duration(3 * 3600 + 120) == "3h02m"


def test_without_the_peer_packages_the_commands_say_how_to_get_them(tmp_path: Path) -> None:
    """As on a server-only install: aiortc cannot be imported (sys.modules[...] = None)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['aiortc'] = None; from p2pshare.cli import main; "
        "raise SystemExit(main(['receive', 'http://x/r/abc']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "install.sh --peer" in done.stderr and "p2pshare[peer]" in done.stderr


def test_the_sender_tags_a_receiver_as_its_page_says_it_is_seen() -> None:
    from p2pshare.client.progress import peer_tag
    from tests.node import node_json

    peer = "GGUbAC3xYz-_9"
    shown = node_json(
        "import('./js/view-model.js').then((m) => console.log(JSON.stringify(m.peerTag("
        + json.dumps(peer)
        + "))))"
    )
    assert peer_tag(peer) == shown == "GGUb"


def test_shared_texts_are_text_items_first_and_keep_to_the_limits(tmp_path: Path) -> None:
    (tmp_path / "Text 1.txt").write_text("a file of that name")
    shared = SharedFiles((tmp_path / "Text 1.txt",), ("héllo\n", "two"))
    infos = [f.info for f in shared.files]
    assert [(i.path, i.is_text) for i in infos] == [
        ("Text 1.txt", True),
        ("Text 2.txt", True),
        (infos[2].path, False),
    ]
    assert infos[2].path != "Text 1.txt"  # made unique, as the browser does
    assert infos[0].size_bytes == len("héllo\n".encode()) and infos[0].mime_type.startswith("text/")
    assert shared.read_block(0, 0)[0] == "héllo\n".encode()
    assert parse_control(encode_control(shared.manifest)) == shared.manifest
    for texts, word in [
        (("x" * (MAX_TEXT_BYTES + 1),), "1 MiB"),
        (("  ",), "empty"),
        (("x",) * (MAX_TEXT_ITEMS + 1), "at most"),
        (("\udcff",), "UTF-8"),
    ]:
        with pytest.raises(Outcome) as refused:
            SharedFiles((), texts)
        assert refused.value.code is Exit.USAGE and word in refused.value.message
