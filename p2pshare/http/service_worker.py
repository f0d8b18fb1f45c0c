"""The service worker as served: web/sw.js with its app shell and version written in front.

No build step makes the worker's list of files: the server knows its static files at start-up
(static.py loads them all), so it prepends two constants to web/sw.js's source:

    const VERSION = "0.1.0-<16 hex>";
    const SHELL = [["/", "\"<etag>\""], ["/app.css", "..."], ...];

VERSION names the worker's cache. It hashes the server's version, the worker's own source and
every shell file's ETag (a content hash), so any changed file, or a new server version, makes a
new /sw.js; the browser sees the changed bytes, installs the new worker, which fills a new cache
and deletes the old one. The same code runs from a source checkout and from the zipapp (the web
files shipped as p2pshare/web). Pure: bytes and strings in, bytes out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping

__all__ = ["WORKER_PATH", "render_worker", "shell", "shell_version"]

WORKER_PATH = "/sw.js"
# What the app needs to start with no server: its page, style, every module (ours and the
# vendored ones), the wasm, images and the catalogues of languages. Not licences, READMEs,
# package.json files or the worker itself (the browser keeps that on its own).
_SHELL_FILE = re.compile(
    r"^/(?:app\.css|favicon\.svg|manifest\.webmanifest"
    r"|(?:js|vendor)/.+\.(?:js|mjs|wasm)"
    r"|icons/[^/]+\.(?:png|svg)"
    r"|i18n/[^/]+\.json)$"
)
# The page is cached under "/", the URL the app is opened at (and the offline answer to
# every navigation to / and /r/<room>).
_INDEX = "/index.html"


def shell(etags: Mapping[str, str]) -> list[tuple[str, str]]:
    """The app shell's (URL, ETag) pairs, sorted, from every served path's ETag."""
    entries = [(path, etag) for path, etag in etags.items() if _SHELL_FILE.match(path)]
    if _INDEX in etags:
        entries.append(("/", etags[_INDEX]))
    return sorted(entries)


def shell_version(server_version: str, entries: list[tuple[str, str]], source: bytes) -> str:
    """`<server version>-<16 hex>`: changes with the server's version, the worker or any file."""
    digest = hashlib.sha256(source)
    for path, etag in entries:
        digest.update(b"\0" + path.encode() + b"\0" + etag.encode())
    return f"{server_version}-{digest.hexdigest()[:16]}"


def render_worker(source: bytes, etags: Mapping[str, str], server_version: str) -> bytes:
    """web/sw.js's `source` with `const VERSION` and `const SHELL` in front of it."""
    entries = shell(etags)
    version = shell_version(server_version, entries, source)
    prologue = (
        "// Written by the server at start-up (p2pshare/http/service_worker.py).\n"
        f"const VERSION = {json.dumps(version)};\n"
        f"const SHELL = {json.dumps([list(entry) for entry in entries])};\n"
    )
    return prologue.encode() + source
