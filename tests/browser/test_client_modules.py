"""Client modules that need a real browser (OPFS, workers, file-system handles), driven directly."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.browser.harness import Person, ServerProcess

pytestmark = pytest.mark.browser


def test_kept_directory_handles_give_the_files_back_with_their_paths(
    browser: Browser, server: ServerProcess
) -> None:
    """What a reloaded sender does with the handles it kept: walk them again, same paths."""
    person = Person(browser, server.url, "page")
    try:
        person.page.goto(server.url + "/")
        result = person.page.evaluate(
            """async () => {
              const { filesFromSources, sourcesOf } = await import('/js/choose.js');
              const { fileInfo } = await import('/js/sender.js');
              const root = await navigator.storage.getDirectory();
              const album = await root.getDirectoryHandle('album', { create: true });
              const sub = await album.getDirectoryHandle('2024', { create: true });
              const write = async (dir, name, text) => {
                const handle = await dir.getFileHandle(name, { create: true });
                const w = await handle.createWritable();
                await w.write(text);
                await w.close();
                return handle;
              };
              await write(album, 'cover.txt', 'cover');
              await write(sub, 'notes.txt', 'notes!');
              const loose = await write(root, 'loose.txt', 'x');
              const sources = [
                { kind: 'directory', handle: album },
                { kind: 'file', handle: loose },
              ];
              const files = await filesFromSources(sources);
              return {
                infos: files.map((f) => [fileInfo(f).path, fileInfo(f).size]).sort(),
                kept: sourcesOf(files).length,
              };
            }"""
        )
        assert result["infos"] == [
            ["album/2024/notes.txt", 6],
            ["album/cover.txt", 5],
            ["loose.txt", 1],
        ]
        assert result["kept"] == 2
    finally:
        person.close()


def test_a_block_or_file_that_does_not_match_is_never_verified(
    browser: Browser, server: ServerProcess
) -> None:
    """The sink worker itself, driven from a page: wrong block hash, wrong file hash."""
    person = Person(browser, server.url, "page")
    try:
        person.page.goto(server.url + "/")
        result = person.page.evaluate(
            """async () => {
              const { SinkClient } = await import('/js/sink.js');
              const { toHex } = await import('/js/util.js');
              const sink = new SinkClient();
              const bytes = new Uint8Array(1000).fill(7);
              const good = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
              const bad = good.replace(/^./, (c) => (c === '0' ? '1' : '0'));
              const events = [];
              for (const op of ['opened', 'verified', 'bad-block', 'finished', 'error']) {
                sink.addEventListener(op, (e) => events.push([op, e.detail.index ?? '']));
              }
              const open = (id) => sink.post({ op: 'open', id, dir: ['p2pshare', 'selftest'],
                                               name: 'f' + id, size: 1000, mode: 'opfs' });
              open(1);
              sink.post({ op: 'block', id: 1, index: 0, len: 1000, expected: bad });
              sink.post({ op: 'write', id: 1, index: 0, bytes: bytes.slice().buffer });
              sink.post({ op: 'block', id: 1, index: 0, len: 1000, expected: good });
              sink.post({ op: 'write', id: 1, index: 0, bytes: bytes.slice().buffer });
              sink.post({ op: 'finish', id: 1, expected: bad });
              const finished = await sink.reply('finished', 1);
              open(2);
              sink.post({ op: 'block', id: 2, index: 0, len: 1000, expected: good });
              sink.post({ op: 'write', id: 2, index: 0, bytes: bytes.slice().buffer });
              sink.post({ op: 'finish', id: 2, expected: finished.sha256 });
              const second = await sink.reply('finished', 2);
              sink.terminate();
              return { events, first: finished.ok, second: second.ok };
            }"""
        )
        assert result["first"] is False and result["second"] is True
        kinds = [event[0] for event in result["events"]]
        assert kinds.count("bad-block") == 1 and kinds.count("verified") == 2
        assert "error" not in kinds
    finally:
        person.close()
