"""The web client's files, loaded once into memory and served with validators.

The whole client is a few hundred kilobytes, so every file is read at start-up,
given a strong ETag (a content hash) and, where it pays, a gzip variant. No
request touches the disk, and a path can only ever name a file that was found
under the web root at start-up (no traversal). The service worker (/sw.js) is
served with the app shell's list and version written in front of it
(service_worker.py).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from p2pshare import __version__
from p2pshare.errors import ConfigError
from p2pshare.http.service_worker import WORKER_PATH, render_worker

__all__ = ["Asset", "StaticFiles", "default_web_root"]

# Text types are compressed; images and wasm are left alone unless they shrink a lot.
_MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".wasm": "application/wasm",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
_MIN_GZIP_BYTES = 512
_MIN_GZIP_SAVING = 0.1
# Directories of web/ that are for development only and are not served.
_NOT_SERVED = frozenset({"test"})


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzip_body: bytes | None
    content_type: str
    etag: str


def default_web_root() -> Path:
    """The web client shipped in the package, or `web/` beside it in a source checkout."""
    packaged = importlib.resources.files("p2pshare") / "web"
    if packaged.is_dir():
        return Path(str(packaged))
    source = Path(__file__).resolve().parent.parent.parent / "web"
    if (source / "index.html").is_file():
        return source
    raise ConfigError("the web client was not found: reinstall p2pshare or pass --web-root")


def _content_type(path: Path) -> str:
    known = _MIME_TYPES.get(path.suffix.lower())
    if known:
        return known
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _load(path: Path) -> Asset:
    return _asset(path.read_bytes(), _content_type(path))


def _asset(body: bytes, content_type: str) -> Asset:
    compressed: bytes | None = None
    if len(body) >= _MIN_GZIP_BYTES and not content_type.startswith(("image/png", "image/x-")):
        candidate = gzip.compress(body, compresslevel=9, mtime=0)
        if len(candidate) <= len(body) * (1 - _MIN_GZIP_SAVING):
            compressed = candidate
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return Asset(body=body, gzip_body=compressed, content_type=content_type, etag=etag)


class StaticFiles:
    """Every servable file under `root`, by URL path (`/js/app.js`)."""

    def __init__(self, root: Path) -> None:
        if not (root / "index.html").is_file():
            raise ConfigError(f"web root {root} has no index.html")
        self.root = root
        self._assets: dict[str, Asset] = {}
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if not path.is_file() or relative.parts[0] in _NOT_SERVED:
                continue
            if any(part.startswith(".") for part in relative.parts):
                continue
            self._assets["/" + relative.as_posix()] = _load(path)
        worker = self._assets.get(WORKER_PATH)
        if worker is not None:
            # The service worker carries the list of the other files and their version.
            etags = {path: asset.etag for path, asset in self._assets.items()}
            rendered = render_worker(worker.body, etags, __version__)
            self._assets[WORKER_PATH] = _asset(rendered, worker.content_type)

    def __len__(self) -> int:
        return len(self._assets)

    def get(self, url_path: str) -> Asset | None:
        return self._assets.get(url_path)

    @property
    def index(self) -> Asset:
        return self._assets["/index.html"]
