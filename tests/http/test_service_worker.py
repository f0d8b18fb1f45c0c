"""The service worker as the server writes it (p2pshare/http/service_worker.py, static.py)."""

from __future__ import annotations

import json
from pathlib import Path

from p2pshare import __version__
from p2pshare.http.service_worker import render_worker, shell, shell_version
from p2pshare.http.static import StaticFiles, default_web_root

ETAGS = {
    "/index.html": '"i"',
    "/app.css": '"c"',
    "/favicon.svg": '"f"',
    "/manifest.webmanifest": '"m"',
    "/sw.js": '"w"',
    "/js/main.js": '"j"',
    "/js/transfer/repair.js": '"r"',
    "/vendor/noble-hashes/sha2.js": '"s"',
    "/vendor/hash-wasm/sha256.mjs": '"h"',
    "/vendor/noble-hashes/LICENSE": '"l"',
    "/vendor/noble-hashes/package.json": '"p"',
    "/vendor/README.md": '"v"',
    "/vendor/manifest.json": '"vm"',
    "/package.json": '"pj"',
    "/icons/icon-192.png": '"i1"',
    "/i18n/de.json": '"de"',
    "/i18n/nested/x.json": '"nx"',
}


def test_the_shell_is_the_page_its_modules_images_and_catalogues_only() -> None:
    assert shell(ETAGS) == [
        ("/", '"i"'),
        ("/app.css", '"c"'),
        ("/favicon.svg", '"f"'),
        ("/i18n/de.json", '"de"'),
        ("/icons/icon-192.png", '"i1"'),
        ("/js/main.js", '"j"'),
        ("/js/transfer/repair.js", '"r"'),
        ("/manifest.webmanifest", '"m"'),
        ("/vendor/hash-wasm/sha256.mjs", '"h"'),
        ("/vendor/noble-hashes/sha2.js", '"s"'),
    ]


def test_the_version_changes_with_any_file_the_worker_or_the_server() -> None:
    entries = shell(ETAGS)
    base = shell_version("1.0", entries, b"worker")
    assert base.startswith("1.0-") and len(base) == len("1.0-") + 16
    assert shell_version("1.0", shell(ETAGS), b"worker") == base
    assert shell_version("1.1", entries, b"worker") != base
    assert shell_version("1.0", entries, b"worker2") != base
    changed = shell({**ETAGS, "/js/main.js": '"j2"'})
    assert shell_version("1.0", changed, b"worker") != base
    # Files outside the shell do not make a new worker.
    assert shell_version("1.0", shell({**ETAGS, "/vendor/README.md": '"v2"'}), b"worker") == base


def test_render_puts_the_constants_in_front_of_the_source() -> None:
    source = b"self.x = 1;\n"
    out = render_worker(source, ETAGS, "2.0").decode()
    comment, version, shell_line, rest = out.split("\n", 3)
    assert comment.startswith("//") and rest == source.decode()
    expected = shell_version("2.0", shell(ETAGS), source)
    assert version == f"const VERSION = {json.dumps(expected)};"
    listed = json.loads(shell_line.removeprefix("const SHELL = ").removesuffix(";"))
    assert [tuple(entry) for entry in listed] == shell(ETAGS)


def test_the_served_worker_lists_the_served_files_with_their_etags() -> None:
    static = StaticFiles(default_web_root())
    worker = static.get("/sw.js")
    assert worker is not None and worker.content_type == "text/javascript; charset=utf-8"
    lines = worker.body.decode().split("\n", 3)
    assert lines[1].startswith(f'const VERSION = "{__version__}-')
    listed = json.loads(lines[2].removeprefix("const SHELL = ").removesuffix(";"))
    for path, etag in listed:
        asset = static.index if path == "/" else static.get(path)
        assert asset is not None and asset.etag == etag, path
    paths = {path for path, _ in listed}
    assert {"/", "/app.css", "/js/main.js", "/js/pwa.js", "/icons/maskable-512.png"} <= paths
    assert "/sw.js" not in paths and "/config.json" not in paths
    source = (Path(default_web_root()) / "sw.js").read_bytes()
    assert worker.body.endswith(source)
